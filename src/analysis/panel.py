"""The analysis panel: municipality × year (2006-2023) on the harmonised division.

Every variable, built-in or supplied by a live-data fetcher, enters as a :class:`SourceSeries`
(long ``[kunta, year, value]`` in its own municipal division) and goes through the same
harmonisation (:func:`analysis.municipalities.harmonise`). Where several series feed one
variable, the earlier one in the list wins for the municipality-years it covers and the later
ones fill the remaining years.

Built-in sources (see ``data/raw/MANIFEST.csv``):

* Breaks: in the Kainuu regional experiment (2005-2012, law 343/2003) the region, not the
  municipalities, ran social and health care, so Kainuu municipalities report near-zero
  (Kajaani 2009-2011 slightly negative) municipal net costs until 2012. The panel keeps the
  published values; :mod:`analysis.audit` flags this and every other break
  (``data/reference/known_breaks.csv`` plus a robust rule) and :mod:`analysis.design` leaves
  broken series out of the comparison group of that outcome.
* Statistics Finland key figures 2006-2016 (2019 division): social & health care and
  education & culture net costs (from 2008), employment rate, upper-secondary share, share
  65+; Haaga et al. (2024) panel (2020 division) extends them to 2017-2018.
* Haaga et al. panel 2010-2018: primary-care outpatient net costs, social assistance €/inh.,
  recipient households (per 1,000 inhabitants = households / Haaga population × 1000,
  computed after summing both on the harmonised division); Sotkanet 451 (2013 division)
  gives social assistance €/inh. for 2006-2009 (it agrees with the Haaga series in the
  2010-2012 overlap: correlation 0.994, median difference 0.45 €/inh., Sotkanet rounded to
  whole euros). Sotkanet 493 (persons receiving social assistance, % of inhabitants) and
  3219 (aged 17-24 outside education, %; weighted by total population when merging) give
  pre-period series 2006-2011.
* Haaga et al. panel 2013-2018: primary-care GP and nurse visits (counts compiled by Haaga et
  al. from THL's primary-care register), per inhabitant = visits / Haaga population, summed on
  the harmonised division first.
* TEM 12r5 (2023 division): registered unemployment rate, the annual mean of month-end
  unemployed jobseekers / labour force (2023: January-October).
* Sotkanet 127 (2023 division): population 31.12., 2006-2022.
* Municipality key 2023: maakunta and seutukunta codes, Statistics Finland municipality
  group; SYKE urban-rural type (2020 division; Honkajoki takes Kankaanpää's type).

Extra series (``build_panel(extra_series=...)``) with a built-in name *replace* the
built-in value in every municipality-year where the extra series has a value (after
harmonisation) and leave other years as built; a new name adds a column. The codebook
records every series that contributed.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import paths, sources
from .atomic import atomic_path
from .errors import DataIntegrityError, InputError, choices_message
from .municipalities import AGGREGATIONS, DIVISION_YEAR, harmonise, municipality_key

YEARS = tuple(range(2006, 2024))
KEYS = ("kunta", "year")
CODEBOOK_FILE = "codebook.csv"


@dataclass(eq=False)
class SourceSeries:
    """One variable from one source, in the source's own municipal division.

    ``frame``: long, columns ``kunta`` (3-digit str), ``year`` (int), ``value`` (float).
    ``aggregation``: ``"sum"`` (counts, euros) or ``"population_weighted_mean"`` (rates,
    shares, per-capita values). ``weights``: optional populations ``[kunta, year, value]``
    in the same division for weighted harmonisation (default: the shipped population of
    that division).
    """

    name: str
    frame: pd.DataFrame
    division_year: int
    aggregation: str
    label_en: str
    label_fi: str
    unit: str
    source: str
    weights: pd.DataFrame | None = None
    bounds: tuple[float, float] = (-np.inf, np.inf)

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise InputError(choices_message("aggregation", self.aggregation, AGGREGATIONS))
        missing = {"kunta", "year", "value"} - set(self.frame.columns)
        if missing:
            raise InputError(f"series {self.name!r}: frame lacks column(s) {sorted(missing)}")
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise InputError(f"series name {self.name!r} must be snake_case")
        frame = self.frame[["kunta", "year", "value"]].copy()
        codes = frame["kunta"].astype(str)
        if not codes.str.fullmatch(r"\d{3}").all():
            bad = codes[~codes.str.fullmatch(r"\d{3}")].unique()[:5].tolist()
            raise InputError(f"series {self.name!r}: municipality codes must be 3-digit strings, got {bad}")
        frame["kunta"] = codes
        frame["year"] = pd.to_numeric(frame["year"], errors="raise").astype(int)
        frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
        if frame.duplicated(["kunta", "year"]).any():
            raise InputError(f"series {self.name!r}: duplicate municipality-year rows")
        self.frame = frame


# ---------------------------------------------------------------------------------------
# built-in series
# ---------------------------------------------------------------------------------------
_VAR_INFO = {
    # name: (label_en, label_fi, unit, aggregation, bounds)
    "social_health_costs_eur_per_capita": (
        "Social and health care, net operating costs", "Sosiaali- ja terveystoiminta, nettokäyttökustannukset",
        "EUR per inhabitant", "population_weighted_mean", (-100, 20000)),
    "education_culture_costs_eur_per_capita": (
        "Education and culture, net operating costs", "Opetus- ja kulttuuritoiminta, nettokäyttökustannukset",
        "EUR per inhabitant", "population_weighted_mean", (0, 20000)),
    "primary_care_outpatient_costs_eur_per_capita": (
        "Primary health care outpatient care (excl. oral health), net operating costs",
        "Perusterveydenhuollon avohoito (pl. suun terveydenhuolto), nettokäyttökustannukset",
        "EUR per inhabitant", "population_weighted_mean", (0, 10000)),
    "social_assistance_eur_per_capita": (
        "Social assistance paid", "Toimeentulotuki", "EUR per inhabitant", "population_weighted_mean", (0, 5000)),
    "social_assistance_households_per_1000": (
        "Households receiving social assistance during the year", "Toimeentulotukea saaneet kotitaloudet",
        "per 1,000 inhabitants", "population_weighted_mean", (0, 1000)),
    "social_assistance_recipients_share": (
        "Persons receiving social assistance during the year (Sotkanet 493; pre-period only)",
        "Toimeentulotukea saaneet henkilöt vuoden aikana, % asukkaista", "percent of inhabitants",
        "population_weighted_mean", (0, 100)),
    "youth_outside_education_share": (
        "Aged 17-24 outside education (Sotkanet 3219; pre-period only)",
        "Koulutuksen ulkopuolelle jääneet 17-24-vuotiaat, % vastaavanikäisestä väestöstä", "percent",
        "population_weighted_mean", (0, 100)),
    "gp_visits_per_capita": (
        "Primary-care physician (GP) visits per inhabitant (2013-2018)",
        "Perusterveydenhuollon avosairaanhoidon lääkärikäynnit / asukas", "visits per inhabitant",
        "population_weighted_mean", (0, 20)),
    "nurse_visits_per_capita": (
        "Primary-care nurse visits per inhabitant (2013-2018)",
        "Perusterveydenhuollon avosairaanhoidon hoitajakäynnit / asukas", "visits per inhabitant",
        "population_weighted_mean", (0, 30)),
    "unemployment_rate": (
        "Registered unemployment rate (annual mean of month-end unemployed jobseekers / labour force)",
        "Työttömien työnhakijoiden osuus työvoimasta (kuukausien keskiarvo)", "percent",
        "population_weighted_mean", (0, 100)),
    "employment_rate": ("Employment rate", "Työllisyysaste", "percent", "population_weighted_mean", (0, 100)),
    "upper_secondary_share": (
        "Share of persons aged 15+ with at least upper-secondary qualification",
        "Vähintään toisen asteen tutkinnon suorittaneiden osuus 15 vuotta täyttäneistä",
        "percent", "population_weighted_mean", (0, 100)),
    "share_65_plus": ("Share of persons aged over 64", "Yli 64-vuotiaiden osuus väestöstä", "percent",
                      "population_weighted_mean", (0, 100)),
    "population": ("Population on 31 December", "Väkiluku 31.12.", "persons", "sum", (0, 1e7)),
}

#: variables derived after harmonisation when their inputs are in the panel (fetched youth
#: jobseekers, see analysis.live.presets): name -> (numerator, denominator, scale, label)
DERIVED = {
    "youth_unemployed_per_1000": ("youth_unemployed_jobseekers", "population", 1000.0,
                                  "Unemployed jobseekers under 25 per 1,000 inhabitants"),
    "youth_share_of_unemployed": ("youth_unemployed_jobseekers", "unemployed_jobseekers", 100.0,
                                  "Unemployed jobseekers under 25, % of all unemployed jobseekers"),
}

SRC_STATFIN = "Statistics Finland, Kuntien avainluvut 2019 (2019 division)"
SRC_HAAGA = "Haaga et al. (2024) municipal panel (Statistics Finland, THL, Kela; 2020 division)"
SRC_TEM = "TEM employment service statistics, StatFin 12r5 (monthly)"
SRC_SOTKA127 = "Sotkanet 127, THL"
SRC_SOTKA_DUMP = "Sotkanet dump 2013 (THL; 2013 division)"
SRC_KEY = "Statistics Finland municipality key 2023"
SRC_URBAN = "SYKE urban-rural classification (about 2020)"


def _pick(long: pd.DataFrame, variable: str) -> pd.DataFrame:
    return long.loc[long["variable"] == variable, ["kunta", "year", "value"]].reset_index(drop=True)


def _series(name: str, frame: pd.DataFrame, division: int, source: str, weights=None) -> SourceSeries:
    label_en, label_fi, unit, aggregation, bounds = _VAR_INFO[name]
    return SourceSeries(name, frame, division, aggregation, label_en, label_fi, unit, source,
                        weights=weights, bounds=bounds)


def builtin_series() -> list[SourceSeries]:
    """The shipped data as :class:`SourceSeries`, in priority order per variable."""
    statfin = sources.load_statfin_key_figures()
    haaga = sources.load_haaga_panel()
    dump = sources.load_sotkanet_dump(indicators=[127, 451, 493, 3219])
    statfin_pop = _pick(statfin, "population")
    haaga_pop = _pick(haaga, "population")
    dump_pop = _pick(dump, "sotkanet_127")
    out: list[SourceSeries] = []
    out.append(_series("population", sources.load_sotkanet_population()[["kunta", "year", "value"]],
                       2023, SRC_SOTKA127))
    for name in ("social_health_costs_eur_per_capita", "education_culture_costs_eur_per_capita",
                 "employment_rate", "upper_secondary_share", "share_65_plus"):
        out.append(_series(name, _pick(statfin, name), 2019, SRC_STATFIN, statfin_pop))
        out.append(_series(name, _pick(haaga, name), 2020, SRC_HAAGA, haaga_pop))
    out.append(_series("primary_care_outpatient_costs_eur_per_capita",
                       _pick(haaga, "primary_care_outpatient_costs_eur_per_capita"), 2020, SRC_HAAGA, haaga_pop))
    out.append(_series("social_assistance_eur_per_capita", _pick(haaga, "social_assistance_eur_per_capita"),
                       2020, SRC_HAAGA, haaga_pop))
    sa_dump = _pick(dump, "sotkanet_451")
    out.append(_series("social_assistance_eur_per_capita", sa_dump[sa_dump["year"] >= YEARS[0]],
                       2013, SRC_SOTKA_DUMP + ", indicator 451", dump_pop))
    for name, indicator in (("social_assistance_recipients_share", 493), ("youth_outside_education_share", 3219)):
        frame = _pick(dump, f"sotkanet_{indicator}")
        out.append(_series(name, frame[frame["year"] >= YEARS[0]], 2013,
                           f"{SRC_SOTKA_DUMP}, indicator {indicator}", dump_pop))
    # households per 1,000: sum households and population on the harmonised division first
    households = harmonise(_pick(haaga, "social_assistance_households"), 2020, "sum")
    pop = harmonise(haaga_pop, 2020, "sum").rename(columns={"value": "pop"})
    ratio = households.merge(pop, on=["kunta", "year"], how="inner")
    ratio["value"] = 1000.0 * ratio["value"] / ratio["pop"]
    out.append(_series("social_assistance_households_per_1000", ratio[["kunta", "year", "value"]],
                       DIVISION_YEAR, SRC_HAAGA + "; households / population x 1000"))
    # GP and nurse visits per inhabitant: visits and population summed on the harmonised division
    for name, count in (("gp_visits_per_capita", "gp_visits"), ("nurse_visits_per_capita", "nurse_visits")):
        visits = harmonise(_pick(haaga, count), 2020, "sum")
        ratio = visits.merge(pop, on=["kunta", "year"], how="inner")
        ratio["value"] = ratio["value"] / ratio["pop"]
        out.append(_series(name, ratio[["kunta", "year", "value"]], DIVISION_YEAR,
                           SRC_HAAGA + f"; {count.replace('_', ' ')} / population"))
    out.append(_series("unemployment_rate", sources.tem_unemployment_rate()[["kunta", "year", "value"]],
                       2023, SRC_TEM))
    return out


def _default_weights(division_year: int) -> pd.DataFrame:
    """Shipped population for the division of ``division_year`` (nearest available division)."""
    tables = {
        2013: lambda: _pick(sources.load_sotkanet_dump(indicators=[127]), "sotkanet_127"),
        2019: lambda: _pick(sources.load_statfin_key_figures(), "population"),
        2020: lambda: _pick(sources.load_haaga_panel(), "population"),
        2023: lambda: sources.load_sotkanet_population()[["kunta", "year", "value"]],
    }
    order = sorted(tables, key=lambda d: (abs(d - division_year), -d))
    frames = [tables[d]() for d in order]
    combined = pd.concat(frames, ignore_index=True).drop_duplicates(["kunta", "year"], keep="first")
    return combined


def harmonise_series(series: SourceSeries, division_year: int = DIVISION_YEAR) -> pd.DataFrame:
    """``[kunta, year, value]`` of ``series`` on the harmonised division."""
    weights = series.weights
    if series.aggregation == "population_weighted_mean" and weights is None and series.division_year != division_year:
        weights = _default_weights(series.division_year)
    return harmonise(series.frame, series.division_year, series.aggregation, weights=weights, to_year=division_year)


# ---------------------------------------------------------------------------------------
# building, validation, codebook
# ---------------------------------------------------------------------------------------
STATIC_COLUMNS = ("municipality_name", "maakunta_code", "maakunta_name", "seutukunta_code",
                  "municipality_group", "urban_rural_type", "aland")


def _static(division_year: int) -> pd.DataFrame:
    key = municipality_key(division_year)
    urban = sources.load_urban_rural()
    urban = harmonise_categorical(urban, 2020, division_year)
    static = pd.DataFrame({
        "kunta": key["kunta"],
        "municipality_name": key["municipality_name_fi"],
        "maakunta_code": key["maakunta_code"].astype("int64"),
        "maakunta_name": key["maakunta_name_fi"],
        "seutukunta_code": key["seutukunta_code"].astype("int64"),
        "municipality_group": key["kuntaryhmitys_name_fi"],
        "aland": key["aland"].astype(bool),
    }).merge(urban, on="kunta", how="left")
    return static


def harmonise_categorical(frame: pd.DataFrame, from_year: int, to_year: int) -> pd.DataFrame:
    """Time-invariant category per code: a merged municipality keeps the receiver's value."""
    from .municipalities import code_map
    mapping = code_map(from_year, to_year)
    out = frame[~frame["kunta"].isin(mapping)][["kunta", "urban_rural_type"]]
    return out.drop_duplicates("kunta")


