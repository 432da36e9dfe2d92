"""Accounts, roles and the scope every query and export is answered within.

Roles:

- ``admin``: everything, manages accounts;
- ``province``: reads every agency, consolidated reports;
- ``officer``: one agency — reads, imports, enters report inputs, freezes figures, exports;
- ``viewer``: one agency or several — reads and downloads only (the director's account).

A :class:`Scope` travels with every call into the core (``compute_stats(..., scope=...)``): the core
narrows or refuses the agencies asked for, so a page that forgot to hide a control still cannot show
another unit's figures. Passwords are hashed with Argon2id (``argon2-cffi``); repeated failures lock
the account for a while.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, select, update

from .db import get_engine
from .models import Agency, ImportLog, User, UserAgency

ROLES = ("admin", "province", "officer", "viewer")
ROLE_LABELS = {"admin": "Quản trị", "province": "Cấp tỉnh (xem toàn tỉnh)", "officer": "Cán bộ đơn vị",
               "viewer": "Lãnh đạo, xem số liệu"}
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verifying against this keeps an unknown user's sign-in as slow as a known one's.
_DUMMY_HASH = _hasher.hash("tthc-dummy-password")


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


def _scope_of(conn, user: Any) -> Scope:
    codes = conn.scalars(select(Agency.code).join(UserAgency, UserAgency.agency_id == Agency.id)
                         .where(UserAgency.user_id == user.id).order_by(Agency.code)).all()
    agencies = None if user.role in ("admin", "province") else tuple(codes)
    return Scope(user.username, user.role, agencies)


def create_user(db: str | Engine | None, username: str, role: str, password: str | None = None,
                agencies: Sequence[str] = (), display_name: str = "") -> Scope:
    """Create an account; officers have exactly one agency, viewers one or more, others none."""
    username = (username or "").strip().lower()
    if not username:
        raise AuthError("Cần tên đăng nhập (hoặc e-mail).")
    if role not in ROLES:
        raise AuthError(f"Vai trò «{role}» không có; chọn một trong: {', '.join(ROLES)}.")
    agencies = list(dict.fromkeys(agencies))
    if role == "officer" and len(agencies) != 1:
        raise AuthError("Tài khoản cán bộ đơn vị (officer) phải gắn với đúng một cơ quan.")
    if role == "viewer" and not agencies:
        raise AuthError("Tài khoản xem số liệu (viewer) phải gắn với ít nhất một cơ quan.")
    if role in ("admin", "province") and agencies:
        raise AuthError(f"Vai trò «{role}» xem mọi cơ quan; không gắn cơ quan cụ thể.")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AuthError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    with get_engine(db).begin() as conn:
        if conn.scalar(select(User.id).where(User.username == username)) is not None:
            raise AuthError(f"Tài khoản «{username}» đã có.")
        ids = dict(conn.execute(select(Agency.code, Agency.id).where(Agency.code.in_(agencies))).all())
        missing = [code for code in agencies if code not in ids]
        if missing:
            raise AuthError(f"Không có cơ quan mã «{missing[0]}».")
        user_id = conn.execute(User.__table__.insert().values(
            username=username, display_name=display_name or username, role=role,
            password_hash=_hasher.hash(password) if password is not None else None, disabled=False,
            failed_attempts=0, created_at=_now(),
        )).inserted_primary_key[0]
        if agencies:
            conn.execute(UserAgency.__table__.insert(), [{"user_id": user_id, "agency_id": ids[c]} for c in agencies])
        return _scope_of(conn, conn.execute(select(User).where(User.id == user_id)).one())


def set_disabled(db: str | Engine | None, username: str, disabled: bool = True) -> None:
    with get_engine(db).begin() as conn:
        done = conn.execute(update(User.__table__).where(User.username == username.strip().lower())
                            .values(disabled=disabled, failed_attempts=0, locked_until=None))
        if done.rowcount == 0:
            raise AuthError(f"Không có tài khoản «{username}».")


def set_password(db: str | Engine | None, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    with get_engine(db).begin() as conn:
        done = conn.execute(update(User.__table__).where(User.username == username.strip().lower())
                            .values(password_hash=_hasher.hash(password), failed_attempts=0, locked_until=None))
        if done.rowcount == 0:
            raise AuthError(f"Không có tài khoản «{username}».")


def list_users(db: str | Engine | None) -> list[dict[str, Any]]:
    with get_engine(db).connect() as conn:
        users = conn.execute(select(User).order_by(User.username)).all()
        rows = []
        for user in users:
            scope = _scope_of(conn, user)
            rows.append({"username": user.username, "display_name": user.display_name, "role": user.role,
                         "agencies": list(scope.agencies or ()), "disabled": user.disabled,
                         "locked_until": user.locked_until, "last_login_at": user.last_login_at,
                         "password": user.password_hash is not None})
    return rows


def has_users(db: str | Engine | None) -> bool:
    with get_engine(db).connect() as conn:
        return conn.scalar(select(User.id).limit(1)) is not None


def authenticate(db: str | Engine | None, username: str, password: str, now: dt.datetime | None = None) -> Scope:
    """The account's scope, or :class:`AuthError` with a message that does not say which part was wrong."""
    now = now or _now()
    username = (username or "").strip().lower()
    wrong = "Sai tên đăng nhập hoặc mật khẩu."
    with get_engine(db).begin() as conn:
        user = conn.execute(select(User).where(User.username == username)).first()
        if user is None or user.password_hash is None:
            _verify(_DUMMY_HASH, password or "")
            raise AuthError(wrong)
        if user.disabled:
            raise AuthError("Tài khoản đã bị vô hiệu hóa; liên hệ quản trị viên.")
        if user.locked_until is not None and user.locked_until > now:
            raise AuthError(f"Tài khoản tạm khóa do đăng nhập sai nhiều lần; thử lại sau {user.locked_until:%H:%M}.")
        if _verify(user.password_hash, password or ""):
            values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None, "last_login_at": now}
            if _hasher.check_needs_rehash(user.password_hash):
                values["password_hash"] = _hasher.hash(password)
            conn.execute(update(User.__table__).where(User.id == user.id).values(**values))
            return _scope_of(conn, user)
        # The failure is counted in this transaction, which must commit: raise only after it.
        failures = user.failed_attempts + 1
        locked = now + LOCK_FOR if failures >= MAX_FAILURES else None
        conn.execute(update(User.__table__).where(User.id == user.id)
                     .values(failed_attempts=0 if locked else failures, locked_until=locked))
    if locked:
        raise AuthError(f"Đăng nhập sai {MAX_FAILURES} lần: tài khoản tạm khóa đến {locked:%H:%M}.")
    raise AuthError(wrong)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def scope_for_email(db: str | Engine | None, email: str) -> Scope:
    """The scope of the account matched by the identity provider's e-mail (OIDC sign-in)."""
    with get_engine(db).begin() as conn:
        user = conn.execute(select(User).where(User.username == (email or "").strip().lower())).first()
        if user is None:
            raise AuthError(f"Tài khoản «{email}» chưa được cấp quyền; liên hệ quản trị viên.")
        if user.disabled:
            raise AuthError("Tài khoản đã bị vô hiệu hóa; liên hệ quản trị viên.")
        conn.execute(update(User.__table__).where(User.id == user.id).values(last_login_at=_now()))
        return _scope_of(conn, user)


