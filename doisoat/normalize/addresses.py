"""Commune from an address text: parse the unit parts of an address and resolve them against the unit tables.

Registers without a commune code write "Thôn 1, X. Tam Thanh, TP. Tam Kỳ, T. Quảng Nam", "Tổ 3, P. Tân Thạnh, TP Tam
Kỳ", "xa Tam Thanh tp Tam Ky", or the new (post-1 July 2025) form "Xã Tam Xuân, TP Đà Nẵng" (DOMAIN.md §6).

Parsing (:func:`parse_address`): the text is cut at separators (comma, semicolon, new line, hyphen) and at unit
markers — "Xã/X.", "Phường/P./F.", "Thị trấn/TT./T.Tr", "Đặc khu" (commune level), "Huyện/H.", "Quận/Q.", "Thị xã/TX."
(district), "Thành phố/TP." (district or province), "Tỉnh/T." (province) — in any case, with or without diacritics.
A marker word directly followed by no name ("Xã Quan Sơn": "quan" after "xã") is a name word; with diacritics a word
that is not the marker ("Phương", "Quán", "Tịnh") is never one. Parts without a marker are read by position (a unit
part is followed only by larger units); house-level parts ("Thôn/Tổ/Khối/Ấp/Số nhà/Xóm…", street numbers) are
ignored.

Resolution (:func:`resolve_address`): the commune name is looked up among the old (pre-2025) and the new units of the
provinces in play, narrowed by a district (old units of that district, and the new units that received one of them)
and a province in the text; a district or province of another province in the text takes precedence over the
provinces in play (the person lives there), a district that exists nowhere (a typo) is left out. Every unit that fits gives an outcome: a new unit itself, an old unit the new unit it
became (or "split" when it went to several). One outcome → that commune; several → **no commune**, never a guess
(status ``unresolved``, reason ``ADDRESS_COMMUNE_UNRESOLVED``). When the text has diacritics and they tell
same-plain-name units apart ("Hòa Phước" / "Hòa Phúc"), they decide.

Python runs once per distinct address tail (the last parts of the text, where the units are).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import polars as pl

from doisoat.normalize.encodings import repair, to_new_tone_style
from doisoat.normalize.units import load_units

__all__ = [
    "AddressParts",
    "Segment",
    "address_frame",
    "parse_address",
    "provinces_in_play",
    "resolve_address",
]

# ── text forms ────────────────────────────────────────────────────────────────────────────────────────────────


def _plain_char(c: str) -> str:
    if c in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", c)[0]
    return base if base.isascii() else c


def _forms(text: str) -> tuple[str, str]:
    """(accented, plain) lower-case forms of the same length, character for character."""
    acc = unicodedata.normalize("NFC", text).lower()
    return acc, "".join(_plain_char(c) for c in acc)


def _key(text: str) -> str:
    """Alphanumeric words, single spaces, numbers without leading zeros ('Phường 01' → '1')."""
    words = re.sub(r"[^\w]+", " ", text).split()
    return " ".join(w.lstrip("0") or "0" if w.isdigit() else w for w in words)


_UNIT_PREFIX = re.compile(r"^(thi tran|thi xa|thanh pho|dac khu|xa|phuong|huyen|quan|tinh)\s+")


def _unit_keys(name: str) -> tuple[str, str]:
    """(accented key, plain key) of a unit's official name, its type word removed."""
    acc, plain = _forms(name)
    acc, plain = _key(to_new_tone_style(acc)), _key(plain)
    m = _UNIT_PREFIX.match(plain)
    if m:
        n = len(m.group(0))
        acc, plain = acc[n:], plain[n:]
    return acc, plain


# ── parsing ───────────────────────────────────────────────────────────────────────────────────────────────────

