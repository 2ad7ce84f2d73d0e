"""One small inline test per comparison level: a record and a reference person that must meet at that level."""

from __future__ import annotations

import pytest
from test_match_support import frame, person, reference_db

from doisoat.match import MatchModel, MatchSettings, link
from doisoat.match.columns import register_records
from doisoat.match.compare import COMPARISONS_BY_NAME, MISSING, comparison_levels

PID = "049190005678"
REF = person(PID, "Nguyễn Thị Thu Hà", "1990-03-04", "F", old_id_std="205123456")
# a parent of the person: another given name, born 25 years earlier
PARENT = person("049065001111", "Nguyễn Văn Hùng", "1965-08-20", "M")


def level_of(comparison: str, record: dict, ref: dict = REF) -> str:
    """The label of the level at which ``record`` meets ``ref`` on ``comparison`` ('missing' for -1)."""
    con = reference_db([ref, PARENT] + ([REF] if ref is not REF else []))
    register_records(con, frame([record], rid=True))
    con.execute(f"CREATE TEMP TABLE _p AS SELECT 1::BIGINT AS rid, '{ref['national_id_std']}' AS person_id")
    comp = COMPARISONS_BY_NAME[comparison]
    lv = comparison_levels(con, "_p", "_m_rec", comparisons=(comp,), with_tf=False)[f"lv_{comparison}"][0]
    return "missing" if lv == MISSING else comp.labels[lv]


def rec(
    pid: str | None = PID,
    name: str = "Nguyễn Thị Thu Hà",
    dob: str = "1990-03-04",
    sex: str | None = "F",
    **kw,
):
    return person(pid, name, dob, sex, **kw)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (rec(), "exact"),
        (rec(pid=None, old_id_std="205123456"), "old_id"),
        (rec(pid="049190005679"), "one_digit"),
        (rec(pid="049190005687"), "transposed"),
        (rec(pid=PARENT["national_id_std"]), "other_person"),  # a parent's ID on the record
        (rec(pid="049190999999"), "not_in_reference"),  # same prefix, but nobody holds it
        (rec(pid=None), "missing"),
    ],
)
def test_id_levels(record, expected):
    assert level_of("id", record) == expected


def test_id_shared_prefix_and_plain_disagreement_when_the_id_is_someone_who_fits_the_record():
    # the record's ID belongs to a reference person whose name and date agree with the record: its own person;
    # against any other person the ID simply disagrees (prefix shared or not)
    other = person("049190007777", "Nguyễn Thị Thu Hà", "1990-03-04", "F")
    assert level_of("id", rec(pid=PID), ref=other) == "same_prefix"
    far = person("001090007777", "Nguyễn Thị Thu Hà", "1990-03-04", "F")
    assert level_of("id", rec(pid=PID), ref=far) == "differs"


def _holder_level(record: dict, holder: dict, own: dict) -> str:
    """The ID level at which ``record`` (carrying ``holder``'s ID) meets its own person ``own``."""
    con = reference_db([own, holder])
    register_records(con, frame([record], rid=True))
    con.execute(f"CREATE TEMP TABLE _p AS SELECT 1::BIGINT AS rid, '{own['national_id_std']}' AS person_id")
    comp = COMPARISONS_BY_NAME["id"]
    return comp.labels[comparison_levels(con, "_p", "_m_rec", comparisons=(comp,), with_tf=False)["lv_id"][0]]


@pytest.mark.parametrize(
    ("own", "holder"),
    [
        # a spouse with the same given name (the names are more than one edit apart, the dates decades apart)
        (("Bùi Thị Anh", "1964-10-14", "F"), ("Lê Thanh Anh", "1942-06-06", "F")),
        # a sibling: the same surname and given name, another middle name and sex, the same year
        (("Nguyễn Văn Anh", "1966-10-10", "M"), ("Nguyễn Thị Anh", "1966-02-08", "F")),
        # a parent with another given name (the rule before this one already caught it)
        (("Nguyễn Thị Thu Hà", "1990-03-04", "F"), ("Nguyễn Văn Hùng", "1965-08-20", "M")),
    ],
)
def test_an_id_held_by_a_relative_whose_name_and_date_disagree_is_other_person(own, holder):
    own_p = person("049190005678", *own)
    holder_p = person("049065001111", *holder)
    record = person(holder_p["national_id_std"], *own)
    assert _holder_level(record, holder_p, own_p) == "other_person"


