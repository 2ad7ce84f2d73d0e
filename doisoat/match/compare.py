"""Comparisons: each is an ordered list of agreement levels, turned into one DuckDB CASE over candidate pairs.

Like Splink's comparison library, a spec holds no execution: :meth:`Comparison.case_sql` produces the SQL, and
:func:`comparison_levels` runs all comparisons over a pairs table in one vectorised query. Aliases: ``r`` is the
record side, ``p`` the reference person. Level ``-1`` means "missing on a side" and contributes no weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

MISSING = -1
AGREE_LEVELS = ("exact", "variant", "partial", "other_person", "differs", "missing")


@dataclass(frozen=True)
class Level:
    label: str
    sql: str  # condition over r./p. columns; the first true level wins
    agree: str  # the coarse agreement reported in the match output (AGREE_LEVELS)
    # a level implied by other comparisons: its u is P(level | u_given) among random pairs, which keeps the pair
    # from being counted twice (the u vector then no longer sums to one, which the weights do not need)
    u_given: str | None = None
    # the most weight the level may carry, in bits: a level that is evidence about someone else (a relative's ID)
    # must never count for the person, however rare it is in the data at hand
    max_weight: float | None = None


@dataclass(frozen=True)
class Comparison:
    name: str
    missing_sql: str
    levels: tuple[Level, ...]
    tf_column: str | None = None  # reference column whose frequency replaces u on the first level
    tf_table: str | None = None

    @property
    def labels(self) -> list[str]:
        return [lv.label for lv in self.levels]

    def case_sql(self) -> str:
        """CASE expression giving the level index (or -1) of a pair."""
        whens = " ".join(f"WHEN {lv.sql} THEN {i}" for i, lv in enumerate(self.levels[:-1]))
        return (
            f"(CASE WHEN {self.missing_sql} THEN {MISSING} {whens} ELSE {len(self.levels) - 1} END)::TINYINT"
        )

    def agree_of(self) -> list[str]:
        return [lv.agree for lv in self.levels]


def _jw(col: str) -> str:
    return f"jaro_winkler_similarity(r.{col}, p.{col})"


ID = Comparison(
    "id",
    # A 9-digit CMND on both sides still counts when the 12-digit number is absent.
    "(r.national_id_std IS NULL OR p.national_id_std IS NULL)"
    " AND NOT coalesce(r.old_id_std = p.old_id_std, false)",
    (
        # an ID whose holder's given name and birth date both disagree with the record is not evidence for the
        # holder either: that pair meets at other_person below, and name and date decide it
        Level("exact", "r.national_id_std = p.national_id_std AND NOT r.id_other_holder", "exact"),
        Level("old_id", "r.old_id_std = p.old_id_std", "variant"),
        Level(
            "one_digit",
            "hamming(r.national_id_std, p.national_id_std) = 1 AND NOT r.id_other_holder",
            "partial",
        ),
        # two adjacent digits swapped: two positions differ (cheap) and one transposition explains them
        Level(
            "transposed",
            "hamming(r.national_id_std, p.national_id_std) = 2"
            " AND damerau_levenshtein(r.national_id_std, p.national_id_std) = 1",
            "partial",
        ),
        # the record's ID belongs to another reference person whose name and birth date disagree with the record
        # (a parent's ID on a child's birth record, a spouse's, a guardian's: DOMAIN §8): evidence about the
        # family, not for or against this person (or the holder). Its weight is learned, at most 0 bits
        Level("other_person", "r.id_other_holder", "other_person", max_weight=0.0),
        # no reference person holds the record's ID (mistyped beyond one digit, a relative's ID of someone not in
        # the reference, a person absent from it): says less against this person than another person's ID does
        Level("not_in_reference", "NOT r.id_known", "differs", max_weight=0.0),
        # province, century/sex and birth year decode the same; the random part differs. The prefix repeats
        # what birth year and sex already say, so its u is taken among strangers who agree on those two
        Level(
            "same_prefix",
            "r.id_left6 = p.id_left6",
            "differs",
            u_given="r.birth_year = p.birth_year AND r.sex_std = p.sex_std AND r.national_id_std IS NOT NULL"
            " AND p.national_id_std IS NOT NULL",
        ),
        Level("differs", "true", "differs"),
    ),
)

NAME = Comparison(
    "name",
    "r.name_key IS NULL OR p.name_key IS NULL",
    (
        Level("exact", "r.name_key = p.name_key", "exact"),
        Level("no_diacritics", "r.name_plain = p.name_plain", "variant"),
        # Hoàng/Huỳnh, Vũ/Võ, i/y (DOMAIN §4): equivalent with a penalty, never a rewrite
        Level("variant", "r.name_variant = p.name_variant", "variant"),
        # syllables merged or split, extra or missing spaces: "Thu Hà" / "ThuHà"
        Level("merged_split", "r.nv_nospace = p.nv_nospace", "variant"),
        # a dropped or added middle name (Thị/Văn) is a strong partial agreement
        Level(
            "middle_dropped",
            "r.nv_first = p.nv_first AND r.nv_last = p.nv_last AND r.nv_words <> p.nv_words",
            "partial",
        ),
        # one character substituted, left out or two swapped, anywhere in the name: a typo. Rarer between
        # strangers than a Jaro–Winkler band, which Vietnamese names (a shared "nguyen thi ") reach easily. Before
        # middle_differs, so that a typo in the middle name ("Đỗ Vah Anh") is one, and also on the plain name, so
        # that a mistyped Huỳnh ("Huyn") is one edit from Huỳnh, not a word away from its variant Hoàng
        Level(
            "one_edit",
            "(abs(length(r.name_variant) - length(p.name_variant)) <= 1"
            " AND damerau_levenshtein(r.name_variant, p.name_variant) = 1)"
            # (the plain name only where a variant folded it: elsewhere it is the variant name, already compared)
            " OR ((r.name_plain <> r.name_variant OR p.name_plain <> p.name_variant)"
            " AND abs(length(r.name_plain) - length(p.name_plain)) <= 1"
            " AND damerau_levenshtein(r.name_plain, p.name_plain) = 1)",
            "partial",
        ),
        # a dropped or added middle name and a typo in the surname or the given name ("Nuyen Anh" / "Nguyễn Quang
        # Anh"); the surname compared plain, so that a mistyped Huỳnh still meets Huỳnh
        Level(
            "middle_dropped_typo",
            "r.nv_words <> p.nv_words AND ((r.nv_last = p.nv_last AND damerau_levenshtein("
            "string_split(r.name_plain, ' ')[1], string_split(p.name_plain, ' ')[1]) <= 1)"
            " OR (r.nv_first = p.nv_first AND damerau_levenshtein(r.nv_last, p.nv_last) <= 1))",
            "partial",
        ),
        Level("middle_differs", "r.nv_first = p.nv_first AND r.nv_last = p.nv_last", "partial"),
        Level("jw_95", f"{_jw('name_variant')} >= 0.95", "partial"),
        Level("jw_88", f"{_jw('name_variant')} >= 0.88", "partial"),
        Level("differs", "true", "differs"),
    ),
    tf_column="name_key",
    tf_table="tf_name",
)

_BOTH_D = "r.birth_precision = 'D' AND p.birth_precision = 'D'"
_IMPRECISE = (
    "(coalesce(r.birth_precision, '') <> 'D' OR coalesce(p.birth_precision, '') <> 'D'"
    " OR r.birth_placeholder OR p.birth_placeholder)"
)

BIRTH = Comparison(
    "birth",
    "r.birth_year IS NULL OR p.birth_year IS NULL",
    (
        Level(
            "exact",
            f"{_BOTH_D} AND r.birth_year = p.birth_year AND r.birth_month = p.birth_month"
            " AND r.birth_day = p.birth_day",
            "exact",
        ),
        # day and month swapped by a US-locale spreadsheet (DOMAIN §5)
        Level(
            "day_month_swapped",
            f"{_BOTH_D} AND r.birth_year = p.birth_year AND r.birth_month = p.birth_day"
            " AND r.birth_day = p.birth_month",
            "partial",
        ),
        # year only / month and year: agrees at the precision both sides have
        Level(
            "year_only",
            "r.birth_year = p.birth_year AND (r.birth_month IS NULL OR p.birth_month IS NULL"
            " OR (r.birth_month = p.birth_month AND (r.birth_day IS NULL OR p.birth_day IS NULL)))",
            "exact",
        ),
        # an unknown day and month written 01/01 on one side: agrees with any day of that year, at its own weight
        Level(
            "placeholder",
            "r.birth_year = p.birth_year AND (r.birth_placeholder OR p.birth_placeholder)",
            "partial",
        ),
        # age counted the traditional way, or a year computed from an age: the year is one off
        Level(
            "year_pm1",
            f"{_BOTH_D} AND abs(r.birth_year - p.birth_year) = 1 AND r.birth_month = p.birth_month"
            " AND r.birth_day = p.birth_day",
            "partial",
        ),
        Level("year_pm1_imprecise", f"abs(r.birth_year - p.birth_year) = 1 AND {_IMPRECISE}", "partial"),
        Level(
            "year_typo",
            f"{_BOTH_D} AND r.birth_month = p.birth_month AND r.birth_day = p.birth_day"
            " AND damerau_levenshtein(r.birth_year::VARCHAR, p.birth_year::VARCHAR) = 1",
            "partial",
        ),
        Level("same_month", "r.birth_year = p.birth_year AND r.birth_month = p.birth_month", "partial"),
        Level("same_year", "r.birth_year = p.birth_year", "partial"),
        Level("differs", "true", "differs"),
    ),
)

SEX = Comparison(
    "sex",
    "r.sex_std IS NULL OR p.sex_std IS NULL",
    (Level("exact", "r.sex_std = p.sex_std", "exact"), Level("differs", "true", "differs")),
)

COMMUNE = Comparison(
    "commune",
    "(r.commune_code_std IS NULL OR p.commune_code_std IS NULL)"
    " AND (r.commune_code_old IS NULL OR p.commune_code_old IS NULL)",
    (
        Level("exact", "r.commune_code_std = p.commune_code_std", "exact"),
        Level("old_code", "r.commune_code_old = p.commune_code_old", "variant"),
        Level("differs", "true", "differs"),
    ),
)

PHONE = Comparison(
    "phone",
    "r.phone_std IS NULL OR p.phone_std IS NULL",
    (Level("exact", "r.phone_std = p.phone_std", "exact"), Level("differs", "true", "differs")),
)

DEFAULT_COMPARISONS: tuple[Comparison, ...] = (ID, NAME, BIRTH, SEX, COMMUNE, PHONE)
COMPARISONS_BY_NAME: dict[str, Comparison] = {c.name: c for c in DEFAULT_COMPARISONS}


def comparison_levels_sql(
    pairs: str,
    records: str,
    reference: str = "reference_person",
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS,
    record_key: str = "rid",
    with_tf: bool = True,
    extra: tuple[str, ...] = (),
) -> str:
    """SELECT of every comparison's level for each pair in ``pairs`` (columns rid, person_id), + tf frequencies.

    One SQL statement: DuckDB evaluates the CASEs column-wise, in parallel, without per-pair Python.
    """
    levels = ", ".join(f"{c.case_sql()} AS lv_{c.name}" for c in comparisons)
    tf_cols, tf_joins = "", ""
    for c in comparisons:
        if c.tf_column and with_tf:
            tf_cols += f", tf_{c.name}.frequency AS tf_{c.name}"
            tf_joins += f" LEFT JOIN {c.tf_table} tf_{c.name} ON tf_{c.name}.value = p.{c.tf_column}"
    extra_cols = "".join(f", {e}" for e in extra)
    return (
        f"SELECT x.rid, x.person_id{extra_cols}, {levels}{tf_cols} FROM {pairs} x"
        f" JOIN {records} r ON r.{record_key} = x.rid"
        f" JOIN {reference} p ON p.person_id = x.person_id{tf_joins}"
    )


def comparison_levels(con: duckdb.DuckDBPyConnection, pairs: str, records: str, **kw) -> pl.DataFrame:
    """:func:`comparison_levels_sql` run and fetched as a polars frame (Arrow, no per-row Python)."""
    return con.sql(comparison_levels_sql(pairs, records, **kw)).pl()
