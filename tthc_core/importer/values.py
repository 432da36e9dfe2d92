"""Cell values: timestamps, booleans, channels, statuses, levels, processing days and times.

Each parser takes a Series of stripped text and returns (parsed values, mask of non-empty cells it
could not read), so the checks can name every bad cell with its line and column.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd


def normalize(text: Any) -> str:
    """``Ngày tiếp nhận`` → ``ngaytiepnhan``: no case, accents, spaces or punctuation; đ → d."""
    s = str(text).replace("đ", "d").replace("Đ", "D")
    s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]", "", s.lower())



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


