"""The CLI contract: help in both languages, one-line errors for user mistakes, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def doisoat(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "doisoat.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_help_is_bilingual_and_lists_the_contract_commands():
    out = doisoat("--help")
    assert out.returncode == 0
    for word in ("sample", "run", "evaluate", "Đối soát", "Reconcile"):
        assert word in out.stdout
    run_help = doisoat("run", "--help").stdout
    assert "--reference" in run_help and "--extract" in run_help and "--db" in run_help


def test_missing_reference_file_is_a_one_line_vietnamese_error(tmp_path):
    out = doisoat(
        "run",
        "--reference",
        str(tmp_path / "none.csv"),
        "--extract",
        "vaccination=x.csv",
        "--out",
        str(tmp_path / "o"),
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "Không tìm thấy tệp dữ liệu dân cư" in out.stderr


def test_malformed_extract_argument_says_the_expected_form(tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("a\n1\n")
    out = doisoat("run", "--reference", str(ref), "--extract", "vaccination.csv")
    assert out.returncode == 2 and "LĨNH_VỰC=TỆP" in out.stderr and "Traceback" not in out.stderr


def test_unknown_sector_lists_the_known_ones(tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("a\n1\n")
    out = doisoat("run", "--reference", str(ref), "--extract", f"education={ref}")
    assert out.returncode == 2
    assert "education" in out.stderr and "vaccination" in out.stderr and "Traceback" not in out.stderr


def test_sample_command_writes_a_province_with_truth(tmp_path):
    out = doisoat("sample", "--people", "300", "--seed", "3", "--out", str(tmp_path / "mau"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Đã sinh dữ liệu mẫu" in out.stdout
    for name in ("manifest.json", "reference.parquet", "truth/truth.parquet"):
        assert (tmp_path / "mau" / name).is_file(), name
