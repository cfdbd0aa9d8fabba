"""superpose: toy models of superposition in JAX.

Core: config.py (static config, per-instance hyperparameters), data.py (feature samplers), models.py (the model
family), train.py (one instance's compiled run), sweep.py (the instance axis), metrics.py, theory.py.
Around it: store.py (run directories), experiment.py (resumable experiments), cli.py (`superpose`), plots/.
"""

from superpose.store import load_run

__all__ = ["load_run"]
