"""The counts of form II.06a for a period (domain.md §4), each rule in its SQL form and its column form.

A period [S, E] counts the dossiers *in scope* (col. 3: accepted, received by the end of E and still
open at the start of S), and each count is a condition on a dossier in scope. Three moments matter:
the start of S, the cut-off C (the end of E, stored as the next midnight) that decides resolved or
pending, and the judging moment J (C, or the end of ``as_of`` for a running period) at which a
pending dossier is suspended or not and its due date in force is read (domain.md §4b). Scope and
counts are written here twice, side by side, so a reader checks one against the other at a glance:

- the **SQL form** (:func:`sql_scope`, :func:`sql_conditions`, :func:`sql_grouped_counts`): one
  ``GROUP BY`` with a ``SUM(CASE …)`` per count, the default everywhere;
- the **column form** (:func:`column_grouped_counts`): the same conditions as numpy masks over the
  in-memory copy of :mod:`tthc_core.columnar`, the fast path an application turns on for its engine
  (:func:`tthc_core.columnar.use_fast_path`).

``tests/test_counting.py`` compares both with the row reference :func:`tthc_core.rules.count_keys` on
randomised data (hypothesis), supplement rounds and settings included.

Deadlines are judged at query time from ``due_at`` and the rounds (the stored ``deadline_at`` is for
lists), so the deadline basis setting takes effect on the next query, for every period, with nothing
to re-derive. The stored ``resolution`` (moment basis, current due date) is used where it is exact:
dossiers without rounds, on the moment basis; otherwise the resolution is judged in the query.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
from sqlalchemy import Boolean, and_, case, exists, false, func, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from .db import bump_data_version, get_engine
from .formatting import vietnam_today
from .models import Dossier, Setting, SupplementRound
from .periods import Period
from .rules import ALWAYS_ON_TIME, DEADLINE_BASES, STOPPED, WITHDRAWN_RETURNED, CountingSettings

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
_DAY = dt.timedelta(days=1)
DAY_US = 86_400_000_000


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
    today_end = dt.datetime.combine((as_of or vietnam_today()) + dt.timedelta(days=1), dt.time())
    return min(cutoff, today_end)


# The settings keys and the values each may take (the first is the default).
SETTINGS = {"withdrawn_returned": WITHDRAWN_RETURNED, "stopped_dossiers": STOPPED, "deadline_basis": DEADLINE_BASES}
DEADLINE_BASIS_LABELS = {
    "moment": "Quá hạn tính theo thời điểm hẹn trả (cách tính của Cổng DVCQG; hẹn trả lúc 00:00 là hết ngày đó)",
    "calendar_day": "Quá hạn tính theo ngày (trả kết quả sau ngày hẹn trả mới là quá hạn)",
}


def _stored(conn: Connection) -> dict[str, str]:
    rows = conn.execute(select(Setting.key, Setting.value).where(Setting.key.in_(SETTINGS))).all()
    return {key: value for key, value in rows if value in SETTINGS[key]}


def counting_settings(conn: Connection, withdrawn_returned: str | None = None) -> CountingSettings:
    """The stored settings (defaults where none is stored); an explicit argument wins."""
    stored = _stored(conn)
    rule = withdrawn_returned if withdrawn_returned in WITHDRAWN_RETURNED else stored.get("withdrawn_returned")
    return CountingSettings(withdrawn_returned=rule or WITHDRAWN_RETURNED[0],
                            stopped=stored.get("stopped_dossiers", STOPPED[0]),
                            deadline_basis=stored.get("deadline_basis", DEADLINE_BASES[0]))


def deadline_basis(conn: Connection) -> str:
    """``moment`` (default, the national method) or ``calendar_day``."""
    return _stored(conn).get("deadline_basis", DEADLINE_BASES[0])


def deadline_basis_label(basis: str) -> str:
    """The basis in Vietnamese, for the workbook's notes and the data page."""
    return DEADLINE_BASIS_LABELS[basis]


