"""Engines, schema and the few write helpers every module shares.

The embedded default is the SQLite file ``data/tthc.db`` under the project root (not the working
directory); any SQLAlchemy URL can be given instead through ``--db`` or ``TTHC_DATABASE_URL``.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, bindparam, cast, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError

from .models import Base, Setting, index_names

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
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _postgresql_session)
    Base.metadata.create_all(engine)
    add_missing_columns(engine)
    return engine


def _postgresql_session(dbapi_conn, _record) -> None:
    """No JIT compilation for our sessions. The planner costs a quarter's counts (a CASE per count with
    correlated subqueries on supplement_rounds, evaluated only for the few dossiers with rounds) in
    the millions, far above ``jit_above_cost``, so PostgreSQL compiled about 250 functions for every
    query: 5–7 s each on a 300.000-dossier province for a query that runs in 20–90 ms without it
    (issue 16). Our queries read index ranges; none scans enough rows for JIT to pay."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True  # a plain SET, not left inside an open transaction
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET jit = off")
    finally:
        dbapi_conn.autocommit = autocommit


# Rows written at once from which PostgreSQL's dossiers are vacuumed right after the commit.
VACUUM_AFTER_ROWS = 100_000


def settle_after_bulk_write(engine: Engine, table: str, rows: int) -> None:
    """PostgreSQL, after ``rows`` rows were committed into ``table`` at once: ``VACUUM`` it, so the
    pages the rows filled are marked all-visible and the still-open dossiers are read index-only from
    ``ix_dossiers_open_pg`` by the very next quarter (until then, or until autovacuum comes, each costs a
    table page: 0,5 s instead of 0,05 s for 57.000 open dossiers, issue 16). Outside any transaction
    (VACUUM cannot run in one); it blocks no reader or writer. Nothing to do on SQLite."""
    if engine.dialect.name != "postgresql" or rows < VACUUM_AFTER_ROWS:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM {conn.dialect.identifier_preparer.quote(table)}")


def add_missing_columns(engine: Engine) -> list[str]:
    """Bring a database written by an earlier version up to the models: add the columns it lacks, then
    the indexes (``create_all`` only indexes the tables it creates).

    Only additive changes happen between versions (new nullable columns, or columns with a server
    default, new indexes, an index given other columns), so ``ALTER TABLE … ADD COLUMN``, ``CREATE
    INDEX`` and, for an index whose columns differ from the model's, ``DROP INDEX`` then ``CREATE
    INDEX`` are the whole migration; new tables come from ``create_all``. Returns ``table.column`` for
    each column added and the name of each index created or rebuilt.
    """
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.schema import CreateColumn

    inspector = sa_inspect(engine)
    # Every table's columns and indexes in one reflection query each (SQLAlchemy's multi-table
    # reflection): table by table cost PostgreSQL two catalog queries a table, over a second at the
    # start of every process (a CLI call, a restarted dashboard) on a loaded machine (issue 16).
    names = [table.name for table in Base.metadata.sorted_tables]
    all_columns = {key[1]: value for key, value in inspector.get_multi_columns(filter_names=names).items()}
    all_indexes = {key[1]: value for key, value in inspector.get_multi_indexes(filter_names=names).items()}
    added: list[str] = []
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in all_columns.get(table.name, [])}
            for column in table.columns:
                if column.name in present:
                    continue
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN {ddl}')
                added.append(f"{table.name}.{column.name}")
            indexed = {ix["name"]: ix["column_names"] for ix in all_indexes.get(table.name, [])}
            own = index_names(table, engine.dialect.name)
            for index in sorted(table.indexes, key=lambda ix: ix.name):
                if index.name not in own or indexed.get(index.name) == [c.name for c in index.columns]:
                    continue
                if index.name in indexed:
                    index.drop(conn)
                index.create(conn)
                added.append(index.name)
    return added


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


def bump_data_version(conn: Connection, dossiers: bool = False, expected: int | None = None) -> int | None:
    """Call inside the writing transaction, so readers never see new rows with an old version.

    ``data_version`` counts every write (dashboard caches key on it). With ``dossiers=True`` the
    dossiers' own version, a random token that never repeats, moves too: the columnar copy keys on it.
    Each is one INSERT … ON CONFLICT DO UPDATE statement: two imports committing at the same time
    both count (a read-then-write lost one of them on both engines, issue 14 item 5). Returns the
    new ``data_version``; with ``expected``, only when the version was still ``expected`` (else
    ``None`` and nothing moves): a compare-and-set for writes that depend on what they read.
    """
    insert = dialect_insert(conn)
    table = Setting.__table__
    stmt = insert(table).values(key="data_version", value="1")
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"], set_={"value": cast(cast(table.c.value, Integer) + 1, Text)},
        where=None if expected is None else table.c.value == str(expected)).returning(table.c.value)
    version = conn.execute(stmt).scalar()
    if version is None:
        return None
    version = int(version)
    if dossiers:
        token = insert(table).values(key="dossiers_version", value=uuid.uuid4().hex)
        conn.execute(token.on_conflict_do_update(index_elements=["key"], set_={"value": token.excluded.value}))
    return version


