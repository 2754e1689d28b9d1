"""The evaluation report: from executed runs to HTML and PDF (issue 5).

Flow: run outputs (``reports/_build/runs/<run_id>/``, see :mod:`analysis.report.runs`) →
:mod:`~analysis.report.variables` (every number used in prose, ``variables.yml`` + JSON twin) →
:mod:`~analysis.report.chapters` (generated chapter and table includes) →
:mod:`~analysis.report.reproducibility` (appendix) → :mod:`~analysis.report.render`
(``quarto render`` when Quarto is on PATH, else pandoc + Typst). The report never re-estimates
anything: it only reads the run folders.
"""
