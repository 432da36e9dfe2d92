"""The quarterly report object: figures, report inputs, the balance check and frozen figures.

Reads use the shared demo (built once per session); every test that writes works on its own copy.
"""
import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from tthc_core.checks import check_counts, checks
from tthc_core.db import data_version, get_engine
from tthc_core.demo import REF_AGENCY
from tthc_core.exports import docx_bytes, workbook_bytes
from tthc_core.models import Agency, Procedure, Setting
from tthc_core.reports import (
    ReportError,
    build_report,
    freeze,
    frozen,
    frozen_diff,
    load_narrative,
    load_profile,
    load_report_inputs,
    load_simplifications,
    report_input_rows,
    revive,
    save_report_inputs,
    save_simplifications,
)
from tthc_core.store import write_dossiers

ROOT = Path(__file__).resolve().parent.parent
Q2 = "2022-Q2"
TODAY = dt.date(2026, 11, 27)
# The reference report as printed (domain.md §4, §8): 3.525 resolved where its parts make 2.525.
PRINTED = dict(received_total=3238, received_new=3031, received_online=32, received_offline=2999,
               carried_over=207, resolved_total=3525, resolved_early=288, resolved_on_time=2237,
               resolved_late=0, pending_total=713, pending_in_time=713, pending_overdue=0)


def identities(failures):
    return {f["identity"] for f in failures}


# --- figures --------------------------------------------------------------------------------------

def test_demo_figures_reproduce_the_reference_quarter(demo_db):
    figures = build_report(demo_db, Q2, agency=REF_AGENCY)
    total = figures["dossiers"]["total"]
    assert [total[k] for k in ("received_total", "received_online", "received_offline", "carried_over",
                               "resolved_total", "resolved_early", "resolved_on_time", "resolved_late",
                               "pending_total", "pending_in_time", "pending_overdue")] == \
        [3238, 32, 2999, 207, 2525, 288, 2237, 0, 713, 713, 0]
    p = figures["procedures"]
    assert (p["total"], p["published"], p["central"], p["local"], p["one_stop"], p["lien_thong"], p["postal"],
            p["online"], p["online_level3"], p["online_level4"]) == (109, 109, 109, 0, 56, 33, 98, 109, 30, 47)
    assert figures["form"] == "II.06a"
    assert figures["simplification"]["total"]["ratio"] == Decimal("59.38")
    assert figures["simplification"]["total"]["by_level"]["commune"] == 2
    assert figures["inputs"]["budget"] == 35000000
    assert figures["inputs"]["feedback_received"] == 0
    assert figures["frozen"] is None and figures["diff"] == []


def test_four_on_site_lists_every_procedure_even_without_dossiers(demo_url):
    four = build_report(demo_url, Q2, agency=REF_AGENCY)["four_on_site"]
    assert len(four["rows"]) == 16
    assert set(four["fields"]) == {"Người có công", "Bảo trợ xã hội", "Quản lý lao động ngoài nước", "Việc làm",
                                   "An toàn, vệ sinh lao động"}
    # A year with no dossiers at all still lists the 16 procedures, with zeros.
    empty = build_report(demo_url, "2019-Q2", agency=REF_AGENCY)["four_on_site"]
    assert len(empty["rows"]) == 16 and empty["total"]["received_total"] == 0
    assert all(four["total"][k] == sum(r[k] for r in four["rows"]) for k in ("received_total", "resolved_total"))


def test_one_stop_form_splits_procedures_by_authority_level(demo_url):
    total = build_report(demo_url, Q2, agency=REF_AGENCY)["one_stop"]["total"]
    assert total["total"] == {"all": 109, "province": 92, "district": 7, "commune": 10}
    assert total["one_stop"]["all"] == 56
    assert sum(total["internal_process"][level] for level in ("province", "district", "commune")) == \
        total["internal_process"]["all"]


