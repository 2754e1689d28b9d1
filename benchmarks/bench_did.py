"""TWFE with CR1 clustered SE against pyfixest ``feols`` and the wild cluster restricted
bootstrap against ``wildboottest``: same data, same process, interleaved repetitions
(benchmarks/_harness.py). ``ratio = peer seconds / our seconds``.

Data: the real panel (integrated-welfare frame: 8 treated pilot clusters, default control pool),
mpdta (Callaway & Sant'Anna 2021; 500 counties x 5 years) and a simulated panel shaped like the
design (292 clusters, 13 years). Each row's note records whether the peer's numbers match ours.
"""
from __future__ import annotations

from importlib.metadata import version

import numpy as np
import pandas as pd

from _harness import ROOT, interleaved, load, real_frame, row

BOOT_REPS = 9999
MPDTA = ROOT / "tests" / "reference" / "mpdta" / "mpdta.csv"


def _simulated():
    from analysis.simulate import simulate_panel

    sizes = np.ones(292, dtype=int)
    sizes[:16] = [2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 3]
    return simulate_panel(n_clusters=292, n_treated_clusters=8, sizes=sizes,
                          years=range(2006, 2019), seed=2015)


def _mpdta():
    d = pd.read_csv(MPDTA)
    d["treated"] = ((d["first.treat"] > 0) & (d["year"] >= d["first.treat"])).astype(int)
    return d


def _twfe_row(task, df, unit, time, outcome, treated, cluster):
    from analysis.estimators.did import twfe_did

    before = load()
    kw = dict(unit=unit, time=time, outcome=outcome, treated=treated, cluster=cluster)
    try:
        import pyfixest as pf

        formula = f"{outcome} ~ {treated} | {unit} + {time}"

        def peer():
            return pf.feols(formula, data=df, vcov={"CRV1": cluster})

        peer_name = f"pyfixest {pf.__version__} feols"
    except Exception as exc:  # peer missing: still report our time
        peer, peer_name = None, f"pyfixest unavailable ({type(exc).__name__})"
    ours_s, ours, peer_s, fit = interleaved(lambda: twfe_did(df, **kw), peer, repeats=7)
    note = ""
    if fit is not None:
        b, se = float(fit.coef()[treated]), float(fit.se()[treated])
        note = (f"att {ours.params['att']:.6f} vs {b:.6f} (diff {abs(ours.params['att'] - b):.1e}); "
                f"SE {ours.std_errors['att']:.6f} vs {se:.6f} "
                f"(rel diff {abs(ours.std_errors['att'] / se - 1):.1e})")
    return row(task, ours_s, peer_name, peer_s, note, target=">= 1.0x", load_before=before)


def run() -> list[dict]:
    from analysis.estimators.did import fwl_fit, prepare_panel
    from analysis.inference.wild_bootstrap import wild_cluster_bootstrap

    real = real_frame()
    rows = [
        _twfe_row(f"TWFE + CR1, real panel ({len(real):,} rows, {real['cluster'].nunique()} "
                  "clusters)", real, "kunta", "year", "outcome", "treated", "cluster"),
        _twfe_row("TWFE + CR1, mpdta (2,500 rows, 500 clusters)", _mpdta(), "countyreal", "year",
                  "lemp", "treated", "countyreal"),
    ]
    sim = _simulated()
    rows.append(_twfe_row(f"TWFE + CR1, simulated ({len(sim):,} rows, 292 clusters)", sim,
                          "unit", "year", "y", "treated", "cluster"))

    # --- wild cluster restricted bootstrap, 9,999 draws, same data and model ----------------
    before = load()
    des = prepare_panel(sim, unit="unit", time="year", outcome="y", treated="treated",
                        cluster="cluster")
    fit = fwl_fit(des, des.frame[["treated"]].to_numpy(float), des.k_absorbed())
    codes = des.cluster_codes
    periods, _ = des.bootstrap_absorbed()  # unit-demeaned period dummies: bootstrap regressors

    def ours():
        return wild_cluster_bootstrap(fit.X, fit.y, codes, absorbed=periods, reps=BOOT_REPS,
                                      weights="rademacher", seed=1, ci=False)[0]

    try:
        import statsmodels.api as sm
        from wildboottest.wildboottest import wildboottest as wbt

        # the same model: treatment and period columns (unit effects, nested in the clusters,
        # partialled out)
        columns = {"treated": fit.X[:, 0]} | {f"period_{j}": periods[:, j]
                                              for j in range(periods.shape[1])}
        model = sm.OLS(fit.y, pd.DataFrame(columns))

        def peer():
            return wbt(model, B=BOOT_REPS, cluster=codes, param="treated",
                       weights_type="rademacher", seed=1, show=False)

        peer_name = f"wildboottest {version('wildboottest')}"
    except Exception as exc:
        peer, peer_name = None, f"wildboottest unavailable ({type(exc).__name__})"
    ours_s, res, peer_s, out = interleaved(ours, peer, repeats=3)
    note = ""
    if out is not None:
        p_peer = float(np.asarray(out["p-value"]).ravel()[0])
        note = f"p ours {res.p_value:.4f} vs {p_peer:.4f} (different random draws)"
    rows.append(row(f"wild cluster bootstrap p-value, B = {BOOT_REPS:,}, 292 clusters", ours_s,
                    peer_name, peer_s, note, load_before=before))
    return rows


if __name__ == "__main__":  # pragma: no cover
    print(pd.DataFrame(run()).to_string())
