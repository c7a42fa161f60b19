"""Read what an analyst pastes (a profile link, a post link or a handle) as platform + handle.

Pure: no database, no disk, no network. Links are parsed, never fetched. `parse_account` returns
a ParsedAccount whose handle is canonical for its platform (platform + handle is the account's
identity) or raises HandleError with a message for the analyst (the web layer answers 422).
No other exception escapes for any input string.

Decisions on the unclear cases:
- Input over 2048 characters, empty or whitespace-only text is refused before anything else.
- Unicode is NFKC-normalised first (fullwidth or mathematical letters become ASCII, as in a
  browser). On the named platforms a handle must then be ASCII: anything else is refused and
  named (code point, Unicode name, 1-based position), with a look-alike / mixed-script hint.
  Casefolding is applied after that check, so 'ß' is refused rather than silently read as 'ss'.
- Invisible characters (format controls such as zero-width space/joiner, bidi controls, soft
  hyphen, BOM; control characters; unusual spaces; line separators; blank "letters") are refused
  everywhere, Other links included, also when %-encoded in a link's path.
- A bare handle (`@name` or `name`) needs the platform chosen. Without a scheme, text is read as
  a link only if it has a '/', or is a platform's own host name; so `john.doe` is a handle, and
  `example.com` needs `https://` (or the platform Other).
- Only http and https links. A link with user info (`https://x.com@evil.com/`) is refused
  outright: the part before '@' hides the real site and no profile link needs it.
- Host names: lower-cased, trailing dot dropped, IDNs converted to punycode. Only the exact
  platform hosts count (`www.`, `m.`, `mobile.`, `web.` ... where the platform uses them).
  Another sub-domain of a platform (help.instagram.com) is refused, never recorded as Other.
  An international host that imitates a platform domain (`ınstagram.com`, `xn--...`) is
  refused and the odd character named, unless the analyst chose Other (then it is recorded as
  Other, in punycode, so the imitation stays visible).
- A link whose platform differs from the one chosen is refused, naming both.
- Pages that are not accounts are refused with the reason: home pages, x.com/home, /search,
  /i/..., /intent (unless ?screen_name=), instagram.com/explore, /accounts, /reels, Facebook
  groups (a group is not an account), events, marketplace, share links...
- Post links give the account and a canonical post link. A post link that does not name the
  account (instagram.com/p/<code>, x.com/i/status/<id>, youtube.com/watch?v=, /shorts/,
  youtu.be, facebook.com/watch, /reel/) is refused, asking for the profile link. Short links
  (vm.tiktok.com, vt.tiktok.com, tiktok.com/t/, fb.me, fb.watch, t.co, facebook.com/share/)
  cannot be followed offline: refused, asking for the full link. X post links are trusted to
  name their author (x.com ignores that part of the path when showing a post).
- Numeric ids: Facebook profile ids (profile.php?id=, /people/<name>/<id>, /pages/<name>/<id>,
  a number in place of the user name) and YouTube channel ids (`UC` + 22 characters, case kept)
  set numeric_id. X numbers (x.com/i/user/<id>) cannot be turned into a handle offline: refused.
  A bare YouTube `UC` + 22 characters (capital UC, as copied from a channel link) is read as a
  channel id; write `@UC...` for a handle of that shape.
- Legacy YouTube /c/<name>, /user/<name> and youtube.com/<name> are read as the handle <name>.
- Telegram: t.me/<name>, t.me/s/<name>, <name>.t.me; t.me/<name>/<n> is a post; invite
  links (t.me/+..., /joinchat/) and private channel links (t.me/c/...) are refused.
- Snapchat has no post links here: snapchat.com/add/<name>, /@<name>, story.snapchat.com/s/<name>.
- Other: any http(s) link with a host. The handle is `host[:port]/path`, host lower-cased (and
  punycode), path case and non-ASCII letters kept, '.'/'..' segments resolved, empty segments and
  the trailing slash dropped, unsafe ASCII %-escaped; query and fragment dropped (so sites that
  put the account in ?id= collapse to one handle - a known limit of "host + path").
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from app.accounts.platforms import (
    RESERVED,
    RULES,
    YOUTUBE_CHANNEL_ID,
    Platform,
    is_invisible,
    words,
)

__all__ = [
    "MAX_INPUT",
    "HandleError",
    "Kind",
    "ParsedAccount",
    "Platform",
    "check_characters",
    "describe_char",
    "display",
    "normalise_text",
    "parse_account",
]

MAX_INPUT = 2048  # characters; longer text is refused before any work is done

Kind = Literal["handle", "profile", "post"]


class HandleError(ValueError):
    """The text cannot be read as an account; `message` says why, for the analyst (HTTP 422)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedAccount:
    platform: Platform
    handle: str  # canonical: platform + handle identifies the account
    numeric_id: bool  # the handle is the platform's id (Facebook number, YouTube channel id)
    post_url: str | None  # canonical post link when the input was a post link
    kind: Kind  # what was pasted: a bare handle, a profile link or a post link

    @property
    def profile_url(self) -> str:
        return self.platform.profile_url(self.handle)


