"""Báo cáo quý: the quarter's paperwork in one place — checked before signing, stable after.

From top to bottom: whether the figures are frozen (and what changed since); the balance check, what
the draft still lacks and the downloads (Excel annexes, Word draft, chart pack for meetings); the
figures dossier data cannot give (feedback, budget, simplification reviews); the quarter's narrative
(carried from the previous quarter until confirmed); the agency profile (header, signer, cited plans);
the freeze button; and a preview of the annexes. Everything is read from one
``tthc_core.reports.QuarterReport`` (``build_report``), the object the exports read too.
"""
import datetime as dt
import functools

import pandas as pd
import streamlit as st

from tthc_core import reports, ui
from tthc_core.exports import docx_bytes, workbook_bytes
from tthc_core.exports.chartpack import chart_pack_available, chart_pack_name, chart_pack_zip
from tthc_core.formatting import fmt_int, fmt_percent, vietnam_today
from tthc_core.stats import LEVEL_LABELS

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def request(action: str) -> None:
    # A button's own value lasts one script run, and the frame may rerun before the page sees it;
    # a flag set by the click survives until the page handles it.
    st.session_state[f"_report_{action}"] = True


def requested(action: str) -> bool:
    return bool(st.session_state.pop(f"_report_{action}", False))


def notify(where: str, message: str) -> None:
    st.session_state[f"_report_notice_{where}"] = message


def save_then_rerun(where: str, done: str, save) -> None:
    """Run a save that answers with problems: list them, or say ``done`` and show the new figures."""
    try:
        problems = save()
    except ui.AccessDenied as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if problems:
        st.error("Chưa lưu được:\n" + "\n".join(f"- {p.text()}" for p in problems), icon=":material/error:")
        return
    notify(where, done)
    st.rerun()


def show_notice(where: str) -> None:
    message = st.session_state.pop(f"_report_notice_{where}", None)
    if message:
        st.success(message, icon=":material/check:")


f = ui.filters()
figures = ui.report_figures(f)
refusal = ui.write_refusal(f)  # the demo stays the reference: only a signed-in admin writes
editable = f.access.can_edit_reports and not refusal
agency = f.agency or None
slug = ui.slug(f)
total = figures["dossiers"]["total"]

# --- Frozen figures ---------------------------------------------------------------------------
if figures["frozen"]:
    st.info(f"**{reports.frozen_note(figures)}.** Trang này và các tệp tải về dùng số liệu đã chốt.",
            icon=":material/lock:")
    if figures["diff"]:
        st.warning(f"Dữ liệu nhập sau khi chốt làm thay đổi **{fmt_int(len(figures['diff']))} chỉ tiêu** so với "
                   "số liệu đã chốt. Kiểm tra lại; nếu cần, chốt lại số liệu.", icon=":material/difference:")
        ui.show_table(ui.frozen_diff_table(figures["diff"]), key="diff_table")

ui.metric_row([
    *ui.dossier_metrics(total),
    ("TTHC thuộc thẩm quyền", fmt_int(figures["procedures"]["total"]),
     f"Một cửa {fmt_int(figures['procedures']['one_stop'])} · "
     f"4 tại chỗ {fmt_int(figures['procedures']['four_on_site'])}"),
    ("Tỷ lệ cắt giảm thời hạn", fmt_percent(figures["simplification"]["total"]["ratio"]),
     f"{fmt_int(figures['simplification']['total']['procedures'])} TTHC được rà soát"),
])

# --- Balance check and downloads --------------------------------------------------------------
st.subheader("Kiểm tra số liệu và tải về", anchor=False)
check, downloads = st.columns([3, 2], gap="large")
with check:
    if not figures["checks"]:
        st.success("**Số liệu cân đối.** Các đẳng thức của biểu II.06a (từng dòng và dòng tổng), số TTHC do Trung "
                   "ương và địa phương quy định, số chuyển từ kỳ trước đều khớp.", icon=":material/task_alt:")
    else:
        lines = "\n".join(f"- {c['message']}" for c in figures["checks"])
        st.error(f"**Số liệu chưa cân đối ({fmt_int(len(figures['checks']))} lỗi)** — không trình ký khi chưa sửa:"
                 f"\n{lines}\n\nVẫn tải được tệp, nhưng tệp Excel có trang «CẢNH BÁO» ở đầu.",
                 icon=":material/rule:")
