"""A takedown taken through its pages (and the API's draft edit and claim), from the draft to a
portal re-notice filed by hand, leaves its audit rows; reading a takedown is a read (the API's
draft, transitions and downloads: test_audit_coverage.py)."""

from __future__ import annotations

from sqlmodel import select

from app.db import utcnow
from app.takedowns.models import Notice
from tests.accounts.conftest import estate  # noqa: F401  (a fixture)
from tests.audit.rows import Row, Walk, one, reads
from tests.takedowns.conftest import set_platform

DRAFT = {"reason": "Taunting a victim from inside a cell",
         "legal_basis": "Malicious Communications Act 1988, s.1",
         "contact": "unit@example.org", "platform_account_id": ""}


def _portal(walk: Walk) -> None:
    """Instagram takes requests through its portal: a person files each notice there."""
    set_platform(walk.session, "portal", "https://help.instagram.example/report")
    walk.session.commit()


def _re_notice(walk: Walk) -> None:
    """The re-notice job's work: notice #2, ready for a person to file on the portal."""
    first = walk.session.exec(select(Notice).where(
        Notice.takedown_id == walk.world["takedown"], Notice.number == 1)).one()
    walk.session.add(Notice(takedown_id=first.takedown_id, number=2, channel="portal",
                            recipient=first.recipient, subject=first.subject, body=first.body,
                            pack_key=first.pack_key, pack_sha256=first.pack_sha256,
                            delivery="manual", sent_at=utcnow()))
    walk.session.commit()


def _move(action: str, **more: str) -> dict[str, str]:
    return {"action": action, "version": "{td_version}", **more}


ROWS = [
    Row("analyst", "POST", "/accounts/{account}/takedowns", "takedown.create", "takedown",
        one("takedown"), form={**DRAFT, "good_faith": "yes", "evidence_ids": ["{evidence}"]},
        before=_portal),
    *reads(
        Row("analyst", "GET", "/takedowns/{takedown}", "takedown.view", "takedown",
            one("takedown")),
        Row("analyst", "GET", "/api/v1/takedowns/{takedown}", "takedown.view", "takedown",
            one("takedown")),
        Row("analyst", "GET", "/takedowns/{takedown}/edit", "takedown.form_view", "account",
            one("account")),
    ),
    Row("analyst", "POST", "/takedowns/{takedown}/edit", "takedown.edit", "takedown",
        one("takedown"), form={**DRAFT, "reason": "Taunting a victim, twice",
                               "good_faith": "yes", "evidence_ids": ["{evidence}"],
                               "version": "{td_version}"}),
    Row("analyst", "PUT", "/api/v1/takedowns/{takedown}", "takedown.edit", "takedown",
        one("takedown"), json={**DRAFT, "good_faith": True, "evidence_ids": ["{evidence}"],
                               "version": "{td_version}"}),
    Row("analyst", "POST", "/takedowns/{takedown}/transition", "takedown.submit", "takedown",
        one("takedown"), form=_move("submit")),
    Row("supervisor", "POST", "/api/v1/takedowns/claim-next", "takedown.claim", "takedown",
        one("takedown"), json={}),
    Row("supervisor", "POST", "/takedowns/{takedown}/transition", "takedown.approve",
        "takedown", one("takedown"), form=_move("approve")),
    Row("supervisor", "POST", "/takedowns/{takedown}/transition", "takedown.send", "takedown",
        one("takedown"), form=_move("send")),
    Row("supervisor", "POST", "/takedowns/{takedown}/transition", "takedown.submitted",
        "takedown", one("takedown"), form=_move("submitted", reference="P-1")),
    Row("supervisor", "POST", "/takedowns/{takedown}/notices/2/submitted",
        "takedown.notice_submitted", "takedown", one("takedown"), form={"reference": "P-2"},
        before=_re_notice, details={"notice": 2, "reference": "P-2"}),
]


def test_a_takedown_through_its_pages_leaves_its_audit_rows(client, make_user,
                                                            estate, session):  # noqa: F811
    walk = Walk(client, make_user, estate, session)
    problems = walk.run(ROWS)
    assert problems == [], "\n".join(problems)
    # the steps were taken, not only recorded
    session.expire_all()
    filed = session.exec(select(Notice).where(Notice.takedown_id == walk.world["takedown"])
                         .order_by(Notice.number)).all()
    assert [(n.number, n.submission_reference) for n in filed] == [(1, "P-1"), (2, "P-2")]
