"""Writing agencies, fields, procedures and dossiers: the one path the importer, the demo and tests use.

Every function takes an open connection inside the caller's transaction (``with engine.begin()``), so
an import is all or nothing, and fills the derived dossier columns through :mod:`tthc_core.rules`.

Dossiers are written two ways that store exactly the same rows: :func:`write_dossiers` and
:func:`insert_dossiers` take row dicts and prepare each with :func:`prepare_dossier`;
:func:`write_dossier_frame` takes the columns of a large import and prepares them column by column
(:func:`prepare_dossier_frame`, checked against :func:`prepare_dossier` by the tests).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import ARRAY, CheckConstraint, any_, bindparam, func, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from .db import SQLITE_MAX_PARAMETERS, bulk_insert, bump_data_version, insert_columns, upsert
from .models import (CHANNELS, INTAKES, PAYMENT_PLATFORMS, RESOLUTIONS, STATUSES, Agency, Dossier, Field,
                     ProgressStep, Procedure, SupplementRound)
from .rules import deadlines, derive_dossier, resolutions
from .workdays import WorkCalendar, load_calendar

DEFAULT_AGENCY_CODE = "DEFAULT"
DEFAULT_AGENCY_NAME = "Cơ quan mặc định"

DOSSIER_COLUMNS = ("code", "agency_id", "procedure_id", "field_id", "channel", "status", "received_at",
                   "due_at", "due_estimated", "resolved_at", "apology_count", "deadline_at", "resolution")

# Codes looked up per query, under SQLite's limit of bound parameters.
LOOKUP_CHUNK = SQLITE_MAX_PARAMETERS * 9 // 10
# Rows converted for the driver at a time: bounds the memory of a large import.
WRITE_CHUNK = 50_000
# SQLite: from this many new dossiers, and at least a fifth as many as are stored already, the
# dossiers' indexes are dropped and built again after the insert (inside the transaction): sorting
# once is far cheaper than millions of random B-tree insertions (measured on 2.000.000 stored rows:
# 500.000 new ones 36 % faster rebuilt, 200.000 new ones 20 % slower).
REBUILD_INDEXES_FROM = 100_000
REBUILD_INDEXES_SHARE = 5


# --------------------------------------------------------------------------------------------
# Agencies, fields, procedures
# --------------------------------------------------------------------------------------------

def ensure_agency(conn: Connection, code: str, name: str | None = None, level: str = "province",
                  parent_code: str | None = None, is_default: bool = False) -> int:
    """The id of agency ``code``, created when missing (an existing name is kept unless given)."""
    row = conn.execute(select(Agency.id, Agency.name).where(Agency.code == code)).first()
    parent_id = None
    if parent_code:
        parent_id = conn.scalar(select(Agency.id).where(Agency.code == parent_code))
    if row is not None:
        if name and name != row.name:
            conn.execute(update(Agency.__table__).where(Agency.id == row.id).values(name=name))
        return row.id
    return conn.execute(Agency.__table__.insert().values(
        code=code, name=name or code, level=level, parent_id=parent_id, is_default=is_default,
    )).inserted_primary_key[0]


def agency_ids(conn: Connection, codes: Iterable[str], create: bool = True) -> dict[str, int | None]:
    """Ids of agencies named by code as people type them: ``sldtbxh`` is agency ``SLDTBXH``.

    An exact match wins, else the one agency whose code differs only in case; a code matching none is
    created as written (spellings differing only in case become one agency), or, without ``create``,
    maps to None.
    """
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    stored = conn.execute(select(Agency.code, Agency.id)).all()
    exact = dict(stored)
    folded: dict[str, list[int]] = {}
    for code, agency_id in stored:
        folded.setdefault(code.casefold(), []).append(agency_id)
    found: dict[str, int | None] = {}
    created: dict[str, int] = {}
    for code in wanted:
        key = code.casefold()
        if code in exact:
            found[code] = exact[code]
        elif len(folded.get(key, ())) == 1:
            found[code] = folded[key][0]
        elif key in created:
            found[code] = created[key]
        elif create:
            found[code] = created[key] = ensure_agency(conn, code)
        else:
            found[code] = None
    return found


def default_agency_id(conn: Connection, create: bool = True) -> int | None:
    """The database's default agency (rows without an agency go there): the one marked default, else
    the only agency, else a new default agency; without ``create``, None when it would be new."""
    found = conn.scalar(select(Agency.id).where(Agency.is_default.is_(True)).order_by(Agency.id))
    if found is not None:
        return found
    only = conn.execute(select(Agency.id).limit(2)).scalars().all()
    if len(only) == 1:
        return only[0]
    if not create:
        return None
    return ensure_agency(conn, DEFAULT_AGENCY_CODE, DEFAULT_AGENCY_NAME, is_default=True)


def field_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Ids of the named fields, creating the missing ones."""
    wanted = {n for n in names if n}
    if not wanted:
        return {}
    existing = dict(conn.execute(select(Field.name, Field.id).where(Field.name.in_(wanted))).all())
    missing = sorted(wanted - existing.keys())
    if missing:
        conn.execute(Field.__table__.insert(), [{"name": n, "position": 1000} for n in missing])
        existing.update(conn.execute(select(Field.name, Field.id).where(Field.name.in_(missing))).all())
    return existing


