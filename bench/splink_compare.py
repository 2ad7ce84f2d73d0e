"""doisoat.match against Splink (DuckDB backend) on the same standardised columns, blocking rules and comparisons.

Each tool runs in its own process (peak memory is per process); both are scored with doisoat.evaluate against the
generator's truth. Splink is a benchmark-only dependency: ``.venv/bin/pip install splink``.

Usage: .venv/bin/python bench/splink_compare.py --people 20000 --data-dir /tmp/bm [--error-scale 2] [--memory-limit 10GB]
       .venv/bin/python bench/splink_compare.py --source other --people 100000 --seed 104 --data-dir /tmp/oa \
           --splink-threshold 0.5      # another agency's extracts (bench/other_agency.py), Splink links at p >= 0,5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MATCHED = 0.95  # the same decision threshold for both tools


def _frames(args) -> tuple[pl.DataFrame, pl.DataFrame, Path]:
    from bench_match import standardised_frames

    out = Path(args.data_dir) / f"gen_{args.people}_x{args.error_scale:g}"
    if (
        args.source == "other"
    ):  # another agency's extracts (bench/other_agency.py), the same cache as bench_match
        out = Path(args.data_dir) / f"oa_{args.people}_s{args.seed}"
        if not (out / "truth" / "truth.parquet").exists():
            from other_agency import make

            make(out, args.people, args.seed, {})
    elif not (out / "manifest.json").exists():
        from dataclasses import asdict

        from sample_data.errors import ErrorRates
        from sample_data.generator import generate

        rates = ErrorRates(**{k: min(v * args.error_scale, 1.0) for k, v in asdict(ErrorRates()).items()})
        generate(out, people=args.people, seed=args.seed, rates=rates)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    records_std, ref_std = standardised_frames(out, manifest, {})
    return records_std, ref_std, out


def _score(out: Path, records_std: pl.DataFrame, best: pl.DataFrame) -> dict:
    from doisoat.evaluate import evaluate

    results = records_std.select("rid", "sector", "source_file", "source_row").join(
        best, on="rid", how="left"
    )
    results = results.with_columns(pl.col("status").fill_null("unmatched"))
    m = evaluate(out, results)
    return {
        "overall": {
            k: m.overall[k] for k in ("tp", "fp", "fn", "precision", "recall", "f1", "nonmatch_f1", "review")
        },
        "per_sector_f1": {r["sector"]: r["f1"] for r in m.per_sector.to_dicts()},
        "per_error_recall": {r["error"]: r["recall"] for r in m.per_error.to_dicts()},
    }


def run_doisoat(args) -> dict:
    from bench_match import peak_rss_gb

    from doisoat.match import MatchModel, MatchSettings, link
    from doisoat.reference import load_reference
    from schemas import load_sector

    records_std, ref_std, out = _frames(args)
    t0 = time.perf_counter()
    con = _connect(args)
    load_reference(con, ref_std, "bench")
    # as a run links: the shipped model is the prior, weights and thresholds are estimated on these records
    many = {s: load_sector(s).many_per_person for s in records_std["sector"].unique().to_list()}
    res = link(con, records_std, MatchModel.default(), MatchSettings(), many)
    seconds = time.perf_counter() - t0
    best = res.matches.select("rid", "person_id", pl.col("match_status").alias("status"))
    return {
        "tool": "doisoat",
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(peak_rss_gb(), 2),
        **_score(out, records_std, best),
    }


def _connect(args) -> duckdb.DuckDBPyConnection:
    """The same DuckDB settings for both tools: threads, and a memory limit when given (then DuckDB spills)."""
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    # spilling is bounded: past it DuckDB fails the query instead of filling the disk
    con.execute(f"SET max_temp_directory_size = '{args.max_temp}'")
    return con


def _splink_input(df: pl.DataFrame, uid: pl.Expr) -> pl.DataFrame:
    from doisoat.match.columns import STD_COLUMNS

    cols = [c for c in STD_COLUMNS if c in df.columns]
    return df.select(uid.alias("uid"), *cols).with_columns(
        pl.col("national_id_std").str.slice(0, 6).alias("id_left6"),
        pl.col("national_id_std").str.slice(6, 6).alias("id_right6"),
        pl.col("name_variant").str.split(" ").list.first().alias("nv_first"),
        pl.col("name_variant").str.split(" ").list.last().alias("nv_last"),
    )


def _blocking_rules(which: str = "same") -> list:
    """doisoat's passes as Splink rules (Splink scores every pair any rule creates; doisoat's later passes see
    only the records not yet decided). ``tight`` leaves out the four rules whose pairs grow with the square of
    the population (at 1,5M people, by Splink's own count: ID left half + given name 1,38 billion pairs, the three
    name-part + birth rules 255 million): what a Splink user would drop at that size."""
    from splink import block_on

    dob = "birth_year", "birth_month", "birth_day"
    rules = [
        block_on("national_id_std"),
        block_on("old_id_std"),
        block_on("name_key", *dob),
        block_on("id_right6"),
        block_on("id_left6", "given_plain"),
        block_on("name_variant", "birth_year"),
        block_on("given_plain", *dob, "commune_code_std"),
        block_on("phone_std"),
        block_on("nv_first", "nv_last", "birth_year"),
        block_on("nv_first", *dob),
        block_on("nv_last", *dob),
    ]
    if which == "tight":
        return [r for i, r in enumerate(rules) if i != 4][:-3]
    return rules


def count_splink_pairs(args) -> dict:
    """How many pairs Splink's predict() must score with these rules (estimated from a record sample)."""
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    records_std, ref_std, _ = _frames(args)
    ref_std = ref_std.filter(pl.col("national_id_std").is_not_null()).unique("national_id_std", keep="first")
    left = _splink_input(records_std, pl.lit("r") + pl.col("rid").cast(pl.Utf8))
    right = _splink_input(ref_std, pl.col("national_id_std"))
    del records_std, ref_std
    db_api = DuckDBAPI(_connect(args))
    dfs = [
        db_api.register(left.to_arrow(), table_name="records"),
        db_api.register(right.to_arrow(), table_name="ref"),
    ]
    t0 = time.perf_counter()
    counts = count_comparisons_from_blocking_rules(
        dfs,
        blocking_rules=_blocking_rules(args.splink_rules),
        link_type="link_only",
        unique_id_column_name="uid",
        record_sample_proportion=args.sample,
    )
    rows = [
        {
            "rule": c.get("blocking_rule"),
            "marginal": c.get("marginal_comparison_count"),
            "cumulative": c.get("cumulative_comparison_count"),
        }
        for c in counts
    ]
    return {
        "tool": "splink-pairs",
        "sample": args.sample,
        "seconds": round(time.perf_counter() - t0, 1),
        "rules": rows,
    }


