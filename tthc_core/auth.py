"""Accounts, roles and the scope every query and export is answered within.

Roles:

- ``admin``: everything, manages accounts;
- ``province``: reads every agency, consolidated reports;
- ``officer``: one agency — reads, imports, enters report inputs, freezes figures, exports;
- ``viewer``: one agency or several — reads and downloads only (the director's account).

A :class:`Scope` travels with every call into the core (``compute_stats(..., scope=...)``): the core
narrows or refuses the agencies asked for, so a page that forgot to hide a control still cannot show
another unit's figures. Passwords are hashed with Argon2id (``argon2-cffi``); repeated failures lock
the name for a while from the client that made them (see :func:`authenticate`). A sign-in lasts as a
server-side session (:func:`start_session`), ended by sign-out, by disabling the account, by a password
reset and by time. Sign-ins, imports, freezes, exports and account changes go to the audit trail
(:func:`audit`). Notes and what was tried against it: ``docs/security.md``.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import DateTime, Engine, case, literal, or_, select, update

from .db import bump_data_version, dialect_insert, get_engine
from .models import Agency, AuditEntry, ImportLog, SignInSession, SignInThrottle, User, UserAgency

ROLES = ("admin", "province", "officer", "viewer")
ROLE_LABELS = {"admin": "Quản trị", "province": "Cấp tỉnh (xem toàn tỉnh)", "officer": "Cán bộ đơn vị",
               "viewer": "Lãnh đạo, xem số liệu"}
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
# A sign-in lasts this long (hours), unless TTHC_SESSION_HOURS says otherwise.
SESSION_HOURS = 8
SESSION_HOURS_ENV = "TTHC_SESSION_HOURS"
# A trusted reverse proxy (as Grafana's and Superset's auth proxies): the header carrying the signed-in
# user name, and the proxy addresses or networks allowed to send it (comma-separated).
PROXY_HEADER_ENV = "TTHC_AUTH_PROXY_HEADER"
PROXY_TRUSTED_ENV = "TTHC_AUTH_PROXY_TRUSTED"
WRONG = "Sai tên đăng nhập hoặc mật khẩu."
# Plain ASCII names only: no two accounts can look alike ("аdmin" with a Cyrillic а, full-width letters,
# invisible characters), whatever the font. E-mails of the identity provider fit too.
USERNAME = re.compile(r"[a-z0-9](?:[a-z0-9._@+-]{0,253}[a-z0-9])?")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """What an unknown user's password is verified against, so that their sign-in is as slow as a known
    one's. Made at the first refusal, not at import: every CLI run and child process imports this module
    and the hash costs 0,2 s."""
    return _hasher.hash("tthc-dummy-password")


class AccessDenied(PermissionError):
    """The caller's role or scope does not allow it; the message is Vietnamese and safe to show."""


class AuthError(ValueError):
    """A sign-in or account operation that failed; Vietnamese message, safe to show."""


@dataclass(frozen=True)
class Scope:
    """Who is asking, and which agencies they may see (``None``: all of them)."""

    username: str
    role: str
    agencies: tuple[str, ...] | None

    @property
    def can_import(self) -> bool:
        return self.role in ("admin", "officer")

    @property
    def can_edit_reports(self) -> bool:
        """Enter report inputs and freeze figures."""
        return self.role in ("admin", "officer")

    @property
    def can_manage_users(self) -> bool:
        return self.role == "admin"

    @property
    def cache_key(self) -> str:
        """What caches must key on, so one unit's figures never reach another's session."""
        return f"{self.role}:{','.join(self.agencies) if self.agencies is not None else '*'}"

    def restrict(self, agency: str | Sequence[str] | None) -> str | list[str] | None:
        """The agencies a query may read: the ones asked for, if allowed; all of the scope when none."""
        if self.agencies is None:
            return agency
        if agency is None or agency == "":
            return list(self.agencies)
        asked = [agency] if isinstance(agency, str) else list(agency)
        outside = [code for code in asked if code not in self.agencies]
        if outside:
            raise AccessDenied(f"Tài khoản «{self.username}» không được xem số liệu của cơ quan «{outside[0]}».")
        return agency

    def require(self, permission: str) -> None:
        """Raise :class:`AccessDenied` unless ``permission`` (import, edit_reports, manage_users) is held."""
        if not getattr(self, f"can_{permission}"):
            what = {"import": "nhập dữ liệu", "edit_reports": "nhập số liệu báo cáo hoặc chốt số liệu",
                    "manage_users": "quản lý tài khoản"}[permission]
            raise AccessDenied(f"Vai trò «{ROLE_LABELS[self.role]}» không được {what}.")


