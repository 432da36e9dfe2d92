"""The dashboard's pages, in menu order: every page is listed unconditionally.

A link to a page the app does not have (a typo, an old bookmark) lands on the overview with a
Vietnamese notice: Streamlit's own answer is an English "Page not found" dialog sent as soon as
``st.navigation`` cannot resolve the URL, so the unknown path is given a hidden page of its own that
hands over to the overview.
"""
from __future__ import annotations

from urllib.parse import unquote, urlparse

import streamlit as st

from ..formatting import md_escape

OVERVIEW = "pages/1_tong_quan.py"
NOT_FOUND_KEY = "_page_not_found"  # the unknown path, shown by the overview's frame


def app_pages(url: str | None = None) -> list[st.Page]:
    """The ``st.Page`` of every file in ``pages/`` (paths relative to ``dashboard.py``); with the
    browser's ``url`` (``st.context.url``), also a hidden page for a path the app does not have."""
    pages = [
        st.Page(OVERVIEW, title="Tổng quan", icon=":material/dashboard:", url_path="tong_quan",
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
    unknown = unknown_path(url, {page.url_path for page in pages})
    if unknown is not None:
        pages.append(st.Page(_not_found, title="Không tìm thấy trang", icon=":material/link_off:", url_path=unknown,
                             visibility="hidden"))
    return pages


def unknown_path(url: str | None, known: set[str], base: str | None = None) -> str | None:
    """The page path of ``url`` when the app has no such page, else None.

    ``base`` is the server's ``server.baseUrlPath`` (read from the config when None). A nested path
    (``a/b``) cannot be a page's ``url_path``: Streamlit answers it with its own dialog.
    """
    if not url:
        return None
    path = unquote(urlparse(url).path).strip("/")
    base = (st.get_option("server.baseUrlPath") if base is None else base).strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].strip("/")
    if not path or path in known or "/" in path:
        return None
    return path


def _not_found() -> None:
    """The hidden page of an unknown path: on to the overview, which says what happened."""
    st.session_state[NOT_FOUND_KEY] = st.context.url and unknown_path(st.context.url, set()) or "?"
    st.switch_page(OVERVIEW)


def not_found_notice() -> None:
    """Shown once, above the overview a link to an unknown page led to."""
    if path := st.session_state.pop(NOT_FOUND_KEY, None):
        st.warning(f"Không có trang «{md_escape(path)}» trong ứng dụng (đường dẫn gõ sai hoặc đã cũ): đang mở trang "
                   "**Tổng quan**. Chọn trang khác ở thanh bên.", icon=":material/link_off:")
