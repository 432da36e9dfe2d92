"""The quarter's narrative inputs: what only the officer can write (issue 12 item 2).

The requesting document, the impact assessment, simplification proposals and the reviews under way by
level, the one-stop evaluation and its decision, communication, initiatives, inspection, Saturday
work, difficulties and proposals. Each is stored per agency and period once an officer confirms it;
until then :func:`load_narrative` carries the latest earlier quarter's value, marked ``carried_from``,
so the page can say "lấy từ quý trước, chưa xác nhận" and the report lists it as missing.

A confirmed empty text means "nothing to report": the draft leaves the sentence out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select

from ..auth import Scope
from ..db import bump_data_version, get_engine
from ..formatting import vietnam_now
from ..models import ReportNarrative
from ..periods import Period
from ..problems import Problem
from .agencies import as_period, may_edit
from .profile import PROVINCE

# How far back an unconfirmed value is looked for (two years of quarters).
CARRY_BACK = 8


@dataclass(frozen=True)
class NarrativeField:
    key: str
    label: str
    kind: str = "text"  # text | count
    carries: bool = True  # False: a new value every quarter (never prefilled from the previous one)


NARRATIVE_FIELDS = (
    # Each quarter's report answers its own request: carrying the last one over would print a false citation.
    NarrativeField("request_document", "Văn bản yêu cầu báo cáo (số, ngày, cơ quan, trích yếu)", carries=False),
    NarrativeField("impact_assessment", "II.1. Đánh giá tác động quy định về TTHC"),
    NarrativeField("simplification_proposals", "II.3. Kết quả rà soát, phương án đơn giản hóa đã trình"),
    NarrativeField("reviews_province", "II.3. Số TTHC cấp tỉnh đang rà soát", "count"),
    NarrativeField("reviews_district", "II.3. Số TTHC cấp huyện đang rà soát", "count"),
    NarrativeField("reviews_commune", "II.3. Số TTHC cấp xã đang rà soát", "count"),
    NarrativeField("one_stop_decision", "II.6.1. Quyết định quy định việc đánh giá giải quyết TTHC"),
    NarrativeField("one_stop_evaluation", "II.6.1. Kết quả đánh giá việc giải quyết TTHC"),
    NarrativeField("communication", "II.8. Truyền thông hỗ trợ hoạt động kiểm soát TTHC"),
    NarrativeField("initiative_details", "II.9. Sáng kiến cải cách TTHC (nội dung)"),
    NarrativeField("inspection", "II.10. Kiểm tra thực hiện kiểm soát TTHC"),
    NarrativeField("saturday", "II.11. Làm việc sáng thứ bảy"),
    NarrativeField("difficulties", "III.2. Khó khăn, vướng mắc"),
    NarrativeField("proposals", "V. Đề xuất, kiến nghị"),
)
NARRATIVE_BY_KEY = {f.key: f for f in NARRATIVE_FIELDS}


@dataclass(frozen=True)
class Entry:
    """One narrative input as the draft uses it: the value, and the period it was carried from
    (``None`` when confirmed for this period; ``""`` when nothing was ever entered)."""

    value: str | int | None
    carried_from: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.carried_from is None

    @property
    def text(self) -> str:
        return "" if self.value is None else str(self.value)


def _parse(spec: NarrativeField, value: Any) -> tuple[str, str | None]:
    """``(stored text, error)``; counts are non-negative integers, blank allowed."""
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
    if spec.kind == "count" and text:
        digits = text.replace(".", "")
        if isinstance(value, float) and value.is_integer():
            digits = str(int(value))
        if not digits.isdigit():
            return "", f"«{text}» không phải số nguyên không âm."
        return str(int(digits)), None
    return text, None


def _typed(spec: NarrativeField, stored: str) -> str | int | None:
    if spec.kind == "count":
        return int(stored) if stored else None
    return stored


def load_narrative(db: str | Engine | None, agency: str | None, period: Period | str,
                   mode: str = "report") -> dict[str, Entry]:
    """Every narrative input of the period: confirmed, carried from an earlier period, or empty."""
    period = as_period(period, mode)
    chain = [period]
    for _ in range(CARRY_BACK):
        chain.append(chain[-1].previous())
    order = {p.key: i for i, p in enumerate(chain)}
    names = {p.key: p.name for p in chain}
    r = ReportNarrative
    with get_engine(db).connect() as conn:
        rows = conn.execute(select(r.period_key, r.key, r.value)
                            .where(r.agency_code == (agency or PROVINCE), r.period_key.in_(list(order)))).all()
    found: dict[str, tuple[int, str, str]] = {}
    for row in rows:
        if row.key in NARRATIVE_BY_KEY and (row.key not in found or order[row.period_key] < found[row.key][0]):
            found[row.key] = (order[row.period_key], row.period_key, row.value)
    entries = {}
    for spec in NARRATIVE_FIELDS:
        if spec.key not in found:
            entries[spec.key] = Entry(None, carried_from="")
            continue
        rank, key, value = found[spec.key]
        if rank and not spec.carries:
            entries[spec.key] = Entry(None, carried_from="")
            continue
        entries[spec.key] = Entry(_typed(spec, value), None if rank == 0 else names[key])
    return entries


def save_narrative(db: str | Engine | None, agency: str | None, period: Period | str, values: dict[str, Any],
                   mode: str = "report", user: str = "", scope: Scope | None = None) -> list[Problem]:
    """Confirm the given inputs for the period (all or nothing); returns the problems, empty when saved."""
    may_edit(scope, agency)
    period = as_period(period, mode)
    clean, problems = {}, []
    for key, value in values.items():
        spec = NARRATIVE_BY_KEY.get(key)
        if spec is None:
            problems.append(Problem(f"«{key}»", "Nội dung", "không phải là nội dung của báo cáo."))
            continue
        clean[key], error = _parse(spec, value)
        if error:
            problems.append(Problem(f"«{spec.label}»", "Nội dung", error))
    if problems or not clean:
        return problems
    code = agency or PROVINCE
    now = vietnam_now()
    with get_engine(db).begin() as conn:
        conn.execute(delete(ReportNarrative).where(ReportNarrative.agency_code == code,
                                                   ReportNarrative.period_key == period.key,
                                                   ReportNarrative.key.in_(list(clean))))
        conn.execute(ReportNarrative.__table__.insert(), [
            {"agency_code": code, "period_key": period.key, "key": k, "value": v, "confirmed_at": now,
             "confirmed_by": user} for k, v in clean.items()])
        bump_data_version(conn)
    return []


def narrative_missing(entries: dict[str, Entry]) -> list[str]:
    """``«label»: chưa nhập`` / ``«label»: lấy từ quý I năm 2022, chưa xác nhận`` for each unconfirmed input."""
    missing = []
    for spec in NARRATIVE_FIELDS:
        entry = entries[spec.key]
        if entry.carried_from == "":
            missing.append(f"{spec.label}: chưa nhập")
        elif entry.carried_from:
            missing.append(f"{spec.label}: lấy từ {entry.carried_from[:1].lower() + entry.carried_from[1:]}, "
                           "chưa xác nhận")
    return missing