with downloads:
    missing = figures.missing()
    if missing:
        st.warning(f"**Còn {fmt_int(len(missing))} nội dung chưa nhập hoặc chưa xác nhận** — dự thảo bỏ qua các câu "
                   "này (không để trống «……»):\n" + "\n".join(f"- {m}" for m in missing), icon=":material/edit_note:")
    else:
        st.success("**Đủ nội dung cho dự thảo**: hồ sơ cơ quan và các nội dung của quý đã xác nhận.",
                   icon=":material/task_alt:")
    # Each file is built when its button is clicked, and the export recorded in the audit trail then.
    xlsx = ui.audited(f, "Phụ lục Excel", functools.partial(workbook_bytes, figures))
    docx = ui.audited(f, "Dự thảo báo cáo Word", functools.partial(docx_bytes, figures))
    pack = ui.audited(f, "Bộ ảnh biểu đồ", functools.partial(chart_pack_zip, figures))
    st.download_button("Phụ lục Excel (.xlsx)", xlsx,
                       file_name=f"phu-luc_{slug}.xlsx", mime=XLSX_MIME, icon=":material/table_view:",
                       on_click="ignore", width="stretch", key="download_xlsx")
    st.download_button("Dự thảo báo cáo Word (.docx)", docx,
                       file_name=f"bao-cao_{slug}.docx", mime=DOCX_MIME, icon=":material/description:",
                       on_click="ignore", width="stretch", key="download_docx")
    available, reason = chart_pack_available()
    st.download_button("Bộ ảnh biểu đồ cho cuộc họp (.zip)", pack,
                       file_name=chart_pack_name(figures), mime="application/zip", icon=":material/photo_library:",
                       on_click="ignore", width="stretch", disabled=not available, key="download_charts")
    if not available:
        st.caption(reason)
    st.caption(f"Phụ lục: {figures['form']}, II.07b, TTHC, 4 tại chỗ, rà soát đơn giản hóa, PAKN. "
               f"{f.period.mode_label}.")

# --- Report inputs ---------------------------------------------------------------------------
st.subheader("Số liệu nhập cho báo cáo", anchor=False)
show_notice("inputs")
if refusal:
    st.warning(refusal, icon=":material/lock:")
elif not editable:
    st.info("Vai trò của tài khoản này chỉ xem và tải số liệu; số liệu nhập do cán bộ đơn vị cập nhật.",
            icon=":material/edit_off:")
elif not agency:
    st.info("Số liệu nhập (phản ánh kiến nghị, kinh phí, điểm một cửa, rà soát đơn giản hóa) được ghi cho từng cơ "
            "quan. Chọn một cơ quan ở thanh bên để nhập; ở đây là tổng của các cơ quan.", icon=":material/edit_off:")
