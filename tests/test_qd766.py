"""QĐ 766 index: the worked examples of docs/qd766.md §6 give exactly the stated points, on both engines;
the hints are real; the page's object, the CLI JSON and the workbook sheet agree on the demo."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import select, update

from tthc_core import qd766
from tthc_core.db import get_engine
from tthc_core.models import Agency, Dossier, Feedback, Procedure, SupplementRound
from tthc_core.rules import derive_dossier

Q2 = "2022-Q2"
NOW = dt.datetime(2030, 1, 1)  # Q2/2022 is long over: C = 30/06/2022 23:59:59
T = dt.datetime


# --------------------------------------------------------------------------------------------
# Building hand-made data
# --------------------------------------------------------------------------------------------

class Data:
    def __init__(self, url: str):
        self.url = url
        self.engine = get_engine(url)
        self.n = 0
        with self.engine.begin() as conn:
            self.agency = conn.execute(Agency.__table__.insert().values(code="S1", name="Sở Một", level="province")
                                       ).inserted_primary_key[0]

    def procedure(self, code: str, **facts) -> int:
        with self.engine.begin() as conn:
            return conn.execute(Procedure.__table__.insert().values(
                code=code, name=f"Thủ tục {code}", agency_id=self.agency, **facts)).inserted_primary_key[0]

    def dossier(self, procedure_id: int | None = None, received_at: dt.datetime = T(2022, 4, 1, 8), *,
                rounds: list[dict] = (), **values) -> int:
        self.n += 1
        row = {"code": f"HS{self.n:04d}", "agency_id": self.agency, "procedure_id": procedure_id,
               "channel": "direct", "status": "normal", "received_at": received_at, "due_at": None,
               "resolved_at": None, "supplement_rounds": len(rounds), **values}
        derive_dossier(row)
        with self.engine.begin() as conn:
            dossier_id = conn.execute(Dossier.__table__.insert().values(**row)).inserted_primary_key[0]
            for i, r in enumerate(rounds):
                conn.execute(SupplementRound.__table__.insert().values(dossier_id=dossier_id, position=i, **r))
        return dossier_id

    def index(self, **kw):
        return qd766.compute_index(self.url, Q2, now=NOW, **kw)


def part(result, indicator):
    return next(p for p in result["indicators"] if p["id"] == indicator)


def group(result, code):
    return next(g for g in result["groups"] if g["code"] == code)


# --------------------------------------------------------------------------------------------
# Rounding
# --------------------------------------------------------------------------------------------

def test_half_up_rounds_one_point_125_up_where_round_does_not():
    assert round(1.125, 2) == 1.12
    assert qd766.half_up(Fraction(9, 8)) == Decimal("1.13")
    # 6 × 3/16 = 1,125 points
    assert qd766.half_up(qd766.points_of(3, 16, Fraction(6), None)) == Decimal("1.13")
    assert qd766.half_up(Fraction(2, 3)) == Decimal("0.67")


# --------------------------------------------------------------------------------------------
# Example A: 2.1 in calendar Q2/2022
# --------------------------------------------------------------------------------------------

def _example_a(data: Data, variant: bool = False) -> None:
    p = data.procedure("1.000001")
    data.dossier(p, T(2022, 4, 4, 9), channel="online", resolved_at=T(2022, 4, 7, 15, 30), due_at=T(2022, 4, 12, 9, 15))
    data.dossier(p, T(2022, 4, 20, 9), resolved_at=T(2022, 4, 28, 10), due_at=T(2022, 4, 26, 14))
    data.dossier(p, T(2022, 5, 16, 10, 20), channel="postal", due_at=T(2022, 5, 24, 10, 20))
    data.dossier(p, T(2022, 5, 18, 8, 45), status="withdrawn", resolved_at=T(2022, 5, 20, 14, 10),
                 due_at=T(2022, 5, 25, 8, 45))
    first = {"requested_at": T(2022, 5, 26, 9), "supplied_at": T(2022, 6, 2, 10),
             "due_before": T(2022, 6, 6, 8, 30), "due_after": T(2022, 6, 13, 8, 30)}
    if variant:
        data.dossier(p, T(2022, 5, 23, 8, 30), rounds=[first], due_at=T(2022, 6, 13, 8, 30),
                     resolved_at=T(2022, 6, 15, 10))
    else:
        second = {"requested_at": T(2022, 6, 8, 9), "supplied_at": None, "due_before": T(2022, 6, 13, 8, 30)}
        data.dossier(p, T(2022, 5, 23, 8, 30), rounds=[first, second], status="suspended", due_at=T(2022, 6, 13, 8, 30))


def test_example_a_double_supplement_request_is_late_and_21_scores_8(db_url):
    data = Data(db_url)
    _example_a(data)
    result = data.index()
    p21 = part(result, "2.1")
    assert (p21["numerator"], p21["denominator"]) == (2, 5)
    assert p21["rate"] == Decimal("40.00")
    assert p21["points"] == Decimal("8.00")
    assert group(result, "TDGQ")["points"] == Decimal("8.00")
    flags = [row["in_numerator"] for row in qd766.index_items(db_url, Q2, "2.1", now=NOW)]
    assert flags == [True, False, False, True, False]


def test_example_a_variant_one_answered_round_subtracts_supplement_time_and_scores_12(db_url):
    data = Data(db_url)
    _example_a(data, variant=True)
    p21 = part(data.index(), "2.1")
    assert (p21["numerator"], p21["denominator"], p21["points"]) == (3, 5, Decimal("12.00"))


def test_21_row_rule_cases():
    c = T(2022, 6, 30, 23, 59, 59)
    # one open request: judged at the request against the due date before that round
    open_round = qd766.Round(T(2022, 6, 5, 9), None, due_before=T(2022, 6, 6, 8, 30))
    assert qd766.on_time_21(T(2022, 6, 1), T(2022, 6, 20), None, [open_round], c)
    late_request = qd766.Round(T(2022, 6, 7, 9), None, due_before=T(2022, 6, 6, 8, 30))
    assert not qd766.on_time_21(T(2022, 6, 1), T(2022, 6, 20), None, [late_request], c)
    # a date-only due date means the end of that day; the pending dossier is judged at C
    assert qd766.on_time_21(T(2022, 6, 1), T(2022, 6, 30), None, [], c)
    assert not qd766.on_time_21(T(2022, 6, 1), T(2022, 6, 29), None, [], c)
    # events after C are ignored: resolved in July counts as pending at C
    assert not qd766.on_time_21(T(2022, 6, 1), T(2022, 6, 10), T(2022, 7, 2), [], c)
    # no due date: the procedure's maximum time in its unit
    end = qd766.max_time_end(T(2022, 6, 1, 9), Decimal(48), "hours", None)
    assert qd766.on_time_21(T(2022, 6, 1, 9), None, T(2022, 6, 3, 9), [], c, end)
    assert not qd766.on_time_21(T(2022, 6, 1, 9), None, T(2022, 6, 3, 9, 1), [], c, end)


def test_never_accepted_dossiers_are_outside_21(db_url):
    data = Data(db_url)
    p = data.procedure("1.000001")
    data.dossier(p, due_at=T(2022, 4, 5), resolved_at=T(2022, 4, 4))
    data.dossier(p, due_at=T(2022, 4, 5), intake="not_accepted")
    data.dossier(p, due_at=T(2022, 4, 5), intake="refused")
    assert part(data.index(), "2.1")["denominator"] == 1


# --------------------------------------------------------------------------------------------
# Example B: dịch vụ công trực tuyến
# --------------------------------------------------------------------------------------------

def test_example_b_online_group_scores_6_70(db_url):
    data = Data(db_url)
    procs = [data.procedure(f"2.{i:06d}", online_class="full" if i < 20 else "partial" if i < 36 else None,
                            requires_paper_result=i == 0) for i in range(50)]
    # 400 dossiers, 120 online; 10 of the online ones for the paper-result procedure without an e-result
    for i in range(400):
        online = i < 120
        proc = procs[0] if i < 10 else procs[1 + i % 35]
        data.dossier(proc, T(2022, 4, 1, 8) + dt.timedelta(hours=i), channel="online" if online else "direct",
                     due_at=T(2022, 7, 30))
    # The 3.2 service list is catalogue-only data (qd766.md §7.4): 12 of 30 services, entered.
    qd766.save_input(db_url, Q2, "3.2", 12, 30, agency="S1")
    result = data.index()
    assert (part(result, "3.1")["numerator"], part(result, "3.1")["denominator"]) == (36, 50)
    assert part(result, "3.1")["points"] == Decimal("1.80")
    assert part(result, "3.2")["points"] == Decimal("1.60")
    assert part(result, "3.2")["source"] == "entered"
    assert (part(result, "3.3")["numerator"], part(result, "3.3")["denominator"]) == (110, 400)
    assert part(result, "3.3")["rate"] == Decimal("27.50")
    assert part(result, "3.3")["points"] == Decimal("3.30")
    assert group(result, "CLGQ")["points"] == Decimal("6.70")


def test_32_computed_counts_online_services_with_an_online_dossier(db_url):
    data = Data(db_url)
    procs = [data.procedure(f"3.{i:06d}", online_class="full") for i in range(30)]
    for proc in procs[:12]:
        data.dossier(proc, channel="online", due_at=T(2022, 4, 20))
    for proc in procs[12:20]:
        data.dossier(proc, channel="direct", due_at=T(2022, 4, 20))
    p32 = part(data.index(), "3.2")
    assert (p32["numerator"], p32["denominator"], p32["points"], p32["source"]) == (12, 30, Decimal("1.60"), "computed")


# --------------------------------------------------------------------------------------------
# Example C: thanh toán trực tuyến, with all-zero fee lines
# --------------------------------------------------------------------------------------------

def _example_c(data: Data) -> list[int]:
    procs = [data.procedure(f"4.{i:06d}", has_fee=True) for i in range(10)]
    fee = {"fee_lines": 1, "fee_total": Decimal(50000)}
    layout = [(0, "dvcqg"), (0, "dvcqg"), (1, "dvcqg"), (2, "local_gateway"), (3, "local_gateway"),
              (4, None), (4, None), (5, None)]
    for i, (proc, via) in enumerate(layout):
        data.dossier(procs[proc], T(2022, 5, 2, 8) + dt.timedelta(hours=i), paid_online_via=via,
                     due_at=T(2022, 5, 20), **fee)
    for proc in (6, 7):  # exempt: every fee line Gia 0
        data.dossier(procs[proc], T(2022, 5, 3, 8), fee_lines=1, fee_total=Decimal(0), due_at=T(2022, 5, 20))
    return procs


def test_example_c_payment_group_scores_6_25(db_url):
    data = Data(db_url)
    _example_c(data)
    result = data.index()
    p36, p35, p35b = part(result, "3.6"), part(result, "3.5"), part(result, "3.5b")
    assert (p36["numerator"], p36["denominator"], p36["rate"], p36["points"]) == (5, 8, Decimal("62.50"), Decimal("3.75"))
    assert (p35["numerator"], p35["denominator"], p35["points"]) == (6, 10, Decimal("1.50"))
    assert (p35b["numerator"], p35b["denominator"], p35b["points"]) == (4, 10, Decimal("1.00"))
    assert group(result, "TTTT")["points"] == Decimal("6.25")


# --------------------------------------------------------------------------------------------
# The hints are real
# --------------------------------------------------------------------------------------------

def test_hints_are_real_applying_them_gains_the_promised_points(db_url):
    data = Data(db_url)
    procs = _example_c(data)
    before = data.index()
    hints = {h["indicator"]: h for h in before["hints"] if h["kind"] == "gain"}

    # 3.5b: pay online in the procedures the hint names
    h35b = hints["3.5b"]
    assert h35b["count"] == 4 and h35b["gain"] == Decimal("1.00")
    assert h35b["text"].startswith("Thanh toán trực tuyến cho 4 thủ tục có phí")
    by_code = {f"4.{i:06d}": p for i, p in enumerate(procs)}
    for code in h35b["items"]:
        data.dossier(by_code[code], T(2022, 6, 1, 8), paid_online_via="dvcqg", fee_lines=1,
                     fee_total=Decimal(1000), due_at=T(2022, 6, 20))
    after = data.index()
    assert part(after, "3.5b")["points"] - part(before, "3.5b")["points"] == h35b["gain"]

    # 3.6: pay online the dossiers the drill-down shows outside the numerator
    h36 = {h["indicator"]: h for h in after["hints"] if h["kind"] == "gain"}["3.6"]
    unpaid = [r["code"] for r in qd766.index_items(db_url, Q2, "3.6", now=NOW) if not r["in_numerator"]]
    assert len(unpaid) == h36["count"]
    with data.engine.begin() as conn:
        conn.execute(update(Dossier).where(Dossier.code.in_(unpaid)).values(paid_online_via="local_gateway"))
    final = data.index()
    assert part(final, "3.6")["points"] - part(after, "3.6")["points"] == h36["gain"]
    assert part(final, "3.6")["points"] == Decimal("6.00")
    # ranked by points gained
    gains = [h["gain"] for h in before["hints"] if h["gain"] is not None]
    assert gains == sorted(gains, reverse=True)


def test_21_keep_hint_counts_pending_dossiers_due_in_the_running_period(db_url):
    data = Data(db_url)
    p = data.procedure("1.000001")
    data.dossier(p, T(2022, 6, 1, 8), due_at=T(2022, 6, 28), resolved_at=T(2022, 6, 2))
    data.dossier(p, T(2022, 6, 1, 8), due_at=T(2022, 6, 24))  # pending, due in the period
    data.dossier(p, T(2022, 6, 1, 8), due_at=T(2022, 7, 24))  # pending, due later
    now = T(2022, 6, 10, 12)
    result = qd766.compute_index(db_url, "2022-06", now=now)
    keep = next(h for h in result["hints"] if h["indicator"] == "2.1")
    assert keep["kind"] == "keep" and keep["count"] == 1
    assert part(result, "2.1")["points"] == Decimal("20.00")
    # it finishes late: 2.1 loses exactly what the hint said
    with data.engine.begin() as conn:
        conn.execute(update(Dossier).where(Dossier.code == "HS0002").values(resolved_at=T(2022, 6, 27), resolution="late"))
    later = qd766.compute_index(db_url, "2022-06", now=T(2022, 6, 30, 12))
    assert part(result, "2.1")["points"] - part(later, "2.1")["points"] == keep["gain"]


# --------------------------------------------------------------------------------------------
# Sources, inputs, rules, scope
# --------------------------------------------------------------------------------------------

def test_missing_data_is_missing_not_zero_and_an_input_fills_it(db_url):
    data = Data(db_url)
    data.dossier(data.procedure("1.000001"), due_at=T(2022, 4, 20))
    result = data.index()
    ct = part(result, "CT")
    assert ct["source"] == "missing" and ct["points"] is None and "CT" in ct["waiting_for"]
    assert any(w.startswith("CT:") for w in group(result, "MDSH")["waiting_for"])
    qd766.save_input(db_url, Q2, "CT", 30, 40, agency="S1")
    ct = part(data.index(), "CT")
    assert (ct["source"], ct["points"]) == ("entered", Decimal("1.50"))


def test_rules_are_dated_and_the_version_travels_with_the_score(db_url):
    data = Data(db_url)
    _example_c(data)
    assert data.index()["rules_version"] == dt.date(2022, 6, 23)
    qd766.set_rule(db_url, dt.date(2022, 6, 25), "3.6", "8")
    result = data.index()
    assert result["rules_version"] == dt.date(2022, 6, 25)
    assert part(result, "3.6")["max"] == Decimal("8.00") and part(result, "3.6")["points"] == Decimal("5.00")
    # a rule dated after the period does not apply to it
    qd766.set_rule(db_url, dt.date(2022, 7, 1), "3.6", "10")
    assert part(data.index(), "3.6")["max"] == Decimal("8.00")


def test_sub_units_count_with_their_agency_and_scope_is_enforced(db_url):
    from tthc_core.auth import AccessDenied, Scope

    data = Data(db_url)
    with data.engine.begin() as conn:
        child = conn.execute(Agency.__table__.insert().values(code="S1-X", name="Xã", level="commune",
                                                              parent_id=data.agency)).inserted_primary_key[0]
        conn.execute(Agency.__table__.insert().values(code="S2", name="Sở Hai", level="province"))
    p = data.procedure("1.000001")
    data.dossier(p, due_at=T(2022, 4, 20), resolved_at=T(2022, 4, 10))
    data.dossier(p, due_at=T(2022, 4, 20), agency_id=child)
    result = qd766.compute_index(db_url, Q2, agency="S1", now=NOW)
    assert part(result, "2.1")["denominator"] == 2
    assert [r["code"] for r in result["ranking"]] == ["S1-X"]
    viewer = Scope("v", "viewer", ("S2",))
    with pytest.raises(AccessDenied):
        qd766.compute_index(db_url, Q2, agency="S1", now=NOW, scope=viewer)
    assert part(qd766.compute_index(db_url, Q2, now=NOW, scope=viewer), "2.1")["denominator"] == 0


def test_pakn_on_time_and_satisfaction(db_url):
    data = Data(db_url)
    rows = [
        # answered on day 3, published next day: on time, liked
        dict(code="K1", sent_at=T(2022, 4, 4, 9), first_received_at=T(2022, 4, 4, 10), answer_started_at=T(2022, 4, 6, 9),
             published_at=T(2022, 4, 7, 9), handled_at=T(2022, 4, 7, 9), state="handled", likes=2, dislikes=0),
        # answered after 15 working days: late
        dict(code="K2", sent_at=T(2022, 4, 4, 9), first_received_at=T(2022, 4, 4, 10), answer_started_at=T(2022, 5, 10, 9),
             published_at=T(2022, 5, 10, 10), handled_at=T(2022, 5, 10, 10), state="handled"),
        # refused within 2 working days, but more dislikes than likes
        dict(code="K3", sent_at=T(2022, 4, 4, 9), rejected_at=T(2022, 4, 5, 9), handled_at=T(2022, 4, 5, 9),
             state="handled", likes=0, dislikes=3),
    ]
    with data.engine.begin() as conn:
        for row in rows:
            conn.execute(Feedback.__table__.insert().values(agency_id=data.agency, **row))
    result = data.index()
    assert (part(result, "5.2")["numerator"], part(result, "5.2")["denominator"]) == (2, 3)
    assert part(result, "5.2")["points"] == Decimal("4.00")
    assert (part(result, "5.3")["numerator"], part(result, "5.3")["denominator"]) == (1, 3)
    assert part(result, "5.3")["points"] == Decimal("2.00")


# --------------------------------------------------------------------------------------------
# The demo: every group has a figure or says what it waits for; one object everywhere
# --------------------------------------------------------------------------------------------

DEMO_NOW = dt.datetime(2026, 11, 27, 12)


def test_demo_every_group_has_a_figure_or_names_its_input_and_total_is_sum(demo_db):
    result = qd766.compute_index(demo_db, Q2, now=DEMO_NOW)
    assert len(result["groups"]) == 6
    for g in result["groups"]:
        computed = [p for p in result["indicators"] if p["group"] == g["code"] and not p["info"]
                    and p["source"] != "missing"]
        assert computed or g["waiting_for"], g
        assert g["points"] == sum((p["points"] or 0 for p in result["indicators"]
                                   if p["group"] == g["code"] and not p["info"]), Decimal(0))
    assert result["total"] == sum(g["points"] for g in result["groups"])
    assert sum(g["max"] for g in result["groups"]) == Decimal(100)
    # the reference agency's 2.1 is computed from its dossiers
    assert part(result, "2.1")["source"] == "computed" and part(result, "2.1")["denominator"] > 3000


def test_cli_json_and_workbook_sheet_agree_with_the_index(demo_url, tmp_path, capsys):
    from openpyxl import load_workbook

    from tthc_core.__main__ import main
    from tthc_core.exports.qd766_sheet import write_qd766_workbook

    assert main(["--db", demo_url, "index766", "--period", Q2, "--agency", "SLDTBXH", "--json",
                 "--now", "2026-11-27T12:00"]) == 0
    printed = json.loads(capsys.readouterr().out)
    index = qd766.compute_index(demo_url, Q2, agency="SLDTBXH", now=DEMO_NOW)
    assert Decimal(str(printed["total"])) == index["total"]
    assert [Decimal(str(g["points"])) for g in printed["groups"]] == [g["points"] for g in index["groups"]]
    assert [p["id"] for p in printed["indicators"]] == [p["id"] for p in index["indicators"]]
    assert [h["text"] for h in printed["hints"]] == [h["text"] for h in index["hints"]]

    out = write_qd766_workbook(index, tmp_path / "chi-so-766.xlsx")
    ws = load_workbook(out)["Chỉ số 766"]
    rows = list(ws.iter_rows(values_only=True))
    table = rows[:next(i for i, r in enumerate(rows) if r[0] == "Tổng điểm") + 1]
    cells = {row[0]: row for row in table if row[0]}
    assert Decimal(str(cells["Tổng điểm"][5])) == index["total"]
    for p in index["indicators"]:
        if p["points"] is not None:
            assert Decimal(str(cells[p["id"]][5])).quantize(Decimal("0.01")) == p["points"]


# --------------------------------------------------------------------------------------------
# PAKN import
# --------------------------------------------------------------------------------------------

PAKN_CSV = """Mã PAKN,Mã cơ quan,Ngày gửi,Ngày tiếp nhận,Ngày chờ công khai,Ngày công khai,Ngày xử lý xong,Lượt thích,Lượt không thích
K1,S1,04/04/2022 09:00,04/04/2022 10:00,06/04/2022 09:00,07/04/2022 09:00,07/04/2022 09:00,2,0
K2,S1,04/04/2022 09:00,04/04/2022 10:00,10/05/2022 09:00,10/05/2022 10:00,10/05/2022 10:00,0,0
"""


def test_pakn_import_is_all_or_nothing_and_feeds_52(db_url, tmp_path):
    data = Data(db_url)
    bad = PAKN_CSV.replace("10/05/2022 09:00", "31/02/2022 09:00")
    result = qd766.import_feedback(db_url, bad.encode(), "pakn.csv")
    assert [(p.line, p.column) for p in result.problems] == [(3, "Ngày chờ công khai")]
    assert result.written == 0 and part(data.index(), "5.2")["denominator"] == 0
    result = qd766.import_feedback(db_url, PAKN_CSV.encode(), "pakn.csv")
    assert not result.problems and result.written == 2
    p52 = part(data.index(), "5.2")
    assert (p52["numerator"], p52["denominator"], p52["points"]) == (1, 2, Decimal("3.00"))
    records = [{"MaPAKN": "K3", "MaDonVi": "S1", "NgayGui": "2022-04-05T09:00:00", "Trạng thái": "Đang xử lý"}]
    result = qd766.import_feedback(db_url, json.dumps({"data": records}).encode(), "pakn.json")
    assert result.written == 1
    with data.engine.connect() as conn:
        assert conn.scalar(select(Feedback.state).where(Feedback.code == "K3")) == "processing"


def test_catalogue_facts_are_importable_with_vietnamese_headers(db_url, tmp_path):
    from tthc_core.importer import import_file

    csv_text = ("Mã TTHC,Tên thủ tục,Mã cơ quan,Có phí, lệ phí,Kết quả bản giấy,Đối tượng thực hiện,"
                "Ngày quyết định công bố,Ngày hiệu lực căn cứ pháp lý,Ngày công khai,Số bộ phận công khai,Đơn vị thời hạn\n"
                "1.000001,Cấp phép,S1,x,Không,Công dân; Doanh nghiệp,01/04/2022,20/04/2022,05/04/2022,7,Ngày làm việc\n"
                "1.000002,Đăng ký,S1,,,,,,,,\n")
    Data(db_url)
    path = tmp_path / "tthc.csv"
    path.write_text(csv_text.replace("Có phí, lệ phí", '"Có phí, lệ phí"'), encoding="utf-8")
    result = import_file(db_url, path, kind="procedures")
    assert not result.problems, [p.text() for p in result.problems]
    with get_engine(db_url).connect() as conn:
        rows = {r.code: r for r in conn.execute(select(Procedure.__table__))}
    first, second = rows["1.000001"], rows["1.000002"]
    assert (first.has_fee, first.requires_paper_result, first.applicant_types) == (True, False, "business,citizen")
    assert (first.decision_at, first.legal_basis_effective_at, first.public_parts, first.time_unit) == (
        dt.date(2022, 4, 1), dt.date(2022, 4, 20), 7, "working_days")
    assert (second.has_fee, second.requires_paper_result, second.decision_at) == (None, None, None)
    p11 = part(qd766.compute_index(db_url, Q2, now=NOW), "1.1")
    assert (p11["numerator"], p11["denominator"], p11["source"]) == (1, 1, "computed")


def test_drill_down_lists_exactly_the_items_counted(demo_db):
    index = qd766.compute_index(demo_db, Q2, agency="SLDTBXH", now=DEMO_NOW)
    checked = 0
    for p in index["indicators"]:
        if p["info"] or p["source"] != "computed" or p["id"] == "5.4":
            continue
        items = qd766.index_items(demo_db, Q2, p["id"], agency="SLDTBXH", now=DEMO_NOW, limit=None)
        assert len(items) == p["denominator"], p["id"]
        assert sum(1 for i in items if i["in_numerator"]) == p["numerator"], p["id"]
        checked += 1
    assert checked >= 4  # 2.1, 3.1, 3.2, 3.3 at least


def test_example_a_variant_against_the_original_due_date_is_late(db_url):
    from tthc_core.models import Setting

    data = Data(db_url)
    _example_a(data, variant=True)
    with data.engine.begin() as conn:
        conn.execute(Setting.__table__.insert().values(key="qd766_due_basis", value="original"))
    p21 = part(data.index(), "2.1")
    assert (p21["numerator"], p21["points"]) == (2, Decimal("8.00"))  # qd766.md §6 A, last sentence


def test_33_hint_is_real_moving_the_named_number_of_dossiers_online_reaches_the_maximum(db_url):
    data = Data(db_url)
    proc = data.procedure("2.000001", online_class="full")
    for i in range(40):
        data.dossier(proc, T(2022, 4, 1, 8) + dt.timedelta(hours=i), channel="online" if i < 11 else "direct",
                     due_at=T(2022, 7, 30))
    before = data.index()
    hint = next(h for h in before["hints"] if h["indicator"] == "3.3")
    assert (hint["count"], hint["gain"]) == (9, Decimal("6.00") - part(before, "3.3")["points"])
    direct = [r["code"] for r in qd766.index_items(db_url, Q2, "3.3", now=NOW) if not r["in_numerator"]]
    with data.engine.begin() as conn:
        conn.execute(update(Dossier).where(Dossier.code.in_(direct[:hint["count"]])).values(channel="online"))
    after = data.index()
    assert part(after, "3.3")["points"] - part(before, "3.3")["points"] == hint["gain"]
