"""Verdict rules on constructed results (schema 2 of ``results.json``, CONTRACTS § 4) and the
sentences generated from them."""
from __future__ import annotations

import copy
import re

import pytest

from analysis.errors import InputError
from analysis.verdicts import (TEMPLATES, Evidence, Estimate, VerdictRules, decide, evidence_from_results,
                               missing_verdict, rules_markdown, verdict_from_results)


def row(id, estimate, lo, hi, p, *, role="estimate", estimator="twfe", inference="wild", variant=None, **kw):
    return {"id": id, "role": role, "estimator": estimator, "inference": inference, "control_pool": "default",
            "term": "pilot_2015_2016", "estimate": estimate, "se": None, "ci_low": lo, "ci_high": hi,
            "p_value": p, "reps": 999, "seed": 1, "n_clusters": 229, "n_treated_clusters": 8,
            "variant": variant, "warnings": [], "command": "kuntakokeilu estimate frame.parquet --json", **kw}


def robust_effect() -> dict:
    """An effect that passes every rule: 8 treated clusters, wild bootstrap headline."""
    return {
        "schema": 2, "run_id": "integrated_welfare__sote", "kind": "evaluation", "model": "integrated_welfare",
        "outcome": "social_health_costs_eur_per_capita", "outcome_label": "Social and health care net costs",
        "unit_label": "EUR per inhabitant", "unit_kind": "eur_per_capita",
        "design": {"control_pool": "default", "n_treated_units": 8, "n_treated_municipalities": 30,
                   "n_control_municipalities": 221, "years": [2010, 2018]},
        "estimates": [
            row("h", -159.1, -250.0, -68.2, 0.002, role="headline"),
            row("c", -159.1, -230.0, -88.2, 0.0001, inference="cluster"),
            row("sdid", -140.0, -260.0, -20.0, 0.01, estimator="sdid", inference="placebo"),
            row("r1", -150.0, -240.0, -60.0, 0.004, role="robustness", variant="matched controls"),
            row("r2", -170.0, -280.0, -60.0, 0.003, role="robustness", variant="same-region controls"),
            row("r3", -120.0, -230.0, -10.0, 0.03, role="robustness", variant="breaks kept"),
            row("py12", 3.0, -40.0, 46.0, 0.8, role="placebo_year", variant="placebo start year 2012"),
        ],
        "headline": "h", "headline_reason": "wild bootstrap: honest with 8 clusters",
        "pretrend": {"test": "F", "p_value": 0.42, "statistic": 1.0, "df": 4, "command": "..."},
        "size": [{"estimator": "twfe", "inference": "wild", "draws": 500, "rejection_rate": 0.054,
                  "coverage": 0.946, "mc_se": 0.01, "layout": "nearest"}],
        "honest_did": {"breakdown_mbar": 1.5, "rows": [], "moments": "post"},
        "power": {"mde": 120.0, "alpha": 0.05, "power": 0.8, "draws": 500, "placebo_units": "nearest"},
        "notes": [],
    }


def single_unit_null() -> dict:
    """One treated unit (Vantaa), in-space placebo headline, interval includes zero."""
    return {
        "schema": 2, "run_id": "kela__sa", "kind": "evaluation", "model": "kela_cooperation",
        "outcome": "social_assistance_eur_per_capita", "unit_label": "EUR per inhabitant",
        "unit_kind": "eur_per_capita", "design": {"n_treated_units": 1},
        "estimates": [row("h", 30.2, -12.0, 72.4, 0.31, role="headline", estimator="sdid", inference="placebo",
                          n_treated_clusters=1)],
        "headline": "h",
        "pretrend": {"test": "placebo-in-time", "p_value": 0.35},
        "honest_did": {"reason": "one treated unit: no cluster covariance"},
        "power": {"mde": 55.0, "alpha": 0.05, "power": 0.8},
        "synthetic_control": {"n_donors": 40},
        "size": [],
    }


