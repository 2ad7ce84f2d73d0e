"""MatchModel and MatchSettings: JSON round trips, EM training, term-frequency adjustment."""

from __future__ import annotations

import json

import polars as pl
import pytest
from test_match_support import frame, person, reference_db

from doisoat.match import MatchModel, MatchSettings, train
from doisoat.match.estimate import expectation_maximisation

GIVEN = ["An", "Bình", "Cường", "Dũng", "Hoa", "Lan", "Mai", "Nam", "Phúc", "Quân", "Sơn", "Tâm", "Tú", "Vy"]
SURN = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ"]


def population(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        middle = ["Văn", "Thị", "Hữu", "Minh", "Ngọc"][(i // 140) % 5]
        name = f"{SURN[i % 10]} {middle} {GIVEN[(i // 10) % 14]}"
        dob = f"{1950 + i % 50}-{1 + i % 12:02d}-{1 + (i * 3) % 28:02d}"
        rows.append(person(f"049{i % 2}{i % 50:02d}{i:06d}", name, dob, "M" if i % 2 else "F"))
    return rows


def test_model_round_trips_through_json(tmp_path):
    model = MatchModel.priors()
    path = tmp_path / "model.json"
    model.save(path)
    again = MatchModel.load(path)
    assert again.to_json() == model.to_json()
    assert again.comparisons["name"].levels[:3] == ["exact", "no_diacritics", "variant"]


def test_model_of_another_format_version_is_refused():
    text = MatchModel.priors().to_json().replace('"format_version": 1', '"format_version": 99')
    with pytest.raises(ValueError, match="format"):
        MatchModel.from_json(text)


def test_model_file_carries_its_content_hash_and_an_edited_file_is_refused(tmp_path):
    model = MatchModel.priors()
    data = json.loads(model.to_json())
    assert data["sha256"] == model.sha256()
    data["comparisons"]["id"]["m"][0] = 0.5  # someone edits a weight by hand
    with pytest.raises(ValueError, match="sha256"):
        MatchModel.from_json(json.dumps(data))
    del data["sha256"]  # an older file without a hash still loads
    assert MatchModel.from_json(json.dumps(data)).comparisons["id"].m[0] == 0.5


def test_settings_round_trip_through_json_including_passes():
    s = MatchSettings(matched=0.99, review=0.6, block_cap=50)
    again = MatchSettings.from_json(s.to_json())
    assert again == s
    assert [p.name for p in again.passes][:3] == ["id_exact", "old_id", "name_dob"]


def test_settings_reject_review_threshold_above_matched():
    with pytest.raises(ValueError):
        MatchSettings.from_dict({"matched": 0.5, "review": 0.9})


def test_training_is_deterministic_and_learns_that_exact_agreement_is_evidence():
    ref = population(400)
    records = [dict(r) for r in ref[:200]]
    for r in records[::5]:  # some records lose their ID
        r["national_id_std"] = None
    con = reference_db(ref)
    settings = MatchSettings(u_sample_pairs=20_000)
    m1 = train(con, frame(records, rid=True), settings)
    m2 = train(con, frame(records, rid=True), settings)
    assert m1.to_json() == m2.to_json()
    for comp in ("id", "name", "birth"):
        p = m1.comparisons[comp]
        assert p.m[0] > p.u[0] * 10, comp
    assert m1.comparisons["sex"].m[0] > 0.9 > 0.6 > m1.comparisons["sex"].u[0]
    assert m1.training["n_records"] == 200 and len(m1.training["records_sha256"]) == 64
    # the model file is the whole model: the settings it was made under travel with it
    assert MatchSettings.from_dict(m1.training["estimation"]["settings"]) == settings


def test_em_recovers_the_match_share_of_a_clean_mixture():
    model = MatchModel.priors()
    # 100 pairs agreeing on everything, 300 pairs disagreeing on everything but sex half of the time
    counts = pl.DataFrame(
        {
            "lv_id": [0, 7, 7],
            "lv_name": [0, 9, 9],
            "lv_birth": [0, 9, 9],
            "lv_sex": [0, 0, 1],
            "lv_commune": [-1, -1, -1],
            "lv_phone": [-1, -1, -1],
            "n": [100, 150, 150],
        }
    )
    u = {name: p.u for name, p in model.comparisons.items()}
    _, lam, _, converged, _ = expectation_maximisation(counts, model, u, MatchSettings())
    assert converged
    assert abs(lam - 0.25) < 1e-3


def test_common_full_name_weighs_less_than_a_rare_one():
    ref = [person(f"04909000{i:04d}", "Nguyễn Văn Hùng", f"19{50 + i % 40}", "M") for i in range(40)]
    ref.append(person("049090009999", "Zơ Râm Pơloong", "1980", "M"))
    con = reference_db(ref)
    from doisoat.match import link

    recs = frame(
        [person(None, "Nguyễn Văn Hùng", "1951", "M"), person(None, "Zơ Râm Pơloong", "1980", "M")], True
    )
    m = link(con, recs, MatchModel.priors(), MatchSettings(tf_min_u=1e-9), {}).matches
    import json

    common, rare = (json.loads(w)["name"] for w in m["weights"])
    assert rare > common + 4


def test_training_above_the_record_cap_uses_an_even_sample():
    ref = population(300)
    con = reference_db(ref)
    model = train(con, frame(ref[:120], rid=True), MatchSettings(u_sample_pairs=5_000, train_max_records=50))
    assert (model.training["n_records"], model.training["n_records_used"]) == (120, 40)


def test_trained_year_only_agreement_weighs_less_than_a_full_date_agreement():
    ref = population(400)
    records = [dict(r) for r in ref[:200]]
    for r in records[::4]:  # a quarter of the records carry only the birth year
        r.update(birth_month=None, birth_day=None, birth_precision="Y")
    con = reference_db(ref)
    model = train(con, frame(records, rid=True), MatchSettings(u_sample_pairs=20_000))
    w = dict(zip(model.comparisons["birth"].levels, model.comparisons["birth"].weights(), strict=True))
    assert 0 < w["year_only"] < w["exact"] - 3


def test_shipped_default_model_fits_the_current_comparisons():
    model = MatchModel.default()
    assert model.training.get("sessions"), "the shipped model is trained, not the priors"
    for name, p in model.comparisons.items():
        assert abs(sum(p.m) - 1) < 1e-6, name
        if name != "id":  # the ID's same-prefix level has a conditional u
            assert abs(sum(p.u) - 1) < 1e-6, name
    assert model.comparisons["id"].weights()[0] > 15
