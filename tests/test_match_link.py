"""link(): passes, decisions, runner-ups, explanations and determinism on tiny in-line records."""

from __future__ import annotations

import json

import polars as pl
from test_match_support import frame, person, reference_db

from doisoat.match import DEFAULT_PASSES, MATCH_SCHEMA, MatchModel, MatchSettings, link

REF = [
    person(
        "049090001234", "Nguyễn Văn An", "1990-05-12", "M", phone_std="0905123456", commune_code_std="20333"
    ),
    person("049190005678", "Huỳnh Thị Mỹ", "1990-03-04", "F"),
    person("049085000111", "Trần Văn Bình", "1985-07-20", "M", old_id_std="201234567"),
    person("049085000222", "Lê Văn Bình", "1985-01-02", "M"),
    person("049170000333", "Phạm Thị Lan", "1970-06-15", "F"),
    person("049170000444", "Phạm Thị Lan", "1970-06-15", "F"),
]


def run(records: list[dict], settings: MatchSettings | None = None, ref: list[dict] = REF):
    con = reference_db(ref)
    return link(con, frame(records, rid=True), MatchModel.priors(), settings or MatchSettings(), {"x": False})


def row(result, rid: int) -> dict:
    return result.matches.filter(pl.col("rid") == rid).to_dicts()[0]


def test_output_has_one_row_per_rid_with_the_contract_columns():
    res = run([person("049090001234", "Nguyễn Văn An", "1990-05-12", "M"), person(None, "Ai Đó", "2001")])
    assert res.matches.schema == pl.Schema(MATCH_SCHEMA)
    assert res.matches["rid"].to_list() == [1, 2]


def test_exact_id_is_matched_in_the_first_pass_and_leaves_later_passes():
    res = run([person("049090001234", "Nguyễn Văn An", "1990-05-12", "M")])
    r = row(res, 1)
    assert (r["person_id"], r["match_pass"], r["match_status"]) == ("049090001234", "id_exact", "matched")
    assert (r["agree_id"], r["agree_name"], r["agree_birth"], r["agree_sex"]) == ("exact",) * 4
    assert res.pass_stats["id_exact"]["records_decided"] == 1
    assert sum(s["pairs"] for name, s in res.pass_stats.items() if name != "id_exact") == 0


def test_weights_explain_the_match_weight():
    res = run([person("049090001234", "Nguyễn Văn An", "1990-05-12", "M")])
    r = row(res, 1)
    weights = json.loads(r["weights"])
    assert list(weights) == ["prior", "id", "name", "birth", "sex", "commune", "phone"]
    assert abs(sum(weights.values()) - r["match_weight"]) < 0.05


def test_year_only_birth_date_agrees_with_any_day_of_that_year():
    res = run([person(None, "Trần Văn Bình", "1985", "M")])
    r = row(res, 1)
    assert (r["person_id"], r["agree_birth"]) == ("049085000111", "exact")


def test_huynh_for_hoang_and_swapped_day_month_are_partial_agreements_not_mismatches():
    res = run([person(None, "Hoàng Thị Mỹ", "1990-04-03", "F")])
    r = row(res, 1)
    assert (r["person_id"], r["agree_name"], r["agree_birth"]) == ("049190005678", "variant", "partial")
    assert r["match_status"] == "matched"


def test_dropped_middle_name_is_a_partial_name_agreement():
    res = run([person(None, "Nguyễn An", "1990-05-12", "M")])
    r = row(res, 1)
    assert (r["person_id"], r["agree_name"], r["match_status"]) == ("049090001234", "partial", "matched")


def test_nine_digit_cmnd_matches_through_the_old_id_column():
    res = run([person(None, "Trần Văn Bình", "1985-07-20", "M", old_id_std="201234567")])
    r = row(res, 1)
    assert (r["person_id"], r["match_pass"], r["agree_id"]) == ("049085000111", "old_id", "variant")


def test_id_with_one_wrong_digit_is_found_and_agrees_partially():
    res = run([person("049085000119", "Trần Văn Bình", "1985-07-20", "M")])
    r = row(res, 1)
    assert (r["person_id"], r["agree_id"], r["match_status"]) == ("049085000111", "partial", "matched")


def test_two_swapped_id_digits_are_a_partial_id_agreement():
    res = run([person("049085001011", "Trần Văn Bình", "1985-07-20", "M")])
    assert (row(res, 1)["person_id"], row(res, 1)["agree_id"]) == ("049085000111", "partial")


