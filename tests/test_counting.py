"""The counting rules of II.06a with the national records' lifecycle (domain.md §4, §4b).

Three forms must agree: the row reference (``rules.count_keys``), the SQL form (the default) and the
column form (the fast path), on randomised data with supplement rounds and every setting. Hand-made
boundary cases pin each §4b rule on SQLite and PostgreSQL; the period is report Q2/2022 (15/03–14/06,
cut-off the end of 14/06) unless a test says otherwise.
"""
import datetime as dt
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, update

from tthc_core import columnar, compute_stats
from tthc_core.counting import (COUNT_KEYS, CountingSettings, bounds, column_grouped_counts, counting_settings,
                                deadline_basis, deadline_basis_label, overdue_moment, set_counting_setting,
                                sql_grouped_counts, sum_counts)
from tthc_core.db import bump_data_version, data_version, get_engine
from tthc_core.models import Dossier, SupplementRound
from tthc_core.periods import parse_period
from tthc_core.rules import count_keys
from tthc_core.stats import data_quality
from tthc_core.store import ensure_agency, field_ids, write_dossiers

T = dt.datetime
Q2 = "2022-Q2"
BASE = dt.datetime(2021, 6, 1)


def write(url, *dossiers):
    """Dossiers as dicts (short defaults: agency A, field «Việc làm», direct, normal, accepted), their
    lifecycle columns and supplement rounds written with SQLAlchemy Core, as the national reader does."""
    engine = get_engine(url)
    with engine.begin() as conn:
        agencies = {code: ensure_agency(conn, code, f"Cơ quan {code}") for code in ("A", "B")}
        fields = field_ids(conn, ["Việc làm", "Người có công"])
        write_dossiers(conn, [dict(code=d.get("code", f"HS{i:03d}"), agency_id=agencies[d.get("agency", "A")],
                                   field_id=fields.get(d.get("field", "Việc làm")), channel=d.get("channel", "direct"),
                                   status=d.get("status", "normal"), received_at=d["received"], due_at=d.get("due"),
                                   resolved_at=d.get("resolved")) for i, d in enumerate(dossiers)])
        d = Dossier.__table__.c
        ids = dict(conn.execute(Dossier.__table__.select().with_only_columns(d.code, d.id)).all())
        for i, item in enumerate(dossiers):
            dossier_id = ids[item.get("code", f"HS{i:03d}")]
            rounds = item.get("rounds", ())
            # The last request as the national writer stores it, or (rounds_known False) not known, as in
            # a database that stored its rounds before the column existed.
            known = rounds and item.get("rounds_known", True)
            conn.execute(update(Dossier).where(d.id == dossier_id).values(
                intake=item.get("intake", "accepted"), withdrawal_requested=item.get("withdrawal_requested", False),
                supplement_rounds=len(rounds), rounds_requested_until=max(r[0] for r in rounds) if known else None))
            for position, (requested, supplied, due_before, due_after) in enumerate(rounds):
                conn.execute(insert(SupplementRound).values(dossier_id=dossier_id, position=position,
                                                            requested_at=requested, supplied_at=supplied,
                                                            due_before=due_before, due_after=due_after))
        bump_data_version(conn, dossiers=True)
    return url


def total(url, period=Q2, **kw):
    return compute_stats(url, period, **kw)["dossiers"]["total"]


def only(counts, **expected):
    """All counts not named are zero."""
    assert counts == {**dict.fromkeys(COUNT_KEYS, 0), **expected}


def both_paths(url, period=Q2, as_of=None):
    """The total row from SQL and from the columnar copy, checked equal."""
    engine = get_engine(url)
    p = parse_period(period)
    with engine.connect() as conn:
        rules = counting_settings(conn)
        plain = sum_counts(sql_grouped_counts(conn, p, None, "field", rules, as_of).values())
        fast = sum_counts(column_grouped_counts(columnar.snapshot(conn, wait=True), p, None, "field", rules,
                                                as_of).values())
    assert plain == fast
    return plain


# --- never received ------------------------------------------------------------------------------

def test_never_accepted_and_refused_records_are_outside_every_column(db_url):
    write(db_url, dict(intake="not_accepted", received=T(2022, 4, 1, 9), due=T(2022, 4, 5)),
          dict(intake="refused", received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 4, 2, 9)),
          dict(received=T(2022, 4, 1, 9), due=T(2022, 4, 5)))
    only(both_paths(db_url), received_total=1, received_offline=1, pending_total=1, pending_overdue=1)
    quality = data_quality(db_url)
    assert (quality["dossiers"], quality["not_accepted"], quality["refused"]) == (3, 1, 1)
    assert quality["deadline_basis"] == "moment" and "thời điểm" in quality["deadline_basis_label"]


