"""The scheduled digest (issue 17): what needs action, pushed by e-mail or a chat webhook.

A digest is computed for a scope (one agency, several, the province; always within an ``auth.Scope``
when a subscriber's) and a day, from the same functions the dashboard reads, so its figures are the
dashboard's: overdue and due-soon from :mod:`tthc_core.worklist`, resolved late since the last digest,
the QĐ 766 sub-indicators below their maximum with the top hints (:func:`tthc_core.qd766.compute_index`),
the live feed's state (:func:`tthc_core.sync.status`) and the identity checks
(:func:`tthc_core.checks.checks`).

No citizen's personal data leaves in a message: dossier code, procedure, agency and dates only (the
worklist rows carry no applicant, and :data:`LIST_COLUMNS` is all that is written).

Sending: :func:`send_due` walks the subscriptions; a digest goes out at most once per subscription and
day, even across restarts, because a ``digest_deliveries`` row (unique on subscription + day) is
claimed in its own transaction before sending and marked ``sent`` / ``failed`` afterwards. A crash
between claim and send leaves ``claimed``: that day is skipped rather than risk a second message.
No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import json
import os
import secrets
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import checks as checks_module
from . import qd766, sync, worklist
from .auth import AccessDenied, AuthError, Scope, account_scope, restrict
from .db import get_engine
from .exports.csv import csv_bytes
from .formatting import fmt_date, fmt_datetime, fmt_decimal, fmt_int, vietnam_now
from .models import Agency, DigestDelivery, DigestSubscription, Setting
from .periods import period_containing
from .stats import compute_stats

SECTIONS = ("overdue", "due_soon", "resolved_late", "qd766", "sync", "checks")
SECTION_LABELS = {"overdue": "Hồ sơ quá hạn", "due_soon": "Hồ sơ sắp đến hạn",
                  "resolved_late": "Giải quyết quá hạn từ bản tin trước", "qd766": "Chỉ số QĐ 766",
                  "sync": "Đồng bộ dữ liệu", "checks": "Kiểm tra số liệu"}
CHANNELS = ("email", "webhook")
URL_ENV = "TTHC_PUBLIC_URL"
SECRET_ENV = "TTHC_DIGEST_SECRET"
SECRET_SETTING = "digest_secret"
DEFAULT_URL = "http://localhost:8501"
SHOWN = 10  # rows of each list in the message body; the CSV attachment has every overdue dossier
ALL_AGENCIES = "all"  # the dashboard's URL value for "every agency" (tthc_core/ui/sidebar.py)
# The only fields of a dossier that leave in a message (no applicant, no address, no phone).
LIST_COLUMNS = {"code": "Mã hồ sơ", "agency_code": "Mã cơ quan", "procedure_name": "Thủ tục",
                "received_at": "Ngày tiếp nhận", "due_at": "Hạn trả", "days_overdue": "Số ngày quá hạn"}


class DigestError(ValueError):
    """A subscription or delivery that cannot be made; Vietnamese message, safe to show."""


# --------------------------------------------------------------------------------------------
# The digest
# --------------------------------------------------------------------------------------------

def public_url() -> str:
    """The dashboard's address for links (``TTHC_PUBLIC_URL``), without a trailing slash."""
    return (os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")


def page_link(base: str, page: str, agency: str | Sequence[str] | None, period) -> str:
    """A link into a dashboard page with the sidebar's filters in the URL (``agency``, ``period``,
    ``mode``, as ``tthc_core.ui.sidebar`` reads them). Several agencies: "every agency", which the
    dashboard narrows to the reader's own scope."""
    codes = [agency] if isinstance(agency, str) else list(agency or [])
    code = codes[0] if len(codes) == 1 and codes[0] else ALL_AGENCIES
    return f"{base}/{page}?" + urlencode({"agency": code, "period": period.spec, "mode": period.mode})


def _scope_name(db, agency: str | list[str] | None) -> str:
    if agency is None:
        return "Toàn tỉnh"
    codes = [agency] if isinstance(agency, str) else list(agency)
    with get_engine(db).connect() as conn:
        names = dict(conn.execute(select(Agency.code, Agency.name).where(Agency.code.in_(codes))).all())
    return ", ".join(names.get(c, c) for c in codes)


def _safe_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in (*LIST_COLUMNS, "working_days_left", "resolved_at") if k in row}


