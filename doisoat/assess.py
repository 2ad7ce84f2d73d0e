"""The four data-quality dimensions per record: đúng, đủ, sạch, sống (DOMAIN.md §2), plus duplicates.

One vectorised pass over standardised records, their match decision and the matched reference person.
Every failure is a reason code from :mod:`doisoat.reasons`; a dimension is False exactly when a code of
that dimension is present, so the flags and the reasons can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from doisoat.frames import ensure_columns
from doisoat.normalize.standardize import standard_types
from doisoat.reasons import REASONS

if TYPE_CHECKING:
    from schemas import SectorSpec


@dataclass(frozen=True)
class SectorInfo:
    """What assessment needs to know about a sector: the fields of :class:`schemas.SectorSpec` it reads (a run
    passes the spec itself; tests build these).

    ``required``: canonical field names (or the sector's own column names) that must be present.
    ``event_key``: columns that identify one event of a person (e.g. vaccine + dose number); two records of
    the same person with the same event key are duplicates. With ``many_per_person`` False any second
    record of a person is a duplicate. ``after_death_reason``: the code raised when the event or last
    activity falls after the person's death (None: the sector records deaths, e.g. civil status).
    ``check_residence``: also flag RESIDENCE_DIFFERS when the record's commune is not the person's.
    """

    required: list[str] = field(default_factory=list)
    many_per_person: bool = False
    event_key: list[str] = field(default_factory=list)
    after_death_reason: str | None = "ACTIVITY_AFTER_DEATH"
    check_residence: bool = False


# canonical field → (standardised columns, any of which makes it present; reason when missing)
_PRESENCE: dict[str, tuple[tuple[str, ...], str]] = {
    "full_name": (("name_key",), "MISSING_FIELD"),
    "birth_date": (("birth_year",), "MISSING_BIRTH_DATE"),
    "sex": (("sex_std",), "MISSING_SEX"),
    "national_id": (("national_id_std",), "MISSING_ID"),
    "old_id": (("old_id_std",), "MISSING_FIELD"),
    "insurance_id": (("insurance_id_std",), "MISSING_INSURANCE_ID"),
    "phone": (("phone_std",), "MISSING_FIELD"),
    "commune_code": (("commune_code_std", "commune_code_old"), "MISSING_COMMUNE"),
    "event_date": (("event_date_std",), "MISSING_EVENT_DATE"),
    "last_activity_date": (("last_activity_date_std",), "MISSING_FIELD"),
}

# canonical field → reference column that can fill it (the enrichment export)
_ENRICH_FROM: dict[str, str] = {
    "national_id": "ref_national_id_std",
    "full_name": "ref_name_key",
    "birth_date": "ref_birth_year",
    "sex": "ref_sex_std",
    "commune_code": "ref_commune_code_std",
}

# the reference columns assess reads (the pipeline loads only these and the worklists' REFERENCE_COLUMNS)
REF_COLUMNS = (
    "person_id",
    "name_key",
    "name_variant",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex_std",
    "commune_code_std",
    "death_date",
    "national_id_std",
    "old_id_std",
)


def _present(col: str, dtype: pl.DataType | None = None) -> pl.Expr:
    """Non-null and, for text, not blank (only text is stripped: casting dates to text is costly)."""
    e = pl.col(col)
    if dtype is not None and dtype != pl.Utf8:
        return e.is_not_null()
    return e.is_not_null() & (e.cast(pl.Utf8).str.strip_chars() != "").fill_null(True)


def _presence_cols(field_name: str, schema: pl.Schema) -> tuple[str, ...]:
    """Standardised columns of ``schema`` any of which makes a canonical field present."""
    cols, _ = _PRESENCE.get(field_name, ((field_name,), "MISSING_FIELD"))
    return tuple(c for c in cols if c in schema)


def _missing_of(field_name: str, schema: pl.Schema) -> pl.Expr:
    """True where the field is absent (no column for it at all counts as absent)."""
    cols = _presence_cols(field_name, schema)
    if not cols:
        return pl.lit(True)
    return ~pl.any_horizontal([_present(c, schema[c]) for c in cols])


#: the standardised columns assessment reads (their types: normalize.standardize.STANDARD_SCHEMA)
STD_READ = (
    "name_key",
    "name_variant",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex_std",
    "national_id_std",
    "old_id_std",
    "id_birth_year",
    "id_sex",
    "commune_code_std",
    "commune_code_old",
    "commune_status",
    "event_date_std",
    "last_activity_date_std",
    "norm_issues",
)


def needed_columns(schema: pl.Schema, specs: dict[str, SectorInfo | SectorSpec]) -> list[str]:
    """The record columns assessment reads: checked fields, required and event-key columns, row identity."""
    wanted = ["rid", "sector", "source_file", "source_row", *STD_READ]
    wanted += [c for cols, _ in _PRESENCE.values() for c in cols]
    wanted += [c for info in specs.values() for c in (*info.required, *info.event_key)]
    return [c for c in dict.fromkeys(wanted) if c in schema]


def _with_reference(records: pl.DataFrame, matches: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    """Records joined to their match decision and to the candidate reference person (``ref_`` prefix)."""
    taken = ("person_id", "match_status", "agree_name", "agree_id", "runner_up_person_id")
    keep = [c for c in ("rid", *taken) if c in matches.columns]
    m = matches.select(keep)
    for c in taken:
        if c not in m.columns:
            m = m.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c))
    df = records.drop([c for c in taken if c in records.columns])
    df = df.join(m, on="rid", how="left").with_columns(pl.col("match_status").fill_null("unmatched"))
    ref_cols = [c for c in REF_COLUMNS if c in reference.columns]
    ref = reference.select(ref_cols).unique("person_id", keep="first")
    ref = ref.rename({c: f"ref_{c}" for c in ref_cols if c != "person_id"})
    for c in REF_COLUMNS:
        if c != "person_id" and f"ref_{c}" not in ref.columns:
            ref = ref.with_columns(pl.lit(None).alias(f"ref_{c}"))
    return df.join(ref, on="person_id", how="left")


def _duplicate_flag(df: pl.DataFrame, specs: dict[str, SectorInfo | SectorSpec]) -> pl.Series:
    """True for every record but the first (by file, source row) of the same person and event in a sector.

    The person is the matched reference person; for records without a confident match, the record's own
    well-formed số định danh stands in (the same ID twice in one extract is a duplicate either way).
    """
    person = (
        pl.when(pl.col("match_status") == "matched")
        .then(pl.col("person_id"))
        .otherwise(pl.col("national_id_std"))
        .alias("_person")
    )
    base = df.select("rid", "sector", "source_file", "source_row", person)
    flags = []
    for sector, part in base.join(df.select("rid", *_event_cols(df, specs)), on="rid").group_by(
        "sector", maintain_order=True
    ):
        info = specs.get(sector[0], SectorInfo())
        keys = ["_person"] + (list(info.event_key) if info.many_per_person else [])
        missing = [k for k in keys if k not in part.columns]
        if missing:
            raise ValueError(f"sector {sector[0]!r}: event_key columns not in the records: {missing}")
        part = part.sort("source_file", "source_row", "rid", nulls_last=True)
        dup = (pl.int_range(pl.len()).over(keys) > 0) & pl.col("_person").is_not_null()
        flags.append(part.select("rid", dup.alias("_dup")))
    if not flags:
        return pl.Series("_dup", [], dtype=pl.Boolean)
    return df.select("rid").join(pl.concat(flags), on="rid", how="left")["_dup"].fill_null(False)


def _event_cols(df: pl.DataFrame, specs: dict[str, SectorInfo | SectorSpec]) -> list[str]:
    cols = {c for info in specs.values() if info.many_per_person for c in info.event_key}
    return sorted(
        c for c in cols if c in df.columns and c not in ("rid", "sector", "source_file", "source_row")
    )


def birth_disagrees(prefix: str = "ref_") -> pl.Expr:
    """Birth dates disagree at the precision both sides have (a year-only date agrees with any day).

    Compares ``birth_year/month/day`` with ``<prefix>birth_year/month/day``.
    """

    def part_differs(a: str, b: str) -> pl.Expr:
        return pl.col(a).is_not_null() & pl.col(b).is_not_null() & (pl.col(a) != pl.col(b))

    return (
        part_differs("birth_year", f"{prefix}birth_year")
        | (part_differs("birth_month", f"{prefix}birth_month"))
        | (
            pl.col("birth_month").is_not_null()
            & (pl.col("birth_month") == pl.col(f"{prefix}birth_month"))
            & part_differs("birth_day", f"{prefix}birth_day")
        )
    )


def _name_disagrees() -> pl.Expr:
    """The matcher's name level decides (exact/variant agree); without one, compare variant keys."""
    own = (
        pl.when(pl.col("ref_name_variant").is_not_null() & pl.col("name_variant").is_not_null())
        .then(pl.col("name_variant") != pl.col("ref_name_variant"))
        .otherwise(pl.col("name_key") != pl.col("ref_name_key"))
    )
    level = pl.col("agree_name")
    return pl.when(level.is_null()).then(own).otherwise(level.is_in(["differs", "partial"]))


def _sort_codes(reasons: pl.Expr) -> pl.Expr:
    """Distinct codes, most urgent first (worklists show the first one as the main reason)."""
    urgency = {code: r.urgency for code, r in REASONS.items()}
    return reasons.list.unique(maintain_order=True).list.eval(
        pl.element().sort_by(
            pl.element().replace_strict(urgency, default=99, return_dtype=pl.Int32), maintain_order=True
        )
    )


def assess(
    records_std: pl.DataFrame,
    matches: pl.DataFrame,
    reference: pl.DataFrame,
    specs: dict[str, SectorInfo | SectorSpec],
) -> pl.DataFrame:
    """One row per rid: ``rid, status, dung, du, sach, song, reasons, enrichable``.

    ``specs`` maps sector name → :class:`SectorInfo`; a sector without a spec gets the defaults
    (nothing required, one record per person).
    """
    df = ensure_columns(
        records_std,
        {
            **standard_types(*STD_READ),
            "source_file": pl.Utf8,
            "source_row": pl.Int64,
        },
    )
    # only the columns the checks read: the joins below copy every column they are given
    df = df.select(needed_columns(df.schema, specs))
    # every check, duplicates included, stays within a sector: one sector at a time bounds the joined frames'
    # memory by the largest sector instead of the whole run
    sectors = df["sector"].unique().sort().to_list()
    if len(sectors) <= 1:
        return _assess_part(df, matches, reference, specs)
    parts = [
        _assess_part(df.filter(pl.col("sector").eq_missing(s)), matches, reference, specs) for s in sectors
    ]
    return df.select("rid").join(pl.concat(parts), on="rid", how="left", maintain_order="left")


def _assess_part(
    df: pl.DataFrame,
    matches: pl.DataFrame,
    reference: pl.DataFrame,
    specs: dict[str, SectorInfo | SectorSpec],
) -> pl.DataFrame:
    """:func:`assess` on the needed columns of some records (the whole of each sector present)."""
    df = _with_reference(df, matches, reference)
    df = df.with_columns(_dup=_duplicate_flag(df, specs))
    matched = pl.col("match_status") == "matched"
    other_holder = (
        (pl.col("agree_id") == "other_person").fill_null(False) if "agree_id" in df.columns else pl.lit(False)
    )

    sectors = df["sector"].unique().sort().to_list()
    infos = {sector: specs.get(sector, SectorInfo()) for sector in sectors}
    # each field's absence is computed once, as a column, whichever sectors require it
    fields = list(dict.fromkeys([f for info in infos.values() for f in info.required] + list(_ENRICH_FROM)))
    df = df.with_columns(_missing_of(f, df.schema).alias(f"_miss_{f}") for f in fields)
    du_codes: list[tuple[pl.Expr, str]] = []
    enrich_required: list[pl.Expr] = []
    song_codes: list[tuple[pl.Expr, str]] = []
    for name in fields:
        requiring = [sector for sector, info in infos.items() if name in info.required]
        if not requiring:
            continue
        missing = pl.col("sector").is_in(requiring) & pl.col(f"_miss_{name}")
        du_codes.append((missing, _PRESENCE.get(name, ((), "MISSING_FIELD"))[1]))
        if name in _ENRICH_FROM:
            enrich_required.append(
                (missing & matched & pl.col(_ENRICH_FROM[name]).is_not_null()).fill_null(False)
            )
    after_death = pl.any_horizontal(
        pl.col("event_date_std") > pl.col("ref_death_date"),
        pl.col("last_activity_date_std") > pl.col("ref_death_date"),
    )
    for reason in sorted({info.after_death_reason for info in infos.values() if info.after_death_reason}):
        in_sectors = pl.col("sector").is_in(
            [s for s, info in infos.items() if info.after_death_reason == reason]
        )
        song_codes.append((in_sectors & matched & after_death, reason))
    residence = [sector for sector, info in infos.items() if info.check_residence]
    if residence:
        differs = pl.col("commune_code_std") != pl.col("ref_commune_code_std")
        song_codes.append((pl.col("sector").is_in(residence) & matched & differs, "RESIDENCE_DIFFERS"))

    # enrichable: any field the person has and the record lacks, required or not
    enrich_exprs = [
        (matched & pl.col(f"_miss_{name}") & pl.col(ref_col).is_not_null(), name)
        for name, ref_col in _ENRICH_FROM.items()
    ]

    sach_codes = [
        (
            pl.col("id_birth_year").is_not_null()
            & pl.col("birth_year").is_not_null()
            & (pl.col("id_birth_year") != pl.col("birth_year")),
            "ID_BIRTH_YEAR_MISMATCH",
        ),
        (
            pl.col("id_sex").is_not_null()
            & pl.col("sex_std").is_not_null()
            & (pl.col("id_sex") != pl.col("sex_std")),
            "ID_SEX_MISMATCH",
        ),
        (pl.col("_dup"), "DUPLICATE_RECORD"),
    ]
    dung_codes = [
        (pl.col("match_status") == "review", "NEEDS_REVIEW"),
        # the matcher names a runner-up only when it is close: two reference persons fit about equally well
        (
            (pl.col("match_status") == "review") & pl.col("runner_up_person_id").is_not_null(),
            "AMBIGUOUS_MATCH",
        ),
        (pl.col("match_status") == "unmatched", "NOT_IN_REFERENCE"),
        (
            matched
            & pl.col("national_id_std").is_not_null()
            & (pl.col("national_id_std") != pl.col("ref_national_id_std"))
            & other_holder.not_(),
            "ID_DIFFERS",
        ),
        # a parent's, spouse's or guardian's ID on the record: it belongs to another person (DOMAIN §8)
        (
            matched
            & pl.col("national_id_std").is_not_null()
            & (pl.col("national_id_std") != pl.col("ref_national_id_std"))
            & other_holder,
            "ID_OF_OTHER_PERSON",
        ),
        (matched & pl.col("name_key").is_not_null() & _name_disagrees(), "NAME_DIFFERS"),
        (matched & birth_disagrees(), "BIRTH_DATE_DIFFERS"),
        (
            matched
            & pl.col("sex_std").is_not_null()
            & pl.col("ref_sex_std").is_not_null()
            & (pl.col("sex_std") != pl.col("ref_sex_std")),
            "SEX_DIFFERS",
        ),
    ]
    song_codes += [
        (pl.col("commune_status") == "ambiguous", "COMMUNE_SPLIT_AMBIGUOUS"),
        (
            matched
            & pl.col("old_id_std").is_not_null()
            & pl.col("national_id_std").is_null()
            & pl.col("ref_national_id_std").is_not_null(),
            "OLD_ID_ONLY",
        ),
    ]
    any_enrich_required = pl.any_horizontal(enrich_required) if enrich_required else pl.lit(False)

    checks = (
        [("dung", cond, code) for cond, code in dung_codes]
        + [("du", cond, code) for cond, code in du_codes]
        + [("sach", cond, code) for cond, code in sach_codes]
        + [("song", cond, code) for cond, code in song_codes]
        + [("enrich_code", any_enrich_required, "ENRICHABLE")]
        + [("enrichable", cond, name) for cond, name in enrich_exprs]
    )
    # every check is one bit of a UInt64 (8 bytes a row, not a text column a check); the distinct masks,
    # a few hundred, are turned into code lists in Python and joined back
    df = df.with_columns(pl.lit(0, pl.UInt64).alias("_mask"))
    for first in range(0, len(checks), 8):
        bits = [
            pl.when(cond.fill_null(False)).then(pl.lit(1 << k, pl.UInt64)).otherwise(pl.lit(0, pl.UInt64))
            for k, (_, cond, _) in enumerate(checks[first : first + 8], start=first)
        ]
        df = df.with_columns((pl.col("_mask") + pl.sum_horizontal(bits)).alias("_mask"))
    lookup = _mask_lookup(df["_mask"].unique(), checks)

    def dim_clear(*groups: str) -> pl.Expr:
        bits = sum(1 << k for k, (group, _, _) in enumerate(checks) if group in groups)
        return (pl.col("_mask") & pl.lit(bits, pl.UInt64)) == 0

    sach_norm = (
        pl.col("norm_issues")
        .fill_null([])
        .list.eval(
            pl.element().filter(pl.element().is_in([c for c, r in REASONS.items() if r.dimension == "sach"]))
        )
    )
    out = df.select(
        "rid",
        "_mask",
        pl.when(pl.col("_dup")).then(pl.lit("duplicate")).otherwise(pl.col("match_status")).alias("status"),
        sach_norm.alias("_sach_norm"),
        pl.col("norm_issues").fill_null([]).alias("_norm"),
    ).join(lookup, on="_mask", how="left", maintain_order="left")
    reasons = pl.concat_list("_first", "_sach_norm", "_song", "_norm", "_enrich_code").list.drop_nulls()
    return out.select(
        "rid",
        "status",
        dim_clear("dung").alias("dung"),
        dim_clear("du").alias("du"),
        (dim_clear("sach") & (pl.col("_sach_norm").list.len() == 0)).alias("sach"),
        dim_clear("song").alias("song"),
        _sort_codes(reasons).alias("reasons"),
        "enrichable",
    )


def _mask_lookup(masks: pl.Series, checks: list[tuple[str, pl.Expr, str]]) -> pl.DataFrame:
    """Per distinct check mask, its codes in check order: đúng/đủ/sạch, sống, ENRICHABLE, enrichable fields."""
    parts: dict[str, tuple[str, ...]] = {
        "_first": ("dung", "du", "sach"),
        "_song": ("song",),
        "_enrich_code": ("enrich_code",),
        "enrichable": ("enrichable",),
    }
    rows = {name: [] for name in parts}
    values = masks.to_list()
    for mask in values:
        for name, groups in parts.items():
            rows[name].append(
                [code for k, (group, _, code) in enumerate(checks) if group in groups and mask >> k & 1]
            )
    return pl.DataFrame(
        {"_mask": pl.Series(values, dtype=pl.UInt64)}
        | {name: pl.Series(lists, dtype=pl.List(pl.Utf8)) for name, lists in rows.items()}
    )
