"""The small frames the gate hands to Great Expectations, computed in polars over the full data.

GX validates pandas frames only and is slow on millions of rows, so every check is reduced here to a few rows
per sector (rates, counts, distinct values). None of these frames holds a name, an ID or a birth date.
"""

from __future__ import annotations

import polars as pl

from checks.settings import GateSettings

KEY_COLUMNS: tuple[str, ...] = ("source_file", "source_sheet", "source_row")
ALL_UNITS = "__all__"
DATE_COLUMNS: tuple[str, ...] = ("event_date_std", "last_activity_date_std")
# date fields as read → the standardised column that is null when the text could not be read as a date
READABLE_DATES: dict[str, str] = {
    "birth_date": "birth_precision",
    "event_date": "event_date_std",
    "last_activity_date": "last_activity_date_std",
}
# a commune counts as known when the standardised code is (from the code, or derived from the address)
STANDARDISED_FOR_NULL_RATE: dict[str, str] = {"commune_code": "commune_code_std"}


def extract_columns(settings: GateSettings, sectors) -> list[str]:
    """The standardised-record columns the extract checks read (a caller may load only these)."""
    required = [f for sector in sectors for f in settings.required_for(sector)]
    return list(
        dict.fromkeys(
            [
                "sector",
                "source_file",
                "source_sheet",
                "source_row",  # lineage: rows missing from results
                "national_id",
                "old_id",
                "national_id_std",
                "old_id_std",  # ID format rate
                "birth_year",
                "sex_std",
                "event_type",
                *DATE_COLUMNS,  # plausible values, value sets
                *STANDARDISED_FOR_NULL_RATE.values(),
                *READABLE_DATES,
                *READABLE_DATES.values(),
                "commune_origin",
                *required,  # null rates
            ]
        )
    )


def readable_rate_column(field: str) -> str:
    return f"readable_rate__{field}"


def null_rate_column(field: str) -> str:
    return f"null_rate__{field}"


def plausible_rate_column(field: str) -> str:
    return f"plausible_rate__{field}"


def fold_values(values: list[str] | None) -> list[str] | None:
    """Allowed values as the value-set check compares them: trimmed, lower case."""
    return None if values is None else [str(v).strip().lower() for v in values]


def _is_blank(df: pl.DataFrame, column: str) -> pl.Expr:
    """Null, or text that is empty after trimming (CSV readers give "" for empty cells)."""
    expr = pl.col(column)
    if df.schema[column] == pl.Utf8:
        return expr.is_null() | (expr.str.strip_chars() == "")
    return expr.is_null()


def _rate(ok: pl.Expr, considered: pl.Expr) -> pl.Expr:
    """ok / considered as a float, null when nothing was considered (GX then has nothing to judge)."""
    den = considered.sum()
    return pl.when(den > 0).then(ok.sum() / den).otherwise(None).cast(pl.Float64)


def _id_wellformed_rate(df: pl.DataFrame) -> pl.Expr:
    """Among records with an ID as read, the share the normaliser accepted (12-digit CCCD or a 9-digit CMND)."""
    if "national_id_std" not in df.columns:
        return pl.lit(None, dtype=pl.Float64)
    ok = pl.col("national_id_std").is_not_null()
    if "old_id_std" in df.columns and "old_id" in df.columns:
        # a 9-digit CMND written in the ID column lands in old_id_std: well formed, only superseded
        ok = ok | (pl.col("old_id_std").is_not_null() & _is_blank(df, "old_id"))
    considered = ~_is_blank(df, "national_id") if "national_id" in df.columns else pl.lit(True)
    return _rate(ok & considered, considered)


def extract_aggregates(
    sector: str,
    df: pl.DataFrame,
    settings: GateSettings,
    previous_count: int | None,
    n_rows: int | None = None,
    absent: set[str] | None = None,
) -> pl.DataFrame:
    """One row for a sector's extract: row counts, ID format rate, null rates, plausible-date rates.

    ``n_rows``: the extract's input rows (kept + quarantined), compared with ``previous_count``, which counts
    the previous extract's input rows the same way; ``df.height`` (kept rows only) when not given.
    ``absent``: required fields no file of the sector has a column for (they get no null rate).
    """
    n_rows = df.height if n_rows is None else n_rows
    lo, hi = settings.min_date, settings.upper_date()
    exprs: list[pl.Expr] = [_id_wellformed_rate(df).alias("id_wellformed_rate")]
    for field in settings.required_for(sector):
        if absent and field in absent:
            continue  # no such column in the files: one ``missing_column`` finding, not a 100 % null rate
        column = STANDARDISED_FOR_NULL_RATE.get(field, field)
        column = column if column in df.columns else field
        if column in df.columns:
            exprs.append(_is_blank(df, column).mean().cast(pl.Float64).alias(null_rate_column(field)))
        else:
            exprs.append(pl.lit(1.0).alias(null_rate_column(field)))
    for raw, parsed in READABLE_DATES.items():
        if raw in df.columns and parsed in df.columns:
            exprs.append(
                _rate(pl.col(parsed).is_not_null(), ~_is_blank(df, raw)).alias(readable_rate_column(raw))
            )
    if "birth_year" in df.columns:
        year = pl.col("birth_year")
        exprs.append(
            _rate(year.is_between(lo.year, hi.year), year.is_not_null()).alias(
                plausible_rate_column("birth_year")
            )
        )
    for column in DATE_COLUMNS:
        if column in df.columns:
            value = pl.col(column).cast(pl.Date)
            exprs.append(
                _rate(value.is_between(lo, hi), value.is_not_null()).alias(plausible_rate_column(column))
            )
    row = (
        df.select(exprs)
        if df.height
        else pl.DataFrame([pl.Series(e.meta.output_name(), [None]) for e in exprs])
    )
    ratio = n_rows / previous_count if previous_count else None
    return pl.DataFrame(
        {
            "sector": [sector],
            "n_rows": [n_rows],
            "previous_n_rows": [previous_count],
            "row_count_ratio": [ratio],
        },
        schema={
            "sector": pl.Utf8,
            "n_rows": pl.Int64,
            "previous_n_rows": pl.Int64,
            "row_count_ratio": pl.Float64,
        },
    ).hstack(row.cast({c: pl.Float64 for c in row.columns}))


