"""A columnar in-memory copy of the dossiers, keyed by the dossiers' version: the fast path of II.06a.

SQL over a few hundred thousand active rows costs SQLite about a second; the same counts over numpy
arrays cost milliseconds. :func:`grouped_counts` applies exactly the conditions of
:func:`tthc_core.stats.count_conditions` (tests compare both paths on randomised data), and only to
the dossiers that can be active in the period, so the cost follows the period, not the history:

- arrays are sorted by ``received_at``; a period [S, E] reads the slice received in
  [S - WINDOW, E] plus the few dossiers that stayed open longer than WINDOW (``long_idx``).

The copy is built in the background the first time it is asked for (or when the dossiers' version
changed); until it is ready, callers use the SQL path, so nobody waits for it. The build runs in a
child process at a lower priority (:func:`_build_elsewhere`): reading millions of rows into Python
objects holds the interpreter's lock, and in a thread it made the dashboard's own queries half again
slower for the seconds it took. The child leaves the copy in a file (the sidecar for a SQLite
database) that this process loads in a fraction of a second.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String, case, func, select, type_coerce

from .db import PROJECT_ROOT
from .models import Dossier, Setting

WINDOW = dt.timedelta(days=180)
NEVER = np.iinfo(np.int64).max
CHANNELS = {"online": 0, "direct": 1, "postal": 2}
# stopped (TrangThaiHoSo 8, the national records) counts like normal here until the counting rules say otherwise
STATUSES = {"normal": 0, "withdrawn": 1, "returned": 2, "suspended": 3, "stopped": 4}
RESOLUTIONS = {None: 0, "early": 1, "on_time": 2, "late": 3}
VERSION_KEY = "dossiers_version"
_EPOCH = dt.datetime(1970, 1, 1)


def to_us(moment: dt.datetime) -> int:
    """Microseconds since 1970 of a naive timestamp (the database's own convention)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class DossierColumns:
    version: str
    received: np.ndarray
    resolved: np.ndarray
    deadline: np.ndarray
    agency: np.ndarray
    field: np.ndarray
    procedure: np.ndarray
    channel: np.ndarray
    status: np.ndarray
    resolution: np.ndarray
    long_idx: np.ndarray

    def __len__(self) -> int:
        return len(self.received)

    @cached_property
    def group_size(self) -> int:
        """Bins for np.bincount over any group id column (ids shifted by one, -1 for unknown)."""
        largest = max((int(a.max()) for a in (self.agency, self.field, self.procedure) if len(a)), default=0)
        return largest + 2


def dossiers_version(conn) -> str:
    return conn.scalar(select(Setting.value).where(Setting.key == VERSION_KEY)) or "0"


def _codes(column, codes: dict) -> Any:
    """``column`` as its small integer code (``codes``), -1 for a value not in it."""
    known = {k: v for k, v in codes.items() if k is not None}
    return case(*((column == k, v) for k, v in known.items()),
                *(((column.is_(None), codes[None]),) if None in codes else ()), else_=-1)


def _timestamps(values, sqlite: bool) -> np.ndarray:
    if sqlite:  # ISO text as SQLAlchemy stores it: numpy parses it in C
        arr = np.array(values if None not in values else [v if v is not None else "NaT" for v in values],
                       dtype="datetime64[us]")
    else:  # datetime objects from the driver
        arr = pd.to_datetime(pd.Series(values, dtype=object)).to_numpy(dtype="datetime64[us]")
    ints = arr.astype(np.int64)
    ints[np.isnat(arr)] = NEVER
    return ints


def load(engine: Engine, chunk: int = 100_000) -> DossierColumns:
    """Read every dossier's counting columns into numpy arrays, a chunk at a time.

    About ten seconds for two million rows on SQLite (Python row objects are the cost), which is why
    the result is also kept in a sidecar file next to a SQLite database (:func:`sidecar_path`).
    """
    d = Dossier.__table__.c
    sqlite = engine.dialect.name == "sqlite"
    stamp = (lambda col: type_coerce(col, String)) if sqlite else (lambda col: col)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("received", "resolved", "deadline", "agency", "field",
                                                          "procedure", "channel", "status", "resolution")}
    with engine.connect() as conn:
        version = dossiers_version(conn)
        sidecar = sidecar_path(engine)
        if sidecar is not None and sidecar.exists():
            cached = _read_sidecar(sidecar, version)
            if cached is not None:
                return cached
        # Codes and missing ids are mapped in SQL, so each chunk becomes arrays in C (np.array over
        # ints and ISO text) rather than a Python loop per cell: the build holds the GIL far less
        # while the dashboard answers from SQL meanwhile.
        stmt = select(stamp(d.received_at), stamp(d.resolved_at), stamp(d.deadline_at),
                      *(func.coalesce(c, -1) for c in (d.agency_id, d.field_id, d.procedure_id)),
                      _codes(d.channel, CHANNELS), _codes(d.status, STATUSES), _codes(d.resolution, RESOLUTIONS),
                      ).order_by(d.id)
        for rows in _partitions(conn, stmt, chunk):
            received, resolved, deadline, agency, field, procedure, channel, status, resolution = zip(*rows)
            parts["received"].append(_timestamps(received, sqlite))
            parts["resolved"].append(_timestamps(resolved, sqlite))
            parts["deadline"].append(_timestamps(deadline, sqlite))
            for key, values in (("agency", agency), ("field", field), ("procedure", procedure)):
                parts[key].append(np.array(values, dtype=np.int64))
            for key, values in (("channel", channel), ("status", status), ("resolution", resolution)):
                codes = np.array(values, dtype=np.int16)
                if (codes < 0).any():  # a value outside the model's CHECK lists: not silently miscounted
                    raise ValueError(f"unknown {key} code in the dossiers table")
                parts[key].append(codes.astype(np.int8))
    dtypes = {"channel": np.int8, "status": np.int8, "resolution": np.int8}
    arrays = {k: np.concatenate(v) if v else np.zeros(0, dtype=dtypes.get(k, np.int64)) for k, v in parts.items()}
    order = np.argsort(arrays["received"], kind="stable")
    arrays = {k: v[order] for k, v in arrays.items()}
    with np.errstate(over="ignore"):
        long_open = ((arrays["resolved"] == NEVER)
                     | (arrays["resolved"] - arrays["received"] > int(WINDOW.total_seconds() * 1e6)))
    snap = DossierColumns(version=version, long_idx=np.flatnonzero(long_open), **arrays)
    if sidecar is not None:
        _write_sidecar(sidecar, snap)
    return snap


