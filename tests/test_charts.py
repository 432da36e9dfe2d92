"""The chart builders (tthc_core/charts.py): pure functions, checked without a browser.

Every chart states its period, scope and unit, speaks Vietnamese on its axes, formats numbers the
Vietnamese way whatever the browser, and gives each meaning the same colour everywhere.
"""
from __future__ import annotations

from decimal import Decimal

import plotly.graph_objects as go
import pytest

from tthc_core import charts
from tthc_core.formatting import PLOTLY_SEPARATORS
from tthc_core.periods import parse_period
from tthc_core.qd766 import compute_index
from tthc_core.stats import COUNT_KEYS, catalogue, compute_stats, kpis, series

Q2 = parse_period("2022-Q2")
CTX = charts.ChartContext(scope="Sở Lao động - Thương binh và Xã hội", period=Q2.label)
MEETING = charts.ChartContext(scope=CTX.scope, period=CTX.period, meeting=True)


def counts(**values: int) -> dict[str, int]:
    return {**dict.fromkeys(COUNT_KEYS, 0), **values}


@pytest.fixture(scope="module")
def reference(demo_url):
    """Everything the pages chart for Sở LĐTBXH, Q2/2022."""
    result = compute_stats(demo_url, Q2, agency="SLDTBXH")
    by_agency = compute_stats(demo_url, Q2, by="agency")["dossiers"]["rows"]
    return {
        "rows": result["dossiers"]["rows"],
        "total": result["dossiers"]["total"],
        "procedures": result["procedures"],
        "league": [{**r, **kpis(r)} for r in by_agency],
        "months": series(demo_url, "2022-06", count=6, agency="SLDTBXH"),
        "by_field": catalogue(demo_url, "SLDTBXH", at=Q2.end, by="field")["rows"],
        "scores": compute_index(demo_url, Q2.spec, agency="SLDTBXH"),
    }


def every_figure(data, ctx: charts.ChartContext) -> dict[str, go.Figure]:
    online = [{"label": r["label"], "procedures": r["total"], "offered": r["online_full"] + r["online_partial"],
               "offered_share": Decimal("50.00"), "received_new": 10, "received_online": 1,
               "online_share": Decimal("10.00")} for r in data["by_field"]]
    return {
        "channels": charts.channels_by_group(data["rows"], ctx),
        "resolution": charts.resolution_by_group(data["rows"], ctx),
        "pending": charts.pending_by_group(data["rows"], ctx),
        "outcomes": charts.outcomes_by_group(data["rows"], ctx, "Kết quả theo lĩnh vực (hồ sơ)", "Lĩnh vực"),
        "outcome_donut": charts.outcome_donut(data["total"], ctx),
        "channel_donut": charts.channel_donut(data["total"], ctx),
        "trend": charts.monthly_trend(data["months"], ctx, (Q2.start, Q2.end)),
        "league": charts.league(data["league"], ctx, "Cơ quan, đơn vị"),
        "catalogue": charts.catalogue_overview(data["procedures"], ctx),
        "catalogue_by_field": charts.catalogue_by_group(data["by_field"], ctx, "Lĩnh vực"),
        "online_gap": charts.online_gap(online, ctx),
        "gauges": charts.score_gauges(data["scores"], ctx),
        "postal": charts.share_bars([{"label": "Việc làm", "share": Decimal("3.54"), "part": 58, "whole": 1638}],
                                    ctx, "Hồ sơ qua bưu chính công ích theo lĩnh vực (%)", "Lĩnh vực", "postal"),
    }


UNITS = ("(hồ sơ)", "(%)", "(thủ tục", "(điểm)", "(%, ", "hồ sơ đang quá hạn")


def test_every_chart_states_period_scope_and_unit(reference):
    for name, fig in every_figure(reference, CTX).items():
        layout = fig.layout
        assert layout.separators == PLOTLY_SEPARATORS, name
        # Scope and period, on two lines so a half-width chart at 1366 px never cuts the period.
        assert layout.title.subtitle.text == f"{CTX.scope}<br>Quý II năm 2022 (15/03/2022 – 14/06/2022)", name
        title = layout.title.text.replace("<b>", "").replace("</b>", "").replace("<br>", " ")
        assert any(unit in title for unit in UNITS), (name, title)


def test_bar_charts_have_vietnamese_axis_titles(reference):
    figures = every_figure(reference, CTX)
    for name in ("channels", "resolution", "pending", "trend", "catalogue", "online_gap", "league"):
        layout = figures[name].layout
        titles = [axis.title.text for axis in (layout.xaxis, layout.yaxis) if axis.title.text]
        assert titles, name
        assert any(word in " ".join(titles) for word in ("Số hồ sơ", "Số thủ tục", "Tỷ lệ", "Tháng")), (name, titles)


def test_numbers_on_bars_and_in_hover_are_vietnamese(reference):
    fig = charts.resolution_by_group(reference["rows"], CTX)
    on_time = next(t for t in fig.data if t.name == "Giải quyết đúng hạn")
    assert "1.218" in on_time.text  # Việc làm, Q2/2022
    assert all("," not in text for text in on_time.text)
    totals = next(t for t in fig.data if t.type == "scatter")
    assert "  1.367" in totals.text
    donut = charts.outcome_donut(reference["total"], CTX)
    assert "100,00 %" in donut.layout.annotations[0].text
    assert ["2.237", "69,09 %"] in [list(c) for c in donut.data[0].customdata]  # 2.237 of the 3.238 dossiers


