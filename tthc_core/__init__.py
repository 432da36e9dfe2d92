"""tthc_core: the shared core of the TTHC dashboard.

Turns procedure and dossier records into the figures of the quarterly KSTT report, once, for the
dashboard pages, the command line and the exports. ``compute_stats`` is the entry point::

    from tthc_core import compute_stats
    compute_stats("sqlite:///data/tthc.db", "2022-Q2", agency="SLDTBXH")
"""
from .periods import Period, PeriodError, parse_period
from .stats import StatsError, compute_stats

__all__ = ["compute_stats", "parse_period", "Period", "PeriodError", "StatsError"]
