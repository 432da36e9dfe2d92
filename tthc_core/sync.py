"""The live feed: dossier records pulled from an export URL or dropped in a folder, imported batch by batch.

Two kinds of source, one path into the database (:func:`tthc_core.importer.import_file`, which tells the
national ``DongBoHoSoMC`` JSON from CSV/XLSX by content):

- **URL** (``sync --url``): an export API of the one-stop system, or a plain file server. Each response is a
  batch: a ``DongBoHoSoMC`` envelope or a bare array (the same JSON as ``import FILE.json``).
- **Folder** (``sync --watch DIR``): every ``*.json``, ``*.csv`` or ``*.xlsx`` file in ``DIR`` is a batch.
  After the attempt it moves to ``DIR/done/`` or to ``DIR/rejected/`` with ``<name>.reasons.txt`` beside it
  (the summary, then one problem per line, in Vietnamese). Dot files and other suffixes are left alone,
  so a sender writes ``x.json.part`` (or ``.x.json``) and renames it when complete.

Every batch is one import: all of it or nothing (the importer's own transaction), logged in the import log
(``auth.log_import``). A batch whose bytes were already written once (its SHA-256 is in the import log) is
not imported again. Where each source stands is in the ``sync_state`` table.

**The URL contract** (what an export API should do; a plain file server works too, less efficiently):

- Request: ``GET <url>`` with ``since=<watermark>`` added to the query once the server has handed out a
  watermark, ``Accept: application/json``, and the validators of the last written response
  (``If-None-Match`` from its ``ETag``, ``If-Modified-Since`` from its ``Last-Modified``). The
  ``Authorization`` header is taken from the environment variable ``TTHC_SYNC_AUTHORIZATION`` when set, so
  no secret lives in the URL (which is stored in ``sync_state`` and shown on the dashboard).
- Response ``200``: the records that changed after ``since`` (all of them without ``since``), with the next
  watermark in the header ``X-Sync-Watermark``: an opaque token (a time, a sequence number) the client
  stores only after the batch is written and sends back verbatim. ``304``, ``204`` or an empty array /
  ``data`` mean nothing new. A server may page: while a written response carries a new watermark, the
  client asks again at once.
- Why the watermark comes from the server: a ``DongBoHoSoMC`` record has no "changed at" field (its times
  are events: accepted, ended, returned…; a fee paid or a corrected field moves none of them), so only the
  sender knows what changed since the last call. A server without watermarks still works: it sends
  everything, and an unchanged export is recognised by its validators or its hash and writes nothing.
- Resending a record is harmless: a record replaces the earlier one with the same ``MaHoSo``, so a batch
  imported twice (the process killed between the import and the ``sync_state`` update, or an overlapping
  export) never counts a dossier twice.

A failing attempt (HTTP error, timeout, oversized or unreadable response, refused records, database
error) writes nothing, is recorded in ``sync_state`` (``last_error``, ``consecutive_failures``) and is
retried with bounded, jittered exponential back-off (:func:`backoff_delay`, :func:`run`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import os
import random
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .db import get_engine
from .formatting import fmt_datetime, fmt_int
from .models import ImportLog, Setting, SyncState

ENV_AUTHORIZATION = "TTHC_SYNC_AUTHORIZATION"
ENV_STALE_HOURS = "TTHC_SYNC_STALE_HOURS"
SETTING_STALE_HOURS = "sync_stale_hours"
# A day's scheduled export plus a couple of hours' grace before the dashboard warns.
DEFAULT_STALE_HOURS = 26
DEFAULT_TIMEOUT = 60.0  # seconds, for the whole response, not only for each socket read
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024  # one batch, spooled to a temporary file; a bound on disk, not memory
DEFAULT_EVERY = {"url": 600.0, "watch": 60.0}
WATCHED_SUFFIXES = (".json", ".csv", ".xlsx")
WATERMARK_HEADER = "X-Sync-Watermark"
MAX_PAGES = 10_000  # a server whose watermark never stops moving cannot keep one attempt running forever
# Back-off after a failed attempt: base · 2^(n-1) seconds, capped, with jitter (see backoff_delay).
BACKOFF_BASE = 10.0
BACKOFF_CAP = 300.0
# Who the import log names for batches the feed wrote.
ACTOR = "đồng bộ tự động"


class SyncError(Exception):
    """A failed attempt at a source; the message is Vietnamese and safe to show."""


@dataclass
class Outcome:
    """What one attempt at a source did."""

    source: str
    ok: bool  # the source answered and everything it sent is in the database (or was refused for good)
    message: str  # one Vietnamese line
    retry: bool = False  # worth trying again soon: the source or the database failed, not a bad file
    written: int = 0  # batches written
    results: list[Any] = field(default_factory=list)  # the importer's results, refused ones included


# --------------------------------------------------------------------------------------------
# Sources and intervals
# --------------------------------------------------------------------------------------------

def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) address, else :class:`ValueError` (Vietnamese)."""
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Địa chỉ nguồn «{display_url(url)}» không hợp lệ: chỉ nhận địa chỉ http:// hoặc https://.")
    return url