def _partitions(conn, stmt, chunk: int):
    """Rows in chunks; on SQLite straight from the driver's cursor (SQLAlchemy's Row objects double the
    cost of reading millions of rows), the statement still compiled by SQLAlchemy."""
    if conn.dialect.name != "sqlite":
        result = conn.execution_options(yield_per=chunk).execute(stmt)
        try:
            yield from result.partitions()
        finally:
            result.close()  # a server-side cursor must not outlive a database dropped under it
        return
    cursor = conn.connection.driver_connection.cursor()
    try:
        compiled = stmt.compile(dialect=conn.dialect)
        cursor.execute(str(compiled), tuple(compiled.params[name] for name in compiled.positiontup or ()))
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        cursor.close()


def sidecar_path(engine: Engine) -> Path | None:
    """``<database file>.columns`` for a SQLite file; ``None`` for servers and in-memory databases."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database + ".columns")


# The copy's file: this line, one line of JSON (version, then each array's name, dtype and length),
# then the arrays' bytes one after the other. Not numpy's .npz: np.load reads its headers with
# ast.literal_eval, and CPython 3.11 before 3.11.9 raises "AST constructor recursion depth mismatch"
# when two threads build ASTs at once, as a background load and Streamlit compiling a page did.
_SIDECAR_MAGIC = b"TTHC-COLUMNS 1\n"
_ARRAYS = ("received", "resolved", "deadline", "agency", "field", "procedure", "channel", "status", "resolution",
           "long_idx")


def _read_sidecar(path: Path, version: str | None) -> DossierColumns | None:
    """The copy saved at ``path`` if it is of ``version`` (any version when None), else None."""
    try:
        with open(path, "rb") as f:
            if f.readline() != _SIDECAR_MAGIC:
                return None
            header = json.loads(f.readline())
            if version is not None and header["version"] != version:
                return None
            arrays = {}
            for name, dtype, length in header["arrays"]:
                arrays[name] = np.fromfile(f, dtype=np.dtype(dtype), count=length)
                if len(arrays[name]) != length:
                    return None  # cut short
            if set(arrays) != set(_ARRAYS):
                return None
            return DossierColumns(version=header["version"], **arrays)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_sidecar(path: Path, snap: DossierColumns) -> None:
    arrays = {k: np.ascontiguousarray(getattr(snap, k)) for k in _ARRAYS}
    header = {"version": snap.version, "arrays": [[k, a.dtype.str, len(a)] for k, a in arrays.items()]}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(_SIDECAR_MAGIC)
            f.write(json.dumps(header).encode() + b"\n")
            for array in arrays.values():
                f.write(memoryview(array).cast("B"))
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except OSError:
        tmp.unlink(missing_ok=True)


class _Cache:
    """One snapshot per engine; rebuilt in the background when the dossiers' version moves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.snapshots: dict[int, DossierColumns] = {}
        self.building: dict[int, str] = {}

    def get(self, engine: Engine, version: str, wait: bool = False) -> DossierColumns | None:
        key = id(engine)
        with self.lock:
            snap = self.snapshots.get(key)
            if snap is not None and snap.version == version:
                return snap
            started = self.building.get(key) == version
            if not started:
                self.building[key] = version
        if wait:
            return self._build(engine, key)
        if not started:
            threading.Thread(target=self._build, args=(engine, key, True), daemon=True,
                             name="tthc-columns").start()
        return None

    def _build(self, engine: Engine, key: int, elsewhere: bool = False) -> DossierColumns | None:
        try:
            snap = _build_elsewhere(engine) if elsewhere else None
            if snap is None:
                snap = load(engine)
        except Exception:  # the SQL path keeps answering; the next call tries again
            with self.lock:
                self.building.pop(key, None)
            return None
        with self.lock:
            current = self.snapshots.get(key)
            if current is None or current.version != snap.version:
                self.snapshots[key] = snap
            if self.building.get(key) == snap.version:
                del self.building[key]
        return snap

    def forget(self, engine: Engine) -> None:
        with self.lock:
            self.snapshots.pop(id(engine), None)
            self.building.pop(id(engine), None)


