"""Fits that start from chosen weights, and fits compared on one common sample.

Owns: `WarmStartSweep` (a Sweep whose instances start from given W where one is given), the 2-D starting
geometries `rotated_polygon` and `digons`, and `losses_on_sample` (the loss of many fits on ONE sample, so
losses of different fits compare without sampling noise). Does not: train (sweep.py) or classify geometries
(metrics.py, superpose.analysis).

    W0 = np.full((N, m, n), np.nan, np.float32)   # NaN: keep the Xavier init of that instance
    W0[3] = rotated_polygon(5, rng)
    result = ctx.sweep("main", WarmStartSweep(model, sampler, cfg, hyper, seeds, root_seed, W0=W0))

A Study cannot express a start per instance (its grid maps coordinates to hyperparameters, not to initial
weights), so experiments with warm starts run a WarmStartSweep through `ctx.sweep`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from superpose.sweep import Sweep


class WarmStartSweep(Sweep):
    """A Sweep whose instances start from given W where one is given (NaN rows: keep the Xavier init).

    W0 stays a host array [N, m, n] and is placed in `init`, so it follows the sweep to any devices
    (`--devices`, `Sweep.on`) and through a resume. Adam's moments start at zero whatever the parameters, so
    replacing W in the initial state is all a warm start needs.
    """

    def __init__(self, *args, W0: np.ndarray, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.W0 = np.asarray(W0, np.float32)

    def init(self):
        # jnp, not numpy: callers may trace init (e.g. jax.eval_shape for a checkpoint template).
        state = super().init()
        W0 = self.put_instances(self.W0)
        W = jnp.where(jnp.isnan(W0), state.params["W"], W0)
        return state._replace(params=dict(state.params, W=W))


def rotated_polygon(n: int, rng: np.random.Generator) -> np.ndarray:
    """[2, n] a unit regular n-gon, rotated by a uniform random angle (one draw from rng)."""
    theta = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(theta), np.sin(theta)]).astype(np.float32)


def digons(n: int, rng: np.random.Generator, dropped: int = 0) -> np.ndarray:
    """[2, n] two unit digons at right angles, rotated by a uniform random angle (one draw from rng), made of
    the four features after `dropped` in order (pairs (1, 2) and (3, 4) for dropped = 0); every other column
    is zero."""
    theta = rng.uniform(0, 2 * np.pi) + np.array([0.0, np.pi, np.pi / 2, 3 * np.pi / 2])
    W = np.zeros((2, n), np.float32)
    cols = [i for i in range(n) if i != dropped][:4]
    W[:, cols] = np.stack([np.cos(theta), np.sin(theta)])
    return W


def losses_on_sample(
    model, W: np.ndarray, b: np.ndarray, feature_prob: np.ndarray, n_samples: int, seed: int, sampler=None
) -> np.ndarray:
    """[fits] importance-1 loss (paper section 3) of every fit W [fits, m, n], b [fits, n] of `model` on ONE
    common sample of n_samples points drawn with feature_prob [n] (Independent() unless a sampler is given)."""
    from superpose.data import Independent
    from superpose.models import weighted_mse

    sampler = sampler or Independent()
    x = sampler.sample(jax.random.key(seed), jnp.asarray(feature_prob), n_samples)
    ones = jnp.ones(W.shape[-1], jnp.float32)
    loss = jax.vmap(lambda W, b: weighted_mse(model, {"W": W, "b": b}, x, ones))
    return np.asarray(loss(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32)), np.float64)


def best_by_label(group: np.ndarray, labels: np.ndarray, losses: np.ndarray, names) -> dict:
    """Fits [N] in groups (e.g. one per density), each with a label (its geometry) and a loss on its group's
    common sample -> per group g (sorted unique values of `group`): "group" [G], "best_index" [G] the fit of
    lowest loss, "best_loss" {name: [G]} the lowest loss among fits with that label (NaN: none), and
    "best_index_of" {name: [G]} that fit (-1: none)."""
    values = np.unique(group)
    best_loss = {name: np.full(values.size, np.nan) for name in names}
    best_of = {name: np.full(values.size, -1) for name in names}
    best_index = np.zeros(values.size, int)
    for k, v in enumerate(values):
        members = np.flatnonzero(group == v)
        best_index[k] = members[np.argmin(losses[members])]
        for name in names:
            if (mask := labels[members] == name).any():
                best_loss[name][k] = losses[members][mask].min()
                best_of[name][k] = members[mask][np.argmin(losses[members][mask])]
    return {"group": values, "best_index": best_index, "best_loss": best_loss, "best_index_of": best_of}


def loss_crossing(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """The x where b - a changes sign (scanning from the largest x down: b > a above it, b <= a below),
    interpolated linearly in log x over the points where both are finite; NaN if it never does."""
    diff = np.asarray(b) - np.asarray(a)
    ok = np.isfinite(diff)
    r, d = np.log(np.asarray(x)[ok]), diff[ok]
    for k in range(len(d) - 1, 0, -1):
        if d[k] > 0 >= d[k - 1]:
            return float(np.exp(r[k - 1] + (r[k] - r[k - 1]) * (0 - d[k - 1]) / (d[k] - d[k - 1])))
    return float("nan")


def dropped_feature_losses(
    model, W: np.ndarray, b: np.ndarray, feature_prob: np.ndarray, n_samples: int, seeds, feature: int = 0
) -> np.ndarray:
    """[G] the loss of the geometry "these fits with `feature` dropped" at G densities, feature_prob [G, n],
    each on its own common sample (seeds [G]): every fit W [k, m, n], b [k, n] with column `feature` zeroed
    and b_feature = p_feature / 2 (the best constant output, E[x] for uniform [0, 1] magnitudes), the lowest
    loss of the k. With W_feature = 0 the feature touches no other output, so fits trained at any density are
    candidates at every density. NaN where k = 0."""
    out = np.full(len(feature_prob), np.nan)
    for g in range(len(out) if len(W) else 0):
        p = feature_prob[g]
        Wd, bd = np.array(W, copy=True), np.array(b, copy=True)
        Wd[:, :, feature], bd[:, feature] = 0.0, p[feature] / 2
        out[g] = losses_on_sample(model, Wd, bd, p, n_samples, int(seeds[g])).min()
    return out
