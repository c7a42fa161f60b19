"""Each personal-data read and each change, performed once through its route, leaves the audit
row it must: who, which action, which records, and the purpose where one is required.

One world is built through the product (a cell with a reference photo, an account whose image
matches it, the cell's occupants); the table is then walked in order, each row as its role,
and every row that left no such event, or a different one, is listed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, func, select

from app.accounts.models import Account, Attribution
from app.audit.models import AuditEvent
from app.auth.models import ApiKey, GrantProposal, User
from app.cellsearch.models import CellSearch
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.takedowns.models import Takedown
from app.takedowns.notice_text import DEFAULT_TEMPLATE
from tests.accounts.conftest import estate, submit, upload_reference  # noqa: F401  (estate: fixture)
from tests.conftest import PASSWORD, login, page_csrf
from tests.matching import scenes

PURPOSE = "Investigation 2026/301: Instagram account in cell A-1-014"
W = dict[str, Any]  # the world: ids by name


@dataclass(frozen=True)
class Row:
    role: str
    method: str
    path: str  # formatted with the world
    action: str
    object_type: str
    ids: Callable[[W], list[Any]]  # the object ids the event must list
    form: dict[str, Any] | None = None  # posted as a form (the CSRF token added)
    json: dict[str, Any] | None = None  # sent as JSON (the CSRF header added)
    files: tuple[tuple[str, bytes], ...] = ()  # uploaded as multipart, with `form` if any
    purpose: str = ""
    status: tuple[int, ...] = (200, 303)
    details: dict[str, Any] = field(default_factory=dict)  # must appear in the details


class Raw(str):
    """A value sent as it is (a notice template has braces of its own)."""


def one(key: str) -> Callable[[W], list[Any]]:
    return lambda w: [w[key]]


READS = [
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
    Row("auditor", "GET", "/audit/reads", "audit.read", "user", lambda w: w["readers"]),
    Row("supervisor", "GET", "/accounts/{account}/erase", "account.view", "account",
        one("account"), details={"page": "erase evidence"}),
]

SECOND_PHOTO = scenes.jpeg(scenes.room(74))  # another room: a new image, a new account
THIRD_PHOTO = scenes.jpeg(scenes.room(75))
LIBRARY_PHOTO = scenes.jpeg(scenes.room(76))

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
    Row("supervisor", "POST", "/takedowns/platforms/instagram", "platform.update", "platform",
        lambda w: ["instagram"], form={"channel": "portal", "renotice_hours": "48",
                                       "target_hours": "72", "template": Raw(DEFAULT_TEMPLATE),
                                       "address": "https://www.facebook.com/records"}),
    Row("supervisor", "POST", "/logout", "auth.logout", "user", one("supervisor"), form={}),
    Row("auditor", "POST", "/account/password", "user.password_change", "user",
        one("auditor"), form={"current": PASSWORD, "new": "another long passphrase 7",
                              "confirm": "another long passphrase 7"}),
]


def _build(client, make_user, estate, session) -> tuple[W, dict[str, User]]:  # noqa: F811
    users = {role: make_user(role) for role in ("analyst", "supervisor", "auditor", "admin")}
    users["other"] = make_user("analyst")
    rgb = scenes.room(73)
    login(client, users["supervisor"].username)
    upload_reference(client, estate["cell"], scenes.jpeg(rgb))
    login(client, users["analyst"].username)
    r = submit(client, "@coverage_walk", [scenes.repost(rgb)], platform="instagram",
               posted_at="2025-01-20T09:00")
    assert r.status_code in (200, 201), r.text
    body = r.json()
    image = body["images"][0]["image_id"]
    [candidate] = client.get(f"/api/v1/images/{image}/candidates").json()["candidates"]
    photo = session.exec(select(ReferencePhoto.id).where(
        ReferencePhoto.cell_id == estate["cell"].id)).one()
    world: W = {"image": image, "match": candidate["match_id"], "account": body["account"]["id"],
                "cell": estate["cell"].id, "photo": photo,
                **{k: estate[k].id for k in ("adams", "baker", "cole")},
                **{k: u.id for k, u in users.items()}}
    return world, users


def _late(world: W, session) -> None:
    """Ids that exist only once an earlier row has run."""
    session.expire_all()
    if world.get("attribution") is None:  # the first suggestion, once there is one
        world["attribution"] = session.exec(select(func.min(Attribution.id)).where(
            Attribution.account_id == world["account"],
            Attribution.status == "suggested")).one()

    world["version"] = session.get(Account, world["account"]).version
    world["new_establishment"] = session.exec(select(Establishment.id).where(
        Establishment.code == "HMP")).first()
    world["new_prisoner"] = session.exec(select(Prisoner.id).where(
        Prisoner.prison_number == "D4444DD")).first()
    world["new_key"] = session.exec(select(func.max(ApiKey.id))).one()
    world["new_user"] = session.exec(select(User.id).where(User.username == "newcomer")).first()
    world["readers"] = sorted({world["analyst"]})
    world["mdi"] = session.exec(select(Establishment.id).where(
        Establishment.code == "MDI")).one()
    world["new_cell"] = session.exec(select(Cell.id).where(Cell.label == "C-1-001")).first()
    world["new_stay"] = session.exec(select(func.max(Occupancy.id))).one()
    world.setdefault("baker_stay", session.exec(select(Occupancy.id).where(
        Occupancy.prisoner_id == world["baker"], col(Occupancy.ends_on).is_(None))).first())
    world["alias"] = session.exec(select(func.max(PrisonerAlias.id))).one()
    world["takedown"] = session.exec(select(func.max(Takedown.id))).one()
    world["td_version"] = (session.get(Takedown, world["takedown"]).version
                           if world["takedown"] else None)
    world["evidence"] = session.exec(select(EvidenceImage.id).where(
        EvidenceImage.account_id == world["account"])).first()
    for kind, about in (("create", None), ("reset", world["analyst"]),
                        ("role", world["other"])):
        query = select(GrantProposal).where(GrantProposal.kind == kind)
        if about is not None:
            query = query.where(GrantProposal.user_id == about)
        found = session.exec(query.order_by(col(GrantProposal.id).desc())).first()
        world[f"proposal_{kind}"] = found.id if found else None
        world[f"proposal_{kind}_version"] = found.version if found else None
    world["newest_image"] = session.exec(select(func.max(Image.id))).one()
    world["new_account"] = session.exec(select(Account.id).where(
        Account.handle == "coverage_two")).first()
    world["newest_photo"] = session.exec(select(func.max(ReferencePhoto.id))).one()
    world["search"] = session.exec(select(func.max(CellSearch.id))).one()
    world["search_version"] = (session.get(CellSearch, world["search"]).version
                               if world["search"] else None)


def _fill(value: Any, world: W) -> Any:
    """"{name}" alone stands for the world's value itself (a JSON number stays one)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") \
            and value[1:-1] in world:
        return world[value[1:-1]]
    return value.format(**world) if isinstance(value, str) else value


