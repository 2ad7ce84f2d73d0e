"""Person names: repair, clean, key forms for matching, and the split into surname / middle / given (DOMAIN §4).

Forms: ``name_display`` (repaired, title case, original tone placement), ``name_key`` (lower case NFC, new-style
tone placement), ``name_plain`` (no diacritics, đ→d), ``name_variant`` (plain with the accepted variant merges
below). Python runs once per distinct raw name, with per-word caches; results are joined back to the rows.

Variant merges (``name_variant`` only; the key forms keep what was written):
- Huỳnh→hoang and Võ→vu, as whole words anywhere but the given name (surname or middle name; DOMAIN §4: the
  Nguyễn lords' naming taboo). A given name Võ/Vũ is a different given name and is not merged.
- i/y: a word-final ``y`` after a consonant, after ``u`` or alone becomes ``i``: the open syllables where y and i
  are one sound and both spellings occur for one person (Lý/Lí, Mỹ/Mĩ, Kỳ/Kì, Sỹ/Sĩ, Vỹ/Vĩ, Thy/Thi, Quý/Quí,
  Ý/Í, and Duy/Dui, Huy/Hui, Uy/Ui as clerks also type them). No real given name is lost by these merges: "-ui"
  names are rare (Bùi has no "-uy" twin). Not merged: ``ay``/``ai`` (Mai and May, Hai and Hay are different
  names), and ``y`` inside a word (Quỳnh, Huyền, Nguyễn).
- Apostrophes are dropped (Bh'riu ~ Bhriu).

Legacy encodings are repaired per name (``encodings.repair``). A word that reads as a syllable both as written and
in a legacy form ("Thò" / VNI "Thị") is settled by a word table (``Lexicon``): alone, by what a clerk knows
(``NAME_PRIOR``: the commonest surnames, the middle names Văn and Thị); in ``names_frame`` also by the column: a
source file whose names are mostly TCVN3/VNI reads its ambiguous names in that encoding, and in a column with names
in a legacy form a word is read so when the column's counts in the same part of the name say it (``_settles``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import polars as pl

from doisoat.normalize._issues import join_codes
from doisoat.normalize.encodings import (
    VIETNAMESE_LETTERS,
    from_tcvn3,
    from_vni,
    is_vietnamese_syllable,
    repair,
    to_new_tone_style,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "NAME_COLUMNS",
    "NameParts",
    "names_frame",
    "normalize_name",
    "plain_text",
]

# (plain words, the fewest words the full name must have for the prefix to count as one surname)
COMPOUND_SURNAMES: tuple[tuple[tuple[str, ...], int], ...] = (
    (("cong", "tang", "ton", "nu"), 5),
    (("ton", "that"), 3),
    (("ton", "nu"), 3),
    (("nguyen", "phuc"), 4),  # with 3 words "Nguyễn Phúc An" is far more often surname + middle + given
    (("nguyen", "phuoc"), 4),
)
_VARIANT_NON_GIVEN = {"huynh": "hoang", "vo": "vu"}
_IY_RE = re.compile(r"^(?:qu|[^aeiouy]*u?)y$")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "Ð": "Đ", "ð": "đ"})
_SEPARATORS_RE = re.compile(r"[\s.,;:_\-/\\|()\[\]{}\"]+")
_CP1252_WORD = frozenset(bytes(range(0x80)).decode("ascii") + bytes(range(0xA0, 0x100)).decode("cp1252"))
_INVALID_RE = re.compile("[^ '" + "".join(sorted(VIETNAMESE_LETTERS)) + "]")


class NameParts(NamedTuple):
    name_display: str | None
    name_key: str | None
    name_plain: str | None
    name_variant: str | None
    surname_key: str | None
    middle_key: str | None
    given_key: str | None
    surname_plain: str | None
    middle_plain: str | None
    given_plain: str | None
    name_repair: str | None
    invalid_chars: bool


NAME_COLUMNS = list(NameParts._fields[:-1])
_EMPTY = NameParts(*([None] * 11), False)


def plain_text(text: str) -> str:
    """Diacritics removed and đ/Đ folded (stripping combining marks alone leaves đ as it is)."""
    decomposed = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def _word_forms(word: str) -> tuple[str, str, str]:
    """(key, plain, title-case display) of one cleaned word."""
    key = to_new_tone_style(word.lower())
    display = word[:1].upper() + word[1:].lower()
    return key, plain_text(key), display


def _variant_word(plain: str, is_given: bool) -> str:
    w = plain.replace("'", "")
    if not is_given:
        w = _VARIANT_NON_GIVEN.get(w, w)
    if _IY_RE.match(w):
        w = w[:-1] + "i"
    return w


def _split(n: int, plains: list[str]) -> tuple[int, int]:
    """(surname length, given start) for a name of n words."""
    if n == 1:
        return 0, 0
    for prefix, min_words in COMPOUND_SURNAMES:
        k = len(prefix)
        if n >= min_words and tuple(plains[:k]) == prefix:
            return k, n - 1
    return 1, n - 1


def _clean(text: str) -> tuple[list[str], bool]:
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    text = _SEPARATORS_RE.sub(" ", text)
    cleaned = _INVALID_RE.sub("", text)
    invalid = cleaned != text
    text = cleaned
    words = [w.strip("'") for w in text.split()]
    return [w for w in words if w], invalid


@lru_cache(maxsize=500_000)
def normalize_name(raw: str | None, hint: str | None = None) -> NameParts:
    """All name forms of one raw name (see the module docstring). Never raises. ``hint``: the legacy form most
    names of the same file are in (see :func:`doisoat.normalize.encodings.repair`)."""
    if raw is None or not raw.strip():
        return _EMPTY
    text, kind = repair(raw, hint)
    if kind is None:
        collapsed = " ".join(raw.split(" "))
        collapsed = " ".join(collapsed.split())
        if collapsed != raw:
            text, kind = repair(collapsed, hint)
    words, invalid = _clean(text or "")
    if kind is None and words and " ".join(words) != " ".join((text or "").split()):
        # stray characters may have hidden a legacy form: look again at the cleaned words (keeps keys idempotent)
        fixed, kind = repair(" ".join(words))
        if kind is not None:
            words, _ = _clean(fixed or "")
    parts = _parts(words, kind, invalid)
    return _reread(parts, PRIOR_LEXICON) or parts  # what a clerk knows settles "Thò" alone (NAME_PRIOR)


def _parts(words: list[str], kind: str | None, invalid: bool) -> NameParts:
    """The name forms of cleaned, repaired words."""
    if not words:
        return NameParts(*([None] * 10), kind, invalid)
    forms = [_word_forms(w) for w in words]
    keys = [f[0] for f in forms]
    plains = [f[1] for f in forms]
    n = len(words)
    s_len, g_start = _split(n, plains)
    variant = " ".join(_variant_word(p, i >= g_start) for i, p in enumerate(plains))
    return NameParts(
        name_display=" ".join(f[2] for f in forms),
        name_key=" ".join(keys),
        name_plain=" ".join(plains),
        name_variant=variant,
        surname_key=" ".join(keys[:s_len]),
        middle_key=" ".join(keys[s_len:g_start]),
        given_key=" ".join(keys[g_start:]),
        surname_plain=" ".join(plains[:s_len]),
        middle_plain=" ".join(plains[s_len:g_start]),
        given_plain=" ".join(plains[g_start:]),
        name_repair=kind,
        invalid_chars=invalid,
    )


FILE_HINT_SHARE = 0.5  # a file is "in TCVN3 / VNI" when this share of its distinct non-ASCII names are
FILE_CP1252_SHARE = 0.9  # … and this share of them hold only cp1252 characters


def _file_hints(pairs: pl.DataFrame, first: dict[str, NameParts]) -> dict[str | None, str]:
    """group → ``tcvn3`` / ``vni`` when at least FILE_HINT_SHARE of the group's distinct non-ASCII names were read
    in that form on their own and FILE_CP1252_SHARE of them hold only cp1252 characters: the file is in that
    encoding, so its ambiguous names are too."""
    hints: dict[str | None, str] = {}
    for (group,), vals in pairs.group_by("_group"):
        non_ascii = [v for v in vals["_value"].to_list() if not v.isascii()]
        if not non_ascii:
            continue
        # a legacy file holds only cp1252 characters; a Unicode file with legacy words in its names (ễ ị ă đ …
        # beside them) is no TCVN3/VNI file, even when most of its names hold such a word
        if sum(_CP1252_WORD.issuperset(v) for v in non_ascii) < FILE_CP1252_SHARE * len(non_ascii):
            continue
        for kind in ("tcvn3", "vni"):
            if sum(first[v].name_repair == kind for v in non_ascii) >= FILE_HINT_SHARE * len(non_ascii):
                hints[group] = kind
    return hints


# A word that reads as a syllable both as written and in VNI/TCVN3 ("Thò" / VNI "Thị", "Vò" / TCVN3 "Vũ") is
# read in the legacy form on the evidence of a word table (``Lexicon``): the clerk's own knowledge
# (``NAME_PRIOR``) plus, in ``names_frame``, the column's word counts. (unconfirmed: tuned on synthetic extracts,
# seed 7 of bench/bench_encodings.py; set LEXICON_MIN and UNSEEN_MIN very high to switch the table off.)
LEXICON_RATIO = 20  # the reading, in the same part of the name, this many times as frequent as the word …
LEXICON_MIN = 20  # … and seen this many times
UNSEEN_RATIO = 5  # a word no other part of any name holds: the reading this many times as frequent …
UNSEEN_MIN = 5  # … and seen this many times in the column

# What a clerk knows without the extract (DOMAIN §4): the commonest surnames by their shares and the middle names
# Văn and Thị, as counts in a pseudo-column of 10.000 names. It joins every column's counts, so a name alone
# ("Nguyeãn Thò Vi") reads "Thò" as the middle name Thị and "Hoà Văn An" as VNI "Hồ Văn An", while a column soon
# outweighs it. (unconfirmed: the middle-name shares are a guess from "mostly Văn / Thị".)
NAME_PRIOR: dict[tuple[str, str], int] = {
    **{
        ("s", w): n
        for w, n in (
            ("nguyễn", 3800),
            ("trần", 1100),
            ("lê", 950),
            ("phạm", 710),
            ("hoàng", 255),
            ("huỳnh", 255),
            ("phan", 450),
            ("vũ", 195),
            ("võ", 195),
            ("đặng", 210),
            ("bùi", 200),
            ("đỗ", 140),
            ("hồ", 130),
            ("ngô", 130),
            ("dương", 100),
            ("lý", 50),
        )
    },
    ("m", "văn"): 3500,
    ("m", "thị"): 4000,
}


class Lexicon(NamedTuple):
    """Word counts that settle words reading as syllables both ways. ``slot``: (part, word) → rows, prior
    included; ``after``: (part, previous word, word) → rows; ``anywhere``: word → rows in any part; ``rate``:
    kind → share of the column's non-ASCII names that came in that legacy form (0 alone: only the prior counts)."""

    slot: dict[tuple[str, str], int]
    after: dict[tuple[str, str, str], int]
    anywhere: dict[str, int]
    rate: dict[str, float]


