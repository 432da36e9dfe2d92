"""The QĐ 766/QĐ-TTg index (Bộ chỉ số phục vụ người dân, doanh nghiệp): six groups, 100 points, by the
national method of ``docs/qd766.md``, with what would raise it.

- :func:`compute_index`: THE object the page "Chỉ số 766", ``python -m tthc_core index766 --json`` and
  the workbook sheet render: groups, sub-indicators (numerator, denominator, rate, points, max,
  threshold, source), total, grade, the rules' version, hints, per-agency ranking.
- :func:`index_items`: the procedures, services, dossiers or PAKN behind one sub-indicator (drill-down).
- :func:`monthly_trend`: the total and the groups month by month.
- :func:`save_input`: a figure no data can give (1.4 national count, CT, catalogue-only inputs).
- :func:`set_rule` / :func:`rules_in_force`: maxima, thresholds and grade bands live in dated tables.
- :func:`import_feedback`: PAKN records from CSV/XLSX/JSON, all or nothing.

Counting runs in the database: one GROUP BY agency over the period's dossiers, one GROUP BY procedure
for the procedure-level ratios; Python only walks the catalogue, the PAKN and the few dossiers with
supplement rounds or no due date (2.1 §3 needs their rounds one by one). Each group of agencies (the
scope, each ranked agency) is then a sum over the per-agency counts.

Rounding (qd766.md §1): 100 r and the points go to 2 decimals half-up from the exact fraction; a group
is the sum of its rounded parts, the total the sum of the groups.
"""
from __future__ import annotations

import calendar
import datetime as dt
import io
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd
from sqlalchemy import (
    DateTime, Engine, and_, case, delete, false, func, literal, or_, select, true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .auth import Scope, restrict
from .db import bump_data_version, get_engine
from .formatting import fmt_decimal, fmt_int, vietnam_today
from .models import (
    Agency, Dossier, Feedback, Procedure, Qd766Grade, Qd766Input, Qd766Rule, Setting, SupplementRound,
)
from . import qd766_columns
from .periods import Period, parse_period
from .problems import Problem
from .counting import likely
from .stats import StatsError, active_at, catalogue_conditions
from .workdays import WorkCalendar, load_calendar

# --------------------------------------------------------------------------------------------
# The index's shape (qd766.md §2)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    id: str
    group: str
    title: str
    unit: str  # P procedures, S online services, D dossiers, K PAKN, "" manual only
    den_zero: str  # what a zero denominator gives: "na" (0 points, flagged), "zero", "full", "manual"
    enterable: bool = False  # a per-period manual input can replace numerator / denominator
    info: bool = False  # 2.2, 5.1: shown, never scored


INDICATORS: tuple[Indicator, ...] = (
    Indicator("1.1", "CKMB", "TTHC công bố đúng hạn", "P", "na", True),
    Indicator("1.2", "CKMB", "TTHC cập nhật, công khai đúng hạn", "P", "na", True),
    Indicator("1.3", "CKMB", "TTHC công khai đầy đủ nội dung", "P", "na", True),
    Indicator("1.4", "CKMB", "Hồ sơ đồng bộ lên Cổng DVCQG", "D", "na", True),
    Indicator("2.1", "TDGQ", "Hồ sơ xử lý trước hạn, đúng hạn", "D", "na"),
    Indicator("2.2", "TDGQ", "Thời gian giải quyết trung bình (ngày)", "D", "na", info=True),
    Indicator("3.1", "CLGQ", "TTHC cung cấp dịch vụ công trực tuyến", "P", "na", True),
    Indicator("3.2", "CLGQ", "DVC trực tuyến có phát sinh hồ sơ", "S", "na", True),
    Indicator("3.3", "CLGQ", "Hồ sơ nộp trực tuyến", "D", "na"),
    Indicator("3.5", "TTTT", "TTHC có nghĩa vụ tài chính trên Cổng", "P", "zero", True),
    Indicator("3.5b", "TTTT", "TTHC có giao dịch thanh toán trực tuyến", "P", "zero", True),
    Indicator("3.6", "TTTT", "Hồ sơ thanh toán trực tuyến", "D", "zero"),
    Indicator("5.1", "MDHL", "PAKN theo phân loại", "K", "na", info=True),
    Indicator("5.2", "MDHL", "PAKN xử lý đúng hạn", "K", "full"),
    Indicator("5.3", "MDHL", "Hài lòng về xử lý PAKN", "K", "full"),
    Indicator("5.4", "MDHL", "Hài lòng về tiếp nhận, giải quyết TTHC", "D", "zero", True),
    Indicator("4.1", "MDSH", "Hồ sơ có kết quả điện tử", "D", "na"),
    Indicator("4.2", "MDSH", "Hồ sơ số hóa thành phần", "D", "na"),
    Indicator("CT", "MDSH", "Chứng thực bản sao điện tử", "", "manual", True),
    Indicator("4.3", "MDSH", "Khai thác, sử dụng lại dữ liệu số hóa", "D", "na"),
    Indicator("4.4", "MDSH", "Số hóa kết nối, chia sẻ để tái sử dụng", "D", "na", True),
    Indicator("4.5b", "MDSH", "Hồ sơ sử dụng CSDL quốc gia về dân cư", "D", "na"),
    Indicator("4.5a", "MDSH", "TTHC kết nối CSDL quốc gia về dân cư", "P", "na", True),
)
BY_ID = {i.id: i for i in INDICATORS}
# Entered figures that are not a numerator / denominator pair: the part reads its entry itself.
SELF_ENTERED = frozenset({"5.4"})
# What each entry means, for the entry form and the CLI's help (numerator, denominator).
INPUT_MEANINGS: dict[str, tuple[str, str]] = {
    "1.4": ("số hồ sơ đã đồng bộ lên Cổng DVCQG (để trống: theo dữ liệu)",
            "số hồ sơ tiếp nhận theo hệ thống báo cáo quốc gia"),
    "CT": ("số bản sao chứng thực điện tử", "tổng số bản sao chứng thực"),
    "4.4": ("số hồ sơ có thành phần lấy từ kho hoặc kết quả đưa vào kho", "số hồ sơ tiếp nhận"),
    "5.4": ("số hồ sơ có PAKN hoặc bị đánh giá không hài lòng", "(để trống: mẫu số là hồ sơ của 2.1)"),
}

GROUPS: tuple[tuple[str, str], ...] = (
    ("CKMB", "Công khai, minh bạch"),
    ("TDGQ", "Tiến độ giải quyết"),
    ("CLGQ", "Dịch vụ công trực tuyến"),
    ("TTTT", "Thanh toán trực tuyến"),
    ("MDHL", "Mức độ hài lòng"),
    ("MDSH", "Số hóa hồ sơ"),
)
GROUP_TITLES = dict(GROUPS)

# QĐ 766/QĐ-TTg of 23/6/2022, points as the portal scores them (qd766.md §2, column "Points [P]"):
# (max, threshold); threshold None = linear. A dated row in ``qd766_rules`` overrides these.
RULES_SINCE = dt.date(2022, 6, 23)
DEFAULT_RULES: dict[str, tuple[str, str | None]] = {
    "1.1": ("6", None), "1.2": ("4", None), "1.3": ("2", None), "1.4": ("6", None),
    "2.1": ("20", None),
    "3.1": ("2", "0.8"), "3.2": ("4", None), "3.3": ("6", "0.5"),
    "3.5": ("2", "0.8"), "3.5b": ("2", "0.8"), "3.6": ("6", None),
    "5.2": ("6", None), "5.3": ("6", None), "5.4": ("6", "0.9"),
    "4.1": ("6", None), "4.2": ("4", None), "CT": ("2", None), "4.3": ("2", "0.8"), "4.4": ("4", None),
    "4.5b": ("2", None), "4.5a": ("2", None),
}
# Grade bands are not fixed by law (domain.md §7) [D]: the portal's usual five bands, changeable.
DEFAULT_GRADES: tuple[tuple[str, str], ...] = (
    ("Xuất sắc", "90"), ("Tốt", "70"), ("Khá", "50"), ("Trung bình", "30"), ("Yếu", "0"),
)

SOURCE_LABELS = {"computed": "tính từ dữ liệu", "entered": "nhập tay", "missing": "chưa có dữ liệu"}
# Province level: 5 working days for 1.1 and 1.2 (ministry: 20 and 10).
PUBLISH_LEAD_WD, PUBLICIZE_WD = 5, 5
# qd766.md §4: PAKN working-day limits.
PAKN_REFUSE_WD, PAKN_SUPPLEMENT_WD, PAKN_ANSWER_WD, PAKN_PUBLISH_WD = 2, 5, 15, 2
CENT = Fraction(1, 100)


class Qd766Error(ValueError):
    """A request or input that cannot be accepted; the message is Vietnamese and safe to show."""


# --------------------------------------------------------------------------------------------
# Rounding and points (qd766.md §1)
# --------------------------------------------------------------------------------------------

def half_up(value: Fraction | int) -> Decimal:
    """To 2 decimals, half-up, from the exact value: 1.125 → 1.13 (``round`` gives 1.12)."""
    value = Fraction(value)
    hundredths = math.floor(abs(value) * 100 + Fraction(1, 2))
    return (Decimal(hundredths) / 100 * (1 if value >= 0 else -1)).quantize(Decimal("0.01"))


def points_of(numerator: Fraction | int, denominator: Fraction | int, max_points: Fraction,
              threshold: Fraction | None, factor: Fraction | None = None) -> Fraction:
    """Exact points: ``max × r`` (linear) or ``min(max, max × r / t)``; never above the maximum.
    ``factor`` multiplies r (3.3: the 1.4 sync rate, [F])."""
    r = Fraction(numerator) / Fraction(denominator) * (factor if factor is not None else 1)
    raw = max_points * r / threshold if threshold else max_points * r
    return max(Fraction(0), min(max_points, raw))


# --------------------------------------------------------------------------------------------
# Rules in force (dated tables)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rules:
    version: dt.date  # the latest valid_from used: stored with every score
    params: dict[str, tuple[Fraction, Fraction | None]]
    grades: tuple[tuple[str, Decimal], ...]  # highest band first

    def grade(self, total: Decimal) -> str:
        for label, lowest in self.grades:
            if total >= lowest:
                return label
        return self.grades[-1][0] if self.grades else ""


def seed_rules(conn: Connection) -> None:
    """Write the doc's values as the first dated rows when the tables are empty (idempotent)."""
    if conn.scalar(select(func.count()).select_from(Qd766Rule)) == 0:
        conn.execute(Qd766Rule.__table__.insert(), [
            {"valid_from": RULES_SINCE, "indicator": key, "max_points": Decimal(m),
             "threshold": Decimal(t) if t else None} for key, (m, t) in DEFAULT_RULES.items()])
    if conn.scalar(select(func.count()).select_from(Qd766Grade)) == 0:
        conn.execute(Qd766Grade.__table__.insert(), [
            {"valid_from": RULES_SINCE, "label": label, "min_points": Decimal(lowest)}
            for label, lowest in DEFAULT_GRADES])


def _ensure_seeded(engine: Engine) -> None:
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Qd766Rule)):
            return
    try:
        with engine.begin() as conn:
            seed_rules(conn)
    except IntegrityError:  # another process seeded at the same moment
        pass


