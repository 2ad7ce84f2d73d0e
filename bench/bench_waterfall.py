"""Time the per-record waterfall pages of the worklists (``doisoat.report.waterfall.write_waterfall_page``).

N synthetic worklist rows with match weights (the columns the page reads), split into pages of ``--per-page`` rows
as the communes split them; prints the time, rows per second and the bytes written.

    .venv/bin/python bench/bench_waterfall.py 100000 [--per-page 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import polars as pl

from doisoat.report.waterfall import write_waterfall_page


def rows(n: int, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    weights = [
        json.dumps(
            {
                "prior": -11.12,
                "id": rng.choice([19.85, 14.67, -3.2, 0.0]),
                "name": rng.choice([10.83, 6.5, -2.5]),
                "birth": rng.choice([13.54, 3.25, -4.0]),
                "sex": rng.choice([1.0, -1.0]),
                "commune": rng.choice([5.83, 0.0, -0.5]),
                "phone": rng.choice([13.1, 0.0]),
            }
        )
        for _ in range(n)
    ]
    return pl.DataFrame(
        {
            "stt": range(1, n + 1),
            "ref_key": [f"20261204T013000-abc123/{i}" for i in range(n)],
            "main_reason": ["Họ tên khác CSDLQG"] * n,
            "match_basis": ["Trùng số định danh, ngày sinh; khác tên đệm"] * n,
            "weights": weights,
            "match_probability": [0.999] * n,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--per-page", type=int, default=1000)
    args = ap.parse_args()
    frame = rows(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for k, start in enumerate(range(0, args.n, args.per_page)):
            write_waterfall_page(Path(tmp) / f"{k}.html", frame.slice(start, args.per_page), "bench")
        took = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    print(
        f"{args.n} rows, {args.per_page} per page: {took:.2f} s, {args.n / took:,.0f} rows/s, {size / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
