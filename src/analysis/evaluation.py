"""Notebook calls: the steps of a model evaluation, orchestration only.

Each step is one call a notebook makes; nothing here fits a model or draws a placebo:

1. :func:`load_panel`, :func:`analysis_frame` (the design's frame, :func:`analysis.design.analysis_frame`),
   :func:`save_frame` (``frame.parquet`` in the run folder, read back so that the estimates and
   their commands start from the same bytes), :func:`design_table`.
2. :func:`plan_estimates` -> :class:`EstimatePlan`: one :class:`analysis.spec.EstimateSpec` per
   published number (estimator, inference, reps, seed, placebo units, time window).
3. :func:`fit_estimates` -> :class:`Estimates`: the results objects of the public estimators
   (``twfe_did``, ``did_2x2``, ``event_study``, ``synthetic_did``, ``synthetic_control``).
4. :func:`size_table`, :func:`choose_headline`, :func:`honest_did_bounds`, :func:`power`:
   size on the real layout (:mod:`analysis.inference.size`), the written headline rule,
   Rambachan-Roth bounds (:mod:`analysis.sensitivity`), the MDE (:mod:`analysis.power`).
5. :func:`write_evaluation` / :func:`write_robustness`: ``results.json`` (schema 2) whose rows
   are built from the results objects, each with the ``kuntakokeilu estimate`` ``command``
   that reproduces it in the run folder.

Design (evaluation guide § 1-3): one adoption date (2015); the pilot period 2015-2016 is the
headline window, 2015 onward a second row; treatment assigned to pilot units, so inference is
at the unit level; with one treated unit only placebo-based inference.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from . import atomic, registry
from .errors import InputError, choices_message
from .spec import EstimateSpec, headline_numbers, supports_placebo_units
from .study import (
    ADOPTION_YEAR, ESTIMATORS, INFERENCE_METHODS, LAST_PRE_YEAR, MATCHED_CONTROLS, PILOT_END,
    domain_values,
)

__all__ = ["load_panel", "analysis_frame", "save_frame", "design_table", "plan_estimates",
           "fit_estimates", "size_table", "choose_headline", "honest_did_bounds", "power",
           "evaluate_model", "robustness", "domain_values"]

SCHEMA = 2
#: draws of every placebo-based procedure (issue standards: RI >= 999, SDID placebo >= 200)
RI_REPS = 999
WILD_REPS = 999
SDID_REPS = 200
SIZE_DRAWS = 200
MDE_REPS = 2000
#: headline rule: the first method of the layout's preference list whose simulated rejection
#: rate at 5% on the real layout is at most MAX_REJECTION_RATE
MAX_REJECTION_RATE = 0.10
HEADLINE_PREFERENCE = {
    "clusters": (("twfe", "wild"), ("twfe", "ri"), ("twfe", "cluster")),
    "single": (("did", "ri"), ("sdid", "placebo"), ("sc", "placebo")),
}
#: relative-magnitude grid of the HonestDiD bounds (Rambachan & Roth 2023)
HONEST_DID_MBAR = (0.0, 0.5, 1.0, 1.5, 2.0)
FRAME_FILE = "frame.parquet"
BREAKS_KEEP_FILE = "frame_breaks_keep.parquet"


# ------------------------------------------------------------------------------------------
# 1. the design and its frame
# ------------------------------------------------------------------------------------------
def load_panel(panel_path=None) -> pd.DataFrame:
    """The harmonised panel (``data/processed/panel.parquet`` unless ``panel_path``)."""
    from . import paths
    from .panel import read_panel

    return read_panel(Path(panel_path) if panel_path else paths.PANEL_FILE)


def analysis_frame(panel: pd.DataFrame, model: str, outcome: str, *, control_pool: str = "default",
                   covariates: Iterable[str] = (), start_year: int = 2010, end_year: int = 2018,
                   n_matched: int = MATCHED_CONTROLS) -> pd.DataFrame:
    """The design's analysis frame (:func:`analysis.design.analysis_frame`), balanced, years
    ``start_year``-``end_year``; ``frame.attrs["design"]`` lists treated units, controls and
    every exclusion with its reason."""
    from . import design

    years = range(int(start_year), int(end_year) + 1)
    covariates = list(covariates)
    frame = design.analysis_frame(panel, model, outcome, control_pool=control_pool, covariates=covariates,
                                  years=years, n_matched=n_matched, balanced=True)
    frame.attrs.setdefault("design", {})
    frame.attrs["control_pool"] = control_pool
    frame.attrs["model"], frame.attrs["outcome"] = model, outcome
    return frame


def add_placebo_adoptions(frame: pd.DataFrame, years: Iterable[int]) -> pd.DataFrame:
    """Columns ``placebo_<year>``: the treated group's status had the pilot started in
    ``year`` (for pre-period placebo estimates)."""
    out = frame.copy()
    for y in years:
        out[f"placebo_{int(y)}"] = (out["treated_group"].astype(bool) & (out["year"] >= int(y))).astype(int)
    out.attrs = dict(frame.attrs)
    return out


def save_frame(frame: pd.DataFrame, output_dir, name: str = FRAME_FILE) -> pd.DataFrame:
    """Write ``name`` in ``output_dir`` (atomically) and return the frame read back: the
    estimates are fitted on exactly what their commands read."""
    from .atomic import atomic_path

    path = Path(output_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    attrs = json.loads(json.dumps(frame.attrs, default=str))
    saved = frame.copy()
    saved.attrs = {}
    with atomic_path(path, suffix=".parquet") as tmp:
        saved.to_parquet(tmp, index=False)
    back = pd.read_parquet(path)
    back.attrs = attrs
    back.attrs["file"] = name
    return back


def placebo_construction(frame: pd.DataFrame) -> str:
    """How placebo units are built for this frame (:data:`analysis.study.PLACEBO_CONSTRUCTIONS`):
    ``nearest`` (neighbouring municipalities) when it has the centroid columns ``x``, ``y``, else
    ``region`` (municipalities of one maakunta) when it has ``region``. Every placebo procedure
    of the evaluation reassigns treatment to such units, so a frame with neither is refused."""
    if {"x", "y"} <= set(frame.columns):
        return "nearest"
    if "region" in frame.columns:
        return "region"
    raise InputError("placebo units shaped like the pilot units need municipal centroids (columns "
                     "'x', 'y') or the maakunta (column 'region'); the frame has neither "
                     "(analysis frames from evaluation.analysis_frame have both)")


def _bare(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its ``attrs`` (the same columns and data, not copied). pandas
    deep-copies ``attrs`` (an analysis frame's design record) into the result of every
    operation on a frame, which costs more than the operations the steps here make."""
    return pd.DataFrame(frame) if frame.attrs else frame


