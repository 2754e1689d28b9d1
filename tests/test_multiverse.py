"""Multiverse: grid validation, placebo estimates equal the estimators', files and commands."""
from __future__ import annotations

import json
import shlex

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.estimators.did import twfe_did
from analysis.estimators.event_study import event_study
from analysis.multiverse import grid as grid_mod
from analysis.multiverse.joint import joint_test, rank_pvalues
from analysis.multiverse.placebo import SpecPanel, draw_assignments, placebo_estimates, placebo_fits


def _panel(n_units=40, years=range(2010, 2019), seed=1, covariate=True):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        a = rng.normal(100, 10)
        for t in years:
            rows.append({"kunta": f"{i:03d}", "year": t, "y": a + 2 * (t - 2010) + rng.normal(0, 3),
                         "x1": rng.normal(0, 1), "x": 10.0 * (i % 8), "y_coord": 10.0 * (i // 8)})
    f = pd.DataFrame(rows)
    treated_units = {"000": "u1", "001": "u1", "002": "u2"}
    f["treated_group"] = f["kunta"].isin(treated_units).astype(int)
    f["treated"] = (f["treated_group"].astype(bool) & (f["year"] >= 2015)).astype(int)
    f["cluster"] = f["kunta"].map(treated_units).fillna(f["kunta"])
    f["y"] += 5 * f["treated"]
    return f


def test_placebo_assignments_need_shaped_units():
    """The joint test draws only placebo units shaped like the pilot units: without centroids
    there is no scattered fallback, the draw names the missing columns."""
    donor = _panel()
    pool = sorted(donor.loc[donor["treated_group"] == 0, "kunta"].unique())
    with pytest.raises(InputError, match="'y'"):
        draw_assignments(pool, [2, 1], 4, seed=3, units=donor.drop(columns=["y"]))
    units = donor.rename(columns={"y": "outcome", "y_coord": "y"})
    assign = draw_assignments(pool, [2, 1], 20, seed=3, units=units)
    xy = units.drop_duplicates("kunta").set_index("kunta").loc[pool, ["x", "y"]].to_numpy()
    for row in assign:
        members = np.flatnonzero(row == 1)
        assert len(members) == 2 and (row == 2).sum() == 1
        # the two-municipality placebo unit is a pair of neighbours on the 10 km grid
        assert np.hypot(*(xy[members[0]] - xy[members[1]])) <= 10 * np.sqrt(2) + 1e-9


@pytest.mark.parametrize("covariates", [(), ("x1",)])
@pytest.mark.parametrize("estimator", ["twfe", "event-study"])
@pytest.mark.parametrize("restricted", [False, True])
def test_placebo_estimates_equal_the_estimators(estimator, covariates, restricted):
    donor = _panel()
    frame = donor
    if restricted:  # a smaller control pool: placebo units come from the donor frame
        frame = donor[donor["treated_group"].eq(1) | donor["kunta"].isin([f"{i:03d}" for i in range(3, 20)])]
    pool = sorted(donor.loc[donor["treated_group"] == 0, "kunta"].unique())
    assign = draw_assignments(pool, [2, 1], 4, seed=3, units=donor.rename(columns={"y": "outcome", "y_coord": "y"}))
    panel = SpecPanel(frame, donor, pool, "y", covariates)
    got = placebo_estimates(estimator, panel, assign)
    for d in range(len(assign)):
        chosen = [pool[j] for j in np.flatnonzero(assign[d])]
        controls = set(frame.loc[frame["treated_group"] == 0, "kunta"]) - set(chosen)
        pf = donor[donor["kunta"].isin(controls | set(chosen))].copy()
        pf["treated"] = (pf["kunta"].isin(chosen) & (pf["year"] >= 2015)).astype(int)
        pf["cluster"] = pf["kunta"]
        kw = dict(unit="kunta", time="year", outcome="y", treated="treated",
                  covariates=list(covariates), cluster="cluster")
        if estimator == "twfe":
            want = twfe_did(pf, **kw).params["att"]
        else:
            want = event_study(pf, **kw).params["att"]
        assert got[d] == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_rank_pvalues_and_joint_test_under_exchangeable_draws():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(200, 5))
    P = rank_pvalues(B)
    assert P.min() == pytest.approx(1 / 200) and P.max() == 1.0
    out = joint_test(B)
    assert out["draws"] == 199
    for stat in out["statistics"].values():
        assert 0 < stat["p_value"] <= 1
    B[0] = 10.0  # every specification far out: all joint p-values at their minimum
    out = joint_test(B)
    assert out["statistics"]["median_estimate"]["p_value"] == pytest.approx(1 / 200)
    assert out["statistics"]["share_significant_positive"]["observed"] == 1.0


def test_default_grid_loads_and_expands():
    g = grid_mod.load_grid()
    cands = grid_mod.expand(g, "integrated_welfare", "social_health_costs_eur_per_capita",
                            outcome_years=(2008, 2018), n_treated_clusters=8)
    ok = [c for c in cands if c.reason is None]
    assert len(ok) >= 100
    assert len({c.spec.spec_id for c in cands}) == len(cands)
    reasons = {c.reason for c in cands if c.reason}
    assert any("population weighting" in r for r in reasons)
    assert any("synthetic control" in r for r in reasons)
    # content-derived seeds: same choices, same seed
    s = ok[0].spec
    assert grid_mod.Specification(**{**s.__dict__}).seed == s.seed


def test_first_year_with_data_and_per_outcome_choices(tmp_path):
    """``first`` is the outcome's first year with data; an ``outcomes`` entry replaces the
    choice everywhere, blocks included, so a series starting in 2013 still gets a curve."""
    path = tmp_path / "grid.yaml"
    path.write_text(
        "choices:\n  control_pool: [default]\n  start_year: [2008, 2010]\n  end_year: [2016]\n"
        "  estimator: [twfe]\n  transform: [level]\n  weighting: [none]\n  covariates: [none]\n"
        "  breaks: [exclude]\n"
        "blocks:\n  - {estimator: [sdid], start_year: [2010]}\n"
        "outcomes:\n  gp_visits_per_capita: {start_year: [first, 2010]}\n")
    g = grid_mod.load_grid(path)
    late = grid_mod.expand(g, "integrated_welfare", "gp_visits_per_capita", outcome_years=(2013, 2018),
                           n_treated_clusters=8)
    ok = [c.spec for c in late if c.reason is None]
    assert {(s.estimator, s.start_year) for s in ok} == {("twfe", 2013), ("sdid", 2013)}
    assert [c.reason for c in late if c.reason] == ["gp_visits_per_capita has data from 2013"] * 2
    early = grid_mod.expand(g, "integrated_welfare", "social_health_costs_eur_per_capita",
                            outcome_years=(2008, 2018), n_treated_clusters=8)
    assert {(c.spec.estimator, c.spec.start_year) for c in early if c.reason is None} == {
        ("twfe", 2008), ("twfe", 2010), ("sdid", 2010)}
    # a window needs two pre-period years
    spec = ok[0].__class__(**{**ok[0].__dict__, "start_year": 2014})
    assert "fewer than 2 pre-period years" in grid_mod.skip_reason(spec)


@pytest.mark.parametrize("text, fragment", [
    ("choices: [1, 2]", "mapping"),
    ("choices:\n  estimator: [ols]\n", "valid choices"),
    ("colours: {}\n", "valid choices"),
    ("settings: {placebo_draws: -3}\n", "positive integer"),
    ("settings: {joint_estimators: [ols]}\n", "valid choices"),
    ("choices:\n  estimator: [twfe]\n", "missing"),
    ("choices: {start_year: [twenty]}\n", "years"),
    ("models: {nonexistent: {end_year: [2016]}}\n", "valid choices"),
    (": : :\n", "cannot read"),
    ("choices: {start_year: [last]}\n", "first"),
    ("outcomes: {no_such_outcome: {start_year: [first]}}\n", "valid choices"),
    ("outcomes: {gp_visits_per_capita: {estimator: [ols]}}\n", "valid choices"),
])
def test_bad_grids_are_refused_with_the_valid_choices(tmp_path, text, fragment):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=fragment):
        grid_mod.load_grid(path)


SMALL_GRID = """
settings: {placebo_draws: 39, ri_reps: 39, sdid_reps: 19}
choices:
  control_pool: [default, matched]
  start_year: [2010]
  end_year: [2016]
  estimator: [twfe, event-study]
  transform: [level, log]
  weighting: [none, population]
  covariates: [none]
  breaks: [exclude]
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, panel_path):
    from analysis.cli import main

    tmp = tmp_path_factory.mktemp("multiverse")
    grid = tmp / "grid.yaml"
    grid.write_text(SMALL_GRID)
    out = tmp / "out"
    code = main(["multiverse", "--model", "integrated_welfare", "--outcome",
                 "social_health_costs_eur_per_capita", "--grid", str(grid), "--panel",
                 str(panel_path), "--scheduler", "inline", "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_every_specification_has_a_row_and_skips_carry_reasons(small_run):
    rows = pd.read_parquet(small_run / "specifications.parquet")
    assert len(rows) == 2 * 2 * 2 * 2  # pools x estimators x transforms x weightings
    skipped = rows[rows["status"] == "skipped"]
    assert skipped["reason"].notna().all() and (rows["status"] == "estimated").sum() >= 4
    # twfe and the event study take population weights: weighted rows are estimated
    assert not skipped["reason"].str.contains("population weighting").any()
    est = rows[rows["status"] == "estimated"]
    weighted = est["weighting"] == "population"
    assert weighted.sum() == 8
    assert est.loc[weighted, "command"].str.contains("--weights population", regex=False).all()
    assert not est.loc[~weighted, "command"].str.contains("--weights", regex=False).any()
    assert est["command"].str.startswith("kuntakokeilu estimate frames/").all()
    assert est["in_joint_test"].all() and est["placebo_p_value"].between(0, 1).all()
    for frame in est["frame"].unique():
        assert (small_run / frame).is_file()
    summary = json.loads((small_run / "summary.json").read_text())
    s = summary["by_outcome"]["social_health_costs_eur_per_capita"]
    assert s["n_specifications"] == len(rows)
    joint = s["curves"]["level"]["joint_test"]
    assert joint["draws"] == 39 and 0 < joint["statistics"]["median_estimate"]["p_value"] <= 1


def test_sdid_placebo_estimates_report_each_fits_convergence():
    """SDID's placebo estimates come with, per draw, whether both Frank-Wolfe passes stopped
    before the cap: the same estimates and flags as synthetic_did's own fit of that frame."""
    from analysis.estimators.sdid import synthetic_did

    donor = _panel()
    pool = sorted(donor.loc[donor["treated_group"] == 0, "kunta"].unique())
    assign = draw_assignments(pool, [2, 1], 3, seed=3, units=donor.rename(columns={"y": "outcome", "y_coord": "y"}))
    panel = SpecPanel(donor, donor, pool, "y")
    estimates, converged = placebo_fits("sdid", panel, assign)
    assert converged.dtype == bool and len(converged) == 3
    np.testing.assert_array_equal(estimates, placebo_estimates("sdid", panel, assign))
    for d in range(3):
        chosen = [pool[j] for j in np.flatnonzero(assign[d])]
        pf = donor[donor["treated_group"].eq(0)].copy()
        pf["treated"] = (pf["kunta"].isin(chosen) & (pf["year"] >= 2015)).astype(int)
        fit = synthetic_did(pf, unit="kunta", time="year", outcome="y", treated="treated",
                            inference="none")
        assert estimates[d] == pytest.approx(fit.params["att"], rel=1e-9, abs=1e-9)
        conv = fit.details["convergence"]
        assert converged[d] == (conv["unit_weights"]["converged"] and conv["time_weights"]["converged"])


def test_summary_counts_sdid_placebo_fits_at_the_iteration_cap(tmp_path, panel_path):
    from analysis.cli import main
    from analysis.estimators.sdid import MAX_ITER

    grid = tmp_path / "grid.yaml"
    grid.write_text(SMALL_GRID.replace("placebo_draws: 39", "placebo_draws: 19")
                    .replace("[twfe, event-study]", "[sdid]").replace("[default, matched]", "[default]")
                    .replace("[level, log]", "[level]").replace("[none, population]", "[none]"))
    out = tmp_path / "out"
    assert main(["multiverse", "--model", "integrated_welfare", "--outcome",
                 "social_health_costs_eur_per_capita", "--grid", str(grid), "--panel",
                 str(panel_path), "--scheduler", "inline", "--out", str(out), "--quiet"]) == 0
    rows = pd.read_parquet(out / "specifications.parquet")
    [spec_id] = rows.loc[rows["status"] == "estimated", "spec_id"]
    s = json.loads((out / "summary.json").read_text())["by_outcome"]["social_health_costs_eur_per_capita"]
    conv = s["sdid_placebo_convergence"]
    assert conv["fits"] == 19 and conv["max_iter"] == MAX_ITER
    assert 0 <= conv["not_converged"] <= 19
    assert conv["by_specification"] == {spec_id: {"fits": 19, "not_converged": conv["not_converged"]}}


@pytest.mark.parametrize("weighting", ["none", "population"])
@pytest.mark.parametrize("estimator", ["twfe", "event-study"])
def test_the_command_of_a_row_reproduces_it(small_run, capsys, monkeypatch, estimator, weighting):
    from analysis.cli import main

    rows = pd.read_parquet(small_run / "specifications.parquet")
    row = rows[(rows["status"] == "estimated") & (rows["estimator"] == estimator)
               & (rows["weighting"] == weighting)].iloc[0]
    words = shlex.split(row["command"])
    assert words[:2] == ["kuntakokeilu", "estimate"]
    monkeypatch.chdir(small_run)
    capsys.readouterr()
    assert main(words[1:]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("estimate", "ci_low", "ci_high", "p_value"):
        assert out[key] == pytest.approx(row[key], rel=1e-12, abs=1e-12), key


@pytest.mark.parametrize("args, fragment", [
    (["--model", "no_such_model"], "valid choices"),
    (["--model", "integrated_welfare", "--outcome", "unemployment_rate"], "valid choices"),
    (["--model", "integrated_welfare", "--grid", "/nonexistent/grid.yaml"], "grid file not found"),
    (["--model", "integrated_welfare", "--scheduler", "localhost:8786"], "valid choices"),
    (["--model", "integrated_welfare", "--workers", "0"], "at least 1"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, panel_path, capsys, args, fragment):
    from analysis.cli import main

    out = tmp_path / "out"
    code = main(["multiverse", *args, "--panel", str(panel_path), "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.slow
def test_notebook_writes_the_curve_tables_and_results(panel_path, tmp_path):
    from analysis.paths import NOTEBOOKS
    from analysis.pipeline.plan import RunEntry
    from analysis.pipeline.runner import run_plan

    grid = tmp_path / "grid.yaml"
    grid.write_text(SMALL_GRID)
    entry = RunEntry("multiverse__integrated_welfare__sote_net_costs", NOTEBOOKS / "40_multiverse.ipynb",
                     {"model": "integrated_welfare", "outcome": "social_health_costs_eur_per_capita",
                      "grid": str(grid), "scheduler": "inline"})
    [outcome] = run_plan([entry], build_dir=tmp_path, panel_path=panel_path, jobs=1, progress=False)
    assert outcome.status == "ok", outcome.error
    run = tmp_path / "runs" / entry.run_id
    for name in ("figures/specification_curve.png", "figures/specification_curve_log.png",
                 "tables/specifications.md", "tables/joint_test.csv", "tables/skipped.md",
                 "specifications.parquet", "summary.json"):
        assert (run / name).is_file(), name
    results = json.loads((run / "results.json").read_text())
    assert results["kind"] == "multiverse" and results["schema"] == 2
    assert results["multiverse"]["curves"]["level"]["joint_test"]["draws"] == 39


def test_placebo_regression_with_an_absorbed_covariate_keeps_the_treatment_coefficient():
    """A covariate absorbed by the effects on a draw's units makes the normal equations
    singular; the draw still gets the treatment coefficient of the regression without it."""
    import numpy as np

    from analysis.estimators.batched import _solve_dropping_absorbed

    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 2))
    A_small, b_small = Z.T @ Z, Z.T @ rng.normal(size=40)
    A = np.zeros((3, 3))
    A[:2, :2] = A_small
    b = np.r_[b_small, 0.0]  # the absorbed covariate: zero column after demeaning
    beta = _solve_dropping_absorbed(A, b)
    np.testing.assert_allclose(beta[:2], np.linalg.solve(A_small, b_small), rtol=1e-10)


@pytest.mark.parametrize("control_pool", ["same_region", "matched"])
def test_restricted_pools_are_rebuilt_around_the_placebo_units(panel, control_pool):
    """In a placebo draw a same_region / matched specification compares the placebo units with
    the pool the design would have built had they been treated (the design's own rules), not
    with the real pilot units' pool; its estimate is twfe_did's on that frame."""
    from analysis import design
    from analysis.multiverse.frames import build_frame
    from analysis.multiverse.placebo import restricted_comparisons
    from analysis.multiverse.runner import _treated_cluster_sizes, comparisons_task, placebo_task

    outcome = "social_health_costs_eur_per_capita"
    key = ("integrated_welfare", outcome, control_pool, 2010, 2016, (), "exclude")
    frame = build_frame(panel, key)[0]
    donor = build_frame(panel, ("integrated_welfare", outcome, "default", 2010, 2016, (), "exclude"))[0]
    pool = sorted(donor.loc[donor["treated_group"] == 0, "kunta"].unique())
    assign = draw_assignments(pool, _treated_cluster_sizes(frame), 3, seed=5, units=donor)
    sp = SpecPanel(donor, donor, pool, outcome)
    included = restricted_comparisons(control_pool, sp, donor, outcome, assign)
    real = set(frame.loc[frame["treated_group"] == 0, "kunta"])
    units = list(sp.units)
    comparisons = comparisons_task(control_pool, donor, pool, assign, outcome)
    assert comparisons[0] == units and (comparisons[1] == included).all()
    got, converged = placebo_task("twfe", outcome, (), None, frame, donor, pool, assign, 0, 3,
                                  comparisons)
    assert converged is None  # TWFE has no iterative solver to report on
    for d in range(3):
        placebo = [pool[j] for j in np.flatnonzero(assign[d])]
        rest = [u for u in units if u not in placebo]
        if control_pool == "same_region":
            hypothetical = design.ComparisonDesign("integrated_welfare", design.DIVISION_YEAR, ["p"],
                                                   sorted(placebo), rest, {}, {})
            want = set(design.same_region_controls(hypothetical).control_municipalities)
        else:
            want = design._nearest_controls(panel, outcome, placebo, rest, range(2010, 2015), 5)
        comparison = {u for u, s in zip(units, included[d]) if s} - set(placebo)
        assert comparison == want and comparison != real - set(placebo)
        pf = donor[donor["kunta"].isin(comparison | set(placebo))].copy()
        pf["treated"] = (pf["kunta"].isin(placebo) & (pf["year"] >= 2015)).astype(int)
        want_att = twfe_did(pf, unit="kunta", time="year", outcome=outcome, treated="treated",
                            cluster="kunta").params["att"]
        assert got[d] == pytest.approx(want_att, rel=1e-9, abs=1e-9)


def test_placebo_draws_without_a_same_region_pool_are_redrawn():
    """A draw whose placebo units fill their maakunta has no same-region design (the real design
    has one); such draws are invalid and the runner redraws them."""
    from analysis.multiverse.placebo import valid_draws

    pool = ["a", "b", "c", "d", "e", "f"]
    region_of = {"a": 1, "b": 1, "c": 2, "d": 2, "e": 2, "f": 2}
    assign = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 1, 1, 1, 0]], dtype=np.int16)
    assert valid_draws(assign, pool, region_of).tolist() == [False, True, False]
