"""The Fellegi–Sunter model: m and u per comparison level, scoring of pairs, and training (EM on m).

u comes from random pairs of reference persons (seeded, so repeatable); m from expectation–maximisation over the
comparison patterns of the blocked candidate pairs; the prior from the expected match rate. A model is a
versioned JSON file carrying the hashes of the data it was trained on.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from doisoat.match.blocking import DEFAULT_PASSES
from doisoat.match.compare import DEFAULT_COMPARISONS, MISSING, Comparison, comparison_levels_sql
from doisoat.match.settings import MatchSettings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "default_model.json"
_FLOOR = 1e-7

# Hand-set priors (used before any training): m = P(level | same person), u = P(level | different persons).
_PRIOR_MU: dict[str, tuple[list[float], list[float]]] = {
    "id": ([0.92, 0.02, 0.03, 0.01, 0.005, 0.015], [1e-6, 1e-6, 2e-6, 1e-6, 5e-3, 0.995]),
    "name": (
        [0.85, 0.03, 0.03, 0.04, 0.01, 0.02, 0.01, 0.01],
        [2e-4, 1e-5, 1e-5, 5e-4, 5e-3, 1e-3, 2e-2, 0.97],
    ),
    "birth": ([0.88, 0.04, 0.02, 0.02, 0.02, 0.01, 0.01], [4e-5, 5e-4, 3e-5, 1e-4, 4e-4, 0.012, 0.987]),
    "sex": ([0.98, 0.02], [0.5, 0.5]),
    "commune": ([0.8, 0.05, 0.15], [0.01, 0.002, 0.988]),
    "phone": ([0.6, 0.4], [1e-5, 0.99999]),
}


def _normalise(p: list[float] | np.ndarray) -> list[float]:
    a = np.maximum(np.asarray(p, dtype=float), _FLOOR)
    return [float(x) for x in a / a.sum()]


@dataclass
class ComparisonParams:
    levels: list[str]
    m: list[float]
    u: list[float]

    def weights(self) -> np.ndarray:
        """log2(m/u) per level: the match weight a level contributes."""
        return np.log2(np.asarray(self.m) / np.asarray(self.u))


@dataclass
class MatchModel:
    comparisons: dict[str, ComparisonParams]
    format_version: int = FORMAT_VERSION
    training: dict = field(default_factory=dict)  # data hashes and counts the model was estimated from

    # ---- persistence -------------------------------------------------------------------------------------
    def to_json(self) -> str:
        d = {
            "format_version": self.format_version,
            "comparisons": {
                name: {"levels": p.levels, "m": p.m, "u": p.u} for name, p in self.comparisons.items()
            },
            "training": self.training,
        }
        return json.dumps(d, ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        d = json.loads(text)
        if d.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported match model format {d.get('format_version')!r}")
        comps = {}
        for c in DEFAULT_COMPARISONS:
            p = d["comparisons"].get(c.name)
            if p is None or p["levels"] != c.labels:
                raise ValueError(f"match model does not fit comparison '{c.name}': retrain it")
            comps[c.name] = ComparisonParams(
                p["levels"], [float(x) for x in p["m"]], [float(x) for x in p["u"]]
            )
        return cls(comps, FORMAT_VERSION, d.get("training", {}))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MatchModel:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    @classmethod
    def priors(cls) -> MatchModel:
        """The hand-set priors, before any estimation."""
        comps = {
            c.name: ComparisonParams(
                c.labels, _normalise(_PRIOR_MU[c.name][0]), _normalise(_PRIOR_MU[c.name][1])
            )
            for c in DEFAULT_COMPARISONS
        }
        return cls(comps, FORMAT_VERSION, {"source": "priors"})

    @classmethod
    def default(cls) -> MatchModel:
        """The shipped trained model when present (doisoat/models/default_model.json), else the priors."""
        if DEFAULT_MODEL_PATH.exists():
            return cls.load(DEFAULT_MODEL_PATH)
        return cls.priors()

    # ---- scoring -----------------------------------------------------------------------------------------
    def score(
        self, levels: pl.DataFrame, n_reference: int, settings: MatchSettings, explain: bool = True
    ) -> pl.DataFrame:
        """Add ``w_<comparison>`` (bits), ``w_prior``, ``match_weight`` and ``match_probability`` to pairs.

        ``explain=False`` adds only the total weight and probability (less memory over millions of pairs).

        Prior: λ = expected match rate / reference size, the chance that a record and a random person match.
        Term frequency: on a comparison's first level the u of the reference value's frequency replaces the
        average u (common names such as Nguyễn Văn Hùng weigh less), floored at ``tf_min_u``.
        """
        lam = min(settings.expected_match_rate / max(n_reference, 1), 0.5)
        prior = math.log2(lam / (1.0 - lam))
        exprs = []
        for c in DEFAULT_COMPARISONS:
            p = self.comparisons[c.name]
            w = pl.Series(p.weights().tolist() + [0.0], dtype=pl.Float64)  # index -1 → the appended 0
            lv = pl.col(f"lv_{c.name}").cast(pl.Int64)
            idx = pl.when(lv == MISSING).then(len(p.levels)).otherwise(lv)
            expr = pl.lit(w).gather(idx)
            if c.tf_column and settings.tf_adjust and f"tf_{c.name}" in levels.columns:
                tf_u = pl.max_horizontal(pl.col(f"tf_{c.name}"), pl.lit(settings.tf_min_u))
                tf_w = (pl.lit(p.m[0]) / tf_u).log(2)
                expr = pl.when((lv == 0) & pl.col(f"tf_{c.name}").is_not_null()).then(tf_w).otherwise(expr)
            exprs.append(expr.alias(f"w_{c.name}"))
        if explain:
            out = levels.with_columns(exprs).with_columns(pl.lit(prior).alias("w_prior"))
            wcols = ["w_prior"] + [f"w_{c.name}" for c in DEFAULT_COMPARISONS]
            out = out.with_columns(pl.sum_horizontal(wcols).alias("match_weight"))
        else:
            out = levels.with_columns((pl.lit(prior) + pl.sum_horizontal(exprs)).alias("match_weight"))
        return out.with_columns(
            (1.0 / (1.0 + pl.lit(2.0).pow(-pl.col("match_weight")))).alias("match_probability")
        )


# ---- training ----------------------------------------------------------------------------------------------
def frame_sha256(df: pl.DataFrame, order: tuple[str, ...] = ()) -> str:
    """SHA-256 of a frame's content (Arrow IPC of the rows in a stable order): identifies training data."""
    buf = io.BytesIO()
    df.sort(list(order) or df.columns, nulls_last=True).rechunk().write_ipc(buf, compression="uncompressed")
    return hashlib.sha256(buf.getvalue()).hexdigest()


