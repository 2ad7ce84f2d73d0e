"""Mutants of the bundled sample files for the ingest fuzz (tests/test_ingest_fuzz.py) and soak (bench/).

A mutant is a sample file and a list of operations: byte flips, truncations, deletions, repeats, inserted
separators / quotes / NUL / CR / LF / broken UTF-8, a re-encoding, another file suffix. Positions are
fractions of the file length (or absolute offsets in its first bytes, where headers are), so the same
operations apply to any file and shrink well under hypothesis. :func:`check_result` is the property every
mutant must have.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import polars as pl

DEMO = Path(__file__).resolve().parent.parent / "sample_data" / "demo"

#: (file, sector) of the bundled sample
SAMPLES: tuple[tuple[str, str], ...] = (
    ("tiem_chung.csv", "vaccination"),
    ("an_sinh_xa_hoi.csv", "social_protection"),
    ("ho_tich.xlsx", "civil_status"),
    ("bao_hiem.parquet", "insurance"),
)
TOKENS: tuple[bytes, ...] = (
    b",",
    b";",
    b"\t",
    b"|",
    b'"',
    b'""',
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xff",
    b"\xc3",
)
ENCODINGS: tuple[str, ...] = ("utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "cp1258", "latin-1")
SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".parquet", ".txt", "")

# an operation: (kind, where, arg); where: a fraction of the length when a float, a byte offset when an int
Op = tuple[str, float | int, object]


@dataclass(frozen=True)
class Mutant:
    sample: str
    sector: str
    ops: tuple[Op, ...]
    suffix: str | None = None  # None: the sample's own

    def name(self) -> str:
        stem, _, ext = self.sample.rpartition(".")
        return f"{stem}_mutant{self.suffix if self.suffix is not None else '.' + ext}"


def _at(data: bytes, where: float | int) -> int:
    if isinstance(where, float):
        return min(len(data), int(where * len(data)))
    return min(len(data), where)


def apply(data: bytes, ops: tuple[Op, ...]) -> bytes:
    """The sample's bytes after the operations, in order."""
    for kind, where, arg in ops:
        i = _at(data, where)
        if kind == "flip" and data:
            i = min(i, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ (int(arg) or 1)]) + data[i + 1 :]
        elif kind == "truncate":
            data = data[:i]
        elif kind == "insert":
            data = data[:i] + bytes(arg) + data[i:]
        elif kind == "delete":
            data = data[:i] + data[i + int(arg) :]
        elif kind == "repeat":
            data = data[: i + int(arg)] + data[i : i + int(arg)] + data[i + int(arg) :]
        elif kind == "encode":
            text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
            data = text.encode(str(arg), errors="replace")
    return data


def write(mutant: Mutant, folder: Path) -> Path:
    path = folder / mutant.name()
    path.write_bytes(apply((DEMO / mutant.sample).read_bytes(), mutant.ops))
    return path


def random_mutant(rng: random.Random) -> Mutant:
    """One mutant drawn at random (the soak); the fuzz draws the same kinds through hypothesis."""
    sample, sector = rng.choice(SAMPLES)
    ops: list[Op] = []
    for _ in range(rng.randint(1, 4)):
        where: float | int = rng.random() if rng.random() < 0.7 else rng.randrange(0, 4000)
        kind = rng.choice(
            ("flip", "flip", "truncate", "insert", "insert", "insert", "delete", "repeat", "encode")
        )
        if kind == "flip":
            ops.append(("flip", where, rng.randrange(1, 256)))
        elif kind == "truncate":
            ops.append(("truncate", where, None))
        elif kind == "insert":
            token = rng.choice(TOKENS) if rng.random() < 0.85 else bytes(rng.randrange(256) for _ in range(8))
            ops.append(("insert", where, token * rng.randint(1, 3)))
        elif kind in ("delete", "repeat"):
            ops.append((kind, where, rng.randint(1, 5000)))
        elif sample.endswith(".csv"):
            ops.append(("encode", 0, rng.choice(ENCODINGS)))
    suffix = rng.choice(SUFFIXES) if rng.random() < 0.15 else None
    return Mutant(sample, sector, tuple(ops), suffix)


def check_result(res, path: Path) -> str:
    """The property of every mutant; returns "ok" or the error code (raises AssertionError when violated).

    A clear message or a result: a rejected file has exactly one error (a FILE_* code other than the catch-all
    for reader bugs), one line naming the file, and no rows; a used file has every data row once in records
    or quarantine, with source rows 1…n.
    """
    for m in res.messages:
        assert m.severity in ("error", "warning") and m.code.startswith("FILE_"), m
        assert path.name in m.text and "\n" not in m.text, m
    if not res.ok:
        (err,) = [m for m in res.messages if m.severity == "error"]
        assert err.code != "FILE_UNREADABLE", f"a reader failed unexpectedly: {err.text}"
        assert any(ch in err.text for ch in "ệạảấớỏ"), err.text  # Vietnamese, with diacritics
        assert res.records.height == 0 and res.quarantine.height == 0 and res.n_records == 0
        assert res.n_input_rows >= 0 and res.n_rejected_rows == res.n_input_rows
        return err.code
    assert res.records.height + res.quarantine.height == res.n_input_rows
    assert res.n_records == res.records.height and res.n_quarantined == res.quarantine.height
    rows = pl.concat([res.records.select("source_row"), res.quarantine.select("source_row")])["source_row"]
    assert rows.sort().to_list() == list(range(1, res.n_input_rows + 1))
    return "ok"
