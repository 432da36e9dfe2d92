"""The column form of the 766 dossier counts (tthc_core/qd766_columns.py) against the SQL form: on
random provinces the whole index object (every numerator, denominator, point, hint and ranking) is the
same whichever form counted it, for months, quarters, a running period, a sub-tree and both due bases;
and 2.1's vectorised verdict for dossiers with supplement rounds is ``on_time_21``'s, case by case."""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import insert, select

from tthc_core import columnar, qd766, qd766_columns
from tthc_core.counting import NEVER, to_us
from tthc_core.db import get_engine
from tthc_core.models import Agency, Dossier, Feedback, Procedure, Setting, SupplementRound
from tthc_core.rules import derive_dossier

T = dt.datetime


def _moment(rng: random.Random, start: dt.datetime, days: int) -> dt.datetime:
    moment = start + dt.timedelta(days=rng.randrange(days), minutes=rng.randrange(0, 24 * 60))
    return moment.replace(hour=0, minute=0) if rng.random() < 0.2 else moment


def build(url: str, seed: int, n: int = 500) -> None:
    rng = random.Random(seed)
    engine = get_engine(url)
    with engine.begin() as conn:
        top = conn.execute(insert(Agency).values(code="S1", name="Sở", level="province")).inserted_primary_key[0]
        sub = conn.execute(insert(Agency).values(code="S1A", name="Phòng", level="district", parent_id=top)
                           ).inserted_primary_key[0]
        other = conn.execute(insert(Agency).values(code="X1", name="Xã", level="commune")).inserted_primary_key[0]
        agencies = [top, sub, other]
        procs = []
        for i in range(12):
            procs.append(conn.execute(insert(Procedure).values(
                code=f"P{i:02d}", name=f"Thủ tục {i}", agency_id=rng.choice(agencies),
                has_fee=rng.choice([True, False, None]), requires_paper_result=rng.choice([True, False, None]),
                applicant_types=rng.choice(["citizen", "business", None]), online_level=rng.choice([2, 3, 4]),
                processing_days=rng.choice([None, 3, 10]),
                time_unit=rng.choice([None, "hours", "days", "working_days", "months"]))).inserted_primary_key[0])
        start = T(2022, 1, 1)
        codes = []
        for i in range(n):
            received = _moment(rng, start, 300)
            due = None if rng.random() < 0.1 else _moment(rng, received, 40)
            end = None if rng.random() < 0.3 else _moment(rng, received, 400 if rng.random() < 0.1 else 80)
            online = rng.random() < 0.5
            n_rounds = rng.choice([0, 0, 0, 1, 2, 3])
            row = {"code": f"HS{i:05d}", "agency_id": rng.choice(agencies),
                   "procedure_id": rng.choice([*procs, None]), "channel": "online" if online else rng.choice(
                       ["direct", "postal"]), "status": rng.choice(["normal"] * 6 + ["withdrawn", "returned",
                                                                                    "suspended", "stopped"]),
                   "received_at": received, "due_at": due, "resolved_at": end if rng.random() < 0.8 else None,
                   "supplement_rounds": n_rounds,
                   "intake": rng.choice(["accepted"] * 8 + ["not_accepted", "refused"]),
                   "source_status": rng.choice([None, 4, 9, 10]),
                   "result_returned_at": end if rng.random() < 0.3 else None,
                   "refused_at": _moment(rng, received, 10) if rng.random() < 0.05 else None,
                   "fee_lines": rng.choice([0, 1, 2]), "fee_total": rng.choice([None, 0, 50000]),
                   "paid_online_via": rng.choice([None, None, "dvcqg", "local_gateway"]),
                   "has_digitised_components": rng.choice([None, True, False]),
                   "components": rng.randrange(3), "components_digitised": rng.randrange(3),
                   "components_from_store": rng.randrange(2), "e_results": rng.randrange(2),
                   "vneid_authenticated": rng.choice([None, True, False]),
                   "db_connections": rng.choice([None, "", "7"]),
                   "filed_on_national_portal": rng.choice([None, True, False]),
                   "synced_to_portal": rng.choice([None, True, False]),
                   "result_pushed_to_store": rng.choice([None, True, False]),
                   "rated_dissatisfied": rng.choice([None, True, False])}
            derive_dossier(row)
            dossier_id = conn.execute(insert(Dossier).values(**row)).inserted_primary_key[0]
            codes.append(row["code"])
            requested = received
            for k in range(n_rounds):
                requested = _moment(rng, requested, 30)
                supplied = None if rng.random() < 0.3 else _moment(rng, requested, 10)
                conn.execute(insert(SupplementRound).values(
                    dossier_id=dossier_id, position=k, requested_at=requested, supplied_at=supplied,
                    due_before=None if rng.random() < 0.2 else _moment(rng, received, 40), due_after=due))
        for i in range(40):
            sent = _moment(rng, start, 300)
            handled = None if rng.random() < 0.3 else _moment(rng, sent, 30)
            conn.execute(insert(Feedback).values(
                code=f"K{i:03d}", agency_id=rng.choice(agencies), dossier_code=rng.choice([None, *codes[:50]]),
                sent_at=sent, first_received_at=None if rng.random() < 0.3 else _moment(rng, sent, 3),
                handled_at=handled, answer_started_at=handled, published_at=handled,
                state="handled" if handled else "processing", likes=rng.randrange(3), dislikes=rng.randrange(3)))
        conn.execute(insert(Setting).values(key="dossiers_version", value=f"v{seed}"))


