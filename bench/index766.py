"""The QĐ 766 index in the benchmark (issue 11): ``qd766.compute_index`` for the whole province, one
calendar quarter, cold and warm, against DuckDB doing the same aggregation over the same rows.

The synthetic province (bench/synthetic.py) carries only the II.06a columns; :func:`enrich` gives its
dossiers and procedures the national sync record's fields the index reads (status code, sync flag,
fees and online payment, components, e-results, VNeID, supplement rounds) and a few PAKN, drawn
deterministically from the row ids, so both engines get the same data.

- cold: the first call in a new process (engine, rules, calendar, queries), timed inside it;
- warm: the median of repeated calls in one process with unchanged data;
- DuckDB: the index's dossier-level numerators and denominators (the one pass over the period's
  dossiers, 2.1's supplement rounds judged in SQL) over the same rows held in memory; checked equal
  to ours before it is timed.

``python -m bench.index766 [--db URL] [--dossiers N]`` runs this step alone on a fresh synthetic
province (SQLite in a temporary folder by default).
"""
from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

from sqlalchemy import BigInteger, Engine, and_, case, cast, func, insert, literal_column, select, update

from tthc_core import qd766
from tthc_core.db import PROJECT_ROOT, bump_data_version, get_engine
from tthc_core.models import Agency, Dossier, Feedback, Procedure, SupplementRound

from .timing import median_time

PERIOD = "2026-Q2"  # calendar quarter 01/04–30/06/2026, the last of the synthetic history
COLD_TARGET_S = 1.0
WARM_RATIO_TARGET = 2.0


def _h(column, prime: int, modulo: int = 1000):
    """A deterministic pseudo-random integer in [0, modulo) from an integer column."""
    return (cast(column, BigInteger) * literal_column(str(prime))) % modulo


