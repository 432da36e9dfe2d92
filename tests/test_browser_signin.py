"""Sign-in in a real browser: a viewer of one unit sees only that unit; an officer gets the uploader."""
from __future__ import annotations

import pytest
from conftest import copy_database
from sqlalchemy import delete
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _require_chromium, settle, streamlit_server

from tthc_core.auth import create_user
from tthc_core.db import dispose_engine, get_engine
from tthc_core.formatting import fmt_int
from tthc_core.models import Setting
from tthc_core.stats import compute_stats

PASSWORD = "mot-mat-khau-dai"


@pytest.fixture(scope="module")
def private_server(demo_url, tmp_path_factory):
    """``streamlit run dashboard.py`` on a non-demo copy of the demo data, with accounts."""
    _require_chromium()
    url = copy_database(demo_url, tmp_path_factory.mktemp("signin"))
    with get_engine(url).begin() as conn:
        conn.execute(delete(Setting).where(Setting.key == "demo"))
    create_user(url, "giamdoc", "viewer", PASSWORD, ["STP"])
    create_user(url, "canbo", "officer", PASSWORD, ["SLDTBXH"])
    create_user(url, "tinh", "province", PASSWORD)
    create_user(url, "quantri", "admin", PASSWORD)
    dispose_engine(url)
    with streamlit_server(url, tmp_path_factory.mktemp("signin-server") / "streamlit.log") as base:
        yield base, url


@pytest.fixture(scope="module")
def chromium(private_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def signed_in(chromium, base: str, username: str, path: str = ""):
    context = chromium.new_context(viewport={"width": 1440, "height": 1800}, locale="en-US")
    tab = context.new_page()
    tab.goto(f"{base}/{path}?agency=SLDTBXH&period=2022-Q2&mode=report")
    tab.get_by_label("Tên đăng nhập hoặc e-mail").fill(username)
    tab.get_by_label("Mật khẩu").fill(PASSWORD)
    tab.get_by_role("button", name="Đăng nhập").click()
    tab.get_by_text("Đang đăng nhập").wait_for(timeout=60_000)
    settle(tab)
    return context, tab


def test_the_sign_in_screen_hides_every_figure(chromium, private_server):
    base, _ = private_server
    context = chromium.new_context(locale="en-US")
    tab = context.new_page()
    tab.goto(f"{base}/?agency=SLDTBXH&period=2022-Q2")
    tab.get_by_label("Mật khẩu").wait_for(timeout=60_000)
    assert "3.238" not in tab.inner_text("body")
    context.close()


def test_a_viewer_signs_in_and_sees_only_their_unit(chromium, private_server):
    base, url = private_server
    context, tab = signed_in(chromium, base, "giamdoc")
    body = tab.inner_text("body")
    stp = compute_stats(url, "2022-Q2", agency="STP")["dossiers"]["total"]
    assert fmt_int(stp["received_total"]) in body and "Sở Tư pháp" in body
    assert "3.238" not in body and "Sở Lao động" not in body
    assert not tab.query_selector('[data-testid="stException"]')
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "signin_viewer.png"), full_page=True)
    # Within the app (a reload starts a new session, which asks to sign in again).
    tab.get_by_role("link", name="Dữ liệu").click()
    tab.get_by_role("heading", name="Chất lượng dữ liệu").wait_for(timeout=60_000)
    settle(tab)
    assert "chỉ xem và tải số liệu" in tab.inner_text("body")
    assert not tab.query_selector('[data-testid="stFileUploader"]')
    context.close()


def test_an_officer_signs_in_and_may_upload(chromium, private_server):
    base, _ = private_server
    context, tab = signed_in(chromium, base, "canbo", "du_lieu")
    assert tab.query_selector('[data-testid="stFileUploader"]')
    assert "Nhật ký nhập dữ liệu" in tab.inner_text("body")
    context.close()


@pytest.mark.parametrize("username", ["tinh", "quantri"])
def test_province_wide_roles_sign_in_and_see_the_reference_quarter(chromium, private_server, username):
    base, _ = private_server
    context, tab = signed_in(chromium, base, username)
    body = tab.inner_text("body")
    assert "3.238" in body and "Sở Lao động" in body
    assert not tab.query_selector('[data-testid="stException"]')
    context.close()
