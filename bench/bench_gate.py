"""Time the data-quality gate (checks.run_gate) on synthetic extracts and results of a given size.

Usage: .venv/bin/python bench/bench_gate.py [N_ROWS]   (default 100000; the issue asks for 1000000 once)
Prints the time of the GX import, the polars aggregates and the whole gate. All data is synthetic.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

SECTORS = ("civil_status", "social_protection", "vaccination", "insurance")
COMMUNES = pl.read_parquet(
    Path(__file__).resolve().parent.parent / "doisoat" / "data" / "units_new.parquet", columns=["ward_code"]
).get_column("ward_code")[:94]


def synthetic(n: int) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """n standardised records spread over four sectors, and one result row per record."""
    i = pl.int_range(0, n, dtype=pl.Int64)
    base = pl.select((i % 4).alias("s"), i.alias("i")).select(
        pl.col("s").replace_strict(list(range(4)), list(SECTORS)).alias("sector"),
        pl.format("r{}", pl.col("i")).alias("record_id"),
        pl.lit("extract.xlsx").alias("source_file"),
        pl.lit("Sheet1").alias("source_sheet"),
        (pl.col("i") // 4 + 1).alias("source_row"),
        pl.format("Nguyễn Văn {}", pl.col("i") % 5000).alias("full_name"),
        pl.format("0490{}", (pl.col("i") + 90_000_000).cast(pl.Utf8)).alias("national_id"),
        (1930 + pl.col("i") % 90).cast(pl.Int16).alias("birth_year"),
        pl.when(pl.col("i") % 2 == 0).then(pl.lit("M")).otherwise(pl.lit("F")).alias("sex_std"),
        pl.lit("mũi 1").alias("event_type"),
        (pl.lit(date(2020, 1, 1)) + pl.duration(days=pl.col("i") % 1500)).alias("event_date_std"),
        pl.lit(COMMUNES).gather(pl.col("i") % COMMUNES.len()).alias("commune_code_std"),
    )
    base = base.with_columns(pl.col("national_id").alias("national_id_std"))
    extracts = {s: base.filter(pl.col("sector") == s) for s in SECTORS}
    results = base.select(
        pl.lit("bench").alias("run_id"),
        "sector",
        "record_id",
        "source_file",
        "source_sheet",
        "source_row",
        pl.lit("matched").alias("status"),
        pl.col("national_id_std").alias("person_id"),
        pl.lit("id").alias("match_pass"),
        pl.lit(0.97).alias("match_probability"),
        (pl.int_range(0, pl.len()) % 10 != 0).alias("dung"),
        pl.lit(True).alias("du"),
        pl.lit(True).alias("sach"),
        pl.lit(True).alias("song"),
        pl.lit([], dtype=pl.List(pl.Utf8)).alias("reasons"),
        "commune_code_std",
    )
    return extracts, results


def main(n: int) -> None:
    t = time.perf_counter()
    extracts, results = synthetic(n)
    print(f"rows={n:,} synthetic data {time.perf_counter() - t:.2f}s")

    from checks import aggregates as agg
    from checks import dung_rates, run_gate
    from checks.gate import _batches
    from checks.settings import GateSettings

    t = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"import great_expectations {time.perf_counter() - t:.2f}s")
    previous = dung_rates(results)
    counts = {s: e.height for s, e in extracts.items()}
    settings = GateSettings()

    t = time.perf_counter()
    batches, _ = _batches(extracts, results, previous, counts, settings)
    print(
        f"polars aggregates only {time.perf_counter() - t:.2f}s ({sum(f.height for _, f in batches)} rows to GX)"
    )
    t = time.perf_counter()
    agg.dung_rates(results)
    print(f"dung_rates {time.perf_counter() - t:.2f}s")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        result = run_gate(extracts, results, previous, counts, Path(tmp) / "data_docs", settings)
        print(
            f"run_gate {time.perf_counter() - t:.2f}s passed={result.passed} "
            f"expectations={result.n_expectations} failures={len(result.failures)}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
