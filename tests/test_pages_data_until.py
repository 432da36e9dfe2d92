"""«Dữ liệu đến» in the sidebar (issue 13 item 6): the latest reception or resolution the data records,
in Vietnam time, never after now — on a hand-built database, on both engines, and on the page with a
server clock set to another time zone."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tthc_core.db import dispose_engine, get_engine
from tthc_core.formatting import vietnam_now
from tthc_core.stats import data_until
from tthc_core.store import ensure_agency, write_dossiers
from tthc_core.ui.sidebar import data_until_text

T = dt.datetime
APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")


def hand_built(url: str, cases: list[tuple[str, str, dt.datetime, dt.datetime | None]]) -> str:
    with get_engine(url).begin() as conn:
        agencies = {code: ensure_agency(conn, code, f"Cơ quan {code}") for code in ("A", "B")}
        write_dossiers(conn, [dict(code=code, agency_id=agencies[agency], field_id=None, procedure_id=None,
                                   channel="direct", status="normal", received_at=received,
                                   due_at=received + dt.timedelta(days=10), resolved_at=resolved)
                              for code, agency, received, resolved in cases])
    return url


CASES = [
    ("EARLY", "A", T(2022, 6, 1, 8, 0), T(2022, 6, 14, 16, 30)),
    ("OPEN", "A", T(2022, 6, 10, 9, 15), None),
    ("TYPO", "A", T(2032, 6, 10, 9, 0), None),  # a year typed wrong: ten years ahead
    ("B-LATER", "B", T(2022, 6, 15, 7, 45), None),
]


def test_the_data_reaches_its_latest_event_at_or_before_now(db_url):
    hand_built(db_url, CASES)
    now = T(2022, 6, 20, 10, 0)

    everyone = data_until(db_url, now)
    assert (everyone["until"], everyone["later"]) == (T(2022, 6, 15, 7, 45), 1)  # TYPO never counts as news
    assert data_until_text(everyone) == ("Dữ liệu đến: **15/06/2022 07:45** (không tính 1 hồ sơ ghi ngày sau thời "
                                         "điểm hiện tại theo giờ Việt Nam: kiểm tra ngày trong dữ liệu)")
    only_a = data_until(db_url, now, agency="A")
    assert (only_a["until"], only_a["later"]) == (T(2022, 6, 14, 16, 30), 1)  # the resolution, the latest event
    # Earlier in time: the resolution on 14/06 has not happened yet at noon on 12/06.
    before = data_until(db_url, T(2022, 6, 12, 12, 0), agency="A")
    assert (before["until"], before["later"]) == (T(2022, 6, 10, 9, 15), 2)


def test_an_empty_database_says_so(db_url):
    result = data_until(db_url, T(2022, 6, 20))
    assert (result["until"], result["later"]) == (None, 0)
    assert data_until_text(result) == "Dữ liệu đến: **chưa có**"


@pytest.fixture
def new_york_server(monkeypatch):
    """The server's clock in New York (11–12 hours behind Vietnam)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_sidebar_reads_vietnam_time_not_the_servers_clock(sqlite_url, new_york_server, monkeypatch):
    # Five minutes ago in Vietnam is hours after "now" on the New York server: it is still the data's reach.
    moment = vietnam_now().replace(second=0) - dt.timedelta(minutes=5)
    assert moment > dt.datetime.now()  # the server's local clock would have called it the future
    hand_built(sqlite_url, [("JUST-NOW", "A", moment, None), ("TYPO", "A", T(2032, 6, 10, 9), None)])
    monkeypatch.setenv("TTHC_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TTHC_OPEN", "1")
    st.cache_data.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
        sidebar = " ".join(c.value for c in at.sidebar.caption)
        assert f"Dữ liệu đến: **{moment:%d/%m/%Y %H:%M}** (không tính 1 hồ sơ ghi ngày sau" in sidebar
    finally:
        st.cache_data.clear()
        dispose_engine(sqlite_url)
