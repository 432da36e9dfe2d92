"""Issue 12: a quarterly report ready to sign — profile, narrative, true sentences, NĐ 30 form, locale-proof
numbers and Vietnam-time stamps. Figures are the reference quarter's (3.238 / 2.525 / 713) and Q3/2022's
308 late dossiers, as the demo builds them."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess

import openpyxl
import pytest
from docx import Document

from tthc_core.__main__ import main
from tthc_core.demo import REF_AGENCY
from tthc_core.exports import docx_bytes, workbook_bytes
from tthc_core.exports.chartpack import chart_figures
from tthc_core.formatting import fmt_int, fmt_percent, vietnam_now
from tthc_core.reports import (
    build_report,
    freeze,
    load_narrative,
    load_profile,
    save_narrative,
    save_profile,
    save_report_inputs,
)
from tthc_core.stats import FORM_COLUMNS, compute_stats

Q2, Q3 = "2022-Q2", "2022-Q3"
TODAY = dt.date(2026, 11, 27)
GAP = "……"


def draft_of(report) -> Document:
    return Document(io.BytesIO(docx_bytes(report)))


def body(document: Document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


def cells(document: Document) -> list[str]:
    return [c.text for t in document.tables for row in t.rows for c in row.cells]


@pytest.fixture(scope="module")
def q2_draft(demo_url, tmp_path_factory) -> Document:
    """``export --period 2022-Q2 --agency SLDTBXH --docx`` on the demo, run as the CLI runs it."""
    out = tmp_path_factory.mktemp("draft") / "x.docx"
    assert main(["--db", demo_url, "export", "--period", Q2, "--agency", REF_AGENCY, "--docx", str(out)]) == 0
    return Document(out)


# --- the demo draft of Q2/2022 needs no hand edit ---------------------------------------------------

def test_demo_draft_has_no_gap_and_nothing_missing(q2_draft, demo_url):
    everything = body(q2_draft) + "\n".join(cells(q2_draft))
    assert GAP not in everything and "…" not in everything
    assert "Ghi chú khi soạn thảo" not in everything  # nothing to enter, nothing unbalanced
    assert build_report(demo_url, Q2, agency=REF_AGENCY).missing() == []


def test_every_figure_of_the_draft_equals_the_stats_json(q2_draft, demo_url):
    total = compute_stats(demo_url, Q2, agency=REF_AGENCY)["dossiers"]["total"]
    assert [total[k] for k in FORM_COLUMNS] == [3238, 32, 2999, 207, 2525, 288, 2237, 0, 713, 713, 0]
    text = body(q2_draft)
    n = {k: fmt_int(v) for k, v in total.items()}
    new = fmt_int(total["received_online"] + total["received_offline"])
    for sentence in (
        f"Tổng số hồ sơ TTHC đã tiếp nhận trong kỳ báo cáo {n['received_total']}, trong đó: Số mới tiếp nhận trong "
        f"kỳ: {new} (trực tuyến: {n['received_online']}; trực tiếp và qua dịch vụ bưu chính: "
        f"{n['received_offline']}); số từ kỳ trước chuyển qua: {n['carried_over']} hồ sơ.",
        f"Số lượng hồ sơ đã giải quyết: {n['resolved_total']}; trong đó, giải quyết trước hạn: {n['resolved_early']}, "
        f"đúng hạn: {n['resolved_on_time']}, quá hạn: {n['resolved_late']}.",
        f"Số lượng hồ sơ đang giải quyết: {n['pending_total']}; trong đó, trong hạn: {n['pending_in_time']}, quá hạn: "
        f"{n['pending_overdue']}.",
        f"số hồ sơ tiếp nhận qua dịch vụ bưu chính công ích: {n['received_postal']} hồ sơ.",
    ):
        assert sentence in text, sentence
    assert "Tổng số hồ sơ TTHC đã tiếp nhận trong kỳ báo cáo 3.238, trong đó: Số mới tiếp nhận trong kỳ: 3.031" in text
    # "1,06 %" is written as the pages write it (formatting.fmt_percent), not "1,06%".
    share = fmt_percent(build_report(demo_url, Q2, agency=REF_AGENCY)["kpis"]["online_share"])
    assert share == "1,06 %" and f"đạt tỷ lệ {share};" in text


def test_seed_sections_come_in_order(q2_draft):
    paragraphs = [p.text for p in q2_draft.paragraphs]
    headings = ["I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH", "II. TÌNH HÌNH VÀ KẾT QUẢ THỰC HIỆN", "III. ĐÁNH GIÁ CHUNG",
                "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ TRONG THỜI GIAN TỚI"]
    positions = [next(i for i, p in enumerate(paragraphs) if p.startswith(h)) for h in headings]
    assert positions == sorted(positions)
    part_two = paragraphs[positions[1]:positions[2]]
    numbered = [int(m.group(1)) for p in part_two if (m := re.match(r"^(\d+)\. [A-ZĐÀ-Ỹ]", p))]
    assert numbered == list(range(1, 12))  # 1…11 without the seed's missing 11
    assert not any(p.startswith("V. ") for p in paragraphs)  # no proposals in the seed


def test_seed_facts_come_from_the_profile_and_the_narrative(q2_draft):
    text = body(q2_draft)
    for sentence in (
        "Thực hiện Văn bản số 2445/VP-TTPVHCC ngày 03/6/2022 của Văn phòng UBND tỉnh",
        "Thực hiện Kế hoạch số 254/KH-UBND ngày 27/12/2021 của Ủy ban nhân dân tỉnh Lạng Sơn",
        "đã ban hành Kế hoạch số 03/KH-SLĐTBXH ngày 07/01/2022",
        "Ủy ban nhân dân tỉnh Lạng Sơn ban hành Quyết định số 90/QĐ-UBND ngày 11/01/2022",
        "gồm: Ông Phạm Đức Huân, Giám đốc Sở; Bà Lương Thị Hồng, Công chức Văn phòng Sở.",
        "Quyết định số 20/2013/QĐ-UBND ngày 31/08/2013",
        "đối với 03 TTHC cấp tỉnh, 03 TTHC cấp huyện và 01 TTHC cấp xã.",
        "Thực hiện theo quy định tại Quyết định số 1517/QĐ-UBND ngày 09/8/2019",
        "kết quả tự đánh giá chấm điểm đều xếp loại tốt.",
        "Kế hoạch số 18/KH-LĐTĐ ngày 18/02/2022",
        "hồ sơ TTHC được giải quyết đúng thời hạn.",  # true: nothing late in Q2/2022
    ):
        assert sentence in text, sentence
    assert "18/18" not in text  # the seed gives no score; the old demo invented one


def test_header_and_signature_follow_nd30_from_the_profile(q2_draft):
    left, right = cells(q2_draft)[:2]
    assert left.split("\n")[:2] == ["UBND TỈNH LẠNG SƠN", "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"]
    assert re.search(r"Số: +/BC-SLĐTBXH$", left)
    assert right.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc")
    assert re.search(r"Lạng Sơn, ngày +tháng +năm 2022$", right)
    xml = q2_draft.element.xml
    assert xml.count("<w:pBdr>") >= 3  # rules under the agency, the motto and the summary
    assert 'w:instr="PAGE"' in q2_draft.sections[0].header._element.xml
    assert q2_draft.sections[0].different_first_page_header_footer  # numbers from page 2
    recipients, signer = cells(q2_draft)[-2:]
    assert recipients.startswith("Nơi nhận:\n- Văn phòng UBND tỉnh;") and recipients.endswith("- Lưu: VT.")
    assert [line for line in signer.split("\n") if line] == ["GIÁM ĐỐC", "Phạm Đức Huân"]


def test_province_draft_is_the_ubnd_tinh_to_the_government_office(demo_url):
    document = draft_of(build_report(demo_url, Q2))
    left = cells(document)[0]
    assert left.startswith("ỦY BAN NHÂN DÂN TỈNH LẠNG SƠN") and left.endswith("/BC-UBND")
    text = body(document)
    assert "Ủy ban nhân dân tỉnh Lạng Sơn báo cáo Văn phòng Chính phủ kết quả" in text
    signer = cells(document)[-1]
    assert signer.split("\n")[:2] == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
    assert "THỦ TRƯỞNG ĐƠN VỊ" not in signer and GAP not in text
    assert "- Văn phòng Chính phủ (Cục Kiểm soát TTHC);" in cells(document)[-2]
    # The seed names no chairman: the draft leaves the name out and says so in the editor notes.
    assert "- Họ tên người ký" in text


def test_export_says_what_the_draft_left_out(demo_url, tmp_path, capsys):
    assert main(["--db", demo_url, "export", "--period", Q3, "--agency", REF_AGENCY, "--docx",
                 str(tmp_path / "q3.docx")]) == 0
    err = capsys.readouterr().err
    assert "CHƯA NHẬP: Văn bản yêu cầu báo cáo (số, ngày, cơ quan, trích yếu): chưa nhập" in err
    assert "CHƯA NHẬP: III.2. Khó khăn, vướng mắc: lấy từ quý II năm 2022, chưa xác nhận" in err


# --- sentences true for the figures --------------------------------------------------------------

def test_a_quarter_with_late_dossiers_names_them_and_never_claims_all_on_time(demo_url):
    report = build_report(demo_url, Q3, agency=REF_AGENCY)
    total = report["dossiers"]["total"]
    late_total, overdue = total["resolved_late"], total["pending_overdue"]
    # Q3/2022 of the demo has late dossiers (the seed's late ones, judged with the supplement rounds the
    # national fields add) and overdue ones: the figures come from the stats the draft is built on.
    assert late_total > 0 and overdue > 0
    assert late_total == compute_stats(demo_url, Q3, agency=REF_AGENCY)["dossiers"]["total"]["resolved_late"]
    text = body(draft_of(report))
    assert f"quá hạn: {fmt_int(late_total)}." in text
    late = {r["label"]: r["resolved_late"] for r in report["dossiers"]["rows"] if r["resolved_late"]}
    assert sum(late.values()) == late_total
    listed = ", ".join(f"{label} ({n})" for label, n in sorted(late.items(), key=lambda kv: (-kv[1], kv[0])))
    assert f"Có {fmt_int(late_total)} hồ sơ giải quyết quá hạn, thuộc các lĩnh vực: {listed}." in text
    assert "Việc làm (" in listed
    assert f"Có {fmt_int(overdue)} hồ sơ đang giải quyết quá hạn" in text
    assert "đúng thời hạn" not in text
    assert f"tỷ lệ hồ sơ TTHC giải quyết trước hạn, đúng hạn đạt {fmt_percent(report['kpis']['on_time_rate'])}" in text


def test_online_services_counted_by_the_class_in_force_on_the_periods_end(demo_url):
    before = body(draft_of(build_report(demo_url, Q2, agency=REF_AGENCY)))
    after = body(draft_of(build_report(demo_url, Q3, agency=REF_AGENCY)))  # ends 14/09/2022, NĐ 42/2022 in force
    assert "+ Số lượng TTHC thực hiện qua dịch vụ công trực tuyến: 109 thủ tục." in before
    assert "Trong đó có 30 TTHC mức độ 3, 47 TTHC mức độ 4." in before
    assert "+ Số lượng TTHC thực hiện qua dịch vụ công trực tuyến: 77 thủ tục." in after
    assert "109 thủ tục" not in after.split("dịch vụ công trực tuyến:")[1][:20]
    assert "47 TTHC dịch vụ công trực tuyến toàn trình, 30 TTHC dịch vụ công trực tuyến một phần" in after


def test_feedback_sentences_follow_the_inputs(demo_copy):
    assert "chưa nhận được phản ánh kiến nghị nào" in body(draft_of(build_report(demo_copy, Q2, agency=REF_AGENCY)))
    assert save_report_inputs(demo_copy, REF_AGENCY, Q3, {"feedback_received": "3", "feedback_handled": "2",
                                                          "feedback_pending": "1"}) == []
    text = body(draft_of(build_report(demo_copy, Q3, agency=REF_AGENCY)))
    assert ("Trong quý III năm 2022, Sở Lao động - Thương binh và Xã hội tỉnh Lạng Sơn đã tiếp nhận 3 phản ánh, "
            "kiến nghị về quy định hành chính; đã xử lý 2; đang xử lý 1.") in text
    assert "chưa nhận được phản ánh" not in text
    # Q4 has no feedback figures at all: the sentence is left out rather than invented.
    q4 = body(draft_of(build_report(demo_copy, "2022-Q4", agency=REF_AGENCY)))
    assert "phản ánh, kiến nghị về quy định hành chính;" not in q4 and "chưa nhận được phản ánh" not in q4


# --- narrative carried over until confirmed ------------------------------------------------------

def test_narrative_is_carried_from_the_previous_quarter_until_confirmed(demo_copy):
    entries = load_narrative(demo_copy, REF_AGENCY, Q3)
    assert entries["difficulties"].carried_from == "Quý II năm 2022" and entries["difficulties"].text
    assert entries["reviews_province"].value == 3 and not entries["reviews_province"].confirmed
    # The requesting document is new every quarter: never carried over (it would cite Q2's request).
    assert entries["request_document"].value is None and entries["request_document"].carried_from == ""
    missing = build_report(demo_copy, Q3, agency=REF_AGENCY).missing()
    assert "III.2. Khó khăn, vướng mắc: lấy từ quý II năm 2022, chưa xác nhận" in missing
    assert "Văn bản yêu cầu báo cáo (số, ngày, cơ quan, trích yếu): chưa nhập" in missing

    assert save_narrative(demo_copy, REF_AGENCY, Q3, {"difficulties": "Thiếu nhân lực.", "reviews_province": "x"}) \
        and load_narrative(demo_copy, REF_AGENCY, Q3)["difficulties"].carried_from  # all or nothing
    assert save_narrative(demo_copy, REF_AGENCY, Q3, {"difficulties": "Thiếu nhân lực.", "reviews_province": "0",
                                                      "request_document": "Văn bản số 1/VP ngày 01/9/2022"}) == []
    entries = load_narrative(demo_copy, REF_AGENCY, Q3)
    assert entries["difficulties"].confirmed and entries["difficulties"].text == "Thiếu nhân lực."
    assert entries["reviews_province"].value == 0
    text = body(draft_of(build_report(demo_copy, Q3, agency=REF_AGENCY)))
    assert text.count("Thiếu nhân lực.") == 1 and "Thực hiện Văn bản số 1/VP ngày 01/9/2022." in text
    assert "03 TTHC cấp tỉnh" not in text and "03 TTHC cấp huyện" in text  # carried district count still shown


# --- the profile ---------------------------------------------------------------------------------

def test_profile_round_trip_and_problems_on_both_engines(db_url):
    assert load_profile(db_url, None).signer_authority == "TM. ỦY BAN NHÂN DÂN"  # the rule, before any input
    problems = save_profile(db_url, None, {"symbol": "ub nd", "documents": [
        {"role": "direction", "number": "KH 5", "date": "31/02/2022"}], "colour": "đỏ"})
    assert {(p.line, p.column) for p in problems} >= {("Văn bản 1", "Số, ký hiệu"), ("Văn bản 1", "Ngày ban hành"),
                                                       ("«colour»", "")}
    assert load_profile(db_url, None).symbol == "UBND"  # nothing written
    assert save_profile(db_url, None, {"province": "Lạng Sơn", "signer_name": "Nguyễn Văn A",
                                       "focal_officers": "Ông A, Chánh Văn phòng\n\nBà B, chuyên viên",
                                       "documents": [{"role": "direction", "number": "254/KH-UBND",
                                                      "date": "27/12/2021", "issuer": "UBND tỉnh",
                                                      "subject": "về kiểm soát TTHC năm 2022"}]}) == []
    profile = load_profile(db_url, None)
    assert profile.full_name == "Ủy ban nhân dân tỉnh Lạng Sơn" and profile.signer_name == "Nguyễn Văn A"
    assert profile.focal_officers == ["Ông A, Chánh Văn phòng", "Bà B, chuyên viên"]
    assert profile.cited("direction")[0].citation() == ("Kế hoạch số 254/KH-UBND ngày 27/12/2021 của UBND tỉnh về "
                                                        "kiểm soát TTHC năm 2022")


def test_profile_cli_show_and_set(db_url, capsys):
    assert main(["--db", db_url, "profile", "set", "province=Lạng Sơn", "symbol=UBND",
                 "recipients=Văn phòng Chính phủ|Lưu: VT"]) == 0
    capsys.readouterr()
    assert main(["--db", db_url, "profile", "show"]) == 0
    out = capsys.readouterr()
    assert '"recipients": [\n    "Văn phòng Chính phủ",\n    "Lưu: VT"\n  ]' in out.out
    assert "Còn thiếu: Họ tên người ký" in out.err
    assert main(["--db", db_url, "profile", "set", "symbol"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


# --- the chart pack of a frozen quarter ----------------------------------------------------------

def test_frozen_quarter_charts_show_the_frozen_figures(demo_copy):
    from test_reports import late_dossier  # the dossier imported after signing

    freeze(demo_copy, Q2, agency=REF_AGENCY, user="Lương Thị Hồng", today=TODAY)
    late_dossier(demo_copy)
    report = build_report(demo_copy, Q2, agency=REF_AGENCY)
    live = build_report(demo_copy, Q2, agency=REF_AGENCY, live=True)
    assert report.frozen and live["dossiers"]["total"]["received_total"] == 3239
    figures = dict(chart_figures(report))
    donut = figures["02-kenh-tiep-nhan.png"].data[0]
    assert sum(donut.values) == 3031  # the frozen new dossiers, not the live 3.032
    trend = figures["04-xu-huong-theo-thang.png"].data[0]  # new dossiers per month, frozen
    assert list(trend.y) == [c["received_online"] + c["received_offline"] for _, c in report.trend]
    assert report.trend != live.trend


# --- numbers and times that do not depend on the reader's machine ---------------------------------

def test_stamps_are_vietnam_time():
    utc = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs((vietnam_now() - utc) - dt.timedelta(hours=7)) < dt.timedelta(minutes=1)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_workbook_in_an_english_libreoffice_shows_3238_and_a_vietnam_stamp(demo_url, tmp_path):
    report = build_report(demo_url, Q2, agency=REF_AGENCY)
    path = tmp_path / "phu-luc.xlsx"
    path.write_bytes(workbook_bytes(report))
    book = openpyxl.load_workbook(path)
    assert any(c.value == 3238 and c.data_type == "n" for row in book["II.06a"].iter_rows() for c in row)
    ratio = next(c for row in book["Rà soát, đơn giản hóa"].iter_rows() for c in row if c.value == 59.38)
    assert ratio.data_type == "n"  # still numeric: 59.38, shown 59,38 %
    # Token 9 "true": export cells as shown; 1033: en-US, whatever the machine's locale; -1: every sheet,
    # one file each (phu-luc-<sheet>.csv). C.UTF-8 (LibreOffice's en-US) lets it write the sheets' Vietnamese
    # names; en_US.UTF-8 need not be installed (Debian's minimal images have only C and C.UTF-8).
    filter_options = "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,true,false,false,-1"
    env = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                    filter_options, "--outdir", str(tmp_path), str(path)], env=env, check=True, timeout=180,
                   capture_output=True)

    def shown(sheet: str) -> list[list[str]]:
        return list(csv.reader((tmp_path / f"phu-luc-{sheet}.csv").read_text(encoding="utf-8").splitlines()))

    def total_of(rows: list[list[str]]) -> list[str]:
        return next(r for r in rows if len(r) > 1 and r[1].startswith("Tổng cộng"))

    rows = shown("II.06a")
    assert total_of(rows)[2:13] == ["3.238", "32", "2.999", "207", "2.525", "288", "2.237", "0", "713", "713", "0"]
    stamp = next(c for r in rows for c in r if c.startswith("Số liệu tính lúc"))
    computed = dt.datetime.fromisoformat(report["computed_at"])
    assert stamp == f"Số liệu tính lúc {computed:%H:%M %d/%m/%Y} (chưa chốt)."
    assert abs(computed - vietnam_now()) < dt.timedelta(minutes=10)  # Vietnam time, not the server's UTC
    # Percentages: 59,38 % (the simplification ratio), the 766 rates; no English «59.38».
    assert total_of(shown("Rà soát, đơn giản hóa"))[-2:] == ["59,38 %", ""]
    index_rows = shown("Chỉ số 766")
    index_rows = index_rows[:next(i for i, r in enumerate(index_rows) if r[0] == "Tổng điểm") + 1]  # not the hints
    by_id = {p["id"]: p for p in report.index766["indicators"]}
    rated = [(r[0], r[4]) for r in index_rows if r[0] in by_id and by_id[r[0]]["rate"] is not None
             and not by_id[r[0]]["info"]]
    assert rated and all(text == fmt_percent(by_id[code]["rate"]) for code, text in rated), rated
    # The locale is English: a decimal with an ordinary format (a 766 point) shows a decimal point.
    total_points = next(r for r in index_rows if r[0] == "Tổng điểm")[5]
    assert total_points == f"{report.index766['total']:.2f}" and "." in total_points
    counted = [(r[0], r[3]) for r in index_rows if r[0] in by_id and isinstance(by_id[r[0]]["denominator"], int)]
    assert counted and all(text == fmt_int(by_id[code]["denominator"]) for code, text in counted), counted
    assert any(int(by_id[code]["denominator"]) >= 1000 for code, _ in counted)  # a grouped 3.238-like count
    notes = shown("Ghi chú")
    assert any(r[2] == f"Số liệu tính lúc {computed:%H:%M %d/%m/%Y} (chưa chốt) (giờ Việt Nam, UTC+7)." for r in notes
               if len(r) > 2)


def test_narrative_carries_over_and_confirms_on_both_engines(db_url):
    assert save_narrative(db_url, "SO-A", "2023-Q1", {"communication": "Tuyên truyền qua họp giao ban.",
                                                      "reviews_commune": "2", "request_document": "Văn bản số 9/VP"}) == []
    later = load_narrative(db_url, "SO-A", "2023-Q3")  # nothing stored in Q2 or Q3: carried from Q1
    assert (later["communication"].text, later["communication"].carried_from) == ("Tuyên truyền qua họp giao ban.",
                                                                                  "Quý I năm 2023")
    assert later["reviews_commune"].value == 2 and later["request_document"].value is None
    assert load_narrative(db_url, None, "2023-Q3")["communication"].value is None  # the province's own texts
    assert save_narrative(db_url, "SO-A", "2023-Q3", {"communication": ""}) == []  # confirmed: nothing to report
    confirmed = load_narrative(db_url, "SO-A", "2023-Q3")["communication"]
    assert confirmed.confirmed and confirmed.text == ""
