"""The one type for every refused input: a file row, a report input, a sync record.

An import, a report-input form and the national sync reader all answer with a list of these, so the
pages, the CLI and the rejects file show them the same way: where (row and column, as the user sees
them) and why (Vietnamese).
"""
from __future__ import annotations

from dataclasses import dataclass

RECORD = "bản ghi "  # how a JSON record's label starts (tthc_core.importer.dvcqg)


@dataclass
class Problem:
    """One reason a row (or the whole file, or one input) was refused."""

    # As the user sees it: a file line (the header is usually 1), a label like «Ngân sách», or a record
    # of a JSON file, "bản ghi 3 (MaHoSo …)" (its column is then a field of the record).
    line: int | str
    column: str  # the header as written in the file, else the canonical column; "" for the whole row
    message: str  # Vietnamese
    value: str = ""  # the raw text of the cell
    raw: dict[str, str] | None = None  # the original row (header → text); None for file problems

    def text(self) -> str:
        """``Dòng 5, cột «Ngày tiếp nhận»: không đọc được ngày «31/02/2022».``"""
        if isinstance(self.line, str) and self.line.startswith(RECORD):
            where = self.line[:1].upper() + self.line[1:] + (f", trường «{self.column}»" if self.column else "")
        else:
            where = f"Dòng {self.line}" + (f", cột «{self.column}»" if self.column else "")
        message = self.message if self.message.endswith((".", "!", "?")) else self.message + "."
        return f"{where}: {message}"
