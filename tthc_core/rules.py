"""Row-level counting rules of domain.md §4 and §4b: one dossier's deadline, how it was resolved, and
in which columns of II.06a it lands for a period.

- ``deadline_of`` / ``resolution_of`` (and their column forms ``deadlines`` / ``resolutions`` for a
  large import) derive the stored ``deadline_at`` and ``resolution`` when a dossier is written;
- ``suspended_at``, ``due_in_force_at``, ``due_at_resolution``, ``in_time_at`` read the supplement
  rounds and the province's settings (:class:`CountingSettings`) at a moment;
- ``count_keys`` puts them together for one dossier and one period: the reference that the SQL and
  column forms of :mod:`tthc_core.counting` are tested against.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

# Withdrawn and returned dossiers count as resolved on time (provincial practice, domain.md §4); so do
# stopped ones (TrangThaiHoSo 8, §4b) unless the province counts them as suspended.
ALWAYS_ON_TIME = ("withdrawn", "returned", "stopped")
ENDED_WITHOUT_DECISION = ALWAYS_ON_TIME
WITHDRAWN_RETURNED = ("on_time", "exclude")
STOPPED = ("on_time", "suspended")
DEADLINE_BASES = ("moment", "calendar_day")
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CountingSettings:
    """The choices domain.md leaves to the province (stored in the ``settings`` table).

    - ``withdrawn_returned``: ``on_time`` (withdrawn, returned and stopped dossiers count as resolved on
      time) or ``exclude`` (they are left out of every column);
    - ``stopped``: ``on_time`` (stopped like withdrawn, §4b) or ``suspended`` (a stopped dossier stays
      pending, in time, whatever its end date);
    - ``deadline_basis``: ``moment`` (the national method: late after the deadline moment, a due date at
      00:00 meaning the end of that day) or ``calendar_day`` (late when resolved on a later day than the
      due day, overdue from the day after it).
    """

    withdrawn_returned: str = "on_time"
    stopped: str = "on_time"
    deadline_basis: str = "moment"

    @property
    def excluded_statuses(self) -> tuple[str, ...]:
        """Statuses left out of every column."""
        if self.withdrawn_returned != "exclude":
            return ()
        return tuple(s for s in ENDED_WITHOUT_DECISION if not (s == "stopped" and self.stopped == "suspended"))


def deadline_of(due_at: dt.datetime | None) -> dt.datetime | None:
    """The moment after which a dossier is late.

    ``due_at`` itself when it carries a time of day; for a date-only due date (00:00) the end of that
    day, stored as the next midnight: a dossier resolved at 23:59 on its due date is on time.
    """
    if due_at is None:
        return None
    if due_at.time() == dt.time():
        return due_at + dt.timedelta(days=1)
    return due_at


def resolution_of(due_at: dt.datetime | None, resolved_at: dt.datetime | None, status: str,
                  basis: str = "moment") -> str | None:
    """``early`` / ``on_time`` / ``late`` for a resolved dossier, ``None`` while it is open.

    Early is the same on both bases (resolved on a day before the due day); on the calendar-day basis
    a dossier resolved on its due day is on time whatever the hour.
    """
    if resolved_at is None:
        return None
    if status in ALWAYS_ON_TIME or due_at is None:
        return "on_time"
    if resolved_at.date() < due_at.date():
        return "early"
    if basis == "calendar_day":
        return "late" if resolved_at.date() > due_at.date() else "on_time"
    deadline = deadline_of(due_at)
    # date-only due: late from the next midnight on; timed due: late strictly after the due moment.
    late = resolved_at >= deadline if due_at.time() == dt.time() else resolved_at > deadline
    return "late" if late else "on_time"


def in_time_at(due: dt.datetime | None, judged_at: dt.datetime, basis: str = "moment") -> bool:
    """An open dossier due ``due`` is not overdue at ``judged_at`` (a midnight: the end of the judging
    day). Without a due date it cannot be overdue."""
    if due is None:
        return True
    if basis == "calendar_day":
        return due.date() >= (judged_at - _DAY).date()
    return deadline_of(due) >= judged_at


def _ordered(rounds: Iterable[Any]) -> list[Any]:
    """Rounds in the order they were requested (ties: their position, then their id)."""
    return sorted(rounds, key=lambda r: (r["requested_at"], r.get("position") or 0, r.get("id") or 0))


def suspended_at(rounds: Iterable[Any], judged_at: dt.datetime) -> bool:
    """domain.md §4b: a round requested by the end of the judging day and not supplied by then."""
    return any(r["requested_at"] < judged_at and (r["supplied_at"] is None or r["supplied_at"] >= judged_at)
               for r in rounds)


def due_in_force_at(due_at: dt.datetime | None, rounds: Iterable[Any], judged_at: dt.datetime) -> dt.datetime | None:
    """domain.md §4b: the ``due_before`` of the first round requested after the judging day (a round
    moves the due date only from its request on), else the current due date."""
    later = [r for r in _ordered(rounds) if r["requested_at"] >= judged_at]
    if later and later[0]["due_before"] is not None:
        return later[0]["due_before"]
    return due_at


def due_at_resolution(due_at: dt.datetime | None, rounds: Iterable[Any],
                      resolved_at: dt.datetime) -> dt.datetime | None:
    """The due date in force when the dossier was resolved: the current one, unless a round was
    requested after the resolution (a dossier re-opened, or a sender that closed it at the request,
    dvcqg-sync.md §7): then the ``due_before`` of the first such round, which the later rounds moved."""
    later = [r for r in _ordered(rounds) if r["requested_at"] > resolved_at]
    if later and later[0]["due_before"] is not None:
        return later[0]["due_before"]
    return due_at


def count_keys(dossier: dict[str, Any], rounds: list[dict[str, Any]], start: dt.datetime, cutoff: dt.datetime,
               judged_at: dt.datetime, settings: CountingSettings = CountingSettings()) -> set[str]:
    """The II.06a columns one dossier counts in for the period [start, cutoff), judged at ``judged_at``.

    ``dossier`` has the stored columns (intake, status, channel, received_at, due_at, resolved_at);
    ``rounds`` its supplement rounds (requested_at, supplied_at, due_before). The reference of the SQL
    and column forms in :mod:`tthc_core.counting`.
    """
    status = dossier.get("status", "normal")
    if dossier.get("intake", "accepted") != "accepted" or status in settings.excluded_statuses:
        return set()
    stopped_suspended = status == "stopped" and settings.stopped == "suspended"
    resolved_at = None if stopped_suspended else dossier.get("resolved_at")
    received_at = dossier["received_at"]
    if received_at >= cutoff or (resolved_at is not None and resolved_at < start):
        return set()
    keys = {"received_total"}
    if received_at >= start:
        channel = dossier["channel"]
        keys.add("received_online" if channel == "online" else "received_offline")
        if channel == "postal":
            keys.add("received_postal")
    else:
        keys.add("carried_over")
    if resolved_at is not None and resolved_at < cutoff:
        due = due_at_resolution(dossier.get("due_at"), rounds, resolved_at)
        keys |= {"resolved_total", "resolved_" + resolution_of(due, resolved_at, status, settings.deadline_basis)}
        return keys
    keys.add("pending_total")
    # Suspended at the judging moment: from the rounds when there are any (they win over the status a
    # sender pushed, dvcqg-sync.md §7), else from the current status.
    suspended = stopped_suspended or (suspended_at(rounds, judged_at) if rounds else status == "suspended")
    due = due_in_force_at(dossier.get("due_at"), rounds, judged_at)
    in_time = suspended or in_time_at(due, judged_at, settings.deadline_basis)
    keys.add("pending_in_time" if in_time else "pending_overdue")
    return keys


def derive_dossier(row: dict) -> dict:
    """Fill the derived columns ``deadline_at`` and ``resolution`` of a dossier row in place."""
    row["deadline_at"] = deadline_of(row.get("due_at"))
    row["resolution"] = resolution_of(row.get("due_at"), row.get("resolved_at"), row.get("status", "normal"))
    return row


# --- the same rules by column (numpy datetime64 arrays, NaT where missing) ---

_DAY = np.timedelta64(1, "D")


def _day_of(moments: np.ndarray) -> np.ndarray:
    """The calendar day of each moment (datetime64[D], floor, so also right before 1970)."""
    return moments.astype("datetime64[D]")


def deadlines(due: np.ndarray) -> np.ndarray:
    """:func:`deadline_of` by column: the next midnight for a date-only due date."""
    midnight = due == _day_of(due)
    return np.where(midnight, due + _DAY, due)


def resolutions(due: np.ndarray, resolved: np.ndarray, status: np.ndarray) -> np.ndarray:
    """:func:`resolution_of` by column: early / on_time / late, None while open."""
    midnight = due == _day_of(due)
    deadline = deadlines(due)
    early = _day_of(resolved) < _day_of(due)
    late = np.where(midnight, resolved >= deadline, resolved > deadline)
    always_on_time = np.isin(status, ALWAYS_ON_TIME) | np.isnat(due)
    result = np.full(len(due), "on_time", dtype=object)
    result[early & ~always_on_time] = "early"
    result[late & ~early & ~always_on_time] = "late"
    result[np.isnat(resolved)] = None
    return result
