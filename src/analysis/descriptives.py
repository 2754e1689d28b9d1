"""Notebook calls of the data audit (``00_data_audit``) and the descriptives of a model
(``10_descriptives``): tables and figures written into a run folder.

They orchestrate: the numbers come from :mod:`analysis.audit` (coverage, structural breaks),
:mod:`analysis.design` (the comparison design of each outcome, the analysis frame) and the
tabulations below (pre-period means and SDs, missing data), which only summarise frames.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from . import atomic, registry
from .study import ADOPTION_YEAR, REFERENCE_YEAR

#: covariates summarised next to the outcome in the pre-period table
SUMMARY_COVARIATES = ("population", "share_65_plus", "unemployment_rate")


def _panel(panel_path=None) -> pd.DataFrame:
    from . import paths
    from .panel import read_panel

    return read_panel(Path(panel_path) if panel_path else paths.PANEL_FILE)


def _clean(v):
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _write_json(path: Path, data: dict) -> Path:
    return atomic.write_text(path, json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n")


def _years(start_year, end_year):
    if start_year is None and end_year is None:
        return None
    return range(int(start_year if start_year is not None else 2006), int(end_year if end_year is not None else 2023) + 1)


# ------------------------------------------------------------------------------------------
# tabulations
# ------------------------------------------------------------------------------------------
def pre_period_summary(panel: pd.DataFrame, frame: pd.DataFrame, variables: Iterable[str] = SUMMARY_COVARIATES,
                       adoption_year: int = ADOPTION_YEAR) -> pd.DataFrame:
    """Pre-period (years before ``adoption_year``) means and SDs of treated and control
    municipalities of an analysis frame: per variable (the outcome first) and group, the number
    of municipalities, the mean and SD across municipalities of their pre-period means, and the
    standardised difference (difference / sqrt of the mean of the two variances)."""
    outcome = frame.attrs.get("outcome", "outcome")
    pre = frame[frame["year"] < adoption_year][["kunta", "year", "treated_group", "outcome"]]
    extra = [v for v in variables if v in panel.columns and v != outcome]
    pre = pre.merge(panel[["kunta", "year", *extra]], on=["kunta", "year"], how="left")
    by_unit = pre.groupby("kunta").agg({"treated_group": "first", "outcome": "mean", **{v: "mean" for v in extra}})
    years = sorted(pre["year"].unique())
    rows = []
    for v in ["outcome", *extra]:
        t = by_unit.loc[by_unit["treated_group"] == 1, v].dropna()
        c = by_unit.loc[by_unit["treated_group"] == 0, v].dropna()
        sd = math.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2) if len(t) > 1 and len(c) > 1 else float("nan")
        diff = t.mean() - c.mean()
        rows.append({
            "variable": outcome if v == "outcome" else v,
            "pre_years": f"{years[0]}-{years[-1]}" if years else "",
            "n_treated": len(t), "treated_mean": t.mean(), "treated_sd": t.std(ddof=1),
            "n_control": len(c), "control_mean": c.mean(), "control_sd": c.std(ddof=1),
            "difference": diff, "std_difference": diff / sd if sd and sd > 0 else float("nan"),
        })
    return pd.DataFrame(rows)


def _runs(years: list[int]) -> str:
    if not years:
        return ""
    out, start, prev = [], years[0], years[0]
    for y in years[1:] + [None]:
        if y is None or y != prev + 1:
            out.append(str(start) if start == prev else f"{start}-{prev}")
            if y is not None:
                start = y
        if y is not None:
            prev = y
    return ", ".join(out)


def missing_data_table(panel: pd.DataFrame, variables: Iterable[str], *, mainland_only: bool = True,
                       known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which municipalities and years lack each variable inside the years the variable covers
    (its first to last year with any data), and why: the Kainuu regional experiment (the
    region ran the service; from ``known_breaks.csv``), a merged unit whose parts did not all
    report before the merger, or no value published by the source.

    Columns: variable, kunta, municipality_name, missing_years, n_missing, reason. Years
    outside a variable's coverage are not listed (see the coverage table)."""
    from .audit import known_breaks
    from .municipalities import mergers

    known = known_breaks() if known is None else known
    data = panel[~panel["aland"].astype(bool)] if mainland_only and "aland" in panel else panel
    names = data.drop_duplicates("kunta").set_index("kunta")["municipality_name"].to_dict() \
        if "municipality_name" in data else {}
    merged = mergers(2005)
    merged = merged.assign(year=merged["date"].dt.year)
    rows = []
    for v in variables:
        if v not in data.columns:
            continue
        have = data.loc[data[v].notna(), "year"]
        if have.empty:
            continue
        window = data[data["year"].between(int(have.min()), int(have.max()))]
        gaps = window[window[v].isna()].groupby("kunta")["year"].apply(lambda s: sorted(int(y) for y in s))
        for code, years in gaps.items():
            reason = "no value published by the source for these years"
            k = known[(known["variable"] == v) & (known["kunta"] == code) & (known["kind"] == "institutional")]
            later = merged[(merged["joined_to_code"] == code) & (merged["year"] > min(years))]
            if len(k) and max(years) < int(k["break_year"].min()):
                reason = "Kainuu regional self-government experiment 2005-2012 (law 343/2003): the region ran " \
                         "the service, no municipal series" if "Kainuu" in " ".join(k["reason"]) else k["reason"].iloc[0]
            elif len(later):
                parts = ", ".join(f"{r.abolished_name_fi} ({r.year})" for r in later.itertuples())
                reason = (f"merged unit on the 2023 division (joined later: {parts}); a year is missing unless "
                          "every part has a value")
            rows.append({"variable": v, "kunta": code, "municipality_name": names.get(code, ""),
                         "missing_years": _runs(years), "n_missing": len(years), "reason": reason})
    return pd.DataFrame(rows, columns=["variable", "kunta", "municipality_name", "missing_years", "n_missing", "reason"])


