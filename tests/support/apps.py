"""One app per test worker for each shape of settings, handed to each test with its own state.

Building the app is cheap, but FastAPI builds each included route on its first request, so a
fresh app per test paid that again in every test. Tests now share an app as long as the
settings that shape it (debug, API docs, upload limit, ...) are the same; what a test may
change or observe (its settings and data folder, engine, sessions, match index) is new for
each test. An app a test altered (a route added, an override) is not handed on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import Session

from app.db import make_engine
from app.main import create_app
from app.matching.engine import Limits, MatchEngine
from app.settings import Settings

# What create_app() keeps on app.state: each is replaced for every test below. A new entry
# in create_app() fails the next test until it is handled here (so no state leaks silently).
PER_TEST_STATE = frozenset({"settings", "engine", "session_factory", "match_engine"})
# Settings that create_app() does not build into the app: given to it per test instead.
PER_TEST_SETTINGS = frozenset({"data_dir", "database_url"})


@dataclass
class _Shared:
    app: FastAPI
    routes: list[object]  # the routes as built, to notice a test that added one
    limits: Limits  # the match thresholds create_app() read from these settings
    descriptors: bool  # whether create_app() gave its match index a descriptor index


_shared: dict[str, _Shared] = {}


def _shape(settings: Settings) -> str:
    values = settings.model_dump(exclude=set(PER_TEST_SETTINGS))
    return repr(sorted((name, v.get_secret_value() if isinstance(v, SecretStr) else v)
                       for name, v in values.items()))


def app_for_test(settings: Settings, session_factory: Callable[[], Session]) -> FastAPI:
    """The worker's app for these settings, with this test's settings, database and index."""
    settings.check_safe()  # what create_app() would refuse, every time
    # A linker thread would share the test's one connection with its requests and fail one of
    # them now and then (a savepoint released under another's feet): tests link by hand.
    assert settings.audit_link_seconds == 0, "a test app's settings need audit_link_seconds=0"
    key = _shape(settings)
    shared = _shared.get(key)
    if shared is None:
        app = create_app(settings)
        shared = _shared[key] = _Shared(app, list(app.router.routes),
                                        app.state.match_engine.limits,
                                        app.state.match_engine.votes is not None)
    app = shared.app
    unknown = set(app.state._state) - PER_TEST_STATE
    assert not unknown, (f"create_app() keeps {sorted(unknown)} on app.state: give each test "
                         "its own in tests/support/apps.py")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.state.settings = settings
    app.state.engine = make_engine(settings.effective_database_url)  # connects lazily
    app.state.session_factory = session_factory
    # an empty index, as at start-up, reading through the test's own transaction
    app.state.match_engine = MatchEngine(shared.limits,
                                         sessions=lambda: app.state.session_factory(),
                                         descriptors=shared.descriptors)
    return app


def release(app: FastAPI) -> None:
    """After the test: close its engine; forget the app if the test changed it."""
    app.state.engine.dispose()
    for key, shared in list(_shared.items()):
        if shared.app is app and (list(app.router.routes) != shared.routes
                                  or app.dependency_overrides):
            del _shared[key]
