"""Command line: ``python -m tthc_core [--db URL] COMMAND``.

A thin layer of argument parsing over the core. Exit status: 0 success, 1 rejected data, 2 usage
errors; errors are one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import getpass
import datetime as dt
import json
import os
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

    imp = sub.add_parser("import", help="nhập tệp CSV/XLSX/JSON hồ sơ, thủ tục hoặc phản ánh, kiến nghị (PAKN)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", choices=("dossiers", "procedures"), default=None)
    imp.add_argument("--format", choices=("table", "dvcqg", "pakn"), default=None,
                     help="table: CSV/XLSX; dvcqg: JSON DongBoHoSoMC/CapNhatTienDoHoSoMC; pakn: PAKN CSV/XLSX/JSON "
                          "(mặc định: theo nội dung tệp)")
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
    from .reports.cli import add_profile_parser

    add_profile_parser(sub)
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
    input766.add_argument("--indicator", required=True, help="1.1, 1.2, 1.3, 1.4, 3.1, 3.2, 3.5, 3.5b, 4.4, 4.5a, CT, 5.4 (5.4: chỉ tử số = số hồ "
                               "sơ có PAKN hoặc không hài lòng); kỳ tháng cộng thành quý, năm")
    input766.add_argument("--numerator", default=None)
    input766.add_argument("--denominator", default=None)
    rules = sub.add_parser("rules766", help="bảng điểm Chỉ số 766 theo ngày áp dụng: list, set, grades",
                           description="Điểm tối đa, ngưỡng và bậc xếp loại thay đổi theo Cổng DVCQG: mỗi thay đổi có "
                                       "ngày áp dụng; một kỳ được tính theo bảng điểm có hiệu lực ở ngày cuối kỳ.")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    listing = rules_sub.add_parser("list", help="bảng điểm có hiệu lực và các lần thay đổi")
    listing.add_argument("--at", type=_parse_day, default=None, help="ngày xem (YYYY-MM-DD; mặc định hôm nay)")
    listing.add_argument("--json", action="store_true")
    setting = rules_sub.add_parser("set", help="điểm tối đa và ngưỡng của một chỉ số từ một ngày")
    setting.add_argument("--from", dest="valid_from", required=True, type=_parse_day, help="ngày áp dụng (YYYY-MM-DD)")
    setting.add_argument("--indicator", required=True, help="mã chỉ số: 1.1 … 4.5a, CT")
    setting.add_argument("--max", required=True, help="điểm tối đa (vd. 6 hoặc 2,5)")
    setting.add_argument("--threshold", default=None, help="ngưỡng theo % (vd. 80); bỏ trống: tính tuyến tính")
    grades = rules_sub.add_parser("grades", help="các bậc xếp loại từ một ngày (thay cả bộ bậc của ngày đó)")
    grades.add_argument("--from", dest="valid_from", required=True, type=_parse_day, help="ngày áp dụng (YYYY-MM-DD)")
    grades.add_argument("--band", action="append", required=True, metavar="TÊN=ĐIỂM",
                        help="một bậc: tên và tổng điểm thấp nhất, vd. --band \"Tốt=70\" (lặp lại cho mỗi bậc)")
    user = sub.add_parser("user", help="tài khoản: add, disable, enable, password, list")
    user_sub = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    add = user_sub.add_parser("add", help="tạo tài khoản")
    add.add_argument("username", help="tên đăng nhập, hoặc e-mail khi đăng nhập qua nhà cung cấp định danh")
    add.add_argument("--role", required=True, choices=("admin", "province", "officer", "viewer"))
    add.add_argument("--agency", action="append", default=[], help="mã cơ quan (officer: một; viewer: một hoặc nhiều)")
    add.add_argument("--name", default="", help="họ tên hiển thị")
    add.add_argument("--create-agency", metavar="NAME",
                     help="tạo cơ quan --agency với tên này nếu cơ sở dữ liệu chưa có (CSDL mới)")
    add.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ một dòng của stdin")
    add.add_argument("--no-password", action="store_true", help="chỉ đăng nhập qua nhà cung cấp định danh (OIDC)")
    for name, text in (("disable", "vô hiệu hóa tài khoản"), ("enable", "mở lại tài khoản"),
                       ("password", "đặt lại mật khẩu")):
        one = user_sub.add_parser(name, help=text)
        one.add_argument("username")
        if name == "password":
            one.add_argument("--password-stdin", action="store_true")
    user_sub.add_parser("list", help="liệt kê tài khoản")
    audit = sub.add_parser("audit", help="nhật ký kiểm tra: đăng nhập, nhập dữ liệu, chốt số liệu, xuất, tài khoản")
    audit.add_argument("--limit", type=int, default=100, help="số dòng mới nhất (mặc định 100)")
    audit.add_argument("--user", help="chỉ của một tài khoản")
    audit.add_argument("--json", action="store_true")

    # The benchmark lives outside the package (bench/); its own parser reads the rest of the line.
    sub.add_parser("bench", add_help=False, help="đo tốc độ trên một tỉnh tổng hợp (python -m bench --help)")

    sync = sub.add_parser("sync", help="đồng bộ tự động: tải hồ sơ từ địa chỉ http(s) hoặc nhập tệp thả vào thư mục",
                          description="Nhập từng lô hồ sơ (JSON DongBoHoSoMC, CSV, XLSX): mỗi lô ghi trọn vẹn hoặc "
                                      "không ghi gì, được ghi vào nhật ký nhập; lỗi thì thử lại với thời gian chờ "
                                      "tăng dần. Cách chạy như một dịch vụ: README, mục «Live feed».")
    source = sync.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="địa chỉ http(s) trả về hồ sơ (thêm ?since=<mốc> từ lần thứ hai)")
    source.add_argument("--watch", type=Path, help="thư mục nhận tệp; tệp xong chuyển vào done/ hoặc rejected/")
    source.add_argument("--status", action="store_true",
                        help="in lần đồng bộ thành công gần nhất; mã thoát 1 khi quá giới hạn")
    sync.add_argument("--every", help="chu kỳ (30s, 10m, 2h; mặc định 10m với --url, 1m với --watch)")
    sync.add_argument("--once", action="store_true", help="chạy một lần (thử lại khi lỗi) rồi thoát")
    sync.add_argument("--agency", help="mã cơ quan cho các hồ sơ không ghi cơ quan")
    sync.add_argument("--timeout", type=float, default=60.0, help="giây chờ tối đa cho một phản hồi (mặc định 60)")
    sync.add_argument("--retries", type=int, default=3, help="số lần thử lại khi lỗi, với --once (mặc định 3)")
    digest = sub.add_parser("digest", help="bản tin định kỳ qua thư điện tử hoặc webhook: gửi, đăng ký, liệt kê, hủy",
                            description="Không có ACTION: gửi các bản tin đến hạn (--once, hoặc --every 15m như một "
                                        "dịch vụ); với --to: gửi ngay một bản tin cho --agency. Mỗi đăng ký nhận "
                                        "nhiều nhất một bản tin mỗi ngày.")
    digest.add_argument("action", nargs="?", choices=["subscribe", "list", "remove"], help="quản lý đăng ký")
    digest.add_argument("--once", action="store_true", help="gửi những bản tin đến hạn rồi thoát")
    digest.add_argument("--every", help="chu kỳ kiểm tra (vd. 15m)")
    digest.add_argument("--smtp", help="máy chủ thư HOST:PORT (mặc định: TTHC_SMTP)")
    digest.add_argument("--to", help="gửi ngay cho địa chỉ thư này (hoặc địa chỉ webhook với --channel webhook)")
    digest.add_argument("--channel", choices=["email", "webhook"], default="email", help="kênh (mặc định email)")
    digest.add_argument("--agency", action="append", help="mã cơ quan (lặp lại cho nhiều cơ quan; bỏ trống: toàn tỉnh)")
    digest.add_argument("--at", type=_parse_day, help="ngày tính (YYYY-MM-DD; mặc định hôm nay)")
    digest.add_argument("--days", type=int, help="số ngày làm việc «sắp đến hạn» (mặc định TTHC_DUE_SOON_DAYS hoặc 3)")
    digest.add_argument("--user", help="tài khoản nhận (subscribe; lọc với list)")
    digest.add_argument("--weekdays", default="01234", help="ngày gửi: 0 thứ Hai … 6 Chủ nhật (mặc định 01234)")
    digest.add_argument("--time", default="07:30", help="giờ gửi HH:MM giờ Việt Nam (mặc định 07:30)")
    digest.add_argument("--sections", help="các mục, cách nhau dấu phẩy (mặc định tất cả)")
    digest.add_argument("--id", type=int, help="số đăng ký (remove)")
    return parser


def cmd_digest(args) -> int:
    import signal
    import threading

    from . import digest, sync

    agency = [a.upper() for a in args.agency] if args.agency else None
    if args.action == "subscribe":
        if not args.user or not args.to:
            raise UsageError("digest subscribe cần --user và --to (địa chỉ thư hoặc webhook).")
        sections = args.sections.split(",") if args.sections else None
        sub_id = digest.subscribe(args.db, args.user, args.channel, args.to, agency, args.weekdays, args.time,
                                  sections, args.days)
        print(f"Đã đăng ký bản tin số {sub_id} cho «{args.user}».")
        return 0
    if args.action == "list":
        for row in digest.subscriptions(args.db, args.user):
            print(f"{row['id']}\t{row['username']}\t{row['channel']}\t{row['target']}\t"
                  f"{row['agencies'] or 'toàn phạm vi'}\t{row['weekdays']} {row['send_at']}\t"
                  f"{'đang nhận' if row['active'] else 'đã hủy'}")
        return 0
    if args.action == "remove":
        if args.id is None:
            raise UsageError("digest remove cần --id.")
        if not digest.remove(args.db, args.id):
            print(f"Không có đăng ký số {args.id}.", file=sys.stderr)
            return 1
        print(f"Đã xóa đăng ký số {args.id}.")
        return 0
    if args.once == bool(args.every):
        raise UsageError("Dùng --once hoặc --every (vd. --every 15m).")
    try:
        smtp = digest.SmtpSettings.from_env(args.smtp) if (args.smtp or os.environ.get("TTHC_SMTP")) else None
    except digest.DigestError as exc:
        raise UsageError(str(exc)) from None
    if args.to:  # the ad-hoc form: one message now, no subscription
        if args.channel == "email" and smtp is None:
            raise UsageError("Gửi thư cần --smtp HOST:PORT hoặc biến TTHC_SMTP.")
        result = digest.send_adhoc(args.db, args.to, args.channel, agency, at=args.at, smtp=smtp,
                                   working_days=args.days)
        counts = result["counts"]
        print(f"{'Lỗi' if result['error'] else 'Đã gửi'} bản tin tới {args.to}: {counts['overdue']} quá hạn, "
              f"{counts['due_soon']} sắp đến hạn" + (f" — {result['error']}" if result["error"] else "."))
        return 1 if result["error"] else 0
    try:
        every = None if args.once else sync.parse_interval(args.every)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    failed = False
    while True:
        # stop.wait as the retry pause: SIGTERM ends a back-off at once (the remaining tries go out unpaused).
        for result in digest.send_due(args.db, smtp=smtp, sleep=stop.wait):
            failed |= bool(result["error"])
            print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} bản tin {result['subscription_id']}: "
                  f"{'lỗi: ' + result['error'] if result['error'] else 'đã gửi'}", flush=True)
        if every is None or stop.wait(every):
            return 1 if failed else 0


def cmd_sync(args) -> int:
    import signal
    import threading

    from . import sync

    if args.status:
        state = sync.status(args.db)
        print(sync.status_message(state) or "Chưa có nguồn đồng bộ nào.")
        return 1 if state["stale"] else 0
    if args.once and args.every:
        raise UsageError("Dùng --once hoặc --every, không dùng cả hai.")
    try:
        every = sync.parse_interval(args.every) if args.every else sync.DEFAULT_EVERY["url" if args.url else "watch"]
        every = None if args.once else every
        if args.url:
            sync.check_url(args.url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.timeout <= 0 or args.retries < 0:
        raise UsageError("--timeout phải lớn hơn 0 và --retries từ 0.")
    if args.url:
        attempt = lambda: sync.sync_url(args.db, args.url, agency=args.agency, timeout=args.timeout)  # noqa: E731
    else:
        if not args.watch.is_dir():
            raise UsageError(f"Không tìm thấy thư mục «{args.watch}».")
        attempt = lambda: sync.sync_folder(args.db, args.watch, agency=args.agency)  # noqa: E731

    # SIGTERM (systemd stop) and Ctrl-C end the wait between attempts; a batch under way finishes first.
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())

    def report(outcome) -> None:
        for result in outcome.results:
            for problem in result.problems[:50]:
                print(problem.text(), file=sys.stderr)
        print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {outcome.source}: {outcome.message}", flush=True)

    outcome = sync.run(attempt, every=every, retries=args.retries, sleep=stop.wait, report=report)
    return 0 if outcome.ok else 1


def cmd_bench(args) -> int:
    from bench.__main__ import main as bench_main

    return bench_main([*(["--db", args.db] if args.db else []), *args.rest])


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")

    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        raise UsageError("Hai lần nhập mật khẩu không khớp.")
    return first


def _cli_actor() -> str:
    """Who acts from the command line, for the audit trail: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def cmd_user(args) -> int:
    from .auth import ROLE_LABELS, create_user, list_users, set_disabled, set_password

    if args.user_command == "add":
        password = None if args.no_password else _read_password(args.password_stdin)
        scope = create_user(args.db, args.username, args.role, password, args.agency, args.name,
                            create_agency=args.create_agency, by=_cli_actor())
        where = ", ".join(scope.agencies) if scope.agencies is not None else "mọi cơ quan"
        print(f"Đã tạo tài khoản «{scope.username}» ({ROLE_LABELS[scope.role]}; {where}).")
    elif args.user_command in ("disable", "enable"):
        set_disabled(args.db, args.username, args.user_command == "disable", by=_cli_actor())
        print(f"Đã {'vô hiệu hóa' if args.user_command == 'disable' else 'mở lại'} tài khoản «{args.username}».")
    elif args.user_command == "password":
        set_password(args.db, args.username, _read_password(args.password_stdin), by=_cli_actor())
        print(f"Đã đặt lại mật khẩu cho «{args.username}».")
    else:
        for row in list_users(args.db):
            state = "vô hiệu hóa" if row["disabled"] else "đang dùng"
            agencies = ", ".join(row["agencies"]) or "mọi cơ quan"
            print(f"{row['username']}\t{row['role']}\t{agencies}\t{state}")
    return 0


