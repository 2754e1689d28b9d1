"""The notebook pipeline: the evaluation plan (``notebooks/runs.yaml``), parameter validation
against each notebook's tagged ``parameters`` cell, and the papermill runner behind
``kuntakokeilu run``.
"""
from .plan import Plan, RunEntry, load_plan
from .parameters import notebook_parameters, validate_parameters
from .runner import RunOutcome, run_plan

__all__ = [
    "Plan",
    "RunEntry",
    "RunOutcome",
    "load_plan",
    "notebook_parameters",
    "run_plan",
    "validate_parameters",
]
