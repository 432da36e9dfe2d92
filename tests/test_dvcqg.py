"""The national sync records (dvcqg-sync.md): envelope and bare array, lifecycle columns, rounds, steps."""
from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tthc_core import columnar, compute_stats
from tthc_core.counting import column_grouped_counts, counting_settings, sql_grouped_counts, sum_counts
from tthc_core.db import PROJECT_ROOT, get_engine
from tthc_core.importer import dvcqg, import_file
from tthc_core.models import Agency, Dossier, Field, ProgressStep, SupplementRound
from tthc_core.periods import parse_period

# A copy of ../shared/docs/dvcqg-example.json (dvcqg-sync.md §8), so the tests need nothing outside the repo.
EXAMPLE = Path(__file__).parent / "data" / "dvcqg-example.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def as_bytes(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def dossiers(url: str) -> dict[str, Dossier]:
    with get_engine(url).connect() as conn:
        return {d.code: d for d in conn.execute(select(Dossier)).all()}


def count(url: str, table) -> int:
    with get_engine(url).connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_example_envelope_gives_the_worked_example_of_the_spec(db_url):
    result = import_file(db_url, EXAMPLE)
    assert result.problems == [] and result.written
    assert (result.rows_read, result.added, result.updated, result.supplement_rounds) == (5, 5, 0, 2)
    assert result.created_agencies == ["000.00.99.H00 (Sở ví dụ tỉnh X)"]
    assert result.created_fields == ["Người có công", "Bảo trợ xã hội", "Việc làm", "Giáo dục nghề nghiệp", "Trẻ em"]
    assert len(result.created_procedures) == 5
    assert "cơ quan mới: 000.00.99.H00 (Sở ví dụ tỉnh X)" in result.summary()

    # dvcqg-sync.md §8: col 3 = 5 (4: 2, 5: 3 of which 1 postal, 6: 0), col 7 = 3 (1 early, 1 on time =
    # the withdrawal, 1 late), col 11 = 2 (1 in time = suspended at the cut-off, 1 overdue).
    total = compute_stats(db_url, "2022-Q2", agency="000.00.99.H00")["dossiers"]["total"]
    assert total == dict(received_total=5, received_online=2, received_offline=3, received_postal=1, carried_over=0,
                         resolved_total=3, resolved_early=1, resolved_on_time=1, resolved_late=1,
                         pending_total=2, pending_in_time=1, pending_overdue=1)


def test_example_fields_land_in_the_lifecycle_columns(db_url):
    import_file(db_url, EXAMPLE)
    stored = dossiers(db_url)
    first = stored["000.00.99.H00-220404-00101"]
    assert (first.channel, first.status, first.intake, first.source_status) == ("online", "normal", "accepted", 10)
    assert first.received_at == dt.datetime(2022, 4, 4, 9, 15)
    assert first.submitted_at == dt.datetime(2022, 4, 3, 20, 12)
    assert first.due_at == dt.datetime(2022, 4, 12, 9, 15) and not first.due_estimated
    # resolved at NgayKetThucXuLy, never NgayTra (domain.md §4b)
    assert first.resolved_at == dt.datetime(2022, 4, 7, 15, 30)
    assert first.result_returned_at == dt.datetime(2022, 4, 8, 8, 10)
    assert (first.fee_lines, int(first.fee_total), first.paid_online_via) == (1, 50000, "dvcqg")
    assert (first.components, first.components_digitised, first.components_reused, first.components_from_store) \
        == (1, 1, 0, 1)
    assert (first.e_results, first.e_result_url) == (1, "https://example.invalid/files/quyet_dinh.pdf")
    assert (first.has_digitised_components, first.vneid_authenticated, first.filed_on_national_portal) == (True,) * 3
    assert (first.db_connections, first.applicant_type, first.result_by_post, first.procedure_code) \
        == ("7", 1, False, "1.001776")
    second = stored["000.00.99.H00-220412-00102"]
    assert (second.fee_lines, second.fee_total, second.paid_online_via, second.e_results) == (0, None, None, 0)
    assert (second.filed_on_national_portal, second.has_digitised_components) == (False, False)
    postal = stored["000.00.99.H00-220510-00103"]
    assert (postal.channel, postal.result_by_post, postal.resolved_at) == ("postal", True, None)
    withdrawn = stored["000.00.99.H00-220516-00104"]
    assert (withdrawn.status, withdrawn.resolved_at, withdrawn.applicant_type) == \
        ("withdrawn", dt.datetime(2022, 5, 20, 14, 10), 2)
    suspended = stored["000.00.99.H00-220523-00105"]
    assert (suspended.status, suspended.supplement_rounds, suspended.components_reused) == ("suspended", 2, 1)
    with get_engine(db_url).connect() as conn:
        rounds = conn.execute(select(SupplementRound.position, SupplementRound.requested_at,
                                     SupplementRound.supplied_at, SupplementRound.due_before,
                                     SupplementRound.due_after)
                              .where(SupplementRound.dossier_id == suspended.id)
                              .order_by(SupplementRound.position)).all()
    assert [tuple(r) for r in rounds] == [
        (1, dt.datetime(2022, 5, 26, 9), dt.datetime(2022, 6, 2, 10), dt.datetime(2022, 6, 6, 8, 30),
         dt.datetime(2022, 6, 13, 8, 30)),
        (2, dt.datetime(2022, 6, 8, 15), None, dt.datetime(2022, 6, 13, 8, 30), None),
    ]


