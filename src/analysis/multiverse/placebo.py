"""Placebo assignments of the joint test and each specification's estimates under them.

Under the null of no effect anywhere, a placebo draw gives treatment to control municipalities
grouped like the pilot units; the real treated municipalities leave the panel. Each draw is
applied to every specification (Simonsohn, Simmons & Nelson 2020, § 4: the same null datasets
for the whole curve): in a specification's placebo frame the placebo units are the treated
group and that specification's own control set (less the placebo units) the comparison.

Placebo units are shaped like the pilot units (:mod:`analysis.inference.placebo_units`,
``nearest``: as many placebo units as treated clusters, with the same sizes, each a group of
neighbouring municipalities), as in every other placebo-based procedure of the project.
Assignments are drawn over the *placebo pool*: municipalities that are controls of the default
pool in every window of the grid, so that every draw can be applied to every specification.

The estimate of a specification on a placebo frame is its estimator's, from the estimators'
batched form (:mod:`analysis.estimators.batched`, pinned by tests to ``twfe_did``,
``event_study``, ``synthetic_did`` and ``synthetic_control``); this module only builds the
frames' unit sets.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import study
from ..errors import InputError, require_columns
from ..inference.placebo_units import PlaceboUnits, draw_placebo_units

#: the joint test's placebo units: groups of neighbouring municipalities
PLACEBO_UNITS = PlaceboUnits(construction="nearest")


def describe_construction() -> dict:
    """The joint test's placebo-unit construction, for ``summary.json``."""
    return {**PLACEBO_UNITS.to_dict(), "description": PLACEBO_UNITS.describe()}


def draw_assignments(pool: list[str], cluster_sizes: list[int], n_draws: int, seed: int,
                     units: pd.DataFrame) -> np.ndarray:
    """Placebo assignments: a ``draws x len(pool)`` int matrix, 0 = not placebo-treated,
    ``j`` = member of placebo unit ``j`` (1-based). ``units`` has one row per pool municipality
    (``kunta``) with its centroid ``x``, ``y``; placebo units are shaped like the pilot units
    (:func:`analysis.inference.placebo_units.draw_placebo_units`, ``nearest``: the same sizes,
    neighbouring municipalities; all assignments when there are at most ``n_draws``)."""
    if len(pool) < sum(cluster_sizes) + 2:
        raise InputError(f"placebo pool of {len(pool)} municipalities is too small for the "
                         f"layout {list(cluster_sizes)}")
    require_columns(units, ("kunta", PLACEBO_UNITS.x, PLACEBO_UNITS.y))
    data = units[units["kunta"].isin(pool)].drop_duplicates("kunta")
    draws = draw_placebo_units(data, unit="kunta", sizes=cluster_sizes, reps=n_draws, seed=seed,
                               placebo_units=PLACEBO_UNITS)
    labels = draws.labels() + 1                       # 0 = none, j = placebo unit j
    order = pd.Index(draws.units).get_indexer(pool)
    if (order < 0).any():
        raise InputError("every placebo-pool municipality needs a row with its centroid in the "
                         "placebo units' frame")
    return labels[:, order].astype(np.int16)


class SpecPanel:
    """A specification's balanced panel over its controls and the placebo pool, as the
    estimators' batched form takes it (:class:`analysis.estimators.batched.PanelCube`)."""

    def __init__(self, frame: pd.DataFrame, donor: pd.DataFrame, pool: list[str], outcome: str,
                 covariates=(), weights: str | None = None):
        from ..estimators.batched import PanelCube

        controls = frame.loc[frame["treated_group"].to_numpy() == 0]
        control_units = set(controls["kunta"].to_numpy(dtype=object))
        missing = set(pool) - control_units
        rows = controls
        if missing:
            rows = pd.concat([controls, donor[member_mask(donor["kunta"], missing)]], ignore_index=True)
        self.cube = PanelCube.from_frame(rows, unit="kunta", time="year", outcome=outcome,
                                         covariates=list(covariates), weights=weights)
        self.units = self.cube.units
        self.years = self.cube.times.astype(int)
        if len(rows) != len(self.units) * len(self.years) or not self.cube.balanced:
            raise InputError("placebo draws need a balanced panel")
        self.is_control = member_mask(self.units, control_units)
        self.pool_index = self.units.get_indexer(pool)
        if (self.pool_index < 0).any():
            raise InputError("a placebo-pool municipality is missing from the specification's window")

    def membership(self, assign: np.ndarray) -> np.ndarray:
        """Per draw and unit: placebo unit label (0 = none)."""
        labels = np.zeros((assign.shape[0], len(self.units)), dtype=np.int16)
        labels[:, self.pool_index] = assign
        return labels


def member_mask(labels, values: set) -> np.ndarray:
    """Whether each label is in ``values`` (``isin`` by a set: pandas' string ``isin`` converts
    every value to a pyarrow scalar first)."""
    return np.fromiter((v in values for v in np.asarray(labels, dtype=object)), dtype=bool,
                       count=len(labels))


#: control pools whose comparison units depend on who is treated: rebuilt around the placebo units
RESTRICTED_POOLS = ("same_region", "matched")