# --- characters -----------------------------------------------------------------------------


def normalise_text(s: str) -> str:
    """NFKC, casefold (then NFKC again, as casefolding can denormalise), strip."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold()).strip()


_CONTROL_NAMES = {0x00: "NULL", 0x09: "CHARACTER TABULATION", 0x0A: "LINE FEED",
                  0x0D: "CARRIAGE RETURN", 0x7F: "DELETE", 0x85: "NEXT LINE"}
_CATEGORY_NAMES = {"Cc": "CONTROL CHARACTER", "Co": "PRIVATE USE CHARACTER",
                   "Cs": "SURROGATE", "Cn": "UNASSIGNED CHARACTER"}


def describe_char(ch: str) -> str:
    """`U+0430 CYRILLIC SMALL LETTER A`; visible ASCII also shows the character itself."""
    code = f"U+{ord(ch):04X}"
    name = (unicodedata.name(ch, "") or _CONTROL_NAMES.get(ord(ch))
            or _CATEGORY_NAMES.get(unicodedata.category(ch), "UNNAMED CHARACTER"))
    if ch.isascii() and ch.isprintable() and ch != " ":
        quote = '"' if ch == "'" else "'"
        return f"{quote}{ch}{quote} ({code} {name})"
    return f"{code} {name}"


def _why_invisible(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":
        return "a control character"
    if category in ("Zl", "Zp"):
        return "a line break"
    if category == "Co":
        return "a private-use character"
    if category in ("Cn", "Cs"):
        return "an unassigned character"
    if category == "Zs":
        return "an unusual space"
    return "an invisible character"


# Letters of other scripts (and a few Latin oddities) that pass for ASCII letters.
_LOOKALIKES = {
    # Cyrillic
    "\u0430": "a", "\u0435": "e", "\u0451": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
    "\u0443": "y", "\u0445": "x", "\u0456": "i", "\u0457": "i", "\u0458": "j", "\u0455": "s",
    "\u0501": "d", "\u04bb": "h", "\u04cf": "l", "\u051b": "q", "\u051d": "w", "\u043a": "k",
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H",
    "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0423": "Y",
    "\u0406": "I", "\u0408": "J", "\u0405": "S", "\u04ae": "Y",
    # Greek
    "\u03b1": "a", "\u03bf": "o", "\u03c1": "p", "\u03bd": "v", "\u03b9": "i", "\u03ba": "k",
    "\u03c5": "u", "\u03c7": "x", "\u03b3": "y",
    "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I",
    "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
    "\u03a5": "Y", "\u03a7": "X",
    # Armenian
    "\u0585": "o", "\u057d": "u", "\u0570": "h", "\u0578": "n", "\u0566": "q", "\u0581": "g",
    # Latin letters that are not ASCII but read as ASCII
    "\u0131": "i", "\u0237": "j", "\u0261": "g", "\u0251": "a", "\u0269": "i",
}


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    if ch.isascii():
        return "Latin"
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0].title() if name else None


def _non_ascii_note(s: str, ch: str, what: str) -> str:
    notes = []
    if ch in _LOOKALIKES:
        notes.append(f"it looks like the Latin letter '{_LOOKALIKES[ch]}'")
    scripts = list(dict.fromkeys(sc for sc in map(_script, s) if sc))
    if len(scripts) > 1:
        listed = ", ".join(scripts[:-1]) + " and " + scripts[-1]
        notes.append(f"the {what} mixes {listed} letters")
    return f" ({'; '.join(notes)})" if notes else ""


def check_characters(s: str, ascii_only: bool, *, what: str = "handle", rule: str = "") -> None:
    """Refuse invisible characters (always) and non-ASCII ones (if `ascii_only`), naming the
    first offender and its 1-based position. `rule` is appended to the non-ASCII message."""
    for position, ch in enumerate(s, 1):
        if is_invisible(ch):
            raise HandleError(
                f"the {what} contains {describe_char(ch)} at position {position}, "
                f"{_why_invisible(ch)}; delete it (retyping is the surest way)"
            )
        if ascii_only and not ch.isascii():
            tail = rule or "only ASCII letters, digits and punctuation are allowed here"
            raise HandleError(
                f"the {what} contains {describe_char(ch)} at position {position}"
                f"{_non_ascii_note(s, ch, what)}; {tail}"
            )


# --- canonical handles ------------------------------------------------------------------------

_HOME_DOMAIN = {
    Platform.FACEBOOK: "facebook.com", Platform.INSTAGRAM: "instagram.com",
    Platform.X: "x.com", Platform.TIKTOK: "tiktok.com", Platform.SNAPCHAT: "snapchat.com",
    Platform.YOUTUBE: "youtube.com", Platform.TELEGRAM: "t.me",
}
_CHANNEL_RULE = "a YouTube channel id is UC followed by 22 letters, digits, - or _"


def _canonical(platform: Platform, raw: str) -> tuple[str, bool]:
    """Handle (as found) -> (canonical handle, is a numeric id), or HandleError."""
    name = platform.display_name
    raw = unicodedata.normalize("NFKC", raw)
    if not raw:
        raise HandleError(f"the {name} handle is empty")
    if platform is Platform.FACEBOOK and raw.isascii() and raw.isdigit():
        if not platform.is_numeric_id(raw):
            raise HandleError("a Facebook profile id is a number of 1 to 20 digits, "
                              "not starting with 0")
        return raw, True
    rule = RULES[platform]
    noun = f"{name} {rule.noun}"
    chars_rule = f"{noun} use only {rule.chars_text}"
    check_characters(raw, ascii_only=True, what="handle", rule=chars_rule)
    for position, ch in enumerate(raw, 1):
        if ch.lower() not in rule.chars:
            raise HandleError(
                f"the handle contains {describe_char(ch)} at position {position}; {chars_rule}"
            )
    handle = raw.lower()
    if rule.drop_dots:
        handle = handle.replace(".", "")
    if not rule.min_len <= len(handle) <= rule.max_len:
        counting = " (dots are not counted)" if rule.drop_dots else ""
        raise HandleError(f"{noun} are {rule.min_len} to {rule.max_len} characters long"
                          f"{counting}; this one has {len(handle)}")
    if rule.first_letter and not "a" <= handle[0] <= "z":
        raise HandleError(f"{noun} start with a letter (a-z); this one starts with '{handle[0]}'")
    if rule.no_edge_dots:
        if handle[0] == "." or handle[-1] == ".":
            raise HandleError(f"{noun} cannot start or end with '.'")
        if ".." in handle:
            raise HandleError(f"{noun} cannot contain '..' (two dots in a row)")
    if rule.drop_dots and handle.isdigit():
        raise HandleError("Facebook user names have at least one letter; a number on its own "
                          "is a profile id, written without dots")
    if handle in RESERVED.get(platform, frozenset()):
        raise HandleError(f"'{handle}' is not an account: {_HOME_DOMAIN[platform]}/{handle} "
                          f"is a page of {name} itself; paste the link to the profile")
    return handle, False


def _channel_id(raw: str) -> str:
    raw = unicodedata.normalize("NFKC", raw)
    check_characters(raw, ascii_only=True, what="channel id", rule=_CHANNEL_RULE)
    if not YOUTUBE_CHANNEL_ID.fullmatch(raw):
        raise HandleError(_CHANNEL_RULE + " (case matters)")
    return raw


# --- hosts ------------------------------------------------------------------------------------

_MAIN_HOSTS: dict[str, Platform] = {}
for _platform, _domains, _prefixes in (
    (Platform.FACEBOOK, ("facebook.com", "fb.com"),
     ("", "www.", "m.", "mobile.", "web.", "touch.", "mbasic.")),
    (Platform.INSTAGRAM, ("instagram.com", "instagr.am"), ("", "www.", "m.")),
    (Platform.X, ("x.com", "twitter.com"), ("", "www.", "m.", "mobile.")),
    (Platform.TIKTOK, ("tiktok.com",), ("", "www.", "m.")),
    (Platform.SNAPCHAT, ("snapchat.com",), ("", "www.", "m.", "story.")),
    (Platform.YOUTUBE, ("youtube.com",), ("", "www.", "m.")),
    (Platform.TELEGRAM, ("t.me", "telegram.me", "telegram.dog"), ("", "www.")),
):
    for _domain in _domains:
        for _prefix in _prefixes:
            _MAIN_HOSTS[_prefix + _domain] = _platform

_SHORT_HOSTS = {
    "vm.tiktok.com": Platform.TIKTOK, "vt.tiktok.com": Platform.TIKTOK,
    "fb.me": Platform.FACEBOOK, "fb.watch": Platform.FACEBOOK, "t.co": Platform.X,
    "t.snapchat.com": Platform.SNAPCHAT,
}
_VIDEO_HOSTS = {"youtu.be": Platform.YOUTUBE, "www.youtu.be": Platform.YOUTUBE}

# Every domain a platform owns: sub-domains not listed above are that platform's other sites.
_DOMAINS = {
    "facebook.com": Platform.FACEBOOK, "fb.com": Platform.FACEBOOK, "fb.me": Platform.FACEBOOK,
    "fb.watch": Platform.FACEBOOK, "instagram.com": Platform.INSTAGRAM,
    "instagr.am": Platform.INSTAGRAM, "x.com": Platform.X, "twitter.com": Platform.X,
    "t.co": Platform.X, "tiktok.com": Platform.TIKTOK, "snapchat.com": Platform.SNAPCHAT,
    "youtube.com": Platform.YOUTUBE, "youtu.be": Platform.YOUTUBE, "t.me": Platform.TELEGRAM,
    "telegram.me": Platform.TELEGRAM, "telegram.dog": Platform.TELEGRAM,
    "telegram.org": Platform.TELEGRAM,
}

_HOST_RE = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")

HostKind = Literal["main", "short", "video", "site", "subdomain"]


def _detect(host: str) -> tuple[Platform, HostKind] | None:
    if host in _MAIN_HOSTS:
        return _MAIN_HOSTS[host], "main"
    if host in _SHORT_HOSTS:
        return _SHORT_HOSTS[host], "short"
    if host in _VIDEO_HOSTS:
        return _VIDEO_HOSTS[host], "video"
    if host.endswith(".t.me") and host.count(".") == 2:
        return Platform.TELEGRAM, "subdomain"
    for domain, platform in _DOMAINS.items():
        if host == domain or host.endswith("." + domain):
            return platform, "site"
    return None


def _skeleton(s: str) -> str:
    """Fold accents and look-alike letters to ASCII, to compare a host with platform domains."""
    folded = unicodedata.normalize("NFKD", s.casefold())
    kept = (ch for ch in folded if not unicodedata.combining(ch))
    return "".join(_LOOKALIKES.get(ch, ch) for ch in kept).lower()


def _imitated_domain(unicode_host: str) -> str | None:
    skeleton = _skeleton(unicode_host)
    for domain in _DOMAINS:
        if skeleton == domain or skeleton.endswith("." + domain):
            return domain
    return None


def _bad_host(host: str) -> HandleError:
    for ch in host:
        if ch not in _HOST_CHARS:
            return HandleError(f"the link's site name contains {describe_char(ch)}, "
                               "which no site name can contain")
    return HandleError("the link's site name is not valid")


def _hosts(hostname: str) -> tuple[str, str]:
    """urlsplit's hostname -> (ASCII host, Unicode host); they differ only for IDNs."""
    try:
        host = unquote(hostname, errors="strict")
    except UnicodeDecodeError:
        raise HandleError("the link's site name has a broken %-escape") from None
    host = unicodedata.normalize("NFKC", host).lower().rstrip(".")
    if not host:
        raise HandleError("the link has no site name (as in https://x.com/name)")
    if ":" in host:  # IPv6 literal
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]", host
        except ValueError:
            raise HandleError("the link's site address is not valid") from None
    try:
        if host.isascii():
            unicode_host = host.encode("ascii").decode("idna") if "xn--" in host else host
            ascii_host = host
        else:
            check_characters(host, ascii_only=False, what="link's site name")
            ascii_host = host.encode("idna").decode("ascii").lower()
            unicode_host = host
    except (UnicodeError, ValueError, IndexError):  # the stdlib idna codec's failures
        raise HandleError("the link's site name is not a valid international domain name") \
            from None
    if len(ascii_host) > 253 or not _HOST_RE.fullmatch(ascii_host):
        raise _bad_host(ascii_host)
    return ascii_host, unicode_host


