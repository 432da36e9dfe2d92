"""Streamlit glue of the QĐ 766 index: cached calls keyed like the rest of the UI (data version, the
user's scope), the hint list, the entry form and the small panel the overview page shows.

Named ``index766`` rather than ``qd766``: the package re-exports a ``qd766`` query function.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from .. import demo_guard, qd766
from ..auth import AccessDenied, Scope
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
        st.caption("Nhập theo tháng: quý và năm là tổng các tháng (1.4, CT, 4.4, 5.4); số liệu nhập cho cả quý "
                   "được dùng thay tổng các tháng. Số TTHC, DVC nhập cho cả kỳ. "
                   + " · ".join(f"{k}: tử số = {num}; mẫu số = {den}" for k, (num, den) in qd766.INPUT_MEANINGS.items()))
        left, right = st.columns(2)
        numerator = left.text_input("Tử số", help="để trống cả hai ô để xóa số liệu đã nhập")
        denominator = right.text_input("Mẫu số", help="1.4: số hồ sơ theo hệ thống báo cáo quốc gia; "
                                                      "5.4: để trống")
        if st.form_submit_button("Ghi số liệu"):
            try:
                qd766.save_input(f.url, period, choice, numerator, denominator, agency=f.agency or None,
                                 scope=f.access)
            except (qd766.Qd766Error, PermissionError, ValueError) as exc:
                st.error(str(exc))
            else:
                st.cache_data.clear()
                st.success(f"Đã ghi số liệu {choice}.")


def rules_admin(f: Any) -> None:
    """Admins only: the dated scoring table (maxima, thresholds, grade bands) and the forms that change
    it from a date on (audited by the core, refused on the demo like every write). The forms write in
    their buttons' callbacks, reading the widgets by key, so the outcome survives the rerun."""
    if not f.access.can_manage_users:
        return
    period = calendar_period(f.period)
    table = qd766.rule_rows(f.url, period.end)
    outcome = st.session_state.pop(RULES_OUTCOME, None)
    with st.expander(f"Bảng điểm Chỉ số 766 (quản trị) — có hiệu lực ngày {fmt_date(period.end)}",
                     expanded=outcome is not None):
        if outcome:
            (st.success if outcome[0] == "ok" else st.error)(outcome[1])
        st.caption("Cổng DVCQG thay đổi điểm tối đa, ngưỡng và bậc xếp loại: mỗi thay đổi có ngày áp dụng và "
                   "dùng cho các kỳ kết thúc từ ngày đó (kỳ trước giữ bảng điểm cũ). Mọi thay đổi được ghi vào "
                   "nhật ký kiểm tra.")
        st.dataframe(rules_table(table), hide_index=True, width="stretch")
        total = f"Tổng điểm tối đa: {fmt_decimal(table['total_max'])}"
        if table["total_max"] == 100:
            st.caption(total)
        else:
            st.warning(total + " — khác 100 điểm")
        st.caption("Xếp loại: " + ", ".join(f"{g['label']} từ {fmt_decimal(g['min'])}" for g in table["grades"]))
        with st.form("qd766_rule", border=True):
            st.markdown("**Sửa điểm một chỉ số**")
            cols = st.columns(4)
            cols[0].date_input("Áp dụng từ ngày", value=max(period.start, qd766.RULES_SINCE), format="DD/MM/YYYY",
                               min_value=qd766.RULES_SINCE, key="qd766_rule_from")
            cols[1].selectbox("Chỉ số", [r["indicator"] for r in table["rules"]], key="qd766_rule_ind")
            cols[2].text_input("Điểm tối đa", key="qd766_rule_max")
            cols[3].text_input("Ngưỡng (%)", help="để trống: tính tuyến tính", key="qd766_rule_thr")
            st.form_submit_button("Ghi bảng điểm", on_click=_save_rule, args=(f,))
        with st.form("qd766_grades", border=True):
            st.markdown("**Sửa bậc xếp loại** (mỗi dòng: tên = tổng điểm thấp nhất; bậc thấp nhất từ 0)")
            st.date_input("Áp dụng từ ngày", value=max(period.start, qd766.RULES_SINCE), format="DD/MM/YYYY", min_value=qd766.RULES_SINCE,
                          key="qd766_grades_from")
            st.text_area("Các bậc", value="\n".join(f"{g['label']} = {fmt_decimal(g['min'])}" for g in table["grades"]),
                         key="qd766_grades_text")
            st.form_submit_button("Ghi bậc xếp loại", on_click=_save_grades, args=(f,))


RULES_OUTCOME = "_qd766_rules_outcome"


def _save_rule(f: Any) -> None:
    state = st.session_state
    day, indicator = state["qd766_rule_from"], state["qd766_rule_ind"]
    _admin_write(f, lambda: qd766.set_rule(f.url, day, indicator, state["qd766_rule_max"],
                                           state["qd766_rule_thr"] or None, scope=f.access),
                 f"Đã ghi điểm chỉ số {indicator} từ ngày {fmt_date(day)}.")


def _save_grades(f: Any) -> None:
    day, text = st.session_state["qd766_grades_from"], st.session_state["qd766_grades_text"]

    def write() -> None:
        bands = []
        for n, line in enumerate((line for line in text.splitlines() if line.strip()), 1):
            label, sep, lowest = line.rpartition("=")
            if not sep:
                raise qd766.Qd766Error(f"Dòng {n} («{line.strip()}»): cần dạng «tên = điểm».")
            bands.append((label, lowest))
        qd766.set_grades(f.url, day, bands, scope=f.access)

    _admin_write(f, write, f"Đã ghi bậc xếp loại từ ngày {fmt_date(day)}.")


def _admin_write(f: Any, write: Any, done: str) -> None:
    if refusal := demo_guard.write_refusal(f.url, f.access):
        st.session_state[RULES_OUTCOME] = ("refused", refusal)
        return
    try:
        write()
    except (qd766.Qd766Error, AccessDenied) as exc:
        st.session_state[RULES_OUTCOME] = ("error", str(exc))
    else:
        st.cache_data.clear()
        st.session_state[RULES_OUTCOME] = ("ok", done)


def rules_table(table: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Mã": r["indicator"], "Nhóm": qd766.GROUP_TITLES[r["group"]], "Chỉ số": r["title"],
        "Điểm tối đa": fmt_decimal(r["max"]),
        "Ngưỡng": fmt_percent(r["threshold"], 0) if r["threshold"] else "tuyến tính",
        "Áp dụng từ": fmt_date(r["valid_from"]),
    } for r in table["rules"]])
