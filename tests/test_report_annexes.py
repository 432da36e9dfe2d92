"""Issue 12, the annexes around the forms: the PAKN form II.05a from the feedback records, the notes sheet
with the deadline basis in force, the QĐ 766 sheet of a frozen quarter, and percentages written the same
way in the workbook, the Word draft and on the pages."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from docx import Document
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tthc_core.counting import deadline_basis_label, set_counting_setting
from tthc_core.db import get_engine
from tthc_core.demo import REF_AGENCY
from tthc_core.exports import docx_bytes, workbook_bytes
from tthc_core.exports.qd766_sheet import SHEET_NAME as QD766_SHEET
from tthc_core.formatting import XLSX_INTEGER, XLSX_PERCENT, fmt_percent
from tthc_core.models import Agency, Feedback, Field, FrozenReport, Procedure
from tthc_core.periods import parse_period
from tthc_core.reports import FEEDBACK_KEYS, INDEX766_NOT_FROZEN, build_report, feedback_figures, freeze
from tthc_core.stats import data_quality

Q2 = "2022-Q2"  # report period 15/03/2022 .. 14/06/2022
TODAY = dt.date(2026, 11, 27)
D = dt.datetime


def book_of(report) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(workbook_bytes(report)))


def draft_text(report) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(docx_bytes(report))).paragraphs)


def row_of(sheet, label: str, column: int = 2) -> int:
    return next(r[0].row for r in sheet.iter_rows() if r[column - 1].value == label)


def counts(sheet, row: int) -> list:
    return [sheet.cell(row, c).value for c in range(3, 3 + len(FEEDBACK_KEYS))]


# --- the PAKN records of a hand-made agency ---------------------------------------------------------

def feedback_agency(url: str, code: str = "SO-PAKN") -> None:
    """One agency with a procedure of the field «Việc làm» and six PAKN around the Q2/2022 report period."""
    with Session(get_engine(url)) as session, session.begin():
        agency = Agency(code=code, name="Sở thử PAKN", level="province")
        field = session.scalar(select(Field).where(Field.name == "Việc làm")) or Field(name="Việc làm", position=3)
        session.add_all([agency, field])
        session.flush()
        session.add(Procedure(code="1.000001", name="Cấp giấy phép lao động", agency_id=agency.id,
                              field_id=field.id))

        def pakn(n: int, **facts) -> Feedback:
            return Feedback(code=f"PAKN-{n}", agency_id=agency.id, state="handled" if facts.get("handled_at")
                            else "processing", **facts)

        session.add_all([
            # carried over from Q1, about a regulation of «Việc làm», handled in the period
            pakn(1, procedure_code="1.000001", classification="Quy định hành chính", sent_at=D(2022, 3, 1),
                 first_received_at=D(2022, 3, 2), handled_at=D(2022, 4, 1)),
            # new, about an officer's conduct, still pending at the cut-off
            pakn(2, procedure_code="1.000001", classification="Hành vi hành chính", sent_at=D(2022, 5, 10)),
            # new, unclassified (counts as about a regulation), no procedure, handled in the period
            pakn(3, sent_at=D(2022, 5, 20), handled_at=D(2022, 6, 10)),
            # handled before the period: not in it
            pakn(4, procedure_code="1.000001", sent_at=D(2022, 2, 1), handled_at=D(2022, 3, 1)),
            # received after the cut-off: not in it
            pakn(5, procedure_code="1.000001", sent_at=D(2022, 6, 20)),
            # received on the last evening, refused after the cut-off: pending at the cut-off
            pakn(6, procedure_code="1.000001", sent_at=D(2022, 6, 14, 23, 0), rejected_at=D(2022, 6, 16)),
        ])


def test_feedback_figures_from_records_by_field_on_both_engines(db_url):
    feedback_agency(db_url)
    agencies = [{"code": "SO-PAKN"}]
    result = feedback_figures(db_url, parse_period(Q2, "report"), agencies, {"feedback_received": 9})
    assert result["source"] == "records"  # the records win over the entered 9
    by_label = {r["label"]: r for r in result["rows"]}
    assert list(by_label) == ["Việc làm", "Chưa xác định lĩnh vực"]
    # received total, carried, new, regulation, conduct; handled total, reg., conduct; pending total, reg., conduct
    assert [by_label["Việc làm"][k] for k in FEEDBACK_KEYS] == [3, 1, 2, 2, 1, 1, 1, 0, 2, 1, 1]
    assert [by_label["Chưa xác định lĩnh vực"][k] for k in FEEDBACK_KEYS] == [1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0]
    assert [result["total"][k] for k in FEEDBACK_KEYS] == [4, 1, 3, 3, 1, 2, 2, 0, 2, 1, 1]


def test_feedback_figures_fall_back_to_the_entered_totals(db_url):
    period = parse_period(Q2, "report")
    entered = feedback_figures(db_url, period, [], {"feedback_received": 3, "feedback_handled": 2,
                                                     "feedback_pending": 1})
    assert entered["source"] == "entered" and entered["rows"] == []
    assert (entered["total"]["received_total"], entered["total"]["handled_total"],
            entered["total"]["pending_total"], entered["total"]["carried_over"]) == (3, 2, 1, None)
    assert feedback_figures(db_url, period, [], {})["source"] == "none"


def test_pakn_annex_is_form_ii05a_and_the_draft_cites_it(demo_copy):
    feedback_agency(demo_copy)
    report = build_report(demo_copy, Q2, agency="SO-PAKN")
    sheet = book_of(report)["II.05a"]
    assert sheet["A1"].value == "Biểu số II.05a/VPCP/KSTT"
    texts = [c for r in sheet.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert "TÌNH HÌNH, KẾT QUẢ TIẾP NHẬN, XỬ LÝ PHẢN ÁNH, KIẾN NGHỊ VỀ QUY ĐỊNH HÀNH CHÍNH" in texts
    assert "Đơn vị tính: Số phản ánh, kiến nghị" in texts
    top = row_of(sheet, "STT", 1)
    assert [sheet.cell(top, c).value for c in (3, 8)] == ["Số phản ánh, kiến nghị tiếp nhận", "Kết quả xử lý"]
    assert [sheet.cell(top + 1, c).value for c in (3, 4, 6, 8, 11)] == [
        "Tổng số", "Theo thời điểm tiếp nhận", "Theo nội dung", "Đã xử lý", "Đang xử lý"]
    assert [sheet.cell(top + 2, c).value for c in range(4, 14)] == [
        "Từ kỳ trước chuyển qua", "Mới tiếp nhận trong kỳ", "Về quy định hành chính", "Về hành vi hành chính",
        "Tổng số", "Về quy định hành chính", "Về hành vi hành chính", "Tổng số", "Về quy định hành chính",
        "Về hành vi hành chính"]
    assert [sheet.cell(top + 3, c).value for c in range(1, 14)] == [f"({n})" for n in range(1, 14)]
    assert counts(sheet, row_of(sheet, "Việc làm")) == [3, 1, 2, 2, 1, 1, 1, 0, 2, 1, 1]
    total = counts(sheet, row_of(sheet, "Tổng cộng"))
    assert total == [4, 1, 3, 3, 1, 2, 2, 0, 2, 1, 1]
    assert sheet.cell(row_of(sheet, "Tổng cộng"), 3).number_format == XLSX_INTEGER
    # the identities printed under the table hold
    assert total[0] == total[1] + total[2] == total[3] + total[4] == total[5] + total[8]
    assert total[5] == total[6] + total[7] and total[8] == total[9] + total[10]
    text = draft_text(report)
    assert ("đã tiếp nhận 4 phản ánh, kiến nghị (về quy định hành chính: 3; về hành vi hành chính: 1; từ kỳ "
            "trước chuyển qua: 1); đã xử lý 2; đang xử lý 2.\n(Có biểu số II.05a/VPCP/KSTT kèm theo)") in text
    # the records give the PAKN figures: the officer is not asked to type them
    assert not [m for m in report.missing() if m.startswith("Phản ánh, kiến nghị")]


def test_pakn_annex_of_the_demo_shows_the_entered_zeros(demo_url):
    report = build_report(demo_url, Q2, agency=REF_AGENCY)
    sheet = book_of(report)["II.05a"]
    total = counts(sheet, row_of(sheet, "Tổng cộng"))
    assert total == [0, None, None, None, None, 0, None, None, 0, None, None]  # entered totals, details blank
    assert any("tổng số do đơn vị nhập" in (c or "") for r in sheet.iter_rows(values_only=True) for c in r
               if isinstance(c, str))


# --- the notes sheet prints the deadline basis in force ----------------------------------------------

@pytest.mark.parametrize("basis", ["moment", "calendar_day"])
def test_notes_sheet_prints_the_deadline_basis_in_force(demo_copy, basis):
    if basis != "moment":
        set_counting_setting(demo_copy, "deadline_basis", basis)
    quality = data_quality(demo_copy, REF_AGENCY)
    assert quality["deadline_basis"] == basis
    report = build_report(demo_copy, Q2, agency=REF_AGENCY)
    sheet = book_of(report)["Ghi chú"]
    rows = {r[1]: r[2] for r in sheet.iter_rows(values_only=True) if r[0] is not None and r[1]}
    assert rows["Hồ sơ quá hạn"] == quality["deadline_basis_label"] == deadline_basis_label(basis)
    assert rows["Kỳ báo cáo"].startswith("Quý II năm 2022 (Từ ngày 15/03/2022 đến ngày 14/06/2022)")
    computed = dt.datetime.fromisoformat(report["computed_at"])
    assert rows["Thời điểm số liệu"] == f"Số liệu tính lúc {computed:%H:%M %d/%m/%Y} (chưa chốt) (giờ Việt Nam, UTC+7)."


def test_a_frozen_report_keeps_the_basis_it_was_signed_with(demo_copy):
    freeze(demo_copy, Q2, agency=REF_AGENCY, user="Lương Thị Hồng", today=TODAY)
    set_counting_setting(demo_copy, "deadline_basis", "calendar_day")
    report = build_report(demo_copy, Q2, agency=REF_AGENCY)
    assert report["deadline_basis"]["label"] == deadline_basis_label("moment")
    assert build_report(demo_copy, Q2, agency=REF_AGENCY, live=True)["deadline_basis"]["key"] == "calendar_day"


# --- the QĐ 766 sheet of a frozen quarter --------------------------------------------------------------

def qd766_rows(report) -> dict[str, list]:
    """``{indicator or group code: [numerator, denominator, rate, points, max]}`` and the total row."""
    sheet = book_of(report)[QD766_SHEET]
    rows = {}
    for r in sheet.iter_rows(min_row=6, values_only=True):
        if r[0] and r[0] != "Tổng điểm" and (r[1] or "") and r[5] is not None:
            rows[r[0]] = list(r[2:7])
        if r[0] == "Tổng điểm":
            rows["total"] = [r[5], r[6]]
            break
    return rows


def test_frozen_quarter_keeps_its_766_index_after_the_data_change(demo_copy):
    from test_reports import late_dossier  # a dossier of May 2022 imported after signing

    before = build_report(demo_copy, Q2, agency=REF_AGENCY)
    record = freeze(demo_copy, Q2, agency=REF_AGENCY, user="Lương Thị Hồng", today=TODAY)
    assert record.payload["index766"]["total"] == format(before.index766["total"], "f")
    for n in range(3):  # dossiers of the calendar quarter: the 766 denominators move
        late_dossier(demo_copy, code=f"SLDTBXH-LATE-{n:04d}")
    live = build_report(demo_copy, Q2, agency=REF_AGENCY, live=True)
    shown = build_report(demo_copy, Q2, agency=REF_AGENCY)
    assert live.index766["indicators"] != before.index766["indicators"]  # the data did move the index
    assert shown.index766["total"] == before.index766["total"] and shown.index766_note is None
    assert shown.index766["rules_version"] == before.index766["rules_version"]
    assert [(p["id"], p["numerator"], p["denominator"], p["rate"], p["points"])
            for p in shown.index766["indicators"]] == [
        (p["id"], p["numerator"], p["denominator"], p["rate"], p["points"]) for p in before.index766["indicators"]]
    frozen_sheet, live_sheet = qd766_rows(shown), qd766_rows(live)
    assert frozen_sheet == qd766_rows(before) and frozen_sheet != live_sheet
    sheet = book_of(shown)[QD766_SHEET]
    assert sheet["A4"].value.startswith("Số liệu đã chốt lúc") and sheet["A4"].value.endswith("Lương Thị Hồng")


def test_an_older_freeze_without_the_index_says_its_index_is_live(demo_copy):
    freeze(demo_copy, Q2, agency=REF_AGENCY, user="Lương Thị Hồng", today=TODAY)
    with get_engine(demo_copy).begin() as conn:  # a payload written before the index was stored
        payload = conn.scalar(select(FrozenReport.payload))
        del payload["index766"]
        conn.execute(update(FrozenReport).values(payload=payload))
    report = build_report(demo_copy, Q2, agency=REF_AGENCY)
    assert report.frozen and report.index766_note == INDEX766_NOT_FROZEN
    assert report.index766["total"] == build_report(demo_copy, Q2, agency=REF_AGENCY, live=True).index766["total"]
    assert book_of(report)[QD766_SHEET]["A4"].value == INDEX766_NOT_FROZEN


# --- percentages -------------------------------------------------------------------------------------

def test_percentages_have_the_literal_format_and_stay_numbers(demo_url):
    report = build_report(demo_url, Q2, agency=REF_AGENCY)
    book = book_of(report)
    sheet = book["Rà soát, đơn giản hóa"]
    ratio = sheet.cell(row_of(sheet, "Tổng cộng (2 TTHC)"), 8)
    assert ratio.value == pytest.approx(59.38) and ratio.number_format == XLSX_PERCENT
    rates = [r[4] for r in book[QD766_SHEET].iter_rows(min_row=6)
             if r[4].data_type == "n" and r[4].value is not None and not str(r[0].value).startswith("2.2")]
    assert rates and {c.number_format for c in rates} == {XLSX_PERCENT}


def test_one_percentage_is_written_alike_in_the_draft_and_on_the_pages(demo_url, monkeypatch):
    """«1,06 %»: the draft and the overview card print the report's online share through fmt_percent."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from test_pages import APP, metrics

    share = fmt_percent(build_report(demo_url, Q2, agency=REF_AGENCY)["kpis"]["online_share"])
    assert share == "1,06 %"
    text = draft_text(build_report(demo_url, Q2, agency=REF_AGENCY))
    assert f"đạt tỷ lệ {share};" in text
    assert not re.search(r"\d%", text)  # never «1,06%» anywhere in the draft
    monkeypatch.setenv("TTHC_DATABASE_URL", demo_url)
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"agency": REF_AGENCY, "period": Q2})
    at.run()
    assert not at.exception
    assert metrics(at)["Hồ sơ nộp trực tuyến"] == share
    st.cache_data.clear()


