"""Frozen figures (chốt số liệu): the figures of a period as signed, and what changed since.

:func:`freeze` stores the live figures of :func:`~.figures.live_figures` (refused for a running period
or figures that do not balance); :func:`frozen` finds the latest freeze; :func:`frozen_diff` lists the
cells where live data now differ. Stamps are Vietnam time (:func:`~tthc_core.formatting.vietnam_now`).
"""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..auth import AccessDenied, Scope, audit
from ..checks import checks
from ..db import bump_data_version, data_version, get_engine
from ..formatting import fmt_int, fmt_number, fmt_percent, vietnam_now, vietnam_today
from ..models import FrozenReport
from ..periods import Period
from ..stats import CATALOGUE_KEYS, CATALOGUE_LABELS, COUNT_LABELS, FORM_COLUMNS
from .agencies import TOTAL_LABEL, ReportError, as_period, may_edit
from .figures import FEEDBACK_KEYS, index766, live_figures
from .inputs import REPORT_INPUT_FIELDS


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


# The QĐ 766 index as stored by a freeze: its Decimals and the rules' date come back by key.
_INDEX766_DECIMAL_KEYS = {"points", "max", "rate", "total", "gain", "threshold", "numerator", "denominator"}
INDEX766_NOT_FROZEN = ("Số liệu được chốt trước khi hệ thống lưu Chỉ số 766 cùng số liệu chốt: chỉ số dưới đây "
                       "tính theo dữ liệu hiện tại, không phải số đã chốt.")


def revive_index766(stored: dict[str, Any]) -> dict[str, Any]:
    """The index object of :func:`tthc_core.qd766.compute_index` back from a freeze's payload."""
    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key in _INDEX766_DECIMAL_KEYS and isinstance(value, str) and value:
            return Decimal(value)
        return value
    index = walk(copy.deepcopy(stored))
    if isinstance(index.get("rules_version"), str):
        index["rules_version"] = dt.date.fromisoformat(index["rules_version"])
    return index


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
    period = as_period(period, mode)
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
        may_edit(scope, agency)
    except AccessDenied as exc:
        audit(db, scope, "freeze_refused", agency, str(exc))
        raise
    period = as_period(period, mode)
    today = today or vietnam_today()
    if period.end >= today:
        raise ReportError(f"{period.name} chưa kết thúc (đến hết ngày {period.end:%d/%m/%Y}); "
                          "chưa chốt được số liệu.")
    if not (user or "").strip():
        raise ReportError("Cần ghi tên người chốt số liệu.")
    seen = data_version(db)
    figures = live_figures(db, period, agency=agency)
    failures = checks(figures)
    if failures:
        raise ReportError(f"Số liệu chưa cân đối ({len(failures)} lỗi); "
                          "sửa dữ liệu trước khi chốt.")
    # The QĐ 766 index is signed with the figures, so a frozen quarter's "Chỉ số 766" sheet keeps it.
    payload = {**_jsonable(figures), "index766": _jsonable(index766(db, period, agency))}
    record = FrozenReport(agency_code=agency or None, period_key=period.key,
                          frozen_at=vietnam_now(), frozen_by=user.strip(), payload=payload)
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
    if "feedback" in figures:  # freezes made before the II.05a figures were stored have none
        put(FEEDBACK_SECTION, TOTAL_LABEL, figures["feedback"]["total"], FEEDBACK_KEYS)
    return cells


FEEDBACK_SECTION = "II.05a"


_DIFF_LABELS = {**COUNT_LABELS, **CATALOGUE_LABELS, **{f.key: f.label for f in REPORT_INPUT_FIELDS},
                "procedures": "Số TTHC được rà soát", "days_before": "Tổng thời hạn trước (ngày)",
                "days_after": "Tổng thời hạn sau (ngày)", "days_cut": "Số ngày cắt giảm",
                "ratio": "Tỷ lệ cắt giảm (%)",
                **{f"feedback:{k}": label for k, label in {
                    "received_total": "PAKN tiếp nhận", "carried_over": "PAKN từ kỳ trước chuyển qua",
                    "received_new": "PAKN mới tiếp nhận", "received_regulation": "PAKN về quy định hành chính",
                    "received_conduct": "PAKN về hành vi hành chính", "handled_total": "PAKN đã xử lý",
                    "handled_regulation": "PAKN đã xử lý về quy định hành chính",
                    "handled_conduct": "PAKN đã xử lý về hành vi hành chính", "pending_total": "PAKN đang xử lý",
                    "pending_regulation": "PAKN đang xử lý về quy định hành chính",
                    "pending_conduct": "PAKN đang xử lý về hành vi hành chính"}.items()}}


def frozen_diff(frozen_payload: dict[str, Any], live: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells whose live value differs from the frozen one: ``{section, row, key, label, frozen, live}``."""
    before, after = _cells(revive(frozen_payload)), _cells(revive(live))
    if "feedback" not in frozen_payload:  # nothing of II.05a was signed: nothing to compare
        after = {cell: value for cell, value in after.items() if cell[0] != FEEDBACK_SECTION}
    diff = []
    for cell in list(before) + [c for c in after if c not in before]:
        if before.get(cell) != after.get(cell):
            section, row, key = cell
            label_key = f"feedback:{key}" if section == FEEDBACK_SECTION else key
            diff.append({"section": section, "row": row, "key": key, "label": _DIFF_LABELS.get(label_key, key),
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
