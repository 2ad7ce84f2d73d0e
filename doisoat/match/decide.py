"""Linking: run the passes in order, score the pairs, decide matched / review / unmatched, explain each decision.

A record whose best candidate is certain (probability ≥ ``matched``, no close runner-up) leaves the later passes;
the others collect candidates from every pass and are decided at the end on all of them. One person per record.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from doisoat.match.blocking import BlockingPass, PassStats, candidate_pairs_sql, usable
from doisoat.match.columns import register_records
from doisoat.match.compare import DEFAULT_COMPARISONS, MISSING, comparison_levels
from doisoat.match.estimate import POOLED, Estimation, estimate_models
from doisoat.match.model import MatchModel, pair_prior_bits
from doisoat.match.settings import MatchSettings

log = logging.getLogger(__name__)

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "rid": pl.Int64(),
    "person_id": pl.Utf8(),
    "match_pass": pl.Utf8(),
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "match_status": pl.Utf8(),
    "runner_up_person_id": pl.Utf8(),
    "runner_up_probability": pl.Float64(),
    "agree_id": pl.Utf8(),
    "agree_name": pl.Utf8(),
    "agree_birth": pl.Utf8(),
    "agree_sex": pl.Utf8(),
    "weights": pl.Utf8(),
    "identity_fp": pl.Utf8(),  # the record's identity fingerprint (columns.IDENTITY_COLUMNS): key of decisions
}
_AGREE_COLS = {"agree_id": "id", "agree_name": "name", "agree_birth": "birth", "agree_sex": "sex"}


@dataclass
class LinkResult:
    matches: pl.DataFrame  # one row per input rid, MATCH_SCHEMA columns
    pass_stats: dict[str, dict] = field(default_factory=dict)  # pass name → pairs, records_decided, warnings
    # mean match probability of the matched rows: the share of links the model expects to be right
    estimated_precision: float | None = None
    thresholds: Thresholds | None = (
        None  # all sectors: the highest sector thresholds, estimates over all records
    )
    # the models this run used, per sector ("*" = all sectors pooled), with where their numbers came from
    estimation: Estimation | None = None
    thresholds_by_sector: dict[str, Thresholds] = field(default_factory=dict)

    def models_summary(self) -> dict:
        """Per sector: model hash, source, EM iterations and convergence, fallbacks (for the run manifest)."""
        return self.estimation.summary() if self.estimation else {}

    def save_models(self, folder: Path) -> dict:
        """Write each model this run used to ``folder/<sector>.json``; the manifest's ``model`` entry (the
        summary with each file's name relative to ``folder``'s parent)."""
        if not self.estimation:
            return {}
        folder.mkdir(parents=True, exist_ok=True)
        summary = self.models_summary()
        for sector, model in self.estimation.models.items():
            name = "all" if sector == POOLED else sector
            model.save(folder / f"{name}.json")
            summary[sector]["file"] = f"{folder.name}/{name}.json"
            if sector in self.thresholds_by_sector:
                summary[sector]["thresholds"] = self.thresholds_by_sector[sector].to_dict()
        return summary


@dataclass
class FrozenLink:
    """What a run reuses of an earlier run instead of estimating it on its own records (incremental nights, and
    full runs made ``--models-from`` an earlier run to check them): per-sector models, per-sector thresholds (with
    ``est_match_rate``, the ρ of the record-level posteriors) and the reference size the pair prior was set from.
    With all three fixed, a record's link depends only on the record, its candidate persons and stewards' decisions.
    """

    estimation: Estimation
    thresholds_by_sector: dict[str, Thresholds]
    n_ref: int


@dataclass
class Thresholds:
    """The run's decision thresholds and what the model expects of them (see MatchSettings)."""

    matched: float  # probability at or above which a record without a close runner-up is matched
    review: float  # probability at or above which a record not matched goes to review
    est_precision_matched: float | None  # mean probability of the records matched
    est_precision_review: float | None  # mean probability of the review band
    est_recall: float | None  # expected true links matched / expected true links among all best candidates
    n_review: int | None = None  # records in the review band (best candidate between the two thresholds)
    n_records: int | None = None  # records these thresholds decided (a steward's decisions left out)
    est_match_rate: float | None = None  # estimated share of the records whose person is in the reference

    def to_dict(self) -> dict:
        """JSON-ready; a threshold no record reaches (infinity: nothing is linked) becomes null."""
        return {k: (None if v is None or math.isinf(v) else round(v, 6)) for k, v in self.__dict__.items()}


