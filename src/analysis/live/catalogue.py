"""Outcome catalogue: which indicators (Sotkanet ids, StatFin tables) measure each pilot model.

``data/reference/outcome_catalogue.csv`` lists, per model, the outcome and covariate series
with their source (``sotkanet`` id, ``statfin`` table path, or a ``shipped`` file), what the
offline data cover (``shipped_offline``) and whether the identifier is verified. It includes
series that are not shipped offline (e.g. youth unemployment, the share of persons aged 75+
living at home, 17-24-year-olds outside education after 2012): those need ``kuntakokeilu
fetch``. Rows with an empty ``identifier`` have no verified id yet; their ``status`` says how
to find it (``kuntakokeilu indicators --search ...``). ``model = all`` rows apply to every model.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import paths
from ..errors import InputError, choices_message

CATALOGUE_FILE = "outcome_catalogue.csv"
COLUMNS = ("model", "variable", "source", "identifier", "label_en", "label_fi", "unit", "aggregation",
           "shipped_offline", "status", "note")
SOURCES = ("sotkanet", "statfin", "shipped")


def catalogue_path(root: str | Path | None = None) -> Path:
    return Path(root or paths.project_root()) / "data" / "reference" / CATALOGUE_FILE


def load_catalogue(path: str | Path | None = None) -> pd.DataFrame:
    """The catalogue as a frame (strings; empty identifier = not yet verified)."""
    path = Path(path) if path is not None else catalogue_path()
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{path} lacks column(s) {missing}")
    bad = sorted(set(table["source"]) - set(SOURCES))
    if bad:
        raise InputError(f"{path}: " + choices_message("source", bad[0], SOURCES))
    ids = table.loc[(table["source"] == "sotkanet") & (table["identifier"] != ""), "identifier"]
    if not ids.str.fullmatch(r"\d+").all():
        raise InputError(f"{path}: Sotkanet identifiers must be integer ids, got {ids[~ids.str.fullmatch(r'[0-9]+')].tolist()}")
    return table[list(COLUMNS)]


def catalogue_for(model: str | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """Rows of one model (plus the ``all`` rows), or the whole catalogue for ``None``."""
    table = load_catalogue(path)
    if model is None:
        return table
    models = sorted(set(table["model"]) - {"all"})
    if model not in models:
        raise InputError(choices_message("model", model, models))
    return table[table["model"].isin([model, "all"])].reset_index(drop=True)


def sotkanet_ids(model: str | None = None) -> list[int]:
    """Verified Sotkanet indicator ids of a model (or of all models)."""
    table = catalogue_for(model)
    ids = table.loc[(table["source"] == "sotkanet") & (table["identifier"] != ""), "identifier"]
    return sorted({int(i) for i in ids})


def statfin_tables(model: str | None = None) -> list[str]:
    """StatFin PxWeb table paths of a model (or of all models)."""
    table = catalogue_for(model)
    return sorted(set(table.loc[table["source"] == "statfin", "identifier"]) - {""})
