"""Commune from the address: the forms real registers use, old and new units, and no guess where the text cannot tell."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from doisoat.ingest import ingest_file
from doisoat.normalize import standardize, to_mojibake, to_nfd, to_tcvn3, to_vni
from doisoat.normalize.addresses import address_frame, provinces_in_play, resolve_address
from doisoat.reasons import REASONS
from sample_data.addresses import address_test_set, rewrite_with_addresses
from schemas import load_sector

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
DA_NANG = ["48"]
TODAY = date(2026, 12, 1)
# Xã Tam Thanh (TP Tam Kỳ) 20359 → 20356; Xã Tam Thạnh (Núi Thành) 20980 → 20977; Xã Tam Thành (Phú Ninh) 20365 → 20380
TAM_THANH = ("20356", "20359", "mapped", ())


@pytest.mark.parametrize(
    "text",
    [
        "Thôn 1, X. Tam Thanh, TP. Tam Kỳ, T. Quảng Nam",
        "Thôn 1, Xã Tam Thanh, Thành phố Tam Kỳ, Tỉnh Quảng Nam",
        "xa Tam Thanh tp Tam Ky",
        "THON 3 - XA TAM THANH - TP TAM KY - QUANG NAM",
        "Tổ 5,x.tam thanh,tp.tam kỳ",
        "Số nhà 12 đường Lê Lợi, Tam Thanh, Tam Kỳ, Quảng Nam",
        "Thôn Phú Xuân, xã Tam Thanh, thành phố Tam Kỳ",
        "Ấp 2 X.Tam Thanh Tp Tam Kỳ T.Quảng Nam",
        "Thôn 1 - Tam Thanh - Tam Kỳ",
        "Tam Thanh, Tam Kỳ, QN",  # a last part that names no unit is left out
        "thôn 1, xã tam thanh, tp tam kỳ, tỉnh quảng nam (cũ), Việt Nam",
    ],
)
def test_old_address_forms_give_the_current_commune(text):
    assert resolve_address(text, DA_NANG) == TAM_THANH


@pytest.mark.parametrize(
    ("text", "code", "status"),
    [
        ("Tổ 3, P. Tân Thạnh, TP Tam Kỳ", "20335", "mapped"),
        ("Khối phố 3, P. Điện Nam Trung", "20579", "mapped"),
        ("Thôn 2, Xã Tam Xuân, TP Đà Nẵng", "20971", "current"),
        ("TT. Núi Thành, H. Núi Thành", "20965", "mapped"),
        ("9 Hùng Vương, Bàn Thạch, Đà Nẵng", "20335", "current"),
        ("phuong hoa khanh bac, q lien chieu", "20197", "mapped"),
    ],
)
def test_new_and_old_names_abbreviations_and_house_parts(text, code, status):
    got = resolve_address(text, DA_NANG)
    assert (got[0], got[2]) == (code, status)


@pytest.mark.parametrize("encode", [to_tcvn3, to_vni, to_mojibake, to_nfd])
def test_addresses_typed_in_legacy_encodings_are_repaired_first(encode):
    assert (
        resolve_address(encode("Thôn 1, Xã Tam Thanh, Thành phố Tam Kỳ, Tỉnh Quảng Nam"), DA_NANG)
        == TAM_THANH
    )


def test_a_house_number_is_not_read_as_vni_typing():
    assert resolve_address("thon 4a, xa tam thanh, tp tam ky", DA_NANG) == TAM_THANH


def test_numbered_wards_of_a_city_need_their_district():
    assert resolve_address("P.3, Q.3, TP.HCM")[0] == "27154"
    assert resolve_address("F12 Q5 tphcm")[0] == "27343"
    assert resolve_address("Phường 3, TP Hồ Chí Minh")[0] is None  # a Phường 3 in many old districts


def test_same_name_commune_without_district_is_never_guessed():
    # Tam Thanh (Tam Kỳ), Tam Thạnh (Núi Thành) and Tam Thành (Phú Ninh) read the same without diacritics
    code, old, status, reasons = resolve_address("thon 1, x. tam thanh", DA_NANG)
    assert (code, old, status) == (None, None, "unresolved")
    assert reasons == ("ADDRESS_COMMUNE_UNRESOLVED",)
    assert REASONS["ADDRESS_COMMUNE_UNRESOLVED"].vi == "Địa chỉ không xác định được xã"


def test_a_district_or_the_diacritics_tell_same_name_communes_apart():
    assert resolve_address("thon 1, x. tam thanh, h. nui thanh", DA_NANG)[:2] == ("20977", "20980")
    assert resolve_address("Thôn 1, Xã Tam Thạnh", DA_NANG)[:2] == ("20977", "20980")
    assert resolve_address("Thôn 1, Xã Tam Thành", DA_NANG)[:2] == ("20380", "20365")
    assert resolve_address("Thôn 1, Xã Tam Thanh", DA_NANG)[:2] == ("20356", "20359")


def test_a_split_old_commune_keeps_its_old_code_and_gets_no_new_one():
    # Xã Hòa Liên (Hòa Vang) went to two new wards
    assert resolve_address("Thôn 4, Xã Hòa Liên, Huyện Hòa Vang", DA_NANG) == (
        None,
        "20296",
        "ambiguous",
        ("COMMUNE_SPLIT_AMBIGUOUS",),
    )


def test_marker_words_inside_names_stay_names():
    assert resolve_address("Xã Phương Trung, Huyện Thanh Oai, Hà Nội")[:2] == ("10114", "10162")
    assert resolve_address("THON 21, PHUONG DUC, HA NOI")[0] is not None  # Phượng Dực, not "Phường Đức"


def test_no_commune_in_the_text_or_a_commune_outside_the_provinces_in_play():
    assert resolve_address("Thôn 1", DA_NANG)[2:] == ("unknown", ("ADDRESS_COMMUNE_UNRESOLVED",))
    assert resolve_address("Xã Phương Trung", DA_NANG)[0] is None  # Hà Nội, not in play
    # a district (or province) of elsewhere in the text says where the person lives; it is never ignored
    assert resolve_address("Xã Phương Trung, Huyện Thanh Oai", DA_NANG)[0] == "10114"
    assert resolve_address("Xã Tam Thanh, Huyện Vụ Bản", DA_NANG)[0] == "13741"  # Nam Định, not Tam Kỳ's
    assert resolve_address("Xã Tam Thanh, Huyện Vụ Bản, Tỉnh Quảng Nam", DA_NANG)[0] is None


def test_generated_addresses_are_right_at_least_99_percent_and_never_guessed_where_ambiguous():
    ts = address_test_set(1500, seed=5)
    parts = []
    for (prov,), sub in ts.group_by("province_scope"):
        parts.append(pl.concat([sub, address_frame(sub["address"], [prov])], how="horizontal"))
    out = pl.concat(parts)
    code = pl.col("commune_code_std")
    right = (
        pl.when(pl.col("expect") == "resolved")
        .then(code == pl.col("truth_code"))
        .when(pl.col("expect") == "split")
        .then(code.is_null() & (pl.col("commune_code_old") == pl.col("expect_old")))
        .otherwise(code.is_null())
        .fill_null(False)
    )
    assert out.select(right.mean()).item() >= 0.99
    assert out.filter((pl.col("expect") == "ambiguous") & code.is_not_null()).height == 0
    assert out.filter(code.is_not_null() & (code != pl.col("truth_code"))).height == 0
    assert out.filter(pl.col("expect") == "ambiguous").height > 20  # the set does test same-name communes


def test_standardize_takes_the_commune_from_the_address_when_the_code_is_absent_or_blank():
    df = pl.DataFrame(
        {
            "full_name": ["Nguyễn Văn An"] * 6,
            "commune_code": ["20194", None, " ", "99999", None, None],
            "address": [
                "Thôn 1, X. Tam Thanh, TP Tam Kỳ",  # a code wins over the address
                "Thôn 1, X. Tam Thanh, TP. Tam Kỳ",
                "Tổ 3, P. Tân Thạnh, TP Tam Kỳ",
                "xa Tam Thanh tp Tam Ky",
                "thon 1, x. tam thanh",
                None,
            ],
            "source_file": ["a.csv"] * 6,
        }
    )
    out = standardize(df, today=TODAY)
    assert out["commune_code_std"].to_list() == ["20194", "20356", "20335", "20356", None, None]
    assert out["commune_origin"].to_list() == [
        "coded",
        "from_address",
        "from_address",
        "from_address",
        "none",
        "none",
    ]
    assert out["commune_status"].to_list()[4:] == ["unresolved", None]
    issues = out["norm_issues"].to_list()
    assert issues[3] == ["COMMUNE_UNKNOWN"]  # the code that does not exist is still said
    assert issues[4] == ["ADDRESS_COMMUNE_UNRESOLVED"] and issues[5] == []


def test_provinces_in_play_come_from_the_rows_codes():
    codes = pl.Series(["20194"] * 200 + ["00004"])  # one person registered in Hà Nội
    assert provinces_in_play(codes) == ["48"]
    assert provinces_in_play(pl.Series([None], dtype=pl.Utf8)) is None


def _social_protection_with_addresses(path: Path) -> pl.DataFrame:
    """The sample's social-protection extract as an agency without commune codes sends it: 'Địa chỉ' instead of 'Mã xã'."""
    return rewrite_with_addresses(SAMPLE / "an_sinh_xa_hoi.csv", path, seed=3)


