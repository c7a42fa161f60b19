"""`cellwatch demo`: a fictional estate, its cell photos and ~40 suspect accounts, put into an
empty database through the product's own services (estate import, reference photos, intake,
both matching stages, decisions, takedowns, cell searches), each audited as it would be.

All of it is one transaction: the match index reads through the same connection, so that it
sees the photos just added, and a build that fails leaves nothing behind.
"""

from __future__ import annotations

import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from itertools import chain
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.accounts.handles import parse_account
from app.accounts.intake import take_in
from app.accounts.models import Account
from app.accounts.platforms import Platform
from app.audit.service import Actor, record
from app.auth import users as user_service
from app.auth.models import User
from app.auth.permissions import Role
from app.db import unit_of_work
from app.demo import acts, history, marker
from app.demo.edits import unrelated
from app.demo.estate import Estate, make_estate, write_extract
from app.demo.photos import Job, StoryCell, copy_of, preparer
from app.demo.stories import CELL_STORIES, STORIES, Story
from app.errors import AppError
from app.estate.importing.run import import_folder
from app.estate.models import Cell, Establishment, Prisoner
from app.evidence import images
from app.evidence.intake import SubmittedFile
from app.evidence.models import Image
from app.evidence.reference import add_reference_from_image
from app.matching.engine import Limits, MatchEngine
from app.matching.queue import Policy
from app.matching.worker import drain
from app.settings import Settings

Factory = Callable[[], Session]
ROLES = (Role.analyst, Role.supervisor, Role.auditor, Role.admin)


class DemoRefused(Exception):
    """The demo cannot be built here; the message says why and what to do instead."""


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    password: str  # one-time: changed at first sign-in


@dataclass
class Built:
    users: list[DemoUser] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)  # stories whose match did not appear
    seconds: float = 0.0


def refuse_reasons(session: Session) -> list[str]:
    """What the database holds already that the demo must not be mixed with."""
    held = []
    for model, what in ((Establishment, "establishments"), (Prisoner, "prisoners"),
                        (Account, "accounts"), (Image, "images")):
        n = session.exec(select(func.count()).select_from(model)).one()
        if n:
            held.append(f"{n} {what}")
    return held


@contextmanager
def _one_transaction(engine: Engine) -> Iterator[Factory]:
    """Sessions that all work inside one outer transaction on one connection, committed at
    the end (each unit of work inside it is a savepoint)."""
    with engine.connect() as conn:
        outer = conn.begin()
        if engine.dialect.name == "sqlite":  # pysqlite starts none until the first write
            conn.exec_driver_sql("BEGIN")
        try:
            yield lambda: Session(bind=conn, join_transaction_mode="create_savepoint",
                                  expire_on_commit=False)
        except BaseException:
            outer.rollback()
            raise
        outer.commit()