def procedure_index(conn: Connection) -> dict[tuple[int, str], Any]:
    """``(agency_id, code) → row`` with id, field_id, processing_days and same_day_cutoff."""
    rows = conn.execute(select(Procedure.id, Procedure.agency_id, Procedure.code, Procedure.field_id,
                               Procedure.processing_days, Procedure.same_day_cutoff)).all()
    return {(r.agency_id, r.code): r for r in rows}


def procedures_by_id(conn: Connection) -> dict[int, Any]:
    """``id → row`` of :func:`procedure_index`: what a dossier takes from its procedure."""
    return {r.id: r for r in procedure_index(conn).values()}


PROCEDURE_DEFAULTS = dict(
    field_id=None, authority_level="province", regulated_by="central", published=True, publicized=True,
    one_stop=False, lien_thong=False, postal=False, online_level=None, online_class=None, four_on_site=False,
    internal_process=False, processing_days=None, same_day_cutoff=None, active_from=None, active_to=None,
)


def write_procedures(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update procedures by (agency_id, code).

    A new procedure takes the defaults for the columns its row leaves out; an existing one changes
    only the columns the row gives (a file of codes and processing days keeps the stored flags).
    """
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(frozenset(row), []).append(row)
    for columns, group in by_columns.items():
        upsert(conn, Procedure.__table__, [{**PROCEDURE_DEFAULTS, **row} for row in group], ("agency_id", "code"),
               update=[c for c in Procedure.__table__.columns.keys() if c in columns])
    bump_data_version(conn)


# --------------------------------------------------------------------------------------------
# Dossiers, one row at a time
# --------------------------------------------------------------------------------------------

def fill_due_date(row: dict[str, Any], procedure: Any | None, calendar: WorkCalendar) -> None:
    """domain.md §5: a dossier without ``due_at`` is due its procedure's processing time later."""
    if row.get("due_at") is not None or procedure is None or procedure.processing_days is None:
        row["due_estimated"] = bool(row.get("due_estimated"))
        return
    row["due_at"] = calendar.due_date(row["received_at"], procedure.processing_days, procedure.same_day_cutoff)
    row["due_estimated"] = True


def prepare_dossier(row: dict[str, Any], procedure: Any | None, calendar: WorkCalendar) -> dict[str, Any]:
    """A dossier row as it is stored: every column, defaults, the procedure's field when the row has
    none, a due date from the procedure's processing time when it has none, and the derived columns.

    ``procedure`` is the row's procedure (from :func:`procedures_by_id`) or None.
    """
    prepared = {c: row.get(c) for c in DOSSIER_COLUMNS}
    prepared["status"] = prepared["status"] or "normal"
    prepared["apology_count"] = prepared["apology_count"] or 0
    if prepared["field_id"] is None and procedure is not None:
        prepared["field_id"] = procedure.field_id
    fill_due_date(prepared, procedure, calendar)
    return derive_dossier(prepared)


def _prepared(conn: Connection, rows: Sequence[dict[str, Any]], calendar: WorkCalendar | None) -> list[dict]:
    calendar = calendar or load_calendar(conn)
    procedures = procedures_by_id(conn)
    return [prepare_dossier(row, procedures.get(row["procedure_id"]) if row.get("procedure_id") else None,
                            calendar) for row in rows]


def write_dossiers(conn: Connection, rows: Sequence[dict[str, Any]],
                   calendar: WorkCalendar | None = None) -> None:
    """Insert or update dossiers by code, prepared by :func:`prepare_dossier`.

    Rows carry ``agency_id`` and, when known, ``procedure_id``/``field_id``.
    """
    if not rows:
        return
    upsert(conn, Dossier.__table__, _prepared(conn, rows, calendar), ("code",))
    bump_data_version(conn, dossiers=True)


def to_datetime(day: dt.date | dt.datetime | None) -> dt.datetime | None:
    if day is None or isinstance(day, dt.datetime):
        return day
    return dt.datetime.combine(day, dt.time())


def insert_dossiers(conn: Connection, rows: Sequence[dict[str, Any]],
                    calendar: WorkCalendar | None = None) -> None:
    """Plain INSERT of dossiers known to be new (the demo), prepared by :func:`prepare_dossier`."""
    if not rows:
        return
    bulk_insert(conn, Dossier.__table__, _prepared(conn, rows, calendar))
    bump_data_version(conn, dossiers=True)


# --------------------------------------------------------------------------------------------
# Dossiers by column (large imports)
# --------------------------------------------------------------------------------------------

def existing_dossier_codes(conn: Connection, codes: Sequence[str] | pd.Series,
                           not_of: Iterable[int] | None = None) -> set[str]:
    """The codes among ``codes`` that are already stored (with ``not_of``: stored for an agency other
    than these ids)."""
    if conn.scalar(select(Dossier.id).limit(1)) is None:
        return set()
    codes = codes.tolist() if isinstance(codes, pd.Series) else list(codes)
    query = select(Dossier.code)
    if not_of is not None:
        query = query.where(Dossier.agency_id.not_in(list(not_of)))
    found: set[str] = set()
    for start in range(0, len(codes), CODES_CHUNK):
        chunk = codes[start:start + CODES_CHUNK]
        found.update(conn.execute(query.where(among(conn, Dossier.code, chunk))).scalars())
    return found


def stored_dossier_values(conn: Connection, codes: Sequence[str] | pd.Series, columns: Sequence[str]) -> pd.DataFrame:
    """The stored ``columns`` of the dossiers among ``codes``, indexed by code (object columns)."""
    table = Dossier.__table__
    rows: list = []
    # Nothing stored (a first import): no lookup. Else the codes as one bound parameter (among): a
    # parameter per code cost 5 s of rendering for 300.000 rows (issue 16).
    if conn.scalar(select(table.c.id).limit(1)) is not None:
        codes = codes.tolist() if isinstance(codes, pd.Series) else list(codes)
        query = select(table.c.code, *(table.c[name] for name in columns))
        for start in range(0, len(codes), CODES_CHUNK):
            rows += conn.execute(query.where(among(conn, table.c.code, codes[start:start + CODES_CHUNK]))).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["code", *columns], dtype=object).set_index("code")


