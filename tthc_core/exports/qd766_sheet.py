"""The "Chỉ số 766" sheet of the quarter's workbook: the object of :func:`tthc_core.qd766.compute_index`
laid out as a table (group rows, one row per sub-indicator, the total), with the hints below.

Nothing is computed here; the figures are the index's. The quarter's workbook calls
:func:`add_qd766_sheet` with its ``_Book``; :func:`write_qd766_workbook` writes the sheet alone.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from decimal import Decimal

from ..formatting import XLSX_INTEGER, XLSX_PERCENT, fmt_decimal
from ..qd766 import SOURCE_LABELS

SHEET_NAME = "Chỉ số 766"
HEADERS = ("Mã", "Chỉ số", "Tử số", "Mẫu số", "Tỷ lệ (%)", "Điểm", "Tối đa", "Nguồn", "Ghi chú")
WIDTHS = (8, 46, 10, 10, 10, 9, 9, 16, 60)


def _count_format(value: Any) -> str:
    """A numerator or denominator: a count (3.238 whatever the locale) unless an entered figure has decimals."""
    if value is None or Decimal(str(value)) == Decimal(str(value)).to_integral_value():
        return XLSX_INTEGER
    return "#,##0.00"


def add_qd766_sheet(book: Any, index: dict[str, Any], note: str | None = None) -> None:
    """Write the sheet into the workbook's ``_Book`` (tthc_core.exports.xlsx); ``note`` (a frozen report's
    as-of line, or the warning that its index is live) is printed under the title in red italics."""
    ws = book.sheet(SHEET_NAME, WIDTHS)
    ncols = len(HEADERS)
    period = index["period"]
    book.merged(ws, 0, 0, 0, ncols - 1, "BỘ CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP (QĐ 766/QĐ-TTg)",
                bold=True, font_size=13, align="center")
    book.merged(ws, 1, 0, 1, ncols - 1, f"Kỳ: {period['label']} · theo lịch (cách tính của Cổng DVCQG)",
                italic=True, align="center")
    book.merged(ws, 2, 0, 2, ncols - 1, f"Bảng điểm áp dụng từ {index['rules_version']:%d/%m/%Y}",
                italic=True, font_size=9, align="center")
    if note:
        book.merged(ws, 3, 0, 3, ncols - 1, note, italic=True, font_size=9, align="center", font_color="#C00000",
                    text_wrap=True)
        ws.set_row(3, 26)
    head = dict(bold=True, border=1, align="center", text_wrap=True, bg_color="#e8eef7")
    for col, title in enumerate(HEADERS):
        book.text(ws, 4, col, title, **head)
    ws.repeat_rows(4)  # the header row on every printed page, like the other annexes
    row = 5
    for group in index["groups"]:
        book.text(ws, row, 0, group["code"], bold=True, border=1)
        book.text(ws, row, 1, group["title"], bold=True, border=1)
        for col in (2, 3, 4):
            book.text(ws, row, col, "", border=1)
        book.number(ws, row, 5, group["points"], "0.00", bold=True)
        book.number(ws, row, 6, group["max"], "0.00", bold=True)
        book.text(ws, row, 7, "", border=1)
        book.text(ws, row, 8, "; ".join(f"chờ {w}" for w in group["waiting_for"]), border=1, text_wrap=True,
                  font_size=9)
        row += 1
        for part in (p for p in index["indicators"] if p["group"] == group["code"]):
            book.text(ws, row, 0, part["id"], border=1)
            book.text(ws, row, 1, part["title"], border=1, text_wrap=True)
            book.number(ws, row, 2, part["numerator"], _count_format(part["numerator"]))
            book.number(ws, row, 3, part["denominator"], _count_format(part["denominator"]))
            # an information row's "rate" is a number of days (2.2), not a percentage
            book.number(ws, row, 4, part["rate"], "#,##0.00" if part["info"] else XLSX_PERCENT)
            book.number(ws, row, 5, part["points"], "0.00")
            book.number(ws, row, 6, None if part["info"] else part["max"], "0.00")
            source = "thông tin" if part["info"] else SOURCE_LABELS[part["source"]]
            book.text(ws, row, 7, source, border=1)
            note = part["note"] or ("N/A: mẫu số 0" if part["status"] == "na" else "")
            if part["waiting_for"]:
                note = f"chờ {part['waiting_for']}"
            book.text(ws, row, 8, note, border=1, text_wrap=True, font_size=9)
            row += 1
    book.text(ws, row, 0, "Tổng điểm", bold=True, border=1)
    book.text(ws, row, 1, f"Xếp loại: {index['grade']}", bold=True, border=1)
    for col in (2, 3, 4, 7, 8):
        book.text(ws, row, col, "", border=1)
    book.number(ws, row, 5, index["total"], "0.00", bold=True)
    book.number(ws, row, 6, index["max"], "0.00", bold=True)
    row += 2
    book.merged(ws, row, 0, row, ncols - 1, "Việc cần làm để tăng điểm (xếp theo số điểm tăng thêm)", bold=True)
    for hint in index["hints"]:
        row += 1
        gain = f"+{fmt_decimal(hint['gain'])}" if hint["gain"] is not None else ""
        book.text(ws, row, 0, hint["indicator"])
        book.merged(ws, row, 1, row, ncols - 2, hint["text"], text_wrap=True)
        book.text(ws, row, ncols - 1, gain)


def write_qd766_workbook(index: dict[str, Any], out: str | Path | io.BytesIO) -> Path | io.BytesIO:
    """A workbook holding only the "Chỉ số 766" sheet."""
    from .xlsx import _Book

    book = _Book(str(out) if isinstance(out, Path) else out)
    add_qd766_sheet(book, index)
    book.close()
    return out
