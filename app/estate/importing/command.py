"""The terminal side of `cellwatch import estate DIR`: progress, problems, summary.

The import is one unit of work: all of the folder or nothing. A refused import is audited in a
unit of work of its own, since the import's own is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from sqlmodel import Session

from app.audit.service import Actor
from app.db import unit_of_work
from app.estate.importing.run import ImportFailed, ImportReport, check_folder, import_folder
from app.estate.importing.run import record_failure as _record_failure

PROGRESS_FROM_BYTES = 1_000_000  # show progress bars for extracts larger than this


def _size(folder: Path) -> int:
    try:
        return sum(p.stat().st_size for p in folder.glob("*.csv"))
    except OSError:
        return 0


def _table(report: ImportReport) -> None:
    typer.echo(f"{'file':<20} {'created':>9} {'updated':>9} {'unchanged':>10}")
    for name, c in report.counts.items():
        typer.echo(f"{name:<20} {c.created:>9} {c.updated:>9} {c.unchanged:>10}")


def _print_problems(failed: ImportFailed, max_problems: int) -> None:
    shown = failed.problems if max_problems <= 0 else failed.problems[:max_problems]
    for problem in shown:
        typer.secho(str(problem), fg=typer.colors.RED, err=True)
    if len(shown) < len(failed.problems):
        typer.secho(f"... and {len(failed.problems) - len(shown)} more "
                    "(--max-problems 0 shows all)", fg=typer.colors.RED, err=True)


def run_import(
    factory: Callable[[], Session], actor: Actor, folder: Path, *, check_only: bool = False,
    max_problems: int = 100, progress: bool | None = None,
) -> ImportReport:
    """Check and import in one unit of work; on problems print them all, audit the refusal,
    exit 1. `factory` opens a session (the CLI's sessionmaker)."""
    show = _size(folder) > PROGRESS_FROM_BYTES if progress is None else progress
    try:
        with unit_of_work(factory) as session:
            if check_only:  # reads only: its unit of work has nothing to commit
                report = check_folder(session, folder, progress=show)[1]
            else:
                report = import_folder(session, actor, folder, progress=show)
    except ImportFailed as failed:
        _print_problems(failed, max_problems)
        if not check_only:
            with unit_of_work(factory) as session:
                _record_failure(session, actor, failed)
        typer.secho(f"{len(failed.problems)} problem(s) found; nothing was imported.",
                    fg=typer.colors.RED, bold=True, err=True)
        raise typer.Exit(1) from None
    if check_only:
        typer.echo("an import of this folder would do this:")
        _table(report)
        typer.echo(f"no problems found in {report.rows} rows; nothing was written (--check)")
        return report
    _table(report)
    typer.echo(f"imported {report.rows} rows from {folder} in {report.seconds:.1f} s")
    return report
