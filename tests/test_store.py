"""The write path: the bulk writer stores exactly what the row-by-row writer stores, all or nothing.

:func:`store.write_dossier_frame` (large imports) computes by column what :func:`store.prepare_dossier`
and :mod:`tthc_core.rules` decide row by row, and writes through its own statements (several rows to
a statement, CHECKs verified in Python, indexes dropped and rebuilt on SQLite; COPY on PostgreSQL).
These tests hold it to the row-by-row path, value by value and byte by byte.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from tthc_core import rules, store
from tthc_core.db import PROJECT_ROOT, data_version, dispose_engine, get_engine, upsert
from tthc_core.models import Agency, CalendarOverride, Dossier, Procedure, index_names
from tthc_core.workdays import WorkCalendar

CALENDAR = WorkCalendar()
STATUSES = ["normal", "withdrawn", "returned", "suspended"]


# --------------------------------------------------------------------------------------------
# The rules by column
# --------------------------------------------------------------------------------------------

moments = st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2090, 12, 31))
midnights = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2090, 12, 31)).map(
    lambda d: dt.datetime.combine(d, dt.time()))
some_moment = st.one_of(st.none(), moments, midnights)


def _column(values: list[dt.datetime | None]) -> np.ndarray:
    return np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "us") for v in values],
                    dtype="datetime64[us]")


def _python(value) -> dt.datetime | None:
    return None if np.isnat(value) else value.astype("datetime64[us]").astype(dt.datetime)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(some_moment, some_moment, st.sampled_from(STATUSES)), min_size=1, max_size=30))
def test_deadlines_and_resolutions_by_column_are_the_rules(rows):
    # Resolved near the due date too, where early / on time / late change.
    rows += [(due, due + dt.timedelta(microseconds=shift), status) for due, _, status in rows if due is not None
             for shift in (-1, 0, 1, 86_399_999_999, 86_400_000_000)]
    due, resolved, status = (list(c) for c in zip(*rows))

    deadlines = rules.deadlines(_column(due))
    resolutions = rules.resolutions(_column(due), _column(resolved), np.array(status, dtype=object))

    assert [_python(d) for d in deadlines] == [rules.deadline_of(d) for d in due]
    assert list(resolutions) == [rules.resolution_of(d, r, s) for d, r, s in rows]


PROCEDURES = {
    1: SimpleNamespace(id=1, field_id=10, processing_days=Decimal(5), same_day_cutoff=None),
    2: SimpleNamespace(id=2, field_id=None, processing_days=Decimal("0.5"), same_day_cutoff=None),
    3: SimpleNamespace(id=3, field_id=11, processing_days=Decimal(0), same_day_cutoff=dt.time(15, 0)),
    4: SimpleNamespace(id=4, field_id=12, processing_days=None, same_day_cutoff=None),
    5: SimpleNamespace(id=5, field_id=10, processing_days=Decimal(30), same_day_cutoff=dt.time(11, 30, 15)),
}
received = st.datetimes(min_value=dt.datetime(2016, 1, 1), max_value=dt.datetime(2039, 6, 30))
dossier_row = st.fixed_dictionaries({
    "agency_id": st.sampled_from([1, 2]),
    "procedure_id": st.sampled_from([None, 1, 2, 3, 4, 5, 99]),  # 99: not in the catalogue
    "field_id": st.sampled_from([None, 10, 13]),
    "channel": st.sampled_from(["online", "direct", "postal"]),
    "status": st.sampled_from([None, "", *STATUSES]),
    "received_at": received,
    "due_days": st.one_of(st.none(), st.integers(0, 40)),
    "due_time": st.sampled_from([None, dt.time(), dt.time(16, 30), dt.time(0, 0, 0, 1)]),
    "resolved_minutes": st.one_of(st.none(), st.integers(0, 60 * 24 * 60)),
    "apology_count": st.sampled_from([None, 0, 2]),
    "due_estimated": st.sampled_from([None, False, True]),
})


def _dossier_rows(items: list[dict]) -> list[dict]:
    rows = []
    for i, item in enumerate(items):
        row = {k: v for k, v in item.items() if k not in ("due_days", "due_time", "resolved_minutes")}
        row["code"] = f"HS-{i}"
        start = item["received_at"]
        row["due_at"] = None if item["due_days"] is None else dt.datetime.combine(
            start.date() + dt.timedelta(days=item["due_days"]), item["due_time"] or dt.time())
        row["resolved_at"] = (None if item["resolved_minutes"] is None
                              else start + dt.timedelta(minutes=item["resolved_minutes"]))
        rows.append(row)
    return rows


def _records(frame: pd.DataFrame) -> list[dict]:
    """A frame as plain Python rows, as :func:`store.write_dossiers` takes them (None when missing)."""
    out = []
    for record in frame.astype(object).to_dict("records"):
        row = {}
        for key, value in record.items():
            if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                value = None
            elif isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif isinstance(value, (np.integer, np.bool_)):
                value = value.item()
            row[key] = value
        out.append(row)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(dossier_row, min_size=1, max_size=25))
def test_prepare_dossier_frame_is_prepare_dossier_row_by_row(items):
    rows = _dossier_rows(items)
    expected = [store.prepare_dossier(dict(row), PROCEDURES.get(row["procedure_id"]) if row["procedure_id"] else None,
                                      CALENDAR) for row in rows]

    frame = pd.DataFrame(rows)
    prepared = store.prepare_dossier_frame(frame, PROCEDURES, CALENDAR)

    assert list(prepared.columns) == list(store.DOSSIER_COLUMNS)
    assert _records(prepared) == expected


# --------------------------------------------------------------------------------------------
# The stored rows: bulk writer vs row-by-row writer
# --------------------------------------------------------------------------------------------

def _catalogue(url: str) -> dict[str, int]:
    with get_engine(url).begin() as conn:
        agencies = {code: store.ensure_agency(conn, code) for code in ("A", "B")}
        fields = store.field_ids(conn, ["Việc làm", "Người có công"])
        store.write_procedures(conn, [
            dict(agency_id=agencies["A"], code="1.1", name="Năm ngày", field_id=fields["Việc làm"],
                 processing_days=Decimal(5)),
            dict(agency_id=agencies["A"], code="1.2", name="Trong ngày, chốt 15 giờ", field_id=None,
                 processing_days=Decimal(0), same_day_cutoff=dt.time(15, 0)),
            dict(agency_id=agencies["B"], code="1.3", name="Không có thời hạn", field_id=fields["Người có công"]),
        ])
        conn.execute(CalendarOverride.__table__.insert(), [dict(day=dt.date(2022, 4, 9), is_working=True, note="")])
        procedures = dict(conn.execute(select(Procedure.code, Procedure.id)).all())
    return {"agencies": agencies, "fields": fields, "procedures": procedures}


def _generated(ids: dict, n: int, seed: int, prefix: str = "HS") -> pd.DataFrame:
    """``n`` dossiers covering every case: ids missing or not, every status, due dates with and without a
    time or missing, resolved early, on the day, late, or not yet."""
    rng = np.random.default_rng(seed)
    agencies, fields, procedures = list(ids["agencies"].values()), list(ids["fields"].values()), list(
        ids["procedures"].values())
    received = (np.datetime64("2022-03-01T07:00", "us")
                + rng.integers(0, 120 * 24 * 60, n).astype("timedelta64[m]")
                + rng.integers(0, 3, n).astype("timedelta64[s]"))
    due = (received.astype("datetime64[D]") + rng.integers(0, 20, n).astype("timedelta64[D]")).astype(
        "datetime64[us]")
    due = np.where(rng.random(n) < 0.3, due + rng.integers(8 * 60, 17 * 60, n).astype("timedelta64[m]"), due)
    due[rng.random(n) < 0.25] = np.datetime64("NaT")
    resolved = received + rng.integers(0, 30 * 24 * 60, n).astype("timedelta64[m]")
    resolved[rng.random(n) < 0.2] = np.datetime64("NaT")
    return pd.DataFrame({
        "code": [f"{prefix}-{i:06d}" for i in rng.permutation(n)],
        "agency_id": rng.choice(agencies, n),
        "procedure_id": pd.array(np.where(rng.random(n) < 0.2, None, rng.choice(procedures, n)), dtype="Int64"),
        "field_id": pd.array(np.where(rng.random(n) < 0.5, None, rng.choice(fields, n)), dtype="Int64"),
        "channel": rng.choice(["online", "direct", "postal"], n),
        "status": rng.choice(["normal"] * 5 + ["withdrawn", "returned", "suspended"], n),
        "received_at": received, "due_at": due, "resolved_at": resolved,
        "apology_count": rng.integers(0, 2, n),
    })


def _stored(url: str) -> list[tuple]:
    """Every dossier column as stored; on SQLite the raw stored text and type of each value."""
    columns = [c.name for c in Dossier.__table__.columns]
    with get_engine(url).connect() as conn:
        if conn.dialect.name == "sqlite":
            cells = ", ".join(f"typeof({c}), quote({c})" for c in columns)
            return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {cells} FROM dossiers ORDER BY code")]
        return [tuple(r) for r in conn.execute(select(Dossier.__table__).order_by(Dossier.code))]


def _without_ids(rows: list[tuple], url: str) -> list[tuple]:
    # PostgreSQL hands out sequence numbers to upserted rows too, so the ids of new rows may sit
    # differently after an upsert; the other columns must not differ.
    if url.startswith("sqlite"):
        return rows
    return [row[1:] for row in rows]


@pytest.fixture
def two_databases(db_url, tmp_path, postgres):
    """The parametrised database and a second empty one on the same engine."""
    if db_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path}/other.db"
        get_engine(other)
        yield db_url, other
        dispose_engine(other)
    else:
        other = postgres.create()
        get_engine(other)
        yield db_url, other
        postgres.drop(other)


@pytest.mark.parametrize("bulk", [False, True], ids=["small", "indexes-rebuilt"])
def test_bulk_writer_stores_exactly_what_the_row_writer_stores(two_databases, monkeypatch, bulk):
    fast_url, plain_url = two_databases
    ids = _catalogue(fast_url)
    assert _catalogue(plain_url) == ids
    if bulk:
        monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 10)
    first = _generated(ids, 2003, seed=1)  # not a multiple of the rows a statement takes
    second = pd.concat([_generated(ids, 700, seed=2).iloc[:350],  # half of them already stored: updated
                        _generated(ids, 401, seed=3, prefix="NEW")], ignore_index=True)

    with get_engine(fast_url).begin() as conn:
        assert store.write_dossier_frame(conn, first) == 0
    with get_engine(fast_url).begin() as conn:
        assert store.write_dossier_frame(conn, second) == 350
    for batch in (first, second):
        with get_engine(plain_url).begin() as conn:
            store.write_dossiers(conn, _records(batch))

    fast, plain = _stored(fast_url), _stored(plain_url)
    assert len(fast) == 2003 + 401
    assert _without_ids(fast, fast_url) == _without_ids(plain, plain_url)
    with get_engine(fast_url).connect() as conn:
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("dossiers")}
    assert index_names(Dossier.__table__, conn.dialect.name) <= indexes


def test_sqlite_datetimes_are_stored_as_sqlalchemy_writes_them(sqlite_url):
    ids = _catalogue(sqlite_url)
    frame = _generated(ids, 3, seed=4)
    frame.loc[0, "received_at"] = pd.Timestamp("2022-04-01 08:00:00.000001")
    with get_engine(sqlite_url).begin() as conn:
        store.write_dossier_frame(conn, frame)
    with get_engine(sqlite_url).connect() as conn:
        texts = conn.exec_driver_sql("SELECT received_at FROM dossiers ORDER BY received_at").scalars().all()
    assert texts[0] == "2022-04-01 08:00:00.000001"
    assert all(len(t) == 26 and t[10] == " " for t in texts)  # microseconds always, or text comparison breaks


def test_a_row_breaking_a_check_fails_the_bulk_write_as_it_fails_the_row_write(db_url, monkeypatch):
    monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 10)
    ids = _catalogue(db_url)
    before = data_version(db_url)
    frame = _generated(ids, 50, seed=5)
    frame.loc[17, "channel"] = "fax"

    with pytest.raises(IntegrityError):
        with get_engine(db_url).begin() as conn:
            store.write_dossier_frame(conn, frame)
    with pytest.raises(IntegrityError):
        with get_engine(db_url).begin() as conn:
            store.write_dossiers(conn, _records(frame))

    assert _stored(db_url) == [] and data_version(db_url) == before
    with get_engine(db_url).connect() as conn:
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("dossiers")}
    assert index_names(Dossier.__table__, conn.dialect.name) <= indexes


def test_sqlite_checks_constraints_again_after_a_bulk_write(sqlite_url):
    ids = _catalogue(sqlite_url)
    with get_engine(sqlite_url).begin() as conn:
        store.write_dossier_frame(conn, _generated(ids, 20, seed=6))
    bad = _records(_generated(ids, 1, seed=7, prefix="BAD"))
    bad[0]["status"] = "lost"
    # The pool hands out the same connection: it must not still skip CHECK constraints.
    with pytest.raises(IntegrityError):
        with get_engine(sqlite_url).begin() as conn:
            store.write_dossiers(conn, bad)


def _assert_as_before(db_url, before, version):
    """The same rows and data version as before, every index back, and (SQLite) an intact file."""
    assert _stored(db_url) == before and data_version(db_url) == version
    with get_engine(db_url).connect() as conn:
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("dossiers")}
        if db_url.startswith("sqlite"):
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert index_names(Dossier.__table__, conn.dialect.name) <= indexes


def test_a_failure_after_the_indexes_are_dropped_leaves_everything_as_before(db_url, monkeypatch):
    monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 10)
    ids = _catalogue(db_url)
    with get_engine(db_url).begin() as conn:
        store.write_dossier_frame(conn, _generated(ids, 30, seed=8, prefix="OLD"))
    before, version = _stored(db_url), data_version(db_url)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "insert_columns", broken)
    with pytest.raises(RuntimeError):
        with get_engine(db_url).begin() as conn:
            store.write_dossier_frame(conn, _generated(ids, 200, seed=9))

    _assert_as_before(db_url, before, version)


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import pandas as pd
    from tthc_core import db, store
    from tthc_core.db import get_engine
    url, path = sys.argv[1], sys.argv[2]
    frame = pd.read_pickle(path)
    store.REBUILD_INDEXES_FROM = 10
    store.WRITE_CHUNK = 500
    insert = db.insert_columns

    def insert_then_die(conn, table, columns, chunks, keys=()):
        def first_chunk_then_kill():
            for number, chunk in enumerate(chunks):
                if number == 1:  # the indexes are gone and a first block is in
                    os.kill(os.getpid(), signal.SIGKILL)
                yield chunk
        insert(conn, table, columns, first_chunk_then_kill(), keys)

    store.insert_columns = insert_then_die
    with get_engine(url).begin() as conn:
        store.write_dossier_frame(conn, frame)
""")