def test_each_meaning_has_one_colour_everywhere(reference):
    figures = every_figure(reference, CTX)
    seen: dict[str, set[str]] = {}
    for fig in (figures["resolution"], figures["pending"], figures["outcomes"]):
        for trace in fig.data:
            if trace.type == "bar":
                seen.setdefault(trace.name, set()).add(trace.marker.color)
    donut = figures["outcome_donut"].data[0]
    for label, colour in zip(donut.labels, donut.marker.colors):
        seen.setdefault(label, set()).add(colour)
    assert seen["Giải quyết quá hạn"] == {charts.COLORS["resolved_late"]}
    assert seen["Đang giải quyết quá hạn"] == {charts.COLORS["pending_overdue"]}
    assert seen["Giải quyết đúng hạn"] == {charts.COLORS["resolved_on_time"]}
    assert all(len(colours) == 1 for colours in seen.values()), seen


def test_meeting_mode_draws_bigger_type_on_one_screen(reference):
    normal, big = every_figure(reference, CTX), every_figure(reference, MEETING)
    for name in normal:
        assert big[name].layout.font.size > normal[name].layout.font.size, name
        assert 560 <= big[name].layout.height <= 660, name  # a projector screen under the page title
        assert big[name].layout.title.font.size >= 28 and big[name].layout.font.size >= 20, name


def test_channels_split_offline_into_direct_and_postal():
    row = counts(received_online=32, received_offline=2999, received_postal=119)
    assert charts.with_direct(row)["received_direct"] == 2880
    fig = charts.channel_donut(row, CTX)
    assert list(fig.data[0].values) == [32, 2880, 119]
    assert "3.031" in fig.layout.annotations[0].text


def test_empty_period_says_so_instead_of_failing():
    empty = counts()
    for fig in (charts.resolution_by_group([{"label": "Việc làm", **empty}], CTX), charts.outcome_donut(empty, CTX),
                charts.channel_donut(empty, CTX), charts.league([], CTX, "Lĩnh vực"), charts.monthly_trend([], CTX)):
        assert "Không có hồ sơ trong kỳ" in fig.layout.annotations[0].text


def test_many_groups_keep_the_busiest_and_say_so():
    rows = [{"label": f"Thủ tục {i}", **counts(resolved_on_time=i + 1)} for i in range(30)]
    fig = charts.resolution_by_group(rows, CTX, "Thủ tục")
    bars = next(t for t in fig.data if t.name == "Giải quyết đúng hạn")
    assert len(bars.y) == charts.TOP_GROUPS
    assert "Thủ tục 29" in bars.y and "Thủ tục 0" not in bars.y
    title = fig.layout.title.text.replace("<br>", " ").replace("</b> <b>", " ")
    assert "20 thủ tục nhiều hồ sơ nhất (trên 30)" in title


def test_league_lists_rows_in_the_given_order_worst_on_top():
    rows = [{"label": "Huyện A", "on_time_rate": Decimal("87.75"), "pending_overdue": 20, "resolved_total": 321},
            {"label": "Sở B", "on_time_rate": Decimal("99.31"), "pending_overdue": 2, "resolved_total": 290}]
    fig = charts.league(rows, CTX, "Cơ quan, đơn vị")
    rate = fig.data[0]
    assert list(rate.y) == ["Sở B", "Huyện A"]  # Plotly draws bottom-up: the first row ends on top
    assert list(rate.text) == ["99,31 %", "87,75 %"]
    assert list(fig.data[1].text) == ["2", "20"]


def test_trend_marks_the_selected_period_when_it_reaches_back(reference):
    fig = charts.monthly_trend(reference["months"], CTX, (Q2.start, Q2.end))
    assert [p.short_name for p, _ in reference["months"]] == list(fig.data[0].x)
    assert any(shape.type == "rect" for shape in fig.layout.shapes)
    assert fig.layout.yaxis2.ticksuffix == " %"


def test_a_wall_ranks_ten_procedures_on_one_abbreviated_line_each():
    long_name = "Giải quyết chế độ trợ cấp một lần đối với người được cử làm chuyên gia sang giúp Lào"
    rows = [{"label": f"{long_name} {i}", **counts(resolved_on_time=i + 1)} for i in range(16)]
    bars = charts.resolution_by_group(rows, MEETING, "Thủ tục").data[0]
    assert len(bars.y) == charts.MEETING_TOP_GROUPS
    assert all("<br>" not in label and label.endswith("…") and len(label) <= 42 for label in bars.y)
    assert all(long_name in data[0] for data in bars.customdata)  # the hover keeps the full name


def test_a_ranking_of_identical_bars_says_so_in_its_title():
    rows = [{"label": f"Lĩnh vực {i}", "on_time_rate": Decimal("100.00"), "pending_overdue": 0, "resolved_total": 5}
            for i in range(7)]
    title = charts.league(rows, CTX, "Lĩnh vực").layout.title.text.replace("<b>", "").replace("</b>", "")
    assert "mọi lĩnh vực cùng tỷ lệ đúng hạn 100,00 %, không có hồ sơ đang quá hạn" in title.replace("<br>", " ")
    same = charts.league(rows, CTX, "Lĩnh vực")
    assert not same.data  # no seven equal bars: one sentence instead
    assert [a.text for a in same.layout.annotations] == [
        "Cả 7 lĩnh vực như nhau: đúng hạn 100,00 %, không có hồ sơ đang quá hạn.<br>"
        "Không có lĩnh vực nào phải xếp sau."]
    rows[0] = {**rows[0], "pending_overdue": 2}
    ranked = charts.league(rows, CTX, "Lĩnh vực")
    assert "mọi lĩnh vực" not in ranked.layout.title.text and len(ranked.data[0].y) == 7
