"""QĐ 766, the parts issue 11 left open, each with a hand-computed case (docs/qd766.md):
3.3 multiplied by the 1.4 sync rate; 4.4 and 5.4 from their own data or an entry, else "missing";
monthly entries summed to the quarter and year."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import update

from tthc_core import qd766
from tthc_core.models import Dossier
from test_qd766 import NOW, Q2, Data, T, part


# --------------------------------------------------------------------------------------------
# 3.3 × the 1.4 sync rate ([F], qd766.md §2)
# --------------------------------------------------------------------------------------------

def _forty_dossiers(data: Data, synced: int | None) -> None:
    """40 dossiers received in Q2, 11 online; the first ``synced`` flagged as synced to the portal."""
    proc = data.procedure("2.000001", online_class="full")
    for i in range(40):
        data.dossier(proc, T(2022, 4, 1, 8) + dt.timedelta(hours=i), channel="online" if i < 11 else "direct",
                     due_at=T(2022, 7, 30), synced_to_portal=None if synced is None else i < synced)


def test_33_is_multiplied_by_the_14_sync_rate(db_url):
    data = Data(db_url)
    _forty_dossiers(data, synced=30)
    result = data.index()
    p14, p33 = part(result, "1.4"), part(result, "3.3")
    assert (p14["numerator"], p14["denominator"], p14["points"]) == (30, 40, Decimal("4.50"))
    # r = 11/40 × 30/40 = 0,20625 → 20,63 %; points = min(6, 6 × 0,20625 / 0,5) = 2,475 → 2,48 (half-up)
    assert (p33["numerator"], p33["denominator"]) == (11, 40)  # the counts the drill-down lists
    assert (p33["factor"], p33["rate"], p33["points"]) == (Decimal("75.00"), Decimal("20.63"), Decimal("2.48"))
    assert "75" in p33["note"]
    # the hint needs the factor: 6 points need 11 + n ≥ 0,5 × 40 ÷ 0,75 = 26,67 → 16 more online dossiers
    hint = next(h for h in result["hints"] if h["indicator"] == "3.3")
    assert hint["count"] == 16 and hint["points_after"] == Decimal("6.00")
    direct = [r["code"] for r in qd766.index_items(db_url, Q2, "3.3", now=NOW) if not r["in_numerator"]]
    with data.engine.begin() as conn:
        conn.execute(update(Dossier).where(Dossier.code.in_(direct[:16])).values(channel="online"))
    assert part(data.index(), "3.3")["points"] - p33["points"] == hint["gain"]


def test_33_uses_the_entered_national_count_of_14(db_url):
    data = Data(db_url)
    _forty_dossiers(data, synced=30)
    # the national reporting system counts 50 received: 1.4 = 30 / max(40, 50) = 60 %
    qd766.save_input(db_url, Q2, "1.4", None, 50, agency="S1")
    p33 = part(data.index(), "3.3")
    # 11/40 × 0,6 = 0,165 → 16,50 %; 6 × 0,165 / 0,5 = 1,98
    assert (p33["factor"], p33["rate"], p33["points"]) == (Decimal("60.00"), Decimal("16.50"), Decimal("1.98"))


def test_33_without_sync_data_is_scored_alone_and_says_so(db_url):
    data = Data(db_url)
    _forty_dossiers(data, synced=None)
    result = data.index()
    assert part(result, "1.4")["source"] == "missing"
    p33 = part(result, "3.3")
    # 11/40 = 27,5 % → 6 × 0,275 / 0,5 = 3,30 (qd766.md §6 B scores it so)
    assert (p33["factor"], p33["rate"], p33["points"]) == (None, Decimal("27.50"), Decimal("3.30"))
    assert "chưa nhân tỷ lệ đồng bộ 1.4" in p33["note"]


# --------------------------------------------------------------------------------------------
# Monthly entries make the quarter and the year
# --------------------------------------------------------------------------------------------

def test_monthly_entries_sum_to_the_quarter_and_the_year(db_url):
    data = Data(db_url)
    data.dossier(data.procedure("1.000001"), due_at=T(2022, 4, 20))
    qd766.save_input(db_url, "2022-04", "CT", 10, 20, agency="S1")
    qd766.save_input(db_url, "2022-05", "CT", "5", "10", agency="S1")
    ct = part(data.index(), "CT")
    # June is not entered: the quarter is not a short sum, it waits and names the month
    assert ct["source"] == "missing" and ct["points"] is None
    assert "chưa nhập tháng 6 năm 2022" in ct["note"]
    qd766.save_input(db_url, "2022-06", "CT", 15, 30, agency="S1")
    ct = part(data.index(), "CT")
    # (10 + 5 + 15) / (20 + 10 + 30) = 30/60 → 2 × 0,5 = 1,00
    assert (ct["source"], ct["numerator"], ct["denominator"], ct["points"]) == ("entered", 30, 60, Decimal("1.00"))
    # a month alone is its own entry
    june = part(qd766.compute_index(db_url, "2022-06", now=NOW), "CT")
    assert (june["numerator"], june["denominator"]) == (15, 30)

    # the year: Q1 entered as a quarter, Q2 from its months; Q3 and Q4 have not begun at C (30/06/2022)
    qd766.save_input(db_url, "2022-Q1", "CT", 30, 40, agency="S1")
    year = part(qd766.compute_index(db_url, "2022", now=T(2022, 6, 30, 12)), "CT")
    assert (year["numerator"], year["denominator"], year["points"]) == (60, 100, Decimal("1.20"))
    # a finished year needs Q3 and Q4 too
    year = part(qd766.compute_index(db_url, "2022", now=NOW), "CT")
    assert year["source"] == "missing" and "quý III năm 2022" in year["note"]

    # an entry for the quarter itself wins over its months, and the difference is said
    qd766.save_input(db_url, Q2, "CT", 36, 60, agency="S1")
    ct = part(data.index(), "CT")
    assert (ct["numerator"], ct["points"]) == (36, Decimal("1.20"))
    assert "khác số liệu đã nhập cho quý II năm 2022" in ct["note"]


def test_14_national_count_entered_by_month_sums_to_the_quarter(db_url):
    data = Data(db_url)
    proc = data.procedure("1.000001")
    for i in range(30):
        data.dossier(proc, T(2022, 4, 1, 8) + dt.timedelta(days=i * 2), due_at=T(2022, 7, 30), synced_to_portal=True)
    for month, count in (("2022-04", 20), ("2022-05", 15), ("2022-06", 15)):
        qd766.save_input(db_url, month, "1.4", None, count, agency="S1")
    p14 = part(data.index(), "1.4")
    # 30 synced / max(30 received here, 50 in the national system) = 60 % → 3,60
    assert (p14["numerator"], p14["denominator"], p14["points"], p14["source"]) == (30, 50, Decimal("3.60"), "entered")


def test_procedure_counts_entered_by_month_are_not_summed(db_url):
    data = Data(db_url)
    data.procedure("1.000001", online_class="full")
    data.procedure("1.000002")
    qd766.save_input(db_url, "2022-04", "3.1", 1, 2, agency="S1")
    qd766.save_input(db_url, "2022-05", "3.1", 1, 2, agency="S1")
    p31 = part(data.index(), "3.1")
    # a TTHC counts once in the quarter: the months are not added up (it would give 2/4); the catalogue's figure stays
    assert (p31["source"], p31["numerator"], p31["denominator"]) == ("computed", 1, 2)
    assert "cần nhập cho cả kỳ" in p31["note"]


# --------------------------------------------------------------------------------------------
# 4.4 and 5.4 have their data, or an entry, or say they wait
# --------------------------------------------------------------------------------------------

def test_44_counts_components_from_the_store_and_results_pushed_there(db_url):
    data = Data(db_url)
    proc = data.procedure("1.000001")
    for i in range(8):
        data.dossier(proc, T(2022, 4, 4, 8) + dt.timedelta(hours=i), due_at=T(2022, 7, 30))
    p44 = part(data.index(), "4.4")
    assert p44["source"] == "missing" and p44["points"] is None and "4.4" in p44["waiting_for"]
    with data.engine.begin() as conn:
        conn.execute(update(Dossier).where(Dossier.code.in_(["HS0001", "HS0002"])).values(result_pushed_to_store=True))
        conn.execute(update(Dossier).where(Dossier.code.in_(["HS0003", "HS0004", "HS0005"]))
                     .values(result_pushed_to_store=False))
        conn.execute(update(Dossier).where(Dossier.code == "HS0003").values(components_from_store=1))
    p44 = part(data.index(), "4.4")
    # 3 of 8 (2 pushed, 1 from the store) → min(4, 4 × 3/8) = 1,50
    assert (p44["source"], p44["numerator"], p44["denominator"], p44["points"]) == ("computed", 3, 8, Decimal("1.50"))


def test_44_and_dissatisfaction_come_from_a_dossier_table(db_url, tmp_path):
    from tthc_core.importer import import_file

    Data(db_url)
    rows = ["Mã hồ sơ,Mã cơ quan,Hình thức nộp,Ngày tiếp nhận,Ngày hẹn trả,Kết quả đưa vào kho,Đánh giá không hài lòng"]
    rows += [f"HS{i},S1,Trực tiếp,04/04/2022 08:00,30/07/2022,{'x' if i < 2 else ''},{'Có' if i == 3 else 'Không'}"
             for i in range(4)]
    (tmp_path / "hs.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = import_file(db_url, tmp_path / "hs.csv")
    assert result.written, [p.text() for p in result.problems]
    index = qd766.compute_index(db_url, Q2, now=NOW)
    # 4.4: 2 of 4 → 2,00; 5.4: 4 dossiers pending within their due date (none late), 1 rated badly:
    # r = 1 − (0 + 1)/4 = 0,75 → min(6, 6 × 0,75 / 0,9) = 5,00
    assert (part(index, "4.4")["numerator"], part(index, "4.4")["points"]) == (2, Decimal("2.00"))
    p54 = part(index, "5.4")
    assert (p54["source"], p54["rate"], p54["points"]) == ("computed", Decimal("75.00"), Decimal("5.00"))
    bad = rows[:1] + ["HS9,S1,Trực tiếp,04/04/2022 08:00,30/07/2022,có lẽ,"]
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n", encoding="utf-8")
    refused = import_file(db_url, tmp_path / "bad.csv")
    assert [(p.line, p.column) for p in refused.problems] == [(2, "Kết quả đưa vào kho")]


def test_54_waits_for_pakn_or_ratings_and_takes_an_entered_count(db_url):
    data = Data(db_url)
    proc = data.procedure("1.000001")
    for i in range(10):  # 2 of 10 late
        data.dossier(proc, T(2022, 4, 4, 8), due_at=T(2022, 4, 20), resolved_at=T(2022, 4, 25 if i < 2 else 10))
    p54 = part(data.index(), "5.4")
    assert p54["source"] == "missing" and p54["points"] is None and "PAKN" in p54["waiting_for"]
    # the officer enters 1 dossier with a PAKN or a dislike: r = 1 − (2 + 1)/10 = 0,7 → 6 × 0,7 / 0,9 = 4,67
    qd766.save_input(db_url, Q2, "5.4", 1, None, agency="S1")
    p54 = part(data.index(), "5.4")
    assert (p54["source"], p54["rate"], p54["points"]) == ("entered", Decimal("70.00"), Decimal("4.67"))
    import pytest

    with pytest.raises(qd766.Qd766Error, match="chỉ nhập tử số"):
        qd766.save_input(db_url, Q2, "5.4", 1, 10, agency="S1")


def test_54_drill_down_marks_late_dossiers_and_those_with_a_pakn(db_url):
    data = Data(db_url)
    proc = data.procedure("1.000001")
    data.dossier(proc, T(2022, 4, 4, 8), due_at=T(2022, 4, 20), resolved_at=T(2022, 4, 10))
    data.dossier(proc, T(2022, 4, 4, 8), due_at=T(2022, 4, 20), resolved_at=T(2022, 4, 25))  # late
    data.dossier(proc, T(2022, 4, 4, 8), due_at=T(2022, 4, 20), resolved_at=T(2022, 4, 10), rated_dissatisfied=True)
    data.dossier(proc, T(2022, 4, 4, 8), due_at=T(2022, 4, 20), resolved_at=T(2022, 4, 10), rated_dissatisfied=False)
    flags = [r["in_numerator"] for r in qd766.index_items(db_url, Q2, "5.4", now=NOW)]
    assert flags == [True, False, False, True]
    # r = 1 − (1 late + 1 disliked)/4 = 0,5 → 6 × 0,5 / 0,9 = 3,33
    p54 = part(data.index(), "5.4")
    assert (p54["rate"], p54["points"]) == (Decimal("50.00"), Decimal("3.33"))