def test_kill_9_in_the_middle_of_a_bulk_write_leaves_the_database_as_before(db_url, tmp_path):
    ids = _catalogue(db_url)
    with get_engine(db_url).begin() as conn:
        store.write_dossier_frame(conn, _generated(ids, 30, seed=10, prefix="OLD"))
    before, version = _stored(db_url), data_version(db_url)
    path = tmp_path / "frame.pkl"
    _generated(ids, 3000, seed=11).to_pickle(path)

    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, db_url, str(path)], cwd=PROJECT_ROOT,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, capture_output=True, timeout=300)

    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    _assert_as_before(db_url, before, version)


def test_prepare_dossier_is_what_insert_dossiers_and_write_dossiers_store(sqlite_url):
    ids = _catalogue(sqlite_url)
    rows = _records(_generated(ids, 40, seed=12))
    with get_engine(sqlite_url).begin() as conn:
        store.insert_dossiers(conn, rows[:20])
        store.write_dossiers(conn, rows[20:])
        procedures = store.procedures_by_id(conn)
        calendar = store.load_calendar(conn)
        stored = conn.execute(select(*[Dossier.__table__.c[c] for c in store.DOSSIER_COLUMNS])
                              .order_by(Dossier.code)).all()
    expected = sorted((store.prepare_dossier(dict(r), procedures.get(r["procedure_id"]), calendar) for r in rows),
                      key=lambda r: r["code"])
    assert [dict(r._mapping) for r in stored] == expected


