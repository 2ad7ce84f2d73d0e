"""Counts and rates of đúng / đủ / sạch / sống per sector × unit: the numbers every report is built from.

The frame keeps the run-history shape (``sector, unit, n, n_dung, n_du, n_sach, n_song``; ``unit`` is
``__all__`` for the sector, the current commune code, or ``__unknown__``) and adds other levels with a
prefixed unit (``tinh:48``, ``huyen_cu:502``, ``xa_cu:20341``, ``loai:khai_sinh``) so one table holds them
all and a previous run's table can be joined on ``sector, unit``.
"""

from __future__ import annotations

import polars as pl

from doisoat.normalize.units import load_units
from doisoat.vocabulary import RESULT_STATUSES

ALL = "__all__"
UNKNOWN = "__unknown__"
LEVELS = ("sector", "province", "commune", "district_old", "commune_old", "event_type")
_PREFIX = {"province": "tinh:", "district_old": "huyen_cu:", "commune_old": "xa_cu:", "event_type": "loai:"}
COUNT_COLUMNS = (
    "n",
    "n_dung",
    "n_du",
    "n_sach",
    "n_song",
    "n_matched",
    "n_review",
    "n_unmatched",
    "n_duplicate",
    "n_quarantined",
    "n_people",
    "n_people_dung",
)


def units_table(kind: str) -> pl.DataFrame:
    """The pinned admin-unit tables (``new``: 2025 units, ``old``: pre-2025 wards), via doisoat.normalize.units."""
    units = load_units()
    return units.new if kind == "new" else units.old


def unit_names() -> pl.DataFrame:
    """``unit → unit_name, parent_name`` for every prefixed unit code an aggregate can carry."""
    new, old = units_table("new"), units_table("old")
    provinces = new.select(
        (pl.lit("tinh:") + pl.col("province_code")).alias("unit"),
        pl.col("province").alias("unit_name"),
        pl.lit(None, pl.Utf8).alias("parent_name"),
    ).unique("unit")
    communes = new.select(
        pl.col("ward_code").alias("unit"),
        pl.col("ward").alias("unit_name"),
        pl.col("province").alias("parent_name"),
    )
    districts_old = (
        old.select(
            (pl.lit("huyen_cu:") + pl.col("district_code")).alias("unit"),
            pl.col("district").alias("unit_name"),
            pl.col("province").alias("parent_name"),
        )
        .drop_nulls("unit")
        .unique("unit", keep="first")
    )
    communes_old = old.drop_nulls("ward_code").select(
        (pl.lit("xa_cu:") + pl.col("ward_code")).alias("unit"),
        pl.col("ward").alias("unit_name"),
        (pl.col("district") + ", " + pl.col("province")).alias("parent_name"),
    )
    return pl.concat([provinces, communes, districts_old, communes_old])


def _unit_expr(level: str) -> pl.Expr:
    if level == "sector":
        return pl.lit(ALL)
    if level == "commune":
        return pl.col("commune_code_std").fill_null(UNKNOWN)
    if level == "province":
        return pl.lit("tinh:") + pl.col("_province").fill_null(UNKNOWN)
    if level == "district_old":
        return pl.lit("huyen_cu:") + pl.col("_district_old")
    if level == "commune_old":
        return pl.lit("xa_cu:") + pl.col("commune_code_old")
    if level == "event_type":
        return pl.lit("loai:") + pl.col("event_type")
    raise ValueError(f"unknown level {level!r}; one of {LEVELS}")


def _counts() -> list[pl.Expr]:
    flag = {d: pl.col(d).fill_null(False) for d in ("dung", "du", "sach", "song")}
    person = pl.col("person_id")
    return [
        pl.len().alias("n"),
        *(flag[d].sum().alias(f"n_{d}") for d in flag),
        *((pl.col("status") == s).sum().alias(f"n_{s}") for s in RESULT_STATUSES),
        # people: distinct reference persons, plus each record without one (an unidentified person)
        (person.drop_nulls().n_unique() + person.null_count()).alias("n_people"),
        person.filter(flag["dung"]).drop_nulls().n_unique().alias("n_people_dung"),
    ]