C, D, P = "commune", "district", "province"
_MARKERS: tuple[tuple[str, str, str | None, str | None], ...] = (
    # (plain regex, level, the accented word when it is written out — another word with diacritics is a name —,
    #  the unit type it names)
    (r"thi tran", C, "thị trấn", "Thị trấn"),
    (r"thi xa", D, "thị xã", None),
    (r"thanh pho", "city", "thành phố", None),
    (r"dac khu", C, "đặc khu", "Đặc khu"),
    (r"t\.\s?tr\b\.?", C, None, "Thị trấn"),
    (r"t\.\s?p\b\.?", "city", None, None),
    (r"tt\b\.?", C, None, "Thị trấn"),
    (r"tx\b\.?", D, None, None),
    (r"tp\b\.?", "city", None, None),
    (r"tp(?=hcm\b)", "city", None, None),
    (r"xa", C, "xã", "Xã"),
    (r"phuong", C, "phường", "Phường"),
    (r"huyen", D, "huyện", None),
    (r"quan", D, "quận", None),
    (r"tinh", P, "tỉnh", None),
    (r"x\.", C, None, "Xã"),
    (r"[pf]\.", C, None, "Phường"),
    (r"[pf](?=\s?\d)", C, None, "Phường"),
    (r"h\.", D, None, None),
    (r"q\.", D, None, None),
    (r"q(?=\s?\d)", D, None, None),
    (r"t\.", P, None, None),
)
_MARKER_RE = re.compile(
    r"(?<![\w.])(?:"
    + "|".join(
        f"(?P<m{i}>{rx})" if rx.endswith((".", ")")) else f"(?P<m{i}>{rx})(?![^\\W\\d])"
        for i, (rx, _, _, _) in enumerate(_MARKERS)
    )
    + ")"
)
_SEPARATORS = re.compile(r"[,;\n\r|()]|\s-\s|-(?=\s*[a-z])|\s–\s")
_HOUSE_WORDS = {  # house-level words (plain → as written with diacritics; None: an abbreviation)
    "thon": "thôn",
    "to dan pho": "tổ dân phố",
    "to": "tổ",
    "tdp": None,
    "khoi pho": "khối phố",
    "khoi": "khối",
    "khu pho": "khu phố",
    "khu dan cu": "khu dân cư",
    "khu": "khu",
    "kp": None,
    "kdc": None,
    "ap": "ấp",
    "so nha": "số nhà",
    "so": "số",
    "sn": None,
    "xom": "xóm",
    "ban": "bản",
    "buon": "buôn",
    "lang": "làng",
    "doi": "đội",
    "duong": "đường",
    "ngo": "ngõ",
    "ngach": "ngách",
    "hem": "hẻm",
    "kiet": "kiệt",
    "lo": "lô",
    "chung cu": "chung cư",
    "cum": "cụm",
    "khom": "khóm",
    "tieu khu": "tiểu khu",
}
_HOUSE = re.compile(r"^(?:(" + "|".join(_HOUSE_WORDS) + r")(?=\s|\.|$|\d)|\d|[a-z]\d)")


def _house(plain: str, acc: str, accented: bool) -> str | None:
    """'sure' for a house-level part ("Thôn 1", "12 Lê Lợi", "KP Tân Hòa"), 'maybe' for a house word and a name
    ("Thôn Phú Xuân", but also the communes "Xóm Củi", "Bàn Thạch" written "ban thach"), None otherwise."""
    m = _HOUSE.match(plain)
    if not m:
        return None
    word = m.group(1)
    if (
        word is None
        or _HOUSE_WORDS[word] is None
        or plain[len(word) :].lstrip(" .").startswith(tuple("0123456789"))
    ):
        return "sure"
    written = acc[: len(word)]
    return "maybe" if written in (_HOUSE_WORDS[word], word) else None


_COUNTRY = {"viet nam", "vietnam", "vn"}
_PROVINCE_ALIASES = {"hcm": "ho chi minh", "tphcm": "ho chi minh", "sai gon": "ho chi minh", "hn": "ha noi"}


