"""Every check the figures must pass before a report is signed — one list, used everywhere.

:func:`checks` is the list the dashboard's banner, the data page, the quarterly report page, the
workbook's warning sheet, the Word draft's editor notes and the ``stats``/``export`` commands show:

- form II.06a (or each level of II.06b) row by row and in total: the identities of domain.md §4;
- the total row as the sum of the rows, column by column (and the levels' subtotals of II.06b);
- the catalogue: central- plus local-regulated procedures make the total, in total and by field;
- continuity: the previous period's pending equals this period's carried over (when computed).

It reads a figures mapping (``compute_stats`` output, the report's figures, or a printed table) and
never queries: the caller passes what it has, so a frozen report is checked on its frozen figures.
:func:`check_counts` runs the count identities on printed numbers, e.g. the reference report's
3.525 resolved that should be 2.525.
"""
from __future__ import annotations

from typing import Any, Mapping

from .formatting import fmt_int
from .stats import COUNT_LABELS, FORM_COLUMNS, catalogue_failures, identity_failures

TOTAL_LABEL = "Tổng cộng"


def _column_sum_failures(rows: list[dict[str, Any]], total: dict[str, int]) -> list[dict[str, Any]]:
    """The total row must be the sum of the rows, column by column."""
    failures = []
    for key, column in FORM_COLUMNS.items():
        added = sum(row.get(key, 0) for row in rows)
        if added != total.get(key, 0):
            failures.append({
                "row": TOTAL_LABEL, "identity": f"Σ rows col{column} = total", "left": total.get(key, 0),
                "right": added,
                "message": (f"Cột ({column}) {COUNT_LABELS[key].lower()}: dòng {TOTAL_LABEL.lower()} ghi "
                            f"{fmt_int(total.get(key, 0))} nhưng cộng các dòng được {fmt_int(added)}."),
            })
    return failures


def check_counts(rows: list[dict[str, Any]], total: dict[str, int], total_label: str = TOTAL_LABEL
                 ) -> list[dict[str, Any]]:
    """The identities of domain.md §4 on a table of counts: every row, the total, and the total as
    the sum of the rows. A ``received_new`` entry (printed reports give "số mới tiếp nhận") must be
    col4 + col5."""
    failures = []
    for row in rows:
        failures += identity_failures(row.get("label") or row["key"], row)
    failures += identity_failures(total_label, total)
    if "received_new" in total:
        new = total.get("received_online", 0) + total.get("received_offline", 0)
        if new != total["received_new"]:
            failures.append({
                "row": total_label, "identity": "new = col4 + col5", "left": total["received_new"], "right": new,
                "message": (f"Dòng «{total_label}»: số mới tiếp nhận là {fmt_int(total['received_new'])} nhưng "
                            f"trực tuyến + trực tiếp, bưu chính = {fmt_int(new)}."),
            })
    if rows:
        failures += _column_sum_failures(rows, total)
    return failures


def checks(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Everything that must add up before the report is signed, as ``{row, identity, left, right, message}``.

    ``figures`` holds ``dossiers`` (rows and total) and may hold ``levels`` (II.06b), ``procedures``
    (catalogue total), ``catalogue`` (catalogue rows by field) and ``continuity`` (the failures of
    :func:`tthc_core.stats.continuity_failures`, computed by whoever has the database).
    """
    failures = []
    levels = figures.get("levels") or []
    for group in levels:
        failures += check_counts(group["rows"], group["total"], f"{TOTAL_LABEL} {group['label'].lower()}")
    dossiers = figures.get("dossiers") or {"rows": [], "total": {}}
    failures += check_counts([] if levels else dossiers["rows"], dossiers["total"])
    if levels:
        failures += _column_sum_failures([g["total"] for g in levels], dossiers["total"])
    if figures.get("procedures"):
        failures += catalogue_failures(figures["procedures"])
    for row in (figures.get("catalogue") or {}).get("rows", []):
        for failure in catalogue_failures(row):
            failures.append({**failure, "row": row["label"],
                             "message": f"Lĩnh vực «{row['label']}»: " + failure["message"]})
    failures += figures.get("continuity") or []
    return failures