def test_a_social_protection_extract_without_commune_column_gets_communes_from_its_addresses(tmp_path):
    path = tmp_path / "an_sinh_dia_chi.csv"
    expected = _social_protection_with_addresses(path)
    res = ingest_file(path, load_sector("social_protection"))
    assert res.mapping["address"] == "Địa chỉ" and "commune_code" not in res.mapping
    # the run standardises all sectors together: the vaccination extract's codes say which province is in play
    vacc = ingest_file(SAMPLE / "tiem_chung.csv", load_sector("vaccination")).records
    std = standardize(pl.concat([res.records, vacc], how="diagonal_relaxed"), today=TODAY)
    got = std.filter(pl.col("sector") == "social_protection").sort("source_row")
    want = expected.with_row_index("i").with_columns((pl.col("i") + 1).cast(pl.Int64).alias("source_row"))
    both = got.join(want, on="source_row", suffix="_code")
    determined = both.filter(pl.col("commune_code_std_code").is_not_null())
    agree = determined.filter(pl.col("commune_code_std") == pl.col("commune_code_std_code")).height
    assert agree / determined.height >= 0.99
    assert determined.filter(
        pl.col("commune_code_std").is_not_null()
        & (pl.col("commune_code_std") != pl.col("commune_code_std_code"))
    ).is_empty()
    counts = dict(got["commune_origin"].value_counts().iter_rows())
    assert counts.get("coded", 0) == 0 and counts["from_address"] >= 0.95 * got.height


