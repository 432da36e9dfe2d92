"""The quarterly report as one object: figures, report inputs, balance check and frozen figures.

:func:`report_figures` gathers everything the "Báo cáo quý" page, the Excel annexes and the Word
draft print — form II.06a (or II.06b for the whole province), the procedure catalogue, form II.07b,
the "4 tại chỗ" procedures, simplification, feedback and the other report inputs — from the same
functions of :mod:`tthc_core.stats` the dashboard uses. The three renderers only lay it out.

- Report inputs the dossier data cannot give (feedback counts, budget, one-stop scores, notes) and
  simplification reviews are stored per agency and period (:class:`~tthc_core.periods.Period.key`).
- :func:`balance_check` runs the identities of domain.md §4 (every row and the total), the catalogue
  identity (central + local = total) and period continuity; :func:`check_counts` runs them on printed
  numbers, e.g. the reference report's 3.525 resolved that should be 2.525.
- :func:`freeze` stores the figures as signed (chốt số liệu); afterwards :func:`report_figures` returns
  the frozen figures with who/when and the cells where live data now differ.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from .auth import AccessDenied, Scope, audit, edit_agency, report_agency
from .db import bump_data_version, data_version, get_engine
from .formatting import fmt_decimal, fmt_int, fmt_percent, ratio_percent
from .models import Agency, Field, FrozenReport, Procedure, ReportInput, SimplificationReview
from .periods import Period, parse_period
from .stats import (
    CATALOGUE_KEYS,
    CATALOGUE_LABELS,
    COUNT_KEYS,
    COUNT_LABELS,
    FORM_COLUMNS,
    LEVEL_LABELS,
    StatsError,
    active_at,
    catalogue,
    catalogue_conditions,
    catalogue_failures,
    compute_stats,
    continuity_failures,
    identity_failures,
    kpis,
)

PROVINCE_NAME = "Toàn tỉnh"
RECEIVING_UNIT = "Văn phòng UBND tỉnh"
TOTAL_LABEL = "Tổng cộng"
# NĐ 42/2022 replaced the online levels by classes from this day (domain.md §2).
ONLINE_CLASSES_FROM = dt.date(2022, 8, 1)
# NĐ 61/2018 Ch. V: 9 criteria × 2 points.
ONE_STOP_MAX_SCORE = Decimal(18)


def _may_edit(scope: Scope | None, agency: str | None) -> None:
    """Report inputs and freezing: importing roles only, within their agencies (auth.edit_agency)."""
    edit_agency(scope, agency)


class ReportError(ValueError):
    """A report action that cannot be done (freezing a running period, unbalanced figures)."""


# --------------------------------------------------------------------------------------------
# Report inputs and simplification reviews
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputField:
    key: str
    label: str
    kind: str  # count | money | score | text


REPORT_INPUT_FIELDS = (
    InputField("feedback_received", "Phản ánh, kiến nghị đã tiếp nhận", "count"),
    InputField("feedback_handled", "Phản ánh, kiến nghị đã xử lý", "count"),
    InputField("feedback_pending", "Phản ánh, kiến nghị đang xử lý", "count"),
    InputField("budget", "Kinh phí kiểm soát TTHC trong năm (đồng)", "money"),
    InputField("one_stop_self_score", "Điểm tự đánh giá một cửa (tối đa 18)", "score"),
    InputField("one_stop_appraised_score", "Điểm thẩm định một cửa (tối đa 18)", "score"),
    InputField("initiatives", "Sáng kiến cải cách TTHC được đề xuất", "count"),
    InputField("notes", "Ghi chú", "text"),
)
INPUT_FIELDS_BY_KEY = {f.key: f for f in REPORT_INPUT_FIELDS}
VALUE_COLUMN = "Giá trị"

# Columns of the simplification editor, in the order the page shows them.
SIMPLIFICATION_COLUMNS = {
    "procedure_code": "Mã TTHC",
    "procedure_name": "Tên thủ tục hành chính",
    "authority_level": "Cấp thực hiện",
    "days_before": "Thời hạn trước (ngày)",
    "days_after": "Thời hạn sau (ngày)",
    "decision": "Văn bản phê duyệt",
}
_INTEGER = re.compile(r"^\d{1,3}(\.\d{3})+$|^\d+$")  # 35000000 or 35.000.000


@dataclass(frozen=True)
class InputProblem:
    """One rejected value: the row and column an officer sees, and why."""

    row: str
    column: str
    message: str

    def text(self) -> str:
        return f"Dòng {self.row}, cột «{self.column}»: {self.message}"


def _as_period(period: Period | str, mode: str) -> Period:
    return period if isinstance(period, Period) else parse_period(period, mode)


def _agency_row(conn, code: str) -> Any:
    row = conn.execute(select(Agency.id, Agency.code, Agency.name, Agency.level).where(Agency.code == code)).first()
    if row is None:
        raise StatsError(f"Không có cơ quan mã «{code}» trong cơ sở dữ liệu.")
    return row


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from an emptied data-editor cell
        return True
    return isinstance(value, str) and not value.strip()


def _parse_input(spec: InputField, value: Any) -> tuple[Any, str | None]:
    """``(value, error)`` for one report input; blank is allowed and means "not reported"."""
    if spec.kind == "text":
        return ("" if _blank(value) else str(value).strip()), None
    if _blank(value):
        return None, None
    text = str(value).strip()
    if spec.kind in ("count", "money"):
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value == int(value) and value >= 0:
            return int(value), None
        if isinstance(value, float) and value.is_integer() and value >= 0:
            return int(value), None
        if _INTEGER.match(text):
            return int(text.replace(".", "")), None
        return None, f"«{text}» không phải số nguyên không âm."
    try:
        score = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None, f"«{text}» không phải là số điểm."
    if not Decimal(0) <= score <= ONE_STOP_MAX_SCORE:
        return None, f"điểm phải từ 0 đến {fmt_int(ONE_STOP_MAX_SCORE)}, không phải {fmt_decimal(score, 1)}."
    return score, None


def _stored(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def load_report_inputs(db: str | Engine | None, agency: str | None, period: Period | str,
                       mode: str = "report") -> dict[str, Any]:
    """Every report input for the agency and period, parsed (``None`` = not reported).

    For the whole province (``agency`` None) counts and budgets are summed over the agencies that
    reported them; scores and notes belong to one agency and are left empty.
    """
    period = _as_period(period, mode)
    with get_engine(db).connect() as conn:
        stmt = select(ReportInput.agency_id, ReportInput.key, ReportInput.value).where(
            ReportInput.period_key == period.key)
        if agency:
            stmt = stmt.where(ReportInput.agency_id == _agency_row(conn, agency).id)
        stored = conn.execute(stmt).all()
    values: dict[str, Any] = {f.key: ("" if f.kind == "text" else None) for f in REPORT_INPUT_FIELDS}
    for row in stored:
        spec = INPUT_FIELDS_BY_KEY.get(row.key)
        if spec is None:
            continue
        value, _ = _parse_input(spec, row.value)
        if agency:
            values[spec.key] = value
        elif spec.kind in ("count", "money") and value is not None:
            values[spec.key] = (values[spec.key] or 0) + value
    return values


def save_report_inputs(db: str | Engine | None, agency: str, period: Period | str, values: dict[str, Any],
                       mode: str = "report", scope: Scope | None = None) -> list[InputProblem]:
    """Validate and store the inputs (all or nothing); returns the problems, empty when saved."""
    _may_edit(scope, agency)
    period = _as_period(period, mode)
    problems, parsed = [], {}
    for key, value in values.items():
        spec = INPUT_FIELDS_BY_KEY.get(key)
        if spec is None:
            problems.append(InputProblem(f"«{key}»", VALUE_COLUMN, "không phải là chỉ tiêu của báo cáo."))
            continue
        parsed[key], error = _parse_input(spec, value)
        if error:
            problems.append(InputProblem(f"«{spec.label}»", VALUE_COLUMN, error))
    if problems:
        return problems
    with get_engine(db).begin() as conn:
        agency_id = _agency_row(conn, agency).id
        conn.execute(delete(ReportInput).where(ReportInput.agency_id == agency_id,
                                               ReportInput.period_key == period.key,
                                               ReportInput.key.in_(list(parsed))))
        conn.execute(ReportInput.__table__.insert(), [
            {"agency_id": agency_id, "period_key": period.key, "key": k, "value": _stored(v)}
            for k, v in parsed.items()
        ])
        bump_data_version(conn)
    return []


def report_input_rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs as editor rows ``{key, Chỉ tiêu, Giá trị}``, values as an officer types them
    (``35.000.000``, ``17,5``; :func:`save_report_inputs` reads them back)."""
    def typed(spec: InputField, value: Any) -> str:
        if value is None or spec.kind == "text":
            return value or ""
        return fmt_int(value) if spec.kind in ("count", "money") else fmt_number(value)
    return [{"key": f.key, "Chỉ tiêu": f.label, VALUE_COLUMN: typed(f, values.get(f.key))}
            for f in REPORT_INPUT_FIELDS]