def build_demo(engine: Engine, settings: Settings, *, seed: int = 1, today: date | None = None,
               cells_per_landing: int = 17, workers: int = 2,
               say: Callable[[str], None] = print) -> Built:
    """Build the demo into an empty database; DemoRefused when it is not empty. `workers`:
    processes that prepare the reference photos."""
    if settings.is_production:
        raise DemoRefused("The demo estate is fictional data; this is production "
                          "(CELLWATCH_ENVIRONMENT=production), which refuses it.")
    started = time.monotonic()
    today = today or date.today()
    built = Built()
    with _one_transaction(engine) as factory:
        with unit_of_work(factory) as session:
            if held := refuse_reasons(session):
                raise DemoRefused(
                    f"This database already holds {', '.join(held)}: the demo goes only into "
                    "an empty database, never beside real records. Nothing was changed. For a "
                    "demo, use a new data folder: CELLWATCH_DATA_DIR=demo-data cellwatch "
                    "migrate, then the same with cellwatch demo.")
            users = _users(session, built)
        crew = Crew(users, settings)
        estate = make_estate(seed, today, cells_per_landing)
        _load_estate(factory, crew, estate, say)
        chosen = choose_story_cells(estate, seed)
        rooms = _reference_photos(factory, crew, estate, chosen, seed, workers, say)
        index = MatchEngine(Limits.of(settings), sessions=factory, descriptors=True)
        t = time.monotonic()
        say(f"  taking in {len(STORIES)} suspect accounts and matching their images...")
        posted: dict[str, bytes] = {}
        accounts = _take_in(factory, crew, index, [s for s in STORIES if not s.after], rooms,
                            today, posted)
        drain(factory, index, settings=settings, policy=Policy.of(settings))
        say(f"  accounts: {len(accounts)} taken in, both matching stages run "
            f"({time.monotonic() - t:.1f} s); {len(STORIES) - len(accounts)} more (re-emerged) "
            "after the takedowns")
        t = time.monotonic()
        acts.work_through(factory, crew, accounts, chosen, today, built)
        later = [s for s in STORIES if s.after]
        accounts.update(_take_in(factory, crew, index, later, rooms, today, posted))
        drain(factory, index, settings=settings, policy=Policy.of(settings))
        acts.work_through(factory, crew, {s.handle: accounts[s.handle] for s in later},
                          chosen, today, built)
        with unit_of_work(factory) as session:
            history.backdate(session, accounts, today, datetime.now(UTC))
        say(f"  decisions, takedowns, cell searches ({time.monotonic() - t:.1f} s)")
        with unit_of_work(factory) as session:
            built.counts = {"establishments": 3, "cells": len(estate.cells),
                            "prisoners": len(estate.prisoners), "stays": len(estate.stays),
                            "accounts": len(accounts)}
            record(session, crew.actor(Role.supervisor), marker.BUILT, object_type="demo",
                   details={"seed": seed, "today": today.isoformat(), **built.counts})
    built.seconds = time.monotonic() - started
    return built


def _users(session: Session, built: Built) -> dict[Role, User]:
    """One demo user per role; a name already taken gets a `demo-` prefix, and an existing
    administrator is left as the only one."""
    out: dict[Role, User] = {}
    for role in ROLES:
        if role is Role.admin and session.exec(select(User).where(User.role == role.value)
                                               ).first():
            continue
        name = role.value if user_service.find_user(session, role.value) is None \
            else f"demo-{role.value}"
        user, secret = user_service.create_user(
            session, Actor(user_id=None, name="cli:demo", client_addr="local"), username=name,
            role=role.value, display_name=f"Demo {role.value}")
        out[role] = user
        built.users.append(DemoUser(user.username, role.value, secret))
    return out


class Crew:
    """The demo users acting, as a request from each of them would."""

    def __init__(self, users: dict[Role, User], settings: Settings) -> None:
        self.users, self.settings = users, settings

    def actor(self, role: Role) -> Actor:
        user = self.users[role]
        return Actor(user_id=user.id, name=user.username, client_addr="demo")


def _load_estate(factory: Factory, crew: Crew, estate: Estate,
                 say: Callable[[str], None]) -> None:
    t = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cellwatch-demo-") as folder:
        write_extract(estate, Path(folder))
        with unit_of_work(factory) as session:
            import_folder(session, crew.actor(Role.supervisor), Path(folder),
                          today=estate.today)
    say(f"  estate: 3 establishments, {len(estate.cells)} cells, {len(estate.prisoners)} "
        f"prisoners, {len(estate.stays)} stays ({time.monotonic() - t:.1f} s)")


def choose_story_cells(estate: Estate, seed: int) -> dict[int, tuple[str, str]]:
    """A cell for each story room, occupied on its accounts' posting day (a double cell with
    two occupants for a story that needs one), spread over the three establishments."""
    first_use: dict[int, Story] = {}
    for story in STORIES:
        for cell, _ in story.shots:
            if cell >= 0:
                first_use.setdefault(cell, story)
    rng = np.random.default_rng(seed)
    order = [estate.cells[i] for i in rng.permutation(len(estate.cells))]
    by_code = [[c for c in order if c[0] == code] for code in sorted({c[0] for c in order})]
    chosen: dict[int, tuple[str, str]] = {}
    for n in range(CELL_STORIES):
        story = first_use[n]
        day = estate.today - timedelta(days=story.days_ago)
        for code, label, capacity in by_code[n % len(by_code)]:
            if (code, label) in chosen.values():
                continue
            occupants = estate.occupants((code, label), day)
            if (len(occupants) == 2 if story.shared else capacity == 1 and occupants):
                chosen[n] = (code, label)
                break
        else:
            raise RuntimeError(f"no cell fits story room {n}")  # the estate is too small
    return chosen


