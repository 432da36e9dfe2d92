"""Plotly figures of the dashboard: pure functions, data in, figure out (no Streamlit here).

Every figure follows the same rules, so a chart projected on a wall reads like the one on a laptop:

- one colour per meaning for the whole app (:data:`COLORS`): resolved early / on time are greens,
  late is red, pending in time is blue, pending overdue is orange; online / direct / postal channels
  always have their own colour;
- a Vietnamese title stating the unit, and a subtitle with the scope and the period
  (:class:`ChartContext`); Vietnamese axis labels;
- numbers formatted on the server: ``layout.separators`` makes Plotly print ``3.238`` and ``59,38``
  whatever the browser's language, and bar texts and hover labels are built with
  :mod:`tthc_core.formatting`;
- ``meeting=True`` (meeting mode) enlarges fonts and the figure.
"""
from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .formatting import PLOTLY_SEPARATORS, fmt_decimal, fmt_int, fmt_percent, fmt_share
from .periods import Period
from .stats import CATALOGUE_LABELS, kpis

# One colour per meaning, on every page.
COLORS = {
    "resolved_early": "#1e6b45",
    "resolved_on_time": "#52a36f",
    "resolved_late": "#c53030",
    "pending_in_time": "#3b7dd8",
    "pending_overdue": "#dd6b20",
    "received_online": "#7b4fbf",
    "received_direct": "#8a97a8",
    "received_postal": "#c9a227",
    "carried_over": "#b8c2cf",
    "received_new": "#1d4f91",
    "resolved_total": "#2f855a",
    "on_time_rate": "#2f855a",
    "online_share": "#7b4fbf",
    "total": "#b8c2cf",
    "one_stop": "#1d4f91",
    "lien_thong": "#5b8fd6",
    "postal": "#c9a227",
    "online": "#7b4fbf",
    "online_level3": "#b39ddb",
    "online_level4": "#7b4fbf",
    "online_partial": "#b39ddb",
    "online_full": "#7b4fbf",
    "four_on_site": "#138a72",
    "offered_share": "#b39ddb",
}

# Short legend names of the counts (the long ones are stats.COUNT_LABELS).
SERIES_LABELS = {
    "resolved_early": "Giải quyết trước hạn",
    "resolved_on_time": "Giải quyết đúng hạn",
    "resolved_late": "Giải quyết quá hạn",
    "pending_in_time": "Đang giải quyết trong hạn",
    "pending_overdue": "Đang giải quyết quá hạn",
    "received_online": "Trực tuyến",
    "received_direct": "Trực tiếp",
    "received_postal": "Bưu chính công ích",
    "carried_over": "Từ kỳ trước chuyển qua",
    "received_new": "Tiếp nhận mới",
    "resolved_total": "Đã giải quyết",
    "on_time_rate": "Tỷ lệ đúng hạn",
    "online_share": "Tỷ lệ nộp trực tuyến",
}

OUTCOME_KEYS = ("resolved_early", "resolved_on_time", "resolved_late", "pending_in_time", "pending_overdue")
RESOLVED_KEYS = ("resolved_early", "resolved_on_time", "resolved_late")
PENDING_KEYS = ("pending_in_time", "pending_overdue")
CHANNEL_KEYS = ("received_online", "received_direct", "received_postal")

FONT_FAMILY = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


@dataclass(frozen=True)
class ChartContext:
    """What every chart states besides its data: the scope, the period, and how big to draw."""

    scope: str  # "Sở Lao động - Thương binh và Xã hội" or "Tất cả cơ quan"
    period: str  # Period.label: "Quý II năm 2022 (15/03/2022 – 14/06/2022)"
    meeting: bool = False

    @property
    def subtitle(self) -> str:
        return f"{self.scope} · {self.period}"

    @property
    def font_size(self) -> int:
        # Meeting mode: labels readable from the back of a room (≥ 20 px, issue 13).
        return 22 if self.meeting else 13

    @property
    def title_size(self) -> int:
        return self.font_size + (6 if self.meeting else 4)  # ≥ 28 px on a wall

    @property
    def top_rows(self) -> int:
        """How many bars a ranking draws: a wall shows fewer, each readable."""
        return MEETING_TOP_GROUPS if self.meeting else TOP_GROUPS

    def height(self, rows: int = 0, base: int = 420) -> int:
        """Taller for bar charts with many rows; in meeting mode about one projector screen under the
        page title, so one chart is one screen."""
        if self.meeting:
            return max(560, min(660, 140 + 46 * rows))
        return max(base, 140 + 30 * rows)


