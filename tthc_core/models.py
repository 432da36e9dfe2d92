"""Tables of the TTHC database (SQLAlchemy 2.x typed declarative).

Agencies own procedures and dossiers; fields group both. Two dossier columns are derived at write
time by :func:`tthc_core.rules.derive_dossier` and never edited by hand:

- ``deadline_at``: the moment after which the dossier is late (domain.md §4: ``due_at`` when it has a
  time of day, else the end of its day, stored as the next midnight);
- ``resolution``: ``early`` / ``on_time`` / ``late`` for a resolved dossier, else NULL.

Both depend only on the row itself, so computing them once keeps every period query a plain
GROUP BY over indexed columns that behaves the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

AGENCY_LEVELS = ("province", "district", "commune")
CHANNELS = ("online", "direct", "postal")
STATUSES = ("normal", "withdrawn", "returned", "suspended")
RESOLUTIONS = ("early", "on_time", "late")


class Base(DeclarativeBase):
    pass


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16), default="province")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (CheckConstraint(f"level IN {AGENCY_LEVELS}", name="ck_agency_level"),)


class Field(Base):
    __tablename__ = "fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=1000)


class Procedure(Base):
    __tablename__ = "procedures"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    field_id: Mapped[int | None] = mapped_column(ForeignKey("fields.id"))
    # cấp thực hiện: who decides the dossier (tỉnh / huyện / xã), form II.07b
    authority_level: Mapped[str] = mapped_column(String(16), default="province")
    # do Trung ương / địa phương quy định
    regulated_by: Mapped[str] = mapped_column(String(16), default="central")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    publicized: Mapped[bool] = mapped_column(Boolean, default=True)
    one_stop: Mapped[bool] = mapped_column(Boolean, default=False)
    lien_thong: Mapped[bool] = mapped_column(Boolean, default=False)
    postal: Mapped[bool] = mapped_column(Boolean, default=False)
    # NĐ 43/2011 levels 1..4 (0 or NULL: not on the portal) and NĐ 42/2022 classes full/partial.
    online_level: Mapped[int | None] = mapped_column(Integer)
    online_class: Mapped[str | None] = mapped_column(String(16))
    four_on_site: Mapped[bool] = mapped_column(Boolean, default=False)
    internal_process: Mapped[bool] = mapped_column(Boolean, default=False)
    processing_days: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    same_day_cutoff: Mapped[dt.time | None] = mapped_column()
    active_from: Mapped[dt.date | None] = mapped_column(Date)
    active_to: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("agency_id", "code", name="uq_procedure_agency_code"),
        CheckConstraint(f"authority_level IN {AGENCY_LEVELS}", name="ck_procedure_level"),
        CheckConstraint("regulated_by IN ('central', 'local')", name="ck_procedure_regulated"),
        CheckConstraint("online_class IS NULL OR online_class IN ('full', 'partial')",
                        name="ck_procedure_online_class"),
        Index("ix_procedures_code", "code"),
    )


class Dossier(Base):
    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(128))  # unique: uq_dossiers_code below
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    field_id: Mapped[int | None] = mapped_column(ForeignKey("fields.id"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="normal")
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    apology_count: Mapped[int] = mapped_column(Integer, default=0)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS}", name="ck_dossier_channel"),
        CheckConstraint(f"status IN {STATUSES}", name="ck_dossier_status"),
        CheckConstraint(f"resolution IS NULL OR resolution IN {RESOLUTIONS}", name="ck_dossier_resolution"),
        # A named index rather than an inline UNIQUE constraint: SQLite cannot drop the latter, and a
        # large import drops and rebuilds every dossier index (store.write_dossier_frame), since
        # building by sort is many times faster than millions of random insertions. Upserts find it
        # for ON CONFLICT (code).
        Index("uq_dossiers_code", "code", unique=True),
        # A period touches the dossiers received before its end that were still open at its start.
        Index("ix_dossiers_agency_received", "agency_id", "received_at"),
        Index("ix_dossiers_received", "received_at"),
        Index("ix_dossiers_resolved", "resolved_at"),
    )


class CalendarOverride(Base):
    """The Government's yearly swaps: a Saturday worked, a weekday off (domain.md §5)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(255), default="")


class SimplificationReview(Base):
    """Rà soát, đơn giản hóa: one procedure whose processing time was cut."""

    __tablename__ = "simplification_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    period_key: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str] = mapped_column(String(64), default="")
    procedure_name: Mapped[str] = mapped_column(Text, default="")
    authority_level: Mapped[str] = mapped_column(String(16), default="province")
    days_before: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    days_after: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    decision: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_simplification_agency_period", "agency_id", "period_key"),)


class ReportInput(Base):
    """Report figures that dossier data cannot give (feedback, budget, scores, notes), per agency and period."""

    __tablename__ = "report_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    period_key: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("agency_id", "period_key", "key", name="uq_report_input"),)


class FrozenReport(Base):
    """Chốt số liệu: the figures of a period as signed, with who froze them and when."""

    __tablename__ = "frozen_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str | None] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    frozen_by: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index("ix_frozen_agency_period", "agency_code", "period_key"),)


class Setting(Base):
    """Small key/value settings; ``data_version`` grows with every write so caches can key on it."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """An account: built-in (password hash) or matched by e-mail from the identity provider."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)  # lower-case; an e-mail for OIDC
    display_name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'province', 'officer', 'viewer')", name="ck_user_role"),
    )


class UserAgency(Base):
    """The agencies an officer (one) or a viewer (one or several) may see."""

    __tablename__ = "user_agencies"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)


class ImportLog(Base):
    """Who imported which file when, and what it did (also the refusals)."""

    __tablename__ = "import_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(255), default="")
    filename: Mapped[str] = mapped_column(String(512), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16), default="")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
