"""Read a notebook's tagged ``parameters`` cell and validate run parameters against it.

Validation happens before anything is executed or written (issue 4 § 3):

* unknown parameter names (the valid names are the notebook's parameters);
* wrong types (the type of the default value in the parameters cell; ``int`` is accepted
  where a ``float`` is expected; a ``None`` default accepts only ``None`` unless the cell
  annotates the type, e.g. ``figure_dir: str | None = None``);
* ranges: non-finite numbers, negative ``seed``, fewer than :data:`MIN_DRAWS` draws in a
  ``*_reps`` parameter, counts such as ``sc_donors`` or ``n_matched`` below 1;
* domain values: ``model`` must be a model of the pilot registry, ``outcome`` an outcome
  available for that model, ``start_year``/``end_year`` and ``placebo_years`` inside the panel's
  years, ``covariates`` columns of the panel, ``estimators``/``inference``/``control_pool(s)``
  among the known choices.

Every error is an :class:`~analysis.errors.InputError` naming the problem and the valid values.
"""
from __future__ import annotations

import ast
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, choices_message

PARAMETERS_TAG = "parameters"
#: parameters the runner fills in itself (never needed in runs.yaml)
RUNNER_PARAMETERS = ("output_dir", "run_id", "panel_path")
#: fewest draws a ``*_reps`` parameter may ask for: with 19 draws a p-value of 1/20 = 0.05 is
#: the smallest attainable, below that no test at the 5 % level can reject
MIN_DRAWS = 19
#: counts that must be at least 1
POSITIVE_COUNTS = ("sc_donors", "n_matched", "n_donors", "neighbours", "k")
_ANNOTATION_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "list": list,
                     "dict": dict, "None": type(None)}


def read_notebook(notebook_path: str | os.PathLike) -> dict:
    """A notebook file as JSON (without importing nbformat: the runner's fast path)."""
    path = Path(notebook_path)
    if not path.is_file():
        raise InputError(f"notebook not found: {path}")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # malformed JSON / not a notebook
        raise InputError(f"cannot read notebook {path}: {exc}") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InputError(f"cannot read notebook {path}: not a Jupyter notebook (no 'cells' list)")
    return nb


def parameters_cell(notebook_path: str | os.PathLike) -> dict:
    """The (first) code cell tagged ``parameters`` (``source`` joined into one string);
    InputError if there is none."""
    path = Path(notebook_path)
    for cell in read_notebook(path)["cells"]:
        if not isinstance(cell, dict):
            continue
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags:
            source = cell.get("source", "")
            return {**cell, "source": "".join(source) if isinstance(source, list) else str(source)}
    raise InputError(f"notebook {path.name} has no code cell tagged '{PARAMETERS_TAG}'")


def notebook_parameters(notebook_path: str | os.PathLike) -> dict[str, Any]:
    """Names and default values of the notebook's parameters cell (in order).

    Only plain assignments of Python literals are allowed (``name = <literal>``, optionally
    annotated), so that defaults can be read without executing anything.
    """
    return {name: default for name, (default, _) in notebook_declarations(notebook_path).items()}


