"""Blocking passes: equality keys joined in DuckDB SQL, ordered from the most to the least certain.

A pass is one or more alternative keys; each key is a list of (record expression, reference expression)
pairs. A key value shared by more than ``block_cap`` reference persons is split by a finer key (the pass's
``refine`` columns, by default the birth year, else the day and month, else the commune: whichever the key does not
hold already); only a value still too common after that is skipped, with a warning (counts only, never the value:
keys hold personal data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import polars as pl


@dataclass(frozen=True)
class BlockingPass:
    name: str
    keys: tuple[tuple[tuple[str, str], ...], ...]  # alternatives → columns → (record expr, reference expr)
    refine: tuple[tuple[str, str], ...] = ()  # finer key for too common values; () = the default (module doc)
    # a lower cap for loose keys (a name with a typo + year only): a record whose only evidence is such a key cannot
    # be linked with confidence among more persons than this, and their pairs would grow with the square of the
    # population; None = the run's block_cap
    cap: int | None = None

    def to_dict(self) -> dict:
        d = {"name": self.name, "keys": [[list(col) for col in key] for key in self.keys]}
        if self.refine:
            d["refine"] = [list(c) for c in self.refine]
        if self.cap is not None:
            d["cap"] = self.cap
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BlockingPass:
        keys = tuple(tuple((c[0], c[1]) for c in key) for key in d["keys"])
        return cls(d["name"], keys, tuple((c[0], c[1]) for c in d.get("refine", ())), d.get("cap"))

    def key_columns(self) -> list[set[str]]:
        """Per alternative key, the record-side column names it reads (identifiers in its expressions that are not
        function names)."""
        return [
            {w for r, _ in key for w in re.findall(r"\b[a-z_][a-z0-9_]*\b(?!\s*\()", r.removeprefix(DEL1))}
            for key in self.keys
        ]


def usable(bpass: BlockingPass, present: set[str]) -> bool:
    """Whether some key of the pass has all its columns in ``present`` (the columns an extract fills)."""
    return any(cols <= present for cols in bpass.key_columns())


_REFINE_CHOICES = (("birth_year",), ("birth_month", "birth_day"), ("commune_code_std",))


def refine_key(bpass: BlockingPass, key: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The finer columns that split a too common value of ``key``."""
    if bpass.refine:
        return bpass.refine
    used = {e for pair in key for e in pair}
    for cols in _REFINE_CHOICES:
        if not any(c in e for c in cols for e in used):
            return same(*cols)
    return same("sex_std")


DEL1 = "del1:"  # prefix of a key column standing for the column and each of its one-character deletions


def _select(e: str) -> str:
    """The SELECT expression of a key column: ``del1:col`` unnests the column and its one-character deletions
    (a typo — substitution, deletion, insertion, transposition — leaves the two spellings a deletion in common)."""
    if e.startswith(DEL1):
        c = e[len(DEL1) :]
        return (
            f"unnest(list_append(list_transform(range(1, length({c}) + 1),"
            f" lambda i: substr({c}, 1, i - 1) || substr({c}, i + 1)), {c}))"
        )
    return e


def _not_null(e: str) -> str:
    return f"({e[len(DEL1) :] if e.startswith(DEL1) else e}) IS NOT NULL"


def same(*cols: str) -> tuple[tuple[str, str], ...]:
    """A key whose expressions read the same on both sides."""
    return tuple((c, c) for c in cols)


DOB = ("birth_year", "birth_month", "birth_day")
# the plain name (diacritics folded, no regional or i/y variant) run together, and its first word: a typo in a
# variant pair's word ("Huyn" for Huỳnh) or in a merged word ("myphuong" for "Mỹ Phượng") is one edit from the
# plain spelling, two or more from the variant's (Hoàng, "mi phuong")
PLAIN_NOSPACE = "replace(name_plain, ' ', '')"
PLAIN_FIRST = "string_split(name_plain, ' ')[1]"

