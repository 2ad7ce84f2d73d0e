"""Parquet by record batches; a row group that cannot be decoded gives its rows as unparseable rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import polars as pl

from doisoat.ingest.readers.base import (
    _DATETIME_MIDNIGHT,
    BATCH_ROWS,
    EXTRA,
    ISSUES,
    UNPARSEABLE,
    IngestError,
    RawTable,
    _duplicate_notes,
    empty_batch,
    unique_headers,
)


def read_parquet(path: Path, batch_rows: int = BATCH_ROWS) -> RawTable:
    """Parquet columns keep their names; every value becomes text (dates ISO, whole floats without .0)."""
    import pyarrow.parquet as pq

    resources = ExitStack()
    try:
        pf = resources.enter_context(pq.ParquetFile(path))
        schema = pl.from_arrow(pf.schema_arrow.empty_table()).schema
    except Exception as exc:
        resources.close()
        raise IngestError(
            f"Tệp {path.name} là Parquet bị hỏng hoặc bị cắt cụt, không đọc được: hãy xuất lại tệp và gửi lại.",
            "FILE_DAMAGED",
        ) from exc
    exprs = []
    for i, (name, dtype) in enumerate(schema.items()):
        c = pl.col(name)
        if dtype == pl.Date:
            e = c.dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            e = c.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(_DATETIME_MIDNIGHT, "${1}")
        elif dtype.is_float():
            e = (
                pl.when(c == c.round(0))
                .then(c.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(c.cast(pl.String))
            )
        elif dtype == pl.String:
            e = c
        else:
            e = c.cast(pl.String)
        exprs.append(e.alias(f"c{i}"))
    exprs += [pl.lit(None, pl.String).alias(EXTRA), pl.lit(None, pl.String).alias(ISSUES)]
    headers, dups = unique_headers([str(n) for n in schema.names()])
    warnings = _duplicate_notes(path, dups)

    width = len(headers)

    def batches() -> Iterator[pl.DataFrame]:
        """Row group by row group: a damaged group gives its unread rows as unparseable rows (counted from
        the footer), the other groups are read."""
        for group in range(pf.metadata.num_row_groups):
            n_group, done = pf.metadata.row_group(group).num_rows, 0
            try:
                for batch in pf.iter_batches(batch_size=batch_rows, row_groups=[group]):
                    frame = pl.from_arrow(batch)
                    if not isinstance(frame, pl.DataFrame):
                        raise ValueError("not a table")
                    frame = frame.select(exprs)
                    done += frame.height
                    yield frame
            except Exception:
                for k in range(0, n_group - done, batch_rows):
                    lost = empty_batch(width, min(batch_rows, n_group - done - k))
                    yield lost.with_columns(pl.lit(UNPARSEABLE).alias(ISSUES))

    return RawTable(headers, "parquet", batches(), None, 1, warnings=warnings, resources=resources)
