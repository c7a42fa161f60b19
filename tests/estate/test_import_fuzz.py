"""Fuzzing the estate import: arbitrary bytes in place of a file, and the good extract with
its rows mutated (values replaced, quotes, commas, line breaks, byte-order marks, NULs).
Whatever the folder holds, the import writes it or raises ImportFailed naming each problem:
never another exception, and never a partial write."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.estate.importing import ImportFailed, ImportReport, import_folder
from tests.conftest import TEST_ACTOR
from tests.estate.conftest import GOOD, HEADERS, counts, write_folder

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
FILES = sorted(GOOD)
# values an extract gets wrong in practice, and a few no extract should ever hold
ODD_VALUES = st.sampled_from([
    "", " ", '"', '""', ",", "\n", "\r\n", "\ufeff", "\x00", "\u202e", "Y", "N", "maybe",
    "2025-02-30", "0000-00-00", "9999-12-31", "1899-12-31", "2025-3-1", "A1234BC", "a1234bc",
    "MDI", "mdi", "A-1-014", "A--014", "-1", "0", "100", "99999999999999999999", "1e9",
    "x" * 300, "Ö", "ß", "İ", "=cmd|' /C calc'!A0",
]) | st.text(max_size=20)


def _import(session, folder) -> ImportReport | None:
    """One import in a savepoint rolled back after it: examples never see each other's rows."""
    before = counts(session)
    nested = session.begin_nested()
    try:
        report = import_folder(session, TEST_ACTOR, folder)
    except ImportFailed as refusal:
        assert refusal.problems and all(str(p) for p in refusal.problems)
        assert counts(session) == before  # refused: nothing was written
        return None
    finally:
        nested.rollback()
    assert report.written
    return report


@FUZZ
@given(name=st.sampled_from(FILES), data=st.binary(max_size=2048))
def test_any_bytes_in_a_file_are_imported_or_refused_cleanly(session, tmp_path, name, data):
    _import(session, write_folder(tmp_path / "extract", {name: data}))


@st.composite
def mutated_extract(draw: st.DrawFn) -> dict[str, str]:
    """GOOD with some values replaced, rows dropped or doubled, and the text itself bent."""
    files: dict[str, str] = {}
    for name in FILES:
        rows = [row.split(",") for row in GOOD[name]]
        for _ in range(draw(st.integers(0, 3))):
            row = draw(st.integers(0, len(rows) - 1))
            how = draw(st.sampled_from(["value", "drop", "double", "extra"]))
            if how == "value":
                rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(ODD_VALUES)
            elif how == "drop" and len(rows) > 1:
                rows.pop(row)
            elif how == "double":
                rows.append(list(rows[row]))
            else:
                rows[row].append(draw(ODD_VALUES))
        header = draw(st.sampled_from([HEADERS[name], HEADERS[name].upper(),
                                       "\ufeff" + HEADERS[name], HEADERS[name] + ",extra",
                                       ",".join(reversed(HEADERS[name].split(",")))]))
        newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        files[name] = newline.join([header, *(",".join(r) for r in rows)]) + newline
    return files


@FUZZ
@given(files=mutated_extract())
def test_mutated_extracts_are_imported_or_refused_cleanly(session, tmp_path, files):
    _import(session, write_folder(tmp_path / "extract", files))


def test_the_unmutated_extract_imports(session, tmp_path):
    """The fuzzer starts from an extract the import takes (else it tests refusals only)."""
    report = _import(session, write_folder(tmp_path / "extract", {}))
    assert report is not None and report.counts["prisoners.csv"].created == 3
