"""Streamlit glue of the QĐ 766 index: cached calls keyed like the rest of the UI (data version, the
user's scope), the hint list, the entry form and the small panel the overview page shows.

Named ``index766`` rather than ``qd766``: the package re-exports a ``qd766`` query function.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from .. import qd766
from ..auth import Scope
from ..formatting import fmt_date, fmt_datetime, fmt_decimal, fmt_int, fmt_percent
from ..periods import Period, parse_period

CACHE = dict(show_spinner=False, max_entries=128, ttl="6h")


def calendar_period(period: Period) -> Period:
    """The national index always uses calendar periods (qd766.md §1): the sidebar's period as a
    calendar month, quarter or year."""
    return period if period.mode == "calendar" else parse_period(period.spec, "calendar")


def _now(as_of: dt.date) -> dt.datetime:
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()) - dt.timedelta(seconds=1)


@st.cache_data(**CACHE)
def _index(url: str, version: int, access: Scope, spec: str, agency: str, as_of: dt.date) -> dict[str, Any]:
    return qd766.compute_index(url, spec, "calendar", agency=agency or None, now=_now(as_of), scope=access)


@st.cache_data(**CACHE)
def _trend(url: str, version: int, access: Scope, spec: str, agency: str, as_of: dt.date) -> list[dict[str, Any]]:
    return qd766.monthly_trend(url, spec, "calendar", agency=agency or None, now=_now(as_of), scope=access)


@st.cache_data(**CACHE)
def _items(url: str, version: int, access: Scope, spec: str, agency: str, indicator: str,
           as_of: dt.date) -> list[dict[str, Any]]:
    return qd766.index_items(url, spec, indicator, "calendar", agency=agency or None, now=_now(as_of), scope=access)


def index(f: Any) -> dict[str, Any]:
    return _index(f.url, f.version, f.access, calendar_period(f.period).spec, f.agency, f.as_of)


def trend(f: Any) -> list[dict[str, Any]]:
    return _trend(f.url, f.version, f.access, calendar_period(f.period).spec, f.agency, f.as_of)


def items(f: Any, indicator: str) -> list[dict[str, Any]]:
    return _items(f.url, f.version, f.access, calendar_period(f.period).spec, f.agency, indicator, f.as_of)


def _number(value: Any) -> str:
    if value is None:
        return "–"
    return fmt_int(value) if float(value) == int(value) else fmt_decimal(value)


def indicator_table(result: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for p in result["indicators"]:
        rows.append({
            "Mã": p["id"], "Nhóm": qd766.GROUP_TITLES[p["group"]], "Chỉ số": p["title"],
            "Tử số": _number(p["numerator"]), "Mẫu số": _number(p["denominator"]),
            "Tỷ lệ": fmt_percent(p["rate"]) if not (p["info"] and p["id"] == "2.2") else fmt_decimal(p["rate"]),
            "Điểm": "thông tin" if p["info"] else fmt_decimal(p["points"]),
            "Tối đa": "" if p["info"] else fmt_decimal(p["max"]),
            "Ngưỡng": fmt_percent(p["threshold"], 0) if p["threshold"] else "tuyến tính",
            "Nguồn": qd766.SOURCE_LABELS[p["source"]],
            "Ghi chú": (f"chờ {p['waiting_for']}" if p["waiting_for"] else
                        ("N/A: mẫu số 0" if p["status"] == "na" else p["note"])),
        })
    return pd.DataFrame(rows)


def ranking_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"Hạng": i + 1, "Đơn vị": r["name"], "Tổng điểm": fmt_decimal(r["total"]),
                          "Xếp loại": r["grade"],
                          **{title: fmt_decimal(r[code]) for code, title in qd766.GROUPS}}
                         for i, r in enumerate(rows)])


ITEM_LABELS = {"code": "Mã", "name": "Tên", "agency": "Cơ quan", "procedure_code": "Mã TTHC",
               "procedure_name": "Tên thủ tục", "channel": "Kênh", "received_at": "Ngày tiếp nhận",
               "due_at": "Hạn trả", "ended_at": "Kết thúc", "supplement_rounds": "Lần bổ sung",
               "dossiers": "Hồ sơ trong kỳ", "classification": "Phân loại",
               "first_received_at": "Ngày tiếp nhận", "handled_at": "Ngày xử lý xong", "in_numerator": "Thuộc tử số"}


def items_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    def cell(key: str, value: Any) -> Any:
        if key == "in_numerator":
            return "Có" if value else "Không"
        if isinstance(value, dt.datetime):
            return fmt_datetime(value)
        if isinstance(value, dt.date):
            return fmt_date(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return fmt_int(value)
        return "" if value is None else str(value)

    return pd.DataFrame([{ITEM_LABELS.get(k, k): cell(k, v) for k, v in row.items()} for row in rows])


def hint_list(result: dict[str, Any], limit: int | None = None) -> None:
    hints = result["hints"][:limit] if limit else result["hints"]
    if not hints:
        st.success("Mọi chỉ số tính được đã đạt tối đa.", icon=":material/check_circle:")
        return
    for h in hints:
        gain = f"**+{fmt_decimal(h['gain'])}** · " if h["gain"] is not None and h["kind"] == "gain" else ""
        keep = f"**giữ {fmt_decimal(h['gain'])}** · " if h["kind"] == "keep" else ""
        st.markdown(f"- {gain}{keep}{h['text']}")


def overview_panel(f: Any) -> None:
    """For the overview page: the 766 total and the three changes that gain most."""
    result = index(f)
    st.subheader(f"Chỉ số QĐ 766: {fmt_decimal(result['total'])}/100 ({result['grade']})", anchor=False)
    st.caption(f"{result['period']['label']}, theo lịch như Cổng DVCQG. Việc cần làm để tăng điểm:")
    hint_list(result, limit=3)


def input_form(f: Any) -> None:
    """Officers (and the province, for the whole province) enter what no data can give."""
    if not f.access.can_edit_reports:
        return
    period = calendar_period(f.period)
    enterable = [i for i in qd766.INDICATORS if i.enterable]
    with st.form("qd766_input", border=True):
        st.markdown(f"**Nhập số liệu không có trong dữ liệu** ({period.name}; "
                    f"{f.agency_name if f.agency else 'toàn tỉnh'})")
        choice = st.selectbox("Chỉ số", [i.id for i in enterable],
                              format_func=lambda k: f"{k} — {qd766.BY_ID[k].title}")
        left, right = st.columns(2)
        numerator = left.text_input("Tử số", help="để trống cả hai ô để xóa số liệu đã nhập")
        denominator = right.text_input("Mẫu số", help="1.4: số hồ sơ theo hệ thống báo cáo quốc gia")
        if st.form_submit_button("Ghi số liệu"):
            try:
                qd766.save_input(f.url, period, choice, numerator, denominator, agency=f.agency or None,
                                 scope=f.access)
            except (qd766.Qd766Error, PermissionError, ValueError) as exc:
                st.error(str(exc))
            else:
                st.cache_data.clear()
                st.success(f"Đã ghi số liệu {choice}.")