@dataclass(frozen=True)
class Segment:
    """One part of an address: the levels it may be (by its marker, or by position when it has none) and its name."""

    levels: tuple[str, ...]  # () for a house-level part
    plain: str
    acc: str
    marked: bool
    unit_type: str | None = None  # "Xã", "Phường", "Thị trấn", "Đặc khu" when the marker names one
    accented: bool = False  # the address is written with diacritics: "Thanh" then means Thanh, not Thạnh
    house_like: bool = False  # starts with a house-level word in its plain form only: a unit as a last resort
    alt_plain: str | None = None  # the marker word read as part of the name ("phuong duc": Phượng Dực)
    alt_acc: str | None = None


@dataclass(frozen=True)
class AddressParts:
    segments: tuple[Segment, ...]


@lru_cache(maxsize=1)
def _hyphen_names() -> re.Pattern[str] | None:
    """Unit names that contain a hyphen ('Văn Miếu - Quốc Tử Giám'): their hyphen is not a separator."""
    u = load_units()
    names = set(u.new["ward"].to_list()) | set(u.old["ward"].drop_nulls().to_list())
    names |= set(u.old["district"].drop_nulls().to_list())
    names |= set(u.old["province"].drop_nulls().to_list()) | set(u.new["province"].drop_nulls().to_list())
    pats = set()
    for name in names:
        if "-" in name:
            plain = _forms(name)[1]
            plain = _UNIT_PREFIX.sub("", plain)
            parts = [re.escape(p.strip()) for p in plain.split("-")]
            pats.add(r"\s*-\s*".join(parts))
    return re.compile("|".join(sorted(pats))) if pats else None


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    """Plain name keys of every unit, all levels, old and new."""
    ix = _index()
    return frozenset(ix.new_plain) | frozenset(ix.old_plain) | frozenset(ix.district_plain)


def _inside_name(text: str, before: str, marker: str) -> bool:
    """Whether a unit name starts ``text`` and takes in the whole ``marker`` after its first words ``before``."""
    if not before:
        return False
    words = _key(text).split()
    n_through = len(before.split()) + len(_key(marker).split())
    names = _known_names()
    return any(" ".join(words[:k]) in names for k in range(len(words), n_through - 1, -1))


def _protect_hyphens(plain: str) -> str:
    pat = _hyphen_names()
    if pat is None or "-" not in plain:
        return plain
    return pat.sub(lambda m: m.group(0).replace("-", " "), plain)


def parse_address(text: str | None) -> AddressParts:
    """The address cut into its parts (house-level parts kept with no level, so positions stay meaningful)."""
    if not text or not text.strip():
        return AddressParts(())
    acc, plain = _forms(text)
    accented = acc != plain
    plain = _protect_hyphens(plain)
    segments: list[Segment] = []
    start = 0
    pieces = []
    for m in _SEPARATORS.finditer(plain):
        pieces.append((start, m.start()))
        start = m.end()
    pieces.append((start, len(plain)))
    for a, b in pieces:
        cuts: list[tuple[int, int, str, str | None]] = []  # (marker start, name start, level, unit type)
        for m in _MARKER_RE.finditer(plain, a, b):
            i = int(next(k for k, v in m.groupdict().items() if v is not None)[1:])
            _, level, word, unit_type = _MARKERS[i]
            if word is not None and acc[m.start() : m.end()] not in (word, plain[m.start() : m.end()]):
                continue  # "Phương", "Quán", "Tịnh": a name word with its own diacritics
            name_before = plain[cuts[-1][1] : m.start()] if cuts else plain[a : m.start()]
            if (
                word is not None
                and acc[m.start() : m.end()] != word
                and _inside_name(
                    plain[cuts[-1][1] if cuts else a : b], _key(name_before), plain[m.start() : m.end()]
                )
            ):
                continue  # "x. dong phuong yen": Xã Đông Phương Yên, not "Đông" and a Phường "Yên"
            if cuts and not _key(name_before):
                # two markers in a row: the second begins the first one's name ("Xã Quan Sơn", "Huyện Quan Hóa"),
                # unless the first ends the name before it ("Phường Điện Phương TX. Điện Bàn")
                prev_start, prev_end = cuts[-1][0], cuts[-1][1]
                before = plain[cuts[-2][1] if len(cuts) > 1 else a : prev_start]
                if not (
                    plain[prev_start:prev_end].isalpha()
                    and _key(before)
                    and _key(plain[cuts[-2][1] if len(cuts) > 1 else a : prev_end]) in _known_names()
                ):
                    continue
                cuts.pop()
            cuts.append((m.start(), m.end(), level, unit_type))
        # a marker with no name after it (before the piece ends) is a name word of the part before it
        while cuts and not _key(plain[cuts[-1][1] : b]):
            cuts.pop()
        first = cuts[0][0] if cuts else b
        head_plain = _key(plain[a:first])
        if head_plain:
            head_acc = _key(to_new_tone_style(acc[a:first]))
            house = _house(head_plain, head_acc, accented)
            levels = () if house == "sure" or head_plain in _COUNTRY else (C, D, P)
            segments.append(Segment(levels, head_plain, head_acc, False, None, accented, house == "maybe"))
        for j, (marker_start, name_start, level, unit_type) in enumerate(cuts):
            end = cuts[j + 1][0] if j + 1 < len(cuts) else b
            levels = (D, P) if level == "city" else (level,)
            word = plain[marker_start:name_start].isalpha()  # a written-out word, not "X." / "TP."
            segments.append(
                Segment(
                    levels,
                    _key(plain[name_start:end]),
                    _key(to_new_tone_style(acc[name_start:end])),
                    True,
                    unit_type,
                    accented,
                    False,
                    _key(plain[marker_start:end]) if word else None,
                    _key(to_new_tone_style(acc[marker_start:end])) if word else None,
                )
            )
    return AddressParts(tuple(segments))


