"""National IDs (CCCD, CMND), insurance numbers, phones and sex codes."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doisoat.normalize.ids import PROVINCE_CODES, insurance_id_frame, national_id_frame
from doisoat.normalize.phones import phone_frame
from doisoat.normalize.sex import sex_columns


def _codes(values):
    """Comma-joined reason codes (or null) as lists, for readable assertions."""
    return [v.split(",") if v else [] for v in values]


def _ids(national, old=None, year=2025):
    old = old if old is not None else [None] * len(national)
    return national_id_frame(pl.Series(national, dtype=pl.Utf8), pl.Series(old, dtype=pl.Utf8), year)


def test_province_codes_are_the_63_birth_registration_codes():
    assert len(PROVINCE_CODES) == 63
    assert PROVINCE_CODES["049"] == "Quảng Nam" and PROVINCE_CODES["096"] == "Cà Mau"
    assert "003" not in PROVINCE_CODES


@pytest.mark.parametrize(
    "raw", ["049190001234", "049 190 001 234", "049.190.001.234", "049-190-001-234", "049190001234.0"]
)
def test_formatted_cccd_is_cleaned_and_decoded(raw):
    r = _ids([raw]).row(0, named=True)
    assert r["national_id_std"] == "049190001234"
    assert (r["id_birth_year"], r["id_sex"], r["id_province"]) == (1990, "F", "049")
    assert _codes([r["_id_issues"]])[0] == []


def test_century_and_sex_digit():
    out = _ids(["049090001234", "049305001234"])
    assert out.select("id_birth_year", "id_sex").rows() == [(1990, "M"), (2005, "F")]


def test_eleven_digits_get_their_leading_zero_back_when_that_makes_a_valid_cccd():
    r = _ids(["49190001234"]).row(0, named=True)
    assert r["national_id_std"] == "049190001234"
    assert _codes([r["_id_issues"]])[0] == ["ID_LEADING_ZERO_RESTORED"]


def test_scientific_notation_is_exact_only_when_all_digits_survive():
    out = _ids(["4.9190001234E+10", "4,90900E+10"])
    assert out["national_id_std"].to_list() == ["049190001234", None]
    assert _codes(out["_id_issues"]) == [["ID_LEADING_ZERO_RESTORED"], ["ID_EXCEL_DAMAGED"]]


def test_nine_digit_cmnd_goes_to_old_id_and_eight_digits_get_a_zero():
    out = _ids(["201234567", None, "12345678"], [None, "201234567", None])
    assert out["old_id_std"].to_list() == ["201234567", "201234567", "012345678"]
    assert out["national_id_std"].to_list() == [None, None, None]
    assert _codes(out["_id_issues"]) == [[], [], ["ID_LEADING_ZERO_RESTORED"]]


def test_twelve_digits_in_the_old_id_column_are_the_cccd():
    out = _ids([None], ["049190001234"])
    assert out["national_id_std"].to_list() == ["049190001234"]


@pytest.mark.parametrize(
    "raw,issue",
    [
        ("003190001234", "ID_PROVINCE_UNKNOWN"),
        ("049990001234", "ID_FORMAT"),
        ("049360001234", "ID_FORMAT"),
        ("12345", "ID_FORMAT"),
        ("04919000123X", "ID_FORMAT"),
        ("1234567890123", "ID_FORMAT"),
    ],
)
def test_malformed_ids_are_null_with_a_reason(raw, issue):
    r = _ids([raw]).row(0, named=True)
    assert r["national_id_std"] is None and r["old_id_std"] is None
    assert _codes([r["_id_issues"]])[0] == [issue]


def test_insurance_numbers_and_bhyt_cards_compare_on_ten_digits():
    out = insurance_id_frame(
        pl.Series(["GD4491234567890", "gd 4 49 1234567890", "1234567890", "234567890", "12345", None])
    )
    assert out["insurance_id_std"].to_list() == [
        "1234567890",
        "1234567890",
        "1234567890",
        "0234567890",
        None,
        None,
    ]
    assert _codes(out["_ins_issues"]) == [
        [],
        [],
        [],
        ["ID_LEADING_ZERO_RESTORED"],
        ["INSURANCE_ID_FORMAT"],
        [],
    ]


@pytest.mark.parametrize(
    "raw,std,issues",
    [
        ("0912345678", "0912345678", []),
        ("+84 912 345 678", "0912345678", []),
        ("84912345678", "0912345678", []),
        ("0912.345.678", "0912345678", []),
        ("912345678", "0912345678", []),
        ("01662345678", "0362345678", ["PHONE_RENUMBERED"]),
        ("+84 1233 456 789", "0833456789", ["PHONE_RENUMBERED"]),
        ("02353812345", "02353812345", []),
        ("12345", None, ["PHONE_FORMAT"]),
        ("0112345678", None, ["PHONE_FORMAT"]),
        (None, None, []),
    ],
)
def test_phones(raw, std, issues):
    out = phone_frame(pl.Series([raw], dtype=pl.Utf8))
    assert out["phone_std"].to_list() == [std]
    assert _codes(out["_phone_issues"]) == [issues]


def test_sex_values_and_configurable_numeric_codes():
    values = [
        "Nam",
        "Nữ",
        "nam",
        "nu",
        "NỮ",
        "NU",
        "M",
        "F",
        "1",
        "0",
        "male",
        "Female",
        "Trai",
        "Gái",
        "x",
        None,
    ]
    df = pl.DataFrame({"s": values})
    out = df.select(sex_columns(pl.col("s")))
    assert out["sex_std"].to_list() == [
        "M",
        "F",
        "M",
        "F",
        "F",
        "F",
        "M",
        "F",
        "M",
        "F",
        "M",
        "F",
        "M",
        "F",
        None,
        None,
    ]
    assert _codes(out["_sex_issues"])[-2:] == [["SEX_UNKNOWN"], []]
    flipped = df.select(sex_columns(pl.col("s"), one_means="F"))["sex_std"].to_list()
    assert flipped[8:10] == ["F", "M"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=20), st.from_regex(r"\d{8,12}", fullmatch=True)),
        min_size=1,
        max_size=20,
    )
)
def test_id_outputs_are_always_well_formed(values):
    out = _ids(values, values)
    for nid in out["national_id_std"].drop_nulls():
        assert len(nid) == 12 and nid.isdigit() and nid[:3] in PROVINCE_CODES
    for old in out["old_id_std"].drop_nulls():
        assert len(old) == 9 and old.isdigit()
    ph = phone_frame(pl.Series(values, dtype=pl.Utf8))
    for p in ph["phone_std"].drop_nulls():
        assert p.isdigit() and len(p) in (10, 11) and p[0] == "0"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=10)), min_size=1, max_size=20), st.sampled_from(["M", "F"])
)
def test_sex_is_m_f_or_null_with_a_reason_for_every_unrecognised_value(values, one_means):
    out = pl.DataFrame({"s": values}, schema={"s": pl.Utf8}).select(sex_columns(pl.col("s"), one_means))
    for std, issue in out.iter_rows():
        assert std in ("M", "F", None)
        assert issue in (None, "SEX_UNKNOWN") and (issue is None or std is None)
