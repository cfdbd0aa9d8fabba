"""superpose: toy models of superposition in JAX.

The core reads in one sitting: config.py (static config, per-instance hyperparameters), data.py (feature
samplers), models.py (the model family), train.py (one instance's compiled run), sweep.py (the instance axis),
metrics.py and theory.py (numbers from weights, closed forms), fit.py (the one-line API). Around it, apart:
lab/ (run store, resumable experiments, lineage, the `superpose` command) and plots/ (figures from arrays).

Names are loaded on first use, so `import superpose` (and `superpose list`) stays instant until you train.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "fit": "superpose.fit",
    "FitResult": "superpose.fit",
    "TrainConfig": "superpose.config",
    "Hyper": "superpose.config",
    "make_hyper": "superpose.config",
    "per_instance": "superpose.config",
    "per_feature": "superpose.config",
    "geometric_importance": "superpose.config",
    "ConfigError": "superpose.config",
    "Independent": "superpose.data",
    "Correlated": "superpose.data",
    "Anticorrelated": "superpose.data",
    "Linear": "superpose.models",
    "ReluOutput": "superpose.models",
    "ReluHidden": "superpose.models",
    "AbsMLP": "superpose.models",
    "Task": "superpose.train",
    "Study": "superpose.study",
    "StudyResult": "superpose.study",
    "Grid": "superpose.sweep",
    "Sweep": "superpose.sweep",
    "SweepResult": "superpose.sweep",
    "best_of": "superpose.sweep",
    "load_run": "superpose.lab.store",
    "LoadedRun": "superpose.lab.store",
}
_MODULES = (
    "config",
    "data",
    "models",
    "optim",
    "train",
    "sweep",
    "study",
    "metrics",
    "theory",
    "testing",
    "nnx",
    "plots",
    "lab",
)

# `from superpose import *` leaves out superpose.testing: it needs hypothesis, which only the test extra installs.
__all__ = sorted(_EXPORTS) + [m for m in _MODULES if m != "testing"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(f"superpose.{name}")
    else:
        raise AttributeError(f"module 'superpose' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__ + ["testing"]