def enrich(url: str | Engine, seed_note: str = "") -> dict[str, int]:
    """Give the synthetic province the fields QĐ 766 reads; returns how many rows got what."""
    engine = get_engine(url)
    d, p = Dossier.__table__.c, Procedure.__table__.c
    h1, h2, h3, h4, h5, h6 = (_h(d.id, k) for k in (2654435761, 40503, 97, 2246822519, 3266489917, 668265263))
    online = d.channel == "online"
    resolved = d.resolved_at.is_not(None)
    has_fee = (d.procedure_id % 3) == 0
    components = 1 + (h4 % 4)
    digitised = case((online, components), (h4 < 500, 1), else_=0)
    with engine.begin() as conn:
        conn.execute(update(Procedure.__table__).values(
            has_fee=(p.id % 3) == 0, requires_paper_result=(p.id % 4) == 0,
            applicant_types=case(((p.id % 2) == 0, "citizen"), else_="business")))
        conn.execute(update(Dossier.__table__).values(
            source_status=case((~resolved, 4), ((d.id % 2) == 0, 10), else_=9),
            result_returned_at=case((and_(resolved, (d.id % 2) == 0), d.resolved_at), else_=None),
            submitted_at=d.received_at,
            synced_to_portal=h1 < 900,
            fee_lines=case((has_fee, 1), else_=0),
            fee_total=case((has_fee, case((h2 < 50, 0), else_=50000)), else_=None),
            paid_online_via=case((and_(has_fee, online, h2 < 700), case((h2 < 500, "dvcqg"), else_="local_gateway")),
                                 else_=None),
            e_results=case((and_(resolved, h3 < 550), 1), else_=0),
            components=components, components_digitised=digitised, has_digitised_components=digitised > 0,
            components_from_store=case((and_(online, h5 < 100), 1), else_=0),
            vneid_authenticated=and_(online, h5 < 800),
            db_connections=case((and_(online, h6 < 600), "7"), else_=None),
            filed_on_national_portal=and_(online, h6 < 350),
        ))
        # Supplement rounds on about 2 % of the dossiers (0,3 % with two), some still open.
        h7 = _h(d.id, 2147483647)
        chosen = conn.execute(select(d.id, d.received_at, d.due_at, d.resolved_at, h7.label("h"))
                              .where(h7 < 20, d.due_at.is_not(None))).all()
        rounds, counts = [], {}
        day = dt.timedelta(days=1)
        for r in chosen:
            first = r.received_at + day
            second = first + 4 * day
            open_last = r.resolved_at is None and r.h % 2 == 0
            plan = [(first, first + 2 * day)]
            if r.h < 3:
                plan.append((second, None if open_last else second + 1 * day))
            elif open_last:
                plan = [(first, None)]
            for n, (requested, supplied) in enumerate(plan, 1):
                rounds.append({"dossier_id": r.id, "position": n, "requested_at": requested, "supplied_at": supplied,
                               "due_before": r.due_at - 2 * day, "due_after": r.due_at})
            counts[r.id] = len(plan)
        for start in range(0, len(rounds), 20000):
            conn.execute(insert(SupplementRound.__table__), rounds[start:start + 20000])
        for n in (1, 2):
            ids = [k for k, v in counts.items() if v == n]
            for start in range(0, len(ids), 20000):
                conn.execute(update(Dossier.__table__).where(d.id.in_(ids[start:start + 20000]))
                             .values(supplement_rounds=n))
        # PAKN: one for about every 400 dossiers, a few tied to a dossier (5.4).
        agency_ids = [a for (a,) in conn.execute(select(Agency.id).order_by(Agency.id))]
        sample = conn.execute(select(d.code, d.received_at, d.agency_id).where(_h(d.id, 1000003, 400) == 0)
                              .order_by(d.id)).all()
        feedback = []
        for n, r in enumerate(sample):
            sent = r.received_at + 3 * day
            handled = sent + (n % 25) * day if n % 10 else None
            feedback.append({
                "code": f"PAKN-{n:07d}", "agency_id": r.agency_id if agency_ids else r.agency_id,
                "dossier_code": r.code if n % 3 == 0 else None,
                "classification": "procedure" if n % 2 else "conduct", "sent_at": sent,
                "transferred_at": None, "first_received_at": sent + day if n % 7 else None,
                "rejected_at": handled if n % 13 == 0 else None, "first_supplement_request_at": None,
                "answer_started_at": handled, "published_at": handled + day if handled and n % 4 else None,
                "handled_at": handled, "state": "handled" if handled else "processing",
                "likes": n % 5, "dislikes": n % 3, "follow_up_dissatisfied": n % 17 == 0})
        for start in range(0, len(feedback), 20000):
            conn.execute(insert(Feedback.__table__), feedback[start:start + 20000])
        bump_data_version(conn, dossiers=True)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"rounds": len(rounds), "dossiers_with_rounds": len(counts), "feedback": len(feedback)}


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

_COLD = """
import sys, time, json
start = time.perf_counter()
from tthc_core import columnar, qd766
url, period = sys.argv[1], sys.argv[2]
imported = time.perf_counter()
columnar.use_fast_path(url, build=False)  # as the CLI: a valid sidecar is read by this first call
opened = time.perf_counter()  # the engine and its schema check (create_all, missing columns)
result = qd766.compute_index(url, period, "calendar", ranking=False)
print(json.dumps({"seconds": time.perf_counter() - opened, "engine": opened - imported,
                  "total": str(result["total"])}))
"""