# --- links ------------------------------------------------------------------------------------

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_PORT_AFTER_HOST = re.compile(r"[0-9]+(?:[/?#]|$)")
_KNOWN_SCHEMES = words("""
    http https ftp ftps file data javascript vbscript mailto tel sms tg intent about blob
    chrome chrome-extension ws wss ssh git irc magnet market itms itms-apps fb fb-messenger
    instagram twitter snapchat tiktok whatsapp viber skype view-source content
""")
_H = "{h}"  # stands for the canonical handle in a post link template


@dataclass(frozen=True, slots=True)
class _Hit:
    raw: str  # the handle as found in the link, not yet canonical
    kind: Kind = "profile"
    post: str | None = None  # canonical post link, with _H for the handle
    channel_id: bool = False


def _segments(path: str) -> list[str]:
    out = []
    for raw in path.split("/"):
        if raw:
            try:
                segment = unquote(raw, errors="strict")
            except UnicodeDecodeError:
                raise HandleError("the link contains a broken %-escape (not UTF-8)") from None
            out.append(unicodedata.normalize("NFKC", segment))
    return out


def _query(query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False, errors="replace"):
        out.setdefault(key.lower(), value)
    return out


def _home(platform: Platform) -> HandleError:
    return HandleError(f"this is the {platform.display_name} home page, not an account; "
                       "paste the link to the profile")


