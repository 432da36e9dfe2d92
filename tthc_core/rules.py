"""Row-level counting rules of domain.md §4: a dossier's deadline and how it was resolved.

These are the only places that decide early / on time / late, for one row (``deadline_of``,
``resolution_of``) and for whole columns of a large import (``deadlines``, ``resolutions``, tested
against the row forms); :mod:`tthc_core.stats` counts the stored results per period and adds the
period-dependent rules (received, carried over, pending).
"""
from __future__ import annotations

import datetime as dt

import numpy as np

# Withdrawn and returned dossiers count as resolved on time (provincial practice, domain.md §4).
ALWAYS_ON_TIME = ("withdrawn", "returned")


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


def resolution_of(due_at: dt.datetime | None, resolved_at: dt.datetime | None, status: str) -> str | None:
    """``early`` / ``on_time`` / ``late`` for a resolved dossier, ``None`` while it is open."""
    if resolved_at is None:
        return None
    if status in ALWAYS_ON_TIME or due_at is None:
        return "on_time"
    if resolved_at.date() < due_at.date():
        return "early"
    deadline = deadline_of(due_at)
    # date-only due: late from the next midnight on; timed due: late strictly after the due moment.
    late = resolved_at >= deadline if due_at.time() == dt.time() else resolved_at > deadline
    return "late" if late else "on_time"


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
