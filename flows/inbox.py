"""The inbox night as a Prefect flow, and ``serve``: the schedule a commune starts once and leaves running.

``nightly_inbox`` chooses the newest complete file per sector from the inbox (:mod:`doisoat.inbox`), runs the
reconciliation on them and files the inbox away after the run is recorded. ``serve`` runs it on a cron schedule in
Asia/Ho_Chi_Minh with Prefect's ``flow.serve``; Prefect's scheduler needs an API server, so when no
``PREFECT_API_URL`` is set ``serve`` starts a local one on 127.0.0.1 over the same embedded SQLite database under
``data/prefect`` and stops it on exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed

import flows  # noqa: F401  (the embedded-Prefect environment, before prefect starts)
from doisoat import inbox as inbox_mod
from doisoat import pipeline
from doisoat.errors import DoisoatError, UserError
from doisoat.runs import check_runs_folder
from flows.nightly import (
    _artifacts,
    current_run_id,
    new_run_name,
    prefect_step,
    result_dict,
    run_once,
)

TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_CRON = "30 1 * * *"  # 01:30 every night, Vietnam time
DEPLOYMENT = "nightly-inbox"


def _open(inbox: str, archive: str | None) -> inbox_mod.Inbox:
    return inbox_mod.Inbox.open(Path(inbox), Path(archive) if archive else None)


@flow(name="doisoat-inbox", flow_run_name=new_run_name, log_prints=False)
def nightly_inbox(inbox: str, config: dict, archive: str | None = None) -> dict:
    """One night of the inbox: the newest complete file per sector, reconciled, then archived or rejected.

    ``config``: the run configuration as :meth:`RunConfig.to_dict` writes it (a deployment's parameters are JSON).
    """
    try:
        box = _open(inbox, archive)
        base = replace(pipeline.RunConfig.from_dict(config), run_id=current_run_id())

        def run(config: pipeline.RunConfig) -> dict:
            pipeline.check_inputs(config)
            summary = pipeline.reconcile(config, step=prefect_step)
            _artifacts(summary)
            return result_dict(summary)

        night = inbox_mod.night(box, base, run)
    except DoisoatError as exc:  # the user's mistake: a failed run with the message, no traceback
        create_markdown_artifact(key="doisoat-inbox", markdown=f"## Lỗi / error\n\n{exc}")
        return Failed(message=str(exc))
    create_markdown_artifact(
        key="doisoat-inbox",
        markdown="## Hộp thư / inbox\n\n" + "\n".join(f"- {x.strip()}" for x in night.lines()),
    )
    return night.as_dict()


def inbox_once(inbox: Path, base: pipeline.RunConfig, archive: Path | None = None) -> inbox_mod.Night:
    """``doisoat run --inbox``: choose the files before Prefect starts (no new file: no Prefect at all)."""
    box = inbox_mod.Inbox.open(inbox, archive)
    if not base.reference.is_file():
        pipeline.check_inputs(replace(base, extracts=[]))
    return inbox_mod.night(box, base, run_once)


# ---------------------------------------------------------------- serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:  # noqa: S310  (our own 127.0.0.1 server)
            return r.status == 200
    except OSError:
        return False


@contextmanager
def local_api(startup_seconds: float = 180.0):
    """A Prefect API for the scheduler: the one in PREFECT_API_URL, else a local server this process starts."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log_path = Path(os.environ.get("PREFECT_HOME", ".")) / "server.log"
    print(
        f"Khởi động máy chủ Prefect cục bộ (nhật ký: {log_path}) … / starting a local Prefect server",
        flush=True,
    )
    log = open(log_path, "ab")  # noqa: SIM115  (the server writes to it until it stops)
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + startup_seconds
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise UserError(
                    "Không khởi động được máy chủ Prefect cục bộ (prefect server start). Kiểm tra quyền ghi "
                    "PREFECT_HOME, hoặc chỉ máy chủ có sẵn bằng PREFECT_API_URL. / the local Prefect server did "
                    "not start"
                )
            time.sleep(0.5)
        from prefect.settings import PREFECT_API_URL, temporary_settings

        os.environ["PREFECT_API_URL"] = url  # the flow-run processes the runner starts
        with temporary_settings(updates={PREFECT_API_URL: url}):  # this process (settings read at import)
            yield url
    finally:
        if os.environ.get("PREFECT_API_URL") == url:
            del os.environ["PREFECT_API_URL"]
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if ``serve`` itself is killed, so no orphan server keeps the port."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def schedule(cron: str | None, interval_seconds: float | None):
    """The schedule in Vietnam time: cron (default 01:30 nightly) or, for trials, an interval."""
    from prefect.schedules import Cron, Interval

    if interval_seconds:
        return Interval(timedelta(seconds=interval_seconds), timezone=TIMEZONE)
    try:
        from prefect.schedules import validate_cron_string

        validate_cron_string(cron or DEFAULT_CRON)
    except ValueError:
        raise UserError(
            f"Lịch '{cron}' không phải biểu thức cron hợp lệ (vd. \"30 1 * * *\"). / invalid cron"
        ) from None
    return Cron(cron or DEFAULT_CRON, timezone=TIMEZONE)


def serve(
    inbox: Path,
    base: pipeline.RunConfig,
    archive: Path | None = None,
    cron: str | None = None,
    interval_seconds: float | None = None,
) -> None:
    """Serve ``nightly_inbox`` on its schedule until stopped (Ctrl-C or SIGTERM). Paths become absolute here."""
    sched = schedule(cron, interval_seconds)
    if not base.reference.is_file():
        pipeline.check_inputs(replace(base, extracts=[]))
    box = inbox_mod.Inbox.open(inbox, archive)  # the layout now, so agencies can start dropping files
    box.check_apart(base.runs_root(), base.db_path)  # what every night would refuse, refused once now
    check_runs_folder(base.runs_root(), base.db_path)
    parameters = {
        "inbox": str(inbox.resolve()),
        "archive": str(archive.resolve()) if archive else None,
        "config": base.to_dict(),  # the whole configuration, paths absolute: every night runs with it
    }
    from prefect.deployments.runner import EntrypointType

    with local_api() as url:
        print(
            f"doisoat serve: lịch {cron or DEFAULT_CRON if not interval_seconds else f'mỗi {interval_seconds:g} giây'}"
            f" ({TIMEZONE}), hộp thư {parameters['inbox']}, Prefect API {url}. Dừng bằng Ctrl-C.",
            flush=True,
        )
        nightly_inbox.serve(
            name=DEPLOYMENT,
            schedules=[sched],
            parameters={k: v for k, v in parameters.items() if v is not None},
            description="Đối soát hằng đêm từ hộp thư / nightly reconciliation from the inbox",
            print_starting_message=False,
            limit=1,  # one night at a time (the locks would refuse a second one anyway)
            entrypoint_type=EntrypointType.MODULE_PATH,  # runs import flows.inbox, wherever serve was started
        )
