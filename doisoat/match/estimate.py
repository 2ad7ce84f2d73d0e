"""Per-run estimation of the Fellegi–Sunter parameters, per sector, from the data at hand (issue 13).

- u: P(level | different persons) from random record–reference pairs drawn and counted in DuckDB (a hash of the
  pair number and the seed picks each side; the pairs of a record and the person its own ID names are left out:
  they are the matches, not random pairs). Per sector, because a level such as "year only" depends on how the
  sector writes dates; a level seen too rarely in one sector takes the u of all sectors pooled, and one seen too
  rarely there keeps the prior's u.
- m: P(level | same person) by expectation–maximisation over the comparison patterns of blocked pairs, in
  sessions (as in Splink: pairs blocked on the ID estimate name, birth, sex, commune, phone; pairs blocked on
  name + birth date estimate ID, sex, commune, phone). A level whose expected count of matches is below
  ``min_level_count`` keeps the prior's m (the shipped model, or the model given), and a session that does not
  converge keeps the prior's m for its comparisons; a warning names each such fallback.
- Guard rails: m ≥ ``m_floor`` and u ≥ ``u_floor`` on every level; iterations and convergence recorded.

The result is one :class:`MatchModel` per sector (plus ``"*"``, all sectors pooled), each carrying in
``training["estimation"]`` where its numbers came from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from doisoat.match.blocking import DEFAULT_PASSES, PassStats, candidate_pairs_sql
from doisoat.match.columns import conform, register_records
from doisoat.match.compare import DEFAULT_COMPARISONS, MISSING, Comparison, comparison_levels_sql
from doisoat.match.model import (
    FORMAT_VERSION,
    ComparisonParams,
    MatchModel,
    frame_sha256,
    has_table,
    normalise,
)
from doisoat.match.settings import MatchSettings

log = logging.getLogger(__name__)

POOLED = "*"

# pairs blocked on one rule say nothing about the comparisons of that rule: each session estimates m only for the
# comparisons its blocking leaves free
TRAINING_SESSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("id_exact", ("name", "birth", "sex", "commune", "phone")),
    ("name_dob", ("id", "sex", "commune", "phone")),
)


@dataclass
class Estimation:
    """What a run estimated: the model per sector and the warnings it raised (counts and level names only)."""

    models: dict[str, MatchModel]
    warnings: list[str] = field(default_factory=list)

    def model_for(self, sector: str | None) -> MatchModel:
        return self.models.get(sector or POOLED) or self.models[POOLED]

    def summary(self) -> dict:
        """JSON-ready: per sector the model hash, source, iterations, convergence and fallbacks."""
        out = {}
        for sector, model in self.models.items():
            est = model.training.get("estimation", {})
            out[sector] = {
                "sha256": model.sha256(),
                "source": est.get("source", model.training.get("source", "given")),
                "sessions": est.get("sessions", {}),
                "fallbacks": est.get("fallbacks", []),
                "n_records": est.get("n_records"),
                "n_u_pairs": est.get("n_u_pairs"),
            }
        return out


def _sectors(con: duckdb.DuckDBPyConnection, records: str) -> dict[str, int]:
    return dict(con.execute(f"SELECT sector, count(*) FROM {records} GROUP BY ALL ORDER BY 1").fetchall())


def _level_counts(counts: pl.DataFrame, comp: Comparison, by: str = "sector") -> dict[str, np.ndarray]:
    """Pairs per level of ``comp`` (missing left out), per value of ``by`` and pooled under POOLED."""
    col = f"lv_{comp.name}"
    per = counts.filter(pl.col(col) != MISSING).group_by(by, col).agg(pl.col("n").sum())
    out: dict[str, np.ndarray] = {}
    for key, lv, n in per.iter_rows():
        arr = out.setdefault(key, np.zeros(len(comp.levels)))
        arr[lv] += n
    out[POOLED] = sum(out.values(), np.zeros(len(comp.levels)))
    return out


def estimate_u(
    con: duckdb.DuckDBPyConnection,
    settings: MatchSettings,
    prior: MatchModel,
    records: str = "_m_rec",
    reference: str = "reference_person",
) -> tuple[dict[str, dict[str, list[float]]], dict[str, int], list[str]]:
    """u per sector (and POOLED) from random record–reference pairs drawn and counted in DuckDB.

    Returns (u[sector][comparison], pairs per sector, fallback notes).
    """
    sectors = _sectors(con, records)
    n_ref = con.execute(f"SELECT count(*) FROM {reference}").fetchall()[0][0]
    k = max(int(settings.u_sample_pairs // max(len(sectors), 1)), 1)
    seed = int(settings.seed)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _m_u_r AS SELECT rid, sector, row_number() OVER"
        f" (PARTITION BY sector ORDER BY rid) - 1 AS i FROM {records}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _m_u_p AS SELECT person_id, row_number() OVER (ORDER BY person_id) - 1 AS j"
        f" FROM {reference}"
    )
    sizes = pl.DataFrame({"sector": list(sectors), "n": list(sectors.values())})
    con.register("_m_u_sizes", sizes)
    # each sector's k pairs: record i and person j picked by hashes of (pair number, seed, sector)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _m_u_pairs AS
        WITH draws AS (
            SELECT s.sector, hash(t.x, {seed}, s.sector) % s.n AS i, hash(t.x, {seed + 1}, s.sector) % {n_ref} AS j
            FROM _m_u_sizes s, range({k}) t(x)
            WHERE t.x < least({k}, s.n * {n_ref})
        )
        SELECT r.rid, p.person_id FROM draws d
        JOIN _m_u_r r ON r.sector = d.sector AND r.i = d.i
        JOIN _m_u_p p ON p.j = d.j
        JOIN {records} rr ON rr.rid = r.rid
        WHERE rr.national_id_std IS DISTINCT FROM p.person_id"""
    )
    con.unregister("_m_u_sizes")
    sql = comparison_levels_sql("_m_u_pairs", records, reference, with_tf=False, extra=("r.sector",))
    cols = ", ".join(f"lv_{c.name}" for c in DEFAULT_COMPARISONS)
    counts = con.sql(f"SELECT sector, {cols}, count(*) AS n FROM ({sql}) GROUP BY ALL ORDER BY ALL").pl()
    pairs = dict(counts.group_by("sector").agg(pl.col("n").sum()).iter_rows())
    pairs[POOLED] = int(counts["n"].sum()) if counts.height else 0
    notes: list[str] = []
    u: dict[str, dict[str, list[float]]] = {s: {} for s in [*sectors, POOLED]}
    for c in DEFAULT_COMPARISONS:
        per = _level_counts(counts, c)
        pooled = per[POOLED]
        pooled_total = max(pooled.sum(), 1.0)
        prior_u = np.asarray(prior.comparisons[c.name].u, dtype=float)
        # a level implied by other comparisons: its u is conditional on them, over all the random pairs (counted once)
        given = {
            i: con.execute(
                f"SELECT count(*) FILTER (WHERE {lv.sql}), count(*) FROM _m_u_pairs x"
                f" JOIN {records} r ON r.rid = x.rid JOIN {reference} p ON p.person_id = x.person_id"
                f" WHERE {lv.u_given}"
            ).fetchall()[0]
            for i, lv in enumerate(c.levels)
            if lv.u_given
        }
        for sector in u:
            arr = per.get(sector, np.zeros(len(c.levels)))
            total = arr.sum()
            probs = np.zeros(len(c.levels))
            for i, lv in enumerate(c.levels):
                if lv.u_given:
                    continue
                if arr[i] >= settings.min_u_count and total > 0:
                    probs[i] = arr[i] / total
                elif pooled[i] >= settings.min_u_count:
                    probs[i] = pooled[i] / pooled_total
                elif pooled_total >= 1.0 / max(prior_u[i], 1e-12) * settings.min_u_count:
                    # enough pairs that the prior's u would have shown: the level is rarer than the prior says
                    probs[i] = max(pooled[i], 0.5) / pooled_total
                else:
                    probs[i] = prior_u[i]
                    if sector == POOLED:
                        notes.append(f"{c.name}.{lv.label}")
            probs = np.maximum(probs, settings.u_floor)
            rest = [i for i, lv in enumerate(c.levels) if not lv.u_given]
            probs[rest] = probs[rest] / probs[rest].sum()
            for i, lv in enumerate(c.levels):
                if lv.u_given:
                    hit, base = given[i]
                    probs[i] = max(hit, 0.5) / base if base >= settings.min_u_count else prior_u[i]
            u[sector][c.name] = [float(x) for x in probs]
    for t in ("_m_u_pairs", "_m_u_r", "_m_u_p"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return u, pairs, notes


def expectation_maximisation(
    counts: pl.DataFrame,
    start: MatchModel,
    u: dict[str, list[float]],
    settings: MatchSettings,
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS,
) -> tuple[dict[str, list[float]], float, int, bool, dict[str, np.ndarray]]:
    """EM over pattern counts with u fixed.

    Returns m per comparison, λ (share of pairs that match), iterations, whether it converged, and the expected
    number of matching pairs per level (what decides whether a level was seen often enough to be estimated).
    """
    lv = {c.name: counts[f"lv_{c.name}"].to_numpy().astype(np.int64) for c in comparisons}
    n = counts["n"].to_numpy().astype(float)
    m = {c.name: np.asarray(start.comparisons[c.name].m, dtype=float) for c in comparisons}
    uu = {c.name: np.asarray(u[c.name], dtype=float) for c in comparisons}
    lam = 0.5
    iterations = 0
    converged = False
    acc_last: dict[str, np.ndarray] = {c.name: np.zeros(len(c.levels)) for c in comparisons}
    for _ in range(settings.em_max_iter):
        iterations += 1
        log_m = np.zeros(len(n))
        log_u = np.zeros(len(n))
        for c in comparisons:
            present = lv[c.name] != MISSING
            idx = np.where(present, lv[c.name], 0)
            log_m += np.where(present, np.log(m[c.name][idx]), 0.0)
            log_u += np.where(present, np.log(uu[c.name][idx]), 0.0)
        a = np.log(lam) + log_m
        b = np.log1p(-lam) + log_u
        post = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        wpost = post * n
        new_lam = float(min(max(wpost.sum() / n.sum(), 1e-9), 1 - 1e-9))
        delta = abs(new_lam - lam)
        for c in comparisons:
            present = lv[c.name] != MISSING
            acc = np.bincount(lv[c.name][present], weights=wpost[present], minlength=len(c.levels))
            acc_last[c.name] = acc
            new_m = np.asarray(normalise(np.maximum(acc / max(acc.sum(), 1e-12), settings.m_floor)))
            delta = max(delta, float(np.abs(new_m - m[c.name]).max()))
            m[c.name] = new_m
        lam = new_lam
        if delta < settings.em_tol:
            converged = True
            break
    return {k: [float(x) for x in v] for k, v in m.items()}, lam, iterations, converged, acc_last


def _session_counts(
    con: duckdb.DuckDBPyConnection, settings: MatchSettings, pass_name: str, comps: tuple[Comparison, ...]
) -> pl.DataFrame:
    """Pattern counts per sector of the pairs one pass blocks (every record open: no earlier model decides)."""
    passes = {p.name: p for p in settings.passes}
    bpass = passes.get(pass_name) or next(p for p in DEFAULT_PASSES if p.name == pass_name)
    sql = candidate_pairs_sql(
        con, bpass, "_m_rec", "_m_est_open", "reference_person", settings.block_cap, PassStats()
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _m_train_pairs AS SELECT DISTINCT rid, person_id FROM ({sql})")
    levels = comparison_levels_sql(
        "_m_train_pairs", "_m_rec", "reference_person", comps, with_tf=False, extra=("r.sector",)
    )
    cols = ", ".join(f"lv_{c.name}" for c in comps)
    out = con.sql(f"SELECT sector, {cols}, count(*) AS n FROM ({levels}) GROUP BY ALL ORDER BY ALL").pl()
    con.execute("DROP TABLE IF EXISTS _m_train_pairs")
    return out


def estimate_models(
    con: duckdb.DuckDBPyConnection, settings: MatchSettings, prior: MatchModel, records: str = "_m_rec"
) -> Estimation:
    """One model per sector (and POOLED) estimated on the records registered in ``records`` (``_m_rec``).

    ``prior`` (the shipped model, or the one a run was given) is the starting point of EM and the fallback of
    every level that is too rare to estimate.
    """
    sectors = _sectors(con, records)
    warnings: list[str] = []
    u, u_pairs, u_notes = estimate_u(con, settings, prior, records)
    if u_notes:
        warnings.append(
            f"u of {', '.join(u_notes)}: too rare among {u_pairs.get(POOLED, 0)} random pairs to measure, prior kept"
        )
    sample_sql = f"SELECT rid FROM {records}"
    n_total = sum(sectors.values())
    if n_total > settings.train_max_records:
        step = -(-n_total // settings.train_max_records)
        sample_sql = f"SELECT rid FROM {records} WHERE rid % {step} = 0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _m_est_open AS {sample_sql}")
    n_used = con.execute("SELECT count(*) FROM _m_est_open").fetchall()[0][0]
    session_counts = {}
    for pass_name, free in TRAINING_SESSIONS:
        comps = tuple(c for c in DEFAULT_COMPARISONS if c.name in free)
        session_counts[pass_name] = (comps, _session_counts(con, settings, pass_name, comps))
    con.execute("DROP TABLE IF EXISTS _m_est_open")

    models: dict[str, MatchModel] = {}
    # the pooled model first: it is the fallback of a sector too small to estimate on its own
    for sector in [POOLED, *sectors]:
        n_rec = n_total if sector == POOLED else sectors[sector]
        base = prior if sector == POOLED else models[POOLED]
        estimates: dict[str, list[list[float]]] = {}
        sessions: dict[str, dict] = {}
        fallbacks: list[str] = []
        for pass_name, (comps, counts) in session_counts.items():
            sub = counts if sector == POOLED else counts.filter(pl.col("sector") == sector)
            if sector == POOLED:
                sub = sub.group_by([f"lv_{c.name}" for c in comps]).agg(pl.col("n").sum()).sort(pl.all())
            n_pairs = int(sub["n"].sum()) if sub.height else 0
            if n_pairs < settings.min_em_pairs:
                sessions[pass_name] = {"pairs": n_pairs, "em_iterations": 0, "converged": False}
                fallbacks.append(
                    f"{pass_name}: {n_pairs} pairs, too few to estimate ({'prior' if sector == POOLED else 'all sectors'} kept)"
                )
                continue
            m, lam, iters, converged, acc = expectation_maximisation(sub, prior, u[sector], settings, comps)
            sessions[pass_name] = {
                "pairs": n_pairs,
                "em_iterations": iters,
                "converged": converged,
                "match_share": round(lam, 6),
            }
            if not converged:
                fallbacks.append(
                    f"{pass_name}: EM did not converge in {iters} iterations (m of {', '.join(c.name for c in comps)} from the prior)"
                )
                continue
            for c in comps:
                m_c = np.asarray(m[c.name])
                prior_m = np.asarray(base.comparisons[c.name].m)
                # a level is too rare to estimate when this session has too few matching pairs for the prior's
                # m to show at it; when the prior's m would show and the data do not, the data are right
                # (the level is rarer here: m_floor bounds it)
                expected = acc[c.name].sum() * prior_m
                rare = [
                    i
                    for i in range(len(c.levels))
                    if acc[c.name][i] < settings.min_level_count and expected[i] < settings.min_level_count
                ]
                if rare and len(rare) < len(c.levels):
                    # keep the prior's share for the rare levels, the estimated shares for the others
                    seen = [i for i in range(len(c.levels)) if i not in rare]
                    m_c = m_c.copy()
                    m_c[rare] = prior_m[rare]
                    m_c[seen] = m_c[seen] / m_c[seen].sum() * (1.0 - m_c[rare].sum())
                    fallbacks.append(
                        f"m {c.name}: {', '.join(c.levels[i].label for i in rare)} too rare in {pass_name} pairs,"
                        " prior kept"
                    )
                elif rare:
                    m_c = prior_m
                    fallbacks.append(f"m {c.name}: too few matching {pass_name} pairs, prior kept")
                estimates.setdefault(c.name, []).append(m_c.tolist())
        comps_out = {}
        for c in DEFAULT_COMPARISONS:
            est = estimates.get(c.name)
            m_c = (
                normalise(np.maximum(np.mean(np.asarray(est), axis=0), settings.m_floor))
                if est
                else base.comparisons[c.name].m
            )
            if not est:
                fallbacks.append(
                    f"m {c.name}: not estimated, {'prior' if sector == POOLED else 'all sectors'} kept"
                )
            comps_out[c.name] = ComparisonParams(c.labels, list(m_c), u[sector][c.name], c.name)
        estimation = {
            "source": "estimated",
            "sector": sector,
            "n_records": n_rec,
            "n_records_used": int(n_used),
            "n_u_pairs": int(u_pairs.get(sector, 0)),
            "sessions": sessions,
            "fallbacks": fallbacks,
            "prior_sha256": prior.sha256(),
            "seed": settings.seed,
            "settings": settings.to_dict(),  # what it was made under: the model file is the whole model
        }
        models[sector] = MatchModel(comps_out, FORMAT_VERSION, {"estimation": estimation})
        if fallbacks:
            warnings.append(f"sector {sector}: " + "; ".join(dict.fromkeys(fallbacks)))
    for w in warnings:
        log.info("match model estimation: %s", w)  # kept in the manifest (model.fallbacks)
    return Estimation(models, warnings)


def train(
    con: duckdb.DuckDBPyConnection,
    records_std: pl.DataFrame,
    settings: MatchSettings | None = None,
    start: MatchModel | None = None,
) -> MatchModel:
    """Estimate one model on these records (all sectors pooled) against the loaded ``reference_person``.

    The same estimation ``link`` runs on every run (doisoat.match.estimate); this is what ``doisoat model train``
    saves, for a later run to start from.
    """
    settings = settings or MatchSettings()
    start = start or MatchModel.priors()
    register_records(con, records_std)
    est = estimate_models(con, settings, start)
    con.execute("DROP TABLE IF EXISTS _m_rec")
    model = est.models[POOLED]
    ref_meta = (
        con.execute("SELECT source_sha256 FROM reference_meta ORDER BY loaded_seq DESC LIMIT 1").fetchall()
        if has_table(con, "reference_meta")
        else []
    )
    e = model.training["estimation"]
    model.training.update(
        {
            "records_sha256": frame_sha256(conform(records_std, keep=("rid",)), order=("rid",)),
            "reference_sha256": ref_meta[0][0] if ref_meta else None,
            "n_records": records_std.height,
            "n_records_used": e["n_records_used"],
            "n_u_pairs": e["n_u_pairs"],
            "sessions": e["sessions"],
            "seed": settings.seed,
        }
    )
    log.info("match model trained: %s", e["sessions"])
    return model
