"""Dữ liệu: bring an export in, and check the data before signing a report.

Upload a dossier or procedure export (CSV or XLSX); every row is checked first and every rejected row
is listed with its line, column and reason before anything is written; then import (all rows, or
only the valid ones when asked). Below, the data-quality summary: missing due dates, unknown
procedures and fields, and the identities of form II.06a for the selected period.
"""
import streamlit as st

from tthc_core import ui
from tthc_core.formatting import fmt_datetime, fmt_int, fmt_share, md_escape, vietnam_now

f = ui.filters()

st.subheader("Nhập tệp hồ sơ hoặc danh mục thủ tục", anchor=False)
st.caption("Tệp CSV hoặc XLSX xuất từ Hệ thống thông tin giải quyết TTHC. Mọi dòng được kiểm tra trước; "
           "chưa ghi gì vào cơ sở dữ liệu cho đến khi bấm «Nhập dữ liệu».")
if done := st.session_state.pop("_import_done", None):
    st.success(done, icon=":material/check_circle:")
if failed := st.session_state.pop("_import_failed", None):
    st.error(failed, icon=":material/block:")

refusal = ui.write_refusal(f)
if refusal:
    st.warning(refusal, icon=":material/lock:")
uploaded = None
if not f.access.can_import:
    st.info("Vai trò của tài khoản này chỉ xem và tải số liệu; việc nhập dữ liệu do cán bộ đơn vị thực hiện.",
            icon=":material/visibility:")
else:
    agencies = ui.agency_names(f)
    pick_kind, pick_agency = st.columns(2)
    kind = pick_kind.segmented_control("Loại tệp", list(ui.IMPORT_KINDS), key="dl_kind", default="auto",
                                       format_func=ui.IMPORT_KINDS.get, required=True)
    agency = pick_agency.selectbox("Cơ quan của các dòng không ghi cơ quan", ["", *agencies], key="dl_agency",
                                   index=([""] + list(agencies)).index(f.agency) if f.agency in agencies else 0,
                                   format_func=lambda code: agencies.get(code, "Cơ quan mặc định của dữ liệu"))
    uploaded = st.file_uploader("Chọn tệp", type=["csv", "xlsx"], key=ui.upload_key(),
                                help=f"Tối đa {ui.MAX_UPLOAD_MB} MB một tệp.")

if uploaded is not None and uploaded.size > ui.MAX_UPLOAD_MB * 2 ** 20:
    st.error(f"Tệp «{uploaded.name}» lớn hơn {ui.MAX_UPLOAD_MB} MB: chia tệp theo tháng hoặc quý rồi nhập từng "
             "phần, hoặc nhập bằng dòng lệnh (python -m tthc_core import).", icon=":material/block:")
elif uploaded is not None:
    data = uploaded.getvalue()
    kind_arg = None if kind == "auto" else kind
    check = ui.check_upload(f, data, uploaded.name, kind_arg, agency or None)
    if check.problems:
        st.error(f"**{check.summary()}** Các dòng bị loại và lý do:", icon=":material/block:")
        ui.show_table(ui.problems_table(check.problems), key="dl_problems")
        ui.download_csv(check.rejects_frame(), "Tải các dòng bị loại (CSV)", f"dong-bi-loai_{uploaded.name}.csv")
    else:
        st.success(check.summary(), icon=":material/task_alt:")
    if len(check.preview):
        preview = ui.preview_table(check)
        more = " đầu tiên" if len(check.preview) > len(preview) else ""
        st.markdown(f"**Xem trước** các dòng hợp lệ ({fmt_int(len(preview))} dòng{more}):")
        ui.show_table(preview, key="dl_preview")
    skip = st.checkbox("Bỏ qua các dòng lỗi, chỉ nhập các dòng hợp lệ", key="dl_skip",
                       disabled=not check.problems or bool(check.file_problems))
    ready = check.rows_valid > 0 and not check.file_problems and (not check.problems or skip) and not refusal
    st.button("Nhập dữ liệu", type="primary", disabled=not ready, key="dl_import", icon=":material/upload:",
              on_click=ui.import_upload, args=(f, data, uploaded.name, kind_arg, agency or None, skip))

if f.access.can_import:
    ui.agency_admin(f)

st.subheader("Chất lượng dữ liệu", anchor=False)
quality = ui.data_quality(f)
total = quality["dossiers"]
reach = ui.data_until(f.url, f.version, f.access, vietnam_now().replace(second=0), f.agency)
ui.metric_row([
    ("Hồ sơ trong cơ sở dữ liệu", fmt_int(total),
     f"Từ {fmt_datetime(quality['first_received']) or '–'} đến {fmt_datetime(reach['until']) or '–'}"
     + (f"; {fmt_int(reach['later'])} hồ sơ ghi ngày sau hiện tại" if reach["later"] else "")),
    ("Thiếu ngày hẹn trả", fmt_int(quality["missing_due"]), fmt_share(quality["missing_due"], total)),
    ("Hẹn trả tính theo ngày làm việc", fmt_int(quality["estimated_due"]),
     "dữ liệu không ghi ngày hẹn, tính từ thời hạn giải quyết"),
    ("Chưa xác định thủ tục", fmt_int(quality["unknown_procedure"]), fmt_share(quality["unknown_procedure"], total)),
    ("Chưa xác định lĩnh vực", fmt_int(quality["unknown_field"]), fmt_share(quality["unknown_field"], total)),
])

st.markdown(f"**Kiểm tra các đẳng thức của biểu II.06a** — {md_escape(f.scope_name)}, {f.period.label}")
problems = ui.checks(f)
if problems:
    for problem in problems:
        st.warning(md_escape(problem["message"]), icon=":material/rule:")
else:
    st.success("Mọi đẳng thức đều khớp: (3) = (4) + (5) + (6); (3) = (7) + (11); (7) = (8) + (9) + (10); "
               "(11) = (12) + (13); số chuyển từ kỳ trước bằng số đang giải quyết cuối kỳ trước; số TTHC do Trung "
               "ương và địa phương quy định cộng lại bằng tổng số.", icon=":material/verified:")

if f.access.can_import:
    st.subheader("Nhật ký nhập dữ liệu", anchor=False)
    st.caption("Ai đã nhập tệp nào, lúc nào, mã băm SHA-256 của tệp và kết quả (kể cả các lần bị từ chối).")
    ui.show_table(ui.import_log_table(ui.import_log(f)), key="dl_log")

st.subheader("Nhật ký hoạt động", anchor=False)
st.caption("Đăng nhập, nhập dữ liệu, chốt số liệu, xuất báo cáo và thay đổi tài khoản: ai, lúc nào, việc gì, cơ quan "
           "nào. Quản trị xem tất cả; cán bộ xem của đơn vị mình.")
ui.show_table(ui.audit_table(ui.audit_log(f)), key="dl_audit")

if f.demo:
    ui.demo_tools(f)
