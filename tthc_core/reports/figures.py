"""The report's figures as the data stand now, from the same functions of :mod:`tthc_core.stats` the
dashboard uses: form II.06a (II.06b for the whole province, grouped by level), the procedure catalogue,
II.07b, the "4 tại chỗ" procedures, simplification, the report inputs, the league of fields or agencies
and the monthly trend the chart pack draws. :mod:`.freeze` stores exactly this mapping when a period is
signed, so a frozen quarter's workbook, draft and charts come from the same numbers.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from sqlalchemy import Engine, select

from ..db import get_engine
from ..formatting import vietnam_now
from ..models import Agency, Field, Procedure
from ..periods import Period, months_covering
from ..stats import (
    COUNT_KEYS,
    LEVEL_LABELS,
    active_at,
    catalogue,
    catalogue_conditions,
    compute_stats,
    continuity_failures,
    kpis,
    league,
    series,
)
from .agencies import PROVINCE_NAME, TOTAL_LABEL, agencies_in_scope, as_period
from .inputs import load_report_inputs, load_simplifications, simplification_summary

# NĐ 42/2022 replaced the online levels by classes from this day (domain.md §2).
ONLINE_CLASSES_FROM = dt.date(2022, 8, 1)


def _sum_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    # TODO(counting): replace by counting.sum_counts once it lands in main (issue 15: one copy).
    total = {k: 0 for k in COUNT_KEYS}
    for row in rows:
        for k in COUNT_KEYS:
            total[k] += row[k]
    return total


def _levels(db, period: Period, agencies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Form II.06b: the II.06a rows of each agency level (cấp tỉnh / huyện / xã) with its subtotal."""
    groups = []
    for level, label in LEVEL_LABELS.items():
        codes = [a["code"] for a in agencies if a["level"] == level]
        if codes:
            table = compute_stats(db, period, agency=codes, by="field")["dossiers"]
            groups.append({"key": level, "label": label, "rows": table["rows"], "total": table["total"]})
    return groups


def _one_stop(db, period: Period, agencies: list[dict[str, Any]]) -> dict[str, Any]:
    """Form II.07b: procedures under authority, through one-stop desks and with internal processes,
    by authority level, per agency and in total."""
    def arrange(table: dict[str, Any], key: str, label: str) -> dict[str, Any]:
        by_level = {r["key"]: r for r in table["rows"]}
        return {"key": key, "label": label, **{
            measure: {"all": table["total"][measure],
                      **{level: by_level[level][measure] for level in LEVEL_LABELS}}
            for measure in ("total", "one_stop", "internal_process")}}

    codes = [a["code"] for a in agencies]
    rows = [arrange(catalogue(db, a["code"], period.end, by="authority_level"), a["code"], a["name"])
            for a in agencies]
    total = arrange(catalogue(db, codes, period.end, by="authority_level"), "total", TOTAL_LABEL)
    return {"rows": rows, "total": total}


def _four_on_site(db, period: Period, agencies: list[dict[str, Any]]) -> dict[str, Any]:
    """The "4 tại chỗ" procedures at the period's end, each with its II.06a counts (zeros included)."""
    p = Procedure.__table__.c
    with get_engine(db).connect() as conn:
        stmt = (select(p.code, p.name, Agency.code.label("agency_code"), Agency.name.label("agency_name"),
                       Field.name.label("field"), Field.position)
                .join(Agency, Agency.id == p.agency_id)
                .outerjoin(Field, Field.id == p.field_id)
                .where(catalogue_conditions()["four_on_site"], *active_at(period.end),
                       Agency.code.in_([a["code"] for a in agencies])))
        procedures = conn.execute(stmt).all()
    order = {a["code"]: i for i, a in enumerate(agencies)}
    procedures = sorted(procedures, key=lambda r: (order[r.agency_code], r.position or 1000, r.field or "", r.code))
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for code in dict.fromkeys(r.agency_code for r in procedures):
        for row in compute_stats(db, period, agency=code, by="procedure")["dossiers"]["rows"]:
            counts[(code, row["key"])] = row
    rows = []
    for r in procedures:
        found = counts.get((r.agency_code, r.code), {})
        rows.append({"key": r.code, "label": r.name, "field": r.field or "", "agency_code": r.agency_code,
                     "agency_name": r.agency_name, **{k: found.get(k, 0) for k in COUNT_KEYS}})
    fields = list(dict.fromkeys(r["field"] for r in rows if r["field"]))
    return {"rows": rows, "total": _sum_counts(rows), "fields": fields}


def live_figures(db: str | Engine | None, period: Period | str, mode: str = "report",
                 agency: str | None = None) -> dict[str, Any]:
    """Every figure of the report as the data stand now (plain values: JSON once Decimals are text)."""
    period = as_period(period, mode)
    agencies = agencies_in_scope(db, agency)
    scope = agency or None
    result = compute_stats(db, period, agency=scope, by="field")
    total = result["dossiers"]["total"]
    simplifications = load_simplifications(db, agency, period)
    # The league ranks the agency's fields, or the province's agencies (as the overview page does).
    groups = (result["dossiers"]["rows"] if agency
              else compute_stats(db, period, agency=None, by="agency")["dossiers"]["rows"])
    last, count = months_covering(period)
    return {
        "period": {**period.to_dict(), "key": period.key, "name": period.name, "year": period.year,
                   "range_label": period.range_label, "mode_label": period.mode_label,
                   "online_classes": period.end >= ONLINE_CLASSES_FROM},
        "agency": ({"code": agencies[0]["code"], "name": agencies[0]["name"], "level": agencies[0]["level"]}
                   if agency else {"code": None, "name": PROVINCE_NAME, "level": None}),
        "form": "II.06a" if agency else "II.06b",
        "dossiers": result["dossiers"],
        "levels": [] if agency else _levels(db, period, agencies),
        "procedures": result["procedures"],
        "catalogue": catalogue(db, scope, period.end, by="field"),
        "one_stop": _one_stop(db, period, agencies),
        "four_on_site": _four_on_site(db, period, agencies),
        "simplification": {"rows": simplifications, "total": simplification_summary(simplifications)},
        "inputs": load_report_inputs(db, agency, period),
        "kpis": kpis(total),
        "league": league(groups),
        "trend": [{"spec": p.spec, "mode": p.mode, **counts} for p, counts in series(db, last, count=count,
                                                                                     agency=scope)],
        "continuity": continuity_failures(db, period, agency=scope, carried_over=total["carried_over"]),
        "computed_at": vietnam_now().isoformat(),
    }
