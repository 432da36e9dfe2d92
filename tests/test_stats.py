"""Counting rules of form II.06a (domain.md §4), one hand-made case per boundary, on SQLite and PostgreSQL.

The period is Q2/2022 in report mode: S = 15/03/2022, E = 14/06/2022, cut-off = end of 14/06/2022.
"""
import datetime as dt

import pytest

from tthc_core import compute_stats
from tthc_core.db import get_engine
from tthc_core.models import Setting
from tthc_core.stats import (COUNT_KEYS, StatsError, catalogue, compute_totals, continuity_failures,
                             identity_failures, kpis, list_dossiers)
from tthc_core.store import ensure_agency, field_ids, write_dossiers, write_procedures

T = dt.datetime
Q2 = "2022-Q2"


def load(url, *dossiers, procedures=()):
    """Write dossiers given as dicts with short defaults: agency A, field «Việc làm», direct, normal."""
    engine = get_engine(url)
    with engine.begin() as conn:
        agencies = {code: ensure_agency(conn, code, f"Cơ quan {code}") for code in ("A", "B")}
        fields = field_ids(conn, ["Việc làm", "Người có công"])
        if procedures:
            write_procedures(conn, [dict({"agency_id": agencies["A"], "field_id": fields["Việc làm"]}, **p)
                                    for p in procedures])
        rows = []
        for i, d in enumerate(dossiers):
            row = dict(code=d.get("code", f"HS{i:03d}"), agency_id=agencies[d.get("agency", "A")],
                       field_id=fields[d.get("field", "Việc làm")], procedure_id=None,
                       channel=d.get("channel", "direct"), status=d.get("status", "normal"),
                       received_at=d["received"], due_at=d.get("due"), resolved_at=d.get("resolved"))
            rows.append(row)
        write_dossiers(conn, rows)
    return url


def total(url, **kw):
    return compute_stats(url, Q2, **kw)["dossiers"]["total"]


def only(counts, **expected):
    """All counts not named are zero."""
    want = {k: 0 for k in COUNT_KEYS}
    want.update(expected)
    assert counts == want


# --- received, carried over -------------------------------------------------------------------

def test_received_on_the_first_day_at_midnight_is_new(db_url):
    load(db_url, dict(received=T(2022, 3, 15, 0, 0), due=T(2022, 7, 1)))
    only(total(db_url), received_total=1, received_offline=1, pending_total=1, pending_in_time=1)


def test_received_a_minute_before_the_period_and_still_open_is_carried_over(db_url):
    load(db_url, dict(received=T(2022, 3, 14, 23, 59), due=T(2022, 7, 1)))
    only(total(db_url), received_total=1, carried_over=1, pending_total=1, pending_in_time=1)


def test_resolved_before_the_period_is_not_counted(db_url):
    load(db_url, dict(received=T(2022, 3, 1, 9), due=T(2022, 3, 20), resolved=T(2022, 3, 14, 23, 59)))
    only(total(db_url))


def test_resolved_on_the_first_day_is_carried_over_and_resolved(db_url):
    load(db_url, dict(received=T(2022, 3, 1, 9), due=T(2022, 3, 20), resolved=T(2022, 3, 15, 0, 0)))
    only(total(db_url), received_total=1, carried_over=1, resolved_total=1, resolved_early=1)


def test_received_on_the_last_day_counts_and_the_next_day_does_not(db_url):
    load(db_url, dict(received=T(2022, 6, 14, 23, 59), due=T(2022, 6, 30)),
         dict(received=T(2022, 6, 15, 0, 0), due=T(2022, 6, 30)))
    only(total(db_url), received_total=1, received_offline=1, pending_total=1, pending_in_time=1)


def test_channels_online_direct_and_postal(db_url):
    load(db_url, dict(channel="online", received=T(2022, 4, 1, 9), due=T(2022, 7, 1)),
         dict(channel="direct", received=T(2022, 4, 1, 9), due=T(2022, 7, 1)),
         dict(channel="postal", received=T(2022, 4, 1, 9), due=T(2022, 7, 1)))
    only(total(db_url), received_total=3, received_online=1, received_offline=2, received_postal=1,
         pending_total=3, pending_in_time=3)


# --- resolved: early, on time, late -----------------------------------------------------------

def test_resolved_on_the_last_day_counts_resolved_and_a_minute_later_pending(db_url):
    load(db_url, dict(received=T(2022, 6, 1, 9), due=T(2022, 6, 14), resolved=T(2022, 6, 14, 23, 59)),
         dict(received=T(2022, 6, 1, 9), due=T(2022, 6, 20), resolved=T(2022, 6, 15, 0, 0)))
    only(total(db_url), received_total=2, received_offline=2, resolved_total=1, resolved_on_time=1,
         pending_total=1, pending_in_time=1)