def cmd_audit(args) -> int:
    from .auth import AUDIT_ACTIONS, audit_log
    from .formatting import fmt_datetime

    rows = audit_log(args.db, limit=args.limit, username=args.user)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, default=_json_default, indent=2))
        return 0
    for row in rows:
        action = AUDIT_ACTIONS.get(row["action"], row["action"])
        print("\t".join((fmt_datetime(row["at"]), row["username"] or "-", action, row["agency_code"] or "toàn tỉnh",
                         row["client"] or "-", row["detail"])))
    return 0


def cmd_demo(args) -> int:
    from .demo import build_demo

    summary = build_demo(args.db, today=args.today)
    print(f"Đã tạo dữ liệu minh họa: {summary['agencies']} cơ quan, {summary['procedures']} thủ tục, "
          f"{summary['dossiers']} hồ sơ (đến ngày {summary['today']:%d/%m/%Y}).")
    return 0


def cmd_import(args) -> int:
    from .auth import scoped_import
    from .importer import write_rejects

    if args.rejects and not args.skip_invalid:
        raise UsageError("--rejects chỉ dùng cùng --skip-invalid.")
    if not args.file.exists():
        raise UsageError(f"Không tìm thấy tệp «{args.file}».")
    if args.rejects and not (args.rejects.parent.is_dir() and os.access(args.rejects.parent, os.W_OK)):
        # Refused before the import, so that nothing is written when the rejects cannot be.
        raise UsageError(f"Không ghi được tệp dòng lỗi vào thư mục «{args.rejects.parent}» (không có hoặc không "
                         "được ghi): không nhập gì.")
    # Through scoped_import, so the import (or its refusal or crash) is in the import log and audit trail.
    result = scoped_import(args.db, _cli_actor(), args.file, kind=args.kind, agency=args.agency,
                           skip_invalid=args.skip_invalid, format=args.format)
    for problem in result.problems:
        print(problem.text(), file=sys.stderr)
    if args.rejects:
        write_rejects(result, args.rejects)
    print(result.summary())
    return 1 if result.problems and not args.skip_invalid else 0


