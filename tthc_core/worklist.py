"""What needs action now ("cần xử lý"): dossiers overdue, and dossiers due within a few working days.

Both lists judge open dossiers at the end of a day ``at``, under the counting rules of form II.06a
(:func:`tthc_core.counting.sql_conditions`, domain.md §4): a dossier is overdue exactly when column
(13) "đang giải quyết quá hạn" of a period ending on ``at`` counts it, so the overview's card and this
list always agree. "Due soon" uses the Vietnamese working-day calendar (:mod:`tthc_core.workdays`):
a dossier received on Thursday and due next Tuesday is due in 3 working days, not 5 calendar days.

No Streamlit here: the dashboard's panel, its CSV and the digest (issue 17) read the same functions.
"""
from __future__ import annotations

import datetime as dt
import os
from typing import Any, Sequence

from sqlalchemy import Engine, func, select

from . import counting, stats
from .auth import Scope, restrict
from .db import get_engine
from .formatting import vietnam_today
from .models import Agency, Dossier, Field, Procedure
from .periods import Period, parse_period
from .workdays import load_calendar

DUE_SOON_ENV = "TTHC_DUE_SOON_DAYS"
DEFAULT_DUE_SOON_DAYS = 3


def due_soon_days() -> int:
    """The configured window of "due soon" in working days (``TTHC_DUE_SOON_DAYS``, default 3)."""
    try:
        return max(0, int(os.environ.get(DUE_SOON_ENV, DEFAULT_DUE_SOON_DAYS)))
    except ValueError:
        return DEFAULT_DUE_SOON_DAYS


def judged_on(period: Period, as_of: dt.date | None = None) -> dt.date:
    """The day a period's open dossiers are judged on: its last day, or ``as_of`` (today) while it
    runs — the same moment as column (13) (:func:`tthc_core.stats.overdue_moment`)."""
    return min(period.end, as_of or vietnam_today())


def _day(at: dt.date) -> Period:
    return parse_period(f"{at.isoformat()}..{at.isoformat()}", "calendar")


def _open_at(conn, at: dt.date, agency: str | Sequence[str] | None, condition: str, period: Period | None = None):
    """The select of dossiers of the period (default: the day ``at``) that ``counting.sql_conditions``
    puts in ``condition`` at the end of ``at`` (open ones for the pending conditions)."""
    period = period or _day(at)
    ids = stats._agency_ids(conn, stats._agency_codes(agency))
    settings = counting.counting_settings(conn)
    d = Dossier.__table__.c
    return (
        select(d.code, Agency.code.label("agency_code"), Agency.name.label("agency_name"),
               Procedure.code.label("procedure_code"), Procedure.name.label("procedure_name"),
               Field.name.label("field"), d.handling_unit, d.channel, d.received_at, d.due_at, d.deadline_at)
        .select_from(Dossier.__table__
                     .join(Agency.__table__, Agency.id == d.agency_id)
                     .outerjoin(Procedure.__table__, Procedure.id == d.procedure_id)
                     .outerjoin(Field.__table__, Field.id == d.field_id))
        .where(*counting.sql_scope(period, ids, settings), counting.sql_conditions(period, at, settings)[condition])
    )


def _rows(conn, stmt) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    for row in rows:
        row["procedure_name"] = row["procedure_name"] or stats.NO_PROCEDURE
        row["field"] = row["field"] or stats.NO_FIELD
    return rows


def _end_of(at: dt.date) -> dt.datetime:
    return dt.datetime.combine(at + dt.timedelta(days=1), dt.time())


def overdue(db: str | Engine | None, at: dt.date, agency: str | Sequence[str] | None = None,
            scope: Scope | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Dossiers open and past their deadline at the end of ``at``, the longest overdue first.

    ``days_overdue``: whole calendar days (rounded up) from the deadline to the end of ``at`` — a
    dossier due (date only) yesterday is 1 day overdue today.
    """
    agency = restrict(scope, agency)
    judged = _end_of(at)
    with get_engine(db).connect() as conn:
        stmt = _open_at(conn, at, agency, "pending_overdue").order_by(Dossier.deadline_at, Dossier.code)
        rows = _rows(conn, stmt.limit(limit) if limit else stmt)
    for row in rows:
        late = judged - row["deadline_at"]
        row["days_overdue"] = late.days + (1 if late.seconds or late.microseconds else 0)
    return rows


def _due_soon_select(conn, at: dt.date, working_days: int, agency: str | Sequence[str] | None):
    d = Dossier.__table__.c
    last_day = load_calendar(conn).add_working_days(at, working_days) if working_days > 0 else at
    # A date-only due date D has its deadline at D+1 00:00; a timed one on D falls before it.
    return (_open_at(conn, at, agency, "pending_in_time")
            .where(d.status != "suspended", d.deadline_at.is_not(None), d.deadline_at <= _end_of(last_day)))


def due_soon(db: str | Engine | None, at: dt.date, working_days: int = DEFAULT_DUE_SOON_DAYS,
             agency: str | Sequence[str] | None = None, scope: Scope | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
    """Dossiers open and in time at the end of ``at`` whose due date falls within the next
    ``working_days`` working days (due today counts, with 0 days left), the soonest first.
    Suspended dossiers wait for the applicant and are left out.

    ``working_days_left``: working days after ``at`` up to and including the due day.
    """
    agency = restrict(scope, agency)
    with get_engine(db).connect() as conn:
        calendar = load_calendar(conn)
        stmt = _due_soon_select(conn, at, working_days, agency).order_by(Dossier.deadline_at, Dossier.code)
        rows = _rows(conn, stmt.limit(limit) if limit else stmt)
    for row in rows:
        due_day = row["due_at"].date() if row["due_at"] is not None else (row["deadline_at"] - dt.timedelta(1)).date()
        row["working_days_left"] = calendar.working_days_between(at + dt.timedelta(days=1), due_day)
    return rows


def resolved_late(db: str | Engine | None, since: dt.date, at: dt.date, agency: str | Sequence[str] | None = None,
                  scope: Scope | None = None) -> list[dict[str, Any]]:
    """Dossiers resolved late from ``since`` to the end of ``at`` (column (10) of that span), by resolution
    (the digest's "giải quyết quá hạn từ bản tin trước")."""
    agency = restrict(scope, agency)
    span = parse_period(f"{since.isoformat()}..{at.isoformat()}", "calendar")
    d = Dossier.__table__.c
    with get_engine(db).connect() as conn:
        stmt = _open_at(conn, at, agency, "resolved_late", span).add_columns(d.resolved_at)
        return _rows(conn, stmt.order_by(d.resolved_at, d.code))


def counts(db: str | Engine | None, at: dt.date, working_days: int = DEFAULT_DUE_SOON_DAYS,
           agency: str | Sequence[str] | None = None, scope: Scope | None = None) -> dict[str, int]:
    """How many dossiers each list holds (for the KPI row and the digest)."""
    agency = restrict(scope, agency)
    with get_engine(db).connect() as conn:
        late = _open_at(conn, at, agency, "pending_overdue").subquery()
        soon = _due_soon_select(conn, at, working_days, agency).subquery()
        return {"overdue": int(conn.scalar(select(func.count()).select_from(late)) or 0),
                "due_soon": int(conn.scalar(select(func.count()).select_from(soon)) or 0)}
