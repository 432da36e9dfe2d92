"""The figures of the quarterly report, computed once for every page, CLI call and export.

- :func:`compute_stats`: form II.06a/VPCP/KSTT (dossier results, domain.md §4) by field, agency,
  procedure or level, with the catalogue figures of §6 and the identity checks; the object that
  ``python -m tthc_core stats --json`` prints.
- :func:`catalogue`: the procedure catalogue figures (§6) by field or by authority level.
- :func:`list_dossiers`: the dossiers behind one cell of the table (drill-down), under the same
  conditions that count them.
- :func:`kpis`, :func:`identity_failures`, :func:`data_quality` (the QĐ 766 index: :mod:`tthc_core.qd766`).

The counting rules themselves (scope and every count, in SQL and by column) are in
:mod:`tthc_core.counting`; here they are grouped, labelled and checked. Aggregation runs in the
database (one GROUP BY per table), or over the columnar copy when the application turned that on for
its engine (:func:`tthc_core.columnar.use_fast_path`); Python only arranges the rows.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import Boolean, Engine, and_, case, distinct, func, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from . import columnar
from .auth import Scope, restrict
from .counting import (
    COUNT_KEYS,
    CountingSettings,
    bounds,
    column_grouped_counts,
    counting_settings,
    deadline_basis,
    deadline_basis_label,
    overdue_moment,
    sql_conditions,
    sql_grouped_counts,
    sql_scope,
    sum_counts,
    zero_counts,
)
from .db import get_engine
from .formatting import fmt_int, ratio_percent, vietnam_today
from .models import Agency, Dossier, Field, Procedure
from .periods import Period, parse_period

# Column numbers of form II.06a for each count (received_postal is not on the form).
FORM_COLUMNS = {
    "received_total": 3, "received_online": 4, "received_offline": 5, "carried_over": 6,
    "resolved_total": 7, "resolved_early": 8, "resolved_on_time": 9, "resolved_late": 10,
    "pending_total": 11, "pending_in_time": 12, "pending_overdue": 13,
}

COUNT_LABELS = {
    "received_total": "Tổng số hồ sơ tiếp nhận",
    "received_online": "Mới tiếp nhận trực tuyến",
    "received_offline": "Mới tiếp nhận trực tiếp và bưu chính",
    "received_postal": "Mới tiếp nhận qua bưu chính công ích",
    "carried_over": "Từ kỳ trước chuyển qua",
    "resolved_total": "Đã giải quyết",
    "resolved_early": "Giải quyết trước hạn",
    "resolved_on_time": "Giải quyết đúng hạn",
    "resolved_late": "Giải quyết quá hạn",
    "pending_total": "Đang giải quyết",
    "pending_in_time": "Đang giải quyết trong hạn",
    "pending_overdue": "Đang giải quyết quá hạn",
}

# domain.md §4 identities, written with the form's column numbers.
IDENTITIES = (
    ("col3 = col4 + col5 + col6", "received_total", ("received_online", "received_offline", "carried_over")),
    ("col3 = col7 + col11", "received_total", ("resolved_total", "pending_total")),
    ("col7 = col8 + col9 + col10", "resolved_total", ("resolved_early", "resolved_on_time", "resolved_late")),
    ("col11 = col12 + col13", "pending_total", ("pending_in_time", "pending_overdue")),
)

CATALOGUE_KEYS = (
    "total", "published", "publicized", "central", "local", "one_stop", "lien_thong", "postal",
    "online", "online_level3", "online_level4", "online_full", "online_partial", "four_on_site",
    "internal_process",
)

CATALOGUE_LABELS = {
    "total": "TTHC thuộc thẩm quyền",
    "published": "Đã công bố",
    "publicized": "Đã công khai",
    "central": "Do Trung ương quy định",
    "local": "Do địa phương quy định",
    "one_stop": "Một cửa",
    "lien_thong": "Một cửa liên thông",
    "postal": "Bưu chính công ích",
    "online": "Dịch vụ công trực tuyến",
    "online_level3": "Mức độ 3",
    "online_level4": "Mức độ 4",
    "online_full": "Toàn trình",
    "online_partial": "Một phần",
    "four_on_site": "4 tại chỗ",
    "internal_process": "Đã ban hành quy trình nội bộ",
}

LEVEL_LABELS = {"province": "Cấp tỉnh", "district": "Cấp huyện", "commune": "Cấp xã"}
NO_FIELD = "Chưa xác định lĩnh vực"
NO_PROCEDURE = "Chưa xác định thủ tục"
BY_CHOICES = ("field", "agency", "procedure", "level")


class StatsError(ValueError):
    """A request that cannot be answered (unknown agency, bad grouping); Vietnamese message."""


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

def _as_period(period: Period | str, mode: str) -> Period:
    return period if isinstance(period, Period) else parse_period(period, mode)


def _agency_codes(agency: str | Sequence[str] | None) -> list[str] | None:
    if agency is None or agency == "":
        return None
    if isinstance(agency, str):
        return [agency]
    return list(agency)


def _agency_ids(conn: Connection, codes: list[str] | None) -> list[int] | None:
    if codes is None:
        return None
    rows = conn.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes))).all()
    found = {r.code: r.id for r in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise StatsError(f"Không có cơ quan mã «{missing[0]}» trong cơ sở dữ liệu.")
    return list(found.values())


# --------------------------------------------------------------------------------------------
# Form II.06a
# --------------------------------------------------------------------------------------------

def grouped_counts(conn: Connection, period: Period, agency_ids: list[int] | None, by: str,
                   settings: CountingSettings, as_of: dt.date | None = None) -> dict[Any, dict[str, int]]:
    """``{group id: counts}`` for one period: from the columnar copy when the application turned the
    fast path on for this engine and the copy is ready, else in SQL (the same rules, counting.py)."""
    snap = columnar.fast_snapshot(conn)
    if snap is not None:
        return column_grouped_counts(snap, period, agency_ids, by, settings, as_of)
    return sql_grouped_counts(conn, period, agency_ids, by, settings, as_of)


def dossier_table(conn: Connection, period: Period, agency_ids: list[int] | None, by: str,
                  settings: CountingSettings, as_of: dt.date | None = None) -> dict[str, Any]:
    """``{"rows": [{"key", "label", <counts>}], "total": {<counts>}}`` for one period."""
    by_id = grouped_counts(conn, period, agency_ids, by, settings, as_of)
    rows = _label_rows(conn, by, by_id, agency_ids)
    return {"rows": rows, "total": sum_counts(rows)}


def _label_rows(conn: Connection, by: str, by_id: dict[Any, dict[str, int]],
                agency_ids: list[int] | None) -> list[dict[str, Any]]:
    """Turn ``{group id: counts}`` into ordered rows with a key and a Vietnamese label."""
    rows: list[dict[str, Any]] = []
    if by == "field":
        # Every field of the agency's catalogue is listed, with zeros where nothing was filed.
        catalogue_fields = select(Procedure.field_id).where(Procedure.field_id.is_not(None))
        if agency_ids is not None:
            catalogue_fields = catalogue_fields.where(Procedure.agency_id.in_(agency_ids))
        ids = set(conn.scalars(catalogue_fields)) | {i for i in by_id if i is not None}
        fields = conn.execute(select(Field.id, Field.name, Field.position).where(Field.id.in_(ids))).all()
        for f in sorted(fields, key=lambda f: (f.position, f.name)):
            rows.append({"key": f.name, "label": f.name, **by_id.get(f.id, zero_counts())})
        if None in by_id:
            rows.append({"key": NO_FIELD, "label": NO_FIELD, **by_id[None]})
    elif by in ("agency", "level"):
        stmt = select(Agency.id, Agency.code, Agency.name, Agency.level)
        if agency_ids is not None:
            stmt = stmt.where(Agency.id.in_(agency_ids))
        agencies = conn.execute(stmt.order_by(Agency.level, Agency.code)).all()
        if by == "agency":
            level_order = {lvl: i for i, lvl in enumerate(LEVEL_LABELS)}
            for a in sorted(agencies, key=lambda a: (level_order.get(a.level, 9), a.code)):
                rows.append({"key": a.code, "label": a.name, "level": a.level, **by_id.get(a.id, zero_counts())})
        else:
            for level, label in LEVEL_LABELS.items():
                members = [a for a in agencies if a.level == level]
                if not members:
                    continue
                rows.append({"key": level, "label": label,
                             **sum_counts(by_id.get(a.id, zero_counts()) for a in members)})
    elif by == "procedure":
        ids = [i for i in by_id if i is not None]
        procs = conn.execute(select(Procedure.id, Procedure.code, Procedure.name).where(Procedure.id.in_(ids))).all()
        for p in sorted(procs, key=lambda p: p.code):
            rows.append({"key": p.code, "label": p.name, **by_id[p.id]})
        if None in by_id:
            rows.append({"key": NO_PROCEDURE, "label": NO_PROCEDURE, **by_id[None]})
    return rows


def identity_failures(key: str, counts: dict[str, int]) -> list[dict[str, Any]]:
    """Every identity of domain.md §4 that ``counts`` breaks, as messages the UI can show."""
    failures = []
    for name, left_key, right_keys in IDENTITIES:
        left = counts.get(left_key, 0)
        right = sum(counts.get(k, 0) for k in right_keys)
        if left != right:
            parts = " + ".join(fmt_int(counts.get(k, 0)) for k in right_keys)
            failures.append({
                "row": key, "identity": name, "left": left, "right": right,
                "message": (f"Dòng «{key}»: {COUNT_LABELS[left_key].lower()} là {fmt_int(left)} nhưng "
                            f"tổng các thành phần là {parts} = {fmt_int(right)} ({name})."),
            })
    return failures


def catalogue_failures(figures: dict[str, int]) -> list[dict[str, Any]]:
    """The catalogue's own identity: central- plus local-regulated procedures make the total."""
    total, central, local = figures["total"], figures["central"], figures["local"]
    if central + local == total:
        return []
    return [{
        "row": "TTHC", "identity": "central + local = total", "left": total, "right": central + local,
        "message": (f"Số TTHC do Trung ương quy định ({fmt_int(central)}) cộng do địa phương quy định "
                    f"({fmt_int(local)}) bằng {fmt_int(central + local)}, khác tổng số {fmt_int(total)}."),
    }]


