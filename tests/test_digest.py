"""The scheduled digest (issue 17): real mail to an SMTP server on 127.0.0.1 (aiosmtpd), real webhooks to
an http.server on 127.0.0.1, on both engines.

Tuesday 30 August 2022, agency A: overdue by 1 day (due Monday 29) and by 30 days (due 31 July); due
tomorrow (Wednesday 31); due Monday 5 September across the National Day holiday (1–2 September) and the
weekend, 2 working days away; due Wednesday 7 September, 4 working days away (outside 3); resolved late
on 29 August. Agency B holds an overdue and a due-soon dossier that A's subscriber must never see.
"""
from __future__ import annotations

import datetime as dt
import email
import json
import socket
import threading
from email import policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from tthc_core import digest, worklist
from tthc_core.__main__ import main
from tthc_core.auth import AccessDenied, create_user
from tthc_core.db import dispose_engine, get_engine
from tthc_core.periods import parse_period, period_containing
from tthc_core.store import ensure_agency, field_ids, write_dossiers

T = dt.datetime
TUESDAY = dt.date(2022, 8, 30)
MORNING = T(2022, 8, 30, 7, 45)
BASE = "https://tthc.example.vn"


def hand_built(url: str) -> str:
    cases = [
        # code, agency, received, due, resolved
        ("A-LATE-1", "A", T(2022, 8, 1, 9), T(2022, 8, 29), None),
        ("A-LATE-30", "A", T(2022, 7, 1, 9), T(2022, 7, 31), None),
        ("A-TOMORROW", "A", T(2022, 8, 15, 9), T(2022, 8, 31), None),
        ("A-ACROSS-HOLIDAY", "A", T(2022, 8, 16, 9), T(2022, 9, 5), None),
        ("A-LATER", "A", T(2022, 8, 17, 9), T(2022, 9, 7), None),
        ("A-RESOLVED-LATE", "A", T(2022, 8, 1, 9), T(2022, 8, 20), T(2022, 8, 29, 10)),
        ("B-LATE", "B", T(2022, 8, 1, 9), T(2022, 8, 25), None),
        ("B-TOMORROW", "B", T(2022, 8, 15, 9), T(2022, 8, 31), None),
    ]
    with get_engine(url).begin() as conn:
        agencies = {code: ensure_agency(conn, code, f"Cơ quan {code}") for code in ("A", "B")}
        field = field_ids(conn, ["Việc làm"])["Việc làm"]
        write_dossiers(conn, [dict(code=code, agency_id=agencies[agency], field_id=field, procedure_id=None,
                                   channel="direct", status="normal", received_at=received, due_at=due,
                                   resolved_at=resolved)
                              for code, agency, received, due, resolved in cases])
    create_user(url, "can_bo_a", "officer", "mat-khau-dai-du-12", agencies=["A"])
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, digest.SmtpSettings("127.0.0.1", controller.port, sender="tthc@example.vn")
    controller.stop()


class Hook:
    """An http.server on 127.0.0.1 that records JSON bodies and fails the first ``fail`` requests."""

    def __init__(self, fail: int = 0):
        self.bodies: list[dict] = []
        self.fail, self.seen = fail, 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.seen += 1
                if hook.seen <= hook.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    made = []

    def make(fail: int = 0) -> Hook:
        made.append(Hook(fail))
        return made[-1]

    yield make
    for h in made:
        h.close()


def _text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def _links(text: str) -> list[str]:
    return [w for w in text.split() if w.startswith(BASE)]


def test_the_digest_counts_the_hand_built_case(db_url):
    d = digest.compute(hand_built(db_url), "A", at=TUESDAY, now=MORNING, since=dt.date(2022, 8, 29),
                       working_days=3, base_url=BASE)
    assert d["counts"] == {"overdue": 2, "due_soon": 2}
    assert [(r["code"], r["days_overdue"]) for r in d["overdue"]] == [("A-LATE-30", 30), ("A-LATE-1", 1)]
    # Due tomorrow: 1 working day; due Monday 5/9 across 1–2/9 (holiday) and the weekend: 2 working days.
    assert [(r["code"], r["working_days_left"]) for r in d["due_soon"]] == [("A-TOMORROW", 1),
                                                                           ("A-ACROSS-HOLIDAY", 2)]
    assert [r["code"] for r in d["resolved_late"]] == ["A-RESOLVED-LATE"]
    # The same figures as the dashboard's "cần xử lý" for the same moment.
    assert worklist.counts(db_url, TUESDAY, 3, "A") == d["counts"]


