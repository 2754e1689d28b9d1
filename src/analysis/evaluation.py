"""High-level calls the notebooks make, writing the run-output contract into ``output_dir``:
``results.json``, ``figures/<name>.png``, ``tables/<name>.md|csv``.

Design of every model evaluation (GUIDE § 1-3): one adoption date (2015), pilot period
2015-2016 (event time 0 = 2015, reference 2014), 2017+ post-pilot; treatment assigned to
pilot units (municipality groups), so inference clusters on the unit. With >= 2 treated
clusters: TWFE with cluster-robust SEs plus randomization inference; with one treated
cluster: no cluster SE, in-space placebo inference (smallest attainable p = 1/(donors+1)).
Wild cluster bootstrap, synthetic control and SDID come from the estimator modules
(:mod:`analysis.estimators`); the TWFE terms with cluster-robust SEs, the event study and the
randomization / placebo DiD (without covariates) are computed here on the balanced frame.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import atomic, registry
from .errors import InputError, choices_message

#: estimators a model-evaluation run may ask for
ESTIMATORS = ("did2x2", "twfe", "event_study", "synthetic_control", "sdid")
#: inference methods
INFERENCE = ("cluster", "wild_bootstrap", "randomization", "placebo")
#: control pools (GUIDE § 2)
CONTROL_POOLS = ("non_pilot", "non_pilot_keep_other_models", "same_region", "matched")
#: outcomes per model (panel column names; GUIDE § 1 table)
MODEL_OUTCOMES: dict[str, tuple[str, ...]] = {
    "integrated_welfare": ("social_health_costs_eur_per_capita", "primary_care_outpatient_costs_eur_per_capita"),
    "education_services": ("education_culture_costs_eur_per_capita", "upper_secondary_share"),
    "supervision": ("social_health_costs_eur_per_capita",),
    "housing_services": ("social_health_costs_eur_per_capita",),
    "kela_cooperation": ("social_assistance_eur_per_capita", "social_assistance_households_per_1000"),
    "youth_guarantee": ("unemployment_rate",),
}
ADOPTION_YEAR = 2015
PILOT_END = 2016
REFERENCE_YEAR = 2014


# ------------------------------------------------------------------------------------------
# parameters' valid values
# ------------------------------------------------------------------------------------------
def _panel_path(panel_path=None) -> Path:
    from . import paths

    return Path(panel_path) if panel_path else paths.PANEL_FILE


def outcome_years(panel: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """First and last year with data for each outcome column."""
    out = {}
    for col in {c for cols in MODEL_OUTCOMES.values() for c in cols}:
        if col in panel:
            years = panel.loc[panel[col].notna(), "year"]
            if len(years):
                out[col] = (int(years.min()), int(years.max()))
    return out


def domain_values(panel_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Valid values of run parameters (see :class:`analysis.pipeline.parameters.Domains`)."""
    values: dict[str, Any] = {
        "estimators": list(ESTIMATORS),
        "inference": list(INFERENCE),
        "control_pools": list(CONTROL_POOLS),
        "model_outcomes": {m: list(MODEL_OUTCOMES.get(m, ())) for m in registry.models()},
    }
    path = _panel_path(panel_path)
    if path.is_file():
        try:
            panel = pd.read_parquet(path)
            values["years"] = (int(panel["year"].min()), int(panel["year"].max()))
            values["outcome_years"] = outcome_years(panel)
        except Exception:  # unreadable panel: years unchecked here, the notebook reports it
            pass
    return values


def load_panel(panel_path=None) -> pd.DataFrame:
    from .panel import read_panel

    return read_panel(_panel_path(panel_path))


# ------------------------------------------------------------------------------------------
# analysis frame
# ------------------------------------------------------------------------------------------
def analysis_frame(
    panel: pd.DataFrame,
    model: str,
    outcome: str,
    *,
    control_pool: str = "non_pilot",
    start_year: int = 2010,
    end_year: int = 2018,
    covariates: Iterable[str] = (),
    n_matched: int = 5,
) -> pd.DataFrame:
    """Balanced municipality x year frame: ``y``, ``treated``, ``cluster`` (pilot unit for
    treated municipalities, the municipality itself for controls), ``event_time``."""
    if model not in registry.models():
        raise InputError(choices_message("model", model, registry.models()))
    if outcome not in panel:
        raise InputError(choices_message("outcome", outcome, MODEL_OUTCOMES.get(model, ())))
    if control_pool not in CONTROL_POOLS:
        raise InputError(choices_message("control_pool", control_pool, CONTROL_POOLS))
    treated_munis = set(registry.municipalities(model))
    any_pilot = set(registry.municipalities())
    df = panel.loc[(panel["year"] >= start_year) & (panel["year"] <= end_year) & ~panel["aland"].astype(bool)]
    cols = ["kunta", "year", "municipality_name", "maakunta_code", "population", outcome, *covariates]
    df = df[list(dict.fromkeys(cols))].rename(columns={outcome: "y"}).copy()
    df["treated"] = df["kunta"].isin(treated_munis)
    excluded = any_pilot - treated_munis if control_pool != "non_pilot_keep_other_models" else set()
    df = df[~df["kunta"].isin(excluded)]
    if control_pool == "same_region":
        regions = set(df.loc[df["treated"], "maakunta_code"])
        df = df[df["treated"] | df["maakunta_code"].isin(regions)]
    # balanced panel: keep municipalities observed in every year
    years = sorted(df["year"].unique())
    complete = df.dropna(subset=["y", *covariates]).groupby("kunta")["year"].nunique()
    df = df[df["kunta"].isin(complete[complete == len(years)].index)]
    if control_pool == "matched":
        df = _matched(df, n_matched)
    unit_of = {k: u for u in registry.units(model) for k in registry.members(u)}
    df["cluster"] = np.where(df["treated"], df["kunta"].map(unit_of), df["kunta"])
    df["event_time"] = df["year"] - ADOPTION_YEAR
    if not df["treated"].any():
        raise InputError(f"no treated municipality of {model!r} has {outcome} in {start_year}-{end_year}")
    return df.sort_values(["kunta", "year"]).reset_index(drop=True)


