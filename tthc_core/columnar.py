"""A columnar in-memory copy of the dossiers, keyed by the dossiers' version: the fast path of II.06a.

SQL over a few hundred thousand active rows costs SQLite about a second; the same counts over numpy
arrays cost milliseconds. This module keeps the copy (arrays sorted by ``received_at``, with
``long_idx`` listing the dossiers open longer than ``counting.WINDOW``); the rules that count over it
are :func:`tthc_core.counting.column_grouped_counts`, beside their SQL form. An engine counts from the
copy only when the application asks for it (:func:`use_fast_path`): the dashboard and the CLI do,
library calls and tests count in SQL.

The copy is built in the background the first time it is asked for (or when the dossiers' version
changed); until it is ready, callers use the SQL path, so nobody waits for it. The build runs in a
child process at a lower priority (:func:`_build_elsewhere`): reading millions of rows into Python
objects holds the interpreter's lock, and in a thread it made the dashboard's own queries half again
slower for the seconds it took. The child leaves the copy in a file (the sidecar for a SQLite
database) that this process loads in a fraction of a second.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String, case, func, select, type_coerce

from .counting import ACCEPTED, CHANNEL_CODES, GROUP_COLUMNS, NEVER, RESOLUTION_CODES, STATUS_CODES, WINDOW_US
from .db import PROJECT_ROOT, get_engine
from .models import Dossier, Setting, SupplementRound

VERSION_KEY = "dossiers_version"


@dataclass(frozen=True)
class DossierColumns:
    version: str
    received: np.ndarray
    resolved: np.ndarray
    due: np.ndarray
    agency: np.ndarray
    field: np.ndarray
    procedure: np.ndarray
    channel: np.ndarray
    status: np.ndarray
    resolution: np.ndarray
    long_idx: np.ndarray
    # The supplement rounds, ordered by the dossier's position in the arrays above, then by request.
    round_row: np.ndarray
    round_requested: np.ndarray
    round_supplied: np.ndarray
    round_due_before: np.ndarray

    def __len__(self) -> int:
        return len(self.received)

    @property
    def has_any_rounds(self) -> bool:
        return len(self.round_row) > 0

    @cached_property
    def has_rounds(self) -> np.ndarray:
        """Per dossier: it has supplement rounds (they, not its status, decide when it is suspended)."""
        marks = np.zeros(len(self), dtype=bool)
        marks[self.round_row] = True
        return marks

    @cached_property
    def dormant(self) -> "Dormant":
        """The long-open dossiers that never closed, without rounds and not stopped (the abandoned records
        a real one-stop system accumulates), apart from the other long-open ones: every period after
        their window counts them the same way (carried over, pending; in time by their due date), so
        :func:`tthc_core.counting.column_grouped_counts` counts them from contiguous arrays."""
        long_idx = self.long_idx
        quiet = ((self.resolved[long_idx] == NEVER) & (self.status[long_idx] != STATUS_CODES["stopped"])
                 & ~self.has_rounds[long_idx])
        rows = long_idx[quiet]
        return Dormant(rows=rows, others=long_idx[~quiet], due=self.due[rows], status=self.status[rows],
                       agency=self.agency[rows],
                       groups={by: self.group_column(by)[rows] for by in ("field", "agency", "level", "procedure")})

    def group_column(self, by: str) -> np.ndarray:
        """The id column a grouping counts by (:data:`GROUP_COLUMNS`); -1 where unknown."""
        return getattr(self, GROUP_COLUMNS[by].removesuffix("_id"))

    @cached_property
    def group_size(self) -> int:
        """Bins for np.bincount over any group id column (ids shifted by one, -1 for unknown)."""
        largest = max((int(a.max()) for a in (self.agency, self.field, self.procedure) if len(a)), default=0)
        return largest + 2


@dataclass(frozen=True)
class Dormant:
    """:attr:`DossierColumns.dormant`: ``rows`` (positions in the copy, ascending, so by receipt) and their
    columns side by side; ``others`` the rest of ``long_idx``."""
    rows: np.ndarray
    others: np.ndarray
    due: np.ndarray
    status: np.ndarray
    agency: np.ndarray
    groups: dict[str, np.ndarray]


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
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("id", "received", "resolved", "due", "agency", "field",
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
        stmt = select(d.id, stamp(d.received_at), stamp(d.resolved_at), stamp(d.due_at),
                      *(func.coalesce(c, -1) for c in (d.agency_id, d.field_id, d.procedure_id)),
                      _codes(d.channel, CHANNEL_CODES), _codes(d.status, STATUS_CODES),
                      _codes(d.resolution, RESOLUTION_CODES),
                      ).where(ACCEPTED).order_by(d.id)
        for rows in _partitions(conn, stmt, chunk):
            ids, received, resolved, due, agency, field, procedure, channel, status, resolution = zip(*rows)
            parts["received"].append(_timestamps(received, sqlite))
            parts["resolved"].append(_timestamps(resolved, sqlite))
            parts["due"].append(_timestamps(due, sqlite))
            for key, values in (("id", ids), ("agency", agency), ("field", field), ("procedure", procedure)):
                parts[key].append(np.array(values, dtype=np.int64))
            for key, values in (("channel", channel), ("status", status), ("resolution", resolution)):
                codes = np.array(values, dtype=np.int16)
                if (codes < 0).any():  # a value outside the model's CHECK lists: not silently miscounted
                    raise ValueError(f"unknown {key} code in the dossiers table")
                parts[key].append(codes.astype(np.int8))
        dtypes = {"channel": np.int8, "status": np.int8, "resolution": np.int8}
        arrays = {k: np.concatenate(v) if v else np.zeros(0, dtype=dtypes.get(k, np.int64)) for k, v in parts.items()}
        ids = arrays.pop("id")  # ascending: the statement's order
        order = np.argsort(arrays["received"], kind="stable")
        arrays = {k: v[order] for k, v in arrays.items()}
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))  # a dossier's row in the sorted arrays, by load order
        rounds = _load_rounds(conn, sqlite, ids, position)
    # Read by every period they may be active in: open (or stopped: a setting keeps those open) or open
    # longer than the window before a period's start (counting.column_grouped_counts).
    with np.errstate(over="ignore"):
        long_open = ((arrays["resolved"] == NEVER) | (arrays["status"] == STATUS_CODES["stopped"])
                     | (arrays["resolved"] - arrays["received"] > WINDOW_US))
    snap = DossierColumns(version=version, long_idx=np.flatnonzero(long_open), **arrays, **rounds)
    if sidecar is not None:
        _write_sidecar(sidecar, snap)
    return snap


def _load_rounds(conn, sqlite: bool, ids: np.ndarray, position: np.ndarray) -> dict[str, np.ndarray]:
    """The supplement rounds of the loaded dossiers, by their rows, in the order of
    ``counting._sql_first_round`` (request time, position, id)."""
    r = SupplementRound.__table__.c
    stamp = (lambda col: type_coerce(col, String)) if sqlite else (lambda col: col)
    rows = conn.execute(select(r.dossier_id, stamp(r.requested_at), stamp(r.supplied_at), stamp(r.due_before),
                               r.position, r.id)).all()
    empty = np.zeros(0, dtype=np.int64)
    if not rows:
        return {"round_row": empty, "round_requested": empty, "round_supplied": empty, "round_due_before": empty}
    dossier, requested, supplied, due_before, order_in, round_id = zip(*rows)
    dossier = np.array(dossier, dtype=np.int64)
    k = np.minimum(np.searchsorted(ids, dossier), max(len(ids) - 1, 0))
    loaded = (ids[k] == dossier) if len(ids) else np.zeros(len(dossier), dtype=bool)  # rounds of refused: out
    arrays = {"round_row": position[k[loaded]] if len(ids) else empty,
              "round_requested": _timestamps(requested, sqlite)[loaded],
              "round_supplied": _timestamps(supplied, sqlite)[loaded],
              "round_due_before": _timestamps(due_before, sqlite)[loaded]}
    ties = (np.array(round_id, dtype=np.int64)[loaded], np.array(order_in, dtype=np.int64)[loaded])
    order = np.lexsort((*ties, arrays["round_requested"], arrays["round_row"]))
    return {k: v[order] for k, v in arrays.items()}


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
_SIDECAR_MAGIC = b"TTHC-COLUMNS 2\n"
_ARRAYS = ("received", "resolved", "due", "agency", "field", "procedure", "channel", "status", "resolution",
           "long_idx", "round_row", "round_requested", "round_supplied", "round_due_before")


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
    write_arrays(path, _SIDECAR_MAGIC, snap, _ARRAYS)


def write_arrays(path: Path, magic: bytes, snap: Any, names: Sequence[str]) -> None:
    """Save ``snap``'s arrays ``names`` and its version to ``path``: the magic line, a JSON header, the raw
    arrays (this copy's sidecar and qd766_columns' file)."""
    arrays = {k: np.ascontiguousarray(getattr(snap, k)) for k in names}
    header = {"version": snap.version, "arrays": [[k, a.dtype.str, len(a)] for k, a in arrays.items()]}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(magic)
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

    def get(self, engine: Engine, version: str, wait: bool = False, build: bool = True) -> DossierColumns | None:
        """The copy of ``version``: in memory, else a valid sidecar read now (tens of milliseconds for
        millions of rows, so the first call of a new process answers from it; a stale one is never
        used), else built now (``wait``) or in the background (``build``) while the caller uses SQL."""
        key = id(engine)
        with self.lock:
            snap = self.snapshots.get(key)
            if snap is not None and snap.version == version:
                return snap
        sidecar = sidecar_path(engine)
        snap = _read_sidecar(sidecar, version) if sidecar is not None and sidecar.exists() else None
        if snap is not None:
            with self.lock:
                self.snapshots[key] = snap
            return snap
        with self.lock:
            started = self.building.get(key) == version
            if not started and (wait or build):
                self.building[key] = version
        if wait:
            return self._build(engine, key)
        if build and not started:
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
    start = time.perf_counter()
    try:
        done = run_child("tthc_core.columnar", engine, out)
        if done is None or done.returncode != 0:
            return None
        snap = _read_sidecar(out, None)
        if snap is not None:
            LAST_BUILD.update(seconds=time.perf_counter() - start,
                              peak_mb=float((done.stdout.strip().splitlines() or ["0"])[-1]))
        return snap
    finally:
        if sidecar is None:
            out.unlink(missing_ok=True)


def run_child(module: str, engine: Engine, out: Path) -> subprocess.CompletedProcess | None:
    """Run ``module._child_main`` in a child process that reads ``engine``'s database and writes ``out``
    (this copy's and qd766_columns' builder). A SQLite path is made absolute; the URL, password
    included, goes by environment, not on a command line others can list. None when no child starts."""
    url = engine.url
    if engine.dialect.name == "sqlite" and url.database:
        url = url.set(database=str(Path(url.database).resolve()))
    env = dict(os.environ, **{_CHILD_URL: url.render_as_string(hide_password=False), _CHILD_OUT: str(out)})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    try:
        return subprocess.run([sys.executable, "-c", f"from {module} import _child_main; "
                               "raise SystemExit(_child_main())"], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=3600)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def child_engine() -> tuple[Engine, Path]:
    """In a child of :func:`run_child`: lower its priority (the dashboard's own queries come first), end
    it when its parent has gone (a copy for a process that has gone is wasted work), and return the
    engine to read and the file to write."""
    from sqlalchemy import create_engine

    try:
        os.nice(10)
    except OSError:
        pass
    parent = os.getppid()

    def orphaned() -> None:
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    return create_engine(os.environ[_CHILD_URL]), Path(os.environ[_CHILD_OUT])


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB; 0 where /proc is not there."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        return 0.0


def _child_main() -> int:
    """The child of :func:`_build_elsewhere`: build the copy, save it, print the peak memory (MB)."""
    engine, out = child_engine()
    try:
        snap = load(engine)
        if out != sidecar_path(engine):  # load() saved the sidecar itself
            _write_sidecar(out, snap)
    finally:
        engine.dispose()
    print(f"{peak_memory_mb():.1f}")
    return 0


def snapshot(conn, wait: bool = False, build: bool = True) -> DossierColumns | None:
    """The up-to-date copy for ``conn``'s engine, or ``None`` while it is being built (:meth:`_Cache.get`)."""
    return CACHE.get(conn.engine, dossiers_version(conn), wait=wait, build=build)


# Engines whose counts come from the copy (counting.column_grouped_counts) once it is ready, and
# whether a missing copy is built in the background for them. Off by default: a library call, a test,
# a one-off script count in SQL and never start a background build.
_FAST_ENGINES: "weakref.WeakKeyDictionary[Engine, bool]" = weakref.WeakKeyDictionary()


BACKGROUND_COPY_ENV = "TTHC_BACKGROUND_COPY"


def background_copy_allowed() -> bool:
    """Whether the dashboard may build a missing or stale copy in a background process: yes unless
    ``TTHC_BACKGROUND_COPY=0`` (a host without memory to spare for it, or the tests, where each fresh
    database would start a child). Without it, a valid sidecar is still used and SQL answers otherwise."""
    return os.environ.get(BACKGROUND_COPY_ENV, "1").strip() != "0"


def use_fast_path(db: str | Engine | None = None, enabled: bool = True, build: bool = True) -> Engine:
    """Count from the columnar copy on this engine: the dashboard (``build``: a long-lived process
    builds a missing copy in the background) and the CLI's ``stats`` and ``export`` (``build=False``:
    a valid sidecar is used, else SQL; a build would die with the process)."""
    engine = get_engine(db)
    if enabled:
        _FAST_ENGINES[engine] = build
    else:
        _FAST_ENGINES.pop(engine, None)
    return engine


def fast_snapshot(conn) -> DossierColumns | None:
    """The copy to count from on ``conn``: None when its engine counts in SQL or the copy is not ready."""
    build = _FAST_ENGINES.get(conn.engine)
    if build is None:
        return None
    return snapshot(conn, build=build)
