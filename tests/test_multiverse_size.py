"""The joint test holds its size on placebo data: on the real panel without the pilot
municipalities, with pseudo-treated units shaped like the pilot units (no effect by
construction), it rejects at 5% about 5% of the time. The curves hold the default joint
estimators: TWFE, the event-study average and SDID on the default and the same_region pool of
integrated_welfare's layout; synthetic control and TWFE on the matched pool of
education_services' one unit. Restricted pools are rebuilt around the pseudo-treated units and
around every placebo draw's units."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.multiverse.frames import build_frame
from analysis.multiverse.joint import joint_test
from analysis.multiverse.placebo import SpecPanel, draw_assignments, placebo_estimates, restricted_comparisons
from analysis.multiverse.runner import _treated_cluster_sizes

OUTCOME = "social_health_costs_eur_per_capita"
REPLICATIONS = 200
DRAWS = 39
#: (estimator, control pool, last year): the specifications of the curve
SPECS = [(est, pool, end) for pool in ("default", "same_region") for end in (2016, 2018)
         for est in ("twfe", "event-study")] + [("sdid", "default", 2016)]


@pytest.mark.slow
def test_joint_test_rejects_about_five_percent_under_the_null(panel):
    full = build_frame(panel, ("integrated_welfare", OUTCOME, "default", 2010, 2016, (), "exclude"))[0]
    sizes = _treated_cluster_sizes(full)
    donors = {end: build_frame(panel, ("integrated_welfare", OUTCOME, "default", 2010, end, (), "exclude"))[0]
              for end in (2016, 2018)}
    pool = sorted(set.intersection(*(set(d.loc[d["treated_group"] == 0, "kunta"]) for d in donors.values())))
    donors = {end: d[d["kunta"].isin(pool)] for end, d in donors.items()}  # the pilots leave
    panels = {end: SpecPanel(d, d, pool, OUTCOME) for end, d in donors.items()}
    # pseudo-treated layouts shaped like the pilot units, one per replication
    pseudo = draw_assignments(pool, sizes, REPLICATIONS, seed=11, units=donors[2016])
    rejections = {"median_estimate": 0, "share_significant": 0}
    for r in range(REPLICATIONS):
        treated = pseudo[r] > 0
        rest = [p for p, t in zip(pool, treated) if not t]
        draws = np.zeros((DRAWS, len(pool)), dtype=np.int16)
        draws[:, ~treated] = draw_assignments(rest, sizes, DRAWS, seed=1000 + r, units=donors[2016])
        columns = []
        for est, control_pool, end in SPECS:
            sp = panels[end]
            if control_pool == "same_region":  # the design's pool around the (pseudo-)treated
                obs_units = restricted_comparisons(control_pool, sp, donors[end], OUTCOME, pseudo[r:r + 1])
                draw_units = restricted_comparisons(control_pool, sp, donors[end], OUTCOME, draws)
            else:
                obs_units = np.ones((1, len(sp.units)), dtype=bool)
                draw_units = np.ones((DRAWS, len(sp.units)), dtype=bool)
            draw_units &= ~treated[None, :]  # under the placebo draws the pseudo-treated leave
            observed = placebo_estimates(est, sp, pseudo[r:r + 1], obs_units)
            columns.append(np.r_[observed, placebo_estimates(est, sp, draws, draw_units)])
        out = joint_test(np.column_stack(columns), alpha=0.05)
        for stat in rejections:
            rejections[stat] += out["statistics"][stat]["p_value"] <= 0.05
    print({stat: n / REPLICATIONS for stat, n in rejections.items()})
    for stat, n in rejections.items():
        rate = n / REPLICATIONS
        # 5% +- 3 Monte Carlo SEs (sqrt(.05 * .95 / 200) = 0.015)
        assert 0.005 <= rate <= 0.095, (stat, rate)


#: one treated unit of 3 municipalities (education_services): synthetic control and TWFE on the
#: matched pool, rebuilt around the pseudo-treated and around every draw's placebo units
ONE_UNIT_SPECS = [("sc", "matched"), ("twfe", "matched")]
ONE_UNIT_DRAWS = 19


@pytest.mark.slow
def test_joint_test_with_synthetic_control_rejects_about_five_percent_under_the_null(panel):
    outcome = "education_culture_costs_eur_per_capita"
    key = ("education_services", outcome, "default", 2010, 2016, (), "exclude")
    full = build_frame(panel, key)[0]
    sizes = _treated_cluster_sizes(full)
    donor = full[full["treated_group"] == 0]  # the pilots leave
    pool = sorted(donor["kunta"].unique())
    sp = SpecPanel(donor, donor, pool, outcome)
    pseudo = draw_assignments(pool, sizes, REPLICATIONS, seed=12, units=donor)
    rng = np.random.default_rng(7)
    rejections = 0
    n = len(pseudo)  # every placebo group when there are fewer than REPLICATIONS (197 here)
    for r in range(n):
        treated = pseudo[r] > 0
        rest = [p for p, t in zip(pool, treated) if not t]
        draws = np.zeros((ONE_UNIT_DRAWS, len(pool)), dtype=np.int16)
        candidates = draw_assignments(rest, sizes, 4 * ONE_UNIT_DRAWS, seed=2000 + r, units=donor)
        draws[:, ~treated] = candidates[rng.choice(len(candidates), ONE_UNIT_DRAWS, replace=False)]
        columns = []
        for est, control_pool in ONE_UNIT_SPECS:
            obs_units = restricted_comparisons(control_pool, sp, donor, outcome, pseudo[r:r + 1])
            world = donor[donor["kunta"].isin(rest)]
            wp = SpecPanel(world, world, rest, outcome)
            draw_units = restricted_comparisons(control_pool, wp, world, outcome, draws[:, ~treated])
            observed = placebo_estimates(est, sp, pseudo[r:r + 1], obs_units)
            columns.append(np.r_[observed, placebo_estimates(est, wp, draws[:, ~treated], draw_units)])
        out = joint_test(np.column_stack(columns), alpha=0.05)
        rejections += out["statistics"]["median_estimate"]["p_value"] <= 0.05
    rate = rejections / n
    print({"median_estimate": rate, "replications": n})
    # under the null P(p <= .05) = 1/20 with 19 draws; +- 3 Monte Carlo SEs (0.015)
    assert 0.005 <= rate <= 0.095, rate