def _not_profile(platform: Platform, example: str) -> HandleError:
    return HandleError(f"this {platform.display_name} link is not an account page; "
                       f"paste the link to the profile ({example})")


def _no_owner(what: str, example: str) -> HandleError:
    return HandleError(f"{what} does not say which account it belongs to; open it, go to the "
                       f"account and paste the profile link ({example})")


def _short(what: str) -> HandleError:
    return HandleError(f"{what} is a short link, which cannot be followed here (links are never "
                       "opened); open it in a browser and paste the full link it leads to")


def _number(text: str, platform: Platform) -> str:
    if text.isascii() and text.isdigit() and len(text) <= 25:
        return text
    raise HandleError(f"the post number in this {platform.display_name} link is missing "
                      "or not a number")


def _code(text: str, platform: Platform, pattern: str) -> str:
    if text.isascii() and re.fullmatch(pattern, text):
        return text
    raise HandleError(f"the post code in this {platform.display_name} link is missing or "
                      "not valid")


def _x(segs: list[str], query: dict[str, str], fragment: str) -> _Hit:
    if not segs and fragment.startswith("!/"):  # old twitter.com/#!/name links
        segs = _segments(fragment[2:].split("?", 1)[0])
    if not segs:
        raise _home(Platform.X)
    first = segs[0].lower()
    if first == "i":
        if len(segs) > 1 and segs[1].lower() == "user":
            raise HandleError("an x.com/i/user/... link gives the account's number, which "
                              "cannot be looked up here; open it in a browser and paste the "
                              "x.com/name link")
        if any(s.lower() == "status" for s in segs):
            raise _no_owner("an x.com/i/.../status/... link", "x.com/name")
        raise _not_profile(Platform.X, "x.com/name")
    if first == "intent":
        if query.get("screen_name"):
            return _Hit(query["screen_name"])
        raise _not_profile(Platform.X, "x.com/name")
    if len(segs) > 1 and segs[1].lower() in ("status", "statuses"):
        post_id = _number(segs[2] if len(segs) > 2 else "", Platform.X)
        return _Hit(segs[0], "post", f"https://x.com/{_H}/status/{post_id}")
    return _Hit(segs[0])