# The open embedded demo, or a deployment configured open on purpose: everything, no sign-in.
OPEN_SCOPE = Scope("", "admin", None)


def restrict(scope: Scope | None, agency: str | Sequence[str] | None) -> str | list[str] | None:
    """``scope.restrict(agency)``, or ``agency`` unchanged for calls made without a scope (CLI, scripts)."""
    return agency if scope is None else scope.restrict(agency)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def normalize_username(text: str | None) -> str:
    """The account name as stored: NFKC (full-width and compatibility forms folded), trimmed, lower-case."""
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def check_username(text: str | None) -> str:
    """The normalised name, or :class:`AuthError` for a name that could pass for another one."""
    name = normalize_username(text)
    if not name:
        raise AuthError("Cần tên đăng nhập (hoặc e-mail).")
    if not USERNAME.fullmatch(name):
        raise AuthError("Tên đăng nhập chỉ gồm chữ Latinh không dấu, chữ số và các dấu . _ - @ + (không khoảng "
                        "trắng, không chữ có dấu hay chữ của bảng chữ cái khác), để không có hai tên trông "
                        "giống nhau.")
    return name


def check_password(password: str) -> None:
    # Spaces do not count: "          " is ten characters and no secret.
    if len("".join((password or "").split())) < MIN_PASSWORD:
        raise AuthError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự không phải khoảng trắng.")


def _scope_of(conn, user: Any) -> Scope:
    codes = conn.scalars(select(Agency.code).join(UserAgency, UserAgency.agency_id == Agency.id)
                         .where(UserAgency.user_id == user.id).order_by(Agency.code)).all()
    agencies = None if user.role in ("admin", "province") else tuple(codes)
    return Scope(user.username, user.role, agencies)


def _actor(by: Scope | str | None) -> str:
    return by.username if isinstance(by, Scope) else (by or "")