def _existing_database(db: str | None) -> None:
    """Commands that only read refuse a SQLite file that is not there: opening it would create an empty
    database and print zeros as if they were the figures (issue 14)."""
    from sqlalchemy.engine import make_url

    from .db import default_url

    url = make_url(db or default_url())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():
        raise UsageError(f"Không có cơ sở dữ liệu «{url.database}»: kiểm tra --db, hoặc tạo bằng lệnh demo hay import.")


def cmd_stats(args) -> int:
    from .columnar import use_fast_path
    from .formatting import fmt_int
    from .stats import COUNT_KEYS, compute_stats

    _existing_database(args.db)
    use_fast_path(args.db, build=False)
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
    _existing_database(args.db)
    from .columnar import use_fast_path
    from .exports import write_docx, write_workbook
    from .reports import build_report, frozen_note

    use_fast_path(args.db, build=False)
    # One report object for both files; a frozen period prints its signed figures.
    report = build_report(args.db, args.period, args.mode, args.agency)
    note = frozen_note(report)
    if note:
        changed = f"; {len(report.diff)} chỉ tiêu đã thay đổi sau khi chốt." if report.diff else "."
        print(note + changed)
    for check in report.checks:
        print("CẢNH BÁO: " + check["message"], file=sys.stderr)
    if args.docx:
        for item in report.missing():  # left out of the draft: the officer enters them on the report page
            print("CHƯA NHẬP: " + item, file=sys.stderr)
    if args.out:
        write_workbook(report, args.out)
        print(f"Đã ghi {args.out}")
    if args.docx:
        write_docx(report, args.docx)
        print(f"Đã ghi {args.docx}")
    from .auth import audit

    audit(args.db, _cli_actor(), "export", args.agency,
          f"{args.period}: {', '.join(str(p.name) for p in (args.out, args.docx) if p)}")
    return 0


