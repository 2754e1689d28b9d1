"""Callaway-Sant'Anna ATT(g,t) (analytic SEs) against ``csdid`` (Python port of R did) on the
same data, one process: mpdta (500 counties x 5 years) and a 20x larger simulated staggered
panel (10,000 units x 5 years, same cohort structure). Interleaved repetitions, best of
``REPEATS`` each (benchmarks/_harness.py); ``ratio = peer seconds / our seconds``.
``note`` records the largest absolute difference of the 12 ATT(g,t) between the two.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from _harness import interleaved, load, row

REPEATS = 3
MPDTA = Path(__file__).resolve().parents[1] / "tests" / "reference" / "mpdta" / "mpdta.csv"


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
        before = load()
        try:
            import csdid  # noqa: F401

            peer = lambda data=data: _peer(data)  # noqa: E731
        except Exception:
            peer = None
        try:
            ours_s, ours, peer_s, theirs = interleaved(lambda data=data: _ours(data), peer,
                                                       repeats=REPEATS)
            note = (f"max |ATT diff| = {np.max(np.abs(ours - theirs)):.2e}"
                    if theirs is not None else "csdid unavailable")
        except Exception as exc:  # peer failing: time ours alone
            ours_s, ours, peer_s, _ = interleaved(lambda data=data: _ours(data), repeats=REPEATS)
            note = f"csdid failed: {type(exc).__name__}: {exc}"[:200]
        rows.append(row(task, ours_s, "csdid", peer_s, note, load_before=before))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
