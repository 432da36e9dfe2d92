"""A province's national sync file (DongBoHoSoMC, dvcqg-sync.md) for the benchmark, and its measurement.

``python -m bench.dvcqg_file generate --dossiers N --out FILE.json`` writes a deterministic bare array
of N dossier records as a TD-style one-stop system sends them: every scalar a string, times as
``yyyyMMddHHmmss``, nested lists (submitted files, fees, results, supplement rounds, identity papers,
national databases), about 1 KB a record, 30 agencies told apart by their MaHoSo prefix.

``python -m bench.dvcqg_file measure --dossiers N [--db URL]`` generates the file, imports it in a
child process of its own (wall time and that process's peak resident memory, VmHWM), then times the
quarter's II.06a in another new process (the SQL path, as after any import) and warm.

``python -m bench.dvcqg_file compare --dossiers N`` imports the same dossiers from the national JSON and,
exported again, from the canonical CSV, and times the quarter on both in turns.

``python -m bench.dvcqg_file flat`` imports files of two sizes in fresh processes and prints both
peaks: streaming keeps memory flat while the file grows.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AGENCIES = 30
FIELDS = ("Người có công", "Bảo trợ xã hội", "Việc làm", "Giáo dục nghề nghiệp", "Hộ tịch", "Chứng thực",
          "Đất đai", "Xây dựng", "Đăng ký kinh doanh", "Lý lịch tư pháp")
END = dt.datetime(2026, 6, 30)
YEARS = 3


def _time(moments: np.ndarray) -> list[str]:
    """datetime64[s] → yyyyMMddHHmmss text ('' for NaT)."""
    text = np.datetime_as_string(moments, unit="s")
    return ["" if t == "NaT" else t[0:4] + t[5:7] + t[8:10] + t[11:13] + t[14:16] + t[17:19] for t in text]


def generate(n: int, out: Path, seed: int = 20220614) -> int:
    """Write ``n`` records to ``out``; returns the file's size in bytes."""
    rng = np.random.default_rng(seed)
    block = 100_000
    start = np.datetime64(END - dt.timedelta(days=365 * YEARS), "s")
    span = int((np.datetime64(END, "s") - start) / np.timedelta64(1, "s"))
    written = 0
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("[\n")
        for first in range(0, n, block):
            size = min(block, n - first)
            received = start + np.sort(rng.integers(0, span, size)).astype("timedelta64[s]")
            days = rng.choice([3, 5, 7, 10, 15, 20, 30], size)
            due = received + (days * 86400 * 1.4).astype("timedelta64[s]")
            lag = (rng.gamma(2.0, days * 0.45) * 86400).astype("timedelta64[s]")
            end = received + lag
            open_ = end > np.datetime64(END, "s")
            status = np.where(open_, rng.choice(["2", "4", "5"], size, p=[0.2, 0.7, 0.1]),
                              rng.choice(["10", "9", "7", "8", "3", "1"], size,
                                         p=[0.8, 0.16, 0.02, 0.005, 0.01, 0.005]))
            ended = np.isin(status, ["10", "9", "7", "8"])
            end_text = _time(np.where(ended, end, np.datetime64("NaT")))
            returned = _time(np.where(status == "10", end + np.timedelta64(3600, "s"), np.datetime64("NaT")))
            refused = _time(np.where(status == "3", received + np.timedelta64(7200, "s"), np.datetime64("NaT")))
            received_text, due_text = _time(received), _time(due)
            agency = rng.integers(0, AGENCIES, size)
            procedure = rng.integers(0, 20, size)
            channel = rng.choice(["1", "2", "3"], size, p=[0.5, 0.45, 0.05])
            files = rng.integers(0, 4, size)
            fee = rng.random(size) < 0.3
            result = ended & (rng.random(size) < 0.4)
            rounds = rng.random(size) < 0.08
            lines = []
            for i in range(size):
                number = first + i
                code = f"000.00.{agency[i]:02d}.H47-{received_text[i][2:8]}-{number % 100000:05d}{number // 100000:03d}"
                pieces = [
                    f'{{"MaHoSo":"{code}","MaTTHC":"1.{agency[i]:02d}{procedure[i]:04d}",'
                    f'"TenTTHC":"Thủ tục số {procedure[i] + 1} của cơ quan {agency[i] + 1}",'
                    f'"MaLinhVuc":"LV{(agency[i] + procedure[i]) % 10}","TenLinhVuc":"{FIELDS[(agency[i] + procedure[i]) % 10]}",'
                    f'"KenhThucHien":"{channel[i]}","SoGiayToChuHoSo":"0200{number:08d}","ChuHoSo":"Nguyễn Văn {number}",'
                    f'"LoaiDoiTuong":"{1 + number % 4 // 3}","MaDoiTuong":null,"ThongTinKhac":"","Email":"","Fax":"",'
                    f'"SoDienThoai":"09{number:08d}","TrichYeuHoSo":"Đề nghị giải quyết thủ tục hành chính (hồ sơ tổng hợp)",'
                    f'"NgayTiepNhan":"{received_text[i]}","NgayHenTra":"{due_text[i]}","TrangThaiHoSo":"{status[i]}",'
                    f'"NgayTra":"{returned[i]}","ThongTinTra":"","HinhThuc":"{int(channel[i] == "3")}",'
                    f'"NgayKetThucXuLy":"{end_text[i]}","DonViXuLy":"Cơ quan số {agency[i] + 1}","GhiChu":"",',
                    '"TaiLieuNop":[' + ",".join(
                        f'{{"TepDinhKemId":"{number}-{k}","TenTepDinhKem":"Thanh_phan_{k}.pdf","IsDeleted":"0",'
                        f'"MaThanhPhanHoSo":"TP-0{k}","DuongDanTaiTepTin":"https://dvc.example.invalid/f/{number}/{k}.pdf",'
                        f'"DuocSoHoa":"1","DuocTaiSuDung":"{k % 2}","DuocLayTuKhoDMQG":"0","MaKetQuaThayThe":""}}'
                        for k in range(files[i])) + "],",
                    '"DanhSachLePhi":[' + ('{"TenPhiLePhi":"Lệ phí","MaPhiLePhi":"1","HinhThucThu":"1","Gia":"50000",'
                                           '"LoaiPhiLePhi":"1"}' if fee[i] else "") + "],",
                    '"DanhSachTepDinhKemKhac":[],',
                    '"DanhSachHoSoBoSung":[' + (
                        f'{{"HoSoBoSungId":1,"NguoiYeuCauBoSung":"Chuyên viên","NoiDungBoSung":"Bổ sung giấy tờ",'
                        f'"NgayBoSung":"{received_text[i]}","NguoiTiepNhanBoSung":"","ThongTinTiepNhan":"",'
                        f'"NgayTiepNhanBoSung":"","TrangThaiBoSung":false,"DanhSachGiayToBoSung":[],'
                        f'"DanhSachLePhiBoSung":[],"NgayHenTraTruoc":"{due_text[i]}","NgayHenTraMoi":""}}'
                        if rounds[i] else "") + "],",
                    '"DanhSachGiayToKetQua":[' + (
                        f'{{"TenGiayTo":"Ket_qua.pdf","MaThanhPhanHoSo":"","GiayToId":"{number}",'
                        f'"DuongDanTepTinKetQua":"https://dvc.example.invalid/kq/{number}.pdf","MaGiayToKetQua":"KQ-1"}}'
                        if result[i] else "") + "],",
                    f'"NoiNopHoSo":"{1 if channel[i] == "2" and number % 3 == 0 else 2}",'
                    f'"HoSoCoThanhPhanSoHoa":"{int(files[i] > 0)}","TaiKhoanDuocXacThucVoiVNeID":"{int(channel[i] == "2")}",'
                    f'"DuocThanhToanTrucTuyen":"{int(fee[i] and channel[i] == "2")}","NgayTuChoi":"{refused[i]}",'
                    f'"DinhDanhCHS":[{{"LoaiDinhDanh":"1","SoDinhDanh":"0200{number:08d}"}}],'
                    f'"NgayNopHoSo":"{received_text[i]}","DSKetNoiCSDL":[{{"MaCSDL":"7"}}]}}',
                ]
                lines.append("".join(pieces))
            handle.write((",\n" if first else "") + ",\n".join(lines))
            written += size
        handle.write("\n]\n")
    return out.stat().st_size