# --- withdrawn, stopped, withdrawal requested -------------------------------------------------------

def test_stopped_dossiers_count_resolved_on_time_like_withdrawals(db_url):
    write(db_url, dict(status="stopped", received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 5, 1, 9)))
    only(both_paths(db_url), received_total=1, received_offline=1, resolved_total=1, resolved_on_time=1)


def test_a_setting_counts_stopped_dossiers_as_suspended_in_every_later_period(db_url):
    write(db_url, dict(status="stopped", received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 5, 1, 9)))
    set_counting_setting(db_url, "stopped_dossiers", "suspended")
    only(both_paths(db_url), received_total=1, received_offline=1, pending_total=1, pending_in_time=1)
    only(both_paths(db_url, "2022-Q4"), received_total=1, carried_over=1, pending_total=1, pending_in_time=1)


def test_excluding_withdrawn_and_returned_leaves_stopped_out_too(db_url):
    write(db_url, dict(status="stopped", received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 5, 1, 9)),
          dict(status="withdrawn", received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 5, 1, 9)))
    set_counting_setting(db_url, "withdrawn_returned", "exclude")
    only(both_paths(db_url))


def test_a_withdrawal_request_without_an_end_is_pending_and_judged_on_its_due_date(db_url):
    write(db_url, dict(withdrawal_requested=True, received=T(2022, 4, 1, 9), due=T(2022, 6, 1)),
          dict(withdrawal_requested=True, received=T(2022, 4, 1, 9), due=T(2022, 6, 30)))
    only(both_paths(db_url), received_total=2, received_offline=2, pending_total=2, pending_in_time=1,
         pending_overdue=1)


# --- supplement rounds ------------------------------------------------------------------------------

def test_a_round_open_at_the_cut_off_keeps_a_dossier_past_its_due_date_in_time(db_url):
    write(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 20), status="normal",
                       rounds=[(T(2022, 6, 14, 16), None, T(2022, 5, 20), None)]))
    only(both_paths(db_url), received_total=1, received_offline=1, pending_total=1, pending_in_time=1)


def test_a_round_supplied_by_the_cut_off_no_longer_suspends(db_url):
    """Supplied on the last day: judged on the due date in force (past), whatever the current status."""
    write(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 6, 10), status="suspended",
                       rounds=[(T(2022, 5, 10, 9), T(2022, 6, 14, 23, 59), T(2022, 6, 1), T(2022, 6, 10))]))
    only(both_paths(db_url), received_total=1, received_offline=1, pending_total=1, pending_overdue=1)


def test_a_round_requested_after_the_cut_off_does_not_suspend_and_its_due_before_is_in_force(db_url):
    """Requested on 15/06 (after the cut-off), moving the due date from 10/06 to 30/06: at the cut-off
    the dossier was overdue, though today it carries a later due date and a suspended status."""
    write(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 6, 30), status="suspended",
                       rounds=[(T(2022, 6, 15, 0, 0), None, T(2022, 6, 10), T(2022, 6, 30))]))
    only(both_paths(db_url), received_total=1, received_offline=1, pending_total=1, pending_overdue=1)
    # In Q3 the round is open at the cut-off: suspended, in time.
    only(both_paths(db_url, "2022-Q3"), received_total=1, carried_over=1, pending_total=1, pending_in_time=1)


def test_the_first_round_after_the_cut_off_gives_the_due_date_not_a_later_one(db_url):
    write(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 8, 30),
                       rounds=[(T(2022, 7, 1, 9), T(2022, 7, 5, 9), T(2022, 6, 20), T(2022, 7, 20)),
                               (T(2022, 7, 25, 9), T(2022, 7, 28, 9), T(2022, 7, 20), T(2022, 8, 30))]))
    only(both_paths(db_url), received_total=1, received_offline=1, pending_total=1, pending_in_time=1)
    # Judged on 14/09 (Q3's cut-off) against the current due date 30/08: overdue.
    only(both_paths(db_url, "2022-Q3"), received_total=1, carried_over=1, pending_total=1, pending_overdue=1)


