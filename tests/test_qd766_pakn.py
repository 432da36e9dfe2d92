"""PAKN records import like dossiers: the CLI (by headers or --format pakn), CSV / XLSX / JSON, all or
nothing with row- and column-named Vietnamese problems; what they feed (5.2, 5.4) is hand-computed."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select

from tthc_core import qd766
from tthc_core.__main__ import main
from tthc_core.db import get_engine
from tthc_core.importer import import_file
from tthc_core.models import Feedback, ImportLog
from test_qd766 import NOW, Q2, Data, T, part
from test_pages import app, writable_copy, writable_demo  # noqa: F401 - fixtures

PAKN = """Mã PAKN,Mã cơ quan,Mã hồ sơ,Ngày gửi,Ngày tiếp nhận,Ngày chờ công khai,Ngày công khai,Ngày xử lý xong,Lượt thích,Lượt không thích
K1,S1,HS0001,04/04/2022 09:00,04/04/2022 10:00,06/04/2022 09:00,07/04/2022 09:00,07/04/2022 09:00,2,0
K2,S1,,04/04/2022 09:00,04/04/2022 10:00,10/05/2022 09:00,10/05/2022 10:00,10/05/2022 10:00,0,3
K3,S1,,05/04/2022 09:00,,,,,,
"""


def _feedback_count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.scalar(select(func.count()).select_from(Feedback))


def test_cli_imports_a_pakn_csv_told_by_its_headers_all_or_nothing(db_url, tmp_path, capsys):
    data = Data(db_url)
    proc = data.procedure("1.000001")
    for i in range(4):  # HS0001..HS0004, pending within their due date
        data.dossier(proc, T(2022, 4, 4, 8), due_at=T(2022, 7, 30))
    bad = tmp_path / "phan-anh.csv"
    bad.write_text(PAKN.replace("0,3", "0,ba").replace("K3,S1", "K3,XX"), encoding="utf-8")
    assert main(["--db", db_url, "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Dòng 3, cột «Lượt không thích»: «ba» không phải số nguyên không âm" in err
    assert "Dòng 4, cột «Mã cơ quan»: không có cơ quan «XX»" in err
    assert _feedback_count(db_url) == 0  # nothing written: K1 was valid

    good = tmp_path / "phan-anh-2.csv"
    good.write_text(PAKN, encoding="utf-8")
    assert main(["--db", db_url, "import", str(good)]) == 0
    assert "Đã nhập 3 PAKN." in capsys.readouterr().out
    assert _feedback_count(db_url) == 3
    with get_engine(db_url).connect() as conn:  # logged and audited like any import
        assert conn.scalar(select(ImportLog.kind).order_by(ImportLog.id.desc())) == "pakn"

    index = qd766.compute_index(db_url, Q2, now=NOW)
    # 5.2: K1 answered within 15 WD and published in 1 day; K2 answered on 10/05 (> 15 WD); K3 never
    # received and past 15 WD at C → 1/3 → 2,00
    p52 = part(index, "5.2")
    assert (p52["numerator"], p52["denominator"], p52["points"]) == (1, 3, Decimal("2.00"))
    # 5.4: 4 dossiers, none late, HS0001 has a PAKN: r = 1 − 1/4 = 0,75 → 6 × 0,75 / 0,9 = 5,00
    p54 = part(index, "5.4")
    assert (p54["source"], p54["rate"], p54["points"]) == ("computed", Decimal("75.00"), Decimal("5.00"))


def test_pakn_json_is_told_from_the_national_json_and_xlsx_by_format(db_url, tmp_path):
    Data(db_url)
    records = [{"MaPAKN": "J1", "MaDonVi": "S1", "NgayGui": "2022-04-05T09:00:00", "Trạng thái": "Đang xử lý"},
               {"MaPAKN": "J2", "MaDonVi": "S1", "NgayGui": "2022-04-06T09:00:00"}]
    result = import_file(db_url, json.dumps({"data": records}).encode(), filename="pakn.json")
    assert (result.kind, result.written, result.rows_read) == ("pakn", True, 2)

    frame = pd.DataFrame({"Mã PAKN": ["X1", "X2"], "Mã cơ quan": ["S1", "S1"],
                          "Ngày gửi": ["07/04/2022 09:00", "32/04/2022"]})
    path = tmp_path / "bang.xlsx"
    frame.to_excel(path, index=False)
    refused = import_file(db_url, path, format="pakn")
    assert [p.text() for p in refused.problems] == [
        "Dòng 3, cột «Ngày gửi»: không đọc được ngày «32/04/2022».",
        "Dòng 3, cột «Ngày gửi»: thiếu ngày gửi."]
    assert not refused.written and _feedback_count(db_url) == 2
    frame.loc[1, "Ngày gửi"] = "08/04/2022 09:00"
    frame.to_excel(path, index=False)
    assert import_file(db_url, path, format="pakn").written
    assert _feedback_count(db_url) == 4


def test_a_dossier_file_is_not_taken_for_pakn(db_url, tmp_path):
    Data(db_url)
    path = tmp_path / "hs.csv"
    path.write_text("Mã hồ sơ,Mã cơ quan,Hình thức nộp,Ngày tiếp nhận\nHS1,S1,Trực tiếp,04/04/2022 08:00\n",
                    encoding="utf-8")
    result = import_file(db_url, path)
    assert result.kind == "dossiers" and result.written


def test_data_page_uploads_pakn_all_or_nothing(app, writable_copy):
    from test_pages import PAGES, upload

    header = "Mã PAKN,Mã cơ quan,Ngày gửi,Ngày xử lý xong\n"
    at = upload(app("du_lieu", agency="SLDTBXH", period="2022-Q2"), "pakn.csv",
                (header + "P1,SLDTBXH,04/04/2022 09:00,\nP2,SLDTBXH,hôm qua,\n").encode())
    assert not at.exception
    problems = at.dataframe[0].value
    assert (problems.iloc[0]["Dòng"], problems.iloc[0]["Cột"]) == ("3", "Ngày gửi")
    assert at.button(key="dl_import").disabled and at.checkbox(key="dl_skip").disabled
    assert _feedback_count(writable_copy) == 0

    at = app("du_lieu", agency="SLDTBXH", period="2022-Q2")
    upload(at, "pakn-2.csv", (header + "P1,SLDTBXH,04/04/2022 09:00,\nP2,SLDTBXH,05/04/2022 09:00,\n").encode())
    assert "Kiểm tra (chưa ghi gì): 2 PAKN hợp lệ." in [s.value for s in at.success]
    at.button(key="dl_import").click().run()
    assert "Đã nhập 2 PAKN." in [s.value for s in at.success]
    assert _feedback_count(writable_copy) == 2
