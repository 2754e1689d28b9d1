"""Placebo adoption years (placebo in time): the real treated units, a fake adoption time.

On the pre-period only (``time < before``), the real treated units are treated from
``fake_adoption`` on and the DiD is estimated with the chosen inference; a clear non-zero
"effect" before the real adoption signals diverging trends or anticipation (Abadie, Diamond &
Hainmueller 2015, placebo studies in time). With ``inference="ri"`` and ``placebo_units`` the
p-value re-assigns the fake treatment to placebo units shaped like the treated clusters
(:mod:`.placebo_units`), as the main estimate does.
"""
from __future__ import annotations

import pandas as pd

from ..errors import InputError, require_columns
from ..results import EstimationResult
from .placebo_units import PlaceboUnits


def placebo_adoption_year(
    frame: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    fake_adoption: float,
    before: float,
    cluster: str = "cluster",
    treated_group: str = "treated_group",
    inference: str = "ri",
    placebo_units: PlaceboUnits | None = None,
    reps: int = 999,
    seed: int = 0,
    level: float = 0.95,
) -> EstimationResult:
    """TWFE DiD of the real treated units with a fake adoption time inside the pre-period."""
    from ..estimators.did import twfe_did

    require_columns(frame, (unit, time, outcome, cluster, treated_group))
    pre = frame[frame[time] < before]
    times = sorted(pre[time].unique())
    if not any(t < fake_adoption for t in times) or not any(t >= fake_adoption for t in times):
        raise InputError(f"fake adoption {fake_adoption} must fall inside the pre-period "
                         f"{times[0] if times else '?'}-{times[-1] if times else '?'} with a "
                         "period before it")
    fake = ((pre[treated_group].astype(float) > 0) & (pre[time] >= fake_adoption)).astype(int)
    data = pre.assign(_placebo_treated=fake)
    result = twfe_did(data, unit=unit, time=time, outcome=outcome, treated="_placebo_treated",
                      cluster=cluster, inference=inference, reps=reps, seed=seed, level=level,
                      placebo_units=placebo_units if inference == "ri" else None)
    result.warnings.append(f"placebo adoption at {fake_adoption:g} on the pre-period "
                           f"(before {before:g}): the true effect is zero if trends are parallel")
    return result