def create_user(db: str | Engine | None, username: str, role: str, password: str | None = None,
                agencies: Sequence[str] = (), display_name: str = "", *, create_agency: str | None = None,
                by: Scope | str | None = None) -> Scope:
    """Create an account; officers have exactly one agency, viewers one or more, others none.

    ``create_agency`` (a name) creates the one agency given when the database does not have it yet, as
    an officer's first account on a new database needs (issue 13 item 5).
    """
    username = check_username(username)
    if role not in ROLES:
        raise AuthError(f"Vai trò «{role}» không có; chọn một trong: {', '.join(ROLES)}.")
    agencies = list(dict.fromkeys(code.strip() for code in agencies))
    if role == "officer" and len(agencies) != 1:
        raise AuthError("Tài khoản cán bộ đơn vị (officer) phải gắn với đúng một cơ quan.")
    if role == "viewer" and not agencies:
        raise AuthError("Tài khoản xem số liệu (viewer) phải gắn với ít nhất một cơ quan.")
    if role in ("admin", "province") and agencies:
        raise AuthError(f"Vai trò «{role}» xem mọi cơ quan; không gắn cơ quan cụ thể.")
    if create_agency is not None and len(agencies) != 1:
        raise AuthError("--create-agency tạo đúng một cơ quan: ghi kèm đúng một --agency.")
    if password is not None:
        check_password(password)
    with get_engine(db).begin() as conn:
        if conn.scalar(select(User.id).where(User.username == username)) is not None:
            raise AuthError(f"Tài khoản «{username}» đã có.")
        ids = dict(conn.execute(select(Agency.code, Agency.id).where(Agency.code.in_(agencies))).all())
        missing = [code for code in agencies if code not in ids]
        if missing and create_agency is not None and create_agency.strip():
            ids[missing[0]] = conn.execute(Agency.__table__.insert().values(
                code=missing[0], name=create_agency.strip(), level="province", is_default=False,
            )).inserted_primary_key[0]
            missing = []
        if missing:
            raise AuthError(f"Chưa có cơ quan mã «{missing[0]}» trong cơ sở dữ liệu. Tạo cơ quan cùng tài khoản: "
                            f"thêm --create-agency \"Tên cơ quan\", hoặc nhập danh mục thủ tục của cơ quan trước.")
        user_id = conn.execute(User.__table__.insert().values(
            username=username, display_name=display_name or username, role=role,
            password_hash=_hasher.hash(password) if password is not None else None, disabled=False,
            failed_attempts=0, created_at=_now(),
        )).inserted_primary_key[0]
        if agencies:
            conn.execute(UserAgency.__table__.insert(), [{"user_id": user_id, "agency_id": ids[c]} for c in agencies])
        scope = _scope_of(conn, conn.execute(select(User).where(User.id == user_id)).one())
        detail = f"tạo tài khoản «{username}» ({role}{'; ' + ', '.join(agencies) if agencies else ''})"
        _audit(conn, _actor(by), "user_add", agencies[0] if len(agencies) == 1 else None, detail)
        return scope


AGENCY_CODE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")


def create_agency(db: str | Engine | None, code: str, name: str, *, by: Scope | str | None = None) -> dict[str, Any]:
    """Create one agency (an admin's act, audited): the agency an officer's first import or account needs.

    The code is the one files and ``--agency`` use; a code already held, even spelt with other capitals
    (imports match codes that way), is refused with the existing agency's name.
    """
    if isinstance(by, Scope):
        by.require("manage_users")
    code, name = (code or "").strip(), " ".join((name or "").split())
    if not code:
        raise AuthError("Chưa nhập mã cơ quan.")
    if not AGENCY_CODE.fullmatch(code):
        raise AuthError(f"Mã cơ quan «{code[:64]}» không hợp lệ: chỉ gồm chữ cái không dấu, chữ số, dấu chấm, gạch "
                        "ngang, gạch dưới (tối đa 64 ký tự), không có khoảng trắng.")
    if not name:
        raise AuthError("Chưa nhập tên cơ quan.")
    if len(name) > 255:
        raise AuthError(f"Tên cơ quan dài {len(name)} ký tự, quá 255 ký tự cho phép.")
    with get_engine(db).begin() as conn:
        held = conn.execute(select(Agency.code, Agency.name)).all()
        same = next((row for row in held if row.code.casefold() == code.casefold()), None)
        if same is not None:
            raise AuthError(f"Đã có cơ quan mã «{same.code}» ({same.name}); mỗi mã cơ quan chỉ dùng một lần.")
        conn.execute(Agency.__table__.insert().values(code=code, name=name, level="province", is_default=False))
        bump_data_version(conn)  # the agency pickers' caches key on it
        _audit(conn, _actor(by), "agency_add", code, f"tạo cơ quan «{code}» ({name})")
    return {"code": code, "name": name}


def _change_account(db: str | Engine | None, username: str, values: dict[str, Any], action: str, detail: str,
                    by: Scope | str | None) -> None:
    """Update one account, end its open sessions and record it, in one transaction."""
    name = normalize_username(username)
    now = _now()
    with get_engine(db).begin() as conn:
        user_id = conn.scalar(update(User.__table__).where(User.username == name).values(**values)
                              .returning(User.id))
        if user_id is None:
            raise AuthError(f"Không có tài khoản «{username}».")
        ended = 0
        if action in ("user_disable", "user_password"):
            ended = conn.execute(update(SignInSession.__table__)
                                 .where(SignInSession.user_id == user_id, SignInSession.ended_at.is_(None))
                                 .values(ended_at=now)).rowcount
        _audit(conn, _actor(by), action, None, f"{detail} «{name}»" + (f"; kết thúc {ended} phiên" if ended else ""))


