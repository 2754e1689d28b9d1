"""BJS imputation estimator: recovers heterogeneous dynamic effects; exact when noiseless."""
import pytest

from analysis.estimators.staggered.imputation import imputation
from analysis.estimators.staggered.simulate import simulate_staggered

KW = dict(yname="y", tname="year", idname="unit", gname="cohort")


def test_recovers_truth():
    d, truth = simulate_staggered(n_units=150, seed=5)
    r = imputation(d, **KW)
    assert r.params["att"] == pytest.approx(truth["att"], abs=0.05)
    for e, v in truth["event"].items():
        assert r.params[f"e={e}"] == pytest.approx(v, abs=0.08)
    assert (r.std_errors > 0).all() and (r.std_errors < 0.1).all()


def test_exact_without_noise():
    d, truth = simulate_staggered(n_units=60, seed=2, noise=0.0)
    r = imputation(d, **KW)
    assert r.params["att"] == pytest.approx(truth["att"], abs=1e-9)
    for e, v in truth["event"].items():
        assert r.params[f"e={e}"] == pytest.approx(v, abs=1e-9)


def test_se_coverage_rough():
    """Conservative SE: |error| within 3 SE across a few seeds."""
    for seed in range(3):
        d, truth = simulate_staggered(n_units=100, seed=10 + seed)
        r = imputation(d, **KW)
        assert abs(r.params["att"] - truth["att"]) < 3 * r.std_errors["att"]