def log_import(db: str | Engine | None, scope: Scope | None, filename: str, content: bytes, result: Any) -> None:
    """Record an import (or a refused one) in the import log, in its own transaction."""
    with get_engine(db).begin() as conn:
        conn.execute(ImportLog.__table__.insert().values(
            at=_now(), username=scope.username if scope else "", filename=filename[:512],
            sha256=hashlib.sha256(content).hexdigest(), kind=result.kind or "", rows_read=result.rows_read,
            added=result.added if result.written else 0, updated=result.updated if result.written else 0,
            rejected=len({p.line for p in result.problems}), written=bool(result.written),
            summary=result.summary(),
        ))


def import_log(db: str | Engine | None, limit: int = 50) -> list[dict[str, Any]]:
    with get_engine(db).connect() as conn:
        rows = conn.execute(select(ImportLog).order_by(ImportLog.id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def remove_user(db: str | Engine | None, username: str) -> None:
    with get_engine(db).begin() as conn:
        user_id = conn.scalar(select(User.id).where(User.username == username.strip().lower()))
        if user_id is None:
            raise AuthError(f"Không có tài khoản «{username}».")
        conn.execute(delete(UserAgency).where(UserAgency.user_id == user_id))
        conn.execute(delete(User).where(User.id == user_id))


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


def scoped_import(db: str | Engine | None, scope: Scope | None, file: Any, **options: Any) -> Any:
    """``importer.import_file`` on behalf of ``scope`` (the importer enforces it: see its ``scope``)."""
    from .importer import import_file

    return import_file(db, file, scope=scope, **options)
