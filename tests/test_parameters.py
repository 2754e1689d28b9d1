"""Parameter validation against the notebooks' tagged parameters cells, the registry, the
outcome catalogue and the panel's years: clear errors listing the valid values."""
from __future__ import annotations

import pytest

from analysis.errors import InputError
from analysis.paths import NOTEBOOKS
from analysis.pipeline.parameters import default_domains, notebook_parameters, validate_parameters

NB = NOTEBOOKS / "20_model_evaluation.ipynb"


@pytest.fixture(scope="module")
def domains(panel_path):
    return default_domains(panel_path)


def test_notebook_parameters_read_without_executing():
    params = notebook_parameters(NB)
    for name in ("model", "outcome", "control_pool", "estimators", "inference", "start_year", "end_year",
                 "seed", "output_dir", "run_id", "panel_path"):
        assert name in params
    assert isinstance(params["start_year"], int) and isinstance(params["estimators"], list)


def test_valid_parameters_pass(domains):
    params = {"model": "kela_cooperation", "outcome": "social_assistance_eur_per_capita", "end_year": 2016,
              "estimators": ["sdid"], "inference": ["placebo"]}
    assert validate_parameters(NB, params, domains) == params


@pytest.mark.parametrize(
    "params, message",
    [
        ({"model": "integrated_wellfare"}, r"unknown model 'integrated_wellfare'; valid choices: education_services, "
                                           r"housing_services, integrated_welfare, kela_cooperation, supervision, "
                                           r"youth_guarantee"),
        ({"model": "kela_cooperation", "outcome": "unemployment_rate"},
         r"outcome 'unemployment_rate' is not available for model 'kela_cooperation'; valid choices: "
         r"social_assistance_eur_per_capita, social_assistance_households_per_1000"),
        ({"model": "integrated_welfare", "outcome": "social_health_costs_eur_per_capita", "start_year": 1990},
         r"start_year=1990 is outside the data: valid years for outcome 'social_health_costs_eur_per_capita' are"),
        ({"end_year": 2031}, r"end_year=2031 is outside the data"),
        ({"start_year": 2016}, r"no pre-period|must be before"),
        ({"start_year": "2010"}, r"parameter 'start_year' must be int .* got str '2010'"),
        ({"seed": 1.5}, r"parameter 'seed' must be int"),
        ({"estimators": "twfe"}, r"parameter 'estimators' must be list"),
        ({"estimators": ["twfe", "ols"]}, r"unknown estimator 'ols'; valid choices: did, event-study, sc, sdid, twfe"),
        ({"inference": ["bootstrap"]}, r"unknown inference 'bootstrap'; valid choices: cluster, placebo"),
        ({"control_pool": "nearby"}, r"unknown control_pool 'nearby'; valid choices: default, keep_other_pilots, matched, same_region"),
        ({"modle": "supervision"}, r"unknown parameter of 20_model_evaluation.ipynb 'modle'; valid choices: "
                                   r"control_pool, covariates, end_year, estimators"),
    ],
)
def test_invalid_parameters_are_rejected_with_valid_values(domains, params, message):
    with pytest.raises(InputError, match=message):
        validate_parameters(NB, params, domains, run_id="r")


def test_error_names_the_run(domains):
    with pytest.raises(InputError, match=r"^run 'my_run': unknown model"):
        validate_parameters(NB, {"model": "x"}, domains, run_id="my_run")


def test_notebook_without_parameters_cell(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "untagged.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(InputError, match="no code cell tagged 'parameters'"):
        notebook_parameters(path)
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.cells[0].source = "x = compute()"
    nbformat.write(nb, path)
    with pytest.raises(InputError, match="not a literal"):
        notebook_parameters(path)
