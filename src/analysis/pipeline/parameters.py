"""Read a notebook's tagged ``parameters`` cell and validate run parameters against it.

Validation happens before anything is executed or written (issue 4 § 3):

* unknown parameter names (the valid names are the notebook's parameters);
* wrong types (the type of the default value in the parameters cell; ``int`` is accepted
  where a ``float`` is expected; a ``None`` default accepts anything);
* domain values: ``model`` must be a model of the pilot registry, ``outcome`` an outcome
  available for that model, ``start_year``/``end_year`` inside the panel's years,
  ``estimators``/``inference``/``control_pool`` among the known choices.

Every error is an :class:`~analysis.errors.InputError` naming the problem and the valid values.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import nbformat

from ..errors import InputError, choices_message

PARAMETERS_TAG = "parameters"
#: parameters the runner fills in itself (never needed in runs.yaml)
RUNNER_PARAMETERS = ("output_dir", "run_id", "panel_path")


def parameters_cell(notebook_path: str | os.PathLike):
    """The (first) code cell tagged ``parameters``; InputError if there is none."""
    path = Path(notebook_path)
    if not path.is_file():
        raise InputError(f"notebook not found: {path}")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # malformed JSON / not a notebook
        raise InputError(f"cannot read notebook {path}: {exc}") from exc
    for cell in nb.cells:
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return cell
    raise InputError(f"notebook {path.name} has no code cell tagged '{PARAMETERS_TAG}'")


def notebook_parameters(notebook_path: str | os.PathLike) -> dict[str, Any]:
    """Names and default values of the notebook's parameters cell (in order).

    Only plain assignments of Python literals are allowed (``name = <literal>``, optionally
    annotated), so that defaults can be read without executing anything.
    """
    cell = parameters_cell(notebook_path)
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise InputError(f"parameters cell of {Path(notebook_path).name} is not valid Python: {exc}") from exc
    params: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            raise InputError(
                f"parameters cell of {Path(notebook_path).name}: only 'name = literal' lines are allowed "
                f"(line {getattr(node, 'lineno', '?')})"
            )
        try:
            params[name] = ast.literal_eval(value)
        except ValueError as exc:
            raise InputError(
                f"parameters cell of {Path(notebook_path).name}: default of {name!r} is not a literal"
            ) from exc
    return params


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _check_type(name: str, value: Any, default: Any) -> Any:
    """Return ``value`` (int -> float where a float is expected) or raise InputError."""
    if default is None or value is None and default is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))
        if ok and default:
            kinds = {type(v) for v in default}
            ok = all(isinstance(v, tuple(kinds)) for v in value)
        if ok:
            value = list(value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise InputError(
            f"parameter {name!r} must be {_type_name(default)} (like the default {default!r}), "
            f"got {_type_name(value)} {value!r}"
        )
    return value


@dataclass
class Domains:
    """Valid values of the domain parameters; ``None`` = not checked."""

    #: model -> its outcomes (``None`` for a model: outcomes not checked)
    model_outcomes: Mapping[str, list[str] | None] | None = None
    years: tuple[int, int] | None = None
    outcome_years: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    estimators: list[str] | None = None
    inference: list[str] | None = None
    control_pools: list[str] | None = None


def validate_parameters(
    notebook_path: str | os.PathLike,
    parameters: Mapping[str, Any],
    domains: Domains | None = None,
    *,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Check ``parameters`` against the notebook and ``domains``; return them normalised
    (e.g. ints as floats where the default is a float). Raises :class:`InputError`."""
    where = f"run {run_id!r}: " if run_id else ""
    declared = notebook_parameters(notebook_path)
    if not isinstance(parameters, Mapping):
        raise InputError(f"{where}parameters must be a mapping of name -> value")
    out: dict[str, Any] = {}
    try:
        for name, value in parameters.items():
            if name not in declared:
                raise InputError(choices_message(f"parameter of {Path(notebook_path).name}", name, declared))
            out[name] = _check_type(name, value, declared[name])
        if domains is not None:
            effective = {**declared, **out}
            _check_domains(effective, domains)
    except InputError as exc:
        raise InputError(f"{where}{exc}") from None
    return out


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_domains(p: Mapping[str, Any], d: Domains) -> None:
    model = p.get("model")
    if d.model_outcomes is not None and model is not None:
        if model not in d.model_outcomes:
            raise InputError(choices_message("model", model, d.model_outcomes))
        outcome = p.get("outcome")
        valid_outcomes = d.model_outcomes[model]
        if outcome is not None and valid_outcomes is not None and outcome not in valid_outcomes:
            raise InputError(
                f"outcome {outcome!r} is not available for model {model!r}; valid choices: "
                + (", ".join(sorted(valid_outcomes)) or "(none: this model has no outcome series)")
            )
    if d.years is not None:
        lo, hi = d.years
        outcome = p.get("outcome")
        if outcome in d.outcome_years:
            lo, hi = d.outcome_years[outcome]
        for key in ("start_year", "end_year"):
            year = p.get(key)
            if year is not None and not (lo <= year <= hi):
                what = f"for outcome {outcome!r} " if outcome in d.outcome_years else "in the panel "
                raise InputError(f"{key}={year} is outside the data: valid years {what}are {lo}-{hi}")
        start, end = p.get("start_year"), p.get("end_year")
        if start is not None and end is not None and start >= end:
            raise InputError(f"start_year={start} must be before end_year={end}")
        if start is not None and start >= 2015:
            raise InputError(f"start_year={start} leaves no pre-period: the pilots started in 2015")
    for key, valid in (("estimators", d.estimators), ("inference", d.inference)):
        if valid is None or key not in p:
            continue
        for value in _as_list(p[key]):
            if value not in valid:
                raise InputError(choices_message(key.rstrip("s") if key == "estimators" else key, value, valid))
    if d.control_pools is not None and p.get("control_pool") is not None:
        for value in _as_list(p["control_pool"]):
            if value not in d.control_pools:
                raise InputError(choices_message("control_pool", value, d.control_pools))


def default_domains(panel_path: str | os.PathLike | None = None) -> Domains:
    """Valid values from the pilot registry, the outcome catalogue and the panel's years.

    Parts whose source is not available (e.g. the panel has not been built yet) are left
    unchecked (``None``); the notebook then fails with its own error.
    """
    from ..evaluation import domain_values

    return Domains(**domain_values(panel_path))
