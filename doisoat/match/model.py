"""The Fellegi–Sunter model: m and u per comparison level, scoring of pairs, persistence.

Every run estimates its own models from the data at hand (doisoat.match.estimate: u from random record–reference
pairs counted in DuckDB, m by EM on blocked pairs, per sector); a saved or shipped model is their starting point and
the fallback of levels too rare to estimate. A model is a versioned JSON file carrying where its numbers came from.
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

from doisoat.match.compare import COMPARISONS_BY_NAME, DEFAULT_COMPARISONS, MISSING
from doisoat.match.settings import MatchSettings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "default_model.json"
_FLOOR = 1e-7

# Hand-set priors (used before any training): m = P(level | same person), u = P(level | different persons).
_PRIOR_MU: dict[str, tuple[list[float], list[float]]] = {
    # exact, old_id, one_digit, transposed, other_person, not_in_reference, same_prefix (u given birth year and
    # sex), differs
    "id": (
        [0.90, 0.02, 0.02, 0.01, 0.02, 0.005, 0.005, 0.02],
        [1e-6, 1e-6, 2e-6, 1e-6, 0.01, 0.02, 5e-3, 0.965],
    ),
    # exact, no_diacritics, variant, merged_split, middle_dropped, one_edit, middle_dropped_typo, middle_differs,
    # jw_95, jw_88, differs
    "name": (
        [0.85, 0.03, 0.03, 0.01, 0.04, 0.015, 0.005, 0.01, 0.01, 0.005, 0.01],
        [2e-4, 1e-5, 1e-5, 1e-6, 5e-4, 2e-4, 3e-4, 5e-3, 1e-3, 2e-2, 0.97],
    ),
    # exact, day_month_swapped, year_only, placeholder, year_pm1, year_pm1_imprecise, year_typo, same_month,
    # same_year, differs
    "birth": (
        [0.88, 0.01, 0.02, 0.01, 0.01, 0.005, 0.005, 0.02, 0.02, 0.02],
        [4e-5, 3e-5, 2e-4, 1e-4, 8e-5, 4e-4, 1e-4, 1e-3, 0.011, 0.987],
    ),
    "sex": ([0.98, 0.02], [0.5, 0.5]),
    "commune": ([0.8, 0.05, 0.15], [0.01, 0.002, 0.988]),
    "phone": ([0.6, 0.4], [1e-5, 0.99999]),
}


def normalise(p: list[float] | np.ndarray) -> list[float]:
    a = np.maximum(np.asarray(p, dtype=float), _FLOOR)
    return [float(x) for x in a / a.sum()]


@dataclass
class ComparisonParams:
    levels: list[str]
    m: list[float]
    u: list[float]
    name: str | None = None

    def weights(self) -> np.ndarray:
        """log2(m/u) per level, with two guard rails: no level weighs more than the comparison's first (exact)
        level, and a level with a ``max_weight`` (a relative's ID) never weighs more than that."""
        w = np.log2(np.asarray(self.m) / np.asarray(self.u))
        w[1:] = np.minimum(w[1:], w[0])
        comp = COMPARISONS_BY_NAME.get(self.name or "")
        if comp is not None and [lv.label for lv in comp.levels] == list(self.levels):
            for i, lv in enumerate(comp.levels):
                if lv.max_weight is not None:
                    w[i] = min(w[i], lv.max_weight)
        return w


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
            "sha256": self.sha256(),
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
                p["levels"], [float(x) for x in p["m"]], [float(x) for x in p["u"]], c.name
            )
        model = cls(comps, FORMAT_VERSION, d.get("training", {}))
        if d.get("sha256") not in (None, model.sha256()):
            raise ValueError(
                "match model's numbers do not match its sha256 (the file was edited): retrain it"
            )
        return model

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MatchModel:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def sha256(self) -> str:
        """Content hash of the parameters (levels, m, u): what a run's manifest records of the model it used."""
        body = json.dumps(
            {n: {"levels": p.levels, "m": p.m, "u": p.u} for n, p in sorted(self.comparisons.items())},
            sort_keys=True,
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    @classmethod
    def priors(cls) -> MatchModel:
        """The hand-set priors, before any estimation."""
        comps = {
            c.name: ComparisonParams(
                c.labels, normalise(_PRIOR_MU[c.name][0]), normalise(_PRIOR_MU[c.name][1]), c.name
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
        prior = pair_prior_bits(n_reference, settings)
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
            # summed in the same order as above, so a pair scored either way has the same weight to the last bit
            out = levels.with_columns(pl.sum_horizontal([pl.lit(prior), *exprs]).alias("match_weight"))
        return out.with_columns(
            (1.0 / (1.0 + pl.lit(2.0).pow(-pl.col("match_weight")))).alias("match_probability")
        )


def pair_prior_bits(n_reference: int, settings: MatchSettings) -> float:
    """log2 odds that a record and one random reference person are the same person (before any comparison)."""
    lam = min(settings.expected_match_rate / max(n_reference, 1), 0.5)
    return math.log2(lam / (1.0 - lam))


# ---- training ----------------------------------------------------------------------------------------------
def frame_sha256(df: pl.DataFrame, order: tuple[str, ...] = ()) -> str:
    """SHA-256 of a frame's content (Arrow IPC of the rows in a stable order): identifies training data."""
    buf = io.BytesIO()
    df.sort(list(order) or df.columns, nulls_last=True).rechunk().write_ipc(buf, compression="uncompressed")
    return hashlib.sha256(buf.getvalue()).hexdigest()


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0]
    )
