"""Time doisoat.assess and doisoat.report on the committed demo sample, scaled to SIZE records.

The demo extracts are ingested and standardised as the pipeline does; the matcher is replaced by an exact
join on the số định danh (a stand-in: this bench measures assessment and reporting, not matching). For
SIZE above the demo's row count the standardised records are repeated with new rids and row numbers.

    .venv/bin/python bench/bench_assess_report.py 100000 [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from doisoat import pipeline
from doisoat.assess import assess
from doisoat.ingest import ingest_file
from doisoat.normalize import standardize
from doisoat.reference import prepare_reference
from doisoat.report import write_reports
from doisoat.settings import SAMPLE_DIR
from schemas import load_sector

FILES = {
    "civil_status": "ho_tich.xlsx",
    "social_protection": "an_sinh_xa_hoi.csv",
    "vaccination": "tiem_chung.csv",
    "insurance": "bao_hiem.parquet",
}


def demo_inputs() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    ingested = pipeline.ingest_extracts(
        [pipeline.ExtractInput(s, SAMPLE_DIR / f) for s, f in FILES.items()], seen={}
    )
    records, quarantine = pipeline.assemble(ingested)
    records_std = standardize(records)
    ref = ingest_file(SAMPLE_DIR / "reference.parquet", load_sector("reference")).records
    reference, _, _ = prepare_reference(standardize(ref))
    specs = {s: load_sector(s) for s in FILES}
    return records_std, quarantine, reference, specs


def exact_id_matches(records_std: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    ids = reference.select("person_id").with_columns(pl.lit(True).alias("_hit"))
    m = records_std.select("rid", pl.col("national_id_std").alias("person_id")).join(
        ids, on="person_id", how="left"
    )
    return m.select(
        "rid",
        pl.when(pl.col("_hit")).then(pl.col("person_id")).alias("person_id"),
        pl.when(pl.col("_hit")).then(pl.lit("matched")).otherwise(pl.lit("unmatched")).alias("match_status"),
        pl.when(pl.col("_hit")).then(pl.lit(0.99)).alias("match_probability"),
        pl.when(pl.col("_hit")).then(pl.lit("id")).alias("match_pass"),
        pl.lit(None, pl.Utf8).alias("agree_name"),
        pl.lit(None, pl.Utf8).alias("runner_up_person_id"),
    )


def scale(records_std: pl.DataFrame, size: int) -> pl.DataFrame:
    if size <= records_std.height:
        return records_std.head(size)
    copies = -(-size // records_std.height)
    parts = [
        records_std.with_columns(
            (pl.col("rid") + k * records_std.height).alias("rid"),
            (pl.col("source_row") + k * 1_000_000).alias("source_row"),
        )
        for k in range(copies)
    ]
    return pl.concat(parts).head(size)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("size", type=int)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    t = time.perf_counter()
    records_std, quarantine, reference, specs = demo_inputs()
    print(f"demo ingest+standardise: {records_std.height} records in {time.perf_counter() - t:.1f}s")
    records_std = scale(records_std, args.size)
    matches = exact_id_matches(records_std, reference)
    t = time.perf_counter()
    assessed = assess(records_std, matches, reference, specs)  # the sector specs whole, as a run passes them
    t_assess = time.perf_counter() - t
    results = pipeline.build_results("bench", records_std, matches, assessed, quarantine)
    out = args.out or Path(tempfile.mkdtemp(prefix="doisoat-bench-"))
    t = time.perf_counter()
    paths = write_reports(
        out,
        results,
        records_std,
        reference,
        None,
        {s: sp.label_vi for s, sp in specs.items()},
        {"run_id": "bench"},
    )
    t_report = time.perf_counter() - t
    n_work = sum(1 for k in paths if k.startswith("worklist:"))
    print(f"records: {records_std.height}")
    print(f"assess: {t_assess:.2f}s ({records_std.height / t_assess:,.0f} records/s)")
    print(f"write_reports: {t_report:.2f}s ({n_work} commune worklists) → {out}")
    print(results.group_by("sector", "status").len().sort("sector", "status"))
    print(results.select([pl.col(d).fill_null(False).mean() for d in ("dung", "du", "sach", "song")]))


if __name__ == "__main__":
    main()
