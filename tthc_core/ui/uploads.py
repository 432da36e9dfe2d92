"""The data page's upload: a dry run kept for the session, then the import as a button callback."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from .. import demo_guard
from ..auth import AccessDenied, scoped_import
from ..formatting import fmt_date
from ..periods import Period, parse_period, period_containing
from . import queries, signin
from .sidebar import Filters, jump_to

IMPORT_KINDS = {"auto": "Tự nhận biết", "dossiers": "Hồ sơ", "procedures": "Danh mục thủ tục",
                "pakn": "Phản ánh, kiến nghị (PAKN)"}
# File types that are a registered import format rather than a table kind (importer/pakn.py).
FORMAT_KINDS = ("pakn",)


def _kind_options(kind: str | None) -> dict[str, Any]:
    return {"kind": None, "format": kind} if kind in FORMAT_KINDS else {"kind": kind}
# Our own limit, stated in Vietnamese; Streamlit's server.maxUploadSize (config.toml) sits above it.
MAX_UPLOAD_MB = 200


def check_upload(f: Filters, data: bytes, file_name: str, kind: str | None, agency: str | None) -> Any:
    """Dry run of the importer for an uploaded file (nothing written), kept for the session so a
    rerun does not read the file again. The core refuses roles that may not import and rows of
    agencies outside the account's scope."""
    key = ("_upload_check", file_name, len(data), hash(data), kind, agency, f.version, f.access)
    cached = st.session_state.get("_upload_check")
    if cached and cached[0] == key:
        return cached[1]
    result = scoped_import(f.url, f.access, data, agency=agency, filename=file_name, dry_run=True,
                           **_kind_options(kind))
    st.session_state["_upload_check"] = (key, result)
    return result


def import_upload(f: Filters, data: bytes, file_name: str, kind: str | None, agency: str | None,
                  skip_invalid: bool) -> None:
    """The «Nhập dữ liệu» button's callback: write the file, then leave the outcome for the next run
    (a callback runs before the page, so the new data version is already there when it draws)."""
    if refusal := demo_guard.write_refusal(f.url, f.access):
        st.session_state["_import_failed"] = refusal
        return
    try:
        result = scoped_import(f.url, f.access, data, agency=agency, filename=file_name, skip_invalid=skip_invalid,
                               **_kind_options(kind))
    except AccessDenied as exc:  # recorded in the audit trail by scoped_import
        st.session_state["_import_failed"] = str(exc)
        return
    st.session_state.pop("_upload_check", None)
    if result.written:
        st.session_state["_import_done"] = result.summary() + _jump_to_file(result)
        # A new key empties the uploader, so the written file is not checked again.
        st.session_state["_upload_round"] = st.session_state.get("_upload_round", 0) + 1
    else:
        st.session_state["_import_failed"] = result.summary()


def covered_days(result: Any) -> tuple[dt.date, dt.date] | None:
    """First and last day a dossier file's rows were received (the importer's own range when it
    reports one, else read from its parsed rows)."""
    covered = getattr(result, "covered", None)
    if covered:
        return covered
    if result.kind != "dossiers" or "received_at" not in result.preview.columns:
        return None
    received = pd.to_datetime(result.preview["received_at"]).dropna()
    return (received.min().date(), received.max().date()) if len(received) else None


def covering_period(first: dt.date, last: dt.date, mode: str) -> Period:
    """The quarter holding both days, else the quarters from the first's to the last's as one range."""
    start, end = period_containing(first, "quarter", mode), period_containing(last, "quarter", mode)
    if start == end:
        return start
    return parse_period(f"{start.start.isoformat()}..{end.end.isoformat()}", mode)


def _jump_to_file(result: Any) -> str:
    """Show the periods the imported file covers (its rows would be invisible in another quarter)."""
    days = covered_days(result)
    if days is None:
        return ""
    period = covering_period(*days, st.session_state.get("_mode", "report"))
    jump_to(period)
    return (f" Tệp gồm hồ sơ tiếp nhận từ {fmt_date(days[0])} đến {fmt_date(days[1])}: đang hiển thị "
            f"{period.label}.")


def upload_key() -> str:
    return f"dl_file_{st.session_state.get('_upload_round', 0)}"


def _reset_demo(url: str) -> None:
    demo_guard.reset_demo(url)
    st.session_state["_import_done"] = ("Đã khôi phục dữ liệu minh họa: quý II/2022 của Sở LĐTBXH lại là 3.238 / "
                                        "2.525 / 713.")


def demo_tools(f: Filters) -> None:
    """On the demo: put it back as built, and let an administrator sign in to write."""
    st.subheader("Dữ liệu minh họa", anchor=False)
    reference = queries.demo_reference(f.url, f.version)
    allowed = not reference["reproduced"] or demo_guard.signed_in_admin(f.access)
    st.caption("Khôi phục tạo lại toàn bộ dữ liệu minh họa từ đầu (khoảng 10 giây): mọi dữ liệu đã nhập vào đây bị "
               "xóa. " + ("" if allowed else "Dữ liệu đang khớp báo cáo gốc, không cần khôi phục."))
    st.button("Khôi phục dữ liệu minh họa", key="demo_reset", icon=":material/restart_alt:", disabled=not allowed,
              on_click=_reset_demo, args=(f.url,))
    if not demo_guard.signed_in_admin(f.access):
        with st.expander("Đăng nhập quản trị viên để ghi vào dữ liệu minh họa"):
            signin.sign_in_form(f.url)
