"""Streamlit glue of the dashboard: the one module of tthc_core that imports streamlit.

What lives here, so that ``dashboard.py`` and ``pages/*.py`` read like descriptions of screens:

- **the database**: :func:`prepare_database` builds the demo on the very first start;
- **cached queries**: thin ``st.cache_data`` wrappers around :mod:`tthc_core.stats`, keyed by every
  argument that changes the answer — database URL, data version, period spec and mode, agency,
  grouping and the as-of day. An import bumps the data version, so its rows show at once and
  nothing else is recomputed;
- **filters** (:class:`Filters`): the shared sidebar (agency, period and its mode, meeting mode, the
  data's as-of time), kept in the URL (``?agency=SLDTBXH&period=2022-Q2&mode=report``) so a link
  can be sent to a colleague;
- **display helpers**: KPI cards (a live fragment), banners, tables of pre-formatted Vietnamese
  strings (the browser's locale never matters), charts and the meeting-mode slideshow, CSV downloads.

Figures come from :mod:`tthc_core.stats`; this module picks, arranges and formats them. The few
look-ups and groupings the core does not offer yet (agency list, procedure list, totals per
mechanism) are marked ``TODO(core)`` and belong in ``stats.py``.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, NoReturn, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from . import charts, stats
from . import auth
from .exports import csv as exports_csv
from .auth import OPEN_SCOPE, AccessDenied, AuthError, Scope
from .db import data_version, database_exists, default_url, is_embedded_default
from .demo import REF_AGENCY, build_demo, is_demo
from .formatting import fmt_date, fmt_datetime, fmt_decimal, fmt_delta, fmt_int, fmt_percent, ratio_percent
from .periods import Period, PeriodError, months_covering, parse_period, period_containing

log = logging.getLogger(__name__)

ALL_AGENCIES = "all"  # the URL value for "every agency"
ALL_AGENCIES_LABEL = "Tất cả cơ quan, đơn vị"
DEMO_PERIOD = "2022-Q2"  # the reference quarter the demo reproduces (domain.md §8)
KPI_REFRESH = "30s"
CACHE = dict(show_spinner=False, max_entries=256, ttl="6h")

PERIOD_KINDS = {
    "month": "Tháng", "quarter": "Quý", "half": "6 tháng", "nine_months": "9 tháng", "year": "Năm",
    "custom": "Tùy chọn",
}
MODE_LABELS = {"report": "Kỳ báo cáo (NĐ 09/2019)", "calendar": "Theo lịch"}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
CHANNEL_LABELS = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính công ích"}
STATUS_LABELS = {"normal": "", "withdrawn": "Rút hồ sơ", "returned": "Trả lại", "suspended": "Tạm dừng, chờ bổ sung"}
RESOLUTION_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
GROUP_TITLES = {"field": "Lĩnh vực", "agency": "Cơ quan, đơn vị", "procedure": "Thủ tục", "level": "Cấp"}

# NĐ 42/2022 (from 01/8/2022): level 4 → toàn trình, level 3 → một phần, levels 1–2 → not an online
# public service. Stated on every screen that shows online levels.
ONLINE_MAPPING_NOTE = ("Theo NĐ 42/2022/NĐ-CP (từ 01/8/2022): DVC trực tuyến **mức độ 4 → toàn trình**, "
                       "**mức độ 3 → một phần**; mức độ 1, 2 không còn là dịch vụ công trực tuyến. "
                       "Số liệu trước 8/2022 ghi theo mức độ, sau đó theo loại; bảng hiển thị cả hai.")


# --------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _build_demo_once(url: str) -> None:
    # cache_resource runs this once per URL for the whole server, even with several sessions waiting.
    if not database_exists(url):
        build_demo(url)


def prepare_database() -> str:
    """The database URL; on the very first start (no embedded database yet) the demo is built."""
    url = default_url()
    if is_embedded_default(url) and not database_exists(url):
        with st.spinner("Đang tạo dữ liệu minh họa… (khoảng 10 giây, chỉ ở lần chạy đầu tiên)"):
            _build_demo_once(url)
    return url


# --------------------------------------------------------------------------------------------
# Cached queries (every argument that changes the answer is part of the key)
# --------------------------------------------------------------------------------------------

@st.cache_data(**CACHE)
def _is_demo(url: str, version: int) -> bool:
    return is_demo(url)


@st.cache_data(**CACHE)
def _agencies(url: str, version: int, access: Scope) -> list[dict[str, str]]:
    return stats.list_agencies(url, scope=access)


@st.cache_data(**CACHE)
def _stats(url: str, version: int, access: Scope, spec: str, mode: str, agency: str, by: str,
           as_of: dt.date) -> dict[str, Any]:
    return stats.compute_stats(url, spec, mode, agency=agency or None, by=by, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _series(url: str, version: int, access: Scope, spec: str, mode: str, agency: str, count: int,
            as_of: dt.date) -> list[tuple[Period, dict[str, int]]]:
    return stats.series(url, spec, count=count, mode=mode, agency=agency or None, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _qd766(url: str, version: int, access: Scope, spec: str, mode: str, agency: str,
           as_of: dt.date) -> dict[str, Any]:
    return stats.qd766_scores(url, spec, mode, agency=agency or None, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _catalogue(url: str, version: int, access: Scope, agency: str, at: dt.date, by: str | None) -> dict[str, Any]:
    return stats.catalogue(url, agency or None, at=at, by=by, scope=access)


@st.cache_data(**CACHE)
def _continuity(url: str, version: int, access: Scope, spec: str, mode: str, agency: str) -> list[dict[str, Any]]:
    return stats.continuity_failures(url, spec, mode, agency=agency or None, scope=access)


@st.cache_data(**CACHE)
def _quality(url: str, version: int, access: Scope, agency: str) -> dict[str, Any]:
    return stats.data_quality(url, agency or None, scope=access)


@st.cache_data(**CACHE)
def _dossiers(url: str, version: int, access: Scope, spec: str, mode: str, agency: str, count_key: str,
              group_by: str | None, group_key: str | None, limit: int, as_of: dt.date) -> list[dict[str, Any]]:
    return stats.list_dossiers(url, spec, mode, agency=agency or None, count_key=count_key, group_by=group_by,
                               group_key=group_key, limit=limit, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _report_figures(url: str, version: int, access: Scope, spec: str, mode: str, agency: str) -> dict[str, Any]:
    from . import reports

    return reports.report_figures(url, spec, mode, agency or None, scope=access)


@st.cache_data(**CACHE)
def _procedures(url: str, version: int, access: Scope, agency: str, at: dt.date) -> list[dict[str, Any]]:
    return stats.list_procedures(url, agency or None, at=at, scope=access)


# --------------------------------------------------------------------------------------------
# Filters: sidebar widgets ⇄ session state ⇄ URL
# --------------------------------------------------------------------------------------------

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


_current = threading.local()  # the filters of the run in progress (each script run has its own thread)


def filters() -> Filters:
    """The filters the frame (dashboard.py) set up for this run; every page starts with this."""
    found = getattr(_current, "filters", None)
    if found is None:
        _rerun_inside_frame()
    return found


def _rerun_inside_frame() -> NoReturn:
    """A page is running without the frame around it.

    On a fresh server Streamlit still follows its legacy ``pages/`` discovery until the first
    ``st.navigation`` call, so a shared link such as ``/giai_quyet?…`` opens the page file directly.
    Turn that legacy mode off, as ``st.navigation`` itself does for the whole process, and rerun: the
    frame then resolves the same URL to the same page, now with the sidebar and filters.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.error("Trang này cần được mở qua ứng dụng chính: streamlit run dashboard.py", icon=":material/error:")
    st.stop()


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
        warnings.append(f"Không có cơ quan mã «{params.get('agency')}» trong dữ liệu được xem; đang hiển thị {shown}.")
    elif not agency:
        agency = default_agency
    period = _default_period(demo, today)
    spec, mode = params.get("period", ""), params.get("mode", "") or "report"
    if spec or "mode" in params:
        try:
            period = parse_period(spec or period.spec, mode)
        except PeriodError as exc:
            warnings.append(f"{exc} Đang hiển thị {period.name.lower()}.")
    state["_agency"], state["_spec"], state["_mode"] = agency, period.spec, period.mode
    state["f_meeting"] = params.get("meeting", "") in ("1", "true", "yes")
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


