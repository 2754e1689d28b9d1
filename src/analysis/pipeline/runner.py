"""Execute the evaluation plan with papermill: in parallel, skipping unchanged runs.

Each run ``<run_id>`` executes into ``<build_dir>/runs/<run_id>/`` (the run-output contract
read by the report):

* ``notebook.ipynb`` the executed notebook, with ``metadata["kuntakokeilu"]`` = parameters,
  panel sha256, package version, git commit;
* ``run.json`` status and provenance of the run, with ``parameters_sha256`` (the plan entry's
  hash, which the report compares with the plan);
* whatever the notebook writes into its ``output_dir`` parameter (``results.json``,
  ``figures/``, ``tables/``).

A run executes into ``runs/_staging/<run_id>/``; only when it succeeds does that folder replace
``runs/<run_id>/`` (rename, then removal of the old folder), so a failing or interrupted run never
destroys earlier outputs. A failed or interrupted attempt is kept in
``runs/_attempts/<run_id>/`` (its notebook with the traceback, ``run.json``, ``kernel.log``);
the report treats a run whose latest attempt failed as failed.

A run is skipped when its *input hash* -- notebook content without outputs, parameters, the
panel's sha256, the package version and source -- equals the hash of its last successful run.
Every selected entry is validated before anything is executed or written. One ``kuntakokeilu
run`` at a time per build folder (:class:`BuildLock`). Ctrl-C (or SIGTERM) stops every worker
and kernel, records the interrupted runs and raises :class:`KeyboardInterrupt`; a rerun does the
unfinished runs only.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from .. import atomic
from ..errors import InputError
from . import metadata
from .parameters import RUNNER_PARAMETERS, Domains, notebook_parameters, read_notebook, validate_parameters
from .plan import Plan, RunEntry

KERNEL_NAME = "kuntakokeilu"
RUN_FILES = ("notebook.ipynb", "results.json", "figures", "tables", "kernel.log")
STAGING = "_staging"
ATTEMPTS = "_attempts"
LOCK_FILE = ".run.lock"
#: BLAS/OpenMP thread variables set to 1 in the kernels when runs execute in parallel
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class RunOutcome:
    run_id: str
    status: str  # "ok" | "failed" | "skipped" | "interrupted" | "not started"
    seconds: float
    run_dir: Path
    error: str | None = None


def runs_dir(build_dir: str | os.PathLike | None = None) -> Path:
    from .. import paths

    return Path(build_dir if build_dir is not None else paths.BUILD) / "runs"


def notebook_fingerprint(notebook_path: str | os.PathLike) -> str:
    """sha256 of a notebook's content without outputs, execution counts or metadata noise."""
    nb = read_notebook(notebook_path)
    cells = []
    for c in nb.get("cells", []):
        source = c.get("source", "")
        cells.append({"type": c.get("cell_type"),
                      "source": "".join(source) if isinstance(source, list) else source,
                      "tags": sorted((c.get("metadata") or {}).get("tags", []))})
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()


