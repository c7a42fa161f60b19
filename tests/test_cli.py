import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine
from app.settings import get_settings


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield CliRunner(), tmp_path
    get_settings.cache_clear()


def test_migrate_bootstrap_and_user_commands(env):
    runner, tmp = env
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    first = runner.invoke(cli, ["bootstrap"])
    assert first.exit_code == 0 and "One-time password:" in first.output
    again = runner.invoke(cli, ["bootstrap"])
    assert "users exist already" in again.output and "One-time password" not in again.output

    made = runner.invoke(cli, ["users", "create", "jdoe", "analyst"])
    assert made.exit_code == 0 and "created jdoe (analyst); enrolment code " in made.output
    dup = runner.invoke(cli, ["users", "create", "jdoe", "analyst"])
    assert dup.exit_code == 1 and "already exists" in dup.output
    assert runner.invoke(cli, ["users", "set-role", "jdoe", "supervisor"]).exit_code == 0
    assert runner.invoke(cli, ["users", "disable", "jdoe"]).exit_code == 0
    listing = runner.invoke(cli, ["users", "list"]).output
    assert "jdoe" in listing and "supervisor" in listing and "disabled" in listing
    reset = runner.invoke(cli, ["users", "reset-sign-in", "jdoe"])
    assert reset.exit_code == 0 and "password and authenticator cleared; enrolment code" \
        in reset.output
    missing = runner.invoke(cli, ["users", "disable", "nobody"])
    assert missing.exit_code == 1 and "no user named" in missing.output

    # events are linked into the chain after their commit: by a server, `jobs run` or this
    verify = runner.invoke(cli, ["audit", "verify"])
    assert verify.exit_code == 0 and "7 committed events await linking" in verify.output
    assert runner.invoke(cli, ["audit", "link"]).output == "7 events linked into the chain\n"
    verify = runner.invoke(cli, ["audit", "verify"])
    assert verify.exit_code == 0 and "audit log intact: 7 linked events" in verify.output
    assert "no event awaits linking" in verify.output


def test_audit_verify_reports_tampering(env):
    runner, tmp = env
    runner.invoke(cli, ["migrate"])
    runner.invoke(cli, ["bootstrap"])
    runner.invoke(cli, ["users", "create", "jdoe", "analyst"])
    runner.invoke(cli, ["audit", "link"])  # the chain protects what it has linked
    engine = make_engine(f"sqlite:///{tmp}/cellwatch.db")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("UPDATE audit_event SET details = '{}' WHERE id = 1"))
    engine.dispose()
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at event 1" in result.output


def test_the_data_folder_and_database_are_the_apps_user_only(env):
    """Files made before this rule are put right too (an older install's 0644 database)."""
    import stat

    runner, tmp = env
    (tmp / "cellwatch.db").touch(mode=0o644)
    (tmp / "cellwatch.db").chmod(0o644)
    tmp.chmod(0o755)
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    assert runner.invoke(cli, ["bootstrap"]).exit_code == 0
    assert stat.S_IMODE(tmp.stat().st_mode) == 0o700
    made = [p for p in tmp.iterdir() if p.is_file()]
    assert made and {p.name for p in made} >= {"cellwatch.db"}
    for path in made:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
