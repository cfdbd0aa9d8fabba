"""Measurements that experiments and users share, one module per theme.

    stats       rank correlation (scipy's Spearman, ties averaged), power-law fits with their error
    motifs      neurons of an MLP computing on its inputs (E11): classes, sides, asymmetric superposition
    (geometry metrics — WᵀW, norms, interference, D_i, D* — live in superpose.metrics)

Each function takes numpy arrays (weights, snapshots, codes) and returns numbers or arrays; none trains,
plots or imports jax.
"""

from superpose.analysis.stats import power_law_fit, spearman, spearman_test

__all__ = ["power_law_fit", "spearman", "spearman_test"]
