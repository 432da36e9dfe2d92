"""The counts of form II.06a for a period (domain.md §4), each rule in its SQL form and its column form.

A period [S, E] counts the dossiers *in scope* (col. 3: received by the end of E and still open at the
start of S), and each count is a condition on a dossier in scope. Both are written here twice, side by
side, so a reader checks one against the other at a glance:

- the **SQL form** (:func:`sql_scope`, :func:`sql_conditions`, :func:`sql_grouped_counts`): one
  ``GROUP BY`` with a ``SUM(CASE …)`` per count, the default everywhere;
- the **column form** (:func:`column_grouped_counts`): the same conditions as numpy masks over the
  in-memory copy of :mod:`tthc_core.columnar`, the fast path an application turns on for its engine
  (:func:`tthc_core.columnar.use_fast_path`).

``tests/test_counting.py`` compares the two on randomised data (hypothesis). The rules for one dossier
alone (its deadline, early / on time / late) are in :mod:`tthc_core.rules`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
from sqlalchemy import Boolean, and_, case, func, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from .models import Dossier, Setting
from .periods import Period

if TYPE_CHECKING:  # the copy's type only; columnar imports this module for the codes below
    from .columnar import DossierColumns

COUNT_KEYS = (
    "received_total", "received_online", "received_offline", "received_postal", "carried_over",
    "resolved_total", "resolved_early", "resolved_on_time", "resolved_late",
    "pending_total", "pending_in_time", "pending_overdue",
)

# Small integer codes of the copy's text columns (columnar.py stores them; the column form reads them).
CHANNEL_CODES = {"online": 0, "direct": 1, "postal": 2}
STATUS_CODES = {"normal": 0, "withdrawn": 1, "returned": 2, "suspended": 3, "stopped": 4}
RESOLUTION_CODES = {None: 0, "early": 1, "on_time": 2, "late": 3}
# Microseconds since 1970 of a missing moment (an open dossier's resolved_at, a missing due date).
NEVER = np.iinfo(np.int64).max
_EPOCH = dt.datetime(1970, 1, 1)

# domain.md §4: withdrawn and returned dossiers count as resolved on time (the provincial practice),
# or are left out of the table altogether.
WITHDRAWN_RETURNED = ("on_time", "exclude")


def to_us(moment: dt.datetime) -> int:
    """Microseconds since 1970 of a naive timestamp (the copy's unit)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def zero_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_KEYS, 0)


def sum_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """The counts of several rows added up (a total row, a group of agencies)."""
    total = zero_counts()
    for row in rows:
        for key in COUNT_KEYS:
            total[key] += row[key]
    return total


# --------------------------------------------------------------------------------------------
# The period and the settings that change a count
# --------------------------------------------------------------------------------------------

def bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """Start of day S and the cut-off moment: the end of day E, as the next midnight."""
    start = dt.datetime.combine(period.start, dt.time())
    cutoff = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time())
    return start, cutoff


def overdue_moment(period: Period, as_of: dt.date | None = None) -> dt.datetime:
    """When open dossiers are judged in time or overdue: the cut-off (end of day E), or the end of
    ``as_of`` (default today) for a period still running — a dossier due next week is not overdue now."""
    _, cutoff = bounds(period)
    today_end = dt.datetime.combine((as_of or dt.date.today()) + dt.timedelta(days=1), dt.time())
    return min(cutoff, today_end)


@dataclass(frozen=True)
class CountingSettings:
    """The choices domain.md leaves to the province, read from the ``settings`` table."""

    withdrawn_returned: str = "on_time"  # WITHDRAWN_RETURNED


def counting_settings(conn: Connection, withdrawn_returned: str | None = None) -> CountingSettings:
    """The stored settings; an explicit argument wins over the stored value."""
    stored = conn.scalar(select(Setting.value).where(Setting.key == "withdrawn_returned"))
    rule = withdrawn_returned or stored
    return CountingSettings(withdrawn_returned=rule if rule in WITHDRAWN_RETURNED else "on_time")


# --------------------------------------------------------------------------------------------
# SQL form
# --------------------------------------------------------------------------------------------