DEFAULT_PASSES: tuple[BlockingPass, ...] = (
    BlockingPass("id_exact", (same("national_id_std"),)),
    # a 9-digit CMND finds its person only through the reference's old-ID column
    BlockingPass("old_id", (same("old_id_std"),)),
    BlockingPass("name_dob", (same("name_key", *DOB),)),
    # one wrong digit or two swapped digits leave one half intact; the left half (province, sex, year) is
    # shared by thousands, so it is paired with surname and given name
    BlockingPass("id_near", (same("id_right6"), same("id_left6", "nv_first", "nv_last"))),
    # name_variant is coarser than name_plain, so this pass also holds every diacritic-free name + year pair
    BlockingPass("variant_year", (same("name_variant", "birth_year"),)),
    # syllables merged or split ("ThuHà"), extra spaces; also with the year one off (age counted the traditional
    # way, a year computed from an age), at any precision: this key holds every name_variant + year ± 1 pair
    BlockingPass(
        "nospace_year",
        (
            same("nv_nospace", "birth_year"),
            (("nv_nospace", "nv_nospace"), ("birth_year + 1", "birth_year")),
            (("nv_nospace", "nv_nospace"), ("birth_year - 1", "birth_year")),
        ),
    ),
    BlockingPass("given_dob_commune", (same("given_plain", *DOB, "commune_code_std"),)),
    BlockingPass("phone", (same("phone_std"),)),
    # dropped or changed middle name
    BlockingPass("surname_given_year", (same("nv_first", "nv_last", "birth_year"),)),
    # a dropped or added middle name and the year one off
    BlockingPass(
        "surname_given_year_pm1",
        (
            (("nv_first", "nv_first"), ("nv_last", "nv_last"), ("birth_year + 1", "birth_year")),
            (("nv_first", "nv_first"), ("nv_last", "nv_last"), ("birth_year - 1", "birth_year")),
        ),
    ),
    # day and month swapped by a US-locale spreadsheet
    BlockingPass(
        "dm_swapped",
        (
            (
                ("nv_last", "nv_last"),
                ("birth_year", "birth_year"),
                ("birth_month", "birth_day"),
                ("birth_day", "birth_month"),
            ),
        ),
    ),
    # a typo in the given name, or in the surname
    BlockingPass("surname_dob", (same("nv_first", *DOB),)),
    BlockingPass("given_dob", (same("nv_last", *DOB),)),
    # a typo in the given name or in the surname, with a year-only, 01/01 or otherwise changed day and month
    BlockingPass(
        "typo_year",
        (same("nv_first", DEL1 + "nv_last", "birth_year"), same(DEL1 + PLAIN_FIRST, "nv_last", "birth_year")),
        cap=50,
    ),
    BlockingPass(
        "typo_year_pm1",
        (
            (
                ("nv_first", "nv_first"),
                (DEL1 + "nv_last", DEL1 + "nv_last"),
                ("birth_year + 1", "birth_year"),
            ),
            (
                ("nv_first", "nv_first"),
                (DEL1 + "nv_last", DEL1 + "nv_last"),
                ("birth_year - 1", "birth_year"),
            ),
        ),
        cap=50,
    ),
    # a typo in one name part and the year one off, the day and month intact: the other part, day, month, year ± 1
    BlockingPass(
        "typo_dob_pm1",
        tuple(
            (
                (part, part),
                ("birth_month", "birth_month"),
                ("birth_day", "birth_day"),
                (f"birth_year {d}", "birth_year"),
            )
            for part in ("nv_first", "nv_last")
            for d in ("+ 1", "- 1")
        ),
        cap=50,
    ),
    # syllables merged or split and a typo ("nguye minhanh" / "nguyen minh anh"): the name run together, one
    # character deleted on each side, with the year (any precision)
    BlockingPass("nospace_typo", (same(DEL1 + PLAIN_NOSPACE, "birth_year"),), cap=50),
    BlockingPass("name_month_day", (same("name_variant", "birth_month", "birth_day"),)),
)


@dataclass
class PassStats:
    pairs: int = 0
    records_decided: int = 0
    capped_keys: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the pass did not run (the extract lacks its columns)

    def to_dict(self) -> dict:
        return {
            "skipped": self.skipped,
            "pairs": self.pairs,
            "records_decided": self.records_decided,
            "capped_keys": self.capped_keys,
            "seconds": self.seconds,
            "warnings": list(self.warnings),
        }