def _instagram(segs: list[str], query: dict[str, str], fragment: str) -> _Hit:
    if not segs:
        raise _home(Platform.INSTAGRAM)
    first = segs[0].lower()
    if first in ("p", "reel", "reels", "tv") and len(segs) > 1:
        raise _no_owner("an Instagram post link without the account name", "instagram.com/name")
    if first == "stories":
        if len(segs) < 2 or segs[1].lower() == "highlights":
            raise _no_owner("an Instagram highlights link", "instagram.com/name")
        if len(segs) > 2:
            story = _number(segs[2], Platform.INSTAGRAM)
            return _Hit(segs[1], "post", f"https://www.instagram.com/stories/{_H}/{story}/")
        return _Hit(segs[1])
    if first in ("_u", "_n") and len(segs) > 1:  # app links: instagram.com/_u/name
        return _Hit(segs[1])
    if len(segs) > 2 and segs[1].lower() in ("p", "reel", "tv"):
        code = _code(segs[2], Platform.INSTAGRAM, r"[A-Za-z0-9_-]{1,64}")
        return _Hit(segs[0], "post", f"https://www.instagram.com/p/{code}/")
    return _Hit(segs[0])


_FB_NO_OWNER = frozenset({"watch", "reel", "reels", "photo.php", "photo", "video.php",
                          "stories", "story"})
_FB_POST = r"[A-Za-z0-9]{1,100}"