def rules_in_force(conn: Connection, at: dt.date) -> Rules:
    """For each indicator the row with the latest ``valid_from`` on or before ``at`` (else the doc's)."""
    params = {k: (Fraction(m), Fraction(t) if t else None) for k, (m, t) in DEFAULT_RULES.items()}
    version = RULES_SINCE
    r = Qd766Rule.__table__.c
    rows = conn.execute(select(r.indicator, r.max_points, r.threshold, r.valid_from).where(r.valid_from <= at)
                        .order_by(r.valid_from)).all()
    for row in rows:  # later rows overwrite earlier ones
        params[row.indicator] = (Fraction(row.max_points), Fraction(row.threshold) if row.threshold is not None
                                 else None)
        version = max(version, row.valid_from)
    g = Qd766Grade.__table__.c
    grade_rows = conn.execute(select(g.label, g.min_points, g.valid_from).where(g.valid_from <= at)).all()
    grades: tuple[tuple[str, Decimal], ...]
    if grade_rows:
        newest = max(r.valid_from for r in grade_rows)
        version = max(version, newest)
        grades = tuple(sorted(((r.label, Decimal(r.min_points)) for r in grade_rows if r.valid_from == newest),
                              key=lambda g: -g[1]))
    else:
        grades = tuple((label, Decimal(lowest)) for label, lowest in DEFAULT_GRADES)
    return Rules(version, params, grades)


def parse_rule(max_points: Any, threshold: Any = None) -> tuple[Decimal, Decimal | None]:
    """A rule as an admin types it: the maximum in points (``8``, ``2,5``) and the threshold in percent
    (``80``, ``80 %``, ``50,5``; empty or «tuyến tính»: linear). Vietnamese messages for what is wrong."""
    def number(value: Any, label: str) -> Decimal:
        text = str(value).strip().replace("%", "").strip().replace(",", ".")
        try:
            amount = Decimal(text)
        except ArithmeticError:
            raise Qd766Error(f"{label} «{value}» không phải là số.") from None
        if not amount.is_finite():
            raise Qd766Error(f"{label} «{value}» không phải là số.")
        return amount

    if max_points is None or not str(max_points).strip():
        raise Qd766Error("Cần nhập điểm tối đa.")
    top = number(max_points, "Điểm tối đa")
    if not Decimal(0) <= top <= Decimal(100):
        raise Qd766Error(f"Điểm tối đa ({fmt_decimal(top)}) phải từ 0 đến 100.")
    if top != top.quantize(Decimal("0.01")):
        raise Qd766Error(f"Điểm tối đa ({value_text(top)}) chỉ được có tối đa 2 chữ số thập phân.")
    if threshold is None or normalize_text(threshold) in ("", "tuyentinh", "khong"):
        return top, None
    if isinstance(threshold, Decimal) and threshold <= 1:  # already a fraction (the core's own callers)
        share = threshold * 100
    else:
        share = number(threshold, "Ngưỡng")
    if not Decimal(0) < share <= Decimal(100):
        raise Qd766Error(f"Ngưỡng ({value_text(share)} %) phải lớn hơn 0 và không quá 100 %.")
    fraction = share / 100
    if fraction != fraction.quantize(Decimal("0.0001")):
        raise Qd766Error(f"Ngưỡng ({value_text(share)} %) chỉ được có tối đa 2 chữ số thập phân.")
    return top, fraction


