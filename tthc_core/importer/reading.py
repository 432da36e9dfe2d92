"""Reading a file into a grid of text cells (CSV or XLSX bytes → rows × columns of stripped text),
keeping the line numbers the user sees: the record number of a CSV, as Excel shows it; the row number
of the first sheet of a workbook. Then the grid is split at its header row.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import stat
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..formatting import fmt_int, vietnam_today
from .columns import HEADER_SEARCH_ROWS, header_score

# The csv module refuses cells over 131.072 characters with an error that would hide the header row;
# long cells are refused by the checks instead, with their line and column (Limits.max_cell_chars).
csv.field_size_limit(2**31 - 1)

_MB = 1 << 20


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """What an import may cost, checked before the work they bound is done (issue 14: a 5 KB workbook
    with one cell at XFD1048576 and a 2 MB one expanding to 482 MB of XML). Defaults from the
    environment (``TTHC_IMPORT_MAX_MB``, ``TTHC_IMPORT_MAX_XLSX_MB``, ``TTHC_IMPORT_MAX_SECONDS``)."""

    max_bytes: int = field(default_factory=lambda: _env_int("TTHC_IMPORT_MAX_MB", 1024) * _MB)  # the file
    # A workbook's parts once unzipped, from the zip directory (ZipExtFile never yields more than the
    # size the directory states, so the bound holds while reading too).
    max_xlsx_bytes: int = field(default_factory=lambda: _env_int("TTHC_IMPORT_MAX_XLSX_MB", 64) * _MB)
    # Rows × columns actually used (non-empty rows × the rightmost non-empty column): what the grid
    # allocates. A workbook cell costs a Python object, a CSV one far less, hence two bounds.
    max_cells: int = 200_000_000
    max_xlsx_cells: int = 5_000_000
    max_columns: int = 1_000
    # Cells openpyxl hands over while streaming (it pads a row up to its last cell, even an empty one).
    max_xlsx_scanned: int = 50_000_000
    max_cell_chars: int = 32_767  # Excel's own limit for a cell
    max_seconds: float = field(default_factory=lambda: float(_env_int("TTHC_IMPORT_MAX_SECONDS", 600)))
    # Received and resolved dates outside earliest .. today + years_ahead are refused as implausible.
    earliest: dt.date = field(default_factory=lambda: dt.date.fromisoformat(
        os.environ.get("TTHC_IMPORT_EARLIEST", "") or "2000-01-01"))
    years_ahead: int = field(default_factory=lambda: _env_int("TTHC_IMPORT_YEARS_AHEAD", 2))
    today: dt.date | None = None  # None: the date of the import

    def date_window(self) -> tuple[dt.date, dt.date]:
        today = self.today or vietnam_today()
        try:
            latest = today.replace(year=today.year + self.years_ahead)
        except ValueError:  # 29 February
            latest = today.replace(year=today.year + self.years_ahead, day=28)
        return self.earliest, latest


def _mb(size: int) -> str:
    return f"{fmt_int(max(1, round(size / _MB)))} MB"


class FileProblem(Exception):
    """A problem with the file as a whole (raised inside the reader, returned as a Problem)."""

    def __init__(self, message: str, column: str = ""):
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass
class Table:
    headers: list[str]  # header cells by position, as written (stripped)
    header_line: int
    body: pd.DataFrame  # non-empty data rows, positional columns of text, index = line number
    excel: bool
    limits: Limits = field(default_factory=lambda: Limits())
    # False when the whole file, or the longest cell Arrow read, is shorter than limits.max_cell_chars
    may_hold_long_cells: bool = True


HEAD_BYTES = 4096


def read_head(file: str | os.PathLike | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    """The first bytes of a file (a seekable file object is left where it was) and its name: enough for
    a format to recognise its files without reading a file of gigabytes."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        return bytes(file[:HEAD_BYTES]), filename or ""
    if hasattr(file, "read"):
        name = filename or getattr(file, "name", "")
        seekable = getattr(file, "seekable", None)
        if not hasattr(file, "seek") or (seekable is not None and not seekable()):
            return b"", name  # a stream that cannot be read twice is a table (read_bytes bounds it)
        at = file.tell()
        head = file.read(HEAD_BYTES)
        file.seek(at)
        return (head.encode("utf-8") if isinstance(head, str) else bytes(head)), name
    path = Path(file)
    try:
        # Asked before opening: opening a pipe would wait for a writer.
        if not stat.S_ISREG(path.stat().st_mode):
            raise FileProblem(f"«{path}» không phải một tệp dữ liệu (thiết bị, thư mục hay luồng): không nhập")
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES), filename or path.name
    except OSError as exc:
        raise FileProblem(f"Không mở được tệp «{path}»: {exc.strerror or exc}") from None


