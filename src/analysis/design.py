"""Comparison designs (evaluation guide § 2) and the analysis frame estimators consume.

Default rules: treated = registry municipalities of the model (harmonised division);
control pool = mainland municipalities that took part in no pilot model. Excluded: Åland
(own social-services legislation) and, unless ``keep_other_pilots``, municipalities of other
pilot models. Treatment was assigned to pilot units, so ``cluster`` maps each treated
municipality to its unit id and each control municipality to its own code.

On the harmonised (2023) division a treated municipality includes the territory of
municipalities that merged into it later: Maaninka joined Kuopio on 1.1.2015 (so the pilot
ran in the merged Kuopio, § 30) but Juankoski joined Kuopio only on 1.1.2017, after the pilot;
Kuopio's harmonised series therefore include a non-pilot part (about 5,000 of 118,000
inhabitants) in every year. Hämeenkoski and Nastola (both pilot members) joined Hollola and
Lahti on 1.1.2016.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from . import registry
from .errors import InputError, choices_message
from .municipalities import DIVISION_YEAR, aland_codes, codes, municipality_key
from .outcomes import model_outcomes
from .panel import year_runs

from .study import ADOPTION_YEAR, CONTROL_POOLS, MATCHED_CONTROLS, REFERENCE_YEAR  # noqa: F401 (re-exported)

#: how the design treats municipalities whose outcome series breaks inside the window
BREAK_HANDLING = ("exclude", "keep")


@dataclass
class ComparisonDesign:
    model: str
    division_year: int
    treated_units: list[str]
    treated_municipalities: list[str]
    control_municipalities: list[str]
    excluded: dict[str, str]
    cluster: dict[str, str] = field(default_factory=dict)
    pool: str = "default"
    outcome: str | None = None
    years: tuple[int, int] | None = None
    breaks: str | None = None
    treated_break_flags: list[dict] = field(default_factory=list)

    @property
    def control_pool(self) -> str:
        return self.pool

    def to_dict(self) -> dict:
        """The JSON shape of ``kuntakokeilu design --json`` (and ``frame.attrs["design"]``)."""
        return {
            "model": self.model,
            "division_year": self.division_year,
            "control_pool": self.pool,
            "outcome": self.outcome,
            "years": list(self.years) if self.years else None,
            "breaks": self.breaks,
            "treated_units": list(self.treated_units),
            "treated_municipalities": list(self.treated_municipalities),
            "control_municipalities": list(self.control_municipalities),
            "n_treated_units": len(self.treated_units),
            "n_treated_municipalities": len(self.treated_municipalities),
            "n_control_municipalities": len(self.control_municipalities),
            "excluded": dict(self.excluded),
            "treated_break_flags": [dict(f) for f in self.treated_break_flags],
        }

    @property
    def municipalities(self) -> list[str]:
        return sorted(self.treated_municipalities + self.control_municipalities)


#: comparison designs built in this process, keyed by what they are computed from: the
#: arguments and the (sha256-checked) registry file; the municipality key and merger history
#: they also read are loaded once per process (:mod:`analysis.municipalities`). Callers get a
#: deep copy, so a caller that edits its design does not edit the cached one.
_COMPARISON_CACHE: dict[tuple, ComparisonDesign] = {}


def comparison_design(model: str, keep_other_pilots: bool = False,
                      division_year: int = DIVISION_YEAR) -> ComparisonDesign:
    """Treated units/municipalities, control pool and exclusions for ``model``."""
    import copy

    from . import paths
    from .raw import raw_path

    if model not in registry.models():
        raise InputError(choices_message("model", model, registry.models()))
    key = (model, bool(keep_other_pilots), division_year,
           str(raw_path(registry.REGISTRY_FILE, paths.REFERENCE)))
    if key not in _COMPARISON_CACHE:
        if len(_COMPARISON_CACHE) > 64:
            _COMPARISON_CACHE.clear()
        _COMPARISON_CACHE[key] = _comparison_design(model, keep_other_pilots, division_year)
    return copy.deepcopy(_COMPARISON_CACHE[key])


def _comparison_design(model: str, keep_other_pilots: bool, division_year: int) -> ComparisonDesign:
    universe = codes(division_year)
    aland = set(aland_codes(division_year))
    treated_units = registry.units(model)
    cluster: dict[str, str] = {}
    for unit in treated_units:
        for code in registry.members(unit, division_year):
            cluster[code] = unit
    treated = sorted(cluster)
    missing = [c for c in treated if c not in universe]
    if missing:  # pragma: no cover - guarded by tests
        raise InputError(f"registry municipalities {missing} not in the {division_year} division")
    other = {}
    for m in registry.models():
        if m == model:
            continue
        for code in registry.municipalities(m, division_year):
            other.setdefault(code, []).append(m)
    excluded: dict[str, str] = {}
    controls = []
    for code in universe:
        if code in cluster:
            continue
        if code in aland:
            excluded[code] = "Åland (Ahvenanmaa): own social-services legislation"
        elif code in other and not keep_other_pilots:
            excluded[code] = "pilot municipality of other model(s): " + ", ".join(other[code])
        else:
            controls.append(code)
            cluster[code] = code
    return ComparisonDesign(model, division_year, treated_units, treated, sorted(controls),
                            excluded, cluster, "default" if not keep_other_pilots else "keep_other_pilots")


def same_region_controls(design: ComparisonDesign) -> ComparisonDesign:
    """Restrict the control pool to the maakunta(s) of the treated municipalities."""
    key = municipality_key(design.division_year).set_index("kunta")
    keep = same_region_pool(design.treated_municipalities, design.control_municipalities,
                            key["maakunta_code"])
    excluded = dict(design.excluded)
    for c in design.control_municipalities:
        if c not in keep:
            excluded[c] = "outside the treated municipalities' maakunta"
    cluster = {k: v for k, v in design.cluster.items() if k in keep or k in design.treated_municipalities}
    return ComparisonDesign(design.model, design.division_year, design.treated_units,
                            design.treated_municipalities, keep, excluded, cluster, "same_region")


def same_region_pool(treated, candidates, region_of) -> list[str]:
    """The ``same_region`` rule: the candidates in the maakunta of any treated municipality
    (``region_of``: municipality -> maakunta code, a mapping or Series), in candidate order."""
    regions = {region_of[t] for t in treated}
    return [c for c in candidates if region_of[c] in regions]


def post_years(model: str) -> list[int]:
    """Pilot years counted as treated: 2015+ (kela_cooperation: 2015-2016 only)."""
    m = model_outcomes(model)
    last = m.last_year or 2023
    return list(range(ADOPTION_YEAR, last + 1))


def default_outcome(model: str) -> str:
    """The model's headline outcome (``supervision``, a process pilot: its secondary check)."""
    entry = model_outcomes(model)
    candidates = list(entry.outcomes) or list(entry.secondary)
    if not candidates:  # pragma: no cover - every catalogue entry has one
        raise InputError(f"model {model!r} has no outcome in the outcome catalogue")
    return candidates[0]