def test_robust_effect_is_an_effect():
    v = verdict_from_results(robust_effect())
    assert v.code == "effect" and v.rule == "effect"
    assert (v.agreement.n, v.agreement.same_sign_significant) == (4, 4)  # sdid + 3 robustness rows
    assert all(r.passed for r in v.reasons)
    en = v.sentence("en", "Integrated welfare model — Social and health care net operating costs")
    assert "effect. The estimate is −159.1 € per inhabitant (95% CI −250.0 to −68.2)" in en
    assert "pre-trend test p = 0.420" in en and "4 of 4 robustness variants" in en
    assert "up to 1.5 times" in en
    fi = v.sentence("fi", "Hyvinvoinnin integroitu toimintamalli — nettokäyttökustannukset")
    assert "−159,1 euroa asukasta kohden" in fi and "95\u00a0%:n luottamusväli −250,0…−68,2" in fi
    assert "p = 0,420" in fi and "1,5-kertainen" in fi


def test_rejected_pretrend_is_inconclusive_whatever_the_estimate():
    res = robust_effect()
    res["pretrend"]["p_value"] = 0.0004
    v = verdict_from_results(res)
    assert v.code == "inconclusive_pretrends"
    en = v.sentence("en", "X")
    assert "pre-trend test p < 0.001" in en and "cannot be read as an effect" in en
    assert "p < 0,001" in v.sentence("fi", "X") and "p < 0,001" in v.sentence("sv", "X")
    # also for an estimate whose interval includes zero (a trend can hide an effect)
    res["estimates"][0].update(ci_low=-300.0, ci_high=10.0, p_value=0.08)
    assert verdict_from_results(res).code == "inconclusive_pretrends"


def test_significant_placebo_start_year_counts_as_failed_pretrend():
    res = robust_effect()
    res["estimates"].append(row("py13", -90.0, -150.0, -30.0, 0.01, role="placebo_year",
                                variant="placebo start year 2013"))
    v = verdict_from_results(res)
    assert v.code == "inconclusive_pretrends"
    assert "placebo start year 2013: p = 0.010" in v.sentence("en", "X")
    assert "plasebo-aloitusvuosi 2013: p = 0,010" in v.sentence("fi", "X")


def test_estimate_below_its_mde_is_no_detectable_effect():
    res = robust_effect()
    res["estimates"][0].update(estimate=-21.4, ci_low=-80.0, ci_high=37.2, p_value=0.46)
    res["power"]["mde"] = 386.0
    v = verdict_from_results(res)
    assert v.code == "no_detectable_effect"
    en = v.sentence("en", "X")
    assert "no detectable effect" in en and "the interval includes zero" in en
    assert "minimum detectable effect of this design (386.0 € per inhabitant) cannot be ruled out" in en
    assert "effect." not in en.split(":")[1][:8]
    fi = v.sentence("fi", "X")
    assert "ei havaittavaa vaikutusta" in fi and "(386,0 euroa asukasta kohden)" in fi


def test_null_without_mde_is_incomplete():
    res = robust_effect()
    res["estimates"][0].update(estimate=-21.4, ci_low=-80.0, ci_high=37.2, p_value=0.46)
    res["power"] = {"reason": "not computed"}
    v = verdict_from_results(res)
    assert v.code == "inconclusive_incomplete" and v.missing == ("mde",)
    assert "without the minimum detectable effect the result cannot be read" in v.sentence("en", "X")
    res["pretrend"] = {"reason": "no event study"}
    assert verdict_from_results(res).missing == ("mde",)  # the placebo start year tests pre-trends
    res["estimates"] = [e for e in res["estimates"] if e["role"] != "placebo_year"]
    v = verdict_from_results(res)
    assert v.missing == ("pretrend", "mde")
    assert "without a pre-trend test and the minimum detectable effect" in v.sentence("en", "X")
    assert "puuttuu: ennakkotrenditesti ja pienin havaittava vaikutus" in v.sentence("fi", "X")


def test_null_without_pretrend_test_is_incomplete():
    """A single-unit null whose pre-trends were never tested is not 'no detectable effect';
    placebo start years (placebo in time) count as its pre-trend test."""
    res = single_unit_null()
    res["pretrend"] = {"reason": "one treated cluster: no joint F-test"}
    v = verdict_from_results(res)
    assert v.code == "inconclusive_incomplete" and v.missing == ("pretrend",)
    res["estimates"].append(row("py12", 5.0, -20.0, 30.0, 0.6, role="placebo_year", variant="placebo 2012",
                                estimator="sdid", inference="placebo"))
    assert verdict_from_results(res).code == "no_detectable_effect"