def value_text(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


def normalize_text(value: Any) -> str:
    from .importer.values import normalize

    return normalize(str(value))


def _check_valid_from(valid_from: Any) -> dt.date:
    if isinstance(valid_from, str):
        try:
            valid_from = dt.date.fromisoformat(valid_from.strip())
        except ValueError:
            raise Qd766Error(f"Ngày áp dụng «{valid_from}» không hợp lệ (dùng YYYY-MM-DD).") from None
    if isinstance(valid_from, dt.datetime):
        valid_from = valid_from.date()
    if valid_from < RULES_SINCE:
        raise Qd766Error(f"Ngày áp dụng ({valid_from:%d/%m/%Y}) phải từ {RULES_SINCE:%d/%m/%Y}, ngày ban hành QĐ 766.")
    return valid_from


def _rule_writer(scope: Scope | None, by: str | None) -> str:
    if scope is not None:
        scope.require("manage_users")
        return scope.username
    return by or ""


def set_rule(db: str | Engine | None, valid_from: dt.date | str, indicator: str, max_points: Decimal | str,
             threshold: Decimal | str | None = None, scope: Scope | None = None, by: str | None = None) -> None:
    """Admin: from ``valid_from`` on, ``indicator`` scores out of ``max_points`` with ``threshold`` (a
    fraction, or the percent an admin types; ``None``: linear). A score uses the rules in force at its
    period's end, so a rule dated 01/07 changes Q3 and July on, never Q2 or June. Audited."""
    from .auth import _audit

    who = _rule_writer(scope, by)
    if indicator not in DEFAULT_RULES:
        raise Qd766Error(f"Không có chỉ số «{indicator}» trong Bộ chỉ số 766.")
    valid_from = _check_valid_from(valid_from)
    top, fraction = parse_rule(max_points, threshold)
    engine = get_engine(db)
    _ensure_seeded(engine)
    with engine.begin() as conn:
        conn.execute(delete(Qd766Rule).where(Qd766Rule.valid_from == valid_from, Qd766Rule.indicator == indicator))
        conn.execute(Qd766Rule.__table__.insert().values(
            valid_from=valid_from, indicator=indicator, max_points=top, threshold=fraction))
        _audit(conn, who, "qd766_rule", None, f"{indicator} từ {valid_from:%d/%m/%Y}: tối đa {value_text(top)} điểm, "
               + (f"ngưỡng {value_text(fraction * 100)} %" if fraction is not None else "tuyến tính"))
        bump_data_version(conn)


def set_grades(db: str | Engine | None, valid_from: dt.date | str, bands: Sequence[tuple[str, Any]],
               scope: Scope | None = None, by: str | None = None) -> None:
    """Admin: from ``valid_from`` on, the grade bands are ``bands`` (label, lowest total), replacing the
    whole set of that date. The lowest band starts at 0 so every total has a grade. Audited."""
    from .auth import _audit

    who = _rule_writer(scope, by)
    valid_from = _check_valid_from(valid_from)
    parsed: list[tuple[str, Decimal]] = []
    for n, (label, lowest) in enumerate(bands, 1):
        label = (label or "").strip()
        if not label:
            raise Qd766Error(f"Bậc {n}: cần tên xếp loại.")
        if len(label) > 64:
            raise Qd766Error(f"Bậc {n}: tên xếp loại dài quá 64 ký tự.")
        try:
            points, _ = parse_rule(lowest)
        except Qd766Error as exc:
            raise Qd766Error(f"Bậc {n} («{label}»): " + str(exc).replace("Điểm tối đa", "điểm thấp nhất")) from None
        parsed.append((label, points))
    if not parsed:
        raise Qd766Error("Cần ít nhất một bậc xếp loại.")
    labels = [label for label, _ in parsed]
    if len(set(labels)) < len(labels):
        raise Qd766Error("Hai bậc xếp loại trùng tên.")
    if len({p for _, p in parsed}) < len(parsed):
        raise Qd766Error("Hai bậc xếp loại có cùng điểm thấp nhất.")
    if min(p for _, p in parsed) != 0:
        raise Qd766Error("Bậc thấp nhất phải bắt đầu từ 0 điểm (mọi tổng điểm đều có xếp loại).")
    engine = get_engine(db)
    _ensure_seeded(engine)
    with engine.begin() as conn:
        conn.execute(delete(Qd766Grade).where(Qd766Grade.valid_from == valid_from))
        conn.execute(Qd766Grade.__table__.insert(), [
            {"valid_from": valid_from, "label": label, "min_points": points} for label, points in parsed])
        _audit(conn, who, "qd766_grades", None, f"từ {valid_from:%d/%m/%Y}: " + ", ".join(
            f"{label} ≥ {value_text(points)}" for label, points in sorted(parsed, key=lambda b: -b[1])))
        bump_data_version(conn)


def rule_rows(db: str | Engine | None, at: dt.date | None = None) -> dict[str, Any]:
    """The rules as the admin page and ``rules766 list`` show them: in force at ``at`` (default today)
    per indicator with the date it applies from, the grade bands, and every dated row ever written."""
    at = at or vietnam_today()
    engine = get_engine(db)
    _ensure_seeded(engine)
    with engine.connect() as conn:
        rules = rules_in_force(conn, at)
        r, g = Qd766Rule.__table__.c, Qd766Grade.__table__.c
        history = [dict(row._mapping) for row in conn.execute(
            select(r.valid_from, r.indicator, r.max_points, r.threshold).order_by(r.valid_from, r.indicator))]
        grade_history = [dict(row._mapping) for row in conn.execute(
            select(g.valid_from, g.label, g.min_points).order_by(g.valid_from, g.min_points.desc()))]
    since = {}
    for row in history:
        if row["valid_from"] <= at:
            since[row["indicator"]] = row["valid_from"]
    order = [i.id for i in INDICATORS if i.id in rules.params]
    in_force = [{"indicator": key, "title": BY_ID[key].title, "group": BY_ID[key].group,
                 "max": half_up(rules.params[key][0]),
                 "threshold": half_up(rules.params[key][1] * 100) if rules.params[key][1] else None,
                 "valid_from": since.get(key, RULES_SINCE)} for key in order]
    return {"at": at, "version": rules.version, "rules": in_force,
            "total_max": sum((row["max"] for row in in_force), Decimal("0.00")),
            "grades": [{"label": label, "min": lowest} for label, lowest in rules.grades],
            "history": history, "grade_history": grade_history}


# --------------------------------------------------------------------------------------------
# Scope: an agency with its sub-units at any depth
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencyTree:
    by_id: dict[int, Any]
    by_code: dict[str, Any]
    children: dict[int | None, list[int]]

    def subtree(self, agency_id: int) -> set[int]:
        found, todo = set(), [agency_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(self.children.get(current, []))
        return found


def _tree(conn: Connection) -> AgencyTree:
    rows = conn.execute(select(Agency.id, Agency.code, Agency.name, Agency.level, Agency.parent_id)).all()
    children: dict[int | None, list[int]] = defaultdict(list)
    for r in rows:
        children[r.parent_id].append(r.id)
    return AgencyTree({r.id: r for r in rows}, {r.code: r for r in rows}, dict(children))


def _scope_ids(tree: AgencyTree, agency: str | Sequence[str] | None) -> set[int] | None:
    """The agencies counted: ``None`` (the whole province) or the asked agencies with their sub-units."""
    if agency is None or agency == "":
        return None
    codes = [agency] if isinstance(agency, str) else list(agency)
    ids: set[int] = set()
    for code in codes:
        if code not in tree.by_code:
            raise StatsError(f"Không có cơ quan mã «{code}» trong cơ sở dữ liệu.")
        ids |= tree.subtree(tree.by_code[code].id)
    return ids


# --------------------------------------------------------------------------------------------
# Time bounds
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bounds:
    start: dt.datetime  # S 00:00
    cutoff: dt.datetime  # the next midnight after E
    c: dt.datetime  # C: the end of day E, or now for the running period (qd766.md §1)


def _bounds(period: Period, now: dt.datetime | None) -> Bounds:
    start = dt.datetime.combine(period.start, dt.time())
    cutoff = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time())
    c = cutoff - dt.timedelta(seconds=1)  # 30/06/2022 23:59:59
    if now is not None and now < c:
        c = now
    return Bounds(start, cutoff, c)


def _as_calendar(period: Period | str, mode: str) -> Period:
    return period if isinstance(period, Period) else parse_period(period, mode)


# --------------------------------------------------------------------------------------------
# 2.1 (qd766.md §3): the row form, and the column form for dossiers without rounds
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Round:
    requested_at: dt.datetime
    supplied_at: dt.datetime | None
    due_before: dt.datetime | None = None
    due_after: dt.datetime | None = None


def _not_after(moment: dt.datetime, due: dt.datetime) -> bool:
    """``moment`` is within ``due``: a due date at 00:00 means the end of that day (qd766.md §1)."""
    if due.time() == dt.time():
        return moment < due + dt.timedelta(days=1)
    return moment <= due


def max_time_end(received_at: dt.datetime, amount: Decimal | None, unit: str | None,
                 cal: WorkCalendar) -> dt.datetime | None:
    """When a dossier without a due date must be done: the procedure's maximum time in its unit."""
    if amount is None:
        return None
    amount = Decimal(amount)
    unit = unit or "working_days"
    if unit == "hours":
        return received_at + dt.timedelta(hours=float(amount))
    if unit == "days":
        return received_at + dt.timedelta(days=float(amount))
    if unit == "months":
        months = math.ceil(amount)
        month_index = received_at.month - 1 + months
        year, month = received_at.year + month_index // 12, month_index % 12 + 1
        day = min(received_at.day, calendar.monthrange(year, month)[1])
        return received_at.replace(year=year, month=month, day=day)
    # working days (the default unit, domain.md §5): counted from the next working day, end of day
    due = cal.due_date(received_at, amount)
    return due


def on_time_21(received_at: dt.datetime, due_at: dt.datetime | None, end_at: dt.datetime | None,
               rounds: Sequence[Round], c: dt.datetime, max_end: dt.datetime | None = None,
               due_basis: str = "current") -> bool:
    """The verdict of qd766.md §3 for one dossier at cut-off C (early or on the day = True).

    ``end_at``: processed (9), else result returned (10), else refused / stopped / withdrawn; an end
    after C is ignored. ``max_end``: when a dossier without a due date must be done. ``due_basis``
    (§7.3): ``current`` compares with the due date in force at C, as [F] does; ``original`` with the
    due date before the first round, so supplement time is not counted twice.
    """
    rounds = sorted((r for r in rounds if r.requested_at <= c), key=lambda r: r.requested_at)
    answered = [r for r in rounds if r.supplied_at is not None and r.supplied_at <= c]
    open_rounds = [r for r in rounds if r not in answered]
    ended = end_at is not None and end_at <= c
    if ended:
        t = end_at
    elif open_rounds:
        # A request unanswered at C: more than one request → late; one → judged at the request.
        if len(rounds) > 1:
            return False
        t = open_rounds[0].requested_at
    else:
        t = c
    sup = sum((r.supplied_at - r.requested_at for r in answered), dt.timedelta())
    # The due date in force at C: a round not answered by C has not moved it yet (its due_before).
    due = due_at
    if open_rounds and open_rounds[0].due_before is not None:
        due = open_rounds[0].due_before
    if due_basis == "original" and rounds and rounds[0].due_before is not None:
        due = rounds[0].due_before
    if due is not None:
        return _not_after(t - sup, due)
    if max_end is None:
        return True  # nothing to judge against: like II.06a, a dossier without a deadline is not late
    return _not_after(t - sup, max_end)


def _end_expr():
    d = Dossier.__table__.c
    return func.coalesce(d.resolved_at, d.result_returned_at, d.refused_at)


def _simple_21(b: Bounds):
    """(simple, on time) for dossiers with a due date and no supplement round, as SQL conditions:
    the same verdict as :func:`on_time_21` with no rounds."""
    d = Dossier.__table__.c
    end = _end_expr()
    c = literal(b.c, DateTime())
    t = case((and_(end.is_not(None), end <= c), end), else_=c)
    simple = and_(d.supplement_rounds == 0, d.due_at.is_not(None))
    # deadline_at > due_at only for a date-only due date (its deadline is the next midnight)
    on_time = or_(t <= d.due_at, and_(d.deadline_at > d.due_at, t < d.deadline_at))
    return simple, and_(simple, on_time), t


# --------------------------------------------------------------------------------------------
# Facts: what the database says for a period, per agency / per procedure / per PAKN
# --------------------------------------------------------------------------------------------

DOSSIER_KEYS = (
    "recv", "records", "sync_known", "synced", "online_ok", "fee_den", "paid", "paper", "paper_eres",
    "comp_ok", "digit_den", "digit", "store", "pop", "den21", "simple21", "on21", "at_risk21", "pakn54",
    "ended22", "online_no_eres", "store_known", "rated_known",
)


def _dossier_conditions(b: Bounds) -> dict[str, Any]:
    """Each dossier count as a condition on a dossier of the period's base set (2.1's denominator)."""
    d, p = Dossier.__table__.c, Procedure.__table__.c
    recv = d.received_at >= b.start
    # NULL catalogue facts are "not known", never "no" — but a NULL must not turn ~paper into NULL
    paper = func.coalesce(p.requires_paper_result, false()) == true()
    has_fee = func.coalesce(p.has_fee, false()) == true()
    eres = d.e_results > 0
    portal_filed = d.filed_on_national_portal == true()
    pop = or_(d.vneid_authenticated == true(), d.components_from_store > 0,
              and_(d.db_connections.is_not(None), d.db_connections != ""))
    simple, on_time, t = _simple_21(b)
    end = _end_expr()
    c = literal(b.c, DateTime())
    cutoff = literal(b.cutoff, DateTime())
    pending = or_(end.is_(None), end > c)
    f = Feedback.__table__.c
    pakn = d.code.in_(select(f.dossier_code).where(f.dossier_code.is_not(None)))
    return {
        "recv": recv,
        "records": and_(recv, d.source_status.is_not(None)),
        "sync_known": and_(recv, d.synced_to_portal.is_not(None)),
        "synced": and_(recv, d.synced_to_portal == true()),
        # 3.3: online, and a paper-result procedure's online dossier needs an e-result (code + link)
        "online_ok": and_(recv, d.channel == "online", or_(~paper, eres)),
        "online_no_eres": and_(recv, d.channel == "online", paper, ~eres),
        # 3.6: dossiers of procedures with a fee, less those whose fee lines are all Gia 0
        "fee_den": and_(recv, has_fee, ~and_(d.fee_lines > 0, d.fee_total == 0)),
        "paid": and_(recv, has_fee, ~and_(d.fee_lines > 0, d.fee_total == 0), d.paid_online_via.is_not(None)),
        "paper": and_(recv, paper),
        "paper_eres": and_(recv, paper, eres),
        "comp_ok": and_(recv, d.components > 0, or_(~paper, eres)),
        # 4.3: HoSoCoThanhPhanSoHoa; for portal-filed dossiers a digitised component; no flag → out
        "digit_den": and_(recv, or_(d.has_digitised_components.is_not(None), portal_filed)),
        "digit": and_(recv, case((portal_filed, d.components_digitised > 0),
                                 else_=d.has_digitised_components == true())),
        # 4.4: a component from the citizen's store, or the e-result pushed there
        "store": and_(recv, or_(d.components_from_store > 0, d.result_pushed_to_store == true())),
        "store_known": and_(recv, d.result_pushed_to_store.is_not(None)),
        "pop": and_(recv, pop),
        "den21": true(),
        "simple21": simple,
        "on21": on_time,
        # Pending and within its due date at C, due by the end of the period: finishing late loses points.
        "at_risk21": and_(simple, on_time, pending, d.deadline_at <= cutoff),
        # 5.4: a PAKN about the dossier, or the citizen rated its handling "không hài lòng"
        "pakn54": or_(pakn, d.rated_dissatisfied == true()),
        "rated_known": d.rated_dissatisfied.is_not(None),
        "ended22": and_(recv, d.status == "normal", d.resolved_at.is_not(None), d.resolved_at <= c),
    }


def _base_where(b: Bounds, ids: set[int] | None) -> list:
    """2.1's denominator, which holds every other dossier set: accepted, received by C, not ended before S."""
    d = Dossier.__table__.c
    end = _end_expr()
    # resolved_at before S means ended before S: the first two conditions let the planner come through
    # the resolved_at index (as counting.sql_scope does), so the cost follows the period's dossiers.
    where = [likely(d.received_at <= literal(b.c, DateTime())), or_(d.resolved_at.is_(None), d.resolved_at >= b.start),
             d.intake == "accepted", or_(end.is_(None), end >= b.start)]
    if ids is not None:
        where.append(d.agency_id.in_(sorted(ids)))
    return where


def _dossier_from():
    d = Dossier.__table__
    return d.outerjoin(Procedure.__table__, Procedure.__table__.c.id == d.c.procedure_id)


def _days_between(conn: Connection, later, earlier):
    if conn.dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400.0


@dataclass
class Facts:
    period: Period
    bounds: Bounds
    rules: Rules
    tree: AgencyTree
    dossiers: dict[int, Counter]  # agency id → counts (DOSSIER_KEYS, plus "days22")
    procedures: list[dict[str, Any]]  # catalogue at E with the period's usage
    feedback: list[dict[str, Any]]  # PAKN with their verdicts
    inputs: "EnteredInputs"
    cal: WorkCalendar
    unjudged21: dict[int, int] = field(default_factory=dict)  # no due date, no maximum time (per agency)


def gather(conn: Connection, period: Period, ids: set[int] | None, now: dt.datetime | None,
           tree: AgencyTree | None = None) -> Facts:
    """Every count the index needs for the agencies ``ids`` (``None``: all), keyed by agency."""
    b = _bounds(period, now)
    tree = tree or _tree(conn)
    cal = load_calendar(conn)
    rules = rules_in_force(conn, period.end)
    d = Dossier.__table__.c
    # The column form: the same counts over the columnar copy (tests/test_qd766_columns.py holds them
    # equal; a condition changed below must change there too). A key it does not know: SQL.
    snap = qd766_columns.fast_copy(conn) if set(DOSSIER_KEYS) <= qd766_columns.KEYS else None
    if snap is not None:
        return _gather_columns(conn, snap, period, b, ids, tree, cal, rules, DOSSIER_KEYS)
    conds = _dossier_conditions(b)
    sums = [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(key) for key, cond in conds.items()]
    days22 = func.coalesce(func.sum(case((conds["ended22"], _days_between(conn, d.resolved_at, d.received_at)),
                                         else_=0)), 0).label("days22")
    simple, _, _ = _simple_21(b)
    special = func.coalesce(func.sum(case((simple, 0), else_=1)), 0).label("special21")
    # agency_id + 0: grouping by the bare column makes SQLite walk the whole (agency, received) index in
    # order instead of reading the period's rows through the resolved_at index (bench: 1,3 s against 8 s).
    agency = (d.agency_id + 0).label("agency_id")
    stmt = (select(agency, *sums, days22, special).select_from(_dossier_from())
            .where(*_base_where(b, ids)).group_by(agency))
    dossiers: dict[int, Counter] = {}
    rows = conn.execute(stmt).all()
    for row in rows:
        counts = Counter({k: int(getattr(row, k)) for k in conds})
        counts["days22"] = float(row.days22 or 0)
        dossiers[row.agency_id] = counts

    # 2.1 one by one: dossiers with supplement rounds or without a due date (§3 steps 2, 4, 5).
    unjudged: dict[int, int] = defaultdict(int)
    if any(row.special21 for row in rows):
        for agency_id, on_time in _judge_special_21(conn, b, ids, cal, unjudged):
            dossiers.setdefault(agency_id, Counter())["on21"] += int(on_time)

    return Facts(period, b, rules, tree, dossiers, _procedure_facts(conn, period, b, ids),
                 _feedback_facts(conn, b, ids, cal), _inputs(conn, period), cal, dict(unjudged))


def _gather_columns(conn: Connection, snap: Any, period: Period, b: Bounds, ids: set[int] | None,
                    tree: AgencyTree, cal: WorkCalendar, rules: Rules, keys: tuple[str, ...]) -> Facts:
    """:func:`gather` from the columnar copy (qd766_columns): same counts, same Python for the rest."""
    counts, special_ids = qd766_columns.dossier_counts(conn, snap, b, ids, keys, due_basis_setting(conn))
    dossiers: dict[int, Counter] = {}
    for agency_id, row in counts.items():
        c = Counter({k: row[k] for k in keys})
        c["days22"] = row["days22"]
        dossiers[agency_id] = c
    unjudged: dict[int, int] = defaultdict(int)
    if len(special_ids):
        for agency_id, on_time in _judge_special_21(conn, b, ids, cal, unjudged, [int(i) for i in special_ids]):
            dossiers.setdefault(agency_id, Counter())["on21"] += int(on_time)
    usage = qd766_columns.procedure_usage(snap, b, ids)
    return Facts(period, b, rules, tree, dossiers, _procedure_facts(conn, period, b, ids, usage),
                 _feedback_facts(conn, b, ids, cal), _inputs(conn, period), cal, dict(unjudged))


def _special_rows(conn: Connection, b: Bounds, ids: set[int] | None, limit: int | None = None,
                  dossier_ids: list[int] | None = None):
    d, p = Dossier.__table__.c, Procedure.__table__.c
    simple, _, _ = _simple_21(b)
    columns = (d.id, d.code, d.agency_id, d.received_at, d.due_at, _end_expr().label("end_at"),
               p.processing_days, p.time_unit)
    if dossier_ids is not None:  # the column form found them: read those rows by id
        rows = []
        for start in range(0, len(dossier_ids), 5000):
            rows += conn.execute(select(*columns).select_from(_dossier_from())
                                 .where(d.id.in_(dossier_ids[start:start + 5000]))).all()
        return rows
    stmt = select(*columns).select_from(_dossier_from()).where(*_base_where(b, ids), ~simple)
    return conn.execute(stmt.limit(limit) if limit else stmt).all()


def _rounds_of(conn: Connection, dossier_ids: list[int]) -> dict[int, list[Round]]:
    s = SupplementRound.__table__.c
    rounds: dict[int, list[Round]] = defaultdict(list)
    for chunk_start in range(0, len(dossier_ids), 5000):
        chunk = dossier_ids[chunk_start:chunk_start + 5000]
        for r in conn.execute(select(s.dossier_id, s.requested_at, s.supplied_at, s.due_before, s.due_after)
                              .where(s.dossier_id.in_(chunk))):
            rounds[r.dossier_id].append(Round(r.requested_at, r.supplied_at, r.due_before, r.due_after))
    return rounds


DUE_BASES = ("current", "original")


def due_basis_setting(conn: Connection) -> str:
    """qd766.md §7.3: which due date a dossier with answered supplement rounds is judged against."""
    value = conn.scalar(select(Setting.value).where(Setting.key == "qd766_due_basis"))
    return value if value in DUE_BASES else "current"


def _judge_special_21(conn: Connection, b: Bounds, ids: set[int] | None, cal: WorkCalendar,
                      unjudged: dict[int, int], dossier_ids: list[int] | None = None) -> Iterable[tuple[int, bool]]:
    rows = _special_rows(conn, b, ids, dossier_ids=dossier_ids)
    rounds = _rounds_of(conn, [r.id for r in rows])
    basis = due_basis_setting(conn)
    for r in rows:
        max_end = None if r.due_at is not None else max_time_end(r.received_at, r.processing_days, r.time_unit, cal)
        if r.due_at is None and max_end is None:
            unjudged[r.agency_id] += 1
        yield r.agency_id, on_time_21(r.received_at, r.due_at, r.end_at, rounds.get(r.id, []), b.c, max_end, basis)


def _procedure_facts(conn: Connection, period: Period, b: Bounds, ids: set[int] | None,
                     usage: dict[int, Any] | None = None) -> list[dict[str, Any]]:
    """The catalogue at E, each procedure with whether the period's dossiers used it online, with a fee,
    paid online, with population data."""
    d, p = Dossier.__table__.c, Procedure.__table__.c
    pop = or_(d.vneid_authenticated == true(), d.components_from_store > 0,
              and_(d.db_connections.is_not(None), d.db_connections != ""))

    def flag(cond, name: str):
        return func.max(case((cond, 1), else_=0)).label(name)

    if usage is None:  # (the column form passes its own)
        usage_where = [d.intake == "accepted", d.received_at >= b.start, d.received_at <= literal(b.c, DateTime()),
                       d.procedure_id.is_not(None)]
        if ids is not None:
            usage_where.append(d.agency_id.in_(sorted(ids)))
        usage_stmt = (select(d.procedure_id, func.count().label("dossiers"),
                             flag(d.channel == "online", "used_online"), flag(d.fee_total > 0, "fee_used"),
                             flag(d.paid_online_via.is_not(None), "paid_used"), flag(pop, "pop_used"))
                      .where(*usage_where).group_by(d.procedure_id))
        usage = {r.procedure_id: r._mapping for r in conn.execute(usage_stmt)}
    conds = catalogue_conditions()
    online = or_(conds["online_full"], conds["online_partial"])
    cat_where = active_at(period.end)
    if ids is not None:
        cat_where.append(p.agency_id.in_(sorted(ids)))
    rows = []
    for r in conn.execute(select(p.id, p.code, p.name, p.agency_id, case((online, 1), else_=0).label("online"),
                                 p.has_fee, p.requires_paper_result, p.applicant_types, p.decision_at,
                                 p.legal_basis_effective_at, p.publicized_at, p.publicized, p.public_parts)
                          .where(*cat_where)):
        u = usage.get(r.id)
        rows.append({
            "id": r.id, "code": r.code, "name": r.name, "agency_id": r.agency_id, "online": bool(r.online),
            "has_fee": r.has_fee, "paper": r.requires_paper_result,
            "citizen": None if r.applicant_types is None else "citizen" in r.applicant_types.split(","),
            "decision_at": r.decision_at, "effective_at": r.legal_basis_effective_at,
            "publicized_at": r.publicized_at, "publicized": r.publicized, "public_parts": r.public_parts,
            "dossiers": u["dossiers"] if u else 0, "used_online": bool(u and u["used_online"]),
            "fee_used": bool(u and u["fee_used"]), "paid_used": bool(u and u["paid_used"]),
            "pop_used": bool(u and u["pop_used"]),
        })
    return rows


def _wd_deadline(cal: WorkCalendar, base: dt.datetime, days: int) -> dt.datetime:
    """The end of the ``days``-th working day after ``base`` (as the next midnight)."""
    return dt.datetime.combine(cal.add_working_days(base.date(), days) + dt.timedelta(days=1), dt.time())


def pakn_verdict(k: Any, c: dt.datetime, cal: WorkCalendar) -> bool:
    """qd766.md §4: handled on time (its outcome's check, answered: publishing too) or, still being
    processed, within 15 working days of its base at C."""
    base = k.transferred_at or k.sent_at
    handled = k.handled_at is not None and k.handled_at <= c
    if not handled:
        return c < _wd_deadline(cal, base, PAKN_ANSWER_WD)
    if k.first_supplement_request_at is not None and k.first_supplement_request_at <= c:
        if k.first_supplement_request_at >= _wd_deadline(cal, base, PAKN_SUPPLEMENT_WD):
            return False
    if k.rejected_at is not None and k.rejected_at <= c:
        return k.rejected_at < _wd_deadline(cal, base, PAKN_REFUSE_WD)
    started = k.answer_started_at or k.handled_at
    if started >= _wd_deadline(cal, base, PAKN_ANSWER_WD):
        return False
    published = k.published_at if k.published_at is not None and k.published_at <= c else c
    return published < _wd_deadline(cal, started, PAKN_PUBLISH_WD)


def _feedback_facts(conn: Connection, b: Bounds, ids: set[int] | None, cal: WorkCalendar) -> list[dict[str, Any]]:
    f = Feedback.__table__.c
    c, start = literal(b.c, DateTime()), literal(b.start, DateTime())
    where = [f.sent_at <= c]
    if ids is not None:
        where.append(f.agency_id.in_(sorted(ids)))
    # Only the PAKN of the period (handled in it, or first received in it: in52 / in53) are read and
    # judged; every other agency with PAKN sent by C gets one empty row (in nothing), so a scope's
    # "no PAKN at all" note stays what it was when every PAKN of the history was read.
    relevant = or_(and_(f.handled_at >= start, f.handled_at <= c),
                   and_(func.coalesce(f.first_received_at, f.sent_at) >= start,
                        func.coalesce(f.first_received_at, f.sent_at) <= c))
    rows: list[dict[str, Any]] = []
    found = conn.execute(select(Feedback.__table__).where(*where, relevant)).all()
    seen = {k.agency_id for k in found}
    for (agency_id,) in conn.execute(select(f.agency_id).where(*where).group_by(f.agency_id)):
        if agency_id not in seen:
            rows.append({"code": None, "agency_id": agency_id, "classification": "", "in52": False, "on_time": False,
                         "in53": False, "unhappy": False, "handled": False, "first_received_at": None,
                         "handled_at": None})
    for k in found:
        first = k.first_received_at or k.sent_at
        handled_in = k.handled_at is not None and b.start <= k.handled_at <= b.c
        processing = b.start <= first <= b.c and not (k.handled_at is not None and k.handled_at <= b.c)
        on_time = pakn_verdict(k, b.c, cal)
        in53 = b.start <= first <= b.c
        rows.append({
            "code": k.code, "agency_id": k.agency_id, "classification": k.classification or "",
            "in52": handled_in or processing, "on_time": on_time, "in53": in53,
            "unhappy": (k.dislikes or 0) > (k.likes or 0) or bool(k.follow_up_dissatisfied) or not on_time,
            "handled": handled_in, "first_received_at": first, "handled_at": k.handled_at,
        })
    return rows


# Entries that add up over time: dossier and copy counts. A quarter's 1.4 national count is the sum of
# its months'. The procedure and service counts (1.1–1.3, 3.1, 3.2, 3.5, 3.5b, 4.5a) count each TTHC or
# DVC once per period, so months cannot be summed into a quarter: those are entered for the period itself.
ADDITIVE_INPUTS = frozenset({"1.4", "CT", "4.4", "5.4"})
_Values = tuple[Decimal | None, Decimal | None]


def sub_periods(period: Period) -> list[Period]:
    """The periods an entry of ``period`` is built from: a year from its quarters, a quarter (or any span
    of several months) from its months; a month from nothing."""
    if period.kind == "year":
        return [parse_period(f"{period.year}-Q{q}", period.mode) for q in range(1, 5)]
    if period.kind == "month" or period.kind == "custom":
        return []
    months, day = [], period.start
    while day <= period.end:
        months.append(parse_period(f"{day.year}-{day.month:02d}", period.mode))
        day = months[-1].end + dt.timedelta(days=1)
    return months if len(months) > 1 else []


@dataclass
class EnteredInputs:
    """The entries of a period and of every period inside it, resolved on demand.

    The rule (issue 11): an entry made for the period itself wins — the officer may hold the official
    quarterly figure. Otherwise an additive indicator's quarter is the sum of its months and a year the
    sum of its quarters (each resolved the same way), provided every month or quarter that has begun by
    the cut-off C has a value: a missing month leaves the sum out (and says which month), never a
    silently short total. When both a quarter entry and all its months exist and disagree, the quarter
    entry is used and the note says so.
    """

    period: Period
    rows: dict[tuple[int | None, str, str], _Values]  # (agency id, indicator, period key) → entry

    def keys(self) -> set[tuple[int | None, str]]:
        return {(agency_id, indicator) for agency_id, indicator, _ in self.rows}

    def resolve(self, agency_id: int | None, indicator: str, c: dt.datetime,
                period: Period | None = None) -> tuple[_Values | None, list[str]]:
        period = period or self.period
        own = self.rows.get((agency_id, indicator, period.key))
        subs = [p for p in sub_periods(period) if p.start <= c.date()]
        if not subs or indicator not in ADDITIVE_INPUTS:
            notes = []
            if own is None and any((agency_id, indicator, p.key) in self.rows for p in sub_periods(period)):
                notes.append(f"số liệu {indicator} nhập theo tháng không cộng thành {_lower(period.name)} "
                             "(mỗi TTHC chỉ đếm một lần): cần nhập cho cả kỳ")
            return own, notes
        resolved = [(p, *self.resolve(agency_id, indicator, c, p)) for p in subs]
        notes = [n for _, _, sub_notes in resolved for n in sub_notes]
        lacking = [_lower(p.name) for p, value, _ in resolved if value is None]
        total: _Values | None = None
        if not lacking:
            total = tuple(sum(v[i] for _, v, _ in resolved) if all(v[i] is not None for _, v, _ in resolved)
                          else None for i in (0, 1))
        if own is not None:
            if total is not None and total != own:
                notes.append(f"tổng các kỳ con ({_pair(total)}) khác số liệu đã nhập cho {_lower(period.name)} "
                             f"({_pair(own)}): dùng số liệu của {_lower(period.name)}")
            return own, notes
        if lacking and len(lacking) < len(resolved):
            notes.append(f"chưa cộng số liệu {indicator} cho {_lower(period.name)}: chưa nhập {', '.join(lacking)}")
            return None, notes
        return total, notes


def _lower(name: str) -> str:
    """«Quý II năm 2022» inside a sentence: «quý II năm 2022»."""
    return name[:1].lower() + name[1:]


def _pair(values: _Values) -> str:
    return " / ".join("–" if v is None else fmt_decimal(v) for v in values)


def _inputs(conn: Connection, period: Period) -> EnteredInputs:
    keys = [period.key] + [p.key for p in sub_periods(period)]
    keys += [m.key for q in sub_periods(period) for m in sub_periods(q)]
    i = Qd766Input.__table__.c
    return EnteredInputs(period, {(r.agency_id, r.indicator, r.period_key): (r.numerator, r.denominator)
                                  for r in conn.execute(select(i.agency_id, i.indicator, i.numerator, i.denominator,
                                                               i.period_key).where(i.period_key.in_(keys)))})


# --------------------------------------------------------------------------------------------
# Scoring a set of agencies
# --------------------------------------------------------------------------------------------

def _sum_dossiers(facts: Facts, ids: set[int] | None) -> Counter:
    total: Counter = Counter()
    for agency_id, counts in facts.dossiers.items():
        if ids is None or agency_id in ids:
            total.update(counts)
    return total


def _by_code(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A TTHC is counted once across the agencies that apply it (qd766.md §2: P)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        grouped[r["code"]].append(r)
    return grouped


def _entered(facts: Facts, ids: set[int] | None, indicator: str
             ) -> tuple[tuple[Decimal | None, Decimal | None] | None, str]:
    """The manual input for the scope and a note on how it was built: the province's own (whole
    province only), else the agencies' sum; each resolved over months and quarters (EnteredInputs)."""
    c = facts.bounds.c
    notes: list[str] = []
    if ids is None:
        own, notes = facts.inputs.resolve(None, indicator, c)
        if own is not None:
            return own, "; ".join(notes)
    found = []
    for agency_id, key in sorted(facts.inputs.keys(), key=lambda k: (k[0] is None, k[0] or 0)):
        if key == indicator and agency_id is not None and (ids is None or agency_id in ids):
            value, more = facts.inputs.resolve(agency_id, indicator, c)
            notes += [f"{facts.tree.by_id[agency_id].code}: {n}" for n in more]
            if value is not None:
                found.append(value)
    if not found:
        return None, "; ".join(notes)
    num = sum((v[0] for v in found if v[0] is not None), Decimal(0)) if any(v[0] is not None for v in found) else None
    den = sum((v[1] for v in found if v[1] is not None), Decimal(0)) if any(v[1] is not None for v in found) else None
    return (num, den), "; ".join(notes)


@dataclass
class Part:
    """One sub-indicator's figures before scoring; ``gap`` names what moves items into the numerator."""

    id: str
    numerator: Fraction | int | None
    denominator: Fraction | int | None
    missing: str | None = None  # the input it waits for
    note: str = ""
    gap_action: str = ""  # Vietnamese, for the hint: "thanh toán trực tuyến cho {n} thủ tục có phí …"
    gap_available: int | None = None  # how many items could still move into the numerator
    unit_label: str = "hồ sơ"
    candidates: tuple[str, ...] = ()  # the procedure codes a procedure-level hint names, busiest first
    factor: Fraction | None = None  # r is multiplied by it (3.3: the 1.4 sync rate)
    source: str | None = None  # "entered" when the part used an entry itself (5.4); else from ``missing``


def procedure_tests(period: Period, cal: WorkCalendar) -> dict[str, tuple[Any, Any]]:
    """Each procedure-level sub-indicator as (in the denominator, in the numerator) of one catalogue row:
    the counts (:func:`_catalogue_parts`) and the drill-down (:func:`index_items`) both use these."""

    def decided_in_period(r: dict[str, Any]) -> bool:
        return r["decision_at"] is not None and period.start <= r["decision_at"] <= period.end

    def published_on_time(r: dict[str, Any]) -> bool:
        # QĐCB date ≤ the legal basis' effective date − 5 working days (province)
        if r["effective_at"] is None:
            return False
        # working days strictly between the two dates: at least 4 when the decision is 5 WD ahead
        day = dt.timedelta(days=1)
        return cal.working_days_between(r["decision_at"] + day, r["effective_at"] - day) >= PUBLISH_LEAD_WD - 1

    def due12(r: dict[str, Any]) -> bool:
        # publicized in the period, or decided by E and not publicized by E (still due; §7.4: literal)
        if r["decision_at"] is None or r["decision_at"] > period.end:
            return False
        p_at = r["publicized_at"]
        return p_at is None or p_at > period.end or p_at >= period.start

    def publicized_on_time(r: dict[str, Any]) -> bool:
        p_at = r["publicized_at"]
        return (p_at is not None and period.start <= p_at <= period.end
                and p_at <= cal.add_working_days(r["decision_at"], PUBLICIZE_WD))

    def publicized_with_parts(r: dict[str, Any]) -> bool:
        shown = (r["publicized_at"] <= period.end) if r["publicized_at"] else bool(r["publicized"])
        return shown and r["public_parts"] is not None

    return {
        "1.1": (decided_in_period, published_on_time),
        "1.2": (due12, publicized_on_time),
        "1.3": (publicized_with_parts, lambda r: r["public_parts"] >= 7),
        "3.1": (lambda r: True, lambda r: r["online"]),
        "3.2": (lambda r: r["online"], lambda r: r["used_online"]),
        "3.5": (lambda r: bool(r["has_fee"]), lambda r: r["fee_used"]),
        "3.5b": (lambda r: bool(r["has_fee"]), lambda r: r["paid_used"]),
        "4.5a": (lambda r: bool(r["citizen"]), lambda r: r["pop_used"]),
    }


# 1.1–1.3: a TTHC late once is late (every row must pass); the others: one row passing is enough.
ALL_ROWS_MUST_PASS = ("1.1", "1.2", "1.3")


def _by_procedure(codes: dict[str, list[dict[str, Any]]], indicator: str,
                  tests: dict[str, tuple[Any, Any]]) -> tuple[int, tuple[str, ...]]:
    """(denominator, codes short of the numerator, busiest first) with each TTHC counted once."""
    in_den, in_num = tests[indicator]
    every = indicator in ALL_ROWS_MUST_PASS
    den, short = 0, []
    for code, rows in codes.items():
        members = [r for r in rows if in_den(r)]
        if not members:
            continue
        den += 1
        passed = all(in_num(r) for r in members) if every else any(in_num(r) for r in members)
        if not passed:
            short.append((-sum(r["dossiers"] for r in rows), code))
    return den, tuple(code for _, code in sorted(short))


def _catalogue_parts(facts: Facts, ids: set[int] | None) -> list[Part]:
    cal_rows = [r for r in facts.procedures if ids is None or r["agency_id"] in ids]
    tests = procedure_tests(facts.period, facts.cal)
    codes = _by_code(cal_rows)
    parts: list[Part] = []

    def add(indicator: str, missing: str | None, action: str, note: str = "") -> None:
        den, short = _by_procedure(codes, indicator, tests)
        parts.append(Part(indicator, den - len(short), den, missing, note=note, gap_action=action,
                          gap_available=len(short), unit_label="TTHC", candidates=short))

    known_decisions = any(r["decision_at"] for r in cal_rows)
    add("1.1", None if known_decisions else "ngày quyết định công bố (QĐCB) và ngày hiệu lực căn cứ pháp lý của TTHC, "
        "hoặc nhập số liệu 1.1", "công bố đúng hạn (trước ngày hiệu lực ít nhất 5 ngày làm việc) {n} TTHC")
    add("1.2", None if known_decisions else "ngày QĐCB và ngày công khai của TTHC, hoặc nhập số liệu 1.2",
        "công khai đúng hạn {n} TTHC")
    parts_known = any(r["public_parts"] is not None for r in cal_rows)
    unknown13 = len({r["code"] for r in cal_rows if r["public_parts"] is None and (r["publicized_at"] or r["publicized"])})
    add("1.3", None if parts_known else "số bộ phận công khai (7 bộ phận theo NĐ 63/2010 Điều 8 khoản 2) của TTHC, "
        "hoặc nhập số liệu 1.3", "công khai đủ 7 bộ phận nội dung cho {n} TTHC",
        note=f"{fmt_int(unknown13)} TTHC đã công khai chưa có thông tin các bộ phận" if unknown13 else "")
    add("3.1", None, "cung cấp dịch vụ công trực tuyến cho {n} TTHC")

    # 3.2: online services (procedure × agency) with at least one online dossier
    in_den, in_num = tests["3.2"]
    services = sorted((r for r in cal_rows if in_den(r)), key=lambda r: (-r["dossiers"], r["code"]))
    gap32 = tuple(f"{r['code']}@{facts.tree.by_id[r['agency_id']].code}" for r in services if not in_num(r))
    parts.append(Part("3.2", len(services) - len(gap32), len(services), gap_action="có hồ sơ trực tuyến cho {n} dịch "
                      "vụ công trực tuyến chưa phát sinh hồ sơ", gap_available=len(gap32), unit_label="DVC",
                      candidates=gap32))

    # 3.5 / 3.5b: procedures with a fee (catalogue), with a non-zero fee dossier / an online payment
    fee_missing = None if any(r["has_fee"] is not None for r in cal_rows) else \
        "thông tin «có phí, lệ phí» của TTHC trong danh mục"
    add("3.5", fee_missing, "đồng bộ phí, lệ phí lên Cổng cho hồ sơ của {n} TTHC có phí")
    add("3.5b", fee_missing, "thanh toán trực tuyến cho {n} thủ tục có phí chưa có giao dịch trực tuyến")
    # 4.5a: citizen procedures with a dossier using the population database
    add("4.5a", None if any(r["citizen"] is not None for r in cal_rows) else "đối tượng thực hiện (công dân) của TTHC",
        "khai thác CSDL dân cư (VNeID, kho dữ liệu, mã CSDL) cho hồ sơ của {n} TTHC công dân")
    return parts


def _dossier_parts(facts: Facts, ids: set[int] | None) -> list[Part]:
    s = _sum_dossiers(facts, ids)
    no_records = "bản ghi đồng bộ DVCQG của hồ sơ (TaiLieuNop, DanhSachGiayToKetQua, DSKetNoiCSDL…)"
    paper_known = any(r["paper"] is not None for r in facts.procedures)
    fee_known = any(r["has_fee"] is not None for r in facts.procedures)
    unjudged = sum(v for k, v in facts.unjudged21.items() if ids is None or k in ids)
    late21 = s["den21"] - s["on21"]
    parts = [
        Part("1.4", s["synced"], s["recv"], None if s["sync_known"] else "số hồ sơ đã đồng bộ lên Cổng DVCQG (nhập số liệu 1.4)",
             gap_action="đồng bộ lên Cổng DVCQG {n} hồ sơ", gap_available=s["recv"] - s["synced"]),
        Part("2.1", s["on21"], s["den21"],
             note=(f"{fmt_int(unjudged)} hồ sơ không có hạn và không có thời hạn tối đa của thủ tục: tính đúng hạn"
                   if unjudged else ""), gap_available=0),
        Part("3.3", s["online_ok"], s["recv"],
             note=(f"{fmt_int(s['online_no_eres'])} hồ sơ trực tuyến của TTHC trả kết quả giấy chưa có kết quả điện tử"
                   if s["online_no_eres"] else ""),
             gap_action=("có thêm {n} hồ sơ nộp trực tuyến thay vì trực tiếp (hồ sơ trực tuyến của TTHC trả kết quả "
                         "giấy cần kết quả điện tử)"),
             gap_available=s["recv"] - s["online_ok"]),
        Part("3.6", s["paid"], s["fee_den"], None if fee_known else "thông tin «có phí, lệ phí» của TTHC trong danh mục",
             gap_action="thanh toán trực tuyến {n} hồ sơ có phí", gap_available=s["fee_den"] - s["paid"]),
        Part("4.1", s["paper_eres"], s["paper"], None if paper_known else "thông tin «kết quả bản giấy» của TTHC trong danh mục",
             gap_action="cấp kết quả điện tử cho {n} hồ sơ", gap_available=s["paper"] - s["paper_eres"]),
        Part("4.2", s["comp_ok"], s["recv"], None if s["records"] else no_records,
             gap_action="số hóa thành phần hồ sơ (và kết quả) cho {n} hồ sơ", gap_available=s["recv"] - s["comp_ok"]),
        Part("4.3", s["digit"], s["digit_den"], None if s["records"] or s["digit_den"] else no_records,
             gap_action="dùng lại dữ liệu số hóa cho {n} hồ sơ", gap_available=s["digit_den"] - s["digit"]),
        Part("4.4", s["store"], s["recv"], None if s["records"] or s["store_known"] else
             "bản ghi đồng bộ DVCQG của hồ sơ (TaiLieuNop: DuocLayTuKhoDMQG) hoặc cột «Kết quả đưa vào kho», "
             "hoặc nhập số liệu 4.4",
             gap_action="lấy thành phần từ kho dữ liệu của công dân cho {n} hồ sơ", gap_available=s["recv"] - s["store"]),
        Part("4.5b", s["pop"], s["recv"], None if s["records"] else no_records,
             gap_action="khai thác CSDL dân cư cho {n} hồ sơ", gap_available=s["recv"] - s["pop"]),
    ]
    parts.append(_part_54(facts, ids, s, late21))
    return parts


def _part_54(facts: Facts, ids: set[int] | None, s: Counter, late21: int) -> Part:
    """5.4 [D]: over 2.1's dossiers, 1 − (late share + share with a PAKN or a dislike), not below 0.

    The second share needs PAKN records or dossier ratings; with neither in the data it is not known
    (not 0): the officer enters the number of dossiers with a PAKN or a dislike (5.4's numerator
    field), else 5.4 waits. An entry wins over the data (it may come from the portal's own list).
    """
    entered, note = _entered(facts, ids, "5.4")
    if entered is not None and entered[0] is not None:
        unhappy, source = Fraction(entered[0]), "entered"
    elif facts.feedback or s["rated_known"]:
        unhappy, source = Fraction(s["pakn54"]), "computed"
    else:
        return Part("5.4", None, None, "PAKN (nhập tệp PAKN) hoặc đánh giá hài lòng của hồ sơ, hoặc nhập số hồ sơ "
                    "có PAKN hay bị đánh giá không hài lòng cho 5.4", note=note)
    if not s["den21"]:
        return Part("5.4", 0, 0, note=note, source=source)
    r54 = max(Fraction(0), 1 - (late21 + unhappy) / s["den21"])
    note = "; ".join(n for n in (f"{fmt_int(late21)} hồ sơ quá hạn, {_number_text(unhappy)} hồ sơ có PAKN hoặc "
                                 "không hài lòng", note) if n)
    return Part("5.4", r54 * s["den21"], s["den21"], note=note, gap_available=0, source=source)


def _number_text(value: Fraction) -> str:
    return fmt_int(int(value)) if value.denominator == 1 else fmt_decimal(half_up(value))


def _feedback_parts(facts: Facts, ids: set[int] | None) -> list[Part]:
    rows = [k for k in facts.feedback if ids is None or k["agency_id"] in ids]
    den52 = [k for k in rows if k["in52"]]
    num52 = sum(1 for k in den52 if k["on_time"])
    den53 = [k for k in rows if k["in53"]]
    num53 = sum(1 for k in den53 if not k["unhappy"])
    # qd766.md §2: no PAKN in the period scores the full 6; say when none was ever imported.
    note = "" if rows else "chưa có PAKN nào trong dữ liệu (mẫu số 0 → 6 điểm theo Cổng)"
    return [
        Part("5.2", num52, len(den52), note=note, gap_available=0, unit_label="PAKN"),
        Part("5.3", num53, len(den53), note=note, gap_available=0, unit_label="PAKN"),
    ]


def _apply_input(part: Part, entered: tuple[Decimal | None, Decimal | None] | None) -> tuple[Part, str]:
    """An entered numerator / denominator replaces the computed one (1.4: the larger denominator)."""
    if entered is None:
        return part, "missing" if part.missing else "computed"
    num, den = entered
    if part.id == "1.4" and den is not None and part.denominator is not None:
        den = max(Decimal(part.denominator), den)
    new_num = Fraction(num) if num is not None else part.numerator
    new_den = Fraction(den) if den is not None else part.denominator
    if new_num is None or new_den is None or (part.missing and (num is None or den is None) and part.id != "1.4"):
        return part, "missing"
    return Part(part.id, new_num, new_den, None, part.note, part.gap_action, None, part.unit_label), "entered"


def score_parts(facts: Facts, ids: set[int] | None) -> list[dict[str, Any]]:
    """Every sub-indicator of the scope as the page shows it."""
    parts = {p.id: p for p in (*_catalogue_parts(facts, ids), *_dossier_parts(facts, ids),
                               *_feedback_parts(facts, ids))}
    parts["CT"] = Part("CT", None, None, "số bản sao chứng thực điện tử (nhập số liệu CT)")
    result = []
    sync_rate: Fraction | None = None  # 1.4's rate once scored (INDICATORS puts 1.4 before 3.3)
    for ind in INDICATORS:
        if ind.info:
            result.append(_info_part(ind, facts, ids))
            continue
        part = parts[ind.id]
        source = part.source or ("missing" if part.missing else "computed")
        if ind.enterable and ind.id not in SELF_ENTERED:
            entered, input_note = _entered(facts, ids, ind.id)
            part, source = _apply_input(part, entered)
            if input_note:
                part = replace(part, note="; ".join(n for n in (part.note, input_note) if n))
        if ind.id == "1.4" and source != "missing" and part.denominator:
            sync_rate = min(Fraction(1), Fraction(part.numerator) / Fraction(part.denominator))  # r ≤ 1 [D]
        if ind.id == "3.3":
            part = _with_sync_rate(part, sync_rate)
        max_points, threshold = facts.rules.params[ind.id]
        item: dict[str, Any] = {
            "id": ind.id, "group": ind.group, "title": ind.title, "unit": ind.unit,
            "numerator": _plain(part.numerator), "denominator": _plain(part.denominator),
            "rate": None, "points": None, "max": half_up(max_points),
            "threshold": half_up(threshold * 100) if threshold else None, "source": source,
            "waiting_for": part.missing if source == "missing" else None, "status": "ok", "note": part.note,
            "info": False, "factor": half_up(part.factor * 100) if part.factor is not None else None,
        }
        if source != "missing":
            if part.denominator:
                exact = points_of(part.numerator, part.denominator, max_points, threshold, part.factor)
                item["rate"] = half_up(Fraction(part.numerator) / Fraction(part.denominator) * 100
                                       * (part.factor if part.factor is not None else 1))
                item["points"] = half_up(exact)
            else:
                # qd766.md §1: a zero denominator → N/A (0 points, flagged), or the table's 0 / full value
                item["status"] = "na" if ind.den_zero == "na" else "empty"
                item["points"] = half_up(max_points) if ind.den_zero == "full" else Decimal("0.00")
        item["_part"] = part
        item["_exact"] = (max_points, threshold)
        result.append(item)
    return result


def _with_sync_rate(part: Part, sync_rate: Fraction | None) -> Part:
    """3.3 as [F] writes it: r = online dossiers ÷ dossiers received, × the 1.4 sync rate (qd766.md §2).

    The numerator and denominator stay the dossier counts (the drill-down lists exactly them); the
    rate and points carry the factor. With 1.4 missing (no sync flag, no entered national count) the
    factor is unknown: [D] 3.3 is then scored on its own (factor 1) and the note says so, rather than
    waiting — the worked example B of qd766.md §6 is scored that way.
    """
    if sync_rate is None:
        note = "chưa nhân tỷ lệ đồng bộ 1.4 (1.4 chưa có số liệu: tạm tính 100 %)"
    else:
        note = f"đã nhân tỷ lệ đồng bộ 1.4 ({fmt_decimal(half_up(sync_rate * 100))} %)"
    note = "; ".join(n for n in (note, part.note) if n)
    return Part(part.id, part.numerator, part.denominator, part.missing, note, part.gap_action, part.gap_available,
                part.unit_label, part.candidates, sync_rate)


def _plain(value: Fraction | int | None) -> int | Decimal | None:
    if value is None:
        return None
    value = Fraction(value)
    return int(value) if value.denominator == 1 else half_up(value)


def _info_part(ind: Indicator, facts: Facts, ids: set[int] | None) -> dict[str, Any]:
    item = {"id": ind.id, "group": ind.group, "title": ind.title, "unit": ind.unit, "numerator": None,
            "denominator": None, "rate": None, "points": None, "max": Decimal("0.00"), "threshold": None,
            "source": "computed", "waiting_for": None, "status": "info", "note": "", "info": True, "factor": None}
    if ind.id == "2.2":
        s = _sum_dossiers(facts, ids)
        item["denominator"] = s["ended22"]
        item["rate"] = (Decimal(str(s["days22"])) / s["ended22"]).quantize(Decimal("0.01")) if s["ended22"] else None
        item["note"] = "số ngày trung bình từ tiếp nhận đến khi xử lý xong (ngày lịch)"
    else:
        rows = [k for k in facts.feedback if (ids is None or k["agency_id"] in ids) and k["in53"]]
        kinds = Counter(k["classification"] or "khác" for k in rows)
        item["denominator"] = len(rows)
        item["note"] = ", ".join(f"{name}: {fmt_int(n)}" for name, n in sorted(kinds.items())) or "không có PAKN"
    return item


def groups_of(parts: list[dict[str, Any]], rules: Rules) -> tuple[list[dict[str, Any]], Decimal]:
    """Group = sum of its rounded parts; total = sum of the groups (qd766.md §1)."""
    groups = []
    for code, title in GROUPS:
        members = [p for p in parts if p["group"] == code and not p["info"]]
        points = sum((p["points"] or Decimal(0) for p in members), Decimal("0.00"))
        groups.append({
            "code": code, "title": title, "points": points, "max": sum((p["max"] for p in members), Decimal("0.00")),
            "waiting_for": [f"{p['id']}: {p['waiting_for']}" for p in members if p["source"] == "missing"],
            "parts": [p["id"] for p in members],
        })
    return groups, sum((g["points"] for g in groups), Decimal("0.00"))


# --------------------------------------------------------------------------------------------
# What would raise the score
# --------------------------------------------------------------------------------------------

def hints_of(parts: list[dict[str, Any]], facts: Facts, ids: set[int] | None) -> list[dict[str, Any]]:
    """For each sub-indicator below its maximum, the smallest change that reaches the best points the
    items at hand allow, and how many points it gains; ranked by points gained."""
    hints = []
    for p in parts:
        if p["info"] or p["max"] == 0:
            continue
        if p["source"] == "missing":
            hints.append({"indicator": p["id"], "kind": "input", "count": None, "available": None, "items": [],
                          "gain": None, "points_now": None, "points_after": None, "per_item": None,
                          "text": f"{p['id']} ({p['title']}): cần {p['waiting_for']} để tính tới {fmt_decimal(p['max'])} điểm."})
            continue
        part: Part = p["_part"]
        if p["id"] == "2.1":
            keep = _keep_hint_21(p, facts, ids)
            if keep:
                hints.append(keep)
            continue
        if not part.denominator or p["points"] is None or p["points"] >= p["max"] or not part.gap_available:
            continue
        max_points, threshold = p["_exact"]
        num, den, factor = Fraction(part.numerator), Fraction(part.denominator), part.factor
        # items needed to reach the maximum: the threshold share (or all) of the denominator, ÷ the factor
        target = math.ceil(den * (threshold or 1) / (factor or 1)) - num if factor != 0 else part.gap_available
        count = max(1, min(int(math.ceil(target)), part.gap_available))
        after = half_up(points_of(num + count, den, max_points, threshold, factor))
        gain = after - p["points"]
        per_item = half_up(points_of(num + 1, den, max_points, threshold, factor)) - p["points"]
        if gain <= 0:
            continue
        action = part.gap_action.format(n=fmt_int(count))
        hints.append({
            "indicator": p["id"], "kind": "gain", "count": count, "available": part.gap_available,
            "items": list(part.candidates[:count]),
            "gain": gain, "points_now": p["points"], "points_after": after, "per_item": per_item,
            "text": f"{action[0].upper()}{action[1:]} sẽ thêm {fmt_decimal(gain)} điểm cho {p['id']} "
                    f"({fmt_decimal(p['points'])} → {fmt_decimal(after)}/{fmt_decimal(p['max'])}).",
        })
    return sorted(hints, key=lambda h: (h["gain"] is None, -(h["gain"] or 0), h["indicator"]))


def _keep_hint_21(p: dict[str, Any], facts: Facts, ids: set[int] | None) -> dict[str, Any] | None:
    """Pending dossiers now within their due date and due before the period ends: how many must finish
    on time for 2.1 to keep its points, and what it loses if none does."""
    s = _sum_dossiers(facts, ids)
    at_risk = s["at_risk21"]
    if not at_risk or not s["den21"]:
        return None
    max_points, threshold = p["_exact"]

    def points_if_late(m: int) -> Decimal:
        return half_up(points_of(s["on21"] - m, s["den21"], max_points, threshold))

    loss = p["points"] - points_if_late(at_risk)
    if loss <= 0:
        return None
    allowed = 0  # how many may finish late before the rounded points drop
    while allowed < at_risk and points_if_late(allowed + 1) == p["points"]:
        allowed += 1
    must = at_risk - allowed
    span = {"month": "tháng", "quarter": "quý", "year": "năm"}.get(facts.period.kind, "kỳ")
    return {
        "indicator": "2.1", "kind": "keep", "count": must, "available": at_risk, "items": [], "gain": loss,
        "points_now": p["points"], "points_after": p["points"], "per_item": p["points"] - points_if_late(allowed + 1),
        "text": (f"{fmt_int(must)} hồ sơ trong {fmt_int(at_risk)} hồ sơ đang giải quyết đến hạn trong {span} phải "
                 f"xong đúng hạn để giữ 2.1 ở {fmt_decimal(p['points'])} điểm (nếu trễ hạn cả, mất "
                 f"{fmt_decimal(loss)} điểm)."),
    }


# --------------------------------------------------------------------------------------------
# The public entry points
# --------------------------------------------------------------------------------------------

def _public(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if not k.startswith("_")} for p in parts]


def score(facts: Facts, ids: set[int] | None) -> dict[str, Any]:
    parts = score_parts(facts, ids)
    groups, total = groups_of(parts, facts.rules)
    hints = hints_of(parts, facts, ids)
    return {"groups": groups, "total": total, "max": Decimal("100.00"), "grade": facts.rules.grade(total),
            "indicators": _public(parts), "hints": hints}


def compute_index(db: str | Engine | None, period: Period | str, mode: str = "calendar",
                  agency: str | Sequence[str] | None = None, now: dt.datetime | None = None,
                  scope: Scope | None = None, ranking: bool = True) -> dict[str, Any]:
    """THE QĐ 766 object: period, agency, rules version, total, grade, groups, indicators, hints and
    (``ranking``) the agencies below the scope ranked by total.

    ``period`` defaults to calendar months / quarters / years (the national convention); ``now``
    (default: the present) is C for a period still running.
    """
    agency = restrict(scope, agency)
    period = _as_calendar(period, mode)
    engine = get_engine(db)
    _ensure_seeded(engine)
    with engine.connect() as conn:
        tree = _tree(conn)
        ids = _scope_ids(tree, agency)
        facts = gather(conn, period, ids, now or dt.datetime.now(), tree)
    result = {
        "period": period.to_dict(),
        "agency": agency if isinstance(agency, str) or agency is None else list(agency),
        "rules_version": facts.rules.version,
        **score(facts, ids),
    }
    result["ranking"] = _ranking(facts, tree, agency, ids) if ranking else []
    return result


def _ranking(facts: Facts, tree: AgencyTree, agency: Any, ids: set[int] | None) -> list[dict[str, Any]]:
    """The agencies one level below the scope (the province: its top agencies), each with its sub-units."""
    if ids is None:
        heads = tree.children.get(None, [])
    else:
        chosen = [tree.by_code[c].id for c in ([agency] if isinstance(agency, str) else agency)]
        heads = [child for a in chosen for child in tree.children.get(a, [])] or chosen
    rows = []
    for head in heads:
        result = score(facts, tree.subtree(head))
        a = tree.by_id[head]
        rows.append({"code": a.code, "name": a.name, "level": a.level, "total": result["total"],
                     "grade": result["grade"], **{g["code"]: g["points"] for g in result["groups"]}})
    return sorted(rows, key=lambda r: (-r["total"], r["code"]))


def monthly_trend(db: str | Engine | None, period: Period | str, mode: str = "calendar", count: int = 6,
                  agency: str | Sequence[str] | None = None, now: dt.datetime | None = None,
                  scope: Scope | None = None) -> list[dict[str, Any]]:
    """The total and the groups of the ``count`` calendar months ending with the period's last month."""
    agency = restrict(scope, agency)
    period = _as_calendar(period, mode)
    last = parse_period(f"{period.end.year}-{period.end.month:02d}", "calendar")
    months = [last.shifted(-i) for i in range(count - 1, -1, -1)]
    engine = get_engine(db)
    _ensure_seeded(engine)
    rows = []
    with engine.connect() as conn:
        tree = _tree(conn)
        ids = _scope_ids(tree, agency)
        for month in months:
            facts = gather(conn, month, ids, now or dt.datetime.now(), tree)
            result = score(facts, ids)
            rows.append({"period": month.short_name, "spec": month.spec, "total": result["total"],
                         **{g["code"]: g["points"] for g in result["groups"]}})
    return rows


# --------------------------------------------------------------------------------------------
# Drill-down: the items behind a sub-indicator
# --------------------------------------------------------------------------------------------

_DOSSIER_ITEMS = {  # indicator → (denominator key, numerator key) of _dossier_conditions
    "1.4": ("recv", "synced"), "3.3": ("recv", "online_ok"), "3.6": ("fee_den", "paid"),
    "4.1": ("paper", "paper_eres"), "4.2": ("recv", "comp_ok"), "4.3": ("digit_den", "digit"),
    "4.4": ("recv", "store"), "4.5b": ("recv", "pop"), "2.1": ("den21", "on21"), "5.4": ("den21", "on21"),
}


def index_items(db: str | Engine | None, period: Period | str, indicator: str, mode: str = "calendar",
                agency: str | Sequence[str] | None = None, now: dt.datetime | None = None,
                scope: Scope | None = None, limit: int | None = 5000) -> list[dict[str, Any]]:
    """The procedures, services, dossiers or PAKN behind one sub-indicator: every item of the
    denominator, with ``in_numerator``. Same conditions as the counts."""
    if indicator not in BY_ID:
        raise Qd766Error(f"Không có chỉ số «{indicator}» trong Bộ chỉ số 766.")
    agency = restrict(scope, agency)
    period = _as_calendar(period, mode)
    engine = get_engine(db)
    with engine.connect() as conn:
        tree = _tree(conn)
        ids = _scope_ids(tree, agency)
        cal = load_calendar(conn)
        b = _bounds(period, now or dt.datetime.now())
        codes = {a.id: a.code for a in tree.by_id.values()}
        if indicator in _DOSSIER_ITEMS:
            return _dossier_items(conn, b, ids, indicator, codes, cal, limit)
        if BY_ID[indicator].unit == "K" or indicator == "5.1":
            rows = _feedback_facts(conn, b, ids, cal)
            key = "in52" if indicator == "5.2" else "in53"
            return [{"code": k["code"], "agency": codes[k["agency_id"]], "classification": k["classification"],
                     "first_received_at": k["first_received_at"], "handled_at": k["handled_at"],
                     "in_numerator": k["on_time"] if indicator == "5.2" else not k["unhappy"]}
                    for k in rows if k[key]][:limit]
        facts_rows = _procedure_facts(conn, period, b, ids)
    return _procedure_items(facts_rows, indicator, period, codes, cal)[:limit]


def _dossier_items(conn: Connection, b: Bounds, ids: set[int] | None, indicator: str, codes: dict[int, str],
                   cal: WorkCalendar, limit: int | None) -> list[dict[str, Any]]:
    d, p = Dossier.__table__.c, Procedure.__table__.c
    conds = _dossier_conditions(b)
    den_key, num_key = _DOSSIER_ITEMS[indicator]
    simple, _, _ = _simple_21(b)
    stmt = (select(d.id, d.code, d.agency_id, p.code.label("procedure_code"), p.name.label("procedure_name"),
                   d.channel, d.received_at, d.due_at, _end_expr().label("end_at"), d.supplement_rounds,
                   p.processing_days, p.time_unit,
                   case((conds[num_key], 1), else_=0).label("in_numerator"), case((simple, 1), else_=0).label("simple"),
                   case((conds["pakn54"], 1), else_=0).label("unhappy"))
            .select_from(_dossier_from()).where(*_base_where(b, ids), conds[den_key])
            .order_by(d.received_at, d.code))
    rows = conn.execute(stmt.limit(limit) if limit else stmt).all()
    special = [r.id for r in rows if not r.simple]
    rounds = _rounds_of(conn, special) if indicator in ("2.1", "5.4") else {}
    basis = due_basis_setting(conn)
    out = []
    for r in rows:
        flag = bool(r.in_numerator)
        if indicator in ("2.1", "5.4") and not r.simple:
            max_end = None if r.due_at is not None else max_time_end(r.received_at, r.processing_days, r.time_unit, cal)
            flag = on_time_21(r.received_at, r.due_at, r.end_at, rounds.get(r.id, []), b.c, max_end, basis)
        if indicator == "5.4":  # on time and without a PAKN or a dislike
            flag = flag and not r.unhappy
        out.append({"code": r.code, "agency": codes[r.agency_id], "procedure_code": r.procedure_code,
                    "procedure_name": r.procedure_name, "channel": r.channel, "received_at": r.received_at,
                    "due_at": r.due_at, "ended_at": r.end_at if r.end_at is not None and r.end_at <= b.c else None,
                    "supplement_rounds": r.supplement_rounds, "in_numerator": flag})
    return out


def _procedure_items(rows: list[dict[str, Any]], indicator: str, period: Period, codes: dict[int, str],
                     cal: WorkCalendar) -> list[dict[str, Any]]:
    tests = procedure_tests(period, cal)
    if indicator not in tests:
        return []
    in_den, in_num = tests[indicator]
    return [{"code": r["code"], "name": r["name"], "agency": codes[r["agency_id"]], "dossiers": r["dossiers"],
             "in_numerator": bool(in_num(r))} for r in sorted(rows, key=lambda r: (r["code"], r["agency_id"]))
            if in_den(r)]


# --------------------------------------------------------------------------------------------
# Manual inputs (qd766.md §7.4)
# --------------------------------------------------------------------------------------------

def save_input(db: str | Engine | None, period: Period | str, indicator: str, numerator: Any = None,
               denominator: Any = None, agency: str | None = None, mode: str = "calendar",
               scope: Scope | None = None) -> None:
    """Enter (or, with both values empty, clear) a figure no data can give, for an agency (``None``:
    the whole province) and a period."""
    if scope is not None:
        scope.require("edit_reports")
        if agency is None and scope.agencies is not None:
            raise Qd766Error("Chỉ tài khoản cấp tỉnh nhập được số liệu toàn tỉnh.")
        restrict(scope, agency)
    ind = BY_ID.get(indicator)
    if ind is None or not ind.enterable:
        raise Qd766Error(f"Chỉ số «{indicator}» không nhập tay được.")
    num, den = (_parse_amount(numerator, "Tử số"), _parse_amount(denominator, "Mẫu số"))
    if indicator in SELF_ENTERED and den is not None:
        raise Qd766Error(f"Chỉ số {indicator}: chỉ nhập tử số ({INPUT_MEANINGS[indicator][0]}); để trống mẫu số.")
    if num is not None and den is not None and num > den and indicator != "1.4":
        raise Qd766Error(f"Tử số ({fmt_decimal(num)}) lớn hơn mẫu số ({fmt_decimal(den)}).")
    period = _as_calendar(period, mode)
    engine = get_engine(db)
    with engine.begin() as conn:
        agency_id = None
        if agency:
            agency_id = conn.scalar(select(Agency.id).where(Agency.code == agency))
            if agency_id is None:
                raise StatsError(f"Không có cơ quan mã «{agency}» trong cơ sở dữ liệu.")
        i = Qd766Input.__table__.c
        conn.execute(delete(Qd766Input).where(
            i.period_key == period.key, i.indicator == indicator,
            i.agency_id.is_(None) if agency_id is None else i.agency_id == agency_id))
        if num is not None or den is not None:
            conn.execute(Qd766Input.__table__.insert().values(
                agency_id=agency_id, period_key=period.key, indicator=indicator, numerator=num, denominator=den,
                entered_by=scope.username if scope else "", entered_at=dt.datetime.now().replace(microsecond=0)))
        bump_data_version(conn)


def _parse_amount(value: Any, label: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip().replace(".", "").replace(",", ".") if isinstance(value, str) else str(value))
    except ArithmeticError:
        raise Qd766Error(f"{label}: «{value}» không phải là số.") from None
    if amount < 0 or not amount.is_finite():
        raise Qd766Error(f"{label}: «{value}» phải là số không âm.")
    return amount


def load_inputs(db: str | Engine | None, period: Period | str, mode: str = "calendar",
                scope: Scope | None = None) -> list[dict[str, Any]]:
    """The inputs entered for a period (agency code or ``None`` for the province)."""
    period = _as_calendar(period, mode)
    i = Qd766Input.__table__.c
    with get_engine(db).connect() as conn:
        rows = conn.execute(select(Agency.code, i.indicator, i.numerator, i.denominator, i.entered_by, i.entered_at)
                            .select_from(Qd766Input.__table__.outerjoin(Agency.__table__, Agency.id == i.agency_id))
                            .where(i.period_key == period.key)).all()
    allowed = None if scope is None or scope.agencies is None else set(scope.agencies)
    return [dict(agency=r.code, indicator=r.indicator, numerator=r.numerator, denominator=r.denominator,
                 entered_by=r.entered_by, entered_at=r.entered_at)
            for r in rows if allowed is None or r.code in allowed]


# --------------------------------------------------------------------------------------------
# PAKN records (qd766.md §5 "PAKN record"): CSV / XLSX / JSON, all or nothing
# --------------------------------------------------------------------------------------------

FEEDBACK_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("Mã PAKN", "Mã phản ánh", "Mã", "MaPAKN"),
    "agency_code": ("Mã cơ quan", "Mã đơn vị", "MaDonVi"),
    "procedure_code": ("Mã TTHC", "MaTTHC"),
    "dossier_code": ("Mã hồ sơ", "MaHoSo"),
    "classification": ("Phân loại", "Loại PAKN"),
    "sent_at": ("Ngày gửi", "Ngày người dân gửi", "NgayGui"),
    "transferred_at": ("Ngày chuyển", "Ngày chuyển xử lý"),
    "first_received_at": ("Ngày tiếp nhận", "NgayTiepNhan"),
    "rejected_at": ("Ngày từ chối", "NgayTuChoi"),
    "first_supplement_request_at": ("Ngày yêu cầu bổ sung",),
    "answer_started_at": ("Ngày chờ công khai", "Ngày trả lời"),
    "published_at": ("Ngày công khai", "Ngày đã công khai"),
    "handled_at": ("Ngày xử lý xong", "Ngày hoàn thành"),
    "state": ("Trạng thái",),
    "likes": ("Lượt thích", "Hài lòng"),
    "dislikes": ("Lượt không thích", "Không hài lòng"),
    "follow_up_dissatisfied": ("Có PAKN tiếp theo không đồng ý", "Không đồng ý"),
}
FEEDBACK_LABELS = {k: (v[0] if k != "code" else "Mã PAKN") for k, v in FEEDBACK_COLUMNS.items()}
_FEEDBACK_DATES = ("sent_at", "transferred_at", "first_received_at", "rejected_at", "first_supplement_request_at",
                   "answer_started_at", "published_at", "handled_at")