def display_url(url: str) -> str:
    """The address without user name and password (``https://user:pw@host/x`` → ``https://host/x``)."""
    parts = urllib.parse.urlsplit(url or "")
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def url_source(url: str) -> str:
    return "url:" + display_url(url)


def folder_source(folder: str | os.PathLike) -> str:
    return "watch:" + str(Path(folder).resolve())


def parse_interval(text: str) -> float:
    """``30s``, ``10m``, ``2h``, ``1d`` (or plain seconds) → seconds; :class:`ValueError` otherwise."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = (text or "").strip().lower()
    number, unit = (value[:-1], value[-1]) if value[-1:] in units else (value, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = -1
    if not seconds > 0:
        raise ValueError(f"Chu kỳ «{text}» không hợp lệ: dùng ví dụ 30s, 10m, 2h hoặc 1d.")
    return seconds


def backoff_delay(failures: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
                  rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` failed attempts in a row: ``base · 2^(failures-1)``, at most
    ``cap``, then a random point in its upper half (jitter, so many sources that failed together do not
    come back at the same second)."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return ceiling / 2 + rng() * ceiling / 2


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int  # 200, 204 or 304
    size: int = 0  # bytes of the body, written to the caller's file as they came
    sha256: str = ""  # of the body
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    watermark: str | None = None


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib would also follow one to ftp://)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise SyncError(f"máy chủ chuyển hướng sang địa chỉ không phải http(s) «{display_url(newurl)}»")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_HttpOnlyRedirects)


def with_since(url: str, watermark: str | None) -> str:
    """``url`` with the query parameter ``since`` set to ``watermark`` (replacing one already there)."""
    if not watermark:
        return url
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k != "since"]
    query.append(("since", watermark))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def fetch(url: str, sink: BinaryIO, *, since: str | None = None, etag: str | None = None,
          last_modified: str | None = None, timeout: float = DEFAULT_TIMEOUT,
          max_bytes: int = DEFAULT_MAX_BYTES) -> Response:
    """One GET of a batch under the contract above, its body written to ``sink`` (a file: the national
    reader streams it, so a batch costs disk, not memory); :class:`SyncError` for anything but a usable
    answer. ``timeout`` bounds each wait and the whole body: a server that trickles bytes is cut off like
    one that is silent.
    """
    check_url(url)
    headers = {"Accept": "application/json", "User-Agent": "tthc-core-sync"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if os.environ.get(ENV_AUTHORIZATION):
        headers["Authorization"] = os.environ[ENV_AUTHORIZATION]
    request = urllib.request.Request(with_since(url, since), headers=headers)
    deadline = time.monotonic() + timeout
    too_slow = f"quá thời gian chờ {fmt_int(timeout)} giây"
    try:
        with _opener.open(request, timeout=timeout) as answer:
            declared = answer.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise SyncError(_too_big(max_bytes))
            digest, size = hashlib.sha256(), 0
            while chunk := answer.read1(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise SyncError(_too_big(max_bytes))
                if time.monotonic() > deadline:
                    raise SyncError(too_slow)
                digest.update(chunk)
                sink.write(chunk)
            return Response(answer.status, size, digest.hexdigest(), answer.headers.get("Content-Type", ""),
                            answer.headers.get("ETag"), answer.headers.get("Last-Modified"),
                            answer.headers.get(WATERMARK_HEADER))
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Response(304, etag=etag, last_modified=last_modified, watermark=since)
        raise SyncError(f"máy chủ trả lỗi HTTP {exc.code} ({exc.reason})") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise SyncError(too_slow) from None
        raise SyncError(f"không kết nối được: {exc.reason}") from None
    except (TimeoutError, socket.timeout):
        raise SyncError(too_slow) from None
    except (http.client.HTTPException, OSError) as exc:
        raise SyncError(f"kết nối bị ngắt: {exc.__class__.__name__}: {exc}") from None


def _too_big(max_bytes: int) -> str:
    return f"phản hồi lớn hơn giới hạn {fmt_int(max_bytes // (1024 * 1024))} MB"


def is_empty_batch(path: Path) -> bool:
    """True for a batch that carries no record: nothing, ``[]`` or an envelope whose ``data`` is empty."""
    if path.stat().st_size > 4096:  # a batch with records is never this small to parse for nothing
        return False
    body = path.read_bytes()
    if not body.strip():
        return True
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return value == [] or (isinstance(value, dict) and value.get("data") == [])


def _batch_name(url: str, content_type: str) -> str:
    """A file name for the importer and the import log: the URL's last segment, or one from the type."""
    name = Path(urllib.parse.urlsplit(url).path).name
    if Path(name).suffix.lower() in WATCHED_SUFFIXES:
        return name
    return (name or "feed") + (".csv" if "csv" in content_type.lower() else ".json")