else:
    st.caption("Những số liệu dữ liệu hồ sơ không cho biết. Ô để trống là chưa báo cáo; sửa xong bấm «Lưu».")
    with st.form("report_inputs", border=True):
        # Keyed by the data version: after a save the editors start again from the stored values.
        inputs = pd.DataFrame(reports.report_input_rows(figures["inputs"])).set_index("key")
        edited_inputs = st.data_editor(
            inputs, hide_index=True, disabled=["Chỉ tiêu"], key=f"inputs_editor_{f.version}",
            column_config={"Chỉ tiêu": st.column_config.TextColumn(width="large"),
                           reports.VALUE_COLUMN: st.column_config.TextColumn(width="large")})
        st.markdown("**Rà soát, đơn giản hóa TTHC** (thời hạn giải quyết trước và sau cắt giảm, ngày làm việc)")
        columns = reports.SIMPLIFICATION_COLUMNS
        reviews = pd.DataFrame(reports.simplification_rows_for_editor(figures["simplification"]["rows"]),
                               columns=list(columns))
        edited_reviews = st.data_editor(
            reviews, hide_index=True, num_rows="dynamic", key=f"reviews_editor_{f.version}",
            column_config={
                "procedure_code": st.column_config.TextColumn(columns["procedure_code"]),
                "procedure_name": st.column_config.TextColumn(columns["procedure_name"], width="large"),
                "authority_level": st.column_config.SelectboxColumn(columns["authority_level"],
                                                                    options=list(LEVEL_LABELS.values())),
                "days_before": st.column_config.NumberColumn(columns["days_before"], min_value=0, step=0.5),
                "days_after": st.column_config.NumberColumn(columns["days_after"], min_value=0, step=0.5),
                "decision": st.column_config.TextColumn(columns["decision"], width="medium"),
            })
        st.form_submit_button("Lưu số liệu nhập", icon=":material/save:", type="primary", on_click=request,
                              args=("save",))
    if requested("save"):
        save_then_rerun("inputs", "Đã lưu số liệu nhập.", lambda: (
            reports.save_report_inputs(f.url, f.agency, f.period, edited_inputs[reports.VALUE_COLUMN].to_dict(),
                                       scope=f.access)
            or reports.save_simplifications(f.url, f.agency, f.period, edited_reviews.to_dict("records"),
                                            scope=f.access)))
    if figures["frozen"]:
        st.caption("Số liệu nhập sau khi chốt chỉ vào báo cáo khi chốt lại số liệu.")

# --- The quarter's narrative and the agency profile --------------------------------------------
st.subheader("Nội dung báo cáo của quý", anchor=False)
show_notice("narrative")
if not editable:
    st.caption("Do cán bộ đơn vị nhập.")
else:
    st.caption("Những nội dung chỉ cán bộ viết được. Ô đánh dấu «lấy từ quý trước» là nội dung quý trước, chưa xác "
               "nhận cho quý này: sửa nếu cần rồi bấm «Xác nhận nội dung». Để trống là không có gì để báo cáo.")
    with st.form("narrative", border=True):
        entered = {}
        for spec in reports.NARRATIVE_FIELDS:
            entry = figures.narrative[spec.key]
            note = (f" — lấy từ {entry.carried_from.lower()}, chưa xác nhận" if entry.carried_from
                    else " — chưa nhập" if entry.carried_from == "" else "")
            if spec.kind == "count":
                entered[spec.key] = st.text_input(spec.label + note, value=entry.text,
                                                  key=f"narrative_{spec.key}_{f.version}")
            else:
                entered[spec.key] = st.text_area(spec.label + note, value=entry.text, height=90,
                                                 key=f"narrative_{spec.key}_{f.version}")
        st.form_submit_button("Xác nhận nội dung", icon=":material/done_all:", type="primary", on_click=request,
                              args=("narrative",))
    if requested("narrative"):
        save_then_rerun("narrative", "Đã xác nhận nội dung báo cáo của quý.", lambda: reports.save_narrative(
            f.url, agency, f.period, entered, user=f.access.username or "", scope=f.access))