def with_direct(counts: dict[str, int]) -> dict[str, int]:
    """Counts plus ``received_direct``: new dossiers filed in person (offline minus postal)."""
    return {**counts, "received_direct": counts["received_offline"] - counts["received_postal"]}


def _wrap(label: str, width: int = 34, max_lines: int = 2) -> str:
    """Long field and procedure names on at most ``max_lines`` lines of an axis (the hover text
    keeps the full name)."""
    lines = textwrap.wrap(label, width) or [label]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "<br>".join(lines)


def _label(label: str, ctx: ChartContext, width: int = 34) -> str:
    """An axis label: wrapped on two lines at a desk, one abbreviated line on a wall (the hover text
    and the tables keep the full name)."""
    return _wrap(label, width + 8, max_lines=1) if ctx.meeting else _wrap(label, width)


def _subtitle(ctx: ChartContext) -> str:
    """Scope and period, on two lines when they would not fit a half-width chart."""
    width = 70 if ctx.meeting else 56
    return ctx.subtitle if len(ctx.subtitle) <= width else f"{ctx.scope}<br>{ctx.period}"


def _lines(labels: Sequence[str]) -> int:
    return max((label.count("<br>") + 1 for label in labels), default=1)


def _float(value: Decimal | int | float | None) -> float | None:
    return None if value is None else float(value)


def _title(text: str, ctx: ChartContext) -> str:
    """Bold title, wrapped on two lines when long (half-width charts are narrow)."""
    width = 70 if ctx.meeting else 56
    return "<br>".join(f"<b>{line}</b>" for line in textwrap.wrap(text, width))


def _layout(fig: go.Figure, ctx: ChartContext, title: str, *, x_title: str = "", y_title: str = "",
            height: int | None = None, legend: bool = True) -> go.Figure:
    size = ctx.font_size
    fig.update_layout(
        # Title and subtitle just above the plot area, pushing the margin as they need (long titles wrap).
        title=dict(text=_title(title, ctx), subtitle=dict(text=_subtitle(ctx), font=dict(size=size - 1, color="#5b6b7c")),
                   font=dict(size=ctx.title_size), x=0, xanchor="left", xref="container", yref="paper", y=1,
                   yanchor="bottom", pad=dict(b=(size + 10) * (1 + _subtitle(ctx).count("<br>")), l=4),
                   automargin=True),
        separators=PLOTLY_SEPARATORS,
        template="plotly_white",
        font=dict(family=FONT_FAMILY, size=size, color="#1f2933"),
        height=height or ctx.height(),
        margin=dict(t=16, l=10, r=24, b=10),
        showlegend=legend,
        # The legend at the bottom of the figure, under the axis title, whatever the width.
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0, xanchor="left",
                    font=dict(size=min(size, 20)), traceorder="normal", itemclick=False, itemdoubleclick=False),
        hoverlabel=dict(font=dict(size=size, family=FONT_FAMILY)),
        bargap=0.25,
        uniformtext=dict(minsize=size - 3, mode="hide"),
    )
    if x_title:
        fig.update_xaxes(title_text=x_title, title_font=dict(size=size))
    if y_title:
        fig.update_yaxes(title_text=y_title, title_font=dict(size=size))
    fig.update_xaxes(tickfont=dict(size=size), automargin=True)
    fig.update_yaxes(tickfont=dict(size=size), automargin=True)
    return fig


def _empty(fig: go.Figure, ctx: ChartContext, title: str, message: str = "Không có hồ sơ trong kỳ") -> go.Figure:
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=ctx.font_size + 2, color="#5b6b7c"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig = _layout(fig, ctx, title, legend=False, height=ctx.height(base=300))
    # Hidden axes push no margin, and Plotly's 20 px drag strips under the plot area would hang below
    # the figure (out of a meeting slide): room for them.
    return fig.update_layout(margin_b=24)


# --------------------------------------------------------------------------------------------
# Dossier counts by group (field, agency, procedure group)
# --------------------------------------------------------------------------------------------

TOP_GROUPS = 20
MEETING_TOP_GROUPS = 8  # readable bars on a 1280×720 projector too


