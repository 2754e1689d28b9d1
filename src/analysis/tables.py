"""Tables for the report: markdown pipe tables + CSV side by side."""
from __future__ import annotations

import os
from pathlib import Path

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
