"""Size and coverage of inference methods on a real layout, by placebo simulation.

Before a method is trusted on a design with few treated clusters, its rejection rate under a
true null should be checked on the data at hand (MacKinnon & Webb 2017, 2018; Ferman & Pinto
2019; Conley & Taber 2011 use the same idea). Here, on the pre-period only (``time < before``),
treatment is re-assigned ``draws`` times to placebo units shaped like the real treated units
(:mod:`.placebo_units`: same number of units, same sizes, each a group of neighbouring control
units and one cluster), treated from a fake adoption time ``fake_adoption`` inside the
pre-period. The true effect is zero, so a method with correct size rejects at 5% in about 5% of
draws and its 95% interval covers zero in about 95%.

Each draw runs the public estimators exactly as the report does. The draws share the rows of
one pre-period panel and differ only in their treatment and cluster columns, so the panel is
validated and factorised once (:func:`analysis.estimators.did.prepare_panel`) and each draw is
fitted by the estimator's own fit on it with the draw's two columns swapped in
(:meth:`~analysis.estimators.did.PanelDesign.with_assignment`, :func:`~analysis.estimators.did.fit_twfe`;
SDID draws by :func:`analysis.estimators.sdid.placebo_fits`): the same numbers, bit for bit, as
the public estimators called on each draw's frame (tests/test_size_prepared.py). The methods:

- ``"cluster"``: TWFE with CR1 cluster-robust SE, ``t(G-1)``
  (:func:`analysis.estimators.did.twfe_did`);
- ``"wild"``: TWFE with the wild cluster restricted bootstrap (p-value and interval by test
  inversion; coverage = share of draws where the interval covers 0);
- ``"ri"``: TWFE randomization inference (RI-t) over placebo units among the remaining control
  units;
- ``"ri_scattered"``: randomization inference re-assigning treatment to scattered single units
  (every unit its own cluster, coefficient statistic), shown for contrast: it ignores the group
  structure of the assignment;
- ``"placebo"``: synthetic DiD with a placebo standard error and a normal interval
  (:func:`analysis.estimators.sdid.synthetic_did`). For speed the placebo SE of a draw is the
  spread of the SDID estimates of all *other* simulated draws (Algorithm 4 of Arkhangelsky et
  al. 2021 with the simulation's own shaped placebo assignments as its placebo pool; they
  share control units with the draw, which carry no effect), instead of a fresh set of
  placebo fits per draw. Its rejection rate therefore checks the normal approximation of the
  placebo distribution, given the right spread; it does not check how well ``reps`` placebo
  fits estimate that spread.

Bootstrap and randomization draws per simulated assignment default to 399 and 199: with
``(B + 1)·alpha`` an integer the tests have exact size at ``alpha`` under exchangeability, and
fewer draws only lose a little power (Davidson & MacKinnon 2000), which is what keeps a size
study of 200 assignments per layout at tens of seconds. Returns a tidy table: ``method, estimator, inference, draws, rejection_rate, coverage, mc_se``
(Monte-Carlo SE of the rejection rate, ``sqrt(p(1-p)/draws)``), ``layout`` and
``placebo_units``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, choices_message, require_columns
from .placebo_units import PlaceboDraws, PlaceboUnits, draw_placebo_units, treated_layout

SIZE_METHODS = ("cluster", "wild", "ri", "ri_scattered", "placebo")
_ESTIMATOR = {"cluster": "twfe", "wild": "twfe", "ri": "twfe", "ri_scattered": "twfe",
              "placebo": "sdid"}
_INFERENCE = {"cluster": "cluster", "wild": "wild", "ri": "ri", "ri_scattered": "ri",
              "placebo": "placebo"}
#: a method whose rejection rate at 5% exceeds this is not a headline inference
OVER_REJECTION = 0.10


@dataclass
class SizeResult:
    """The size table and the per-draw outcomes behind it."""

    table: pd.DataFrame
    draws: pd.DataFrame = field(repr=False)
    layout: tuple[int, ...] = ()
    placebo_units: dict | None = None
    fake_adoption: float | None = None
    alpha: float = 0.05
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """``results.json`` rows (``estimator``, ``inference``, ``draws``, ``rejection_rate``,
        ``coverage``, ``mc_se``, ``layout``)."""
        return self.table.to_dict(orient="records")

    def to_dict(self) -> dict:
        return {"rows": self.rows(), "layout": list(self.layout),
                "placebo_units": self.placebo_units, "fake_adoption": self.fake_adoption,
                "alpha": self.alpha, "warnings": list(self.warnings)}

    def over_rejecting(self, threshold: float = OVER_REJECTION) -> list[str]:
        """Methods whose rejection rate exceeds ``threshold`` on this layout."""
        return self.table.loc[self.table.rejection_rate > threshold, "method"].tolist()

    def _repr_html_(self) -> str:  # pragma: no cover - display only
        return self.table.to_html(index=False, float_format=lambda v: f"{v:.3f}")


def size_simulation(
    frame: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    fake_adoption: float,
    before: float,
    cluster: str = "cluster",
    treated_group: str = "treated_group",
    sizes: Sequence[int] | None = None,
    placebo_units: PlaceboUnits | None = None,
    methods: Sequence[str] = ("cluster", "wild", "ri", "placebo"),
    draws: int = 200,
    seed: int = 0,
    wild_reps: int = 399,
    ri_reps: int = 199,
    alpha: float = 0.05,
) -> SizeResult:
    """Rejection rate at ``alpha`` and interval coverage of each method under a true null.

    ``frame``: long panel with ``unit``, ``time``, ``outcome``, ``cluster``, ``treated_group``
    (1 for units of the real treated clusters) and the columns of ``placebo_units``. Only rows
    with ``time < before`` and control units are used; ``fake_adoption`` (inside that window,
    with at least two periods before it) starts the placebo treatment. ``sizes``: the real
    layout (units per treated cluster); by default read from ``frame``.
    """
    from ..estimators.did import fit_twfe, prepare_panel

    spec = placebo_units or PlaceboUnits()
    methods = list(dict.fromkeys(methods))
    bad = [m for m in methods if m not in SIZE_METHODS]
    if bad:
        raise InputError(choices_message("size method", bad[0], SIZE_METHODS))
    if draws < 20:
        raise InputError(f"size simulation needs at least 20 draws, got {draws}")
    panel = placebo_panel(frame, unit=unit, time=time, outcome=outcome,
                          fake_adoption=fake_adoption, before=before, cluster=cluster,
                          treated_group=treated_group, sizes=sizes, placebo_units=spec,
                          draws=draws, seed=seed)
    layout, pre = panel.layout, panel.pre
    kw = dict(unit=unit, time=time, outcome=outcome, treated="treated", cluster="cluster")
    # Every draw shares the rows of ``pre``; only the treatment and cluster columns change. The
    # panel is validated and factorised once (prepare_panel) and each draw is fitted by the
    # public estimator's own fit on the prepared panel with the draw's two columns swapped in
    # (PanelDesign.with_assignment): twfe_did(data, ...) is fit_twfe(prepare_panel(data), ...).
    base = None
    sdid = _SDIDDraws(panel, kw) if "placebo" in methods else None
    records = []
    for d in range(panel.n_draws):
        treated, cl = panel.columns(d)
        rec = {"draw": d}
        designs: dict = {}
        for m in methods:
            if m == "placebo":
                rec["placebo_estimate"] = sdid.estimate(d)
                continue
            try:
                scattered = m == "ri_scattered"  # every unit its own cluster
                if scattered not in designs:
                    cluster_of = panel.base_cluster if scattered else cl
                    try:
                        if base is None:
                            base = designs[scattered] = prepare_panel(
                                pre.assign(treated=treated, cluster=cluster_of), **kw)
                        else:
                            designs[scattered] = base.with_assignment(treated, cluster_of)
                    except InputError as exc:
                        designs[scattered] = exc
                design = designs[scattered]
                if isinstance(design, InputError):
                    raise design
                if m == "cluster":
                    r = fit_twfe(design, inference="cluster", level=1 - alpha)
                elif m == "wild":
                    r = fit_twfe(design, inference="wild", reps=wild_reps, seed=seed + d,
                                 level=1 - alpha)
                elif m == "ri":
                    r = fit_twfe(design, inference="ri", reps=ri_reps, seed=seed + d,
                                 placebo_units=spec, level=1 - alpha, placebo_data=pre)
                else:  # ri_scattered: coefficient statistic
                    r = fit_twfe(design, inference="ri", reps=ri_reps, seed=seed + d,
                                 ri_statistic="coef", level=1 - alpha)
            except InputError as exc:  # e.g. the wild bootstrap with one treated cluster
                rec[f"{m}_error"] = str(exc)
                continue
            rec[f"{m}_estimate"] = float(r.params["att"])
            rec[f"{m}_p"] = float(r.pvalues["att"])
            lo, hi = r.conf_int().loc["att"]
            rec[f"{m}_covers"] = bool(lo <= 0 <= hi)
        records.append(rec)
    assignments = panel.assignments
    per_draw = pd.DataFrame(records)
    warnings: list[str] = []
    if "placebo" in methods:
        _sdid_placebo_columns(per_draw, assignments.members, alpha)
        warnings.append("SDID placebo SE of a draw from the other simulated draws (shared "
                        "placebo pool): checks the normal approximation, not the SE's noise")
    rows = []
    for m in methods:
        if f"{m}_p" not in per_draw or per_draw[f"{m}_p"].isna().all():
            errors = per_draw.get(f"{m}_error", pd.Series(dtype=object)).dropna()
            why = errors.iloc[0] if len(errors) else "no p-value on this layout"
            warnings.append(f"{m}: not available on this layout ({why})")
            continue
        ok = per_draw[f"{m}_p"].notna()
        n = int(ok.sum())
        rej = float((per_draw.loc[ok, f"{m}_p"] < alpha).mean())
        cov = float(per_draw.loc[ok, f"{m}_covers"].astype(bool).mean())
        rows.append({"method": m, "estimator": _ESTIMATOR[m], "inference": _INFERENCE[m],
                     "draws": n, "rejection_rate": rej, "coverage": cov,
                     "mc_se": float(np.sqrt(rej * (1 - rej) / n)) if n else float("nan"),
                     "layout": list(layout), "placebo_units": spec.construction})
    table = pd.DataFrame(rows, columns=["method", "estimator", "inference", "draws",
                                        "rejection_rate", "coverage", "mc_se", "layout",
                                        "placebo_units"])
    return SizeResult(table, per_draw, layout, spec.to_dict(), float(fake_adoption), alpha,
                      warnings)


@dataclass
class PlaceboPanel:
    """The pre-period panel of a size simulation and its placebo assignments: ``pre`` (rows of
    control units before ``before``, integer unit codes) and, per draw, the treatment and
    cluster columns of the placebo units (:meth:`columns`)."""

    pre: pd.DataFrame
    layout: tuple[int, ...]
    assignments: "PlaceboDraws"
    unit_pos: np.ndarray  # per row of ``pre``: position of its unit in ``assignments.units``
    post: np.ndarray  # per row: time >= fake adoption
    base_cluster: np.ndarray  # per row: its unit's own cluster

    @property
    def n_draws(self) -> int:
        return len(self.assignments.members)

    def placebo_label(self, d: int) -> np.ndarray:
        """Per unit: the placebo unit (group) of draw ``d`` it belongs to, ``-1`` if none."""
        label = np.full(len(self.assignments.units), -1)
        label[self.assignments.members[d]] = self.assignments.group_of_column
        return label

    def columns(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Treatment (0/1) and cluster column of draw ``d``: each placebo unit one cluster,
        treated from the fake adoption on; every other unit its own cluster."""
        row_label = self.placebo_label(d)[self.unit_pos]
        treated = ((row_label >= 0) & self.post).astype(int)
        cluster = np.where(row_label >= 0, len(self.assignments.units) + row_label,
                           self.base_cluster)
        return treated, cluster