def stacked_counts(rows: Sequence[dict[str, Any]], keys: Sequence[str], ctx: ChartContext, title: str,
                   group_title: str, value_title: str = "Số hồ sơ", top: int | None = None) -> go.Figure:
    """Horizontal stacked bars, one per row (``label`` + counts), one segment per count key.

    Rows where every key is zero are left out; the biggest row is drawn at the top, and only the
    ``top`` biggest are drawn (the title says so) — a chart of 109 procedures reads as nothing.
    """
    rows = [r for r in rows if any(r.get(k, 0) for k in keys)]
    fig = go.Figure()
    if not rows:
        return _empty(fig, ctx, title)
    rows = sorted(rows, key=lambda r: sum(r.get(k, 0) for k in keys))
    top = top or ctx.top_rows
    if len(rows) > top:
        title = f"{title}: {top} {group_title.lower()} nhiều hồ sơ nhất (trên {fmt_int(len(rows))})"
        rows = rows[-top:]
    labels = [_label(r["label"], ctx) for r in rows]
    totals = [sum(r.get(k, 0) for k in keys) for r in rows]
    for key in keys:
        values = [r.get(key, 0) for r in rows]
        fig.add_bar(
            y=labels, x=values, orientation="h", name=SERIES_LABELS.get(key, key),
            marker_color=COLORS.get(key), marker_line_width=0,
            text=[fmt_int(v) if v else "" for v in values], textangle=0,
            textposition="inside", insidetextanchor="middle",
            textfont=dict(color="white", size=ctx.font_size - 1),
            customdata=[[r["label"], fmt_int(v), fmt_share(v, t)] for r, v, t in zip(rows, values, totals)],
            hovertemplate=("%{customdata[0]}<br>" + SERIES_LABELS.get(key, key)
                           + ": <b>%{customdata[1]}</b> hồ sơ (%{customdata[2]})<extra></extra>"),
        )
    # The total at the end of each bar.
    fig.add_scatter(y=labels, x=totals, mode="text", text=[f"  {fmt_int(t)}" for t in totals],
                    textposition="middle right", showlegend=False, hoverinfo="skip", cliponaxis=False,
                    textfont=dict(size=ctx.font_size, color="#1f2933"))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=",d", rangemode="tozero", range=[0, max(totals) * 1.22])
    # Two-line names need taller rows.
    return _layout(fig, ctx, title, x_title=value_title, y_title=group_title,
                   height=ctx.height(round(len(rows) * (1 + 0.6 * (_lines(labels) - 1)))))


def resolution_by_group(rows: Sequence[dict[str, Any]], ctx: ChartContext, group_title: str = "Lĩnh vực") -> go.Figure:
    return stacked_counts(rows, RESOLVED_KEYS, ctx, f"Hồ sơ đã giải quyết theo {group_title.lower()} (hồ sơ)",
                          group_title)


def pending_by_group(rows: Sequence[dict[str, Any]], ctx: ChartContext, group_title: str = "Lĩnh vực") -> go.Figure:
    return stacked_counts(rows, PENDING_KEYS, ctx, f"Hồ sơ đang giải quyết theo {group_title.lower()} (hồ sơ)",
                          group_title)


def channels_by_group(rows: Sequence[dict[str, Any]], ctx: ChartContext, group_title: str = "Lĩnh vực") -> go.Figure:
    rows = [with_direct(r) for r in rows]
    return stacked_counts(rows, CHANNEL_KEYS, ctx,
                          f"Hồ sơ mới tiếp nhận theo kênh và {group_title.lower()} (hồ sơ)", group_title)


def outcomes_by_group(rows: Sequence[dict[str, Any]], ctx: ChartContext, title: str,
                      group_title: str) -> go.Figure:
    """Every dossier of col. 3 by its outcome: resolved early / on time / late, pending in time / overdue."""
    return stacked_counts(rows, OUTCOME_KEYS, ctx, title, group_title)


