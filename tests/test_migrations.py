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


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_name_keys_compare_by_code_point_on_postgresql(engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE column_name IN ('surname_key', 'forenames_key')")).all()
    assert {(t, c): coll for t, c, coll in rows} == {
        ("prisoner", "surname_key"): "C", ("prisoner", "forenames_key"): "C",
        ("prisoner_alias", "surname_key"): "C", ("prisoner_alias", "forenames_key"): "C"}
