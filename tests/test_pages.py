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

import datetime as dt

from tthc_core import qd766, stats, worklist
from tthc_core.auth import import_log
from sqlalchemy import delete, func, select

from tthc_core.db import data_version, dispose_engine, get_engine
from tthc_core.models import Setting
from tthc_core.formatting import fmt_datetime, fmt_delta, fmt_int, fmt_percent, vietnam_now
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
    "can_xu_ly": "pages/9_can_xu_ly.py",
}
REFERENCE = {"agency": "SLDTBXH", "period": "2022-Q2"}
# Text each page must show for Sở LĐTBXH, Q2/2022 (domain.md §8).
PAGE_TEXT = {
    "tong_quan": ["3.238", "2.525", "100,00 %", "1,06 %"],
    "thu_tuc": ["109", "56", "98", "30 / 47", "16", "toàn trình 47"],
    "giai_quyet": ["3.238", "2.525", "713", "2.999"],
    "mot_cua": ["56 TTHC", "33 TTHC", "16 TTHC"],
    "truc_tuyen": ["77", "32", "1,06 %", "18,89 / 20", "3,21 / 12"],
    "du_lieu": ["Chất lượng dữ liệu", "Mọi đẳng thức đều khớp"],
    "can_xu_ly": ["Quá hạn: 0 hồ sơ", "Sắp đến hạn trong 3 ngày làm việc: 200 hồ sơ", "tính đến hết ngày 14/06/2022"],
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
    # Opened on purpose: once an import wrote real data, a demo database asks for sign-in (issue 14).
    monkeypatch.setenv("TTHC_OPEN", "1")
    st.cache_data.clear()
    yield url
    st.cache_data.clear()
    dispose_engine(url)


@pytest.fixture
def writable_copy(writable_demo, monkeypatch):
    """The same copy, no longer a demo and opened on purpose without sign-in (a unit's own database)."""
    with get_engine(writable_demo).begin() as conn:
        conn.execute(delete(Setting).where(Setting.key == "demo"))
    monkeypatch.setenv("TTHC_OPEN", "1")
    yield writable_demo


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
        "Hồ sơ đã giải quyết": fmt_int(figures["resolved_total"]),
        "Tỷ lệ đúng hạn": fmt_percent(figures["on_time_rate"]),
        "Hồ sơ đang quá hạn": fmt_int(figures["pending_overdue"]),
        "Hồ sơ nộp trực tuyến": fmt_percent(figures["online_share"]),
    }


# --------------------------------------------------------------------------------------------
# Landing on the overview
# --------------------------------------------------------------------------------------------

def test_first_visit_on_demo_lands_on_reference_quarter_of_sldtbxh(app):
    at = app()
    assert_clean(at)
    shown = metrics(at)
    assert shown["Hồ sơ tiếp nhận"] == "3.238"
    assert shown["Hồ sơ đã giải quyết"] == "2.525"
    assert shown["Tỷ lệ đúng hạn"] == "100,00 %"
    assert shown["Hồ sơ đang quá hạn"] == "0"
    assert shown["Hồ sơ nộp trực tuyến"] == "1,06 %"  # 32 / 3.031
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
    league = at.dataframe[-1].value
    assert "Lĩnh vực" in league.columns
    assert set(league["Tỷ lệ đúng hạn"]) == {"100,00 %"}

    at = app(agency="all", period="2022-Q2")
    league = at.dataframe[-1].value
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
    assert "Đang hiển thị quý II năm 2022" in warnings  # the Roman numeral keeps its capitals


def test_an_agency_name_from_a_file_is_shown_as_text_not_markdown(app, writable_demo):
    from sqlalchemy import update

    from tthc_core.formatting import md_escape
    from tthc_core.models import Agency

    name = "![x](http://127.0.0.1:9/x.png) :red[Sở] **LĐTBXH**"
    with get_engine(writable_demo).begin() as conn:
        conn.execute(update(Agency).where(Agency.code == "SLDTBXH").values(name=name))
    at = app(**REFERENCE)
    assert_clean(at)
    header = next(m.value for m in at.markdown if "Quý II năm 2022" in m.value)
    assert header.startswith(f"**{md_escape(name)}**")
    assert "![x](" not in header and ":red[" not in header


