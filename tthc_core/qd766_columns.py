"""The column form of the QĐ 766 dossier counts: the same numbers as ``qd766.gather``'s SQL pass,
counted over numpy arrays (issue 11, speed).

A copy of the accepted dossiers' 766 columns (dates as microseconds, the record's yes/no facts as bits
of one integer), sorted by ``received_at`` and keyed by the dossiers' version like the II.06a copy
(:mod:`tthc_core.columnar`). Catalogue facts (has a fee, paper result) are NOT in the copy: a procedure
edit does not move the dossiers' version, so they are read from the procedures table at each call, as
are the PAKN behind 5.4 and the supplement rounds of the few dossiers 2.1 judges one by one.

An engine counts from this copy only when the application put it on the fast path
(``columnar.use_fast_path``): the dashboard and the CLI; library calls and tests count in SQL, except
the property test that compares both forms. For a SQLite file the copy is kept in a sidecar file
(``<database>.columns766``), so the first call of a new process reads it instead of the table.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, String, and_, case, func, or_, select, true, type_coerce

from . import columnar
from .counting import ACCEPTED, NEVER, to_us
from .models import Dossier, Feedback, Procedure

# Bits of ``flags``: what a dossier's national record says, independent of the period.
BITS = {
    "online": 1 << 0, "normal": 1 << 1, "eres": 1 << 2, "fee_all_zero": 1 << 3, "fee_positive": 1 << 4,
    "paid": 1 << 5, "components": 1 << 6, "digit_known": 1 << 7, "digit_true": 1 << 8, "portal_filed": 1 << 9,
    "digitised": 1 << 10, "store": 1 << 11, "pop": 1 << 12, "sync_known": 1 << 13, "synced": 1 << 14,
    "records": 1 << 15,
}
_STAMPS = ("received", "resolved", "due", "deadline", "returned", "refused")
_ARRAYS = ("id", *_STAMPS, "agency", "procedure", "rounds", "flags")
_MAGIC = b"TTHC-COLUMNS-766 1\n"


@dataclass(frozen=True)
class Columns766:
    version: str
    id: np.ndarray
    received: np.ndarray  # µs since 1970, NEVER for NULL, ascending
    resolved: np.ndarray
    due: np.ndarray
    deadline: np.ndarray
    returned: np.ndarray
    refused: np.ndarray
    agency: np.ndarray
    procedure: np.ndarray  # -1: none
    rounds: np.ndarray  # supplement_rounds
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.received)


def _flags_expr():
    d = Dossier.__table__.c
    pop = or_(d.vneid_authenticated == true(), d.components_from_store > 0,
              and_(d.db_connections.is_not(None), d.db_connections != ""))
    facts = {
        "online": d.channel == "online", "normal": d.status == "normal", "eres": d.e_results > 0,
        "fee_all_zero": and_(d.fee_lines > 0, d.fee_total == 0), "fee_positive": d.fee_total > 0,
        "paid": d.paid_online_via.is_not(None), "components": d.components > 0,
        "digit_known": d.has_digitised_components.is_not(None), "digit_true": d.has_digitised_components == true(),
        "portal_filed": d.filed_on_national_portal == true(), "digitised": d.components_digitised > 0,
        "store": d.components_from_store > 0, "pop": pop, "sync_known": d.synced_to_portal.is_not(None),
        "synced": d.synced_to_portal == true(), "records": d.source_status.is_not(None),
    }
    total = None
    for key, cond in facts.items():
        term = case((cond, BITS[key]), else_=0)
        total = term if total is None else total + term
    return total


def load(engine: Engine, chunk: int = 100_000) -> Columns766:
    """Read the accepted dossiers' 766 columns (a chunk at a time, as columnar.load does)."""
    d = Dossier.__table__.c
    sqlite = engine.dialect.name == "sqlite"
    stamp = (lambda col: type_coerce(col, String)) if sqlite else (lambda col: col)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in _ARRAYS}
    with engine.connect() as conn:
        version = columnar.dossiers_version(conn)
        stmt = select(d.id, *(stamp(c) for c in (d.received_at, d.resolved_at, d.due_at, d.deadline_at,
                                                 d.result_returned_at, d.refused_at)),
                      d.agency_id, func.coalesce(d.procedure_id, -1), d.supplement_rounds, _flags_expr()
                      ).where(ACCEPTED).order_by(d.id)
        for rows in columnar._partitions(conn, stmt, chunk):
            cols = list(zip(*rows))
            parts["id"].append(np.array(cols[0], dtype=np.int64))
            for n, key in enumerate(_STAMPS, 1):
                parts[key].append(columnar._timestamps(cols[n], sqlite))
            for n, key in ((7, "agency"), (8, "procedure")):
                parts[key].append(np.array(cols[n], dtype=np.int64))
            parts["rounds"].append(np.array(cols[9], dtype=np.int32))
            parts["flags"].append(np.array(cols[10], dtype=np.int32))
    dtypes = {"rounds": np.int32, "flags": np.int32}
    arrays = {k: np.concatenate(v) if v else np.zeros(0, dtype=dtypes.get(k, np.int64)) for k, v in parts.items()}
    order = np.argsort(arrays["received"], kind="stable")
    return Columns766(version=version, **{k: v[order] for k, v in arrays.items()})


