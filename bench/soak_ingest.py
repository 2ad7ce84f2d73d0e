"""Soak ingest with mutants of the bundled sample (issue 18): no exception, a clear message or every row.

    .venv/bin/python bench/soak_ingest.py --mutants 1000 --seed 18

Each mutant (tests/ingest_mutants.py: byte flips, truncations, inserted separators / quotes / NUL / CR,
deletions, repeats, re-encodings, another suffix) is ingested in batches of 1 000 rows and checked with
``check_result``. Prints the outcomes (used, or the error code), the rows accounted for, the time per mutant,
and every failure with the mutant that caused it (to replay: ``--replay "<repr>"``). Exit status 1 on any
failure.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from ingest_mutants import Mutant, check_result, random_mutant, write  # noqa: E402

from doisoat.ingest import ingest_file  # noqa: E402
from schemas import load_sector  # noqa: E402


def soak(n: int, seed: int, batch_rows: int = 1000) -> int:
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    failures: list[tuple[Mutant, str]] = []
    rows = rows_rejected = 0
    times: list[float] = []
    slowest: tuple[float, Mutant | None] = (0.0, None)
    with tempfile.TemporaryDirectory(prefix="doisoat-soak-") as folder:
        for k in range(n):
            mutant = random_mutant(rng)
            path = write(mutant, Path(folder))
            t0 = time.perf_counter()
            try:
                res = ingest_file(path, load_sector(mutant.sector), batch_rows=batch_rows)
                outcome = check_result(res, path)
                rows += res.n_input_rows
                rows_rejected += res.n_rejected_rows
            except Exception:  # a failure of the property or an exception that escaped: both are bugs
                outcome = "FAILED"
                failures.append((mutant, traceback.format_exc(limit=3)))
            times.append(time.perf_counter() - t0)
            slowest = max(slowest, (times[-1], mutant), key=lambda t: t[0])
            outcomes[outcome] += 1
            path.unlink(missing_ok=True)
            if (k + 1) % 100 == 0:
                print(f"{k + 1} mutants, {len(failures)} failures", file=sys.stderr)
    times.sort()
    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print(f"mutants: {n} (seed {seed}), failures: {len(failures)}")
    print(f"used: {outcomes['ok']}, rejected: {n - outcomes['ok'] - outcomes['FAILED']}")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    print(f"rows accounted for: {rows} (of which in rejected files: {rows_rejected})")
    print(
        f"time per mutant: median {times[len(times) // 2] * 1000:.0f} ms, "
        f"p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms, "
        f"total {sum(times):.1f} s"
    )
    print(f"slowest: {slowest[1]!r} ({slowest[0] * 1000:.0f} ms)")
    for mutant, tb in failures[:20]:
        print(f"\nFAILED {mutant!r}\n{tb}")
    return 1 if failures else 0


def replay(text: str) -> int:
    mutant = eval(text, {"Mutant": Mutant})  # a repr printed by this script
    with tempfile.TemporaryDirectory() as folder:
        path = write(mutant, Path(folder))
        res = ingest_file(path, load_sector(mutant.sector), batch_rows=1000)
        print(check_result(res, path), res.n_input_rows, [(m.severity, m.code) for m in res.messages])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--replay", help="a Mutant(...) repr from a failure")
    args = ap.parse_args()
    return replay(args.replay) if args.replay else soak(args.mutants, args.seed)


if __name__ == "__main__":
    sys.exit(main())
