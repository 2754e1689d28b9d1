"""Aggregations of ATT(g,t) as R ``did::aggte`` (2.5.0): simple, dynamic, group, calendar.

Weights are cohort shares P(G=g); the influence function of each aggregate includes the
estimation effect of the weights (R ``wif``), so analytic SEs match R to rounding.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError, choices_message
from analysis.estimators.staggered.att_gt import AttGtResult, analytic_se, mboot
from analysis.results import Design, EstimationResult

TYPES = ("simple", "dynamic", "group", "calendar")


def _wif(keepers, pg, G, group):
    """Influence function of the weights (R did ``wif``)."""
    ind = np.column_stack([(G == group[k]).astype(float) - pg[k] for k in keepers])
    s = pg[keepers].sum()
    if1 = ind / s
    if2 = ind.sum(axis=1)[:, None] * (pg[keepers] / s**2)[None, :]
    return if1 - if2


def _agg_if(att, inf, which, w, wif=None):
    out = inf[:, which] @ w
    if wif is not None:
        out = out + wif @ att[which]
    return out


def aggte(
    res: AttGtResult, type: str = "group", *, balance_e: int | None = None,
    min_e: float = -math.inf, max_e: float = math.inf, bstrap: bool | None = None,
    biters: int | None = None, cband: bool | None = None, alp: float | None = None,
    seed: int | None = None, na_rm: bool = False,
) -> EstimationResult:
    """Aggregate ATT(g,t). Params: ``"ATT"`` (overall) then ``"e=..."``, ``"g=..."`` or
    ``"t=..."`` for the disaggregated effects. ``details["table"]`` holds the latter
    (columns label/att/se/ci_lower/ci_upper), ``details["overall"]`` the overall figure."""
    if type not in TYPES:
        raise InputError(choices_message("aggregation type", type, TYPES))
    o = res.options
    bstrap = o["bstrap"] if bstrap is None else bstrap
    cband = o["cband"] if cband is None else cband
    alp = o["alp"] if alp is None else alp
    biters = o["biters"] if biters is None else biters
    seed = o["seed"] if seed is None else seed
    att = res.params.to_numpy(dtype=float)
    inf = res.inffunc
    group, t = res.groups, res.times
    if np.isnan(att).any():
        if not na_rm:
            raise InputError("missing ATT(g,t); pass na_rm=True to drop them")
        ok = ~np.isnan(att)
        att, inf, group, t = att[ok], inf[:, ok], group[ok], t[ok]
    G = res.G
    n = len(G)
    glist = np.sort(np.unique(group))
    pg_g = np.array([np.mean(G == g) for g in glist])
    pg = pg_g[np.searchsorted(glist, group)]
    tlist = o["tlist"]
    cl = res.cluster

    def se_of(psi):
        psi = np.atleast_2d(np.asarray(psi).T).T
        if bstrap:
            s, c, _ = mboot(psi, biters=biters, alp=alp, seed=seed, cluster=cl)
            return s, c
        return analytic_se(psi, cl), float("nan")

    labels, effs, effinf = [], [], []
    if type == "simple":
        keep = np.nonzero((group <= t) & (t <= group + max_e))[0]
        w = pg[keep] / pg[keep].sum()
        overall = float(att[keep] @ w)
        oinf = _agg_if(att, inf, keep, w, _wif(keep, pg, G, group))
    elif type == "group":
        ginf = []
        for g in glist:
            wg = np.nonzero((group == g) & (g <= t) & (t <= group + max_e))[0]
            effs.append(float(np.mean(att[wg])))
            ginf.append(_agg_if(att, inf, wg, np.full(len(wg), 1 / len(wg))))
            labels.append(f"g={g:g}")
        effinf = ginf
        E = np.array(effs)
        I = np.column_stack(ginf)
        overall = float(E @ pg_g / pg_g.sum())
        wif = _wif(np.arange(len(glist)), pg_g, G, glist)
        oinf = _agg_if(E, I, np.arange(len(glist)), pg_g / pg_g.sum(), wif)
    elif type == "dynamic":
        e_all = t - group
        incl = np.ones(len(att), dtype=bool)
        eseq = np.unique(e_all)
        if balance_e is not None:
            incl = (tlist[-1] - group) >= balance_e
            eseq = np.unique(e_all[incl])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tlist[-1] + tlist[0])]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        for e in eseq:
            we = np.nonzero((e_all == e) & incl)[0]
            w = pg[we] / pg[we].sum()
            effs.append(float(att[we] @ w))
            effinf.append(_agg_if(att, inf, we, w, _wif(we, pg, G, group)))
            labels.append(f"e={e:g}")
        E = np.array(effs)
        pos = np.nonzero(eseq >= 0)[0]
        if len(pos) == 0:
            raise InputError("no post-treatment event time in the window")
        overall = float(np.mean(E[pos]))
        oinf = np.column_stack(effinf)[:, pos] @ np.full(len(pos), 1 / len(pos))
    else:  # calendar
        ctl = tlist[tlist >= group.min()]
        for t1 in ctl:
            wt = np.nonzero((t == t1) & (group <= t))[0]
            w = pg[wt] / pg[wt].sum()
            effs.append(float(att[wt] @ w))
            effinf.append(_agg_if(att, inf, wt, w, _wif(wt, pg, G, group)))
            labels.append(f"t={t1:g}")
        overall = float(np.mean(effs))
        oinf = np.column_stack(effinf) @ np.full(len(effs), 1 / len(effs))

    ose, _ = se_of(oinf)
    ose = float(ose[0])
    zcrit = stats.norm.ppf(1 - alp / 2)
    names = ["ATT"] + labels
    params = [overall] + effs
    ses = [ose]
    crit = zcrit
    if effinf:
        eI = np.column_stack(effinf)
        s, c = se_of(eI)
        s = np.where(s <= math.sqrt(np.finfo(float).eps) * 10, np.nan, s)
        ses += list(s)
        if bstrap and cband and np.isfinite(c):
            crit = c
    p = pd.Series(params, index=names)
    se = pd.Series(ses, index=names)
    crits = pd.Series([zcrit] + [crit] * len(labels), index=names)
    ci = pd.DataFrame({"lower": p - crits * se, "upper": p + crits * se})
    table = pd.DataFrame({"label": labels, "att": effs, "se": ses[1:],
                          "ci_lower": ci["lower"].to_numpy()[1:],
                          "ci_upper": ci["upper"].to_numpy()[1:]})
    key = {"group": "group", "dynamic": "event_time", "calendar": "time"}.get(type)
    if key:
        table.insert(0, key, [float(s.split("=")[1]) for s in labels])
    d = res.design
    design = Design(
        estimator=f"{d.estimator}_aggte_{type}", inference=d.inference, n_units=d.n_units,
        n_treated_units=d.n_treated_units, n_periods=d.n_periods, n_clusters=d.n_clusters,
        cluster=d.cluster, control_pool=d.control_pool, years=d.years, outcome=d.outcome,
        extra={**dict(d.extra), "aggregation": type, "balance_e": balance_e,
               "critical_value": float(crit)},
    )
    return EstimationResult(
        p, se, design, ci=ci, ci_level=1 - alp, nobs=res.nobs, warnings=list(res.warnings),
        details={"overall": {"att": overall, "se": ose}, "table": table.to_dict("records"),
                 "type": type},
    )
