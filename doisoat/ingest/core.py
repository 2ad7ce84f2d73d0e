"""Ingest one extract: read, recognise headers, validate, quarantine unusable rows, attach lineage.

Nothing is lost: every data row of the file ends up either in ``records`` or (once) in ``quarantine``.
A file that cannot be used at all gives an :class:`IngestResult` with ``errors`` and empty frames, and the
rest of a batch goes on. Files are processed batch by batch (``BATCH_ROWS`` rows), so memory does not grow
with the file when the batches go to a ``sink`` folder as Parquet parts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import struct
import tempfile
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from doisoat.ingest.headers import map_headers, normalize_header, signature_hits
from doisoat.ingest.messages import ERROR, WARNING, FileMessage, error, warning
from doisoat.ingest.readers import (
    BATCH_ROWS,
    EXTRA,
    ISSUES,
    UNPARSEABLE,
    IngestError,
    RawTable,
    empty_batch,
    read_table,
)
from doisoat.textfmt import fmt_int
from doisoat.vocabulary import field_label
from schemas.loader import LINEAGE_COLUMNS, SectorSpec, SectorSpecError, available_sectors, load_sector
from schemas.models import CELLS, CHECK_PRIORITY, CHECK_REASONS, canonical_model, failure_cases, sector_model

log = logging.getLogger(__name__)

NUL_STRIPPED = "NUL_STRIPPED"  # reason code on a row whose cells held NUL bytes (removed)
ISSUES_COLUMN = "ingest_issues"  # records: what ingest did to the row (codes joined by ","), else null

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "sector": pl.String(),
    "source_file": pl.String(),
    "source_sheet": pl.String(),
    "source_row": pl.Int64(),
    "record_id": pl.String(),
    "column": pl.String(),
    "raw_value": pl.String(),
    "reason": pl.String(),
}

#: how ``IngestResult.n_input_rows`` was found (see the class)
ROWS_READ, ROWS_COUNTED, ROWS_ESTIMATED, ROWS_UNKNOWN = "read", "counted", "estimated", "unknown"


@dataclass
class IngestResult:
    """What ingest made of one file (see docs/architecture.md, "Canonical record").

    Ingested with a ``sink`` folder, the rows are in the Parquet files ``record_parts`` and
    ``quarantine_parts`` (in file order) and ``records``/``quarantine`` are empty frames.

    ``messages`` are the file-level messages (:class:`~doisoat.ingest.messages.FileMessage`, severity
    ``error`` or ``warning``); ``errors`` and ``warnings`` are their texts. A file with an error is not used:
    no record and no quarantine row, and ``n_input_rows`` is still its number of data rows as far as it can be
    told (``n_rows_basis``): ``read`` — the file was used, every data row is in ``records`` or ``quarantine``;
    ``counted`` — rejected after its header was read, its rows counted by the same reader with the same rules
    (trailing blank rows are not rows), or a Parquet file none of whose row groups decodes, from its footer;
    ``estimated`` — rejected while reading (damage further in) or for a
    damaged workbook, the rows read before the damage, or for a workbook that cannot be opened, the rows with
    a value in what remains of its sheet, less the header; ``unknown`` — nothing could be counted (missing,
    unreadable, binary, no footer): 0. So ``n_records + n_quarantined + n_rejected_rows == n_input_rows``.
    """

    sector: str
    source_file: str
    path: Path
    records: pl.DataFrame
    quarantine: pl.DataFrame
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped_headers: list[str] = field(default_factory=list)
    #: every column of the file as the records name it → the file's header, in the file's column order
    #: (:func:`record_columns`): what enriched extracts give back to the sector
    columns: dict[str, str] = field(default_factory=dict)
    sha256: str = ""
    n_input_rows: int = 0
    messages: list[FileMessage] = field(default_factory=list)
    source_sheet: str | None = None
    file_format: str | None = None
    header_row: int | None = None
    duplicate_of_previous: str | None = None
    record_parts: list[Path] = field(default_factory=list)
    quarantine_parts: list[Path] = field(default_factory=list)
    n_records: int = 0
    n_quarantined: int = 0
    n_rows_basis: str = ROWS_READ

    @property
    def ok(self) -> bool:
        return not any(m.severity == ERROR for m in self.messages)

    @property
    def errors(self) -> list[str]:
        """Texts of the error messages (read-only view: add with ``messages``)."""
        return [m.text for m in self.messages if m.severity == ERROR]

    @property
    def warnings(self) -> list[str]:
        """Texts of the warning messages (read-only view: add with ``messages``)."""
        return [m.text for m in self.messages if m.severity == WARNING]

    @property
    def n_rejected_rows(self) -> int:
        """Data rows of a rejected file (in neither frame); 0 for a file that was used."""
        return 0 if self.ok else self.n_input_rows


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def empty_records(spec: SectorSpec) -> pl.DataFrame:
    schema = (
        {c: pl.String for c in LINEAGE_COLUMNS}
        | {"source_row": pl.Int64}
        | dict.fromkeys(spec.fields, pl.String)
        | {ISSUES_COLUMN: pl.String}
    )
    return pl.DataFrame(schema=schema)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _failed(
    path: Path,
    spec: SectorSpec,
    sha: str,
    message: FileMessage,
    n_rows: int = 0,
    basis: str = ROWS_UNKNOWN,
    notes: list[FileMessage] | None = None,
    **kw,
) -> IngestResult:
    """A rejected file: its error (and the warnings found before it), no rows, its rows as counted."""
    log.warning("ingest failed: sector=%s file=%s code=%s", spec.name, path.name, message.code)
    return IngestResult(
        spec.name,
        path.name,
        path,
        empty_records(spec),
        empty_quarantine(),
        sha256=sha,
        n_input_rows=n_rows,
        messages=[*(notes or []), message],
        n_rows_basis=basis,
        **kw,
    )


def _shown_headers(headers: list[str]) -> str:
    """Headers for a message; cells that look like data (4+ digits) are hidden, never printed."""
    shown = [h if sum(ch.isdigit() for ch in h) < 4 else "«…»" for h in headers[:25]]
    return ", ".join(f"'{h}'" for h in shown) + (" …" if len(headers) > 25 else "")


def _sector_fit(headers: list[str], spec: SectorSpec) -> tuple[str | None, int, int]:
    """(best other sector, its signature hits, this sector's hits): to tell a file given for the wrong sector."""
    own = signature_hits(headers, spec)
    best, best_hits = None, 0
    for name in available_sectors():
        if name == spec.name:
            continue
        try:
            other = load_sector(name)
        except SectorSpecError:
            continue
        hits = signature_hits(headers, other)
        if hits > best_hits:
            best, best_hits = name, hits
    return best, best_hits, own


def _blank_to_null(names: list[str]) -> list[pl.Expr]:
    return [
        pl.when(pl.col(c).str.strip_chars().str.len_chars() > 0).then(pl.col(c)).otherwise(None).alias(c)
        for c in names
    ]


def ingest_file(
    path: Path,
    sector: SectorSpec,
    sheet: str | None = None,
    sink: Path | None = None,
    batch_rows: int = BATCH_ROWS,
    name: str | None = None,
) -> IngestResult:
    """Read one extract of ``sector`` into canonical records, a quarantine and lineage (never raises on data).

    ``sink``: a folder where the records and quarantine are written as Parquet parts, batch by batch, instead
    of being kept in memory. ``batch_rows``: rows read and validated at a time. ``name``: the file's name in
    lineage (``source_file``) when its bare name is not unique in the run (two communes' ``tiem_chung.csv``).
    """
    res = _ingest_file(Path(path), sector, sheet, sink, batch_rows, name or Path(path).name)
    if name:
        res.source_file = name
    return res


def _ingest_file(
    path: Path, sector: SectorSpec, sheet: str | None, sink: Path | None, batch_rows: int, name: str
) -> IngestResult:
    problem = _not_a_readable_file(path)
    if problem is not None:
        return _failed(path, sector, "", problem)
    try:
        sha = file_sha256(path)
    except OSError as exc:
        return _failed(path, sector, "", _os_error(path, exc))
    try:
        table = read_table(path, sheet if sheet is not None else sector.sheet, batch_rows)
    except IngestError as exc:
        n_rows, basis = salvage_row_count(path, exc.code)
        return _failed(path, sector, sha, error(exc.code, str(exc), path.name), n_rows, basis)
    except Exception as exc:  # an unexpected reader failure must not stop the batch
        return _unreadable(path, sector, sha, exc)
    with table:
        return _ingest_table(path, sector, sha, table, sink, batch_rows, name)


def _not_a_readable_file(path: Path) -> FileMessage | None:
    """Missing, a directory, a device or pipe, or not readable: one file's error, said plainly."""
    name = path.name or str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return error(
            "FILE_NOT_FOUND",
            f"Không tìm thấy tệp {name}: hãy kiểm tra đường dẫn và tên tệp (cả phần đuôi .csv/.xlsx).",
            name,
        )
    except OSError as exc:
        return _os_error(path, exc)
    if stat.S_ISDIR(st.st_mode):
        return error(
            "FILE_IS_DIRECTORY",
            f"{name} là một thư mục, không phải tệp dữ liệu: hãy chỉ ra từng tệp trong thư mục đó.",
            name,
        )
    if not stat.S_ISREG(st.st_mode):
        return error(
            "FILE_NOT_REGULAR",
            f"{name} không phải tệp thông thường (thiết bị, ống dẫn…): hãy chép dữ liệu ra một tệp rồi nạp tệp đó.",
            name,
        )
    if not os.access(path, os.R_OK):
        return _os_error(path, PermissionError(13, "Permission denied"))
    return None


def _os_error(path: Path, exc: OSError) -> FileMessage:
    name = path.name or str(path)
    if isinstance(exc, PermissionError):
        return error(
            "FILE_NOT_READABLE",
            f"Không có quyền đọc tệp {name}: hãy cấp quyền đọc cho tài khoản chạy doisoat "
            "(hoặc chép tệp sang thư mục của tài khoản đó) rồi chạy lại.",
            name,
        )
    return error(
        "FILE_UNREADABLE",
        f"Không đọc được tệp {name} (lỗi hệ thống tệp: {exc.__class__.__name__}): hãy kiểm tra ổ đĩa/thư mục "
        "chia sẻ rồi chạy lại.",
        name,
    )


def _unreadable(
    path: Path, spec: SectorSpec, sha: str, exc: Exception, n_rows: int = 0, **kw
) -> IngestResult:
    # the exception's class and where it was raised, never its message (it may quote cell values)
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f"{Path(where.filename).name}:{where.lineno}" if where else "?"
    log.error("reader failed: file=%s error=%s at %s", path.name, exc.__class__.__name__, at)
    message = error(
        "FILE_UNREADABLE",
        f"Không đọc được tệp {path.name} ({exc.__class__.__name__}): hãy mở tệp kiểm tra, lưu lại dạng CSV "
        "UTF-8 hoặc XLSX rồi gửi lại; nếu vẫn lỗi, báo cho nhóm kỹ thuật.",
        path.name,
    )
    return _failed(path, spec, sha, message, n_rows, ROWS_ESTIMATED if n_rows else ROWS_UNKNOWN, **kw)


def _reserved_names(spec: SectorSpec) -> set[str]:
    """Column names doisoat gives itself: a file's column under one of these headers is renamed."""
    return set(LINEAGE_COLUMNS) | set(spec.fields) | {"rid", CELLS, EXTRA, ISSUES, ISSUES_COLUMN}


def _kept_name(header: str, reserved: set[str]) -> str:
    """The records' name for a column kept as it came: its header, or "<header> (gốc)" for a reserved name."""
    return header if header not in reserved else f"{header} (gốc)"


def record_columns(headers: list[str], positions: dict[str, int], spec: SectorSpec) -> dict[str, str]:
    """Each column of the file as the records name it → its header, in the file's column order.

    A column recognised as a field is named for the field (``positions``: field → column); every other keeps its
    header (:func:`_kept_name`).
    """
    field_at = {pos: f for f, pos in positions.items()}
    reserved = _reserved_names(spec)
    return {field_at.get(i) or _kept_name(h, reserved): h for i, h in enumerate(headers)}


def _ingest_table(
    path: Path, spec: SectorSpec, sha: str, table: RawTable, sink: Path | None, batch_rows: int, name: str
) -> IngestResult:
    meta = {"source_sheet": table.sheet, "file_format": table.file_format, "header_row": table.header_row}
    notes = list(table.warnings)
    hm = map_headers(table.headers, spec, table.header_alts)
    notes += [warning("FILE_HEADER_NOTE", n if name in n else f"Tệp {name}: {n}", name) for n in hm.notes]
    seen = _shown_headers(table.headers)
    columns = record_columns(table.headers, hm.positions, spec)
    mapped = {"mapping": hm.mapping, "unmapped_headers": hm.unmapped, "columns": columns, **meta}

    def rejected(code: str, text: str, **kw) -> IngestResult:
        n_rows, basis = _count_rows(table, batch_rows)
        return _failed(path, spec, sha, error(code, text, name, **kw), n_rows, basis, notes, **mapped)

    other, other_hits, own_hits = _sector_fit(table.headers, spec)
    if other and other_hits >= 2 and own_hits == 0:
        label = load_sector(other).label_vi
        return rejected(
            "FILE_WRONG_SECTOR",
            f"Tệp {name} có vẻ là dữ liệu {label} ('{other}'), không phải "
            f"{spec.label_vi} ('{spec.name}'): hãy kiểm tra lĩnh vực đã chọn (các cột: {seen}).",
        )
    person_fields = {"full_name", "birth_date", "national_id", "old_id", "insurance_id"}
    if not person_fields & set(hm.mapping):
        return rejected(
            "FILE_NOT_EXTRACT",
            f"Tệp {name} không phải danh sách dữ liệu {spec.label_vi}: không nhận ra "
            f"cột họ tên, ngày sinh hay số giấy tờ nào ở dòng tiêu đề (dòng {table.header_row}; các cột: {seen}). "
            "Hãy kiểm tra đã gửi đúng tệp và dòng tiêu đề có tên cột.",
        )
    missing = [f for f in spec.required_columns if f not in hm.mapping]
    if missing:
        what = ", ".join(field_label(f) for f in missing)
        return rejected(
            "FILE_COLUMN_MISSING",
            f"Tệp {name} thiếu cột bắt buộc của lĩnh vực {spec.label_vi}: {what} "
            f"(các cột có trong tệp: {seen}). Hãy đổi tên cột hoặc khai báo column_map "
            f"trong schemas/sectors/{spec.name}.yaml.",
            column=", ".join(field_label(f, capital=True) for f in missing),
        )
    if other and other_hits > own_hits + 1:
        notes.append(
            warning(
                "FILE_SECTOR_DOUBT",
                f"Tệp {name} có nhiều cột giống dữ liệu {load_sector(other).label_vi} hơn "
                f"{spec.label_vi}: hãy kiểm tra lĩnh vực đã chọn.",
                name,
            )
        )
    absent = [f for f in spec.required if f not in hm.mapping]
    if absent:
        what = ", ".join(field_label(f) for f in absent)
        notes.append(
            warning(
                "FILE_FIELD_ABSENT",
                f"Tệp {name} không có cột {what}: mọi bản ghi sẽ bị tính là thiếu trường này.",
                name,
                column=what,
            )
        )

    out = _Output(sink)
    splitter = _Splitter(table, spec, hm.mapping, hm.positions, name, sha)
    try:
        n_rows = _split_batches(table, splitter, out, batch_rows)
    except IngestError as exc:  # damage found further in the file
        out.discard()
        msg = error(exc.code, str(exc), name)
        return _failed(path, spec, sha, msg, splitter.n_rows, ROWS_ESTIMATED, notes, **mapped)
    except Exception as exc:
        out.discard()
        return _unreadable(path, spec, sha, exc, splitter.n_rows, notes=notes, **mapped)
    if table.file_format == "parquet" and 0 < n_rows == splitter.n_unparsed:  # no row group could be read
        out.discard()
        message = error(
            "FILE_DAMAGED",
            f"Tệp {name} là Parquet bị hỏng: không đọc được dòng nào trong {fmt_int(n_rows)} dòng của tệp. "
            "Hãy xuất lại tệp và gửi lại.",
            name,
        )
        return _failed(path, spec, sha, message, n_rows, ROWS_COUNTED, notes, **mapped)
    if n_rows == 0:
        out.discard()
        return _failed(
            path,
            spec,
            sha,
            error(
                "FILE_HEADER_ONLY",
                f"Tệp {name}: tệp chỉ có dòng tiêu đề, không có dòng dữ liệu (tiêu đề ở dòng {table.header_row}). "
                "Hãy kiểm tra đã xuất đủ dữ liệu, hoặc bỏ tệp này khỏi lần chạy.",
                name,
                row=table.header_row,
            ),
            0,
            ROWS_COUNTED,
            notes,
            **mapped,
        )
    splitter.add_warnings(notes)
    if splitter.reasons:
        log.info("quarantine file=%s %s", name, dict(sorted(splitter.reasons.items())))
    records, quarantine = out.frames(splitter)
    ordered = dict(sorted(hm.mapping.items(), key=lambda kv: hm.positions[kv[0]]))
    return IngestResult(
        spec.name,
        name,
        path,
        records,
        quarantine,
        mapping=ordered,
        unmapped_headers=list(hm.unmapped),
        columns=columns,
        sha256=sha,
        n_input_rows=n_rows,
        messages=notes,
        record_parts=out.record_parts,
        quarantine_parts=out.quarantine_parts,
        n_records=out.n_records,
        n_quarantined=out.n_quarantined,
        **meta,
    )


def _count_rows(table: RawTable, batch_rows: int) -> tuple[int, str]:
    """Data rows of a table not ingested (a rejected file), by the rules ingest counts them with."""
    n_rows = held = 0
    try:
        for raw in table.batches:
            frame = _prepare(raw)
            filled = frame.select(_filled_row()).to_series()
            if not filled.any():
                held += frame.height
                continue
            last = int(filled.arg_true().max())
            n_rows += held + last + 1
            held = frame.height - last - 1
    except Exception:
        return n_rows, ROWS_ESTIMATED
    return n_rows, ROWS_COUNTED


def salvage_row_count(path: Path, code: str) -> tuple[int, str]:
    """Rows of a file the readers reject as a whole, as far as they can be told (``n_rows_basis``).

    Only a damaged workbook can be told: the rows holding a value in what is left of its first sheet
    (a truncated zip is inflated as far as it goes), less one header row. Missing, binary, encrypted and
    empty files, and Parquet without its footer, are ``unknown`` (0) — or ``counted`` (0) when empty.
    """
    if code == "FILE_EMPTY":
        return 0, ROWS_COUNTED
    if code != "FILE_DAMAGED":
        return 0, ROWS_UNKNOWN
    try:
        n = _rows_in_damaged_workbook(path)
    except Exception:
        return 0, ROWS_UNKNOWN
    return (max(0, n - 1), ROWS_ESTIMATED) if n else (0, ROWS_UNKNOWN)


def _rows_in_damaged_workbook(path: Path, limit: int = 256 << 20) -> int:
    """``<row>`` elements with a value in the first worksheet's XML, read from its local zip header on."""
    data = path.read_bytes()
    if not data.startswith(b"PK\x03\x04"):
        return 0
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) >= 0:
        method, _, _, _, _, _, n_name, n_extra = struct.unpack_from("<HHHIIIHH", data, pos + 8)
        name = data[pos + 30 : pos + 30 + n_name]
        body = pos + 30 + n_name + n_extra
        if name.startswith(b"xl/worksheets/") and name.endswith(b".xml"):
            raw = data[body:]
            if method == 8:
                raw = zlib.decompressobj(-15).decompress(raw, limit)
            text = raw.decode("utf-8", errors="replace")
            rows = text.split("</row>")[:-1] if "</row>" in text else []
            if not rows:
                rows = re.split(r"<(?:\w+:)?row[\s>]", text)[1:]
            return sum(1 for r in rows if re.search(r"<(?:\w+:)?(?:v|t)[\s>]", r))
        pos += 4
    return 0