# --------------------------------------------------------------------------------------------
# Procedure catalogue (domain.md §6)
# --------------------------------------------------------------------------------------------

def catalogue_conditions() -> dict[str, ColumnElement[bool]]:
    p = Procedure.__table__.c
    # NĐ 42/2022: level 4 → toàn trình, level 3 → một phần; an explicit class wins over the level.
    full = or_(p.online_class == "full", and_(p.online_class.is_(None), p.online_level == 4))
    partial = or_(p.online_class == "partial", and_(p.online_class.is_(None), p.online_level == 3))
    return {
        "total": true(),
        "published": p.published == true(),
        "publicized": p.publicized == true(),
        "central": p.regulated_by == "central",
        "local": p.regulated_by == "local",
        "one_stop": p.one_stop == true(),
        "lien_thong": p.lien_thong == true(),
        "postal": p.postal == true(),
        "online": or_(p.online_level >= 1, p.online_class.is_not(None)),
        "online_level3": p.online_level == 3,
        "online_level4": p.online_level == 4,
        "online_full": full,
        "online_partial": partial,
        "four_on_site": p.four_on_site == true(),
        "internal_process": p.internal_process == true(),
    }


def active_at(at: dt.date) -> list[ColumnElement[bool]]:
    p = Procedure.__table__.c
    return [or_(p.active_from.is_(None), p.active_from <= at), or_(p.active_to.is_(None), p.active_to >= at)]


