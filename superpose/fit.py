"""The one-line API: train one toy model, or a small grid of them, with the notebook's defaults.

    result = superpose.fit(n_features=5, n_hidden=2, density=0.05, importance=0.9 ** np.arange(5), n_fits=4)
    result.W                    # [m, n] the best of 4 fits
    result.dimensions_per_feature, result.feature_dimensionality, result.loss

Owns: `fit` and `FitResult`: a Study over the given densities and fits, best-of-N, and the standard metrics
of the kept weights. Does not: anything a Study cannot do (study.py); reach for Study when you need other
axes, samplers' options, snapshots or devices.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from superpose import metrics
from superpose.config import ConfigError, per_feature
from superpose.models import TiedModel, get_model
from superpose.study import Study


@dataclasses.dataclass
class FitResult:
    """What `fit` returns. With a scalar density every array is one model's; with a sequence of densities
    every array gains a leading [n_densities] axis. Tied models have W [m, n] and b [n]; every model's
    parameters are in `params`.

    params:   name -> the kept fit's parameter, e.g. W [.., m, n], b [.., n]; the kept fit has the lowest loss
              on evaluation samples every fit shares (common random numbers)
    loss:     [.., n_logs] its mean training loss per log window; log_steps [n_logs] the step of each
    final_loss: [..] its loss on fresh samples that took no part in choosing it; all_final_loss [.., n_fits]
              every fit's loss on those samples (NaN for a diverged fit)
    diverged: [..] True where every fit diverged (the values there are NaN); all_diverged [.., n_fits]
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
    diverged: np.ndarray
    all_diverged: np.ndarray
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


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def fit(
    n_features: int = 5,
    n_hidden: int = 2,
    density=1.0,
    importance=1.0,
    *,
    model="relu_output",
    sampler=None,
    optimizer="adamw",
    n_fits: int = 1,
    n_steps: int = 10_000,
    batch_size: int = 1024,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    seed: int = 0,
) -> FitResult:
    """Train toy models with the notebook's defaults (AdamW, lr 1e-3, batch 1024, 10,000 steps) and return
    the best of `n_fits` per density with its standard metrics.

    density:    each feature's density 1 - S in (0, 1]: a scalar (one model) or a sequence (one model per
                value, every feature at that density; the whole sequence trains in one compiled call)
    importance: a scalar (every feature) or [n_features] per feature, e.g. 0.9 ** np.arange(n)
    model:      a name in superpose.models.MODELS ("linear", "relu_output", "relu_hidden", "abs_mlp") or a
                model instance; sampler: a name in superpose.data.SAMPLERS or an instance (default: the
                model's own default, else independent features with Uniform[0, 1] magnitudes)
    optimizer:  "adamw" (default), "adam", "sgd" or a factory from superpose.optim
    n_fits:     fits per density (seeds 0..n_fits-1 under root seed `seed`); the fit with the lowest loss on
                shared evaluation samples is kept, and its loss is reported from fresh ones
    Warns when the model has no compression to do (n_hidden >= n_features for an autoencoder) and names the
    fits that diverged (NaN/inf: marked, never kept); raises ConfigError if every fit diverged.
    """
    model = get_model(model)
    n_features = _positive_int("n_features", n_features)
    n_hidden = _positive_int("n_hidden", n_hidden)
    n_fits = _positive_int("n_fits", n_fits)
    try:
        d = np.asarray(density, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"density must be a number or a sequence of numbers, got {density!r}") from None
    if d.ndim > 1 or d.size == 0:
        raise ConfigError(f"density must be a scalar or a 1-D sequence, got shape {d.shape}")
    bad = d[~(np.isfinite(d) & (d > 0) & (d <= 1))]
    if bad.size:
        raise ConfigError(f"density (1 - sparsity) must lie in (0, 1], got {bad[0]:g}")
    imp = np.asarray(importance, dtype=np.float64)
    if imp.ndim > 1 or (imp.ndim == 1 and imp.shape != (n_features,)):
        raise ConfigError(f"importance must be a scalar or [n_features={n_features}], got shape {imp.shape}")
    if isinstance(model, TiedModel) and n_hidden >= n_features:
        warnings.warn(
            f"n_hidden={n_hidden} >= n_features={n_features}: the autoencoder has room for every feature, so "
            "there is nothing to compress and no superposition (did you swap the two?)",
            stacklevel=2,
        )
    study = Study(
        model,
        axes={"density": np.atleast_1d(d), "seed": np.arange(n_fits)},
        config={"n_features": n_features, "n_hidden": n_hidden, "batch_size": batch_size, "n_steps": n_steps},
        sampler=sampler,
        hyper={
            "importance": per_feature(imp) if imp.ndim else float(imp),
            "lr": lr,
            "weight_decay": weight_decay,
        },
        optimizer=optimizer,
        root_seed=seed,
    )
    every = study.run()
    all_diverged = every.diverged
    if all_diverged.all():
        raise ConfigError(f"every fit diverged (NaN/inf) at lr={lr:g}; lower the learning rate")
    if all_diverged.any():
        pairs = [f"density {every.axes['density'][i]:g} fit {k}" for i, k in zip(*np.nonzero(all_diverged))]
        named = ", ".join(pairs[:8]) + (", ..." if len(pairs) > 8 else "")
        warnings.warn(
            f"{len(pairs)} of {all_diverged.size} fits diverged (NaN/inf; never kept): {named}", stacklevel=2
        )
    best = every.best()
    squeeze = (lambda a: a[0]) if d.ndim == 0 else (lambda a: a)
    out = FitResult(
        params={k: squeeze(v) for k, v in best.params.items()},
        loss=squeeze(best.loss),
        log_steps=best.log_steps,
        final_loss=squeeze(best.final_loss),
        all_final_loss=squeeze(every.final_loss),
        density=squeeze(every.axes["density"]),
        diverged=squeeze(best.diverged),
        all_diverged=squeeze(all_diverged),
    )
    if "W" in out.params and out.params["W"].shape[-2:] == (n_hidden, n_features):
        W = np.asarray(out.params["W"])
        out.feature_norms = _per_model(metrics.feature_norms, W)
        out.represented = _per_model(metrics.represented, W)
        out.interference = _per_model(metrics.interference, W)
        out.feature_dimensionality = _per_model(metrics.feature_dimensionality, W)
        out.dimensions_per_feature = _per_model(metrics.dimensions_per_feature, W)
    return out
