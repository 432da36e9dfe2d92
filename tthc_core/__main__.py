"""Command line: ``python -m tthc_core [--db URL] COMMAND``.

A thin layer of argument parsing over the core. Exit status: 0 success, 1 rejected data, 2 usage
errors; errors are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from .periods import MODES, PeriodError


class UsageError(Exception):
    """Wrong words on the command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of argparse's usage dump
        raise UsageError(f"Lỗi cú pháp: {message}. Xem: python -m tthc_core --help")


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ngày không hợp lệ «{text}», dùng YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tthc_core",
                     description="Thống kê thủ tục hành chính và hồ sơ (biểu II.06a/VPCP/KSTT).")
    parser.add_argument("--db", help="SQLAlchemy URL (mặc định: TTHC_DATABASE_URL hoặc data/tthc.db)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="tạo lại cơ sở dữ liệu minh họa (quý II/2022 của Sở LĐTBXH Lạng Sơn)")
    demo.add_argument("--today", type=_parse_day, default=None, help="ngày hiện tại của dữ liệu (YYYY-MM-DD)")

    imp = sub.add_parser("import", help="nhập tệp CSV/XLSX hồ sơ hoặc thủ tục")
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", choices=("dossiers", "procedures"), default=None)
    imp.add_argument("--agency", help="mã cơ quan cho các dòng không có cột cơ quan")
    imp.add_argument("--skip-invalid", action="store_true", help="ghi các dòng hợp lệ, bỏ qua dòng lỗi")
    imp.add_argument("--rejects", type=Path, help="tệp CSV ghi các dòng bị loại và lý do")

    stats = sub.add_parser("stats", help="số liệu biểu II.06a và danh mục TTHC của một kỳ")
    stats.add_argument("--period", required=True, help="2022-Q2, 2022-H1, 2022-9M, 2022, 2022-05 hoặc A..B")
    stats.add_argument("--mode", choices=MODES, default="report")
    stats.add_argument("--agency", help="mã cơ quan (mặc định: toàn bộ)")
    stats.add_argument("--by", choices=("field", "agency", "procedure", "level"), default="field")
    stats.add_argument("--json", action="store_true", help="in một đối tượng JSON")

    export = sub.add_parser("export", help="xuất phụ lục Excel và dự thảo báo cáo Word")
    export.add_argument("--period", required=True)
    export.add_argument("--mode", choices=MODES, default="report")
    export.add_argument("--agency")
    export.add_argument("--out", type=Path, help="tệp .xlsx")
    export.add_argument("--docx", type=Path, help="tệp .docx")
    index766 = sub.add_parser("index766", help="Bộ chỉ số QĐ 766/QĐ-TTg của một kỳ (theo lịch) và việc cần làm để tăng điểm")
    index766.add_argument("--period", required=True, help="2022-Q2, 2022-06, 2022 …")
    index766.add_argument("--mode", choices=MODES, default="calendar")
    index766.add_argument("--agency", help="mã cơ quan, tính cả đơn vị trực thuộc (mặc định: toàn tỉnh)")
    index766.add_argument("--now", type=dt.datetime.fromisoformat, default=None,
                          help="thời điểm C của kỳ đang chạy (mặc định: bây giờ)")
    index766.add_argument("--json", action="store_true", help="in đối tượng JSON (như trang Chỉ số 766)")
    input766 = sub.add_parser("input766", help="nhập số liệu QĐ 766 không có trong dữ liệu (1.4, CT, danh mục)")
    input766.add_argument("--period", required=True)
    input766.add_argument("--mode", choices=MODES, default="calendar")
    input766.add_argument("--agency", help="mã cơ quan (mặc định: toàn tỉnh)")
    input766.add_argument("--indicator", required=True, help="1.1, 1.2, 1.3, 1.4, 3.1, 3.2, 3.5, 3.5b, 4.5a, CT")
    input766.add_argument("--numerator", default=None)
    input766.add_argument("--denominator", default=None)
    user = sub.add_parser("user", help="tài khoản: add, disable, enable, password, list")
    user_sub = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    add = user_sub.add_parser("add", help="tạo tài khoản")
    add.add_argument("username", help="tên đăng nhập, hoặc e-mail khi đăng nhập qua nhà cung cấp định danh")
    add.add_argument("--role", required=True, choices=("admin", "province", "officer", "viewer"))
    add.add_argument("--agency", action="append", default=[], help="mã cơ quan (officer: một; viewer: một hoặc nhiều)")
    add.add_argument("--name", default="", help="họ tên hiển thị")
    add.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ một dòng của stdin")
    add.add_argument("--no-password", action="store_true", help="chỉ đăng nhập qua nhà cung cấp định danh (OIDC)")
    for name, text in (("disable", "vô hiệu hóa tài khoản"), ("enable", "mở lại tài khoản"),
                       ("password", "đặt lại mật khẩu")):
        one = user_sub.add_parser(name, help=text)
        one.add_argument("username")
        if name == "password":
            one.add_argument("--password-stdin", action="store_true")
    user_sub.add_parser("list", help="liệt kê tài khoản")

    bench = sub.add_parser("bench", help="đo tốc độ trên một tỉnh tổng hợp (ghi bench/results.md)",
                           description="Đo tốc độ trên một tỉnh tổng hợp. Mặc định chạy trên SQLite trong thư mục "
                                       "tạm; với --db, bench xóa và tạo lại các bảng TTHC ở đó, nên chỉ dùng một "
                                       "cơ sở dữ liệu trống dành riêng (nó từ chối một CSDL đã có hồ sơ).")
    bench.add_argument("--dossiers", type=int, default=2_000_000, help="số hồ sơ của lịch sử 3 năm")
    bench.add_argument("--runs", type=int, default=5, help="số lần đo để lấy trung vị")
    bench.add_argument("--long-years", type=int, default=10, help="lịch sử dài để so sánh (0: bỏ qua)")
    bench.add_argument("--out", type=Path, help="tệp kết quả (mặc định bench/results.md)")
    return parser


def cmd_bench(args) -> int:
    from .bench import BenchRefused, run

    if args.dossiers < 1000 or args.runs < 1:
        raise UsageError("--dossiers phải từ 1000 và --runs từ 1.")
    try:
        run(args.db, dossiers=args.dossiers, runs=args.runs, long_years=args.long_years, out=args.out,
            log=lambda line: print(line, flush=True))
    except BenchRefused as exc:
        raise UsageError(str(exc)) from None
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        raise UsageError("Hai lần nhập mật khẩu không khớp.")
    return first


def cmd_user(args) -> int:
    from .auth import ROLE_LABELS, create_user, list_users, set_disabled, set_password

    if args.user_command == "add":
        password = None if args.no_password else _read_password(args.password_stdin)
        scope = create_user(args.db, args.username, args.role, password, args.agency, args.name)
        where = ", ".join(scope.agencies) if scope.agencies is not None else "mọi cơ quan"
        print(f"Đã tạo tài khoản «{scope.username}» ({ROLE_LABELS[scope.role]}; {where}).")
    elif args.user_command in ("disable", "enable"):
        set_disabled(args.db, args.username, args.user_command == "disable")
        print(f"Đã {'vô hiệu hóa' if args.user_command == 'disable' else 'mở lại'} tài khoản «{args.username}».")
    elif args.user_command == "password":
        set_password(args.db, args.username, _read_password(args.password_stdin))
        print(f"Đã đặt lại mật khẩu cho «{args.username}».")
    else:
        for row in list_users(args.db):
            state = "vô hiệu hóa" if row["disabled"] else "đang dùng"
            agencies = ", ".join(row["agencies"]) or "mọi cơ quan"
            print(f"{row['username']}\t{row['role']}\t{agencies}\t{state}")
    return 0


def cmd_demo(args) -> int:
    from .demo import build_demo

    summary = build_demo(args.db, today=args.today)
    print(f"Đã tạo dữ liệu minh họa: {summary['agencies']} cơ quan, {summary['procedures']} thủ tục, "
          f"{summary['dossiers']} hồ sơ (đến ngày {summary['today']:%d/%m/%Y}).")
    return 0


def cmd_import(args) -> int:
    from .importer import import_file, write_rejects

    if args.rejects and not args.skip_invalid:
        raise UsageError("--rejects chỉ dùng cùng --skip-invalid.")
    if not args.file.exists():
        raise UsageError(f"Không tìm thấy tệp «{args.file}».")
    result = import_file(args.db, args.file, kind=args.kind, agency=args.agency,
                         skip_invalid=args.skip_invalid)
    for problem in result.problems:
        print(problem.text(), file=sys.stderr)
    if args.rejects:
        write_rejects(result, args.rejects)
    print(result.summary())
    return 1 if result.problems and not args.skip_invalid else 0


def cmd_stats(args) -> int:
    from .formatting import fmt_int
    from .stats import COUNT_KEYS, compute_stats

    result = compute_stats(args.db, args.period, mode=args.mode, agency=args.agency, by=args.by)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=_json_default, indent=2))
        return 0
    print(f"{result['period']['label']} — {'cơ quan ' + args.agency if args.agency else 'toàn bộ cơ quan'}")
    headers = ["Nhóm", *[str(n) for n in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)]]
    keys = [k for k in COUNT_KEYS if k != "received_postal"]
    lines = [[row["key"], *[fmt_int(row[k]) for k in keys]] for row in result["dossiers"]["rows"]]
    lines.append(["Tổng cộng", *[fmt_int(result["dossiers"]["total"][k]) for k in keys]])
    widths = [max(len(str(line[i])) for line in [headers, *lines]) for i in range(len(headers))]
    widths[0] = min(widths[0], 40)
    for line in [headers, *lines]:
        print("  ".join([str(line[0])[:40].ljust(widths[0])] +
                        [str(c).rjust(w) for c, w in zip(line[1:], widths[1:])]))
    print("(3) tổng tiếp nhận = (4) trực tuyến + (5) trực tiếp, bưu chính + (6) từ kỳ trước; "
          "(7) đã giải quyết = (8) trước hạn + (9) đúng hạn + (10) quá hạn; "
          "(11) đang giải quyết = (12) trong hạn + (13) quá hạn.")
    procedures = result["procedures"]
    print(f"TTHC: {fmt_int(procedures['total'])} thuộc thẩm quyền, {fmt_int(procedures['one_stop'])} một cửa, "
          f"{fmt_int(procedures['lien_thong'])} liên thông, {fmt_int(procedures['postal'])} bưu chính, "
          f"{fmt_int(procedures['online'])} trực tuyến.")
    for check in result["checks"]:
        print("CẢNH BÁO: " + check["message"])
    return 0