def list_agencies(db: str | Engine | None, scope: Scope | None = None) -> list[dict[str, str]]:
    """Agencies the caller may see (code, name, level): provinces first, then by name."""
    codes = restrict(scope, None)
    level_order = {level: i for i, level in enumerate(LEVEL_LABELS)}
    stmt = select(Agency.code, Agency.name, Agency.level)
    if codes is not None:
        stmt = stmt.where(Agency.code.in_(codes))
    with get_engine(db).connect() as conn:
        rows = conn.execute(stmt).all()
    return [dict(code=r.code, name=r.name, level=r.level)
            for r in sorted(rows, key=lambda r: (level_order.get(r.level, 9), r.name))]


def list_procedures(db: str | Engine | None, agency: str | Sequence[str] | None = None,
                    at: dt.date | None = None, scope: Scope | None = None) -> list[dict[str, Any]]:
    """The procedures under the agencies' authority at a date, with their flags, by field then code."""
    agency = restrict(scope, agency)
    p = Procedure.__table__.c
    stmt = (select(p.code, p.name, Field.name.label("field"), Agency.code.label("agency_code"),
                   Agency.name.label("agency_name"), p.authority_level, p.regulated_by, p.published, p.publicized,
                   p.one_stop, p.lien_thong, p.postal, p.online_level, p.online_class, p.four_on_site,
                   p.internal_process, p.processing_days, Field.position)
            .select_from(Procedure.__table__.join(Agency.__table__, Agency.id == p.agency_id)
                         .outerjoin(Field.__table__, Field.id == p.field_id))
            .where(*active_at(at or vietnam_today())))
    codes = _agency_codes(agency)
    if codes is not None:
        stmt = stmt.where(Agency.code.in_(codes))
    with get_engine(db).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    for row in rows:
        row["field"] = row["field"] or NO_FIELD
    return sorted(rows, key=lambda r: (r.pop("position") or 0, r["field"], r["code"]))


