"""Báo cáo quý: the quarter's paperwork in one place — checked before signing, stable after.

From top to bottom: whether the figures are frozen (and what changed since); the balance check next
to the downloads (Excel annexes, Word draft, chart pack for meetings); the figures that dossier data
cannot give (feedback, budget, one-stop score, simplification reviews), entered here; the freeze
button; and a preview of the annexes. Every figure comes from ``tthc_core.reports.report_figures``.
"""
import datetime as dt
import functools

import pandas as pd
import streamlit as st

from tthc_core import reports, ui
from tthc_core.exports import docx_bytes, workbook_bytes
from tthc_core.exports.chartpack import chart_pack_available, chart_pack_name, chart_pack_zip
from tthc_core.formatting import fmt_int, fmt_percent
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


def show_notice(where: str) -> None:
    message = st.session_state.pop(f"_report_notice_{where}", None)
    if message:
        st.success(message, icon=":material/check:")


f = ui.filters()
figures = ui.report_figures(f)
editable = f.access.can_edit_reports
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
    st.download_button("Phụ lục Excel (.xlsx)", functools.partial(workbook_bytes, f.url, f.period, figures=figures),
                       file_name=f"phu-luc_{slug}.xlsx", mime=XLSX_MIME, icon=":material/table_view:",
                       on_click="ignore", width="stretch", key="download_xlsx")
    st.download_button("Dự thảo báo cáo Word (.docx)", functools.partial(docx_bytes, f.url, f.period, figures=figures),
                       file_name=f"bao-cao_{slug}.docx", mime=DOCX_MIME, icon=":material/description:",
                       on_click="ignore", width="stretch", key="download_docx")
    available, reason = chart_pack_available()
    st.download_button("Bộ ảnh biểu đồ cho cuộc họp (.zip)",
                       functools.partial(chart_pack_zip, f.url, f.period, agency=agency, figures=figures),
                       file_name=chart_pack_name(figures), mime="application/zip", icon=":material/photo_library:",
                       on_click="ignore", width="stretch", disabled=not available, key="download_charts")
    if not available:
        st.caption(reason)
    st.caption(f"Phụ lục: {figures['form']}, II.07b, TTHC, 4 tại chỗ, rà soát đơn giản hóa, PAKN. "
               f"{f.period.mode_label}.")

# --- Report inputs ---------------------------------------------------------------------------
st.subheader("Số liệu nhập cho báo cáo", anchor=False)
show_notice("inputs")
if not editable:
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
        problems = reports.save_report_inputs(f.url, f.agency, f.period, edited_inputs[reports.VALUE_COLUMN].to_dict(),
                                              scope=f.access)
        if not problems:
            problems = reports.save_simplifications(f.url, f.agency, f.period, edited_reviews.to_dict("records"),
                                                    scope=f.access)
        if problems:
            st.error("Chưa lưu được:\n" + "\n".join(f"- {p.text()}" for p in problems), icon=":material/error:")
        else:
            notify("inputs", "Đã lưu số liệu nhập.")
            st.rerun()
    if figures["frozen"]:
        st.caption("Số liệu nhập sau khi chốt chỉ vào báo cáo khi chốt lại số liệu.")

# --- Freeze ----------------------------------------------------------------------------------
st.subheader("Chốt số liệu", anchor=False)
st.caption("Chốt số liệu lưu lại các con số như khi trình ký: sau đó trang này và các tệp tải về luôn dùng số liệu "
           "đã chốt, kể cả khi có hồ sơ nhập muộn (phần chênh lệch được liệt kê ở đầu trang).")
show_notice("freeze")
blocked = ("vai trò của tài khoản không được chốt số liệu." if not editable
           else f"{f.period.name} chưa kết thúc." if f.period.end >= dt.date.today()
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
if requested("freeze"):
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