class likely(FunctionElement):  # noqa: N801 - reads like the SQL function it is on SQLite
    """A condition true for most rows: SQLite's ``likely(…)``, so its planner looks elsewhere for an
    index; the bare condition on other engines, whose planners have statistics."""

    type = Boolean()
    inherit_cache = True
    name = "likely"


@compiles(likely)
def _likely_bare(element: likely, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(likely, "sqlite")
def _likely_sqlite(element: likely, compiler, **kw) -> str:
    return f"likely({compiler.process(element.clauses, **kw)})"


def sql_scope(period: Period, agency_ids: list[int] | None,
              settings: CountingSettings) -> list[ColumnElement[bool]]:
    """Col. 3 of the form: new in the period, or carried over from before it and still open at its start."""
    d = Dossier.__table__.c
    start, cutoff = bounds(period)
    # Equivalent to (new) OR (received before S AND open at S) because resolved >= received day.
    # "Received before the cut-off" holds for nearly all history: the rows come through the resolved_at
    # index instead (open, or resolved since S), so the cost follows the dossiers active in the period,
    # not the years stored (bench: 10-year history against 3-year).
    where = [likely(d.received_at < cutoff), or_(d.resolved_at.is_(None), d.resolved_at >= start)]
    if agency_ids is not None:
        where.append(d.agency_id.in_(agency_ids))
    if settings.withdrawn_returned == "exclude":
        where.append(d.status.not_in(("withdrawn", "returned")))
    return where


def sql_conditions(period: Period, as_of: dt.date | None = None) -> dict[str, ColumnElement[bool]]:
    """Each count of domain.md §4 as a condition on a dossier already in :func:`sql_scope`."""
    d = Dossier.__table__.c
    start, cutoff = bounds(period)
    judged_at = overdue_moment(period, as_of)
    new = d.received_at >= start
    resolved = and_(d.resolved_at.is_not(None), d.resolved_at < cutoff)
    pending = or_(d.resolved_at.is_(None), d.resolved_at >= cutoff)
    # Suspended dossiers still open count in time; one without any deadline cannot be overdue.
    in_time = or_(d.status == "suspended", d.deadline_at.is_(None), d.deadline_at >= judged_at)
    return {
        "received_total": true(),
        "received_online": and_(new, d.channel == "online"),
        "received_offline": and_(new, d.channel != "online"),
        "received_postal": and_(new, d.channel == "postal"),
        "carried_over": d.received_at < start,
        "resolved_total": resolved,
        "resolved_early": and_(resolved, d.resolution == "early"),
        "resolved_on_time": and_(resolved, d.resolution == "on_time"),
        "resolved_late": and_(resolved, d.resolution == "late"),
        "pending_total": pending,
        "pending_in_time": and_(pending, in_time),
        "pending_overdue": and_(pending, ~in_time),
    }


GROUP_COLUMNS = {"field": "field_id", "agency": "agency_id", "procedure": "procedure_id", "level": "agency_id"}


def sql_grouped_counts(conn: Connection, period: Period, agency_ids: list[int] | None, by: str,
                       settings: CountingSettings, as_of: dt.date | None = None) -> dict[Any, dict[str, int]]:
    """``{group id (None when unknown): counts}`` by one GROUP BY with a SUM(CASE …) per count."""
    d = Dossier.__table__.c
    counts = [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(key)
              for key, cond in sql_conditions(period, as_of).items()]
    group_col = d[GROUP_COLUMNS[by]]
    stmt = (select(group_col.label("gid"), *counts)
            .where(*sql_scope(period, agency_ids, settings))
            .group_by(group_col))
    return {r.gid: {k: int(getattr(r, k)) for k in COUNT_KEYS} for r in conn.execute(stmt)}


# --------------------------------------------------------------------------------------------
# Column form (the same rules over the copy's arrays, in microseconds since 1970)
# --------------------------------------------------------------------------------------------

# The copy is sorted by received_at; a period reads the slice received in [S - WINDOW, E] plus the
# dossiers that stayed open longer than WINDOW (the copy's ``long_idx``), so its cost follows the
# dossiers active in the period, not the length of the history.
WINDOW = dt.timedelta(days=180)
WINDOW_US = int(WINDOW.total_seconds() * 1e6)


def column_scope(cols: DossierColumns, part: slice | np.ndarray, period: Period, agency_ids: list[int] | None,
                 settings: CountingSettings) -> np.ndarray:
    """:func:`sql_scope` over the rows ``part`` of the copy (a slice or positions): the positions in scope."""
    start, cutoff = bounds(period)
    s, c = to_us(start), to_us(cutoff)
    scope = (cols.received[part] < c) & (cols.resolved[part] >= s)  # NEVER (open) >= s
    if agency_ids is not None:
        scope &= np.isin(cols.agency[part], np.asarray(agency_ids, dtype=np.int64))
    if settings.withdrawn_returned == "exclude":
        status = cols.status[part]
        scope &= (status != STATUS_CODES["withdrawn"]) & (status != STATUS_CODES["returned"])
    if isinstance(part, slice):  # a view of the sorted arrays: positions shift by its start
        return np.flatnonzero(scope) + (part.start or 0)
    return part[scope]


def column_conditions(cols: DossierColumns, rows: np.ndarray, period: Period,
                      as_of: dt.date | None = None) -> dict[str, np.ndarray | None]:
    """:func:`sql_conditions` as masks over the copy's ``rows`` (``None``: every row)."""
    start, cutoff = bounds(period)
    s, c, j = to_us(start), to_us(cutoff), to_us(overdue_moment(period, as_of))
    received, resolved_at = cols.received[rows], cols.resolved[rows]
    channel, status = cols.channel[rows], cols.status[rows]
    resolution, deadline = cols.resolution[rows], cols.deadline[rows]
    new = received >= s
    resolved = resolved_at < c
    pending = ~resolved
    # Suspended dossiers still open count in time; a missing deadline is NEVER, so never overdue.
    in_time = (status == STATUS_CODES["suspended"]) | (deadline >= j)
    return {
        "received_total": None,
        "received_online": new & (channel == CHANNEL_CODES["online"]),
        "received_offline": new & (channel != CHANNEL_CODES["online"]),
        "received_postal": new & (channel == CHANNEL_CODES["postal"]),
        "carried_over": ~new,
        "resolved_total": resolved,
        "resolved_early": resolved & (resolution == RESOLUTION_CODES["early"]),
        "resolved_on_time": resolved & (resolution == RESOLUTION_CODES["on_time"]),
        "resolved_late": resolved & (resolution == RESOLUTION_CODES["late"]),
        "pending_total": pending,
        "pending_in_time": pending & in_time,
        "pending_overdue": pending & ~in_time,
    }


def column_grouped_counts(cols: DossierColumns, period: Period, agency_ids: list[int] | None, by: str,
                          settings: CountingSettings, as_of: dt.date | None = None) -> dict[Any, dict[str, int]]:
    """:func:`sql_grouped_counts` over the copy: the same result, groups without dossiers left out."""
    start, cutoff = bounds(period)
    lo = int(np.searchsorted(cols.received, to_us(start) - WINDOW_US))
    hi = int(np.searchsorted(cols.received, to_us(cutoff)))
    long_open_before = cols.long_idx[: int(np.searchsorted(cols.long_idx, lo))]
    group_of = {"field": cols.field, "agency": cols.agency, "level": cols.agency, "procedure": cols.procedure}[by]
    size = cols.group_size
    totals: dict[str, np.ndarray] = {}
    for part in (slice(lo, hi), long_open_before):
        rows = column_scope(cols, part, period, agency_ids, settings)
        if not len(rows):
            continue
        group = group_of[rows] + 1  # -1 (unknown) becomes bin 0
        for key, mask in column_conditions(cols, rows, period, as_of).items():
            counted = np.bincount(group if mask is None else group[mask], minlength=size)
            totals[key] = totals[key] + counted if key in totals else counted
    if not totals:
        return {}
    present = np.flatnonzero(totals["received_total"])
    return {(None if gid == 0 else int(gid) - 1): {k: int(v[gid]) for k, v in totals.items()} for gid in present}
