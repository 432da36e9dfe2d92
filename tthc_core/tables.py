"""Every table the dashboard shows, built from one column spec each (no Streamlit here).

A table is a tuple of :class:`Column` — header, how to read the cell from a row, left (text) or right
(number) alignment, tooltip — and :func:`build` turns rows into a frame of pre-formatted Vietnamese
strings (the browser's locale never matters). The alignment and tooltips ride along in
``frame.attrs`` so the UI's ``show_table`` needs nothing else, and a CSV download of the same frame
carries the same headers. Each header is written once, here.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from . import stats
from .formatting import fmt_date, fmt_datetime, fmt_decimal, fmt_int, fmt_percent

TEXT_COLUMNS = "text_columns"  # frame.attrs key: headers aligned left
HELP = "help"  # frame.attrs key: header → tooltip
TOTAL_LABEL = "Tổng cộng"

GROUP_TITLES = {"field": "Lĩnh vực", "agency": "Cơ quan, đơn vị", "procedure": "Thủ tục", "level": "Cấp"}
CHANNEL_LABELS = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính công ích"}
STATUS_LABELS = {"normal": "", "withdrawn": "Rút hồ sơ", "returned": "Trả lại", "suspended": "Tạm dừng, chờ bổ sung"}
RESOLUTION_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict[str, Any]], Any]
    text: bool = False  # True: words, aligned left; False: a number, aligned right
    help: str | None = None


def build(columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The frame of ``rows`` under ``columns``, with alignment and tooltips in ``frame.attrs``."""
    frame = pd.DataFrame([[c.value(r) for c in columns] for r in rows], columns=[c.header for c in columns])
    frame.attrs[TEXT_COLUMNS] = [c.header for c in columns if c.text]
    frame.attrs[HELP] = {c.header: c.help for c in columns if c.help}
    return frame


def field(key: str, header: str, fmt: Callable[[Any], str] = fmt_int, **kwargs: Any) -> Column:
    """A column showing ``row[key]`` formatted with ``fmt``."""
    return Column(header, lambda r: fmt(r[key]), **kwargs)


def text(key: str, header: str, **kwargs: Any) -> Column:
    return Column(header, lambda r: r[key] if r[key] is not None else "", text=True, **kwargs)


def yes(value: Any) -> str:
    return "✓" if value else ""


def _with_total(rows: Sequence[dict[str, Any]], total: dict[str, Any], label_key: str = "label",
                label: str = TOTAL_LABEL) -> list[dict[str, Any]]:
    return [*rows, {**total, label_key: label}]


# --------------------------------------------------------------------------------------------
# Form II.06a
# --------------------------------------------------------------------------------------------

# Short headers of form II.06a for screens; the full names (stats.COUNT_LABELS) are their tooltips.
FORM_SHORT_LABELS = {
    "received_total": "Tổng số", "received_online": "Trực tuyến", "received_offline": "Trực tiếp, BCCI",
    "carried_over": "Kỳ trước", "resolved_total": "Đã giải quyết", "resolved_early": "Trước hạn",
    "resolved_on_time": "Đúng hạn", "resolved_late": "Quá hạn", "pending_total": "Đang giải quyết",
    "pending_in_time": "Trong hạn", "pending_overdue": "Quá hạn",
}


def form_count_columns() -> list[Column]:
    """The eleven count columns of form II.06a: ``(3) Tổng số`` … with the form's full name as tooltip."""
    return [field(k, f"({n}) {FORM_SHORT_LABELS[k]}", help=f"Cột {n}: {stats.COUNT_LABELS[k]}")
            for k, n in stats.FORM_COLUMNS.items()]


def form_columns() -> dict[str, str]:
    """Count key → column header of form II.06a: ``(3) Tổng số`` …"""
    return dict(zip(stats.FORM_COLUMNS, (c.header for c in form_count_columns())))


def form_table(result: dict[str, Any], by: str = "field") -> pd.DataFrame:
    """The II.06a table as the annex prints it: one row per group, the total row last."""
    columns = [text("label", GROUP_TITLES[by]), *form_count_columns()]
    return build(columns, _with_total(result["dossiers"]["rows"], result["dossiers"]["total"]))


def four_on_site_table(four: dict[str, Any]) -> pd.DataFrame:
    """Annex of the "4 tại chỗ" procedures: each with its II.06a counts, the total last."""
    columns = [text("key", "Mã TTHC"), text("label", "Tên thủ tục"), text("field", "Lĩnh vực"), *form_count_columns()]
    total = {**four["total"], "key": "", "field": ""}
    return build(columns, _with_total(four["rows"], total, label=f"{TOTAL_LABEL} ({fmt_int(len(four['rows']))} TTHC)"))


# --------------------------------------------------------------------------------------------
# League, catalogue, procedures
# --------------------------------------------------------------------------------------------

def league_table(rows: Sequence[dict[str, Any]], group_title: str) -> pd.DataFrame:
    return build([
        text("label", group_title),
        field("received_total", "Tiếp nhận"),
        field("resolved_total", "Đã giải quyết"),
        field("on_time_rate", "Tỷ lệ đúng hạn", fmt_percent),
        field("resolved_late", "Giải quyết quá hạn"),
        field("pending_overdue", "Đang quá hạn"),
        field("online_share", "Nộp trực tuyến", fmt_percent),
    ], rows)