def design_exclusions(design: dict) -> pd.DataFrame:
    """The exclusions of a design that depend on the outcome (series breaks, incomplete
    series) and the flagged treated municipalities, one row each."""
    rows = []
    for code, reason in design["excluded"].items():
        if reason.startswith(("series break", "incomplete")):
            rows.append({"outcome": design["outcome"], "kunta": code, "action": "excluded from controls"
                         if "treated municipality" not in reason else "treated municipality dropped (no data)",
                         "reason": reason})
    for flag in design.get("treated_break_flags", []):
        rows.append({"outcome": design["outcome"], "kunta": flag["kunta"],
                     "action": f"treated ({flag['unit']}), kept and flagged",
                     "reason": f"series break in {flag['year']}: {flag['reason']}"})
    return pd.DataFrame(rows, columns=["outcome", "kunta", "action", "reason"])


# ------------------------------------------------------------------------------------------
# notebook calls
# ------------------------------------------------------------------------------------------
def data_audit(*, output_dir, run_id: str = "interactive", panel_path=None) -> dict:
    """The data audit into ``output_dir``: ``tables/coverage``, ``tables/breaks`` (every
    structural break: rule flags and known breaks, with reason and source), ``tables/
    break_exclusions`` (for each model's outcomes in the default design: which municipalities
    leave the comparison group and which treated ones are flagged), ``tables/missing_data``,
    ``tables/registry``, ``tables/sources``; ``audit.json`` (everything as data)."""
    from . import paths, tables
    from .audit import BreakRule, audit_dict, coverage, structural_breaks
    from .design import design_for
    from .outcomes import CATALOGUE, OUTCOME_VARIABLES, label

    out = Path(output_dir)
    panel = _panel(panel_path)
    cov = coverage(panel, mainland_only=True)
    tables.write_table(cov, out / "tables" / "coverage")
    rule = BreakRule()
    breaks = structural_breaks(panel, rule=rule)
    shown = breaks[["variable", "kunta", "municipality_name", "year", "log_change", "detected_by", "kind", "status",
                    "reason"]].assign(change_percent=lambda d: 100 * np.expm1(d["log_change"]))
    tables.write_table(shown.drop(columns="log_change"), out / "tables" / "breaks", floatfmt=".1f")
    exclusion_rows = []
    summary_rows = []
    for model, entry in CATALOGUE.items():
        for outcome in (*entry.outcomes, *entry.secondary):
            if outcome not in panel.columns:
                continue
            try:
                design = design_for(panel, model, outcome).to_dict()
            except Exception as exc:  # an outcome without a usable window: say so, keep auditing
                summary_rows.append({"model": model, "outcome": outcome, "years": "", "n_controls": None,
                                     "excluded_for_breaks": None, "treated_flagged": None, "note": str(exc)})
                continue
            ex = design_exclusions(design).assign(model=model)
            exclusion_rows.append(ex)
            breaks_out = [k for k, r in design["excluded"].items() if r.startswith("series break")]
            summary_rows.append({
                "model": model, "outcome": outcome, "years": f"{design['years'][0]}-{design['years'][1]}",
                "n_controls": design["n_control_municipalities"], "excluded_for_breaks": len(breaks_out),
                "treated_flagged": len({f["kunta"] for f in design["treated_break_flags"]}),
                "note": ", ".join(sorted(breaks_out))})
    exclusions = pd.concat(exclusion_rows, ignore_index=True) if exclusion_rows else pd.DataFrame()
    if len(exclusions):
        exclusions = exclusions[["model", "outcome", "kunta", "action", "reason"]]
    tables.write_table(pd.DataFrame(summary_rows), out / "tables" / "break_design_summary")
    tables.write_table(exclusions, out / "tables" / "break_exclusions")
    missing = missing_data_table(panel, [v for v in OUTCOME_VARIABLES if v in panel.columns])
    tables.write_table(missing, out / "tables" / "missing_data")
    reg = registry.registry_frame()
    per_model = reg.groupby("model_id").agg(units=("unit_id", "nunique"), members=("member_fi", "nunique"))
    tables.write_table(per_model.reindex(registry.models()).reset_index(), out / "tables" / "registry")
    manifest = paths.RAW / "MANIFEST.csv"
    if manifest.is_file():
        tables.write_table(pd.read_csv(manifest), out / "tables" / "sources")
    summary = {
        "run_id": run_id,
        "n_municipalities": int(panel["kunta"].nunique()),
        "years": [int(panel["year"].min()), int(panel["year"].max())],
        "n_units": len(registry.units()), "n_pilot_municipalities": len(registry.municipalities()),
        "n_models": len(registry.models()), "n_unit_model_pairs": len(registry.unit_model_pairs()),
        "n_break_rows": int(len(breaks)),
        "break_design_summary": summary_rows,
        "labels": {v: label(v) for v in OUTCOME_VARIABLES},
        "audit": audit_dict(panel, breaks, rule, mainland_only=True),
    }
    _write_json(out / "audit.json", summary)
    # the run contract: every run of the plan writes results.json (schema 2); the audit's data is audit.json
    _write_json(out / "results.json", {
        "schema": 2, "run_id": run_id, "kind": "audit", "model": None, "outcome": None,
        "estimates": [], "event_study": None,
        "notes": ["data audit: sources, coverage, structural breaks and missing data (audit.json, tables/)"],
    })
    return {k: summary[k] for k in ("run_id", "n_municipalities", "years", "n_break_rows")}


