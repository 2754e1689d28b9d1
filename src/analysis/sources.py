"""One loader per raw snapshot: checked read (sha256, see :mod:`analysis.raw`) -> tidy frame.

Every loader returns a *long* frame with columns ``kunta`` (3-digit string, the code as the
source publishes it, i.e. in the source's own municipal division), ``year`` (int),
``variable`` (the source's own variable name) and ``value`` (float), unless noted.
``division_year`` below is the municipal division (1 January of that year) the file uses.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataIntegrityError
from .raw import raw_path

STATFIN_KEY_FIGURES = "statfin_kuntien_avainluvut_2019div_2006_2016.csv"
HAAGA_PANEL = "municipal_panel_2010_2018_haaga2024.csv.gz"
TEM_MONTHLY = "tem_tyonv_12r5_monthly_2006_2023.csv.gz"
SOTKANET_POPULATION = "sotkanet_127_population_2000_2022.csv"
SOTKANET_DUMP = "sotkanet_dump_2013_kunta_1990_2012.csv.gz"
SOTKANET_REGIONS = "sotkanet_regions_kunta_2013.csv"
MUNICIPALITY_KEY = "municipality_key_2013_2026.csv"
ABOLISHED = "abolished_municipalities_1922_2022.csv"
URBAN_RURAL = "municipality_urban_rural_type.csv"
NURSE_COPAY = "nurse_copay_adoption_2011_2019_haaga2024.csv"

#: municipal division (1 January of the year) of each source file
DIVISION_OF = {
    STATFIN_KEY_FIGURES: 2019,
    HAAGA_PANEL: 2020,
    TEM_MONTHLY: 2023,
    SOTKANET_POPULATION: 2023,
    SOTKANET_DUMP: 2013,
    NURSE_COPAY: 2011,
    URBAN_RURAL: 2020,
}


def kunta_code(values) -> pd.Series:
    """Normalise municipality codes (5, 5.0, '5', '005', 'KU005') to 3-digit strings."""
    s = pd.Series(values).astype("string").str.strip()
    s = s.str.replace(r"^KU", "", regex=True).str.replace(r"\.0+$", "", regex=True)
    bad = s.notna() & ~s.str.fullmatch(r"\d{1,3}")
    if bad.any():
        raise DataIntegrityError(f"malformed municipality code(s): {s[bad].unique()[:5].tolist()}")
    return s.str.zfill(3).astype(object)


def _csv(name: str, directory=None, **kwargs) -> pd.DataFrame:
    path = raw_path(name, directory)
    try:
        return pd.read_csv(path, **kwargs)
    except (ValueError, pd.errors.ParserError) as exc:  # pragma: no cover - guarded by sha256
        raise DataIntegrityError(f"cannot parse raw file {name}: {exc}") from exc


def _long(frame: pd.DataFrame, code_col: str, year_col: str, columns: dict[str, str]) -> pd.DataFrame:
    out = frame[[code_col, year_col, *columns]].rename(columns={code_col: "kunta", year_col: "year", **columns})
    out["kunta"] = kunta_code(out["kunta"]).to_numpy()
    out["year"] = out["year"].astype(int)
    out = out.melt(id_vars=["kunta", "year"], var_name="variable", value_name="value")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    return out.reset_index(drop=True)


# --- Statistics Finland key figures (2019 division, 2006-2016) --------------------------
STATFIN_COLUMNS = {
    "Sosiaali_ja_terveystoiminta_yhteensa_nettokayttokustannukset_euroa_asukas": "social_health_costs_eur_per_capita",
    "Opetus_ja_kulttuuritoiminta_yhteensa_nettokayttokustannukset_euroa_asukas": "education_culture_costs_eur_per_capita",
    "Tyottomien_osuus_tyovoimasta": "unemployment_share",
    "Tyollisyysaste": "employment_rate",
    "Vahintaan_toisen_asteen_tutkinnon_suorittaneiden_osuus_15_vuotta_tayttaneista": "upper_secondary_share",
    "Yli_64_vuotiaiden_osuus_vaestosta": "share_65_plus",
    "Vakiluku": "population",
}


def load_statfin_key_figures(directory=None) -> pd.DataFrame:
    """Kuntien avainluvut 2006-2016 (2019 division), renamed to panel variable names."""
    frame = _csv(STATFIN_KEY_FIGURES, directory)
    return _long(frame, "kunta_code_derived", "vuosi", STATFIN_COLUMNS)


# --- Haaga et al. (2024) municipal panel (2020 division, 2010-2018, mainland) -----------
HAAGA_COLUMNS = {
    "social_and_health_care_activities_total_operating_net_costs_eur_per_capita": "social_health_costs_eur_per_capita",
    "educational_and_cultural_activities_total_operating_net_costs_eur_per_capita": "education_culture_costs_eur_per_capita",
    "operating_net_expenditure_on_outpatient_care_in_primary_health_care_excl_oral_health_care_euro_per_capita": "primary_care_outpatient_costs_eur_per_capita",
    "social_assistance_euro_per_capita": "social_assistance_eur_per_capita",
    "social_assistance_recipient_households_during_year": "social_assistance_households",
    "gp_visits": "gp_visits",
    "nurse_visits": "nurse_visits",
    "employment_rate_percent": "employment_rate",
    "share_of_persons_aged_15_or_over_with_at_least_upper_secondary_qualifications_percent": "upper_secondary_share",
    "share_of_persons_aged_over_64_of_the_population_percent": "share_65_plus",
    "proportion_of_the_unemployed_among_the_labour_force_percent": "unemployment_share",
    "population": "population",
}


def load_haaga_panel(directory=None) -> pd.DataFrame:
    """Municipal panel of Haaga, Böckerman, Kortelainen & Tukiainen (2024), 2010-2018."""
    frame = _csv(HAAGA_PANEL, directory)
    return _long(frame, "no", "year", HAAGA_COLUMNS)


# --- TEM monthly employment-service statistics (2023 division, 2006-01..2023-10) --------
def load_tem_monthly(directory=None) -> pd.DataFrame:
    """Municipal rows (``KUnnn``) of StatFin 12r5: columns kunta, month (Period), year,
    unemployed (month end), labour_force (annual), vacancies."""
    frame = _csv(TEM_MONTHLY, directory, dtype={"alue": str})
    frame = frame[frame["alue"].str.startswith("KU")].copy()
    out = pd.DataFrame({
        "kunta": kunta_code(frame["alue"]).to_numpy(),
        "month": frame["time"].to_numpy(),
        "year": frame["time"].str[:4].astype(int).to_numpy(),
        "unemployed": frame["TYOTTOMATLOPUSSA"].astype(float).to_numpy(),
        "labour_force": frame["TYOVOIMATK"].astype(float).to_numpy(),
        "vacancies": frame["AVPAIKATLOPUSSA"].astype(float).to_numpy(),
    })
    return out


def tem_unemployment_rate(directory=None) -> pd.DataFrame:
    """Registered unemployment rate, % = annual mean over months of month-end unemployed
    jobseekers / labour force x 100 (months with a missing count are skipped; 2023 covers
    January-October). Long frame kunta, year, variable='unemployment_rate', value."""
    monthly = load_tem_monthly(directory)
    monthly = monthly[monthly["labour_force"] > 0]
    monthly = monthly.assign(rate=100.0 * monthly["unemployed"] / monthly["labour_force"])
    out = monthly.groupby(["kunta", "year"], as_index=False)["rate"].mean().rename(columns={"rate": "value"})
    out.insert(2, "variable", "unemployment_rate")
    return out


# --- Sotkanet --------------------------------------------------------------------------
def load_sotkanet_population(directory=None) -> pd.DataFrame:
    """Population on 31 December (Sotkanet 127), 2000-2022, current (2023) division."""
    frame = _csv(SOTKANET_POPULATION, directory)
    return _long(frame, "municipality_code", "year", {"population": "population"})


def load_sotkanet_dump(indicators=None, directory=None) -> pd.DataFrame:
    """Sotkanet dump of 2013 (2013 division, 1990-2012): long frame with ``variable`` =
    ``sotkanet_<indicator id>`` (e.g. ``sotkanet_451`` social assistance €/inh.,
    ``sotkanet_127`` population)."""
    frame = _csv(SOTKANET_DUMP, directory, dtype={"kunta_code": str})
    frame = frame.dropna(subset=["indicator_id"])
    if indicators is not None:
        frame = frame[frame["indicator_id"].isin(list(indicators))]
    out = pd.DataFrame({
        "kunta": kunta_code(frame["kunta_code"]).to_numpy(),
        "year": frame["Vuosi"].astype(int).to_numpy(),
        "variable": "sotkanet_" + frame["indicator_id"].astype(int).astype(str).to_numpy(),
        "value": frame["Arvo"].astype(float).to_numpy(),
    })
    return out.drop_duplicates(["kunta", "year", "variable"]).reset_index(drop=True)


def load_sotkanet_regions(directory=None) -> pd.DataFrame:
    """Sotkanet internal region id -> municipality code (2013)."""
    frame = _csv(SOTKANET_REGIONS, directory, dtype={"region.code": str})
    return pd.DataFrame({
        "sotkanet_region": frame["region"].astype(int),
        "kunta": kunta_code(frame["region.code"]).to_numpy(),
        "name_fi": frame["region.title.fi"],
        "maakunta_name_fi": frame["maakunta.title.fi"],
    })


# --- classifications ---------------------------------------------------------------------
def load_municipality_key(directory=None) -> pd.DataFrame:
    """Statistics Finland municipality key, one row per municipality and year (2013-2026)."""
    frame = _csv(MUNICIPALITY_KEY, directory, dtype={"kunta": str})
    frame["kunta"] = kunta_code(frame["kunta"]).to_numpy()
    for col in ("maakunta_code", "seutukunta_code", "kuntaryhmitys_code", "kielisuhde_code"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    return frame


def load_abolished(directory=None) -> pd.DataFrame:
    """Abolished municipalities 1922-2022 (one row per receiving municipality)."""
    frame = _csv(ABOLISHED, directory, dtype=str)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["abolished_code"] = kunta_code(frame["abolished_code"]).to_numpy()
    ceded = frame["joined_to_code"].str.strip() == "-"
    frame.loc[~ceded, "joined_to_code"] = kunta_code(frame.loc[~ceded, "joined_to_code"]).to_numpy()
    frame.loc[ceded, "joined_to_code"] = None
    return frame


def load_urban_rural(directory=None) -> pd.DataFrame:
    """SYKE urban-rural type (aluetyyppi) per municipality (about 2020 division)."""
    frame = _csv(URBAN_RURAL, directory, dtype=str)
    frame = frame[frame["kunta_code"].str.startswith("KU")]
    return pd.DataFrame({"kunta": kunta_code(frame["kunta_code"]).to_numpy(),
                         "name_fi": frame["kunta_name"].to_numpy(),
                         "urban_rural_type": frame["aluetyyppi"].to_numpy()})


# --- Haaga et al. nurse-visit copayment adoption (staggered adoption example) -----------
def _decode_mixed(data: bytes) -> str:
    """Decode line by line: UTF-8 where valid, Latin-1 otherwise (the file mixes both)."""
    lines = []
    for raw_line in data.split(b"\n"):
        try:
            lines.append(raw_line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw_line.decode("latin-1"))
    text = "\n".join(lines)
    return text.lstrip("\ufeff")


def load_nurse_copay(directory=None) -> pd.DataFrame:
    """Date each municipality introduced a primary-care nurse-visit copayment (Haaga et al.
    2024, ``policies_11_19.csv``; 2011 division; ';'-separated, notes in mixed UTF-8/Latin-1).

    Rows as published (418 rows, 320 codes; municipalities without a copayment have one row
    per year). Columns: kunta (3-digit), municipality_name, year,
    adopted (0/1 by end of 2019), introduction_date (datetime), health_care_name, notes.
    """
    text = _decode_mixed(raw_path(NURSE_COPAY, directory).read_bytes())
    frame = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
    frame = frame.loc[:, [c for c in frame.columns if c and not c.startswith("Unnamed")]]
    need = {"municipality_code", "municipality_name", "year", "nurse_copay_by_12_19", "nurse_copay_introduction"}
    if not need <= set(frame.columns):
        raise DataIntegrityError(f"{NURSE_COPAY}: expected columns {sorted(need)}, got {list(frame.columns)}")
    year = pd.to_numeric(frame["year"].str.strip(), errors="coerce").astype("Int64")
    return pd.DataFrame({
        "kunta": kunta_code(frame["municipality_code"]).to_numpy(),
        "municipality_name": frame["municipality_name"].str.strip().to_numpy(),
        "year": year.reset_index(drop=True),
        "adopted": pd.to_numeric(frame["nurse_copay_by_12_19"], errors="coerce").astype("Int64").reset_index(drop=True),
        "introduction_date": pd.to_datetime(frame["nurse_copay_introduction"].str.strip(),
                                            format="%d.%m.%Y", errors="coerce").to_numpy(),
        "health_care_name": frame["health_care_name"].str.strip().to_numpy(),
        "notes": frame["notes"].str.strip().replace("", np.nan).to_numpy(),
    })


# --- National Land Survey municipal boundaries (2023 division, GeoJSON WGS 84) ----------
MML_MUNICIPALITIES = "mml_kuntarajat.2023.json"
DIVISION_OF[MML_MUNICIPALITIES] = 2023


def load_municipal_boundaries(directory=None) -> list[dict]:
    """Municipal polygons of the 1.1.2023 division (NLS kuntajako_4500k, WGS 84 lon/lat).

    One dict per municipality: ``kunta`` (3-digit), ``name``, ``polygons`` (list of polygons,
    each a list of rings, each ring a float array of shape (n, 2) of longitude, latitude; the
    first ring is the outer boundary, the rest are holes).
    """
    import json

    data = json.loads(raw_path(MML_MUNICIPALITIES, directory).read_text(encoding="utf-8"))
    out = []
    for feature in data.get("features", []):
        props, geom = feature.get("properties", {}), feature.get("geometry") or {}
        kind, coords = geom.get("type"), geom.get("coordinates")
        if kind == "Polygon":
            polygons = [coords]
        elif kind == "MultiPolygon":
            polygons = coords
        else:
            raise DataIntegrityError(f"{MML_MUNICIPALITIES}: unexpected geometry {kind!r} for {props.get('NATCODE')}")
        out.append({
            "kunta": str(props["NATCODE"]).zfill(3),
            "name": props.get("NAMEFIN", ""),
            "polygons": [[np.asarray(ring, dtype=float)[:, :2] for ring in poly] for poly in polygons],
        })
    return out
