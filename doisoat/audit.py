"""Measured precision beside every cited rate: a random audit sample of automatic links, judged by stewards.

Each run draws, per published sector, a simple random sample of its automatic links (status ``matched``, not
linked by a steward's earlier decision), seeded by the run id so a rerun draws the same rows. The sample is
written as its own worklist (``worklists/kiem-tra-mau.xlsx``) and its rows are recorded in DuckDB
(``audit_samples``, written with the run's record by :func:`doisoat.store.record_run`; no personal data). Stewards mark each row
«Đúng người» / «Không phải» and import the file like any worklist (``doisoat decisions import``). The next
report prints, per sector, the precision measured on the most recent sample with decisions, with a Wilson 95 %
interval; until then it says that the figure is the model's estimate.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import duckdb
import polars as pl

from doisoat.textfmt import fmt_int

DEFAULT_SAMPLE_SIZE = 100
Z95 = 1.959963984540054


def draw_sample(results: pl.DataFrame, run_id: str, size: int, sectors: list[str]) -> pl.DataFrame:
    """Up to ``size`` automatic links per sector of ``sectors``, drawn at random (seed: the run id)."""
    if size <= 0:
        return results.head(0)
    seed = zlib.crc32(run_id.encode())
    auto = results.filter(
        pl.col("sector").is_in(sectors)
        & (pl.col("status") == "matched")
        & pl.col("person_id").is_not_null()
        & (pl.col("match_pass").fill_null("") != "steward")
    )
    parts = []
    for sector in sorted(sectors):
        part = auto.filter(pl.col("sector") == sector).sort("rid")
        if part.height:
            parts.append(part.sample(n=min(size, part.height), seed=seed, shuffle=True))
    return pl.concat(parts) if parts else results.head(0)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (sound at 0 and n, unlike the normal approximation)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Measured:
    sector: str
    run_id: str  # the run whose sample was judged
    n: int  # sample rows with a decision
    correct: int
    drawn: int  # rows drawn in that sample

    @property
    def precision(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    def interval(self) -> tuple[float, float]:
        return wilson(self.correct, self.n)

    def text(self, lang: str = "vi") -> str:
        from doisoat.textfmt import fmt_pct

        lo, hi = self.interval()

        def pct(x: float) -> str:
            return fmt_pct(x, lang=lang, digits=1)

        if lang == "vi":
            return (
                f"độ chính xác đo trên mẫu {fmt_int(self.n)} bản ghi: {pct(self.precision)} "
                f"({pct(lo).rstrip('%')}–{pct(hi)}), mẫu của lượt {self.run_id}"
            )
        return (
            f"precision measured on a sample of {fmt_int(self.n, 'en')} records: {pct(self.precision)} "
            f"({pct(lo).rstrip('%')}–{pct(hi)}), sample of run {self.run_id}"
        )


def measured_precision(con: duckdb.DuckDBPyConnection) -> dict[str, Measured]:
    """Per sector, the most recent audit sample with at least one decision: correct / decided."""
    rows = con.execute(
        """
        with latest as (
            select run_id, identity_fp, person_id, arg_max(decision, decided_at) as decision
            from steward_decisions
            where identity_fp is not null and decision in ('confirm', 'reject')
            group by run_id, identity_fp, person_id
        ), judged as (
            select a.run_id, a.sector, count(l.decision) as n,
                   count(*) filter (where l.decision = 'confirm') as correct, count(*) as drawn
            from audit_samples a
            left join latest l
              on l.run_id = a.run_id and l.identity_fp = a.identity_fp and l.person_id = a.person_id
            group by a.run_id, a.sector
        )
        select j.sector, arg_max(j.run_id, r.finished_at), arg_max(j.n, r.finished_at),
               arg_max(j.correct, r.finished_at), arg_max(j.drawn, r.finished_at)
        from judged j join runs r using (run_id) where j.n > 0 group by j.sector
        """
    ).fetchall()
    return {s: Measured(s, run, int(n), int(k), int(d)) for s, run, n, k, d in rows}


def precision_line(sector: str, measured: dict[str, Measured], drawn_now: int, lang: str = "vi") -> str:
    """The sentence beside a sector's rates: measured on a judged sample, or the model's estimate until then."""
    m = measured.get(sector)
    if m is not None:
        return m.text(lang)
    if lang == "vi":
        return "độ chính xác của các cặp ghép là ước tính của mô hình, chưa được đo trên mẫu kiểm tra" + (
            f" (mẫu {fmt_int(drawn_now)} bản ghi trong worklists/kiem-tra-mau.xlsx chờ cán bộ rà soát)"
            if drawn_now
            else ""
        )
    return "link precision is the model's estimate, not yet measured on an audit sample" + (
        f" ({fmt_int(drawn_now, 'en')} records in worklists/kiem-tra-mau.xlsx await review)"
        if drawn_now
        else ""
    )
