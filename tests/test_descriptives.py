"""Descriptive tables: pre-period means and SDs, missing data, the audit and descriptives runs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.descriptives import (data_audit, describe_model, design_exclusions, missing_data_table,
                                   pre_period_summary)
from analysis.design import analysis_frame


def test_pre_period_summary_matches_the_frame(panel):
    frame = analysis_frame(panel, "housing_services", "social_health_costs_eur_per_capita", years=range(2010, 2019))
    table = pre_period_summary(panel, frame).set_index("variable")
    row = table.loc["social_health_costs_eur_per_capita"]
    pre = frame[frame["year"] < 2015].groupby("kunta").agg(g=("treated_group", "first"), y=("outcome", "mean"))
    assert row["n_treated"] == (pre["g"] == 1).sum() and row["n_control"] == (pre["g"] == 0).sum()
    assert row["treated_mean"] == pytest.approx(pre.loc[pre["g"] == 1, "y"].mean())
    assert row["control_sd"] == pytest.approx(pre.loc[pre["g"] == 0, "y"].std(ddof=1))
    assert row["pre_years"] == "2010-2014"
    assert {"population", "share_65_plus", "unemployment_rate"} <= set(table.index)


def test_missing_data_table_names_the_kainuu_gap(panel):
    table = missing_data_table(panel, ["primary_care_outpatient_costs_eur_per_capita", "unemployment_rate"])
    kajaani = table[(table["kunta"] == "205")].iloc[0]
    assert kajaani["missing_years"] == "2010-2012" and "Kainuu" in kajaani["reason"]
    assert (table["variable"] == "unemployment_rate").sum() == 0        # complete on the mainland
    assert table["reason"].str.len().gt(0).all() and (table["n_missing"] > 0).all()


def test_design_exclusions_lists_breaks_and_flags(panel):
    frame = analysis_frame(panel, "integrated_welfare", "primary_care_outpatient_costs_eur_per_capita",
                           years=range(2010, 2019))
    table = design_exclusions(frame.attrs["design"])
    assert "205" in set(table["kunta"])
    flagged = table[table["action"].str.contains("kept and flagged")]
    assert {"286", "564"} <= set(flagged["kunta"])


@pytest.mark.slow
def test_descriptives_and_audit_runs_write_their_tables(panel_path, tmp_path):
    out = tmp_path / "desc"
    summary = describe_model("kela_cooperation", output_dir=out, end_year=2016, panel_path=panel_path)
    assert summary["outcomes"][0] == "social_assistance_eur_per_capita"
    for name in ("composition", "pre_period_summary", "missing_data", "design_exclusions"):
        assert (out / "tables" / f"{name}.md").is_file() and (out / "tables" / f"{name}.csv").is_file()
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["kind"] == "descriptives" and results["estimates"] == []
    assert results["design"]["years"][1] == 2016
    pre = pd.read_csv(out / "tables" / "pre_period_summary.csv")
    assert set(pre["outcome"]) == set(summary["outcomes"]) and np.isfinite(pre["treated_mean"]).all()
    audit_dir = tmp_path / "audit"
    data_audit(output_dir=audit_dir, panel_path=panel_path)
    breaks = pd.read_csv(audit_dir / "tables" / "breaks.csv", dtype={"kunta": str})
    kainuu = breaks[(breaks["variable"] == "social_health_costs_eur_per_capita") & (breaks["year"] == 2013)]
    assert {"105", "205", "290", "578", "620", "697", "765", "777"} <= set(kainuu["kunta"])
    summary = pd.read_csv(audit_dir / "tables" / "break_design_summary.csv")
    row = summary[(summary["model"] == "integrated_welfare")
                  & (summary["outcome"] == "social_health_costs_eur_per_capita")].iloc[0]
    assert row["excluded_for_breaks"] >= 8
    assert (audit_dir / "tables" / "break_exclusions.md").is_file()
    assert "| 205 " in (audit_dir / "tables" / "break_exclusions.md").read_text(encoding="utf-8")