def test_two_equally_good_candidates_make_a_review_case_with_the_runner_up():
    res = run([person(None, "Phạm Thị Lan", "1970-06-15", "F")])
    r = row(res, 1)
    assert r["match_status"] == "review"
    assert {r["person_id"], r["runner_up_person_id"]} == {"049170000333", "049170000444"}
    assert r["person_id"] == "049170000333"  # ties broken by person_id
    assert r["runner_up_probability"] == r["match_probability"]


def test_record_without_candidates_is_unmatched_with_no_person():
    res = run([person(None, "Đoàn Văn Khải", "1955-02-02", "M")])
    r = row(res, 1)
    assert (r["match_status"], r["person_id"], r["weights"], r["agree_name"]) == (
        "unmatched",
        None,
        None,
        None,
    )


def test_two_records_of_the_same_person_both_stay_linked():
    rec = person("049090001234", "Nguyễn Văn An", "1990-05-12", "M")
    res = run([rec, dict(rec)])
    assert res.matches["person_id"].to_list() == ["049090001234", "049090001234"]
    assert res.matches["match_status"].to_list() == ["matched", "matched"]


def test_pathological_block_is_capped_with_a_warning_not_expanded():
    ref = [
        person(f"0490900{i:05d}", f"Nguyễn Văn Tèo {chr(97 + i % 26)}", "1990-01-01", "M") for i in range(30)
    ]
    ref += [person(f"0491900{i:05d}", "Lò Thị Hoa", "1990", "F", phone_std="0900000000") for i in range(30)]
    settings = MatchSettings(block_cap=10)
    res = run([person(None, "Lò Thị Hoa", "1990", "F", phone_std="0900000000")], settings, ref)
    stats = res.pass_stats["phone"]
    assert stats["pairs"] == 0 and stats["capped_keys"] == 1
    assert "1 record(s) left to later passes" in stats["warnings"][0]
    assert res.pass_stats["variant_year"]["capped_keys"] == 1


def test_identical_inputs_in_any_order_give_identical_results():
    recs = [
        person("049090001234", "Nguyễn Văn An", "1990-05-12", "M"),
        person(None, "Phạm Thị Lan", "1970-06-15", "F"),
        person(None, "Hoàng Thị Mỹ", "1990-04-03", "F"),
        person("049085000119", "Trần Văn Bình", "1985-07-20", "M"),
    ]
    con = reference_db(REF)
    df = frame(recs, rid=True)
    a = link(con, df, MatchModel.priors(), MatchSettings(), {}).matches
    b = link(con, df.reverse(), MatchModel.priors(), MatchSettings(), {}).matches
    assert a.equals(b)


def test_estimated_precision_is_the_mean_probability_of_matched_rows():
    res = run(
        [
            person("049090001234", "Nguyễn Văn An", "1990-05-12", "M"),
            person(None, "Phạm Thị Lan", "1970-06-15", "F"),
        ]
    )
    matched = res.matches.filter(pl.col("match_status") == "matched")["match_probability"]
    assert matched.len() == 1
    assert res.estimated_precision == matched.mean() >= MatchSettings().matched


def test_precision_threshold_keeps_the_prefix_whose_mean_reaches_the_target():
    from doisoat.match.decide import precision_threshold

    p = pl.Series([1.0, 1.0, 0.99, 0.97, 0.96, 0.6, None])
    assert precision_threshold(p, 0.99, 0.95) == 0.97  # mean of the top four is 0,99
    assert precision_threshold(p, 0.9, 0.95) == 0.95  # all above the floor qualify: the floor stays
    assert precision_threshold(p, 0.5, 0.0) == 0.0  # all qualify: the floor itself
    assert precision_threshold(pl.Series([0.7, 0.6]), 0.99, 0.5) == float("inf")  # nothing is precise enough
    assert precision_threshold(pl.Series([], dtype=pl.Float64), 0.99, 0.95) == 0.95


