"""Cached queries: thin ``st.cache_data`` wrappers around the core, and the figures a page asks for.

Every argument that changes the answer is part of the key — database URL, data version, the viewer's
scope, period spec and mode, agency, grouping and the as-of day. An import bumps the data version, so
its rows show at once and nothing else is recomputed. The page-facing functions take the
:class:`~tthc_core.ui.sidebar.Filters` and unpack them into the key.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import streamlit as st

from .. import auth, demo_guard, stats, worklist
from ..auth import Scope
from ..checks import checks as run_checks
from ..db import database_exists, default_url, is_embedded_default
from ..demo import build_demo, is_demo
from ..periods import Period, months_covering

if TYPE_CHECKING:
    from .sidebar import Filters

CACHE = dict(show_spinner=False, max_entries=256, ttl="6h")


# --------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _build_demo_once(url: str) -> None:
    # cache_resource runs this once per URL for the whole server, even with several sessions waiting.
    if not database_exists(url):
        build_demo(url)


def prepare_database() -> str:
    """The database URL; on the very first start (no embedded database yet) the demo is built."""
    url = default_url()
    if is_embedded_default(url) and not database_exists(url):
        with st.spinner("Đang tạo dữ liệu minh họa… (khoảng 10 giây, chỉ ở lần chạy đầu tiên)"):
            _build_demo_once(url)
    return url


# --------------------------------------------------------------------------------------------
# Cached core calls
# --------------------------------------------------------------------------------------------

@st.cache_data(**CACHE)
def is_demo_db(url: str, version: int) -> bool:
    return is_demo(url)


@st.cache_data(**CACHE)
def demo_reference(url: str, version: int) -> dict[str, Any]:
    """``demo_guard.reference_figures``: the demo's reference quarter as the database holds it."""
    return demo_guard.reference_figures(url)


@st.cache_data(**CACHE)
def agencies(url: str, version: int, access: Scope) -> list[dict[str, str]]:
    return stats.list_agencies(url, scope=access)


