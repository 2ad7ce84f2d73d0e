"""What people read: the task-force report (XLSX, HTML), steward worklists and enriched extracts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from doisoat.report.aggregate import aggregate, change_since, reason_counts
from doisoat.report.enriched import enriched_frame, write_enriched
from doisoat.report.html import render_html, write_html
from doisoat.report.taskforce import Report, build_report, write_xlsx
from doisoat.report.worklists import worklist_frame, write_audit_worklist, write_worklists
from doisoat.textfmt import safe_cell

__all__ = [
    "Report",
    "aggregate",
    "build_report",
    "change_since",
    "enriched_frame",
    "formula_safe",
    "reason_counts",
    "render_html",
    "worklist_frame",
    "write_enriched",
    "write_html",
    "write_reports",
    "write_worklists",
    "write_xlsx",
]


def write_reports(
    run_dir: Path,
    results: pl.DataFrame,
    records_std: pl.DataFrame | pl.LazyFrame,
    reference: pl.DataFrame,
    previous: pl.DataFrame | None,
    sectors: dict[str, str],
    run_info: dict,
    lang: str = "vi",
    suppress_below: int = 5,
    data_docs_href: str | None = None,
    audit_sample: pl.DataFrame | None = None,
    earlier_decisions: pl.DataFrame | None = None,
    aggregates: pl.DataFrame | None = None,
) -> dict[str, Path]:
    """Write ``report/``, ``worklists/`` and ``enriched/`` under ``run_dir``; return name → path.

    ``sectors``: sector name → label. ``run_info["column_maps"]`` ({sector: {record column: the file's
    header}} in file order, ``pipeline.column_maps``) gives enriched extracts the sector's own columns and
    headers. ``audit_sample``: rows of ``results`` drawn for the
    stewards to judge (``worklists/kiem-tra-mau.xlsx``). ``earlier_decisions``: the stewards' latest data-quality
    decision per identity (:func:`doisoat.decisions.quality_decisions`), applied to the worklists. ``aggregates``:
    ``aggregate(results)``, if the caller has it.
    """
    run_dir = Path(run_dir)
    report = build_report(results, previous, sectors, run_info, lang, suppress_below, aggregates=aggregates)
    paths = {
        "report_xlsx": write_xlsx(formula_safe(report), run_dir / "report" / "bao-cao.xlsx"),
        "report_html": write_html(report, run_dir / "report" / "bao-cao.html", data_docs_href),
    }
    paths |= write_worklists(
        run_dir / "worklists", results, records_std, reference, sectors, lang, earlier=earlier_decisions
    )
    if audit_sample is not None:
        paths |= write_audit_worklist(
            run_dir / "worklists", audit_sample, records_std, reference, sectors, lang
        )
    paths |= write_enriched(
        run_dir / "enriched",
        results,
        records_std,
        reference,
        run_info.get("column_maps"),
        lang=lang,
        labels=sectors,
    )
    return paths


def formula_safe(report: Report) -> Report:
    """The report as its XLSX shows it: every text cell formula-safe (units and registers come from input).

    The HTML rendering shows the values as they are; :func:`doisoat.textfmt.safe_cell` is idempotent, so a
    writer that neutralises again changes nothing.
    """
    tables = [replace(t, rows=[[safe_cell(v) for v in row] for row in t.rows]) for t in report.tables]
    return replace(
        report,
        tables=tables,
        sentences=[safe_cell(s) for s in report.sentences],
        notes=[(safe_cell(k), safe_cell(v)) for k, v in report.notes],
    )
