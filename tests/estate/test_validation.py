from datetime import date

import pytest

from app.estate import validation as v
from app.estate.validation import Span


@pytest.mark.parametrize("text, expected", [
    ("A1234BC", "A1234BC"),
    ("a1234bc", "A1234BC"),
    ("  Z0000ZZ ", "Z0000ZZ"),
    ("G9876XY", "G9876XY"),
])
def test_good_prison_numbers(text, expected):
    assert v.prison_number(text) == expected


@pytest.mark.parametrize("text, message", [
    ("", "prison number is empty"),
    ("   ", "prison number is empty"),
    ("A123BC", "'A123BC' is not a prison number"),
    ("A12345BC", "is not a prison number"),
    ("11234BC", "is not a prison number"),
    ("A1234B", "is not a prison number"),
    ("A1234B1", "is not a prison number"),
    ("A1234BCD", "is not a prison number"),
    ("A 1234BC", "is not a prison number"),
    ("A1234-BC", "is not a prison number"),
    ("Ä1234BC", "is not a prison number"),
    ("A١٢٣٤BC", "is not a prison number"),  # Arabic-Indic digits are not digits here
    ("A1234BC\n", None),  # trailing whitespace is trimmed, not refused
])
def test_bad_prison_numbers(text, message):
    if message is None:
        assert v.prison_number(text) == "A1234BC"
        return
    with pytest.raises(ValueError, match=message):
        v.prison_number(text)


@pytest.mark.parametrize("text, expected", [("MDI", "MDI"), ("mdi", "MDI"), (" Lei ", "LEI")])
def test_good_establishment_codes(text, expected):
    assert v.establishment_code(text) == expected


@pytest.mark.parametrize("text", ["", "MD", "MDIX", "M1I", "M-I", "ÉDI", "M I"])
def test_bad_establishment_codes(text):
    with pytest.raises(ValueError, match="establishment code"):
        v.establishment_code(text)


@pytest.mark.parametrize("text, label, wing, landing", [
    ("A-1-014", "A-1-014", "A", "1"),
    ("a-1-014", "A-1-014", "A", "1"),
    (" HB1-G-02 ", "HB1-G-02", "HB1", "G"),
    ("C-3-110A", "C-3-110A", "C", "3"),
    ("12-0-1", "12-0-1", "12", "0"),
])
def test_good_cell_labels(text, label, wing, landing):
    parsed = v.cell_label(text)
    assert (parsed.label, parsed.wing, parsed.landing) == (label, wing, landing)


@pytest.mark.parametrize("text", [
    "", "A1014", "A-1", "A-1-014-2", "A--014", "-1-014", "A-1-", "A 1 014", "A_1_014",
    "A-1-0 14", "ABCDEFGHI-1-014", "A-1-1234567", "Ä-1-014", "A-1-014/", "A/1/014",
])
def test_bad_cell_labels(text):
    with pytest.raises(ValueError, match="cell label"):
        v.cell_label(text)


@pytest.mark.parametrize("text, key", [
    ("Smith", "smith"),
    ("  SMITH  ", "smith"),
    ("Öztürk", "öztürk"),
    ("Strauß", "strauss"),
    ("ＳＭＩＴＨ", "smith"),  # full-width letters fold to ASCII under NFKC
    ("Mary   Ann", "mary ann"),
    ("O\u2019Brien", "o\u2019brien"),
    ("ﬁnn", "finn"),  # ligature
    ("", ""),
])
def test_name_keys(text, key):
    assert v.name_key(text) == key


def test_person_names_are_trimmed_and_checked():
    assert v.person_name("  Smith ", " John   Paul ") == ("Smith", "John Paul")
    assert v.person_name("Smith", "") == ("Smith", "")
    with pytest.raises(ValueError, match="surname is empty"):
        v.person_name("  ", "John")
    with pytest.raises(ValueError, match="control or invisible"):
        v.person_name("Smi\u200bth", "John")
    with pytest.raises(ValueError, match="longer than 64"):
        v.person_name("x" * 65, "")


@pytest.mark.parametrize("text, expected", [
    ("2025-03-01", date(2025, 3, 1)), (" 2024-02-29 ", date(2024, 2, 29)), ("", None)])
def test_good_dates(text, expected):
    assert v.iso_date(text, "day", required=False) == expected