def outcome_donut(counts: dict[str, int], ctx: ChartContext) -> go.Figure:
    """The whole scope at a glance: where the period's dossiers stand, with the on-time rate inside."""
    title = "Tình trạng hồ sơ trong kỳ (hồ sơ)"
    fig = go.Figure()
    values = [counts[k] for k in OUTCOME_KEYS]
    if not any(values):
        return _empty(fig, ctx, title)
    rate = kpis(counts)["on_time_rate"]
    total = sum(values)
    fig.add_pie(
        labels=[SERIES_LABELS[k] for k in OUTCOME_KEYS], values=values, hole=0.62, sort=False,
        direction="clockwise", marker=dict(colors=[COLORS[k] for k in OUTCOME_KEYS], line=dict(color="white", width=2)),
        text=[fmt_int(v) if v / total > 0.04 else "" for v in values], textinfo="text",
        textfont=dict(size=ctx.font_size, color="white"),
        customdata=[[fmt_int(v), fmt_share(v, total)] for v in values],
        hovertemplate="%{label}: <b>%{customdata[0]}</b> hồ sơ (%{customdata[1]})<extra></extra>",
    )
    fig.add_annotation(text=f"<b>{fmt_percent(rate)}</b><br>đúng hạn", showarrow=False, x=0.5, y=0.5,
                       xref="paper", yref="paper", font=dict(size=ctx.font_size + 10, color=COLORS["on_time_rate"]))
    return _layout(fig, ctx, title, height=ctx.height(base=400))


def channel_donut(counts: dict[str, int], ctx: ChartContext) -> go.Figure:
    """New dossiers by channel: online, in person, public postal service."""
    title = "Hồ sơ mới tiếp nhận theo kênh (hồ sơ)"
    counts = with_direct(counts)
    fig = go.Figure()
    values = [counts[k] for k in CHANNEL_KEYS]
    total = sum(values)
    if not total:
        return _empty(fig, ctx, title)
    fig.add_pie(
        labels=[SERIES_LABELS[k] for k in CHANNEL_KEYS], values=values, hole=0.62, sort=False,
        direction="clockwise", marker=dict(colors=[COLORS[k] for k in CHANNEL_KEYS], line=dict(color="white", width=2)),
        text=[f"{fmt_int(v)}<br>{fmt_share(v, total)}" if v / total > 0.04 else "" for v in values],
        textinfo="text", textfont=dict(size=ctx.font_size - 1),
        customdata=[[fmt_int(v), fmt_share(v, total)] for v in values],
        hovertemplate="%{label}: <b>%{customdata[0]}</b> hồ sơ (%{customdata[1]})<extra></extra>",
    )
    fig.add_annotation(text=f"<b>{fmt_int(total)}</b><br>hồ sơ mới", showarrow=False, x=0.5, y=0.5,
                       xref="paper", yref="paper", font=dict(size=ctx.font_size + 8, color=COLORS["received_new"]))
    return _layout(fig, ctx, title, height=ctx.height(base=400))


# --------------------------------------------------------------------------------------------
# Trends
# --------------------------------------------------------------------------------------------

def monthly_trend(history: Sequence[tuple[Period, dict[str, int]]], ctx: ChartContext,
                  selected: tuple[dt.date, dt.date] | None = None) -> go.Figure:
    """New and resolved dossiers per month (bars, left axis) and the on-time rate (line, right axis).

    ``selected`` (start, end) shades the months of the selected period when the trend reaches further back.
    """
    title = "Diễn biến theo tháng: hồ sơ mới, đã giải quyết (hồ sơ) và tỷ lệ đúng hạn (%)"
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    if not history:
        return _empty(fig, ctx, title)
    x = [p.short_name for p, _ in history]
    figures = [kpis(c) for _, c in history]
    for key, values in (("received_new", [k["received_new"] for k in figures]),
                        ("resolved_total", [k["resolved_total"] for k in figures])):
        fig.add_bar(
            x=x, y=values, name=SERIES_LABELS[key], marker_color=COLORS[key], marker_line_width=0,
            customdata=[[p.label, fmt_int(v)] for (p, _), v in zip(history, values)],
            hovertemplate=("%{customdata[0]}<br>" + SERIES_LABELS[key]
                           + ": <b>%{customdata[1]}</b> hồ sơ<extra></extra>"),
            secondary_y=False,
        )
    rates = [_float(k["on_time_rate"]) for k in figures]
    fig.add_scatter(
        x=x, y=rates, name=SERIES_LABELS["on_time_rate"] + " (%)", mode="lines+markers",
        line=dict(color=COLORS["on_time_rate"], width=4 if ctx.meeting else 3, dash="dot"),
        marker=dict(size=10 if ctx.meeting else 7),
        customdata=[[p.label, fmt_percent(k["on_time_rate"])] for (p, _), k in zip(history, figures)],
        hovertemplate="%{customdata[0]}<br>Tỷ lệ đúng hạn: <b>%{customdata[1]}</b><extra></extra>",
        secondary_y=True,
    )
    if selected is not None:
        inside = [i for i, (p, _) in enumerate(history) if p.start >= selected[0] and p.end <= selected[1]]
        if inside and len(inside) < len(history):
            fig.add_vrect(x0=inside[0] - 0.5, x1=inside[-1] + 0.5, fillcolor="#1d4f91", opacity=0.06,
                          line_width=0, annotation_text="Kỳ đang xem", annotation_position="top left",
                          annotation_font_size=ctx.font_size - 1)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Tháng (kỳ báo cáo)" if history[0][0].mode == "report" else "Tháng", type="category")
    fig.update_yaxes(title_text="Số hồ sơ", tickformat=",d", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="Tỷ lệ đúng hạn (%)", range=[0, 125], tickvals=[0, 20, 40, 60, 80, 100],
                     ticksuffix=" %", showgrid=False, secondary_y=True)
    return _layout(fig, ctx, title, height=ctx.height(base=440))