def _feed(now: dt.datetime, db) -> dict[str, Any]:
    state = sync.status(db, now)
    failing = [{"source": _source_name(r["source"]), "last_error": r["last_error"],
                "last_attempt_at": r["last_attempt_at"], "last_success_at": r["last_success_at"]}
               for r in state["sources"] if r["last_error"] or r["stale"]]
    return {"configured": state["configured"], "last_success_at": state["last_success_at"],
            "stale": state["stale"], "failing": failing}


def _source_name(source: str) -> str:
    kind, _, where = source.partition(":")
    return sync.display_url(where) if kind == "url" else where  # never a password from a URL


def compute(db: str | Engine | None, agency: str | Sequence[str] | None = None, *, scope: Scope | None = None,
            at: dt.date | None = None, now: dt.datetime | None = None, since: dt.date | None = None,
            working_days: int | None = None, sections: Sequence[str] = SECTIONS, base_url: str | None = None,
            ) -> dict[str, Any]:
    """The digest of ``agency`` (within ``scope``) at the end of day ``at`` (default today, Vietnam time).

    ``since``: the first day of "resolved late" (the last digest's day; default the day before ``at``).
    Counts and lists come from the dashboard's own functions (worklist, qd766, sync, checks)."""
    agency = restrict(scope, agency)
    now = now or vietnam_now()
    at = at or now.date()
    days = worklist.due_soon_days() if working_days is None else working_days
    base = (base_url or public_url()).rstrip("/")
    quarter = period_containing(at, "quarter", "report")
    month = period_containing(at, "month", "calendar")
    result: dict[str, Any] = {
        "at": at, "now": now, "agency": agency, "scope_name": _scope_name(db, agency), "working_days": days,
        "sections": [s for s in SECTIONS if s in sections],
        "links": {"worklist": page_link(base, "can_xu_ly", agency, quarter),
                  "qd766": page_link(base, "chi_so_766", agency, month),
                  "data": page_link(base, "du_lieu", agency, quarter),
                  "report": page_link(base, "bao_cao_quy", agency, quarter)},
    }
    counts = worklist.counts(db, at, days, agency)
    result["counts"] = counts
    if "overdue" in sections:
        rows = worklist.overdue(db, at, agency)
        result["overdue"] = [_safe_row(r) for r in rows]
    if "due_soon" in sections:
        result["due_soon"] = [_safe_row(r) for r in worklist.due_soon(db, at, days, agency, limit=SHOWN)]
    if "resolved_late" in sections:
        result["since"] = since or at - dt.timedelta(days=1)
        result["resolved_late"] = [_safe_row(r) for r in worklist.resolved_late(db, result["since"], at, agency)]
    if "qd766" in sections:
        index = qd766.compute_index(db, month, "calendar", agency, now=now, ranking=False)
        result["qd766"] = {
            "period": month.label, "total": index["total"], "grade": index["grade"],
            "at_risk": [{"id": i["id"], "title": i["title"], "points": i["points"], "max": i["max"]}
                        for i in index["indicators"]
                        if not i["info"] and i["points"] is not None and i["points"] < i["max"]],
            "hints": [h["text"] for h in index["hints"][:3]],
        }
    if "sync" in sections:
        result["sync"] = _feed(now, db)
    if "checks" in sections:
        figures = compute_stats(db, quarter, "report", agency, as_of=at)
        result["checks"] = [f["message"] for f in checks_module.checks(figures)]
    return result


# --------------------------------------------------------------------------------------------
# Rendering: plain text, HTML, the webhook's JSON, the CSV attachment
# --------------------------------------------------------------------------------------------

def subject(d: dict[str, Any]) -> str:
    c = d["counts"]
    return (f"Bản tin TTHC {fmt_date(d['at'])} – {d['scope_name']}: {fmt_int(c['overdue'])} quá hạn, "
            f"{fmt_int(c['due_soon'])} sắp đến hạn")


