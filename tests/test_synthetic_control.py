"""Synthetic control: Basque reference (Abadie & Gardeazabal 2003) and simulated panels.

Reference: tests/reference/basque/REFERENCE.md (copied unchanged from the shared validation set).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators.synthetic_control import simplex_weights, synthetic_control

BASQUE = Path(__file__).parent / "reference" / "basque" / "basque.csv"
TREATED = "Basque Country (Pais Vasco)"
SPECIAL = [("gdpcap", range(1960, 1970), "mean")] + [
    (c, range(1961, 1970, 2), "mean")
    for c in ["sec.agriculture", "sec.energy", "sec.industry", "sec.construction",
              "sec.services.venta", "sec.services.nonventa"]
] + [("popdens", [1969], "mean")]
PREDICTORS = ["school.illit", "school.prim", "school.med", "school.high", "school.post.high", "invest"]


def _basque(inference):
    df = pd.read_csv(BASQUE)
    df["treat"] = ((df.regionname == TREATED) & (df.year >= 1975)).astype(int)
    return synthetic_control(
        df, unit="regionname", time="year", outcome="gdpcap", treated="treat",
        predictors=PREDICTORS, predictor_window=range(1964, 1970), special_predictors=SPECIAL,
        optimization_window=range(1960, 1970), inference=inference)


@pytest.fixture(scope="module")
def basque():
    return _basque("placebo")


def test_basque_unit_weights(basque):
    w = basque.details["weights"]
    # Abadie & Gardeazabal (2003) / R Synth: Cataluna 0.8508, Madrid 0.1492 (tolerance 0.01)
    assert w["Cataluna"] == pytest.approx(0.8508, abs=0.01)
    assert w["Madrid (Comunidad De)"] == pytest.approx(0.1492, abs=0.01)
    others = {k: v for k, v in w.items() if k not in ("Cataluna", "Madrid (Comunidad De)")}
    assert max(others.values()) < 0.01
    assert sum(w.values()) == pytest.approx(1.0)


def test_basque_att_balance_and_placebo(basque):
    # pysyncon-pinned implementation outputs (REFERENCE.md): ATT 1975-1997 = -0.69956
    assert basque.params["att"] == pytest.approx(-0.69956, abs=0.005)
    bal = basque.details["balance"]
    g = bal.loc["special.gdpcap.1960-1969"]
    assert (g.treated, g.synthetic, g.donor_mean) == pytest.approx((5.285, 5.271, 3.584), abs=0.002)
    inv = bal.loc["invest"]
    assert (inv.treated, inv.synthetic, inv.donor_mean) == pytest.approx((24.65, 21.58, 21.45), abs=0.01)
    pl = basque.details["placebo"]
    assert pl["min_p_value"] == pytest.approx(1 / 18)
    # in-space placebo p-value 0.16667 (pysyncon PlaceboTest.pvalue; here post/pre RMSPE ratio rank 3 of 18)
    assert pl["p_value"] == pytest.approx(0.16667, abs=1e-4)
    assert basque.pvalues["att"] == pl["p_value"]
    assert np.isnan(basque.std_errors["att"])
    assert any("1/(J+1)" in w for w in basque.warnings)
    path = pd.DataFrame(basque.details["path"])
    assert len(path) == 43 and np.allclose(path.treated - path.synthetic, path.gap)
    d = basque.to_dict()
    assert d["details"]["weights"]["Cataluna"] > 0.8


def _sim_panel(n_donors=30, n_treated=1, effect=2.0, seed=1, t0=2015, years=range(2005, 2019)):
    rng = np.random.default_rng(seed)
    years = np.array(list(years))
    f = rng.normal(size=(len(years), 2)).cumsum(axis=0)
    rows = []
    n = n_donors + n_treated
    load = rng.uniform(0, 1, size=(n, 2))
    for i in range(n):
        tr = i >= n_donors
        if tr:  # treated units inside the convex hull of the donors
            load[i] = load[:n_donors][rng.choice(n_donors, 3, replace=False)].mean(axis=0)
        y = 10 + f @ load[i] + rng.normal(scale=0.05, size=len(years))
        for t, yt in zip(years, y):
            d = int(tr and t >= t0)
            rows.append({"unit": f"u{i:02d}", "year": t, "y": yt + effect * d, "d": d,
                         "x": load[i, 0] + rng.normal(scale=0.01)})
    return pd.DataFrame(rows)


def test_simulated_effect_recovered_one_unit():
    df = _sim_panel()
    r = synthetic_control(df, unit="unit", time="year", outcome="y", treated="d")
    assert r.params["att"] == pytest.approx(2.0, abs=0.15)
    assert r.details["placebo"]["rank"] == 1
    assert r.pvalues["att"] == pytest.approx(1 / 31)


def test_treated_group_aggregate_and_per_unit():
    df = _sim_panel(n_treated=3, n_donors=20)
    agg = synthetic_control(df, unit="unit", time="year", outcome="y", treated="d",
                            covariates=["x"], inference="none")
    per = synthetic_control(df, unit="unit", time="year", outcome="y", treated="d",
                            aggregate=False, inference="none", v_method="equal")
    assert agg.params["att"] == pytest.approx(2.0, abs=0.2)
    assert per.params["att"] == pytest.approx(2.0, abs=0.2)
    assert set(per.details["per_unit"]) == {"u20", "u21", "u22"}
    assert per.params["att"] == pytest.approx(np.mean([v["att"] for v in per.details["per_unit"].values()]))
    assert agg.design.n_treated_units == 3


def test_simplex_weights_exact_when_in_hull():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(10, 6))  # more predictors than donors: unique solution
    w_true = np.array([0.5, 0.3, 0.2, 0, 0, 0])
    w = simplex_weights(x0 @ w_true, x0, np.ones(10))
    assert w == pytest.approx(w_true, abs=1e-6)


def test_bad_inputs():
    df = _sim_panel()
    with pytest.raises(InputError, match="not in the data"):
        synthetic_control(df, unit="unit", time="year", outcome="nope", treated="d")
    with pytest.raises(InputError, match="v_method"):
        synthetic_control(df, unit="unit", time="year", outcome="y", treated="d", v_method="x")
    stag = df.copy()
    stag.loc[(stag.unit == "u00") & (stag.year >= 2016), "d"] = 1
    with pytest.raises(InputError, match="one adoption time"):
        synthetic_control(stag, unit="unit", time="year", outcome="y", treated="d")
    with pytest.raises(InputError, match="synthetic_control takes no observation weights.*twfe"):
        synthetic_control(df.assign(w=1.0), unit="unit", time="year", outcome="y", treated="d",
                          weights="w")


def test_plots(basque, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.plots.synth import plot_gap, plot_path, plot_placebo_gaps

    for f in (plot_path, plot_gap, plot_placebo_gaps):
        ax = f(basque)
        assert ax.get_xlabel() == "Year" and ax.get_ylabel()
        ax.figure.savefig(tmp_path / f"{f.__name__}.png")
        plt.close(ax.figure)
    assert len(list(tmp_path.glob("*.png"))) == 3


def test_group_placebos_shaped_like_treated_clusters():
    """Donor groups of the treated clusters' sizes; with one treated unit of size 1 they are
    exactly the single-donor in-space placebos."""
    from analysis.inference.placebo_units import PlaceboUnits
    from spatial_panel import spatial_panel

    df = spatial_panel(n_units=40, sizes=(4, 2), years=range(2008, 2015), seed=2)
    kw = dict(unit="unit", time="year", outcome="outcome", treated="treated", cluster="cluster",
              v_method="equal")
    r = synthetic_control(df, placebo_units=PlaceboUnits("nearest"), reps=60, seed=1, **kw)
    pl = r.details["placebo"]
    assert pl["n_placebos"] == 60 and pl["placebo_units"]["sizes"] == [4, 2]
    assert all(len(g) == 6 for g in pl["groups"])
    assert r.pvalues["att"] == pytest.approx(
        (1 + sum(x >= pl["ratio_treated"] for x in pl["ratios"])) / 61)
    import matplotlib.pyplot as plt

    from analysis.plots.synth import plot_placebo_gaps

    plot_placebo_gaps(r)  # placebo groups come as a list of gap paths
    plt.close("all")
    one = spatial_panel(n_units=30, sizes=(1,), years=range(2008, 2015), seed=4)
    single = synthetic_control(one, **kw)
    shaped = synthetic_control(one, placebo_units=PlaceboUnits("nearest"), **kw)
    assert shaped.details["placebo"]["placebo_units"]["enumerated"]
    assert shaped.pvalues["att"] == pytest.approx(single.pvalues["att"])
    assert sorted(shaped.details["placebo"]["ratios"]) == pytest.approx(
        sorted(single.details["placebo"]["ratios"].values()))