def layout(frame: pd.DataFrame) -> dict[str, Any]:
    """Treated clusters and their sizes (municipalities per pilot unit)."""
    frame = _bare(frame)
    units = frame.drop_duplicates("kunta")
    tr = units[units["treated_group"].astype(bool)]
    sizes = tr.groupby("cluster")["kunta"].nunique().sort_values(ascending=False)
    return {"treated_units": sorted(sizes.index.astype(str)), "sizes": [int(s) for s in sizes],
            "n_treated_units": int(len(sizes)), "n_treated_municipalities": int(len(tr)),
            "n_control_municipalities": int((~units["treated_group"].astype(bool)).sum()),
            "years": [int(frame["year"].min()), int(frame["year"].max())]}


def design_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """The ``design`` block of ``results.json``."""
    d = frame.attrs.get("design") or {}
    excluded: dict[str, int] = {}
    for reason in (d.get("excluded") or {}).values():
        key = str(reason).split(":")[0]
        excluded[key] = excluded.get(key, 0) + 1
    lay = layout(frame)
    construction = placebo_construction(frame)
    return {"control_pool": frame.attrs.get("control_pool", "default"),
            "treated_units": lay["treated_units"], "treated_unit_sizes": lay["sizes"],
            "n_treated_units": lay["n_treated_units"],
            "n_treated_municipalities": lay["n_treated_municipalities"],
            "n_control_municipalities": lay["n_control_municipalities"], "years": lay["years"],
            "excluded": excluded, "treated_break_flags": list(d.get("treated_break_flags") or []),
            "placebo_units": {"construction": construction}}