RARE_VALUE = "«giá trị hiếm»"


def extract_values(sector: str, df: pl.DataFrame, settings: GateSettings) -> pl.DataFrame:
    """Distinct (sex_std, event_type) combinations of a sector's extract with their counts: the value-set checks.

    A value outside the allowed set seen in fewer than ``settings.min_rows_to_show_value`` rows becomes
    ``RARE_VALUE``: a misaligned column can carry names or IDs, and these values reach the Data Docs.
    """
    allowed = {"sex_std": settings.sex_values, "event_type": settings.event_types.get(sector)}
    columns = [c for c in allowed if c in df.columns]
    if not columns:
        return pl.DataFrame({"sector": [sector], "n": [df.height]})
    if "event_type" in columns:  # case and surrounding spaces do not make an event type unexpected
        allowed["event_type"] = fold_values(allowed["event_type"])
        df = df.with_columns(pl.col("event_type").cast(pl.Utf8).str.strip_chars().str.to_lowercase())
    counts = df.group_by(columns).len(name="n")
    for c in columns:
        ok = pl.col(c).is_null()
        if allowed[c] is not None:
            ok = ok | pl.col(c).cast(pl.Utf8).is_in(allowed[c])
        rare = ~ok & (pl.col("n").sum().over(c) < settings.min_rows_to_show_value)
        counts = counts.with_columns(
            pl.when(rare).then(pl.lit(RARE_VALUE)).otherwise(pl.col(c).cast(pl.Utf8)).alias(c)
        )
    counts = counts.group_by(columns).agg(pl.col("n").sum()).sort(columns, nulls_last=True)
    return counts.select(pl.lit(sector).alias("sector"), *columns, "n")


def _keys(df: pl.DataFrame) -> pl.DataFrame:
    """Lineage key of each input row; a missing source_sheet column means CSV/Parquet (null sheet)."""
    cols = [pl.col(c) if c in df.columns else pl.lit(None, dtype=pl.Utf8).alias(c) for c in KEY_COLUMNS]
    return df.select(pl.col("sector").cast(pl.Utf8), *cols).with_columns(
        pl.col("source_file").cast(pl.Utf8),
        pl.col("source_sheet").cast(pl.Utf8),
        pl.col("source_row").cast(pl.Int64),
    )


def results_aggregates(
    results: pl.DataFrame, extracts: dict[str, pl.DataFrame], settings: GateSettings
) -> pl.DataFrame:
    """One row per sector of the results: duplicated / missing input rows, probabilities out of [0, 1],
    reference persons matched twice where each person has one record (null where that does not apply)."""
    sectors = sorted(set(results.get_column("sector").unique().drop_nulls().to_list()) | set(extracts))
    base = pl.DataFrame({"sector": sectors}, schema={"sector": pl.Utf8})

    keys = _keys(results)
    dup = (
        keys.filter(keys.is_duplicated())
        .unique()
        .group_by("sector")
        .agg(pl.len().cast(pl.Int64).alias("n_duplicate_rows"))
    )
    rows = results.group_by("sector").agg(pl.len().alias("n_rows"))
    quarantined = results.filter(pl.col("status") == "quarantined")
    main_reason = (
        quarantined.select("sector", pl.col("reasons").list.first().alias("reason"))
        .group_by("sector", "reason")
        .len()
        .sort("len", "reason", descending=[True, False])
        .group_by("sector", maintain_order=True)
        .first()
        .select("sector", pl.col("reason").alias("main_quarantine_reason"))
    )
    q = quarantined.group_by("sector").agg(pl.len().alias("n_quarantined"))

    # input rows of the extracts (those carrying lineage) that never reached the results
    checked = [s for s, e in extracts.items() if {"source_file", "source_row"} <= set(e.columns)]
    if checked:
        with_keys = [
            _keys(extracts[s].with_columns(pl.lit(s, dtype=pl.Utf8).alias("sector"))) for s in checked
        ]
        missing = (
            pl.concat(with_keys)
            .join(keys, on=["sector", *KEY_COLUMNS], how="anti", nulls_equal=True)
            .group_by("sector")
            .agg(pl.len().cast(pl.Int64).alias("n_missing_rows"))
        )
        missing = (
            pl.DataFrame({"sector": checked}, schema={"sector": pl.Utf8})
            .join(missing, on="sector", how="left")
            .with_columns(pl.col("n_missing_rows").fill_null(0))
        )
    else:
        missing = pl.DataFrame(schema={"sector": pl.Utf8, "n_missing_rows": pl.Int64})

    p = pl.col("match_probability").cast(pl.Float64)
    prob = results.group_by("sector").agg(
        (p.is_nan() | (p < 0) | (p > 1)).sum().alias("n_probability_outside"),
        p.fill_nan(None).min().alias("probability_min"),
        p.fill_nan(None).max().alias("probability_max"),
    )

    matched = results.filter((pl.col("status") == "matched") & pl.col("person_id").is_not_null())
    twice = (
        matched.group_by(["sector", "person_id"])
        .len()
        .filter(pl.col("len") > 1)
        .group_by("sector")
        .agg(pl.len().alias("n_persons_matched_twice"))
    )
    one_per_person = [s for s in sectors if settings.many_per_person.get(s) is False]

    out = base
    for part in (rows, dup, missing, prob, twice, q, main_reason):
        out = out.join(part.with_columns(pl.col("sector").cast(pl.Utf8)), on="sector", how="left")
    return out.with_columns(
        pl.col("n_rows", "n_duplicate_rows", "n_probability_outside", "n_quarantined").fill_null(0),
        pl.when(pl.col("n_rows") > 0)
        .then(pl.col("n_quarantined").fill_null(0) / pl.col("n_rows"))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("quarantine_rate"),
        pl.when(pl.col("sector").is_in(one_per_person))
        .then(pl.col("n_persons_matched_twice").fill_null(0))
        .otherwise(None)
        .alias("n_persons_matched_twice"),
    ).sort("sector")


def status_values(results: pl.DataFrame) -> pl.DataFrame:
    """Distinct (sector, status) pairs with counts: the status value-set check."""
    return results.group_by("sector", "status").len(name="n").sort(["sector", "status"], nulls_last=True)


def dung_rates(results: pl.DataFrame) -> pl.DataFrame:
    """đúng counts per sector (unit ``__all__``) and per current commune: ``sector, unit, n, n_dung``.

    The denominator is every result row (quarantined rows included), as the task force's headline rate.
    Store this frame with a published run; the next run's gate compares against it.
    """
    dung = pl.col("dung").fill_null(False).cast(pl.Int64)
    overall = results.group_by("sector").agg(
        pl.lit(ALL_UNITS).alias("unit"), pl.len().alias("n"), dung.sum().alias("n_dung")
    )
    if "commune_code_std" not in results.columns:
        results = results.with_columns(pl.lit(None, dtype=pl.Utf8).alias("commune_code_std"))
    communes = (
        results.filter(pl.col("commune_code_std").is_not_null())
        .group_by("sector", "commune_code_std")
        .agg(pl.len().alias("n"), dung.sum().alias("n_dung"))
        .rename({"commune_code_std": "unit"})
    )
    schema = {"sector": pl.Utf8, "unit": pl.Utf8, "n": pl.Int64, "n_dung": pl.Int64}
    return pl.concat([overall.select(*schema).cast(schema), communes.select(*schema).cast(schema)]).sort(
        ["sector", "unit"]
    )


def run_comparison(
    results: pl.DataFrame, previous_rates: pl.DataFrame, settings: GateSettings
) -> pl.DataFrame:
    """Current vs previous đúng rate per sector and commune, with the drop in percentage points.

    Sector-wide rows are always compared; a commune only when it has at least ``min_rows`` rows in both runs.
    """
    current = dung_rates(results)
    previous = previous_rates.select(
        pl.col("sector").cast(pl.Utf8),
        pl.col("unit").cast(pl.Utf8),
        pl.col("n").cast(pl.Int64).alias("previous_n"),
        pl.col("n_dung").cast(pl.Int64).alias("previous_n_dung"),
    )
    both = current.join(previous, on=["sector", "unit"], how="inner")
    both = both.filter(
        (pl.col("unit") == ALL_UNITS)
        | ((pl.col("n") >= settings.min_rows) & (pl.col("previous_n") >= settings.min_rows))
    ).filter((pl.col("n") > 0) & (pl.col("previous_n") > 0))
    return (
        both.with_columns(
            (pl.col("n_dung") / pl.col("n")).alias("rate"),
            (pl.col("previous_n_dung") / pl.col("previous_n")).alias("previous_rate"),
        )
        .with_columns((100.0 * (pl.col("previous_rate") - pl.col("rate"))).alias("drop_points"))
        .sort(["sector", "unit"])
    )
