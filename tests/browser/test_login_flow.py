"""Sign-in, first password change, user administration and the browser-side security model,
walked in real Chromium as a person would."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
import pytest
from sqlmodel import col, func, select

from app.auth.models import User, UserSession
from tests.browser.conftest import GOOD_PASSWORD, LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

pytestmark = pytest.mark.browser

NEW_PASSWORD_LABEL = "New password (at least 12 characters)"
ADMIN_PASSWORD = "copper lantern at dawn"


def sign_in(page: Page, server: LiveServer, username: str, password: str) -> None:
    """The password, then (for a user with an authenticator) the code it shows."""
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: not url.endswith("/login"))  # signed in, page loaded
    if "/login/code" in page.url:
        page.get_by_label("Code").fill(server.db.totp_code(username))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(lambda url: "/login/code" not in url)


def screenshot_dir(tmp_path: Path) -> Path:
    """Screenshots go to $CELLWATCH_SCREENSHOT_DIR when set (to look at them), else tmp_path."""
    target = Path(os.environ.get("CELLWATCH_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def session_cookie(context: BrowserContext) -> dict:
    found = [c for c in context.cookies() if c["name"] == "cw_session"]
    assert len(found) == 1, context.cookies()
    return dict(found[0])


def test_first_sign_in_change_password_create_user_sign_out(
    page: Page, context: BrowserContext, browser: Browser, live_server: LiveServer, expect,
    tmp_path: Path,
) -> None:
    base = live_server.url
    one_time = live_server.db.bootstrap_admin()
    shots = screenshot_dir(tmp_path)

    # Not signed in: the home page sends the person to sign in, and back afterwards.
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    # First sign-in with the one-time password: straight to "Choose a new password".
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(one_time)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/account/password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")

    # Until the password is changed, every other page leads back here.
    for path in ("/", "/admin/users", "/account/keys", "/audit"):
        page.goto(f"{base}{path}")
        expect(page).to_have_url(f"{base}/account/password")
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")

    form = page.locator('form[action="/account/password"]')
    # Too short: the browser itself refuses to submit (minlength)...
    page.get_by_label("Current password").fill(one_time)
    page.get_by_label(NEW_PASSWORD_LABEL).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Save password").click()
    assert page.get_by_label(NEW_PASSWORD_LABEL).evaluate("e => e.validity.tooShort") is True
    expect(page).to_have_url(f"{base}/account/password")
    # ...and with the browser's check out of the way, the server refuses it too, and says why.
    form.evaluate("f => { f.noValidate = true; }")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save password").click()
    assert posted.value.status == 422
    expect(page.get_by_role("alert")).to_have_text(
        "The password must have at least 12 characters.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")

    # A valid change: home, with the flash.
    page.get_by_label("Current password").fill(one_time)
    page.get_by_label(NEW_PASSWORD_LABEL).fill(ADMIN_PASSWORD)
    page.get_by_label("New password again").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Save password").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("status")).to_have_text("Your password has been changed.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, First administrator")
    page.screenshot(path=str(shots / "home-admin.png"), full_page=True)

    # Development lets an admin without an authenticator in, and says so on every page.
    expect(page.get_by_role("note").filter(has_text="No second factor.")).to_be_visible()

    # An admin sees the Admin area (and proposals to decide) and nothing with prisoner data.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Admin", "Access"])
    for hidden in ("Intake", "Review", "Accounts", "Takedowns", "Search", "Reports", "Audit"):
        expect(page.get_by_role("link", name=hidden, exact=True)).to_have_count(0)
    # The flash was shown once: it is gone on the next page.
    page.reload()
    expect(page.get_by_role("status")).to_have_count(0)

    # Admin → Users: propose an analyst. Nothing usable is shown to the admin: a supervisor
    # approves, and receives the enrolment code.
    nav.get_by_role("link", name="Admin").click()
    expect(page).to_have_url(f"{base}/admin/users")
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    new_user = page.locator('form[action="/admin/users"]')
    new_user.get_by_label("Username").fill("alice")
    new_user.get_by_label("Full name").fill("Alice Analyst")
    new_user.get_by_label("Role").select_option("analyst")
    new_user.get_by_role("button", name="Propose user").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Proposed: alice as analyst. A supervisor must approve it")
    expect(page.locator("code.secret")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="alice")).to_contain_text("new user, analyst")
    page.screenshot(path=str(shots / "admin-users.png"), full_page=True)
    assert live_server.db.user("alice") is None

    # Sign out; the cookie saved before is dead, in a fresh browser as in this one.
    old_cookie = session_cookie(context)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert not [c for c in context.cookies() if c["name"] == "cw_session"]
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))

    replay = browser.new_context()
    try:
        replay.add_cookies([old_cookie])
        stolen = replay.new_page()
        stolen.goto(f"{base}/admin/users")
        expect(stolen).to_have_url(re.compile(r"/login\?next=/admin/users$"))
        expect(stolen.locator("code.secret")).to_have_count(0)
        expect(stolen.get_by_text("alice")).to_have_count(0)
    finally:
        replay.close()
    with live_server.db.session() as db:
        admin_id = db.exec(select(User.id).where(User.username == "admin")).one()
        left = db.exec(select(func.count()).select_from(UserSession)
                       .where(col(UserSession.user_id) == admin_id)).one()
    assert left == 0, "sign-out must end the session on the server"
    assert len(live_server.db.audit("auth.logout")) == 1

    # A supervisor approves and alone sees the code; alice enrols with it: her own password
    # and an authenticator, set up from a QR code the server drew.
    live_server.db.create_user("sue", "supervisor")
    sign_in(page, live_server, "sue", GOOD_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Access").click()
    page.get_by_role("row").filter(has_text="alice").get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Enrolment code for alice")
    code = page.locator("code.secret").inner_text().strip()
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{base}/enrol")
    page.get_by_label("Enrolment code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrol as alice")
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("code.secret").inner_text().strip()
    page.get_by_label(NEW_PASSWORD_LABEL).fill("a fresh keyboard 42")
    page.get_by_label("New password again").fill("a fresh keyboard 42")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page.locator("code.secret")).to_have_count(10)
    sign_in(page, live_server, "alice", "a fresh keyboard 42")
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice Analyst")


def test_session_cookie_flags(page: Page, context: BrowserContext, live_server: LiveServer,
                              expect) -> None:
    live_server.db.create_user("ana", "analyst")
    sign_in(page, live_server, "ana", GOOD_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/")

    cookie = session_cookie(context)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["expires"] == -1, "a browser-session cookie: gone when the browser closes"
    # Secure is set only in production (settings.secure_cookies); this server speaks plain
    # http on 127.0.0.1 in development, where a Secure cookie would be pointless.
    assert live_server.settings.secure_cookies is False
    assert cookie["secure"] is False
    # HttpOnly as the page's own scripts see it.
    assert "cw_session" not in page.evaluate("document.cookie")


@pytest.mark.parametrize(
    ("attacker_host", "expected_status"),
    [
        # another site: SameSite=Strict keeps the cookie home, so the post is anonymous
        pytest.param("localhost", 401, id="cross-site"),
        # same site, another origin (port): the cookie goes, Sec-Fetch-Site/CSRF refuse it
        pytest.param("127.0.0.1", 403, id="same-site-other-origin"),
    ],
)
def test_form_post_from_another_origin_is_refused_and_changes_nothing(
    page: Page, live_server: LiveServer, other_site, expect, attacker_host: str,
    expected_status: int,
) -> None:
    base = live_server.url
    live_server.db.create_user("victim", "admin")
    sign_in(page, live_server, "victim", GOOD_PASSWORD)
    expect(page).to_have_url(f"{base}/")
    db = live_server.db
    creates_before = len(db.audit("user.create") + db.audit("grant.propose"))

    evil = other_site(attacker_host)
    evil.pages["/win-a-prize"] = f"""<!doctype html>