def pattern_counts(
    con: duckdb.DuckDBPyConnection, levels_sql: str, comparisons=DEFAULT_COMPARISONS
) -> pl.DataFrame:
    """Counts of each comparison pattern (vector of levels), in a stable order."""
    cols = ", ".join(f"lv_{c.name}" for c in comparisons)
    return con.sql(f"SELECT {cols}, count(*) AS n FROM ({levels_sql}) GROUP BY ALL ORDER BY {cols}").pl()


def estimate_u_using_random_sampling(
    con: duckdb.DuckDBPyConnection, settings: MatchSettings, reference: str = "reference_person"
) -> tuple[dict[str, list[float]], int]:
    """u per level from seeded random pairs of distinct reference persons (the reference is all non-matches)."""
    n = con.execute(f"SELECT count(*) FROM {reference}").fetchall()[0][0]
    if n < 2:
        raise ValueError("reference too small to estimate u")
    rng = np.random.default_rng(settings.seed)
    k = int(min(settings.u_sample_pairs, n * (n - 1)))
    a = rng.integers(0, n, size=k)
    b = rng.integers(0, n, size=k)
    keep = a != b
    sample = pl.DataFrame({"ia": a[keep], "ib": b[keep]})
    con.register("_m_u_idx", sample)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _m_u_pairs AS WITH num AS (SELECT person_id,"
        f" row_number() OVER (ORDER BY person_id) - 1 AS i FROM {reference})"
        " SELECT na.person_id AS rid, nb.person_id AS person_id FROM _m_u_idx s"
        " JOIN num na ON na.i = s.ia JOIN num nb ON nb.i = s.ib"
    )
    con.unregister("_m_u_idx")
    sql = comparison_levels_sql("_m_u_pairs", reference, reference, record_key="person_id", with_tf=False)
    counts = pattern_counts(con, sql)
    u = {}
    for c in DEFAULT_COMPARISONS:
        col = f"lv_{c.name}"
        per = counts.filter(pl.col(col) != MISSING).group_by(col).agg(pl.col("n").sum())
        arr = np.zeros(len(c.levels))
        for lv, cnt in per.iter_rows():
            arr[lv] = cnt
        total = arr.sum()
        # half a count for unseen levels: an exact ID agreement between strangers is rare, not impossible
        probs = np.maximum(arr, 0.5) / max(total, 1.0)
        labels = c.labels
        for i, lv in enumerate(c.levels):
            if lv.u_like:
                probs[i] = sum(probs[labels.index(other)] for other in lv.u_like)
        u[c.name] = _normalise(probs.tolist())
        for i, lv in enumerate(c.levels):
            if lv.u_given:
                hit, base = con.execute(
                    f"SELECT count(*) FILTER (WHERE {lv.sql}), count(*) FROM _m_u_pairs x"
                    f" JOIN {reference} r ON r.person_id = x.rid JOIN {reference} p ON p.person_id = x.person_id"
                    f" WHERE {lv.u_given}"
                ).fetchall()[0]
                u[c.name][i] = max(hit, 0.5) / max(base, 1)
    con.execute("DROP TABLE IF EXISTS _m_u_pairs")
    return u, int(keep.sum())


def _u_like(comp: Comparison, m: list[float], u: list[float]) -> list[float]:
    """u of a precision level (e.g. year-only date agreeing): P(this precision) × P(strangers agree at it).

    The precision of a record does not depend on whether the pair matches, so P(this precision) is the level's m.
    """
    out = list(u)
    for i, lv in enumerate(comp.levels):
        if lv.u_like:
            out[i] = m[i] * u[i]
    return _normalise(out)