PRIOR_LEXICON = Lexicon(NAME_PRIOR, {}, {}, {})
_PRIOR_WORDS = frozenset(w for _, w in NAME_PRIOR)


def _column_lexicon(
    frame: pl.DataFrame, pairs: pl.DataFrame, parts: list[NameParts], first: list[NameParts]
) -> Lexicon:
    """The column's word counts (row-weighted) and legacy rates, read from the names as repaired so far
    (counted in polars over the distinct names, one row per word)."""
    rows = frame.group_by(["_value", "_group"]).len()
    names = pl.DataFrame(
        {
            "_value": pairs["_value"],
            "_group": pairs["_group"],
            **{c: [getattr(p, f"{c}_key") for p in parts] for c in ("surname", "middle", "given")},
            "_first": [p0.name_repair for p0 in first],
        },
        schema={
            "_value": pl.Utf8,
            "_group": pl.Utf8,
            "surname": pl.Utf8,
            "middle": pl.Utf8,
            "given": pl.Utf8,
            "_first": pl.Utf8,
        },
    ).join(rows, on=["_value", "_group"], how="left", nulls_equal=True)
    legacy = names.filter(~pl.col("_value").str.contains(r"^[\x00-\x7f]*$")).select(
        pl.col("len").sum().alias("non_ascii"),
        *(
            pl.col("len").filter(pl.col("_first").is_in([kind, "mixed"])).sum().alias(kind)
            for kind in ("vni", "tcvn3")
        ),
    )
    non_ascii = legacy["non_ascii"][0] or 0
    rate = {k: legacy[k][0] / non_ascii for k in ("vni", "tcvn3")} if non_ascii else {}

    def words(col: str, part: str) -> tuple[pl.Expr, pl.Expr]:
        w = pl.col(col).fill_null("").str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
        return w, w.list.eval(pl.lit(part))

    (sw, ss), (mw, ms), (gw, gs) = words("surname", "s"), words("middle", "m"), words("given", "g")
    exploded = (
        names.select(
            "len",
            pl.int_range(pl.len()).alias("_name"),
            pl.concat_list(sw, mw, gw).alias("word"),
            pl.concat_list(ss, ms, gs).alias("part"),
        )
        .explode(["word", "part"])
        .drop_nulls("word")
        .with_columns(pl.col("word").shift(1).over("_name").fill_null("").alias("prev"))
    )
    slot = dict(NAME_PRIOR)
    by_slot = exploded.group_by("part", "word").agg(pl.col("len").sum())
    for part, word, n in by_slot.iter_rows():
        slot[(part, word)] = slot.get((part, word), 0) + n
    by_after = exploded.group_by("part", "prev", "word").agg(pl.col("len").sum())
    after = {(part, prev, word): n for part, prev, word, n in by_after.iter_rows()}
    by_word = exploded.group_by("word").agg(pl.col("len").sum())
    anywhere = dict(by_word.iter_rows())
    return Lexicon(slot, after, anywhere, rate)