def test_blocks_with_values_win_over_placeholders():
    """An evaluation run that defers HonestDiD and the MDE to its robustness run."""
    res = robust_effect()
    rob = {"schema": 2, "kind": "robustness", "honest_did": copy.deepcopy(res["honest_did"]),
           "power": copy.deepcopy(res["power"]), "estimates": []}
    res["honest_did"] = {"reason": "in the robustness run"}
    res["power"] = {"reason": "in the robustness run"}
    assert verdict_from_results(res).code == "inconclusive_incomplete"
    v = verdict_from_results(res, [rob])
    assert v.code == "effect" and v.evidence.mde == 120.0


def test_non_robust_effect():
    """The integrated-welfare pattern: SDID and matched controls far smaller and insignificant."""
    res = robust_effect()
    res["estimates"][2].update(estimate=-21.4, ci_low=-80.0, ci_high=37.2, p_value=0.46)
    res["estimates"][3].update(estimate=-43.6, ci_low=-160.0, ci_high=73.0, p_value=0.47)
    res["estimates"][4].update(estimate=-50.0, ci_low=-130.0, ci_high=30.0, p_value=0.2)
    v = verdict_from_results(res)
    assert v.code == "inconclusive_not_robust"
    assert (v.agreement.n, v.agreement.same_sign, v.agreement.same_sign_significant) == (4, 4, 1)
    assert "only 1 of 4 robustness variants agree" in v.sentence("en", "X")
    assert "vain 1/4 tukee" in v.sentence("fi", "X")


def test_same_estimate_under_another_inference_is_one_variant():
    res = robust_effect()
    res["estimates"].append(row("sdid_ri", -140.0, -250.0, -30.0, 0.02, estimator="sdid", inference="ri"))
    assert verdict_from_results(res).agreement.n == 4


def test_opposite_significant_variant_is_not_robust():
    res = robust_effect()
    res["estimates"].append(row("r4", 60.0, 10.0, 110.0, 0.02, role="robustness", variant="window 2012-2016"))
    assert verdict_from_results(res).code == "inconclusive_not_robust"


def test_low_breakdown_value_is_sensitive():
    res = robust_effect()
    res["honest_did"]["breakdown_mbar"] = 0.5
    v = verdict_from_results(res)
    assert v.code == "inconclusive_sensitivity"
    assert "below 0.5 times" in v.sentence("en", "X") and "alle 0,5 kertaa" in v.sentence("fi", "X")
    res["honest_did"]["breakdown_mbar"] = None
    v = verdict_from_results(res)
    assert v.code == "inconclusive_sensitivity" and "no HonestDiD interval" in v.sentence("en", "X")


def test_oversized_headline_inference():
    res = robust_effect()
    res["size"][0]["rejection_rate"] = 0.21
    v = verdict_from_results(res)
    assert v.code == "inconclusive_inference"
    assert "21.0% of draws" in v.sentence("en", "X") and "21,0\u00a0%:ssa" in v.sentence("fi", "X")


@pytest.mark.parametrize("drop,missing", [
    ("pretrend", ("pretrend",)), ("size", ("size",)), ("honest_did", ("honest_did",)),
    ("variants", ("robustness",)),
])
def test_missing_pieces_block_an_effect_claim(drop, missing):
    res = robust_effect()
    if drop == "pretrend":  # neither a joint test nor placebo start years
        res["pretrend"] = {"reason": "event study not run"}
        res["estimates"] = [e for e in res["estimates"] if e["role"] != "placebo_year"]
    elif drop == "size":
        res["size"] = []
    elif drop == "honest_did":
        res.pop("honest_did")
    else:
        res["estimates"] = [e for e in res["estimates"] if e["role"] in ("headline", "placebo_year")
                            or e["estimator"] == "twfe" and e["role"] == "estimate"]
    v = verdict_from_results(res)
    assert v.code == "inconclusive_incomplete" and v.missing == missing
    en = v.sentence("en", "X")
    assert "missing, so the rules cannot call it an effect" in en


