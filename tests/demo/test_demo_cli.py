"""`cellwatch demo` as `make run` and a person run it: the default-size estate on a brand-new
database with one user per role printed once, nothing on a database that has anything, off
with CELLWATCH_DEMO=false, refused in production."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine
from app.settings import get_settings


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    for name in ("CELLWATCH_DATABASE_URL", "CELLWATCH_DEMO", "CELLWATCH_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield CliRunner(), tmp_path, monkeypatch
    get_settings.cache_clear()


def _scalar(tmp_path, sql: str) -> int:
    engine = make_engine(f"sqlite:///{tmp_path}/cellwatch.db")
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_first_run_loads_the_default_estate_once_and_prints_each_role(env):
    runner, tmp, _ = env
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    first = runner.invoke(cli, ["demo", "--first-run"])
    assert first.exit_code == 0, first.output
    assert "Demo estate ready" in first.output and "612 cells" in first.output
    for role in ("analyst", "supervisor", "auditor", "admin"):
        assert any(line.split()[:2] == [role, role] for line in first.output.splitlines())
    assert "shown only now" in first.output
    assert _scalar(tmp, "SELECT count(*) FROM cell") == 612
    assert 1200 <= _scalar(tmp, "SELECT count(*) FROM prisoner") <= 1800
    # the next `make run`: nothing to say, nothing done; bootstrap finds the users
    again = runner.invoke(cli, ["demo", "--first-run"])
    assert again.exit_code == 0 and again.output == ""
    assert "users exist already" in runner.invoke(cli, ["bootstrap"]).output
    on_demand = runner.invoke(cli, ["demo"])
    assert on_demand.exit_code == 1
    assert "already holds 3 establishments" in on_demand.output
    assert "Nothing was changed" in on_demand.output
    assert _scalar(tmp, "SELECT count(*) FROM app_user") == 4


def test_demo_off_leaves_make_run_to_bootstrap(env):
    runner, tmp, monkeypatch = env
    monkeypatch.setenv("CELLWATCH_DEMO", "false")
    runner.invoke(cli, ["migrate"])
    first = runner.invoke(cli, ["demo", "--first-run"])
    assert first.exit_code == 0 and "CELLWATCH_DEMO=false" in first.output
    assert _scalar(tmp, "SELECT count(*) FROM establishment") == 0
    asked = runner.invoke(cli, ["demo"])
    assert asked.exit_code == 1 and "CELLWATCH_DEMO=false" in asked.output
    assert "One-time password" in runner.invoke(cli, ["bootstrap"]).output


def test_production_refuses_the_demo(env):
    runner, tmp, monkeypatch = env
    runner.invoke(cli, ["migrate"])
    monkeypatch.setenv("CELLWATCH_ENVIRONMENT", "production")
    get_settings.cache_clear()
    asked = runner.invoke(cli, ["demo"])
    assert asked.exit_code == 1 and "production" in asked.output and "refuses" in asked.output
    assert _scalar(tmp, "SELECT count(*) FROM establishment") == 0
    monkeypatch.setenv("CELLWATCH_DEMO", "true")
    get_settings.cache_clear()
    assert "CELLWATCH_DEMO is on" in " ".join(get_settings().unsafe_reasons())
