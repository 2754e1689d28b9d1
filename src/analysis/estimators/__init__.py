"""Estimators: each returns an analysis.results.EstimationResult (or a subclass)."""
