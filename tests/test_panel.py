"""The analysis panel: schema, harmonised values, codebook, extension point, read checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import panel as panel_mod, sources
from analysis.cli import main
from analysis.errors import DataIntegrityError, InputError
from analysis.panel import SourceSeries, build_panel, read_panel, validate_panel

VARIABLES = [
    "social_health_costs_eur_per_capita", "education_culture_costs_eur_per_capita",
    "primary_care_outpatient_costs_eur_per_capita", "social_assistance_eur_per_capita",
    "social_assistance_households_per_1000", "unemployment_rate", "employment_rate",
    "upper_secondary_share", "population", "share_65_plus", "maakunta_code", "urban_rural_type",
]


def test_panel_shape_keys_and_types(panel):
    assert len(panel) == 309 * 18
    assert panel["kunta"].nunique() == 309
    assert sorted(panel["year"].unique()) == list(range(2006, 2024))
    assert not panel.duplicated(["kunta", "year"]).any()
    assert panel["kunta"].map(type).eq(str).all() and panel["kunta"].str.fullmatch(r"\d{3}").all()
    for col in VARIABLES:
        assert col in panel.columns
    assert panel["aland"].sum() == 16 * 18
    assert panel["urban_rural_type"].notna().all()


def test_coverage_of_outcomes(panel):
    def years(col):
        return sorted(panel.loc[panel[col].notna(), "year"].unique())
    assert years("social_health_costs_eur_per_capita") == list(range(2008, 2019))
    assert years("primary_care_outpatient_costs_eur_per_capita") == list(range(2010, 2019))
    assert years("unemployment_rate") == list(range(2006, 2024))
    assert years("population") == list(range(2006, 2023))
    assert years("youth_outside_education_share") == list(range(2006, 2012))
    assert years("social_assistance_recipients_share") == list(range(2006, 2012))
    mainland = panel[~panel["aland"]]
    assert mainland.loc[mainland["year"].between(2010, 2016), "social_health_costs_eur_per_capita"].notna().mean() > 0.99


def test_values_match_the_sources(panel):
    p = panel.set_index(["kunta", "year"])
    # population: Sotkanet 127 (already on the current division)
    pop = sources.load_sotkanet_population().set_index(["kunta", "year"])["value"]
    assert p.loc[("092", 2015), "population"] == pop[("092", 2015)]
    # Key figures (2019 division): Vantaa's social and health care costs 2015
    statfin = sources.load_statfin_key_figures()
    row = statfin[(statfin.kunta == "092") & (statfin.year == 2015)
                  & (statfin.variable == "social_health_costs_eur_per_capita")]
    assert p.loc[("092", 2015), "social_health_costs_eur_per_capita"] == row["value"].item()
    # Haaga extends 2017-2018
    haaga = sources.load_haaga_panel()
    row = haaga[(haaga.kunta == "092") & (haaga.year == 2018)
                & (haaga.variable == "social_health_costs_eur_per_capita")]
    assert p.loc[("092", 2018), "social_health_costs_eur_per_capita"] == row["value"].item()
    # households per 1,000 = households / population x 1000 (Haaga)
    hh = haaga[(haaga.kunta == "092") & (haaga.year == 2015)].set_index("variable")["value"]
    assert p.loc[("092", 2015), "social_assistance_households_per_1000"] == pytest.approx(
        1000 * hh["social_assistance_households"] / hh["population"])


def test_merged_municipality_is_population_weighted(panel):
    """Honkajoki (099) joined Kankaanpää (214) in 2021: key-figure shares are weighted by the
    key figures' own populations (2019 division)."""
    statfin = sources.load_statfin_key_figures()
    s = statfin[statfin.year == 2012].pivot(index="kunta", columns="variable", values="value")
    w = s.loc[["214", "099"], "population"]
    expected = (s.loc[["214", "099"], "share_65_plus"] * w).sum() / w.sum()
    got = panel.set_index(["kunta", "year"]).loc[("214", 2012), "share_65_plus"]
    assert got == pytest.approx(expected, rel=1e-12)
    assert "099" not in set(panel["kunta"])


def test_codebook(panel_path, panel):
    book = panel_mod.codebook(panel_path.parent / panel_mod.CODEBOOK_FILE)
    assert list(book.columns[:6]) == ["variable", "label_en", "label_fi", "unit", "source", "years_covered"]
    assert list(book["variable"]) == list(panel.columns)
    row = book.set_index("variable").loc["unemployment_rate"]
    assert row["years_covered"] == "2006-2023" and "TEM" in row["source"] and row["label_fi"]
    assert (book["label_en"] != "").all()


