"""Issue 14, reproduced first: parallel lock-out bypass, lost version bumps, an officer's province-wide
freeze, sessions that outlive a disable, account enumeration, look-alike names, the audit trail."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import DEMO_TODAY, copy_database
from sqlalchemy import select

from tthc_core import auth
from tthc_core.__main__ import main
from tthc_core.auth import (LOCK_FOR, MAX_FAILURES, WRONG, AccessDenied, AuthError, Scope, audit_log, authenticate,
                            create_user, end_session, import_log, needs_sign_in, proxy_username, scoped_import,
                            session_scope, set_disabled, set_password, start_session)
from tthc_core.db import bump_data_version, data_version, dispose_engine, get_engine
from tthc_core.models import Agency, FrozenReport
from tthc_core.reports import ReportError, freeze, frozen
from tthc_core.store import ensure_agency

PASSWORD = "mot-mat-khau-dai"
NOW = dt.datetime(2026, 11, 27, 9, 0)
ATTACKER, OWNER = "203.0.113.9", "10.20.0.7"
CSV_HEADER = "code,agency_code,channel,received_at,due_at\n"


@pytest.fixture
def agencies(db_url):
    with get_engine(db_url).begin() as conn:
        for code in ("A", "B"):
            ensure_agency(conn, code, f"Cơ quan {code}")
    return db_url


def test_forty_parallel_wrong_passwords_lock_the_account(agencies):
    create_user(agencies, "canbo", "officer", PASSWORD, ["A"])
    start = threading.Barrier(40)

    def wrong(_):
        start.wait()
        try:
            authenticate(agencies, "canbo", "doan-mo-mat-khau", now=NOW, client=ATTACKER)
        except AuthError as exc:
            return str(exc)
        return "accepted"

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(wrong, range(40)))
    assert "accepted" not in answers
    # At most MAX_FAILURES guesses reached the password check; every other one was refused as locked.
    assert answers.count(WRONG) <= MAX_FAILURES and len(answers) == 40
    with pytest.raises(AuthError, match="tạm khóa đến 09:15"):
        authenticate(agencies, "canbo", PASSWORD, now=NOW + dt.timedelta(minutes=14), client=ATTACKER)
    # The lock is the attacker's: the owner, from their own computer, still signs in.
    assert authenticate(agencies, "canbo", PASSWORD, now=NOW, client=OWNER).agencies == ("A",)
    # And it ends: after LOCK_FOR the right password opens from that address too.
    assert authenticate(agencies, "canbo", PASSWORD, now=NOW + LOCK_FOR + dt.timedelta(seconds=1),
                        client=ATTACKER).role == "officer"


def test_unknown_disabled_and_wrong_answer_alike_with_the_same_work(agencies, monkeypatch):
    create_user(agencies, "canbo", "officer", PASSWORD, ["A"])
    create_user(agencies, "nghi", "officer", PASSWORD, ["A"])
    set_disabled(agencies, "nghi")
    create_user(agencies, "oidc@tinh.gov.vn", "viewer", None, ["A"])
    verified = []
    real_verify = auth._verify
    monkeypatch.setattr(auth, "_verify", lambda h, p: verified.append(h) or real_verify(h, p))
    for name, password in (("khong-co-ai", PASSWORD), ("nghi", PASSWORD), ("canbo", "sai-mat-khau-roi"),
                           ("oidc@tinh.gov.vn", PASSWORD), ("аdmin", PASSWORD)):
        verified.clear()
        with pytest.raises(AuthError) as refused:
            authenticate(agencies, name, password)
        assert str(refused.value) == WRONG and len(verified) == 1, name
    # Unknown names lock exactly like known ones, so the lock says nothing either.
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError):
            authenticate(agencies, "khong-co-ai", "x", now=NOW)
    with pytest.raises(AuthError, match="tạm khóa"):
        authenticate(agencies, "khong-co-ai", "x", now=NOW)


def test_look_alike_names_fold_to_one_account(agencies):
    create_user(agencies, "canbo", "officer", PASSWORD, ["A"])
    assert authenticate(agencies, "ＣＡＮＢＯ", PASSWORD).username == "canbo"  # full-width: NFKC folds it
    with pytest.raises(AuthError, match="đã có"):
        create_user(agencies, "Ｃanbo", "viewer", PASSWORD, ["A"])


def test_two_concurrent_writers_both_move_the_data_version(agencies):
    engine = get_engine(agencies)
    with engine.begin() as conn:
        bump_data_version(conn)
    first_bumped, release = threading.Event(), threading.Event()

    def first():
        with engine.begin() as conn:
            bump_data_version(conn)
            first_bumped.set()
            release.wait(10)

    writer = threading.Thread(target=first)
    writer.start()
    first_bumped.wait(10)
    # The second writer starts while the first has bumped but not committed; it must wait and count.
    threading.Timer(0.5, release.set).start()
    with engine.begin() as conn:
        second = bump_data_version(conn)
    writer.join()
    assert (second, data_version(agencies)) == (3, 3)


def test_two_concurrent_imports_count_twice(agencies):
    from tthc_core.importer import import_file

    def csv(code):
        return (CSV_HEADER + f"{code},A,direct,2022-04-01 09:00,2022-04-10\n").encode()

    before = data_version(agencies)
    import_file(agencies, csv("HS-0"), filename="a.csv")
    per_import = data_version(agencies) - before
    start = threading.Barrier(2)

    def run(code):
        start.wait()
        return import_file(agencies, csv(code), filename=f"{code}.csv").written

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(run, ("HS-1", "HS-2"))) == [True, True]
    assert data_version(agencies) == before + 3 * per_import


def test_a_version_bump_can_require_the_version_it_read(agencies):
    with get_engine(agencies).begin() as conn:
        assert bump_data_version(conn, expected=0) == 1
        assert bump_data_version(conn, expected=0) is None
        assert bump_data_version(conn, expected=1) == 2


def test_an_officer_cannot_freeze_the_province(agencies):
    officer = Scope("canbo", "officer", ("A",))
    with pytest.raises(AccessDenied, match="không chốt được số liệu toàn tỉnh"):
        freeze(agencies, "2022-Q2", agency=None, user="Cán bộ", today=DEMO_TODAY, scope=officer)
    with pytest.raises(AccessDenied, match="«B»"):
        freeze(agencies, "2022-Q2", agency="B", user="Cán bộ", today=DEMO_TODAY, scope=officer)
    assert frozen(agencies, "2022-Q2") is None
    refused = audit_log(agencies)
    assert [(e["action"], e["username"]) for e in refused] == [("freeze_refused", "canbo")] * 2


def test_a_freeze_refuses_figures_that_changed_while_it_checked_them(demo_copy, monkeypatch):
    from tthc_core.reports import freezing as reports  # where freeze looks live_figures up

    real = reports.live_figures

    def figures_then_an_import_lands(*args, **kwargs):
        figures = real(*args, **kwargs)
        with get_engine(demo_copy).begin() as conn:  # another session's write, committed meanwhile
            bump_data_version(conn, dossiers=True)
        return figures

    monkeypatch.setattr(reports, "live_figures", figures_then_an_import_lands)
    with pytest.raises(ReportError, match="vừa thay đổi"):
        freeze(demo_copy, "2022-Q2", agency="SLDTBXH", user="Lương Thị Hồng", today=DEMO_TODAY)
    assert frozen(demo_copy, "2022-Q2", agency="SLDTBXH") is None
    monkeypatch.setattr(reports, "live_figures", real)
    officer = Scope("canbo", "officer", ("SLDTBXH",))
    record = freeze(demo_copy, "2022-Q2", agency="SLDTBXH", user="Lương Thị Hồng", today=DEMO_TODAY, scope=officer)
    assert record.payload["dossiers"]["total"]["received_total"] == 3238
    assert audit_log(demo_copy)[0] | {"at": None, "id": None} == {
        "at": None, "id": None, "username": "canbo", "action": "freeze", "agency_code": "SLDTBXH",
        "detail": "Quý II năm 2022 (15/03/2022 – 14/06/2022): chốt bởi Lương Thị Hồng", "client": ""}


def test_sessions_last_until_sign_out_disable_reset_or_time(agencies, monkeypatch):
    scope = create_user(agencies, "canbo", "officer", PASSWORD, ["A"])
    token = start_session(agencies, scope, now=NOW)
    assert session_scope(agencies, token, now=NOW + dt.timedelta(hours=7, minutes=59)) == scope
    assert session_scope(agencies, token, now=NOW + dt.timedelta(hours=8)) is None  # the default 8 hours
    assert session_scope(agencies, token + "x", now=NOW) is None and session_scope(agencies, "", now=NOW) is None
    token = start_session(agencies, scope, now=NOW)
    set_password(agencies, "canbo", "mat-khau-moi-dai-hon")
    assert session_scope(agencies, token, now=NOW) is None
    token = start_session(agencies, scope, now=NOW)
    set_disabled(agencies, "canbo")
    assert session_scope(agencies, token, now=NOW) is None
    set_disabled(agencies, "canbo", False)
    assert session_scope(agencies, token, now=NOW) is None  # enabling again does not revive it
    token = start_session(agencies, scope, now=NOW)
    end_session(agencies, token, now=NOW)
    assert session_scope(agencies, token, now=NOW) is None
    monkeypatch.setenv("TTHC_SESSION_HOURS", "1")
    token = start_session(agencies, scope, now=NOW)
    assert session_scope(agencies, token, now=NOW + dt.timedelta(minutes=59)) == scope
    assert session_scope(agencies, token, now=NOW + dt.timedelta(minutes=61)) is None
    with get_engine(agencies).connect() as conn:  # only the token's hash is stored
        assert token not in str(conn.exec_driver_sql("SELECT * FROM sign_in_sessions").all())


def test_the_demo_asks_for_sign_in_once_it_has_accounts_or_real_imports(demo_url, tmp_path):
    assert needs_sign_in(demo_url) is False
    with_account = copy_database(demo_url, tmp_path, "accounts.db")
    create_user(with_account, "quantri", "admin", PASSWORD)
    assert needs_sign_in(with_account) is True
    imported = copy_database(demo_url, tmp_path, "imported.db")
    scoped_import(imported, None, (CSV_HEADER + "HS-REAL-1,SLDTBXH,direct,2022-04-01 09:00,2022-04-10\n").encode(),
                  filename="that.csv")
    assert needs_sign_in(imported) is True
    by_cli = copy_database(demo_url, tmp_path, "cli.db")
    csv = tmp_path / "that.csv"
    csv.write_bytes((CSV_HEADER + "HS-REAL-2,SLDTBXH,direct,2022-04-01 09:00,2022-04-10\n").encode())
    assert main(["--db", by_cli, "import", str(csv)]) == 0
    assert needs_sign_in(by_cli) is True
    logged = import_log(by_cli)[0]
    assert logged["username"].startswith("cli") and logged["filename"] == "that.csv"
    assert logged["sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    for url in (with_account, imported, by_cli):
        dispose_engine(url)


class _Unreadable(io.BytesIO):
    def read(self, *args):
        raise MemoryError("simulated: the reader gave up")


def test_imports_refusals_and_crashes_are_logged_and_officers_see_their_own(agencies):
    officer_a, officer_b = Scope("canbo.a", "officer", ("A",)), Scope("canbo.b", "officer", ("B",))
    mine = (CSV_HEADER + "HS-1,,direct,2022-04-01 09:00,2022-04-10\n").encode()
    theirs = (CSV_HEADER + "HS-2,B,direct,2022-04-01 09:00,2022-04-10\n").encode()
    assert scoped_import(agencies, officer_a, mine, filename="a.csv").written
    refused = scoped_import(agencies, officer_a, theirs, filename="b.csv")
    assert not refused.written and "ngoài phạm vi" in refused.problems[0].message
    with pytest.raises(AccessDenied):  # a viewer may not import at all
        scoped_import(agencies, Scope("v", "viewer", ("A",)), mine, filename="c.csv")
    with pytest.raises(MemoryError):
        scoped_import(agencies, officer_b, _Unreadable(b"x"), filename="crash.csv")
    assert scoped_import(agencies, officer_b, (CSV_HEADER + "HS-3,,x,2022-04-01,2022-04-10\n").encode(),
                         filename="bad.csv").written is False
    assert [(e["username"], e["action"], e["agency_code"]) for e in audit_log(agencies)] == [
        ("canbo.b", "import_refused", "B"), ("canbo.b", "import_crashed", "B"), ("v", "import_refused", "A"),
        ("canbo.a", "import_refused", "A"), ("canbo.a", "import", "A")]
    assert "MemoryError" in audit_log(agencies)[1]["detail"] and "không được nhập" in audit_log(agencies)[2]["detail"]
    assert [e["filename"] for e in import_log(agencies, scope=officer_a)] == ["b.csv", "a.csv"]
    assert [e["filename"] for e in import_log(agencies, scope=officer_b)] == ["bad.csv"]
    assert len(import_log(agencies)) == 3  # the whole log for admins and the CLI
    assert {e["username"] for e in audit_log(agencies, scope=officer_a)} == {"canbo.a", "v"}
    assert len(audit_log(agencies, scope=Scope("quantri", "admin", None))) == 5


def test_the_audit_trail_records_sign_ins_and_account_changes(agencies, capsys):
    create_user(agencies, "canbo", "officer", PASSWORD, ["A"], by="quantri")
    authenticate(agencies, "canbo", PASSWORD, client=OWNER)
    with pytest.raises(AuthError):
        authenticate(agencies, "canbo", "sai-mat-khau-roi", client=ATTACKER)
    set_disabled(agencies, "canbo", by="quantri")
    actions = [(e["username"], e["action"], e["client"]) for e in audit_log(agencies)]
    assert actions == [("quantri", "user_disable", ""), ("canbo", "sign_in_failed", ATTACKER),
                       ("canbo", "sign_in", OWNER), ("quantri", "user_add", "")]
    assert audit_log(agencies)[1]["detail"] == "sai mật khẩu"  # the reason is for admins, never on screen
    # An officer of A sees their own sign-ins; not the account changes of others; province roles neither.
    assert {e["action"] for e in audit_log(agencies, scope=Scope("x", "province", None))} == {
        "sign_in", "sign_in_failed"}
    assert main(["--db", agencies, "audit", "--user", "canbo"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and printed[0].split("\t")[1:5] == ["canbo", "Đăng nhập không thành công", "toàn tỉnh",
                                                                 ATTACKER]


def test_user_add_on_a_new_database_names_the_missing_agency_or_creates_it(db_url, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--db", db_url, "user", "add", "canbo", "--role", "officer", "--agency", "SLDTBXH",
                 "--password-stdin"]) == 2
    assert "Chưa có cơ quan mã «SLDTBXH»" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["--db", db_url, "user", "add", "canbo", "--role", "officer", "--agency", "SLDTBXH",
                 "--create-agency", "Sở Lao động - Thương binh và Xã hội", "--password-stdin"]) == 0
    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(Agency.name).where(Agency.code == "SLDTBXH")) == "Sở Lao động - Thương binh và Xã hội"
    assert authenticate(db_url, "canbo", PASSWORD).agencies == ("SLDTBXH",)


def test_a_proxy_identity_counts_only_from_a_trusted_proxy():
    headers = {"X-Forwarded-User": "CanBo@LangSon.gov.vn", "Host": "x"}
    assert proxy_username(headers, "10.0.0.5", "x-forwarded-user", "10.0.0.0/24,192.0.2.1") == "canbo@langson.gov.vn"
    assert proxy_username(headers, "192.0.2.1", "X-Forwarded-User", "10.0.0.0/24, 192.0.2.1") == "canbo@langson.gov.vn"
    assert proxy_username({"Host": "x"}, "10.0.0.5", "X-Forwarded-User", "10.0.0.0/24") is None
    assert proxy_username(headers, "10.0.0.5", "", "10.0.0.0/24") is None  # not configured: header ignored
    for client, trusted in (("10.0.1.5", "10.0.0.0/24"), ("10.0.0.5", ""), (None, "10.0.0.0/24")):
        with pytest.raises(AuthError, match="không phải máy chủ trung gian được tin cậy"):
            proxy_username(headers, client, "X-Forwarded-User", trusted)


def test_frozen_reports_model_untouched_by_a_refused_freeze(agencies):
    # A refusal writes nothing but its audit entry.
    with pytest.raises(AccessDenied):
        freeze(agencies, "2022-Q2", user="x", today=DEMO_TODAY, scope=Scope("v", "viewer", ("A",)))
    with get_engine(agencies).connect() as conn:
        assert conn.scalar(select(FrozenReport.id)) is None
