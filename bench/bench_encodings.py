"""How well legacy encodings are repaired: per encoding, the share of garbled names whose match key comes back.

Usage: ``.venv/bin/python bench/bench_encodings.py [--names N] [--seed S] [--show K]``. Names are the synthetic
province's population names (``sample_data``: surname shares, middle and given names as the generator draws
them, ethnic-minority names of the Quảng Nam highlands), N distinct ones. Each is garbled every way an extract
garbles it (whole text in one legacy form, or one word of a Unicode name in another form); only garblings that
change the text count. "Repaired" means ``normalize_name(garbled).name_key == normalize_name(clean).name_key``.
Clean names and the minority list below must come back unchanged (``repair(name) == (name, None)``).
Prints no names unless ``--show`` (synthetic data only).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import numpy as np
import polars as pl

from doisoat.normalize.encodings import (
    from_tcvn3,
    from_vni,
    is_vietnamese_syllable,
    repair,
    to_mojibake,
    to_mojibake_cp1250,
    to_mojibake_latin1,
    to_nfd,
    to_tcvn3,
    to_telex,
    to_viqr,
    to_vni,
    to_vni_digits,
)
from doisoat.normalize.names import names_frame, normalize_name
from sample_data.generator import build_population, load_units

# minority and foreign names seen in extracts besides the generator's (none may be changed)
EXTRA_CLEAN = [
    "A Lăng Thị Dung",
    "Bh'riu Pố",
    "Zơ Râm Nhí",
    "Pơloong Bhơ",
    "Y Moan Ênuôl",
    "H'Hen Niê",
    "Ksor H'Bliêng",
    "Rơ Châm Thị Pết",
    "Kpă Thuyên",
    "Rmah Dơk",
    "Nay Phu",
    "Siu Đẹp",
    "Lâm Thị Sà Rươl",
    "Danh Sóc Kha",
    "Thạch Thị Sa Ry",
    "Kim Thị Phol",
    "Alăng Thị Bríu",
    "Coor Blao",
    "Coor Dung",
    "Tơ Ngôl Liếc",
    "Ríah Jâu",
    "Thomas Nguyễn",
    "Marie-Hélène Trần",
    "José Phạm",
    "Müller Lê",
    "Nguyễn Thị Hòang",
    "Hoàng Thủy Tiên",
    "Nguyen Van An",
    "NGUYỄN VĂN AN",
]


def _one_word(fn: Callable[[str], str], rng: np.random.Generator) -> Callable[[str], str]:
    """A Unicode name with one word (chosen at random among those the encoding changes) in another form."""

    def garble(name: str) -> str:
        words = name.split(" ")
        changed = [i for i, w in enumerate(words) if fn(w) != w]
        if not changed:
            return name
        i = changed[int(rng.integers(len(changed)))]
        return " ".join(fn(w) if j == i else w for j, w in enumerate(words))

    return garble


def _nbsp_lost(name: str) -> str:
    """UTF-8 read as cp1252, then the no-break space of "à" (bytes C3 A0) turned into a plain space or dropped
    at the end, and runs of spaces collapsed, as a spreadsheet's TRIM or a CSV cleaner does."""
    return " ".join(to_mojibake(name).replace("\xa0", " ").split())


def garblings(rng: np.random.Generator) -> dict[str, Callable[[str], str]]:
    return {
        "tcvn3": to_tcvn3,
        "vni": to_vni,
        "mojibake (cp1252)": to_mojibake,
        "mojibake (latin-1)": to_mojibake_latin1,
        "mojibake (cp1250)": to_mojibake_cp1250,
        "mojibake, NBSP lost": _nbsp_lost,
        "viqr": to_viqr,
        "one word vni": _one_word(to_vni, rng),
        "one word tcvn3": _one_word(to_tcvn3, rng),
        "one word viqr": _one_word(to_viqr, rng),
        "telex": to_telex,
        "vni digits": to_vni_digits,
        "nfd": to_nfd,
    }


def _looks_clean(garbled: str, clean: str) -> bool:
    """Every word the garbling changed is itself a Vietnamese syllable in natural case ("Thò" for VNI "Thị",
    "Vò" for TCVN3 "Vũ"): no syllable check can tell such a name from a clean one on its own."""
    changed = [w for w, c in zip(garbled.split(" "), clean.split(" "), strict=False) if w != c]
    return bool(changed) and all(is_vietnamese_syllable(w) and w[1:] == w[1:].lower() for w in changed)


def _reads_both_ways(name: str) -> bool:
    """A word of the name reads as another Vietnamese syllable in VNI or TCVN3 ("Hoàng" / VNI "Hồng")."""
    return any(
        (d := fn(w)) != w and is_vietnamese_syllable(w) and is_vietnamese_syllable(d)
        for w in name.split(" ")
        for fn in (from_vni, from_tcvn3)
    )


