"""Cards: the director's five KPI cards (a live fragment), plain figure rows, the checks banner."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, Sequence

import streamlit as st

from .. import charts, stats
from ..formatting import fmt_delta, fmt_int, fmt_percent
from . import queries
from .frame import shown_errors
from .sidebar import Filters

# How often the KPI cards reread the data on their own (an import elsewhere shows without a rerun).
# Streamlit's duration syntax ("30s", "2m"); the browser tests set a short one.
KPI_REFRESH_ENV = "TTHC_KPI_REFRESH"
KPI_REFRESH = os.environ.get(KPI_REFRESH_ENV, "30s")


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    percent: bool
    delta_color: str  # "normal": up is good; "inverse": up is bad
    help: str


KPIS = (
    Kpi("received_total", "Hồ sơ tiếp nhận", False, "off",
        "Tổng số hồ sơ trong kỳ (cột 3 biểu II.06a): mới tiếp nhận trực tuyến, trực tiếp, bưu chính và từ kỳ "
        "trước chuyển qua."),
    Kpi("resolved_total", "Đã giải quyết", False, "normal",
        "Hồ sơ có kết quả trong kỳ (cột 7), gồm trước hạn, đúng hạn và quá hạn."),
    Kpi("on_time_rate", "Tỷ lệ đúng hạn", True, "normal",
        "(Trước hạn + đúng hạn) ÷ đã giải quyết. Hồ sơ rút, trả lại được tính đúng hạn theo thực tiễn của tỉnh."),
    Kpi("pending_overdue", "Đang quá hạn", False, "inverse",
        "Hồ sơ chưa có kết quả đã quá hạn hẹn trả (cột 13), tính tại cuối kỳ, hoặc hôm nay nếu kỳ chưa kết thúc."),
    Kpi("online_share", "Nộp trực tuyến", True, "normal",
        "Hồ sơ mới tiếp nhận trực tuyến ÷ tổng số hồ sơ mới tiếp nhận trong kỳ (cột 4 ÷ (cột 4 + cột 5))."),
)


def _kpi_value(kpi: Kpi, value: Any) -> str:
    return fmt_percent(value) if kpi.percent else fmt_int(value)


def _kpi_delta(kpi: Kpi, now: Any, before: Any) -> str | int | None:
    """Change against the previous period: dossiers, or percentage points for a rate; the number 0
    (not a string) when flat, so Streamlit draws it grey without an arrow."""
    if now is None or before is None:
        return None
    change = now - before
    if change == 0:
        return 0
    return fmt_delta(change, places=2, unit=" điểm %") if kpi.percent else fmt_delta(change)


def _kpi_detail(key: str, counts: dict[str, int]) -> str:
    """The small line under a card: what the number is made of."""
    figures = stats.kpis(counts)
    if key == "received_total":
        return f"Mới {fmt_int(figures['received_new'])} · kỳ trước chuyển qua {fmt_int(counts['carried_over'])}"
    if key == "resolved_total":
        return (f"Trước hạn {fmt_int(counts['resolved_early'])} · đúng hạn {fmt_int(counts['resolved_on_time'])}"
                f" · quá hạn {fmt_int(counts['resolved_late'])}")
    if key == "on_time_rate":
        return (f"(Trước hạn {fmt_int(counts['resolved_early'])} + đúng hạn {fmt_int(counts['resolved_on_time'])}) "
                f"÷ {fmt_int(counts['resolved_total'])} đã giải quyết")
    if key == "pending_overdue":
        return f"trên {fmt_int(counts['pending_total'])} hồ sơ đang giải quyết"
    return f"{fmt_int(counts['received_online'])} / {fmt_int(figures['received_new'])} hồ sơ mới"


def kpi_cards(f: Filters) -> None:
    """The five director's KPIs with the change against the previous period and a sparkline of the
    last six periods. Refreshes on its own every :data:`KPI_REFRESH`."""
    _live_kpi_cards(f)


@st.fragment(run_every=KPI_REFRESH)
def _live_kpi_cards(f: Filters) -> None:
    # The fragment reruns on its own, outside run_page: it guards itself.
    with shown_errors("các chỉ số"):
        live = f.refreshed()
        periods = queries.history(live)
        (_, now_counts), (previous, before_counts) = periods[-1], periods[-2]
        now, before = stats.kpis(now_counts), stats.kpis(before_counts)
        trend = [stats.kpis(c) for _, c in periods]
        st.caption(f"Mũi tên: thay đổi so với {previous.name} · đường nhỏ: {len(periods)} kỳ gần nhất, "
                   f"từ {periods[0][0].short_name} đến {periods[-1][0].short_name}.")
        grid = card_grid(len(KPIS), f.meeting)
        for kpi in KPIS:
            with grid.cell():
                st.metric(
                    kpi.label, _kpi_value(kpi, now[kpi.key]), delta=_kpi_delta(kpi, now[kpi.key], before[kpi.key]),
                    delta_color=kpi.delta_color, help=kpi.help,
                    chart_data=charts.sparkline_values(k[kpi.key] for k in trend), chart_type="area",
                )
                st.caption(_kpi_detail(kpi.key, now_counts))
        if live.version != f.version:
            st.caption(f"Số liệu vừa được cập nhật ({dt.datetime.now():%H:%M}); các bảng bên dưới cập nhật khi tải "
                       "lại trang.")


def checks_banner(f: Filters) -> None:
    """The identity checks of domain.md §4, as a warning when any is broken (nothing when all hold)."""
    found = queries.checks(f)
    if not found:
        return
    lines = "\n".join(f"- {c['message']}" for c in found[:6])
    more = f"\n- … và {fmt_int(len(found) - 6)} cảnh báo khác." if len(found) > 6 else ""
    st.warning(f"**Số liệu chưa khớp ({fmt_int(len(found))} kiểm tra không đạt)** — cần rà soát trước khi ký báo "
               f"cáo:\n{lines}{more}", icon=":material/rule:")


def card_grid(count: int, meeting: bool = False) -> Any:
    """A grid of bordered cards that wraps on narrow screens instead of cutting «100,00 %» short."""
    return st.grid(count, min_column_width=235 if meeting else 150, border=True, gap="small")


def metric_row(items: Sequence[tuple[str, str, str | None]], per_row: int = 4) -> None:
    """Plain bordered figures, (label, formatted value, caption or None), at most ``per_row`` a row
    and as evenly spread as possible (six make two rows of three)."""
    rows = -(-len(items) // per_row)
    grid = card_grid(-(-len(items) // rows) if items else 1)
    for label, value, caption in items:
        with grid.cell():
            st.metric(label, value)
            if caption:
                st.caption(caption)


def dossier_metrics(total: dict[str, int]) -> list[tuple[str, str, str]]:
    """The three dossier cards of a report view: received, resolved, pending, each with its parts."""
    return [
        ("Tổng số hồ sơ tiếp nhận", fmt_int(total["received_total"]),
         f"Trực tuyến {fmt_int(total['received_online'])} · trực tiếp, bưu chính {fmt_int(total['received_offline'])}"
         f" · kỳ trước {fmt_int(total['carried_over'])}"),
        ("Đã giải quyết", fmt_int(total["resolved_total"]),
         f"Trước hạn {fmt_int(total['resolved_early'])} · đúng hạn {fmt_int(total['resolved_on_time'])} · quá hạn "
         f"{fmt_int(total['resolved_late'])}"),
        ("Đang giải quyết", fmt_int(total["pending_total"]),
         f"Trong hạn {fmt_int(total['pending_in_time'])} · quá hạn {fmt_int(total['pending_overdue'])}"),
    ]
