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

FIRST_YEAR, LAST_YEAR = 2015, 2040  # covered from the start; any other year is added when asked for
# Working days in a year, at least (for extending far enough in one step).
_WORKING_DAYS_A_YEAR = 240


@lru_cache(maxsize=16)
def _vn_holidays(first_year: int, last_year: int) -> frozenset[dt.date]:
    years = range(first_year, last_year + 1)
    vietnam = _vietnam_class()
    if vietnam is not None:
        return frozenset(vietnam(years=years))
    return frozenset(holidays.country_holidays("VN", years=years))


@lru_cache(maxsize=1)
def _vietnam_class():
    """``holidays``' Vietnam calendar loaded from its own file: ``country_holidays`` imports every
    country's module first (0,4 s of a process's first 766 index or due-date fill); None → that way."""
    import importlib.util
    import os

    try:
        path = os.path.join(os.path.dirname(holidays.__file__), "countries", "vietnam.py")
        spec = importlib.util.spec_from_file_location("tthc_core._holidays_vietnam", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.Vietnam
    except Exception:  # another layout of the package: the registry's way
        return None


class WorkCalendar:
    """Working days answered with a sorted list and bisect (fast for bulk fills).

    It covers 2015-2040 at first and extends itself to whatever year a question reaches (a dossier of
    2045, a procedure of a thousand working days): a date past its end used to raise IndexError in the
    middle of an import (issue 14).
    """

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None):
        self.overrides = dict(overrides or {})
        self._first_year, self._last_year = FIRST_YEAR, LAST_YEAR
        self._build()

    def _build(self) -> None:
        off = _vn_holidays(self._first_year, self._last_year)
        day, last = dt.date(self._first_year, 1, 1), dt.date(self._last_year, 12, 31)
        days = []
        while day <= last:
            if self.overrides.get(day, day.weekday() < 5 and day not in off):
                days.append(day)
            day += dt.timedelta(days=1)
        self._days = days
        self._set = frozenset(days)

    def _cover(self, first_year: int, last_year: int) -> None:
        """Extend the calendar to whole years ``first_year .. last_year`` (it never shrinks)."""
        first_year, last_year = max(dt.MINYEAR, first_year), min(dt.MAXYEAR - 1, last_year)
        if first_year < self._first_year or last_year > self._last_year:
            self._first_year = min(self._first_year, first_year)
            self._last_year = max(self._last_year, last_year)
            self._build()

    def _around(self, *days: dt.date) -> None:
        """Cover these days and the year after each (a next working day may fall in January)."""
        self._cover(min(d.year for d in days), max(d.year for d in days) + 1)

    def is_working(self, day: dt.date) -> bool:
        self._around(day)
        return day in self._set

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``start..end``, both included."""
        self._around(start, end)
        return max(0, bisect.bisect_right(self._days, end) - bisect.bisect_left(self._days, start))

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day on or after ``day``."""
        self._around(day)
        return self._days[bisect.bisect_left(self._days, day)]

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (counting starts on the next working day)."""
        self._around(day)
        at = bisect.bisect_right(self._days, day) + count - 1
        if at >= len(self._days):
            self._cover(self._first_year, self._last_year + (at - len(self._days)) // _WORKING_DAYS_A_YEAR + 1)
            at = bisect.bisect_right(self._days, day) + count - 1
        return self._days[at]

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
