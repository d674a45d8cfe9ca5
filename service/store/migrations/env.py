"""Alembic's environment: migrations run on the connection service/store/db.py hands over (the same
engine, pragmas and URL the service uses); run on their own, on the settings' database URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from service.store.schema import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    # SQLite alters a table by copying it: batch mode does that for every migration
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:  # pragma: no cover (the service always passes its connection)
    from service.settings import get_settings
    from service.store.db import make_engine

    with make_engine(get_settings().db_url()).connect() as conn:
        _run(conn)
        conn.commit()
