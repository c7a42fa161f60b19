"""Fuzzing the handle parser from the inputs it is known to read: every good and bad example
of test_handles.py, bent (characters put in, taken out, replaced, %-encoded, case changed,
repeated up to the length limit). Each result parses to a well-formed account or is refused
with HandleError and a message: never another exception."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts.handles import MAX_INPUT
from tests.accounts.test_handles import BAD, GOOD, HINTS, parse_or_refuse

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = sorted({case[0] for case in GOOD} | {case[0] for case in BAD if isinstance(case[0], str)})
# characters that have broken parsers: separators, look-alikes, invisibles, surrogates' kin
TRICKY = st.sampled_from(list("/@:?#%.\\ \t\n") + [
    "\u200b", "\u202e", "\u00a0", "\ufeff", "\u0131", "\u0430", "\uff0f", "\uff20", "\u2044",
    "\u3002", "\ufe52", "\U0001d400", "\x00", "\x7f", "\udfff", "ß", "İ", "ǅ", "\u0301"],
) | st.characters()


@st.composite
def bent(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "replace", "encode", "case", "repeat"]))
        if how == "insert":
            text = text[:at] + draw(TRICKY) + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)):]
        elif how == "replace" and at < len(text):
            text = text[:at] + draw(TRICKY) + text[at + 1:]
        elif how == "encode" and at < len(text):
            # a lone surrogate too (as the bytes a lax encoder writes for it)
            text = text[:at] + quote(text[at], safe="", errors="surrogatepass") + text[at + 1:]
        elif how == "case":
            text = text.swapcase()
        elif how == "repeat":
            text = (text * (MAX_INPUT // max(len(text), 1) + 1))[:draw(
                st.sampled_from([MAX_INPUT - 1, MAX_INPUT, MAX_INPUT + 1]))]
    return text


@FUZZ
@given(bent(), HINTS)
def test_bent_known_inputs_parse_or_are_refused(text, hint):
    parse_or_refuse(text, hint)
