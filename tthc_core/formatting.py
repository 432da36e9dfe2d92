"""Vietnamese formatting of numbers, percentages, dates and money, done on the server (domain.md §9).

One function per kind of value; cards, tables, chart labels, the workbook and the Word draft all use
these, never ``str.replace`` on a locale-dependent string.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

# Plotly layout ``separators``: decimal mark first, then the thousands separator.
PLOTLY_SEPARATORS = ",."
# Excel number formats that print Vietnamese separators whatever the reader's locale: the digits are
# grouped by the format itself (``\.`` is a literal dot), so 3238 shows 3.238 on an English Excel
# and the cell stays a number. Excel allows two conditions, so the format groups up to 999.999.999.
XLSX_INTEGER = r"[>=1000000]#\.###\.##0;[>=1000]#\.##0;0"
# A percentage held as its figure (59.38 for 59,38 %) shown ``59,38 %`` on every Excel or LibreOffice:
# the format's ``%`` scales the value by 100 and the digits are placed around a literal comma, so the
# decimal mark does not come from the reader's locale (and the cell keeps the figure 59.38).
XLSX_PERCENT = r"[>=1000]#\.##0\,00 %;0\,00 %"
# Every stamp the product prints (computed at, frozen at) is Vietnam time, not the server's zone.
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def fmt_int(value: int | float | Decimal | None) -> str:
    """``3238`` → ``3.238``; ``None`` → ``–``."""
    if value is None:
        return "–"
    n = int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign = "-" if n < 0 else ""
    return sign + f"{abs(n):,}".replace(",", ".")


def fmt_decimal(value: int | float | Decimal | None, places: int = 2) -> str:
    """``59.375`` → ``59,38`` (half-up, decimal comma, thousands dot)."""
    if value is None:
        return "–"
    q = Decimal(1).scaleb(-places) if places else Decimal(1)
    d = Decimal(str(value)).quantize(q, rounding=ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    whole, _, frac = f"{abs(d):f}".partition(".")
    text = fmt_int(int(whole))
    return sign + (f"{text},{frac}" if places else text)


def ratio_percent(part: int | float | Decimal, whole: int | float | Decimal, places: int = 2) -> Decimal | None:
    """``part / whole × 100`` rounded half-up with Decimal (19/32 → 59.38); ``None`` when whole is 0."""
    if not whole:
        return None
    q = Decimal(1).scaleb(-places)
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(q, rounding=ROUND_HALF_UP)


def fmt_percent(value: int | float | Decimal | None, places: int = 2, space: bool = True) -> str:
    """``59.375`` → ``59,38 %`` (``59,38%`` with ``space=False``, as in the Word report)."""
    if value is None:
        return "–"
    return fmt_decimal(value, places) + (" %" if space else "%")


def fmt_share(part: int | float, whole: int | float, places: int = 2, space: bool = True) -> str:
    """``fmt_percent(ratio_percent(part, whole))``: ``19, 32`` → ``59,38 %``; ``–`` for 0 / 0."""
    return fmt_percent(ratio_percent(part, whole, places), places, space)


def fmt_number(value: int | float | Decimal | None) -> str:
    """A day count or a score as the report prints it: ``19``, ``2,5`` (no trailing ``,0``)."""
    if value is None:
        return "–"
    value = Decimal(str(value))
    return fmt_int(value) if value == value.to_integral_value() else fmt_decimal(value, 1)


def vietnam_now() -> dt.datetime:
    """Now in Vietnam time, naive, to the second (what the database stores and the report prints)."""
    return dt.datetime.now(VIETNAM).replace(tzinfo=None, microsecond=0)


def vietnam_today() -> dt.date:
    return vietnam_now().date()


def fmt_date(value: dt.date | dt.datetime | None) -> str:
    """``14/06/2022``."""
    if value is None:
        return ""
    return f"{value:%d/%m/%Y}"


def fmt_datetime(value: dt.datetime | None) -> str:
    """``14/06/2022 16:30``; a date-only value (00:00) prints as a date."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() != dt.time():
        return f"{value:%d/%m/%Y %H:%M}"
    return fmt_date(value)


def fmt_money(value: int | float | Decimal | None) -> str:
    """``35000000`` → ``35.000.000 đ``."""
    if value is None:
        return "–"
    return f"{fmt_int(value)} đ"


def fmt_delta(value: int | float | Decimal | None, places: int = 0, unit: str = "") -> str:
    """Signed change for KPI cards: ``+12``, ``-3,50 %``; ``0`` has no sign."""
    if value is None:
        return ""
    text = fmt_decimal(value, places) if places else fmt_int(value)
    if Decimal(str(value)) > 0:
        text = "+" + text
    return text + unit


# Markdown and Streamlit's own syntax (":red[…]", ":material/…:", "$…$"); "-", "+" and "." only act at
# the start of a line, where a name never stands in our messages.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>~$:])")


def md_escape(text: str) -> str:
    """``text`` shown literally inside Markdown: a name read from a file never becomes a link, an
    image to fetch, a heading or a coloured directive (issue 14 item 6). CommonMark lets every ASCII
    punctuation character be escaped with a backslash."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
