"""`kuntakokeilu estimate`: JSON contract, methods, and clear errors (exit 2)."""
import json

import pytest

from analysis.cli import main
from analysis.simulate import simulate_panel

KEYS = {"method", "estimate", "se", "ci_low", "ci_high", "p_value", "inference", "n_units",
        "n_treated_units", "n_periods", "details"}
BASE = ["--unit", "unit", "--time", "year", "--outcome", "y", "--treated", "treated"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    df = simulate_panel(n_clusters=16, n_treated_clusters=4, effect=1.0, seed=3)
    csv, pq = tmp / "panel.csv", tmp / "panel.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(pq)
    bad = df.copy()
    bad["y"] = bad["y"].astype(str) + "x"
    bad.to_csv(tmp / "text.csv", index=False)
    dup = df._append(df.iloc[:1]) if hasattr(df, "_append") else None
    if dup is None:
        import pandas as pd
        dup = pd.concat([df, df.iloc[:1]])
    dup.to_csv(tmp / "dup.csv", index=False)
    nopre = df.copy()
    first = nopre.loc[nopre.treated == 1, "unit"].iloc[0]
    nopre.loc[nopre.unit == first, "treated"] = 1
    nopre.to_csv(tmp / "nopre.csv", index=False)
    return tmp


def run_json(capsys, args):
    code = main(["estimate", *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


@pytest.mark.parametrize("method,inference", [("did", "cluster"), ("twfe", "wild"), ("twfe", "ri")])
def test_json_contract(files, capsys, method, inference):
    d = run_json(capsys, [str(files / "panel.csv"), *BASE, "--method", method, "--cluster",
                          "cluster", "--inference", inference, "--reps", "499", "--seed", "1"])
    assert set(d) == KEYS
    assert d["method"] == method and d["inference"] == inference
    assert d["ci_low"] < d["estimate"] < d["ci_high"]
    assert 0 <= d["p_value"] <= 1
    assert d["n_periods"] == 9
    if inference != "cluster":
        assert d["se"] is None  # no SE exists for bootstrap / randomization inference
    else:
        assert d["se"] > 0


def test_event_study_json_and_parquet(files, capsys):
    d = run_json(capsys, [str(files / "panel.parquet"), *BASE, "--method", "event-study",
                          "--cluster", "cluster", "--covariates", "x"])
    rows = d["details"]["event_study"]
    assert {"event_time", "estimate", "se", "ci_low", "ci_high"} <= set(rows[0])
    assert [r["event_time"] for r in rows] == list(range(-5, 4))
    # the headline is the event-study average: the mean of the post-period coefficients
    post = [r["estimate"] for r in rows if r["event_time"] >= 0]
    assert d["estimate"] == pytest.approx(sum(post) / len(post), rel=1e-12)
    assert d["ci_low"] < d["estimate"] < d["ci_high"] and d["se"] > 0
    assert set(d["details"]["pretrend"]) >= {"statistic", "df", "p_value"}


def test_text_output(files, capsys):
    assert main(["estimate", str(files / "panel.csv"), *BASE, "--method", "twfe"]) == 0
    assert "Estimator: twfe" in capsys.readouterr().out


@pytest.mark.parametrize("name,extra,message", [
    ("panel.csv", ["--outcome", "nope"], "not in the data"),
    ("text.csv", [], "must be numeric"),
    ("dup.csv", [], "duplicate"),
    ("nopre.csv", [], "no pre-treatment period"),
    ("panel.csv", ["--method", "magic"], "unknown method"),
    ("panel.csv", ["--inference", "placebo"], "not available for method"),
    ("missing.csv", [], "file not found"),
])
def test_errors_exit_2(files, capsys, name, extra, message):
    args = ["estimate", str(files / name), *BASE, "--method", "twfe", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_sc_dispatch(files, capsys):
    pytest.importorskip("analysis.estimators.synthetic_control")
    df = simulate_panel(n_clusters=12, n_treated_clusters=1, sizes=[1] * 12, seed=2)
    path = files / "one.csv"
    df.to_csv(path, index=False)
    d = run_json(capsys, [str(path), *BASE, "--method", "sc"])
    assert d["method"] == "sc" and d["inference"] == "placebo"
    assert d["n_treated_units"] == 1
    w = d["details"]["weights"]
    assert sum(w.values()) == pytest.approx(1, abs=1e-6)


def test_csv_identifiers_keep_leading_zeros(tmp_path, capsys):
    df = simulate_panel(n_clusters=10, n_treated_clusters=3, seed=1)
    df["unit"] = df["unit"].map(lambda u: f"{u:03d}")
    path = tmp_path / "codes.csv"
    df.to_csv(path, index=False)
    d = run_json(capsys, [str(path), *BASE, "--method", "event-study", "--cluster", "cluster"])
    assert d["n_units"] == df["unit"].nunique()
    from analysis.commands.estimate import read_panel_file
    assert read_panel_file(path, ["unit"])["unit"].iloc[0] == "000"


def test_sdid_dispatch(files, capsys):
    pytest.importorskip("analysis.estimators.sdid")
    df = simulate_panel(n_clusters=15, n_treated_clusters=2, sizes=[1] * 15, seed=4)
    path = files / "sdid.csv"
    df.to_csv(path, index=False)
    d = run_json(capsys, [str(path), *BASE, "--method", "sdid", "--reps", "20", "--seed", "3"])
    assert set(d) == KEYS
    assert d["method"] == "sdid" and d["inference"] == "placebo"
    assert d["n_treated_units"] == 2
    assert sum(d["details"]["weights"].values()) == pytest.approx(1, abs=1e-6)
