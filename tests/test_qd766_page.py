"""The page "Chỉ số 766" shows the same object as the CLI and the workbook (tthc_core.qd766.compute_index)."""
from __future__ import annotations

import datetime as dt

from test_pages import app, assert_clean, metrics, page_text  # noqa: F401 - the shared AppTest fixture

from conftest import DEMO_TODAY
from tthc_core import qd766
from tthc_core.formatting import fmt_decimal

PAGE = "pages/8_chi_so_766.py"


def test_page_shows_the_index_groups_hints_and_drill_down(app, demo_url):
    at = app(agency="SLDTBXH", period="2022-Q2")
    at.switch_page(PAGE).run()
    assert_clean(at)
    now = dt.datetime.combine(DEMO_TODAY, dt.time(23, 59, 59))
    index = qd766.compute_index(demo_url, "2022-Q2", "calendar", agency="SLDTBXH", now=now)
    shown = metrics(at)
    assert shown["Tổng điểm"] == f"{fmt_decimal(index['total'])}/100"
    for g in index["groups"]:
        assert shown[g["title"]] == f"{fmt_decimal(g['points'])}/{fmt_decimal(g['max'])}"
    text = page_text(at)
    assert "Việc cần làm để tăng điểm" in text
    assert index["hints"][0]["text"] in text
    assert "chờ số liệu" in text  # groups waiting for an input say so
    assert at.dataframe  # indicator table, ranking and the drill-down list


def test_page_renders_every_agency_in_a_calendar_month(app):
    at = app(agency="all", period="2024-05", mode="calendar")
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert "Tháng 5 năm 2024" in page_text(at)
