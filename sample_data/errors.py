"""The errors of real sector data, each injected at a configurable rate (DOMAIN.md §3–§6).

A rate is the probability that a record *eligible* for an error receives it (a Hoàng↔Huỳnh swap needs a Hoàng or
Huỳnh; a day/month swap needs both parts ≤ 12). The generator counts eligible and applied records per kind and
writes them to the manifest, so tests can check applied/eligible against the configured rate.
Kinds inside one group are exclusive on a record (an ID is either missing or mistyped, a name is in one encoding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np
import polars as pl


@dataclass(frozen=True)
class ErrorRates:
    """One rate per error kind; defaults are plausible for a provincial extract (not measured anywhere)."""

    # national ID (exclusive group)
    id_missing: float = 0.04
    id_digit_typo: float = 0.01
    id_transposed: float = 0.005
    id_leading_zero_lost: float = 0.02
    id_scientific: float = 0.005
    id_cmnd_instead: float = 0.06  # of records whose person has an old 9-digit CMND
    # name: spelling variants and slips
    name_surname_variant: float = 0.15  # Hoàng↔Huỳnh, Vũ↔Võ
    name_iy: float = 0.2  # Mỹ↔Mĩ, Quý↔Quí ...
    name_middle_dropped: float = 0.04  # Thị / Văn left out
    name_typo: float = 0.02  # one character substituted, deleted or transposed
    name_old_tone: float = 0.5  # hoà → hòa (only names with open oa/oe/uy syllables are eligible)
    # name: representation (exclusive group)
    name_no_diacritics: float = 0.03
    name_nfd: float = 0.01
    name_tcvn3: float = 0.01
    name_vni: float = 0.005
    name_mojibake: float = 0.005
    name_telex: float = 0.003
    name_vni_digits: float = 0.002
    # birth date
    date_format: float = 0.06  # a format other than the sector's usual one (DOMAIN §5 list)
    date_dm_swap: float = 0.01
    date_year_only: float = 0.01
    # sex (exclusive group)
    sex_missing: float = 0.02
    sex_coded: float = 0.03
    # records and people
    duplicate: float = 0.01  # same person, same event entered twice
    absent: float = 0.03  # share of the people in the extracts who are not in the reference
    after_death: float = 0.2  # of records of dead people in payment / vaccination / insurance extracts
    commune_old_code: float = 0.2  # pre-2025 commune code
    phone_11_digits: float = 0.1  # of phones whose prefix was renumbered in 2018

    @classmethod
    def none(cls) -> ErrorRates:
        """Clean extracts: every rate zero (no absent people, no duplicates, nothing after death)."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


ID_GROUP = (
    "id_missing",
    "id_digit_typo",
    "id_transposed",
    "id_leading_zero_lost",
    "id_scientific",
    "id_cmnd_instead",
)
REPR_GROUP = (
    "name_no_diacritics",
    "name_nfd",
    "name_tcvn3",
    "name_vni",
    "name_mojibake",
    "name_telex",
    "name_vni_digits",
)
SEX_GROUP = ("sex_missing", "sex_coded")


def error_kinds() -> list[str]:
    """Every error kind, as written in the truth's ``errors`` lists."""
    return [f.name for f in fields(ErrorRates)]


def choose_exclusive(u: np.ndarray, rates: ErrorRates, group: tuple[str, ...]) -> np.ndarray:
    """Per record, the index of the kind drawn from an exclusive group (-1 = none), from one uniform draw."""
    out = np.full(u.shape[0], -1, dtype=np.int16)
    lo = 0.0
    for k, kind in enumerate(group):
        hi = lo + getattr(rates, kind)
        out[(u >= lo) & (u < hi)] = k
        lo = hi
    if lo > 1.0:
        raise ValueError(f"rates of {group} add up to more than 1")
    return out


