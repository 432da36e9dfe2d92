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
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, String, and_, case, func, or_, select, true, type_coerce

from . import columnar
from .counting import ACCEPTED, NEVER, WINDOW_US, to_us
from .models import Dossier, Feedback, Procedure, SupplementRound

# Bits of ``flags``: what a dossier's national record says, independent of the period.
BITS = {
    "online": 1 << 0, "normal": 1 << 1, "eres": 1 << 2, "fee_out": 1 << 3, "fee_positive": 1 << 4,
    "paid": 1 << 5, "components": 1 << 6, "digit_known": 1 << 7, "digit_true": 1 << 8, "portal_filed": 1 << 9,
    "digitised": 1 << 10, "store": 1 << 11, "pop": 1 << 12, "sync_known": 1 << 13, "synced": 1 << 14,
    "records": 1 << 15, "pushed": 1 << 16, "pushed_known": 1 << 17, "rated_bad": 1 << 18, "rated_known": 1 << 19,
}
# The keys of qd766._dossier_conditions this form counts (a new key there sends gather back to SQL).
KEYS = frozenset({
    "recv", "records", "sync_known", "synced", "online_ok", "online_no_eres", "fee_den", "paid", "paper",
    "paper_eres", "comp_ok", "digit_den", "digit", "store", "pop", "den21", "simple21", "on21", "at_risk21",
    "pakn54", "ended22", "store_known", "rated_known",
})
_STAMPS = ("received", "resolved", "due", "deadline", "end")
_ROUNDS = ("round_row", "round_requested", "round_supplied", "round_due_before")
_ARRAYS = ("id", *_STAMPS, "agency", "procedure", "rounds", "flags", "long_idx", *_ROUNDS)
_MAGIC = b"TTHC-COLUMNS-766 5\n"
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Columns766:
    version: str
    id: np.ndarray
    received: np.ndarray  # µs since 1970, NEVER for NULL, ascending
    resolved: np.ndarray
    due: np.ndarray
    deadline: np.ndarray
    end: np.ndarray  # processed, else result returned, else refused (qd766._end_expr)
    agency: np.ndarray
    procedure: np.ndarray  # -1: none
    rounds: np.ndarray  # supplement_rounds
    flags: np.ndarray
    # Rows open longer than counting.WINDOW (or never ended): with the rows received in the window before a
    # period's start, they are every row a period can count, so a call reads the period, not the history.
    long_idx: np.ndarray
    # The supplement rounds, by the dossier's row above, then request time, then id (qd766._rounds_of's order).
    round_row: np.ndarray
    round_requested: np.ndarray
    round_supplied: np.ndarray
    round_due_before: np.ndarray

    def __len__(self) -> int:
        return len(self.received)


def _flags_expr():
    d = Dossier.__table__.c
    pop = or_(d.vneid_authenticated == true(), d.components_from_store > 0,
              and_(d.db_connections.is_not(None), d.db_connections != ""))
    facts = {
        "online": d.channel == "online", "normal": d.status == "normal", "eres": d.e_results > 0,
        "fee_positive": d.fee_total > 0,
        "paid": d.paid_online_via.is_not(None), "components": d.components > 0,
        "digit_known": d.has_digitised_components.is_not(None), "digit_true": d.has_digitised_components == true(),
        "portal_filed": d.filed_on_national_portal == true(), "digitised": d.components_digitised > 0,
        "store": d.components_from_store > 0, "pop": pop, "sync_known": d.synced_to_portal.is_not(None),
        "synced": d.synced_to_portal == true(), "records": d.source_status.is_not(None),
        "pushed": d.result_pushed_to_store == true(), "pushed_known": d.result_pushed_to_store.is_not(None),
        "rated_bad": d.rated_dissatisfied == true(), "rated_known": d.rated_dissatisfied.is_not(None),
    }
    # 3.6 keeps a dossier only where NOT (fee lines, all Gia 0) is true: NULL (lines, no total) is out too
    total = case((~and_(d.fee_lines > 0, d.fee_total == 0), 0), else_=BITS["fee_out"])
    for key, cond in facts.items():
        total = total + case((cond, BITS[key]), else_=0)
    return total


