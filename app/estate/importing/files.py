"""The CSV files of an estate import, and reading them into checked rows of text.

Every file is UTF-8 (a byte-order mark is accepted), comma-separated, with a header line naming
its columns (any order, any case). Reading never stops at the first problem: it collects them.
See app/estate/IMPORT.md for the formats.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[str, ...]
    required: bool = True


ESTABLISHMENTS = FileSpec("establishments.csv", ("code", "name", "category", "region"))
CELLS = FileSpec("cells.csv", ("establishment_code", "label", "capacity"))
PRISONERS = FileSpec("prisoners.csv", (
    "prison_number", "surname", "forenames", "date_of_birth", "release_date",
    "victim_contact_restriction", "organised_crime_nominal", "category_a"))
OCCUPANCY = FileSpec("occupancy.csv", (
    "prison_number", "establishment_code", "cell_label", "starts_on", "ends_on"))
ALIASES = FileSpec("aliases.csv", ("prison_number", "surname", "forenames"), required=False)
SPECS = (ESTABLISHMENTS, CELLS, PRISONERS, OCCUPANCY, ALIASES)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, file: str, line: int | None, message: str) -> None:
        self.items.append(Problem(file, line, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self) -> list[Problem]:
        order = {spec.name: i for i, spec in enumerate(SPECS)}
        return sorted(self.items, key=lambda p: (order.get(p.file, -1), p.file, p.line or 0))


Row = tuple[int, tuple[str, ...]]  # (first line of the record, values in the spec's order)


@dataclass
class Table:
    spec: FileSpec
    rows: list[Row]
    sha256: str = ""
    present: bool = True
    readable: bool = True  # False: the rows could not be read at all (missing, encoding, header)
    progress: bool = False

    def __iter__(self) -> Iterator[Row]:
        return iter(tqdm(self.rows, desc=f"checking {self.spec.name}", unit=" rows",
                         disable=not self.progress, leave=False, mininterval=0.5))


def unexpected_files(folder: Path, problems: Problems) -> None:
    known = {spec.name for spec in SPECS}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() == ".csv" and path.name not in known:
            problems.add(path.name, None, "not a file this import reads (expected "
                         + ", ".join(sorted(known)) + ")")


def read_table(folder: Path, spec: FileSpec, problems: Problems, *, progress: bool) -> Table:
    """Read one file into rows of stripped text; problems are collected, bad rows left out."""
    path = folder / spec.name
    if not path.is_file():
        if spec.required:
            problems.add(spec.name, None, f"file missing from {folder}")
        return Table(spec, [], present=False, readable=False)
    data = path.read_bytes()
    table = Table(spec, [], hashlib.sha256(data).hexdigest(), readable=False, progress=progress)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.add(spec.name, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                     "save the file as CSV UTF-8")
        return table
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        problems.add(spec.name, line, "contains NUL characters (UTF-16?); save the file as "
                     "CSV UTF-8")
        return table
    reader = csv.reader(io.StringIO(text, newline=""))
    order = _header(reader, spec, problems)
    if order is None:
        return table
    width = len(order)
    total = text.count("\n")
    table.readable = True
    with tqdm(total=total, desc=f"reading {spec.name}", unit=" lines", disable=not progress,
              leave=False) as bar:
        previous = reader.line_num
        try:
            for count, fields in enumerate(reader):
                line, previous = previous + 1, reader.line_num
                if count % 2000 == 0:
                    bar.update(previous - bar.n)
                if not any(f.strip() for f in fields):
                    continue  # blank line
                if len(fields) != width:
                    problems.add(spec.name, line, f"{len(fields)} values, expected {width} "
                                 f"({', '.join(spec.columns)}); check for a stray comma")
                    continue
                table.rows.append((line, tuple(fields[i].strip() for i in order)))
        except csv.Error as exc:
            problems.add(spec.name, previous + 1, f"cannot read this line as CSV ({exc})")
            table.readable = False
        bar.update(total - bar.n)
    return table


def _header(reader: Iterator[list[str]], spec: FileSpec, problems: Problems) -> list[int] | None:
    """Indexes of the spec's columns in the file's header, or None after reporting problems."""
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(spec.name, 1, f"cannot read the header line as CSV ({exc})")
        return None
    if header is None or not any(h.strip() for h in header):
        problems.add(spec.name, 1, "the first line must name the columns: "
                     + ",".join(spec.columns))
        return None
    names = [h.strip().lower() for h in header]
    ok = True
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.add(spec.name, 1, f"column(s) named twice: {', '.join(twice)}")
        ok = False
    missing = [c for c in spec.columns if c not in names]
    if missing:
        problems.add(spec.name, 1, f"missing column(s): {', '.join(missing)}")
        ok = False
    extra = [n or "(blank)" for n in names if n not in spec.columns]
    if extra:
        problems.add(spec.name, 1, f"unexpected column(s): {', '.join(extra)} (this file has "
                     f"the columns {', '.join(spec.columns)})")
        ok = False
    return [names.index(c) for c in spec.columns] if ok else None
