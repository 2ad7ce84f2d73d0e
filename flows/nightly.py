"""The nightly reconciliation flow: every step of :func:`doisoat.pipeline.reconcile` as a Prefect task.

``python -m flows.nightly`` runs it on the bundled sample with the embedded defaults (a DuckDB file under
``data/``, Prefect without a separate server) and prints where the reports are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

import flows  # noqa: F401  (sets the embedded-Prefect environment before prefect is imported)
from doisoat import pipeline, settings
from doisoat.report.taskforce import MATCHING_NOTE_TITLE, matching_note
from doisoat.textfmt import fmt_int, fmt_pct

# I/O steps may meet a locked or half-written file: retry them with backoff; pure steps run once.
RETRIES = {"reference": 2, "ingest": 2, "report": 1}


def prefect_step(name: str, fn, *args, **kwargs):
    """Run one pipeline step as a Prefect task (retries for I/O, no result persistence: frames stay in memory)."""
    t = task(fn, name=name, retries=RETRIES.get(name, 0), retry_delay_seconds=[2, 10], persist_result=False)
    return t(*args, **kwargs)


@flow(name="doisoat-nightly", log_prints=False)
def nightly(
    reference: str,
    extracts: list[str],
    out: str | None = None,
    db: str | None = None,
    lang: str = "vi",
) -> dict:
    """Reconcile sector extracts (``SECTOR=FILE``) against the reference population; publish if checks pass."""
    config = pipeline.RunConfig(
        reference=Path(reference),
        extracts=[pipeline.ExtractInput.parse(e) for e in extracts],
        out_dir=Path(out) if out else None,
        db_path=Path(db) if db else settings.default_db(),
        lang=lang,
    )
    summary = pipeline.reconcile(config, step=prefect_step)
    _artifacts(summary)
    return {
        "run_id": summary.run_id,
        "out_dir": str(summary.out_dir),
        "published": summary.published,
        "status_counts": summary.status_counts(),
        "match_thresholds": summary.match_thresholds,
    }


def _artifacts(summary: pipeline.RunSummary) -> None:
    """What people look at in the Prefect UI: counts per sector and status, and the gate's verdict (no personal data)."""
    rows = []
    for sector in summary.counts["sector"].unique(maintain_order=True).to_list():
        part = summary.counts.filter(summary.counts["sector"] == sector)
        total = int(part["n"].sum())
        matched = int(part.filter(part["status"] == "matched")["n"].sum())
        rows.append(
            {
                "lĩnh vực": sector,
                "tổng số": fmt_int(total),
                "khớp": fmt_int(matched),
                "tỷ lệ khớp": fmt_pct(matched, total),
            }
        )
    create_table_artifact(key="doisoat-counts", table=rows, description="Kết quả đối soát theo lĩnh vực")
    verdict = "Đã công bố" if summary.published else "KHÔNG công bố (kiểm tra chất lượng không đạt)"
    note = matching_note(summary.match_thresholds)
    reliability = f"\n\n{MATCHING_NOTE_TITLE['vi']}: {note}" if note else ""
    create_markdown_artifact(
        key="doisoat-gate",
        markdown=f"## {verdict}\n\n{summary.gate_summary}{reliability}\n\nThư mục: `{summary.out_dir}`",
    )


def demo_arguments() -> dict:
    """Arguments for the bundled sample (sample_data/demo/manifest.json names the files per sector)."""
    manifest = json.loads((settings.SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))
    ref = settings.SAMPLE_DIR / manifest["reference"]
    extracts = [f"{sector}={settings.SAMPLE_DIR / name}" for sector, name in manifest["extracts"].items()]
    return {"reference": str(ref), "extracts": extracts}


def main() -> int:
    from doisoat.cli import print_summary

    try:
        result = nightly(**demo_arguments())
    except pipeline.UserError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    print_summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
