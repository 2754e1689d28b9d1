"""Panel regressions (pooled OLS, random effects, fixed effects) against Wooldridge (2020)
Example 14.4 on the wage panel that ships with linearmodels (tests/reference/wage_panel)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators.panel_models import panel_regression

TABLE = Path(__file__).parent / "reference" / "wage_panel" / "table_14_2.csv"
KW = dict(unit="nr", time="year", outcome="lwage", time_effects=True)
ALL = ["black", "hisp", "exper", "expersq", "married", "educ", "union"]


@pytest.fixture(scope="module")
def wages():
    from linearmodels.datasets import wage_panel

    return wage_panel.load()


def _fit(wages, model, cov="unadjusted"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # linearmodels' AbsorbingEffectWarning (FE)
        return panel_regression(wages, regressors=ALL, model=model, cov=cov, **KW)


def _half_unit(value: float) -> float:
    text = f"{value}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** -decimals + 1e-12


@pytest.mark.parametrize("model", ["pooled", "re", "fe"])
def test_wooldridge_table_14_2(wages, model):
    ref = pd.read_csv(TABLE, dtype={"estimate": str, "std_error": str})
    ref = ref[ref["model"] == model]
    r = _fit(wages, model)
    for row in ref.itertuples():
        b, se = float(row.estimate), float(row.std_error)
        assert r.params[row.term] == pytest.approx(b, abs=_half_unit(row.estimate)), row.term
        assert r.std_errors[row.term] == pytest.approx(se, abs=_half_unit(row.std_error)), row.term
    if model == "re":
        assert r.details["theta"] == pytest.approx(0.643, abs=0.0005)
    if model == "fe":  # time-invariant regressors and exper (collinear with unit + year) absorbed
        assert set(r.details["absorbed"]) == {"black", "hisp", "exper", "educ"}
        assert any("absorbed" in w for w in r.warnings)


@pytest.mark.parametrize("model", ["pooled", "re"])
def test_cr1_equals_linearmodels_clustered_debiased(wages, model):
    """CR1 G/(G-1)(N-1)/(N-K) equals linearmodels' clustered covariance with both corrections."""
    from linearmodels.panel import PooledOLS, RandomEffects

    r = _fit(wages, model, cov="cluster")
    d = wages.set_index(["nr", "year"])
    years = pd.get_dummies(d.index.get_level_values(1), prefix="year", prefix_sep="=",
                           drop_first=True).astype(float).set_axis(d.index)
    X = pd.concat([d[ALL], years], axis=1)
    X.insert(0, "const", 1.0)
    est = PooledOLS if model == "pooled" else RandomEffects
    lm = est(d["lwage"], X).fit(cov_type="clustered", cluster_entity=True, debiased=True,
                                group_debias=True)
    np.testing.assert_allclose(r.params.to_numpy(), lm.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(r.std_errors.to_numpy(), lm.std_errors.to_numpy(), rtol=1e-10)
    assert r.df_resid == wages["nr"].nunique() - 1


def test_fe_cr1_equals_twfe_convention(wages):
    """FE with unit and year effects: the same CR1 (fixest K) as twfe_did on the same design."""
    from analysis.estimators.did import fwl_fit, prepare_panel

    r = _fit(wages, "fe", cov="cluster")
    df = wages.assign(d=0)
    design = prepare_panel(df.assign(d=((df["nr"] < 100) & (df["year"] >= 1984)).astype(int)),
                           unit="nr", time="year", outcome="lwage", treated="d",
                           covariates=["expersq", "married", "union"])
    fit = fwl_fit(design, design.frame[["expersq", "married", "union"]].to_numpy(float),
                  design.k_absorbed())
    np.testing.assert_allclose(r.params.to_numpy(), fit.beta, rtol=1e-10)
    np.testing.assert_allclose(r.std_errors.to_numpy(), np.sqrt(np.diag(fit.cov)), rtol=1e-10)


def test_unbalanced_fe_and_unit_only_effects(wages):
    rng = np.random.default_rng(0)
    sub = wages[rng.random(len(wages)) > 0.15]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = panel_regression(sub, regressors=["expersq", "married", "union"], model="fe", **KW)
        one = panel_regression(sub, regressors=["exper", "married", "union"], model="fe",
                               unit="nr", time="year", outcome="lwage")
    from linearmodels.panel import PanelOLS

    d = sub.set_index(["nr", "year"])
    lm = PanelOLS(d["lwage"], d[["expersq", "married", "union"]], entity_effects=True,
                  time_effects=True).fit()
    np.testing.assert_allclose(two.params.to_numpy(), lm.params.to_numpy(), rtol=1e-10)
    assert one.design.extra["effects"] == ["nr"] and "exper" in one.params.index


def test_bad_inputs(wages):
    with pytest.raises(InputError, match="panel model"):
        panel_regression(wages, regressors=["union"], model="gls", unit="nr", time="year",
                         outcome="lwage")
    with pytest.raises(InputError, match="at least one regressor"):
        panel_regression(wages, regressors=[], unit="nr", time="year", outcome="lwage")
    with pytest.raises(InputError, match="not in the data"):
        panel_regression(wages, regressors=["nope"], unit="nr", time="year", outcome="lwage")
    with pytest.raises(InputError, match="covariance"):
        panel_regression(wages, regressors=["union"], cov="robust", unit="nr", time="year",
                         outcome="lwage")


@pytest.mark.parametrize("method,effects", [("fe", "unit,time"), ("re", "time"), ("pooled", "time")])
def test_command_line(wages, tmp_path, capsys, method, effects):
    import json

    from analysis.cli import main

    path = tmp_path / "wages.csv"
    wages.to_csv(path, index=False)
    args = ["estimate", str(path), "--unit", "nr", "--time", "year", "--outcome", "lwage",
            "--treated", "union", "--covariates", "married,expersq", "--method", method,
            "--effects", effects, "--inference", "unadjusted", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    ref = pd.read_csv(TABLE).set_index(["model", "term"])
    if method == "fe":  # same regressors as Table 14.2's FE column
        assert out["estimate"] == pytest.approx(ref.loc[("fe", "union"), "estimate"], abs=5e-4)
        assert out["se"] == pytest.approx(ref.loc[("fe", "union"), "std_error"], abs=5e-4)
    assert main([*args[:-5], "--method", "re", "--effects", "unit"]) == 2
    assert "--effects unit applies to --method fe" in capsys.readouterr().err
