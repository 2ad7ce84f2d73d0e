"""Extracts as another agency would send them, written independently of sample_data/generator.py (issue 13).

Its own population (households: spouses, children with the father's surname, its own name lists and shares), its
own column names and layouts per sector (no commune code in the civil-status register, a year-only column in the
social-protection list, BHXH ``yyyy0000`` dates, Excel-style phones), and its own error mix: every rate is drawn
per seed from a wide range, so no two seeds have the same mix. The errors are those of DOMAIN.md §8, with the
relative's ID among them (a parent's ID on a child's birth record, a spouse's on a marriage record, the head of
household's on a payee).

Seeds: the linker is tuned on seeds 1 and 2 only (TUNING_SEEDS); its results are measured on 101–106
(MEASURING_SEEDS). 101–103 were measured once mid-way (bench/RESULTS.md says what changed after); 104–106 were
first generated for the final measurement.

Writes ``out/``: ``reference.parquet`` (the population extract, Project 06 headers), one file per sector,
``truth/truth.parquet`` (sector, source_file, source_sheet, source_row, record_id, person_id, errors,
duplicate_of, after_death) and ``manifest.json`` (with the rates drawn).

Usage: .venv/bin/python bench/other_agency.py --people 100000 --seed 101 --out /tmp/oa/s101
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

TUNING_SEEDS = (1, 2)
MEASURING_SEEDS = (101, 102, 103, 104, 105, 106, 107, 108, 109)

# ── names: its own lists (shares of DOMAIN.md §4 for the main surnames) ──────────────────────────────────────────
SURNAMES = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.1, "Hoàng": 2.6, "Huỳnh": 2.5, "Phan": 4.5, "Vũ": 1.9,
    "Võ": 2.0, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5, "Trương": 0.9,
    "Đinh": 0.7, "Lương": 0.5, "Mai": 0.5, "Tạ": 0.3, "Đoàn": 0.6, "Cao": 0.4, "Châu": 0.3, "Tôn Thất": 0.2,
    "Tôn Nữ": 0.1, "Thái": 0.3, "Lâm": 0.4, "Hà": 0.4, "Kiều": 0.2, "Văn": 0.2, "Quách": 0.2, "Từ": 0.1,
}  # fmt: skip
MIDDLE_M = {"Văn": 40, "Hữu": 8, "Đức": 8, "Minh": 10, "Quang": 6, "Công": 5, "Xuân": 4, "Thanh": 5, "Ngọc": 4,
            "": 10}  # fmt: skip
MIDDLE_F = {"Thị": 45, "Ngọc": 8, "Thu": 7, "Thanh": 6, "Kim": 5, "Mỹ": 4, "Bích": 3, "Hồng": 4, "Thị Thu": 5,
            "Thị Ngọc": 3, "": 8}  # fmt: skip
GIVEN_M = (
    "Anh Bảo Bình Cường Chiến Dũng Duy Đạt Định Đông Giang Hải Hào Hiếu Hoà Hoàng Hùng Huy Hưng Khải Khang Khánh Khoa "
    "Kiên Lâm Lộc Long Luân Mạnh Minh Nam Nghĩa Nhân Phát Phong Phúc Phước Quang Quân Quý Quốc Sang Sơn Tài Tâm Tân "
    "Thắng Thành Thiện Thịnh Thông Tiến Toàn Trí Trung Tuấn Tùng Tú Việt Vinh Vũ Xuân Thuỷ Khoẻ Hoá An Ân Bách Bằng "
    "Cảnh Chính Công Danh Dương Đăng Điền Đức Gia Hạnh Hậu Hiển Hiệp Hoan Học Hợp Huân Khôi Kỳ Lập Lễ Linh Lợi Luật "
    "Lượng Mẫn Nghị Ngọc Nguyên Nhật Ninh Pháp Phú Quảng Quyết Sĩ Sinh Sỹ Tấn Thái Thạch Thanh Thảo Thế Thiên Thọ "
    "Thuận Thức Tín Tịnh Toản Trãi Triều Trọng Trường Tuệ Tường Uy Văn Vĩnh Vượng Xuyên Ý Yên Khiêm Cương Đạo Hiền"
).split()
GIVEN_F = (
    "An Anh Ánh Bích Châu Chi Diệp Dung Duyên Giang Hà Hạnh Hằng Hiền Hoa Hoà Hồng Huệ Hương Khánh Lan Liên Linh "
    "Loan Ly Mai My Nga Ngân Ngọc Nhi Nhung Oanh Phương Phượng Quyên Quỳnh Sương Tâm Thảo Thanh Thoa Thu Thuý Thuỷ "
    "Tiên Trang Trâm Trinh Tuyết Uyên Vân Vi Xuân Yến Hoài Khuê Lệ Mận Sen Ái Bảo Cúc Dạ Diễm Dịu Đào Điệp Gấm Hạ "
    "Hảo Hậu Hoàn Huyền Kiều Kim Lài Lành Liễu Loan Lụa Lương Mơ Mỹ Na Nguyệt Nhàn Nhạn Như Nương Phấn Phúc Quế "
    "Quyên Sa Son Tài Thắm Thơ Thư Thương Thục Tình Trà Trúc Tú Tươi Vy Xoan Yên Hiếu Hợp Lam Lộc Mến Ngà Nhung"
).split()
ID_PROVINCES = np.array(["048", "049", "049", "049", "051", "046", "079", "001", "038", "052"])

# ── error kinds and the ranges their rates are drawn from (per seed) ─────────────────────────────────────────────
RANGES: dict[str, tuple[float, float]] = {
    "relative_id": (0.02, 0.10),  # of records that have a relative to take the ID from
    "id_missing": (0.05, 0.30),  # civil status: 0.40–0.60 (old registers), below
    "id_digit": (0.003, 0.03),
    "year_off_by_one": (0.01, 0.06),
    "year_only": (0.01, 0.08),
    "placeholder_0101": (0.01, 0.05),
    "dm_swapped": (0.005, 0.03),
    "sex_flipped": (0.005, 0.04),
    "sex_missing": (0.01, 0.10),
    "middle_dropped": (0.02, 0.12),
    "middle_added": (0.0, 0.03),
    "merged_syllables": (0.01, 0.05),
    "typo": (0.01, 0.06),
    "no_diacritics_caps": (0.0, 0.10),
    "regional_surname": (0.02, 0.15),  # of Hoàng/Huỳnh/Vũ/Võ
    "tone_misplaced": (0.0, 0.10),
    "absent": (0.02, 0.08),  # people in the extracts but not in the reference
    "moved": (0.05, 0.25),  # the record's commune is not the one the reference holds (a move, an old address)
    "phone_changed": (0.10, 0.40),  # of records with a phone: another number than the reference's
}
CIVIL_ID_MISSING = (0.40, 0.60)


@dataclass(frozen=True)
class Rates:
    values: dict[str, float]

    @classmethod
    def draw(cls, seed: int) -> Rates:
        rng = np.random.default_rng([seed, 99])
        vals = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in RANGES.items()}
        vals["civil_id_missing"] = float(rng.uniform(*CIVIL_ID_MISSING))
        return cls(vals)

    def __getitem__(self, k: str) -> float:
        return self.values[k]


def _pick(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), n, p=p / p.sum())]


# ── population: households ───────────────────────────────────────────────────────────────────────────────────────
def population(n: int, rng: np.random.Generator, communes: np.ndarray) -> pl.DataFrame:
    """About ``n`` people in households: a head, often a spouse, children born to them (father's surname)."""
    rows: list[
        tuple
    ] = []  # pid_index, household, role, sex, surname, middle, given, y, m, d, commune, father, mother
    hh = 0
    while len(rows) < n:
        commune = communes[rng.integers(0, len(communes))]
        head_y = int(rng.integers(1935, 1998))
        sur_h = _pick(rng, SURNAMES, 1)[0]
        head = len(rows)
        rows.append((hh, "head", "M", sur_h, head_y, commune, -1, -1))
        mother = -1
        if rng.random() < 0.85:
            mother = len(rows)
            rows.append(
                (
                    hh,
                    "spouse",
                    "F",
                    _pick(rng, SURNAMES, 1)[0],
                    head_y + int(rng.integers(-2, 7)),
                    commune,
                    -1,
                    -1,
                )
            )
        n_children = int(rng.poisson(1.7)) if mother >= 0 else int(rng.poisson(0.4))
        mother_y = rows[mother][4] if mother >= 0 else head_y
        for _ in range(n_children):
            y = mother_y + int(rng.integers(19, 41))
            if y > 2025:
                continue
            rows.append((hh, "child", "M" if rng.random() < 0.51 else "F", sur_h, y, commune, head, mother))
        hh += 1
    df = pl.DataFrame(
        rows,
        schema=["household", "role", "sex", "surname", "year", "commune", "father", "mother"],
        orient="row",
    ).with_row_index("idx")
    k = df.height
    male = (df["sex"] == "M").to_numpy()
    middle = np.where(male, _pick(rng, MIDDLE_M, k), _pick(rng, MIDDLE_F, k))
    # given names are far from uniform: a Zipf-like share (the first names of each list most common)
    given = np.where(
        male,
        _pick(rng, {g: 1 / (i + 1) ** 0.5 for i, g in enumerate(dict.fromkeys(GIVEN_M))}, k),
        _pick(rng, {g: 1 / (i + 1) ** 0.5 for i, g in enumerate(dict.fromkeys(GIVEN_F))}, k),
    )
    month = rng.integers(1, 13, k)
    day = rng.integers(1, 29, k)
    year = df["year"].to_numpy()
    # the population register itself knows only the year of some of the oldest people
    ref_year_only = (year < 1950) & (rng.random(k) < 0.15)
    g = ((year - 1900) // 100) * 2 + (~male).astype(int)
    prov = ID_PROVINCES[rng.integers(0, len(ID_PROVINCES), k)]
    rand6 = rng.choice(1_000_000, size=k, replace=k > 1_000_000)
    pid = [f"{p}{gg}{yy % 100:02d}{r:06d}" for p, gg, yy, r in zip(prov, g, year, rand6, strict=True)]
    phone = [
        f"0{pre}{x:07d}" if u < 0.6 else None
        for pre, x, u in zip(
            np.array(["90", "91", "93", "94", "98", "35", "36", "70", "77", "83"])[rng.integers(0, 10, k)],
            rng.integers(0, 10**7, k),
            rng.random(k),
            strict=True,
        )
    ]
    df = df.with_columns(
        pl.Series("person_id", pid),
        pl.Series("middle", middle.astype(str)),
        pl.Series("given", given.astype(str)),
        pl.Series("month", month),
        pl.Series("day", day),
        pl.Series("ref_year_only", ref_year_only),
        pl.Series("phone", phone, dtype=pl.Utf8),
        pl.Series("dead", rng.random(k) < np.where(year < 1950, 0.15, 0.01)),
    ).unique("person_id", keep="first", maintain_order=True)
    name = (pl.col("surname") + " " + pl.col("middle") + " " + pl.col("given")).str.replace_all(" +", " ")
    return df.with_columns(name.alias("full_name"))


# ── error injection (its own code: per word / per string, distinct values are few) ──────────────────────────────
_TONE_MOVES = {"oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa", "uý": "úy", "uỳ": "ùy", "uỷ": "ủy",
               "oè": "òe", "oé": "óe", "oẻ": "ỏe", "uỵ": "ụy"}  # fmt: skip
_REGIONAL = {"Hoàng": "Huỳnh", "Huỳnh": "Hoàng", "Vũ": "Võ", "Võ": "Vũ"}


def _strip(s: str) -> str:
    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def _typo(s: str, u1: float, u2: float) -> str:
    if len(s) < 4:
        return s
    i = 1 + int(u1 * (len(s) - 2))
    if s[i] == " " or s[i - 1] == " ":
        i = max(1, i - 2)
    if u2 < 0.5:
        return s[:i] + "aeiounhtg"[int(u2 * 18) % 9] + s[i + 1 :]
    return s[:i] + s[i + 1 :]


def corrupt_names(
    rec: pl.DataFrame, rates: Rates, rng: np.random.Generator
) -> tuple[list[str], list[list[str]]]:
    out, kinds = [], []
    u = rng.random((rec.height, 8))
    for row, uu in zip(rec.select("surname", "middle", "given").iter_rows(), u, strict=True):
        sur, mid, giv = row
        ks: list[str] = []
        if sur in _REGIONAL and uu[0] < rates["regional_surname"]:
            sur = _REGIONAL[sur]
            ks.append("regional_surname")
        if mid and uu[1] < rates["middle_dropped"]:
            mid = ""
            ks.append("middle_dropped")
        elif not mid and uu[1] < rates["middle_added"]:
            mid = "Văn"
            ks.append("middle_added")
        words = [w for w in f"{sur} {mid} {giv}".split(" ") if w]
        if uu[2] < rates["merged_syllables"] and len(words) >= 3:
            words = [*words[:-2], words[-2] + words[-1]]
            ks.append("merged_syllables")
        if uu[3] < rates["tone_misplaced"]:
            moved = []
            for w in words:
                for a, b in _TONE_MOVES.items():
                    w = w.replace(a, b)
                moved.append(w)
            if moved != words:
                words = moved
                ks.append("tone_misplaced")
        name = " ".join(words)
        if uu[4] < rates["typo"]:
            typo = _typo(name, uu[5], uu[6])
            if typo != name:
                name = typo
                ks.append("typo")
        if uu[7] < rates["no_diacritics_caps"]:
            name = _strip(name).upper()
            ks.append("no_diacritics_caps")
        out.append(name)
        kinds.append(ks)
    return out, kinds


def corrupt_dates(
    rec: pl.DataFrame, rates: Rates, rng: np.random.Generator, style: str
) -> tuple[list[str], list[list[str]]]:
    out, kinds = [], []
    u = rng.random((rec.height, 5))
    for (y, m, d, ref_y_only), uu in zip(
        rec.select("year", "month", "day", "ref_year_only").iter_rows(), u, strict=True
    ):
        ks: list[str] = []
        y_only = bool(ref_y_only)
        if uu[0] < rates["year_off_by_one"]:
            y += 1 if uu[4] < 0.5 else -1
            ks.append("year_off_by_one")
        if not y_only and uu[1] < rates["year_only"]:
            y_only = True
            ks.append("year_only")
        elif not y_only and uu[2] < rates["placeholder_0101"]:
            m, d = 1, 1
            ks.append("placeholder_0101")
        elif not y_only and d <= 12 and d != m and uu[3] < rates["dm_swapped"]:
            m, d = d, m
            ks.append("dm_swapped")
        if y_only:
            text = {"bhxh": f"{y}0000", "dmy": f"00/00/{y}", "iso": f"{y}", "year": f"{y}"}[style]
        else:
            text = {"bhxh": f"{y}{m:02d}{d:02d}", "dmy": f"{d:02d}/{m:02d}/{y}", "iso": f"{y}-{m:02d}-{d:02d}",
                    "year": f"{d}/{m}/{y}"}[style]  # fmt: skip
        out.append(text)
        kinds.append(ks)
    return out, kinds


def corrupt_ids(
    rec: pl.DataFrame, rates: Rates, rng: np.random.Generator, id_missing: float
) -> tuple[list[str | None], list[list[str]]]:
    out, kinds = [], []
    u = rng.random((rec.height, 4))
    for (pid, rel), uu in zip(rec.select("person_id", "relative_id").iter_rows(), u, strict=True):
        if rel is not None and uu[0] < rates["relative_id"]:
            out.append(rel)
            kinds.append(["relative_id"])
        elif uu[1] < id_missing:
            out.append(None)
            kinds.append(["id_missing"])
        elif uu[2] < rates["id_digit"]:
            i = 4 + int(uu[3] * 8)
            new = str((int(pid[i]) + 1 + int(uu[3] * 80) % 9) % 10)
            out.append(pid[:i] + new + pid[i + 1 :])
            kinds.append(["id_digit"])
        else:
            out.append(pid)
            kinds.append([])
    return out, kinds


def corrupt_sex(rec: pl.DataFrame, rates: Rates, rng: np.random.Generator, coding: tuple[str, str]):
    out, kinds = [], []
    u = rng.random(rec.height)
    for sex, uu in zip(rec["sex"].to_list(), u, strict=True):
        if uu < rates["sex_flipped"]:
            sex = "F" if sex == "M" else "M"
            kinds.append(["sex_flipped"])
        elif uu < rates["sex_flipped"] + rates["sex_missing"]:
            sex = None
            kinds.append(["sex_missing"])
        else:
            kinds.append([])
        out.append(None if sex is None else (coding[0] if sex == "M" else coding[1]))
    return out, kinds


def _phone(p: str | None, u: float) -> str | None:
    if p is None:
        return None
    if u < 0.3:
        return "+84 " + p[1:4] + " " + p[4:7] + " " + p[7:]
    if u < 0.5:
        return p[:4] + "." + p[4:7] + "." + p[7:]
    if u < 0.6:
        return "84" + p[1:]
    return p


# ── sectors: who appears, which relative's ID could be on the record, layout ────────────────────────────────────
@dataclass(frozen=True)
class Layout:
    file: str
    fmt: str  # csv | xlsx
    columns: dict[str, str]  # field → header
    date_style: str
    sex_coding: tuple[str, str]
    sep: str = ","


LAYOUTS = {
    "civil_status": Layout(
        "so_dang_ky_ho_tich.csv", "csv",
        {"record_id": "Số đăng ký", "full_name": "Họ, chữ đệm, tên người được đăng ký", "birth_date": "Ngày, tháng, năm sinh",
         "sex": "Giới tính", "national_id": "Số định danh cá nhân", "event_type": "Loại việc hộ tịch",
         "event_date": "Ngày đăng ký", "commune_name": "Nơi đăng ký"},
        "dmy", ("Nam", "Nữ"), ";",
    ),
    "social_protection": Layout(
        "ds_chi_tra_bao_tro.xlsx", "xlsx",
        {"record_id": "MÃ HƯỞNG", "full_name": "HỌ VÀ TÊN NGƯỜI HƯỞNG", "birth_date": "NĂM SINH",
         "sex": "GIỚI", "national_id": "SỐ CCCD", "commune_code": "MÃ XÃ", "kind": "DIỆN HƯỞNG", "phone": "SĐT"},
        "year", ("Nam", "Nữ"),
    ),
    "vaccination": Layout(
        "export_tiemchung.csv", "csv",
        {"record_id": "ma_doi_tuong", "full_name": "ho_ten", "birth_date": "ngay_sinh", "sex": "gioi_tinh",
         "national_id": "so_cccd", "commune_code": "ma_xa", "vaccine": "ten_vac_xin", "event_date": "ngay_tiem",
         "phone": "so_dien_thoai"},
        "iso", ("1", "0"),
    ),
    "insurance": Layout(
        "bhxh_danh_sach.csv", "csv",
        {"record_id": "Mã hồ sơ", "full_name": "Họ tên", "birth_date": "Ngày sinh", "sex": "Giới tính",
         "national_id": "Số CCCD/CMND", "insurance_id": "Mã số BHXH", "commune_code": "Mã xã",
         "status": "Trạng thái tham gia", "phone": "Điện thoại"},
        "bhxh", ("Nam", "Nữ"), "\t",
    ),
}  # fmt: skip


def sector_records(pop: pl.DataFrame, rng: np.random.Generator) -> dict[str, pl.DataFrame]:
    """Which people each sector lists, and whose ID a record could carry instead (a relative's)."""
    ids = pop["person_id"].to_numpy()
    idx_of = dict(zip(pop["idx"].to_list(), range(pop.height), strict=True))
    father = np.array([idx_of.get(f, -1) for f in pop["father"].to_list()])
    mother = np.array([idx_of.get(m, -1) for m in pop["mother"].to_list()])
    # spouse: the other adult of the household
    hh = pop.select("household", "role").with_row_index("i")
    heads = dict(hh.filter(pl.col("role") == "head").select("household", "i").iter_rows())
    spouses = dict(hh.filter(pl.col("role") == "spouse").select("household", "i").iter_rows())
    spouse = np.array(
        [
            spouses.get(h, -1) if r == "head" else (heads.get(h, -1) if r == "spouse" else -1)
            for h, r in hh.select("household", "role").iter_rows()
        ]
    )
    head = np.array([heads.get(h, -1) for h in pop["household"].to_list()])
    year = pop["year"].to_numpy()
    role = pop["role"].to_numpy()
    n = pop.height

    def take(sel: np.ndarray, relative: np.ndarray, extra: dict | None = None) -> pl.DataFrame:
        rel = [ids[r] if r >= 0 else None for r in relative]
        df = pop.select(pl.all().gather(sel)).with_columns(pl.Series("relative_id", rel, dtype=pl.Utf8))
        return df.with_columns(**{k: pl.Series(v) for k, v in (extra or {}).items()})

    out = {}
    # civil status: birth registrations of children (a parent's ID), marriages of couples (the spouse's ID)
    child = np.where((role == "child") & (rng.random(n) < 0.8))[0]
    parent = np.where(rng.random(child.size) < 0.6, father[child], mother[child])
    marr = np.where((spouse >= 0) & (rng.random(n) < 0.5))[0]
    civ_sel = np.concatenate([child, marr])
    civ_rel = np.concatenate([parent, spouse[marr]])
    civ = pop.select(pl.all().gather(civ_sel)).with_columns(
        pl.Series("relative_id", [ids[r] if r >= 0 else None for r in civ_rel], dtype=pl.Utf8),
        pl.Series("event", ["Khai sinh"] * child.size + ["Kết hôn"] * marr.size),
    )
    out["civil_status"] = civ
    # social protection: the elderly and some poor households; a guardian's / the head's ID
    sp = np.where(((year < 1960) & (rng.random(n) < 0.5)) | (rng.random(n) < 0.03))[0]
    rel = np.where(head[sp] != sp, head[sp], np.where(spouse[sp] >= 0, spouse[sp], -1))
    out["social_protection"] = take(sp, rel)
    # vaccination: children and young adults, 1–4 doses each; a parent's ID on a child's dose
    vac = np.where((year > 1985) & (rng.random(n) < 0.85))[0]
    doses = rng.integers(1, 5, vac.size)
    vac = np.repeat(vac, doses)
    out["vaccination"] = take(vac, np.where(year[vac] > 2010, father[vac], -1)).with_columns(
        pl.Series("dose", np.concatenate([np.arange(1, d + 1) for d in doses]))
    )
    # insurance: working-age people and children (family cards carry the head's ID now and then)
    ins = np.where((rng.random(n) < 0.7) & (year < 2023))[0]
    out["insurance"] = take(ins, np.where(year[ins] > 2007, head[ins], -1))
    return out


def write_sector(
    out: Path,
    sector: str,
    rec: pl.DataFrame,
    rates: Rates,
    rng: np.random.Generator,
    ward_names: dict[str, str],
) -> pl.DataFrame:
    lay = LAYOUTS[sector]
    rec = rec.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(0, 2**31)))
    names, k_name = corrupt_names(rec, rates, rng)
    dates, k_date = corrupt_dates(rec, rates, rng, lay.date_style)
    idm = rates["civil_id_missing"] if sector == "civil_status" else rates["id_missing"]
    ids, k_id = corrupt_ids(rec, rates, rng, idm)
    sexes, k_sex = corrupt_sex(rec, rates, rng, lay.sex_coding)
    errors = [a + b + c + d for a, b, c, d in zip(k_name, k_date, k_id, k_sex, strict=True)]
    # the address and the phone a sector holds are often not the reference's: people move, change numbers
    communes_all = np.asarray(sorted(ward_names))
    um, up = rng.random(rec.height), rng.random(rec.height)
    new_commune = communes_all[rng.integers(0, len(communes_all), rec.height)]
    new_phone = [f"09{x:08d}" for x in rng.integers(0, 10**8, rec.height)]
    commune, phone = [], []
    for i, (c, p) in enumerate(zip(rec["commune"].to_list(), rec["phone"].to_list(), strict=True)):
        if um[i] < rates["moved"] and new_commune[i] != c:
            c = str(new_commune[i])
            errors[i] = [*errors[i], "moved"]
        if p is not None and up[i] < rates["phone_changed"]:
            p = new_phone[i]
            errors[i] = [*errors[i], "phone_changed"]
        commune.append(c)
        phone.append(p)
    pu = rng.random(rec.height)
    n = rec.height
    fields = {
        "record_id": [f"{sector[:2].upper()}{i:07d}" for i in range(1, n + 1)],
        "full_name": names,
        "birth_date": dates,
        "sex": sexes,
        "national_id": ids,
        "commune_code": commune,
        "commune_name": [f"UBND {ward_names.get(c, '')}".strip() for c in commune],
        "phone": [_phone(p, u) for p, u in zip(phone, pu, strict=True)],
        "event_type": rec["event"].to_list() if "event" in rec.columns else None,
        "event_date": [f"{int(2000 + u * 25)}-0{1 + int(u * 9)}-15" for u in pu],
        "vaccine": ["Sởi - Rubella"] * n,
        "kind": ["Người cao tuổi"] * n,
        "status": ["Đang tham gia"] * n,
        "insurance_id": [f"49{i:08d}" for i in rec["idx"].to_list()],
    }
    table = pl.DataFrame({hdr: pl.Series(fields[f], dtype=pl.Utf8) for f, hdr in lay.columns.items()})
    if sector == "vaccination":
        table = table.with_columns(pl.Series("mui_thu", rec["dose"].cast(pl.Utf8)))
    path = out / lay.file
    if lay.fmt == "csv":
        table.write_csv(path, separator=lay.sep)
    else:
        table.write_excel(path, worksheet="Sheet1", autofit=False)
    truth = pl.DataFrame(
        {
            "sector": [sector] * n,
            "source_file": [lay.file] * n,
            "source_sheet": pl.Series([None if lay.fmt == "csv" else "Sheet1"] * n, dtype=pl.Utf8),
            "source_row": pl.Series(range(1, n + 1), dtype=pl.Int64),
            "record_id": fields["record_id"],
            "person_id": pl.Series(
                [
                    None if a else p
                    for p, a in zip(rec["person_id"].to_list(), rec["absent"].to_list(), strict=True)
                ],
                dtype=pl.Utf8,
            ),
            "errors": pl.Series(errors, dtype=pl.List(pl.Utf8)),
            "duplicate_of": pl.Series([None] * n, dtype=pl.Int64),
            "after_death": [False] * n,
        }
    )
    return truth


