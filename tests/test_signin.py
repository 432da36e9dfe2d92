"""Sign-in and roles in the dashboard (AppTest): each role sees and may do only what it should."""
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from tthc_core import compute_stats
from tthc_core.auth import create_user
from tthc_core.db import get_engine
from tthc_core.formatting import fmt_int
from tthc_core.models import Setting

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")
PASSWORD = "mot-mat-khau-dai"


@pytest.fixture
def private_db(demo_copy, monkeypatch):
    """The demo's data as a real (non-demo) database with accounts: sign-in is required."""
    with get_engine(demo_copy).begin() as conn:
        conn.execute(delete(Setting).where(Setting.key == "demo"))
    create_user(demo_copy, "admin", "admin", PASSWORD)
    create_user(demo_copy, "canbo", "officer", PASSWORD, ["SLDTBXH"])
    create_user(demo_copy, "giamdoc", "viewer", PASSWORD, ["STP"])
    monkeypatch.setenv("TTHC_DATABASE_URL", demo_copy)
    monkeypatch.delenv("TTHC_OPEN", raising=False)
    st.cache_data.clear()
    yield demo_copy
    st.cache_data.clear()


def start(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"period": "2022-Q2", "mode": "report", **params})
    return at.run()


def sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    return at.run()


def shown(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.markdown, *at.caption, *at.info, *at.error, *at.warning, *at.success)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def test_a_real_database_asks_for_sign_in_and_shows_nothing_before(private_db):
    at = start(agency="SLDTBXH")
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Tên đăng nhập hoặc e-mail", "Mật khẩu"]
    assert not at.metric and "3.238" not in shown(at)


def test_a_wrong_password_is_refused_without_saying_which_part(private_db):
    at = sign_in(start(), "giamdoc", "sai-mat-khau-roi")
    assert "Sai tên đăng nhập hoặc mật khẩu" in shown(at) and not at.metric


def test_a_viewer_sees_only_their_agency(private_db):
    at = sign_in(start(agency="SLDTBXH"), "giamdoc")
    assert not at.exception
    stp = compute_stats(private_db, "2022-Q2", agency="STP")["dossiers"]["total"]
    values = {m.label: m.value for m in at.metric}
    assert values["Hồ sơ tiếp nhận"] == fmt_int(stp["received_total"])
    assert at.sidebar.selectbox[0].options == ["Sở Tư pháp"]
    text = shown(at)
    assert "3.238" not in text and "Sở Lao động" not in text
    assert "Không có cơ quan mã «SLDTBXH»" in text  # the shared link named an agency outside the scope
    assert "giamdoc" in text


def test_a_viewer_cannot_import_or_freeze(private_db):
    at = sign_in(start(), "giamdoc")
    at.switch_page("pages/6_du_lieu.py").run()
    assert not at.exception
    assert "chỉ xem và tải số liệu" in shown(at)
    assert not at.get("file_uploader")
    at.switch_page("pages/7_bao_cao_quy.py").run()
    assert not at.exception
    freeze = next(b for b in at.button if b.label in ("Chốt số liệu", "Chốt lại số liệu"))
    assert freeze.disabled
    assert "không được chốt số liệu" in shown(at)


def test_an_officer_may_import_for_their_agency(private_db):
    at = sign_in(start(), "canbo")
    at.switch_page("pages/6_du_lieu.py").run()
    assert not at.exception
    assert at.get("file_uploader")
    assert "Nhật ký nhập dữ liệu" in [s.value for s in at.subheader]
    assert at.sidebar.selectbox[0].options == ["Sở Lao động - Thương binh và Xã hội"]


def test_signing_out_returns_to_the_sign_in_screen(private_db):
    at = sign_in(start(), "admin")
    assert at.metric
    next(b for b in at.sidebar.button if b.label == "Đăng xuất").click()
    at.run()
    assert not at.metric and [t.label for t in at.text_input] == ["Tên đăng nhập hoặc e-mail", "Mật khẩu"]


def test_a_deployment_opened_on_purpose_needs_no_sign_in(private_db, monkeypatch):
    monkeypatch.setenv("TTHC_OPEN", "1")
    at = start(agency="SLDTBXH")
    assert not at.text_input or at.text_input[0].label != "Tên đăng nhập hoặc e-mail"
    assert {m.label: m.value for m in at.metric}["Hồ sơ tiếp nhận"] == "3.238"