def load(engine: Engine, chunk: int = 100_000) -> Columns766:
    """Read the accepted dossiers' 766 columns (a chunk at a time, as columnar.load does)."""
    d = Dossier.__table__.c
    sqlite = engine.dialect.name == "sqlite"
    stamp = (lambda col: type_coerce(col, String)) if sqlite else (lambda col: col)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in _ARRAYS if k != "long_idx"}
    with engine.connect() as conn:
        version = columnar.dossiers_version(conn)
        end = func.coalesce(d.resolved_at, d.result_returned_at, d.refused_at)
        stmt = select(d.id, *(stamp(c) for c in (d.received_at, d.resolved_at, d.due_at, d.deadline_at, end)),
                      d.agency_id, func.coalesce(d.procedure_id, -1), d.supplement_rounds, _flags_expr()
                      ).where(ACCEPTED).order_by(d.id)
        for rows in columnar._partitions(conn, stmt, chunk):
            cols = list(zip(*rows))
            parts["id"].append(np.array(cols[0], dtype=np.int64))
            for n, key in enumerate(_STAMPS, 1):
                parts[key].append(columnar._timestamps(cols[n], sqlite))
            for n, key in ((6, "agency"), (7, "procedure")):
                parts[key].append(np.array(cols[n], dtype=np.int64))
            parts["rounds"].append(np.array(cols[8], dtype=np.int32))
            parts["flags"].append(np.array(cols[9], dtype=np.int32))
        dtypes = {"rounds": np.int32, "flags": np.int32}
        arrays = {k: np.concatenate(v) if v else np.zeros(0, dtype=dtypes.get(k, np.int64))
                  for k, v in parts.items() if k not in _ROUNDS}
        ids_by_load = arrays["id"]  # ascending: the statement's order
        order = np.argsort(arrays["received"], kind="stable")
        arrays = {k: v[order] for k, v in arrays.items()}
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))  # a dossier's row in the sorted arrays, by load order
        rounds = _load_rounds(conn, sqlite, ids_by_load, position)
    with np.errstate(over="ignore"):
        long_open = (arrays["end"] == NEVER) | (arrays["end"] - arrays["received"] > WINDOW_US)
    return Columns766(version=version, long_idx=np.flatnonzero(long_open), **arrays, **rounds)


def _load_rounds(conn, sqlite: bool, ids: np.ndarray, position: np.ndarray) -> dict[str, np.ndarray]:
    """The rounds of the loaded dossiers (``ids`` ascending, ``position`` their rows in the copy)."""
    r = SupplementRound.__table__.c
    stamp = (lambda col: type_coerce(col, String)) if sqlite else (lambda col: col)
    rows = conn.execute(select(r.dossier_id, stamp(r.requested_at), stamp(r.supplied_at), stamp(r.due_before),
                               r.id)).all()
    empty = np.zeros(0, dtype=np.int64)
    if not rows or not len(ids):
        return {k: empty for k in _ROUNDS}
    dossier, requested, supplied, due_before, round_id = zip(*rows)
    dossier = np.array(dossier, dtype=np.int64)
    k = np.minimum(np.searchsorted(ids, dossier), len(ids) - 1)
    loaded = ids[k] == dossier  # rounds of a dossier not accepted: out
    arrays = {"round_row": position[k[loaded]], "round_requested": columnar._timestamps(requested, sqlite)[loaded],
              "round_supplied": columnar._timestamps(supplied, sqlite)[loaded],
              "round_due_before": columnar._timestamps(due_before, sqlite)[loaded]}
    order = np.lexsort((np.array(round_id, dtype=np.int64)[loaded], arrays["round_requested"], arrays["round_row"]))
    return {k: v[order] for k, v in arrays.items()}


