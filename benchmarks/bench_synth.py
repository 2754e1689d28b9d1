"""Synthetic control vs pysyncon ``Synth`` (Basque data), SC with in-space placebos on the full
donor pool of the real panel, and SDID vs ``synthdid`` 0.10 (PyPI): same data, same process,
interleaved repetitions (benchmarks/_harness.py). ``ratio = peer seconds / our seconds``.

synthdid 0.10.1's own estimator (``Synthdid(...).fit()``, and its placebo SE) fails on pandas 3
(``groupby.apply`` drops the grouping column) and its ``vcov`` ignores ``n_reps`` (always 50), so
the SDID peer runs synthdid's own solver and steps (``synthdid.solver.sc_weight_fw``,
``collapse_form``, ``sparsify_function``, noise level and zetas as in its ``SDID.fit``) on the
panel matrix: one estimate plus the same number of placebo re-estimates (Algorithm 4: controls
permuted, the last N1 controls placebo-treated), as its ``placebo_se`` does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from _harness import ROOT, interleaved, load, real_frame, row

BASQUE = ROOT / "tests" / "reference" / "basque" / "basque.csv"
TREATED = "Basque Country (Pais Vasco)"
PREDICTORS = ["school.illit", "school.prim", "school.med", "school.high", "school.post.high", "invest"]
SECTORS = ["sec.agriculture", "sec.energy", "sec.industry", "sec.construction",
           "sec.services.venta", "sec.services.nonventa"]
SDID_REPS = 200


def _sc_basque_row() -> dict:
    from analysis.estimators.synthetic_control import synthetic_control

    before = load()
    df = pd.read_csv(BASQUE)
    df["treat"] = ((df.regionname == TREATED) & (df.year >= 1975)).astype(int)
    special = ([("gdpcap", range(1960, 1970), "mean")]
               + [(c, range(1961, 1970, 2), "mean") for c in SECTORS] + [("popdens", [1969], "mean")])

    def ours():
        return synthetic_control(
            df, unit="regionname", time="year", outcome="gdpcap", treated="treat",
            predictors=PREDICTORS, predictor_window=range(1964, 1970), special_predictors=special,
            optimization_window=range(1960, 1970), inference="none")

    peer, name = None, "pysyncon"
    try:
        from importlib.metadata import version

        from pysyncon import Dataprep, Synth

        controls = [r for r in df.regionname.unique() if r != TREATED]
        dp = Dataprep(foo=df, predictors=PREDICTORS, predictors_op="mean",
                      time_predictors_prior=range(1964, 1970), special_predictors=special,
                      dependent="gdpcap", unit_variable="regionname", time_variable="year",
                      treatment_identifier=TREATED, controls_identifier=controls,
                      time_optimize_ssr=range(1960, 1970))

        def peer():
            s = Synth()
            s.fit(dataprep=dp, optim_method="Nelder-Mead", optim_initial="equal")
            return s

        name = f"pysyncon {version('pysyncon')} Synth"
    except Exception as exc:
        name = f"pysyncon unavailable ({type(exc).__name__})"
    ours_s, res, peer_s, s = interleaved(ours, peer, repeats=3, budget_s=60)
    note = f"Cataluna weight ours {res.details['weights']['Cataluna']:.4f}"
    if s is not None:
        note += f" / pysyncon {float(s.weights(round=6).get('Cataluna', np.nan)):.4f}"
    return row("SC, Basque (17 donors, nested V/W, no placebos)", ours_s, name, peer_s, note,
               load_before=before)


def _sc_full_pool_row() -> dict:
    """In-space placebos over the full control pool of a real frame (every donor refitted)."""
    from analysis.estimators.synthetic_control import synthetic_control

    before = load()
    frame = real_frame("youth_guarantee", "unemployment_rate")  # the largest pool
    donors = frame.loc[frame["treated_group"] == 0, "kunta"].nunique()
    kw = dict(unit="kunta", time="year", outcome="outcome", treated="treated",
              v_method="equal", inference="placebo")
    synthetic_control(frame[frame["kunta"].isin(frame["kunta"].unique()[:12])
                            | (frame["treated_group"] == 1)], **kw)  # compile / load the solver
    ours_s, res, _, _ = interleaved(lambda: synthetic_control(frame, **kw), repeats=3)
    return row(f"SC + in-space placebos, full pool ({donors} donors, real panel)", ours_s, None,
               None, f"p = {res.pvalues['att']:.4f} (rank of {donors + 1}); no peer runs this "
               "in reasonable time (pysyncon: one nested fit of 17 donors takes seconds)",
               target="<= 1 s", load_before=before)


def _sim(n0=38, n1=1, T=31, T0=19, seed=0):
    """Prop 99-sized panel: 38 control + 1 treated unit, 31 years, 19 pre-periods."""
    rng = np.random.default_rng(seed)
    y = (rng.normal(size=(n0 + n1, 1)) + rng.uniform(0.5, 1.5, (n0 + n1, 1)) * rng.normal(size=T).cumsum()
         + rng.normal(scale=0.3, size=(n0 + n1, T)))
    unit = np.repeat(np.arange(n0 + n1), T)
    t = np.tile(np.arange(T), n0 + n1)
    d = ((unit >= n0) & (t >= T0)).astype(int)
    return pd.DataFrame({"unit": unit, "time": 1970 + t, "outcome": y.ravel() + 2.0 * d,
                         "treatment": d})


def _synthdid_core_tau(Y: np.ndarray, N0: int, T0: int) -> float:
    """synthdid 0.10.1's own solver and steps (its SDID.fit body) on a unit x time matrix."""
    from synthdid.solver import sc_weight_fw
    from synthdid.utils import collapse_form, sparsify_function, varianza

    N, T = Y.shape
    N1, T1 = N - N0, T - T0
    Yc = collapse_form(Y, N0, T0)
    noise = np.sqrt(varianza(np.diff(Y[:N0, :T0], axis=1).flatten()))
    zo, zl, md = (N1 * T1) ** 0.25 * noise, 1e-6 * noise, 1e-5 * noise
    Al, bl = Yc.iloc[:N0, :T0], Yc.iloc[:N0, T0]
    Ao, bo = Yc.T.iloc[:T0, :N0], Yc.T.iloc[:T0, N0]
    lam = sc_weight_fw(Al, bl, None, zeta=zl, min_decrease=md, max_iter=100)["params"]
    lam = sc_weight_fw(Al, bl, sparsify_function(lam), zeta=zl, min_decrease=md, max_iter=10000)["params"]
    om = sc_weight_fw(Ao, bo, None, zeta=zo, min_decrease=md, max_iter=100)["params"]
    om = sc_weight_fw(Ao, bo, sparsify_function(om), zeta=zo, min_decrease=md, max_iter=10000)["params"]
    wu = np.concatenate([-om, np.full(N1, 1 / N1)])
    wt = np.concatenate([-lam, np.full(T1, 1 / T1)])
    return float(wu @ Y @ wt)


