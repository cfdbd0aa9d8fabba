"""Can a sparse autoencoder recover what a toy model superposed? SAEs on the hidden activations h = W x of
toy models across the density axis, scored against the toy's own feature directions (issue 22 §5).

Source: a stored run (`--set run=RUN`, any run whose results hold W [N, m, n] and a density coordinate, such as
`superpose sweep`'s; the best fit per density is kept, superpose.activations), or, with run empty, a toy grid
trained here (ReLU output, n features in m dimensions, importance 1, over `densities`). At every density, one
ReLU + L1 SAE per L1 value with as many latents as the toy has features, all in one Study (the density is an
axis: each SAE reads its own W), trained on fresh h = W x with x drawn as the toy was trained. The truth is the
toy's represented features (|W_i| > 0.5); MMCS reads the SAE's live latents (in few dimensions a dead atom's
random direction can fall near a feature by chance).
Expected (the pentagon of experiments/sae.py, Sharkey et al. 2022): where the toy superposes sparse features,
the SAE takes each of them back out, since few are active at once. Dense inputs are harder: many features
are active together, and the SAE's sparsity penalty then fights the reconstruction (measured: MMCS 0.93 at
density 1, where the toy keeps 4 features with |W_i| > 0.5 in 3 dimensions; 1.000 at 0.3, 0.1 and 0.03).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from superpose import Study
from superpose.activations import toy_sources
from superpose.analysis import sae as score
from superpose.config import ConfigError
from superpose.lab import Experiment, main
from superpose.lab.fields import count, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.models.sae import sae_study, score_result
from superpose.optim import AdamW
from superpose.plots import save


@dataclasses.dataclass(frozen=True)
class Config:
    run: str = ""  # a stored run's directory to read W from ("": train a toy grid here); `superpose sae`
    # resolves an id, prefix or experiment name under --runs-dir to it
    n_features: int = count(8)
    n_hidden: int = count(3)
    densities: tuple[float, ...] = probability((1.0, 0.3, 0.1, 0.03))
    toy_steps: int = steps(6_000)
    toy_seeds: int = count(3)
    l1s: tuple[float, ...] = positive((0.03, 0.1, 0.3))
    sae_steps: int = steps(4_000)
    batch_size: int = count(256)
    lr: float = positive(1e-2)  # AdamW (no decay), warmup then cosine decay
    eval_samples: int = count(8_192)
    seed: int = seed(0)

    def __post_init__(self):
        if self.run and not (Path(self.run) / "results.npz").is_file():
            raise ConfigError(
                f"run {self.run!r}: no results.npz there (a finished run's directory is needed)"
            )


QUICK = {"toy_steps": 3_000, "toy_seeds": 2, "sae_steps": 1_500}


def toy_arrays(cfg: Config, ctx) -> dict:
    """W and densities of the source: the stored run's, or a toy grid trained here."""
    if cfg.run:
        from superpose.lab.store import read_npz

        return read_npz(Path(cfg.run) / "results.npz")
    toy = Study(
        ReluOutput(),
        axes={"density": np.asarray(cfg.densities), "seed": np.arange(cfg.toy_seeds)},
        config={"n_features": cfg.n_features, "n_hidden": cfg.n_hidden, "n_steps": cfg.toy_steps},
        root_seed=cfg.seed,
    )
    return ctx.study("toy", toy).to_arrays()


def train(cfg: Config, ctx) -> dict:
    src = toy_sources(toy_arrays(cfg, ctx))
    n = src["W"].shape[2]
    recipe = {"n_steps": cfg.sae_steps, "batch_size": cfg.batch_size, "schedule": "warmup_cosine"}
    study = sae_study(src["W"], src["probs"], [n], l1s=cfg.l1s, lr=cfg.lr, optimizer=AdamW(),
                      warmup_steps=cfg.sae_steps // 20, root_seed=cfg.seed, **recipe)  # fmt: skip
    rows = score_result(study, ctx.study("sae", study), src["W"], src["probs"], n_samples=cfg.eval_samples)
    shape = (len(src["density"]), len(cfg.l1s))  # rows are [1, sources, l1s, 1] in flat order
    out = {f"toy_{k}": v for k, v in src.items()}
    out["sae_D"] = np.stack([r["D"] for r in rows]).reshape(*shape, *rows[0]["D"].shape)
    out["sae_fired"] = np.stack([r["fired"] for r in rows]).reshape(*shape, -1)
    for key in ("l0", "explained_variance", "dead"):
        out[f"sae_{key}"] = np.array([r[key] for r in rows]).reshape(shape)
    return out


def recovery(arrays: dict) -> np.ndarray:
    """[densities, l1s] MMCS of the toy's represented features against each SAE's live latents."""
    W, rep, D, fired = (arrays[k] for k in ("toy_W", "toy_represented", "sae_D", "sae_fired"))
    out = np.zeros(D.shape[:2])
    for s, i in np.ndindex(*out.shape):
        out[s, i] = score.mmcs(W[s][:, rep[s]], D[s, i][:, fired[s, i] > 0]) if rep[s].any() else np.nan
    return out


def analyze(cfg: Config, arrays: dict) -> dict:
    mm = recovery(arrays)
    best = np.nanmax(mm, axis=1)
    density, n_rep = arrays["toy_density"], arrays["toy_represented"].sum(axis=1)
    m = arrays["toy_W"].shape[1]
    sparse = int(np.argmin(density))
    rows = [
        {"density": round(float(d), 4), "represented": int(r), "best_mmcs": round(float(b), 4)}
        for d, r, b in zip(density, n_rep, best)
    ]
    summary = {"experiment": "sae_toy", "per_density": rows, "mmcs": np.round(mm, 4).tolist()}
    summary["checks"] = [
        {
            "name": "the toy model superposes: more features represented than dimensions at the sparsest density",
            "passed": bool(n_rep[sparse] > m),
            "value": f"{int(n_rep[sparse])} features in {m} dimensions at density {density[sparse]:.3g}",
            "expected": f"> {m}",
        },
        {
            "name": "at the sparsest density an SAE recovers every represented feature (MMCS >= 0.95)",
            "passed": bool(best[sparse] >= 0.95),
            "value": ", ".join(f"{d:.3g}: {b:.3f}" for d, b in zip(density, best)),
            "expected": ">= 0.95 at the sparsest (paper: the SAE takes the pentagon back out)",
        },
    ]
    return summary


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    mm = recovery(arrays)
    density = arrays["toy_density"]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.semilogx(density, np.nanmax(mm, axis=1), "o-", label="SAE: MMCS of the represented features")
    ax.semilogx(density, arrays["toy_represented"].mean(axis=1), "s--", label="toy: fraction represented")
    ax.set_xlabel("feature density")
    ax.set_ylabel("MMCS / fraction of features")
    ax.set_ylim(0, 1.05)
    ax.invert_xaxis()
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(f"SAEs on a toy model's hidden layer (n={arrays['toy_W'].shape[2]}, m={arrays['toy_W'].shape[1]})",
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    return [save(fig, f"{out_dir}/sae_toy.png")]


EXPERIMENT = Experiment("sae_toy", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
