"""``python -m bench``: how fast the core is on a synthetic province, measured, not asserted.

It builds the synthetic province of :mod:`bench.synthetic` (30 agencies, 20 fields, N dossiers
over 3 years), imports it through the real importer, and measures, each as the median of several
runs where a run can be repeated:

- import throughput of the canonical CSV (rows/s, validation included), over up to three imports
  into a fresh schema;
- ``compute_stats`` for one quarter, by field, for the province and for one agency: cold as the first
  call right after each import, on the SQL path alone (before the columnar copy exists), in a new
  process that finds the copy's sidecar file, and warm (repeated call);
- the same quarter on a 10-year history of the same yearly volume, against the 3-year one;
- the same aggregation in DuckDB over the same rows held in memory, and the ratio of ours to it;
- the quarter's workbook export and an AppTest render of the overview page;
- the peak resident memory of a dashboard process (AppTest, every page) on that database.

Results go to ``bench/results.md`` with a description of the machine.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.engine import make_url

from tthc_core import columnar, counting, stats
from tthc_core.db import PROJECT_ROOT, dispose_engine, get_engine
from tthc_core.models import Agency, Base, Dossier, Setting
from tthc_core.store import ensure_agency

from . import index766, national
from .synthetic import agencies, generate, write_csv
from .timing import median_time

QUARTER = "2026-Q2"  # the last full report quarter of the synthetic history (it ends on 30/06/2026)
AGENCY = "SO03"
END = dt.date(2026, 6, 30)


# A settings key the bench writes into every database it creates: only such a database, or one
# without dossiers, may be wiped by a later run.
BENCH_MARK = "bench_database"


class BenchRefused(Exception):
    """The target database holds dossiers the bench did not write: it will not drop them."""


def check_target(url: str) -> None:
    """Raise :class:`BenchRefused` unless the bench may drop and recreate the TTHC tables at ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).exists()):
        return
    engine = get_engine(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if "dossiers" not in tables or conn.scalar(select(Dossier.id).limit(1)) is None:
            return
        if "settings" in tables and conn.scalar(select(Setting.value).where(Setting.key == BENCH_MARK)):
            return
    raise BenchRefused(f"Cơ sở dữ liệu «{parsed.render_as_string(hide_password=True)}» đã có hồ sơ. Lệnh bench "
                       "xóa và tạo lại các bảng TTHC ở đó: hãy chỉ định một cơ sở dữ liệu trống dành riêng cho bench.")


def _fresh(url: str) -> Engine:
    """An empty TTHC schema at ``url`` (the bench drops and recreates its own tables there, after
    :func:`check_target`), marked as the bench's own."""
    check_target(url)
    parsed = make_url(url)
    dispose_engine(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        for suffix in ("", "-wal", "-shm", ".columns"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
    engine = get_engine(url)
    if parsed.get_backend_name() != "sqlite":
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(Setting).values(key=BENCH_MARK, value=dt.date.today().isoformat()))
    columnar.CACHE.forget(engine)
    columnar.use_fast_path(engine)  # as the dashboard and the CLI count
    return engine


def _load(url: str, n: int, years: int, folder: Path, imports: int = 1, shape: str = "province") -> dict[str, Any]:
    """Generate the province, write its CSV and import it ``imports`` times into a fresh schema.

    Per import: rows per second (validation included, from the file to the commit) and the first
    ``compute_stats`` calls right after it, province then one agency — the cold figures a director
    sees after an officer's import (no columnar copy yet: it starts building in the background).
    Each figure is the median over the imports; the last import stays for what follows.
    """
    from tthc_core.importer import import_file

    province = generate(n, years=years, end=END, shape=shape)
    procedures_csv, dossiers_csv = write_csv(province, folder)
    del province
    seconds, cold_province, cold_agency = [], [], []
    for _ in range(imports):
        engine = _fresh(url)
        with engine.begin() as conn:
            for a in agencies(shape).itertuples():
                ensure_agency(conn, a.code, a.name, a.level)
        result = import_file(url, procedures_csv, kind="procedures")
        if result.problems:
            raise RuntimeError(result.problems[0].text())
        start = time.perf_counter()
        result = import_file(url, dossiers_csv, kind="dossiers")
        seconds.append(time.perf_counter() - start)
        if result.problems or not result.written or result.added != n:
            raise RuntimeError(result.problems[0].text() if result.problems else "import wrote nothing")
        start = time.perf_counter()
        stats.compute_stats(url, QUARTER)
        cold_province.append(time.perf_counter() - start)
        start = time.perf_counter()
        stats.compute_stats(url, QUARTER, agency=AGENCY)
        cold_agency.append(time.perf_counter() - start)
        _await_copy(engine)  # the background build the first call started, before the next import or timing
    median = statistics.median(seconds)
    return {"rows": n, "imports": imports, "import_s": median, "rows_per_s": n / median,
            "import_s_each": seconds, "cold_after_import_province": statistics.median(cold_province),
            "cold_after_import_agency": statistics.median(cold_agency)}


def _await_copy(engine: Engine) -> None:
    """Wait for the columnar copy as the dashboard gets it: built in the background (a child process)."""
    deadline = time.monotonic() + 3600
    with engine.connect() as conn:
        while columnar.snapshot(conn) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the columnar copy was not built within an hour")
            time.sleep(0.1)


def _stats_timings(url: str, runs: int) -> dict[str, float]:
    """Cold (SQL path), cold in a new process with the sidecar, and warm, for province and agency."""
    engine = columnar.use_fast_path(url, enabled=False)
    out: dict[str, float] = {}
    try:
        out["cold_sql_province"] = median_time(lambda: stats.compute_stats(url, QUARTER), runs)
        out["cold_sql_agency"] = median_time(lambda: stats.compute_stats(url, QUARTER, agency=AGENCY), runs)
    finally:
        columnar.use_fast_path(engine)
    # Built from scratch and timed here (the import's own build ran in the background).
    columnar.CACHE.forget(engine)
    sidecar = columnar.sidecar_path(engine)
    if sidecar is not None:
        sidecar.unlink(missing_ok=True)
    columnar.LAST_BUILD.clear()
    start = time.perf_counter()
    _await_copy(engine)
    out["columnar_build_s"] = time.perf_counter() - start
    while "peak_mb" not in columnar.LAST_BUILD and time.perf_counter() - start < 3600:
        time.sleep(0.05)  # a SQLite copy is read from its sidecar before the child has reported
    out["columnar_build_peak_mb"] = columnar.LAST_BUILD.get("peak_mb", 0.0)
    out["cold_process_province"] = statistics.median(_cold_process(url, None) for _ in range(runs))
    out["cold_process_agency"] = statistics.median(_cold_process(url, AGENCY) for _ in range(runs))
    stats.compute_stats(url, QUARTER)
    out["warm_province"] = median_time(lambda: stats.compute_stats(url, QUARTER), runs)
    out["warm_agency"] = median_time(lambda: stats.compute_stats(url, QUARTER, agency=AGENCY), runs)
    return out


_COLD = """
import sys, time, json
from tthc_core import columnar, stats
url, agency = sys.argv[1], sys.argv[2] or None
start = time.perf_counter()
columnar.use_fast_path(url, build=False)  # as the CLI: a valid sidecar is read by this first call
stats.compute_stats(url, %r, agency=agency)
print(json.dumps(time.perf_counter() - start))
""" % QUARTER


def _cold_process(url: str, agency: str | None) -> float:
    """First call in a new process (engine, sidecar load, query), timed inside that process."""
    out = subprocess.run([sys.executable, "-c", _COLD, url, agency or ""], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _duckdb(url: str, runs: int) -> dict[str, float]:
    """The same II.06a aggregation by field, by DuckDB over the same rows held in memory."""
    import duckdb
    import pandas as pd

    engine = get_engine(url)
    with engine.connect() as conn:
        snap = columnar.snapshot(conn, wait=True)
        period = stats.parse_period(QUARTER)
        start, cutoff = counting.bounds(period)
        judged = counting.overdue_moment(period)
    frame = pd.DataFrame({k: getattr(snap, k) for k in ("received", "resolved", "due", "agency", "field",
                                                        "channel", "status", "resolution")})
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE d AS SELECT * FROM frame")
    con.unregister("frame")
    s, c, j = counting.to_us(start), counting.to_us(cutoff), counting.to_us(judged)
    with engine.connect() as conn:
        agency_id = conn.scalar(select(Agency.id).where(Agency.code == AGENCY))

    def query(agency: int | None) -> list:
        where = f"received < {c} AND resolved >= {s}" + (f" AND agency = {agency}" if agency else "")
        new, res = f"received >= {s}", f"resolved < {c}"
        in_time = f"(status = 3 OR due >= {j} OR due = {j - counting.DAY_US})"  # counting._column_in_time
        return con.execute(f"""
            SELECT field, count(*),
              count(*) FILTER ({new} AND channel = 0), count(*) FILTER ({new} AND channel <> 0),
              count(*) FILTER ({new} AND channel = 2), count(*) FILTER (NOT ({new})),
              count(*) FILTER ({res}), count(*) FILTER ({res} AND resolution = 1),
              count(*) FILTER ({res} AND resolution = 2), count(*) FILTER ({res} AND resolution = 3),
              count(*) FILTER (NOT ({res})), count(*) FILTER (NOT ({res}) AND {in_time}),
              count(*) FILTER (NOT ({res}) AND NOT {in_time})
            FROM d WHERE {where} GROUP BY field""").fetchall()

    ours = stats.compute_stats(url, QUARTER)["dossiers"]["total"]
    theirs = query(None)
    assert sum(r[1] for r in theirs) == ours["received_total"], "DuckDB and tthc_core disagree"
    query(None)
    return {"duckdb_province": median_time(lambda: query(None), runs),
            "duckdb_agency": median_time(lambda: query(agency_id), runs)}


def _exports(url: str, runs: int, folder: Path) -> dict[str, float]:
    from tthc_core.exports import write_workbook
    from tthc_core.reports import build_report

    # The report object (figures, checks, the 766 index) and the file, as the officer's download builds them.
    return {"workbook_agency": median_time(lambda: write_workbook(build_report(url, QUARTER, agency=AGENCY),
                                                              folder / "a.xlsx"), runs),
            "workbook_province": median_time(lambda: write_workbook(build_report(url, QUARTER), folder / "p.xlsx"), runs)}


_APPTEST = """
import json, os, sys, time, resource
from streamlit.testing.v1 import AppTest
pages = sys.argv[1:]
times = []
for i in range(int(os.environ["BENCH_RUNS"]) + 1):
    at = AppTest.from_file("dashboard.py", default_timeout=600)
    at.query_params.update({"period": %r, "mode": "report", "agency": "all"})
    start = time.perf_counter()
    at.run()
    times.append(time.perf_counter() - start)
    assert not at.exception, at.exception
# Every page, once the columnar copy this process keeps is ready (its memory counts too).
from tthc_core import columnar
from bench.run import _await_copy
from tthc_core.db import get_engine
_await_copy(get_engine(os.environ["TTHC_DATABASE_URL"]))
for page in pages:
    at.switch_page(page).run()
    assert not at.exception, (page, at.exception)
# The peak of this process's own memory (VmHWM). Not getrusage's ru_maxrss, which Linux carries over
# from the parent across fork and exec (here the bench process, gigabytes after its import).
rss_mb = columnar.peak_memory_mb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first": times[0], "warm": sorted(times[1:])[len(times[1:]) // 2], "rss_mb": rss_mb}))
""" % QUARTER


def _apptest(url: str, runs: int) -> dict[str, float]:
    """The overview rendered by AppTest in a dashboard process of its own; that process's peak memory."""
    pages = sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "pages").glob("*.py"))
    env = dict(os.environ, TTHC_DATABASE_URL=url, BENCH_RUNS=str(runs), TTHC_BACKGROUND_COPY="1")
    out = subprocess.run([sys.executable, "-c", _APPTEST, *pages], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "AppTest failed")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"overview_first": result["first"], "overview_warm": result["warm"], "dashboard_rss_mb": result["rss_mb"]}


