"""The overview charts as PNG files in a zip, for meeting slides.

The figures are the dashboard's own (:mod:`tthc_core.charts`, drawn large as in meeting mode) over
:class:`tthc_core.reports.QuarterReport` — frozen figures, league and trend when the period was frozen. Static export
needs the ``kaleido`` package (v1), which drives a Chrome or Chromium installed on the machine (Debian:
``/usr/bin/chromium``; another path can be given in ``BROWSER_PATH``). :func:`chart_pack_available`
says in Vietnamese why the pack cannot be made, so the page can explain instead of failing.
"""
from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from .. import charts
from ..reports import QuarterReport

PNG_WIDTH = 1600
PNG_SCALE = 1.5


class ChartPackError(RuntimeError):
    """The charts could not be rendered; the message is Vietnamese."""


def chart_pack_available() -> tuple[bool, str]:
    """``(True, "")`` when PNG export can run, else ``(False, reason in Vietnamese)``."""
    try:
        import kaleido  # noqa: F401
        from choreographer.browsers.chromium import Chromium
    except ImportError:
        return False, ("Máy chủ chưa cài gói kaleido (xuất ảnh biểu đồ của Plotly) nên chưa tạo được bộ ảnh "
                       "biểu đồ. Quản trị viên cài bằng: pip install \"kaleido>=1.0\".")
    if Chromium.find_browser(skip_local=False) is None:
        return False, ("Máy chủ không có trình duyệt Chromium/Chrome để vẽ ảnh biểu đồ. Quản trị viên cài "
                       "chromium (Debian: apt-get install chromium) hoặc đặt biến môi trường BROWSER_PATH "
                       "trỏ tới trình duyệt.")
    return True, ""


def chart_figures(report: QuarterReport) -> list[tuple[str, Any]]:
    """``(file name, Plotly figure)`` of each chart in the pack, all from the report's figures (issue 12:
    a frozen quarter's charts show the frozen figures)."""
    period = report.period
    ctx = charts.ChartContext(scope=report.agency["name"], period=period.label, meeting=True)
    total = report["dossiers"]["total"]
    group_title = "Lĩnh vực" if report.agency["code"] else "Cơ quan, đơn vị"
    return [
        ("01-tinh-trang-ho-so.png", charts.outcome_donut(total, ctx)),
        ("02-kenh-tiep-nhan.png", charts.channel_donut(total, ctx)),
        ("03-xep-hang.png", charts.league(report.league, ctx, group_title)),
        ("04-xu-huong-theo-thang.png", charts.monthly_trend(report.trend, ctx, (period.start, period.end))),
        ("05-giai-quyet-theo-linh-vuc.png", charts.resolution_by_group(report["dossiers"]["rows"], ctx)),
        ("06-danh-muc-tthc.png", charts.catalogue_overview(report["procedures"], ctx)),
    ]


def chart_pack_zip(report: QuarterReport) -> bytes:
    """The charts as PNG files in a zip; :class:`ChartPackError` when they cannot be rendered."""
    available, reason = chart_pack_available()
    if not available:
        raise ChartPackError(reason)
    import plotly.io as pio

    named = chart_figures(report)
    out = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="tthc-charts-") as tmp:
        paths = [Path(tmp) / name for name, _ in named]
        try:
            # One browser session for all the charts (much faster than one call per figure).
            pio.write_images([fig for _, fig in named], paths, format="png", width=PNG_WIDTH,
                             height=[fig.layout.height for _, fig in named], scale=PNG_SCALE)
        except Exception as exc:  # noqa: BLE001 - kaleido raises many kinds; the page needs one message
            raise ChartPackError(f"Không vẽ được ảnh biểu đồ ({type(exc).__name__}). Kiểm tra Chromium trên "
                                 "máy chủ rồi thử lại.") from exc
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
            for path in paths:
                pack.write(path, path.name)
    return out.getvalue()


def chart_pack_name(figures: dict[str, Any]) -> str:
    """``bieu-do_SLDTBXH_2022-Q2.zip``."""
    scope = figures["agency"]["code"] or "toan-tinh"
    return re.sub(r"[^\w.-]+", "_", f"bieu-do_{scope}_{figures['period']['spec']}") + ".zip"
