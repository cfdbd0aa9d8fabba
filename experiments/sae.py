"""Sparse autoencoders on toy activations (Sharkey, Braun, Millidge 2022): do they take the features back
out of superposition?

Two sources of activations a with known ground-truth directions:
- published: a = F x in d=256 dimensions from n=512 random unit directions F (Gaussian, normalised), the
  probability of feature i proportional to 0.99^i with 5 active per sample on average, magnitudes
  Uniform[0, 1];
- pentagon: the hidden activations h = W x of a trained superpose toy model, 5 features in 2 dimensions at
  density 0.05 (a pentagon), whose ground-truth directions are the columns of W.
The SAE (superpose.models.sae, "relu"): c = ReLU(W_enc (a - b_dec) + b_enc), a' = D c + b_dec with unit-norm
decoder columns, loss |a - a'|^2 + l1 * sum_j c_j per sample (the L1 term not divided by the dictionary size).
Dictionary sizes from 0.25x to 4x the true count (published: to 32x; 8x is another 50 min of this 2-core CPU,
`--set dict_ratios=0.25,0.5,1,2,4,8`, a GPU job), L1 over a log grid. At the true count, every architecture
of the library (ReLU + L1, TopK, BatchTopK, JumpReLU, Matryoshka) is also trained and scored against the
truth (superpose.analysis.sae: MMCS, F1 and MCC of each latent matched one-to-one to a feature).
Published: MMCS approaches 1 in a band of L1 once the dictionary is at least the true feature count.

Training (issue 22 §1; benchmarks/sae_ablation.py, table in benchmarks/RESULTS.md): AdamW (no decay) at 1e-2
with warmup and cosine decay, 12,000 steps of 1,024 samples (until issue 22: 6,000 of 64, and the 1x
dictionary stopped at MMCS 0.856, latents died and the rarest features were never taken). In the ablation the
batch size is what matters: 16x the batch raised the 1x MMCS from 0.864 to 0.935 (0.952 with twice the
steps), 16x the steps (the same samples) only to 0.902 with more dead latents; renormalising decoder columns
each step and the tied encoder init moved it by 0.01. At the published scale (L1 0.1) 6,000 steps of 1,024
gave 0.939 and 12,000 gave 0.947; at L1 0.03 12,000 gave 0.975 (benchmarks/sae_ablation.py --published).
Not checked: "MMCS with the next larger dictionary peaks near the true count" (issue 17 §8). Small
dictionaries learn the commonest features, which every larger one learns too, so agreement is nearly as high
below the true count (full run at this default, L1 0.1: 0.987, 0.996, 0.998, 0.916 from 128 -> 256 up; at
batch 64 it even peaked below it) and at the quick sizes the bar could not fail; the table (mmcs_larger) and
its heatmap stay, as a reading, not a finding.
Full run (80 min on a 2-core CPU): best MMCS 0.974 at 1x (L1 0.03), 0.999 at 2x and 4x; at 512 latents
ReLU + L1 0.943, JumpReLU 0.813, BatchTopK 0.790, Matryoshka 0.766, TopK 0.719 (the TopK family with 29-43%
of its latents dead: no auxiliary loss, no resampling).
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose import Study, metrics
from superpose.analysis import sae as score
from superpose.lab import Experiment, main
from superpose.lab.fields import count, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.models.sae import SparseAutoencoder, UnitDecoder, sae_study, score_result, stack_scores
from superpose.optim import AdamW
from superpose.plots import features_2d, save
from superpose.plots import sae as sae_plots

ARCHS = ("relu", "topk", "batchtopk", "jumprelu", "matryoshka")


@dataclasses.dataclass(frozen=True)
class Config:
    d_input: int = count(256)  # published activation dimension
    n_true: int = count(512)  # published ground-truth feature count
    mean_active: float = positive(5.0)  # published: about 5 active per sample
    decay: float = probability(0.99)  # feature i's probability proportional to decay^i
    dict_ratios: tuple[float, ...] = positive((0.25, 0.5, 1.0, 2.0, 4.0))  # dictionary / true count
    l1s: tuple[float, ...] = positive((0.03, 0.1, 0.3))  # the published source's L1 grid
    n_steps: int = steps(12_000)  # 1x, published scale, after 12,000: MMCS 0.975 (L1 0.03), 0.947 (L1 0.1)
    batch_size: int = count(1_024)  # 64 until issue 22: the 1x dictionary stopped at MMCS 0.86 (ablation)
    lr: float = positive(1e-2)  # AdamW (no decay), warmup (n_steps / 20) then cosine decay
    renorm: bool = False  # True: decoder columns to unit norm after each step (else D = V / |V| only)
    eval_samples: int = count(16_384)
    # True: every dictionary size of the published source is a masked set of latents of the largest, one
    # compiled sweep (fewer compiles, more compute: for small sources).
    mask_dictionaries: bool = False
    # Architectures compared at the true count: TopK's k and JumpReLU's L0 coefficient.
    archs: str = ",".join(ARCHS)  # comma-separated names (superpose.models.sae.ARCHITECTURES)
    topk: int = count(5)
    l0_coef: float = positive(0.03)
    # The pentagon source: a toy model (n=5, m=2) at this density, the best of toy_seeds fits.
    toy_density: float = probability(0.05)
    toy_seeds: int = count(4)
    toy_steps: int = steps(10_000)
    pentagon_l1s: tuple[float, ...] = positive((0.03, 0.1, 0.3, 1.0))
    pentagon_steps: int = steps(5_000)
    # Initialisations per pentagon SAE, the lowest-loss kept: 5 latents on 5 directions in 2-D has local
    # minima (measured: one of two equally good toy pentagons left every single-init SAE of 5 at >= 18 deg).
    pentagon_seeds: int = count(4)
    seed: int = seed(0)  # root seed

    def __post_init__(self):
        for arch in self.arch_names:
            SparseAutoencoder(1, arch=arch, k=self.topk)  # ConfigError on an unknown name

    @property
    def arch_names(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.archs.split(",") if a.strip())


QUICK = {  # a 32-D source of 64 features, 3 active, 0.97^i: every size in one masked sweep
    "n_true": 64,
    "l1s": (0.1, 0.3, 1.0),  # more interference in 32 dimensions: the band sits higher
    "d_input": 32,
    "mean_active": 3.0,
    "decay": 0.97,
    "dict_ratios": (0.5, 1.0, 2.0, 4.0),
    "n_steps": 2_000,
    "batch_size": 128,
    "eval_samples": 4_096,
    "mask_dictionaries": True,  # one compiled sweep: 34 s of CPU for the whole quick run, not 72
    "topk": 3,
    "toy_seeds": 3,
    "toy_steps": 4_000,
    "pentagon_steps": 2_000,
}


def feature_probs(cfg: Config) -> np.ndarray:
    """[n_true] p_i proportional to decay^i, summing to mean_active (published: 5)."""
    w = cfg.decay ** np.arange(cfg.n_true)
    return (cfg.mean_active * w / w.sum()).astype(np.float32)


def dict_sizes(cfg: Config, n_true: int) -> np.ndarray:
    """Dictionary sizes for a source of n_true features: round(ratio * n_true), at least 1."""
    return np.array([max(1, int(round(r * n_true))) for r in cfg.dict_ratios])


PENTAGON_RECIPE = {"lr": 1e-2, "optimizer": AdamW(), "batch_size": 64, "schedule": "warmup_cosine"}


def train(cfg: Config, ctx) -> dict:
    rng = np.random.default_rng([cfg.seed, 1])
    F = score.unit(rng.normal(size=(cfg.d_input, cfg.n_true))).astype(np.float32)
    probs, sizes = feature_probs(cfg), dict_sizes(cfg, cfg.n_true)
    optimizer = UnitDecoder(AdamW()) if cfg.renorm else AdamW()
    recipe = {"lr": cfg.lr, "n_steps": cfg.n_steps, "batch_size": cfg.batch_size, "optimizer": optimizer}
    recipe.update(schedule="warmup_cosine", warmup_steps=cfg.n_steps // 20, root_seed=cfg.seed)
    evaluation = {"n_samples": cfg.eval_samples, "seed": cfg.seed}
    arrays = {"pub_sizes": sizes, "pub_l1s": np.asarray(cfg.l1s, np.float32), "pub_truth": F}
    study = sae_study(F, probs, sizes, l1s=cfg.l1s, masked=cfg.mask_dictionaries, **recipe)
    rows = score_result(study, ctx.study("pub", study), F, probs, **evaluation)
    arrays.update(stack_scores(rows, "pub", sizes))  # rows are [sizes, l1s, 1] in flat order

    # Every architecture at the true count, each with its own sparsity knob (TopK family: k; L1; L0).
    knob = {"relu": float(np.median(cfg.l1s)), "jumprelu": cfg.l0_coef}
    model = SparseAutoencoder(cfg.d_input, k=cfg.topk)
    l1_by_arch = {a: knob.get(a, 0.0) for a in cfg.arch_names}
    study = sae_study(
        F, probs, [cfg.n_true], archs=cfg.arch_names, model=model, l1_by_arch=l1_by_arch, **recipe
    )
    arrays.update(stack_scores(score_result(study, ctx.study("arch", study), F, probs, **evaluation), "arch"))

    toy_config = {"n_features": 5, "n_hidden": 2, "batch_size": 1024, "n_steps": cfg.toy_steps}
    toy = Study(ReluOutput(), axes={"seed": np.arange(cfg.toy_seeds)}, config=toy_config, root_seed=cfg.seed,
                hyper={"feature_prob": cfg.toy_density})  # fmt: skip
    toy_result = ctx.study("toy", toy)
    W = toy_result.best().params["W"]
    arrays.update(toy_W=toy_result.params["W"], toy_loss=toy_result.final_loss, pent_truth=W)
    p_sizes, p_probs = dict_sizes(cfg, 5), np.full(5, cfg.toy_density, np.float32)
    pentagon = {"n_steps": cfg.pentagon_steps, "warmup_steps": cfg.pentagon_steps // 20, **PENTAGON_RECIPE}
    study = sae_study(W, p_probs, p_sizes, l1s=cfg.pentagon_l1s, masked=True, root_seed=cfg.seed,
                      seeds=np.arange(cfg.pentagon_seeds), **pentagon)  # fmt: skip
    rows = score_result(study, ctx.study("pent", study).best(), W, p_probs, **evaluation)
    arrays.update(stack_scores(rows, "pent", p_sizes))
    arrays.update(pent_sizes=p_sizes, pent_l1s=np.asarray(cfg.pentagon_l1s, np.float32))
    return arrays


# --- analysis ------------------------------------------------------------------------------------------------


def live(arrays: dict, name: str, k: int, i: int) -> np.ndarray:
    """[d, live] the atoms of dictionary size k at L1 index i that fired on some evaluation sample (in 2-D
    a dead atom's random direction can fall near a feature by chance, so the pentagon reads live atoms)."""
    return arrays[f"{name}_k{k}_D"][i][:, arrays[f"{name}_k{k}_fired"][i] > 0]


def tables(arrays: dict, name: str) -> dict:
    """[l1s, sizes] MMCS against the truth (from the stored dictionaries), dead fraction, L0, unexplained
    variance, F1 and MCC of the matched latents; [l1s, sizes - 1] MMCS of each dictionary with the next
    larger one. MMCS reads every atom, dead or not, as published."""
    sizes, l1s, truth = arrays[f"{name}_sizes"], arrays[f"{name}_l1s"], arrays[f"{name}_truth"]
    out = {key: np.zeros((len(l1s), len(sizes))) for key in ("mmcs", "dead", "l0", "fvu", "f1", "mcc")}
    out["mmcs_larger"] = np.full((len(l1s), len(sizes) - 1), np.nan)
    for j, k in enumerate(sizes):
        for i in range(len(l1s)):
            atoms = arrays[f"{name}_k{k}_D"][i]
            out["mmcs"][i, j] = score.mmcs(truth, atoms)
            for key in ("dead", "l0", "fvu", "f1", "mcc"):
                out[key][i, j] = arrays[f"{name}_k{k}_{key}"][i]
            if j + 1 < len(sizes):
                out["mmcs_larger"][i, j] = score.mmcs(atoms, arrays[f"{name}_k{sizes[j + 1]}_D"][i])
    return out


def analyze(cfg: Config, arrays: dict) -> dict:
    pub = tables(arrays, "pub")
    sizes, l1s = arrays["pub_sizes"], arrays["pub_l1s"]
    n = cfg.n_true
    best_mmcs = {int(k): float(pub["mmcs"][:, j].max()) for j, k in enumerate(sizes) if k >= n}
    keys = ("f1", "mcc", "l0", "dead", "explained_variance")
    arch = {
        a: {"mmcs": round(score.mmcs(arrays["pub_truth"], arrays["arch_D"][i]), 4)}
        for i, a in enumerate(cfg.arch_names)
    }
    for i, a in enumerate(cfg.arch_names):
        arch[a].update({k: round(float(arrays[f"arch_{k}"][i]), 4) for k in keys})

    truth = arrays["pent_truth"]
    angles = {
        (int(k), float(l1)): score.recovery_angles(truth, live(arrays, "pent", k, i))
        for k in arrays["pent_sizes"]
        for i, l1 in enumerate(arrays["pent_l1s"])
    }
    worst = {k: min(float(a.max()) for (kk, _), a in angles.items() if kk == k) for k, _ in angles}
    at_five = [key for key in angles if key[0] == 5]
    best_key = min(at_five, key=lambda key: angles[key].max()) if at_five else None
    _, toy_gaps = metrics.angles_2d(truth)

    def grid_json(t):
        return {key: np.round(v, 4).tolist() for key, v in t.items()}

    summary = {
        "experiment": "sae",
        "published_source": {"sizes": sizes.tolist(), "l1s": np.round(l1s, 5).tolist(), **grid_json(pub)},
        "architectures_at_true_count": arch,
        "pentagon_source": {
            "sizes": arrays["pent_sizes"].tolist(),
            "toy_angle_gaps_deg": np.round(toy_gaps, 1).tolist(),
            "worst_angle_deg": {f"k{k}_l1_{l1:g}": round(float(a.max()), 2) for (k, l1), a in angles.items()},
        },
    }
    summary["checks"] = [
        {
            "name": f"published setting: MMCS >= 0.95 for some L1 at every dictionary size >= {n}",
            "passed": bool(best_mmcs and min(best_mmcs.values()) >= 0.95),
            "value": ", ".join(f"{k}: {v:.3f}" for k, v in best_mmcs.items()),
            "expected": ">= 0.95 (paper: MMCS approaches 1 in a band of L1)",
        },
        {
            "name": "pentagon: the toy model's five features form a pentagon",
            "passed": bool(len(toy_gaps) == 5 and np.abs(toy_gaps - 72).max() < 10),
            "value": f"angle gaps {np.round(toy_gaps, 1).tolist()} deg",
            "expected": "5 represented, gaps 72 +- 10 deg",
        },
        {
            "name": "pentagon: an SAE of 5 latents recovers all five directions, each within 10 deg",
            "passed": bool(best_key is not None and angles[best_key].max() <= 10.0),
            "value": (
                f"L1 {best_key[1]:g}: angles {np.round(angles[best_key], 2).tolist()} deg"
                if best_key
                else "no dictionary of 5"
            )
            + "; worst angle at the best L1 per size: "
            + ", ".join(f"{k}: {v:.1f}" for k, v in worst.items()),
            "expected": "every angle <= 10 deg",
        },
    ]
    return summary


# --- figures -------------------------------------------------------------------------------------------------


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    pub = tables(arrays, "pub")
    sizes, l1s = arrays["pub_sizes"], arrays["pub_l1s"]
    fig, axes = plt.subplots(1, 5, figsize=(20, 3.4), gridspec_kw={"wspace": 0.35})
    sae_plots.heatmap(axes[0], pub["mmcs"], sizes, l1s, "MMCS with the truth", vmin=0, vmax=1)
    sae_plots.heatmap(axes[1], pub["dead"], sizes, l1s, "dead fraction", vmin=0, cmap="magma")
    sae_plots.heatmap(axes[2], pub["mmcs_larger"], sizes[:-1], l1s, "MMCS with next larger", vmin=0, vmax=1)
    sae_plots.heatmap(axes[3], pub["l0"], sizes, l1s, "L0 (active latents)", cmap="cividis", fmt="{:.1f}")
    if cfg.n_true in list(sizes):
        sae_plots.outline_column(axes[:4], list(sizes).index(cfg.n_true), len(l1s))
    truth, archs = arrays["pub_truth"], list(cfg.arch_names)
    bars = {"MMCS": [score.mmcs(truth, D) for D in arrays["arch_D"]], "F1": arrays["arch_f1"]}
    sae_plots.architectures(axes[4], archs, {**bars, "MCC": arrays["arch_mcc"]}, f"{cfg.n_true} latents")
    fig.suptitle(
        f"SAEs on {cfg.d_input}-D activations of {cfg.n_true} features (outlined column: the true count)",
        fontsize=10,
    )
    paths = [save(fig, f"{out_dir}/sae.png")]

    p_sizes, p_l1s, truth = arrays["pent_sizes"], arrays["pent_l1s"], arrays["pent_truth"]
    fig, axes = plt.subplots(1, len(p_sizes) + 1, figsize=(2.2 * (len(p_sizes) + 1), 2.6))
    features_2d(axes[0], truth, title="toy model W (truth)")
    for j, k in enumerate(p_sizes):
        i = int(np.argmax([score.mmcs(truth, D) for D in arrays[f"pent_k{k}_D"]]))
        atoms = live(arrays, "pent", k, i)
        worst = score.recovery_angles(truth, atoms).max()
        sae_plots.atoms_over_truth(
            axes[j + 1], truth, atoms, title=f"{k} latents, L1 {p_l1s[i]:g}\nworst {worst:.1f} deg"
        )
    paths.append(save(fig, f"{out_dir}/sae_pentagon.png"))
    return paths


EXPERIMENT = Experiment("sae", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