def _row(label: str, pairs: list[tuple[str, str]], keys: list[str | None], show: int) -> None:
    ok = [k == normalize_name(n).name_key for (n, _), k in zip(pairs, keys, strict=True)]
    decidable = [not _looks_clean(g, n) for n, g in pairs]
    n_dec = sum(decidable)
    ok_dec = sum(o for o, d in zip(ok, decidable, strict=True) if d)
    share = sum(ok) / len(pairs) if pairs else 1.0
    share_dec = ok_dec / n_dec if n_dec else 1.0
    print(
        f"{label:<28} {len(pairs):>6,} {sum(ok):>9,} {100 * share:>7.2f}%   "
        f"{n_dec:>6,} {ok_dec:>9,} {100 * share_dec:>7.2f}%"
    )
    shown = 0
    for (n, g), o, k in zip(pairs, ok, keys, strict=True):
        if not o and shown < show:
            print("   ", repr(n), repr(g), "→", k)
            shown += 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--show", type=int, default=0, help="print up to K failures per encoding (synthetic names)"
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    pop = build_population(args.names * 3, 0, args.seed, load_units(args.seed))
    rng = np.random.default_rng(args.seed)
    kinh = pop.filter(~pop["ethnic"])["full_name"].unique(maintain_order=True).head(args.names).to_list()
    ethnic = pop.filter(pop["ethnic"])["full_name"].unique(maintain_order=True).to_list()
    clean = kinh + ethnic + EXTRA_CLEAN
    print(
        f"{platform.node()} · {platform.processor() or platform.machine()} · Python {platform.python_version()}"
    )
    print(f"names: {len(kinh):,} Kinh, {len(ethnic):,} ethnic-minority, {len(EXTRA_CLEAN)} extra clean")

    changed_clean = [n for n in clean if repair(n) != (n, None)]
    frame = names_frame(pl.Series(clean), pl.Series(["clean.csv"] * len(clean)))
    changed_in_file = sum(
        k != normalize_name(n).name_key for n, k in zip(clean, frame["name_key"].to_list(), strict=True)
    )
    print(f"clean names changed: {len(changed_clean)} of {len(clean):,} alone, {changed_in_file} as one file")
    for n in changed_clean[: args.show]:
        print("   ", repr(n), "→", repair(n))

    print(
        f"{'Kinh names, garbling':<28} {'names':>6} {'repaired':>9} {'share':>8}   {'decidable':>6} {'repaired':>9} {'share':>8}"
    )
    per_file = {"tcvn3", "vni"}
    for label, fn in garblings(rng).items():
        pairs = [(n, g) for n in kinh if (g := fn(n)) != n]
        _row(label, pairs, [normalize_name(g).name_key for _, g in pairs], args.show)
        if (
            label in per_file
        ):  # the same names as one file in that encoding (names_frame with the file as group)
            garbled = pl.Series([g for _, g in pairs])
            keys = names_frame(garbled, pl.Series(["file.xls"] * len(pairs)))["name_key"].to_list()
            _row(f"{label}, as one file", pairs, keys, args.show)
    # an extract as it arrives: Unicode names, a few per cent of rows with one word (or the whole name) pasted
    # from a VNI or TCVN3 source; the column's own word counts settle words that read as syllables both ways
    n_rows = len(kinh) * 4
    rows = [kinh[int(i)] for i in rng.integers(0, len(kinh), n_rows)]
    forms = [
        ("one word vni", _one_word(to_vni, rng)),
        ("one word tcvn3", _one_word(to_tcvn3, rng)),
        ("vni", to_vni),
        ("tcvn3", to_tcvn3),
    ]
    pick = rng.random(n_rows)
    garbled_rows = []
    kinds = []
    for r, u in zip(rows, pick, strict=True):
        k = 0 if u < 0.03 else 1 if u < 0.05 else 2 if u < 0.06 else 3 if u < 0.07 else -1
        garbled_rows.append(forms[k][1](r) if k >= 0 else r)
        kinds.append(forms[k][0] if k >= 0 else "clean")
    keys = names_frame(pl.Series(garbled_rows), pl.Series(["extract.xlsx"] * n_rows))["name_key"].to_list()
    print(f"one extract of {n_rows:,} rows (7 % garbled):")
    for label in ("clean", *(f for f, _ in forms)):
        idx = [
            i for i, k in enumerate(kinds) if k == label and (label == "clean" or garbled_rows[i] != rows[i])
        ]
        sub = [(rows[i], garbled_rows[i]) for i in idx]
        _row(f"  {label} rows", sub, [keys[i] for i in idx], args.show)
    # the clean rows most at risk: a word that is itself a legacy spelling of another syllable ("Hoàng" is VNI
    # "Hồng", "Hoài" VNI "Hồi")
    idx = [i for i, k in enumerate(kinds) if k == "clean" and _reads_both_ways(rows[i])]
    _row("  clean, a word reads 2 ways", [(rows[i], rows[i]) for i in idx], [keys[i] for i in idx], args.show)
    print(f"{'ethnic-minority names':<28}")
    for label, fn in garblings(rng).items():
        pairs = [(n, g) for n in ethnic if (g := fn(n)) != n]
        _row(label, pairs, [normalize_name(g).name_key for _, g in pairs], 0)
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
