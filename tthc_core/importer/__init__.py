"""Reading dossier and procedure exports (CSV or XLSX, or a format registered in :data:`FORMATS`) into
the database.

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

The sections, one module each: :mod:`.reading` (bytes → grid of text, the header row),
:mod:`.columns` (canonical columns, Vietnamese aliases and labels), :mod:`.values` (parsers of cell
values), :mod:`.checks` (row checks), :mod:`.resolve` (agency, field and procedure ids; the write).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from ..db import get_engine, settle_after_bulk_write
from ..formatting import fmt_int
from ..periods import Period, period_containing
from ..problems import Problem
from . import resolve
from .checks import check_dossiers, check_procedures
from .columns import (ALIASES, DOSSIER_ALIASES, KIND_NOUNS, KINDS, LABELS, MAX_LENGTH, PROCEDURE_ALIASES,
                      REQUIRED, map_headers)
from .reading import FileProblem, Limits, Table, read_bytes, read_head, read_table
from .values import normalize, parse_timestamps


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
    # First and last receipt day of the valid dossiers: the periods the file covers, for the view to
    # jump to after an import (issue 13). None for procedures and for files without a valid dossier.
    received_range: tuple[dt.date, dt.date] | None = None

    def quarters(self, mode: str = "report") -> list[Period]:
        """The quarters (of ``mode``) the valid dossiers were received in, first to last."""
        if self.received_range is None:
            return []
        first, last = self.received_range
        found = [period_containing(first, "quarter", mode)]
        while found[-1].end < last:
            found.append(period_containing(found[-1].end + dt.timedelta(days=1), "quarter", mode))
        return found

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
    from ..exports.csv import csv_bytes  # on demand: the exports package loads the Word and Excel writers

    path = Path(path)
    path.write_bytes(csv_bytes(result.rejects_frame()))
    return path


# --------------------------------------------------------------------------------------------
# Formats told apart by their content
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Format:
    """A file format besides the CSV/XLSX tables: ``detects(data, filename)`` looks at the content (the
    first 4.096 bytes, not only the name); ``imports(db, file, filename, **request)`` does the whole import
    from the file as given (a path streams) and answers an :class:`ImportResult`. ``request`` holds the
    keyword arguments of :func:`import_file` (kind, agency, skip_invalid, dry_run, scope); the scope's role
    is checked. Register with :func:`register_format` when the module is imported."""

    name: str
    detects: Callable[[bytes, str], bool]
    imports: Callable[..., ImportResult]


# Tried in order before the tables. The national sync JSON (importer/dvcqg.py) registers here.
FORMATS: list[Format] = []


def register_format(fmt: Format) -> None:
    if all(f.name != fmt.name for f in FORMATS):
        FORMATS.append(fmt)


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------

def import_file(db: str | Engine | None, file: str | os.PathLike | bytes | IO[bytes], *,
                kind: str | None = None, agency: str | None = None, skip_invalid: bool = False,
                dry_run: bool = False, filename: str | None = None, scope: Any = None,
                limits: Limits | None = None, format: str | None = None,
                within: Callable[[Any, ImportResult], None] | None = None) -> ImportResult:
    """Import a dossier or procedure file (CSV or XLSX) into the database at ``db``.

    ``file`` is a path, the file's bytes (give ``filename`` so ``.xlsx`` is recognised) or a binary
    file object. ``kind`` is ``"dossiers"``, ``"procedures"`` or ``None`` to tell from the headers.
    ``agency`` is the agency code for rows without an agency column. By default any problem writes
    nothing; ``skip_invalid`` writes the valid rows anyway; ``dry_run`` checks and counts (new vs
    updated) without writing.

    ``format`` names a registered :class:`Format` (``"dvcqg"``) or ``"table"``; by default the content
    decides. A registered format gets the file itself (a path streams), not its bytes.

    ``scope`` (an ``auth.Scope``) imports on behalf of an account: a role that may not import raises
    ``auth.AccessDenied``; rows of agencies outside the scope are refused, each with its line.
    ``limits`` bounds what the file may cost (:class:`Limits`: size, unzipped size, cells, time).

    ``within(conn, result)`` runs inside the writing transaction once the rows are written (``result``
    says so): what must be committed with them or not at all (the live feed's import log and watermark).
    """
    if scope is not None:
        scope.require("import")
    result = ImportResult(kind=kind, dry_run=dry_run)
    agency = (agency or "").strip() or None
    if agency is not None and len(agency) > MAX_LENGTH["agency_code"]:
        result.problems.append(Problem(1, "", f"Mã cơ quan «{agency[:40]}…» dài {fmt_int(len(agency))} ký tự, quá "
                                              f"{MAX_LENGTH['agency_code']} ký tự cho phép"))
        return result
    try:
        limits = limits or Limits()
        head, name = read_head(file, filename)
        for fmt in FORMATS:
            if fmt.name == format or (format is None and fmt.detects(head, name)):
                # A registered format streams the file itself (a national file is gigabytes).
                return fmt.imports(db, file, name, kind=kind, agency=agency, skip_invalid=skip_invalid,
                                   dry_run=dry_run, scope=scope, **({"within": within} if within else {}))
        if kind is not None and kind not in KINDS:
            result.problems.append(Problem(1, "", f"Loại tệp «{kind}» không hợp lệ (dùng dossiers hoặc procedures)"))
            return result
        data, name = read_bytes(file, filename, limits)
        table = read_table(data, name, limits)
    except FileProblem as exc:
        result.problems.append(Problem(1, exc.column, exc.message))
        return result
    return _import_table(db, table, result, kind=kind, agency=agency, skip_invalid=skip_invalid, scope=scope,
                         within=within)


def _import_table(db: str | Engine | None, table: Table, result: ImportResult, *, kind: str | None,
                  agency: str | None, skip_invalid: bool, scope: Any,
                  within: Callable[[Any, ImportResult], None] | None = None) -> ImportResult:
    mappings = {k: map_headers(table.headers, table.header_line, ALIASES[k], LABELS[k]) for k in KINDS}
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

    frame, check = (check_dossiers if kind == "dossiers" else check_procedures)(table, columns)
    agency = resolve.scoped_agencies(check, frame, agency, scope)
    resolve.check_scoped_rows(db, check, frame, kind, agency, scope)
    result.problems = check.problems()
    valid = frame[~check.bad]
    result.rows_valid = len(valid)
    result.preview = _preview(valid)
    if kind == "dossiers" and valid["received_at"].notna().any():
        received = valid["received_at"].dropna()
        result.received_range = (received.min().date(), received.max().date())
    if result.problems and not (skip_invalid or result.dry_run):
        return result
    if valid.empty:
        return result

    engine = get_engine(db)
    if result.dry_run:
        with engine.connect() as conn:
            result.added, result.updated = resolve.check_only(conn, kind, valid, agency)
        return result
    try:
        with engine.begin() as conn:
            result.added, result.updated = resolve.write(conn, kind, valid, agency, columns, scope)
            if within is not None:
                result.written = True
                within(conn, result)
    except (DataError, IntegrityError) as exc:
        # A value the checks let through and the database refused: said, never a traceback on screen.
        result.written = False
        result.problems.append(Problem(table.header_line, "", "Cơ sở dữ liệu từ chối dữ liệu của tệp, không ghi gì "
                                       f"({exc.orig.__class__.__name__}): hãy gửi tệp cho quản trị viên"))
        return result
    except resolve.ForeignCodes:
        result.written = False
        result.problems.append(Problem(table.header_line, "", "Trong lúc nhập, một mã hồ sơ của tệp đã được ghi "
                                       "cho cơ quan khác: hãy kiểm tra lại tệp rồi nhập lại"))
        return result
    result.written = True
    if kind == "dossiers":
        settle_after_bulk_write(engine, "dossiers", result.added + result.updated)
    return result


def _preview(valid: pd.DataFrame) -> pd.DataFrame:
    """The valid rows as parsed (canonical columns, timestamps as datetime64), with their ``line``."""
    preview = valid.copy()
    preview.insert(0, "line", preview.index.astype(int))
    return preview.reset_index(drop=True)


__all__ = ["FORMATS", "Format", "ImportResult", "KINDS", "Limits", "Problem", "import_file", "read_table", "register_format",
           "write_rejects", "normalize", "parse_timestamps", "DOSSIER_ALIASES", "PROCEDURE_ALIASES"]

# Register themselves in FORMATS (after everything above exists: they import from this package). PAKN
# first: its JSON is JSON too, and it asks for a PAKN code where the national format takes any JSON.
from . import pakn  # noqa: E402,F401
from . import dvcqg  # noqa: E402,F401
