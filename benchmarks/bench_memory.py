"""Peak memory of the wild cluster restricted bootstrap with many clusters: B = 9,999 draws on a
two-way panel of 29,200 units (one cluster each) x 10 periods, with the period effects as
bootstrap regressors (9 columns), p-value alone and with the CI by test inversion, each in a
fresh child process (peak resident set size from ``getrusage(RUSAGE_CHILDREN)``, which includes
the interpreter and numpy, ~100 MB). No peer: wildboottest would need draws x clusters in memory
(~2.3 GB of float64 weights alone). Target: <= 2 GB.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from _harness import load, row

CLUSTERS = 29_200
REPS = 9_999
CHILD = f"""
import json, time
import numpy as np
from analysis.estimators.within import WithinTransform
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
rng = np.random.default_rng(0)
units = np.repeat(np.arange({CLUSTERS}), 10)
periods = np.tile(np.arange(10), {CLUSTERS})
x = ((units < 40) & (periods >= 6)).astype(float) + rng.normal(size=len(units))
y = 0.1 * x + rng.normal(size={CLUSTERS})[units] + rng.normal(size=10)[periods] \\
    + rng.normal(size=len(units))
within = WithinTransform(units, periods)
t = time.perf_counter()
res = wild_cluster_bootstrap(within.transform(x[:, None]), within.transform(y), units,
                             absorbed=within.effects_not_nested(True), reps={REPS},
                             weights="rademacher", seed=1, ci=CI)[0]
print(json.dumps({{"seconds": time.perf_counter() - t, "p": res.p_value}}))
"""


def _child(ci: bool) -> dict:
    before = load()
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", f"CI = {ci}\n" + CHILD], capture_output=True,
                         text=True)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # max over children
    task = (f"wild bootstrap p-value{' + CI by test inversion' if ci else ''}, B = {REPS:,}, "
            f"{CLUSTERS:,} clusters x 10 periods, period effects as regressors: peak memory")
    if out.returncode != 0:
        return row(task, None, None, None, f"child failed: {out.stderr.strip()[-300:]}",
                   load_before=before)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return row(task, res["seconds"], None, None,
               f"peak RSS {peak_mb:,.0f} MB (child process, {wall:.1f} s wall); p {res['p']:.4f}",
               target="<= 2 GB", load_before=before)


def run() -> list[dict]:
    # p-value only first: RUSAGE_CHILDREN reports the maximum over the children so far
    return [_child(ci=False), _child(ci=True)]


if __name__ == "__main__":  # pragma: no cover
    print(run())
