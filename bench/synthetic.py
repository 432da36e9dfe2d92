"""A deterministic synthetic province for the benchmark and the scale tests, in two shapes.

- ``province`` (the default): 30 agencies at three levels, 20 fields, 20 procedures an agency, and
  ``n`` dossiers spread over ``years`` years ending on ``end``: a channel mix whose online share grows
  over time, realistic lags, early, late, withdrawn, suspended and a few (0,3 %) never-resolved dossiers.
- ``long-open`` (issue 16): 20 agencies, 15 fields, 5 % of the dossiers never closed and spread over the
  whole history (the abandoned records real one-stop systems accumulate), and a long tail of very late
  resolutions (months to years after the due date).

Generated with numpy in a few seconds for millions of rows, written as the canonical CSV the importer
reads.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tthc_core.workdays import WorkCalendar

FIELDS = (
    "Người có công", "Bảo trợ xã hội", "Việc làm", "Giáo dục nghề nghiệp", "An toàn, vệ sinh lao động",
    "Hộ tịch", "Chứng thực", "Đất đai", "Xây dựng", "Thành lập và hoạt động của doanh nghiệp",
    "Thành lập và hoạt động của hộ kinh doanh", "Đầu tư tại Việt Nam", "Lý lịch tư pháp", "Công chứng",
    "Dược phẩm", "Khám bệnh, chữa bệnh", "Giao thông vận tải", "Tài nguyên nước", "Môi trường", "Văn hóa",
)
SHAPES = {
    # agencies by level, fields used, share never closed, share resolved very late
    "province": {"levels": ("province",) * 12 + ("district",) * 10 + ("commune",) * 8, "fields": 20,
                 "never": 0.003, "very_late": 0.0},
    "long-open": {"levels": ("province",) * 8 + ("district",) * 7 + ("commune",) * 5, "fields": 15,
                  "never": 0.05, "very_late": 0.01},
}
PROCEDURES_PER_AGENCY = 20


@dataclass(frozen=True)
class Province:
    agencies: pd.DataFrame  # code, name, level, weight
    procedures: pd.DataFrame  # canonical procedure columns
    dossiers: pd.DataFrame  # canonical dossier columns, as text


def agencies(shape: str = "province") -> pd.DataFrame:
    rows = []
    levels = SHAPES[shape]["levels"]
    for i, level in enumerate(levels):
        prefix = {"province": "SO", "district": "HUYEN", "commune": "XA"}[level]
        number = levels[: i + 1].count(level)
        name = {"province": f"Sở số {number}", "district": f"UBND huyện số {number}",
                "commune": f"UBND xã số {number}"}[level]
        weight = {"province": 3.0, "district": 2.0, "commune": 0.5}[level]
        rows.append(dict(code=f"{prefix}{i + 1:02d}", name=name, level=level, weight=weight))
    return pd.DataFrame(rows)


def procedures(agency_table: pd.DataFrame, seed: int = 7, fields: int = len(FIELDS)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a in agency_table.itertuples():
        for j in range(PROCEDURES_PER_AGENCY):
            level = int(rng.choice([2, 3, 4], p=[0.3, 0.3, 0.4]))
            rows.append(dict(
                code=f"{1 + j % 2}.{a.Index * 100 + j:06d}", name=f"Thủ tục {j + 1} của {a.name}",
                field=FIELDS[(a.Index + j) % fields], agency_code=a.code, authority_level=a.level,
                regulated_by="central" if j % 7 else "local", published=1, publicized=1,
                one_stop=int(j % 3 != 0), lien_thong=int(j % 4 == 0), postal=int(j % 5 != 0),
                online_level=level, four_on_site=int(j % 9 == 0), internal_process=1,
                processing_days=int(rng.choice([1, 3, 5, 7, 10, 15, 20, 30])),
            ))
    return pd.DataFrame(rows)


def generate(n: int = 2_000_000, years: int = 3, end: dt.date = dt.date(2026, 6, 30), seed: int = 2022,
             shape: str = "province") -> Province:
    """The province of ``shape`` with ``n`` dossiers received over the ``years`` years up to ``end``."""
    rng = np.random.default_rng(seed)
    spec = SHAPES[shape]
    agency_table = agencies(shape)
    proc_table = procedures(agency_table, fields=spec["fields"])
    start = dt.date(end.year - years, end.month, end.day) + dt.timedelta(days=1)

    cal = WorkCalendar()
    working = np.array([d.toordinal() for d in cal._days], dtype=np.int64)
    first = int(np.searchsorted(working, start.toordinal()))
    last = int(np.searchsorted(working, end.toordinal(), side="right")) - 1

    # Where and what: agencies by weight, then one of the agency's procedures.
    weights = agency_table["weight"].to_numpy()
    agency_idx = rng.choice(len(agency_table), size=n, p=weights / weights.sum())
    proc_idx = agency_idx * PROCEDURES_PER_AGENCY + rng.integers(0, PROCEDURES_PER_AGENCY, size=n)
    days = proc_table["processing_days"].to_numpy()[proc_idx]

    # When: a working day in the window, office hours.
    received_wd = rng.integers(first, last + 1, size=n)
    received_day = working[received_wd]
    received_min = rng.integers(7 * 60 + 30, 17 * 60, size=n)
    due_wd = np.minimum(received_wd + days, len(working) - 1)
    due_day = working[due_wd]

    # How it ended: never resolved, suspended, withdrawn/returned, late, early, on the due date.
    # The shares of each outcome after "never" keep their widths, shifted by the never-closed share.
    u = rng.random(n)
    p = spec["never"]
    never = u < p
    suspended = (u >= p) & (u < p + 0.005)
    returned = (u >= p + 0.005) & (u < p + 0.02)
    late = (u >= p + 0.02) & (u < p + 0.06)
    early = (u >= p + 0.06) & (u < p + 0.257)
    resolved_day = due_day.copy()
    late_wd = np.minimum(due_wd + rng.integers(1, 11, size=n), len(working) - 1)
    # A long tail: some late dossiers end months or years after their due date (Pareto-distributed).
    if spec["very_late"]:  # (drawn only for that shape: the default province stays what it was)
        very_late = late & (rng.random(n) < spec["very_late"] / 0.04)
        tail = (rng.pareto(1.0, size=n) * 40).astype(np.int64) + 60
        late_wd[very_late] = np.minimum(due_wd[very_late] + tail[very_late], len(working) - 1)
    resolved_day[late] = working[late_wd[late]]
    span = np.maximum(due_day - received_day, 1)
    resolved_day[early] = received_day[early] + (rng.random(early.sum()) * span[early]).astype(np.int64)
    returned_wd = np.minimum(received_wd + rng.integers(1, 4, size=n), len(working) - 1)
    resolved_day[returned] = working[returned_wd[returned]]
    resolved_min = rng.integers(7 * 60 + 30, 17 * 60, size=n)
    same_day = resolved_day == received_day
    resolved_min[same_day] = np.maximum(resolved_min[same_day], received_min[same_day] + 1)
    open_ = never | suspended | (resolved_day > end.toordinal())

    status = np.full(n, "normal", dtype=object)
    status[suspended] = "suspended"
    status[returned] = np.where(rng.random(returned.sum()) < 0.7, "returned", "withdrawn")

    # Online filing grows from 5 % to 60 % over the window; 4 % of the rest come by public post.
    position = (received_wd - first) / max(1, last - first)
    online = rng.random(n) < 0.05 + 0.55 * position
    postal = ~online & (rng.random(n) < 0.04)
    channel = np.where(online, "online", np.where(postal, "postal", "direct"))

    epoch = np.datetime64("0001-01-01", "D") - np.timedelta64(1, "D")  # ordinal 1 is 0001-01-01
    received_at = (epoch + received_day.astype("timedelta64[D]")).astype("datetime64[m]") + received_min.astype(
        "timedelta64[m]")
    due_at = epoch + due_day.astype("timedelta64[D]")
    resolved_at = (epoch + resolved_day.astype("timedelta64[D]")).astype("datetime64[m]") + resolved_min.astype(
        "timedelta64[m]")
    resolved_text = np.datetime_as_string(resolved_at, unit="m").astype(object)
    resolved_text[open_] = ""

    codes = agency_table["code"].to_numpy()[agency_idx].astype(object) + "-" + pd.Series(
        np.arange(n)).astype(str).str.zfill(9).to_numpy(dtype=object)
    order = np.argsort(received_at, kind="stable")
    dossiers = pd.DataFrame({
        "code": codes, "procedure_code": proc_table["code"].to_numpy()[proc_idx],
        "field": proc_table["field"].to_numpy()[proc_idx],
        "agency_code": agency_table["code"].to_numpy()[agency_idx], "channel": channel,
        "received_at": np.datetime_as_string(received_at, unit="m"),
        "due_at": np.datetime_as_string(due_at, unit="D"), "resolved_at": resolved_text, "status": status,
    }).iloc[order].reset_index(drop=True)
    return Province(agency_table, proc_table, dossiers)


def write_csv(province: Province, folder: Path) -> tuple[Path, Path]:
    """The procedure and dossier exports as canonical CSV files."""
    folder.mkdir(parents=True, exist_ok=True)
    procedures_csv, dossiers_csv = folder / "thu-tuc.csv", folder / "ho-so.csv"
    province.procedures.to_csv(procedures_csv, index=False)
    province.dossiers.to_csv(dossiers_csv, index=False)
    return procedures_csv, dossiers_csv