def describe_model(model: str, outcomes: Iterable[str] | None = None, *, output_dir, run_id: str = "interactive",
                   control_pool: str = "default", start_year: int | None = None, end_year: int | None = None,
                   breaks: str = "exclude", panel_path=None) -> dict:
    """Descriptives of one model on each outcome's own design: ``tables/composition``,
    ``tables/pre_period_summary`` (pre-period means and SDs, treated vs control, every outcome
    with the covariates), ``tables/missing_data`` (the model's outcomes), ``tables/
    design_exclusions`` (controls that left for a series break or an incomplete series,
    flagged treated municipalities), ``figures/trends_<outcome>.png`` (raw and indexed to
    2014), ``descriptives.json`` and ``results.json`` (kind ``descriptives``)."""
    from . import tables
    from .design import analysis_frame
    from .outcomes import label, model_outcomes
    from .plots import trends as trend_plots

    out = Path(output_dir)
    panel = _panel(panel_path)
    entry = model_outcomes(model)
    outcomes = [o for o in (list(outcomes) if outcomes else [*entry.outcomes, *entry.secondary]) if o in panel.columns]
    reg = registry.registry_frame()
    composition = (reg[reg["model_id"] == model][["unit_fi", "kuntanumero", "member_fi"]]
                   .rename(columns={"unit_fi": "pilot unit", "kuntanumero": "code", "member_fi": "member"})
                   .fillna({"code": "–"}))
    tables.write_table(composition, out / "tables" / "composition")
    years = _years(start_year, end_year)
    summaries, exclusions, designs = [], [], {}
    for outcome in outcomes:
        frame = analysis_frame(panel, model, outcome, control_pool=control_pool, years=years, breaks=breaks)
        design = frame.attrs["design"]
        designs[outcome] = design
        summaries.append(pre_period_summary(panel, frame).assign(outcome=outcome))
        exclusions.append(design_exclusions(design))
        plot = pd.DataFrame({"year": frame["year"], "y": frame["outcome"], "treated": frame["treated_group"] == 1})
        unit = _unit(outcome)
        trend_plots.trends_figure(plot, label(outcome), unit, out / "figures" / f"trends_{outcome}.png")
        if REFERENCE_YEAR in set(plot["year"]):
            trend_plots.trends_figure(plot, label(outcome), "index, 2014 = 100",
                                      out / "figures" / f"trends_indexed_{outcome}.png", index_year=REFERENCE_YEAR)
    summary = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()
    if len(summary):
        summary = summary[["outcome", *[c for c in summary.columns if c != "outcome"]]]
    tables.write_table(summary, out / "tables" / "pre_period_summary")
    excl = pd.concat(exclusions, ignore_index=True) if exclusions else pd.DataFrame()
    tables.write_table(excl, out / "tables" / "design_exclusions")
    missing = missing_data_table(panel, outcomes)
    tables.write_table(missing, out / "tables" / "missing_data")
    info = {"run_id": run_id, "model": model, "outcomes": outcomes, "control_pool": control_pool, "breaks": breaks,
            "designs": designs, "pre_period_summary": summary.to_dict(orient="records")}
    _write_json(out / "descriptives.json", info)
    headline = outcomes[0] if outcomes else None
    d = designs.get(headline) or {}
    _write_json(out / "results.json", {
        "schema": 2, "run_id": run_id, "kind": "descriptives", "model": model, "outcome": None,
        "outcomes": outcomes,
        "design": {"control_pool": control_pool, "treated_units": d.get("treated_units", []),
                   "n_treated_units": d.get("n_treated_units"),
                   "n_treated_municipalities": d.get("n_treated_municipalities"),
                   "n_control_municipalities": d.get("n_control_municipalities"), "years": d.get("years"),
                   "excluded": _reason_counts(d.get("excluded", {})),
                   "treated_break_flags": d.get("treated_break_flags", [])} if d else None,
        "estimates": [], "event_study": None,
        "notes": [f"descriptive run: composition, trends, pre-period means and SDs and missing data of "
                  f"{len(outcomes)} outcome(s), each on its own comparison design (breaks: {breaks}); no estimation"],
    })
    return {"run_id": run_id, "model": model, "outcomes": outcomes}


def _reason_counts(excluded: dict) -> dict:
    counts: dict[str, int] = {}
    for reason in excluded.values():
        key = reason.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    return counts


def _unit(outcome: str) -> str:
    try:
        from .panel import _VAR_INFO

        return _VAR_INFO[outcome][2]
    except KeyError:
        return ""
