"""The quarter's paperwork from :class:`tthc_core.reports.QuarterReport` (:func:`~tthc_core.reports.build_report`).

- :mod:`.xlsx`: the Excel annexes (II.06a/II.06b, II.07b, TTHC, 4 tại chỗ, simplification, PAKN);
- :mod:`.docx`: the Word draft of the narrative report;
- :mod:`.chartpack`: the overview charts as PNG files in a zip, for meetings (imported on demand: it
  needs Plotly, kaleido and a Chromium).
"""
from .docx import docx_bytes, write_docx
from .xlsx import workbook_bytes, write_workbook

__all__ = ["write_workbook", "workbook_bytes", "write_docx", "docx_bytes"]
