"""The Vietnamese working-day calendar and due-date filling (domain.md §5)."""
import datetime as dt

from sqlalchemy import func, select

from tthc_core.db import get_engine
from tthc_core.models import Dossier
from tthc_core.store import ensure_agency, field_ids, write_dossiers, write_procedures
from tthc_core.workdays import WorkCalendar

D = dt.date
T = dt.datetime


def test_q2_2022_report_period_has_63_working_days():
    assert WorkCalendar().working_days_between(D(2022, 3, 15), D(2022, 6, 14)) == 63


def test_tet_and_national_holidays_are_off():
    cal = WorkCalendar()
    for day in (D(2022, 2, 1), D(2022, 2, 4), D(2022, 4, 11), D(2022, 5, 2), D(2022, 5, 3), D(2022, 9, 1),
                D(2022, 9, 2), D(2023, 1, 2)):
        assert not cal.is_working(day), day
    assert cal.is_working(D(2022, 6, 14))
    assert not cal.is_working(D(2022, 6, 18))  # Saturday


def test_due_date_counts_from_the_next_working_day():
    cal = WorkCalendar()
    # Received Friday 29/04/2022: 30/4, 1/5 weekend-holidays, 2/5 and 3/5 substitute days off.
    assert cal.due_date(T(2022, 4, 29, 9), 1) == T(2022, 5, 4)
    assert cal.due_date(T(2022, 4, 29, 9), 3) == T(2022, 5, 6)
    # Received Monday 13/06/2022, 5 working days: 14, 15, 16, 17, 20 June.
    assert cal.due_date(T(2022, 6, 13, 10), 5) == T(2022, 6, 20)
    # A half day rounds up to a whole day.
    assert cal.due_date(T(2022, 6, 13, 10), 0.5) == T(2022, 6, 14)


def test_same_day_procedure_with_a_15h_cut_off():
    cal = WorkCalendar()
    cutoff = dt.time(15, 0)
    assert cal.due_date(T(2022, 6, 13, 14, 59), 0, cutoff) == T(2022, 6, 13)
    assert cal.due_date(T(2022, 6, 13, 15, 0), 0, cutoff) == T(2022, 6, 14)
    assert cal.due_date(T(2022, 6, 17, 16, 0), 0, cutoff) == T(2022, 6, 20)  # Friday late → Monday
    assert cal.due_date(T(2022, 6, 18, 9, 0), 0, cutoff) == T(2022, 6, 20)  # Saturday → Monday


def test_override_table_swaps_a_saturday_for_a_weekday():
    cal = WorkCalendar({D(2022, 6, 18): True, D(2022, 6, 17): False})
    assert cal.is_working(D(2022, 6, 18)) and not cal.is_working(D(2022, 6, 17))
    assert cal.due_date(T(2022, 6, 16, 9), 1) == T(2022, 6, 18)


def test_missing_due_date_is_filled_from_the_procedure(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        agency = ensure_agency(conn, "A", "Cơ quan A")
        field = field_ids(conn, ["Việc làm"])["Việc làm"]
        write_procedures(conn, [dict(agency_id=agency, code="1.000001", name="Thủ tục", field_id=field,
                                     processing_days=5)])
        proc = conn.scalar(select(func.min(Dossier.id)))  # nothing yet
        assert proc is None
        from tthc_core.models import Procedure
        proc_id = conn.scalar(select(Procedure.id))
        write_dossiers(conn, [
            dict(code="X1", agency_id=agency, procedure_id=proc_id, channel="direct", received_at=T(2022, 6, 13, 10)),
            dict(code="X2", agency_id=agency, procedure_id=None, channel="direct", received_at=T(2022, 6, 13, 10)),
        ])
    with engine.connect() as conn:
        rows = {r.code: r for r in conn.execute(select(Dossier))}
    assert rows["X1"].due_at == T(2022, 6, 20) and rows["X1"].due_estimated
    assert rows["X1"].field_id == field
    assert rows["X2"].due_at is None and not rows["X2"].due_estimated
