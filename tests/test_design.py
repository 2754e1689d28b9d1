"""Comparison designs and the analysis frame."""
from __future__ import annotations

import json

import pytest

from analysis import municipalities, registry
from analysis.cli import main
from analysis.design import (analysis_frame, comparison_design, matched_controls, post_years,
                             same_region_controls)
from analysis.errors import InputError


@pytest.mark.parametrize("model", registry.MODELS)
def test_default_rules(model):
    d = comparison_design(model)
    treated, controls = set(d.treated_municipalities), set(d.control_municipalities)
    assert not treated & controls
    assert not controls & set(registry.municipalities())          # no pilot municipality as control
    assert not set(municipalities.aland_codes()) & (treated | controls)
    for code in municipalities.aland_codes():
        assert "Åland" in d.excluded[code]
    universe = set(municipalities.codes())
    assert treated | controls | set(d.excluded) == universe
    assert not (treated | controls) & set(d.excluded)
    assert treated == set(registry.municipalities(model)) <= universe
    assert d.treated_units == registry.units(model)
    assert all(len(c) == 3 and c.isdigit() for c in treated | controls | set(d.excluded))
    assert len(controls) == 309 - 16 - 55


def test_keep_other_pilots():
    d = comparison_design("kela_cooperation", keep_other_pilots=True)
    assert "092" not in d.control_municipalities
    assert "091" in d.control_municipalities                     # Helsinki: youth guarantee only
    assert len(d.control_municipalities) == 309 - 16 - 1
    assert set(d.excluded.values()) == {"Åland (Ahvenanmaa): own social-services legislation"}


def test_clusters_are_pilot_units():
    d = comparison_design("integrated_welfare")
    assert d.cluster["179"] == "jyvaskyla_group" and d.cluster["077"] == "jyvaskyla_group"
    assert d.cluster["005"] == "005"
    assert len({d.cluster[c] for c in d.treated_municipalities}) == 8


def test_design_json_command(capsys):
    assert main(["design", "--model", "education_services", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["model", "division_year", "treated_units", "treated_municipalities",
                          "control_municipalities", "excluded"]
    assert data["model"] == "education_services" and data["division_year"] == 2023
    assert data["treated_units"] == ["riihimaki_group"]
    assert data["treated_municipalities"] == ["086", "433", "694"]
    assert all(isinstance(c, str) and len(c) == 3 for c in data["control_municipalities"])


def test_unknown_model(capsys):
    assert main(["design", "--model", "welfare"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'welfare'" in err and "integrated_welfare" in err
    with pytest.raises(InputError, match="valid choices"):
        comparison_design("welfare")


def test_design_text_output(capsys):
    assert main(["design", "--model", "youth_guarantee"]) == 0
    out = capsys.readouterr().out
    assert "treated units (11)" in out and "control municipalities: 238" in out


def test_analysis_frame(panel):
    f = analysis_frame(panel, "integrated_welfare", "social_health_costs_eur_per_capita",
                       covariates=["share_65_plus"])
    for col in ["kunta", "year", "outcome", "treated", "treated_group", "cluster", "population", "share_65_plus"]:
        assert col in f.columns
    assert f["outcome"].notna().all()
    assert set(f.loc[f["treated"] == 1, "year"]) == set(range(2015, 2019))
    assert (f.loc[f["treated"] == 1, "treated_group"] == 1).all()
    assert f.loc[f["treated_group"] == 1, "cluster"].nunique() == 8
    assert f["kunta"].nunique() == 33 + 238 and not f.duplicated(["kunta", "year"]).any()


def test_kela_post_period_is_2015_2016(panel):
    assert post_years("kela_cooperation") == [2015, 2016]
    f = analysis_frame(panel, "kela_cooperation", "social_assistance_eur_per_capita")
    assert f["year"].max() == 2016
    treated = f[f["treated"] == 1]
    assert set(treated["kunta"]) == {"092"} and set(treated["year"]) == {2015, 2016}


def test_analysis_frame_unknown_column(panel):
    with pytest.raises(InputError, match="valid choices"):
        analysis_frame(panel, "kela_cooperation", "no_such_outcome")


def test_same_region_and_matched_pools(panel):
    base = comparison_design("kela_cooperation")
    region = same_region_controls(base)
    key = municipalities.municipality_key().set_index("kunta")
    assert set(key.loc[region.control_municipalities, "maakunta_code"]) == {1}  # Uusimaa
    assert set(region.control_municipalities) < set(base.control_municipalities)
    matched = matched_controls(base, panel, "social_assistance_eur_per_capita", n_neighbours=5)
    assert len(matched.control_municipalities) == 5
    assert set(matched.control_municipalities) < set(base.control_municipalities)
    again = matched_controls(base, panel, "social_assistance_eur_per_capita", n_neighbours=5)
    assert again.control_municipalities == matched.control_municipalities


def test_design_pool_options(capsys):
    assert main(["design", "--model", "kela_cooperation", "--pool", "same_region", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert 0 < len(data["control_municipalities"]) < 238
    assert main(["design", "--model", "kela_cooperation", "--pool", "matched"]) == 2
    assert "--outcome" in capsys.readouterr().err


def test_outcome_catalogue_matches_panel(panel):
    from analysis.outcomes import CATALOGUE, label, outcomes_of

    assert set(CATALOGUE) == set(registry.models())
    for model, entry in CATALOGUE.items():
        for var in (*entry.outcomes, *entry.secondary, *entry.covariates):
            assert var in panel.columns, (model, var)
            assert label(var) != var
    assert outcomes_of("supervision") == []
    with pytest.raises(InputError, match="valid choices"):
        outcomes_of("welfare")
