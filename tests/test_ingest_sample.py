"""The generator's sample: each sector file, in CSV, XLSX and Parquet, ingests to the same canonical records."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from doisoat.ingest import ingest_file
from doisoat.ingest.readers import read_table
from schemas import load_sector
from schemas.loader import CANONICAL_FIELDS

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "sample_data" / "demo"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The committed demo sample when present, else a small one generated the same way."""
    if (DEMO / "manifest.json").exists():
        return DEMO
    from sample_data.generator import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, people=800, seed=7)
    return out


def _extracts(sample: Path) -> list[tuple[str, str]]:
    manifest = json.loads((sample / "manifest.json").read_text(encoding="utf-8"))
    return sorted(manifest["extracts"].items())


def _convert(src: Path, fmt: str, out: Path) -> Path:
    """The same table in another format (all cells as text), written where the test can read it."""
    with read_table(src) as table:
        frame = table.frame().drop("__extra", "__issues")
    frame = frame.rename(dict(zip(frame.columns, table.headers, strict=True)))
    path = out / f"{src.stem}.{fmt}"
    if fmt == "csv":
        frame.write_csv(path)
    elif fmt == "xlsx":
        frame.write_excel(path, worksheet="DanhSach")
    else:
        frame.write_parquet(path)
    return path


CANON = ["record_id", "source_row", *CANONICAL_FIELDS]


def test_every_sector_reads_identically_from_csv_xlsx_and_parquet(sample, tmp_path):
    truth = pl.read_parquet(sample / "truth" / "truth.parquet")
    for sector, name in _extracts(sample):
        spec = load_sector(sector)
        original = ingest_file(sample / name, spec)
        assert original.ok, original.errors
        assert original.n_input_rows == original.records.height + original.quarantine.height
        t = truth.filter(pl.col("sector") == sector)
        assert original.n_input_rows == t.height
        got = pl.concat(
            [
                original.records.select("source_row", "record_id"),
                original.quarantine.select("source_row", "record_id"),
            ]
        )
        assert got.sort("source_row").equals(t.select("source_row", "record_id").sort("source_row")), sector
        expected = original.records.select(CANON).sort("source_row")
        for fmt in ("csv", "xlsx", "parquet"):
            res = ingest_file(_convert(sample / name, fmt, tmp_path), spec)
            assert res.ok, (sector, fmt, res.errors)
            assert res.n_input_rows == original.n_input_rows, (sector, fmt)
            assert res.mapping == original.mapping, (sector, fmt)
            same = (
                res.records.select(CANON)
                .sort("source_row")
                .with_columns(pl.col("record_id").str.replace(r"^[^#]+\.(csv|xlsx|parquet)#", f"{name}#"))
            )
            assert same.equals(expected), (sector, fmt)


def test_reference_extract_has_death_columns(sample):
    res = ingest_file(sample / "reference.parquet", load_sector("reference"))
    assert res.ok
    assert res.mapping["death_date"] == "Ngày mất" and res.mapping["vital_status"] == "Tình trạng"
    assert res.records["death_date"].drop_nulls().len() > 0
