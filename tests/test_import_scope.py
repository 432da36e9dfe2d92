"""What an import may change (issue 14): only the dossiers of the account's own agencies, only plausible
dates, only the columns the file carries; and what it tells the page afterwards (issue 13: the periods
the file covers). On both engines."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tthc_core.auth import AccessDenied, Scope
from tthc_core.db import data_version, get_engine
from tthc_core.importer import Limits, import_file
from tthc_core.models import Agency, Dossier
from tthc_core.store import ensure_agency

HEADER = "code,agency_code,channel,received_at,due_at,resolved_at\n"
OFFICER_A = Scope("canbo", "officer", ("A",))


@pytest.fixture
def two_units(db_url):
    """Agencies A and B; B already holds dossier HS-B1 (resolved 10/04/2022)."""
    with get_engine(db_url).begin() as conn:
        for code in ("A", "B"):
            ensure_agency(conn, code, f"Cơ quan {code}")
    written = import_file(db_url, (HEADER + "HS-B1,B,direct,2022-04-01,2022-04-15,2022-04-10\n").encode(),
                          filename="b.csv")
    assert written.written
    return db_url


def stored(url) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Dossier.code, Agency.code, Dossier.resolved_at).join(Agency, Agency.id == Dossier.agency_id)
            .order_by(Dossier.code)).all()]


# --- dossier codes are scoped ------------------------------------------------------------------

@pytest.mark.parametrize("dry_run", [False, True])
def test_an_officer_cannot_overwrite_another_units_dossier_by_its_code(two_units, dry_run):
    before = (stored(two_units), data_version(two_units))
    # The attack: agency A in the agency column (so the old scope check passed), B's dossier code.
    data = (HEADER + "HS-A1,A,direct,2022-04-02,2022-04-15,\n"
                     "HS-B1,A,online,2022-04-03,2022-04-15,2022-05-30\n").encode()

    result = import_file(two_units, data, filename="a.csv", scope=OFFICER_A, dry_run=dry_run)

    assert [p.text() for p in result.problems] == [
        "Dòng 3, cột «code»: mã hồ sơ «HS-B1» đã có trong cơ sở dữ liệu, thuộc một cơ quan ngoài phạm vi của tài "
        "khoản: không được thay đổi hồ sơ của đơn vị khác."]
    assert "B" not in result.problems[0].message.replace("HS-B1", "")  # the other unit is not named
    assert not result.written and (result.added, result.updated) == ((1, 0) if dry_run else (0, 0))
    assert (stored(two_units), data_version(two_units)) == before


def test_with_skip_invalid_the_officers_own_rows_are_written_and_the_foreign_code_is_not(two_units):
    data = (HEADER + "HS-A1,,direct,2022-04-02,2022-04-15,\nHS-B1,,online,2022-04-03,2022-04-15,2022-05-30\n").encode()

    result = import_file(two_units, data, filename="a.csv", scope=OFFICER_A, skip_invalid=True)

    assert result.written and (result.added, result.updated, result.rejected) == (1, 0, 1)
    assert stored(two_units) == [("HS-A1", "A", None), ("HS-B1", "B", dt.datetime(2022, 4, 10))]


def test_an_officer_updates_their_own_dossiers_and_an_admin_may_move_one(two_units):
    mine = (HEADER + "HS-A1,A,direct,2022-04-02,2022-04-15,\n").encode()
    assert import_file(two_units, mine, filename="a.csv", scope=OFFICER_A).written
    again = import_file(two_units, (HEADER + "HS-A1,A,direct,2022-04-02,2022-04-15,2022-04-12\n").encode(),
                        filename="a.csv", scope=OFFICER_A)
    assert again.written and (again.added, again.updated) == (0, 1)

    moved = import_file(two_units, (HEADER + "HS-B1,A,direct,2022-04-01,2022-04-15,2022-04-10\n").encode(),
                        filename="a.csv", scope=Scope("admin", "admin", None))
    assert moved.written and stored(two_units)[1] == ("HS-B1", "A", dt.datetime(2022, 4, 10))


def test_a_viewer_may_not_import_and_an_officer_may_not_choose_another_agency(two_units):
    data = (HEADER + "HS-A1,,direct,2022-04-02,2022-04-15,\n").encode()
    with pytest.raises(AccessDenied):
        import_file(two_units, data, filename="a.csv", scope=Scope("v", "viewer", ("A",)))
    with pytest.raises(AccessDenied):
        import_file(two_units, data, filename="a.csv", scope=OFFICER_A, agency="B")


def test_an_account_of_several_agencies_must_say_whose_rows_have_no_agency(two_units):
    both = Scope("canbo", "officer", ("A", "B"))
    data = (HEADER + "HS-A1,A,direct,2022-04-02,2022-04-15,\nHS-X,,direct,2022-04-02,2022-04-15,\n").encode()

    result = import_file(two_units, data, filename="a.csv", scope=both)

    assert [p.text() for p in result.problems] == [
        "Dòng 3, cột «agency_code»: chưa rõ cơ quan của dòng: chọn cơ quan của dữ liệu trước khi nhập, hoặc ghi cột "
        "«Mã cơ quan»."]
    assert import_file(two_units, data, filename="a.csv", scope=both, agency="b").written
    assert [r[:2] for r in stored(two_units)] == [("HS-A1", "A"), ("HS-B1", "B"), ("HS-X", "B")]


def test_rows_without_an_agency_never_land_in_the_default_agency_when_the_scope_knows_it(two_units):
    result = import_file(two_units, (HEADER + "HS-A1,,direct,2022-04-02,2022-04-15,\n").encode(), filename="a.csv",
                         scope=OFFICER_A)

    assert result.written and stored(two_units)[0][:2] == ("HS-A1", "A")
    with get_engine(two_units).connect() as conn:
        assert conn.scalar(select(Agency.id).where(Agency.is_default.is_(True))) is None


# --- plausible dates -----------------------------------------------------------------------------

@pytest.mark.parametrize("column, value", [
    ("received_at", "-2022-04-01"), ("received_at", "0001-01-01"), ("received_at", "1800-05-05"),
    ("received_at", "31/12/1999"), ("received_at", "2031-01-01"), ("resolved_at", "2041-01-01"),
    ("resolved_at", "2031-01-01 08:00"),
])
def test_a_date_outside_the_plausible_window_is_refused_with_line_and_column(db_url, column, value):
    row = {"code": "HS-1", "agency_code": "A", "channel": "direct", "received_at": "2022-04-01", "due_at": "",
           "resolved_at": ""}
    row[column] = value
    data = (HEADER + "HS-0,A,direct,2022-04-01,,\n" + ",".join(row.values()) + "\n").encode()

    result = import_file(db_url, data, filename="a.csv", limits=Limits(today=dt.date(2026, 11, 27)))

    assert [p.text() for p in result.problems] == [
        f"Dòng 3, cột «{column}»: ngày «{value}» ngoài khoảng hợp lý 01/01/2000 – 27/11/2028."]
    assert not result.written


def test_the_date_window_is_configurable(sqlite_url, monkeypatch):
    data = (HEADER + "HS-1,A,direct,1998-04-01,,\n").encode()
    monkeypatch.setenv("TTHC_IMPORT_EARLIEST", "1995-01-01")

    assert import_file(sqlite_url, data, filename="a.csv").written
    assert import_file(sqlite_url, data, filename="a.csv", limits=Limits(earliest=dt.date(1999, 1, 1))).problems


# --- what the page is told -----------------------------------------------------------------------

def test_the_result_names_the_periods_the_file_covers(sqlite_url):
    data = (HEADER + "HS-1,A,direct,2022-03-20,,\nHS-2,A,direct,2022-06-14 16:00,,\nHS-3,A,direct,2022-07-01,,\n"
            "HS-4,A,fax,2023-01-01,,\n").encode()

    result = import_file(sqlite_url, data, filename="a.csv", skip_invalid=True)

    assert result.received_range == (dt.date(2022, 3, 20), dt.date(2022, 7, 1))
    assert [q.spec for q in result.quarters()] == ["2022-Q2", "2022-Q3"]  # report quarters: 15/03 – 14/06 …
    assert [q.spec for q in result.quarters("calendar")] == ["2022-Q1", "2022-Q2", "2022-Q3"]


# --- only the columns the file carries -------------------------------------------------------------

def test_reimporting_a_narrower_export_keeps_what_it_does_not_carry_on_the_demo(demo_copy):
    from tthc_core.stats import compute_stats

    before = compute_stats(demo_copy, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    assert (before["received_total"], before["resolved_total"], before["pending_total"]) == (3238, 2525, 713)
    province = compute_stats(demo_copy, "2022-Q2")["dossiers"]["total"]
    with get_engine(demo_copy).connect() as conn:
        rows = conn.execute(select(Dossier.code, Dossier.channel, Dossier.received_at)
                            .where(Dossier.received_at < dt.datetime(2022, 6, 15))).all()
    # The narrow export: code, channel and receipt only (no agency, procedure, due or resolved date).
    narrow = "Mã hồ sơ,Hình thức nộp,Ngày tiếp nhận\n" + "".join(
        f"{r.code},{r.channel},{r.received_at:%d/%m/%Y %H:%M:%S}\n" for r in rows)

    result = import_file(demo_copy, narrow.encode(), filename="hep.csv")

    assert result.written and result.updated == len(rows) > 3000
    assert compute_stats(demo_copy, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"] == before
    assert compute_stats(demo_copy, "2022-Q2")["dossiers"]["total"] == province


def test_a_column_the_file_carries_is_written_even_when_empty(db_url):
    header = "code,agency_code,channel,received_at,due_at,resolved_at,status\n"
    import_file(db_url, (header + "HS-1,A,direct,2022-04-01,2022-04-15,2022-04-10,Tạm dừng\n").encode(),
                filename="a.csv")
    import_file(db_url, b"code,channel,received_at\nHS-1,online,2022-04-02\n", filename="b.csv")
    import_file(db_url, b"code,channel,received_at,resolved_at\nHS-2,online,2022-04-02,\n", filename="c.csv")

    with get_engine(db_url).connect() as conn:
        kept = conn.execute(select(Dossier.channel, Dossier.received_at, Dossier.due_at, Dossier.resolved_at,
                                   Dossier.status, Agency.code).join(Agency, Agency.id == Dossier.agency_id)
                            .where(Dossier.code == "HS-1")).one()
    assert tuple(kept) == ("online", dt.datetime(2022, 4, 2), dt.datetime(2022, 4, 15), dt.datetime(2022, 4, 10),
                           "suspended", "A")
    import_file(db_url, b"code,channel,received_at,resolved_at\nHS-1,online,2022-04-02,\n", filename="d.csv")
    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(Dossier.resolved_at).where(Dossier.code == "HS-1")) is None


# --- the working-day calendar extends itself ----------------------------------------------------------

def test_a_dossier_past_the_calendars_first_years_and_a_procedure_of_99999_days_get_due_dates(db_url):
    procedures = "Mã TTHC,Tên thủ tục,Mã cơ quan,Thời hạn giải quyết\nP1,Năm ngày,A,5\nP2,Rất dài,A,99999\n"
    assert import_file(db_url, procedures.encode(), filename="p.csv").written
    dossiers = ("code,agency_code,procedure_code,channel,received_at\n"
                "HS-1,A,P1,direct,2040-12-31 09:00\nHS-2,A,P2,direct,2022-04-01 09:00\n"
                "HS-3,A,P1,direct,2005-03-01 09:00\n")

    result = import_file(db_url, dossiers.encode(), filename="d.csv", limits=Limits(today=dt.date(2039, 1, 1)))

    assert result.written, [p.text() for p in result.problems]
    with get_engine(db_url).connect() as conn:
        due = dict(conn.execute(select(Dossier.code, Dossier.due_at)).all())
    # 2041: 1 January off, then Tết is in February; five working days from Wed 2 January to Tue 8 January.
    assert due["HS-1"] == dt.datetime(2041, 1, 8)
    assert due["HS-3"] == dt.datetime(2005, 3, 8)
    assert dt.datetime(2400, 1, 1) < due["HS-2"] < dt.datetime(2440, 1, 1)


# --- what PostgreSQL refused with no line named -------------------------------------------------------

def test_values_postgresql_refused_are_row_problems_with_their_line(db_url):
    procedures = ("Mã TTHC,Tên thủ tục,Mã cơ quan,Thời hạn giải quyết\n"
                  "P1,Một,abc,99999.9\nP2,Hai,abc,99999.96\nP1,Một lần nữa,ABC,5\n")

    result = import_file(db_url, procedures.encode(), filename="p.csv")

    assert [p.text() for p in result.problems] == [
        "Dòng 3, cột «Thời hạn giải quyết»: thời hạn giải quyết «99999.96» quá lớn (tối đa 99.999,9 ngày).",
        "Dòng 4, cột «Mã TTHC»: mã TTHC «P1» trùng với dòng 2 (mỗi mã chỉ được có một dòng trong tệp).",
    ]
    assert import_file(db_url, procedures.encode(), filename="p.csv", skip_invalid=True).written


def test_a_chosen_agency_code_longer_than_its_column_is_refused(db_url):
    result = import_file(db_url, (HEADER + "HS-1,,direct,2022-04-01,,\n").encode(), filename="a.csv", agency="A" * 65)

    assert [p.text() for p in result.problems] == [
        f"Dòng 1: Mã cơ quan «{'A' * 40}…» dài 65 ký tự, quá 64 ký tự cho phép."]


def test_an_officers_agency_missing_from_the_database_is_never_created_on_their_behalf(two_units):
    data = (HEADER + "HS-Z1,,direct,2022-04-02,2022-04-15,\n").encode()

    result = import_file(two_units, data, filename="z.csv", scope=Scope("canbo", "officer", ("Z",)))

    assert [p.text() for p in result.problems] == [
        "Dòng 2, cột «agency_code»: cơ quan «Z» chưa có trong cơ sở dữ liệu: quản trị viên cần tạo cơ quan này trước "
        "(trang Dữ liệu, mục «Cơ quan, đơn vị», hoặc lệnh user add --agency … --create-agency)."]
    with get_engine(two_units).connect() as conn:
        assert sorted(conn.execute(select(Agency.code)).scalars()) == ["A", "B"]
