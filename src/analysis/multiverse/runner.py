"""Run a multiverse: expand the grid, build the frames, estimate every specification and its
placebo draws as Dask tasks, and write ``specifications.parquet``, ``summary.json`` and
``frames/`` all-or-nothing.

Scheduling: by default a ``LocalCluster`` on this machine (``workers`` processes, one thread
each); ``scheduler="tcp://HOST:PORT"`` sends the same tasks to an existing cluster (e.g. one
started by dask-jobqueue on an HPC system); ``scheduler="inline"`` runs them one after another
in this process. Frames and placebo assignments are scattered to the workers once. Every
random draw is seeded from content (a specification's seed hashes its choices; the joint
test's seed is the grid's), so the files do not depend on where the tasks ran.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import registry
from ..errors import InputError, choices_message
from . import frames as frames_mod
from .estimate import EstimateCall, outcome_column, weight_column
from .grid import CHOICES, Candidate, Grid, Specification, expand, load_grid
from .joint import clean, curve_summary, joint_test
from .placebo import RESTRICTED_POOLS, describe_construction, draw_assignments

SCHEMA = 1
#: placebo draws per task: estimators that re-solve weights on every draw (SDID, synthetic
#: control) are split into blocks; a regression takes all draws in one task (its batched form
#: costs little per draw next to building the specification's panel)
BLOCK = 500
SPLIT_ESTIMATORS = ("sdid", "sc")


# ------------------------------------------------------------------------------------------
# tasks (module-level functions: they run on Dask workers)
# ------------------------------------------------------------------------------------------
def estimate_task(call, frame: pd.DataFrame) -> dict[str, Any]:
    """One specification's own estimate; a design the estimator refuses is recorded."""
    from .estimate import estimate_row

    try:
        return {"status": "estimated", "reason": None, **estimate_row(call, frame)}
    except InputError as exc:
        return {"status": "skipped", "reason": f"{call.method}: {exc}"}


def frame_task(panel: pd.DataFrame, key: tuple):
    """The analysis frame of ``key`` (or ``None`` and the reason)."""
    return frames_mod.build_frame(panel, key)


def _donor_key(spec: Specification) -> tuple:
    """Frame key of the default pool in the specification's window: the placebo units' rows."""
    return (spec.model, spec.outcome, "default", spec.start_year, spec.end_year, spec.covariates,
            spec.breaks)


def comparisons_task(control_pool: str, donor: pd.DataFrame, pool: list[str], assign: np.ndarray,
                     outcome: str) -> tuple[list[str], np.ndarray]:
    """Per placebo draw, the units of a ``same_region`` / ``matched`` placebo frame: the
    default pool's controls of the window (``donor``) and the bool matrix draws x those units."""
    from .placebo import SpecPanel, restricted_comparisons

    panel = SpecPanel(donor, donor, pool, outcome)
    included = restricted_comparisons(control_pool, panel, donor, outcome, assign)
    return list(panel.units), included


def placebo_task(estimator: str, outcome: str, covariates: tuple, weights: str | None,
                 frame: pd.DataFrame, donor: pd.DataFrame, pool: list[str], assign: np.ndarray,
                 start: int, stop: int, comparisons: tuple | None = None):
    """The specification's estimates on placebo draws ``start:stop`` and, for SDID, whether each
    fit's Frank-Wolfe weights converged (``(estimates, converged or None)``,
    :func:`analysis.multiverse.placebo.placebo_fits`). With ``comparisons``
    (:func:`comparisons_task`: a ``same_region`` or ``matched`` specification) each draw's
    comparison units are those rebuilt around its placebo units; units without the
    specification's outcome column (a log of a non-positive value) leave that frame."""
    return placebo_group_task((estimator,), outcome, covariates, weights, frame, donor, pool,
                              assign, start, stop, comparisons)[0]