def set_disabled(db: str | Engine | None, username: str, disabled: bool = True, *,
                 by: Scope | str | None = None) -> None:
    """Disable (ending every open session of the account) or enable an account."""
    _change_account(db, username, {"disabled": disabled}, "user_disable" if disabled else "user_enable",
                    "vô hiệu hóa" if disabled else "mở lại", by)


def set_password(db: str | Engine | None, username: str, password: str, *, by: Scope | str | None = None) -> None:
    """Set a new password; every open session of the account ends (whoever held the old one is out)."""
    check_password(password)
    _change_account(db, username, {"password_hash": _hasher.hash(password)}, "user_password",
                    "đặt lại mật khẩu", by)


def list_users(db: str | Engine | None) -> list[dict[str, Any]]:
    with get_engine(db).connect() as conn:
        users = conn.execute(select(User).order_by(User.username)).all()
        rows = []
        for user in users:
            scope = _scope_of(conn, user)
            rows.append({"username": user.username, "display_name": user.display_name, "role": user.role,
                         "agencies": list(scope.agencies or ()), "disabled": user.disabled,
                         "last_login_at": user.last_login_at, "password": user.password_hash is not None})
    return rows


def needs_sign_in(db: str | Engine | None) -> bool:
    """Whether the dashboard must ask who is looking.

    Only the demo as ``demo`` built it is open: once it has accounts, or an import wrote real data into
    it, it is someone's database and asks like any other (issue 14 item 5). ``TTHC_OPEN=1`` is the
    deployment's own choice and is decided by the caller.
    """
    from .demo import is_demo

    if not is_demo(db):
        return True
    with get_engine(db).connect() as conn:
        imported = conn.scalar(select(ImportLog.id).where(ImportLog.written.is_(True)).limit(1)) is not None
        return imported or conn.scalar(select(User.id).limit(1)) is not None


def _count_attempt(conn, name: str, client: str, now: dt.datetime) -> dt.datetime | None:
    """Count one sign-in attempt for (name, client) in a single statement; the lock's end if locked.

    Counting happens *before* the password is checked, in one INSERT … ON CONFLICT DO UPDATE, so
    parallel attempts cannot all read "not locked" and all be checked: at most ``MAX_FAILURES`` of any
    burst reach the password check, the next one locks (issue 14 item 5). A lock that ended, or
    attempts older than ``LOCK_FOR``, start the count again.
    """
    table = SignInThrottle.__table__
    insert = dialect_insert(conn)
    until = literal(now + LOCK_FOR, DateTime())
    at = literal(now, DateTime())
    fresh = or_(table.c.locked_until <= at, table.c.last_attempt_at < literal(now - LOCK_FOR, DateTime()))
    locked = table.c.locked_until > at
    attempts = case((fresh, 1), (locked, table.c.attempts), else_=table.c.attempts + 1)
    stmt = insert(table).values(username=name, client=client, attempts=1, locked_until=None, last_attempt_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["username", "client"], set_={
        "attempts": attempts,
        "locked_until": case((fresh, None), (locked, table.c.locked_until),
                             (table.c.attempts + 1 > MAX_FAILURES, until), else_=None),
        "last_attempt_at": at,
    }).returning(table.c.locked_until)
    return conn.execute(stmt).scalar_one()


def _lock_now(conn, name: str, client: str, now: dt.datetime) -> dt.datetime | None:
    """After a wrong password: lock when this was the last allowed attempt; the lock's end, if any."""
    table = SignInThrottle.__table__
    return conn.scalar(update(table).where(table.c.username == name, table.c.client == client,
                                           table.c.attempts >= MAX_FAILURES, table.c.locked_until.is_(None))
                       .values(locked_until=now + LOCK_FOR).returning(table.c.locked_until))


