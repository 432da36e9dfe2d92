"""Imports never lose or corrupt data: a kill -9 at any moment, concurrent readers, hostile files."""
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from tthc_core import compute_stats
from tthc_core.db import PROJECT_ROOT, data_version, get_engine
from tthc_core.importer import import_file
from tthc_core.models import Dossier
from tthc_core.store import ensure_agency
from bench.synthetic import agencies, generate, write_csv

VIETNAMESE = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")


def _snapshot(url):
    with get_engine(url).connect() as conn:
        return (conn.scalar(select(func.count()).select_from(Dossier)),
                conn.scalar(select(func.max(Dossier.resolved_at))), data_version(url))


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    province = generate(60_000, years=1, end=dt.date(2026, 6, 30), seed=5)
    folder = tmp_path_factory.mktemp("csv")
    return province, *write_csv(province, folder)


def _province_db(url, province, procedures_csv):
    with get_engine(url).begin() as conn:
        for a in agencies().itertuples():
            ensure_agency(conn, a.code, a.name, a.level)
    assert import_file(url, procedures_csv, kind="procedures").written
    # Some dossiers already there, so an interrupted import has something to corrupt.
    head = province.dossiers.head(500).to_csv(index=False).encode()
    assert import_file(url, head, filename="head.csv", kind="dossiers").written


def _writing(url) -> bool:
    """True once the importing process has started writing rows (it holds a write transaction)."""
    if url.startswith("sqlite"):
        wal = url.removeprefix("sqlite:///") + "-wal"
        return os.path.exists(wal) and os.path.getsize(wal) > 4 * 1024 * 1024
    with get_engine(url).connect() as conn:
        # Rows go in by COPY (store.write_dossier_frame); the import's first statements update settings.
        return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND (query ILIKE 'INSERT INTO dossiers%' OR query ILIKE 'COPY %dossiers%') "
                                     "AND state <> 'idle'")))


@pytest.mark.parametrize("kill_when", [0.5, 2.0, "writing"])
def test_kill_9_during_an_import_leaves_the_database_exactly_as_before(db_url, big_csv, kill_when):
    province, procedures_csv, dossiers_csv = big_csv
    _province_db(db_url, province, procedures_csv)
    before = _snapshot(db_url)
    stats_before = compute_stats(db_url, "2026-Q2")["dossiers"]["total"]
    proc = subprocess.Popen([sys.executable, "-m", "tthc_core", "--db", db_url, "import", str(dossiers_csv),
                             "--kind", "dossiers"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if kill_when == "writing":
        deadline = time.monotonic() + 60
        while proc.poll() is None and not _writing(db_url) and time.monotonic() < deadline:
            time.sleep(0.02)
    else:
        time.sleep(kill_when)
    finished = proc.poll() is not None
    if kill_when == "writing":
        assert not finished, "the import ended before it could be killed while writing"
    if not finished:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    after = _snapshot(db_url)
    if kill_when != "writing" and after[0] == len(province.dossiers):
        # It committed before the kill landed (the process was still exiting): then it is wholly there.
        assert after[2] != before[2]
        return
    assert after == before
    assert compute_stats(db_url, "2026-Q2")["dossiers"]["total"] == stats_before
    if db_url.startswith("sqlite"):
        with get_engine(db_url).connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_readers_keep_working_during_a_long_import(sqlite_url, big_csv):
    province, procedures_csv, dossiers_csv = big_csv
    _province_db(sqlite_url, province, procedures_csv)
    expected = compute_stats(sqlite_url, "2026-Q2")["dossiers"]["total"]
    proc = subprocess.Popen([sys.executable, "-m", "tthc_core", "--db", sqlite_url, "import", str(dossiers_csv),
                             "--kind", "dossiers"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reads = 0
    while proc.poll() is None:
        # Before the import commits, readers see the old figures, never a half-written state.
        total = compute_stats(sqlite_url, "2026-Q2")["dossiers"]["total"]
        assert total == expected or total["received_total"] > expected["received_total"]
        reads += 1
        time.sleep(0.05)
    assert proc.returncode == 0, proc.stderr.read().decode()
    assert reads >= 3
    assert _snapshot(sqlite_url)[0] == len(province.dossiers)


# --- hostile files: never a traceback, always row and column, never a partial write ----------------

HEADER = "code,procedure_code,field,agency_code,channel,received_at,due_at,resolved_at,status"
GOOD = "HS-1,1.000001,Việc làm,A,direct,2022-04-01 09:00,2022-04-10,2022-04-08 10:00,normal"

cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "31/02/2022", "2022-02-30",
                     "14/06/2022 16:30", "2022-06-14T16:30:00", "06/14/2022", "", "Trực tuyến", "BCCI",
                     "x" * 5000, "\x00", "\ufeff", "\"", ";", "\n"]),
)
row = st.lists(cell, min_size=0, max_size=12)


def _csv(headers, rows, delimiter=","):
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


def _assert_clean(result, url, before):
    for problem in result.problems:
        assert problem.line >= 1 and isinstance(problem.column, str)
        assert problem.message and set(problem.message.lower()) & VIETNAMESE, problem.message
        assert "Traceback" not in problem.text()
    if result.problems:
        assert not result.written and _snapshot(url) == before


@pytest.fixture
def hostile_db(sqlite_url):
    with get_engine(sqlite_url).begin() as conn:
        ensure_agency(conn, "A", "Cơ quan A")
    assert import_file(sqlite_url, (HEADER + "\n" + GOOD + "\n").encode(), filename="ok.csv").written
    return sqlite_url


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=st.lists(st.sampled_from(HEADER.split(",") + ["STT", "Mã hồ sơ", "Ngày tiếp nhận", "", "code"]),
                        max_size=10),
       rows=st.lists(row, max_size=8), delimiter=st.sampled_from([",", ";"]))
