"""An officer's national JSON import (issue 10, like issue 13/14 for tables): the scope is checked record by
record, each refused record named by its index, MaHoSo, field and reason, and nothing is written. On both
engines."""
from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from tthc_core.auth import Scope
from tthc_core.db import get_engine
from tthc_core.importer import import_file
from tthc_core.models import Agency, Dossier, ProgressStep
from tthc_core.store import ensure_agency

from test_dvcqg import EXAMPLE, example, progress

HOME = "000.00.99.H00"  # the example's madonvi and MaHoSo prefix
OFFICER_HOME = Scope("canbo", "officer", (HOME,))
OFFICER_H99 = Scope("canbo99", "officer", ("H99",))


@pytest.fixture
def units(db_url):
    """Agencies HOME and H99, created by an admin."""
    with get_engine(db_url).begin() as conn:
        ensure_agency(conn, HOME, "Sở ví dụ tỉnh X")
        ensure_agency(conn, "H99", "Sở H99")
    return db_url


def as_bytes(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def stored(url) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(select(Dossier.code, Agency.code, Dossier.resolved_at)
                                               .join(Agency, Agency.id == Dossier.agency_id).order_by(Dossier.code))]


def test_an_officer_imports_the_records_of_their_agency(units):
    result = import_file(units, EXAMPLE, scope=OFFICER_HOME)
    assert result.problems == [] and result.written and (result.added, result.created_agencies) == (5, [])
    assert {agency for _, agency, _ in stored(units)} == {HOME}


def test_a_record_of_another_agency_is_refused_by_index_code_field_and_reason(units):
    records = example()["data"][:3]
    records[1]["MaHoSo"] = "H99-220412-00102"  # a bare array: each record's agency is its MaHoSo prefix
    result = import_file(units, as_bytes(records), scope=OFFICER_HOME)
    assert not result.written and result.rejected == 1
    assert [p.text() for p in result.problems] == [
        "Bản ghi 2 (MaHoSo H99-220412-00102), trường «MaHoSo»: cơ quan «H99» ngoài phạm vi của tài khoản «canbo»: "
        "không được nhập dữ liệu của đơn vị khác."]
    assert stored(units) == []
    # the same file by the other unit's officer: records 1 and 3 refused, still nothing written
    other = import_file(units, as_bytes(records), scope=OFFICER_H99)
    assert [(p.line, p.column) for p in other.problems] == [
        (f"bản ghi 1 (MaHoSo {HOME}-220404-00101)", "MaHoSo"), (f"bản ghi 3 (MaHoSo {HOME}-220510-00103)", "MaHoSo")]
    assert stored(units) == []


def test_the_envelopes_madonvi_names_the_agency_of_every_record(units):
    result = import_file(units, EXAMPLE, scope=OFFICER_H99, dry_run=True)
    assert result.rejected == 5 and {p.column for p in result.problems} == {"madonvi"}
    assert f"cơ quan «{HOME}» ngoài phạm vi" in result.problems[0].message
    assert not import_file(units, EXAMPLE, scope=OFFICER_H99).written and stored(units) == []


def test_an_agency_not_stored_is_not_created_for_an_officer(db_url):
    result = import_file(db_url, EXAMPLE, scope=OFFICER_HOME)
    assert not result.written and result.rejected == 5
    assert "chưa có trong cơ sở dữ liệu" in result.problems[0].message
    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Agency)) == 0


def test_an_officer_cannot_overwrite_or_extend_another_units_dossier_by_its_code(units):
    assert import_file(units, EXAMPLE).written  # an admin's import: HOME's five dossiers
    before = stored(units)
    resend = copy.deepcopy(example()["data"][2])  # postal, open: the attack closes it under H99's name
    resend.update(TrangThaiHoSo="10", NgayKetThucXuLy="20220620090000")
    result = import_file(units, as_bytes([resend]), scope=OFFICER_H99, agency="H99")
    assert [p.text() for p in result.problems] == [
        f"Bản ghi 1 (MaHoSo {HOME}-220510-00103), trường «MaHoSo»: mã hồ sơ «{HOME}-220510-00103» đã có trong "
        "cơ sở dữ liệu, thuộc một cơ quan ngoài phạm vi của tài khoản: không được thay đổi hồ sơ của đơn vị khác."]
    step = import_file(units, as_bytes([progress(f"{HOME}-220510-00103", "20220512090000", "Phòng A")]),
                       scope=OFFICER_H99)
    assert not step.written and [p.column for p in step.problems] == ["MaHoSo"]
    assert stored(units) == before
    with get_engine(units).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ProgressStep)) == 0
    # the unit's own officer may
    assert import_file(units, as_bytes([resend]), scope=OFFICER_HOME).written


def test_a_record_without_an_agency_goes_to_the_officers_only_agency(units):
    record = copy.deepcopy(example()["data"][0])
    record["MaHoSo"] = "KHONGTIENTO"  # no prefix, bare array: the account's only agency
    result = import_file(units, as_bytes([record]), scope=OFFICER_H99)
    assert result.written and stored(units)[0][:2] == ("KHONGTIENTO", "H99")
    both = Scope("canbo2", "officer", (HOME, "H99"))
    record["MaHoSo"] = "KHONGTIENTO2"
    refused = import_file(units, as_bytes([record]), scope=both)
    assert [(p.line, p.column) for p in refused.problems] == [("bản ghi 1 (MaHoSo KHONGTIENTO2)", "MaHoSo")]
    assert "chưa rõ cơ quan" in refused.problems[0].message