def candidate_pairs_sql(
    con: duckdb.DuckDBPyConnection,
    bpass: BlockingPass,
    records: str,
    open_records: str,
    reference: str,
    block_cap: int,
    stats: PassStats,
) -> str:
    """SQL for the pass's (rid, person_id) pairs among ``open_records``.

    A key value shared by more than ``block_cap`` reference persons is joined on the key plus its finer key
    (:func:`refine_key`); a value still above the cap there is left out, with a warning.
    """
    parts = []
    block_cap = min(block_cap, bpass.cap) if bpass.cap else block_cap
    for k, key in enumerate(bpass.keys):
        fine = key + tuple(c for c in refine_key(bpass, key) if c not in key)
        n_key = len(key)
        rexprs = [r for r, _ in fine]
        pexprs = [p for _, p in fine]
        p_nn = [_not_null(e) for e in pexprs]
        r_nn = [_not_null(e) for e in rexprs]
        pcols = ", ".join(f"{_select(e)} AS k{i}" for i, e in enumerate(pexprs))
        rcols = ", ".join(f"{_select(e)} AS k{i}" for i, e in enumerate(rexprs))
        kcols = ", ".join(f"k{i}" for i in range(n_key))
        fcols = ", ".join(f"k{i}" for i in range(len(fine)))
        big, big_fine = f"_m_big_{k}", f"_m_bigf_{k}"
        p_key_nn, r_key_nn = " AND ".join(p_nn[:n_key]), " AND ".join(r_nn[:n_key])
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {big} AS SELECT {kcols}, count(*) AS n FROM "
            f"(SELECT {pcols} FROM {reference} WHERE {p_key_nn}) GROUP BY ALL HAVING count(*) > {block_cap}"
        )
        n_big = con.execute(f"SELECT count(*) FROM {big}").fetchall()[0][0]
        parts.append(
            f"SELECT rr.rid, pp.person_id FROM (SELECT r.rid, {rcols} FROM {records} r JOIN {open_records} o"
            f" USING (rid) WHERE {r_key_nn}) rr"
            f" JOIN (SELECT person_id, {pcols} FROM {reference} WHERE {p_key_nn}) pp USING ({kcols})"
            f" ANTI JOIN {big} USING ({kcols})"
        )
        if n_big:
            stats.capped_keys += n_big
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {big_fine} AS SELECT {fcols}, count(*) AS n FROM"
                f" (SELECT {pcols} FROM {reference} WHERE {' AND '.join(p_nn)}) SEMI JOIN {big} USING ({kcols})"
                f" GROUP BY ALL HAVING count(*) > {block_cap}"
            )
            n_fine = con.execute(f"SELECT count(*) FROM {big_fine}").fetchall()[0][0]
            parts.append(
                f"SELECT rr.rid, pp.person_id FROM (SELECT r.rid, {rcols} FROM {records} r JOIN {open_records} o"
                f" USING (rid) WHERE {' AND '.join(r_nn)}) rr SEMI JOIN {big} USING ({kcols})"
                f" JOIN (SELECT person_id, {pcols} FROM {reference} WHERE {' AND '.join(p_nn)}) pp USING ({fcols})"
                f" ANTI JOIN {big_fine} USING ({fcols})"
            )
            if n_fine:
                hit = con.execute(
                    f"SELECT count(*) FROM (SELECT {rcols} FROM {records} r JOIN {open_records} o USING (rid)"
                    f" WHERE {' AND '.join(r_nn)}) JOIN {big_fine} USING ({fcols})"
                ).fetchall()[0][0]
                stats.warnings.append(
                    f"pass {bpass.name}: {n_fine} key value(s) shared by more than {block_cap} reference persons"
                    f" even with the finer key; {hit} record(s) left to later passes"
                )
    return " UNION ".join(parts)


def blocked_pairs(con: duckdb.DuckDBPyConnection, records_std, settings) -> pl.DataFrame:
    """Every (rid, person_id) pair some pass proposes, with the first pass that does, all records open in every
    pass (no cascade): what blocking recall is measured on (``doisoat.evaluate.blocking_recall_by_kind``)."""

    from doisoat.match.columns import register_records

    register_records(con, records_std)
    con.execute("CREATE OR REPLACE TEMP TABLE _m_open AS SELECT rid FROM _m_rec")
    con.execute("CREATE OR REPLACE TEMP TABLE _m_bp (rid BIGINT, person_id VARCHAR, pass_no INTEGER)")
    for i, bpass in enumerate(settings.passes):
        sql = candidate_pairs_sql(
            con, bpass, "_m_rec", "_m_open", "reference_person", settings.block_cap, PassStats()
        )
        con.execute(f"INSERT INTO _m_bp SELECT DISTINCT rid, person_id, {i} FROM ({sql})")
    names = pl.DataFrame(
        {"pass_no": list(range(len(settings.passes))), "match_pass": [p.name for p in settings.passes]}
    )
    out = con.sql("SELECT rid, person_id, min(pass_no) AS pass_no FROM _m_bp GROUP BY ALL").pl()
    for t in ("_m_bp", "_m_open", "_m_rec"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return (
        out.with_columns(pl.col("pass_no").cast(pl.Int64))
        .join(names.with_columns(pl.col("pass_no").cast(pl.Int64)), on="pass_no")
        .drop("pass_no")
    )
