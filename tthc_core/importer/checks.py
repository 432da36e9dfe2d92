"""Row checks: every value of every row parsed and checked column by column, every problem collected
with its line, the column as written in the file and a Vietnamese message."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

import pandas as pd

from ..formatting import fmt_date, fmt_decimal, fmt_int
from ..problems import Problem
from .columns import LABELS, MAX_LENGTH, MAX_LENGTH_PROCEDURE, REQUIRED
from .reading import Table
from .values import (_DAY_FIRST, _ISO, _TIME_FIRST, CHANNEL_WORDS, LEVEL_WORDS, ONLINE_CLASS_WORDS,
                     normalize,
                     REGULATED_WORDS, STATUS_WORDS, _mapped, parse_booleans, parse_days, parse_online_levels,
                     parse_times, parse_timestamps)


class Checker:
    """Collects row problems from vectorised checks; builds the row dicts only for rejected rows."""

    def __init__(self, table: Table, columns: dict[str, int], labels: dict[str, str]):
        self.table = table
        self.columns = columns
        self.labels = labels
        self.found: list[tuple[int, int, str, str, str]] = []  # line, column position, header, message, value
        self.bad = pd.Series(False, index=table.body.index)

    def header(self, column: str) -> str:
        if column in self.columns:
            return self.table.headers[self.columns[column]]
        return self.labels.get(column, column)

    def text(self, column: str) -> pd.Series:
        if column in self.columns:
            return self.table.body[self.columns[column]]
        return pd.Series("", index=self.table.body.index, dtype=str)

    def add(self, mask: pd.Series, column: str, message: Callable[[str, int], str],
            values: pd.Series | None = None) -> None:
        """Record a problem for every row where ``mask`` is true; ``message(value, line)`` words it."""
        if not mask.any():
            return
        values = self.text(column) if values is None else values
        self._record(mask, self.columns.get(column, -1), self.header(column) if column else "", message, values)

    def _record(self, mask: pd.Series, position: int, header: str, message: Callable[[str, int], str],
                values: pd.Series) -> None:
        for line in mask.index[mask.to_numpy()]:
            value = values.at[line]
            self.found.append((int(line), position, header, message(value, line), value))
        self.bad |= mask

    def problems(self) -> list[Problem]:
        if not self.found:
            return []
        lines = sorted({f[0] for f in self.found})
        rows = self.table.body.loc[lines]
        # Every header of the file, plus cells beyond the last header that these rows fill.
        positions = [p for p in rows.columns if p < len(self.table.headers) or (rows[p] != "").any()]
        names = _unique_headers(self.table.headers, positions)
        raw = {line: dict(zip(names, values)) for line, values in zip(lines, rows[positions].itertuples(index=False))}
        return [Problem(line, header, message, value, raw[line])
                for line, _, header, message, value in sorted(self.found, key=lambda f: (f[0], f[1]))]

    def long_cells(self, limit: int) -> None:
        """Cells of any column longer than ``limit`` characters (the value shown cut short)."""
        if not self.table.may_hold_long_cells:
            return
        names = _unique_headers(self.table.headers, list(self.table.body.columns))
        for position, name in zip(self.table.body.columns, names):
            cells = self.table.body[position]
            self._record(cells.str.len() > limit, position, name,
                         lambda v, n, cells=cells: f"ô dài {fmt_int(len(cells.at[n]))} ký tự, quá {fmt_int(limit)} ký tự cho phép",
                         cells.str.slice(0, 40) + "…")

    def required(self, column: str) -> None:
        self.add(self.text(column) == "", column, lambda v, n: "thiếu giá trị (cột bắt buộc)")

    def too_long(self, limits: dict[str, int]) -> None:
        for column, limit in limits.items():
            if column in self.columns:
                self.add(self.text(column).str.len() > limit, column,
                         lambda v, n, limit=limit: f"giá trị dài {len(v)} ký tự, quá {limit} ký tự cho phép")

    def duplicates(self, key: pd.Series, column: str, noun: str) -> None:
        """The second and later occurrences of a key, naming the line of the first."""
        present = key != ""
        repeated = key.duplicated(keep="first") & present
        if repeated.any():
            first_line = pd.Series(key.index, index=key.index)[present & ~key.duplicated(keep="first")]
            first_of = dict(zip(key[first_line.index], first_line))
            codes = self.text(column)
            self.add(repeated, column,
                     lambda v, n: f"{noun} «{codes.at[n]}» trùng với dòng {first_of[key.at[n]]} "
                                  "(mỗi mã chỉ được có một dòng trong tệp)")

    def extra_cells(self) -> None:
        """Cells to the right of the last header: usually a value with an unquoted separator."""
        width = len(self.table.headers)
        extra = [c for c in self.table.body.columns if c >= width]
        if not extra:
            return
        cells = self.table.body[extra]
        filled = (cells != "").any(axis=1)
        count = (self.table.body != "").sum(axis=1)
        self.add(filled, "", lambda v, n: f"dòng có ô ngoài {width} cột của dòng tiêu đề ({count.at[n]} ô có "
                                          "dữ liệu): có thể một giá trị chứa dấu phân cách mà không đặt trong "
                                          "ngoặc kép", values=pd.Series("", index=cells.index))


def _unique_headers(headers: list[str], positions: list[int]) -> list[str]:
    """Names for the raw row dict: the header as written, ``Cột 7`` when empty, ``X (2)`` when repeated."""
    names: list[str] = []
    for position in positions:
        name = headers[position] if position < len(headers) and headers[position] else f"Cột {position + 1}"
        base, n = name, 2
        while name in names:
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return names




CHANNEL_HINT = "dùng Trực tuyến, Trực tiếp hoặc Bưu chính công ích"
DATE_HINT = "dùng ngày/tháng/năm như 14/06/2022 hoặc 14/06/2022 16:30, hay năm-tháng-ngày như 2022-06-14"


def _date_message(value: str, line: int) -> str:
    looks_like_date = any(p.match(value) for p in (_ISO, _DAY_FIRST, _TIME_FIRST))
    reason = "ngày hoặc giờ không tồn tại" if looks_like_date else DATE_HINT
    return f"không đọc được ngày «{value}» ({reason})"


def _first_checks(table: Table, columns: dict[str, int], kind: str, limits: dict[str, int]
                  ) -> tuple[pd.DataFrame, Checker]:
    """What every kind of file is checked for first (cells beyond the header, required cells, lengths),
    and the empty frame of its rows."""
    check = Checker(table, columns, LABELS[kind])
    check.extra_cells()
    check.long_cells(table.limits.max_cell_chars)
    for column in REQUIRED[kind]:
        check.required(column)
    check.too_long(limits)
    return pd.DataFrame(index=table.body.index), check


def check_dossiers(table: Table, columns: dict[str, int]) -> tuple[pd.DataFrame, Checker]:
    out, check = _first_checks(table, columns, "dossiers", MAX_LENGTH)
    for column in ("code", "agency_code", "procedure_code", "procedure_name", "field"):
        out[column] = check.text(column)

    text = check.text("channel")
    out["channel"], unknown = _mapped(text, CHANNEL_WORDS)
    check.add(unknown & (text != ""), "channel", lambda v, n: f"không rõ hình thức nộp «{v}» ({CHANNEL_HINT})")

    text = check.text("status")
    status, _ = _mapped(text, STATUS_WORDS)
    # Any other wording (Đang xử lý, Hoàn thành, Đã trả kết quả…) is an ordinary dossier.
    out["status"] = status.fillna("normal")

    for column in ("received_at", "due_at", "resolved_at"):
        out[column], unreadable = parse_timestamps(check.text(column), table.excel)
        check.add(unreadable, column, _date_message)
    earliest, latest = table.limits.date_window()
    for column in ("received_at", "resolved_at"):
        # A year 0001, 1800 or 2031 would count as pending in every period (issue 14), and a year
        # before 1 made SQLite store what no page could read back.
        outside = (out[column] < pd.Timestamp(earliest)) | (out[column] >= pd.Timestamp(latest) + pd.Timedelta(days=1))
        check.add(outside, column, lambda v, n: f"ngày «{v}» ngoài khoảng hợp lý {fmt_date(earliest)} – "
                                                f"{fmt_date(latest)}")
        out[column] = out[column].mask(outside)

    received_day = out["received_at"].dt.normalize()
    for column, phrase in (("due_at", "ngày hẹn trả"), ("resolved_at", "ngày có kết quả")):
        # Compared by date: a dossier resolved (or due) on the day it was received is fine.
        before = out[column].dt.normalize() < received_day
        check.add(before.fillna(False).astype(bool), column,
                  lambda v, n, c=column, p=phrase: f"{p} {fmt_date(out.at[n, c])} trước ngày tiếp nhận "
                                                   f"{fmt_date(out.at[n, 'received_at'])}")

    text = check.text("apology_count")
    count = pd.Series(0.0, index=text.index)
    given = text != ""
    if given.any():  # usually an empty or absent column: nothing to read
        count[given] = pd.to_numeric(text[given], errors="coerce")
    wrong = count.isna() | (count < 0) | (count % 1 != 0) | (count > 1000)
    check.add(wrong.fillna(True).astype(bool), "apology_count",
              lambda v, n: f"số phiếu xin lỗi «{v}» không phải số nguyên từ 0 đến 1.000")
    out["apology_count"] = count.where(~wrong, 0).astype(int)

    _check_lifecycle(out, check, columns, table.excel)
    check.duplicates(out["code"], "code", "mã hồ sơ")
    return out, check


# The optional lifecycle columns (dvcqg-sync.md §3, read in full from the JSON by importer/dvcqg.py).
APPLICANT_WORDS = {normalize(w): n for n, words in {
    1: ("1", "Công dân", "Cá nhân"), 2: ("2", "Doanh nghiệp"), 3: ("3", "Cơ quan nhà nước"),
    4: ("4", "Tổ chức", "Tổ chức khác")}.items() for w in words}
PAYMENT_WORDS = {normalize(w): p for p, words in {
    None: ("0", "Không"), "dvcqg": ("1", "Cổng DVCQG", "Nền tảng thanh toán DVCQG"),
    "local_gateway": ("2", "Cổng thanh toán của tỉnh", "Cổng thanh toán địa phương")}.items() for w in words}
# TrangThaiHoSo 1 (never accepted) and 3 (refused) stay outside every II.06a column (domain.md §4b).
INTAKE_OF_STATUS = {1: "not_accepted", 3: "refused"}


def _check_lifecycle(out: pd.DataFrame, check: Checker, columns: dict[str, int], excel: bool) -> None:
    """Parse the lifecycle columns the file has (and only those: an import without them leaves the
    stored values as they are)."""
    for column in ("submitted_at", "refused_at", "result_returned_at"):
        if column in columns:
            out[column], unreadable = parse_timestamps(check.text(column), excel)
            check.add(unreadable, column, _date_message)
    for column, words, hint in (("applicant_type", APPLICANT_WORDS, "dùng 1 đến 4 hoặc Công dân, Doanh nghiệp…"),
                                ("paid_online_via", PAYMENT_WORDS, "dùng 0, 1 (Cổng DVCQG) hoặc 2 (cổng của tỉnh)")):
        if column in columns:
            text = check.text(column)
            values, unknown = _mapped(text, words)
            check.add(unknown & (text != ""), column, lambda v, n, hint=hint: f"không hiểu giá trị «{v}» ({hint})")
            out[column] = values.astype(object).where(values.notna(), None)
    if "applicant_type" in out:
        out["applicant_type"] = out["applicant_type"].astype("Int64")
    if "source_status" in columns:
        text = check.text("source_status")
        code = pd.to_numeric(text.where(text.str.fullmatch(r"\d{1,2}"), None), errors="coerce")
        wrong = (text != "") & ~code.between(1, 10)
        check.add(wrong, "source_status", lambda v, n: f"mã trạng thái «{v}» không hợp lệ (dùng 1 đến 10)")
        out["source_status"] = code.where(~wrong).astype("Int64")
        out["intake"] = code.map(INTAKE_OF_STATUS).fillna("accepted")
        # 8 (Dừng xử lý) ends the dossier like a withdrawal (domain.md §4b)
        out["status"] = out["status"].where(~((code == 8) & (out["status"] == "normal")), "stopped")
    if "fee_total" in columns:
        text = check.text("fee_total").str.replace(".", "", regex=False)
        amount = pd.to_numeric(text.where(text != "", None), errors="coerce")
        wrong = (text != "") & ~(amount >= 0)
        check.add(wrong, "fee_total", lambda v, n: f"số tiền «{v}» không phải số đồng không âm")
        out["fee_total"] = amount.where(~wrong).round().astype("Int64")
        out["fee_lines"] = out["fee_total"].notna().astype(int)
    for column in ("has_digitised_components", "vneid_authenticated", "filed_on_national_portal",
                   "result_pushed_to_store", "rated_dissatisfied"):
        if column in columns:
            text = check.text(column)
            values, unknown = parse_booleans(text)
            check.add(unknown, column, lambda v, n: f"không hiểu giá trị «{v}» ({BOOLEAN_HINT})")
            out[column] = values.astype(object).where(text != "", None)
    if "e_result_url" in columns:
        url = check.text("e_result_url")
        out["e_result_url"] = url.where(url != "", None)
        out["e_results"] = (url != "").astype(int)




BOOLEAN_COLUMNS = ("published", "publicized", "one_stop", "lien_thong", "postal", "four_on_site",
                   "internal_process")
BOOLEAN_HINT = "dùng x hoặc Có cho «có»; để trống, 0 hoặc Không cho «không»"
# Values written for an empty cell of a column the file has (the models' defaults).
MAX_PROCESSING_DAYS = Decimal("99999.9")
PROCEDURE_EMPTY = {"authority_level": "province", "regulated_by": "central"}


def check_procedures(table: Table, columns: dict[str, int]) -> tuple[pd.DataFrame, Checker]:
    out, check = _first_checks(table, columns, "procedures", MAX_LENGTH_PROCEDURE)
    for column in ("code", "name", "agency_code", "field"):
        out[column] = check.text(column)

    for column, words, hint in (
        ("authority_level", LEVEL_WORDS, "dùng Cấp tỉnh, Cấp huyện hoặc Cấp xã"),
        ("regulated_by", REGULATED_WORDS, "dùng Trung ương hoặc Địa phương"),
        ("online_class", ONLINE_CLASS_WORDS, "dùng Toàn trình hoặc Một phần, hoặc để trống"),
    ):
        text = check.text(column)
        values, unknown = _mapped(text, words)
        check.add(unknown & (text != ""), column, lambda v, n, hint=hint: f"không hiểu giá trị «{v}» ({hint})")
        out[column] = values.astype(object).where(values.notna(), PROCEDURE_EMPTY.get(column))

    for column in BOOLEAN_COLUMNS:
        out[column], unknown = parse_booleans(check.text(column))
        check.add(unknown, column, lambda v, n: f"không hiểu giá trị «{v}» ({BOOLEAN_HINT})")

    out["online_level"], unknown = parse_online_levels(check.text("online_level"))
    check.add(unknown, "online_level", lambda v, n: f"mức độ dịch vụ công «{v}» không hợp lệ (dùng 0 đến 4 "
                                                    "hoặc «Mức độ 3»)")
    out["processing_days"], unknown = parse_days(check.text("processing_days"))
    check.add(unknown, "processing_days", lambda v, n: f"thời hạn giải quyết «{v}» không phải số ngày "
                                                       "(ví dụ 15, 0,5 hoặc Trong ngày)")
    # Numeric(6, 1): a value that rounds to 100.000 or more overflows the column on PostgreSQL.
    too_many = out["processing_days"].map(
        lambda d: d is not None and d.quantize(Decimal("0.1"), ROUND_HALF_UP) > MAX_PROCESSING_DAYS, na_action="ignore")
    check.add(too_many.fillna(False).astype(bool), "processing_days",
              lambda v, n: f"thời hạn giải quyết «{v}» quá lớn (tối đa {fmt_decimal(MAX_PROCESSING_DAYS, 1)} ngày)")
    out["same_day_cutoff"], unknown = parse_times(check.text("same_day_cutoff"))
    check.add(unknown, "same_day_cutoff", lambda v, n: f"giờ «{v}» không hợp lệ (dùng giờ:phút, ví dụ 15:00)")

    _check_766_facts(out, check, table.excel)

    # A procedure code is unique within its agency (uq_procedure_agency_code).
    # Agency codes match regardless of case (store.agency_ids): «abc» and «ABC» are one agency, and two
    # rows of its code made PostgreSQL refuse the whole upsert with no line named.
    key = out["code"].where(out["code"] == "", out["agency_code"].str.casefold() + "\x1f" + out["code"])
    check.duplicates(key, "code", "mã TTHC")
    return out, check




# QĐ 766 catalogue facts (qd766.md §5). An empty cell stays NULL: "not known", never "no".
FACT_BOOLEANS = ("has_fee", "requires_paper_result", "eligible_full_online")
FACT_DATES = ("decision_at", "legal_basis_effective_at", "publicized_at")
# A procedure's applicant types (several per cell), not a dossier's one applicant (APPLICANT_WORDS).
APPLICANT_TYPE_WORDS = {"congdan": "citizen", "canhan": "citizen", "nguoivietnamdinhcuonuocngoai": "citizen",
                        "nguoinuocngoai": "citizen", "doanhnghiep": "business", "coquannhanuoc": "state_agency",
                        "tochuc": "organisation", "khac": "organisation"}
TIME_UNIT_WORDS = {"gio": "hours", "ngay": "days", "ngaylamviec": "working_days", "thang": "months",
                   "hours": "hours", "days": "days", "workingdays": "working_days", "months": "months"}


def _check_766_facts(out: pd.DataFrame, check: Checker, excel: bool) -> None:
    from .values import normalize

    for column in FACT_BOOLEANS:
        text = check.text(column)
        values, unknown = parse_booleans(text)
        check.add(unknown, column, lambda v, n: f"không hiểu giá trị «{v}» ({BOOLEAN_HINT})")
        out[column] = values.astype(object).where(text != "", None)
    for column in FACT_DATES:
        values, unreadable = parse_timestamps(check.text(column), excel)
        check.add(unreadable, column, _date_message)
        out[column] = [None if pd.isna(v) else v.date() for v in values]
    text = check.text("public_parts")
    parts = pd.to_numeric(text.where(text != ""), errors="coerce")
    wrong = (text != "") & (parts.isna() | (parts % 1 != 0) | (parts < 0) | (parts > 7))
    check.add(wrong, "public_parts", lambda v, n: f"số bộ phận công khai «{v}» phải là số nguyên từ 0 đến 7")
    out["public_parts"] = [None if pd.isna(v) or bad else int(v) for v, bad in zip(parts, wrong)]
    applicants = check.text("applicant_types")
    types, bad = [], []
    for value in applicants:
        words = [normalize(w) for w in value.replace(";", ",").split(",") if w.strip()]
        bad.append(any(w not in APPLICANT_TYPE_WORDS for w in words))
        types.append(",".join(sorted({APPLICANT_TYPE_WORDS[w] for w in words if w in APPLICANT_TYPE_WORDS})) or None)
    check.add(pd.Series(bad, index=applicants.index), "applicant_types",
              lambda v, n: f"không hiểu đối tượng «{v}» (Công dân, Doanh nghiệp, Cơ quan nhà nước, Tổ chức)")
    out["applicant_types"] = types
    unit_text = check.text("time_unit")
    units = [TIME_UNIT_WORDS.get(normalize(v)) if v else None for v in unit_text]
    check.add((unit_text != "") & pd.Series([u is None for u in units], index=unit_text.index), "time_unit",
              lambda v, n: f"đơn vị thời hạn «{v}» (dùng Giờ, Ngày, Ngày làm việc hoặc Tháng)")
    out["time_unit"] = units
