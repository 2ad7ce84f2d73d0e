"""Synthetic residence addresses in the forms real registers use, with the commune each one determines.

``address_test_set(n, seed)`` draws people's current communes (mostly Thành phố Đà Nẵng, 48, which took in Quảng Nam,
and some of Hà Nội and Thành phố Hồ Chí Minh for numbered wards) and writes each person's address in a new (post-2025)
or an old (pre-2025) form: full or abbreviated unit words ("Xã/X./xa", "Phường/P./F.", "Thị trấn/TT./T.Tr", "Huyện/H.",
"Quận/Q.", "Thị xã/TX.", "Thành phố/TP./Tp", "Tỉnh/T."), parts without unit words, diacritics or not, old or new tone
style, any case, commas, hyphens or only spaces, house-level parts first ("Thôn 3", "Tổ 5", "Số nhà 12 đường …"),
district and province written or left out.

``expected_outcome`` is the oracle: from the parts the address was written with (not from its text), a brute-force
filter over the unit tables gives every unit the parts fit. One current commune → that commune (the person's own, by
construction); an old commune split over several new units → ``split``; several → ``ambiguous`` (a resolver must
then give no commune). Synthetic data only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from doisoat.normalize.encodings import to_new_tone_style, to_old_tone_style
from doisoat.normalize.names import plain_text
from doisoat.settings import PROJECT_ROOT

UNITS_DIR = PROJECT_ROOT / "doisoat" / "data"
PROVINCE_WEIGHTS = {"48": 0.7, "01": 0.15, "79": 0.15}

COMMUNE_WORDS = {
    "Xã": ["Xã ", "X. ", "X.", "xã "],
    "Phường": ["Phường ", "P. ", "P.", "F.", "phường "],
    "Thị trấn": ["Thị trấn ", "TT. ", "TT ", "T.Tr ", "thị trấn "],
    "Đặc khu": ["Đặc khu "],
}
NUMBERED_WARD_WORDS = ["Phường ", "P.", "P", "F", "F.", "P. "]
DISTRICT_WORDS = {
    "Huyện": ["Huyện ", "H. ", "H.", "huyện "],
    "Quận": ["Quận ", "Q. ", "Q.", "quận "],
    "Thị xã": ["Thị xã ", "TX. ", "TX ", "thị xã "],
    "Thành phố": ["Thành phố ", "TP. ", "TP ", "Tp ", "Tp."],
}
NUMBERED_DISTRICT_WORDS = ["Quận ", "Q.", "Q", "Q. "]
PROVINCE_WORDS = {"Tỉnh": ["Tỉnh ", "T. ", "T.", "tỉnh "], "Thành phố": ["Thành phố ", "TP. ", "TP ", "Tp. "]}
HOUSE_PARTS = [
    "Thôn {k}",
    "Tổ {k}",
    "Khối phố {k}",
    "Ấp {k}",
    "Tổ dân phố {k}",
    "Số nhà {k} đường Lê Lợi",
    "{k} Hùng Vương",
    "K{k}/3 Nguyễn Văn Linh",
    "KP {k}",
    "Xóm {k}",
    "Thôn Phú Xuân",
    "Thôn Tây An",
]
TYPES = ("Thị trấn", "Thị xã", "Thành phố", "Đặc khu", "Xã", "Phường", "Huyện", "Quận", "Tỉnh")


def split_type(official: str) -> tuple[str, str]:
    """'Thành phố Tam Kỳ' → ('Thành phố', 'Tam Kỳ')."""
    for t in TYPES:
        if official.startswith(t + " "):
            return t, official[len(t) + 1 :]
    return "", official


def _key(text: str, accented: bool) -> str:
    text = to_new_tone_style(text.lower()) if accented else plain_text(text).lower()
    words = re.sub(r"[^\w]+", " ", text).split()
    return " ".join(w.lstrip("0") or "0" if w.isdigit() else w for w in words)


@dataclass(frozen=True)
class Tables:
    old: pl.DataFrame  # per old ward: code, name, type, district, district name, old province, targets
    new: (
        pl.DataFrame
    )  # per new ward: code, name, type, new province, old wards and districts and provinces it took in
    provinces_old: dict[str, str]  # old province code → name
    provinces_new: dict[str, str]


@lru_cache(maxsize=1)
def tables() -> Tables:
    new = pl.read_parquet(UNITS_DIR / "units_new.parquet")
    old = pl.read_parquet(UNITS_DIR / "units_old.parquet").drop_nulls("ward_code")
    mp = pl.read_parquet(UNITS_DIR / "units_map.parquet")
    targets = mp.group_by("old_ward_code").agg(pl.col("new_ward_code").unique().sort().alias("targets"))
    old_t = old.join(targets, left_on="ward_code", right_on="old_ward_code", how="left").with_columns(
        pl.col("targets").fill_null([])
    )
    took = (
        mp.join(old.rename({"ward_code": "old_ward_code"}), on="old_ward_code")
        .group_by("new_ward_code")
        .agg(
            pl.col("district_code").unique().alias("districts_in"),
            pl.col("province_code").unique().alias("provinces_in"),
        )
    )
    new_t = new.join(took, left_on="ward_code", right_on="new_ward_code", how="left")
    return Tables(
        old=old_t,
        new=new_t,
        provinces_old=dict(old.select("province_code", "province").unique().iter_rows()),
        provinces_new=dict(new.select("province_code", "province").unique().iter_rows()),
    )


@dataclass(frozen=True)
class Written:
    """What an address says, part by part (as the oracle reads it)."""

    commune: str  # the name as written (without its unit word)
    commune_type: str | None  # the unit type its word names, None when written without one
    district: str | None
    province: str | None
    accented: bool


def _keys(names: pl.Series, accented: bool) -> pl.Series:
    return pl.Series([_key(split_type(s)[1], accented) if s else None for s in names], dtype=pl.Utf8)


@lru_cache(maxsize=1)
def _keyed() -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str], dict[str, str]]:
    t = tables()
    old = t.old.with_columns(
        _keys(t.old["ward"], False).alias("ck"),
        _keys(t.old["ward"], True).alias("ca"),
        _keys(t.old["district"], False).alias("dk"),
        _keys(t.old["district"], True).alias("da"),
    )
    new = t.new.with_columns(_keys(t.new["ward"], False).alias("ck"), _keys(t.new["ward"], True).alias("ca"))
    pold = {c: _key(split_type(nm)[1], False) for c, nm in t.provinces_old.items()}
    pnew = {c: _key(split_type(nm)[1], False) for c, nm in t.provinces_new.items()}
    return old, new, pold, pnew


def expected_outcome(w: Written, scope: tuple[str, ...]) -> tuple[str, str | None, str | None]:
    """('resolved', new code, old code or None) / ('split', None, old code) / ('ambiguous' | 'none', None, None)."""
    t = tables()
    old_all, new_all, pold, pnew = _keyed()
    new_prov = dict(t.new.select("ward_code", "province_code").iter_rows())
    new_scope = set(scope)
    old_prov_filter = None
    new = new_all
    if w.province is not None:
        pk = _key(w.province, False)
        pk = {"hcm": "ho chi minh"}.get(pk, pk)
        p_new = {c for c, k in pnew.items() if k == pk}
        p_old = {c for c, k in pold.items() if k == pk}
        of_old = {
            new_prov[x]
            for tg in old_all.filter(pl.col("province_code").is_in(list(p_old)))["targets"].to_list()
            for x in tg
        }
        new_scope = p_new | of_old
        if not p_new:
            old_prov_filter = p_old
            new = new.filter(
                pl.col("provinces_in").list.eval(pl.element().is_in(list(p_old))).list.any().fill_null(False)
            )
    in_scope = pl.col("targets").list.eval(pl.element().is_in(list(new_scope_wards(new_scope)))).list.any()
    old = old_all.filter(in_scope)
    if old_prov_filter is not None:
        old = old.filter(pl.col("province_code").is_in(list(old_prov_filter)))
    new = new.filter(pl.col("province_code").is_in(list(new_scope)))
    if w.district is not None:
        dists = old.filter(pl.col("dk") == _key(w.district, False)).unique("district_code")
        if w.accented and dists.height > 1:
            fit = dists.filter(pl.col("da") == _key(w.district, True))
            dists = fit if fit.height else dists
        codes = dists["district_code"].to_list()
        old = old.filter(pl.col("district_code").is_in(codes))
        new = new.filter(
            pl.col("districts_in").list.eval(pl.element().is_in(codes)).list.any().fill_null(False)
        )
    old = old.filter(pl.col("ck") == _key(w.commune, False))
    new = new.filter(pl.col("ck") == _key(w.commune, False))
    if w.accented and old.height + new.height > 1:
        ca = _key(w.commune, True)
        fo, fn = old.filter(pl.col("ca") == ca), new.filter(pl.col("ca") == ca)
        if fo.height + fn.height:
            old, new = fo, fn
    if w.commune_type and old.height + new.height > 1:
        fo, fn = (
            old.filter(pl.col("ward_type") == w.commune_type),
            new.filter(pl.col("ward_type") == w.commune_type),
        )
        if fo.height + fn.height:
            old, new = fo, fn
    outcomes = set()
    for code, tg in old.select("ward_code", "targets").iter_rows():
        outcomes.add(("old", tg[0], code) if len(tg) == 1 else ("split", None, code))
    for code in new["ward_code"]:
        outcomes.add(("new", code, None))
    if not outcomes:
        return "none", None, None
    current = {c for _, c, _ in outcomes}
    if len(current) == 1 and None not in current:
        olds = [o for k, _, o in outcomes if k == "old"]
        return "resolved", current.pop(), olds[0] if len(outcomes) == 1 and olds else None
    if len(outcomes) == 1:
        return "split", None, next(iter(outcomes))[2]
    return "ambiguous", None, None


@lru_cache(maxsize=64)
def _scope_wards(scope: frozenset[str]) -> frozenset[str]:
    t = tables()
    return frozenset(t.new.filter(pl.col("province_code").is_in(list(scope)))["ward_code"].to_list())


def new_scope_wards(scope: set[str]) -> frozenset[str]:
    return _scope_wards(frozenset(scope))


def _case(text: str, r: float) -> str:
    return text.lower() if r < 0.15 else text.upper() if r < 0.22 else text


def address_test_set(n: int = 5000, seed: int = 0) -> pl.DataFrame:
    """``n`` addresses: ``address, province_scope, truth_code`` (the person's current commune), ``form``
    (new/old, unmarked, plain …), ``expect`` (resolved / split / ambiguous / none), ``expect_code``,
    ``expect_old``."""
    t = tables()
    rng = np.random.default_rng(seed)
    provs = list(PROVINCE_WEIGHTS)
    p_w = np.array(list(PROVINCE_WEIGHTS.values()))
    rows = []
    old_by_target: dict[str, list[dict]] = {}
    for rec in t.old.iter_rows(named=True):
        for tg in rec["targets"]:
            old_by_target.setdefault(tg, []).append(rec)
    new_by_prov = {p: t.new.filter(pl.col("province_code") == p).to_dicts() for p in provs}
    for _ in range(n):
        prov = provs[rng.choice(len(provs), p=p_w / p_w.sum())]
        unit = new_by_prov[prov][rng.integers(len(new_by_prov[prov]))]
        olds = old_by_target.get(unit["ward_code"], [])
        old_form = bool(olds) and rng.random() < 0.6
        unmarked = rng.random() < 0.1
        accented = rng.random() < 0.7
        if old_form:
            o = olds[rng.integers(len(olds))]
            ctype, cname = split_type(o["ward"])
            dtype, dname = split_type(o["district"])
            ptype, pname = split_type(t.provinces_old[o["province_code"]])
            with_district = rng.random() < 0.6
            with_province = rng.random() < 0.4
        else:
            ctype, cname = split_type(unit["ward"])
            dtype = dname = None
            ptype, pname = split_type(t.provinces_new[prov])
            with_district = False
            with_province = rng.random() < 0.5
        numbered = cname.isdigit()
        parts = []
        if rng.random() < 0.75:
            parts.append(HOUSE_PARTS[rng.integers(len(HOUSE_PARTS))].format(k=int(rng.integers(1, 30))))
        if unmarked and not numbered:
            cword = ""
        elif numbered:
            cword = NUMBERED_WARD_WORDS[rng.integers(len(NUMBERED_WARD_WORDS))]
        else:
            words = COMMUNE_WORDS.get(ctype, [""])
            cword = words[rng.integers(len(words))]
        parts.append(cword + (cname.zfill(2) if numbered and rng.random() < 0.2 else cname))
        if with_district and dname:
            if unmarked and not dname.isdigit():
                dword = ""
            elif dname.isdigit():
                dword = NUMBERED_DISTRICT_WORDS[rng.integers(len(NUMBERED_DISTRICT_WORDS))]
            else:
                words = DISTRICT_WORDS.get(dtype, [""])
                dword = words[rng.integers(len(words))]
            parts.append(dword + dname)
        if with_province:
            if pname == "Hồ Chí Minh" and rng.random() < 0.5:
                parts.append(["TP.HCM", "Tp HCM", "TP. HCM", "tphcm"][rng.integers(4)])
            else:
                words = PROVINCE_WORDS.get(ptype, ["Tỉnh "])
                parts.append(("" if unmarked else words[rng.integers(len(words))]) + pname)
        r = rng.random()
        every_part_marked = not unmarked
        sep = ", " if r < 0.6 or not every_part_marked else " - " if r < 0.75 else "," if r < 0.85 else " "
        text = sep.join(parts)
        text = to_old_tone_style(text) if rng.random() < 0.5 else to_new_tone_style(text)
        if not accented:
            text = plain_text(text)
        text = _case(text, rng.random())
        accented = plain_text(text) != text  # "X.Thanh An Tp HCM" has no diacritic left to tell
        written = Written(
            commune=cname,
            commune_type=(ctype if cword else None) if not numbered else "Phường",
            district=dname if with_district and dname else None,
            province=pname if with_province else None,
            accented=accented,
        )
        expect, code, old_code = expected_outcome(written, (prov,))
        if expect == "resolved" and code != unit["ward_code"]:
            raise AssertionError(f"oracle: {text!r} resolves to {code}, written for {unit['ward_code']}")
        form = (
            ("old" if old_form else "new")
            + ("-unmarked" if unmarked else "")
            + ("" if accented else "-plain")
        )
        rows.append((text, prov, unit["ward_code"], form, expect, code, old_code))
    return pl.DataFrame(
        rows,
        schema=["address", "province_scope", "truth_code", "form", "expect", "expect_code", "expect_old"],
        orient="row",
    )


def render_address(
    code: pl.Series,
    seed: int = 0,
    old_codes: pl.Series | None = None,
    province: str = "48",
    commune_only_share: float = 0.0,
) -> pl.Series:
    """An address text for each current commune code (a sample extract's "Địa chỉ" column); where ``old_codes`` gives
    the person's pre-2025 commune, the old form is written with its district. ``commune_only_share`` of the old forms
    name the commune alone ("Thôn 1, X. Tam Thanh", as registers often do): some then fit several communes."""
    t = tables()
    rng = np.random.default_rng(seed)
    new_name = dict(t.new.select("ward_code", "ward").iter_rows())
    old_rec = {r["ward_code"]: r for r in t.old.iter_rows(named=True)}
    prov_name = t.provinces_new.get(province, "")
    out = []
    olds = old_codes.to_list() if old_codes is not None else [None] * len(code)
    for c, o in zip(code.to_list(), olds, strict=True):
        house = HOUSE_PARTS[rng.integers(len(HOUSE_PARTS))].format(k=int(rng.integers(1, 30)))
        if o is not None and o in old_rec:
            rec = old_rec[o]
            ctype, cname = split_type(rec["ward"])
            dtype, dname = split_type(rec["district"])
            cword = COMMUNE_WORDS.get(ctype, ["", ""])[1]
            text = f"{house}, {cword}{cname}"
            if rng.random() >= commune_only_share:
                text += f", {DISTRICT_WORDS.get(dtype, ['', ''])[1]}{dname}"
        elif c is not None and c in new_name:
            ctype, cname = split_type(new_name[c])
            text = f"{house}, {COMMUNE_WORDS.get(ctype, ['Xã '])[0]}{cname}, {prov_name}"
        else:
            out.append(None)
            continue
        out.append(plain_text(text).lower() if rng.random() < 0.2 else text)
    return pl.Series("address", out, dtype=pl.Utf8)


def rewrite_with_addresses(
    src: Path,
    dst: Path,
    code_column: str = "Mã xã",
    address_column: str = "Địa chỉ",
    separator: str = ";",
    seed: int = 0,
    commune_only_share: float = 0.0,
) -> pl.DataFrame:
    """A CSV extract as an agency without commune codes sends it: ``code_column`` replaced by ``address_column``
    (written from each row's code, old codes in the old form). Returns the units the codes meant, one row per data row
    (``commune_code_std, commune_code_old, commune_status``), for comparison."""
    from doisoat.normalize.units import commune_frame

    raw = pl.read_csv(src, separator=separator, infer_schema=False)
    units = commune_frame(raw[code_column], None, units_context="auto")
    address = render_address(
        units["commune_code_std"],
        seed=seed,
        old_codes=units["commune_code_old"],
        commune_only_share=commune_only_share,
    )
    raw.with_columns(address.alias(address_column)).drop(code_column).write_csv(dst, separator=separator)
    return units.drop("_unit_issues")
