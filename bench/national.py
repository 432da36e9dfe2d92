"""The national JSON path as a step of ``python -m bench`` (issue 10's speed and memory targets).

``step(dossiers, folder, log)`` writes a ``DongBoHoSoMC`` file of N dossiers with nested lists
(:mod:`bench.dvcqg_file`), imports it into a fresh SQLite database in a child process of its own (wall
time, CPU time and peak resident memory, the reader process it starts for a large file included), exports the same dossiers as the canonical CSV
and imports that into another database, then times the quarter's II.06a on both in turns, each call in a
new process (the SQL path, as after any import) and warm. It returns the figures with each target
beside its measurement and whether it was met. ``python -m bench.national --dossiers N`` runs it alone.

Targets (issue 10): 2.000.000 dossiers import in under 60 s (so at least 33.334 rows/s at any N), peak
memory under 1,5 GB, and the quarter from the JSON-imported data as fast as from the CSV-imported data
(within 10 %: two runs of the same query on the same machine differ by that much).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .dvcqg_file import _IMPORT, _STATS, _as_csv, _child, generate

QUARTER = "2026-Q2"  # the last full report quarter of the generated file (it ends on 30/06/2026)
TARGET_ROWS_PER_S = 2_000_000 / 60
TARGET_PEAK_MB = 1536
SAME_SPEED = 1.10


def step(dossiers: int, folder: Path, log: Callable[[str], None] = print, rounds: int = 3) -> dict[str, Any]:
    """Measure the national JSON import and the quarter after it; see the module's docstring."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dong-bo-ho-so.json"
    log(f"JSON quốc gia (DongBoHoSoMC), {dossiers:,} hồ sơ: tạo tệp và nhập…")
    started = time.perf_counter()
    size = generate(dossiers, path)
    generated = time.perf_counter() - started
    urls = {"json": f"sqlite:///{folder / 'json.db'}", "csv": f"sqlite:///{folder / 'csv.db'}"}
    imported = _child(_IMPORT, urls["json"], str(path))
    path.unlink()  # gigabytes: not kept beside the databases
    if not imported["written"] or imported["rows"] != dossiers:
        raise RuntimeError(f"the national import wrote nothing: {imported['problems'] or imported['summary']}")
    _as_csv(urls["json"], folder / "ho-so.csv")
    csv_import = _child(_IMPORT, urls["csv"], str(folder / "ho-so.csv"))
    (folder / "ho-so.csv").unlink()
    timings: dict[str, list[dict[str, float]]] = {"json": [], "csv": []}
    for _ in range(rounds):  # in turns, so both see the same load
        for name, url in urls.items():
            timings[name].append(_child(_STATS, url, QUARTER))
    median = {name: {key: statistics.median(t[key] for t in runs) for key in runs[0]}
              for name, runs in timings.items()}
    rows_per_s = dossiers / imported["seconds"]
    out = {
        "dossiers": dossiers, "file_mb": size / 2**20, "generate_s": generated,
        "import_s": imported["seconds"], "import_cpu_s": imported["cpu_s"], "rows_per_s": rows_per_s,
        "peak_mb": imported["peak_mb"], "own_peak_mb": imported["own_peak_mb"],
        "reader_peak_mb": imported["reader_peak_mb"], "csv_import_s": csv_import["seconds"], "quarter": QUARTER,
        "quarter_sql_json_s": median["json"]["sql_path_s"], "quarter_sql_csv_s": median["csv"]["sql_path_s"],
        "quarter_warm_json_s": median["json"]["warm_s"], "quarter_warm_csv_s": median["csv"]["warm_s"],
        "load": os.getloadavg(),
    }
    out["met"] = {
        "import_rows_per_s": rows_per_s >= TARGET_ROWS_PER_S,
        "import_2m_under_60_s": (dossiers / rows_per_s <= 60) if dossiers >= 2_000_000 else None,
        "peak_memory": imported["peak_mb"] < TARGET_PEAK_MB,
        "quarter_sql_as_fast_as_csv": out["quarter_sql_json_s"] <= SAME_SPEED * out["quarter_sql_csv_s"],
        "quarter_warm_as_fast_as_csv": out["quarter_warm_json_s"] <= SAME_SPEED * out["quarter_warm_csv_s"],
    }
    for line in lines(out):
        log("  " + line)
    return out


