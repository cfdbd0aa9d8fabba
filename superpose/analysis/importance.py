"""Measured feature importance: which input features a trained model's loss actually depends on.

Owns: per-feature ablation importance (the increase of the importance-weighted loss when input feature i is
zeroed, the target kept), a gradient x input attribution, drawing the common samples both use, and the check
that the measured ranking agrees with the configured importances I_i among represented features while
dropped features measure ~0. Does not: train, store (superpose.lab.probes) or plot.

Definitions, for one model with `apply(params, x)` and `target(x)` (every model in superpose.models that is
trained on the paper's weighted MSE: Linear, ReluOutput, ReluHidden, AbsMLP), x [n, B] the SAME samples for
every feature (so the differences between features are not sampling noise):
    ablation_i    = L(x with row i zeroed; target(x)) - L(x; target(x)),  L = mean over batch and features of
                    I_j (target_j - y'_j)^2 (superpose.models.base.weighted_mse). A feature the model ignores
                    measures 0 exactly up to its interference; a represented one about I_i E[x_i^2] / n.
    grad_input_i  = mean over the samples where x_i != 0 of x_i d/dx_i sum_j I_j target_j(x0) y'_j(x), the
                    target held at the sample's own: gradient x input of the importance-weighted agreement of
                    output and target. (The gradient of the loss itself vanishes at a perfect fit, so it would
                    rank nothing.) For y' = x it is I_i x_i^2; for a dropped feature ~0.
Both are vectorised over instances (params with a leading instance axis) and computed with jax.
"""

from __future__ import annotations

import functools

import numpy as np

from superpose.analysis.stats import spearman

DEFAULT_SAMPLES = 32_768
RHO_MIN = 0.8  # Spearman bar of the ranking check
DROPPED_TOL = 0.05  # a dropped feature's ablation importance, as a share of the largest one


def common_samples(sampler, feature_prob, n_samples: int = DEFAULT_SAMPLES, seed: int = 0) -> np.ndarray:
    """[k, n, n_samples] float32: n_samples draws of the run's own distribution per instance (feature_prob
    [k, n]), from a fixed key, shared by every feature's ablation."""
    import jax
    import jax.numpy as jnp

    p = jnp.asarray(np.atleast_2d(np.asarray(feature_prob, np.float32)))
    keys = jax.random.split(jax.random.key(seed), p.shape[0])
    draw = jax.vmap(lambda key, q: sampler.sample(key, q, n_samples))
    return np.asarray(draw(keys, p), np.float32)


@functools.lru_cache(maxsize=32)
def _compiled(model):
    """The jitted measurement of k instances for one model (cached: a model is a frozen dataclass)."""
    import jax

    return jax.jit(jax.vmap(_per_instance(model)))


def _per_instance(model):
    """(ablation, grad_input) of ONE instance as a jax function of (params, x [n, B], importance [n])."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, target, imp):
        return jnp.mean(imp[:, None] * (target - model.apply(params, x)) ** 2)

    def one(params, x, imp):
        target = model.target(x)
        base = loss(params, x, target, imp)
        n = x.shape[0]

        def ablate(i):
            keep = (jnp.arange(n) != i).astype(x.dtype)[:, None]
            return loss(params, x * keep, target, imp) - base

        ablation = jax.lax.map(ablate, jnp.arange(n))

        def agreement(xx):
            return jnp.sum(imp[:, None] * target * model.apply(params, xx))

        g = jax.grad(agreement)(x)
        active = x != 0
        count = jnp.maximum(active.sum(axis=1), 1)
        grad_input = jnp.where(active, g * x, 0.0).sum(axis=1) / count
        return ablation, grad_input

    return one


def measure(model, params: dict, x, importance) -> dict[str, np.ndarray]:
    """Measured importances of k instances: {"ablation": [k, n], "grad_input": [k, n]}.

    params: {name: [k, ...]} (e.g. W [k, m, n], b [k, n]); x [k, n, B] common samples (common_samples);
    importance [k, n] or [n] (the I_i of the loss)."""
    import jax.numpy as jnp

    x = jnp.asarray(x, jnp.float32)
    k, n = x.shape[0], x.shape[1]
    imp = jnp.broadcast_to(jnp.asarray(importance, jnp.float32), (k, n))
    params = {name: jnp.asarray(v) for name, v in params.items()}
    ablation, grad_input = _compiled(model)(params, x, imp)
    return {"ablation": np.asarray(ablation, np.float64), "grad_input": np.asarray(grad_input, np.float64)}


def check_ranking(
    measured,
    importance,
    represented,
    rho_min: float = RHO_MIN,
    dropped_tol: float = DROPPED_TOL,
    dropped=None,
) -> dict:
    """Does ONE model's measured importance [n] agree with the configured I_i [n]?

    represented [n] bool (e.g. superpose.metrics.represented(W)). Passes when (a) among represented features
    the ranking agrees: Spearman rho >= rho_min with 3 or more of them, the same order with 2 (with 0 or 1
    there is nothing to rank), and (b) every dropped feature measures |m_i| <= dropped_tol x max_j |m_j|.
    dropped [n] bool: which features count as dropped (None: every feature not represented; a partly
    represented feature, in neither set, is neither ranked nor required to measure ~0).
    Returns {"passed", "rho", "n_represented", "dropped_max", "value"}; rho is NaN below 3 represented."""
    m = np.asarray(measured, np.float64).ravel()
    imp = np.asarray(importance, np.float64).ravel()
    rep = np.asarray(represented, bool).ravel()
    gone = ~rep if dropped is None else np.asarray(dropped, bool).ravel()
    if not m.shape == imp.shape == rep.shape == gone.shape:
        raise ValueError(
            f"measured {m.shape}, importance {imp.shape}, represented {rep.shape}, dropped {gone.shape} differ"
        )
    if (rep & gone).any():
        raise ValueError("a feature cannot be both represented and dropped")
    scale = float(np.max(np.abs(m))) if m.size else 0.0
    k = int(rep.sum())
    rho = float("nan")
    if k >= 3:
        rho = spearman(m[rep], imp[rep])
        ranked = bool(np.isfinite(rho) and rho >= rho_min)
        said = f"rho {rho:.2f} over {k} represented"
    elif k == 2:
        a, b = np.flatnonzero(rep)
        ranked = bool(np.sign(m[a] - m[b]) == np.sign(imp[a] - imp[b]) and imp[a] != imp[b])
        said = f"2 represented in {'the same' if ranked else 'the opposite'} order"
    else:
        ranked = True
        said = f"{k} represented (nothing to rank)"
    dropped = np.abs(m[gone]) / scale if scale > 0 and gone.any() else np.zeros(0)
    dropped_max = float(dropped.max()) if dropped.size else 0.0
    quiet = bool(scale > 0 and dropped_max <= dropped_tol)
    value = f"{said}; dropped features at most {dropped_max:.3f} of the largest"
    return {
        "passed": ranked and quiet,
        "rho": rho,
        "n_represented": k,
        "dropped_max": dropped_max,
        "value": value,
    }
