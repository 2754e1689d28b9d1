"""Raw snapshots: manifest complete, checksums verified on read, loaders give tidy frames."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import paths, raw, sources
from analysis.errors import DataIntegrityError, InputError

SHARED_FILES = {
    "abolished_municipalities_1922_2022.csv", "municipal_panel_2010_2018_haaga2024.csv.gz",
    "municipality_key_2013_2026.csv", "municipality_urban_rural_type.csv",
    "nurse_copay_adoption_2011_2019_haaga2024.csv", "sotkanet_127_population_2000_2022.csv",
    "sotkanet_dump_2013_kunta_1990_2012.csv.gz", "sotkanet_regions_kunta_2013.csv",
    "statfin_kuntien_avainluvut_2019div_2006_2016.csv", "tem_tyonv_12r5_monthly_2006_2023.csv.gz",
}


def test_manifest_lists_every_shipped_file_with_provenance():
    manifest = raw.read_manifest()
    assert SHARED_FILES <= set(manifest)
    for name, entry in manifest.items():
        assert (paths.RAW / name).exists(), name
        assert len(entry.sha256) == 64
        assert entry.source and entry.licence and entry.attribution and entry.original_id
        assert entry.rows > 0 and entry.bytes == (paths.RAW / name).stat().st_size


def test_every_raw_file_matches_its_checksum():
    manifest = raw.read_manifest()
    for name, entry in manifest.items():
        assert raw.sha256_of(raw.raw_path(name)) == entry.sha256


@pytest.mark.parametrize("name", ["statfin_kuntien_avainluvut_2019div_2006_2016.csv",
                                  "tem_tyonv_12r5_monthly_2006_2023.csv.gz",
                                  "sotkanet_127_population_2000_2022.csv"])
def test_manifest_row_counts(name):
    assert len(pd.read_csv(raw.raw_path(name))) == raw.read_manifest()[name].rows


def test_gz_files_stay_gzipped():
    for name in raw.read_manifest():
        if name.endswith(".gz"):
            with gzip.open(paths.RAW / name) as handle:
                assert handle.read(10)


def _copy_raw(tmp_path: Path, name: str) -> Path:
    shutil.copy(paths.RAW / "MANIFEST.csv", tmp_path / "MANIFEST.csv")
    shutil.copy(paths.RAW / name, tmp_path / name)
    return tmp_path / name


def test_flipped_byte_is_a_clear_integrity_error(tmp_path):
    name = "sotkanet_127_population_2000_2022.csv"
    path = _copy_raw(tmp_path, name)
    assert raw.raw_path(name, tmp_path) == path  # an unchanged copy passes
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    expected = raw.read_manifest()[name].sha256
    with pytest.raises(DataIntegrityError) as err:
        sources.load_sotkanet_population(directory=tmp_path)
    message = str(err.value)
    assert name in message and expected in message and raw.sha256_of(path) in message


def test_missing_file_and_unknown_name(tmp_path):
    shutil.copy(paths.RAW / "MANIFEST.csv", tmp_path / "MANIFEST.csv")
    with pytest.raises(DataIntegrityError, match="missing"):
        raw.raw_path("municipality_key_2013_2026.csv", tmp_path)
    with pytest.raises(InputError, match="valid choices"):
        raw.raw_path("no_such_file.csv")


def test_missing_manifest_is_an_error(tmp_path):
    with pytest.raises(DataIntegrityError, match="manifest"):
        raw.read_manifest(tmp_path)


def test_kunta_code_normalisation():
    assert sources.kunta_code([5, "5", "005", "KU005", 5.0]).tolist() == ["005"] * 5
    with pytest.raises(DataIntegrityError):
        sources.kunta_code(["Helsinki"])


def test_loaders_return_tidy_long_frames():
    for frame in (sources.load_statfin_key_figures(), sources.load_haaga_panel(),
                  sources.load_sotkanet_population(), sources.tem_unemployment_rate()):
        assert list(frame.columns) == ["kunta", "year", "variable", "value"]
        assert frame["kunta"].str.fullmatch(r"\d{3}").all()
        assert not frame.duplicated(["kunta", "year", "variable"]).any()


def test_tem_unemployment_rate_is_annual_mean_of_monthly_ratios():
    monthly = sources.load_tem_monthly()
    vantaa = monthly[(monthly["kunta"] == "092") & (monthly["year"] == 2015)]
    assert len(vantaa) == 12
    expected = (100 * vantaa["unemployed"] / vantaa["labour_force"]).mean()
    rate = sources.tem_unemployment_rate()
    got = rate.loc[(rate["kunta"] == "092") & (rate["year"] == 2015), "value"].item()
    assert got == pytest.approx(expected, rel=1e-12)


def test_nurse_copay_loader():
    frame = sources.load_nurse_copay()
    assert len(frame) == raw.read_manifest()[sources.NURSE_COPAY].rows == 418
    assert frame["kunta"].nunique() == 320
    assert frame["kunta"].str.fullmatch(r"\d{3}").all()
    notes = frame["notes"].dropna()
    assert notes.str.contains("ä").any() and not notes.str.contains("Ã|\ufffd").any()
    assert str(frame["year"].dtype) == "Int64" and frame["year"].dropna().between(2011, 2019).all()
    assert set(frame["adopted"].dropna().unique()) <= {0, 1}


def test_mixed_encoding_decoder():
    data = "a;ä\n".encode("utf-8") + "b;ö\n".encode("latin-1")
    assert sources._decode_mixed(data) == "a;ä\nb;ö\n"


def test_verify_all_and_line_endings_protected():
    assert set(raw.verify_all()) == set(raw.read_manifest())
    assert "-text" in (paths.RAW / ".gitattributes").read_text()
