"""The importer: CSV/XLSX exports in, dossiers and procedures out, every bad row explained in Vietnamese.

Database tests run on a fresh SQLite file and, when ``TTHC_TEST_DATABASE_URL`` is set, on PostgreSQL
(the ``db_url`` fixture of conftest.py); file-format tests use SQLite only (``sqlite_url``).
"""
from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tthc_core import importer, store
from tthc_core.importer import reading, values
from tthc_core.db import data_version, dispose_engine, get_engine
from tthc_core.importer import (DOSSIER_ALIASES, PROCEDURE_ALIASES, ImportResult, Problem, import_file,
                                normalize, parse_timestamps, write_rejects)
from tthc_core.models import Agency, Dossier, Field, Procedure
from tthc_core.stats import catalogue, compute_stats

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"

# Hand-computed figures of the sample dossiers for 2022-Q2 (report period 15/03–14/06/2022); the
# comments in data/samples/make_samples.py give the reason for each dossier.
SAMPLE_Q2 = {
    "received_total": 28, "received_online": 4, "received_offline": 20, "received_postal": 3, "carried_over": 4,
    "resolved_total": 20, "resolved_early": 7, "resolved_on_time": 9, "resolved_late": 4,
    "pending_total": 8, "pending_in_time": 6, "pending_overdue": 2,
}