def _reference_photos(factory: Factory, crew: Crew, estate: Estate,
                      chosen: dict[int, tuple[str, str]], seed: int, workers: int,
                      say: Callable[[str], None]) -> dict[int, StoryCell]:
    """A staff photo of every cell, stored and added to its cell's library as
    evidence/reference.add_reference_photo does (its slow part done on `workers` processes
    while this one renders the story rooms and stores); the first story's cell gets a second
    photo, from by the door."""
    t = time.monotonic()
    say(f"  drawing and analysing a photo of each of the {len(estate.cells)} cells "
        f"({workers} process{'es' if workers > 1 else ''}; the longest step)...")
    story_of = {cell: n for n, cell in chosen.items()}
    drawn_cells = [(code, label) for code, label, _ in estate.cells
                   if (code, label) not in story_of]
    sketches: list[Job] = [(f"{code}-{label}.jpg", seed * 100_000 + i)
                           for i, (code, label) in enumerate(drawn_cells)]
    actor = crew.actor(Role.supervisor)
    taken = datetime.combine(estate.today - timedelta(days=400), clock(10), tzinfo=UTC)
    with preparer(crew.settings, workers) as prepare, unit_of_work(factory) as session:
        drawn = prepare(sketches)  # the workers start on the sketches...
        rooms = {n: StoryCell(seed * 10_000 + n) for n in chosen}  # ...while this renders
        stories: list[Job] = [(f"{code}-{label}.jpg", rooms[n].reference)
                              for n, (code, label) in chosen.items()]
        stories.append((f"{chosen[0][0]}-{chosen[0][1]}-door.jpg",
                        rooms[0].another_viewpoint(99)))
        rendered = prepare(stories)
        ids = {(code, label): cell_id for cell_id, label, code in session.exec(
            select(Cell.id, Cell.label, Establishment.code).join(
                Establishment, Establishment.id == Cell.establishment_id)).all()}
        targets = [*drawn_cells, *chosen.values(), chosen[0]]
        for target, ready in zip(targets, chain(drawn, rendered), strict=True):
            image, _ = images.store(session, crew.settings, actor, ready)
            add_reference_from_image(session, crew.settings, actor, cell_id=ids[target],
                                     image_id=image.id or 0, source="staff", taken_on=taken)
    say(f"  reference photos: {len(sketches) + len(stories)}, {len(rooms)} of them rendered "
        f"rooms ({time.monotonic() - t:.1f} s)")
    return rooms


def _take_in(factory: Factory, crew: Crew, index: MatchEngine, stories: list[Story],
             rooms: dict[int, StoryCell], today: date, first_image: dict[str, bytes]
             ) -> dict[str, int]:
    """Each story's account and images through the intake path; handle -> account id.
    `first_image`: each account's first image so far (a "copy" story re-posts one)."""
    done: dict[str, int] = {}
    actor = crew.actor(Role.analyst)
    for n, story in enumerate(stories):
        posted = datetime.combine(today - timedelta(days=story.days_ago), clock(19, 40 + n % 20),
                                  tzinfo=UTC)
        files = []
        for i, (cell, edit) in enumerate(story.shots):
            if edit == "copy":
                data = copy_of(first_image[story.copy_of])
            elif edit == "unrelated":
                data = unrelated(zlib.crc32(f"{story.handle}/{i}".encode()))
            else:
                data = rooms[cell].edited(edit)
            kind = "png" if data.startswith(b"\x89PNG") else "jpg"
            files.append(SubmittedFile(f"{story.handle.lstrip('@')}-{i + 1}.{kind}", data,
                                       posted_at=posted))
        first_image[story.handle] = files[0].data
        with unit_of_work(factory) as session:
            try:
                outcome = take_in(session, crew.settings, index, actor, files,
                                  account=parse_account(story.handle, Platform(story.platform)))
            except AppError as exc:  # a story that no longer fits the rules: a bug here
                raise RuntimeError(f"demo account {story.handle}: {exc.message}") from exc
            assert outcome.account is not None
            done[story.handle] = outcome.account.id or 0
    return done
