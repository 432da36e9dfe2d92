"""The two forms of the counting rules (counting.py) give the same figures, on randomised data.

The SQL form is the default everywhere; the column form counts over the columnar copy (the fast
path). Hand-made boundary cases for each rule are in test_stats.py.
"""
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from tthc_core import columnar
from tthc_core.counting import COUNT_KEYS, CountingSettings, column_grouped_counts, sql_grouped_counts, sum_counts
from tthc_core.db import bump_data_version, get_engine
from tthc_core.models import Dossier
from tthc_core.periods import parse_period
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
def test_column_form_equals_the_sql_form(sqlite_url, items, queries):
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
            rules = CountingSettings(withdrawn_returned=q["rule"])
            fast = column_grouped_counts(snap, period, ids, q["by"], rules, q["as_of"])
            plain = sql_grouped_counts(conn, period, ids, q["by"], rules, q["as_of"])
            plain = {k: v for k, v in plain.items() if v["received_total"]}
            assert fast == plain, q


def test_sum_counts_adds_every_count_of_each_row():
    rows = [dict.fromkeys(COUNT_KEYS, 1), {**dict.fromkeys(COUNT_KEYS, 0), "received_total": 5}]
    assert sum_counts(rows) == {**dict.fromkeys(COUNT_KEYS, 1), "received_total": 6}
    assert sum_counts([]) == dict.fromkeys(COUNT_KEYS, 0)