def cmd_profile(args) -> int:
    from .reports.cli import cmd_profile as run

    return run(args)


def cmd_index766(args) -> int:
    from .formatting import fmt_decimal, fmt_int, fmt_percent
    from .columnar import use_fast_path
    from .qd766 import SOURCE_LABELS, compute_index

    use_fast_path(args.db, build=False)  # as stats: a valid 766 sidecar is read, else SQL (same figures)
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


def cmd_rules766(args) -> int:
    from .formatting import fmt_decimal
    from .qd766 import rule_rows, set_grades, set_rule

    if args.rules_command == "set":
        set_rule(args.db, args.valid_from, args.indicator, args.max, args.threshold, by=_cli_actor())
        print(f"Đã ghi bảng điểm chỉ số {args.indicator} từ ngày {args.valid_from:%d/%m/%Y}.")
        return 0
    if args.rules_command == "grades":
        bands = []
        for band in args.band:
            label, sep, lowest = band.rpartition("=")
            if not sep:
                raise UsageError(f"Bậc «{band}» cần dạng TÊN=ĐIỂM, vd. «Tốt=70».")
            bands.append((label, lowest))
        set_grades(args.db, args.valid_from, bands, by=_cli_actor())
        print(f"Đã ghi {len(bands)} bậc xếp loại từ ngày {args.valid_from:%d/%m/%Y}.")
        return 0
    _existing_database(args.db)
    table = rule_rows(args.db, args.at)
    if args.json:
        print(json.dumps(table, ensure_ascii=False, default=_json_default, indent=2))
        return 0
    print(f"Bảng điểm Chỉ số 766 có hiệu lực ngày {table['at']:%d/%m/%Y} (phiên bản {table['version']:%d/%m/%Y})")
    for row in table["rules"]:
        threshold = f"ngưỡng {fmt_decimal(row['threshold'])} %" if row["threshold"] else "tuyến tính"
        print(f"  {row['indicator']:5} {row['title'][:48]:48} {fmt_decimal(row['max']):>6} điểm  {threshold:16} "
              f"từ {row['valid_from']:%d/%m/%Y}")
    print(f"Tổng điểm tối đa: {fmt_decimal(table['total_max'])}"
          + ("" if table["total_max"] == 100 else " (CẢNH BÁO: khác 100)"))
    print("Xếp loại: " + ", ".join(f"{g['label']} từ {fmt_decimal(g['min'])}" for g in table["grades"]))
    return 0


