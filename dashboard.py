"""Thống kê thủ tục hành chính: the dashboard's entry point and frame.

Run with ``streamlit run dashboard.py``. On the very first start, with no database, the demo database
(Sở LĐTBXH Lạng Sơn, quý II/2022) is built so the overview shows the reference figures at once.

The frame: page config, navigation over ``pages/``, the shared sidebar (agency, period and its mode,
meeting mode, the data's as-of time, all mirrored in the URL), the demo banner, then the page.
No statistics here.
"""
import streamlit as st

from tthc_core import columnar, ui

st.set_page_config(
    page_title="Thống kê TTHC",
    page_icon=":material/account_balance:",
    layout="wide",
    # "auto": open beside the page on a desk, closed on a phone so the first screen shows the KPIs.
    initial_sidebar_state="collapsed" if ui.meeting_requested() else "auto",
)

url = ui.prepare_database()
# The figures come from the in-memory columnar copy once it is built (in the background, unless
# TTHC_BACKGROUND_COPY=0).
columnar.use_fast_path(url, build=columnar.background_copy_allowed())

page = st.navigation(ui.app_pages(st.context.url), position="sidebar", expanded=True)
with ui.shown_errors("ứng dụng"):
    if ui.unsubscribe_requested():  # issue 17: the e-mail's one-click link works without signing in
        ui.unsubscribe_view(url)
        st.stop()
    access = ui.sign_in(url)
    filters = ui.sidebar_filters(url, access)
    ui.page_header(page.title, filters)
    ui.frame_banners(filters)
    ui.run_page(page, filters)
