"""Pure rules: escaping, the prefix range, masking, purpose."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import Unprocessable
from app.search.criteria import (
    PrisonerSearchCriteria,
    check_purpose,
    like_escape,
    mask_dob,
    normalise,
    prefix_successor,
    show_dob,
)


def test_like_escape():
    assert like_escape("a%b_c\\d") == "a\\%b\\_c\\\\d"


def test_prefix_successor_edges():
    assert prefix_successor("sm") == "sn"
    assert prefix_successor("a\ud7ff") == "a\ue000"  # skips the surrogates
    assert prefix_successor("a\U0010ffff") == "b"
    assert prefix_successor("\U0010ffff") is None


@given(st.text(min_size=1, max_size=8), st.text(max_size=8))
def test_every_extension_sorts_inside_the_range(prefix, rest):
    upper = prefix_successor(prefix)
    key = (prefix + rest).encode("utf-8", "surrogatepass")
    assert prefix.encode("utf-8", "surrogatepass") <= key
    if upper is not None:
        assert key < upper.encode("utf-8", "surrogatepass")  # UTF-8 bytes sort as code points


def test_normalise_keys_and_modes():
    c = normalise(PrisonerSearchCriteria(surname="  O'BRIEN ", forename="Seán  Óg",
                                         dob="1990-03-14"))
    assert (c.surname, c.forename, c.dob) == ("o'brien", "seán óg", date(1990, 3, 14))
    assert normalise(PrisonerSearchCriteria(prison_number=" a1234bc")).prison_number == "A1234BC"
    assert normalise(PrisonerSearchCriteria(alias="Big  Dave")).alias == "big dave"


@pytest.mark.parametrize("raw", ["%", "%%", "_", " % ", "*"])
def test_bare_wildcards_are_refused(raw):
    with pytest.raises(Unprocessable, match="Wildcards are not supported"):
        normalise(PrisonerSearchCriteria(surname=raw, forename="john"))


def test_control_characters_are_refused():
    with pytest.raises(Unprocessable, match="control"):
        normalise(PrisonerSearchCriteria(surname="smi\u200bth", forename="john"))


def test_dob_masking():
    assert mask_dob(date(1990, 3, 14)) == "**/**/1990"
    assert show_dob(date(1990, 3, 14)) == "14 Mar 1990"


def test_purpose_is_trimmed_and_bounded():
    assert check_purpose("  Case   2026/117  ") == "Case 2026/117"
    for bad in ("", "abcd", "x" * 256, "case\x00 117"):
        with pytest.raises(Unprocessable):
            check_purpose(bad)
    assert check_purpose("x" * 255) == "x" * 255