with st.expander("Hồ sơ cơ quan (tiêu đề, người ký, đầu mối, văn bản viện dẫn)", icon=":material/badge:"):
    profile = figures.profile
    show_notice("profile")
    labels = reports.PROFILE_LABELS
    with st.form("profile", border=False):
        values = {}
        for key in ("province", "parent_body", "full_name", "short_name", "symbol", "receiving_body", "place",
                    "signer_authority", "signer_title", "signer_name"):
            values[key] = st.text_input(labels[key], value=getattr(profile, key), disabled=not editable,
                                        key=f"profile_{key}_{f.version}")
        for key in ("focal_officers", "recipients"):
            values[key] = st.text_area(labels[key] + " (mỗi dòng một mục)", value="\n".join(getattr(profile, key)),
                                       disabled=not editable, key=f"profile_{key}_{f.version}")
        documents = pd.DataFrame([{**vars(d), "date": dt.date.fromisoformat(d.date).strftime("%d/%m/%Y")}
                                  for d in profile.documents], columns=["role", "number", "date", "issuer", "subject"])
        edited_documents = st.data_editor(
            documents, hide_index=True, num_rows="dynamic", disabled=not editable, key=f"profile_docs_{f.version}",
            column_config={
                "role": st.column_config.SelectboxColumn("Viện dẫn ở mục", options=list(reports.DOCUMENT_ROLES)),
                "number": st.column_config.TextColumn("Số, ký hiệu"),
                "date": st.column_config.TextColumn("Ngày ban hành (dd/mm/yyyy)"),
                "issuer": st.column_config.TextColumn("Cơ quan ban hành (trống: chính cơ quan)"),
                "subject": st.column_config.TextColumn("Trích yếu", width="large")})
        st.caption("Mục viện dẫn: " + "; ".join(f"{k} = {v}" for k, v in reports.DOCUMENT_ROLES.items()))
        st.form_submit_button("Lưu hồ sơ cơ quan", icon=":material/save:", disabled=not editable, on_click=request,
                              args=("profile",))
    if requested("profile"):
        values["documents"] = [row for row in edited_documents.fillna("").to_dict("records") if any(row.values())]
        save_then_rerun("profile", "Đã lưu hồ sơ cơ quan.", lambda: reports.save_profile(
            f.url, agency, values, user=f.access.username or "", scope=f.access))

# --- Freeze ----------------------------------------------------------------------------------
st.subheader("Chốt số liệu", anchor=False)
st.caption("Chốt số liệu lưu lại các con số như khi trình ký: sau đó trang này và các tệp tải về luôn dùng số liệu "
           "đã chốt, kể cả khi có hồ sơ nhập muộn (phần chênh lệch được liệt kê ở đầu trang).")
show_notice("freeze")
blocked = (refusal if refusal
           else "vai trò của tài khoản không được chốt số liệu." if not editable
           else f"{f.period.name} chưa kết thúc." if f.period.end >= vietnam_today()
           else "Số liệu chưa cân đối." if figures["checks"] and not figures["frozen"] else "")
with st.container(border=True):
    if f.access.username:  # signed in: the account is who froze the figures
        st.session_state["freeze_user"] = f.access.username
    st.text_input("Người chốt số liệu", key="freeze_user", placeholder="Họ tên, chức vụ",
                  disabled=bool(f.access.username))
    st.button("Chốt lại số liệu" if figures["frozen"] else "Chốt số liệu", key="freeze", icon=":material/lock:",
              disabled=bool(blocked), on_click=request, args=("freeze",))
    if blocked:
        st.caption(f"Chưa chốt được: {blocked}")
freeze_asked = requested("freeze")
if freeze_asked and refusal:
    st.error(refusal, icon=":material/lock:")
elif freeze_asked:
    try:
        record = reports.freeze(f.url, f.period, agency=agency, user=st.session_state.get("freeze_user", ""),
                                scope=f.access)
    except (reports.ReportError, ui.AccessDenied) as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        notify("freeze", f"Đã chốt số liệu lúc {record.frozen_at:%H:%M %d/%m/%Y}.")
        st.rerun()

# --- Preview of the annexes ------------------------------------------------------------------
st.subheader("Xem trước phụ lục", anchor=False)
tab_form, tab_four, tab_reviews = st.tabs([figures["form"], "4 tại chỗ", "Rà soát, đơn giản hóa"])
with tab_form:
    ui.show_table(ui.form_table(figures), key="form_table")
with tab_four:
    ui.show_table(ui.four_on_site_table(figures["four_on_site"]), key="four_table")
with tab_reviews:
    ui.show_table(ui.simplification_table(figures["simplification"]), key="reviews_table")
