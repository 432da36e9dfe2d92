"""CSV downloads and file names that cannot hurt the person who opens them.

- A cell that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a leading
  apostrophe, so a spreadsheet shows it as text instead of running it (CSV injection).
- A file name built from user input keeps only ASCII letters, digits, ``.``, ``_`` and ``-``: no path,
  no control character, no leading dot.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``; anything else unchanged."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as CSV for Excel (UTF-8 with BOM), every text cell neutralised."""
    buffer = io.StringIO()
    safe = frame.map(neutralise)
    safe.columns = [neutralise(str(c)) for c in frame.columns]
    # Every text cell quoted: a carriage return inside a cell cannot break the row apart.
    safe.to_csv(buffer, index=False, quoting=csv.QUOTE_NONNUMERIC)
    return buffer.getvalue().encode("utf-8-sig")


def safe_filename(name: str, default: str = "tep") -> str:
    """``Hồ sơ/../quý II.csv`` → ``Ho-so-..-quy-II.csv`` without path separators; at most 120 chars."""
    text = str(name).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".-")
    return text[:120] or default
