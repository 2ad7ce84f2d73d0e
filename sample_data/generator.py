"""A synthetic province: a reference population (CSDLQG extract), four sector extracts and their ground truth.

``generate(out, people, seed)`` writes ``reference.parquet``, the extracts of civil status (XLSX with a government
title block), social protection (CSV, BOM, semicolons), vaccination (CSV, doses) and insurance (Parquet), and
``truth/truth.parquet`` saying which reference person each extract row really is and which errors it carries.
Everything is vectorised over numpy/polars columns; the same arguments give byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
from unidecode import unidecode

from doisoat.normalize.encodings import (
    to_mojibake,
    to_new_tone_style,
    to_nfd,
    to_old_tone_style,
    to_tcvn3,
    to_telex,
    to_vni,
    to_vni_digits,
)
from doisoat.normalize.ids import PROVINCE_CODES
from doisoat.settings import PROJECT_ROOT
from sample_data import names as N
from sample_data.errors import (
    ID_GROUP,
    REPR_GROUP,
    SEX_GROUP,
    ErrorRates,
    choose_exclusive,
    digit_typo_expr,
    map_distinct,
    map_words,
    scientific_expr,
    transpose_expr,
    typo_expr,
)

GENERATOR_VERSION = "1"
EXTRACT_DATE = date(2025, 6, 30)  # the day the extracts were taken
EPOCH = date(1970, 1, 1)
XLSX_MAX_ROWS = 1_000_000  # an XLSX sheet holds 1 048 576 rows: above this a sector is written as CSV
REFERENCE_CSV_MAX = 50_000  # the reference gets a CSV twin only up to this many people
UNITS_DIR = PROJECT_ROOT / "doisoat" / "data"

SECTOR_FILES = {
    "civil_status": "ho_tich.xlsx",
    "social_protection": "an_sinh_xa_hoi.csv",
    "vaccination": "tiem_chung.csv",
    "insurance": "bao_hiem.parquet",
}
CIVIL_SHEET = "DanhSach"
DATE_FORMATS = ("dmy", "iso", "dmy_short", "dmy_dot", "ymd", "serial", "text")
SEX_CODINGS = (("M", "F"), ("nam", "nữ"), ("NAM", "NỮ"), ("Nam", "Nu"), ("Trai", "Gái"))
PHONE_PREFIXES_10 = (
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "070",
    "076",
    "077",
    "078",
    "079",
    "081",
    "082",
    "083",
    "084",
    "085",
    "086",
    "088",
    "089",
    "090",
    "091",
    "093",
    "094",
    "096",
    "097",
    "098",
    "056",
    "058",
    "059",
)
# 2018 renumbering (DOMAIN §3), new 3-digit prefix → old 4-digit prefix.
PHONE_OLD_PREFIX = {
    "032": "0162",
    "033": "0163",
    "034": "0164",
    "035": "0165",
    "036": "0166",
    "037": "0167",
    "038": "0168",
    "039": "0169",
    "070": "0120",
    "079": "0121",
    "077": "0122",
    "076": "0126",
    "078": "0128",
    "083": "0123",
    "084": "0124",
    "085": "0125",
    "081": "0127",
    "082": "0129",
    "056": "0186",
    "058": "0188",
    "059": "0199",
}


# ── helpers ────────────────────────────────────────────────────────────────────────────────────────────────────
def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _days(d: date) -> int:
    return (d - EPOCH).days


def _pick(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.Utf8).gather(idx)


def _unique_numbers(rng: np.random.Generator, prefix: np.ndarray, width: int) -> np.ndarray:
    """Random ``width``-digit tails, redrawn until ``prefix * 10**width + tail`` is unique."""
    tail = rng.integers(0, 10**width, size=prefix.shape[0])
    for _ in range(50):
        full = prefix * 10**width + tail
        _, first, counts = np.unique(full, return_index=True, return_counts=True)
        dup = np.ones(full.shape[0], dtype=bool)
        dup[first] = False  # keep the first of each value, redraw the others
        if not dup.any():
            break
        tail[dup] = rng.integers(0, 10**width, size=int(dup.sum()))
    return prefix * 10**width + tail


def _rand_cols(df: pl.DataFrame, rng: np.random.Generator, names: list[str]) -> pl.DataFrame:
    return df.with_columns([pl.Series(n, rng.random(df.height)) for n in names])


def date_text_expr(y: str, m: str, d: str, prec: str, fmt: str, u: str) -> pl.Expr:
    """A date as a clerk types it, in format ``fmt`` (DOMAIN §5), keeping year-only / month-year precision."""
    Y = pl.col(y).cast(pl.Utf8)
    mm = pl.col(m).cast(pl.Utf8).str.zfill(2)
    dd = pl.col(d).cast(pl.Utf8).str.zfill(2)
    m1 = pl.col(m).cast(pl.Utf8)
    d1 = pl.col(d).cast(pl.Utf8)
    yy = Y.str.slice(2, 2)
    serial = (
        (pl.date(pl.col(y), pl.col(m).fill_null(1), pl.col(d).fill_null(1)) - pl.lit(date(1899, 12, 30)))
        .dt.total_days()
        .cast(pl.Utf8)
    )
    full = {
        "dmy": pl.concat_str([dd, mm, Y], separator="/"),
        "iso": pl.concat_str([Y, mm, dd], separator="-"),
        "dmy_short": pl.concat_str([d1, m1, yy], separator="/"),
        "dmy_dot": pl.concat_str([dd, mm, Y], separator="."),
        "ymd": pl.concat_str([Y, mm, dd]),
        "serial": serial,
        "text": pl.concat_str([pl.lit("ngày "), dd, pl.lit(" tháng "), m1, pl.lit(" năm "), Y]),
    }
    month = {
        "dmy": pl.concat_str([mm, Y], separator="/"),
        "iso": pl.concat_str([Y, mm], separator="-"),
        "dmy_short": pl.concat_str([mm, Y], separator="/"),
        "dmy_dot": pl.concat_str([mm, Y], separator="."),
        "ymd": pl.concat_str([Y, mm, pl.lit("00")]),
        "serial": pl.concat_str([mm, Y], separator="/"),
        "text": pl.concat_str([pl.lit("tháng "), m1, pl.lit(" năm "), Y]),
    }
    year_plain = pl.when(pl.col(u) < 0.5).then(Y).otherwise(pl.lit("00/00/") + Y)
    year = {
        "dmy": year_plain,
        "iso": Y,
        "dmy_short": year_plain,
        "dmy_dot": Y,
        "ymd": Y + pl.lit("0000"),
        "serial": year_plain,
        "text": pl.lit("năm ") + Y,
    }
    expr = pl.lit(None, dtype=pl.Utf8)
    for f in DATE_FORMATS:
        by_prec = (
            pl.when(pl.col(prec) == "D")
            .then(full[f])
            .when(pl.col(prec) == "M")
            .then(month[f])
            .otherwise(year[f])
        )
        expr = pl.when(pl.col(fmt) == f).then(by_prec).otherwise(expr)
    return pl.when(pl.col(y).is_null()).then(None).otherwise(expr)


def _date_parts(col: str, prefix: str) -> list[pl.Expr]:
    c = pl.col(col)
    return [
        c.dt.year().alias(f"{prefix}_y"),
        c.dt.month().alias(f"{prefix}_m"),
        c.dt.day().alias(f"{prefix}_d"),
    ]


def _fmt_event_date(
    df: pl.DataFrame, col: str, fmt: str | pl.Expr, out: str, u: str = "u_evt"
) -> pl.DataFrame:
    """Render a full event date column in one format (or a per-row format column)."""
    tmp = df.with_columns(
        *_date_parts(col, "_e"),
        pl.lit("D").alias("_e_p"),
        (fmt if isinstance(fmt, pl.Expr) else pl.lit(fmt)).alias("_e_f"),
    )
    return tmp.with_columns(date_text_expr("_e_y", "_e_m", "_e_d", "_e_p", "_e_f", u).alias(out)).drop(
        "_e_y", "_e_m", "_e_d", "_e_p", "_e_f"
    )


# ── admin units ───────────────────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Units:
    communes: pl.DataFrame  # ward_code, ward, highland, weight
    old_codes: pl.DataFrame  # new_ward_code → old_codes (list), old_names (list)


def load_units(seed: int) -> Units:
    """Current communes of Thành phố Đà Nẵng (48) with population weights, and their former (pre-2025) codes."""
    new = pl.read_parquet(UNITS_DIR / "units_new.parquet").filter(pl.col("province_code") == "48")
    new = new.sort("ward_code")
    highland = pl.any_horizontal(
        [pl.col("ward").str.contains(w, literal=True) for w in N.HIGHLAND_COMMUNE_WORDS]
    )
    rng = _rng(seed, 1)
    base = np.where(new["ward_type"].to_numpy() == "Phường", 3.0, 1.0)
    weight = base * rng.gamma(2.0, 1.0, size=new.height)
    communes = new.select("ward_code", "ward").with_columns(
        highland.alias("highland"), pl.Series("weight", weight)
    )
    old = pl.read_parquet(UNITS_DIR / "units_old.parquet").filter(
        pl.col("province_code").is_in(["48", "49"]) & pl.col("ward_code").is_not_null()
    )
    mp = pl.read_parquet(UNITS_DIR / "units_map.parquet")
    old_codes = (
        mp.join(
            old.select(pl.col("ward_code").alias("old_ward_code"), pl.col("ward").alias("old_ward")),
            on="old_ward_code",
        )
        .filter(pl.col("new_ward_code").is_in(communes["ward_code"].implode()))
        .sort("new_ward_code", "old_ward_code")
        .group_by("new_ward_code", maintain_order=True)
        .agg(pl.col("old_ward_code").alias("old_codes"), pl.col("old_ward").alias("old_names"))
    )
    return Units(communes=communes, old_codes=old_codes)


# ── the population ────────────────────────────────────────────────────────────────────────────────────────────
def build_population(n_ref: int, n_absent: int, seed: int, units: Units) -> pl.DataFrame:
    """Everyone in the province: the first ``n_ref`` rows (in_reference) and ``n_absent`` people missing from it."""
    n = n_ref + n_absent
    rng = _rng(seed, 2)
    ref_days = _days(EXTRACT_DATE)

    # sex, age, birth date
    female = rng.random(n) < 0.505
    ages = np.arange(101)
    w_age = np.where(ages < 50, 1.0, np.exp(-(ages - 50) / 14.0))
    age = rng.choice(ages, size=n, p=w_age / w_age.sum()) + rng.random(n)
    birth_days = (ref_days - np.floor(age * 365.25) - 1).astype(np.int64)

    # surnames: main, other Kinh, compound (some female-only), ethnic bucket
    sn_names, sn_share, sn_sex = N.surname_table()
    sn_names = [*sn_names, "<ethnic>"]
    sn_share = [*sn_share, N.ETHNIC_SHARE]
    p = np.asarray(sn_share, dtype=float)
    sn_idx = rng.choice(len(sn_names), size=n, p=p / p.sum())
    female_only = np.asarray([s == "F" for s in sn_sex] + [False])
    female = female | female_only[sn_idx]
    ethnic = sn_idx == len(sn_names) - 1

    # middle names
    mm_names, mm_w = zip(*N.MIDDLE_MALE, strict=True)
    mf_names, mf_w = zip(*N.MIDDLE_FEMALE, strict=True)
    mid_m = rng.choice(len(mm_names), size=n, p=np.asarray(mm_w) / sum(mm_w))
    mid_f = rng.choice(len(mf_names), size=n, p=np.asarray(mf_w) / sum(mf_w))
    second_m = rng.choice(len(N.SECOND_MIDDLE_MALE), size=n)
    second_f = rng.choice(len(N.SECOND_MIDDLE_FEMALE), size=n)
    has_second = rng.random(n) < N.SECOND_MIDDLE_SHARE

    # given names (Zipf over a shuffled list, so popularity differs by seed)
    gm = list(dict.fromkeys(N.GIVEN_MALE))
    gf = list(dict.fromkeys(N.GIVEN_FEMALE))
    wm = np.asarray(N.zipf_weights(len(gm)))
    wf = np.asarray(N.zipf_weights(len(gf)))
    rng.shuffle(wm)
    rng.shuffle(wf)
    giv_m = rng.choice(len(gm), size=n, p=wm / wm.sum())
    giv_f = rng.choice(len(gf), size=n, p=wf / wf.sum())
    eth_sn = rng.choice(len(N.ETHNIC_SURNAMES), size=n)
    eth_gv = rng.choice(len(N.ETHNIC_GIVEN), size=n)
    eth_thi = rng.random(n) < 0.4

    # communes: ethnic-minority people live in the highlands
    com = units.communes
    w_all = com["weight"].to_numpy()
    hi = com["highland"].to_numpy()
    w_hi = np.where(hi, w_all, 0.0)
    commune_idx = rng.choice(com.height, size=n, p=w_all / w_all.sum())
    commune_hi = rng.choice(com.height, size=n, p=w_hi / w_hi.sum())
    commune_idx = np.where(ethnic, commune_hi, commune_idx)

    df = pl.DataFrame(
        {
            "female": female,
            "birth": pl.Series(birth_days, dtype=pl.Int64).cast(pl.Int32).cast(pl.Date),
            "ethnic": ethnic,
            "sn": _pick(sn_names, sn_idx),
            "eth_sn": _pick(N.ETHNIC_SURNAMES, eth_sn),
            "mid_m": _pick(mm_names, mid_m),
            "mid_f": _pick(mf_names, mid_f),
            "sec_m": _pick(N.SECOND_MIDDLE_MALE, second_m),
            "sec_f": _pick(N.SECOND_MIDDLE_FEMALE, second_f),
            "has_second": has_second,
            "giv_m": _pick(gm, giv_m),
            "giv_f": _pick(gf, giv_f),
            "eth_gv": _pick(N.ETHNIC_GIVEN, eth_gv),
            "eth_thi": eth_thi,
            "commune": com["ward_code"].gather(commune_idx),
        }
    )
    fem = pl.col("female")
    middle_kinh = pl.when(fem).then(pl.col("mid_f")).otherwise(pl.col("mid_m"))
    second = pl.when(fem).then(pl.col("sec_f")).otherwise(pl.col("sec_m"))
    middle_kinh = (
        pl.when(pl.col("has_second") & middle_kinh.is_in(["Văn", "Thị"]))
        .then(middle_kinh + " " + second)
        .otherwise(middle_kinh)
    )
    df = df.select(
        pl.when(fem).then(pl.lit("F")).otherwise(pl.lit("M")).alias("sex"),
        "birth",
        "ethnic",
        "commune",
        pl.when(pl.col("ethnic")).then(pl.col("eth_sn")).otherwise(pl.col("sn")).alias("surname"),
        pl.when(pl.col("ethnic"))
        .then(pl.when(fem & pl.col("eth_thi")).then(pl.lit("Thị")).otherwise(pl.lit("")))
        .otherwise(middle_kinh)
        .alias("middle"),
        pl.when(pl.col("ethnic"))
        .then(pl.col("eth_gv"))
        .otherwise(pl.when(fem).then(pl.col("giv_f")).otherwise(pl.col("giv_m")))
        .alias("given"),
    )
    df = _add_twins(df, rng)

    # birth-date precision: the elderly often have only a year or a month
    by = df["birth"].dt.year().to_numpy()
    u = rng.random(n)
    prec = np.where(
        by < 1950,
        np.where(u < 0.25, "Y", np.where(u < 0.35, "M", "D")),
        np.where(by < 1965, np.where(u < 0.05, "Y", np.where(u < 0.08, "M", "D")), "D"),
    )

    # deaths (the reference keeps the dead with a status and a date)
    age_now = (ref_days - df["birth"].cast(pl.Int32).to_numpy()) / 365.25
    p_dead = 0.003 + 0.45 * (age_now / 100.0) ** 4
    dead = rng.random(n) < p_dead
    lo = np.maximum(df["birth"].cast(pl.Int32).to_numpy() + 1, _days(date(2015, 1, 1)))
    death_days = lo + np.floor(rng.random(n) * (ref_days - 2 - lo)).astype(np.int64)

    # IDs: CCCD `PPP G YY RRRRRR`, birth-registration province mostly 049, some 048, a few elsewhere
    others = np.asarray([int(c) for c in PROVINCE_CODES if c not in ("048", "049")])
    up = rng.random(n)
    prov = np.where(up < 0.8, 49, np.where(up < 0.92, 48, others[rng.integers(0, others.size, n)]))
    g = (by - 1900) // 100 * 2 + (df["sex"].to_numpy() == "F")
    prefix = (prov * 10 + g) * 100 + by % 100
    cccd = _unique_numbers(rng, prefix.astype(np.int64), 6)
    # old 9-digit CMND for part of the adults (issued by Quảng Nam 205 / Đà Nẵng 201)
    has_cmnd = (by < 2003) & (rng.random(n) < 0.6)
    cmnd = _unique_numbers(rng, np.where(rng.random(n) < 0.8, 205, 201).astype(np.int64), 6)
    # phones (10-digit form) for most people over 15
    has_phone = (age_now >= 15) & (rng.random(n) < 0.75)
    phone_prefix = _pick(PHONE_PREFIXES_10, rng.integers(0, len(PHONE_PREFIXES_10), n))
    phone_tail = pl.Series(rng.integers(0, 10**7, n)).cast(pl.Utf8).str.zfill(7)
    # BHXH number: 10 digits, one per person for life (the reference does not hold it)
    bhxh = _unique_numbers(rng, np.where(rng.random(n) < 0.85, 49, 48).astype(np.int64), 8)
    in_ref = np.zeros(n, dtype=bool)
    in_ref[rng.permutation(n)[:n_ref]] = True

    df = df.with_columns(
        pl.Series("bprec", prec),
        pl.Series("dead", dead),
        pl.when(pl.Series(dead)).then(pl.Series(death_days).cast(pl.Int32).cast(pl.Date)).alias("death_date"),
        pl.Series("cccd", cccd).cast(pl.Utf8).str.zfill(12),
        pl.when(pl.Series(has_cmnd)).then(pl.Series(cmnd).cast(pl.Utf8)).alias("cmnd"),
        pl.when(pl.Series(has_phone)).then(phone_prefix + phone_tail).alias("phone"),
        pl.Series("bhxh", bhxh).cast(pl.Utf8).str.zfill(10),
        pl.Series("in_ref", in_ref),
    )
    full = pl.concat_str([pl.col("surname"), pl.col("middle"), pl.col("given")], separator=" ")
    df = df.with_columns(full.str.replace_all(r"\s+", " ").str.strip_chars().alias("full_name"))
    df = df.with_columns(map_words(df["full_name"], to_new_tone_style).alias("full_name"))
    return df.with_row_index("pid").with_columns(pl.col("pid").cast(pl.Int64))


def _add_twins(df: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """About 1 % of people get a twin: same surname, middle name, birth date and commune; given names often a pair."""
    n = df.height
    k = max(1, n // 200)
    firsts = rng.choice(n, size=k, replace=False)
    seconds = rng.choice(n, size=k, replace=False)
    keep = ~np.isin(seconds, firsts) & (firsts != seconds)
    firsts, seconds = firsts[keep], seconds[keep]
    _, first_pos = np.unique(seconds, return_index=True)
    firsts, seconds = firsts[first_pos], seconds[first_pos]
    pair = rng.integers(0, len(N.TWIN_PAIRS), size=firsts.size)
    use_pair = rng.random(firsts.size) < 0.3
    src = df[firsts]
    twins = src.with_columns(
        pl.Series("given", [N.TWIN_PAIRS[p][1] for p in pair]).alias("given_pair"),
        pl.Series("use_pair", use_pair),
        df["sex"].gather(seconds).alias("sex2"),
        df["given"].gather(seconds).alias("given2"),
        df["middle"].gather(seconds).alias("middle2"),
    ).select(
        pl.col("sex2").alias("sex"),
        "birth",
        "ethnic",
        "commune",
        "surname",
        pl.when(pl.col("sex2") == pl.col("sex"))
        .then(pl.col("middle"))
        .otherwise(pl.col("middle2"))
        .alias("middle"),
        pl.when(pl.col("use_pair")).then(pl.col("given_pair")).otherwise(pl.col("given2")).alias("given"),
    )
    firsts_given = pl.Series([N.TWIN_PAIRS[p][0] for p in pair], dtype=pl.Utf8)
    idx = pl.Series("i", np.arange(n))
    out = df.with_columns(idx)
    upd = twins.with_columns(pl.Series("i", seconds))
    out = out.update(upd, on="i")
    fg = pl.DataFrame({"i": firsts[use_pair], "given": firsts_given.filter(pl.Series(use_pair))})
    out = out.update(fg, on="i")
    return out.drop("i")


def reference_frame(pop: pl.DataFrame) -> pl.DataFrame:
    """The CSDLQG extract as a province would receive it: Vietnamese headers, dates as text, current codes."""
    ref = pop.filter(pl.col("in_ref")).with_columns(
        *_date_parts("birth", "b"), pl.lit("dmy").alias("_f"), pl.lit(0.0).alias("_u")
    )
    ref = ref.with_columns(
        date_text_expr("b_y", "b_m", "b_d", "bprec", "_f", "_u").alias("birth_txt"),
        pl.col("death_date").dt.strftime("%d/%m/%Y").alias("death_txt"),
    )
    return ref.select(
        pl.col("cccd").alias("Số định danh cá nhân"),
        pl.col("full_name").alias("Họ và tên"),
        pl.col("birth_txt").alias("Ngày sinh"),
        pl.when(pl.col("sex") == "M").then(pl.lit("Nam")).otherwise(pl.lit("Nữ")).alias("Giới tính"),
        pl.col("commune").alias("Mã phường/xã"),
        pl.when(pl.col("dead")).then(pl.lit("Đã chết")).otherwise(pl.lit("Còn sống")).alias("Tình trạng"),
        pl.col("death_txt").alias("Ngày mất"),
        pl.col("cmnd").alias("Số CMND cũ"),
        pl.col("phone").alias("Số điện thoại"),
    )


# ── sector events ─────────────────────────────────────────────────────────────────────────────────────────────
def _add_days(col: str, days: pl.Expr) -> pl.Expr:
    return (pl.col(col).cast(pl.Int32) + days.cast(pl.Int32)).cast(pl.Date)


def _clip_date(e: pl.Expr, hi: date) -> pl.Expr:
    return pl.when(e > pl.lit(hi)).then(pl.lit(hi)).otherwise(e)


def _after_death(
    df: pl.DataFrame, col: str, latest: date, rate: float, rng: np.random.Generator
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Dead people's activity (payment, dose, contribution) falls after the death for ``rate`` of the eligible."""
    df = _rand_cols(df, rng, ["u_ad", "u_ad2", "u_ad3"])
    eligible = pl.col("dead") & (pl.col("death_date") < pl.lit(latest) - pl.duration(days=1))
    flag = eligible & (pl.col("u_ad") < rate)
    span = (pl.lit(latest) - pl.col("death_date")).dt.total_days() - 1
    after = _add_days("death_date", (pl.col("u_ad2") * span).floor() + 1)
    before = _add_days("death_date", -(pl.col("u_ad3") * 60).floor() - 1)
    before = pl.when(before < pl.col("birth")).then(pl.col("birth")).otherwise(before)
    df = df.with_columns(
        pl.when(flag)
        .then(after)
        .when(pl.col("dead") & (pl.col(col) >= pl.col("death_date")))
        .then(before)
        .otherwise(pl.col(col))
        .alias(col),
        flag.fill_null(False).alias("after_death"),
        eligible.fill_null(False).alias("_ad_eligible"),
    )
    stats = {"eligible": int(df["_ad_eligible"].sum()), "applied": int(df["after_death"].sum())}
    return df.drop("u_ad", "u_ad2", "u_ad3", "_ad_eligible"), stats


