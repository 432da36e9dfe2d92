"""Writing agencies, fields, procedures and dossiers: the one path the importer, the demo and tests use.

Every function takes an open connection inside the caller's transaction (``with engine.begin()``), so
an import is all or nothing, and fills the derived dossier columns through :mod:`tthc_core.rules`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from .db import bulk_insert, bump_data_version, upsert
from .models import Agency, Dossier, Field, Procedure
from .rules import derive_dossier
from .workdays import WorkCalendar, load_calendar

DEFAULT_AGENCY_CODE = "DEFAULT"
DEFAULT_AGENCY_NAME = "Cơ quan mặc định"

DOSSIER_COLUMNS = ("code", "agency_id", "procedure_id", "field_id", "channel", "status", "received_at",
                   "due_at", "due_estimated", "resolved_at", "apology_count", "deadline_at", "resolution")


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


def default_agency_id(conn: Connection) -> int:
    """The database's default agency, created when there is none (rows without an agency go there)."""
    found = conn.scalar(select(Agency.id).where(Agency.is_default.is_(True)).order_by(Agency.id))
    if found is not None:
        return found
    only = conn.execute(select(Agency.id).limit(2)).scalars().all()
    if len(only) == 1:
        return only[0]
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


PROCEDURE_DEFAULTS = dict(
    field_id=None, authority_level="province", regulated_by="central", published=True, publicized=True,
    one_stop=False, lien_thong=False, postal=False, online_level=None, online_class=None, four_on_site=False,
    internal_process=False, processing_days=None, same_day_cutoff=None, active_from=None, active_to=None,
)


def write_procedures(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update procedures by (agency_id, code); columns a row leaves out take their defaults."""
    upsert(conn, Procedure.__table__, [{**PROCEDURE_DEFAULTS, **row} for row in rows], ("agency_id", "code"))
    bump_data_version(conn)


def fill_due_date(row: dict[str, Any], procedure: Any | None, calendar: WorkCalendar) -> None:
    """domain.md §5: a dossier without ``due_at`` is due its procedure's processing time later."""
    if row.get("due_at") is not None or procedure is None or procedure.processing_days is None:
        row["due_estimated"] = bool(row.get("due_estimated"))
        return
    row["due_at"] = calendar.due_date(row["received_at"], procedure.processing_days, procedure.same_day_cutoff)
    row["due_estimated"] = True


def write_dossiers(conn: Connection, rows: Sequence[dict[str, Any]],
                   calendar: WorkCalendar | None = None) -> None:
    """Insert or update dossiers by code, after filling due dates and the derived columns.

    Rows carry ``agency_id`` and, when known, ``procedure_id``/``field_id``; a missing field is taken
    from the procedure.
    """
    if not rows:
        return
    calendar = calendar or load_calendar(conn)
    procedures = {r.id: r for r in procedure_index(conn).values()}
    prepared = []
    for source in rows:
        row = {c: source.get(c) for c in DOSSIER_COLUMNS}
        row["status"] = row["status"] or "normal"
        row["apology_count"] = row["apology_count"] or 0
        procedure = procedures.get(row["procedure_id"]) if row["procedure_id"] else None
        if row["field_id"] is None and procedure is not None:
            row["field_id"] = procedure.field_id
        fill_due_date(row, procedure, calendar)
        derive_dossier(row)
        prepared.append(row)
    upsert(conn, Dossier.__table__, prepared, ("code",))
    bump_data_version(conn, dossiers=True)


def to_datetime(day: dt.date | dt.datetime | None) -> dt.datetime | None:
    if day is None or isinstance(day, dt.datetime):
        return day
    return dt.datetime.combine(day, dt.time())


def insert_dossiers(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Plain INSERT of dossiers known to be new (the demo, the new part of an import).

    Rows must already carry their due date; derived columns are filled here.
    """
    if not rows:
        return
    prepared = []
    for source in rows:
        row = {c: source.get(c) for c in DOSSIER_COLUMNS}
        row["status"] = row["status"] or "normal"
        row["apology_count"] = row["apology_count"] or 0
        row["due_estimated"] = bool(row["due_estimated"])
        prepared.append(derive_dossier(row))
    bulk_insert(conn, Dossier.__table__, prepared)
    bump_data_version(conn, dossiers=True)
