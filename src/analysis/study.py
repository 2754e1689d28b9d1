"""Study constants of the kuntakokeilu evaluation (law 1350/2014) and the one vocabulary the
command line, ``runs.yaml``, notebooks, ``results.json`` and the report share.

Every other module takes these names from here; nothing else defines a year of the design or
a list of method names.
"""
from __future__ import annotations

# ---- timing (one adoption date for every pilot) -------------------------------------------
#: first pilot year; event time 0
ADOPTION_YEAR = 2015
#: the pilot period (5.1.2015-31.12.2016); later years are post-pilot (persistence)
PILOT_YEARS = (2015, 2016)
PILOT_END = PILOT_YEARS[-1]
#: last pre-period year: the event-study reference period
LAST_PRE_YEAR = 2014
REFERENCE_YEAR = LAST_PRE_YEAR

# ---- vocabulary --------------------------------------------------------------------------
#: estimators, by their ``kuntakokeilu estimate --method`` names
ESTIMATORS = ("did", "twfe", "event-study", "sc", "sdid")
#: inference methods, by their ``kuntakokeilu estimate --inference`` names
#: cluster = CR1 cluster-robust; wild = wild cluster restricted bootstrap;
#: ri = randomization inference over placebo units; placebo = in-space placebo (sc / sdid)
INFERENCE_METHODS = ("cluster", "wild", "ri", "placebo")
#: control pools (evaluation guide § 2)
CONTROL_POOLS = ("default", "keep_other_pilots", "same_region", "matched")
#: how placebo units are built from control municipalities (shaped like the pilot units)
PLACEBO_CONSTRUCTIONS = ("nearest", "region")
#: matched pool: nearest controls per treated municipality on pre-period outcome and size
MATCHED_CONTROLS = 5


def model_outcomes(model: str) -> tuple[str, ...]:
    """Primary outcomes of ``model`` (first = headline), from the outcome catalogue."""
    from .outcomes import model_outcomes as _catalogue

    return tuple(_catalogue(model).outcomes)


def outcome_years(panel) -> dict[str, tuple[int, int]]:
    """First and last year with data of every model outcome column of ``panel``."""
    from . import registry

    out = {}
    for col in {c for m in registry.models() for c in _outcomes_or_empty(m)}:
        if col in panel:
            years = panel.loc[panel[col].notna(), "year"]
            if len(years):
                out[col] = (int(years.min()), int(years.max()))
    return out


def _outcomes_or_empty(model: str) -> tuple[str, ...]:
    from .outcomes import model_outcomes as _catalogue

    try:
        m = _catalogue(model)
    except Exception:  # a registry model without a catalogue entry has no outcomes
        return ()
    return tuple(m.outcomes) or tuple(m.secondary)


def domain_values(panel_path=None) -> dict:
    """Valid values of run parameters (:class:`analysis.pipeline.parameters.Domains`): the
    vocabulary above, each model's outcomes and the panel's years."""
    from pathlib import Path

    import pandas as pd

    from . import paths, registry

    values: dict = {
        "estimators": list(ESTIMATORS),
        "inference": list(INFERENCE_METHODS),
        "control_pools": list(CONTROL_POOLS),
        "model_outcomes": {m: list(_outcomes_or_empty(m)) for m in registry.models()},
    }
    path = Path(panel_path) if panel_path else paths.PANEL_FILE
    if path.is_file():
        try:
            panel = pd.read_parquet(path)
            values["years"] = (int(panel["year"].min()), int(panel["year"].max()))
            values["outcome_years"] = outcome_years(panel)
        except Exception:  # unreadable panel: years unchecked here, the notebook reports it
            pass
    return values