# --------------------------------------------------------------------------------------------
# Procedures and agencies
# --------------------------------------------------------------------------------------------

def test_write_procedures_inserts_with_defaults_and_updates_only_the_given_columns(db_url):
    with get_engine(db_url).begin() as conn:
        agency = store.ensure_agency(conn, "A")
        store.write_procedures(conn, [dict(agency_id=agency, code="1.1", name="Cũ", one_stop=True, online_level=4,
                                           published=False, processing_days=Decimal(7))])
        store.write_procedures(conn, [
            dict(agency_id=agency, code="1.1", name="Mới", processing_days=Decimal(15)),  # flags not given
            dict(agency_id=agency, code="1.2", name="Thêm", postal=True),  # new: defaults for the rest
        ])
        rows = {r.code: r for r in conn.execute(select(Procedure.__table__))}

    updated, added = rows["1.1"], rows["1.2"]
    assert (updated.name, updated.processing_days, updated.one_stop, updated.online_level, updated.published) == (
        "Mới", Decimal(15), True, 4, False)
    assert (added.postal, added.published, added.publicized, added.one_stop, added.regulated_by,
            added.authority_level) == (True, True, True, False, "central", "province")


def test_upsert_with_no_column_to_update_keeps_the_stored_row(sqlite_url):
    with get_engine(sqlite_url).begin() as conn:
        agency = store.ensure_agency(conn, "A")
        store.write_procedures(conn, [dict(agency_id=agency, code="1.1", name="Giữ")])
        upsert(conn, Procedure.__table__, [dict(agency_id=agency, code="1.1", name="Bỏ")], ("agency_id", "code"),
               update=[])
        assert conn.scalar(select(Procedure.name)) == "Giữ"


