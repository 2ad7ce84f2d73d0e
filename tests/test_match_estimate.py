"""Per-run estimation (doisoat.match.estimate): EM recovers known parameters, u is counted in DuckDB, and a model
estimated on one data set is the prior, never silently the model, of a run on another error mix."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import polars as pl
from test_match_model import population
from test_match_support import frame, reference_db

from doisoat.match import MatchModel, MatchSettings, link
from doisoat.match.columns import register_records
from doisoat.match.compare import COMPARISONS_BY_NAME
from doisoat.match.estimate import POOLED, estimate_u, expectation_maximisation

SMALL = MatchSettings(min_records_to_estimate=100, u_sample_pairs=60_000, min_em_pairs=50)


def test_em_recovers_known_m_from_a_sampled_mixture():
    comps = tuple(COMPARISONS_BY_NAME[n] for n in ("sex", "commune", "phone"))
    m_true = {"sex": [0.95, 0.05], "commune": [0.7, 0.1, 0.2], "phone": [0.6, 0.4]}
    u_true = {"sex": [0.5, 0.5], "commune": [0.02, 0.01, 0.97], "phone": [0.001, 0.999]}
    lam, n = 0.3, 200_000
    patterns = list(itertools.product(*(range(len(m_true[c.name])) for c in comps)))
    p = [
        lam * np.prod([m_true[c.name][i] for c, i in zip(comps, pat, strict=True)])
        + (1 - lam) * np.prod([u_true[c.name][i] for c, i in zip(comps, pat, strict=True)])
        for pat in patterns
    ]
    counts = np.random.default_rng(5).multinomial(n, np.asarray(p) / sum(p))
    df = pl.DataFrame(
        {f"lv_{c.name}": [pat[k] for pat in patterns] for k, c in enumerate(comps)} | {"n": counts.tolist()}
    )
    m, share, iterations, converged, _ = expectation_maximisation(
        df, MatchModel.priors(), u_true, SMALL, comps
    )
    assert converged and iterations < SMALL.em_max_iter
    assert abs(share - lam) < 0.01
    for c in comps:
        assert np.abs(np.asarray(m[c.name]) - np.asarray(m_true[c.name])).max() < 0.02, c.name


def test_u_is_counted_in_duckdb_from_random_record_reference_pairs():
    ref = population(400)
    con = reference_db(ref)
    records = frame([dict(r) for r in ref[:300]], rid=True)
    register_records(con, records)
    u, pairs, _ = estimate_u(con, SMALL, MatchModel.priors())
    assert pairs[POOLED] > 50_000 and set(u) == {"x", POOLED}
    sex = u["x"]["sex"]
    assert abs(sex[0] - 0.5) < 0.05  # half of strangers share a sex
    birth = dict(zip(COMPARISONS_BY_NAME["birth"].labels, u["x"]["birth"], strict=True))
    assert birth["exact"] < 0.01 < birth["differs"]
    # a record and the person its own ID names are a match, not a random pair: the ID never agrees by chance
    assert u["x"]["id"][0] < 1e-4


def _shift_years(rows: list[dict], every: int) -> list[dict]:
    out = [dict(r) for r in rows]
    for r in out[::every]:
        r["birth_year"] += 1  # same day and month, the year one off
    return out


def test_a_model_from_one_data_set_is_the_prior_not_the_model_of_a_run_on_another_error_mix(caplog):
    ref = population(600)
    clean = frame([dict(r) for r in ref[:400]], rid=True)
    shifted = frame(_shift_years(ref[:400], 3), rid=True)  # a third of the years one off
    con = reference_db(ref)
    first = link(con, clean, MatchModel.default(), SMALL, {})
    model_a = first.estimation.model_for("x")
    assert model_a.training["estimation"]["source"] == "estimated"
    second = link(con, shifted, model_a, SMALL, {})
    model_b = second.estimation.model_for("x")
    levels = model_a.comparisons["birth"].levels
    i = levels.index("year_pm1")
    assert model_a.comparisons["birth"].m[i] < 0.05 < 0.2 < model_b.comparisons["birth"].m[i]
    assert model_b.sha256() != model_a.sha256()
    assert model_b.training["estimation"]["prior_sha256"] == model_a.sha256()
    summary = second.models_summary()
    assert summary["x"]["sha256"] == model_b.sha256()
    assert all(s["converged"] for s in summary["x"]["sessions"].values())
    # switched off, the given model is used as it is, and the run says so
    with caplog.at_level(logging.WARNING):
        fixed = link(con, shifted, model_a, MatchSettings(estimate=False), {})
    assert fixed.models_summary()[POOLED]["source"] == "given"
    assert fixed.models_summary()[POOLED]["sha256"] == model_a.sha256()
    assert "not learned from this data" in caplog.text


def test_a_sector_too_small_to_estimate_takes_the_pooled_model_and_says_so():
    ref = population(600)
    rows = [dict(r) for r in ref[:400]]
    recs = frame(rows, rid=True).with_columns(
        pl.when(pl.col("rid") <= 20).then(pl.lit("tiny")).otherwise(pl.lit("big")).alias("sector")
    )
    con = reference_db(ref)
    res = link(con, recs, MatchModel.default(), SMALL, {})
    tiny = res.estimation.model_for("tiny")
    fallbacks = tiny.training["estimation"]["fallbacks"]
    assert any("too few to estimate" in f for f in fallbacks)
    assert tiny.comparisons["name"].m == res.estimation.model_for(POOLED).comparisons["name"].m
    assert set(res.thresholds_by_sector) == {"tiny", "big"}