def cmd_input766(args) -> int:
    from .qd766 import save_input

    save_input(args.db, args.period, args.indicator, args.numerator, args.denominator, agency=args.agency,
               mode=args.mode)
    print(f"Đã ghi số liệu {args.indicator} cho {args.agency or 'toàn tỉnh'}, kỳ {args.period}.")
    return 0


COMMANDS = {"demo": cmd_demo, "import": cmd_import, "stats": cmd_stats, "export": cmd_export, "bench": cmd_bench,
            "user": cmd_user, "sync": cmd_sync, "audit": cmd_audit, "profile": cmd_profile,
            "index766": cmd_index766, "input766": cmd_input766, "rules766": cmd_rules766, "digest": cmd_digest}


def main(argv: list[str] | None = None) -> int:
    from .auth import AccessDenied, AuthError
    from .reports import ReportError
    from .digest import DigestError
    from .qd766 import Qd766Error
    from .stats import StatsError

    try:
        parser = build_parser()
        args, rest = parser.parse_known_args(argv)
        args.rest = rest
        if args.rest and args.command != "bench":  # only the benchmark's own parser reads the rest
            parser.error(f"unrecognized arguments: {' '.join(args.rest)}")
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (PeriodError, StatsError, ReportError, AuthError, AccessDenied, Qd766Error, DigestError) as exc:
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
