"""The data page's «Cơ quan, đơn vị» section: an administrator creates the agency an officer's first
import or account needs (issue 13 item 5); everyone else is told who does it."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import auth
from ..formatting import fmt_int
from . import queries
from .display import show_table
from .sidebar import Filters

CODE_KEY, NAME_KEY = "ag_code", "ag_name"
WHO_CREATES = ("Cơ quan chưa có trong danh sách thì quản trị viên tạo trước, ở trang **Dữ liệu**, mục «Cơ quan, đơn "
               "vị» (hoặc lệnh `python -m tthc_core user add … --agency MÃ --create-agency \"Tên cơ quan\"`); "
               "cán bộ đơn vị không tự tạo được cơ quan.")


def _create(f: Filters) -> None:
    """The form's callback: create, then leave the outcome (and empty fields on success) for the run."""
    state = st.session_state
    if refusal := queries.write_refusal(f):
        state["_agency_failed"] = refusal
        return
    try:
        made = auth.create_agency(f.url, state.get(CODE_KEY, ""), state.get(NAME_KEY, ""), by=f.access)
    except (auth.AuthError, auth.AccessDenied) as exc:
        state["_agency_failed"] = str(exc)
        return
    state["_agency_done"] = (f"Đã tạo cơ quan «{made['code']}» — {made['name']}. Cán bộ của cơ quan này giờ nhập được "
                             "tệp hồ sơ và có thể được cấp tài khoản.")
    state[CODE_KEY] = state[NAME_KEY] = ""


def agency_admin(f: Filters) -> None:
    """The list of agencies and, for an administrator, the form that creates one."""
    st.subheader("Cơ quan, đơn vị", anchor=False)
    if not f.access.can_manage_users:
        st.caption(WHO_CREATES)
        return
    st.caption("Mỗi cơ quan có một mã (như trong tệp xuất, cột mã cơ quan) và một tên. Tạo cơ quan trước khi cán bộ "
               "của cơ quan đó nhập tệp hồ sơ hoặc được cấp tài khoản; việc tạo được ghi vào nhật ký hoạt động.")
    if done := st.session_state.pop("_agency_done", None):
        st.success(done, icon=":material/check_circle:")
    if failed := st.session_state.pop("_agency_failed", None):
        st.error(failed, icon=":material/block:")
    refusal = queries.write_refusal(f)
    with st.form("agency_form", border=True):
        code, name = st.columns([1, 3])
        code.text_input("Mã cơ quan", key=CODE_KEY, max_chars=64, placeholder="Ví dụ: SNV",
                        help="Chữ cái không dấu, chữ số, dấu chấm, gạch ngang; không có khoảng trắng.")
        name.text_input("Tên cơ quan", key=NAME_KEY, max_chars=255, placeholder="Ví dụ: Sở Nội vụ")
        st.form_submit_button("Tạo cơ quan", icon=":material/add_business:", on_click=_create, args=(f,),
                              disabled=bool(refusal))
    rows = queries.agencies(f.url, f.version, f.access)
    frame = pd.DataFrame({"Mã cơ quan": [r["code"] for r in rows], "Tên cơ quan": [r["name"] for r in rows]})
    with st.expander(f"Danh sách {fmt_int(len(rows))} cơ quan đang có"):
        show_table(frame, text_columns=list(frame.columns), key="ag_list")
