"""Ingest throughput and peak memory as files grow: ``python bench/bench_ingest.py [N …] [--formats …]``.

For each size N (default 250 000, 500 000, 1 000 000, and 2 000 000 for CSV only) and format (UTF-8 CSV,
Windows-1258 CSV, XLSX, Parquet) writes an N-row vaccination extract (synthetic, deterministic) and ingests
it in a fresh subprocess as the pipeline does (batches written to a sink folder as Parquet parts; ``--no-sink``
keeps the frames in memory instead), reporting rows/s and the subprocess's own peak RSS (VmHWM), so each
number is one file's cost alone. Prints one JSON line per file, then a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent


def make_frame(n: int) -> pl.DataFrame:
    """N synthetic dose rows with the headers a commune clerk's export has."""
    i = pl.col("i")
    return pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).select(
        (i + 1).cast(pl.String).alias("STT"),
        (pl.lit("Nguyễn Thị ") + pl.lit(pl.Series(["Hoà", "Lan", "Đức", "Bình"])).gather(i % 4)).alias(
            "Họ và tên"
        ),
        (
            ((i % 28) + 1).cast(pl.String).str.zfill(2)
            + "/"
            + ((i % 12) + 1).cast(pl.String).str.zfill(2)
            + "/"
            + (1940 + i % 80).cast(pl.String)
        ).alias("Ngày sinh"),
        pl.lit(pl.Series(["Nam", "Nữ"])).gather(i % 2).alias("Giới tính"),
        (pl.lit("0491") + (i % 100_000_000).cast(pl.String).str.zfill(8)).alias("Số định danh"),
        pl.lit(pl.Series(["Sởi", "Viêm gan B", "5 trong 1"])).gather(i % 3).alias("Tên vắc xin"),
        ((i % 3) + 1).cast(pl.String).alias("Mũi thứ"),
        pl.lit("02/01/2024").alias("Ngày tiêm"),
        pl.lit("20695").alias("Mã xã"),
        (pl.lit("09") + (i % 100_000_000).cast(pl.String).str.zfill(8)).alias("Số điện thoại"),
    )


def write(frame: pl.DataFrame, fmt: str, folder: Path) -> Path:
    if fmt == "parquet":
        path = folder / "tiem.parquet"
        frame.write_parquet(path)
    elif fmt == "csv":
        path = folder / "tiem.csv"
        frame.write_csv(path)
    elif fmt == "cp1258":
        path = folder / "tiem_cp1258.csv"
        utf8 = folder / "tmp.csv"
        frame.write_csv(utf8)
        sys.path.insert(0, str(ROOT / "tests"))
        from test_ingest_readers import to_cp1258  # the same Windows-1258 writer the tests use

        with open(utf8, encoding="utf-8") as src, open(path, "wb") as dst:
            for line in src:
                dst.write(to_cp1258(line))
        utf8.unlink()
    else:  # polars' write_excel (xlsxwriter, cell by cell) takes minutes at 1M rows; fastxlsx seconds
        from doisoat.report.fastxlsx import Sheet, write_workbook

        path = write_workbook(
            folder / "tiem.xlsx", [Sheet("DanhSach", frame.columns, frame)], {}, {"bold": True}
        )
    return path


def measure(path: Path, sink: bool) -> dict:
    """Ingest in this process and report time and peak RSS (called in a fresh subprocess)."""
    from doisoat.ingest import ingest_file
    from schemas import load_sector

    with tempfile.TemporaryDirectory(prefix="bench_sink_") as folder:
        t0 = time.perf_counter()
        kw = {"sink": Path(folder)} if sink else {}  # no keyword at all: also runs against older code
        res = ingest_file(path, load_sector("vaccination"), **kw)
        secs = time.perf_counter() - t0
        assert res.ok, res.errors
        kept = pl.scan_parquet(res.record_parts).select(pl.len()).collect().item() if sink else 0
        assert res.n_input_rows == kept + res.records.height + res.n_quarantined
    peak_mb = peak_rss_mb()
    return {
        "rows": res.n_input_rows,
        "seconds": round(secs, 2),
        "rows_per_s": round(res.n_input_rows / secs),
        "peak_rss_mb": round(peak_mb),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ``ru_maxrss``: Linux carries that over from the parent across
    fork + exec, so a child started by a parent holding the generated frame reported the parent's size."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


LABELS = {"csv": "CSV UTF-8", "cp1258": "CSV Windows-1258", "xlsx": "XLSX", "parquet": "Parquet"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", type=int, nargs="*", default=[250_000, 500_000, 1_000_000, 2_000_000])
    ap.add_argument("--formats", default="csv,cp1258,xlsx,parquet")
    ap.add_argument("--only-csv-above", type=int, default=1_000_000, help="larger sizes: UTF-8 CSV only")
    ap.add_argument(
        "--no-sink", action="store_true", help="keep the frames in memory (the pre-sink behaviour)"
    )
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure), not args.no_sink)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        for n in args.sizes:
            frame = make_frame(n)
            for fmt in args.formats.split(","):
                if n > args.only_csv_above and fmt != "csv":
                    continue
                path = write(frame, fmt, Path(tmp))
                cmd = [sys.executable, __file__, "--measure", str(path)] + (
                    ["--no-sink"] if args.no_sink else []
                )
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
                row = {"format": fmt, **json.loads(out.stdout.strip().splitlines()[-1])}
                print(json.dumps(row), flush=True)
                rows.append(row)
                path.unlink()
            del frame
    print("\n| format | rows | file | seconds | rows/s | peak RSS |\n|---|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: (list(LABELS).index(r["format"]), r["rows"])):
        print(
            f"| {LABELS[r['format']]} | {_vi(r['rows'])} | {_vi(r['file_mb'], 1)} MB | {_vi(r['seconds'], 2)} | "
            f"{_vi(r['rows_per_s'])} | {_vi(r['peak_rss_mb'])} MB |"
        )


def _vi(x: float, decimals: int = 0) -> str:
    """Vietnamese number format (1.234.567,89), as the rest of RESULTS.md."""
    return f"{x:,.{decimals}f}".translate(str.maketrans(",.", ".,"))


if __name__ == "__main__":
    main()