def precision_threshold(p: pl.Series, target: float, floor: float) -> float:
    """The lowest probability ≥ ``floor`` at which the records at or above it have mean probability ≥ ``target``.

    Over probabilities sorted high to low the running mean never rises, so the records kept are a prefix. The floor
    itself when all records above it qualify; infinity when not even the most probable record reaches ``target``.
    """
    p = p.drop_nulls().sort(descending=True)
    if p.is_empty():
        return floor
    running = p.cum_sum() / pl.int_range(1, p.len() + 1, eager=True)
    above_floor = p >= floor
    k = int(((running >= target) & above_floor).sum())
    if k == int(above_floor.sum()):
        return floor  # every record above the floor is precise enough: nothing to raise
    return float(p[k - 1]) if k else float("inf")


def choose_thresholds(best: pl.DataFrame, settings: MatchSettings) -> Thresholds:
    """Thresholds from the estimated precision of the best candidates (``match_probability``, ``_close``)."""
    clear = best.filter(~pl.col("_close"))["match_probability"]
    t_matched = max(settings.matched, precision_threshold(clear, settings.target_precision, settings.matched))
    is_matched = (pl.col("match_probability") >= t_matched) & ~pl.col("_close")
    rest = best.filter(~is_matched)["match_probability"]
    t_review = min(t_matched, precision_threshold(rest, settings.review_precision, settings.review))
    p = pl.col("match_probability")
    est = best.select(
        p.filter(is_matched).mean().alias("m"),
        p.filter(~is_matched & (p >= t_review)).mean().alias("r"),
        (p.filter(is_matched).sum() / p.sum()).alias("recall"),
        (~is_matched & (p >= t_review)).sum().alias("n_review"),
    ).row(0)
    return Thresholds(t_matched, t_review, est[0], est[1], est[2], int(est[3]), best.height)


STEWARD_PASS = "steward"