def _filled_row() -> pl.Expr:
    """A row that counts: a cell, text beyond the header, or a note of the reader (an unparseable row)."""
    return (pl.col(CELLS) > 0) | pl.col(EXTRA).is_not_null() | pl.col(ISSUES).is_not_null()


def _split_batches(table: RawTable, splitter: _Splitter, out: _Output, batch_rows: int) -> int:
    """Every batch through the splitter; returns the number of data rows.

    Blank rows are held back until a non-blank row follows: trailing blank rows (formatting left in a
    sheet, blank lines at the end) are not data rows, even when they span batches.
    """
    width = len(table.headers)
    n_rows = held = 0
    for raw in table.batches:
        frame = _prepare(raw)
        filled = frame.select(_filled_row()).to_series()
        if not filled.any():
            held += frame.height
            continue
        while held:  # blank rows followed by data are data rows (EMPTY_ROW in the quarantine)
            k = min(held, batch_rows)
            out.add(*splitter.split(_prepare(empty_batch(width, k)), n_rows))
            n_rows += k
            held -= k
        last = int(filled.arg_true().max())
        out.add(*splitter.split(frame.slice(0, last + 1), n_rows))
        n_rows += last + 1
        held = frame.height - last - 1
    if out.empty:  # no data row: empty frames with the columns records have
        out.add(*splitter.split(_prepare(empty_batch(width)), 0))
    return n_rows


