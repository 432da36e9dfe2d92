"""The shared sidebar: agency, period and its mode, meeting mode, the data's as-of time.

Widgets ⇄ session state ⇄ URL (``?agency=SLDTBXH&period=2022-Q2&mode=report``), so a link can be sent
to a colleague. :class:`Filters` is what every page is showing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from .. import charts
from ..auth import Scope
from ..db import data_version
from ..demo import REF_AGENCY
from ..formatting import fmt_date, fmt_datetime, fmt_int, md_escape, vietnam_now, vietnam_today
from ..periods import ROMAN, Period, PeriodError, parse_period, period_containing
from . import queries

ALL_AGENCIES = "all"  # the URL value for "every agency"
ALL_AGENCIES_LABEL = "Tất cả cơ quan, đơn vị"
DEMO_PERIOD = "2022-Q2"  # the reference quarter the demo reproduces (domain.md §8)

PERIOD_KINDS = {
    "month": "Tháng", "quarter": "Quý", "half": "6 tháng", "nine_months": "9 tháng", "year": "Năm",
    "custom": "Tùy chọn",
}
MODE_LABELS = {"report": "Kỳ báo cáo (NĐ 09/2019)", "calendar": "Theo lịch"}
ADVANCE_KEY = "f_auto_advance"  # seconds between slides in meeting mode; 0: only by hand
ADVANCE_CHOICES = (0, 10, 20, 30, 60)
MAX_ADVANCE = 600


@dataclass(frozen=True)
class Filters:
    """What every page is showing: database, data version, agency, period, meeting mode."""

    url: str
    version: int
    agency: str  # "" means every agency
    agency_name: str
    period: Period
    meeting: bool
    demo: bool
    as_of: dt.date
    access: Scope  # who is looking: every cached query is keyed by it and the core enforces it

    @property
    def scope_name(self) -> str:
        """Who the figures are about: the agency's name, or every agency."""
        return self.agency_name if self.agency else ALL_AGENCIES_LABEL

    @property
    def chart(self) -> charts.ChartContext:
        return charts.ChartContext(scope=self.scope_name, period=self.period.label, meeting=self.meeting)

    @property
    def league_by(self) -> str:
        """Rank agencies when every agency is shown, the agency's fields when one is chosen."""
        return "field" if self.agency else "agency"

    def refreshed(self) -> Filters:
        """The same filters at the database's current data version (after an import)."""
        return replace(self, version=data_version(self.url))


def meeting_requested() -> bool:
    """Meeting mode, known before the sidebar is drawn (for ``st.set_page_config``)."""
    if "f_meeting" in st.session_state:
        return bool(st.session_state["f_meeting"])
    return st.query_params.get("meeting", "") in ("1", "true", "yes")


def _default_period(demo: bool, today: dt.date) -> Period:
    # The demo lands on the quarter it reproduces; real data on the current quarter.
    return parse_period(DEMO_PERIOD, "report") if demo else period_containing(today, "quarter", "report")


def _init_state(agencies: list[dict[str, str]], demo: bool, today: dt.date) -> None:
    """First run of a session: take the filters from the URL (a shared link), else the defaults."""
    state, params, warnings = st.session_state, st.query_params, []
    codes = {a["code"] for a in agencies}
    default_agency = REF_AGENCY if REF_AGENCY in codes else (next(iter(codes)) if len(codes) == 1 else "")
    agency = params.get("agency", "")
    if agency == ALL_AGENCIES:
        agency = ""
    elif agency and agency not in codes:
        # Unknown, or outside the account's scope: the same answer, so the link reveals nothing.
        agency = default_agency if len(codes) == 1 else ""
        shown = next((a["name"] for a in agencies if a["code"] == agency), ALL_AGENCIES_LABEL.lower())
        warnings.append(f"Không có cơ quan mã «{md_escape(params.get('agency'))}» trong dữ liệu được xem; đang hiển "
                        f"thị {md_escape(shown)}.")
    elif not agency:
        agency = default_agency
    default = period = _default_period(demo, today)
    showing = f"Đang hiển thị {default.name[0].lower()}{default.name[1:]}."
    spec, mode = params.get("period", ""), params.get("mode", "") or "report"
    if spec or "mode" in params:
        try:
            period = parse_period(spec or period.spec, mode)
        except PeriodError as exc:
            warnings.append(f"{exc} {showing}")
    if period.start > today:  # a link to 2030-Q1: nothing to show yet, so the default period instead
        warnings.append(f"{period.name} chưa bắt đầu (hôm nay là {fmt_date(today)}): chưa có số liệu của kỳ này. "
                        f"{showing}")
        period = default
    state["_agency"], state["_spec"], state["_mode"] = agency, period.spec, period.mode
    state["f_meeting"] = params.get("meeting", "") in ("1", "true", "yes")
    # ?advance=20: a wall screen opens already turning its slides every 20 s (a kiosk's link).
    advance = params.get("advance", "")
    if advance.isdigit() and 0 < int(advance) <= MAX_ADVANCE:
        state[ADVANCE_KEY] = int(advance)
    elif advance:
        warnings.append(f"Thời gian tự chuyển màn hình «{md_escape(advance)}» không hợp lệ (cần số giây từ 1 đến "
                        f"{MAX_ADVANCE}): không tự chuyển.")
    state["_filter_warnings"] = warnings