def _facebook(segs: list[str], query: dict[str, str], fragment: str) -> _Hit:
    if not segs:
        raise _home(Platform.FACEBOOK)
    first = segs[0].lower()
    if first == "profile.php":
        number = query.get("id", "")
        if not (number.isascii() and number.isdigit()):
            raise HandleError("a facebook.com/profile.php link needs its id=<number>; "
                              "paste the whole link")
        return _Hit(number)
    if first in ("permalink.php", "story.php"):
        number = query.get("id", "")
        if not (number.isascii() and number.isdigit()):
            raise _no_owner("this Facebook post link (it has no id=)", "facebook.com/name")
        story = query.get("story_fbid")
        if not story:
            return _Hit(number)
        post = _code(story, Platform.FACEBOOK, _FB_POST)
        return _Hit(number, "post", f"https://www.facebook.com/{_H}/posts/{post}")
    if first in ("people", "pages"):  # /people/<Name>/<id>, /pages/<Name>/<id>
        if len(segs) >= 3 and segs[-1].isascii() and segs[-1].isdigit():
            return _Hit(segs[-1])
        raise HandleError(f"this facebook.com/{first}/... link has no profile number at the "
                          "end; paste the whole link")
    if first == "pg" and len(segs) > 1:
        return _Hit(segs[1])
    if first == "groups":
        raise HandleError("a Facebook group is not an account; paste the profile link of the "
                          "account that posted (facebook.com/name)")
    if first in ("share", "sharer", "sharer.php", "l.php"):
        raise _short("this Facebook share link")
    if first in _FB_NO_OWNER:
        raise _no_owner(f"a facebook.com/{first} link", "facebook.com/name")
    if len(segs) > 2 and segs[1].lower() in ("posts", "videos"):
        post = _code(segs[2], Platform.FACEBOOK, _FB_POST)
        return _Hit(segs[0], "post", f"https://www.facebook.com/{_H}/{segs[1].lower()}/{post}")
    return _Hit(segs[0])


def _tiktok(segs: list[str], query: dict[str, str], fragment: str) -> _Hit:
    if not segs:
        raise _home(Platform.TIKTOK)
    first = segs[0]
    if first.startswith("@"):
        if len(segs) > 2 and segs[1].lower() in ("video", "photo"):
            post_id = _number(segs[2], Platform.TIKTOK)
            return _Hit(first[1:], "post",
                        f"https://www.tiktok.com/@{_H}/{segs[1].lower()}/{post_id}")
        return _Hit(first[1:])
    low = first.lower()
    if low == "t":
        raise _short("this tiktok.com/t/... link")
    if low in ("v", "embed", "video"):
        raise _no_owner("a TikTok video link without the account name", "tiktok.com/@name")
    raise _not_profile(Platform.TIKTOK, "tiktok.com/@name")


def _snapchat(segs: list[str], query: dict[str, str], fragment: str) -> _Hit:
    if not segs:
        raise _home(Platform.SNAPCHAT)
    first = segs[0]
    low = first.lower()
    if low in ("add", "s"):
        return _Hit(segs[1] if len(segs) > 1 else "")
    if first.startswith("@"):
        return _Hit(first[1:])
    if low == "t":
        raise _short("this snapchat.com/t/... link")
    if low in ("spotlight", "discover", "p"):
        raise _no_owner("a Snapchat Spotlight or story link", "snapchat.com/add/name")
    raise _not_profile(Platform.SNAPCHAT, "snapchat.com/add/name")


_YT_VIDEO = frozenset({"watch", "shorts", "live", "embed", "v", "e", "clip", "playlist", "post"})
_YT_RESERVED = words("""
    results feed hashtag premium gaming music kids account signin logout upload about t
    redirect attribution_link howyoutubeworks ads creators yt jobs new trending subscriptions
    history s sw.js tv supported_browsers create_channel paid_memberships reporthistory store
    youtubei api oembed watch_videos storefront verify show movies podcasts channels
""")


def _youtube(segs: list[str], query: dict[str, str], fragment: str) -> _Hit:
    if not segs:
        if query.get("v"):
            raise _no_owner("a YouTube video link", "youtube.com/@name")
        raise _home(Platform.YOUTUBE)
    first = segs[0]
    low = first.lower()
    if first.startswith("@"):
        return _Hit(first[1:])
    if low == "channel":
        return _Hit(segs[1] if len(segs) > 1 else "", channel_id=True)
    if low in ("c", "user"):  # legacy custom names: read as the handle
        return _Hit(segs[1] if len(segs) > 1 else "")
    if low in _YT_VIDEO:
        raise _no_owner("a YouTube video or playlist link", "youtube.com/@name")
    if low in _YT_RESERVED:
        raise _not_profile(Platform.YOUTUBE, "youtube.com/@name")
    return _Hit(first)  # legacy youtube.com/<name>