def _row_text(row: dict[str, Any]) -> str:
    parts = [row["code"], row.get("procedure_name") or ""]
    if row.get("received_at"):
        parts.append(f"tiếp nhận {fmt_date(row['received_at'])}")
    if row.get("due_at"):
        parts.append(f"hạn {fmt_datetime(row['due_at'])}")
    if "days_overdue" in row:
        parts.append(f"quá {fmt_int(row['days_overdue'])} ngày")
    if "working_days_left" in row:
        parts.append(f"còn {fmt_int(row['working_days_left'])} ngày làm việc")
    if row.get("resolved_at"):
        parts.append(f"giải quyết {fmt_datetime(row['resolved_at'])}")
    return " · ".join(p for p in parts if p)


def blocks(d: dict[str, Any]) -> list[tuple[str, list[str], str | None]]:
    """The digest as (heading, lines, link) blocks; the text, HTML and webhook bodies render these."""
    c, out = d["counts"], []
    if "overdue" in d:
        rows = d["overdue"]
        lines = [_row_text(r) for r in rows[:SHOWN]]
        if len(rows) > SHOWN:
            lines.append(f"… và {fmt_int(len(rows) - SHOWN)} hồ sơ khác (xem tệp CSV đính kèm).")
        out.append((f"Quá hạn: {fmt_int(c['overdue'])} hồ sơ (lâu nhất trước)", lines, d["links"]["worklist"]))
    if "due_soon" in d:
        lines = [_row_text(r) for r in d["due_soon"]]
        if c["due_soon"] > len(lines):
            lines.append(f"… và {fmt_int(c['due_soon'] - len(lines))} hồ sơ khác.")
        out.append((f"Sắp đến hạn trong {fmt_int(d['working_days'])} ngày làm việc: {fmt_int(c['due_soon'])} hồ sơ",
                    lines, d["links"]["worklist"]))
    if "resolved_late" in d:
        rows = d["resolved_late"]
        out.append((f"Giải quyết quá hạn từ {fmt_date(d['since'])}: {fmt_int(len(rows))} hồ sơ",
                    [_row_text(r) for r in rows[:SHOWN]], None))
    if "qd766" in d:
        q = d["qd766"]
        lines = [f"{i['id']} {i['title']}: {fmt_decimal(i['points'])}/{fmt_decimal(i['max'])} điểm" for i in q["at_risk"]]
        lines += [f"Gợi ý: {h}" for h in q["hints"]]
        out.append((f"Chỉ số QĐ 766 {q['period'].lower()}: {fmt_decimal(q['total'])}/100 điểm ({q['grade']})",
                    lines, d["links"]["qd766"]))
    if "sync" in d:
        s = d["sync"]
        if not s["configured"]:
            lines = ["Chưa cấu hình đồng bộ tự động."]
        else:
            lines = [f"Thành công gần nhất: {fmt_datetime(s['last_success_at']) or 'chưa có'}."]
            lines += [f"Lỗi nguồn «{f['source']}» lúc {fmt_datetime(f['last_attempt_at'])}: {f['last_error'] or 'quá lâu không đồng bộ được'}"
                      for f in s["failing"]]
        out.append(("Đồng bộ dữ liệu" + (": CẢNH BÁO" if s["stale"] else ""), lines, d["links"]["data"]))
    if "checks" in d:
        failures = d["checks"]
        out.append((f"Kiểm tra số liệu: {fmt_int(len(failures))} chỗ chưa khớp" if failures
                    else "Kiểm tra số liệu: khớp", failures[:SHOWN], d["links"]["report"] if failures else None))
    return out


def text_body(d: dict[str, Any], unsubscribe: str | None = None) -> str:
    lines = [f"Bản tin thủ tục hành chính – {d['scope_name']}",
             f"Tính đến hết ngày {fmt_date(d['at'])} (lập lúc {fmt_datetime(d['now'])}).", ""]
    for heading, items, link in blocks(d):
        lines.append(heading)
        lines += [f"  - {item}" for item in items]
        if link:
            lines.append(f"  Xem: {link}")
        lines.append("")
    if unsubscribe:
        lines.append(f"Hủy nhận bản tin này: {unsubscribe}")
    return "\n".join(lines)


