"""The Word draft of the quarterly KSTT report, ready to sign after one reading (issue 12).

Follows the structure of the reference report (Sở LĐTBXH Lạng Sơn, quý II năm 2022): I. chỉ đạo, điều
hành; II. tình hình và kết quả (công bố, công khai; rà soát; phản ánh, kiến nghị; kết quả giải quyết;
một cửa and "4 tại chỗ"; môi trường điện tử; truyền thông; sáng kiến; kiểm tra; thứ bảy); III. đánh giá
chung; IV. phương hướng (V. đề xuất, kiến nghị when there are any), on the form of NĐ 30/2020/NĐ-CP
Appendix I: province and agency lines, ``Số:      /BC-<symbol>``, place and date, the rules under the
header blocks and the summary, page numbers from page 2, the signer block with the name.

Everything comes from the :class:`~tthc_core.reports.QuarterReport`: figures (formatted by
:mod:`tthc_core.formatting`), the agency profile and the quarter's narrative. A sentence that states a
fact is chosen by the data (on time only when nothing was late; online services by the class in force
on the period's end date); a fact the profile or the inputs lack is left out, never a "……" gap — the
report page lists what is missing, and so do the red editor notes at the top of the draft.
"""
from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..formatting import fmt_int, fmt_number, fmt_percent
from ..reports import QuarterReport, frozen_note
from ..stats import LEVEL_LABELS
from .xlsx import FEEDBACK_FORM

FONT = "Times New Roman"
BODY_PT = 14
LONG_TITLE = ("Tình hình, kết quả thực hiện công tác kiểm soát thủ tục hành chính; cải cách thủ tục hành "
              "chính; thực hiện cơ chế một cửa, một cửa liên thông và thực hiện thủ tục hành chính trên môi "
              "trường điện tử")
EDITOR_RED = RGBColor(0xC0, 0x00, 0x00)
# NĐ 30/2020 Appendix I: the number and the day are written by the clerk when the report is issued.
NUMBER_BLANK = " " * 6
DAY_BLANK = " " * 5


class Bold(str):
    """A part of a paragraph printed in bold (as the reference prints 02 and 59,38 %)."""


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


def _rule(cell, width_cm: float, cell_cm: float) -> None:
    """A solid line ``width_cm`` long centred in the cell: the rule under the agency name, the motto and
    the summary (NĐ 30/2020 Appendix I, items 2, 3 and 5b)."""
    paragraph = cell.add_paragraph()
    side = Cm(max(0.0, (cell_cm - width_cm) / 2))
    paragraph.paragraph_format.left_indent = side
    paragraph.paragraph_format.right_indent = side
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(2)
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    borders.append(top)
    paragraph._p.get_or_add_pPr().append(borders)


