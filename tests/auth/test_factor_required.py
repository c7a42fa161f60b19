"""Where a second factor is required (production, or CELLWATCH_SECOND_FACTOR_REQUIRED=true), a
user without one is let in only to set one up."""

import re
from pathlib import Path

import pyotp
import pytest

from app.settings import Settings
from tests.conftest import PASSWORD, csrf_from, login_csrf, page_csrf


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, second_factor_required=True)


def test_a_user_without_a_factor_is_sent_to_set_one_up(client, make_user):
    user = make_user("analyst", factor=False)
    r = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": login_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    for path in ("/", "/search", "/accounts", "/account/keys"):
        assert client.get(path, follow_redirects=False).headers["location"] \
            == "/account/factor", path
    assert client.get("/api/v1/me").status_code == 403
    page = client.get("/account/factor")
    assert page.status_code == 200 and "Set up an authenticator app" in page.text
    setup = client.post("/account/factor/setup",
                        data={"csrf_token": page_csrf(client, "/account/factor")})
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', setup.text).group(1)
    done = client.post("/account/factor/confirm", data={"code": pyotp.TOTP(secret).now(),
                                                        "csrf_token": csrf_from(setup.text)})
    assert done.status_code == 200 and done.text.count('class="secret"') == 10
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 200 and "No second factor" not in home.text


def test_a_one_time_password_is_changed_first_then_a_factor_set_up(client, make_user):
    user = make_user("admin", must_change_password=True, factor=False)  # as the bootstrap admin
    r = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": login_csrf(client)}, follow_redirects=False)
    assert r.headers["location"] == "/account/password"
    assert client.get("/", follow_redirects=False).headers["location"] == "/account/password"
    client.post("/account/password", data={"current": PASSWORD, "new": "a new long secret",
                                           "confirm": "a new long secret",
                                           "csrf_token": page_csrf(client)})
    assert client.get("/admin/users", follow_redirects=False).headers["location"] \
        == "/account/factor"
