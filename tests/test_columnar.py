"""The columnar fast path gives exactly the figures of the plain SQL rules, on randomised data."""
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from tthc_core import columnar, compute_stats
from tthc_core.db import bump_data_version, get_engine
from tthc_core.models import Dossier
from tthc_core.periods import parse_period
from tthc_core.stats import _bounds, overdue_moment, sql_grouped_counts
from tthc_core.store import ensure_agency, field_ids, write_dossiers

BASE = dt.datetime(2021, 6, 1)

dossier = st.fixed_dictionaries({
    "received": st.integers(0, 500 * 24 * 60),  # minutes after BASE
    "resolved_after": st.one_of(st.none(), st.integers(0, 400 * 24 * 60)),
    "due_after_days": st.one_of(st.none(), st.integers(0, 60)),
    "due_time": st.one_of(st.just(None), st.times()),
    "status": st.sampled_from(["normal", "normal", "withdrawn", "returned", "suspended"]),
    "channel": st.sampled_from(["online", "direct", "postal"]),
    "agency": st.sampled_from(["A", "B"]),
    "field": st.sampled_from(["Việc làm", "Người có công", None]),
})
query = st.fixed_dictionaries({
    "spec": st.sampled_from(["2022-Q1", "2022-Q2", "2022-Q3", "2021-Q4", "2022-H1", "2022-05", "2022",
                             "2022-03-15..2022-03-15", "2021-12-31..2022-01-01"]),
    "mode": st.sampled_from(["report", "calendar"]),
    "as_of": st.one_of(st.none(), st.dates(dt.date(2022, 1, 1), dt.date(2022, 12, 31))),
    "by": st.sampled_from(["field", "agency", "procedure", "level"]),
    "agencies": st.sampled_from([None, ["A"], ["B"], ["A", "B"]]),
    "rule": st.sampled_from(["on_time", "exclude"]),
})


def _rows(items, agencies, fields):
    rows = []
    for i, item in enumerate(items):
        received = BASE + dt.timedelta(minutes=item["received"])
        due = None
        if item["due_after_days"] is not None:
            due = dt.datetime.combine(received.date() + dt.timedelta(days=item["due_after_days"]),
                                      item["due_time"] or dt.time())
        resolved = None
        if item["resolved_after"] is not None:
            resolved = received + dt.timedelta(minutes=item["resolved_after"])
        rows.append(dict(code=f"R{i}", agency_id=agencies[item["agency"]],
                         field_id=fields.get(item["field"]), procedure_id=None, channel=item["channel"],
                         status=item["status"], received_at=received, due_at=due, resolved_at=resolved))
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(dossier, max_size=40), queries=st.lists(query, min_size=1, max_size=4))
def test_fast_path_equals_the_plain_rules(sqlite_url, items, queries):
    engine = get_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(delete(Dossier))
        bump_data_version(conn, dossiers=True)  # every write path moves the version; so does this one
        agencies = {code: ensure_agency(conn, code, code) for code in ("A", "B")}
        fields = field_ids(conn, ["Việc làm", "Người có công"])
        write_dossiers(conn, _rows(items, agencies, fields))
    with engine.connect() as conn:
        snap = columnar.snapshot(conn, wait=True)
        assert snap is not None and len(snap) == len(items)
        for q in queries:
            period = parse_period(q["spec"], q["mode"])
            ids = None if q["agencies"] is None else [agencies[a] for a in q["agencies"]]
            start, cutoff = _bounds(period)
            fast = columnar.grouped_counts(snap, start, cutoff, overdue_moment(period, q["as_of"]), ids, q["by"],
                                           q["rule"] == "exclude")
            plain = sql_grouped_counts(conn, period, ids, q["by"], q["rule"], q["as_of"])
            plain = {k: v for k, v in plain.items() if v["received_total"]}
            assert fast == plain, q


def test_long_open_dossiers_outside_the_window_are_still_carried_over(sqlite_url):
    engine = get_engine(sqlite_url)
    with engine.begin() as conn:
        agency = ensure_agency(conn, "A", "A")
        write_dossiers(conn, [
            dict(code="OLD-OPEN", agency_id=agency, channel="direct", received_at=dt.datetime(2020, 1, 2, 9),
                 due_at=dt.datetime(2020, 2, 1)),
            dict(code="OLD-LATE", agency_id=agency, channel="direct", received_at=dt.datetime(2020, 1, 2, 9),
                 due_at=dt.datetime(2020, 2, 1), resolved_at=dt.datetime(2022, 4, 1, 9)),
            dict(code="OLD-DONE", agency_id=agency, channel="direct", received_at=dt.datetime(2020, 1, 2, 9),
                 due_at=dt.datetime(2020, 2, 1), resolved_at=dt.datetime(2020, 1, 20, 9)),
        ])
    with engine.connect() as conn:
        columnar.snapshot(conn, wait=True)
    total = compute_stats(sqlite_url, "2022-Q2")["dossiers"]["total"]
    assert (total["carried_over"], total["resolved_late"], total["pending_overdue"]) == (2, 1, 1)


