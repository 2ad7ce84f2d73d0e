"""Ingest one extract: read, recognise headers, validate, quarantine unusable rows, attach lineage.

Nothing is lost: every data row of the file ends up either in ``records`` or (once) in ``quarantine``.
A file that cannot be used at all gives an :class:`IngestResult` with ``errors`` and empty frames, and the
rest of a batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from doisoat.ingest.headers import map_headers, normalize_header, signature_hits
from doisoat.ingest.readers import EXTRA, IngestError, RawTable, read_table
from doisoat.textfmt import fmt_int
from schemas.loader import LINEAGE_COLUMNS, SectorSpec, SectorSpecError, available_sectors, load_sector
from schemas.models import CELLS, CHECK_PRIORITY, CHECK_REASONS, canonical_model, failure_cases, sector_model

log = logging.getLogger(__name__)

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

#: Vietnamese names of the fields, for messages and the mapping shown to people.
FIELD_LABELS_VI: dict[str, str] = {
    "full_name": "Họ và tên",
    "birth_date": "Ngày sinh",
    "sex": "Giới tính",
    "national_id": "Số định danh/CCCD",
    "old_id": "Số CMND cũ",
    "insurance_id": "Mã số BHXH/thẻ BHYT",
    "phone": "Số điện thoại",
    "commune_code": "Mã xã",
    "commune_name": "Tên xã/nơi cư trú",
    "event_type": "Loại sự kiện",
    "event_date": "Ngày sự kiện",
    "last_activity_date": "Ngày hoạt động gần nhất",
    "death_date": "Ngày mất",
    "vital_status": "Tình trạng sống/chết",
}


@dataclass
class IngestResult:
    """What ingest made of one file (see docs/architecture.md, "Canonical record")."""

    sector: str
    source_file: str
    path: Path
    records: pl.DataFrame
    quarantine: pl.DataFrame
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped_headers: list[str] = field(default_factory=list)
    sha256: str = ""
    n_input_rows: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_sheet: str | None = None
    file_format: str | None = None
    header_row: int | None = None
    duplicate_of_previous: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def n_quarantined(self) -> int:
        return self.quarantine.height


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
    )
    return pl.DataFrame(schema=schema)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def _failed(path: Path, spec: SectorSpec, sha: str, message: str, **kw) -> IngestResult:
    log.warning("ingest failed: sector=%s file=%s", spec.name, path.name)
    return IngestResult(
        spec.name,
        path.name,
        path,
        empty_records(spec),
        empty_quarantine(),
        sha256=sha,
        errors=[message],
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


def ingest_file(path: Path, sector: SectorSpec, sheet: str | None = None) -> IngestResult:
    """Read one extract of ``sector`` into canonical records, a quarantine and lineage (never raises on data)."""
    path = Path(path)
    if not path.is_file():
        return _failed(path, sector, "", f"Không tìm thấy tệp {path.name}.")
    sha = file_sha256(path)
    try:
        table = read_table(path, sheet if sheet is not None else sector.sheet)
    except IngestError as exc:
        return _failed(path, sector, sha, str(exc))
    except Exception as exc:  # an unexpected reader failure must not stop the batch
        log.exception("reader failed: file=%s", path.name)
        return _failed(path, sector, sha, f"Không đọc được tệp {path.name} ({exc.__class__.__name__}).")
    return _ingest_table(path, sector, sha, table)


def _ingest_table(path: Path, spec: SectorSpec, sha: str, table: RawTable) -> IngestResult:
    name = path.name
    meta = {"source_sheet": table.sheet, "file_format": table.file_format, "header_row": table.header_row}
    warnings = list(table.warnings)
    hm = map_headers(table.headers, spec, table.header_alts)
    warnings += hm.notes
    seen = _shown_headers(table.headers)

    other, other_hits, own_hits = _sector_fit(table.headers, spec)
    if other and other_hits >= 2 and own_hits == 0:
        label = load_sector(other).label_vi
        return _failed(
            path,
            spec,
            sha,
            f"Tệp {name} có vẻ là dữ liệu {label} ('{other}'), không phải "
            f"{spec.label_vi} ('{spec.name}'): hãy kiểm tra lĩnh vực đã chọn (các cột: {seen}).",
            mapping=hm.mapping,
            unmapped_headers=hm.unmapped,
            **meta,
        )
    person_fields = {"full_name", "birth_date", "national_id", "old_id", "insurance_id"}
    if not person_fields & set(hm.mapping):
        return _failed(
            path,
            spec,
            sha,
            f"Tệp {name} không phải danh sách dữ liệu {spec.label_vi}: không nhận ra "
            f"cột họ tên, ngày sinh hay số giấy tờ nào (các cột: {seen}).",
            mapping=hm.mapping,
            unmapped_headers=hm.unmapped,
            **meta,
        )
    missing = [f for f in spec.required_columns if f not in hm.mapping]
    if missing:
        what = ", ".join(FIELD_LABELS_VI.get(f, f) for f in missing)
        return _failed(
            path,
            spec,
            sha,
            f"Tệp {name} thiếu cột bắt buộc của lĩnh vực {spec.label_vi}: {what} "
            f"(các cột có trong tệp: {seen}). Hãy đổi tên cột hoặc khai báo column_map "
            f"trong schemas/sectors/{spec.name}.yaml.",
            mapping=hm.mapping,
            unmapped_headers=hm.unmapped,
            **meta,
        )
    if other and other_hits > own_hits + 1:
        warnings.append(
            f"Tệp {name} có nhiều cột giống dữ liệu {load_sector(other).label_vi} hơn "
            f"{spec.label_vi}: hãy kiểm tra lĩnh vực đã chọn."
        )
    absent = [f for f in spec.required if f not in hm.mapping]
    if absent:
        warnings.append(
            f"Tệp {name} không có cột {', '.join(FIELD_LABELS_VI.get(f, f) for f in absent)}: "
            f"mọi bản ghi sẽ bị tính là thiếu trường này."
        )

    records, quarantine, n_rows = _split_rows(table, spec, hm.mapping, hm.positions, name, sha, warnings)
    ordered = dict(sorted(hm.mapping.items(), key=lambda kv: hm.positions[kv[0]]))
    return IngestResult(
        spec.name,
        name,
        path,
        records,
        quarantine,
        ordered,
        list(hm.unmapped),
        sha,
        n_rows,
        [],
        warnings,
        **meta,
    )


def _split_rows(
    table: RawTable,
    spec: SectorSpec,
    mapping: dict[str, str],
    positions: dict[str, int],
    name: str,
    sha: str,
    warnings: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Canonical frame, pandera failure cases → one quarantine row per unusable row, the rest as records."""
    raw_cols = [c for c in table.frame.columns if c != EXTRA]
    frame = table.frame.with_columns(pl.all().cast(pl.String)).with_columns(
        _blank_to_null([*raw_cols, EXTRA])
    )
    frame = frame.with_columns(
        pl.sum_horizontal(
            [pl.col(c).is_not_null().cast(pl.Int64) for c in raw_cols] or [pl.lit(0, pl.Int64)]
        ).alias(CELLS)
    )
    # Trailing blank rows (formatting left in a sheet, blank lines at the end) are not data rows.
    filled = frame.select((pl.col(CELLS) > 0) | pl.col(EXTRA).is_not_null()).to_series()
    last = filled.arg_true().max() if filled.any() else -1
    frame = frame.slice(0, int(last) + 1) if last is not None else frame.clear()
    n_rows = frame.height

    reserved = set(LINEAGE_COLUMNS) | set(spec.fields) | {"rid", CELLS, EXTRA}
    canon = [
        (pl.col(f"c{positions[f]}") if f in positions else pl.lit(None, pl.String)).alias(f)
        for f in spec.fields
    ]
    mapped_pos = set(positions.values())
    others = []
    for i, header in enumerate(table.headers):
        if i not in mapped_pos:
            alias = header if header not in reserved else f"{header} (gốc)"
            others.append(pl.col(f"c{i}").alias(alias))
    work = frame.select([*canon, *others, pl.col(CELLS), pl.col(EXTRA)]).with_row_index("__idx")

    fails = failure_cases(sector_model(spec), work.drop("__idx"))
    if spec.record_id_column and spec.record_id_column in positions:
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
        pl.lit(table.sheet, pl.String).alias("source_sheet"),
        (pl.col("__idx") + 1).cast(pl.Int64).alias("source_row"),
        pl.lit(sha).alias("file_sha256"),
    ]

    if fails.height:
        first = (
            fails.with_columns(pl.col("check").replace_strict(CHECK_PRIORITY, default=99).alias("prio"))
            .sort("index", "prio")
            .unique("index", keep="first", maintain_order=True)
        )
        header_of = {f: mapping.get(f, f) for f in spec.fields}
        q = work.join(
            first.select(pl.col("index").cast(pl.UInt32).alias("__idx"), "column", "check"), on="__idx"
        )
        field_col = pl.col("column")
        value = pl.lit(None, pl.String)
        for f in spec.fields:
            value = pl.when(field_col == f).then(pl.col(f)).otherwise(value)
        value = pl.when(pl.col("check") == "no_extra_cells").then(pl.col(EXTRA)).otherwise(value)
        quarantine = q.select(
            pl.lit(spec.name).alias("sector"),
            pl.lit(name).alias("source_file"),
            pl.lit(table.sheet, pl.String).alias("source_sheet"),
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
        work = work.join(first.select(pl.col("index").cast(pl.UInt32).alias("__idx")), on="__idx", how="anti")
        counts = quarantine.group_by("reason").len().sort("reason")
        log.info("quarantine file=%s %s", name, dict(counts.iter_rows()))
    else:
        quarantine = empty_quarantine()

    records = work.select(
        [*lineage, *[pl.col(f) for f in spec.fields], *[e.meta.output_name() for e in others]]
    )
    canonical_model(spec).validate(records.head(1000), lazy=True)
    _value_warnings(records, spec, name, warnings)
    return records, quarantine, n_rows


def _value_warnings(records: pl.DataFrame, spec: SectorSpec, name: str, warnings: list[str]) -> None:
    """File-level notes on values: undecodable characters, event types outside the sector's list."""
    bad = records.select(
        pl.sum_horizontal(
            pl.col(f).str.contains("\ufffd").fill_null(False).cast(pl.Int64) for f in spec.fields
        ).sum()
    ).item()
    if bad:
        warnings.append(f"Tệp {name}: {fmt_int(bad)} ô có ký tự không giải mã được (lỗi bảng mã).")
    if spec.event_types and records.height:
        allowed = {normalize_header(v) for v in spec.event_types}
        distinct = records.get_column("event_type").drop_nulls().unique().to_list()
        unknown = {v for v in distinct if normalize_header(v) not in allowed}
        if unknown:
            n = records.filter(pl.col("event_type").is_in(list(unknown))).height
            warnings.append(
                f"Tệp {name}: {fmt_int(n)} bản ghi có loại sự kiện ngoài danh mục của lĩnh vực "
                f"{spec.label_vi}."
            )


def ingest_files(items: list[tuple], seen_hashes: dict[str, str] | None = None) -> list[IngestResult]:
    """Ingest ``(sector_name, path)`` or ``(sector_name, path, sheet)`` items; one bad file never stops the rest.

    ``seen_hashes`` maps the SHA-256 of files ingested before to where they were seen (a run ID); a file seen
    before, or twice in this batch, gets ``duplicate_of_previous`` and a warning.
    """
    seen = dict(seen_hashes or {})
    results = []
    for item in items:
        sector_name, path = item[0], Path(item[1])
        sheet = item[2] if len(item) > 2 else None
        try:
            spec = load_sector(sector_name)
        except SectorSpecError as exc:
            placeholder = SectorSpec(name=sector_name, label_vi=sector_name)
            results.append(_failed(path, placeholder, "", f"Tệp {path.name}: {exc}"))
            continue
        res = ingest_file(path, spec, sheet)
        if res.sha256 and res.sha256 in seen:
            res.duplicate_of_previous = seen[res.sha256]
            res.warnings.append(f"Tệp {path.name} giống hệt tệp đã nạp trước đó ({seen[res.sha256]}).")
        elif res.sha256:
            seen[res.sha256] = path.name
        results.append(res)
    return results


def format_mapping(result: IngestResult, lang: str = "vi") -> str:
    """The chosen header mapping as short lines people can check ("Họ và tên ← 'HỌ TÊN'")."""
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
        label = FIELD_LABELS_VI.get(f, f) if vi else f
        lines.append(f"  {label} ← '{header}'")
    if result.unmapped_headers:
        title = "  Cột giữ nguyên tên: " if vi else "  Kept as they are: "
        lines.append(title + ", ".join(f"'{h}'" for h in result.unmapped_headers))
    return "\n".join(lines)
