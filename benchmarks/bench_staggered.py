"""Callaway-Sant'Anna ATT(g,t) (analytic SEs) against ``csdid`` (Python port of R did) on the
same data, one process: mpdta (500 counties x 5 years) and a 20x larger simulated staggered
panel (10,000 units x 5 years, same cohort structure). Timing: best of ``REPEATS`` runs.
``note`` records the largest absolute difference of the 12 ATT(g,t) between the two.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

REPEATS = 3
MPDTA = Path(__file__).resolve().parents[1] / "tests" / "reference" / "mpdta" / "mpdta.csv"


def _best(fn, repeats: int = REPEATS):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _row(task, ours_s, peer, peer_s, note):
    ratio = peer_s / ours_s if (peer_s is not None and ours_s) else None
    return {"task": task, "ours_s": ours_s, "peer": peer, "peer_s": peer_s, "ratio": ratio,
            "note": note}


def _large(d: pd.DataFrame, k: int = 20, seed: int = 0) -> pd.DataFrame:
    """k copies of mpdta's units with fresh ids and small noise on the outcome."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(k):
        c = d.copy()
        c["countyreal"] = c["countyreal"] + i * 100000
        c["lemp"] = c["lemp"] + rng.normal(0, 0.05, len(c))
        parts.append(c)
    return pd.concat(parts, ignore_index=True)


def _ours(d):
    from analysis.estimators.staggered import att_gt

    return att_gt(d, yname="lemp", tname="year", idname="countyreal",
                  gname="first.treat").params.to_numpy()


def _peer(d):
    from csdid.att_gt import ATTgt

    m = ATTgt(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
              data=d).fit(est_method="dr", bstrap=False)
    return np.asarray(m.results["att"], dtype=float)


def run() -> list[dict]:
    d = pd.read_csv(MPDTA)
    rows = []
    for task, data in (("CS att_gt, mpdta (2,500 obs)", d),
                       ("CS att_gt, 20x mpdta (50,000 obs)", _large(d))):
        ours_s, ours = _best(lambda: _ours(data))
        try:
            peer_s, peer = _best(lambda: _peer(data))
            note = f"max |ATT diff| = {np.max(np.abs(ours - peer)):.2e}"
        except Exception as exc:  # peer not installed or failing
            peer_s, note = None, f"csdid unavailable: {type(exc).__name__}: {exc}"[:200]
        rows.append(_row(task, ours_s, "csdid", peer_s, note))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
