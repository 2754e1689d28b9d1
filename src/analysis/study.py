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


def model_outcomes(model: str) -> tuple[str, ...]:
    """Primary outcomes of ``model`` (first = headline), from the outcome catalogue."""
    from .outcomes import model_outcomes as _catalogue

    return tuple(_catalogue(model).outcomes)
