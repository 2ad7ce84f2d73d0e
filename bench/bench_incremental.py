"""Incremental night benchmark: a full night, then 1 % of the sector rows changed, then the incremental night.

    .venv/bin/python bench/bench_incremental.py --people 100000 [--seed 1] [--change 0.01] [--verify]
        [--data DIR] [--work /tmp/inc-bench]

Each night runs in its own subprocess (in-process pipeline, no Prefect), so its peak RSS (VmHWM) is its own. The
changed copies of the extracts are written under --work: of every sector's data lines, ``change``×0,4 are deleted,
×0,4 updated (the last cell of the line changed) and ×0,2 inserted (a line sent twice); Parquet rows likewise; an
XLSX extract (the generator's below 1.500.000 people) is sent again unchanged.
``--verify`` adds a third night, a full run with the first night's models (``--models-from``), and checks that its
results equal the incremental night's row for row. ``--data``: generated data to read (never written), e.g. the
cache /tmp/bp/p1500000-s1-default/data; otherwise generated into --work. Prints a Markdown block for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def night(args: argparse.Namespace) -> None:
    """One night in this process: JSON of step times, memory and the incremental plan on stdout's last line."""
    import doisoat  # noqa: F401  (first: polars' allocator)
    from doisoat import pipeline

    config = pipeline.RunConfig.from_dict(json.loads(args.night))
    timings: dict[str, float] = {}

    def timed(name, fn, *a, **kw):
        t = time.perf_counter()
        out = fn(*a, **kw)
        timings[name] = round(time.perf_counter() - t, 1)
        return out

    t = time.perf_counter()
    summary = pipeline.reconcile(config, step=timed)
    total = time.perf_counter() - t
    manifest = json.loads((summary.out_dir / "manifest.json").read_text(encoding="utf-8"))
    hwm = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    out = {
        "seconds": round(total, 1),
        "peak_gib": round(hwm / 2**20, 2),
        "steps": timings,
        "incremental": manifest["incremental"],
        "out_dir": str(summary.out_dir),
    }
    print(json.dumps(out))


def _run_night(config: dict, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--night", json.dumps(config)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"night failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def change_csv(src: Path, dst: Path, share: float, rng: random.Random) -> dict[str, int]:
    """Delete, update (last cell) and duplicate a share of the data lines (the generator writes one row a line)."""
    lines = src.read_bytes().split(b"\n")
    head, body = lines[0], [x for x in lines[1:] if x]
    n = len(body)
    picks = rng.sample(range(n), int(n * share))
    k1, k2 = int(len(picks) * 0.4), int(len(picks) * 0.8)
    delete, update, insert = set(picks[:k1]), set(picks[k1:k2]), set(picks[k2:])
    out = [head]
    for i, line in enumerate(body):
        if i in delete:
            continue
        if i in update:
            end = line.rstrip(b"\r")
            last = end[-1:]
            line = end[:-1] + (b"7" if last != b"7" else b"3") if last.isdigit() else end + b"9"
        out.append(line)
        if i in insert:
            out.append(line)
    dst.write_bytes(b"\n".join(out) + b"\n")
    return {"deleted": len(delete), "updated": len(update), "inserted": len(insert)}


def change_parquet(src: Path, dst: Path, share: float, rng: random.Random) -> dict[str, int]:
    import polars as pl

    df = pl.read_parquet(src).with_row_index("_i")
    n = df.height
    picks = rng.sample(range(n), int(n * share))
    k1, k2 = int(len(picks) * 0.4), int(len(picks) * 0.8)
    delete, update, insert = picks[:k1], picks[k1:k2], picks[k2:]
    last = [c for c in df.columns if df.schema[c] == pl.Utf8][-1]
    df = df.with_columns(
        pl.when(pl.col("_i").is_in(update))
        .then(pl.col(last).fill_null("") + "9")
        .otherwise(pl.col(last))
        .alias(last)
    )
    df = pl.concat([df.filter(~pl.col("_i").is_in(delete)), df.filter(pl.col("_i").is_in(insert))]).sort("_i")
    df.drop("_i").write_parquet(dst)
    return {"deleted": len(delete), "updated": len(update), "inserted": len(insert)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--change", type=float, default=0.01)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/inc-bench"))
    ap.add_argument("--verify", action="store_true")
    ap.add_argument("--night", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.night:
        return night(args)

    work = args.work.resolve() / f"p{args.people}-s{args.seed}"
    data = args.data.resolve() if args.data else work / "data"
    if not (data / "manifest.json").exists():
        sys.path.insert(0, str(ROOT))
        from sample_data.generator import generate

        generate(data, people=args.people, seed=args.seed)
    manifest = json.loads((data / "manifest.json").read_text())
    for d in ("home", "runs", "changed"):
        shutil.rmtree(work / d, ignore_errors=True)
    env = {**os.environ, "DOISOAT_HOME": str(work / "home"), "PYTHONPATH": str(ROOT)}

    def config(folder: Path, **kw) -> dict:
        return {
            "reference": str(data / manifest["reference"]),
            "extracts": [
                {"sector": s, "path": str(folder / f), "sheet": None} for s, f in manifest["extracts"].items()
            ],
            "out_dir": str(work / "runs"),
            "db_path": str(work / "home" / "doisoat.duckdb"),
            **kw,
        }

    first = _run_night(config(data), env)
    changed = work / "changed"
    changed.mkdir(parents=True)
    rng = random.Random(args.seed)
    edits = {}
    for sector, name in manifest["extracts"].items():
        if name.endswith(
            ".xlsx"
        ):  # the generator's workbook is not rewritten: the sector is sent again unchanged
            shutil.copyfile(data / name, changed / name)
            edits[sector] = {"deleted": 0, "updated": 0, "inserted": 0}
            continue
        fn = change_parquet if name.endswith(".parquet") else change_csv
        edits[sector] = fn(data / name, changed / name, args.change, rng)
    second = _run_night(config(changed), env)
    third = _run_night(config(changed, models_from=first["out_dir"]), env) if args.verify else None
    equal = None
    if third:
        import polars as pl
        from polars.testing import assert_frame_equal

        key = ["sector", "source_file", "source_sheet", "source_row"]
        a, b = (
            pl.read_parquet(Path(n["out_dir"]) / "results.parquet").drop("run_id").sort(key, nulls_last=True)
            for n in (second, third)
        )
        assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
        equal = a.height

    rows = sum(s["rows"] for s in manifest["sectors"].values())
    load = os.getloadavg()
    print(
        f"### Incremental night, {args.people:,} people, {rows:,} sector rows, {args.change:.0%} changed ({date.today()})"
    )
    print(f"- machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"- load average after the run (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(
        f"- command: `.venv/bin/python bench/bench_incremental.py --people {args.people} --seed {args.seed} "
        f"--change {args.change}{' --verify' if args.verify else ''}"
        f"{f' --data {args.data}' if args.data else ''}`"
    )
    print(f"- edits per sector: {json.dumps(edits)}")
    for label, n in (("full night", first), ("incremental night", second), ("full, --models-from", third)):
        if n:
            print(
                f"- {label}: {n['seconds']} s, peak RSS {n['peak_gib']} GiB; steps {json.dumps(n['steps'])}"
            )
    print(f"- plan: {json.dumps(second['incremental'], ensure_ascii=False)}")
    if equal is not None:
        print(f"- incremental results equal the --models-from full run's: {equal:,} rows")


if __name__ == "__main__":
    main()
