"""Inference for few treated clusters.

- :mod:`.cluster`: CR1 cluster-robust covariance with explicit small-sample choices.
- :mod:`.wild_bootstrap`: wild cluster restricted bootstrap (Rademacher / Webb), test inversion.
- :mod:`.randomization`: randomization inference over placebo cluster assignments.
- :mod:`.inversion`: confidence intervals by test inversion.
- :mod:`.placebo_units`: placebo units shaped like the treated units (:class:`PlaceboUnits`).
- :mod:`.size`: size and coverage of each inference method on a layout, by placebo simulation.
- :mod:`.placebo_time`: placebo adoption years on the pre-period.

Estimators take ``inference`` in :data:`INFERENCE_METHODS`.
"""
INFERENCE_METHODS = ("cluster", "wild", "ri")
ONE_TREATED_CLUSTER_WARNING = (
    "1 treated cluster: cluster-robust SE not reported; use placebo inference"
)