@pytest.mark.parametrize("seed", [1, 2])
def test_column_form_gives_the_same_index_as_sql(db_url, seed):
    build(db_url, seed)
    engine = get_engine(db_url)
    cases = [("2022-Q2", None, None), ("2022-03", None, None), ("2022-Q3", "S1", None),
             ("2022-Q2", None, T(2022, 5, 17, 10, 30)), ("2022", "X1", None)]
    try:
        for basis in ("current", "original"):
            with engine.begin() as conn:
                conn.execute(Setting.__table__.delete().where(Setting.key == "qd766_due_basis"))
                conn.execute(insert(Setting).values(key="qd766_due_basis", value=basis))
            for period, agency, now in cases:
                columnar.use_fast_path(engine, enabled=False)
                by_sql = qd766.compute_index(db_url, period, agency=agency, now=now or T(2030, 1, 1))
                columnar.use_fast_path(engine, build=False)
                with engine.connect() as conn:
                    assert qd766_columns.fast_copy(conn, wait=True) is not None
                by_columns = qd766.compute_index(db_url, period, agency=agency, now=now or T(2030, 1, 1))
                assert by_columns == by_sql, (basis, period, agency, now)
                if qd766_columns.sidecar_path(engine) is not None:  # a new process: the mapped file
                    qd766_columns.CACHE.forget(engine)
                    assert qd766.compute_index(db_url, period, agency=agency, now=now or T(2030, 1, 1)) == by_sql
                    assert isinstance(qd766_columns.CACHE.snapshots[id(engine)].end, np.memmap)
                assert by_sql["indicators"][4]["denominator"] > 0  # 2.1 counted something
    finally:
        columnar.use_fast_path(engine, enabled=False)
        qd766_columns.CACHE.forget(engine)
        if engine.dialect.name != "sqlite":  # the server's copy file in the cache directory
            qd766_columns.sidecar_path(engine).unlink(missing_ok=True)


def test_the_copy_holds_accepted_dossiers_with_their_rounds_in_request_order(sqlite_url):
    build(sqlite_url, 3, n=120)
    engine = get_engine(sqlite_url)
    snap = qd766_columns.load(engine)
    with engine.connect() as conn:
        accepted = conn.scalar(select(Dossier.id).where(Dossier.intake == "accepted").order_by(Dossier.id.desc()))
        n_accepted = len(conn.execute(select(Dossier.id).where(Dossier.intake == "accepted")).all())
    assert len(snap) == n_accepted and accepted in snap.id
    assert (np.diff(snap.received) >= 0).all()
    rows = snap.round_row
    assert (np.diff(rows) >= 0).all()
    same = rows[1:] == rows[:-1]
    assert (snap.round_requested[1:][same] >= snap.round_requested[:-1][same]).all()
    assert (snap.rounds[np.unique(rows)] > 0).all()


_stamp = st.integers(0, 60 * 24 * 60).map(lambda m: T(2022, 5, 1) + dt.timedelta(minutes=m))
_midnight = st.integers(0, 60).map(lambda d: T(2022, 5, 1) + dt.timedelta(days=d))
_round = st.tuples(_stamp, st.one_of(st.none(), _stamp), st.one_of(st.none(), _stamp, _midnight))


@settings(max_examples=300, deadline=None)
@given(received=_stamp, due=st.one_of(_stamp, _midnight), end=st.one_of(st.none(), _stamp),
       rounds=st.lists(_round, max_size=3), c=_stamp, basis=st.sampled_from(["current", "original"]))
def test_vectorised_round_verdict_is_on_time_21(received, due, end, rounds, c, basis):
    rounds = [(req, sup if sup is None or sup >= req else req) for req, sup, _ in rounds], [r[2] for r in rounds]
    pairs, dues = rounds
    expected = qd766.on_time_21(received, due, end, [qd766.Round(r, s, d) for (r, s), d in zip(pairs, dues)], c,
                                None, basis)
    order = sorted(range(len(pairs)), key=lambda i: pairs[i][0])  # the copy's order: request time, then id

    def us(moment):
        return NEVER if moment is None else to_us(moment)

    one = np.array([0], dtype=np.int64)
    snap = qd766_columns.Columns766(
        version="x", id=one, received=np.array([us(received)]), resolved=np.array([us(end)]),
        due=np.array([us(due)]), deadline=np.array([NEVER]), end=np.array([us(end)]), agency=one, procedure=one,
        rounds=np.array([len(pairs)], dtype=np.int32), flags=np.zeros(1, dtype=np.int32), long_idx=one,
        round_row=np.zeros(len(pairs), dtype=np.int64),
        round_requested=np.array([us(pairs[i][0]) for i in order], dtype=np.int64),
        round_supplied=np.array([us(pairs[i][1]) for i in order], dtype=np.int64),
        round_due_before=np.array([us(dues[i]) for i in order], dtype=np.int64))
    assert bool(qd766_columns.judge_rounds(snap, np.array([0]), to_us(c), basis)[0]) == expected


def test_vietnam_holidays_from_the_module_file_are_the_registry_s():
    import holidays

    from tthc_core import workdays

    assert workdays._vn_holidays(2015, 2040) == frozenset(holidays.country_holidays("VN", years=range(2015, 2041)))


def test_the_column_form_counts_every_dossier_condition():
    # A condition added to qd766._dossier_conditions without its column form sends every fast-path call
    # back to SQL (still right, no longer fast): add it to qd766_columns.dossier_counts and KEYS.
    bounds = qd766._bounds(qd766._as_calendar("2022-Q2", "calendar"), None)
    assert set(qd766._dossier_conditions(bounds)) == set(qd766.DOSSIER_KEYS) == qd766_columns.KEYS
