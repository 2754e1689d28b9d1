"""Goodman-Bacon (2021) decomposition of the static TWFE coefficient (balanced panel).

Every pair of timing groups (never-treated: share treated 0; always-treated: 1) gives up to two
2x2 DiDs: earlier-vs-later ("k vs l", window before l is treated) and later-vs-earlier
("l vs k", window after k is treated, the 'forbidden' comparison). Weights follow Goodman-Bacon
(2021, eq. 10) and sum to one; sum(weight * estimate) equals the TWFE coefficient exactly.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from analysis.estimators.staggered._common import twfe_beta, wide_panel
from analysis.results import Design, EstimationResult


def _did(Y, a, b, pre, post):
    return (Y[a][:, post].mean() - Y[a][:, pre].mean()) - (Y[b][:, post].mean() - Y[b][:, pre].mean())


def bacon(data: pd.DataFrame, *, yname: str, tname: str, idname: str, gname: str) -> EstimationResult:
    """Decompose TWFE. ``details["components"]``: rows {treated, control, type, estimate,
    weight}; ``details["by_type"]``: weight and weighted mean per comparison type."""
    _, times, Y, G = wide_panel(data, yname=yname, tname=tname, idname=idname, gname=gname)
    n, T = Y.shape
    D = (times[None, :] >= G[:, None]).astype(float)
    beta = twfe_beta(Y, D)
    groups = sorted(np.unique(G), key=lambda g: -np.inf if g <= times[0] else g)
    share = {g: (G == g).mean() for g in groups}
    dbar = {g: (times >= g).mean() for g in groups}
    rows = []
    for k, l in itertools.combinations(groups, 2):
        if dbar[k] < dbar[l]:
            k, l = l, k
        if dbar[k] == dbar[l]:
            continue
        nk, nl, dk, dl = share[k], share[l], dbar[k], dbar[l]
        nkl = nk / (nk + nl)
        ik, il = G == k, G == l
        label_k = "always" if dk == 1 else f"{k:g}"
        label_l = "never" if dl == 0 else f"{l:g}"
        typ = "treated vs never" if dl == 0 else ("earlier vs later" if dk < 1 else "vs always treated")
        if dk < 1:  # k treated vs l not yet treated
            w = ((nk + nl) * (1 - dl)) ** 2 * nkl * (1 - nkl) * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl)
            pre, post = times < k, (times >= k) & (times < l)
            rows.append(dict(treated=label_k, control=label_l, type=typ,
                             estimate=_did(Y, ik, il, pre, post), weight=w))
        if dl > 0:  # l treated vs k already treated
            w = ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * dl / dk * (dk - dl) / dk
            win = times >= k
            pre, post = win & (times < l), times >= l
            rows.append(dict(treated=f"{l:g}", control=label_k,
                             type="later vs always treated" if dk == 1 else "later vs earlier",
                             estimate=_did(Y, il, ik, pre, post), weight=w))
    comp = pd.DataFrame(rows)
    comp["weight"] = comp["weight"] / comp["weight"].sum()
    recon = float((comp.weight * comp.estimate).sum())
    by = comp.groupby("type").apply(
        lambda f: pd.Series({"weight": f.weight.sum(),
                             "estimate": (f.weight * f.estimate).sum() / f.weight.sum()}),
        include_groups=False).reset_index()
    design = Design(estimator="bacon_decomposition", inference="none (decomposition)",
                    n_units=n, n_treated_units=int(np.isfinite(G).sum()), n_periods=T,
                    outcome=yname, years=(int(times[0]), int(times[-1])))
    return EstimationResult(
        {"att": beta}, {"att": float("nan")}, design, nobs=n * T,
        details={"components": comp.to_dict("records"), "by_type": by.to_dict("records"),
                 "twfe": beta, "reconstructed": recon},
    )
