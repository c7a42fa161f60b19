"""Every command run without the server's database says so plainly, says how to point it at
the server's data folder, and creates nothing; a database behind the code says to migrate."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from app import migrations
from app.cli import cli
from app.settings import get_settings

COMMANDS = [["users", "list"], ["users", "create", "jdoe", "analyst"], ["bootstrap"],
            ["audit", "verify"], ["audit", "link"], ["jobs", "run"], ["matching", "queue"],
            ["matching", "retry", "--all-failed"], ["demo"], ["serve"], ["worker"],
            ["import", "estate", "."]]


@pytest.fixture
def env(tmp_path, monkeypatch):
    folder = tmp_path / "not-the-server"
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(folder))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield CliRunner(), folder
    get_settings.cache_clear()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_database_is_named_and_not_created(env, command):
    runner, folder = env
    result = runner.invoke(cli, command)
    assert result.exit_code == 1
    assert f"There is no Cellwatch database at {folder / 'cellwatch.db'}" in result.output
    assert "CELLWATCH_DATA_DIR=/path/to/the/server/data" in result.output
    assert "cellwatch migrate" in result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) <= 6
    assert not folder.exists()  # no empty database file, not even its folder


def test_a_database_never_migrated_says_so(env):
    runner, folder = env
    folder.mkdir()
    sqlite3.connect(folder / "cellwatch.db").close()  # an empty file, as before this change
    result = runner.invoke(cli, ["users", "list"])
    assert result.exit_code == 1
    assert "has no Cellwatch tables (it was never migrated)" in result.output
    assert "cellwatch migrate" in result.output and "Traceback" not in result.output


def test_a_database_behind_the_code_asks_for_migrate(env):
    runner, folder = env
    folder.mkdir()
    script = ScriptDirectory.from_config(migrations.alembic_config())
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    migrations.upgrade(f"sqlite:///{folder / 'cellwatch.db'}", previous)
    result = runner.invoke(cli, ["users", "list"])
    assert result.exit_code == 1
    assert f"is not at the newest migration (it is at {previous}, this version needs {head})" \
        in result.output
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    assert runner.invoke(cli, ["users", "list"]).exit_code == 0