def set_counting_setting(db, key: str, value: str) -> None:
    """Store one counting setting. It applies from the next query to every period (deadlines and
    resolutions are judged at query time); the data version moves so cached figures are recomputed.
    The columnar copy does not depend on settings and stays valid."""
    if value not in SETTINGS.get(key, ()):
        raise ValueError(f"Giá trị «{value}» không hợp lệ cho thiết lập «{key}».")
    with get_engine(db).begin() as conn:
        conn.execute(Setting.__table__.delete().where(Setting.key == key))
        conn.execute(Setting.__table__.insert().values(key=key, value=value))
        bump_data_version(conn)


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


# Never accepted (TrangThaiHoSo 1) or refused (3): outside every column (domain.md §4b). The copy
# reads only the accepted dossiers (columnar.load).
ACCEPTED = Dossier.__table__.c.intake == "accepted"


def sql_scope(period: Period, agency_ids: list[int] | None,
              settings: CountingSettings) -> list[ColumnElement[bool]]:
    """Col. 3 of the form: new in the period, or carried over from before it and still open at its start."""
    d = Dossier.__table__.c
    start, _ = bounds(period)
    # Equivalent to (new) OR (received before S AND open at S) because resolved >= received day.
    # "Received before the cut-off" holds for nearly all history: the rows come through the resolved_at
    # index instead (open, or resolved since S), so the cost follows the dossiers active in the period,
    # not the years stored (bench: 10-year history against 3-year).
    open_at_start = or_(d.resolved_at.is_(None), d.resolved_at >= start)
    if settings.stopped == "suspended":  # a stopped dossier stays open whatever its end date
        open_at_start = or_(open_at_start, d.status == "stopped")
    return [*_sql_filters(period, agency_ids, settings), open_at_start]


def _sql_filters(period: Period, agency_ids: list[int] | None,
                 settings: CountingSettings) -> list[ColumnElement[bool]]:
    """The scope's conditions other than "open at the start": received by the cut-off, accepted, the
    agencies, the statuses a setting leaves out."""
    d = Dossier.__table__.c
    _, cutoff = bounds(period)
    where = [likely(d.received_at < cutoff), likely(ACCEPTED)]
    if agency_ids is not None:
        where.append(d.agency_id.in_(agency_ids))
    if settings.excluded_statuses:
        where.append(d.status.not_in(settings.excluded_statuses))
    return where


class midnight(FunctionElement):  # noqa: N801 - a predicate like the SQL it compiles to
    """The moment is 00:00:00 (a date-only due date), to the second: SQLite's ``time()`` has no finer
    unit, and due dates come in seconds (dvcqg ``yyyyMMddHHmmss``) or minutes (CSV)."""

    type = Boolean()
    inherit_cache = True
    name = "midnight"


@compiles(midnight)
def _midnight(element: midnight, compiler, **kw) -> str:
    return f"CAST(date_trunc('second', {compiler.process(element.clauses, **kw)}) AS TIME) = TIME '00:00:00'"


@compiles(midnight, "sqlite")
def _midnight_sqlite(element: midnight, compiler, **kw) -> str:
    return f"time({compiler.process(element.clauses, **kw)}) = '00:00:00'"


def _sql_first_round(value: ColumnElement, after: ColumnElement[bool]) -> Any:
    """``value`` (an expression over the round's and the dossier's columns) for the dossier's first round
    matching ``after``, in request order; NULL when there is none."""
    r = SupplementRound.__table__.c
    return (select(value).where(r.dossier_id == Dossier.__table__.c.id, after)
            .order_by(r.requested_at, r.position, r.id).limit(1).scalar_subquery())


def _sql_in_time(due: ColumnElement, judged_at: dt.datetime, basis: str) -> ColumnElement[bool]:
    """:func:`rules.in_time_at` with ``judged_at`` a midnight: no date arithmetic in SQL. On the moment
    basis a date-only due date on the judging day itself (its deadline is that midnight) is in time."""
    if basis == "calendar_day":
        return or_(due.is_(None), due >= judged_at - _DAY)
    return or_(due.is_(None), due >= judged_at, due == judged_at - _DAY)


