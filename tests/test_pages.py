"""Every page of the dashboard, run in-process with Streamlit's AppTest on the demo database.

The frame (dashboard.py) is the entry point, as with ``streamlit run``; pages are reached with
``switch_page``. Filters come from the URL (``at.query_params``) or the sidebar widgets. The numbers
on screen are compared with ``compute_stats`` for the same filters, formatted the Vietnamese way.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_database
import streamlit as st
from streamlit.testing.v1 import AppTest

from tthc_core import qd766, stats
from tthc_core.auth import import_log
from tthc_core.db import data_version, dispose_engine
from tthc_core.formatting import fmt_delta, fmt_int, fmt_percent
from tthc_core.stats import compute_stats, data_quality, kpis

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
PAGES = {
    "tong_quan": "pages/1_tong_quan.py",
    "thu_tuc": "pages/2_thu_tuc.py",
    "giai_quyet": "pages/3_giai_quyet.py",
    "mot_cua": "pages/4_mot_cua.py",
    "truc_tuyen": "pages/5_truc_tuyen.py",
    "du_lieu": "pages/6_du_lieu.py",
}
REFERENCE = {"agency": "SLDTBXH", "period": "2022-Q2"}
# Text each page must show for Sở LĐTBXH, Q2/2022 (domain.md §8).
PAGE_TEXT = {
    "tong_quan": ["3.238", "2.525", "100,00 %", "1,06 %"],
    "thu_tuc": ["109", "56", "98", "30 / 47", "16", "toàn trình 47"],
    "giai_quyet": ["3.238", "2.525", "713", "2.999"],
    "mot_cua": ["56 TTHC", "33 TTHC", "16 TTHC"],
    "truc_tuyen": ["77", "32", "1,06 %", "18,47 / 20", "3,30 / 12"],
    "du_lieu": ["Chất lượng dữ liệu", "Mọi đẳng thức đều khớp"],
}


@pytest.fixture
def app(demo_url, monkeypatch):
    """A factory of AppTests of the dashboard on the demo database, with the given URL parameters."""
    monkeypatch.setenv("TTHC_DATABASE_URL", demo_url)
    st.cache_data.clear()

    def make(page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update(params)
        at.run()
        if page:
            at.switch_page(PAGES[page]).run()
        return at

    yield make
    st.cache_data.clear()


@pytest.fixture
def writable_demo(demo_url, tmp_path, monkeypatch):
    """A copy of the demo database the test may write to, as the app's database."""
    url = copy_database(demo_url, tmp_path)
    monkeypatch.setenv("TTHC_DATABASE_URL", url)
    st.cache_data.clear()
    yield url
    st.cache_data.clear()
    dispose_engine(url)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def page_text(at: AppTest) -> str:
    """Everything a reader sees as text: markdown, captions, metrics, alerts and table cells."""
    parts = [m.value for m in (*at.title, *at.header, *at.subheader, *at.markdown, *at.caption)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [a.value for a in (*at.info, *at.warning, *at.error, *at.success)]
    for frame in at.dataframe:
        parts += [" ".join(map(str, row)) for row in frame.value.astype(str).itertuples(index=False)]
        parts += list(map(str, frame.value.columns))
    return "\n".join(parts)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def expected_kpis(url: str, agency: str | None, period: str, mode: str = "report") -> dict[str, str]:
    total = compute_stats(url, period, mode, agency=agency)["dossiers"]["total"]
    figures = kpis(total)
    return {
        "Hồ sơ tiếp nhận": fmt_int(figures["received_total"]),
        "Đã giải quyết": fmt_int(figures["resolved_total"]),
        "Tỷ lệ đúng hạn": fmt_percent(figures["on_time_rate"]),
        "Đang quá hạn": fmt_int(figures["pending_overdue"]),
        "Nộp trực tuyến": fmt_percent(figures["online_share"]),
    }


# --------------------------------------------------------------------------------------------
# Landing on the overview
# --------------------------------------------------------------------------------------------

def test_first_visit_on_demo_lands_on_reference_quarter_of_sldtbxh(app):
    at = app()
    assert_clean(at)
    shown = metrics(at)
    assert shown["Hồ sơ tiếp nhận"] == "3.238"
    assert shown["Đã giải quyết"] == "2.525"
    assert shown["Tỷ lệ đúng hạn"] == "100,00 %"
    assert shown["Đang quá hạn"] == "0"
    assert shown["Nộp trực tuyến"] == "1,06 %"  # 32 / 3.031
    assert dict(at.query_params) == {"agency": "SLDTBXH", "period": "2022-Q2", "mode": "report"}
    assert "Quý II năm 2022 (15/03/2022 – 14/06/2022)" in page_text(at)


def test_first_start_without_a_database_builds_the_demo_and_shows_the_reference_quarter(tmp_path, monkeypatch):
    import tthc_core.db

    monkeypatch.delenv("TTHC_DATABASE_URL", raising=False)
    monkeypatch.setattr(tthc_core.db, "DEFAULT_DB_PATH", tmp_path / "data" / "tthc.db")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    try:
        assert_clean(at)
        assert (tmp_path / "data" / "tthc.db").exists()
        assert metrics(at)["Hồ sơ tiếp nhận"] == "3.238"
        assert any("Dữ liệu minh họa" in info.value for info in at.info)
    finally:
        dispose_engine(f"sqlite:///{tmp_path / 'data' / 'tthc.db'}")
        st.cache_data.clear()
        st.cache_resource.clear()


def test_every_page_says_the_data_is_a_demo(app):
    for page in PAGES:
        at = app(page, **REFERENCE)
        assert any("Dữ liệu minh họa" in info.value for info in at.info), page


@pytest.mark.parametrize(("agency", "period", "mode"), [
    ("SLDTBXH", "2022-Q2", "report"),
    (None, "2022-Q2", "report"),
    ("UBND-CL", "2025-H1", "calendar"),
    (None, "2026-Q4", "report"),  # the running quarter: overdue judged today
    ("SLDTBXH", "2022-03-15..2022-06-14", "report"),  # a custom range equal to the reference quarter
    ("STP", "2023-9M", "report"),
])
def test_overview_kpis_equal_compute_stats_for_the_same_filters(app, demo_url, agency, period, mode):
    at = app(agency=agency or "all", period=period, mode=mode)
    assert_clean(at)
    shown = metrics(at)
    for label, value in expected_kpis(demo_url, agency, period, mode).items():
        assert shown[label] == value, label


def test_kpi_delta_compares_with_previous_period(app, demo_url):
    at = app(**REFERENCE)
    before = compute_stats(demo_url, "2022-Q1", agency="SLDTBXH")["dossiers"]["total"]
    card = next(m for m in at.metric if m.label == "Hồ sơ tiếp nhận")
    assert card.delta == fmt_delta(3238 - before["received_total"])
    assert "so với Quý I năm 2022" in page_text(at)


def test_league_ranks_fields_of_the_chosen_agency_and_agencies_otherwise(app, demo_url):
    at = app(**REFERENCE)
    league = at.dataframe[0].value
    assert "Lĩnh vực" in league.columns
    assert set(league["Tỷ lệ đúng hạn"]) == {"100,00 %"}

    at = app(agency="all", period="2022-Q2")
    league = at.dataframe[0].value
    assert "Cơ quan, đơn vị" in league.columns
    rows = compute_stats(demo_url, "2022-Q2", by="agency")["dossiers"]["rows"]
    worst = min((r for r in rows if r["resolved_total"]), key=lambda r: kpis(r)["on_time_rate"])
    assert league.iloc[0]["Cơ quan, đơn vị"] == worst["label"]  # the one dragging most on top
    assert league.iloc[0]["Tỷ lệ đúng hạn"] == fmt_percent(kpis(worst)["on_time_rate"])


# --------------------------------------------------------------------------------------------
# Filters: widgets and URL
# --------------------------------------------------------------------------------------------

def test_choosing_every_agency_in_the_sidebar_changes_numbers_and_url(app, demo_url):
    at = app(**REFERENCE)
    at.selectbox(key="f_agency").select("").run()
    assert_clean(at)
    assert metrics(at)["Hồ sơ tiếp nhận"] == expected_kpis(demo_url, None, "2022-Q2")["Hồ sơ tiếp nhận"]
    assert metrics(at)["Hồ sơ tiếp nhận"] != "3.238"
    assert at.query_params["agency"] == "all"


def test_choosing_another_quarter_changes_numbers_and_url(app, demo_url):
    at = app(**REFERENCE)
    at.selectbox(key="f_quarter").select(1).run()
    assert_clean(at)
    assert metrics(at) == {**metrics(at), **expected_kpis(demo_url, "SLDTBXH", "2022-Q1")}
    assert at.query_params["period"] == "2022-Q1"


def test_switching_period_kind_keeps_the_time_of_year(app, demo_url):
    at = app(**REFERENCE)
    at.selectbox(key="f_kind").select("month").run()
    assert_clean(at)
    assert at.query_params["period"] == "2022-06"  # the month containing 14/06/2022
    assert metrics(at)["Hồ sơ tiếp nhận"] == expected_kpis(demo_url, "SLDTBXH", "2022-06")["Hồ sơ tiếp nhận"]


def test_calendar_mode_from_the_radio(app, demo_url):
    at = app(**REFERENCE)
    at.radio(key="f_mode").set_value("calendar").run()
    assert_clean(at)
    assert at.query_params["mode"] == "calendar"
    calendar_q2 = expected_kpis(demo_url, "SLDTBXH", "2022-Q2", "calendar")
    assert metrics(at)["Hồ sơ tiếp nhận"] == calendar_q2["Hồ sơ tiếp nhận"]
    assert "Kỳ theo lịch" in page_text(at)


def test_filters_survive_a_page_switch(app, demo_url):
    at = app(agency="UBND-CL", period="2023-Q3")
    at.switch_page(PAGES["giai_quyet"]).run()
    assert_clean(at)
    total = compute_stats(demo_url, "2023-Q3", agency="UBND-CL")["dossiers"]["total"]
    assert metrics(at)["Tổng số hồ sơ tiếp nhận"] == fmt_int(total["received_total"])
    assert at.query_params["agency"] == "UBND-CL"


def test_bad_link_falls_back_to_defaults_with_a_notice(app):
    at = app(agency="KHONG-CO", period="2022-Q7")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "KHONG-CO" in warnings and "2022-Q7" in warnings


# --------------------------------------------------------------------------------------------
# Every page
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_reference_quarter_in_vietnamese(app, page):
    at = app(page, **REFERENCE)
    assert_clean(at)
    text = page_text(at)
    for expected in PAGE_TEXT[page]:
        assert expected in text, (page, expected)
    assert "3238" not in text and "3,238" not in text  # never an unformatted or English number


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_every_agency_and_a_calendar_month(app, page):
    at = app(page, agency="all", period="2024-05", mode="calendar")
    assert_clean(at)


def test_the_menu_lists_every_page_file(app):
    at = app(**REFERENCE)
    for script in sorted((ROOT / "pages").glob("*.py")):
        at.switch_page(f"pages/{script.name}").run()  # raises when the frame did not register it
        assert not at.exception, (script.name, [e.message for e in at.exception])


def test_form_table_equals_the_annex_numbers(app, demo_url):
    at = app("giai_quyet", **REFERENCE)
    result = compute_stats(demo_url, "2022-Q2", agency="SLDTBXH")
    table = at.dataframe[0].value
    total_row = table[table["Lĩnh vực"] == "Tổng cộng"].iloc[0]
    for key, number in stats.FORM_COLUMNS.items():
        column = next(c for c in table.columns if c.startswith(f"({number}) "))
        assert total_row[column] == fmt_int(result["dossiers"]["total"][key])
    for row in result["dossiers"]["rows"]:
        shown = table[table["Lĩnh vực"] == row["label"]].iloc[0]
        assert shown["(3) Tổng số"] == fmt_int(row["received_total"])


def test_form_table_groups_by_agency(app, demo_url):
    at = app("giai_quyet", agency="all", period="2022-Q2")
    at.segmented_control(key="gq_by").set_value("agency").run()
    assert_clean(at)
    table = at.dataframe[0].value
    rows = compute_stats(demo_url, "2022-Q2", by="agency")["dossiers"]["rows"]
    assert list(table["Cơ quan, đơn vị"])[:-1] == [r["label"] for r in rows]


def test_drill_down_lists_the_dossiers_behind_a_cell(app, demo_url):
    at = app("giai_quyet", **REFERENCE)
    at.selectbox(key="gq_group").select("Việc làm").run()
    at.selectbox(key="gq_count").select("resolved_early").run()
    assert_clean(at)
    expected = stats.list_dossiers(demo_url, "2022-Q2", agency="SLDTBXH", count_key="resolved_early",
                                   group_by="field", group_key="Việc làm")
    listed = at.dataframe[-1].value  # the drill-down list closes the page
    assert len(listed) == len(expected) > 0
    assert set(listed["Lĩnh vực"]) == {"Việc làm"}
    assert set(listed["Kết quả"]) == {"Trước hạn"}
    assert listed.iloc[0]["Ngày tiếp nhận"][2] == "/"  # dd/mm/yyyy
    assert any(b.label == "Tải danh sách hồ sơ (CSV)" for b in at.get("download_button"))


def test_data_page_shows_data_quality_of_the_agency(app, demo_url):
    at = app("du_lieu", **REFERENCE)
    quality = data_quality(demo_url, "SLDTBXH")
    assert metrics(at)["Hồ sơ trong cơ sở dữ liệu"] == fmt_int(quality["dossiers"])
    assert metrics(at)["Thiếu ngày hẹn trả"] == fmt_int(quality["missing_due"])


def test_catalogue_search_ignores_accents(app):
    at = app("thu_tuc", **REFERENCE)
    at.text_input(key="tthc_search").input("tro cap that nghiep").run()
    assert_clean(at)
    found = at.dataframe[-1].value
    assert len(found) >= 1
    assert all("trợ cấp thất nghiệp" in name.lower() for name in found["Tên thủ tục"])


# --------------------------------------------------------------------------------------------
# Meeting mode, errors
# --------------------------------------------------------------------------------------------

def test_meeting_mode_shows_one_idea_per_screen(app):
    at = app(meeting="1", **REFERENCE)
    assert_clean(at)
    assert at.toggle(key="f_meeting").value is True
    assert metrics(at)["Hồ sơ tiếp nhận"] == "3.238"  # screen 1: the KPI cards
    assert len(at.get("plotly_chart")) == 0
    at.button(key="overview_next").click().run()
    assert len(at.get("plotly_chart")) == 1  # screen 2: one chart
    assert not at.dataframe  # tables are for the desk
    at.button(key="overview_prev").click().run()
    assert metrics(at)["Hồ sơ tiếp nhận"] == "3.238"


def test_a_failing_page_shows_a_vietnamese_message_not_a_traceback(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail that must not reach the screen")

    monkeypatch.setattr(qd766, "compute_index", broken)
    at = app("truc_tuyen", **REFERENCE)
    assert not at.exception
    messages = " ".join(e.value for e in at.error)
    assert "Không hiển thị được trang này" in messages
    assert "internal detail" not in messages


# --------------------------------------------------------------------------------------------
# Upload
# --------------------------------------------------------------------------------------------

BAD_CSV = ("Mã hồ sơ,Mã TTHC,Ngày tiếp nhận,Ngày hẹn trả,Hình thức nộp\n"
           "HS-UP-1,1.003476,31/02/2022,10/03/2022,Trực tiếp\n"
           "HS-UP-2,1.003476,01/03/2022,10/03/2022,Fax\n"
           "HS-UP-3,1.003476,01/03/2022 14:30,10/03/2022,Trực tuyến\n").encode()
GOOD_CSV = ("Mã hồ sơ,Mã TTHC,Ngày tiếp nhận,Ngày hẹn trả,Hình thức nộp\n"
            "HS-UP-1,1.003476,20/04/2022,10/05/2022,Trực tiếp\n"
            "HS-UP-2,1.003476,21/04/2022,11/05/2022,Trực tuyến\n").encode()


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader[0].upload(name, content, "text/csv").run()
    return at


def test_upload_lists_every_rejected_row_and_writes_nothing(app, writable_demo):
    before = data_quality(writable_demo)["dossiers"], data_version(writable_demo)
    at = upload(app("du_lieu", **REFERENCE), "ho-so.csv", BAD_CSV)
    assert not at.exception
    problems, preview, log = (frame.value for frame in at.dataframe)
    assert list(problems["Dòng"]) == ["2", "3"]
    assert list(problems["Cột"]) == ["Ngày tiếp nhận", "Hình thức nộp"]
    assert "31/02/2022" in problems.iloc[0]["Lý do"]
    assert "2 dòng bị loại" in " ".join(e.value for e in at.error)
    assert at.button(key="dl_import").disabled  # nothing can be written while rows are rejected
    assert list(preview["Mã hồ sơ"]) == ["HS-UP-3"]  # the valid row, with its line number
    assert preview.iloc[0]["Dòng"] == "4" and preview.iloc[0]["Ngày tiếp nhận"] == "01/03/2022 14:30"
    assert (data_quality(writable_demo)["dossiers"], data_version(writable_demo)) == before


def test_upload_can_skip_the_rejected_rows_when_asked(app, writable_demo):
    before = data_quality(writable_demo)["dossiers"]
    at = upload(app("du_lieu", **REFERENCE), "ho-so.csv", BAD_CSV)
    at.checkbox(key="dl_skip").check().run()
    assert not at.button(key="dl_import").disabled
    at.button(key="dl_import").click().run()
    assert not at.exception
    assert data_quality(writable_demo)["dossiers"] == before + 1


def test_import_shows_at_once_in_the_figures(app, writable_demo):
    at = app(**REFERENCE)
    assert metrics(at)["Hồ sơ tiếp nhận"] == "3.238"
    at.switch_page(PAGES["du_lieu"]).run()
    upload(at, "ho-so.csv", GOOD_CSV)
    assert "2 hồ sơ" in " ".join(s.value for s in at.success)
    at.button(key="dl_import").click().run()
    assert_clean(at)
    assert any("Đã nhập" in s.value for s in at.success)
    logged = import_log(writable_demo)[0]
    assert (logged["filename"], logged["added"], logged["written"]) == ("ho-so.csv", 2, True)
    at.switch_page(PAGES["tong_quan"]).run()
    # Two dossiers received in April 2022 join the reference quarter: the new data version is a new
    # cache key, so the figures move without clearing any cache.
    assert metrics(at)["Hồ sơ tiếp nhận"] == "3.240"
    assert metrics(at) == {**metrics(at), **expected_kpis(writable_demo, "SLDTBXH", "2022-Q2")}
