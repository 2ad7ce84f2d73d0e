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


def test_decisions_import_of_a_missing_file_is_an_error_and_imports_nothing(tmp_path):
    out = doisoat("decisions", "import", str(tmp_path / "nofile.xlsx"), "--db", str(tmp_path / "x.duckdb"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"không tìm thấy tệp {tmp_path / 'nofile.xlsx'}" in out.stderr
    assert "Chưa nhập quyết định nào" in out.stderr and "Đã nhập" not in out.stdout
    assert not (tmp_path / "x.duckdb").exists()  # no empty database left behind
    folder = doisoat("decisions", "import", str(tmp_path), "--db", str(tmp_path / "x.duckdb"))
    assert folder.returncode == 2 and "là thư mục" in folder.stderr


def test_decisions_without_a_database_say_to_run_first(tmp_path):
    out = doisoat("decisions", "list", "--db", str(tmp_path / "none.duckdb"))
    assert out.returncode == 2 and "hãy chạy đối soát trước" in out.stderr


def test_sub_command_help_gives_defaults_examples_and_accepted_values():
    run_help = " ".join(doisoat("run", "--help").stdout.split())  # argparse wraps lines at the terminal width
    assert "Cách dùng / usage:" in run_help and "tùy chọn / options" in run_help  # argparse's own words
    assert "mặc định / default: vi" in run_help and "{vi,en}" in run_help
    assert "Ví dụ / examples:" in run_help and "doisoat run --reference" in run_help
    assert "vaccination" in run_help and "Mã thoát / exit codes:" in run_help
    for command in (["sample"], ["evaluate"], ["decisions", "import"], ["model", "train"]):
        text = doisoat(*command, "--help").stdout
        assert "Ví dụ / example" in text, command
    assert "mặc định / default: 20000" in " ".join(doisoat("sample", "--help").stdout.split())
    wrong = doisoat("evaluate", "--truth", "x", "--results", "y", "--lang", "fr")
    assert wrong.returncode == 2 and "giá trị không hợp lệ / invalid choice: 'fr'" in " ".join(
        wrong.stderr.split()
    )


def test_evaluate_on_results_missing_columns_or_not_parquet_is_one_line(tmp_path):
    import polars as pl

    truth = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
    bad = tmp_path / "results.parquet"
    pl.DataFrame({"source_file": ["a.csv"], "source_row": [1]}).write_parquet(bad)
    text = tmp_path / "text.parquet"
    text.write_text("not parquet\n")
    for results, said in ((bad, "thiếu cột person_id, status"), (text, "Không đọc được tệp kết quả")):
        out = doisoat("evaluate", "--truth", str(truth), "--results", str(results))
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert out.stderr.count("\n") == 1 and said in out.stderr


def test_broken_sector_yaml_is_one_line_before_the_run_starts(tmp_path):
    import os

    sectors = tmp_path / "sectors"
    sectors.mkdir()
    (sectors / "education.yaml").write_text("name: education\nlabel_vi: [unclosed\n", encoding="utf-8")
    ref, extract = tmp_path / "ref.csv", tmp_path / "hs.csv"
    ref.write_text("a\n1\n")
    extract.write_text("Họ và tên\nAn\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "doisoat.cli",
            "run",
            "--reference",
            str(ref),
            "--extract",
            f"education={extract}",
        ]
        + ["--out", str(tmp_path / "o"), "--db", str(tmp_path / "d.duckdb")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DOISOAT_SECTORS_DIR": str(sectors)},
    )
    errors = [line for line in out.stderr.splitlines() if line.startswith("Lỗi: ")]
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(errors) == 1 and "education.yaml" in errors[0]


def test_every_sub_command_on_bad_input_says_one_line_and_fails(tmp_path):
    db = str(tmp_path / "d.duckdb")
    missing = str(tmp_path / "none.csv")
    cases = [
        ("reference", "load", missing, "--db", db),
        ("reference", "load", str(tmp_path), "--db", db),
        ("model", "train", "--extract", f"vaccination={missing}", "--db", db),
        ("evaluate", "--truth", str(tmp_path), "--results", missing),
        ("decisions", "import", missing, "--db", db),
        ("run", "--reference", missing, "--extract", f"vaccination={missing}", "--db", db),
    ]
    for args in cases:
        out = doisoat(*args)
        assert out.returncode != 0 and "Traceback" not in out.stderr, args
        assert [line for line in out.stderr.splitlines() if line.startswith("Lỗi: ")], args


def test_serve_and_runs_help_say_the_schedule_time_zone_and_the_inbox_layout():
    serve_help = " ".join(doisoat("serve", "--help").stdout.split())
    assert "Asia/Ho_Chi_Minh" in serve_help and "mặc định / default: 30 1 * * *" in serve_help
    assert "THƯ_MỤC/rejected/" in serve_help and ".ly-do.txt" in serve_help and ".sha256" in serve_help
    assert "doisoat runs list" in doisoat("runs", "--help").stdout


def test_inbox_and_extract_together_is_a_one_line_error(tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("a\n1\n")
    out = doisoat(
        "run", "--reference", str(ref), "--inbox", str(tmp_path / "ht"), "--extract", f"vaccination={ref}"
    )
    assert out.returncode == 2 and "--inbox hoặc --extract" in out.stderr and "Traceback" not in out.stderr


def test_runs_list_without_a_database_says_to_run_first(tmp_path):
    out = doisoat("runs", "list", "--db", str(tmp_path / "none.duckdb"))
    assert out.returncode == 2 and "hãy chạy đối soát trước" in out.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_serve_with_a_wrong_cron_is_a_one_line_error_before_any_server_starts(tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("a\n1\n")
    out = doisoat("serve", "--reference", str(ref), "--inbox", str(tmp_path / "ht"), "--cron", "61 1 * * *")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "không phải biểu thức cron hợp lệ" in out.stderr and "máy chủ Prefect" not in out.stdout
    assert not (tmp_path / "ht").exists()  # nothing was created either
