"""The youth-jobseeker fetch configuration (StatFin 12r5 via ``kuntakokeilu fetch preset``),
tested offline: a constructed client answers with a constructed 12r5-shaped table."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis import paths
from analysis.errors import InputError
from analysis.live import presets
from analysis.live.config import configured_series, read_config

REAL_RAW = paths.project_root() / "data" / "raw"
AREAS = ["SSS", "MK01", "KU091", "KU092", "KU005"]
MONTHS = [f"{y}M{m:02d}" for y in (2014, 2015) for m in range(1, 13)]


def constructed_12r5() -> pd.DataFrame:
    """Long table as PxWebClient.query returns it: one column per variable, ``value``."""
    rows = []
    for a, area in enumerate(AREAS):
        for i, month in enumerate(MONTHS):
            rows.append({"Alue": area, "Kuukausi": month, "Tiedot": "TYOTTOMAT25", "value": 10.0 * (a + 1) + i})
            rows.append({"Alue": area, "Kuukausi": month, "Tiedot": "TYOTTOMATLOPUSSA", "value": 100.0 * (a + 1) + i})
    return pd.DataFrame(rows)


class _StubHttp:
    calls = 1

    def url(self, path):
        return f"http://constructed.invalid/PxWeb/api/v1/fi/{path}"


class StubClient:
    """What fetch_statfin needs from a PxWebClient; records the query it was sent."""

    def __init__(self):
        self.http = _StubHttp()
        self.sent = None

    def table_metadata(self, table):
        return {"title": "constructed 12r5", "variables": [
            {"code": "Alue", "values": AREAS}, {"code": "Kuukausi", "values": MONTHS},
            {"code": "Tiedot", "values": ["TYOTTOMAT25", "TYOTTOMATLOPUSSA"]}]}

    def query(self, table, query, meta=None, progress=False):
        self.sent = (table, query)
        return constructed_12r5()


@pytest.fixture
def root(tmp_path):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    shutil.copy2(REAL_RAW / "MANIFEST.csv", raw / "MANIFEST.csv")
    return tmp_path


def test_preset_is_statfin_12r5_youth_jobseekers():
    spec = presets.preset("youth_jobseekers")
    assert spec["table"] == "StatFin/tyonv/statfin_tyonv_pxt_12r5.px"
    tiedot = next(q for q in spec["query"]["query"] if q["code"] == "Tiedot")["selection"]["values"]
    assert tiedot == ["TYOTTOMAT25", "TYOTTOMATLOPUSSA"]
    assert {s["name"] for s in spec["series"]} == {"youth_unemployed_jobseekers", "unemployed_jobseekers"}
    with pytest.raises(InputError, match="valid choices"):
        presets.preset("youth")


def test_preset_fetches_declares_and_feeds_the_panel(root):
    client = StubClient()
    cfg = root / "data" / "fetched_sources.yaml"
    result = presets.run_preset("youth_jobseekers", client=client, raw_dir=root / "data" / "raw", config_path=cfg)
    assert client.sent[0] == "StatFin/tyonv/statfin_tyonv_pxt_12r5.px"
    assert result.name.startswith("statfin_tyonv_pxt_12r5_") and result.rows == len(constructed_12r5())
    entries = read_config(cfg)
    assert [e["name"] for e in entries] == ["youth_unemployed_jobseekers", "unemployed_jobseekers"]
    assert all(e["snapshot"] == result.name and e["period"] == "month" for e in entries)
    series = {s.name: s for s in configured_series(cfg, root / "data" / "raw")}
    youth = series["youth_unemployed_jobseekers"].frame.set_index(["kunta", "year"])["value"]
    # annual mean of the months: area index 2 (KU091) -> 30 + mean(0..11) in 2014, 30 + mean(12..23) in 2015
    assert youth.loc[("091", 2014)] == pytest.approx(30 + 5.5) and youth.loc[("091", 2015)] == pytest.approx(30 + 17.5)
    assert set(youth.index.get_level_values("kunta")) == {"091", "092", "005"}      # municipalities only
    assert series["unemployed_jobseekers"].aggregation == "sum"
    # a second run refuses before downloading anything
    with pytest.raises(InputError, match="already declares"):
        presets.run_preset("youth_jobseekers", client=StubClient(), raw_dir=root / "data" / "raw", config_path=cfg)


def test_monthly_config_errors(root, tmp_path):
    from analysis.live.config import _statfin_frame

    data = constructed_12r5()
    entry = {"snapshot": "x.csv", "region": "Alue", "year": "Kuukausi", "period": "month"}
    with pytest.raises(InputError, match="several rows per municipality and month"):
        _statfin_frame(data, entry)
    bad = data.assign(Kuukausi="2015")
    with pytest.raises(InputError, match="months like 2015M01"):
        _statfin_frame(bad, {**entry, "filters": {"Tiedot": "TYOTTOMAT25"}})
    cfg = tmp_path / "f.yaml"
    cfg.write_text(yaml.safe_dump({"series": [{"name": "a", "snapshot": "s.csv", "kind": "statfin",
                                               "aggregation": "sum", "unit": "u", "label_en": "a", "label_fi": "a",
                                               "period": "week"}]}), encoding="utf-8")
    with pytest.raises(InputError, match="period"):
        read_config(cfg)


@pytest.mark.slow
def test_derived_youth_rates_in_the_panel(root):
    from analysis.panel import build_panel

    cfg = root / "data" / "fetched_sources.yaml"
    presets.run_preset("youth_jobseekers", client=StubClient(), raw_dir=root / "data" / "raw", config_path=cfg)
    panel = build_panel(extra_series=configured_series(cfg, root / "data" / "raw"), write=False)
    row = panel[(panel["kunta"] == "091") & (panel["year"] == 2014)].iloc[0]
    assert row["youth_share_of_unemployed"] == pytest.approx(100 * 35.5 / 305.5)
    assert row["youth_unemployed_per_1000"] == pytest.approx(1000 * 35.5 / row["population"])
    assert np.isnan(panel.loc[(panel["kunta"] == "049") & (panel["year"] == 2014), "youth_share_of_unemployed"]).all()