def _annotation_types(node: ast.AST | None) -> tuple[type, ...] | None:
    """Types named by a simple annotation (``str``, ``str | None``, ``Optional[int]``,
    ``list[str]``); ``None`` if there is no annotation or it is not understood."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and node.value is None:
        return (type(None),)
    if isinstance(node, ast.Name) and node.id in _ANNOTATION_TYPES:
        return (_ANNOTATION_TYPES[node.id],)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _annotation_types(node.left), _annotation_types(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        if node.value.id == "Optional":
            inner = _annotation_types(node.slice)
            return None if inner is None else inner + (type(None),)
        if node.value.id in ("list", "dict"):
            return (_ANNOTATION_TYPES[node.value.id],)
    return None


def notebook_declarations(notebook_path: str | os.PathLike) -> dict[str, tuple[Any, tuple[type, ...] | None]]:
    """``name -> (default, annotated types or None)`` of the notebook's parameters cell."""
    cell = parameters_cell(notebook_path)
    try:
        tree = ast.parse(cell["source"])
    except SyntaxError as exc:
        raise InputError(f"parameters cell of {Path(notebook_path).name} is not valid Python: {exc}") from exc
    params: dict[str, tuple[Any, tuple[type, ...] | None]] = {}
    for node in tree.body:
        annotation = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value, annotation = node.target.id, node.value, node.annotation
        else:
            raise InputError(
                f"parameters cell of {Path(notebook_path).name}: only 'name = literal' lines are allowed "
                f"(line {getattr(node, 'lineno', '?')})"
            )
        try:
            params[name] = (ast.literal_eval(value), _annotation_types(annotation))
        except ValueError as exc:
            raise InputError(
                f"parameters cell of {Path(notebook_path).name}: default of {name!r} is not a literal"
            ) from exc
    return params


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _check_type(name: str, value: Any, default: Any, declared: tuple[type, ...] | None = None) -> Any:
    """Return ``value`` (int -> float where a float is expected) or raise InputError.

    A ``None`` default accepts only ``None``, or the types its annotation declares."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"parameter {name!r} must be a finite number, got {value!r}")
    if declared is not None and default is None:
        if value is None and type(None) in declared:
            return value
        kinds = tuple(t for t in declared if t is not type(None))
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            names = " | ".join("None" if t is type(None) else t.__name__ for t in declared)
            raise InputError(f"parameter {name!r} must be {names} (as the notebook declares), "
                             f"got {_type_name(value)} {value!r}")
        return value
    if default is None:
        if value is None:
            return value
        raise InputError(
            f"parameter {name!r} has no declared type in the notebook (its default is None), so it "
            f"accepts only null, got {_type_name(value)} {value!r}; the notebook may declare one, "
            f"e.g. `{name}: str | None = None`"
        )
    if value is None:
        raise InputError(
            f"parameter {name!r} must be {_type_name(default)} (like the default {default!r}), got null"
        )
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
            ok = all(isinstance(v, tuple(kinds)) and not (isinstance(v, bool) and bool not in kinds)
                     for v in value)
        if ok:
            for v in value:
                if isinstance(v, float) and not math.isfinite(v):
                    raise InputError(f"parameter {name!r} must hold finite numbers, got {v!r}")
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
    #: columns of the panel (valid ``covariates``); ``None`` = not checked
    columns: list[str] | None = None


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
    declarations = notebook_declarations(notebook_path)
    declared = {name: default for name, (default, _) in declarations.items()}
    if not isinstance(parameters, Mapping):
        raise InputError(f"{where}parameters must be a mapping of name -> value")
    out: dict[str, Any] = {}
    try:
        for name, value in parameters.items():
            if name not in declared:
                raise InputError(choices_message(f"parameter of {Path(notebook_path).name}", name, declared))
            out[name] = _check_type(name, value, *declarations[name])
            _check_range(name, out[name])
        if domains is not None:
            effective = {**declared, **out}
            _check_domains(effective, domains)
    except InputError as exc:
        raise InputError(f"{where}{exc}") from None
    return out


def _check_range(name: str, value: Any) -> None:
    """Ranges of well-known parameter names (seeds, draws, counts)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if name == "seed" or name.endswith("_seed"):
        if value < 0:
            raise InputError(f"parameter {name!r} must be a non-negative integer seed, got {value}")
    elif name == "reps" or name.endswith("_reps"):
        if value < MIN_DRAWS:
            raise InputError(
                f"parameter {name!r} = {value} is too few draws: the minimum is {MIN_DRAWS} (with fewer, "
                "no p-value below 0.05 is attainable)"
            )
    elif name in POSITIVE_COUNTS and value < 1:
        raise InputError(f"parameter {name!r} must be at least 1, got {value}")


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
    if d.control_pools is not None:
        for key in ("control_pool", "control_pools"):
            for value in _as_list(p.get(key)):
                if value not in d.control_pools:
                    raise InputError(choices_message(key.rstrip("s"), value, d.control_pools))
    if d.columns is not None:
        for value in _as_list(p.get("covariates")):
            if value not in d.columns:
                raise InputError(choices_message("covariate (a column of the panel)", value, d.columns))
    if d.years is not None and p.get("placebo_years") is not None:
        lo, hi = d.years
        start = p.get("start_year") if isinstance(p.get("start_year"), int) else lo
        for year in _as_list(p["placebo_years"]):
            if not isinstance(year, int) or not (max(lo, start) < year < 2015):
                raise InputError(
                    f"placebo year {year!r} must be a pre-period year after the first year "
                    f"({max(lo, start)}) and before the pilots (2015)"
                )


def default_domains(panel_path: str | os.PathLike | None = None) -> Domains:
    """Valid values from the pilot registry, the outcome catalogue and the panel's years.

    Parts whose source is not available (e.g. the panel has not been built yet) are left
    unchecked (``None``); the notebook then fails with its own error.
    """
    from ..study import domain_values

    values = dict(domain_values(panel_path))
    if "columns" not in values:
        values["columns"] = panel_columns(panel_path)
    known = set(Domains.__dataclass_fields__)
    return Domains(**{k: v for k, v in values.items() if k in known})


def panel_columns(panel_path: str | os.PathLike | None = None) -> list[str] | None:
    """Column names of the panel file (its Parquet schema only), ``None`` if unreadable."""
    from .. import paths

    path = Path(panel_path) if panel_path is not None else paths.PANEL_FILE
    try:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    except Exception:  # missing or unreadable: checked by `kuntakokeilu run` before anything runs
        return None
