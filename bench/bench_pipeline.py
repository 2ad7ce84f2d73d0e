"""Whole-run benchmark: generate a synthetic province, run the reconciliation (in-process, no Prefect), evaluate.

    .venv/bin/python bench/bench_pipeline.py --people 100000 [--seed 1] [--rates double] [--work bench/work]

From a git worktree, run it with ``PYTHONPATH=<the worktree>``: without it ``python bench/…`` imports the
package the virtualenv's editable install points at (the main checkout), not the worktree's.

Prints the time of each step, peak memory (max RSS of this process) and precision / recall / F1 per sector, as a
Markdown block to paste into bench/RESULTS.md. Generated data is cached per (people, seed, rates) under --work.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import time
from dataclasses import fields, replace
from datetime import date
from pathlib import Path

import doisoat  # noqa: F401  (first: it sets polars' allocator to return memory before polars is imported)
from sample_data.errors import ErrorRates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rates", choices=["default", "double", "none"], default="default")
    ap.add_argument("--work", type=Path, default=Path("bench/work"))
    ap.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="KIND=FACTOR",
        help="multiply one error rate (sample_data.errors.ErrorRates field), e.g. --scale id_missing=4: "
        "another agency's mix of errors",
    )
    args = ap.parse_args()
    scales = {k: float(v) for k, v in (item.split("=", 1) for item in args.scale)}
    unknown = set(scales) - {f.name for f in fields(ErrorRates)}
    if unknown:
        ap.error(f"unknown error kinds: {sorted(unknown)}")
    tag = "".join(f"-{k}x{v:g}" for k, v in sorted(scales.items()))
    work = args.work.resolve() / f"p{args.people}-s{args.seed}-{args.rates}{tag}"
    os.environ["DOISOAT_HOME"] = str(work / "home")
    os.environ["DOISOAT_RUNS"] = str(work / "runs")

    import json

    from doisoat import pipeline
    from doisoat.evaluate import evaluate, format_metrics
    from sample_data.generator import generate

    data = work / "data"
    t0 = time.perf_counter()
    if not (data / "manifest.json").exists():
        rates = ErrorRates()
        if args.rates == "none":
            rates = ErrorRates.none()
        elif args.rates == "double":
            rates = ErrorRates(**{f.name: min(1.0, 2 * getattr(rates, f.name)) for f in fields(ErrorRates)})
        rates = replace(rates, **{k: min(1.0, v * getattr(rates, k)) for k, v in scales.items()})
        generate(data, people=args.people, seed=args.seed, rates=rates)
    gen_s = time.perf_counter() - t0
    manifest = json.loads((data / "manifest.json").read_text())
    shutil.rmtree(work / "home", ignore_errors=True)
    shutil.rmtree(work / "runs", ignore_errors=True)

    timings: dict[str, float] = {}
    memory: dict[str, tuple[float, float]] = {}  # step → RSS before and after it, GiB
    # peak RSS within each step and within the work between steps ("<step>+": after that step, before the next)
    peaks: dict[str, float] = {}
    last = ["start"]

    def timed(name, fn, *a, **kw):
        peaks[f"{last[0]}+"] = _reset_peak()
        before = _rss_gb()[0]
        t = time.perf_counter()
        out = fn(*a, **kw)
        timings[name] = time.perf_counter() - t
        memory[name] = (before, _rss_gb()[0])
        peaks[name] = _reset_peak()
        last[0] = name
        return out

    config = pipeline.RunConfig(
        reference=data / manifest["reference"],
        extracts=[pipeline.ExtractInput(s, data / f) for s, f in manifest["extracts"].items()],
        db_path=work / "home" / "doisoat.duckdb",
    )
    t = time.perf_counter()
    summary = pipeline.reconcile(config, step=timed)
    total = time.perf_counter() - t
    peaks[f"{last[0]}+"] = _reset_peak()
    # getrusage's peak is reset with VmHWM: the run's peak is the largest of the parts'
    peak_gb = max([*peaks.values(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20])
    metrics = evaluate(data, summary.out_dir / "results.parquet")

    rows = sum(manifest["rows"].values())
    print(f"### Whole run, {args.people:,} people, {rows:,} sector rows, rates={args.rates} ({date.today()})")
    print(f"- machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(
        f"- command: `.venv/bin/python bench/bench_pipeline.py --people {args.people} --seed {args.seed} "
        f"--rates {args.rates}{''.join(f' --scale {k}={v:g}' for k, v in sorted(scales.items()))}`"
    )
    print(f"- generation (cached when 0): {gen_s:.1f} s")
    print(f"- run: {total:.1f} s in all, peak RSS {peak_gb:.2f} GiB; published: {summary.published}")
    print("- steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    print(
        "- RSS before → after each step (GiB): "
        + ", ".join(f"{k} {a:.2f} → {b:.2f}" for k, (a, b) in memory.items())
    )
    print(
        "- peak RSS within each step (GiB; '+': between that step and the next): "
        + ", ".join(f"{k} {v:.2f}" for k, v in peaks.items())
    )
    print("```")
    print(format_metrics(metrics, lang="en"))
    print("```")


def _rss_gb() -> tuple[float, float]:
    """Current and peak resident memory of this process (Linux /proc), in GiB."""
    fields_kb = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            fields_kb[key] = int(value.split()[0])
    return fields_kb.get("VmRSS", 0) / 2**20, fields_kb.get("VmHWM", 0) / 2**20


def _reset_peak() -> float:
    """Peak resident memory since the last reset, in GiB; then reset it (Linux: clear_refs 5 resets VmHWM).

    ``getrusage``'s peak is reset with it (and ``/usr/bin/time -v`` then reports too little): the run's peak
    is the largest of the parts.
    """
    peak = _rss_gb()[1]
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not allowed: the peaks stay cumulative
        pass
    return peak


if __name__ == "__main__":
    main()