def second_sender() -> list[dict]:
    """A bare array as another province's system sends it: numbers instead of strings, an unknown key,
    resends of dossiers of the example (3 now resolved, 5 with its open round closed, twice)."""
    records = {r["MaHoSo"][-3:]: r for r in example()["data"]}
    postal = copy.deepcopy(records["103"])
    postal.update(TrangThaiHoSo=10, NgayKetThucXuLy=20220620090000, NgayTra="20220621090000", KenhThucHien=3,
                  LoaiDoiTuong=1, HinhThuc=1, NoiNopHoSo=2, NgayHenTra=20220524102000, NgayTiepNhan=20220510102000,
                  extra_vendor_key={"anything": [1, 2]})
    suspended = copy.deepcopy(records["105"])
    suspended["DanhSachHoSoBoSung"][1].update(NgayTiepNhanBoSung="2022-06-16T10:00:00", TrangThaiBoSung=True,
                                              NgayHenTraMoi="2022-06-21T08:30:00")
    suspended.update(TrangThaiHoSo=4, NgayHenTra=20220621083000)
    first_send = copy.deepcopy(suspended)
    first_send["DanhSachHoSoBoSung"] = []
    new = copy.deepcopy(records["102"])
    new.update(MaHoSo="000.00.99.H00-220601-00201", NgayTiepNhan=20220601080000, NgayHenTra="",
               TrangThaiHoSo=2, NgayKetThucXuLy=None, NgayTra=None, KenhThucHien=1, Vendor_note="ignored")
    return [postal, first_send, new, suspended]


def test_bare_array_from_a_second_sender_imports_into_the_same_database(db_url):
    assert import_file(db_url, EXAMPLE).written
    result = import_file(db_url, as_bytes(second_sender()))
    assert result.problems == [], [p.text() for p in result.problems]
    # four records, three dossiers: the later of the two records of 105 replaced the earlier one
    assert (result.rows_read, result.rows_valid, result.added, result.updated) == (4, 3, 1, 2)
    stored = dossiers(db_url)
    assert len(stored) == 6
    postal = stored["000.00.99.H00-220510-00103"]
    assert (postal.source_status, postal.resolved_at, postal.resolution) == (10, dt.datetime(2022, 6, 20, 9), "late")
    suspended = stored["000.00.99.H00-220523-00105"]
    assert (suspended.status, suspended.supplement_rounds, suspended.due_at) == \
        ("normal", 2, dt.datetime(2022, 6, 21, 8, 30))
    with get_engine(db_url).connect() as conn:
        rounds = conn.execute(select(SupplementRound.supplied_at, SupplementRound.due_after)
                              .where(SupplementRound.dossier_id == suspended.id)
                              .order_by(SupplementRound.position)).all()
    # ISO 8601 inside HoSoBoSung is accepted (dvcqg-sync.md §2); the rounds were replaced, not added
    assert [tuple(r) for r in rounds] == [(dt.datetime(2022, 6, 2, 10), dt.datetime(2022, 6, 13, 8, 30)),
                                          (dt.datetime(2022, 6, 16, 10), dt.datetime(2022, 6, 21, 8, 30))]
    new = stored["000.00.99.H00-220601-00201"]
    # NgayHenTra "" → the procedure's time; the minimal procedure made from the record has none
    assert (new.channel, new.due_at, new.agency_id) == ("direct", None, postal.agency_id)
    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Agency)) == 1
        assert conn.scalar(select(func.count()).select_from(Field)) == 5
    # computed from event times: the postal dossier was still open at 14/06; 201 is new in the quarter
    total = compute_stats(db_url, "2022-Q2", agency="000.00.99.H00")["dossiers"]["total"]
    assert (total["received_total"], total["resolved_total"], total["pending_overdue"]) == (6, 3, 1)

    # the same file again changes nothing but the counts of updates
    again = import_file(db_url, as_bytes(second_sender()))
    assert (again.added, again.updated) == (0, 3)
    assert count(db_url, SupplementRound) == 2 and count(db_url, Dossier) == 6


