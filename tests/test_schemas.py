"""Sector YAML files load into validated specs; bad files fail with the file and key named."""

from __future__ import annotations

import polars as pl
import pytest

from schemas import SectorSpecError, available_sectors, load_sector, spec_from_dict
from schemas.models import canonical_model, failure_cases, sector_model


def test_the_five_shipped_sectors_load_with_their_documented_options():
    assert {"civil_status", "social_protection", "vaccination", "insurance", "reference"} <= set(
        available_sectors()
    )
    vac = load_sector("vaccination")
    assert vac.label_vi == "Tiêm chủng"
    assert vac.many_per_person is True
    assert vac.event_key == ["event_type", "event_date"]
    assert vac.after_death_reason == "DOSE_AFTER_DEATH"
    assert load_sector("social_protection").after_death_reason == "PAID_AFTER_DEATH"
    assert load_sector("insurance").after_death_reason == "INSURED_AFTER_DEATH"
    assert load_sector("insurance").many_per_person is False
    assert load_sector("civil_status").after_death_reason is None
    assert load_sector("civil_status").many_per_person is True
    assert {"death_date", "vital_status"} <= set(load_sector("reference").fields)


def test_a_new_sector_is_one_yaml_file_in_the_sectors_dir(tmp_path, monkeypatch):
    (tmp_path / "education.yaml").write_text(
        "name: education\nlabel_vi: Giáo dục\nrequired: [full_name, birth_date]\n"
        "column_map:\n  full_name: ['Tên học sinh']\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DOISOAT_SECTORS_DIR", str(tmp_path))
    assert "education" in available_sectors()
    spec = load_sector("education")
    assert spec.column_map == {"full_name": ["Tên học sinh"]}
    assert spec.source == tmp_path / "education.yaml"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"name": "x", "label_vi": "X", "required": ["shoe_size"]}, "required"),
        ({"name": "x", "label_vi": "X", "after_death_reason": "NOT_A_CODE"}, "after_death_reason"),
        ({"name": "x", "label_vi": "X", "many_per_person": "yes"}, "many_per_person"),
        ({"name": "x", "label_vi": "X", "colum_map": {}}, "colum_map"),
        ({"name": "x"}, "label_vi"),
    ],
)
def test_invalid_sector_options_name_the_key(data, key):
    with pytest.raises(SectorSpecError, match=f"khoá '{key}'"):
        spec_from_dict(data, "x.yaml")


def test_unknown_sector_lists_the_known_ones():
    with pytest.raises(SectorSpecError, match="civil_status"):
        load_sector("no_such_sector")


def test_sector_model_runs_data_checks_on_raw_strings():
    spec = load_sector("vaccination")
    frame = pl.DataFrame(
        {f: [None, None, None] for f in spec.fields}, schema=dict.fromkeys(spec.fields, pl.String)
    ).with_columns(
        pl.Series("full_name", ["An", "Bình", None]),
        pl.Series("birth_date", ["1990", "không rõ", None]),
        pl.Series("__cells", [2, 2, 0], dtype=pl.Int64),
        pl.Series("__extra", [None, None, None], dtype=pl.String),
    )
    fc = failure_cases(sector_model(spec), frame)
    got = {(r["check"], r["index"]) for r in fc.iter_rows(named=True)}
    assert ("date_has_digit", 1) in got
    assert ("not_empty_row", 2) in got
    assert ("has_name", 2) in got
    assert not any(i == 0 for _, i in got)


def test_canonical_model_rejects_a_frame_without_lineage():
    with pytest.raises(Exception, match="not in dataframe"):
        canonical_model().validate(pl.DataFrame({"sector": ["x"]}))
