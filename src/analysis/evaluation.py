"""High-level calls the notebooks make (thin: delegates to the data, design and estimator
modules) and the valid values of run parameters.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: estimators a model-evaluation run may ask for
ESTIMATORS = ("did2x2", "twfe", "event_study", "synthetic_control", "sdid")
#: inference methods
INFERENCE = ("cluster", "wild_bootstrap", "randomization", "placebo")
#: control pools (GUIDE § 2)
CONTROL_POOLS = ("non_pilot", "non_pilot_keep_other_models", "same_region", "matched")


def domain_values(panel_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Valid values of run parameters (see :class:`analysis.pipeline.parameters.Domains`)."""
    values: dict[str, Any] = {
        "estimators": list(ESTIMATORS),
        "inference": list(INFERENCE),
        "control_pools": list(CONTROL_POOLS),
    }
    try:
        from . import registry

        values["model_outcomes"] = {m: None for m in registry.models()}
    except ImportError:  # pragma: no cover - registry always ships
        pass
    return values