def _telegram(segs: list[str], query: dict[str, str], fragment: str) -> _Hit:
    if segs and segs[0].lower() == "s":  # t.me/s/<name>: the public web preview
        segs = segs[1:]
    if not segs:
        raise _home(Platform.TELEGRAM)
    first = segs[0]
    low = first.lower()
    if first.startswith("+") or low == "joinchat":
        raise HandleError("a Telegram invite link is not a public account; paste the t.me/name "
                          "link of the account or channel")
    if low == "c":
        raise HandleError("a t.me/c/... link points into a private channel and does not name "
                          "it; paste the t.me/name link")
    if len(segs) > 1 and segs[1].isascii() and segs[1].isdigit():
        post_id = _number(segs[1], Platform.TELEGRAM)
        return _Hit(first, "post", f"https://t.me/{_H}/{post_id}")
    return _Hit(first)


_PATHS = {
    Platform.FACEBOOK: _facebook, Platform.INSTAGRAM: _instagram, Platform.X: _x,
    Platform.TIKTOK: _tiktok, Platform.SNAPCHAT: _snapchat, Platform.YOUTUBE: _youtube,
    Platform.TELEGRAM: _telegram,
}

_PATH_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                       "-._~!$&'()*+,;=:@")


def _iri_quote(segment: str) -> str:
    return "".join(
        ch if ch in _PATH_SAFE or not ch.isascii() else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in segment
    )


def _other_handle(ascii_host: str, port: int | None, scheme: str, path: str) -> str:
    host = ascii_host
    if port is not None and port != (443 if scheme == "https" else 80):
        host += f":{port}"
    segs: list[str] = []
    for segment in _segments(path):
        if segment == "..":
            if segs:
                segs.pop()
        elif segment != ".":
            segs.append(segment)
    check_characters("/".join(segs), ascii_only=False, what="link's path")
    handle = host + "".join("/" + _iri_quote(s) for s in segs)
    if len(handle) > MAX_INPUT - len("https://"):
        raise HandleError("the link is too long")
    return handle


def _a(name: str) -> str:
    return ("an " if name[0] in "AEIOUX" else "a ") + name


def _link_mismatch(host: str, found: Platform, hint: Platform) -> HandleError:
    what = "another site (Other)" if found is Platform.OTHER else found.display_name
    return HandleError(f"the link goes to {host}, which is {what}, but the platform chosen is "
                       f"{hint.display_name}; choose {found.display_name} or paste "
                       f"{_a(hint.display_name)} link")


def _parse_link(text: str, hint: Platform | None) -> ParsedAccount:
    match = _SCHEME.match(text)
    if text.startswith("//"):
        url = "https:" + text
    elif match and match.group(1).lower() in ("http", "https"):
        url = text
    elif match and ("." in match.group(1) or _PORT_AFTER_HOST.match(text, match.end())):
        url = "https://" + text  # host:port without a scheme
    elif match:
        scheme = match.group(1).lower()[:20]
        raise HandleError(f"only web links (http:// or https://) are accepted; this one starts "
                          f"with '{scheme}:'")
    else:
        url = "https://" + text
    if " " in text:
        raise HandleError(f"the link contains a space at position {text.index(' ') + 1}; "
                          "paste it again without spaces")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        raise HandleError("this is not a valid web address") from None
    if "@" in parts.netloc:
        raise HandleError("the link has a name and '@' before the site name (as in "
                          "https://x.com@evil.com/, which really goes to evil.com); such links "
                          "hide where they lead and are refused: paste the plain profile link")
    if not hostname:
        raise HandleError("the link has no site name (as in https://x.com/name)")
    ascii_host, unicode_host = _hosts(hostname)
    found = _detect(ascii_host)
    if found is None and unicode_host != ascii_host and hint is not Platform.OTHER:
        domain = _imitated_domain(unicode_host)
        if domain is not None:
            position, ch = next((i, c) for i, c in enumerate(unicode_host, 1) if not c.isascii())
            platform = _DOMAINS[domain]
            raise HandleError(
                f"the link's site {ascii_host} imitates {domain}: its name contains "
                f"{describe_char(ch)} at position {position}, so it is not "
                f"{platform.display_name}; if it really is another site, choose Other"
            )
    platform = found[0] if found else Platform.OTHER
    if hint is not None and hint is not platform:
        raise _link_mismatch(ascii_host, platform, hint)
    if found is None:
        handle = _other_handle(ascii_host, port, parts.scheme, parts.path)
        return ParsedAccount(Platform.OTHER, handle, False, None, "profile")
    how = found[1]
    segs = _segments(parts.path)
    if how == "short":
        raise _short(f"{ascii_host}/...")
    if how == "video":
        raise _no_owner("a YouTube video link", "youtube.com/@name")
    if how == "site":
        raise HandleError(f"{ascii_host} is {_a(platform.display_name)} site but not an account "
                          "page; paste the link to the profile")
    if how == "subdomain":  # <name>.t.me
        if segs and not (segs[0].isascii() and segs[0].isdigit()):
            raise _not_profile(Platform.TELEGRAM, "t.me/name")
        hit = _Hit(ascii_host.split(".", 1)[0])
        if segs:
            hit = _Hit(hit.raw, "post", f"https://t.me/{_H}/{_number(segs[0], platform)}")
    else:
        hit = _PATHS[platform](segs, _query(parts.query), parts.fragment)
    if hit.channel_id:
        handle, numeric = _channel_id(hit.raw), True
    else:
        handle, numeric = _canonical(platform, hit.raw)
    post = hit.post.replace(_H, handle) if hit.post else None
    return ParsedAccount(platform, handle, numeric, post, hit.kind)


