"""Measurements that experiments and users share, one module per theme.

    dynamics    E12: learned D_i, plateaus, levels, jumps, loss drops, their coincidence; debounced stages
    neurons     E10: dead / monosemantic / polysemantic neurons, feature groups, the paper's regimes
    sae         SAEs against the true features: MMCS, one-to-one matching, F1 / MCC, absorption
    sets        E7/E12: sets of features: in-set cosines, collapse, antipodal partners, pair axes, triad twist
    stats       rank correlation (scipy's Spearman, ties averaged), power-law fits with their error
    (geometry metrics — WᵀW, norms, interference, D_i, D* — live in superpose.metrics)

Each function takes numpy arrays (weights, snapshots, codes) and returns numbers or arrays; none trains,
plots or imports jax.
"""

from superpose.analysis import dynamics, neurons, sae, sets  # modules: analysis.dynamics.find_jumps, ...
from superpose.analysis.stats import power_law_fit, spearman

__all__ = ["power_law_fit", "spearman"] + ["dynamics", "neurons", "sae", "sets"]
