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
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

AGENCY_LEVELS = ("province", "district", "commune")
CHANNELS = ("online", "direct", "postal")
# ``stopped``: TrangThaiHoSo 8 (Dừng xử lý), ended like a withdrawal (domain.md §4b; a setting may
# count it as suspended instead).
STATUSES = ("normal", "withdrawn", "returned", "suspended", "stopped")
# Whether the one-stop desk accepted the dossier: TrangThaiHoSo 1 (Mới đăng ký) and 3 (Không được tiếp
# nhận) were never received and stay outside every II.06a column (domain.md §4b).
INTAKES = ("accepted", "not_accepted", "refused")
# DuocThanhToanTrucTuyen 1 / 2 (qd766.md 3.6); NULL: not paid online.
PAYMENT_PLATFORMS = ("dvcqg", "local_gateway")
APPLICANT_TYPES = {1: "citizen", 2: "business", 3: "state_agency", 4: "organisation"}
FEEDBACK_STATES = ("waiting", "processing", "handled")
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
    # --- QĐ 766 catalogue facts (qd766.md §5); NULL = not known, never read as "no" ---
    has_fee: Mapped[bool | None] = mapped_column(Boolean)  # the catalogue fee is set and not 0
    requires_paper_result: Mapped[bool | None] = mapped_column(Boolean)
    # comma-separated APPLICANT_TYPES values, e.g. "citizen,business"
    applicant_types: Mapped[str | None] = mapped_column(String(128))
    eligible_full_online: Mapped[bool | None] = mapped_column(Boolean)
    decision_at: Mapped[dt.date | None] = mapped_column(Date)  # ngày quyết định công bố (QĐCB)
    legal_basis_effective_at: Mapped[dt.date | None] = mapped_column(Date)  # latest effective date
    publicized_at: Mapped[dt.date | None] = mapped_column(Date)
    # how many of the seven parts of NĐ 63/2010 Art. 8(2) the publicized record carries (0..7)
    public_parts: Mapped[int | None] = mapped_column(Integer)
    # the procedure's maximum time in its own unit, for 2.1 without a due date
    time_unit: Mapped[str | None] = mapped_column(String(16))  # hours / days / working_days / months

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
    # --- the national sync record's lifecycle (dvcqg-sync.md §3, domain.md §4b); NULL = not sent ---
    source_status: Mapped[int | None] = mapped_column(Integer)  # TrangThaiHoSo 1..10 as received
    intake: Mapped[str] = mapped_column(String(16), server_default="accepted")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayNopHoSo
    refused_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayTuChoi
    result_returned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayTra (status 10)
    # status 7 without NgayKetThucXuLy: the citizen asked to withdraw; still pending
    withdrawal_requested: Mapped[bool] = mapped_column(Boolean, server_default="0")
    applicant_type: Mapped[int | None] = mapped_column(Integer)  # LoaiDoiTuong 1..4
    result_by_post: Mapped[bool | None] = mapped_column(Boolean)  # HinhThuc 1
    handling_unit: Mapped[str | None] = mapped_column(String(255))  # PhongBanXuLy of the latest step
    procedure_code: Mapped[str | None] = mapped_column(String(64))  # MaTTHC as sent
    fee_lines: Mapped[int] = mapped_column(Integer, server_default="0")
    fee_total: Mapped[Decimal | None] = mapped_column(Numeric(16, 0))  # Σ Gia (VND); NULL: no fee line
    paid_online_via: Mapped[str | None] = mapped_column(String(16))  # PAYMENT_PLATFORMS or NULL
    has_digitised_components: Mapped[bool | None] = mapped_column(Boolean)  # HoSoCoThanhPhanSoHoa
    components: Mapped[int] = mapped_column(Integer, server_default="0")  # TaiLieuNop, not deleted
    components_digitised: Mapped[int] = mapped_column(Integer, server_default="0")
    components_reused: Mapped[int] = mapped_column(Integer, server_default="0")
    components_from_store: Mapped[int] = mapped_column(Integer, server_default="0")
    e_results: Mapped[int] = mapped_column(Integer, server_default="0")  # results with code + link
    e_result_url: Mapped[str | None] = mapped_column(Text)
    vneid_authenticated: Mapped[bool | None] = mapped_column(Boolean)
    db_connections: Mapped[str | None] = mapped_column(String(255))  # DSKetNoiCSDL MaCSDL, comma-separated
    filed_on_national_portal: Mapped[bool | None] = mapped_column(Boolean)  # NoiNopHoSo 1 (inferred)
    synced_to_portal: Mapped[bool | None] = mapped_column(Boolean)  # 766 1.4
    # Not in the national sync record (dvcqg-sync.md §3); table imports carry them; NULL = not known.
    # 766 4.4: the e-result was pushed to the citizen's DVCQG document store.
    result_pushed_to_store: Mapped[bool | None] = mapped_column(Boolean)
    # 766 5.4: the citizen rated the dossier's handling "không hài lòng" (a dislike).
    rated_dissatisfied: Mapped[bool | None] = mapped_column(Boolean)
    # supplement rounds stored in supplement_rounds; the count lets period queries skip the rest
    supplement_rounds: Mapped[int] = mapped_column(Integer, server_default="0")
    # the request of the last of them, set by the writer of the rounds (NULL: none, or not known): a
    # resolution is judged against a round's due date only when a round was requested after it
    # (counting.sql_conditions), which a real one-stop system hardly ever sends
    rounds_requested_until: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS}", name="ck_dossier_channel"),
        CheckConstraint(f"intake IN {INTAKES}", name="ck_dossier_intake"),
        CheckConstraint(f"paid_online_via IS NULL OR paid_online_via IN {PAYMENT_PLATFORMS}",
                        name="ck_dossier_paid_online"),
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
        # On PostgreSQL without the open dossiers (NULL): they are read from ix_dossiers_open_pg below. Its
        # planner priced reading them here (the NULLs of a column that follows the table's order) as if
        # their pages were adjacent, when they lie over the whole history: a page each, 0,5 s for the
        # 57.000 open dossiers of a 10-year history against 0,05 s index-only (issue 16).
        Index("ix_dossiers_resolved", "resolved_at", postgresql_where=text("resolved_at IS NOT NULL")),
        # The dossiers still open, with every column a period's count reads (counting.sql_grouped_counts
        # reads them on their own): the never-closed ones, spread over the whole history, then cost an
        # index read instead of a page each across the table. One per engine (issue 16):
        # - SQLite: resolved_at leads (always NULL here) so its planner, without statistics, prefers it to
        #   ix_dossiers_resolved for "IS NULL"; supplement_rounds next, so the open dossiers without rounds
        #   and the few with rounds are each a range of it (the latter were found by reading every open
        #   entry, a cost that grew with the history, issue 16);
        # - PostgreSQL: supplement_rounds leads, so the open dossiers without rounds (read index-only) and
        #   those with rounds (few; their rounds are looked up by dossier id) are each a range of it.
        # A database whose index has other columns gets it rebuilt on start (db.add_missing_columns).
        Index("ix_dossiers_open", "resolved_at", "supplement_rounds", "received_at", "agency_id", "field_id",
              "procedure_id", "channel", "status", "due_at", "resolution", "intake",
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")
              ).ddl_if(dialect="sqlite"),
        Index("ix_dossiers_open_pg", "supplement_rounds", "received_at", "agency_id", "field_id", "procedure_id",
              "channel", "status", "due_at", "intake",
              postgresql_where=text("resolved_at IS NULL")).ddl_if(dialect="postgresql"),
    )


