"""QĐ 766 rules (maxima, thresholds, grade bands) live in dated tables the admin changes: validated in
Vietnamese, audited, and a rule dated later applies only to periods ending from that date."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from tthc_core import qd766
from tthc_core.__main__ import main
from tthc_core.auth import AccessDenied, Scope, audit_log
from test_qd766 import NOW, Q2, Data, T, _example_c, part


def test_a_later_rule_applies_only_to_periods_from_its_date(db_url):
    data = Data(db_url)
    procs = _example_c(data)  # Q2: 3.6 = 5/8 → 3,75 of 6
    # the same dossiers again in July and August (received in Q3)
    for proc, received in ((procs[0], T(2022, 7, 4, 8)), (procs[5], T(2022, 8, 4, 8))):
        data.dossier(proc, received, paid_online_via="dvcqg" if proc == procs[0] else None, fee_lines=1,
                     fee_total=Decimal(50000), due_at=received + dt.timedelta(days=10))
    qd766.set_rule(db_url, "2022-07-01", "3.6", "8", "50")
    q2 = part(data.index(), "3.6")
    assert (q2["max"], q2["threshold"], q2["points"]) == (Decimal("6.00"), None, Decimal("3.75"))
    june = qd766.compute_index(db_url, "2022-06", now=NOW)
    assert part(june, "3.6")["max"] == Decimal("6.00") and june["rules_version"] == dt.date(2022, 6, 23)
    july = qd766.compute_index(db_url, "2022-07", now=NOW)
    # July: 1/1 paid online → min(8, 8 × 1 / 0,5) = 8
    assert (part(july, "3.6")["max"], part(july, "3.6")["points"]) == (Decimal("8.00"), Decimal("8.00"))
    assert july["rules_version"] == dt.date(2022, 7, 1)
    q3 = qd766.compute_index(db_url, "2022-Q3", now=NOW)
    # Q3: 1/2 → min(8, 8 × 0,5 / 0,5) = 8
    assert (part(q3, "3.6")["numerator"], part(q3, "3.6")["denominator"], part(q3, "3.6")["points"]) == (
        1, 2, Decimal("8.00"))


def test_rule_input_is_checked_in_vietnamese(db_url):
    Data(db_url)
    cases = [
        (("2022-07-01", "9.9", "6"), "Không có chỉ số «9.9»"),
        (("2022-07-01", "3.6", "sáu"), "Điểm tối đa «sáu» không phải là số"),
        (("2022-07-01", "3.6", "120"), "phải từ 0 đến 100"),
        (("2022-07-01", "3.6", "6", "0"), "Ngưỡng (0 %) phải lớn hơn 0"),
        (("2022-07-01", "3.6", "6", "150 %"), "Ngưỡng (150 %) phải lớn hơn 0 và không quá 100 %"),
        (("2021-01-01", "3.6", "6"), "phải từ 23/06/2022"),
        (("01/07/2022", "3.6", "6"), "Ngày áp dụng «01/07/2022» không hợp lệ"),
    ]
    for args, message in cases:
        with pytest.raises(qd766.Qd766Error, match=re.escape(message)):
            qd766.set_rule(db_url, *args)
    assert qd766.parse_rule("2,5", "80,5 %") == (Decimal("2.5"), Decimal("0.805"))
    assert qd766.parse_rule("6", "tuyến tính") == (Decimal(6), None)
    with pytest.raises(qd766.Qd766Error, match="Bậc thấp nhất phải bắt đầu từ 0"):
        qd766.set_grades(db_url, "2023-01-01", [("Tốt", "70"), ("Khá", "50")])
    with pytest.raises(qd766.Qd766Error, match="trùng tên"):
        qd766.set_grades(db_url, "2023-01-01", [("Tốt", "70"), ("Tốt", "0")])
    officer = Scope("cb", "officer", ("S1",))
    with pytest.raises(AccessDenied):
        qd766.set_rule(db_url, "2022-07-01", "3.6", "6", scope=officer)


def test_grade_bands_change_from_their_date_and_writes_are_audited(db_url):
    data = Data(db_url)
    data.dossier(data.procedure("1.000001"), due_at=T(2022, 4, 20), resolved_at=T(2022, 4, 10))
    admin = Scope("quantri", "admin", None)
    before = data.index()
    qd766.set_grades(db_url, "2022-06-24", [("Đạt", "10"), ("Chưa đạt", "0")], scope=admin)
    after = data.index()
    assert after["total"] == before["total"] and after["total"] >= 10
    assert after["grade"] == "Đạt" and after["rules_version"] == dt.date(2022, 6, 24)
    qd766.set_rule(db_url, "2022-07-01", "2.1", "25", scope=admin)
    entries = audit_log(db_url, limit=5)
    assert [(e["username"], e["action"]) for e in entries[:2]] == [("quantri", "qd766_rule"), ("quantri", "qd766_grades")]
    assert entries[0]["detail"] == "2.1 từ 01/07/2022: tối đa 25 điểm, tuyến tính"
    assert entries[1]["detail"] == "từ 24/06/2022: Đạt ≥ 10, Chưa đạt ≥ 0"


def test_cli_lists_and_sets_rules(db_url, capsys):
    Data(db_url)
    assert main(["--db", db_url, "rules766", "set", "--from", "2022-10-01", "--indicator", "4.2", "--max", "4",
                 "--threshold", "80"]) == 0
    assert "Đã ghi bảng điểm chỉ số 4.2 từ ngày 01/10/2022." in capsys.readouterr().out
    assert main(["--db", db_url, "rules766", "list", "--at", "2022-12-31", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    row = next(r for r in table["rules"] if r["indicator"] == "4.2")
    assert (row["max"], row["threshold"], row["valid_from"]) == (4.0, 80.0, "2022-10-01")
    assert table["total_max"] == 100.0
    assert main(["--db", db_url, "rules766", "list", "--at", "2022-09-30"]) == 0
    out = capsys.readouterr().out
    assert "4.2" in out and "tuyến tính" in out and "Tổng điểm tối đa: 100,00" in out
    assert main(["--db", db_url, "rules766", "set", "--from", "2022-10-01", "--indicator", "4.2", "--max", "x"]) == 2
    assert "Lỗi: Điểm tối đa «x» không phải là số." in capsys.readouterr().err
    assert main(["--db", db_url, "rules766", "grades", "--from", "2023-01-01", "--band", "Tốt"]) == 2
    assert "cần dạng TÊN=ĐIỂM" in capsys.readouterr().err
    assert main(["--db", db_url, "rules766", "grades", "--from", "2023-01-01", "--band", "Tốt=60",
                 "--band", "Chưa tốt=0"]) == 0
    entries = audit_log(db_url, limit=1)
    assert entries[0]["action"] == "qd766_grades" and entries[0]["username"].startswith("cli")