def catalogue_table(conn: Connection, agency_ids: list[int] | None, at: dt.date,
                    by: str | None = None) -> dict[str, Any]:
    """Catalogue figures at a date; with ``by`` = ``field`` or ``authority_level`` also per group."""
    p = Procedure.__table__.c
    sums = [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(key)
            for key, cond in catalogue_conditions().items()]
    where = active_at(at)
    if agency_ids is not None:
        where.append(p.agency_id.in_(agency_ids))
    total_row = conn.execute(select(*sums).where(*where)).one()
    total = {k: int(getattr(total_row, k)) for k in CATALOGUE_KEYS}
    rows: list[dict[str, Any]] = []
    if by == "field":
        result = conn.execute(select(p.field_id.label("gid"), *sums).where(*where).group_by(p.field_id))
        by_id = {r.gid: {k: int(getattr(r, k)) for k in CATALOGUE_KEYS} for r in result}
        fields = conn.execute(select(Field.id, Field.name, Field.position)
                              .where(Field.id.in_([i for i in by_id if i is not None]))).all()
        for f in sorted(fields, key=lambda f: (f.position, f.name)):
            rows.append({"key": f.name, "label": f.name, **by_id[f.id]})
        if None in by_id:
            rows.append({"key": NO_FIELD, "label": NO_FIELD, **by_id[None]})
    elif by == "authority_level":
        result = conn.execute(select(p.authority_level.label("gid"), *sums).where(*where)
                              .group_by(p.authority_level))
        by_level = {r.gid: {k: int(getattr(r, k)) for k in CATALOGUE_KEYS} for r in result}
        for level, label in LEVEL_LABELS.items():
            rows.append({"key": level, "label": label,
                         **by_level.get(level, {k: 0 for k in CATALOGUE_KEYS})})
    elif by is not None:
        raise StatsError(f"Không nhóm được danh mục theo «{by}».")
    return {"rows": rows, "total": total}