def test_whole_province_groups_levels_whose_subtotals_make_the_total(demo_url):
    figures = build_report(demo_url, Q2)
    assert figures["form"] == "II.06b"
    assert [g["key"] for g in figures["levels"]] == ["province", "district", "commune"]
    for key in ("received_total", "resolved_total", "pending_overdue"):
        assert sum(g["total"][key] for g in figures["levels"]) == figures["dossiers"]["total"][key]
        for group in figures["levels"]:
            assert sum(r[key] for r in group["rows"]) == group["total"][key]
    assert figures["checks"] == []


# --- balance check ------------------------------------------------------------------------------

def test_balance_check_on_the_demo_is_empty(demo_db):
    assert build_report(demo_db, Q2, agency=REF_AGENCY)["checks"] == []


def test_the_reference_reports_printed_numbers_fail_col7():
    failures = check_counts([], PRINTED)
    assert "col7 = col8 + col9 + col10" in identities(failures)
    assert "col3 = col7 + col11" in identities(failures)  # 3.238 ≠ 3.525 + 713 as well
    assert "new = col4 + col5" not in identities(failures)  # 3.031 = 32 + 2.999 holds
    message = next(f["message"] for f in failures if f["identity"] == "col7 = col8 + col9 + col10")
    assert "3.525" in message and "2.525" in message


def test_a_total_row_that_is_not_the_sum_of_its_rows_is_flagged():
    row = {k: v for k, v in PRINTED.items() if k != "received_new"}
    row.update(resolved_total=2525, received_total=3238)
    failures = check_counts([{"key": "Việc làm", "label": "Việc làm", **row}], {**row, "received_total": 3000})
    assert any(f["identity"] == "Σ rows col3 = total" for f in failures)


def test_balance_check_flags_broken_figures(demo_url):
    figures = copy.deepcopy(build_report(demo_url, Q2, agency=REF_AGENCY).figures)
    figures["dossiers"]["total"]["resolved_total"] = 3525
    figures["procedures"].update(central=109, local=109, total=109)
    found = identities(checks(figures))
    assert {"col7 = col8 + col9 + col10", "central + local = total", "Σ rows col7 = total"} <= found
    message = next(f["message"] for f in checks(figures) if f["identity"] == "central + local = total")
    assert "218" in message and "109" in message


# --- report inputs ------------------------------------------------------------------------------

def test_report_inputs_round_trip_and_bump_the_data_version(demo_copy):
    before = data_version(demo_copy)
    assert save_report_inputs(demo_copy, REF_AGENCY, Q2, {
        "feedback_received": "3", "feedback_handled": 2, "feedback_pending": "1", "budget": "40.000.000",
        "one_stop_self_score": "17,5", "notes": "  Ghi chú mới  "}) == []
    values = load_report_inputs(demo_copy, REF_AGENCY, Q2)
    assert values["feedback_received"] == 3 and values["feedback_handled"] == 2
    assert values["budget"] == 40000000
    assert values["one_stop_self_score"] == Decimal("17.5")
    assert values["notes"] == "Ghi chú mới"
    assert values["initiatives"] == 0  # untouched keys keep their value
    assert data_version(demo_copy) > before
    # The other period and the other agency are untouched.
    assert load_report_inputs(demo_copy, REF_AGENCY, "2022-Q3")["budget"] is None


def test_editor_rows_read_back_unchanged(demo_copy):
    before = load_report_inputs(demo_copy, REF_AGENCY, Q2)
    typed = {r["key"]: r["Giá trị"] for r in report_input_rows(before)}
    assert typed["budget"] == "35.000.000" and typed["one_stop_appraised_score"] == ""
    assert save_report_inputs(demo_copy, REF_AGENCY, Q2, typed) == []
    assert load_report_inputs(demo_copy, REF_AGENCY, Q2) == before


def test_report_input_errors_name_row_and_column_and_save_nothing(demo_copy):
    problems = save_report_inputs(demo_copy, REF_AGENCY, Q2, {
        "budget": "ba mươi triệu", "one_stop_self_score": "19", "feedback_received": "-1"})
    texts = [p.text() for p in problems]
    assert len(problems) == 3
    assert texts[0].startswith("Dòng «Kinh phí kiểm soát TTHC trong năm (đồng)», cột «Giá trị»")
    assert "từ 0 đến 18" in texts[1]
    assert "không âm" in texts[2]
    assert load_report_inputs(demo_copy, REF_AGENCY, Q2)["budget"] == 35000000