def test_thresholds_are_set_from_the_estimated_precision():
    certain = [
        person("049090001234", "Nguyễn Văn An", "1990-05-12", "M"),
        person("049190005678", "Huỳnh Thị Mỹ", "1990-03-04", "F"),
        person(None, "Phạm Thị Lan", "1970-06-15", "F"),  # two equal candidates: review
    ]
    default = run(certain)
    t = default.thresholds
    assert (t.matched, t.review) == (MatchSettings().matched, MatchSettings().review)  # confident: the floors
    assert t.est_precision_matched == default.estimated_precision >= MatchSettings().target_precision
    assert row(default, 3)["match_status"] == "review"

    binh = person(None, "Trần Văn Bình", "1985", "M")  # no ID, year-only birth date: less certain
    p_binh = row(run([*certain, binh]), 4)["match_probability"]
    assert MatchSettings().matched <= p_binh < 1.0
    # ask for more precision than the less certain link allows: the threshold rises above it, it goes to review
    target = (2.0 + p_binh) / 3 + 1e-12
    strict = run([*certain, binh], MatchSettings(target_precision=target))
    assert p_binh < strict.thresholds.matched < float("inf")
    assert [row(strict, i)["match_status"] for i in (1, 2, 4)] == ["matched", "matched", "review"]
    assert strict.thresholds.est_precision_matched >= target
    assert json.loads(json.dumps(strict.thresholds.to_dict()))["matched"] == round(
        strict.thresholds.matched, 6
    )


def test_a_pass_whose_columns_the_extract_lacks_is_skipped_and_says_why():
    res = run([person(None, "Trần Văn Bình", "1985-07-20", "M")])  # no commune code, no phone anywhere
    assert res.pass_stats["given_dob_commune"]["skipped"] == "no value in commune_code_std"
    assert res.pass_stats["phone"]["skipped"] == "no value in phone_std"
    assert res.pass_stats["name_dob"]["skipped"] is None
    assert row(res, 1)["person_id"] == "049085000111"


def test_a_key_value_too_common_is_split_by_a_finer_key_not_skipped():
    ref = [person(f"04909000{i:04d}", "Nguyễn Văn Hùng", f"19{50 + i % 40}-03-04", "M") for i in range(60)]
    # only the name + day and month pass: its key is shared by all 60 persons, above a cap of 10
    only = [p for p in DEFAULT_PASSES if p.name == "name_month_day"]
    res = run(
        [person(None, "Nguyễn Văn Hùng", "1971-03-04", "M")],
        MatchSettings(block_cap=10, passes=only),
        ref=ref,
    )
    stats = res.pass_stats["name_month_day"]
    assert (
        stats["capped_keys"] == 1 and stats["pairs"] == 1
    )  # split by the birth year: the one person of 1971
    assert not stats["warnings"]
    assert row(res, 1)["person_id"] == "049090000021"


def _pairs_of(pass_name: str, records: list[dict], ref: list[dict]) -> set[tuple[int, str]]:
    from doisoat.match.blocking import blocked_pairs

    only = [p for p in DEFAULT_PASSES if p.name == pass_name]
    pairs = blocked_pairs(reference_db(ref), frame(records, rid=True), MatchSettings(passes=only))
    return set(pairs.select("rid", "person_id").iter_rows())


def test_pairs_of_error_kinds_reach_the_person_through_their_own_pass():
    ref = [
        person("049177000111", "Huỳnh Thị Mận", "1977-03-09", "F"),
        person("049150000222", "Nguyễn Mỹ Phượng", "1950-08-14", "F"),
        person("049175000333", "Nguyễn Minh Quang", "1974-04-25", "M"),
    ]
    # a mistyped Huỳnh with a year-only date: one deletion from the plain surname (not from its variant Hoàng)
    assert _pairs_of("typo_year", [person(None, "Huyn Thị Mận", "1977", "F")], ref) == {(1, "049177000111")}
    # merged syllables and a typo: the plain name run together, one deletion apart
    got = _pairs_of("nospace_typo", [person(None, "Nguyan MỹPhượng", "1950-08-14", "F")], ref)
    assert got == {(1, "049150000222")}
    # a typo with the year one off: the given name with the day and month
    got = _pairs_of("typo_dob_pm1", [person(None, "Ngayen Minh Quang", "1975-04-25", "M")], ref)
    assert got == {(1, "049175000333")}


def test_a_key_on_an_expression_reads_only_its_columns_not_its_function_names():
    nospace = next(p for p in DEFAULT_PASSES if p.name == "nospace_typo")
    assert nospace.key_columns() == [{"name_plain", "birth_year"}]