# ── unit indexes ──────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _Index:
    new_plain: dict[str, tuple[str, ...]]  # name key → new ward codes
    old_plain: dict[str, tuple[str, ...]]
    new_acc: dict[str, str]  # code → accented key
    old_acc: dict[str, str]
    new_type: dict[str, str]  # code → "Xã", "Phường", …
    old_type: dict[str, str]
    new_prov: dict[str, str]  # new ward → new province
    old_prov: dict[str, str]  # old ward → old province
    old_district: dict[str, str]  # old ward → district code
    targets: dict[str, tuple[str, ...]]  # old ward → new wards
    district_plain: dict[str, tuple[str, ...]]  # district key → district codes
    district_acc: dict[str, str]
    district_prov: dict[str, str]  # district → old province
    district_new: dict[str, frozenset[str]]  # district → new wards that received one of its wards
    prov_new_plain: dict[str, tuple[str, ...]]  # province key → new province codes
    prov_old_plain: dict[str, tuple[str, ...]]  # province key → old province codes
    oldprov_new: dict[str, frozenset[str]]  # old province → new provinces its wards went to
    oldprov_wards_new: dict[str, frozenset[str]]  # old province → new wards that received one of its wards


def _group(pairs) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return {k: tuple(sorted(set(v))) for k, v in out.items()}


