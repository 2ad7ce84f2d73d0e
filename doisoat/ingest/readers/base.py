"""What every reader shares: the batch layout (``c0, c1, …``, ``__extra``, ``__issues``), :class:`RawTable`,
:class:`IngestError`, and finding the header block in a file's first rows."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from doisoat.errors import DoisoatError
from doisoat.ingest.headers import header_row_score
from doisoat.ingest.messages import FileMessage, warning

SAMPLE_BYTES = 1 << 20
HEADER_SCAN_ROWS = 30
BATCH_ROWS = 100_000
EXTRA = "__extra"
ISSUES = (
    "__issues"  # optional batch column: reason codes of what the reader did to the row ("A,B"), else null
)
UNPARSEABLE = "UNPARSEABLE_ROW"  # a row the reader could not split into cells: its raw text is in ``__extra``
_DATETIME_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(\.0+)?$"


class IngestError(DoisoatError):
    """A file cannot be used at all; ``str(exc)`` is the Vietnamese one-line message for people, ``code`` its
    FILE_* reason code (doisoat.reasons)."""

    def __init__(self, message: str, code: str = "FILE_UNREADABLE"):
        super().__init__(message)
        self.code = code


@dataclass
class RawTable:
    """One sheet/file: headers and metadata from its first rows, and an iterator over its data-row batches.

    Use it as a context manager (or call :meth:`close`): open files and temporary copies are released then.
    """

    headers: list[str]
    file_format: str  # csv | xlsx | xls | parquet
    batches: Iterator[pl.DataFrame]
    sheet: str | None = None
    header_row: int | None = None  # 1-based row of the (last) header line in the file
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[FileMessage] = field(default_factory=list)
    header_alts: list[str | None] = field(default_factory=list)  # sub-header alone, for two-row headers
    resources: ExitStack = field(default_factory=ExitStack)

    def close(self) -> None:
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()
        self.resources.close()

    def __enter__(self) -> RawTable:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def frame(self) -> pl.DataFrame:
        """All data rows as one frame (small files and tests; the ingest step reads batch by batch)."""
        return pl.concat([empty_batch(len(self.headers)), *self.batches])


def col_names(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


def empty_batch(width: int, rows: int = 0) -> pl.DataFrame:
    """``rows`` all-null data rows of a ``width``-column table."""
    return pl.DataFrame(schema=dict.fromkeys([*col_names(width), EXTRA, ISSUES], pl.String)).clear(rows)


def find_header_block(grid: list[list[str | None]]) -> tuple[int, int, list[str], list[str | None]]:
    """(first header row, rows in the header block, header names, sub-header alone per column).

    The header row is the row that looks most like headers (title lines such as "UBND TỈNH …" score 0).
    A second header row (sub-columns under a merged cell) is merged into "top sub"; a row of column numbers
    ("1 2 3 …", "(1) (2) …") right below is part of the block too.
    """
    rows = grid[:HEADER_SCAN_ROWS]
    if not rows:
        return 0, 0, [], []
    scores = [header_row_score(r) for r in rows]
    best = max(range(len(rows)), key=lambda i: (scores[i], -i))
    if scores[best] <= 0:
        best = next((i for i, r in enumerate(rows) if sum(1 for c in r if _filled(c)) >= 2), 0)
    if (
        best > 0
        and sum(1 for c in rows[best - 1] if _filled(c)) >= 2
        and scores[best - 1] >= 0
        and _is_subheader([_clean(c) for c in rows[best - 1]], rows[best])
    ):
        best -= 1  # the recognised row is the lower half of a two-row header
    head = [_clean(c) for c in rows[best]]
    alts: list[str | None] = []
    n_rows = 1
    if best + 1 < len(rows) and _is_subheader(head, rows[best + 1]):
        sub = [_clean(c) for c in rows[best + 1]]
        width = max(len(head), len(sub))
        head += [""] * (width - len(head))
        sub += [""] * (width - len(sub))
        top, combined = "", []
        for h, s in zip(head, sub, strict=True):
            top = h or (top if s else "")
            combined.append(f"{top} {s}".strip() if s else h)
        head = combined
        alts = [s or None for s in sub]
        n_rows = 2
    nxt = best + n_rows
    if nxt < len(rows) and _is_numbering_row(rows[nxt]):
        n_rows += 1
    while head and not head[-1]:
        head.pop()
    alts = (alts + [None] * len(head))[: len(head)]
    return best, n_rows, head, alts


def _filled(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


def _clean(cell: object) -> str:
    return re.sub(r"\s+", " ", str(cell).replace("\x00", "")).strip() if _filled(cell) else ""


def _is_subheader(head: list[str], row: list[str | None]) -> bool:
    cells = [_clean(c) for c in row]
    if not any(cells) or any(sum(ch.isdigit() for ch in c) >= 3 for c in cells):
        return False
    under_gap = any(c and (i >= len(head) or not head[i]) and any(head[:i]) for i, c in enumerate(cells))
    return under_gap and sum(1 for c in cells if c) <= max(2, len([h for h in head if h]))


def _is_numbering_row(row: list[str | None]) -> bool:
    cells = [_clean(c) for c in row if _filled(c)]
    return len(cells) >= 3 and all(re.fullmatch(r"\(?(\d{1,2}|[A-Za-z])\)?", c) for c in cells)


def unique_headers(headers: list[str]) -> tuple[list[str], list[str]]:
    """Blank headers become "Cột N"; repeated ones get " (2)", " (3)"…; returns (headers, warnings)."""
    seen: Counter[str] = Counter()
    out, dups = [], []
    for i, h in enumerate(headers):
        name = h or f"Cột {i + 1}"
        seen[name] += 1
        if seen[name] > 1:
            dups.append(name)
            name = f"{name} ({seen[name]})"
        out.append(name)
    warnings = [f"Tên cột bị trùng: '{d}' — đã đổi tên cột lặp thành '{d} (2)'…" for d in dict.fromkeys(dups)]
    return out, warnings


def _duplicate_notes(path: Path, notes: list[str]) -> list[FileMessage]:
    return [warning("FILE_DUPLICATE_HEADERS", f"Tệp {path.name}: {n}", path.name) for n in notes]


def _blocks(fh, size: int, cut_at) -> Iterator[bytes]:
    """A byte stream in pieces of about ``size``, each ending where ``cut_at(buffer)`` says.

    ``cut_at`` returns 0 when the buffer holds no whole unit yet (one row or element longer than ``size``):
    more is read before cutting. The rest after the cut starts the next piece.
    """
    carry = b""
    while True:
        data = fh.read(size)
        buf = carry + data if carry else data
        if not data:
            if buf:
                yield buf
            return
        cut = cut_at(buf)
        if cut == 0:
            carry = buf
            continue
        carry = buf[cut:]
        yield buf[:cut]
