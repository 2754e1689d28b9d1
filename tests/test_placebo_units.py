"""Placebo units shaped like the treated units: sizes, disjointness, neighbourhoods, seeds."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from analysis.errors import InputError
from analysis.inference.placebo_units import (
    PlaceboUnits,
    draw_placebo_units,
    treated_layout,
)


def _units(n=80, seed=0, regions=6):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"unit": [f"u{i:03d}" for i in range(n)], "x": rng.random(n) * 300,
                         "y": rng.random(n) * 600, "region": rng.integers(0, regions, n),
                         "treated_group": 0})


def _long(units, years=(2010, 2011, 2012)):
    return units.merge(pd.DataFrame({"year": list(years)}), how="cross")


@pytest.mark.parametrize("construction", ["nearest", "region"])
def test_sizes_and_disjointness(construction):
    df = _long(_units())
    sizes = (5, 3, 1, 1)
    d = draw_placebo_units(df, unit="unit", sizes=sizes, reps=500, seed=3,
                           placebo_units=PlaceboUnits(construction))
    assert d.n_draws == 500 and not d.enumerated and d.sizes == sizes
    assert d.members.shape == (500, sum(sizes))
    for row in d.members:
        assert len(set(row)) == len(row)  # disjoint within a draw
    labels = d.labels()
    for j, k in enumerate(sizes):
        assert ((labels == j).sum(axis=1) == k).all()
    assert d.min_p_value == pytest.approx(1 / 501)


def test_nearest_groups_are_neighbourhoods():
    units = _units()
    coords = units[["x", "y"]].to_numpy()
    d = draw_placebo_units(units, unit="unit", sizes=(4,), reps=999, seed=1)
    # 80 candidate neighbourhoods at most: enumerated, each a unit with its 3 nearest neighbours
    assert d.enumerated and d.n_draws <= 80
    _, idx = cKDTree(coords).query(coords, k=4)
    neighbourhoods = {tuple(sorted(r)) for r in idx}
    assert {tuple(sorted(r)) for r in d.members} == neighbourhoods
    assert d.min_p_value == pytest.approx(1 / (d.n_draws + 1))


def test_region_groups_stay_in_one_region():
    units = _units()
    d = draw_placebo_units(units, unit="unit", sizes=(3, 2), reps=300, seed=2,
                           placebo_units=PlaceboUnits("region"))
    reg = units["region"].to_numpy()
    for row in d.members:
        assert len(set(reg[row[:3]])) == 1 and len(set(reg[row[3:]])) == 1


def test_region_enumeration_counts_subsets():
    units = _units(n=12, regions=2, seed=5)
    counts = units.region.value_counts()
    d = draw_placebo_units(units, unit="unit", sizes=(2,), reps=999, seed=0,
                           placebo_units=PlaceboUnits("region"))
    assert d.enumerated and d.n_draws == sum(math.comb(int(c), 2) for c in counts)


def test_deterministic_by_seed_and_seed_matters():
    df = _units()
    a = draw_placebo_units(df, unit="unit", sizes=(3, 2, 2), reps=200, seed=7)
    b = draw_placebo_units(df, unit="unit", sizes=(3, 2, 2), reps=200, seed=7)
    c = draw_placebo_units(df, unit="unit", sizes=(3, 2, 2), reps=200, seed=8)
    assert np.array_equal(a.members, b.members)
    assert not np.array_equal(a.members, c.members)


def test_only_control_units_are_drawn():
    units = _units()
    units.loc[:9, "treated_group"] = 1
    d = draw_placebo_units(units, unit="unit", sizes=(2, 2), reps=300, seed=0,
                           treated_group="treated_group", exclude=["u010"])
    drawn = set(d.units[np.unique(d.members)])
    assert not drawn & ({f"u{i:03d}" for i in range(10)} | {"u010"})


def test_treated_layout():
    df = pd.DataFrame({"unit": list("abcdefg"), "cluster": ["A", "A", "A", "B", "e", "f", "g"],
                       "treated_group": [1, 1, 1, 1, 0, 0, 0]})
    assert treated_layout(df, unit="unit", cluster="cluster", treated_group="treated_group") == (3, 1)


def test_clear_errors():
    units = _units(n=10)
    with pytest.raises(InputError, match="only 10 control units"):
        draw_placebo_units(units, unit="unit", sizes=(6, 5), reps=10)
    with pytest.raises(InputError, match="valid choices: nearest, region"):
        PlaceboUnits("scattered")
    with pytest.raises(InputError, match="need column"):
        draw_placebo_units(units.drop(columns="x"), unit="unit", sizes=(2,), reps=10)
    with pytest.raises(InputError, match="no region"):
        draw_placebo_units(units, unit="unit", sizes=(9,), reps=10,
                           placebo_units=PlaceboUnits("region"))
    bad = _long(units)
    bad.loc[0, "x"] = -1.0
    with pytest.raises(InputError, match="vary within a unit"):
        draw_placebo_units(bad, unit="unit", sizes=(2,), reps=10)
    with pytest.raises(InputError, match="rarely fit disjointly|no disjoint"):
        draw_placebo_units(_units(n=12), unit="unit", sizes=(4, 4, 4), reps=50)


def test_round_trip_dict():
    spec = PlaceboUnits("region", region="maakunta")
    assert PlaceboUnits.from_dict(spec.to_dict()) == spec
    assert PlaceboUnits.from_dict(None) is None