# --------------------------------------------------------------------------------------------
# League table
# --------------------------------------------------------------------------------------------

def league(rows: Sequence[dict[str, Any]], ctx: ChartContext, group_title: str) -> go.Figure:
    """Two panels sharing the rows: on-time rate (%) and dossiers pending overdue now.

    ``rows`` carry ``label``, ``on_time_rate`` (Decimal or None), ``pending_overdue``, ``resolved_total``,
    in the order to show from the top (the unit dragging the most first).
    """
    title = f"Xếp hạng theo {group_title.lower()}: tỷ lệ đúng hạn và hồ sơ đang quá hạn"
    rows = [r for r in rows if r["resolved_total"] or r["pending_overdue"]]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.7, 0.3], horizontal_spacing=0.07)
    if not rows:
        return _empty(fig, ctx, title)
    rates = {r["on_time_rate"] for r in rows}
    if len(rows) > 1 and len(rates) == 1 and not any(r["pending_overdue"] for r in rows):
        # Identical bars rank nothing (seven bars of 100 % tell a director nothing): one sentence says
        # the one fact they would show, instead of the bars.
        group, rate = group_title.lower(), fmt_percent(next(iter(rates)))
        title = f"Xếp hạng theo {group}: mọi {group} cùng tỷ lệ đúng hạn {rate}, không có hồ sơ đang quá hạn"
        return _empty(fig, ctx, title, f"Cả {fmt_int(len(rows))} {group} như nhau: đúng hạn {rate}, không có hồ sơ "
                                       f"đang quá hạn.<br>Không có {group} nào phải xếp sau.")
    ordered = list(reversed(rows))  # Plotly draws the first category at the bottom
    labels = [_label(r["label"], ctx, 30) for r in ordered]
    fig.add_bar(
        y=labels, x=[_float(r["on_time_rate"]) or 0 for r in ordered], orientation="h",
        name=SERIES_LABELS["on_time_rate"], marker_color=COLORS["on_time_rate"], marker_line_width=0,
        text=[fmt_percent(r["on_time_rate"]) for r in ordered], textposition="inside", insidetextanchor="end",
        textfont=dict(color="white", size=ctx.font_size),
        customdata=[[r["label"], fmt_percent(r["on_time_rate"]), fmt_int(r["resolved_total"])] for r in ordered],
        hovertemplate="%{customdata[0]}<br>Đúng hạn: <b>%{customdata[1]}</b> của %{customdata[2]} hồ sơ đã giải quyết"
                      "<extra></extra>",
        row=1, col=1,
    )
    overdue = [r["pending_overdue"] for r in ordered]
    fig.add_bar(
        y=labels, x=overdue, orientation="h", name=SERIES_LABELS["pending_overdue"],
        marker_color=COLORS["pending_overdue"], marker_line_width=0, text=[fmt_int(v) for v in overdue],
        textposition="outside", cliponaxis=False, textfont=dict(size=ctx.font_size),
        customdata=[[r["label"], fmt_int(v)] for r, v in zip(ordered, overdue)],
        hovertemplate="%{customdata[0]}<br>Đang quá hạn: <b>%{customdata[1]}</b> hồ sơ<extra></extra>",
        row=1, col=2,
    )
    fig.update_xaxes(title_text="Tỷ lệ đúng hạn (%)", range=[0, 100.5], ticksuffix=" %", tickformat=",.0f",
                     dtick=20, row=1, col=1)
    fig.update_xaxes(title_text="Đang quá hạn (hồ sơ)", range=[0, max(overdue + [4]) * 1.35], tickformat=",d",
                     row=1, col=2)
    return _layout(fig, ctx, title, height=ctx.height(len(rows)), legend=False)


