"""The agency profile: who writes the quarterly report, to whom, who signs it, what it cites (issue 12).

Set once by an officer or admin (on the report page or ``python -m tthc_core profile``) and printed by
every draft: the province and parent-body lines, the agency's name and number symbol
(``Số:      /BC-SLĐTBXH``), place, the receiving body, the signer block with the name (NĐ 30/2020/NĐ-CP
Appendix I), the focal officers and the standing plans and decisions the narrative cites.

The province-wide report is the UBND tỉnh's (stored under :data:`PROVINCE`): addressed to the Văn phòng
Chính phủ and signed "TM. ỦY BAN NHÂN DÂN" (TT 01/2020/TT-VPCP: provinces report to the VPCP). Those
two facts are rules, so they are defaults; everything else the draft needs and the profile lacks is
left out of the draft and listed by :func:`profile_missing`, never invented.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy import Engine, select

from ..auth import Scope
from ..db import bump_data_version, get_engine
from ..formatting import fmt_date, vietnam_now
from ..models import AgencyProfile
from ..problems import Problem
from .agencies import agency_row, may_edit

PROVINCE = ""  # the profile key of the province-wide report (UBND tỉnh)
PROVINCE_RECEIVER = "Văn phòng Chính phủ"
AGENCY_RECEIVER = "Văn phòng UBND tỉnh"

# Where the draft cites a standing document (the section it supports).
DOCUMENT_ROLES = {
    "direction": "I.1 Văn bản chỉ đạo, kế hoạch kiểm soát TTHC",
    "focal": "I.3 Quyết định về công chức đầu mối",
    "budget": "I.4 Quy định, hướng dẫn về kinh phí",
    "review": "II.3 Kế hoạch rà soát, đánh giá TTHC",
    "four_on_site": "II.6.2 Danh mục TTHC “4 tại chỗ”",
    "inspection": "II.10 Kế hoạch kiểm tra",
    "saturday": "II.11 Làm việc sáng thứ bảy",
}
# The kind of a document from its symbol (NĐ 30/2020 Appendix III abbreviations).
_KINDS = (("/QĐ", "Quyết định"), ("/KH", "Kế hoạch"), ("/HD", "Hướng dẫn"), ("/BC", "Báo cáo"),
          ("/TB", "Thông báo"), ("/CT", "Chỉ thị"), ("/NQ", "Nghị quyết"), ("/TT", "Thông tư"),
          ("/NĐ", "Nghị định"))


@dataclass
class Document:
    """A plan, decision or letter the report cites: ``Kế hoạch số 254/KH-UBND ngày 27/12/2021 của …``."""

    role: str
    number: str
    date: str  # ISO date
    issuer: str = ""
    subject: str = ""

    @property
    def kind(self) -> str:
        upper = "/" + self.number.upper().split("/", 1)[-1] if "/" in self.number else ""
        parts = ["/" + p for p in upper.strip("/").split("/")]
        for prefix, kind in _KINDS:
            if any(p.startswith(prefix) for p in parts):
                return kind
        return "Văn bản"

    def citation(self, with_subject: bool = True) -> str:
        """``Kế hoạch số 254/KH-UBND ngày 27/12/2021 của Ủy ban nhân dân tỉnh Lạng Sơn về …``."""
        text = f"{self.kind} số {self.number} ngày {fmt_date(dt.date.fromisoformat(self.date))}"
        if self.issuer:
            text += f" của {self.issuer}"
        if with_subject and self.subject:
            text += f" {self.subject}"
        return text


@dataclass
class Profile:
    """Everything the header, the body and the signature of a draft take from the agency."""

    province: str = ""  # "Lạng Sơn"
    parent_body: str = ""  # the line above the agency: "UBND TỈNH LẠNG SƠN" (none for the UBND tỉnh)
    full_name: str = ""  # "Sở Lao động - Thương binh và Xã hội"
    short_name: str = ""  # how the text names it after the first time: "Sở"
    symbol: str = ""  # the number symbol: "SLĐTBXH" → "Số:      /BC-SLĐTBXH"
    receiving_body: str = ""  # "Văn phòng UBND tỉnh"
    place: str = ""  # "Lạng Sơn" → "Lạng Sơn, ngày …"
    signer_authority: str = ""  # "TM. ỦY BAN NHÂN DÂN", "KT. GIÁM ĐỐC" or empty when the head signs
    signer_title: str = ""  # "GIÁM ĐỐC", "CHỦ TỊCH", "PHÓ GIÁM ĐỐC"
    signer_name: str = ""
    focal_officers: list[str] = field(default_factory=list)  # "Bà Lương Thị Hồng, Công chức Văn phòng Sở"
    recipients: list[str] = field(default_factory=list)  # "Nơi nhận" lines, without "- " and ";"
    documents: list[Document] = field(default_factory=list)

    def cited(self, role: str) -> list[Document]:
        return [d for d in self.documents if d.role == role]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What an officer sees for each field (page, CLI, the list of what is missing).
PROFILE_LABELS = {
    "province": "Tỉnh",
    "parent_body": "Cơ quan chủ quản (dòng trên tên cơ quan)",
    "full_name": "Tên cơ quan",
    "short_name": "Tên gọi tắt trong báo cáo",
    "symbol": "Ký hiệu cơ quan (Số: …/BC-ký hiệu)",
    "receiving_body": "Cơ quan nhận báo cáo",
    "place": "Địa danh (ghi trước ngày tháng)",
    "signer_authority": "Thẩm quyền ký (TM., KT., …)",
    "signer_title": "Chức vụ người ký",
    "signer_name": "Họ tên người ký",
    "focal_officers": "Công chức đầu mối kiểm soát TTHC",
    "recipients": "Nơi nhận",
    "documents": "Kế hoạch, quyết định được viện dẫn",
}
TEXT_FIELDS = tuple(f.name for f in fields(Profile) if f.type == "str")
LIST_FIELDS = ("focal_officers", "recipients")
# Without these the header or the signature block of NĐ 30/2020 cannot be complete.
REQUIRED = ("province", "full_name", "symbol", "receiving_body", "place", "signer_title", "signer_name")
_SYMBOL = re.compile(r"^[A-ZĐ0-9][A-ZĐ0-9.-]*$")


def defaults(db: str | Engine | None, agency: str | None) -> Profile:
    """What the rules give without any input: the agency's name; the reporting chain and, for the whole
    province, the UBND tỉnh's signature on behalf of the collective (NĐ 30/2020 Art. 13)."""
    if not agency:
        return Profile(receiving_body=PROVINCE_RECEIVER, symbol="UBND", signer_authority="TM. ỦY BAN NHÂN DÂN",
                       signer_title="CHỦ TỊCH")
    with get_engine(db).connect() as conn:
        row = agency_row(conn, agency)
    return Profile(full_name=row.name, receiving_body=AGENCY_RECEIVER)