def placebo_group_task(estimators: tuple[str, ...], outcome: str, covariates: tuple,
                       weights: str | None, frame: pd.DataFrame, donor: pd.DataFrame,
                       pool: list[str], assign: np.ndarray, start: int, stop: int,
                       comparisons: tuple | None = None) -> list:
    """:func:`placebo_task` for several estimators of specifications that differ in the
    estimator only: their placebo panel is built once. One ``(estimates, converged or None)``
    per estimator, in order."""
    from .placebo import SpecPanel, member_mask, placebo_fits

    block = assign[start:stop]
    if comparisons is None:
        panel = SpecPanel(frame, donor, pool, outcome, covariates, weights)
        included = None
    else:
        need = [outcome, *covariates] + ([weights] if weights else [])
        complete = donor[need].notna().all(axis=1).groupby(donor["kunta"]).all()
        usable = donor[member_mask(donor["kunta"], set(complete.index[complete]))]
        panel = SpecPanel(usable, usable, pool, outcome, covariates, weights)
        units, rebuilt = comparisons
        included = rebuilt[start:stop][:, pd.Index(units).get_indexer(panel.units)]
    return [placebo_fits(e, panel, block, included) for e in estimators]


# ------------------------------------------------------------------------------------------
# executors
# ------------------------------------------------------------------------------------------
class InlineExecutor:
    """Runs tasks in this process, in submission order (tests, one-core benchmarks)."""

    def scatter(self, obj):
        return obj

    def submit(self, fn, *args):
        return fn(*args)

    def results(self, futures, on_done):
        out = []
        for f in futures:
            out.append(f)
            on_done()
        return out

    def close(self):
        pass


class DaskExecutor:
    def __init__(self, scheduler: str | None, workers: int):
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler is None:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(scheduler, timeout="15s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}; "
                                 "give --scheduler tcp://HOST:PORT of a running scheduler, or omit "
                                 "it for a local cluster") from exc

    def scatter(self, obj):
        return self.client.scatter(obj, broadcast=False, hash=False)

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def results(self, futures, on_done):
        from distributed import as_completed

        for _ in as_completed(futures):
            on_done()
        return self.client.gather(futures)

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _executor(scheduler: str | None, workers: int):
    if scheduler == "inline":
        return InlineExecutor()
    if scheduler is not None and not str(scheduler).startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise InputError(f"invalid --scheduler {scheduler!r}; valid choices: tcp://HOST:PORT (or "
                         "tls://...) of a running Dask scheduler, 'inline', or none for a local cluster")
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    return DaskExecutor(scheduler, workers)


class Progress:
    """Number of tasks done and the estimated time left, at most every ``every`` seconds."""

    def __init__(self, total: int, label: str, write: Callable[[str], None] | None, every: float = 2.0):
        self.total, self.label, self.write, self.every = total, label, write, every
        self.done = 0
        self.start = time.monotonic()
        self.last = -1e9

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.write and (now - self.last >= self.every or self.done == self.total):
            self.last = now
            elapsed = now - self.start
            left = elapsed / self.done * (self.total - self.done)
            self.write(f"{self.label}: {self.done}/{self.total} tasks done, "
                       f"{elapsed:.0f} s elapsed, about {left:.0f} s left")


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """Validated inputs of a run."""

    model: str
    outcomes: list[str]
    grid: Grid


def check_inputs(model: str, outcome: str | None, grid_path=None) -> Plan:
    from ..outcomes import outcomes_of

    if model not in registry.models():
        raise InputError(choices_message("model", model, registry.models()))
    valid = outcomes_of(model, include_secondary=True)
    if outcome is not None and outcome not in valid:
        raise InputError(choices_message(f"outcome of {model}", outcome, valid))
    outcomes = [outcome] if outcome else (outcomes_of(model) or valid)
    return Plan(model, outcomes, load_grid(grid_path))


def ensure_panel(log=None, panel_path=None) -> pd.DataFrame:
    """The validated panel; the default one is built from the shipped raw data if missing."""
    from .. import paths
    from ..panel import build_panel, load_panel

    if panel_path is not None:
        return load_panel(panel_path)
    if not paths.PANEL_FILE.exists():
        from ..live.config import configured_series

        if log:
            log("building the panel from data/raw (kuntakokeilu panel)")
        build_panel(extra_series=configured_series(), log=(lambda m: None))
    return load_panel()


def _outcome_years(panel: pd.DataFrame, outcome: str) -> tuple[int, int] | None:
    years = panel.loc[panel[outcome].notna(), "year"]
    return (int(years.min()), int(years.max())) if len(years) else None