def _prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """All text, NUL bytes stripped (noted on the row), blank cells as null, the count of filled cells per row."""
    if ISSUES not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(ISSUES))
    raw_cols = [c for c in frame.columns if c not in (EXTRA, ISSUES)]
    frame = frame.with_columns(pl.all().cast(pl.String))
    text_cols = [*raw_cols, EXTRA]
    has_nul = pl.any_horizontal(
        [pl.col(c).str.contains("\x00", literal=True).fill_null(False) for c in text_cols]
    )
    if frame.select(has_nul.any()).item():
        frame = frame.with_columns(
            pl.when(has_nul)
            .then(pl.concat_str([pl.col(ISSUES), pl.lit(NUL_STRIPPED)], separator=",", ignore_nulls=True))
            .otherwise(pl.col(ISSUES))
            .alias(ISSUES),
            *[pl.col(c).str.replace_all("\x00", "", literal=True) for c in text_cols],
        )
    frame = frame.with_columns(_blank_to_null(text_cols))
    return frame.with_columns(
        pl.sum_horizontal(
            [pl.col(c).is_not_null().cast(pl.Int64) for c in raw_cols] or [pl.lit(0, pl.Int64)]
        ).alias(CELLS)
    )


class _Output:
    """Where the batches go: kept in memory, or written as Parquet parts in a folder of ``sink``."""

    def __init__(self, sink: Path | None):
        self.records: list[pl.DataFrame] = []
        self.quarantine: list[pl.DataFrame] = []
        self.n_records = 0
        self.record_parts: list[Path] = []
        self.quarantine_parts: list[Path] = []
        self.n_quarantined = 0
        self.empty = True
        self.folder = None
        if sink is not None:
            Path(sink).mkdir(parents=True, exist_ok=True, mode=0o700)
            self.folder = Path(tempfile.mkdtemp(prefix="part-", dir=sink))

    def add(self, records: pl.DataFrame, quarantine: pl.DataFrame) -> None:
        self.empty = False
        self.n_records += records.height
        self.n_quarantined += quarantine.height
        if self.folder is None:
            self.records.append(records)
            if quarantine.height:
                self.quarantine.append(quarantine)
            return
        if records.height or not self.record_parts:
            self.record_parts.append(self.folder / f"records-{len(self.record_parts):05d}.parquet")
            records.write_parquet(self.record_parts[-1], compression="lz4", statistics=False)
        if quarantine.height:
            self.quarantine_parts.append(self.folder / f"quarantine-{len(self.quarantine_parts):05d}.parquet")
            quarantine.write_parquet(self.quarantine_parts[-1])

    def frames(self, splitter: _Splitter) -> tuple[pl.DataFrame, pl.DataFrame]:
        if self.folder is not None:
            return splitter.records_schema().clear(), empty_quarantine()
        records = pl.concat(self.records) if len(self.records) > 1 else self.records[0]
        return records, pl.concat(self.quarantine) if self.quarantine else empty_quarantine()

    def discard(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.record_parts, self.quarantine_parts = [], []
        self.records, self.quarantine = [], []


class _Splitter:
    """One batch → canonical records and quarantine rows; pandera failure cases → one quarantine row each.

    Also counts, across batches, the quarantine reasons and what the file-level value warnings need.
    """

    def __init__(
        self,
        table: RawTable,
        spec: SectorSpec,
        mapping: dict[str, str],
        positions: dict[str, int],
        name: str,
        sha: str,
    ):
        self.spec, self.mapping, self.positions, self.name, self.sha = spec, mapping, positions, name, sha
        self.sheet = table.sheet
        reserved = _reserved_names(spec)
        self.canon = [
            (pl.col(f"c{positions[f]}") if f in positions else pl.lit(None, pl.String)).alias(f)
            for f in spec.fields
        ]
        mapped_pos = set(positions.values())
        self.others = [
            pl.col(f"c{i}").alias(_kept_name(header, reserved))
            for i, header in enumerate(table.headers)
            if i not in mapped_pos
        ]
        self.model = sector_model(spec)
        self.reasons: Counter[str] = Counter()
        self.n_bad_chars = 0
        self.n_rows = 0  # data rows split so far
        self.nul_rows: list[int] = []  # first rows (1-based) whose NUL bytes were stripped, for the message
        self.n_nul_rows = 0
        self.unparsed_rows: list[int] = []
        self.n_unparsed = 0
        self.n_unknown_events = 0
        self.allowed_events = {normalize_header(v) for v in spec.event_types}
        self._schema: pl.DataFrame | None = None

    def records_schema(self) -> pl.DataFrame:
        return self._schema if self._schema is not None else empty_records(self.spec)

    def split(self, frame: pl.DataFrame, offset: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Rows ``offset+1 …`` of the file (``frame`` prepared by :func:`_prepare`)."""
        spec, name = self.spec, self.name
        self.n_rows = offset + frame.height
        work = frame.select(
            [*self.canon, *self.others, pl.col(CELLS), pl.col(EXTRA), pl.col(ISSUES)]
        ).with_row_index("__idx", offset)
        unparsed_mask = pl.col(ISSUES).str.contains(UNPARSEABLE, literal=True).fill_null(False)
        unparsed = work.filter(unparsed_mask)
        if unparsed.height:
            work = work.filter(~unparsed_mask)
        fails = failure_cases(self.model, work.drop("__idx", ISSUES))
        if spec.record_id_column and spec.record_id_column in self.positions:
            key = pl.col(spec.record_id_column)
        else:
            key = pl.lit(None, pl.String)
        record_id = pl.coalesce(key, pl.lit(f"{name}#") + (pl.col("__idx") + 1).cast(pl.String)).alias(
            "record_id"
        )
        lineage = [
            pl.lit(spec.name).alias("sector"),
            record_id,
            pl.lit(name).alias("source_file"),
            pl.lit(self.sheet, pl.String).alias("source_sheet"),
            (pl.col("__idx") + 1).cast(pl.Int64).alias("source_row"),
            pl.lit(self.sha).alias("file_sha256"),
        ]

        if fails.height:
            first = (
                fails.with_columns(
                    pl.col("check").replace_strict(CHECK_PRIORITY, default=99).alias("prio"),
                    work["__idx"].gather(fails["index"]).alias("__idx"),
                )
                .sort("index", "prio")
                .unique("index", keep="first", maintain_order=True)
            )
            header_of = {f: self.mapping.get(f, f) for f in spec.fields}
            q = work.join(first.select("__idx", "column", "check"), on="__idx")
            field_col = pl.col("column")
            value = pl.lit(None, pl.String)
            for f in spec.fields:
                value = pl.when(field_col == f).then(pl.col(f)).otherwise(value)
            value = pl.when(pl.col("check") == "no_extra_cells").then(pl.col(EXTRA)).otherwise(value)
            quarantine = q.select(
                pl.lit(spec.name).alias("sector"),
                pl.lit(name).alias("source_file"),
                pl.lit(self.sheet, pl.String).alias("source_sheet"),
                (pl.col("__idx") + 1).cast(pl.Int64).alias("source_row"),
                record_id,
                pl.when(pl.col("check") == "no_extra_cells")
                .then(pl.lit("(ô thừa ngoài tiêu đề)"))
                .when(pl.col("check") == "has_name")
                .then(pl.lit(header_of["full_name"]))
                .when(field_col.is_in(list(header_of)))
                .then(field_col.replace(header_of))
                .otherwise(None)
                .alias("column"),
                value.alias("raw_value"),
                pl.col("check").replace_strict(CHECK_REASONS, default="SCHEMA_CHECK").alias("reason"),
            ).cast(QUARANTINE_SCHEMA)
            work = work.join(first.select("__idx"), on="__idx", how="anti")
        else:
            quarantine = empty_quarantine()
        if unparsed.height:  # rows the reader could not split: their raw text, reason UNPARSEABLE_ROW
            quarantine = pl.concat(
                [
                    quarantine,
                    unparsed.select(
                        pl.lit(spec.name).alias("sector"),
                        pl.lit(name).alias("source_file"),
                        pl.lit(self.sheet, pl.String).alias("source_sheet"),
                        (pl.col("__idx") + 1).cast(pl.Int64).alias("source_row"),
                        record_id,
                        pl.lit(None, pl.String).alias("column"),
                        pl.col(EXTRA).alias("raw_value"),
                        pl.lit(UNPARSEABLE).alias("reason"),
                    ).cast(QUARANTINE_SCHEMA),
                ]
            ).sort("source_row")
            self.n_unparsed += unparsed.height
            self.unparsed_rows += (unparsed["__idx"].head(5).cast(pl.Int64) + 1).to_list()
        if quarantine.height:
            self.reasons.update(dict(quarantine.group_by("reason").len().iter_rows()))

        nul = frame.select(
            pl.col(ISSUES).str.contains(NUL_STRIPPED, literal=True).fill_null(False)
        ).to_series()
        if nul.any():
            self.n_nul_rows += int(nul.sum())
            self.nul_rows += (nul.arg_true().head(5) + offset + 1).cast(pl.Int64).to_list()
        records = work.select(
            [
                *lineage,
                *[pl.col(f) for f in spec.fields],
                pl.col(ISSUES).alias(ISSUES_COLUMN),
                *[e.meta.output_name() for e in self.others],
            ]
        )
        canonical_model(spec).validate(records.head(1000), lazy=True)
        if self._schema is None:
            self._schema = records.clear()
        self._count_values(records)
        return records, quarantine

    def _count_values(self, records: pl.DataFrame) -> None:
        """Undecodable characters and event types outside the sector's list, summed over batches."""
        spec = self.spec
        self.n_bad_chars += records.select(
            pl.sum_horizontal(
                pl.col(f).str.contains("\ufffd").fill_null(False).cast(pl.Int64) for f in spec.fields
            ).sum()
        ).item()
        if spec.event_types and records.height:
            distinct = records.get_column("event_type").drop_nulls().unique().to_list()
            unknown = {v for v in distinct if normalize_header(v) not in self.allowed_events}
            if unknown:
                self.n_unknown_events += records.filter(pl.col("event_type").is_in(list(unknown))).height

    def add_warnings(self, notes: list[FileMessage]) -> None:
        """File-level notes on rows and values: NUL bytes stripped, unparseable rows, undecodable characters,
        event types outside the sector's list."""
        name = self.name

        def rows(first: list[int], n: int) -> str:
            shown = ", ".join(str(r) for r in first[:5])
            return f"dòng {shown}{' …' if n > 5 else ''}"

        if self.n_nul_rows:
            notes.append(
                warning(
                    "FILE_NUL_STRIPPED",
                    f"Tệp {name}: {fmt_int(self.n_nul_rows)} dòng có ký tự NUL (byte 0), đã bỏ ký tự đó và giữ "
                    f"dòng ({rows(self.nul_rows, self.n_nul_rows)}; mã NUL_STRIPPED). Hãy kiểm tra hệ thống "
                    "xuất tệp.",
                    name,
                    row=self.nul_rows[0],
                )
            )
        if self.n_unparsed:
            notes.append(
                warning(
                    "FILE_UNPARSEABLE_ROWS",
                    f"Tệp {name}: {fmt_int(self.n_unparsed)} dòng không đọc được (không tách được thành các ô, hoặc nằm "
                    f"trong phần tệp bị hỏng) "
                    f"({rows(self.unparsed_rows, self.n_unparsed)}); đã đưa vào danh sách cách ly kèm văn bản "
                    "gốc (mã UNPARSEABLE_ROW). Hãy sửa các dòng đó trong tệp gốc rồi gửi lại.",
                    name,
                    row=self.unparsed_rows[0] if self.unparsed_rows else None,
                )
            )
        if self.n_bad_chars:
            notes.append(
                warning(
                    "FILE_BAD_CHARACTERS",
                    f"Tệp {name}: {fmt_int(self.n_bad_chars)} ô có ký tự không giải mã được (lỗi bảng mã).",
                    name,
                )
            )
        if self.n_unknown_events:
            notes.append(
                warning(
                    "FILE_UNKNOWN_EVENTS",
                    f"Tệp {name}: {fmt_int(self.n_unknown_events)} bản ghi có loại sự kiện ngoài danh mục của "
                    f"lĩnh vực {self.spec.label_vi}.",
                    name,
                )
            )


def ingest_files(
    items: list[tuple], seen_hashes: dict[str, str] | None = None, sink: Path | None = None
) -> list[IngestResult]:
    """Ingest ``(sector_name, path[, sheet[, name]])`` items; one bad file never stops the rest.

    ``name``: the file's name in lineage where its bare name is not unique (see :func:`ingest_file`).

    ``seen_hashes`` maps the SHA-256 of files ingested before to where they were seen (a run ID); a file seen
    before, or twice in this batch, gets ``duplicate_of_previous`` and a warning. ``sink``: see
    :func:`ingest_file`.
    """
    seen = dict(seen_hashes or {})
    results = []
    for item in items:
        sector_name, path = item[0], Path(item[1])
        sheet = item[2] if len(item) > 2 else None
        name = item[3] if len(item) > 3 else None
        try:
            spec = load_sector(sector_name)
        except SectorSpecError as exc:
            placeholder = SectorSpec(name=sector_name, label_vi=sector_name)
            message = error("FILE_SECTOR_UNKNOWN", f"Tệp {path.name}: {exc}", path.name)
            results.append(_failed(path, placeholder, "", message))
            continue
        res = ingest_file(path, spec, sheet, sink, name=name)
        if res.sha256 and res.sha256 in seen:
            res.duplicate_of_previous = seen[res.sha256]
            text = f"Tệp {path.name} giống hệt tệp đã nạp trước đó ({seen[res.sha256]})."
            res.messages.append(warning("FILE_SEEN_BEFORE", text, path.name))
        elif res.sha256:
            seen[res.sha256] = path.name
        results.append(res)
    return results


def format_mapping(result: IngestResult, lang: str = "vi") -> str:
    """The chosen header mapping as short lines people can check ("Họ tên ← 'HỌ VÀ TÊN'")."""
    vi = lang == "vi"
    lines = [
        (
            f"Tệp {result.source_file} ({result.sector}): "
            if vi
            else f"File {result.source_file} ({result.sector}): "
        )
        + (
            f"{fmt_int(result.n_input_rows, lang)} dòng dữ liệu"
            if vi
            else f"{fmt_int(result.n_input_rows, lang)} data rows"
        )
    ]
    for f, header in result.mapping.items():
        label = field_label(f, capital=True) if vi else f
        lines.append(f"  {label} ← '{header}'")
    if result.unmapped_headers:
        title = "  Cột giữ nguyên tên: " if vi else "  Kept as they are: "
        lines.append(title + ", ".join(f"'{h}'" for h in result.unmapped_headers))
    return "\n".join(lines)