<html><body><h1>Congratulations</h1>
<form id="f" method="post" action="{base}/admin/users">
  <input name="username" value="mallory"><input name="role" value="admin">
  <input name="display_name" value="Mallory">
</form>
<script>document.getElementById("f").submit();</script>
</body></html>"""

    with page.expect_response(
        lambda r: r.url == f"{base}/admin/users" and r.request.method == "POST"
    ) as attack:
        page.goto(evil.url("/win-a-prize"))
    response = attack.value
    assert response.status == expected_status
    assert response.request.headers["origin"] == f"http://{attacker_host}:{evil.port}"
    sent_cookie = response.request.all_headers().get("cookie", "")
    if expected_status == 401:
        assert "cw_session" not in sent_cookie
        expect(page.get_by_role("heading", level=1)).to_contain_text("Sign-in needed")
    else:
        assert "cw_session" in sent_cookie
        expect(page.get_by_text("Refused: this request came from another site.")).to_be_visible()

    # Nothing changed: no mallory, no audit of her creation, and the victim is still signed in.
    assert live_server.db.user("mallory") is None
    creates = live_server.db.audit("user.create") + live_server.db.audit("grant.propose")
    assert len(creates) == creates_before
    assert all("mallory" not in event.details for event in creates)
    page.goto(f"{base}/admin/users")
    expect(page).to_have_url(f"{base}/admin/users")
    expect(page.get_by_role("cell", name="victim", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="mallory", exact=True)).to_have_count(0)


def test_security_headers_and_vendored_htmx(page: Page, live_server: LiveServer,
                                            expect) -> None:
    base = live_server.url
    live_server.db.create_user("ana", "analyst")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    sign_in(page, live_server, "ana", GOOD_PASSWORD)
    response = page.goto(f"{base}/")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, ana")

    headers = response.headers
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"

    # htmx ran under that CSP, and came from our own /static, not a CDN.
    page.wait_for_load_state("load")
    assert page.evaluate("typeof htmx") == "object"
    scripts = page.evaluate("[...document.scripts].map(s => s.src)")
    assert f"{base}/static/js/htmx.min.js" in scripts
    assert all(src.startswith(f"{base}/static/") for src in scripts), scripts
    assert all(url.startswith(base) for url in requested), requested


def test_pages_cause_no_csp_violations(page: Page, live_server: LiveServer, expect) -> None:
    live_server.db.create_user("ana", "analyst")
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Only errors from our own pages count, not a stray automatic /favicon.ico request.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", on_console)
    sign_in(page, live_server, "ana", GOOD_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/")
    page.wait_for_load_state("load")
    # An inline script or style slipping into a template shows here as a console error.
    assert errors == [], "\n".join(errors)