def aggregate(results: pl.DataFrame, levels: tuple[str, ...] = LEVELS) -> pl.DataFrame:
    """Per sector × unit: counts (``n``, ``n_dung`` …, statuses, people) and rates (``rate_dung`` …).

    Quarantined rows have null dimensions and count in ``n`` as failing all four. Former-unit levels
    only include rows that carry a pre-2025 code.
    """
    # only the columns counted: the joins and filters below copy every column they are given
    read = (
        "sector",
        "status",
        "dung",
        "du",
        "sach",
        "song",
        "person_id",
        "commune_code_std",
        "commune_code_old",
    )
    df = results.select([c for c in (*read, "event_type") if c in results.columns])
    for c, t in {"person_id": pl.Utf8, "commune_code_old": pl.Utf8, "event_type": pl.Utf8}.items():
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, t).alias(c))
    new, old = units_table("new"), units_table("old")
    df = df.join(
        new.select(pl.col("ward_code").alias("commune_code_std"), pl.col("province_code").alias("_province")),
        on="commune_code_std",
        how="left",
    ).join(
        old.drop_nulls("ward_code").select(
            pl.col("ward_code").alias("commune_code_old"), pl.col("district_code").alias("_district_old")
        ),
        on="commune_code_old",
        how="left",
    )
    parts = []
    for level in levels:
        part = df.with_columns(_unit_expr(level).alias("unit")).filter(pl.col("unit").is_not_null())
        parts.append(
            part.group_by("sector", "unit").agg(_counts()).with_columns(pl.lit(level).alias("level"))
        )
    schema = {"sector": pl.Utf8, "level": pl.Utf8, "unit": pl.Utf8, **{c: pl.Int64 for c in COUNT_COLUMNS}}
    out = pl.concat(
        [p.cast({k: v for k, v in schema.items() if k in p.columns}) for p in parts], how="diagonal"
    )
    out = out.select(schema.keys()).join(unit_names(), on="unit", how="left")
    rates = [
        pl.when(pl.col("n") > 0).then(pl.col(f"n_{d}") / pl.col("n")).alias(f"rate_{d}")
        for d in ("dung", "du", "sach", "song")
    ]
    order = {lv: i for i, lv in enumerate(LEVELS)}
    return (
        out.with_columns(rates)
        .with_columns(pl.col("level").replace_strict(order, return_dtype=pl.Int8).alias("_order"))
        .sort("sector", "_order", "unit")
        .drop("_order")
    )


def reason_counts(results: pl.DataFrame) -> pl.DataFrame:
    """``sector, reason, n``: how many records carry each reason code, most frequent first."""
    return (
        results.select("sector", pl.col("reasons").fill_null([]))
        .explode("reasons")
        .drop_nulls("reasons")
        .group_by("sector", pl.col("reasons").alias("reason"))
        .len("n")
        .sort(["sector", "n", "reason"], descending=[False, True, False])
    )


def change_since(current: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """``current`` with the previous run's ``n_prev, n_dung_prev`` and ``delta_rate_dung`` (points, 0–100).

    ``previous`` is any frame with ``sector, unit, n, n_dung`` (the run-history table or this module's).
    """
    if previous is None or previous.is_empty():
        return current.with_columns(
            pl.lit(None, pl.Int64).alias("n_prev"),
            pl.lit(None, pl.Int64).alias("n_dung_prev"),
            pl.lit(None, pl.Float64).alias("delta_rate_dung"),
        )
    prev = previous.select(
        "sector",
        "unit",
        pl.col("n").cast(pl.Int64).alias("n_prev"),
        pl.col("n_dung").cast(pl.Int64).alias("n_dung_prev"),
    ).unique(["sector", "unit"], keep="last")
    out = current.join(prev, on=["sector", "unit"], how="left")
    prev_rate = pl.when(pl.col("n_prev") > 0).then(pl.col("n_dung_prev") / pl.col("n_prev"))
    return out.with_columns(((pl.col("rate_dung") - prev_rate) * 100).alias("delta_rate_dung"))