def test_resolved_the_day_before_the_due_date_is_early(db_url):
    load(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 10), resolved=T(2022, 5, 9, 23, 59)))
    assert total(db_url)["resolved_early"] == 1


def test_dossier_resolved_on_due_date_counts_on_time(db_url):
    load(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 10), resolved=T(2022, 5, 10, 23, 59)))
    assert total(db_url)["resolved_on_time"] == 1


def test_resolved_the_day_after_a_date_only_due_date_is_late(db_url):
    load(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 10), resolved=T(2022, 5, 11, 0, 0)))
    only(total(db_url), received_total=1, received_offline=1, resolved_total=1, resolved_late=1)


def test_due_with_a_time_of_day_is_late_a_minute_after(db_url):
    load(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 10, 16, 30), resolved=T(2022, 5, 10, 16, 30)),
         dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 10, 16, 30), resolved=T(2022, 5, 10, 16, 31)),
         dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 10, 16, 30), resolved=T(2022, 5, 9, 17, 0)))
    counts = total(db_url)
    assert (counts["resolved_early"], counts["resolved_on_time"], counts["resolved_late"]) == (1, 1, 1)


def test_withdrawn_and_returned_dossiers_always_count_on_time(db_url):
    load(db_url, dict(status="withdrawn", received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 5, 1, 9)),
         dict(status="returned", received=T(2022, 4, 1, 9), due=T(2022, 4, 20), resolved=T(2022, 4, 2, 9)))
    only(total(db_url), received_total=2, received_offline=2, resolved_total=2, resolved_on_time=2)


def test_withdrawn_and_returned_can_be_left_out_by_setting(db_url):
    load(db_url, dict(status="withdrawn", received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 5, 1, 9)),
         dict(received=T(2022, 4, 1, 9), due=T(2022, 4, 5), resolved=T(2022, 4, 5, 9)))
    only(total(db_url, withdrawn_returned="exclude"), received_total=1, received_offline=1, resolved_total=1,
         resolved_on_time=1)
    with get_engine(db_url).begin() as conn:
        conn.execute(Setting.__table__.insert().values(key="withdrawn_returned", value="exclude"))
    assert total(db_url)["received_total"] == 1


def test_resolved_without_any_due_date_counts_on_time(db_url):
    load(db_url, dict(received=T(2022, 4, 1, 9), resolved=T(2022, 4, 30, 9)))
    assert total(db_url)["resolved_on_time"] == 1


# --- pending: in time, overdue ----------------------------------------------------------------

def test_pending_due_on_the_last_day_is_in_time(db_url):
    load(db_url, dict(received=T(2022, 6, 1, 9), due=T(2022, 6, 14)))
    only(total(db_url), received_total=1, received_offline=1, pending_total=1, pending_in_time=1)


def test_pending_due_the_day_before_the_last_day_is_overdue(db_url):
    load(db_url, dict(received=T(2022, 6, 1, 9), due=T(2022, 6, 13)))
    only(total(db_url), received_total=1, received_offline=1, pending_total=1, pending_overdue=1)


def test_pending_due_at_a_time_on_the_last_day_is_overdue_at_the_cut_off(db_url):
    load(db_url, dict(received=T(2022, 6, 1, 9), due=T(2022, 6, 14, 16, 30)))
    assert total(db_url)["pending_overdue"] == 1


def test_pending_resolved_after_the_period_is_judged_at_the_cut_off(db_url):
    load(db_url, dict(received=T(2022, 6, 1, 9), due=T(2022, 6, 10), resolved=T(2022, 7, 1, 9)),
         dict(received=T(2022, 6, 1, 9), due=T(2022, 6, 20), resolved=T(2022, 7, 1, 9)))
    only(total(db_url), received_total=2, received_offline=2, pending_total=2, pending_in_time=1,
         pending_overdue=1)


def test_suspended_dossiers_still_open_count_in_time(db_url):
    load(db_url, dict(status="suspended", received=T(2022, 4, 1, 9), due=T(2022, 4, 15)))
    only(total(db_url), received_total=1, received_offline=1, pending_total=1, pending_in_time=1)


def test_pending_without_a_due_date_cannot_be_overdue(db_url):
    load(db_url, dict(received=T(2022, 4, 1, 9)))
    assert total(db_url)["pending_in_time"] == 1