def catalogue(db: str | Engine | None, agency: str | Sequence[str] | None = None,
              at: dt.date | None = None, by: str | None = None,
              scope: Scope | None = None) -> dict[str, Any]:
    """Public wrapper of :func:`catalogue_table` (a URL or engine, agency codes, a date)."""
    agency = restrict(scope, agency)
    with get_engine(db).connect() as conn:
        ids = _agency_ids(conn, _agency_codes(agency))
        return catalogue_table(conn, ids, at or vietnam_today(), by)


# --------------------------------------------------------------------------------------------
# The public entry point
# --------------------------------------------------------------------------------------------

def compute_stats(db: str | Engine | None, period: Period | str, mode: str = "report",
                  agency: str | Sequence[str] | None = None, by: str = "field",
                  withdrawn_returned: str | None = None, as_of: dt.date | None = None,
                  scope: Scope | None = None) -> dict[str, Any]:
    """The object of ``stats --json``: period, agency, dossiers (rows and total), procedures, checks.

    ``agency`` is a code, a list of codes (a viewer's scope) or ``None`` for every agency. The catalogue
    figures are taken at the period's last day. ``as_of`` (default today) only matters for a period
    that has not ended: open dossiers are judged overdue at the end of that day, not at the cut-off.
    """
    agency = restrict(scope, agency)
    if by not in BY_CHOICES:
        raise StatsError(f"Không nhóm được theo «{by}» (chọn field, agency, procedure hoặc level).")
    period = _as_period(period, mode)
    with get_engine(db).connect() as conn:
        codes = _agency_codes(agency)
        ids = _agency_ids(conn, codes)
        dossiers = dossier_table(conn, period, ids, by, counting_settings(conn, withdrawn_returned), as_of)
        procedures = catalogue_table(conn, ids, period.end)["total"]
    from .checks import checks  # the one list of checks (checks.py imports this module)

    return {
        "period": period.to_dict(),
        "agency": codes[0] if codes and len(codes) == 1 else (codes or None),
        "dossiers": dossiers,
        "procedures": procedures,
        "checks": checks({"dossiers": dossiers, "procedures": procedures}),
    }


def compute_totals(db: str | Engine | None, period: Period | str, mode: str = "report",
                   agency: str | Sequence[str] | None = None, as_of: dt.date | None = None,
                   scope: Scope | None = None) -> dict[str, int]:
    """Only the total row of II.06a (for KPI series); same rules as :func:`compute_stats`."""
    agency = restrict(scope, agency)
    period = _as_period(period, mode)
    with get_engine(db).connect() as conn:
        ids = _agency_ids(conn, _agency_codes(agency))
        by_id = grouped_counts(conn, period, ids, "agency", counting_settings(conn), as_of)
    return sum_counts(by_id.values())


def series(db: str | Engine | None, period: Period | str, count: int = 6, mode: str = "report",
           agency: str | Sequence[str] | None = None,
           as_of: dt.date | None = None, scope: Scope | None = None) -> list[tuple[Period, dict[str, int]]]:
    """Totals of the ``count`` periods ending with ``period`` (oldest first), for sparklines and trends."""
    agency = restrict(scope, agency)
    period = _as_period(period, mode)
    periods = [period.shifted(-i) for i in range(count - 1, -1, -1)]
    return [(p, compute_totals(db, p, agency=agency, as_of=as_of)) for p in periods]  # agency already restricted


