"""The models and the migrations agree, on SQLite and on PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app import migrations
from app.db import make_engine
from app.models import metadata


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_models_match_migrations(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_fresh_database_upgrades_and_downgrades(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    assert "audit_event" in inspect(engine).get_table_names()
    from alembic import command

    command.downgrade(migrations.alembic_config(url), "base")
    assert "audit_event" not in inspect(engine).get_table_names()
    engine.dispose()