DOSSIER_HEADER = ["code", "procedure_code", "procedure_name", "field", "agency_code", "channel",
                  "received_at", "due_at", "resolved_at", "status"]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def csv_bytes(rows: list[list[str]], delimiter: str = ",", bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def dossier_file(*rows: list[str], header: list[str] = DOSSIER_HEADER) -> bytes:
    return csv_bytes([header, *rows])


def good_row(code: str = "HS-1", **values: str) -> list[str]:
    row = {"code": code, "procedure_code": "1.001700", "procedure_name": "Thủ tục A", "field": "Người có công",
           "agency_code": "SLDTBXH", "channel": "direct", "received_at": "2022-04-01 08:00",
           "due_at": "2022-04-15", "resolved_at": "2022-04-10 10:00", "status": "normal"}
    row.update(values)
    return [row[c] for c in DOSSIER_HEADER]


def xlsx_bytes(rows: list[list], number_formats: dict[tuple[int, int], str] | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(r, c, value)
    for (r, c), number_format in (number_formats or {}).items():
        sheet.cell(r, c).number_format = number_format
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def dossier_count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.scalar(select(func.count()).select_from(Dossier))


def dossier(url: str, code: str):
    with get_engine(url).connect() as conn:
        return conn.execute(select(*Dossier.__table__.c).where(Dossier.code == code)).one()


def dossier_table(url: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(select(Dossier.code, Dossier.channel, Dossier.status, Dossier.received_at,
                                   Dossier.due_at, Dossier.resolved_at, Dossier.resolution, Agency.code,
                                   Procedure.code, Field.name)
                            .join(Agency, Agency.id == Dossier.agency_id)
                            .outerjoin(Procedure, Procedure.id == Dossier.procedure_id)
                            .outerjoin(Field, Field.id == Dossier.field_id)
                            .order_by(Dossier.code)).all()
    return [tuple(r) for r in rows]


def q2_totals(url: str) -> dict[str, int]:
    return compute_stats(url, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]


def only_problem(result: ImportResult) -> Problem:
    assert len(result.problems) == 1, [p.text() for p in result.problems]
    return result.problems[0]


def is_vietnamese(text: str) -> bool:
    return any(ch in text for ch in "ăâđêôơưàáạảãèéẹẻẽìíịỉĩòóọỏõùúụủũỳýỵỷỹ")


def load_make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# The sample files
# --------------------------------------------------------------------------------------------

def test_canonical_sample_csv_gives_the_hand_computed_q2_figures(db_url):
    result = import_file(db_url, SAMPLES / "ho-so-mau.csv")

    assert result.problems == []
    assert (result.kind, result.rows_read, result.rows_valid, result.added, result.updated, result.written) == \
        ("dossiers", 30, 30, 30, 0, True)
    assert result.summary() == "Đã nhập 30 hồ sơ (30 mới, 0 cập nhật); 0 dòng bị loại."
    assert q2_totals(db_url) == SAMPLE_Q2


def test_vietnamese_headers_and_day_first_dates_give_same_numbers_as_canonical_csv(db_url, sqlite_url):
    canonical = import_file(sqlite_url, SAMPLES / "ho-so-mau.csv")
    vietnamese = import_file(db_url, SAMPLES / "ho-so-mau-tieng-viet.csv", agency="SLDTBXH")

    assert vietnamese.problems == [] and canonical.problems == []
    assert vietnamese.ignored_columns == ["STT"]
    assert vietnamese.columns["received_at"] == "Ngày tiếp nhận"
    assert q2_totals(db_url) == q2_totals(sqlite_url) == SAMPLE_Q2
    assert dossier_table(db_url) == dossier_table(sqlite_url)


def test_xlsx_sample_with_title_rows_and_real_date_cells_gives_same_numbers(db_url, sqlite_url):
    import_file(sqlite_url, SAMPLES / "ho-so-mau.csv")
    result = import_file(db_url, SAMPLES / "ho-so-mau.xlsx")

    assert result.problems == []
    assert (result.kind, result.rows_read, result.written) == ("dossiers", 30, True)
    assert q2_totals(db_url) == SAMPLE_Q2
    assert dossier_table(db_url) == dossier_table(sqlite_url)


def test_sample_procedures_file_gives_the_catalogue_flags(db_url):
    result = import_file(db_url, SAMPLES / "thu-tuc-mau.csv")

    assert result.problems == []
    assert (result.kind, result.added, result.updated) == ("procedures", 7, 0)
    figures = catalogue(db_url, agency="SLDTBXH")["total"]
    assert {k: figures[k] for k in ("total", "published", "publicized", "central", "local", "one_stop",
                                    "lien_thong", "postal", "online_level3", "online_level4",
                                    "online_full", "online_partial", "four_on_site", "internal_process")} == {
        "total": 7, "published": 7, "publicized": 7, "central": 7, "local": 0, "one_stop": 5, "lien_thong": 2,
        "postal": 6, "online_level3": 3, "online_level4": 3, "online_full": 3, "online_partial": 3,
        "four_on_site": 2, "internal_process": 6,
    }
    with get_engine(db_url).connect() as conn:
        row = conn.execute(select(Field.name, Procedure.processing_days, Procedure.online_level,
                                  Procedure.online_class)
                           .join(Field, Field.id == Procedure.field_id)
                           .where(Procedure.code == "1.004734")).one()
    assert tuple(row) == ("An toàn, vệ sinh lao động", Decimal(5), 4, "full")


def test_sample_dossiers_link_to_sample_procedures_imported_before(db_url):
    import_file(db_url, SAMPLES / "thu-tuc-mau.csv")
    import_file(db_url, SAMPLES / "ho-so-mau-tieng-viet.csv", agency="SLDTBXH")

    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Procedure)) == 7
        assert conn.scalar(select(func.count()).select_from(Dossier).where(Dossier.procedure_id.is_(None))) == 0
    assert q2_totals(db_url) == SAMPLE_Q2


def test_sample_files_are_exactly_what_make_samples_writes():
    samples = load_make_samples()
    read = lambda name: (SAMPLES / name).read_bytes().decode("utf-8")  # noqa: E731
    assert read("ho-so-mau.csv") == samples.canonical_csv()
    assert read("ho-so-mau-tieng-viet.csv") == samples.vietnamese_csv()
    assert read("thu-tuc-mau.csv") == samples.procedures_csv()
    assert samples.EXPECTED_Q2 == SAMPLE_Q2


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------

DOSSIER_ALIAS_CASES = [
    ("code", "Mã hồ sơ"), ("code", "Số hồ sơ"),
    ("procedure_code", "Mã TTHC"), ("procedure_code", "Mã thủ tục"),
    ("procedure_name", "Tên thủ tục"), ("procedure_name", "Tên TTHC"),
    ("field", "Lĩnh vực"),
    ("agency_code", "Mã cơ quan"), ("agency_code", "Mã đơn vị"),
    ("channel", "Hình thức nộp"), ("channel", "Kênh nộp"), ("channel", "Hình thức tiếp nhận"),
    ("received_at", "Ngày tiếp nhận"), ("received_at", "Ngày nhận"),
    ("due_at", "Ngày hẹn trả"), ("due_at", "Hạn xử lý"), ("due_at", "Hạn giải quyết"),
    ("resolved_at", "Ngày có kết quả"), ("resolved_at", "Ngày hoàn thành"), ("resolved_at", "Ngày xử lý xong"),
    ("status", "Trạng thái"), ("status", "Tình trạng"),
    # Case, accents, spacing and punctuation do not matter; a note in brackets is ignored.
    ("received_at", "NGAY TIEP NHAN"), ("received_at", "ngày_tiếp_nhận"),
    ("received_at", "Ngày tiếp nhận (dd/mm/yyyy)"),
    ("code", "  MÃ HỒ SƠ "), ("code", "ma-ho-so"), ("agency_code", "MÃ ĐƠN VỊ"), ("due_at", "Hạn  xử  lý:"),
    ("code", "code"), ("received_at", "Received_At"), ("apology_count", "apology_count"),
]


@pytest.mark.parametrize("canonical, header", DOSSIER_ALIAS_CASES)
def test_dossier_header_alias_is_recognised(sqlite_url, canonical, header):
    headers = {"code": "Mã hồ sơ", "channel": "Hình thức nộp", "received_at": "Ngày tiếp nhận"}
    headers[canonical] = header
    values = {"code": "HS-1", "channel": "Trực tiếp", "received_at": "01/04/2022", "due_at": "15/04/2022",
              "resolved_at": "10/04/2022", "apology_count": "0"}
    data = csv_bytes([list(headers.values()), [values.get(c, "x") for c in headers]], delimiter=";")

    result = import_file(sqlite_url, data, filename="hoso.csv", dry_run=True)

    assert result.problems == []
    assert result.kind == "dossiers"
    assert result.columns[canonical] == header.strip()


PROCEDURE_ALIAS_CASES = [
    ("code", "Mã TTHC"), ("code", "Mã thủ tục"), ("name", "Tên thủ tục"), ("name", "Tên TTHC"),
    ("field", "Lĩnh vực"), ("agency_code", "Mã cơ quan"), ("authority_level", "Cấp thực hiện"),
    ("regulated_by", "Cơ quan quy định"), ("regulated_by", "Quy định bởi"), ("published", "Công bố"),
    ("publicized", "Công khai"), ("one_stop", "Một cửa"), ("lien_thong", "Một cửa liên thông"),
    ("lien_thong", "Liên thông"), ("postal", "Bưu chính công ích"), ("postal", "BCCI"),
    ("online_level", "Mức độ DVC"), ("online_level", "Mức độ"), ("online_class", "Dịch vụ công trực tuyến"),
    ("online_class", "Loại DVC"), ("four_on_site", "4 tại chỗ"), ("internal_process", "Quy trình nội bộ"),
    ("processing_days", "Thời hạn giải quyết"), ("processing_days", "Thời gian giải quyết (ngày)"),
    ("same_day_cutoff", "same_day_cutoff"),
]


@pytest.mark.parametrize("canonical, header", PROCEDURE_ALIAS_CASES)
def test_procedure_header_alias_is_recognised(sqlite_url, canonical, header):
    headers = {"code": "Mã TTHC", "name": "Tên thủ tục", canonical: header}
    data = csv_bytes([list(headers.values()), ["1.001700", "Thủ tục A", "", ""][:len(headers)]])

    result = import_file(sqlite_url, data, filename="thutuc.csv", dry_run=True)

    assert result.problems == []
    assert result.kind == "procedures"
    assert result.columns[canonical] == header


def test_every_documented_alias_is_in_the_alias_tables():
    for canonical, header in DOSSIER_ALIAS_CASES:
        assert DOSSIER_ALIASES.get(normalize(header)) == canonical or "(" in header
    for canonical, header in PROCEDURE_ALIAS_CASES:
        assert PROCEDURE_ALIASES[normalize(header)] == canonical
    assert normalize("Đăng ký Mã Hồ-Sơ") == "dangkymahoso"


def test_unknown_columns_are_ignored_and_listed(sqlite_url):
    data = csv_bytes([["STT", "Mã hồ sơ", "Ghi chú", "Hình thức nộp", "Ngày tiếp nhận", "Người nộp"],
                      ["1", "HS-1", "gấp", "Trực tiếp", "01/04/2022", "Nguyễn Văn A"]])

    result = import_file(sqlite_url, data, filename="a.csv", agency="SLDTBXH")

    assert result.problems == [] and result.written
    assert result.ignored_columns == ["STT", "Ghi chú", "Người nộp"]


def test_two_headers_for_the_same_column_are_a_problem_on_the_header_line(sqlite_url):
    data = csv_bytes([["Mã hồ sơ", "Hình thức nộp", "Ngày tiếp nhận", "Ngày nhận"],
                      ["HS-1", "Trực tiếp", "01/04/2022", "02/04/2022"]])

    result = import_file(sqlite_url, data, filename="a.csv", skip_invalid=True)

    problem = only_problem(result)
    assert (problem.line, problem.column) == (1, "Ngày nhận")
    assert problem.text() == ("Dòng 1, cột «Ngày nhận»: cột «Ngày nhận» trùng với cột «Ngày tiếp nhận» (cùng là "
                              "«Ngày tiếp nhận»): hãy xóa hoặc đổi tên một cột.")
    assert not result.written and dossier_count(sqlite_url) == 0


def test_missing_required_column_is_one_problem_for_the_file(sqlite_url):
    data = csv_bytes([["Mã hồ sơ", "Ngày tiếp nhận"], ["HS-1", "01/04/2022"], ["HS-2", "02/04/2022"]])

    result = import_file(sqlite_url, data, filename="a.csv")

    problem = only_problem(result)
    assert (problem.line, problem.column) == (1, "Hình thức nộp")
    assert "thiếu cột «Hình thức nộp»" in problem.message


def test_kind_is_detected_from_the_headers(sqlite_url):
    dossiers = import_file(sqlite_url, dossier_file(good_row()), filename="a.csv", dry_run=True)
    procedures = import_file(sqlite_url, csv_bytes([["Mã TTHC", "Tên TTHC"], ["1.1", "A"]]), filename="b.csv",
                             dry_run=True)
    unknown = import_file(sqlite_url, csv_bytes([["Họ tên", "Địa chỉ"], ["A", "B"]]), filename="c.csv")

    assert (dossiers.kind, procedures.kind, unknown.kind) == ("dossiers", "procedures", None)
    problem = only_problem(unknown)
    assert problem.line == 1 and "Không nhận ra dòng tiêu đề" in problem.message


def test_explicit_kind_reports_the_columns_it_misses(sqlite_url):
    result = import_file(sqlite_url, dossier_file(good_row()), filename="a.csv", kind="procedures")

    assert [p.column for p in result.problems] == ["Tên thủ tục"]


# --------------------------------------------------------------------------------------------
# CSV dialects and XLSX
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom", [False, True])
def test_csv_with_or_without_bom_and_any_delimiter_reads_the_same(sqlite_url, delimiter, bom):
    rows = [DOSSIER_HEADER, good_row("HS-1", procedure_name="Cấp, đổi giấy phép"), good_row("HS-2")]

    result = import_file(sqlite_url, csv_bytes(rows, delimiter=delimiter, bom=bom), filename="a.csv")

    assert result.problems == [] and result.rows_valid == 2
    assert result.columns["code"] == "code"  # the BOM is not part of the first header
    assert result.preview["procedure_name"].tolist() == ["Cấp, đổi giấy phép", "Thủ tục A"]


def test_utf16_text_export_is_read(sqlite_url):
    text = "\t".join(DOSSIER_HEADER) + "\r\n" + "\t".join(good_row()) + "\r\n"

    result = import_file(sqlite_url, text.encode("utf-16"), filename="a.txt", dry_run=True)

    assert result.problems == [] and result.rows_valid == 1


def test_old_mac_line_endings_are_read(sqlite_url):
    text = "\r".join([",".join(DOSSIER_HEADER), ",".join(good_row("HS-1")), ",".join(good_row("HS-2"))])

    result = import_file(sqlite_url, text.encode(), filename="a.csv", dry_run=True)

    assert result.problems == [] and result.rows_valid == 2


def test_line_numbers_count_blank_lines_and_multiline_cells_as_excel_shows_them(sqlite_url):
    text = ("\n".join([",".join(DOSSIER_HEADER), ",".join(good_row("HS-1")), "",
                       ",".join(good_row("HS-2", procedure_name='"Tên\nhai dòng"')),
                       ",".join(good_row("HS-3", received_at="hôm qua"))]) + "\n")

    result = import_file(sqlite_url, text.encode(), filename="a.csv")

    problem = only_problem(result)
    # header 1, HS-1 2, blank 3, HS-2 4 (one record over two text lines), HS-3 5
    assert (problem.line, problem.column, problem.value) == (5, "received_at", "hôm qua")
    assert result.rows_read == 3


_csv_text = st.lists(st.sampled_from(['a', 'é', ',', ';', '"', '\n', ' ', '\t', 'code', 'Mã hồ sơ',
                                       'Ngày tiếp nhận', '2022-04-01']), max_size=40).map("".join)


def _grid_both_ways(text: str, monkeypatch) -> tuple:
    def read(data):
        try:
            table = importer.read_table(data, "a.csv")
        except reading.FileProblem as problem:
            return ("problem", problem.message)
        return (table.headers, table.header_line, table.body.to_dict("split"), [str(t) for t in table.body.dtypes])

    fast = read(text.encode())
    with monkeypatch.context() as m:
        m.setattr(reading, "_arrow_grid", lambda *args: None)
        plain = read(text.encode())
    return fast, plain


@settings(max_examples=300, deadline=None)
@given(_csv_text)
def test_the_bulk_csv_reader_reads_any_text_as_the_pandas_reader_does(text):
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, plain = _grid_both_ways(text, monkeypatch)
    assert fast == plain


@pytest.mark.parametrize("text", [
    'code,channel,received_at\nHS-1,direct,"2022-04-01\n',  # a quoted cell still open at the end
    'code,channel,received_at\nHS-1,direct,2022-04-01\n"HS-2,direct,2022-04-02\n',
    'code,channel,received_at\nHS-1,"di""rect",2022-04-01\nHS-2,direct\n',  # a short record
    'code,channel,received_at\nHS-1,"a"b,2022-04-01\n\n\nHS-2,direct,2022-04-02,x\n',  # a long one
    'code;channel;received_at\n"HS;1";direct;"2022-04-01"\n',
])
def test_the_bulk_csv_reader_leaves_odd_files_to_the_pandas_reader(text, monkeypatch):
    fast, plain = _grid_both_ways(text, monkeypatch)
    assert fast == plain


def test_xlsx_real_date_cells_and_title_rows_keep_sheet_line_numbers(db_url):
    data = xlsx_bytes([
        ["DANH SÁCH HỒ SƠ"],
        [],
        ["Mã hồ sơ", "Hình thức nộp", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả"],
        ["HS-1", "Trực tiếp", dt.datetime(2022, 4, 1, 8, 30), dt.datetime(2022, 4, 15), dt.date(2022, 4, 10)],
        ["HS-2", "Trực tuyến", dt.datetime(2022, 4, 2, 9, 0), dt.datetime(2022, 4, 1), None],
    ], {(4, 3): "dd/mm/yyyy hh:mm", (4, 4): "dd/mm/yyyy", (5, 3): "dd/mm/yyyy hh:mm", (5, 4): "dd/mm/yyyy"})

    result = import_file(db_url, data, filename="hoso.xlsx", agency="SLDTBXH", skip_invalid=True)

    problem = only_problem(result)
    assert (problem.line, problem.column) == (5, "Ngày hẹn trả")
    assert problem.message == "ngày hẹn trả 01/04/2022 trước ngày tiếp nhận 02/04/2022"
    saved = dossier(db_url, "HS-1")
    assert (saved.received_at, saved.due_at, saved.resolved_at) == (
        dt.datetime(2022, 4, 1, 8, 30), dt.datetime(2022, 4, 15), dt.datetime(2022, 4, 10))


def test_xlsx_number_in_a_date_column_is_an_excel_serial(sqlite_url):
    data = xlsx_bytes([["Mã hồ sơ", "Hình thức nộp", "Ngày tiếp nhận"], ["HS-1", "Trực tiếp", 44652.5]])

    result = import_file(sqlite_url, data, filename="a.xlsx")

    assert result.problems == []
    assert dossier(sqlite_url, "HS-1").received_at == dt.datetime(2022, 4, 1, 12, 0)


def test_xlsx_bytes_are_recognised_without_a_filename(sqlite_url):
    data = xlsx_bytes([DOSSIER_HEADER, good_row()])

    assert import_file(sqlite_url, data, dry_run=True).rows_valid == 1


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2022-06-14", dt.datetime(2022, 6, 14)),
    ("2022-06-14 16:30", dt.datetime(2022, 6, 14, 16, 30)),
    ("2022-06-14 16:30:15", dt.datetime(2022, 6, 14, 16, 30, 15)),
    ("2022-06-14T16:30:00", dt.datetime(2022, 6, 14, 16, 30)),
    ("14/06/2022", dt.datetime(2022, 6, 14)),
    ("14/06/2022 16:30", dt.datetime(2022, 6, 14, 16, 30)),
    ("14/06/2022 16:30:15", dt.datetime(2022, 6, 14, 16, 30, 15)),
    ("14-06-2022", dt.datetime(2022, 6, 14)),
    ("4/6/2022", dt.datetime(2022, 6, 4)),
    ("16:30 14/06/2022", dt.datetime(2022, 6, 14, 16, 30)),
    # Day first, never month first.
    ("03/04/2022", dt.datetime(2022, 4, 3)),
    ("12/01/2022", dt.datetime(2022, 1, 12)),
])
def test_timestamp_formats(text, expected):
    parsed, bad = parse_timestamps(pd.Series([text]))
    assert not bad.iloc[0]
    assert parsed.iloc[0].to_pydatetime() == expected