def expectation_maximisation(
    counts: pl.DataFrame,
    start: MatchModel,
    u: dict[str, list[float]],
    settings: MatchSettings,
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS,
) -> tuple[dict[str, list[float]], float, int]:
    """EM over pattern counts with u fixed: returns m per comparison, λ (share of pairs that match), iterations."""
    lv = {c.name: counts[f"lv_{c.name}"].to_numpy().astype(np.int64) for c in comparisons}
    n = counts["n"].to_numpy().astype(float)
    m = {c.name: np.asarray(start.comparisons[c.name].m, dtype=float) for c in comparisons}
    uu = {c.name: np.asarray(u[c.name], dtype=float) for c in comparisons}
    lam = 0.5
    iterations = 0
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
            new_m = np.asarray(_normalise(np.maximum(acc / max(acc.sum(), 1e-12), settings.m_floor)))
            delta = max(delta, float(np.abs(new_m - m[c.name]).max()))
            m[c.name] = new_m
        lam = new_lam
        if delta < settings.em_tol:
            break
    return {k: [float(x) for x in v] for k, v in m.items()}, lam, iterations


# Training sessions (as in Splink): pairs blocked on one rule say nothing about the comparisons of that rule, so
# each session estimates m only for the comparisons its blocking leaves free; estimates are averaged.
TRAINING_SESSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("id_exact", ("name", "birth", "sex", "commune", "phone")),
    ("name_dob", ("id", "sex", "commune", "phone")),
)


def train(
    con: duckdb.DuckDBPyConnection,
    records_std: pl.DataFrame,
    settings: MatchSettings | None = None,
    start: MatchModel | None = None,
) -> MatchModel:
    """Estimate a model on these records against the loaded reference (table ``reference_person``).

    Candidate pairs are those of every blocking pass (no record leaves early, so training does not depend on
    an earlier model); u from random reference pairs; m by EM starting from ``start`` (the priors).
    """
    from doisoat.match.blocking import PassStats, candidate_pairs_sql
    from doisoat.match.decide import register_records

    settings = settings or MatchSettings()
    start = start or MatchModel.priors()
    u, n_u = estimate_u_using_random_sampling(con, settings)
    sample = records_std
    if records_std.height > settings.train_max_records:
        step = -(-records_std.height // settings.train_max_records)
        sample = records_std.sort("rid").gather_every(step)
    register_records(con, sample)
    con.execute("CREATE OR REPLACE TEMP TABLE _m_open AS SELECT rid FROM _m_rec")
    passes = {p.name: p for p in settings.passes}
    estimates: dict[str, list[list[float]]] = {}
    sessions = {}
    for pass_name, free in TRAINING_SESSIONS:
        bpass = passes.get(pass_name) or next(p for p in DEFAULT_PASSES if p.name == pass_name)
        comps = tuple(c for c in DEFAULT_COMPARISONS if c.name in free)
        sql = candidate_pairs_sql(
            con, bpass, "_m_rec", "_m_open", "reference_person", settings.block_cap, PassStats()
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _m_train_pairs AS SELECT DISTINCT rid, person_id FROM ({sql})"
        )
        levels = comparison_levels_sql("_m_train_pairs", "_m_rec", "reference_person", comps, with_tf=False)
        counts = pattern_counts(con, levels, comps)
        n_pairs = int(counts["n"].sum()) if counts.height else 0
        if n_pairs == 0:
            continue
        m, lam, iters = expectation_maximisation(counts, start, u, settings, comps)
        for name, values in m.items():
            estimates.setdefault(name, []).append(values)
        sessions[pass_name] = {"pairs": n_pairs, "em_iterations": iters, "match_share": round(lam, 6)}
    if not sessions:
        raise ValueError("no candidate pairs: cannot train")
    con.execute("DROP TABLE IF EXISTS _m_train_pairs")
    ref_meta = (
        con.execute("SELECT source_sha256 FROM reference_meta ORDER BY loaded_seq DESC LIMIT 1").fetchall()
        if _has_table(con, "reference_meta")
        else []
    )
    from doisoat.match.columns import conform

    training = {
        "records_sha256": frame_sha256(conform(records_std, keep=("rid",)), order=("rid",)),
        "reference_sha256": ref_meta[0][0] if ref_meta else None,
        "n_records": records_std.height,
        "n_records_used": sample.height,
        "n_u_pairs": n_u,
        "sessions": sessions,
        "seed": settings.seed,
    }
    comps = {}
    for c in DEFAULT_COMPARISONS:
        est = estimates.get(c.name)
        m_c = _normalise(np.mean(np.asarray(est), axis=0)) if est else start.comparisons[c.name].m
        comps[c.name] = ComparisonParams(c.labels, m_c, _u_like(c, m_c, u[c.name]))
    log.info("match model trained: %s", sessions)
    return MatchModel(comps, FORMAT_VERSION, training)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0]
    )
