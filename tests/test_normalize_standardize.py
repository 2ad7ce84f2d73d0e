"""standardize(): the exact standardised-record contract of docs/architecture.md, from messy canonical records."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from doisoat.normalize import STANDARD_SCHEMA, standardize, to_tcvn3
from doisoat.reasons import REASONS

TODAY = date(2025, 7, 1)


def _records() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rid": [1, 2, 3],
            "full_name": [to_tcvn3("Nguyễn Thị Hoà"), "trần  văn AN", None],
            "birth_date": ["05/03/1990", "1950", "31/02/2000"],
            "sex": ["Nữ", "1", "x"],
            "national_id": ["049190001234", "49090001234", "4,9E+10"],
            "old_id": [None, None, "201234567"],
            "insurance_id": ["GD4491234567890", None, "12"],
            "phone": ["01662345678", "+84912345678", None],
            "commune_code": ["20194", None, None],
            "commune_name": [None, None, "Hải Vân"],
            "event_date": ["2024-01-02", "03/2024", None],
            "last_activity_date": [None, None, "2025-06-10"],
            "death_date": [None, "2024-05-01", None],
            "source_file": ["a.csv"] * 3,
        }
    )


def test_output_has_exactly_the_contract_columns_and_types():
    out = standardize(_records(), today=TODAY)
    for col, dtype in STANDARD_SCHEMA.items():
        assert out.schema[col] == dtype, col
    assert out.schema["death_date_std"] == pl.Date
    assert out.height == 3 and out["rid"].to_list() == [1, 2, 3]


def test_values_of_a_messy_row():
    r = standardize(_records(), today=TODAY).row(0, named=True)
    assert (r["name_display"], r["name_key"], r["name_repair"]) == (
        "Nguyễn Thị Hoà",
        "nguyễn thị hoà",
        "tcvn3",
    )
    assert (r["birth_year"], r["birth_month"], r["birth_day"], r["birth_precision"]) == (1990, 3, 5, "D")
    assert r["birth_dm_swappable"] is True
    assert (r["sex_std"], r["national_id_std"], r["id_sex"], r["id_birth_year"]) == (
        "F",
        "049190001234",
        "F",
        1990,
    )
    assert (r["insurance_id_std"], r["phone_std"], r["commune_code_std"]) == (
        "1234567890",
        "0362345678",
        "20194",
    )
    assert r["commune_status"] == "current" and r["event_date_std"] == date(2024, 1, 2)
    assert r["norm_issues"] == ["NAME_ENCODING_REPAIRED", "PHONE_RENUMBERED"]


def test_issues_collect_every_problem_and_are_known_reason_codes():
    out = standardize(_records(), today=TODAY)
    second, third = out["norm_issues"].to_list()[1:]
    assert set(second) == {"ID_LEADING_ZERO_RESTORED", "ID_BIRTH_YEAR_MISMATCH", "DATE_PARTIAL"}
    assert set(third) == {"DATE_INVALID", "SEX_UNKNOWN", "ID_EXCEL_DAMAGED", "INSURANCE_ID_FORMAT"}
    assert all(code in REASONS for issues in out["norm_issues"].to_list() for code in issues)
    assert out["death_date_std"].to_list() == [None, date(2024, 5, 1), None]
    assert out["old_id_std"].to_list() == [None, None, "201234567"]


def test_sex_mismatch_with_the_id_is_raised():
    df = pl.DataFrame({"sex": ["Nam"], "national_id": ["049190001234"], "birth_date": ["1990"]})
    assert standardize(df, today=TODAY)["norm_issues"].to_list() == [["ID_SEX_MISMATCH"]]


def test_absent_columns_are_read_as_null_and_standardize_is_repeatable():
    out = standardize(pl.DataFrame({"x": [1, 2]}), today=TODAY)
    assert out["name_key"].to_list() == [None, None] and out["commune_status"].to_list() == [None, None]
    assert out["norm_issues"].to_list() == [[], []]
    assert "death_date_std" not in out.columns
    again = standardize(out, today=TODAY)
    assert again.columns == out.columns and again.equals(out)


def test_empty_frame():
    out = standardize(pl.DataFrame({"full_name": []}, schema={"full_name": pl.Utf8}), today=TODAY)
    assert out.height == 0 and set(STANDARD_SCHEMA) <= set(out.columns)


_text = st.one_of(
    st.none(),
    st.text(max_size=25),
    st.sampled_from(
        [
            "05/03/1990",
            "1950",
            "049190001234",
            "Nam",
            "nữ",
            "0912345678",
            "20194",
            "00007",
            "Hải Vân",
            "4.9E+10",
        ]
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                c: _text
                for c in (
                    "full_name",
                    "birth_date",
                    "sex",
                    "national_id",
                    "old_id",
                    "insurance_id",
                    "phone",
                    "commune_code",
                    "commune_name",
                    "event_date",
                    "last_activity_date",
                )
            }
        ),
        min_size=1,
        max_size=8,
    )
)
def test_standardize_never_raises_and_keeps_the_contract_on_any_text(rows):
    df = pl.DataFrame(rows, schema={c: pl.Utf8 for c in rows[0]})
    out = standardize(df, today=TODAY)
    assert out.height == df.height
    assert {c: out.schema[c] for c in STANDARD_SCHEMA} == STANDARD_SCHEMA
    assert set(out["sex_std"].drop_nulls()) <= {"M", "F"}
    assert set(out["birth_precision"].drop_nulls()) <= {"D", "M", "Y"}
    assert set(out["commune_status"].drop_nulls()) <= {"current", "mapped", "ambiguous", "unknown"}
    assert all(code in REASONS for issues in out["norm_issues"].to_list() for code in issues)


def test_typed_columns_from_parquet_or_excel_are_read_as_text():
    df = pl.DataFrame({"birth_date": [date(1990, 3, 5)], "national_id": [49190001234], "phone": [912345678]})
    r = standardize(df, today=TODAY).row(0, named=True)
    assert (r["birth_year"], r["birth_month"], r["birth_day"]) == (1990, 3, 5)
    assert r["national_id_std"] == "049190001234" and r["phone_std"] == "0912345678"


def test_stripped_diacritics_agree_with_the_original_on_plain_and_variant():
    df = pl.DataFrame({"full_name": ["Huỳnh Thị Mỹ Lệ", "Huynh Thi My Le", "Hoàng Thị Mĩ Lệ"]})
    out = standardize(df, today=TODAY)
    assert out["name_plain"].to_list()[:2] == ["huynh thi my le", "huynh thi my le"]
    assert len(set(out["name_variant"])) == 1