def html_body(d: dict[str, Any], unsubscribe: str | None = None) -> str:
    e = html.escape
    parts = [f"<h2>Bản tin thủ tục hành chính – {e(d['scope_name'])}</h2>",
             f"<p>Tính đến hết ngày {fmt_date(d['at'])} (lập lúc {fmt_datetime(d['now'])}).</p>"]
    for heading, items, link in blocks(d):
        parts.append(f"<h3>{e(heading)}</h3>")
        if items:
            parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>")
        if link:
            parts.append(f'<p><a href="{e(link)}">Mở trên bảng điều khiển</a></p>')
    if unsubscribe:
        parts.append(f'<p style="color:#666;font-size:small"><a href="{e(unsubscribe)}">Hủy nhận bản tin này</a></p>')
    return "<html><body>" + "".join(parts) + "</body></html>"


def overdue_csv(d: dict[str, Any]) -> bytes:
    """The day's overdue list, every row, through the safe CSV writer (no formula runs in Excel)."""
    rows = [{label: _cell(r.get(key)) for key, label in LIST_COLUMNS.items()} for r in d.get("overdue", [])]
    return csv_bytes(pd.DataFrame(rows, columns=list(LIST_COLUMNS.values())))


def _cell(value: Any) -> Any:
    return fmt_datetime(value) if isinstance(value, (dt.date, dt.datetime)) else value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def webhook_payload(d: dict[str, Any]) -> bytes:
    """Generic JSON for a Zalo OA relay or a chat bot: ``text`` ready to post, plus the figures."""
    body = {"text": text_body(d), "subject": subject(d), "at": d["at"], "scope": d["scope_name"],
            "agency": d["agency"], "counts": d["counts"], "links": d["links"],
            "sections": {s: d[s] for s in d["sections"] if s in d}}
    return json.dumps(body, ensure_ascii=False, default=_json_default).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Delivery: SMTP and webhook, with bounded retries and back-off
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "tthc@localhost"

    @classmethod
    def from_env(cls, hostport: str | None = None) -> "SmtpSettings":
        """``TTHC_SMTP`` (host:port), ``TTHC_SMTP_STARTTLS`` (1/0), ``TTHC_SMTP_USER``,
        ``TTHC_SMTP_PASSWORD``, ``TTHC_SMTP_FROM``; ``hostport`` (``--smtp``) overrides ``TTHC_SMTP``."""
        spec = hostport or os.environ.get("TTHC_SMTP")
        if not spec:
            raise DigestError("Chưa cấu hình máy chủ thư: dùng --smtp HOST:PORT hoặc biến TTHC_SMTP.")
        host, _, port = spec.rpartition(":") if ":" in spec else (spec, "", "25")
        try:
            number = int(port)
        except ValueError:
            raise DigestError(f"Cổng máy chủ thư không hợp lệ «{port}».") from None
        return cls(host, number, os.environ.get("TTHC_SMTP_STARTTLS", "0") in ("1", "true", "yes"),
                   os.environ.get("TTHC_SMTP_USER") or None, os.environ.get("TTHC_SMTP_PASSWORD") or None,
                   os.environ.get("TTHC_SMTP_FROM") or "tthc@localhost")


def email_message(d: dict[str, Any], sender: str, to: str, unsubscribe: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject(d), sender, to
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg.set_content(text_body(d, unsubscribe))
    msg.add_alternative(html_body(d, unsubscribe), subtype="html")
    if "overdue" in d:
        msg.add_attachment(overdue_csv(d), maintype="text", subtype="csv",
                           filename=f"qua-han_{d['at'].isoformat()}.csv", params={"charset": "utf-8"})
    return msg


def send_email(settings: SmtpSettings, msg: EmailMessage, timeout: float = 30.0) -> None:
    with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(msg)


def post_webhook(url: str, payload: bytes, timeout: float = 30.0) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise DigestError(f"Địa chỉ webhook phải bắt đầu bằng http:// hoặc https://: «{url}».")
    request = urllib.request.Request(url, data=payload, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        response.read()


RETRIES = 3
BACKOFF_BASE = 2.0


def with_retries(send: Callable[[], None], retries: int = RETRIES, base: float = BACKOFF_BASE,
                 sleep: Callable[[float], Any] = time.sleep) -> tuple[int, str | None]:
    """Call ``send`` until it succeeds, at most ``1 + retries`` times, waiting ``base × 2^n`` (capped by
    ``sync.backoff_delay``) in between. Returns (attempts, last error or None)."""
    error = None
    for attempt in range(1, retries + 2):
        try:
            send()
            return attempt, None
        except (OSError, smtplib.SMTPException, urllib.error.URLError) as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        if attempt <= retries:
            sleep(sync.backoff_delay(attempt, base=base, cap=60.0))
    return retries + 1, error


# --------------------------------------------------------------------------------------------
# Subscriptions and the unsubscribe token
# --------------------------------------------------------------------------------------------

def _secret(conn) -> bytes:
    """``TTHC_DIGEST_SECRET``, else one random secret kept in the settings table."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode()
    value = conn.scalar(select(Setting.value).where(Setting.key == SECRET_SETTING))
    if value is None:
        value = secrets.token_hex(32)
        try:
            with conn.begin_nested():
                conn.execute(insert(Setting).values(key=SECRET_SETTING, value=value))
        except IntegrityError:
            value = conn.scalar(select(Setting.value).where(Setting.key == SECRET_SETTING))
    return value.encode()


def _sign(secret: bytes, sub_id: int, nonce: str) -> str:
    return hmac.new(secret, f"{sub_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_token(db, sub_id: int) -> str:
    """``id.nonce.signature``: the nonce is random per subscription, the signature needs the server's secret."""
    with get_engine(db).begin() as conn:
        nonce = conn.scalar(select(DigestSubscription.nonce).where(DigestSubscription.id == sub_id))
        return f"{sub_id}.{nonce}.{_sign(_secret(conn), sub_id, nonce)}"


def unsubscribe_link(base: str, token: str) -> str:
    return f"{base}/ban_tin?" + urlencode({"unsubscribe": token})


def unsubscribe(db, token: str) -> dict[str, Any] | None:
    """Deactivate the subscription a valid token names (no sign-in needed); None for a bad token."""
    try:
        raw_id, nonce, signature = (token or "").split(".")
        sub_id = int(raw_id)
    except ValueError:
        return None
    with get_engine(db).begin() as conn:
        row = conn.execute(select(DigestSubscription).where(DigestSubscription.id == sub_id)).first()
        if row is None or not hmac.compare_digest(row.nonce, nonce) \
                or not hmac.compare_digest(_sign(_secret(conn), sub_id, nonce), signature):
            return None
        conn.execute(update(DigestSubscription).where(DigestSubscription.id == sub_id).values(active=False))
        return {"id": sub_id, "channel": row.channel, "target": row.target}


def _codes(agencies: str | Sequence[str] | None) -> list[str]:
    if not agencies:
        return []
    items = agencies.split(",") if isinstance(agencies, str) else agencies
    return [a.strip().upper() for a in items if a and a.strip()]


def subscribe(db, username: str, channel: str, target: str, agencies: str | Sequence[str] | None = None,
              weekdays: str = "01234", send_at: str = "07:30", sections: Sequence[str] | None = None,
              due_soon_days: int | None = None, by: Scope | None = None) -> int:
    """Add a subscription for ``username`` (checked against that account's scope; ``by``, when given,
    must be that user or an admin). Returns its id."""
    if by is not None and by.username != username and not by.can_manage_users:
        raise AccessDenied("Chỉ quản trị viên được đăng ký bản tin cho tài khoản khác.")
    if channel not in CHANNELS:
        raise DigestError(f"Kênh «{channel}» không hợp lệ: email hoặc webhook.")
    target = target.strip()
    if channel == "email" and ("@" not in target or any(c in target for c in " \r\n,;<>")):
        raise DigestError(f"Địa chỉ thư không hợp lệ «{target}».")
    if channel == "webhook" and not target.lower().startswith(("http://", "https://")):
        raise DigestError(f"Địa chỉ webhook phải bắt đầu bằng http:// hoặc https://: «{target}».")
    if not weekdays or any(c not in "0123456" for c in weekdays):
        raise DigestError("Ngày gửi ghi bằng chữ số 0 (thứ Hai) … 6 (Chủ nhật), ví dụ 01234.")
    try:
        dt.time.fromisoformat(send_at)
    except ValueError:
        raise DigestError(f"Giờ gửi không hợp lệ «{send_at}», dùng HH:MM.") from None
    chosen = list(sections or SECTIONS)
    if unknown := [s for s in chosen if s not in SECTIONS]:
        raise DigestError(f"Mục «{unknown[0]}» không có; chọn trong: {', '.join(SECTIONS)}.")
    codes = _codes(agencies)
    account_scope(db, username).restrict(codes or None)  # AccessDenied outside the account's own scope
    with get_engine(db).begin() as conn:
        return conn.execute(insert(DigestSubscription).values(
            username=username.strip().lower(), channel=channel, target=target, agencies=",".join(codes),
            weekdays="".join(sorted(set(weekdays))), send_at=send_at[:5], sections=",".join(chosen),
            due_soon_days=due_soon_days, nonce=secrets.token_urlsafe(16), active=True, created_at=vietnam_now(),
        ).returning(DigestSubscription.id)).scalar_one()


def subscriptions(db, username: str | None = None, active_only: bool = False) -> list[dict[str, Any]]:
    stmt = select(DigestSubscription).order_by(DigestSubscription.id)
    if username is not None:
        stmt = stmt.where(DigestSubscription.username == username.strip().lower())
    if active_only:
        stmt = stmt.where(DigestSubscription.active.is_(True))
    with get_engine(db).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt.with_only_columns(*DigestSubscription.__table__.c))]