def _locked_message(until: dt.datetime) -> str:
    return (f"Đăng nhập sai quá nhiều lần: tạm khóa đến {until:%H:%M} với tên đăng nhập này trên máy này.")


def authenticate(db: str | Engine | None, username: str, password: str, now: dt.datetime | None = None,
                 client: str = "") -> Scope:
    """The account's scope, or :class:`AuthError` with a message that does not say which part was wrong.

    An unknown name, a disabled account, an account without a password and a wrong password get the
    same answer after the same Argon2 verification (no account enumeration). ``MAX_FAILURES`` failures
    lock the *name from this client* (its address) for ``LOCK_FOR``: whoever guesses someone's name
    locks only their own attempts, and the account still opens from the owner's computer. Trade-off: an
    attacker with many addresses gets ``MAX_FAILURES`` guesses per address per ``LOCK_FOR`` against one
    account, which Argon2 and the password rule keep harmless at these numbers (docs/security.md).
    """
    now = now or _now()
    name = normalize_username(username)[:255]
    client = (client or "")[:64]
    engine = get_engine(db)
    with engine.begin() as conn:
        locked = _count_attempt(conn, name, client, now)
        user = conn.execute(select(User).where(User.username == name)).first()
    usable = user is not None and user.password_hash is not None and not user.disabled
    if locked is not None and locked > now:
        _verify(_dummy_hash(), password or "")  # the same work as any other refusal
        audit(engine, name, "sign_in_failed", None, "tên đăng nhập đang bị tạm khóa", client=client)
        raise AuthError(_locked_message(locked))
    if usable and _verify(user.password_hash, password or ""):
        with engine.begin() as conn:
            conn.execute(update(SignInThrottle.__table__).where(
                SignInThrottle.username == name, SignInThrottle.client == client).values(attempts=0))
            values: dict[str, Any] = {"last_login_at": now}
            if _hasher.check_needs_rehash(user.password_hash):
                values["password_hash"] = _hasher.hash(password)
            conn.execute(update(User.__table__).where(User.id == user.id).values(**values))
            scope = _scope_of(conn, user)
            _audit(conn, name, "sign_in", _single(scope), "mật khẩu", client=client)
        return scope
    if not usable:
        _verify(_dummy_hash(), password or "")
    reason = ("không có tài khoản" if user is None else "tài khoản bị vô hiệu hóa" if user.disabled
              else "tài khoản không dùng mật khẩu" if user.password_hash is None else "sai mật khẩu")
    with engine.begin() as conn:
        locked = _lock_now(conn, name, client, now)
        _audit(conn, name, "sign_in_failed", None, reason + ("; tạm khóa" if locked else ""), client=client)
    raise AuthError(_locked_message(locked) if locked else WRONG)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _single(scope: Scope) -> str | None:
    return scope.agencies[0] if scope.agencies and len(scope.agencies) == 1 else None


def account_scope(db: str | Engine | None, username: str) -> Scope:
    """The scope of an enabled account by name (identity provider e-mail or trusted proxy header)."""
    name = normalize_username(username)
    with get_engine(db).connect() as conn:
        user = conn.execute(select(User).where(User.username == name)).first()
        if user is None:
            raise AuthError(f"Tài khoản «{name}» chưa được cấp quyền; liên hệ quản trị viên.")
        if user.disabled:
            raise AuthError("Tài khoản đã bị vô hiệu hóa; liên hệ quản trị viên.")
        return _scope_of(conn, user)


def scope_for_email(db: str | Engine | None, email: str, method: str = "oidc", client: str = "") -> Scope:
    """The scope of the account matched by the identity provider's e-mail (OIDC sign-in), recorded.

    The person proved who they are to the identity provider, so saying that their account is missing
    or disabled reveals nothing to a stranger.
    """
    try:
        scope = account_scope(db, email)
    except AuthError as exc:
        audit(db, normalize_username(email), "sign_in_failed", None, f"{method}: {exc}", client=client)
        raise
    with get_engine(db).begin() as conn:
        conn.execute(update(User.__table__).where(User.username == scope.username).values(last_login_at=_now()))
        _audit(conn, scope.username, "sign_in", _single(scope), method, client=client)
    return scope


