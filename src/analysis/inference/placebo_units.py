"""Placebo units shaped like the treated units, for placebo-based inference.

Randomization inference, placebo standard errors and power simulations re-assign treatment to
units that were not treated. When treatment was assigned to *groups* of neighbouring units (a
treated cluster of ``k`` units), re-assigning it to ``k`` scattered units gives a placebo
distribution that is too narrow: spatially correlated shocks hit a neighbourhood together, so
a scattered placebo group averages them away while the real group does not, and the test
over-rejects. The placebo assignment must mimic the real one (Fisher 1935; Abadie, Diamond &
Hainmueller 2010, sec. 2.4, in-space placebos; MacKinnon & Webb 2020, randomization inference
with few treated clusters, which re-assigns whole clusters).

Construction (:class:`PlaceboUnits`): the real layout is the list of treated-cluster sizes
``(k_1, ..., k_m)`` in units. One placebo assignment is ``m`` disjoint groups of control units,
group ``j`` of size ``k_j``, each group one placebo cluster:

- ``"nearest"``: a group is a seed control unit together with its ``k - 1`` nearest control
  units by Euclidean distance on the coordinate columns ``(x, y)`` (ties broken by the k-d
  tree, deterministically). The candidate groups of size ``k`` are these neighbourhoods, one
  per seed, duplicates removed.
- ``"region"``: a group is ``k`` control units of one region label (every ``k``-subset of a
  region's control units is a candidate).

An assignment is drawn uniformly among the ordered tuples of pairwise disjoint candidate groups
(group ``j`` drawn from the candidates of size ``k_j``; rejection sampling of independent
uniform draws, so the distribution is exactly uniform). When the number of distinct
assignments (unordered in groups of equal size) is at most ``reps`` they are all enumerated
(exact test). With ``P`` placebo assignments plus the actual one, the smallest attainable
randomization p-value is ``1 / (P + 1)``.
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, choices_message, require_columns
from ..study import PLACEBO_CONSTRUCTIONS

#: enumeration is attempted only when the count of candidate tuples is at most this
_ENUMERATION_CAP = 200_000
#: give up when fewer than this share of independent draws are disjoint
_MIN_ACCEPTANCE = 1e-4


@dataclass(frozen=True)
class PlaceboUnits:
    """How placebo units are built from control units (see the module docstring).

    ``construction``: ``"nearest"`` (seed unit + its ``k - 1`` nearest control units by the
    coordinate columns ``x``, ``y``) or ``"region"`` (``k`` control units of one value of the
    column ``region``).
    """

    construction: str = "nearest"
    x: str = "x"
    y: str = "y"
    region: str = "region"

    def __post_init__(self) -> None:
        if self.construction not in PLACEBO_CONSTRUCTIONS:
            raise InputError(choices_message("placebo-unit construction", self.construction,
                                             PLACEBO_CONSTRUCTIONS))

    @property
    def columns(self) -> tuple[str, ...]:
        """The frame columns the construction reads."""
        return (self.x, self.y) if self.construction == "nearest" else (self.region,)

    def describe(self) -> str:
        if self.construction == "nearest":
            return (f"placebo units of the treated units' sizes, each a seed control unit and its "
                    f"nearest control units by ({self.x}, {self.y})")
        return f"placebo units of the treated units' sizes, each drawn within one {self.region!r}"

    def to_dict(self) -> dict:
        return {"construction": self.construction, "x": self.x, "y": self.y,
                "region": self.region}

    @classmethod
    def from_dict(cls, d: dict | None) -> "PlaceboUnits | None":
        if d is None:
            return None
        return cls(**{k: d[k] for k in ("construction", "x", "y", "region") if k in d})


@dataclass
class PlaceboDraws:
    """Placebo assignments among control units.

    ``members`` (P x sum(sizes)) holds control-unit positions (into ``units``), the first
    ``sizes[0]`` columns forming placebo unit 0, the next ``sizes[1]`` unit 1, and so on;
    ``group_of_column`` maps each column to its placebo unit.
    """

    units: pd.Index
    sizes: tuple[int, ...]
    members: np.ndarray
    enumerated: bool
    placebo_units: PlaceboUnits
    n_candidates: dict = field(default_factory=dict)

    @property
    def n_draws(self) -> int:
        return int(self.members.shape[0])

    @property
    def min_p_value(self) -> float:
        """Smallest attainable randomization p-value: ``1 / (P + 1)`` (actual assignment
        counted once)."""
        return 1.0 / (self.n_draws + 1)

    @property
    def group_of_column(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.sizes)), self.sizes)

    def labels(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """Dense (p x n_units) int array: ``-1`` outside the placebo units, ``j`` in unit ``j``."""
        m = self.members if rows is None else self.members[rows]
        out = np.full((m.shape[0], len(self.units)), -1, dtype=np.int32)
        np.put_along_axis(out, m, np.broadcast_to(self.group_of_column, m.shape).astype(np.int32),
                          axis=1)
        return out

    def treated(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """Dense (p x n_units) boolean: placebo-treated units."""
        return self.labels(rows) >= 0

    def to_dict(self) -> dict:
        return {**self.placebo_units.to_dict(), "sizes": list(self.sizes),
                "draws": self.n_draws, "enumerated": self.enumerated,
                "min_p_value": self.min_p_value}


def treated_layout(frame: pd.DataFrame, *, unit: str, cluster: str, treated_group: str) -> tuple[int, ...]:
    """Sizes (units per cluster) of the treated clusters, largest first."""
    require_columns(frame, (unit, cluster, treated_group))
    units = frame.drop_duplicates(unit)
    tr = units[units[treated_group].astype(float) > 0]
    if tr.empty:
        raise InputError(f"no treated unit ({treated_group!r} > 0) in the data")
    return tuple(sorted((int(s) for s in tr.groupby(cluster)[unit].nunique()), reverse=True))


def unit_attributes(frame: pd.DataFrame, unit: str, columns: Sequence[str]) -> pd.DataFrame:
    """One row per unit (index ``unit``, sorted) with its placebo-unit attributes ``columns``,
    which must be present and constant within each unit (:class:`InputError` names the columns
    and units that are not): what placebo units are drawn from."""
    missing = [c for c in (unit, *columns) if c not in frame.columns]
    if missing:
        raise InputError(f"placebo units need column(s) {missing}; available: "
                         f"{', '.join(map(str, frame.columns))}")
    fast = _unit_attributes_by_codes(frame, unit, columns)
    if fast is not None:
        return fast
    g = frame[[unit, *columns]].groupby(unit, sort=True)
    varying = [c for c in columns if (g[c].nunique(dropna=False) > 1).any()]
    if varying:
        raise InputError(f"placebo-unit column(s) {varying} vary within a unit ({unit!r}); they "
                         "must be constant per unit")
    attrs = g.first()
    if attrs.isna().any().any():
        bad = attrs.index[attrs.isna().any(axis=1)][:5].tolist()
        raise InputError(f"placebo-unit column(s) {list(columns)} missing for unit(s) {bad}")
    return attrs


def _unit_attributes_by_codes(frame: pd.DataFrame, unit: str, columns: Sequence[str]):
    """:func:`unit_attributes` for numeric attribute columns: the row of each unit's first
    occurrence, units in sorted order (numeric unit codes by ``np.unique``, labels of a pandas
    string dtype by ``pd.factorize(sort=True)``, the grouped path's order), when every
    attribute is constant and present within each unit; ``None`` otherwise (the grouped path
    then names the problem)."""
    u = frame[unit]
    cols = [frame[c] for c in columns]
    if not all(isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf" for s in cols):
        return None
    if isinstance(u.dtype, np.dtype) and u.dtype.kind in "iuf":
        uv = u.to_numpy()
        if uv.dtype.kind == "f" and np.isnan(uv).any():
            return None
        units, first, codes = np.unique(uv, return_index=True, return_inverse=True)
        codes = codes.reshape(-1)
    elif isinstance(u.dtype, pd.StringDtype):
        codes, units = pd.factorize(u, sort=True)
        if len(codes) == 0 or (codes < 0).any():
            return None
        first = np.unique(codes, return_index=True)[1]
    else:
        return None
    for s in cols:
        v = s.to_numpy()
        if v.dtype.kind == "f" and np.isnan(v).any():
            return None
        if not np.array_equal(v, v[first][codes]):
            return None
    return pd.DataFrame({c: s.to_numpy()[first] for c, s in zip(columns, cols)},
                        index=pd.Index(units, name=unit))


#: :func:`_nearest_candidates` by content (coordinates and group size): the same control
#: units recur across the specifications and estimators of one run
_CANDIDATE_CACHE: dict[tuple, np.ndarray] = {}


def _nearest_candidates(coords: np.ndarray, k: int) -> np.ndarray:
    """(n_candidates x k) sorted unit positions: each unit with its k-1 nearest neighbours
    (read-only; cached by content)."""
    coords = np.ascontiguousarray(coords, dtype=float)
    key = (coords.shape, coords.tobytes(), int(k))
    found = _CANDIDATE_CACHE.get(key)
    if found is None:
        if len(_CANDIDATE_CACHE) >= 256:
            _CANDIDATE_CACHE.clear()
        found = _nearest_candidates_uncached(coords, k)
        found.flags.writeable = False
        _CANDIDATE_CACHE[key] = found
    return found


def _nearest_candidates_uncached(coords: np.ndarray, k: int) -> np.ndarray:
    from scipy.spatial import cKDTree

    n = len(coords)
    if k == 1:
        return np.arange(n)[:, None]
    _, idx = cKDTree(coords).query(coords, k=k)
    idx = np.sort(np.asarray(idx).reshape(n, k), axis=1)
    return np.unique(idx, axis=0)


class _Sampler:
    """Candidate groups of one size, drawn uniformly."""

    def __init__(self, k: int, codes: np.ndarray | None, candidates: np.ndarray | None):
        self.k = k
        self.candidates = candidates
        if codes is not None:  # region construction: implicit k-subsets of each region
            self.regions = [np.flatnonzero(codes == r) for r in range(int(codes.max()) + 1)]
            counts = np.array([math.comb(len(r), k) for r in self.regions], dtype=float)
            self.count = int(sum(math.comb(len(r), k) for r in self.regions))
            self.prob = counts / counts.sum() if counts.sum() > 0 else counts
        else:
            self.count = len(candidates)

    def explicit(self) -> np.ndarray:
        if self.candidates is None:
            rows = [c for r in self.regions for c in itertools.combinations(r.tolist(), self.k)]
            self.candidates = np.array(rows, dtype=np.int64).reshape(-1, self.k)
        return self.candidates

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.candidates is not None:
            return self.candidates[rng.integers(0, len(self.candidates), size=n)]
        region = rng.choice(len(self.regions), size=n, p=self.prob)
        out = np.empty((n, self.k), dtype=np.int64)
        for r in np.unique(region):
            rows = np.flatnonzero(region == r)
            pool = self.regions[r]
            keys = rng.random((len(rows), len(pool)))
            out[rows] = pool[np.argpartition(keys, self.k - 1, axis=1)[:, :self.k]]
        return out


def _disjoint(members: np.ndarray) -> np.ndarray:
    s = np.sort(members, axis=1)
    return ~np.any(s[:, 1:] == s[:, :-1], axis=1) if s.shape[1] > 1 else np.ones(len(s), bool)


def _enumerate(samplers: dict[int, _Sampler], sizes: tuple[int, ...]) -> np.ndarray:
    """All disjoint assignments, unordered within groups of equal size; columns follow ``sizes``."""
    need = Counter(sizes)
    classes = sorted(need)
    combos = [list(itertools.combinations(range(len(samplers[k].explicit())), need[k]))
              for k in classes]
    rows = []
    for choice in itertools.product(*combos):
        picked = {k: [samplers[k].candidates[i] for i in c] for k, c in zip(classes, choice)}
        row = np.concatenate([picked[k].pop(0) for k in sizes])
        if len(np.unique(row)) == len(row):
            rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, sum(sizes))


def draw_placebo_units(
    frame: pd.DataFrame,
    *,
    unit: str,
    sizes: Sequence[int],
    reps: int,
    seed: int = 0,
    placebo_units: PlaceboUnits | None = None,
    treated_group: str | None = None,
    exclude: Sequence | None = None,
    enumerate_if_feasible: bool = True,
) -> PlaceboDraws:
    """Draw ``reps`` placebo assignments shaped like the real layout ``sizes``.

    ``frame``: long or unit-level data with ``unit`` and the columns of ``placebo_units``;
    control units are those with ``treated_group`` 0 (when given) and not in ``exclude``.
    ``sizes``: units per treated cluster (see :func:`treated_layout`). All distinct
    assignments are returned instead when there are at most ``reps`` of them.
    """
    spec = placebo_units or PlaceboUnits()
    sizes = tuple(int(s) for s in sizes)
    if not sizes or min(sizes) < 1:
        raise InputError(f"placebo layout needs at least one treated unit of size >= 1, got {sizes}")
    if reps < 1:
        raise InputError(f"reps must be positive, got {reps}")
    data = frame
    if treated_group is not None:
        if treated_group not in frame.columns:
            raise InputError(f"column {treated_group!r} not in the data")
        data = data[data[treated_group].astype(float) == 0]
    if exclude is not None:
        data = data[~data[unit].isin(list(exclude))]
    attrs = unit_attributes(data, unit, spec.columns)
    units = attrs.index
    n = len(units)
    total = sum(sizes)
    if total > n:
        raise InputError(f"the layout needs {total} control units in {len(sizes)} placebo units "
                         f"(sizes {list(sizes)}) but only {n} control units exist")
    samplers: dict[int, _Sampler] = {}
    if spec.construction == "nearest":
        try:
            coords = attrs[[spec.x, spec.y]].to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"coordinate columns {spec.x!r}, {spec.y!r} must be numeric") from exc
        for k in set(sizes):
            samplers[k] = _Sampler(k, None, _nearest_candidates(coords, k))
    else:
        codes = pd.factorize(attrs[spec.region], sort=True)[0]
        for k in set(sizes):
            s = _Sampler(k, codes, None)
            if s.count == 0:
                largest = int(np.bincount(codes).max())
                raise InputError(
                    f"no region {spec.region!r} has {k} control units for a placebo unit of size "
                    f"{k} (largest region has {largest}); use construction 'nearest'")
            samplers[k] = s
    need = Counter(sizes)
    bound = math.prod(math.comb(samplers[k].count, need[k]) for k in need)
    if enumerate_if_feasible and bound <= max(reps, 1) and bound <= _ENUMERATION_CAP:
        members = _enumerate(samplers, sizes)
        if len(members) == 0:
            raise InputError(f"no disjoint placebo assignment of sizes {list(sizes)} exists among "
                             f"{n} control units")
        return PlaceboDraws(units, sizes, members, True, spec,
                            {k: samplers[k].count for k in need})
    rng = np.random.default_rng(seed)
    accepted: list[np.ndarray] = []
    got = tried = 0
    rate = 1.0
    while got < reps:
        batch = int(min(500_000 // max(total, 1) + 1, max(64, math.ceil((reps - got) / rate * 1.2))))
        draw = np.concatenate([samplers[k].draw(rng, batch) for k in sizes], axis=1)
        ok = draw[_disjoint(draw)]
        accepted.append(ok)
        got += len(ok)
        tried += batch
        rate = max(got / tried, _MIN_ACCEPTANCE / 10)
        if tried >= 10_000 and got / tried < _MIN_ACCEPTANCE:
            raise InputError(
                f"placebo units of sizes {list(sizes)} rarely fit disjointly among {n} control "
                f"units ({got} of {tried} draws); too few control units for this layout")
    members = np.concatenate(accepted)[:reps]
    return PlaceboDraws(units, sizes, members, False, spec, {k: samplers[k].count for k in need})
