"""A security key in real Chromium, through its virtual authenticator (DevTools' WebAuthn
domain): registered on the factor page, used to sign in instead of the code, and to answer a
step-up. The pages are opened at localhost, the relying party id (browsers refuse an IP
address as one)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import select

from app import migrations
from app.auth.models import SecurityKey, UserSession
from app.db import utcnow
from app.settings import Settings
from tests.browser.conftest import GOOD_PASSWORD, LiveServer, serve_live
from tests.browser.test_accessibility import axe_violations
from tests.browser.test_login_flow import screenshot_dir

if TYPE_CHECKING:
    from playwright.sync_api import Browser, CDPSession, Page

pytestmark = pytest.mark.browser


@pytest.fixture
def key_server(tmp_path: Path, migrated_template: Path) -> Iterator[LiveServer]:
    """The live server with its relying party at localhost:<its port>."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db_file = tmp_path / "k.db"
    shutil.copyfile(migrated_template, db_file)
    url = f"sqlite:///{db_file}"
    migrations.upgrade(url)
    with serve_live(url, lambda port: Settings(
            data_dir=data_dir, database_url=url, webauthn_rp_id="localhost",
            webauthn_origins=f"http://localhost:{port}")) as server:
        yield server


@pytest.fixture
def key_page(browser: Browser,
             key_server: LiveServer) -> Iterator[tuple[Page, CDPSession, str]]:
    """A fresh profile whose page has a virtual USB security key (CTAP2, with user
    verification) plugged in."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": False,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    yield page, cdp, added["authenticatorId"]
    ctx.close()


def _sign_count(cdp: CDPSession, authenticator: str) -> int:
    [credential] = cdp.send("WebAuthn.getCredentials",
                            {"authenticatorId": authenticator})["credentials"]
    return credential["signCount"]


def test_register_a_key_sign_in_with_it_and_pass_a_step_up(key_server: LiveServer, key_page,
                                                           expect, tmp_path: Path) -> None:
    page, cdp, authenticator = key_page
    shots = screenshot_dir(tmp_path)
    base = f"http://localhost:{key_server.port}"
    key_server.db.create_user("keyholder", "analyst")

    # signed in with the password and the authenticator app's code, as today
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill("keyholder")
    page.get_by_label("Password").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/login/code"))
    page.get_by_label("Code").fill(key_server.db.totp_code("keyholder"))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/")

    # the factor page: name the key, press the button, touch the key
    page.goto(f"{base}/account/factor")
    expect(page.get_by_role("cell", name="No security keys yet")).to_be_visible()
    page.get_by_label("Name of the new key").fill("Blue key")
    page.get_by_role("button", name="Add a security key").click()
    expect(page.get_by_role("status").filter(has_text="Security key “Blue key” added")) \
        .to_be_visible()
    expect(page.get_by_role("cell", name="Blue key", exact=True)).to_be_visible()
    problems = axe_violations(page, "factor page with a key")
    page.screenshot(path=str(shots / "security-key-added.png"), full_page=True)
    with key_server.db.session() as db:
        [stored] = db.exec(select(SecurityKey)).all()
    assert stored.name == "Blue key"
    assert len(key_server.db.audit("user.security_key_add")) == 1

    # sign out, and back in with the key instead of the code
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill("keyholder")
    page.get_by_label("Password").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/login/code"))
    problems += axe_violations(page, "code page with a key")
    page.screenshot(path=str(shots / "security-key-sign-in.png"), full_page=True)
    use_key = page.get_by_role("button", name="Use your security key")
    use_key.focus()
    page.keyboard.press("Enter")  # the keyboard alone does it
    expect(page).to_have_url(f"{base}/")
    signed_in = [e for e in key_server.db.audit("auth.factor") if e.outcome == "success"]
    assert '"method": "security key"' in signed_in[-1].details
    with key_server.db.session() as db:  # the server holds the key's own counter
        counted = db.exec(select(SecurityKey.sign_count)).one()
    assert counted == _sign_count(cdp, authenticator) >= 1

    # a step-up: the last check is made older than the window; removing the key asks again
    with key_server.db.session() as db:
        for row in db.exec(select(UserSession)).all():
            row.factor_at = utcnow() - timedelta(minutes=16)
            db.add(row)
        db.commit()
    page.goto(f"{base}/account/factor")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Blue key").click()
    expect(page.get_by_text("Enter your authenticator code again")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    page.get_by_role("button", name="Use your security key").click()
    expect(page).to_have_url(f"{base}/account/factor")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Blue key").click()
    expect(page.get_by_role("status").filter(has_text="Security key “Blue key” removed")) \
        .to_be_visible()
    expect(page.get_by_role("cell", name="No security keys yet")).to_be_visible()
    assert len(key_server.db.audit("user.security_key_remove")) == 1
    with key_server.db.session() as db:
        assert db.exec(select(SecurityKey)).all() == []
    assert problems == [], "\n".join(problems)


def test_the_factor_page_says_when_keys_cannot_work_at_this_address(key_server: LiveServer,
                                                                    key_page, expect) -> None:
    """Opened at 127.0.0.1 the browser would refuse the relying party localhost: the page says
    so, instead of failing after the press."""
    page, _, _ = key_page
    key_server.db.create_user("numeric", "analyst")
    page.goto(f"{key_server.url}/login")  # http://127.0.0.1:<port>
    page.get_by_label("Username").fill("numeric")
    page.get_by_label("Password").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(key_server.db.totp_code("numeric"))
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{key_server.url}/account/factor")
    expect(page.get_by_role("alert")).to_have_text(
        "Security keys work only when Cellwatch is opened at localhost; this page is at "
        "127.0.0.1.")
    expect(page.get_by_role("button", name="Add a security key")).to_be_disabled()
