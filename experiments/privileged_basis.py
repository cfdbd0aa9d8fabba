"""Paper E10 (superposition in a privileged basis): 10 features of importance 0.75^i in 5 ReLU neurons.

Model h = ReLU(W x), x' = ReLU(W^T h + b) (models.ReluHidden), n=10, m=5, at 16 densities 100^-t from 1 down
to 0.01, the lowest-loss of n_fits fits kept per density (all fits of all densities train in one sweep).
Published (best of 1000 fits per density): >~0.5 every neuron monosemantic; 0.2-0.5 the top 3 features keep
dedicated neurons and the next 3 share 2 neurons as a binary code; ~0.15 five features in three neurons;
~0.12 six in four; 0.05-0.08 eight in five, all polysemantic; <=0.04 features are pairs of neurons;
monosemantic and polysemantic neurons coexist in one model.

Measured from the weights by superpose.analysis.neurons (excitatory shares of each neuron: dead, monosemantic
or polysemantic neurons, and the groups of features sharing neurons that name a regime, e.g. "3 dedicated + 3
in 2"). Each density's regime is reported beside the paper's.

Fits are ranked on 1024 x 1024 fresh samples, not the default 8 batches: the 8-batch ranking noise (2-4%)
exceeded the gaps between regimes (~2%) and picked "5 in 3" at 0.117, where 400k common samples and the
1024-batch ranking both put "6 in 4" first (measured). Training is the notebook's (AdamW lr 1e-3, batch 1024,
10,000 steps): the losses at <= 0.03 still fall a few % over the last 2,000 steps, but 20,000 steps gave no
cleaner regimes (measured on 16 fits x 5 densities), so we keep it.

n_fits (None: auto) is the paper's 1000 on a GPU/TPU and CPU_FITS = 96 on a CPU: 16 x 96 fits took 520 s of
CPU time (0.34 CPU-s per fit), about 4.5 minutes on the 2 cores of an idle machine (20 minutes wall while ~5
other jobs shared them). Measured with 96 fits: the best fit of every density in a published band shows the
paper's regime except at 0.034, where a "9 in 5" fit beats the best pair code by 0.9% (32 fits: all match).
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from superpose import Study
from superpose.analysis import spearman
from superpose.analysis.neurons import describe, is_all_shared, is_binary_code, is_packed, is_pair_code
from superpose.config import geometric_importance, per_feature
from superpose.data import Independent
from superpose.lab import Experiment, main
from superpose.lab.fields import between, count, fraction, positive, probability, seed, steps
from superpose.models import ReluHidden
from superpose.plots import neurons as neuron_plots

ACCELERATOR_FITS = 1000  # the paper's fits per density
CPU_FITS = 96  # ~5 minutes on the 2-core CPU (see the docstring)


# 100^-t, t = linspace(0, 1, 16): 1, 0.736, ..., 0.0136, 0.01; one or more in every published band
DENSITIES = tuple(round(float(d), 4) for d in 100.0 ** -np.linspace(0, 1, 16))


@dataclasses.dataclass(frozen=True)
class Config:
    n_features: int = count(10)
    n_hidden: int = count(5)
    importance_ratio: float = positive(0.75)  # I_i = 0.75^i, as in the paper
    densities: tuple[float, ...] = probability(DENSITIES)  # 1 - S
    # fits per density, lowest loss kept; None: the paper's 1000 on a GPU/TPU, CPU_FITS on a CPU
    n_fits: int | None = count(None)
    n_steps: int = steps(10_000)  # the notebook's training
    batch_size: int = count(1024)
    lr: float = positive(1e-3)
    # Fits are ranked on eval_batches x batch_size fresh samples: with the default 8 batches the ranking noise
    # exceeded the gaps between regimes (see the docstring). 1024 batches cost ~3% of training.
    eval_batches: int = count(1024)
    strict: bool = True  # the exact published groups (see the checks); False: the coarser pattern only
    spearman_max: float = between(-0.8, low=-1, high=1)  # monosemantic neurons must fall with sparsity
    trend_min_densities: int = count(8)  # fewer densities: the Spearman check is left out (too few to rank)
    pairs_min: float = fraction(0.8)  # share of represented features on exactly 2 neurons at density <= 0.04
    seed: int = seed(0)  # root seed


# One density per published regime but ~0.12, 8 fits, 5,000 steps, ranked on 64 batches. Relaxed (short fits
# end in the published regimes less often): strict=False (the binary code needs only features 3-5 as a group
# in 2 neurons, not also the top 3 dedicated; at 0.15 the top features dedicated and one shared group of at
# least 2 more features than neurons, not exactly 5 in 3; no complete pair code required) and 60% of features
# on exactly 2 neurons at 0.02. The Spearman trend of monosemantic neurons over 5 densities means little (it
# passed at -0.01 before), so the quick run leaves that check out (trend_min_densities) and says so.
QUICK = {
    "densities": (0.7, 0.3, 0.15, 0.063, 0.02),
    "n_fits": 8,
    "n_steps": 5_000,
    "eval_batches": 64,
    "strict": False,
    "pairs_min": 0.6,
}


def resolve_n_fits(cfg: Config) -> int:
    """cfg.n_fits, or where None the paper's 1000 on an accelerator and CPU_FITS on a CPU."""
    if cfg.n_fits is not None:
        return cfg.n_fits
    import jax

    return ACCELERATOR_FITS if jax.default_backend() != "cpu" else CPU_FITS


