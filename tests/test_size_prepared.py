"""The size simulation fits every draw on one prepared panel (``prepare_panel`` once, then
``PanelDesign.with_assignment`` per draw; SDID through ``placebo_fits``). Pinned bit for bit to
the public estimators called on each draw's own frame, on real layouts of the panel."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.design import analysis_frame
from analysis.errors import InputError
from analysis.estimators.did import fit_twfe, prepare_panel, twfe_did
from analysis.estimators.sdid import synthetic_did
from analysis.inference.placebo_units import PlaceboUnits
from analysis.inference.size import placebo_panel, size_simulation

KW = dict(unit="kunta", time="year", outcome="outcome", fake_adoption=2013, before=2015)
EST = dict(unit="kunta", time="year", outcome="outcome", treated="treated", cluster="cluster")
METHODS = ("cluster", "wild", "ri", "placebo", "ri_scattered")
# (model, outcome, real layout): four treated clusters; one treated municipality
CASES = [("housing_services", "social_health_costs_eur_per_capita", (3, 3, 1, 1)),
         ("kela_cooperation", "social_assistance_eur_per_capita", (1,))]


@pytest.fixture(scope="module")
def frames(panel):
    return {m: analysis_frame(panel, m, o) for m, o, _ in CASES}


def _public_draw(panel, d, *, seed, alpha, wild_reps, ri_reps, spec):
    """One draw as the public estimators give it on the draw's own frame."""
    treated, cl = panel.columns(d)
    data = panel.pre.assign(treated=treated, cluster=cl)
    rec = {"draw": d}
    for m in METHODS:
        if m == "placebo":
            rec["placebo_estimate"] = float(synthetic_did(data, **EST, inference="none").params["att"])
            continue
        try:
            if m == "cluster":
                r = twfe_did(data, **EST, inference="cluster", level=1 - alpha)
            elif m == "wild":
                r = twfe_did(data, **EST, inference="wild", reps=wild_reps, seed=seed + d,
                             level=1 - alpha)
            elif m == "ri":
                r = twfe_did(data, **EST, inference="ri", reps=ri_reps, seed=seed + d,
                             placebo_units=spec, level=1 - alpha)
            else:
                r = twfe_did(data.assign(cluster=panel.base_cluster), **EST, inference="ri",
                             reps=ri_reps, seed=seed + d, ri_statistic="coef", level=1 - alpha)
        except InputError as exc:
            rec[f"{m}_error"] = str(exc)
            continue
        ci = r.conf_int().loc["att"]
        rec[f"{m}_estimate"] = float(r.params["att"])
        rec[f"{m}_p"] = float(r.pvalues["att"])
        rec[f"{m}_covers"] = bool(ci.iloc[0] <= 0 <= ci.iloc[1])
    return rec


@pytest.mark.parametrize("model,outcome,layout", CASES)
def test_size_simulation_equals_public_estimators_per_draw(frames, model, outcome, layout):
    frame = frames[model]
    spec = PlaceboUnits("nearest")
    opts = dict(draws=20, seed=7, wild_reps=99, ri_reps=99, alpha=0.05)
    res = size_simulation(frame, **KW, placebo_units=spec, methods=METHODS, **opts)
    assert res.layout == layout
    panel = placebo_panel(frame, **KW, cluster="cluster", treated_group="treated_group",
                          sizes=None, placebo_units=spec, draws=20, seed=7)
    ref = pd.DataFrame([_public_draw(panel, d, seed=7, alpha=0.05, wild_reps=99, ri_reps=99,
                                     spec=spec) for d in range(panel.n_draws)])
    got = res.draws[list(ref.columns)]
    # bit for bit: every estimate, p-value, coverage flag and error message
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    if len(layout) == 1:
        assert "wild_error" in got and "1 treated cluster" in got["wild_error"].iloc[0]


