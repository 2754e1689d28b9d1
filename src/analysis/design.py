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

ADOPTION_YEAR = 2015
REFERENCE_YEAR = 2014


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

    def to_dict(self) -> dict:
        """The JSON shape of ``kuntakokeilu design --json``."""
        return {
            "model": self.model,
            "division_year": self.division_year,
            "treated_units": list(self.treated_units),
            "treated_municipalities": list(self.treated_municipalities),
            "control_municipalities": list(self.control_municipalities),
            "excluded": dict(self.excluded),
        }

    @property
    def municipalities(self) -> list[str]:
        return sorted(self.treated_municipalities + self.control_municipalities)


def comparison_design(model: str, keep_other_pilots: bool = False,
                      division_year: int = DIVISION_YEAR) -> ComparisonDesign:
    """Treated units/municipalities, control pool and exclusions for ``model``."""
    if model not in registry.models():
        raise InputError(choices_message("model", model, registry.models()))
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
    regions = set(key.loc[design.treated_municipalities, "maakunta_code"])
    keep = [c for c in design.control_municipalities if key.loc[c, "maakunta_code"] in regions]
    excluded = dict(design.excluded)
    for c in design.control_municipalities:
        if c not in keep:
            excluded[c] = "outside the treated municipalities' maakunta"
    cluster = {k: v for k, v in design.cluster.items() if k in keep or k in design.treated_municipalities}
    return ComparisonDesign(design.model, design.division_year, design.treated_units,
                            design.treated_municipalities, keep, excluded, cluster, "same_region")


def matched_controls(design: ComparisonDesign, panel: pd.DataFrame, outcome: str,
                     n_neighbours: int = 5, pre_years=range(2010, 2015)) -> ComparisonDesign:
    """Nearest-neighbour controls: for every treated municipality the ``n_neighbours`` controls
    closest in (standardised) pre-period mean of ``outcome`` and log population; union of them.
    Deterministic (ties broken by code)."""
    if outcome not in panel.columns:
        raise InputError(choices_message("outcome column", outcome, panel.columns))
    pre = panel[panel["year"].isin(list(pre_years))]
    feats = pre.groupby("kunta").agg(y=(outcome, "mean"), pop=("population", "mean"))
    feats["pop"] = np.log(feats["pop"])
    feats = feats.dropna()
    z = (feats - feats.mean()) / feats.std(ddof=0)
    pool = [c for c in design.control_municipalities if c in z.index]
    chosen: set[str] = set()
    for t in design.treated_municipalities:
        if t not in z.index:
            continue
        d = ((z.loc[pool] - z.loc[t]) ** 2).sum(axis=1)
        d = d.reset_index().rename(columns={0: "d"}).sort_values(["d", "kunta"])
        chosen.update(d["kunta"].head(n_neighbours))
    keep = sorted(chosen)
    excluded = dict(design.excluded)
    for c in design.control_municipalities:
        if c not in chosen:
            excluded[c] = f"not among the {n_neighbours} nearest neighbours on pre-period {outcome} and size"
    cluster = {k: v for k, v in design.cluster.items() if k in chosen or k in design.treated_municipalities}
    return ComparisonDesign(design.model, design.division_year, design.treated_units,
                            design.treated_municipalities, keep, excluded, cluster, "matched")


def post_years(model: str) -> list[int]:
    """Pilot years counted as treated: 2015+ (kela_cooperation: 2015-2016 only)."""
    m = model_outcomes(model)
    last = m.last_year or 2023
    return list(range(ADOPTION_YEAR, last + 1))


def analysis_frame(panel: pd.DataFrame, model: str, outcome: str, covariates=(),
                   keep_other_pilots: bool = False, design: ComparisonDesign | None = None,
                   years=None, dropna: bool = True) -> pd.DataFrame:
    """Long frame for estimators: kunta, year, outcome (values), treated (1 for treated
    municipalities in post years), treated_group, cluster (pilot unit id / own code),
    population, covariates, and a column named after the outcome (same values).

    Years: all panel years with data (``years`` to restrict); for ``kela_cooperation`` years
    after 2016 are dropped (social assistance moved to Kela on 1.1.2017).
    """
    design = design or comparison_design(model, keep_other_pilots=keep_other_pilots)
    covariates = list(covariates)
    need = [outcome, "population", *covariates]
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise InputError(choices_message("panel column", missing[0], panel.columns))
    data = panel[panel["kunta"].isin(design.municipalities)].copy()
    last = model_outcomes(model).last_year
    if last is not None:
        data = data[data["year"] <= last]
    if years is not None:
        data = data[data["year"].isin(list(years))]
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
    if dropna:
        frame = frame.dropna(subset=["outcome", *covariates])
    frame = frame.sort_values(["kunta", "year"]).reset_index(drop=True)
    frame.attrs.update({"model": model, "outcome": outcome, "pool": design.pool,
                        "division_year": design.division_year})
    return frame