def test_schema_failures(panel):
    bad = panel.copy()
    bad.loc[0, "unemployment_rate"] = 140.0
    with pytest.raises(DataIntegrityError, match="unemployment_rate"):
        validate_panel(bad)
    dup = pd.concat([panel, panel.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataIntegrityError, match="duplicate"):
        validate_panel(dup)
    wrong = panel.copy()
    wrong["kunta"] = wrong["kunta"].astype(int)
    with pytest.raises(DataIntegrityError, match="kunta"):
        validate_panel(wrong)
    with pytest.raises(DataIntegrityError, match="lacks column"):
        validate_panel(panel.drop(columns="population"))
    text = panel.copy()
    text["population"] = text["population"].astype(str)
    with pytest.raises(DataIntegrityError, match="population"):
        validate_panel(text)


def test_read_validates_and_missing_file_is_clear(tmp_path, panel):
    bad = panel.copy()
    bad["year"] = bad["year"] + 100
    path = tmp_path / "panel.parquet"
    bad.to_parquet(path)
    with pytest.raises(DataIntegrityError, match="years"):
        read_panel(path)
    with pytest.raises(InputError, match="kuntakokeilu panel"):
        panel_mod.load_panel(tmp_path / "none.parquet")
    with pytest.raises(InputError, match="kuntakokeilu panel"):
        panel_mod.panel_sha256(tmp_path / "none.parquet")


def test_panel_sha256(panel_path):
    import hashlib
    assert panel_mod.panel_sha256(panel_path) == hashlib.sha256(panel_path.read_bytes()).hexdigest()


def test_extra_series_extend_and_replace(tmp_path, panel):
    """A new name adds a column; a built-in name is replaced where the extra series has data."""
    new = SourceSeries("test_new_share",
                       pd.DataFrame({"kunta": ["532", "398"], "year": [2012, 2012], "value": [10.0, 20.0]}),
                       2013, "population_weighted_mean", "Aged 17-24 outside education", "17-24-vuotiaat koulutuksen ulkopuolella",
                       "percent", "test", weights=pd.DataFrame({"kunta": ["532", "398"], "year": [2012, 2012],
                                                                  "value": [1.0, 3.0]}), bounds=(0, 100))
    clash = SourceSeries("unemployment_rate",
                         pd.DataFrame({"kunta": ["092"], "year": [2015], "value": [1.5]}),
                         2023, "population_weighted_mean", "u", "u", "percent", "live test")
    out = tmp_path / "panel.parquet"
    built = build_panel([new, clash], out_path=out).set_index(["kunta", "year"])
    assert built.loc[("398", 2012), "test_new_share"] == pytest.approx(17.5)
    assert np.isnan(built.loc[("091", 2012), "test_new_share"])
    assert built.loc[("092", 2015), "unemployment_rate"] == 1.5
    base = panel.set_index(["kunta", "year"])
    assert built.loc[("092", 2016), "unemployment_rate"] == base.loc[("092", 2016), "unemployment_rate"]
    book = panel_mod.codebook(tmp_path / "codebook.csv").set_index("variable")
    assert "live test" in book.loc["unemployment_rate", "source"]
    assert book.loc["test_new_share", "years_covered"] == "2012"


def test_bad_source_series():
    frame = pd.DataFrame({"kunta": [91], "year": [2015], "value": [1.0]})
    with pytest.raises(InputError, match="3-digit"):
        SourceSeries("x", frame, 2023, "sum", "x", "x", "x", "x")
    with pytest.raises(InputError, match="valid choices"):
        SourceSeries("x", frame.assign(kunta="091"), 2023, "mean", "x", "x", "x", "x")
    with pytest.raises(InputError, match="lacks"):
        SourceSeries("x", frame.drop(columns="value"), 2023, "sum", "x", "x", "x", "x")


def test_panel_command_writes_atomically(tmp_path, capsys):
    out = tmp_path / "p" / "panel.parquet"
    assert main(["panel", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert ">> panel:" in printed and "wrote" in printed
    assert out.exists() and (out.parent / "codebook.csv").exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    read_panel(out)


def test_build_is_deterministic_and_round_trips(tmp_path, panel_path, panel):
    again = build_panel(out_path=tmp_path / "panel.parquet")
    pd.testing.assert_frame_equal(again, panel)
    assert panel_mod.panel_sha256(tmp_path / "panel.parquet") == panel_mod.panel_sha256(panel_path)
    assert (tmp_path / "codebook.csv").read_bytes() == (panel_path.parent / "codebook.csv").read_bytes()
