"""The nightly reconciliation flow: every step of :func:`doisoat.pipeline.reconcile` as a Prefect task.

``python -m flows.nightly`` runs it on the bundled sample with the embedded defaults (a DuckDB file under
``data/``, Prefect without a separate server) and prints where the reports are.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Failed

import flows  # noqa: F401  (sets the embedded-Prefect environment before prefect is imported)
from doisoat import pipeline, settings
from doisoat.errors import DoisoatError
from doisoat.report.taskforce import MATCHING_NOTE_TITLE, matching_note
from doisoat.textfmt import fmt_int, fmt_pct

# I/O steps may meet a locked or half-written file: retry them with backoff; pure steps run once.
RETRIES = {"reference": 2, "ingest": 2, "report": 1}


class _Refused:
    """A user error raised inside a task: carried out as a value so Prefect neither retries nor logs a traceback."""

    def __init__(self, error: DoisoatError) -> None:
        self.error = error


def _guarded(fn):
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DoisoatError as exc:
            return _Refused(exc)

    run.__name__ = getattr(fn, "__name__", "step")
    run.__doc__ = fn.__doc__
    return run


def prefect_step(name: str, fn, *args, **kwargs):
    """Run one pipeline step as a Prefect task (retries for I/O, no result persistence: frames stay in memory).

    A user error (DoisoatError) is not retried: it comes back out of the task and is raised in the flow.
    """
    t = task(
        _guarded(fn),
        name=name,
        retries=RETRIES.get(name, 0),
        retry_delay_seconds=[2, 10],
        persist_result=False,
    )
    out = t(*args, **kwargs)
    if isinstance(out, _Refused):
        raise out.error
    return out


RUN_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{6}")


def new_run_name() -> str:
    """A doisoat run id as the flow run's name (Prefect's would be random): the UI and the run folder agree."""
    return pipeline.new_run_id(pipeline.RunConfig(reference=Path("."), extracts=[]))


def current_run_id() -> str | None:
    """The run id this flow run was named with, or None outside a named flow run."""
    from prefect.runtime import flow_run

    name = flow_run.name
    return name if isinstance(name, str) and RUN_ID.fullmatch(name) else None


@flow(name="doisoat-nightly", flow_run_name=new_run_name, log_prints=False)
def nightly(config: pipeline.RunConfig) -> dict:
    """Reconcile the configured sector extracts against the reference population; publish what passes its checks."""
    try:
        config = replace(config, run_id=current_run_id() or config.run_id)
        summary = pipeline.reconcile(config, step=prefect_step)
    except DoisoatError as exc:  # the user's mistake: a failed run with the message, no traceback
        create_markdown_artifact(key="doisoat-gate", markdown=f"## Lỗi dữ liệu đầu vào\n\n{exc}")
        return Failed(message=str(exc))
    _artifacts(summary)
    return result_dict(summary)


def result_dict(summary: pipeline.RunSummary) -> dict:
    """What a run returns to the CLI and to Prefect (no personal data)."""
    return {
        "run_id": summary.run_id,
        "out_dir": str(summary.out_dir),
        "published": summary.published,
        "status_counts": summary.status_counts(),
        "match_thresholds": summary.match_thresholds,
        "file_messages": list(summary.file_messages),
        "sectors": summary.sectors,
        "all_published": summary.gate_passed,
    }


def run_once(config: pipeline.RunConfig) -> dict:
    """Check the inputs and take the run's locks before Prefect starts, then run the flow; user errors raise.

    The one entry point for the CLI and the demo: a mistake costs one line and no Prefect start-up.
    """
    pipeline.check_inputs(config)
    with pipeline.run_locks(config):
        state = nightly(config=config, return_state=True)
    if state.is_failed() and state.message and not isinstance(state.data, BaseException):
        raise DoisoatError(state.message)
    return state.result()


def _artifacts(summary: pipeline.RunSummary) -> None:
    """What people look at in the Prefect UI: per sector (Vietnamese label) whether it is published, the report's
    headline rate (tỷ lệ xác thực = đúng/tổng, quarantined rows counted as not đúng) and the counts per status;
    then the gate's verdict. No personal data.
    """
    import polars as pl

    from doisoat.vocabulary import RESULT_STATUSES, STATUS_LABELS
    from schemas import load_sector

    def label(sector: str) -> str:
        try:
            return load_sector(sector).label_vi
        except Exception:  # a sector whose YAML is gone since the run: its key is better than no line
            return sector

    results = summary.out_dir / "results.parquet"
    headline: dict[str, tuple[int, int]] = {}
    if results.exists():  # the report's own numbers: every row of the sector, đúng where dung is true
        rates = (
            pl.scan_parquet(results)
            .group_by("sector")
            .agg(pl.len().alias("n"), pl.col("dung").fill_null(False).sum().alias("n_dung"))
            .collect()
        )
        headline = {r["sector"]: (int(r["n"]), int(r["n_dung"])) for r in rates.iter_rows(named=True)}
    published = {s["sector"]: s["published"] for s in summary.sectors}
    names = STATUS_LABELS["vi"]
    rows = []
    for sector in summary.counts["sector"].unique(maintain_order=True).to_list():
        part = summary.counts.filter(summary.counts["sector"] == sector)
        by_status = dict(zip(part["status"].to_list(), part["n"].to_list(), strict=True))
        total = int(part["n"].sum())
        is_published = published.get(sector, summary.published)
        n, n_dung = headline.get(sector, (total, None))
        rows.append(
            {
                "Lĩnh vực": label(sector),
                "Tình trạng": "Công bố" if is_published else "Chưa công bố",
                "Tổng số bản ghi": fmt_int(total),
                "Đúng": fmt_int(n_dung) if n_dung is not None else "",
                "Tỷ lệ xác thực (đúng/tổng)": (
                    f"{fmt_int(n_dung)}/{fmt_int(n)}, đạt {fmt_pct(n_dung, n)}"
                    + ("" if is_published else " (chưa công bố, không trích dẫn)")
                    if n_dung is not None
                    else ""
                ),
                **{names[s]: fmt_int(int(by_status.get(s, 0))) for s in RESULT_STATUSES},
            }
        )
    create_table_artifact(
        key="doisoat-counts",
        table=rows,
        description="Kết quả đối soát theo lĩnh vực: tỷ lệ xác thực như trong báo cáo (đúng/tổng số bản ghi)",
    )
    if summary.gate_passed:
        verdict = "Đã công bố mọi lĩnh vực"
    elif summary.published:
        verdict = "Công bố một phần: có lĩnh vực bị giữ lại"
    else:
        verdict = "KHÔNG công bố lĩnh vực nào (kiểm tra chất lượng không đạt)"
    note = matching_note(summary.match_thresholds)
    reliability = f"\n\n{MATCHING_NOTE_TITLE['vi']}: {note}" if note else ""
    files = ""
    if summary.file_messages:
        files = "\n\n### Tệp đầu vào\n\n" + "\n".join(f"- {m}" for m in summary.file_messages)
    create_markdown_artifact(
        key="doisoat-gate",
        markdown=f"## {verdict}\n\n{summary.gate_summary}{files}{reliability}\n\nThư mục: `{summary.out_dir}`",
    )


def demo_config() -> pipeline.RunConfig:
    """The bundled sample's run (sample_data/demo/manifest.json names the files per sector)."""
    manifest = json.loads((settings.SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))
    return pipeline.RunConfig(
        reference=settings.SAMPLE_DIR / manifest["reference"],
        extracts=[
            pipeline.ExtractInput(sector, settings.SAMPLE_DIR / name)
            for sector, name in manifest["extracts"].items()
        ],
    )


def main() -> int:
    from doisoat.console import print_summary

    try:
        result = run_once(demo_config())
    except DoisoatError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    print_summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