# --------------------------------------------------------------------------------------------
# Procedure catalogue
# --------------------------------------------------------------------------------------------

CATALOGUE_CHART_KEYS = ("one_stop", "lien_thong", "postal", "online", "online_level3", "online_level4",
                        "four_on_site")
CATALOGUE_CHART_LABELS = {
    "one_stop": "Một cửa",
    "lien_thong": "Một cửa liên thông",
    "postal": "Bưu chính công ích",
    "online": "Có trên Cổng DVC (mọi mức độ)",
    "online_level3": "Mức độ 3 (một phần)",
    "online_level4": "Mức độ 4 (toàn trình)",
    "four_on_site": "4 tại chỗ",
}


def catalogue_overview(total: dict[str, int], ctx: ChartContext) -> go.Figure:
    """How many of the procedures under authority go through each mechanism, with the share of all."""
    title = f"TTHC theo cơ chế thực hiện (thủ tục, trên tổng số {fmt_int(total['total'])})"
    fig = go.Figure()
    if not total["total"]:
        return _empty(fig, ctx, title, "Chưa có thủ tục trong danh mục")
    keys = list(reversed(CATALOGUE_CHART_KEYS))
    values = [total[k] for k in keys]
    fig.add_bar(
        y=[CATALOGUE_CHART_LABELS[k] for k in keys], x=values, orientation="h",
        marker_color=[COLORS[k] for k in keys], marker_line_width=0,
        text=[f"{fmt_int(v)} ({fmt_share(v, total['total'])})" for v in values], textposition="outside",
        cliponaxis=False,
        customdata=[[CATALOGUE_CHART_LABELS[k], fmt_int(v), fmt_share(v, total["total"])]
                    for k, v in zip(keys, values)],
        hovertemplate="%{customdata[0]}: <b>%{customdata[1]}</b> thủ tục (%{customdata[2]})<extra></extra>",
    )
    fig.update_xaxes(range=[0, total["total"] * 1.45], tickformat=",d")
    return _layout(fig, ctx, title, x_title="Số thủ tục", legend=False, height=ctx.height(len(keys)))


def catalogue_by_group(rows: Sequence[dict[str, Any]], ctx: ChartContext, group_title: str,
                       keys: Sequence[str] = ("total", "one_stop", "lien_thong", "four_on_site"),
                       largest_first: bool = True) -> go.Figure:
    """Grouped bars per field (or authority level, in the given order): total procedures and how many
    use each mechanism."""
    title = f"TTHC theo {group_title.lower()} và cơ chế thực hiện (thủ tục)"
    rows = [r for r in rows if r["total"]]
    fig = go.Figure()
    if not rows:
        return _empty(fig, ctx, title, "Chưa có thủ tục trong danh mục")
    ordered = sorted(rows, key=lambda r: r["total"]) if largest_first else list(reversed(rows))
    labels = [_label(r["label"], ctx) for r in ordered]
    for key in reversed(keys):
        values = [r[key] for r in ordered]
        fig.add_bar(
            y=labels, x=values, orientation="h", name=CATALOGUE_LABELS[key] if key != "total" else "Tổng số TTHC",
            marker_color=COLORS[key], marker_line_width=0,
            customdata=[[r["label"], fmt_int(v)] for r, v in zip(ordered, values)],
            hovertemplate="%{customdata[0]}<br>" + (CATALOGUE_LABELS[key] if key != "total" else "Tổng số")
                          + ": <b>%{customdata[1]}</b> thủ tục<extra></extra>",
        )
    fig.update_layout(barmode="group", bargroupgap=0.05)
    fig.update_xaxes(tickformat=",d")
    _layout(fig, ctx, title, x_title="Số thủ tục", y_title=group_title, height=ctx.height(len(rows) * 2, base=440))
    fig.update_layout(legend_traceorder="reversed")  # the legend reads like the bars, top down
    return fig


# --------------------------------------------------------------------------------------------
# Online public services and postal service
# --------------------------------------------------------------------------------------------

