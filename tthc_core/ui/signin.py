"""Who is looking: the sign-in screen (built-in accounts or the province's identity provider)."""
from __future__ import annotations

import os

import streamlit as st

from .. import auth
from ..auth import OPEN_SCOPE, AuthError, Scope
from ..db import data_version
from . import queries

OPEN_ENV = "TTHC_OPEN"  # "1": a deployment opened on purpose, no sign-in


def _oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` configures an identity provider for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all is the common case
        return False


def sign_in(url: str) -> Scope:
    """Who is looking; draws the sign-in screen and stops the run until someone has signed in.

    The demo database and deployments opened on purpose (``TTHC_OPEN=1``) need no sign-in. Otherwise
    the province's identity provider (``st.login``, matched by e-mail to an account) when configured,
    else the built-in accounts (``python -m tthc_core user add``).
    """
    if queries.is_demo_db(url, data_version(url)) or os.environ.get(OPEN_ENV) == "1":
        return OPEN_SCOPE
    state = st.session_state
    oidc = _oidc_configured()
    access = state.get("_access")
    if access is None and oidc and st.user.is_logged_in:
        try:
            access = state["_access"] = auth.scope_for_email(url, st.user.email)
        except AuthError as exc:
            st.error(str(exc), icon=":material/block:")
            st.button("Đăng xuất", on_click=st.logout)
            st.stop()
    if access is None:
        _sign_in_screen(url, oidc)
        st.stop()
    with st.sidebar:
        who = f"**{access.username}** · {auth.ROLE_LABELS[access.role]}"
        st.caption(f"Đang đăng nhập: {who}")
        st.button("Đăng xuất", key="sign_out", on_click=_sign_out, args=(oidc,), icon=":material/logout:")
    return access


def _sign_out(oidc: bool) -> None:
    st.session_state.clear()
    if oidc:
        st.logout()


def _sign_in_screen(url: str, oidc: bool) -> None:
    st.title("Thống kê thủ tục hành chính", anchor=False)
    st.caption("Đăng nhập để xem số liệu của cơ quan, đơn vị được giao.")
    if oidc:
        st.button("Đăng nhập bằng tài khoản của tỉnh", on_click=st.login, type="primary", icon=":material/login:")
        return
    if refused := st.session_state.pop("_sign_in_refused", None):
        st.error(refused, icon=":material/block:")
    with st.form("sign_in"):
        st.text_input("Tên đăng nhập hoặc e-mail", key="_sign_in_user")
        st.text_input("Mật khẩu", type="password", key="_sign_in_password")
        # A callback, not the button's return value: it runs before the next script run, whatever
        # reruns the frame makes (see streamlit_pages_workaround).
        st.form_submit_button("Đăng nhập", type="primary", on_click=_attempt_sign_in, args=(url,))


def _attempt_sign_in(url: str) -> None:
    state = st.session_state
    try:
        state["_access"] = auth.authenticate(url, state.get("_sign_in_user", ""), state.get("_sign_in_password", ""))
    except AuthError as exc:
        state["_sign_in_refused"] = str(exc)
    state["_sign_in_password"] = ""  # never kept in the session
