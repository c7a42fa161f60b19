import base64

import pytest
from pydantic import ValidationError

from app.main import create_app
from app.settings import DEV_MASTER_KEY, Settings, UnsafeSettingsError, explain

GOOD_KEY = base64.b64encode(b"k" * 32).decode()
AUDIT_KEY = base64.b64encode(b"a" * 32).decode()


def test_production_refuses_default_secret_debug_and_public_docs(tmp_path):
    settings = Settings(environment="production", data_dir=tmp_path, debug=True, api_docs=True,
                        master_key=DEV_MASTER_KEY)
    with pytest.raises(UnsafeSettingsError) as err:
        create_app(settings)
    message = str(err.value)
    assert "CELLWATCH_MASTER_KEY" in message
    assert "CELLWATCH_DEBUG" in message
    assert "CELLWATCH_API_DOCS" in message
    assert "CELLWATCH_DATABASE_URL" in message


def test_production_with_safe_values_starts_without_docs(tmp_path):
    settings = Settings(environment="production", data_dir=tmp_path, api_docs=False,
                        master_key=GOOD_KEY, audit_key=AUDIT_KEY,
                        database_url=f"sqlite:///{tmp_path}/p.db")
    app = create_app(settings)
    assert app.docs_url is None and app.openapi_url is None
    assert settings.secure_cookies


def test_production_refuses_the_development_audit_key_or_the_master_key_again(tmp_path):
    base = {"environment": "production", "data_dir": tmp_path, "api_docs": False,
            "master_key": GOOD_KEY, "database_url": f"sqlite:///{tmp_path}/p.db"}
    assert "CELLWATCH_AUDIT_KEY is missing or the development default" in \
        Settings(**base).unsafe_reasons()
    assert "CELLWATCH_AUDIT_KEY must differ from CELLWATCH_MASTER_KEY" in \
        Settings(**base, audit_key=GOOD_KEY).unsafe_reasons()
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(audit_key=base64.b64encode(b"short").decode())


def test_master_key_must_be_32_bytes_of_base64():
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(master_key=base64.b64encode(b"short").decode())
    with pytest.raises(ValidationError, match="base64"):
        Settings(master_key="not base64 at all!")


def test_settings_come_from_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CELLWATCH_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.session_idle_minutes == 15
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve()}/cellwatch.db"


def test_matching_thresholds_are_settings_defaulting_to_the_measured_ones(monkeypatch, tmp_path):
    from app.matching import thresholds

    assert Settings().match_global_max_distance == thresholds.GLOBAL_MAX_DISTANCE
    monkeypatch.setenv("CELLWATCH_MATCH_VERIFY_MIN_SCORE", "30")
    app = create_app(Settings(data_dir=tmp_path))
    assert app.state.match_engine.limits.verify_min_score == 30


def test_the_test_only_pause_in_second_stages_is_refused_in_production(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli
    from app.settings import get_settings

    safe = {"environment": "production", "data_dir": tmp_path, "api_docs": False,
            "master_key": GOOD_KEY, "audit_key": AUDIT_KEY,
            "database_url": f"sqlite:///{tmp_path}/p.db"}
    assert Settings(**safe, test_second_stage_pause=0).unsafe_reasons() == []
    with pytest.raises(UnsafeSettingsError, match="CELLWATCH_TEST_SECOND_STAGE_PAUSE"):
        create_app(Settings(**safe, test_second_stage_pause=5))
    for name, value in {**safe, "test_second_stage_pause": 5}.items():  # a worker refuses too
        monkeypatch.setenv(f"CELLWATCH_{name.upper()}", str(value))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "CELLWATCH_TEST_SECOND_STAGE_PAUSE" in str(result.exception)


@pytest.mark.parametrize("months", [12, 25, 0])
def test_audit_retention_outside_13_to_24_months_is_refused(months):
    with pytest.raises(ValidationError) as err:
        Settings(retention_audit_months=months)
    assert explain(err.value) == (
        f"CELLWATCH_RETENTION_AUDIT_MONTHS is {months}: audit events must be kept at least 13 "
        "and at most 24 months")


@pytest.mark.parametrize("months", [13, 24])
def test_audit_retention_at_either_end_is_accepted(months):
    assert Settings(retention_audit_months=months).retention_audit_months == months


def test_the_command_refuses_to_start_with_a_clear_message(monkeypatch, capsys):
    from app.cli import main
    from app.settings import get_settings

    monkeypatch.setenv("CELLWATCH_RETENTION_AUDIT_MONTHS", "36")
    monkeypatch.setattr("sys.argv", ["cellwatch", "jobs", "run"])
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            main()
    finally:
        get_settings.cache_clear()
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "refusing to start: CELLWATCH_RETENTION_AUDIT_MONTHS is 36: audit events must be kept "
        "at least 13 and at most 24 months")


def test_the_test_only_pause_in_the_write_window_is_refused_in_production(tmp_path):
    safe = {"environment": "production", "data_dir": tmp_path, "api_docs": False,
            "master_key": GOOD_KEY, "audit_key": AUDIT_KEY,
            "database_url": f"sqlite:///{tmp_path}/p.db"}
    assert Settings(**safe).unsafe_reasons() == []
    with pytest.raises(UnsafeSettingsError, match="CELLWATCH_TEST_WRITE_PAUSE"):
        create_app(Settings(**safe, test_write_pause=5))