def lines(r: dict[str, Any]) -> list[str]:
    """The figures as ``measure: result (target) met``, one a line (the bench's log and results)."""
    def met(key: str) -> str:
        value = r["met"][key]
        return "—" if value is None else ("đạt" if value else "KHÔNG ĐẠT")

    n = r["dossiers"]
    return [
        f"nhập JSON: {r['rows_per_s']:,.0f} dòng/giây ({r['import_s']:.1f} s, CPU {r['import_cpu_s']:.1f} s, tệp "
        f"{r['file_mb']:,.0f} MB) — mục tiêu ≥ {TARGET_ROWS_PER_S:,.0f} dòng/giây (2.000.000 trong 60 s): "
        f"{met('import_rows_per_s')}" + ("" if n < 2_000_000 else f"; 2.000.000 dưới 60 s: {met('import_2m_under_60_s')}"),
        f"bộ nhớ đỉnh của việc nhập: {r['peak_mb']:,.0f} MB (tiến trình ghi {r['own_peak_mb']:,.0f} MB + tiến trình "
        f"đọc {r['reader_peak_mb']:,.0f} MB) — mục tiêu < 1.536 MB: {met('peak_memory')}",
        f"quý {r['quarter']}, lần đầu (SQL): JSON {r['quarter_sql_json_s'] * 1000:,.0f} ms, CSV "
        f"{r['quarter_sql_csv_s'] * 1000:,.0f} ms — mục tiêu JSON ≤ 1,1 × CSV: {met('quarter_sql_as_fast_as_csv')}",
        f"quý {r['quarter']}, lặp lại: JSON {r['quarter_warm_json_s'] * 1000:,.0f} ms, CSV "
        f"{r['quarter_warm_csv_s'] * 1000:,.0f} ms — mục tiêu JSON ≤ 1,1 × CSV: {met('quarter_warm_as_fast_as_csv')}",
        f"tải máy khi đo (1/5/15 phút): {', '.join(f'{x:.1f}' for x in r['load'])}",
    ]


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """The results table's rows (measure, result, target, met) of a bench run that measured this step."""
    x = r.get("national")
    if not x:
        return []
    met = x["met"]
    return [
        (f"national JSON (DongBoHoSoMC) import, nested lists, {x['dossiers']:,} dossiers (one run; file "
         f"{x['file_mb']:,.0f} MB, CPU {x['import_cpu_s']:.0f} s)",
         f"{x['rows_per_s']:,.0f} rows/s ({x['import_s']:.1f} s)", "2.000.000 in < 60 s (≥ 33,334 rows/s)",
         met["import_rows_per_s"]),
        ("national JSON import, peak memory (writer + reader process)",
         f"{x['peak_mb']:,.0f} MB ({x['own_peak_mb']:,.0f} + {x['reader_peak_mb']:,.0f})", "< 1,5 GB",
         met["peak_memory"]),
        (f"quarter {x['quarter']} from the JSON-imported / CSV-imported dossiers, first call (SQL path)",
         f"{x['quarter_sql_json_s'] * 1000:,.0f} ms / {x['quarter_sql_csv_s'] * 1000:,.0f} ms", "JSON ≤ 1,1 × CSV",
         met["quarter_sql_as_fast_as_csv"]),
        (f"quarter {x['quarter']} from the JSON-imported / CSV-imported dossiers, warm",
         f"{x['quarter_warm_json_s'] * 1000:,.0f} ms / {x['quarter_warm_csv_s'] * 1000:,.0f} ms", "JSON ≤ 1,1 × CSV",
         met["quarter_warm_as_fast_as_csv"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.national")
    parser.add_argument("--dossiers", type=int, default=2_000_000)
    parser.add_argument("--folder", type=Path, help="thư mục tạm (mặc định: thư mục tạm của hệ thống)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        result = step(args.dossiers, Path(folder))
    print(json.dumps(result, indent=2))
    return 0 if all(v is not False for v in result["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