def test_mail_carries_the_counts_the_links_and_the_csv_of_one_agency_only(db_url, smtp_server):
    inbox, smtp = smtp_server
    url = hand_built(db_url)
    sub_id = digest.subscribe(url, "can_bo_a", "email", "truong.phong@example.vn", weekdays="1", send_at="07:30",
                              due_soon_days=3)
    results = digest.send_due(url, MORNING, smtp=smtp, base_url=BASE)
    assert [r["error"] for r in results] == [None]
    [msg] = inbox.messages
    assert msg["To"] == "truong.phong@example.vn"
    assert "2 quá hạn, 2 sắp đến hạn" in msg["Subject"]
    text = _text(msg)
    assert "Quá hạn: 2 hồ sơ" in text and "quá 30 ngày" in text and "quá 1 ngày" in text
    assert "Sắp đến hạn trong 3 ngày làm việc: 2 hồ sơ" in text and "còn 2 ngày làm việc" in text
    assert "Giải quyết quá hạn từ 29/08/2022: 1 hồ sơ" in text  # the first digest: since yesterday
    assert "A-RESOLVED-LATE" in text
    # Agency B never appears: not its codes, not its name, not in the HTML or the attachment.
    whole = msg["Subject"] + "".join(str(part.get_content()) for part in msg.walk() if not part.is_multipart())
    assert "B-LATE" not in whole and "B-TOMORROW" not in whole and "Cơ quan B" not in whole
    # The links open the worklist and the 766 page filtered on A, for a period holding the day.
    links = _links(text)
    worklist_link = next(l for l in links if "/can_xu_ly?" in l)
    query = {k: v[0] for k, v in parse_qs(urlsplit(worklist_link).query).items()}
    assert query["agency"] == "A" and query["mode"] == "report"
    period = parse_period(query["period"], query["mode"])
    assert period == period_containing(TUESDAY, "quarter", "report") and period.start <= TUESDAY <= period.end
    q766 = {k: v[0] for k, v in parse_qs(urlsplit(next(l for l in links if "/chi_so_766?" in l)).query).items()}
    assert q766 == {"agency": "A", "period": "2022-08", "mode": "calendar"}
    # The CSV attachment: every overdue dossier, code/procedure/dates only.
    [attachment] = [p for p in msg.iter_attachments()]
    assert attachment.get_content_type() == "text/csv" and attachment.get_param("charset") == "utf-8"
    rows = attachment.get_payload(decode=True).decode("utf-8-sig").splitlines()
    assert rows[0] == '"Mã hồ sơ","Mã cơ quan","Thủ tục","Ngày tiếp nhận","Hạn trả","Số ngày quá hạn"'
    assert [r.split(",")[0] for r in rows[1:]] == ['"A-LATE-30"', '"A-LATE-1"']
    # One-click unsubscribe: the signed token in the mail deactivates it without signing in.
    unsub = next(l for l in links if "/ban_tin?" in l)
    token = parse_qs(urlsplit(unsub).query)["unsubscribe"][0]
    assert msg["List-Unsubscribe"] == f"<{unsub}>"
    assert digest.unsubscribe(url, token.replace(token[-1], "0" if token[-1] != "0" else "1")) is None
    assert digest.unsubscribe(url, token)["id"] == sub_id
    assert digest.subscriptions(url, active_only=True) == []
    [logged] = digest.deliveries(url)
    assert (logged["status"], logged["overdue"], logged["due_soon"], logged["attempts"]) == ("sent", 2, 2, 1)


def test_a_subscriber_cannot_subscribe_outside_the_account_scope(db_url):
    url = hand_built(db_url)
    with pytest.raises(AccessDenied):
        digest.subscribe(url, "can_bo_a", "webhook", "http://127.0.0.1:9/x", agencies="B")


def test_no_second_digest_after_a_restart_and_retries_on_a_failing_webhook(db_url, hook):
    url = hand_built(db_url)
    failing = hook(fail=2)
    digest.subscribe(url, "can_bo_a", "webhook", failing.url, weekdays="01234", send_at="07:00", due_soon_days=3)
    waits = []
    [first] = digest.send_due(url, MORNING, base_url=BASE, sleep=waits.append)
    assert (first["error"], first["attempts"]) == (None, 3) and len(waits) == 2 and waits[0] < waits[1]
    [body] = failing.bodies
    assert body["counts"] == {"overdue": 2, "due_soon": 2} and body["agency"] == ["A"]
    assert "B-LATE" not in json.dumps(body, ensure_ascii=False)
    assert {r["code"] for r in body["sections"]["overdue"]} == {"A-LATE-1", "A-LATE-30"}
    assert set(body["sections"]["overdue"][0]) <= {"code", "agency_code", "procedure_name", "received_at",
                                                   "due_at", "days_overdue"}
    # A restart: new engine, same day, later in the morning; nothing goes out twice.
    dispose_engine(url)
    assert digest.send_due(url, MORNING + dt.timedelta(hours=2), base_url=BASE, sleep=waits.append) == []
    assert len(failing.bodies) == 1
    # The next working day it goes out again.
    assert len(digest.send_due(url, MORNING + dt.timedelta(days=1), base_url=BASE, sleep=waits.append)) == 1
    assert len(failing.bodies) == 2