def machine() -> dict[str, str]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": f"{mem:.0f} GiB", "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "system": platform.platform()}


def run(db: str | None = None, dossiers: int = 2_000_000, runs: int = 5, long_years: int = 10,
        out: Path | None = None, log: Callable[[str], None] = print, shape: str = "province",
        note: str = "") -> dict[str, Any]:
    """Run every measurement on the province of ``shape`` (bench.synthetic.SHAPES); write
    ``bench/results.md`` (or ``out``), ``note`` (e.g. the machine's load) beside the figures; return them."""
    if db:
        check_target(db)  # before an hour of work, not after
    work = Path(tempfile.mkdtemp(prefix="tthc-bench-"))
    url3 = db or f"sqlite:///{work}/bench-3y.db"
    url10 = db or f"sqlite:///{work}/bench-10y.db"
    results: dict[str, Any] = {"dossiers": dossiers, "runs": runs, "engine": make_url(url3).get_backend_name(),
                               "shape": shape, "note": note, "machine": machine(), "date": dt.date.today().isoformat()}
    try:
        log(f"3 năm, {dossiers:,} hồ sơ: tạo và nhập…")
        results["import"] = _load(url3, dossiers, 3, work / "csv3", imports=min(runs, 3), shape=shape)
        log(f"  nhập: {results['import']['rows_per_s']:,.0f} dòng/giây")
        results["stats3"] = _stats_timings(url3, runs)
        log(f"  thống kê quý: {json.dumps(results['stats3'])}")
        results["duckdb"] = _duckdb(url3, runs)
        log(f"  DuckDB: {json.dumps(results['duckdb'])}")
        results["exports"] = _exports(url3, runs, work)
        log(f"  xuất Excel: {json.dumps(results['exports'])}")
        results["apptest"] = _apptest(url3, runs)
        log(f"  AppTest: {json.dumps(results['apptest'])}")
        if results["engine"] == "sqlite":  # issue 10's target is SQLite's; the step always measures SQLite
            results["national"] = national.step(dossiers, work / "national", log, rounds=runs)
        results["index766"] = index766.measure(url3, runs, log)  # last: it adds the 766 fields to the rows
        if long_years:
            n_long = dossiers * long_years // 3
            results["long_years"] = long_years
            log(f"{long_years} năm, {n_long:,} hồ sơ: tạo và nhập…")
            results["import_long"] = _load(url10, n_long, long_years, work / "csv10", shape=shape)
            results["stats_long"] = _stats_timings(url10, runs)
            log(f"  thống kê quý: {json.dumps(results['stats_long'])}")
    finally:
        for url in {url3, url10}:
            dispose_engine(url)
        shutil.rmtree(work, ignore_errors=True)
    target = out or PROJECT_ROOT / "bench" / "results.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_results(target, results)
    log(f"Đã ghi {target}")
    return results


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