def bad_records() -> list[dict]:
    records = example()["data"]
    unreadable = copy.deepcopy(records[0])
    unreadable["NgayHenTra"] = "20221301091500"  # month 13
    iso = copy.deepcopy(records[1])
    iso["NgayTiepNhan"] = "2022-04-12 14:00"  # not yyyyMMddHHmmss (ISO only inside HoSoBoSung)
    no_end = copy.deepcopy(records[1])
    no_end.update(MaHoSo="X-1", NgayKetThucXuLy="")
    early_end = copy.deepcopy(records[3])
    early_end["NgayKetThucXuLy"] = "20220515090000"
    channel = copy.deepcopy(records[2])
    channel["KenhThucHien"] = "5"
    return [records[4], unreadable, iso, no_end, early_end, channel]


def test_bad_records_are_refused_with_index_code_field_and_reason_and_nothing_is_written(db_url):
    result = import_file(db_url, as_bytes({"service": "DongBoHoSoMC", "madonvi": "000.00.99.H00",
                                           "data": bad_records()}))
    assert not result.written and result.rejected == 5
    assert [(p.line, p.column) for p in result.problems] == [
        ("bản ghi 2 (MaHoSo 000.00.99.H00-220404-00101)", "NgayHenTra"),
        ("bản ghi 3 (MaHoSo 000.00.99.H00-220412-00102)", "NgayTiepNhan"),
        ("bản ghi 4 (MaHoSo X-1)", "NgayKetThucXuLy"),
        ("bản ghi 5 (MaHoSo 000.00.99.H00-220516-00104)", "NgayKetThucXuLy"),
        ("bản ghi 6 (MaHoSo 000.00.99.H00-220510-00103)", "KenhThucHien"),
    ]
    texts = [p.text() for p in result.problems]
    assert texts[0] == ("Bản ghi 2 (MaHoSo 000.00.99.H00-220404-00101), trường «NgayHenTra»: "
                        "thời điểm «20221301091500» không tồn tại.")
    assert "không đúng dạng" in texts[1] and "yyyyMMddHHmmss" in texts[1]
    assert "cần thời điểm kết thúc xử lý" in texts[2]
    assert "trước khi tiếp nhận" in texts[3]
    assert "mã kênh thực hiện «5» không hợp lệ" in texts[4]
    assert result.summary() == "Không ghi gì: 5 bản ghi lỗi trong 6 bản ghi."
    assert count(db_url, Dossier) == 0 and count(db_url, Agency) == 0 and count(db_url, SupplementRound) == 0
    assert list(result.rejects_frame()["MaHoSo"])[:1] == ["000.00.99.H00-220404-00101"]


def test_a_record_neither_dossier_nor_step_is_refused_by_its_index(sqlite_url):
    records = bad_records()[:1] + [7, {"MaHoSo": "000.00.99.H00-220404-00999", "TenLinhVuc": "Việc làm"}]
    result = import_file(sqlite_url, as_bytes(records))
    assert not result.written and result.rejected == 2
    texts = [p.text() for p in result.problems]
    assert texts[0].startswith("Bản ghi 2") and "bản ghi phải là một đối tượng { … }" in texts[0]
    assert texts[1].startswith("Bản ghi 3 (MaHoSo 000.00.99.H00-220404-00999)")
    assert "hồ sơ cần TrangThaiHoSo và NgayTiepNhan (DongBoHoSoMC)" in texts[1]
    assert count(sqlite_url, Dossier) == 0