def _from_dict(data: dict[str, Any], base: Profile) -> Profile:
    values = base.to_dict()
    values.update({k: v for k, v in data.items() if k in values})
    values["documents"] = [Document(**d) for d in values.get("documents") or []]
    return Profile(**values)


def load_profile(db: str | Engine | None, agency: str | None) -> Profile:
    """The stored profile over the defaults (``agency`` None: the province-wide report)."""
    with get_engine(db).connect() as conn:
        stored = conn.scalar(select(AgencyProfile.data).where(AgencyProfile.agency_code == (agency or PROVINCE)))
    profile = _from_dict(stored or {}, defaults(db, agency))
    if not agency and not profile.full_name and profile.province:
        profile.full_name = f"Ủy ban nhân dân tỉnh {profile.province}"
    return profile


def _document(index: int, value: Any) -> tuple[Document | None, list[Problem]]:
    where = f"Văn bản {index}"
    if not isinstance(value, dict):
        return None, [Problem(where, PROFILE_LABELS["documents"], "cần vai trò, số, ngày, cơ quan ban hành, trích yếu.")]
    problems = []
    role = str(value.get("role") or "").strip()
    if role not in DOCUMENT_ROLES:
        problems.append(Problem(where, "Vai trò", f"«{role}» không phải một trong: {', '.join(DOCUMENT_ROLES)}."))
    number = str(value.get("number") or "").strip()
    if not re.match(r"^\d+(/\d{4})?/[^\s/]+", number):
        problems.append(Problem(where, "Số, ký hiệu", f"«{number}» không có dạng số/ký hiệu, ví dụ 254/KH-UBND."))
    date_text = str(value.get("date") or "").strip()
    day = None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = dt.datetime.strptime(date_text, fmt).date()
            break
        except ValueError:
            continue
    if day is None:
        problems.append(Problem(where, "Ngày ban hành", f"không đọc được ngày «{date_text}» (dd/mm/yyyy)."))
    if problems:
        return None, problems
    return Document(role=role, number=number, date=day.isoformat(), issuer=str(value.get("issuer") or "").strip(),
                    subject=str(value.get("subject") or "").strip()), []


