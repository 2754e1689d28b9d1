"""Inside a kernel the runner reuses for several runs: record the fresh kernel's process state,
and put it back before the next notebook.

:func:`record_baseline` runs once in a new kernel, before its first notebook; :func:`reset` runs
before every later notebook. Together they make a reused kernel start a notebook from the state
a new kernel would give it, except for modules already imported (the time saved) and the caches
of reference data those modules keep:

* the user namespace, ``In``/``Out`` history and execution counter (``InteractiveShell.reset``
  with a new session, so the executed notebook counts its cells from 1);
* the working directory, ``os.environ`` and ``sys.path``;
* warning filters and every module's "already shown" registry, so that a warning a notebook
  triggers is shown in its output even if an earlier notebook triggered it too;
* matplotlib's ``rcParams`` (a style set by one notebook does not leak into the next) and open
  figures; numpy's floating-point error settings.

Both functions bind no name in the user namespace (they are called as one expression).
"""
from __future__ import annotations

import gc
import os
import sys
import types
import warnings

STATE_MODULE = "_kuntakokeilu_kernel_baseline"


def _filters_mutated() -> None:
    """Invalidate every module's ``__warningregistry__`` (the interpreter's own counter)."""
    for name in ("_filters_mutated", "_filters_mutated_lock_held"):
        mutated = getattr(warnings, name, None)
        if mutated is not None:
            mutated()
            return


def record_baseline() -> None:
    """Record the state of a kernel that has not run a notebook yet (matplotlib's pyplot with the
    kernel's inline backend is imported first, as every notebook's figures import it)."""
    import matplotlib.pyplot as plt  # noqa: F401  (configures the inline backend's rcParams)
    import matplotlib as mpl
    import numpy as np

    state = types.ModuleType(STATE_MODULE)
    state.cwd = os.getcwd()
    state.environ = dict(os.environ)
    state.path = list(sys.path)
    state.filters = list(warnings.filters)
    state.rcparams = dict(mpl.rcParams)
    state.numpy_errors = np.geterr()
    sys.modules[STATE_MODULE] = state


def reset(cwd: str) -> None:
    """Put the kernel back to its recorded baseline and change to ``cwd`` (the notebook's folder)."""
    from IPython import get_ipython

    state = sys.modules[STATE_MODULE]
    get_ipython().reset(new_session=True)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(state.environ)
    sys.path[:] = state.path
    warnings.filters[:] = state.filters
    warnings.onceregistry.clear()
    for module in list(sys.modules.values()):
        registry = getattr(module, "__warningregistry__", None)
        if isinstance(registry, dict):
            registry.clear()
    _filters_mutated()
    import matplotlib as mpl
    import matplotlib.pyplot as plt
    import numpy as np

    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dict.update(mpl.rcParams, state.rcparams)
        for key in set(mpl.rcParams) - set(state.rcparams):
            dict.__delitem__(mpl.rcParams, key)
    np.seterr(**state.numpy_errors)
    gc.collect()
