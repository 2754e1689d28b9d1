"""A worker process of ``kuntakokeilu run``: executes runs with papermill, one at a time.

Started by :mod:`analysis.pipeline.runner` as ``python -m analysis.pipeline.worker`` in its own
session (a Ctrl-C in the terminal reaches only the runner, which then stops the workers and their
kernels itself). It reads one task per line (JSON) on stdin and answers each with one line
``RECORD <json>`` on its original stdout; everything else (papermill, the kernel) writes to the
run's ``kernel.log``. One long-lived worker per job saves the interpreter start and the papermill
import of every run after the first.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

PROTOCOL_PREFIX = "RECORD "
#: written by the worker into the run's staging folder: the kernel's process id
KERNEL_PID_FILE = "kernel.pid"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _short_error(exc: BaseException) -> str:
    name = getattr(exc, "ename", None)
    value = getattr(exc, "evalue", None)
    if name:
        return f"{name}: {value}"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-2000:]


def _kernel_manager_class():
    """An ``AsyncKernelManager`` that writes its kernel's PID next to the run's outputs, so that
    the runner can stop the kernel (which runs in a session of its own) on an interrupt."""
    from jupyter_client.manager import AsyncKernelManager

    class RecordingKernelManager(AsyncKernelManager):
        pid_file: str | None = None

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)
            process = getattr(self.provisioner, "process", None)
            if self.pid_file and process is not None:
                Path(self.pid_file).write_text(str(process.pid))

    return RecordingKernelManager


def execute_task(task: dict, kernel_name: str) -> dict:
    """Execute one run into its staging folder; return its ``run.json`` record (also written)."""
    import nbformat
    import papermill

    from .. import atomic
    from . import metadata

    stage = Path(task["stage_dir"])
    stage.mkdir(parents=True, exist_ok=True)
    output = stage / "notebook.ipynb"
    started, t0 = _now(), time.perf_counter()
    error = None
    manager = _kernel_manager_class()
    manager.pid_file = str(stage / KERNEL_PID_FILE)
    log = open(stage / "kernel.log", "w", encoding="utf-8")
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        papermill.execute_notebook(
            task["notebook"], str(output), parameters=task["injected"], kernel_name=kernel_name,
            cwd=str(Path(task["notebook"]).parent), progress_bar=False, log_output=False,
            kernel_manager_class=manager,
        )
    except Exception as exc:  # failing notebook: papermill saved it with the traceback
        error = _short_error(exc)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        log.close()
        (stage / KERNEL_PID_FILE).unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    meta = {
        "parameters": {**task["injected"], **({"output_dir": task["run_dir"]}
                                               if "output_dir" in task["injected"] else {})},
        "panel_sha256": task["panel_sha256"],
        "package_version": task["package_version"],
        "git_commit": metadata.git_commit(),
    }
    if output.is_file():
        try:
            nb = nbformat.read(output, as_version=4)
            nb.metadata["kuntakokeilu"] = meta
            atomic.write_text(output, nbformat.writes(nb))
        except Exception as exc:  # pragma: no cover - unreadable output notebook
            error = error or f"could not record metadata: {exc}"
    record = {
        "run_id": task["run_id"],
        "notebook": Path(task["notebook"]).name,
        "parameters": task["parameters"],
        "parameters_sha256": task["parameters_sha256"],
        "status": "failed" if error else "ok",
        "started": started,
        "finished": _now(),
        "seconds": round(seconds, 3),
        "panel_sha256": task["panel_sha256"],
        "package_version": task["package_version"],
        "git_commit": meta["git_commit"],
        "input_hash": task["input_hash"],
        "error": error,
    }
    atomic.write_text(stage / "run.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record


def main() -> int:
    # the protocol channel is the original stdout; fd 1 goes to /dev/null between runs
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    kernel_name = sys.argv[1] if len(sys.argv) > 1 else "kuntakokeilu"
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        try:
            record = execute_task(task, kernel_name)
        except Exception as exc:  # a failure outside the notebook (disk full, ...)
            record = {"run_id": task["run_id"], "status": "failed", "seconds": 0.0,
                      "error": _short_error(exc)}
        channel.write(PROTOCOL_PREFIX + json.dumps(record) + "\n")
        channel.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
