"""Sign-ins that last, and end, in a real browser; a real OpenID Connect provider; a trusted proxy.

- password sign-in survives a reload and a second tab, and ends on sign-out, account disable and
  password reset (issue 14 item 7);
- ``st.login`` against panva's certified ``oidc-provider`` started on 127.0.0.1 (``tests/oidc``,
  installed with ``npm ci --prefix tests/oidc``): sign in, land on the account's role and agency,
  reload, sign out;
- an identity from a trusted reverse-proxy header, refused from an untrusted address.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import copy_database
from sqlalchemy import delete
from test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _require_chromium, settle, streamlit_server

from tthc_core.auth import audit_log, create_user, set_disabled, set_password
from tthc_core.db import dispose_engine, get_engine
from tthc_core.models import Setting

PASSWORD = "mot-mat-khau-dai"
OIDC_DIR = Path(__file__).resolve().parent / "oidc"
SIGNED_IN = "Đang đăng nhập"


def _private_copy(demo_url: str, folder: Path) -> str:
    """The demo's data as someone's database (not the open demo), with accounts."""
    url = copy_database(demo_url, folder)
    with get_engine(url).begin() as conn:
        conn.execute(delete(Setting).where(Setting.key == "demo"))
    create_user(url, "canbo", "officer", PASSWORD, ["SLDTBXH"])
    create_user(url, "giamdoc", "viewer", PASSWORD, ["STP"])
    create_user(url, "canbo@langson.gov.vn", "officer", None, ["SLDTBXH"])
    create_user(url, "tinh", "province", None)
    dispose_engine(url)
    return url


@pytest.fixture(scope="module")
def chromium():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def password_server(demo_url, tmp_path_factory):
    _require_chromium()
    url = _private_copy(demo_url, tmp_path_factory.mktemp("sessions"))
    with streamlit_server(url, tmp_path_factory.mktemp("sessions-server") / "streamlit.log") as base:
        yield base, url


def _sign_in_form(tab, username: str) -> None:
    tab.get_by_label("Tên đăng nhập hoặc e-mail").fill(username)
    tab.get_by_label("Mật khẩu").fill(PASSWORD)
    tab.get_by_role("button", name="Đăng nhập").click()
    tab.get_by_text(SIGNED_IN).wait_for(timeout=60_000)


def _asks_for_password(tab) -> None:
    tab.get_by_label("Mật khẩu").wait_for(timeout=60_000)
    assert SIGNED_IN not in tab.inner_text("body")


def test_a_password_sign_in_survives_reloads_and_tabs_until_the_account_is_disabled(chromium, password_server):
    base, url = password_server
    context = chromium.new_context(locale="en-US")
    tab = context.new_page()
    tab.goto(f"{base}/?period=2022-Q2")
    _sign_in_form(tab, "canbo")
    cookie = {c["name"]: c for c in context.cookies()}["tthc_session"]
    assert cookie["sameSite"] == "Strict" and 7.9 * 3600 < cookie["expires"] - time.time() <= 8 * 3600
    tab.reload()
    tab.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
    settle(tab)
    assert "3.238" in tab.inner_text("body")  # the officer's own unit, Q2/2022
    second = context.new_page()
    second.goto(f"{base}/du_lieu")
    second.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
    set_disabled(url, "canbo", by="test")
    tab.reload()
    _asks_for_password(tab)
    second.reload()
    _asks_for_password(second)
    context.close()
    set_disabled(url, "canbo", False, by="test")


def test_sign_out_and_a_password_reset_end_the_session_everywhere(chromium, password_server):
    base, url = password_server
    context = chromium.new_context(locale="en-US")
    tab = context.new_page()
    tab.goto(base)
    _sign_in_form(tab, "giamdoc")
    other = chromium.new_context(locale="en-US")  # another computer, the same account
    elsewhere = other.new_page()
    elsewhere.goto(base)
    _sign_in_form(elsewhere, "giamdoc")
    tab.get_by_role("button", name="Đăng xuất").click()
    _asks_for_password(tab)
    tab.reload()
    _asks_for_password(tab)
    elsewhere.reload()
    elsewhere.get_by_text(SIGNED_IN).wait_for(timeout=60_000)  # signing out here ends only this session
    set_password(url, "giamdoc", "mot-mat-khau-moi-dai", by="test")
    elsewhere.reload()
    _asks_for_password(elsewhere)
    set_password(url, "giamdoc", PASSWORD, by="test")
    assert [e["action"] for e in audit_log(url, username="giamdoc")][:3] == ["sign_out", "sign_in", "sign_in"]
    context.close()
    other.close()


# --- a trusted reverse proxy -------------------------------------------------------------------------

@pytest.mark.parametrize("trusted, signed_in", [("127.0.0.1/32", True), ("10.9.9.9", False)])
def test_an_identity_from_a_proxy_header_counts_only_from_a_trusted_proxy(chromium, demo_url, tmp_path, trusted,
                                                                          signed_in):
    url = _private_copy(demo_url, tmp_path)
    env = {"TTHC_AUTH_PROXY_HEADER": "X-Remote-User", "TTHC_AUTH_PROXY_TRUSTED": trusted}
    with streamlit_server(url, tmp_path / "streamlit.log", **env) as base:
        context = chromium.new_context(locale="en-US", extra_http_headers={"X-Remote-User": "tinh"})
        tab = context.new_page()
        tab.goto(f"{base}/?agency=SLDTBXH&period=2022-Q2")
        if signed_in:
            tab.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
            settle(tab)
            body = tab.inner_text("body")
            assert "tinh" in body and "3.238" in body
        else:
            tab.get_by_text("không phải máy chủ trung gian được tin cậy").wait_for(timeout=60_000)
            assert "3.238" not in tab.inner_text("body")
        context.close()


# --- a real OpenID Connect provider ------------------------------------------------------------------

@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory):
    """panva's oidc-provider under Node on 127.0.0.1, registered for the dashboard's callback."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm and not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        # The README's one test command installs the provider too (from the committed lock file).
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, check=False, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        if os.environ.get("CI"):
            pytest.fail("the OpenID Connect provider is missing under CI: run `npm ci --prefix tests/oidc`.")
        pytest.skip("node or tests/oidc/node_modules missing (npm ci --prefix tests/oidc)")
    port, app_port = _free_port(), _free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    secret = "tthc-test-secret-not-for-production"
    env = os.environ | {"OIDC_PORT": str(port), "OIDC_REDIRECT_URI": f"http://127.0.0.1:{app_port}/oauth2callback",
                        "OIDC_CLIENT_ID": "tthc-dashboard", "OIDC_CLIENT_SECRET": secret}
    with log.open("w") as out:
        process = subprocess.Popen([node, "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"oidc-provider did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        secrets = tmp_path_factory.mktemp("oidc-secrets") / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
            'cookie_secret = "a-long-random-string-for-the-tests-only-0123456789"\n'
            'client_id = "tthc-dashboard"\n'
            f'client_secret = "{secret}"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
            # Streamlit asks for prompt=select_account by default, which oidc-provider (like many
            # providers) refuses as unsupported; "login" is in every provider's list.
            "[auth.client_kwargs]\n"
            'prompt = "login"\n')
        yield issuer, app_port, secrets
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def oidc_server(oidc_provider, demo_url, tmp_path_factory):
    _, app_port, secrets = oidc_provider
    url = _private_copy(demo_url, tmp_path_factory.mktemp("oidc-db"))
    with streamlit_server(url, tmp_path_factory.mktemp("oidc-server") / "streamlit.log", port=app_port,
                          STREAMLIT_SECRETS_FILES=str(secrets)) as base:
        yield base, url


def _provider_sign_in(chromium, base: str, login: str):
    """A new browser signs in at the provider's own page as ``login``; returns (context, tab)."""
    context = chromium.new_context(locale="en-US")
    tab = context.new_page()
    tab.goto(f"{base}/?period=2022-Q2")
    tab.get_by_role("button", name="Đăng nhập bằng tài khoản của tỉnh").click()
    tab.locator('input[name="login"]').fill(login)  # the provider's own page
    tab.locator('input[name="password"]').fill("any-password")
    tab.get_by_role("button", name="Sign-in").click()
    consent = tab.get_by_role("button", name="Continue")
    consent.wait_for(timeout=30_000)
    consent.click()
    return context, tab


def test_sign_in_through_a_real_openid_connect_provider(chromium, oidc_server):
    base, url = oidc_server
    context, tab = _provider_sign_in(chromium, base, "CanBo@LangSon.gov.vn")
    tab.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
    settle(tab)
    body = tab.inner_text("body")
    assert "canbo@langson.gov.vn" in body and "Cán bộ đơn vị" in body
    assert "Sở Lao động" in body and "Sở Tư pháp" not in body  # the officer's own agency only
    tab.goto(f"{base}/?period=2022-Q2")  # a new page load: the sign-in holds
    tab.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
    settle(tab)
    assert "3.238" in tab.inner_text("body")  # the reference quarter of that agency
    tab.reload()
    tab.get_by_text(SIGNED_IN).wait_for(timeout=60_000)
    assert [e["detail"] for e in audit_log(url, username="canbo@langson.gov.vn")][-1] == "oidc"
    tab.get_by_role("button", name="Đăng xuất").click()
    # st.logout ends the provider's session too (RP-initiated logout); the provider asks to confirm.
    tab.get_by_role("button", name="Yes, sign me out").click()
    tab.get_by_role("button", name="Đăng nhập bằng tài khoản của tỉnh").wait_for(timeout=60_000)
    tab.reload()
    tab.get_by_role("button", name="Đăng nhập bằng tài khoản của tỉnh").wait_for(timeout=60_000)
    assert SIGNED_IN not in tab.inner_text("body")
    context.close()


def test_an_identity_without_an_account_is_refused(chromium, oidc_server):
    base, _ = oidc_server
    context, tab = _provider_sign_in(chromium, base, "la@example.org")
    tab.get_by_text("chưa được cấp quyền").wait_for(timeout=60_000)
    assert SIGNED_IN not in tab.inner_text("body") and "3.238" not in tab.inner_text("body")
    context.close()
