"""Harmonisation onto the 2023 division: merger map, conservation of totals, weighted means."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import municipalities as mun, sources
from analysis.errors import InputError
from analysis.panel import SourceSeries, harmonise_series


def test_division_2023_has_309_municipalities_16_on_aland():
    assert len(mun.codes()) == 309
    assert len(mun.aland_codes()) == 16
    assert len(mun.codes(2013)) == 320


def test_code_map_covers_mergers_since_2013():
    mapping = mun.code_map(2013)
    assert mapping["532"] == "398" and mapping["283"] == "098"   # Nastola, Hämeenkoski 2016
    assert mapping["174"] == "297" and mapping["476"] == "297"   # Juankoski 2017, Maaninka 2015
    assert mapping["911"] == "541" and mapping["099"] == "214"   # Valtimo 2020, Honkajoki 2021
    assert set(mapping.values()) <= set(mun.codes())
    assert not set(mapping) & set(mun.codes())
    # every code of the 2013 division lands in the 2023 division
    assert {mapping.get(c, c) for c in mun.codes(2013)} == set(mun.codes())


def test_code_map_chains_and_splits():
    assert mun.code_map(2008)["945"] == "946"  # Vöyri-Maksamaa (2007) -> Vöyri (2011)
    assert mun.code_map(2006)["479"] == "946"  # Maksamaa -> Vöyri-Maksamaa -> Vöyri (chain)
    assert mun.split_codes(2006) == {"443": ["182", "562"]}  # Längelmäki 2007: Jämsä, Orivesi
    assert "443" not in mun.code_map(2006)
    with pytest.raises(InputError, match="split"):
        mun.to_division("443", 2006)
    frame = pd.DataFrame({"kunta": ["443"], "year": [2006], "value": [1.0]})
    with pytest.raises(InputError, match="split"):
        mun.harmonise(frame, 2006, "sum")
    with pytest.raises(InputError):
        mun.code_map(2020, 2013)
    with pytest.raises(InputError, match="Pertunmaa"):
        mun.code_map(2020, 2025)


def test_totals_conserved_across_mergers():
    """Population of the 2013 division (Sotkanet dump, 2012) summed onto 2023: same total,
    and Lahti = Lahti + Nastola."""
    dump = sources.load_sotkanet_dump(indicators=[127])
    pop = dump[(dump["variable"] == "sotkanet_127") & (dump["year"] == 2012)][["kunta", "year", "value"]]
    out = mun.harmonise(pop, 2013, "sum")
    assert out["value"].sum() == pytest.approx(pop["value"].sum(), rel=1e-12)
    assert len(out) == 309
    before = pop.set_index("kunta")["value"]
    after = out.set_index("kunta")["value"]
    assert after["398"] == before["398"] + before["532"]
    assert after["297"] == before["297"] + before["174"] + before["476"]


def test_population_weighted_mean_conserves_the_weighted_total():
    frame = pd.DataFrame({"kunta": ["398", "532", "091"], "year": 2012, "value": [100.0, 40.0, 7.0]})
    weights = pd.DataFrame({"kunta": ["398", "532", "091"], "year": 2012, "value": [100_000.0, 15_000.0, 1.0]})
    out = mun.harmonise(frame, 2013, "population_weighted_mean", weights=weights).set_index("kunta")["value"]
    assert out["398"] == pytest.approx((100 * 100_000 + 40 * 15_000) / 115_000)
    assert out["398"] * 115_000 == pytest.approx(100 * 100_000 + 40 * 15_000)  # € total conserved
    assert out["091"] == 7.0


def test_missing_part_makes_the_merged_unit_missing():
    frame = pd.DataFrame({"kunta": ["398", "532", "398", "532"], "year": [2011, 2011, 2012, 2012],
                          "value": [1.0, 2.0, 5.0, np.nan]})
    out = mun.harmonise(frame, 2013, "sum").set_index(["kunta", "year"])["value"]
    assert out[("398", 2011)] == 3.0
    assert np.isnan(out[("398", 2012)])
    # a part absent from a year (row missing) also makes it missing
    out2 = mun.harmonise(frame.iloc[[0, 1, 2]], 2013, "sum").set_index(["kunta", "year"])["value"]
    assert np.isnan(out2[("398", 2012)])


def test_weighted_mean_needs_weights_and_valid_aggregation():
    frame = pd.DataFrame({"kunta": ["398"], "year": [2012], "value": [1.0]})
    with pytest.raises(InputError, match="weights"):
        mun.harmonise(frame, 2013, "population_weighted_mean")
    with pytest.raises(InputError, match="valid choices"):
        mun.harmonise(frame, 2013, "mean")


def test_source_series_default_weights_are_source_division_population():
    dump = sources.load_sotkanet_dump(indicators=[127, 451])
    sa = dump[(dump["variable"] == "sotkanet_451") & (dump["year"] == 2009)][["kunta", "year", "value"]]
    pop = dump[(dump["variable"] == "sotkanet_127") & (dump["year"] == 2009)].set_index("kunta")["value"]
    series = SourceSeries("sa", sa, 2013, "population_weighted_mean", "x", "x", "EUR", "test")
    out = harmonise_series(series).set_index("kunta")["value"]
    v = sa.set_index("kunta")["value"]
    expected = (v["398"] * pop["398"] + v["532"] * pop["532"]) / (pop["398"] + pop["532"])
    assert out["398"] == pytest.approx(expected, rel=1e-12)


def test_code_helpers():
    assert mun.normalise_code("KU91") == "091"
    assert mun.to_division("532", 2014) == "398"
    assert mun.check_code(532) == "532"
    with pytest.raises(InputError, match="unknown municipality code '998'"):
        mun.check_code("998")
    with pytest.raises(InputError, match="valid choices"):
        mun.municipality_key(2030)
