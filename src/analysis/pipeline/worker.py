"""A worker process of ``kuntakokeilu run``: executes runs with papermill, one at a time.

Started by :mod:`analysis.pipeline.runner` as ``python -m analysis.pipeline.worker`` in its own
session (a Ctrl-C in the terminal reaches only the runner, which then stops the workers and their
kernels itself). It reads one task per line (JSON) on stdin and answers each with one line
``RECORD <json>`` on its original stdout; everything else (papermill, the kernel) writes to the
run's ``kernel.log``. One long-lived worker per job saves the interpreter start and the papermill
import of every run after the first.

The worker also keeps its kernel (:class:`KernelSession`): the next run starts in the same
kernel after :func:`analysis.pipeline.kernel_state.reset` has cleared the user namespace and
restored the process state a new kernel has, which saves the kernel start and the imports of
the analysis libraries (several CPU-seconds a run). Each run still has its own notebook, staging
folder, status and traceback. A run that fails or whose kernel dies is followed by a new kernel,
so a failure never carries over into the next run. The worker announces every kernel it starts
with a line ``KERNEL <pid>``, so the runner can stop it on an interrupt.
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
#: the worker's line announcing a kernel it started: ``KERNEL <pid>``
KERNEL_PREFIX = "KERNEL "
#: ``0`` gives every run a new kernel (no reuse)
REUSE_VARIABLE = "KUNTAKOKEILU_REUSE_KERNELS"
#: written by the worker into the run's staging folder: the kernel's process id
KERNEL_PID_FILE = "kernel.pid"
#: optional modules the worker's imports would load but never use: jsonschema (imported by
#: nbformat) loads ``rfc3987_syntax`` for its "iri" format checker, which compiles a grammar at
#: import (about 1.5 CPU-s per worker); nbformat validates notebooks without format checkers
UNUSED_OPTIONAL_MODULES = ("rfc3987_syntax",)


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
    """An ``AsyncKernelManager`` that reports its kernel's PID (``on_start``) and keeps the
    clients made for it, so that they can be closed after each run (the kernel outlives them)."""
    from jupyter_client.manager import AsyncKernelManager

    class PooledKernelManager(AsyncKernelManager):
        on_start = None

        def __init__(self, **kw):
            super().__init__(**kw)
            self.clients = []

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)
            process = getattr(self.provisioner, "process", None)
            if self.on_start is not None and process is not None:
                self.on_start(process.pid)

        def client(self, **kw):
            kc = super().client(**kw)
            self.clients.append(kc)
            return kc

        def close_clients(self) -> None:
            for kc in self.clients:
                try:
                    kc.stop_channels()
                except Exception:  # pragma: no cover - a client of a dead kernel
                    pass
            self.clients.clear()

    return PooledKernelManager


#: the kernel-side module, as an expression that binds no name in the user namespace
_KERNEL_STATE = "__import__('analysis.pipeline.kernel_state', fromlist=['reset'])"


class KernelError(RuntimeError):
    """The kernel did not run the runner's own code (baseline or reset): it is replaced by a new
    kernel; a run fails only if a new kernel cannot record its baseline either."""


class KernelSession:
    """The kernel a worker keeps from one run to the next.

    ``prepare(cwd)`` returns a kernel manager ready for the next notebook: a new kernel (with
    its baseline recorded, :func:`analysis.pipeline.kernel_state.record_baseline`) when there is
    none or the last one died or ran a failing notebook, else the same kernel after
    :func:`analysis.pipeline.kernel_state.reset`."""

    def __init__(self, kernel_name: str, announce=None, reuse: bool = True):
        self.kernel_name = kernel_name
        self.announce = announce
        self.reuse = reuse
        self.km = None
        self.pid: int | None = None
        self.runs = 0

    def _started(self, pid: int) -> None:
        self.pid = pid
        if self.announce is not None:
            self.announce(pid)

    def prepare(self, cwd: str):
        from jupyter_core.utils import run_sync

        if self.km is not None and not run_sync(self.km.is_alive)():
            print(f"kuntakokeilu run: kernel {self.pid} has ended; starting a new one", file=sys.stderr)
            self.discard()
        if self.km is not None and self.runs:
            try:
                self.execute(f"{_KERNEL_STATE}.reset({cwd!r})")
            except KernelError as exc:  # a kernel that cannot be reset is replaced
                print(f"kuntakokeilu run: kernel {self.pid} could not be reset ({exc}); starting a new one",
                      file=sys.stderr)
                self.discard()
        if self.km is None:
            manager = _kernel_manager_class()(kernel_name=self.kernel_name)
            manager.on_start = self._started
            self.km = manager
            try:
                run_sync(manager.start_kernel)(cwd=cwd)
                if self.reuse:
                    self.execute(f"{_KERNEL_STATE}.record_baseline()")
            except Exception:
                self.discard()
                raise
            self.runs = 0
        return self.km

    def execute(self, code: str, timeout: float = 120) -> None:
        """Run ``code`` silently in the kernel (no history, no output); KernelError on failure."""
        from jupyter_core.utils import run_sync

        async def go():
            kc = self.km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=timeout)
                reply = await kc.execute_interactive(code, silent=True, store_history=False,
                                                     timeout=timeout, output_hook=lambda msg: None)
            finally:
                self.km.close_clients()
            content = reply["content"]
            if content.get("status") != "ok":
                raise KernelError(f"{content.get('ename')}: {content.get('evalue')}")

        try:
            run_sync(go)()
        except KernelError:
            raise
        except Exception as exc:
            raise KernelError(f"the kernel did not answer: {_short_error(exc)}") from exc

    def finished(self, ok: bool) -> None:
        """After a run: keep the kernel for the next one if the run succeeded, else discard it."""
        if self.km is not None:
            self.km.close_clients()
        self.runs += 1
        if not (ok and self.reuse):
            self.discard()

    def discard(self) -> None:
        """Shut the kernel down (at once) and forget it."""
        from jupyter_core.utils import run_sync

        km, self.km, self.pid = self.km, None, None
        if km is None:
            return
        km.close_clients()
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # pragma: no cover - already gone
            pass


def execute_task(task: dict, kernel_name: str, session: KernelSession | None = None) -> dict:
    """Execute one run into its staging folder; return its ``run.json`` record (also written).

    With a ``session`` the run uses (and may leave) the session's kernel, else a kernel of its
    own, shut down after the run."""
    import nbformat
    import papermill

    from .. import atomic
    from . import metadata

    if session is None:
        session = KernelSession(kernel_name, reuse=False)
    stage = Path(task["stage_dir"])
    stage.mkdir(parents=True, exist_ok=True)
    output = stage / "notebook.ipynb"
    pid_file = stage / KERNEL_PID_FILE
    started, t0 = _now(), time.perf_counter()
    error = None
    log = open(stage / "kernel.log", "w", encoding="utf-8")
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    cwd = str(Path(task["notebook"]).parent)
    try:
        km = session.prepare(cwd)
        pid_file.write_text(str(session.pid))
        papermill.execute_notebook(
            task["notebook"], str(output), parameters=task["injected"], kernel_name=kernel_name,
            cwd=cwd, progress_bar=False, log_output=False, km=km,
        )
    except Exception as exc:  # failing notebook: papermill saved it with the traceback
        error = _short_error(exc)
    finally:
        session.finished(ok=error is None)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        log.close()
        pid_file.unlink(missing_ok=True)
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
    for name in UNUSED_OPTIONAL_MODULES:  # an import of them raises ImportError, which
        sys.modules.setdefault(name, None)  # jsonschema expects of optional modules
    # the protocol channel is the original stdout; fd 1 goes to /dev/null between runs
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    kernel_name = sys.argv[1] if len(sys.argv) > 1 else "kuntakokeilu"
    reuse = os.environ.get(REUSE_VARIABLE, "1") != "0"

    def announce(pid: int) -> None:
        channel.write(f"{KERNEL_PREFIX}{pid}\n")
        channel.flush()

    session = KernelSession(kernel_name, announce, reuse=reuse)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            task = json.loads(line)
            try:
                record = execute_task(task, kernel_name, session)
            except Exception as exc:  # a failure outside the notebook (disk full, ...)
                record = {"run_id": task["run_id"], "status": "failed", "seconds": 0.0,
                          "error": _short_error(exc)}
                session.discard()
            channel.write(PROTOCOL_PREFIX + json.dumps(record) + "\n")
            channel.flush()
    finally:
        session.discard()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