def run_splink(args) -> dict:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from bench_match import peak_rss_gb
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    records_std, ref_std, out = _frames(args)
    t0 = time.perf_counter()
    ref_std = ref_std.filter(pl.col("national_id_std").is_not_null()).unique("national_id_std", keep="first")
    left = _splink_input(records_std, pl.lit("r") + pl.col("rid").cast(pl.Utf8))
    right = _splink_input(ref_std, pl.col("national_id_std"))
    con = _connect(args)
    db_api = DuckDBAPI(con)
    dfs = [
        db_api.register(left.to_arrow(), table_name="records"),
        db_api.register(right.to_arrow(), table_name="ref"),
    ]
    dob = "birth_year", "birth_month", "birth_day"
    birth = cl.CustomComparison(
        output_column_name="birth",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            cll.CustomLevel(
                "birth_precision_l = 'D' AND birth_precision_r = 'D' AND birth_year_l = birth_year_r"
                " AND birth_month_l = birth_month_r AND birth_day_l = birth_day_r",
                "exact",
            ),
            cll.CustomLevel(
                "birth_year_l = birth_year_r AND (birth_month_l IS NULL OR birth_month_r IS NULL"
                " OR (birth_month_l = birth_month_r AND (birth_day_l IS NULL OR birth_day_r IS NULL)))",
                "same at precision",
            ),
            cll.CustomLevel(
                "birth_year_l = birth_year_r AND birth_month_l = birth_day_r AND birth_day_l = birth_month_r",
                "day/month swapped",
            ),
            cll.CustomLevel("birth_year_l = birth_year_r AND birth_month_l = birth_month_r", "day differs"),
            cll.CustomLevel("birth_year_l = birth_year_r", "year only"),
            cll.ElseLevel(),
        ],
    )
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_key", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_plain"),
            cll.ExactMatchLevel("name_variant"),
            cll.CustomLevel("nv_first_l = nv_first_r AND nv_last_l = nv_last_r", "middle differs/dropped"),
            cll.JaroWinklerLevel("name_variant", 0.95),
            cll.JaroWinklerLevel("name_variant", 0.88),
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="uid",
        probability_two_random_records_match=0.9 / right.height,
        comparisons=[
            cl.DamerauLevenshteinAtThresholds("national_id_std", [1]),
            name,
            birth,
            cl.ExactMatch("sex_std"),
            cl.ExactMatch("commune_code_std"),
            cl.ExactMatch("phone_std"),
        ],
        blocking_rules_to_generate_predictions=_blocking_rules(args.splink_rules),
    )
    linker = Linker(dfs, settings, log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("national_id_std"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_key", *dob))
    pairs = pl.from_arrow(
        linker.inference.predict(threshold_match_probability=0.5).as_duckdbpyrelation().to_arrow_table()
    )
    best = (
        pairs.with_columns(
            pl.when(pl.col("uid_l").str.starts_with("r"))
            .then(pl.col("uid_l"))
            .otherwise(pl.col("uid_r"))
            .str.slice(1)
            .cast(pl.Int64)
            .alias("rid"),
            pl.when(pl.col("uid_l").str.starts_with("r"))
            .then(pl.col("uid_r"))
            .otherwise(pl.col("uid_l"))
            .alias("person_id"),
        )
        .sort(["rid", "match_weight", "person_id"], descending=[False, True, False])
        .group_by("rid", maintain_order=True)
        .first()
        .select(
            "rid",
            "person_id",
            pl.when(pl.col("match_probability") >= args.splink_threshold)
            .then(pl.lit("matched"))
            .otherwise(pl.lit("review"))
            .alias("status"),
        )
    )
    seconds = time.perf_counter() - t0
    return {
        "tool": "splink",
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(peak_rss_gb(), 2),
        "pairs_scored": pairs.height,
        **_score(out, records_std, best),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--error-scale", type=float, default=1.0)
    ap.add_argument("--data-dir", default="/tmp/doisoat_bench")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="", help="DuckDB memory_limit for both tools, e.g. 10GB")
    ap.add_argument("--tool", choices=["both", "doisoat", "splink", "splink-pairs"], default="both")
    ap.add_argument("--splink-rules", choices=["same", "tight"], default="same")
    ap.add_argument("--max-temp", default="40GB", help="DuckDB max_temp_directory_size for both tools")
    ap.add_argument("--sample", type=float, default=0.05, help="record sample for --tool splink-pairs")
    ap.add_argument("--source", choices=["generator", "other"], default="generator")
    ap.add_argument(
        "--splink-threshold", type=float, default=MATCHED, help="Splink's match probability for a link"
    )
    args = ap.parse_args()
    if args.tool == "doisoat":
        print(json.dumps(run_doisoat(args)))
        return
    if args.tool == "splink":
        print(json.dumps(run_splink(args)))
        return
    if args.tool == "splink-pairs":
        print(json.dumps(count_splink_pairs(args), indent=1))
        return
    _frames(args)  # generate and standardise once, outside the timings
    rows = []
    for tool in ("doisoat", "splink"):
        cmd = [
            sys.executable,
            __file__,
            "--tool",
            tool,
            "--people",
            str(args.people),
            "--error-scale",
            str(args.error_scale),
            "--data-dir",
            args.data_dir,
            "--seed",
            str(args.seed),
            "--threads",
            str(args.threads),
            "--memory-limit",
            args.memory_limit,
            "--splink-rules",
            args.splink_rules,
            "--max-temp",
            args.max_temp,
            "--source",
            args.source,
            "--splink-threshold",
            str(args.splink_threshold),
        ]
        load_before = os.getloadavg()[0]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode == 0:
            row = json.loads(done.stdout.strip().splitlines()[-1])
        else:  # an out-of-memory kill or a crash is a result too: record it, go on with the other tool
            row = {
                "tool": tool,
                "failed": done.returncode,
                "wall_s": round(time.perf_counter() - t, 1),
                "stderr_tail": done.stderr.strip().splitlines()[-5:],
            }
        row["load_avg_before_after"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps({"people": args.people, "error_scale": args.error_scale, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
