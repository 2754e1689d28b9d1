"""A chapter shows the HonestDiD bounds and the MDE of its outcome wherever the runs put them:
the evaluation run says they are in the robustness run, the robustness run reports them."""
from __future__ import annotations

from pathlib import Path

from analysis.report.chapters import OutcomeRuns, _first, honest_did_text, power_text
from analysis.report.runs import Run

ELSEWHERE = {"reason": "in the robustness run"}
HONEST = {"breakdown_mbar": 0.5, "rows": []}
POWER = {"mde": 48.3, "alpha": 0.05, "power": 0.8, "draws": 2000}


def _run(run_id: str, results: dict) -> Run:
    return Run(run_id, Path(run_id), {"status": "ok"}, {"kind": "evaluation", **results})


def _group(evaluation: dict, *robustness: dict) -> OutcomeRuns:
    return OutcomeRuns("m", "y", _run("m__y", evaluation),
                       [_run(f"robustness__m__y_{i}", r) for i, r in enumerate(robustness)])


def test_results_in_the_robustness_run_reach_the_chapter():
    g = _group({"honest_did": ELSEWHERE, "power": ELSEWHERE},
               {"honest_did": HONEST, "power": POWER})
    assert _first(g, "honest_did") == HONEST and _first(g, "power") == POWER
    assert "M̄ = 0.5" in honest_did_text(_first(g, "honest_did"), {})
    assert "48.3" in power_text(_first(g, "power"), {})


def test_the_evaluation_runs_own_results_come_first():
    own = {"mde": 10.0, "draws": 100}
    g = _group({"power": own}, {"power": POWER})
    assert _first(g, "power") == own


def test_without_a_run_that_reports_it_the_robustness_runs_reason_is_shown():
    why = {"reason": "one treated unit"}
    g = _group({"honest_did": ELSEWHERE}, {"honest_did": why})
    assert _first(g, "honest_did") == why
    assert "not reported: one treated unit" in honest_did_text(_first(g, "honest_did"), {})
    assert _first(_group({"power": ELSEWHERE}), "power") == ELSEWHERE
    assert _first(_group({}), "power") is None


def test_the_specification_curve_and_its_joint_test_are_in_the_chapter():
    from analysis.report.chapters import multiverse_text

    curve = {"n_estimated": 132, "median_estimate": -40.69, "min_estimate": -63.47, "max_estimate": -0.75}
    joint = {"draws": 999, "statistics": {"median_estimate": {"p_value": 0.002},
                                          "share_significant": {"observed": 0.606, "p_value": 0.006}}}
    mv = {"curves": {"level": {"curve": curve, "joint_test": joint}},
          "sdid_placebo_convergence": {"fits": 7992, "not_converged": 7578, "max_iter": 10000}}
    text = multiverse_text(mv, {"unit_label": "EUR per inhabitant"})
    assert "132 specifications" in text and "−40.7 € per inhabitant" in text
    assert "999 placebo assignments" in text and "p = 0.002" in text and "61%, p = 0.006" in text
    assert "7,578 stopped at the 10,000-iteration cap" in text or "7 578" in text
    assert "@simonsohn2020" in text
    assert multiverse_text({"curves": {}}, {}) == "" and multiverse_text(None, {}) == ""
