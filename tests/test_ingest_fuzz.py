"""Mutation fuzz over the bundled sample: for every mutant, ingest raises nothing, says clearly why a file is not
used or gives a result, and accounts for every row (records + quarantine == n_input_rows).

Small here (250 mutants, about 25 s); the soak of 1 000 mutants is bench/soak_ingest.py (figures in bench/RESULTS.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_mutants import ENCODINGS, SAMPLES, SUFFIXES, TOKENS, Mutant, check_result, write

from doisoat.ingest import ingest_file
from schemas import load_sector

_where = st.one_of(st.floats(0, 1, exclude_max=True), st.integers(0, 4000))
_op = st.one_of(
    st.tuples(st.just("flip"), _where, st.integers(1, 255)),
    st.tuples(st.just("truncate"), _where, st.none()),
    st.tuples(st.just("insert"), _where, st.sampled_from(TOKENS)),
    st.tuples(st.just("insert"), _where, st.binary(min_size=1, max_size=8)),
    st.tuples(st.sampled_from(["delete", "repeat"]), _where, st.integers(1, 5000)),
)
_csv_op = st.one_of(_op, st.tuples(st.just("encode"), st.just(0), st.sampled_from(ENCODINGS)))


@st.composite
def mutants(draw) -> Mutant:
    sample, sector = draw(st.sampled_from(SAMPLES))
    ops = draw(st.lists(_csv_op if sample.endswith(".csv") else _op, min_size=1, max_size=4))
    suffix = draw(st.one_of(st.none(), st.sampled_from(SUFFIXES)))
    return Mutant(sample, sector, tuple(ops), suffix)


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutants())
def test_every_mutant_of_the_sample_gives_a_clear_message_or_every_row(mutant):
    with tempfile.TemporaryDirectory(prefix="doisoat-fuzz-") as folder:
        path = write(mutant, Path(folder))
        res = ingest_file(path, load_sector(mutant.sector), batch_rows=1000)
        check_result(res, path)
