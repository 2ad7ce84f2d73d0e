"""đúng / đủ / sạch / sống per record: each reason code path on tiny inline frames."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from factories import typed

from doisoat.assess import SectorInfo, assess
from doisoat.reasons import REASONS

REF_ID = "049090001234"

_RECORD_DEFAULTS: dict[str, object] = {
    "sector": "bhxh",
    "source_file": "x.csv",
    "source_row": None,
    "event_type": None,
    "name_key": "nguyễn văn an",
    "name_variant": "nguyen van an",
    "birth_year": 1990,
    "birth_month": 5,
    "birth_day": 17,
    "sex_std": "M",
    "national_id_std": REF_ID,
    "old_id_std": None,
    "id_birth_year": 1990,
    "id_sex": "M",
    "insurance_id_std": "4912345678",
    "commune_code_std": "20314",
    "commune_code_old": None,
    "commune_status": "current",
    "event_date_std": dt.date(2024, 1, 10),
    "last_activity_date_std": None,
    "norm_issues": [],
}
_SCHEMA = typed(
    "rid",
    "sector",
    "source_file",
    "source_row",
    "event_type",
    "name_key",
    "name_variant",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex_std",
    "national_id_std",
    "old_id_std",
    "id_birth_year",
    "id_sex",
    "insurance_id_std",
    "commune_code_std",
    "commune_code_old",
    "commune_status",
    "event_date_std",
    "last_activity_date_std",
    "norm_issues",
)


def records(*rows: dict) -> pl.DataFrame:
    full = []
    for i, row in enumerate(rows, start=1):
        r = {**_RECORD_DEFAULTS, "rid": i, "source_row": i, **row}
        full.append({k: r.get(k) for k in _SCHEMA})
    return pl.DataFrame(full, schema=_SCHEMA)


def matches(*rows: dict) -> pl.DataFrame:
    """Default: every rid matched to the reference person with everything agreeing."""
    full = [
        {
            "rid": i,
            "person_id": REF_ID,
            "match_status": "matched",
            "match_probability": 0.99,
            "agree_name": "exact",
        }
        | row
        for i, row in enumerate(rows, start=1)
    ]
    return pl.DataFrame(
        full,
        schema={
            "rid": pl.Int64,
            "person_id": pl.Utf8,
            "match_status": pl.Utf8,
            "match_probability": pl.Float64,
            "agree_name": pl.Utf8,
        },
    )


def reference(**over: object) -> pl.DataFrame:
    row = {
        "person_id": REF_ID,
        "name_display": "Nguyễn Văn An",
        "name_key": "nguyễn văn an",
        "name_variant": "nguyen van an",
        "birth_year": 1990,
        "birth_month": 5,
        "birth_day": 17,
        "sex_std": "M",
        "commune_code_std": "20314",
        "death_date": None,
        "is_dead": False,
        "old_id_std": "205123456",
        "national_id_std": REF_ID,
    } | over
    return pl.DataFrame(
        [row],
        schema_overrides=typed("birth_year", "birth_month", "birth_day", "death_date"),
    )


SPEC = {"bhxh": SectorInfo(required=["full_name", "birth_date", "sex", "national_id", "insurance_id"])}


def run(
    recs: pl.DataFrame, m: pl.DataFrame | None = None, ref: pl.DataFrame | None = None, spec=None
) -> dict:
    m = m if m is not None else matches(*({} for _ in range(recs.height)))
    out = assess(recs, m, ref if ref is not None else reference(), spec or SPEC)
    return {row["rid"]: row for row in out.sort("rid").to_dicts()}


def test_clean_matched_record_passes_all_four_dimensions():
    r = run(records({}))[1]
    assert r == {
        "rid": 1,
        "status": "matched",
        "dung": True,
        "du": True,
        "sach": True,
        "song": True,
        "reasons": [],
        "enrichable": [],
    }


def test_output_has_the_contract_columns_and_types():
    out = assess(records({}), matches({}), reference(), SPEC)
    assert out.schema == pl.Schema(
        {
            "rid": pl.Int64,
            "status": pl.Utf8,
            "dung": pl.Boolean,
            "du": pl.Boolean,
            "sach": pl.Boolean,
            "song": pl.Boolean,
            "reasons": pl.List(pl.Utf8),
            "enrichable": pl.List(pl.Utf8),
        }
    )


# --- đủ ---------------------------------------------------------------------------------------------------


def test_missing_required_id_is_not_du_and_enrichable_from_matched_person():
    r = run(records({"national_id_std": None, "id_birth_year": None, "id_sex": None}))[1]
    assert (r["du"], r["dung"], r["sach"]) == (False, True, True)
    assert r["reasons"] == ["MISSING_ID", "ENRICHABLE"]
    assert r["enrichable"] == ["national_id"]


@pytest.mark.parametrize(
    ("field", "column", "code"),
    [
        ("birth_date", "birth_year", "MISSING_BIRTH_DATE"),
        ("sex", "sex_std", "MISSING_SEX"),
        ("insurance_id", "insurance_id_std", "MISSING_INSURANCE_ID"),
        ("commune_code", "commune_code_std", "MISSING_COMMUNE"),
        ("event_date", "event_date_std", "MISSING_EVENT_DATE"),
        ("full_name", "name_key", "MISSING_FIELD"),
    ],
)
def test_each_missing_required_field_has_its_reason(field, column, code):
    spec = {"bhxh": SectorInfo(required=[field])}
    r = run(records({column: None}), spec=spec)[1]
    assert r["du"] is False
    assert code in r["reasons"]


def test_missing_sector_specific_column_is_missing_field():
    recs = records({}).with_columns(pl.lit("   ").alias("ma_the"))
    r = run(recs, spec={"bhxh": SectorInfo(required=["ma_the"])})[1]
    assert (r["du"], r["reasons"]) == (False, ["MISSING_FIELD"])


def test_missing_field_of_unmatched_record_is_not_enrichable():
    r = run(records({"sex_std": None}), m=matches({"match_status": "unmatched", "person_id": None}))[1]
    assert r["enrichable"] == []
    assert "ENRICHABLE" not in r["reasons"] and "MISSING_SEX" in r["reasons"]


def test_old_commune_code_alone_counts_as_commune_present():
    recs = records({"commune_code_std": None, "commune_code_old": "20341", "commune_status": "ambiguous"})
    r = run(recs, spec={"bhxh": SectorInfo(required=["commune_code"])})[1]
    assert r["du"] is True


# --- sạch -------------------------------------------------------------------------------------------------


def test_sach_normalisation_issue_fails_sach_but_info_issue_does_not():
    r = run(records({"norm_issues": ["PHONE_FORMAT", "NAME_ENCODING_REPAIRED"]}))[1]
    assert r["sach"] is False
    assert r["reasons"] == ["PHONE_FORMAT", "NAME_ENCODING_REPAIRED"]
    r2 = run(records({"norm_issues": ["NAME_ENCODING_REPAIRED"]}))[1]
    assert (r2["sach"], r2["reasons"]) == (True, ["NAME_ENCODING_REPAIRED"])


def test_id_encoded_birth_year_and_sex_must_agree_with_the_record():
    r = run(records({"id_birth_year": 1991, "id_sex": "F"}))[1]
    assert r["sach"] is False
    assert set(r["reasons"]) == {"ID_BIRTH_YEAR_MISMATCH", "ID_SEX_MISMATCH"}


def test_same_person_twice_is_a_duplicate_when_one_record_per_person():
    r = run(records({"source_row": 7}, {"source_row": 3}))
    assert (r[2]["status"], r[2]["sach"], r[2]["reasons"]) == ("matched", True, [])
    assert (r[1]["status"], r[1]["sach"], r[1]["reasons"]) == ("duplicate", False, ["DUPLICATE_RECORD"])


def test_vaccine_doses_are_duplicates_only_for_the_same_dose():
    spec = {"bhxh": SectorInfo(many_per_person=True, event_key=["event_type"])}
    recs = records({"event_type": "mui_1"}, {"event_type": "mui_2"}, {"event_type": "mui_1"})
    r = run(recs, spec=spec)
    assert [r[i]["status"] for i in (1, 2, 3)] == ["matched", "matched", "duplicate"]


def test_unmatched_records_with_the_same_id_are_duplicates():
    m = matches(*({"match_status": "unmatched", "person_id": None} for _ in range(2)))
    r = run(records({}, {}), m=m)
    assert [r[1]["status"], r[2]["status"]] == ["unmatched", "duplicate"]


def test_records_without_any_person_key_are_never_duplicates():
    m = matches(*({"match_status": "unmatched", "person_id": None} for _ in range(2)))
    recs = records({"national_id_std": None}, {"national_id_std": None})
    r = run(recs, m=m)
    assert [r[1]["status"], r[2]["status"]] == ["unmatched", "unmatched"]


def test_unknown_event_key_column_is_an_error():
    with pytest.raises(ValueError, match="event_key"):
        run(records({}), spec={"bhxh": SectorInfo(many_per_person=True, event_key=["dose_no"])})


# --- đúng -------------------------------------------------------------------------------------------------


def test_review_and_unmatched_are_not_dung():
    m = matches({"match_status": "review"}, {"match_status": "unmatched", "person_id": None})
    r = run(records({}, {"national_id_std": "001099000111"}), m=m)
    assert (r[1]["status"], r[1]["dung"], r[1]["reasons"]) == ("review", False, ["NEEDS_REVIEW"])
    assert (r[2]["status"], r[2]["dung"], r[2]["reasons"]) == ("unmatched", False, ["NOT_IN_REFERENCE"])


def test_review_with_a_close_runner_up_is_an_ambiguous_match():
    m = matches({"match_status": "review"}, {"match_status": "review"}).with_columns(
        pl.Series("runner_up_person_id", ["001090000999", None])
    )
    r = run(records({}, {"national_id_std": "001099000111"}), m=m)
    assert r[1]["reasons"] == ["NEEDS_REVIEW", "AMBIGUOUS_MATCH"]
    assert r[2]["reasons"] == ["NEEDS_REVIEW"]


def test_record_without_a_match_row_counts_as_unmatched():
    out = assess(records({}, {"national_id_std": None}), matches({}), reference(), SPEC)
    assert out.filter(pl.col("rid") == 2)["status"].item() == "unmatched"


@pytest.mark.parametrize(
    ("record", "match", "code"),
    [
        ({"national_id_std": "049090009999"}, {}, "ID_DIFFERS"),
        ({}, {"agree_name": "differs"}, "NAME_DIFFERS"),
        ({}, {"agree_name": "partial"}, "NAME_DIFFERS"),
        ({"birth_day": 18}, {}, "BIRTH_DATE_DIFFERS"),
        ({"birth_month": 6, "birth_day": None}, {}, "BIRTH_DATE_DIFFERS"),
        ({"birth_year": 1991, "id_birth_year": 1991}, {}, "BIRTH_DATE_DIFFERS"),
        ({"sex_std": "F", "id_sex": "F"}, {}, "SEX_DIFFERS"),
    ],
)
def test_matched_but_disagreeing_is_not_dung_and_names_the_field(record, match, code):
    r = run(records(record), m=matches(match))[1]
    assert r["status"] == "matched"
    assert r["dung"] is False
    assert code in r["reasons"]


def test_name_variant_agrees_for_dung():
    r = run(records({"name_key": "huỳnh văn an"}), m=matches({"agree_name": "variant"}))[1]
    assert r["dung"] is True


def test_without_matcher_level_names_compare_on_variant_keys():
    m = matches({"agree_name": None}, {"agree_name": None})
    recs = records({"name_variant": "nguyen van an"}, {"name_variant": "nguyen an", "national_id_std": None})
    r = run(recs, m=m)
    assert r[1]["dung"] is True
    assert "NAME_DIFFERS" in r[2]["reasons"]


def test_year_only_birth_date_agrees_with_any_day_of_that_year():
    r = run(records({"birth_month": None, "birth_day": None}))[1]
    assert r["dung"] is True


# --- sống -------------------------------------------------------------------------------------------------


def test_payment_after_death_raises_the_sectors_reason():
    spec = {"bhxh": SectorInfo(after_death_reason="PAID_AFTER_DEATH")}
    ref = reference(death_date=dt.date(2023, 12, 31), is_dead=True)
    r = run(records({}), ref=ref, spec=spec)[1]
    assert (r["song"], r["reasons"]) == (False, ["PAID_AFTER_DEATH"])


def test_last_activity_after_death_counts_and_same_day_does_not():
    ref = reference(death_date=dt.date(2024, 1, 10), is_dead=True)
    spec = {"bhxh": SectorInfo()}
    recs = records(
        {}, {"event_date_std": None, "last_activity_date_std": dt.date(2024, 2, 1), "source_row": 2}
    )
    recs = recs.with_columns(pl.Series("national_id_std", [REF_ID, None]))
    r = run(recs, ref=ref, spec=spec)
    assert r[1]["song"] is True
    assert r[2]["reasons"][0] == "ACTIVITY_AFTER_DEATH"


def test_sector_recording_deaths_has_no_after_death_check():
    ref = reference(death_date=dt.date(2023, 12, 31), is_dead=True)
    r = run(records({}), ref=ref, spec={"bhxh": SectorInfo(after_death_reason=None)})[1]
    assert r["song"] is True


def test_old_commune_code_that_maps_is_song_but_noted_and_a_split_commune_is_not_song():
    """DOMAIN §2: admin codes of the current units *or mappable to them* are live."""
    recs = records(
        {"commune_code_old": "20341", "commune_status": "mapped"},
        {"commune_code_std": None, "commune_code_old": "20342", "commune_status": "ambiguous"},
    ).with_columns(
        pl.Series("national_id_std", [REF_ID, None]),
        pl.Series("norm_issues", [["OLD_COMMUNE_CODE"], ["OLD_COMMUNE_CODE", "COMMUNE_SPLIT_AMBIGUOUS"]]),
    )
    r = run(recs)
    assert (r[1]["song"], r[1]["reasons"]) == (True, ["OLD_COMMUNE_CODE"])
    assert r[2]["song"] is False and "COMMUNE_SPLIT_AMBIGUOUS" in r[2]["reasons"]


def test_nine_digit_cmnd_where_person_has_a_new_number_is_old_id_only():
    recs = records(
        {"national_id_std": None, "old_id_std": "205123456", "id_birth_year": None, "id_sex": None}
    )
    r = run(recs, spec={"bhxh": SectorInfo()})[1]
    assert (r["song"], r["reasons"]) == (False, ["OLD_ID_ONLY"])
    assert r["enrichable"] == ["national_id"]


def test_residence_check_is_opt_in():
    recs = records({"commune_code_std": "20333"})
    assert run(recs)[1]["song"] is True
    r = run(recs, spec={"bhxh": SectorInfo(check_residence=True)})[1]
    assert (r["song"], r["reasons"]) == (False, ["RESIDENCE_DIFFERS"])


# --- across dimensions ------------------------------------------------------------------------------------


def test_reasons_are_ordered_most_urgent_first_and_flags_agree_with_reasons():
    spec = {"bhxh": SectorInfo(required=["sex"], after_death_reason="PAID_AFTER_DEATH")}
    ref = reference(death_date=dt.date(2023, 1, 1))
    recs = records({"sex_std": None, "id_sex": None, "norm_issues": ["SEX_UNKNOWN"], "birth_day": 1})
    out = assess(recs, matches({}), ref, spec)
    reasons = out["reasons"].to_list()[0]
    assert reasons == ["PAID_AFTER_DEATH", "BIRTH_DATE_DIFFERS", "MISSING_SEX", "SEX_UNKNOWN", "ENRICHABLE"]
    assert [REASONS[c].urgency for c in reasons] == sorted(REASONS[c].urgency for c in reasons)
    row = out.row(0, named=True)
    for dim in ("dung", "du", "sach", "song"):
        assert row[dim] is not any(REASONS[c].dimension == dim for c in reasons)


def test_sectors_are_assessed_with_their_own_spec():
    recs = records(
        {"sector": "bhxh", "sex_std": None}, {"sector": "ho_tich", "sex_std": None, "source_row": 2}
    )
    recs = recs.with_columns(pl.Series("national_id_std", [REF_ID, None]))
    spec = {"bhxh": SectorInfo(required=["sex"]), "ho_tich": SectorInfo()}
    r = run(recs, spec=spec)
    assert (r[1]["du"], r[2]["du"]) == (False, True)