def _sql_resolution(due: ColumnElement, basis: str) -> ColumnElement:
    """:func:`rules.resolution_of` in SQL, for a resolved dossier and the due date in force at its end."""
    d = Dossier.__table__.c
    resolved_day, due_day = func.date(d.resolved_at), func.date(due)
    if basis == "calendar_day":
        late = resolved_day > due_day
    else:  # after a timed due moment, or on a later day than a date-only due date
        late = and_(d.resolved_at > due, or_(resolved_day > due_day, ~midnight(due)))
    return case((or_(d.status.in_(ALWAYS_ON_TIME), due.is_(None)), "on_time"),
                (resolved_day < due_day, "early"), (late, "late"), else_="on_time")


def _sql_resolution_judged(basis: str) -> ColumnElement:
    """A resolved dossier's resolution against the due date in force at the resolution
    (rules.due_at_resolution): the ``due_before`` of the first round requested after it, else its own
    due date, against which the stored resolution is exact (moment basis).

    The rounds are read only when ``rounds_requested_until`` says one came after the resolution, or does
    not say (NULL: rounds stored before the column); the first such round then judges the dossier inside
    its own subquery. (Judged outside, against a subquery for the due date, the CASE ran that subquery
    at each of its half a dozen mentions of the due date, for each count.)"""
    d = Dossier.__table__.c
    r = SupplementRound.__table__.c
    own = d.resolution if basis == "moment" else _sql_resolution(d.due_at, basis)
    round_after_end = and_(d.supplement_rounds > 0, or_(d.rounds_requested_until.is_(None),
                                                         d.rounds_requested_until > d.resolved_at))
    by_round = _sql_first_round(_sql_resolution(func.coalesce(r.due_before, d.due_at), basis),
                                r.requested_at > d.resolved_at)
    return case((round_after_end, func.coalesce(by_round, own)), else_=own)


def sql_conditions(period: Period, as_of: dt.date | None = None,
                   settings: CountingSettings = CountingSettings(),
                   open_without_rounds: bool = False, carried_over: bool = False,
                   still_open: bool = False) -> dict[str, ColumnElement[bool]]:
    """Each count of domain.md §4 and §4b as a condition on a dossier already in :func:`sql_scope`.

    ``still_open``: the same conditions for dossiers known to be still open (``resolved_at`` NULL), where
    nothing is resolved; ``open_without_rounds``: still open and without supplement rounds, where they
    reduce to their pending part (no resolution, no rounds); ``carried_over``: for dossiers known to be
    received before the period. The branches that read the never-closed dossiers, spread over the
    whole history, then pay one comparison or two per row and no correlated subquery, and the open ones
    with rounds read no column their index lacks (:func:`sql_branches`)."""
    d = Dossier.__table__.c
    r = SupplementRound.__table__.c
    start, cutoff = bounds(period)
    judged_at = overdue_moment(period, as_of)
    stopped_suspended = d.status == "stopped" if settings.stopped == "suspended" else false()
    # Rounds are read only for the dossiers that have some (the stored count), so the rest costs nothing.
    has_rounds = d.supplement_rounds > 0
    new = false() if carried_over else d.received_at >= start
    basis = settings.deadline_basis
    if still_open or open_without_rounds:  # resolved_at IS NULL: never resolved by the cut-off
        resolved, pending, resolution = false(), true(), d.resolution
    else:
        resolved = and_(d.resolved_at.is_not(None), d.resolved_at < cutoff, ~stopped_suspended)
        pending = ~resolved
        resolution = _sql_resolution_judged(basis)
    if open_without_rounds:
        in_time = or_(stopped_suspended, d.status == "suspended", _sql_in_time(d.due_at, judged_at, basis))
    else:
        # Pending: suspended at J from the rounds when there are any, else from the status; otherwise
        # the due date in force at J (rules.suspended_at, rules.due_in_force_at): the due_before of the
        # first round requested from J on, else the dossier's due date, judged inside that round's
        # subquery (as _sql_resolution_judged: not a subquery at each mention of the due date).
        round_open = exists().where(r.dossier_id == d.id, r.requested_at < judged_at,
                                    or_(r.supplied_at.is_(None), r.supplied_at >= judged_at))
        in_force = _sql_first_round(_sql_in_time(func.coalesce(r.due_before, d.due_at), judged_at, basis),
                                    r.requested_at >= judged_at)
        by_rounds = or_(round_open, func.coalesce(in_force, _sql_in_time(d.due_at, judged_at, basis)))
        in_time = or_(stopped_suspended, case(
            (has_rounds, by_rounds),
            else_=or_(d.status == "suspended", _sql_in_time(d.due_at, judged_at, basis))))
    return {
        "received_total": true(),
        "received_online": and_(new, d.channel == "online"),
        "received_offline": and_(new, d.channel != "online"),
        "received_postal": and_(new, d.channel == "postal"),
        "carried_over": ~new,  # received_at is never NULL
        "resolved_total": resolved,
        "resolved_early": and_(resolved, resolution == "early"),
        "resolved_on_time": and_(resolved, resolution == "on_time"),
        "resolved_late": and_(resolved, resolution == "late"),
        "pending_total": pending,
        "pending_in_time": and_(pending, in_time),
        "pending_overdue": and_(pending, ~in_time),
    }




