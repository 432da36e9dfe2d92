"""``python -m bench [--db URL] [--dossiers N] …``: the benchmark's command line (also reached as
``python -m tthc_core bench``). Same conventions as the product's CLI: one Vietnamese line on stderr
and exit status 2 for usage errors, never a traceback."""
from __future__ import annotations

import sys
from pathlib import Path

from tthc_core.__main__ import UsageError, _Parser

from .synthetic import SHAPES


def build_parser() -> _Parser:
    parser = _Parser(prog="python -m bench",
                     description="Đo tốc độ trên một tỉnh tổng hợp. Mặc định chạy trên SQLite trong thư mục tạm; "
                                 "với --db, bench xóa và tạo lại các bảng TTHC ở đó, nên chỉ dùng một cơ sở dữ liệu "
                                 "trống dành riêng (nó từ chối một CSDL đã có hồ sơ).")
    parser.add_argument("--db", help="SQLAlchemy URL của CSDL dành riêng cho bench (mặc định: SQLite tạm)")
    parser.add_argument("--dossiers", type=int, default=2_000_000, help="số hồ sơ của lịch sử 3 năm")
    parser.add_argument("--runs", type=int, default=5, help="số lần đo để lấy trung vị")
    parser.add_argument("--long-years", type=int, default=10, help="lịch sử dài để so sánh (0: bỏ qua)")
    parser.add_argument("--out", type=Path, help="tệp kết quả (mặc định bench/results.md)")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="province",
                        help="hình dạng dữ liệu: province (mặc định) hoặc long-open (5 %% hồ sơ không bao giờ kết thúc "
                             "trải khắp lịch sử, một đuôi dài hồ sơ trễ rất lâu)")
    parser.add_argument("--note", default="", help="ghi chú in cạnh kết quả (ví dụ: máy đang chạy việc khác)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from .run import BenchRefused, run

    try:
        args = build_parser().parse_args(argv)
        if args.dossiers < 1000 or args.runs < 1:
            raise UsageError("--dossiers phải từ 1000 và --runs từ 1.")
        run(args.db, dossiers=args.dossiers, runs=args.runs, long_years=args.long_years, out=args.out,
            log=lambda line: print(line, flush=True), shape=args.shape, note=args.note)
    except (UsageError, BenchRefused) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