def train(cfg: Config, ctx) -> dict:
    n_fits = resolve_n_fits(cfg)
    density = np.asarray(cfg.densities, np.float32)
    study = Study(
        ReluHidden(),
        {"density": density, "seed": np.arange(n_fits)},
        config={"n_features": cfg.n_features, "n_hidden": cfg.n_hidden, "batch_size": cfg.batch_size}
        | {"n_steps": cfg.n_steps, "eval_batches": cfg.eval_batches},
        sampler=Independent(),
        hyper={
            "importance": per_feature(geometric_importance(cfg.n_features, cfg.importance_ratio)),
            "lr": cfg.lr,
        },
        root_seed=cfg.seed,
    )
    result = ctx.study("main", study)
    best = result.best()
    best_index = np.arange(len(density)) * n_fits + best.kept["seed"]  # flat index of each kept fit
    return {
        "W": result.W.reshape(-1, cfg.n_hidden, cfg.n_features),  # [N, m, n] every fit
        "b": result.params["b"].reshape(-1, cfg.n_features),
        "final_loss": result.final_loss.reshape(-1),
        "density": result.coords()["density"].reshape(-1),
        "seed": result.coords()["seed"].reshape(-1),
        "importance": geometric_importance(cfg.n_features, cfg.importance_ratio),
        "n_fits": np.int64(n_fits),
        "best_W": best.W,  # [n_densities, m, n]
        "best_b": best.params["b"],
        "best_index": best_index,
        "best_loss": best.final_loss,
        "best_loss_curve": best.loss,
        "log_steps": result.log_steps,
        "best_density": density,
    }


# (low, high, the paper's words, whether a described model matches them under cfg); densities outside
# every band fall between published regimes. "~x" bands are x +- 10%.
PAPER_REGIMES = [
    (0.5, 1.0, "all monosemantic", lambda desc, cfg: desc["label"] == "5 dedicated"),
    (0.2, 0.5, "top 3 dedicated, next 3 share 2 neurons", lambda desc, cfg: is_binary_code(desc)),
    (0.135, 0.165, "five features in three neurons", lambda desc, cfg: is_packed(desc, 5, 3)),
    (0.108, 0.132, "six features in four neurons", lambda desc, cfg: is_packed(desc, 6, 4)),
    (0.05, 0.08, "eight in five neurons, all polysemantic", lambda desc, cfg: is_all_shared(desc, 8, 5)),
    (0.0, 0.04, "features are pairs of neurons", lambda desc, cfg: desc["pairs_fraction"] >= cfg.pairs_min),
]


def paper_regime(density: float):
    """(the paper's words, matcher) for a density, or None between published regimes."""
    for low, high, words, match in PAPER_REGIMES:
        if low <= density <= high:
            return words, match
    return None


# --- analysis --------------------------------------------------------------------------------------------


def _at(dens: np.ndarray, low: float, high: float) -> list[int]:
    return [j for j, d in enumerate(dens) if low <= d <= high]