def placebo_panel(frame: pd.DataFrame, *, unit: str, time: str, outcome: str,
                  fake_adoption: float, before: float, cluster: str, treated_group: str,
                  sizes: Sequence[int] | None, placebo_units: PlaceboUnits, draws: int,
                  seed: int) -> PlaceboPanel:
    """The pre-period panel and ``draws`` placebo assignments of :func:`size_simulation`."""
    spec = placebo_units
    require_columns(frame, (unit, time, outcome, cluster, treated_group))
    layout = tuple(int(s) for s in (sizes if sizes is not None else
                                    treated_layout(frame, unit=unit, cluster=cluster,
                                                   treated_group=treated_group)))
    pre = frame[(frame[time] < before) & (frame[treated_group].astype(float) == 0)]
    times = np.sort(pre[time].unique())
    if np.sum(times < fake_adoption) < 2 or np.sum(times >= fake_adoption) < 1:
        raise InputError(f"fake adoption {fake_adoption} needs at least two periods before it and "
                         f"one from it on in the pre-period {list(times)}")
    cols = list(dict.fromkeys([unit, time, outcome, *spec.columns]))
    pre = pre[cols].reset_index(drop=True)
    # pandas deep-copies ``attrs`` (an analysis frame's design record) on every operation on
    # the frame; the estimators do not read them
    pre.attrs = {}
    # integer unit codes: the estimators' results do not depend on labels, and string labels
    # cost more than the fits on panels of a few hundred units
    pre[unit] = pd.factorize(pre[unit], sort=True)[0]
    assignments = draw_placebo_units(pre, unit=unit, sizes=layout, reps=draws, seed=seed,
                                     placebo_units=spec, enumerate_if_feasible=False)
    unit_pos = assignments.units.get_indexer(pre[unit])
    post = pre[time].to_numpy() >= fake_adoption
    return PlaceboPanel(pre, layout, assignments, unit_pos, post, unit_pos.astype(np.int64))


