"""Ingest throughput and peak memory: ``python bench/bench_ingest.py N [--formats csv,xlsx,cp1258]``.

Writes an N-row vaccination extract (synthetic, deterministic) and ingests it in a fresh subprocess per
format, reporting rows/s and the subprocess's peak RSS (``resource.getrusage``), so each number is one
file's cost alone.
"""

from __future__ import annotations

import argparse
import json
import resource
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
    if fmt == "csv":
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
    else:
        path = folder / "tiem.xlsx"
        frame.write_excel(path, worksheet="DanhSach")
    return path


def measure(path: Path) -> dict:
    """Ingest in this process and report time and peak RSS (called in a fresh subprocess)."""
    from doisoat.ingest import ingest_file
    from schemas import load_sector

    t0 = time.perf_counter()
    res = ingest_file(path, load_sector("vaccination"))
    secs = time.perf_counter() - t0
    assert res.ok, res.errors
    assert res.n_input_rows == res.records.height + res.quarantine.height
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": res.n_input_rows,
        "seconds": round(secs, 2),
        "rows_per_s": round(res.n_input_rows / secs),
        "peak_rss_mb": round(peak_mb),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--formats", default="csv,xlsx")
    ap.add_argument(
        "--xlsx-max", type=int, default=200_000, help="XLSX is written with at most this many rows"
    )
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        for fmt in args.formats.split(","):
            n = min(args.n, args.xlsx_max) if fmt == "xlsx" else args.n
            path = write(make_frame(n), fmt, Path(tmp))
            out = subprocess.run(
                [sys.executable, __file__, str(n), "--measure", str(path)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            print(json.dumps({"format": fmt, **json.loads(out.stdout.strip().splitlines()[-1])}), flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
