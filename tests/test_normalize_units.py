"""Administrative units: current codes, old codes mapped, splits ambiguous, codes reused across the two sets."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doisoat.data.build_admin_units import CONVERSION_PACKAGE, pairs_digest
from doisoat.normalize.units import (
    DATA_DIR,
    commune_frame,
    load_units,
    old_unit_info,
    resolve_commune,
    unit_name_key,
    unit_names,
    units_source,
)


@pytest.mark.parametrize(
    "name", ["Phường Hòa Khánh", "phuong hoa khanh", "P. Hoà Khánh", "HÒA KHÁNH", "hoa  khanh"]
)
def test_unit_name_key_ignores_prefix_case_diacritics_and_tone_style(name):
    assert unit_name_key(name) == "hoa khanh"


def test_numbered_wards_drop_leading_zeros():
    assert unit_name_key("Phường 01") == unit_name_key("phường 1") == "1"


def test_current_code_is_current():
    assert resolve_commune("20194", None) == ("20194", None, "current", ())
    assert resolve_commune("20194.0", None)[0] == "20194"


def test_code_that_lost_its_leading_zeros_is_padded():
    assert resolve_commune("4", "Ba Đình") == ("00004", None, "current", ())


def test_old_only_code_maps_to_its_new_unit():
    assert resolve_commune("00001", None) == ("00097", "00001", "mapped", ("OLD_COMMUNE_CODE",))


def test_split_old_ward_is_ambiguous_without_a_new_code():
    assert resolve_commune("00007", None) == (
        None,
        "00007",
        "ambiguous",
        ("OLD_COMMUNE_CODE", "COMMUNE_SPLIT_AMBIGUOUS"),
    )


def test_code_in_both_sets_is_decided_by_the_name_then_by_the_context():
    u = load_units()
    assert u.new_key["00004"] != u.old_key["00004"]  # the trap: same code, different unit
    assert resolve_commune("00004", "Phường Ba Đình", context="old")[2] == "current"
    assert resolve_commune("00004", "Trúc Bạch", context="new")[:3] == ("00004", "00004", "mapped")
    assert resolve_commune("00004", None, context="new")[2] == "current"
    assert resolve_commune("00004", None, context="old")[2] == "mapped"


def test_unknown_code_and_names_alone():
    assert resolve_commune("99999", None) == (None, None, "unknown", ("COMMUNE_UNKNOWN",))
    assert resolve_commune(None, "Hải Vân")[:3] == ("20194", None, "current")
    assert resolve_commune(None, None) == (None, None, None, ())


def test_a_name_found_in_several_provinces_needs_a_province_scope():
    u = load_units()
    by_key: dict[str, list[str]] = {}
    for code, key in u.new_key.items():
        by_key.setdefault(key, []).append(code)
    key, codes = next(
        (k, c)
        for k, c in sorted(by_key.items())
        if len(c) == 2 and u.new_province[c[0]] != u.new_province[c[1]]
    )
    assert resolve_commune(None, key) == (None, None, "unknown", ("COMMUNE_UNKNOWN",))
    assert resolve_commune(None, key, provinces=[u.new_province[codes[1]]])[:3] == (codes[1], None, "current")


def test_auto_context_reads_an_old_coded_file_as_old_and_a_current_file_with_stray_old_codes_as_new():
    u = load_units()
    quang_nam_old = u.old.filter(pl.col("province_code") == "49")["ward_code"]
    shared = [c for c in quang_nam_old if c in u.new_key]
    assert shared, "some Quảng Nam codes survived as new Đà Nẵng codes"
    old_file = commune_frame(quang_nam_old, None, pl.Series(["old.csv"] * len(quang_nam_old)))
    assert set(old_file["commune_status"]) <= {"mapped", "ambiguous"}
    da_nang = u.new.filter(pl.col("province_code") == "48")["ward_code"].to_list()
    stray = [c for c in quang_nam_old if c not in u.new_key][:3]
    codes = da_nang + stray
    new_file = commune_frame(pl.Series(codes), None, pl.Series(["new.csv"] * len(codes)))
    assert new_file["commune_status"].to_list()[: len(da_nang)] == ["current"] * len(da_nang)
    assert set(new_file["commune_status"].to_list()[len(da_nang) :]) <= {"mapped", "ambiguous"}


def test_commune_frame_keeps_rows_and_types():
    out = commune_frame(pl.Series(["20194", None, "00001", None]), pl.Series([None, "Hải Vân", None, None]))
    assert out.schema == {
        "commune_code_std": pl.Utf8,
        "commune_code_old": pl.Utf8,
        "commune_status": pl.Utf8,
        "_unit_issues": pl.Utf8,
    }
    assert out["commune_code_std"].to_list() == ["20194", "20194", "00097", None]
    assert out["commune_status"].to_list() == ["current", "current", "mapped", None]


def test_report_helpers_name_new_and_old_units():
    names = unit_names(["20194", "nope"])
    assert names.rows() == [("20194", "Phường Hải Vân", "Thành phố Đà Nẵng"), ("nope", None, None)]
    info = old_unit_info(["20341"]).row(0, named=True)
    assert (info["district_code"], info["district"], info["ward"]) == (
        "502",
        "Thành phố Tam Kỳ",
        "Phường An Mỹ",
    )


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=8), st.from_regex(r"\d{1,6}", fullmatch=True)),
    st.one_of(st.none(), st.text(max_size=20)),
    st.sampled_from(["new", "old"]),
)
def test_resolve_commune_never_raises_and_gives_a_known_new_code_or_none(code, name, context):
    std, old, status, issues = resolve_commune(code, name, context)
    u = load_units()
    assert std is None or std in u.new_key
    assert old is None or old in u.old_key
    assert status in (None, "current", "mapped", "ambiguous", "unknown")
    blank = not "".join((code or "").split()).removesuffix(".0")
    assert (status is None) == (blank and unit_name_key(name) is None)


def _map_rows() -> list[tuple[str, str, bool]]:
    return list(load_units().mapping.select("old_ward_code", "new_ward_code", "is_partly_merged").iter_rows())


def test_the_map_holds_exactly_the_statistics_office_pairs_recorded_at_build_time():
    """The build computed ``pairs_sha256`` from the package's OLD_TO_NEW itself; the committed map must give the
    same digest, on any Python (the package needs ≥ 3.12)."""
    src = units_source()
    assert src["conversion_package"] == CONVERSION_PACKAGE == "vietnam-provinces==2026.9.0"
    assert src["conversion_module"] == "vietnam_provinces/_ward_conversion_2025.py"
    rows = _map_rows()
    assert len(rows) == src["pairs"] == 10_565
    assert pairs_digest(rows) == src["pairs_sha256"]


@pytest.mark.skipif(
    importlib.util.find_spec("vietnam_provinces") is None,
    reason="vietnam-provinces 2026.9.0 needs Python >= 3.12: the digest test above covers the pairs",
)
def test_the_map_equals_the_packaged_table_when_the_package_is_installed():
    from vietnam_provinces import _ward_conversion_2025 as conv

    packaged = {
        (f"{o:05d}", f"{n.code:05d}", e.old_ward.is_partly_merged)
        for o, e in conv.OLD_TO_NEW.items()
        for n in e.new_wards
    }
    assert set(_map_rows()) == packaged


def test_tables_record_their_source_and_version():
    for name in ("units_new", "units_old", "units_map"):
        meta = pq.read_metadata(DATA_DIR / f"{name}.parquet").metadata
        assert meta[b"doisoat.conversion_package"] == b"vietnam-provinces==2026.9.0"
        assert meta[b"doisoat.units_package"] == b"vietnamadminunits==1.0.4"
    src = json.loads((DATA_DIR / "units_source.json").read_text(encoding="utf-8"))
    assert src["office_table"].startswith("BangChuyendoi")
    assert src["effective_date"] == "2025-07-01"


def test_every_old_commune_of_every_province_converts_as_the_office_says():
    u = load_units()
    targets: dict[str, set[str]] = {}
    partly: dict[str, bool] = {}
    for o, n, p in _map_rows():
        targets.setdefault(o, set()).add(n)
        partly[o] = p
    got = commune_frame(pl.Series(sorted(targets)), None, units_context="old")
    for o, std, old, status, issues in zip(
        sorted(targets),
        *(got[c] for c in ("commune_code_std", "commune_code_old", "commune_status", "_unit_issues")),
        strict=True,
    ):
        assert old == o
        if len(targets[o]) > 1:
            assert (std, status) == (None, "ambiguous"), o
            assert "COMMUNE_SPLIT_AMBIGUOUS" in issues
        else:
            assert (std, status) == (next(iter(targets[o])), "mapped"), o
            assert ("OLD_COMMUNE_PARTLY_MERGED" in issues) == partly[o]
    # old communes the office's table does not list convert to nothing
    missing = sorted(set(u.old_key) - set(targets))
    assert missing == units_source()["old_wards_not_in_map"] == ["01651", "02482"]
    assert {resolve_commune(c, None, context="old")[2] for c in missing} == {"unknown"}


def test_splits_follow_the_office_not_the_name_keyed_converter():
    # 441 old wards go to several new units; a ward the name-keyed converter split (same-name wards merged) is
    # whole in the office's table
    assert units_source()["split_old_wards"] == 441
    n_new = dict(load_units().mapping.group_by("old_ward_code").agg(pl.col("n_new").first()).iter_rows())
    assert sum(v > 1 for v in n_new.values()) == 441


def test_reference_units_source_shows_the_pinned_tables_the_manifest_records():
    out = subprocess.run(
        [sys.executable, "-m", "doisoat.cli", "reference", "units", "--source"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    src = units_source()
    text = out.stdout
    assert "3.321 xã/phường/đặc khu mới" in text and "10.035 xã/phường/thị trấn cũ" in text
    assert "441 xã cũ chia cho nhiều xã mới" in text and "10.565 cặp" in text
    for value in (src["conversion_package"], src["units_package"], src["office_table"], src["pairs_sha256"]):
        assert str(value) in text
    assert "Xã cũ không có trong bảng chuyển đổi (2): 01651, 02482." in text
    # without --source only the counts
    short = subprocess.run(
        [sys.executable, "-m", "doisoat.cli", "reference", "units"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert short.returncode == 0 and "10.565 cặp" in short.stdout and "SHA-256" not in short.stdout
