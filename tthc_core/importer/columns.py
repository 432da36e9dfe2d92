"""Columns: canonical names, their Vietnamese aliases and labels, and how a header row is recognised."""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from ..problems import Problem
from .values import normalize

KINDS = ("dossiers", "procedures")
KIND_NOUNS = {"dossiers": "hồ sơ", "procedures": "thủ tục"}

# How many top rows may hold titles above the header row.
HEADER_SEARCH_ROWS = 30


def _alias_table(spec: dict[str, Sequence[str]]) -> dict[str, str]:
    table = {}
    for canonical, aliases in spec.items():
        for alias in (canonical, *aliases):
            table[normalize(alias)] = canonical
    return table


DOSSIER_ALIASES = _alias_table({
    "code": ("Mã hồ sơ", "Số hồ sơ", "Mã HS", "Số HS"),
    "procedure_code": ("Mã TTHC", "Mã thủ tục", "Mã thủ tục hành chính"),
    "procedure_name": ("Tên thủ tục", "Tên TTHC", "Tên thủ tục hành chính"),
    "field": ("Lĩnh vực", "Tên lĩnh vực"),
    "agency_code": ("Mã cơ quan", "Mã đơn vị"),
    "channel": ("Hình thức nộp", "Kênh nộp", "Hình thức tiếp nhận"),
    "received_at": ("Ngày tiếp nhận", "Ngày nhận"),
    "due_at": ("Ngày hẹn trả", "Hạn xử lý", "Hạn giải quyết"),
    "resolved_at": ("Ngày có kết quả", "Ngày hoàn thành", "Ngày xử lý xong"),
    "status": ("Trạng thái", "Tình trạng"),
    "apology_count": ("Số phiếu xin lỗi", "Phiếu xin lỗi"),
    # Optional: the national sync record's lifecycle (dvcqg-sync.md §3), by its Vietnamese or field name.
    "submitted_at": ("Ngày nộp", "Ngày nộp hồ sơ", "NgayNopHoSo"),
    "refused_at": ("Ngày từ chối", "Ngày từ chối tiếp nhận", "NgayTuChoi"),
    "result_returned_at": ("Ngày trả kết quả", "NgayTra"),
    "source_status": ("Mã trạng thái", "Mã trạng thái hồ sơ", "TrangThaiHoSo"),
    "applicant_type": ("Loại đối tượng", "LoaiDoiTuong"),
    "fee_total": ("Phí, lệ phí", "Lệ phí", "Số tiền phí, lệ phí"),
    "paid_online_via": ("Thanh toán trực tuyến", "DuocThanhToanTrucTuyen"),
    "has_digitised_components": ("Có thành phần số hóa", "HoSoCoThanhPhanSoHoa"),
    "vneid_authenticated": ("Xác thực VNeID", "TaiKhoanDuocXacThucVoiVNeID"),
    "filed_on_national_portal": ("Nộp trên Cổng DVCQG", "Nộp qua Cổng DVCQG"),
    "e_result_url": ("Kết quả điện tử", "Đường dẫn kết quả điện tử"),
    # QĐ 766 4.4 and 5.4: not in the national record, so only a table brings them
    "result_pushed_to_store": ("Kết quả đưa vào kho", "Đã đưa kết quả vào kho dữ liệu", "Kết quả vào kho DVCQG"),
    "rated_dissatisfied": ("Đánh giá không hài lòng", "Không hài lòng"),
})

PROCEDURE_ALIASES = _alias_table({
    "code": ("Mã TTHC", "Mã thủ tục", "Mã thủ tục hành chính"),
    "name": ("Tên thủ tục", "Tên TTHC", "Tên thủ tục hành chính"),
    "field": ("Lĩnh vực", "Tên lĩnh vực"),
    "agency_code": ("Mã cơ quan", "Mã đơn vị"),
    "authority_level": ("Cấp thực hiện",),
    "regulated_by": ("Cơ quan quy định", "Quy định bởi"),
    "published": ("Công bố",),
    "publicized": ("Công khai",),
    "one_stop": ("Một cửa",),
    "lien_thong": ("Một cửa liên thông", "Liên thông"),
    "postal": ("Bưu chính công ích", "BCCI"),
    "online_level": ("Mức độ DVC", "Mức độ"),
    "online_class": ("Dịch vụ công trực tuyến", "Loại DVC"),
    "four_on_site": ("4 tại chỗ", "Bốn tại chỗ"),
    "internal_process": ("Quy trình nội bộ",),
    "processing_days": ("Thời hạn giải quyết", "Thời gian giải quyết", "Thời gian giải quyết (ngày)",
                        "Số ngày giải quyết"),
    "same_day_cutoff": ("Giờ tiếp nhận trong ngày", "Giờ chốt"),
    # QĐ 766 catalogue facts (qd766.md §5)
    "has_fee": ("Có phí, lệ phí", "Có phí", "Phí, lệ phí"),
    "requires_paper_result": ("Kết quả bản giấy", "Yêu cầu kết quả giấy"),
    "applicant_types": ("Đối tượng thực hiện", "Đối tượng"),
    "eligible_full_online": ("Đủ điều kiện toàn trình",),
    "decision_at": ("Ngày quyết định công bố", "Ngày QĐCB", "Ngày ban hành QĐ công bố"),
    "legal_basis_effective_at": ("Ngày hiệu lực căn cứ pháp lý", "Ngày hiệu lực"),
    "publicized_at": ("Ngày công khai",),
    "public_parts": ("Số bộ phận công khai", "Bộ phận công khai"),
    "time_unit": ("Đơn vị thời hạn", "Đơn vị thời gian"),
})

