"""The handle/URL parser: tables for every platform, then properties (pure, no DB)."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts.handles import (
    MAX_INPUT,
    HandleError,
    ParsedAccount,
    Platform,
    check_characters,
    describe_char,
    display,
    normalise_text,
    parse_account,
)

FB, IG, X, TT, SC, YT, TG, OTHER = (
    Platform.FACEBOOK, Platform.INSTAGRAM, Platform.X, Platform.TIKTOK, Platform.SNAPCHAT,
    Platform.YOUTUBE, Platform.TELEGRAM, Platform.OTHER,
)
CHANNEL = "UCaBcDeFgHiJkLmNoPqRsTuV"

# --- good inputs: (text, hint, platform, handle, kind, numeric_id, post_url) -------------------

GOOD = [
    # X (twitter.com and x.com are one platform)
    ("@JohnDoe", X, X, "johndoe", "handle", False, None),
    ("JohnDoe", X, X, "johndoe", "handle", False, None),
    ("https://x.com/johndoe/?s=20", None, X, "johndoe", "profile", False, None),
    ("twitter.com/JOHNDOE", None, X, "johndoe", "profile", False, None),
    ("https://mobile.twitter.com/JohnDoe/status/123456", None, X, "johndoe", "post", False,
     "https://x.com/johndoe/status/123456"),
    ("https://www.twitter.com/johndoe#top", None, X, "johndoe", "profile", False, None),
    ("HTTPS://X.COM/JohnDoe/", None, X, "johndoe", "profile", False, None),
    ("http://x.com/johndoe", X, X, "johndoe", "profile", False, None),
    ("x.com/JohnDoe/status/99/photo/1", None, X, "johndoe", "post", False,
     "https://x.com/johndoe/status/99"),
    ("twitter.com/#!/JohnDoe", None, X, "johndoe", "profile", False, None),
    ("https://x.com/intent/user?screen_name=JohnDoe", None, X, "johndoe", "profile", False, None),
    ("x.com/johndoe/media", None, X, "johndoe", "profile", False, None),
    ("  x.com/johndoe  \n", X, X, "johndoe", "profile", False, None),
    ("https://x.com:443/johndoe", None, X, "johndoe", "profile", False, None),
    ("//x.com/johndoe", None, X, "johndoe", "profile", False, None),
    ("https://x.com./johndoe", None, X, "johndoe", "profile", False, None),
    ("x.com//johndoe//", None, X, "johndoe", "profile", False, None),
    ("\uff20\uff2a\uff4f\uff48\uff4e", X, X, "john", "handle", False, None),  # fullwidth -> NFKC
    ("a", X, X, "a", "handle", False, None),
    ("j_1", "x", X, "j_1", "handle", False, None),  # a string hint is accepted too
    # Instagram
    ("https://www.instagram.com/John.Doe/", None, IG, "john.doe", "profile", False, None),
    ("instagram.com/john.doe?igsh=abc123", None, IG, "john.doe", "profile", False, None),
    ("instagr.am/john_doe", None, IG, "john_doe", "profile", False, None),
    ("m.instagram.com/john.doe/tagged/", None, IG, "john.doe", "profile", False, None),
    ("https://www.instagram.com/john.doe/p/CxYz-12_/?img_index=1", None, IG, "john.doe", "post",
     False, "https://www.instagram.com/p/CxYz-12_/"),
    ("instagram.com/john.doe/reel/Abc123/", None, IG, "john.doe", "post", False,
     "https://www.instagram.com/p/Abc123/"),
    ("instagram.com/stories/john.doe/3123456789/", None, IG, "john.doe", "post", False,
     "https://www.instagram.com/stories/john.doe/3123456789/"),
    ("instagram.com/_u/john.doe", None, IG, "john.doe", "profile", False, None),
    ("@John.Doe", IG, IG, "john.doe", "handle", False, None),
    ("j", IG, IG, "j", "handle", False, None),
    # Facebook (dots are insignificant; numeric ids)
    ("https://www.facebook.com/profile.php?id=100012345678", None, FB, "100012345678", "profile",
     True, None),
    ("m.facebook.com/profile.php?id=100012345678&ref=bookmarks", None, FB, "100012345678",
     "profile", True, None),
    ("facebook.com/John.Doe.5", None, FB, "johndoe5", "profile", False, None),
    ("fb.com/johndoe5", None, FB, "johndoe5", "profile", False, None),
    ("https://web.facebook.com/johndoe5/", None, FB, "johndoe5", "profile", False, None),
    ("facebook.com/100012345678", None, FB, "100012345678", "profile", True, None),
    ("facebook.com/people/John-Doe/100012345678/", None, FB, "100012345678", "profile", True,
     None),
    ("https://www.facebook.com/john.doe.5/posts/pfbid02abcXYZ", None, FB, "johndoe5", "post",
     False, "https://www.facebook.com/johndoe5/posts/pfbid02abcXYZ"),
    ("facebook.com/johndoe5/videos/987654321", None, FB, "johndoe5", "post", False,
     "https://www.facebook.com/johndoe5/videos/987654321"),
    ("facebook.com/permalink.php?story_fbid=123&id=100012345678", None, FB, "100012345678",
     "post", True, "https://www.facebook.com/100012345678/posts/123"),
    ("john.doe.5", FB, FB, "johndoe5", "handle", False, None),
    ("100012345678", FB, FB, "100012345678", "handle", True, None),
    # TikTok
    ("https://www.tiktok.com/@Some.One", None, TT, "some.one", "profile", False, None),
    ("tiktok.com/@some.one?lang=en", None, TT, "some.one", "profile", False, None),
    ("https://www.tiktok.com/@some.one/video/7234567890123456789?is_from_webapp=1", None, TT,
     "some.one", "post", False, "https://www.tiktok.com/@some.one/video/7234567890123456789"),
    ("m.tiktok.com/@some.one/photo/7234", None, TT, "some.one", "post", False,
     "https://www.tiktok.com/@some.one/photo/7234"),
    ("@Some.One", TT, TT, "some.one", "handle", False, None),
    ("ab", TT, TT, "ab", "handle", False, None),
    # Snapchat
    ("snapchat.com/add/John-99", None, SC, "john-99", "profile", False, None),
    ("https://www.snapchat.com/add/john.doe?share_id=xyz", None, SC, "john.doe", "profile",
     False, None),
    ("https://www.snapchat.com/@john_doe", None, SC, "john_doe", "profile", False, None),
    ("story.snapchat.com/s/john_doe", None, SC, "john_doe", "profile", False, None),
    ("@John_Doe", SC, SC, "john_doe", "handle", False, None),
    # YouTube
    ("youtube.com/@Some.Handle", None, YT, "some.handle", "profile", False, None),
    ("https://m.youtube.com/@some-handle/videos", None, YT, "some-handle", "profile", False,
     None),
    (f"https://www.youtube.com/channel/{CHANNEL}/", None, YT, CHANNEL, "profile", True, None),
    ("youtube.com/c/OldName", None, YT, "oldname", "profile", False, None),
    ("youtube.com/user/OldName", None, YT, "oldname", "profile", False, None),
    ("youtube.com/OldName", None, YT, "oldname", "profile", False, None),
    ("@Some.Handle", YT, YT, "some.handle", "handle", False, None),
    (CHANNEL, YT, YT, CHANNEL, "handle", True, None),
    ("@" + CHANNEL, YT, YT, CHANNEL.lower(), "handle", False, None),  # '@' makes it a handle
    # Telegram
    ("t.me/durov_channel", None, TG, "durov_channel", "profile", False, None),
    ("https://telegram.me/Durov_Channel/", None, TG, "durov_channel", "profile", False, None),
    ("t.me/s/durov_channel", None, TG, "durov_channel", "profile", False, None),
    ("t.me/durov_channel/123?single", None, TG, "durov_channel", "post", False,
     "https://t.me/durov_channel/123"),
    ("durov.t.me", None, TG, "durov", "profile", False, None),
    ("@Durov_Channel", TG, TG, "durov_channel", "handle", False, None),
    # Other: host (lower case, punycode) + path, no query/fragment/trailing slash
    ("https://Example.COM/Some/Path/?q=1#frag", None, OTHER, "example.com/Some/Path", "profile",
     False, None),
    ("http://example.com:8080/a//b/", None, OTHER, "example.com:8080/a/b", "profile", False,
     None),
    ("https://example.com:443/", None, OTHER, "example.com", "profile", False, None),
    ("example.com", OTHER, OTHER, "example.com", "profile", False, None),
    ("https://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/\u043f\u0443\u0442\u044c/", None,
     OTHER, "xn--e1afmkfd.xn--p1ai/\u043f\u0443\u0442\u044c", "profile", False, None),
    ("https://example.com/a%20b/./c/../d", None, OTHER, "example.com/a%20b/d", "profile", False,
     None),
    ("https://\u0131nstagram.com/john", OTHER, OTHER, "xn--nstagram-skb.com/john", "profile",
     False, None),
    ("https://x.com.evil.com/johndoe", None, OTHER, "x.com.evil.com/johndoe", "profile", False,
     None),
    ("http://127.0.0.1/x", None, OTHER, "127.0.0.1/x", "profile", False, None),
]


@pytest.mark.parametrize(("text", "hint", "platform", "handle", "kind", "numeric", "post"), GOOD)
def test_good_inputs(text, hint, platform, handle, kind, numeric, post):
    parsed = parse_account(text, hint)
    assert parsed == ParsedAccount(platform, handle, numeric, post, kind)


def test_all_the_issue_examples_are_one_account():
    inputs = [("@JohnDoe", X), ("https://x.com/johndoe/?s=20", None),
              ("twitter.com/JOHNDOE", None), ("https://mobile.twitter.com/JohnDoe/status/123456",
                                              None)]
    assert {(p.platform, p.handle) for p in (parse_account(t, h) for t, h in inputs)} == {
        (X, "johndoe")}


# --- bad inputs: (text, hint, fragments the message must contain) ------------------------------

BAD = [
    # empty, whitespace-only, huge, no platform
    ("", None, ["enter a handle"]),
    ("   \t ", X, ["enter a handle"]),
    ("a" * (MAX_INPUT + 1), X, [f"too long ({MAX_INPUT + 1} characters)", str(MAX_INPUT)]),
    ("https://x.com/" + "a" * 3000, None, ["too long"]),
    ("johndoe", None, ["choose the platform for a bare handle"]),
    ("@johndoe", None, ["choose the platform for a bare handle"]),
    ("example.com", None, ["choose the platform for a bare handle", "https://"]),
    ("johndoe", OTHER, ["for Other, paste the full link"]),
    ("johndoe", "myspace", ["unknown platform"]),
    # X
    ("a" * 16, X, ["X handles are 1 to 15 characters long; this one has 16"]),
    ("x.com/" + "a" * 16, None, ["X handles are 1 to 15 characters long"]),
    ("john-doe", X, ["'-' (U+002D HYPHEN-MINUS) at position 5",
                     "X handles use only a-z, 0-9 and _"]),
    ("john.doe", X, ["'.' (U+002E FULL STOP) at position 5"]),
    ("https://x.com/home", None, ["x.com/home is a page of X itself"]),
    ("x.com/search?q=drones", None, ["x.com/search is a page of X itself"]),
    ("x.com/explore", None, ["page of X itself"]),
    ("home", X, ["x.com/home is a page of X itself"]),
    ("x.com/i/flow/login", None, ["not an account page"]),
    ("x.com/i/user/12345", None, ["account's number", "x.com/name"]),
    ("x.com/i/web/status/123", None, ["does not say which account"]),
    ("x.com/intent/tweet?text=hi", None, ["not an account page"]),
    ("x.com/johndoe/status/abc", None, ["post number"]),
    ("x.com", None, ["X home page"]),
    ("https://www.x.com/", None, ["X home page"]),
    ("t.co/AbC123", None, ["short link", "paste the full link"]),
    # Instagram
    ("j\u0430ne", IG, ["U+0430 CYRILLIC SMALL LETTER A at position 2",
                       "looks like the Latin letter 'a'", "mixes Latin and Cyrillic",
                       "Instagram handles use only a-z, 0-9, . and _"]),
    ("instagram.com/explore/", None, ["instagram.com/explore is a page of Instagram itself"]),
    ("instagram.com/accounts/login/", None, ["page of Instagram itself"]),
    ("instagram.com/reels/", None, ["page of Instagram itself"]),
    ("instagram.com/p/CxYz123/", None, ["without the account name", "instagram.com/name"]),
    ("instagram.com/reel/CxYz123/", None, ["without the account name"]),
    ("instagram.com/john.doe/p/bad!code/", None, ["post code"]),
    ("a" * 31, IG, ["Instagram handles are 1 to 30 characters long; this one has 31"]),
    (".john", IG, ["cannot start or end with '.'"]),
    ("john.", IG, ["cannot start or end with '.'"]),
    ("jo..hn", IG, ["cannot contain '..'"]),
    ("john doe", IG, ["U+0020 SPACE at position 5"]),
    ("jo\u00dfdoe", IG, ["U+00DF LATIN SMALL LETTER SHARP S at position 3"]),  # no silent 'ss'
    ("instagram.com/stories/highlights/123/", None, ["highlights"]),
    # Facebook
    ("jane", FB, ["Facebook user names are 5 to 50 characters long"]),
    ("j.a.n.e", FB, ["dots are not counted", "this one has 4"]),
    ("0123", FB, ["Facebook profile id", "not starting with 0"]),
    ("1.2345", FB, ["at least one letter"]),
    ("john_doe", FB, ["'_' (U+005F LOW LINE) at position 5", "Facebook user names use only"]),
    ("facebook.com/groups/123456/", None, ["Facebook group is not an account"]),
    ("facebook.com/groups/drones?ref=share", FB, ["Facebook group is not an account"]),
    ("facebook.com/profile.php", None, ["needs its id"]),
    ("facebook.com/profile.php?id=abc", None, ["needs its id"]),
    ("facebook.com/watch?v=123", None, ["does not say which account"]),
    ("facebook.com/reel/123", None, ["does not say which account"]),
    ("facebook.com/permalink.php?story_fbid=1", None, ["does not say which account"]),
    ("facebook.com/share/AbC/", None, ["short link"]),
    ("fb.me/abc", None, ["short link"]),
    ("fb.watch/abc/", None, ["short link"]),
    ("facebook.com/marketplace", None, ["facebook.com/marketplace is a page of Facebook itself"]),
    ("facebook.com/people/John-Doe/", None, ["no profile number"]),
    # TikTok
    ("vm.tiktok.com/ZMabc123/", None, ["vm.tiktok.com", "short link", "paste the full link"]),
    ("vt.tiktok.com/ZSabc/", None, ["short link"]),
    ("tiktok.com/t/ZTabc/", None, ["short link"]),
    ("tiktok.com/johndoe", None, ["tiktok.com/@name"]),
    ("tiktok.com/@some.one/video/x1", None, ["post number"]),
    ("a", TT, ["TikTok handles are 2 to 24 characters long; this one has 1"]),
    ("a" * 25, TT, ["2 to 24"]),
    ("tiktok.com/@", None, ["handle is empty"]),
    # Snapchat
    ("ab", SC, ["Snapchat handles are 3 to 15 characters long"]),
    ("1abc", SC, ["Snapchat handles start with a letter"]),
    ("snapchat.com/add/john~doe", None, ["'~' (U+007E TILDE)"]),
    ("snapchat.com/spotlight/abc", None, ["does not say which account"]),
    ("snapchat.com/t/abc", None, ["short link"]),
    ("snapchat.com/add/", None, ["handle is empty"]),
    # YouTube
    ("youtube.com/watch?v=dQw4w9WgXcQ", None, ["does not say which account", "youtube.com/@name"]),
    ("https://www.youtube.com/shorts/abc123", None, ["does not say which account"]),
    ("youtu.be/dQw4w9WgXcQ", None, ["YouTube video link", "youtube.com/@name"]),
    ("youtube.com/?v=abc", None, ["does not say which account"]),
    ("youtube.com/channel/UCshort", None, ["UC followed by 22"]),
    ("youtube.com/channel/" + CHANNEL.lower(), None, ["UC followed by 22", "case matters"]),
    ("youtube.com/@ab", None, ["YouTube handles are 3 to 30 characters long"]),
    ("youtube.com/@bad!name", None, ["'!' (U+0021 EXCLAMATION MARK) at position 4"]),
    ("youtube.com/results?search_query=x", None, ["not an account page"]),
    ("youtube.com/@%D0%B0bc", None, ["U+0430 CYRILLIC SMALL LETTER A at position 1"]),
    # Telegram
    ("abcd", TG, ["Telegram handles are 5 to 32 characters long"]),
    ("1abcde", TG, ["Telegram handles start with a letter"]),
    ("john.doe", TG, ["'.' (U+002E FULL STOP)"]),
    ("t.me/+AbCdEf123", None, ["invite link"]),
    ("t.me/joinchat/AbCd", None, ["invite link"]),
    ("t.me/c/123456/45", None, ["private channel"]),
    ("t.me/addstickers/pack", None, ["t.me/addstickers is a page of Telegram itself"]),
    ("telegram.org/blog", None, ["telegram.org is a Telegram site but not an account page"]),
    # invisible characters (named, with their position)
    ("@jo\u200bhn", X, ["U+200B ZERO WIDTH SPACE at position 3", "invisible"]),
    ("x.com/john\u200ddoe", None, ["U+200D ZERO WIDTH JOINER", "invisible"]),
    ("\u202ejohndoe", X, ["U+202E RIGHT-TO-LEFT OVERRIDE at position 1"]),
    ("john\u00addoe", X, ["U+00AD SOFT HYPHEN at position 5"]),
    ("\ufeffjohndoe", X, ["U+FEFF ZERO WIDTH NO-BREAK SPACE"]),
    ("john\u3164", X, ["U+3164 HANGUL FILLER"]),
    ("jo\u00a0hn", X, ["U+00A0 NO-BREAK SPACE at position 3"]),
    ("john\u2066doe", IG, ["U+2066 LEFT-TO-RIGHT ISOLATE"]),
    ("x.com/jo%E2%80%8Bhn", None, ["U+200B ZERO WIDTH SPACE at position 3"]),
    ("https://example.com/a\u2060b", None, ["U+2060 WORD JOINER"]),
    ("https://example.com/a%E2%80%8Bb", OTHER, ["link's path", "U+200B ZERO WIDTH SPACE"]),
    ("https://exa\u200bmple.com/", None, ["U+200B ZERO WIDTH SPACE at position 12"]),
    ("john\tdoe", X, ["U+0009 CHARACTER TABULATION", "control character"]),
    # look-alikes and mixed scripts on ASCII platforms
    ("https://x.com/j\u043ehndoe", None, ["U+043E CYRILLIC SMALL LETTER O at position 2",
                                          "X handles use only"]),
    ("\u0458ohn", X, ["U+0458 CYRILLIC SMALL LETTER JE at position 1", "looks like"]),
    ("joh\u03bd", SC, ["U+03BD GREEK SMALL LETTER NU", "mixes Latin and Greek"]),
    ("\u0438\u0432\u0430\u043d", TG, ["U+0438 CYRILLIC SMALL LETTER I at position 1"]),
    ("jos\u00e9", TT, ["U+00E9 LATIN SMALL LETTER E WITH ACUTE at position 4"]),
    ("\U0001d5c3ohn\u0430", X, ["U+0430 CYRILLIC SMALL LETTER A at position 5"]),  # NFKC first
    # look-alike hosts (IDN / punycode) are not the platform
    ("https://\u0131nstagram.com/john", None, ["imitates instagram.com",
                                               "U+0131 LATIN SMALL LETTER DOTLESS I at position 1",
                                               "not Instagram", "choose Other"]),
    ("https://xn--nstagram-skb.com/john", None, ["imitates instagram.com"]),
    ("https://www.faceb\u043eok.com/john", FB, ["imitates facebook.com",
                                                 "CYRILLIC SMALL LETTER O"]),
    ("\u0445.com/johndoe", None, ["imitates x.com"]),
    ("https://t\u0456ktok.com/@a", TT, ["imitates tiktok.com"]),
    # bad schemes
    ("javascript:alert(1)", None, ["only web links", "'javascript:'"]),
    ("JavaScript:alert(document.cookie)", X, ["'javascript:'"]),
    ("data:text/html;base64,PHNjcmlwdD4=", None, ["'data:'"]),
    ("file:///etc/passwd", None, ["'file:'"]),
    ("ftp://x.com/johndoe", None, ["'ftp:'"]),
    ("tg://resolve?domain=durov", None, ["'tg:'"]),
    ("vbscript:msgbox", IG, ["'vbscript:'"]),
    # userinfo tricks
    ("https://x.com@evil.com/johndoe", None, ["'@' before the site name", "evil.com"]),
    ("https://user:pass@instagram.com/john", None, ["'@' before the site name"]),
    ("x.com@evil.com/", X, ["'@' before the site name"]),
    # link for a different platform than the one chosen (both named)
    ("x.com/johndoe", IG, ["which is X", "the platform chosen is Instagram"]),
    ("https://example.com/x", TT, ["another site (Other)", "the platform chosen is TikTok"]),
    ("instagram.com/john", OTHER, ["which is Instagram", "the platform chosen is Other"]),
    ("vm.tiktok.com/ZMabc/", X, ["which is TikTok", "the platform chosen is X"]),
    # other sub-domains of a platform are neither the platform nor Other
    ("help.instagram.com/john", None, ["help.instagram.com is an Instagram site"]),
    ("https://api.x.com/johndoe", None, ["api.x.com is an X site"]),
    # broken links
    ("https://", None, ["no site name"]),
    ("https:///johndoe", None, ["no site name"]),
    ("https://[::1/x", None, ["not a valid web address"]),
    ("https://x.com:99999/johndoe", None, ["not a valid web address"]),
    ("https://exa mple.com/", None, ["space at position 12"]),
    ("https://ex\\ample.com/x", None, ["'\\' (U+005C REVERSE SOLIDUS)"]),
    ("https://exa_mple..com/x", None, ["site name is not valid"]),
    ("x.com/%FF", None, ["broken %-escape"]),
    ("https://%FF.com/", None, ["broken %-escape"]),
]


@pytest.mark.parametrize(("text", "hint", "fragments"), BAD)
def test_bad_inputs(text, hint, fragments):
    with pytest.raises(HandleError) as caught:
        parse_account(text, hint)
    for fragment in fragments:
        assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message


def test_the_issue_message_for_a_look_alike():
    with pytest.raises(HandleError) as caught:
        parse_account("@jo\u0430n", IG)
    message = caught.value.message
    assert message.startswith("the handle contains U+0430 CYRILLIC SMALL LETTER A at position 3")
    assert message.endswith("; Instagram handles use only a-z, 0-9, . and _")


def test_handle_error_is_a_value_error():
    assert issubclass(HandleError, ValueError)


# --- the smaller pieces ------------------------------------------------------------------------


def test_platform_enum_values_and_display_names():
    assert [p.value for p in Platform] == [
        "facebook", "instagram", "x", "tiktok", "snapchat", "youtube", "telegram", "other"]
    assert [p.display_name for p in Platform] == [
        "Facebook", "Instagram", "X", "TikTok", "Snapchat", "YouTube", "Telegram", "Other"]
    assert not OTHER.ascii_only and all(p.ascii_only for p in Platform if p is not OTHER)


@pytest.mark.parametrize(("platform", "handle", "url"), [
    (FB, "johndoe5", "https://www.facebook.com/johndoe5"),
    (FB, "100012345678", "https://www.facebook.com/profile.php?id=100012345678"),
    (IG, "john.doe", "https://www.instagram.com/john.doe/"),
    (X, "johndoe", "https://x.com/johndoe"),
    (TT, "some.one", "https://www.tiktok.com/@some.one"),
    (SC, "john-99", "https://www.snapchat.com/add/john-99"),
    (YT, "some.handle", "https://www.youtube.com/@some.handle"),
    (YT, CHANNEL, f"https://www.youtube.com/channel/{CHANNEL}"),
    (TG, "durov_channel", "https://t.me/durov_channel"),
    (OTHER, "example.com/Some/Path", "https://example.com/Some/Path"),
])
def test_profile_url(platform, handle, url):
    assert platform.profile_url(handle) == url


@pytest.mark.parametrize(("platform", "handle"), [
    (X, "JohnDoe"), (X, "home"), (IG, "john..doe"), (FB, "john.doe"), (FB, "0123"),
    (TG, "abc"), (YT, "@handle"), (OTHER, "https://example.com"), (OTHER, "example.com/a b"),
    (OTHER, "example.com/?q=1"), (SC, ""),
])
def test_profile_url_refuses_a_handle_that_is_not_canonical(platform, handle):
    with pytest.raises(ValueError, match="not a canonical"):
        platform.profile_url(handle)


@pytest.mark.parametrize(("text", "hint", "shown"), [
    ("@JohnDoe", X, "X @johndoe"),
    ("instagram.com/john.doe", None, "Instagram @john.doe"),
    ("facebook.com/john.doe.5", None, "Facebook johndoe5"),
    ("facebook.com/profile.php?id=100012345678", None, "Facebook id 100012345678"),
    (f"youtube.com/channel/{CHANNEL}", None, f"YouTube channel {CHANNEL}"),
    ("snapchat.com/add/john", None, "Snapchat john"),
    ("https://example.com/u/1", None, "Other example.com/u/1"),
])
def test_display(text, hint, shown):
    assert display(parse_account(text, hint)) == shown


def test_normalise_text():
    assert normalise_text("  \uff2a\uff4f\uff48\uff4e DOE ") == "john doe"
    assert normalise_text("Stra\u00dfe") == "strasse"
    assert normalise_text("\ufb01x") == "fix"


def test_check_characters():
    check_characters("john.doe", ascii_only=True)
    check_characters("\u043f\u0440\u0438\u043c\u0435\u0440", ascii_only=False)
    with pytest.raises(HandleError, match=r"U\+043F CYRILLIC SMALL LETTER PE at position 1"):
        check_characters("\u043f\u0440\u0438\u043c\u0435\u0440", ascii_only=True)
    with pytest.raises(HandleError, match="U\\+200C ZERO WIDTH NON-JOINER at position 2"):
        check_characters("a\u200cb", ascii_only=False, what="link")
    with pytest.raises(HandleError, match="^the link contains"):
        check_characters("a\u200cb", ascii_only=False, what="link")
    with pytest.raises(HandleError, match="private-use"):
        check_characters("a\ue000", ascii_only=False)


def test_describe_char():
    assert describe_char("\u0430") == "U+0430 CYRILLIC SMALL LETTER A"
    assert describe_char("!") == "'!' (U+0021 EXCLAMATION MARK)"
    assert describe_char("\x00") == "U+0000 NULL"
    assert describe_char("\U000e0001") == "U+E0001 LANGUAGE TAG"


# --- properties --------------------------------------------------------------------------------

# The platforms' rules, written again here (independently of the code) as regular expressions.
RULE = {
    X: r"[a-z0-9_]{1,15}",
    IG: r"(?!\.)(?!.*\.\.)[a-z0-9._]{1,30}(?<!\.)",
    TT: r"[a-z0-9._]{2,24}",
    SC: r"[a-z][a-z0-9._-]{2,14}",
    TG: r"[a-z][a-z0-9_]{4,31}",
    YT: r"[a-z0-9._-]{3,30}|UC[A-Za-z0-9_-]{22}",
    FB: r"(?=[a-z0-9]*[a-z])[a-z0-9]{5,50}|[1-9][0-9]{0,19}",
    OTHER: r"(\[[0-9a-f:.]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*)(:[0-9]+)?(/[^/?#\s]+)*",
}
NUMERIC = {FB: r"[1-9][0-9]{0,19}", YT: r"UC[A-Za-z0-9_-]{22}"}
RESERVED_HERE = {  # pages of the platform at host/<name>, so never a handle there
    X: {"home", "explore", "search", "i", "intent"},
    IG: {"explore", "accounts", "p", "reels", "stories", "tv", "s"},
    FB: {"groups", "marketplace", "watch", "share", "profile.php"},
    TG: {"joinchat", "share", "s", "c"},
}

NAMED = [p for p in Platform if p is not OTHER]
FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def canonical_handles(platform: Platform) -> st.SearchStrategy[str]:
    """Handles the platform accepts, already canonical (lower case, no dots on Facebook)."""
    pattern = {
        FB: r"[a-z0-9]{5,50}|[1-9][0-9]{0,19}",
        YT: r"[a-z0-9._-]{3,30}|UC[A-Za-z0-9_-]{22}",
    }.get(platform, RULE[platform])
    return st.from_regex(f"(?:{pattern})", fullmatch=True).filter(
        lambda h: platform.handle_is_valid(h))


def assert_well_formed(parsed: ParsedAccount) -> None:
    """Every successful parse: a canonical handle, and parsing its profile link gives it back."""
    assert isinstance(parsed.platform, Platform)
    assert re.fullmatch(RULE[parsed.platform], parsed.handle), parsed
    assert parsed.handle not in RESERVED_HERE.get(parsed.platform, set())
    numeric = NUMERIC.get(parsed.platform)
    assert parsed.numeric_id == bool(numeric and re.fullmatch(numeric, parsed.handle)), parsed
    assert parsed.kind in ("handle", "profile", "post")
    assert (parsed.post_url is not None) == (parsed.kind == "post")
    if parsed.platform is OTHER:
        assert not any(ch.isspace() for ch in parsed.handle)
    again = parse_account(parsed.profile_url, parsed.platform)
    assert (again.platform, again.handle, again.numeric_id) == (
        parsed.platform, parsed.handle, parsed.numeric_id)
    assert again.kind == "profile"
    if parsed.platform is not OTHER:  # no hint needed for a platform's own link
        assert parse_account(parsed.profile_url).handle == parsed.handle
    if parsed.post_url and "instagram.com/p/" not in parsed.post_url:
        post = parse_account(parsed.post_url)
        assert (post.handle, post.post_url, post.kind) == (parsed.handle, parsed.post_url, "post")


@FAST
@given(st.sampled_from(NAMED).flatmap(lambda p: st.tuples(st.just(p), canonical_handles(p))))
def test_a_canonical_handle_parses_to_itself_and_round_trips(case):
    platform, handle = case
    parsed = parse_account(handle, platform)
    assert (parsed.platform, parsed.handle, parsed.kind) == (platform, handle, "handle")
    assert_well_formed(parsed)
    linked = parse_account(platform.profile_url(handle))
    assert (linked.platform, linked.handle, linked.kind) == (platform, handle, "profile")
    assert parse_account(linked.profile_url) == linked  # idempotent


WHITESPACE = st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", max_size=3)


@FAST
@given(st.sampled_from(NAMED).flatmap(lambda p: st.tuples(st.just(p), canonical_handles(p))),
       st.randoms(use_true_random=False), WHITESPACE, WHITESPACE)
def test_case_and_surrounding_whitespace_do_not_matter(case, rnd, before, after):
    platform, handle = case
    if platform.is_numeric_id(handle) or re.fullmatch(r"uc[a-z0-9_-]{22}", handle):
        return  # channel ids keep their case; a bare "UC..." of that shape reads as an id
    mixed = "".join(ch.upper() if rnd.random() < 0.5 else ch for ch in handle)
    expected = parse_account(handle, platform)
    assert parse_account(before + mixed + after, platform) == expected
    assert parse_account(before + "@" + mixed + after, platform) == expected
    url = platform.profile_url(handle)
    shouted = "".join(ch.upper() if rnd.random() < 0.5 else ch for ch in url)
    assert parse_account(before + shouted + after).handle == handle


@FAST
@given(st.sampled_from([p for p in NAMED if p is not FB]),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12),
       st.sampled_from(["\u200b", "\u200d", "\u202e", "\u00ad", "\ufeff", "\u2060", "\u3164"]),
       st.integers(min_value=0, max_value=12))
def test_an_invisible_character_is_always_refused_and_named(platform, handle, invisible, at):
    at = min(at, len(handle))
    text = handle[:at] + invisible + handle[at:]
    with pytest.raises(HandleError) as caught:
        parse_account(text, platform)
    assert f"U+{ord(invisible):04X}" in caught.value.message
    assert f"at position {at + 1}" in caught.value.message
    with pytest.raises(HandleError, match=f"U\\+{ord(invisible):04X}"):
        parse_account(f"https://example.com/{text}")


HINTS = st.none() | st.sampled_from(list(Platform))


def parse_or_refuse(text: str, hint: Platform | None) -> None:
    try:
        parsed = parse_account(text, hint)
    except HandleError as error:
        assert error.message
        return
    assert_well_formed(parsed)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), HINTS)
def test_any_text_parses_or_raises_handle_error(text, hint):
    parse_or_refuse(text, hint)


SCHEMES = st.sampled_from(["", "https://", "http://", "HTTPS://", "//", "javascript:", "ftp://",
                           "data:", "tg://", "https:"])
HOSTS = st.sampled_from([
    "x.com", "twitter.com", "mobile.twitter.com", "www.instagram.com", "instagr.am",
    "facebook.com", "m.facebook.com", "fb.com", "www.tiktok.com", "vm.tiktok.com",
    "snapchat.com", "story.snapchat.com", "youtube.com", "m.youtube.com", "youtu.be", "t.me",
    "telegram.me", "durov.t.me", "fb.me", "t.co", "help.instagram.com", "example.com",
    "x.com.evil.com", "xn--nstagram-skb.com", "\u0131nstagram.com", "x.com@evil.com",
    "127.0.0.1", "[::1]", "localhost:8080", "x.com:443", "x.com:99999", "", "EXAMPLE.com.",
    "ex%41mple.com", "\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "xn--", "a..b",
]) | st.text(max_size=12)
SEGMENTS = st.sampled_from([
    "@", "@john", "@Some.One", "status", "statuses", "p", "reel", "video", "photo", "posts",
    "123", CHANNEL, "channel", "c", "user", "add", "s", "+abc", "i", "home", "profile.php",
    "people", "permalink.php", "..", ".", "%E2%80%8B", "%FF", "%2F", "%25", "john.doe",
    "JohnDoe", "a" * 40, "stories", "_u", "intent", "watch", "shorts",
]) | st.text(max_size=10)
QUERIES = st.sampled_from(["", "?id=100012345678", "?id=0", "?s=20", "?v=abc",
                           "?story_fbid=1&id=2", "?screen_name=bob", "?id=%E2%80%8B", "?"])
FRAGMENTS = st.sampled_from(["", "#top", "#!/johndoe", "#!/", "#"])
URLS = st.builds(
    lambda scheme, host, segments, query, fragment: (
        f"{scheme}{host}/{'/'.join(segments)}{query}{fragment}"),
    SCHEMES, HOSTS, st.lists(SEGMENTS, max_size=4), QUERIES, FRAGMENTS)


@settings(max_examples=400, deadline=None)
@given(URLS, HINTS)
def test_any_url_shaped_text_parses_or_raises_handle_error(url, hint):
    parse_or_refuse(url, hint)
