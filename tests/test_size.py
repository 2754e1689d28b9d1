"""Size and coverage on a layout by placebo simulation (analysis.inference.size)."""
import numpy as np
import pytest

from analysis.errors import InputError
from analysis.inference.placebo_units import PlaceboUnits
from analysis.inference.size import size_simulation
from spatial_panel import spatial_panel

KW = dict(unit="unit", time="year", outcome="outcome", fake_adoption=2012, before=2015)


def test_table_shape_and_determinism():
    df = spatial_panel(n_units=50, sizes=(4, 2), years=range(2009, 2015), seed=1)
    a = size_simulation(df, **KW, methods=("cluster", "wild", "placebo"), draws=20, seed=2,
                        wild_reps=99)
    b = size_simulation(df, **KW, methods=("cluster", "wild", "placebo"), draws=20, seed=2,
                        wild_reps=99)
    assert a.table.equals(b.table)
    assert list(a.table.method) == ["cluster", "wild", "placebo"]
    assert (a.table.draws == 20).all() and a.layout == (4, 2)
    row = a.rows()[0]
    assert set(row) >= {"estimator", "inference", "draws", "rejection_rate", "coverage", "mc_se",
                        "layout"}
    p = row["rejection_rate"]
    assert row["mc_se"] == pytest.approx(np.sqrt(p * (1 - p) / 20))
    # only pre-period control units were placebo-treated: the real treated units never appear
    assert a.to_dict()["placebo_units"]["construction"] == "nearest"


def test_wild_with_one_treated_unit_is_reported_unavailable():
    df = spatial_panel(n_units=60, sizes=(3,), years=range(2008, 2015), seed=1)
    r = size_simulation(df, **KW, methods=("cluster", "wild", "ri"), draws=20, seed=0,
                        wild_reps=99)
    assert list(r.table.method) == ["ri"]
    assert any("wild: not available" in w and "1 treated cluster" in w for w in r.warnings)
    assert any(w.startswith("cluster: not available") for w in r.warnings)


def test_errors():
    df = spatial_panel(n_units=40, sizes=(3,), years=range(2008, 2015), seed=1)
    with pytest.raises(InputError, match="valid choices"):
        size_simulation(df, **KW, methods=("bogus",))
    with pytest.raises(InputError, match="at least 20 draws"):
        size_simulation(df, **KW, draws=5)
    with pytest.raises(InputError, match="two periods before"):
        size_simulation(df, **{**KW, "fake_adoption": 2009})
    with pytest.raises(InputError, match="control units"):
        size_simulation(df, **KW, sizes=(30, 20), draws=20)


@pytest.mark.slow
def test_shaped_ri_holds_size_where_scattered_ri_over_rejects():
    """Spatially correlated shocks, treated clusters of neighbours: RI that re-assigns treatment
    to scattered units over-rejects; RI over placebo units shaped like the clusters holds ~5%."""
    df = spatial_panel(n_units=200, sizes=(6, 4, 3), years=range(2006, 2015), seed=3)
    r = size_simulation(df, **KW, methods=("ri", "ri_scattered"), draws=200, seed=1,
                        placebo_units=PlaceboUnits("nearest"))
    t = r.table.set_index("method")
    assert t.loc["ri", "draws"] == 200
    assert t.loc["ri", "rejection_rate"] <= 0.10
    assert t.loc["ri", "coverage"] >= 0.90
    assert t.loc["ri_scattered", "rejection_rate"] >= 0.20
    assert r.over_rejecting() == ["ri_scattered"]


def test_placebo_adoption_year_uses_shaped_ri():
    from analysis.inference.placebo_time import placebo_adoption_year

    df = spatial_panel(n_units=60, sizes=(4, 2), years=range(2008, 2018), seed=5)
    r = placebo_adoption_year(df, unit="unit", time="year", outcome="outcome", fake_adoption=2012,
                              before=2015, placebo_units=PlaceboUnits("nearest"), reps=199)
    assert r.design.years == (2008, 2014)
    assert r.details["randomization"]["placebo_units"]["sizes"] == [4, 2]
    assert 0 < r.pvalues["att"] <= 1
    with pytest.raises(InputError, match="inside the pre-period"):
        placebo_adoption_year(df, unit="unit", time="year", outcome="outcome",
                              fake_adoption=2016, before=2015)