def _level_key(value: Any) -> str | None:
    if _blank(value):
        return "province"
    text = str(value).strip()
    if text in LEVEL_LABELS:
        return text
    by_label = {label.lower(): key for key, label in LEVEL_LABELS.items()}
    return by_label.get(text.lower())


def _parse_days(value: Any) -> Decimal | None:
    if _blank(value):
        return None
    try:
        days = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None
    return days if days.is_finite() else None


def _simplification_row(index: int, source: dict[str, Any]) -> tuple[dict[str, Any] | None, list[InputProblem]]:
    row_no = str(index)
    problems = []
    code = "" if _blank(source.get("procedure_code")) else str(source["procedure_code"]).strip()
    name = "" if _blank(source.get("procedure_name")) else str(source["procedure_name"]).strip()
    decision = "" if _blank(source.get("decision")) else str(source["decision"]).strip()
    before, after = _parse_days(source.get("days_before")), _parse_days(source.get("days_after"))
    if not any((code, name, decision)) and before is None and after is None:
        return None, []  # an empty line left by the editor
    c = SIMPLIFICATION_COLUMNS
    if not name:
        problems.append(InputProblem(row_no, c["procedure_name"], "cần tên thủ tục hành chính."))
    level = _level_key(source.get("authority_level"))
    if level is None:
        problems.append(InputProblem(row_no, c["authority_level"],
                                     f"«{source.get('authority_level')}» không phải cấp tỉnh, huyện hoặc xã."))
    if before is None or before <= 0:
        problems.append(InputProblem(row_no, c["days_before"], "cần số ngày lớn hơn 0."))
    if after is None or after < 0:
        problems.append(InputProblem(row_no, c["days_after"], "cần số ngày không âm."))
    elif before is not None and after > before:
        problems.append(InputProblem(row_no, c["days_after"], f"thời hạn sau ({fmt_number(after)}) dài hơn "
                                                              f"thời hạn trước ({fmt_number(before)})."))
    if problems:
        return None, problems
    return {"procedure_code": code, "procedure_name": name, "authority_level": level,
            "days_before": before, "days_after": after, "decision": decision}, []