def test_demo_reference_quarter_through_the_fast_path(demo_url):
    with get_engine(demo_url).connect() as conn:
        assert columnar.snapshot(conn, wait=True) is not None
        assert columnar.snapshot(conn) is not None  # ready: compute_stats takes the fast path
    total = compute_stats(demo_url, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    assert (total["received_total"], total["resolved_total"], total["resolved_early"], total["pending_total"]) == (
        3238, 2525, 288, 713)
    for by in ("field", "agency", "level", "procedure"):
        for spec in ("2022-Q2", "2025-Q1", "2026-Q4"):
            with get_engine(demo_url).connect() as conn:
                period = parse_period(spec)
                start, cutoff = _bounds(period)
                snap = columnar.snapshot(conn)
                fast = columnar.grouped_counts(snap, start, cutoff, overdue_moment(period), None, by, False)
                assert fast == sql_grouped_counts(conn, period, None, by, "on_time"), (by, spec)


def _arrays(snap):
    return {k: getattr(snap, k).tolist() for k in ("received", "resolved", "deadline", "agency", "field",
                                                    "procedure", "channel", "status", "resolution", "long_idx")}


def test_the_background_copy_is_built_in_a_child_process_and_equals_the_one_built_here(db_url):
    """The dashboard's copy comes from a child process (so its queries keep the interpreter); the
    arrays are exactly those of a build in this process, on both engines."""
    import os
    import tempfile
    import time

    engine = get_engine(db_url)
    with engine.begin() as conn:
        agencies = {"A": ensure_agency(conn, "A", "Sở A")}
        fields = field_ids(conn, ["Việc làm"])
        write_dossiers(conn, _rows([{"received": 60 * i, "resolved_after": None if i % 3 else 500,
                                     "due_after_days": i % 7, "due_time": None, "status": "normal",
                                     "channel": ("online", "direct", "postal")[i % 3], "agency": "A",
                                     "field": "Việc làm" if i % 2 else None} for i in range(50)],
                                   agencies, fields))
    columnar.CACHE.forget(engine)
    columnar.LAST_BUILD.clear()
    leftovers = set(os.listdir(tempfile.gettempdir()))
    deadline = time.monotonic() + 120
    with engine.connect() as conn:
        assert columnar.snapshot(conn) is None  # not ready: the SQL path answers meanwhile
        while (snap := columnar.snapshot(conn)) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        version = columnar.dossiers_version(conn)
    assert snap.version == version and len(snap) == 50
    assert _arrays(snap) == _arrays(columnar.load(engine))
    assert columnar.LAST_BUILD["peak_mb"] > 10  # measured by the child itself
    sidecar = columnar.sidecar_path(engine)
    if db_url.startswith("sqlite"):
        assert sidecar is not None and sidecar.exists()
    else:
        assert sidecar is None
        assert not {n for n in set(os.listdir(tempfile.gettempdir())) - leftovers if n.startswith("tthc-columns")}


def test_the_sidecar_reads_back_exactly_without_building_any_ast(demo_copy, tmp_path, monkeypatch):
    """Loaded on a background thread while Streamlit compiles a page: CPython 3.11.7 breaks when two
    threads build ASTs at once (np.load does, for its headers), so reading the copy must not."""
    import ast

    engine = get_engine(demo_copy)
    snap = columnar.load(engine)
    path = columnar.sidecar_path(engine)
    assert path.name.endswith(".db.columns") and path.exists()

    def no_ast(*args, **kwargs):
        raise AssertionError("the sidecar reader built an AST")

    monkeypatch.setattr(ast, "parse", no_ast)
    monkeypatch.setattr(ast, "literal_eval", no_ast)
    again = columnar._read_sidecar(path, snap.version)
    assert again is not None and _arrays(again) == _arrays(snap) and len(again) == 120_731
    assert columnar._read_sidecar(path, "another version") is None
    cut = tmp_path / "cut.columns"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert columnar._read_sidecar(cut, None) is None
