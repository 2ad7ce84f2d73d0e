"""Time ``doisoat.report.write_reports`` step by step on a run made by bench/bench_pipeline.py.

WORK is a folder bench_pipeline.py filled (``data/``, ``home/``, ``runs/``); its size is the size it was
generated at (``bench/work/p<people>-s<seed>-<rates>``). The report inputs (results with ``rid``, standardised
records, reference rows) are rebuilt once as the pipeline does and cached in ``WORK/report_inputs/``.

    .venv/bin/python bench/bench_report.py bench/work/p100000-s1-default [--steps taskforce,worklists,enriched]
        [--repeat N]

``--repeat N`` stacks the inputs N times (new rids and source rows, same people): a stand-in for an N times
larger province when generating and matching one is too slow for a quick measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl

LABELS = {
    "civil_status": "Hộ tịch",
    "vaccination": "Tiêm chủng",
    "insurance": "Bảo hiểm",
    "social_protection": "An sinh",
}


def peak_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_inputs(work: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """results (with rid), standardised records and reference rows, as ``pipeline.reconcile`` passes them."""
    cache = work / "report_inputs"
    names = ("results", "records_std", "reference")
    if all((cache / f"{n}.parquet").exists() for n in names):
        return tuple(pl.read_parquet(cache / f"{n}.parquet") for n in names)  # type: ignore[return-value]
    os.environ.setdefault("DOISOAT_HOME", str(work / "home"))
    from doisoat import pipeline, store

    run = sorted((work / "runs").glob("2*"))[-1]
    manifest = json.loads((work / "data" / "manifest.json").read_text())
    extracts = [pipeline.ExtractInput(s, work / "data" / f) for s, f in manifest["extracts"].items()]
    records, _ = pipeline.assemble(pipeline.ingest_extracts(extracts, {}))
    records_std = pipeline.standardize_records(records)
    results = pl.read_parquet(run / "results.parquet").join(
        records_std.select("rid", "source_file", "source_row"), on=["source_file", "source_row"], how="left"
    )
    con = store.connect(work / "home" / "doisoat.duckdb", read_only=True)
    try:
        reference = pipeline.reference_rows(con, results["person_id"])
    finally:
        con.close()
    cache.mkdir(exist_ok=True)
    for n, df in zip(names, (results, records_std, reference), strict=True):
        df.write_parquet(cache / f"{n}.parquet")
    return results, records_std, reference


def repeated(results: pl.DataFrame, records_std: pl.DataFrame, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The inputs stacked ``n`` times, each copy with its own rids and source rows."""
    if n <= 1:
        return results, records_std
    rid_step = int(records_std["rid"].max()) + 1
    row_step = int(records_std["source_row"].max()) + 1

    def copy(df: pl.DataFrame, i: int) -> pl.DataFrame:
        return df.with_columns(pl.col("rid") + i * rid_step, pl.col("source_row") + i * row_step)

    return (
        pl.concat([copy(results, i) for i in range(n)]),
        pl.concat([copy(records_std, i) for i in range(n)]),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path, help="bench_pipeline work folder, e.g. bench/work/p100000-s1-default")
    ap.add_argument("--steps", default="taskforce,worklists,enriched")
    ap.add_argument("--repeat", type=int, default=1, help="stack the inputs N times (a larger province)")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    args = ap.parse_args()
    from doisoat.report import build_report, write_enriched, write_html, write_worklists, write_xlsx

    t = time.perf_counter()
    results, records_std, reference = report_inputs(args.work)
    results, records_std = repeated(results, records_std, args.repeat)
    print(
        f"inputs: {results.height:,} result rows, {records_std.height:,} records, {reference.height:,} "
        f"reference rows ({time.perf_counter() - t:.1f}s, peak {peak_mb():,.0f} MB)"
    )
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_report_"))
    steps = args.steps.split(",")
    total = 0.0
    run_info = {"run_id": "bench"}
    for step in steps:
        t = time.perf_counter()
        if step == "taskforce":
            report = build_report(results, None, LABELS, run_info)
            write_xlsx(report, out / "report" / "bao-cao.xlsx")
            write_html(report, out / "report" / "bao-cao.html")
            detail = ""
        elif step == "worklists":
            paths = write_worklists(out / "worklists", results, records_std, reference, LABELS)
            detail = f" ({len(paths)} files)"
        elif step == "enriched":
            paths = write_enriched(out / "enriched", results, records_std, reference)
            detail = " (" + ", ".join(sorted(p.name for p in paths.values())) + ")"
        else:
            raise SystemExit(f"unknown step {step}")
        dt = time.perf_counter() - t
        total += dt
        print(f"{step:10s} {dt:7.1f}s  peak {peak_mb():,.0f} MB{detail}")
    print(f"{'total':10s} {total:7.1f}s  peak {peak_mb():,.0f} MB  → {out}")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
