"""The specification grid: analytic choices, their product, and why a combination is invalid.

A grid (YAML, default ``grids/default.yaml``) has ``settings`` (placebo draws, seeds, the
significance level), ``choices`` (every value of every choice), ``blocks`` (extra products that
replace some choices), ``models`` (per-model narrowing) and ``outcomes`` (per-outcome values
that replace a choice everywhere, blocks included). A start year may be ``first``: the
outcome's first year with data. :func:`expand` turns it into :class:`Specification` objects,
each either runnable or skipped with a recorded reason.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .. import study
from ..errors import InputError, choices_message

#: the analytic choices, in the order the curve's panel lists them
CHOICES = ("control_pool", "start_year", "end_year", "estimator", "transform", "weighting",
           "covariates", "breaks")
#: estimators of the multiverse (``kuntakokeilu estimate --method`` names)
ESTIMATORS = ("twfe", "event-study", "sdid", "sc")
TRANSFORMS = ("level", "log")
WEIGHTINGS = ("none", "population")
BREAKS = ("exclude", "keep")
SETTINGS = {"placebo_draws": 999, "ri_reps": 999, "sdid_reps": 50, "alpha": 0.05,
            "seed": 20150105, "joint_estimators": ["twfe", "event-study", "sdid", "sc"]}
DEFAULT_GRID = "default.yaml"
GRID_KEYS = ("settings", "choices", "blocks", "models", "outcomes")
#: start-year keyword: the outcome's first year with data
FIRST_YEAR = "first"
#: fewest pre-period years (adoption year excluded) a window must have
MIN_PRE_YEARS = 2


@dataclass(frozen=True)
class Specification:
    """One specification: a model, an outcome and one value of every analytic choice."""

    model: str
    outcome: str
    control_pool: str
    start_year: int
    end_year: int
    estimator: str
    transform: str
    weighting: str
    covariates: tuple[str, ...]
    breaks: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["covariates"] = list(self.covariates)
        return d

    @property
    def spec_id(self) -> str:
        """Content hash (12 hex digits): the same choices give the same id everywhere."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def seed(self) -> int:
        """Seed of the specification's own random draws, derived from its content (so that a
        local and a distributed run draw the same numbers)."""
        return int(self.spec_id[:8], 16) % (2**31 - 1)

    @property
    def frame_key(self) -> tuple:
        """Choices that determine the analysis frame (the rest are estimator options)."""
        return (self.model, self.outcome, self.control_pool, self.start_year, self.end_year,
                self.covariates, self.breaks)

    @property
    def covariates_label(self) -> str:
        return ", ".join(self.covariates) if self.covariates else "none"


@dataclass
class Grid:
    settings: dict[str, Any]
    choices: dict[str, list]
    blocks: list[dict[str, list]] = field(default_factory=list)
    models: dict[str, dict[str, list]] = field(default_factory=dict)
    source: str = DEFAULT_GRID
    outcomes: dict[str, dict[str, list]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": dict(self.settings), "choices": dict(self.choices),
                "blocks": list(self.blocks), "models": dict(self.models),
                "outcomes": dict(self.outcomes), "source": self.source}


def default_grid_path() -> Path:
    return Path(str(resources.files("analysis.multiverse") / "grids" / DEFAULT_GRID))


def package_grids() -> list[str]:
    """Names of the grids shipped with the package (``default``, ``report``)."""
    return sorted(p.stem for p in default_grid_path().parent.glob("*.yaml"))


def grid_path(grid: str | Path | None) -> Path:
    """A grid file: a path, or the name of a package grid (``default``, ``report``)."""
    if grid is None:
        return default_grid_path()
    text = str(grid)
    if "/" not in text and not text.endswith((".yaml", ".yml")):
        if text not in package_grids():
            raise InputError(choices_message("grid", text, package_grids()) + " (or a YAML file path)")
        return default_grid_path().parent / f"{text}.yaml"
    return Path(grid)


def _valid_values(choice: str) -> tuple | None:
    return {"control_pool": study.CONTROL_POOLS, "estimator": ESTIMATORS,
            "transform": TRANSFORMS, "weighting": WEIGHTINGS, "breaks": BREAKS}.get(choice)


