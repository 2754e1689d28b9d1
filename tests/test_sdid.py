"""Synthetic DiD (Arkhangelsky et al. 2021, Algorithm 1) on simulated panels with a known effect."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators.sdid import sc_weight_fw, sdid_tau, synthetic_did


def _panel(n0=30, n1=1, T=12, T0=9, effect=3.0, seed=0):
    rng = np.random.default_rng(seed)
    alpha = rng.normal(size=n0 + n1)
    beta = rng.normal(size=T).cumsum()
    load = rng.uniform(0.5, 1.5, size=n0 + n1)
    y = alpha[:, None] + load[:, None] * beta[None, :] + rng.normal(scale=0.3, size=(n0 + n1, T))
    rows = []
    for i in range(n0 + n1):
        for t in range(T):
            d = int(i >= n0 and t >= T0)
            rows.append({"unit": i, "year": 2006 + t, "y": y[i, t] + effect * d, "d": d})
    return pd.DataFrame(rows)


def test_weights_on_simplex_and_effect_recovered():
    r = synthetic_did(_panel(), unit="unit", time="year", outcome="y", treated="d", reps=100)
    w = np.array(list(r.details["weights"].values()))
    lam = np.array(list(r.details["time_weights"].values()))
    assert w.min() >= 0 and w.sum() == pytest.approx(1) and lam.sum() == pytest.approx(1)
    assert r.params["att"] == pytest.approx(3.0, abs=0.6)
    assert r.std_errors["att"] > 0
    ci = r.conf_int()
    assert ci.loc["att", "lower"] < 3.0 < ci.loc["att", "upper"]
    assert any("Algorithm 4" in m for m in r.warnings)


def test_sdid_equals_did_when_weights_uniform():
    # with identical controls-structure, tau is the weighted double difference: check the formula
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(6, 5))
    om = np.full(4, 0.25)
    lam = np.full(3, 1 / 3)
    tau, _, _ = sdid_tau(Y, 4, 3, om, lam)
    did = (Y[4:, 3:].mean() - Y[4:, :3].mean()) - (Y[:4, 3:].mean() - Y[:4, :3].mean())
    assert tau == pytest.approx(did)


def test_frank_wolfe_matches_exact_fit():
    # last column exactly = 0.7*col0 + 0.3*col2 (+ intercept): FW with tiny ridge recovers it
    rng = np.random.default_rng(1)
    A = rng.normal(size=(40, 4))
    b = 0.7 * A[:, 0] + 0.3 * A[:, 2] + 5.0
    lam = sc_weight_fw(np.column_stack([A, b]), 1e-8, min_decrease=1e-12, max_iter=20000)
    assert lam == pytest.approx([0.7, 0, 0.3, 0], abs=2e-3)


@pytest.mark.parametrize("inference", ["jackknife", "bootstrap"])
def test_other_standard_errors(inference):
    df = _panel(n1=4, seed=2)
    r = synthetic_did(df, unit="unit", time="year", outcome="y", treated="d",
                      inference=inference, reps=50)
    assert r.params["att"] == pytest.approx(3.0, abs=0.6)
    assert 0 < r.std_errors["att"] < 2


def test_unbiased_in_simulation():
    est = [synthetic_did(_panel(seed=s, n1=2), unit="unit", time="year", outcome="y", treated="d",
                         inference="none").params["att"] for s in range(20)]
    assert np.mean(est) == pytest.approx(3.0, abs=0.2)


def test_errors():
    df = _panel()
    with pytest.raises(InputError):
        synthetic_did(df, unit="unit", time="year", outcome="y", treated="d", inference="nope")
    with pytest.raises(InputError, match="jackknife"):
        synthetic_did(df, unit="unit", time="year", outcome="y", treated="d", inference="jackknife")
    with pytest.raises(InputError, match="covariates"):
        synthetic_did(df.assign(x=1.0), unit="unit", time="year", outcome="y", treated="d", covariates=["x"])


def _bench_panel(n0=40, n1=3, T=20, T0=15, seed=0):
    """Same generator as benchmarks/bench_synth.py::_sim."""
    rng = np.random.default_rng(seed)
    y = (rng.normal(size=(n0 + n1, 1)) + rng.uniform(0.5, 1.5, (n0 + n1, 1)) * rng.normal(size=T).cumsum()
         + rng.normal(scale=0.3, size=(n0 + n1, T)))
    rows = []
    for i in range(n0 + n1):
        for t in range(T):
            d = int(i >= n0 and t >= T0)
            rows.append({"unit": i, "time": 2000 + t, "outcome": y[i, t] + 2.0 * d, "treatment": d})
    return pd.DataFrame(rows)


def test_matches_synthdid_solver():
    # reference: synthdid 0.10.1 (PyPI) own Frank-Wolfe solver, collapse_form, noise level,
    # zeta and sparsification on this panel gave tau = 1.97708750 (benchmarks/bench_synth.py)
    r = synthetic_did(_bench_panel(), unit="unit", time="time", outcome="outcome",
                      treated="treatment", inference="none")
    assert r.params["att"] == pytest.approx(1.97708750, abs=1e-7)


def test_placebo_se_over_shaped_placebo_units():
    """Placebo groups shaped like the treated clusters carry the shared shocks of neighbours."""
    from analysis.inference.placebo_units import PlaceboUnits
    from spatial_panel import spatial_panel

    df = spatial_panel(n_units=100, sizes=(6, 4), years=range(2008, 2015), seed=3)
    kw = dict(unit="unit", time="year", outcome="outcome", treated="treated", cluster="cluster",
              reps=60, seed=1)
    scattered = synthetic_did(df, **kw)
    shaped = synthetic_did(df, placebo_units=PlaceboUnits("nearest"), **kw)
    assert shaped.params["att"] == scattered.params["att"]
    assert shaped.details["placebo_units"]["sizes"] == [6, 4]
    assert len(shaped.details["replicates"]) == 60
    assert shaped.std_errors["att"] > 1.3 * scattered.std_errors["att"]
    assert "shaped like the treated clusters" in " ".join(shaped.warnings)


@pytest.mark.parametrize("weights", ["population", "w", ""])
def test_observation_weights_refused_by_name(weights):
    """SDID has no weighted form: weights given directly are an InputError naming the
    estimators that take them, not a TypeError."""
    df = _panel().assign(w=1.0)
    with pytest.raises(InputError, match=r"synthetic_did takes no observation weights.*twfe, event-study"):
        synthetic_did(df, unit="unit", time="year", outcome="y", treated="d", weights=weights)
