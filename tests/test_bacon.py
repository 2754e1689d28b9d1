"""Goodman-Bacon decomposition: weights sum to one and reproduce TWFE; plot."""
from pathlib import Path

import pandas as pd
import pytest

from analysis.estimators.staggered.bacon import bacon
from analysis.estimators.staggered.simulate import simulate_staggered

REF = Path(__file__).parent / "reference" / "mpdta"


def test_mpdta_twfe_and_reconstruction():
    d = pd.read_csv(REF / "mpdta.csv")
    b = bacon(d, yname="lemp", tname="year", idname="countyreal", gname="first.treat")
    # TWFE beta of REFERENCE.md section D (fixest/linearmodels): -0.036549
    assert b.params["att"] == pytest.approx(-0.036549, abs=5e-7)
    comp = pd.DataFrame(b.details["components"])
    assert comp.weight.sum() == pytest.approx(1, abs=1e-12)
    assert (comp.weight * comp.estimate).sum() == pytest.approx(b.params["att"], abs=1e-12)
    assert len(comp) == 9
    # treated-vs-never 2x2 of cohort 2004 is the CS group-2004 average (R did: -0.0797491266)
    row = comp[(comp.treated == "2004") & (comp.control == "never")]
    assert row.estimate.iloc[0] == pytest.approx(-0.0797491265747291, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_simulated_reconstruction_with_always_treated(seed):
    d, _ = simulate_staggered(n_units=120, seed=seed, cohorts=(2001, 2004, 2007))
    b = bacon(d, yname="y", tname="year", idname="unit", gname="cohort")
    comp = pd.DataFrame(b.details["components"])
    assert comp.weight.sum() == pytest.approx(1, abs=1e-12)
    assert (comp.weight * comp.estimate).sum() == pytest.approx(b.params["att"], abs=1e-10)
    assert (comp.weight >= 0).all()


def test_plot(tmp_path):
    from analysis.plots.staggered import bacon_plot

    d, _ = simulate_staggered(n_units=60)
    ax = bacon_plot(bacon(d, yname="y", tname="year", idname="unit", gname="cohort"))
    ax.figure.savefig(tmp_path / "b.png")
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_copay_example_panel():
    """Worked example data (shipped raw files): balanced panel, Bacon reproduces TWFE."""
    from analysis.estimators.staggered.example import copay_panel

    d = copay_panel()
    assert d.groupby("kunta").size().nunique() == 1
    assert set(d.cohort.unique()) >= {0, 2015, 2016, 2017}
    b = bacon(d, yname="y", tname="year", idname="kunta", gname="cohort")
    comp = pd.DataFrame(b.details["components"])
    assert (comp.weight * comp.estimate).sum() == pytest.approx(b.params["att"], rel=1e-10)