def input_hash(notebook_path, parameters: dict, panel_sha: str | None, version: str) -> str:
    """The skip key of a run: notebook (without outputs), parameters, panel, package version and
    source (:func:`metadata.package_source_sha256`)."""
    payload = {
        "notebook": notebook_fingerprint(notebook_path),
        "parameters": parameters,
        "panel_sha256": panel_sha,
        "package_version": version,
        "package_source": metadata.package_source_sha256(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_run_record(run_dir: Path) -> dict | None:
    try:
        return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------
# one runner per build folder
# ------------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BuildLock:
    """Exclusive lock on a build folder: ``<build>/.run.lock`` holds the runner's PID.

    A second runner gets an :class:`InputError` naming the holder; a lock left by a process that
    no longer exists is taken over."""

    def __init__(self, build_dir: str | os.PathLike):
        self.path = Path(build_dir) / LOCK_FILE
        self.held = False

    def acquire(self) -> "BuildLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = int(self.path.read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    holder = -1
                if holder == os.getpid() or not _pid_alive(holder):
                    # stale: its process is gone (or the file is unreadable and old)
                    if holder < 0 and time.time() - self._mtime() < 5:
                        time.sleep(0.5)  # being written right now
                        continue
                    self.path.unlink(missing_ok=True)
                    continue
                raise InputError(
                    f"another `kuntakokeilu run` (PID {holder}) is using the build folder "
                    f"{self.path.parent}; wait for it to finish or stop it (kill -INT {holder}). "
                    f"If no such run exists, delete {self.path}"
                ) from None
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{os.getpid()}\n")
            self.held = True
            return self
        raise InputError(f"cannot take the lock {self.path}; delete it if no `kuntakokeilu run` is active")

    def _mtime(self) -> float:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    def release(self) -> None:
        if self.held:
            try:
                if int(self.path.read_text().split()[0]) == os.getpid():
                    self.path.unlink()
            except (OSError, ValueError, IndexError):
                pass
            self.held = False

    def __enter__(self) -> "BuildLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# ------------------------------------------------------------------------------------------
# tasks
# ------------------------------------------------------------------------------------------
def _prepare(entries: Iterable[RunEntry], build_dir, panel_path, domains) -> list[dict]:
    """Validate every entry (all errors at once) and build the execution tasks."""
    errors, tasks = [], []
    panel_sha = metadata.panel_sha256(panel_path)
    version = metadata.package_version()
    base = runs_dir(build_dir).resolve()
    for entry in entries:
        try:
            params = validate_parameters(entry.notebook, entry.parameters, domains, run_id=entry.run_id)
            given = sorted(set(params) & set(RUNNER_PARAMETERS))
            if given:
                raise InputError(
                    f"run {entry.run_id!r}: {', '.join(given)} is set by the runner, remove it from the plan"
                )
        except InputError as exc:
            errors.append(str(exc))
            continue
        declared = notebook_parameters(entry.notebook)
        run_dir = base / entry.run_id
        stage_dir = base / STAGING / entry.run_id
        injected = dict(params)
        if "run_id" in declared:
            injected["run_id"] = entry.run_id
        if "output_dir" in declared:
            injected["output_dir"] = str(stage_dir)
        if "panel_path" in declared and panel_path is not None:
            injected["panel_path"] = str(Path(panel_path).resolve())
        tasks.append(
            {
                "run_id": entry.run_id,
                "notebook": str(entry.notebook),
                "parameters": params,
                "parameters_sha256": entry.parameters_sha256,
                "injected": injected,
                "run_dir": str(run_dir),
                "stage_dir": str(stage_dir),
                "attempt_dir": str(base / ATTEMPTS / entry.run_id),
                "panel_path": str(panel_path) if panel_path is not None else None,
                "panel_sha256": panel_sha,
                "package_version": version,
                "input_hash": input_hash(entry.notebook, params, panel_sha, version),
                "expected_seconds": entry.expected_seconds,
            }
        )
    if errors:
        raise InputError(
            f"{len(errors)} run(s) of the plan have invalid parameters (nothing was executed):\n  - "
            + "\n  - ".join(errors)
        )
    return tasks


def is_up_to_date(task: dict) -> bool:
    record = read_run_record(Path(task["run_dir"]))
    return bool(
        record
        and record.get("status") == "ok"
        and record.get("input_hash") == task["input_hash"]
        and record.get("parameters_sha256") == task["parameters_sha256"]
        and (Path(task["run_dir"]) / "notebook.ipynb").is_file()
    )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _replace_dir(source: Path, target: Path) -> None:
    """Move ``source`` onto ``target``: rename the old target aside (next to ``source``, in the
    staging folder), rename, remove the old."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = source.parent / f"{target.name}.old"
    _remove(old)
    if target.exists():
        os.replace(target, old)
    os.replace(source, target)
    _remove(old)


def _finish_task(task: dict, record: dict) -> Path:
    """Put a finished attempt in place: success replaces the run folder, otherwise the attempt
    goes to ``_attempts/`` and the earlier outputs stay. Returns the attempt's folder."""
    stage, run_dir, attempt = Path(task["stage_dir"]), Path(task["run_dir"]), Path(task["attempt_dir"])
    if not stage.is_dir():
        stage.mkdir(parents=True)
    if not (stage / "run.json").is_file():
        atomic.write_text(stage / "run.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    if record.get("status") == "ok":
        _replace_dir(stage, run_dir)
        _remove(attempt)
        return run_dir
    _replace_dir(stage, attempt)
    return attempt


def _interrupted_record(task: dict, status: str = "interrupted") -> dict:
    return {
        "run_id": task["run_id"], "notebook": Path(task["notebook"]).name,
        "parameters": task["parameters"], "parameters_sha256": task["parameters_sha256"],
        "status": status, "finished": _now(), "seconds": 0.0,
        "input_hash": task["input_hash"], "error": "interrupted (Ctrl-C or SIGTERM)",
    }


def expected_seconds(task: dict) -> float:
    """How long a run is expected to take: its last completed attempt's seconds (success or
    failure, not an interrupted one), else the plan's estimate for its notebook, else unknown
    (infinite: start it early)."""
    for folder in (task["run_dir"], task["attempt_dir"]):
        record = read_run_record(Path(folder))
        seconds = record.get("seconds") if record else None
        if (record.get("status") if record else None) in ("ok", "failed") and \
                isinstance(seconds, (int, float)) and seconds > 0:
            return float(seconds)
    planned = task.get("expected_seconds")
    return float(planned) if planned else float("inf")


# ------------------------------------------------------------------------------------------
# workers
# ------------------------------------------------------------------------------------------
def worker_environment(jobs: int, reuse_kernels: bool = True) -> dict[str, str]:
    """Environment of the worker processes (inherited by their kernels): one BLAS/OpenMP thread
    per process when several runs share the cores, unless the user set these variables; without
    ``reuse_kernels`` a new kernel for every run."""
    from .worker import REUSE_VARIABLE

    env = dict(os.environ)
    if not reuse_kernels:
        env[REUSE_VARIABLE] = "0"
    if jobs > 1:
        for name in THREAD_VARIABLES:
            env.setdefault(name, "1")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


class _Worker:
    """A long-lived ``analysis.pipeline.worker`` process in its own session."""

    def __init__(self, kernel_name: str, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.pipeline.worker", kernel_name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1, env=env, start_new_session=True,
        )
        self.task: dict | None = None
        self.kernel: int | None = None  # the worker's current kernel (it keeps one between runs)

    def run(self, task: dict) -> dict:
        from .worker import KERNEL_PREFIX, PROTOCOL_PREFIX

        self.task = task
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(task) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith(KERNEL_PREFIX):
                self.kernel = int(line[len(KERNEL_PREFIX):])
            elif line.startswith(PROTOCOL_PREFIX):
                self.task = None
                return json.loads(line[len(PROTOCOL_PREFIX):])
        raise RuntimeError(f"worker process ended (exit code {self.proc.wait()})")

    def close(self) -> None:
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Stop the worker and its kernels at once (SIGKILL)."""
        from .worker import KERNEL_PID_FILE

        kernels = [self.kernel]
        if self.task is not None:
            pid_file = Path(self.task["stage_dir"]) / KERNEL_PID_FILE
            try:
                kernels.append(int(pid_file.read_text().strip()))
            except (OSError, ValueError):
                pass
        _kill_group(self.proc.pid)
        for kernel in dict.fromkeys(kernels):
            if kernel:
                _kill_group(kernel)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


def _kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (workers and kernels lead their own)."""
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except ProcessLookupError:
            return
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ESRCH):
                raise


def _execute_parallel(todo: list[dict], jobs: int, kernel_name: str,
                      finish: Callable[[dict, dict], None], reuse_kernels: bool = True) -> list[dict]:
    """Run ``todo`` on ``jobs`` workers; on KeyboardInterrupt stop everything, record the
    interrupted runs and re-raise. Returns nothing useful; outcomes go through ``finish``."""
    pending: "queue.Queue[dict]" = queue.Queue()
    for task in todo:
        pending.put(task)
    done: "queue.Queue[tuple[dict, dict]]" = queue.Queue()
    env = worker_environment(jobs, reuse_kernels)
    workers = [_Worker(kernel_name, env) for _ in range(min(jobs, len(todo)))]
    stopping = threading.Event()

    def serve(worker: _Worker) -> None:
        while not stopping.is_set():
            try:
                task = pending.get_nowait()
            except queue.Empty:
                return
            try:
                record = worker.run(task)
            except Exception as exc:  # worker died (killed on interrupt, or crashed)
                if stopping.is_set():
                    return
                record = {"run_id": task["run_id"], "status": "failed", "seconds": 0.0,
                          "error": f"worker process failed: {exc}"}
                done.put((task, record))
                return
            done.put((task, record))

    threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    finished = 0
    try:
        while finished < len(todo):
            try:
                task, record = done.get(timeout=0.2)
            except queue.Empty:
                if not any(t.is_alive() for t in threads) and done.empty():
                    break  # every worker gone (crashed): the rest cannot run
                continue
            finish(task, record)
            finished += 1
    except BaseException:
        stopping.set()
        saved = _ignore_interrupts()  # a second Ctrl-C must not cut the clean-up short
        try:
            in_flight = [w.task for w in workers if w.task is not None]
            for w in workers:
                w.kill()
            for task in in_flight:
                _finish_task(task, _interrupted_record(task))
        finally:
            _restore_interrupts(saved)
        raise
    finally:
        stopping.set()
        for w in workers:
            if w.proc.poll() is None:
                w.close()
    # tasks left because every worker crashed
    left = []
    while not pending.empty():
        left.append(pending.get_nowait())
    for task in left:
        finish(task, {"run_id": task["run_id"], "status": "failed", "seconds": 0.0,
                      "error": "not run: the worker processes ended"})
    return left


def _ignore_interrupts():
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _restore_interrupts(saved) -> None:
    if saved is not None:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])


