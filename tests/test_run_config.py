"""One run configuration: run.yaml → RunConfig (match and gate settings nested) → manifest → the same run again."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from checks import GateSettings
from doisoat import pipeline
from doisoat.errors import DoisoatError, UserError
from doisoat.match.settings import MatchSettings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "demo"
EXAMPLE = ROOT / "run.example.yaml"


def test_the_example_run_yaml_documents_every_field_and_reads_as_the_defaults():
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    text = EXAMPLE.read_text(encoding="utf-8")
    # every field an operator may set is in the example (out_dir and the others left out are named in comments)
    assert all(f"{name}:" in text for name in pipeline.CONFIG_FIELDS)
    assert {f.name for f in dataclasses.fields(MatchSettings)} - set(data["match"]) == {"passes"}
    assert "passes:" in text
    config = pipeline.RunConfig.load(EXAMPLE)
    assert config.match == MatchSettings()  # the values written are the defaults, so the example cannot drift
    assert config.reference == SAMPLE / "reference.parquet"  # relative to the file's folder
    assert [(e.sector, e.path.name, e.sheet) for e in config.extracts][0] == (
        "civil_status",
        "ho_tich.xlsx",
        "DanhSach",
    )
    assert config.out_dir == ROOT / "out"


def test_run_yaml_nests_match_and_gate_settings_and_flags_win(tmp_path):
    (tmp_path / "ref.parquet").touch()
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(
        "reference: ref.parquet\n"
        "extracts: ['vaccination=tc.csv']\n"
        "lang: en\n"
        "match: {review: 0.7, block_cap: 50}\n"
        "gate:\n  max_drop_points: 2.5\n  sectors: {vaccination: {max_null_rate: 0.9}}\n",
        encoding="utf-8",
    )
    config = pipeline.RunConfig.load(run_yaml, lang="vi", db_path=str(tmp_path / "x.duckdb"))
    assert config.extracts == [pipeline.ExtractInput("vaccination", tmp_path / "tc.csv")]
    assert (config.lang, config.db_path) == ("vi", tmp_path / "x.duckdb")  # the flags' values
    assert (config.match.review, config.match.block_cap, config.match.matched) == (0.7, 50, 0.95)
    shipped = GateSettings.load()
    assert config.gate.max_drop_points == 2.5 and shipped.max_drop_points == 5.0
    assert config.gate.for_sector("vaccination").max_null_rate == 0.9
    # the shipped per-sector overrides and severities stay under the run's own
    assert config.gate.sectors["civil_status"] == shipped.sectors["civil_status"]
    assert config.gate.severity == shipped.severity
    # --gate-config is laid over the file's gate
    over = tmp_path / "nguong.yaml"
    over.write_text("defaults:\n  min_rows: 7\nsectors:\n  vaccination:\n    min_rows: 3\n", encoding="utf-8")
    gated = config.with_gate_file(over)
    assert (gated.gate.min_rows, gated.gate.max_drop_points) == (7, 2.5)
    assert gated.gate.sectors["vaccination"] == {"max_null_rate": 0.9, "min_rows": 3}
    # the manifest's record reads back as the same configuration
    assert pipeline.RunConfig.from_dict(gated.to_dict()).to_dict() == gated.to_dict()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("reference: r.parquet\nthreshold: 0.9\n", "không có mục threshold"),
        ("reference: r.parquet\nmatch: {matched: 0.4, review: 0.6}\n", "mục match: thresholds must satisfy"),
        ("reference: r.parquet\nmatch: {treshold: 1}\n", "unknown match settings: ['treshold']"),
        ("reference: r.parquet\ngate: {max_quarantine: 0.1}\n", "max_quarantine"),
        ("reference: r.parquet\nsuppress_below: many\n", "mục suppress_below: cần một số nguyên"),
        ("reference: r.parquet\nmatch: {block_cap: lots}\n", "mục match: block_cap: a number, not 'lots'"),
        ("reference: r.parquet\nmatch: {estimate: 'no'}\n", "estimate: true or false"),
        ("reference: r.parquet\ngate: {max_drop_points: 'năm'}\n", "max_drop_points: cần một số"),
        ("reference: r.parquet\nextracts: [{sector: vaccination}]\n", "mục extracts thứ 1"),
        ("lang: vi\n", "chưa có tệp dữ liệu dân cư"),
        ("- a\n- b\n", "phải là các cặp khóa"),
    ],
)
def test_a_mistake_in_run_yaml_is_one_message_naming_the_file_and_field(tmp_path, text, said):
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DoisoatError) as caught:
        pipeline.RunConfig.load(path)
    assert said in str(caught.value) and str(path) in str(caught.value)


def test_a_bad_config_through_the_cli_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("reference: r.parquet\nmatch: {review: 2}\n", encoding="utf-8")
    for args in (["--config", str(path)], ["--repeat", str(tmp_path)]):
        out = subprocess.run(
            [sys.executable, "-m", "doisoat.cli", "run", *args], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert str(tmp_path) in out.stderr.splitlines()[-1]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A run made from a run.yaml that changes match and gate settings, on a copy of the vaccination extract."""
    base = tmp_path_factory.mktemp("repeat")
    shutil.copy(SAMPLE / "tiem_chung.csv", base / "tiem_chung.csv")
    (base / "run.yaml").write_text(
        f"reference: {SAMPLE / 'reference.parquet'}\n"
        "extracts: [{sector: vaccination, path: tiem_chung.csv}]\n"
        "out_dir: out\ndb_path: d.duckdb\naudit_sample_size: 5\n"
        "match: {review: 0.6, close_margin: 2.0}\ngate: {max_drop_points: 4.0}\n",
        encoding="utf-8",
    )
    summary = pipeline.reconcile(pipeline.RunConfig.load(base / "run.yaml"))
    return base, summary


