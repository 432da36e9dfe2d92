"""Write the sample import files of this folder from one list of dossiers and procedures.

    python data/samples/make_samples.py

- ``ho-so-mau.csv``: canonical headers (``code,procedure_code,…``), comma, ISO dates, English values;
- ``ho-so-mau-tieng-viet.csv``: the same dossiers as a one-stop system exports them: Vietnamese headers,
  a ``STT`` column, semicolons, a BOM, CRLF, day-first dates and Vietnamese values; no agency column
  (import it with ``--agency SLDTBXH``);
- ``ho-so-mau.xlsx``: the same dossiers in a workbook with title rows above the header and real Excel
  date cells;
- ``thu-tuc-mau.csv``: seven procedures of Sở LĐTBXH with Vietnamese headers and values.

The procedure codes are those of the demo database (``python -m tthc_core demo``). Importing any of
the three dossier files into an empty database gives, for ``2022-Q2`` (report period 15/03–14/06/2022)
and agency ``SLDTBXH``: 28 received = 4 online + 20 direct or postal + 4 carried over; 20 resolved =
7 early + 9 on time + 4 late; 8 pending = 6 in time + 2 overdue. The comments below say why.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENCY = "SLDTBXH"

# code, name, field, level, regulated, published, publicized, one-stop, liên thông, BCCI, online level,
# online class, 4 tại chỗ, internal process, processing days
PROCEDURES = [
    ("1.001700", "Giải quyết chế độ ưu đãi đối với thân nhân liệt sĩ", "Người có công",
     "Cấp tỉnh", "Trung ương", "x", "x", "x", "x", "x", "Mức độ 4", "Toàn trình", "", "x", "20"),
    ("2.001737", "Cấp giấy chứng nhận thân nhân liệt sĩ", "Người có công",
     "Cấp tỉnh", "Trung ương", "x", "x", "x", "", "x", "Mức độ 3", "Một phần", "", "x", "20"),
    ("1.003476", "Giải quyết hưởng trợ cấp thất nghiệp", "Việc làm",
     "Cấp tỉnh", "Trung ương", "x", "x", "x", "", "x", "Mức độ 4", "Toàn trình", "x", "x", "20"),
    ("2.003513", "Tạm dừng hưởng trợ cấp thất nghiệp", "Việc làm",
     "Cấp tỉnh", "Trung ương", "x", "x", "", "", "x", "Mức độ 3", "Một phần", "", "x", "10"),
    ("1.003920", "Cấp giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp đối với trung tâm giáo dục "
     "nghề nghiệp, trường trung cấp, doanh nghiệp", "Giáo dục nghề nghiệp",
     "Cấp tỉnh", "Trung ương", "x", "x", "x", "", "", "Mức độ 2", "", "", "x", "10"),
    ("1.004734", "Khai báo khi đưa vào sử dụng máy, thiết bị, vật tư có yêu cầu nghiêm ngặt về an toàn lao "
     "động", "An toàn, vệ sinh lao động",
     "Cấp tỉnh", "Trung ương", "x", "x", "", "", "x", "Mức độ 4", "Toàn trình", "", "", "5"),
    ("1.005548", "Đăng ký nội quy lao động của doanh nghiệp", "Lao động - tiền lương",
     "Cấp tỉnh", "Trung ương", "x", "x", "x", "x", "x", "Mức độ 3", "Một phần", "x", "x", "7"),
]
PROCEDURE_BY_CODE = {p[0]: p for p in PROCEDURES}


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# Period Q2/2022 (report mode): S = 15/03/2022, E = 14/06/2022, cut-off = end of 14/06.
# (number, procedure code, channel, received, due, resolved, status, what it counts as)
DOSSIERS = [
    # Received before S and still open at S: carried over (col. 6).
    (1, "1.001700", "direct", "2022-03-01 08:15", "2022-03-29", "2022-03-25 10:00", "normal"),  # early
    (2, "2.001737", "direct", "2022-03-04 14:00", "2022-04-01", "2022-04-01 10:30", "normal"),  # on time
    (3, "2.003513", "postal", "2022-03-10 09:00", "2022-03-24", "2022-03-28 15:20", "normal"),  # late
    (4, "1.003476", "direct", "2022-03-11 10:00", "2022-04-08", None, "normal"),  # pending, overdue
    # Resolved before the period: not counted at all.
    (5, "1.005548", "direct", "2022-02-21 09:30", "2022-03-07", "2022-03-04 11:00", "normal"),
    # New in the period (col. 4 online / col. 5 direct or postal).
    (6, "1.001700", "online", "2022-03-15 07:45", "2022-04-12", "2022-04-05 09:10", "normal"),  # early
    (7, "1.003476", "direct", "2022-03-16 08:20", "2022-04-13", "2022-04-13 15:00", "normal"),  # on time
    (8, "2.003513", "postal", "2022-03-18 13:40", "2022-04-01", "2022-04-04 08:00", "normal"),  # late
    (9, "2.001737", "direct", "2022-03-22 09:05", "2022-04-19", "2022-04-19 16:00", "normal"),  # on time
    # Withdrawn without a due date: always on time.
    (10, "1.005548", "direct", "2022-03-25 10:15", None, "2022-03-28 14:00", "withdrawn"),
    # Returned after its due date: still on time (provincial practice, domain.md §4).
    (11, "1.003920", "direct", "2022-04-01 08:00", "2022-04-15", "2022-04-20 09:00", "returned"),
    (12, "1.004734", "online", "2022-04-04 15:30", "2022-04-25", "2022-04-22 10:00", "normal"),  # early
    (13, "1.001700", "direct", "2022-04-06 09:00", "2022-05-05", "2022-05-05 11:45", "normal"),  # on time
    (14, "2.003513", "direct", "2022-04-12 14:10", "2022-04-26", "2022-05-06 10:00", "normal"),  # late
    (15, "1.003476", "postal", "2022-04-15 08:50", "2022-05-16", "2022-05-10 15:00", "normal"),  # early
    (16, "2.001737", "direct", "2022-04-20 10:40", "2022-05-19", "2022-05-19 08:30", "normal"),  # on time
    (17, "1.005548", "direct", "2022-04-26 16:10", "2022-05-10", "2022-05-09 09:20", "normal"),  # early
    (18, "1.003920", "direct", "2022-05-04 08:05", "2022-06-01", "2022-06-01 14:00", "normal"),  # on time
    (19, "1.004734", "online", "2022-05-09 09:45", "2022-06-06", "2022-06-03 10:30", "normal"),  # early
    # Open at the cut-off (col. 11): in time (col. 12) or overdue (col. 13).
    (20, "1.001700", "direct", "2022-05-12 10:00", "2022-05-26", None, "suspended"),  # suspended: in time
    (21, "1.003476", "direct", "2022-05-16 14:30", "2022-06-10", None, "normal"),  # overdue
    (22, "2.001737", "direct", "2022-05-20 09:15", "2022-06-17", "2022-06-16 10:00", "normal"),  # in time
    (23, "1.003476", "postal", "2022-05-25 08:40", "2022-06-22", None, "normal"),  # in time
    # Date-only due date: resolved late in the afternoon of the due day is on time.
    (24, "1.005548", "direct", "2022-06-01 10:20", "2022-06-14", "2022-06-14 16:30", "normal"),
    # Due date with a time of day: resolved half an hour after it is late.
    (25, "1.004734", "online", "2022-06-03 11:00", "2022-06-14 17:00", "2022-06-14 17:30", "normal"),
    (26, "1.001700", "direct", "2022-06-08 08:30", "2022-07-06", None, "normal"),  # in time
    (27, "2.003513", "direct", "2022-06-10 09:40", "2022-06-24", "2022-06-14 09:00", "normal"),  # early
    (28, "2.001737", "direct", "2022-06-13 15:00", "2022-07-11", None, "normal"),  # in time
    (29, "1.001700", "direct", "2022-06-14 16:45", "2022-07-12", None, "normal"),  # in time, last day
    # Received after the period: not counted.
    (30, "1.003476", "online", "2022-06-20 08:00", "2022-07-18", None, "normal"),
]

EXPECTED_Q2 = {
    "received_total": 28, "received_online": 4, "received_offline": 20, "received_postal": 3, "carried_over": 4,
    "resolved_total": 20, "resolved_early": 7, "resolved_on_time": 9, "resolved_late": 4,
    "pending_total": 8, "pending_in_time": 6, "pending_overdue": 2,
}

CHANNEL_VI = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính công ích"}
STATUS_VI = {"withdrawn": "Rút hồ sơ", "returned": "Trả lại hồ sơ", "suspended": "Chờ bổ sung"}

CANONICAL_HEADERS = ["code", "procedure_code", "procedure_name", "field", "agency_code", "channel",
                     "received_at", "due_at", "resolved_at", "status"]
VIETNAMESE_HEADERS = ["STT", "Mã hồ sơ", "Mã TTHC", "Tên thủ tục", "Lĩnh vực", "Hình thức nộp",
                      "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả", "Trạng thái"]
XLSX_HEADERS = VIETNAMESE_HEADERS[:5] + ["Mã đơn vị"] + VIETNAMESE_HEADERS[5:]
PROCEDURE_HEADERS = ["Mã TTHC", "Tên thủ tục", "Lĩnh vực", "Mã cơ quan", "Cấp thực hiện", "Cơ quan quy định",
                     "Công bố", "Công khai", "Một cửa", "Một cửa liên thông", "Bưu chính công ích", "Mức độ DVC",
                     "Dịch vụ công trực tuyến", "4 tại chỗ", "Quy trình nội bộ", "Thời hạn giải quyết (ngày)"]


def dossier_code(number: int, received: str) -> str:
    """One-stop dossier numbers of Lạng Sơn: unit code, receipt date (yymmdd), sequence."""
    return f"000.00.21.H35-{_t(received):%y%m%d}-{number:04d}"


def _vn_stamp(text: str | None) -> str:
    if text is None:
        return ""
    moment = _t(text)
    return f"{moment:%d/%m/%Y}" if len(text) == 10 else f"{moment:%d/%m/%Y %H:%M}"


def _status_vi(status: str, resolved: str | None) -> str:
    if status in STATUS_VI:
        return STATUS_VI[status]
    return "Đã trả kết quả" if resolved else "Đang xử lý"


def _csv_text(rows: list[list[str]], delimiter: str = ",", lineterminator: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=lineterminator).writerows(rows)
    return out.getvalue()


def canonical_csv() -> str:
    rows = [CANONICAL_HEADERS]
    for number, proc, channel, received, due, resolved, status in DOSSIERS:
        _, name, field, *_ = PROCEDURE_BY_CODE[proc]
        rows.append([dossier_code(number, received), proc, name, field, AGENCY, channel, received, due or "",
                     resolved or "", status])
    return _csv_text(rows)


def vietnamese_csv() -> str:
    rows = [VIETNAMESE_HEADERS]
    for number, proc, channel, received, due, resolved, status in DOSSIERS:
        _, name, field, *_ = PROCEDURE_BY_CODE[proc]
        rows.append([str(number), dossier_code(number, received), proc, name, field, CHANNEL_VI[channel],
                     _vn_stamp(received), _vn_stamp(due), _vn_stamp(resolved), _status_vi(status, resolved)])
    return "\ufeff" + _csv_text(rows, delimiter=";", lineterminator="\r\n")


def procedures_csv() -> str:
    rows = [PROCEDURE_HEADERS]
    for code, name, field, *flags in PROCEDURES:
        rows.append([code, name, field, AGENCY, *flags])
    return "\ufeff" + _csv_text(rows)


def write_workbook(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Hồ sơ"
    sheet["A1"] = "DANH SÁCH HỒ SƠ TIẾP NHẬN - SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI TỈNH LẠNG SƠN"
    sheet["A1"].font = Font(bold=True)
    sheet["A2"] = "Trích xuất từ Hệ thống thông tin giải quyết TTHC tỉnh, từ 21/02/2022 đến 20/06/2022"
    header_row = 4
    for column, header in enumerate(XLSX_HEADERS, start=1):
        sheet.cell(header_row, column, header).font = Font(bold=True)
    for offset, (number, proc, channel, received, due, resolved, status) in enumerate(DOSSIERS, start=1):
        _, name, field, *_ = PROCEDURE_BY_CODE[proc]
        values = [number, dossier_code(number, received), proc, name, field, AGENCY, CHANNEL_VI[channel]]
        for column, value in enumerate(values, start=1):
            sheet.cell(header_row + offset, column, value)
        for column, stamp in enumerate((received, due, resolved), start=len(values) + 1):
            if stamp is None:
                continue
            cell = sheet.cell(header_row + offset, column, _t(stamp))  # a real date cell
            cell.number_format = "dd/mm/yyyy" if len(stamp) == 10 else "dd/mm/yyyy hh:mm"
        sheet.cell(header_row + offset, len(values) + 4, _status_vi(status, resolved))
    for letter, width in zip("ABCDEFGHIJK", (5, 28, 10, 50, 22, 10, 18, 17, 17, 17, 15)):
        sheet.column_dimensions[letter].width = width
    workbook.save(path)


def main() -> None:
    (HERE / "ho-so-mau.csv").write_text(canonical_csv(), encoding="utf-8", newline="")
    (HERE / "ho-so-mau-tieng-viet.csv").write_text(vietnamese_csv(), encoding="utf-8", newline="")
    (HERE / "thu-tuc-mau.csv").write_text(procedures_csv(), encoding="utf-8", newline="")
    write_workbook(HERE / "ho-so-mau.xlsx")
    print(f"Đã ghi các tệp mẫu vào {HERE}")


if __name__ == "__main__":
    main()
