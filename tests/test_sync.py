"""The live feed against a real HTTP server on 127.0.0.1 and a real folder, on SQLite and PostgreSQL.

The server plays the export API of a one-stop system: it hands out the records a page at a time with a
watermark (``X-Sync-Watermark``), and on demand fails with 500, answers too slowly, sends bad JSON, or
behaves like a plain file server (ETag, 304). The same pages go to ``sync --url`` and, as files, to
``sync --watch``; both databases must end with the same II.06a figures as a direct import.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import _fresh_url
from tthc_core import sync
from tthc_core.__main__ import main
from tthc_core.db import data_version, get_engine
from tthc_core.importer import import_file
from tthc_core.models import Dossier, ImportLog, Setting, SyncState
from tthc_core.stats import compute_stats

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CSV = ROOT / "data" / "samples" / "ho-so-mau.csv"
EXAMPLE_JSON = ROOT / "tests" / "data" / "dvcqg-example.json"  # the worked example of docs/dvcqg-sync.md


# --------------------------------------------------------------------------------------------
# The feed: the same records as pages of CSV or of DongBoHoSoMC JSON
# --------------------------------------------------------------------------------------------

@dataclass
class Records:
    kind: str  # "csv" | "json"
    pages: list[bytes]
    whole: bytes  # every record in one file, for the direct import the feed must agree with
    received: int  # II.06a column 3 of 2022-Q2 over all agencies, hand-counted from the records

    @property
    def suffix(self) -> str:
        return "." + self.kind

    @property
    def content_type(self) -> str:
        return "text/csv; charset=utf-8" if self.kind == "csv" else "application/json; charset=utf-8"


def csv_records() -> Records:
    header, *rows = SAMPLE_CSV.read_bytes().splitlines(keepends=True)
    pages = [header + b"".join(rows[i:i + 10]) for i in range(0, len(rows), 10)]
    # ho-so-mau.csv: 28 received in Q2/2022 (test_importer's hand-computed SAMPLE_Q2).
    return Records("csv", pages, SAMPLE_CSV.read_bytes(), received=28)


def json_records() -> Records:
    example = json.loads(EXAMPLE_JSON.read_text(encoding="utf-8"))
    envelope = {k: v for k, v in example.items() if k != "data"}
    data = example["data"]
    pages = [json.dumps(envelope | {"data": data[i:i + 2]}, ensure_ascii=False).encode() for i in range(0, len(data), 2)]
    # The five dossiers of dvcqg-example.json are all accepted between 04/04 and 26/05/2022.
    return Records("json", pages, EXAMPLE_JSON.read_bytes(), received=5)


@pytest.fixture(scope="session")
def json_reader_available(tmp_path_factory) -> bool:
    url = f"sqlite:///{tmp_path_factory.mktemp('probe')}/probe.db"
    return import_file(url, EXAMPLE_JSON).written


@pytest.fixture(params=["csv", "json"])
def records(request, json_reader_available) -> Records:
    if request.param == "json" and not json_reader_available:
        pytest.skip("the DongBoHoSoMC reader is not registered in tthc_core.importer yet")
    return csv_records() if request.param == "csv" else json_records()


@pytest.fixture
def other_db_url(request, postgres, tmp_path_factory, db_url) -> str:
    """A second fresh database on the same engine as ``db_url``."""
    engine = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    url, cleanup = _fresh_url(request, postgres, tmp_path_factory, engine)
    yield url
    cleanup()


# --------------------------------------------------------------------------------------------
# The export server
# --------------------------------------------------------------------------------------------

@dataclass
class Script:
    """What the server answers; tests change it between calls."""

    pages: list[bytes] = field(default_factory=list)
    content_type: str = "application/json"
    mode: str = "pages"  # pages | error | slow | bad_json | static | huge | redirect_file
    requests: list[dict] = field(default_factory=list)


class ExportHandler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        script = self.server.script
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        script.requests.append({"since": query.get("since"), "if_none_match": self.headers.get("If-None-Match")})
        if script.mode == "error":
            return self._send(500, b"Internal Server Error", "text/plain")
        if script.mode == "slow":
            time.sleep(1.5)
            return self._send(200, script.pages[0], script.content_type)
        if script.mode == "bad_json":
            return self._send(200, b'{"service": "DongBoHoSoMC", "data": [{"MaHoSo": "000.00.99.H00-2', "application/json")
        if script.mode == "huge":
            # No Content-Length (the body ends when the connection closes): the limit applies while reading.
            return self._send(200, b"[" + b" " * (2 * 1024 * 1024) + b"]", "application/json", length=False)
        if script.mode == "redirect_file":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/ho-so.json")  # urllib alone would follow it
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if script.mode == "static":  # a plain file server: everything, every time, with an ETag
            body = b"".join(script.pages[:1])
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", script.content_type, {"ETag": etag})
            return self._send(200, body, script.content_type, {"ETag": etag})
        # The export API: records after ``since`` (a page number here), and the next watermark.
        since = int(query.get("since", "0"))
        if since >= len(script.pages):
            return self._send(200, b"[]", "application/json", {sync.WATERMARK_HEADER: str(since)})
        return self._send(200, script.pages[since], script.content_type, {sync.WATERMARK_HEADER: str(since + 1)})

    def _send(self, code: int, body: bytes, content_type: str, headers: dict | None = None, length: bool = True):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if code != 304 and length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up on purpose (too big, too slow)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ExportHandler)
    httpd.daemon_threads = True
    httpd.script = Script()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url_of(server, path: str = "/export") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def q2_totals(url: str) -> dict[str, int]:
    return compute_stats(url, "2022-Q2")["dossiers"]["total"]


def dossier_count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.scalar(select(func.count()).select_from(Dossier))


def log_rows(url: str) -> list:
    with get_engine(url).connect() as conn:
        return conn.execute(select(ImportLog).order_by(ImportLog.id)).all()


def state_of(url: str, source: str) -> dict:
    return sync.load_state(url, source)


def drop(folder: Path, name: str, content: bytes) -> Path:
    """Drop a file the way a sender should: written under a dot name, then renamed."""
    partial = folder / f".{name}.part"
    partial.write_bytes(content)
    return partial.replace(folder / name)


def no_wait(delay: float) -> bool:
    return False


# --------------------------------------------------------------------------------------------
# The same records through the URL, through the folder, and directly
# --------------------------------------------------------------------------------------------

def test_url_feed_and_watched_folder_import_the_same_records_with_equal_figures(
        db_url, other_db_url, sqlite_url, server, records, tmp_path, capsys):
    server.script.pages, server.script.content_type = records.pages, records.content_type
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number, page in enumerate(records.pages, start=1):
        drop(inbox, f"lo-{number}{records.suffix}", page)
    assert import_file(sqlite_url, records.whole, filename="all" + records.suffix).written

    assert main(["--db", db_url, "sync", "--url", url_of(server), "--once"]) == 0
    assert main(["--db", other_db_url, "sync", "--watch", str(inbox), "--once"]) == 0

    direct = q2_totals(sqlite_url)
    assert direct["received_total"] == records.received
    assert q2_totals(db_url) == direct
    assert q2_totals(other_db_url) == direct
    # The server was asked page after page, each time with the watermark it handed out.
    assert [r["since"] for r in server.script.requests] == [None, *map(str, range(1, len(records.pages) + 1))]
    # One import-log line per batch, written by the feed.
    for url in (db_url, other_db_url):
        rows = log_rows(url)
        assert len(rows) == len(records.pages)
        assert all(r.written and r.username == sync.ACTOR for r in rows)
    assert sorted(p.name for p in (inbox / "done").iterdir()) == \
        [f"lo-{n}{records.suffix}" for n in range(1, len(records.pages) + 1)]
    assert [p for p in inbox.iterdir() if p.is_file()] == []
    out = capsys.readouterr().out
    assert "Đã nhập" in out


def test_a_second_run_imports_nothing_new(db_url, other_db_url, server, records, tmp_path):
    server.script.pages, server.script.content_type = records.pages, records.content_type
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "lo" + records.suffix, records.whole)
    first_url = sync.sync_url(db_url, url_of(server))
    first_folder = sync.sync_folder(other_db_url, inbox)
    assert (first_url.written, first_folder.written) == (len(records.pages), 1)
    versions = data_version(db_url), data_version(other_db_url)
    asked = len(server.script.requests)

    second_url = sync.sync_url(db_url, url_of(server))
    # The same file dropped again (a sender that resends) is recognised by its content.
    drop(inbox, "lo-lai" + records.suffix, records.whole)
    second_folder = sync.sync_folder(other_db_url, inbox)

    assert (second_url.ok, second_url.written, second_url.message) == (True, 0, "Không có dữ liệu mới.")
    assert (second_folder.ok, second_folder.written) == (True, 0)
    assert (data_version(db_url), data_version(other_db_url)) == versions
    assert len(log_rows(db_url)) == len(records.pages) and len(log_rows(other_db_url)) == 1
    assert server.script.requests[asked]["since"] == str(len(records.pages))
    assert (inbox / "done" / ("lo-lai" + records.suffix)).exists()


def test_a_restart_resumes_after_the_last_written_page_without_counting_twice(db_url, server, records):
    server.script.pages, server.script.content_type = records.pages[:1], records.content_type
    assert sync.sync_url(db_url, url_of(server)).written == 1  # only the first page existed yet
    after_first = dossier_count(db_url)

    server.script.pages = records.pages  # the export grew while the feed was stopped
    server.script.requests.clear()
    outcome = sync.sync_url(db_url, url_of(server))  # a new run: the watermark comes from the database

    assert server.script.requests[0]["since"] == "1"
    assert outcome.written == len(records.pages) - 1
    assert after_first < dossier_count(db_url)
    with get_engine(db_url).connect() as conn:
        codes = conn.scalars(select(Dossier.code)).all()
    assert len(codes) == len(set(codes)) == dossier_count(db_url)
    assert state_of(db_url, sync.url_source(url_of(server)))["watermark"] == str(len(records.pages))


def test_a_plain_file_server_is_asked_with_its_etag_and_a_304_writes_nothing(db_url, server, records):
    server.script.mode, server.script.content_type = "static", records.content_type
    server.script.pages = [records.whole]
    assert sync.sync_url(db_url, url_of(server, "/xuat/ho-so" + records.suffix)).written == 1
    version = data_version(db_url)

    again = sync.sync_url(db_url, url_of(server, "/xuat/ho-so" + records.suffix))

    assert (again.ok, again.written) == (True, 0)
    assert server.script.requests[-1]["if_none_match"] is not None
    assert server.script.requests[-1]["since"] is None  # a file server hands out no watermark
    assert data_version(db_url) == version
    assert [r.filename for r in log_rows(db_url)] == ["ho-so" + records.suffix]


# --------------------------------------------------------------------------------------------
# Failures: retried with back-off, never a partial write
# --------------------------------------------------------------------------------------------

def test_a_failing_source_is_retried_with_growing_jittered_delays_and_writes_nothing(db_url, server):
    server.script.mode = "error"
    delays: list[float] = []
    url = url_of(server)

    outcome = sync.run(lambda: sync.sync_url(db_url, url), every=None, retries=3, base=2.0,
                       sleep=lambda d: delays.append(d))

    assert not outcome.ok and outcome.retry
    assert "HTTP 500" in outcome.message
    assert len(server.script.requests) == 4  # the attempt and three retries
    assert len(delays) == 3
    for failures, delay in enumerate(delays, start=1):  # 2 · 2^(n-1) s, jittered into its upper half
        ceiling = 2.0 * 2 ** (failures - 1)
        assert ceiling / 2 <= delay <= ceiling
    state = state_of(db_url, sync.url_source(url))
    assert state["consecutive_failures"] == 4
    assert state["last_success_at"] is None and "HTTP 500" in state["last_error"]
    assert dossier_count(db_url) == 0 and log_rows(db_url) == []


def test_the_source_recovers_and_the_failure_count_resets(db_url, server, records):
    url = url_of(server)
    server.script.mode = "error"
    assert not sync.sync_url(db_url, url).ok
    server.script.mode, server.script.pages, server.script.content_type = "pages", records.pages, records.content_type

    attempts = []
    outcome = sync.run(lambda: attempts.append(1) or sync.sync_url(db_url, url), every=None, sleep=no_wait)

    assert outcome.ok and len(attempts) == 1
    state = state_of(db_url, sync.url_source(url))
    assert (state["consecutive_failures"], state["last_error"]) == (0, None)
    assert state["last_success_at"] is not None


def test_the_back_off_is_bounded_by_its_cap():
    assert sync.backoff_delay(1, base=10, cap=300, rng=lambda: 0.0) == 5
    assert sync.backoff_delay(1, base=10, cap=300, rng=lambda: 1.0) == 10
    assert sync.backoff_delay(3, base=10, cap=300, rng=lambda: 1.0) == 40
    assert sync.backoff_delay(30, base=10, cap=300, rng=lambda: 1.0) == 300
    assert sync.backoff_delay(30, base=10, cap=300, rng=lambda: 0.0) == 150


def test_the_schedule_waits_the_interval_after_success_and_the_back_off_after_failure():
    outcomes = iter([sync.Outcome("s", True, ""), sync.Outcome("s", False, "x", retry=True),
                     sync.Outcome("s", False, "x", retry=True), sync.Outcome("s", True, "")])
    delays: list[float] = []

    def sleep(delay):
        delays.append(delay)
        return len(delays) == 4  # then stop, as SIGTERM does

    sync.run(lambda: next(outcomes), every=600, base=10, sleep=sleep)

    assert delays[0] == 600 and 5 <= delays[1] <= 10 and 10 <= delays[2] <= 20 and delays[3] == 600


def test_a_source_that_does_not_answer_in_time_is_cut_off(db_url, server):
    server.script.mode, server.script.pages = "slow", csv_records().pages

    outcome = sync.sync_url(db_url, url_of(server), timeout=0.3)

    assert not outcome.ok and outcome.retry
    assert "quá thời gian chờ" in outcome.message
    assert dossier_count(db_url) == 0


def test_bad_json_is_refused_whole_and_logged_once_however_often_it_is_retried(db_url, server):
    server.script.mode = "bad_json"
    url = url_of(server)

    outcomes = [sync.sync_url(db_url, url) for _ in range(3)]

    assert all(not o.ok and o.retry for o in outcomes)
    assert "bị từ chối" in outcomes[0].message
    assert dossier_count(db_url) == 0
    rows = log_rows(db_url)
    assert len(rows) == 1 and not rows[0].written
    assert state_of(db_url, sync.url_source(url))["consecutive_failures"] == 3


def test_a_batch_with_one_bad_record_writes_none_of_its_records(db_url, server):
    header, *rows = SAMPLE_CSV.read_bytes().splitlines(keepends=True)
    bad = rows[1].replace(b"2022-03-04 14:00", b"2022-02-31 14:00")
    server.script.pages, server.script.content_type = [header + rows[0] + bad + rows[2]], "text/csv"

    outcome = sync.sync_url(db_url, url_of(server))

    assert not outcome.ok
    assert "Dòng 3" in outcome.message
    assert dossier_count(db_url) == 0
    assert state_of(db_url, sync.url_source(url_of(server)))["watermark"] is None  # asked again from the start


def test_an_oversized_response_is_refused(db_url, server):
    server.script.mode = "huge"

    outcome = sync.sync_url(db_url, url_of(server), max_bytes=1024 * 1024)

    assert not outcome.ok and "giới hạn 1 MB" in outcome.message
    assert dossier_count(db_url) == 0


def test_only_http_addresses_are_accepted_and_redirects_stay_on_http(db_url, server, capsys):
    with pytest.raises(ValueError, match="http"):
        sync.check_url("file:///etc/passwd")
    assert main(["--db", db_url, "sync", "--url", "ftp://example.org/x.json", "--once"]) == 2
    assert "http" in capsys.readouterr().err

    server.script.mode = "redirect_file"
    outcome = sync.sync_url(db_url, url_of(server))
    assert not outcome.ok and "không phải http" in outcome.message
    assert dossier_count(db_url) == 0


def test_a_url_with_a_password_is_stored_and_shown_without_it():
    assert sync.url_source("https://feed:secret@mot-cua.example.vn:8443/api/xuat?x=1") == \
        "url:https://mot-cua.example.vn:8443/api/xuat?x=1"


def test_since_replaces_an_earlier_since_and_keeps_the_other_parameters():
    assert sync.with_since("http://h/x?madonvi=A&since=1", "20220614235959") == \
        "http://h/x?madonvi=A&since=20220614235959"
    assert sync.with_since("http://h/x", None) == "http://h/x"


# --------------------------------------------------------------------------------------------
# The watched folder
# --------------------------------------------------------------------------------------------

def test_a_bad_file_moves_to_rejected_with_its_reasons_and_writes_nothing(db_url, tmp_path, capsys):
    header, *rows = SAMPLE_CSV.read_bytes().splitlines(keepends=True)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "tot.csv", header + rows[0])
    drop(inbox, "loi.csv", header + rows[1] + rows[2].replace(b"2022-03-10 09:00", b"10/13/2022 09:00"))
    (inbox / "dang-ghi.csv.part").write_bytes(header + rows[3])  # still being written: left alone

    assert main(["--db", db_url, "sync", "--watch", str(inbox), "--once"]) == 1

    assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["loi.csv", "loi.csv.reasons.txt"]
    reasons = (inbox / "rejected" / "loi.csv.reasons.txt").read_text(encoding="utf-8").splitlines()
    assert reasons[0].startswith("Không ghi gì")
    assert len(reasons) == 2 and reasons[1].startswith("Dòng 3, cột «received_at»")
    with get_engine(db_url).connect() as conn:
        assert conn.scalars(select(Dossier.code)).all() == [rows[0].split(b",")[0].decode()]
    assert (inbox / "done" / "tot.csv").exists() and (inbox / "dang-ghi.csv.part").exists()
    state = state_of(db_url, sync.folder_source(inbox))
    assert "loi.csv" in state["last_error"] and state["consecutive_failures"] == 1
    assert "loi.csv" in capsys.readouterr().out


def test_a_national_file_with_bad_records_is_rejected_with_each_record_named(db_url, tmp_path, json_reader_available):
    if not json_reader_available:
        pytest.skip("the DongBoHoSoMC reader is not registered in tthc_core.importer yet")
    example = json.loads(EXAMPLE_JSON.read_text(encoding="utf-8"))
    example["data"][0]["NgayTiepNhan"] = "2022040409"  # 10 digits
    example["data"][1]["NgayKetThucXuLy"] = ""  # status 10 without the end of processing
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "dongbo.json", json.dumps(example, ensure_ascii=False).encode())

    outcome = sync.sync_folder(db_url, inbox)

    assert not outcome.ok and not outcome.retry  # moved aside: waiting will not repair it
    reasons = (inbox / "rejected" / "dongbo.json.reasons.txt").read_text(encoding="utf-8").splitlines()
    assert reasons[0].startswith("Không ghi gì")
    assert [line.split(",")[0] for line in reasons[1:]] == [
        "Bản ghi 1 (MaHoSo 000.00.99.H00-220404-00101)", "Bản ghi 2 (MaHoSo 000.00.99.H00-220412-00102)"]
    assert "«NgayTiepNhan»" in reasons[1] and "«NgayKetThucXuLy»" in reasons[2]
    assert dossier_count(db_url) == 0


def test_a_file_dropped_twice_under_one_name_never_overwrites_the_first(db_url, tmp_path):
    header, *rows = SAMPLE_CSV.read_bytes().splitlines(keepends=True)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "lo.csv", header + rows[0])
    sync.sync_folder(db_url, inbox)
    drop(inbox, "lo.csv", header + rows[1])
    sync.sync_folder(db_url, inbox)

    done = sorted((inbox / "done").iterdir())
    assert len(done) == 2 and {p.read_bytes() for p in done} == {header + rows[0], header + rows[1]}
    assert dossier_count(db_url) == 2


# --------------------------------------------------------------------------------------------
# Freshness for the dashboard and the digest
# --------------------------------------------------------------------------------------------

def set_success(url: str, source: str, at: dt.datetime | None, error: str | None = None) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(SyncState.__table__.insert().values(source=source, last_success_at=at, last_attempt_at=at,
                                                         last_error=error, consecutive_failures=0))


def test_no_feed_means_no_banner(db_url):
    state = sync.status(db_url)
    assert (state["configured"], state["stale"], state["last_success_at"]) == (False, False, None)
    assert sync.status_message(state) is None


def test_a_recent_sync_is_shown_and_an_old_one_warns_after_26_hours_by_default(db_url, monkeypatch):
    monkeypatch.delenv(sync.ENV_STALE_HOURS, raising=False)
    now = dt.datetime(2026, 12, 1, 8, 0)
    set_success(db_url, "url:https://mot-cua.example.vn/xuat", dt.datetime(2026, 11, 30, 6, 0))  # 26 h ago

    fresh = sync.status(db_url, now=now)
    assert (fresh["stale"], fresh["limit_hours"]) == (False, 26)
    assert sync.status_message(fresh) == "Đồng bộ dữ liệu thành công gần nhất lúc 30/11/2026 06:00."

    late = sync.status(db_url, now=now + dt.timedelta(minutes=1))
    assert late["stale"]
    assert sync.status_message(late) == (
        "Cảnh báo: dữ liệu có thể chưa cập nhật (quá 26 giờ không đồng bộ được): nguồn "
        "«https://mot-cua.example.vn/xuat» đồng bộ thành công gần nhất lúc 30/11/2026 06:00, đã 26 giờ.")


def test_the_limit_comes_from_the_environment_then_the_setting(db_url, monkeypatch):
    now = dt.datetime(2026, 12, 1, 8, 0)
    set_success(db_url, "watch:/srv/tthc/inbox", dt.datetime(2026, 12, 1, 5, 0), error=None)
    with get_engine(db_url).begin() as conn:
        conn.execute(Setting.__table__.insert().values(key=sync.SETTING_STALE_HOURS, value="2"))
    monkeypatch.delenv(sync.ENV_STALE_HOURS, raising=False)
    assert sync.status(db_url, now=now)["stale"]  # 3 h > the setting's 2 h

    monkeypatch.setenv(sync.ENV_STALE_HOURS, "4")
    assert not sync.status(db_url, now=now)["stale"]


def test_a_source_that_never_succeeded_warns_with_its_last_error(db_url, server, capsys):
    server.script.mode = "error"
    sync.sync_url(db_url, url_of(server))

    state = sync.status(db_url)
    message = sync.status_message(state)

    assert state["stale"] and "chưa đồng bộ thành công lần nào" in message and "HTTP 500" in message
    assert main(["--db", db_url, "sync", "--status"]) == 1
    assert "HTTP 500" in capsys.readouterr().out


def test_parse_interval():
    assert [sync.parse_interval(t) for t in ("30s", "10m", "2h", "1d", "45")] == [30, 600, 7200, 86400, 45]
    for bad in ("", "m", "-5m", "0", "mười phút"):
        with pytest.raises(ValueError, match="Chu kỳ"):
            sync.parse_interval(bad)


def test_the_service_keeps_watching_until_sigterm_and_then_exits_cleanly(sqlite_url, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    header, *rows = SAMPLE_CSV.read_bytes().splitlines(keepends=True)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    service = subprocess.Popen([sys.executable, "-m", "tthc_core", "--db", sqlite_url, "sync", "--watch", str(inbox),
                                "--every", "0.2s"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=os.environ | {"PYTHONPATH": str(ROOT)})
    try:
        drop(inbox, "lo-1.csv", header + rows[0])
        drop(inbox, "lo-2.csv", header + rows[1])
        for _ in range(300):  # the files are picked up while the service runs (bounded wait, not a timing test)
            if len(list((inbox / "done").glob("*.csv")) if (inbox / "done").exists() else []) == 2:
                break
            time.sleep(0.1)
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, err.decode()
    assert dossier_count(sqlite_url) == 2
    assert "Đã nhập 1 hồ sơ" in out.decode()


def test_an_empty_export_dropped_in_the_folder_is_nothing_new_not_a_refusal(db_url, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop(inbox, "trong.json", b'{"service": "DongBoHoSoMC", "madonvi": "000.00.99.H00", "data": []}')

    outcome = sync.sync_folder(db_url, inbox)

    assert (outcome.ok, outcome.written, outcome.message) == (True, 0, "Không có tệp mới.")
    assert (inbox / "done" / "trong.json").exists() and not (inbox / "rejected").exists()
    assert log_rows(db_url) == []


def test_the_dashboard_banner_shows_the_last_sync_and_warns_past_the_limit(demo_copy, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    last = (dt.datetime.now() - dt.timedelta(hours=30)).replace(second=0, microsecond=0)
    set_success(demo_copy, "url:https://mot-cua.example.vn/xuat", last, error="máy chủ trả lỗi HTTP 503")
    monkeypatch.setenv("TTHC_DATABASE_URL", demo_copy)
    monkeypatch.delenv(sync.ENV_STALE_HOURS, raising=False)

    def dashboard() -> AppTest:
        st.cache_data.clear()
        return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()

    stale = dashboard()
    warning = next(w.value for w in stale.warning if "đồng bộ" in w.value)
    assert f"đồng bộ thành công gần nhất lúc {last:%d/%m/%Y %H:%M}, đã 30 giờ" in warning
    assert "quá 26 giờ" in warning and "HTTP 503" in warning

    monkeypatch.setenv(sync.ENV_STALE_HOURS, "48")
    fresh = dashboard()
    assert not [w for w in fresh.warning if "đồng bộ" in w.value]
    assert f"Đồng bộ dữ liệu thành công gần nhất lúc {last:%d/%m/%Y %H:%M}." in [c.value for c in fresh.caption]
    st.cache_data.clear()
