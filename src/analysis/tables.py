"""Tables for the report: markdown pipe tables + CSV side by side, and the pre-period
balance table (treated vs control means, standardised difference)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from . import atomic


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A markdown pipe table (no index); missing values print as an en dash, integers as integers."""
    frame = frame.copy()
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_float_dtype(values) and values.notna().any() and (values.dropna() % 1 == 0).all() \
                and col in ("event_time", "year", "first_year", "last_year", "units", "members"):
            frame[col] = values.astype("Int64")
    # text columns stay text (municipality codes such as '005' keep their leading zeros)
    text = [i for i, col in enumerate(frame.columns)
            if frame[col].dtype == object and frame[col].dropna().map(lambda v: isinstance(v, str)).all()
            and frame[col].notna().any()]
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_markdown(index=False, floatfmt=floatfmt, missingval="–", disable_numparse=text or False) + "\n"


def write_table(frame: pd.DataFrame, stem: str | os.PathLike, floatfmt: str = ".3f") -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.csv`` atomically; return both paths."""
    stem = Path(stem)
    md, csv = stem.with_suffix(".md"), stem.with_suffix(".csv")
    atomic.write_text(md, to_markdown(frame, floatfmt))
    atomic.write_text(csv, frame.to_csv(index=False))
    return md, csv


def balance_table(panel: pd.DataFrame, frame: pd.DataFrame, variables: Iterable[str],
                  adoption_year: int = 2015) -> pd.DataFrame:
    """Pre-period (years before ``adoption_year``) means of treated and control municipalities
    in ``frame`` (its ``y`` column is the outcome), difference and standardised difference
    (difference / sqrt of the mean of the two group variances of municipality means)."""
    pre = frame[frame["year"] < adoption_year][["kunta", "year", "treated", "y"]]
    extra = [v for v in variables if v != "y" and v in panel.columns]
    pre = pre.merge(panel[["kunta", "year", *extra]], on=["kunta", "year"], how="left")
    by_unit = pre.groupby("kunta").agg({"treated": "first", **{v: "mean" for v in ["y", *extra]}})
    rows = []
    for v in ["y", *extra]:
        t, c = by_unit.loc[by_unit["treated"], v].dropna(), by_unit.loc[~by_unit["treated"], v].dropna()
        sd = np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2) if len(t) > 1 and len(c) > 1 else np.nan
        diff = t.mean() - c.mean()
        rows.append({"variable": "outcome" if v == "y" else v, "treated_mean": t.mean(), "control_mean": c.mean(),
                     "difference": diff, "std_difference": diff / sd if sd and sd > 0 else np.nan,
                     "n_treated": len(t), "n_control": len(c)})
    return pd.DataFrame(rows)
