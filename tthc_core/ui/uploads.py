"""The data page's upload: a dry run kept for the session, then the import as a button callback."""
from __future__ import annotations

from typing import Any

import streamlit as st

from ..auth import AccessDenied, log_import, scoped_import
from .sidebar import Filters

IMPORT_KINDS = {"auto": "Tự nhận biết", "dossiers": "Hồ sơ", "procedures": "Danh mục thủ tục"}
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
    result = scoped_import(f.url, f.access, data, kind=kind, agency=agency, filename=file_name, dry_run=True)
    st.session_state["_upload_check"] = (key, result)
    return result


def import_upload(f: Filters, data: bytes, file_name: str, kind: str | None, agency: str | None,
                  skip_invalid: bool) -> None:
    """The «Nhập dữ liệu» button's callback: write the file, then leave the outcome for the next run
    (a callback runs before the page, so the new data version is already there when it draws)."""
    try:
        result = scoped_import(f.url, f.access, data, kind=kind, agency=agency, filename=file_name,
                               skip_invalid=skip_invalid)
    except AccessDenied as exc:
        st.session_state["_import_failed"] = str(exc)
        return
    # Who imported what, written or refused.
    log_import(f.url, f.access, file_name, data, result)
    st.session_state.pop("_upload_check", None)
    if result.written:
        st.session_state["_import_done"] = result.summary()
        # A new key empties the uploader, so the written file is not checked again.
        st.session_state["_upload_round"] = st.session_state.get("_upload_round", 0) + 1
    else:
        st.session_state["_import_failed"] = result.summary()


def upload_key() -> str:
    return f"dl_file_{st.session_state.get('_upload_round', 0)}"
