"""The Bản tin page and the e-mail's one-click unsubscribe link, run with Streamlit's AppTest."""
from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from tthc_core import digest
from tthc_core.auth import create_user

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")


def test_the_unsubscribe_link_works_without_signing_in(demo_copy, monkeypatch):
    create_user(demo_copy, "giam_doc", "officer", "mat-khau-dai-du-12", agencies=["SLDTBXH"])
    sub_id = digest.subscribe(demo_copy, "giam_doc", "email", "gd@example.vn")
    token = digest.unsubscribe_token(demo_copy, sub_id)
    monkeypatch.setenv("TTHC_DATABASE_URL", demo_copy)
    monkeypatch.delenv("TTHC_OPEN", raising=False)
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["unsubscribe"] = token[:-1] + ("0" if token[-1] != "0" else "1")
    at.run()
    assert not at.exception and "không hợp lệ" in at.error[0].value
    assert digest.subscriptions(demo_copy, active_only=True)[0]["id"] == sub_id
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["unsubscribe"] = token
    at.run()
    assert not at.exception and "Đã hủy nhận bản tin gửi tới gd@example.vn" in at.success[0].value
    assert not at.text_input  # no sign-in form: the token alone is enough for this one action
    assert digest.subscriptions(demo_copy, active_only=True) == []


def test_the_page_is_in_the_menu_and_asks_for_an_account_on_the_open_demo(demo_url, monkeypatch):
    monkeypatch.setenv("TTHC_DATABASE_URL", demo_url)
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/10_ban_tin.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("hãy đăng nhập để đăng ký" in i.value for i in at.info)


def test_a_signed_in_officer_subscribes_within_their_scope(demo_copy, monkeypatch):
    from sqlalchemy import delete

    from tthc_core.db import get_engine
    from tthc_core.models import Setting

    with get_engine(demo_copy).begin() as conn:
        conn.execute(delete(Setting).where(Setting.key == "demo"))
    create_user(demo_copy, "canbo", "officer", "mat-khau-dai-du-12", ["SLDTBXH"])
    monkeypatch.setenv("TTHC_DATABASE_URL", demo_copy)
    monkeypatch.delenv("TTHC_OPEN", raising=False)
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].input("canbo")
    at.text_input[1].input("mat-khau-dai-du-12")
    at.button[0].click()
    at.run()
    at.switch_page("pages/10_ban_tin.py").run()
    assert not at.exception, [e.message for e in at.exception]
    # The agency choice offers only the account's own agency.
    assert len(at.multiselect(key="digest_agencies").options) == 1
    at.text_input(key="digest_target").input("canbo@example.vn").run()
    at.button(key="digest_add").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [sub] = digest.subscriptions(demo_copy, "canbo")
    assert (sub["channel"], sub["target"], sub["weekdays"], sub["send_at"]) == ("email", "canbo@example.vn", "01234",
                                                                               "07:30")
