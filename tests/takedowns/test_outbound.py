"""Notices go only where the operator allowed (CELLWATCH_OUTBOUND_DESTINATIONS): a webhook on
loopback, a private or link-local address is refused before any connection unless the setting
lists that address; an email recipient's domain must be listed; the platform settings page
refuses a destination that is not allowed; and the error a person sees says "delivery failed",
never whether a port answered."""

import socket

import pytest
from sqlmodel import select

from app.takedowns import outbound
from app.takedowns.models import Notice, PlatformSettings
from tests.conftest import page_csrf
from tests.takedowns.conftest import set_platform
from tests.takedowns.test_delivery import approved, send


def _with(settings, destinations):
    return settings.model_copy(update={"outbound_destinations": destinations})


@pytest.mark.parametrize("address", [
    "http://127.0.0.1:{port}/ok", "http://[::1]:{port}/ok", "http://0x7f000001:{port}/ok",
    "http://localhost:{port}/ok", "http://169.254.169.254/latest", "http://10.0.0.7/hook",
    "http://0.0.0.0:{port}/ok"])
def test_internal_addresses_are_refused_unless_listed(session, settings, world, webhook,
                                                      address):
    port = webhook.url.rsplit(":", 1)[1]
    # the platform's host is allowed by name (".example"), but not what it resolves to
    unlisted = _with(settings, "localhost, .example, 0x7f000001")
    set_platform(session, "webhook", address.format(port=port))
    td = approved(session, unlisted, world)
    done = send(session, unlisted, world, td)
    assert done.error.startswith("Notice #1 could not be delivered: The webhook address is "
                                 "not an allowed destination")
    assert webhook.received == []  # nothing left the service
    assert session.exec(select(Notice)).one().delivery == "failed"


def test_a_listed_loopback_listener_is_reached(session, settings, world, webhook):
    set_platform(session, "webhook", f"{webhook.url}/ok")
    td = approved(session, _with(settings, "127.0.0.1"), world)
    assert send(session, _with(settings, "127.0.0.1"), world, td).error == ""
    assert len(webhook.received) == 1


def test_a_closed_port_and_an_open_one_fail_alike(session, settings, world):
    """'Connection refused' would tell which ports answer: a person reads one message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    set_platform(session, "webhook", f"http://127.0.0.1:{closed}/hook")
    td = approved(session, settings, world)
    done = send(session, settings, world, td)
    assert "could not be delivered: The platform's webhook gave no answer." in done.error
    assert "refused" not in done.error.lower() and str(closed) not in done.error


def test_email_to_a_domain_not_listed_is_not_sent(session, settings, world, mailbox):
    set_platform(session, "email", "abuse@instagram.example")
    narrow = _with(settings, ".platform.example")
    td = approved(session, narrow, world)
    done = send(session, narrow, world, td)
    assert "The recipient's domain is not an allowed destination" in done.error
    assert mailbox == []


def test_the_platform_page_refuses_a_destination_not_allowed(as_role, session):
    client, _ = as_role("supervisor")
    token = page_csrf(client, "/takedowns/platforms")
    r = client.post("/takedowns/platforms/instagram", data={
        "csrf_token": token, "channel": "webhook", "address": "http://192.168.1.20:8080/x",
        "renotice_hours": "24", "target_hours": "24"})
    assert r.status_code == 422 and "not among the destinations" in r.text
    row = session.get(PlatformSettings, "instagram")
    assert row is None or row.address != "http://192.168.1.20:8080/x"


def test_allowed_entries():
    allowed = outbound.Allowed.of(_settings("hooks.platform.example, .meta.example, "
                                            "10.1.0.0/16, ::1"))
    assert allowed.host("hooks.platform.example") and allowed.host("HOOKS.platform.example.")
    assert allowed.host("meta.example") and allowed.host("a.b.meta.example")
    assert not allowed.host("evilmeta.example") and not allowed.host("platform.example")
    assert allowed.host("10.1.2.3") and not allowed.host("10.2.0.1") and allowed.host("[::1]")


def _settings(destinations):
    from app.settings import Settings

    return Settings(outbound_destinations=destinations)