def index_names(table, dialect: str) -> set[str]:
    """The names of ``table``'s indexes that exist on ``dialect`` (an index declared for one engine with
    ``ddl_if`` is neither created nor dropped on the other)."""
    return {ix.name for ix in table.indexes
            if getattr(ix, "_ddl_if", None) is None or ix._ddl_if.dialect in (None, dialect)}


class SupplementRound(Base):
    """One supplement (bổ sung) round of a dossier: DanhSachHoSoBoSung (dvcqg-sync.md §3.3).

    The rounds make a past cut-off exact whatever the dossier's current status (domain.md §4b): a
    dossier is suspended at C while a round requested by C is not supplied by C, and the due date in
    force at C is the ``due_before`` of the first round requested after C.
    """

    __tablename__ = "supplement_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)  # order of the request
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)  # NgayBoSung
    supplied_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayTiepNhanBoSung
    due_before: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayHenTraTruoc
    due_after: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayHenTraMoi

    __table_args__ = (Index("ix_supplement_rounds_dossier", "dossier_id", "requested_at"),)


class ProgressStep(Base):
    """One processing step of a dossier: CapNhatTienDoHoSoMC (dvcqg-sync.md §5)."""

    __tablename__ = "progress_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # ThoiDiemXuLy
    status: Mapped[int | None] = mapped_column(Integer)  # TrangThai, the §4.1 code after the step
    unit: Mapped[str | None] = mapped_column(String(255))  # PhongBanXuLy
    handler: Mapped[str | None] = mapped_column(String(255))  # NguoiXuLy
    handler_title: Mapped[str | None] = mapped_column(String(255))  # ChucDanh
    content: Mapped[str | None] = mapped_column(Text)  # NoiDungXuLy
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayBatDau
    step_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NgayKetThucTheoQuyDinh

    __table_args__ = (UniqueConstraint("dossier_id", "at", "status", name="uq_progress_step"),)