ENGINES = {"sqlite": "SQLite, the embedded default", "postgresql": "PostgreSQL"}
SHAPE_LABELS = {"province": "", "long-open": " — long-open shape (5 % never closed, long tail of late ones)"}


def section(r: dict[str, Any]) -> str:
    """The results' section key: the engine, and the shape when it is not the default province."""
    shape = r.get("shape", "province")
    return r["engine"] if shape == "province" else f"{r['engine']}_{shape.replace('-', '_')}"


def title(r: dict[str, Any]) -> str:
    return ENGINES.get(r["engine"], r["engine"]) + SHAPE_LABELS.get(r.get("shape", "province"), "")
_SECTION = re.compile(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->", re.S)
_RAW = re.compile(r"```json\n(.*?)\n```", re.S)


def write_results(target: Path, results: dict[str, Any]) -> None:
    """Write ``results`` into ``target``, keeping the other engines' and shapes' sections already there,
    with a side-by-side table of the key figures when there are several."""
    runs: dict[str, dict[str, Any]] = {}
    if target.exists():
        for key, body in _SECTION.findall(target.read_text(encoding="utf-8")):
            raw = _RAW.search(body)
            if raw and key != section(results):
                runs[key] = json.loads(raw.group(1))
    runs[section(results)] = results
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(document(runs), encoding="utf-8")


def document(runs: dict[str, dict[str, Any]]) -> str:
    """``bench/results.md``: how it was run, the engines side by side, then each engine's section."""
    ordered = sorted(runs.values(), key=lambda r: (list(SHAPE_LABELS).index(r.get("shape", "province"))
                                                   if r.get("shape", "province") in SHAPE_LABELS else 9,
                                                   list(ENGINES).index(r["engine"]) if r["engine"] in ENGINES else 9,
                                                   r["engine"]))
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench` (SQLite, the embedded default) and `python -m bench "
        "--db postgresql://…` (PostgreSQL), on a deterministic synthetic province (bench/synthetic.py) of "
        "the default shape or `--shape long-open`. Each engine and shape keeps its own section; running one "
        "again replaces only its section.",
        "",
    ]
    lines += ["## Targets (issue 16), per shape and engine", "",
              "Each cell: the measurement and whether it meets the target (— where the target does not apply "
              "or the run did not measure it). The import target is set for the embedded SQLite default; a "
              "server has no sidecar file, so its first call in a new process goes down the SQL path.", "",
              "| target | " + " | ".join(title(r) for r in ordered) + " |", "|---|" + "---|" * len(ordered)]
    for name, check in TARGETS:
        cells = []
        for r in ordered:
            try:
                value, met = check(r)
            except (KeyError, ZeroDivisionError):
                value, met = "—", None
            cells.append(value + ("" if met is None else (" — yes" if met else " — **no**")))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    if len(ordered) > 1:
        lines += ["## Side by side", "", "| measure | " + " | ".join(title(r) for r in ordered) + " |",
                  "|---|" + "---|" * len(ordered)]
        for name, value in _KEY_FIGURES:
            cells = []
            for r in ordered:
                try:
                    cells.append(value(r))
                except (KeyError, ZeroDivisionError):
                    cells.append("—")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    for r in ordered:
        lines += [f"<!-- bench:{section(r)} -->", report(r), f"<!-- /bench:{section(r)} -->", ""]
    return "\n".join(lines)