# What a child process runs: one import, then its own peak memory (VmHWM: the high-water mark of this
# process alone, not getrusage's, which Linux carries over from the parent across exec).
# A large national file is read by a process of the import's own (importer/dvcqg.py PARALLEL_FROM): its
# peak (getrusage of the children, which are waited for) counts too, as do its CPU seconds.
_IMPORT = """
import json, resource, sys, time
from tthc_core.importer import import_file
started, cpu = time.perf_counter(), time.process_time()
result = import_file(sys.argv[1], sys.argv[2])
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
own = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "cpu_s": cpu + children.ru_utime + children.ru_stime,
                  "peak_mb": own + children.ru_maxrss / 1024, "own_peak_mb": own,
                  "reader_peak_mb": children.ru_maxrss / 1024, "written": result.written, "rows": result.rows_valid,
                  "problems": [p.text() for p in result.problems[:5]], "summary": result.summary()[:300]}))
"""

_STATS = """
import json, sys, time
from tthc_core import compute_stats
started = time.perf_counter()
compute_stats(sys.argv[1], sys.argv[2], by="field")
sql = time.perf_counter() - started
warm = []
for _ in range(5):
    started = time.perf_counter()
    compute_stats(sys.argv[1], sys.argv[2], by="field")
    warm.append(time.perf_counter() - started)
print(json.dumps({"sql_path_s": sql, "warm_s": sorted(warm)[2]}))
"""