def test_whole_province_sums_counts_and_budgets(demo_copy):
    assert save_report_inputs(demo_copy, "STP", Q2, {"feedback_received": "2", "budget": "5000000"}) == []
    values = load_report_inputs(demo_copy, None, Q2)
    assert values["feedback_received"] == 2 and values["budget"] == 40000000
    assert values["one_stop_self_score"] is None


def test_simplifications_round_trip_with_the_ratio_of_the_sums(demo_copy):
    rows = [
        {"procedure_code": "1.1", "procedure_name": "Thủ tục A", "authority_level": "Cấp xã",
         "days_before": 20, "days_after": 8, "decision": "QĐ 1"},
        {"procedure_code": None, "procedure_name": None, "authority_level": None, "days_before": float("nan"),
         "days_after": None, "decision": None},  # the editor's empty line
        {"procedure_code": "1.2", "procedure_name": "Thủ tục B", "authority_level": "commune",
         "days_before": "12", "days_after": "5", "decision": ""},
    ]
    assert save_simplifications(demo_copy, REF_AGENCY, Q2, rows) == []
    stored = load_simplifications(demo_copy, REF_AGENCY, Q2)
    assert [(r["procedure_name"], r["days_cut"]) for r in stored] == [("Thủ tục A", 12), ("Thủ tục B", 7)]
    assert build_report(demo_copy, Q2, agency=REF_AGENCY)["simplification"]["total"]["ratio"] == Decimal("59.38")


def test_simplification_errors_name_row_and_column(demo_copy):
    problems = save_simplifications(demo_copy, REF_AGENCY, Q2, [
        {"procedure_name": "Thủ tục A", "authority_level": "Cấp xã", "days_before": 10, "days_after": 4},
        {"procedure_name": "Thủ tục B", "authority_level": "Cấp thôn", "days_before": 5, "days_after": 9},
        {"procedure_name": "", "days_before": 0, "days_after": 0},
    ])
    assert [(p.line, p.column) for p in problems] == [
        ("2", "Cấp thực hiện"), ("2", "Thời hạn sau (ngày)"),
        ("3", "Tên thủ tục hành chính"), ("3", "Thời hạn trước (ngày)")]
    assert len(load_simplifications(demo_copy, REF_AGENCY, Q2)) == 2  # the demo's rows are kept


# --- frozen figures ------------------------------------------------------------------------------

def late_dossier(url, code="SLDTBXH-LATE-0001"):
    """A dossier of the reference quarter imported after the report was signed."""
    engine = get_engine(url)
    with engine.begin() as conn:
        agency_id = conn.scalar(select(Agency.id).where(Agency.code == REF_AGENCY))
        procedure = conn.execute(select(Procedure.id, Procedure.field_id)
                                 .where(Procedure.agency_id == agency_id).order_by(Procedure.code)).first()
        write_dossiers(conn, [dict(code=code, agency_id=agency_id, procedure_id=procedure.id,
                                   field_id=procedure.field_id, channel="online", status="normal",
                                   received_at=dt.datetime(2022, 5, 10, 9, 0), due_at=dt.datetime(2022, 6, 1),
                                   resolved_at=dt.datetime(2022, 5, 20, 15, 0))])


