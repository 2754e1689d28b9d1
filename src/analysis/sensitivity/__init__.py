"""Sensitivity analysis: Rambachan & Roth (2023) honest confidence sets for event studies."""
