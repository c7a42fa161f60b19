"""create_app(): settings, database, routers, static files, error handlers, middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import apidocs, health, home
from app.accounts import api as accounts_api
from app.accounts import api_intake as accounts_api_intake
from app.accounts import pages as accounts_pages
from app.accounts import pages_intake as accounts_pages_intake
from app.accounts import pages_review as accounts_pages_review
from app.accounts.video_links import install as install_video_links
from app.audit import api as audit_api
from app.audit import pages as audit_pages
from app.audit.linker import Linker
from app.auth import pages as auth_pages
from app.auth import pages_admin as auth_pages_admin
from app.auth import pages_enrol as auth_pages_enrol
from app.auth import pages_factor as auth_pages_factor
from app.auth import pages_grants as auth_pages_grants
from app.auth import pages_securitykeys as auth_pages_securitykeys
from app.auth.gate import SignInBeforeBody
from app.cellsearch import api as cellsearch_api
from app.cellsearch import pages as cellsearch_pages
from app.db import make_engine, make_session_factory
from app.db_statistics import Gatherer
from app.errors import install_error_handlers
from app.estate import api as estate_api
from app.estate import pages as estate_pages
from app.estate import pages_prisoners as estate_pages_prisoners
from app.evidence import api as evidence_api
from app.evidence import api_reference as evidence_api_reference
from app.evidence import pages as evidence_pages
from app.evidence import pages_reference as evidence_pages_reference
from app.evidence import pages_video as evidence_pages_video
from app.evidence.limits import UploadSizeLimit, body_limit, video_body_limit
from app.lifecycle import api as lifecycle_api
from app.lifecycle import pages as lifecycle_pages
from app.matching import api as matching_api
from app.matching import api_videos as matching_api_videos
from app.matching import api_withdraw as matching_api_withdraw
from app.matching import pages as matching_pages
from app.matching import pages_queue as matching_pages_queue
from app.matching import pages_videos as matching_pages_videos
from app.matching import pages_withdraw as matching_pages_withdraw
from app.matching.engine import Limits, MatchEngine
from app.memory import Trimmer, freeze_startup_objects, thaw_startup_objects
from app.middleware import ErrorBoundary, RetryTransactions, SecurityHeaders
from app.nul import RefuseNul
from app.private import keep_private
from app.reports import pages as reports_pages
from app.search import api as search_api
from app.search import pages as search_pages
from app.server import BodyReadTimeout
from app.settings import Settings, get_settings
from app.takedowns import api as takedown_api
from app.takedowns import pages as takedown_pages
from app.takedowns import pages_create as takedown_pages_create
from app.takedowns import pages_detail as takedown_pages_detail
from app.takedowns import pages_platforms as takedown_pages_platforms
from app.web import STATIC_DIR, templates

TRIM_SECONDS = 5.0  # see app/memory.py


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # first, so that what follows plans with the statistics
    statistics = Gatherer(app.state.engine, settings.sqlite_statistics_seconds)
    statistics.start()
    # Build the match index at start, not on the first analyst's upload. A database that is
    # not migrated yet must not stop the process: /readyz says so, and the first query retries.
    try:
        app.state.match_engine.refresh(None)
    except SQLAlchemyError:
        logging.getLogger("cellwatch").warning("match index not built: database not ready")
    # more threads than requests a worker takes at once (its connection limit): see the setting
    to_thread.current_default_thread_limiter().total_tokens = max(
        settings.request_threads, settings.server_max_connections + 16)
    linker = None
    if settings.audit_link_seconds > 0:
        linker = Linker(app.state.engine, app.state.session_factory, settings.audit_link_seconds,
                        key=settings.audit_key_bytes)
        linker.start()
    trimmer = Trimmer(every=TRIM_SECONDS)
    trimmer.start()
    if settings.gc_freeze_at_start:
        freeze_startup_objects()
    yield
    if settings.gc_freeze_at_start:
        thaw_startup_objects()
    trimmer.stop()
    statistics.stop()
    if linker is not None:
        linker.stop()
    app.state.match_engine.close()
    app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_safe()
    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO)
    docs = settings.api_docs
    app = FastAPI(
        title="Cellwatch", debug=settings.debug,
        docs_url=None, redoc_url=None,  # /docs is app/apidocs.py: local assets, no CDN
        openapi_url="/openapi.json" if docs else None, lifespan=lifespan,
    )
    app.state.settings = settings
    install_video_links()  # videos sampled after an answer link their accounts
    templates.env.globals["local_timezone"] = settings.local_timezone  # pages' date filters
    keep_private(settings.data_dir)
    app.state.engine = make_engine(settings.effective_database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    # With match workers, a web process runs only the first stage: no descriptor index here.
    app.state.match_engine = MatchEngine(
        Limits.of(settings),
        db=make_engine(settings.effective_database_url, pool_size=1, max_overflow=1),
        descriptors=settings.match_workers == 0)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # accounts' intake form (/accounts/new) before the account page (/accounts/{id});
    # matching before evidence: it owns the intake POSTs and the image page
    # estate: prisoner pages before `/estate/{code}`, so `/estate/prisoners` is never a code
    for router in (health.router, auth_pages.router, auth_pages_factor.router,
                   auth_pages_securitykeys.router,
                   auth_pages_enrol.router, auth_pages_grants.router, auth_pages_admin.router,
                   audit_pages.router, audit_api.router, home.router,
                   estate_pages_prisoners.router, estate_pages.router, estate_api.router,
                   accounts_pages_intake.router, accounts_pages_review.router,
                   accounts_pages.router, accounts_api.router, accounts_api_intake.router,
                   matching_pages.router, matching_pages_queue.router, matching_api.router,
                   matching_pages_withdraw.router, matching_api_withdraw.router,
                   matching_api_videos.router, matching_pages_videos.router,
                   evidence_pages.router, evidence_api.router, evidence_pages_video.router,
                   evidence_pages_reference.router, evidence_api_reference.router,
                   search_pages.router, search_api.router):
        app.include_router(router)
    for router in (takedown_pages_platforms.router, takedown_pages_detail.router,
                   takedown_pages_create.router, takedown_api.router, takedown_pages.router):
        app.include_router(router)
    app.include_router(cellsearch_pages.router)
    app.include_router(cellsearch_api.router)
    app.include_router(reports_pages.router)
    app.include_router(lifecycle_pages.router)
    app.include_router(lifecycle_api.router)
    if docs:
        apidocs.install(app)
    install_error_handlers(app)
    # innermost first: retries see the route's error before anything answers it
    app.add_middleware(RefuseNul)  # reads the body as the route does, so the route answers
    app.add_middleware(RetryTransactions, attempts=settings.transaction_attempts)
    app.add_middleware(UploadSizeLimit, max_body_bytes=body_limit(settings),
                       video_body_bytes=video_body_limit(settings))
    # outside anything that reads a body: a stranger's body is never read
    app.add_middleware(SignInBeforeBody, public_body_bytes=settings.public_body_bytes)
    app.add_middleware(BodyReadTimeout, idle=settings.server_body_idle_seconds,
                       min_rate=settings.server_body_min_rate)
    app.add_middleware(ErrorBoundary)
    app.add_middleware(SecurityHeaders, hsts=settings.is_production)
    if settings.trusted_proxies:
        # X-Forwarded-For/-Proto believed only from the proxies named; from anyone else the
        # client address stays the connection's own (it goes into the audit log)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