def _apply_lexicon(
    frame: pl.DataFrame,
    pairs: pl.DataFrame,
    parts: list[NameParts],
    first: list[NameParts],
    hints: dict[str | None, str],
) -> list[NameParts]:
    """Re-read names whose ambiguous words the column's own word counts settle (see ``_lexicon_reading``); names
    of a file read in its encoding (``hints``) are settled already."""
    lex = _column_lexicon(frame, pairs, parts, first)
    out = []
    for g, p in zip(pairs["_group"].to_list(), parts, strict=True):
        found = None if g in hints else _reread(p, lex)
        out.append(p if found is None else found)
    return out


def _reread(p: NameParts, lex: Lexicon) -> NameParts | None:
    """``p`` with its ambiguous words read as ``lex`` says, or None when nothing changes."""
    if (
        p.name_display is None
        or p.name_display.isascii()
        or p.name_repair not in (None, "vni", "tcvn3", "mixed")
        or (found := _lexicon_reading(p, lex)) is None
    ):
        return None
    kind, text = found
    merged = kind if p.name_repair in (None, kind) else "mixed"
    return _parts(text.split(), merged, p.invalid_chars)


def _word_key(word: str) -> str:
    return _word_forms(word)[0]


def _slots(p: NameParts) -> list[str]:
    """The part each word of a name is in: ``s`` surname, ``m`` middle, ``g`` given."""
    n_s, n_m, n_g = (len((x or "").split()) for x in (p.surname_key, p.middle_key, p.given_key))
    return ["s"] * n_s + ["m"] * n_m + ["g"] * n_g


