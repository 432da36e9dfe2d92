"""The quarterly report as ONE object that every export reads: :class:`QuarterReport`.

:func:`build_report` makes it from (database, period, mode, agency, caller's scope): the figures (the
frozen ones when the period was signed, else live), whether and by whom they were frozen, the cells
live data now change, the checks of :func:`tthc_core.checks.checks` over the figures shown, the
league and monthly trend the charts draw, and the report inputs. The "Báo cáo quý" page, the Excel
annexes, the Word draft, the chart pack and ``python -m tthc_core export`` read only this object.

The package is split by job:

- :mod:`.agencies`: the agencies in scope and who may edit;
- :mod:`.inputs`: report inputs and simplification reviews (entered, validated, stored);
- :mod:`.figures`: the live figures, from :mod:`tthc_core.stats`;
- :mod:`.freezing`: chốt số liệu — frozen figures, the diff against live data;
- :mod:`.profile`: the agency profile (header, signer, focal officers, cited plans and decisions);
- :mod:`.narrative`: the quarter's text inputs, carried from the previous quarter until confirmed;
- :mod:`.demo_facts`: the reference report's own profile and narrative, for the demo.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from ..auth import Scope, report_agency
from ..checks import checks
from ..periods import Period, parse_period
from .agencies import PROVINCE_NAME, TOTAL_LABEL, ReportError, as_period
from .figures import FEEDBACK_KEYS, ONLINE_CLASSES_FROM, feedback_figures, index766, live_figures
from .freezing import (INDEX766_NOT_FROZEN, as_of_text, fmt_value, freeze, frozen, frozen_diff, frozen_note,
                       revive, revive_index766)
from .narrative import NARRATIVE_FIELDS, Entry, load_narrative, narrative_missing, save_narrative
from .profile import DOCUMENT_ROLES, PROFILE_LABELS, Profile, load_profile, profile_missing, save_profile
from .inputs import (
    INPUT_FIELDS_BY_KEY,
    REPORT_INPUT_FIELDS,
    SIMPLIFICATION_COLUMNS,
    VALUE_COLUMN,
    InputField,
    load_report_inputs,
    load_simplifications,
    report_input_rows,
    save_report_inputs,
    save_simplifications,
    simplification_rows_for_editor,
    simplification_summary,
)


@dataclass
class QuarterReport:
    """Everything the report prints for one period and agency (``agency`` None = the whole province).

    ``figures`` is the mapping of :func:`~.figures.live_figures` — live, or as frozen. ``report[key]``
    reads a figure (``report["dossiers"]["total"]``) and also ``checks``, ``frozen`` and ``diff``, so
    page code can treat the report as the figures it shows.
    """

    period: Period
    figures: dict[str, Any]
    checks: list[dict[str, Any]] = field(default_factory=list)
    frozen: dict[str, str] | None = None  # {"at", "by"} when the figures are the signed ones
    diff: list[dict[str, Any]] = field(default_factory=list)  # cells live data now change
    profile: Profile = field(default_factory=Profile)
    narrative: dict[str, Entry] = field(default_factory=dict)
    # The QĐ 766 index of the period's calendar quarter (the portal scores calendar periods, qd766.md
    # §1), for the workbook's "Chỉ số 766" sheet: as stored by the freeze for a frozen period, else
    # live, as the portal would score it now. ``index766_note`` says when a frozen report shows a live
    # index (freezes made before the index was stored).
    index766: dict[str, Any] | None = None
    index766_note: str | None = None

    _OWN = ("checks", "frozen", "diff")

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key) if key in self._OWN else self.figures[key]

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self._OWN else self.figures.get(key, default)

    @property
    def agency(self) -> dict[str, Any]:
        return self.figures["agency"]

    @property
    def inputs(self) -> dict[str, Any]:
        return self.figures["inputs"]

    @property
    def league(self) -> list[dict[str, Any]]:
        return self.figures["league"]

    @property
    def trend(self) -> list[tuple[Period, dict[str, int]]]:
        """The monthly totals the trend chart draws, oldest first, as ``(Period, counts)``."""
        return [(parse_period(point["spec"], point["mode"]),
                 {k: v for k, v in point.items() if k not in ("spec", "mode")})
                for point in self.figures["trend"]]

    @property
    def as_of(self) -> str:
        return as_of_text(self)

    def text(self, key: str) -> str:
        """A narrative input as the draft prints it ("" when none was entered)."""
        entry = self.narrative.get(key)
        return entry.text.strip() if entry is not None else ""

    def missing(self) -> list[str]:
        """What the officer still has to enter or confirm before the draft is complete (issue 12 item 2):
        profile facts, unconfirmed narrative inputs, report figures not reported."""
        missing = profile_missing(self.profile) + narrative_missing(self.narrative)
        # PAKN figures are needed only when no PAKN record gives them (figures.feedback_figures).
        keys = ("feedback_received", "budget") if self.figures["feedback"]["source"] != "records" else ("budget",)
        for key in keys:
            if self.inputs.get(key) is None:
                missing.append(f"{INPUT_FIELDS_BY_KEY[key].label}: chưa nhập")
        return missing


def build_report(db: str | Engine | None, period: Period | str, mode: str = "report", agency: str | None = None,
                 live: bool = False, scope: Scope | None = None) -> QuarterReport:
    """THE report object of the period for the agency (``None`` = the whole province).

    When the period was frozen (and ``live`` is false) the figures are the frozen ones and ``diff``
    lists where live data now differ. ``scope`` (the caller's account) must cover the agency.
    """
    agency = report_agency(scope, agency)
    period = as_period(period, mode)
    current = live_figures(db, period, agency=agency)
    record = None if live else frozen(db, period, agency=agency)
    texts = {"profile": load_profile(db, agency), "narrative": load_narrative(db, agency, period)}
    if record is None:
        return QuarterReport(period=period, figures=current, checks=checks(current),
                             index766=index766(db, period, agency), **texts)
    payload = {k: v for k, v in record.payload.items() if k != "index766"}
    figures = revive(payload)
    # Freezes made before these were part of the figures: the league and trend are today's, as before;
    # the PAKN annex comes from the frozen inputs (what the draft printed then), the basis from today.
    for key in ("league", "trend", "deadline_basis"):
        figures.setdefault(key, current[key])
    figures.setdefault("feedback", feedback_figures(db, period, [], figures["inputs"]))
    stored = record.payload.get("index766")
    return QuarterReport(period=period, figures=figures, checks=checks(figures),
                         frozen={"at": record.frozen_at.isoformat(), "by": record.frozen_by},
                         diff=frozen_diff(payload, current),
                         index766=revive_index766(stored) if stored is not None else index766(db, period, agency),
                         index766_note=None if stored is not None else INDEX766_NOT_FROZEN, **texts)


__all__ = [
    "QuarterReport", "build_report", "ReportError", "PROVINCE_NAME", "TOTAL_LABEL",
    "ONLINE_CLASSES_FROM", "FEEDBACK_KEYS", "feedback_figures", "index766", "freeze", "frozen", "frozen_diff", "frozen_note", "revive", "as_of_text", "fmt_value",
    "InputField", "REPORT_INPUT_FIELDS", "INPUT_FIELDS_BY_KEY", "SIMPLIFICATION_COLUMNS", "VALUE_COLUMN",
    "Profile", "PROFILE_LABELS", "DOCUMENT_ROLES", "load_profile", "save_profile", "Entry", "NARRATIVE_FIELDS", "load_narrative",
    "save_narrative", "load_report_inputs", "save_report_inputs", "report_input_rows", "load_simplifications",
    "save_simplifications", "simplification_rows_for_editor", "simplification_summary", "live_figures",
]
