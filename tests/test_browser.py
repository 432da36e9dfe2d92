"""The dashboard in a real browser: ``streamlit run dashboard.py`` on a free port, driven by
Playwright with Debian's Chromium (``/usr/bin/chromium``, no browser download).

Each page is opened with the reference filters in the URL, waited for until its figures and charts
are drawn, checked for error boxes, and photographed into ``tests/artifacts/`` (git-ignored) so a
person can look at what a director would see. The browser runs in English on purpose: numbers must
still read the Vietnamese way (formatting happens on the server).

Without Chromium these tests are skipped, except under CI where that is a failure.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import copy_database
from test_pages import BAD_CSV

from tthc_core.formatting import fmt_int
from tthc_core.ui.cards import KPI_REFRESH_ENV
from tthc_core.ui.streamlit_pages_workaround import LOG_LINE
from tthc_core.stats import compute_stats

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
REFERENCE = "agency=SLDTBXH&period=2022-Q2"
# url path → (screenshot name, text that proves the page drew its figures for Sở LĐTBXH, Q2/2022)
PAGES = {
    "": ("1_tong_quan", "3.238"),
    "thu_tuc": ("2_thu_tuc", "Thủ tục hành chính"),
    "giai_quyet": ("3_giai_quyet", "3.238"),
    "mot_cua": ("4_mot_cua", "56 TTHC"),
    "truc_tuyen": ("5_truc_tuyen", "3.031 hồ sơ mới"),
    "du_lieu": ("6_du_lieu", "Chất lượng dữ liệu"),
    "chi_so_766": ("8_chi_so_766", "Việc cần làm để tăng điểm"),
}
# The script run is over, no placeholder is left and every chart is drawn.
SETTLED = """() => {
  const state = document.querySelector('[data-test-script-state]');
  if (!state || state.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]')) return false;
  return [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'));
}"""


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI: install Debian's chromium package.")
        pytest.skip(f"{CHROMIUM} is not installed")
    pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server_db(demo_url, tmp_path_factory) -> str:
    """The copy of the demo database the browser tests' server reads (and one test writes to)."""
    return copy_database(demo_url, tmp_path_factory.mktemp("browser"))


@contextmanager
def streamlit_server(database_url: str, log: Path, port: int | None = None, **env: str):
    """``streamlit run dashboard.py`` on ``port`` (default: a free one) for ``database_url``; yields the
    base URL, then checks that its log has no traceback and stops it.

    The log is read before the stop, unbuffered: a signal can catch Streamlit's own server closing a
    browser's websocket twice (starlette's WebSocketDisconnected, seen on a loaded machine), which says
    nothing about the dashboard."""
    port = port or _free_port()
    environ = ({k: v for k, v in os.environ.items() if k != "TTHC_OPEN"}
               | {"TTHC_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"} | env)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    served = ""
    try:
        _wait_healthy(base, process, log)
        yield base
        served = log.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in served, served[-3000:]


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server") / "streamlit.log"


@pytest.fixture(scope="module")
def server(server_db, server_log):
    """A fresh ``streamlit run dashboard.py`` on a copy of the demo database; killed at the end. The KPI
    cards reread the data every 2 s instead of 30 s (the refresh test waits for them)."""
    _require_chromium()
    with streamlit_server(server_db, server_log, **{KPI_REFRESH_ENV: "2s"}) as base:
        yield base


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # The server's first request goes to the overview before any test's, so that no test depends on
        # running first (test_shared_link… covers a fresh server's first request on a server of its own).
        # Known and left: on a fresh server, a first request to a page the app lacks shows Streamlit's
        # own "Page not found" dialog; from the second request on, the Vietnamese notice.
        context = chromium.new_context(locale="en-US")
        open_page(context.new_page(), server, "", REFERENCE, "3.238")
        context.close()
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    # English browser on purpose: Vietnamese formatting must not depend on the browser's language.
    context = browser.new_context(viewport={"width": 1440, "height": 2400}, locale="en-US")
    tab = context.new_page()
    yield tab
    context.close()


def settle(tab) -> None:
    """Wait until the page is drawn and stays so (a chart may still be finishing its transition)."""
    for _ in range(2):
        tab.wait_for_function(SETTLED, timeout=60_000)
        tab.wait_for_timeout(600)
    tab.wait_for_function(SETTLED, timeout=60_000)


def open_page(tab, base: str, path: str, query: str, expected: str) -> None:
    tab.goto(f"{base}/{path}?{query}")
    tab.get_by_text(expected, exact=False).first.wait_for(timeout=60_000)
    settle(tab)


def assert_no_error_box(tab) -> None:
    assert tab.locator('[data-testid="stException"]').count() == 0
    errors = tab.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def snapshot(tab, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_shared_link_to_a_page_opens_that_page_on_a_fresh_server(page, server_db, tmp_path):
    # The very first request of a server process of its own (the module's server may have served other
    # tests first, whatever order they run in), straight to an inner page (a link sent on Zalo).
    log = tmp_path / "streamlit.log"
    with streamlit_server(server_db, log) as fresh:
        open_page(page, fresh, "giai_quyet", REFERENCE, "Biểu II.06a")
        assert page.get_by_role("heading", name="Giải quyết hồ sơ").count() == 1
        assert page.locator('[data-testid="stSidebar"]').get_by_text("Bộ lọc").count() == 1
        assert_no_error_box(page)
        # Streamlit still ran the page file on its own first (legacy pages/ discovery) and the workaround
        # put it back in the frame. When this fails, Streamlit stopped doing that: delete
        # tthc_core/ui/streamlit_pages_workaround.py.
        assert LOG_LINE in log.read_text()


def test_a_link_to_a_page_the_app_does_not_have_lands_on_the_overview_in_vietnamese(page, server):
    page.goto(f"{server}/bao_cao_thang?{REFERENCE}")
    page.get_by_text("Không có trang «bao_cao_thang» trong ứng dụng", exact=False).wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_role("heading", name="Tổng quan").count() == 1
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "3.238"
    assert page.get_by_text("Page not found").count() == 0  # Streamlit's own English dialog
    assert "bao_cao_thang" not in page.url and "agency=SLDTBXH" in page.url
    assert_no_error_box(page)


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_in_chromium(page, server, path):
    name, expected = PAGES[path]
    open_page(page, server, path, REFERENCE, expected)
    assert_no_error_box(page)
    assert page.get_by_text("Dữ liệu minh họa").count() >= 1
    assert page.get_by_text("Quý II năm 2022 (15/03/2022 – 14/06/2022)").count() >= 1
    snapshot(page, name)


def test_overview_shows_kpis_in_vietnamese_in_an_english_browser(page, server):
    open_page(page, server, "", REFERENCE, "3.238")
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert values[:5] == ["3.238", "2.525", "100,00 %", "0", "1,06 %"]
    assert page.get_by_text("3,238").count() == 0
    # Plotly axes too: thousands with a dot (the monthly trend reaches past 1.000 dossiers).
    ticks = page.locator('[data-testid="stPlotlyChart"] .ytick text').all_text_contents()
    assert "1.000" in ticks and "1,000" not in ticks
    assert "agency=SLDTBXH" in page.url and "period=2022-Q2" in page.url


def test_sidebar_filter_changes_the_figures_and_the_shareable_link(page, server, server_db):
    # From the server's own database: the refresh test adds dossiers to it, in whatever order they run.
    everyone = compute_stats(server_db, "2022-Q2")["dossiers"]["total"]["received_total"]
    open_page(page, server, "", REFERENCE, "3.238")
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="Tất cả cơ quan, đơn vị").click()
    page.get_by_text("Xếp hạng theo cơ quan, đơn vị", exact=True).first.wait_for(timeout=60_000)
    settle(page)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == fmt_int(everyone)
    assert "agency=all" in page.url
    assert_no_error_box(page)


def test_meeting_mode_big_type_one_screen_at_a_time(page, server):
    page.set_viewport_size({"width": 1440, "height": 900})
    open_page(page, server, "", REFERENCE + "&meeting=1", "3.238")
    assert page.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
    value = page.locator('[data-testid="stMetricValue"] p').first
    size = value.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 44
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # screen 1: the KPI cards
    snapshot(page, "meeting_1_chi_so")
    page.get_by_role("button", name="Sau ▶").click()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=30_000)
    settle(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 1
    assert_no_error_box(page)
    snapshot(page, "meeting_2_xep_hang")


def test_upload_of_a_bad_file_shows_every_rejected_row_before_writing(page, server, tmp_path):
    bad = tmp_path / "ho-so-loi.csv"
    bad.write_bytes(BAD_CSV)
    open_page(page, server, "du_lieu", REFERENCE, "Chất lượng dữ liệu")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    page.get_by_text("2 dòng bị loại", exact=False).first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_role("button", name="Nhập dữ liệu").is_disabled()
    assert page.locator('[data-testid="stException"]').count() == 0
    snapshot(page, "6_du_lieu_tep_loi")


def test_kpi_cards_refresh_on_their_own_after_an_import(page, server, server_db):
    # Sở Y tế, Q2/2022: no other test looks at it alone (the province-wide total is read from this
    # database too), so writing to it disturbs nothing.
    from tthc_core.importer import import_file

    before = compute_stats(server_db, "2022-Q2", agency="SYT")["dossiers"]["total"]["received_total"]
    open_page(page, server, "", "agency=SYT&period=2022-Q2", fmt_int(before))
    rows = "".join(f"HS-LIVE-{i},20/04/2022,Trực tuyến\n" for i in range(3))
    result = import_file(server_db, ("Mã hồ sơ,Ngày tiếp nhận,Hình thức nộp\n" + rows).encode(), agency="SYT",
                         filename="live.csv")
    assert result.written, result.summary()
    # No reload, no click: the cards' fragment reruns on its own (every 2 s here) and reads the new data version.
    first_card = page.locator('[data-testid="stMetricValue"]').first
    page.wait_for_function("([el, text]) => el.innerText === text",
                           arg=[first_card.element_handle(), fmt_int(before + 3)], timeout=60_000)
    page.get_by_text("Số liệu vừa được cập nhật", exact=False).wait_for(timeout=10_000)


# --------------------------------------------------------------------------------------------
# A wall, a laptop, a phone (issue 13)
# --------------------------------------------------------------------------------------------

MEETING_PAGES = ["", "thu_tuc", "giai_quyet", "mot_cua", "truc_tuyen"]
# Where the slide's content ends, and what overflows the window (nothing may).
SLIDE_FITS = """() => {
  const slide = document.querySelector('.st-key-meeting_slide');
  if (!slide) return 'no slide';
  const [w, h] = [window.innerWidth, window.innerHeight];
  const out = [...slide.querySelectorAll('*')].map(e => e.getBoundingClientRect())
    .filter(r => r.width > 0 && r.height > 0 && (r.bottom > h + 1 || r.right > w + 1 || r.top < 0));
  return out.length ? `${out.length} boxes outside ${w}×${h}, e.g. bottom ${out[0].bottom}` : '';
}"""
COUNTER = r"""() => { const m = document.body.innerText.match(/Màn hình (\d+) \/ (\d+)/); return m ? [+m[1], +m[2]] : null; }"""


def _slide(tab) -> list[int]:
    settle(tab)
    return tab.evaluate(COUNTER)


@pytest.mark.parametrize("path", MEETING_PAGES)
@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)], ids=["1920", "1280"])
def test_every_meeting_slide_fits_the_wall_and_follows_a_clicker(browser, server, path, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    tab = context.new_page()
    try:
        tab.goto(f"{server}/{path}?{REFERENCE}&meeting=1")
        tab.get_by_text("Màn hình 1 /").wait_for(timeout=60_000)
        index, count = _slide(tab)
        assert index == 1 and count >= 2
        keys = ["ArrowRight", "PageDown", "Space"]
        for step in range(count):
            assert tab.evaluate(SLIDE_FITS) == "", (path, index)
            for title in tab.locator(".st-key-meeting_slide .gtitle").all():
                assert float(title.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 28
            for tick in tab.locator(".st-key-meeting_slide .ytick text").all()[:3]:
                assert float(tick.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 20
            snapshot(tab, f"meeting_{width}_{path or 'tong_quan'}_{index}")
            tab.keyboard.press(keys[step % len(keys)])
            tab.wait_for_function(f"() => ({COUNTER})()[0] === {index % count + 1}", timeout=30_000)
            index, _ = _slide(tab)
        assert index == 1  # all the way round
        tab.keyboard.press("ArrowLeft")
        tab.wait_for_function(f"() => ({COUNTER})()[0] === {count}", timeout=30_000)
        tab.keyboard.press("PageUp")
        tab.wait_for_function(f"() => ({COUNTER})()[0] === {count - 1}", timeout=30_000)
        assert_no_error_box(tab)
    finally:
        context.close()


def test_the_wall_turns_its_slides_by_itself_and_stops_when_told(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    tab = context.new_page()
    try:
        # A kiosk's link: meeting mode turning every 2 s.
        tab.goto(f"{server}/giai_quyet?{REFERENCE}&meeting=1&advance=2")
        tab.get_by_text("Màn hình 1 /").wait_for(timeout=60_000)
        _, count = tab.evaluate(COUNTER)  # no settling: the page reruns every 2 s on its own
        for expected in (2, 3):  # nobody touches anything
            tab.wait_for_function(f"() => ({COUNTER})()[0] === {expected}", timeout=30_000)
        assert "advance=2" in tab.url
        # Turned off in the (collapsed) sidebar: the slide stays where it is.
        tab.locator('[data-testid="stExpandSidebarButton"]').click()
        picker = (tab.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
                  .filter(has_text="Tự chuyển màn hình"))
        picker.locator("input").click()
        tab.keyboard.type("Không")
        tab.keyboard.press("Enter")
        tab.wait_for_function("() => !location.search.includes('advance=')", timeout=30_000)
        index, _ = _slide(tab)
        tab.wait_for_timeout(5_000)  # more than two intervals of the old timer
        assert _slide(tab)[0] == index
        tab.get_by_role("heading", name="Giải quyết hồ sơ").click()  # back on the slide, out of the picker
        tab.keyboard.press("ArrowRight")  # the clicker still works
        tab.wait_for_function(f"() => ({COUNTER})()[0] === {index % count + 1}", timeout=30_000)
        assert_no_error_box(tab)
    finally:
        context.close()


def test_the_ii06a_table_fits_a_1366_laptop_without_scrolling_sideways(browser, server):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    tab = context.new_page()
    try:
        open_page(tab, server, "giai_quyet", REFERENCE, "Biểu II.06a")
        assert tab.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "false"
        grid = tab.locator('[data-testid="stDataFrame"]').first
        grid.scroll_into_view_if_needed()
        scroll_width, client_width = grid.evaluate(
            "e => { const s = e.querySelector('.dvn-scroller'); return [s.scrollWidth, s.clientWidth]; }")
        assert scroll_width <= client_width  # every column, (13) included, without a horizontal scroll
        assert grid.bounding_box()["x"] + grid.bounding_box()["width"] <= 1366
        snapshot(tab, "1366_bieu_II06a")
    finally:
        context.close()


def test_a_phone_opens_on_the_kpi_cards_with_the_sidebar_closed(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True,
                                  has_touch=True)
    tab = context.new_page()
    try:
        open_page(tab, server, "", REFERENCE, "3.238")
        assert tab.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
        first_card = tab.locator('[data-testid="stMetric"]').first.bounding_box()
        assert first_card["y"] + first_card["height"] <= 844, first_card
        snapshot(tab, "390_tong_quan")
    finally:
        context.close()


def test_the_overdue_card_leads_to_the_list_of_overdue_dossiers(page, server, server_db):
    from tthc_core import worklist

    late = worklist.overdue(server_db, dt.date(2022, 6, 14))
    open_page(page, server, "", "agency=all&period=2022-Q2", "Xếp hạng theo cơ quan")
    card = page.locator('[data-testid="stMetric"]').filter(has_text="Hồ sơ đang quá hạn")
    assert card.locator('[data-testid="stMetricValue"]').inner_text() == fmt_int(len(late))
    page.get_by_role("link", name="Danh sách quá hạn").click()
    page.get_by_text(f"Quá hạn: {fmt_int(len(late))} hồ sơ").wait_for(timeout=60_000)
    settle(page)
    assert "/can_xu_ly" in page.url and "agency=all" in page.url
    assert_no_error_box(page)
    snapshot(page, "can_xu_ly")