def test_a_webhook_that_keeps_failing_is_logged_failed_after_bounded_retries(db_url, hook):
    url = hand_built(db_url)
    down = hook(fail=100)
    digest.subscribe(url, "can_bo_a", "webhook", down.url, send_at="07:00")
    [result] = digest.send_due(url, MORNING, base_url=BASE, retries=2, sleep=lambda _: None)
    assert result["attempts"] == 3 and "503" in result["error"]
    [logged] = digest.deliveries(url)
    assert logged["status"] == "failed" and down.seen == 3
    assert digest.send_due(url, MORNING + dt.timedelta(minutes=15), base_url=BASE, sleep=lambda _: None) == []


def test_not_due_before_its_time_or_on_another_weekday(db_url, hook):
    url = hand_built(db_url)
    h = hook()
    digest.subscribe(url, "can_bo_a", "webhook", h.url, weekdays="0", send_at="07:30")  # Mondays
    assert digest.send_due(url, MORNING, base_url=BASE) == []  # a Tuesday
    monday = T(2022, 8, 29, 7, 0)
    assert digest.send_due(url, monday, base_url=BASE) == []  # before 07:30
    assert len(digest.send_due(url, monday.replace(hour=8), base_url=BASE)) == 1


def test_cli_adhoc_digest_on_the_demo_equals_the_dashboard(demo_copy, smtp_server, monkeypatch):
    from tests.conftest import DEMO_TODAY

    inbox, smtp = smtp_server
    monkeypatch.delenv("TTHC_DUE_SOON_DAYS", raising=False)
    code = main(["--db", demo_copy, "digest", "--once", "--smtp", f"127.0.0.1:{smtp.port}",
                 "--to", "giam.doc@example.vn", "--agency", "SLDTBXH", "--at", DEMO_TODAY.isoformat()])
    assert code == 0
    [msg] = inbox.messages
    # The dashboard judges the running quarter's open dossiers on today (queries.worklist_day).
    day = worklist.judged_on(period_containing(DEMO_TODAY, "quarter", "report"), DEMO_TODAY)
    expected = worklist.counts(demo_copy, day, worklist.due_soon_days(), "SLDTBXH")
    assert expected["overdue"] > 0 and expected["due_soon"] > 0
    assert f"{expected['overdue']} quá hạn, {expected['due_soon']} sắp đến hạn" in msg["Subject"]
    assert f"Quá hạn: {expected['overdue']} hồ sơ" in _text(msg)


def test_cli_subscribe_list_remove(sqlite_url, capsys):
    url = hand_built(sqlite_url)
    assert main(["--db", url, "digest", "subscribe", "--user", "can_bo_a", "--to", "a@example.vn",
                 "--agency", "A"]) == 0
    assert main(["--db", url, "digest", "subscribe", "--user", "can_bo_a", "--to", "a@example.vn",
                 "--agency", "B"]) == 2
    assert main(["--db", url, "digest", "list"]) == 0
    out = capsys.readouterr()
    assert "can_bo_a\temail\ta@example.vn\tA" in out.out and "không được xem" in out.err
    [sub] = digest.subscriptions(url)
    assert main(["--db", url, "digest", "remove", "--id", str(sub["id"])]) == 0
    assert digest.subscriptions(url) == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test server on 127.0.0.1
def test_mail_logs_in_when_configured(db_url, monkeypatch):
    """SMTP login from the environment (TTHC_SMTP_USER / _PASSWORD): a server requiring it accepts the mail."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"bantin", b"bi-mat")
        logins.append(ok)
        return AuthResult(success=ok)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        monkeypatch.setenv("TTHC_SMTP_USER", "bantin")
        monkeypatch.setenv("TTHC_SMTP_PASSWORD", "bi-mat")
        monkeypatch.setenv("TTHC_SMTP_FROM", "bantin@example.vn")
        smtp = digest.SmtpSettings.from_env(f"127.0.0.1:{controller.port}")
        result = digest.send_adhoc(hand_built(db_url), "a@example.vn", agency="A", now=MORNING, smtp=smtp,
                                   working_days=3, base_url=BASE, sleep=lambda _: None)
        assert result["error"] is None and logins == [True]
        [msg] = inbox.messages
        assert msg["From"] == "bantin@example.vn" and "2 quá hạn, 2 sắp đến hạn" in msg["Subject"]
        [logged] = digest.deliveries(db_url)
        assert (logged["subscription_id"], logged["status"], logged["target"]) == (None, "sent", "a@example.vn")
    finally:
        controller.stop()


def test_the_every_loop_sends_once_a_day_and_stops_on_sigterm(sqlite_url, hook):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    url = hand_built(sqlite_url)
    h = hook()
    # Every day from 00:00: due whenever the test runs; only today's digest may go out, however many rounds.
    digest.subscribe(url, "can_bo_a", "webhook", h.url, weekdays="0123456", send_at="00:00")
    dispose_engine(url)
    root = Path(__file__).resolve().parent.parent
    service = subprocess.Popen([sys.executable, "-m", "tthc_core", "--db", url, "digest", "--every", "1s"], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not h.bodies and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # three more rounds
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=30)
    assert service.returncode == 0, err
    assert len(h.bodies) == 1 and out.count("đã gửi") == 1
    assert [d["status"] for d in digest.deliveries(url)] == ["sent"]