class _SDIDDraws:
    """SDID estimates of the draws of a :class:`PlaceboPanel`. Draw 0 is fitted by the public
    :func:`~analysis.estimators.sdid.synthetic_did` (its checks hold for every draw: the same
    rows, number of placebo-treated units and adoption time); every draw's estimate is that of
    ``synthetic_did`` on the draw's columns, computed by the same calls on the same outcome
    matrix (:func:`~analysis.estimators.sdid.placebo_fits`, rows: controls, then the
    placebo-treated units, each in label order)."""

    def __init__(self, panel: PlaceboPanel, kw: dict) -> None:
        from ..estimators.sdid import synthetic_did

        self.panel = panel
        treated, cl = panel.columns(0)
        first = synthetic_did(panel.pre.assign(treated=treated, cluster=cl), **kw,
                              inference="none")
        self.first = float(first.params["att"])
        self.adoption_time = first.details["adoption_time"]
        self.kw = kw
        self.estimates: np.ndarray | None = None

    def _fit_all(self) -> None:
        from ..estimators.panel_data import validate_panel
        from ..estimators.sdid import _outcome_matrix, placebo_fits

        panel, kw = self.panel, self.kw
        treated, cl = panel.columns(0)
        core = validate_panel(panel.pre.assign(treated=treated, cluster=cl), unit=kw["unit"],
                              time=kw["time"], outcome=kw["outcome"], treated=kw["treated"])
        units, _, times, Y = _outcome_matrix(core.assign(**{kw["treated"]: 0}), unit=kw["unit"],
                                             time=kw["time"], outcome=kw["outcome"],
                                             treated=kw["treated"])
        if not np.array_equal(np.asarray(units), panel.assignments.units.to_numpy()):
            raise RuntimeError("outcome matrix rows are not the placebo units' order")  # pragma: no cover
        T0 = int(np.sum(times < self.adoption_time))
        n_treated = sum(panel.layout)
        rows = []
        for d in range(panel.n_draws):
            placebo = panel.placebo_label(d) >= 0
            rows.append(np.r_[np.flatnonzero(~placebo), np.flatnonzero(placebo)])
        self.estimates = placebo_fits(Y, rows[1:], n_treated, T0).estimates

    def estimate(self, d: int) -> float:
        if d == 0:
            return self.first
        if self.estimates is None:
            self._fit_all()
        return float(self.estimates[d - 1])


def _sdid_placebo_columns(per_draw: pd.DataFrame, members: np.ndarray, alpha: float) -> None:
    """Placebo SE, p-value and coverage of each draw's SDID estimate from the other draws."""
    from scipy import stats

    est = per_draw["placebo_estimate"].to_numpy(float)
    n = len(members)
    z = stats.norm.ppf(1 - alpha / 2)
    p = np.full(n, np.nan)
    covers = np.zeros(n, dtype=bool)
    for d in range(n):
        pool = np.delete(est, d)
        if len(pool) < 2:
            continue
        se = float(np.sqrt((len(pool) - 1) / len(pool)) * np.std(pool, ddof=1))
        p[d] = 2 * stats.norm.sf(abs(est[d]) / se) if se > 0 else np.nan
        covers[d] = abs(est[d]) <= z * se
    per_draw["placebo_p"] = p
    per_draw["placebo_covers"] = covers
