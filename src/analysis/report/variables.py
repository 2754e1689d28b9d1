"""Every number used in the report's prose, generated from the run results.

Writes ``variables.yml`` (nested, read by Quarto's ``{{< var a.b.c >}}`` shortcode as
``_variables.yml``) and a JSON twin ``variables.json`` that records, for each dotted key, the
raw value, the formatted text, the number of decimals and the source (file and JSON pointer in
the run folder), so that tests can check every printed number against the run results.

Key scheme: the run id first, so that no run can overwrite another's numbers:
``<run_id>.<estimate>.<field>`` for estimates (``<estimate>`` is the estimate's ``id`` in
``results.json``, or ``<estimator>_<inference>[_<term>]`` for results without ids; ``field`` in
``estimate, se, ci_low, ci_high, p_value, n_clusters, n_treated_clusters``), and
``<run_id>.<field>`` for run-level numbers (``n_treated_units``, ``n_control_municipalities``,
``pretrend_p_value``, ``mde``, ``sc_placebo_p_value``, ...). ``registry.*`` and ``runs.*`` hold
counts from the pilot registry and the run table. Adding a key twice is an error.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .. import atomic
from ..formatting import decimals_for
from .runs import Run

ESTIMATE_FIELDS = ("estimate", "se", "ci_low", "ci_high")
P_FIELDS = ("p_value",)
COUNT_FIELDS = ("n_clusters", "n_treated_clusters")


@dataclass(frozen=True)
class Variable:
    key: str
    value: float | int
    text: str
    digits: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "text": self.text, "digits": self.digits, "source": self.source}


def slug(text: str) -> str:
    """Lower-case identifier usable as a YAML key and in Quarto labels."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "x"


def format_number(value: float | int, kind: str = "estimate") -> tuple[str, int]:
    """``(text, decimals)``; p-values below 0.001 print as ``<0.001`` (decimals 3)."""
    d = decimals_for(float(value), kind)
    if kind == "p" and 0 <= value < 0.001:
        return "<0.001", 3
    if kind == "count":
        return f"{int(round(value))}", 0
    text = f"{round(float(value), d):.{d}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text, d


def parse_number(text: str) -> float:
    """Inverse of :func:`format_number` for tests (``<0.001`` parses as 0.0005)."""
    t = text.strip().replace("\u2212", "-")
    if t == "<0.001":
        return 0.0005
    return float(t)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


