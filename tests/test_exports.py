"""The quarter's files: the Excel annexes read back with openpyxl, the Word draft with python-docx.

The workbook must say what the dashboard and ``python -m tthc_core stats --json`` say, cell by cell,
print on A4 landscape one page wide, and never turn a name into a formula.
"""
import copy
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from sqlalchemy import update

from tthc_core.db import get_engine
from tthc_core.demo import REF_AGENCY
from tthc_core.exports import docx_bytes, workbook_bytes, write_docx, write_workbook
from tthc_core.exports.xlsx import WARNING_SHEET
from tthc_core.formatting import XLSX_INTEGER, XLSX_PERCENT
from tthc_core.models import Field, Procedure
from tthc_core.checks import checks
from tthc_core.reports import build_report, save_simplifications
from tthc_core.stats import FORM_COLUMNS, compute_stats

ROOT = Path(__file__).resolve().parent.parent
Q2 = "2022-Q2"
SHEETS = ["II.06a", "II.07b", "TTHC", "4 tại chỗ", "Rà soát, đơn giản hóa", "II.05a", "Số liệu khác", "Ghi chú",
          "Chỉ số 766"]
REFERENCE_TOTAL_ROW = [3238, 32, 2999, 207, 2525, 288, 2237, 0, 713, 713, 0]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tthc_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def workbook_path(demo_url, tmp_path_factory) -> Path:
    """The SLDTBXH workbook of Q2/2022, written by the CLI as an officer would."""
    out = tmp_path_factory.mktemp("export") / "phu-luc.xlsx"
    result = cli("--db", demo_url, "export", "--period", Q2, "--agency", REF_AGENCY, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def book(workbook_path):
    return openpyxl.load_workbook(workbook_path)


def row_starting(sheet, first: str, column: int = 1):
    """The index of the first row whose cell in ``column`` (1-based) is ``first``."""
    for row in sheet.iter_rows():
        if row[column - 1].value == first:
            return row[0].row
    raise AssertionError(f"no row starting with {first!r} in {sheet.title}")


def total_row(sheet) -> int:
    """The total row: its label starts with «Tổng cộng» (the 4 tại chỗ one adds the count)."""
    return next(r[0].row for r in sheet.iter_rows() if str(r[1].value or "").startswith("Tổng cộng"))


def values(sheet, row: int, first_col: int, count: int) -> list:
    return [sheet.cell(row, c).value for c in range(first_col, first_col + count)]


def data_rows(sheet):
    """The rows between the column-number row and the total row: (row index, STT, label)."""
    start = row_starting(sheet, "(1)") + 1
    end = total_row(sheet)
    return [(r, sheet.cell(r, 1).value, sheet.cell(r, 2).value) for r in range(start, end)]


# --- structure and layout -------------------------------------------------------------------------

def test_one_sheet_per_annex(book):
    assert book.sheetnames == SHEETS


def test_form_06a_header_is_laid_out_like_the_official_form(book):
    sheet = book["II.06a"]
    assert sheet["A1"].value == "Biểu số II.06a/VPCP/KSTT"
    texts = [c for r in sheet.iter_rows(max_row=8, values_only=True) for c in r if c]
    assert "Kỳ báo cáo: Quý II năm 2022 (Từ ngày 15/03/2022 đến ngày 14/06/2022)" in texts
    assert "Đơn vị báo cáo: Sở Lao động - Thương binh và Xã hội" in texts
    assert "Đơn vị nhận báo cáo: Văn phòng UBND tỉnh" in texts
    assert "Đơn vị tính: Số hồ sơ TTHC" in texts
    top = row_starting(sheet, "STT")
    merged = {str(r) for r in sheet.merged_cells.ranges}
    h0, h1, h2 = top, top + 1, top + 2
    assert {f"A{h0}:A{h2}", f"B{h0}:B{h2}", f"C{h0}:F{h0}", f"G{h0}:J{h0}", f"K{h0}:M{h0}",
            f"C{h1}:C{h2}", f"D{h1}:E{h1}", f"F{h1}:F{h2}", f"G{h1}:G{h2}", f"M{h1}:M{h2}"} <= merged
    assert sheet[f"C{h0}"].value == "Số hồ sơ nhận giải quyết"
    assert sheet[f"D{h1}"].value == "Trong kỳ"
    assert (sheet[f"D{h2}"].value, sheet[f"E{h2}"].value) == ("Trực tuyến", "Trực tiếp và dịch vụ bưu chính")
    assert sheet[f"F{h1}"].value == "Từ kỳ trước"
    assert values(sheet, top + 3, 1, 13) == [f"({n})" for n in range(1, 14)]


def test_signature_block_and_fonts(book):
    sheet = book["II.06a"]
    texts = [c for r in sheet.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    # The signer of the agency profile (issue 12): title and name, place and the year of the period.
    for text in ("NGƯỜI LẬP BIỂU", "GIÁM ĐỐC", "Phạm Đức Huân", "(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)",
                 "Lạng Sơn, ngày     tháng     năm 2022"):
        assert text in texts
    assert not [t for t in texts if "…" in t]
    fonts = {c.font.name for r in sheet.iter_rows() for c in r if c.value is not None}
    assert fonts == {"Times New Roman"}
    total = total_row(sheet)
    assert sheet.cell(total, 3).border.left.style == "thin" and sheet.cell(total, 3).font.bold


def test_every_sheet_prints_on_a4_landscape_one_page_wide(book):
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert int(setup.paperSize) == 9, sheet.title  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert setup.fitToWidth in (None, 1) and int(setup.fitToHeight) == 0, sheet.title  # None: the default, 1
        assert sheet.print_title_rows, sheet.title  # header rows repeat on every page
        assert sheet.oddFooter.center.text == "Trang &P/&N", sheet.title


# --- figures ------------------------------------------------------------------------------------

def test_total_row_of_06a_is_the_reference_quarter(book):
    sheet = book["II.06a"]
    total = total_row(sheet)
    assert values(sheet, total, 3, 11) == REFERENCE_TOTAL_ROW


def test_every_number_of_06a_equals_the_stats_json(book, demo_url):
    result = cli("--db", demo_url, "stats", "--period", Q2, "--agency", REF_AGENCY, "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    sheet = book["II.06a"]
    rows = data_rows(sheet)
    assert [label for _, _, label in rows] == [r["label"] for r in stats["dossiers"]["rows"]]
    assert [number for _, number, _ in rows] == list(range(1, len(rows) + 1))
    for (index, _, _), expected in zip(rows, stats["dossiers"]["rows"]):
        assert values(sheet, index, 3, 11) == [expected[k] for k in FORM_COLUMNS]
    total = total_row(sheet)
    assert values(sheet, total, 3, 11) == [stats["dossiers"]["total"][k] for k in FORM_COLUMNS]


def test_numbers_are_numbers_with_a_thousands_format(book):
    sheet = book["II.06a"]
    total = total_row(sheet)
    for cell in sheet[total][2:13]:
        assert cell.data_type == "n" and isinstance(cell.value, int)
        assert cell.number_format == XLSX_INTEGER  # 3.238 whatever the reader's locale


def test_catalogue_sheets_carry_the_report_section_figures(book):
    catalogue = book["TTHC"]
    total = total_row(catalogue)
    # total, published, publicized, central, local, one-stop, liên thông, BCCI, online, lv3, lv4, toàn trình,
    # một phần, 4 tại chỗ
    assert values(catalogue, total, 3, 14) == [109, 109, 109, 109, 0, 56, 33, 98, 109, 30, 47, 47, 30, 16]
    one_stop = book["II.07b"]
    total = total_row(one_stop)
    assert values(one_stop, total, 3, 12) == [109, 92, 7, 10, 56, 48, 4, 4, 96, 81, 7, 8]
    four = book["4 tại chỗ"]
    assert len(data_rows(four)) == 16
    assert four.cell(total_row(four), 2).value == "Tổng cộng (16 TTHC)"


def test_simplification_sheet_has_the_ratio_of_the_sums(book):
    sheet = book["Rà soát, đơn giản hóa"]
    assert [label for _, _, label in data_rows(sheet)] == [
        "Trợ giúp xã hội khẩn cấp về hỗ trợ làm nhà ở, sửa chữa nhà ở",
        "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội"]
    total = total_row(sheet)
    before, after, cut, ratio = values(sheet, total, 5, 4)
    assert (before, after, cut) == (32, 13, 19)
    assert ratio == pytest.approx(59.38) and sheet.cell(total, 8).number_format == XLSX_PERCENT
    first_row = data_rows(sheet)[0][0]
    assert values(sheet, first_row, 5, 4) == [20, 8, 12, 60]


def test_feedback_and_other_inputs_sheets(book):
    sheet = book["II.05a"]  # the demo has no PAKN records: the entered totals (0, 0, 0), details blank
    assert sheet["A1"].value == "Biểu số II.05a/VPCP/KSTT"
    total = total_row(sheet)
    assert values(sheet, total, 3, 11) == [0, None, None, None, None, 0, None, None, 0, None, None]
    other = book["Số liệu khác"]
    assert other.cell(row_starting(other, 1), 3).value == 35000000


def test_whole_province_gets_06b_with_level_subtotals_that_add_up(demo_url, tmp_path):
    path = write_workbook(build_report(demo_url, Q2), tmp_path / "tinh.xlsx")
    sheet = openpyxl.load_workbook(path)["II.06b"]
    assert sheet["A1"].value == "Biểu số II.06b/VPCP/KSTT"
    start = row_starting(sheet, "(1)") + 1
    end = total_row(sheet)
    groups: dict[str, list] = {}
    subtotals: dict[str, list] = {}
    current = None
    for r in range(start, end):
        number, label = sheet.cell(r, 1).value, sheet.cell(r, 2).value
        if number in ("I", "II", "III"):
            current = label
            subtotals[label] = values(sheet, r, 3, 11)
            groups[label] = []
        else:
            groups[current].append(values(sheet, r, 3, 11))
    assert list(subtotals) == ["Cấp tỉnh", "Cấp huyện", "Cấp xã"]
    for label, rows in groups.items():
        assert [sum(col) for col in zip(*rows)] == subtotals[label]
    grand = values(sheet, end, 3, 11)
    assert [sum(col) for col in zip(*subtotals.values())] == grand
    stats_total = compute_stats(demo_url, Q2)["dossiers"]["total"]
    assert grand == [stats_total[k] for k in FORM_COLUMNS]


# --- safety -------------------------------------------------------------------------------------

def test_names_that_look_like_formulas_stay_text(demo_copy, tmp_path):
    hostile = ['=HYPERLINK("http://example.invalid","bấm")', "+1", "@x", "-2"]
    engine = get_engine(demo_copy)
    with engine.begin() as conn:
        conn.execute(update(Field).where(Field.name == "Việc làm").values(name=hostile[0]))
        codes = conn.scalars(Procedure.__table__.select().with_only_columns(Procedure.code)
                             .where(Procedure.four_on_site.is_(True)).order_by(Procedure.code).limit(3)).all()
        for code, name in zip(codes, hostile[1:]):
            conn.execute(update(Procedure).where(Procedure.code == code).values(name=name))
    assert save_simplifications(demo_copy, REF_AGENCY, Q2, [
        {"procedure_name": "=1+1", "authority_level": "Cấp xã", "days_before": 10, "days_after": 5}]) == []
    book = openpyxl.load_workbook(write_workbook(build_report(demo_copy, Q2, agency=REF_AGENCY), tmp_path / "x.xlsx"))
    cells = {c.value: c for sheet in book.worksheets for r in sheet.iter_rows() for c in r
             if isinstance(c.value, str)}
    for text in [*hostile, "=1+1"]:
        assert text in cells, text
        assert cells[text].data_type == "s" and cells[text].quotePrefix, text
    assert not [c for sheet in book.worksheets for r in sheet.iter_rows() for c in r if c.data_type == "f"]


def test_an_unbalanced_workbook_opens_on_a_red_warning_sheet(demo_url):
    report = copy.deepcopy(build_report(demo_url, Q2, agency=REF_AGENCY))
    report.figures["dossiers"]["total"]["resolved_total"] = 3525  # as the reference report printed it
    report.checks = checks(report.figures)
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report)))
    assert book.sheetnames[0] == WARNING_SHEET
    warning = book[WARNING_SHEET]
    assert warning.sheet_properties.tabColor.rgb.endswith("FF0000")
    messages = [c for r in warning.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any("3.525" in m and "2.525" in m for m in messages)


def test_cli_prints_nothing_alarming_and_writes_both_files(demo_url, tmp_path):
    xlsx, docx = tmp_path / "a.xlsx", tmp_path / "b.docx"
    result = cli("--db", demo_url, "export", "--period", Q2, "--agency", REF_AGENCY, "--out", str(xlsx),
                 "--docx", str(docx))
    assert result.returncode == 0, result.stderr
    assert xlsx.stat().st_size > 0 and docx.stat().st_size > 0
    assert openpyxl.load_workbook(xlsx).sheetnames == SHEETS


# --- Word draft ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def draft(demo_url) -> str:
    document = Document(io.BytesIO(docx_bytes(build_report(demo_url, Q2, agency=REF_AGENCY))))
    return "\n".join(p.text for p in document.paragraphs)


def test_docx_key_sentences_carry_the_reference_figures(draft):
    for sentence in (
        "quý II năm 2022",
        "năm 2022 kinh phí hoạt động Kiểm soát TTHC là 35.000.000đ.",
        "- Tổng số TTHC được công bố 109; trong đó số TTHC được công khai 109.",
        "- Tổng số TTHC thuộc thẩm quyền giải quyết của cơ quan, đơn vị: 109; trong đó:",
        "+ Số TTHC do Trung ương quy định: 109 thủ tục.",
        "+ Số TTHC do địa phương quy định: 0 thủ tục.",
        "+ Số lượng TTHC thực hiện theo cơ chế một cửa: 56 thủ tục.",
        "+ Số lượng TTHC thực hiện theo cơ chế một cửa liên thông: 33 thủ tục.",
        "+ Số lượng TTHC thực hiện qua dịch vụ bưu chính công ích: 98 thủ tục.",
        "+ Số lượng TTHC thực hiện qua dịch vụ công trực tuyến: 109 thủ tục.",
        "Trong đó có 30 TTHC mức độ 3, 47 TTHC mức độ 4.",
        "tổng số thủ tục hành chính cắt giảm thời hạn giải quyết: 02 thủ tục hành chính cấp xã; "
        "tổng thời gian cắt giảm: 19/32 ngày, tỷ lệ cắt giảm 59,38 %.",
        "chưa nhận được phản ánh kiến nghị nào",
        "- Tổng số hồ sơ TTHC đã tiếp nhận trong kỳ báo cáo 3.238, trong đó: Số mới tiếp nhận trong kỳ: 3.031 "
        "(trực tuyến: 32; trực tiếp và qua dịch vụ bưu chính: 2.999); số từ kỳ trước chuyển qua: 207 hồ sơ.",
        "- Số lượng hồ sơ đã giải quyết: 2.525; trong đó, giải quyết trước hạn: 288, đúng hạn: 2.237, quá hạn: 0.",
        "- Số lượng hồ sơ đang giải quyết: 713; trong đó, trong hạn: 713, quá hạn: 0.",
        "(Có biểu số II.06a/VPCP/KSTT kèm theo)",
        "thực hiện “4 tại chỗ” đối với 16 TTHC thuộc các lĩnh vực Người có công, Bảo trợ xã hội, Việc làm",
        "kết quả tự đánh giá chấm điểm đều xếp loại tốt.",
        "I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH",
        "II. TÌNH HÌNH VÀ KẾT QUẢ THỰC HIỆN CÔNG TÁC KIỂM SOÁT TTHC",
        "III. ĐÁNH GIÁ CHUNG",
        "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ TRONG THỜI GIAN TỚI",
    ):
        assert sentence in draft, sentence


def test_docx_is_times_new_roman_a4_with_a_signature(demo_url):
    document = Document(io.BytesIO(docx_bytes(build_report(demo_url, Q2, agency=REF_AGENCY))))
    assert document.styles["Normal"].font.name == "Times New Roman"
    section = document.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert any("GIÁM ĐỐC" in c for c in cells) and any("Nơi nhận:" in c for c in cells)
    assert "BÁO CÁO" in [p.text for p in document.paragraphs]


def test_docx_after_august_2022_speaks_of_toan_trinh_and_mot_phan(demo_url, tmp_path):
    path = write_docx(build_report(demo_url, "2022-Q4", agency=REF_AGENCY), tmp_path / "q4.docx")
    text = "\n".join(p.text for p in Document(path).paragraphs)
    assert "TTHC dịch vụ công trực tuyến toàn trình" in text and "42/2022/NĐ-CP" in text
    assert "mức độ 4 tương ứng toàn trình, mức độ 3 tương ứng một phần" in text


# --- chart pack ---------------------------------------------------------------------------------

def test_chart_pack_is_a_zip_of_pngs_or_explains_why_not(demo_url):
    from tthc_core.exports.chartpack import chart_pack_available, chart_pack_zip

    available, reason = chart_pack_available()
    if not available:
        assert reason  # the page shows this instead of the button
        pytest.skip(reason)
    pack = zipfile.ZipFile(io.BytesIO(chart_pack_zip(build_report(demo_url, Q2, agency=REF_AGENCY))))
    names = pack.namelist()
    assert len(names) == 6 and all(n.endswith(".png") for n in names)
    assert all(pack.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_chart_pack_explains_a_missing_browser(monkeypatch):
    pytest.importorskip("kaleido")
    from choreographer.browsers.chromium import Chromium

    from tthc_core.exports import chartpack

    monkeypatch.setattr(Chromium, "find_browser", classmethod(lambda cls, **kw: None))
    available, reason = chartpack.chart_pack_available()
    assert not available and "Chromium" in reason and "BROWSER_PATH" in reason
    with pytest.raises(chartpack.ChartPackError):
        chartpack.chart_pack_zip(None)