def test_reconcile_carries_commune_origin_per_sector(tmp_path):
    from doisoat import pipeline

    path = tmp_path / "an_sinh_dia_chi.csv"
    _social_protection_with_addresses(path)
    config = pipeline.RunConfig(
        reference=SAMPLE / "reference.csv",
        extracts=[
            pipeline.ExtractInput("social_protection", path),
            pipeline.ExtractInput("vaccination", SAMPLE / "tiem_chung.csv"),
        ],
        out_dir=tmp_path / "run",
        db_path=tmp_path / "doisoat.duckdb",
    )
    summary = pipeline.reconcile(config)
    results = pl.read_parquet(summary.out_dir / "results.parquet")
    kept = results.filter(pl.col("status") != "quarantined")
    origin = kept.group_by("sector", "commune_origin").len()
    by = {(s, o): n for s, o, n in origin.iter_rows()}
    social = kept.filter(pl.col("sector") == "social_protection").height
    assert by[("social_protection", "from_address")] >= 0.95 * social
    assert ("social_protection", "coded") not in by
    assert by[("vaccination", "coded")] >= 0.95 * kept.filter(pl.col("sector") == "vaccination").height
    assert (
        kept.filter((pl.col("sector") == "social_protection") & (pl.col("commune_origin") == "from_address"))[
            "commune_code_std"
        ].null_count()
        <= social * 0.05
    )


