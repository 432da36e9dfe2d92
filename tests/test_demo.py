"""The demo reproduces the Q2/2022 report of Sở LĐTBXH Lạng Sơn (domain.md §8), on both engines."""
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal

from sqlalchemy import func, or_, select

from tthc_core import compute_stats
from tthc_core.db import PROJECT_ROOT, get_engine
from tthc_core.demo import build_demo, is_demo
from tthc_core.formatting import ratio_percent
from tthc_core.models import Agency, Dossier, ReportInput, SimplificationReview
from tthc_core.stats import continuity_failures

REFERENCE_DOSSIERS = dict(received_total=3238, received_online=32, received_offline=2999, carried_over=207,
                          resolved_total=2525, resolved_early=288, resolved_on_time=2237, resolved_late=0,
                          pending_total=713, pending_in_time=713, pending_overdue=0)
REFERENCE_PROCEDURES = dict(total=109, published=109, publicized=109, central=109, local=0, one_stop=56,
                            lien_thong=33, postal=98, online=109, online_level3=30, online_level4=47,
                            online_full=47, online_partial=30, four_on_site=16)


def test_demo_reproduces_the_reference_quarter(demo_db):
    result = compute_stats(demo_db, "2022-Q2", agency="SLDTBXH")
    total = result["dossiers"]["total"]
    assert {k: total[k] for k in REFERENCE_DOSSIERS} == REFERENCE_DOSSIERS
    assert {k: result["procedures"][k] for k in REFERENCE_PROCEDURES} == REFERENCE_PROCEDURES
    assert result["checks"] == []
    assert result["period"]["label"] == "Quý II năm 2022 (15/03/2022 – 14/06/2022)"


def test_demo_is_consistent_across_adjacent_periods(demo_db):
    for spec in ("2022-Q2", "2022-Q3", "2023-Q1", "2026-Q3"):
        assert continuity_failures(demo_db, spec, agency="SLDTBXH") == []
        assert compute_stats(demo_db, spec, by="agency")["checks"] == []


def test_demo_has_other_agencies_with_late_and_overdue_dossiers(demo_url):
    rows = compute_stats(demo_url, "2024-Q2", by="agency")["dossiers"]["rows"]
    assert len(rows) >= 6
    assert sum(r["resolved_late"] for r in rows) > 0
    assert sum(r["pending_overdue"] for r in rows) > 0
    levels = {r["level"] for r in rows}
    assert levels == {"province", "district", "commune"}


def test_demo_report_inputs_give_the_simplification_ratio(demo_url):
    with get_engine(demo_url).connect() as conn:
        reviews = conn.execute(select(SimplificationReview)).all()
        inputs = dict(conn.execute(select(ReportInput.key, ReportInput.value)).all())
    before = sum(r.days_before for r in reviews)
    cut = sum(r.days_before - r.days_after for r in reviews)
    assert (len(reviews), before, cut) == (2, 32, 19)
    assert ratio_percent(cut, before) == Decimal("59.38")
    assert inputs["budget"] == "35000000" and inputs["feedback_received"] == "0"
    assert is_demo(demo_url)


def test_demo_is_deterministic_for_a_given_today(tmp_path):
    urls = [f"sqlite:///{tmp_path}/{name}.db" for name in ("a", "b")]
    for url in urls:
        build_demo(url, today=dt.date(2022, 12, 31))
    snapshots = []
    for url in urls:
        with get_engine(url).connect() as conn:
            snapshots.append(conn.execute(select(Dossier.code, Dossier.received_at, Dossier.resolved_at, Dossier.due_at)
                                          .order_by(Dossier.code)).all())
    assert snapshots[0] == snapshots[1] and len(snapshots[0]) > 10000
    # Nothing is received or resolved after 'today'.
    with get_engine(urls[0]).connect() as conn:
        last = conn.scalar(select(func.max(func.coalesce(Dossier.resolved_at, Dossier.received_at))))
        assert last < dt.datetime(2023, 1, 1)
        assert conn.scalar(select(func.count()).select_from(Agency)) == 8
    assert compute_stats(urls[0], "2022-Q2", agency="SLDTBXH")["dossiers"]["total"]["resolved_total"] == 2525


def test_cli_stats_json_gives_the_reference_figures(demo_url):
    out = subprocess.run([sys.executable, "-m", "tthc_core", "--db", demo_url, "stats", "--period", "2022-Q2",
                          "--agency", "SLDTBXH", "--json"], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         check=True).stdout
    result = json.loads(out)
    assert set(result) == {"period", "agency", "dossiers", "procedures", "checks"}
    assert result["agency"] == "SLDTBXH"
    assert result["period"] == {"spec": "2022-Q2", "mode": "report", "start": "2022-03-15", "end": "2022-06-14",
                                "label": "Quý II năm 2022 (15/03/2022 – 14/06/2022)"}
    total = result["dossiers"]["total"]
    assert {k: total[k] for k in REFERENCE_DOSSIERS} == REFERENCE_DOSSIERS
    assert set(total) == set(REFERENCE_DOSSIERS) | {"received_postal"}
    assert all({"key", "received_total"} <= set(row) for row in result["dossiers"]["rows"])
    assert sum(row["received_total"] for row in result["dossiers"]["rows"]) == 3238
    assert {k: result["procedures"][k] for k in REFERENCE_PROCEDURES} == REFERENCE_PROCEDURES