def test_rounds_win_over_a_suspended_status_and_a_running_period_reads_them_at_as_of(db_url):
    write(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 20), status="suspended",
                       rounds=[(T(2022, 5, 10, 9), T(2022, 5, 12, 9), T(2022, 5, 15), T(2022, 5, 20))]))
    only(both_paths(db_url, as_of=dt.date(2022, 5, 11)), received_total=1, received_offline=1, pending_total=1,
         pending_in_time=1)  # on 11/05 the round is open
    only(both_paths(db_url, as_of=dt.date(2022, 5, 21)), received_total=1, received_offline=1, pending_total=1,
         pending_overdue=1)  # supplied on 12/05, due 20/05: overdue on 21/05 though the status says suspended


def test_resolution_uses_the_due_date_in_force_when_the_dossier_was_resolved(db_url):
    """Resolved on 12/05 after its due date 10/05; a round requested later (20/05, the dossier re-opened)
    moved the due date to 30/05. The resolution stays late: the later round cannot make a late
    resolution early (rules.due_at_resolution). A round before the resolution does move it."""
    write(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 30), resolved=T(2022, 5, 12, 9),
                       rounds=[(T(2022, 5, 20, 9), T(2022, 5, 21, 9), T(2022, 5, 10), T(2022, 5, 30))]),
          dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 30), resolved=T(2022, 5, 12, 9),
               rounds=[(T(2022, 5, 5, 9), T(2022, 5, 6, 9), T(2022, 5, 10), T(2022, 5, 30))]))
    only(both_paths(db_url), received_total=2, received_offline=2, resolved_total=2, resolved_late=1,
         resolved_early=1)


# --- deadline basis ---------------------------------------------------------------------------------

BOUNDARY_CASES = [
    # (due, resolved or None (pending), by moment, by calendar day)
    (T(2022, 5, 10, 14), T(2022, 5, 10, 16), "resolved_late", "resolved_on_time"),
    (T(2022, 5, 10, 14), T(2022, 5, 10, 14), "resolved_on_time", "resolved_on_time"),
    (T(2022, 5, 10), T(2022, 5, 10, 23, 59), "resolved_on_time", "resolved_on_time"),
    (T(2022, 5, 10), T(2022, 5, 11, 0, 0), "resolved_late", "resolved_late"),
    (T(2022, 5, 10, 14), T(2022, 5, 9, 23, 59), "resolved_early", "resolved_early"),
    (T(2022, 6, 14, 16, 30), None, "pending_overdue", "pending_in_time"),
    (T(2022, 6, 14), None, "pending_in_time", "pending_in_time"),
    (T(2022, 6, 13, 23, 59), None, "pending_overdue", "pending_overdue"),
]


@pytest.mark.parametrize("due, resolved, by_moment, by_day", BOUNDARY_CASES)
def test_deadline_by_the_moment_and_by_the_calendar_day(db_url, due, resolved, by_moment, by_day):
    write(db_url, dict(received=T(2022, 5, 2, 9), due=due, resolved=resolved))
    done = "resolved_total" if resolved else "pending_total"
    only(both_paths(db_url), received_total=1, received_offline=1, **{done: 1, by_moment: 1})
    set_counting_setting(db_url, "deadline_basis", "calendar_day")
    only(both_paths(db_url), received_total=1, received_offline=1, **{done: 1, by_day: 1})


def test_a_change_of_deadline_basis_applies_at_once_and_moves_the_data_version(db_url):
    write(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 10, 14), resolved=T(2022, 5, 10, 16)))
    with get_engine(db_url).connect() as conn:
        assert deadline_basis(conn) == "moment"
    assert total(db_url)["resolved_late"] == 1
    before = data_version(db_url)
    set_counting_setting(db_url, "deadline_basis", "calendar_day")
    assert data_version(db_url) > before  # the dashboard's cached figures key on it
    with get_engine(db_url).connect() as conn:
        assert deadline_basis(conn) == "calendar_day"
    assert (total(db_url)["resolved_late"], total(db_url)["resolved_on_time"]) == (0, 1)
    assert deadline_basis_label("calendar_day").startswith("Quá hạn tính theo ngày")
    with pytest.raises(ValueError, match="không hợp lệ"):
        set_counting_setting(db_url, "deadline_basis", "hour")


# --- the worked example of dvcqg-sync.md §8 -----------------------------------------------------------