def _page_numbers(doc) -> None:
    """Page numbers at the top centre from page 2 (NĐ 30/2020 Appendix I, item 7)."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


# --------------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------------

def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _count2(n: int) -> str:
    """Administrative style for small counts: ``02`` thủ tục."""
    return f"{n:02d}" if 0 <= n < 10 else fmt_int(n)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?", ":", ";")) else text + "."


def _citations(docs) -> str:
    return "; ".join(d.citation() for d in docs)


def _issued(document) -> str:
    """``Ủy ban nhân dân tỉnh Lạng Sơn ban hành Quyết định số 90/QĐ-UBND ngày 11/01/2022 về …``."""
    return _sentence(f"{document.issuer or 'Ủy ban nhân dân tỉnh'} ban hành "
                     f"{document.citation().replace(f' của {document.issuer}', '') if document.issuer else document.citation()}")


def _subject(report: QuarterReport) -> str:
    """How the body names the reporting body: the profile's name (with the province for a sở), else
    the agency's own name, or the province's agencies."""
    profile = report.profile
    if profile.full_name:
        own = report.agency["code"] and profile.province and profile.province not in profile.full_name
        return f"{profile.full_name} tỉnh {profile.province}" if own else profile.full_name
    return report.agency["name"] if report.agency["code"] else "Các cơ quan, đơn vị trên địa bàn tỉnh"


def _late_units(report: QuarterReport, key: str) -> str:
    """``Việc làm (3), Người có công (1)``: the fields (one agency) or agencies (the province) behind the
    count ``key``, most first — the units responsible for late dossiers (issue 12 item 3)."""
    rows = sorted((r for r in report.league if r.get(key)), key=lambda r: (-r[key], r["label"]))
    return ", ".join(f"{r['label']} ({fmt_int(r[key])})" for r in rows)


def _unit_word(report: QuarterReport) -> str:
    return "lĩnh vực" if report.agency["code"] else "cơ quan, đơn vị"


def _editor_notes(doc, report: QuarterReport) -> None:
    """Red notes for whoever edits the draft: frozen state, late changes, unbalanced figures, what is
    still to be entered."""
    notes = []
    note = frozen_note(report)
    if note:
        notes.append(note + ".")
    if report.diff:
        notes.append(f"Dữ liệu nhập sau khi chốt làm thay đổi {fmt_int(len(report.diff))} chỉ tiêu; "
                     "dự thảo dùng số liệu đã chốt (xem trang «Chênh lệch» của tệp Excel).")
    if report.checks:
        notes.append(f"CẢNH BÁO: số liệu chưa cân đối ({fmt_int(len(report.checks))} lỗi):")
        notes += [f"- {c['message']}" for c in report.checks]
    missing = report.missing()
    if missing:
        notes.append("Dự thảo bỏ qua những nội dung chưa nhập hoặc chưa xác nhận trên trang «Báo cáo quý»:")
        notes += [f"- {m}" for m in missing]
    if not notes:
        return
    _para(doc, "[Ghi chú khi soạn thảo — xóa trước khi trình ký]", italic=True, color=EDITOR_RED, align="left",
          size=12)
    for line in notes:
        _para(doc, line, italic=True, color=EDITOR_RED, align="left", size=12)


# --------------------------------------------------------------------------------------------
# Header and signature (NĐ 30/2020/NĐ-CP Appendix I)
# --------------------------------------------------------------------------------------------

LEFT_CM, RIGHT_CM = 6.5, 10.0


def _header(doc, report: QuarterReport) -> None:
    profile = report.profile
    left, right = _two_columns(doc, LEFT_CM, RIGHT_CM)
    first = True
    if profile.parent_body:
        _cell_line(left, profile.parent_body.upper(), first=True)
        first = False
    name = (profile.full_name or report.agency["name"]).upper()
    _cell_line(left, name, first=first, bold=True)
    _rule(left, 2.5, LEFT_CM)
    symbol = f"/BC-{profile.symbol}" if profile.symbol else "/BC"
    _cell_line(left, f"Số:{NUMBER_BLANK}{symbol}")
    _cell_line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", first=True, bold=True, size=12)
    _cell_line(right, "Độc lập - Tự do - Hạnh phúc", bold=True)
    _rule(right, 5.5, RIGHT_CM)
    # Reports of a period are dated in its year; the clerk writes day and month on issue.
    year = report.period.end.year
    place = f"{profile.place}, " if profile.place else ""
    _cell_line(right, f"{place}ngày{DAY_BLANK}tháng{DAY_BLANK}năm {year}", italic=True)
    _para(doc, "")
    _para(doc, "BÁO CÁO", bold=True, align="center")
    _para(doc, f"{LONG_TITLE} {_lower_first(report.period.name)}", bold=True, align="center")
    table_rule = doc.add_table(rows=1, cols=1)
    table_rule.alignment = WD_TABLE_ALIGNMENT.CENTER
    _rule(table_rule.rows[0].cells[0], 4, 16)


def _closing(doc, report: QuarterReport) -> None:
    profile = report.profile
    left, right = _two_columns(doc, 8, 8.5)
    _cell_line(left, "Nơi nhận:", first=True, bold=True, italic=True, size=12, center=False)
    recipients = profile.recipients or [r for r in (profile.receiving_body, "Lưu: VT") if r]
    for index, line in enumerate(recipients):
        end = "." if index == len(recipients) - 1 else ";"
        _cell_line(left, f"- {line.rstrip('.;')}{end}", size=11, center=False)
    first = True
    if profile.signer_authority:
        _cell_line(right, profile.signer_authority.upper(), first=True, bold=True, size=14)
        first = False
    _cell_line(right, (profile.signer_title or "").upper(), first=first, bold=True, size=14)
    for _ in range(4):
        _cell_line(right, "")
    if profile.signer_name:
        _cell_line(right, profile.signer_name, bold=True, size=14)


# --------------------------------------------------------------------------------------------
# The sections
# --------------------------------------------------------------------------------------------

def _opening(doc, report: QuarterReport, subject: str, period_text: str) -> None:
    request = report.text("request_document").rstrip(".")
    to = f" {report.profile.receiving_body}" if report.profile.receiving_body else ""
    lead = f"Thực hiện {request}. " if request else ""
    _para(doc, f"{lead}{subject} báo cáo{to} kết quả thực hiện công tác kiểm soát TTHC {period_text} như sau:")


def _part_one(doc, report: QuarterReport, subject: str) -> None:
    profile = report.profile
    _heading(doc, "I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH")
    _heading(doc, "1. Việc ban hành văn bản chỉ đạo, triển khai thực hiện")
    direction = profile.cited("direction")
    upper = [d for d in direction if d.issuer]
    own = [d for d in direction if not d.issuer]
    if upper and own:
        _para(doc, f"Thực hiện {_citations(upper)}. {subject} đã ban hành {_citations(own)}.")
    elif upper:
        _para(doc, f"Thực hiện {_citations(upper)}.")
    elif own:
        _para(doc, f"{subject} đã ban hành {_citations(own)}.")
    _heading(doc, "2. Công tác đôn đốc, tổ chức thực hiện")
    _para(doc, "Nhằm nâng cao hiệu quả hoạt động kiểm soát thủ tục hành chính, lãnh đạo thường xuyên chỉ đạo, "
               "đôn đốc các đơn vị tổ chức thực hiện tốt nhiệm vụ kiểm soát TTHC, như: công khai các thủ tục "
               "hành chính; thống kê, rà soát, cập nhật kịp thời, đầy đủ các thủ tục hành chính mới ban hành hoặc "
               "sửa đổi, bổ sung, thay thế; giải quyết các thủ tục hành chính bảo đảm thời gian quy định; thực "
               "hiện tốt công tác báo cáo định kỳ; tiếp nhận, xử lý phản ánh, kiến nghị của cá nhân, tổ chức "
               "đối với quy định thủ tục hành chính.")
    _heading(doc, "3. Công tác tổ chức, bố trí cán bộ đầu mối làm công tác kiểm soát TTHC")
    for document in profile.cited("focal"):
        _para(doc, _issued(document))
    if profile.focal_officers:
        _para(doc, f"Hiện nay công chức đầu mối thực hiện nhiệm vụ kiểm soát thủ tục hành chính của {subject} "
                   f"gồm: {'; '.join(profile.focal_officers)}.")
    _heading(doc, "4. Việc bố trí và sử dụng kinh phí hoạt động kiểm soát TTHC.")
    budget = report.inputs.get("budget")
    if budget is not None:
        _para(doc, f"Hàng năm, {subject} đều bố trí kinh phí để thực hiện công tác hoạt động kiểm soát TTHC, năm "
                   f"{report.period.year} kinh phí hoạt động Kiểm soát TTHC là {fmt_int(budget)}đ.")
    rules = profile.cited("budget")
    basis = f"Việc sử dụng kinh phí thực hiện theo {_citations(rules)}. " if rules else ""
    _para(doc, f"{basis}Nội dung chi chủ yếu cho hoạt động rà soát TTHC, chi đối với đầu mối thực hiện nhiệm vụ "
               "kiểm soát TTHC và chi khác có liên quan trực tiếp đến hoạt động kiểm soát TTHC.")


def _publicity(doc, report: QuarterReport, subject: str) -> None:
    p = report["procedures"]
    _heading(doc, "2. Về công bố, công khai TTHC.")
    _para(doc, f"Sau khi nhận được Quyết định công bố, {subject} đã tiến hành niêm yết công khai TTHC thuộc "
               "thẩm quyền giải quyết tại trụ sở và cập nhật trên Trang thông tin điện tử theo quy định của "
               "Thông tư số 02/2017/TT-VPCP ngày 31/10/2017 của Văn phòng Chính phủ.")
    _para(doc, f"- Tổng số TTHC được công bố {fmt_int(p['published'])}; trong đó số TTHC được công khai "
               f"{fmt_int(p['publicized'])}.")
    _para(doc, f"- Tổng số TTHC thuộc thẩm quyền giải quyết của cơ quan, đơn vị: {fmt_int(p['total'])}; trong đó:")
    lines = [f"Số TTHC do Trung ương quy định: {fmt_int(p['central'])} thủ tục.",
             f"Số TTHC do địa phương quy định: {fmt_int(p['local'])} thủ tục.",
             f"Số lượng TTHC thực hiện theo cơ chế một cửa: {fmt_int(p['one_stop'])} thủ tục.",
             f"Số lượng TTHC thực hiện theo cơ chế một cửa liên thông: {fmt_int(p['lien_thong'])} thủ tục.",
             f"Số lượng TTHC thực hiện qua dịch vụ bưu chính công ích: {fmt_int(p['postal'])} thủ tục."]
    if report["period"]["online_classes"]:
        # NĐ 42/2022 (from 01/8/2022): only toàn trình and một phần are online public services.
        online = p["online_full"] + p["online_partial"]
        lines.append(f"Số lượng TTHC thực hiện qua dịch vụ công trực tuyến: {fmt_int(online)} thủ tục.")
    else:
        lines.append(f"Số lượng TTHC thực hiện qua dịch vụ công trực tuyến: {fmt_int(p['online'])} thủ tục.")
    for text in lines:
        _para(doc, "+ " + text)
    if report["period"]["online_classes"]:
        _para(doc, f"Trong đó có {fmt_int(p['online_full'])} TTHC dịch vụ công trực tuyến toàn trình, "
                   f"{fmt_int(p['online_partial'])} TTHC dịch vụ công trực tuyến một phần (theo Nghị định số "
                   "42/2022/NĐ-CP: mức độ 4 tương ứng toàn trình, mức độ 3 tương ứng một phần).")
    else:
        _para(doc, f"Trong đó có {fmt_int(p['online_level3'])} TTHC mức độ 3, "
                   f"{fmt_int(p['online_level4'])} TTHC mức độ 4.")


def _simplification(doc, report: QuarterReport, subject: str, period_text: str) -> None:
    _heading(doc, "3. Rà soát, đơn giản hóa TTHC")
    plans = report.profile.cited("review")
    if plans:
        _para(doc, f"Thực hiện {_citations(plans)}.")
    proposals = report.text("simplification_proposals")
    if proposals:
        _para(doc, _sentence(proposals))
    rows, total = report["simplification"]["rows"], report["simplification"]["total"]
    if rows:
        levels: list[str] = []
        for level, n in total["by_level"].items():
            if n:
                levels += [", "] if levels else []
                levels += [Bold(_count2(n)), f" thủ tục hành chính {LEVEL_LABELS[level].lower()}"]
        decisions = "; ".join(dict.fromkeys(r["decision"] for r in rows if r["decision"]))
        basis = f" theo {decisions}" if decisions else ""
        _para(doc, f"Kết quả cắt giảm thời hạn giải quyết thủ tục hành chính{basis}: tổng số thủ tục hành chính cắt "
                   "giảm thời hạn giải quyết: ", *levels,
              f"; tổng thời gian cắt giảm: {fmt_number(total['days_cut'])}/{fmt_number(total['days_before'])} "
              "ngày, tỷ lệ cắt giảm ", Bold(fmt_percent(total["ratio"])), ".")
    elif not proposals:
        _para(doc, f"Trong {period_text}, {subject} chưa có thủ tục hành chính được cắt giảm thời hạn giải quyết.")
    under_way = [(report.narrative[f"reviews_{level}"].value, label)
                 for level, label in (("province", "cấp tỉnh"), ("district", "cấp huyện"), ("commune", "cấp xã"))
                 if f"reviews_{level}" in report.narrative]
    under_way = [(n, label) for n, label in under_way if n]
    if under_way:
        parts = [f"{_count2(n)} TTHC {label}" for n, label in under_way]
        joined = ", ".join(parts[:-1]) + (" và " if len(parts) > 1 else "") + parts[-1]
        _para(doc, f"Đối với các thủ tục hành chính đang rà soát, hiện nay {subject} đang thực hiện rà soát theo "
                   f"Thông tư số 02/2017/TT-VPCP đối với {joined}.")


def _feedback(doc, report: QuarterReport, subject: str, period_text: str) -> None:
    _heading(doc, "4. Tiếp nhận, xử lý phản ánh, kiến nghị về quy định, TTHC")
    _para(doc, "Thực hiện Nghị định số 20/2008/NĐ-CP ngày 14/02/2008 của Chính phủ về tiếp nhận, xử lý phản ánh, "
               "kiến nghị của cá nhân, tổ chức về quy định hành chính; việc tiếp nhận, xử lý phản ánh, kiến nghị "
               f"luôn được {subject} quan tâm; địa chỉ tiếp nhận phản ánh, kiến nghị được niêm yết công khai theo "
               "quy định.")
    # The figures of the II.05a annex (reports.feedback_figures): PAKN records, else the entered totals.
    total = report["feedback"]["total"]
    received = total["received_total"]
    if received == 0:
        _para(doc, f"Trong {period_text}, {subject} chưa nhận được phản ánh kiến nghị nào liên quan đến giải "
                   "quyết thủ tục hành chính.")
    elif received is not None:
        if report["feedback"]["source"] == "records":  # the records say what each one is about
            parts = [f"Trong {period_text}, {subject} đã tiếp nhận {fmt_int(received)} phản ánh, kiến nghị (về quy "
                     f"định hành chính: {fmt_int(total['received_regulation'])}; về hành vi hành chính: "
                     f"{fmt_int(total['received_conduct'])}; từ kỳ trước chuyển qua: {fmt_int(total['carried_over'])})"]
        else:
            parts = [f"Trong {period_text}, {subject} đã tiếp nhận {fmt_int(received)} phản ánh, kiến nghị về quy "
                     "định hành chính"]
        if total["handled_total"] is not None:
            parts.append(f"đã xử lý {fmt_int(total['handled_total'])}")
        if total["pending_total"] is not None:
            parts.append(f"đang xử lý {fmt_int(total['pending_total'])}")
        _para(doc, "; ".join(parts) + ".")
    if received is not None:  # the annex the figures come from, as sections 5 and 6 cite theirs
        _para(doc, f"(Có biểu số {FEEDBACK_FORM}/VPCP/KSTT kèm theo)", italic=True)


def _results(doc, report: QuarterReport) -> None:
    t = report["dossiers"]["total"]
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
    # Issue 12: a quarter with late dossiers says where they are instead of claiming all were on time.
    for key, what in (("resolved_late", "hồ sơ giải quyết quá hạn"), ("pending_overdue", "hồ sơ đang giải quyết "
                                                                                          "quá hạn")):
        if t[key]:
            _para(doc, f"Có {fmt_int(t[key])} {what}, thuộc các {_unit_word(report)}: {_late_units(report, key)}.")
    _para(doc, f"(Có biểu số {report['form']}/VPCP/KSTT kèm theo)", italic=True)


def _one_stop(doc, report: QuarterReport, subject: str, period_text: str) -> None:
    _heading(doc, "6. Triển khai cơ chế một cửa, một cửa liên thông trong giải quyết TTHC")
    _heading(doc, "6.1. Tình hình, kết quả thực hiện đánh giá về việc giải quyết TTHC theo cơ chế một cửa, "
                  "một cửa liên thông.")
    decision = report.text("one_stop_decision").rstrip(".")
    if decision:
        _para(doc, f"Thực hiện theo quy định tại {decision}.")
    evaluation = report.text("one_stop_evaluation")
    if evaluation:
        _para(doc, _sentence(evaluation))
    score, appraised = report.inputs.get("one_stop_self_score"), report.inputs.get("one_stop_appraised_score")
    if score is not None:
        text = (f"Kết quả tự đánh giá việc giải quyết thủ tục hành chính {period_text} theo Chương V Nghị định "
                f"số 61/2018/NĐ-CP đạt {fmt_number(score)}/18 điểm")
        if appraised is not None:
            text += f"; kết quả thẩm định đạt {fmt_number(appraised)}/18 điểm"
        _para(doc, text + ".")
    _heading(doc, "6.2. Tình hình, kết quả tổ chức thực hiện TTHC theo cơ chế “4 tại chỗ”.")
    for document in report.profile.cited("four_on_site"):
        _para(doc, _issued(document))
    four = report["four_on_site"]
    count = report["procedures"]["four_on_site"]
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


def _electronic(doc, report: QuarterReport, subject: str) -> None:
    t, k = report["dossiers"]["total"], report["kpis"]
    _heading(doc, "7. Thực hiện TTHC trên môi trường điện tử")
    _para(doc, f"{subject} đã quán triệt, triển khai thực hiện Nghị định số 45/2020/NĐ-CP ngày 08/4/2020 của "
               "Chính phủ về thực hiện thủ tục hành chính trên môi trường điện tử; các TTHC được ưu tiên thực hiện "
               "trên Hệ thống thông tin giải quyết thủ tục hành chính của tỉnh.")
    share = f", đạt tỷ lệ {fmt_percent(k['online_share'])}" if k["online_share"] is not None else ""
    _para(doc, f"Trong kỳ, số hồ sơ tiếp nhận trực tuyến: {fmt_int(t['received_online'])}/"
               f"{fmt_int(k['received_new'])} hồ sơ mới tiếp nhận{share}; số hồ sơ tiếp nhận qua dịch vụ bưu chính "
               f"công ích: {fmt_int(t['received_postal'])} hồ sơ.")


def _remaining_items(doc, report: QuarterReport, subject: str, period_text: str) -> None:
    _heading(doc, "8. Truyền thông hỗ trợ hoạt động kiểm soát TTHC")
    if report.text("communication"):
        _para(doc, _sentence(report.text("communication")))
    _heading(doc, "9. Nghiên cứu, đề xuất sáng kiến cải cách TTHC")
    initiatives, details = report.inputs.get("initiatives"), report.text("initiative_details")
    if initiatives == 0 and not details:
        _para(doc, f"Trong {period_text}, {subject} chưa có nghiên cứu, đề xuất sáng kiến cải cách thủ tục "
                   "hành chính.")
    elif initiatives:
        _para(doc, f"Trong {period_text}, {subject} đã nghiên cứu, đề xuất {fmt_int(initiatives)} sáng kiến cải "
                   "cách thủ tục hành chính" + (f": {_sentence(details)}" if details else "."))
    elif details:
        _para(doc, _sentence(details))
    _heading(doc, "10. Kiểm tra thực hiện kiểm soát thủ tục hành chính")
    if report.text("inspection"):
        _para(doc, _sentence(report.text("inspection")))
    plans = report.profile.cited("inspection")
    if plans:
        _para(doc, "Bên cạnh đó, tiến hành kiểm tra lồng ghép các nội dung liên quan đến việc thực hiện cải cách "
                   f"thủ tục hành chính vào các cuộc kiểm tra theo {_citations(plans)}.")
    _heading(doc, "11. Việc tổ chức làm việc vào buổi sáng thứ bảy hàng tuần để tiếp nhận, giải quyết TTHC tại "
                  "cơ quan, đơn vị")
    saturday = report.text("saturday")
    if saturday:
        rules = report.profile.cited("saturday")
        basis = f" (theo {_citations(rules)})" if rules else ""
        _para(doc, _sentence(saturday.rstrip(".") + basis))
    notes = report.inputs.get("notes")
    if notes:
        _para(doc, f"Ghi chú: {notes}", italic=True)


def _assessment_and_plans(doc, report: QuarterReport, subject: str, period_text: str) -> None:
    t, k = report["dossiers"]["total"], report["kpis"]
    _heading(doc, "III. ĐÁNH GIÁ CHUNG")
    _heading(doc, "1. Ưu điểm:")
    if t["resolved_late"] == 0 and t["pending_overdue"] == 0:
        timely = "hồ sơ TTHC được giải quyết đúng thời hạn"
    elif k["on_time_rate"] is not None:
        timely = (f"tỷ lệ hồ sơ TTHC giải quyết trước hạn, đúng hạn đạt {fmt_percent(k['on_time_rate'])}")
    else:
        timely = ""
    _para(doc, "Hoạt động kiểm soát TTHC được lãnh đạo quan tâm chỉ đạo; việc công bố, công khai TTHC được thực "
               "hiện kịp thời, đúng quy định" + (f"; {timely}." if timely else "."))
    _heading(doc, "2. Khó khăn, vướng mắc trong quá trình thực hiện")
    if t["resolved_late"]:
        _para(doc, f"Trong kỳ còn {fmt_int(t['resolved_late'])} hồ sơ giải quyết quá hạn "
                   f"({_late_units(report, 'resolved_late')}).")
    for paragraph in report.text("difficulties").split("\n"):
        if paragraph.strip():
            _para(doc, _sentence(paragraph))
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
    proposals = [p for p in report.text("proposals").split("\n") if p.strip()]
    if proposals:
        _heading(doc, "V. ĐỀ XUẤT, KIẾN NGHỊ")
        for paragraph in proposals:
            _para(doc, _sentence(paragraph))
    _para(doc, f"Trên đây là Báo cáo {_lower_first(LONG_TITLE)} {period_text} của {subject}./.")


def _build(report: QuarterReport) -> Document:
    doc = _new_document()
    _page_numbers(doc)
    subject = _subject(report)
    period_text = _lower_first(report.period.name)
    _header(doc, report)
    _editor_notes(doc, report)
    _opening(doc, report, subject, period_text)
    _part_one(doc, report, subject)
    _heading(doc, "II. TÌNH HÌNH VÀ KẾT QUẢ THỰC HIỆN CÔNG TÁC KIỂM SOÁT TTHC, CẢI CÁCH TTHC, THỰC HIỆN CƠ CHẾ "
                  "MỘT CỬA, MỘT CỬA LIÊN THÔNG TRONG GIẢI QUYẾT TTHC")
    _heading(doc, "1. Đánh giá tác động quy định về thủ tục hành chính trong lập đề nghị văn bản quy phạm pháp "
                  "luật và dự thảo văn bản quy phạm pháp luật")
    if report.text("impact_assessment"):
        _para(doc, _sentence(report.text("impact_assessment")))
    _publicity(doc, report, subject)
    _simplification(doc, report, subject, period_text)
    _feedback(doc, report, subject, period_text)
    _results(doc, report)
    _one_stop(doc, report, subject, period_text)
    _electronic(doc, report, subject)
    _remaining_items(doc, report, subject, period_text)
    _assessment_and_plans(doc, report, subject, period_text)
    _closing(doc, report)
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