@lru_cache(maxsize=1)
def _index() -> _Index:
    u = load_units()
    new_acc, new_keys = {}, []
    for code, ward in u.new.select("ward_code", "ward").iter_rows():
        acc, plain = _unit_keys(ward)
        new_acc[code] = acc
        new_keys.append((plain, code))
    old = u.old.filter(pl.col("ward_code").is_not_null())
    old_acc, old_keys = {}, []
    for code, ward in old.select("ward_code", "ward").iter_rows():
        acc, plain = _unit_keys(ward)
        old_acc[code] = acc
        old_keys.append((plain, code))
    districts = u.old.select("district_code", "district", "province_code").unique("district_code")
    district_acc, district_keys = {}, []
    for code, name, _ in districts.iter_rows():
        acc, plain = _unit_keys(name)
        district_acc[code] = acc
        district_keys.append((plain, code))
    old_district = dict(old.select("ward_code", "district_code").iter_rows())
    district_new: dict[str, set[str]] = {}
    oldprov_wards_new: dict[str, set[str]] = {}
    old_prov = dict(old.select("ward_code", "province_code").iter_rows())
    for o, tg in u.targets.items():
        if o in old_district:
            district_new.setdefault(old_district[o], set()).update(tg)
            oldprov_wards_new.setdefault(old_prov[o], set()).update(tg)
    prov_new = _group(
        (_unit_keys(p)[1], c) for c, p in u.new.select("province_code", "province").unique().iter_rows()
    )
    prov_old = _group(
        (_unit_keys(p)[1], c) for c, p in u.old.select("province_code", "province").unique().iter_rows()
    )
    for alias, name in _PROVINCE_ALIASES.items():
        if name in prov_new:
            prov_new[alias] = prov_new[name]
        if name in prov_old:
            prov_old[alias] = prov_old[name]
    return _Index(
        new_plain=_group(new_keys),
        old_plain=_group(old_keys),
        new_acc=new_acc,
        old_acc=old_acc,
        new_type=dict(u.new.select("ward_code", "ward_type").drop_nulls().iter_rows()),
        old_type=dict(old.select("ward_code", "ward_type").drop_nulls().iter_rows()),
        new_prov=dict(u.new_province),
        old_prov=old_prov,
        old_district=old_district,
        targets=dict(u.targets),
        district_plain=_group(district_keys),
        district_acc=district_acc,
        district_prov=dict(districts.select("district_code", "province_code").iter_rows()),
        district_new={k: frozenset(v) for k, v in district_new.items()},
        prov_new_plain=prov_new,
        prov_old_plain=prov_old,
        oldprov_new={
            k: frozenset(u.new_province[n] for n in v if n in u.new_province)
            for k, v in oldprov_wards_new.items()
        },
        oldprov_wards_new={k: frozenset(v) for k, v in oldprov_wards_new.items()},
    )


def _by_accents(codes: Sequence[str], acc_of: dict[str, str], seg: Segment) -> list[str]:
    """Keep the units whose accented name is the one written, when the text has diacritics and one fits."""
    codes = list(codes)
    if len(codes) > 1 and seg.accented:
        fit = [c for c in codes if acc_of.get(c) == seg.acc]
        if fit:
            return fit
    return codes


# ── resolution ────────────────────────────────────────────────────────────────────────────────────────────────

#: (commune_code_std, commune_code_old, commune_status, reason codes), as :func:`doisoat.normalize.units.resolve_commune`
Resolved = tuple[str | None, str | None, str | None, tuple[str, ...]]
UNRESOLVED = "ADDRESS_COMMUNE_UNRESOLVED"
_NONE: Resolved = (None, None, "unknown", (UNRESOLVED,))
_REPAIRED = frozenset({"tcvn3", "vni", "mojibake"})