def test_cli_readable_table_is_vietnamese(demo_url):
    out = subprocess.run([sys.executable, "-m", "tthc_core", "--db", demo_url, "stats", "--period", "2022-Q2",
                          "--agency", "SLDTBXH"], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True).stdout
    assert "Quý II năm 2022" in out
    total_line = next(line for line in out.splitlines() if line.startswith("Tổng cộng"))
    assert total_line.split()[2:] == ["3.238", "32", "2.999", "207", "2.525", "288", "2.237", "0", "713", "713", "0"]


def test_cli_usage_errors_exit_2_with_one_line(demo_url):
    for args in (["stats", "--period", "2022-Q9"], ["stats"], ["stats", "--period", "2022-Q2", "--agency", "NOPE"],
                 ["frobnicate"]):
        run = subprocess.run([sys.executable, "-m", "tthc_core", "--db", demo_url, *args], capture_output=True,
                             text=True, cwd=PROJECT_ROOT)
        assert run.returncode == 2, args
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_demo_speaks_the_national_sync_record(demo_db):
    """Issue 10 item 5: the demo carries the national record's fields (payment, digitisation, e-results,
    VNeID, applicant type, supplement rounds, steps, never-accepted, refused and stopped dossiers) and
    the catalogue facts of QĐ 766, while the reference quarter above stays exact."""
    from tthc_core.models import Procedure, ProgressStep, SupplementRound

    d = Dossier.__table__.c
    with get_engine(demo_db).connect() as conn:
        def n(*conditions) -> int:
            return conn.scalar(select(func.count()).select_from(Dossier.__table__).where(*conditions))

        assert n(d.intake == "not_accepted") > 0 and n(d.intake == "refused", d.refused_at.is_not(None)) > 0
        assert n(d.status == "stopped", d.source_status == 8, d.resolved_at.is_not(None)) > 0
        assert n(d.withdrawal_requested.is_(True), d.resolved_at.is_(None)) > 0
        assert n(d.paid_online_via == "dvcqg") > 0 and n(d.paid_online_via == "local_gateway") > 0
        assert n(d.fee_total > 0) > 0 and n(d.e_results > 0, d.e_result_url.is_not(None)) > 0
        assert n(d.vneid_authenticated.is_(True)) > 0 and n(d.filed_on_national_portal.is_(True)) > 0
        assert n(d.components_digitised > 0) > 0 and n(d.components_reused > 0) > 0
        assert n(d.components_from_store > 0) > 0 and n(d.applicant_type == 2) > 0
        assert n(d.source_status.is_(None)) == 0 and n(d.procedure_code.is_(None)) == 0
        assert n(d.handling_unit.is_not(None)) > 0
        rounds = conn.scalar(select(func.count()).select_from(SupplementRound))
        assert rounds > 0 and rounds == conn.scalar(select(func.sum(d.supplement_rounds)))
        assert conn.scalar(select(func.count()).select_from(ProgressStep)) > 0
        # Every procedure has the catalogue facts QĐ 766 reads.
        p = Procedure.__table__.c
        facts = (p.has_fee, p.requires_paper_result, p.applicant_types, p.eligible_full_online, p.decision_at,
                 p.legal_basis_effective_at, p.publicized_at, p.public_parts, p.time_unit)
        assert conn.scalar(select(func.count()).select_from(Procedure.__table__)
                           .where(or_(*(f.is_(None) for f in facts)))) == 0
        # The reference agency's dossiers pending at the Q2/2022 cut-off that wait for a supplement were
        # asked for it before the cut-off and supplied it after: suspended at the cut-off (domain.md §4b).
        r = SupplementRound.__table__.c
        cutoff = dt.datetime(2022, 6, 15)
        ref = conn.scalar(select(Agency.id).where(Agency.code == "SLDTBXH"))
        at_cutoff = (select(func.count()).select_from(Dossier.__table__.join(SupplementRound.__table__,
                                                                             r.dossier_id == d.id))
                     .where(d.agency_id == ref, d.received_at < cutoff,
                            (d.resolved_at.is_(None)) | (d.resolved_at >= cutoff)))
        assert conn.scalar(at_cutoff) > 0
        assert conn.scalar(at_cutoff.where((r.requested_at >= cutoff) | (r.supplied_at < cutoff))) == 0
