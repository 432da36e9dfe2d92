"""The 766 page's admin panel: the dated scoring table, a rule changed from a date on (audited), bad
input refused in Vietnamese; and the entry form's monthly 1.4 count feeding the quarter."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from test_pages import app, assert_clean, page_text, writable_copy, writable_demo  # noqa: F401 - fixtures

from tthc_core import qd766
from tthc_core.auth import audit_log

PAGE = "pages/8_chi_so_766.py"
NOW = dt.datetime(2030, 1, 1)


def submit(at, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()


def test_admin_changes_a_rule_from_a_date_on_the_766_page(app, writable_copy):
    at = app(agency="SLDTBXH", period="2022-Q3", mode="calendar")
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert "Bảng điểm Chỉ số 766 (quản trị)" in [e.label for e in at.expander][-1]
    assert "Tổng điểm tối đa: 100,00" in page_text(at)
    at.date_input(key="qd766_rule_from").set_value(dt.date(2022, 7, 1))
    at.selectbox(key="qd766_rule_ind").set_value("2.1")
    at.text_input(key="qd766_rule_max").set_value("hai mươi")
    submit(at, "Ghi bảng điểm")
    assert "Điểm tối đa «hai mươi» không phải là số." in [e.value for e in at.error]
    at.text_input(key="qd766_rule_max").set_value("25")
    submit(at, "Ghi bảng điểm")
    assert "Đã ghi điểm chỉ số 2.1 từ ngày 01/07/2022." in [s.value for s in at.success]
    q3 = qd766.compute_index(writable_copy, "2022-Q3", agency="SLDTBXH", now=NOW)
    q2 = qd766.compute_index(writable_copy, "2022-Q2", agency="SLDTBXH", now=NOW)
    assert next(p for p in q3["indicators"] if p["id"] == "2.1")["max"] == Decimal("25.00")
    assert next(p for p in q2["indicators"] if p["id"] == "2.1")["max"] == Decimal("20.00")
    assert audit_log(writable_copy, limit=1)[0]["action"] == "qd766_rule"


def test_the_demo_shows_the_table_but_refuses_the_write(app, demo_url):
    at = app(agency="SLDTBXH", period="2022-Q2")
    at.switch_page(PAGE).run()
    at.text_input(key="qd766_rule_max").set_value("25")
    submit(at, "Ghi bảng điểm")
    assert at.error and not at.success
    assert qd766.rule_rows(demo_url, dt.date(2022, 12, 31))["rules"][4]["max"] == Decimal("20.00")