def test_a_running_period_judges_open_dossiers_at_the_end_of_today(db_url):
    load(db_url, dict(received=T(2022, 5, 2, 9), due=T(2022, 5, 20)))
    as_of = dt.date(2022, 5, 10)
    counts = compute_stats(db_url, Q2, as_of=as_of)["dossiers"]["total"]
    assert (counts["pending_in_time"], counts["pending_overdue"]) == (1, 0)
    assert compute_stats(db_url, Q2, as_of=dt.date(2022, 5, 21))["dossiers"]["total"]["pending_overdue"] == 1


# --- identities, grouping, scope ----------------------------------------------------------------

def mixed(url):
    return load(
        url,
        dict(agency="A", field="Việc làm", channel="online", received=T(2022, 3, 1, 9), due=T(2022, 3, 30),
             resolved=T(2022, 3, 20, 9)),
        dict(agency="A", field="Việc làm", received=T(2022, 4, 1, 9), due=T(2022, 4, 10), resolved=T(2022, 4, 12, 9)),
        dict(agency="A", field="Người có công", channel="postal", received=T(2022, 5, 1, 9), due=T(2022, 5, 10)),
        dict(agency="B", field="Người có công", received=T(2022, 6, 1, 9), due=T(2022, 6, 30)),
        dict(agency="B", field="Việc làm", received=T(2021, 12, 1, 9), due=T(2021, 12, 20), resolved=T(2022, 1, 5, 9)),
    )


def test_rows_by_field_and_the_total_row_add_up(db_url):
    result = compute_stats(mixed(db_url), Q2)
    rows = {r["key"]: r for r in result["dossiers"]["rows"]}
    assert set(rows) == {"Việc làm", "Người có công"}
    assert rows["Việc làm"]["received_total"] == 2 and rows["Việc làm"]["carried_over"] == 1
    assert rows["Người có công"]["pending_overdue"] == 1 and rows["Người có công"]["pending_in_time"] == 1
    only(result["dossiers"]["total"], received_total=4, received_online=0, received_offline=3, received_postal=1,
         carried_over=1, resolved_total=2, resolved_early=1, resolved_late=1, pending_total=2, pending_in_time=1,
         pending_overdue=1)
    assert result["checks"] == []


def test_rows_by_agency_and_by_procedure(db_url):
    mixed(db_url)
    by_agency = compute_stats(db_url, Q2, by="agency")["dossiers"]["rows"]
    assert [(r["key"], r["received_total"]) for r in by_agency] == [("A", 3), ("B", 1)]
    by_procedure = compute_stats(db_url, Q2, by="procedure")["dossiers"]["rows"]
    assert [(r["key"], r["received_total"]) for r in by_procedure] == [("Chưa xác định thủ tục", 4)]


def test_agency_filter_and_unknown_agency(db_url):
    mixed(db_url)
    assert total(db_url, agency="B")["received_total"] == 1
    assert total(db_url, agency=["A", "B"])["received_total"] == 4
    with pytest.raises(StatsError, match="Không có cơ quan"):
        total(db_url, agency="ZZZ")


def test_pending_of_one_period_is_carried_over_into_the_next(db_url):
    mixed(db_url)
    assert compute_totals(db_url, "2022-Q1")["pending_total"] == compute_totals(db_url, Q2)["carried_over"] == 1
    assert continuity_failures(db_url, Q2) == []
    failures = continuity_failures(db_url, Q2, carried_over=5)
    assert len(failures) == 1 and "kỳ trước" in failures[0]["message"]


def test_identity_checks_catch_the_reference_reports_own_error():
    printed = dict(received_total=3238, received_online=32, received_offline=2999, carried_over=207,
                   resolved_total=3525, resolved_early=288, resolved_on_time=2237, resolved_late=0,
                   pending_total=713, pending_in_time=713, pending_overdue=0)
    failures = identity_failures("Tổng cộng", printed)
    assert {f["identity"] for f in failures} == {"col7 = col8 + col9 + col10", "col3 = col7 + col11"}
    col7 = next(f for f in failures if f["identity"] == "col7 = col8 + col9 + col10")
    assert (col7["left"], col7["right"]) == (3525, 2525)
    assert "3.525" in col7["message"] and "2.525" in col7["message"]


def test_kpis_from_a_counts_row():
    counts = dict(received_total=3238, received_online=32, received_offline=2999, received_postal=100,
                  carried_over=207, resolved_total=2525, resolved_early=288, resolved_on_time=2237,
                  resolved_late=0, pending_total=713, pending_in_time=713, pending_overdue=0)
    values = kpis(counts)
    assert str(values["on_time_rate"]) == "100.00"
    assert str(values["online_share"]) == "1.06"
    assert kpis({k: 0 for k in COUNT_KEYS})["on_time_rate"] is None