def test_prepared_fit_is_the_public_fit(frames):
    frame = frames["housing_services"]
    kw = dict(unit="kunta", time="year", outcome="outcome", treated="treated", cluster="cluster")
    for inference in ("cluster", "wild", "ri"):
        a = twfe_did(frame, **kw, inference=inference, reps=99, seed=3)
        b = fit_twfe(prepare_panel(frame, **kw), inference=inference, reps=99, seed=3,
                     placebo_data=frame)
        assert a.to_dict() == b.to_dict()


def _result(fit):
    try:
        return fit().to_dict()
    except InputError as exc:
        return str(exc)


def _cluster_adoption(design):
    try:
        return design.cluster_adoption.tolist()
    except InputError as exc:
        return str(exc)


def _design_facts(design):
    return dict(units=list(design.units), times=list(design.times),
                clusters=list(design.clusters), unit_codes=design.unit_codes.tolist(),
                time_codes=design.time_codes.tolist(), cluster_codes=design.cluster_codes.tolist(),
                adoption=design.adoption.fillna(-1.0).to_dict(), balanced=design.balanced,
                nested=design.units_nested_in_clusters, warnings=design.warnings,
                n_treated_clusters=design.n_treated_clusters,
                treated_unit_labels=list(design.treated_unit_labels),
                cluster_adoption=_cluster_adoption(design))


def _assignments(n_units, n_years, rng):
    """Generated assignments of a balanced panel, valid and hostile."""
    rows = n_units * n_years
    year = np.tile(np.arange(n_years), n_units)
    for _ in range(12):
        k = int(rng.integers(1, 4))
        chosen = rng.choice(n_units, size=k, replace=False)
        start = int(rng.integers(1, n_years))
        is_unit = np.isin(np.repeat(np.arange(n_units), n_years), chosen)
        treated = (is_unit & (year >= start)).astype(int)
        cluster = np.where(is_unit, n_units, np.repeat(np.arange(n_units), n_years))
        yield treated, cluster
    unit_rows = np.repeat(np.arange(n_units), n_years)
    yield np.where(unit_rows == 0, 2, 0), unit_rows  # not 0/1
    yield np.zeros(rows, int), unit_rows  # no treated rows
    yield np.ones(rows, int), unit_rows  # no controls
    yield ((unit_rows == 0) & (year >= 0)).astype(int), unit_rows  # treated in first period
    yield ((unit_rows == 0) & (year == 2)).astype(int), unit_rows  # switches off
    yield ((unit_rows == 0) & (year >= 2)).astype(int), np.zeros(rows, int)  # one cluster
    yield ((unit_rows == 0) & (year >= 2)).astype(int), np.where(year == 1, np.nan, unit_rows)
    yield ((unit_rows == 0) & (year >= 2)).astype(float), (unit_rows % 3)  # not nested


def test_with_assignment_equals_prepare_panel_and_its_errors():
    rng = np.random.default_rng(11)
    n_units, n_years = 15, 6
    df = pd.DataFrame({"u": np.repeat(np.arange(n_units), n_years),
                       "t": np.tile(np.arange(2000, 2000 + n_years), n_units),
                       "y": rng.normal(size=n_units * n_years)})
    kw = dict(unit="u", time="t", outcome="y", treated="d", cluster="c")
    base = prepare_panel(df.assign(d=(df.u == 0) & (df.t >= 2003), c=df.u).astype({"d": int}),
                         **kw)
    checked = 0
    for treated, cluster in _assignments(n_units, n_years, rng):
        data = df.assign(d=treated, c=cluster)
        try:
            expected = _design_facts(prepare_panel(data, **kw))
        except InputError as exc:
            with pytest.raises(InputError) as got:
                base.with_assignment(treated, cluster)
            assert str(got.value) == str(exc)
            checked += 1
            continue
        assert _design_facts(base.with_assignment(treated, cluster)) == expected
        for inference in ("cluster", "ri"):
            a = _result(lambda: twfe_did(data, **kw, inference=inference, reps=49, seed=1))
            b = _result(lambda: fit_twfe(base.with_assignment(treated, cluster),
                                         inference=inference, reps=49, seed=1))
            assert a == b
    assert checked >= 6
