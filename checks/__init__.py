"""Data-quality gate: Great Expectations suites over small aggregates of each run, Data Docs, plain-words failures.

Importing this package does not import Great Expectations; :func:`run_gate` does, when it runs.
"""

from checks.aggregates import dung_rates
from checks.gate import GateFailure, GateResult, run_gate
from checks.settings import GateSettings
from checks.suites import SUITE_VERSION

__all__ = ["SUITE_VERSION", "GateFailure", "GateResult", "GateSettings", "dung_rates", "run_gate"]
