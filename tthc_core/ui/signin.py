"""Who is looking: a trusted proxy's header, a lasting session, the province's identity provider, or the
sign-in screen of the built-in accounts.

A sign-in becomes a server-side session (``auth.start_session``): the browser keeps its random token in
the ``tthc_session`` cookie, so a reload or a second tab finds it again (``st.context.cookies``), and
every run checks it against the database, so sign-out, disabling the account and a password reset end
it everywhere at the next click.
"""
from __future__ import annotations

import json
import os

import streamlit as st

from .. import auth
from ..auth import OPEN_SCOPE, AuthError, Scope

OPEN_ENV = "TTHC_OPEN"  # "1": a deployment opened on purpose, no sign-in
SESSION_COOKIE = "tthc_session"


def _oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` configures an identity provider for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all is the common case
        return False


def _client() -> str:
    """The browser's address as the server sees it; Streamlit gives ``None`` for the loopback."""
    address = st.context.ip_address
    return address if isinstance(address, str) else "127.0.0.1"


def _cookie() -> str | None:
    """The session token this browser sent when the page was opened (a reload, a new tab)."""
    token = st.context.cookies.get(SESSION_COOKIE)
    return token if isinstance(token, str) else None


def sign_in(url: str) -> Scope:
    """Who is looking; draws the sign-in screen and stops the run until someone has signed in.

    The demo as ``demo`` built it (no accounts, no real imports) and deployments opened on purpose
    (``TTHC_OPEN=1``) need no sign-in. Otherwise, in this order: a trusted reverse proxy's header when
    configured, this browser's session, the province's identity provider (``st.login``, matched by
    e-mail to an account), else the built-in accounts (``python -m tthc_core user add``).
    """
    state = st.session_state
    if os.environ.get(OPEN_ENV) == "1" or not auth.needs_sign_in(url):
        # Open to look at; an administrator who signs in on the data page writes (tthc_core/demo_guard.py).
        _write_cookie()
        return auth.session_scope(url, state.get("_session_token", _cookie())) or OPEN_SCOPE
    try:
        proxied = auth.proxy_username(st.context.headers, _client())
    except AuthError as exc:
        _refuse(str(exc))
    if proxied:
        return _proxy_scope(url, proxied)
    oidc = _oidc_configured()
    token = state.get("_session_token", _cookie())
    access = auth.session_scope(url, token)
    if access is None and token:
        state["_session_token"] = None  # ended, expired or revoked: the cookie in this tab no longer counts
    if access is None and oidc and st.user.is_logged_in:
        try:
            email = st.user.get("email")
            if not email:
                raise AuthError("Nhà cung cấp định danh không gửi e-mail của tài khoản (cần phạm vi «email» "
                                "trong mã định danh); liên hệ quản trị viên.")
            access = auth.scope_for_email(url, email, client=_client())
        except AuthError as exc:
            _refuse(str(exc), on_click=st.logout)
        _keep(auth.start_session(url, access, method="oidc", client=_client()))
    _write_cookie()
    if access is None:
        _sign_in_screen(url, oidc)
        st.stop()
    with st.sidebar:
        who = f"**{access.username}** · {auth.ROLE_LABELS[access.role]}"
        st.caption(f"Đang đăng nhập: {who}")
        st.button("Đăng xuất", key="sign_out", on_click=_sign_out, args=(url, oidc), icon=":material/logout:")
    return access


def _proxy_scope(url: str, username: str) -> Scope:
    """The proxy signs every request: the account is read again each run, the sign-in recorded once."""
    try:
        if st.session_state.get("_proxy_user") != username:
            access = auth.scope_for_email(url, username, method="proxy", client=_client())
            st.session_state["_proxy_user"] = username
        else:
            access = auth.account_scope(url, username)
    except AuthError as exc:
        _refuse(str(exc))
    with st.sidebar:
        st.caption(f"Đang đăng nhập: **{access.username}** · {auth.ROLE_LABELS[access.role]} (qua máy chủ trung gian)")
    return access


def _refuse(message: str, on_click=None) -> None:
    st.error(message, icon=":material/block:")
    if on_click is not None:
        st.button("Đăng xuất", on_click=on_click)
    st.stop()


def _keep(token: str | None) -> None:
    """This tab's session token, and the cookie that carries it to reloads and other tabs (or clears it)."""
    st.session_state["_session_token"] = token
    st.session_state["_cookie_pending"] = token or ""


def _write_cookie() -> None:
    """Set or clear the session cookie in the browser: Streamlit reads cookies but has no call to set
    one, so a few lines of JavaScript do it (``st.html`` runs in the page itself, not a frame).
    SameSite=Strict keeps it off cross-site requests; it cannot be HttpOnly when script sets it, which
    is why the server keeps only its hash and checks it every run (docs/security.md)."""
    token = st.session_state.pop("_cookie_pending", None)
    if token is None:
        return
    seconds = int(auth.session_lifetime().total_seconds()) if token else 0
    st.html(f"""<script>
      document.cookie = {json.dumps(SESSION_COOKIE)} + "=" + {json.dumps(token)} + "; Path=/; Max-Age={seconds}"
        + "; SameSite=Strict" + (location.protocol === "https:" ? "; Secure" : "");
    </script>""", unsafe_allow_javascript=True, width=1)


def _sign_out(url: str, oidc: bool) -> None:
    auth.end_session(url, st.session_state.get("_session_token", _cookie()))
    st.session_state.clear()
    _keep(None)
    if oidc:
        st.logout()


def _sign_in_screen(url: str, oidc: bool) -> None:
    st.title("Thống kê thủ tục hành chính", anchor=False)
    st.caption("Đăng nhập để xem số liệu của cơ quan, đơn vị được giao.")
    if oidc:
        st.button("Đăng nhập bằng tài khoản của tỉnh", on_click=st.login, type="primary", icon=":material/login:")
        return
    sign_in_form(url)


def sign_in_form(url: str) -> None:
    """The built-in accounts' form (also offered on the demo, where only an administrator writes)."""
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
        access = auth.authenticate(url, state.get("_sign_in_user", ""), state.get("_sign_in_password", ""),
                                   client=_client())
        _keep(auth.start_session(url, access, client=_client()))
    except AuthError as exc:
        state["_sign_in_refused"] = str(exc)
    state["_sign_in_password"] = ""  # never kept in the session
