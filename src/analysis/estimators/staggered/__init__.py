"""Staggered-adoption estimators.

* :func:`att_gt` / :func:`aggte` / :func:`pretest`: Callaway & Sant'Anna (2021), as R did 2.5.0;
* :func:`sun_abraham`: Sun & Abraham (2021) interaction-weighted event study;
* :func:`imputation`: Borusyak, Jaravel & Spiess (2024);
* :func:`bacon`: Goodman-Bacon (2021) decomposition of TWFE.
"""
from analysis.estimators.staggered.aggte import aggte
from analysis.estimators.staggered.att_gt import AttGtResult, att_gt
from analysis.estimators.staggered.bacon import bacon
from analysis.estimators.staggered.imputation import imputation
from analysis.estimators.staggered.pretest import pretest
from analysis.estimators.staggered.sun_abraham import sun_abraham

__all__ = ["AttGtResult", "aggte", "att_gt", "bacon", "imputation", "pretest", "sun_abraham"]