def test_the_worked_example_of_the_national_format_built_by_hand(db_url):
    """dvcqg-example.json's five dossiers as the reader stores them: col. 3 = 5 (2 online, 3 in person or
    by post of which 1 postal), col. 7 = 3 (1 early, 1 on time: the withdrawal, 1 late), col. 11 = 2
    (1 in time: suspended at the cut-off; 1 overdue: the postal dossier)."""
    write(db_url,
          dict(channel="online", received=T(2022, 4, 4, 9, 15), due=T(2022, 4, 12, 9, 15),
               resolved=T(2022, 4, 7, 15, 30)),
          dict(received=T(2022, 4, 12, 14), due=T(2022, 4, 26, 14), resolved=T(2022, 4, 28, 10)),
          dict(channel="postal", received=T(2022, 5, 10, 10, 20), due=T(2022, 5, 24, 10, 20)),
          dict(status="withdrawn", received=T(2022, 5, 16, 8, 45), due=T(2022, 5, 25, 8, 45),
               resolved=T(2022, 5, 20, 14, 10)),
          dict(channel="online", status="suspended", received=T(2022, 5, 23, 8, 30), due=T(2022, 6, 13, 8, 30),
               rounds=[(T(2022, 5, 26, 9), T(2022, 6, 2, 10), T(2022, 6, 6, 8, 30), T(2022, 6, 13, 8, 30)),
                       (T(2022, 6, 8, 15), None, T(2022, 6, 13, 8, 30), None)]))
    only(both_paths(db_url), received_total=5, received_online=2, received_offline=3, received_postal=1,
         resolved_total=3, resolved_early=1, resolved_on_time=1, resolved_late=1,
         pending_total=2, pending_in_time=1, pending_overdue=1)


def test_dossiers_abandoned_long_before_a_period_are_carried_over_and_judged_on_their_due_date(db_url):
    """Never closed, received long before the period's window: the copy counts them apart from its
    other rows (issue 16), the SQL path from its open-dossiers index. Carried over and pending; in time
    when suspended, not yet due at the cut-off, or without a due date."""
    write(db_url, dict(received=T(2021, 1, 4, 9), due=T(2021, 2, 1)),
          dict(received=T(2021, 1, 5, 9), due=T(2021, 2, 1), status="suspended"),
          dict(received=T(2021, 1, 6, 9), due=T(2022, 7, 1)),
          dict(received=T(2021, 1, 7, 9), due=None),
          dict(received=T(2021, 1, 8, 9), due=T(2021, 2, 1), agency="B"),
          dict(received=T(2022, 4, 1, 9), due=T(2022, 4, 5)))  # received in the period, for contrast
    only(both_paths(db_url), received_total=6, received_offline=1, carried_over=5, pending_total=6,
         pending_in_time=3, pending_overdue=3)
    engine = get_engine(db_url)
    with engine.connect() as conn:
        b = [ensure_agency(conn, "B", "Cơ quan B")]
        rules, period = counting_settings(conn), parse_period(Q2)
        plain = sql_grouped_counts(conn, period, b, "agency", rules)
        fast = column_grouped_counts(columnar.snapshot(conn, wait=True), period, b, "agency", rules)
    assert fast == plain == {b[0]: {**dict.fromkeys(COUNT_KEYS, 0), "received_total": 1, "carried_over": 1,
                                    "pending_total": 1, "pending_overdue": 1}}


# --- the three forms on random data -------------------------------------------------------------------

moment = st.integers(0, 500 * 24 * 60)  # minutes after BASE
due_time = st.one_of(st.none(), st.builds(dt.time, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)))
round_ = st.fixed_dictionaries({
    "requested_after": st.integers(0, 300 * 24 * 60),
    "supplied_after": st.one_of(st.none(), st.integers(0, 60 * 24 * 60)),
    "due_before_days": st.one_of(st.none(), st.integers(0, 90)),
    "due_time": due_time,
})
dossier = st.fixed_dictionaries({
    "received": moment,
    "resolved_after": st.one_of(st.none(), st.integers(0, 400 * 24 * 60)),
    "due_after_days": st.one_of(st.none(), st.integers(0, 60)),
    "due_time": due_time,
    "status": st.sampled_from(["normal", "normal", "withdrawn", "returned", "suspended", "stopped"]),
    "intake": st.sampled_from(["accepted", "accepted", "accepted", "not_accepted", "refused"]),
    "channel": st.sampled_from(["online", "direct", "postal"]),
    "agency": st.sampled_from(["A", "B"]),
    "field": st.sampled_from(["Việc làm", "Người có công", None]),
    "rounds": st.one_of(st.just([]), st.lists(round_, max_size=3)),
})
query = st.fixed_dictionaries({
    "spec": st.sampled_from(["2022-Q1", "2022-Q2", "2022-Q3", "2021-Q4", "2022-H1", "2022-05", "2022",
                             "2022-03-15..2022-03-15", "2021-12-31..2022-01-01"]),
    "mode": st.sampled_from(["report", "calendar"]),
    "as_of": st.one_of(st.none(), st.dates(dt.date(2022, 1, 1), dt.date(2022, 12, 31))),
    "by": st.sampled_from(["field", "agency", "procedure", "level"]),
    "agencies": st.sampled_from([None, ["A"], ["B"], ["A", "B"]]),
    "settings": st.builds(CountingSettings, st.sampled_from(["on_time", "exclude"]),
                          st.sampled_from(["on_time", "suspended"]), st.sampled_from(["moment", "calendar_day"])),
})