class Feedback(Base):
    """A citizen's feedback or petition (phản ánh, kiến nghị, PAKN) and its handling steps (qd766.md §4)."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(128), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    dossier_code: Mapped[str | None] = mapped_column(String(128))  # 5.4: a PAKN about a dossier
    classification: Mapped[str | None] = mapped_column(String(32))  # procedure / conduct (5.1)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime)  # the citizen sent it
    transferred_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # latest transfer (VPCP, agency)
    first_received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    first_supplement_request_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    answer_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # "chờ công khai" step
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    likes: Mapped[int] = mapped_column(Integer, default=0)
    dislikes: Mapped[int] = mapped_column(Integer, default=0)
    follow_up_dissatisfied: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint(f"state IN {FEEDBACK_STATES}", name="ck_feedback_state"),
        Index("ix_feedback_agency_sent", "agency_id", "sent_at"),
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


class AgencyProfile(Base):
    """Who writes the report and to whom (issue 12): the facts an officer sets once and every quarterly
    draft prints — header, number symbol, signer, focal officers, standing plans and decisions.

    ``agency_code`` is an agency's code, or ``""`` for the province-wide report of the UBND tỉnh. The
    fields live in ``data`` (see :class:`tthc_core.reports.profile.Profile`), so adding one needs no
    schema change.
    """

    __tablename__ = "agency_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(255))


class ReportNarrative(Base):
    """The officer's text of one quarter's report (requesting document, difficulties, …), per agency
    (``""``: the province-wide report) and period. A row exists once an officer confirmed the value;
    until then the draft carries the previous quarter's and the page marks it (issue 12)."""

    __tablename__ = "report_narratives"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("agency_code", "period_key", "key", name="uq_report_narrative"),)


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
    # Unused since the lock-out moved to SignInThrottle (per name and client); kept because databases
    # written before have them NOT NULL and upgrades are additive.
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
    # The agency the import was made for (NULL: a province-wide import by an admin); officers see the
    # entries of their own units only.
    agency_code: Mapped[str | None] = mapped_column(String(64))


