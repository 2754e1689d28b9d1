"""Which fetched snapshot feeds which panel variable: ``data/fetched_sources.yaml``.

The file holds a list ``series`` (empty by default). Each entry names a snapshot that
``kuntakokeilu fetch`` wrote into ``data/raw/`` and says how it becomes a panel variable::

    series:
      - name: youth_outside_education_share     # panel column (snake_case)
        snapshot: sotkanet_3219_20261123T094501Z.csv
        kind: sotkanet                          # or statfin
        aggregation: population_weighted_mean  # or sum
        unit: percent
        label_en: Persons aged 17-24 outside education, % of the age group
        label_fi: Koulutuksen ulkopuolelle jääneet 17-24-vuotiaat, %
        gender: total                           # sotkanet only (default total)
        division_year: 2023                     # optional, see below
      - name: population_20_24
        snapshot: statfin_vaerak_pxt_11rc_20261123T100000Z.csv
        kind: statfin
        region: Alue          # variable holding KU-prefixed municipality codes (default Alue)
        year: Vuosi           # time variable (default Vuosi)
        filters: {Ikä: 20-24, Sukupuoli: SSS, Tiedot: vaesto}
        aggregation: sum
        ...

``kuntakokeilu panel`` reads the file through :func:`configured_series` and passes the
series to :func:`analysis.panel.build_panel`: a series named like a built-in variable
replaces the built-in value wherever it has data; a new name adds a column.

Division: Sotkanet and StatFin publish history on the division of the retrieval year. The
default ``division_year`` is ``min(retrieval year, analysis.municipalities.DIVISION_YEAR)``:
valid while no municipal merger took effect after the analysis division (the last mergers
were on 1.1.2021; the shipped merger list ends in 2022). Give ``division_year`` explicitly
for data on another division.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths
from ..errors import InputError, choices_message

CONFIG_NAME = "fetched_sources.yaml"
KINDS = ("sotkanet", "statfin")
REQUIRED = ("name", "snapshot", "kind", "aggregation", "unit", "label_en", "label_fi")
OPTIONAL = ("gender", "division_year", "region", "year", "filters", "bounds", "note", "period")
#: ``period: month``: the time variable holds months (``2015M01``); the panel value of a year
#: is the mean over the months published for it
PERIODS = ("year", "month")
DEFAULT_TEXT = """\
# Fetched snapshots (data/raw/, written by `kuntakokeilu fetch`) that feed panel variables.
# `kuntakokeilu panel` adds them to the panel; see analysis.live.config for the fields.
series: []
"""


def default_config_path(root: str | Path | None = None) -> Path:
    return Path(root or paths.project_root()) / "data" / CONFIG_NAME


def read_config(path: str | Path | None = None) -> list[dict]:
    """The validated list of series entries (``[]`` if the file is absent or empty)."""
    import yaml

    path = Path(path) if path is not None else default_config_path()
    if not path.exists():
        return []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML: {exc}") from exc
    if doc is None:
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("series", []), list):
        raise InputError(f"{path} must be a mapping with a list 'series' (see analysis.live.config)")
    entries = doc.get("series") or []
    names = set()
    for i, entry in enumerate(entries):
        where = f"{path}, series entry {i + 1}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected a mapping with keys {', '.join(REQUIRED)}")
        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            raise InputError(f"{where}: missing key(s) {', '.join(missing)}")
        unknown = [k for k in entry if k not in REQUIRED + OPTIONAL]
        if unknown:
            raise InputError(f"{where}: " + choices_message("key", unknown[0], REQUIRED + OPTIONAL))
        if entry["kind"] not in KINDS:
            raise InputError(f"{where}: " + choices_message("kind", entry["kind"], KINDS))
        if entry.get("period", "year") not in PERIODS:
            raise InputError(f"{where}: " + choices_message("period", entry.get("period"), PERIODS))
        if entry["name"] in names:
            raise InputError(f"{where}: series name {entry['name']!r} appears twice")
        names.add(entry["name"])
    return entries


def _retrieval_year(snapshot: str) -> int | None:
    m = re.search(r"_(\d{4})\d{4}T\d{6}Z\.", snapshot)
    return int(m.group(1)) if m else None


def _sotkanet_frame(data: pd.DataFrame, entry: dict) -> pd.DataFrame:
    need = {"kunta", "year", "gender", "value"}
    if not need <= set(data.columns):
        raise InputError(f"snapshot {entry['snapshot']} is not a Sotkanet snapshot (columns {list(data.columns)})")
    gender = entry.get("gender", "total")
    if gender not in set(data["gender"]):
        raise InputError(f"snapshot {entry['snapshot']}: " + choices_message("gender", gender, set(data["gender"])))
    data = data[data["gender"] == gender]
    return data.assign(kunta=data["kunta"].astype(str).str.zfill(3))[["kunta", "year", "value"]]


def _statfin_frame(data: pd.DataFrame, entry: dict) -> pd.DataFrame:
    region, year = entry.get("region", "Alue"), entry.get("year", "Vuosi")
    for col in (region, year):
        if col not in data.columns:
            dims = [c for c in data.columns if c not in ("value", "status") and not c.endswith("_label")]
            raise InputError(f"snapshot {entry['snapshot']}: " + choices_message("variable", col, dims))
    for dim, code in (entry.get("filters") or {}).items():
        if dim not in data.columns:
            raise InputError(f"snapshot {entry['snapshot']}: filter " + choices_message("variable", dim, data.columns))
        values = set(data[dim].astype(str))
        if str(code) not in values:
            raise InputError(f"snapshot {entry['snapshot']}: filter {dim}: " + choices_message("value", code, values))
        data = data[data[dim].astype(str) == str(code)]
    codes = data[region].astype(str)
    data = data[codes.str.fullmatch(r"KU\d{3}")]
    if entry.get("period", "year") == "month":
        months = data[year].astype(str)
        if not months.str.fullmatch(r"\d{4}M\d{2}").all():
            bad = months[~months.str.fullmatch(r"\d{4}M\d{2}")].unique()[:3].tolist()
            raise InputError(f"snapshot {entry['snapshot']}: period month needs months like 2015M01 in {year!r}, got {bad}")
        monthly = pd.DataFrame({"kunta": data[region].astype(str).str[2:], "year": months.str[:4].astype(int),
                                "month": months, "value": data["value"]})
        if monthly.duplicated(["kunta", "month"]).any():
            dims = [c for c in data.columns if c not in (region, year, "value", "status") and not c.endswith("_label")]
            raise InputError(f"snapshot {entry['snapshot']}: several rows per municipality and month; add "
                             f"'filters' for the variable(s) {dims}")
        frame = monthly.groupby(["kunta", "year"], as_index=False)["value"].mean()
        if frame.empty:
            raise InputError(f"snapshot {entry['snapshot']}: no municipality (KU...) rows in {region!r} after filters")
        return frame
    frame = pd.DataFrame({"kunta": data[region].astype(str).str[2:], "year": data[year].astype(int),
                          "value": data["value"]})
    if frame.duplicated(["kunta", "year"]).any():
        dims = [c for c in data.columns if c not in (region, year, "value", "status") and not c.endswith("_label")]
        raise InputError(
            f"snapshot {entry['snapshot']}: several rows per municipality and year; add 'filters' "
            f"for the variable(s) {dims}"
        )
    if frame.empty:
        raise InputError(f"snapshot {entry['snapshot']}: no municipality (KU...) rows in {region!r} after filters")
    return frame


def configured_series(config_path: str | Path | None = None, raw_dir: str | Path | None = None) -> list:
    """The fetched snapshots declared in ``data/fetched_sources.yaml`` as
    :class:`analysis.panel.SourceSeries` (snapshots read with the sha256 check of
    :func:`analysis.raw.raw_path`)."""
    from ..municipalities import DIVISION_YEAR
    from ..panel import SourceSeries
    from ..raw import raw_path

    cfg = Path(config_path) if config_path is not None else default_config_path()
    entries = read_config(cfg)
    if not entries:
        return []
    folder = Path(raw_dir) if raw_dir is not None else cfg.parent / "raw"
    out = []
    for entry in entries:
        path = raw_path(entry["snapshot"], folder)
        data = pd.read_csv(path, dtype={"kunta": str, "region_id": str}, keep_default_na=True)
        if entry["kind"] == "sotkanet":
            frame = _sotkanet_frame(data, entry)
            indicator = data["indicator"].iloc[0] if "indicator" in data and len(data) else "?"
            source = f"Sotkanet {indicator}, THL (fetched snapshot {entry['snapshot']})"
        else:
            data = pd.read_csv(path, dtype=str, keep_default_na=False).assign(
                value=lambda d: pd.to_numeric(d["value"], errors="coerce"))
            frame = _statfin_frame(data, entry)
            source = f"Statistics Finland PxWeb (fetched snapshot {entry['snapshot']})"
        retrieved = _retrieval_year(entry["snapshot"])
        division = int(entry.get("division_year") or min(retrieved or DIVISION_YEAR, DIVISION_YEAR))
        kwargs: dict[str, Any] = {}
        if entry.get("bounds") is not None:
            kwargs["bounds"] = tuple(float(b) for b in entry["bounds"])
        out.append(SourceSeries(
            name=entry["name"], frame=frame.reset_index(drop=True), division_year=division,
            aggregation=entry["aggregation"], label_en=entry["label_en"], label_fi=entry["label_fi"],
            unit=entry["unit"], source=source, **kwargs,
        ))
    return out


def add_entry(entry: dict, path: str | Path | None = None) -> Path:
    """Append ``entry`` to the config file (atomically), keeping the existing entries."""
    import yaml

    from ..atomic import write_text

    path = Path(path) if path is not None else default_config_path()
    entries = read_config(path)
    if any(e["name"] == entry["name"] for e in entries):
        raise InputError(f"{path} already declares a series named {entry['name']!r}; edit the file to change it")
    text = path.read_text(encoding="utf-8") if path.exists() else DEFAULT_TEXT
    comments = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    body = yaml.safe_dump({"series": entries + [entry]}, allow_unicode=True, sort_keys=False)
    write_text(path, comments + body)
    read_config(path)
    return path
