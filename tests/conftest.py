"""Shared fixtures: an isolated DOISOAT_HOME per session and one embedded Prefect harness for flow tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "demo"


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("doisoat_home")
    os.environ["DOISOAT_HOME"] = str(home)
    os.environ["DOISOAT_RUNS"] = str(home / "out")
    yield home


@pytest.fixture(scope="session")
def prefect_harness(_isolated_home):
    """A temporary Prefect API for the whole session (starting one costs seconds; do it once)."""
    from doisoat.settings import configure_prefect_env

    configure_prefect_env()
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
