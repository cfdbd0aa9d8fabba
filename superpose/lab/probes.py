"""Probe activations and measured feature importance of a run's kept models, stored beside its results.

Owns: the `Probes` spec an experiment opts in with (`Experiment(..., probes=Probes(ReluOutput()))`), which
after training reads the kept models from the run's arrays and computes
  - probe activations: the hidden activations h and outputs y' of every kept model on a fixed probe set
    (each feature alone at magnitude 1, then `batch` fixed samples of the model's own data distribution), at
    every stored weight snapshot (or the final weights alone when the run keeps no snapshots);
  - measured importances (superpose.analysis.importance: ablation and gradient x input) of the final weights,
    and the check that they rank as the configured I_i among represented features, dropped ones ~0;
and `attach`, which the runner calls: probes.npz in the run directory, and the summary's
"feature_importance" entry plus the check. Does not: train (the models are functions of the stored
weights), plot (superpose.lab.animate / report draw probes.npz) or export lineage (mlmd.py).

Post hoc, and exact: the activations are computed AFTER training from the weight snapshots the sweep keeps
anyway (snapshot_steps), not recorded inside the training loop. Because a model's activations are a pure
function of its weights and the (fixed) probe inputs, this gives bit-for-bit what recording during training
would have, costs training nothing and needs no change to the compiled sweep.

probes.npz layout (M kept models, S frames, P = n + batch probes):
    probe_inputs [M, n, P]   probe_steps [S]   probe_hidden [M, S, m, P]   probe_output [M, S, n, P]
    probe_density [M]   importance [M, n]   ablation [M, n]   grad_input [M, n]   represented [M, n]
    dropped [M, n]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from superpose.analysis import importance as imp_mod

PROBES_FILE = "probes.npz"


@dataclasses.dataclass(frozen=True)
class Probes:
    """Which arrays of train()'s output hold the kept models, and the probe set.

    model:      the models' class instance (apply/target, optional hidden) e.g. ReluOutput()
    params:     (param name, arrays key) of each parameter of the kept models, [M, ...] each
    density:    arrays key of each kept model's feature density (1 - S) [M]
    importance: arrays key of the I_i: [n], [M, n], or [instances, n] read at `index`
    index:      arrays key of each kept model's flat instance index (to read snapshot_<param> and a per-
                instance importance); None or a missing key: final weights only
    sampler:    the run's sampler (None: data.Independent(), the paper's)
    batch:      samples of the data distribution in the probe set; n_samples: common samples for ablation
    """

    model: object
    params: tuple[tuple[str, str], ...] = (("W", "best_W"), ("b", "best_b"))
    density: str = "best_density"
    importance: str = "importance"
    index: str | None = "best_index"
    sampler: object = None
    batch: int = 32
    n_samples: int = imp_mod.DEFAULT_SAMPLES
    seed: int = 0
    rho_min: float = imp_mod.RHO_MIN
    dropped_tol: float = imp_mod.DROPPED_TOL
    # A feature is represented (ranked) when ||W_i|| > 0.5 and dropped (must measure ~0) when ||W_i|| <
    # dropped_norm: one in between is partly represented, and zeroing it costs a share of its loss.
    dropped_norm: float = 0.1
    # For models without a tied W [m, n]: params of ONE model -> (represented [n], dropped [n]) bool.
    features: Callable | None = None

    def _sampler(self):
        from superpose.data import Independent

        return Independent() if self.sampler is None else self.sampler

    def compute(self, arrays: dict) -> dict[str, np.ndarray]:
        """The probes.npz arrays of the kept models in `arrays` (train()'s output)."""
        import jax
        import jax.numpy as jnp

        from superpose import metrics

        final = {name: np.asarray(arrays[key], np.float32) for name, key in self.params}
        n_models = len(next(iter(final.values())))
        density = np.asarray(arrays[self.density], np.float32).reshape(n_models)
        index = np.asarray(arrays[self.index]) if self.index and self.index in arrays else None
        imp = np.asarray(arrays[self.importance], np.float32)
        if imp.ndim == 2 and imp.shape[0] != n_models:
            if index is None:
                raise ValueError(f"{self.importance} is per instance but no {self.index!r} says which")
            imp = imp[index]
        n = imp.shape[-1]
        imp = np.broadcast_to(imp, (n_models, n)).astype(np.float32)
        feature_prob = np.repeat(density[:, None], n, axis=1)

        # The probe set: each feature alone at magnitude 1, then a fixed batch of the model's own data.
        data = imp_mod.common_samples(self._sampler(), feature_prob, self.batch, seed=self.seed + 1)
        inputs = np.concatenate(
            [np.broadcast_to(np.eye(n, dtype=np.float32), (n_models, n, n)), data], axis=2
        )

        snaps = {name: f"snapshot_{name}" for name, _ in self.params}
        if index is not None and all(k in arrays for k in snaps.values()) and "snapshot_steps" in arrays:
            frames = {
                name: np.asarray(arrays[k], np.float32)[index] for name, k in snaps.items()
            }  # [M, S, ...]
            steps = np.asarray(arrays["snapshot_steps"], np.int64)
        else:
            frames = {name: v[:, None] for name, v in final.items()}
            last = np.asarray(arrays.get("log_steps", [-1])).ravel()
            steps = np.asarray([int(last[-1]) if last.size else -1], np.int64)

        model = self.model
        hidden_fn = getattr(model, "hidden", None)

        def one(params, x):
            h = hidden_fn(params, x) if hidden_fn is not None else jnp.zeros((0, x.shape[1]), x.dtype)
            return h, model.apply(params, x)

        over_frames = jax.vmap(one, in_axes=(0, None))  # frames of one model, same probes
        hidden, output = jax.jit(jax.vmap(over_frames))(frames, jnp.asarray(inputs))

        x = imp_mod.common_samples(self._sampler(), feature_prob, self.n_samples, seed=self.seed)
        measured = imp_mod.measure(model, final, x, imp)
        if self.features is not None:
            one = [self.features({k: v[j] for k, v in final.items()}) for j in range(n_models)]
            represented, dropped = (np.stack([np.asarray(f[i], bool) for f in one]) for i in (0, 1))
        elif "W" in final and final["W"].ndim == 3 and final["W"].shape[-1] == n:
            represented = np.stack([metrics.represented(W) for W in final["W"]])
            dropped = np.stack([metrics.feature_norms(W) < self.dropped_norm for W in final["W"]])
        else:
            represented, dropped = np.ones((n_models, n), bool), np.zeros((n_models, n), bool)
        return {
            "probe_inputs": inputs,
            "probe_steps": steps,
            "probe_hidden": np.asarray(hidden, np.float32),
            "probe_output": np.asarray(output, np.float32),
            "probe_density": density,
            "importance": imp,
            "ablation": measured["ablation"].astype(np.float32),
            "grad_input": measured["grad_input"].astype(np.float32),
            "represented": represented,
            "dropped": dropped,
        }

    def summarize(self, probes: dict) -> dict:
        """{"feature_importance": per model numbers, "checks": [the ranking check]} from probes.npz arrays."""
        per_model, fails, rhos = [], [], []
        for j, d in enumerate(probes["probe_density"]):
            result = imp_mod.check_ranking(
                probes["ablation"][j],
                probes["importance"][j],
                probes["represented"][j],
                rho_min=self.rho_min,
                dropped_tol=self.dropped_tol,
                dropped=probes["dropped"][j] if "dropped" in probes else None,
            )
            per_model.append(
                {
                    "density": round(float(d), 4),
                    "importance": np.round(probes["importance"][j], 4).tolist(),
                    "ablation": np.round(probes["ablation"][j], 6).tolist(),
                    "grad_input": np.round(probes["grad_input"][j], 6).tolist(),
                    "represented": np.flatnonzero(probes["represented"][j]).tolist(),
                    "rho": None if np.isnan(result["rho"]) else round(result["rho"], 3),
                    "passed": result["passed"],
                    "value": result["value"],
                }
            )
            rhos.append(result["rho"])
            if not result["passed"]:
                fails.append(f"density {float(d):.3g}: {result['value']}")
        finite = [r for r in rhos if np.isfinite(r)]
        value = f"{len(per_model) - len(fails)}/{len(per_model)} models agree"
        if finite:
            value += f"; lowest rho {min(finite):.2f}"
        if fails:
            value += "; " + "; ".join(fails[:3])
        dropped_rule = (
            f"as {getattr(self.features, '__name__', 'features')} says"
            if self.features is not None
            else f"||W_i|| < {self.dropped_norm}"
        )
        check = {
            "name": "measured feature importance (ablation) ranks as I_i; dropped features ~0",
            "passed": not fails,
            "value": value,
            "expected": f"Spearman rho >= {self.rho_min} among represented features (same order if 2), every "
            f"dropped feature ({dropped_rule}) <= {self.dropped_tol} of the largest, in every kept model",
        }
        return {"feature_importance": per_model, "checks": [check]}


def attach(spec, arrays: dict, run, summary: dict) -> dict:
    """spec: a Probes (or another spec with compute and summarize, and optionally plot, such as
    fact_probes.FactProbes), or a bare model (Probes(model): best_W/best_b/best_density/importance/best_index).
    Compute the probes of a finished run, write probes.npz into it, and return the summary with the
    measured importances and the ranking check added."""
    from superpose.lab import store

    if not hasattr(spec, "compute"):
        spec = Probes(spec)  # a bare model: the default layout
    probes = spec.compute(arrays)
    store.write_npz(run.file(PROBES_FILE), probes)
    draw = getattr(spec, "plot", None) or plot
    figures = [p.name for p in draw(probes, run.path, run.experiment)]
    extra = spec.summarize(probes)
    if not isinstance(summary, dict):
        return summary
    found = {k: v for k, v in extra.items() if k != "checks"}  # feature_importance or fact_importance
    return {
        **summary,
        **found,
        "checks": [*summary.get("checks", []), *extra["checks"]],
        "probe_figures": figures,
    }


def load(run) -> dict[str, np.ndarray] | None:
    """A run's probes.npz, or None when it keeps none."""
    from superpose.lab import store

    path = run.file(PROBES_FILE)
    return store.read_npz(path) if path.exists() else None


def format_importance(summary: dict) -> str:
    """Lines for `superpose show`: per kept model, the measured ablation importance beside I_i."""
    rows = summary.get("feature_importance") if isinstance(summary, dict) else None
    if not rows:
        from superpose.lab.fact_probes import format_importance as facts_format

        return facts_format(summary)
    lines = [
        "measured feature importance (ablation: loss increase when the feature is zeroed; I_i in brackets):"
    ]
    for row in rows:
        pairs = " ".join(
            f"{i}:{a:.3g}[{w:.2g}]" for i, (a, w) in enumerate(zip(row["ablation"], row["importance"]))
        )
        mark = "ok" if row.get("passed") else "FAIL"
        lines.append(f"  density {row['density']:.3g} ({mark}, {row.get('value', '')}): {pairs}")
    return "\n".join(lines)


def format_probes(run) -> str:
    """One line for `superpose show`: what probes.npz holds and its size."""
    path = run.file(PROBES_FILE)
    if not path.exists():
        return ""
    p = load(run)
    models, frames, m, n_probes = p["probe_hidden"].shape
    steps = p["probe_steps"]
    n = one_hot_count(p)
    what = f"{n_probes} fact keys" if is_facts(p) else f"{n} one-hot + {n_probes - n} samples"
    return (
        f"probes: {path.name} ({path.stat().st_size / 1e6:.2f} MB): {models} kept models x {frames} frames "
        f"(steps {int(steps[0])}..{int(steps[-1])}) x {m} hidden x {n_probes} probes ({what})"
    )


def is_facts(p: dict) -> bool:
    """Whether probes.npz arrays `p` are a fact MLP's (fact_probes.FactProbes) rather than a feature model's."""
    return "probe_kind" in p and str(p["probe_kind"]) == "facts"


def one_hot_count(p: dict) -> int:
    """How many of the probes are one-hot features (the first ones): n, or 0 for fact keys."""
    return 0 if is_facts(p) else int(p["probe_inputs"].shape[1])


def model_labels(p: dict) -> list[str]:
    """A short label per kept model: its density, or the fact count for a fact MLP."""
    if is_facts(p):
        return [f"{p['probe_hidden'].shape[-1]} facts"] * p["probe_hidden"].shape[0]
    return [f"1-S = {float(d):.2g}" for d in p["probe_density"]]


def _frames_to_show(n_frames: int, most: int = 6) -> list[int]:
    """Up to `most` frame indices, evenly spread, always the first and the last."""
    return sorted({int(round(v)) for v in np.linspace(0, n_frames - 1, min(most, n_frames))})


def plot(probes: dict, out_dir, name: str) -> list:
    """Two figures from probes.npz arrays: NAME_importance.png (per kept model, the measured ablation
    importance beside the configured I_i, each scaled to its largest) and NAME_probes.png (neuron x one-hot
    probe heatmaps of the hidden activations over training, rows the kept models, columns frames)."""
    import matplotlib.pyplot as plt

    from superpose.plots.core import save

    density, abl, imp, rep = (
        probes["probe_density"],
        probes["ablation"],
        probes["importance"],
        probes["represented"],
    )
    k, n = abl.shape
    cols = min(k, 4)
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.1 * rows), squeeze=False, sharey=True)
    x = np.arange(n)
    for j in range(rows * cols):
        ax = axes.flat[j]
        if j >= k:
            ax.axis("off")
            continue
        measured = abl[j] / max(float(np.abs(abl[j]).max()), 1e-30)
        ax.bar(x - 0.2, imp[j] / imp[j].max(), 0.4, color="0.7", label="configured $I_i$")
        ax.bar(x + 0.2, measured, 0.4, color=np.where(rep[j], "tab:blue", "tab:red"), label="measured")
        ax.set_title(f"1-S = {float(density[j]):.3g}", fontsize=9)
        ticks = x[:: max(1, -(-n // 10))]  # at most about 10 labels
        ax.set_xticks(ticks, [str(i) for i in ticks], fontsize=7)
        if j % cols == 0:
            ax.set_ylabel("share of largest")
        if j // cols == rows - 1 or j + cols >= k:
            ax.set_xlabel("feature")
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.suptitle("measured importance (ablation; red: not represented) beside $I_i$", fontsize=10)
    fig.tight_layout()
    paths = [save(fig, f"{out_dir}/{name}_importance.png", dpi=90)]

    hidden = probes["probe_hidden"][..., :n]  # [M, S, m, n]: one-hot probes only
    steps = probes["probe_steps"]
    if hidden.shape[2] == 0:
        return paths
    shown = _frames_to_show(hidden.shape[1])
    picks = _frames_to_show(k, 4)  # up to 4 kept models
    vmax = float(np.abs(hidden[picks][:, shown]).max()) or 1.0
    fig, axes = plt.subplots(
        len(picks),
        len(shown),
        figsize=(max(1.5 * len(shown) + 1.6, 4.6), 1.3 * len(picks) + 0.8),
        squeeze=False,
    )
    for r, j in enumerate(picks):
        for c, t in enumerate(shown):
            ax = axes[r, c]
            image = ax.imshow(hidden[j, t], cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"step {int(steps[t])}", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"1-S={float(density[j]):.2g}\nneuron", fontsize=7)
            if r == len(picks) - 1:
                ax.set_xlabel("feature alone", fontsize=7)
    bar = fig.colorbar(image, ax=axes, shrink=0.8)
    bar.set_label("hidden activation")
    fig.suptitle("neurons x one-hot probes over training", fontsize=10)
    paths.append(save(fig, f"{out_dir}/{name}_probes.png", dpi=90))
    return paths


def animate(run, out_dir=None, fps: int = 12, fmt: str = "gif", progress=None) -> list:
    """`superpose animate RUN --probes`: the neuron x probe heatmap over training, one frame per stored
    snapshot, every probe (one-hot features, then the data samples) for up to 4 kept models side by side.
    From probes.npz alone; RunError when the run keeps none."""
    import matplotlib.pyplot as plt

    from superpose.lab import store
    from superpose.plots.animation import save_animation

    p = load(run)
    if p is None:
        raise store.RunError(
            f"{run.path} keeps no probe activations (its experiment has no Experiment(probes=...), or the run "
            "predates them)"
        )
    hidden, steps, labels = p["probe_hidden"], p["probe_steps"], model_labels(p)
    n = one_hot_count(p)
    if hidden.shape[2] == 0:
        raise store.RunError(f"{run.path}: the model has no hidden layer to show")
    picks = _frames_to_show(hidden.shape[0], 4)
    vmax = float(np.abs(hidden[picks]).max()) or 1.0
    fig, axes = plt.subplots(1, len(picks), figsize=(3.0 * len(picks) + 1.4, 2.8), squeeze=False)
    images = []
    for c, j in enumerate(picks):
        ax = axes[0, c]
        images.append(ax.imshow(hidden[j, 0], cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto"))
        if n:
            ax.axvline(n - 0.5, color="k", lw=0.8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(labels[j], fontsize=9)
        ax.set_xlabel(f"{n} features alone | data samples" if n else "fact keys", fontsize=7)
        if c == 0:
            ax.set_ylabel("neuron")
    bar = fig.colorbar(images[-1], ax=axes, shrink=0.8)
    bar.set_label("hidden activation")
    title = fig.suptitle("", fontsize=10)

    def draw(t: int) -> None:
        for image, j in zip(images, picks):
            image.set_data(hidden[j, t])
        title.set_text(f"{run.experiment}: neurons x probes, step {int(steps[t])}")

    out = Path(out_dir or run.path)
    return [
        save_animation(
            fig, draw, len(steps), out / f"{run.experiment}_probes", fps=fps, fmt=fmt, progress=progress
        )
    ]