def test_malformed_csv_gets_row_and_column_never_a_partial_write(hostile_db, headers, rows, delimiter):
    before = _snapshot(hostile_db)
    result = import_file(hostile_db, _csv(headers, rows, delimiter).encode("utf-8"), filename="f.csv")
    _assert_clean(result, hostile_db, before)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), name=st.sampled_from(["f.csv", "f.xlsx", "f.txt", None]))
def test_binary_junk_and_truncated_files_are_refused_cleanly(hostile_db, data, name):
    before = _snapshot(hostile_db)
    result = import_file(hostile_db, data, filename=name)
    _assert_clean(result, hostile_db, before)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(1, 200), encoding=st.sampled_from(["utf-8", "utf-16", "cp1258", "latin-1"]))
def test_truncated_and_wrongly_encoded_files(hostile_db, cut, encoding):
    text_ = (HEADER + "\n" + GOOD.replace("HS-1", "HS-2") + "\n" + GOOD.replace("HS-1", "HS-3") + "\n")
    data = text_.encode(encoding, errors="replace")[:cut]
    before = _snapshot(hostile_db)
    result = import_file(hostile_db, data, filename="f.csv")
    _assert_clean(result, hostile_db, before)


def test_a_real_xlsx_truncated_in_the_middle(hostile_db, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(GOOD.replace("HS-1", "HS-9").split(","))
    path = tmp_path / "f.xlsx"
    book.save(path)
    data = path.read_bytes()
    before = _snapshot(hostile_db)
    for cut in (10, len(data) // 2, len(data) - 10):
        _assert_clean(import_file(hostile_db, data[:cut], filename="f.xlsx"), hostile_db, before)


@pytest.mark.parametrize("content, line, column", [
    ("", 1, ""),
    (HEADER + "\n", 1, ""),
    (HEADER + ",code\n" + GOOD + ",X\n", 1, "code"),
    (HEADER + "\n" + GOOD.replace("2022-04-01 09:00", "31/02/2022") + "\n", 2, "received_at"),
    (HEADER + "\n" + GOOD.replace("2022-04-01 09:00", "2022-04-01 25:00") + "\n", 2, "received_at"),
])
def test_named_cases_point_at_the_right_line_and_column(hostile_db, content, line, column):
    before = _snapshot(hostile_db)
    result = import_file(hostile_db, content.encode(), filename="f.csv")
    assert result.problems and not result.written and _snapshot(hostile_db) == before
    assert any(p.line == line and p.column == column for p in result.problems), [p.text() for p in result.problems]