@st.cache_data(**CACHE)
def _stats(url: str, version: int, access: Scope, spec: str, mode: str, agency: str, by: str,
           as_of: dt.date) -> dict[str, Any]:
    return stats.compute_stats(url, spec, mode, agency=agency or None, by=by, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _series(url: str, version: int, access: Scope, spec: str, mode: str, agency: str, count: int,
            as_of: dt.date) -> list[tuple[Period, dict[str, int]]]:
    return stats.series(url, spec, count=count, mode=mode, agency=agency or None, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _catalogue(url: str, version: int, access: Scope, agency: str, at: dt.date, by: str | None) -> dict[str, Any]:
    return stats.catalogue(url, agency or None, at=at, by=by, scope=access)


@st.cache_data(**CACHE)
def _continuity(url: str, version: int, access: Scope, spec: str, mode: str, agency: str) -> list[dict[str, Any]]:
    return stats.continuity_failures(url, spec, mode, agency=agency or None, scope=access)


@st.cache_data(**CACHE)
def quality(url: str, version: int, access: Scope, agency: str) -> dict[str, Any]:
    return stats.data_quality(url, agency or None, scope=access)


@st.cache_data(**CACHE)
def data_until(url: str, version: int, access: Scope, minute: dt.datetime, agency: str = "") -> dict[str, Any]:
    """How far the data reaches at ``minute`` (Vietnam time; the cache keys on the minute)."""
    return stats.data_until(url, minute, agency=agency or None, scope=access)


@st.cache_data(**CACHE)
def _dossiers(url: str, version: int, access: Scope, spec: str, mode: str, agency: str, count_key: str,
              group_by: str | None, group_key: str | None, limit: int, as_of: dt.date) -> list[dict[str, Any]]:
    return stats.list_dossiers(url, spec, mode, agency=agency or None, count_key=count_key, group_by=group_by,
                               group_key=group_key, limit=limit, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _report_figures(url: str, version: int, access: Scope, spec: str, mode: str, agency: str) -> Any:
    from .. import reports

    return reports.build_report(url, spec, mode, agency or None, scope=access)


@st.cache_data(**CACHE)
def _procedures(url: str, version: int, access: Scope, agency: str, at: dt.date) -> list[dict[str, Any]]:
    return stats.list_procedures(url, agency or None, at=at, scope=access)


@st.cache_data(**CACHE)
def _procedure_results(url: str, version: int, access: Scope, spec: str, mode: str, agency: str,
                       as_of: dt.date) -> list[dict[str, Any]]:
    return stats.procedure_results(url, spec, mode, agency=agency or None, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _online_by_field(url: str, version: int, access: Scope, spec: str, mode: str, agency: str,
                     as_of: dt.date) -> list[dict[str, Any]]:
    return stats.online_by_field(url, spec, mode, agency=agency or None, as_of=as_of, scope=access)


@st.cache_data(**CACHE)
def _worklist(url: str, version: int, access: Scope, agency: str, at: dt.date, days: int,
              limit: int | None) -> dict[str, Any]:
    return {"overdue": worklist.overdue(url, at, agency or None, scope=access, limit=limit),
            "due_soon": worklist.due_soon(url, at, days, agency or None, scope=access, limit=limit)}


@st.cache_data(**CACHE)
def _worklist_counts(url: str, version: int, access: Scope, agency: str, at: dt.date, days: int) -> dict[str, int]:
    return worklist.counts(url, at, days, agency or None, scope=access)


# --------------------------------------------------------------------------------------------
# Figures for pages (cached core calls, with the filters as arguments)
# --------------------------------------------------------------------------------------------

def dossier_stats(f: Filters, by: str = "field") -> dict[str, Any]:
    """``stats.compute_stats`` for the filters: the II.06a table grouped ``by``, catalogue, checks."""
    return _stats(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, by, f.as_of)


def history(f: Filters, count: int = 6) -> list[tuple[Period, dict[str, int]]]:
    """Totals of the last ``count`` periods of the same kind, ending with the selected one."""
    return _series(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, count, f.as_of)


def monthly_history(f: Filters) -> list[tuple[Period, dict[str, int]]]:
    last, count = months_covering(f.period)
    return _series(f.url, f.version, f.access, last.spec, last.mode, f.agency, count, f.as_of)


def catalogue(f: Filters, by: str | None = None) -> dict[str, Any]:
    """Catalogue figures on the period's last day, like compute_stats' ``procedures``."""
    return _catalogue(f.url, f.version, f.access, f.agency, f.period.end, by)


def checks(f: Filters) -> list[dict[str, Any]]:
    """:func:`tthc_core.checks.checks` over the period's table, catalogue and carried-over continuity
    (domain.md §4): the same list the report page and the exports show."""
    table = dossier_stats(f)
    continuity = ([] if f.period.kind == "custom" else
                  _continuity(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency))
    return run_checks({"dossiers": table["dossiers"], "procedures": table["procedures"], "continuity": continuity})


def data_quality(f: Filters) -> dict[str, Any]:
    return quality(f.url, f.version, f.access, f.agency)


def dossiers(f: Filters, count_key: str, group_by: str | None = None, group_key: str | None = None,
             limit: int = 5000) -> list[dict[str, Any]]:
    return _dossiers(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, count_key, group_by,
                     group_key, limit, f.as_of)


def report_figures(f: Filters) -> Any:
    """The :class:`~tthc_core.reports.QuarterReport` for the filters (the report page and its exports)."""
    return _report_figures(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency)


def procedures(f: Filters) -> list[dict[str, Any]]:
    """The procedures under the agency's authority on the period's last day, with their flags."""
    return _procedures(f.url, f.version, f.access, f.agency, f.period.end)


def procedure_results(f: Filters) -> list[dict[str, Any]]:
    """``stats.procedure_results`` for the filters."""
    return _procedure_results(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, f.as_of)


def mechanism_results(f: Filters) -> list[dict[str, Any]]:
    return stats.mechanism_results(procedure_results(f))


def online_by_field(f: Filters) -> list[dict[str, Any]]:
    return _online_by_field(f.url, f.version, f.access, f.period.spec, f.period.mode, f.agency, f.as_of)


def league_rows(f: Filters) -> list[dict[str, Any]]:
    """Agencies (or the chosen agency's fields) with their KPIs, the one dragging most first."""
    return stats.league(dossier_stats(f, by=f.league_by)["dossiers"]["rows"])


def import_log(f: Filters, limit: int = 50) -> list[dict[str, Any]]:
    """The latest imports the account may see (its own units' for officers)."""
    return auth.import_log(f.url, limit, scope=f.access)


def audit_log(f: Filters, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit entries the account may see (all for admins, its own units' for officers)."""
    return auth.audit_log(f.url, f.access, limit)


def worklist_day(f: Filters) -> dt.date:
    """The day the "cần xử lý" lists judge: the period's last day, or today while it runs."""
    return worklist.judged_on(f.period, f.as_of)


def action_lists(f: Filters, days: int, limit: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """``worklist.overdue`` and ``worklist.due_soon`` for the filters, judged on :func:`worklist_day`
    (the first ``limit`` of each)."""
    return _worklist(f.url, f.version, f.access, f.agency, worklist_day(f), days, limit)


def action_counts(f: Filters, days: int) -> dict[str, int]:
    """``worklist.counts`` for the filters: how long each list is."""
    return _worklist_counts(f.url, f.version, f.access, f.agency, worklist_day(f), days)


def write_refusal(f: Filters) -> str | None:
    """Why this viewer may not write here (the demo stays the reference), or None."""
    return demo_guard.write_refusal(f.url, f.access) if f.demo else None