# Codes looked up per statement by :func:`among` (one bound parameter, whatever the number of codes).
CODES_CHUNK = 200_000


def among(conn: Connection, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN (values)`` as ONE bound parameter: a JSON array read by ``json_each`` on SQLite, an
    array on PostgreSQL. SQLAlchemy's ``in_`` renders a parameter per value, and rendering them cost
    more than the lookup itself for the tens of thousands of codes of a large import's batch."""
    if conn.dialect.name == "sqlite":
        listed = func.json_each(json.dumps(list(values), ensure_ascii=False)).table_valued("value")
        return column.in_(select(listed.c.value))
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def write_dossier_frame(conn: Connection, frame: pd.DataFrame, calendar: WorkCalendar | None = None,
                        extra: Sequence[str] = ()) -> int:
    """Insert or update the dossiers of ``frame`` by code; the bulk twin of :func:`write_dossiers`.

    ``frame`` has the columns of a :func:`write_dossiers` row (``code``, ``agency_id``, ``procedure_id``,
    ``field_id``, ``channel``, ``status``, ``received_at``, ``due_at``, ``resolved_at``, ``apology_count``,
    optionally ``due_estimated``), timestamps as datetime64 and missing values as NaN/NaT/None, each
    code once. The stored rows are exactly those :func:`write_dossiers` stores. Returns how many codes
    were already stored (and so updated). ``extra`` names further columns of ``frame``, written as they
    are (the national records' lifecycle columns, :func:`write_national_dossiers`).
    """
    if frame.empty:
        return 0
    # First: it moves the version tokens, and on SQLite it opens the write transaction before any
    # index is dropped (the driver starts one only at the first data change).
    bump_data_version(conn, dossiers=True)
    prepared = prepare_dossier_frame(frame, procedures_by_id(conn), calendar or load_calendar(conn))
    for name in extra:
        prepared[name] = frame[name]
    columns = DOSSIER_COLUMNS + tuple(extra)
    existing = existing_dossier_codes(conn, prepared["code"])
    # As objects: pandas' Arrow text column checks membership one Python value at a time.
    stored = prepared["code"].astype(object).isin(existing).to_numpy() if existing else np.zeros(len(frame), bool)
    table = Dossier.__table__
    if stored.any():
        insert_columns(conn, table, columns, _driver_columns(prepared[stored], columns), keys=("code",))
    new = prepared[~stored] if stored.any() else prepared
    with _indexes_set_aside(conn, len(new)), _checks_done_here(conn, new):
        insert_columns(conn, table, columns, _driver_columns(new, columns))
    if conn.dialect.name == "postgresql" and len(frame) >= REBUILD_INDEXES_FROM:
        # Fresh statistics with the rows, not whenever autovacuum comes: without them the planner
        # scanned the whole table for a quarter (0,9 s on 6,7 million rows) instead of reading the
        # open-or-recently-resolved dossiers through ix_dossiers_resolved (0,5 s). ANALYZE samples a
        # fixed number of rows (0,4 s here), runs inside the transaction and blocks no reader.
        conn.exec_driver_sql(f"ANALYZE {table.name}")
    return int(stored.sum())


def prepare_dossier_frame(frame: pd.DataFrame, procedures: Mapping[int, Any],
                          calendar: WorkCalendar) -> pd.DataFrame:
    """:func:`prepare_dossier` for every row of ``frame`` at once: the same values, by column.

    Due dates come from ``calendar.due_date`` itself, once per (procedure, day, before/after cut-off);
    the derived columns from :func:`deadlines` and :func:`resolutions`, the column forms of
    :mod:`tthc_core.rules`.
    """
    n = len(frame)

    def column(name: str, default: Any = None) -> pd.Series:
        return frame[name] if name in frame else pd.Series([default] * n, index=frame.index, dtype=object)

    out = pd.DataFrame(index=frame.index)
    out["code"] = column("code")
    out["agency_id"] = column("agency_id").astype("int64")
    procedure_id = _ids(column("procedure_id"))
    out["procedure_id"] = procedure_id
    # Each row's procedure as a position in the catalogue (-1: none, or an id not in the catalogue).
    catalogue = list(procedures.values())
    position = pd.Index([p.id for p in catalogue], dtype="int64").get_indexer(
        procedure_id.fillna(0).to_numpy(dtype="int64"))
    known = position >= 0

    def of_procedure(values: list) -> pd.Series:
        return pd.Series(np.asarray(values + [None], dtype=object)[position], index=frame.index)

    field_id = _ids(column("field_id"))
    out["field_id"] = field_id.where(field_id.notna() | ~known, _ids(of_procedure([p.field_id for p in catalogue])))
    out["channel"] = column("channel")
    status = column("status").fillna("").astype(object)
    out["status"] = status.where(status != "", "normal")

    received = _timestamps(column("received_at"))
    due = _timestamps(column("due_at"))
    estimated = column("due_estimated", False).fillna(False).astype(bool).to_numpy()
    fill = np.isnat(due) & known & of_procedure([p.processing_days for p in catalogue]).notna().to_numpy()
    if fill.any():
        cutoff = of_procedure([_time_of_day(p.same_day_cutoff) for p in catalogue]).to_numpy()
        due = due.copy()
        due[fill] = _due_dates(received[fill], position[fill], cutoff[fill].astype("timedelta64[us]"),
                               catalogue, calendar)
        estimated = estimated | fill
    resolved = _timestamps(column("resolved_at"))
    out["received_at"], out["due_at"], out["due_estimated"], out["resolved_at"] = received, due, estimated, resolved
    out["apology_count"] = column("apology_count", 0).fillna(0).astype("int64")
    out["deadline_at"] = deadlines(due)
    out["resolution"] = pd.Series(resolutions(due, resolved, out["status"].to_numpy()), index=frame.index,
                                  dtype=object)
    return out


def _ids(values: pd.Series) -> pd.Series:
    """Ids as a nullable integer column (None and NaN are missing)."""
    if values.dtype != object:
        return values.astype("Int64")
    # pd.array(…, dtype="Int64") inspects an object column value by value: 0,3 s a million.
    cells = values.to_numpy()
    missing = pd.isna(cells)
    data = np.zeros(len(cells), dtype=np.int64)
    data[~missing] = cells[~missing].astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(data, missing), index=values.index)