def _cold_process(url: str) -> dict[str, float]:
    """The first call in a new process (rules, calendar, first statements compiled, the copy's file or
    SQL), timed inside it; apart, the opening of the engine before it (the process's schema check)."""
    out = subprocess.run([sys.executable, "-c", _COLD, url, PERIOD], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _duckdb(url: str, runs: int) -> tuple[float, dict[int, dict[str, float]]]:
    """The index's dossier aggregation in DuckDB over the same rows in memory: one GROUP BY agency with
    every numerator and denominator of ``qd766._dossier_conditions`` (2.1 with its supplement rounds
    judged in SQL, qd766.md §3, due basis "current"), and the GROUP BY procedure of 3.2 / 3.5 / 3.5b /
    4.5a. The catalogue walk and the PAKN verdicts (hundreds of rows, Python in ours) are not in it."""
    import duckdb
    import pandas as pd

    from tthc_core import qd766_columns
    from tthc_core.counting import NEVER, to_us
    from tthc_core.periods import parse_period

    engine = get_engine(url)
    p, r = Procedure.__table__.c, SupplementRound.__table__.c
    with engine.connect() as conn:
        snap = qd766_columns.fast_copy(conn, wait=True)
        catalogue = pd.DataFrame(conn.execute(select(p.id, func.coalesce(p.requires_paper_result, False),
                                                     func.coalesce(p.has_fee, False))).all(),
                                 columns=["id", "paper", "fee"])
        rounds = pd.DataFrame(conn.execute(select(r.dossier_id, r.requested_at, r.supplied_at, r.due_before)).all(),
                              columns=["dossier", "requested", "supplied", "due_before"])
        pakn = pd.DataFrame({"id": qd766_columns._pakn_ids(conn)})
    frame = pd.DataFrame({k: getattr(snap, k) for k in ("id", "received", "resolved", "due", "deadline", "end",
                                                        "agency", "procedure", "rounds", "flags")})
    for column in ("requested", "supplied", "due_before"):
        rounds[column] = pd.to_datetime(rounds[column]).to_numpy(dtype="datetime64[us]").astype("int64")
        rounds.loc[pd.isna(pd.to_datetime(rounds[column])) | (rounds[column] < -2 ** 62), column] = NEVER
    con = duckdb.connect()
    # end: processed, else result returned, else refused (the copy holds their COALESCE)
    stamps = ", ".join(f'NULLIF("{k}", {NEVER}) AS "{k}"' for k in ("received", "resolved", "due", "deadline", "end"))
    for name, df in (("frame", frame), ("rounds_frame", rounds), ("catalogue", catalogue), ("pakn_frame", pakn)):
        con.register(name, df)
    con.execute(f"CREATE TABLE d AS SELECT id, {stamps}, agency, procedure, rounds, flags FROM frame")
    con.execute(f"CREATE TABLE r AS SELECT dossier, requested, NULLIF(supplied, {NEVER}) AS supplied, "
                f"NULLIF(due_before, {NEVER}) AS due_before FROM rounds_frame")
    con.execute("CREATE TABLE p AS SELECT * FROM catalogue")
    con.execute("CREATE TABLE k AS SELECT * FROM pakn_frame")
    for name in ("frame", "rounds_frame", "catalogue", "pakn_frame"):
        con.unregister(name)
    b = qd766._bounds(parse_period(PERIOD, "calendar"), None)
    s, c, cutoff, day = to_us(b.start), to_us(b.c), to_us(b.cutoff), 86_400_000_000
    bit = {k: f"(flags & {v} <> 0)" for k, v in qd766_columns.BITS.items()}
    recv = f"received >= {s}"
    paper, fee = "coalesce(p.paper, false)", "coalesce(p.fee, false)"
    fee_den = f"{recv} AND {fee} AND NOT {bit['fee_out']}"
    digit = f"CASE WHEN {bit['portal_filed']} THEN {bit['digitised']} ELSE {bit['digit_true']} END"
    # 2.1 (§3): T, the supplement time and the due date in force at C; a 00:00 due date is the day's end
    on21 = (f"(CASE WHEN NOT ended AND n_open > 0 AND n_req > 1 THEN false "
            f"ELSE (t - sup <= due_now OR (due_now % {day} = 0 AND t - sup < due_now + {day})) END)")
    conditions = {
        "recv": recv, "records": f"{recv} AND {bit['records']}", "sync_known": f"{recv} AND {bit['sync_known']}",
        "synced": f"{recv} AND {bit['synced']}",
        "online_ok": f"{recv} AND {bit['online']} AND (NOT {paper} OR {bit['eres']})",
        "online_no_eres": f"{recv} AND {bit['online']} AND {paper} AND NOT {bit['eres']}",
        "fee_den": fee_den, "paid": f"{fee_den} AND {bit['paid']}", "paper": f"{recv} AND {paper}",
        "paper_eres": f"{recv} AND {paper} AND {bit['eres']}",
        "comp_ok": f"{recv} AND {bit['components']} AND (NOT {paper} OR {bit['eres']})",
        "digit_den": f"{recv} AND ({bit['digit_known']} OR {bit['portal_filed']})", "digit": f"{recv} AND {digit}",
        "store": f"{recv} AND {bit['store']}", "pop": f"{recv} AND {bit['pop']}", "den21": "true",
        "simple21": "rounds = 0 AND due IS NOT NULL", "on21": f"due_now IS NOT NULL AND {on21}",
        "at_risk21": f"rounds = 0 AND due IS NOT NULL AND {on21} AND NOT ended AND deadline <= {cutoff}",
        "pakn54": "d.id IN (SELECT id FROM k)",
        "ended22": f"{recv} AND {bit['normal']} AND resolved IS NOT NULL AND resolved <= {c}",
    }
    counts = ",\n".join(f"count(*) FILTER ({cond}) AS {key}" for key, cond in conditions.items())
    main = f"""
        WITH rr AS (
            SELECT dossier, count(*) AS n_req,
                   count(*) FILTER (supplied IS NULL OR supplied > {c}) AS n_open,
                   coalesce(sum(supplied - requested) FILTER (supplied <= {c}), 0) AS sup,
                   min(requested) FILTER (supplied IS NULL OR supplied > {c}) AS open_at,
                   arg_min(due_before, requested) FILTER (supplied IS NULL OR supplied > {c}) AS open_due
            FROM r WHERE requested <= {c} GROUP BY dossier),
        base AS (
            SELECT d.*, "end" AS end_at FROM d
            WHERE received <= {c} AND ("end" IS NULL OR "end" >= {s})),
        judged AS (
            SELECT base.*, end_at IS NOT NULL AND end_at <= {c} AS ended,
                   coalesce(n_req, 0) AS n_req, coalesce(n_open, 0) AS n_open, coalesce(sup, 0) AS sup,
                   CASE WHEN end_at IS NOT NULL AND end_at <= {c} THEN end_at
                        WHEN coalesce(n_open, 0) > 0 THEN open_at ELSE {c} END AS t,
                   CASE WHEN coalesce(n_open, 0) > 0 AND open_due IS NOT NULL THEN open_due ELSE due END AS due_now
            FROM base LEFT JOIN rr ON rr.dossier = base.id)
        SELECT agency, {counts},
               coalesce(sum((resolved - received) / {day}::DOUBLE) FILTER ({conditions['ended22']}), 0) AS days22
        FROM judged d LEFT JOIN p ON p.id = d.procedure GROUP BY agency"""
    usage = f"""
        SELECT procedure, count(*), bool_or({bit['online']}), bool_or({bit['fee_positive']}),
               bool_or({bit['paid']}), bool_or({bit['pop']})
        FROM d WHERE received >= {s} AND received <= {c} AND procedure >= 0 GROUP BY procedure"""

    def query() -> list:
        con.execute(usage).fetchall()
        return con.execute(main).fetchall()

    names = [*conditions, "days22"]
    found = {row[0]: dict(zip(names, row[1:])) for row in query()}
    return median_time(query, runs), found


def measure(url: str, runs: int = 5, log: Callable[[str], None] = print, enriched: bool = False) -> dict[str, Any]:
    """Cold, warm, DuckDB and the ratio for the whole province's quarter index on the database at ``url``
    (the synthetic province of bench.run; enriched here unless ``enriched``)."""
    from tthc_core import columnar, qd766_columns

    out: dict[str, Any] = {"period": PERIOD}
    if not enriched:
        start = time.perf_counter()
        out["enrich"] = enrich(url)
        out["enrich_s"] = time.perf_counter() - start
    engine = columnar.use_fast_path(url, enabled=False)
    # The SQL path (no copy yet: right after an import, or a library call).
    start = time.perf_counter()
    sql_result = qd766.compute_index(url, PERIOD, "calendar", ranking=False)
    out["sql_first_s"] = time.perf_counter() - start
    out["sql_s"] = median_time(lambda: qd766.compute_index(url, PERIOD, "calendar", ranking=False), runs)
    # The copy, built once (the dashboard builds it in the background after an import).
    columnar.use_fast_path(engine, build=True)
    qd766_columns.CACHE.forget(engine)
    sidecar = qd766_columns.sidecar_path(engine)
    if sidecar is not None:
        sidecar.unlink(missing_ok=True)
    start = time.perf_counter()
    with engine.connect() as conn:
        snap = qd766_columns.fast_copy(conn, wait=True)
    out["copy_build_s"] = time.perf_counter() - start
    fast_result = qd766.compute_index(url, PERIOD, "calendar", ranking=False)
    if fast_result != sql_result:
        raise RuntimeError("the column form and the SQL form of the 766 index disagree")
    out["total"] = str(sql_result["total"])
    colds = [_cold_process(url) for _ in range(runs)]
    out["cold_s"] = statistics.median(c["seconds"] for c in colds)
    out["cold_engine_s"] = statistics.median(c["engine"] for c in colds)
    out["warm_s"] = median_time(lambda: qd766.compute_index(url, PERIOD, "calendar", ranking=False), runs)
    out["duckdb_s"], theirs = _duckdb(url, runs)
    with engine.connect() as conn:
        facts = qd766.gather(conn, qd766._as_calendar(PERIOD, "calendar"), None, None)
    for agency_id, counts in facts.dossiers.items():
        for key in (*qd766.DOSSIER_KEYS,):
            if counts[key] != theirs.get(agency_id, {}).get(key, 0):
                raise RuntimeError(f"DuckDB and tthc_core disagree on {key} for agency {agency_id}: "
                                   f"{theirs.get(agency_id, {}).get(key)} against {counts[key]}")
    out["ratio"] = out["warm_s"] / out["duckdb_s"]
    out["rows"] = len(snap) if snap is not None else None
    if engine.dialect.name != "sqlite" and sidecar is not None:
        qd766_columns.CACHE.forget(engine)
        sidecar.unlink(missing_ok=True)  # a server's copy file lives in the user's cache directory
    log(f"  chỉ số 766: {json.dumps(out, default=str)}")
    return out


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """The results table's rows: (measure, result, target, met)."""
    x = r.get("index766")
    if not x:
        return []
    sqlite = r.get("engine") == "sqlite"

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms"

    return [
        (f"766 index, province, {x['period']} (calendar), cold: first call in a new process "
         + ("(the columnar sidecar)" if sqlite else "(the copy's file in the cache directory)"),
         ms(x["cold_s"]), "< 1 s", x["cold_s"] < COLD_TARGET_S),
        ("766 index, that process's engine opening before the call (schema check), apart",
         ms(x["cold_engine_s"]) if "cold_engine_s" in x else "—", "", None),
        ("766 index, province, warm", ms(x["warm_s"]), f"≤ 2 × DuckDB ({ms(WARM_RATIO_TARGET * x['duckdb_s'])})",
         x["warm_s"] <= WARM_RATIO_TARGET * x["duckdb_s"]),
        ("766 index, DuckDB, the same dossier aggregation", ms(x["duckdb_s"]), "", None),
        ("766 index, ratio ours / DuckDB", f"{x['ratio']:.2f}", "≤ 2", x["ratio"] <= WARM_RATIO_TARGET),
        ("766 index, SQL path (before the copy exists), first / repeated", f"{ms(x['sql_first_s'])} / {ms(x['sql_s'])}",
         "", None),
        ("766 index, building its columnar copy (one run)", f"{x['copy_build_s']:.1f} s", "", None),
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.index766 [--db URL] [--dossiers N] [--runs N]``: this step alone."""
    import argparse
    import shutil
    import tempfile
    from pathlib import Path

    from . import run as bench_run

    parser = argparse.ArgumentParser(prog="python -m bench.index766")
    parser.add_argument("--db")
    parser.add_argument("--dossiers", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse the database at --db as it is (already built)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tthc-bench766-"))
    url = args.db or f"sqlite:///{work}/bench-766.db"
    try:
        if not args.keep:
            bench_run._load(url, args.dossiers, 3, work / "csv", imports=1)
        result = {"engine": get_engine(url).dialect.name, "dossiers": args.dossiers,
                  "index766": measure(url, args.runs, enriched=args.keep)}
        for name, value, target, met in rows(result):
            print(f"| {name} | {value} | {target} | {'—' if met is None else ('yes' if met else 'no')} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