def sidecar_path(engine: Engine) -> Path | None:
    """Where the copy is kept between processes: ``<database file>.columns766`` for a SQLite file; for a
    server, a file of this user's cache directory (``TTHC_CACHE_DIR``, else ``~/.cache/tthc-core``,
    private) named by the URL without its password; None for an in-memory database."""
    base = columnar.sidecar_path(engine)
    if base is not None:
        return base.with_name(base.name.replace(".columns", ".columns766"))
    if engine.dialect.name == "sqlite":
        return None
    import hashlib

    folder = Path(os.environ.get("TTHC_CACHE_DIR") or Path.home() / ".cache" / "tthc-core")
    name = hashlib.sha256(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:24]
    return folder / f"columns766-{name}.bin"


def _kept(engine: Engine, version: str) -> Path | None:
    """:func:`sidecar_path` when the copy of ``version`` may be kept there. A server's file is trusted
    only for a real version token: "0" (never written by an import) could be another database that
    was recreated at the same URL."""
    path = sidecar_path(engine)
    if path is None or (engine.dialect.name != "sqlite" and version == "0"):
        return None
    if engine.dialect.name != "sqlite":
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return None
    return path


def _read(path: Path, version: str | None) -> Columns766 | None:
    """The copy saved at ``path`` if it is of ``version`` (any version when None), else None."""
    try:
        with open(path, "rb") as f:
            if f.readline() != _MAGIC:
                return None
            header = json.loads(f.readline())
            if version is not None and header["version"] != version:
                return None
            # Mapped, not read: a call touches the period's rows (and the long-open ones), not the history.
            offset, size = f.tell(), os.fstat(f.fileno()).st_size
            arrays = {}
            for name, dtype, length in header["arrays"]:
                dtype = np.dtype(dtype)
                if offset + length * dtype.itemsize > size:
                    return None  # cut short
                arrays[name] = (np.memmap(f, dtype=dtype, mode="r", offset=offset, shape=(length,)) if length
                                else np.zeros(0, dtype=dtype))
                offset += length * dtype.itemsize
            if set(arrays) != set(_ARRAYS):
                return None
            return Columns766(version=header["version"], **arrays)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, snap: Columns766) -> None:
    columnar.write_arrays(path, _MAGIC, snap, _ARRAYS)


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
        sidecar = _kept(engine, version)
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
            threading.Thread(target=self._build, args=(engine, key, True), daemon=True,
                             name="tthc-columns766").start()
        return None

    def _build(self, engine: Engine, key: int, elsewhere: bool = False) -> Columns766 | None:
        try:
            snap = _build_elsewhere(engine) if elsewhere else None
            if snap is None:
                snap = load(engine)
                sidecar = _kept(engine, snap.version)
                if sidecar is not None:
                    _write(sidecar, snap)
        except Exception:  # the SQL path keeps answering; the next call tries again
            with self.lock:
                self.building.pop(key, None)
            return None
        with self.lock:
            self.snapshots[key] = snap
            self.building.pop(key, None)
        return snap

    def forget(self, engine: Engine) -> None:
        with self.lock:
            self.snapshots.pop(id(engine), None)
            self.building.pop(id(engine), None)


CACHE = _Cache()


def _build_elsewhere(engine: Engine) -> Columns766 | None:
    """Build the copy in a child process at a lower priority, as columnar._build_elsewhere does (reading
    millions of rows in a thread would hold the dashboard's interpreter lock), and load the file it
    leaves: the sidecar of a SQLite file, a temporary file for a server. None when no child can."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        sidecar = _kept(engine, columnar.dossiers_version(conn))
    if sqlite and sidecar is None:
        return None  # an in-memory database exists only in this process
    out = sidecar or Path(tempfile.gettempdir()) / f"tthc-columns766-{os.getpid()}-{threading.get_ident()}"
    try:
        done = columnar.run_child("tthc_core.qd766_columns", engine, out)
        return _read(out, None) if done is not None and done.returncode == 0 else None
    finally:
        if sidecar is None:
            out.unlink(missing_ok=True)


def _child_main() -> int:
    """The child of :func:`_build_elsewhere`: build the copy and save it."""
    engine, out = columnar.child_engine()
    try:
        _write(out, load(engine))
    finally:
        engine.dispose()
    return 0


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

def _catalogue(conn) -> tuple[np.ndarray, np.ndarray]:
    """Per procedure id (index; the last slot for "no procedure"): paper result, has a fee (NULL → no).
    A dossier's procedure_id is a foreign key, so every id it holds is in the table."""
    p = Procedure.__table__.c
    rows = conn.execute(select(p.id, p.requires_paper_result, p.has_fee)).all()
    top = max([0, *(r.id + 1 for r in rows)])
    paper, fee = np.zeros(top + 1, dtype=bool), np.zeros(top + 1, dtype=bool)
    for r in rows:
        paper[r.id], fee[r.id] = bool(r.requires_paper_result), bool(r.has_fee)
    return paper, fee