CATALOGUE_KEYS = ("total", "published", "publicized", "one_stop", "lien_thong", "postal", "online", "online_level3",
                  "online_level4", "four_on_site", "internal_process")
CATALOGUE_HEADERS = stats.CATALOGUE_LABELS | {"online_level3": "Mức độ 3 (một phần)",
                                              "online_level4": "Mức độ 4 (toàn trình)"}


def catalogue_table(result: dict[str, Any], group_title: str,
                    keys: Sequence[str] = CATALOGUE_KEYS) -> pd.DataFrame:
    columns = [text("label", group_title), *(field(k, CATALOGUE_HEADERS[k]) for k in keys)]
    return build(columns, _with_total(result["rows"], result["total"]))


def online_service_label(level: int | None, online_class: str | None) -> str:
    """A procedure's online service, old level and new class side by side (NĐ 42/2022 mapping)."""
    by_level = {4: "toàn trình", 3: "một phần"}
    if online_class:
        name = "Toàn trình" if online_class == "full" else "Một phần"
        return f"{name} (mức độ {level})" if level else name
    if level in by_level:
        return f"Mức độ {level} → {by_level[level]}"
    if level:
        return f"Mức độ {level} (không phải DVC trực tuyến)"
    return "—"


def _days(value: Any) -> str:
    return fmt_decimal(value, 1).removesuffix(",0") if value is not None else ""


PROCEDURE_CODE = text("code", "Mã TTHC")
PROCEDURE_NAME = text("name", "Tên thủ tục")
PROCEDURE_FIELD = text("field", "Lĩnh vực")
ONLINE_SERVICE = Column("DVC trực tuyến", lambda r: online_service_label(r["online_level"], r["online_class"]),
                        text=True)
POSTAL_FLAG = Column("Bưu chính", lambda r: yes(r["postal"]), text=True)
COUNT_COLUMNS = (
    field("received_total", "Tiếp nhận"), field("resolved_total", "Đã giải quyết"),
    Column("Tỷ lệ đúng hạn", lambda r: fmt_percent(stats.kpis(r)["on_time_rate"])),
    field("pending_overdue", "Đang quá hạn"),
)


def procedure_table(rows: Sequence[dict[str, Any]], with_counts: bool = False,
                    with_agency: bool = False) -> pd.DataFrame:
    columns = [
        PROCEDURE_CODE, PROCEDURE_NAME, PROCEDURE_FIELD,
        *([text("agency_name", "Cơ quan")] if with_agency else []),
        Column("Cấp thực hiện", lambda r: stats.LEVEL_LABELS.get(r["authority_level"], r["authority_level"]),
               text=True),
        Column("Một cửa", lambda r: yes(r["one_stop"]), text=True),
        Column("Liên thông", lambda r: yes(r["lien_thong"]), text=True),
        POSTAL_FLAG, ONLINE_SERVICE,
        Column("4 tại chỗ", lambda r: yes(r["four_on_site"]), text=True),
        field("processing_days", "Thời hạn (ngày làm việc)", _days),
        *(COUNT_COLUMNS if with_counts else ()),
    ]
    return build(columns, rows)


def online_field_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return build([
        text("label", "Lĩnh vực"),
        field("procedures", "Số TTHC"),
        field("offered", "Có DVC trực tuyến mức độ 3, 4"),
        field("offered_share", "Tỷ lệ TTHC trực tuyến", fmt_percent),
        field("received_new", "Hồ sơ mới"),
        field("received_online", "Nộp trực tuyến"),
        field("online_share", "Tỷ lệ nộp trực tuyến", fmt_percent),
        field("postal_procedures", "TTHC có BCCI"),
        field("received_postal", "Qua BCCI"),
        field("postal_share", "Tỷ lệ qua BCCI", fmt_percent),
    ], [r for r in rows if r["procedures"] or r["received_new"]])


def online_procedure_table(rows: Sequence[dict[str, Any]], only_online: bool) -> pd.DataFrame:
    """Per procedure: its online service and postal flag against the new dossiers really filed
    online or by post; the busiest first."""
    chosen = [r for r in rows if stats.offers_online_service(r) or not only_online]
    chosen.sort(key=lambda r: (-stats.kpis(r)["received_new"], r["code"]))
    return build([
        PROCEDURE_CODE, PROCEDURE_NAME, PROCEDURE_FIELD, ONLINE_SERVICE,
        Column("Hồ sơ mới", lambda r: fmt_int(stats.kpis(r)["received_new"])),
        field("received_online", "Nộp trực tuyến"),
        Column("Tỷ lệ trực tuyến", lambda r: fmt_percent(stats.kpis(r)["online_share"])),
        POSTAL_FLAG,
        field("received_postal", "Qua BCCI"),
    ], chosen)


def _fold(value: str) -> str:
    """Lower case without accents, so «ho tich» finds «Hộ tịch»."""
    value = unicodedata.normalize("NFD", value.lower().replace("đ", "d"))
    return "".join(ch for ch in value if unicodedata.category(ch) != "Mn")