# --- sessions --------------------------------------------------------------------------------------

def session_lifetime() -> dt.timedelta:
    """How long a sign-in lasts: ``TTHC_SESSION_HOURS`` (default 8 hours)."""
    try:
        hours = float(os.environ.get(SESSION_HOURS_ENV) or SESSION_HOURS)
    except ValueError:
        hours = SESSION_HOURS
    return dt.timedelta(hours=hours if hours > 0 else SESSION_HOURS)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: str | Engine | None, scope: Scope, method: str = "password", client: str = "",
                  now: dt.datetime | None = None, lifetime: dt.timedelta | None = None) -> str:
    """A new session for a signed-in account: the random token for the browser (256 bits); only its
    SHA-256 is stored, so a copy of the database opens nobody's session."""
    now = now or _now()
    token = secrets.token_urlsafe(32)
    with get_engine(db).begin() as conn:
        user_id = conn.scalar(select(User.id).where(User.username == scope.username))
        if user_id is None:
            raise AuthError(f"Không có tài khoản «{scope.username}».")
        conn.execute(SignInSession.__table__.insert().values(
            token_hash=_token_hash(token), user_id=user_id, method=method, client=(client or "")[:64],
            created_at=now, expires_at=now + (lifetime or session_lifetime()), ended_at=None))
    return token


def session_scope(db: str | Engine | None, token: str | None, now: dt.datetime | None = None) -> Scope | None:
    """The scope of a live session (not ended, not expired, account enabled), read afresh: a role or
    agency changed by an admin applies at the next run. ``None`` otherwise."""
    if not isinstance(token, str) or not token:
        return None
    now = now or _now()
    with get_engine(db).connect() as conn:
        user = conn.execute(
            select(User).join(SignInSession, SignInSession.user_id == User.id)
            .where(SignInSession.token_hash == _token_hash(token), SignInSession.ended_at.is_(None),
                   SignInSession.expires_at > now, User.disabled.is_(False))).first()
        return None if user is None else _scope_of(conn, user)


def end_session(db: str | Engine | None, token: str | None, now: dt.datetime | None = None) -> None:
    """Sign-out: the session ends on the server, whatever the browser keeps."""
    if not isinstance(token, str) or not token:
        return
    with get_engine(db).begin() as conn:
        user = conn.execute(
            update(SignInSession.__table__)
            .where(SignInSession.token_hash == _token_hash(token), SignInSession.ended_at.is_(None))
            .values(ended_at=now or _now()).returning(SignInSession.user_id)).scalar()
        if user is not None:
            _audit(conn, conn.scalar(select(User.username).where(User.id == user)) or "", "sign_out", None, "")


# --- trusted reverse proxy --------------------------------------------------------------------------

def proxy_username(headers: Mapping[str, str], client: str | None, header: str | None = None,
                   trusted: str | None = None) -> str | None:
    """The user name a trusted reverse proxy signed in, as Grafana's and Superset's auth proxies do.

    ``header`` (default ``TTHC_AUTH_PROXY_HEADER``) names the header; ``trusted``
    (``TTHC_AUTH_PROXY_TRUSTED``) lists the proxy addresses or networks. ``None`` when not configured or
    the header is absent; :class:`AuthError` when the header comes from an address that is not a trusted
    proxy (anyone can send a header: only the proxy's word counts).
    """
    header = header if header is not None else os.environ.get(PROXY_HEADER_ENV, "")
    trusted = trusted if trusted is not None else os.environ.get(PROXY_TRUSTED_ENV, "")
    if not header.strip():
        return None
    value = next((v for k, v in headers.items() if k.lower() == header.strip().lower()), None)
    if not value or not value.strip():
        return None
    networks = []
    for part in trusted.split(","):
        if part.strip():
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
    try:
        address = ipaddress.ip_address((client or "").strip())
    except ValueError:
        address = None
    if address is None or not any(address in network for network in networks):
        raise AuthError(f"Không nhận danh tính từ «{header}»: địa chỉ «{client or '?'}» không phải máy chủ trung "
                        "gian được tin cậy.")
    return normalize_username(value)


