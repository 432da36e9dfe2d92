"""Engines, schema and the few write helpers every module shares.

The embedded default is the SQLite file ``data/tthc.db`` under the project root (not the working
directory); any SQLAlchemy URL can be given instead through ``--db`` or ``TTHC_DATABASE_URL``.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import Engine, Table, create_engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

from .models import Base, Setting

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "tthc.db"
ENV_DATABASE_URL = "TTHC_DATABASE_URL"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def default_url() -> str:
    """The URL used when none is given: ``TTHC_DATABASE_URL`` or the embedded SQLite file."""
    return os.environ.get(ENV_DATABASE_URL) or f"sqlite:///{DEFAULT_DB_PATH}"


def is_embedded_default(url: str | None) -> bool:
    return (url or default_url()) == f"sqlite:///{DEFAULT_DB_PATH}"


def database_exists(url: str | None = None) -> bool:
    """True when the database has our schema; for SQLite files, without creating the file."""
    url = url or default_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            return False
    from sqlalchemy import inspect

    return inspect(get_engine(url)).has_table("dossiers")


def get_engine(db: str | Engine | None = None) -> Engine:
    """One engine per URL for the process, with the schema created on first use."""
    if isinstance(db, Engine):
        return db
    url = db or default_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            _engines[url] = engine
    return engine


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            cur = dbapi_conn.cursor()
            # WAL lets the dashboard keep reading while an import writes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
        engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    return engine


def dispose_engine(db: str | Engine) -> None:
    """Forget a cached engine (tests drop databases; the demo rebuilds its file)."""
    with _lock:
        if isinstance(db, Engine):
            for key, engine in list(_engines.items()):
                if engine is db:
                    del _engines[key]
            db.dispose()
        else:
            engine = _engines.pop(db, None)
            if engine is not None:
                engine.dispose()


def data_version(db: str | Engine | None = None) -> int:
    """A number that changes whenever dossiers, procedures or report inputs change."""
    with get_engine(db).connect() as conn:
        value = conn.scalar(select(Setting.value).where(Setting.key == "data_version"))
    return int(value or 0)


def bump_data_version(conn: Connection, dossiers: bool = False) -> None:
    """Call inside the writing transaction, so readers never see new rows with an old version.

    ``data_version`` counts every write (dashboard caches key on it). With ``dossiers=True`` the
    dossiers' own version, a random token that never repeats, moves too: the columnar copy keys on it.
    """
    table = Setting.__table__
    current = conn.scalar(select(Setting.value).where(Setting.key == "data_version"))
    if current is None:
        conn.execute(table.insert().values(key="data_version", value="1"))
    else:
        conn.execute(update(table).where(Setting.key == "data_version").values(value=str(int(current) + 1)))
    if dossiers:
        token = uuid.uuid4().hex
        if conn.scalar(select(Setting.value).where(Setting.key == "dossiers_version")) is None:
            conn.execute(table.insert().values(key="dossiers_version", value=token))
        else:
            conn.execute(update(table).where(Setting.key == "dossiers_version").values(value=token))


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Iterable[str],
           chunk: int = 5000) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE on SQLite and PostgreSQL alike."""
    if not rows:
        return
    keys = list(keys)
    dialect = conn.dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"upsert is not available on {dialect}")
    columns = [c for c in rows[0] if c not in keys]
    # SQLite allows 32766 bound parameters per statement; stay well under it.
    per_chunk = max(1, min(chunk, 30000 // max(1, len(rows[0]))))
    for start in range(0, len(rows), per_chunk):
        stmt = insert(table).values(list(rows[start:start + per_chunk]))
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: stmt.excluded[c] for c in columns}
        )
        conn.execute(stmt)


def _sqlite_value(value: Any) -> Any:
    # The text SQLAlchemy's SQLite DateTime type writes and compares: always with microseconds,
    # so that string comparison in WHERE clauses orders like time.
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many new rows; on SQLite straight through the driver's executemany.

    SQLAlchemy's per-value type processing costs more than SQLite's insert itself; the statement is
    still compiled by SQLAlchemy from the table, only the values are converted here.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), list(rows))
        return
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    order = compiled.positiontup
    conn.exec_driver_sql(str(compiled), [tuple(_sqlite_value(row[k]) for k in order) for row in rows])