def search_procedures(rows: Sequence[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """Procedures whose code, name or field contains every word of ``query`` (accents optional)."""
    words = _fold(query).split()
    if not words:
        return list(rows)
    return [r for r in rows if all(w in _fold(f"{r['code']} {r['name']} {r['field']}") for w in words)]


# --------------------------------------------------------------------------------------------
# Dossiers
# --------------------------------------------------------------------------------------------

def dossier_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return build([
        text("code", "Mã hồ sơ"),
        Column("Thủ tục", lambda r: r["procedure_name"] or stats.NO_PROCEDURE, text=True),
        Column("Mã TTHC", lambda r: r["procedure_code"] or "", text=True),
        Column("Lĩnh vực", lambda r: r["field"] or stats.NO_FIELD, text=True),
        text("agency_code", "Cơ quan"),
        Column("Kênh", lambda r: CHANNEL_LABELS.get(r["channel"], r["channel"]), text=True),
        field("received_at", "Ngày tiếp nhận", fmt_datetime),
        field("due_at", "Hẹn trả", fmt_datetime),
        field("resolved_at", "Ngày có kết quả", fmt_datetime),
        Column("Kết quả", lambda r: RESOLUTION_LABELS.get(r["resolution"] or "", "Đang giải quyết"), text=True),
        Column("Số ngày quá hạn", lambda r: fmt_int(r["days_late"]) if r["days_late"] else ""),
        Column("Ghi chú", lambda r: STATUS_LABELS.get(r["status"], r["status"]), text=True),
    ], rows)


# --------------------------------------------------------------------------------------------
# Import: log, problems, preview
# --------------------------------------------------------------------------------------------

def import_log_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The latest imports (``auth.import_log``), newest first."""
    return build([
        field("at", "Lúc", fmt_datetime),
        Column("Người nhập", lambda r: r["username"] or "(không đăng nhập)", text=True),
        text("filename", "Tệp"),
        Column("SHA-256", lambda r: r["sha256"][:16] + "…", text=True),
        field("rows_read", "Đọc"), field("added", "Thêm mới"), field("updated", "Cập nhật"),
        field("rejected", "Bị loại"),
        text("summary", "Kết quả"),
    ], rows)


def problems_table(problems: Sequence[Any]) -> pd.DataFrame:
    """Every refused row of an import: line, column, reason, value as read."""
    return build([
        Column("Dòng", lambda p: fmt_int(p.line)),
        Column("Cột", lambda p: p.column, text=True),
        Column("Lý do", lambda p: p.message, text=True),
        Column("Giá trị", lambda p: p.value, text=True),
    ], problems)


def preview_table(result: Any, rows: int = 200) -> pd.DataFrame:
    """The first valid rows the import would write: the file's own columns and line numbers, values
    as read (dates, channels, statuses) in Vietnamese."""
    frame = result.preview.head(rows)
    labels = {"channel": CHANNEL_LABELS, "status": STATUS_LABELS | {"normal": "Bình thường"}}
    columns = [Column("Dòng", lambda r: fmt_int(r["line"]))] if "line" in frame.columns else []
    columns += [Column(result.columns[c], lambda r, c=c: preview_cell(labels.get(c, {}).get(r[c], r[c])
                                                                      if c in labels else r[c]), text=True)
                for c in result.columns if c in frame.columns]
    return build(columns, frame.to_dict("records"))


def preview_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return fmt_datetime(pd.Timestamp(value).to_pydatetime())
    if isinstance(value, dt.date):
        return fmt_date(value)
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, Decimal):
        return _days(value)
    if isinstance(value, int):
        return fmt_int(value)
    if isinstance(value, float):
        return _days(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# Quarterly report: frozen-figure differences, simplification reviews
# --------------------------------------------------------------------------------------------

def frozen_diff_table(diff: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The figures that changed since the freeze: frozen value against the live one."""
    from .reports import fmt_value

    return build([
        text("section", "Biểu"), text("row", "Dòng"), text("label", "Chỉ tiêu"),
        Column("Đã chốt", lambda d: fmt_value(d["key"], d["frozen"])),
        Column("Hiện tại", lambda d: fmt_value(d["key"], d["live"])),
    ], diff)


def simplification_table(simplification: dict[str, Any]) -> pd.DataFrame:
    """Procedures reviewed for simplification: processing time before and after, the cut; total last."""
    from .reports import fmt_number

    total = {**simplification["total"], "authority_level": None,
             "procedure_name": f"{TOTAL_LABEL} ({fmt_int(simplification['total']['procedures'])} TTHC)"}
    return build([
        text("procedure_name", "Tên thủ tục"),
        Column("Cấp", lambda r: stats.LEVEL_LABELS.get(r["authority_level"], r["authority_level"] or ""), text=True),
        field("days_before", "Trước (ngày)", fmt_number),
        field("days_after", "Sau (ngày)", fmt_number),
        field("days_cut", "Cắt giảm (ngày)", fmt_number),
        field("ratio", "Tỷ lệ", fmt_percent),
    ], [*simplification["rows"], total])