_STATE_WORDS = {"waiting": "waiting", "chotiepnhan": "waiting", "processing": "processing", "dangxuly": "processing",
                "handled": "handled", "daxuly": "handled", "": None}


@dataclass
class FeedbackImport:
    rows: int = 0
    written: int = 0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        if self.problems:
            return f"Không ghi PAKN nào: {fmt_int(len(self.problems))} lỗi trong {fmt_int(self.rows)} dòng."
        return f"Đã ghi {fmt_int(self.written)} PAKN."


def _feedback_frame(data: bytes, filename: str) -> pd.DataFrame:
    name = filename.lower()
    if name.endswith(".json"):
        payload = json.loads(data.decode("utf-8-sig"))
        records = payload.get("data", payload) if isinstance(payload, dict) else payload
        # a key one record lacks is an empty cell, not the text "nan"
        return pd.DataFrame([{k: "" if v is None else str(v) for k, v in r.items()} for r in records],
                            dtype=str).fillna("")
    if name.endswith((".xlsx", ".xlsm")):
        return pd.read_excel(io.BytesIO(data), dtype=str).fillna("")
    return pd.read_csv(io.BytesIO(data), dtype=str, sep=None, engine="python", encoding="utf-8-sig").fillna("")


def import_feedback(db: str | Engine | None, file: str | Path | bytes, filename: str | None = None,
                    agency: str | None = None, scope: Scope | None = None, dry_run: bool = False) -> FeedbackImport:
    """Read PAKN records and upsert them by code; any problem (row and column named) writes nothing."""
    from .importer.values import normalize, parse_timestamps

    if scope is not None:
        scope.require("import")
    if isinstance(file, (str, Path)):
        filename = filename or str(file)
        file = Path(file).read_bytes()
    filename = filename or "pakn.csv"
    result = FeedbackImport()
    try:
        frame = _feedback_frame(file, filename)
    except (ValueError, UnicodeDecodeError, KeyError, AttributeError) as exc:
        result.problems.append(Problem(1, "", f"không đọc được tệp PAKN «{filename}» ({exc.__class__.__name__})"))
        return result
    aliases = {normalize(a): key for key, names in FEEDBACK_COLUMNS.items() for a in (key, *names)}
    columns = {aliases[normalize(h)]: h for h in frame.columns if normalize(h) in aliases}
    result.rows = len(frame)
    for needed in ("code", "sent_at"):
        if needed not in columns:
            result.problems.append(Problem(1, FEEDBACK_LABELS[needed], f"thiếu cột «{FEEDBACK_LABELS[needed]}»"))
    if result.problems:
        return result
    text = {key: frame[h].astype(str).str.strip() for key, h in columns.items()}
    empty = pd.Series([""] * len(frame), index=frame.index)
    parsed: dict[str, Any] = {}
    for key in _FEEDBACK_DATES:
        values, bad = parse_timestamps(text.get(key, empty))
        parsed[key] = values
        for n in bad[bad].index:
            result.problems.append(Problem(n + 2, columns[key], f"không đọc được ngày «{text[key][n]}»", text[key][n]))
    rows = []
    engine = get_engine(db)
    with engine.connect() as conn:
        agency_ids = dict(conn.execute(select(Agency.code, Agency.id)).all())
    allowed = None if scope is None or scope.agencies is None else set(scope.agencies)
    for n in frame.index:
        line = n + 2
        code = text["code"][n]
        agency_code = text.get("agency_code", empty)[n] or agency
        if not code:
            result.problems.append(Problem(line, columns["code"], "thiếu mã PAKN"))
        if pd.isna(parsed["sent_at"][n]):
            result.problems.append(Problem(line, columns["sent_at"], "thiếu ngày gửi"))
        if not agency_code or agency_code not in agency_ids:
            result.problems.append(Problem(line, columns.get("agency_code", "Mã cơ quan"),
                                           f"không có cơ quan «{agency_code or ''}»"))
        elif allowed is not None and agency_code not in allowed:
            result.problems.append(Problem(line, columns.get("agency_code", "Mã cơ quan"),
                                           f"tài khoản không được nhập PAKN của cơ quan «{agency_code}»"))
        counts = {}
        for key in ("likes", "dislikes"):
            raw = text.get(key, empty)[n]
            if raw and not raw.isdigit():
                result.problems.append(Problem(line, columns[key], f"«{raw}» không phải số nguyên không âm", raw))
            counts[key] = int(raw) if raw.isdigit() else 0
        state_raw = normalize(text.get("state", empty)[n])
        if state_raw not in _STATE_WORDS:
            result.problems.append(Problem(line, columns["state"], "trạng thái dùng Chờ tiếp nhận, Đang xử lý hoặc "
                                                                   "Đã xử lý", text["state"][n]))
        dates = {k: (None if pd.isna(parsed[k][n]) else parsed[k][n].to_pydatetime()) for k in _FEEDBACK_DATES}
        state = _STATE_WORDS.get(state_raw) or ("handled" if dates["handled_at"] else
                                                "processing" if dates["first_received_at"] else "waiting")
        rows.append({"code": code, "agency_id": agency_ids.get(agency_code),
                     "procedure_code": text.get("procedure_code", empty)[n] or None,
                     "dossier_code": text.get("dossier_code", empty)[n] or None,
                     "classification": text.get("classification", empty)[n] or None, **dates, "state": state,
                     "follow_up_dissatisfied": normalize(text.get("follow_up_dissatisfied", empty)[n]) in
                     ("x", "co", "1", "true"), **counts})
    duplicated = pd.Series([r["code"] for r in rows]).duplicated()
    for n in duplicated[duplicated].index:
        result.problems.append(Problem(n + 2, columns["code"], f"mã PAKN «{rows[n]['code']}» lặp lại"))
    if result.problems or dry_run:
        return result
    from .db import upsert

    with engine.begin() as conn:
        upsert(conn, Feedback.__table__, rows, ["code"])
        bump_data_version(conn)
    result.written = len(rows)
    return result


# --------------------------------------------------------------------------------------------
# Benchmark hook (bench/ calls this; no timing assertions in tests)
# --------------------------------------------------------------------------------------------

def bench_index766(db: str | Engine | None, period: str, runs: int = 3, now: dt.datetime | None = None
                   ) -> dict[str, float]:
    """Seconds for the whole province's index: the first call (cold) and the median of ``runs`` more."""
    import statistics
    import time

    timings = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        compute_index(db, period, "calendar", now=now, ranking=False)
        timings.append(time.perf_counter() - started)
    return {"cold": timings[0], "warm": statistics.median(timings[1:])}