def parse_profile(values: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Clean the values an officer entered; ``(clean values, problems)`` — the rows name the field."""
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in values.items():
        label = PROFILE_LABELS.get(key)
        if label is None:
            problems.append(Problem(f"«{key}»", "", "không phải là thông tin của hồ sơ cơ quan."))
        elif key in LIST_FIELDS:
            items = value.split("\n") if isinstance(value, str) else list(value or [])
            clean[key] = [str(v).strip().rstrip(";").strip() for v in items if str(v).strip()]
        elif key == "documents":
            docs = []
            for index, item in enumerate(value or [], start=1):
                doc, found = _document(index, item)
                problems += found
                if doc is not None:
                    docs.append(asdict(doc))
            clean[key] = docs
        else:
            text = " ".join(str(value or "").split())
            if key == "symbol" and text and not _SYMBOL.match(text.upper()):
                problems.append(Problem(f"«{label}»", "", f"«{text}» chỉ gồm chữ in hoa, số, dấu chấm, gạch nối "
                                                          "(ví dụ SLĐTBXH)."))
            clean[key] = text.upper() if key in ("symbol", "parent_body") else text
    return clean, problems


def save_profile(db: str | Engine | None, agency: str | None, values: dict[str, Any], user: str = "",
                 scope: Scope | None = None) -> list[Problem]:
    """Validate and store the given fields of the profile (others unchanged); all or nothing."""
    may_edit(scope, agency)
    clean, problems = parse_profile(values)
    if problems:
        return problems
    key = agency or PROVINCE
    engine = get_engine(db)
    with engine.begin() as conn:
        if agency:
            agency_row(conn, agency)  # an unknown code is refused before anything is written
        stored = conn.scalar(select(AgencyProfile.data).where(AgencyProfile.agency_code == key))
        data = {**(stored or {}), **clean}
        if stored is None:
            conn.execute(AgencyProfile.__table__.insert(), [{"agency_code": key, "data": data,
                                                             "updated_at": vietnam_now(), "updated_by": user}])
        else:
            conn.execute(AgencyProfile.__table__.update().where(AgencyProfile.agency_code == key)
                         .values(data=data, updated_at=vietnam_now(), updated_by=user))
        bump_data_version(conn)
    return []


def profile_missing(profile: Profile) -> list[str]:
    """The labels of what the draft's header and signature need and the profile lacks."""
    missing = [PROFILE_LABELS[k] for k in REQUIRED if not getattr(profile, k)]
    if not profile.focal_officers:
        missing.append(PROFILE_LABELS["focal_officers"])
    if not profile.cited("direction"):
        missing.append(f"{PROFILE_LABELS['documents']}: {DOCUMENT_ROLES['direction']}")
    return missing


def profile_json(profile: Profile) -> str:
    return json.dumps(profile.to_dict(), ensure_ascii=False, indent=2)
