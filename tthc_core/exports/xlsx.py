"""The quarter's Excel annexes, laid out like the forms of TT 01/2020/TT-VPCP.

One sheet per annex — II.06a (II.06b for the whole province), II.07b, TTHC, 4 tại chỗ, Rà soát, đơn giản
hóa, PAKN and the other report inputs — each with the form code, title, reporting period, reporting and
receiving units, merged headers, the row of column numbers, the data, a total row and the signature
block, set up to print on A4 landscape, one page wide. Every figure comes from
:class:`tthc_core.reports.QuarterReport`; nothing is added up here.

Numbers are written as numbers with a literal Vietnamese format (:data:`~tthc_core.formatting.XLSX_INTEGER`,
:data:`~tthc_core.formatting.XLSX_PERCENT`): 3.238 and 59,38 % on every Excel or LibreOffice, whatever the
reader's locale. (A decimal that is not a percentage — a one-stop score, a QĐ 766 point — has no such
format: spreadsheet formats can move the decimal digits only by the percent sign's scaling.)
Text is always written with ``write_string`` in a workbook that never turns strings into formulas,
and text that a spreadsheet would read as a formula when edited (``=``, ``+``, ``-``, ``@``) carries
Excel's quote prefix: a field named ``=HYPERLINK(…)`` stays text.
"""
from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import xlsxwriter

from ..formatting import XLSX_INTEGER, XLSX_PERCENT, fmt_int
from ..periods import ROMAN
from ..reports import (FEEDBACK_KEYS, REPORT_INPUT_FIELDS, SIMPLIFICATION_COLUMNS, TOTAL_LABEL, QuarterReport,
                       as_of_text, frozen_note)
from .qd766_sheet import add_qd766_sheet
from ..stats import FORM_COLUMNS, LEVEL_LABELS
from .csv import FORMULA_START

FONT = "Times New Roman"
CIRCULAR = "Ban hành theo Thông tư số 01/2020/TT-VPCP ngày 21/10/2020"
WARNING_SHEET = "CẢNH BÁO"
PERCENT_KEYS = {"ratio", "on_time_rate", "online_share", "postal_share"}  # figures that are percentages
COUNT_COLUMNS = tuple(FORM_COLUMNS)  # the 11 counts of II.06a, in column order (3)…(13)