def register_decisions(con: duckdb.DuckDBPyConnection) -> int:
    """``_m_decided (rid, person_id, decision)``: the stewards' decisions that apply to this run's records.

    A decision is kept per (identity, person), the latest one; of the pairs confirmed, each record keeps the most
    recently confirmed person. Returns how many records have a decision. Without a ``steward_decisions`` table
    (a bare reference database) nothing applies.
    """
    has = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'steward_decisions' AND column_name = 'identity_fp'"
    ).fetchall()[0][0]
    source = (
        "steward_decisions"
        if has
        else "(SELECT NULL::VARCHAR AS identity_fp, NULL::VARCHAR AS person_id, NULL::VARCHAR AS decision,"
        " NULL::TIMESTAMP AS decided_at LIMIT 0)"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _m_decided AS
        WITH latest AS (
            SELECT identity_fp, person_id, arg_max(decision, decided_at) AS decision, max(decided_at) AS t
            FROM {source} WHERE identity_fp IS NOT NULL AND decision IN ('confirm', 'reject')
            GROUP BY identity_fp, person_id
        ), confirmed AS (
            SELECT identity_fp, arg_max(person_id, t) AS person_id FROM latest
            WHERE decision = 'confirm' GROUP BY identity_fp
        )
        SELECT r.rid, c.person_id, 'confirm' AS decision, c.person_id IN (SELECT person_id FROM reference_person)
            AS known
        FROM _m_rec r JOIN confirmed c USING (identity_fp)
        UNION ALL
        SELECT r.rid, l.person_id, 'reject', true FROM _m_rec r JOIN latest l USING (identity_fp)
        WHERE l.decision = 'reject'
        """
    )
    gone = con.execute("SELECT count(DISTINCT rid) FROM _m_decided WHERE NOT known").fetchall()[0][0]
    if gone:  # counts only: the records are linked as if undecided
        log.warning("%d record(s) confirmed to a person no longer in the reference: linked as usual", gone)
    return con.execute("SELECT count(DISTINCT rid) FROM _m_decided WHERE known").fetchall()[0][0]


def _sorted(scored: pl.DataFrame) -> pl.DataFrame:
    """Candidates by rid, best first: a steward-confirmed person, then by weight (ties broken by person_id, so
    results never depend on input order)."""
    return scored.sort(
        ["rid", "_steward", "match_weight", "person_id"], descending=[False, True, True, False]
    )


def _top2(scored: pl.DataFrame) -> pl.DataFrame:
    """The two best candidates of each rid, sorted as :func:`_sorted` (a shift, not a group-by)."""
    ordered = _sorted(scored)
    return ordered.filter((pl.col("rid") != pl.col("rid").shift(2)).fill_null(True))


def _rank(top: pl.DataFrame) -> pl.DataFrame:
    """Best candidate per rid with the runner-up's id, weight and probability; ``top`` comes from _top2."""
    first = (pl.col("rid") != pl.col("rid").shift(1)).fill_null(True)
    second = top.filter(~first).select(
        "rid",
        pl.col("person_id").alias("runner_up_person_id"),
        pl.col("match_weight").alias("runner_up_weight"),
        pl.col("match_probability").alias("runner_up_probability"),
    )
    return top.filter(first).join(second, on="rid", how="left", maintain_order="left")


def _certain(ranked: pl.DataFrame, settings: MatchSettings) -> pl.Expr:
    close = (pl.col("match_weight") - pl.col("runner_up_weight")) < settings.close_margin
    certain = pl.col("match_probability") >= settings.cascade_probability
    return pl.col("_steward") | (certain & ~close.fill_null(False))


def link(
    con: duckdb.DuckDBPyConnection,
    records_std: pl.DataFrame,
    model: MatchModel | None = None,
    settings: MatchSettings | None = None,
    many_per_person: dict[str, bool] | None = None,
    pass_levels: PassLevels | None = None,
    frozen: FrozenLink | None = None,
) -> LinkResult:
    """Link standardised records to ``reference_person``: one row per rid (docs/architecture.md "Match output").

    ``many_per_person`` (sector → several records per person expected) does not change linking: two records
    of a one-per-person sector that point at the same person both stay linked, and assess marks duplicates.
    An unmatched row has no person, agreement or weights, but keeps its best candidate's probability and weight
    (null when no pass found a candidate). The runner-up is reported only when within ``close_margin`` bits.
    ``pass_levels`` finds and compares a pass's new pairs (default :func:`new_pair_levels`, in this DuckDB;
    ``doisoat.cluster`` computes them on Dask workers): the cascade and the decisions stay here either way.
    ``frozen``: an earlier run's models, thresholds and reference size instead of this run's estimates.
    """
    model = model or MatchModel.default()
    pass_levels = pass_levels or new_pair_levels
    settings = settings or MatchSettings()
    settings.validate()
    n_ref = con.execute("SELECT count(*) FROM reference_person").fetchall()[0][0]
    if frozen is not None:
        n_ref = frozen.n_ref
    register_records(con, records_std)
    if frozen is not None:
        estimation = frozen.estimation
    else:
        estimation = _estimation(con, records_std.height, model, settings)
    n_decided = register_decisions(con)
    con.execute("CREATE OR REPLACE TEMP TABLE _m_open AS SELECT rid FROM _m_rec")
    # a pair a steward rejected counts as seen: no pass scores it again
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _m_seen AS SELECT rid, person_id FROM _m_decided WHERE decision = 'reject'"
    )
    scored_parts: list[pl.DataFrame] = []
    lr_parts: list[pl.DataFrame] = []  # per rid, the sum of the likelihood ratios of every candidate scored
    prior = pair_prior_bits(n_ref, settings)
    pass_stats: dict[str, dict] = {}
    # the persons stewards confirmed come first, as a pass of their own: scored and explained like any candidate
    steward = [None] if n_decided else []
    present = _filled_columns(con)
    for bpass in steward + list(settings.passes):
        started = time.perf_counter()
        st = PassStats()
        name = bpass.name if bpass is not None else STEWARD_PASS
        if bpass is not None and not usable(bpass, present):
            # the extracts have no value in a column every key of this pass needs (no commune code, no phone)
            missing = sorted(set.union(*bpass.key_columns()) - present)
            st.skipped = f"no value in {', '.join(missing)}"
            pass_stats[name] = st.to_dict()
            continue
        if bpass is None:
            levels = new_pair_levels_of(
                con, "SELECT rid, person_id FROM _m_decided WHERE decision = 'confirm' AND known"
            )
        else:
            levels = pass_levels(con, bpass, settings, st)
        st.pairs = levels.height
        if st.pairs:
            con.register("_m_new", levels.select("rid", "person_id"))
            con.execute("INSERT INTO _m_seen SELECT rid, person_id FROM _m_new")
            con.unregister("_m_new")
            scored = score_by_sector(levels, estimation, n_ref, settings, explain=False).with_columns(
                pl.lit(name).alias("match_pass"), pl.lit(bpass is None).alias("_steward")
            )
            lr_parts.append(
                scored.group_by("rid").agg((2.0 ** (pl.col("match_weight") - prior)).sum().alias("_lr"))
            )
            if (
                len(lr_parts) > 3
            ):  # one row per rid, not one per rid and pass: bounded memory at province scale
                lr_parts = [pl.concat(lr_parts).group_by("rid").agg(pl.col("_lr").sum())]
            touched = scored.select("rid").unique()
            pool = pl.concat(
                [p.join(touched, on="rid", how="semi") for p in scored_parts] + [scored], how="vertical"
            )
            # only the best and the runner-up decide a record: keeping two pairs per rid bounds memory
            top = _top2(pool)
            scored_parts = [
                p.join(touched, on="rid", how="anti", maintain_order="left") for p in scored_parts
            ] + [top]
            ranked = _rank(top)
            done = ranked.filter(_certain(ranked, settings)).select("rid")
            st.records_decided = done.height
            if done.height and settings.cascade:
                # a record carrying another person's ID stays open: its own person is found by name and date
                con.register("_m_done", done)
                con.execute(
                    "DELETE FROM _m_open WHERE rid IN (SELECT rid FROM _m_done)"
                    " AND rid NOT IN (SELECT rid FROM _m_rec WHERE id_other_holder)"
                )
                con.unregister("_m_done")
        for w in st.warnings:
            log.info(w)  # kept in the manifest (pass_stats)
        st.seconds = round(time.perf_counter() - started, 3)
        pass_stats[name] = st.to_dict()
    all_rids = con.sql("SELECT rid, identity_fp, sector FROM _m_rec ORDER BY rid").pl()
    lr = (
        pl.concat(lr_parts).group_by("rid").agg(pl.col("_lr").sum())
        if lr_parts
        else pl.DataFrame(schema={"rid": pl.Int64, "_lr": pl.Float64})
    )
    matches, thresholds, by_sector = _decide(
        all_rids, scored_parts, settings, estimation, n_ref, lr, prior, frozen
    )
    for t in ("_m_open", "_m_seen", "_m_new", "_m_rec", "_m_decided"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return LinkResult(
        matches, pass_stats, thresholds.est_precision_matched, thresholds, estimation, by_sector
    )


# (con, pass, settings, stats) → the comparison levels of the pass's new pairs among the open records
PassLevels = Callable[[duckdb.DuckDBPyConnection, BlockingPass, MatchSettings, PassStats], pl.DataFrame]


def new_pair_levels(
    con: duckdb.DuckDBPyConnection, bpass: BlockingPass, settings: MatchSettings, st: PassStats
) -> pl.DataFrame:
    """The pass's pairs among ``_m_open`` not in ``_m_seen``, compared: one row per pair (rid, person_id, sector,
    ``lv_*``, ``tf_*``), sorted by rid and person_id."""
    sql = candidate_pairs_sql(con, bpass, "_m_rec", "_m_open", "reference_person", settings.block_cap, st)
    return new_pair_levels_of(con, sql)


def new_pair_levels_of(con: duckdb.DuckDBPyConnection, pairs_sql: str) -> pl.DataFrame:
    """The levels of the pairs ``pairs_sql`` yields that ``_m_seen`` does not hold, sorted by rid and person_id
    (a fixed order: sums of likelihood ratios come out the same bits wherever the pairs were found)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _m_new AS SELECT DISTINCT rid, person_id FROM ({pairs_sql})"
        " ANTI JOIN _m_seen USING (rid, person_id)"
    )
    levels = comparison_levels(con, "_m_new", "_m_rec", extra=("r.sector",))
    con.execute("DROP TABLE _m_new")
    return levels.sort("rid", "person_id")


def _filled_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The columns of ``_m_rec`` that hold a value on at least one record."""
    cols = [c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE _m_rec)").fetchall()]
    counts = con.execute("SELECT " + ", ".join(f'count("{c}")' for c in cols) + " FROM _m_rec").fetchall()[0]
    return {c for c, n in zip(cols, counts, strict=True) if n}


def _estimation(
    con: duckdb.DuckDBPyConnection, n_records: int, model: MatchModel, settings: MatchSettings
) -> Estimation:
    """This run's models: estimated on its records (``model`` as prior), or ``model`` itself when too few."""
    if settings.estimate and n_records >= settings.min_records_to_estimate:
        return estimate_models(con, settings, model)
    why = (
        "estimation switched off"
        if not settings.estimate
        else f"{n_records} records, fewer than {settings.min_records_to_estimate} to estimate from"
    )
    log.warning("match model used as given (%s): its weights were not learned from this data", why)
    training = {
        "source": "given",
        "estimation": {"source": "given", "sessions": {}, "fallbacks": [f"model used as given: {why}"]},
        "given_training": model.training,
    }
    given = MatchModel(model.comparisons, model.format_version, training)
    return Estimation({POOLED: given}, [f"model used as given: {why}"])


def score_by_sector(
    levels: pl.DataFrame, estimation: Estimation, n_ref: int, settings: MatchSettings, explain: bool
) -> pl.DataFrame:
    """Score each pair with the model of its record's sector (the pooled one for a sector without its own)."""
    if len(estimation.models) == 1 or "sector" not in levels.columns:
        return estimation.model_for(None).score(levels, n_ref, settings, explain=explain)
    parts = [
        estimation.model_for(key[0]).score(part, n_ref, settings, explain=explain)
        for key, part in levels.partition_by("sector", as_dict=True, maintain_order=True).items()
    ]
    return pl.concat(parts, how="vertical") if parts else levels


def _decide(
    all_rids: pl.DataFrame,
    scored_parts: list[pl.DataFrame],
    settings: MatchSettings,
    estimation: Estimation,
    n_ref: int,
    lr: pl.DataFrame,
    prior: float,
    frozen: FrozenLink | None = None,
) -> tuple[pl.DataFrame, Thresholds, dict[str, Thresholds]]:
    """Final status, runner-up and explanation per rid from all its scored candidates; the thresholds used
    (all sectors, and per sector: each sector's thresholds hold its own estimated precision)."""
    if not scored_parts:
        empty = (
            all_rids.drop("sector")
            .join(pl.DataFrame(schema=MATCH_SCHEMA).drop("identity_fp"), on="rid", how="left")
            .with_columns(pl.lit("unmatched").alias("match_status"))
            .select(list(MATCH_SCHEMA))
        )
        return empty, Thresholds(settings.matched, settings.review, None, None, None, 0, 0), {}
    # each rid's candidates live in exactly one part, already sorted: rank part by part, no global sort
    ranked = pl.concat([_rank(p) for p in scored_parts], how="vertical")
    scored_parts.clear()
    ranked = score_by_sector(
        ranked.drop("match_weight", "match_probability"), estimation, n_ref, settings, explain=True
    )
    fixed = {s: t.est_match_rate for s, t in frozen.thresholds_by_sector.items()} if frozen else None
    ranked, rates = record_posteriors(ranked, all_rids, lr, prior, n_ref, fixed_rates=fixed)
    close = ((pl.col("match_weight") - pl.col("runner_up_weight")) < settings.close_margin).fill_null(False)
    ranked = ranked.with_columns(close.alias("_close"))
    # the estimates describe the model's own decisions: records a steward decided are left out of them
    own = ranked.filter(~pl.col("_steward")).select("sector", "match_probability", "_close")
    by_sector = {
        key[0]: (
            replace(frozen.thresholds_by_sector[key[0]])
            if frozen is not None
            else choose_thresholds(part, settings)
        )
        for key, part in own.partition_by("sector", as_dict=True, maintain_order=True).items()
    }
    for sector, t in by_sector.items():
        t.est_match_rate = rates.get(sector)
    cuts = pl.DataFrame(
        {
            "sector": list(by_sector),
            "_t_matched": [t.matched for t in by_sector.values()],
            "_t_review": [t.review for t in by_sector.values()],
        },
        schema={"sector": pl.Utf8, "_t_matched": pl.Float64, "_t_review": pl.Float64},
    )
    ranked = ranked.join(cuts, on="sector", how="left").with_columns(
        pl.col("_t_matched").fill_null(settings.matched), pl.col("_t_review").fill_null(settings.review)
    )
    status = (
        pl.when(
            pl.col("_steward") | ((pl.col("match_probability") >= pl.col("_t_matched")) & ~pl.col("_close"))
        )
        .then(pl.lit("matched"))
        .when(pl.col("match_probability") >= pl.col("_t_review"))
        .then(pl.lit("review"))
        # close rivals share the probability: the record is likely one of them, a steward says which
        .when(
            pl.col("_close")
            & (
                pl.col("match_probability") + pl.col("runner_up_probability").fill_null(0.0)
                >= pl.col("_t_review")
            )
        )
        .then(pl.lit("review"))
        .otherwise(pl.lit("unmatched"))
    )
    ranked = ranked.with_columns(status.alias("match_status"))
    thresholds = _overall(ranked.filter(~pl.col("_steward")), by_sector, settings)
    ranked = ranked.lazy()
    linked = pl.col("match_status") != "unmatched"
    agree = []
    for out_col, comp_name in _AGREE_COLS.items():
        comp = next(c for c in DEFAULT_COMPARISONS if c.name == comp_name)
        labels = pl.Series(comp.agree_of() + ["missing"], dtype=pl.Utf8)
        lv = pl.col(f"lv_{comp_name}").cast(pl.Int64)
        idx = pl.when(lv == MISSING).then(len(comp.levels)).otherwise(lv)
        agree.append(pl.when(linked).then(pl.lit(labels).gather(idx)).alias(out_col))
    wcols = ["w_prior"] + [f"w_{c.name}" for c in DEFAULT_COMPARISONS]
    weights = pl.struct([pl.col(c).round(2).alias(c.removeprefix("w_")) for c in wcols]).struct.json_encode()
    ranked = ranked.with_columns(
        *agree,
        pl.when(linked).then(weights).alias("weights"),
        pl.when(linked).then(pl.col("person_id")).alias("person_id"),
        pl.when(linked).then(pl.col("match_pass")).alias("match_pass"),
        pl.when(linked & pl.col("_close") & ~pl.col("_steward"))
        .then(pl.col("runner_up_person_id"))
        .alias("runner_up_person_id"),
        pl.when(linked & pl.col("_close") & ~pl.col("_steward"))
        .then(pl.col("runner_up_probability"))
        .alias("runner_up_probability"),
    )
    ranked = ranked.select([pl.col(c).cast(t) for c, t in MATCH_SCHEMA.items() if c != "identity_fp"])
    out = all_rids.drop("sector").lazy().join(ranked, on="rid", how="left", maintain_order="left")
    out = out.with_columns(pl.col("match_status").fill_null("unmatched")).select(list(MATCH_SCHEMA))
    return out.collect(), thresholds, by_sector


def record_posteriors(
    ranked: pl.DataFrame,
    all_rids: pl.DataFrame,
    lr: pl.DataFrame,
    prior: float,
    n_ref: int,
    iterations: int = 50,
    fixed_rates: dict[str, float | None] | None = None,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """The probability that the best candidate is the record's person, given all the candidates blocking found.

    A record is one of the N reference persons (each a priori equally likely) with probability ρ, or nobody in the
    reference. With Λ_j the likelihood ratio of candidate j (2 ** its comparison weights), P(j) = Λ_j / (Σ Λ +
    N·(1−ρ)/ρ): a candidate alone in its block is more probable than the pair prior says, one with close rivals
    less. ρ per sector is estimated from the records themselves (the fixed point of ρ = mean P(some candidate)).
    ``match_probability`` and ``runner_up_probability`` become these posteriors; ``match_weight`` stays the pair's.
    ``fixed_rates``: ρ per sector given (an earlier run's), not estimated.
    """
    rids = (
        all_rids.select("rid", "sector")
        .join(lr, on="rid", how="left")
        .with_columns(pl.col("_lr").fill_null(0.0))
    )
    rates: dict[str, float] = {}
    for key, part in rids.partition_by("sector", as_dict=True).items():
        if fixed_rates is not None and fixed_rates.get(key[0]) is not None:
            rates[key[0]] = fixed_rates[key[0]]
            continue
        lrs = part["_lr"].to_numpy()
        rho = 0.9
        for _ in range(iterations):
            odds_none = n_ref * (1.0 - rho) / rho
            new = float(np.mean(lrs / (lrs + odds_none))) if lrs.size else rho
            new = min(max(new, 0.05), 0.999)
            if abs(new - rho) < 1e-7:
                rho = new
                break
            rho = new
        rates[key[0]] = rho
    odds = pl.DataFrame(
        {"sector": list(rates), "_odds_none": [n_ref * (1 - r) / r for r in rates.values()]},
        schema={"sector": pl.Utf8, "_odds_none": pl.Float64},
    )
    den = pl.col("_lr") + pl.col("_odds_none")
    ranked = (
        ranked.join(lr, on="rid", how="left")
        .join(odds, on="sector", how="left")
        .with_columns(
            (2.0 ** (pl.col("match_weight") - prior) / den).clip(0.0, 1.0).alias("match_probability"),
            (2.0 ** (pl.col("runner_up_weight") - prior) / den).clip(0.0, 1.0).alias("runner_up_probability"),
        )
        .drop("_lr", "_odds_none")
    )
    return ranked, rates


def _overall(decided: pl.DataFrame, by_sector: dict[str, Thresholds], settings: MatchSettings) -> Thresholds:
    """All sectors together: the highest thresholds any sector used, the estimates over all its decisions."""
    p, st = pl.col("match_probability"), pl.col("match_status")
    est = decided.select(
        p.filter(st == "matched").mean().alias("m"),
        p.filter(st == "review").mean().alias("r"),
        (p.filter(st == "matched").sum() / p.sum()).alias("recall"),
        (st == "review").sum().alias("n_review"),
    ).row(0)
    ts = list(by_sector.values())
    return Thresholds(
        max((t.matched for t in ts), default=settings.matched),
        max((t.review for t in ts), default=settings.review),
        est[0],
        est[1],
        est[2],
        int(est[3] or 0),
        decided.height,
    )
