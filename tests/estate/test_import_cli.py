"""`cellwatch import estate DIR` as an operator runs it."""

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine
from app.settings import get_settings
from tests.estate.conftest import GOOD, write_folder


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    yield runner, tmp_path
    get_settings.cache_clear()


def _query(tmp_path, sql):
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'cellwatch.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    engine.dispose()
    return rows


def _table_counts(tmp_path):
    return {t: _query(tmp_path, f"SELECT count(*) FROM {t}")[0][0]  # noqa: S608
            for t in ("establishment", "cell", "prisoner", "occupancy", "prisoner_alias")}


def _line(output, name):
    return next(line.split() for line in output.splitlines() if line.startswith(name))


def test_import_prints_a_summary_and_a_second_run_changes_nothing(env):
    runner, tmp = env
    folder = write_folder(tmp / "extract", {})
    first = runner.invoke(cli, ["import", "estate", str(folder)])
    assert first.exit_code == 0, first.output
    assert _line(first.output, "prisoners.csv") == ["prisoners.csv", "3", "0", "0"]
    assert _line(first.output, "occupancy.csv") == ["occupancy.csv", "4", "0", "0"]
    assert "imported 14 rows" in first.output
    second = runner.invoke(cli, ["import", "estate", str(folder)])
    assert second.exit_code == 0
    assert _line(second.output, "prisoners.csv") == ["prisoners.csv", "0", "0", "3"]
    assert _line(second.output, "cells.csv") == ["cells.csv", "0", "0", "4"]
    assert _table_counts(tmp) == {"establishment": 2, "cell": 4, "prisoner": 3, "occupancy": 4,
                                  "prisoner_alias": 1}
    events = _query(tmp, "SELECT actor_name, outcome, details FROM audit_event "
                         "WHERE action = 'estate.import'")
    assert len(events) == 2 and all(e[1] == "success" for e in events)
    assert events[0][0].startswith("cli:")
    assert json.loads(events[1][2])["counts"]["prisoners.csv"]["unchanged"] == 3


def test_a_faulty_extract_prints_every_problem_and_imports_nothing(env):
    runner, tmp = env
    stays = list(GOOD["occupancy.csv"]) + ["A1234BC,MDI,B-2-001,2025-02-01,2025-02-10",
                                           "Q1,MDI,B-2-001,2025-02-01,"]
    folder = write_folder(tmp / "extract", {"occupancy.csv": stays})
    result = runner.invoke(cli, ["import", "estate", str(folder)])
    assert result.exit_code == 1
    assert "occupancy.csv line 6: stay overlaps the stay from 2025-01-01 (line 2)" \
        in result.output
    assert "occupancy.csv line 7: 'Q1' is not a prison number" in result.output
    assert "2 problem(s) found; nothing was imported." in result.output
    assert _table_counts(tmp) == {"establishment": 0, "cell": 0, "prisoner": 0, "occupancy": 0,
                                  "prisoner_alias": 0}
    failure = _query(tmp, "SELECT outcome, details FROM audit_event "
                          "WHERE action = 'estate.import'")
    assert failure == [("failure", '{"problems": 2}')]


def test_check_only_writes_nothing(env):
    runner, tmp = env
    folder = write_folder(tmp / "extract", {})
    result = runner.invoke(cli, ["import", "estate", str(folder), "--check"])
    assert result.exit_code == 0, result.output
    assert "nothing was written (--check)" in result.output
    assert _line(result.output, "cells.csv") == ["cells.csv", "4", "0", "0"]
    assert _table_counts(tmp)["prisoner"] == 0


def test_problems_beyond_the_limit_are_counted(env):
    runner, tmp = env
    prisoners = [f"A{n:04d}BC,Person,,1980-01-01,,perhaps,N,N" for n in range(30)]
    folder = write_folder(tmp / "extract", {"prisoners.csv": prisoners, "occupancy.csv": [],
                                            "aliases.csv": None})
    result = runner.invoke(cli, ["import", "estate", str(folder), "--max-problems", "5"])
    assert result.exit_code == 1
    assert result.output.count("is not Y or N") == 5
    assert "... and 25 more (--max-problems 0 shows all)" in result.output
    everything = runner.invoke(cli, ["import", "estate", str(folder), "--max-problems", "0"])
    assert everything.output.count("is not Y or N") == 30


def test_missing_folder(env):
    runner, tmp = env
    result = runner.invoke(cli, ["import", "estate", str(tmp / "nowhere")])
    assert result.exit_code == 1 and "nowhere: not a folder" in result.output