# --- entry points -----------------------------------------------------------------------------


def _looks_like_link(text: str, hint: Platform | None) -> bool:
    if text.startswith("@"):
        return False
    match = _SCHEME.match(text)
    if match and (match.group(1).lower() in _KNOWN_SCHEMES or "." in match.group(1)):
        return True
    if "/" in text or "\\" in text:
        return True
    host = re.split(r"[?#:]", text, maxsplit=1)[0].lower().rstrip(".")
    if _detect(host) is not None:  # a platform's own host name, even without a path
        return True
    return hint is Platform.OTHER and "." in text


def _coerce_hint(hint: Platform | str | None) -> Platform | None:
    if hint is None or isinstance(hint, Platform):
        return hint
    if not str(hint).strip():
        return None
    try:
        return Platform(str(hint).strip().lower())
    except ValueError:
        names = ", ".join(p.display_name for p in Platform)
        raise HandleError(f"unknown platform; choose one of {names}") from None


def parse_account(text: str, platform_hint: Platform | None = None) -> ParsedAccount:
    """Read a profile link, a post link or a handle (`@name`, with the platform chosen)."""
    hint = _coerce_hint(platform_hint)
    if len(text) > MAX_INPUT:
        raise HandleError(f"the text is too long ({len(text)} characters); a handle or a link "
                          f"is at most {MAX_INPUT}")
    typed = text.strip()
    text = unicodedata.normalize("NFKC", typed).strip()
    if not text:
        raise HandleError("enter a handle (@name) or a link to the account")
    # Invisible characters are named as typed (NFKC would turn a no-break space into a space),
    # at their position in the link, or in the handle after its '@'.
    if _looks_like_link(text, hint):
        check_characters(typed, ascii_only=False, what="link")
        check_characters(text, ascii_only=False, what="link")
        return _parse_link(text, hint)
    typed_handle = typed[1:] if unicodedata.normalize("NFKC", typed[:1]) == "@" else typed
    check_characters(typed_handle, ascii_only=False, what="handle")
    if hint is None:
        raise HandleError("choose the platform for a bare handle (or paste the full link to "
                          "the account, starting with https://)")
    if hint is Platform.OTHER:
        raise HandleError("for Other, paste the full link to the account (starting with "
                          "https://)")
    raw = text[1:] if text.startswith("@") else text
    if hint is Platform.YOUTUBE and not text.startswith("@") and YOUTUBE_CHANNEL_ID.fullmatch(raw):
        return ParsedAccount(hint, raw, True, None, "handle")
    handle, numeric = _canonical(hint, raw)
    return ParsedAccount(hint, handle, numeric, None, "handle")


def display(parsed: ParsedAccount) -> str:
    """How an account reads in the UI: "X @johndoe", "Facebook id 1000123", "Other site/path"."""
    platform, handle = parsed.platform, parsed.handle
    if platform is Platform.OTHER:
        return f"Other {handle}"
    if platform is Platform.FACEBOOK:
        return f"Facebook id {handle}" if parsed.numeric_id else f"Facebook {handle}"
    if platform is Platform.YOUTUBE and parsed.numeric_id:
        return f"YouTube channel {handle}"
    if platform is Platform.SNAPCHAT:
        return f"Snapchat {handle}"
    return f"{platform.display_name} @{handle}"
