"""Measurements that experiments and users share, one module per theme.

    dynamics    E12: learned D_i, plateaus, levels, jumps, loss drops, their coincidence; debounced stages
    neurons     E10: dead / monosemantic / polysemantic neurons, feature groups, the paper's regimes
    sae         SAEs against the true features: MMCS, one-to-one matching, F1 / MCC, absorption
    sets        E7/E12: sets of features: in-set cosines, collapse, antipodal partners, pair axes, triad twist
    stats       rank correlation (scipy's Spearman, ties averaged), power-law fits with their error
    stats       also Spearman's one-sided p-value, mean +- standard error over seeds
    motifs      neurons of an MLP computing on its inputs (E11): classes, sides, asymmetric superposition
    packing     pair statistics of almost-orthogonal vectors, the interference a toy model accepts
    memorization  double descent: per-point loss on stored sets, T-gon error, the test-loss peak
    facts       the fact-lookup MLP's accuracy, margins, AND-ness, how it stores facts
    capacity    capacity at a threshold accuracy, its search on nested tables, fitted laws
    compute     issue 20: the Universal-AND construction, naive circuits, truth-table classes in context;
                compressed computation's ReLU fidelity and the mixing subspace its neurons read
    (geometry metrics — WᵀW, norms, interference, D_i, D* — live in superpose.metrics)

Each function takes numpy arrays (weights, snapshots, codes) and returns numbers or arrays; none trains,
plots or imports jax.
"""

from superpose.analysis import dynamics, neurons, sae, sets  # modules: analysis.dynamics.find_jumps, ...
from superpose.analysis.stats import mean_se, power_law_fit, spearman, spearman_test

__all__ = ["mean_se", "power_law_fit", "spearman", "spearman_test"] + ["dynamics", "neurons", "sae", "sets"]