PAGE_FILES = sorted(str(p.relative_to(Path(APP).parent)) for p in (Path(APP).parent / "pages").glob("*.py"))


def test_a_viewer_sees_none_of_another_units_figures_on_any_page(private_db):
    at = sign_in(start(agency="SLDTBXH"), "giamdoc")
    sldtbxh = compute_stats(private_db, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    for page in PAGE_FILES:
        at.switch_page(page).run()
        assert not at.exception, page
        text = shown(at) + "\n".join(str(frame.value.to_dict()) for frame in at.dataframe)
        assert "Sở Lao động" not in text and "SLDTBXH" not in text.replace("«SLDTBXH»", ""), page
        assert fmt_int(sldtbxh["received_total"]) not in text, page


@pytest.mark.parametrize("role, agencies", [("province", []), ("admin", [])])
def test_province_wide_roles_see_every_agency(private_db, role, agencies):
    create_user(private_db, f"tk-{role}", role, PASSWORD, agencies)
    at = sign_in(start(agency="SLDTBXH"), f"tk-{role}")
    assert {m.label: m.value for m in at.metric}["Hồ sơ tiếp nhận"] == "3.238"
    assert len(at.sidebar.selectbox[0].options) == 1 + 8  # every agency, and all of them together


def test_a_viewers_exports_hold_only_their_unit(private_db):
    import io
    import zipfile

    from tthc_core.auth import AccessDenied, Scope
    from tthc_core.exports import docx_bytes, workbook_bytes
    from tthc_core.reports import build_report

    viewer = Scope("giamdoc", "viewer", ("STP",))
    figures = build_report(private_db, "2022-Q2", scope=viewer)
    assert figures["agency"]["code"] == "STP"
    for data in (workbook_bytes(figures), docx_bytes(figures)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = " ".join(archive.read(name).decode("utf-8", "ignore") for name in archive.namelist())
        assert "Sở Tư pháp" in text and "Sở Lao động" not in text
    with pytest.raises(AccessDenied):
        build_report(private_db, "2022-Q2", agency="SLDTBXH", scope=viewer)


def test_the_data_page_shows_the_audit_trail_of_the_accounts_units(private_db):
    from tthc_core.auth import audit
    from tthc_core.auth import Scope as AuthScope

    audit(private_db, AuthScope("canbo.stp", "officer", ("STP",)), "export", "STP", "Phụ lục Excel")
    at = sign_in(start(), "canbo")
    at.switch_page("pages/6_du_lieu.py").run()
    assert not at.exception and "Nhật ký hoạt động" in [s.value for s in at.subheader]
    trail = at.dataframe[-1].value
    # The officer's own sign-in and whatever was done for its unit (the demo's CLI exports of SLDTBXH),
    # never the export of another unit (STP).
    assert set(trail["Cơ quan"]) == {"SLDTBXH"} and "canbo.stp" not in set(trail["Người"])
    mine = trail[trail["Người"] == "canbo"]
    assert list(mine["Việc"]) == ["Đăng nhập"] and list(mine["Chi tiết"]) == ["mật khẩu"]


def test_a_report_download_is_recorded_when_it_is_built(private_db):
    import datetime as dt

    from tthc_core.auth import Scope as AuthScope
    from tthc_core.auth import audit_log
    from tthc_core.periods import parse_period
    from tthc_core.ui import Filters, audited

    f = Filters(private_db, 0, "SLDTBXH", "Sở Lao động", parse_period("2022-Q2", "report"), False, False,
                dt.date(2026, 11, 27), AuthScope("canbo", "officer", ("SLDTBXH",)))
    build = audited(f, "Phụ lục Excel", lambda: b"xlsx")
    assert not audit_log(private_db, username="canbo")  # nothing until the button is clicked
    assert build() == b"xlsx"
    entry = audit_log(private_db)[0]
    assert (entry["username"], entry["action"], entry["agency_code"], entry["detail"]) == (
        "canbo", "export", "SLDTBXH", "Phụ lục Excel, Quý II năm 2022 (15/03/2022 – 14/06/2022)")