def design_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Treated units, controls and excluded municipalities with the reason, one row per group."""
    d = frame.attrs.get("design") or {}
    units = _bare(frame).drop_duplicates("kunta")
    rows = []
    for unit, g in units[units["treated_group"].astype(bool)].groupby("cluster"):
        rows.append({"role": "treated unit", "group": unit, "municipalities": len(g),
                     "codes": ", ".join(sorted(g["kunta"].astype(str)))})
    controls = units[~units["treated_group"].astype(bool)]
    rows.append({"role": "control", "group": frame.attrs.get("control_pool", "default"),
                 "municipalities": len(controls), "codes": ""})
    reasons: dict[str, list[str]] = {}
    for code, reason in (d.get("excluded") or {}).items():
        reasons.setdefault(str(reason), []).append(str(code))
    dropped = set(d.get("control_municipalities") or []) - set(controls["kunta"].astype(str))
    if dropped:
        reasons["no complete outcome series in the window (balanced panel)"] = sorted(dropped)
    for reason, codes in sorted(reasons.items()):
        rows.append({"role": "excluded", "group": reason, "municipalities": len(codes),
                     "codes": ", ".join(sorted(codes)[:12]) + (" ..." if len(codes) > 12 else "")})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------
# 2. the plan: one EstimateSpec per published number
# ------------------------------------------------------------------------------------------
@dataclass
class PlannedEstimate:
    """One published estimate: its settings, the frame file it reads and its role."""

    id: str
    role: str
    term: str
    spec: EstimateSpec
    frame_file: str = FRAME_FILE
    control_pool: str = "default"
    variant: str | None = None

    @property
    def command(self) -> str:
        return self.spec.command(self.frame_file)


class EstimatePlan(list):
    """The planned estimates (a list of :class:`PlannedEstimate`), shown as a table."""

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"id": p.id, "role": p.role, "estimator": p.spec.method,
                              "inference": p.spec.inference, "term": p.term,
                              "control_pool": p.control_pool, "reps": p.spec.reps,
                              "placebo_units": p.spec.placebo_units, "command": p.command}
                             for p in self])

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)

    def __getitem__(self, key):
        if isinstance(key, str):
            for p in self:
                if p.id == key:
                    return p
            raise KeyError(key)
        return super().__getitem__(key)


def sc_predictor_windows(first_year: int, last_pre_year: int = LAST_PRE_YEAR) -> tuple[tuple[int, ...], ...]:
    """Synthetic-control predictors: pre-period outcome averages over consecutive two-year
    windows, the last pre-period year on its own (2010-2014: 2010-2011, 2012-2013, 2014), so
    that the fit does not interpolate the pre-period exactly."""
    years = list(range(int(first_year), int(last_pre_year) + 1))
    if len(years) <= 2:
        return tuple((y,) for y in years)
    rest = years[:-1]
    return tuple(tuple(rest[i:i + 2]) for i in range(0, len(rest), 2)) + ((years[-1],),)


def _window_term(years: tuple[int, int]) -> str:
    last = min(years[1], PILOT_END)
    return f"pilot_{ADOPTION_YEAR}_{last}"


def plan_estimates(frame: pd.DataFrame, *, estimators: Iterable[str] = ("twfe", "event-study", "sdid"),
                   inference: Iterable[str] = ("cluster", "wild", "ri"), covariates: Iterable[str] = (),
                   seed: int = 20150105, ri_reps: int = RI_REPS, wild_reps: int = WILD_REPS,
                   placebo_reps: int = SDID_REPS, frame_file: str = FRAME_FILE) -> EstimatePlan:
    """The estimates of one evaluation run.

    Pilot window (years up to 2016): for >= 2 treated clusters TWFE with each requested
    inference (cluster, wild, ri); for one treated cluster the 2x2 DiD with randomization
    inference over placebo units (and TWFE as a point estimate), and as its pre-trend check the
    same test with a placebo adoption in 2013 on the pre-period (column ``placebo_2013``,
    :func:`add_placebo_adoptions`). ``sdid`` and ``sc`` with
    placebo inference; ``event-study`` on all years. TWFE with cluster SEs also on all post
    years (2015 onward). Placebo draws use placebo units shaped like the pilot units when
    available (:func:`placebo_construction`).
    """
    estimators, inference, covariates = list(estimators), list(inference), list(covariates)
    for e in estimators:
        if e not in ESTIMATORS:
            raise InputError(choices_message("estimator", e, ESTIMATORS))
    for i in inference:
        if i not in INFERENCE_METHODS:
            raise InputError(choices_message("inference", i, INFERENCE_METHODS))
    lay = layout(frame)
    single = lay["n_treated_units"] < 2
    first, last = lay["years"]
    pilot = (first, min(last, PILOT_END))
    term = _window_term(pilot)
    construction = placebo_construction(frame)
    base = dict(covariates=tuple(covariates), seed=seed)
    plan = EstimatePlan()

    def add(id_, method, inf, *, years=pilot, term_=term, reps=None, options=None, file=frame_file,
            placebo=False, covs=True):
        spec = EstimateSpec(method, inference=inf, years=years if years != (first, last) else None,
                            reps=reps, options=options or {},
                            placebo_units=construction if placebo and supports_placebo_units(method) else None,
                            **{**base, "covariates": base["covariates"] if covs else ()})
        plan.append(PlannedEstimate(id_, "estimate", term_, spec, file,
                                    frame.attrs.get("control_pool", "default")))

    if "twfe" in estimators or "did" in estimators:
        if single:
            add("did_ri", "did", "ri", reps=ri_reps, placebo=True)
            add("twfe_cluster", "twfe", "cluster")
        else:
            if "cluster" in inference:
                add("twfe_cluster", "twfe", "cluster")
            if "wild" in inference:
                add("twfe_wild", "twfe", "wild", reps=wild_reps)
            if "ri" in inference:
                add("twfe_ri", "twfe", "ri", reps=ri_reps, placebo=True)
        if last > PILOT_END and not single and "cluster" in inference:
            add("twfe_cluster_post", "twfe", "cluster", years=(first, last),
                term_=f"post_{ADOPTION_YEAR}_{last}")
    if "sdid" in estimators:
        add("sdid_placebo", "sdid", "placebo", reps=placebo_reps, placebo=True, covs=False)
    if "sc" in estimators:
        add("sc_placebo", "sc", "placebo", placebo=True, covs=False,
            reps=ri_reps,
            options={"v_method": "equal", "special_predictors": sc_predictor_windows(first)})
    pre_col = f"placebo_{LAST_PRE_YEAR - 1}"
    if single and pre_col in frame.columns and first < LAST_PRE_YEAR - 1:
        spec = EstimateSpec("did", treated=pre_col, inference="ri", reps=ri_reps, seed=seed,
                            years=(first, LAST_PRE_YEAR),
                            placebo_units=construction)
        plan.append(PlannedEstimate(f"did_ri__{pre_col}", "pretrend", f"{pre_col}_{LAST_PRE_YEAR}", spec,
                                    frame_file, frame.attrs.get("control_pool", "default"),
                                    f"placebo adoption in {LAST_PRE_YEAR - 1} (pre-period only)"))
    if "event-study" in estimators:
        spec = EstimateSpec("event-study", inference="cluster", **base)
        plan.append(PlannedEstimate("event_study", "event_study", "event_time", spec, frame_file,
                                    frame.attrs.get("control_pool", "default")))
    return plan


# ------------------------------------------------------------------------------------------
# 3. fitting: the public estimators, through the specs
# ------------------------------------------------------------------------------------------
class Estimates(dict):
    """Results objects by estimate id, with the plan that produced them; shown as a table."""

    def __init__(self, plan: EstimatePlan, results: Mapping[str, Any]):
        super().__init__(results)
        self.plan = plan

    def rows(self, **extra) -> list[dict]:
        return [estimate_row(p, self[p.id], **extra) for p in self.plan if p.id in self and p.role != "event_study"]

    def to_frame(self) -> pd.DataFrame:
        cols = ["id", "role", "estimator", "inference", "term", "estimate", "se", "ci_low", "ci_high",
                "p_value", "n_treated_clusters"]
        return pd.DataFrame(self.rows(), columns=cols + ["command"])[cols]

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")


def fit_estimates(plan: EstimatePlan, frames: pd.DataFrame | Mapping[str, pd.DataFrame]) -> Estimates:
    """Fit every planned estimate on its frame (``frames``: one frame, or frame file -> frame)."""
    out = {}
    bare: dict[int, pd.DataFrame] = {}
    for p in plan:
        frame = frames if isinstance(frames, pd.DataFrame) else frames[p.frame_file]
        if id(frame) not in bare:
            bare[id(frame)] = _bare(frame)
        out[p.id] = p.spec.fit(bare[id(frame)])
    return Estimates(plan, out)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def estimate_row(p: PlannedEstimate, result, **extra) -> dict:
    """One ``results.json`` estimate row, from the results object."""
    d = result.design
    nums = headline_numbers(result)
    row = {"id": p.id, "role": p.role, "estimator": p.spec.method, "inference": p.spec.inference,
           "control_pool": p.control_pool, "term": p.term, **nums, "reps": p.spec.reps,
           "seed": p.spec.seed if p.spec.inference in ("wild", "ri", "placebo") else None,
           "placebo_units": p.spec.placebo_units, "n_clusters": d.n_clusters,
           "n_treated_clusters": d.n_treated_clusters if d.n_treated_clusters is not None else d.n_treated_units,
           "variant": p.variant, "warnings": list(result.warnings),
           "min_p_value": _clean(result.details.get("min_p_value")
                                 or (result.details.get("placebo") or {}).get("min_p_value")),
           "command": p.command}
    row.update(extra)
    return row


# ------------------------------------------------------------------------------------------
# 4. size, headline, sensitivity, power
# ------------------------------------------------------------------------------------------
#: size-simulation methods of each planned (estimator, inference)
SIZE_METHOD = {("twfe", "cluster"): "cluster", ("twfe", "wild"): "wild", ("twfe", "ri"): "ri",
               ("did", "ri"): "ri", ("sdid", "placebo"): "placebo"}


def size_table(frame: pd.DataFrame, plan: EstimatePlan, *, draws: int = SIZE_DRAWS, seed: int = 20150105):
    """Rejection rate at 5% and CI coverage of each planned inference method on the real
    layout under a true null (:func:`analysis.inference.size.size_simulation`): on the
    pre-period, treatment re-assigned to placebo units shaped like the pilot units from a fake
    adoption in 2013, two years as the pilot period. Randomization inference over scattered
    single municipalities is shown for contrast. Returns rows, or ``{"reason"}``."""
    from .inference.placebo_units import PlaceboUnits
    from .inference.size import size_simulation

    construction = placebo_construction(frame)
    methods = [SIZE_METHOD[(p.spec.method, p.spec.inference)] for p in plan
               if (p.spec.method, p.spec.inference) in SIZE_METHOD]
    if not methods:
        return {"reason": "no estimate of this run has a simulated size"}
    if "ri" in methods:
        methods.append("ri_scattered")
    try:
        res = size_simulation(_bare(frame), unit="kunta", time="year", outcome="outcome",
                              fake_adoption=ADOPTION_YEAR - 2, before=ADOPTION_YEAR,
                              placebo_units=PlaceboUnits(construction), methods=list(dict.fromkeys(methods)),
                              draws=draws, seed=seed)
    except InputError as exc:
        return {"reason": f"no size simulation on this layout: {exc}"}
    return [{k: _clean(v) for k, v in r.items()} for r in res.rows()]


def choose_headline(rows: list[dict], size, n_treated_clusters: int) -> tuple[str | None, str]:
    """The written rule: the headline is the first method of the layout's preference list
    (:data:`HEADLINE_PREFERENCE`) with an estimate whose simulated rejection rate at 5% on the
    real layout is at most :data:`MAX_REJECTION_RATE`. Without a size table the first
    available preferred method is the headline and the reason says so."""
    kind = "single" if n_treated_clusters < 2 else "clusters"
    pref = HEADLINE_PREFERENCE[kind]
    by_method = {(r["estimator"], r["inference"]): r for r in rows if r.get("role") in ("estimate", "headline")
                 and r.get("estimate") is not None and r.get("p_value") is not None}
    rates: dict[tuple[str, str], float] = {}
    if isinstance(size, list):
        for s in size:
            if s.get("method") == "ri_scattered":
                continue
            key = (s.get("estimator"), s.get("inference"))
            if s.get("rejection_rate") is not None:
                rates[key] = max(rates.get(key, 0.0), float(s["rejection_rate"]))
    layout_text = "one treated unit" if kind == "single" else f"{n_treated_clusters} treated clusters"
    rejected = []
    for key in pref:
        if key not in by_method:
            continue
        size_key = ("twfe", key[1]) if key[0] == "did" else key
        if rates:
            if size_key not in rates:
                rejected.append(f"{key[0]}/{key[1]}: no simulated size")
                continue
            if rates[size_key] > MAX_REJECTION_RATE:
                rejected.append(f"{key[0]}/{key[1]} rejects a true null in {rates[size_key]:.1%} of placebo draws")
                continue
            reason = (f"{layout_text}: {key[0]}/{key[1]} is the first preferred method "
                      f"({', '.join(f'{a}/{b}' for a, b in pref)}) whose simulated rejection rate at 5% "
                      f"on this layout ({rates[size_key]:.1%}) is at most {MAX_REJECTION_RATE:.0%}")
        else:
            reason = (f"{layout_text}: {key[0]}/{key[1]} is the first available preferred method "
                      f"({', '.join(f'{a}/{b}' for a, b in pref)}); no size simulation was available "
                      "to check its rejection rate on this layout")
        if rejected:
            reason += "; not " + "; not ".join(rejected)
        return by_method[key]["id"], reason
    candidates = [k for k in pref if k in by_method and (("twfe", k[1]) if k[0] == "did" else k) in rates]
    if candidates:
        best = min(candidates, key=lambda k: rates[("twfe", k[1]) if k[0] == "did" else k])
        return by_method[best]["id"], (
            f"{layout_text}: no preferred method has a simulated rejection rate at most {MAX_REJECTION_RATE:.0%} "
            f"({'; '.join(rejected)}); {best[0]}/{best[1]} has the lowest and is reported as the headline "
            "with that caveat")
    return None, ("no preferred method has an estimate" + (": " + "; ".join(rejected) if rejected else ""))


def honest_did_bounds(es_result, *, seed: int = 0) -> dict:
    """Rambachan-Roth (2023) relative-magnitude bounds of the average pilot-period effect (event
    times 0..1) from an event-study results object, post-period moments only (as R HonestDiD);
    ``{"reason"}`` when there is no cluster-robust covariance (one treated cluster)."""
    from .sensitivity.honest_did import breakdown_value, honest_did_from_result

    if es_result is None:
        return {"reason": "no event study in this run"}
    if "vcov" not in es_result.details:
        return {"reason": "one treated cluster: no cluster-robust covariance of the event-study "
                          "coefficients, so no HonestDiD bounds (pre-trends: placebo-in-time)"}
    post = [r for r in es_result.details["event_study"] if 0 <= r["event_time"] <= PILOT_END - ADOPTION_YEAR]
    all_post = [r for r in es_result.details["event_study"] if r["event_time"] >= 0]
    l_vec = [1.0 / len(post) if r in post else 0.0 for r in all_post]
    table = honest_did_from_result(es_result, method="relative_magnitude", grid=list(HONEST_DID_MBAR),
                                   l_vec=l_vec, seed=seed)
    rows = [{"mbar": _clean(float(r.M)) if r.method != "original" else None, "ci_low": float(r.lb),
             "ci_high": float(r.ub), "method": r.method} for r in table.itertuples()]
    bd = breakdown_value(table)
    return {"breakdown_mbar": _clean(bd), "rows": rows, "moments": "post",
            "target": f"average effect {ADOPTION_YEAR}-{PILOT_END}",
            "n_treated_clusters": es_result.design.n_treated_clusters}


def power(frame: pd.DataFrame, *, seed: int = 20150105, reps: int = MDE_REPS, alpha: float = 0.05,
          target_power: float = 0.8) -> dict:
    """Minimum detectable effect of the pilot-period DiD (:func:`analysis.power.minimum_detectable_effect`)
    on control municipalities only: placebo pilot period 2013-2014 against 2010-2012, placebo
    units shaped like the pilot units."""
    from .inference.placebo_units import PlaceboUnits
    from .power import minimum_detectable_effect

    frame = _bare(frame)
    lay = layout(frame)
    first = lay["years"][0]
    pre_years = list(range(first, ADOPTION_YEAR - 2))
    post_years = [ADOPTION_YEAR - 2, ADOPTION_YEAR - 1]
    if len(pre_years) < 1:
        return {"reason": f"the frame starts in {first}: too few pre-period years for a placebo pilot period"}
    kwargs = dict(unit="kunta", time="year", outcome="outcome", cluster_sizes=lay["sizes"],
                  pre_years=pre_years, post_years=post_years, power=target_power, alpha=alpha,
                  reps=reps, seed=seed,
                  exclude_units=sorted(frame.loc[frame["treated_group"].astype(bool), "kunta"].unique()))
    construction = placebo_construction(frame)
    kwargs["placebo_units"] = PlaceboUnits(construction)
    res = minimum_detectable_effect(frame, **kwargs)
    return {"mde": res.mde, "alpha": alpha, "power": target_power, "draws": res.reps,
            "placebo_sd": res.placebo_sd, "cluster_sizes": lay["sizes"],
            "pre_years": [pre_years[0], pre_years[-1]], "post_years": post_years,
            "placebo_units": {"construction": construction},
            "seed": seed, "warnings": list(res.warnings)}


# ------------------------------------------------------------------------------------------
# 5. results.json
# ------------------------------------------------------------------------------------------
def outcome_labels(outcome: str) -> dict[str, str]:
    try:
        from .panel import _VAR_INFO

        label, _, unit = _VAR_INFO[outcome][:3]
    except (ImportError, KeyError):
        label, unit = outcome, ""
    kind = ("eur_per_capita" if "eur" in outcome.lower() else "per_1000" if "per_1000" in outcome
            else "percent" if ("rate" in outcome or "share" in outcome) else "level")
    return {"outcome_label": label, "unit_label": unit, "unit_kind": kind}


def write_results(output_dir, results: dict) -> Path:
    """Atomically write ``results.json`` (plain JSON: NaN -> null)."""
    from .results import jsonable

    return atomic.write_text(Path(output_dir) / "results.json",
                             json.dumps(jsonable(results), indent=2, ensure_ascii=False) + "\n")


def _event_study_block(estimates: Estimates) -> tuple[dict | None, Any]:
    if "event_study" not in estimates:
        return None, None
    r = estimates["event_study"]
    p = estimates.plan["event_study"]
    return {"rows": r.details["event_study"], "command": p.command}, r


def _pretrend(es_result, es_command, rows: list[dict]) -> dict:
    if es_result is not None and "vcov" in es_result.details:
        pt = es_result.details["pretrend"]
        return {"test": "F", "p_value": _clean(pt["p_value"]), "statistic": _clean(pt["statistic"]),
                "df": [pt["df"], pt["df_denominator"]], "command": es_command}
    placebo = [r for r in rows if r.get("role") in ("placebo_year", "pretrend") and r.get("p_value") is not None]
    if placebo:
        last = max(placebo, key=lambda r: r["term"])
        return {"test": "placebo-in-time", "p_value": last["p_value"], "statistic": last["estimate"],
                "df": None, "command": last["command"], "term": last["term"]}
    return {"reason": "one treated cluster: no joint pre-trend F-test; see the placebo adoption years "
                      "of the robustness run and the synthetic-control pre-period RMSPE"}


def _synthetic_control_block(estimates: Estimates, frame: pd.DataFrame) -> dict | None:
    if "sc_placebo" not in estimates:
        return None
    r = estimates["sc_placebo"]
    names = _bare(frame).drop_duplicates("kunta").set_index("kunta")
    names = names["municipality_name"] if "municipality_name" in names else pd.Series(dtype=str)
    weights = {f"{names.get(k, k)} ({k})": float(v)
               for k, v in sorted(r.details["weights"].items(), key=lambda kv: -kv[1]) if abs(v) > 1e-6}
    placebo = r.details.get("placebo") or {}
    return {"weights": weights, "att": float(r.params["att"]), "placebo_p_value": _clean(float(r.pvalues["att"])),
            "min_p_value": placebo.get("min_p_value"), "n_donors": placebo.get("n_placebos"),
            "pre_rmspe": r.details.get("pre_rmspe"), "command": estimates.plan["sc_placebo"].command}


def _notes(model: str, frame: pd.DataFrame) -> list[str]:
    lay = layout(frame)
    notes = ["Intention-to-treat: the registry names who may take part (law 1350/2014 § 2)."]
    pool = frame.attrs.get("control_pool", "default")
    notes.append("Controls include municipalities of other pilot models." if pool == "keep_other_pilots"
                 else f"Control pool: {pool} (municipalities of other pilot models excluded).")
    bare = _bare(frame)
    treated = set(bare.loc[bare["treated_group"].astype(bool), "kunta"].astype(str))
    others = sorted(m for m in registry.models() if m != model and treated & set(registry.municipalities(m)))
    if others:
        notes.append("The treated municipalities also ran other pilot models (" + ", ".join(others)
                     + "): the estimate carries them too.")
    if lay["n_treated_units"] < 2:
        notes.append("One treated unit: no cluster-robust SE; inference by placebo units shaped like it "
                     "(randomization inference, SDID placebo SE, synthetic-control placebos).")
    if model == "kela_cooperation":
        notes.append("Basic social assistance moved to Kela on 1.1.2017: years after 2016 are not comparable.")
    return notes


def evaluation_results(*, run_id: str, model: str, outcome: str, frame: pd.DataFrame, estimates: Estimates,
                       size=None, kind: str = "evaluation", extra_rows: Iterable[dict] = (),
                       honest=None, power_block=None) -> dict:
    """The schema-2 ``results.json`` of an evaluation run (plus the top-level keys the report
    reads from schema 1: ``years``, ``n_*``, ``treated_units``, ``pretrend_p_value``)."""
    rows = estimates.rows() + list(extra_rows)
    es_block, es_result = _event_study_block(estimates)
    lay = layout(frame)
    if size is None:
        size = {"reason": "not computed in this run"}
    headline, reason = choose_headline(rows, size, lay["n_treated_units"]) if kind == "evaluation" else (None, "")
    for r in rows:
        if r["id"] == headline:
            r["role"] = "headline"
    pretrend = _pretrend(es_result, es_block["command"] if es_block else None, rows)
    design = design_summary(frame)
    res = {"schema": SCHEMA, "run_id": run_id, "kind": kind, "model": model, "outcome": outcome,
           **outcome_labels(outcome), "design": design, "frame": FRAME_FILE, "estimates": rows,
           "headline": headline, "headline_reason": reason, "event_study": es_block,
           "pretrend": pretrend, "size": size if isinstance(size, list) else [],
           "size_reason": size.get("reason") if isinstance(size, dict) else None,
           "honest_did": honest if honest is not None else {"reason": "in the robustness run"},
           "power": power_block if power_block is not None else {"reason": "in the robustness run"},
           "synthetic_control": _synthetic_control_block(estimates, frame), "notes": _notes(model, frame)}
    # schema-1 keys the report still reads
    res.update({"control_pool": design["control_pool"], "treated_units": lay["treated_units"],
                "n_treated_units": lay["n_treated_units"], "n_treated_municipalities": lay["n_treated_municipalities"],
                "n_control_municipalities": lay["n_control_municipalities"], "years": lay["years"],
                "pretrend_p_value": pretrend.get("p_value") if pretrend.get("test") == "F" else None})
    return res


def write_figures(output_dir, frame: pd.DataFrame, estimates: Estimates, outcome: str) -> list[Path]:
    """``figures/trends.png``, ``figures/event_study.png``, ``figures/synthetic_control*.png``
    and ``tables/estimates.*``, ``tables/event_study.*``."""
    from . import tables
    from .plots import trends as trend_plots

    out = Path(output_dir)
    labels = outcome_labels(outcome)
    paths = [trend_plots.trends_figure(frame, labels["outcome_label"], labels["unit_label"],
                                       out / "figures" / "trends.png")]
    table = estimates.to_frame()
    if not table.empty:
        tables.write_table(table, out / "tables" / "estimates")
    if "event_study" in estimates:
        rows = estimates["event_study"].details["event_study"]
        tables.write_table(pd.DataFrame(rows), out / "tables" / "event_study")
        paths.append(trend_plots.event_study_figure(rows, labels["outcome_label"], labels["unit_label"],
                                                    out / "figures" / "event_study.png"))
    if "sc_placebo" in estimates:
        paths += _synthetic_control_figures(estimates["sc_placebo"], labels, out / "figures")
    return paths


def _synthetic_control_figures(result, labels: dict, fig_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from .plots import synth
    from .plots.style import apply_style
    from .plots.trends import _save

    apply_style()
    fig, ax = plt.subplots()
    unit = labels["unit_label"]
    synth.plot_path(result, ax=ax, ylabel=f"{labels['outcome_label']} ({unit})" if unit else labels["outcome_label"])
    paths = [_save(fig, fig_dir / "synthetic_control.png")]
    if result.details.get("placebo"):
        fig, ax = plt.subplots()
        synth.plot_placebo_gaps(result, ax=ax)
        paths.append(_save(fig, fig_dir / "synthetic_control_placebos.png"))
    return paths


# ------------------------------------------------------------------------------------------
# whole runs (the same steps the notebooks show one by one)
# ------------------------------------------------------------------------------------------
def variant_frames(panel: pd.DataFrame, frame: pd.DataFrame, control_pools: Iterable[str], *,
                   output_dir, breaks_keep: bool = True) -> dict[str, pd.DataFrame]:
    """The analysis frame and one frame per other control pool (``frame_<pool>.parquet``), and
    with ``breaks_keep`` the default pool keeping municipalities whose series break in the
    window (``frame_breaks_keep.parquet``), saved in ``output_dir``."""
    from . import design

    frames = {FRAME_FILE: frame}
    lay = layout(frame)
    if breaks_keep:
        kept = design.analysis_frame(panel, frame.attrs["model"], frame.attrs["outcome"], breaks="keep",
                                     years=range(lay["years"][0], lay["years"][1] + 1), balanced=True)
        kept.attrs["control_pool"] = "default"
        frames[BREAKS_KEEP_FILE] = save_frame(kept, output_dir, BREAKS_KEEP_FILE)
    for pool in control_pools:
        if pool == frame.attrs.get("control_pool", "default"):
            continue
        frames[f"frame_{pool}.parquet"] = save_frame(
            analysis_frame(panel, frame.attrs["model"], frame.attrs["outcome"], control_pool=pool,
                           start_year=lay["years"][0], end_year=lay["years"][1]),
            output_dir, f"frame_{pool}.parquet")
    return frames


def evaluate_model(model: str, outcome: str, *, output_dir, run_id: str = "interactive",
                   control_pool: str = "default", estimators: Iterable[str] = ("twfe", "event-study", "sdid"),
                   inference: Iterable[str] = ("cluster", "wild", "ri"), start_year: int = 2010,
                   end_year: int = 2018, covariates: Iterable[str] = (), seed: int = 20150105,
                   ri_reps: int = RI_REPS, wild_reps: int = WILD_REPS, placebo_reps: int = SDID_REPS,
                   size_draws: int = SIZE_DRAWS, panel_path=None) -> dict:
    """One evaluation run: the steps of notebook ``20_model_evaluation`` in one call."""
    out = Path(output_dir)
    panel = load_panel(panel_path)
    frame = analysis_frame(panel, model, outcome, control_pool=control_pool, covariates=covariates,
                           start_year=start_year, end_year=end_year)
    frame = save_frame(add_placebo_adoptions(frame, [LAST_PRE_YEAR - 1]), out)
    plan = plan_estimates(frame, estimators=estimators, inference=inference, covariates=covariates, seed=seed,
                          ri_reps=ri_reps, wild_reps=wild_reps, placebo_reps=placebo_reps)
    estimates = fit_estimates(plan, frame)
    size = size_table(frame, plan, draws=size_draws, seed=seed)
    results = evaluation_results(run_id=run_id, model=model, outcome=outcome, frame=frame,
                                 estimates=estimates, size=size)
    write_results(out, results)
    write_figures(out, frame, estimates, outcome)
    return results


def robustness_plan(frame: pd.DataFrame, *, placebo_years: Iterable[int] = (2012, 2013), seed: int = 20150105,
                    ri_reps: int = RI_REPS, wild_reps: int = WILD_REPS,
                    frames: Mapping[str, pd.DataFrame] | None = None) -> EstimatePlan:
    """Robustness estimates: the layout's first preferred method on the pre-period with placebo
    adoption years (columns ``placebo_<year>``, :func:`add_placebo_adoptions`), on the pilot
    window, and on the variant frames (``frame_<pool>.parquet``, :func:`variant_frames`); the
    event study of the pilot window for the HonestDiD bounds."""
    lay = layout(frame)
    single = lay["n_treated_units"] < 2
    method, inf = ("did", "ri") if single else ("twfe", "wild")
    reps = ri_reps if inf == "ri" else wild_reps
    construction = placebo_construction(frame)
    pu = construction if inf == "ri" and supports_placebo_units(method) else None
    first, last = lay["years"]
    pilot = (first, min(last, PILOT_END))
    plan = EstimatePlan()
    for y in placebo_years:
        if not first < int(y) <= LAST_PRE_YEAR:
            continue
        spec = EstimateSpec(method, treated=f"placebo_{int(y)}", inference=inf, reps=reps, seed=seed,
                            years=(first, LAST_PRE_YEAR), placebo_units=pu)
        plan.append(PlannedEstimate(f"{method}_{inf}__placebo_{int(y)}", "placebo_year",
                                    f"placebo_{int(y)}_{LAST_PRE_YEAR}", spec, FRAME_FILE,
                                    frame.attrs.get("control_pool", "default"),
                                    f"placebo adoption in {int(y)} (pre-period {first}-{LAST_PRE_YEAR} only)"))
    spec = EstimateSpec(method, inference=inf, reps=reps, seed=seed, years=pilot, placebo_units=pu)
    plan.append(PlannedEstimate(f"{method}_{inf}", "robustness", _window_term(pilot), spec, FRAME_FILE,
                                frame.attrs.get("control_pool", "default"), "baseline (default control pool)"))
    for file in frames or {}:
        if file == FRAME_FILE:
            continue
        name = file[len("frame_"):-len(".parquet")]
        pool = "default" if file == BREAKS_KEEP_FILE else name
        text = ("default pool keeping municipalities whose series break in the window"
                if file == BREAKS_KEEP_FILE else f"control pool: {pool}")
        plan.append(PlannedEstimate(f"{method}_{inf}__{name}", "robustness", _window_term(pilot),
                                    spec.with_(), file, pool, text))
    plan.append(PlannedEstimate("event_study", "event_study", "event_time",
                                EstimateSpec("event-study", inference="cluster", seed=seed, years=pilot),
                                FRAME_FILE, frame.attrs.get("control_pool", "default")))
    return plan


def robustness(model: str, outcome: str, *, output_dir, run_id: str = "interactive", start_year: int = 2010,
               end_year: int = 2018, placebo_years: Iterable[int] = (2012, 2013),
               control_pools: Iterable[str] = ("keep_other_pilots", "same_region", "matched"),
               breaks_keep: bool = True, seed: int = 20150105, ri_reps: int = RI_REPS, wild_reps: int = WILD_REPS,
               mde_reps: int = MDE_REPS, panel_path=None) -> dict:
    """One robustness run: the steps of notebook ``30_robustness`` in one call."""
    out = Path(output_dir)
    panel = load_panel(panel_path)
    frame = save_frame(add_placebo_adoptions(analysis_frame(panel, model, outcome, start_year=start_year,
                                                            end_year=end_year), placebo_years), out)
    frames = variant_frames(panel, frame, control_pools, output_dir=out, breaks_keep=breaks_keep)
    plan = robustness_plan(frame, placebo_years=placebo_years, seed=seed, ri_reps=ri_reps, wild_reps=wild_reps,
                           frames=frames)
    estimates = fit_estimates(plan, frames)
    honest = honest_did_bounds(estimates.get("event_study"), seed=seed)
    power_block = power(frame, seed=seed, reps=mde_reps)
    results = write_robustness(out, run_id=run_id, model=model, outcome=outcome, frame=frame,
                               estimates=estimates, honest=honest, power_block=power_block)
    return results


def write_robustness(output_dir, *, run_id: str, model: str, outcome: str, frame: pd.DataFrame,
                     estimates: Estimates, honest: dict, power_block: dict) -> dict:
    """``results.json`` (kind ``robustness``), ``tables/robustness.*``, ``tables/honest_did.*``,
    ``figures/honest_did.png``."""
    from . import tables

    out = Path(output_dir)
    results = evaluation_results(run_id=run_id, model=model, outcome=outcome, frame=frame, estimates=estimates,
                                 kind="robustness", honest=honest, power_block=power_block,
                                 size={"reason": "in the evaluation run of this model and outcome"})
    results["event_study"] = None
    results["robustness"] = {"checks": [{k: r[k] for k in ("id", "role", "variant", "control_pool", "estimate",
                                                            "ci_low", "ci_high", "p_value")}
                                        for r in results["estimates"]]}
    if "rows" in honest:
        results["robustness"]["honest_did"] = honest["rows"]
        tables.write_table(pd.DataFrame(honest["rows"]), out / "tables" / "honest_did")
        _honest_did_figure(honest, out / "figures" / "honest_did.png")
    tables.write_table(estimates.to_frame(), out / "tables" / "robustness")
    write_results(out, results)
    return results


def figure_files(output_dir) -> list[Path]:
    """The figures a run wrote (``figures/*.png``), sorted."""
    return sorted((Path(output_dir) / "figures").glob("*.png"))


def _honest_did_figure(honest: dict, path: Path) -> Path:
    """Relative-magnitude intervals by Mbar, the conventional interval first."""
    import matplotlib.pyplot as plt

    from .plots.style import CONTROL_COLOR, TREATED_COLOR, apply_style
    from .plots.trends import _save

    apply_style()
    rows = pd.DataFrame(honest["rows"])
    orig = rows[rows["method"] == "original"].iloc[0]
    rest = rows[rows["method"] != "original"]
    fig, ax = plt.subplots()
    x0 = float(rest["mbar"].min()) - 0.5
    ax.errorbar([x0], [(orig.ci_low + orig.ci_high) / 2], yerr=[[(orig.ci_high - orig.ci_low) / 2]], fmt="o",
                color=CONTROL_COLOR, capsize=4, label="Conventional 95% CI")
    ax.errorbar(rest["mbar"], (rest["ci_low"] + rest["ci_high"]) / 2, yerr=(rest["ci_high"] - rest["ci_low"]) / 2,
                fmt="s", color=TREATED_COLOR, capsize=4, label="Robust 95% CI (relative magnitudes)")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks([x0, *rest["mbar"]], ["Orig.", *[f"{m:g}" for m in rest["mbar"]]])
    ax.set_xlabel("M̄ (post-period trend violation relative to the largest pre-period change)")
    ax.set_ylabel(f"Effect {ADOPTION_YEAR}–{PILOT_END}")
    ax.legend()
    return _save(fig, path)
