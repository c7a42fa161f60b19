"""Check a whole folder, then write it in the caller's transaction, or write nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import Session

from app.audit.service import Actor, record
from app.estate.importing import parse, plan, write
from app.estate.importing.files import (
    ALIASES,
    CELLS,
    ESTABLISHMENTS,
    OCCUPANCY,
    PRISONERS,
    Problem,
    Problems,
    read_table,
    unexpected_files,
)


class ImportFailed(Exception):
    """The folder has problems; nothing was written. `problems` name file, line and fault."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = problems


@dataclass(frozen=True)
class Counts:
    created: int
    updated: int
    unchanged: int


@dataclass
class ImportReport:
    counts: dict[str, Counts]  # by file name, in import order
    files: dict[str, str]  # file name -> sha256 of its bytes
    written: bool
    seconds: float = 0.0
    rows: int = field(default=0)

    def summary(self) -> dict[str, dict[str, int]]:
        return {name: vars(c) for name, c in self.counts.items()}


def _counts(p: plan.Plan, present: set[str]) -> dict[str, Counts]:
    pairs: list[tuple[str, plan.Changes]] = [  # type: ignore[type-arg]
        (ESTABLISHMENTS.name, p.establishments), (CELLS.name, p.cells),
        (PRISONERS.name, p.prisoners), (OCCUPANCY.name, p.stays), (ALIASES.name, p.aliases)]
    return {name: Counts(len(c.create), len(c.update), c.unchanged) for name, c in pairs
            if name in present}


def check_folder(
    session: Session, folder: Path, *, progress: bool = False, today: date | None = None
) -> tuple[plan.Plan, ImportReport]:
    """Read and check every file against each other and the database; raise ImportFailed."""
    started = time.monotonic()
    problems = Problems()
    if not folder.is_dir():
        raise ImportFailed([Problem(str(folder), None, "not a folder")])
    unexpected_files(folder, problems)
    tables = {spec.name: read_table(folder, spec, problems, progress=progress)
              for spec in (ESTABLISHMENTS, CELLS, PRISONERS, OCCUPANCY, ALIASES)}
    refused_est: set[str] = set()
    refused_cells: set[tuple[str, str]] = set()
    refused_prisoners: set[str] = set()
    data = plan.Parsed(
        parse.establishments(tables[ESTABLISHMENTS.name], problems, refused_est),
        parse.cells(tables[CELLS.name], problems, refused_cells),
        parse.prisoners(tables[PRISONERS.name], problems, today or date.today(),
                        refused_prisoners),
        parse.stays(tables[OCCUPANCY.name], problems),
        parse.aliases(tables[ALIASES.name], problems),
        refused_est, refused_cells, refused_prisoners,
        {n for n, t in tables.items() if not t.readable and t.spec.required},
    )
    held = plan.load_held(session)
    plan.check_references(data, held, problems)
    plan.check_overlaps(data, held, problems)
    if problems:
        raise ImportFailed(problems.sorted())
    the_plan = plan.plan(data, held)
    present = {n for n, t in tables.items() if t.present}
    report = ImportReport(_counts(the_plan, present),
                          {n: t.sha256 for n, t in tables.items() if t.present},
                          written=False, seconds=time.monotonic() - started,
                          rows=sum(len(t.rows) for t in tables.values()))
    return the_plan, report


def import_folder(
    session: Session, actor: Actor, folder: Path, *, progress: bool = False,
    today: date | None = None,
) -> ImportReport:
    """Check the folder, then create/update everything in it and audit one `estate.import`.

    Never commits: the caller commits on success. On any problem ImportFailed is raised before
    a single row is written. Rows held but absent from the files are left as they are.
    """
    started = time.monotonic()
    the_plan, report = check_folder(session, folder, progress=progress, today=today)
    write.apply(session, the_plan, progress=progress)
    record(session, actor, "estate.import", object_type="estate",
           details={"counts": report.summary(), "sha256": report.files})
    report.written = True
    report.seconds = time.monotonic() - started
    return report


def record_failure(session: Session, actor: Actor, error: ImportFailed) -> None:
    """Audit a refused import (counts only; the problems may quote personal data)."""
    record(session, actor, "estate.import", object_type="estate", outcome="failure",
           details={"problems": len(error.problems)})