# --- audit trail ----------------------------------------------------------------------------------

AUDIT_ACTIONS = {
    "sign_in": "Đăng nhập", "sign_in_failed": "Đăng nhập không thành công", "sign_out": "Đăng xuất",
    "import": "Nhập dữ liệu", "import_refused": "Nhập dữ liệu bị từ chối", "import_crashed": "Nhập dữ liệu bị lỗi",
    "freeze": "Chốt số liệu", "freeze_refused": "Chốt số liệu bị từ chối", "export": "Xuất số liệu",
    "user_add": "Tạo tài khoản", "user_disable": "Vô hiệu hóa tài khoản", "user_enable": "Mở lại tài khoản",
    "user_password": "Đặt lại mật khẩu", "agency_add": "Tạo cơ quan",
    "qd766_rule": "Sửa bảng điểm Chỉ số 766", "qd766_grades": "Sửa bậc xếp loại Chỉ số 766",
}


def _audit(conn, username: str, action: str, agency: str | None, detail: str, client: str = "") -> None:
    conn.execute(AuditEntry.__table__.insert().values(
        at=_now(), username=(username or "")[:255], action=action, agency_code=agency or None,
        detail=(detail or "")[:2000], client=(client or "")[:64]))


def audit(db: str | Engine | None, who: Scope | str | None, action: str, agency: str | None = None,
          detail: str = "", client: str = "") -> None:
    """Record one action in the audit trail, in its own transaction (it stays when the action failed)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with get_engine(db).begin() as conn:
        _audit(conn, _actor(who), action, agency, detail, client)


def audit_log(db: str | Engine | None, scope: Scope | None = None, limit: int = 100,
              username: str | None = None) -> list[dict[str, Any]]:
    """The latest audit entries, newest first: admins (and the CLI) see all; province accounts every unit's
    and officers and viewers their own units' and their own actions, without account changes."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if scope is not None and scope.role != "admin":
        # Account changes are the admins' business; the rest by unit (province accounts: every unit).
        query = query.where(~AuditEntry.action.like("user_%"))
        if scope.agencies is not None:
            query = query.where(or_(AuditEntry.agency_code.in_(scope.agencies), AuditEntry.username == scope.username))
    if username:
        query = query.where(AuditEntry.username == normalize_username(username))
    with get_engine(db).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query).all()]


def log_import(db: str | Engine | None, scope: Scope | str | None, filename: str, sha256: str, result: Any,
               agency: str | None = None) -> None:
    """Record an import (or a refused one) in the import log and the audit trail, in one transaction."""
    with get_engine(db).begin() as conn:
        record_import(conn, scope, filename, sha256, result, agency)


def record_import(conn: Any, scope: Scope | str | None, filename: str, sha256: str, result: Any,
                  agency: str | None = None) -> None:
    """:func:`log_import` inside the caller's transaction (the live feed: with the batch it logs)."""
    conn.execute(ImportLog.__table__.insert().values(
        at=_now(), username=_actor(scope), filename=filename[:512],
        sha256=sha256, kind=result.kind or "", rows_read=result.rows_read,
        added=result.added if result.written else 0, updated=result.updated if result.written else 0,
        rejected=len({p.line for p in result.problems}), written=bool(result.written),
        summary=result.summary(), agency_code=agency or None,
    ))
    _audit(conn, _actor(scope), "import" if result.written else "import_refused", agency,
           f"{filename[:200]}: {result.summary()}")