def _timestamps(values: pd.Series) -> np.ndarray:
    """A datetime64[us] array (NaT where missing) from datetime64 values or Python datetimes/None."""
    return pd.to_datetime(values.to_numpy(dtype=object) if values.dtype == object else values).to_numpy() \
        .astype("datetime64[us]")


def _due_dates(received: np.ndarray, position: np.ndarray, cutoff: np.ndarray, catalogue: list,
               calendar: WorkCalendar) -> np.ndarray:
    """``calendar.due_date`` for each row, called once per (procedure, day, received after its cut-off).

    ``position`` is each row's procedure in ``catalogue``; ``cutoff`` its same-day cut-off hour as a
    time of day (NaT: none).
    """
    day = received.astype("datetime64[D]")
    after = ~np.isnat(cutoff) & (received - day >= cutoff)
    keys = pd.DataFrame({"procedure": position, "day": day, "after": after})
    first = ~keys.duplicated().to_numpy()
    unique = keys[first].copy()
    unique["due"] = [
        calendar.due_date(moment, catalogue[p].processing_days, catalogue[p].same_day_cutoff)
        for p, moment in zip(unique["procedure"].tolist(), pd.DatetimeIndex(received[first]).to_pydatetime())
    ]
    return keys.merge(unique, how="left", on=["procedure", "day", "after"])["due"].to_numpy() \
        .astype("datetime64[us]")


