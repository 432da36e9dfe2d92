"""Accounts, roles, lock-out and the scope the core enforces on every query."""
import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import select

from tthc_core import compute_stats
from tthc_core.auth import (MAX_FAILURES, AccessDenied, AuthError, Scope, authenticate, create_user, list_users,
                            scope_for_email, set_disabled, set_password)
from tthc_core.db import PROJECT_ROOT, get_engine
from tthc_core.models import User
from tthc_core.qd766 import compute_index
from tthc_core.stats import catalogue, compute_totals, data_quality, list_dossiers, series
from tthc_core.store import ensure_agency

PASSWORD = "mot-mat-khau-dai"


@pytest.fixture
def agencies(db_url):
    with get_engine(db_url).begin() as conn:
        for code in ("A", "B", "C"):
            ensure_agency(conn, code, f"Cơ quan {code}")
    return db_url


def test_roles_and_their_agencies(agencies):
    assert create_user(agencies, "Admin@Tinh.gov.vn", "admin", PASSWORD) == Scope("admin@tinh.gov.vn", "admin", None)
    assert create_user(agencies, "tinh", "province", PASSWORD).agencies is None
    assert create_user(agencies, "canbo", "officer", PASSWORD, ["A"]).agencies == ("A",)
    assert create_user(agencies, "giamdoc", "viewer", PASSWORD, ["B", "A"]).agencies == ("A", "B")
    for args, message in ((("x", "officer", PASSWORD, []), "đúng một cơ quan"),
                          (("x", "officer", PASSWORD, ["A", "B"]), "đúng một cơ quan"),
                          (("x", "viewer", PASSWORD, []), "ít nhất một"),
                          (("x", "admin", PASSWORD, ["A"]), "không gắn"),
                          (("x", "viewer", PASSWORD, ["ZZ"]), "Chưa có cơ quan mã «ZZ».*--create-agency"),
                          (("x", "boss", PASSWORD, []), "Vai trò"),
                          (("x", "viewer", "ngan", ["A"]), "ít nhất 10"),
                          (("x", "viewer", " " * 10, ["A"]), "ít nhất 10 ký tự không phải khoảng trắng"),
                          (("x", "viewer", "a b c d e f g h i", ["A"]), "không phải khoảng trắng"),
                          (("аdmin", "viewer", PASSWORD, ["A"]), "chữ Latinh không dấu"),  # Cyrillic а
                          (("cán.bộ", "viewer", PASSWORD, ["A"]), "chữ Latinh không dấu"),
                          (("can\u200bbo", "viewer", PASSWORD, ["A"]), "chữ Latinh không dấu"),  # zero width
                          (("ca nbo", "viewer", PASSWORD, ["A"]), "chữ Latinh không dấu"),
                          (("canbo", "viewer", PASSWORD, ["A"]), "đã có")):
        with pytest.raises(AuthError, match=message):
            create_user(agencies, *args)


def test_passwords_are_hashed_with_argon2_and_checked(agencies):
    create_user(agencies, "canbo", "officer", PASSWORD, ["A"])
    with get_engine(agencies).connect() as conn:
        stored = conn.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert authenticate(agencies, "CANBO ", PASSWORD) == Scope("canbo", "officer", ("A",))
    with pytest.raises(AuthError, match="Sai tên đăng nhập hoặc mật khẩu"):
        authenticate(agencies, "canbo", "sai-mat-khau-roi")
    with pytest.raises(AuthError, match="Sai tên đăng nhập hoặc mật khẩu"):
        authenticate(agencies, "khong-co-ai", PASSWORD)


def test_repeated_failures_lock_the_account_for_a_while(agencies):
    create_user(agencies, "canbo", "officer", PASSWORD, ["A"])
    now = dt.datetime(2026, 11, 27, 9, 0)
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthError, match="Sai"):
            authenticate(agencies, "canbo", "sai-mat-khau-roi", now=now)
    with pytest.raises(AuthError, match="tạm khóa đến 09:15"):
        authenticate(agencies, "canbo", "sai-mat-khau-roi", now=now)
    with pytest.raises(AuthError, match="tạm khóa"):
        authenticate(agencies, "canbo", PASSWORD, now=now + dt.timedelta(minutes=14))
    assert authenticate(agencies, "canbo", PASSWORD, now=now + dt.timedelta(minutes=16)).role == "officer"


def test_disabled_accounts_cannot_sign_in_and_passwords_can_be_reset(agencies):
    create_user(agencies, "giamdoc", "viewer", PASSWORD, ["B"])
    set_disabled(agencies, "giamdoc")
    with pytest.raises(AuthError, match="^Sai tên đăng nhập hoặc mật khẩu.$"):  # no hint that it exists
        authenticate(agencies, "giamdoc", PASSWORD)
    set_disabled(agencies, "giamdoc", False)
    set_password(agencies, "giamdoc", "mat-khau-moi-dai-hon")
    assert authenticate(agencies, "giamdoc", "mat-khau-moi-dai-hon").agencies == ("B",)
    assert [u["username"] for u in list_users(agencies)] == ["giamdoc"]


def test_identity_provider_accounts_match_by_email(agencies):
    create_user(agencies, "giamdoc@langson.gov.vn", "viewer", None, ["A"])
    assert scope_for_email(agencies, "GiamDoc@LangSon.gov.vn").agencies == ("A",)
    with pytest.raises(AuthError, match="chưa được cấp quyền"):
        scope_for_email(agencies, "la@langson.gov.vn")
    with pytest.raises(AuthError):  # no password: built-in sign-in is impossible
        authenticate(agencies, "giamdoc@langson.gov.vn", "")