# --------------------------------------------------------------------------------------------
# Batches and state
# --------------------------------------------------------------------------------------------

def _import(db: str | Engine | None, name: str, batch: Path, sha256: str, agency: str | None,
            also: Callable[[Connection], None] | None = None):
    """Import the batch in the file ``batch`` and log it; ``None`` when these exact bytes were written before.

    A written batch, its import-log row and ``also(conn)`` (the source's new watermark) are committed in
    ONE transaction: a crash between them cannot leave a batch written but not logged (imported again
    next time) or a watermark moved past a batch that was not written. A refused batch is logged once
    per content, so a source retried every few minutes with the same bad batch does not fill the log.
    """
    from .auth import Scope, log_import, record_import
    from .importer import import_file

    with get_engine(db).connect() as conn:
        seen = set(conn.scalars(select(ImportLog.written).where(ImportLog.sha256 == sha256)))
    if True in seen:
        return None
    actor = Scope(ACTOR, "admin", None)

    def with_the_batch(conn: Connection, result: Any) -> None:
        record_import(conn, actor, name, sha256, result, agency)
        if also is not None:
            also(conn)

    result = import_file(db, batch, agency=agency, filename=name, within=with_the_batch)
    if not result.written and False not in seen:
        log_import(db, actor, name, sha256, result, agency)
    return result


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def load_state(db: str | Engine | None, source: str) -> dict[str, Any]:
    """The ``sync_state`` row of ``source`` as a dict (an empty state for a source never tried)."""
    with get_engine(db).connect() as conn:
        row = conn.execute(select(SyncState).where(SyncState.source == source)).first()
    if row is None:
        return {column.name: None for column in SyncState.__table__.columns} | {
            "source": source, "consecutive_failures": 0}
    return dict(row._mapping)


