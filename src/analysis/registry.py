"""The pilot registry of law 1350/2014 § 2 (``data/reference/kuntakokeilu_participants_1350_2014.csv``).

One row per model × member. The registry is intention-to-treat (§ 2 names who *may* take
part). Codes are those of the 2014 division; by § 30 a pilot continues in the new
municipality after a merger (Hämeenkoski → Hollola, Nastola → Lahti on 1.1.2016), so the
functions map members onto the harmonised division (:data:`analysis.municipalities.DIVISION_YEAR`)
unless ``division_year=REGISTRY_DIVISION_YEAR`` is asked for. Eksote (a joint authority) has
no municipality code; it appears in :func:`members_frame` but not in code lists.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from . import paths
from .errors import InputError, choices_message
from .municipalities import DIVISION_YEAR, check_code, to_division
from .raw import raw_path

REGISTRY_FILE = "kuntakokeilu_participants_1350_2014.csv"
REGISTRY_DIVISION_YEAR = 2014
MODELS = ("integrated_welfare", "education_services", "supervision", "housing_services",
          "kela_cooperation", "youth_guarantee")


@lru_cache(maxsize=2)
def _load(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    need = ["law_item", "model_id", "model_fi", "model_en", "unit_id", "unit_fi", "member_kind",
            "kuntanumero", "member_fi"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise InputError(f"registry {path} lacks column(s) {missing}")
    frame["kuntanumero"] = frame["kuntanumero"].str.strip().replace("", None)
    return frame


def registry_frame() -> pd.DataFrame:
    """The registry as published (one row per model × member, 2014 codes)."""
    return _load(str(raw_path(REGISTRY_FILE, paths.REFERENCE))).copy()


def _check_model(model: str) -> str:
    valid = models()
    if model not in valid:
        raise InputError(choices_message("model", model, valid))
    return model


def _check_unit(unit_id: str) -> str:
    valid = units()
    if unit_id not in valid:
        raise InputError(choices_message("pilot unit", unit_id, valid))
    return unit_id


def models() -> list[str]:
    """The six operating models, in law order."""
    reg = registry_frame()
    return list(dict.fromkeys(reg.sort_values("law_item", kind="stable")["model_id"]))


def model_names(model: str) -> dict[str, str]:
    """``{'fi': ..., 'en': ...}`` names of a model."""
    row = registry_frame().query("model_id == @_check_model(@model)").iloc[0]
    return {"fi": row["model_fi"], "en": row["model_en"]}


def units(model: str | None = None) -> list[str]:
    """Sorted unit ids (all 16, or those running ``model``)."""
    reg = registry_frame()
    if model is not None:
        reg = reg[reg["model_id"] == _check_model(model)]
    return sorted(reg["unit_id"].unique())


def unit_name(unit_id: str) -> str:
    reg = registry_frame()
    return reg.loc[reg["unit_id"] == _check_unit(unit_id), "unit_fi"].iloc[0]


def unit_model_pairs() -> list[tuple[str, str]]:
    """The 29 (unit, model) pairs."""
    reg = registry_frame()[["unit_id", "model_id"]].drop_duplicates()
    return sorted(map(tuple, reg.to_numpy()))


def _map(codes, division_year: int) -> list[str]:
    if division_year == REGISTRY_DIVISION_YEAR:
        return sorted(set(codes))
    return sorted({to_division(c, REGISTRY_DIVISION_YEAR, division_year) for c in codes})


def members(unit_id: str, division_year: int = DIVISION_YEAR) -> list[str]:
    """Municipality codes of a unit (Eksote, without a code, is not listed)."""
    reg = registry_frame()
    rows = reg[reg["unit_id"] == _check_unit(unit_id)]
    return _map(rows["kuntanumero"].dropna(), division_year)


def members_frame(unit_id: str | None = None) -> pd.DataFrame:
    """Members as published: unit_id, unit_fi, member_kind, kuntanumero (2014), member_fi."""
    reg = registry_frame()
    if unit_id is not None:
        reg = reg[reg["unit_id"] == _check_unit(unit_id)]
    cols = ["unit_id", "unit_fi", "member_kind", "kuntanumero", "member_fi"]
    return reg[cols].drop_duplicates().sort_values(["unit_id", "member_fi"]).reset_index(drop=True)


def municipalities(model: str | None = None, division_year: int = DIVISION_YEAR) -> list[str]:
    """Codes of municipalities in any pilot (or in ``model``)."""
    reg = registry_frame()
    if model is not None:
        reg = reg[reg["model_id"] == _check_model(model)]
    return _map(reg["kuntanumero"].dropna(), division_year)


def models_of(kunta) -> list[str]:
    """Models in which municipality ``kunta`` took part (a 2014 code or its harmonised
    successor, e.g. both '532' Nastola and '398' Lahti give Lahti's models)."""
    code = check_code(kunta)
    reg = registry_frame().dropna(subset=["kuntanumero"])
    reg = reg.assign(harmonised=[to_division(c, REGISTRY_DIVISION_YEAR) for c in reg["kuntanumero"]])
    target = to_division(code, REGISTRY_DIVISION_YEAR) if code in set(reg["kuntanumero"]) else code
    hit = reg[(reg["kuntanumero"] == code) | (reg["harmonised"] == target)]
    order = {m: i for i, m in enumerate(models())}
    return sorted(hit["model_id"].unique(), key=order.get)


def units_of(kunta, model: str | None = None) -> list[str]:
    """Pilot units of which ``kunta`` (harmonised code) is a member."""
    code = check_code(kunta)
    target = to_division(code, REGISTRY_DIVISION_YEAR)
    out = [u for u in units(model) if target in members(u) or code in members(u, REGISTRY_DIVISION_YEAR)]
    return sorted(out)


def unit_of(kunta, model: str) -> str | None:
    """The unit through which ``kunta`` runs ``model`` (None if it does not)."""
    found = units_of(kunta, model)
    return found[0] if found else None


def unit_table(division_year: int = DIVISION_YEAR) -> pd.DataFrame:
    """One row per pilot unit: unit_id, unit_fi, municipalities (harmonised codes, space-
    separated), n_municipalities, joint_authority (Eksote), and one 0/1 column per model."""
    reg = registry_frame()
    rows = []
    for unit in units():
        sub = reg[reg["unit_id"] == unit]
        codes = members(unit, division_year)
        row = {"unit_id": unit, "unit_fi": sub["unit_fi"].iloc[0], "municipalities": " ".join(codes),
               "n_municipalities": len(codes),
               "joint_authority": bool((sub["member_kind"] == "joint_authority").any())}
        for m in models():
            row[m] = int(m in set(sub["model_id"]))
        rows.append(row)
    return pd.DataFrame(rows)
