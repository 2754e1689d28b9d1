"""Comparison designs and the analysis frame."""
from __future__ import annotations

import json

import pytest

from analysis import municipalities, registry
from analysis.cli import main
from analysis.design import (analysis_frame, comparison_design, design_for, post_years,
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


def test_design_json_command(panel_path, capsys):
    assert main(["design", "--model", "education_services", "--json", "--panel", str(panel_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["model", "division_year", "control_pool", "outcome", "years", "breaks",
                          "treated_units", "treated_municipalities", "control_municipalities",
                          "n_treated_units", "n_treated_municipalities", "n_control_municipalities",
                          "excluded", "treated_break_flags"]
    assert data["model"] == "education_services" and data["division_year"] == 2023
    assert data["outcome"] == "education_culture_costs_eur_per_capita" and data["breaks"] == "exclude"
    assert data["treated_units"] == ["riihimaki_group"]
    assert data["treated_municipalities"] == ["086", "433", "694"]
    assert all(isinstance(c, str) and len(c) == 3 for c in data["control_municipalities"])


def test_unknown_model(capsys):
    assert main(["design", "--model", "welfare"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'welfare'" in err and "integrated_welfare" in err
    with pytest.raises(InputError, match="valid choices"):
        comparison_design("welfare")


def test_design_text_output(panel_path, capsys):
    assert main(["design", "--model", "youth_guarantee", "--panel", str(panel_path)]) == 0
    out = capsys.readouterr().out
    assert "treated units (11)" in out and "control municipalities: 238" in out


def test_analysis_frame(panel):
    f = analysis_frame(panel, "integrated_welfare", "social_health_costs_eur_per_capita",
                       covariates=["share_65_plus"])
    for col in ["kunta", "year", "outcome", "treated", "treated_group", "cluster", "population", "share_65_plus",
                "social_health_costs_eur_per_capita", "x", "y", "region", "event_time"]:
        assert col in f.columns
    assert f["outcome"].notna().all()
    assert set(f.loc[f["treated"] == 1, "year"]) == set(range(2015, 2019))
    assert (f.loc[f["treated"] == 1, "treated_group"] == 1).all()
    assert f.loc[f["treated_group"] == 1, "cluster"].nunique() == 8
    design = f.attrs["design"]
    assert design["control_pool"] == "default" and design["years"] == [2008, 2018]
    # the eight Kainuu municipalities (regional experiment 2005-2012) leave the pool
    kainuu = {"105", "205", "290", "578", "620", "697", "765", "777"}
    assert kainuu <= set(design["excluded"]) and not kainuu & set(f["kunta"])
    assert all("Kainuu" in design["excluded"][k] and "343/2003" in design["excluded"][k] for k in kainuu)
    n_controls = f.loc[f["treated_group"] == 0, "kunta"].nunique()
    assert n_controls == design["n_control_municipalities"] == len(design["control_municipalities"])
    assert f["kunta"].nunique() == 33 + n_controls and not f.duplicated(["kunta", "year"]).any()
    assert f.groupby("kunta")["year"].nunique().eq(11).all()          # balanced 2008-2018
    # breaks="keep": the robustness variant keeps them
    kept = analysis_frame(panel, "integrated_welfare", "social_health_costs_eur_per_capita", breaks="keep")
    assert kainuu <= set(kept["kunta"]) and kept.attrs["design"]["breaks"] == "keep"


@pytest.mark.parametrize("pool", ["default", "keep_other_pilots", "same_region", "matched"])
def test_analysis_frame_every_pool(panel, pool):
    f = analysis_frame(panel, "housing_services", "social_health_costs_eur_per_capita", control_pool=pool,
                       years=range(2010, 2019))
    design = f.attrs["design"]
    assert design["control_pool"] == pool and design["years"] == [2010, 2018]
    assert set(f.loc[f["treated_group"] == 0, "kunta"]) == set(design["control_municipalities"])
    assert set(f.loc[f["treated_group"] == 1, "kunta"]) == set(design["treated_municipalities"])
    assert not set(design["excluded"]) & set(f["kunta"])
    assert f[["x", "y", "region"]].notna().all().all()
    assert "205" not in set(f["kunta"])                                  # Kajaani: Kainuu break
    if pool == "same_region":
        treated_regions = set(f.loc[f["treated_group"] == 1, "region"])
        assert set(f["region"]) == treated_regions
    if pool == "matched":
        assert design["n_control_municipalities"] <= 5 * design["n_treated_municipalities"]


def test_old_keywords_still_work(panel):
    a = analysis_frame(panel, "kela_cooperation", "social_assistance_eur_per_capita", keep_other_pilots=True,
                       start_year=2010, end_year=2016)
    b = analysis_frame(panel, "kela_cooperation", "social_assistance_eur_per_capita",
                       control_pool="keep_other_pilots", years=range(2010, 2017))
    assert a.equals(b) and a.attrs["design"]["control_pool"] == "keep_other_pilots"


def test_bad_design_choices(panel):
    with pytest.raises(InputError, match="valid choices"):
        analysis_frame(panel, "integrated_welfare", control_pool="nearby")
    with pytest.raises(InputError, match="valid choices"):
        analysis_frame(panel, "integrated_welfare", breaks="drop")
    with pytest.raises(InputError, match="pre-period"):
        analysis_frame(panel, "integrated_welfare", years=range(2015, 2019))


def test_treated_break_is_flagged_not_dropped(panel):
    f = analysis_frame(panel, "integrated_welfare", "primary_care_outpatient_costs_eur_per_capita",
                       years=range(2010, 2019))
    flags = f.attrs["design"]["treated_break_flags"]
    flagged = {(x["kunta"], x["year"]) for x in flags}
    assert {("286", 2015), ("564", 2015), ("405", 2015)} <= flagged   # Kouvola, Oulu, Lappeenranta
    assert {"286", "564", "405"} <= set(f["kunta"])
    assert all(x["unit"] and x["reason"] and x["source"] for x in flags)


def test_design_outcome_option(panel_path, capsys):
    args = ["design", "--model", "integrated_welfare", "--outcome", "social_health_costs_eur_per_capita",
            "--years", "2010-2018", "--panel", str(panel_path), "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["years"] == [2010, 2018]
    assert data["excluded"]["205"].startswith("series break in social_health_costs_eur_per_capita")
    assert main([*args, "--breaks", "keep"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert "205" in kept["control_municipalities"]
    assert main(["design", "--model", "integrated_welfare", "--years", "2018-2010",
                 "--panel", str(panel_path)]) == 2
    assert "first year is after the last" in capsys.readouterr().err


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
    outcome = "social_assistance_eur_per_capita"
    matched = design_for(panel, "kela_cooperation", outcome, control_pool="matched", n_matched=5)
    assert 0 < len(matched.control_municipalities) <= 5  # series breaks may remove some
    assert set(matched.control_municipalities) < set(base.control_municipalities)
    again = design_for(panel, "kela_cooperation", outcome, control_pool="matched", n_matched=5)
    assert again.control_municipalities == matched.control_municipalities


def test_design_pool_options(panel_path, capsys):
    assert main(["design", "--model", "kela_cooperation", "--pool", "same_region", "--json",
                 "--panel", str(panel_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert 0 < len(data["control_municipalities"]) < 238
    assert main(["design", "--model", "kela_cooperation", "--pool", "matched", "--json",
                 "--panel", str(panel_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["control_pool"] == "matched" and 0 < data["n_control_municipalities"] <= 5


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


def test_outcome_fit_is_rated_for_every_outcome(panel):
    from analysis.outcomes import CATALOGUE, fit_table, outcome_fit

    for model, entry in CATALOGUE.items():
        for var in (*entry.outcomes, *entry.secondary):
            fit, why = outcome_fit(model, var)
            assert fit in ("measures", "proxy") and why, (model, var)
    assert outcome_fit("youth_guarantee", "unemployment_rate")[0] == "proxy"
    assert outcome_fit("education_services", "upper_secondary_share")[0] == "proxy"
    assert outcome_fit("integrated_welfare", "gp_visits_per_capita")[0] == "measures"
    assert len(fit_table()) == sum(len(e.outcomes) + len(e.secondary) for e in CATALOGUE.values())
    # GP and nurse visits: from 2013 (Haaga et al. panel)
    for var in ("gp_visits_per_capita", "nurse_visits_per_capita"):
        years = panel.loc[panel[var].notna(), "year"]
        assert years.min() == 2013 and years.max() == 2018
    f = analysis_frame(panel, "integrated_welfare", "gp_visits_per_capita")
    assert f.attrs["design"]["years"] == [2013, 2018] and f["outcome"].between(0.1, 5).all()


@pytest.mark.parametrize("args, message", [
    (["--outcome", "municipality_name"], "unknown outcome 'municipality_name'"),
    (["--outcome", "no_such"], "valid choices"),
    (["--years", "1990-2000"], "not in the panel"),
    (["--years", "2010"], "FIRST-LAST"),
    (["--pool", "nearby"], "invalid choice"),
    (["--breaks", "drop"], "invalid choice"),
])
def test_design_command_rejects_bad_input(panel_path, capsys, args, message):
    try:
        code = main(["design", "--model", "kela_cooperation", "--panel", str(panel_path), *args])
    except SystemExit as exc:  # argparse's own choice errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