def import_log(db: str | Engine | None, limit: int = 50, scope: Scope | None = None) -> list[dict[str, Any]]:
    """The latest imports, newest first: every one for province-wide accounts, a unit's for the others."""
    query = select(ImportLog).order_by(ImportLog.id.desc()).limit(limit)
    if scope is not None and scope.agencies is not None:
        query = query.where(or_(ImportLog.agency_code.in_(scope.agencies), ImportLog.username == scope.username))
    with get_engine(db).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query).all()]


def single_agency(scope: Scope | None, agency: str | None, when_several: str) -> str | None:
    """The one agency an import or a report is about, checked against the scope.

    ``None`` stays ``None`` (the whole province) for unscoped calls and province-wide roles; an account
    limited to one agency gets that one; an account with several must choose (``when_several``).
    """
    if scope is None or scope.agencies is None:
        return agency
    if agency:
        scope.restrict(agency)
        return agency
    if len(scope.agencies) == 1:
        return scope.agencies[0]
    raise AccessDenied(when_several)


def report_agency(scope: Scope | None, agency: str | None) -> str | None:
    """The agency a report is about (``None``: the whole province, for accounts that see it)."""
    return single_agency(scope, agency, "Chọn một cơ quan để xem báo cáo: tài khoản này không xem được báo cáo "
                                        "toàn tỉnh.")


def edit_agency(scope: Scope | None, agency: str | None) -> str | None:
    """The agency report inputs or a freeze are about, checked: editing roles only, within their units.

    ``None`` (the whole province) only for unscoped calls and province-wide roles: an officer asking for
    no agency is refused, not narrowed, because a province-wide freeze stored with an officer's name is
    the province's report signed by someone who may not sign it (issue 14 item 4).
    """
    if scope is None:
        return agency
    scope.require("edit_reports")
    if not agency and scope.agencies is not None:
        raise AccessDenied(f"Tài khoản «{scope.username}» chỉ chốt hoặc nhập số liệu báo cáo của cơ quan mình; "
                           "chọn cơ quan (không chốt được số liệu toàn tỉnh).")
    scope.restrict(agency)
    return agency


def scoped_import(db: str | Engine | None, scope: Scope | str | None, file: Any, *, dry_run: bool = False,
                  filename: str | None = None, **options: Any) -> Any:
    """``importer.import_file`` on behalf of ``scope`` (the importer enforces it: see its ``scope``).

    A real import (not a dry run) is recorded in the import log and the audit trail whatever happens:
    written, refused (bad rows, rows outside the scope, a role that may not import) or crashed. A plain
    string instead of a scope names an unscoped actor (the CLI's ``cli:USER``).
    """
    from .importer import import_file

    who, scope = scope, scope if isinstance(scope, Scope) else None
    agency = options.get("agency") or (scope.agencies[0] if scope and scope.agencies and len(scope.agencies) == 1
                                       else None)
    name = (filename or getattr(file, "name", "") or (str(file) if isinstance(file, (str, os.PathLike)) else ""))
    name = os.path.basename(str(name))[:200]
    try:
        result = import_file(db, file, scope=scope, dry_run=dry_run, filename=filename, **options)
    except AccessDenied as exc:
        if not dry_run:
            audit(db, who, "import_refused", agency, f"{name}: {exc}")
        raise
    except Exception as exc:
        if not dry_run:
            # The traceback goes to the server log with the exception; the trail keeps who and what.
            audit(db, who, "import_crashed", agency, f"{name}: {type(exc).__name__}")
        raise
    if not dry_run:
        log_import(db, who, name, _sha256(file), result, agency)
    return result


def _sha256(file: Any) -> str:
    """The file's SHA-256 for the import log: of its bytes, or of a regular file read again (never of a
    device such as /dev/zero, which the importer refuses), else of nothing."""
    digest = hashlib.sha256()
    if isinstance(file, (bytes, bytearray)):
        digest.update(file)
    elif isinstance(file, (str, os.PathLike)) and os.path.isfile(file):
        with open(file, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
    return digest.hexdigest()
