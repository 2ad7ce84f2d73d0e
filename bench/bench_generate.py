"""Time the synthetic province generator at a given size.

Usage: .venv/bin/python bench/bench_generate.py PEOPLE [--seed S] [--out DIR]
Prints people, sector rows, seconds and rows per second; the output folder is removed unless --out is given.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sample_data.generator import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("people", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_generate_"))
    t0 = time.perf_counter()
    m = generate(out, people=args.people, seed=args.seed)
    dt = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"people={args.people} sector_rows={m['rows_total']} rows={m['rows']} seconds={dt:.1f} "
        f"rows_per_s={m['rows_total'] / dt:,.0f} bytes={size:,}"
    )
    for note in m["notes"]:
        print("note:", note)
    if args.out is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