def save_simplifications(db: str | Engine | None, agency: str, period: Period | str,
                         rows: Iterable[dict[str, Any]], mode: str = "report",
                         scope: Scope | None = None) -> list[InputProblem]:
    """Replace the agency's simplification reviews for the period (all or nothing); returns the problems."""
    _may_edit(scope, agency)
    period = _as_period(period, mode)
    clean, problems = [], []
    for index, source in enumerate(rows, start=1):
        row, row_problems = _simplification_row(index, source)
        problems += row_problems
        if row is not None:
            clean.append(row)
    if problems:
        return problems
    with get_engine(db).begin() as conn:
        agency_id = _agency_row(conn, agency).id
        conn.execute(delete(SimplificationReview).where(SimplificationReview.agency_id == agency_id,
                                                        SimplificationReview.period_key == period.key))
        if clean:
            conn.execute(SimplificationReview.__table__.insert(),
                         [{"agency_id": agency_id, "period_key": period.key, **row} for row in clean])
        bump_data_version(conn)
    return []


def load_simplifications(db: str | Engine | None, agency: str | None, period: Period | str,
                         mode: str = "report") -> list[dict[str, Any]]:
    """The reviews of the period (every agency's for the whole province), with days cut and ratio."""
    period = _as_period(period, mode)
    s = SimplificationReview
    with get_engine(db).connect() as conn:
        stmt = (select(s.procedure_code, s.procedure_name, s.authority_level, s.days_before, s.days_after,
                       s.decision, Agency.code.label("agency_code"), Agency.name.label("agency_name"))
                .join(Agency, Agency.id == s.agency_id)
                .where(s.period_key == period.key)
                .order_by(Agency.code, s.id))
        if agency:
            stmt = stmt.where(s.agency_id == _agency_row(conn, agency).id)
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    for row in rows:
        row["days_before"] = Decimal(row["days_before"])
        row["days_after"] = Decimal(row["days_after"])
        row["days_cut"] = row["days_before"] - row["days_after"]
        row["ratio"] = ratio_percent(row["days_cut"], row["days_before"])
    return rows