def _check_choices(where: str, block: Any) -> dict[str, list]:
    if not isinstance(block, dict):
        raise InputError(f"grid {where}: expected a mapping of choice -> list of values, got "
                         f"{type(block).__name__}")
    out: dict[str, list] = {}
    for key, values in block.items():
        if key not in CHOICES:
            raise InputError(f"grid {where}: " + choices_message("choice", key, CHOICES))
        if not isinstance(values, list) or not values:
            raise InputError(f"grid {where}: {key} must be a non-empty list, got {values!r}")
        valid = _valid_values(key)
        for v in values:
            if key == "start_year" and v == FIRST_YEAR:
                continue
            if key in ("start_year", "end_year"):
                if isinstance(v, bool) or not isinstance(v, int) or not 1990 <= v <= 2100:
                    extra = f" or {FIRST_YEAR!r} (the outcome's first year with data)" if key == "start_year" else ""
                    raise InputError(f"grid {where}: {key} must be years (integers){extra}, got {v!r}")
            elif key == "covariates":
                ok = v in ("none", "model") or (isinstance(v, list) and all(isinstance(c, str) for c in v))
                if not ok:
                    raise InputError(f"grid {where}: covariates values are 'none', 'model' or a list "
                                     f"of panel columns, got {v!r}")
            elif v not in valid:
                raise InputError(f"grid {where}: " + choices_message(key, v, valid))
        out[key] = values
    return out