def _window(panel: pd.DataFrame, model: str, outcome: str, years) -> list[int]:
    """Analysis years: every panel year with data on ``outcome`` (within ``years`` if given:
    a window wider than the series is cut to the series' years); never after the model's last
    year (``kela_cooperation``: 2016)."""
    have = sorted(int(y) for y in panel.loc[panel[outcome].notna(), "year"].unique())
    chosen = have
    if years is not None:
        asked = sorted({int(y) for y in years})
        panel_years = set(panel["year"].astype(int))
        unknown = [y for y in asked if y not in panel_years]
        if unknown:
            raise InputError(f"years {unknown} are not in the panel "
                             f"({int(panel['year'].min())}-{int(panel['year'].max())})")
        have_years = set(have)
        chosen = [y for y in asked if y in have_years]
    last = model_outcomes(model).last_year
    if last is not None:
        chosen = [y for y in chosen if y <= last]
    if len(chosen) < 2 or chosen[0] >= ADOPTION_YEAR:
        raise InputError(f"the window {chosen[0] if chosen else '?'}-{chosen[-1] if chosen else '?'} of {outcome} "
                         f"needs a pre-period (years before {ADOPTION_YEAR}) and at least two years")
    return chosen


_BREAK_CACHE: dict[tuple, pd.DataFrame] = {}


