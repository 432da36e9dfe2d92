"""Reporting periods: parsing ``2022-Q2`` and friends in the two conventions of domain.md §3.

- ``report`` (default; NĐ 09/2019 Art. 12): data run from the 15th of the month before the period to
  the 14th of the period's last month.
- ``calendar``: natural months, quarters, halves and years (the national portal's index).

A custom range ``YYYY-MM-DD..YYYY-MM-DD`` is the same in both modes.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MODES = ("report", "calendar")
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}

_SPEC = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<q>Q[1-4])|(?P<h>H[12])|(?P<nine>9M)|(?P<month>\d{1,2})))?$", re.IGNORECASE
)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


class PeriodError(ValueError):
    """A period spec that cannot be read; the message is Vietnamese and shown as is."""


@dataclass(frozen=True)
class Period:
    spec: str
    mode: str
    kind: str  # year | half | nine_months | quarter | month | custom
    year: int
    index: int  # quarter 1..4, half 1..2, month 1..12; 0 for year, 9M and custom
    start: dt.date
    end: dt.date  # included

    @property
    def key(self) -> str:
        """Stable key for storing report inputs and frozen figures: ``report:2022-Q2``."""
        return f"{self.mode}:{self.spec}"

    @property
    def label(self) -> str:
        """``Quý II năm 2022 (15/03/2022 – 14/06/2022)``; a custom range is its own label."""
        if self.kind == "custom":
            return self.name
        return f"{self.name} ({_d(self.start)} – {_d(self.end)})"

    @property
    def name(self) -> str:
        if self.kind == "quarter":
            return f"Quý {ROMAN[self.index]} năm {self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.index == 1 else 'cuối'} năm {self.year}"
        if self.kind == "nine_months":
            return f"9 tháng năm {self.year}"
        if self.kind == "month":
            return f"Tháng {self.index} năm {self.year}"
        if self.kind == "year":
            return f"Năm {self.year}"
        return f"Từ {_d(self.start)} đến {_d(self.end)}"

    @property
    def short_name(self) -> str:
        """For chart axes: ``Q2/2022``, ``T5/2022``, ``2022``."""
        if self.kind == "quarter":
            return f"Q{self.index}/{self.year}"
        if self.kind == "half":
            return f"6T{'Đ' if self.index == 1 else 'C'}/{self.year}"
        if self.kind == "month":
            return f"T{self.index}/{self.year}"
        if self.kind in ("year", "nine_months"):
            return self.spec
        return f"{self.start:%d/%m}–{self.end:%d/%m/%Y}"

    @property
    def range_label(self) -> str:
        """``Từ ngày 15/03/2022 đến ngày 14/06/2022`` as printed on the official forms."""
        return f"Từ ngày {_d(self.start)} đến ngày {_d(self.end)}"

    @property
    def mode_label(self) -> str:
        if self.mode == "report":
            return "Kỳ báo cáo theo NĐ 09/2019 (từ ngày 15 tháng trước đến ngày 14 tháng cuối kỳ)"
        return "Kỳ theo lịch (tháng, quý, năm dương lịch)"

    def shifted(self, steps: int) -> "Period":
        """The period ``steps`` positions later (negative: earlier) of the same kind and mode."""
        if self.kind == "custom":
            length = (self.end - self.start).days + 1
            start = self.start + dt.timedelta(days=length * steps)
            end = start + dt.timedelta(days=length - 1)
            return parse_period(f"{start.isoformat()}..{end.isoformat()}", self.mode)
        if self.kind in ("year", "nine_months"):
            suffix = "-9M" if self.kind == "nine_months" else ""
            return parse_period(f"{self.year + steps}{suffix}", self.mode)
        per_year = {"quarter": 4, "half": 2, "month": 12}[self.kind]
        n = self.year * per_year + (self.index - 1) + steps
        year, index = divmod(n, per_year)
        token = {"quarter": f"Q{index + 1}", "half": f"H{index + 1}", "month": f"{index + 1:02d}"}[self.kind]
        return parse_period(f"{year}-{token}", self.mode)

    def previous(self) -> "Period":
        return self.shifted(-1)

    def to_dict(self) -> dict:
        return {"spec": self.spec, "mode": self.mode, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "label": self.label}


def _d(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _span(year: int, first_month: int, last_month: int, mode: str) -> tuple[dt.date, dt.date]:
    """Months ``first_month..last_month`` of ``year`` in the given convention."""
    if mode == "calendar":
        return dt.date(year, first_month, 1), _month_end(year, last_month)
    # NĐ 09/2019 Art. 12: from the 15th of the month before the first month to the 14th of the last.
    if first_month == 1:
        start = dt.date(year - 1, 12, 15)
    else:
        start = dt.date(year, first_month - 1, 15)
    return start, dt.date(year, last_month, 14)


def parse_period(spec: str, mode: str = "report") -> Period:
    """Read ``2022-Q2``, ``2022-H1``, ``2022-9M``, ``2022``, ``2022-05`` or ``2022-03-15..2022-06-14``."""
    if mode not in MODES:
        raise PeriodError(f"Chế độ kỳ không hợp lệ: «{mode}» (chọn report hoặc calendar).")
    text = (spec or "").strip()
    ranged = _RANGE.match(text)
    if ranged:
        try:
            start, end = (dt.date.fromisoformat(part) for part in ranged.groups())
        except ValueError:
            raise PeriodError(f"Khoảng ngày không hợp lệ: «{spec}».") from None
        if end < start:
            raise PeriodError(f"Khoảng ngày «{spec}» có ngày kết thúc trước ngày bắt đầu.")
        return Period(f"{start.isoformat()}..{end.isoformat()}", mode, "custom", start.year, 0, start, end)
    m = _SPEC.match(text)
    if not m:
        raise PeriodError(
            f"Không đọc được kỳ «{spec}». Dùng 2022-Q2, 2022-H1, 2022-9M, 2022, 2022-05 "
            "hoặc 2022-03-15..2022-06-14."
        )
    year = int(m["year"])
    if year < 1900 or year > 2999:
        raise PeriodError(f"Năm không hợp lệ trong kỳ «{spec}».")
    if m["q"]:
        q = int(m["q"][1])
        start, end = _span(year, 3 * q - 2, 3 * q, mode)
        return Period(f"{year}-Q{q}", mode, "quarter", year, q, start, end)
    if m["h"]:
        h = int(m["h"][1])
        start, end = _span(year, 6 * h - 5, 6 * h, mode)
        return Period(f"{year}-H{h}", mode, "half", year, h, start, end)
    if m["nine"]:
        start, end = _span(year, 1, 9, mode)
        return Period(f"{year}-9M", mode, "nine_months", year, 0, start, end)
    if m["month"]:
        month = int(m["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"Tháng không hợp lệ trong kỳ «{spec}».")
        start, end = _span(year, month, month, mode)
        return Period(f"{year}-{month:02d}", mode, "month", year, month, start, end)
    start, end = _span(year, 1, 12, mode)
    return Period(f"{year}", mode, "year", year, 0, start, end)


def period_containing(day: dt.date, kind: str = "quarter", mode: str = "report") -> Period:
    """The period of the given kind that contains ``day`` (the dashboard's default: the current quarter)."""
    year, month = day.year, day.month
    if mode == "report" and day.day >= 15:
        # After the 14th the data already belong to the next month's period.
        month += 1
        if month == 13:
            year, month = year + 1, 1
    token = {
        "quarter": f"Q{(month - 1) // 3 + 1}",
        "half": f"H{(month - 1) // 6 + 1}",
        "month": f"{month:02d}",
        "year": None,
    }[kind]
    return parse_period(f"{year}-{token}" if token else f"{year}", mode)


def months_covering(period: Period, minimum: int = 6, maximum: int = 24) -> tuple[Period, int]:
    """The last month of ``period`` and how many months a monthly trend shows to cover it (at least
    ``minimum``, at most ``maximum``); a range ending mid-month ends on its last whole month."""
    first = period_containing(period.start, "month", period.mode)
    last = period_containing(period.end, "month", period.mode)
    if last.end > period.end and last.start > period.start:
        last = last.previous()
    count = (last.year - first.year) * 12 + last.index - first.index + 1
    return last, max(minimum, min(maximum, count))
