"""SQLite's query-planner statistics, gathered at start-up and then every hour.

Without ANALYZE, SQLite's planner takes any index on a column a query tests as selective. It
chose the index on reference_photo.removed_at (NULL on every active photo) over the one on
image_id, so each upload's candidates read the whole reference library: 20 ms at 100,000
references, on every upload. PostgreSQL's autovacuum gathers its own statistics; this is
SQLite's equivalent. A sample of rows per index (analysis_limit) keeps it to a fraction of a
second at any size. A connection reads the statistics when it opens: the engine recycles its
SQLite connections hourly (db.make_engine), so that each opened later plans with fresh figures.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.db import unit_of_work
from app.periodic import Periodic

log = logging.getLogger("cellwatch")

ANALYSIS_ROWS = 1000  # rows sampled per index: enough to tell "every row" from "one row"


def gather(engine: Engine) -> bool:
    """ANALYZE a SQLite database (sampled); nothing to do on PostgreSQL. False when the
    database could not be reached or was busy: the next round tries again."""
    if engine.dialect.name != "sqlite":
        return True
    try:
        with unit_of_work(lambda: Session(engine)) as session:
            conn = session.connection()
            conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_ROWS}")
            conn.exec_driver_sql("ANALYZE")
    except SQLAlchemyError:
        log.warning("planner statistics not gathered this time", exc_info=True)
        return False
    return True


class Gatherer(Periodic):
    """Gathers the statistics at start (before the process's queries plan without them),
    then every `every` seconds on a daemon thread."""

    def __init__(self, engine: Engine, every: float) -> None:
        super().__init__("planner-statistics", every, lambda: gather(engine))
        self.engine = engine

    def start(self) -> None:
        if self.engine.dialect.name == "sqlite" and self.every > 0:
            gather(self.engine)
            super().start()