def outcome_breaks(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Break-audit rows of ``outcome`` (:func:`analysis.audit.structural_breaks`, default
    rule), cached per panel content."""
    from .audit import structural_breaks

    cols = [c for c in ("kunta", "year", "aland", "municipality_name", outcome) if c in panel.columns]
    key = (outcome, int(pd.util.hash_pandas_object(panel[cols], index=False).sum()))
    if key not in _BREAK_CACHE:
        if len(_BREAK_CACHE) > 64:
            _BREAK_CACHE.clear()
        _BREAK_CACHE[key] = structural_breaks(panel, [outcome])
    return _BREAK_CACHE[key]


def _break_text(row: dict) -> str:
    if row.get("kind") == "statistical":
        return f"{row['year']}: {row['reason']}"
    return f"{row['year']} ({row['kind']}, {row['status']}): {row['reason']}. Source: {row['source']}"


def design_for(panel: pd.DataFrame, model: str, outcome: str | None = None, *, control_pool: str = "default",
               years=None, breaks: str = "exclude", n_matched: int = MATCHED_CONTROLS, balanced: bool = True,
               covariates=(), division_year: int = DIVISION_YEAR) -> ComparisonDesign:
    """The comparison design of ``model`` for one ``outcome`` (default: the model's headline
    outcome) and control pool (:data:`analysis.study.CONTROL_POOLS`).

    Steps, each leaving its reason under ``excluded``: default pool (no Åland, no municipality
    of another pilot model unless ``keep_other_pilots``); ``same_region``: controls in the
    treated municipalities' maakunta; break audit: a control whose ``outcome`` series breaks
    inside the window (break year after the first and not after the last year, by
    :func:`analysis.audit.structural_breaks`) leaves the pool unless ``breaks="keep"``; a
    treated municipality with such a break stays and is listed in ``treated_break_flags``;
    ``balanced``: municipalities without ``outcome`` (and covariates) in every window year
    leave; ``matched``: the ``n_matched`` nearest controls of every treated municipality on
    the pre-period mean of ``outcome`` and log population (standardised; ties by code).
    """
    if model not in registry.models():
        raise InputError(choices_message("model", model, registry.models()))
    if control_pool not in CONTROL_POOLS:
        raise InputError(choices_message("control pool", control_pool, CONTROL_POOLS))
    if breaks not in BREAK_HANDLING:
        raise InputError(choices_message("break handling", breaks, BREAK_HANDLING))
    if not isinstance(n_matched, int) or isinstance(n_matched, bool) or n_matched < 1:
        raise InputError(f"n_matched must be a positive integer, got {n_matched!r}")
    outcome = outcome or default_outcome(model)
    covariates = [c for c in covariates if c != "population"]
    need = [outcome, "population", *covariates]
    numeric = [c for c in panel.columns if c not in ("kunta", "year", "maakunta_code", "seutukunta_code")
               and pd.api.types.is_numeric_dtype(panel[c]) and not pd.api.types.is_bool_dtype(panel[c])]
    missing = [c for c in need if c not in numeric]
    if missing:
        what = "outcome" if missing[0] == outcome else "panel variable"
        raise InputError(choices_message(what, missing[0], numeric))
    window = _window(panel, model, outcome, years)
    base = comparison_design(model, keep_other_pilots=control_pool == "keep_other_pilots",
                             division_year=division_year)
    if control_pool == "same_region":
        base = same_region_controls(base)
    excluded = dict(base.excluded)
    controls = list(base.control_municipalities)
    treated = list(base.treated_municipalities)
    unit_of = {c: base.cluster[c] for c in treated}
    names = panel.drop_duplicates("kunta").set_index("kunta")["municipality_name"].to_dict() \
        if "municipality_name" in panel.columns else {}
    # structural breaks of the outcome inside the window
    found = _breaks_in_window(panel, outcome, window[0], window[-1])
    flags = []
    for code in treated:
        for row in found.get(code, []):
            flags.append({"kunta": code, "municipality_name": names.get(code, ""), "unit": unit_of[code],
                          "variable": outcome, "year": int(row["year"]), "detected_by": row["detected_by"],
                          "kind": row["kind"], "status": row["status"], "reason": row["reason"],
                          "source": row["source"]})
    if breaks == "exclude":
        for code in list(controls):
            if code in found:
                texts = "; ".join(_break_text(r) for r in found[code])
                excluded[code] = f"series break in {outcome} inside {window[0]}-{window[-1]}: {texts}"
                controls.remove(code)
    # balanced panel over the window
    if balanced:
        data = panel[panel["year"].isin(window)]
        need = [outcome, *covariates]  # population may be missing (2023): it is not an estimator input
        complete = data.dropna(subset=need).groupby("kunta")["year"].nunique()
        for code in list(controls) + list(treated):
            have = int(complete.get(code, 0))
            if have < len(window):
                got = set(data.loc[(data["kunta"] == code) & data[need].notna().all(axis=1), "year"].astype(int))
                gaps = [y for y in window if y not in got]
                what = outcome if not covariates else f"{outcome} or covariates"
                excluded[code] = (f"incomplete {what} series in {window[0]}-{window[-1]} (missing "
                                  f"{year_runs(gaps)})" + ("; treated municipality" if code in unit_of else ""))
                (controls if code in controls else treated).remove(code)
    if not treated:
        raise InputError(f"no treated municipality of {model!r} has a complete {outcome} series in "
                         f"{window[0]}-{window[-1]}")
    if control_pool == "matched":
        pre = [y for y in window if y < ADOPTION_YEAR]
        chosen = _nearest_controls(panel, outcome, treated, controls, pre, n_matched)
        for code in controls:
            if code not in chosen:
                excluded[code] = f"not among the {n_matched} nearest neighbours on pre-period {outcome} and size"
        controls = [c for c in controls if c in chosen]
    if not controls:
        raise InputError(f"no control municipality left for {model!r} / {outcome} in pool {control_pool!r}")
    units = [u for u in base.treated_units if u in set(unit_of[c] for c in treated)]
    cluster = {c: unit_of[c] for c in treated}
    cluster.update({c: c for c in controls})
    return ComparisonDesign(model, division_year, units, sorted(treated), sorted(controls),
                            dict(sorted(excluded.items())), cluster, control_pool, outcome,
                            (window[0], window[-1]), breaks, flags)


def _breaks_in_window(panel, outcome, first, last) -> dict[str, list[dict]]:
    from .audit import breaks_in_window

    return breaks_in_window(outcome_breaks(panel, outcome), outcome, first, last)




def _nearest_controls(panel, outcome, treated, controls, pre_years, k) -> set[str]:
    feats = matching_features(panel, outcome, set(treated) | set(controls), pre_years)
    return nearest_controls(feats, treated, controls, k)


def matching_features(panel: pd.DataFrame, outcome: str, municipalities, pre_years) -> pd.DataFrame:
    """The ``matched`` pool's features of ``municipalities``: pre-period mean of ``outcome``
    (``level``) and log mean population (``size``), standardised over those municipalities."""
    pre = panel[panel["year"].isin(list(pre_years)) & panel["kunta"].isin(set(municipalities))]
    feats = pre.groupby("kunta").agg(level=(outcome, "mean"), size=("population", "mean")).dropna()
    feats["size"] = np.log(feats["size"])
    return (feats - feats.mean()) / feats.std(ddof=0)


def nearest_controls(features: pd.DataFrame, treated, controls, k: int) -> set[str]:
    """The ``matched`` rule: the union over treated municipalities of their ``k`` nearest
    controls in squared Euclidean distance on ``features`` (:func:`matching_features`); ties
    broken by municipality code."""
    return NearestControls(features).among(treated, controls, k)


class NearestControls:
    """:func:`nearest_controls` on fixed ``features`` for many (treated, controls) sets (e.g.
    placebo draws): the squared distances between all municipalities are computed once (each
    entry the same sum as a single call computes)."""

    def __init__(self, features: pd.DataFrame):
        codes = features.index.to_numpy(dtype=object)
        self.codes = codes
        self.where = {c: i for i, c in enumerate(codes)}
        order = sorted(range(len(codes)), key=codes.__getitem__)
        self.code_rank = np.empty(len(codes), dtype=np.int64)    # rank of each code in sorted order
        self.code_rank[order] = np.arange(len(codes))
        F = features.to_numpy(dtype=float)
        self.distance = ((F[None, :, :] - F[:, None, :]) ** 2).sum(axis=2)   # [i, j]: F[j] - F[i]

    def among(self, treated, controls, k: int) -> set[str]:
        """The union over ``treated`` of their ``k`` nearest ``controls``."""
        where = self.where
        rows = np.array([where[t] for t in treated if t in where], dtype=np.int64)
        cols = np.array([where[c] for c in controls if c in where], dtype=np.int64)
        return set(self.codes[self.among_positions(rows, cols, k)])

    def among_positions(self, rows: np.ndarray, cols: np.ndarray, k: int) -> np.ndarray:
        """:meth:`among` on positions in ``features`` (``rows`` treated, ``cols`` controls):
        the chosen controls' positions, in code order."""
        if len(rows) == 0 or len(cols) == 0:
            return np.zeros(0, dtype=np.int64)
        rank = self.code_rank[cols]
        if np.any(rank[1:] < rank[:-1]):
            cols = cols[np.argsort(rank, kind="stable")]                # ties go to the smaller code
        if len(cols) <= k:
            return cols
        d = self.distance[np.ix_(rows, cols)]
        # per treated row, the k first of a stable sort by distance: every control closer than
        # the k-th smallest distance, then the controls at that distance in code order
        kth = np.partition(d, k - 1, axis=1)[:, k - 1:k]
        closer, tied = d < kth, d == kth
        room = k - closer.sum(axis=1, keepdims=True)
        chosen = closer | (tied & (np.cumsum(tied, axis=1) <= room))
        return cols[chosen.any(axis=0)]


#: :func:`placebo_geography` per division year: built from the centroids and the municipality
#: key, both loaded once per process (:mod:`analysis.municipalities`); callers get a copy
_GEOGRAPHY_CACHE: dict[int, pd.DataFrame] = {}


def placebo_geography(panel: pd.DataFrame | None = None, division_year: int = DIVISION_YEAR) -> pd.DataFrame:
    """``kunta``, ``x``, ``y`` (centroid, km, ETRS-TM35FIN) and ``region`` (maakunta code) of
    every municipality: what placebo units built from neighbouring municipalities need."""
    if division_year not in _GEOGRAPHY_CACHE:
        from .municipalities import centroids

        geo = centroids(division_year)
        key = municipality_key(division_year)[["kunta", "maakunta_code"]]
        geo = geo.merge(key.rename(columns={"maakunta_code": "region"}), on="kunta", how="left")
        geo["region"] = geo["region"].astype("int64")
        _GEOGRAPHY_CACHE[division_year] = geo
    return _GEOGRAPHY_CACHE[division_year].copy()


def analysis_frame(panel: pd.DataFrame, model: str, outcome: str | None = None, *,
                   control_pool: str = "default", covariates=(), years=None, breaks: str = "exclude",
                   n_matched: int = MATCHED_CONTROLS, balanced: bool = True, keep_other_pilots: bool = False,
                   design: ComparisonDesign | None = None, dropna: bool = True,
                   start_year: int | None = None, end_year: int | None = None) -> pd.DataFrame:
    """Long frame for estimators, one function for every control pool.

    Columns: ``kunta``, ``year``, ``outcome`` (values) and a column named after the outcome
    (same values), ``treated`` (1 for treated municipalities in post years), ``treated_group``,
    ``cluster`` (pilot unit id / own code), ``population``, covariates, ``event_time``
    (year - 2015), and for placebo units ``x``, ``y`` (municipal centroid, km, ETRS-TM35FIN)
    and ``region`` (maakunta code). ``frame.attrs["design"]`` is the design's
    :meth:`ComparisonDesign.to_dict` (see :func:`design_for` for the rules and ``breaks``).

    ``years`` (or ``start_year``/``end_year``) restrict the window; for ``kela_cooperation``
    years after 2016 are dropped (social assistance moved to Kela on 1.1.2017).
    ``keep_other_pilots=True`` is the pool ``keep_other_pilots``; ``design`` reuses a design
    built before (its treated and control municipalities, no further exclusions).
    """
    outcome = outcome or default_outcome(model)
    if keep_other_pilots and control_pool == "default":
        control_pool = "keep_other_pilots"
    if years is None and (start_year is not None or end_year is not None):
        first = start_year if start_year is not None else int(panel["year"].min())
        last = end_year if end_year is not None else int(panel["year"].max())
        years = range(int(first), int(last) + 1)
    covariates = list(dict.fromkeys(covariates))
    if design is None:
        design = design_for(panel, model, outcome, control_pool=control_pool, years=years, breaks=breaks,
                            n_matched=n_matched, balanced=balanced, covariates=covariates)
        window = list(range(design.years[0], design.years[1] + 1))
    else:
        missing = [c for c in [outcome, "population", *covariates] if c not in panel.columns]
        if missing:
            raise InputError(choices_message("panel column", missing[0], panel.columns))
        window = _window(panel, model, outcome, years)
    data = panel[panel["kunta"].isin(design.municipalities) & panel["year"].isin(window)]
    treated_set = set(design.treated_municipalities)
    frame = pd.DataFrame({
        "kunta": data["kunta"].astype(str).to_numpy(),
        "year": data["year"].astype(int).to_numpy(),
        "outcome": data[outcome].astype(float).to_numpy(),
    })
    frame["treated_group"] = frame["kunta"].isin(treated_set).astype(int)
    frame["treated"] = (frame["treated_group"].astype(bool) & frame["year"].isin(post_years(model))).astype(int)
    frame["cluster"] = frame["kunta"].map(design.cluster)
    frame["population"] = data["population"].astype(float).to_numpy()
    for c in covariates:
        if c != "population":
            frame[c] = data[c].astype(float).to_numpy()
    if outcome not in frame.columns:
        frame[outcome] = frame["outcome"]
    frame["event_time"] = frame["year"] - ADOPTION_YEAR
    frame = frame.merge(placebo_geography(panel, design.division_year), on="kunta", how="left")
    if dropna:
        frame = frame.dropna(subset=["outcome", *covariates])
    frame = frame.sort_values(["kunta", "year"]).reset_index(drop=True)
    frame.attrs.update({"model": model, "outcome": outcome, "pool": design.pool, "control_pool": design.pool,
                        "division_year": design.division_year, "design": design.to_dict()})
    return frame
