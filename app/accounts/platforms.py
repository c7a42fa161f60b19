"""The platforms a suspect account can live on: names, handle rules, addresses, profile links.

Pure data and string checks (no DB, no I/O). Turning pasted text into an account is
app/accounts/handles.py; this module says what a *canonical* handle looks like on each platform
and builds the one canonical profile link for it.

Canonical handles:
- ASCII platforms: lower case, only the platform's characters, within its length limits.
- Facebook: user name with the dots removed (Facebook ignores them), or a numeric profile id.
- YouTube: a handle (without '@') or a channel id `UC` + 22 characters (case kept: ids are
  case-sensitive).
- Other: the normalised link without scheme, query or fragment: `host[:port]/path` (host
  lower case, IDNs as punycode; path case kept, non-ASCII kept, unsafe ASCII %-escaped).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    X = "x"
    TIKTOK = "tiktok"
    SNAPCHAT = "snapchat"
    YOUTUBE = "youtube"
    TELEGRAM = "telegram"
    OTHER = "other"

    @property
    def display_name(self) -> str:
        return _DISPLAY[self]

    @property
    def ascii_only(self) -> bool:
        """Handles on every named platform are ASCII; only "Other" links may carry Unicode."""
        return self is not Platform.OTHER

    @property
    def rule(self) -> HandleRule | None:
        """The handle rule (None for Other, whose "handle" is a link)."""
        return RULES.get(self)

    def is_numeric_id(self, handle: str) -> bool:
        """True when a canonical handle is the platform's id rather than a user-chosen name."""
        if self is Platform.FACEBOOK:
            return _FACEBOOK_ID.fullmatch(handle) is not None
        if self is Platform.YOUTUBE:
            return YOUTUBE_CHANNEL_ID.fullmatch(handle) is not None
        return False

    def handle_is_valid(self, handle: str) -> bool:
        """Whether `handle` is canonical for this platform (what the parser can return)."""
        if self is Platform.OTHER:
            return _OTHER_HANDLE.fullmatch(handle) is not None and not any(
                ch.isspace() or is_invisible(ch) for ch in handle
            )
        if self.is_numeric_id(handle):
            return True
        rule = RULES[self]
        return rule.matches(handle) and handle not in RESERVED.get(self, frozenset())

    def profile_url(self, handle: str) -> str:
        """The canonical link to the account; `handle` must be canonical (else ValueError)."""
        if not self.handle_is_valid(handle):
            raise ValueError(f"{handle!r} is not a canonical {self.display_name} handle")
        if self is Platform.FACEBOOK and self.is_numeric_id(handle):
            return f"https://www.facebook.com/profile.php?id={handle}"
        if self is Platform.YOUTUBE and self.is_numeric_id(handle):
            return f"https://www.youtube.com/channel/{handle}"
        return _PROFILE_URL[self].format(handle)


_DISPLAY = {
    Platform.FACEBOOK: "Facebook",
    Platform.INSTAGRAM: "Instagram",
    Platform.X: "X",
    Platform.TIKTOK: "TikTok",
    Platform.SNAPCHAT: "Snapchat",
    Platform.YOUTUBE: "YouTube",
    Platform.TELEGRAM: "Telegram",
    Platform.OTHER: "Other",
}

_PROFILE_URL = {
    Platform.FACEBOOK: "https://www.facebook.com/{}",
    Platform.INSTAGRAM: "https://www.instagram.com/{}/",
    Platform.X: "https://x.com/{}",
    Platform.TIKTOK: "https://www.tiktok.com/@{}",
    Platform.SNAPCHAT: "https://www.snapchat.com/add/{}",
    Platform.YOUTUBE: "https://www.youtube.com/@{}",
    Platform.TELEGRAM: "https://t.me/{}",
    Platform.OTHER: "https://{}",
}


@dataclass(frozen=True, slots=True)
class HandleRule:
    """What a canonical (lower-case) handle may look like on one platform."""

    min_len: int
    max_len: int
    chars: frozenset[str]
    chars_text: str  # for messages: "a-z, 0-9, . and _"
    noun: str = "handles"  # "Instagram handles", "Facebook user names"
    first_letter: bool = False  # Snapchat, Telegram
    no_edge_dots: bool = False  # Instagram: no leading/trailing '.', no '..'
    drop_dots: bool = False  # Facebook: dots are insignificant, removed in the canonical form

    def matches(self, handle: str) -> bool:
        if not self.min_len <= len(handle) <= self.max_len:
            return False
        if any(ch not in self.chars for ch in handle):
            return False
        if self.first_letter and not ("a" <= handle[0] <= "z"):
            return False
        if self.no_edge_dots and (handle[0] == "." or handle[-1] == "." or ".." in handle):
            return False
        if self.drop_dots:  # canonical Facebook names: no dots, at least one letter
            return "." not in handle and not handle.isdigit()
        return True