def _pakn_ids(conn) -> np.ndarray:
    """Ids of the dossiers a PAKN names (5.4), as the SQL form's ``code IN (SELECT dossier_code …)``."""
    d, f = Dossier.__table__.c, Feedback.__table__.c
    codes = select(f.dossier_code).where(f.dossier_code.is_not(None))
    return np.array(sorted(conn.scalars(select(d.id).where(d.code.in_(codes))).all()), dtype=np.int64)


def dossier_counts(conn, snap: Columns766, b: Any, ids: set[int] | None, keys: tuple[str, ...],
                   due_basis: str = "current") -> tuple[dict[int, dict[str, float]], np.ndarray]:
    """Per agency: each key of ``qd766.DOSSIER_KEYS``, ``days22`` and ``special21``; on21 counts every
    dossier judged here (no round: SQL's simple form; rounds and a due date: :func:`judge_rounds`).
    Also the ids of the dossiers without a due date, which 2.1 judges one by one in Python (their
    procedure's maximum time on the working-day calendar) and which on21 does not count yet."""
    s, c, cutoff = to_us(b.start), to_us(b.c), to_us(b.cutoff)
    last = int(np.searchsorted(snap.received, c, side="right"))  # received ≤ C: a prefix
    # Received before S − WINDOW and not ended before S: only the long-open rows can be (ascending order kept)
    first = int(np.searchsorted(snap.received, s - WINDOW_US, side="left"))
    long_rows = np.asarray(snap.long_idx)
    candidates = np.concatenate([long_rows[:np.searchsorted(long_rows, first)], np.arange(first, last)])
    # not ended before S; NEVER (a missing end) is the largest value, so one comparison says both
    base = snap.end[candidates] >= s
    if ids is not None:
        base &= np.isin(snap.agency[candidates], np.fromiter(ids, dtype=np.int64))
    rows = candidates[base]
    end, received, due, deadline = snap.end[rows], snap.received[rows], snap.due[rows], snap.deadline[rows]
    flags, agency = snap.flags[rows], snap.agency[rows]
    proc = snap.procedure[rows]
    paper_of, fee_of = _catalogue(conn)
    proc = np.where(proc < 0, len(paper_of) - 1, proc)  # no procedure: the empty last slot
    paper, has_fee = paper_of[proc], fee_of[proc]

    def bit(name: str) -> np.ndarray:
        return (flags & BITS[name]) != 0

    recv = received >= s
    online, eres = bit("online"), bit("eres")
    fee_den = recv & has_fee & ~bit("fee_out")
    portal = bit("portal_filed")
    ended = end <= c  # NEVER is never ≤ C
    t = np.where(ended, end, c)
    has_due = due != NEVER
    simple = (snap.rounds[rows] == 0) & has_due
    has_deadline = deadline != NEVER
    # qd766._simple_21: deadline_at > due_at only for a date-only due date (its deadline, the next midnight)
    on_simple = simple & ((t <= due) | (has_deadline & (deadline > due) & (t < deadline)))
    with_rounds = ~simple & has_due
    on21 = on_simple.copy()
    on21[with_rounds] = judge_rounds(snap, rows[with_rounds], c, due_basis)
    resolved = snap.resolved[rows]
    ended22 = recv & bit("normal") & (resolved <= c)
    masks = {
        "recv": recv, "records": recv & bit("records"), "sync_known": recv & bit("sync_known"),
        "synced": recv & bit("synced"),
        "online_ok": recv & online & (~paper | eres), "online_no_eres": recv & online & paper & ~eres,
        "fee_den": fee_den, "paid": fee_den & bit("paid"), "paper": recv & paper, "paper_eres": recv & paper & eres,
        "comp_ok": recv & bit("components") & (~paper | eres),
        "digit_den": recv & (bit("digit_known") | portal),
        "digit": recv & np.where(portal, bit("digitised"), bit("digit_true")),
        "store": recv & (bit("store") | bit("pushed")), "store_known": recv & bit("pushed_known"),
        "pop": recv & bit("pop"), "den21": np.ones(len(rows), dtype=bool),
        "simple21": simple, "on21": on21,
        "at_risk21": on_simple & ~ended & has_deadline & (deadline <= cutoff),
        "pakn54": np.isin(snap.id[rows], _pakn_ids(conn)) | bit("rated_bad"), "rated_known": bit("rated_known"),
        "ended22": ended22,
    }
    agencies, index = np.unique(agency, return_inverse=True)
    width = len(agencies)
    out: dict[int, dict[str, float]] = {int(a): {} for a in agencies}
    for key in keys:
        for a, n in zip(agencies, np.bincount(index, weights=masks[key], minlength=width)):
            out[int(a)][key] = int(n)
    days = np.where(ended22, (resolved - received) / DAY_US, 0.0)
    for a, n in zip(agencies, np.bincount(index, weights=days, minlength=width)):
        out[int(a)]["days22"] = float(n)
    for a, n in zip(agencies, np.bincount(index, weights=~simple, minlength=width)):
        out[int(a)]["special21"] = int(n)
    return out, snap.id[rows[~has_due]]


