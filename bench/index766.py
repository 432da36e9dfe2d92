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

from sqlalchemy import Engine, and_, case, func, insert, literal_column, or_, select, update

from tthc_core import qd766
from tthc_core.db import PROJECT_ROOT, bump_data_version, get_engine
from tthc_core.models import Agency, Dossier, Feedback, Procedure, SupplementRound

PERIOD = "2026-Q2"  # calendar quarter 01/04–30/06/2026, the last of the synthetic history
COLD_TARGET_S = 1.0
WARM_RATIO_TARGET = 2.0


def _h(column, prime: int, modulo: int = 1000):
    """A deterministic pseudo-random integer in [0, modulo) from an integer column."""
    return (column * literal_column(str(prime))) % modulo


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