def test_a_viewer_of_one_agency_sees_none_of_anothers_figures(demo_url):
    viewer = Scope("giamdoc", "viewer", ("STP",))
    mine = compute_stats(demo_url, "2022-Q2", scope=viewer)
    assert mine["agency"] == "STP"
    assert mine["dossiers"]["total"] == compute_stats(demo_url, "2022-Q2", agency="STP")["dossiers"]["total"]
    assert [r["key"] for r in compute_stats(demo_url, "2022-Q2", by="agency", scope=viewer)["dossiers"]["rows"]] == [
        "STP"]
    for call in (lambda: compute_stats(demo_url, "2022-Q2", agency="SLDTBXH", scope=viewer),
                 lambda: compute_stats(demo_url, "2022-Q2", agency=["STP", "SLDTBXH"], scope=viewer),
                 lambda: compute_totals(demo_url, "2022-Q2", agency="SLDTBXH", scope=viewer),
                 lambda: series(demo_url, "2022-Q2", agency="SLDTBXH", scope=viewer),
                 lambda: compute_index(demo_url, "2022-Q2", agency="SLDTBXH", scope=viewer),
                 lambda: list_dossiers(demo_url, "2022-Q2", agency="SLDTBXH", scope=viewer),
                 lambda: catalogue(demo_url, "SLDTBXH", scope=viewer),
                 lambda: data_quality(demo_url, "SLDTBXH", scope=viewer)):
        with pytest.raises(AccessDenied, match="SLDTBXH"):
            call()
    assert {r["agency_code"] for r in list_dossiers(demo_url, "2022-Q2", scope=viewer)} == {"STP"}
    province = Scope("tinh", "province", None)
    assert compute_stats(demo_url, "2022-Q2", agency="SLDTBXH", scope=province)["dossiers"]["total"][
        "received_total"] == 3238


def test_permissions_by_role():
    officer, viewer = Scope("c", "officer", ("A",)), Scope("v", "viewer", ("A",))
    officer.require("import")
    officer.require("edit_reports")
    for permission in ("import", "edit_reports", "manage_users"):
        with pytest.raises(AccessDenied):
            viewer.require(permission)
    with pytest.raises(AccessDenied, match="quản lý tài khoản"):
        officer.require("manage_users")
    assert viewer.cache_key != Scope("v", "viewer", ("B",)).cache_key


def test_cli_creates_lists_and_disables_accounts(sqlite_url):
    with get_engine(sqlite_url).begin() as conn:
        ensure_agency(conn, "A", "Cơ quan A")

    def cli(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "tthc_core", "--db", sqlite_url, "user", *args], input=stdin,
                              capture_output=True, text=True, cwd=PROJECT_ROOT)

    created = cli("add", "canbo", "--role", "officer", "--agency", "A", "--password-stdin", stdin=PASSWORD + "\n")
    assert created.returncode == 0 and "canbo" in created.stdout
    refused = cli("add", "x", "--role", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    assert refused.returncode == 2 and "đúng một cơ quan" in refused.stderr and "Traceback" not in refused.stderr
    assert cli("disable", "canbo").returncode == 0
    listed = cli("list").stdout
    assert "canbo\tofficer\tA\tvô hiệu hóa" in listed
    with pytest.raises(AuthError, match="Sai tên đăng nhập"):
        authenticate(sqlite_url, "canbo", PASSWORD)


def test_imports_on_behalf_of_an_account_stay_within_its_scope(agencies):
    from tthc_core.auth import scoped_import
    from tthc_core.models import Dossier

    header = "code,agency_code,channel,received_at,due_at\n"
    mine = (header + "HS-1,,direct,2022-04-01 09:00,2022-04-10\n").encode()
    theirs = (header + "HS-2,A,direct,2022-04-01 09:00,2022-04-10\nHS-3,b,online,2022-04-02,2022-04-10\n").encode()
    officer, viewer = Scope("canbo", "officer", ("A",)), Scope("v", "viewer", ("A",))
    with pytest.raises(AccessDenied, match="không được nhập dữ liệu"):
        scoped_import(agencies, viewer, mine, filename="f.csv")
    assert [p.text() for p in scoped_import(agencies, officer, theirs, filename="f.csv").problems] == [
        "Dòng 3, cột «agency_code»: cơ quan «b» ngoài phạm vi của tài khoản «canbo»: không được nhập dữ liệu của "
        "đơn vị khác."]
    result = scoped_import(agencies, officer, mine, filename="f.csv")
    assert result.written and result.added == 1
    with get_engine(agencies).connect() as conn:
        from tthc_core.models import Agency
        rows = conn.execute(select(Dossier.code, Agency.code).join(Agency, Agency.id == Dossier.agency_id)).all()
    assert [tuple(r) for r in rows] == [("HS-1", "A")]  # rows without an agency go to the officer's own


def test_an_admin_creates_an_agency_once_and_it_is_audited(db_url):
    from tthc_core.auth import audit_log, create_agency
    from tthc_core.models import Agency

    admin = Scope("quantri", "admin", None)
    assert create_agency(db_url, " SNV ", "Sở  Nội vụ", by=admin) == {"code": "SNV", "name": "Sở Nội vụ"}
    with pytest.raises(AuthError, match="Đã có cơ quan mã «SNV» \\(Sở Nội vụ\\)"):
        create_agency(db_url, "snv", "Sở khác", by=admin)
    with pytest.raises(AccessDenied):
        create_agency(db_url, "STP", "Sở Tư pháp", by=Scope("canbo", "officer", ("SNV",)))
    with get_engine(db_url).connect() as conn:
        assert conn.execute(select(Agency.code, Agency.name)).all() == [("SNV", "Sở Nội vụ")]
    entry = audit_log(db_url, limit=1)[0]
    assert (entry["username"], entry["action"], entry["agency_code"]) == ("quantri", "agency_add", "SNV")
