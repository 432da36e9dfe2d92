"""The frame around every page: the page header, banners, meeting style, and the error guard.

``dashboard.py`` draws the frame and calls :func:`run_page`; the page reads its filters with
:func:`filters`.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from .. import stats, sync
from ..auth import AccessDenied, AuthError
from ..formatting import fmt_date, fmt_int, md_escape
from ..periods import PeriodError
from . import queries
from .navigation import not_found_notice
from .sidebar import Filters
from .streamlit_pages_workaround import RERUN_FLAG, rerun_inside_frame

log = logging.getLogger(__name__)

_current = threading.local()  # the filters of the run in progress (each script run has its own thread)

# Meeting mode: big type for the back of the room (titles ≥ 28 px, labels ≥ 20 px) and a slide that
# fills the window under the title and the ◀ ▶ row, so nothing scrolls at 1920×1080 or 1280×720.
MEETING_CSS = """
<style>
  [data-testid="stMainBlockContainer"] { max-width: 100%; padding: 3.75rem 3rem 0 3rem; }
  [data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p { font-size: 1.3rem; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 2.2rem; padding: 0; }
  [data-testid="stMetricValue"] p { font-size: 3rem !important; line-height: 1.15; font-weight: 600; }
  [data-testid="stMetricLabel"] p { font-size: 1.4rem !important; }
  [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * { white-space: normal !important;
                                                                   overflow: visible !important; }
  [data-testid="stMetricDelta"] p { font-size: 1.25rem !important; }
  [data-testid="stCaptionContainer"] p { font-size: 1.25rem !important; }
  [data-testid="stButton"] button p { font-size: 1.3rem !important; }
  div.stVerticalBlock.st-key-meeting_slide { height: calc(100vh - 14.5rem) !important; min-height: 18rem;
                                              overflow: hidden; flex: 0 0 auto !important; }
  @media (max-width: 1400px) {
    [data-testid="stMetricValue"] p { font-size: 2.4rem !important; }
    [data-testid="stMetricLabel"] p { font-size: 1.25rem !important; }
  }
</style>
"""


def filters() -> Filters:
    """The filters the frame (dashboard.py) set up for this run; every page starts with this."""
    found = getattr(_current, "filters", None)
    if found is None:
        rerun_inside_frame()
    return found


def run_page(page: Any, f: Filters) -> None:
    """Run a page with the filters, its errors shown as Vietnamese messages."""
    _current.filters = f
    st.session_state.pop(RERUN_FLAG, None)
    try:
        with shown_errors():
            page.run()
    finally:
        _current.filters = None


def page_header(title: str, f: Filters) -> None:
    """The page title, then who and which period it is about (the first thing a director reads)."""
    st.title(title, anchor=False)
    demo = " · :orange-badge[:material/science: Dữ liệu minh họa]" if f.demo and f.meeting else ""
    st.markdown(f"**{md_escape(f.scope_name)}** · {f.period.label}{demo}")
    if f.meeting:
        return  # a meeting screen keeps to the title, the scope and the period
    running = (f" Kỳ chưa kết thúc: số liệu đến hôm nay {fmt_date(f.as_of)}, hồ sơ quá hạn tính tại hôm nay."
               if f.period.start <= f.as_of < f.period.end else "")
    st.caption(f"{f.period.mode_label}.{running}")


def frame_banners(f: Filters) -> None:
    """Shown above every page: meeting-mode style, demo notice, empty database notice, live feed."""
    if f.meeting:
        st.html(MEETING_CSS)
    not_found_notice()
    if f.demo and not f.meeting:  # in meeting mode the header line carries a badge
        demo_banner(f)
    elif not f.demo and queries.quality(f.url, f.version, f.access, "")["dossiers"] == 0:
        st.info("Cơ sở dữ liệu chưa có hồ sơ nào. Vào trang **Dữ liệu** để nhập tệp hồ sơ hoặc danh mục thủ tục.",
                icon=":material/upload_file:")
    # The live feed's freshness (issue 10 item 4): one small table, read on every run, never cached.
    feed = sync.status(f.url)
    if (message := sync.status_message(feed)) and feed["stale"]:
        st.warning(message, icon=":material/sync_problem:")
    elif message:
        st.caption(message)


def demo_banner(f: Filters) -> None:
    """What the demo database really holds: the reference quarter reproduced, or changed since."""
    reference = queries.demo_reference(f.url, f.version)
    if reference["reproduced"]:
        st.info("**Dữ liệu minh họa** — số liệu quý II/2022 của Sở LĐTBXH Lạng Sơn được tái hiện (3.238 hồ sơ tiếp "
                "nhận, 2.525 đã giải quyết, 713 đang giải quyết) kèm dữ liệu giả định của một số cơ quan khác.",
                icon=":material/science:")
        return
    held = reference["held"]
    st.warning(f"**Dữ liệu minh họa đã bị thay đổi** — quý II/2022 của Sở LĐTBXH hiện có {fmt_int(held['received_total'])}"
               f" hồ sơ tiếp nhận, {fmt_int(held['resolved_total'])} đã giải quyết, {fmt_int(held['pending_total'])} "
               "đang giải quyết, không còn khớp báo cáo gốc (3.238 / 2.525 / 713). Khôi phục ở trang **Dữ liệu**.",
               icon=":material/science:")


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