OPEN_ENV = "TTHC_OPEN"  # "1": a deployment opened on purpose, no sign-in


def _oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` configures an identity provider for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all is the common case
        return False


def sign_in(url: str) -> Scope:
    """Who is looking; draws the sign-in screen and stops the run until someone has signed in.

    The demo database and deployments opened on purpose (``TTHC_OPEN=1``) need no sign-in. Otherwise
    the province's identity provider (``st.login``, matched by e-mail to an account) when configured,
    else the built-in accounts (``python -m tthc_core user add``).
    """
    if _is_demo(url, data_version(url)) or os.environ.get(OPEN_ENV) == "1":
        return OPEN_SCOPE
    state = st.session_state
    oidc = _oidc_configured()
    access = state.get("_access")
    if access is None and oidc and st.user.is_logged_in:
        try:
            access = state["_access"] = auth.scope_for_email(url, st.user.email)
        except AuthError as exc:
            st.error(str(exc), icon=":material/block:")
            st.button("Đăng xuất", on_click=st.logout)
            st.stop()
    if access is None:
        _sign_in_screen(url, oidc)
        st.stop()
    with st.sidebar:
        who = f"**{access.username}** · {auth.ROLE_LABELS[access.role]}"
        st.caption(f"Đang đăng nhập: {who}")
        st.button("Đăng xuất", key="sign_out", on_click=_sign_out, args=(oidc,), icon=":material/logout:")
    return access


def _sign_out(oidc: bool) -> None:
    st.session_state.clear()
    if oidc:
        st.logout()


def _sign_in_screen(url: str, oidc: bool) -> None:
    st.title("Thống kê thủ tục hành chính", anchor=False)
    st.caption("Đăng nhập để xem số liệu của cơ quan, đơn vị được giao.")
    if oidc:
        st.button("Đăng nhập bằng tài khoản của tỉnh", on_click=st.login, type="primary", icon=":material/login:")
        return
    if refused := st.session_state.pop("_sign_in_refused", None):
        st.error(refused, icon=":material/block:")
    with st.form("sign_in"):
        st.text_input("Tên đăng nhập hoặc e-mail", key="_sign_in_user")
        st.text_input("Mật khẩu", type="password", key="_sign_in_password")
        # A callback, not the button's return value: it runs before the next script run, whatever
        # reruns the frame makes (see _rerun_inside_frame).
        st.form_submit_button("Đăng nhập", type="primary", on_click=_attempt_sign_in, args=(url,))


def _attempt_sign_in(url: str) -> None:
    state = st.session_state
    try:
        state["_access"] = auth.authenticate(url, state.get("_sign_in_user", ""), state.get("_sign_in_password", ""))
    except AuthError as exc:
        state["_sign_in_refused"] = str(exc)
    state["_sign_in_password"] = ""  # never kept in the session


def sidebar_filters(url: str, access: Scope) -> Filters:
    """Draw the shared sidebar and return the filters; mirrors them into the URL.

    The agency picker offers only the agencies ``access`` may see; "every agency" means every one of
    them (the whole province for admin and province accounts).
    """
    state = st.session_state
    version = data_version(url)
    agencies = _agencies(url, version, access)
    demo = _is_demo(url, version)
    today = dt.date.today()
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
        quality = _quality(url, version, access, "")
        st.divider()
        st.caption(f"Dữ liệu đến: **{fmt_datetime(quality['last_activity']) or 'chưa có'}**  \n"
                   f"{fmt_int(quality['dossiers'])} hồ sơ · phiên bản dữ liệu {fmt_int(version)}")

    state["_agency"], state["_spec"], state["_mode"] = agency, period.spec, period.mode
    _write_query_params(agency, period, meeting)
    f = Filters(url=url, version=version, agency=agency, agency_name=names.get(agency, ALL_AGENCIES_LABEL),
                period=period, meeting=meeting, demo=demo, as_of=today, access=access)
    return f


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


def _write_query_params(agency: str, period: Period, meeting: bool) -> None:
    wanted = {"agency": agency or ALL_AGENCIES, "period": period.spec, "mode": period.mode}
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    if meeting and st.query_params.get("meeting") != "1":
        st.query_params["meeting"] = "1"
    elif not meeting and "meeting" in st.query_params:
        del st.query_params["meeting"]


def agency_names(f: Filters) -> dict[str, str]:
    """Agency code → name, provinces first."""
    return {a["code"]: a["name"] for a in _agencies(f.url, f.version, f.access)}


# --------------------------------------------------------------------------------------------
# Page frame: header, banners, meeting style, error guard
# --------------------------------------------------------------------------------------------

MEETING_CSS = """
<style>
  [data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 3rem; padding-right: 3rem; }
  [data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p { font-size: 1.3rem; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 2.6rem; padding-top: 0; }
  [data-testid="stMetricValue"] p { font-size: 3rem !important; line-height: 1.15; font-weight: 600; }
  [data-testid="stMetricLabel"] p { font-size: 1.4rem !important; }
  [data-testid="stMetricDelta"] p { font-size: 1.2rem !important; }
  [data-testid="stCaptionContainer"] p { font-size: 1.1rem !important; }
  [data-testid="stButton"] button p { font-size: 1.3rem !important; }
</style>
"""


def page_header(title: str, f: Filters) -> None:
    """The page title, then who and which period it is about (the first thing a director reads)."""
    st.title(title, anchor=False)
    st.markdown(f"**{f.scope_name}** · {f.period.label}")
    if f.meeting:
        return  # a meeting screen keeps to the title, the scope and the period
    running = (f" Kỳ chưa kết thúc: số liệu đến hôm nay {fmt_date(f.as_of)}, hồ sơ quá hạn tính tại hôm nay."
               if f.period.start <= f.as_of < f.period.end else "")
    st.caption(f"{f.period.mode_label}.{running}")


def frame_banners(f: Filters) -> None:
    """Shown above every page: meeting-mode style, demo notice, empty database notice."""
    if f.meeting:
        st.html(MEETING_CSS)
    if f.demo and f.meeting:
        st.badge("Dữ liệu minh họa", icon=":material/science:", color="orange")
    elif f.demo:
        st.info("**Dữ liệu minh họa** — số liệu quý II/2022 của Sở LĐTBXH Lạng Sơn được tái hiện kèm dữ liệu giả "
                "định của một số cơ quan khác. Nhập dữ liệu thật ở trang **Dữ liệu**.", icon=":material/science:")
    elif _quality(f.url, f.version, f.access, "")["dossiers"] == 0:
        st.info("Cơ sở dữ liệu chưa có hồ sơ nào. Vào trang **Dữ liệu** để nhập tệp hồ sơ hoặc danh mục thủ tục.",
                icon=":material/upload_file:")


@contextmanager
def shown_errors(where: str = "trang này") -> Iterator[None]:
    """Any error inside ends as a Vietnamese message on screen, never a traceback (the traceback
    goes to the server log). Streamlit's own rerun/stop signals are not errors and pass through."""
    try:
        yield
    except (stats.StatsError, PeriodError, AccessDenied, AuthError) as exc:
        st.error(str(exc), icon=":material/error:")
    except SQLAlchemyError:
        log.exception("database error in %s", where)
        st.error(f"Không đọc được cơ sở dữ liệu để hiển thị {where}. Hãy thử tải lại trang; nếu lỗi còn, báo quản "
                 "trị viên (chi tiết đã ghi vào nhật ký máy chủ).", icon=":material/error:")
    except Exception:  # noqa: BLE001 - any bug must end as a message, not a traceback on a wall
        log.exception("error in %s", where)
        st.error(f"Không hiển thị được {where} do một lỗi của chương trình. Hãy thử tải lại trang; nếu lỗi còn, "
                 "báo quản trị viên (chi tiết đã ghi vào nhật ký máy chủ).", icon=":material/error:")


def run_page(page: Any, f: Filters) -> None:
    """Run a page with the filters, its errors shown as Vietnamese messages."""
    _current.filters = f
    try:
        with shown_errors():
            page.run()
    finally:
        _current.filters = None


# --------------------------------------------------------------------------------------------
# Figures for pages (cached core calls, with the filters as arguments)
# --------------------------------------------------------------------------------------------

def dossier_stats(f: Filters, by: str = "field") -> dict[str, Any]:
    """``stats.compute_stats`` for the filters: the II.06a table grouped ``by``, catalogue, checks."""
    return _stats(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, by, f.as_of)


def history(f: Filters, count: int = 6) -> list[tuple[Period, dict[str, int]]]:
    """Totals of the last ``count`` periods of the same kind, ending with the selected one."""
    return _series(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, count, f.as_of)


def monthly_history(f: Filters) -> list[tuple[Period, dict[str, int]]]:
    last, count = months_covering(f.period)
    return _series(f.url, f.version, f.access, last.spec, last.mode, f.agency, count, f.as_of)


def qd766(f: Filters) -> dict[str, Any]:
    return _qd766(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, f.as_of)


def catalogue(f: Filters, by: str | None = None) -> dict[str, Any]:
    """Catalogue figures on the period's last day, like compute_stats' ``procedures``."""
    return _catalogue(f.url, f.version, f.access, f.agency, f.period.end, by)


def checks(f: Filters) -> list[dict[str, Any]]:
    """Every identity the period's table breaks, and the carried-over continuity (domain.md §4)."""
    found = list(dossier_stats(f)["checks"])
    if f.period.kind != "custom":
        found += _continuity(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency)
    return found


def data_quality(f: Filters) -> dict[str, Any]:
    return _quality(f.url, f.version, f.access, f.agency)


def dossiers(f: Filters, count_key: str, group_by: str | None = None, group_key: str | None = None,
             limit: int = 5000) -> list[dict[str, Any]]:
    return _dossiers(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, count_key, group_by,
                     group_key, limit, f.as_of)


def report_figures(f: Filters) -> dict[str, Any]:
    """``reports.report_figures`` for the filters (the quarterly report page and its exports)."""
    return _report_figures(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency)


def procedures(f: Filters) -> list[dict[str, Any]]:
    """The procedures under the agency's authority on the period's last day, with their flags."""
    return _procedures(f.url, f.version, f.access, f.agency, f.period.end)


def procedure_results(f: Filters) -> list[dict[str, Any]]:
    """Each procedure of the catalogue with its II.06a counts in the period (zeros when none filed)."""
    counts = {(r["key"], r["label"]): r for r in dossier_stats(f, by="procedure")["dossiers"]["rows"]}
    by_code = {r["key"]: r for r in counts.values()}
    zero = dict.fromkeys(stats.COUNT_KEYS, 0)
    merged = []
    for proc in procedures(f):
        row = counts.get((proc["code"], proc["name"])) or by_code.get(proc["code"]) or zero
        merged.append({**proc, **{k: row[k] for k in stats.COUNT_KEYS}})
    return merged


def _sum_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    total = dict.fromkeys(stats.COUNT_KEYS, 0)
    for row in rows:
        for key in stats.COUNT_KEYS:
            total[key] += row[key]
    return total


MECHANISMS = {"one_stop": "Một cửa", "lien_thong": "Một cửa liên thông", "four_on_site": "4 tại chỗ"}


def mechanism_results(f: Filters) -> list[dict[str, Any]]:
    """Dossier counts of the procedures under each mechanism (one-stop, liên thông, 4 tại chỗ).

    TODO(core): ``compute_stats(..., by="mechanism")`` would let the export reuse it.
    """
    results = procedure_results(f)
    rows = []
    for key, label in MECHANISMS.items():
        members = [r for r in results if r[key]]
        rows.append({"key": key, "label": label, "procedures": len(members), **_sum_counts(members)})
    return rows


def online_by_field(f: Filters) -> list[dict[str, Any]]:
    """Per field: procedures offered online at level 3/4 (toàn trình / một phần) against the share of
    new dossiers really filed online, with postal figures alongside."""
    dossier_rows = {r["label"]: r for r in dossier_stats(f)["dossiers"]["rows"]}
    rows = []
    for cat in catalogue(f, by="field")["rows"]:
        d = dossier_rows.get(cat["label"], dict.fromkeys(stats.COUNT_KEYS, 0))
        figures = stats.kpis(d)
        # Offered online as in QĐ 766 "A" (stats.qd766_scores): toàn trình + một phần.
        offered = cat["online_full"] + cat["online_partial"]
        rows.append({
            "label": cat["label"], "procedures": cat["total"], "offered": offered, "postal_procedures": cat["postal"],
            "offered_share": ratio_percent(offered, cat["total"]), "received_new": figures["received_new"],
            "received_online": d["received_online"], "received_postal": d["received_postal"],
            "online_share": figures["online_share"], "postal_share": figures["postal_share"],
        })
    return rows


def league_rows(f: Filters) -> list[dict[str, Any]]:
    """Agencies (or the chosen agency's fields) with their KPIs, the one dragging most first."""
    return stats.league(dossier_stats(f, by=f.league_by)["dossiers"]["rows"])


# --------------------------------------------------------------------------------------------
# KPI cards
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    percent: bool
    delta_color: str  # "normal": up is good; "inverse": up is bad
    help: str


KPIS = (
    Kpi("received_total", "Hồ sơ tiếp nhận", False, "off",
        "Tổng số hồ sơ trong kỳ (cột 3 biểu II.06a): mới tiếp nhận trực tuyến, trực tiếp, bưu chính và từ kỳ "
        "trước chuyển qua."),
    Kpi("resolved_total", "Đã giải quyết", False, "normal",
        "Hồ sơ có kết quả trong kỳ (cột 7), gồm trước hạn, đúng hạn và quá hạn."),
    Kpi("on_time_rate", "Tỷ lệ đúng hạn", True, "normal",
        "(Trước hạn + đúng hạn) ÷ đã giải quyết. Hồ sơ rút, trả lại được tính đúng hạn theo thực tiễn của tỉnh."),
    Kpi("pending_overdue", "Đang quá hạn", False, "inverse",
        "Hồ sơ chưa có kết quả đã quá hạn hẹn trả (cột 13), tính tại cuối kỳ, hoặc hôm nay nếu kỳ chưa kết thúc."),
    Kpi("online_share", "Nộp trực tuyến", True, "normal",
        "Hồ sơ mới tiếp nhận trực tuyến ÷ tổng số hồ sơ mới tiếp nhận trong kỳ (cột 4 ÷ (cột 4 + cột 5))."),
)


def _kpi_value(kpi: Kpi, value: Any) -> str:
    return fmt_percent(value) if kpi.percent else fmt_int(value)


def _kpi_delta(kpi: Kpi, now: Any, before: Any) -> str | int | None:
    """Change against the previous period: dossiers, or percentage points for a rate; the number 0
    (not a string) when flat, so Streamlit draws it grey without an arrow."""
    if now is None or before is None:
        return None
    change = now - before
    if change == 0:
        return 0
    return fmt_delta(change, places=2, unit=" điểm %") if kpi.percent else fmt_delta(change)


def _kpi_detail(key: str, counts: dict[str, int]) -> str:
    """The small line under a card: what the number is made of."""
    figures = stats.kpis(counts)
    if key == "received_total":
        return f"Mới {fmt_int(figures['received_new'])} · kỳ trước chuyển qua {fmt_int(counts['carried_over'])}"
    if key == "resolved_total":
        return (f"Trước hạn {fmt_int(counts['resolved_early'])} · đúng hạn {fmt_int(counts['resolved_on_time'])}"
                f" · quá hạn {fmt_int(counts['resolved_late'])}")
    if key == "on_time_rate":
        return (f"(Trước hạn {fmt_int(counts['resolved_early'])} + đúng hạn {fmt_int(counts['resolved_on_time'])}) "
                f"÷ {fmt_int(counts['resolved_total'])} đã giải quyết")
    if key == "pending_overdue":
        return f"trên {fmt_int(counts['pending_total'])} hồ sơ đang giải quyết"
    return f"{fmt_int(counts['received_online'])} / {fmt_int(figures['received_new'])} hồ sơ mới"


def kpi_cards(f: Filters) -> None:
    """The five director's KPIs with the change against the previous period and a sparkline of the
    last six periods. Refreshes on its own every 30 s: an import elsewhere shows without a full rerun."""
    _live_kpi_cards(f)


@st.fragment(run_every=KPI_REFRESH)
def _live_kpi_cards(f: Filters) -> None:
    # The fragment reruns on its own, outside run_page: it guards itself.
    with shown_errors("các chỉ số"):
        live = f.refreshed()
        periods = history(live)
        (_, now_counts), (previous, before_counts) = periods[-1], periods[-2]
        now, before = stats.kpis(now_counts), stats.kpis(before_counts)
        trend = [stats.kpis(c) for _, c in periods]
        st.caption(f"Mũi tên: thay đổi so với {previous.name} · đường nhỏ: {len(periods)} kỳ gần nhất, "
                   f"từ {periods[0][0].short_name} đến {periods[-1][0].short_name}.")
        grid = card_grid(len(KPIS), f.meeting)
        for kpi in KPIS:
            with grid.cell():
                st.metric(
                    kpi.label, _kpi_value(kpi, now[kpi.key]), delta=_kpi_delta(kpi, now[kpi.key], before[kpi.key]),
                    delta_color=kpi.delta_color, help=kpi.help,
                    chart_data=charts.sparkline_values(k[kpi.key] for k in trend), chart_type="area",
                )
                st.caption(_kpi_detail(kpi.key, now_counts))
        if live.version != f.version:
            st.caption(f"Số liệu vừa được cập nhật ({dt.datetime.now():%H:%M}); các bảng bên dưới cập nhật khi tải "
                       "lại trang.")


def checks_banner(f: Filters) -> None:
    """The identity checks of domain.md §4, as a warning when any is broken (nothing when all hold)."""
    found = checks(f)
    if not found:
        return
    lines = "\n".join(f"- {c['message']}" for c in found[:6])
    more = f"\n- … và {fmt_int(len(found) - 6)} cảnh báo khác." if len(found) > 6 else ""
    st.warning(f"**Số liệu chưa khớp ({fmt_int(len(found))} kiểm tra không đạt)** — cần rà soát trước khi ký báo "
               f"cáo:\n{lines}{more}", icon=":material/rule:")


def card_grid(count: int, meeting: bool = False) -> Any:
    """A grid of bordered cards that wraps on narrow screens instead of cutting «100,00 %» short."""
    return st.grid(count, min_column_width=235 if meeting else 150, border=True, gap="small")


def metric_row(items: Sequence[tuple[str, str, str | None]], per_row: int = 4) -> None:
    """Plain bordered figures, (label, formatted value, caption or None), at most ``per_row`` a row
    and as evenly spread as possible (six make two rows of three)."""
    rows = -(-len(items) // per_row)
    grid = card_grid(-(-len(items) // rows) if items else 1)
    for label, value, caption in items:
        with grid.cell():
            st.metric(label, value)
            if caption:
                st.caption(caption)


# --------------------------------------------------------------------------------------------
# Charts and the meeting-mode slideshow
# --------------------------------------------------------------------------------------------

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
                 "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "bieu-do-tthc"}}


def chart(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key, theme=None)


def chart_deck(f: Filters, key: str, layout: Sequence[go.Figure | Sequence[go.Figure]],
               lead: Callable[[Filters], None] | None = None) -> None:
    """The page's charts, after an optional ``lead`` (e.g. the KPI cards).

    Normally laid out as given: each item a full-width figure or a row of figures side by side. In
    meeting mode, one idea per screen: the lead, then each figure, with ◀ Trước / Sau ▶.
    """
    rows = [list(item) if isinstance(item, (list, tuple)) else [item] for item in layout]
    figures = [fig for row in rows for fig in row]
    if not f.meeting:
        if lead is not None:
            lead(f)
        n = 0
        for row in rows:
            for column, fig in zip(st.columns(len(row), gap="medium") if len(row) > 1 else [st.container()], row):
                with column:
                    chart(fig, key=f"{key}_{n}")
                n += 1
        return
    slides: list[Any] = ([lead] if lead is not None else []) + figures
    if not slides:
        return
    state_key = f"_deck_{key}"
    index = st.session_state.get(state_key, 0) % len(slides)

    def move(step: int) -> None:
        st.session_state[state_key] = (index + step) % len(slides)

    left, middle, right = st.columns([1, 4, 1], vertical_alignment="center")
    left.button("◀ Trước", key=f"{key}_prev", on_click=move, args=(-1,), width="stretch")
    middle.markdown(f"<p style='text-align:center'>Màn hình <b>{index + 1}</b> / {len(slides)}</p>",
                    unsafe_allow_html=True)
    right.button("Sau ▶", key=f"{key}_next", on_click=move, args=(1,), width="stretch")
    slide = slides[index]
    if isinstance(slide, go.Figure):
        chart(slide, key=f"{key}_slide")
    else:
        slide(f)


# --------------------------------------------------------------------------------------------
# Tables of pre-formatted Vietnamese strings
# --------------------------------------------------------------------------------------------

def show_table(frame: pd.DataFrame, *, text_columns: Iterable[str] = (), help: dict[str, str] | None = None,
               height: int | str = "auto", key: str | None = None, **kwargs: Any) -> Any:
    """A dataframe whose cells are already Vietnamese strings; numbers right-aligned."""
    text_columns, help = set(text_columns), help or {}
    config = {c: st.column_config.TextColumn(c, alignment="left" if c in text_columns else "right", help=help.get(c))
              for c in frame.columns}
    return st.dataframe(frame, hide_index=True, column_config=config, height=height, key=key, **kwargs)


# Short headers of form II.06a for screens; the full names (stats.COUNT_LABELS) are their tooltips.
FORM_SHORT_LABELS = {
    "received_total": "Tổng số", "received_online": "Trực tuyến", "received_offline": "Trực tiếp, BCCI",
    "carried_over": "Kỳ trước", "resolved_total": "Đã giải quyết", "resolved_early": "Trước hạn",
    "resolved_on_time": "Đúng hạn", "resolved_late": "Quá hạn", "pending_total": "Đang giải quyết",
    "pending_in_time": "Trong hạn", "pending_overdue": "Quá hạn",
}


def form_columns() -> dict[str, str]:
    """Count key → column header of form II.06a: ``(3) Tổng số`` …"""
    return {k: f"({n}) {FORM_SHORT_LABELS[k]}" for k, n in stats.FORM_COLUMNS.items()}


def form_help() -> dict[str, str]:
    """Column header → the form's full column name, for tooltips."""
    return {form_columns()[k]: f"Cột {n}: {stats.COUNT_LABELS[k]}" for k, n in stats.FORM_COLUMNS.items()}


def form_table(result: dict[str, Any], by: str = "field") -> pd.DataFrame:
    """The II.06a table as the annex prints it: one row per group, the total row last."""
    columns = form_columns()
    group = GROUP_TITLES[by]
    rows = [{group: r["label"], **{label: fmt_int(r[k]) for k, label in columns.items()}}
            for r in result["dossiers"]["rows"]]
    total = result["dossiers"]["total"]
    rows.append({group: "Tổng cộng", **{label: fmt_int(total[k]) for k, label in columns.items()}})
    return pd.DataFrame(rows)


def dossier_metrics(total: dict[str, int]) -> list[tuple[str, str, str]]:
    """The three dossier cards of a report view: received, resolved, pending, each with its parts."""
    return [
        ("Tổng số hồ sơ tiếp nhận", fmt_int(total["received_total"]),
         f"Trực tuyến {fmt_int(total['received_online'])} · trực tiếp, bưu chính {fmt_int(total['received_offline'])}"
         f" · kỳ trước {fmt_int(total['carried_over'])}"),
        ("Đã giải quyết", fmt_int(total["resolved_total"]),
         f"Trước hạn {fmt_int(total['resolved_early'])} · đúng hạn {fmt_int(total['resolved_on_time'])} · quá hạn "
         f"{fmt_int(total['resolved_late'])}"),
        ("Đang giải quyết", fmt_int(total["pending_total"]),
         f"Trong hạn {fmt_int(total['pending_in_time'])} · quá hạn {fmt_int(total['pending_overdue'])}"),
    ]


def league_table(rows: Sequence[dict[str, Any]], group_title: str) -> pd.DataFrame:
    return pd.DataFrame([{
        group_title: r["label"],
        "Tiếp nhận": fmt_int(r["received_total"]),
        "Đã giải quyết": fmt_int(r["resolved_total"]),
        "Tỷ lệ đúng hạn": fmt_percent(r["on_time_rate"]),
        "Giải quyết quá hạn": fmt_int(r["resolved_late"]),
        "Đang quá hạn": fmt_int(r["pending_overdue"]),
        "Nộp trực tuyến": fmt_percent(r["online_share"]),
    } for r in rows], columns=[group_title, "Tiếp nhận", "Đã giải quyết", "Tỷ lệ đúng hạn", "Giải quyết quá hạn",
                               "Đang quá hạn", "Nộp trực tuyến"])


def catalogue_table(result: dict[str, Any], group_title: str,
                    keys: Sequence[str] = ("total", "published", "publicized", "one_stop", "lien_thong", "postal",
                                           "online", "online_level3", "online_level4", "four_on_site",
                                           "internal_process")) -> pd.DataFrame:
    headers = {k: stats.CATALOGUE_LABELS[k] for k in keys}
    headers["online_level3"] = "Mức độ 3 (một phần)"
    headers["online_level4"] = "Mức độ 4 (toàn trình)"
    rows = [{group_title: r["label"], **{headers[k]: fmt_int(r[k]) for k in keys}} for r in result["rows"]]
    rows.append({group_title: "Tổng cộng", **{headers[k]: fmt_int(result["total"][k]) for k in keys}})
    return pd.DataFrame(rows)


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


def _yes(value: Any) -> str:
    return "✓" if value else ""


def procedure_table(rows: Sequence[dict[str, Any]], with_counts: bool = False,
                    with_agency: bool = False) -> pd.DataFrame:
    records = []
    for r in rows:
        record = {"Mã TTHC": r["code"], "Tên thủ tục": r["name"], "Lĩnh vực": r["field"]}
        if with_agency:
            record["Cơ quan"] = r["agency_name"]
        record.update({
            "Cấp thực hiện": stats.LEVEL_LABELS.get(r["authority_level"], r["authority_level"]),
            "Một cửa": _yes(r["one_stop"]), "Liên thông": _yes(r["lien_thong"]), "Bưu chính": _yes(r["postal"]),
            "DVC trực tuyến": online_service_label(r["online_level"], r["online_class"]),
            "4 tại chỗ": _yes(r["four_on_site"]),
            "Thời hạn (ngày làm việc)": fmt_decimal(r["processing_days"], 1).removesuffix(",0")
            if r["processing_days"] is not None else "",
        })
        if with_counts:
            record.update({
                "Tiếp nhận": fmt_int(r["received_total"]), "Đã giải quyết": fmt_int(r["resolved_total"]),
                "Tỷ lệ đúng hạn": fmt_percent(stats.kpis(r)["on_time_rate"]),
                "Đang quá hạn": fmt_int(r["pending_overdue"]),
            })
        records.append(record)
    return pd.DataFrame(records)


def offers_online_service(row: dict[str, Any]) -> bool:
    """Level 3/4 or class toàn trình / một phần: counted as offered online (QĐ 766 "A")."""
    return row["online_class"] in ("full", "partial") or row["online_level"] in (3, 4)


def online_field_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Lĩnh vực": r["label"],
        "Số TTHC": fmt_int(r["procedures"]),
        "Có DVC trực tuyến mức độ 3, 4": fmt_int(r["offered"]),
        "Tỷ lệ TTHC trực tuyến": fmt_percent(r["offered_share"]),
        "Hồ sơ mới": fmt_int(r["received_new"]),
        "Nộp trực tuyến": fmt_int(r["received_online"]),
        "Tỷ lệ nộp trực tuyến": fmt_percent(r["online_share"]),
        "TTHC có BCCI": fmt_int(r["postal_procedures"]),
        "Qua BCCI": fmt_int(r["received_postal"]),
        "Tỷ lệ qua BCCI": fmt_percent(r["postal_share"]),
    } for r in rows if r["procedures"] or r["received_new"]])


def online_procedure_table(rows: Sequence[dict[str, Any]], only_online: bool) -> pd.DataFrame:
    """Per procedure: its online service and postal flag against the new dossiers really filed
    online or by post; the busiest first."""
    chosen = [r for r in rows if offers_online_service(r) or not only_online]
    chosen.sort(key=lambda r: (-stats.kpis(r)["received_new"], r["code"]))
    return pd.DataFrame([{
        "Mã TTHC": r["code"], "Tên thủ tục": r["name"], "Lĩnh vực": r["field"],
        "DVC trực tuyến": online_service_label(r["online_level"], r["online_class"]),
        "Hồ sơ mới": fmt_int(stats.kpis(r)["received_new"]),
        "Nộp trực tuyến": fmt_int(r["received_online"]),
        "Tỷ lệ trực tuyến": fmt_percent(stats.kpis(r)["online_share"]),
        "Bưu chính": _yes(r["postal"]),
        "Qua BCCI": fmt_int(r["received_postal"]),
    } for r in chosen], columns=["Mã TTHC", "Tên thủ tục", "Lĩnh vực", "DVC trực tuyến", "Hồ sơ mới", "Nộp trực tuyến",
                                 "Tỷ lệ trực tuyến", "Bưu chính", "Qua BCCI"])


PROCEDURE_TEXT_COLUMNS = ("Mã TTHC", "Tên thủ tục", "Lĩnh vực", "Cơ quan", "Cấp thực hiện", "DVC trực tuyến",
                          "Một cửa", "Liên thông", "Bưu chính", "4 tại chỗ")


def _fold(text: str) -> str:
    """Lower case without accents, so «ho tich» finds «Hộ tịch»."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def search_procedures(rows: Sequence[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """Procedures whose code, name or field contains every word of ``query`` (accents optional)."""
    words = _fold(query).split()
    if not words:
        return list(rows)
    return [r for r in rows if all(w in _fold(f"{r['code']} {r['name']} {r['field']}") for w in words)]


def dossier_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Mã hồ sơ": r["code"],
        "Thủ tục": r["procedure_name"] or stats.NO_PROCEDURE,
        "Mã TTHC": r["procedure_code"] or "",
        "Lĩnh vực": r["field"] or stats.NO_FIELD,
        "Cơ quan": r["agency_code"],
        "Kênh": CHANNEL_LABELS.get(r["channel"], r["channel"]),
        "Ngày tiếp nhận": fmt_datetime(r["received_at"]),
        "Hẹn trả": fmt_datetime(r["due_at"]),
        "Ngày có kết quả": fmt_datetime(r["resolved_at"]),
        "Kết quả": RESOLUTION_LABELS.get(r["resolution"] or "", "Đang giải quyết"),
        "Số ngày quá hạn": fmt_int(r["days_late"]) if r["days_late"] else "",
        "Ghi chú": STATUS_LABELS.get(r["status"], r["status"]),
    } for r in rows], columns=["Mã hồ sơ", "Thủ tục", "Mã TTHC", "Lĩnh vực", "Cơ quan", "Kênh", "Ngày tiếp nhận",
                               "Hẹn trả", "Ngày có kết quả", "Kết quả", "Số ngày quá hạn", "Ghi chú"])


DOSSIER_TEXT_COLUMNS = ("Mã hồ sơ", "Thủ tục", "Mã TTHC", "Lĩnh vực", "Cơ quan", "Kênh", "Kết quả", "Ghi chú")

def download_csv(frame: pd.DataFrame, label: str, file_name: str, key: str | None = None) -> None:
    """A CSV download: formula-like cells neutralised, the file name made safe (exports/csv.py)."""
    st.download_button(label, exports_csv.csv_bytes(frame), file_name=exports_csv.safe_filename(file_name),
                       mime="text/csv", key=key, icon=":material/download:", on_click="ignore")


def slug(f: Filters) -> str:
    """``SLDTBXH_2022-Q2_report`` for file names (agency codes come from imported files: made safe)."""
    return exports_csv.safe_filename(f"{f.agency or 'tat-ca'}_{f.period.spec.replace('..', '_')}_{f.period.mode}")


# --------------------------------------------------------------------------------------------
# Upload (page Dữ liệu)
# --------------------------------------------------------------------------------------------

IMPORT_KINDS = {"auto": "Tự nhận biết", "dossiers": "Hồ sơ", "procedures": "Danh mục thủ tục"}
# Our own limit, stated in Vietnamese; Streamlit's server.maxUploadSize (config.toml) sits above it.
MAX_UPLOAD_MB = 200


def import_log_table(f: Filters, limit: int = 50) -> pd.DataFrame:
    """The latest imports, newest first, formatted for display."""
    rows = auth.import_log(f.url, limit)
    return pd.DataFrame([{
        "Lúc": fmt_datetime(r["at"]), "Người nhập": r["username"] or "(không đăng nhập)", "Tệp": r["filename"],
        "SHA-256": r["sha256"][:16] + "…", "Đọc": fmt_int(r["rows_read"]), "Thêm mới": fmt_int(r["added"]),
        "Cập nhật": fmt_int(r["updated"]), "Bị loại": fmt_int(r["rejected"]), "Kết quả": r["summary"],
    } for r in rows], columns=["Lúc", "Người nhập", "Tệp", "SHA-256", "Đọc", "Thêm mới", "Cập nhật", "Bị loại",
                               "Kết quả"])


def check_upload(f: Filters, data: bytes, file_name: str, kind: str | None, agency: str | None) -> Any:
    """Dry run of the importer for an uploaded file (nothing written), kept for the session so a
    rerun does not read the file again. The core refuses roles that may not import and rows of
    agencies outside the account's scope."""
    from .auth import scoped_import

    key = ("_upload_check", file_name, len(data), hash(data), kind, agency, f.version, f.access)
    cached = st.session_state.get("_upload_check")
    if cached and cached[0] == key:
        return cached[1]
    result = scoped_import(f.url, f.access, data, kind=kind, agency=agency, filename=file_name, dry_run=True)
    st.session_state["_upload_check"] = (key, result)
    return result


def import_upload(f: Filters, data: bytes, file_name: str, kind: str | None, agency: str | None,
                  skip_invalid: bool) -> None:
    """The «Nhập dữ liệu» button's callback: write the file, then leave the outcome for the next run
    (a callback runs before the page, so the new data version is already there when it draws)."""
    from .auth import log_import, scoped_import

    try:
        result = scoped_import(f.url, f.access, data, kind=kind, agency=agency, filename=file_name,
                               skip_invalid=skip_invalid)
    except AccessDenied as exc:
        st.session_state["_import_failed"] = str(exc)
        return
    # Who imported what, written or refused.
    log_import(f.url, f.access, file_name, data, result)
    st.session_state.pop("_upload_check", None)
    if result.written:
        st.session_state["_import_done"] = result.summary()
        # A new key empties the uploader, so the written file is not checked again.
        st.session_state["_upload_round"] = st.session_state.get("_upload_round", 0) + 1
    else:
        st.session_state["_import_failed"] = result.summary()


def upload_key() -> str:
    return f"dl_file_{st.session_state.get('_upload_round', 0)}"


def problems_table(result: Any) -> pd.DataFrame:
    return pd.DataFrame([{"Dòng": fmt_int(p.line), "Cột": p.column, "Lý do": p.message, "Giá trị": p.value}
                         for p in result.problems], columns=["Dòng", "Cột", "Lý do", "Giá trị"])


def preview_table(result: Any, rows: int = 200) -> pd.DataFrame:
    """The first valid rows the import would write: the file's own columns and line numbers, values
    as read (dates, channels, statuses) in Vietnamese."""
    frame = result.preview.head(rows)
    columns = [c for c in result.columns if c in frame.columns]
    shown = pd.DataFrame({"Dòng": frame["line"].map(fmt_int)} if "line" in frame.columns else {})
    for column in columns:
        labels = {"channel": CHANNEL_LABELS, "status": STATUS_LABELS | {"normal": "Bình thường"}}.get(column)
        values = frame[column].map(lambda v, labels=labels: labels.get(v, v) if labels else v)
        shown[result.columns[column]] = values.map(_preview_cell)
    return shown


def _preview_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return fmt_datetime(pd.Timestamp(value).to_pydatetime())
    if isinstance(value, dt.date):
        return fmt_date(value)
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return fmt_decimal(value, 1).removesuffix(",0") if isinstance(value, Decimal) else fmt_int(value)
    if isinstance(value, float):
        return fmt_decimal(value, 1).removesuffix(",0")
    return str(value)


def clear_caches() -> None:
    """Forget every cached figure (tests; the data version already keys normal use)."""
    st.cache_data.clear()

