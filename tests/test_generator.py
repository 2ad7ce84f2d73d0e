"""The synthetic province: determinism, realism of the population, error rates, layouts and truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from doisoat.normalize.ids import PROVINCE_CODES
from sample_data import names as N
from sample_data.errors import ErrorRates
from sample_data.generator import generate


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("province")
    return out, generate(out, people=20_000, seed=7)


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", people=400, seed=3)
    generate(tmp_path / "b", people=400, seed=3)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) == 8
    assert all(a[k] == b[k] for k in a)


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", people=400, seed=3)
    generate(tmp_path / "b", people=400, seed=4)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a["reference.parquet"] != b["reference.parquet"]
    assert a["ho_tich.xlsx"] != b["ho_tich.xlsx"]


def test_manifest_names_every_file_and_counts_rows(province: tuple[Path, dict]) -> None:
    out, m = province
    assert set(m["extracts"]) == {"civil_status", "social_protection", "vaccination", "insurance"}
    truth = pl.read_parquet(out / m["truth"])
    for sector, file in m["extracts"].items():
        assert (out / file).is_file()
        assert truth.filter(pl.col("sector") == sector).height == m["rows"][sector]
    assert m["rows_total"] == truth.height
    assert (out / m["reference"]).is_file() and (out / "manifest.json").is_file()


def test_surname_shares_are_near_domain_figures(province: tuple[Path, dict]) -> None:
    out, _ = province
    ref = pl.read_parquet(out / "reference.parquet")
    n = ref.height
    assert n == 20_000
    first = ref["Họ và tên"].str.split(" ").list.first()
    for group, share in N.DOMAIN_SHARES.items():
        got = 100 * first.is_in(list(group)).sum() / n
        assert abs(got - share) < 1.2, (group, got, share)


def test_every_reference_id_agrees_with_sex_birth_year_and_a_known_province(
    province: tuple[Path, dict],
) -> None:
    out, _ = province
    ref = pl.read_parquet(out / "reference.parquet")
    ids = ref["Số định danh cá nhân"]
    assert ids.str.contains(r"^\d{12}$").all() and ids.n_unique() == ref.height
    year = ref["Ngày sinh"].str.slice(-4).cast(pl.Int64)
    g = ids.str.slice(3, 1).cast(pl.Int64)
    decoded_year = 1900 + 100 * (g // 2) + ids.str.slice(4, 2).cast(pl.Int64)
    assert (decoded_year == year).all()
    assert ((g % 2 == 1) == (ref["Giới tính"] == "Nữ")).all()
    assert ids.str.slice(0, 3).is_in(list(PROVINCE_CODES)).all()
    assert (ids.str.slice(0, 3) == "049").mean() > 0.7
    assert ref["Số CMND cũ"].drop_nulls().str.contains(r"^\d{9}$").all()


def test_reference_has_partial_dates_deaths_current_communes_and_name_collisions(province) -> None:
    out, _ = province
    ref = pl.read_parquet(out / "reference.parquet")
    assert ref["Ngày sinh"].str.contains(r"^\d{4}$").sum() > 0  # year only
    assert ref["Ngày sinh"].str.contains(r"^\d{2}/\d{4}$").sum() > 0  # month and year
    dead = ref.filter(pl.col("Tình trạng") == "Đã chết")
    assert 0.01 < dead.height / ref.height < 0.1 and dead["Ngày mất"].is_not_null().all()
    units = pl.read_parquet(Path(__file__).parents[1] / "doisoat/data/units_new.parquet")
    current = units.filter(pl.col("province_code") == "48")["ward_code"]
    assert ref["Mã phường/xã"].is_in(current.implode()).all()
    same = ref.group_by("Họ và tên", ref["Ngày sinh"].str.slice(-4).alias("y")).len()
    assert same.filter(pl.col("len") > 1).height > 50
    assert ref["Họ và tên"].str.contains("'").any()  # Bh'riu and other highland names


def test_each_error_kind_is_applied_near_its_rate(province: tuple[Path, dict]) -> None:
    out, m = province
    rates = m["rates"]
    truth = pl.read_parquet(out / "truth" / "truth.parquet")
    originals = truth.filter(pl.col("duplicate_of").is_null())
    seen: set[str] = set()
    for sector, stats in m["errors_applied"].items():
        in_sector = originals.filter(pl.col("sector") == sector)
        for kind, s in stats.items():
            if s["applied"]:
                seen.add(kind)
            if kind == "duplicate":
                continue
            n_truth = in_sector.filter(pl.col("errors").list.contains(kind)).height
            assert n_truth == s["applied"], (sector, kind)
            if s["eligible"] >= 300:
                rate = rates[kind]
                tol = 4 * math.sqrt(rate * (1 - rate) / s["eligible"]) + 0.002
                assert abs(s["applied"] / s["eligible"] - rate) <= tol, (sector, kind, s)
    assert seen == set(ErrorRates().to_dict()) - {"absent"}


def test_absent_people_duplicates_and_after_death_records_are_present(province: tuple[Path, dict]) -> None:
    out, _ = province
    truth = pl.read_parquet(out / "truth" / "truth.parquet")
    ref_ids = pl.read_parquet(out / "reference.parquet")["Số định danh cá nhân"]
    absent = truth.filter(pl.col("person_id").is_null())
    assert 0.02 < absent.height / truth.height < 0.045
    assert truth["person_id"].drop_nulls().is_in(ref_ids.implode()).all()
    dups = truth.filter(pl.col("duplicate_of").is_not_null())
    assert dups.height > 100
    orig = dups.join(
        truth, left_on=["sector", "duplicate_of"], right_on=["sector", "source_row"], suffix="_o"
    )
    assert orig.height == dups.height
    assert (orig["person_id"].eq_missing(orig["person_id_o"])).all()
    assert (orig["record_id"] == orig["record_id_o"]).filter(orig["sector"] != "vaccination").all()
    assert set(truth.filter(pl.col("after_death"))["sector"].unique()) == {
        "social_protection",
        "vaccination",
        "insurance",
    }


def test_payments_after_death_fall_after_the_reference_death_date(province: tuple[Path, dict]) -> None:
    out, m = province
    sp = pl.read_csv(out / m["extracts"]["social_protection"], separator=";", infer_schema=False)
    sp = sp.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))
    truth = pl.read_parquet(out / "truth" / "truth.parquet").filter(pl.col("sector") == "social_protection")
    ref = pl.read_parquet(out / "reference.parquet").select(
        pl.col("Số định danh cá nhân").alias("person_id"),
        "Tình trạng",
        pl.col("Ngày mất").str.to_date("%d/%m/%Y").alias("death"),
    )
    rows = (
        truth.join(sp, on="source_row")
        .join(ref, on="person_id", how="left")
        .with_columns(pl.col("Ngày chi trả gần nhất").str.to_date("%d/%m/%Y").alias("paid"))
    )
    after = rows.filter(pl.col("after_death"))
    assert (
        after.height > 0
        and (after["Tình trạng"] == "Đã chết").all()
        and (after["paid"] > after["death"]).all()
    )
    before = rows.filter(~pl.col("after_death") & (pl.col("Tình trạng") == "Đã chết"))
    assert (before["paid"] < before["death"]).all()


def test_civil_status_xlsx_has_title_block_and_header_found_below_it(province: tuple[Path, dict]) -> None:
    out, m = province
    info = m["sectors"]["civil_status"]
    wb = openpyxl.load_workbook(out / info["file"], read_only=True)
    ws = wb[info["sheet"]]
    top = [row for row in ws.iter_rows(min_row=1, max_row=12, values_only=True)]
    wb.close()
    assert top[0][0] == "UBND TỈNH QUẢNG NAM" and top[3][0] == "DANH SÁCH ĐĂNG KÝ HỘ TỊCH"
    assert all(v is None for v in top[2])
    header = next(i for i, r in enumerate(top, start=1) if "Họ và tên" in r)
    assert header == info["header_row"] == 7
    body = pl.read_excel(
        out / info["file"],
        sheet_name=info["sheet"],
        read_options={"header_row": header - 1},
        infer_schema_length=0,
    )
    assert body.height == m["rows"]["civil_status"]
    deaths = body.filter(pl.col("Loại việc") == "Khai tử")
    assert deaths.height > 0 and deaths["Ngày chết"].is_not_null().all()
    assert set(body["Loại việc"].unique()) == {"Khai sinh", "Khai tử", "Kết hôn", "Nuôi con nuôi"}


def test_khai_tu_death_date_matches_the_reference(province: tuple[Path, dict]) -> None:
    out, m = province
    info = m["sectors"]["civil_status"]
    body = pl.read_excel(
        out / info["file"], sheet_name=info["sheet"], read_options={"header_row": 6}, infer_schema_length=0
    ).with_row_index("source_row", offset=1)
    truth = pl.read_parquet(out / "truth" / "truth.parquet").filter(pl.col("sector") == "civil_status")
    ref = pl.read_parquet(out / "reference.parquet").select(
        pl.col("Số định danh cá nhân").alias("person_id"), "Ngày mất"
    )
    kt = (
        body.filter(pl.col("Loại việc") == "Khai tử")
        .with_columns(pl.col("source_row").cast(pl.Int64))
        .join(truth, on="source_row")
        .join(ref, on="person_id")
    )
    assert kt.height > 0 and (kt["Ngày chết"] == kt["Ngày mất"]).all()


def test_sector_formats_csv_bom_semicolon_and_insurance_card_forms(province: tuple[Path, dict]) -> None:
    out, m = province
    raw = (out / m["extracts"]["social_protection"]).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.split(b"\n")[0]
    ins = pl.read_parquet(out / m["extracts"]["insurance"])
    lengths = set(ins["so_the_bhyt"].str.len_chars().unique())
    assert lengths == {10, 15}
    assert (ins["so_the_bhyt"].str.slice(-10) == ins["ma_so_bhxh"]).all()
    vac = pl.read_csv(out / m["extracts"]["vaccination"], infer_schema=False)
    assert vac["Mũi thứ"].cast(pl.Int64).max() == 4
    assert vac["Ngày tiêm"].str.contains(r"^\d{8}$").any() and vac["Ngày tiêm"].str.contains("/").any()


def test_no_errors_gives_clean_extracts(tmp_path: Path) -> None:
    m = generate(tmp_path, people=500, seed=1, rates=ErrorRates.none())
    truth = pl.read_parquet(tmp_path / "truth" / "truth.parquet")
    assert truth["errors"].list.len().max() == 0
    assert truth["person_id"].null_count() == 0 and truth["duplicate_of"].null_count() == truth.height
    assert m["absent_people"] == 0
    vac = pl.read_csv(tmp_path / m["extracts"]["vaccination"], infer_schema=False)
    t = truth.filter(pl.col("sector") == "vaccination").sort("source_row")
    assert (vac["Số định danh"] == t["person_id"]).all()


def test_two_row_header_option_merges_group_headings(tmp_path: Path) -> None:
    m = generate(tmp_path, people=300, seed=2, two_row_header=True)
    info = m["sectors"]["civil_status"]
    assert info["header_row"] == 8
    wb = openpyxl.load_workbook(tmp_path / info["file"])
    ws = wb[info["sheet"]]
    assert ws.cell(7, 5).value == "Thông tin người được đăng ký" and ws.cell(8, 5).value == "Họ và tên"
    assert any(str(r) == "A7:A8" for r in ws.merged_cells.ranges)


def test_committed_demo_sample_is_complete_and_small() -> None:
    demo = Path(__file__).parents[1] / "sample_data" / "demo"
    m = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    truth = pl.read_parquet(demo / m["truth"])
    assert m["people"] == 2000 and truth.height == m["rows_total"]
    assert all((demo / f).is_file() for f in [m["reference"], *m["extracts"].values()])
    assert sum(p.stat().st_size for p in demo.rglob("*") if p.is_file()) < 3_000_000