def test_drill_down_lists_exactly_the_dossiers_of_a_cell(db_url):
    mixed(db_url)
    late = list_dossiers(db_url, Q2, count_key="resolved_late")
    assert [r["code"] for r in late] == ["HS001"] and late[0]["days_late"] == 2
    overdue = list_dossiers(db_url, Q2, count_key="pending_overdue", group_by="field", group_key="Người có công")
    assert [r["code"] for r in overdue] == ["HS002"] and overdue[0]["days_late"] == 35
    for key in COUNT_KEYS:
        assert len(list_dossiers(db_url, Q2, count_key=key)) == total(db_url)[key]


# --- procedure catalogue (domain.md §6) ---------------------------------------------------------

def test_catalogue_figures_and_the_nd42_mapping(db_url):
    load(db_url, procedures=[
        dict(code="P1", name="Một", one_stop=True, postal=True, online_level=4, four_on_site=True),
        dict(code="P2", name="Hai", lien_thong=True, online_level=3),
        dict(code="P3", name="Ba", online_level=2, regulated_by="local", publicized=False),
        dict(code="P4", name="Bốn", online_class="full", authority_level="commune"),
        dict(code="P5", name="Năm", active_to=dt.date(2022, 1, 1)),
    ])
    figures = compute_stats(db_url, Q2)["procedures"]
    assert figures == dict(total=4, published=4, publicized=3, central=3, local=1, one_stop=1, lien_thong=1,
                           postal=1, online=4, online_level3=1, online_level4=1, online_full=2, online_partial=1,
                           four_on_site=1, internal_process=0)
    by_level = {r["key"]: r["total"] for r in catalogue(db_url, "A", dt.date(2022, 6, 14),
                                                         by="authority_level")["rows"]}
    assert by_level == {"province": 3, "district": 0, "commune": 1}


def test_a_period_reads_the_dossiers_active_in_it_not_the_whole_history(demo_url):
    """The period's rows (report period 15/03-14/06/2022) come through the indexes on resolved_at: the
    open ones from the partial covering index (no table page each), those resolved since its start
    through ix_dossiers_resolved; so the cost follows the active dossiers and not the years stored.
    Other engines get the bare rule."""
    from sqlalchemy import func, select
    from sqlalchemy.dialects import postgresql

    from tthc_core.counting import CountingSettings, _sql_filters, sql_branches, sql_conditions, sql_scope
    from tthc_core.models import Dossier
    from tthc_core.periods import parse_period

    d = Dossier.__table__.c
    period, rules = parse_period("2022-Q2"), CountingSettings()
    engine = get_engine(demo_url)

    def plan_of(stmt) -> tuple[str, str]:
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            return sql, " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))

    stmt = select(d.field_id, func.count()).where(*sql_scope(period, None, rules)).group_by(d.field_id)
    sql, plan = plan_of(stmt)  # the drill-down's one query
    assert "likely(dossiers.received_at < '2022-06-15 00:00:00.000000')" in sql
    assert "ix_dossiers_open (resolved_at=?)" in plan and "ix_dossiers_resolved (resolved_at>?)" in plan, plan
    assert "ix_dossiers_received" not in plan and "SCAN dossiers" not in plan, plan
    carried, open_, open_rounds, in_period, after = (
        plan_of(select(d.field_id, *(func.sum(cond) for cond in sql_conditions(period, None, rules, **known).values()))
                .where(*_sql_filters(period, None, rules), branch).group_by(d.field_id))[1]
        for branch, known in sql_branches(period, rules))
    assert "COVERING INDEX ix_dossiers_open (resolved_at=? AND supplement_rounds=? AND received_at<?)" in carried, \
        carried
    assert "COVERING INDEX ix_dossiers_open (resolved_at=? AND supplement_rounds=? AND received_at>?" in open_, open_
    assert "SUBQUERY" not in carried + open_
    assert "ix_dossiers_open (resolved_at=? AND supplement_rounds>?)" in open_rounds, open_rounds
    assert "ix_dossiers_resolved (resolved_at>? AND resolved_at<?)" in in_period, in_period
    assert "ix_dossiers_resolved (resolved_at>?)" in after, after
    bare = str(stmt.compile(dialect=postgresql.dialect()))
    assert "likely" not in bare and "dossiers.received_at < %(received_at_1)s" in bare