def _perform(client, row: Row, world: W):
    path = row.path.format(**world)
    if row.files:
        data = {k: _fill(v, world) for k, v in (row.form or {}).items()}
        return client.request(row.method, path, data=data,
                              files=[("files", (name, body, "image/jpeg"))
                                     for name, body in row.files],
                              headers={"X-CSRF-Token": page_csrf(client)},
                              follow_redirects=False)
    if row.form is not None:
        token = page_csrf(client)
        data = {k: _fill(v, world) for k, v in row.form.items()}
        return client.request(row.method, path, data={**data, "csrf_token": token},
                              follow_redirects=False)
    if row.json is not None:
        body = {k: _fill(v, world) for k, v in row.json.items()}
        return client.request(row.method, path, json=body,
                              headers={"X-CSRF-Token": page_csrf(client)},
                              follow_redirects=False)
    headers = {} if row.method == "GET" else {"X-CSRF-Token": page_csrf(client)}
    return client.request(row.method, path, headers=headers, follow_redirects=False)


def _walk(rows, client, make_user, estate, session) -> list[str]:  # noqa: F811
    world, users = _build(client, make_user, estate, session)
    problems, signed_in = [], None
    for row in rows:
        if signed_in != row.role:
            login(client, users[row.role].username)
            signed_in = row.role
        _late(world, session)
        before = session.exec(select(func.max(AuditEvent.id))).one() or 0
        response = _perform(client, row, world)
        label = f"{row.method} {row.path} as {row.role}"
        if response.status_code not in row.status:
            problems.append(f"{label}: answered {response.status_code} {response.text[:200]}")
            continue
        _late(world, session)
        events = session.exec(select(AuditEvent).where(
            col(AuditEvent.id) > before, col(AuditEvent.action) == row.action)).all()
        expected = [str(i) for i in row.ids(world)]
        matching = [e for e in events if e.actor_name == users[row.role].username
                    and e.object_type == row.object_type
                    and json.loads(e.object_ids) == expected
                    and e.purpose == row.purpose.format(**world)
                    and all(json.loads(e.details).get(k) == v for k, v in row.details.items())]
        if len(matching) != 1:
            seen = [(e.actor_name, e.object_type, e.object_ids, e.purpose) for e in events]
            problems.append(f"{label}: expected one {row.action} {row.object_type} {expected} "
                            f"purpose {row.purpose.format(**world)!r}; found {seen}")
    return problems


def test_every_personal_data_read_leaves_its_audit_row(client, make_user, estate,  # noqa: F811
                                                       session):
    problems = _walk(READS, client, make_user, estate, session)
    assert problems == [], "\n".join(problems)


def test_every_change_leaves_its_audit_row(client, make_user, estate, session):  # noqa: F811
    problems = _walk(CHANGES, client, make_user, estate, session)
    assert problems == [], "\n".join(problems)
    # the changes were made, not only recorded
    session.expire_all()
    other = session.exec(select(User).where(User.username != "newcomer", col(User.is_active)
                                            .is_(False))).one()
    assert other.role == "supervisor"
    assert session.exec(select(Cell).where(Cell.label == "A-1-014")).one().capacity == 3