def make(out: Path, people: int, seed: int, overrides: dict[str, float] | None = None) -> dict:
    """Write the population extract, four sector extracts and the truth to ``out``; return the manifest.

    ``overrides`` sets some rates after the draw (e.g. ``{"relative_id": 0}`` for a leave-one-kind-out run)."""
    out = Path(out)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 7])
    rates = Rates.draw(seed)
    if overrides:
        unknown = set(overrides) - set(rates.values)
        if unknown:
            raise ValueError(f"unknown error kinds: {sorted(unknown)}")
        rates = Rates({**rates.values, **overrides})
    units = pl.read_parquet(Path(__file__).resolve().parent.parent / "doisoat" / "data" / "units_new.parquet")
    units = units.filter(pl.col("province_code") == "48")
    communes = units["ward_code"].to_numpy()
    ward_names = dict(units.select("ward_code", "ward").iter_rows())
    pop = population(int(people * (1 + rates["absent"])), rng, communes)
    pop = pop.with_columns(pl.Series("absent", rng.random(pop.height) < rates["absent"]))
    ref = pop.filter(~pl.col("absent"))
    reference = ref.select(
        pl.col("person_id").alias("Số định danh cá nhân"),
        pl.col("full_name").alias("Họ và tên"),
        pl.when(pl.col("ref_year_only"))
        .then(pl.col("year").cast(pl.Utf8))
        .otherwise(
            pl.format("{}/{}/{}", pl.col("day").cast(pl.Utf8).str.zfill(2), pl.col("month").cast(pl.Utf8).str.zfill(2),
                      pl.col("year"))
        )
        .alias("Ngày sinh"),
        pl.when(pl.col("sex") == "M").then(pl.lit("Nam")).otherwise(pl.lit("Nữ")).alias("Giới tính"),
        pl.col("commune").alias("Mã phường/xã"),
        pl.when(pl.col("dead")).then(pl.lit("Đã chết")).otherwise(pl.lit("Còn sống")).alias("Tình trạng"),
        pl.when(pl.col("dead")).then(pl.lit("01/03/2024")).otherwise(None).alias("Ngày mất"),
        pl.lit(None, dtype=pl.Utf8).alias("Số CMND cũ"),
        pl.col("phone").alias("Số điện thoại"),
    )  # fmt: skip
    reference.write_parquet(out / "reference.parquet")
    # relatives absent from the reference cannot lend an ID that the reference knows: keep them, it is real
    truths = [
        write_sector(out, sector, rec, rates, rng, ward_names)
        for sector, rec in sector_records(pop, rng).items()
    ]
    truth = pl.concat(truths)
    truth.write_parquet(out / "truth" / "truth.parquet")
    manifest = {
        "maker": "bench/other_agency.py",
        "seed": seed,
        "people": reference.height,
        "reference": "reference.parquet",
        "extracts": {s: lay.file for s, lay in LAYOUTS.items()},
        "rows": dict(truth.group_by("sector").len().sort("sector").iter_rows()),
        "rates": {k: round(v, 4) for k, v in rates.values.items()},
        "errors_applied": dict(
            truth.select(pl.col("errors").explode())
            .drop_nulls()
            .group_by("errors")
            .len()
            .sort("errors")
            .iter_rows()
        ),
        "tuning_seeds": list(TUNING_SEEDS),
        "measuring_seeds": list(MEASURING_SEEDS),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KIND=RATE", help="override a drawn rate")
    args = ap.parse_args()
    overrides = {k: float(v) for k, v in (x.split("=", 1) for x in args.set)}
    m = make(args.out, args.people, args.seed, overrides)
    print(json.dumps({k: m[k] for k in ("people", "rows", "rates")}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