def test_a_frozen_pakn_annex_keeps_its_figures_and_the_diff_names_the_change(demo_copy):
    feedback_agency(demo_copy)
    freeze(demo_copy, Q2, agency="SO-PAKN", user="Nguyễn Văn A", today=TODAY)
    with Session(get_engine(demo_copy)) as session, session.begin():  # a PAKN of May entered after signing
        agency_id = session.scalar(select(Agency.id).where(Agency.code == "SO-PAKN"))
        session.add(Feedback(code="PAKN-LATE", agency_id=agency_id, sent_at=D(2022, 5, 30), state="processing"))
    report = build_report(demo_copy, Q2, agency="SO-PAKN")
    assert report["feedback"]["total"]["received_total"] == 4  # as signed; live data say 5
    assert build_report(demo_copy, Q2, agency="SO-PAKN", live=True)["feedback"]["total"]["received_total"] == 5
    changed = {(d["section"], d["label"]): (d["frozen"], d["live"]) for d in report.diff}
    assert changed[("II.05a", "PAKN tiếp nhận")] == (4, 5)
    assert changed[("II.05a", "PAKN đang xử lý về quy định hành chính")] == (1, 2)
    sheet = book_of(report)["II.05a"]
    assert counts(sheet, row_of(sheet, "Tổng cộng"))[0] == 4


def test_an_older_freeze_without_pakn_figures_shows_its_entered_totals_and_no_pakn_diff(demo_copy):
    freeze(demo_copy, Q2, agency=REF_AGENCY, user="Lương Thị Hồng", today=TODAY)
    with get_engine(demo_copy).begin() as conn:
        payload = conn.scalar(select(FrozenReport.payload))
        del payload["feedback"], payload["deadline_basis"]
        conn.execute(update(FrozenReport).values(payload=payload))
    report = build_report(demo_copy, Q2, agency=REF_AGENCY)
    assert report.frozen and report["feedback"]["source"] == "entered"
    assert report["feedback"]["total"]["received_total"] == 0
    assert report.diff == [] and report["deadline_basis"]["key"] == "moment"


def test_every_number_of_the_workbook_has_a_locale_proof_format_but_the_decimal_points(demo_url):
    """3.238 and 59,38 % whatever the reader's locale. The one exception, documented in exports/xlsx.py: a
    decimal that is not a percentage (the 766 points and maxima, an average of days) — a spreadsheet format
    can move decimal digits only by the percent sign's scaling."""
    book = book_of(build_report(demo_url, Q2, agency=REF_AGENCY))
    others = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type != "n" or cell.value is None:
                    continue
                if cell.number_format in (XLSX_INTEGER, XLSX_PERCENT) or (cell.number_format == "0"
                                                                           and cell.value < 1000):
                    continue
                others.append((sheet.title, cell.column_letter, cell.number_format))
    assert others and {(title, column) for title, column, _ in others} <= {
        (QD766_SHEET, "E"), (QD766_SHEET, "F"), (QD766_SHEET, "G")}, others
    assert {fmt for _, column, fmt in others if column == "E"} <= {"#,##0.00"}  # 2.2: days, not a percentage