def _sqlite_only(r: dict[str, Any], met: bool) -> bool | None:
    return met if r["engine"] == "sqlite" else None


def _ratio_long(r: dict[str, Any], key: str) -> tuple[str, bool]:
    ratio = r["stats_long"][key] / r["stats3"][key]
    return f"{ratio:.2f} ({_ms(r['stats3'][key])} → {_ms(r['stats_long'][key])})", ratio <= 1.5


# Issue 16's targets: (name, run → (value, met; None where the target does not apply)).
TARGETS: list[tuple[str, Callable[[dict[str, Any]], tuple[str, bool | None]]]] = [
    ("the run: dossiers over 3 years, date", lambda r: (f"{r['dossiers']:,}, {r['date']}", None)),
    ("import ≥ 100.000 rows/s (CSV; embedded SQLite)",
     lambda r: (f"{r['import']['rows_per_s']:,.0f} rows/s", _sqlite_only(r, r["import"]["rows_per_s"] >= 100_000))),
    ("first call after an import < 1 s (province)",
     lambda r: (_ms(r["import"]["cold_after_import_province"]), r["import"]["cold_after_import_province"] < 1)),
    ("first call in a new process < 0,3 s, valid sidecar (province)",
     lambda r: (_ms(r["stats3"]["cold_process_province"]),
                _sqlite_only(r, r["stats3"]["cold_process_province"] < 0.3))),
    ("warm ≤ 2 × DuckDB (province)",
     lambda r: (f"{r['stats3']['warm_province'] / r['duckdb']['duckdb_province']:.2f} ×",
                r["stats3"]["warm_province"] <= 2 * r["duckdb"]["duckdb_province"])),
    ("10-year / 3-year ≤ 1,5, SQL path (province)", lambda r: _ratio_long(r, "cold_sql_province")),
    ("10-year / 3-year ≤ 1,5, warm (province)", lambda r: _ratio_long(r, "warm_province")),
]