class _Book:
    """The workbook and the formats every sheet shares."""

    def __init__(self, target: str | io.BytesIO):
        self.wb = xlsxwriter.Workbook(target, {
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
            "in_memory": True,
        })
        self.wb.set_properties({"title": "Phụ lục báo cáo kiểm soát TTHC", "author": "tthc_core"})
        self._formats: dict[tuple, Any] = {}
        self._widths: dict[str, Sequence[float]] = {}
        self._lines: dict[tuple[str, int], int] = {}

    def sheet(self, name: str, widths: Sequence[float]):
        """A new worksheet with its column widths, set up for printing."""
        ws = self.wb.add_worksheet(name)
        self._widths[ws.name] = widths
        _page_setup(ws, widths)
        return ws

    def fmt(self, **props: Any):
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format(
                {"font_name": FONT, "font_size": 11, "valign": "vcenter", **props})
        return self._formats[key]

    # --- cells ---------------------------------------------------------------------------------
    def text(self, ws, row: int, col: int, value: Any, **props: Any) -> None:
        value = "" if value is None else str(value)
        if value.startswith(FORMULA_START):
            props["quote_prefix"] = True
        ws.write_string(row, col, value, self.fmt(**props))
        if props.get("text_wrap") and value:
            self._grow(ws, row, col, value)

    def _grow(self, ws, row: int, col: int, value: str) -> None:
        # Excel fits wrapped rows when it opens the file, LibreOffice does not: set the height from an
        # estimate of the lines the text needs in its column (about 1,1 characters per width unit).
        per_line = max(1, int(self._widths[ws.name][col] * 1.1))
        lines = sum(max(1, -(-len(part) // per_line)) for part in value.split("\n"))
        key = (ws.name, row)
        if lines > self._lines.get(key, 1):
            self._lines[key] = lines
            ws.set_row(row, 15 * lines)

    def merged(self, ws, first_row: int, first_col: int, last_row: int, last_col: int, value: Any,
               **props: Any) -> None:
        if (first_row, first_col) == (last_row, last_col):
            self.text(ws, first_row, first_col, value, **props)
            return
        value = "" if value is None else str(value)
        if value.startswith(FORMULA_START):
            props["quote_prefix"] = True
        fmt = self.fmt(**props)
        ws.merge_range(first_row, first_col, last_row, last_col, "", fmt)
        ws.write_string(first_row, first_col, value, fmt)

    def number(self, ws, row: int, col: int, value: int | Decimal | None, num_format: str = XLSX_INTEGER,
               **props: Any) -> None:
        fmt = self.fmt(border=1, num_format=num_format, **props)
        if value is None:
            ws.write_blank(row, col, None, fmt)
        else:
            ws.write_number(row, col, float(value) if isinstance(value, Decimal) else value, fmt)

    def close(self) -> None:
        self.wb.close()


# --------------------------------------------------------------------------------------------
# Pieces every sheet shares
# --------------------------------------------------------------------------------------------

def _heading(book: _Book, ws, figures: QuarterReport, ncols: int, form_code: str | None, title: str,
             unit: str) -> int:
    """Form code, units, title, period and unit of measure; returns the first header row."""
    right = _right_block(ncols)
    book.merged(ws, 0, 0, 0, min(2, right - 1), form_code or "Phụ lục kèm theo báo cáo", bold=True)
    if form_code:
        book.merged(ws, 1, 0, 1, min(2, right - 1), CIRCULAR, italic=True, font_size=9)
    profile = figures.profile
    book.merged(ws, 0, right, 0, ncols - 1, f"Đơn vị báo cáo: {profile.full_name or figures.agency['name']}",
                text_wrap=True)
    book.merged(ws, 1, right, 1, ncols - 1, f"Đơn vị nhận báo cáo: {profile.receiving_body}", text_wrap=True)
    book.merged(ws, 3, 0, 3, ncols - 1, title, bold=True, font_size=13, align="center", text_wrap=True)
    ws.set_row(3, 36)
    period = figures["period"]
    book.merged(ws, 4, 0, 4, ncols - 1, f"Kỳ báo cáo: {period['name']} ({period['range_label']})",
                bold=True, align="center")
    book.merged(ws, 5, 0, 5, ncols - 1, period["mode_label"], italic=True, font_size=9, align="center")
    book.merged(ws, 6, 0, 6, right - 1, as_of_text(figures) + ".", italic=True, font_size=9)
    if unit:
        book.merged(ws, 6, right, 6, ncols - 1, f"Đơn vị tính: {unit}", italic=True, align="right")
    return 7


def _right_block(ncols: int) -> int:
    """First column of the right-hand block (units, signature) of a sheet ``ncols`` wide."""
    return ncols - 5 if ncols >= 8 else (ncols + 1) // 2


def _headers(book: _Book, ws, top: int, cells: Sequence[tuple[int, int, int, int, str]], ncols: int) -> int:
    """Merged header cells ``(row offset, col, last row offset, last col, text)`` and the row of column
    numbers (1)…(n); returns the first data row."""
    depth = max(c[2] for c in cells) + 1
    for offset in range(depth):
        # Spreadsheets do not grow merged wrapped cells: give each header row room for three lines.
        ws.set_row(top + offset, 16 * 3 if depth > 1 else 32)
    for first_row, first_col, last_row, last_col, label in cells:
        book.merged(ws, top + first_row, first_col, top + last_row, last_col, label,
                    bold=True, align="center", text_wrap=True, border=1)
    numbers = top + depth
    for col in range(ncols):
        book.text(ws, numbers, col, f"({col + 1})", italic=True, align="center", border=1, font_size=10)
    ws.repeat_rows(top, numbers)
    ws.freeze_panes(numbers + 1, 2)
    return numbers + 1


def _counts_header(first_col: int, depth_offset: int = 0) -> list[tuple[int, int, int, int, str]]:
    """The three groups of II.06a over the 11 count columns starting at ``first_col`` (3 header rows)."""
    c, o = first_col, depth_offset
    return [
        (o, c, o, c + 3, "Số hồ sơ nhận giải quyết"),
        (o + 1, c, o + 2, c, "Tổng số"),
        (o + 1, c + 1, o + 1, c + 2, "Trong kỳ"),
        (o + 2, c + 1, o + 2, c + 1, "Trực tuyến"),
        (o + 2, c + 2, o + 2, c + 2, "Trực tiếp và dịch vụ bưu chính"),
        (o + 1, c + 3, o + 2, c + 3, "Từ kỳ trước"),
        (o, c + 4, o, c + 7, "Số hồ sơ đã giải quyết"),
        (o + 1, c + 4, o + 2, c + 4, "Tổng số"),
        (o + 1, c + 5, o + 2, c + 5, "Trước hạn"),
        (o + 1, c + 6, o + 2, c + 6, "Đúng hạn"),
        (o + 1, c + 7, o + 2, c + 7, "Quá hạn"),
        (o, c + 8, o, c + 10, "Số hồ sơ đang giải quyết"),
        (o + 1, c + 8, o + 2, c + 8, "Tổng số"),
        (o + 1, c + 9, o + 2, c + 9, "Trong hạn"),
        (o + 1, c + 10, o + 2, c + 10, "Quá hạn"),
    ]


def _count_cells(book: _Book, ws, row: int, first_col: int, counts: dict[str, int], bold: bool = False) -> None:
    for i, key in enumerate(COUNT_COLUMNS):
        book.number(ws, row, first_col + i, counts.get(key, 0), bold=bold)


def _labels(book: _Book, ws, row: int, number: str | int | None, label: str, bold: bool = False,
            extra: Sequence[Any] = ()) -> None:
    """STT and the name (and any further text columns) of one table row."""
    if isinstance(number, int):
        book.number(ws, row, 0, number, num_format="0", align="center", bold=bold)
    else:
        book.text(ws, row, 0, number or "", align="center", border=1, bold=bold)
    book.text(ws, row, 1, label, text_wrap=True, border=1, bold=bold)
    for i, value in enumerate(extra):
        book.text(ws, row, 2 + i, value, text_wrap=True, border=1, bold=bold)


def _signature(book: _Book, ws, row: int, ncols: int, report: QuarterReport) -> int:
    """Người lập biểu / the signer of the profile (NĐ 30/2020 Appendix I: authority, title, name) under
    the place and date line; returns the row after the block."""
    profile = report.profile
    row += 1
    right_first, right_last = _right_block(ncols), ncols - 1
    left_first, left_last = 1, max(1, min(3, right_first - 1))
    place = f"{profile.place}, " if profile.place else ""
    book.merged(ws, row, right_first, row, right_last, f"{place}ngày     tháng     năm {report.period.end.year}",
                italic=True, align="center")
    signer = "\n".join(line for line in (profile.signer_authority.upper(), profile.signer_title.upper()) if line)
    book.merged(ws, row + 1, left_first, row + 1, left_last, "NGƯỜI LẬP BIỂU", bold=True, align="center")
    book.merged(ws, row + 1, right_first, row + 1, right_last, signer or "THỦ TRƯỞNG ĐƠN VỊ", bold=True,
                align="center", text_wrap=True)
    if "\n" in signer:
        ws.set_row(row + 1, 30)
    book.merged(ws, row + 2, left_first, row + 2, left_last, "(Ký, ghi rõ họ tên)", italic=True, align="center")
    book.merged(ws, row + 2, right_first, row + 2, right_last, "(Ký tên, đóng dấu)", italic=True, align="center")
    if profile.signer_name:
        book.merged(ws, row + 6, right_first, row + 6, right_last, profile.signer_name, bold=True, align="center")
        return row + 7
    return row + 3


def _note(book: _Book, ws, row: int, ncols: int, text: str) -> int:
    book.merged(ws, row, 0, row, ncols - 1, text, italic=True, font_size=10, text_wrap=True)
    ws.set_row(row, 28)
    return row + 1


def _page_setup(ws, widths: Sequence[float]) -> None:
    """A4 landscape, one page wide, page numbers in the footer (the header rows repeat, see _headers)."""
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.set_footer("&CTrang &P/&N")


# --------------------------------------------------------------------------------------------
# The sheets
# --------------------------------------------------------------------------------------------

def _sheet_dossiers(book: _Book, figures: QuarterReport) -> None:
    """II.06a (one agency) or II.06b (the province, grouped by cấp tỉnh / huyện / xã)."""
    form = figures["form"]
    ws = book.sheet(form, [5, 38] + [10.5] * 11)
    ncols = 13
    title = ("TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP GIẢI QUYẾT "
             "THỦ TỤC HÀNH CHÍNH" if form == "II.06a" else
             "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH TRÊN ĐỊA BÀN TỈNH")
    top = _heading(book, ws, figures, ncols, f"Biểu số {form}/VPCP/KSTT", title, "Số hồ sơ TTHC")
    row = _headers(book, ws, top, [
        (0, 0, 2, 0, "STT"), (0, 1, 2, 1, "Lĩnh vực, công việc giải quyết theo cấp"), *_counts_header(2),
    ], ncols)
    if figures.get("levels"):
        for index, group in enumerate(figures["levels"], start=1):
            roman = ROMAN[index]
            _labels(book, ws, row, roman, group["label"], bold=True)
            _count_cells(book, ws, row, 2, group["total"], bold=True)
            row += 1
            for number, item in enumerate(group["rows"], start=1):
                _labels(book, ws, row, number, item["label"])
                _count_cells(book, ws, row, 2, item)
                row += 1
    else:
        for number, item in enumerate(figures["dossiers"]["rows"], start=1):
            _labels(book, ws, row, number, item["label"])
            _count_cells(book, ws, row, 2, item)
            row += 1
    _labels(book, ws, row, "", TOTAL_LABEL, bold=True)
    _count_cells(book, ws, row, 2, figures["dossiers"]["total"], bold=True)
    row = _note(book, ws, row + 1, ncols,
                "(3) = (4) + (5) + (6); (3) = (7) + (11); (7) = (8) + (9) + (10); (11) = (12) + (13). "
                "Hồ sơ rút, trả lại tính vào cột đúng hạn; hồ sơ tạm dừng chưa giải quyết tính trong hạn.")
    _signature(book, ws, row, ncols, figures)


def _sheet_one_stop(book: _Book, figures: QuarterReport) -> None:
    ws = book.sheet("II.07b", [5, 34] + [9.5] * 12)
    ncols = 14
    top = _heading(book, ws, figures, ncols, "Biểu số II.07b/VPCP/KSTT",
                   "TÌNH HÌNH, KẾT QUẢ THỰC HIỆN CƠ CHẾ MỘT CỬA, MỘT CỬA LIÊN THÔNG TRONG GIẢI QUYẾT "
                   "THỦ TỤC HÀNH CHÍNH", "Số TTHC")
    groups = (("total", "Số TTHC thuộc thẩm quyền giải quyết"),
              ("one_stop", "Số TTHC giải quyết theo cơ chế một cửa tại Bộ phận Một cửa"),
              ("internal_process", "Số TTHC đã ban hành quy trình nội bộ"))
    cells = [(0, 0, 1, 0, "STT"), (0, 1, 1, 1, "Cơ quan, đơn vị")]
    for i, (_, label) in enumerate(groups):
        first = 2 + 4 * i
        cells += [(0, first, 0, first + 3, label), (1, first, 1, first, "Tổng số"),
                  *[(1, first + 1 + j, 1, first + 1 + j, name) for j, name in enumerate(LEVEL_LABELS.values())]]
    row = _headers(book, ws, top, cells, ncols)

    def values(item: dict[str, Any], bold: bool = False) -> None:
        for i, (measure, _) in enumerate(groups):
            counts = item[measure]
            for j, part in enumerate(("all", *LEVEL_LABELS)):
                book.number(ws, row, 2 + 4 * i + j, counts[part], bold=bold)

    for number, item in enumerate(figures["one_stop"]["rows"], start=1):
        _labels(book, ws, row, number, item["label"])
        values(item)
        row += 1
    _labels(book, ws, row, "", TOTAL_LABEL, bold=True)
    values(figures["one_stop"]["total"], bold=True)
    _signature(book, ws, row + 1, ncols, figures)


def _sheet_catalogue(book: _Book, figures: QuarterReport) -> None:
    keys = ("total", "published", "publicized", "central", "local", "one_stop", "lien_thong", "postal",
            "online", "online_level3", "online_level4", "online_full", "online_partial", "four_on_site")
    ws = book.sheet("TTHC", [5, 30] + [8.5] * len(keys))
    ncols = 2 + len(keys)
    top = _heading(book, ws, figures, ncols, None,
                   "SỐ LIỆU CÔNG BỐ, CÔNG KHAI THỦ TỤC HÀNH CHÍNH THEO LĨNH VỰC", "Số TTHC")
    row = _headers(book, ws, top, [
        (0, 0, 1, 0, "STT"), (0, 1, 1, 1, "Lĩnh vực"),
        (0, 2, 1, 2, "Tổng số TTHC thuộc thẩm quyền giải quyết"),
        (0, 3, 0, 4, "Công bố, công khai"), (1, 3, 1, 3, "Đã công bố"), (1, 4, 1, 4, "Đã công khai"),
        (0, 5, 0, 6, "Quy định bởi"), (1, 5, 1, 5, "Trung ương"), (1, 6, 1, 6, "Địa phương"),
        (0, 7, 0, 9, "Thực hiện theo"), (1, 7, 1, 7, "Cơ chế một cửa"), (1, 8, 1, 8, "Một cửa liên thông"),
        (1, 9, 1, 9, "Dịch vụ bưu chính công ích"),
        (0, 10, 0, 14, "Dịch vụ công trực tuyến"), (1, 10, 1, 10, "Tổng số"), (1, 11, 1, 11, "Mức độ 3"),
        (1, 12, 1, 12, "Mức độ 4"), (1, 13, 1, 13, "Toàn trình"), (1, 14, 1, 14, "Một phần"),
        (0, 15, 1, 15, "Thực hiện “4 tại chỗ”"),
    ], ncols)
    for number, item in enumerate(figures["catalogue"]["rows"], start=1):
        _labels(book, ws, row, number, item["label"])
        for i, key in enumerate(keys):
            book.number(ws, row, 2 + i, item[key])
        row += 1
    _labels(book, ws, row, "", TOTAL_LABEL, bold=True)
    for i, key in enumerate(keys):
        book.number(ws, row, 2 + i, figures["procedures"][key], bold=True)
    row = _note(book, ws, row + 1, ncols,
                "Nghị định số 42/2022/NĐ-CP (từ ngày 01/8/2022): dịch vụ công trực tuyến mức độ 4 tương ứng "
                "toàn trình, mức độ 3 tương ứng một phần. Số TTHC tính tại ngày cuối kỳ báo cáo.")
    _signature(book, ws, row, ncols, figures)


def _sheet_four_on_site(book: _Book, figures: QuarterReport) -> None:
    province = figures["agency"]["code"] is None
    ws = book.sheet("4 tại chỗ", [5, 40, 11, 18] + ([20] if province else []) + [9] * len(COUNT_COLUMNS))
    extra = ["Mã TTHC", "Lĩnh vực"] + (["Cơ quan"] if province else [])
    first = 2 + len(extra)
    ncols = first + len(COUNT_COLUMNS)
    top = _heading(book, ws, figures, ncols, None,
                   "THỦ TỤC HÀNH CHÍNH THỰC HIỆN “4 TẠI CHỖ” VÀ KẾT QUẢ GIẢI QUYẾT HỒ SƠ", "Số hồ sơ TTHC")
    row = _headers(book, ws, top, [
        (0, 0, 2, 0, "STT"), (0, 1, 2, 1, "Tên thủ tục hành chính"),
        *[(0, 2 + i, 2, 2 + i, label) for i, label in enumerate(extra)], *_counts_header(first),
    ], ncols)
    for number, item in enumerate(figures["four_on_site"]["rows"], start=1):
        _labels(book, ws, row, number, item["label"],
                extra=[item["key"], item["field"]] + ([item["agency_name"]] if province else []))
        _count_cells(book, ws, row, first, item)
        row += 1
    _labels(book, ws, row, "", f"{TOTAL_LABEL} ({fmt_int(len(figures['four_on_site']['rows']))} TTHC)",
            bold=True, extra=[""] * len(extra))
    _count_cells(book, ws, row, first, figures["four_on_site"]["total"], bold=True)
    _signature(book, ws, row + 1, ncols, figures)


def _days_format(value: Decimal | None) -> str:
    """A day count or a score: 19 as 3.238 is (any locale); a fractional one (2,5) keeps a decimal format."""
    value = None if value is None else Decimal(str(value))
    return XLSX_INTEGER if value is None or value == value.to_integral_value() else "#,##0.0"


def _sheet_simplification(book: _Book, figures: QuarterReport) -> None:
    province = figures["agency"]["code"] is None
    ws = book.sheet("Rà soát, đơn giản hóa", [5, 44, 12, 11] + ([20] if province else []) + [11, 11, 10, 10, 28])
    text_columns = [("procedure_code", SIMPLIFICATION_COLUMNS["procedure_code"]),
                    ("authority_level", SIMPLIFICATION_COLUMNS["authority_level"])]
    if province:
        text_columns.append(("agency_name", "Cơ quan"))
    first = 2 + len(text_columns)
    ncols = first + 5
    top = _heading(book, ws, figures, ncols, None,
                   "KẾT QUẢ RÀ SOÁT, ĐƠN GIẢN HÓA THỦ TỤC HÀNH CHÍNH (CẮT GIẢM THỜI HẠN GIẢI QUYẾT)",
                   "Ngày làm việc; %")
    row = _headers(book, ws, top, [
        (0, 0, 1, 0, "STT"), (0, 1, 1, 1, SIMPLIFICATION_COLUMNS["procedure_name"]),
        *[(0, 2 + i, 1, 2 + i, label) for i, (_, label) in enumerate(text_columns)],
        (0, first, 0, first + 1, "Thời hạn giải quyết (ngày)"), (1, first, 1, first, "Trước cắt giảm"),
        (1, first + 1, 1, first + 1, "Sau cắt giảm"),
        (0, first + 2, 1, first + 2, "Số ngày cắt giảm"), (0, first + 3, 1, first + 3, "Tỷ lệ cắt giảm (%)"),
        (0, first + 4, 1, first + 4, SIMPLIFICATION_COLUMNS["decision"]),
    ], ncols)

    def days_and_ratio(values: dict[str, Any], bold: bool = False) -> None:
        for i, key in enumerate(("days_before", "days_after", "days_cut")):
            book.number(ws, row, first + i, values[key], num_format=_days_format(values[key]), bold=bold)
        book.number(ws, row, first + 3, values["ratio"], num_format=XLSX_PERCENT, bold=bold)

    for number, item in enumerate(figures["simplification"]["rows"], start=1):
        _labels(book, ws, row, number, item["procedure_name"],
                extra=[item["procedure_code"], LEVEL_LABELS.get(item["authority_level"], item["authority_level"])]
                + ([item["agency_name"]] if province else []))
        days_and_ratio(item)
        book.text(ws, row, first + 4, item["decision"], text_wrap=True, border=1)
        row += 1
    total = figures["simplification"]["total"]
    _labels(book, ws, row, "", f"{TOTAL_LABEL} ({fmt_int(total['procedures'])} TTHC)", bold=True,
            extra=[""] * len(text_columns))
    days_and_ratio(total, bold=True)
    book.text(ws, row, first + 4, "", border=1)
    row = _note(book, ws, row + 1, ncols,
                "Tỷ lệ cắt giảm = tổng số ngày cắt giảm ÷ tổng thời hạn trước cắt giảm × 100 "
                "(Thông tư số 02/2017/TT-VPCP), làm tròn 2 chữ số thập phân.")
    _signature(book, ws, row, ncols, figures)


FEEDBACK_FORM = "II.05a"
FEEDBACK_TITLE = "TÌNH HÌNH, KẾT QUẢ TIẾP NHẬN, XỬ LÝ PHẢN ÁNH, KIẾN NGHỊ VỀ QUY ĐỊNH HÀNH CHÍNH"
FEEDBACK_SOURCE_NOTES = {
    "records": "Số liệu tính từ dữ liệu phản ánh, kiến nghị (PAKN) của đơn vị: PAKN tính trong kỳ khi tiếp nhận "
               "trước thời điểm chốt số liệu và chưa xử lý xong trước kỳ; PAKN chưa phân loại tính vào cột quy "
               "định hành chính.",
    "entered": "Chưa có dữ liệu PAKN chi tiết: tổng số do đơn vị nhập trong số liệu báo cáo; các cột chi tiết để trống.",
    "none": "Đơn vị chưa nhập số liệu phản ánh, kiến nghị của kỳ báo cáo.",
}


def _sheet_feedback(book: _Book, figures: QuarterReport) -> None:
    """Form II.05a (TT 01/2020/TT-VPCP): PAKN received (carried over, new; about regulations or conduct),
    handled and pending, by field, from :func:`tthc_core.reports.feedback_figures`.

    The official column list was not at hand when this was written: the columns follow the form's title,
    NĐ 20/2008 (PAKN về quy định hành chính), NĐ 48/2013 Art. 35.3(e) (received and handled) and the
    layout the circular gives II.06a (in period / from the previous period; done / in progress, with the
    identities under the table). Check them against the printed circular before relying on the order.
    """
    ws = book.sheet(FEEDBACK_FORM, [5, 38] + [10.5] * len(FEEDBACK_KEYS))
    ncols = 2 + len(FEEDBACK_KEYS)
    top = _heading(book, ws, figures, ncols, f"Biểu số {FEEDBACK_FORM}/VPCP/KSTT", FEEDBACK_TITLE,
                   "Số phản ánh, kiến nghị")
    regulation, conduct = "Về quy định hành chính", "Về hành vi hành chính"
    row = _headers(book, ws, top, [
        (0, 0, 2, 0, "STT"), (0, 1, 2, 1, "Ngành, lĩnh vực"),
        (0, 2, 0, 6, "Số phản ánh, kiến nghị tiếp nhận"), (1, 2, 2, 2, "Tổng số"),
        (1, 3, 1, 4, "Theo thời điểm tiếp nhận"), (2, 3, 2, 3, "Từ kỳ trước chuyển qua"),
        (2, 4, 2, 4, "Mới tiếp nhận trong kỳ"), (1, 5, 1, 6, "Theo nội dung"), (2, 5, 2, 5, regulation),
        (2, 6, 2, 6, conduct),
        (0, 7, 0, 12, "Kết quả xử lý"), (1, 7, 1, 9, "Đã xử lý"), (2, 7, 2, 7, "Tổng số"), (2, 8, 2, 8, regulation),
        (2, 9, 2, 9, conduct), (1, 10, 1, 12, "Đang xử lý"), (2, 10, 2, 10, "Tổng số"), (2, 11, 2, 11, regulation),
        (2, 12, 2, 12, conduct),
    ], ncols)
    feedback = figures["feedback"]

    def cells(values: dict[str, Any], bold: bool = False) -> None:
        for i, key in enumerate(FEEDBACK_KEYS):
            book.number(ws, row, 2 + i, values.get(key), bold=bold)

    for number, item in enumerate(feedback["rows"], start=1):
        _labels(book, ws, row, number, item["label"])
        cells(item)
        row += 1
    _labels(book, ws, row, "", TOTAL_LABEL, bold=True)
    cells(feedback["total"], bold=True)
    row = _note(book, ws, row + 1, ncols, "(3) = (4) + (5) = (6) + (7); (3) = (8) + (11); (8) = (9) + (10); "
                                          "(11) = (12) + (13). " + FEEDBACK_SOURCE_NOTES[feedback["source"]])
    _signature(book, ws, row, ncols, figures)


def _sheet_notes(book: _Book, figures: QuarterReport) -> None:
    """How the figures were counted: the period convention, the deadline basis in force, when the figures
    were taken, the online classes, the PAKN source, the time zone."""
    ws = book.sheet("Ghi chú", [5, 34, 90])
    ncols = 3
    top = _heading(book, ws, figures, ncols, None, "GHI CHÚ VỀ CÁCH TÍNH SỐ LIỆU", "")
    row = _headers(book, ws, top, [(0, 0, 0, 0, "STT"), (0, 1, 0, 1, "Nội dung"), (0, 2, 0, 2, "Cách tính")],
                   ncols)
    period = figures["period"]
    online = ("phân loại theo Nghị định số 42/2022/NĐ-CP: toàn trình, một phần" if period["online_classes"] else
              "phân loại theo mức độ 3, 4 (Nghị định số 43/2011/NĐ-CP); từ ngày 01/8/2022 mức độ 4 tương ứng "
              "toàn trình, mức độ 3 tương ứng một phần")
    notes = [
        ("Kỳ báo cáo", f"{period['name']} ({period['range_label']}); {period['mode_label']}"),
        ("Hồ sơ quá hạn", figures["deadline_basis"]["label"]),
        ("Thời điểm số liệu", as_of_text(figures) + " (giờ Việt Nam, UTC+7)."),
        ("Dịch vụ công trực tuyến", online),
        (f"Phản ánh, kiến nghị (Biểu số {FEEDBACK_FORM})", FEEDBACK_SOURCE_NOTES[figures["feedback"]["source"]]),
    ]
    for number, (label, text) in enumerate(notes, start=1):
        _labels(book, ws, row, number, label)
        book.text(ws, row, 2, text, text_wrap=True, border=1)
        row += 1


def _sheet_inputs(book: _Book, figures: QuarterReport, name: str, title: str, keys: Sequence[str]) -> None:
    ws = book.sheet(name, [5, 60, 40])
    ncols = 3
    top = _heading(book, ws, figures, ncols, None, title, "")
    row = _headers(book, ws, top, [(0, 0, 0, 0, "STT"), (0, 1, 0, 1, "Nội dung"), (0, 2, 0, 2, "Số liệu")], ncols)
    labels = {f.key: (f.label, f.kind) for f in REPORT_INPUT_FIELDS}
    for number, key in enumerate(keys, start=1):
        label, kind = labels[key]
        value = figures["inputs"].get(key)
        _labels(book, ws, row, number, label)
        if kind == "text":
            book.text(ws, row, 2, value, text_wrap=True, border=1)
        else:
            book.number(ws, row, 2, value, num_format=XLSX_INTEGER if kind != "score" else _days_format(value))
        row += 1
    row = _note(book, ws, row, ncols, "Ô để trống: đơn vị chưa nhập số liệu.")
    _signature(book, ws, row, ncols, figures)


def _sheet_diff(book: _Book, figures: QuarterReport) -> None:
    ws = book.sheet("Chênh lệch", [14, 44, 34, 12, 12])
    ncols = 5
    top = _heading(book, ws, figures, ncols, None,
                   "SỐ LIỆU ĐÃ CHỐT KHÁC DỮ LIỆU HIỆN TẠI (DỮ LIỆU NHẬP SAU KHI CHỐT)", "")
    row = _headers(book, ws, top, [(0, 0, 0, 0, "Biểu"), (0, 1, 0, 1, "Dòng"), (0, 2, 0, 2, "Chỉ tiêu"),
                                   (0, 3, 0, 3, "Đã chốt"), (0, 4, 0, 4, "Hiện tại")], ncols)
    for item in figures["diff"]:
        book.text(ws, row, 0, item["section"], border=1)
        book.text(ws, row, 1, item["row"], text_wrap=True, border=1)
        book.text(ws, row, 2, item["label"], text_wrap=True, border=1)
        for col, value in ((3, item["frozen"]), (4, item["live"])):
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                fmt = (XLSX_PERCENT if item["key"] in PERCENT_KEYS else
                       "#,##0.##" if isinstance(value, Decimal) else XLSX_INTEGER)
                book.number(ws, row, col, value, num_format=fmt)
            else:
                book.text(ws, row, col, value, text_wrap=True, border=1)
        row += 1


def _sheet_warning(book: _Book, figures: QuarterReport) -> None:
    """Visible first sheet listing the balance-check failures: the workbook is not ready to sign."""
    ws = book.sheet(WARNING_SHEET, [6, 120])
    ws.set_tab_color("red")
    red = {"font_color": "#C00000"}
    book.merged(ws, 0, 0, 0, 1, "SỐ LIỆU CHƯA CÂN ĐỐI — KIỂM TRA LẠI TRƯỚC KHI TRÌNH KÝ",
                bold=True, font_size=14, **red)
    book.merged(ws, 1, 0, 1, 1, f"Kỳ báo cáo: {figures['period']['name']} ({figures['period']['range_label']}) — "
                f"{figures['agency']['name']}", italic=True)
    book.text(ws, 3, 0, "STT", bold=True, border=1, align="center")
    book.text(ws, 3, 1, "Lỗi cân đối", bold=True, border=1)
    for number, failure in enumerate(figures["checks"], start=1):
        book.number(ws, 3 + number, 0, number, num_format="0", align="center")
        book.text(ws, 3 + number, 1, failure["message"], text_wrap=True, border=1, **red)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

def _build(target: str | io.BytesIO, figures: QuarterReport) -> None:
    book = _Book(target)
    if figures.checks:
        _sheet_warning(book, figures)
    _sheet_dossiers(book, figures)
    _sheet_one_stop(book, figures)
    _sheet_catalogue(book, figures)
    _sheet_four_on_site(book, figures)
    _sheet_simplification(book, figures)
    _sheet_feedback(book, figures)
    _sheet_inputs(book, figures, "Số liệu khác", "SỐ LIỆU KHÁC CỦA BÁO CÁO",
                  ("budget", "one_stop_self_score", "one_stop_appraised_score", "initiatives", "notes"))
    _sheet_notes(book, figures)
    if figures.diff:
        _sheet_diff(book, figures)
    if figures.index766 is not None:
        add_qd766_sheet(book, figures.index766, figures.index766_note or frozen_note(figures))
    book.close()


def workbook_bytes(report: QuarterReport) -> bytes:
    """The annexes of the report (frozen figures when the period was frozen) as bytes."""
    buffer = io.BytesIO()
    _build(buffer, report)
    return buffer.getvalue()


def write_workbook(report: QuarterReport, out: str | Path) -> Path:
    """Write the annexes of the report to ``out``."""
    out = Path(out)
    out.write_bytes(workbook_bytes(report))
    return out