def cmd_export(args) -> int:
    if not args.out and not args.docx:
        raise UsageError("Cần --out FILE.xlsx hoặc --docx FILE.docx.")
    from .exports import write_docx, write_workbook
    from .reports import frozen_note, report_figures

    # One set of figures for both files; a frozen period prints its signed figures.
    figures = report_figures(args.db, args.period, args.mode, args.agency)
    note = frozen_note(figures)
    if note:
        changed = f"; {len(figures['diff'])} chỉ tiêu đã thay đổi sau khi chốt." if figures["diff"] else "."
        print(note + changed)
    for check in figures["checks"]:
        print("CẢNH BÁO: " + check["message"], file=sys.stderr)
    if args.out:
        write_workbook(args.db, args.period, args.out, mode=args.mode, agency=args.agency, figures=figures)
        print(f"Đã ghi {args.out}")
    if args.docx:
        write_docx(args.db, args.period, args.docx, mode=args.mode, agency=args.agency, figures=figures)
        print(f"Đã ghi {args.docx}")
    return 0


def cmd_index766(args) -> int:
    from .formatting import fmt_decimal, fmt_int, fmt_percent
    from .qd766 import SOURCE_LABELS, compute_index

    result = compute_index(args.db, args.period, mode=args.mode, agency=args.agency, now=args.now)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=_json_default, indent=2))
        return 0
    print(f"Chỉ số QĐ 766 — {result['period']['label']} — {args.agency or 'toàn tỉnh'} "
          f"(bảng điểm từ {result['rules_version']:%d/%m/%Y})")
    for group in result["groups"]:
        print(f"{group['title']}: {fmt_decimal(group['points'])}/{fmt_decimal(group['max'])}")
        for p in (p for p in result["indicators"] if p["group"] == group["code"]):
            figures = (f"{fmt_int(p['numerator']) if p['numerator'] is not None else '–'}/"
                       f"{fmt_int(p['denominator']) if p['denominator'] is not None else '–'}")
            points = "thông tin" if p["info"] else f"{fmt_decimal(p['points'])}/{fmt_decimal(p['max'])}"
            rate = f"{fmt_decimal(p['rate'])} ngày" if p["id"] == "2.2" else fmt_percent(p["rate"])
            wait = f" — chờ {p['waiting_for']}" if p["waiting_for"] else ""
            print(f"  {p['id']:5} {p['title'][:48]:48} {figures:>15} {rate:>9} {points:>12} "
                  f"({SOURCE_LABELS[p['source']]}){wait}")
    print(f"Tổng: {fmt_decimal(result['total'])}/100 — {result['grade']}")
    for hint in result["hints"]:
        print("• " + hint["text"])
    return 0


def cmd_input766(args) -> int:
    from .qd766 import save_input

    save_input(args.db, args.period, args.indicator, args.numerator, args.denominator, agency=args.agency,
               mode=args.mode)
    print(f"Đã ghi số liệu {args.indicator} cho {args.agency or 'toàn tỉnh'}, kỳ {args.period}.")
    return 0


COMMANDS = {"index766": cmd_index766, "input766": cmd_input766, "demo": cmd_demo, "import": cmd_import, "stats": cmd_stats, "export": cmd_export, "bench": cmd_bench,
            "user": cmd_user}


def main(argv: list[str] | None = None) -> int:
    from .auth import AccessDenied, AuthError
    from .reports import ReportError
    from .qd766 import Qd766Error
    from .stats import StatsError

    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (PeriodError, StatsError, ReportError, AuthError, AccessDenied, Qd766Error) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"Lỗi cơ sở dữ liệu: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Lỗi tệp: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