# The dossier column a grouping counts by (level: by agency, its level looked up afterwards); the
# columnar copy's arrays have the same names without "_id" (DossierColumns.group_column).
GROUP_COLUMNS = {"field": "field_id", "agency": "agency_id", "procedure": "procedure_id", "level": "agency_id"}


def sql_branches(period: Period, settings: CountingSettings) -> list[tuple[ColumnElement[bool], dict[str, bool]]]:
    """:func:`sql_scope`'s "open at the start" split by how a dossier ended, each branch read through
    its own index (disjoint; together exactly that condition), with the :func:`sql_conditions` form it
    takes (what is known of its dossiers):

    - still open without supplement rounds, received before the period, then in it:
      ``ix_dossiers_open`` (``ix_dossiers_open_pg`` on PostgreSQL), a partial index holding every
      column their short forms read (an index-only read); the never-closed dossiers, spread over the
      whole history in real data, are the first, and cost an index entry and a comparison or two each,
      not a table page and the full CASEs;
    - still open with rounds (few): the same index, the full conditions;
    - resolved in the period, and resolved after it (pending at the cut-off): ``ix_dossiers_resolved``.
    """
    d = Dossier.__table__.c
    start, cutoff = bounds(period)
    bare = and_(d.resolved_at.is_(None), d.supplement_rounds == 0)
    branches = [(and_(bare, d.received_at < start), {"open_without_rounds": True, "carried_over": True}),
                (and_(bare, d.received_at >= start), {"open_without_rounds": True}),
                (and_(d.resolved_at.is_(None), d.supplement_rounds > 0), {"still_open": True}),
                (and_(d.resolved_at >= start, d.resolved_at < cutoff), {}), (d.resolved_at >= cutoff, {})]
    if settings.stopped == "suspended":  # stopped before the start but counted as still open
        branches.append((and_(d.resolved_at < start, d.status == "stopped"), {}))
    return branches


