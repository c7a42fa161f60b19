"""Each personal-data read and each change, performed once through its route, leaves the audit
row it must: who, which action, which records, and the purpose where one is required.

One world is built through the product (a cell with a reference photo, an account whose image
matches it, the cell's occupants); the table is then walked in order, each row as its role,
and every row that left no such event, or a different one, is listed. The rows of other
domains are in tests/audit/test_audit_<domain>.py, the machinery in tests/audit/rows.py.
"""

from __future__ import annotations

from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.estate.models import Cell
from app.takedowns.notice_text import DEFAULT_TEMPLATE
from tests.accounts.conftest import estate, submit  # noqa: F401  (estate: a fixture)
from tests.audit.rows import PURPOSE, Raw, Row, Walk, one, reads
from tests.conftest import PASSWORD
from tests.matching import scenes

READS = reads(
    Row("analyst", "GET", "/images/{image}/display", "evidence.image.displayed", "image",
        one("image")),
    Row("analyst", "GET", "/images/{image}", "evidence.image.viewed", "image", one("image")),
    Row("analyst", "GET", "/images/{image}/candidates", "evidence.candidates.viewed", "image",
        one("image")),
    Row("analyst", "GET", "/api/v1/images/{image}/candidates", "evidence.image.viewed",
        "image", one("image")),
    Row("analyst", "GET", "/api/v1/images/{image}", "evidence.image.viewed", "image",
        one("image")),
    Row("analyst", "GET", "/review", "match.queue.viewed", "match", one("match")),
    Row("analyst", "GET", "/matches/{match}", "match.compared", "match", one("match")),
    Row("analyst", "GET", "/matches/{match}/compare", "match.compared", "match", one("match")),
    Row("analyst", "GET", "/accounts/{account}", "account.view", "account", one("account")),
    Row("analyst", "GET", "/api/v1/accounts/{account}", "account.view", "account",
        one("account")),
    Row("analyst", "GET", "/accounts/{account}/takedowns/new", "takedown.form_view",
        "account", one("account")),
    Row("analyst", "GET", "/estate/prisoners/A1111AA", "estate.read", "prisoner",
        one("adams")),
    Row("analyst", "GET", "/api/v1/estate/prisoners/A1111AA", "estate.read", "prisoner",
        one("adams")),
    Row("analyst", "GET", "/api/v1/estate/prisoners/A1111AA/stays", "estate.read",
        "prisoner", one("adams")),
    Row("analyst", "GET", "/estate/MDI/cells/A-1-014", "estate.read", "prisoner",
        lambda w: sorted([w["adams"], w["baker"], w["cole"]])),
    Row("analyst", "GET", "/api/v1/estate/establishments/MDI/cells/A-1-014/occupancy",
        "estate.read", "prisoner", lambda w: sorted([w["adams"], w["baker"], w["cole"]])),
    Row("analyst", "GET", "/estate/cells/{cell}/photos", "library.photos.viewed",
        "reference_photo", one("photo")),
    Row("analyst", "GET", "/api/v1/cells/{cell}/photos", "library.photos.viewed",
        "reference_photo", one("photo")),
    Row("analyst", "POST", "/search", "prisoner.search", "prisoner", one("adams"),
        form={"prison_number": "A1111AA"}),
    Row("analyst", "POST", "/api/v1/prisoners/search", "prisoner.search", "prisoner",
        one("adams"), json={"prison_number": "A1111AA"}),
    Row("analyst", "POST", "/search/prisoners/A1111AA", "prisoner.dossier", "prisoner",
        one("adams"), form={"purpose": PURPOSE}, purpose=PURPOSE),
    Row("analyst", "POST", "/api/v1/prisoners/A1111AA/dossier", "prisoner.dossier",
        "prisoner", one("adams"), json={"purpose": PURPOSE}, purpose=PURPOSE),
    Row("analyst", "POST", "/search/prisoners/A1111AA/reveal-dob", "prisoner.reveal_dob",
        "prisoner", one("adams"), form={"purpose": PURPOSE}, purpose=PURPOSE),
    Row("analyst", "POST", "/api/v1/prisoners/A1111AA/reveal-dob", "prisoner.reveal_dob",
        "prisoner", one("adams"), json={"purpose": PURPOSE}, purpose=PURPOSE),
    Row("auditor", "GET", "/audit/reads", "audit.read", "user", lambda w: w["readers"]),
    # reading the log is itself a read: the event lists the events shown
    Row("auditor", "GET", "/audit?action=prisoner.search", "audit.read", "audit_event",
        lambda w: w["search_events"], details={"action": "prisoner.search"}),
    Row("auditor", "GET", "/api/v1/audit?action=prisoner.search", "audit.read",
        "audit_event", lambda w: w["search_events"], details={"action": "prisoner.search"}),
    Row("auditor", "GET", "/reports/platforms.csv", "report.export", "report",
        lambda w: ["platforms"]),
    Row("supervisor", "GET", "/accounts/{account}/erase", "account.view", "account",
        one("account"), details={"page": "erase evidence"}),
)