def test_the_manifest_holds_the_whole_configuration_and_the_model_the_run_started_from(first_run):
    _, summary = first_run
    manifest = json.loads((summary.out_dir / "manifest.json").read_text(encoding="utf-8"))
    config = manifest["config"]
    assert config["match"]["review"] == 0.6 and config["match"]["passes"]  # every setting, defaults included
    assert config["gate"]["max_drop_points"] == 4.0 and config["gate"]["severity"]["dung_drop"] == "error"
    prior = summary.out_dir / pipeline.PRIOR_MODEL
    from doisoat.match import MatchModel

    assert (
        MatchModel.load(prior).sha256() == manifest["model_prior"]["sha256"] == MatchModel.default().sha256()
    )


def test_a_run_repeated_from_its_folder_gives_the_same_results(first_run):
    base, summary = first_run
    again = pipeline.reconcile(pipeline.repeat_config(summary.out_dir))
    assert again.run_id != summary.run_id and again.out_dir.parent == summary.out_dir.parent
    first = pl.read_parquet(summary.out_dir / "results.parquet").drop("run_id")
    second = pl.read_parquet(again.out_dir / "results.parquet").drop("run_id")
    assert first.height > 1000 and first["status"].n_unique() >= 3
    assert second.equals(first)
    manifests = [json.loads((s.out_dir / "manifest.json").read_text()) for s in (summary, again)]
    assert manifests[1]["config"] == {
        **manifests[0]["config"],
        "model_path": str(summary.out_dir / pipeline.PRIOR_MODEL),
    }
    assert manifests[1]["match_thresholds"] == manifests[0]["match_thresholds"]
    assert manifests[1]["model"] == manifests[0]["model"]


def test_a_repeat_is_refused_when_an_input_changed_since_the_run(first_run):
    base, summary = first_run
    changed = base / "tiem_chung.csv"
    original = changed.read_bytes()
    try:
        changed.write_bytes(original.replace(b"\n", b"\r\n", 1))
        with pytest.raises(UserError, match="không còn là tệp lượt chạy đã đọc"):
            pipeline.repeat_config(summary.out_dir)
    finally:
        changed.write_bytes(original)


def test_command_line_flags_override_the_config_file_and_the_repeated_run(first_run, tmp_path, monkeypatch):
    from doisoat.cli import _run_config, build_parser

    base, summary = first_run
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nguong.yaml").write_text("defaults:\n  min_rows: 9\n", encoding="utf-8")
    args = build_parser().parse_args(
        ["run", "--config", str(base / "run.yaml"), "--extract", "insurance=bh.parquet", "--out", "kq"]
        + ["--gate-config", "nguong.yaml"]
    )
    config = _run_config(args)
    assert config.extracts == [
        pipeline.ExtractInput("insurance", tmp_path / "bh.parquet")
    ]  # replaced, from cwd
    assert (
        config.out_dir == tmp_path / "kq" and config.db_path == base / "d.duckdb"
    )  # the file's, from its folder
    assert (config.match.review, config.gate.max_drop_points, config.gate.min_rows) == (0.6, 4.0, 9)
    repeated = _run_config(
        build_parser().parse_args(["run", "--repeat", str(summary.out_dir), "--lang", "en"])
    )
    assert repeated.lang == "en" and repeated.model_path == summary.out_dir / pipeline.PRIOR_MODEL
    assert repeated.extracts == [pipeline.ExtractInput("vaccination", base / "tiem_chung.csv")]
    assert repeated.match.review == 0.6 and repeated.gate.max_drop_points == 4.0