def _at(day: dt.datetime, days: int | None, time: dt.time | None) -> dt.datetime | None:
    return None if days is None else dt.datetime.combine(day.date() + dt.timedelta(days=days), time or dt.time())


def _dossiers(items):
    """Rows for :func:`write` and, beside them, the same dossiers and rounds for rules.count_keys."""
    rows = []
    for i, item in enumerate(items):
        received = BASE + dt.timedelta(minutes=item["received"])
        resolved = None if item["resolved_after"] is None else received + dt.timedelta(minutes=item["resolved_after"])
        rounds = []
        for r in item["rounds"]:
            requested = received + dt.timedelta(minutes=r["requested_after"])
            supplied = None if r["supplied_after"] is None else requested + dt.timedelta(minutes=r["supplied_after"])
            rounds.append((requested, supplied, _at(received, r["due_before_days"], r["due_time"]), None))
        rows.append(dict(code=f"R{i}", agency=item["agency"], field=item["field"], channel=item["channel"],
                         status=item["status"], intake=item["intake"], received=received,
                         due=_at(received, item["due_after_days"], item["due_time"]), resolved=resolved,
                         rounds=rounds, rounds_known=i % 3 != 2))
    return rows


def _reference(rows, period, as_of, ids, by, rules, agency_ids, field_ids_):
    """``{group id: counts}`` from rules.count_keys, one dossier at a time."""
    start, cutoff = bounds(period)
    judged = overdue_moment(period, as_of)
    groups: dict = {}
    for row in rows:
        if ids is not None and agency_ids[row["agency"]] not in ids:
            continue
        keys = count_keys(dict(intake=row["intake"], status=row["status"], channel=row["channel"],
                               received_at=row["received"], due_at=row["due"], resolved_at=row["resolved"]),
                          [dict(requested_at=r[0], supplied_at=r[1], due_before=r[2], position=p)
                           for p, r in enumerate(row["rounds"])], start, cutoff, judged, rules)
        if not keys:
            continue
        gid = {"field": field_ids_.get(row["field"]), "procedure": None}.get(by, agency_ids[row["agency"]])
        groups.setdefault(gid, Counter()).update(keys)
    return {gid: {k: counts.get(k, 0) for k in COUNT_KEYS} for gid, counts in groups.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(dossier, max_size=30), queries=st.lists(query, min_size=1, max_size=4))
def test_sql_and_column_forms_equal_the_row_reference(db_url, items, queries):
    """On both engines: the SQL form (its branches, the still-open dossiers without rounds counted by
    their short form) and the column form equal the row rules."""
    sqlite_url = db_url
    engine = get_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(delete(SupplementRound))
        conn.execute(delete(Dossier))
        bump_data_version(conn, dossiers=True)  # every write path moves the version; so does this one
    rows = _dossiers(items)
    write(sqlite_url, *rows)
    with engine.connect() as conn:
        agencies = {code: ensure_agency(conn, code, code) for code in ("A", "B")}
        fields = field_ids(conn, ["Việc làm", "Người có công"])
        snap = columnar.snapshot(conn, wait=True)
        assert snap is not None and len(snap) == sum(r["intake"] == "accepted" for r in rows)
        for q in queries:
            period = parse_period(q["spec"], q["mode"])
            ids = None if q["agencies"] is None else [agencies[a] for a in q["agencies"]]
            rules = q["settings"]
            plain = sql_grouped_counts(conn, period, ids, q["by"], rules, q["as_of"])
            plain = {k: v for k, v in plain.items() if v["received_total"]}
            assert plain == _reference(rows, period, q["as_of"], ids, q["by"], rules, agencies, fields), q
            assert column_grouped_counts(snap, period, ids, q["by"], rules, q["as_of"]) == plain, q


