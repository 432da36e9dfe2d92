"""The columnar copy: how it is built, kept and loaded, and that counting from it gives the SQL figures.

The rules' two forms are compared on randomised data in test_counting.py.
"""
import datetime as dt

import pytest

from tthc_core import columnar, compute_stats
from tthc_core.counting import CountingSettings, column_grouped_counts, sql_grouped_counts
from tthc_core.db import PROJECT_ROOT, get_engine
from tthc_core.periods import parse_period
from tthc_core.store import ensure_agency, field_ids, write_dossiers

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
    with columnar.use_fast_path(engine).connect() as conn:
        assert columnar.snapshot(conn, wait=True) is not None
    total = compute_stats(sqlite_url, "2022-Q2")["dossiers"]["total"]
    assert (total["carried_over"], total["resolved_late"], total["pending_overdue"]) == (2, 1, 1)


def test_demo_reference_quarter_through_the_fast_path(demo_url):
    with columnar.use_fast_path(demo_url).connect() as conn:
        assert columnar.snapshot(conn, wait=True) is not None
        assert columnar.fast_snapshot(conn) is not None  # ready: compute_stats takes the fast path
    total = compute_stats(demo_url, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    assert (total["received_total"], total["resolved_total"], total["resolved_early"], total["pending_total"]) == (
        3238, 2525, 288, 713)
    for by in ("field", "agency", "level", "procedure"):
        for spec in ("2022-Q2", "2025-Q1", "2026-Q4"):
            with get_engine(demo_url).connect() as conn:
                period = parse_period(spec)
                fast = column_grouped_counts(columnar.snapshot(conn), period, None, by, CountingSettings())
                assert fast == sql_grouped_counts(conn, period, None, by, CountingSettings()), (by, spec)


def _arrays(snap):
    return {k: getattr(snap, k).tolist() for k in columnar._ARRAYS}


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
        received = [dt.datetime(2021, 6, 1) + dt.timedelta(hours=i) for i in range(50)]
        write_dossiers(conn, [dict(code=f"R{i}", agency_id=agencies["A"], channel=("online", "direct", "postal")[i % 3],
                                   field_id=fields["Việc làm"] if i % 2 else None, received_at=received[i],
                                   due_at=dt.datetime.combine(received[i].date() + dt.timedelta(days=i % 7), dt.time()),
                                   resolved_at=None if i % 3 else received[i] + dt.timedelta(minutes=500))
                              for i in range(50)])
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
    while "peak_mb" not in columnar.LAST_BUILD:  # the sidecar is read as soon as the child wrote it
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert snap.version == version and len(snap) == 50
    assert _arrays(snap) == _arrays(columnar.load(engine))
    assert columnar.LAST_BUILD["peak_mb"] > 10  # measured by the child itself
    sidecar = columnar.sidecar_path(engine)
    if db_url.startswith("sqlite"):
        assert sidecar is not None and sidecar.exists()
    else:
        assert sidecar is None
        assert not {n for n in set(os.listdir(tempfile.gettempdir())) - leftovers if n.startswith("tthc-columns")}


def test_a_valid_sidecar_serves_the_first_call_and_a_stale_one_never(demo_copy):
    """A new process (here: a forgotten cache) answers its first call from a valid sidecar at once,
    without waiting for a build; after a write the sidecar is stale and the figures come from SQL."""
    engine = columnar.use_fast_path(demo_copy, build=False)
    columnar.load(engine)  # leaves the sidecar
    columnar.CACHE.forget(engine)
    with engine.connect() as conn:
        snap = columnar.fast_snapshot(conn)
        assert snap is not None and snap.version == columnar.dossiers_version(conn)
    before = compute_stats(demo_copy, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    assert (before["received_total"], before["resolved_total"], before["pending_total"]) == (3238, 2525, 713)
    with engine.begin() as conn:
        agency = ensure_agency(conn, "SLDTBXH")
        write_dossiers(conn, [dict(code="NEW-1", agency_id=agency, channel="online",
                                   received_at=dt.datetime(2022, 4, 1, 9), due_at=dt.datetime(2022, 4, 5))])
    columnar.CACHE.forget(engine)
    with engine.connect() as conn:
        assert columnar.fast_snapshot(conn) is None  # stale sidecar, no background build asked for
    after = compute_stats(demo_copy, "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]
    assert (after["received_total"], after["received_online"]) == (3239, before["received_online"] + 1)
    columnar.use_fast_path(engine, enabled=False)


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
    same = again is not None and _arrays(again) == _arrays(snap)
    monkeypatch.undo()  # before asserting: pytest itself parses source to report a failure
    # The demo's 120.731 records less the 48 never accepted (TrangThaiHoSo 1, 3): outside every count.
    assert same and len(again) == 120_683
    monkeypatch.setattr(ast, "parse", no_ast)
    monkeypatch.setattr(ast, "literal_eval", no_ast)
    assert columnar._read_sidecar(path, "another version") is None
    cut = tmp_path / "cut.columns"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert columnar._read_sidecar(cut, None) is None


@pytest.mark.parametrize(("setting", "builds"), [(None, True), ("1", True), ("0", False)])
def test_the_dashboard_builds_its_copy_in_the_background_unless_the_host_says_not_to(demo_copy, monkeypatch,
                                                                                  setting, builds):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TTHC_DATABASE_URL", demo_copy)
    if setting is None:
        monkeypatch.delenv(columnar.BACKGROUND_COPY_ENV, raising=False)
    else:
        monkeypatch.setenv(columnar.BACKGROUND_COPY_ENV, setting)
    engine = get_engine(demo_copy)
    columnar.use_fast_path(engine, enabled=False)
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard.py"), default_timeout=120).run()
    assert not at.exception
    # Registered for the columnar path either way (a valid sidecar is used); a background build only if allowed.
    assert columnar._FAST_ENGINES.get(engine) is builds
    columnar.use_fast_path(engine, enabled=False)