def test_freeze_then_a_late_import_shows_the_frozen_figures_and_the_diff(demo_copy):
    record = freeze(demo_copy, Q2, agency=REF_AGENCY, user="Lương Thị Hồng", today=TODAY)
    assert record.frozen_by == "Lương Thị Hồng" and record.period_key == "report:2022-Q2"
    assert frozen(demo_copy, Q2, agency=REF_AGENCY).id == record.id
    assert frozen(demo_copy, Q2) is None  # the whole province was not frozen

    late_dossier(demo_copy)
    live = build_report(demo_copy, Q2, agency=REF_AGENCY, live=True)
    assert live["dossiers"]["total"]["received_total"] == 3239

    shown = build_report(demo_copy, Q2, agency=REF_AGENCY)
    assert shown["dossiers"]["total"]["received_total"] == 3238
    assert shown["frozen"]["by"] == "Lương Thị Hồng"
    assert shown["simplification"]["total"]["ratio"] == Decimal("59.38")  # Decimals survive the JSON
    cells = {(d["section"], d["row"], d["key"]): (d["frozen"], d["live"]) for d in shown["diff"]}
    assert cells[("II.06a", "Tổng cộng", "received_total")] == (3238, 3239)
    assert cells[("II.06a", "Tổng cộng", "received_online")] == (32, 33)
    assert cells[("II.06a", "Tổng cộng", "resolved_early")] == (288, 289)
    assert ("II.06a", "Tổng cộng", "pending_total") not in cells
    assert any(section == "II.06a" and row != "Tổng cộng" for section, row, _ in cells)

    # The files show the frozen figures, say so, and list what changed.
    import io

    import openpyxl
    from docx import Document

    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(build_report(demo_copy, Q2, agency=REF_AGENCY))))
    sheet = book["II.06a"]
    total_row = next(r for r in sheet.iter_rows(values_only=True) if r[1] == "Tổng cộng")
    assert total_row[2] == 3238
    texts = [c for r in sheet.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any(t.startswith("Số liệu đã chốt lúc") and "Lương Thị Hồng" in t for t in texts)
    assert "Chênh lệch" in book.sheetnames
    draft = "\n".join(p.text for p in Document(io.BytesIO(docx_bytes(build_report(demo_copy, Q2, agency=REF_AGENCY)))).paragraphs)
    assert "Tổng số hồ sơ TTHC đã tiếp nhận trong kỳ báo cáo 3.238" in draft
    assert "Số liệu đã chốt lúc" in draft


def test_frozen_diff_is_empty_when_nothing_changed(demo_copy):
    freeze(demo_copy, Q2, agency=REF_AGENCY, user="A", today=TODAY)
    assert build_report(demo_copy, Q2, agency=REF_AGENCY)["diff"] == []
    payload = json.loads(json.dumps(frozen(demo_copy, Q2, agency=REF_AGENCY).payload))
    assert revive(payload)["simplification"]["rows"][0]["days_before"] == Decimal("20.0")
    assert frozen_diff(payload, build_report(demo_copy, Q2, agency=REF_AGENCY, live=True).figures) == []


def test_the_latest_freeze_wins(demo_copy):
    freeze(demo_copy, Q2, agency=REF_AGENCY, user="Người thứ nhất", today=TODAY)
    late_dossier(demo_copy)
    freeze(demo_copy, Q2, agency=REF_AGENCY, user="Người thứ hai", today=TODAY)
    shown = build_report(demo_copy, Q2, agency=REF_AGENCY)
    assert shown["frozen"]["by"] == "Người thứ hai"
    assert shown["dossiers"]["total"]["received_total"] == 3239 and shown["diff"] == []


def test_freezing_is_refused_for_a_running_period_without_a_name_or_unbalanced(demo_copy, monkeypatch):
    with pytest.raises(ReportError, match="chưa kết thúc"):
        freeze(demo_copy, "2026-Q4", agency=REF_AGENCY, user="A", today=TODAY)
    with pytest.raises(ReportError, match="tên người chốt"):
        freeze(demo_copy, Q2, agency=REF_AGENCY, user="  ", today=TODAY)
    import tthc_core.reports.freezing as freezing

    monkeypatch.setattr(freezing, "checks", lambda figures: [{"message": "lỗi"}])
    with pytest.raises(ReportError, match="chưa cân đối"):
        freeze(demo_copy, Q2, agency=REF_AGENCY, user="A", today=TODAY)
    assert frozen(demo_copy, Q2, agency=REF_AGENCY) is None


# --- the page -----------------------------------------------------------------------------------

def run_report_page(url, monkeypatch):
    from streamlit.testing.v1 import AppTest

    # Not the demo any more (on the demo only a signed-in admin writes: tthc_core/demo_guard.py), opened
    # on purpose without sign-in.
    with get_engine(url).begin() as conn:
        conn.execute(delete(Setting).where(Setting.key == "demo"))
    monkeypatch.setenv("TTHC_OPEN", "1")
    monkeypatch.setenv("TTHC_DATABASE_URL", url)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params.update({"agency": REF_AGENCY, "period": Q2})
    at.run()
    at.switch_page("pages/7_bao_cao_quy.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_report_page_shows_the_figures_freezes_them_and_lists_late_changes(demo_copy, monkeypatch):
    if not (ROOT / "dashboard.py").exists():
        pytest.skip("the dashboard frame is not there yet")
    from tthc_core.formatting import fmt_int
    from tthc_core.stats import FORM_COLUMNS

    at = run_report_page(demo_copy, monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tổng số hồ sơ tiếp nhận"] == "3.238" and metrics["Tỷ lệ cắt giảm thời hạn"] == "59,38 %"
    assert any("Số liệu cân đối" in s.value for s in at.success)
    assert any("Đủ nội dung cho dự thảo" in s.value for s in at.success)  # the demo profile and narrative
    assert {b.label for b in at.get("download_button")} >= {"Phụ lục Excel (.xlsx)", "Dự thảo báo cáo Word (.docx)"}

    # The II.06a preview agrees cell by cell with the report figures.
    figures = build_report(demo_copy, Q2, agency=REF_AGENCY)
    table = next(d.value for d in at.dataframe if list(d.value.columns)[:1] == ["Lĩnh vực"])
    expected = [[fmt_int(r[k]) for k in FORM_COLUMNS] for r in figures["dossiers"]["rows"]]
    expected.append([fmt_int(figures["dossiers"]["total"][k]) for k in FORM_COLUMNS])
    assert table.iloc[:, 1:].values.tolist() == expected

    # Freezing from the page; then a late import: the page keeps the frozen figures and lists what changed.
    at.text_input(key="freeze_user").input("Lương Thị Hồng")
    at.button(key="freeze").click().run()
    assert not at.exception
    assert frozen(demo_copy, Q2, agency=REF_AGENCY).frozen_by == "Lương Thị Hồng"
    assert any(s.value.startswith("Đã chốt số liệu lúc") for s in at.success)
    assert any("Số liệu đã chốt lúc" in i.value and "Lương Thị Hồng" in i.value for i in at.info)
    late_dossier(demo_copy)
    at.run()
    assert any("thay đổi" in w.value for w in at.warning)
    diff = next(d.value for d in at.dataframe if "Đã chốt" in d.value.columns)
    assert ["3.238", "3.239"] in diff[["Đã chốt", "Hiện tại"]].values.tolist()
    assert {m.label: m.value for m in at.metric}["Tổng số hồ sơ tiếp nhận"] == "3.238"

    # Saving the report inputs from the page (unchanged values) stores them again and says so.
    version = data_version(demo_copy)
    next(b for b in at.button if b.label == "Lưu số liệu nhập").click().run()
    assert not at.exception and not at.error
    assert any(s.value == "Đã lưu số liệu nhập." for s in at.success)
    assert data_version(demo_copy) > version
    assert load_report_inputs(demo_copy, REF_AGENCY, Q2)["budget"] == 35000000

    # The narrative is confirmed from the page; a profile with a bad symbol is refused with its field named.
    at.text_area(key=f"narrative_difficulties_{data_version(demo_copy)}").input("Thiếu nhân lực.")
    next(b for b in at.button if b.label == "Xác nhận nội dung").click().run()
    assert any(s.value == "Đã xác nhận nội dung báo cáo của quý." for s in at.success)
    assert load_narrative(demo_copy, REF_AGENCY, Q2)["difficulties"].text == "Thiếu nhân lực."
    at.text_input(key=f"profile_symbol_{data_version(demo_copy)}").input("s l")
    next(b for b in at.button if b.label == "Lưu hồ sơ cơ quan").click().run()
    assert any("Ký hiệu cơ quan" in e.value for e in at.error)
    assert load_profile(demo_copy, REF_AGENCY).symbol == "SLĐTBXH"