# --------------------------------------------------------------------------------------------
# Every page
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_reference_quarter_in_vietnamese(app, page):
    at = app(page, **REFERENCE)
    assert_clean(at)
    assert any("Dữ liệu minh họa" in info.value for info in at.info), page  # every page says it is a demo
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


def test_the_action_lists_match_the_kpi_row_and_sort_by_days_overdue(app, demo_url):
    at = app(agency="all", period="2022-Q2")
    assert_clean(at)
    day = dt.date(2022, 6, 14)  # the quarter's last day
    late, soon = worklist.overdue(demo_url, day), worklist.due_soon(demo_url, day, 3)
    shown = metrics(at)
    assert shown["Hồ sơ đang quá hạn"] == fmt_int(len(late)) == "44"
    assert shown["Hồ sơ sắp đến hạn"] == fmt_int(len(soon)) == "293"
    at.switch_page(PAGES["can_xu_ly"]).run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["Mã hồ sơ"]) == [r["code"] for r in late]
    days = [int(d) for d in table["Quá hạn (ngày)"]]
    assert days == sorted(days, reverse=True) and days[0] > days[-1]
    assert len(at.dataframe[1].value) == 293
    at.number_input(key="wl_days").set_value(0).run()
    assert len(at.dataframe[1].value) == len(worklist.due_soon(demo_url, day, 0))


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


def test_upload_lists_every_rejected_row_and_writes_nothing(app, writable_copy):
    before = data_quality(writable_copy)["dossiers"], data_version(writable_copy)
    at = upload(app("du_lieu", **REFERENCE), "ho-so.csv", BAD_CSV)
    assert not at.exception
    problems, preview, log = (frame.value for frame in list(at.dataframe)[:3])  # then the audit trail
    assert list(problems["Dòng"]) == ["2", "3"]
    assert list(problems["Cột"]) == ["Ngày tiếp nhận", "Hình thức nộp"]
    assert "31/02/2022" in problems.iloc[0]["Lý do"]
    assert "2 dòng bị loại" in " ".join(e.value for e in at.error)
    assert at.button(key="dl_import").disabled  # nothing can be written while rows are rejected
    assert list(preview["Mã hồ sơ"]) == ["HS-UP-3"]  # the valid row, with its line number
    assert preview.iloc[0]["Dòng"] == "4" and preview.iloc[0]["Ngày tiếp nhận"] == "01/03/2022 14:30"
    assert (data_quality(writable_copy)["dossiers"], data_version(writable_copy)) == before


def test_upload_can_skip_the_rejected_rows_when_asked(app, writable_copy):
    before = data_quality(writable_copy)["dossiers"]
    at = upload(app("du_lieu", **REFERENCE), "ho-so.csv", BAD_CSV)
    at.checkbox(key="dl_skip").check().run()
    assert not at.button(key="dl_import").disabled
    at.button(key="dl_import").click().run()
    assert not at.exception
    assert data_quality(writable_copy)["dossiers"] == before + 1


def test_import_shows_at_once_in_the_figures(app, writable_copy):
    at = app(**REFERENCE)
    assert metrics(at)["Hồ sơ tiếp nhận"] == "3.238"
    at.switch_page(PAGES["du_lieu"]).run()
    upload(at, "ho-so.csv", GOOD_CSV)
    assert "2 hồ sơ" in " ".join(s.value for s in at.success)
    at.button(key="dl_import").click().run()
    assert_clean(at)
    assert any("Đã nhập" in s.value for s in at.success)
    logged = import_log(writable_copy)[0]
    assert (logged["filename"], logged["added"], logged["written"]) == ("ho-so.csv", 2, True)
    at.switch_page(PAGES["tong_quan"]).run()
    # Two dossiers received in April 2022 join the reference quarter: the new data version is a new
    # cache key, so the figures move without clearing any cache.
    assert metrics(at)["Hồ sơ tiếp nhận"] == "3.240"
    assert metrics(at) == {**metrics(at), **expected_kpis(writable_copy, "SLDTBXH", "2022-Q2")}