CACHE = _Cache()

# The last build in a child process: its wall time and the child's peak memory (the benchmark reports them).
LAST_BUILD: dict[str, float] = {}
_CHILD_URL, _CHILD_OUT = "TTHC_COLUMNS_URL", "TTHC_COLUMNS_OUT"


def _build_elsewhere(engine: Engine) -> DossierColumns | None:
    """Build the copy in a child process at a lower priority and load the file it leaves.

    The sidecar itself for a SQLite file (a valid one is simply loaded, no child needed); a temporary
    file for a server. None when no child can do it (an in-memory database, a failed child): the
    caller then builds in this process.
    """
    sidecar = sidecar_path(engine)
    if engine.dialect.name == "sqlite" and sidecar is None:
        return None  # an in-memory database exists only in this process
    if sidecar is not None:
        with engine.connect() as conn:
            current = _read_sidecar(sidecar, dossiers_version(conn)) if sidecar.exists() else None
        if current is not None:
            return current
    out = sidecar or Path(tempfile.gettempdir()) / f"tthc-columns-{os.getpid()}-{threading.get_ident()}"
    url = engine.url if sidecar is None else engine.url.set(database=str(Path(engine.url.database).resolve()))
    # The URL (password included) goes by environment, not on a command line others can list.
    env = dict(os.environ, **{_CHILD_URL: url.render_as_string(hide_password=False), _CHILD_OUT: str(out)})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", "from tthc_core.columnar import _child_main; "
                               "raise SystemExit(_child_main())"], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            return None
        snap = _read_sidecar(out, None)
        if snap is not None:
            LAST_BUILD.update(seconds=time.perf_counter() - start,
                              peak_mb=float((done.stdout.strip().splitlines() or ["0"])[-1]))
        return snap
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    finally:
        if sidecar is None:
            out.unlink(missing_ok=True)


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB; 0 where /proc is not there."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        return 0.0