def judge_rounds(snap: Columns766, rows: np.ndarray, c: int, due_basis: str = "current") -> np.ndarray:
    """qd766.on_time_21 for dossiers with a due date, over the copy's rounds: ``rows`` (ascending) on
    time at C. Rounds requested after C do not exist yet; one unanswered request at C sets T to its
    request time, more than one makes the dossier late; answered rounds' time is subtracted; the due
    date in force is the first open round's due_before (``original``: the first round's)."""
    n = len(rows)
    if n == 0:
        return np.zeros(0, dtype=bool)
    k = np.searchsorted(rows, snap.round_row)
    k = np.minimum(k, n - 1)
    mine = (rows[k] == snap.round_row) & (snap.round_requested <= c)
    k = k[mine]
    requested, supplied, due_before = (snap.round_requested[mine], snap.round_supplied[mine],
                                       snap.round_due_before[mine])
    answered = supplied <= c
    n_req = np.bincount(k, minlength=n)
    n_open = np.bincount(k[~answered], minlength=n)
    sup = np.zeros(n, dtype=np.int64)
    np.add.at(sup, k[answered], supplied[answered] - requested[answered])
    end, due = snap.end[rows], snap.due[rows].copy()
    open_k, first_open = np.unique(k[~answered], return_index=True)  # rounds are in request order per row
    open_at = np.full(n, c, dtype=np.int64)
    open_at[open_k] = requested[~answered][first_open]
    open_due = due_before[~answered][first_open]
    known = open_due != NEVER
    due[open_k[known]] = open_due[known]
    if due_basis == "original":
        first_k, first = np.unique(k, return_index=True)
        first_due = due_before[first]
        due[first_k[first_due != NEVER]] = first_due[first_due != NEVER]
    ended = end <= c
    t = np.where(ended, end, np.where(n_open > 0, open_at, c))
    moment = t - sup
    midnight = due % DAY_US == 0  # a due date at 00:00 means the end of that day
    within = np.where(midnight, moment < due + DAY_US, moment <= due)
    return within & ~(~ended & (n_open > 0) & (n_req > 1))


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