def load_grid(path: str | Path | None = None) -> Grid:
    """Read and validate a grid file (default: the package's ``grids/default.yaml``)."""
    import yaml

    path = grid_path(path)
    if not path.is_file():
        raise InputError(f"grid file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read grid {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise InputError(f"grid {path}: expected a mapping with keys {', '.join(GRID_KEYS)}")
    unknown = set(raw) - set(GRID_KEYS)
    if unknown:
        raise InputError(f"grid {path}: " + choices_message("key", sorted(unknown)[0], GRID_KEYS))
    settings = dict(SETTINGS)
    given = raw.get("settings") or {}
    if not isinstance(given, dict):
        raise InputError(f"grid {path}: settings must be a mapping")
    for key, value in given.items():
        if key not in SETTINGS:
            raise InputError(f"grid {path}: " + choices_message("setting", key, SETTINGS))
        settings[key] = value
    for key in ("placebo_draws", "ri_reps", "sdid_reps", "seed"):
        v = settings[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if key == "seed" else 1):
            raise InputError(f"grid {path}: setting {key} must be a positive integer, got {v!r}")
    if not isinstance(settings["alpha"], (int, float)) or not 0 < settings["alpha"] < 1:
        raise InputError(f"grid {path}: setting alpha must be in (0, 1), got {settings['alpha']!r}")
    joint = settings["joint_estimators"]
    if not isinstance(joint, list) or any(e not in ESTIMATORS for e in joint):
        bad = joint if not isinstance(joint, list) else [e for e in joint if e not in ESTIMATORS][0]
        raise InputError(f"grid {path}: joint_estimators: " + choices_message("estimator", bad, ESTIMATORS))
    models = raw.get("models") or {}
    if not isinstance(models, dict):
        raise InputError(f"grid {path}: models must be a mapping model -> choices")
    from .. import registry

    for m in models:
        if m not in registry.models():
            raise InputError(f"grid {path}: " + choices_message("model", m, registry.models()))
    models = {m: _check_choices(f"models.{m}", b) for m, b in models.items()}
    outcomes = raw.get("outcomes") or {}
    if not isinstance(outcomes, dict):
        raise InputError(f"grid {path}: outcomes must be a mapping outcome -> choices")
    from ..outcomes import outcomes_of

    known = sorted({o for m in registry.models() for o in outcomes_of(m, include_secondary=True)})
    for o in outcomes:
        if o not in known:
            raise InputError(f"grid {path}: " + choices_message("outcome", o, known))
    outcomes = {o: _check_choices(f"outcomes.{o}", b) for o, b in outcomes.items()}
    choices = _check_choices("choices", raw.get("choices") or {})
    missing = [c for c in CHOICES if c not in choices]
    if missing:
        raise InputError(f"grid {path}: choices must list every choice; missing {', '.join(missing)} "
                         f"(choices: {', '.join(CHOICES)})")
    blocks = raw.get("blocks") or []
    if not isinstance(blocks, list):
        raise InputError(f"grid {path}: blocks must be a list of mappings")
    blocks = [_check_choices(f"blocks[{i}]", b) for i, b in enumerate(blocks)]
    return Grid(settings, choices, blocks, models, source=str(path), outcomes=outcomes)


def _covariates(value, model: str) -> tuple[str, ...]:
    from ..outcomes import model_outcomes

    if value == "none":
        return ()
    if value == "model":
        # population enters through the per-capita outcome and the weighting choice
        return tuple(c for c in model_outcomes(model).covariates if c != "population")
    return tuple(value)


@dataclass(frozen=True)
class Candidate:
    spec: Specification
    reason: str | None  # None: runnable


def expand(grid: Grid, model: str, outcome: str, *, outcome_years: tuple[int, int] | None = None,
           n_treated_clusters: int | None = None, panel_columns=None,
           estimator_options: dict | None = None) -> list[Candidate]:
    """Every specification of ``grid`` for (model, outcome), in a stable order, each with the
    reason it cannot run (or ``None``). Duplicates across blocks are dropped."""
    override = grid.models.get(model, {})
    per_outcome = grid.outcomes.get(outcome, {})
    seen: set[Specification] = set()
    out: list[Candidate] = []
    for block in [{}, *grid.blocks]:
        merged = {**grid.choices, **block}
        for key, vals in override.items():  # the model's narrowing applies inside blocks too
            merged[key] = [v for v in merged[key] if v in vals] if key in block else list(vals)
        merged.update({key: list(vals) for key, vals in per_outcome.items()})
        if any(len(v) == 0 for v in merged.values()):
            continue
        for combo in itertools.product(*(merged[c] for c in CHOICES)):
            values = dict(zip(CHOICES, combo))
            start = values["start_year"]
            if start == FIRST_YEAR:
                if outcome_years is None:
                    raise InputError(f"start year {FIRST_YEAR!r} needs the years of {outcome}")
                start = outcome_years[0]
            spec = Specification(model=model, outcome=outcome,
                                 control_pool=values["control_pool"],
                                 start_year=int(start), end_year=int(values["end_year"]),
                                 estimator=values["estimator"], transform=values["transform"],
                                 weighting=values["weighting"],
                                 covariates=_covariates(values["covariates"], model),
                                 breaks=values["breaks"])
            if spec in seen:
                continue
            seen.add(spec)
            out.append(Candidate(spec, skip_reason(
                spec, outcome_years=outcome_years, n_treated_clusters=n_treated_clusters,
                panel_columns=panel_columns,
                estimator_options=estimator_options)))
    return out


def skip_reason(spec: Specification, *, outcome_years=None, n_treated_clusters=None,
                panel_columns=None, estimator_options=None) -> str | None:
    """Why ``spec`` is not a valid specification of the design (``None`` if it is)."""
    from ..outcomes import model_outcomes

    from .estimate import supports

    last = model_outcomes(spec.model).last_year
    if spec.end_year < study.ADOPTION_YEAR:
        return f"window ends before adoption ({study.ADOPTION_YEAR})"
    if last is not None and spec.end_year > last:
        return f"{spec.model} has comparable outcomes only until {last}"
    if spec.start_year > study.LAST_PRE_YEAR - (MIN_PRE_YEARS - 1):
        return (f"fewer than {MIN_PRE_YEARS} pre-period years "
                f"({spec.start_year}-{study.LAST_PRE_YEAR})")
    if outcome_years is not None:
        first, final = outcome_years
        if spec.start_year < first:
            return f"{spec.outcome} has data from {first}"
        if spec.end_year > final:
            return f"{spec.outcome} has data until {final}"
    if panel_columns is not None:
        missing = [c for c in spec.covariates if c not in panel_columns]
        if missing:
            return f"covariate {missing[0]!r} is not a panel column"
    return supports(spec, n_treated_clusters=n_treated_clusters, options=estimator_options)