def continuity_failures(db: str | Engine | None, period: Period | str, mode: str = "report",
                        agency: str | Sequence[str] | None = None,
                        carried_over: int | None = None, scope: Scope | None = None) -> list[dict[str, Any]]:
    """Pending at the end of the previous period must equal this period's carried over (domain.md §4).

    ``carried_over`` defaults to the live figure; pass a frozen one to check a signed report.
    """
    agency = restrict(scope, agency)
    period = _as_period(period, mode)
    if period.kind == "custom":
        previous = parse_period(f"{period.start.replace(year=period.start.year - 1).isoformat()}.."
                                f"{(period.start - dt.timedelta(days=1)).isoformat()}", period.mode)
    else:
        previous = period.previous()
    pending_before = compute_totals(db, previous, agency=agency)["pending_total"]
    carried = compute_totals(db, period, agency=agency)["carried_over"] if carried_over is None else carried_over
    if pending_before == carried:
        return []
    return [{
        "row": "Tổng cộng", "identity": "pending(previous) = carried_over", "left": carried,
        "right": pending_before,
        "message": (f"Số hồ sơ từ kỳ trước chuyển qua ({fmt_int(carried)}) khác số hồ sơ đang giải quyết "
                    f"cuối {previous.name.lower()} ({fmt_int(pending_before)})."),
    }]


# --------------------------------------------------------------------------------------------
# KPIs and indices
# --------------------------------------------------------------------------------------------

def kpis(counts: dict[str, int]) -> dict[str, Decimal | int | None]:
    """Director's KPIs from a counts row: shares as percentages (Decimal, 2 places) or ``None``."""
    new = counts["received_online"] + counts["received_offline"]
    return {
        "received_total": counts["received_total"],
        "received_new": new,
        "resolved_total": counts["resolved_total"],
        "on_time_rate": ratio_percent(counts["resolved_early"] + counts["resolved_on_time"],
                                      counts["resolved_total"]),
        "pending_overdue": counts["pending_overdue"],
        "online_share": ratio_percent(counts["received_online"], new),
        "postal_share": ratio_percent(counts["received_postal"], new),
    }


