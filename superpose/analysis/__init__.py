"""Measurements that experiments and users share, one module per theme.

    sae         SAEs against the true features: MMCS, one-to-one matching, F1 / MCC, absorption
    stats       rank correlation (scipy's Spearman, ties averaged), power-law fits with their error
    (geometry metrics — WᵀW, norms, interference, D_i, D* — live in superpose.metrics)

Each function takes numpy arrays (weights, snapshots, codes) and returns numbers or arrays; none trains,
plots or imports jax.
"""

from superpose.analysis.stats import power_law_fit, spearman

__all__ = ["power_law_fit", "spearman"]
