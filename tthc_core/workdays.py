"""The Vietnamese working-day calendar and due dates for dossiers that carry none (domain.md §5).

Non-working days: Saturdays, Sundays, the public holidays and substitute days off of the ``holidays``
package (country ``VN``, Tết included), corrected by the ``calendar_overrides`` table for the
Government's yearly swaps (a Saturday worked in exchange for a weekday off).
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
from decimal import Decimal
from functools import lru_cache
from typing import Mapping

import holidays
from sqlalchemy import select
from sqlalchemy.engine import Connection

from .models import CalendarOverride

FIRST_YEAR, LAST_YEAR = 2015, 2040


@lru_cache(maxsize=1)
def _vn_holidays() -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("VN", years=range(FIRST_YEAR, LAST_YEAR + 1)))


class WorkCalendar:
    """Working days between 2015 and 2040, answered with a sorted list and bisect (fast for bulk fills)."""

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None):
        self.overrides = dict(overrides or {})
        off = _vn_holidays()
        day, last = dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31)
        days = []
        while day <= last:
            working = self.overrides.get(day, day.weekday() < 5 and day not in off)
            if working:
                days.append(day)
            day += dt.timedelta(days=1)
        self._days = days
        self._set = frozenset(days)

    def is_working(self, day: dt.date) -> bool:
        return day in self._set

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``start..end``, both included."""
        return max(0, bisect.bisect_right(self._days, end) - bisect.bisect_left(self._days, start))

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day on or after ``day``."""
        return self._days[bisect.bisect_left(self._days, day)]

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (counting starts on the next working day)."""
        return self._days[bisect.bisect_right(self._days, day) + count - 1]

    def due_date(self, received_at: dt.datetime, processing_days: Decimal | float | int,
                 same_day_cutoff: dt.time | None = None) -> dt.datetime:
        """Due date (date only, 00:00) for a dossier received at ``received_at``.

        Counting starts on the next working day; half days round up to a whole day. A same-day
        procedure (0 days) is due on the day it is received when that is a working day before the
        cut-off hour, else on the next working day.
        """
        day = received_at.date()
        if same_day_cutoff is not None and received_at.time() >= same_day_cutoff:
            day = self.next_working_day(day + dt.timedelta(days=1))
        days = math.ceil(Decimal(str(processing_days)))
        if days <= 0:
            due = self.next_working_day(day)
        else:
            due = self.add_working_days(day, days)
        return dt.datetime.combine(due, dt.time())


def load_calendar(conn: Connection) -> WorkCalendar:
    """The calendar with this database's overrides."""
    rows = conn.execute(select(CalendarOverride.day, CalendarOverride.is_working)).all()
    return _cached_calendar(tuple(sorted((r.day, bool(r.is_working)) for r in rows)))


@lru_cache(maxsize=8)
def _cached_calendar(overrides: tuple[tuple[dt.date, bool], ...]) -> WorkCalendar:
    return WorkCalendar(dict(overrides))
