"""The dashboard's pages, in menu order: every page is listed unconditionally."""
from __future__ import annotations

import streamlit as st


def app_pages() -> list[st.Page]:
    """The ``st.Page`` of every file in ``pages/`` (paths relative to ``dashboard.py``)."""
    return [
        st.Page("pages/1_tong_quan.py", title="Tổng quan", icon=":material/dashboard:", url_path="tong_quan",
                default=True, help="Năm chỉ số chính của kỳ so với kỳ trước, xếp hạng đơn vị hoặc lĩnh vực, cảnh báo "
                                   "số liệu chưa khớp."),
        st.Page("pages/9_can_xu_ly.py", title="Cần xử lý", icon=":material/notification_important:",
                url_path="can_xu_ly", help="Hồ sơ đang quá hạn (lâu nhất trước) và hồ sơ sắp đến hạn trong vài ngày "
                                           "làm việc tới, kèm cơ quan, thủ tục, bộ phận xử lý; tải CSV."),
        st.Page("pages/2_thu_tuc.py", title="Thủ tục hành chính", icon=":material/list_alt:", url_path="thu_tuc",
                help="Danh mục TTHC: công bố, công khai, một cửa, liên thông, bưu chính, DVC trực tuyến; tra cứu "
                     "thủ tục."),
        st.Page("pages/3_giai_quyet.py", title="Giải quyết hồ sơ", icon=":material/fact_check:",
                url_path="giai_quyet", help="Biểu II.06a theo lĩnh vực, kênh tiếp nhận, kết quả giải quyết, xu hướng "
                                            "theo tháng và danh sách hồ sơ sau mỗi con số."),
        st.Page("pages/4_mot_cua.py", title="Một cửa & 4 tại chỗ", icon=":material/storefront:", url_path="mot_cua",
                help="Các TTHC thực hiện theo cơ chế một cửa, một cửa liên thông, 4 tại chỗ và kết quả giải quyết hồ "
                     "sơ."),
        st.Page("pages/5_truc_tuyen.py", title="Trực tuyến & bưu chính", icon=":material/public:",
                url_path="truc_tuyen", help="DVC trực tuyến được cung cấp so với thực tế sử dụng, bưu chính công ích, "
                                            "điểm QĐ 766."),
        st.Page("pages/6_du_lieu.py", title="Dữ liệu", icon=":material/database:", url_path="du_lieu",
                help="Nhập tệp hồ sơ hoặc danh mục thủ tục (CSV, XLSX) có kiểm tra trước; chất lượng dữ liệu."),
        st.Page("pages/7_bao_cao_quy.py", title="Báo cáo quý", icon=":material/description:", url_path="bao_cao_quy",
                help="Báo cáo quý về kiểm soát TTHC: kiểm tra số liệu, xuất phụ lục Excel và dự thảo Word."),
        st.Page("pages/8_chi_so_766.py", title="Chỉ số 766", icon=":material/leaderboard:", url_path="chi_so_766"),
        st.Page("pages/10_ban_tin.py", title="Bản tin", icon=":material/mail:", url_path="ban_tin"),
    ]
