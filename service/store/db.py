"""The database: one engine per URL, its schema brought to the newest migration, and every failure to
open it turned into one clear error at start (never a 500 per request).

SQLite (the default) is a file created owner-only (0600) in KB_DATA_DIR, in WAL mode so the background
writer and the curators' reads do not block each other; PostgreSQL through psycopg 3
(`postgresql+psycopg://`) for a database several processes share.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from service.errors import StoreError

__all__ = ["MIGRATIONS", "current_revision", "head_revision", "make_engine", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# how long SQLite waits for a lock another connection holds before saying "database is locked"
_BUSY_MS = 5000
_CONNECT_TIMEOUT_S = 5


def make_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file (and its folder) is created first, readable by its owner only."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"KB_DATABASE_URL is not a database URL: {exc}") from exc
    args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_owner_only(Path(parsed.database))
    elif parsed.get_backend_name() == "postgresql":
        # an unreachable server fails a connection attempt in seconds, not after the OS's TCP timeout
        args["connect_args"] = {"connect_timeout": _CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(parsed, pool_pre_ping=True, **args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_owner_only(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_CREAT with 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    except OSError as exc:
        raise StoreError(f"cannot create the query log database {path}: {exc.strerror}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the migrations up to `revision`; returns the revision the database is then at."""
    from alembic import command

    with _opened(engine) as conn:
        command.upgrade(_alembic_config(conn), revision)
        conn.commit()
        return _current(conn)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; None before the first."""
    with _opened(engine) as conn:
        return _current(conn)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _current(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


class _opened:
    """A connection, any failure to open or use it raised as StoreError with what to do about it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self.conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise describe(self.engine, exc) from exc
        return self.conn

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        assert self.conn is not None
        self.conn.close()
        if isinstance(exc, SQLAlchemyError):
            raise describe(self.engine, exc) from exc


def describe(engine: Engine, exc: SQLAlchemyError) -> StoreError:
    """What went wrong with the database, in words that say what to do."""
    where = engine.url.render_as_string(hide_password=True)
    detail = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
    if engine.dialect.name == "sqlite":
        if "not a database" in detail or "malformed" in detail:
            return StoreError(
                f"the query log {engine.url.database} is not a readable SQLite database ({detail}): "
                "move it away (a new one is created) or set KB_DATABASE_URL"
            )
        if "locked" in detail:
            return StoreError(
                f"the query log {engine.url.database} is locked by another process ({detail}): "
                "stop that process or set KB_DATABASE_URL"
            )
    return StoreError(f"the query log database {where} cannot be used: {detail}")
