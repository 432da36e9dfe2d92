"""Report inputs: the figures dossier data cannot give, and the simplification reviews.

Feedback counts, budget, one-stop scores and notes, and the procedures whose processing time was cut
(TT 02/2017/TT-VPCP), stored per agency and period (:attr:`~tthc_core.periods.Period.key`). Saving is
all or nothing and answers with :class:`~tthc_core.problems.Problem` values naming row and column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from sqlalchemy import Engine, delete, select

from ..auth import Scope
from ..db import bump_data_version, get_engine
from ..formatting import fmt_decimal, fmt_int, fmt_number, ratio_percent
from ..models import Agency, ReportInput, SimplificationReview
from ..periods import Period
from ..problems import Problem
from ..stats import LEVEL_LABELS
from .agencies import agency_row, as_period, may_edit

# NĐ 61/2018 Ch. V: 9 criteria × 2 points.
ONE_STOP_MAX_SCORE = Decimal(18)


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
    period = as_period(period, mode)
    with get_engine(db).connect() as conn:
        stmt = select(ReportInput.agency_id, ReportInput.key, ReportInput.value).where(
            ReportInput.period_key == period.key)
        if agency:
            stmt = stmt.where(ReportInput.agency_id == agency_row(conn, agency).id)
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
                       mode: str = "report", scope: Scope | None = None) -> list[Problem]:
    """Validate and store the inputs (all or nothing); returns the problems, empty when saved."""
    may_edit(scope, agency)
    period = as_period(period, mode)
    problems, parsed = [], {}
    for key, value in values.items():
        spec = INPUT_FIELDS_BY_KEY.get(key)
        if spec is None:
            problems.append(Problem(f"«{key}»", VALUE_COLUMN, "không phải là chỉ tiêu của báo cáo."))
            continue
        parsed[key], error = _parse_input(spec, value)
        if error:
            problems.append(Problem(f"«{spec.label}»", VALUE_COLUMN, error))
    if problems:
        return problems
    with get_engine(db).begin() as conn:
        agency_id = agency_row(conn, agency).id
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


def _simplification_row(index: int, source: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
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
        problems.append(Problem(row_no, c["procedure_name"], "cần tên thủ tục hành chính."))
    level = _level_key(source.get("authority_level"))
    if level is None:
        problems.append(Problem(row_no, c["authority_level"],
                                     f"«{source.get('authority_level')}» không phải cấp tỉnh, huyện hoặc xã."))
    if before is None or before <= 0:
        problems.append(Problem(row_no, c["days_before"], "cần số ngày lớn hơn 0."))
    if after is None or after < 0:
        problems.append(Problem(row_no, c["days_after"], "cần số ngày không âm."))
    elif before is not None and after > before:
        problems.append(Problem(row_no, c["days_after"], f"thời hạn sau ({fmt_number(after)}) dài hơn "
                                                              f"thời hạn trước ({fmt_number(before)})."))
    if problems:
        return None, problems
    return {"procedure_code": code, "procedure_name": name, "authority_level": level,
            "days_before": before, "days_after": after, "decision": decision}, []


def save_simplifications(db: str | Engine | None, agency: str, period: Period | str,
                         rows: Iterable[dict[str, Any]], mode: str = "report",
                         scope: Scope | None = None) -> list[Problem]:
    """Replace the agency's simplification reviews for the period (all or nothing); returns the problems."""
    may_edit(scope, agency)
    period = as_period(period, mode)
    clean, problems = [], []
    for index, source in enumerate(rows, start=1):
        row, row_problems = _simplification_row(index, source)
        problems += row_problems
        if row is not None:
            clean.append(row)
    if problems:
        return problems
    with get_engine(db).begin() as conn:
        agency_id = agency_row(conn, agency).id
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
    period = as_period(period, mode)
    s = SimplificationReview
    with get_engine(db).connect() as conn:
        stmt = (select(s.procedure_code, s.procedure_name, s.authority_level, s.days_before, s.days_after,
                       s.decision, Agency.code.label("agency_code"), Agency.name.label("agency_name"))
                .join(Agency, Agency.id == s.agency_id)
                .where(s.period_key == period.key)
                .order_by(Agency.code, s.id))
        if agency:
            stmt = stmt.where(s.agency_id == agency_row(conn, agency).id)
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
