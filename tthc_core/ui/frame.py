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

from .. import stats
from ..auth import AccessDenied, AuthError
from ..formatting import fmt_date
from ..periods import PeriodError
from . import queries
from .sidebar import Filters
from .streamlit_pages_workaround import RERUN_FLAG, rerun_inside_frame

log = logging.getLogger(__name__)

_current = threading.local()  # the filters of the run in progress (each script run has its own thread)

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
    elif queries.quality(f.url, f.version, f.access, "")["dossiers"] == 0:
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