def league(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups with dossiers and their KPIs, the one dragging most first: lowest on-time rate, then most
    dossiers overdue; groups with nothing resolved go last."""
    ranked = [{**row, **kpis(row)} for row in rows if row["received_total"]]
    return sorted(ranked, key=lambda r: (r["on_time_rate"] is None,
                                         r["on_time_rate"] if r["on_time_rate"] is not None else Decimal(0),
                                         -r["pending_overdue"], r["label"]))


# --------------------------------------------------------------------------------------------
# Drill-down and data quality
# --------------------------------------------------------------------------------------------

def list_dossiers(db: str | Engine | None, period: Period | str, mode: str = "report",
                  agency: str | Sequence[str] | None = None, count_key: str = "received_total",
                  group_by: str | None = None, group_key: str | None = None,
                  limit: int | None = 5000, as_of: dt.date | None = None,
                  scope: Scope | None = None) -> list[dict[str, Any]]:
    """The dossiers behind one cell of II.06a: ``count_key`` (a column) and optionally one row.

    ``group_by``/``group_key`` select the row the same way :func:`compute_stats` keys it (a field name,
    an agency code, a procedure code). Days late are calendar days past the deadline, at resolution,
    or at the cut-off (today for a running period) for open dossiers.
    """
    agency = restrict(scope, agency)
    if count_key not in COUNT_KEYS:
        raise StatsError(f"Không có chỉ tiêu «{count_key}».")
    period = _as_period(period, mode)
    d = Dossier.__table__.c
    start, cutoff = bounds(period)
    with get_engine(db).connect() as conn:
        ids = _agency_ids(conn, _agency_codes(agency))
        settings = counting_settings(conn)
        stmt = (
            select(d.code, Agency.code.label("agency_code"), Procedure.code.label("procedure_code"),
                   Procedure.name.label("procedure_name"), Field.name.label("field"), d.channel, d.status,
                   d.received_at, d.due_at, d.resolved_at, d.deadline_at, d.resolution)
            .select_from(Dossier.__table__
                         .join(Agency.__table__, Agency.id == d.agency_id)
                         .outerjoin(Procedure.__table__, Procedure.id == d.procedure_id)
                         .outerjoin(Field.__table__, Field.id == d.field_id))
            .where(*sql_scope(period, ids, settings), sql_conditions(period, as_of, settings)[count_key])
            .order_by(d.received_at, d.code)
        )
        if group_by == "field":
            stmt = stmt.where(d.field_id.is_(None) if group_key == NO_FIELD else Field.name == group_key)
        elif group_by == "agency":
            stmt = stmt.where(Agency.code == group_key)
        elif group_by == "procedure":
            stmt = stmt.where(d.procedure_id.is_(None) if group_key == NO_PROCEDURE
                              else Procedure.code == group_key)
        if limit:
            stmt = stmt.limit(limit)
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    judged_at = overdue_moment(period, as_of)
    for row in rows:
        row["days_late"] = _days_late(row, cutoff, judged_at)
    return rows


def _days_late(row: dict[str, Any], cutoff: dt.datetime, judged_at: dt.datetime) -> int:
    """Whole days (rounded up) past the deadline: at resolution, or at the cut-off while pending."""
    deadline, resolved_at = row["deadline_at"], row["resolved_at"]
    if deadline is None:
        return 0
    if resolved_at is not None and resolved_at < cutoff:
        end = resolved_at if row["resolution"] == "late" else deadline
    elif row["status"] == "suspended":
        return 0
    else:
        end = judged_at
    late = end - deadline
    if late <= dt.timedelta(0):
        return 0
    return late.days + (1 if late.seconds or late.microseconds else 0)


def data_quality(db: str | Engine | None, agency: str | Sequence[str] | None = None,
                 scope: Scope | None = None) -> dict[str, Any]:
    """Counts an officer should look at before signing: missing due dates, unknown procedures, records
    never accepted or refused, …; and the deadline basis the figures are computed on."""
    agency = restrict(scope, agency)
    d = Dossier.__table__.c
    with get_engine(db).connect() as conn:
        ids = _agency_ids(conn, _agency_codes(agency))
        where = [d.agency_id.in_(ids)] if ids is not None else []
        row = conn.execute(select(
            func.count().label("dossiers"),
            func.coalesce(func.sum(case((d.due_at.is_(None), 1), else_=0)), 0).label("missing_due"),
            func.coalesce(func.sum(case((d.due_estimated == true(), 1), else_=0)), 0).label("estimated_due"),
            func.coalesce(func.sum(case((d.procedure_id.is_(None), 1), else_=0)), 0).label("unknown_procedure"),
            func.coalesce(func.sum(case((d.field_id.is_(None), 1), else_=0)), 0).label("unknown_field"),
            # domain.md §4b: never accepted / refused records stay outside II.06a; shown here.
            func.coalesce(func.sum(case((d.intake == "not_accepted", 1), else_=0)), 0).label("not_accepted"),
            func.coalesce(func.sum(case((d.intake == "refused", 1), else_=0)), 0).label("refused"),
            func.min(d.received_at).label("first_received"),
            func.max(func.coalesce(d.resolved_at, d.received_at)).label("last_activity"),
        ).where(*where)).one()
        basis = deadline_basis(conn)
    return {**row._mapping, "deadline_basis": basis, "deadline_basis_label": deadline_basis_label(basis)}


def data_until(db: str | Engine | None, now: dt.datetime, agency: str | Sequence[str] | None = None,
               scope: Scope | None = None) -> dict[str, Any]:
    """How far the data reaches: the latest reception or resolution recorded at or before ``now``
    (Vietnam time, naive, as the data stores it), and how many dossiers carry such a date after ``now``
    (a date typed wrong, or a deadline entered as an event): those never make the data look newer.

    Each column is read on its own through its index, so this stays quick on millions of dossiers.
    """
    agency = restrict(scope, agency)
    d = Dossier.__table__.c
    with get_engine(db).connect() as conn:
        ids = _agency_ids(conn, _agency_codes(agency))
        where = [d.agency_id.in_(ids)] if ids is not None else []
        latest = [conn.scalar(select(func.max(column)).where(column <= now, *where))
                  for column in (d.received_at, d.resolved_at)]
        later = conn.scalar(select(func.count()).where(or_(d.received_at > now, d.resolved_at > now), *where))
    found = [moment for moment in latest if moment is not None]
    return {"until": max(found) if found else None, "later": int(later or 0), "now": now}


# --------------------------------------------------------------------------------------------
# Figures per procedure, per mechanism and per field (moved from the UI glue; issue 15 item 2)
# --------------------------------------------------------------------------------------------

MECHANISMS = {"one_stop": "Một cửa", "lien_thong": "Một cửa liên thông", "four_on_site": "4 tại chỗ"}


def offers_online_service(procedure: dict[str, Any]) -> bool:
    """Row form of ``catalogue_conditions()["online_full"] | ["online_partial"]``: level 3/4 or class
    toàn trình / một phần (NĐ 42/2022), what QĐ 766 "A" counts as offered online."""
    return procedure["online_class"] in ("full", "partial") or procedure["online_level"] in (3, 4)


def procedure_results(db: str | Engine | None, period: Period | str, mode: str = "report",
                      agency: str | Sequence[str] | None = None, as_of: dt.date | None = None,
                      scope: Scope | None = None) -> list[dict[str, Any]]:
    """Each procedure of the catalogue (at the period's end) with its II.06a counts in the period;
    zeros when none was filed."""
    agency = restrict(scope, agency)
    period = _as_period(period, mode)
    counted = compute_stats(db, period, agency=agency, by="procedure", as_of=as_of)["dossiers"]["rows"]
    by_code = {r["key"]: r for r in counted}
    zero = zero_counts()
    return [{**proc, **{k: by_code.get(proc["code"], zero)[k] for k in COUNT_KEYS}}
            for proc in list_procedures(db, agency, at=period.end)]


def mechanism_results(procedures: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dossier counts of the procedures under each mechanism (one-stop, liên thông, 4 tại chỗ), from
    :func:`procedure_results`."""
    rows = []
    for key, label in MECHANISMS.items():
        members = [r for r in procedures if r[key]]
        rows.append({"key": key, "label": label, "procedures": len(members), **sum_counts(members)})
    return rows


def online_by_field(db: str | Engine | None, period: Period | str, mode: str = "report",
                    agency: str | Sequence[str] | None = None, as_of: dt.date | None = None,
                    scope: Scope | None = None) -> list[dict[str, Any]]:
    """Per field: procedures offered online at level 3/4 (toàn trình / một phần) against the share of
    new dossiers really filed online, with postal figures alongside."""
    agency = restrict(scope, agency)
    period = _as_period(period, mode)
    dossier_rows = {r["label"]: r for r in compute_stats(db, period, agency=agency, as_of=as_of)["dossiers"]["rows"]}
    rows = []
    for cat in catalogue(db, agency, at=period.end, by="field")["rows"]:
        counts = dossier_rows.get(cat["label"], zero_counts())
        figures = kpis(counts)
        offered = cat["online_full"] + cat["online_partial"]  # QĐ 766 3.1, as in tthc_core.qd766
        rows.append({
            "label": cat["label"], "procedures": cat["total"], "offered": offered, "postal_procedures": cat["postal"],
            "offered_share": ratio_percent(offered, cat["total"]), "received_new": figures["received_new"],
            "received_online": counts["received_online"], "received_postal": counts["received_postal"],
            "online_share": figures["online_share"], "postal_share": figures["postal_share"],
        })
    return rows