def simplification_rows_for_editor(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored reviews as editor rows: Vietnamese level labels, days as numbers."""
    return [{"procedure_code": r["procedure_code"], "procedure_name": r["procedure_name"],
             "authority_level": LEVEL_LABELS.get(r["authority_level"], r["authority_level"]),
             "days_before": float(r["days_before"]), "days_after": float(r["days_after"]),
             "decision": r["decision"]} for r in rows]


def simplification_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of the reviews: TT 02/2017 ratio = Σ days cut ÷ Σ original days (19/32 → 59.38)."""
    before = sum((r["days_before"] for r in rows), Decimal(0))
    after = sum((r["days_after"] for r in rows), Decimal(0))
    by_level = {level: sum(1 for r in rows if r["authority_level"] == level) for level in LEVEL_LABELS}
    return {"procedures": len(rows), "by_level": by_level, "days_before": before, "days_after": after,
            "days_cut": before - after, "ratio": ratio_percent(before - after, before)}


def fmt_number(value: Decimal | int | None) -> str:
    """A day count or a score as the report prints it: ``19``, ``2,5`` (no trailing ``,0``)."""
    if value is None:
        return "–"
    value = Decimal(value)
    return fmt_int(value) if value == value.to_integral_value() else fmt_decimal(value, 1)


# --------------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------------

def _agencies(db: str | Engine | None, agency: str | None) -> list[dict[str, Any]]:
    """The agencies in scope (one, or every agency of the province), ordered tỉnh → huyện → xã."""
    order = {level: i for i, level in enumerate(LEVEL_LABELS)}
    with get_engine(db).connect() as conn:
        if agency:
            rows = [_agency_row(conn, agency)]
        else:
            rows = conn.execute(select(Agency.id, Agency.code, Agency.name, Agency.level)).all()
    return sorted(({"code": r.code, "name": r.name, "level": r.level} for r in rows),
                  key=lambda a: (order.get(a["level"], 9), a["code"]))


def _sum_counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
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
    """The report's figures as the data stand now (see :func:`report_figures`)."""
    period = _as_period(period, mode)
    agencies = _agencies(db, agency)
    scope = agency or None
    result = compute_stats(db, period, agency=scope, by="field")
    total = result["dossiers"]["total"]
    simplifications = load_simplifications(db, agency, period)
    figures = {
        "period": {**period.to_dict(), "key": period.key, "name": period.name, "year": period.year,
                   "range_label": period.range_label, "mode_label": period.mode_label,
                   "online_classes": period.end >= ONLINE_CLASSES_FROM},
        "agency": ({"code": agencies[0]["code"], "name": agencies[0]["name"], "level": agencies[0]["level"]}
                   if agency else {"code": None, "name": PROVINCE_NAME, "level": None}),
        "receiving_unit": RECEIVING_UNIT,
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
        "continuity": continuity_failures(db, period, agency=scope, carried_over=total["carried_over"]),
        "computed_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "frozen": None,
        "diff": [],
    }
    figures["checks"] = balance_check(figures)
    return figures


def report_figures(db: str | Engine | None, period: Period | str, mode: str = "report",
                   agency: str | None = None, live: bool = False, scope: Scope | None = None) -> dict[str, Any]:
    """THE object the page, the workbook and the Word draft render.

    When the period was frozen (and ``live`` is false) these are the frozen figures, with
    ``frozen = {"at", "by"}`` and ``diff`` listing the cells where live data now differ; otherwise the
    live figures with ``frozen`` None. ``checks`` is the balance check of the figures returned.
    ``scope`` (the caller's account) must cover the agency; ``None`` is the whole province.
    """
    agency = report_agency(scope, agency)
    period = _as_period(period, mode)
    current = live_figures(db, period, agency=agency)
    record = None if live else frozen(db, period, agency=agency)
    if record is None:
        return current
    figures = revive(record.payload)
    figures["frozen"] = {"at": record.frozen_at.isoformat(), "by": record.frozen_by}
    figures["diff"] = frozen_diff(record.payload, current)
    figures["checks"] = balance_check(figures)
    return figures


# --------------------------------------------------------------------------------------------
# Balance check
# --------------------------------------------------------------------------------------------

def _column_sum_failures(rows: list[dict[str, Any]], total: dict[str, int]) -> list[dict[str, Any]]:
    """The total row must be the sum of the rows, column by column."""
    failures = []
    for key, column in FORM_COLUMNS.items():
        added = sum(row.get(key, 0) for row in rows)
        if added != total.get(key, 0):
            failures.append({
                "row": TOTAL_LABEL, "identity": f"Σ rows col{column} = total", "left": total.get(key, 0),
                "right": added,
                "message": (f"Cột ({column}) {COUNT_LABELS[key].lower()}: dòng {TOTAL_LABEL.lower()} ghi "
                            f"{fmt_int(total.get(key, 0))} nhưng cộng các dòng được {fmt_int(added)}."),
            })
    return failures


def check_counts(rows: list[dict[str, Any]], total: dict[str, int], total_label: str = TOTAL_LABEL
                 ) -> list[dict[str, Any]]:
    """The identities of domain.md §4 on a table of counts: every row, the total, and the total as
    the sum of the rows. A ``received_new`` entry (printed reports give "số mới tiếp nhận") must be
    col4 + col5."""
    failures = []
    for row in rows:
        failures += identity_failures(row.get("label") or row["key"], row)
    failures += identity_failures(total_label, total)
    if "received_new" in total:
        new = total.get("received_online", 0) + total.get("received_offline", 0)
        if new != total["received_new"]:
            failures.append({
                "row": total_label, "identity": "new = col4 + col5", "left": total["received_new"], "right": new,
                "message": (f"Dòng «{total_label}»: số mới tiếp nhận là {fmt_int(total['received_new'])} nhưng "
                            f"trực tuyến + trực tiếp, bưu chính = {fmt_int(new)}."),
            })
    if rows:
        failures += _column_sum_failures(rows, total)
    return failures


def balance_check(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything that must add up before the report is signed, as ``{row, identity, message}``.

    Form II.06a (or each level of II.06b) row by row and in total; the catalogue (central + local =
    total) in total and by field; the previous period's pending = this period's carried over.
    """
    failures = []
    for group in figures.get("levels") or []:
        failures += check_counts(group["rows"], group["total"], f"{TOTAL_LABEL} {group['label'].lower()}")
    dossiers = figures.get("dossiers") or {"rows": [], "total": {}}
    failures += check_counts([] if figures.get("levels") else dossiers["rows"], dossiers["total"])
    if figures.get("levels"):
        failures += _column_sum_failures([g["total"] for g in figures["levels"]], dossiers["total"])
    if figures.get("procedures"):
        failures += catalogue_failures(figures["procedures"])
    for row in (figures.get("catalogue") or {}).get("rows", []):
        for failure in catalogue_failures(row):
            failures.append({**failure, "row": row["label"],
                             "message": f"Lĩnh vực «{row['label']}»: " + failure["message"]})
    failures += figures.get("continuity") or []
    return failures


# --------------------------------------------------------------------------------------------
# Frozen figures (chốt số liệu)
# --------------------------------------------------------------------------------------------

# Where figures hold Decimals: stored as text in the JSON payload, turned back by :func:`revive`.
_PERCENT_KEYS = {"ratio", "on_time_rate", "online_share", "postal_share"}
_DECIMAL_KEYS = {"days_before", "days_after", "days_cut", "ratio", "on_time_rate", "online_share", "postal_share",
                 "one_stop_self_score", "one_stop_appraised_score"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def revive(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload back into figures (Decimals where :func:`live_figures` has them)."""
    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key in _DECIMAL_KEYS and isinstance(value, str) and value:
            return Decimal(value)
        return value
    return walk(copy.deepcopy(payload))


def frozen(db: str | Engine | None, period: Period | str, mode: str = "report",
           agency: str | None = None) -> FrozenReport | None:
    """The latest freeze of the period for the agency (``None`` = whole province), if any."""
    period = _as_period(period, mode)
    with Session(get_engine(db), expire_on_commit=False) as session:
        return session.scalars(
            select(FrozenReport)
            .where(FrozenReport.period_key == period.key,
                   FrozenReport.agency_code.is_(None) if not agency else FrozenReport.agency_code == agency)
            .order_by(FrozenReport.frozen_at.desc(), FrozenReport.id.desc())
            .limit(1)).first()


def freeze(db: str | Engine | None, period: Period | str, mode: str = "report", agency: str | None = None,
           user: str = "", today: dt.date | None = None, scope: Scope | None = None) -> FrozenReport:
    """Chốt số liệu: store the period's live figures as signed, with who and when.

    Refused for a period that has not ended and for figures that do not balance (domain.md §4:
    refuse to sign off a report that breaks the identities), and for roles that may not freeze.
    The figures are stored only if no write happened since they were computed and checked (one
    conditional version bump, issue 14 item 4); every freeze and refusal goes to the audit trail.
    """
    try:
        _may_edit(scope, agency)
    except AccessDenied as exc:
        audit(db, scope, "freeze_refused", agency, str(exc))
        raise
    period = _as_period(period, mode)
    today = today or dt.date.today()
    if period.end >= today:
        raise ReportError(f"{period.name} chưa kết thúc (đến hết ngày {period.end:%d/%m/%Y}); "
                          "chưa chốt được số liệu.")
    if not (user or "").strip():
        raise ReportError("Cần ghi tên người chốt số liệu.")
    seen = data_version(db)
    figures = live_figures(db, period, agency=agency)
    if figures["checks"]:
        raise ReportError(f"Số liệu chưa cân đối ({len(figures['checks'])} lỗi); "
                          "sửa dữ liệu trước khi chốt.")
    record = FrozenReport(agency_code=agency or None, period_key=period.key,
                          frozen_at=dt.datetime.now().replace(microsecond=0), frozen_by=user.strip(),
                          payload=_jsonable(figures))
    engine = get_engine(db)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if bump_data_version(session.connection(), expected=seen) is None:
            raise ReportError("Dữ liệu vừa thay đổi trong lúc chốt; chốt lại để số liệu chốt là số liệu mới nhất.")
        session.add(record)
        session.flush()
    audit(engine, scope or user, "freeze", agency, f"{period.label}: chốt bởi {user.strip()}")
    return record


def frozen_note(figures: dict[str, Any]) -> str | None:
    """``Số liệu đã chốt lúc 10:30 27/11/2026 bởi Lương Thị Hồng`` for frozen figures, else None."""
    state = figures.get("frozen")
    if not state:
        return None
    at = dt.datetime.fromisoformat(state["at"])
    return f"Số liệu đã chốt lúc {at:%H:%M %d/%m/%Y} bởi {state['by']}"


def _cells(figures: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    """Every figure that is signed, as ``(section, row, key) → value``."""
    cells: dict[tuple[str, str, str], Any] = {}

    def put(section: str, row: str, values: dict[str, Any], keys: Iterable[str]) -> None:
        for key in keys:
            cells[(section, row, key)] = values.get(key)

    form = figures.get("form", "II.06a")
    for group in figures.get("levels") or []:
        for row in group["rows"]:
            put(form, f"{group['label']} · {row['label']}", row, FORM_COLUMNS)
        put(form, f"{TOTAL_LABEL} {group['label'].lower()}", group["total"], FORM_COLUMNS)
    if not figures.get("levels"):
        for row in figures["dossiers"]["rows"]:
            put(form, row["label"], row, FORM_COLUMNS)
    put(form, TOTAL_LABEL, figures["dossiers"]["total"], FORM_COLUMNS)
    for row in figures["catalogue"]["rows"]:
        put("TTHC", row["label"], row, CATALOGUE_KEYS)
    put("TTHC", TOTAL_LABEL, figures["procedures"], CATALOGUE_KEYS)
    for row in figures["four_on_site"]["rows"]:
        put("4 tại chỗ", f"{row['key']} {row['label']}", row, FORM_COLUMNS)
    put("Rà soát, đơn giản hóa", TOTAL_LABEL, figures["simplification"]["total"],
        ("procedures", "days_before", "days_after", "days_cut", "ratio"))
    put("Số liệu nhập", "Báo cáo", figures["inputs"], (f.key for f in REPORT_INPUT_FIELDS))
    return cells


_DIFF_LABELS = {**COUNT_LABELS, **CATALOGUE_LABELS, **{f.key: f.label for f in REPORT_INPUT_FIELDS},
                "procedures": "Số TTHC được rà soát", "days_before": "Tổng thời hạn trước (ngày)",
                "days_after": "Tổng thời hạn sau (ngày)", "days_cut": "Số ngày cắt giảm",
                "ratio": "Tỷ lệ cắt giảm (%)"}


def frozen_diff(frozen_payload: dict[str, Any], live: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells whose live value differs from the frozen one: ``{section, row, key, label, frozen, live}``."""
    before, after = _cells(revive(frozen_payload)), _cells(revive(live))
    diff = []
    for cell in list(before) + [c for c in after if c not in before]:
        if before.get(cell) != after.get(cell):
            section, row, key = cell
            diff.append({"section": section, "row": row, "key": key, "label": _DIFF_LABELS.get(key, key),
                         "frozen": before.get(cell), "live": after.get(cell)})
    return diff


def fmt_value(key: str, value: Any) -> str:
    """One cell of the diff as people read it: ``3.238``, ``59,38 %``, ``19``, text as is."""
    if value is None or value == "":
        return "–"
    if key in _PERCENT_KEYS:
        return fmt_percent(value)
    if isinstance(value, Decimal):
        return fmt_number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return fmt_int(value)
    return str(value)


def as_of_text(figures: dict[str, Any]) -> str:
    """When the figures shown were taken: ``Số liệu đã chốt lúc …`` or ``Số liệu tính lúc … (chưa chốt)``."""
    note = frozen_note(figures)
    if note:
        return note
    return f"Số liệu tính lúc {dt.datetime.fromisoformat(figures['computed_at']):%H:%M %d/%m/%Y} (chưa chốt)"
