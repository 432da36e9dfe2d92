"""Display tables (tthc_core/tables.py): one column spec each, Vietnamese strings, no Streamlit."""
from __future__ import annotations

import subprocess
import sys

from tthc_core import stats, tables
from tthc_core.formatting import fmt_int


def test_the_core_modules_of_the_screens_do_not_import_streamlit():
    code = ("import sys, tthc_core.tables, tthc_core.worklist, tthc_core.demo_guard, tthc_core.stats; "
            "print('streamlit' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_the_form_table_keeps_full_headers_and_shows_the_column_numbers(demo_url):
    result = stats.compute_stats(demo_url, "2022-Q2", agency="SLDTBXH")
    frame = tables.form_table(result)
    assert list(frame.columns)[:3] == ["Lĩnh vực", "(3) Tổng số", "(4) Trực tuyến"]  # the CSV's headers
    assert frame.attrs[tables.LABELS]["(13) Quá hạn"] == "(13)"  # the screen's
    assert frame.attrs[tables.HELP]["(13) Quá hạn"] == f"Cột 13: {stats.COUNT_LABELS['pending_overdue']}"
    assert frame.iloc[-1].tolist()[:4] == ["Tổng cộng", "3.238", "32", "2.999"]
    assert frame.attrs[tables.TEXT_COLUMNS] == ["Lĩnh vực"]
    assert tables.form_legend().startswith("(3) Tổng số · (4) Trực tuyến · (5) Trực tiếp, BCCI")


def test_mechanism_figures_come_from_stats(demo_url):
    procedures = stats.procedure_results(demo_url, "2022-Q2", agency="SLDTBXH")
    mechanisms = {m["key"]: m for m in stats.mechanism_results(procedures)}
    assert [mechanisms[k]["procedures"] for k in ("one_stop", "lien_thong", "four_on_site")] == [56, 33, 16]
    assert sum(p["received_total"] for p in procedures) <= 3238
    table = tables.procedure_table([p for p in procedures if p["four_on_site"]], with_counts=True)
    assert len(table) == 16 and table["4 tại chỗ"].eq("✓").all()
    assert fmt_int(mechanisms["four_on_site"]["received_total"]) == "822"