def _settles(w: str, r: str, kind: str, part: str, prev: str, lex: Lexicon) -> int:
    """How often the reading ``r`` of the written word ``w`` (both keys) is seen when the evidence says the word
    is legacy text, else 0. Evidence, in the same part of the name:
    - the reading is LEXICON_RATIO times as frequent as the word (and seen LEXICON_MIN times); the column's own
      counts of the reading weigh only when the column has names in that legacy form (a Unicode column's
      "Thị Hoàng" is a name, not VNI "Thị Hồng"), the prior's always;
    - after the same word ("Thị Hoàng" against "Thị Hồng"), the column's own rate of names in that legacy form
      explains every occurrence of the word (expected garbled readings ≥ rows written so);
    - no other part of any name holds the word ("Sôn" beside given names "Sơn"), and the reading is UNSEEN_RATIO
      times as frequent (seen UNSEEN_MIN times) in a column that has names in that form."""
    rate = lex.rate.get(kind, 0.0)
    p_r = NAME_PRIOR.get((part, r), 0)
    n_w = lex.slot.get((part, w), 0)
    n_r = lex.slot.get((part, r), 0) if rate else p_r
    if n_r >= LEXICON_MIN and n_r >= LEXICON_RATIO * max(n_w, 1):
        return n_r
    if not rate:
        return 0
    a_w, a_r = lex.after.get((part, prev, w), 0), lex.after.get((part, prev, r), 0)
    if a_r >= LEXICON_MIN and rate * a_r >= max(a_w, 1):
        return a_r
    c_w, c_r = n_w - NAME_PRIOR.get((part, w), 0), n_r - p_r
    if lex.anywhere.get(w, 0) <= c_w and c_r >= UNSEEN_MIN and c_r >= UNSEEN_RATIO * max(c_w, 1):
        return c_r
    return 0


