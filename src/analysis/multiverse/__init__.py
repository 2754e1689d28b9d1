"""Every reasonable specification at once: a specification curve per model and outcome, with a
joint test under the null (Simonsohn, Simmons & Nelson 2020), run as Dask tasks.

- :mod:`.grid` the analytic choices (YAML grid, default ``grids/default.yaml``) and their product
- :mod:`.frames` the analysis frames (one per distinct design) from ``design.analysis_frame``
- :mod:`.estimate` one specification's estimate and its ``kuntakokeilu estimate`` command
- :mod:`.placebo` placebo assignments and estimates on placebo frames
- :mod:`.joint` curve statistics and the joint test
- :mod:`.runner` the run (Dask) and its files
- :mod:`.notebook` the calls of ``notebooks/40_multiverse.ipynb``
"""
from .grid import CHOICES, Grid, Specification, default_grid_path, expand, load_grid
from .runner import run_multiverse

__all__ = ["CHOICES", "Grid", "Specification", "default_grid_path", "expand", "load_grid",
           "run_multiverse"]
