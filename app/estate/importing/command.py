"""The terminal side of `cellwatch import estate DIR`: progress, problems, summary, one commit."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlmodel import Session

from app.audit.service import Actor
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


def run_import(
    session: Session, actor: Actor, folder: Path, *, check_only: bool = False,
    max_problems: int = 100, progress: bool | None = None,
) -> ImportReport:
    """Check, import and commit once; on problems print them all, audit the refusal, exit 1."""
    show = _size(folder) > PROGRESS_FROM_BYTES if progress is None else progress
    try:
        if check_only:
            report = check_folder(session, folder, progress=show)[1]
        else:
            report = import_folder(session, actor, folder, progress=show)
    except ImportFailed as failed:
        session.rollback()
        shown = failed.problems if max_problems <= 0 else failed.problems[:max_problems]
        for problem in shown:
            typer.secho(str(problem), fg=typer.colors.RED, err=True)
        if len(shown) < len(failed.problems):
            typer.secho(f"... and {len(failed.problems) - len(shown)} more "
                        "(--max-problems 0 shows all)", fg=typer.colors.RED, err=True)
        if not check_only:
            _record_failure(session, actor, failed)
            session.commit()
        typer.secho(f"{len(failed.problems)} problem(s) found; nothing was imported.",
                    fg=typer.colors.RED, bold=True, err=True)
        raise typer.Exit(1) from None
    if check_only:
        session.rollback()
        typer.echo("an import of this folder would do this:")
        _table(report)
        typer.echo(f"no problems found in {report.rows} rows; nothing was written (--check)")
        return report
    session.commit()
    _table(report)
    typer.echo(f"imported {report.rows} rows from {folder} in {report.seconds:.1f} s")
    return report