def _time_of_day(moment: dt.time | None) -> np.timedelta64:
    if moment is None:
        return np.timedelta64("NaT")
    return np.timedelta64(((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000
                          + moment.microsecond, "us")


def _driver_columns(prepared: pd.DataFrame, columns: Sequence[str] = DOSSIER_COLUMNS) -> Iterator[list[list]]:
    """The rows of a prepared frame as :func:`tthc_core.db.insert_columns` takes them: blocks of
    :data:`WRITE_CHUNK` rows, a list of Python values (str, int, bool or None) per column."""
    for start in range(0, len(prepared), WRITE_CHUNK):
        chunk = prepared.iloc[start:start + WRITE_CHUNK]
        cells = []
        for name in columns:
            values = chunk[name]
            if values.dtype.kind == "M":
                cells.append(_datetime_texts(values.to_numpy()))
            elif name in ("agency_id", "apology_count", "due_estimated"):
                cells.append(values.to_numpy().tolist())
            else:  # text and nullable ids: None, never NaN (pandas' missing value in a text column)
                cells.append(values.to_numpy(dtype=object, na_value=None).tolist())
        yield cells


def _datetime_texts(values: np.ndarray) -> list[str | None]:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's SQLite DateTime text, microseconds always), None for NaT."""
    import pyarrow as pa

    return pa.array(values.astype("datetime64[us]"), from_pandas=True).cast(pa.string()).to_pylist()


@contextlib.contextmanager
def _indexes_set_aside(conn: Connection, new_rows: int, keep: Sequence[str] = ()) -> Iterator[None]:
    """SQLite: for a large insert, drop the dossiers' indexes (but those named in ``keep``) and build them
    again afterwards.

    Inside the caller's transaction, like the insert: a failure or a kill rolls the drop back, and
    readers (WAL) keep their snapshot with its indexes meanwhile. A unique index built again over a
    duplicate code fails, and with it the whole import.
    """
    table = Dossier.__table__
    worth_it = (conn.dialect.name == "sqlite" and new_rows >= REBUILD_INDEXES_FROM
                and new_rows * REBUILD_INDEXES_SHARE >= (conn.scalar(select(func.max(table.c.id))) or 0)
                and conn.connection.driver_connection.in_transaction)
    present = {ix["name"] for ix in inspect(conn).get_indexes(table.name)} if worth_it else set()
    indexes = [ix for ix in sorted(table.indexes, key=lambda ix: ix.name) if ix.name in present and ix.name not in keep]
    for index in indexes:
        index.drop(conn)
    try:
        yield
    finally:
        if indexes:
            # Let SQLite sort with a helper thread while it builds them (a fifth faster, measured).
            threads = conn.exec_driver_sql("PRAGMA threads").scalar()
            conn.exec_driver_sql("PRAGMA threads = 2")
            try:
                for index in indexes:
                    index.create(conn)
            finally:
                conn.exec_driver_sql(f"PRAGMA threads = {int(threads)}")


# The dossiers' CHECK constraints (models.py), as :func:`_checks_done_here` verifies them.
_CHECKED_HERE = {
    "ck_dossier_channel": lambda rows: rows["channel"].isin(CHANNELS),
    "ck_dossier_status": lambda rows: rows["status"].isin(STATUSES),
    "ck_dossier_resolution": lambda rows: rows["resolution"].isna() | rows["resolution"].isin(RESOLUTIONS),
    # Absent from a CSV import's rows: the server defaults ('accepted', NULL) pass.
    "ck_dossier_intake": lambda rows: rows["intake"].isin(INTAKES) if "intake" in rows else _all(rows),
    "ck_dossier_paid_online": lambda rows: (rows["paid_online_via"].isna() | rows["paid_online_via"].isin(
        PAYMENT_PLATFORMS)) if "paid_online_via" in rows else _all(rows),
}


def _all(rows: pd.DataFrame) -> pd.Series:
    return pd.Series(True, index=rows.index)


def dossier_indexes_set_aside(conn: Connection, new_rows: int) -> contextlib.AbstractContextManager:
    """:func:`_indexes_set_aside` around a write of ``new_rows`` dossiers in many batches (the national
    import): the unique index on the code stays, for the batches' upserts and lookups by code."""
    return _indexes_set_aside(conn, new_rows, keep=("uq_dossiers_code",))


@contextlib.contextmanager
def _checks_done_here(conn: Connection, rows: pd.DataFrame) -> Iterator[None]:
    """SQLite: when every row is verified here to pass the table's CHECK constraints, skip SQLite's own
    evaluation during the insert (it rebuilds each ``IN (…)`` list for every statement run and cost a
    third of the insert). Any row that fails, or a constraint not verified here, leaves SQLite
    checking as always, so a bad row fails exactly as it would without this.
    """
    names = {c.name for c in Dossier.__table__.constraints if isinstance(c, CheckConstraint)}
    skip = (conn.dialect.name == "sqlite" and names == _CHECKED_HERE.keys()
            and all(check(rows).all() for check in _CHECKED_HERE.values()))
    if skip:
        conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        if skip:
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")


# --------------------------------------------------------------------------------------------
# The national sync records (tthc_core/importer/dvcqg.py): lifecycle columns, supplement rounds, progress steps
# --------------------------------------------------------------------------------------------

# The dossier columns a national record adds (models.Dossier, dvcqg-sync.md §3), with what a record
# that does not say stores. handling_unit is not here: it follows the progress steps.
LIFECYCLE_DEFAULTS: dict[str, Any] = {
    "source_status": None, "intake": "accepted", "submitted_at": None, "refused_at": None,
    "result_returned_at": None, "withdrawal_requested": False, "applicant_type": None, "result_by_post": None,
    "procedure_code": None, "fee_lines": 0, "fee_total": None, "paid_online_via": None,
    "has_digitised_components": None, "components": 0, "components_digitised": 0, "components_reused": 0,
    "components_from_store": 0, "e_results": 0, "e_result_url": None, "vneid_authenticated": None,
    "db_connections": None, "filed_on_national_portal": None, "supplement_rounds": 0,
}
LIFECYCLE_COLUMNS = tuple(LIFECYCLE_DEFAULTS)
ROUND_COLUMNS = ("dossier_id", "position", "requested_at", "supplied_at", "due_before", "due_after")


def dossier_ids(conn: Connection, codes: Iterable[str]) -> dict[str, int]:
    """``code → id`` of the stored dossiers among ``codes``."""
    codes = list(dict.fromkeys(codes))
    found: dict[str, int] = {}
    for start in range(0, len(codes), CODES_CHUNK):
        chunk = codes[start:start + CODES_CHUNK]
        found.update(conn.execute(select(Dossier.code, Dossier.id).where(among(conn, Dossier.code, chunk))).all())
    return found


def write_national_dossiers(conn: Connection, frame: pd.DataFrame, rounds: pd.DataFrame,
                            calendar: WorkCalendar | None = None) -> int:
    """Insert or update national records by code, with their lifecycle columns and supplement rounds.

    ``frame`` is a :func:`write_dossier_frame` frame plus :data:`LIFECYCLE_COLUMNS` (missing ones take
    :data:`LIFECYCLE_DEFAULTS`); ``rounds`` has ``record`` (the label of the dossier's row in ``frame``),
    ``position``, ``requested_at``, ``supplied_at``, ``due_before``, ``due_after``. A dossier written
    again loses the rounds stored before (the later record replaces the earlier one, domain.md §4b).
    What the period queries keep of the rounds on the dossier (``supplement_rounds``, the count, and
    ``rounds_requested_until``, the last request) is taken from ``rounds`` here, beside them.
    Returns how many codes were already stored.
    """
    if frame.empty:
        return 0
    frame = frame.assign(**{c: v for c, v in LIFECYCLE_DEFAULTS.items() if c not in frame})
    requests = rounds.groupby("record")["requested_at"]
    frame["supplement_rounds"] = requests.size().reindex(frame.index, fill_value=0).astype("int64")
    frame["rounds_requested_until"] = (requests.max().reindex(frame.index).to_numpy(dtype="datetime64[us]")
                                       if len(rounds) else np.full(len(frame), np.datetime64("NaT"), "datetime64[us]"))
    rounds_stored = conn.scalar(select(SupplementRound.id).limit(1)) is not None
    updated = write_dossier_frame(conn, frame, calendar, extra=(*LIFECYCLE_COLUMNS, "rounds_requested_until"))
    # Only a dossier stored before can have rounds to replace (none when every code was new).
    replacing = bool(updated) and rounds_stored
    if not replacing and rounds.empty:
        return updated
    ids = dossier_ids(conn, frame["code"] if replacing else frame.loc[rounds["record"].unique(), "code"])
    if replacing:
        stale = list(ids.values())
        for start in range(0, len(stale), LOOKUP_CHUNK):
            conn.execute(SupplementRound.__table__.delete().where(
                SupplementRound.dossier_id.in_(stale[start:start + LOOKUP_CHUNK])))
    if not rounds.empty:
        rows = rounds.assign(dossier_id=frame.loc[rounds["record"], "code"].map(ids).to_numpy())
        insert_columns(conn, SupplementRound.__table__, ROUND_COLUMNS, _driver_columns(rows, ROUND_COLUMNS))
    return updated


STEP_COLUMNS = ("dossier_id", "at", "status", "unit", "handler", "handler_title", "content", "started_at",
                "step_due_at")


def write_progress_steps(conn: Connection, steps: pd.DataFrame) -> list[tuple[Any, str]]:
    """Add progress steps (``code`` names the dossier; the other columns are :data:`STEP_COLUMNS`) and set
    each touched dossier's ``handling_unit`` to the unit of its latest stored step.

    A step already stored (same dossier, moment and status) is kept once. Returns ``(row label, code)``
    of the steps whose dossier is not stored (nothing of them is written; the caller refuses the file).
    """
    if steps.empty:
        return []
    ids = dossier_ids(conn, steps["code"])
    dossier = steps["code"].map(ids)
    unknown = dossier.isna()
    missing = list(zip(steps.index[unknown.to_numpy()], steps["code"][unknown]))
    known = steps[~unknown].assign(dossier_id=dossier[~unknown].astype("int64"))
    if known.empty:
        return missing
    # Empty text is "not sent" (the columns are nullable): None, not "".
    known = known.assign(**{c: known[c].where(known[c] != "", None)
                            for c in ("unit", "handler", "handler_title", "content")})
    rows = [dict(zip(STEP_COLUMNS, values))
            for values in zip(*(_python_values(known[c]) for c in STEP_COLUMNS))]
    upsert(conn, ProgressStep.__table__, rows, ("dossier_id", "at", "status"), update=[])
    refresh_handling_units(conn, sorted(set(known["dossier_id"].tolist())))
    bump_data_version(conn)
    return missing


def _python_values(values: pd.Series) -> list:
    """Python values for SQLAlchemy: datetimes, ints, str, None for every missing value."""
    if values.dtype.kind == "M":
        return [None if pd.isna(v) else v.to_pydatetime() for v in values]
    return values.astype(object).where(values.notna(), None).tolist()


def refresh_handling_units(conn: Connection, ids: Sequence[int]) -> None:
    """``dossiers.handling_unit``: the PhongBanXuLy of the dossier's latest step (dvcqg-sync.md §5)."""
    step = ProgressStep.__table__.c
    latest = (select(step.unit).where(step.dossier_id == Dossier.__table__.c.id)
              .order_by(step.at.desc(), step.id.desc()).limit(1).scalar_subquery())
    for start in range(0, len(ids), LOOKUP_CHUNK):
        conn.execute(update(Dossier.__table__).where(Dossier.__table__.c.id.in_(ids[start:start + LOOKUP_CHUNK]))
                     .values(handling_unit=latest))


def insert_national_dossiers(conn: Connection, rows: Sequence[dict[str, Any]],
                             calendar: WorkCalendar | None = None) -> None:
    """New dossiers given as dicts that also carry lifecycle columns (the demo), through the bulk path of
    the national import (:func:`write_national_dossiers`, :func:`write_progress_steps`).

    A row has the keys of a :func:`write_dossiers` row, any of :data:`LIFECYCLE_COLUMNS` (the others
    take their default), and optionally ``rounds`` (dicts of ``requested_at``, ``supplied_at``,
    ``due_before``, ``due_after``) and ``steps`` (dicts of ``at``, ``status``, ``unit``, …). Each code once.
    """
    if not rows:
        return
    inputs = [c for c in DOSSIER_COLUMNS if c not in ("deadline_at", "resolution")]
    frame = pd.DataFrame({c: _cells([row.get(c) for row in rows]) for c in inputs}
                         | {c: _cells([row.get(c, default) for row in rows])
                            for c, default in LIFECYCLE_DEFAULTS.items()})
    rounds = pd.DataFrame(
        [{"record": i, "position": n, "requested_at": one["requested_at"], "supplied_at": one.get("supplied_at"),
          "due_before": one.get("due_before"), "due_after": one.get("due_after")}
         for i, row in enumerate(rows) for n, one in enumerate(row.get("rounds") or (), 1)],
        columns=["record", *ROUND_COLUMNS[1:]])
    rounds = rounds.assign(**{c: _cells(rounds[c].tolist()) for c in ROUND_COLUMNS[2:]})
    write_national_dossiers(conn, frame, rounds, calendar)
    steps = pd.DataFrame([{"code": row["code"], **{c: None for c in STEP_COLUMNS[1:]}, **one}
                          for row in rows for one in row.get("steps") or ()], columns=["code", *STEP_COLUMNS[1:]])
    write_progress_steps(conn, steps.assign(**{c: _cells(steps[c].tolist()) for c in ("at", "started_at",
                                                                                      "step_due_at")}))


def _cells(values: list) -> pd.Series:
    """A column of Python values as the bulk path takes it: datetime64 when every value is a datetime or
    None, else objects as they are (ints stay ints beside None, never floats)."""
    if (any(isinstance(v, dt.datetime) for v in values)
            and all(v is None or isinstance(v, dt.datetime) for v in values)):
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)).to_numpy(dtype="datetime64[us]"))
    return pd.Series(values, dtype=object)
