"""What needs action now: the overview's "cần xử lý" panel and the full lists of their own page."""
from __future__ import annotations

import streamlit as st

from .. import tables, worklist
from ..formatting import fmt_date, fmt_int
from . import queries
from .display import download_csv, show_table, slug
from .sidebar import Filters

PAGE = "pages/9_can_xu_ly.py"
DAYS_KEY = "wl_days"
CHOSEN_DAYS = "_wl_days"  # survives pages without the widget


def due_soon_days() -> int:
    """The window chosen on the list's page, else the configured one (``TTHC_DUE_SOON_DAYS``)."""
    return int(st.session_state.get(CHOSEN_DAYS, worklist.due_soon_days()))


def _keep_days() -> None:
    st.session_state[CHOSEN_DAYS] = st.session_state[DAYS_KEY]


def _when(f: Filters) -> str:
    day = queries.worklist_day(f)
    return f"tính đến hết ngày {fmt_date(day)}" + (" (ngày cuối kỳ)" if day == f.period.end else "")


def action_panel(f: Filters, limit: int = 5) -> None:
    """The overview's panel: the most overdue dossiers and the soonest due, with a link to the lists."""
    days = due_soon_days()
    lists, counts = queries.action_lists(f, days, limit), queries.action_counts(f, days)
    late, soon = lists["overdue"], lists["due_soon"]
    st.subheader("Cần xử lý", anchor=False)
    st.caption(f"Hồ sơ đang giải quyết {_when(f)}: quá hạn (lâu nhất trước) và sẽ đến hạn trong {days} ngày làm "
               "việc tới (sớm nhất trước).")
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown(f"**Quá hạn: {fmt_int(counts['overdue'])} hồ sơ**")
        if late:
            show_table(tables.overdue_table(late), key="panel_overdue")
    with right:
        st.markdown(f"**Sắp đến hạn: {fmt_int(counts['due_soon'])} hồ sơ**")
        if soon:
            show_table(tables.due_soon_table(soon), key="panel_due_soon")
    st.page_link(PAGE, label="Xem toàn bộ danh sách cần xử lý", icon=":material/arrow_forward:")


def action_lists_page(f: Filters) -> None:
    """The full lists, each with its CSV download."""
    st.number_input("Sắp đến hạn trong (ngày làm việc)", min_value=0, max_value=30, step=1, key=DAYS_KEY,
                    value=due_soon_days(), on_change=_keep_days,
                    help="Hồ sơ đang giải quyết, chưa quá hạn, có ngày hẹn trả trong số ngày làm việc này (không "
                         "tính thứ Bảy, Chủ nhật, ngày lễ, Tết).")
    days = due_soon_days()
    lists = queries.action_lists(f, days)
    st.caption(f"Hồ sơ đang giải quyết {_when(f)}.")
    late = tables.overdue_table(lists["overdue"])
    st.subheader(f"Quá hạn: {fmt_int(len(late))} hồ sơ", anchor=False)
    st.caption("Sắp theo số ngày quá hạn, lâu nhất trước. Số hồ sơ bằng cột (13) của biểu II.06a.")
    show_table(late, key="wl_overdue")
    download_csv(late, "Tải danh sách quá hạn (CSV)", f"qua-han_{slug(f)}.csv", key="wl_overdue_csv")
    soon = tables.due_soon_table(lists["due_soon"])
    st.subheader(f"Sắp đến hạn trong {days} ngày làm việc: {fmt_int(len(soon))} hồ sơ", anchor=False)
    st.caption("Sắp theo ngày hẹn trả, sớm nhất trước; hồ sơ tạm dừng chờ bổ sung không nằm trong danh sách.")
    show_table(soon, key="wl_due_soon")
    download_csv(soon, "Tải danh sách sắp đến hạn (CSV)", f"sap-den-han_{slug(f)}.csv", key="wl_due_soon_csv")