_KEY_FIGURES: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("dossiers (3 years)", lambda r: f"{r['dossiers']:,}"),
    ("import, rows/s", lambda r: f"{r['import']['rows_per_s']:,.0f}"),
    ("quarter, province, first call after the import", lambda r: _ms(r["import"]["cold_after_import_province"])),
    ("quarter, province, SQL path", lambda r: _ms(r["stats3"]["cold_sql_province"])),
    ("quarter, one agency, SQL path", lambda r: _ms(r["stats3"]["cold_sql_agency"])),
    ("quarter, province, warm", lambda r: _ms(r["stats3"]["warm_province"])),
    ("ratio to DuckDB, province, warm", lambda r: f"{r['stats3']['warm_province'] / r['duckdb']['duckdb_province']:.2f}"),
    ("long history / 3 years, SQL path, province",
     lambda r: f"{r['stats_long']['cold_sql_province'] / r['stats3']['cold_sql_province']:.2f}"),
    ("workbook export, province", lambda r: _ms(r["exports"]["workbook_province"])),
    ("overview page, AppTest, warm", lambda r: _ms(r["apptest"]["overview_warm"])),
    ("dashboard peak memory", lambda r: f"{r['apptest']['dashboard_rss_mb']:,.0f} MB"),
]


def report(r: dict[str, Any]) -> str:
    """One engine's results as Markdown, each target beside its measurement."""
    s3, duck = r["stats3"], r["duckdb"]
    lines = [
        f"## {title(r)}: {r['dossiers']:,} dossiers",
        "",
        f"Run on {r['date']} with `python -m bench --dossiers {r['dossiers']}"
        + ("" if r.get("shape", "province") == "province" else f" --shape {r['shape']}")
        + ("" if r["engine"] == "sqlite" else " --db <URL>") + f"`; each figure is the median "
        f"of {r['runs']} runs unless it says otherwise. Quarter: {QUARTER} (report mode), by field.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in r["machine"].items()),
        "",
        *([f"Note: {r['note']}", ""] if r.get("note") else []),
        *([] if r["engine"] == "sqlite" else [
            "The targets are set for the embedded default; they are shown here for comparison.", ""]),
        "| measure | result | target | met |",
        "|---|---|---|---|",
    ]

    def row(name: str, value: str, target: str, met: bool | None) -> None:
        lines.append(f"| {name} | {value} | {target} | {'—' if met is None else ('yes' if met else '**no**')} |")

    imp = r["import"]
    each = ", ".join(f"{t:.1f}" for t in imp.get("import_s_each", [imp["import_s"]]))
    row(f"import, canonical CSV, validation included (median of {imp.get('imports', 1)}: {each} s)",
        f"{imp['rows_per_s']:,.0f} rows/s ({imp['import_s']:.1f} s)", "≥ 100,000 rows/s", imp["rows_per_s"] >= 100_000)
    if "cold_after_import_province" in imp:
        row("quarter stats, province, cold: first call after the import",
            _ms(imp["cold_after_import_province"]), "< 1 s", imp["cold_after_import_province"] < 1)
        row("quarter stats, one agency, cold: first call after the import",
            _ms(imp["cold_after_import_agency"]), "< 1 s", imp["cold_after_import_agency"] < 1)
    row("quarter stats, province, warm", _ms(s3["warm_province"]), f"≤ 2 × DuckDB ({_ms(2 * duck['duckdb_province'])})",
        s3["warm_province"] <= 2 * duck["duckdb_province"])
    row("quarter stats, one agency, warm", _ms(s3["warm_agency"]), f"≤ 2 × DuckDB ({_ms(2 * duck['duckdb_agency'])})",
        s3["warm_agency"] <= 2 * duck["duckdb_agency"])
    row("DuckDB, province / one agency", f"{_ms(duck['duckdb_province'])} / {_ms(duck['duckdb_agency'])}", "", None)
    row("ratio ours / DuckDB, province", f"{s3['warm_province'] / duck['duckdb_province']:.2f}", "≤ 2",
        s3["warm_province"] <= 2 * duck["duckdb_province"])
    row("quarter stats, province, cold, new process " + ("with the columnar sidecar" if r["engine"] == "sqlite"
                                                          else "(no sidecar for a server: the SQL path)"),
        *((_ms(s3["cold_process_province"]), "< 0,3 s", s3["cold_process_province"] < 0.3) if r["engine"] == "sqlite"
          else (_ms(s3["cold_process_province"]), "< 1 s", s3["cold_process_province"] < 1)))
    row("quarter stats, one agency, cold, new process",
        *((_ms(s3["cold_process_agency"]), "< 0,3 s", s3["cold_process_agency"] < 0.3) if r["engine"] == "sqlite"
          else (_ms(s3["cold_process_agency"]), "< 1 s", s3["cold_process_agency"] < 1)))
    row("quarter stats, province, SQL path (before the copy exists)", _ms(s3["cold_sql_province"]), "< 1 s",
        s3["cold_sql_province"] < 1)
    row("quarter stats, one agency, SQL path", _ms(s3["cold_sql_agency"]), "< 1 s", s3["cold_sql_agency"] < 1)
    row("building the columnar copy, in a background process (one run; its peak memory)",
        f"{s3['columnar_build_s']:.1f} s ({s3.get('columnar_build_peak_mb', 0):,.0f} MB)", "", None)
    if "stats_long" in r:
        long_ = r["stats_long"]
        ratio = long_["warm_province"] / s3["warm_province"]
        years = r.get("long_years", 10)
        row(f"{years}-year history / 3-year, warm, province", f"{ratio:.2f} ({_ms(long_['warm_province'])})", "≤ 1,5",
            ratio <= 1.5)
        ratio_sql = long_["cold_sql_province"] / s3["cold_sql_province"]
        row(f"{years}-year history / 3-year, SQL path, province", f"{ratio_sql:.2f} ({_ms(long_['cold_sql_province'])})",
            "≤ 1,5", ratio_sql <= 1.5)
        ratio_agency = long_["cold_sql_agency"] / s3["cold_sql_agency"]
        row(f"{years}-year history / 3-year, SQL path, one agency",
            f"{ratio_agency:.2f} ({_ms(long_['cold_sql_agency'])})", "", None)
        row(f"{years}-year import (one run)", f"{r['import_long']['rows_per_s']:,.0f} rows/s", "", None)
    ex = r["exports"]
    row("workbook export, one agency / province", f"{_ms(ex['workbook_agency'])} / {_ms(ex['workbook_province'])}",
        "< 2 s", max(ex.values()) < 2)
    ap = r["apptest"]
    row("overview page, AppTest, warm", _ms(ap["overview_warm"]), "< 1 s", ap["overview_warm"] < 1)
    row("overview page, AppTest, first render in a new process", _ms(ap["overview_first"]), "", None)
    row("dashboard process peak memory (AppTest, every page)", f"{ap['dashboard_rss_mb']:,.0f} MB", "< 1,5 GB",
        ap["dashboard_rss_mb"] < 1536)
    for name, value, target, met in national.rows(r) + index766.rows(r):
        row(name, value, target, met)
    lines += ["", "Raw numbers (seconds):", "", "```json", json.dumps(r, indent=2, default=str), "```"]
    return "\n".join(lines)
