"""Coverage audit."""
from __future__ import annotations

import pandas as pd

from analysis.audit import coverage, coverage_table
from analysis.cli import main


def test_coverage(panel):
    cov = coverage(panel).set_index("variable")
    assert cov.loc["unemployment_rate", "first_year"] == 2006
    assert cov.loc["unemployment_rate", "last_year"] == 2023
    assert cov.loc["unemployment_rate", "municipalities"] == 309
    assert cov.loc["primary_care_outpatient_costs_eur_per_capita", "municipalities"] == 293  # mainland
    assert (cov["missing_share"].between(0, 1)).all()
    mainland = coverage(panel, mainland_only=True).set_index("variable")
    assert mainland.loc["primary_care_outpatient_costs_eur_per_capita", "missing_share"] < \
        cov.loc["primary_care_outpatient_costs_eur_per_capita", "missing_share"]


def test_audit_command_prints_table(panel_path, capsys):
    assert main(["audit", "--panel", str(panel_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["variable", "years"]
    assert any(line.startswith("unemployment_rate") and "2006-2023" in line for line in lines)
    assert coverage_table(pd.read_parquet(panel_path)).count("\n") == len(lines) - 1


def test_audit_without_panel_is_a_clear_error(tmp_path, capsys):
    assert main(["audit", "--panel", str(tmp_path / "none.parquet")]) == 2
    assert "kuntakokeilu panel" in capsys.readouterr().err