def remove(db, sub_id: int, by: Scope | None = None) -> bool:
    """Delete a subscription (``by``: its owner or an admin). True when one was deleted."""
    with get_engine(db).begin() as conn:
        owner = conn.scalar(select(DigestSubscription.username).where(DigestSubscription.id == sub_id))
        if owner is None:
            return False
        if by is not None and by.username != owner and not by.can_manage_users:
            raise AccessDenied("Chỉ xóa được bản tin của chính mình.")
        conn.execute(delete(DigestSubscription).where(DigestSubscription.id == sub_id))
        return True


def deliveries(db, limit: int = 50) -> list[dict[str, Any]]:
    with get_engine(db).connect() as conn:
        stmt = select(*DigestDelivery.__table__.c).order_by(DigestDelivery.id.desc()).limit(limit)
        return [dict(r._mapping) for r in conn.execute(stmt)]


# --------------------------------------------------------------------------------------------
# Sending what is due
# --------------------------------------------------------------------------------------------

def _claim(db, sub: dict[str, Any] | None, day: dt.date, channel: str, target: str, now: dt.datetime) -> int | None:
    """Insert this day's delivery row in its own transaction; None when it is already there."""
    try:
        with get_engine(db).begin() as conn:
            return conn.execute(insert(DigestDelivery).values(
                subscription_id=sub["id"] if sub else None, day=day, channel=channel, target=target,
                status="claimed", attempts=0, claimed_at=now).returning(DigestDelivery.id)).scalar_one()
    except IntegrityError:
        return None


def _finish(db, delivery_id: int, attempts: int, error: str | None, counts: dict[str, int] | None) -> None:
    with get_engine(db).begin() as conn:
        conn.execute(update(DigestDelivery).where(DigestDelivery.id == delivery_id).values(
            status="failed" if error else "sent", attempts=attempts, error=error, finished_at=vietnam_now(),
            overdue=(counts or {}).get("overdue"), due_soon=(counts or {}).get("due_soon")))


def _last_sent_day(db, sub_id: int, before: dt.date) -> dt.date | None:
    with get_engine(db).connect() as conn:
        return conn.scalar(select(DigestDelivery.day).where(
            DigestDelivery.subscription_id == sub_id, DigestDelivery.status == "sent",
            DigestDelivery.day < before).order_by(DigestDelivery.day.desc()).limit(1))