def _set_default(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _period_like(old: Period, kind: str, mode: str) -> Period:
    """When the kind of period changes, the new period of that kind containing the old one's end."""
    if kind == "custom":
        return parse_period(f"{old.start.isoformat()}..{old.end.isoformat()}", mode)
    if kind == "nine_months":
        return parse_period(f"{old.year}-9M", mode)
    if kind == "half":
        return period_containing(old.end, "half", mode)
    return period_containing(old.end, kind, mode)


def _on_kind_change() -> None:
    state = st.session_state
    old = parse_period(state["_spec"], state["_mode"])
    new = _period_like(old, state["f_kind"], state["_mode"])
    _load_period_widgets(new, force=True)


def _load_period_widgets(period: Period, force: bool = False) -> None:
    setter = (lambda k, v: st.session_state.__setitem__(k, v)) if force else _set_default
    setter("f_kind", period.kind)
    setter("f_year", period.year)
    if period.kind in ("quarter", "half", "month"):
        setter(f"f_{period.kind}", period.index)
    if period.kind == "custom":
        setter("f_range", (period.start, period.end))


def jump_to(period: Period) -> None:
    """Show ``period`` from the next run on (a callback: before the sidebar's widgets are drawn)."""
    st.session_state["_spec"], st.session_state["_mode"] = period.spec, period.mode
    st.session_state["f_mode"] = period.mode
    _load_period_widgets(period, force=True)


def _period_from_widgets(kind: str, mode: str) -> Period:
    state = st.session_state
    year = state["f_year"]
    if kind == "custom":
        chosen = state.get("f_range") or ()
        if len(chosen) != 2:  # the second day is not picked yet: keep the previous period
            return parse_period(state["_spec"], mode)
        return parse_period(f"{chosen[0].isoformat()}..{chosen[1].isoformat()}", mode)
    token = {"quarter": lambda: f"-Q{state['f_quarter']}", "half": lambda: f"-H{state['f_half']}",
             "month": lambda: f"-{state['f_month']:02d}", "nine_months": lambda: "-9M", "year": lambda: ""}[kind]()
    return parse_period(f"{year}{token}", mode)


def sidebar_filters(url: str, access: Scope) -> Filters:
    """Draw the shared sidebar and return the filters; mirrors them into the URL.

    The agency picker offers only the agencies ``access`` may see; "every agency" means every one of
    them (the whole province for admin and province accounts).
    """
    state = st.session_state
    version = data_version(url)
    agencies = queries.agencies(url, version, access)
    demo = queries.is_demo_db(url, version)
    today = vietnam_today()
    if "_spec" not in state:
        _init_state(agencies, demo, today)
    names = {a["code"]: a["name"] for a in agencies}
    current = parse_period(state["_spec"], state["_mode"])

    with st.sidebar:
        st.markdown("#### Bộ lọc")
        for warning in state.pop("_filter_warnings", []):
            st.warning(warning, icon=":material/link_off:")
        _set_default("f_agency", state["_agency"] if state["_agency"] in names else "")
        agency = st.selectbox(
            "Cơ quan, đơn vị", [*names] if len(names) == 1 and access.agencies is not None else ["", *names],
            key="f_agency",
            format_func=lambda code: names.get(code, ALL_AGENCIES_LABEL),
        )
        _set_default("f_mode", current.mode)
        mode = st.radio("Cách tính kỳ", list(MODE_LABELS), key="f_mode", format_func=MODE_LABELS.get,
                        horizontal=True, help=("Kỳ báo cáo: từ ngày 15 tháng trước đến ngày 14 tháng cuối kỳ "
                                               "(NĐ 09/2019, Điều 12). Theo lịch: tháng, quý, năm dương lịch."))
        _load_period_widgets(current)
        kind = st.selectbox("Loại kỳ", list(PERIOD_KINDS), key="f_kind", format_func=PERIOD_KINDS.get,
                            on_change=_on_kind_change)
        if kind == "custom":
            st.date_input("Từ ngày – đến ngày", key="f_range", format="DD/MM/YYYY")
        else:
            years = _year_choices(state["f_year"], today)
            left, right = st.columns(2) if kind in ("quarter", "half", "month") else (st.container(), None)
            with left:
                st.selectbox("Năm", years, key="f_year")
            if right is not None:
                with right:
                    _index_picker(kind)
        period = _period_from_widgets(kind, mode)
        st.markdown(f"**{period.label}**")
        st.caption(period.mode_label)
        st.toggle("Chế độ trình chiếu", key="f_meeting",
                  help="Chữ lớn, mỗi màn hình một biểu đồ, có nút chuyển Trước / Sau. Thanh bên được thu gọn.")
        meeting = bool(state["f_meeting"])
        if meeting:
            chosen = int(state.get(ADVANCE_KEY) or 0)
            st.selectbox("Tự chuyển màn hình", sorted({*ADVANCE_CHOICES, chosen}), key=ADVANCE_KEY,
                         format_func=lambda s: f"sau {s} giây" if s else "Không (bấm → hoặc nút Sau)",
                         help="Phím → PageDown Space: màn hình sau; ← PageUp: màn hình trước (như bút trình chiếu).")
        quality = queries.quality(url, version, access, "")
        st.divider()
        until = queries.data_until(url, version, access, vietnam_now().replace(second=0))
        st.caption(f"{data_until_text(until)}  \n"
                   f"{fmt_int(quality['dossiers'])} hồ sơ · phiên bản dữ liệu {fmt_int(version)}")

    state["_agency"], state["_spec"], state["_mode"] = agency, period.spec, period.mode
    _write_query_params(agency, period, meeting, int(state.get(ADVANCE_KEY) or 0) if meeting else 0)
    return Filters(url=url, version=version, agency=agency, agency_name=names.get(agency, ALL_AGENCIES_LABEL),
                   period=period, meeting=meeting, demo=demo, as_of=today, access=access)


def data_until_text(until: dict[str, Any]) -> str:
    """The latest reception or resolution the data records, never after now (Vietnam time); dates after
    now are counted apart, not shown as the data's reach."""
    text = f"Dữ liệu đến: **{fmt_datetime(until['until']) if until['until'] is not None else 'chưa có'}**"
    if until["later"]:
        text += (f" (không tính {fmt_int(until['later'])} hồ sơ ghi ngày sau thời điểm hiện tại theo giờ Việt Nam: "
                 "kiểm tra ngày trong dữ liệu)")
    return text


def _year_choices(selected: int, today: dt.date) -> list[int]:
    years = set(range(2019, today.year + 2)) | {selected}
    return sorted(years, reverse=True)


def _index_picker(kind: str) -> None:
    if kind == "quarter":
        st.selectbox("Quý", [1, 2, 3, 4], key="f_quarter", format_func=lambda q: f"Quý {ROMAN[q]}")
    elif kind == "half":
        st.selectbox("Nửa năm", [1, 2], key="f_half", format_func=lambda h: "6 tháng đầu" if h == 1 else "6 tháng cuối")
    elif kind == "month":
        st.selectbox("Tháng", list(range(1, 13)), key="f_month", format_func=lambda m: f"Tháng {m}")


def _write_query_params(agency: str, period: Period, meeting: bool, advance: int = 0) -> None:
    wanted = {"agency": agency or ALL_AGENCIES, "period": period.spec, "mode": period.mode}
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    if meeting and st.query_params.get("meeting") != "1":
        st.query_params["meeting"] = "1"
    elif not meeting and "meeting" in st.query_params:
        del st.query_params["meeting"]
    if advance and st.query_params.get("advance") != str(advance):
        st.query_params["advance"] = str(advance)
    elif not advance and "advance" in st.query_params:
        del st.query_params["advance"]


def agency_names(f: Filters) -> dict[str, str]:
    """Agency code → name, provinces first."""
    return {a["code"]: a["name"] for a in queries.agencies(f.url, f.version, f.access)}
