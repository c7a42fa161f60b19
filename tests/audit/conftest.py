from collections.abc import Iterator

import pytest
from sqlmodel import Session

from app.db import make_engine


@pytest.fixture
def owner_session(db_url: str, session: Session,
                  request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session that may try what the app's role may not: on PostgreSQL, the tables' owner
    (so that the triggers themselves are what refuses), rolled back at the end."""
    if not db_url.startswith("postgresql"):
        yield session
        return
    engine = make_engine(request.getfixturevalue("postgres_urls")[0])
    conn = engine.connect()
    outer = conn.begin()
    with Session(bind=conn, join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as own:
        yield own
    outer.rollback()
    conn.close()
    engine.dispose()
