"""create_app(): settings, database, routers, static files, error handlers, middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from app import health, home
from app.accounts import routes as account_routes
from app.audit import routes as audit_routes
from app.audit.linker import Linker
from app.auth import admin_routes
from app.auth import routes as auth_routes
from app.db import make_engine, make_session_factory
from app.errors import install_error_handlers
from app.estate import routes as estate_routes
from app.evidence import routes as evidence_routes
from app.evidence.limits import UploadSizeLimit, body_limit
from app.matching import routes as matching_routes
from app.matching.engine import Limits, MatchEngine
from app.middleware import ErrorBoundary, RetryTransactions, SecurityHeaders
from app.reports import routes as reports_routes
from app.search import routes as search_routes
from app.settings import Settings, get_settings
from app.takedowns import routes as takedown_routes
from app.takedowns import searches_routes
from app.web import STATIC_DIR


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Build the match index at start, not on the first analyst's upload. A database that is
    # not migrated yet must not stop the process: /readyz says so, and the first query retries.
    try:
        with app.state.session_factory() as session:
            app.state.match_engine.sync(session)
    except SQLAlchemyError:
        logging.getLogger("cellwatch").warning("match index not built: database not ready")
    settings: Settings = app.state.settings
    linker = None
    if settings.audit_link_seconds > 0:
        linker = Linker(app.state.engine, app.state.session_factory, settings.audit_link_seconds)
        linker.start()
    yield
    if linker is not None:
        linker.stop()
    app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_safe()
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO)
    docs = settings.api_docs
    app = FastAPI(
        title="Cellwatch", debug=settings.debug,
        docs_url="/docs" if docs else None, redoc_url=None,
        openapi_url="/openapi.json" if docs else None, lifespan=lifespan,
    )
    app.state.settings = settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.state.engine = make_engine(settings.effective_database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.match_engine = MatchEngine(Limits(
        global_max_distance=settings.match_global_max_distance,
        verify_min_score=settings.match_verify_min_score,
        shortlist_global=settings.match_shortlist_global,
        shortlist_votes=settings.match_shortlist_votes))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # matching before evidence: it owns the intake POSTs and the image page
    for router in (health.router, auth_routes.router, admin_routes.router,
                   audit_routes.router, home.router, estate_routes.router,
                   account_routes.router, matching_routes.router, evidence_routes.router,
                   search_routes.router):
        app.include_router(router)
    app.include_router(takedown_routes.router)
    app.include_router(searches_routes.router)
    app.include_router(reports_routes.router)
    install_error_handlers(app)
    # innermost first: retries see the route's error before anything answers it
    app.add_middleware(RetryTransactions, attempts=settings.transaction_attempts)
    app.add_middleware(UploadSizeLimit, max_body_bytes=body_limit(settings))
    app.add_middleware(ErrorBoundary)
    app.add_middleware(SecurityHeaders)
    return app