def test_broken_json_is_a_file_problem_and_writes_nothing(sqlite_url):
    text = EXAMPLE.read_text(encoding="utf-8")
    result = import_file(sqlite_url, text[: len(text) // 2].encode())
    assert not result.written and len(result.problems) == 1 and result.problems[0].raw is None
    assert result.problems[0].message.startswith("Tệp JSON hỏng ở ký tự thứ")
    assert count(sqlite_url, Dossier) == 0
    wrong_shape = import_file(sqlite_url, b'{"service": "DongBoHoSoMC", "madonvi": "X"}')
    assert wrong_shape.problems[0].message.startswith("Gói không có mảng «data»")


def test_streaming_reads_the_same_records_in_tiny_chunks(sqlite_url, monkeypatch):
    monkeypatch.setattr(dvcqg, "CHUNK", 7)
    monkeypatch.setattr(dvcqg, "BATCH", 2)
    payload = example()
    payload["data"] = payload["data"] + [{"MaHoSo": "000.00.99.H00-220601-00999", "NgayTiepNhan": 20220601080000,
                                          "TrangThaiHoSo": 2, "KenhThucHien": 2}]
    # madonvi after data: the envelope's agency still applies
    payload = {"data": payload["data"], "service": "DongBoHoSoMC", "madonvi": "SO-VIDU"}
    result = import_file(sqlite_url, as_bytes(payload))
    assert result.problems == [] and result.rows_valid == 6 and result.supplement_rounds == 2
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(select(Agency.code, Agency.name)).all() == [("SO-VIDU", "Sở ví dụ tỉnh X")]
    total = compute_stats(sqlite_url, "2022-Q2", agency="SO-VIDU")["dossiers"]["total"]
    assert (total["received_total"], total["received_online"], total["resolved_total"]) == (6, 3, 3)


def test_agency_from_option_else_envelope_else_code_prefix(sqlite_url):
    records = example()["data"][:2]
    records[1]["MaHoSo"] = "H99-220412-00102"
    assert import_file(sqlite_url, as_bytes(records)).written  # bare array: the MaHoSo prefixes
    with get_engine(sqlite_url).connect() as conn:
        assert sorted(conn.execute(select(Agency.code)).scalars()) == ["000.00.99.H00", "H99"]
    result = import_file(sqlite_url, as_bytes({"madonvi": "H99", "data": records}), agency="SOVIDU")
    assert result.created_agencies == ["SOVIDU (Sở ví dụ tỉnh X)"] and result.updated == 2
    with get_engine(sqlite_url).connect() as conn:
        agency_id = conn.scalar(select(Agency.id).where(Agency.code == "SOVIDU"))
        assert set(conn.execute(select(Dossier.agency_id)).scalars()) == {agency_id}


def lifecycle_records() -> list[dict]:
    """Never accepted, refused, a pending withdrawal request, a stopped dossier, a 9 pushed with rounds."""
    base = {"MaTTHC": "1.000002", "TenTTHC": "Thủ tục ví dụ B", "MaLinhVuc": "BTXH", "TenLinhVuc": "Bảo trợ xã hội",
            "KenhThucHien": "2", "DonViXuLy": "Sở ví dụ", "NgayHenTra": "20220520170000"}
    return [
        {**base, "MaHoSo": "S-1", "TrangThaiHoSo": "1", "NgayTiepNhan": "", "NgayNopHoSo": "20220502080000"},
        {**base, "MaHoSo": "S-3", "TrangThaiHoSo": "3", "NgayTiepNhan": "", "NgayNopHoSo": "",
         "NgayTuChoi": "20220503090000"},
        {**base, "MaHoSo": "S-7", "TrangThaiHoSo": "7", "NgayTiepNhan": "20220504080000", "NgayKetThucXuLy": ""},
        {**base, "MaHoSo": "S-8", "TrangThaiHoSo": "8", "NgayTiepNhan": "20220504080000",
         "NgayKetThucXuLy": "20220510080000"},
        {**base, "MaHoSo": "S-9", "TrangThaiHoSo": "9", "NgayTiepNhan": "20220504080000",
         "NgayKetThucXuLy": "20220509080000",
         "DanhSachHoSoBoSung": [{"HoSoBoSungId": 1, "NgayBoSung": "20220509080000", "NgayTiepNhanBoSung": "",
                                 "NgayHenTraTruoc": "20220520170000", "NgayHenTraMoi": ""}]},
    ]


def test_lifecycle_statuses_are_stored_as_sent(db_url):
    result = import_file(db_url, as_bytes(lifecycle_records()))
    assert result.problems == [], [p.text() for p in result.problems]
    stored = dossiers(db_url)
    not_accepted, refused, request, stopped, quirk = (stored[f"S-{n}"] for n in (1, 3, 7, 8, 9))
    assert (not_accepted.intake, not_accepted.received_at, not_accepted.submitted_at) == \
        ("not_accepted", dt.datetime(2022, 5, 2, 8), dt.datetime(2022, 5, 2, 8))
    assert (refused.intake, refused.refused_at, refused.received_at) == \
        ("refused", dt.datetime(2022, 5, 3, 9), dt.datetime(2022, 5, 3, 9))
    assert (request.status, request.withdrawal_requested, request.resolved_at) == ("normal", True, None)
    assert (stopped.status, stopped.resolved_at, stopped.source_status) == ("stopped", dt.datetime(2022, 5, 10, 8), 8)
    # dvcqg-sync.md §7.1: 5/6/8 pushed as 9 with rounds present; stored as sent, the counting decides
    assert (quirk.source_status, quirk.resolved_at, quirk.supplement_rounds) == (9, dt.datetime(2022, 5, 9, 8), 1)


def test_a_round_requested_after_the_resolution_sets_the_due_date_it_is_judged_by(db_url):
    """The last round's request is stored with the dossier (rounds_requested_until), so a quarter reads the
    rounds of a resolved dossier only when one came after its resolution; judged the same way when the
    column does not say (rounds stored before it existed) and by the columnar copy."""
    base = {"MaTTHC": "1.000002", "TenTTHC": "Thủ tục ví dụ B", "TenLinhVuc": "Bảo trợ xã hội", "KenhThucHien": "2",
            "TrangThaiHoSo": "10", "NgayTiepNhan": "20220504080000", "NgayHenTra": "20220520170000",
            "NgayKetThucXuLy": "20220518080000"}

    def round_(requested: str, due_before: str) -> dict:
        return {"NgayBoSung": requested, "NgayTiepNhanBoSung": requested, "NgayHenTraTruoc": due_before,
                "NgayHenTraMoi": "20220520170000"}

    records = [  # resolved on 18/05, due 20/05: early by its own due date
        {**base, "MaHoSo": "R-BEFORE", "DanhSachHoSoBoSung": [round_("20220506080000", "20220516170000"),
                                                              round_("20220510080000", "20220518170000")]},
        # a sender's quirk: a round requested on 19/05, after the end; the due date in force at the end
        # is its NgayHenTraTruoc, 16/05: late
        {**base, "MaHoSo": "R-AFTER", "DanhSachHoSoBoSung": [round_("20220519080000", "20220516170000")]},
    ]
    assert import_file(db_url, as_bytes(records), agency="SOVIDU").problems == []
    stored = dossiers(db_url)
    assert stored["R-BEFORE"].rounds_requested_until == dt.datetime(2022, 5, 10, 8)
    assert stored["R-AFTER"].rounds_requested_until == dt.datetime(2022, 5, 19, 8)
    assert (stored["R-BEFORE"].resolution, stored["R-AFTER"].resolution) == ("early", "early")  # by NgayHenTra

    def resolved(url: str) -> tuple[int, int, int]:
        with get_engine(url).connect() as conn:
            p, rules = parse_period("2022-Q2"), counting_settings(conn)
            plain = sum_counts(sql_grouped_counts(conn, p, None, "field", rules).values())
            fast = sum_counts(column_grouped_counts(columnar.snapshot(conn, wait=True), p, None, "field",
                                                    rules).values())
        assert plain == fast
        return plain["resolved_early"], plain["resolved_on_time"], plain["resolved_late"]

    assert resolved(db_url) == (1, 0, 1)
    with get_engine(db_url).begin() as conn:  # as in a database whose rounds came before the column
        conn.execute(Dossier.__table__.update().values(rounds_requested_until=None))
    assert resolved(db_url) == (1, 0, 1)
    # sent again without rounds: none stored, nothing to say
    assert import_file(db_url, as_bytes([{**base, "MaHoSo": "R-AFTER"}]), agency="SOVIDU").updated == 1
    assert dossiers(db_url)["R-AFTER"].rounds_requested_until is None
    assert resolved(db_url) == (2, 0, 0)


def progress(code: str, at: str, unit: str, state: str = "4") -> dict:
    return {"MaHoSo": code, "NguoiXuLy": "Chuyên viên", "ChucDanh": "Chuyên viên", "ThoiDiemXuLy": at,
            "PhongBanXuLy": unit, "NoiDungXuLy": "Xử lý", "TrangThai": state, "NgayBatDau": at,
            "NgayKetThucTheoQuyDinh": ""}


def test_progress_steps_are_stored_and_the_latest_gives_the_handling_unit(db_url):
    import_file(db_url, EXAMPLE)
    code = "000.00.99.H00-220510-00103"
    steps = {"service": "CapNhatTienDoHoSoMC", "madonvi": "000.00.99.H00", "data": [
        progress(code, "20220510102000", "Bộ phận một cửa", "2"),
        progress(code, "20220512090000", "Phòng Việc làm"),
    ]}
    result = import_file(db_url, as_bytes(steps))
    assert result.problems == [] and result.progress_steps == 2 and result.rows_valid == 0
    assert dossiers(db_url)[code].handling_unit == "Phòng Việc làm"
    # a later file: one step again (kept once) and a newer one
    later = [progress(code, "20220512090000", "Phòng Việc làm"), progress(code, "20220601090000", "Lãnh đạo Sở")]
    assert import_file(db_url, as_bytes(later)).written
    assert count(db_url, ProgressStep) == 3
    assert dossiers(db_url)[code].handling_unit == "Lãnh đạo Sở"
    with get_engine(db_url).connect() as conn:
        first = conn.execute(select(ProgressStep).order_by(ProgressStep.at)).first()
    assert (first.status, first.unit, first.handler, first.started_at) == \
        (2, "Bộ phận một cửa", "Chuyên viên", dt.datetime(2022, 5, 10, 10, 20))


def test_a_step_of_an_unknown_dossier_refuses_the_file(db_url):
    import_file(db_url, EXAMPLE)
    code = "000.00.99.H00-220510-00103"
    result = import_file(db_url, as_bytes([progress(code, "20220512090000", "Phòng Việc làm"),
                                           progress("KHONG-CO", "20220512090000", "Phòng A")]))
    assert not result.written
    assert [(p.line, p.column) for p in result.problems] == [("bản ghi 2 (MaHoSo KHONG-CO)", "MaHoSo")]
    assert count(db_url, ProgressStep) == 0 and dossiers(db_url)[code].handling_unit is None


def test_dossiers_and_their_steps_in_one_array(sqlite_url):
    records = example()["data"][:1] + [progress("000.00.99.H00-220404-00101", "20220405090000", "Phòng A")]
    result = import_file(sqlite_url, as_bytes(records))
    assert (result.written, result.rows_valid, result.progress_steps) == (True, 1, 1)
    assert dossiers(sqlite_url)["000.00.99.H00-220404-00101"].handling_unit == "Phòng A"


def test_cli_imports_json_by_content_and_by_format(sqlite_url, tmp_path):
    target = tmp_path / "ho-so.txt"  # no .json suffix: detected by content
    target.write_bytes(EXAMPLE.read_bytes())
    run = subprocess.run([sys.executable, "-m", "tthc_core", "--db", sqlite_url, "import", str(target)],
                         capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Đã nhập 5 hồ sơ (5 mới, 0 cập nhật), 2 lượt bổ sung")
    bad = tmp_path / "loi.json"
    bad.write_bytes(as_bytes(bad_records()))
    run = subprocess.run([sys.executable, "-m", "tthc_core", "--db", sqlite_url, "import", "--format", "dvcqg",
                          str(bad)], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[0].startswith("Bản ghi 2 (MaHoSo 000.00.99.H00-220404-00101), trường «NgayHenTra»")
    assert count(sqlite_url, Dossier) == 5


def test_sample_files_import_and_give_their_quarter(db_url):
    """data/samples/dong-bo-ho-so-mc.json and tien-do-ho-so-mc.json: the figures their _comment states."""
    samples = PROJECT_ROOT / "data" / "samples"
    first = import_file(db_url, samples / "dong-bo-ho-so-mc.json")
    steps = import_file(db_url, samples / "tien-do-ho-so-mc.json")
    assert first.written and steps.written and steps.summary() == "Đã nhập 8 bước xử lý."
    total = compute_stats(db_url, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    assert total == dict(received_total=6, received_online=2, received_offline=3, received_postal=1, carried_over=1,
                         resolved_total=4, resolved_early=2, resolved_on_time=1, resolved_late=1,
                         pending_total=2, pending_in_time=1, pending_overdue=1)
    units = {code[-5:]: unit for code, unit in ((d.code, d.handling_unit) for d in dossiers(db_url).values()) if unit}
    assert units == {"00001": "Lãnh đạo Sở", "00003": "Phòng Việc làm", "00005": "Phòng Người có công"}


def test_an_officer_imports_into_their_own_agency(sqlite_url):
    from tthc_core.auth import AccessDenied, Scope
    from tthc_core.store import ensure_agency

    with get_engine(sqlite_url).begin() as conn:
        ensure_agency(conn, "SLDTBXH", "Sở Lao động")  # an admin creates it (never on an officer's behalf)
    officer = Scope("canbo", "officer", ("SLDTBXH",))
    # the records' own agency (madonvi 000.00.99.H00) is another unit's: each refused (tests/test_dvcqg_scope.py)
    refused = import_file(sqlite_url, EXAMPLE, scope=officer)
    assert not refused.written and refused.rejected == 5 and count(sqlite_url, Dossier) == 0
    # chosen explicitly (--agency), the account's agency names every record
    result = import_file(sqlite_url, EXAMPLE, scope=officer, agency="SLDTBXH")
    assert result.written and result.created_agencies == []
    with pytest.raises(AccessDenied):
        import_file(sqlite_url, EXAMPLE, scope=officer, agency="STP")
    assert count(sqlite_url, Dossier) == 5


def test_a_table_may_carry_the_lifecycle_columns_under_vietnamese_headers(db_url):
    table = ("Mã hồ sơ;Hình thức nộp;Ngày tiếp nhận;Ngày hẹn trả;Ngày có kết quả;Ngày nộp;Mã trạng thái;"
             "Loại đối tượng;Phí, lệ phí;Thanh toán trực tuyến;Xác thực VNeID;Kết quả điện tử;Ngày từ chối\n"
             "HS-1;Trực tuyến;05/04/2022 08:30;05/05/2022;28/04/2022 16:00;04/04/2022 21:10;10;Công dân;50.000;1;x;"
             "https://example.invalid/kq/1.pdf;\n"
             "HS-2;Trực tiếp;06/04/2022 09:00;06/05/2022;10/05/2022 08:00;;8;2;;0;;;\n"
             "HS-3;Trực tiếp;07/04/2022 09:00;;;;3;;;;;;07/04/2022 10:00\n")
    result = import_file(db_url, table.encode(), agency="SLDTBXH")
    assert result.problems == [] and result.written, [p.text() for p in result.problems]
    stored = dossiers(db_url)
    one, stopped, refused = stored["HS-1"], stored["HS-2"], stored["HS-3"]
    assert (one.submitted_at, one.source_status, one.applicant_type, int(one.fee_total), one.fee_lines) == \
        (dt.datetime(2022, 4, 4, 21, 10), 10, 1, 50000, 1)
    assert (one.paid_online_via, one.vneid_authenticated, one.e_results, one.intake) == ("dvcqg", True, 1, "accepted")
    assert (stopped.status, stopped.source_status, stopped.applicant_type, stopped.paid_online_via) == \
        ("stopped", 8, 2, None)
    assert (refused.intake, refused.refused_at, refused.vneid_authenticated) == \
        ("refused", dt.datetime(2022, 4, 7, 10), None)
    bad = import_file(db_url, table.replace(";10;Công dân;", ";12;Công dân;").encode(), agency="SLDTBXH")
    assert [(p.line, p.column) for p in bad.problems] == [(2, "Mã trạng thái")]
