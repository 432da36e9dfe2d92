"""PAKN (phản ánh, kiến nghị) records as an import format: CSV, XLSX or JSON, all or nothing.

Registered like the national JSON (:func:`~tthc_core.importer.register_format`), so the command line
(``python -m tthc_core import FILE`` or ``--format pakn``), the data page's upload and the live feed take
PAKN files the way they take dossiers. A CSV or JSON file is told by its headers (a «Mã PAKN» /
``MaPAKN`` column); a workbook's headers lie inside its zip, so an XLSX is told by its name («pakn»,
«phan-anh») or asked for with ``--format pakn`` (the upload's «PAKN» file type).

The reading, checks and write are :func:`tthc_core.qd766.import_feedback` (qd766.md §5 "PAKN record"):
every problem names its row and column in Vietnamese, and any problem writes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..formatting import fmt_int
from ..problems import Problem
from . import Format, ImportResult, register_format
from .reading import FileProblem, Limits, read_bytes
from .values import normalize

FORMAT = "pakn"
_CODE_HEADERS = {"ma pakn", "mapakn", "ma phan anh", "ma phan anh kien nghi"}


@dataclass
class PaknImportResult(ImportResult):
    """:class:`~tthc_core.importer.ImportResult` of a PAKN file (kind ``pakn``)."""

    def summary(self) -> str:
        if self.dry_run and not self.problems:
            return f"Kiểm tra (chưa ghi gì): {fmt_int(self.rows_valid)} PAKN hợp lệ."
        if self.written:
            return f"Đã nhập {fmt_int(self.rows_valid)} PAKN."
        if self.problems:
            return (f"Không ghi PAKN nào: {fmt_int(len(self.problems))} lỗi trong {fmt_int(self.rows_read)} dòng "
                    f"(đầu tiên: {self.problems[0].text()})")
        return "Không ghi gì: tệp không có PAKN nào."


def detects(head: bytes, name: str) -> bool:
    """A PAKN file: a JSON or CSV whose first record / header names the PAKN code; a workbook so named."""
    lowered = name.lower()
    if head.startswith(b"PK\x03\x04") or lowered.endswith((".xlsx", ".xlsm")):
        return bool(re.search(r"pakn|phan[-_ ]?anh", normalize(lowered)))
    text = head.decode("utf-8-sig", errors="ignore").lstrip()
    if text.startswith(("{", "[")):
        return bool(re.search(r'"\s*(MaPAKN|Mã PAKN)\s*"', text))
    first_line = text.splitlines()[0] if text else ""
    cells = re.split(r"[,;\t]", first_line)
    return any(normalize(cell.strip().strip('"')) in _CODE_HEADERS for cell in cells)


def imports(db: Any, file: Any, filename: str, *, kind: str | None = None, agency: str | None = None,
            skip_invalid: bool = False, dry_run: bool = False, scope: Any = None) -> PaknImportResult:
    """The :class:`~tthc_core.importer.Format` entry."""
    from ..qd766 import import_feedback

    result = PaknImportResult(kind=FORMAT, dry_run=dry_run)
    if kind not in (None, FORMAT):
        result.problems.append(Problem(1, "", f"Tệp PAKN không phải tệp {'hồ sơ' if kind == 'dossiers' else 'thủ tục'}"))
        return result
    if skip_invalid:
        result.problems.append(Problem(1, "", "Tệp PAKN được nhập trọn vẹn hoặc không nhập gì: không dùng "
                                              "--skip-invalid"))
        return result
    try:
        data, name = read_bytes(file, filename, Limits())
    except FileProblem as exc:
        result.problems.append(Problem(1, exc.column, exc.message))
        return result
    outcome = import_feedback(db, data, name, agency=agency, scope=scope, dry_run=dry_run)
    result.rows_read = outcome.rows
    result.problems = outcome.problems
    result.rows_valid = 0 if outcome.problems else outcome.rows
    result.written = bool(outcome.written) and not dry_run
    result.added = outcome.written
    return result


register_format(Format(FORMAT, detects, imports))

__all__ = ["FORMAT", "PaknImportResult", "detects", "imports"]
