"""Thống kê thủ tục hành chính: the dashboard's entry point and frame.

Run with ``streamlit run dashboard.py``. On the very first start, with no database, the demo database
(Sở LĐTBXH Lạng Sơn, quý II/2022) is built so the overview shows the reference figures at once.

The frame: page config, navigation over ``pages/``, the shared sidebar (agency, period and its mode,
meeting mode, the data's as-of time, all mirrored in the URL), the demo banner, then the page.
No statistics here.
"""
from pathlib import Path

import streamlit as st

from tthc_core import ui

HERE = Path(__file__).parent

st.set_page_config(
    page_title="Thống kê TTHC",
    page_icon=":material/account_balance:",
    layout="wide",
    initial_sidebar_state="collapsed" if ui.meeting_requested() else "expanded",
)

url = ui.prepare_database()

PAGES = [
    st.Page("pages/1_tong_quan.py", title="Tổng quan", icon=":material/dashboard:", url_path="tong_quan",
            default=True, help="Năm chỉ số chính của kỳ so với kỳ trước, xếp hạng đơn vị hoặc lĩnh vực, cảnh báo số "
                               "liệu chưa khớp."),
    st.Page("pages/2_thu_tuc.py", title="Thủ tục hành chính", icon=":material/list_alt:", url_path="thu_tuc",
            help="Danh mục TTHC: công bố, công khai, một cửa, liên thông, bưu chính, DVC trực tuyến; tra cứu thủ tục."),
    st.Page("pages/3_giai_quyet.py", title="Giải quyết hồ sơ", icon=":material/fact_check:", url_path="giai_quyet",
            help="Biểu II.06a theo lĩnh vực, kênh tiếp nhận, kết quả giải quyết, xu hướng theo tháng và danh sách hồ "
                 "sơ sau mỗi con số."),
    st.Page("pages/4_mot_cua.py", title="Một cửa & 4 tại chỗ", icon=":material/storefront:", url_path="mot_cua",
            help="Các TTHC thực hiện theo cơ chế một cửa, một cửa liên thông, 4 tại chỗ và kết quả giải quyết hồ sơ."),
    st.Page("pages/5_truc_tuyen.py", title="Trực tuyến & bưu chính", icon=":material/public:", url_path="truc_tuyen",
            help="DVC trực tuyến được cung cấp so với thực tế sử dụng, bưu chính công ích, điểm QĐ 766."),
    st.Page("pages/6_du_lieu.py", title="Dữ liệu", icon=":material/database:", url_path="du_lieu",
            help="Nhập tệp hồ sơ hoặc danh mục thủ tục (CSV, XLSX) có kiểm tra trước; chất lượng dữ liệu."),
]
PAGES.append(st.Page("pages/8_chi_so_766.py", title="Chỉ số 766", icon=":material/leaderboard:", url_path="chi_so_766"))
# The quarterly report page is built separately; it joins the menu as soon as its file exists.
if (HERE / "pages" / "7_bao_cao_quy.py").exists():
    PAGES.append(st.Page("pages/7_bao_cao_quy.py", title="Báo cáo quý", icon=":material/description:",
                         url_path="bao_cao_quy", help="Báo cáo quý về kiểm soát TTHC: kiểm tra số liệu, xuất phụ lục "
                                                      "Excel và dự thảo Word."))

page = st.navigation(PAGES, position="sidebar", expanded=True)
with ui.shown_errors("ứng dụng"):
    access = ui.sign_in(url)
    filters = ui.sidebar_filters(url, access)
    ui.page_header(page.title, filters)
    ui.frame_banners(filters)
    ui.run_page(page, filters)
