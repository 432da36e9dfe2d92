"""Reading dossier and procedure exports (CSV or XLSX) into the database.

One entry point, :func:`import_file`, used by the command line and the upload page alike:

1. read the file into a grid of text cells, keeping the line numbers the user sees (the record number
   of a CSV, as Excel shows it; the row number of the first sheet of a workbook);
2. find the header row (the first of the top rows that names known columns) and map its headers,
   canonical (``received_at``) or Vietnamese (``Ngày tiếp nhận``), to canonical columns;
3. parse and check every value, column by column with pandas, collecting every problem of every row;
4. write all rows in ONE transaction (agencies, fields and procedures created on the way included),
   or nothing at all when any row is rejected, unless the caller asked to skip invalid rows.

Bad input never raises: an unreadable file, a missing column or a wrong date is a :class:`Problem`
in the returned :class:`ImportResult`, with the line, the column as written in the file and a
Vietnamese message the officer can act on.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from . import store
from .db import get_engine
from .problems import Problem
from .formatting import fmt_date, fmt_int
from .models import Agency, Procedure

KINDS = ("dossiers", "procedures")
KIND_NOUNS = {"dossiers": "hồ sơ", "procedures": "thủ tục"}

# How many top rows may hold titles above the header row.
HEADER_SEARCH_ROWS = 30


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

@dataclass
class ImportResult:
    kind: str | None = None  # "dossiers" | "procedures" | None when the file could not be read
    rows_read: int = 0  # non-empty data rows below the header
    rows_valid: int = 0
    added: int = 0  # new codes (or, on a dry run, that would be new)
    updated: int = 0  # codes already in the database
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False
    columns: dict[str, str] = field(default_factory=dict)  # canonical → header as written
    ignored_columns: list[str] = field(default_factory=list)  # headers no alias matched (STT, …)
    # The valid rows as parsed: ``line`` then canonical columns (dossiers: code, agency_code, procedure_code,
    # procedure_name, field, channel, status, received_at, due_at, resolved_at, apology_count).
    preview: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def rejected(self) -> int:
        """Number of data rows with at least one problem."""
        return len({p.line for p in self.problems if p.raw is not None})

    @property
    def file_problems(self) -> list[Problem]:
        """Problems of the file itself (unreadable, no header, duplicate columns, …)."""
        return [p for p in self.problems if p.raw is None]

    def summary(self) -> str:
        """One Vietnamese line: what was (or would be) written and what was rejected."""
        noun = KIND_NOUNS.get(self.kind or "", "dòng")
        split = f"({fmt_int(self.added)} mới, {fmt_int(self.updated)} cập nhật)"
        counts = f"{fmt_int(self.rows_valid)} {noun} {split}"
        rejected = f"{fmt_int(self.rejected)} dòng bị loại"
        if self.dry_run:
            if self.file_problems:
                return f"Kiểm tra: không nhập được tệp: {self.file_problems[0].message.rstrip('.')}."
            return f"Kiểm tra (chưa ghi gì): {fmt_int(self.rows_valid)} {noun} hợp lệ {split}; {rejected}."
        if self.written:
            return f"Đã nhập {counts}; {rejected}."
        if self.file_problems:
            return f"Không ghi gì: {self.file_problems[0].message.rstrip('.')}."
        if self.rejected:
            return f"Không ghi gì: {fmt_int(self.rejected)} dòng lỗi."
        return f"Không ghi gì: tệp không có {noun} hợp lệ nào."

    def rejects_frame(self) -> pd.DataFrame:
        """One line per rejected row: ``Dòng``, ``Cột``, ``Lý do`` and the row's original columns."""
        groups: dict[int, list[Problem]] = {}  # a data row's problems together; file problems alone
        for number, problem in enumerate(self.problems):
            groups.setdefault(problem.line if problem.raw is not None else -1 - number, []).append(problem)
        records = []
        for problems in groups.values():
            record = {
                "Dòng": problems[0].line,
                "Cột": ", ".join(dict.fromkeys(p.column for p in problems if p.column)),
                "Lý do": "; ".join(p.message.rstrip(".") for p in problems),
            }
            for header, value in (problems[0].raw or {}).items():
                record[header if header not in record else f"{header} (trong tệp)"] = value
            records.append(record)
        frame = pd.DataFrame.from_records(records, columns=None if records else ["Dòng", "Cột", "Lý do"])
        return frame.fillna("")


def write_rejects(result: ImportResult, path: str | os.PathLike) -> Path:
    """Write the rejected rows as CSV for Excel (UTF-8 with BOM, formula-like cells neutralised)."""
    from .exports.csv import csv_bytes  # on demand: the exports package loads the Word and Excel writers

    path = Path(path)
    path.write_bytes(csv_bytes(result.rejects_frame()))
    return path


# --------------------------------------------------------------------------------------------
# Columns and their Vietnamese names
# --------------------------------------------------------------------------------------------

def normalize(text: Any) -> str:
    """``Ngày tiếp nhận`` → ``ngaytiepnhan``: no case, accents, spaces or punctuation; đ → d."""
    s = str(text).replace("đ", "d").replace("Đ", "D")
    s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]", "", s.lower())


def _alias_table(spec: dict[str, Sequence[str]]) -> dict[str, str]:
    table = {}
    for canonical, aliases in spec.items():
        for alias in (canonical, *aliases):
            table[normalize(alias)] = canonical
    return table


DOSSIER_ALIASES = _alias_table({
    "code": ("Mã hồ sơ", "Số hồ sơ", "Mã HS", "Số HS"),
    "procedure_code": ("Mã TTHC", "Mã thủ tục", "Mã thủ tục hành chính"),
    "procedure_name": ("Tên thủ tục", "Tên TTHC", "Tên thủ tục hành chính"),
    "field": ("Lĩnh vực", "Tên lĩnh vực"),
    "agency_code": ("Mã cơ quan", "Mã đơn vị"),
    "channel": ("Hình thức nộp", "Kênh nộp", "Hình thức tiếp nhận"),
    "received_at": ("Ngày tiếp nhận", "Ngày nhận"),
    "due_at": ("Ngày hẹn trả", "Hạn xử lý", "Hạn giải quyết"),
    "resolved_at": ("Ngày có kết quả", "Ngày hoàn thành", "Ngày xử lý xong"),
    "status": ("Trạng thái", "Tình trạng"),
    "apology_count": ("Số phiếu xin lỗi", "Phiếu xin lỗi"),
})