def analyze(cfg: Config, arrays: dict) -> dict:
    Ws, dens, losses = arrays["best_W"], np.asarray(arrays["best_density"], np.float64), arrays["best_loss"]
    all_W, all_density, all_loss = arrays["W"], arrays["density"], arrays["final_loss"]
    per_density, described = [], []
    for j, (W, d, loss) in enumerate(zip(Ws, dens, losses)):
        desc = describe(W)
        described.append(desc)
        entry = {"density": round(float(d), 4), "best_loss": float(loss), **desc}
        published = paper_regime(float(d))
        entry["paper"] = published[0] if published else None
        entry["agrees"] = bool(published[1](desc, cfg)) if published else None
        if published:  # how many of this density's fits sit in the published regime, and their best loss
            fits = np.flatnonzero(all_density == arrays["best_density"][j])
            hits = [i for i in fits if published[1](describe(all_W[i]), cfg)]
            entry["fits_in_paper_regime"] = f"{len(hits)}/{len(fits)}"
            entry["best_loss_in_paper_regime"] = float(all_loss[hits].min()) if hits else None
        per_density.append(entry)

    def labels(js):
        return {f"{dens[j]:.3g}": described[j]["label"] for j in js} or "none sampled"

    dense = _at(dens, 0.5, 1.0)
    binary = _at(dens, 0.2, 0.4999)
    if cfg.strict:
        middle = _at(dens, 0.108, 0.132) + _at(dens, 0.135, 0.165)
        middle_ok = [paper_regime(float(dens[j]))[1](described[j], cfg) for j in middle]
        middle_expected = "'5 in 3' at each density in 0.135-0.165, '6 in 4' in 0.108-0.132"
    else:
        middle = _at(dens, 0.1, 0.2)
        middle_ok = [is_packed(described[j], 0, 0, strict=False) for j in middle]
        middle_expected = "top k >= 1 features dedicated + one group of >= 2 more features than neurons"
    eight = _at(dens, 0.05, 0.08)
    sparse = _at(dens, 0.0, 0.04)
    npf = np.concatenate([described[j]["neurons_per_feature"] for j in sparse]) if sparse else np.zeros(0)
    on_two = float((npf[npf > 0] == 2).mean()) if (npf > 0).any() else 0.0
    complete = [j for j in sparse if is_pair_code(described[j])]
    n_mono = np.array([d["n_monosemantic"] for d in described])
    rho = spearman(1.0 - dens, n_mono)
    mixed = [j for j, d in enumerate(described) if d["n_monosemantic"] and d["n_polysemantic"]]
    strictly = " (strict)" if cfg.strict else " (relaxed: quick)"
    checks = [
        {
            "name": "every neuron monosemantic at density >= 0.5",
            "passed": bool(dense) and all(described[j]["n_monosemantic"] == cfg.n_hidden for j in dense),
            "value": {f"{dens[j]:.3g}": described[j]["n_monosemantic"] for j in dense} or "none sampled",
            "expected": f"{cfg.n_hidden} monosemantic neurons at each",
        },
        {
            "name": "binary code at 0.2 <= density < 0.5: features 3-5 share 2 neurons" + strictly,
            "passed": any(is_binary_code(described[j], cfg.strict) for j in binary),
            "value": labels(binary),
            "expected": (
                "'3 dedicated + 3 in 2' (features 0-2 dedicated)" if cfg.strict else "a '3 in 2' group"
            )
            + " of features 3-5, one on both neurons and two on one each, at one density at least",
        },
        {
            "name": "~0.15: five features in three neurons; ~0.12: six in four" + strictly,
            "passed": bool(middle) and all(middle_ok),
            "value": labels(middle),
            "expected": middle_expected,
        },
        {
            "name": "0.05-0.08: eight features in five neurons, all polysemantic",
            "passed": bool(eight) and all(is_all_shared(described[j], 8, 5) for j in eight),
            "value": labels(eight),
            "expected": "one group of 8 features in 5 neurons, nothing dedicated, at each density",
        },
        {
            "name": "density <= 0.04: features are pairs of neurons" + strictly,
            "passed": bool(sparse) and on_two >= cfg.pairs_min and (bool(complete) or not cfg.strict),
            "value": {
                "share_on_2_neurons": round(on_two, 3),
                "complete_pair_code_at": [round(float(dens[j]), 4) for j in complete],
                **{f"{dens[j]:.3g}": described[j]["neurons_per_feature"] for j in sparse},
            },
            "expected": f">= {cfg.pairs_min:.0%} of represented features on exactly 2 neurons"
            + (" and, at one density, every feature on its own pair of neurons" if cfg.strict else ""),
        },
        {
            "name": "monosemantic and polysemantic neurons coexist in one model",
            "passed": bool(mixed),
            "value": [round(float(dens[j]), 4) for j in mixed] or "never",
            "expected": "at one density at least",
        },
    ]
    trend = {
        "name": "monosemantic neurons fall as sparsity rises",
        "passed": bool(np.isfinite(rho) and rho <= cfg.spearman_max),
        "value": {"spearman": round(rho, 3), "n_monosemantic": n_mono.tolist()},
        "expected": f"Spearman(sparsity, monosemantic neurons) <= {cfg.spearman_max}",
    }
    left_out = []
    if len(dens) >= cfg.trend_min_densities:
        checks.insert(5, trend)
    else:
        left_out.append({"name": trend["name"], "why": f"{len(dens)} densities are too few to rank"})
    agree = [p for p in per_density if p["agrees"] is not None]
    return {
        "checks_left_out": left_out,
        "experiment": "privileged_basis",
        "n_fits": int(arrays["n_fits"]),
        "n_steps": cfg.n_steps,
        "paper_regimes_matched": f"{sum(p['agrees'] for p in agree)}/{len(agree)} densities in a published band",
        "per_density": per_density,
        "checks": checks,
    }


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    Ws, dens = arrays["best_W"], arrays["best_density"]
    notes = []
    for W, d in zip(Ws, dens):
        published = paper_regime(float(d))
        notes.append(describe(W)["label"] + (f"\npaper: {published[0]}" if published else ""))
    fig = neuron_plots.weights_by_model(
        Ws,
        arrays["importance"],
        [f"1-S = {d:.3g}" for d in dens],
        notes,
        title=f"10 features in 5 ReLU neurons (I = {cfg.importance_ratio}^i; best of {int(arrays['n_fits'])} fits)",
    )
    return [neuron_plots.save(fig, f"{out_dir}/privileged_basis.png", dpi=90)]


EXPERIMENT = Experiment(
    "privileged_basis", Config, train, analyze, plot, QUICK, description=__doc__, probes=ReluHidden()
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
