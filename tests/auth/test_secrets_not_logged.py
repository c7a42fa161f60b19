"""The bootstrap password and enrolment codes reach the terminal (or the approver's page) and
never a log: no log record, at any level, from any logger, holds them."""

import logging
import re

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from tests.conftest import login, page_csrf


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_bootstrap_password_and_cli_codes_are_printed_not_logged(cli_env, caplog):
    assert cli_env.invoke(cli, ["migrate"]).exit_code == 0
    # Alembic's logging set-up replaces the root handlers: listen again, at every level
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # statements and parameters
    first = cli_env.invoke(cli, ["bootstrap"])
    password = re.search(r"One-time password: (\S+)", first.output).group(1)
    made = cli_env.invoke(cli, ["users", "create", "sup", "supervisor"])
    code = re.search(r"enrolment code (\S+)", made.output).group(1)
    reset = cli_env.invoke(cli, ["users", "reset-sign-in", "sup"])
    new_code = re.search(r"enrolment code (\S+)", reset.output).group(1)
    assert len({password, code, new_code}) == 3
    # SQL statements and their parameters (hashes, never the secrets) were logged meanwhile
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    for secret in (password, code, new_code):
        assert secret not in logged


def test_an_approved_code_is_shown_to_the_approver_and_logged_nowhere(app, make_user, caplog,
                                                                     session):
    from fastapi.testclient import TestClient

    caplog.set_level(logging.DEBUG)
    with TestClient(app) as admin, TestClient(app) as supervisor:
        login(admin, make_user("admin").username)
        admin.post("/admin/users", data={"username": "newbie", "role": "analyst",
                                         "csrf_token": page_csrf(admin, "/admin/users")})
        login(supervisor, make_user("supervisor").username)
        page = supervisor.get("/grants").text
        proposal_id = re.search(r'action="/grants/(\d+)/approve"', page).group(1)
        approved = supervisor.post(f"/grants/{proposal_id}/approve", data={
            "version": "1", "csrf_token": page_csrf(supervisor, "/grants")})
    code = re.search(r'<code class="secret">([^<]+)</code>', approved.text).group(1)
    # the enrolment form sends it in the body, never in a URL an access log would keep
    with TestClient(app) as anon:
        form = anon.get("/enrol").text
        assert 'method="post" action="/enrol"' in form
        token = re.search(r'name="enrol_csrf" value="([^"]+)"', form).group(1)
        anon.post("/enrol", data={"enrolment_code": code, "enrol_csrf": token})
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert code not in logged
