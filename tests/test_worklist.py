"""The "cần xử lý" lists (tthc_core/worklist.py) on a hand-built case, on both engines.

Thursday 9 June 2022, agency A: one dossier due tomorrow (Friday), one due in 4 working days across
the weekend (Wednesday 15), one overdue by 1 day, one by 30 days; around them the dossiers that must
not be listed (resolved, suspended, another agency's).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from tthc_core import worklist
from tthc_core.db import get_engine
from tthc_core.models import Dossier
from tthc_core.stats import compute_stats
from tthc_core.store import ensure_agency, field_ids, write_dossiers

T = dt.datetime
THURSDAY = dt.date(2022, 6, 9)


def hand_built(url: str) -> str:
    cases = [
        # code, agency, received, due, resolved, status, handling unit
        ("TOMORROW", "A", T(2022, 6, 1, 9), T(2022, 6, 10), None, "normal", "Phòng Việc làm"),
        ("FOUR-DAYS", "A", T(2022, 6, 2, 9), T(2022, 6, 15), None, "normal", None),
        ("LATE-1", "A", T(2022, 5, 20, 9), T(2022, 6, 8), None, "normal", "Phòng Người có công"),
        ("LATE-30", "A", T(2022, 4, 20, 9), T(2022, 5, 10), None, "normal", None),
        ("RESOLVED", "A", T(2022, 6, 1, 9), T(2022, 6, 10), T(2022, 6, 8, 10), "normal", None),
        ("SUSPENDED", "A", T(2022, 5, 1, 9), T(2022, 6, 1), None, "suspended", None),
        ("OTHER", "B", T(2022, 6, 1, 9), T(2022, 6, 10), None, "normal", None),
    ]
    with get_engine(url).begin() as conn:
        agencies = {code: ensure_agency(conn, code, f"Cơ quan {code}") for code in ("A", "B")}
        field = field_ids(conn, ["Việc làm"])["Việc làm"]
        write_dossiers(conn, [dict(code=code, agency_id=agencies[agency], field_id=field, procedure_id=None,
                                   channel="direct", status=status, received_at=received, due_at=due,
                                   resolved_at=resolved)
                              for code, agency, received, due, resolved, status, _ in cases])
        # The national sync reader writes the handling unit (PhongBanXuLy); set it directly here.
        for code, *_, unit in cases:
            conn.execute(update(Dossier).where(Dossier.code == code).values(handling_unit=unit))
    return url


def test_overdue_lists_the_longest_overdue_first_with_whole_days(db_url):
    rows = worklist.overdue(hand_built(db_url), THURSDAY, agency="A")
    assert [(r["code"], r["days_overdue"]) for r in rows] == [("LATE-30", 30), ("LATE-1", 1)]
    assert rows[1]["handling_unit"] == "Phòng Người có công"
    assert rows[0]["agency_name"] == "Cơ quan A" and rows[0]["field"] == "Việc làm"


def test_due_soon_counts_working_days_across_the_weekend(db_url):
    hand_built(db_url)
    three = worklist.due_soon(db_url, THURSDAY, 3, agency="A")
    assert [(r["code"], r["working_days_left"]) for r in three] == [("TOMORROW", 1)]
    assert three[0]["handling_unit"] == "Phòng Việc làm"
    four = worklist.due_soon(db_url, THURSDAY, 4, agency="A")
    assert [(r["code"], r["working_days_left"]) for r in four] == [("TOMORROW", 1), ("FOUR-DAYS", 4)]
    # Every agency: B's dossier due tomorrow joins.
    assert {r["code"] for r in worklist.due_soon(db_url, THURSDAY, 3)} == {"TOMORROW", "OTHER"}


def test_a_dossier_due_today_is_due_soon_and_overdue_the_next_day(db_url):
    hand_built(db_url)
    friday = dt.date(2022, 6, 10)
    assert [(r["code"], r["working_days_left"]) for r in worklist.due_soon(db_url, friday, 0, agency="A")] == [
        ("TOMORROW", 0)]
    monday = dt.date(2022, 6, 13)
    assert "TOMORROW" in {r["code"] for r in worklist.overdue(db_url, monday, agency="A")}


def test_the_overdue_count_is_column_13_of_the_running_quarter(db_url):
    hand_built(db_url)
    counts = worklist.counts(db_url, THURSDAY, 3, agency="A")
    assert counts == {"overdue": 2, "due_soon": 1}
    q2 = compute_stats(db_url, "2022-Q2", agency="A", as_of=THURSDAY)["dossiers"]["total"]
    assert q2["pending_overdue"] == counts["overdue"]


def test_the_day_judged_is_the_period_end_or_today_while_it_runs():
    from tthc_core.periods import parse_period

    q2 = parse_period("2022-Q2", "report")  # 15/03/2022 – 14/06/2022
    assert worklist.judged_on(q2, THURSDAY) == THURSDAY
    assert worklist.judged_on(q2, dt.date(2026, 11, 27)) == dt.date(2022, 6, 14)