def _matched(df: pd.DataFrame, k: int) -> pd.DataFrame:
    """Nearest-neighbour controls on pre-period outcome mean and log population."""
    pre = df[df["year"] < ADOPTION_YEAR].groupby("kunta").agg(y=("y", "mean"), pop=("population", "mean"),
                                                               treated=("treated", "first"))
    pre["pop"] = np.log(pre["pop"])
    z = (pre[["y", "pop"]] - pre[["y", "pop"]].mean()) / pre[["y", "pop"]].std()
    treated, controls = z[pre["treated"]], z[~pre["treated"]]
    keep = set(treated.index)
    for _, row in treated.iterrows():
        dist = ((controls - row) ** 2).sum(axis=1)
        keep |= set(dist.nsmallest(k).index)
    return df[df["kunta"].isin(keep)]


# ------------------------------------------------------------------------------------------
# estimators (closed form for the balanced block design; delegate the rest)
# ------------------------------------------------------------------------------------------
def _did(frame: pd.DataFrame, treated_mask: pd.Series | None = None, last_year: int = PILOT_END,
         adoption: int = ADOPTION_YEAR) -> float:
    """2x2 DiD of municipality means, pre (< adoption) vs pilot period (adoption..last_year).

    On a balanced panel with one adoption date this equals the TWFE coefficient of
    ``treated x pilot`` when post-pilot years are excluded."""
    treated = frame["treated"] if treated_mask is None else treated_mask
    post = (frame["year"] >= adoption) & (frame["year"] <= last_year)
    pre = frame["year"] < adoption
    m = lambda t, p: frame.loc[t & p, "y"].mean()  # noqa: E731
    return (m(treated, post) - m(treated, pre)) - (m(~treated, post) - m(~treated, pre))


def _twfe(frame: pd.DataFrame, inference_clusters: bool, covariates: Iterable[str] = ()) -> dict[str, Any]:
    """TWFE (linearmodels PanelOLS, unit and year effects) of treated x pilot period
    (2015-2016) and treated x post-pilot (2017+), SEs clustered on the pilot unit."""
    from linearmodels.panel import PanelOLS

    d = frame.set_index(["kunta", "year"])
    exog = pd.DataFrame(index=d.index)
    exog["pilot_2015_2016"] = (d["treated"] & (d["event_time"].between(0, PILOT_END - ADOPTION_YEAR))).astype(float)
    if (d["event_time"] > PILOT_END - ADOPTION_YEAR).any():
        exog["post_pilot_2017_on"] = (d["treated"] & (d["event_time"] > PILOT_END - ADOPTION_YEAR)).astype(float)
    terms = list(exog.columns)
    for c in covariates:
        exog[c] = d[c].astype(float)
    mod = PanelOLS(d["y"], exog, entity_effects=True, time_effects=True)
    clusters = pd.Series(pd.factorize(d["cluster"])[0], index=d.index, name="cluster")
    res = mod.fit(cov_type="clustered", clusters=clusters) if inference_clusters else mod.fit()
    out = {}
    for term in terms:
        est = float(res.params[term])
        if inference_clusters:
            se = float(res.std_errors[term])
            ci = res.conf_int().loc[term]
            out[term] = dict(estimate=est, se=se, ci_low=float(ci["lower"]), ci_high=float(ci["upper"]),
                             p_value=float(res.pvalues[term]))
        else:
            out[term] = dict(estimate=est, se=None, ci_low=None, ci_high=None, p_value=None)
    return out


