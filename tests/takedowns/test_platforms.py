"""Platform settings: defaults for every platform, supervisors edit, templates in a sandbox."""

import pytest
from sqlmodel import select

from app.accounts.platforms import Platform
from app.errors import Unprocessable
from app.takedowns import notice_text
from app.takedowns.channels import DEFAULTS, ensure_platforms, list_platforms
from app.takedowns.models import PlatformSettings
from tests.conftest import csrf_from
from tests.takedowns.helpers import audits

# The shortest template that carries all a platform needs.
COMPLETE = ("Remove {{ account.handle }} ({{ reference }}) id {{ account.numeric_id }}\n"
            "{{ legal_basis }}\n{{ reason }}\n{% for u in urls %}{{ u }}\n{% endfor %}"
            "{{ good_faith_statement }}\n{{ contact }}")


def _form(**overrides):
    form = {"channel": "email", "address": "abuse@platform.example", "renotice_hours": "12",
            "target_hours": "48", "template": COMPLETE}
    return {**form, **overrides}


def test_every_platform_has_defaults_and_reading_writes_nothing(session, as_role):
    assert set(DEFAULTS) == set(Platform)
    rows = list_platforms(session)
    assert [r.platform for r in rows] == [p.value for p in Platform]
    assert all(r.renotice_hours == 24 or r.platform == "other" for r in rows)
    client, _ = as_role("analyst")
    page = client.get("/takedowns/platforms")
    assert page.status_code == 200 and "Telegram" in page.text and "abuse@telegram.org" in page.text
    assert "<textarea" not in page.text  # analysts see, supervisors edit
    assert session.exec(select(PlatformSettings)).all() == []
    ensure_platforms(session)
    ensure_platforms(session)  # a racing twin inserts nothing twice
    assert len(session.exec(select(PlatformSettings)).all()) == len(Platform)


def test_supervisor_saves_and_the_change_is_audited(client, session, as_role):
    client, _ = as_role("supervisor")
    page = client.get("/takedowns/platforms")
    r = client.post("/takedowns/platforms/tiktok", follow_redirects=False,
                    data={**_form(), "csrf_token": csrf_from(page.text)})
    assert r.status_code == 303
    row = session.get(PlatformSettings, "tiktok")
    assert (row.channel, row.address, row.renotice_hours, row.target_hours) == \
        ("email", "abuse@platform.example", 12, 48)
    assert audits(session, "platform.update")


@pytest.mark.parametrize(("template", "message"), [
    ("{% for x in %}", "error on line 1"),
    ("Dear team,\n{{ acount.handle }}", "failed"),
    ("{{ account.__class__.__mro__ }}", "not allowed"),
    ("{{ 'x' * 10000000 }}", "not allowed"),
    ("{{ ''.__class__ }}", "not allowed"),
    ("   ", "empty"),
    ("Remove {{ account.handle }} ({{ reference }})", "leaves out the legal basis, the reason"),
    (COMPLETE.replace("{{ contact }}", ""), "leaves out the sender&#39;s contact"),
    (COMPLETE.replace(" id {{ account.numeric_id }}", ""), "the platform&#39;s account id"),
    # nested loops: ten thousand million steps, refused within the render budget
    (COMPLETE + "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                "{% endfor %}", "does too much work"),
    # costly only for a late reminder: the worst-case takedown finds it on save
    (COMPLETE + "{% if notice_number > 9 %}{% for i in range(100000) %}{% for e in evidence %}"
                "{% endfor %}{% endfor %}{% endif %}", "does too much work"),
])
def test_a_bad_template_is_a_clear_422_and_nothing_is_saved(client, session, as_role,
                                                             template, message):
    client, _ = as_role("supervisor")
    page = client.get("/takedowns/platforms")
    r = client.post("/takedowns/platforms/x", data={**_form(template=template),
                                                   "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422 and message in r.text, r.text[-2000:]
    session.expire_all()
    assert session.get(PlatformSettings, "x") is None


@pytest.mark.parametrize(("channel", "address"), [
    ("email", "not-an-address"), ("webhook", "ftp://hooks.example"), ("webhook", ""),
    ("pigeon", "x"),
])
def test_bad_addresses_and_hours_are_refused(client, session, as_role, channel, address):
    client, _ = as_role("supervisor")
    page = client.get("/takedowns/platforms")
    token = csrf_from(page.text)
    r = client.post("/takedowns/platforms/x", data={**_form(channel=channel, address=address),
                                                   "csrf_token": token})
    assert r.status_code == 422
    r = client.post("/takedowns/platforms/x", data={**_form(renotice_hours="0"),
                                                   "csrf_token": token})
    assert r.status_code == 422 and "between 1 and" in r.text
    assert client.post("/takedowns/platforms/myspace",
                       data={**_form(), "csrf_token": token}).status_code == 404
    assert session.get(PlatformSettings, "x") is None


def test_analysts_may_not_edit_platforms(as_role):
    client, _ = as_role("analyst")
    page = client.get("/takedowns/platforms")
    r = client.post("/takedowns/platforms/x", data={**_form(), "csrf_token": csrf_from(page.text)})
    assert r.status_code == 403


def test_default_template_renders_the_sample_and_a_first_notice():
    notice_text.validate(notice_text.DEFAULT_TEMPLATE)
    first = notice_text.render(notice_text.DEFAULT_TEMPLATE,
                               {**notice_text.SAMPLE_CONTEXT, "notice_number": 1})
    assert "reminder" not in first and "example.handle" in first and "TD-123" in first
    again = notice_text.render(notice_text.DEFAULT_TEMPLATE, notice_text.SAMPLE_CONTEXT)
    assert "This is reminder 2" in again and "CASE-42" in again
    with pytest.raises(Unprocessable, match="longer than"):
        notice_text.validate("x" * (notice_text.MAX_TEMPLATE_CHARS + 1))
