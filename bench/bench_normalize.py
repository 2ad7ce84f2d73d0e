"""Time ``doisoat.normalize.standardize`` on N synthetic messy canonical rows.

Usage: ``.venv/bin/python bench/bench_normalize.py N [--seed S]``. Rows mimic a provincial extract: names drawn
from realistic pools (so full names repeat a lot), a few per cent in legacy encodings / typing artefacts, dates in
every clerk format with year-only and month-only values, IDs formatted, damaged or 9-digit, phones in old and new
forms, Đà Nẵng commune codes with a fifth carrying a pre-2025 code. Prints per-step times and distinct counts.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date, timedelta

import numpy as np
import polars as pl

from doisoat.normalize import (
    PROVINCE_CODES,
    standardize,
    to_mojibake,
    to_nfd,
    to_old_tone_style,
    to_tcvn3,
    to_telex,
    to_vni,
    to_vni_digits,
)
from doisoat.normalize.dates import parse_dates
from doisoat.normalize.ids import national_id_frame
from doisoat.normalize.names import names_frame, normalize_name
from doisoat.normalize.units import commune_frame, load_units

SURNAMES = (
    ["Nguyễn"] * 38
    + ["Trần"] * 11
    + ["Lê"] * 10
    + ["Phạm"] * 7
    + ["Hoàng", "Huỳnh"] * 3
    + ["Phan"] * 4
    + ["Vũ", "Võ"] * 2
    + ["Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Mai", "Tôn Thất"]
)
MIDDLES = (
    ["Văn"] * 8
    + ["Thị"] * 8
    + [
        "Hữu",
        "Đức",
        "Minh",
        "Thanh",
        "Ngọc",
        "Quốc",
        "Xuân",
        "Hồng",
        "Thu",
        "Kim",
        "Công",
        "Quang",
        "Thị Kim",
        "Thị Thanh",
        "Văn Minh",
        "",
    ]
)
GIVENS = (
    "An Anh Bình Châu Cường Dũng Dung Duy Đạt Giang Hà Hải Hạnh Hiền Hiếu Hoà Hoàng Hùng Hương Huy Khánh Khoa "
    "Lan Linh Long Mai Minh Mỹ Nam Nga Ngọc Nhung Oanh Phúc Phương Quý Sơn Tâm Thảo Thắng Thuỷ Thuý Tiến Trang "
    "Trinh Tuấn Tùng Vân Việt Vy Xuân Yến Lộc Khuyên Nguyệt Trường Thưởng Quyền Ánh Hưng Thịnh Lợi"
).split()
CORRUPT = [to_old_tone_style] * 40 + [
    to_nfd,
    to_tcvn3,
    to_vni,
    to_mojibake,
    to_telex,
    to_vni_digits,
    str.upper,
]


def make_rows(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    pool = max(2_000, n // 4)  # clean full names drawn (collisions make fewer distinct); rows repeat them
    names = [
        " ".join(w for w in (rng.choice(SURNAMES), rng.choice(MIDDLES), rng.choice(GIVENS)) if w)
        for _ in range(pool)
    ]
    corrupt_idx = rng.random(pool) < 0.5
    for i in np.nonzero(corrupt_idx)[0]:
        fn = CORRUPT[rng.integers(len(CORRUPT))]
        names[i] = fn(names[i])
    full_name = pl.Series(names).gather(rng.integers(0, pool, n))

    days = rng.integers(0, (date(2020, 12, 31) - date(1920, 1, 1)).days, n)
    births = [date(1920, 1, 1) + timedelta(days=int(d)) for d in days[: min(n, 40_000)]]
    fmts = ["%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%Y%m%d", "%-d/%-m/%y", "%Y", "00/00/%Y", "%m/%Y"]
    pick = rng.choice(len(fmts), len(births), p=[0.6, 0.15, 0.05, 0.05, 0.03, 0.06, 0.03, 0.03])
    btxt = [d.strftime(fmts[k]) for d, k in zip(births, pick, strict=True)]
    birth_date = pl.Series(btxt).gather(rng.integers(0, len(btxt), n))

    prov = np.array(list(PROVINCE_CODES))[rng.integers(0, 63, n)]
    g = rng.integers(0, 4, n) % 2 + np.where(rng.random(n) < 0.2, 2, 0)
    yy = rng.integers(0, 100, n)
    tail = rng.integers(0, 10**6, n)
    ids = pl.Series([f"{p}{a}{b:02d}{c:06d}" for p, a, b, c in zip(prov, g, yy, tail, strict=True)])
    u = rng.random(n)
    national_id = (
        pl.DataFrame({"id": ids, "u": u})
        .select(
            pl.when(pl.col("u") < 0.03)
            .then(pl.col("id").str.slice(1))
            .when(pl.col("u") < 0.05)
            .then(
                pl.concat_str(
                    pl.col("id").str.slice(0, 3),
                    pl.lit(" "),
                    pl.col("id").str.slice(3, 3),
                    pl.lit(" "),
                    pl.col("id").str.slice(6),
                )
            )
            .when(pl.col("u") < 0.06)
            .then(pl.col("id").str.slice(1, 1) + pl.lit(".") + pl.col("id").str.slice(2, 5) + pl.lit("E+10"))
            .when(pl.col("u") < 0.12)
            .then(pl.col("id").str.slice(3, 9))
            .when(pl.col("u") < 0.16)
            .then(None)
            .otherwise(pl.col("id"))
        )
        .to_series()
    )
    mob = pl.Series(rng.integers(0, 10**7, n)).cast(pl.Utf8).str.zfill(7)
    pref = pl.Series(np.array(["091", "098", "0162", "0168", "+8490", "035", "077"])[rng.integers(0, 7, n)])
    phone = pref + mob
    sex = pl.Series(
        np.array(["Nam", "Nữ", "nam", "nu", "1", "0", "M", "F", "NỮ", ""])[rng.integers(0, 10, n)]
    )
    units = load_units()
    new = units.new.filter(pl.col("province_code") == "48")["ward_code"].to_list()
    olds = units.mapping.filter(pl.col("new_ward_code").is_in(new))["old_ward_code"].unique().to_list()
    codes = np.where(
        rng.random(n) < 0.2,
        np.array(olds)[rng.integers(0, len(olds), n)],
        np.array(new)[rng.integers(0, len(new), n)],
    )
    event = pl.Series(
        [
            (date(2020, 1, 1) + timedelta(days=int(d))).strftime("%d/%m/%Y")
            for d in rng.integers(0, 1900, min(n, 5000))
        ]
    ).gather(rng.integers(0, min(n, 5000), n))
    return pl.DataFrame(
        {
            "rid": np.arange(n),
            "source_file": ["bench.csv"] * n,
            "full_name": full_name,
            "birth_date": birth_date,
            "sex": sex,
            "national_id": national_id,
            "phone": phone,
            "commune_code": codes,
            "event_date": event,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = make_rows(args.n, args.seed)
    t_gen = time.perf_counter() - t0
    print(
        f"rows {df.height:,}; distinct names {df['full_name'].n_unique():,}, birth texts "
        f"{df['birth_date'].n_unique():,}, IDs {df['national_id'].n_unique():,}; generated in {t_gen:.1f} s"
    )
    normalize_name.cache_clear()
    steps = {
        "names_frame": lambda: names_frame(df["full_name"]),
        "parse_dates (birth)": lambda: parse_dates(df["birth_date"]),
        "national_id_frame": lambda: national_id_frame(
            df["national_id"], pl.Series([None] * df.height, dtype=pl.Utf8)
        ),
        "commune_frame": lambda: commune_frame(df["commune_code"], None, df["source_file"]),
    }
    for label, fn in steps.items():
        t = time.perf_counter()
        fn()
        print(f"  {label:<22} {time.perf_counter() - t:6.2f} s")
    normalize_name.cache_clear()
    t = time.perf_counter()
    out = standardize(df)
    total = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    repaired = out["name_repair"].is_not_null().sum()
    print(
        f"standardize: {total:.2f} s for {df.height:,} rows ({df.height / total:,.0f} rows/s); "
        f"names repaired {repaired:,}; peak RSS {rss:.1f} GB"
    )


if __name__ == "__main__":
    main()