def run_multiverse(model: str, outcome: str | None = None, *, out_dir: str | os.PathLike,
                   grid: str | os.PathLike | None = None, scheduler: str | None = None,
                   workers: int = 2, panel: pd.DataFrame | None = None, panel_path=None,
                   settings: dict | None = None,
                   log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the grid for ``model`` (all its outcomes unless ``outcome``) into ``out_dir``;
    return the summary. ``settings`` overrides the grid's settings (e.g. ``placebo_draws``).
    Nothing is written unless the whole run succeeds."""
    plan = check_inputs(model, outcome, grid)
    for key, value in (settings or {}).items():
        if key not in plan.grid.settings:
            raise InputError(choices_message("setting", key, plan.grid.settings))
        if key in ("placebo_draws", "ri_reps", "sdid_reps") and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"setting {key} must be a positive integer, got {value!r}")
        plan.grid.settings[key] = value
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} exists and is not a folder")
    executor = _executor(scheduler, workers)
    try:
        panel = ensure_panel(log, panel_path) if panel is None else panel
        rows, summaries, frame_files = _run(plan, panel, executor, log)
    finally:
        executor.close()
    _write_outputs(out_dir, rows, summaries, frame_files, plan)
    if log:
        n_est = int((rows["status"] == "estimated").sum())
        log(f"wrote {out_dir}/specifications.parquet ({len(rows)} specifications, {n_est} estimated), "
            f"summary.json and {len(frame_files)} frames")
    return json.loads((out_dir / "summary.json").read_text())


def _run(plan: Plan, panel: pd.DataFrame, executor, log):
    settings = plan.grid.settings
    n_treated_clusters = len(registry.units(plan.model))
    all_rows: list[dict] = []
    summaries: dict[str, dict] = {}
    frame_files: dict[str, pd.DataFrame] = {}
    for outcome in plan.outcomes:
        if outcome not in panel.columns:
            raise InputError(choices_message("panel column", outcome, panel.columns))
        candidates = expand(plan.grid, plan.model, outcome,
                            outcome_years=_outcome_years(panel, outcome),
                            n_treated_clusters=n_treated_clusters, panel_columns=set(panel.columns))
        rows, summary = _run_outcome(plan, outcome, candidates, panel, executor, settings,
                                     frame_files, log)
        all_rows.extend(rows)
        summaries[outcome] = summary
    table = pd.DataFrame(all_rows)
    return table, summaries, frame_files


def _run_outcome(plan, outcome, candidates: list[Candidate], panel, executor, settings,
                 frame_files, log):
    runnable = [c.spec for c in candidates if c.reason is None]
    reasons: dict[Specification, str | None] = {c.spec: c.reason for c in candidates}
    # frames: one per distinct key; donors (default pool, same window) for the placebo draws
    joint_names = settings["joint_estimators"]
    keys = list(dict.fromkeys([s.frame_key for s in runnable]
                              + [_donor_key(s) for s in runnable if s.estimator in joint_names]))
    panel_sc = executor.scatter(panel)
    futures = [executor.submit(frame_task, panel_sc, key) for key in keys]
    progress = Progress(len(futures), f"multiverse {plan.model} / {outcome}: analysis frames", log)
    built: dict[tuple, Any] = {}
    for key, (frame, why) in zip(keys, executor.results(futures, progress.step)):
        built[key] = why if frame is None else frame
    for spec in runnable:
        f = built[spec.frame_key]
        if isinstance(f, str):
            reasons[spec] = f
        elif spec.transform == "log":
            reasons[spec] = frames_mod.log_reason(f, outcome)
    runnable = [s for s in runnable if reasons[s] is None]
    joint_specs = [s for s in runnable if s.estimator in settings["joint_estimators"]]
    donors: dict[tuple, pd.DataFrame] = {}
    for spec in joint_specs:
        dkey = _donor_key(spec)
        if dkey not in donors:
            donors[dkey] = built[dkey] if isinstance(built.get(dkey), pd.DataFrame) else None
    joint_specs = [s for s in joint_specs if donors[_donor_key(s)] is not None]
    columns = sorted({outcome_column(s) for s in joint_specs})
    pool = _placebo_pool(list(donors.values()), columns) if joint_specs else []
    if joint_specs and len(pool) < 3:
        joint_specs = []
    seed = _joint_seed(settings["seed"], plan.model, outcome)
    sizes = _treated_cluster_sizes(next((f for f in built.values() if isinstance(f, pd.DataFrame)), None))
    units = next((d for d in donors.values() if d is not None), None)
    assign = (draw_assignments(pool, sizes, settings["placebo_draws"], seed, units) if joint_specs
              else np.zeros((0, 0), dtype=np.int16))
    conditioned = None
    if any(s.control_pool == "same_region" for s in joint_specs):
        assign, conditioned = _same_region_draws(assign, pool, sizes, settings["placebo_draws"], seed, units)

    # tasks
    scattered = {key: executor.scatter(f) for key, f in built.items() if isinstance(f, pd.DataFrame)}
    donor_sc = {k: scattered[k] if k in scattered else executor.scatter(f)
                for k, f in donors.items() if f is not None}
    assign_sc = executor.scatter(assign) if joint_specs else None
    pool_sc = executor.scatter(pool) if joint_specs else None
    est_futures = []
    for spec in runnable:
        call = EstimateCall.for_spec(spec, settings)
        est_futures.append(executor.submit(estimate_task, call, scattered[spec.frame_key]))
    n_draws = assign.shape[0]
    comparisons: dict[tuple, Any] = {}  # rebuilt pools, once per distinct candidate set
    # placebo tasks: specifications that differ in the estimator only share one task per block
    # of draws (their placebo panel is built once)
    groups: dict[tuple, list[Specification]] = {}
    task_args: dict[tuple, tuple] = {}
    for spec in joint_specs:
        dkey = _donor_key(spec)
        if donor_sc.get(dkey) is None:
            continue
        ckey = None
        if spec.control_pool in RESTRICTED_POOLS:
            d = donors[dkey]
            ckey = (spec.control_pool, spec.start_year,
                    tuple(sorted(d.loc[d["treated_group"] == 0, "kunta"].unique())))
            if ckey not in comparisons:
                comparisons[ckey] = executor.submit(comparisons_task, spec.control_pool, donor_sc[dkey],
                                                    pool_sc, assign_sc, outcome)
        block = BLOCK if spec.estimator in SPLIT_ESTIMATORS else max(n_draws, 1)
        for start in range(0, n_draws, block):
            stop = min(start + block, n_draws)
            gkey = (spec.frame_key, outcome_column(spec), spec.covariates, weight_column(spec), dkey,
                    ckey, start, stop)
            groups.setdefault(gkey, []).append(spec)
            task_args[gkey] = (outcome_column(spec), spec.covariates, weight_column(spec),
                               scattered[spec.frame_key], donor_sc[dkey], pool_sc, assign_sc, start, stop,
                               comparisons[ckey] if ckey else None)
    draw_futures: list[tuple[list[str], list[tuple[Specification, int]], Any]] = []
    for gkey, specs in groups.items():
        estimators = list(dict.fromkeys(s.estimator for s in specs))
        fut = executor.submit(placebo_group_task, tuple(estimators), *task_args[gkey])
        draw_futures.append((estimators, [(s, gkey[-2]) for s in specs], fut))
    progress = Progress(len(est_futures) + len(draw_futures), f"multiverse {plan.model} / {outcome} "
                        f"({len(runnable)} specifications, {n_draws} placebo draws)", log)
    est_results = executor.results(est_futures, progress.step)
    draw_results = executor.results([f for _, _, f in draw_futures], progress.step)

    # rows in grid order
    by_spec = dict(zip(runnable, est_results))
    rows = []
    for c in candidates:
        spec = c.spec
        row = {"spec_id": spec.spec_id, "model": spec.model, "outcome": spec.outcome}
        for ch in CHOICES:
            row[ch] = spec.covariates_label if ch == "covariates" else getattr(spec, ch)
        res = by_spec.get(spec)
        if res is None:
            row.update(status="skipped", reason=reasons[spec])
        else:
            row.update(res)
        if row["status"] == "estimated":
            row["frame"] = frames_mod.frame_name(spec.frame_key)
            row["command"] = EstimateCall.for_spec(spec, settings).command(row["frame"])
            frame_files[row["frame"]] = built[spec.frame_key]
        rows.append(row)
    table = _typed(pd.DataFrame(rows))

    # joint test: observed estimates + placebo draws per specification
    blocks: dict[Specification, list] = {}
    for (estimators, members, _), results in zip(draw_futures, draw_results):
        by_estimator = dict(zip(estimators, results))
        for spec, start in members:
            blocks.setdefault(spec, []).append((start, by_estimator[spec.estimator]))
    draws: dict[Specification, list] = {}
    converged: dict[Specification, list] = {}
    for spec in [s for s in joint_specs if s in blocks]:       # in grid order
        for _, (values, ok) in sorted(blocks[spec], key=lambda part: part[0]):
            draws.setdefault(spec, []).append(values)
            if ok is not None:
                converged.setdefault(spec, []).append(ok)
    estimated = {s for s, r in by_spec.items() if r["status"] == "estimated"}
    from .joint import rank_pvalues

    table["in_joint_test"] = False
    table["placebo_p_value"] = np.nan
    skipped = table.loc[table["status"] == "skipped", "reason"].value_counts().sort_index()
    summary = {
        "outcome": outcome,
        "n_specifications": int(len(table)),
        "n_estimated": int((table["status"] == "estimated").sum()),
        "n_skipped": int((table["status"] == "skipped").sum()),
        "skipped_reasons": {str(k): int(v) for k, v in skipped.items()},
        "placebo_units": describe_construction(), "placebo_pool_size": len(pool),
        "placebo_draws": int(assign.shape[0]),
        "placebo_draws_conditioned": conditioned,
        "treated_cluster_sizes": sizes, "joint_seed": seed,
        "joint_estimators": list(settings["joint_estimators"]),
        "curves": {},
    }
    sdid_convergence = _placebo_convergence(converged, estimated)
    if sdid_convergence is not None:
        summary["sdid_placebo_convergence"] = sdid_convergence
    # one curve per outcome scale (level, log): medians of different scales do not mix
    for transform in [t for t in ("level", "log") if (table["transform"] == t).any()]:
        cols, ids = [], []
        for spec in joint_specs:
            if spec not in estimated or spec.transform != transform:
                continue
            column = np.r_[by_spec[spec]["estimate"], np.concatenate(draws[spec])]
            if np.all(np.isfinite(column)):
                cols.append(column)
                ids.append(spec.spec_id)
        if cols:
            B = np.column_stack(cols)
            joint = joint_test(B, settings["alpha"])
            p_joint = dict(zip(ids, rank_pvalues(B)[0]))
            hit = table["spec_id"].isin(ids)
            table.loc[hit, "in_joint_test"] = True
            table.loc[hit, "placebo_p_value"] = table.loc[hit, "spec_id"].map(p_joint).astype(float)
        else:
            joint = {"reason": "no specification of the joint test's estimators was estimated"}
        summary["curves"][transform] = {
            "curve": curve_summary(table[table["transform"] == transform], settings["alpha"]),
            "joint_test": joint,
        }
    return table.to_dict("records"), summary


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    for col in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        if col not in table:
            table[col] = np.nan
        table[col] = table[col].astype(float)
    for col in ("inference", "placebo_units", "warnings", "frame", "command", "reason"):
        if col not in table:
            table[col] = None
    for col in ("reps", "seed", "n_units", "n_treated_units", "n_clusters", "n_treated_clusters"):
        if col not in table:
            table[col] = pd.NA
        table[col] = table[col].astype("Int64")
    return table


def _placebo_convergence(converged: dict, estimated: set) -> dict | None:
    """How many placebo fits of the estimated SDID specifications stopped at the Frank-Wolfe
    iteration cap (R synthdid's), in total and per specification
    (:func:`analysis.estimators.sdid.convergence_counts`); ``None`` without any."""
    from ..estimators.sdid import convergence_counts

    by_spec = {spec.spec_id: np.concatenate(blocks) for spec, blocks in converged.items()
               if spec in estimated}
    if not by_spec:
        return None
    total = convergence_counts(np.concatenate(list(by_spec.values())))
    return {**total, "by_specification": {k: {key: v for key, v in convergence_counts(ok).items()
                                              if key != "max_iter"}
                                          for k, ok in by_spec.items()}}


def _placebo_pool(donors: list[pd.DataFrame], columns: list[str]) -> list[str]:
    """Control municipalities of the default pool present in every donor frame, with every
    outcome column the joint test uses (a log outcome needs positive values)."""
    sets = []
    for d in donors:
        if d is None:
            continue
        ok = d[columns].notna().all(axis=1).groupby(d["kunta"]).all()
        controls = set(d.loc[d["treated_group"] == 0, "kunta"])
        sets.append(controls & set(ok.index[ok]))
    return sorted(set.intersection(*sets)) if sets else []


def _same_region_draws(assign, pool, sizes, n_draws, seed, units):
    """Placebo draws whose same-region design is valid (at least ``MIN_COMPARISON_UNITS``
    controls in the placebo units' maakunta, as the real design has): when some draw is not,
    twice as many are drawn and the first ``n_draws`` valid ones kept. Returns the draws and
    what was done (``None`` when every draw was valid)."""
    from .placebo import MIN_COMPARISON_UNITS, valid_draws

    region_of = units.drop_duplicates("kunta").set_index("kunta")["region"].to_dict()
    ok = valid_draws(assign, pool, region_of)
    if ok.all():
        return assign, None
    wider = draw_assignments(pool, sizes, 2 * n_draws, seed, units)
    ok = valid_draws(wider, pool, region_of)
    kept = wider[ok][:n_draws]
    return kept, {"rule": f"placebo draws whose same-region pool would have fewer than {MIN_COMPARISON_UNITS} "
                          "control municipalities are redrawn (the real design has such a pool)",
                  "drawn": int(len(wider)), "valid": int(ok.sum()), "kept": int(len(kept))}


def _treated_cluster_sizes(frame: pd.DataFrame | None) -> list[int]:
    if frame is None:
        return []
    t = frame[frame["treated_group"] == 1].drop_duplicates("kunta")
    return sorted((int(n) for n in t.groupby("cluster").size()), reverse=True)


def _joint_seed(seed: int, model: str, outcome: str) -> int:
    import hashlib

    h = hashlib.sha256(f"{seed}|{model}|{outcome}".encode()).hexdigest()
    return int(h[:8], 16) % (2**31 - 1)


def _write_outputs(out_dir: Path, rows: pd.DataFrame, summaries: dict, frame_files: dict,
                   plan: Plan) -> None:
    rows = _typed(rows.copy())
    order = ["spec_id", "model", "outcome", *CHOICES, "status", "reason", "estimate", "se",
             "ci_low", "ci_high", "p_value", "inference", "placebo_units", "reps", "seed", "placebo_p_value",
             "in_joint_test", "n_units", "n_treated_units", "n_clusters", "n_treated_clusters",
             "frame", "command", "warnings"]
    rows = rows[order + [c for c in rows.columns if c not in order]]
    rows["in_joint_test"] = rows["in_joint_test"].fillna(False).astype(bool)
    summary = clean({
        "schema": SCHEMA, "kind": "multiverse", "model": plan.model, "outcomes": plan.outcomes,
        "grid": plan.grid.to_dict() | {"source": Path(plan.grid.source).name},
        "by_outcome": summaries,
        "method": "specification curve with a joint test under the null by placebo assignments "
                  "(Simonsohn, Simmons & Nelson 2020)",
    })
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (tmp / frames_mod.FRAME_DIR).mkdir()
        for name, frame in sorted(frame_files.items()):
            (tmp / name).write_bytes(frames_mod.frame_bytes(frame))
        rows.to_parquet(tmp / "specifications.parquet", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        # the outputs replace their predecessors by renames; other files in out_dir stay
        old_frames = out_dir / frames_mod.FRAME_DIR
        trash = None
        if old_frames.exists():
            trash = out_dir / f".{frames_mod.FRAME_DIR}.old-{os.getpid()}"
            os.replace(old_frames, trash)
        os.replace(tmp / frames_mod.FRAME_DIR, old_frames)
        os.replace(tmp / "specifications.parquet", out_dir / "specifications.parquet")
        os.replace(tmp / "summary.json", out_dir / "summary.json")
        shutil.rmtree(tmp, ignore_errors=True)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def log_stderr(message: str) -> None:
    print(f">> multiverse: {message}", file=sys.stderr, flush=True)
