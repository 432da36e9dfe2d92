"""The report's figures as the data stand now, from the same functions of :mod:`tthc_core.stats` the
dashboard uses: form II.06a (II.06b for the whole province, grouped by level), the procedure catalogue,
II.07b, the "4 tại chỗ" procedures, simplification, the report inputs, the PAKN figures of form II.05a
(:func:`feedback_figures`), the deadline basis in force, the league of fields or agencies and the monthly
trend the chart pack draws. :mod:`.freeze` stores exactly this mapping when a period is
signed, so a frozen quarter's workbook, draft and charts come from the same numbers.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any, Iterable

from sqlalchemy import Engine, and_, func, select

from ..counting import bounds, deadline_basis, deadline_basis_label
from ..db import get_engine
from ..formatting import vietnam_now
from ..models import Agency, Feedback, Field, Procedure
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


# Form II.05a/VPCP/KSTT (feedback on administrative regulations): the count columns, in column order (3)…(13).
FEEDBACK_KEYS = ("received_total", "carried_over", "received_new", "received_regulation", "received_conduct",
                 "handled_total", "handled_regulation", "handled_conduct",
                 "pending_total", "pending_regulation", "pending_conduct")
NO_FIELD = "Chưa xác định lĩnh vực"


def _is_conduct(classification: str | None) -> bool:
    """PAKN about an officer's conduct (hành vi hành chính); everything else is about a regulation
    (NĐ 20/2008: PAKN về quy định hành chính), unclassified records included."""
    text = unicodedata.normalize("NFD", (classification or "").lower().replace("đ", "d"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return "conduct" in text or "hanh vi" in text


def feedback_figures(db: str | Engine | None, period: Period, agencies: list[dict[str, Any]],
                     inputs: dict[str, Any]) -> dict[str, Any]:
    """The II.05a figures (PAKN received, handled, pending; about regulations or conduct) by field.

    From the PAKN records of the agencies in scope when the database holds any for the period
    (``source`` "records"): a record counts when first received (or sent) before the cut-off and not
    handled (or refused) before the start; carried over when received before the start; handled when
    handled or refused before the cut-off. Without records, the figures the officer entered in the
    report inputs (``source`` "entered", totals only), else nothing (``source`` "none").
    """
    start, cutoff = bounds(period)
    f = Feedback.__table__.c
    records = []
    with get_engine(db).connect() as conn:
        stmt = (select(f.first_received_at, f.sent_at, f.handled_at, f.rejected_at, f.classification,
                       Field.name.label("field"), Field.position)
                .join(Agency, Agency.id == f.agency_id)
                .outerjoin(Procedure, and_(Procedure.code == f.procedure_code, Procedure.agency_id == f.agency_id))
                .outerjoin(Field, Field.id == Procedure.field_id)
                .where(Agency.code.in_([a["code"] for a in agencies]),
                       func.coalesce(f.first_received_at, f.sent_at) < cutoff))
        if agencies:
            records = conn.execute(stmt).all()
    rows: dict[str, dict[str, Any]] = {}
    positions: dict[str, int] = {}
    for r in records:
        ended = min((t for t in (r.handled_at, r.rejected_at) if t is not None), default=None)
        if ended is not None and ended < start:
            continue  # dealt with in an earlier period
        label = r.field or NO_FIELD
        positions[label] = r.position if r.field and r.position is not None else 10_000
        row = rows.setdefault(label, {"key": label, "label": label, **{k: 0 for k in FEEDBACK_KEYS}})
        kind = "conduct" if _is_conduct(r.classification) else "regulation"
        state = "handled" if ended is not None and ended < cutoff else "pending"
        first = r.first_received_at or r.sent_at
        row["received_total"] += 1
        row["carried_over" if first < start else "received_new"] += 1
        row[f"received_{kind}"] += 1
        row[f"{state}_total"] += 1
        row[f"{state}_{kind}"] += 1
    if rows:
        ordered = sorted(rows.values(), key=lambda r: (positions[r["label"]], r["label"]))
        return {"source": "records", "rows": ordered, "total": _sum_keys(ordered, FEEDBACK_KEYS)}
    total: dict[str, Any] = {k: None for k in FEEDBACK_KEYS}
    entered = {"received_total": "feedback_received", "handled_total": "feedback_handled",
               "pending_total": "feedback_pending"}
    for key, input_key in entered.items():
        total[key] = inputs.get(input_key)
    source = "entered" if any(v is not None for v in total.values()) else "none"
    return {"source": source, "rows": [], "total": total}


def _sum_keys(rows: Iterable[dict[str, Any]], keys: Iterable[str]) -> dict[str, int]:
    keys = tuple(keys)
    return {k: sum(r[k] for r in rows) for k in keys}


def index766(db: str | Engine | None, period: Period, agency: str | None) -> dict[str, Any]:
    """The QĐ 766 index of the period's calendar quarter (the portal scores calendar periods, qd766.md
    §1), for the workbook's "Chỉ số 766" sheet; as the portal would score it now."""
    from ..qd766 import compute_index  # the index reads the report's agencies, not the other way round

    return compute_index(db, period.spec, "calendar", agency=agency, ranking=False)


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
    inputs = load_report_inputs(db, agency, period)
    with get_engine(db).connect() as conn:
        basis = deadline_basis(conn)  # the counting setting the figures are computed with
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
        "inputs": inputs,
        "kpis": kpis(total),
        "league": league(groups),
        "trend": [{"spec": p.spec, "mode": p.mode, **counts} for p, counts in series(db, last, count=count,
                                                                                     agency=scope)],
        "continuity": continuity_failures(db, period, agency=scope, carried_over=total["carried_over"]),
        "feedback": feedback_figures(db, period, agencies, inputs),
        "deadline_basis": {"key": basis, "label": deadline_basis_label(basis)},
        "computed_at": vietnam_now().isoformat(),
    }
