"""Shared fixtures: the analysis panel, built once per test session from the shipped data.

Tests never depend on ``data/processed`` existing: ``panel_path`` builds the panel into a
temporary folder with :func:`analysis.panel.build_panel`.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def panel_path(tmp_path_factory):
    """Path of a freshly built ``panel.parquet`` (codebook.csv next to it)."""
    from analysis.panel import build_panel

    out = tmp_path_factory.mktemp("processed") / "panel.parquet"
    build_panel(out_path=out)
    return out


@pytest.fixture(scope="session")
def panel(panel_path):
    """The validated panel as a DataFrame (municipality x year, 2023 division).

    Session-scoped and shared: do not modify it in place (use ``panel.copy()``).
    """
    from analysis.panel import read_panel

    return read_panel(panel_path)