def sql_grouped_counts(conn: Connection, period: Period, agency_ids: list[int] | None, by: str,
                       settings: CountingSettings, as_of: dt.date | None = None) -> dict[Any, dict[str, int]]:
    """``{group id (None when unknown): counts}``: a GROUP BY with a SUM(CASE …) per count, one for each
    of :func:`sql_branches` (the province) or one over them all (some agencies), added up."""
    d = Dossier.__table__.c

    def counts(known: dict[str, bool]) -> list:
        return [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(key) for key, cond in
                sql_conditions(period, as_of, settings, **known).items()]

    group_col = d[GROUP_COLUMNS[by]]
    scope = _sql_filters(period, agency_ids, settings)
    branches = sql_branches(period, settings)
    if agency_ids is not None:  # one agency's history is read faster through ix_dossiers_agency_received
        branches = [(or_(*(branch for branch, _ in branches)), {})]
    groups: dict[Any, list[dict[str, int]]] = {}
    for branch, known in branches:
        stmt = select(group_col.label("gid"), *counts(known)).where(*scope, branch).group_by(group_col)
        for r in conn.execute(stmt):
            groups.setdefault(r.gid, []).append({k: int(getattr(r, k)) for k in COUNT_KEYS})
    return {gid: sum_counts(rows) for gid, rows in groups.items()}



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
    """:func:`sql_scope` over the rows ``part`` of the copy (a slice or positions): the positions in scope.

    The copy holds the accepted dossiers only (``columnar.load`` reads them with :data:`ACCEPTED`)."""
    start, cutoff = bounds(period)
    s, c = to_us(start), to_us(cutoff)
    status = cols.status[part]
    open_at_start = cols.resolved[part] >= s  # NEVER (open) >= s
    if settings.stopped == "suspended":
        open_at_start |= status == STATUS_CODES["stopped"]
    scope = (cols.received[part] < c) & open_at_start
    if agency_ids is not None:
        scope &= np.isin(cols.agency[part], np.asarray(agency_ids, dtype=np.int64))
    if settings.excluded_statuses:
        scope &= ~np.isin(status, [STATUS_CODES[s] for s in settings.excluded_statuses])
    if isinstance(part, slice):  # a view of the sorted arrays: positions shift by its start
        return np.flatnonzero(scope) + (part.start or 0)
    return part[scope]


