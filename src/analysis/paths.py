"""All project locations in one place (cookiecutter-data-science style).

The project root is found from the installed (editable) package; ``KUNTAKOKEILU_ROOT``
overrides it, e.g. for tests that build into a temporary folder.
"""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    env = os.environ.get("KUNTAKOKEILU_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2]


ROOT = project_root()
DATA = ROOT / "data"
RAW = DATA / "raw"
REFERENCE = DATA / "reference"
PROCESSED = DATA / "processed"
PANEL_FILE = PROCESSED / "panel.parquet"
NOTEBOOKS = ROOT / "notebooks"
REPORTS = ROOT / "reports"
BUILD = REPORTS / "_build"
OUTPUT = REPORTS / "_output"