@pytest.mark.parametrize("text", ["31/02/2022", "01/13/2022", "29/02/2023", "14/06/2022 25:00", "2022-13-01",
                                  "14.06.22", "hôm nay", "44652"])
def test_impossible_or_unreadable_dates_are_flagged(text):
    parsed, bad = parse_timestamps(pd.Series([text, ""]))
    assert bad.tolist() == [True, False]
    assert parsed.isna().all()


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)))
def test_day_first_and_iso_text_parse_back_to_the_same_moment(moment):
    moment = moment.replace(microsecond=0)
    texts = [f"{moment:%d/%m/%Y %H:%M:%S}", moment.isoformat(sep=" "), moment.isoformat(),
             f"{moment:%d-%m-%Y %H:%M:%S}"]
    parsed, bad = parse_timestamps(pd.Series(texts))
    assert not bad.any()
    assert [p.to_pydatetime() for p in parsed] == [moment] * 4


# Text near the layouts the bulk reader takes (digits, separators and lengths a little off, years and
# days out of range, other Unicode digits) and anything else.
_near_date = st.builds(
    lambda parts, seps: "".join(p + s for p, s in zip(parts, seps + [""] * len(parts))),
    st.lists(st.one_of(st.integers(0, 2200).map(str), st.integers(0, 99).map(lambda n: f"{n:02d}"),
                       st.integers(0, 99).map(str), st.sampled_from(["2022", "1899", "2100", "0000", "२०२२", "x"])),
             min_size=1, max_size=6),
    st.lists(st.sampled_from(["-", "/", ".", " ", "T", ":", ", ", "  ", ""]), max_size=6))