def build_panel(
    extra_series: Sequence[SourceSeries] = (),
    out_path: str | Path | None = None,
    division_year: int = DIVISION_YEAR,
    write: bool = True,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Build, validate and (atomically) write the panel and its codebook.

    Returns the panel. ``out_path`` defaults to ``data/processed/panel.parquet``; the codebook
    goes next to it as ``codebook.csv``.
    """
    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    from .raw import verify_all

    checked = verify_all()
    checked_ref = verify_all(paths.REFERENCE)
    say(f"verified sha256 of {len(checked)} raw files (data/raw) and {len(checked_ref)} reference files "
        f"(data/reference) against their manifests")
    say(f"loading sources and harmonising onto the {division_year} municipal division")
    series = builtin_series() + list(extra_series)
    static = _static(division_year)
    grid = pd.MultiIndex.from_product([static["kunta"], YEARS], names=list(KEYS)).to_frame(index=False)
    values: dict[str, pd.Series] = {}
    contributions: dict[str, list[str]] = {}
    info: dict[str, SourceSeries] = {}
    n_builtin = len(series) - len(extra_series)
    builtin_names = {s.name for s in series[:n_builtin]}
    for index, s in enumerate(series):
        say(f"harmonising {s.name} from {s.source} (division {s.division_year}, {s.aggregation})")
        h = harmonise_series(s, division_year)
        h = h[h["kunta"].isin(static["kunta"]) & h["year"].isin(YEARS)]
        col = grid.merge(h, on=["kunta", "year"], how="left")["value"]
        is_extra = index >= n_builtin
        if s.name not in values:
            values[s.name] = col
            info[s.name] = s
        elif is_extra and s.name in builtin_names:
            values[s.name] = col.combine_first(values[s.name])  # extra replaces where it has data
        else:
            values[s.name] = values[s.name].combine_first(col)  # earlier series wins
        if col.notna().any():
            contributions.setdefault(s.name, []).append(s.source)
    panel = grid.copy()
    for name, col in values.items():
        panel[name] = col.astype("float64").to_numpy()
    for name, (num, den, scale, label) in DERIVED.items():
        if num in panel and den in panel and name not in panel:
            with np.errstate(divide="ignore", invalid="ignore"):
                panel[name] = (scale * panel[num] / panel[den]).where(panel[den] > 0)
            values[name] = panel[name]
            info[name] = SourceSeries(name, pd.DataFrame(columns=["kunta", "year", "value"]), division_year,
                                      "population_weighted_mean", label, label, f"x {scale:g}",
                                      f"derived: {scale:g} x {num} / {den} on the harmonised division")
            contributions[name] = [info[name].source]
    panel = panel.merge(static, on="kunta", how="left")
    ordered = ["kunta", "year", *STATIC_COLUMNS, *[c for c in values]]
    panel = panel[ordered].sort_values(["kunta", "year"]).reset_index(drop=True)
    codebook = make_codebook(panel, info, contributions)
    validate_panel(panel, info)
    if write:
        target = Path(out_path) if out_path is not None else paths.PANEL_FILE
        with atomic_path(target, suffix=".parquet") as tmp:
            panel.to_parquet(tmp, index=False)
        with atomic_path(target.parent / CODEBOOK_FILE, suffix=".csv") as tmp:
            codebook.to_csv(tmp, index=False)
        say(f"wrote {target} ({len(panel)} rows, {panel['kunta'].nunique()} municipalities, "
            f"{panel['year'].min()}-{panel['year'].max()}) and {target.parent / CODEBOOK_FILE}")
    say(f"panel built in {time.perf_counter() - t0:.1f} s")
    return panel


_STATIC_INFO = {
    "kunta": ("Municipality code (kuntanumero, 2023 division)", "Kuntanumero (vuoden 2023 aluejako)", "code", SRC_KEY),
    "year": ("Year", "Vuosi", "year", "-"),
    "municipality_name": ("Municipality name", "Kunnan nimi", "text", SRC_KEY),
    "maakunta_code": ("Region (maakunta) code", "Maakuntakoodi", "code", SRC_KEY),
    "maakunta_name": ("Region (maakunta) name", "Maakunta", "text", SRC_KEY),
    "seutukunta_code": ("Sub-region (seutukunta) code", "Seutukuntakoodi", "code", SRC_KEY),
    "municipality_group": ("Statistical municipality group (urban / semi-urban / rural)", "Tilastollinen kuntaryhmitys", "category", SRC_KEY),
    "urban_rural_type": ("Urban-rural type", "Kaupunki-maaseutuluokitus (aluetyyppi)", "category", SRC_URBAN),
    "aland": ("Åland municipality (Ahvenanmaa, maakunta 21)", "Ahvenanmaan kunta", "boolean", SRC_KEY),
}


def _years_covered(col: pd.Series, years: pd.Series) -> str:
    return year_runs(sorted(int(y) for y in years[col.notna()].unique()), empty="")


def year_runs(ys: list[int], empty: str = "-") -> str:
    """Sorted years as runs: ``[2010, 2011, 2012, 2015]`` -> ``"2010-2012, 2015"``."""
    if not ys:
        return empty
    runs, start, prev = [], ys[0], ys[0]
    for y in ys[1:] + [None]:
        if y is None or y != prev + 1:
            runs.append(f"{start}" if start == prev else f"{start}-{prev}")
            if y is not None:
                start = y
        if y is not None:
            prev = y
    return ", ".join(runs)


def make_codebook(panel: pd.DataFrame, info: dict[str, SourceSeries] | None = None,
                  contributions: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """variable, label_en, label_fi, unit, source, years_covered, aggregation."""
    rows = []
    for col in panel.columns:
        if col in _STATIC_INFO:
            en, fi, unit, src = _STATIC_INFO[col]
            agg = "-"
        elif info and col in info:
            s = info[col]
            en, fi, unit, agg = s.label_en, s.label_fi, s.unit, s.aggregation
            src = "; ".join(dict.fromkeys((contributions or {}).get(col, [s.source])))
        elif col in _VAR_INFO:
            en, fi, unit, agg, _ = _VAR_INFO[col]
            src = ""
        else:
            en = fi = unit = src = agg = ""
        rows.append({"variable": col, "label_en": en, "label_fi": fi, "unit": unit, "source": src,
                     "years_covered": _years_covered(panel[col], panel["year"]), "aggregation": agg})
    return pd.DataFrame(rows)


def codebook(path: str | Path | None = None) -> pd.DataFrame:
    """The codebook written next to the panel (``data/processed/codebook.csv``)."""
    target = Path(path) if path is not None else paths.PANEL_FILE.parent / CODEBOOK_FILE
    if not target.exists():
        raise InputError(f"codebook {target} not found; run `kuntakokeilu panel` (or `make data`) first")
    return pd.read_csv(target, keep_default_na=False)


def _bounds_of(name: str, info) -> tuple[float, float]:
    if info and name in info:
        return info[name].bounds
    if name in _VAR_INFO:
        return _VAR_INFO[name][4]
    return (-np.inf, np.inf)


def validate_panel(panel: pd.DataFrame, info: dict[str, SourceSeries] | None = None) -> pd.DataFrame:
    """Schema check: key columns and types, unique (kunta, year), 3-digit codes, years in
    range, numeric variables within their plausible ranges. Raises DataIntegrityError."""
    required = ["kunta", "year", *STATIC_COLUMNS, *_VAR_INFO]
    missing = [c for c in required if c not in panel.columns]
    if missing:
        raise DataIntegrityError(f"panel lacks column(s) {missing}")
    if not (pd.api.types.is_string_dtype(panel["kunta"]) or panel["kunta"].dtype == object):
        raise DataIntegrityError(f"panel column 'kunta' must be 3-digit strings, got dtype {panel['kunta'].dtype}")
    bad = ~panel["kunta"].astype(str).str.fullmatch(r"\d{3}")
    if bad.any():
        raise DataIntegrityError(f"panel column 'kunta' has malformed codes {panel.loc[bad, 'kunta'].unique()[:5].tolist()}")
    if not pd.api.types.is_integer_dtype(panel["year"]):
        raise DataIntegrityError(f"panel column 'year' must be integer, got {panel['year'].dtype}")
    if not panel["year"].between(YEARS[0], YEARS[-1]).all():
        raise DataIntegrityError(f"panel years outside {YEARS[0]}-{YEARS[-1]}")
    dup = panel.duplicated(list(KEYS))
    if dup.any():
        first = panel.loc[dup, list(KEYS)].iloc[0].tolist()
        raise DataIntegrityError(f"panel has {int(dup.sum())} duplicate (kunta, year) rows, e.g. {first}")
    numeric = [c for c in panel.columns if c not in ("kunta", "year") and c not in STATIC_COLUMNS]
    for col in numeric + ["maakunta_code", "seutukunta_code"]:
        if not pd.api.types.is_numeric_dtype(panel[col]) or pd.api.types.is_bool_dtype(panel[col]):
            raise DataIntegrityError(f"panel column {col!r} must be numeric, got dtype {panel[col].dtype}")
    for col in numeric:
        lo, hi = _bounds_of(col, info)
        vals = panel[col].dropna()
        out = vals[(vals < lo) | (vals > hi)]
        if len(out):
            raise DataIntegrityError(f"panel column {col!r} has {len(out)} value(s) outside [{lo}, {hi}], e.g. {out.iloc[0]}")
    if not pd.api.types.is_bool_dtype(panel["aland"]):
        raise DataIntegrityError("panel column 'aland' must be boolean")
    return panel


def read_panel(path: str | Path) -> pd.DataFrame:
    """Read and validate a panel parquet file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"panel {path} not found; run `kuntakokeilu panel` (or `make data`) to build it")
    panel = pd.read_parquet(path)
    return validate_panel(panel)


def load_panel(path: str | Path | None = None) -> pd.DataFrame:
    """The validated panel from ``data/processed/panel.parquet`` (never builds it)."""
    return read_panel(Path(path) if path is not None else paths.PANEL_FILE)


def panel_sha256(path: str | Path | None = None) -> str:
    """sha256 of the panel file (to record which data a result used)."""
    path = Path(path) if path is not None else paths.PANEL_FILE
    if not path.exists():
        raise InputError(f"panel {path} not found; run `kuntakokeilu panel` (or `make data`) to build it")
    digest = hashlib.sha256(path.read_bytes())
    return digest.hexdigest()
