"""Streamlit glue of the dashboard: the one package of tthc_core that imports streamlit.

Split by job, so ``dashboard.py`` and ``pages/*.py`` read like descriptions of screens:

- :mod:`.queries` — the database on first start, cached core calls keyed by everything that changes
  the answer, and the figures a page asks for;
- :mod:`.sidebar` — :class:`Filters` and the shared sidebar, mirrored in the URL;
- :mod:`.signin` — who is looking;
- :mod:`.navigation` — the pages in menu order;
- :mod:`.frame` — page header, banners, meeting style, the error guard, :func:`filters`;
- :mod:`.cards` — the KPI cards and figure rows;
- :mod:`.actions` — the "cần xử lý" panel and lists;
- :mod:`.slides` — charts and the meeting-mode slideshow;
- :mod:`.display` — tables built by :mod:`tthc_core.tables`, CSV downloads;
- :mod:`.uploads` — the data page's dry run and import;
- :mod:`.agencies` — the data page's agencies: an administrator creates one;
- :mod:`.streamlit_pages_workaround` — the one place that works around Streamlit's legacy ``pages/``.

Figures come from :mod:`tthc_core.stats`, tables from :mod:`tthc_core.tables`; this package picks,
arranges and shows them. The names pages use are re-exported here (``ui.filters()``, ``ui.show_table``).
"""
from ..auth import AccessDenied
from ..tables import (
    GROUP_TITLES, audit_table, catalogue_table, dossier_table, form_columns, form_legend, form_table, four_on_site_table,
    frozen_diff_table, import_log_table, league_table, online_field_table, online_procedure_table, preview_table, problems_table,
    procedure_table, search_procedures, simplification_table,
)
from .actions import action_lists_page, action_panel
from .agencies import agency_admin
from .cards import KPIS, card_grid, checks_banner, dossier_metrics, kpi_cards, metric_row
from .digest_page import digest_page, unsubscribe_requested, unsubscribe_view
from .display import audited, download_csv, show_table, slug
from .frame import filters, frame_banners, page_header, run_page, shown_errors
from .navigation import app_pages
from .queries import (
    audit_log, catalogue, checks, data_quality, data_until, dossier_stats, dossiers, history, import_log, league_rows,
    mechanism_results, monthly_history, online_by_field, prepare_database, procedure_results, procedures,
    report_figures, write_refusal,
)
from .index766 import index as qd766  # the QĐ 766 index of the calendar period (tthc_core.qd766)
from .index766 import overview_panel as qd766_panel
from .sidebar import ALL_AGENCIES_LABEL, Filters, agency_names, meeting_requested, sidebar_filters
from .signin import sign_in
from .slides import chart, chart_deck
from .uploads import IMPORT_KINDS, MAX_UPLOAD_MB, check_upload, demo_tools, import_upload, upload_key

# NĐ 42/2022 (from 01/8/2022): level 4 → toàn trình, level 3 → một phần, levels 1–2 → not an online
# public service. Stated on every screen that shows online levels.
ONLINE_MAPPING_NOTE = ("Theo NĐ 42/2022/NĐ-CP (từ 01/8/2022): DVC trực tuyến **mức độ 4 → toàn trình**, "
                       "**mức độ 3 → một phần**; mức độ 1, 2 không còn là dịch vụ công trực tuyến. "
                       "Số liệu trước 8/2022 ghi theo mức độ, sau đó theo loại; bảng hiển thị cả hai.")
