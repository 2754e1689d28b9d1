"""Shared timing helpers of the benchmarks: interleaved repetitions, one ratio convention,
machine load.

Every comparison runs ours and the peer alternately (ours, peer, ours, peer, ...) on the same
data in the same process, so that a change in machine load hits both; the reported time is the
best repetition of each. ``ratio = peer seconds / our seconds`` in every row (> 1: ours is
faster). Each row records the 1-minute load average before and after its measurement
(``os.getloadavg``): on a machine with ``os.cpu_count()`` cores, a load above the core count
before a row means the figures were taken under load (the load after a row includes the row's
own work: a row that runs two processes brings it to about 2 by itself).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["task", "ours_s", "peer", "peer_s", "ratio", "target", "load_before", "load_after",
           "note"]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def settle(max_wait_s: float = 120.0, every_s: float = 5.0) -> float:
    """Wait (at most ``max_wait_s``) until the 1-minute load average is below the number of
    cores, e.g. after a row that kept every core busy; returns the load then."""
    cores = os.cpu_count() or 1
    waited = 0.0
    while load() >= cores and waited < max_wait_s:
        time.sleep(every_s)
        waited += every_s
    return load()


def cpu_children() -> float:
    """CPU seconds (user + system) of the child processes waited for so far, and theirs."""
    usage = os.times()
    return usage.children_user + usage.children_system


def interleaved(ours: Callable[[], Any], peer: Callable[[], Any] | None = None, *,
                repeats: int = 5, budget_s: float = 20.0) -> tuple[float, Any, float | None, Any]:
    """Best-of times of ``ours`` and ``peer``, run alternately. Stops early once the
    repetitions so far took ``budget_s`` (a slow peer is measured once)."""
    best_ours = best_peer = float("inf")
    out_ours = out_peer = None
    spent = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        out_ours = ours()
        dt = time.perf_counter() - t
        best_ours = min(best_ours, dt)
        spent += dt
        if peer is not None:
            t = time.perf_counter()
            out_peer = peer()
            dt = time.perf_counter() - t
            best_peer = min(best_peer, dt)
            spent += dt
        if spent > budget_s:
            break
    return best_ours, out_ours, (best_peer if peer is not None else None), out_peer


def row(task: str, ours_s: float | None, peer: str | None, peer_s: float | None, note: str = "",
        *, target: str = "", load_before: float | None = None) -> dict:
    """One result row; ``ratio = peer_s / ours_s``."""
    ratio = peer_s / ours_s if (peer_s is not None and ours_s) else None
    return {"task": task, "ours_s": ours_s, "peer": peer, "peer_s": peer_s, "ratio": ratio,
            "target": target, "load_before": load_before, "load_after": load(), "note": note}


def real_panel():
    """The shipped panel (data/processed/panel.parquet, built first if missing)."""
    from analysis.panel import build_panel, read_panel

    path = ROOT / "data" / "processed" / "panel.parquet"
    try:
        return read_panel(path)
    except Exception:  # missing or out of date: build it from the shipped raw data
        build_panel(out_path=path)
        return read_panel(path)


def real_frame(model: str = "integrated_welfare",
               outcome: str = "social_health_costs_eur_per_capita"):
    """An analysis frame of the real panel (one model, one outcome, default control pool)."""
    from analysis.design import analysis_frame

    return analysis_frame(real_panel(), model, outcome)