def _outcomes(
    commune: Segment, district: Segment | None, province: Segment | None, scope: frozenset[str] | None
) -> set | None:
    """The outcomes of every unit that fits these parts; None when a district or province named does not exist."""
    ix = _index()
    new_scope, old_prov_filter, new_ward_filter = scope, None, None
    if province is not None:
        key = _PROVINCE_ALIASES.get(province.plain, province.plain)
        p_new = set(ix.prov_new_plain.get(key, ()))
        p_old = set(ix.prov_old_plain.get(key, ()))
        if not p_new and not p_old:
            return None
        named = p_new | {n for o in p_old for n in ix.oldprov_new.get(o, ())}
        if not p_new:  # an old province only (Quảng Nam): its old units, and the new units that took them in
            old_prov_filter = p_old
            new_ward_filter = frozenset().union(*(ix.oldprov_wards_new.get(o, frozenset()) for o in p_old))
        new_scope = frozenset(named)
    districts: list[str] | None = None
    if district is not None:
        named_districts = ix.district_plain.get(district.plain, ())
        if not named_districts:
            return None  # no such district anywhere (a typo)
        districts = [
            d
            for d in named_districts
            if (old_prov_filter is None or ix.district_prov[d] in old_prov_filter)
            and (new_scope is None or ix.district_new.get(d, frozenset()) & _wards_of(new_scope))
        ]
        if not districts and province is None and scope is not None:
            # "Xã Tam Thanh, Huyện Vụ Bản": a district of another province says where the person lives
            return _outcomes(commune, district, None, None)
        districts = _by_accents(districts, ix.district_acc, district)
        if not districts:
            return set()  # a district that is not in the province named
        dnew = frozenset().union(*(ix.district_new.get(d, frozenset()) for d in districts))
        new_ward_filter = dnew if new_ward_filter is None else new_ward_filter & dnew
    olds = [
        o
        for o in ix.old_plain.get(commune.plain, ())
        if (districts is None or ix.old_district.get(o) in districts)
        and (old_prov_filter is None or ix.old_prov.get(o) in old_prov_filter)
        and (new_scope is None or any(ix.new_prov.get(t) in new_scope for t in ix.targets.get(o, ())))
    ]
    news = [
        n
        for n in ix.new_plain.get(commune.plain, ())
        if (new_scope is None or ix.new_prov[n] in new_scope)
        and (new_ward_filter is None or n in new_ward_filter)
    ]
    if not olds and not news and commune.alt_plain:  # "phuong duc": no Phường Đức, but Phượng Dực
        alt = Segment((C,), commune.alt_plain, commune.alt_acc or "", False, None, commune.accented)
        return _outcomes(alt, district, province, scope)
    if commune.accented and len(olds) + len(news) > 1:
        fit_old = [o for o in olds if ix.old_acc.get(o) == commune.acc]
        fit_new = [n for n in news if ix.new_acc.get(n) == commune.acc]
        if fit_old or fit_new:
            olds, news = fit_old, fit_new
    if commune.unit_type and len(olds) + len(news) > 1:  # "TT. Núi Thành": the thị trấn, not the xã
        fit_old = [o for o in olds if ix.old_type.get(o) == commune.unit_type]
        fit_new = [n for n in news if ix.new_type.get(n) == commune.unit_type]
        if fit_old or fit_new:
            olds, news = fit_old, fit_new
    out: set = set()
    for o in olds:
        tg = ix.targets.get(o, ())
        out.add(("old", tg[0], o) if len(tg) == 1 else ("split", None, o))
    for n in news:
        out.add(("new", n, None))
    return out


@lru_cache(maxsize=64)
def _wards_of(provinces: frozenset[str]) -> frozenset[str]:
    ix = _index()
    return frozenset(n for n, p in ix.new_prov.items() if p in provinces)


def _interpretations(parts: AddressParts):
    """(commune, district, province) readings of the parts, the most complete first, grouped by commune position."""
    segs = [s for s in parts.segments if s.levels]
    marked_c = [i for i, s in enumerate(segs) if s.marked and s.levels == (C,)]
    if marked_c:
        starts = [marked_c[-1]]
    else:
        starts = [i for i, s in enumerate(segs) if C in s.levels and not s.marked]
    for i in starts:
        rest = segs[i + 1 :]
        readings = []
        if len(rest) <= 2:
            for levels in product(*(s.levels for s in rest)):
                if C in levels or len(set(levels)) < len(levels) or list(levels) != sorted(levels):
                    continue  # one district then one province ("district" < "province")
                named = dict(zip(levels, rest, strict=True))
                readings.append((segs[i], named.get(D), named.get(P)))
        yield i, readings


def _search(parts: AddressParts, scope: frozenset[str] | None) -> set | None:
    """The outcomes of the first reading of the parts that fits some unit (None: none fits)."""
    found: set | None = None
    all_invalid = True  # every reading names a district or province that does not exist
    for _, readings in _interpretations(parts):
        outcomes = [_outcomes(c, d, p, scope) for c, d, p in readings]
        all_invalid &= all(r is None for r in outcomes)
        results = [r for r in outcomes if r]
        if results:
            found = (found or set()).union(*results)
            if not readings[0][0].house_like:
                break
            # "Duong Quang, Gia Lam": Xã Dương Quang (Gia Lâm) or a street and Xã Gia Lâm: the next reading must agree
    if found is None and all_invalid:
        # a district or province that does not exist (a typo): the commune alone, never more certain than it is
        for _, readings in _interpretations(parts):
            for c, _, _ in readings[:1] if readings and readings[0][0].marked else []:
                r = _outcomes(c, None, None, scope)
                if r:
                    return r
    return found


