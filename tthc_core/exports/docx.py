"""The Word draft of the quarterly KSTT report, for the officer to edit before signing.

Follows the structure and wording of the reference report (Sở LĐTBXH Lạng Sơn, quý II năm 2022):
I. chỉ đạo, điều hành; II. tình hình và kết quả (công bố, công khai; rà soát; phản ánh, kiến nghị;
kết quả giải quyết; một cửa and "4 tại chỗ"; môi trường điện tử); III. đánh giá chung; IV. phương
hướng. Figures come from :func:`tthc_core.reports.report_figures` and are formatted by
:mod:`tthc_core.formatting` (``3.238``, ``59,38%``); "……" marks what only the officer can write.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..formatting import fmt_int, fmt_number, fmt_percent
from ..reports import QuarterReport, frozen_note
from ..stats import LEVEL_LABELS

FONT = "Times New Roman"
BODY_PT = 14
GAP = "……"
LONG_TITLE = ("Tình hình, kết quả thực hiện công tác kiểm soát thủ tục hành chính; cải cách thủ tục hành "
              "chính; thực hiện cơ chế một cửa, một cửa liên thông và thực hiện thủ tục hành chính trên môi "
              "trường điện tử")
EDITOR_RED = RGBColor(0xC0, 0x00, 0x00)


class Bold(str):
    """A part of a paragraph printed in bold (as the reference prints 02 and 59,38%)."""


# --------------------------------------------------------------------------------------------
# Document plumbing
# --------------------------------------------------------------------------------------------

def _new_document() -> Document:
    doc = Document()
    section = doc.sections[0]
    # A4, margins of NĐ 30/2020 (top/bottom 2 cm, left 3 cm, right 1,5 cm).
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.element.rPr.rFonts.set(qn("w:cs"), FONT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    return doc


def _para(doc_or_cell, *parts: str, bold: bool = False, italic: bool = False, align: str = "justify",
          indent: bool = True, size: int | None = None, color: RGBColor | None = None):
    paragraph = doc_or_cell.add_paragraph()
    paragraph.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                           "left": WD_ALIGN_PARAGRAPH.LEFT}[align]
    if indent and align == "justify":
        paragraph.paragraph_format.first_line_indent = Cm(1)
    for part in parts:
        run = paragraph.add_run(part)
        run.bold = bold or isinstance(part, Bold)
        run.italic = italic
        if size:
            run.font.size = Pt(size)
        if color is not None:
            run.font.color.rgb = color
    return paragraph


def _heading(doc, text: str) -> None:
    _para(doc, text, bold=True)


def _two_columns(doc, left_cm: float, right_cm: float):
    """A borderless two-column block (agency | national motto; recipients | signature)."""
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, (Cm(left_cm), Cm(right_cm))):
        column.width = width  # the grid (LibreOffice) …
        for cell in column.cells:
            cell.width = width  # … and each cell (Word)
    left, right = table.rows[0].cells
    return left, right


def _cell_line(cell, text: str, first: bool = False, **style) -> None:
    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if style.pop("center", True) else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.bold = style.get("bold", False)
    run.italic = style.get("italic", False)
    run.font.size = Pt(style.get("size", 13))


# --------------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------------

def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _count2(n: int) -> str:
    """Administrative style for small counts: ``02`` thủ tục."""
    return f"{n:02d}" if 0 <= n < 10 else fmt_int(n)


def _or_gap(value: Any, formatter=fmt_int) -> str:
    return GAP if value is None else formatter(value)


def _subject(figures: dict[str, Any]) -> str:
    return figures["agency"]["name"] if figures["agency"]["code"] else "Các cơ quan, đơn vị trên địa bàn tỉnh"


def _signer(figures: dict[str, Any]) -> str:
    name = figures["agency"]["name"] if figures["agency"]["code"] else ""
    if name.startswith("Sở"):
        return "GIÁM ĐỐC"
    if name.startswith(("UBND", "Ủy ban", "Uỷ ban")):
        return "CHỦ TỊCH"
    return "THỦ TRƯỞNG ĐƠN VỊ"


def _editor_notes(doc, figures: dict[str, Any]) -> None:
    """Red notes for whoever edits the draft: frozen state, late changes, unbalanced figures."""
    notes = []
    note = frozen_note(figures)
    if note:
        notes.append(note + ".")
    if figures.get("diff"):
        notes.append(f"Dữ liệu nhập sau khi chốt làm thay đổi {fmt_int(len(figures['diff']))} chỉ tiêu; "
                     "dự thảo dùng số liệu đã chốt (xem trang «Chênh lệch» của tệp Excel).")
    if figures.get("checks"):
        notes.append(f"CẢNH BÁO: số liệu chưa cân đối ({fmt_int(len(figures['checks']))} lỗi):")
        notes += [f"- {c['message']}" for c in figures["checks"]]
    if not notes:
        return
    _para(doc, "[Ghi chú khi soạn thảo — xóa trước khi trình ký]", italic=True, color=EDITOR_RED, align="left",
          size=12)
    for line in notes:
        _para(doc, line, italic=True, color=EDITOR_RED, align="left", size=12)


def _header(doc, figures: dict[str, Any]) -> None:
    left, right = _two_columns(doc, 6.5, 10)
    _cell_line(left, "UBND TỈNH ………", first=True)
    _cell_line(left, (figures["agency"]["name"] if figures["agency"]["code"] else GAP).upper(), bold=True)
    _cell_line(left, "Số: ……/BC-……")
    _cell_line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", first=True, bold=True, size=12)
    _cell_line(right, "Độc lập - Tự do - Hạnh phúc", bold=True)
    _cell_line(right, "……, ngày … tháng … năm …", italic=True)
    _para(doc, "")
    _para(doc, "BÁO CÁO", bold=True, align="center")
    period_text = _lower_first(figures["period"]["name"])
    _para(doc, f"{LONG_TITLE} {period_text}", bold=True, align="center")


def _part_one(doc, figures: dict[str, Any], subject: str, period_text: str) -> None:
    _heading(doc, "I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH")
    _heading(doc, "1. Việc ban hành văn bản chỉ đạo, triển khai thực hiện")
    _para(doc, f"Thực hiện Kế hoạch số {GAP} của Ủy ban nhân dân tỉnh về hoạt động kiểm soát thủ tục hành chính "
               f"(TTHC), cải cách thủ tục hành chính, triển khai thực hiện cơ chế một cửa, một cửa liên thông năm "
               f"{figures['period']['year']}; {subject} đã ban hành {GAP} (ghi số, ngày, trích yếu văn bản).")
    _heading(doc, "2. Công tác đôn đốc, tổ chức thực hiện")
    _para(doc, "Nhằm nâng cao hiệu quả hoạt động kiểm soát thủ tục hành chính, lãnh đạo thường xuyên chỉ đạo, "
               "đôn đốc các đơn vị tổ chức thực hiện tốt nhiệm vụ kiểm soát TTHC, như: công khai các thủ tục "
               "hành chính; thống kê, rà soát, cập nhật kịp thời, đầy đủ các thủ tục hành chính mới ban hành hoặc "
               "sửa đổi, bổ sung, thay thế; giải quyết các thủ tục hành chính bảo đảm thời gian quy định; thực "
               "hiện tốt công tác báo cáo định kỳ; tiếp nhận, xử lý phản ánh, kiến nghị của cá nhân, tổ chức "
               f"đối với quy định thủ tục hành chính. {GAP}")
    _heading(doc, "3. Công tác tổ chức, bố trí cán bộ đầu mối làm công tác kiểm soát TTHC")
    _para(doc, f"Hiện nay công chức đầu mối thực hiện nhiệm vụ kiểm soát thủ tục hành chính của {subject} "
               f"gồm: {GAP}")
    _heading(doc, "4. Việc bố trí và sử dụng kinh phí hoạt động kiểm soát TTHC.")
    budget = figures["inputs"].get("budget")
    _para(doc, f"Hàng năm, {subject} đều bố trí kinh phí để thực hiện công tác hoạt động kiểm soát TTHC, năm "
               f"{figures['period']['year']} kinh phí hoạt động Kiểm soát TTHC là {_or_gap(budget)}đ.")
    _para(doc, f"Nội dung chi chủ yếu cho hoạt động rà soát TTHC, chi đối với đầu mối thực hiện nhiệm vụ kiểm "
               f"soát TTHC và chi khác có liên quan trực tiếp đến hoạt động kiểm soát TTHC. {GAP}")


def _publicity(doc, figures: dict[str, Any], subject: str) -> None:
    p = figures["procedures"]
    _heading(doc, "2. Về công bố, công khai TTHC.")
    _para(doc, f"Sau khi nhận được Quyết định công bố, {subject} đã tiến hành niêm yết công khai TTHC thuộc "
               "thẩm quyền giải quyết tại trụ sở và cập nhật trên Trang thông tin điện tử theo quy định của "
               "Thông tư số 02/2017/TT-VPCP ngày 31/10/2017 của Văn phòng Chính phủ. " + GAP)
    _para(doc, f"- Tổng số TTHC được công bố {fmt_int(p['published'])}; trong đó số TTHC được công khai "
               f"{fmt_int(p['publicized'])}.")
    _para(doc, f"- Tổng số TTHC thuộc thẩm quyền giải quyết của cơ quan, đơn vị: {fmt_int(p['total'])}; trong đó:")
    for text in (f"Số TTHC do Trung ương quy định: {fmt_int(p['central'])} thủ tục.",
                 f"Số TTHC do địa phương quy định: {fmt_int(p['local'])} thủ tục.",
                 f"Số lượng TTHC thực hiện theo cơ chế một cửa: {fmt_int(p['one_stop'])} thủ tục.",
                 f"Số lượng TTHC thực hiện theo cơ chế một cửa liên thông: {fmt_int(p['lien_thong'])} thủ tục.",
                 f"Số lượng TTHC thực hiện qua dịch vụ bưu chính công ích: {fmt_int(p['postal'])} thủ tục.",
                 f"Số lượng TTHC thực hiện qua dịch vụ công trực tuyến: {fmt_int(p['online'])} thủ tục."):
        _para(doc, "+ " + text)
    if figures["period"]["online_classes"]:
        # NĐ 42/2022 (from 01/8/2022): classes replace levels; state the mapping (domain.md §2).
        _para(doc, f"Trong đó có {fmt_int(p['online_full'])} TTHC dịch vụ công trực tuyến toàn trình, "
                   f"{fmt_int(p['online_partial'])} TTHC dịch vụ công trực tuyến một phần (theo Nghị định số "
                   "42/2022/NĐ-CP: mức độ 4 tương ứng toàn trình, mức độ 3 tương ứng một phần).")
    else:
        _para(doc, f"Trong đó có {fmt_int(p['online_level3'])} TTHC mức độ 3, "
                   f"{fmt_int(p['online_level4'])} TTHC mức độ 4.")


def _simplification(doc, figures: dict[str, Any], subject: str, period_text: str) -> None:
    _heading(doc, "3. Rà soát, đơn giản hóa TTHC")
    rows, total = figures["simplification"]["rows"], figures["simplification"]["total"]
    if not rows:
        _para(doc, f"Trong {period_text}, {subject} chưa có thủ tục hành chính được cắt giảm thời hạn giải quyết. "
                   + GAP)
        return
    levels: list[str] = []
    for level, n in total["by_level"].items():
        if n:
            levels += [", "] if levels else []
            levels += [Bold(_count2(n)), f" thủ tục hành chính {LEVEL_LABELS[level].lower()}"]
    decisions = "; ".join(dict.fromkeys(r["decision"] for r in rows if r["decision"]))
    basis = f" theo {decisions}" if decisions else ""
    _para(doc, f"Thực hiện Kế hoạch rà soát, đánh giá thủ tục hành chính năm {figures['period']['year']}, "
               f"{subject} đã rà soát, đề xuất cắt giảm thời hạn giải quyết thủ tục hành chính{basis}: "
               "tổng số thủ tục hành chính cắt giảm thời hạn giải quyết: ", *levels,
          f"; tổng thời gian cắt giảm: {fmt_number(total['days_cut'])}/{fmt_number(total['days_before'])} ngày, "
          "tỷ lệ cắt giảm ", Bold(fmt_percent(total["ratio"], space=False)), ".")


def _feedback(doc, figures: dict[str, Any], subject: str, period_text: str) -> None:
    _heading(doc, "4. Tiếp nhận, xử lý phản ánh, kiến nghị về quy định, TTHC")
    _para(doc, f"Việc tiếp nhận, xử lý phản ánh, kiến nghị của cá nhân, tổ chức về quy định hành chính luôn "
               f"được {subject} quan tâm; địa chỉ tiếp nhận phản ánh, kiến nghị được niêm yết công khai theo "
               "quy định.")
    inputs = figures["inputs"]
    received = inputs.get("feedback_received")
    if received == 0:
        _para(doc, f"Trong {period_text}, {subject} chưa nhận được phản ánh kiến nghị nào liên quan đến giải "
                   "quyết thủ tục hành chính.")
    else:
        _para(doc, f"Trong {period_text}, {subject} đã tiếp nhận {_or_gap(received)} phản ánh, kiến nghị về quy "
                   f"định hành chính; đã xử lý {_or_gap(inputs.get('feedback_handled'))}, đang xử lý "
                   f"{_or_gap(inputs.get('feedback_pending'))}.")


def _results(doc, figures: dict[str, Any]) -> None:
    t = figures["dossiers"]["total"]
    _heading(doc, "5. Tình hình, kết quả giải quyết TTHC")
    _para(doc, f"- Tổng số hồ sơ TTHC đã tiếp nhận trong kỳ báo cáo {fmt_int(t['received_total'])}, trong đó: "
               f"Số mới tiếp nhận trong kỳ: {fmt_int(t['received_online'] + t['received_offline'])} (trực tuyến: "
               f"{fmt_int(t['received_online'])}; trực tiếp và qua dịch vụ bưu chính: "
               f"{fmt_int(t['received_offline'])}); số từ kỳ trước chuyển qua: {fmt_int(t['carried_over'])} hồ sơ.")
    _para(doc, f"- Số lượng hồ sơ đã giải quyết: {fmt_int(t['resolved_total'])}; trong đó, giải quyết trước hạn: "
               f"{fmt_int(t['resolved_early'])}, đúng hạn: {fmt_int(t['resolved_on_time'])}, quá hạn: "
               f"{fmt_int(t['resolved_late'])}.")
    _para(doc, f"- Số lượng hồ sơ đang giải quyết: {fmt_int(t['pending_total'])}; trong đó, trong hạn: "
               f"{fmt_int(t['pending_in_time'])}, quá hạn: {fmt_int(t['pending_overdue'])}.")
    _para(doc, f"(Có biểu số {figures['form']}/VPCP/KSTT kèm theo)", italic=True)


def _one_stop(doc, figures: dict[str, Any], subject: str, period_text: str) -> None:
    _heading(doc, "6. Triển khai cơ chế một cửa, một cửa liên thông trong giải quyết TTHC")
    _heading(doc, "6.1. Tình hình, kết quả thực hiện đánh giá về việc giải quyết TTHC theo cơ chế một cửa, "
                  "một cửa liên thông.")
    inputs = figures["inputs"]
    score = inputs.get("one_stop_self_score")
    appraised = inputs.get("one_stop_appraised_score")
    text = (f"{subject} đã thực hiện việc tự chấm điểm, đánh giá việc giải quyết thủ tục hành chính "
            f"{period_text} theo quy định tại Chương V Nghị định số 61/2018/NĐ-CP, kết quả tự đánh giá đạt "
            f"{_or_gap(score, fmt_number)}/18 điểm")
    if appraised is not None:
        text += f"; kết quả thẩm định đạt {fmt_number(appraised)}/18 điểm"
    _para(doc, text + ".")
    _heading(doc, "6.2. Tình hình, kết quả tổ chức thực hiện TTHC theo cơ chế “4 tại chỗ”.")
    four = figures["four_on_site"]
    count = figures["procedures"]["four_on_site"]
    if count:
        fields = ", ".join(four["fields"])
        t = four["total"]
        _para(doc, f"{subject} thực hiện “4 tại chỗ” đối với {fmt_int(count)} TTHC thuộc các lĩnh vực {fields}. "
                   f"Trong kỳ, các TTHC này tiếp nhận {fmt_int(t['received_total'])} hồ sơ, đã giải quyết "
                   f"{fmt_int(t['resolved_total'])} hồ sơ (trước hạn: {fmt_int(t['resolved_early'])}, đúng hạn: "
                   f"{fmt_int(t['resolved_on_time'])}, quá hạn: {fmt_int(t['resolved_late'])}), đang giải quyết "
                   f"{fmt_int(t['pending_total'])} hồ sơ.")
    else:
        _para(doc, f"{subject} chưa có TTHC thực hiện theo cơ chế “4 tại chỗ”.")
    _para(doc, "(Có biểu số II.07b/VPCP/KSTT kèm theo)", italic=True)


def _electronic(doc, figures: dict[str, Any], subject: str) -> None:
    t, k = figures["dossiers"]["total"], figures["kpis"]
    _heading(doc, "7. Thực hiện TTHC trên môi trường điện tử")
    _para(doc, f"{subject} đã quán triệt, triển khai thực hiện Nghị định số 45/2020/NĐ-CP ngày 08/4/2020 của "
               "Chính phủ về thực hiện thủ tục hành chính trên môi trường điện tử; các TTHC được ưu tiên thực hiện "
               "trên Hệ thống thông tin giải quyết thủ tục hành chính của tỉnh.")
    _para(doc, f"Trong kỳ, số hồ sơ tiếp nhận trực tuyến: {fmt_int(t['received_online'])}/"
               f"{fmt_int(k['received_new'])} hồ sơ mới tiếp nhận, đạt tỷ lệ "
               f"{fmt_percent(k['online_share'], space=False)}; số hồ sơ tiếp nhận qua dịch vụ bưu chính công ích: "
               f"{fmt_int(t['received_postal'])} hồ sơ.")


def _remaining_items(doc, figures: dict[str, Any], subject: str, period_text: str) -> None:
    _heading(doc, "8. Truyền thông hỗ trợ hoạt động kiểm soát TTHC")
    _para(doc, "Tiếp tục phổ biến, đẩy mạnh công tác tuyên truyền các văn bản của Trung ương và của tỉnh về kiểm "
               f"soát TTHC, cải cách TTHC đến toàn thể công chức, viên chức, người lao động. {GAP}")
    _heading(doc, "9. Nghiên cứu, đề xuất sáng kiến cải cách TTHC")
    initiatives = figures["inputs"].get("initiatives")
    if initiatives == 0:
        _para(doc, f"Trong {period_text}, {subject} chưa có nghiên cứu, đề xuất sáng kiến cải cách thủ tục "
                   "hành chính.")
    else:
        _para(doc, f"Trong {period_text}, {subject} đã nghiên cứu, đề xuất {_or_gap(initiatives)} sáng kiến cải "
                   f"cách thủ tục hành chính: {GAP}")
    _heading(doc, "10. Kiểm tra thực hiện kiểm soát thủ tục hành chính")
    _para(doc, GAP)
    _heading(doc, "11. Việc tổ chức làm việc vào buổi sáng thứ bảy hàng tuần để tiếp nhận, giải quyết TTHC tại "
                  "cơ quan, đơn vị")
    _para(doc, GAP)
    notes = figures["inputs"].get("notes")
    if notes:
        _para(doc, f"Ghi chú: {notes}", italic=True)


def _assessment_and_plans(doc, subject: str, period_text: str) -> None:
    _heading(doc, "III. ĐÁNH GIÁ CHUNG")
    _heading(doc, "1. Ưu điểm:")
    _para(doc, "Hoạt động kiểm soát TTHC được lãnh đạo quan tâm chỉ đạo; việc công bố, công khai TTHC được thực "
               f"hiện kịp thời, đúng quy định; hồ sơ TTHC được giải quyết đúng thời hạn. {GAP}")
    _heading(doc, "2. Khó khăn, vướng mắc trong quá trình thực hiện")
    _para(doc, GAP)
    _heading(doc, "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ TRONG THỜI GIAN TỚI")
    for number, text in enumerate((
        "Tăng cường công tác tuyên truyền, phổ biến các văn bản về kiểm soát TTHC, nâng cao nhận thức và tinh "
        "thần trách nhiệm của cán bộ, công chức.",
        "Nâng cao vai trò trách nhiệm của người đứng đầu cơ quan, đơn vị trong tiếp nhận, giải quyết TTHC, rà "
        "soát, đơn giản hóa quy định, thủ tục hành chính.",
        "Nâng cao hiệu quả phối hợp trong giải quyết thủ tục hành chính, nâng cao tỷ lệ trả kết quả trước hạn, "
        "đúng hạn.",
        "Tổ chức niêm yết TTHC thuộc thẩm quyền giải quyết đầy đủ, kịp thời, đúng quy định.",
        "Tuyên truyền, hướng dẫn người dân sử dụng dịch vụ bưu chính công ích, dịch vụ công trực tuyến.",
        "Tăng cường công tác kiểm tra việc kiểm soát TTHC, cải cách TTHC, triển khai cơ chế một cửa, một cửa "
        "liên thông.",
    ), start=1):
        _para(doc, f"{number}. {text}")
    _para(doc, f"Trên đây là Báo cáo {_lower_first(LONG_TITLE)} {period_text} của {subject}./.")


def _closing(doc, figures: dict[str, Any]) -> None:
    left, right = _two_columns(doc, 8, 8.5)
    _cell_line(left, "Nơi nhận:", first=True, bold=True, italic=True, size=12, center=False)
    for line in ("- Văn phòng UBND tỉnh;", "- Lãnh đạo cơ quan;", "- Các phòng, đơn vị trực thuộc;", "- Lưu: VT."):
        _cell_line(left, line, size=11, center=False)
    _cell_line(right, _signer(figures), first=True, bold=True, size=14)
    for _ in range(3):
        _cell_line(right, "")
    _cell_line(right, GAP, bold=True, size=14)


def _build(figures: dict[str, Any]) -> Document:
    doc = _new_document()
    subject = _subject(figures)
    period_text = _lower_first(figures["period"]["name"])
    _header(doc, figures)
    _editor_notes(doc, figures)
    _para(doc, f"Thực hiện {GAP} của Văn phòng UBND tỉnh về việc báo cáo công tác kiểm soát TTHC {period_text}, "
               f"{subject} báo cáo kết quả thực hiện như sau:")
    _part_one(doc, figures, subject, period_text)
    _heading(doc, "II. TÌNH HÌNH VÀ KẾT QUẢ THỰC HIỆN CÔNG TÁC KIỂM SOÁT TTHC, CẢI CÁCH TTHC, THỰC HIỆN CƠ CHẾ "
                  "MỘT CỬA, MỘT CỬA LIÊN THÔNG TRONG GIẢI QUYẾT TTHC")
    _heading(doc, "1. Đánh giá tác động quy định về thủ tục hành chính trong lập đề nghị văn bản quy phạm pháp "
                  "luật và dự thảo văn bản quy phạm pháp luật")
    _para(doc, GAP)
    _publicity(doc, figures, subject)
    _simplification(doc, figures, subject, period_text)
    _feedback(doc, figures, subject, period_text)
    _results(doc, figures)
    _one_stop(doc, figures, subject, period_text)
    _electronic(doc, figures, subject)
    _remaining_items(doc, figures, subject, period_text)
    _assessment_and_plans(doc, subject, period_text)
    _closing(doc, figures)
    return doc


def docx_bytes(report: QuarterReport) -> bytes:
    """The Word draft of the report (frozen figures when the period was frozen) as bytes."""
    buffer = io.BytesIO()
    _build(report).save(buffer)
    return buffer.getvalue()


def write_docx(report: QuarterReport, out: str | Path) -> Path:
    """Write the Word draft of the report to ``out``."""
    out = Path(out)
    out.write_bytes(docx_bytes(report))
    return out