def map_distinct(s: pl.Series, fn: Callable[[str], str]) -> pl.Series:
    """Apply a per-string function once per distinct value and map the results back."""
    uniq = s.drop_nulls().unique(maintain_order=True)
    if uniq.len() == 0:
        return s
    mapped = pl.Series([fn(v) for v in uniq.to_list()], dtype=pl.Utf8)
    return s.replace_strict(uniq, mapped, default=None, return_dtype=pl.Utf8)


def map_words(s: pl.Series, fn: Callable[[str], str]) -> pl.Series:
    """Apply a per-word function once per distinct word (names repeat few words): for tone restyling."""
    words = s.str.split(" ")
    uniq = words.explode().drop_nulls().unique(maintain_order=True)
    mapped = pl.Series([fn(v) for v in uniq.to_list()], dtype=pl.Utf8)
    changed = uniq != mapped
    old, new = uniq.filter(changed), mapped.filter(changed)
    if old.len() == 0:
        return s
    return words.list.eval(pl.element().replace(old, new)).list.join(" ").alias(s.name)


def typo_expr(col: str, u_pos: str, u_op: str, u_chr: str, alphabet: str = "aăâeêioôơuưydđnmhtgc") -> pl.Expr:
    """One character substituted, deleted or transposed at a random inner position (vectorised)."""
    s = pl.col(col)
    n = s.str.len_chars()
    p = (pl.col(u_pos) * (n - 2).clip(lower_bound=1)).floor().cast(pl.Int64) + 1
    letters = pl.Series(list(alphabet))
    new_char = pl.lit(letters).gather((pl.col(u_chr) * len(alphabet)).floor().cast(pl.Int64))
    head, rest = s.str.slice(0, p), s.str.slice(p + 1)
    sub = head + new_char + rest
    dele = head + rest
    trans = head + s.str.slice(p + 1, 1) + s.str.slice(p, 1) + s.str.slice(p + 2)
    return pl.when(pl.col(u_op) < 0.4).then(sub).when(pl.col(u_op) < 0.7).then(dele).otherwise(trans)


def digit_typo_expr(col: str, u_pos: str, u_k: str) -> pl.Expr:
    """One digit replaced by another digit (always a different one)."""
    s = pl.col(col)
    p = (pl.col(u_pos) * s.str.len_chars()).floor().cast(pl.Int64)
    old = s.str.slice(p, 1).cast(pl.Int64, strict=False).fill_null(0)
    new = ((old + 1 + (pl.col(u_k) * 9).floor().cast(pl.Int64)) % 10).cast(pl.Utf8)
    return s.str.slice(0, p) + new + s.str.slice(p + 1)


def transpose_expr(col: str, u_pos: str) -> pl.Expr:
    """Two adjacent digits swapped; tries three positions so that the result differs when it can."""
    s = pl.col(col)
    n = s.str.len_chars()
    base = (pl.col(u_pos) * (n - 1)).floor().cast(pl.Int64)
    out = s
    for shift in (2, 1, 0):  # the last assignment (shift 0) has priority
        p = (base + shift) % (n - 1)
        a, b = s.str.slice(p, 1), s.str.slice(p + 1, 1)
        swapped = s.str.slice(0, p) + b + a + s.str.slice(p + 2)
        out = pl.when(a != b).then(swapped).otherwise(out)
    return out


def scientific_expr(col: str, u: str) -> pl.Expr:
    """An ID as Excel shows a long number in a narrow General column: '4.9091E+10' (2–5 decimals)."""
    num = pl.col(col).cast(pl.Float64, strict=False)
    exp = num.log10().floor()
    mant = num / pl.lit(10.0).pow(exp)
    decimals = (pl.col(u) * 4).floor().cast(pl.Int64) + 1
    outs = [
        mant.round(d).cast(pl.Utf8).str.pad_end(d + 2, "0").str.slice(0, d + 2)
        + pl.lit("E+")
        + exp.cast(pl.Int64).cast(pl.Utf8).str.zfill(2)
        for d in range(1, 6)
    ]
    expr = outs[0]
    for d in range(2, 6):
        expr = pl.when(decimals == d).then(outs[d - 1]).otherwise(expr)
    return expr