class SignInThrottle(Base):
    """Failed sign-ins per (user name, client address): the lock-out counter.

    Keyed by the name as typed (known or not) and the client, so a stranger who types someone's name
    wrongly locks only their own attempts from their own address, and an unknown name behaves exactly
    like a known one (no account enumeration). Updated by single atomic statements (auth.py).
    """

    __tablename__ = "sign_in_throttle"

    username: Mapped[str] = mapped_column(String(255), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SignInSession(Base):
    """A sign-in that lasts: the browser keeps a random token, the database only its SHA-256.

    Checked on every run of the dashboard; ended by sign-out, by disabling the account and by a
    password reset (``ended_at``), and by time (``expires_at``).
    """

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16), server_default="password")
    client: Mapped[str] = mapped_column(String(64), server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """The audit trail: who did what, when, about which agency (NULL: the whole province or none)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(255), server_default="")
    action: Mapped[str] = mapped_column(String(32))
    agency_code: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, server_default="")
    client: Mapped[str] = mapped_column(String(64), server_default="")


class SyncState(Base):
    """Where each live-feed source stands (``tthc_core.sync``): what to ask for next and how it went.

    ``source`` is ``url:<address>`` or ``watch:<absolute folder>``. ``watermark`` is the opaque token the
    export API handed out with the last written batch (sent back as ``?since=``); ``etag`` /
    ``last_modified`` are the HTTP validators of that response; ``batch_sha256`` is the hash of the last
    batch written. A new table: columns nullable or with a server default only (db.add_missing_columns).
    """

    __tablename__ = "sync_state"

    source: Mapped[str] = mapped_column(String(1024), primary_key=True)
    watermark: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    batch_sha256: Mapped[str | None] = mapped_column(String(64))
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="0")


class Qd766Rule(Base):
    """One sub-indicator's maximum and threshold of the QĐ 766 index from a date on (qd766.md §7.2).

    The portal changes its formulas; a score is computed with the rules in force at the period's end
    and carries their date. ``threshold`` NULL: the portal scores linearly (``max × r``).
    """

    __tablename__ = "qd766_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    indicator: Mapped[str] = mapped_column(String(16))  # "2.1", "3.5b", "CT"
    max_points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))

    __table_args__ = (UniqueConstraint("valid_from", "indicator", name="uq_qd766_rule"),)


class Qd766Grade(Base):
    """A grade band of the QĐ 766 total from a date on: the lowest total that earns ``label``."""

    __tablename__ = "qd766_grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(64))
    min_points: Mapped[Decimal] = mapped_column(Numeric(6, 2))

    __table_args__ = (UniqueConstraint("valid_from", "label", name="uq_qd766_grade"),)


class Qd766Input(Base):
    """A QĐ 766 figure no data can give (1.4 national count, CT, catalogue-only inputs, qd766.md §7.4),
    entered per agency (NULL: the whole province) and period key (``calendar:2022-Q2``)."""

    __tablename__ = "qd766_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    period_key: Mapped[str] = mapped_column(String(64))
    indicator: Mapped[str] = mapped_column(String(16))
    numerator: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    denominator: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    entered_by: Mapped[str] = mapped_column(String(255), server_default="")
    entered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_qd766_inputs_period", "period_key", "indicator"),)


class DigestSubscription(Base):
    """Who receives the scheduled digest (issue 17), how, for which agencies, when and which sections.

    ``agencies``: comma-separated codes within the account's own scope, empty for all of that scope;
    ``weekdays``: Monday = 0 … Sunday = 6 as digits (``01234`` = working week); ``send_at``: ``HH:MM``
    Vietnam time; ``sections``: comma-separated :data:`tthc_core.digest.SECTIONS`; ``nonce``: the random
    half of the signed unsubscribe token. A new table: nullable or server defaults only.
    """

    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(1024))
    agencies: Mapped[str] = mapped_column(Text, server_default="")
    weekdays: Mapped[str] = mapped_column(String(7), server_default="01234")
    send_at: Mapped[str] = mapped_column(String(5), server_default="07:30")
    sections: Mapped[str | None] = mapped_column(Text)
    due_soon_days: Mapped[int | None] = mapped_column(Integer)
    nonce: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (CheckConstraint("channel IN ('email', 'webhook')", name="ck_digest_channel"),)


class DigestDelivery(Base):
    """The delivery log, and the claim that keeps a digest from going out twice: one row per
    subscription and day, inserted (``claimed``) in its own transaction before sending, then marked
    ``sent`` or ``failed``. An ad-hoc CLI send has no subscription (NULLs never collide)."""

    __tablename__ = "digest_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int | None] = mapped_column(Integer, index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), server_default="claimed")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    overdue: Mapped[int | None] = mapped_column(Integer)
    due_soon: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("subscription_id", "day", name="uq_digest_once_a_day"),)