# --------------------------------------------------------------------------------------------
# The demo stays the reference
# --------------------------------------------------------------------------------------------

def reference_quarter(url: str) -> tuple[int, int, int]:
    total = compute_stats(url, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    return total["received_total"], total["resolved_total"], total["pending_total"]


def test_without_sign_in_the_demo_refuses_an_import_and_a_freeze(app, writable_demo):
    from tthc_core.demo_guard import REFUSED

    at = app("du_lieu", **REFERENCE)
    assert REFUSED in [w.value for w in at.warning]
    upload(at, "tot.csv", GOOD_CSV)
    assert at.button(key="dl_import").disabled
    assert reference_quarter(writable_demo) == (3238, 2525, 713)

    at.switch_page("pages/7_bao_cao_quy.py").run()
    assert REFUSED in [w.value for w in at.warning]
    assert at.button(key="freeze").disabled
    assert any(REFUSED in c.value for c in at.caption)
    from tthc_core.reports import frozen

    assert frozen(writable_demo, "2022-Q2", agency="SLDTBXH") is None
    assert reference_quarter(writable_demo) == (3238, 2525, 713)


def test_the_banner_says_when_the_demo_no_longer_holds_the_reference_and_reset_restores_it(app, writable_demo):
    from tthc_core.importer import import_file

    assert import_file(writable_demo, GOOD_CSV, agency="SLDTBXH", filename="x.csv").written
    at = app("du_lieu", **REFERENCE)
    changed = [w.value for w in at.warning if "đã bị thay đổi" in w.value]
    assert changed and "3.240 hồ sơ tiếp nhận" in changed[0]
    at.button(key="demo_reset").click().run()
    assert_clean(at)
    assert reference_quarter(writable_demo) == (3238, 2525, 713)
    assert any("tái hiện" in i.value for i in at.info)


def test_only_a_signed_in_admin_writes_to_the_demo(demo_url, sqlite_url):
    from tthc_core.auth import OPEN_SCOPE, Scope
    from tthc_core.demo_guard import REFUSED, write_refusal

    assert write_refusal(demo_url, OPEN_SCOPE) == REFUSED  # the demo's open scope: an admin role, no name
    assert write_refusal(demo_url, Scope("canbo", "officer", ("SLDTBXH",))) == REFUSED
    assert write_refusal(demo_url, Scope("quantri", "admin", None)) is None
    assert write_refusal(sqlite_url, OPEN_SCOPE) is None  # not a demo: the roles decide


def test_after_an_import_the_view_jumps_to_the_quarter_the_file_covers(app, writable_copy):
    later = ("Mã hồ sơ,Mã TTHC,Ngày tiếp nhận,Ngày hẹn trả,Hình thức nộp\n"
             "HS-Q3-1,1.003476,20/06/2023,10/07/2023,Trực tiếp\n"
             "HS-Q3-2,1.003476,01/08/2023,11/08/2023,Trực tuyến\n").encode()
    at = upload(app("du_lieu", **REFERENCE), "quy-3.csv", later)
    at.button(key="dl_import").click().run()
    assert_clean(at)
    done = " ".join(s.value for s in at.success)
    # NĐ 09/2019 quarter III/2023: 15/06/2023 – 14/09/2023 holds both days.
    assert "Tệp gồm hồ sơ tiếp nhận từ 20/06/2023 đến 01/08/2023: đang hiển thị Quý III năm 2023" in done
    assert at.query_params["period"] == ["2023-Q3"] or at.query_params["period"] == "2023-Q3"
    at.switch_page(PAGES["giai_quyet"]).run()
    total = compute_stats(writable_copy, "2023-Q3", agency="SLDTBXH")["dossiers"]["total"]
    assert metrics(at)["Tổng số hồ sơ tiếp nhận"] == fmt_int(total["received_total"])


def test_a_file_spanning_two_quarters_shows_both():
    from tthc_core.ui.uploads import covering_period

    both = covering_period(dt.date(2022, 5, 2), dt.date(2022, 8, 1), "report")
    assert (both.start, both.end) == (dt.date(2022, 3, 15), dt.date(2022, 9, 14))


# --------------------------------------------------------------------------------------------
# Small defects (issue 13 item 6)
# --------------------------------------------------------------------------------------------

def test_the_drill_down_column_picker_never_shows_a_stale_count(app, demo_url):
    at = app("giai_quyet", **REFERENCE)
    at.selectbox(key="gq_count").select("resolved_early").run()
    at.selectbox(key="gq_group").select("Việc làm").run()
    picker = at.selectbox(key="gq_count")
    assert picker.options[picker.index] == stats.COUNT_LABELS["resolved_early"]  # no count to go stale
    row = next(r for r in compute_stats(demo_url, "2022-Q2", agency="SLDTBXH")["dossiers"]["rows"]
               if r["key"] == "Việc làm")
    assert f"{fmt_int(row['resolved_early'])} hồ sơ" in " ".join(c.value for c in at.caption)
    # Another row: the label follows it (the old row's count must not stay).
    other = max((r for r in compute_stats(demo_url, "2022-Q2", agency="SLDTBXH")["dossiers"]["rows"]
                 if r["key"] != "Việc làm" and r["resolved_early"] != row["resolved_early"]),
                key=lambda r: r["resolved_early"])
    at.selectbox(key="gq_group").select(other["key"]).run()
    listed = next(c.value for c in at.caption if c.value.startswith(("Hiển thị", fmt_int(other["resolved_early"]))))
    assert fmt_int(other["resolved_early"]) in listed and fmt_int(row["resolved_early"]) not in listed.split("—")[0]


def test_a_link_to_a_period_that_has_not_started_says_so_and_falls_back(app, demo_url):
    at = app(agency="SLDTBXH", period="2030-Q1")
    assert_clean(at)
    warned = [w.value for w in at.warning if "Quý I năm 2030 chưa bắt đầu" in w.value]
    assert warned and "Đang hiển thị quý II năm 2022." in warned[0]
    assert metrics(at) | expected_kpis(demo_url, "SLDTBXH", "2022-Q2") == metrics(at)  # the reference quarter
    assert at.query_params["period"] in (["2022-Q2"], "2022-Q2")


def test_sparklines_start_with_the_first_period_holding_data(app):
    # Q3/2021: the six quarters back reach Q2/2020, before the demo's first dossier (01/01/2021).
    at = app(agency="SLDTBXH", period="2021-Q3")
    assert_clean(at)
    caption = next(c.value for c in at.caption if c.value.startswith("Mũi tên"))
    assert "3 kỳ gần nhất, từ Q1/2021 đến Q3/2021" in caption


def test_a_date_after_now_in_the_data_is_never_shown_as_its_reach(app, writable_copy):
    from tthc_core.importer import import_file

    # A year ahead: inside the importer's plausible window (today + 2 years), after the server's now.
    day = dt.date.today() + dt.timedelta(days=365)
    future = ("Mã hồ sơ,Mã TTHC,Ngày tiếp nhận,Ngày hẹn trả,Hình thức nộp\n"
              f"HS-FUTURE,1.003476,{day:%d/%m/%Y},{day + dt.timedelta(days=8):%d/%m/%Y},Trực tiếp\n").encode()
    assert import_file(writable_copy, future, agency="SLDTBXH", filename="f.csv").written
    at = app(**REFERENCE)
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert f"{day:%d/%m/%Y}" not in sidebar
    reach = stats.data_until(writable_copy, vietnam_now())["until"]
    assert reach <= vietnam_now()
    assert f"Dữ liệu đến: **{fmt_datetime(reach)}** (không tính 1 hồ sơ ghi ngày sau thời điểm hiện tại" in sidebar


# --------------------------------------------------------------------------------------------
# An admin creates an agency (issue 13 item 5)
# --------------------------------------------------------------------------------------------

def _create_agency(at: AppTest, code: str, name: str) -> AppTest:
    at.text_input(key="ag_code").input(code)
    at.text_input(key="ag_name").input(name)
    return at.button(key="FormSubmitter:agency_form-Tạo cơ quan").click().run()


def test_an_admin_creates_an_agency_on_the_data_page_and_it_is_audited(app, writable_copy):
    from tthc_core.auth import audit_log
    from tthc_core.models import Agency

    at = _create_agency(app("du_lieu", **REFERENCE), "SNV", "  Sở   Nội vụ ")
    assert_clean(at)
    assert "Đã tạo cơ quan «SNV» — Sở Nội vụ." in " ".join(s.value for s in at.success)
    with get_engine(writable_copy).connect() as conn:
        assert conn.execute(select(Agency.name).where(Agency.code == "SNV")).scalar_one() == "Sở Nội vụ"
    entry = audit_log(writable_copy, limit=1)[0]
    assert (entry["action"], entry["agency_code"], entry["detail"]) == ("agency_add", "SNV",
                                                                         "tạo cơ quan «SNV» (Sở Nội vụ)")
    assert at.text_input(key="ag_code").value == ""  # the form is empty for the next one
    # The sidebar's agency picker offers it at once (the data version moved).
    assert "Sở Nội vụ" in at.sidebar.selectbox(key="f_agency").options


@pytest.mark.parametrize(("code", "name", "message"), [
    ("SLDTBXH", "Sở khác", "Đã có cơ quan mã «SLDTBXH» (Sở Lao động - Thương binh và Xã hội); mỗi mã cơ quan chỉ dùng "
                           "một lần."),
    ("sldtbxh", "Sở khác", "Đã có cơ quan mã «SLDTBXH»"),  # imports match codes whatever the capitals
    ("SNV", "   ", "Chưa nhập tên cơ quan."),
    ("", "Sở Nội vụ", "Chưa nhập mã cơ quan."),
    ("S NV", "Sở Nội vụ", "Mã cơ quan «S NV» không hợp lệ"),
])
def test_a_duplicate_code_or_an_empty_field_is_refused_in_vietnamese(app, writable_copy, code, name, message):
    from tthc_core.models import Agency

    with get_engine(writable_copy).connect() as conn:
        before = conn.execute(select(func.count()).select_from(Agency)).scalar_one()
    at = _create_agency(app("du_lieu", **REFERENCE), code, name)
    assert not at.exception
    assert any(e.value.startswith(message) for e in at.error), [e.value for e in at.error]
    with get_engine(writable_copy).connect() as conn:
        assert conn.execute(select(func.count()).select_from(Agency)).scalar_one() == before


def test_without_sign_in_the_demo_creates_no_agency(app, writable_demo):
    at = app("du_lieu", **REFERENCE)
    assert at.button(key="FormSubmitter:agency_form-Tạo cơ quan").disabled


def test_an_officer_is_told_who_creates_a_missing_agency(demo_url):
    from tthc_core.auth import AccessDenied, Scope, create_agency

    with pytest.raises(AccessDenied, match="không được quản lý tài khoản"):
        create_agency(demo_url, "SNV", "Sở Nội vụ", by=Scope("canbo", "officer", ("SLDTBXH",)))
    from tthc_core.ui.agencies import WHO_CREATES

    assert "quản trị viên tạo trước" in WHO_CREATES and "--create-agency" in WHO_CREATES


def test_an_unknown_page_path_is_recognised_under_any_base_path():
    from tthc_core.ui.navigation import unknown_path

    known = {"tong_quan", "giai_quyet"}
    assert unknown_path("http://h:8501/khong_co", known, base="") == "khong_co"
    assert unknown_path("http://h/tthc/khong_co", known, base="/tthc/") == "khong_co"
    assert unknown_path("http://h/tthc", known, base="tthc") is None  # the app's root: the overview
    assert unknown_path("http://h:8501/", known, base="") is None
    assert unknown_path("http://h:8501/giai_quyet", known, base="") is None
    assert unknown_path("http://h/b%C3%A1o_c%C3%A1o", known, base="") == "báo_cáo"
    assert unknown_path("http://h/a/b", known, base="") is None  # nested: never a page's url_path
    assert unknown_path(None, known, base="") is None