@pytest.mark.parametrize("text, message", [
    ("01/03/2025", "not a date in the form YYYY-MM-DD"),
    ("2025-3-1", "not a date in the form YYYY-MM-DD"),
    ("20250301", "not a date in the form YYYY-MM-DD"),
    ("2025-02-30", "not a real date"),
    ("2023-02-29", "not a real date"),
    ("２０２５-03-01", "not a date in the form"),
    ("", "day is empty"),
])
def test_bad_dates(text, message):
    with pytest.raises(ValueError, match=message):
        v.iso_date(text, "day")


def test_birth_dates_are_plausible():
    today = date(2026, 1, 1)
    assert v.birth_date("1990-02-03", today) == date(1990, 2, 3)
    with pytest.raises(ValueError, match="in the future"):
        v.birth_date("2026-01-02", today)
    with pytest.raises(ValueError, match="before 1900"):
        v.birth_date("1899-12-31", today)


@pytest.mark.parametrize("text, value", [
    ("Y", True), ("yes", True), ("TRUE", True), ("1", True),
    ("N", False), ("no", False), ("false", False), ("0", False), ("", False)])
def test_flags(text, value):
    assert v.flag(text, "category_a") is value


def test_bad_flag():
    with pytest.raises(ValueError, match="category_a 'maybe' is not Y or N"):
        v.flag("maybe", "category_a")


@pytest.mark.parametrize("text, ok", [
    ("1", True), ("2", True), ("99", True), (4, True), ("0", False), ("100", False),
    ("-1", False), ("1.5", False), ("", False), ("two", False), ("²", False)])
def test_capacity(text, ok):
    if ok:
        assert v.capacity(text) == int(text)
    else:
        with pytest.raises(ValueError, match="capacity"):
            v.capacity(text)


def test_stay_dates():
    v.check_stay_dates(date(2025, 1, 1), None)
    v.check_stay_dates(date(2025, 1, 1), date(2025, 1, 1))  # a one-day stay
    with pytest.raises(ValueError, match=r"ends \(2024-12-31\) before it starts"):
        v.check_stay_dates(date(2025, 1, 1), date(2024, 12, 31))


D = date


def S(start, end, ref):  # noqa: N802
    return Span(start, end, ref)


@pytest.mark.parametrize("stays, expected", [
    # a move day shared by two stays is fine
    ([S(D(2025, 1, 1), D(2025, 3, 1), 1), S(D(2025, 3, 1), None, 2)], []),
    # a gap between stays is fine
    ([S(D(2025, 1, 1), D(2025, 1, 5), 1), S(D(2025, 2, 1), D(2025, 2, 5), 2)], []),
    # one day of overlap is not
    ([S(D(2025, 1, 1), D(2025, 3, 2), 1), S(D(2025, 3, 1), None, 2)], [(2, 1)]),
    # an open stay overlaps anything after it
    ([S(D(2025, 1, 1), None, 1), S(D(2026, 1, 1), D(2026, 2, 1), 2)], [(2, 1)]),
    # two open stays
    ([S(D(2025, 1, 1), None, 1), S(D(2025, 6, 1), None, 2)], [(2, 1)]),
    # same first day
    ([S(D(2025, 1, 1), D(2025, 1, 1), 1), S(D(2025, 1, 1), D(2025, 1, 9), 2)], [(2, 1)]),
    # a stay inside a long one, and one after the short one still inside the long one
    ([S(D(2025, 1, 1), D(2025, 12, 31), 1), S(D(2025, 2, 1), D(2025, 2, 10), 2),
      S(D(2025, 3, 1), D(2025, 3, 10), 3)], [(2, 1), (3, 1)]),
    # input order does not matter
    ([S(D(2025, 3, 1), None, 2), S(D(2025, 1, 1), D(2025, 3, 5), 1)], [(2, 1)]),
    ([], []),
])
def test_overlaps(stays, expected):
    found = [(o.later.ref, o.earlier.ref) for o in v.overlaps(stays)]
    assert found == expected


def test_clash_is_symmetric():
    a = S(D(2025, 1, 1), D(2025, 3, 1), "a")
    b = S(D(2025, 3, 1), None, "b")
    c = S(D(2025, 2, 28), D(2025, 2, 28), "c")
    assert not v.clash(a, b) and not v.clash(b, a)
    assert v.clash(a, c) and v.clash(c, a)
    assert not v.clash(b, c) and not v.clash(c, b)
