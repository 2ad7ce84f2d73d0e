"""Where doisoat keeps its state, and the environment that makes Prefect's embedded mode fast and quiet offline."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = PROJECT_ROOT / "sample_data" / "demo"


def home() -> Path:
    """The data folder: ``$DOISOAT_HOME`` or ``./data``. Holds the DuckDB file and Prefect's database."""
    return Path(os.environ.get("DOISOAT_HOME", Path.cwd() / "data")).resolve()


def default_db() -> Path:
    return home() / "doisoat.duckdb"


def runs_root() -> Path:
    """Published run folders live here; ``latest`` points at the newest one."""
    return Path(os.environ.get("DOISOAT_RUNS", Path.cwd() / "out")).resolve()


def configure_prefect_env() -> None:
    """Embedded Prefect: no server to run, state under the data folder, no telemetry, patient start-up.

    Must run before ``prefect`` is imported. Values already set in the environment win.
    """
    prefect_home = Path(os.environ.get("PREFECT_HOME", home() / "prefect"))
    prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:  # its database holds flow-run parameters and logs: owner-only, like the DuckDB file
        prefect_home.chmod(0o700)
    except OSError:
        pass
    defaults = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # 2 cores: a fresh SQLite database took ~20 s to start here (STACK.md), the default limit is 20 s.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_LOG_PRINTS": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