def sidecar_path(engine: Engine) -> Path | None:
    base = columnar.sidecar_path(engine)
    return None if base is None else base.with_name(base.name.replace(".columns", ".columns766"))


def _read(path: Path, version: str) -> Columns766 | None:
    try:
        with open(path, "rb") as f:
            if f.readline() != _MAGIC:
                return None
            header = json.loads(f.readline())
            if header["version"] != version:
                return None
            arrays = {}
            for name, dtype, length in header["arrays"]:
                arrays[name] = np.fromfile(f, dtype=np.dtype(dtype), count=length)
                if len(arrays[name]) != length:
                    return None
            if set(arrays) != set(_ARRAYS):
                return None
            return Columns766(version=version, **arrays)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, snap: Columns766) -> None:
    arrays = {k: np.ascontiguousarray(getattr(snap, k)) for k in _ARRAYS}
    header = {"version": snap.version, "arrays": [[k, a.dtype.str, len(a)] for k, a in arrays.items()]}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(_MAGIC)
            f.write(json.dumps(header).encode() + b"\n")
            for array in arrays.values():
                f.write(memoryview(array).cast("B"))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


class _Cache:
    """One copy per engine, of the dossiers' current version; built in a background thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.snapshots: dict[int, Columns766] = {}
        self.building: dict[int, str] = {}

    def get(self, engine: Engine, version: str, build: bool, wait: bool = False) -> Columns766 | None:
        key = id(engine)
        with self.lock:
            snap = self.snapshots.get(key)
            if snap is not None and snap.version == version:
                return snap
        sidecar = sidecar_path(engine)
        snap = _read(sidecar, version) if sidecar is not None and sidecar.exists() else None
        if snap is not None:
            with self.lock:
                self.snapshots[key] = snap
            return snap
        if wait:
            return self._build(engine, key)
        with self.lock:
            started = key in self.building
            if build and not started:
                self.building[key] = version
        if build and not started:
            threading.Thread(target=self._build, args=(engine, key), daemon=True, name="tthc-columns766").start()
        return None

    def _build(self, engine: Engine, key: int) -> Columns766 | None:
        try:
            snap = load(engine)
        except Exception:  # the SQL path keeps answering; the next call tries again
            with self.lock:
                self.building.pop(key, None)
            return None
        sidecar = sidecar_path(engine)
        if sidecar is not None:
            _write(sidecar, snap)
        with self.lock:
            self.snapshots[key] = snap
            self.building.pop(key, None)
        return snap

    def forget(self, engine: Engine) -> None:
        with self.lock:
            self.snapshots.pop(id(engine), None)
            self.building.pop(id(engine), None)


CACHE = _Cache()


def fast_copy(conn, wait: bool = False) -> Columns766 | None:
    """The copy to count from on ``conn``: None when its engine counts in SQL (not on the fast path) or
    the copy is not ready yet (it is then built in the background when the engine allows it)."""
    build = columnar._FAST_ENGINES.get(conn.engine)
    if build is None and not wait:
        return None
    return CACHE.get(conn.engine, columnar.dossiers_version(conn), build=bool(build), wait=wait)


# --------------------------------------------------------------------------------------------
# Counting: qd766._dossier_conditions over the arrays
# --------------------------------------------------------------------------------------------

def _catalogue(conn, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per procedure id (index; the last slot for "no procedure"): paper result, has a fee (NULL → no)."""
    p = Procedure.__table__.c
    rows = conn.execute(select(p.id, p.requires_paper_result, p.has_fee)).all()
    top = max([size, *(r.id + 1 for r in rows)])
    paper, fee = np.zeros(top + 1, dtype=bool), np.zeros(top + 1, dtype=bool)
    for r in rows:
        paper[r.id], fee[r.id] = bool(r.requires_paper_result), bool(r.has_fee)
    return paper, fee


def _pakn_ids(conn) -> np.ndarray:
    """Ids of the dossiers a PAKN names (5.4), as the SQL form's ``code IN (SELECT dossier_code …)``."""
    d, f = Dossier.__table__.c, Feedback.__table__.c
    codes = select(f.dossier_code).where(f.dossier_code.is_not(None))
    return np.array(sorted(conn.scalars(select(d.id).where(d.code.in_(codes))).all()), dtype=np.int64)