def civil_status_events(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """One subject per row: khai sinh, khai tử (the dead, with the death date), kết hôn, nuôi con nuôi."""
    base = _rand_cols(
        pop.select("pid", "birth", "bprec", "dead", "death_date"), rng, ["u1", "u2", "u3", "u4"]
    )
    by = pl.col("birth").dt.year()
    hi = EXTRACT_DATE
    ks = base.filter(
        (pl.col("bprec") == "D") & (pl.col("u1") < pl.when(by >= 1980).then(0.85).otherwise(0.12))
    ).with_columns(
        pl.lit("Khai sinh").alias("event_type"),
        _clip_date(_add_days("birth", (-pl.col("u2").log() * 20).floor()), hi).alias("reg_date"),
    )
    kt = base.filter(pl.col("dead") & (pl.col("u1") < 0.9)).with_columns(
        pl.lit("Khai tử").alias("event_type"),
        _clip_date(_add_days("death_date", (pl.col("u2") * 30).floor() + 1), hi).alias("reg_date"),
    )
    kh = (
        base.filter((by <= hi.year - 20) & (pl.col("u3") < 0.35))
        .with_columns(
            pl.lit("Kết hôn").alias("event_type"),
            _clip_date(_add_days("birth", ((20 + pl.col("u2") * 15) * 365.25).floor()), hi).alias("reg_date"),
        )
        .filter(pl.col("death_date").is_null() | (pl.col("reg_date") < pl.col("death_date")))
    )
    nc = base.filter((by >= 2005) & (pl.col("u4") < 0.004)).with_columns(
        pl.lit("Nuôi con nuôi").alias("event_type"),
        _clip_date(_add_days("birth", ((0.5 + pl.col("u2") * 6) * 365.25).floor()), hi).alias("reg_date"),
    )
    ev = pl.concat([ks, kt, kh, nc]).with_columns(
        pl.when(pl.col("event_type") == "Khai tử")
        .then(pl.col("death_date"))
        .otherwise(pl.col("reg_date"))
        .alias("event_date"),
    )
    prefix = pl.col("event_type").replace_strict(
        {"Khai sinh": "KS", "Khai tử": "KT", "Kết hôn": "KH", "Nuôi con nuôi": "NCN"}
    )
    year = pl.col("reg_date").dt.year()
    seq = pl.col("reg_date").rank("ordinal").over(["event_type", year]).cast(pl.Utf8).str.zfill(6)
    ev = ev.with_columns(pl.concat_str([prefix, year.cast(pl.Utf8), seq], separator="-").alias("record_key"))
    return ev.select(
        "pid", "event_type", "event_date", "reg_date", "record_key", pl.lit(False).alias("after_death")
    )


SOCIAL_AMOUNTS = {
    "Bảo trợ xã hội": (500_000, 750_000, 1_000_000, 1_250_000),
    "Hộ nghèo": (300_000, 450_000, 600_000),
    "Người có công": (1_624_000, 2_055_000, 2_789_000, 3_150_000),
}


def social_events(
    pop: pl.DataFrame, rng: np.random.Generator, rate: float
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Payees: bảo trợ xã hội (mostly the very old), hộ nghèo (more in the highlands), người có công."""
    base = _rand_cols(
        pop.select("pid", "birth", "dead", "death_date", "ethnic"), rng, ["u1", "u2", "u3", "u_amt", "u_pay"]
    )
    age = EXTRACT_DATE.year - pl.col("birth").dt.year()
    btxh = base.filter(pl.col("u1") < pl.when(age >= 80).then(0.6).otherwise(0.01)).with_columns(
        pl.lit("Bảo trợ xã hội").alias("event_type")
    )
    hn = base.filter((age >= 18) & (pl.col("u2") < pl.when(pl.col("ethnic")).then(0.4).otherwise(0.04)))
    hn = hn.with_columns(pl.lit("Hộ nghèo").alias("event_type"))
    ncc = base.filter((age >= 60) & (pl.col("u3") < 0.08)).with_columns(
        pl.lit("Người có công").alias("event_type")
    )
    ev = pl.concat([btxh, hn, ncc])
    amount = pl.lit(None, dtype=pl.Int64)
    for kind, values in SOCIAL_AMOUNTS.items():
        pick = pl.lit(pl.Series(values, dtype=pl.Int64)).gather(
            (pl.col("u_amt") * len(values)).floor().cast(pl.Int64)
        )
        amount = pl.when(pl.col("event_type") == kind).then(pick).otherwise(amount)
    last = (
        pl.when(pl.col("u_pay") < 0.85)
        .then(pl.lit(date(2025, 6, 10)))
        .when(pl.col("u_pay") < 0.93)
        .then(pl.lit(date(2025, 5, 10)))
        .otherwise(
            (pl.lit(date(2019, 1, 10)).cast(pl.Int32) + (pl.col("u_amt") * 2280).floor().cast(pl.Int32)).cast(
                pl.Date
            )
        )
    )
    ev = ev.with_columns(amount.alias("amount"), last.alias("activity_date"))
    ev, stats = _after_death(ev, "activity_date", date(2025, 6, 10), rate, rng)
    ev = ev.with_row_index("n").with_columns(
        (pl.lit("DT") + (pl.col("n") + 1).cast(pl.Utf8).str.zfill(7)).alias("record_key"),
        pl.col("activity_date").alias("event_date"),
    )
    return ev.select(
        "pid", "event_type", "event_date", "activity_date", "amount", "record_key", "after_death"
    ), stats


ROUTINE_VACCINES = (
    "Viêm gan B sơ sinh",
    "BCG",
    "DPT-VGB-Hib (ComBE Five)",
    "OPV (bại liệt uống)",
    "IPV",
    "Sởi - Rubella (MR)",
    "Viêm não Nhật Bản",
)
COVID_VACCINES = (
    "COVID-19 AstraZeneca",
    "COVID-19 Pfizer (Comirnaty)",
    "COVID-19 Moderna (Spikevax)",
    "COVID-19 Vero Cell (Sinopharm)",
)


def vaccination_events(
    pop: pl.DataFrame, rng: np.random.Generator, rate: float
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Doses, 1–4 per vaccinated person: routine vaccines for children, COVID-19 for the others."""
    base = _rand_cols(pop.select("pid", "birth", "dead", "death_date"), rng, ["u1", "u2", "u_vac"])
    k = np.searchsorted(np.cumsum([0.2, 0.3, 0.3, 0.2]), base["u2"].to_numpy(), side="right") + 1
    ev = base.with_columns(pl.Series("k", np.minimum(k, 4))).filter(pl.col("u1") < 0.8)
    ev = ev.with_columns(pl.int_ranges(1, pl.col("k") + 1).alias("dose")).explode("dose")
    ev = _rand_cols(ev, rng, ["u_d"])
    child = (EXTRACT_DATE.year - pl.col("birth").dt.year()) < 15
    vac_idx_r = (pl.col("u_vac") * len(ROUTINE_VACCINES)).floor().cast(pl.Int64)
    vac_idx_c = (pl.col("u_vac") * len(COVID_VACCINES)).floor().cast(pl.Int64)
    ev = ev.with_columns(
        pl.when(child)
        .then(pl.lit(pl.Series(ROUTINE_VACCINES)).gather(vac_idx_r))
        .otherwise(pl.lit(pl.Series(COVID_VACCINES)).gather(vac_idx_c))
        .alias("vaccine"),
        pl.when(child)
        .then(_add_days("birth", pl.col("dose") * 60 + (pl.col("u_d") * 30).floor()))
        .otherwise(
            (
                pl.lit(date(2021, 7, 1)).cast(pl.Int32)
                + ((pl.col("dose") - 1) * 120 + (pl.col("u_d") * 90).floor()).cast(pl.Int32)
            ).cast(pl.Date)
        )
        .alias("activity_date"),
    ).filter(pl.col("activity_date") <= pl.lit(EXTRACT_DATE))
    ev = ev.filter(~pl.col("dead") | (pl.col("birth") < pl.col("death_date")))
    ev, stats = _after_death(ev, "activity_date", EXTRACT_DATE, rate, rng)
    return ev.select(
        "pid",
        pl.lit("Tiêm chủng").alias("event_type"),
        pl.col("activity_date").alias("event_date"),
        "activity_date",
        "vaccine",
        "dose",
        "after_death",
    ), stats


BHYT_GROUPS = ("GD", "DN", "HT", "TE", "HS", "CK", "BT", "HN")


def insurance_events(
    pop: pl.DataFrame, rng: np.random.Generator, rate: float
) -> tuple[pl.DataFrame, dict[str, int]]:
    """One participant per row: BHXH number, BHYT card (15 or 10 characters), status, last contribution."""
    base = _rand_cols(
        pop.select("pid", "birth", "dead", "death_date", "bhxh"), rng, ["u1", "u2", "u3", "u4", "u5", "u6"]
    )
    ev = base.filter(pl.col("u1") < 0.9)
    age = EXTRACT_DATE.year - pl.col("birth").dt.year()
    group = (
        pl.when(age < 6)
        .then(pl.lit("TE"))
        .when(age < 18)
        .then(pl.lit("HS"))
        .when(age >= 60)
        .then(pl.when(pl.col("u2") < 0.4).then(pl.lit("HT")).otherwise(pl.lit("GD")))
        .otherwise(
            pl.lit(pl.Series(BHYT_GROUPS)).gather((pl.col("u2") * len(BHYT_GROUPS)).floor().cast(pl.Int64))
        )
    )
    level = ((pl.col("u3") * 5).floor().cast(pl.Int64) + 1).cast(pl.Utf8)
    card15 = pl.concat_str([group, level, pl.col("bhxh").str.slice(0, 2), pl.col("bhxh")])
    status_alive = (
        pl.when(pl.col("u4") < 0.85)
        .then(pl.lit("Đang tham gia"))
        .when(pl.col("u4") < 0.95)
        .then(pl.lit("Dừng tham gia"))
        .otherwise(pl.lit("Tạm dừng đóng"))
    )
    last_alive = (
        pl.when(pl.col("u4") < 0.85).then(pl.lit(date(2025, 6, 1))).otherwise(pl.lit(date(2019, 1, 1)))
    )
    ev = ev.with_columns(
        pl.when(pl.col("u5") < 0.6).then(card15).otherwise(pl.col("bhxh")).alias("card"),
        status_alive.alias("status"),
        last_alive.alias("_last"),
    )
    ev = ev.with_columns(
        pl.when(pl.col("status") == "Đang tham gia")
        .then(_add_days("_last", (pl.col("u6") * 28).floor()))
        .otherwise(_add_days("_last", (pl.col("u6") * 2300).floor()))
        .alias("activity_date")
    )
    ev = ev.with_columns(
        pl.when(pl.col("activity_date") < pl.col("birth"))
        .then(pl.col("birth"))
        .otherwise(pl.col("activity_date"))
        .alias("activity_date")
    )
    ev, stats = _after_death(ev, "activity_date", EXTRACT_DATE, rate, rng)
    ev = ev.with_columns(
        pl.when(pl.col("after_death"))
        .then(pl.lit("Đang tham gia"))
        .when(pl.col("dead"))
        .then(pl.lit("Dừng tham gia"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    return ev.select(
        "pid",
        pl.lit("Tham gia BHXH/BHYT").alias("event_type"),
        pl.col("activity_date").alias("event_date"),
        "activity_date",
        "bhxh",
        "card",
        "status",
        "after_death",
    ), stats


# ── error injection ───────────────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class SectorStyle:
    """How a sector's clerks write things: birth-date format, share of names in capitals."""

    date_format: str = "dmy"
    upper_share: float = 0.03
    sex_codes: tuple[str, str] = ("Nam", "Nữ")


STYLES = {
    "civil_status": SectorStyle(),
    "social_protection": SectorStyle(upper_share=0.05),
    "vaccination": SectorStyle(),
    "insurance": SectorStyle(date_format="ymd", upper_share=0.7),
}
_REPR_FUNCS = {
    "name_no_diacritics": unidecode,
    "name_nfd": to_nfd,
    "name_tcvn3": to_tcvn3,
    "name_vni": to_vni,
    "name_mojibake": to_mojibake,
    "name_telex": to_telex,
    "name_vni_digits": to_vni_digits,
}
_U = [
    "u_sv",
    "u_iy",
    "u_md",
    "u_ty",
    "u_ty_p",
    "u_ty_o",
    "u_ty_c",
    "u_ot",
    "u_case",
    "u_repr",
    "u_id",
    "u_id_p",
    "u_id_k",
    "u_yo",
    "u_dm",
    "u_df",
    "u_df2",
    "u_yfmt",
    "u_sex",
    "u_sex2",
    "u_com",
    "u_com2",
    "u_ph",
    "u_evt",
]


def _step(
    df: pl.DataFrame, kind: str, eligible: pl.Expr, drawn: pl.Expr, eligible_counts: dict
) -> pl.DataFrame:
    """Materialise ``e_<kind>`` (eligible and drawn) and remember how many records were eligible."""
    df = df.with_columns(eligible.fill_null(False).alias("_elig"))
    df = df.with_columns((pl.col("_elig") & drawn.fill_null(False)).alias(f"e_{kind}"))
    eligible_counts[kind] = int(df["_elig"].sum())
    return df.drop("_elig")


def inject_errors(
    ev: pl.DataFrame,
    pop: pl.DataFrame,
    style: SectorStyle,
    rates: ErrorRates,
    rng: np.random.Generator,
    units: Units,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Join each event to its person and write the identity fields as the sector typed them, with errors."""
    df = ev.join(
        pop.select(
            "pid",
            "surname",
            "middle",
            "given",
            "sex",
            "birth",
            "bprec",
            "cccd",
            "cmnd",
            "commune",
            "phone",
            "in_ref",
        ),
        on="pid",
        how="left",
        maintain_order="left",
    )
    df = _rand_cols(df, rng, _U)
    elig: dict[str, int] = {}

    # name: variants and slips on the parts, then on the whole
    df = _step(
        df,
        "name_surname_variant",
        pl.col("surname").is_in(list(N.SURNAME_VARIANTS)),
        pl.col("u_sv") < rates.name_surname_variant,
        elig,
    )
    df = _step(
        df,
        "name_iy",
        pl.col("given").is_in(list(N.IY_VARIANTS)) | pl.col("surname").is_in(list(N.IY_VARIANTS)),
        pl.col("u_iy") < rates.name_iy,
        elig,
    )
    first_mid = pl.col("middle").str.split(" ").list.first()
    df = _step(
        df,
        "name_middle_dropped",
        first_mid.is_in(["Thị", "Văn"]),
        pl.col("u_md") < rates.name_middle_dropped,
        elig,
    )
    df = df.with_columns(
        pl.when(pl.col("e_name_surname_variant"))
        .then(pl.col("surname").replace(N.SURNAME_VARIANTS))
        .when(pl.col("e_name_iy") & pl.col("surname").is_in(list(N.IY_VARIANTS)))
        .then(pl.col("surname").replace(N.IY_VARIANTS))
        .otherwise(pl.col("surname"))
        .alias("surname"),
        pl.when(pl.col("e_name_iy") & pl.col("given").is_in(list(N.IY_VARIANTS)))
        .then(pl.col("given").replace(N.IY_VARIANTS))
        .otherwise(pl.col("given"))
        .alias("given"),
        pl.when(pl.col("e_name_middle_dropped"))
        .then(pl.col("middle").str.split(" ").list.slice(1).list.join(" "))
        .otherwise(pl.col("middle"))
        .alias("middle"),
    )
    full = pl.concat_str([pl.col("surname"), pl.col("middle"), pl.col("given")], separator=" ")
    df = df.with_columns(full.str.replace_all(r"\s+", " ").str.strip_chars().alias("name_txt"))
    df = _step(
        df, "name_typo", pl.col("name_txt").str.len_chars() >= 4, pl.col("u_ty") < rates.name_typo, elig
    )
    df = (
        df.with_columns(
            pl.when(pl.col("e_name_typo"))
            .then(typo_expr("name_txt", "u_ty_p", "u_ty_o", "u_ty_c"))
            .otherwise(pl.col("name_txt"))
            .alias("_typo")
        )
        .with_columns(
            (pl.col("e_name_typo") & (pl.col("_typo") != pl.col("name_txt"))).alias("e_name_typo"),
            pl.col("_typo").alias("name_txt"),
        )
        .drop("_typo")
    )
    df = df.with_columns(map_words(df["name_txt"], to_old_tone_style).alias("_old"))
    df = _step(
        df, "name_old_tone", pl.col("_old") != pl.col("name_txt"), pl.col("u_ot") < rates.name_old_tone, elig
    )
    df = df.with_columns(
        pl.when(pl.col("e_name_old_tone"))
        .then(pl.col("_old"))
        .otherwise(pl.col("name_txt"))
        .alias("name_txt")
    ).drop("_old")
    df = df.with_columns(
        pl.when(pl.col("u_case") < style.upper_share)
        .then(pl.col("name_txt").str.to_uppercase())
        .otherwise(pl.col("name_txt"))
        .alias("name_txt")
    )
    df = df.with_columns(map_distinct(df["name_txt"], unidecode).alias("_plain"))
    chosen = pl.Series("_repr", choose_exclusive(df["u_repr"].to_numpy(), rates, REPR_GROUP))
    df = df.with_columns(chosen)
    for k, kind in enumerate(REPR_GROUP):
        df = _step(df, kind, pl.col("_plain") != pl.col("name_txt"), pl.col("_repr") == k, elig)
    names = df["name_txt"].clone()
    for kind in REPR_GROUP:
        idx = np.flatnonzero(df[f"e_{kind}"].to_numpy())
        if idx.size:
            names = names.scatter(idx, map_distinct(names.gather(idx), _REPR_FUNCS[kind]))
    df = df.with_columns(names.alias("name_txt")).drop("_plain", "_repr")

    # national ID
    df = df.with_columns(pl.Series("_id", choose_exclusive(df["u_id"].to_numpy(), rates, ID_GROUP)))
    for k, kind in enumerate(ID_GROUP):
        eligible = pl.col("cmnd").is_not_null() if kind == "id_cmnd_instead" else pl.lit(True)
        df = _step(df, kind, eligible, pl.col("_id") == k, elig)
    df = df.with_columns(
        pl.when(pl.col("e_id_missing"))
        .then(None)
        .when(pl.col("e_id_digit_typo"))
        .then(digit_typo_expr("cccd", "u_id_p", "u_id_k"))
        .when(pl.col("e_id_transposed"))
        .then(transpose_expr("cccd", "u_id_p"))
        .when(pl.col("e_id_leading_zero_lost"))
        .then(pl.col("cccd").str.strip_chars_start("0"))
        .when(pl.col("e_id_scientific"))
        .then(scientific_expr("cccd", "u_id_k"))
        .when(pl.col("e_id_cmnd_instead"))
        .then(pl.col("cmnd"))
        .otherwise(pl.col("cccd"))
        .alias("id_txt"),
        pl.col("e_id_leading_zero_lost").alias("id_numeric"),
    ).drop("_id")

    # birth date
    df = df.with_columns(*_date_parts("birth", "b"))
    df = _step(df, "date_year_only", pl.col("bprec") != "Y", pl.col("u_yo") < rates.date_year_only, elig)
    df = _step(
        df,
        "date_dm_swap",
        (pl.col("bprec") == "D")
        & ~pl.col("e_date_year_only")
        & (pl.col("b_d") <= 12)
        & (pl.col("b_d") != pl.col("b_m")),
        pl.col("u_dm") < rates.date_dm_swap,
        elig,
    )
    df = df.with_columns(
        pl.when(pl.col("e_date_year_only")).then(pl.lit("Y")).otherwise(pl.col("bprec")).alias("bprec_txt"),
        pl.when(pl.col("e_date_dm_swap")).then(pl.col("b_m")).otherwise(pl.col("b_d")).alias("b_d"),
        pl.when(pl.col("e_date_dm_swap")).then(pl.col("b_d")).otherwise(pl.col("b_m")).alias("b_m"),
    )
    df = _step(df, "date_format", pl.col("bprec_txt") == "D", pl.col("u_df") < rates.date_format, elig)
    others = [f for f in DATE_FORMATS if f != style.date_format]
    other = pl.lit(pl.Series(others)).gather((pl.col("u_df2") * len(others)).floor().cast(pl.Int64))
    df = df.with_columns(
        pl.when(pl.col("e_date_format")).then(other).otherwise(pl.lit(style.date_format)).alias("birth_fmt")
    )
    df = df.with_columns(
        date_text_expr("b_y", "b_m", "b_d", "bprec_txt", "birth_fmt", "u_yfmt").alias("birth_txt")
    )

    # sex
    df = df.with_columns(pl.Series("_sx", choose_exclusive(df["u_sex"].to_numpy(), rates, SEX_GROUP)))
    for k, kind in enumerate(SEX_GROUP):
        df = _step(df, kind, pl.lit(True), pl.col("_sx") == k, elig)
    alt_idx = (pl.col("u_sex2") * len(SEX_CODINGS)).floor().cast(pl.Int64)
    alt_m = pl.lit(pl.Series([c[0] for c in SEX_CODINGS])).gather(alt_idx)
    alt_f = pl.lit(pl.Series([c[1] for c in SEX_CODINGS])).gather(alt_idx)
    house = (
        pl.when(pl.col("sex") == "M").then(pl.lit(style.sex_codes[0])).otherwise(pl.lit(style.sex_codes[1]))
    )
    df = df.with_columns(
        pl.when(pl.col("e_sex_missing"))
        .then(None)
        .when(pl.col("e_sex_coded"))
        .then(pl.when(pl.col("sex") == "M").then(alt_m).otherwise(alt_f))
        .otherwise(house)
        .alias("sex_txt")
    ).drop("_sx")

    # commune: some extracts still carry the pre-2025 code
    df = df.join(
        units.old_codes.rename({"new_ward_code": "commune"}), on="commune", how="left", maintain_order="left"
    )
    df = _step(
        df,
        "commune_old_code",
        pl.col("old_codes").list.len() > 0,
        pl.col("u_com") < rates.commune_old_code,
        elig,
    )
    pick = (pl.col("u_com2") * pl.col("old_codes").list.len()).floor().cast(pl.Int64)
    names_new = units.communes.select(pl.col("ward_code").alias("commune"), pl.col("ward").alias("_ward"))
    df = (
        df.join(names_new, on="commune", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("e_commune_old_code"))
            .then(pl.col("old_codes").list.get(pick, null_on_oob=True))
            .otherwise(pl.col("commune"))
            .alias("commune_txt"),
            pl.when(pl.col("e_commune_old_code"))
            .then(pl.col("old_names").list.get(pick, null_on_oob=True))
            .otherwise(pl.col("_ward"))
            .alias("commune_name_txt"),
        )
        .drop("old_codes", "old_names", "_ward")
    )

    # phone: the 11-digit form of before 2018
    prefix3 = pl.col("phone").str.slice(0, 3)
    df = _step(
        df,
        "phone_11_digits",
        prefix3.is_in(list(PHONE_OLD_PREFIX)),
        pl.col("u_ph") < rates.phone_11_digits,
        elig,
    )
    df = df.with_columns(
        pl.when(pl.col("e_phone_11_digits"))
        .then(prefix3.replace(PHONE_OLD_PREFIX) + pl.col("phone").str.slice(3))
        .otherwise(pl.col("phone"))
        .alias("phone_txt")
    )
    df = df.with_columns(pl.col("after_death").alias("e_after_death"))
    return df.drop(_U), elig


def _error_list(kinds: list[str]) -> pl.Expr:
    return pl.concat_list([pl.when(pl.col(f"e_{k}")).then(pl.lit(k)) for k in kinds]).list.drop_nulls()


def add_duplicates(df: pl.DataFrame, rate: float, rng: np.random.Generator) -> pl.DataFrame:
    """Copy ``rate`` of the rows (same person, same event); half the copies get a small slip in the name."""
    df = df.with_row_index("_oid").with_columns(pl.lit(None, dtype=pl.UInt32).alias("_dup_of"))
    df = _rand_cols(df, rng, ["u_dup", "u_dup2", "u_p", "u_o", "u_c"])
    copies = df.filter(pl.col("u_dup") < rate).with_columns(
        pl.col("_oid").alias("_dup_of"),
        pl.when(pl.col("u_dup2") < 0.5)
        .then(typo_expr("name_txt", "u_p", "u_o", "u_c"))
        .otherwise(pl.col("name_txt"))
        .alias("_copy_name"),
    )
    copies = copies.with_columns(
        (pl.col("e_name_typo") | (pl.col("_copy_name") != pl.col("name_txt"))).alias("e_name_typo"),
        pl.col("_copy_name").alias("name_txt"),
    ).drop("_copy_name")
    out = pl.concat([df, copies]).with_columns(pl.col("_dup_of").is_not_null().alias("e_duplicate"))
    return out.drop("u_dup", "u_dup2", "u_p", "u_o", "u_c")


def shuffle_rows(df: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Rows in a random order, numbered 1.. (source_row); copies point at their original's row."""
    df = df[rng.permutation(df.height)].with_row_index("source_row", offset=1)
    df = df.with_columns(pl.col("source_row").cast(pl.Int64))
    orig = df.filter(pl.col("_dup_of").is_null()).select(
        pl.col("_oid").alias("_dup_of"), pl.col("source_row").alias("duplicate_of")
    )
    return df.join(orig, on="_dup_of", how="left", maintain_order="left")


# ── layouts ───────────────────────────────────────────────────────────────────────────────────────────────────
def _dmy(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%d/%m/%Y")


def civil_layout(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        pl.col("source_row").cast(pl.Utf8).alias("STT"),
        pl.col("event_type").alias("Loại việc"),
        pl.col("record_key").alias("Số đăng ký"),
        _dmy("reg_date").alias("Ngày đăng ký"),
        pl.col("name_txt").alias("Họ và tên"),
        pl.col("birth_txt").alias("Ngày sinh"),
        pl.col("sex_txt").alias("Giới tính"),
        pl.col("id_txt").alias("Số định danh cá nhân"),
        pl.when(pl.col("event_type") == "Khai tử").then(_dmy("event_date")).alias("Ngày chết"),
        pl.col("commune_txt").alias("Mã xã"),
        pl.col("commune_name_txt").alias("Nơi đăng ký"),
        pl.lit(None, dtype=pl.Utf8).alias("Ghi chú"),
    )


def _vn_money(col: str) -> pl.Expr:
    """1624000 → '1.624.000' (amounts below 10 million)."""
    s = pl.col(col).cast(pl.Utf8)
    n = s.str.len_chars()
    return (
        pl.when(n > 6)
        .then(s.str.slice(0, n - 6) + "." + s.str.slice(n - 6, 3) + "." + s.str.slice(n - 3))
        .when(n > 3)
        .then(s.str.slice(0, n - 3) + "." + s.str.slice(n - 3))
        .otherwise(s)
    )


def social_layout(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        pl.col("record_key").alias("Mã đối tượng"),
        pl.col("name_txt").alias("Họ tên đối tượng"),
        pl.col("birth_txt").alias("Ngày sinh"),
        pl.col("sex_txt").alias("Giới tính"),
        pl.col("id_txt").alias("Số CCCD/CMND"),
        pl.col("event_type").alias("Loại đối tượng"),
        pl.col("commune_txt").alias("Mã xã"),
        _vn_money("amount").alias("Số tiền hưởng/tháng"),
        _dmy("activity_date").alias("Ngày chi trả gần nhất"),
        pl.col("phone_txt").alias("Số điện thoại"),
    )


def vaccination_layout(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        pl.col("person_code").alias("Mã đối tượng"),
        pl.col("name_txt").alias("Họ và tên"),
        pl.col("birth_txt").alias("Ngày sinh"),
        pl.col("sex_txt").alias("Giới tính"),
        pl.col("id_txt").alias("Số định danh"),
        pl.col("vaccine").alias("Tên vắc xin"),
        pl.col("dose").cast(pl.Utf8).alias("Mũi thứ"),
        pl.col("dose_date_txt").alias("Ngày tiêm"),
        (pl.lit("Trạm Y tế ") + pl.col("commune_name_txt").fill_null("")).alias("Cơ sở tiêm chủng"),
        pl.col("commune_txt").alias("Mã xã"),
        pl.col("phone_txt").alias("Số điện thoại"),
    )


def insurance_layout(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(
        pl.col("bhxh").alias("ma_so_bhxh"),
        pl.col("card").alias("so_the_bhyt"),
        pl.col("name_txt").alias("ho_ten"),
        pl.col("birth_txt").alias("ngay_sinh"),
        pl.col("sex_txt").alias("gioi_tinh"),
        pl.col("id_txt").alias("so_cccd"),
        pl.col("commune_txt").alias("ma_xa"),
        pl.col("status").alias("trang_thai"),
        pl.col("activity_date").dt.strftime("%Y%m%d").alias("ngay_dong_cuoi"),
        pl.col("phone_txt").alias("so_dien_thoai"),
    )


CIVIL_TITLE = (
    ("UBND TỈNH QUẢNG NAM", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("SỞ TƯ PHÁP", "Độc lập - Tự do - Hạnh phúc"),
)
CIVIL_GROUPS = {
    "Thông tin người được đăng ký": ("Họ và tên", "Ngày sinh", "Giới tính", "Số định danh cá nhân"),
    "Nơi đăng ký hộ tịch": ("Mã xã", "Nơi đăng ký"),
}


def write_civil_xlsx(path: Path, table: pl.DataFrame, numeric: pl.DataFrame, two_row_header: bool) -> int:
    """A government-template sheet: title block, blank rows, header (optionally merged over two rows), data.

    ``numeric`` says per row whether the ID and birth-date cells hold numbers (Excel-damaged ID, Excel serial).
    Returns the 1-based sheet row of the (last) header row.
    """
    import xlsxwriter

    # constant_memory flushes a row as soon as a lower one is written, which breaks vertical merges of the header
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": not two_row_header,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": datetime(2025, 6, 30, 8, 0, 0), "author": "Sở Tư pháp"})
    ws = wb.add_worksheet(CIVIL_SHEET)
    bold = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True})
    title = wb.add_format({"bold": True, "align": "center", "font_size": 14})
    cols = table.columns
    last = len(cols) - 1
    ws.write_string(0, 0, CIVIL_TITLE[0][0], bold)
    ws.write_string(0, 6, CIVIL_TITLE[0][1], bold)
    ws.write_string(1, 0, CIVIL_TITLE[1][0], bold)
    ws.write_string(1, 6, CIVIL_TITLE[1][1], bold)
    ws.merge_range(3, 0, 3, last, "DANH SÁCH ĐĂNG KÝ HỘ TỊCH", title)
    ws.merge_range(
        4, 0, 4, last, "(Dữ liệu trích xuất từ Hệ thống đăng ký, quản lý hộ tịch đến ngày 30/06/2025)"
    )
    header_row = 6
    if two_row_header:
        group_of = {c: g for g, members in CIVIL_GROUPS.items() for c in members}
        j = 0
        while j <= last:
            g = group_of.get(cols[j])
            if g is None:
                ws.merge_range(header_row, j, header_row + 1, j, cols[j], bold)
                j += 1
                continue
            width = len(CIVIL_GROUPS[g])
            ws.merge_range(header_row, j, header_row, j + width - 1, g, bold)
            j += width
        for j, c in enumerate(cols):
            if c in group_of:
                ws.write_string(header_row + 1, j, c, bold)
        header_row += 1
    else:
        for j, c in enumerate(cols):
            ws.write_string(header_row, j, c, bold)
    id_col, birth_col = cols.index("Số định danh cá nhân"), cols.index("Ngày sinh")
    r = header_row + 1
    for row, (id_num, birth_num) in zip(table.iter_rows(), numeric.iter_rows(), strict=True):
        for j, v in enumerate(row):
            if v is None:
                continue
            if j == 0 or (j == id_col and id_num) or (j == birth_col and birth_num):
                ws.write_number(r, j, float(v))
            else:
                ws.write_string(r, j, v)
        r += 1
    ws.set_column(0, 0, 6)
    ws.set_column(1, last, 18)
    wb.close()
    return header_row + 1


# ── the whole province ────────────────────────────────────────────────────────────────────────────────────────
def generate(
    out: Path,
    people: int = 20_000,
    seed: int = 0,
    rates: ErrorRates | None = None,
    *,
    two_row_header: bool = False,
) -> dict:
    """Write the reference, the four sector extracts and the ground truth to ``out``; return the manifest.

    Deterministic: the same arguments give byte-identical files. Sectors above 1 000 000 rows that would be XLSX
    are written as CSV instead (the manifest's ``notes`` say so).
    """
    rates = rates or ErrorRates()
    out = Path(out)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    units = load_units(seed)
    n_absent = round(people * rates.absent / (1 - rates.absent)) if rates.absent > 0 else 0
    pop = build_population(people, n_absent, seed, units)
    notes: list[str] = []

    ref = reference_frame(pop)
    ref.write_parquet(out / "reference.parquet", compression="zstd", statistics=False)
    ref_csv = None
    if people <= REFERENCE_CSV_MAX:
        ref_csv = "reference.csv"
        ref.write_csv(out / ref_csv)

    builders = {
        "civil_status": lambda r: (civil_status_events(pop, r), {"eligible": 0, "applied": 0}),
        "social_protection": lambda r: social_events(pop, r, rates.after_death),
        "vaccination": lambda r: vaccination_events(pop, r, rates.after_death),
        "insurance": lambda r: insurance_events(pop, r, rates.after_death),
    }
    extracts: dict[str, str] = {}
    sectors_info: dict[str, dict] = {}
    applied: dict[str, dict] = {}
    truth_parts: list[pl.DataFrame] = []
    kinds = [k for k in ErrorRates().to_dict() if k != "absent"]
    for stream, (sector, build) in enumerate(builders.items(), start=10):
        rng = _rng(seed, stream)
        ev, ad_stats = build(rng)
        df, elig = inject_errors(ev, pop, STYLES[sector], rates, rng, units)
        elig["after_death"] = ad_stats["eligible"]
        stats = {k: {"eligible": elig[k], "applied": int(df[f"e_{k}"].sum())} for k in elig}
        df = add_duplicates(df, rates.duplicate, rng)
        stats["duplicate"] = {
            "eligible": int(df["_dup_of"].is_null().sum()),
            "applied": int(df["e_duplicate"].sum()),
        }
        df = shuffle_rows(df, rng)
        df = df.with_columns(_error_list(kinds).alias("errors"))
        file_name = SECTOR_FILES[sector]
        sheet = None
        info: dict = {"rows": df.height}
        if sector == "civil_status":
            table = civil_layout(df)
            if df.height > XLSX_MAX_ROWS:
                file_name = "ho_tich.csv"
                table.write_csv(out / file_name, include_bom=True)
                notes.append(
                    f"civil_status has {df.height} rows, more than an XLSX sheet holds: written as CSV"
                )
                info.update(format="csv", separator=",", encoding="utf-8-sig")
            else:
                sheet = CIVIL_SHEET
                numeric = df.select(
                    pl.col("id_numeric"),
                    ((pl.col("birth_fmt") == "serial") & (pl.col("bprec_txt") == "D")).alias("birth_numeric"),
                )
                header = write_civil_xlsx(out / file_name, table, numeric, two_row_header)
                info.update(format="xlsx", sheet=sheet, header_row=header, title_rows=5)
            record_id = pl.col("record_key")
        elif sector == "social_protection":
            social_layout(df).write_csv(out / file_name, separator=";", include_bom=True)
            info.update(format="csv", separator=";", encoding="utf-8-sig")
            record_id = pl.col("record_key")
        elif sector == "vaccination":
            codes = pl.Series(_rng(seed, 99).permutation(pop.height), dtype=pl.Int64)
            df = _rand_cols(df, rng, ["u_evt_fmt", "u_evt"])
            any_fmt = pl.lit(pl.Series(DATE_FORMATS)).gather(
                (pl.col("u_evt_fmt") * len(DATE_FORMATS)).floor().cast(pl.Int64)
            )
            df = df.with_columns(
                (pl.lit("TC") + pl.lit(codes).gather(pl.col("pid")).cast(pl.Utf8).str.zfill(8)).alias(
                    "person_code"
                ),
                pl.when(pl.col("u_evt_fmt") < 0.6).then(pl.lit("dmy")).otherwise(any_fmt).alias("_dose_fmt"),
            )
            df = _fmt_event_date(df, "activity_date", pl.col("_dose_fmt"), "dose_date_txt")
            vaccination_layout(df).write_csv(out / file_name)
            info.update(format="csv", separator=",", encoding="utf-8")
            record_id = pl.lit(file_name + "#") + pl.col("source_row").cast(pl.Utf8)
        else:
            insurance_layout(df).write_parquet(out / file_name, compression="zstd", statistics=False)
            info.update(format="parquet")
            record_id = pl.col("bhxh")
        extracts[sector] = file_name
        info.update(file=file_name)
        sectors_info[sector] = info
        applied[sector] = stats
        truth_parts.append(
            df.select(
                pl.lit(sector).alias("sector"),
                pl.lit(file_name).alias("source_file"),
                pl.lit(sheet, dtype=pl.Utf8).alias("source_sheet"),
                pl.col("source_row"),
                record_id.alias("record_id"),
                pl.when(pl.col("in_ref")).then(pl.col("cccd")).alias("person_id"),
                pl.col("errors"),
                pl.col("duplicate_of"),
                pl.col("after_death"),
            )
        )
    truth = pl.concat(truth_parts)
    truth.write_parquet(out / "truth" / "truth.parquet", compression="zstd", statistics=False)

    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "people": people,
        "absent_people": n_absent,
        "extract_date": EXTRACT_DATE.isoformat(),
        "reference": "reference.parquet",
        "reference_csv": ref_csv,
        "extracts": extracts,
        "sectors": sectors_info,
        "rows": {s: i["rows"] for s, i in sectors_info.items()},
        "rows_total": int(sum(i["rows"] for i in sectors_info.values())),
        "truth": "truth/truth.parquet",
        "rates": rates.to_dict(),
        "errors_applied": applied,
        "notes": notes,
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest
