"""``standardize(df)``: canonical records → the standardised record of docs/architecture.md.

Every canonical field may be absent (read as null). Per-value Python (names, dates, communes) runs only on distinct
values; IDs, phones and sex are polars expressions. All reason codes raised land in ``norm_issues``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import polars as pl

from doisoat.normalize._issues import codes_to_list, join_codes
from doisoat.normalize.addresses import communes_with_addresses
from doisoat.normalize.dates import parse_dates, to_day_dates
from doisoat.normalize.ids import insurance_id_frame, national_id_frame
from doisoat.normalize.names import NAME_COLUMNS, names_frame
from doisoat.normalize.phones import phone_frame
from doisoat.normalize.sex import sex_columns
from doisoat.normalize.units import commune_frame

__all__ = ["STANDARD_SCHEMA", "standard_types", "standardize"]

STANDARD_SCHEMA: dict[str, pl.DataType] = {
    **{c: pl.Utf8() for c in NAME_COLUMNS},
    "birth_year": pl.Int16(),
    "birth_month": pl.Int8(),
    "birth_day": pl.Int8(),
    "birth_precision": pl.Utf8(),
    "birth_dm_swappable": pl.Boolean(),
    "sex_std": pl.Utf8(),
    "national_id_std": pl.Utf8(),
    "old_id_std": pl.Utf8(),
    "id_birth_year": pl.Int16(),
    "id_sex": pl.Utf8(),
    "id_province": pl.Utf8(),
    "insurance_id_std": pl.Utf8(),
    "phone_std": pl.Utf8(),
    "commune_code_std": pl.Utf8(),
    "commune_code_old": pl.Utf8(),
    "commune_status": pl.Utf8(),
    "commune_origin": pl.Utf8(),
    "event_date_std": pl.Date(),
    "last_activity_date_std": pl.Date(),
    "norm_issues": pl.List(pl.Utf8),
}


def standard_types(*names: str) -> dict[str, pl.DataType]:
    """The types of the named standardised columns, in the order named: a stage that reads a few of them types
    them from :data:`STANDARD_SCHEMA`, never anew."""
    return {n: STANDARD_SCHEMA[n] for n in names}


_ISSUE_COLS = (
    "_ingest_issues",
    "_name_issues",
    "_birth_issue",
    "_sex_issues",
    "_id_issues",
    "_ins_issues",
    "_phone_issues",
    "_unit_issues",
    "_event_issue",
    "_activity_issue",
    "_death_issue",
)


def _col(df: pl.DataFrame, name: str) -> pl.Series:
    if name in df.columns:
        return df[name].cast(pl.Utf8)
    return pl.Series(name, [None] * df.height, dtype=pl.Utf8)


def _distinct_first(values: pl.Series, exprs: Callable[[pl.Expr], list[pl.Expr]]) -> pl.DataFrame:
    """Evaluate column expressions on the distinct values only, then join back (for low-cardinality columns)."""
    table = pl.DataFrame({"_v": values.unique()}).with_columns(exprs(pl.col("_v")))
    return (
        pl.DataFrame({"_v": values})
        .join(table, on="_v", how="left", nulls_equal=True, maintain_order="left")
        .drop("_v")
    )


def standardize(
    df: pl.DataFrame,
    *,
    units_context: str = "auto",
    provinces: Sequence[str] | None = None,
    sex_one_means: str = "M",
    today: date | None = None,
) -> pl.DataFrame:
    """Add the standardised columns (and ``death_date_std`` when ``death_date`` is present) to ``df``.

    ``units_context`` and ``provinces``: see :mod:`doisoat.normalize.units`; rows without a usable commune code
    take their commune from ``address`` (:mod:`doisoat.normalize.addresses`; ``commune_origin`` says where each
    row's commune came from); ``sex_one_means``: see :func:`doisoat.normalize.sex.sex_columns`; ``today``: the day
    after which dates are in the future."""
    today = today or date.today()
    out_cols = set(STANDARD_SCHEMA) | {"death_date_std"}
    base = df.drop([c for c in df.columns if c in out_cols])
    n = base.height

    names = names_frame(
        _col(base, "full_name"), base["source_file"] if "source_file" in base.columns else None
    )
    birth = parse_dates(_col(base, "birth_date"), today).select(
        pl.col("year").alias("birth_year"),
        pl.col("month").alias("birth_month"),
        pl.col("day").alias("birth_day"),
        pl.col("precision").alias("birth_precision"),
        pl.col("swappable").alias("birth_dm_swappable"),
        pl.col("issue").alias("_birth_issue"),
    )
    event = to_day_dates(_col(base, "event_date"), today).rename(
        {"date": "event_date_std", "issue": "_event_issue"}
    )
    activity = to_day_dates(_col(base, "last_activity_date"), today).rename(
        {"date": "last_activity_date_std", "issue": "_activity_issue"}
    )
    parts = [names, birth, event, activity]
    if "death_date" in base.columns:
        parts.append(
            to_day_dates(_col(base, "death_date"), today).rename(
                {"date": "death_date_std", "issue": "_death_issue"}
            )
        )
    group = base["source_file"] if "source_file" in base.columns else None
    code, name = _col(base, "commune_code"), _col(base, "commune_name")
    communes = commune_frame(code, name, group, units_context, provinces)
    address = base["address"] if "address" in base.columns else None
    parts.append(communes_with_addresses(communes, code, name, address, provinces))

    parts.append(_distinct_first(_col(base, "sex"), lambda e: sex_columns(e, sex_one_means)))
    parts.append(national_id_frame(_col(base, "national_id"), _col(base, "old_id"), today.year))
    parts.append(insurance_id_frame(_col(base, "insurance_id")))
    parts.append(phone_frame(_col(base, "phone")))
    std = pl.concat(parts, how="horizontal")
    assert std.height == n
    consistency = [
        pl.when(
            pl.col("id_birth_year").is_not_null()
            & pl.col("birth_year").is_not_null()
            & (pl.col("id_birth_year") != pl.col("birth_year"))
        ).then(pl.lit("ID_BIRTH_YEAR_MISMATCH")),
        pl.when(
            pl.col("id_sex").is_not_null()
            & pl.col("sex_std").is_not_null()
            & (pl.col("id_sex") != pl.col("sex_std"))
        ).then(pl.lit("ID_SEX_MISMATCH")),
    ]
    if "ingest_issues" in base.columns:  # what the readers noted on the row (e.g. NUL_STRIPPED)
        std = std.with_columns(base["ingest_issues"].cast(pl.Utf8).alias("_ingest_issues"))
    issues = [pl.col(c) for c in _ISSUE_COLS if c in std.columns] + consistency
    std = std.with_columns(codes_to_list(join_codes(*issues)).alias("norm_issues"))
    keep = list(STANDARD_SCHEMA) + (["death_date_std"] if "death_date_std" in std.columns else [])
    std = std.select(keep).cast({k: v for k, v in STANDARD_SCHEMA.items()})  # type: ignore[arg-type]
    return pl.concat([base, std], how="horizontal")
