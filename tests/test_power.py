"""Power / MDE by placebo simulation on a pre-period panel."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.errors import InputError
from analysis.power import minimum_detectable_effect


def _panel(n=200, years=range(2008, 2015), sd=1.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = rng.normal(scale=5)
        for t in years:
            rows.append({"unit": i, "year": t, "y": a + 0.1 * t + rng.normal(scale=sd),
                         "grp": i // 4})
    return pd.DataFrame(rows)


def test_mde_matches_normal_approximation_iid():
    # iid unit errors: dY_i = mean(post) - mean(pre) has var sd^2 (1/3 + 1/4); with n_t treated
    # units the DiD sd is sqrt(v (1/n_t + 1/n_c)); MDE ~ (z_{0.975} + z_{0.8}) * sd (Bloom 1995)
    df = _panel()
    r = minimum_detectable_effect(df, unit="unit", time="year", outcome="y", n_treated_clusters=20,
                                  pre_years=[2008, 2009, 2010, 2011], post_years=[2012, 2013, 2014],
                                  reps=4000, seed=1)
    v = 1 / 3 + 1 / 4
    sd = np.sqrt(v * (1 / 20 + 1 / 180))
    assert r.placebo_sd == pytest.approx(sd, rel=0.1)
    assert r.mde == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * sd, rel=0.1)
    assert r.curve.power.iloc[0] <= 0.05  # size at delta = 0


def test_clusters_and_sizes():
    df = _panel()
    r1 = minimum_detectable_effect(df, unit="unit", time="year", outcome="y", cluster="grp",
                                   n_treated_clusters=4, pre_years=[2008, 2009, 2010],
                                   post_years=[2013, 2014], reps=1000)
    assert r1.n_treated_units_mean == 16 and r1.warnings
    r2 = minimum_detectable_effect(df, unit="unit", time="year", outcome="y", cluster_sizes=[1, 3, 12],
                                   pre_years=[2008, 2009, 2010], post_years=[2013, 2014], reps=1000)
    assert r2.n_treated_units_mean == 16
    r3 = minimum_detectable_effect(df, unit="unit", time="year", outcome="y", cluster_sizes=[1, 3, 12],
                                   pre_years=[2008, 2009, 2010], post_years=[2013, 2014], reps=1000)
    assert r2.mde == r3.mde  # deterministic
    assert r2.to_dict()["mde"] > 0


def test_errors():
    df = _panel(n=20)
    with pytest.raises(InputError):
        minimum_detectable_effect(df, unit="unit", time="year", outcome="y", pre_years=[2008],
                                  post_years=[2009])
    with pytest.raises(InputError, match="not in the data"):
        minimum_detectable_effect(df, unit="unit", time="year", outcome="y", n_treated_clusters=2,
                                  pre_years=[2000], post_years=[2009])
    with pytest.raises(InputError, match="estimator"):
        minimum_detectable_effect(df, unit="unit", time="year", outcome="y", n_treated_clusters=2,
                                  pre_years=[2008], post_years=[2009], estimator="sc")


def test_shaped_placebo_units_raise_the_mde_under_spatial_shocks():
    """Neighbouring units share shocks: scattered placebo units understate the placebo SD."""
    from analysis.inference.placebo_units import PlaceboUnits
    from spatial_panel import spatial_panel

    df = spatial_panel(seed=2)
    kw = dict(unit="unit", time="year", outcome="outcome", cluster_sizes=[8, 5, 3],
              pre_years=range(2006, 2012), post_years=[2012, 2013, 2014], reps=1000, seed=1,
              exclude_units=df.unit[df.treated_group == 1].unique())
    scattered = minimum_detectable_effect(df, **kw)
    shaped = minimum_detectable_effect(df, placebo_units=PlaceboUnits("nearest"), **kw)
    region = minimum_detectable_effect(df, placebo_units=PlaceboUnits("region"), **kw)
    assert shaped.placebo_units["construction"] == "nearest"
    assert shaped.mde > 1.3 * scattered.mde
    assert region.mde > 1.3 * scattered.mde
    assert shaped.n_treated_units_mean == 16
    with pytest.raises(InputError, match="cluster_sizes"):
        minimum_detectable_effect(df, unit="unit", time="year", outcome="outcome",
                                  n_treated_clusters=3, pre_years=[2006], post_years=[2007],
                                  placebo_units=PlaceboUnits())
