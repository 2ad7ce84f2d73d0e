"""Accuracy and speed of the commune from the address (``doisoat.normalize.addresses``) on a generated test set.

Usage: ``.venv/bin/python bench/bench_addresses.py [N] [--seed S] [--rows R]``. N addresses in the real forms
(``sample_data.addresses.address_test_set``: old and new names, abbreviations, no diacritics, mixed case, with and
without district/province, house-level parts, same-name communes) are resolved through the vectorised
``address_frame`` with each address's province in play; each is compared with the oracle and the person's true
commune. Right = the true commune where the text determines one; no commune where it does not (several units fit:
a code there is a guess) or where the old commune was split (status ``ambiguous`` with the old code). With
``--rows R`` it also times ``standardize`` on R rows without commune codes drawn from those addresses.
"""

from __future__ import annotations

import argparse
import platform
import time

import polars as pl

from doisoat.normalize.addresses import address_frame
from sample_data.addresses import address_test_set


def evaluate(ts: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float | int]]:
    """The test set with the resolver's answer and ``right``; the headline figures."""
    parts = []
    for (prov,), sub in ts.group_by("province_scope", maintain_order=True):
        got = address_frame(sub["address"], [prov])
        parts.append(pl.concat([sub, got.rename({c: f"got_{c}" for c in got.columns})], how="horizontal"))
    out = pl.concat(parts)
    e, code = pl.col("expect"), pl.col("got_commune_code_std")
    right = (
        pl.when(e == "resolved")
        .then(code == pl.col("truth_code"))
        .when(e == "split")
        .then(
            code.is_null()
            & (pl.col("got_commune_status") == "ambiguous")
            & (pl.col("got_commune_code_old") == pl.col("expect_old"))
        )
        .otherwise(code.is_null())
        .fill_null(False)
    )
    out = out.with_columns(right.alias("right"))
    n = out.height
    figures = {
        "addresses": n,
        "right": int(out["right"].sum()),
        "right_share": out["right"].mean(),
        "determined": out.filter(e == "resolved").height,
        "split": out.filter(e == "split").height,
        "ambiguous": out.filter(e == "ambiguous").height,
        "guessed_where_ambiguous": out.filter((e == "ambiguous") & code.is_not_null()).height,
        "wrong_commune": out.filter(code.is_not_null() & (code != pl.col("truth_code"))).height,
        "missed": out.filter((e == "resolved") & code.is_null()).height,
    }
    return out, figures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    ts = address_test_set(args.n, args.seed)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    out, fig = evaluate(ts)
    t_res = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"generated {args.n} addresses (seed {args.seed}) in {t_gen:.1f} s; resolved in {t_res:.2f} s")
    for k, v in fig.items():
        print(f"  {k:26s} {v:.4%}" if isinstance(v, float) else f"  {k:26s} {v}")
    by_form = (
        out.group_by("form")
        .agg(pl.len().alias("n"), pl.col("right").mean().alias("right"))
        .sort("form")
        .with_columns(pl.col("right").round(4))
    )
    with pl.Config(tbl_rows=40, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(by_form)
        wrong = out.filter(~pl.col("right")).select(
            "address", "form", "expect", "truth_code", "got_commune_code_std", "got_commune_status"
        )
        if wrong.height:
            print(wrong.head(20))
    if args.rows:
        from datetime import date

        from doisoat.normalize import standardize

        rows = ts.sample(args.rows, with_replacement=True, seed=args.seed).select(
            pl.lit("Nguyễn Văn An").alias("full_name"), "address", pl.lit("x.csv").alias("source_file")
        )
        t0 = time.perf_counter()
        std = standardize(rows, provinces=["48", "01", "79"], today=date(2026, 12, 1))
        dt = time.perf_counter() - t0
        print(
            f"standardize on {args.rows} rows with addresses and no codes: {dt:.2f} s "
            f"({rows['address'].n_unique()} distinct addresses); origins "
            f"{dict(std['commune_origin'].value_counts().iter_rows())}"
        )


if __name__ == "__main__":
    main()