PROCEDURE_ALIASES = _alias_table({
    "code": ("Mã TTHC", "Mã thủ tục", "Mã thủ tục hành chính"),
    "name": ("Tên thủ tục", "Tên TTHC", "Tên thủ tục hành chính"),
    "field": ("Lĩnh vực", "Tên lĩnh vực"),
    "agency_code": ("Mã cơ quan", "Mã đơn vị"),
    "authority_level": ("Cấp thực hiện",),
    "regulated_by": ("Cơ quan quy định", "Quy định bởi"),
    "published": ("Công bố",),
    "publicized": ("Công khai",),
    "one_stop": ("Một cửa",),
    "lien_thong": ("Một cửa liên thông", "Liên thông"),
    "postal": ("Bưu chính công ích", "BCCI"),
    "online_level": ("Mức độ DVC", "Mức độ"),
    "online_class": ("Dịch vụ công trực tuyến", "Loại DVC"),
    "four_on_site": ("4 tại chỗ", "Bốn tại chỗ"),
    "internal_process": ("Quy trình nội bộ",),
    "processing_days": ("Thời hạn giải quyết", "Thời gian giải quyết", "Thời gian giải quyết (ngày)",
                        "Số ngày giải quyết"),
    "same_day_cutoff": ("Giờ tiếp nhận trong ngày", "Giờ chốt"),
})

ALIASES = {"dossiers": DOSSIER_ALIASES, "procedures": PROCEDURE_ALIASES}
REQUIRED = {"dossiers": ("code", "received_at", "channel"), "procedures": ("code", "name")}

LABELS = {
    "dossiers": {
        "code": "Mã hồ sơ", "procedure_code": "Mã TTHC", "procedure_name": "Tên thủ tục", "field": "Lĩnh vực",
        "agency_code": "Mã cơ quan", "channel": "Hình thức nộp", "received_at": "Ngày tiếp nhận",
        "due_at": "Ngày hẹn trả", "resolved_at": "Ngày có kết quả", "status": "Trạng thái",
        "apology_count": "Số phiếu xin lỗi",
    },
    "procedures": {
        "code": "Mã TTHC", "name": "Tên thủ tục", "field": "Lĩnh vực", "agency_code": "Mã cơ quan",
        "authority_level": "Cấp thực hiện", "regulated_by": "Cơ quan quy định", "published": "Công bố",
        "publicized": "Công khai", "one_stop": "Một cửa", "lien_thong": "Một cửa liên thông",
        "postal": "Bưu chính công ích", "online_level": "Mức độ DVC", "online_class": "Dịch vụ công trực tuyến",
        "four_on_site": "4 tại chỗ", "internal_process": "Quy trình nội bộ",
        "processing_days": "Thời hạn giải quyết", "same_day_cutoff": "Giờ tiếp nhận trong ngày",
    },
}

# Column widths of the tables (models.py): longer text would fail on PostgreSQL.
MAX_LENGTH = {"code": 128, "procedure_code": 64, "agency_code": 64, "field": 255}
MAX_LENGTH_PROCEDURE = {"code": 64, "agency_code": 64, "field": 255}


def canonical_column(header: str, aliases: dict[str, str]) -> str | None:
    """The canonical column a header names, trying it also without a parenthesised note (``(dd/mm/yyyy)``)."""
    found = aliases.get(normalize(header))
    if found is None and "(" in header:
        found = aliases.get(normalize(re.sub(r"\(.*?\)", "", header)))
    return found


# --------------------------------------------------------------------------------------------
# Values (each parser takes a Series of stripped text and returns parsed values and a bad mask)
# --------------------------------------------------------------------------------------------

CHANNEL_WORDS = {normalize(w): c for c, words in {
    "online": ("online", "Trực tuyến", "Nộp trực tuyến", "Dịch vụ công trực tuyến", "DVC trực tuyến"),
    "direct": ("direct", "Trực tiếp", "Nộp trực tiếp", "Tại quầy", "Một cửa"),
    "postal": ("postal", "Bưu chính", "Bưu chính công ích", "Dịch vụ bưu chính công ích", "Qua bưu chính",
               "Qua bưu chính công ích", "BCCI", "DV BCCI"),
}.items() for w in words}

STATUS_WORDS = {normalize(w): s for s, words in {
    "normal": ("normal",),
    "withdrawn": ("withdrawn", "Rút hồ sơ", "Đã rút hồ sơ", "Công dân rút hồ sơ", "Rút"),
    "returned": ("returned", "Trả lại", "Trả lại hồ sơ", "Đã trả lại", "Đã trả lại hồ sơ"),
    "suspended": ("suspended", "Tạm dừng", "Đang tạm dừng", "Tạm dừng giải quyết", "Chờ bổ sung",
                  "Chờ bổ sung hồ sơ", "Yêu cầu bổ sung", "Yêu cầu bổ sung hồ sơ"),
}.items() for w in words}

TRUE_WORDS = {normalize(w) for w in ("x", "1", "có", "co", "yes", "true", "đúng", "y")}
FALSE_WORDS = {normalize(w) for w in ("", "0", "không", "no", "false", "sai", "n")}

LEVEL_WORDS = {normalize(w): level for level, words in {
    "province": ("province", "Tỉnh", "Cấp tỉnh"),
    "district": ("district", "Huyện", "Cấp huyện"),
    "commune": ("commune", "Xã", "Cấp xã"),
}.items() for w in words}

REGULATED_WORDS = {normalize(w): r for r, words in {
    "central": ("central", "Trung ương", "TW", "Do Trung ương quy định"),
    "local": ("local", "Địa phương", "ĐP", "Do địa phương quy định"),
}.items() for w in words}

ONLINE_CLASS_WORDS = {normalize(w): c for c, words in {
    "full": ("full", "Toàn trình", "DVC toàn trình"),
    "partial": ("partial", "Một phần", "DVC một phần"),
    None: ("Không", "none"),
}.items() for w in words}

_ISO = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
                  r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?$")
# Vietnamese order is day first: 03/04/2022 is 3 April, never March 4.
_DAY_FIRST = re.compile(r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})"
                        r"(?:,?\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?$")
# Some one-stop systems print the time first: "16:30 14/06/2022".
_TIME_FIRST = re.compile(r"^(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?,?\s+"
                         r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})$")
_EXCEL_SERIAL = re.compile(r"^\d{4,5}(?:\.\d+)?$")


# Exact formats tried first, vectorised by pandas; whatever they leave goes through the regexes above.
_FAST_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d",
                 "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")

# The layouts of nearly every export (digits shown as 0) and where their fields sit: cells of these
# layouts are read by slicing, in bulk. Trying every format on every cell (the general path below)
# costs a failed parse per cell and format, which dominated large imports. A value is taken only when
# it exists and falls in 1900-2099, where every format and regex of the general path reads it alike;
# any other cell goes through the general path, so the result is the same either way
# (tests/test_importer.py compares the two on generated text).
_LAYOUTS = {
    "0000-00-00": {"y": 0, "m": 5, "d": 8},
    "0000-00-00 00:00": {"y": 0, "m": 5, "d": 8, "H": 11, "M": 14},
    "0000-00-00T00:00": {"y": 0, "m": 5, "d": 8, "H": 11, "M": 14},
    "0000-00-00 00:00:00": {"y": 0, "m": 5, "d": 8, "H": 11, "M": 14, "S": 17},
    "0000-00-00T00:00:00": {"y": 0, "m": 5, "d": 8, "H": 11, "M": 14, "S": 17},
    "00/00/0000": {"d": 0, "m": 3, "y": 6},
    "00/00/0000 00:00": {"d": 0, "m": 3, "y": 6, "H": 11, "M": 14},
    "00/00/0000 00:00:00": {"d": 0, "m": 3, "y": 6, "H": 11, "M": 14, "S": 17},
}