def read_bytes(file: str | os.PathLike | bytes | IO[bytes], filename: str | None,
               limits: Limits | None = None) -> tuple[bytes, str]:
    """The file's bytes and name, refused beyond ``limits.max_bytes`` before more is read: a device,
    a pipe or an endless stream (``/dev/zero``) never fills the memory."""
    limit = (limits or Limits()).max_bytes
    too_big = f"Tệp quá lớn (hơn {_mb(limit)}): hãy chia tệp theo quý hoặc theo cơ quan rồi nhập từng phần"
    if isinstance(file, (bytes, bytearray, memoryview)):
        if len(file) > limit:
            raise FileProblem(too_big)
        return bytes(file), filename or ""
    if hasattr(file, "read"):
        data = file.read(limit + 1)
        if len(data) > limit:
            raise FileProblem(too_big)
        return (data.encode("utf-8") if isinstance(data, str) else bytes(data)), filename or getattr(file, "name", "")
    path = Path(file)
    try:
        # Asked before opening: opening a pipe would wait for a writer.
        if not stat.S_ISREG(path.stat().st_mode):
            raise FileProblem(f"«{path}» không phải một tệp dữ liệu (thiết bị, thư mục hay luồng): không nhập")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FileProblem(f"Không mở được tệp «{path}»: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise FileProblem(too_big)
    return data, filename or path.name


def _read_grid(data: bytes, name: str, limits: Limits) -> tuple[pd.DataFrame, bool]:
    """All rows of the file as text cells, index = line number; and whether it is a workbook."""
    suffix = Path(name).suffix.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or suffix == ".xls":
        raise FileProblem("Tệp Excel 97-2003 (.xls) không được hỗ trợ: hãy mở trong Excel và lưu lại "
                           "dưới dạng .xlsx hoặc «CSV UTF-8»")
    if data.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return _xlsx_grid(data, limits), True
    text = _decode(data)
    # The file's own bytes are ``text`` in UTF-8 unless it is UTF-16 or has CRs: no need to encode it again.
    utf8 = None
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and b"\r" not in data:
        utf8 = memoryview(data)[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    return _csv_grid(text, utf8, limits), False


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode Text"
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if b"\x00" in data[:4096]:
                raise FileProblem("Tệp không đọc được: không phải CSV hay XLSX") from None
            line = data[:exc.start].count(b"\n") + 1
            raise FileProblem(f"Tệp không phải UTF-8 (byte lạ ở dòng {line}): trong Excel, chọn "
                               "Lưu thành → «CSV UTF-8 (phân cách bằng dấu phẩy)» rồi nhập lại") from None
    if "\x00" in text:
        raise FileProblem("Tệp không đọc được: không phải CSV hay XLSX")
    # Old Mac exports end lines with CR alone; the csv module wants \n.
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


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
        key = max(((header_score(r), len(r)) for r in rows if r), default=(0, 0))
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _csv_grid(text: str, utf8: bytes | memoryview | None, limits: Limits) -> pd.DataFrame:
    """The cells of CSV ``text``; ``utf8`` is the same text encoded, when the caller has it."""
    if not text or text.isspace():  # not text.strip(): no copy of a file of hundreds of MB
        raise FileProblem("Tệp rỗng")
    delimiter = _sniff_delimiter(text)
    try:
        sample = list(zip(range(200), csv.reader(io.StringIO(text[:262144]), delimiter=delimiter)))
    except csv.Error:
        sample = []
    width = max((len(r) for _, r in sample), default=1) or 1
    _check_extent(width, text.count("\n") + 1, limits.max_cells, limits,
                  _first_wide(((i + 1, r) for i, r in sample), limits))
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
            raise FileProblem("Tệp CSV hỏng: có ô quá dài hoặc dấu ngoặc kép không được đóng") from None
        width = max((len(r) for r in rows), default=1) or 1
        _check_extent(width, len(rows), limits.max_cells, limits, _first_wide(enumerate(rows, 1), limits))
        grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=range(width), dtype=str)
    return _stripped(grid.fillna(""))


def _first_wide(rows: Iterable[tuple[int, list[str]]], limits: Limits) -> int | None:
    """The line of the first record with more cells than ``limits.max_columns`` (records numbered from 1)."""
    return next((number for number, row in rows if len(row) > limits.max_columns), None)


def _check_extent(width: int, rows: int, max_cells: int, limits: Limits, wide_line: int | None) -> None:
    """Refuse a grid of more columns or cells than the limits, before it is allocated."""
    if width > limits.max_columns:
        where = f"dòng {fmt_int(wide_line)} có" if wide_line else "tệp có"
        raise FileProblem(f"Tệp quá rộng: {where} {fmt_int(width)} cột, quá {fmt_int(limits.max_columns)} cột "
                          "cho phép (tệp xuất từ hệ thống một cửa chỉ có vài chục cột)")
    if width * rows > max_cells:
        raise FileProblem(f"Tệp quá lớn: {fmt_int(rows)} dòng × {fmt_int(width)} cột, quá {fmt_int(max_cells)} ô "
                          "cho phép: hãy chia tệp theo quý hoặc theo cơ quan rồi nhập từng phần")


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
    grid = _stripped(pd.DataFrame({i: pd.Series(table.column(i), dtype=str) for i in range(width)}))
    # The longest cell, counted by Arrow in C (characters, before stripping: never less than the cell the
    # checks see), so the long-cell check (Limits.max_cell_chars) runs only when one may be too long.
    import pyarrow.compute as pc

    grid.attrs["longest_cell"] = max((pc.max(pc.utf8_length(column)).as_py() or 0 for column in table.columns),
                                     default=0)
    return grid


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


def _xlsx_grid(data: bytes, limits: Limits) -> pd.DataFrame:
    """The first sheet's non-empty rows as text, index = sheet row number.

    Read as a stream, keeping only the cells that hold something: the grid is sized by the rows and
    columns actually used, never by the sheet's declared ``<dimension>`` nor by where an empty
    formatted cell lies. Every bound of ``limits`` is checked before the work it bounds.
    """
    import openpyxl

    _check_unzipped_size(data, limits)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FileProblem(f"Không đọc được tệp Excel (.xlsx): {exc.__class__.__name__}") from None
    except Exception as exc:  # openpyxl raises its own exception types for broken packages
        raise FileProblem(f"Không đọc được tệp Excel (.xlsx): {exc}") from None
    deadline = time.monotonic() + limits.max_seconds
    rows: dict[int, list[tuple[int, str]]] = {}
    width = scanned = 0
    try:
        if not workbook.worksheets:
            raise FileProblem("Tệp Excel không có trang tính nào")
        sheet = workbook.worksheets[0]
        # The declared <dimension> is often wrong (and a hostile one is huge): read each row's own cells.
        sheet.reset_dimensions()
        for row in sheet.iter_rows():
            scanned += len(row) + 1
            if scanned > limits.max_xlsx_scanned or time.monotonic() > deadline:
                raise FileProblem("Tệp Excel quá lớn hoặc đọc quá lâu: hãy lưu lại chỉ với các cột và dòng dữ liệu "
                                  "(xóa định dạng thừa), hoặc chia tệp rồi nhập từng phần")
            texts = [(cell.column, text) for cell in row if cell.value is not None
                     and (text := _cell_text(cell.value)) != ""]
            if not texts:
                continue
            number = next(c.row for c in row if c.value is not None)
            if texts[-1][0] > limits.max_columns:
                raise FileProblem(f"Tệp quá rộng: dòng {fmt_int(number)} có ô ở cột {fmt_int(texts[-1][0])} "
                                  f"({_column_letter(texts[-1][0])}), quá {fmt_int(limits.max_columns)} cột cho phép")
            width = max(width, texts[-1][0])
            rows[number] = texts
            if len(rows) * width > limits.max_xlsx_cells:
                _check_extent(width, len(rows), limits.max_xlsx_cells, limits, number)
    finally:
        workbook.close()
    if not rows:
        raise FileProblem("Tệp rỗng: trang tính đầu tiên không có dữ liệu")
    values = np.full((len(rows), width), "", dtype=object)
    for at, texts in enumerate(rows.values()):
        for column, text in texts:
            values[at, column - 1] = text
    return pd.DataFrame(values, columns=range(width), index=pd.Index(list(rows), dtype="int64"))


def _column_letter(number: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(number)


def _check_unzipped_size(data: bytes, limits: Limits) -> None:
    """Refuse a workbook whose parts unzip beyond ``limits.max_xlsx_bytes``, from the zip directory alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileProblem(f"Không đọc được tệp Excel (.xlsx): {exc.__class__.__name__}") from None
    if total > limits.max_xlsx_bytes:
        raise FileProblem(f"Tệp Excel quá lớn: giải nén ra {_mb(total)}, quá {_mb(limits.max_xlsx_bytes)} cho phép "
                          "(có thể có định dạng thừa hoặc tệp bị làm hỏng): hãy lưu lại dưới dạng «CSV UTF-8» "
                          "hoặc chia tệp rồi nhập từng phần")


def split_at_header(grid: pd.DataFrame, excel: bool) -> Table:
    """Split the grid at the header row: the first top row naming ≥ 2 known columns, else the first non-empty."""
    non_empty = (grid != "").any(axis=1)
    if not non_empty.any():
        raise FileProblem("Tệp rỗng")
    first_lines = list(non_empty[non_empty].index[:HEADER_SEARCH_ROWS])
    header_line = next((line for line in first_lines if header_score(grid.loc[line]) >= 2), first_lines[0])
    headers = list(grid.loc[header_line])
    while headers and headers[-1] == "":
        headers.pop()
    below = grid.index > header_line
    keep = below & non_empty
    # Usually every line below the header has data: a slice then, not a copy of every column.
    body = grid.iloc[int(below.argmax()):] if keep.sum() == below.sum() and below.any() else grid[keep]
    return Table(headers=headers, header_line=header_line, body=body, excel=excel)


# Any byte but the blanks and the UTF-8 BOM's bytes: a file with none is empty.
_NOT_BLANK = re.compile(b"[^ \t\r\n" + re.escape(codecs.BOM_UTF8) + b"]")


def read_table(file: str | os.PathLike | bytes | IO[bytes], filename: str | None = None,
               limits: Limits | None = None) -> Table:
    """The header and data rows of a CSV or XLSX file (raises :class:`FileProblem`)."""
    limits = limits or Limits()
    data, name = read_bytes(file, filename, limits)
    if not _NOT_BLANK.search(data):  # data.strip(…) would copy the whole file to find out
        raise FileProblem("Tệp rỗng")
    try:
        grid, excel = _read_grid(data, name, limits)
    except FileProblem:
        raise
    except Exception as exc:  # whatever a malformed file makes a parser throw is still bad input
        raise FileProblem(f"Không đọc được tệp: {exc.__class__.__name__}: {exc}") from None
    longest = grid.attrs.get("longest_cell", len(data))
    table = split_at_header(grid, excel)
    table.limits = limits
    table.may_hold_long_cells = min(len(data), longest) > limits.max_cell_chars
    return table