def resolve_address(text: str | None, provinces: Sequence[str] | None = None) -> Resolved:
    """(commune_code_std, commune_code_old, commune_status, reason codes) for one address text.

    ``provinces``: the new (2-digit) province codes in play; a province written in the text takes precedence."""
    if text:
        fixed, kind = repair(text)
        if (
            kind in _REPAIRED
        ):  # a cell typed in TCVN3/VNI fonts or UTF-8 read as cp1252 (not telex: "4a" is no "ã")
            text = fixed
    parts = parse_address(text)
    scope = frozenset(provinces) if provinces else None
    found = _search(parts, scope)
    units = [s for s in parts.segments if s.levels]
    if not found and units and not units[-1].marked and units[-1].plain not in _known_names():
        # a last part that names no unit ("Tam Thanh, Tam Kỳ, QN"): read the address without it
        last = max(i for i, s in enumerate(parts.segments) if s.levels)
        found = _search(AddressParts(parts.segments[:last]), scope)
    if not found:
        return _NONE
    if len(found) > 1:
        current = {code for _, code, _ in found}
        if (
            len(current) == 1 and None not in current
        ):  # several old (or old and new) names of one current unit
            status = "current" if any(kind == "new" for kind, _, _ in found) else "mapped"
            return current.pop(), None, status, ()
        return None, None, "unresolved", (UNRESOLVED,)
    kind, code, old = next(iter(found))
    if kind == "new":
        return code, None, "current", ()
    if kind == "old":
        return code, old, "mapped", ()
    return None, old, "ambiguous", ("COMMUNE_SPLIT_AMBIGUOUS",)


# ── frames ────────────────────────────────────────────────────────────────────────────────────────────────────

#: share of the coded rows a province needs to count as in play (a few people registered elsewhere do not widen
#: the scope and make names ambiguous); a heuristic, not a documented rule — configurable here.
PROVINCE_MIN_SHARE = 0.01


def provinces_in_play(codes: pl.Series, min_share: float = PROVINCE_MIN_SHARE) -> list[str] | None:
    """New province codes of the current commune codes given (``commune_code_std``), those with at least
    ``min_share`` of them; None when there are none."""
    u = load_units()
    counts = (
        pl.DataFrame({"c": codes.cast(pl.Utf8)})
        .drop_nulls()
        .with_columns(
            pl.col("c").replace_strict(u.new_province, default=None, return_dtype=pl.Utf8).alias("p")
        )
        .drop_nulls("p")
        .group_by("p")
        .len()
    )
    total = counts["len"].sum() if counts.height else 0
    if not total:
        return None
    return sorted(p for p, n in counts.iter_rows() if n / total >= min_share)


#: the address parts kept for resolution: units come last, so the last few comma parts hold them all
TAIL_PARTS = 4


def address_frame(address: pl.Series, provinces: Sequence[str] | None = None) -> pl.DataFrame:
    """One row per address: ``commune_code_std, commune_code_old, commune_status, _unit_issues`` (null row for a
    null or blank address). Python runs once per distinct address tail."""
    tail = (
        address.cast(pl.Utf8)
        .str.strip_chars()
        .str.split(",")
        .list.tail(TAIL_PARTS)
        .list.join(",")
        .str.replace_all(r"\s+", " ")
    )
    frame = pl.DataFrame({"_a": tail}).with_columns(
        pl.when(pl.col("_a").str.strip_chars() == "").then(None).otherwise(pl.col("_a")).alias("_a")
    )
    distinct = frame.select("_a").unique().drop_nulls()
    scope = tuple(sorted(provinces)) if provinces else None
    rows = [resolve_address(a, scope) for a in distinct["_a"]]
    table = distinct.with_columns(
        pl.Series("commune_code_std", [r[0] for r in rows], dtype=pl.Utf8),
        pl.Series("commune_code_old", [r[1] for r in rows], dtype=pl.Utf8),
        pl.Series("commune_status", [r[2] for r in rows], dtype=pl.Utf8),
        pl.Series("_unit_issues", [",".join(r[3]) or None for r in rows], dtype=pl.Utf8),
    )
    return frame.join(table, on="_a", how="left", maintain_order="left").drop("_a")


