"""Coverage audit of the panel: per variable, years covered, municipalities, missing share."""
from __future__ import annotations

import pandas as pd

from .outcomes import LABELS, OUTCOME_VARIABLES

AUDIT_VARIABLES = (*OUTCOME_VARIABLES, "population", "share_65_plus")


def coverage(panel: pd.DataFrame, variables=None, mainland_only: bool = False) -> pd.DataFrame:
    """One row per variable: variable, label, first_year, last_year, years (count with any
    data), municipalities (with any data), missing_share (share of municipality-years missing
    within first..last year)."""
    data = panel[~panel["aland"]] if mainland_only and "aland" in panel else panel
    variables = [v for v in (variables or AUDIT_VARIABLES) if v in data.columns]
    rows = []
    for v in variables:
        have = data[v].notna()
        years = sorted(data.loc[have, "year"].unique())
        if years:
            window = data[data["year"].between(years[0], years[-1])]
            missing = float(window[v].isna().mean())
        else:
            missing = 1.0
        rows.append({
            "variable": v, "label": LABELS.get(v, v),
            "first_year": int(years[0]) if years else None,
            "last_year": int(years[-1]) if years else None,
            "years": len(years),
            "municipalities": int(data.loc[have, "kunta"].nunique()),
            "missing_share": round(missing, 4),
        })
    return pd.DataFrame(rows)


def coverage_table(panel: pd.DataFrame, **kwargs) -> str:
    """The audit as an aligned terminal table."""
    from tabulate import tabulate

    cov = coverage(panel, **kwargs)
    cov["years covered"] = [f"{a}-{b}" if a is not None else "-" for a, b in zip(cov["first_year"], cov["last_year"])]
    cov["missing"] = [f"{100 * m:.1f} %" for m in cov["missing_share"]]
    shown = cov[["variable", "years covered", "years", "municipalities", "missing"]]
    return tabulate(shown, headers="keys", tablefmt="simple", showindex=False,
                    colalign=("left", "left", "right", "right", "right"))