def _save_state(db: str | Engine | None, source: str, *, error: str | None, **values: Any) -> None:
    """Record an attempt: a success (``error=None``) resets the failure count, a failure adds one."""
    with get_engine(db).begin() as conn:
        _save_state_in(conn, source, error=error, **values)


def _save_state_in(conn: Connection, source: str, *, error: str | None, **values: Any) -> None:
    """:func:`_save_state` inside the caller's transaction."""
    now = _now()
    table = SyncState.__table__
    failures = conn.scalar(select(SyncState.consecutive_failures).where(SyncState.source == source))
    values |= {"last_attempt_at": now, "last_error": error,
               "consecutive_failures": 0 if error is None else (failures or 0) + 1}
    if error is None:
        values["last_success_at"] = now
    if failures is None:
        conn.execute(insert(table).values(source=source, **values))
    else:
        conn.execute(update(table).where(SyncState.source == source).values(**values))


def _refusal(name: str, result: Any) -> str:
    lines = [p.text() for p in result.problems[:3]]
    more = f" (và {fmt_int(len(result.problems) - 3)} lỗi khác)" if len(result.problems) > 3 else ""
    return f"Lô «{name}» bị từ chối: {result.summary()} " + " ".join(lines) + more


# --------------------------------------------------------------------------------------------
# One attempt at a source
# --------------------------------------------------------------------------------------------

def sync_url(db: str | Engine | None, url: str, *, agency: str | None = None, timeout: float = DEFAULT_TIMEOUT,
             max_bytes: int = DEFAULT_MAX_BYTES) -> Outcome:
    """Pull what is new at ``url`` and import it, page after page while the watermark moves."""
    check_url(url)
    source = url_source(url)
    outcome = Outcome(source, ok=True, message="")
    with tempfile.TemporaryDirectory(prefix="tthc-sync-") as spool:
        for _ in range(MAX_PAGES):
            if not _sync_page(db, url, Path(spool) / "batch", outcome, agency=agency, timeout=timeout,
                              max_bytes=max_bytes):
                break
    if outcome.ok:
        outcome.message = _written_message(outcome, "không có dữ liệu mới")
    return outcome


def _sync_page(db: str | Engine | None, url: str, batch: Path, outcome: Outcome, *, agency: str | None,
               timeout: float, max_bytes: int) -> bool:
    """One request and its import, recorded in ``outcome``; True when the server has more to give."""
    source = outcome.source
    state = load_state(db, source)
    try:
        with open(batch, "wb") as sink:
            answer = fetch(url, sink, since=state["watermark"], etag=state["etag"],
                           last_modified=state["last_modified"], timeout=timeout, max_bytes=max_bytes)
    except SyncError as exc:
        _failed(db, outcome, f"Nguồn «{display_url(url)}»: {exc}.")
        return False
    validators = {"etag": answer.etag, "last_modified": answer.last_modified,
                  "watermark": answer.watermark or state["watermark"]}
    if answer.status != 200 or is_empty_batch(batch):
        _save_state(db, source, error=None, **validators)
        return False
    name = _batch_name(url, answer.content_type)
    # The new watermark is saved with the batch it follows, in the import's transaction.
    moved = lambda conn: _save_state_in(conn, source, error=None, batch_sha256=answer.sha256, **validators)
    try:
        result = _import(db, name, batch, answer.sha256, agency, also=moved)
    except SQLAlchemyError as exc:
        _failed(db, outcome, _database_error(exc))
        return False
    if result is not None:  # None: the same bytes as a batch written before (an unchanged export)
        outcome.results.append(result)
        if not result.written:  # the sender may correct it: retried like an unreachable source
            _failed(db, outcome, _refusal(name, result))
            return False
        outcome.written += 1
    _save_state(db, source, error=None, batch_sha256=answer.sha256, **validators)
    return bool(answer.watermark) and answer.watermark != state["watermark"]


