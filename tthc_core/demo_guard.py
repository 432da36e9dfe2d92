"""The demo stays the reference (issue 13 item 4): who may write to it, and whether it still is.

The demo database is open without sign-in so anyone can look at it; a write from an anonymous
visitor — an import, a freeze, report inputs — would change the figures every other visitor is shown
as the reference (3.238 / 2.525 / 713 for Sở LĐTBXH, quarter II/2022, domain.md §8). So on the demo
only an administrator who has signed in writes; everyone else gets :data:`REFUSED`. Whether the
database still reproduces the reference is measured, never assumed, so the banner can say so.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from .auth import Scope
from .demo import REF, REF_AGENCY, REF_END, REF_START, build_demo, is_demo
from .periods import parse_period
from .stats import compute_totals

REFERENCE_PERIOD = "2022-Q2"
REFERENCE = {"received_total": REF["online"] + REF["offline"] + REF["carried"],
             "resolved_total": REF["early"] + REF["on_time"], "pending_total": REF["pending"]}
REFUSED = ("Đây là cơ sở dữ liệu minh họa, dùng chung làm số liệu đối chiếu: chỉ quản trị viên đã đăng nhập "
           "mới được nhập dữ liệu, nhập số liệu báo cáo hoặc chốt số liệu. Để thử với dữ liệu của đơn vị, chạy "
           "ứng dụng trên một cơ sở dữ liệu riêng (biến TTHC_DATABASE_URL).")


def signed_in_admin(scope: Scope | None) -> bool:
    """An administrator who signed in (the open scope of the demo is an admin role with no name)."""
    return scope is not None and scope.role == "admin" and bool(scope.username)


def write_refusal(db: str | Engine | None, scope: Scope | None) -> str | None:
    """Why ``scope`` may not write to ``db``: :data:`REFUSED` on the demo unless a signed-in admin."""
    if signed_in_admin(scope) or not is_demo(db):
        return None
    return REFUSED


def reference_figures(db: str | Engine | None) -> dict[str, Any]:
    """The reference quarter as the database holds it now, and whether it equals the reference."""
    period = parse_period(REFERENCE_PERIOD, "report")
    assert (period.start, period.end) == (REF_START, REF_END)
    total = compute_totals(db, period, agency=REF_AGENCY)
    held = {k: total[k] for k in REFERENCE}
    return {"held": held, "reference": REFERENCE, "reproduced": held == REFERENCE}


def reset_demo(db: str | Engine | None, today: dt.date | None = None) -> dict[str, Any]:
    """Rebuild the demo from its seed (only on a demo database: never wipes real data)."""
    if not is_demo(db):
        raise PermissionError("Chỉ khôi phục được cơ sở dữ liệu minh họa.")
    return build_demo(db, today=today)