def online_gap(rows: Sequence[dict[str, Any]], ctx: ChartContext) -> go.Figure:
    """Availability against use, per field: share of procedures offered online (level 3/4) and share
    of new dossiers really filed online. ``rows``: ``label``, ``offered_share``, ``online_share`` (%),
    and the counts behind them for the hover text."""
    title = "DVC trực tuyến: khả năng cung cấp và thực tế sử dụng theo lĩnh vực (%)"
    rows = [r for r in rows if r["procedures"]]
    fig = go.Figure()
    if not rows:
        return _empty(fig, ctx, title, "Chưa có thủ tục trong danh mục")
    ordered = list(reversed(rows))
    labels = [_label(r["label"], ctx) for r in ordered]
    fig.add_bar(
        y=labels, x=[_float(r["offered_share"]) for r in ordered], orientation="h",
        name="TTHC có DVC trực tuyến mức độ 3, 4", marker_color=COLORS["offered_share"],
        text=[fmt_percent(r["offered_share"]) for r in ordered], textposition="outside", cliponaxis=False,
        customdata=[[r["label"], fmt_int(r["offered"]), fmt_int(r["procedures"])] for r in ordered],
        hovertemplate="%{customdata[0]}<br>%{customdata[1]} / %{customdata[2]} thủ tục có DVC trực tuyến mức độ 3, 4"
                      "<extra></extra>",
    )
    fig.add_bar(
        y=labels, x=[_float(r["online_share"]) or 0 for r in ordered], orientation="h",
        name="Hồ sơ mới nộp trực tuyến", marker_color=COLORS["online_share"],
        text=[fmt_percent(r["online_share"]) for r in ordered], textposition="outside", cliponaxis=False,
        customdata=[[r["label"], fmt_int(r["received_online"]), fmt_int(r["received_new"])] for r in ordered],
        hovertemplate="%{customdata[0]}<br>%{customdata[1]} / %{customdata[2]} hồ sơ mới nộp trực tuyến"
                      "<extra></extra>",
    )
    fig.update_layout(barmode="group")
    fig.update_xaxes(range=[0, 118], ticksuffix=" %", tickformat=",.0f")
    return _layout(fig, ctx, title, x_title="Tỷ lệ (%)", y_title="Lĩnh vực", height=ctx.height(len(rows) * 2))


def score_gauges(index: dict[str, Any], ctx: ChartContext) -> go.Figure:
    """Two groups of the QĐ 766/QĐ-TTg index (tthc_core.qd766.compute_index) against their maximum."""
    title = "Chỉ số QĐ 766/QĐ-TTg: tiến độ giải quyết, dịch vụ công trực tuyến (điểm)"
    groups = {g["code"]: g for g in index["groups"]}
    fig = go.Figure()
    for x, (key, name, color) in zip(([0, 0.44], [0.56, 1]),
                                     (("TDGQ", "Tiến độ giải quyết", COLORS["on_time_rate"]),
                                      ("CLGQ", "Dịch vụ công trực tuyến", COLORS["online"]))):
        maximum = int(groups[key]["max"])
        value = _float(groups[key]["points"])
        fig.add_indicator(
            mode="gauge+number", value=value if value is not None else 0, domain=dict(x=x, y=[0, 0.8]),
            number=dict(valueformat=",.2f", suffix=f" / {maximum}", font=dict(size=ctx.font_size + 12)),
            title=dict(text=f"<b>{name}</b><br><span style='font-size:0.85em'>tối đa {maximum} điểm</span>",
                       font=dict(size=ctx.font_size + 1)),
            gauge=dict(axis=dict(range=[0, maximum], tickformat=",d"), bar=dict(color=color, thickness=0.7),
                       bgcolor="#f3f5f8", borderwidth=0),
        )
    _layout(fig, ctx, title, legend=False, height=ctx.height(base=360))
    fig.update_layout(margin=dict(l=30, r=30))
    return fig


def share_bars(rows: Sequence[dict[str, Any]], ctx: ChartContext, title: str, group_title: str,
               color_key: str, value_title: str = "Tỷ lệ (%)") -> go.Figure:
    """One horizontal bar per row: ``label``, ``share`` (%), ``part`` and ``whole`` for the text."""
    rows = [r for r in rows if r["whole"]]
    fig = go.Figure()
    if not rows:
        return _empty(fig, ctx, title)
    ordered = sorted(rows, key=lambda r: (_float(r["share"]) or 0))
    fig.add_bar(
        y=[_label(r["label"], ctx) for r in ordered], x=[_float(r["share"]) or 0 for r in ordered], orientation="h",
        marker_color=COLORS[color_key], marker_line_width=0,
        text=[f"{fmt_percent(r['share'])} ({fmt_int(r['part'])}/{fmt_int(r['whole'])})" for r in ordered],
        textposition="outside", cliponaxis=False,
        customdata=[[r["label"], fmt_percent(r["share"]), fmt_int(r["part"]), fmt_int(r["whole"])] for r in ordered],
        hovertemplate="%{customdata[0]}: <b>%{customdata[1]}</b> (%{customdata[2]} / %{customdata[3]})<extra></extra>",
    )
    top = max([_float(r["share"]) or 0 for r in ordered] + [1])
    fig.update_xaxes(range=[0, min(100, top) * 1.35 + 2], ticksuffix=" %", tickformat=",.0f")
    return _layout(fig, ctx, title, x_title=value_title, y_title=group_title, legend=False,
                   height=ctx.height(len(rows)))


