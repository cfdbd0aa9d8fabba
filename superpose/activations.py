"""Hidden activations of stored toy runs, as sources with known directions for sparse autoencoders.

Owns: reading a run's trained weights W [N, m, n] and the densities its features were drawn with, keeping
the best fit per density, and which features the toy model represents. The activations themselves, h = W x
with x drawn as in training, come from superpose.models.sae.Activations with W as the directions (so an SAE
grid over a run's instances trains in one compiled call). Does not: train or score (models.sae,
analysis.sae).
"""

from __future__ import annotations

import numpy as np

from superpose.config import ConfigError


def toy_sources(arrays: dict, represented: float = 0.5) -> dict:
    """From a run's arrays (results.npz of `superpose sweep` or any run storing W [N, m, n] with a density
    coordinate [N] or feature_prob [N, n]): the lowest-select_loss fit per density when there are several.
    Returns {"W": [S, m, n], "probs": [S, n], "density": [S] (the mean density), "represented": [S, n] bool
    (|W_i| > represented: the features the toy model gives a direction)}."""
    if "W" not in arrays or np.ndim(arrays["W"]) != 3:
        raise ConfigError("the run stores no weights W [instances, m, n]: train a toy model grid first")
    W = np.asarray(arrays["W"], np.float32)
    n = W.shape[2]
    if "feature_prob" in arrays:
        probs = np.broadcast_to(np.asarray(arrays["feature_prob"], np.float32), (W.shape[0], n))
    elif "density" in arrays:
        probs = np.repeat(np.asarray(arrays["density"], np.float32)[:, None], n, axis=1)
    else:
        raise ConfigError(
            "the run stores neither a density coordinate nor feature_prob: no way to draw its inputs"
        )
    density = probs.mean(axis=1)
    keep = np.arange(W.shape[0])
    if "select_loss" in arrays and len(np.unique(density)) < W.shape[0]:
        loss = np.where(np.isfinite(arrays["select_loss"]), arrays["select_loss"], np.inf)
        keep = np.array(
            [np.flatnonzero(density == d)[np.argmin(loss[density == d])] for d in np.unique(density)]
        )
    keep = keep[np.argsort(-density[keep])]  # densest first
    W = W[keep]
    return {
        "W": W,
        "probs": np.ascontiguousarray(probs[keep]),
        "density": density[keep],
        "represented": np.linalg.norm(W, axis=1) > represented,
    }
