"""Run history for operators: past runs from the DuckDB record (``runs``, ``run_sectors``, ``run_aggregates``).

Only run-level facts: ids, times, which sectors were published or held, row counts and the headline rate
(đúng/tổng per sector). No names, IDs or birth dates are read.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from doisoat.errors import UserError


def list_runs(db_path: Path, limit: int = 20) -> pl.DataFrame:
    """The newest ``limit`` runs, newest first: run_id, started_at, seconds, published, held, n_input, rates."""
    from doisoat import store

    if not db_path.exists():
        raise UserError(
            f"Không có cơ sở dữ liệu {db_path}: hãy chạy đối soát trước (doisoat run) hoặc chỉ đúng tệp bằng --db."
        )
    con = store.connect(db_path, read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if "runs" not in tables:
            return pl.DataFrame()
        return store.query(
            con,
            """
            with recent as (
                select run_id, started_at, finished_at, n_input,
                       json_extract(manifest, '$.status_counts') as status_counts,
                       json_extract(manifest, '$.inputs') as inputs
                from runs order by started_at desc limit ?),
            sectors as (
                select s.run_id,
                       list(s.sector order by s.sector) filter (where s.published) as published,
                       list(s.sector order by s.sector) filter (where not s.published) as held
                from run_sectors s join recent using (run_id) group by s.run_id),
            rates as (
                select a.run_id, list({'sector': a.sector, 'n': a.n, 'n_dung': a.n_dung} order by a.sector)
                       as rates
                from run_aggregates a join recent using (run_id) where a.unit = '__all__' group by a.run_id)
            select r.run_id, r.started_at,
                   date_diff('second', r.started_at, r.finished_at) as seconds,
                   coalesce(s.published, []) as published, coalesce(s.held, []) as held,
                   r.n_input, cast(r.status_counts as varchar) as status_counts,
                   cast(r.inputs as varchar) as inputs, rates.rates
            from recent r left join sectors s using (run_id) left join rates using (run_id)
            order by r.started_at desc
            """,
            [limit],
        )
    finally:
        con.close()


def format_runs(runs: pl.DataFrame, labels: dict[str, str] | None = None) -> str:
    """One block per run, Vietnamese number format: what an operator reads on the console."""
    import json

    from doisoat.textfmt import fmt_int, fmt_pct, vn_datetime
    from doisoat.vocabulary import STATUS_LABELS

    if runs.is_empty():
        return "Chưa có lượt đối soát nào được ghi nhận. / no runs recorded yet."
    labels = labels or {}
    names = STATUS_LABELS["vi"]
    lines = []
    for r in runs.iter_rows(named=True):
        started = vn_datetime(r["started_at"]) or "?"
        took = f"{r['seconds']} giây" if r["seconds"] is not None else "?"
        pub = ", ".join(labels.get(s, s) for s in r["published"]) or "không"
        held = ", ".join(labels.get(s, s) for s in r["held"]) or "không"
        if lines:
            lines.append("")
        lines.append(f"{r['run_id']}  bắt đầu {started}, chạy {took}")
        lines.append(f"  Công bố: {pub}; chưa công bố: {held}; tổng số bản ghi {fmt_int(r['n_input'] or 0)}")
        for f in json.loads(r["inputs"]) if r["inputs"] else []:
            state = "" if f.get("ok", True) else ", KHÔNG dùng được"
            rows = f", {fmt_int(f['rows'])} dòng" if f.get("rows") is not None else ""
            lines.append(f"  Tệp {labels.get(f['sector'], f['sector'])}: {f.get('file')}{rows}{state}")
        counts = json.loads(r["status_counts"]) if r["status_counts"] else {}
        if counts:
            lines.append(
                "  " + "; ".join(f"{names.get(k, k)} {fmt_int(v)}" for k, v in sorted(counts.items()))
            )
        for x in r["rates"] or []:
            lines.append(
                f"  {labels.get(x['sector'], x['sector'])}: đúng {fmt_int(x['n_dung'])}/{fmt_int(x['n'])}, "
                f"đạt {fmt_pct(x['n_dung'], x['n'])}"
            )
    return "\n".join(lines)