@lru_cache(maxsize=100_000)
def _legacy_readings(word: str) -> tuple[tuple[str, str, str], ...]:
    """(kind, reading, its key) for each VNI/TCVN3 reading of a word that is a syllable as written and as read
    ("Thò" → VNI "Thị"); () for every other word."""
    if word.isascii() or not _CP1252_WORD.issuperset(word) or not is_vietnamese_syllable(word):
        return ()
    out = []
    for kind, fn in (("vni", from_vni), ("tcvn3", from_tcvn3)):
        reading = fn(word)
        if reading != word and is_vietnamese_syllable(reading):
            out.append((kind, reading, _word_key(reading)))
    return tuple(out)


def _lexicon_reading(p: NameParts, lex: Lexicon) -> tuple[str, str] | None:
    """(kind, the name with its ambiguous words read in the legacy form) when the word table, in the same part
    of the name, says so ("Thò" as a middle name against "Thị"; a given name "Hoà" is not weighed against the
    surname "Hồ"). The name is read as repaired so far (its display form)."""
    words = (p.name_display or "").split(" ")
    readings = [_legacy_readings(w) for w in words]
    if not lex.rate:  # the prior alone settles only readings it knows
        readings = [tuple(r for r in rs if r[2] in _PRIOR_WORDS) for rs in readings]
    if not any(readings):
        return None
    slots = _slots(p)
    if len(words) != len(slots):
        return None
    kinds = []
    prev = ""
    for i, w in enumerate(words):
        key = _word_key(w)
        best = None
        for kind, reading, r_key in readings[i]:
            n_r = _settles(key, r_key, kind, slots[i], prev, lex)
            if n_r and (best is None or n_r > best[0]):
                best = (n_r, kind, reading, r_key)
        if best is not None:
            words[i] = best[2]
            kinds.append(best[1])
            key = best[3]
        prev = key
    if not kinds:
        return None
    return (kinds[0] if len(set(kinds)) == 1 else "mixed"), " ".join(words)


def names_frame(s: pl.Series, groups: pl.Series | None = None) -> pl.DataFrame:
    """One row per input value: the ``NAME_COLUMNS`` and ``_name_issues`` (comma-joined codes or null:
    ``NAME_ENCODING_REPAIRED`` for a legacy encoding or typing artefact, ``NAME_INVALID_CHARS``).

    ``groups`` (e.g. the source file): names of a group mostly in TCVN3 or VNI are read in it when ambiguous.
    Python runs once per distinct name (and once more per distinct name of such a group)."""
    values = s.cast(pl.Utf8)
    group_col = groups.cast(pl.Utf8) if groups is not None else pl.Series([None] * len(values), dtype=pl.Utf8)
    frame = pl.DataFrame({"_value": values, "_group": group_col})
    pairs = frame.drop_nulls("_value").unique(["_value", "_group"])
    first = {v: normalize_name(v) for v in pairs["_value"].unique().to_list()}
    hints = _file_hints(pairs, first)
    parts = []
    for v, g in zip(pairs["_value"].to_list(), pairs["_group"].to_list(), strict=True):
        p = first[v]
        if (hint := hints.get(g)) is not None and not v.isascii():
            again = normalize_name(v, hint)
            p = again if again.name_repair == hint else p
        parts.append(p)
    parts = _apply_lexicon(frame, pairs, parts, [first[v] for v in pairs["_value"].to_list()], hints)
    cols: dict[str, list] = {f: [getattr(p, f) for p in parts] for f in NameParts._fields}
    table = pl.DataFrame(
        {"_value": pairs["_value"], "_group": pairs["_group"], **cols},
        schema={
            "_value": pl.Utf8,
            "_group": pl.Utf8,
            **{f: pl.Utf8 for f in NAME_COLUMNS},
            "invalid_chars": pl.Boolean,
        },
    ).with_columns(
        join_codes(
            pl.when(pl.col("name_repair").is_not_null() & (pl.col("name_repair") != "nfd")).then(
                pl.lit("NAME_ENCODING_REPAIRED")
            ),
            pl.when(pl.col("invalid_chars")).then(pl.lit("NAME_INVALID_CHARS")),
        ).alias("_name_issues")
    )
    return frame.join(
        table, on=["_value", "_group"], how="left", nulls_equal=True, maintain_order="left"
    ).select(*NAME_COLUMNS, "_name_issues")
