"""Pilot registry of law 1350/2014 § 2."""
from __future__ import annotations

import pytest

from analysis import municipalities, registry
from analysis.errors import InputError


def test_registry_counts():
    assert len(registry.units()) == 16
    assert len(registry.municipalities(division_year=registry.REGISTRY_DIVISION_YEAR)) == 57
    assert len(registry.models()) == 6
    assert len(registry.unit_model_pairs()) == 29
    assert registry.models() == list(registry.MODELS)


def test_harmonised_members_follow_mergers():
    # § 30: Hämeenkoski (283) -> Hollola (098), Nastola (532) -> Lahti (398) on 1.1.2016
    assert registry.members("lahti_group", 2014) == ["098", "142", "283", "316", "398", "532"]
    assert registry.members("lahti_group") == ["098", "142", "316", "398"]
    assert len(registry.municipalities()) == 55


def test_every_registry_municipality_is_in_the_harmonised_division():
    division = set(municipalities.codes())
    assert set(registry.municipalities()) <= division


def test_models_per_unit_and_municipality():
    assert registry.units("kela_cooperation") == ["vantaa"]
    assert registry.units("education_services") == ["riihimaki_group"]
    assert len(registry.units("integrated_welfare")) == 8
    assert len(registry.units("youth_guarantee")) == 11
    assert registry.models_of("092") == ["housing_services", "kela_cooperation", "youth_guarantee"]
    assert registry.models_of("286") == ["integrated_welfare", "housing_services", "youth_guarantee"]
    assert registry.models_of("532") == registry.models_of("398") == ["youth_guarantee"]
    assert registry.models_of("005") == []
    assert registry.unit_of("179", "supervision") == "jyvaskyla_group"
    assert registry.unit_of("005", "supervision") is None


def test_eksote_is_a_member_without_code():
    members = registry.members_frame("lappeenranta_group")
    eksote = members[members["member_kind"] == "joint_authority"]
    assert len(eksote) == 1 and eksote["kuntanumero"].isna().all()
    assert all(len(c) == 3 for c in registry.members("lappeenranta_group"))


def test_unknown_model_unit_and_code_list_valid_choices():
    with pytest.raises(InputError, match="valid choices: education_services"):
        registry.units("welfare")
    with pytest.raises(InputError, match="unknown pilot unit 'x'"):
        registry.members("x")
    with pytest.raises(InputError, match="unknown municipality code '999'"):
        registry.models_of("999")
    with pytest.raises(InputError, match="malformed municipality code"):
        registry.models_of("Helsinki")


def test_reference_files_are_checked_and_reproducible(tmp_path):
    import shutil

    import pandas as pd

    from analysis import paths, raw
    from analysis.errors import DataIntegrityError

    manifest = raw.read_manifest(paths.REFERENCE)
    assert set(manifest) == {"kuntakokeilu_participants_1350_2014.csv", "municipalities_2023.csv",
                             "mergers_2006_2023.csv", "codebook.csv", "known_breaks.csv"}
    for name in manifest:
        raw.raw_path(name, paths.REFERENCE)
    # the derived tables are what the code derives from data/raw
    for name, frame in municipalities.reference_tables().items():
        shipped = pd.read_csv(paths.REFERENCE / name, dtype=str, keep_default_na=False)
        derived = frame.astype(object).where(frame.notna(), "").astype(str)
        derived.columns = shipped.columns
        pd.testing.assert_frame_equal(shipped, derived, check_dtype=False)
    # a changed registry byte is refused
    shutil.copy(paths.REFERENCE / "MANIFEST.csv", tmp_path / "MANIFEST.csv")
    data = bytearray((paths.REFERENCE / registry.REGISTRY_FILE).read_bytes())
    data[-5] ^= 0x01
    (tmp_path / registry.REGISTRY_FILE).write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match=registry.REGISTRY_FILE):
        raw.raw_path(registry.REGISTRY_FILE, tmp_path)


def test_unit_table():
    table = registry.unit_table()
    assert len(table) == 16
    assert int(table[registry.models()].to_numpy().sum()) == 29
    assert table["n_municipalities"].sum() == 55  # 2023 division; no municipality is in two units
    assert table.set_index("unit_id").loc["lappeenranta_group", "joint_authority"]