def test_supervision_like_run_without_anything_else_is_incomplete():
    res = robust_effect()
    res["estimates"] = [res["estimates"][0]]
    for k in ("pretrend", "size", "honest_did", "power"):
        res.pop(k)
    v = verdict_from_results(res)
    assert v.code == "inconclusive_incomplete"
    assert v.missing == ("pretrend", "robustness", "size", "honest_did")
    assert "a pre-trend test, robustness variants, the size of the headline test on this panel and " \
           "HonestDiD sensitivity bounds are missing" in v.sentence("en", "X")


def test_single_unit_design_with_placebo_inference():
    v = verdict_from_results(single_unit_null())
    assert v.code == "no_detectable_effect"
    assert v.evidence.single_unit and v.evidence.min_attainable_p == pytest.approx(1 / 41)
    # a significant single-unit estimate needs no HonestDiD (the design does not allow it)
    res = single_unit_null()
    res["estimates"][0].update(ci_low=10.0, ci_high=50.4, p_value=0.024)
    res["estimates"].append(row("sc", 28.0, 5.0, 51.0, 0.024, estimator="sc", inference="placebo"))
    res["size"] = [{"estimator": "sdid", "inference": "placebo", "rejection_rate": 0.05, "mc_se": 0.01}]
    v = verdict_from_results(res)
    assert v.code == "effect", v.reasons
    assert "HonestDiD bounds do not apply" in v.sentence("en", "X")


def test_single_unit_with_cluster_inference_is_not_estimable():
    res = single_unit_null()
    res["estimates"][0].update(estimator="twfe", inference="cluster")
    v = verdict_from_results(res)
    assert v.code == "not_estimable"
    assert "cluster-based inference is not valid with a single treated unit" in v.sentence("en", "X")
    assert "klusteripohjainen päättely" in v.sentence("fi", "X")


def test_single_unit_test_that_cannot_reject():
    res = single_unit_null()
    res["synthetic_control"] = {"n_donors": 12}
    v = verdict_from_results(res)
    assert v.code == "inconclusive_inference" and v.rule == "attainable_p"
    assert "With 12 placebo comparisons the smallest attainable p-value is 0.077" in v.sentence("en", "X")


def test_missing_pieces_are_not_estimable():
    res = robust_effect()
    res["headline"] = "nope"
    res["estimates"] = [e for e in res["estimates"] if e["role"] != "headline"]
    assert verdict_from_results(res).code == "not_estimable"
    res = robust_effect()
    res["estimates"][0].update(ci_low=None, ci_high=None, p_value=None)
    v = verdict_from_results(res)
    assert v.code == "not_estimable" and "neither a confidence interval nor a p-value" in v.sentence("en", "X")
    res["estimates"][0].update(estimate=None)
    assert verdict_from_results(res).code == "not_estimable"
    v = missing_verdict("supervision", "x", "no_run")
    assert v.code == "not_estimable" and v.sentence("sv", "S").startswith("S: kan inte skattas")


def test_placebo_p_value_without_interval():
    res = single_unit_null()
    res["estimates"][0].update(ci_low=None, ci_high=None, p_value=0.31)
    v = verdict_from_results(res)
    assert v.code == "no_detectable_effect"
    assert "30.2 € per inhabitant (in-space placebo test, p = 0.310)" in v.sentence("en", "X")
    assert "(plasebovertailu muihin kuntiin, p = 0,310)" in v.sentence("fi", "X")


def test_interval_and_p_value_must_agree():
    res = robust_effect()
    res["estimates"][0]["p_value"] = 0.08  # interval excludes zero but p says otherwise
    assert verdict_from_results(res).code == "no_detectable_effect"


def test_rules_only_weaken_claims_under_random_evidence():
    """Property: 'effect' only when every check passed; never with a rejected pre-trend,
    a missing piece or an interval that includes zero."""
    import numpy as np

    rng = np.random.default_rng(7)
    for _ in range(400):
        res = robust_effect()
        est = float(rng.normal(-100, 80))
        half = float(rng.uniform(10, 200))
        res["estimates"][0].update(estimate=est, ci_low=est - half, ci_high=est + half,
                                   p_value=float(rng.uniform(0, 0.2)))
        res["pretrend"]["p_value"] = float(rng.uniform(0, 1))
        res["honest_did"]["breakdown_mbar"] = rng.choice([None, 0.0, 0.5, 1.0, 2.0])
        res["size"][0]["rejection_rate"] = float(rng.uniform(0, 0.2))
        if rng.uniform() < 0.2:
            res.pop("power")
        v = verdict_from_results(res)
        if v.code == "effect":
            h = v.evidence.headline
            assert h.ci_low > 0 or h.ci_high < 0
            assert h.p_value < 0.05 and res["pretrend"]["p_value"] >= 0.05
            assert res["honest_did"]["breakdown_mbar"] is not None and res["honest_did"]["breakdown_mbar"] >= 1
            assert res["size"][0]["rejection_rate"] <= 0.10
        if v.code == "no_detectable_effect":
            assert "power" in res