def _child(script: str, *args: str) -> dict:
    run = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        raise SystemExit(run.stderr[-2000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def measure(n: int, db: str | None, folder: Path, quarter: str = "2026-Q2") -> dict:
    path = folder / "dong-bo-ho-so.json"
    started = time.perf_counter()
    size = generate(n, path)
    generated = time.perf_counter() - started
    url = db or f"sqlite:///{folder / 'tthc.db'}"
    imported = _child(_IMPORT, url, str(path))
    stats = _child(_STATS, url, quarter)
    return {"dossiers": n, "file_mb": size / 2**20, "generate_s": generated, "import": imported,
            "quarter": quarter, "stats": stats, "load": os.getloadavg()}


def _as_csv(url: str, out: Path) -> None:
    """The dossiers of a database as the canonical CSV (with the source status, so never-accepted and
    stopped records stay what they are): the same rows, imported the CSV way."""
    import pandas as pd
    from sqlalchemy import text

    from tthc_core.db import get_engine

    query = text("""SELECT d.code, a.code AS agency_code, p.code AS procedure_code, p.name AS procedure_name,
                           f.name AS field, d.channel, d.status, d.received_at, d.due_at, d.resolved_at,
                           d.source_status AS "Mã trạng thái"
                    FROM dossiers d JOIN agencies a ON a.id = d.agency_id
                    LEFT JOIN procedures p ON p.id = d.procedure_id LEFT JOIN fields f ON f.id = d.field_id""")
    with get_engine(url).connect() as conn:
        frame = pd.read_sql(query, conn)
    for column in ("received_at", "due_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    frame.to_csv(out, index=False)


def compare(n: int, folder: Path, quarter: str = "2026-Q2", rounds: int = 3) -> dict:
    """The quarter from the same dossiers imported from the national JSON and from CSV, timed in turns
    (each a new process: the SQL path, then the warm median), so both see the same machine load."""
    path = folder / "dong-bo-ho-so.json"
    generate(n, path)
    urls = {"json": f"sqlite:///{folder / 'json.db'}", "csv": f"sqlite:///{folder / 'csv.db'}"}
    imports = {"json": _child(_IMPORT, urls["json"], str(path))}
    _as_csv(urls["json"], folder / "ho-so.csv")
    imports["csv"] = _child(_IMPORT, urls["csv"], str(folder / "ho-so.csv"))
    timings: dict[str, list] = {"json": [], "csv": []}
    for _ in range(rounds):
        for name, url in urls.items():
            timings[name].append(_child(_STATS, url, quarter))
    median = {name: {k: sorted(t[k] for t in runs)[len(runs) // 2] for k in runs[0]}
              for name, runs in timings.items()}
    return {"dossiers": n, "imports": {k: {"seconds": v["seconds"], "cpu_s": v["cpu_s"], "peak_mb": v["peak_mb"],
                                           "rows": v["rows"]} for k, v in imports.items()},
            "quarter": quarter, "stats_median": median, "load": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dvcqg_file")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--dossiers", type=int, default=2_000_000)
    gen.add_argument("--out", type=Path, required=True)
    mea = sub.add_parser("measure")
    mea.add_argument("--dossiers", type=int, default=2_000_000)
    mea.add_argument("--db")
    mea.add_argument("--folder", type=Path)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("--dossiers", type=int, default=200_000)
    flat = sub.add_parser("flat")
    flat.add_argument("--sizes", type=int, nargs=2, default=(50_000, 400_000))
    args = parser.parse_args(argv)
    if args.command == "generate":
        print(f"{generate(args.dossiers, args.out) / 2**20:,.0f} MB")
        return 0
    with tempfile.TemporaryDirectory(dir=args.folder if args.command == "measure" else None) as folder:
        if args.command == "measure":
            print(json.dumps(measure(args.dossiers, args.db, Path(folder)), indent=2))
        elif args.command == "compare":
            print(json.dumps(compare(args.dossiers, Path(folder)), indent=2))
        else:
            for n in args.sizes:
                path = Path(folder) / f"{n}.json"
                size = generate(n, path)
                result = _child(_IMPORT, f"sqlite:///{folder}/{n}.db", str(path))
                print(json.dumps({"dossiers": n, "file_mb": round(size / 2**20), "peak_mb": round(result["peak_mb"]),
                                  "seconds": round(result["seconds"], 1), "cpu_s": round(result["cpu_s"], 1),
                                  "written": result["written"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