def _column_first_round_due(cols: DossierColumns, rows: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The column form of :func:`_sql_first_round` for the due date: the ``due_before`` of each row's first
    round among those where ``after`` holds (the copy keeps rounds ordered by row, request, position, id);
    NEVER if none."""
    found = np.full(len(rows), NEVER, dtype=np.int64)
    round_rows = cols.round_row[after]
    if not len(round_rows):
        return found
    first_rows, first = np.unique(round_rows, return_index=True)  # the first occurrence of each row
    k = np.minimum(np.searchsorted(first_rows, rows), len(first_rows) - 1)
    hit = first_rows[k] == rows
    found[hit] = cols.round_due_before[after][first[k[hit]]]
    return found


def _column_in_time(due: np.ndarray, j: int, basis: str) -> np.ndarray:
    """:func:`_sql_in_time` by column (a missing due date is NEVER, so always in time)."""
    if basis == "calendar_day":
        return due >= j - DAY_US
    return (due >= j) | (due == j - DAY_US)


def _column_resolution(due: np.ndarray, resolved: np.ndarray, status: np.ndarray, basis: str) -> np.ndarray:
    """:func:`_sql_resolution` by column, as RESOLUTION_CODES."""
    resolved_day, due_day = resolved // DAY_US, due // DAY_US
    if basis == "calendar_day":
        late = resolved_day > due_day
    else:
        late = (resolved > due) & ((resolved_day > due_day) | (due % DAY_US != 0))
    always = np.isin(status, [STATUS_CODES[s] for s in ALWAYS_ON_TIME]) | (due == NEVER)
    out = np.full(len(due), RESOLUTION_CODES["on_time"], dtype=np.int8)
    out[late & ~always] = RESOLUTION_CODES["late"]
    out[(resolved_day < due_day) & ~always] = RESOLUTION_CODES["early"]
    return out


def column_conditions(cols: DossierColumns, rows: np.ndarray, period: Period, as_of: dt.date | None = None,
                      settings: CountingSettings = CountingSettings()) -> dict[str, np.ndarray | None]:
    """:func:`sql_conditions` as masks over the copy's ``rows`` (``None``: every row)."""
    start, cutoff = bounds(period)
    s, c, j = to_us(start), to_us(cutoff), to_us(overdue_moment(period, as_of))
    received, resolved_at = cols.received[rows], cols.resolved[rows]
    channel, status, due = cols.channel[rows], cols.status[rows], cols.due[rows]
    stopped_suspended = (status == STATUS_CODES["stopped"] if settings.stopped == "suspended"
                         else np.zeros(len(rows), dtype=bool))
    has_rounds = cols.has_rounds[rows]
    new = received >= s
    resolved = (resolved_at < c) & ~stopped_suspended
    pending = ~resolved
    # Resolved: judged against the due date in force at the resolution.
    due_at_end, resolution = due, cols.resolution[rows]
    if cols.has_any_rounds:
        later = _column_first_round_due(cols, rows, cols.round_requested > cols.resolved[cols.round_row])
        due_at_end = np.where(has_rounds & (later != NEVER), later, due)
    if settings.deadline_basis == "moment":  # the stored resolution is exact without rounds
        if cols.has_any_rounds:
            judged = _column_resolution(due_at_end, resolved_at, status, "moment")
            resolution = np.where(has_rounds, judged, resolution)
    else:
        resolution = _column_resolution(due_at_end, resolved_at, status, settings.deadline_basis)
    # Pending: suspended at J from the rounds when there are any, else from the status.
    suspended = status == STATUS_CODES["suspended"]
    due_at_judging = due
    if cols.has_any_rounds:
        round_open = (cols.round_requested < j) & ((cols.round_supplied == NEVER) | (cols.round_supplied >= j))
        suspended = np.where(has_rounds, np.isin(rows, cols.round_row[round_open]), suspended)
        later = _column_first_round_due(cols, rows, cols.round_requested >= j)
        due_at_judging = np.where(has_rounds & (later != NEVER), later, due)
    in_time = stopped_suspended | suspended | _column_in_time(due_at_judging, j, settings.deadline_basis)
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
    dormant = cols.dormant
    long_open_before = dormant.others[: int(np.searchsorted(dormant.others, lo))]
    group_of = cols.group_column(by)
    size = cols.group_size
    totals = _dormant_counts(dormant, int(np.searchsorted(dormant.rows, lo)), period, agency_ids, by, settings,
                             as_of, size)
    for part in (slice(lo, hi), long_open_before):
        rows = column_scope(cols, part, period, agency_ids, settings)
        if not len(rows):
            continue
        group = group_of[rows] + 1  # -1 (unknown) becomes bin 0
        for key, mask in column_conditions(cols, rows, period, as_of, settings).items():
            counted = np.bincount(group if mask is None else group[mask], minlength=size)
            totals[key] = totals[key] + counted if key in totals else counted
    if not totals:
        return {}
    present = np.flatnonzero(totals["received_total"])
    return {(None if gid == 0 else int(gid) - 1): {k: int(v[gid]) for k, v in totals.items()} for gid in present}


def _dormant_counts(dormant, first: int, period: Period, agency_ids: list[int] | None, by: str,
                    settings: CountingSettings, as_of: dt.date | None, size: int) -> dict[str, np.ndarray]:
    """The counts of the first ``first`` dormant dossiers (``DossierColumns.dormant``: never closed, no
    rounds, not stopped, received before the period's window): what :func:`column_scope` and
    :func:`column_conditions` give them, without gathering their columns again. Received before the
    start and open at the cut-off, each one in scope is carried over and pending, in time when suspended
    or by its due date at J; nothing else."""
    if not first:
        return {}
    j = to_us(overdue_moment(period, as_of))
    status = dormant.status[:first]
    keep = np.ones(first, dtype=bool)
    if agency_ids is not None:
        keep &= np.isin(dormant.agency[:first], np.asarray(agency_ids, dtype=np.int64))
    if settings.excluded_statuses:
        keep &= ~np.isin(status, [STATUS_CODES[s] for s in settings.excluded_statuses])
    group = dormant.groups[by][:first] + 1  # -1 (unknown) becomes bin 0
    in_time = (status == STATUS_CODES["suspended"]) | _column_in_time(dormant.due[:first], j, settings.deadline_basis)
    every = np.bincount(group[keep], minlength=size)
    timely = np.bincount(group[keep & in_time], minlength=size)
    none = np.zeros(size, dtype=every.dtype)
    counts = dict.fromkeys(COUNT_KEYS, none)
    counts.update(received_total=every, carried_over=every, pending_total=every, pending_in_time=timely,
                  pending_overdue=every - timely)
    return counts