ALIASES = {"dossiers": DOSSIER_ALIASES, "procedures": PROCEDURE_ALIASES}
REQUIRED = {"dossiers": ("code", "received_at", "channel"), "procedures": ("code", "name")}

LABELS = {
    "dossiers": {
        "code": "Mã hồ sơ", "procedure_code": "Mã TTHC", "procedure_name": "Tên thủ tục", "field": "Lĩnh vực",
        "agency_code": "Mã cơ quan", "channel": "Hình thức nộp", "received_at": "Ngày tiếp nhận",
        "due_at": "Ngày hẹn trả", "resolved_at": "Ngày có kết quả", "status": "Trạng thái",
        "apology_count": "Số phiếu xin lỗi", "submitted_at": "Ngày nộp", "refused_at": "Ngày từ chối",
        "result_returned_at": "Ngày trả kết quả", "source_status": "Mã trạng thái", "applicant_type": "Loại đối tượng",
        "fee_total": "Phí, lệ phí", "paid_online_via": "Thanh toán trực tuyến",
        "has_digitised_components": "Có thành phần số hóa", "vneid_authenticated": "Xác thực VNeID",
        "filed_on_national_portal": "Nộp trên Cổng DVCQG", "e_result_url": "Kết quả điện tử",
        "result_pushed_to_store": "Kết quả đưa vào kho", "rated_dissatisfied": "Đánh giá không hài lòng",
    },
    "procedures": {
        "code": "Mã TTHC", "name": "Tên thủ tục", "field": "Lĩnh vực", "agency_code": "Mã cơ quan",
        "authority_level": "Cấp thực hiện", "regulated_by": "Cơ quan quy định", "published": "Công bố",
        "publicized": "Công khai", "one_stop": "Một cửa", "lien_thong": "Một cửa liên thông",
        "postal": "Bưu chính công ích", "online_level": "Mức độ DVC", "online_class": "Dịch vụ công trực tuyến",
        "four_on_site": "4 tại chỗ", "internal_process": "Quy trình nội bộ",
        "processing_days": "Thời hạn giải quyết", "same_day_cutoff": "Giờ tiếp nhận trong ngày",
        "has_fee": "Có phí, lệ phí", "requires_paper_result": "Kết quả bản giấy",
        "applicant_types": "Đối tượng thực hiện", "eligible_full_online": "Đủ điều kiện toàn trình",
        "decision_at": "Ngày quyết định công bố", "legal_basis_effective_at": "Ngày hiệu lực căn cứ pháp lý",
        "publicized_at": "Ngày công khai", "public_parts": "Số bộ phận công khai", "time_unit": "Đơn vị thời hạn",
    },
}

# Column widths of the tables (models.py): longer text would fail on PostgreSQL.
MAX_LENGTH = {"code": 128, "procedure_code": 64, "agency_code": 64, "field": 255}
MAX_LENGTH_PROCEDURE = {"code": 64, "agency_code": 64, "field": 255}


def canonical_column(header: str, aliases: dict[str, str]) -> str | None:
    """The canonical column a header names, trying it also without a parenthesised note (``(dd/mm/yyyy)``)."""
    found = aliases.get(normalize(header))
    if found is None and "(" in header:
        found = aliases.get(normalize(re.sub(r"\(.*?\)", "", header)))
    return found



def header_score(cells: Iterable[str]) -> int:
    """How many cells of a row name a known column (of either kind)."""
    found = set()
    for cell in cells:
        if cell:
            for kind, aliases in ALIASES.items():
                column = canonical_column(cell, aliases)
                if column:
                    found.add((kind, column))
    return max(sum(1 for k, _ in found if k == kind) for kind in KINDS) if found else 0


def map_headers(headers: list[str], header_line: int, aliases: dict[str, str], labels: dict[str, str]
                ) -> tuple[dict[str, int], list[str], list[Problem]]:
    """(canonical column → position, headers no alias matched, problems of repeated columns)."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for position, header in enumerate(headers):
        if not header:
            continue
        canonical = canonical_column(header, aliases)
        if canonical is None:
            ignored.append(header)
        elif canonical in columns:
            first = headers[columns[canonical]]
            problems.append(Problem(header_line, header,
                                    f"cột «{header}» trùng với cột «{first}» (cùng là «{labels[canonical]}»): "
                                    "hãy xóa hoặc đổi tên một cột", header))
        else:
            columns[canonical] = position
    return columns, ignored, problems