def _text(s: pl.Series | None, n: int) -> pl.Series:
    if s is None:
        return pl.Series([None] * n, dtype=pl.Utf8)
    s = s.cast(pl.Utf8)
    return s.set(s.str.strip_chars().fill_null("") == "", None)  # type: ignore[arg-type]


def communes_with_addresses(
    communes: pl.DataFrame,
    code: pl.Series | None,
    name: pl.Series | None,
    address: pl.Series | None,
    provinces: Sequence[str] | None = None,
) -> pl.DataFrame:
    """``communes`` (from :func:`doisoat.normalize.units.commune_frame`) with the rows that found no commune in
    their code filled from their address (or, lacking one, from their commune name read as an address), and the
    column ``commune_origin``: ``coded`` (from the code column), ``from_address`` (from the address or commune
    name text), ``none`` (no commune).

    The provinces in play are ``provinces``, else those of the rows' own codes (:func:`provinces_in_play`), else
    those of the addresses that determine a commune in the whole country."""
    n = communes.height
    code_s, name_s, addr_s = _text(code, n), _text(name, n), _text(address, n)
    frame = communes.with_columns(
        code_s.alias("_code"),
        addr_s.alias("_addr"),
        pl.coalesce(addr_s, name_s).alias("_text"),
        (pl.col("commune_code_std").is_not_null() | pl.col("commune_code_old").is_not_null()).alias("_found"),
    )
    origin = (
        pl.when(~pl.col("_found"))
        .then(pl.lit("none"))
        .when(pl.col("_code").is_not_null())
        .then(pl.lit("coded"))
        .otherwise(pl.lit("from_address"))
    )
    frame = frame.with_columns(origin.alias("commune_origin"))
    need = frame.select((~pl.col("_found") & pl.col("_text").is_not_null()).alias("need"))["need"]
    if need.any():
        sub = frame.with_row_index("_i").filter(need)
        if provinces is None:
            coded = frame.filter(pl.col("_found") & pl.col("_code").is_not_null())["commune_code_std"]
            provinces = provinces_in_play(coded)
        if provinces is None:
            # no codes at all: the provinces of the addresses that name a unit of the whole country without doubt
            # (a province or district written, or a name found nowhere else) are those in play
            provinces = provinces_in_play(address_frame(sub["_text"], None)["commune_code_std"])
        got = address_frame(sub["_text"], provinces)
        found = got["commune_code_std"].is_not_null() | got["commune_code_old"].is_not_null()
        # a commune name that fails again keeps its own result; a failed address is said so (its reason code)
        take = found | sub["_addr"].is_not_null()
        keep_code_issue = sub["_code"].is_not_null()
        issues = pl.DataFrame(
            {"a": sub["_unit_issues"], "b": got["_unit_issues"], "k": keep_code_issue}
        ).select(
            pl.concat_str(
                [pl.when(pl.col("k")).then(pl.col("a")), pl.col("b")], separator=",", ignore_nulls=True
            ).replace("", None)
        )
        upd = pl.DataFrame(
            {
                "_i": sub["_i"].filter(take),
                "commune_code_std": got["commune_code_std"].filter(take),
                "commune_code_old": got["commune_code_old"].filter(take),
                "commune_status": got["commune_status"].filter(take),
                "_unit_issues": issues.to_series().filter(take),
                "commune_origin": pl.Series(
                    ["from_address" if f else "none" for f in found.filter(take)], dtype=pl.Utf8
                ),
            }
        )
        frame = frame.with_row_index("_i").update(upd, on="_i", include_nulls=True).drop("_i")
    return frame.select(*communes.columns, "commune_origin")
