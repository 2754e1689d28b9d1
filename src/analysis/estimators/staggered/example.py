"""Worked staggered-adoption example: municipal nurse-visit copayments (Haaga et al. 2024).

Adoption dates: ``nurse_copay_adoption_2011_2019_haaga2024.csv`` (via
:func:`analysis.sources.load_nurse_copay`, sha256-checked). Outcome: a column of the shipped
municipal panel (:func:`analysis.sources.load_haaga_panel`, 2010-2018). The panel ships no
nurse-visit counts, so the default outcome is primary-care outpatient costs per capita
(EUR), the closest shipped series.

Cohort = calendar year of the copayment's introduction (first year with any exposure).
Municipalities adopting after the last panel year (2019) are never treated within the window.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.estimators.staggered.aggte import aggte
from analysis.estimators.staggered.att_gt import att_gt
from analysis.estimators.staggered.bacon import bacon
from analysis.estimators.staggered.imputation import imputation
from analysis.estimators.staggered.sun_abraham import sun_abraham

DEFAULT_OUTCOME = "primary_care_outpatient_costs_eur_per_capita"
KW = dict(yname="y", tname="year", idname="kunta", gname="cohort")


def copay_cohorts(directory=None) -> pd.DataFrame:
    """One row per municipality: kunta, cohort (first exposed year; 0 = not adopted by 2019)."""
    from analysis.sources import load_nurse_copay

    a = load_nurse_copay(directory)
    a["intro_year"] = a["introduction_date"].dt.year
    g = a.groupby("kunta").agg(adopted=("adopted", "max"), intro=("intro_year", "min"))
    g["cohort"] = np.where(g["adopted"].fillna(0).astype(int) == 1, g["intro"].fillna(0), 0)
    return g.reset_index()[["kunta", "cohort"]].astype({"cohort": int})


def copay_panel(outcome: str = DEFAULT_OUTCOME, directory=None) -> pd.DataFrame:
    """Balanced long panel kunta, year, y, cohort (cohorts after the last year set to 0)."""
    from analysis.sources import load_haaga_panel

    p = load_haaga_panel(directory)
    if outcome not in set(p["variable"]):
        raise ValueError(f"unknown outcome {outcome!r}; valid: {sorted(set(p['variable']))}")
    y = p[p["variable"] == outcome][["kunta", "year", "value"]].rename(columns={"value": "y"})
    y["y"] = pd.to_numeric(y["y"], errors="coerce")
    y["year"] = y["year"].astype(int)
    df = y.merge(copay_cohorts(directory), on="kunta", how="inner").dropna(subset=["y"])
    T = df["year"].nunique()
    full = df.groupby("kunta")["year"].transform("size") == T
    df = df[full].copy()
    last = df["year"].max()
    df.loc[df["cohort"] > last, "cohort"] = 0
    return df.sort_values(["kunta", "year"]).reset_index(drop=True)


def compare(df: pd.DataFrame, control_group: str = "notyettreated") -> dict:
    """TWFE vs CS vs SA vs imputation on ``copay_panel`` output; Bacon decomposition.

    Returns {"overall": DataFrame, "event_study": {label: DataFrame}, "bacon": result,
    "cs": AttGtResult, "pretest": dict}."""
    from analysis.estimators.staggered.pretest import pretest

    b = bacon(df, **KW)
    cs_r = att_gt(df, control_group=control_group, **KW)
    cs_s = aggte(cs_r, "simple")
    cs_d = aggte(cs_r, "dynamic")
    sa = sun_abraham(df, **KW)
    imp = imputation(df, **KW)
    overall = pd.DataFrame([
        {"estimator": "TWFE (static)", "att": b.params["att"], "se": np.nan},
        {"estimator": "Callaway-Sant'Anna (simple)", "att": cs_s.params["ATT"], "se": cs_s.std_errors["ATT"]},
        {"estimator": "Sun-Abraham (IW)", "att": sa.params["att"], "se": sa.std_errors["att"]},
        {"estimator": "Imputation (BJS)", "att": imp.params["att"], "se": imp.std_errors["att"]},
    ])
    cs_tab = pd.DataFrame(cs_d.details["table"]).rename(columns={"att": "estimate"})
    es = {"Callaway-Sant'Anna": cs_tab[["event_time", "estimate", "se", "ci_lower", "ci_upper"]],
          "Sun-Abraham": pd.DataFrame(sa.details["event_study"]),
          "Imputation": pd.DataFrame(imp.details["event_study"])}
    return {"overall": overall, "event_study": es, "bacon": b, "cs": cs_r, "pretest": pretest(cs_r)}
