"""Staggered-adoption estimators: Callaway & Sant'Anna ATT(g,t) and aggregations, pre-test."""
from analysis.estimators.staggered.att_gt import AttGtResult, att_gt

__all__ = ["AttGtResult", "att_gt"]
