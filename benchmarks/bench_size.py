"""The size simulation (analysis.inference.size.size_simulation) on a real layout: each draw
fitted on the once-prepared panel (prepare_panel, then PanelDesign.with_assignment; SDID through
placebo_fits) against the public estimators called on each draw's own frame, which is what the
simulation did before and what tests/test_size_prepared.py pins it to bit for bit. Same draws,
same process, interleaved repetitions (benchmarks/_harness.py); ``ratio = peer seconds / our
seconds``.
"""
from __future__ import annotations

import pandas as pd

from _harness import interleaved, load, real_panel, row

DRAWS = 40
METHODS = ("cluster", "wild", "ri", "placebo", "ri_scattered")
KW = dict(unit="kunta", time="year", outcome="outcome", fake_adoption=2013, before=2015)
EST = dict(unit="kunta", time="year", outcome="outcome", treated="treated", cluster="cluster")
OPTS = dict(seed=20150105, wild_reps=399, ri_reps=199, alpha=0.05)


def _public_per_draw(panel, spec) -> pd.DataFrame:
    """Every draw through the public estimators on the draw's own frame."""
    from analysis.errors import InputError
    from analysis.estimators.did import twfe_did
    from analysis.estimators.sdid import synthetic_did

    seed, alpha = OPTS["seed"], OPTS["alpha"]
    records = []
    for d in range(panel.n_draws):
        treated, cl = panel.columns(d)
        data = panel.pre.assign(treated=treated, cluster=cl)
        rec = {"draw": d}
        for m in METHODS:
            if m == "placebo":
                rec["placebo_estimate"] = float(
                    synthetic_did(data, **EST, inference="none").params["att"])
                continue
            try:
                if m == "cluster":
                    r = twfe_did(data, **EST, inference="cluster", level=1 - alpha)
                elif m == "wild":
                    r = twfe_did(data, **EST, inference="wild", reps=OPTS["wild_reps"],
                                 seed=seed + d, level=1 - alpha)
                elif m == "ri":
                    r = twfe_did(data, **EST, inference="ri", reps=OPTS["ri_reps"], seed=seed + d,
                                 placebo_units=spec, level=1 - alpha)
                else:
                    r = twfe_did(data.assign(cluster=panel.base_cluster), **EST, inference="ri",
                                 reps=OPTS["ri_reps"], seed=seed + d, ri_statistic="coef",
                                 level=1 - alpha)
            except InputError as exc:
                rec[f"{m}_error"] = str(exc)
                continue
            lo, hi = r.conf_int().loc["att"]
            rec[f"{m}_estimate"] = float(r.params["att"])
            rec[f"{m}_p"] = float(r.pvalues["att"])
            rec[f"{m}_covers"] = bool(lo <= 0 <= hi)
        records.append(rec)
    return pd.DataFrame(records)


def run() -> list[dict]:
    from analysis.design import analysis_frame
    from analysis.inference.placebo_units import PlaceboUnits
    from analysis.inference.size import placebo_panel, size_simulation

    rows = []
    for model, outcome in [("housing_services", "social_health_costs_eur_per_capita"),
                           ("education_services", "education_culture_costs_eur_per_capita")]:
        before = load()
        # the evaluation runs' window (notebook 20_model_evaluation: 2010-2018)
        frame = analysis_frame(real_panel(), model, outcome, years=(2010, 2018))
        spec = PlaceboUnits("nearest")
        panel = placebo_panel(frame, **KW, cluster="cluster", treated_group="treated_group",
                              sizes=None, placebo_units=spec, draws=DRAWS, seed=OPTS["seed"])

        def ours():
            return size_simulation(frame, **KW, placebo_units=spec, methods=METHODS,
                                   draws=DRAWS, **OPTS)

        def peer():
            return _public_per_draw(panel, spec)

        t_ours, res, t_peer, ref = interleaved(ours, peer, repeats=3, budget_s=30)
        same = res.draws[list(ref.columns)].equals(ref)
        rows.append(row(f"size simulation, {DRAWS} draws x {len(METHODS)} methods "
                        f"(layout {list(res.layout)})",
                        t_ours, "public estimators per draw frame", t_peer,
                        f"real panel: {model}; per-draw results "
                        f"{'identical' if same else 'DIFFER'}", load_before=before))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