def deliver(db, d: dict[str, Any], channel: str, target: str, *, smtp: SmtpSettings | None = None,
            unsubscribe: str | None = None, retries: int = RETRIES, sleep: Callable[[float], Any] = time.sleep
            ) -> tuple[int, str | None]:
    """Send one digest by e-mail or webhook with bounded retries; (attempts, error or None)."""
    if channel == "email":
        if smtp is None:
            smtp = SmtpSettings.from_env()
        msg = email_message(d, smtp.sender, target, unsubscribe)
        return with_retries(lambda: send_email(smtp, msg), retries, sleep=sleep)
    payload = webhook_payload(d)
    return with_retries(lambda: post_webhook(target, payload), retries, sleep=sleep)


def is_due(sub: dict[str, Any], now: dt.datetime) -> bool:
    return str(now.weekday()) in sub["weekdays"] and now.time() >= dt.time.fromisoformat(sub["send_at"])


def send_subscription(db, sub: dict[str, Any], now: dt.datetime, *, smtp: SmtpSettings | None = None,
                      base_url: str | None = None, retries: int = RETRIES,
                      sleep: Callable[[float], Any] = time.sleep) -> dict[str, Any] | None:
    """Claim today's row, compute within the subscriber's scope, send, log. None when already claimed."""
    day = now.date()
    delivery_id = _claim(db, sub, day, sub["channel"], sub["target"], now)
    if delivery_id is None:
        return None
    counts, error, attempts = None, None, 0
    try:
        # The account's scope now, not when subscribing: a narrowed account gets only what it may see.
        scope = account_scope(db, sub["username"])
        last = _last_sent_day(db, sub["id"], day)
        base = (base_url or public_url()).rstrip("/")
        # From the last digest's day (inclusive: a dossier resolved late that afternoon is not lost), or
        # yesterday for the first one.
        d = compute(db, _codes(sub["agencies"]) or None, scope=scope, at=day, now=now,
                    since=last or day - dt.timedelta(days=1), working_days=sub["due_soon_days"],
                    sections=_codes_lower(sub["sections"]) or SECTIONS, base_url=base)
        counts = d["counts"]
        link = unsubscribe_link(base, unsubscribe_token(db, sub["id"])) if sub["channel"] == "email" else None
        attempts, error = deliver(db, d, sub["channel"], sub["target"], smtp=smtp, unsubscribe=link,
                                  retries=retries, sleep=sleep)
    except (AccessDenied, AuthError, DigestError) as exc:
        error = str(exc)
    _finish(db, delivery_id, attempts, error, counts)
    return {"id": delivery_id, "subscription_id": sub["id"], "error": error, "attempts": attempts, "counts": counts}


def _codes_lower(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def send_due(db, now: dt.datetime | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Send every active subscription due at ``now`` (Vietnam time) not yet claimed today."""
    now = now or vietnam_now()
    done = []
    for sub in subscriptions(db, active_only=True):
        if is_due(sub, now) and (result := send_subscription(db, sub, now, **kwargs)) is not None:
            done.append(result)
    return done


def send_adhoc(db, to: str, channel: str = "email", agency: str | Sequence[str] | None = None, *,
               now: dt.datetime | None = None, at: dt.date | None = None, smtp: SmtpSettings | None = None,
               working_days: int | None = None, base_url: str | None = None, retries: int = RETRIES,
               sleep: Callable[[float], Any] = time.sleep) -> dict[str, Any]:
    """The CLI's one-off digest (``digest --once --to``): computed, sent and logged without a subscription."""
    now = now or vietnam_now()
    d = compute(db, agency, at=at or now.date(), now=now, working_days=working_days, base_url=base_url)
    delivery_id = _claim(db, None, d["at"], channel, to, now)
    attempts, error = deliver(db, d, channel, to, smtp=smtp, retries=retries, sleep=sleep)
    _finish(db, delivery_id, attempts, error, d["counts"])
    return {"id": delivery_id, "error": error, "attempts": attempts, "counts": d["counts"], "digest": d}


__all__ = ["CHANNELS", "DigestError", "SECTIONS", "SmtpSettings", "compute", "deliver", "deliveries",
           "email_message", "html_body", "overdue_csv", "page_link", "remove", "send_adhoc", "send_due",
           "send_subscription", "subscribe", "subscriptions", "text_body", "unsubscribe", "unsubscribe_link",
           "unsubscribe_token", "webhook_payload", "with_retries"]