def sync_folder(db: str | Engine | None, folder: str | os.PathLike, *, agency: str | None = None) -> Outcome:
    """Import each file waiting in ``folder`` (oldest first) and move it to ``done/`` or ``rejected/``."""
    folder = Path(folder).resolve()
    source = folder_source(folder)
    outcome = Outcome(source, ok=True, message="")
    try:
        waiting = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                          and p.suffix.lower() in WATCHED_SUFFIXES), key=lambda p: (p.stat().st_mtime, p.name))
    except OSError as exc:
        return _failed(db, outcome, f"Không đọc được thư mục «{folder}»: {exc.strerror or exc}.")
    refused = []
    for path in waiting:
        try:
            if is_empty_batch(path):  # an export with nothing new
                _move(path, folder / "done")
                continue
            sha256 = _file_sha256(path)
            result = _import(db, path.name, path, sha256, agency)
        except SQLAlchemyError as exc:  # the file stays where it is for the next attempt
            return _failed(db, outcome, _database_error(exc))
        except OSError as exc:
            return _failed(db, outcome, f"Không đọc được tệp «{path.name}»: {exc.strerror or exc}.")
        if result is not None:  # None: the same bytes as a file written before; nothing new, out of the way
            outcome.results.append(result)
            outcome.written += int(result.written)
        target = _move(path, folder / ("done" if result is None or result.written else "rejected"))
        if target is None or result is None or result.written:
            continue
        reasons = [result.summary(), *(p.text() for p in result.problems)]
        target.with_name(target.name + ".reasons.txt").write_text("\n".join(reasons) + "\n", encoding="utf-8")
        refused.append(_refusal(path.name, result))
    if refused:
        # A refused file will not improve by waiting: it is moved aside and the feed goes on; the state
        # keeps the reason until the next clean pass.
        _save_state(db, source, error=" ".join(refused))
        outcome.ok, outcome.message = False, " ".join(refused)
        return outcome
    _save_state(db, source, error=None)
    outcome.message = _written_message(outcome, "không có tệp mới")
    return outcome


def _move(path: Path, into: Path) -> Path | None:
    """Move ``path`` into the folder ``into``, never over an earlier file of the same name; ``None`` when
    the file is gone already (a second feed on the same folder took it: cron lines use ``flock``)."""
    into.mkdir(exist_ok=True)
    target = into / path.name
    if target.exists() or target.with_name(target.name + ".reasons.txt").exists():
        target = into / f"{path.stem}.{dt.datetime.now():%Y%m%d-%H%M%S-%f}{path.suffix}"
    try:
        path.replace(target)
    except FileNotFoundError:
        return None
    return target


def _failed(db: str | Engine | None, outcome: Outcome, message: str) -> Outcome:
    try:
        _save_state(db, outcome.source, error=message)
    except SQLAlchemyError:
        pass  # the database itself is what failed: the message still reaches the log and the exit status
    outcome.ok, outcome.retry, outcome.message = False, True, message
    return outcome


def _database_error(exc: SQLAlchemyError) -> str:
    first = (str(exc).splitlines() or [""])[0]
    return f"Lỗi cơ sở dữ liệu, không ghi gì: {exc.__class__.__name__}: {first}"


def _written_message(outcome: Outcome, nothing: str) -> str:
    if not outcome.written:
        return nothing[:1].upper() + nothing[1:] + "."
    return " ".join(result.summary() for result in outcome.results if result.written)


# --------------------------------------------------------------------------------------------
# The schedule
# --------------------------------------------------------------------------------------------

