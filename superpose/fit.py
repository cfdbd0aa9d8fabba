"""The one-line API: train one toy model, or a small grid of them, with the notebook's defaults.

    result = superpose.fit(n_features=5, n_hidden=2, density=0.05, importance=0.9 ** np.arange(5), n_fits=4)
    result.W                    # [m, n] the best of 4 fits
    result.dimensions_per_feature, result.feature_dimensionality, result.loss

Owns: `fit` and `FitResult`: a Grid over the given densities and fits, make_hyper, a Sweep, best-of-N,
and the standard metrics of the kept weights. Does not: anything the full API cannot do (config.py,
sweep.py); reach for Sweep when you need other grids, samplers' options, snapshots or devices.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from superpose import metrics
from superpose.config import ConfigError, TrainConfig, make_hyper, per_feature, per_instance
from superpose.data import Independent
from superpose.models import MODELS, get_model
from superpose.sweep import Grid, Sweep, best_of


@dataclasses.dataclass
class FitResult:
    """What `fit` returns. With a scalar density every array is one model's; with a sequence of densities
    every array gains a leading [n_densities] axis. Tied models have W [m, n] and b [n]; every model's
    parameters are in `params`.

    params:   name -> the kept (lowest final loss) fit's parameter, e.g. W [.., m, n], b [.., n]
    loss:     [.., n_logs] its mean training loss per log window; log_steps [n_logs] the step of each
    final_loss: [..] its loss on fresh samples (what picked it); all_final_loss [.., n_fits] every fit's
    density:  [..] the density of each model
    feature_norms, represented, interference, feature_dimensionality: [.., n] per feature (tied models)
    dimensions_per_feature: [..] D* = m / ||W||_F^2 (tied models)
    """

    params: dict[str, np.ndarray]
    loss: np.ndarray
    log_steps: np.ndarray
    final_loss: np.ndarray
    all_final_loss: np.ndarray
    density: np.ndarray
    feature_norms: np.ndarray | None = None
    represented: np.ndarray | None = None
    interference: np.ndarray | None = None
    feature_dimensionality: np.ndarray | None = None
    dimensions_per_feature: np.ndarray | None = None

    @property
    def W(self) -> np.ndarray:
        return self.params["W"]

    @property
    def b(self) -> np.ndarray:
        return self.params["b"]


def _per_model(fn, W: np.ndarray) -> np.ndarray:
    """fn applied to each [m, n] matrix of W [..., m, n]."""
    flat = W.reshape((-1,) + W.shape[-2:])
    out = np.stack([np.asarray(fn(w)) for w in flat])
    return out.reshape(W.shape[:-2] + out.shape[1:])


def fit(
    n_features: int = 5,
    n_hidden: int = 2,
    density=1.0,
    importance=1.0,
    *,
    model="relu_output",
    sampler=None,
    n_fits: int = 1,
    n_steps: int = 10_000,
    batch_size: int = 1024,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    seed: int = 0,
) -> FitResult:
    """Train toy models with the notebook's defaults (AdamW, lr 1e-3, batch 1024, 10,000 steps) and return
    the best of `n_fits` per density with its standard metrics.

    density:    each feature's density 1 - S: a scalar (one model) or a sequence (one model per value, every
                feature at that density; the whole sequence trains in one compiled call)
    importance: a scalar (every feature) or [n_features] per feature, e.g. 0.9 ** np.arange(n)
    model:      a name in superpose.models.MODELS ("linear", "relu_output", "relu_hidden", "abs_mlp") or a
                model object; sampler: default data.Independent()
    n_fits:     fits per density (seeds 0..n_fits-1 under root seed `seed`); the lowest final loss is kept
    """
    if isinstance(model, str) and model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; known: {sorted(MODELS)}")
    model = get_model(model) if isinstance(model, str) else model
    d = np.asarray(density, dtype=np.float32)
    if d.ndim > 1 or d.size == 0:
        raise ConfigError(f"density must be a scalar or a 1-D sequence, got shape {d.shape}")
    imp = np.asarray(importance, dtype=np.float32)
    if imp.ndim > 1 or (imp.ndim == 1 and imp.shape != (n_features,)):
        raise ConfigError(f"importance must be a scalar or [n_features={n_features}], got shape {imp.shape}")
    if isinstance(n_fits, bool) or not isinstance(n_fits, (int, np.integer)) or n_fits < 1:
        raise ConfigError(f"n_fits must be a positive integer, got {n_fits!r}")
    grid = Grid(density=np.atleast_1d(d), seed=np.arange(n_fits))
    coords = grid.coords
    hyper = make_hyper(
        grid.size,
        n_features,
        feature_prob=per_instance(coords["density"]),
        importance=per_feature(imp) if imp.ndim else imp,
        lr=lr,
        weight_decay=weight_decay,
    )
    cfg = TrainConfig(n_features, n_hidden, batch_size=batch_size, n_steps=n_steps)
    result = Sweep(model, sampler or Independent(), cfg, hyper, coords["seed"], seed).run()
    best = best_of({**result.params, "loss": result.loss}, result.final_loss, grid, axis="seed")
    index = best.pop("best_index")
    loss = best.pop("loss")
    squeeze = (lambda a: a[0]) if d.ndim == 0 else (lambda a: a)
    out = FitResult(
        params={k: squeeze(v) for k, v in best.items()},
        loss=squeeze(loss),
        log_steps=result.log_steps,
        final_loss=squeeze(result.final_loss[index]),
        all_final_loss=squeeze(grid.unflatten(result.final_loss)),
        density=squeeze(grid.axes["density"]),
    )
    if "W" in out.params and out.params["W"].shape[-2:] == (n_hidden, n_features):
        W = np.asarray(out.params["W"])
        out.feature_norms = _per_model(metrics.feature_norms, W)
        out.represented = _per_model(metrics.represented, W)
        out.interference = _per_model(metrics.interference, W)
        out.feature_dimensionality = _per_model(metrics.feature_dimensionality, W)
        out.dimensions_per_feature = _per_model(metrics.dimensions_per_feature, W)
    return out