class _InterruptSignals:
    """Turn SIGTERM into KeyboardInterrupt while the runner works (Ctrl-C already is)."""

    def __enter__(self):
        self.saved = None
        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                raise KeyboardInterrupt

            self.saved = signal.signal(signal.SIGTERM, handler)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            signal.signal(signal.SIGTERM, self.saved)


def run_plan(
    plan: Plan | Iterable[RunEntry],
    *,
    build_dir: str | os.PathLike | None = None,
    jobs: int = 1,
    force: bool = False,
    panel_path: str | os.PathLike | None = None,
    domains: Domains | Callable[[], Domains] | None = None,
    kernel_name: str = KERNEL_NAME,
    progress: bool = True,
    on_done: Callable[[RunOutcome], None] | None = None,
    reuse_kernels: bool = True,
) -> list[RunOutcome]:
    """Validate, then execute the runs (``jobs`` in parallel); return one outcome per run.

    Each job keeps its kernel for its next run (reset in between, :mod:`.kernel_state`; a new
    kernel after a failure); ``reuse_kernels=False`` starts a new kernel for every run.

    ``domains`` may be a function returning them, called only when some run must execute.
    Raises :class:`InputError` (before writing anything) if any run's parameters are invalid or
    another runner holds the build folder. On Ctrl-C / SIGTERM every worker and kernel is stopped
    within seconds, the runs in progress are recorded as interrupted (in ``_attempts/``), and
    :class:`KeyboardInterrupt` is raised (its ``outcomes`` attribute lists every run's state).
    """
    entries = plan.entries if isinstance(plan, Plan) else list(plan)
    if callable(domains):
        # domain values need pandas and the panel (about a second): a rerun whose every run is
        # unchanged skips them, as its inputs (parameters, panel, code) were validated when it ran
        tasks = _prepare(entries, build_dir, panel_path, None)
        if force or not all(is_up_to_date(t) for t in tasks):
            tasks = _prepare(entries, build_dir, panel_path, domains())
    else:
        tasks = _prepare(entries, build_dir, panel_path, domains)
    build = runs_dir(build_dir).parent
    outcomes: dict[str, RunOutcome] = {}
    todo = []
    for task in tasks:
        if not force and is_up_to_date(task):
            outcomes[task["run_id"]] = RunOutcome(task["run_id"], "skipped", 0.0, Path(task["run_dir"]))
        else:
            todo.append(task)
    if not todo:
        return [outcomes[t["run_id"]] for t in tasks]
    # longest first (last durations, else the plan's estimates), so the jobs finish close together
    todo.sort(key=expected_seconds, reverse=True)
    from tqdm.auto import tqdm

    with _InterruptSignals(), BuildLock(build):
        _remove(runs_dir(build_dir) / STAGING)
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="runs", unit="run",
                   disable=not progress, file=sys.stderr, dynamic_ncols=True)

        def finish(task: dict, record: dict) -> None:
            folder = _finish_task(task, record)
            outcome = RunOutcome(task["run_id"], record["status"], float(record.get("seconds") or 0.0),
                                 folder, record.get("error"))
            outcomes[outcome.run_id] = outcome
            bar.set_postfix_str(f"{outcome.run_id}: {outcome.status}", refresh=False)
            bar.update(1)
            if on_done:
                on_done(outcome)

        try:
            _execute_parallel(todo, max(1, jobs), kernel_name, finish, reuse_kernels)
        except KeyboardInterrupt as exc:
            for task in todo:
                if task["run_id"] not in outcomes:
                    attempt = read_run_record(Path(task["attempt_dir"]))
                    status = ("interrupted" if attempt and attempt.get("status") == "interrupted"
                              and attempt.get("input_hash") == task["input_hash"] else "not started")
                    outcomes[task["run_id"]] = RunOutcome(task["run_id"], status, 0.0,
                                                          Path(task["attempt_dir"]))
            exc.outcomes = [outcomes[t["run_id"]] for t in tasks]
            raise
        finally:
            bar.close()
            _remove(runs_dir(build_dir) / STAGING)
    return [outcomes[t["run_id"]] for t in tasks]