def _child_main() -> int:
    """The child of :func:`_build_elsewhere`: build the copy, save it, print the peak memory (MB)."""
    from sqlalchemy import create_engine

    try:
        os.nice(10)  # the dashboard's own queries come first
    except OSError:
        pass
    parent = os.getppid()

    def orphaned() -> None:  # a copy for a process that has gone is wasted work
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    engine = create_engine(os.environ[_CHILD_URL])
    try:
        snap = load(engine)
        out = Path(os.environ[_CHILD_OUT])
        if out != sidecar_path(engine):  # load() saved the sidecar itself
            _write_sidecar(out, snap)
    finally:
        engine.dispose()
    print(f"{peak_memory_mb():.1f}")
    return 0


def snapshot(conn, wait: bool = False) -> DossierColumns | None:
    """The up-to-date copy for ``conn``'s engine, or ``None`` while it is being built."""
    return CACHE.get(conn.engine, dossiers_version(conn), wait=wait)


def grouped_counts(cols: DossierColumns, start: dt.datetime, cutoff: dt.datetime, judged_at: dt.datetime,
                   agency_ids: list[int] | None, by: str, exclude_withdrawn_returned: bool) -> dict[Any, dict[str, int]]:
    """``{group id (None when unknown): counts}``, the same as the SQL GROUP BY of stats."""
    s, c, j = to_us(start), to_us(cutoff), to_us(judged_at)
    lo = int(np.searchsorted(cols.received, s - int(WINDOW.total_seconds() * 1e6)))
    hi = int(np.searchsorted(cols.received, c))
    extra = cols.long_idx[: int(np.searchsorted(cols.long_idx, lo))]
    group_of = {"field": cols.field, "agency": cols.agency, "level": cols.agency, "procedure": cols.procedure}[by]
    size = cols.group_size
    totals: dict[str, np.ndarray] = {}
    for part in (slice(lo, hi), extra):
        t, q = cols.received[part], cols.resolved[part]
        scope = (t < c) & (q >= s)
        if agency_ids is not None:
            scope &= np.isin(cols.agency[part], np.asarray(agency_ids, dtype=np.int64))
        status = cols.status[part]
        if exclude_withdrawn_returned:
            scope &= (status != STATUSES["withdrawn"]) & (status != STATUSES["returned"])
        idx = np.flatnonzero(scope)
        if not len(idx):
            continue
        t, q, status = t[idx], q[idx], status[idx]
        g = group_of[part][idx] + 1
        channel, resolution, deadline = cols.channel[part][idx], cols.resolution[part][idx], cols.deadline[part][idx]
        new = t >= s
        resolved = q < c
        pending = ~resolved
        in_time = (status == STATUSES["suspended"]) | (deadline >= j)
        masks = {
            "received_total": None,
            "received_online": new & (channel == CHANNELS["online"]),
            "received_offline": new & (channel != CHANNELS["online"]),
            "received_postal": new & (channel == CHANNELS["postal"]),
            "carried_over": ~new,
            "resolved_total": resolved,
            "resolved_early": resolved & (resolution == RESOLUTIONS["early"]),
            "resolved_on_time": resolved & (resolution == RESOLUTIONS["on_time"]),
            "resolved_late": resolved & (resolution == RESOLUTIONS["late"]),
            "pending_total": pending,
            "pending_in_time": pending & in_time,
            "pending_overdue": pending & ~in_time,
        }
        for key, mask in masks.items():
            counted = np.bincount(g if mask is None else g[mask], minlength=size)
            totals[key] = totals[key] + counted if key in totals else counted
    if not totals:
        return {}
    present = np.flatnonzero(totals["received_total"])
    return {(None if gid == 0 else int(gid) - 1): {k: int(v[gid]) for k, v in totals.items()} for gid in present}
