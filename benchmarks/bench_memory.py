"""Peak memory of the wild cluster restricted bootstrap with many clusters: B = 9,999 draws at
29,200 clusters (10 rows each), p-value and CI by test inversion, in a fresh child process
(peak resident set size from ``getrusage(RUSAGE_CHILDREN)``, which includes the interpreter and
numpy, ~100 MB). No peer: wildboottest would need draws x clusters in memory (~2.3 GB of
float64 weights alone). Target: <= 2 GB.
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
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
rng = np.random.default_rng(0)
codes = np.repeat(np.arange({CLUSTERS}), 10)
x = (codes < 40).astype(float) + rng.normal(size=len(codes))
y = 0.1 * x + rng.normal(size={CLUSTERS})[codes] + rng.normal(size=len(codes))
X = (x - x.mean())[:, None]
t = time.perf_counter()
res = wild_cluster_bootstrap(X, y - y.mean(), codes, reps={REPS}, weights="rademacher", seed=1)[0]
print(json.dumps({{"seconds": time.perf_counter() - t, "p": res.p_value,
                  "ci": [res.ci_low, res.ci_high]}}))
"""


def run() -> list[dict]:
    before = load()
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if out.returncode != 0:
        return [row("wild bootstrap memory", None, None, None,
                    f"child failed: {out.stderr.strip()[-300:]}", load_before=before)]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return [row(f"wild bootstrap p + CI, B = {REPS:,}, {CLUSTERS:,} clusters: peak memory",
                res["seconds"], None, None,
                f"peak RSS {peak_mb:,.0f} MB (child process, {wall:.1f} s wall); "
                f"p {res['p']:.4f}", target="<= 2 GB", load_before=before)]


if __name__ == "__main__":  # pragma: no cover
    print(run())
