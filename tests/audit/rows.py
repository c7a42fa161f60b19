"""The machinery the audit tables share: a world built through the product, one signed-in
browser per role, each row performed once through the real app and the event it must leave
checked (who, which action, which records, the purpose where one is required).

The tables themselves live in tests/audit/test_audit_<domain>.py; each row names its route by
method and path, so tests/audit/test_audit_completeness.py can tell which routes have one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.accounts.models import Account, Attribution
from app.audit.models import AuditEvent
from app.auth.models import ApiKey, GrantProposal, User
from app.cellsearch.models import CellSearch
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.matching.models import Match
from app.takedowns.models import Takedown
from tests.accounts.conftest import submit, upload_reference
from tests.conftest import csrf_from, login, login_csrf, page_csrf
from tests.matching import scenes
from tests.support.securitykey import SoftKey, register_key

PURPOSE = "Investigation 2026/301: Instagram account in cell A-1-014"
ROOM = scenes.room(73)  # the photo of cell A-1-014 every world starts from
W = dict[str, Any]  # the world: ids by name
ANONYMOUS = "anonymous"  # a browser nobody has signed in to


@dataclass(frozen=True)
class Row:
    role: str  # who performs it; ANONYMOUS: a browser with no one signed in
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
    actor: str = ""  # the event's actor when not the role's user: a world key or ANONYMOUS
    token: str = "page"  # which form's CSRF token: page, login, code or enrol
    before: Callable[[Walk], None] | None = None  # a precondition no route makes
    read: bool = False  # a read of personal data, not a change


def reads(*rows: Row) -> list[Row]:
    return [replace(r, read=True) for r in rows]


class Raw(str):
    """A value sent as it is (a notice template has braces of its own)."""


def one(key: str) -> Callable[[W], list[Any]]:
    return lambda w: [w[key]]


class Walk:
    """One world and a browser per role; `run` performs rows in order."""

    def __init__(self, client: TestClient, make_user: Callable[..., User], estate: dict[str, Any],
                 session: Session, late: Callable[[Walk], None] | None = None) -> None:
        self.app, self.session, self.extra_late = client.app, session, late
        self.clients: dict[str, TestClient] = {ANONYMOUS: TestClient(
            client.app, raise_server_exceptions=False)}
        self.signed_in: set[str] = set()
        self.users = {role: make_user(role) for role in ("analyst", "supervisor", "auditor",
                                                          "admin")}
        self.users["other"] = make_user("analyst")
        self.world: W = {"cell": estate["cell"].id,
                         **{k: estate[k].id for k in ("adams", "baker", "cole")},
                         **{k: u.id for k, u in self.users.items()},
                         **{f"{k}_name": u.username for k, u in self.users.items()}}
        self._start(estate)

    def browser(self, role: str) -> TestClient:
        """The role's own browser (its own cookies), signed in on first use."""
        if role not in self.clients:
            self.clients[role] = TestClient(self.app, raise_server_exceptions=False)
        if role != ANONYMOUS and role not in self.signed_in:
            login(self.clients[role], self.users[role].username)
            self.signed_in.add(role)
        return self.clients[role]

    def _start(self, estate: dict[str, Any]) -> None:
        """A reference photo of cell A-1-014 and an account whose image is a re-post of it."""
        upload_reference(self.browser("supervisor"), estate["cell"], scenes.jpeg(ROOM))
        analyst = self.browser("analyst")
        r = submit(analyst, "@coverage_walk", [scenes.repost(ROOM)], platform="instagram",
                   posted_at="2025-01-20T09:00")
        assert r.status_code in (200, 201), r.text
        body = r.json()
        image = body["images"][0]["image_id"]
        [candidate] = analyst.get(f"/api/v1/images/{image}/candidates").json()["candidates"]
        self.world.update(image=image, match=candidate["match_id"], account=body["account"]["id"],
                          photo=self.session.exec(select(ReferencePhoto.id).where(
                              ReferencePhoto.cell_id == estate["cell"].id)).one(),
                          # its registration's row: tests/auth/test_security_keys.py
                          security_key=register_key(analyst, SoftKey()))

    def match_with_reference(self, image_id: int | None) -> int | None:
        """The match of an evidence image with the reference photo of cell A-1-014."""
        if image_id is None:
            return None
        reference = self.session.exec(select(ReferencePhoto.image_id).where(
            ReferencePhoto.id == self.world["photo"])).one()
        return self.session.exec(select(Match.id).where(
            Match.query_image_id == image_id, Match.candidate_image_id == reference)).first()

    def run(self, rows: list[Row]) -> list[str]:
        """Each row in order; what went wrong with each, if anything."""
        return [problem for problem in map(self._one, rows) if problem]

    def _one(self, row: Row) -> str:
        self.late()
        if row.before is not None:
            row.before(self)
            self.late()
        client = self.browser(row.role)  # after `before`: it may give the role a new browser
        before = self.session.exec(select(func.max(AuditEvent.id))).one() or 0
        response = self._perform(client, row)
        label = f"{row.method} {row.path} as {row.role}"
        if row.path == "/logout":
            self.signed_in.discard(row.role)
        if response.status_code not in row.status:
            return f"{label}: answered {response.status_code} {response.text[:300]}"
        self.late()
        events = self.session.exec(select(AuditEvent).where(
            col(AuditEvent.id) > before, col(AuditEvent.action) == row.action)).all()
        expected = [str(i) for i in row.ids(self.world)]
        actor = self._actor(row)
        purpose = row.purpose.format(**self.world)
        matching = [e for e in events if e.actor_name == actor
                    and e.object_type == row.object_type
                    and json.loads(e.object_ids) == expected
                    and e.purpose == purpose
                    and all(json.loads(e.details).get(k) == v for k, v in row.details.items())]
        if len(matching) == 1:
            return ""
        seen = [(e.actor_name, e.object_type, e.object_ids, e.purpose) for e in events]
        return (f"{label}: expected one {row.action} by {actor} on {row.object_type} {expected} "
                f"purpose {purpose!r}; found {seen}")

    def _actor(self, row: Row) -> str:
        if row.actor == ANONYMOUS:
            return ANONYMOUS
        if row.actor:
            return self.world[f"{row.actor}_name"]
        return self.users[row.role].username

    def _token(self, client: TestClient, kind: str) -> tuple[str, str]:
        """(field, value) of the CSRF token the form carries."""
        if kind == "login":
            return "csrf_token", login_csrf(client)
        if kind == "code":
            return "csrf_token", csrf_from(client.get("/login/code").text)
        if kind == "enrol":
            page = client.get("/enrol").text
            found = re.search(r'name="enrol_csrf" value="([^"]+)"', page)
            assert found, "the enrolment page has no form token"
            return "enrol_csrf", found.group(1)
        return "csrf_token", page_csrf(client)

    def _perform(self, client: TestClient, row: Row):  # noqa: ANN202
        path = row.path.format(**self.world)
        if row.files:
            data = {k: self.fill(v) for k, v in (row.form or {}).items()}
            return client.request(row.method, path, data=data,
                                  files=[("files", (name, body, "image/jpeg"))
                                         for name, body in row.files],
                                  headers={"X-CSRF-Token": page_csrf(client)},
                                  follow_redirects=False)
        if row.form is not None:
            name, token = self._token(client, row.token)
            data = {k: self.fill(v) for k, v in row.form.items()}
            return client.request(row.method, path, data={**data, name: token},
                                  follow_redirects=False)
        if row.json is not None:
            body = {k: self.fill(v) for k, v in row.json.items()}
            return client.request(row.method, path, json=body,
                                  headers={"X-CSRF-Token": self._token(client, row.token)[1]},
                                  follow_redirects=False)
        headers = {} if row.method == "GET" else {"X-CSRF-Token": page_csrf(client)}
        return client.request(row.method, path, headers=headers, follow_redirects=False)

    def fill(self, value: Any) -> Any:
        """"{name}" alone stands for the world's value itself (a JSON number stays one); a
        callable is asked at the moment the row is performed (a code of the authenticator)."""
        world = self.world
        if callable(value):
            return value(self)
        if isinstance(value, Raw):
            return str(value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("{") and value.endswith("}") \
                and value[1:-1] in world:
            return world[value[1:-1]]
        return value.format(**world) if isinstance(value, str) else value

    def late(self) -> None:
        """Ids that exist only once an earlier row has run."""
        session, world = self.session, self.world
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
        world["new_user"] = session.exec(select(User.id).where(
            User.username == "newcomer")).first()
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
        world["new_account"] = account_id(session, "coverage_two")
        world["newest_photo"] = session.exec(select(func.max(ReferencePhoto.id))).one()
        world["search"] = session.exec(select(func.max(CellSearch.id))).one()
        world["search_version"] = (session.get(CellSearch, world["search"]).version
                                   if world["search"] else None)
        if self.extra_late is not None:
            self.extra_late(self)


def account_id(session: Session, handle: str) -> int | None:
    return session.exec(select(Account.id).where(Account.handle == handle)).first()
