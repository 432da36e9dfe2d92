"""Reporting periods in both conventions (domain.md §3)."""
import datetime as dt

import pytest

from tthc_core.periods import PeriodError, parse_period, period_containing

D = dt.date


@pytest.mark.parametrize("spec, start, end", [
    ("2022-Q1", D(2021, 12, 15), D(2022, 3, 14)),
    ("2022-Q2", D(2022, 3, 15), D(2022, 6, 14)),
    ("2022-Q3", D(2022, 6, 15), D(2022, 9, 14)),
    ("2022-Q4", D(2022, 9, 15), D(2022, 12, 14)),
    ("2022-H1", D(2021, 12, 15), D(2022, 6, 14)),
    ("2022-H2", D(2022, 6, 15), D(2022, 12, 14)),
    ("2022-9M", D(2021, 12, 15), D(2022, 9, 14)),
    ("2022", D(2021, 12, 15), D(2022, 12, 14)),
    ("2022-05", D(2022, 4, 15), D(2022, 5, 14)),
    ("2022-01", D(2021, 12, 15), D(2022, 1, 14)),
])
def test_report_mode_runs_from_the_15th_to_the_14th(spec, start, end):
    period = parse_period(spec)
    assert (period.mode, period.start, period.end) == ("report", start, end)


@pytest.mark.parametrize("spec, start, end", [
    ("2022-Q1", D(2022, 1, 1), D(2022, 3, 31)),
    ("2022-Q2", D(2022, 4, 1), D(2022, 6, 30)),
    ("2022-H2", D(2022, 7, 1), D(2022, 12, 31)),
    ("2022-9M", D(2022, 1, 1), D(2022, 9, 30)),
    ("2022", D(2022, 1, 1), D(2022, 12, 31)),
    ("2024-02", D(2024, 2, 1), D(2024, 2, 29)),
])
def test_calendar_mode_uses_natural_periods(spec, start, end):
    period = parse_period(spec, "calendar")
    assert (period.start, period.end) == (start, end)


def test_custom_range_is_the_same_in_both_modes():
    for mode in ("report", "calendar"):
        period = parse_period("2022-03-15..2022-06-14", mode)
        assert (period.start, period.end, period.kind) == (D(2022, 3, 15), D(2022, 6, 14), "custom")


def test_vietnamese_labels():
    assert parse_period("2022-Q2").label == "Quý II năm 2022 (15/03/2022 – 14/06/2022)"
    assert parse_period("2022-Q2", "calendar").label == "Quý II năm 2022 (01/04/2022 – 30/06/2022)"
    assert parse_period("2022-H1").name == "6 tháng đầu năm 2022"
    assert parse_period("2022-H2").name == "6 tháng cuối năm 2022"
    assert parse_period("2022-9M").name == "9 tháng năm 2022"
    assert parse_period("2022").name == "Năm 2022"
    assert parse_period("2022-05").name == "Tháng 5 năm 2022"
    assert parse_period("2022-03-15..2022-06-14").label == "Từ 15/03/2022 đến 14/06/2022"
    assert parse_period("2022-Q2").range_label == "Từ ngày 15/03/2022 đến ngày 14/06/2022"


def test_previous_periods_are_adjacent():
    for spec in ("2022-Q1", "2022-Q2", "2022-H1", "2022-01", "2022", "2022-03-15..2022-06-14"):
        for mode in ("report", "calendar"):
            period = parse_period(spec, mode)
            assert period.previous().end == period.start - dt.timedelta(days=1)
    assert parse_period("2022-Q1").previous().spec == "2021-Q4"
    assert parse_period("2022-01").previous().spec == "2021-12"
    assert parse_period("2022-Q2").shifted(3).spec == "2023-Q1"


@pytest.mark.parametrize("spec", ["2022-Q5", "2022-13", "Q2", "2022/Q2", "", "2022-06-14..2022-03-15",
                                  "2022-02-30..2022-03-01"])
def test_unreadable_specs_give_a_vietnamese_error(spec):
    with pytest.raises(PeriodError) as err:
        parse_period(spec)
    assert "kỳ" in str(err.value).lower() or "ngày" in str(err.value).lower() or "tháng" in str(err.value).lower()


def test_unknown_mode_is_refused():
    with pytest.raises(PeriodError):
        parse_period("2022-Q2", "fiscal")


def test_period_containing_follows_the_cut_off_day():
    assert period_containing(D(2022, 6, 14)).spec == "2022-Q2"
    assert period_containing(D(2022, 6, 15)).spec == "2022-Q3"
    assert period_containing(D(2022, 12, 20)).spec == "2023-Q1"
    assert period_containing(D(2022, 6, 15), mode="calendar").spec == "2022-Q2"
    assert period_containing(D(2022, 5, 20), kind="month").spec == "2022-06"
