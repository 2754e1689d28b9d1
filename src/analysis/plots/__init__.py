"""Figures for the evaluation: shared style (:mod:`analysis.plots.style`) and plot helpers."""
