"""Who a report is about and who may change it: the agency rows in scope, the edit permission.

Shared by the report inputs, the figures, the freeze and the agency profile.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from ..auth import Scope, edit_agency, report_agency
from ..db import get_engine
from ..models import Agency
from ..periods import Period, parse_period
from ..stats import LEVEL_LABELS, StatsError

PROVINCE_NAME = "Toàn tỉnh"
TOTAL_LABEL = "Tổng cộng"


class ReportError(ValueError):
    """A report action that cannot be done (freezing a running period, unbalanced figures)."""


def may_edit(scope: Scope | None, agency: str | None) -> None:
    """Report inputs, the profile and freezing: importing roles only, within their agencies; a
    province-wide report only for province-wide accounts (auth.edit_agency, issue 14 item 4)."""
    edit_agency(scope, agency)


def as_period(period: Period | str, mode: str) -> Period:
    return period if isinstance(period, Period) else parse_period(period, mode)


def agency_row(conn, code: str) -> Any:
    row = conn.execute(select(Agency.id, Agency.code, Agency.name, Agency.level).where(Agency.code == code)).first()
    if row is None:
        raise StatsError(f"Không có cơ quan mã «{code}» trong cơ sở dữ liệu.")
    return row


def agencies_in_scope(db: str | Engine | None, agency: str | None) -> list[dict[str, Any]]:
    """The agencies in scope (one, or every agency of the province), ordered tỉnh → huyện → xã."""
    order = {level: i for i, level in enumerate(LEVEL_LABELS)}
    with get_engine(db).connect() as conn:
        if agency:
            rows = [agency_row(conn, agency)]
        else:
            rows = conn.execute(select(Agency.id, Agency.code, Agency.name, Agency.level)).all()
    return sorted(({"code": r.code, "name": r.name, "level": r.level} for r in rows),
                  key=lambda a: (order.get(a["level"], 9), a["code"]))
