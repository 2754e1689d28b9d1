"""Analysis frames of the specifications: one per distinct (pool, window, covariates, breaks).

Every frame comes from :func:`analysis.design.analysis_frame` (the one design path); this
module only keeps municipalities observed in every year of the window (SDID and the placebo
draws need a balanced panel) and adds ``log_<outcome>`` where the outcome is positive.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from ..errors import InputError
from .placebo import member_mask

FRAME_DIR = "frames"


def frame_name(key: tuple) -> str:
    """Relative path of the frame file of ``key`` (content-derived, stable across runs)."""
    model, outcome, pool, start, end, covariates, breaks = key
    text = json.dumps([model, outcome, pool, start, end, list(covariates), breaks])
    return f"{FRAME_DIR}/{pool}_{start}-{end}_{hashlib.sha256(text.encode()).hexdigest()[:10]}.parquet"


def design_frame(panel: pd.DataFrame, model: str, outcome: str, pool: str, covariates, breaks: str,
                 years) -> pd.DataFrame:
    """``design.analysis_frame`` for one control pool, break handling and window."""
    from .. import design

    return design.analysis_frame(panel, model, outcome, control_pool=pool, covariates=list(covariates),
                                 years=years, breaks=breaks)


def build_frame(panel: pd.DataFrame, key: tuple) -> tuple[pd.DataFrame | None, str | None]:
    """The balanced frame of ``key`` or ``(None, reason)``."""
    model, outcome, pool, start, end, covariates, breaks = key
    years = list(range(start, end + 1))
    try:
        frame = design_frame(panel, model, outcome, pool, covariates, breaks, years)
    except InputError as exc:
        return None, str(exc)
    frame.attrs = {}  # the design's description: not kept, and pandas deep-copies attrs on every step
    frame = frame[frame["year"].isin(years)]
    counts = frame.groupby("kunta")["year"].nunique()
    complete = counts.index[counts == len(years)]
    frame = frame[member_mask(frame["kunta"], set(complete))].sort_values(["kunta", "year"]).reset_index(drop=True)
    if frame.empty or not frame["treated"].any():
        return None, f"no treated municipality has {outcome} in every year {start}-{end}"
    if frame.loc[frame["treated_group"] == 0, "kunta"].nunique() < 2:
        return None, "fewer than 2 control municipalities"
    values = frame["outcome"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame[f"log_{outcome}"] = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
    keep = [c for c in frame.columns if c != "outcome"]  # one name for the outcome: its own
    frame = frame[keep]
    return frame, None


def log_reason(frame: pd.DataFrame, outcome: str) -> str | None:
    if frame[f"log_{outcome}"].isna().any():
        return f"log transform needs a positive outcome; {outcome} has values <= 0"
    return None


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """Parquet bytes of ``frame`` (deterministic for the same data)."""
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()