def _synthdid_placebo(Y: np.ndarray, N0: int, T0: int, reps: int, seed: int = 0):
    """The estimate and ``reps`` placebo re-estimates with synthdid's solver (Algorithm 4)."""
    N1 = Y.shape[0] - N0
    tau = _synthdid_core_tau(Y, N0, T0)
    rng = np.random.default_rng(seed)
    draws = [_synthdid_core_tau(Y[:N0][rng.permutation(N0)], N0 - N1, T0) for _ in range(reps)]
    return tau, float(np.sqrt((reps - 1) / reps) * np.std(draws, ddof=1))


def _sdid_rows() -> list[dict]:
    from analysis.estimators.sdid import sdid_tau, synthetic_did

    df = _sim()
    Y = df.pivot(index="unit", columns="time", values="outcome").to_numpy()
    N0, T0 = 38, 19
    sdid_tau(Y, N0, T0)  # compile / load the solver once
    try:
        from importlib.metadata import version

        version_ = version("synthdid")
        peer_ok = True
    except Exception:
        version_, peer_ok = "missing", False
    rows = []
    before = load()
    ours_s, ours, peer_s, peer = interleaved(
        lambda: sdid_tau(Y, N0, T0)[0],
        (lambda: _synthdid_core_tau(Y, N0, T0)) if peer_ok else None, repeats=3)
    rows.append(row("SDID weights + tau, 39 x 31 matrix", ours_s, f"synthdid {version_} solver",
                    peer_s, f"tau ours {ours:.10f} / synthdid {peer:.10f}" if peer is not None
                    else "", load_before=before))
    before = load()
    kw = dict(unit="unit", time="time", outcome="outcome", treated="treatment")
    ours_s, res, peer_s, peer = interleaved(
        lambda: synthetic_did(df, inference="placebo", reps=SDID_REPS, **kw),
        (lambda: _synthdid_placebo(Y, N0, T0, SDID_REPS)) if peer_ok else None,
        repeats=2, budget_s=60)
    note = f"tau {res.params['att']:.6f}, placebo SE ours {res.std_errors['att']:.4f}"
    if peer is not None:
        note += (f" / synthdid {peer[1]:.4f} (the same placebo draws: one seeded permutation "
                 f"stream); tau synthdid {peer[0]:.6f}")
    rows.append(row(f"SDID + {SDID_REPS} placebo reps, Prop 99-sized (39 units x 31 years)",
                    ours_s, f"synthdid {version_} solver", peer_s, note, target=">= 10x",
                    load_before=before))
    return rows


def run() -> list[dict]:
    return [_sc_basque_row(), _sc_full_pool_row(), *_sdid_rows()]


if __name__ == "__main__":  # pragma: no cover
    import sys

    rows = _sdid_rows() if "--sdid" in sys.argv else run()
    print(pd.DataFrame(rows).to_string())