def sparkline_values(values: Iterable[Decimal | int | None]) -> list[float]:
    """Values for a KPI card's sparkline (``st.metric(chart_data=...)``); a missing rate draws as 0."""
    return [_float(v) or 0.0 for v in values]


def fmt_points(value: Decimal | None) -> str:
    """``3,30`` points (QĐ 766 scores)."""
    return fmt_decimal(value, 2)


# --- QĐ 766 index (tthc_core.qd766) ---------------------------------------------------------

def qd766_groups(index: dict[str, Any], ctx: ChartContext) -> go.Figure:
    """Each of the six groups against its maximum; a group waiting for an input is marked «chờ số liệu»."""
    title = f"Chỉ số QĐ 766: {fmt_points(index['total'])}/100 điểm ({index['grade']})"
    groups = list(reversed(index["groups"]))
    fig = go.Figure()
    labels = [_wrap(g["title"] + (" (chờ số liệu)" if g["waiting_for"] else ""), 30) for g in groups]
    fig.add_bar(y=labels, x=[float(g["max"]) for g in groups], orientation="h", name="Tối đa",
                marker_color=COLORS["total"], marker_line_width=0, hoverinfo="skip")
    fig.add_bar(y=labels, x=[float(g["points"]) for g in groups], orientation="h", name="Điểm đạt",
                marker_color=COLORS["on_time_rate"], marker_line_width=0,
                text=[f"{fmt_points(g['points'])}/{fmt_points(g['max'])}" for g in groups], textposition="outside",
                cliponaxis=False, hovertemplate="%{y}: <b>%{text}</b> điểm<extra></extra>")
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(range=[0, 24], tickformat=",d")
    return _layout(fig, ctx, title, x_title="Điểm", y_title="Nhóm chỉ số", height=ctx.height(len(groups)))


def qd766_ranking(rows: Sequence[dict[str, Any]], ctx: ChartContext) -> go.Figure:
    """The agencies' totals out of 100, highest on top."""
    title = "Chỉ số QĐ 766 theo đơn vị (điểm/100)"
    fig = go.Figure()
    if not rows:
        return _empty(fig, ctx, title, "Không có đơn vị trực thuộc")
    ordered = list(reversed(rows))
    fig.add_bar(y=[_wrap(r["name"]) for r in ordered], x=[float(r["total"]) for r in ordered], orientation="h",
                marker_color=COLORS["received_new"], marker_line_width=0,
                text=[fmt_points(r["total"]) for r in ordered], textposition="outside", cliponaxis=False,
                hovertemplate="%{y}: <b>%{text}</b> điểm<extra></extra>")
    fig.update_xaxes(range=[0, 110], tickformat=",d")
    return _layout(fig, ctx, title, x_title="Điểm", y_title="Đơn vị", legend=False, height=ctx.height(len(rows)))


def qd766_trend(rows: Sequence[dict[str, Any]], ctx: ChartContext) -> go.Figure:
    """The total month by month (national calendar months)."""
    title = "Chỉ số QĐ 766 theo tháng (điểm/100)"
    fig = go.Figure()
    if not rows:
        return _empty(fig, ctx, title)
    fig.add_scatter(x=[r["period"] for r in rows], y=[float(r["total"]) for r in rows], mode="lines+markers+text",
                    line=dict(color=COLORS["received_new"], width=3), text=[fmt_points(r["total"]) for r in rows],
                    textposition="top center", name="Tổng điểm", hovertemplate="%{x}: <b>%{text}</b><extra></extra>")
    fig.update_yaxes(range=[0, 105], tickformat=",d")
    return _layout(fig, ctx, title, x_title="Tháng", y_title="Điểm", legend=False)