def test_sum_counts_adds_every_count_of_each_row():
    rows = [dict.fromkeys(COUNT_KEYS, 1), {**dict.fromkeys(COUNT_KEYS, 0), "received_total": 5}]
    assert sum_counts(rows) == {**dict.fromkeys(COUNT_KEYS, 1), "received_total": 6}
    assert sum_counts([]) == dict.fromkeys(COUNT_KEYS, 0)


def test_an_older_database_gets_the_open_dossiers_index_when_it_is_opened(tmp_path):
    """The SQL path reads still-open dossiers from ix_dossiers_open; a database written before it
    existed gets it on start (create_all only indexes the tables it creates)."""
    import sqlite3

    from tthc_core.db import dispose_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    get_engine(url)
    dispose_engine(url)
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("DROP INDEX ix_dossiers_open")
    with get_engine(url).connect() as conn:
        names = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_dossiers_open" in names


def test_an_older_open_dossiers_index_is_rebuilt_with_the_columns_of_the_model(tmp_path):
    """ix_dossiers_open had supplement_rounds last, so the open dossiers with rounds were found by reading
    every open entry; a database written then gets the index again, rounds second, and the same counts."""
    import sqlite3

    from tthc_core.db import dispose_engine

    path = tmp_path / "old.db"
    url = write(f"sqlite:///{path}", dict(received=dt.datetime(2022, 1, 5, 9), due=dt.datetime(2022, 5, 1, 17)),
                dict(code="R", received=dt.datetime(2022, 3, 1, 9), due=dt.datetime(2022, 4, 1, 17),
                     rounds=[(dt.datetime(2022, 3, 10, 9), None, dt.datetime(2022, 4, 1, 17), None)]))
    before = total(url)
    dispose_engine(url)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX ix_dossiers_open")
        conn.execute("CREATE INDEX ix_dossiers_open ON dossiers (resolved_at, received_at, agency_id, field_id, "
                     "procedure_id, channel, status, due_at, resolution, intake, supplement_rounds) "
                     "WHERE resolved_at IS NULL")
    assert total(url) == before and (before["pending_total"], before["pending_in_time"]) == (2, 1)
    with sqlite3.connect(path) as conn:
        columns = [row[2] for row in conn.execute("PRAGMA index_info(ix_dossiers_open)")]
    assert columns[:3] == ["resolved_at", "supplement_rounds", "received_at"]


def test_a_database_of_this_version_has_nothing_to_migrate(db_url):
    """Every column and index as the models have them, on each engine: opening the database again changes
    nothing (an index reflected with other columns than the model's would be rebuilt at every start)."""
    from tthc_core.db import add_missing_columns

    assert add_missing_columns(get_engine(db_url)) == []


def test_the_open_dossiers_have_an_index_of_their_own_on_each_engine(db_url):
    """The SQL path reads the still-open dossiers from a partial index of their own (issue 16): on
    PostgreSQL ix_dossiers_resolved leaves them out, so its planner cannot read them through it, a
    table page each, instead of index-only from ix_dossiers_open_pg."""
    from sqlalchemy import inspect

    engine = get_engine(db_url)
    indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("dossiers")}
    if engine.dialect.name == "sqlite":
        assert "ix_dossiers_open" in indexes and "ix_dossiers_open_pg" not in indexes
    else:
        assert "ix_dossiers_open_pg" in indexes and "ix_dossiers_open" not in indexes
        assert indexes["ix_dossiers_open_pg"]["column_names"][:2] == ["supplement_rounds", "received_at"]
        with engine.connect() as conn:
            definition = conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                              "'ix_dossiers_resolved'").scalar()
            assert definition.endswith("WHERE (resolved_at IS NOT NULL)"), definition
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"


def test_an_older_database_gets_its_missing_columns_when_it_is_opened(tmp_path):
    """add_missing_columns reflects every table at once (one query per kind on PostgreSQL, issue 16) and
    still adds what an older file lacks."""
    import sqlite3

    from tthc_core.db import dispose_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    get_engine(url)
    dispose_engine(url)
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("ALTER TABLE dossiers DROP COLUMN e_result_url")
    with get_engine(url).connect() as conn:
        columns = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(dossiers)")}
    assert "e_result_url" in columns