def _event_study(frame: pd.DataFrame, inference_clusters: bool) -> tuple[list[dict], float | None]:
    """Leads and lags around 2015 (reference 2014), clustered on the pilot unit; joint Wald
    pre-trend test of the leads."""
    from linearmodels.panel import PanelOLS

    d = frame.set_index(["kunta", "year"])
    times = sorted(t for t in d["event_time"].unique() if t != REFERENCE_YEAR - ADOPTION_YEAR)
    exog = pd.DataFrame({f"e{t:+d}": (d["treated"] & (d["event_time"] == t)).astype(float) for t in times},
                        index=d.index)
    mod = PanelOLS(d["y"], exog, entity_effects=True, time_effects=True)
    clusters = pd.Series(pd.factorize(d["cluster"])[0], index=d.index, name="cluster")
    res = mod.fit(cov_type="clustered", clusters=clusters) if inference_clusters else mod.fit()
    rows = [{"event_time": REFERENCE_YEAR - ADOPTION_YEAR, "estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0}]
    ci = res.conf_int()
    for t in times:
        name = f"e{t:+d}"
        rows.append({"event_time": int(t), "estimate": float(res.params[name]),
                     "se": float(res.std_errors[name]) if inference_clusters else None,
                     "ci_low": float(ci.loc[name, "lower"]) if inference_clusters else None,
                     "ci_high": float(ci.loc[name, "upper"]) if inference_clusters else None})
    rows.sort(key=lambda r: r["event_time"])
    pretrend = None
    leads = [f"e{t:+d}" for t in times if t < -1]
    if inference_clusters and leads:
        b = res.params[leads].to_numpy()
        v = res.cov.loc[leads, leads].to_numpy()
        from scipy import stats

        wald = float(b @ np.linalg.pinv(v) @ b)
        pretrend = float(stats.chi2.sf(wald, len(leads)))
    return rows, pretrend


def _placebo(frame: pd.DataFrame, seed: int, draws: int = 999, last_year: int = PILOT_END) -> dict[str, Any]:
    """Randomization / in-space placebo inference: the DiD with treatment reassigned to
    control municipalities (all single controls when one unit is treated; otherwise ``draws``
    random sets of the same number of municipalities)."""
    wide = frame.pivot(index="kunta", columns="year", values="y")
    treated = frame.groupby("kunta")["treated"].first().reindex(wide.index)
    pre = wide.loc[:, wide.columns < ADOPTION_YEAR].mean(axis=1)
    post = wide.loc[:, (wide.columns >= ADOPTION_YEAR) & (wide.columns <= last_year)].mean(axis=1)
    change = (post - pre).to_numpy()
    is_t = treated.to_numpy()
    actual = change[is_t].mean() - change[~is_t].mean()
    controls = np.flatnonzero(~is_t)
    n_t = int(is_t.sum())
    rng = np.random.default_rng(seed)
    if n_t == 1:
        stats_ = np.array([change[i] - np.delete(change[controls], j).mean() for j, i in enumerate(controls)])
        method = "in-space placebo (each control as the treated unit)"
    else:
        stats_ = np.empty(draws)
        pool = np.arange(len(change))
        for b in range(draws):
            fake = np.zeros(len(change), bool)
            fake[rng.choice(pool, n_t, replace=False)] = True
            stats_[b] = change[fake].mean() - change[~fake].mean()
        method = f"randomization inference ({draws} random assignments of {n_t} municipalities)"
    p = (1 + np.sum(np.abs(stats_) >= abs(actual))) / (len(stats_) + 1)
    return {"estimate": float(actual), "p_value": float(p), "n_placebos": int(len(stats_)),
            "min_p_value": float(1 / (len(stats_) + 1)), "method": method}


# ------------------------------------------------------------------------------------------
# the notebook calls
# ------------------------------------------------------------------------------------------
def _label(outcome: str) -> tuple[str, str]:
    try:
        from .panel import _VAR_INFO

        info = _VAR_INFO[outcome]
        return info[0], info[2]
    except (ImportError, KeyError):
        return outcome, ""


def _est_row(estimator, inference, term, vals, n_clusters, n_treated_clusters, warnings) -> dict:
    clean = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # noqa: E731
    return {"estimator": estimator, "inference": inference, "term": term,
            "estimate": clean(vals.get("estimate")), "se": clean(vals.get("se")),
            "ci_low": clean(vals.get("ci_low")), "ci_high": clean(vals.get("ci_high")),
            "p_value": clean(vals.get("p_value")), "n_clusters": n_clusters,
            "n_treated_clusters": n_treated_clusters, "warnings": list(warnings)}


def _result_row(r, estimator, inference, n_clusters, n_treated_clusters, warnings) -> dict:
    """One ``estimates`` row from an :class:`~analysis.results.EstimationResult` (term ``att``,
    the pilot period 2015-2016)."""
    ci = r.conf_int().loc["att"]
    vals = {"estimate": r.params["att"], "se": r.std_errors["att"], "ci_low": ci.iloc[0], "ci_high": ci.iloc[1],
            "p_value": r.pvalues["att"]}
    return _est_row(estimator, inference, "pilot_2015_2016", vals, n_clusters, n_treated_clusters,
                    list(warnings) + list(r.warnings))


def evaluate_model(
    model: str,
    outcome: str,
    *,
    output_dir: str | os.PathLike,
    run_id: str = "interactive",
    control_pool: str = "non_pilot",
    estimators: Iterable[str] = ("twfe", "event_study"),
    inference: Iterable[str] = ("cluster", "randomization"),
    start_year: int = 2010,
    end_year: int = 2018,
    covariates: Iterable[str] = (),
    seed: int = 20150105,
    placebo_reps: int = 50,
    sc_donors: int = 40,
    panel_path=None,
) -> dict[str, Any]:
    """Estimate one (model, outcome) with the estimators and inference the design allows;
    write ``results.json``, ``tables/estimates.*``, ``tables/event_study.*``,
    ``figures/trends.png``, ``figures/event_study.png``; return the results dict."""
    from . import tables
    from .plots import trends as trend_plots

    out = Path(output_dir)
    panel = load_panel(panel_path)
    frame = analysis_frame(panel, model, outcome, control_pool=control_pool, start_year=start_year,
                           end_year=end_year, covariates=list(covariates))
    label, unit_label = _label(outcome)
    treated = frame[frame["treated"]]
    n_treated_clusters = int(treated["cluster"].nunique())
    n_clusters = int(frame["cluster"].nunique())
    one_cluster = n_treated_clusters == 1
    notes = [
        "Intention-to-treat: the registry names who may take part (law 1350/2014 § 2).",
        "Pilot municipalities of other models are excluded from the controls"
        if control_pool != "non_pilot_keep_other_models" else "Controls include municipalities of other pilot models.",
    ]
    treated_set = set(treated["kunta"])
    others = sorted(m for m in registry.models() if m != model and treated_set & set(registry.municipalities(m)))
    if others:
        notes.append("The treated municipalities also ran other pilot models (" + ", ".join(others)
                     + "): the estimate carries them too.")
    common_warn = []
    if one_cluster:
        common_warn.append("One treated cluster: no cluster-robust SE; inference by in-space placebos only.")
    elif n_treated_clusters < 10:
        common_warn.append(f"Only {n_treated_clusters} treated clusters: cluster-robust SEs over-reject; "
                           "see wild bootstrap / randomization inference.")
    if model == "kela_cooperation" and end_year > PILOT_END:
        common_warn.append("Basic social assistance moved to Kela on 1.1.2017: years after 2016 are not comparable.")
    estimates: list[dict] = []
    est_set, inf_set = list(estimators), list(inference)
    twfe = None
    if "twfe" in est_set or "did2x2" in est_set:
        twfe = _twfe(frame, inference_clusters=not one_cluster and "cluster" in inf_set, covariates=covariates)
        for term, vals in twfe.items():
            estimates.append(_est_row("twfe", "cluster" if not one_cluster and "cluster" in inf_set else "none",
                                      term, vals, n_clusters, n_treated_clusters, common_warn))
    if {"randomization", "placebo"} & set(inf_set) or one_cluster:
        last = min(end_year, PILOT_END)
        pl = _placebo(frame, seed, last_year=last)
        estimates.append(_est_row("did2x2", "placebo" if one_cluster else "randomization", "pilot_2015_2016",
                                  {"estimate": pl["estimate"], "p_value": pl["p_value"]}, n_clusters,
                                  n_treated_clusters, common_warn + [f"{pl['method']}; smallest attainable "
                                                                     f"p = {pl['min_p_value']:.4f}"]))
    pilot = frame[frame["year"] <= PILOT_END].copy()
    pilot["D"] = (pilot["treated"] & (pilot["year"] >= ADOPTION_YEAR)).astype(int)
    kw = dict(unit="kunta", time="year", outcome="y", treated="D")
    synthetic = None
    if "wild_bootstrap" in inf_set and not one_cluster:
        from .estimators.did import twfe_did

        r = twfe_did(pilot, **kw, covariates=list(covariates), cluster="cluster", inference="wild",
                     reps=999, seed=seed)
        estimates.append(_result_row(r, "twfe", "wild_bootstrap", n_clusters, n_treated_clusters, common_warn))
    if "sdid" in est_set:
        from .estimators.sdid import synthetic_did

        r = synthetic_did(pilot, **kw, inference="placebo", reps=placebo_reps, seed=seed)
        estimates.append(_result_row(r, "sdid", "placebo", n_clusters, n_treated_clusters, common_warn))
    sc_result = None
    if "synthetic_control" in est_set:
        from .estimators.synthetic_control import synthetic_control

        donors = sc_donor_pool(pilot, sc_donors)
        windows = sc_predictor_windows(sorted(pilot.loc[pilot["year"] < ADOPTION_YEAR, "year"].unique()))
        sc_frame = pilot[pilot["treated"] | pilot["kunta"].isin(donors)]
        n_pool = int((~pilot.groupby("kunta")["treated"].first()).sum())
        pool_note = (f"Synthetic control: donor pool restricted to the {len(donors)} control municipalities "
                     f"(of {n_pool}) nearest to the treated group on the pre-period ({start_year}-"
                     f"{REFERENCE_YEAR}) outcome mean and log population; predictors = pre-period outcome "
                     f"averages ({_windows_text(windows)}); equal predictor weights (V = 1/k); placebo p-value "
                     "over these donors.")
        r = synthetic_control(sc_frame, **kw, special_predictors=[("y", w) for w in windows],
                              inference="placebo", v_method="equal", seed=seed)
        sc_result = r
        estimates.append(_result_row(r, "synthetic_control", "placebo", n_clusters, n_treated_clusters,
                                     common_warn + [f"donor pool restricted to the {len(donors)} nearest "
                                                    f"control municipalities (of {n_pool})"]))
        weights = r.details.get("weights")
        if isinstance(weights, pd.Series):
            weights = weights[weights.abs() > 1e-6].to_dict()
        elif isinstance(weights, dict):
            weights = {k: v for k, v in weights.items() if abs(v) > 1e-6}
        names = frame.drop_duplicates("kunta").set_index("kunta")["municipality_name"]
        weights = {f"{names.get(k, k)} ({k})": float(v)
                   for k, v in sorted(weights.items(), key=lambda kv: -kv[1])}
        placebo = r.details.get("placebo") or {}
        synthetic = {"weights": weights, "placebo_p_value": float(r.pvalues["att"]),
                     "min_p_value": placebo.get("min_p_value"), "n_donors": len(donors),
                     "n_control_municipalities_available": n_pool, "att": float(r.params["att"]),
                     "pre_rmspe": r.details.get("pre_rmspe"), "donor_pool": pool_note}
        notes.append(pool_note)
        path = pd.DataFrame(r.details["path"])
        pre_mean = float(path.loc[path["time"] < ADOPTION_YEAR, "treated"].abs().mean())
        if synthetic["pre_rmspe"] is not None and pre_mean > 0:
            share = synthetic["pre_rmspe"] / pre_mean
            synthetic["pre_rmspe_share_of_mean"] = share
            if share < 1e-6:
                notes.append("Synthetic control reproduces the pre-period exactly: the post/pre RMSPE-ratio "
                             "placebo p-value is then driven by numerical noise and is not informative.")
            notes.append(f"Synthetic control pre-period fit: RMSPE {synthetic['pre_rmspe']:.3g} "
                         f"({share:.1%} of the treated pre-period mean)"
                         + ("; the fit is poor, so the synthetic-control estimate is unreliable." if share > 0.05
                            else "."))
    event_rows, pretrend = [], None
    if "event_study" in est_set:
        event_rows, pretrend = _event_study(frame, inference_clusters=not one_cluster and "cluster" in inf_set)
    results = {
        "run_id": run_id, "model": model, "outcome": outcome, "outcome_label": label, "unit_label": unit_label,
        "control_pool": control_pool,
        "treated_units": sorted(treated["cluster"].unique().tolist()),
        "n_treated_units": n_treated_clusters,
        "n_treated_municipalities": int(treated["kunta"].nunique()),
        "n_control_municipalities": int(frame.loc[~frame["treated"], "kunta"].nunique()),
        "years": [int(frame["year"].min()), int(frame["year"].max())],
        "estimates": estimates, "event_study": event_rows, "pretrend_p_value": pretrend,
        "synthetic_control": synthetic, "robustness": None, "power": None, "notes": notes,
    }
    write_results(out, results)
    est_table = pd.DataFrame(estimates).drop(columns=["warnings"])
    tables.write_table(est_table, out / "tables" / "estimates")
    if event_rows:
        tables.write_table(pd.DataFrame(event_rows), out / "tables" / "event_study")
        trend_plots.event_study_figure(event_rows, label, unit_label, out / "figures" / "event_study.png")
    trend_plots.trends_figure(frame, label, unit_label, out / "figures" / "trends.png")
    if sc_result is not None:
        _synthetic_control_figures(sc_result, label, unit_label, out / "figures")
    return results


def sc_predictor_windows(pre_years: list[int]) -> list[list[int]]:
    """Pre-period outcome averages used as synthetic-control predictors: consecutive two-year
    windows ending with the last pre-period year on its own (2010-2014: 2010-2011,
    2012-2013, 2014). Averages rather than every yearly value keep the fit from interpolating
    the pre-period exactly, which would make the RMSPE-ratio placebo test degenerate."""
    years = [int(y) for y in pre_years]
    if len(years) <= 2:
        return [[y] for y in years]
    last, rest = years[-1], years[:-1]
    return [rest[i:i + 2] for i in range(0, len(rest), 2)] + [[last]]


def _windows_text(windows: list[list[int]]) -> str:
    return ", ".join(f"{w[0]}-{w[-1]}" if len(w) > 1 else f"{w[0]}" for w in windows)


def sc_donor_pool(frame: pd.DataFrame, n: int = 40) -> list[str]:
    """The ``n`` control municipalities nearest to the treated group's average on the
    standardised pre-period (< 2015) outcome mean and log population (ties by code): a
    restricted donor pool that keeps the synthetic control's in-space placebo run short."""
    pre = frame[frame["year"] < ADOPTION_YEAR].groupby("kunta").agg(
        y=("y", "mean"), pop=("population", "mean"), treated=("treated", "first"))
    pre["pop"] = np.log(pre["pop"])
    z = (pre[["y", "pop"]] - pre[["y", "pop"]].mean()) / pre[["y", "pop"]].std(ddof=0)
    target = z[pre["treated"]].mean()
    dist = ((z[~pre["treated"]] - target) ** 2).sum(axis=1).rename("d").reset_index()
    dist = dist.sort_values(["d", "kunta"])
    return dist["kunta"].head(int(n)).tolist()


def _synthetic_control_figures(result, label: str, unit_label: str, fig_dir: Path) -> None:
    """``synthetic_control.png`` (treated vs synthetic path) and ``synthetic_control_placebos.png``."""
    import matplotlib.pyplot as plt

    from .plots import synth
    from .plots.style import apply_style
    from .plots.trends import _save

    apply_style()
    fig, ax = plt.subplots()
    synth.plot_path(result, ax=ax, ylabel=f"{label} ({unit_label})" if unit_label else label)
    _save(fig, fig_dir / "synthetic_control.png")
    if result.details.get("placebo"):
        fig, ax = plt.subplots()
        synth.plot_placebo_gaps(result, ax=ax)
        _save(fig, fig_dir / "synthetic_control_placebos.png")



def write_results(output_dir, results: dict) -> Path:
    """Atomically write ``results.json`` (plain JSON: NaN -> null)."""
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return None if not math.isfinite(float(v)) else float(v)
        if isinstance(v, np.bool_):
            return bool(v)
        return v

    return atomic.write_text(Path(output_dir) / "results.json",
                             json.dumps(clean(results), indent=2, ensure_ascii=False) + "\n")


def describe_model(model: str, outcomes: Iterable[str] | None = None, *, output_dir, run_id="interactive",
                   control_pool="non_pilot", start_year=2010, end_year=2018, panel_path=None) -> dict:
    """Descriptives of one model: treated vs control trends (raw and indexed to 2014), unit
    composition and the pre-period balance table, written to ``output_dir``."""
    from . import tables
    from .plots import trends as trend_plots

    out = Path(output_dir)
    panel = load_panel(panel_path)
    outcomes = list(outcomes) if outcomes else list(MODEL_OUTCOMES[model])
    reg = registry.registry_frame()
    composition = (reg[reg["model_id"] == model][["unit_fi", "kuntanumero", "member_fi"]]
                   .rename(columns={"unit_fi": "pilot unit", "kuntanumero": "code", "member_fi": "member"})
                   .fillna({"code": "–"}))
    tables.write_table(composition, out / "tables" / "composition")
    summary = {"run_id": run_id, "model": model, "outcomes": outcomes, "balance": {}}
    for outcome in outcomes:
        frame = analysis_frame(panel, model, outcome, control_pool=control_pool, start_year=start_year,
                               end_year=end_year)
        label, unit_label = _label(outcome)
        trend_plots.trends_figure(frame, label, unit_label, out / "figures" / f"trends_{outcome}.png")
        trend_plots.trends_figure(frame, label, "index, 2014 = 100", out / "figures" / f"trends_indexed_{outcome}.png",
                                  index_year=REFERENCE_YEAR)
        bal = tables.balance_table(panel, frame, ["y", "population", "share_65_plus", "unemployment_rate"])
        tables.write_table(bal, out / "tables" / f"balance_{outcome}")
        summary["balance"][outcome] = bal.to_dict(orient="records")
    atomic.write_text(out / "descriptives.json", json.dumps(summary, indent=2, default=str) + "\n")
    # the run-output contract: every run of a model has a results.json (no estimates here)
    write_results(out, {"run_id": run_id, "model": model, "outcome": None, "kind": "descriptives",
                        "outcomes": outcomes, "estimates": [], "event_study": [],
                        "notes": [f"descriptive run: trends, composition and pre-period balance of "
                                  f"{len(outcomes)} outcome(s); no estimation"]})
    return summary


def data_audit(*, output_dir, run_id: str = "interactive", panel_path=None) -> dict:
    """Sources, coverage and harmonisation checks of the panel, as tables in ``output_dir``:
    ``coverage`` (years and share of municipality-years with data per variable),
    ``registry`` (units and municipalities per model), ``sources`` (raw manifest)."""
    from . import paths, tables

    out = Path(output_dir)
    panel = load_panel(panel_path)
    mainland = panel[~panel["aland"].astype(bool)]
    rows = []
    for col in panel.columns:
        if col in ("kunta", "year") or not pd.api.types.is_numeric_dtype(panel[col]) or panel[col].dtype == bool:
            continue
        have = mainland.loc[mainland[col].notna(), "year"]
        rows.append({"variable": col, "first_year": int(have.min()) if len(have) else None,
                     "last_year": int(have.max()) if len(have) else None,
                     "share_observed_mainland": float(mainland[col].notna().mean()),
                     "mean": float(mainland[col].mean()), "min": float(mainland[col].min()),
                     "max": float(mainland[col].max())})
    coverage = pd.DataFrame(rows)
    tables.write_table(coverage, out / "tables" / "coverage")
    reg = registry.registry_frame()
    per_model = reg.groupby("model_id").agg(units=("unit_id", "nunique"), members=("member_fi", "nunique"))
    per_model = per_model.reindex(registry.models()).reset_index()
    tables.write_table(per_model, out / "tables" / "registry")
    manifest = paths.RAW / "MANIFEST.csv"
    if manifest.is_file():
        tables.write_table(pd.read_csv(manifest), out / "tables" / "sources")
    summary = {
        "run_id": run_id,
        "n_municipalities": int(panel["kunta"].nunique()),
        "years": [int(panel["year"].min()), int(panel["year"].max())],
        "n_units": len(registry.units()), "n_pilot_municipalities": len(registry.municipalities()),
        "n_models": len(registry.models()), "n_unit_model_pairs": len(registry.unit_model_pairs()),
        "balanced": bool(panel.groupby("kunta")["year"].nunique().nunique() == 1),
    }
    atomic.write_text(out / "audit.json", json.dumps(summary, indent=2) + "\n")
    return summary


def robustness(model: str, outcome: str, *, output_dir, run_id: str = "interactive",
               start_year: int = 2010, end_year: int = 2018, placebo_years: Iterable[int] = (2012, 2013),
               control_pools: Iterable[str] = CONTROL_POOLS, seed: int = 20150105,
               panel_path=None) -> dict:
    """Robustness of the pilot-period DiD (2015-2016): placebo adoption years (pre-period
    only), leave-one-unit-out, alternative control pools; HonestDiD bounds (>= 2 treated
    clusters, :func:`honest_did_bounds`) and the MDE (:func:`pilot_power`). Writes
    ``results.json`` (``robustness``, ``power``), ``tables/robustness.*``, ``tables/honest_did.*``
    and ``figures/honest_did.png``."""
    from . import tables

    out = Path(output_dir)
    panel = load_panel(panel_path)
    last = min(end_year, PILOT_END)
    rows = []
    base = analysis_frame(panel, model, outcome, start_year=start_year, end_year=end_year)
    rows.append({"check": "baseline", "variant": "non_pilot", "estimate": _did(base, last_year=last)})
    for year in placebo_years:
        pre = base[base["year"] < ADOPTION_YEAR]
        if pre["year"].min() < year:
            rows.append({"check": "placebo_adoption_year", "variant": str(year),
                         "estimate": _did(pre, last_year=ADOPTION_YEAR - 1, adoption=year)})
    for unit in sorted(base.loc[base["treated"], "cluster"].unique()):
        if base.loc[base["treated"], "cluster"].nunique() < 2:
            break
        rest = base[base["cluster"] != unit]
        rows.append({"check": "leave_one_unit_out", "variant": unit, "estimate": _did(rest, last_year=last)})
    for pool in control_pools:
        if pool == "non_pilot":
            continue
        frame = analysis_frame(panel, model, outcome, control_pool=pool, start_year=start_year, end_year=end_year)
        pl = _placebo(frame, seed, last_year=last)
        rows.append({"check": "control_pool", "variant": pool, "estimate": pl["estimate"], "p_value": pl["p_value"],
                     "n_control_municipalities": int(frame.loc[~frame["treated"], "kunta"].nunique())})
    table = pd.DataFrame(rows)
    tables.write_table(table, out / "tables" / "robustness")
    result = {"run_id": run_id, "model": model, "outcome": outcome, "checks": table.to_dict(orient="records"),
              "notes": []}
    honest, breakdown, hd_notes = honest_did_bounds(base, out)
    result["honest_did"] = honest
    result["breakdown_value"] = breakdown
    result["notes"].extend(hd_notes)
    power = pilot_power(base, seed=seed)
    result["notes"].append(
        f"Power: minimum detectable effect {power['mde']:.4g} at power {power['power']:g}, alpha "
        f"{power['alpha']:g} ({power['method']}).")
    write_results(out, {"run_id": run_id, "model": model, "outcome": outcome, "robustness": result,
                        "power": power, "notes": result["notes"]})
    return {**result, "power": power}


#: Mbar grid of the relative-magnitude bounds (Rambachan & Roth 2023)
HONEST_DID_MBAR = (0, 0.5, 1, 1.5, 2)
#: M grid of the smoothness bounds, in units of the median pre-period coefficient SE
HONEST_DID_M_SE_MULTIPLES = (0, 0.25, 0.5, 1, 2)


def honest_did_bounds(base: pd.DataFrame, out: Path | None = None) -> tuple[list[dict], dict | None, list[str]]:
    """Rambachan-Roth (2023) sensitivity of the pilot-period effect (average of event times 0
    and 1 = 2015-2016): event study on 2010-2016 with cluster-robust covariance (pilot unit),
    then :func:`analysis.sensitivity.honest_did.honest_did_from_result` for relative magnitudes
    (``Mbar`` in :data:`HONEST_DID_MBAR`) and smoothness (``M`` = multiples of the median SE of
    the pre-period coefficients). Writes ``tables/honest_did.*`` and ``figures/honest_did.png``
    when ``out`` is given. Returns (records, breakdown values, notes); with one treated cluster
    there is no cluster covariance and nothing is computed (a note says so)."""
    from .estimators.event_study import event_study
    from .sensitivity.honest_did import breakdown_value, honest_did_from_result

    n_treated_clusters = int(base.loc[base["treated"], "cluster"].nunique())
    if n_treated_clusters < 2:
        return [], None, [f"HonestDiD bounds not computed: {n_treated_clusters} treated cluster, so there is "
                          "no cluster-robust covariance of the event-study coefficients (inference by "
                          "in-space placebos only)."]
    pilot = base[base["year"] <= PILOT_END].copy()
    pilot["D"] = (pilot["treated"] & (pilot["year"] >= ADOPTION_YEAR)).astype(int)
    es = event_study(pilot, unit="kunta", time="year", outcome="y", treated="D", cluster="cluster",
                     inference="cluster")
    post = [r for r in es.details["event_study"] if r["event_time"] >= 0]
    l_vec = [1.0 / len(post)] * len(post)
    pre_se = [r["se"] for r in es.details["event_study"] if r["event_time"] < -1 and r["se"] is not None]
    se_unit = float(np.median(pre_se)) if pre_se else 0.0
    rm = honest_did_from_result(es, method="relative_magnitude", grid=list(HONEST_DID_MBAR), l_vec=l_vec)
    m_grid = [m * se_unit for m in HONEST_DID_M_SE_MULTIPLES]
    sd = honest_did_from_result(es, method="smoothness", grid=m_grid, l_vec=l_vec)
    sd["M_in_pre_se"] = [np.nan] + list(HONEST_DID_M_SE_MULTIPLES)
    rm["M_in_pre_se"] = np.nan
    table = pd.concat([rm, sd[~sd["method"].eq("original")]], ignore_index=True)
    table = table[["method", "M", "M_in_pre_se", "lb", "ub"]]
    breakdown = {"relative_magnitude_Mbar": breakdown_value(rm), "smoothness_M": breakdown_value(sd),
                 "smoothness_M_in_pre_se": (breakdown_value(sd) / se_unit
                                            if se_unit > 0 and math.isfinite(breakdown_value(sd)) else None)}
    notes = [f"HonestDiD (Rambachan & Roth 2023): bounds for the average 2015-2016 effect from a "
             f"{len(post) + len(pre_se) + 1}-period event study with cluster-robust covariance "
             f"({n_treated_clusters} treated clusters); {_construction(rm)} with Mbar in "
             f"{list(HONEST_DID_MBAR)}, {_construction(sd)} with M in {list(HONEST_DID_M_SE_MULTIPLES)} x the "
             f"median pre-period SE ({se_unit:.4g}). Breakdown value: the largest grid value whose "
             "interval excludes 0 (missing: even the smallest includes 0)."]
    conventional = rm[rm["method"] == "original"].iloc[0]
    smooth0 = sd[sd["method"] != "original"].sort_values("M").iloc[0]
    if smooth0["lb"] > 0 >= conventional["ub"] or smooth0["ub"] < 0 <= conventional["lb"]:
        notes.append("HonestDiD smoothness bounds at M = 0 (a linear pre-period trend carried forward) have "
                     "the opposite sign of the conventional interval: the conclusion depends on the pre-trend "
                     "assumption; the smoothness breakdown value refers to that opposite-signed interval.")
    if n_treated_clusters < 10:
        notes.append(f"HonestDiD uses the cluster-robust covariance, which understates uncertainty with "
                     f"{n_treated_clusters} treated clusters: read the bounds as optimistic.")
    if out is not None:
        from . import tables

        tables.write_table(table, out / "tables" / "honest_did")
        _honest_did_figure(rm, out / "figures" / "honest_did.png")
    return table.to_dict(orient="records"), breakdown, notes


def _construction(table: pd.DataFrame) -> str:
    """The construction label(s) reported by :mod:`analysis.sensitivity.honest_did`."""
    return " / ".join(sorted(set(table.loc[table["method"] != "original", "method"])))


def _honest_did_figure(rm: pd.DataFrame, path: Path) -> None:
    """Relative-magnitude intervals by Mbar, the conventional interval first."""
    import matplotlib.pyplot as plt

    from .plots.style import CONTROL_COLOR, TREATED_COLOR, apply_style
    from .plots.trends import _save

    apply_style()
    fig, ax = plt.subplots()
    orig = rm[rm["method"] == "original"].iloc[0]
    rest = rm[rm["method"] != "original"]
    width = float(rest["M"].diff().min()) if len(rest) > 1 else 0.5
    x0 = float(rest["M"].min()) - width
    ax.errorbar([x0], [(orig.lb + orig.ub) / 2], yerr=[[(orig.ub - orig.lb) / 2]], fmt="o",
                color=CONTROL_COLOR, capsize=4, label="Conventional 95% CI")
    ax.errorbar(rest["M"], (rest["lb"] + rest["ub"]) / 2, yerr=(rest["ub"] - rest["lb"]) / 2, fmt="s",
                color=TREATED_COLOR, capsize=4, label="Robust 95% CI (relative magnitudes)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks([x0, *rest["M"]], ["Orig.", *[f"{m:g}" for m in rest["M"]]])
    ax.set_xlabel("M̄ (post-period trend violation relative to the largest pre-period change)")
    ax.set_ylabel("Effect 2015–2016")
    ax.legend()
    _save(fig, path)


def pilot_power(base: pd.DataFrame, *, seed: int, power: float = 0.8, alpha: float = 0.05,
                reps: int = 2000) -> dict[str, Any]:
    """Minimum detectable effect of the pilot-period DiD by simulation on the real pre-period
    panel (:func:`analysis.power.minimum_detectable_effect`): control municipalities only,
    2010-2012 as placebo pre-period and 2013-2014 as a two-year placebo pilot period, placebo
    treatment with the model's unit structure (number of treated municipalities per pilot unit)."""
    from .power import minimum_detectable_effect

    treated = base[base["treated"]]
    sizes = treated.groupby("cluster")["kunta"].nunique().sort_values(ascending=False).astype(int).tolist()
    pre_years = [y for y in range(int(base["year"].min()), ADOPTION_YEAR - 2)]
    post_years = [ADOPTION_YEAR - 2, ADOPTION_YEAR - 1]
    pr = minimum_detectable_effect(base, unit="kunta", time="year", outcome="y", cluster_sizes=sizes,
                                   pre_years=pre_years, post_years=post_years, power=power, alpha=alpha,
                                   reps=reps, seed=seed, exclude_units=sorted(set(treated["kunta"])))
    d = pr.to_dict()
    d.pop("curve", None)
    if not d["warnings"]:
        d.pop("warnings")
    d.update({"cluster_sizes": sizes, "pre_years": f"{pre_years[0]}-{pre_years[-1]}",
              "post_years": f"{post_years[0]}-{post_years[-1]}",
              "method": "randomization-inference DiD test on placebo-treated control municipalities, "
                        f"{len(sizes)} pseudo-unit(s) of {sum(sizes)} municipalities, {pre_years[0]}-"
                        f"{pre_years[-1]} vs {post_years[0]}-{post_years[-1]} (Burlig, Preonas & Woerman 2020)"})
    return d