def _searches_logged(walk: Walk) -> None:
    """The searches' own events, newest first, as the log shows them."""
    walk.world["search_events"] = list(walk.session.exec(
        select(AuditEvent.id).where(AuditEvent.action == "prisoner.search")
        .order_by(col(AuditEvent.id).desc())).all())


def _account_to_erase(walk: Walk) -> None:
    """An account of its own with one image, for the erasure page to erase."""
    r = submit(walk.browser("analyst"), "@coverage_erase", [ERASE_PHOTO], platform="instagram")
    assert r.status_code in (200, 201), r.text
    walk.world["erase_account"] = r.json()["account"]["id"]


SECOND_PHOTO = scenes.jpeg(scenes.room(74))  # another room: a new image, a new account
THIRD_PHOTO = scenes.jpeg(scenes.room(75))
LIBRARY_PHOTO = scenes.jpeg(scenes.room(76))
ERASE_PHOTO = scenes.jpeg(scenes.room(77))

CHANGES = [
    Row("analyst", "POST", "/api/v1/images", "evidence.image.stored", "image",
        lambda w: [w["newest_image"]], files=(("walk-2.jpg", SECOND_PHOTO),), status=(201,)),
    Row("analyst", "POST", "/api/v1/accounts", "account.intake", "account",
        lambda w: [w["new_account"]], files=(("walk-3.jpg", THIRD_PHOTO),),
        form={"account": "@coverage_two", "platform": "instagram"}, status=(201,)),
    Row("supervisor", "POST", "/api/v1/cells/{cell}/photos", "library.photo.added",
        "reference_photo", lambda w: [w["newest_photo"]],
        files=(("library.jpg", LIBRARY_PHOTO),), status=(201,)),
    Row("supervisor", "DELETE", "/api/v1/cells/{cell}/photos/{newest_photo}?reason=Wrong+cell",
        "library.photo.removed", "reference_photo", one("newest_photo"), purpose="Wrong cell"),
    Row("analyst", "POST", "/api/v1/matches/{match}/confirm", "match.confirm", "match",
        one("match"), json={}),
    Row("analyst", "POST", "/attributions/{attribution}/confirm", "attribution.confirm",
        "attribution", one("attribution"), form={}),
    Row("analyst", "POST", "/api/v1/searches", "cell_search.request", "cell_search",
        lambda w: [w["search"]], json={"attribution_id": "{attribution}",
                                       "reason": "Photos of this cell on Instagram"},
        status=(201,)),
    Row("analyst", "POST", "/api/v1/searches/{search}/acknowledge", "cell_search.acknowledge",
        "cell_search", one("search"), json={"version": "{search_version}"}),
    Row("analyst", "POST", "/api/v1/searches/{search}/complete", "cell_search.complete",
        "cell_search", one("search"),
        json={"version": "{search_version}", "items": {"phones": 2}}),
    Row("analyst", "POST", "/api/v1/takedowns", "takedown.create", "takedown",
        lambda w: [w["takedown"]],
        json={"account_id": "{account}", "evidence_ids": ["{evidence}"],
              "reason": "Taunting a victim from inside a cell",
              "legal_basis": "Malicious Communications Act 1988, s.1",
              "contact": "unit@example.org", "good_faith": True}, status=(200, 201)),
    Row("analyst", "POST", "/api/v1/takedowns/{takedown}/transitions", "takedown.submit",
        "takedown", one("takedown"), json={"action": "submit", "version": "{td_version}"}),
    Row("analyst", "POST", "/accounts/{account}/status", "account.status", "account",
        one("account"), form={"status": "under_review", "version": "{version}"}),
    Row("supervisor", "POST", "/accounts/{account}/assign", "account.assign", "account",
        one("account"), form={"assignee_id": "{analyst}"}),
    Row("supervisor", "POST", "/estate", "estate.establishment.create", "establishment",
        lambda w: [w["new_establishment"]], form={"code": "HMP", "name": "Highpoint"}),
    Row("supervisor", "POST", "/estate/prisoners/A1111AA/aliases", "estate.alias.create",
        "prisoner", one("adams"), form={"alias_surname": "Adamson",
                                        "alias_forenames": "Al"}),
    Row("supervisor", "POST", "/api/v1/estate/prisoners", "estate.prisoner.create",
        "prisoner", lambda w: [w["new_prisoner"]],
        json={"prison_number": "D4444DD", "surname": "Dean", "forenames": "Dee",
              "date_of_birth": "1991-02-03"}, status=(200, 201)),
    Row("analyst", "POST", "/account/keys", "apikey.create", "api_key",
        lambda w: [w["new_key"]], form={"name": "laptop", "days": "7"}),
    Row("analyst", "POST", "/account/keys/{new_key}/revoke", "apikey.revoke", "api_key",
        lambda w: [w["new_key"]], form={}),
    Row("analyst", "POST", "/account/factor/keys/{security_key}/remove",
        "user.security_key_remove", "security_key", one("security_key"), form={}),
    # two people for every grant: an admin proposes, a supervisor approves (or rejects)
    Row("admin", "POST", "/admin/users", "grant.propose", "grant_proposal",
        one("proposal_create"), form={"username": "newcomer", "role": "analyst"}),
    Row("supervisor", "POST", "/grants/{proposal_create}/approve", "user.create", "user",
        lambda w: [w["new_user"]], form={"version": "{proposal_create_version}"}),
    Row("admin", "POST", "/admin/users/{analyst}/reset", "grant.propose", "grant_proposal",
        one("proposal_reset"), form={}),
    Row("supervisor", "POST", "/grants/{proposal_reset}/reject", "grant.reject",
        "grant_proposal", one("proposal_reset"), form={"version": "{proposal_reset_version}"}),
    Row("admin", "POST", "/admin/users/{other}/role", "grant.propose", "grant_proposal",
        one("proposal_role"), form={"role": "supervisor"}),
    Row("supervisor", "POST", "/grants/{proposal_role}/approve", "user.set_role", "user",
        one("other"), form={"version": "{proposal_role_version}"},
        details={"from": "analyst", "to": "supervisor"}),
    Row("admin", "POST", "/admin/users/{other}/active", "user.disable", "user", one("other"),
        form={"active": "false"}),
    Row("supervisor", "POST", "/takedowns/claim-next", "takedown.claim", "takedown",
        one("takedown"), form={}),
    Row("supervisor", "POST", "/takedowns/{takedown}/release", "takedown.release", "takedown",
        one("takedown"), form={}),
    Row("supervisor", "POST", "/api/v1/takedowns/{takedown}/transitions", "takedown.approve",
        "takedown", one("takedown"), json={"action": "approve", "version": "{td_version}"}),
    Row("supervisor", "POST", "/api/v1/takedowns/{takedown}/transitions", "takedown.send",
        "takedown", one("takedown"), json={"action": "send", "version": "{td_version}"}),
    Row("supervisor", "GET", "/takedowns/{takedown}/notices/1/pack", "takedown.disclosure",
        "takedown", one("takedown"), purpose="takedown request TD-{takedown} to instagram",
        details={"via": "pack download"}),
    Row("supervisor", "GET", "/takedowns/{takedown}/notices/1.eml", "takedown.disclosure",
        "takedown", one("takedown"), purpose="takedown request TD-{takedown} to instagram",
        details={"via": "eml download"}),
    Row("supervisor", "POST", "/api/v1/takedowns/{takedown}/transitions", "takedown.withdraw",
        "takedown", one("takedown"),
        json={"action": "withdraw", "version": "{td_version}", "note": "No longer needed"}),
    Row("supervisor", "POST", "/estate/MDI", "estate.establishment.update", "establishment",
        one("mdi"), form={"name": "Moorland (renamed)"}),
    Row("supervisor", "POST", "/estate/MDI/cells", "estate.cell.create", "cell",
        lambda w: [w["new_cell"]], form={"label": "C-1-001", "capacity": "1"}),
    Row("supervisor", "POST", "/estate/MDI/cells/A-1-014", "estate.cell.update", "cell",
        one("cell"), form={"capacity": "3"}),
    Row("supervisor", "POST", "/estate/prisoners/B2222BB", "estate.prisoner.update",
        "prisoner", one("baker"), form={"surname": "Baker", "forenames": "Test Two",
                                        "date_of_birth": "1990-01-01"}),
    Row("supervisor", "POST", "/estate/prisoners/B2222BB/stays/{baker_stay}/close",
        "estate.occupancy.close", "occupancy", one("baker_stay"),
        form={"ends_on": "2025-06-01"}),
    Row("supervisor", "POST", "/estate/prisoners/C3333CC/stays", "estate.occupancy.create",
        "occupancy", lambda w: [w["new_stay"]],
        form={"establishment_code": "MDI", "cell_label": "B-2-001", "starts_on": "2024-01-01",
              "ends_on": "2024-02-01"}),
    Row("supervisor", "POST", "/estate/prisoners/C3333CC/move", "estate.occupancy.move",
        "occupancy", lambda w: [w["new_stay"]],
        form={"establishment_code": "MDI", "cell_label": "C-1-001", "on": "2025-07-01"}),
    Row("supervisor", "POST", "/estate/prisoners/A1111AA/aliases/{alias}/delete",
        "estate.alias.delete", "prisoner", one("adams"), form={}),
    Row("supervisor", "POST", "/estate/cells/{cell}/photos/{photo}/remove",
        "library.photo.removed", "reference_photo", one("photo"),
        form={"reason": "Not this cell after all"}, purpose="Not this cell after all"),
    Row("supervisor", "DELETE", "/api/v1/images/{image}", "evidence.image.withdrawn", "image",
        one("image"), json={"reason": "Posted by someone else after all"},
        purpose="Posted by someone else after all"),
    Row("supervisor", "DELETE", "/api/v1/accounts/{new_account}/evidence", "evidence.erased",
        "account", one("new_account"), json={"reason": "Court order: erase this evidence now"},
        purpose="Court order: erase this evidence now"),
    Row("supervisor", "POST", "/accounts/{erase_account}/erase", "evidence.erased", "account",
        one("erase_account"), form={"reason": "Court order: erase this account's evidence",
                                    "confirm": "yes"},
        purpose="Court order: erase this account's evidence", before=_account_to_erase),
    Row("supervisor", "POST", "/takedowns/platforms/instagram", "platform.update", "platform",
        lambda w: ["instagram"], form={"channel": "portal", "renotice_hours": "48",
                                       "target_hours": "72", "template": Raw(DEFAULT_TEMPLATE),
                                       "address": "https://www.facebook.com/records"}),
    Row("supervisor", "POST", "/logout", "auth.logout", "user", one("supervisor"), form={}),
    Row("auditor", "POST", "/account/password", "user.password_change", "user",
        one("auditor"), form={"current": PASSWORD, "new": "another long passphrase 7",
                              "confirm": "another long passphrase 7"}),
]


def test_every_personal_data_read_leaves_its_audit_row(client, make_user, estate,  # noqa: F811
                                                       session):
    problems = Walk(client, make_user, estate, session, late=_searches_logged).run(READS)
    assert problems == [], "\n".join(problems)


def test_every_change_leaves_its_audit_row(client, make_user, estate, session):  # noqa: F811
    problems = Walk(client, make_user, estate, session).run(CHANGES)
    assert problems == [], "\n".join(problems)
    # the changes were made, not only recorded
    session.expire_all()
    other = session.exec(select(User).where(User.username != "newcomer", col(User.is_active)
                                            .is_(False))).one()
    assert other.role == "supervisor"
    assert session.exec(select(Cell).where(Cell.label == "A-1-014")).one().capacity == 3