_timestamp_text = st.one_of(
    _near_date, st.text(max_size=20),
    st.tuples(st.datetimes(dt.datetime(1890, 1, 1), dt.datetime(2110, 1, 1)),
              st.sampled_from(["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S"])
              ).map(lambda pair: pair[0].strftime(pair[1])))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_timestamp_text, st.sampled_from([
    "2022-06-14", "2022-06-14 16:30", "2022-06-14T16:30", "2022-06-14 16:30:15", "2022-06-14T16:30:15",
    "14/06/2022", "14/06/2022 16:30", "14/06/2022 16:30:15", "31/02/2022", "29/02/2024", "29/02/2023",
    "2022-06-14T24:00", "2022-06-14 23:60", "2100-01-01", "1899-12-31 23:59", "00/00/2022", "2022-00-10",
    "2022-6-14T16:30", "2022-06-14T16:30:15.5", "14/06/2022T16:30", ""])), max_size=40),
       st.booleans())
def test_bulk_reading_of_common_layouts_equals_the_general_reading(texts, excel_serials):
    text = pd.Series(texts, dtype=str)
    fast, fast_bad = parse_timestamps(text, excel_serials)
    general, general_bad = values._parse_general(text, excel_serials)
    assert fast.equals(general) and fast_bad.equals(general_bad)


def test_month_first_reading_is_never_used_in_a_whole_import(sqlite_url):
    data = dossier_file(good_row("HS-1", received_at="03/04/2022", due_at="05/04/2022", resolved_at=""))

    import_file(sqlite_url, data, filename="a.csv")

    saved = dossier(sqlite_url, "HS-1")
    assert (saved.received_at, saved.due_at) == (dt.datetime(2022, 4, 3), dt.datetime(2022, 4, 5))


@pytest.mark.parametrize("text, channel", [
    ("online", "online"), ("Trực tuyến", "online"), ("TRUC TUYEN", "online"), ("direct", "direct"),
    ("Trực tiếp", "direct"), ("trực  tiếp", "direct"), ("postal", "postal"), ("Bưu chính", "postal"),
    ("Dịch vụ bưu chính công ích", "postal"), ("BCCI", "postal"), ("Bưu chính công ích", "postal"),
])
def test_channel_words(sqlite_url, text, channel):
    result = import_file(sqlite_url, dossier_file(good_row(channel=text)), filename="a.csv", dry_run=True)
    assert result.preview["channel"].tolist() == [channel]


@pytest.mark.parametrize("text, status", [
    ("", "normal"), ("normal", "normal"), ("Đang xử lý", "normal"), ("Hoàn thành", "normal"),
    ("Đã trả kết quả", "normal"), ("withdrawn", "withdrawn"), ("Rút hồ sơ", "withdrawn"),
    ("returned", "returned"), ("Trả lại", "returned"), ("Trả lại hồ sơ", "returned"),
    ("suspended", "suspended"), ("Tạm dừng", "suspended"), ("Chờ bổ sung", "suspended"),
])
def test_status_words(sqlite_url, text, status):
    result = import_file(sqlite_url, dossier_file(good_row(status=text)), filename="a.csv", dry_run=True)
    assert result.preview["status"].tolist() == [status]


@pytest.mark.parametrize("text, value", [
    ("x", True), ("X", True), ("1", True), ("có", True), ("Có", True), ("co", True), ("yes", True),
    ("true", True), ("đúng", True), ("", False), ("0", False), ("không", False), ("Không", False),
    ("no", False), ("false", False),
])
def test_procedure_boolean_words(sqlite_url, text, value):
    data = csv_bytes([["Mã TTHC", "Tên thủ tục", "Một cửa"], ["1.1", "A", text]])
    result = import_file(sqlite_url, data, filename="a.csv", dry_run=True)
    assert result.problems == []
    assert result.preview["one_stop"].tolist() == [value]


def test_procedure_values_in_vietnamese_words(db_url):
    data = csv_bytes([
        ["Mã TTHC", "Tên thủ tục", "Mã cơ quan", "Cấp thực hiện", "Quy định bởi", "Mức độ", "Loại DVC",
         "Thời gian giải quyết (ngày)", "same_day_cutoff"],
        ["1.1", "A", "UBND-X", "Cấp xã", "Địa phương", "Mức độ 3", "Một phần", "0,5", "15:00"],
        ["1.2", "B", "UBND-X", "Huyện", "Trung ương", "4", "Toàn trình", "15 ngày", ""],
        ["1.3", "C", "UBND-X", "province", "central", "", "", "Trong ngày", "15h30"],
    ])

    result = import_file(db_url, data, filename="a.csv")

    assert result.problems == []
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(Procedure.code, Procedure.authority_level, Procedure.regulated_by,
                                   Procedure.online_level, Procedure.online_class, Procedure.processing_days,
                                   Procedure.same_day_cutoff).order_by(Procedure.code)).all()
    assert [tuple(r) for r in rows] == [
        ("1.1", "commune", "local", 3, "partial", Decimal("0.5"), dt.time(15, 0)),
        ("1.2", "district", "central", 4, "full", Decimal(15), None),
        ("1.3", "province", "central", None, None, Decimal(0), dt.time(15, 30)),
    ]


def test_procedure_file_without_flag_columns_keeps_the_existing_flags(db_url):
    import_file(db_url, SAMPLES / "thu-tuc-mau.csv")
    data = csv_bytes([["Mã TTHC", "Tên thủ tục", "Mã cơ quan", "Thời hạn giải quyết"],
                      ["1.001700", "Giải quyết chế độ ưu đãi (tên mới)", "SLDTBXH", "15"]])

    result = import_file(db_url, data, filename="a.csv")

    assert (result.added, result.updated) == (0, 1)
    with get_engine(db_url).connect() as conn:
        row = conn.execute(select(Procedure.name, Procedure.processing_days, Procedure.one_stop,
                                  Procedure.lien_thong, Procedure.online_level)
                           .where(Procedure.code == "1.001700")).one()
    assert tuple(row) == (
        "Giải quyết chế độ ưu đãi (tên mới)", Decimal(15), True, True, 4)


