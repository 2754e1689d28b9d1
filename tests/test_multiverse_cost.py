"""What a multiverse run computes once instead of many times gives what the repeated calls gave:
the cached comparison design, the matched rule over many placebo draws, the placebo-unit
candidates and attributes, and one placebo panel shared by the estimators of a specification."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import design
from analysis.inference import placebo_units as pu

OUTCOME = "social_health_costs_eur_per_capita"


def test_cached_comparison_design_equals_a_fresh_one_and_is_a_copy():
    first = design.comparison_design("integrated_welfare", keep_other_pilots=True)
    fresh = design._comparison_design("integrated_welfare", True, design.DIVISION_YEAR)
    assert first.to_dict() == fresh.to_dict() and first.cluster == fresh.cluster
    first.control_municipalities.clear()
    first.excluded["x"] = "edited"
    again = design.comparison_design("integrated_welfare", keep_other_pilots=True)
    assert again.to_dict() == fresh.to_dict()


def test_placebo_geography_is_a_copy():
    geo = design.placebo_geography()
    geo["x"] = 0.0
    assert not (design.placebo_geography()["x"] == 0.0).all()


def _nearest_by_definition(features: pd.DataFrame, treated, controls, k: int) -> set[str]:
    """The matched rule written out: for each treated municipality, the k controls of smallest
    squared distance, ties to the smaller code."""
    chosen = set()
    for t in treated:
        if t not in features.index:
            continue
        dist = sorted((float(((features.loc[c] - features.loc[t]) ** 2).sum()), c)
                      for c in controls if c in features.index)
        chosen |= {c for _, c in dist[:k]}
    return chosen


def test_nearest_controls_over_many_draws_equal_the_rule(panel):
    units = sorted(panel.loc[panel["year"] == 2012, "kunta"].unique())[:120]
    features = design.matching_features(panel, OUTCOME, units, range(2010, 2015))
    matcher = design.NearestControls(features)
    rng = np.random.default_rng(3)
    for _ in range(20):
        placebo = list(rng.choice(units, size=int(rng.integers(1, 6)), replace=False))
        rest = [u for u in units if u not in placebo]
        got = matcher.among(placebo, rest, 5)
        assert got == design.nearest_controls(features, placebo, rest, 5)
        assert got == _nearest_by_definition(features, placebo, rest, 5)


def test_string_unit_attributes_equal_the_grouped_path():
    rng = np.random.default_rng(1)
    alphabet = list("abcABC019äöÅé_ -") + ["日"]
    labels = list(dict.fromkeys("".join(rng.choice(alphabet, size=int(rng.integers(0, 5))))
                                for _ in range(150)))
    order = rng.permutation(np.repeat(np.arange(len(labels)), 3))
    xy = rng.normal(size=(len(labels), 2))
    df = pd.DataFrame({"u": pd.Series(np.array(labels, dtype=object)[order], dtype="str"),
                       "x": xy[order, 0], "y": xy[order, 1]})
    fast = pu._unit_attributes_by_codes(df, "u", ("x", "y"))
    pd.testing.assert_frame_equal(fast, df.groupby("u", sort=True)[["x", "y"]].first())
    df.loc[0, "u"] = None  # a missing label: the grouped path decides
    assert pu._unit_attributes_by_codes(df, "u", ("x", "y")) is None


@pytest.mark.parametrize("k", [1, 2, 5])
def test_cached_nearest_candidates_equal_uncached(k):
    coords = np.random.default_rng(k).normal(size=(60, 2))
    got = pu._nearest_candidates(coords, k)
    np.testing.assert_array_equal(got, pu._nearest_candidates_uncached(coords, k))
    assert pu._nearest_candidates(coords.copy(), k) is got and not got.flags.writeable


@pytest.mark.parametrize("control_pool", ["default", "matched"])
def test_grouped_placebo_task_equals_one_task_per_estimator(panel, control_pool):
    from analysis.multiverse.frames import build_frame
    from analysis.multiverse.placebo import draw_assignments
    from analysis.multiverse.runner import (_treated_cluster_sizes, comparisons_task,
                                            placebo_group_task, placebo_task)

    key = ("integrated_welfare", OUTCOME, control_pool, 2010, 2016, (), "exclude")
    frame = build_frame(panel, key)[0]
    donor = build_frame(panel, ("integrated_welfare", OUTCOME, "default", 2010, 2016, (), "exclude"))[0]
    pool = sorted(donor.loc[donor["treated_group"] == 0, "kunta"].unique())
    assign = draw_assignments(pool, _treated_cluster_sizes(frame), 6, seed=7, units=donor)
    comparisons = comparisons_task(control_pool, donor, pool, assign, OUTCOME) \
        if control_pool == "matched" else None
    estimators = ("twfe", "event-study", "sdid")
    grouped = placebo_group_task(estimators, OUTCOME, (), None, frame, donor, pool, assign, 1, 5,
                                 comparisons)
    for estimator, (values, ok) in zip(estimators, grouped):
        want, want_ok = placebo_task(estimator, OUTCOME, (), None, frame, donor, pool, assign, 1, 5,
                                     comparisons)
        np.testing.assert_array_equal(values, want)
        assert (ok is None and want_ok is None) or np.array_equal(ok, want_ok)


def test_matched_rule_with_ties_equals_a_stable_sort():
    """Distances with many ties (integer features): the chosen controls are the k first of a
    stable sort by distance in code order, for every treated municipality."""
    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(rng.integers(3, 80))
        codes = [f"{c:03d}" for c in rng.choice(999, size=n, replace=False)]
        features = pd.DataFrame(rng.integers(0, 3, size=(n, 2)).astype(float), index=codes,
                                columns=["level", "size"])
        units = list(rng.permutation(codes))
        m = int(rng.integers(1, n))
        treated, controls = units[:m], units[m:]
        k = int(rng.integers(1, 8))
        ordered = sorted(controls)
        F = features.to_numpy()
        pos = {c: i for i, c in enumerate(codes)}
        want = set()
        for t in treated:
            d = [((F[pos[c]] - F[pos[t]]) ** 2).sum() for c in ordered]
            want |= {ordered[j] for j in np.argsort(d, kind="stable")[:k]}
        assert design.nearest_controls(features, treated, controls, k) == want, trial