def test_rules_are_validated():
    with pytest.raises(InputError, match="alpha"):
        VerdictRules(alpha=0)
    with pytest.raises(InputError, match="min_breakdown_mbar"):
        VerdictRules(min_breakdown_mbar=-1)
    strict = VerdictRules(min_breakdown_mbar=2.0)
    assert decide(evidence_from_results(robust_effect()), strict).code == "inconclusive_sensitivity"


def test_rules_text_states_the_thresholds():
    text = rules_markdown(VerdictRules())
    assert "5% level" in text and "10% of draws" in text and "below 1.0" in text
    assert "[@rambachan2023]" in text


def test_every_template_has_three_languages_and_no_english_leaks():
    for key, langs in TEMPLATES.items():
        assert set(langs) == {"en", "fi", "sv"}, key
        for lang in ("fi", "sv"):
            assert not re.search(r"\b(the|estimate|effect|interval)\b", langs[lang]), (key, lang)


def test_percent_outcome_differs_in_percentage_points():
    res = robust_effect()
    res.update(unit_kind="percent", unit_label="%")
    res["estimates"][0].update(estimate=-0.46, ci_low=-0.9, ci_high=-0.02, p_value=0.04)
    for r in res["estimates"][1:]:
        r.update(estimate=-0.4, ci_low=-0.8, ci_high=-0.01, p_value=0.04)
    res["estimates"][-1].update(estimate=0.01, ci_low=-0.3, ci_high=0.3, p_value=0.9)
    v = verdict_from_results(res)
    en, fi, sv = (v.sentence(lg, "X") for lg in ("en", "fi", "sv"))
    assert "−0.46 percentage points" in en and "percent " not in en
    assert "−0,46 prosenttiyksikköä" in fi and "−0,46 procentenheter" in sv
    res["estimates"][0].update(estimate=1.0, ci_low=0.0, ci_high=2.0)
    assert "1.00 percentage points" in verdict_from_results(res).sentence("en", "X")


def test_legacy_results_without_schema_still_get_a_verdict():
    legacy = {"model": "integrated_welfare", "outcome": "sote", "unit_label": "€ per inhabitant",
              "n_treated_units": 8, "pretrend_p_value": 0.5,
              "estimates": [{"estimator": "twfe", "inference": "cluster", "estimate": -35.0, "ci_low": -69.0,
                             "ci_high": -0.8, "p_value": 0.045},
                            {"estimator": "twfe", "inference": "wild_cluster_bootstrap", "estimate": -37.3,
                             "ci_low": -77.1, "ci_high": 2.5, "p_value": 0.066}]}
    v = verdict_from_results(copy.deepcopy(legacy))
    assert v.evidence.headline.inference == "wild_cluster_bootstrap"
    assert v.evidence.unit_kind == "eur_per_capita"
    assert v.code == "inconclusive_incomplete" and v.missing == ("mde",)


def test_evidence_dataclass_direct():
    ev = Evidence(model="m", outcome="o", unit_kind="per_1000", n_treated_units=4,
                  headline=Estimate(2.3, 0.5, 4.1, 0.01, "twfe", "ri"), pretrend_p=0.3,
                  variants=(Estimate(2.0, 0.1, 3.9, 0.04),), honest_did_done=True, breakdown_mbar=1.0,
                  size_rejection_rate=0.06)
    v = decide(ev)
    assert v.code == "effect"
    assert "2.30 per 1,000 inhabitants" in v.sentence("en", "X")
    assert "2,30 1\u00a0000 asukasta kohden" in v.sentence("fi", "X")