# --------------------------------------------------------------------------------------------
# Rejected rows: line, column and a Vietnamese reason
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, column, message", [
    ({"code": ""}, "code", "thiếu giá trị (cột bắt buộc)"),
    ({"received_at": ""}, "received_at", "thiếu giá trị (cột bắt buộc)"),
    ({"channel": ""}, "channel", "thiếu giá trị (cột bắt buộc)"),
    ({"channel": "Fax"}, "channel",
     "không rõ hình thức nộp «Fax» (dùng Trực tuyến, Trực tiếp hoặc Bưu chính công ích)"),
    ({"received_at": "31/02/2022"}, "received_at", "không đọc được ngày «31/02/2022» (ngày hoặc giờ không tồn tại)"),
    ({"due_at": "15/04"}, "due_at", "không đọc được ngày «15/04» (dùng ngày/tháng/năm như 14/06/2022 hoặc "
                                    "14/06/2022 16:30, hay năm-tháng-ngày như 2022-06-14)"),
    ({"resolved_at": "2022-03-31 23:59"}, "resolved_at", "ngày có kết quả 31/03/2022 trước ngày tiếp nhận 01/04/2022"),
    ({"due_at": "2022-03-30"}, "due_at", "ngày hẹn trả 30/03/2022 trước ngày tiếp nhận 01/04/2022"),
    ({"code": "X" * 129}, "code", "giá trị dài 129 ký tự, quá 128 ký tự cho phép"),
])
def test_each_rejection_reason_names_line_column_and_reason(sqlite_url, values, column, message):
    data = dossier_file(good_row("HS-1"), good_row("HS-2"), good_row(**{"code": "HS-3", **values}),
                        good_row("HS-4"))

    result = import_file(sqlite_url, data, filename="a.csv")

    problem = only_problem(result)
    assert (problem.line, problem.column, problem.message) == (4, column, message)
    assert problem.text() == f"Dòng 4, cột «{column}»: {message}."
    assert is_vietnamese(problem.message)
    assert problem.raw["code"] == values.get("code", "HS-3")
    assert not result.written and result.rows_valid == 3 and result.rejected == 1


def test_resolved_or_due_on_the_day_of_receipt_is_fine_even_earlier_in_the_day(sqlite_url):
    data = dossier_file(good_row(received_at="2022-04-01 15:00", due_at="2022-04-01 09:00",
                                 resolved_at="01/04/2022 08:00"))

    result = import_file(sqlite_url, data, filename="a.csv")

    assert result.problems == [] and result.written


def test_the_same_code_twice_rejects_the_second_naming_the_first_line(sqlite_url):
    data = dossier_file(good_row("HS-1"), good_row("HS-2"), good_row("HS-1", channel="online"))

    result = import_file(sqlite_url, data, filename="a.csv", skip_invalid=True)

    problem = only_problem(result)
    assert (problem.line, problem.column) == (4, "code")
    assert problem.message == "mã hồ sơ «HS-1» trùng với dòng 2 (mỗi mã chỉ được có một dòng trong tệp)"
    assert dossier(sqlite_url, "HS-1").channel == "direct"


def test_every_problem_of_every_row_is_reported_in_line_order(sqlite_url):
    header = ["Mã hồ sơ", "Hình thức nộp", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả"]
    data = csv_bytes([header,
                      ["HS-1", "Fax", "31/02/2022", "hôm nay", ""],
                      ["HS-2", "Trực tiếp", "01/04/2022", "", ""],
                      ["", "", "", "", "01/01/2022"]], delimiter=";")

    result = import_file(sqlite_url, data, filename="a.csv", agency="SLDTBXH")

    assert [(p.line, p.column) for p in result.problems] == [
        (2, "Hình thức nộp"), (2, "Ngày tiếp nhận"), (2, "Ngày hẹn trả"),
        (4, "Mã hồ sơ"), (4, "Hình thức nộp"), (4, "Ngày tiếp nhận"),
    ]
    assert result.rejected == 2
    assert result.summary() == "Không ghi gì: 2 dòng lỗi."


@pytest.mark.parametrize("values, column, fragment", [
    (["1.1", ""], "Tên thủ tục", "thiếu giá trị"),
    (["1.1", "A", "có lẽ"], "Một cửa", "không hiểu giá trị «có lẽ»"),
    (["1.1", "A", "", "Cấp bộ"], "Cấp thực hiện", "không hiểu giá trị «Cấp bộ» (dùng Cấp tỉnh, Cấp huyện hoặc Cấp xã)"),
    (["1.1", "A", "", "", "Mức độ 7"], "Mức độ DVC", "mức độ dịch vụ công «Mức độ 7» không hợp lệ"),
    (["1.1", "A", "", "", "", "mười"], "Thời hạn giải quyết", "thời hạn giải quyết «mười» không phải số ngày"),
    (["1.1", "A", "", "", "", "", "25:00"], "Giờ chốt", "giờ «25:00» không hợp lệ"),
])
def test_procedure_rejection_reasons(sqlite_url, values, column, fragment):
    header = ["Mã TTHC", "Tên thủ tục", "Một cửa", "Cấp thực hiện", "Mức độ DVC", "Thời hạn giải quyết", "Giờ chốt"]
    data = csv_bytes([header, ["1.0", "Thủ tục đúng"], values])

    result = import_file(sqlite_url, data, filename="a.csv")

    problem = only_problem(result)
    assert (problem.line, problem.column) == (3, column)
    assert fragment in problem.message


def test_procedure_code_may_repeat_across_agencies_but_not_within_one(sqlite_url):
    data = csv_bytes([["Mã TTHC", "Tên thủ tục", "Mã cơ quan"],
                      ["1.1", "A", "UBND-X"], ["1.1", "A", "UBND-Y"], ["1.1", "A bis", "UBND-X"]])

    result = import_file(sqlite_url, data, filename="a.csv")

    problem = only_problem(result)
    assert (problem.line, problem.message) == (4, "mã TTHC «1.1» trùng với dòng 2 (mỗi mã chỉ được có một dòng "
                                                  "trong tệp)")


def test_extra_cells_beyond_the_header_are_reported(sqlite_url):
    text = "code,channel,received_at,procedure_name\nHS-1,direct,2022-04-01,Cấp, đổi giấy phép\n"

    result = import_file(sqlite_url, text.encode(), filename="a.csv")

    problem = only_problem(result)
    assert (problem.line, problem.column) == (2, "")
    assert "ngoài 4 cột của dòng tiêu đề" in problem.message
    assert problem.raw["Cột 5"] == "đổi giấy phép"


# --------------------------------------------------------------------------------------------
# All or nothing, skip invalid, rejects file, upsert, dry run
# --------------------------------------------------------------------------------------------

def test_one_bad_row_writes_nothing(db_url):
    import_file(db_url, SAMPLES / "ho-so-mau.csv")
    count, version = dossier_count(db_url), data_version(db_url)
    data = dossier_file(good_row("NEW-1", agency_code="NEW-AGENCY", field="Lĩnh vực mới"),
                        good_row("NEW-2", received_at="31/02/2022"))

    result = import_file(db_url, data, filename="a.csv")

    assert (result.written, result.added, result.updated, result.rows_valid) == (False, 0, 0, 1)
    assert dossier_count(db_url) == count and data_version(db_url) == version
    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(Agency.id).where(Agency.code == "NEW-AGENCY")) is None
        assert conn.scalar(select(Field.id).where(Field.name == "Lĩnh vực mới")) is None


def test_a_failure_while_writing_rolls_back_agencies_fields_and_procedures(db_url, monkeypatch):
    def broken(conn, rows, calendar=None, extra=()):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "write_dossiers", broken)
    monkeypatch.setattr(store, "insert_dossiers", broken)
    monkeypatch.setattr(store, "write_dossier_frame", broken)
    with pytest.raises(RuntimeError):
        import_file(db_url, dossier_file(good_row(agency_code="NEW-AGENCY", procedure_code="9.999")),
                    filename="a.csv")

    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Agency)) == 0
        assert conn.scalar(select(func.count()).select_from(Procedure)) == 0
        assert conn.scalar(select(func.count()).select_from(Field)) == 0