class VariableSet:
    """Collects variables; ``nested()`` for YAML, ``flat()`` for the JSON twin."""

    def __init__(self) -> None:
        self._vars: dict[str, Variable] = {}

    def add(self, key: str, value: Any, kind: str, source: str) -> Variable | None:
        if not _finite(value):
            return None
        if key in self._vars:
            raise ValueError(f"variable {key!r} defined twice ({self._vars[key].source} and {source})")
        text, digits = format_number(value, kind)
        var = Variable(key, int(value) if kind == "count" else float(value), text, digits, source)
        self._vars[key] = var
        return var

    def __contains__(self, key: str) -> bool:
        return key in self._vars

    def __getitem__(self, key: str) -> Variable:
        return self._vars[key]

    def get(self, key: str) -> Variable | None:
        return self._vars.get(key)

    def keys(self) -> Iterable[str]:
        return self._vars.keys()

    def flat(self) -> dict[str, dict[str, Any]]:
        return {k: v.to_dict() for k, v in sorted(self._vars.items())}

    def nested(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, var in sorted(self._vars.items()):
            node = out
            parts = key.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = var.text
        return out


RUN_KEY = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def run_prefix(run: Run) -> str:
    """Key prefix of a run: its run id (unique in the plan, ``[a-z0-9_]+``)."""
    return run.run_id if RUN_KEY.match(run.run_id) else slug(run.run_id)


def estimate_key(estimate: dict[str, Any], estimates: list[dict[str, Any]]) -> str:
    """The estimate's ``id`` (unique within its run); for results without ids
    ``<estimator>_<inference>``, plus ``_<term>`` when that pair has several terms."""
    if estimate.get("id") is not None:
        return slug(estimate["id"])
    base = f"{slug(estimate.get('estimator'))}_{slug(estimate.get('inference'))}"
    same = [e for e in estimates if e.get("estimator") == estimate.get("estimator")
            and e.get("inference") == estimate.get("inference")]
    if len(same) > 1:
        base += f"_{slug(estimate.get('term'))}"
    return base


def add_run_variables(vs: VariableSet, run: Run) -> None:
    if not run.ok:
        return
    res = run.results or {}
    prefix = run_prefix(run)
    src = f"{run.run_id}/results.json#"
    # schema 2 keeps the design in "design" and the pre-trend test in "pretrend"
    design, dsrc = (res["design"], f"{src}/design") if isinstance(res.get("design"), dict) else (res, src)
    for name in ("n_treated_units", "n_treated_municipalities", "n_control_municipalities"):
        vs.add(f"{prefix}.{name}", design.get(name), "count", f"{dsrc}/{name}")
    years = design.get("years") or []
    if len(years) == 2:
        vs.add(f"{prefix}.year_start", years[0], "count", f"{dsrc}/years/0")
        vs.add(f"{prefix}.year_end", years[1], "count", f"{dsrc}/years/1")
    if isinstance(res.get("pretrend"), dict):
        vs.add(f"{prefix}.pretrend_p_value", res["pretrend"].get("p_value"), "p", f"{src}/pretrend/p_value")
    else:
        vs.add(f"{prefix}.pretrend_p_value", res.get("pretrend_p_value"), "p", f"{src}/pretrend_p_value")
    estimates = res.get("estimates") or []
    for i, est in enumerate(estimates):
        ek = estimate_key(est, estimates)
        for f in ESTIMATE_FIELDS:
            vs.add(f"{prefix}.{ek}.{f}", est.get(f), "estimate", f"{src}/estimates/{i}/{f}")
        for f in P_FIELDS:
            vs.add(f"{prefix}.{ek}.{f}", est.get(f), "p", f"{src}/estimates/{i}/{f}")
        for f in COUNT_FIELDS:
            vs.add(f"{prefix}.{ek}.{f}", est.get(f), "count", f"{src}/estimates/{i}/{f}")
    power = res.get("power") or {}
    if isinstance(power, dict):
        vs.add(f"{prefix}.mde", power.get("mde"), "estimate", f"{src}/power/mde")
    sc = res.get("synthetic_control") or {}
    if isinstance(sc, dict):
        vs.add(f"{prefix}.sc_placebo_p_value", sc.get("placebo_p_value"), "p",
               f"{src}/synthetic_control/placebo_p_value")
        vs.add(f"{prefix}.sc_n_donors", sc.get("n_donors"), "count", f"{src}/synthetic_control/n_donors")
        if _finite(sc.get("n_donors")):
            # smallest attainable placebo p-value: 1 / (donors + 1) -- derived, source noted
            vs.add(f"{prefix}.sc_min_p_value", 1.0 / (float(sc["n_donors"]) + 1.0), "p",
                   f"{src}/synthetic_control/n_donors -> 1/(n+1)")


def registry_counts(registry) -> dict[str, int]:
    """Counts of the pilot registry (a DataFrame with the registry CSV's columns)."""
    munis = registry.loc[registry["member_kind"] == "municipality", "kuntanumero"]
    return {
        "n_units": int(registry["unit_id"].nunique()),
        "n_municipalities": int(munis.nunique()),
        "n_models": int(registry["model_id"].nunique()),
        "n_unit_model_pairs": int(registry[["unit_id", "model_id"]].drop_duplicates().shape[0]),
    }


def build_variables(runs: list[Run], registry=None) -> VariableSet:
    """All prose numbers from the runs (and registry counts, if a registry frame is given)."""
    vs = VariableSet()
    for run in runs:
        add_run_variables(vs, run)
    vs.add("runs.n_runs", len(runs), "count", "run folders")
    vs.add("runs.n_ok", sum(r.ok for r in runs), "count", "run.json status == ok")
    vs.add("runs.n_failed", sum(not r.ok for r in runs), "count", "run.json status != ok")
    vs.add("runs.n_missing", sum(r.missing for r in runs), "count", "plan runs without a current result")
    if registry is not None:
        for k, v in registry_counts(registry).items():
            vs.add(f"registry.{k}", v, "count", f"data/reference/kuntakokeilu_participants_1350_2014.csv: {k}")
    return vs


def write_variables(vs: VariableSet, build_dir: str | Path) -> tuple[Path, Path]:
    """Write ``variables.yml`` (nested texts) and ``variables.json`` (flat, with sources)."""
    import yaml

    build_dir = Path(build_dir)
    yml = atomic.write_text(build_dir / "variables.yml",
                            "# generated by analysis.report.variables -- do not edit\n"
                            + yaml.safe_dump(vs.nested(), allow_unicode=True, sort_keys=True))
    js = atomic.write_text(build_dir / "variables.json",
                           json.dumps(vs.flat(), indent=1, ensure_ascii=False) + "\n")
    return yml, js


def var(key: str) -> str:
    """The Quarto shortcode for ``key`` (used by the chapter generator)."""
    return "{{< var " + key + " >}}"
