"""Data audit: coverage and structural breaks."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.audit import (BreakRule, coverage, coverage_table, known_breaks, rule_breaks,
                            structural_breaks)
from analysis.cli import main
from analysis.errors import InputError

KAINUU = {"105": "Hyrynsalmi", "205": "Kajaani", "290": "Kuhmo", "578": "Paltamo", "620": "Puolanka",
          "697": "Ristijärvi", "765": "Sotkamo", "777": "Suomussalmi"}
#: the 2015 primary-care outpatient drops: Kouvola, the Eksote members of the Lappeenranta group,
#: Oulu, Helsinki
PRIMARY_CARE_2015 = {"286", "405", "416", "441", "580", "689", "700", "739", "831", "564", "091"}


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


def test_audit_command_prints_tables(panel_path, capsys):
    assert main(["audit", "--panel", str(panel_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["variable", "years"]
    assert any(line.startswith("unemployment_rate") and "2006-2023" in line for line in lines)
    n_cov = coverage_table(pd.read_parquet(panel_path)).count("\n") + 1
    assert lines[n_cov] == "" and lines[n_cov + 1].startswith("structural breaks")
    assert any("Kajaani" in line and "social_health" in line and "rule+known" in line for line in lines)


def test_audit_without_panel_is_a_clear_error(tmp_path, capsys):
    assert main(["audit", "--panel", str(tmp_path / "none.parquet")]) == 2
    assert "kuntakokeilu panel" in capsys.readouterr().err


def test_known_breaks_table_has_a_source_for_every_row():
    table = known_breaks()
    assert len(table) and (table["source"].str.len() > 10).all() and (table["reason"].str.len() > 10).all()
    assert set(table["kind"]) <= {"institutional", "classification"}
    assert set(table["status"]) <= {"documented", "suspected"}
    kainuu = table[table["kunta"].isin(KAINUU)]
    assert set(kainuu["kunta"]) == set(KAINUU) and (kainuu["break_year"] == 2013).all()
    assert kainuu["source"].str.contains("343/2003").all()


def test_audit_json_pins_kainuu_and_primary_care_breaks(panel_path, tmp_path, capsys):
    out = tmp_path / "audit.json"
    assert main(["audit", "--panel", str(panel_path), "--json", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["rule"]["z_own"] == 5 and data["rule"]["min_log_change"] == 0.15
    rows = pd.DataFrame(data["breaks"])
    shc = rows[(rows["variable"] == "social_health_costs_eur_per_capita") & (rows["year"] == 2013)]
    # the Kainuu 2013 break: found by the rule AND in the known-breaks table, with its reason
    assert set(shc["kunta"]) >= set(KAINUU)
    kainuu = shc[shc["kunta"].isin(KAINUU)].set_index("kunta")
    assert (kainuu["detected_by"] == "rule+known").all()
    assert kainuu["reason"].str.contains("Kainuu regional self-government experiment").all()
    assert (kainuu["value_before"] < 200).all() and (kainuu["value"] > 3000).all()
    pc = rows[(rows["variable"] == "primary_care_outpatient_costs_eur_per_capita") & (rows["year"] == 2015)]
    pc = pc.set_index("kunta")
    assert set(pc.index) >= PRIMARY_CARE_2015
    assert (pc.loc[sorted(PRIMARY_CARE_2015), "log_change"] < np.log(0.84)).all()   # drops of 17-40 %
    assert pc.loc[sorted(PRIMARY_CARE_2015), "reason"].str.contains("classification|assigned").all()
    # stdout variant
    capsys.readouterr()
    assert main(["audit", "--panel", str(panel_path), "--json", "--variable", "unemployment_rate"]) == 0
    assert json.loads(capsys.readouterr().out)["coverage"][0]["variable"] == "unemployment_rate"


def test_audit_bad_variable(panel_path, capsys):
    assert main(["audit", "--panel", str(panel_path), "--variable", "no_such"]) == 2
    assert "valid choices" in capsys.readouterr().err


def _synthetic_panel(jump_at=None, size=1.0, n=40, years=range(2006, 2019), seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        level = 1000 * np.exp(rng.normal(0, 0.2))
        for t in years:
            level *= np.exp(0.02 + rng.normal(0, 0.02))
            value = level * (np.exp(size) if (jump_at and i == 0 and t >= jump_at) else 1.0)
            rows.append({"kunta": f"{i + 1:03d}", "year": t, "aland": False, "municipality_name": f"m{i}",
                         "v": value})
    return pd.DataFrame(rows)


def test_rule_finds_a_planted_level_shift_and_nothing_else():
    panel = _synthetic_panel(jump_at=2013, size=0.5)
    flags = rule_breaks(panel, "v")
    assert flags[["kunta", "year"]].values.tolist() == [["001", 2013]]
    assert flags["pattern"].iloc[0] == "level shift"
    assert rule_breaks(_synthetic_panel(), "v").empty
    # thresholds are parameters: a 10 % shift passes only a looser rule
    small = _synthetic_panel(jump_at=2013, size=0.10)
    assert rule_breaks(small, "v").empty
    assert [["001", 2013]] == rule_breaks(small, "v", BreakRule(min_log_change=0.08))[["kunta", "year"]].values.tolist()


def test_rule_handles_series_starting_near_zero():
    panel = _synthetic_panel()
    panel.loc[(panel["kunta"] == "002") & (panel["year"] < 2013), "v"] = -5.0   # Kainuu-like
    flags = rule_breaks(panel, "v")
    assert flags[["kunta", "year"]].values.tolist() == [["002", 2013]]


def test_break_rule_validates():
    with pytest.raises(InputError, match="z_own"):
        BreakRule(z_own=-1)
    with pytest.raises(InputError, match="min_history"):
        BreakRule(min_history=1)
    with pytest.raises(InputError, match="valid choices"):
        rule_breaks(_synthetic_panel(), "w")


def test_structural_breaks_on_a_synthetic_panel_with_a_known_row():
    panel = _synthetic_panel(jump_at=2013, size=0.5)
    known = pd.DataFrame([{"kunta": "003", "municipality_name": "m2", "variable": "v", "break_year": 2010,
                           "kind": "institutional", "status": "documented", "reason": "service moved",
                           "source": "a law"}])
    rows = structural_breaks(panel, ["v"], known=known).set_index("kunta")
    assert rows.loc["001", "detected_by"] == "rule" and rows.loc["001", "kind"] == "statistical"
    assert rows.loc["003", "detected_by"] == "known" and rows.loc["003", "reason"] == "service moved"
    assert np.isfinite(rows.loc["003", "log_change"])


@pytest.mark.parametrize("seed", range(6))
def test_change_statistics_own_history_matches_a_per_municipality_median(seed):
    """The vectorised own-history statistics equal ``numpy.median`` on each municipality's
    finite other years, bit for bit (missing years, ties, zeros and short histories)."""
    from analysis.audit import change_statistics

    rng = np.random.default_rng(seed)
    n, t = 25, 9
    values = rng.choice([1.0, 2.0, 2.0, 3.5, 5.0, 0.0], size=n * t) if seed % 2 else \
        rng.lognormal(size=n * t)
    values[rng.random(n * t) < 0.15] = np.nan
    panel = pd.DataFrame({"kunta": np.repeat([f"{i:03d}" for i in range(n)], t),
                          "year": np.tile(np.arange(2010, 2010 + t), n), "x": values})
    rule = BreakRule(min_history=3)
    stats = change_statistics(panel, "x", rule=rule)
    excess = panel.pivot(index="kunta", columns="year", values="x")
    excess = np.log(np.maximum(excess.to_numpy(), rule.floor_share * np.nanmedian(excess)))
    excess = np.diff(excess, axis=1)
    excess = excess - np.nanmedian(excess, axis=0)
    assert len(stats)
    for row in stats.itertuples():
        i, j = int(row.kunta), row.year - 2011
        own = np.delete(excess[i], j)
        own = own[np.isfinite(own)]
        if len(own) < rule.min_history:
            assert np.isnan(row.z_own)
            continue
        mad = 1.4826 * np.median(np.abs(own - np.median(own)))
        z = (excess[i, j] - np.median(own)) / max(mad, rule.min_own_scale)
        assert np.float64(row.z_own).tobytes() == np.float64(z).tobytes()