def test_the_persons_own_id_with_a_dropped_middle_name_and_a_year_off_stays_exact():
    own_p = person(PID, "Nguyễn Thị Thu Hà", "1990-03-04", "F")
    record = person(PID, "Nguyễn Thu Hà", "1989-03-04", "F")
    con = reference_db([own_p])
    register_records(con, frame([record], rid=True))
    assert con.execute("SELECT id_other_holder FROM _m_rec").fetchall() == [(False,)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Nguyễn Thị Thu Hà", "exact"),
        ("NGUYEN THI THU HA", "no_diacritics"),
        ("Nguyễn Thị Thu Hà".replace("Hà", "Ha"), "no_diacritics"),
        ("Nguyễn Thị ThuHà", "merged_split"),  # syllables merged
        ("Nguyễn Thu Hà", "middle_dropped"),
        ("Nguyễn Thị Ngọc Hà", "middle_differs"),
        ("Nguyễn Thị Thu Hạ", "no_diacritics"),  # a tone slip folds away
        ("Nguyễn Thị Thư Hà", "no_diacritics"),
        ("Nguyễn Thị Thu Hòa", "one_edit"),  # one character more
        ("Nguyễn Thị Thy Hà", "one_edit"),  # a typo in the middle name is a typo, not another middle name
        ("Nguyễn Thu Hoà", "middle_dropped_typo"),  # middle name dropped and a typo in the given name
        ("Ngyễn Thu Hà", "middle_dropped_typo"),  # ... or in the surname
        ("Nguyễn Thị Thuy Hoa", "jw_95"),
        ("Nguyễn Thị Thanh Hoa", "jw_88"),
        ("Trần Văn Bình", "differs"),
    ],
)
def test_name_levels(name, expected):
    assert level_of("name", rec(name=name)) == expected


def test_regional_surname_pair_is_a_variant_not_an_exact_agreement():
    ref = person(PID, "Huỳnh Văn Nam", "1990-03-04", "M")
    assert level_of("name", rec(name="Hoàng Văn Nam", sex="M"), ref=ref) == "variant"
    ref = person(PID, "Võ Thị Lan", "1990-03-04", "F")
    assert level_of("name", rec(name="Vũ Thị Lan"), ref=ref) == "variant"


def test_a_mistyped_huynh_is_one_edit_from_huynh_not_a_word_away_from_hoang():
    ref = person(PID, "Huỳnh Văn Nam", "1990-03-04", "M")
    assert level_of("name", rec(name="Huyn Văn Nam", sex="M"), ref=ref) == "one_edit"
    assert level_of("name", rec(name="Huyn Nam", sex="M"), ref=ref) == "middle_dropped_typo"


@pytest.mark.parametrize(
    ("dob", "expected"),
    [
        ("1990-03-04", "exact"),
        ("1990-04-03", "day_month_swapped"),
        ("1990", "year_only"),
        ("1990-03", "year_only"),  # month and year agree, no day
        ("1990-01-01", "placeholder"),  # unknown day and month written 01/01
        ("1991-03-04", "year_pm1"),
        ("1989", "year_pm1_imprecise"),
        ("1909-03-04", "year_typo"),
        ("1990-03-21", "same_month"),
        ("1990-11-21", "same_year"),
        ("1975-06-30", "differs"),
    ],
)
def test_birth_levels(dob, expected):
    assert level_of("birth", rec(dob=dob)) == expected


def test_year_only_reference_date_agrees_with_any_day_of_its_year():
    ref = person(PID, "Nguyễn Thị Thu Hà", "1990", "F")
    assert level_of("birth", rec(dob="1990-07-15"), ref=ref) == "year_only"


@pytest.mark.parametrize(("sex", "expected"), [("F", "exact"), ("M", "differs"), (None, "missing")])
def test_sex_levels(sex, expected):
    assert level_of("sex", rec(sex=sex)) == expected


def test_a_flipped_sex_is_evidence_with_a_weight_not_a_veto():
    con = reference_db([REF, PARENT])
    res = link(con, frame([rec(sex="M")], rid=True), MatchModel.default(), MatchSettings(), {})
    row = res.matches.row(0, named=True)
    assert (row["person_id"], row["match_status"], row["agree_sex"]) == (PID, "matched", "differs")


def test_a_relatives_id_costs_nothing_against_the_person_and_the_record_finds_its_own_person():
    con = reference_db([REF, PARENT])
    record = rec(pid=PARENT["national_id_std"])  # the child's record carries the parent's ID
    res = link(con, frame([record], rid=True), MatchModel.default(), MatchSettings(), {})
    row = res.matches.row(0, named=True)
    assert (row["person_id"], row["match_status"], row["agree_id"]) == (PID, "matched", "other_person")
    weights = MatchModel.default().comparisons["id"]
    assert weights.weights()[weights.levels.index("other_person")] <= 0.0