def test_default_agency_is_created_only_when_asked(sqlite_url):
    with get_engine(sqlite_url).begin() as conn:
        assert store.default_agency_id(conn, create=False) is None
        assert conn.scalar(select(func.count()).select_from(Agency)) == 0
        created = store.default_agency_id(conn)
        assert store.default_agency_id(conn, create=False) == created


def test_agency_codes_match_regardless_of_case(sqlite_url):
    with get_engine(sqlite_url).begin() as conn:
        stored = store.ensure_agency(conn, "SLDTBXH")
        found = store.agency_ids(conn, ["sldtbxh", "SLDTBXH", "Ubnd-X", "UBND-X"], create=False)
        assert found == {"sldtbxh": stored, "SLDTBXH": stored, "Ubnd-X": None, "UBND-X": None}
        created = store.agency_ids(conn, ["Ubnd-X", "UBND-X"])
        assert created["Ubnd-X"] == created["UBND-X"]
        assert conn.scalar(select(func.count()).select_from(Agency)) == 2


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite's plan is pinned in test_stats
def test_a_large_import_on_postgresql_leaves_fresh_planner_statistics(db_url, monkeypatch):
    monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 10)
    ids = _catalogue(db_url)
    with get_engine(db_url).begin() as conn:
        store.write_dossier_frame(conn, _generated(ids, 40, seed=12))
    with get_engine(db_url).connect() as conn:
        analyzed = conn.exec_driver_sql("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'dossiers'")
        assert analyzed.scalar() is not None
