"""Showing what :mod:`tthc_core.tables` builds: tables of pre-formatted strings, CSV downloads."""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd
import streamlit as st

from .. import tables
from ..exports import csv as exports_csv
from .sidebar import Filters


def show_table(frame: pd.DataFrame, *, text_columns: Iterable[str] | None = None, help: dict[str, str] | None = None,
               height: int | str = "auto", key: str | None = None, **kwargs: Any) -> Any:
    """A dataframe whose cells are already Vietnamese strings; numbers right-aligned. Alignment and
    tooltips come from the table's column spec (``frame.attrs``) unless given."""
    text_columns = set(frame.attrs.get(tables.TEXT_COLUMNS, ()) if text_columns is None else text_columns)
    help = frame.attrs.get(tables.HELP, {}) if help is None else help
    config = {c: st.column_config.TextColumn(c, alignment="left" if c in text_columns else "right", help=help.get(c))
              for c in frame.columns}
    return st.dataframe(frame, hide_index=True, column_config=config, height=height, key=key, **kwargs)


def download_csv(frame: pd.DataFrame, label: str, file_name: str, key: str | None = None) -> None:
    """A CSV download: formula-like cells neutralised, the file name made safe (exports/csv.py)."""
    st.download_button(label, exports_csv.csv_bytes(frame), file_name=exports_csv.safe_filename(file_name),
                       mime="text/csv", key=key, icon=":material/download:", on_click="ignore")


def slug(f: Filters) -> str:
    """``SLDTBXH_2022-Q2_report`` for file names (agency codes come from imported files: made safe)."""
    return exports_csv.safe_filename(f"{f.agency or 'tat-ca'}_{f.period.spec.replace('..', '_')}_{f.period.mode}")
