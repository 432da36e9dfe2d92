"""Downloads that cannot hurt: formula cells neutralised, file names without paths or surprises."""
import io

import pandas as pd
import pytest

from tthc_core.exports.csv import csv_bytes, neutralise, safe_filename


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_like_cells_become_text(cell):
    assert neutralise(cell) == "'" + cell
    frame = pd.DataFrame({"=Lĩnh vực": [cell], "Số": [3]})
    back = pd.read_csv(io.BytesIO(csv_bytes(frame)), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns) == ["'=Lĩnh vực", "Số"]
    assert back.iloc[0, 0].startswith("'") and back.iloc[0, 0].strip("'\r\n") == cell.strip("\r")
    assert back.iloc[0, 1] == "3"


def test_ordinary_cells_and_numbers_are_unchanged():
    assert neutralise("Việc làm") == "Việc làm" and neutralise(-2) == -2 and neutralise(None) is None
    assert csv_bytes(pd.DataFrame({"a": ["Hộ tịch"]})).startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the accents


@pytest.mark.parametrize("name, safe", [
    ("ho-so.csv", "ho-so.csv"),
    ("Hồ sơ quý II.csv", "Ho-so-quy-II.csv"),
    ("../../etc/passwd", "etc-passwd"),
    ("C:\\Windows\\evil.bat", "C-Windows-evil.bat"),
    (".hidden", "hidden"),
    ("a\x00b\nc.csv", "a-b-c.csv"),
    ("Đơn vị/«x».xlsx", "Don-vi-x-.xlsx"),
    ("", "tep"),
    ("x" * 500, "x" * 120),
])
def test_file_names_from_user_input_are_made_safe(name, safe):
    assert safe_filename(name) == safe
