"""EstimateSpec: one validated settings object behind `kuntakokeilu estimate` and the notebook calls."""
import json
import shlex

import pytest

from analysis.cli import main
from analysis.errors import InputError
from analysis.simulate import simulate_panel
from analysis.spec import EstimateSpec, estimate_record


@pytest.fixture(scope="module")
def panel_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "frame.parquet"
    simulate_panel(n_clusters=14, n_treated_clusters=4, effect=1.0, seed=5).to_parquet(path)
    return path


SPECS = [
    EstimateSpec("twfe", unit="unit", outcome="y", cluster="cluster", inference="cluster"),
    EstimateSpec("twfe", unit="unit", outcome="y", cluster="cluster", inference="wild", reps=199, seed=3,
                 options={"bootstrap_weights": "webb"}),
    EstimateSpec("did", unit="unit", outcome="y", cluster="cluster", inference="ri", reps=99, seed=2,
                 years=(2012, 2018)),
    EstimateSpec("sdid", unit="unit", outcome="y", cluster="cluster", reps=20, seed=1),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.method}-{s.inference}")
def test_command_reproduces_fit(spec, panel_file, capsys, monkeypatch):
    import pandas as pd

    expected = estimate_record(spec.method, spec.fit(pd.read_parquet(panel_file)), spec.inference)
    monkeypatch.chdir(panel_file.parent)
    words = shlex.split(spec.command("frame.parquet"))
    assert words[:3] == ["kuntakokeilu", "estimate", "frame.parquet"]
    assert main(words[1:]) == 0
    got = json.loads(capsys.readouterr().out)
    for key in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert got[key] == expected[key], key


def test_parsed_command_gives_the_same_spec(panel_file):
    import argparse

    from analysis.commands import estimate

    parser = argparse.ArgumentParser()
    estimate.register(parser.add_subparsers())
    for spec in SPECS:
        args = parser.parse_args(shlex.split(spec.command())[1:])
        assert EstimateSpec.from_args(args) == spec


@pytest.mark.parametrize("kwargs,message", [
    ({"method": "ols"}, "method"),
    ({"method": "twfe", "inference": "placebo"}, "not available for method"),
    ({"method": "twfe", "placebo_units": "nearest"}, "placebo-based inference"),
    ({"method": "twfe", "inference": "ri", "placebo_units": "far"}, "placebo units"),
    ({"method": "sc", "options": {"bootstrap_weights": "webb"}}, "does not apply"),
    ({"method": "twfe", "reps": 0}, "reps"),
])
def test_invalid_settings_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        EstimateSpec(**kwargs)