def dialect_insert(conn: Connection):
    """The INSERT construct with ON CONFLICT of the connection's engine (SQLite or PostgreSQL)."""
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(conn.dialect.name)
    if insert is None:
        raise NotImplementedError(f"upsert is not available on {conn.dialect.name}")
    return insert


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Iterable[str],
           chunk: int = 5000, update: Iterable[str] | None = None) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE on SQLite and PostgreSQL alike.

    ``update`` names the columns an existing row takes from the new one (default: every column the rows
    have besides the keys); with none, an existing row is left as it is.
    """
    if not rows:
        return
    keys = list(keys)
    insert = dialect_insert(conn)
    columns = [c for c in (rows[0] if update is None else update) if c not in keys]
    # SQLite allows 32766 bound parameters per statement; stay well under it.
    per_chunk = max(1, min(chunk, 30000 // max(1, len(rows[0]))))
    for start in range(0, len(rows), per_chunk):
        stmt = insert(table).values(list(rows[start:start + per_chunk]))
        if columns:
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in columns})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
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


# SQLite checks a row's CHECK constraints (``channel IN (…)``) with a list it builds again at every run
# of a statement, which made a one-row executemany about twice as slow as the insert itself: rows go in
# many to a statement. SQLite allows 32766 bound parameters per statement since 3.32, 999 before.
SQLITE_MAX_PARAMETERS = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
SQLITE_ROWS_PER_STATEMENT = 200


def insert_columns(conn: Connection, table: Table, columns: Sequence[str], chunks: Iterable[Sequence[list]],
                   keys: Sequence[str] = ()) -> None:
    """Insert many rows; with ``keys``, update the rows already there.

    ``chunks`` yields blocks of rows as one list of cells per column, in ``columns`` order (a bounded
    number of rows at a time). The bulk path for millions of rows: cells must be what both drivers take
    as they are (str, int, bool, None) with timestamps as SQLite's DateTime text
    (``YYYY-MM-DD HH:MM:SS.ffffff``, which PostgreSQL reads too). SQLite: the driver's executemany on
    statements SQLAlchemy compiles from the table, many rows to a statement. PostgreSQL: COPY, through a
    temporary table for an upsert.
    """
    columns = list(columns)
    if conn.dialect.name == "sqlite":
        _sqlite_insert_columns(conn, table, columns, chunks, keys)
        return
    if conn.dialect.name != "postgresql":
        raise NotImplementedError(f"bulk insert is not available on {conn.dialect.name}")
    if not keys:
        _copy(conn, table, columns, chunks)
        return
    staging = Table(f"staging_{uuid.uuid4().hex[:12]}", MetaData(),
                    *[Column(c, table.c[c].type) for c in columns], prefixes=["TEMPORARY"])
    # Created inside the caller's transaction, so a rollback takes it away too.
    staging.create(conn)
    _copy(conn, staging, columns, chunks)
    stmt = postgresql.insert(table).from_select(columns, select(*staging.c))
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_={
        c: stmt.excluded[c] for c in columns if c not in keys}))
    staging.drop(conn)


def _sqlite_insert_columns(conn: Connection, table: Table, columns: list[str], chunks: Iterable[Sequence[list]],
                           keys: Sequence[str]) -> None:
    """SQLite: each block's rows ``many`` to a statement (their cells one after the other), the rest
    one by one. Building the parameters from columns (slice assignment) costs a fraction of building
    them from the rows of a 2-D array (measured: 4,2 s against 6,4 s for 2.000.000 rows, insert included)."""
    width = len(columns)
    many = max(1, min(SQLITE_ROWS_PER_STATEMENT, SQLITE_MAX_PARAMETERS // width))
    full = _sqlite_insert(conn, table, tuple(columns), tuple(keys), many)
    single = _sqlite_insert(conn, table, tuple(columns), tuple(keys), 1)
    cursor = conn.connection.driver_connection.cursor()
    step = many * width
    try:
        for cells in chunks:
            rows = len(cells[0]) if cells else 0
            whole = rows - rows % many
            if whole:
                flat: list = [None] * (whole * width)
                for position, column in enumerate(cells):  # row after row: the cells of each column in turn
                    flat[position::width] = column[:whole]
                cursor.executemany(full, [flat[start:start + step] for start in range(0, len(flat), step)])
            if whole < rows:
                cursor.executemany(single, zip(*(column[whole:] for column in cells)))
    except conn.dialect.loaded_dbapi.Error as error:
        # The driver's own error, as SQLAlchemy would have raised it (IntegrityError for a CHECK, …).
        raise DBAPIError.instance(full, None, error, conn.dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()


_sqlite_statements: dict[tuple, str] = {}


def _sqlite_insert(conn: Connection, table: Table, columns: tuple[str, ...], keys: tuple[str, ...],
                   rows: int) -> str:
    """INSERT of ``rows`` rows (… ON CONFLICT (keys) DO UPDATE), parameters row after row in ``columns`` order."""
    key = (table, columns, keys, rows)
    if key not in _sqlite_statements:
        stmt = sqlite.insert(table).values([{c: bindparam(f"r{i}_{c}") for c in columns} for i in range(rows)])
        if keys:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={
                c: stmt.excluded[c] for c in columns if c not in keys})
        compiled = stmt.compile(dialect=conn.dialect)
        if list(compiled.positiontup) != [f"r{i}_{c}" for i in range(rows) for c in columns]:
            raise AssertionError("unexpected parameter order")  # pragma: no cover - SQLAlchemy's own order
        _sqlite_statements[key] = str(compiled)
    return _sqlite_statements[key]


def _copy(conn: Connection, table: Table, columns: list[str], chunks: Iterable[Sequence[list]]) -> None:
    """PostgreSQL's COPY … FROM STDIN through psycopg, inside the connection's transaction."""
    quote = conn.dialect.identifier_preparer
    statement = (f"COPY {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns)}) "
                 "FROM STDIN")
    try:
        with conn.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for cells in chunks:
                for row in zip(*cells):
                    copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as error:
        # The driver's own error, as SQLAlchemy would have raised it (IntegrityError for a CHECK, …).
        raise DBAPIError.instance(statement, None, error, conn.dialect.loaded_dbapi.Error) from error