def run(attempt: Callable[[], Outcome], *, every: float | None, retries: int = 3, base: float = BACKOFF_BASE,
        sleep: Callable[[float], Any] = time.sleep, report: Callable[[Outcome], Any] = lambda _: None) -> Outcome:
    """Call ``attempt`` on a schedule and return the last outcome.

    ``every=None`` (``--once``): one attempt, and up to ``retries`` more while it fails in a way worth
    retrying, with back-off in between. Otherwise forever (until ``sleep`` raises or returns True, which the
    CLI uses to stop on SIGTERM): the next attempt ``every`` seconds after a success, or after the back-off
    delay (capped at ``every``) after a failure.
    """
    failures = 0
    while True:
        try:
            outcome = attempt()
        except SQLAlchemyError as exc:  # the database went away between batches: wait for it, do not die
            outcome = Outcome("", ok=False, message=_database_error(exc), retry=True)
        report(outcome)
        failures = failures + 1 if outcome.retry else 0
        if every is None:
            if not outcome.retry or failures > retries:
                return outcome
            delay = backoff_delay(failures, base=base)
        else:
            delay = backoff_delay(failures, base=base, cap=every) if failures else every
        if sleep(delay):
            return outcome


# --------------------------------------------------------------------------------------------
# How fresh the data is (the dashboard banner, the digest)
# --------------------------------------------------------------------------------------------

def stale_limit_hours(db: str | Engine | None = None) -> float:
    """After how many hours without a successful sync the dashboard warns: ``TTHC_SYNC_STALE_HOURS``, else
    the ``sync_stale_hours`` setting, else 26."""
    text = os.environ.get(ENV_STALE_HOURS)
    if not text:
        with get_engine(db).connect() as conn:
            text = conn.scalar(select(Setting.value).where(Setting.key == SETTING_STALE_HOURS))
    try:
        hours = float(text) if text else DEFAULT_STALE_HOURS
    except ValueError:
        hours = DEFAULT_STALE_HOURS
    return hours if hours > 0 else DEFAULT_STALE_HOURS


def status(db: str | Engine | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Where the live feed stands, without Streamlit: one entry per source and the overall verdict.

    ``configured`` is False when no source was ever synced (a database fed by hand: nothing to warn about).
    A source is ``stale`` when its last success is older than the limit, or it never succeeded.
    """
    now = now or _now()
    limit = stale_limit_hours(db)
    with get_engine(db).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(SyncState).order_by(SyncState.source))]
    for row in rows:
        success = row["last_success_at"]
        row["age_hours"] = None if success is None else (now - success).total_seconds() / 3600
        row["stale"] = success is None or row["age_hours"] > limit
    successes = [r["last_success_at"] for r in rows if r["last_success_at"] is not None]
    return {"configured": bool(rows), "limit_hours": limit, "now": now,
            "last_success_at": max(successes) if successes else None,
            "stale": any(r["stale"] for r in rows), "sources": rows}


def status_message(state: dict[str, Any]) -> str | None:
    """One Vietnamese line for the banner: when the feed last succeeded, or a warning when too long ago."""
    if not state["configured"]:
        return None
    limit = _hours(state["limit_hours"])
    stale = [r for r in state["sources"] if r["stale"]]
    if not stale:
        return f"Đồng bộ dữ liệu thành công gần nhất lúc {fmt_datetime(state['last_success_at'])}."
    parts = []
    for row in stale:
        name = row["source"].split(":", 1)[1]
        if row["last_success_at"] is None:
            parts.append(f"nguồn «{name}» chưa đồng bộ thành công lần nào")
        else:
            parts.append(f"nguồn «{name}» đồng bộ thành công gần nhất lúc {fmt_datetime(row['last_success_at'])}, "
                         f"đã {_hours(row['age_hours'])} giờ")
        if row["last_error"]:
            parts[-1] += f" (lỗi gần nhất: {row['last_error'].rstrip('.')})"
    return f"Cảnh báo: dữ liệu có thể chưa cập nhật (quá {limit} giờ không đồng bộ được): " + "; ".join(parts) + "."


def _hours(value: float) -> str:
    return fmt_int(int(value))  # whole hours, rounded down: "26 giờ" is not yet 27


__all__ = ["Outcome", "SyncError", "backoff_delay", "check_url", "fetch", "load_state", "parse_interval", "run",
           "status", "status_message", "sync_folder", "sync_url", "with_since"]
