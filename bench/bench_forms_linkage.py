"""Do the date and name forms of issue 15 link as well as clean rows? An insurance-like list without IDs.

Usage: ``.venv/bin/python bench/bench_forms_linkage.py [--people N] [--rows K] [--seed S]``. A synthetic province
(``sample_data``: N people) is standardised and loaded as the reference (DuckDB in memory); K of its people make a
sector list with only name, birth date, sex and commune (no ID, as a list without IDs is linked). The same K rows
are then written with every birth-date form and every name garbling (each form as its own source file, so the
per-file encoding reading is what a real file would get) and linked with the shipped default model. Prints, per
form, the share of rows linked (status ``matched``) to the right person; the target is a clean row's share within
1 point. Prints no personal data.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date

import duckdb
import numpy as np
import polars as pl

from doisoat.match import MatchModel, MatchSettings, link
from doisoat.normalize import standardize
from doisoat.normalize.dates import lunar_to_solar
from doisoat.normalize.encodings import (
    to_mojibake,
    to_mojibake_cp1250,
    to_mojibake_latin1,
    to_tcvn3,
    to_viqr,
    to_vni,
)
from doisoat.reference import load_reference
from sample_data.generator import EXTRACT_DATE, build_population, load_units, reference_frame

_WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]
DATE_FORMS: dict[str, Callable[[date], str]] = {
    "dd/mm/yyyy (clean)": lambda d: d.strftime("%d/%m/%Y"),
    "5 tháng 3 năm 1990": lambda d: f"{d.day} tháng {d.month} năm {d.year}",
    "ngày 5/3 năm 1990": lambda d: f"ngày {d.day}/{d.month} năm {d.year}",
    "5 thg 3, 1990": lambda d: f"{d.day} thg {d.month}, {d.year}",
    "ngày 05/03/1990": lambda d: f"ngày {d.strftime('%d/%m/%Y')}",
    "Thứ Hai, 05/03/1990": lambda d: f"{_WEEKDAYS[d.weekday()]}, {d.strftime('%d/%m/%Y')}",
    "the same day in the lunar calendar, '(âm lịch)'": lambda d: _lunar_text(d),
    "T3/1990 (month only)": lambda d: f"T{d.month}/{d.year}",
    "tháng 3/1990 (month only)": lambda d: f"tháng {d.month}/{d.year}",
}


def _solar_to_lunar(d: date) -> tuple[int, int, int, bool]:
    """(day, month, year, leap) of a solar date, by searching the month starts around it (bench helper)."""
    for ly in (d.year, d.year - 1):
        for lm in range(12, 0, -1):
            for leap in (True, False):
                start = lunar_to_solar(1, lm, ly, leap)
                if start is not None and start <= d and (d - start).days < 30:
                    day = (d - start).days + 1
                    if lunar_to_solar(day, lm, ly, leap) == d:
                        return day, lm, ly, leap
    raise ValueError("no lunar date")


def _lunar_text(d: date) -> str:
    day, month, year, leap = _solar_to_lunar(d)
    return f"ngày {day} tháng {month}{' nhuận' if leap else ''} năm {year} (âm lịch)"


def _one_word(fn: Callable[[str], str], rng: np.random.Generator) -> Callable[[str], str]:
    def garble(name: str) -> str:
        words = name.split(" ")
        changed = [i for i, w in enumerate(words) if fn(w) != w]
        if not changed:
            return name
        i = changed[int(rng.integers(len(changed)))]
        return " ".join(fn(w) if j == i else w for j, w in enumerate(words))

    return garble


def name_forms(rng: np.random.Generator) -> dict[str, Callable[[str], str]]:
    return {
        "UTF-8 as cp1250": to_mojibake_cp1250,
        "UTF-8 as Latin-1": to_mojibake_latin1,
        "mojibake, NBSP lost": lambda n: " ".join(to_mojibake(n).replace("\xa0", " ").split()),
        "one word TCVN3": _one_word(to_tcvn3, rng),
        "one word VNI": _one_word(to_vni, rng),
        "VIQR": to_viqr,
        "whole name TCVN3": to_tcvn3,
        "whole name VNI": to_vni,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--rows", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    t0 = time.perf_counter()
    pop = build_population(args.people, 0, args.seed, load_units(args.seed))
    ref = reference_frame(pop).rename(
        {
            "Số định danh cá nhân": "national_id",
            "Họ và tên": "full_name",
            "Ngày sinh": "birth_date",
            "Giới tính": "sex",
            "Mã phường/xã": "commune_code",
            "Ngày mất": "death_date",
            "Số CMND cũ": "old_id",
            "Số điện thoại": "phone",
        }
    )
    ref_std = standardize(ref.with_columns(pl.lit("reference.csv").alias("source_file")), today=EXTRACT_DATE)
    con = duckdb.connect()
    load_reference(con, ref_std, "bench-forms")
    rng = np.random.default_rng(args.seed)
    people = (
        pop.filter(pl.col("in_ref") & (pl.col("bprec") == "D") & ~pl.col("dead"))
        .sample(args.rows, seed=args.seed)
        .select("cccd", "full_name", "birth", "sex", "commune")
    )
    births = people["birth"].to_list()
    names = people["full_name"].to_list()
    truth = people["cccd"]
    sex = pl.Series(["Nam" if s == "M" else "Nữ" for s in people["sex"]])
    model = MatchModel.default()
    print(f"reference {ref_std.height:,} people; list of {args.rows:,} rows without IDs; seed {args.seed}")
    print(f"{'form':<46} {'rows':>6} {'right person':>13} {'share':>8}")

    def run(label: str, name_col: list[str], birth_col: list[str]) -> float:
        rows = pl.DataFrame(
            {
                "rid": np.arange(1, args.rows + 1, dtype=np.int64),
                "sector": "bhyt",
                "source_file": f"{label}.csv",
                "full_name": name_col,
                "birth_date": birth_col,
                "sex": sex,
                "commune_code": people["commune"],
            }
        )
        std = standardize(rows, today=EXTRACT_DATE)
        res = link(con, std, model, MatchSettings(), {"bhyt": False})
        m = res.matches.sort("rid")
        right = ((m["match_status"] == "matched") & (m["person_id"] == truth)).sum()
        share = right / args.rows
        print(f"{label:<46} {args.rows:>6,} {right:>13,} {100 * share:>7.2f}%")
        return share

    clean_dates = [DATE_FORMS["dd/mm/yyyy (clean)"](d) for d in births]
    for label, fn in DATE_FORMS.items():
        run(label, names, [fn(d) for d in births])
    for label, fn in name_forms(rng).items():
        run(label, [fn(n) for n in names], clean_dates)
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