def test_skip_invalid_writes_good_rows_and_rejects_file_lists_the_bad_ones(db_url, tmp_path):
    header = ["STT", "Mã hồ sơ", "Hình thức nộp", "Ngày tiếp nhận", "Ngày có kết quả"]
    data = csv_bytes([header,
                      ["1", "HS-1", "Trực tiếp", "01/04/2022", "05/04/2022"],
                      ["2", "HS-2", "Fax", "31/02/2022", ""],
                      ["3", "HS-3", "Trực tuyến", "02/04/2022", "01/04/2022"],
                      ["4", "HS-4", "BCCI", "03/04/2022", ""]], delimiter=";", bom=True)

    result = import_file(db_url, data, filename="a.csv", agency="SLDTBXH", skip_invalid=True)
    path = write_rejects(result, tmp_path / "loai.csv")

    assert (result.written, result.rows_read, result.rows_valid, result.added, result.rejected) == (True, 4, 2, 2, 2)
    assert result.summary() == "Đã nhập 2 hồ sơ (2 mới, 0 cập nhật); 2 dòng bị loại."
    assert dossier_count(db_url) == 2
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rejects = list(csv.DictReader(f))
    assert [(r["Dòng"], r["Cột"], r["Mã hồ sơ"], r["STT"]) for r in rejects] == [
        ("3", "Hình thức nộp, Ngày tiếp nhận", "HS-2", "2"), ("4", "Ngày có kết quả", "HS-3", "3")]
    assert rejects[0]["Lý do"] == ("không rõ hình thức nộp «Fax» (dùng Trực tuyến, Trực tiếp hoặc Bưu chính công "
                                   "ích); không đọc được ngày «31/02/2022» (ngày hoặc giờ không tồn tại)")


def test_written_rejects_keep_a_formula_like_cell_as_text(db_url, tmp_path):
    data = csv_bytes([["STT", "Mã hồ sơ", "Hình thức nộp", "Ngày tiếp nhận"],
                      ["1", "=HYPERLINK(\"http://x\")", "Fax", "01/04/2022"]])
    result = import_file(db_url, data, filename="a.csv", agency="SLDTBXH", skip_invalid=True)
    path = write_rejects(result, tmp_path / "loai.csv")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rejects = list(csv.DictReader(f))
    assert [r["Mã hồ sơ"] for r in rejects] == ["'=HYPERLINK(\"http://x\")"]


def test_reimport_updates_existing_codes_and_counts_added_and_updated(db_url):
    import_file(db_url, dossier_file(good_row("HS-1", resolved_at=""), good_row("HS-2", resolved_at="")),
                filename="a.csv")
    version = data_version(db_url)

    result = import_file(db_url, dossier_file(good_row("HS-2", resolved_at="12/04/2022 09:00"), good_row("HS-3")),
                         filename="b.csv")

    assert (result.added, result.updated, result.written) == (1, 1, True)
    assert result.summary() == "Đã nhập 2 hồ sơ (1 mới, 1 cập nhật); 0 dòng bị loại."
    assert dossier_count(db_url) == 3
    updated = dossier(db_url, "HS-2")
    assert (updated.resolved_at, updated.resolution) == (dt.datetime(2022, 4, 12, 9, 0), "early")
    assert data_version(db_url) > version


def test_added_and_updated_are_counted_beyond_the_sqlite_parameter_limit(sqlite_url):
    rows = [good_row(f"HS-{i:05d}") for i in range(2100)]
    import_file(sqlite_url, dossier_file(*rows[:1000]), filename="a.csv")

    result = import_file(sqlite_url, dossier_file(*rows), filename="b.csv", dry_run=True)

    assert (result.added, result.updated) == (1100, 1000)


def test_dry_run_checks_and_counts_without_writing_anything(db_url):
    import_file(db_url, dossier_file(good_row("HS-1")), filename="a.csv")
    version = data_version(db_url)
    data = dossier_file(good_row("HS-1"), good_row("HS-2", agency_code="NEW-AGENCY", procedure_code="9.9"),
                        good_row("HS-3", channel="Fax"))

    result = import_file(db_url, data, filename="a.csv", dry_run=True)

    assert (result.written, result.rows_valid, result.added, result.updated, result.rejected) == (False, 2, 1, 1, 1)
    assert result.summary() == "Kiểm tra (chưa ghi gì): 2 hồ sơ hợp lệ (1 mới, 1 cập nhật); 1 dòng bị loại."
    assert result.preview["code"].tolist() == ["HS-1", "HS-2"]
    assert result.preview["line"].tolist() == [2, 3]
    assert result.preview["received_at"].iloc[0] == pd.Timestamp("2022-04-01 08:00")
    assert dossier_count(db_url) == 1 and data_version(db_url) == version
    with get_engine(db_url).connect() as conn:
        assert conn.scalar(select(Agency.id).where(Agency.code == "NEW-AGENCY")) is None
        assert conn.scalar(select(Procedure.id).where(Procedure.code == "9.9")) is None


# --------------------------------------------------------------------------------------------
# Agencies, fields, procedures, due dates
# --------------------------------------------------------------------------------------------

def test_agency_comes_from_the_column_then_the_argument_then_the_default(db_url):
    data = dossier_file(good_row("HS-1", agency_code="UBND-A"), good_row("HS-2", agency_code=""))

    import_file(db_url, data, filename="a.csv", agency="UBND-B")
    import_file(db_url, dossier_file(good_row("HS-3", agency_code="")), filename="b.csv")

    with get_engine(db_url).connect() as conn:
        agency_of = dict(conn.execute(select(Dossier.code, Agency.code)
                                      .join(Agency, Agency.id == Dossier.agency_id)).all())
        default = conn.scalar(select(Agency.code).where(Agency.is_default.is_(True)))
    assert agency_of["HS-1"] == "UBND-A" and agency_of["HS-2"] == "UBND-B"
    assert agency_of["HS-3"] == default == store.DEFAULT_AGENCY_CODE


def test_procedure_is_linked_by_agency_and_code_then_by_a_unique_code(db_url):
    procedures = csv_bytes([["Mã TTHC", "Tên thủ tục", "Mã cơ quan", "Lĩnh vực"],
                            ["1.1", "Ở A", "UBND-A", "Việc làm"], ["1.1", "Ở B", "UBND-B", "Việc làm"],
                            ["2.2", "Chỉ ở A", "UBND-A", "Trẻ em"]])
    import_file(db_url, procedures, filename="p.csv")
    data = dossier_file(
        good_row("HS-1", agency_code="UBND-B", procedure_code="1.1", procedure_name="", field=""),
        good_row("HS-2", agency_code="UBND-C", procedure_code="2.2", procedure_name="", field=""),
        good_row("HS-3", agency_code="UBND-C", procedure_code="1.1", procedure_name="", field=""),
        good_row("HS-4", agency_code="UBND-C", procedure_code="3.3", procedure_name="Thủ tục mới", field="Việc làm"),
    )

    import_file(db_url, data, filename="a.csv")

    with get_engine(db_url).connect() as conn:
        linked = dict(conn.execute(select(Dossier.code, Procedure.name)
                                   .outerjoin(Procedure, Procedure.id == Dossier.procedure_id)).all())
        fields = dict(conn.execute(select(Dossier.code, Field.name)
                                   .outerjoin(Field, Field.id == Dossier.field_id)).all())
        created = conn.execute(select(Procedure.code, Agency.code, Field.name)
                               .join(Agency, Agency.id == Procedure.agency_id)
                               .join(Field, Field.id == Procedure.field_id)
                               .where(Procedure.code == "3.3")).one()
    # HS-3: 1.1 exists at two other agencies, so it is ambiguous and left unlinked.
    assert linked == {"HS-1": "Ở B", "HS-2": "Chỉ ở A", "HS-3": None, "HS-4": "Thủ tục mới"}
    assert fields == {"HS-1": "Việc làm", "HS-2": "Trẻ em", "HS-3": None, "HS-4": "Việc làm"}
    assert tuple(created) == ("3.3", "UBND-C", "Việc làm")


def test_unknown_procedure_without_a_name_is_left_unlinked(sqlite_url):
    import_file(sqlite_url, dossier_file(good_row(procedure_code="9.9", procedure_name="")), filename="a.csv")

    assert dossier(sqlite_url, "HS-1").procedure_id is None
    with get_engine(sqlite_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Procedure)) == 0


def test_procedures_known_only_from_dossiers_are_created_in_file_order(sqlite_url):
    data = dossier_file(*[good_row(f"HS-{i}", agency_code=agency, procedure_code=code, procedure_name=f"Tên {code}")
                          for i, (agency, code) in enumerate([("B", "9.2"), ("A", "9.3"), ("B", "9.1"), ("A", "9.2")])])

    import_file(sqlite_url, data, filename="a.csv")

    with get_engine(sqlite_url).connect() as conn:
        created = conn.execute(select(Agency.code, Procedure.code).join(Agency, Agency.id == Procedure.agency_id)
                               .order_by(Procedure.id)).all()
    assert [tuple(r) for r in created] == [("B", "9.2"), ("A", "9.3"), ("B", "9.1"), ("A", "9.2")]


def test_a_procedure_known_only_from_dossiers_is_not_counted_as_published_or_publicized(db_url):
    import_file(db_url, SAMPLES / "thu-tuc-mau.csv")
    before = catalogue(db_url, agency="SLDTBXH")["total"]

    import_file(db_url, dossier_file(good_row("HS-1", procedure_code="9.999", procedure_name="Thủ tục lạ")),
                filename="a.csv")

    after = catalogue(db_url, agency="SLDTBXH")["total"]
    with get_engine(db_url).connect() as conn:
        created = conn.execute(select(Procedure.published, Procedure.publicized)
                               .where(Procedure.code == "9.999")).one()
    assert tuple(created) == (False, False)
    assert (after["total"], after["published"], after["publicized"]) == (
        before["total"] + 1, before["published"], before["publicized"])
    assert dossier(db_url, "HS-1").procedure_id is not None


def test_agency_codes_in_a_file_match_stored_agencies_regardless_of_case(db_url):
    import_file(db_url, SAMPLES / "thu-tuc-mau.csv")  # creates SLDTBXH
    data = dossier_file(good_row("HS-1", agency_code="sldtbxh", procedure_code="1.001700"),
                        good_row("HS-2", agency_code="SldTbXh", procedure_code="1.001700"))

    dry = import_file(db_url, data, filename="a.csv", dry_run=True)
    result = import_file(db_url, data, filename="a.csv")
    by_argument = import_file(db_url, dossier_file(good_row("HS-3", agency_code="")), filename="b.csv",
                              agency="sldtbxh")

    assert dry.problems == [] and result.written and by_argument.written
    with get_engine(db_url).connect() as conn:
        assert conn.execute(select(Agency.code)).scalars().all() == ["SLDTBXH"]
        linked = conn.execute(select(Dossier.code, Agency.code, Procedure.code)
                              .join(Agency, Agency.id == Dossier.agency_id)
                              .join(Procedure, Procedure.id == Dossier.procedure_id, isouter=True)
                              .order_by(Dossier.code)).all()
    assert [tuple(r) for r in linked] == [("HS-1", "SLDTBXH", "1.001700"), ("HS-2", "SLDTBXH", "1.001700"),
                                          ("HS-3", "SLDTBXH", "1.001700")]


def test_a_dry_run_creates_no_default_agency(sqlite_url):
    result = import_file(sqlite_url, dossier_file(good_row("HS-1", agency_code="")), filename="a.csv", dry_run=True)

    assert (result.rows_valid, result.added) == (1, 1)
    with get_engine(sqlite_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Agency)) == 0


def test_empty_due_date_is_filled_from_the_procedure_processing_time(db_url):
    import_file(db_url, SAMPLES / "thu-tuc-mau.csv")
    # 1.005548: 7 working days, counted from the next working day: Thu 02/06 … Fri 10/06/2022.
    data = dossier_file(good_row("HS-1", procedure_code="1.005548", received_at="01/06/2022 09:00",
                                 due_at="", resolved_at=""),
                        good_row("HS-2", procedure_code="9.9", procedure_name="", due_at="", resolved_at=""))

    import_file(db_url, data, filename="a.csv")

    filled, unknown = dossier(db_url, "HS-1"), dossier(db_url, "HS-2")
    assert (filled.due_at, filled.due_estimated) == (dt.datetime(2022, 6, 10), True)
    assert (unknown.due_at, unknown.due_estimated) == (None, False)


# --------------------------------------------------------------------------------------------
# The bulk write path stores exactly what the row-by-row path stores
# --------------------------------------------------------------------------------------------

def _row_by_row(conn, frame, calendar=None, extra=()):
    """The plain path: the dossiers as row dicts through store.write_dossiers."""
    rows = []
    for record in frame.astype(object).to_dict("records"):
        rows.append({k: (None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)
                         else v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for k, v in record.items()})
    updated = len(store.existing_dossier_codes(conn, [r["code"] for r in rows]))
    store.write_dossiers(conn, rows, calendar)
    return updated


def _every_table(url: str) -> dict[str, list[tuple]]:
    from tthc_core.models import Base

    with get_engine(url).connect() as conn:
        tables = {name: [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
                  for name, table in Base.metadata.tables.items() if name not in ("settings",)}
        tables["data_version"] = [(data_version(url),)]
    return tables


@pytest.fixture
def plain_url(db_url, postgres, tmp_path):
    """A second empty database on the engine of ``db_url``."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/plain.db"
        get_engine(url)
        yield url
        dispose_engine(url)
    else:
        url = postgres.create()
        get_engine(url)
        yield url
        postgres.drop(url)


def test_bulk_and_row_by_row_imports_store_the_same_rows(db_url, plain_url, tmp_path, monkeypatch):
    from bench.synthetic import generate, write_csv

    province = generate(3000, years=1, end=dt.date(2022, 12, 31), seed=9)
    dossiers = province.dossiers
    dossiers.loc[::7, "due_at"] = ""  # due dates to compute
    dossiers.loc[::5, "field"] = ""  # fields to take from the procedure
    dossiers["procedure_name"] = ""
    unknown = dossiers.index[::11]  # procedures the catalogue lacks, named in some rows: created
    dossiers.loc[unknown, "procedure_code"] = [f"9.{i % 4}" for i in range(len(unknown))]
    dossiers.loc[unknown[::3], "procedure_name"] = "Thủ tục chưa có trong danh mục"
    procedures_csv, dossiers_csv = write_csv(province, tmp_path)
    again = province.dossiers.iloc[::3].copy()  # a second file: a third of the codes again, changed
    again["status"] = "withdrawn"
    again_csv = tmp_path / "lai.csv"
    again.to_csv(again_csv, index=False)
    monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 100)  # the bulk path's index rebuild too

    def load(url):
        results = [import_file(url, procedures_csv), import_file(url, dossiers_csv, agency="SO01"),
                   import_file(url, again_csv), import_file(url, SAMPLES / "ho-so-mau-tieng-viet.csv",
                                                           agency="sldtbxh")]
        return [(r.written, r.added, r.updated, r.rows_valid, r.summary(), [p.text() for p in r.problems])
                for r in results]

    bulk = load(db_url)
    with monkeypatch.context() as m:
        m.setattr(store, "write_dossier_frame", _row_by_row)
        plain = load(plain_url)

    assert bulk == plain
    assert bulk[2][1:3] == (0, 1000)
    assert _every_table(db_url) == _every_table(plain_url)
    if db_url.startswith("sqlite"):  # and byte for byte: the text and type SQLite stores
        cells = ", ".join(f"typeof({c}), quote({c})" for c in Dossier.__table__.columns.keys())
        with get_engine(db_url).connect() as conn:
            raw = conn.exec_driver_sql(f"SELECT {cells} FROM dossiers ORDER BY id").all()
        with get_engine(plain_url).connect() as conn:
            assert conn.exec_driver_sql(f"SELECT {cells} FROM dossiers ORDER BY id").all() == raw


def test_a_bad_row_in_a_large_file_writes_nothing_on_either_path(db_url, tmp_path, monkeypatch):
    import_file(db_url, SAMPLES / "ho-so-mau.csv")
    before = (dossier_table(db_url), data_version(db_url))
    rows = [good_row(f"HS-{i:05d}", agency_code="NEW-AGENCY", procedure_code="8.8") for i in range(3000)]
    rows[2500] = good_row("HS-BAD", received_at="31/02/2022")
    monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 100)

    bulk = import_file(db_url, dossier_file(*rows), filename="a.csv")
    with monkeypatch.context() as m:
        m.setattr(store, "write_dossier_frame", _row_by_row)
        plain = import_file(db_url, dossier_file(*rows), filename="a.csv")

    assert [(r.written, r.summary(), [p.text() for p in r.problems]) for r in (bulk, plain)] == [
        (False, "Không ghi gì: 1 dòng lỗi.",
         ["Dòng 2502, cột «received_at»: không đọc được ngày «31/02/2022» (ngày hoặc giờ không tồn tại)."])] * 2
    assert (dossier_table(db_url), data_version(db_url)) == before


# --------------------------------------------------------------------------------------------
# Files that are not what they should be
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, filename, fragment", [
    (b"", "a.csv", "Tệp rỗng"),
    (b"\xef\xbb\xbf \r\n\r\n", "a.csv", "Tệp rỗng"),
    (b";;;\n;;\n", "a.csv", "Tệp rỗng"),
    ("code,channel,received_at\n".encode(), "a.csv", "Tệp không có dòng dữ liệu nào"),
    (bytes(range(256)) * 8, "a.csv", "không phải CSV hay XLSX"),
    (b"M\xe3 h\xf4\xd2 s\xf5;Ng\xe0y ti\xeap nh\xe2\xf2n\r\nHS-1;01/04/2022\r\n", "a.csv", "Tệp không phải UTF-8"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "a.xls", "Excel 97-2003"),
    (b"PK\x03\x04 not really a zip", "a.xlsx", "Không đọc được tệp Excel"),
    (b"code,channel\n1,2\n", "a.xlsx", "Không đọc được tệp Excel"),
])
def test_unreadable_files_give_a_problem_not_an_exception(sqlite_url, data, filename, fragment):
    result = import_file(sqlite_url, data, filename=filename)

    problem = only_problem(result)
    assert problem.line == 1 and fragment in problem.message
    assert not result.written and result.summary().startswith("Không ghi gì")


def test_a_missing_path_gives_a_problem(sqlite_url, tmp_path):
    problem = only_problem(import_file(sqlite_url, tmp_path / "khong-co.csv"))
    assert "Không mở được tệp" in problem.message


def test_file_object_upload_is_read(sqlite_url):
    with open(SAMPLES / "ho-so-mau.xlsx", "rb") as f:
        result = import_file(sqlite_url, f, dry_run=True)
    assert result.rows_valid == 30


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def run_cli(capsys, *args: str) -> subprocess.CompletedProcess:
    """The command line in-process (``main(argv)``): its exit code and what it printed."""
    from tthc_core.__main__ import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def test_cli_import_exit_codes_and_messages(sqlite_url, tmp_path, capsys):
    ok = run_cli(capsys, "--db", sqlite_url, "import", str(SAMPLES / "ho-so-mau.csv"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "Đã nhập 30 hồ sơ (30 mới, 0 cập nhật); 0 dòng bị loại."

    bad_file = tmp_path / "loi.csv"
    bad_file.write_bytes(dossier_file(good_row("HS-1"), good_row("HS-2", channel="Fax"),
                                      good_row("HS-3", received_at="31/02/2022")))
    bad = run_cli(capsys, "--db", sqlite_url, "import", str(bad_file), "--agency", "SLDTBXH")
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "Dòng 3, cột «channel»: không rõ hình thức nộp «Fax» (dùng Trực tuyến, Trực tiếp hoặc Bưu chính công ích).",
        "Dòng 4, cột «received_at»: không đọc được ngày «31/02/2022» (ngày hoặc giờ không tồn tại).",
    ]
    assert bad.stdout.strip() == "Không ghi gì: 2 dòng lỗi."
    assert dossier_count(sqlite_url) == 30

    rejects = tmp_path / "loai.csv"
    skipped = run_cli(capsys, "--db", sqlite_url, "import", str(bad_file), "--skip-invalid", "--rejects", str(rejects))
    assert skipped.returncode == 0
    assert skipped.stdout.strip() == "Đã nhập 1 hồ sơ (1 mới, 0 cập nhật); 2 dòng bị loại."
    assert len(rejects.read_text(encoding="utf-8-sig").splitlines()) == 3

    junk = tmp_path / "rac.csv"
    junk.write_bytes(bytes(range(256)) * 4)
    broken = run_cli(capsys, "--db", sqlite_url, "import", str(junk))
    assert broken.returncode == 1
    assert broken.stderr.startswith("Dòng 1: Tệp không đọc được")
    for completed in (ok, bad, skipped, broken):
        assert "Traceback" not in completed.stderr


def test_cli_rejects_into_a_missing_folder_is_refused_before_anything_is_written(sqlite_url, tmp_path, capsys):
    bad_file = tmp_path / "loi.csv"
    bad_file.write_bytes(dossier_file(good_row("HS-1"), good_row("HS-2", channel="Fax")))

    refused = run_cli(capsys, "--db", sqlite_url, "import", str(bad_file), "--skip-invalid",
                      "--rejects", str(tmp_path / "khong-co" / "loai.csv"))

    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"Không ghi được tệp dòng lỗi vào thư mục «{tmp_path / 'khong-co'}» (không có "
                                      "hoặc không được ghi): không nhập gì.")
    assert dossier_count(sqlite_url) == 0 and not (tmp_path / "khong-co").exists()


def test_cli_stats_on_a_missing_sqlite_file_is_refused_instead_of_printing_zeros(tmp_path, capsys):
    missing = tmp_path / "khong-co" / "x.db"

    for command in (["stats", "--period", "2022-Q2"], ["export", "--period", "2022-Q2", "--out", str(tmp_path / "a.xlsx")]):
        refused = run_cli(capsys, "--db", f"sqlite:///{missing}", *command)
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.strip() == (f"Không có cơ sở dữ liệu «{missing}»: kiểm tra --db, hoặc tạo bằng lệnh demo "
                                          "hay import.")
    assert not missing.parent.exists()


def test_cli_import_of_a_device_stops_at_once(sqlite_url, capsys):
    refused = run_cli(capsys, "--db", sqlite_url, "import", "/dev/zero")

    assert refused.returncode == 1
    assert refused.stderr.strip() == "Dòng 1: «/dev/zero» không phải một tệp dữ liệu (thiết bị, thư mục hay luồng): không nhập."


def test_a_registered_format_is_chosen_by_the_files_content(sqlite_url, monkeypatch):
    seen = []

    def imports(db, data, filename, **request):
        seen.append((data, filename, sorted(request)))
        return ImportResult(kind="dossiers", rows_read=1)

    monkeypatch.setattr(importer, "FORMATS", [])
    importer.register_format(importer.Format("json", lambda data, name: data.lstrip().startswith(b"{"), imports))

    assert import_file(sqlite_url, b' {"a": 1}', filename="x.txt").rows_read == 1
    assert seen == [(b' {"a": 1}', "x.txt", ["agency", "dry_run", "kind", "scope", "skip_invalid"])]
    assert import_file(sqlite_url, SAMPLES / "ho-so-mau.csv").written and len(seen) == 1