def words(text: str) -> frozenset[str]:
    """A set from whitespace-separated words (for the long reserved-name lists)."""
    return frozenset(text.split())


_LOWER_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"

RULES: dict[Platform, HandleRule] = {
    Platform.FACEBOOK: HandleRule(5, 50, frozenset(_LOWER_DIGITS + "."), "a-z, 0-9 and .",
                                  noun="user names", drop_dots=True),
    Platform.INSTAGRAM: HandleRule(1, 30, frozenset(_LOWER_DIGITS + "._"), "a-z, 0-9, . and _",
                                   no_edge_dots=True),
    Platform.X: HandleRule(1, 15, frozenset(_LOWER_DIGITS + "_"), "a-z, 0-9 and _"),
    Platform.TIKTOK: HandleRule(2, 24, frozenset(_LOWER_DIGITS + "._"), "a-z, 0-9, . and _"),
    Platform.SNAPCHAT: HandleRule(3, 15, frozenset(_LOWER_DIGITS + "._-"),
                                  "a-z, 0-9, ., _ and -", first_letter=True),
    Platform.YOUTUBE: HandleRule(3, 30, frozenset(_LOWER_DIGITS + "._-"), "a-z, 0-9, ., _ and -"),
    Platform.TELEGRAM: HandleRule(5, 32, frozenset(_LOWER_DIGITS + "_"), "a-z, 0-9 and _",
                                  first_letter=True),
}

# First path segments that are the platform's own pages, not accounts. They matter where the
# profile link is `host/<handle>` (a handle equal to one of them could not be linked to);
# TikTok (/@name), Snapchat (/add/name) and YouTube (/@name) profile links cannot collide.
RESERVED: dict[Platform, frozenset[str]] = {
    Platform.X: words("""
        about account compose explore hashtag help home i intent jobs lists login logout
        messages notifications privacy search settings share signup tos download premium
        communities bookmarks verified topics who_to_follow oauth
    """),
    Platform.INSTAGRAM: words("""
        about accounts api challenge developer direct emails explore graphql legal lite
        nametag oauth p press privacy qr reel reels s session static stories tv web
        _u _n ar directory
    """),
    Platform.FACEBOOK: words("""
        about ads bookmarks business careers checkpoint dialog events friends fundraisers
        games gaming groups hashtag help home jobs legal live login logout marketplace media
        memories messages messenger notifications pages people permalink photo photos places
        plugins policies privacy recover reel reels saved search security settings share
        sharer stories story terms watch video videos
    """),
    Platform.TELEGRAM: words("""
        addemoji addlist addstickers addtheme boost confirmphone contact invoice joinchat
        login proxy setlanguage share socks
    """),
}

YOUTUBE_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_FACEBOOK_ID = re.compile(r"[1-9][0-9]{0,19}")

_OTHER_HANDLE = re.compile(
    r"(?:\[[0-9a-f:.]+\]|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)(?::[0-9]{1,5})?"
    r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-F]{2}|[^\x00-\x7f])+)*"
)


# Characters that hide in a pasted handle: format controls (zero-width space/joiner, bidi
# controls, soft hyphen, BOM, tags), control characters, odd spaces, line separators, unassigned
# and private-use code points, and the blank letters (Hangul fillers, braille blank, combining
# grapheme joiner, variation selectors) that render as nothing.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_BLANKS = frozenset({0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F,
                     0x2800, 0x3164, 0xFFA0})


def is_invisible(ch: str) -> bool:
    """A character that shows as nothing (or as plain space) but changes the text."""
    code = ord(ch)
    category = unicodedata.category(ch)
    return (
        category in _INVISIBLE_CATEGORIES
        or (category == "Zs" and ch != " ")
        or code in _BLANKS
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


def display_name_of(value: str) -> str:
    """The platform's display name for a stored value; an unknown value is shown as it is."""
    try:
        return Platform(value).display_name
    except ValueError:
        return value


def profile_url_of(value: str, handle: str) -> str:
    """The canonical profile link of a stored account, or "" when it cannot be built."""
    try:
        return Platform(value).profile_url(handle)
    except ValueError:
        return ""
