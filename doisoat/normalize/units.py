"""Administrative units: resolve a record's commune code and/or name to the current (post-1 July 2025) unit.

Tables: the pinned Parquet files of ``doisoat/data`` (see ``build_admin_units.py``): 3 321 new units, the old
units, and the old → new map, the statistics office's conversion table as shipped in vietnam-provinces 2026.9.0 (a
split old ward has several rows, ``n_new > 1``; ``is_partly_merged`` is the office's flag). ``units_source()``
says which sources and versions the tables were built from.

Commune codes are reused across the two sets with different meanings (STACK.md): 3 316 of the 3 321 new codes are
also old codes. A code found in both sets is decided by, in order:
1. the name, when the record has one and it matches the unit of that code in one set (any case, with or without
   diacritics and the "Xã / Phường / Thị trấn / Đặc khu" prefix);
2. the ``units_context``: ``"new"`` or ``"old"`` reads shared codes in that set; ``"auto"`` (default) decides per
   source file (per ``group`` column value, or for the whole frame): when most of the file's rows carry codes that exist only
   in the old set, it is an old-coded extract and shared codes are read as old; otherwise as new
   (``AUTO_OLD_SHARE`` of rows; stray old codes do not flip a file).
Statuses: ``current`` (a new code), ``mapped`` (an old code mapped to one new unit; when the office marks that old
ward as only partly merged into it, ``OLD_COMMUNE_PARTLY_MERGED`` notes it), ``ambiguous`` (an old ward split over
several new units: ``commune_code_std`` stays null), ``unknown`` (also an old code the office's table lacks); null when the record has neither code nor
name. A name alone that fits several units (the same name in several provinces) is ``unknown``: narrow the scope
with ``provinces`` (new 2-digit province codes; old units in scope are those mapping into them).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from doisoat.settings import PROJECT_ROOT

__all__ = [
    "AdminUnits",
    "units_source",
    "commune_frame",
    "load_units",
    "old_unit_info",
    "resolve_commune",
    "unit_name_key",
    "unit_names",
]

DATA_DIR = PROJECT_ROOT / "doisoat" / "data"
_PREFIX_RE = re.compile(r"^(xa|phuong|thi tran|dac khu|tt|p|x)\b\.?\s*")


def unit_name_key(name: str | None) -> str | None:
    """'Phường Hòa Khánh' / 'hoa khanh' / 'P. Hoà Khánh' → 'hoa khanh'; 'Phường 01' → '1'."""
    if not name:
        return None
    text = unicodedata.normalize("NFD", name.lower()).replace("đ", "d")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = " ".join(re.sub(r"[^\w\s]", " ", text).split())
    text = _PREFIX_RE.sub("", text)
    text = " ".join(w.lstrip("0") or "0" if w.isdigit() else w for w in text.split())
    return text or None


@dataclass(frozen=True)
class AdminUnits:
    new: pl.DataFrame  # province_code, province, ward_code, ward, ward_type
    old: pl.DataFrame  # province_code, province, district_code, district, ward_code, ward, ward_type
    mapping: pl.DataFrame  # old_ward_code, new_ward_code, is_default, n_new
    new_key: dict[str, str]
    old_key: dict[str, str]
    targets: dict[str, tuple[str, ...]]
    new_province: dict[str, str]
    partly_merged: frozenset[str]  # old wards the office marks as only partly merged


@lru_cache(maxsize=1)
def load_units() -> AdminUnits:
    """The pinned tables, loaded once per process."""
    new = pl.read_parquet(DATA_DIR / "units_new.parquet")
    old = pl.read_parquet(DATA_DIR / "units_old.parquet").drop_nulls("ward_code")
    mapping = pl.read_parquet(DATA_DIR / "units_map.parquet")
    targets: dict[str, list[str]] = {}
    for o, n in mapping.select("old_ward_code", "new_ward_code").iter_rows():
        targets.setdefault(o, []).append(n)
    return AdminUnits(
        new=new,
        old=old,
        mapping=mapping,
        new_key={c: unit_name_key(w) or "" for c, w in new.select("ward_code", "ward").iter_rows()},
        old_key={c: unit_name_key(w) or "" for c, w in old.select("ward_code", "ward").iter_rows()},
        targets={k: tuple(sorted(v)) for k, v in targets.items()},
        new_province=dict(new.select("ward_code", "province_code").iter_rows()),
        partly_merged=frozenset(mapping.filter("is_partly_merged")["old_ward_code"].unique()),
    )


@lru_cache(maxsize=1)
def units_source() -> dict[str, object]:
    """Where the unit tables come from: packages and versions, the office table's name, SHA-256s, counts
    (``doisoat/data/units_source.json``, written by ``build_admin_units.py``)."""
    return json.loads((DATA_DIR / "units_source.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=64)
def _name_index(provinces: tuple[str, ...] | None) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """name key → codes, for the new and the old units in scope."""
    u = load_units()
    new_idx: dict[str, list[str]] = {}
    for code, key in u.new_key.items():
        if provinces is None or u.new_province[code] in provinces:
            new_idx.setdefault(key, []).append(code)
    old_idx: dict[str, list[str]] = {}
    for code, key in u.old_key.items():
        tg = u.targets.get(code, ())
        if provinces is None or any(u.new_province.get(t) in provinces for t in tg):
            old_idx.setdefault(key, []).append(code)
    return new_idx, old_idx


def _clean_code(code: str | None) -> str | None:
    if code is None:
        return None
    c = re.sub(r"\.0$", "", str(code).strip())
    c = re.sub(r"\s", "", c)
    return c.zfill(5) if c.isdigit() and 1 <= len(c) <= 5 else (c or None)


Resolved = tuple[str | None, str | None, str | None, tuple[str, ...]]


def _from_old(code: str) -> Resolved:
    tg = load_units().targets.get(code, ())
    if len(tg) == 1:
        if code in load_units().partly_merged:
            return tg[0], code, "mapped", ("OLD_COMMUNE_CODE", "OLD_COMMUNE_PARTLY_MERGED")
        return tg[0], code, "mapped", ("OLD_COMMUNE_CODE",)
    if len(tg) > 1:
        return None, code, "ambiguous", ("OLD_COMMUNE_CODE", "COMMUNE_SPLIT_AMBIGUOUS")
    return None, code, "unknown", ("COMMUNE_UNKNOWN",)


def resolve_commune(
    code: str | None, name: str | None, context: str = "new", provinces: Sequence[str] | None = None
) -> Resolved:
    """(commune_code_std, commune_code_old, commune_status, reason codes) for one code/name pair.

    ``context`` here is ``new`` or ``old`` (how to read a code found in both sets without a deciding name)."""
    u = load_units()
    scope = tuple(sorted(provinces)) if provinces else None
    code = _clean_code(code)
    key = unit_name_key(name)
    if code is None and key is None:
        return None, None, None, ()
    if code is not None:
        in_new, in_old = code in u.new_key, code in u.old_key
        if key is not None:
            if in_new and u.new_key[code] == key:
                return code, None, "current", ()
            if in_old and u.old_key[code] == key:
                return _from_old(code)
        if in_new and in_old:
            return _from_old(code) if context == "old" else (code, None, "current", ())
        if in_new:
            return code, None, "current", ()
        if in_old:
            return _from_old(code)
        if key is None:
            return None, None, "unknown", ("COMMUNE_UNKNOWN",)
    new_idx, old_idx = _name_index(scope)
    hits = new_idx.get(key or "", [])
    if len(hits) == 1:
        return hits[0], None, "current", ()
    old_hits = old_idx.get(key or "", [])
    if not hits and len(old_hits) == 1:
        return _from_old(old_hits[0])
    return None, None, "unknown", ("COMMUNE_UNKNOWN",)


AUTO_OLD_SHARE = 0.5


def _auto_context(code_counts: Iterable[tuple[str | None, int]]) -> str:
    """``old`` when more than AUTO_OLD_SHARE of the rows with a known code carry a code found only in the old set.

    Nearly every new code is also an old code, so only old-only codes tell. A current extract with stray old codes
    (a fifth of rows, say) stays ``new``; in an old-coded extract about two thirds of rows carry old-only codes
    (two thirds of old communes did not keep their code). Rows, not distinct codes: each new commune absorbed
    several old ones, so a few stray rows bring many distinct old codes."""
    u = load_units()
    old_only = known = 0
    for code, count in code_counts:
        c = _clean_code(code)
        if c is None:
            continue
        in_new, in_old = c in u.new_key, c in u.old_key
        known += count * (in_new or in_old)
        old_only += count * (in_old and not in_new)
    return "old" if known and old_only / known > AUTO_OLD_SHARE else "new"


_OUT_SCHEMA = {
    "commune_code_std": pl.Utf8,
    "commune_code_old": pl.Utf8,
    "commune_status": pl.Utf8,
    "_unit_issues": pl.Utf8,
}


def commune_frame(
    code: pl.Series | None,
    name: pl.Series | None,
    group: pl.Series | None = None,
    units_context: str = "auto",
    provinces: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One row per input row: ``commune_code_std, commune_code_old, commune_status, _unit_issues``
    (comma-joined reason codes or null).

    Python runs once per distinct (code, name, context); ``group`` (e.g. ``source_file``) scopes ``auto``."""
    n = (
        len(code)
        if code is not None
        else len(name)
        if name is not None
        else len(group)
        if group is not None
        else 0
    )
    frame = pl.DataFrame(
        {
            "_code": code.cast(pl.Utf8) if code is not None else pl.Series([None] * n, dtype=pl.Utf8),
            "_name": name.cast(pl.Utf8) if name is not None else pl.Series([None] * n, dtype=pl.Utf8),
            "_group": group.cast(pl.Utf8) if group is not None else pl.Series([None] * n, dtype=pl.Utf8),
        }
    ).with_columns(pl.col("_group").fill_null(""))
    if units_context == "auto":
        counts = frame.group_by("_group", "_code").len()
        ctx = {
            g: _auto_context(zip(sub["_code"], sub["len"], strict=True))
            for (g,), sub in counts.group_by("_group")
        }
        frame = frame.with_columns(
            pl.col("_group").replace_strict(ctx, default="new", return_dtype=pl.Utf8).alias("_ctx")
        )
    else:
        frame = frame.with_columns(pl.lit(units_context).alias("_ctx"))
    distinct = frame.select("_code", "_name", "_ctx").unique()
    rows = [resolve_commune(c, nm, ctx, provinces) for c, nm, ctx in distinct.iter_rows()]
    table = distinct.with_columns(
        pl.Series("commune_code_std", [r[0] for r in rows], dtype=pl.Utf8),
        pl.Series("commune_code_old", [r[1] for r in rows], dtype=pl.Utf8),
        pl.Series("commune_status", [r[2] for r in rows], dtype=pl.Utf8),
        pl.Series("_unit_issues", [",".join(r[3]) or None for r in rows], dtype=pl.Utf8),
    )
    return frame.join(
        table, on=["_code", "_name", "_ctx"], how="left", nulls_equal=True, maintain_order="left"
    ).select(list(_OUT_SCHEMA))


def unit_names(codes: Sequence[str] | pl.Series) -> pl.DataFrame:
    """New (current) codes → DataFrame(code, name, province); unknown codes get null names."""
    u = load_units()
    frame = pl.DataFrame({"code": pl.Series(list(codes), dtype=pl.Utf8)})
    table = u.new.select(pl.col("ward_code").alias("code"), pl.col("ward").alias("name"), "province")
    return frame.join(table, on="code", how="left", maintain_order="left")


def old_unit_info(codes: Sequence[str] | pl.Series) -> pl.DataFrame:
    """Old (pre-2025) codes → DataFrame(code, district_code, district, ward, province)."""
    u = load_units()
    frame = pl.DataFrame({"code": pl.Series(list(codes), dtype=pl.Utf8)})
    table = u.old.select(pl.col("ward_code").alias("code"), "district_code", "district", "ward", "province")
    return frame.join(table, on="code", how="left", maintain_order="left")
