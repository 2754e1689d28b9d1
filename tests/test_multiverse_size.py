"""The joint test holds its size on placebo data: on the real panel without the pilot
municipalities, with pseudo-treated units shaped like the pilot units (no effect by
construction), it rejects at 5% about 5% of the time."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from analysis.multiverse.frames import build_frame
from analysis.multiverse.joint import joint_test
from analysis.multiverse.placebo import SpecPanel, draw_assignments, placebo_estimates
from analysis.multiverse.runner import _treated_cluster_sizes

OUTCOME = "social_health_costs_eur_per_capita"
REPLICATIONS = 200
DRAWS = 99


@pytest.mark.slow
def test_joint_test_rejects_about_five_percent_under_the_null(panel):
    keys = [("integrated_welfare", OUTCOME, pool, 2010, end, (), "exclude")
            for pool in ("default", "same_region") for end in (2016, 2018)]
    frames = {k: build_frame(panel, k)[0] for k in keys}
    donors = {k: frames[("integrated_welfare", OUTCOME, "default", 2010, k[4], (), "exclude")] for k in keys}
    pool = sorted(set.intersection(*(set(d.loc[d["treated_group"] == 0, "kunta"]) for d in donors.values())))
    sizes = _treated_cluster_sizes(frames[keys[0]])
    units = donors[keys[0]]
    panels = [(est, SpecPanel(frames[k], donors[k], pool, OUTCOME)) for k in keys
              for est in ("twfe", "event-study")]
    # pseudo-treated layouts shaped like the pilot units, one per replication
    pseudo = draw_assignments(pool, sizes, REPLICATIONS, seed=11, units=units)
    rejections = {"median_estimate": 0, "share_significant": 0}
    for r in range(REPLICATIONS):
        treated = pseudo[r] > 0
        rest = [p for p, t in zip(pool, treated) if not t]
        draws = np.zeros((DRAWS, len(pool)), dtype=np.int16)
        draws[:, ~treated] = draw_assignments(rest, sizes, DRAWS, seed=1000 + r, units=units)
        columns = []
        for est, sp in panels:
            observed = placebo_estimates(est, sp, pseudo[r:r + 1])
            world = copy.copy(sp)
            world.is_control = sp.is_control.copy()
            world.is_control[sp.pool_index[treated]] = False  # pseudo-treated are not controls
            columns.append(np.r_[observed, placebo_estimates(est, world, draws)])
        out = joint_test(np.column_stack(columns), alpha=0.05)
        for stat in rejections:
            rejections[stat] += out["statistics"][stat]["p_value"] <= 0.05
    print({stat: n / REPLICATIONS for stat, n in rejections.items()})
    for stat, n in rejections.items():
        rate = n / REPLICATIONS
        # 5% +- 3 Monte Carlo SEs (sqrt(.05 * .95 / 200) = 0.015)
        assert 0.005 <= rate <= 0.095, (stat, rate)