def test_without_any_code_the_addresses_that_name_their_province_say_which_one_is_in_play():
    df = pl.DataFrame(
        {
            "full_name": ["Nguyễn Văn An"] * 4,
            "address": [
                "Thôn 1, Xã Tam Xuân, Thành phố Đà Nẵng",
                "Tổ 2, P. Tân Thạnh, TP Tam Kỳ, Quảng Nam",
                "Thôn 3, Xã Hòa Tiến, TP Đà Nẵng",
                "thon 1, x. tam thanh, tp tam ky",  # Tam Kỳ is in Quảng Nam, now Đà Nẵng
            ],
        }
    )
    out = standardize(df, today=TODAY)
    assert out["commune_origin"].to_list() == ["from_address"] * 4
    # nationally "Xã Tam Thanh" is five communes (Phú Thọ, Nam Định, Thanh Hóa, Quảng Nam, Bình Thuận); in play, one
    assert resolve_address("Thôn 4, Xã Tam Thanh")[0] is None
    more = df.vstack(pl.DataFrame({"full_name": ["Trần Thị Bình"], "address": ["Thôn 4, Xã Tam Thanh"]}))
    assert standardize(more, today=TODAY).row(4, named=True)["commune_code_std"] == "20356"


def test_commune_only_addresses_of_a_register_are_never_given_another_commune(tmp_path):
    # thirty payees of old Xã Tam Thanh (Tam Kỳ) written "Thôn …, X. Tam Thanh" with no district, some without
    # diacritics: those read as Tam Thanh, Tam Thạnh or Tam Thành
    src = tmp_path / "an_sinh.csv"
    raw = pl.read_csv(SAMPLE / "an_sinh_xa_hoi.csv", separator=";", infer_schema=False)
    raw.with_columns(
        pl.when(pl.int_range(pl.len()) < 30).then(pl.lit("20359")).otherwise(pl.col("Mã xã")).alias("Mã xã")
    ).write_csv(src, separator=";")
    path = tmp_path / "an_sinh_chi_xa.csv"
    expected = rewrite_with_addresses(src, path, seed=4, commune_only_share=1.0)
    res = ingest_file(path, load_sector("social_protection"))
    std = standardize(res.records, provinces=DA_NANG, today=TODAY).sort("source_row")
    want = expected.with_row_index("i").with_columns((pl.col("i") + 1).cast(pl.Int64).alias("source_row"))
    both = std.join(want, on="source_row", suffix="_code")
    given = both.filter(pl.col("commune_code_std").is_not_null())
    assert (given["commune_code_std"] == given["commune_code_std_code"]).all()
    unresolved = both.filter(pl.col("commune_status") == "unresolved")
    assert unresolved.height > 0 and unresolved["address"].str.to_lowercase().str.contains("tam thanh").all()
    assert unresolved["commune_origin"].unique().to_list() == ["none"]
    assert all("ADDRESS_COMMUNE_UNRESOLVED" in r for r in unresolved["norm_issues"].to_list())
    assert both.filter(pl.col("source_row") <= 30)["commune_code_std"].drop_nulls().unique().to_list() == [
        "20356"
    ]