def restricted_comparisons(control_pool: str, panel: SpecPanel, donor: pd.DataFrame, outcome: str,
                           assign: np.ndarray,
                           n_matched: int = study.MATCHED_CONTROLS) -> np.ndarray:
    """Per draw, the units of the placebo frame of a ``same_region`` or ``matched``
    specification: the placebo units and the pool the design would have built had they been
    treated, by the design's own rules (:func:`analysis.design.same_region_pool`: controls in
    the placebo municipalities' maakunta; :func:`analysis.design.nearest_controls`: the
    ``n_matched`` nearest controls of every placebo municipality on pre-period ``outcome`` and
    size). Candidates are the controls of the default pool in the specification's window
    (``donor``, with the same break handling), which ``panel`` must span."""
    from .. import design

    if control_pool not in RESTRICTED_POOLS:
        raise InputError(f"control pool {control_pool!r} does not depend on the treated units; "
                         f"rebuilt pools: {', '.join(RESTRICTED_POOLS)}")
    units = np.asarray(panel.units, dtype=object)
    candidates = set(donor.loc[donor["treated_group"] == 0, "kunta"])
    if not set(units) <= candidates:
        raise InputError("the placebo frame's units must be controls of the default pool")
    labels = panel.membership(assign) > 0
    included = np.zeros_like(labels)
    position = {u: i for i, u in enumerate(units)}
    if control_pool == "same_region":
        region_of = donor.drop_duplicates("kunta").set_index("kunta")["region"].to_dict()
        for d in range(len(labels)):
            chosen = design.same_region_pool(units[labels[d]], units, region_of)
            included[d, [position[u] for u in chosen]] = True
    else:
        pre = [y for y in panel.years if y < study.ADOPTION_YEAR]
        matcher = design.NearestControls(design.matching_features(donor, outcome, units, pre))
        at = np.array([matcher.where.get(u, -1) for u in units], dtype=np.int64)  # unit -> feature row
        unit_of_row = np.full(len(matcher.codes), -1, dtype=np.int64)
        unit_of_row[at[at >= 0]] = np.flatnonzero(at >= 0)
        has = at >= 0
        for d in range(len(labels)):
            chosen = matcher.among_positions(at[labels[d] & has], at[~labels[d] & has], n_matched)
            included[d, unit_of_row[chosen]] = True
    return included | labels


#: fewest comparison units a rebuilt pool must leave in a placebo draw (SDID and synthetic
#: control need two; the design refuses an empty pool)
MIN_COMPARISON_UNITS = 2


def valid_draws(assign: np.ndarray, pool: list[str], region_of,
                min_controls: int = MIN_COMPARISON_UNITS) -> np.ndarray:
    """Per draw, whether the ``same_region`` design around its placebo units has at least
    ``min_controls`` controls among the placebo pool (:func:`analysis.design.same_region_pool`;
    the pool lies inside every specification's candidates, so a valid draw is valid for all)."""
    from .. import design

    units = np.asarray(pool, dtype=object)
    out = np.empty(len(assign), dtype=bool)
    for d in range(len(assign)):
        placebo = assign[d] > 0
        chosen = design.same_region_pool(units[placebo], units[~placebo], region_of)
        out[d] = len(chosen) >= min_controls
    return out


#: the joint test's estimators and their batched placebo form (analysis.estimators.batched)
BATCHED = {"twfe": "twfe_placebo", "event-study": "event_study_placebo",
           "sdid": "synthetic_did_placebo", "sc": "synthetic_control_placebo"}
#: the joint test's estimators whose batched fits also report their solver's convergence
FIT_REPORTS = {"sdid": "synthetic_did_placebo_fits"}


def placebo_fits(estimator: str, panel: SpecPanel, assign: np.ndarray,
                 included: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The estimator's estimate on each placebo frame of ``assign`` (a block of draws) and, for
    the estimators whose weights come from an iterative solver with a cap (:data:`FIT_REPORTS`:
    SDID's Frank-Wolfe), per draw whether it converged (``None`` for the others). The placebo
    units are treated from the adoption year on, the comparison is ``included`` (per draw and
    unit; default the specification's controls) less the placebo units."""
    from ..estimators import batched

    if estimator not in BATCHED:
        raise InputError(f"estimator {estimator!r} has no placebo draws in the joint test; "
                         f"valid choices: {', '.join(BATCHED)}")
    P = panel.membership(assign) > 0
    S = (panel.is_control[None, :] if included is None else included) | P
    kw = dict(unit="kunta", time="year", outcome="", placebo=P, included=S,
              adoption_time=study.ADOPTION_YEAR, cube=panel.cube)
    if estimator in FIT_REPORTS:
        fits = getattr(batched, FIT_REPORTS[estimator])(None, **kw)
        return fits.estimates, fits.converged
    return getattr(batched, BATCHED[estimator])(None, **kw), None


def placebo_estimates(estimator: str, panel: SpecPanel, assign: np.ndarray,
                      included: np.ndarray | None = None) -> np.ndarray:
    """The estimator's estimate on each placebo frame of ``assign`` (:func:`placebo_fits`
    without the convergence flags)."""
    return placebo_fits(estimator, panel, assign, included)[0]