def dossier_counts(conn, snap: Columns766, b: Any, ids: set[int] | None, keys: tuple[str, ...]
                   ) -> tuple[dict[int, dict[str, float]], np.ndarray]:
    """Per agency: each key of ``qd766.DOSSIER_KEYS`` (on21 for the simple dossiers only), ``days22``
    and ``special21``; and the ids of the dossiers 2.1 must judge one by one."""
    s, c, cutoff = to_us(b.start), to_us(b.c), to_us(b.cutoff)
    last = int(np.searchsorted(snap.received, c, side="right"))  # received ≤ C: a prefix
    resolved, refused, returned = snap.resolved[:last], snap.refused[:last], snap.returned[:last]
    end = np.where(resolved != NEVER, resolved, np.where(returned != NEVER, returned, refused))
    base = ((resolved == NEVER) | (resolved >= s)) & ((end == NEVER) | (end >= s))
    if ids is not None:
        base &= np.isin(snap.agency[:last], np.fromiter(ids, dtype=np.int64))
    rows = np.flatnonzero(base)
    end = end[rows]
    received, due, deadline = snap.received[rows], snap.due[rows], snap.deadline[rows]
    flags, agency = snap.flags[rows], snap.agency[rows]
    proc = snap.procedure[rows]
    paper_of, fee_of = _catalogue(conn, int(snap.procedure.max(initial=0)) + 1)
    proc = np.where(proc < 0, len(paper_of) - 1, proc)  # no procedure: the empty last slot
    paper, has_fee = paper_of[proc], fee_of[proc]

    def bit(name: str) -> np.ndarray:
        return (flags & BITS[name]) != 0

    recv = received >= s
    online, eres = bit("online"), bit("eres")
    fee_den = recv & has_fee & ~bit("fee_all_zero")
    portal = bit("portal_filed")
    ended = (end != NEVER) & (end <= c)
    t = np.where(ended, end, c)
    has_due = due != NEVER
    simple = (snap.rounds[rows] == 0) & has_due
    has_deadline = deadline != NEVER
    on_time = simple & ((t <= due) | (has_deadline & (deadline > due) & (t < deadline)))
    resolved_rows = snap.resolved[rows]
    ended22 = recv & bit("normal") & (resolved_rows != NEVER) & (resolved_rows <= c)
    masks = {
        "recv": recv, "records": recv & bit("records"), "sync_known": recv & bit("sync_known"),
        "synced": recv & bit("synced"),
        "online_ok": recv & online & (~paper | eres), "online_no_eres": recv & online & paper & ~eres,
        "fee_den": fee_den, "paid": fee_den & bit("paid"), "paper": recv & paper, "paper_eres": recv & paper & eres,
        "comp_ok": recv & bit("components") & (~paper | eres),
        "digit_den": recv & (bit("digit_known") | portal),
        "digit": recv & np.where(portal, bit("digitised"), bit("digit_true")),
        "store": recv & bit("store"), "pop": recv & bit("pop"), "den21": np.ones(len(rows), dtype=bool),
        "simple21": simple, "on21": on_time,
        "at_risk21": on_time & ~ended & has_deadline & (deadline <= cutoff),
        "pakn54": np.isin(snap.id[rows], _pakn_ids(conn)), "ended22": ended22,
    }
    agencies, index = np.unique(agency, return_inverse=True)
    out: dict[int, dict[str, float]] = {int(a): {} for a in agencies}
    width = len(agencies)
    for key in keys:
        counts = np.bincount(index, weights=masks[key], minlength=width)
        for a, n in zip(agencies, counts):
            out[int(a)][key] = int(n)
    days = np.where(ended22, (resolved_rows - received) / 86_400_000_000, 0.0)
    for a, n in zip(agencies, np.bincount(index, weights=days, minlength=width)):
        out[int(a)]["days22"] = float(n)
    for a, n in zip(agencies, np.bincount(index, weights=~simple, minlength=width)):
        out[int(a)]["special21"] = int(n)
    return out, snap.id[rows[~simple]]


def procedure_usage(snap: Columns766, b: Any, ids: set[int] | None) -> dict[int, dict[str, int]]:
    """``qd766._procedure_facts``' usage query: per procedure, the period's dossiers and whether one was
    online, had a non-zero fee, was paid online, used population data."""
    s, c = to_us(b.start), to_us(b.c)
    lo = int(np.searchsorted(snap.received, s, side="left"))
    hi = int(np.searchsorted(snap.received, c, side="right"))
    proc, flags = snap.procedure[lo:hi], snap.flags[lo:hi]
    keep = proc >= 0
    if ids is not None:
        keep &= np.isin(snap.agency[lo:hi], np.fromiter(ids, dtype=np.int64))
    proc, flags = proc[keep], flags[keep]
    procs, index = np.unique(proc, return_inverse=True)
    width = len(procs)
    counts = np.bincount(index, minlength=width)
    usage = {int(p): {"dossiers": int(n)} for p, n in zip(procs, counts)}
    for name, bit in (("used_online", "online"), ("fee_used", "fee_positive"), ("paid_used", "paid"),
                      ("pop_used", "pop")):
        hits = np.bincount(index, weights=(flags & BITS[bit]) != 0, minlength=width)
        for p, n in zip(procs, hits):
            usage[int(p)][name] = int(n > 0)
    return usage