def parse_timestamps(text: pd.Series, excel_serials: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse ISO and day-first timestamps; returns (datetime64 Series, mask of non-empty unreadable cells).

    ``31/02/2022`` is unreadable (the day does not exist), not rolled over. With ``excel_serials`` a
    plain number is an Excel day serial (a date cell whose format was lost).
    """
    values, todo = _parse_layouts(text)
    result = pd.Series(values, index=text.index)
    if todo.any():
        rest = text[todo]
        result[rest.index], _ = _parse_general(rest, excel_serials)
    return result, result.isna() & (text != "")


def _parse_layouts(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The cells in one of :data:`_LAYOUTS` with a valid value in 1900-2099, read from their bytes;
    returns (datetime64[us] values, NaT elsewhere; mask of the cells left for the general path)."""
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    todo = np.ones(len(text), dtype=bool)
    if not len(text):
        return values, todo
    data, starts, lengths = _utf8_bytes(text)
    for layout, fields in _LAYOUTS.items():
        at = np.flatnonzero((lengths == len(layout)) & todo)
        if not len(at):
            continue
        width = len(layout)
        if (starts[at] == starts[at[0]] + width * np.arange(len(at))).all():  # back to back: a view
            cell = data[starts[at[0]]:starts[at[0]] + width * len(at)].reshape(len(at), width)
        else:  # one row of bytes per cell
            cell = data[starts[at, None] + np.arange(width)]
        expected = np.frombuffer(layout.encode(), dtype=np.uint8)
        digits = expected == ord("0")
        digit = cell - np.uint8(ord("0"))  # a digit's value; anything else wraps round to > 9
        shaped = (digit[:, digits] <= 9).all(axis=1) & (cell[:, ~digits] == expected[~digits]).all(axis=1)
        if not shaped.all():
            at, digit = at[shaped], digit[shaped]

        def number(name: str) -> np.ndarray:
            if name not in fields:
                return np.zeros(len(at), dtype=np.int32)
            start, size = fields[name], 4 if name == "y" else 2
            total = digit[:, start].astype(np.int32)
            for position in range(start + 1, start + size):
                total = total * 10 + digit[:, position]
            return total

        year, month, day, hour, minute, second = (number(name) for name in "ymdHMS")
        valid = ((year >= 1900) & (year <= 2099) & (month >= 1) & (month <= 12) & (day >= 1)
                 & (hour < 24) & (minute < 60) & (second < 60))
        month_number = ((year - 1970) * 12 + month - 1).astype(np.int64)
        first_day = month_number.astype("datetime64[M]").astype("datetime64[D]")
        valid &= day <= ((month_number + 1).astype("datetime64[M]").astype("datetime64[D]") - first_day).astype(np.int64)
        moment = (first_day + (day - 1).astype("timedelta64[D]")).astype("datetime64[us]") + (
            ((hour * 60 + minute) * 60 + second).astype(np.int64) * 1_000_000).astype("timedelta64[us]")
        values[at[valid]] = moment[valid]
        todo[at[valid]] = False
    return values, todo


def _utf8_bytes(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a text column (Arrow's buffer, no copy when pandas keeps it in Arrow) and each
    cell's start and length in them."""
    import pyarrow as pa

    cells = pa.array(text, type=pa.large_string())
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    _, offsets, data = cells.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[cells.offset:cells.offset + len(cells) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return data, offsets[:-1], np.diff(offsets)


def _parse_general(text: pd.Series, excel_serials: bool = False) -> tuple[pd.Series, pd.Series]:
    """Every accepted shape: the exact formats above, then the regexes, then (option) Excel serials."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    todo = text != ""
    for fmt in _FAST_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        done = parsed.index[parsed.notna().to_numpy()]
        if len(done):
            result[done] = parsed[done]
            todo[done] = False
    if todo.any():
        rest = text[todo]
        result[rest.index] = _parse_by_pattern(rest)
        if excel_serials:
            serial = rest.str.match(_EXCEL_SERIAL.pattern) & result[rest.index].isna()
            if serial.any():
                # errors="coerce": \d also matches other scripts' digits ("२०२२"), which are no serial.
                days = pd.to_numeric(rest[serial], errors="coerce")
                result[serial.index[serial.to_numpy()]] = (
                    pd.Timestamp("1899-12-30") + pd.to_timedelta(days, unit="D")).dt.round("s")
    bad = result.isna() & (text != "")
    return result, bad


def _parse_by_pattern(text: pd.Series) -> pd.Series:
    parts = None
    for pattern in (_ISO, _DAY_FIRST, _TIME_FIRST):
        found = text.str.extract(pattern.pattern)[["y", "m", "d", "H", "M", "S"]]
        parts = found if parts is None else parts.combine_first(found)
    numbers = parts.apply(lambda c: pd.to_numeric(c, errors="coerce"))
    numbers = numbers.fillna({"H": 0, "M": 0, "S": 0})
    # pandas would roll 25:00 over to the next day: a time out of range is unreadable.
    matched = numbers["y"].notna() & (numbers["H"] < 24) & (numbers["M"] < 60) & (numbers["S"] < 60)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if matched.any():
        m = numbers[matched]
        result[matched] = pd.to_datetime(
            pd.DataFrame({"year": m["y"], "month": m["m"], "day": m["d"], "hour": m["H"], "minute": m["M"],
                          "second": m["S"]}), errors="coerce")
    return result


def _mapped(text: pd.Series, words: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Map cells through a normalised word table; returns (values, mask of cells not in the table).

    Each distinct cell is looked up once (a column of millions holds a handful of words).
    """
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques, dtype=text.dtype)
    normal = distinct.map({v: normalize(v) for v in distinct})
    values = pd.Series(normal.map(words).array.take(codes), index=text.index)
    return values, pd.Series(~normal.isin(words.keys()).to_numpy()[codes], index=text.index)


def parse_booleans(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    normal = text.map({v: normalize(v) for v in text.unique()})
    return normal.isin(TRUE_WORDS), ~(normal.isin(TRUE_WORDS) | normal.isin(FALSE_WORDS))


def parse_online_levels(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``3``, ``Mức độ 3``, ``Mức 3`` → 3; ``Không`` → 0; empty → None."""
    normal = text.map({v: normalize(v) for v in text.unique()})
    digits = normal.str.extract(r"^(?:dichvucong|dvc)?(?:mucdo|muc)?([0-4])$")[0]
    values = pd.to_numeric(digits, errors="coerce").astype("Int64")
    values = values.mask(normal == "khong", 0)
    return values, values.isna() & (text != "")


def parse_days(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Processing time in working days: ``15``, ``15 ngày``, ``0,5``, ``Trong ngày`` (0)."""
    def one(value: str) -> Decimal | None:
        if value == "":
            return None
        plain = normalize(value)
        if plain == "trongngay":
            return Decimal(0)
        match = re.fullmatch(r"(\d{1,5}(?:[.,]\d+)?)\s*(?:ngay(?:\s*lam\s*viec)?)?",
                             unicodedata.normalize("NFD", value.lower()).encode("ascii", "ignore").decode())
        return Decimal(match.group(1).replace(",", ".")) if match else None
    parsed = text.map({v: one(v) for v in text.unique()})
    return parsed, parsed.isna() & (text != "")


def parse_times(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``15:00``, ``15h``, ``15h00``, ``15:00:00`` → ``time(15, 0)``."""
    def one(value: str) -> dt.time | None:
        match = re.fullmatch(r"(\d{1,2})\s*(?::|h|g)\s*(\d{2})?(?::(\d{2}))?", value.lower())
        if not match:
            return None
        hour, minute, second = int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)
        return dt.time(hour, minute, second) if hour < 24 and minute < 60 and second < 60 else None
    parsed = text.map({v: one(v) for v in text.unique()})
    return parsed, parsed.isna() & (text != "")


# --------------------------------------------------------------------------------------------
# Reading the file into a grid of text
# --------------------------------------------------------------------------------------------

class _FileProblem(Exception):
    """A problem with the file as a whole (raised inside the reader, returned as a Problem)."""

    def __init__(self, message: str, column: str = ""):
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass
class _Table:
    headers: list[str]  # header cells by position, as written (stripped)
    header_line: int
    body: pd.DataFrame  # non-empty data rows, positional columns of text, index = line number
    excel: bool


def _read_bytes(file: str | os.PathLike | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    if isinstance(file, (bytes, bytearray, memoryview)):
        return bytes(file), filename or ""
    if hasattr(file, "read"):
        data = file.read()
        return (data.encode("utf-8") if isinstance(data, str) else bytes(data)), filename or getattr(file, "name", "")
    path = Path(file)
    try:
        return path.read_bytes(), filename or path.name
    except OSError as exc:
        raise _FileProblem(f"Không mở được tệp «{path}»: {exc.strerror or exc}") from None


def _read_grid(data: bytes, name: str) -> tuple[pd.DataFrame, bool]:
    """All rows of the file as text cells, index = line number; and whether it is a workbook."""
    suffix = Path(name).suffix.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or suffix == ".xls":
        raise _FileProblem("Tệp Excel 97-2003 (.xls) không được hỗ trợ: hãy mở trong Excel và lưu lại "
                           "dưới dạng .xlsx hoặc «CSV UTF-8»")
    if data.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return _xlsx_grid(data), True
    text = _decode(data)
    # The file's own bytes are ``text`` in UTF-8 unless it is UTF-16 or has CRs: no need to encode it again.
    utf8 = None
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and b"\r" not in data:
        utf8 = memoryview(data)[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    return _csv_grid(text, utf8), False


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode Text"
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if b"\x00" in data[:4096]:
                raise _FileProblem("Tệp không đọc được: không phải CSV hay XLSX") from None
            line = data[:exc.start].count(b"\n") + 1
            raise _FileProblem(f"Tệp không phải UTF-8 (byte lạ ở dòng {line}): trong Excel, chọn "
                               "Lưu thành → «CSV UTF-8 (phân cách bằng dấu phẩy)» rồi nhập lại") from None
    if "\x00" in text:
        raise _FileProblem("Tệp không đọc được: không phải CSV hay XLSX")
    # Old Mac exports end lines with CR alone; the csv module wants \n.
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _header_score(cells: Iterable[str]) -> int:
    """How many cells of a row name a known column (of either kind)."""
    found = set()
    for cell in cells:
        if cell:
            for kind, aliases in ALIASES.items():
                column = canonical_column(cell, aliases)
                if column:
                    found.add((kind, column))
    return max(sum(1 for k, _ in found if k == kind) for kind in KINDS) if found else 0


def _sniff_delimiter(text: str) -> str:
    """``;`` (Vietnamese Excel), ``,`` or tab: the one whose top rows read as the most known headers."""
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[:sample.rindex("\n")]
    best, best_key = ",", (-1, -1)
    for delimiter in (",", ";", "\t"):
        try:
            rows = [row for _, row in zip(range(HEADER_SEARCH_ROWS), csv.reader(io.StringIO(sample),
                                                                               delimiter=delimiter))]
        except csv.Error:
            continue
        key = max(((_header_score(r), len(r)) for r in rows if r), default=(0, 0))
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _csv_grid(text: str, utf8: bytes | memoryview | None = None) -> pd.DataFrame:
    """The cells of CSV ``text``; ``utf8`` is the same text encoded, when the caller has it."""
    if not text or text.isspace():  # not text.strip(): no copy of a file of hundreds of MB
        raise _FileProblem("Tệp rỗng")
    delimiter = _sniff_delimiter(text)
    try:
        sample = list(zip(range(200), csv.reader(io.StringIO(text[:262144]), delimiter=delimiter)))
    except csv.Error:
        sample = []
    width = max((len(r) for _, r in sample), default=1) or 1
    utf8 = text.encode("utf-8") if utf8 is None else utf8
    grid = _arrow_grid(utf8, delimiter, width)
    if grid is not None:
        return grid
    try:
        # The C parser. A record is what Excel shows as one row, so record n is line n.
        # Given bytes, not text: pandas would re-encode a text buffer in small pieces, slowly.
        grid = pd.read_csv(io.BytesIO(utf8), encoding="utf-8", sep=delimiter, header=None,
                           names=range(width), index_col=False, dtype=str, keep_default_na=False,
                           skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        # A later row has more cells than the first ones: read row by row, padding short rows.
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        except csv.Error:
            raise _FileProblem("Tệp CSV hỏng: có ô quá dài hoặc dấu ngoặc kép không được đóng") from None
        width = max((len(r) for r in rows), default=1) or 1
        grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=range(width), dtype=str)
    return _stripped(grid.fillna(""))


def _stripped(grid: pd.DataFrame) -> pd.DataFrame:
    """Cells without surrounding spaces, rows numbered from 1 (the record numbers)."""
    for column in grid.columns:
        grid[column] = grid[column].astype(str).str.strip()
    grid.index = pd.RangeIndex(1, len(grid) + 1)
    return grid


# Appended as a last record to see whether the file ends inside a quoted cell (Arrow closes it
# silently; pandas refuses the file and the reader falls back to the csv module).
_END = "\x01"


def _arrow_grid(utf8: bytes | memoryview, delimiter: str, width: int) -> pd.DataFrame | None:
    """The grid read by Arrow's CSV reader, several times faster than pandas' on large exports.

    Only for a plain rectangle of ``width`` cells a record, which both readers read alike (a test
    compares them on generated text); None for anything else (a record with more or fewer cells, a
    quoted cell left open at the end, an unreadable file), for the readers of :func:`_csv_grid`.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:  # pragma: no cover - pyarrow comes with pandas and Streamlit
        return None
    names = [str(i) for i in range(width)]
    end = delimiter.join([_END] * width).encode()
    parts = [utf8, b"" if bytes(utf8[-1:]) == b"\n" else b"\n", end]
    try:
        table = pa_csv.read_csv(
            pa.PythonFile(_Concatenated(parts), mode="r"),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                                              newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows == 0 or table.slice(table.num_rows - 1).to_pylist() != [dict.fromkeys(names, _END)]:
        return None
    table = table.slice(0, table.num_rows - 1)
    return _stripped(pd.DataFrame({i: pd.Series(table.column(i), dtype=str) for i in range(width)}))


class _Concatenated(io.RawIOBase):
    """The bytes of ``parts`` one after the other, read as a file: Arrow reads a file of hundreds of MB
    plus the end record without a joined copy of it."""

    def __init__(self, parts: Sequence[bytes | memoryview]):
        super().__init__()
        self._parts = [memoryview(p).cast("B") for p in parts if len(p)]
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._parts and self._at >= len(self._parts[0]):
            self._parts.pop(0)
            self._at = 0
        if not self._parts:
            return 0
        part = self._parts[0]
        size = min(len(buffer), len(part) - self._at)
        buffer[:size] = part[self._at:self._at + size]
        self._at += size
        return size


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        # Excel stores times as fractions of a day: 16:30 may come back as 16:29:59.999.
        value = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value).strip()


def _xlsx_grid(data: bytes) -> pd.DataFrame:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _FileProblem(f"Không đọc được tệp Excel (.xlsx): {exc.__class__.__name__}") from None
    except Exception as exc:  # openpyxl raises its own exception types for broken packages
        raise _FileProblem(f"Không đọc được tệp Excel (.xlsx): {exc}") from None
    try:
        if not workbook.worksheets:
            raise _FileProblem("Tệp Excel không có trang tính nào")
        sheet = workbook.worksheets[0]
        # Some exporters write a wrong <dimension>; recompute it so no column is cut off.
        sheet.reset_dimensions()
        rows: list[list[str]] = []
        for row in sheet.iter_rows():
            cells = [c for c in row if getattr(c, "row", None) is not None]
            if not cells:
                continue
            number = cells[0].row
            while len(rows) < number - 1:
                rows.append([])
            texts = []
            for cell in cells:
                while len(texts) < cell.column - 1:
                    texts.append("")
                texts.append(_cell_text(cell.value))
            rows.append(texts)
    finally:
        workbook.close()
    if not any(any(r) for r in rows):
        raise _FileProblem("Tệp rỗng: trang tính đầu tiên không có dữ liệu")
    width = max(len(r) for r in rows)
    grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=range(width), dtype=str)
    grid.index = pd.RangeIndex(1, len(grid) + 1)
    return grid


def _table(grid: pd.DataFrame, excel: bool) -> _Table:
    """Split the grid at the header row: the first top row naming ≥ 2 known columns, else the first non-empty."""
    non_empty = (grid != "").any(axis=1)
    if not non_empty.any():
        raise _FileProblem("Tệp rỗng")
    first_lines = list(non_empty[non_empty].index[:HEADER_SEARCH_ROWS])
    header_line = next((line for line in first_lines if _header_score(grid.loc[line]) >= 2), first_lines[0])
    headers = list(grid.loc[header_line])
    while headers and headers[-1] == "":
        headers.pop()
    below = grid.index > header_line
    keep = below & non_empty
    # Usually every line below the header has data: a slice then, not a copy of every column.
    body = grid.iloc[int(below.argmax()):] if keep.sum() == below.sum() and below.any() else grid[keep]
    return _Table(headers=headers, header_line=header_line, body=body, excel=excel)


# --------------------------------------------------------------------------------------------
# Checking rows
# --------------------------------------------------------------------------------------------

class _Checker:
    """Collects row problems from vectorised checks; builds the row dicts only for rejected rows."""

    def __init__(self, table: _Table, columns: dict[str, int], labels: dict[str, str]):
        self.table = table
        self.columns = columns
        self.labels = labels
        self.found: list[tuple[int, int, str, str, str]] = []  # line, column position, header, message, value
        self.bad = pd.Series(False, index=table.body.index)

    def header(self, column: str) -> str:
        if column in self.columns:
            return self.table.headers[self.columns[column]]
        return self.labels.get(column, column)

    def text(self, column: str) -> pd.Series:
        if column in self.columns:
            return self.table.body[self.columns[column]]
        return pd.Series("", index=self.table.body.index, dtype=str)

    def add(self, mask: pd.Series, column: str, message: Callable[[str, int], str],
            values: pd.Series | None = None) -> None:
        """Record a problem for every row where ``mask`` is true; ``message(value, line)`` words it."""
        if not mask.any():
            return
        values = self.text(column) if values is None else values
        header = self.header(column) if column else ""
        position = self.columns.get(column, -1)
        for line in mask.index[mask.to_numpy()]:
            value = values.at[line]
            self.found.append((int(line), position, header, message(value, line), value))
        self.bad |= mask

    def problems(self) -> list[Problem]:
        if not self.found:
            return []
        lines = sorted({f[0] for f in self.found})
        rows = self.table.body.loc[lines]
        # Every header of the file, plus cells beyond the last header that these rows fill.
        positions = [p for p in rows.columns if p < len(self.table.headers) or (rows[p] != "").any()]
        names = _unique_headers(self.table.headers, positions)
        raw = {line: dict(zip(names, values)) for line, values in zip(lines, rows[positions].itertuples(index=False))}
        return [Problem(line, header, message, value, raw[line])
                for line, _, header, message, value in sorted(self.found, key=lambda f: (f[0], f[1]))]

    def required(self, column: str) -> None:
        self.add(self.text(column) == "", column, lambda v, n: "thiếu giá trị (cột bắt buộc)")

    def too_long(self, limits: dict[str, int]) -> None:
        for column, limit in limits.items():
            if column in self.columns:
                self.add(self.text(column).str.len() > limit, column,
                         lambda v, n, limit=limit: f"giá trị dài {len(v)} ký tự, quá {limit} ký tự cho phép")

    def duplicates(self, key: pd.Series, column: str, noun: str) -> None:
        """The second and later occurrences of a key, naming the line of the first."""
        present = key != ""
        repeated = key.duplicated(keep="first") & present
        if repeated.any():
            first_line = pd.Series(key.index, index=key.index)[present & ~key.duplicated(keep="first")]
            first_of = dict(zip(key[first_line.index], first_line))
            codes = self.text(column)
            self.add(repeated, column,
                     lambda v, n: f"{noun} «{codes.at[n]}» trùng với dòng {first_of[key.at[n]]} "
                                  "(mỗi mã chỉ được có một dòng trong tệp)")

    def extra_cells(self) -> None:
        """Cells to the right of the last header: usually a value with an unquoted separator."""
        width = len(self.table.headers)
        extra = [c for c in self.table.body.columns if c >= width]
        if not extra:
            return
        cells = self.table.body[extra]
        filled = (cells != "").any(axis=1)
        count = (self.table.body != "").sum(axis=1)
        self.add(filled, "", lambda v, n: f"dòng có ô ngoài {width} cột của dòng tiêu đề ({count.at[n]} ô có "
                                          "dữ liệu): có thể một giá trị chứa dấu phân cách mà không đặt trong "
                                          "ngoặc kép", values=pd.Series("", index=cells.index))


def _unique_headers(headers: list[str], positions: list[int]) -> list[str]:
    """Names for the raw row dict: the header as written, ``Cột 7`` when empty, ``X (2)`` when repeated."""
    names: list[str] = []
    for position in positions:
        name = headers[position] if position < len(headers) and headers[position] else f"Cột {position + 1}"
        base, n = name, 2
        while name in names:
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return names


def _map_headers(table: _Table, aliases: dict[str, str], labels: dict[str, str]
                 ) -> tuple[dict[str, int], list[str], list[Problem]]:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for position, header in enumerate(table.headers):
        if not header:
            continue
        canonical = canonical_column(header, aliases)
        if canonical is None:
            ignored.append(header)
        elif canonical in columns:
            first = table.headers[columns[canonical]]
            problems.append(Problem(table.header_line, header,
                                    f"cột «{header}» trùng với cột «{first}» (cùng là «{labels[canonical]}»): "
                                    "hãy xóa hoặc đổi tên một cột", header))
        else:
            columns[canonical] = position
    return columns, ignored, problems


# --------------------------------------------------------------------------------------------
# Dossiers
# --------------------------------------------------------------------------------------------

CHANNEL_HINT = "dùng Trực tuyến, Trực tiếp hoặc Bưu chính công ích"
DATE_HINT = "dùng ngày/tháng/năm như 14/06/2022 hoặc 14/06/2022 16:30, hay năm-tháng-ngày như 2022-06-14"


def _date_message(value: str, line: int) -> str:
    looks_like_date = any(p.match(value) for p in (_ISO, _DAY_FIRST, _TIME_FIRST))
    reason = "ngày hoặc giờ không tồn tại" if looks_like_date else DATE_HINT
    return f"không đọc được ngày «{value}» ({reason})"


def _first_checks(table: _Table, columns: dict[str, int], kind: str, limits: dict[str, int]
                  ) -> tuple[pd.DataFrame, _Checker]:
    """What every kind of file is checked for first (cells beyond the header, required cells, lengths),
    and the empty frame of its rows."""
    check = _Checker(table, columns, LABELS[kind])
    check.extra_cells()
    for column in REQUIRED[kind]:
        check.required(column)
    check.too_long(limits)
    return pd.DataFrame(index=table.body.index), check


def _check_dossiers(table: _Table, columns: dict[str, int]) -> tuple[pd.DataFrame, _Checker]:
    out, check = _first_checks(table, columns, "dossiers", MAX_LENGTH)
    for column in ("code", "agency_code", "procedure_code", "procedure_name", "field"):
        out[column] = check.text(column)

    text = check.text("channel")
    out["channel"], unknown = _mapped(text, CHANNEL_WORDS)
    check.add(unknown & (text != ""), "channel", lambda v, n: f"không rõ hình thức nộp «{v}» ({CHANNEL_HINT})")

    text = check.text("status")
    status, _ = _mapped(text, STATUS_WORDS)
    # Any other wording (Đang xử lý, Hoàn thành, Đã trả kết quả…) is an ordinary dossier.
    out["status"] = status.fillna("normal")

    for column in ("received_at", "due_at", "resolved_at"):
        out[column], unreadable = parse_timestamps(check.text(column), table.excel)
        check.add(unreadable, column, _date_message)

    received_day = out["received_at"].dt.normalize()
    for column, phrase in (("due_at", "ngày hẹn trả"), ("resolved_at", "ngày có kết quả")):
        # Compared by date: a dossier resolved (or due) on the day it was received is fine.
        before = out[column].dt.normalize() < received_day
        check.add(before.fillna(False).astype(bool), column,
                  lambda v, n, c=column, p=phrase: f"{p} {fmt_date(out.at[n, c])} trước ngày tiếp nhận "
                                                   f"{fmt_date(out.at[n, 'received_at'])}")

    text = check.text("apology_count")
    count = pd.Series(0.0, index=text.index)
    given = text != ""
    if given.any():  # usually an empty or absent column: nothing to read
        count[given] = pd.to_numeric(text[given], errors="coerce")
    wrong = count.isna() | (count < 0) | (count % 1 != 0) | (count > 1000)
    check.add(wrong.fillna(True).astype(bool), "apology_count",
              lambda v, n: f"số phiếu xin lỗi «{v}» không phải số nguyên từ 0 đến 1.000")
    out["apology_count"] = count.where(~wrong, 0).astype(int)

    check.duplicates(out["code"], "code", "mã hồ sơ")
    return out, check


def _dossier_frame(conn: Connection, frame: pd.DataFrame, agency_of: pd.Series) -> pd.DataFrame:
    """The columns :func:`store.write_dossier_frame` takes: ids of fields and procedures, created when missing."""
    fields = store.field_ids(conn, frame["field"].unique())
    return pd.DataFrame({
        "code": frame["code"],
        "agency_id": agency_of,
        "procedure_id": _procedure_ids(conn, frame, agency_of),
        "field_id": _lookup(frame["field"], fields),
        "channel": frame["channel"],
        "status": frame["status"],
        "received_at": frame["received_at"],
        "due_at": frame["due_at"],
        "resolved_at": frame["resolved_at"],
        "apology_count": frame["apology_count"],
    }, index=frame.index)


def _lookup(values: pd.Series, mapping: dict) -> pd.Series:
    """``mapping[value]`` for each value (None when absent), looked up once per distinct value."""
    codes, uniques = pd.factorize(values)
    found = np.array([mapping.get(u) for u in uniques] + [None], dtype=object)
    return pd.Series(found[codes], index=values.index, dtype=object)


def _procedure_ids(conn: Connection, frame: pd.DataFrame, agency_of: pd.Series) -> pd.Series:
    """Procedure of each row: (agency, code), else the code alone when one agency has it, else a new
    minimal procedure when the row names it, else None (the data-quality page lists those)."""
    index = store.procedure_index(conn)
    by_code: dict[str, list[int]] = {}
    for (_, code), row in index.items():
        by_code.setdefault(code, []).append(row.id)
    # One number per (agency, code) pair, so that each distinct pair is resolved once.
    code_of, codes = pd.factorize(frame["procedure_code"])
    agency = agency_of.to_numpy(dtype="int64")
    pairs, first, pair_of = np.unique(agency * len(codes) + code_of, return_index=True, return_inverse=True)
    found = np.full(len(pairs), None, dtype=object)
    missing = []
    for pair, row_number in sorted(enumerate(first.tolist()), key=lambda p: p[1]):  # in file order
        agency_id, code = int(agency[row_number]), codes[code_of[row_number]]
        if code == "":
            continue
        row = index.get((agency_id, code))
        if row is not None:
            found[pair] = row.id
        elif len(by_code.get(code, [])) == 1:
            found[pair] = by_code[code][0]
        else:
            missing.append((pair, agency_id, code))
    if missing:
        # The first name and field the file gives the procedure; without a name it stays unknown.
        first_name, first_field = (_first_given(frame[column], pair_of) for column in ("procedure_name", "field"))
        named = [{"agency_id": agency_id, "code": code, "name": first_name[pair], "field": first_field.get(pair, "")}
                 for pair, agency_id, code in missing if pair in first_name]
        if named:
            _create_minimal_procedures(conn, named)
            index = store.procedure_index(conn)
            for pair, agency_id, code in missing:
                if pair in first_name:
                    found[pair] = index[(agency_id, code)].id
    return pd.Series(found[pair_of.reshape(-1)], index=frame.index, dtype=object)


def _first_given(values: pd.Series, group_of: np.ndarray) -> dict[int, str]:
    """Group number → the first non-empty value of the group's rows."""
    rows = np.flatnonzero((values != "").to_numpy())
    groups, at = np.unique(group_of.reshape(-1)[rows], return_index=True)
    return dict(zip(groups.tolist(), values.iloc[rows[at]].tolist()))


def _create_minimal_procedures(conn: Connection, rows: list[dict]) -> None:
    """A procedure known only from dossiers: code, name and field, at its agency's level.

    Not published nor publicized: nothing says the agency's catalogue has it, so it must not swell the
    published and publicized figures (it still counts in the total under the agency's authority).
    """
    fields = store.field_ids(conn, {r["field"] for r in rows})
    levels = dict(conn.execute(select(Agency.id, Agency.level)
                               .where(Agency.id.in_({r["agency_id"] for r in rows}))).all())
    conn.execute(Procedure.__table__.insert(), [
        {"agency_id": r["agency_id"], "code": r["code"], "name": r["name"], "field_id": fields.get(r["field"]),
         "authority_level": levels.get(r["agency_id"], "province"), "published": False, "publicized": False}
        for r in rows
    ])


# --------------------------------------------------------------------------------------------
# Procedures
# --------------------------------------------------------------------------------------------

BOOLEAN_COLUMNS = ("published", "publicized", "one_stop", "lien_thong", "postal", "four_on_site",
                   "internal_process")
BOOLEAN_HINT = "dùng x hoặc Có cho «có»; để trống, 0 hoặc Không cho «không»"
# Values written for an empty cell of a column the file has (the models' defaults).
PROCEDURE_EMPTY = {"authority_level": "province", "regulated_by": "central"}


def _check_procedures(table: _Table, columns: dict[str, int]) -> tuple[pd.DataFrame, _Checker]:
    out, check = _first_checks(table, columns, "procedures", MAX_LENGTH_PROCEDURE)
    for column in ("code", "name", "agency_code", "field"):
        out[column] = check.text(column)

    for column, words, hint in (
        ("authority_level", LEVEL_WORDS, "dùng Cấp tỉnh, Cấp huyện hoặc Cấp xã"),
        ("regulated_by", REGULATED_WORDS, "dùng Trung ương hoặc Địa phương"),
        ("online_class", ONLINE_CLASS_WORDS, "dùng Toàn trình hoặc Một phần, hoặc để trống"),
    ):
        text = check.text(column)
        values, unknown = _mapped(text, words)
        check.add(unknown & (text != ""), column, lambda v, n, hint=hint: f"không hiểu giá trị «{v}» ({hint})")
        out[column] = values.astype(object).where(values.notna(), PROCEDURE_EMPTY.get(column))

    for column in BOOLEAN_COLUMNS:
        out[column], unknown = parse_booleans(check.text(column))
        check.add(unknown, column, lambda v, n: f"không hiểu giá trị «{v}» ({BOOLEAN_HINT})")

    out["online_level"], unknown = parse_online_levels(check.text("online_level"))
    check.add(unknown, "online_level", lambda v, n: f"mức độ dịch vụ công «{v}» không hợp lệ (dùng 0 đến 4 "
                                                    "hoặc «Mức độ 3»)")
    out["processing_days"], unknown = parse_days(check.text("processing_days"))
    check.add(unknown, "processing_days", lambda v, n: f"thời hạn giải quyết «{v}» không phải số ngày "
                                                       "(ví dụ 15, 0,5 hoặc Trong ngày)")
    out["same_day_cutoff"], unknown = parse_times(check.text("same_day_cutoff"))
    check.add(unknown, "same_day_cutoff", lambda v, n: f"giờ «{v}» không hợp lệ (dùng giờ:phút, ví dụ 15:00)")

    # A procedure code is unique within its agency (uq_procedure_agency_code).
    key = out["code"].where(out["code"] == "", out["agency_code"] + "\x1f" + out["code"])
    check.duplicates(key, "code", "mã TTHC")
    return out, check


def _procedure_rows(conn: Connection, frame: pd.DataFrame, agency_of: pd.Series,
                    columns: dict[str, int]) -> list[dict]:
    """Rows for :func:`store.write_procedures` from the columns the file has (an existing procedure keeps
    the stored values of the others: a file of codes and processing days does not reset its flags)."""
    values: dict[str, list] = {"agency_id": agency_of.tolist(), "code": frame["code"].tolist(),
                               "name": frame["name"].tolist()}
    if "field" in columns:
        fields = store.field_ids(conn, frame["field"].unique())
        values["field_id"] = [fields.get(name) for name in frame["field"]]
    for column in columns:
        if column in ("code", "name", "field", "agency_code"):
            continue
        series = frame[column]
        if column == "online_level":
            values[column] = [None if pd.isna(v) else int(v) for v in series]
        elif column in BOOLEAN_COLUMNS:
            values[column] = [bool(v) for v in series]
        else:
            values[column] = [None if v is None or (isinstance(v, float) and pd.isna(v)) else v for v in series]
    return [dict(zip(values, row)) for row in zip(*values.values())]


# --------------------------------------------------------------------------------------------
# Agencies and what is already in the database
# --------------------------------------------------------------------------------------------

def _agency_ids(conn: Connection, frame: pd.DataFrame, fallback: str | None, create: bool) -> pd.Series:
    """The agency of each row: its own column, else the ``agency`` argument, else the default agency.

    Codes match stored agencies regardless of case. Without ``create`` (dry run) nothing is written
    and an agency not yet in the database gets id -1.
    """
    ids = store.agency_ids(conn, frame["agency_code"].unique(), create=create)
    if fallback:
        default = store.agency_ids(conn, [fallback], create=create)[fallback]
    else:
        default = store.default_agency_id(conn, create=create)
    ids = {code: -1 if found is None else found for code, found in ids.items()}
    return _lookup(frame["agency_code"], ids).fillna(-1 if default is None else default).astype("int64")


def existing_procedure_keys(conn: Connection, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    codes = sorted({code for _, code in keys})
    for start in range(0, len(codes), store.LOOKUP_CHUNK):
        chunk = codes[start:start + store.LOOKUP_CHUNK]
        found.update(tuple(r) for r in conn.execute(
            select(Procedure.agency_id, Procedure.code).where(Procedure.code.in_(chunk))).all())
    return found & set(keys)


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------

# Any byte but the blanks and the UTF-8 BOM's bytes: a file with none is empty.
_NOT_BLANK = re.compile(b"[^ \t\r\n" + re.escape(codecs.BOM_UTF8) + b"]")


def read_table(file: str | os.PathLike | bytes | IO[bytes], filename: str | None = None) -> _Table:
    """The header and data rows of a CSV or XLSX file (raises :class:`_FileProblem`)."""
    data, name = _read_bytes(file, filename)
    if not _NOT_BLANK.search(data):  # data.strip(…) would copy the whole file to find out
        raise _FileProblem("Tệp rỗng")
    try:
        grid, excel = _read_grid(data, name)
    except _FileProblem:
        raise
    except Exception as exc:  # whatever a malformed file makes a parser throw is still bad input
        raise _FileProblem(f"Không đọc được tệp: {exc.__class__.__name__}: {exc}") from None
    return _table(grid, excel)


def import_file(db: str | Engine | None, file: str | os.PathLike | bytes | IO[bytes], *,
                kind: str | None = None, agency: str | None = None, skip_invalid: bool = False,
                dry_run: bool = False, filename: str | None = None, format: str | None = None) -> ImportResult:
    """Import a dossier or procedure file (CSV or XLSX) into the database at ``db``.

    ``file`` is a path, the file's bytes (give ``filename`` so ``.xlsx`` is recognised) or a binary
    file object. ``kind`` is ``"dossiers"``, ``"procedures"`` or ``None`` to tell from the headers.
    ``agency`` is the agency code for rows without an agency column. By default any problem writes
    nothing; ``skip_invalid`` writes the valid rows anyway; ``dry_run`` checks and counts (new vs
    updated) without writing. A JSON file (or ``format="dvcqg"``) is read as national sync records by
    :func:`tthc_core.dvcqg.import_national`, always all or nothing.
    """
    from . import dvcqg

    # The national sync records (JSON), told by content or asked for with format="dvcqg".
    if format == dvcqg.FORMAT or (format is None and kind in (None, "dossiers") and dvcqg.sniff(file)):
        return dvcqg.import_national(db, file, agency=agency, dry_run=dry_run)
    result = ImportResult(kind=kind, dry_run=dry_run)
    agency = (agency or "").strip() or None
    if kind is not None and kind not in KINDS:
        result.problems.append(Problem(1, "", f"Loại tệp «{kind}» không hợp lệ (dùng dossiers hoặc procedures)"))
        return result
    try:
        table = read_table(file, filename)
    except _FileProblem as exc:
        result.problems.append(Problem(1, exc.column, exc.message))
        return result

    mappings = {k: _map_headers(table, ALIASES[k], LABELS[k]) for k in KINDS}
    if kind is None:
        if "received_at" in mappings["dossiers"][0]:
            kind = "dossiers"
        elif {"code", "name"} <= mappings["procedures"][0].keys():
            kind = "procedures"
        else:
            result.problems.append(Problem(table.header_line, "", (
                "Không nhận ra dòng tiêu đề: tệp hồ sơ cần cột «Ngày tiếp nhận» (received_at); tệp thủ tục "
                "cần cột «Mã TTHC» (code) và «Tên thủ tục» (name)")))
            return result
    result.kind = kind
    columns, result.ignored_columns, header_problems = mappings[kind]
    result.columns = {c: table.headers[p] for c, p in columns.items()}
    result.problems += header_problems
    for column in REQUIRED[kind]:
        if column not in columns:
            result.problems.append(Problem(table.header_line, LABELS[kind][column],
                                           f"thiếu cột «{LABELS[kind][column]}» ({column}) ở dòng tiêu đề"))
    result.rows_read = len(table.body)
    if result.rows_read == 0 and not result.problems:
        result.problems.append(Problem(table.header_line, "", "Tệp không có dòng dữ liệu nào (chỉ có dòng tiêu đề)"))
    if result.problems:
        return result

    frame, check = (_check_dossiers if kind == "dossiers" else _check_procedures)(table, columns)
    result.problems = check.problems()
    valid = frame[~check.bad]
    result.rows_valid = len(valid)
    result.preview = _preview(valid)
    if result.problems and not (skip_invalid or dry_run):
        return result
    if valid.empty:
        return result

    engine = get_engine(db)
    if dry_run:
        with engine.connect() as conn:
            agency_of = _agency_ids(conn, valid, agency, create=False)
            result.added, result.updated = _count(conn, kind, valid, agency_of)
        return result
    with engine.begin() as conn:
        agency_of = _agency_ids(conn, valid, agency, create=True)
        if kind == "dossiers":
            result.updated = store.write_dossier_frame(conn, _dossier_frame(conn, valid, agency_of))
            result.added = len(valid) - result.updated
        else:
            result.added, result.updated = _count(conn, kind, valid, agency_of)
            store.write_procedures(conn, _procedure_rows(conn, valid, agency_of, columns))
    result.written = True
    return result


def _count(conn: Connection, kind: str, valid: pd.DataFrame, agency_of: pd.Series) -> tuple[int, int]:
    """(added, updated): how many codes are new to the database and how many are already there."""
    if kind == "dossiers":
        updated = len(store.existing_dossier_codes(conn, valid["code"]))
    else:
        keys = list(zip(agency_of.tolist(), valid["code"].tolist()))
        updated = len(existing_procedure_keys(conn, keys))
    return len(valid) - updated, updated


def _preview(valid: pd.DataFrame) -> pd.DataFrame:
    """The valid rows as parsed (canonical columns, timestamps as datetime64), with their ``line``."""
    preview = valid.copy()
    preview.insert(0, "line", preview.index.astype(int))
    return preview.reset_index(drop=True)


__all__ = ["ImportResult", "Problem", "import_file", "write_rejects", "normalize", "parse_timestamps",
           "DOSSIER_ALIASES", "PROCEDURE_ALIASES"]
