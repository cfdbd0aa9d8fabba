"""Paper E11 (computation in superposition): an untied ReLU MLP computing the absolute value.

h = ReLU(W1 x), y' = ReLU(W2 h + b), target y = |x|, active inputs Uniform[-1, 1]. A hidden neuron is a ReLU
of a weighted sum, so it sees one sign of each feature: |x_i| = ReLU(x_i) + ReLU(-x_i) needs a positive-side
and a negative-side neuron.

Published: n=3, m=6 dense -> one positive- and one negative-side neuron per feature. n=100, m=40, I_i=0.8^i:
monosemantic neurons at densities 1 and 0.3, a few slightly polysemantic ones at 0.1, highly polysemantic
neurons for low-importance features from 0.03, more at 0.01 and 0.003, all highly polysemantic at 0.001; and
the "asymmetric superposition" motif (find_motifs). The neuron classes are defined at the constants below.

Training: the notebook's AdamW (lr 1e-3, weight decay 0.01), batch 1024, 10,000 steps, constant rate; each
density fitted from 3 seeds and the lowest final loss kept (measured on 32 batches: sparse losses are noisy).
At density 0.001 a feature is active in about 10,000 training examples over the run.

One deviation, measured (n=100, m=40, seed 0; losses as a fraction of predicting 0, p mean(I) / 3): with
AbsMLP's own init (W2 Xavier-normal, b = 0) every density <= 0.1 stalls by step 500 near half that loss (0.46
at 0.1, 0.44 at 0.01, against 0.02 at density 1), with features 0-4 computed on one side only: early on, the
outputs of inactive features are pushed negative by everything else, a feature's output ReLU goes dead for
one sign, and no gradient revives it. 20,000 steps at lr 3e-4, 1e-3 or 3e-3 left it at 0.42-0.50. So the
output layer starts alive (LiveOutputAbsMLP: W2 = |Xavier-normal|, b = 0.1): the same runs end at
0.014-0.046 at every density (live_outputs=false restores AbsMLP's init). Steps: 20,000 instead of 10,000
changed the sparse losses by at most 0.002 of that baseline except at 0.03 (0.041 -> 0.024) and made sparse
neurons somewhat cleaner (monosemantic at 0.03: 20 -> 26 of 40, at 0.01: 3 -> 10; highly polysemantic at
0.001: 39 -> 37), the trend unchanged; 10,000 keeps the full run to about 4 CPU-minutes.
"""

from __future__ import annotations

import dataclasses
import sys

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from superpose.config import TrainConfig, geometric_importance, make_hyper, per_feature, per_instance
from superpose.data import Independent
from superpose.lab import Experiment, main
from superpose.lab.fields import count, fraction, nonnegative, positive, probability, seed, steps
from superpose.models import AbsMLP
from superpose.plots import computation as plots
from superpose.sweep import Grid, Sweep, best_of

# Neuron classes (rows of W1 [m, n]; share_ki = W1[k, i]^2 / sum_i W1[k, i]^2, invariant under the alpha, 1/alpha
# rescaling of a neuron's input and output weights).
ALIVE_GAIN = 0.1  # alive: ||W1_k|| ||W2_:k|| >= 0.1 (a unit input moves some output by at least 0.1)
MONO_SHARE = 0.9  # monosemantic: the main feature carries >= 90% of the neuron's squared input weight
HIGH_SHARE = 0.5  # highly polysemantic: the main feature carries < 50% (the others together outweigh it)
# Checks.
RISE_TOL = 0.05  # the polysemantic fraction may dip by at most 0.05 from one density to the next sparser one
HIGH_FRACTION = 0.9  # the sparsest density: at least 90% of alive neurons highly polysemantic
INTERMEDIATE = (0.01, 0.03)  # the paper's intermediate densities
# The motif (find_motifs).
MOTIF_RATIO = 2.0  # input and output weight ratios of the asymmetric neuron (the paper's example: 4)
MOTIF_GAIN = 0.2  # the asymmetric neuron carries at least 0.2 of each feature's readout
MOTIF_CANCEL = 0.5  # the inhibitor removes at least half of the leak


@dataclasses.dataclass(frozen=True)
class LiveOutputAbsMLP(AbsMLP):
    """AbsMLP whose output units start alive: W2 = |Xavier-normal| and b = output_bias, so every neuron's
    first contributions are positive and no output ReLU is dead for one sign from the start (module
    docstring: with AbsMLP's init the sparse densities stall). Same model, other init."""

    output_bias: float = 0.1

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        params = super().init(key, n_features, n_hidden)
        return {
            "W1": params["W1"],
            "W2": jnp.abs(params["W2"]),
            "b": jnp.full((n_features,), self.output_bias, jnp.float32),
        }


@dataclasses.dataclass(frozen=True)
class Config:
    # The n=3, m=6 dense case, I = 1.
    small_features: int = count(3)
    small_hidden: int = count(6)
    small_seeds: int = count(4)  # best of 4 by final loss
    # The density sweep.
    n_features: int = count(100)
    n_hidden: int = count(40)
    importance_ratio: float = positive(0.8)  # I_i = 0.8^i
    densities: tuple[float, ...] = probability((1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001))  # the paper's
    n_seeds: int = count(3)  # fits per density; lowest final loss kept
    n_steps: int = steps(10_000)  # the notebook's (20,000 measured: same trend; module docstring)
    batch_size: int = count(1024)
    lr: float = positive(1e-3)
    eval_batches: int = count(32)  # best-of by loss on 32 x 1024 samples (8 hold ~800 active values at 0.001)
    live_outputs: bool = True  # LiveOutputAbsMLP (False: AbsMLP's init, which stalls when sparse)
    output_bias: float = nonnegative(0.1)  # LiveOutputAbsMLP's initial b
    # Densities >= 0.3: at least this share of the alive neurons monosemantic.
    mono_fraction: float = fraction(0.95)
    seed: int = seed(0)  # root seed


# CI scale: n=40, m=16 (the paper's ratio of features to neurons) at 3 densities spanning the same regimes
# (n p = 40, 1 and 0.1 active features per example, as n=100 at densities 1, 0.01 and 0.001), best of 2 for
# 3,000 steps. The checks on densities >= 0.3 read density 1 only, where after 3,000 steps a fading neuron
# (gain ~0.3, main share ~0.8) may remain: 90% of the alive neurons monosemantic, not 95%. Every other
# threshold as at full scale.
QUICK = {
    "small_seeds": 2,
    "n_features": 40,
    "n_hidden": 16,
    "densities": (1.0, 0.025, 0.0025),
    "n_seeds": 2,
    "n_steps": 3_000,
    "eval_batches": 16,
    "mono_fraction": 0.9,
}


def model(cfg: Config):
    return LiveOutputAbsMLP(cfg.output_bias) if cfg.live_outputs else AbsMLP()


def train(cfg: Config, ctx) -> dict:
    sampler = Independent("signed_uniform")  # active inputs Uniform[-1, 1]
    seeds = np.arange(cfg.small_seeds)
    small_cfg = TrainConfig(
        cfg.small_features,
        cfg.small_hidden,
        batch_size=cfg.batch_size,
        n_steps=cfg.n_steps,
        eval_batches=cfg.eval_batches,
    )
    small_hyper = make_hyper(seeds.size, cfg.small_features, feature_prob=1.0, importance=1.0, lr=cfg.lr)
    small = ctx.sweep("small", Sweep(model(cfg), sampler, small_cfg, small_hyper, seeds, cfg.seed))
    pick = int(np.argmin(small.final_loss))
    arrays = {
        "small_W1": small.params["W1"][pick],
        "small_W2": small.params["W2"][pick],
        "small_b": small.params["b"][pick],
        "small_final_loss": small.final_loss,
    }

    density = np.asarray(cfg.densities, dtype=np.float32)
    grid = Grid(density=density, seed=np.arange(cfg.n_seeds))
    coords = grid.coords
    importance = geometric_importance(cfg.n_features, cfg.importance_ratio)
    hyper = make_hyper(
        grid.size,
        cfg.n_features,
        feature_prob=per_instance(coords["density"]),
        importance=per_feature(importance),
        lr=cfg.lr,
    )
    train_cfg = TrainConfig(
        cfg.n_features,
        cfg.n_hidden,
        batch_size=cfg.batch_size,
        n_steps=cfg.n_steps,
        eval_batches=cfg.eval_batches,
    )
    result = ctx.sweep("sweep", Sweep(model(cfg), sampler, train_cfg, hyper, coords["seed"], cfg.seed))
    best = best_of(result.params, result.select_loss, grid, axis="seed")
    arrays.update(
        W1=result.params["W1"],  # [instances, m, n]: every seed, for the motif counts
        W2=result.params["W2"],  # [instances, n, m]
        b=result.params["b"],
        loss=result.loss,
        log_steps=result.log_steps,
        final_loss=result.final_loss,
        instance_density=coords["density"],
        instance_seed=coords["seed"],
        importance=importance,
        density=density,
        best_W1=best["W1"],  # [n_densities, m, n]
        best_W2=best["W2"],
        best_b=best["b"],
        best_index=best["best_index"],
    )
    return arrays


# --- neurons --------------------------------------------------------------------------------------------


def input_shares(W1: np.ndarray) -> np.ndarray:
    """[m, n] share of each feature in each neuron's squared input weight, W1[k, i]^2 / sum_i W1[k, i]^2."""
    sq = np.asarray(W1, dtype=np.float64) ** 2
    return sq / np.maximum(sq.sum(axis=1, keepdims=True), 1e-30)


def neuron_gain(W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """[m] ||W1_k|| ||W2_:k||: how much a neuron can move the outputs (invariant under alpha, 1/alpha)."""
    W1, W2 = np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64)
    return np.linalg.norm(W1, axis=1) * np.linalg.norm(W2, axis=0)


def classify_neurons(W1: np.ndarray, W2: np.ndarray) -> dict[str, np.ndarray]:
    """Per neuron (W1 [m, n], W2 [n, m]): alive, main feature, its share, monosemantic, highly polysemantic
    (the constants at the top of this file). Dead neurons are neither monosemantic nor polysemantic."""
    shares = input_shares(W1)
    alive = neuron_gain(W1, W2) >= ALIVE_GAIN
    main_share = shares.max(axis=1)
    return {
        "alive": alive,
        "main": shares.argmax(axis=1),
        "main_share": main_share,
        "monosemantic": alive & (main_share >= MONO_SHARE),
        "highly_polysemantic": alive & (main_share < HIGH_SHARE),
    }


def sides(W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """[n, 2] the number of alive monosemantic neurons dedicated to each feature's positive side (column 0:
    main input weight > 0) and negative side (column 1). One of each computes |x_i| = ReLU(x_i) + ReLU(-x_i)."""
    c = classify_neurons(W1, W2)
    out = np.zeros((np.shape(W1)[1], 2), dtype=int)
    rows = np.flatnonzero(c["monosemantic"])
    negative = np.asarray(W1)[rows, c["main"][rows]] < 0
    np.add.at(out, (c["main"][rows], negative.astype(int)), 1)
    return out


def rescale(W1: np.ndarray, W2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For display: each neuron scaled so its largest |input weight| is 1, its output weights by the inverse
    (the alpha, 1/alpha freedom of ReLU(alpha w.x) = alpha ReLU(w.x)). Dead-zero neurons stay zero."""
    W1, W2 = np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64)
    alpha = np.abs(W1).max(axis=1)
    alpha = np.where(alpha > 0, alpha, 1.0)
    return W1 / alpha[:, None], W2 * alpha[None, :]


def neuron_order(W1: np.ndarray, W2: np.ndarray, importance: np.ndarray) -> np.ndarray:
    """[m] neurons sorted by the importance of their main feature (most important first), then by how
    monosemantic they are; dead neurons last."""
    c = classify_neurons(W1, W2)
    return np.lexsort((-c["main_share"], -np.asarray(importance)[c["main"]], ~c["alive"]))


def best_feature_share(W1: np.ndarray, W2: np.ndarray) -> dict[int, float]:
    """{feature: the largest main share among alive neurons whose main feature it is}: how monosemantic the
    best neuron a feature keeps is. Features that are no neuron's main feature are left out."""
    c = classify_neurons(W1, W2)
    out: dict[int, float] = {}
    for k in np.flatnonzero(c["alive"]):
        i = int(c["main"][k])
        out[i] = max(out.get(i, 0.0), float(c["main_share"][k]))
    return dict(sorted(out.items()))


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties); nan when either side is constant."""

    def ranks(v):
        v = np.asarray(v, dtype=np.float64)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for value in np.unique(v):  # ties share their mean rank
            r[v == value] = r[v == value].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


# --- the asymmetric superposition motif -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Motif:
    """One asymmetric-superposition motif: neuron `neuron` (a) computes both features `strong` (i) and
    `weak` (j), reading i with the larger input weight and writing it with the smaller output weight;
    `inhibitors` (c, ascending) cancel a's leak from i into j. Ratios and `cancelled` as in find_motifs."""

    neuron: int
    strong: int
    weak: int
    inhibitors: tuple[int, ...]
    gains: tuple[float, float]  # (g_i, g_j): W2[f, a] |W1[a, f]|, a's share of each feature's readout
    input_ratio: float  # |W1[a, i]| / |W1[a, j]|
    output_ratio: float  # W2[j, a] / W2[i, a]
    cancelled: float  # the largest inhibitor's -W2[j, c] |W1[c, i]| / (W2[j, a] |W1[a, i]|)


def find_motifs(W1: np.ndarray, W2: np.ndarray) -> list[Motif]:
    """Every asymmetric-superposition motif of one model (W1 [m, n], W2 [n, m]), the paper's "input weights
    like [2, -1/2], output weights [1/2, 2], plus an inhibitory neuron". (a, i, j) with an inhibitor c:

    1. a computes both: W2[i, a] > 0, W2[j, a] > 0, and the gains g_i = W2[i, a] |W1[a, i]| and
       g_j = W2[j, a] |W1[a, j]| are both >= MOTIF_GAIN (a's share of each unit readout |x|);
    2. asymmetric input: |W1[a, i]| >= MOTIF_RATIO |W1[a, j]| (signs free: a sees one side of each);
    3. reciprocal output: W2[j, a] >= MOTIF_RATIO W2[i, a]. So x_i on a's side leaks W2[j, a] |W1[a, i]| x_i
       >= MOTIF_RATIO^2 g_i... into y_j, while x_j leaks only W2[i, a] |W1[a, j]| into y_i;
    4. inhibitor c != a fires on the same side of x_i (W1[c, i] W1[a, i] > 0), writes negatively onto j
       (W2[j, c] < 0) and cancels at least MOTIF_CANCEL of the leak: -W2[j, c] |W1[c, i]| >= MOTIF_CANCEL
       W2[j, a] |W1[a, i]|.
    Every quantity is a product W2 W1 through one neuron or a ratio of such, so the result is unchanged by
    rescaling any neuron's input weights by alpha > 0 and its output weights by 1/alpha, and a permutation of
    the neurons permutes the indices. Sorted by (a, i, j).
    """
    W1, W2 = np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64)
    found = []
    for a in range(W1.shape[0]):
        w, v = W1[a], W2[:, a]
        gain = v * np.abs(w)
        candidates = np.flatnonzero((v > 0) & (gain >= MOTIF_GAIN))
        for i in candidates:
            for j in candidates:
                if i == j or abs(w[i]) < MOTIF_RATIO * abs(w[j]) or v[j] < MOTIF_RATIO * v[i]:
                    continue
                leak = v[j] * abs(w[i])
                inhibition = -W2[j] * np.abs(W1[:, i])  # [m] each neuron's cancellation of the leak
                ok = (W1[:, i] * w[i] > 0) & (W2[j] < 0) & (inhibition >= MOTIF_CANCEL * leak)
                ok[a] = False
                if ok.any():
                    found.append(
                        Motif(
                            neuron=a,
                            strong=int(i),
                            weak=int(j),
                            inhibitors=tuple(int(c) for c in np.flatnonzero(ok)),
                            gains=(float(gain[i]), float(gain[j])),
                            input_ratio=float(abs(w[i]) / abs(w[j])),
                            output_ratio=float(v[j] / v[i]),
                            cancelled=float(inhibition[ok].max() / leak),
                        )
                    )
    return found


# --- analysis -------------------------------------------------------------------------------------------


def density_stats(W1: np.ndarray, W2: np.ndarray, importance: np.ndarray) -> dict:
    """The numbers of one model (W1 [m, n], W2 [n, m]) that the checks read."""
    c = classify_neurons(W1, W2)
    n_alive = int(c["alive"].sum())
    n_mono, n_high = int(c["monosemantic"].sum()), int(c["highly_polysemantic"].sum())
    best = best_feature_share(W1, W2)
    feats = np.asarray(list(best))
    leading = 0  # how many of the most important features keep a monosemantic neuron
    while best.get(leading, 0.0) >= MONO_SHARE:
        leading += 1
    return {
        "alive": n_alive,
        "monosemantic": n_mono,
        "polysemantic": n_alive - n_mono,
        "highly_polysemantic": n_high,
        "monosemantic_fraction": n_mono / max(n_alive, 1),
        "polysemantic_fraction": (n_alive - n_mono) / max(n_alive, 1),
        "highly_polysemantic_fraction": n_high / max(n_alive, 1),
        "mean_main_share": float(c["main_share"][c["alive"]].mean()) if n_alive else float("nan"),
        "features_with_neurons": int(len(best)),
        "leading_features_monosemantic": leading,
        "importance_vs_best_share_spearman": spearman(np.asarray(importance)[feats], list(best.values()))
        if len(best) > 2
        else float("nan"),
        "best_share_per_feature": {int(k): round(v, 3) for k, v in best.items()},
    }


def motif_counts(arrays: dict) -> list[list[int]]:
    """[density][seed] the number of motifs (a, i, j) in each instance of the sweep."""
    density = np.asarray(arrays["density"])
    counts: list[list[int]] = [[] for _ in density]
    for k, d in enumerate(arrays["instance_density"]):
        counts[int(np.flatnonzero(density == d)[0])].append(
            len(find_motifs(arrays["W1"][k], arrays["W2"][k]))
        )
    return counts


def showcase_motif(arrays: dict) -> tuple[int, Motif] | None:
    """(density index, motif) to draw: in the best-of-seeds models, the one whose asymmetric neuron carries
    the most of both features' readouts (largest min(g_i, g_j)); None if there is none."""
    found = [
        (j, mo)
        for j in range(len(arrays["density"]))
        for mo in find_motifs(arrays["best_W1"][j], arrays["best_W2"][j])
    ]
    if not found:
        return None
    return max(found, key=lambda t: (min(t[1].gains), -t[0]))


def _rounded(value):
    """A summary value: floats to 3 decimals, nan as None (JSON has no nan)."""
    if isinstance(value, float):
        return None if np.isnan(value) else round(value, 3)
    return value


def analyze(cfg: Config, arrays: dict) -> dict:
    checks = []
    W1s, W2s = arrays["small_W1"], arrays["small_W2"]
    side_counts = sides(W1s, W2s)
    small = classify_neurons(W1s, W2s)
    checks.append(
        {
            "name": f"n={W1s.shape[1]}, m={W1s.shape[0]} dense: one positive- and one negative-side neuron per feature",
            "passed": bool(np.all(side_counts == 1) and small["monosemantic"].sum() == W1s.shape[0]),
            "value": {
                "monosemantic neurons per feature [positive side, negative side]": side_counts.tolist(),
                "main shares": np.round(small["main_share"], 3).tolist(),
            },
            "expected": f"exactly [1, 1] for every feature, every neuron's main share >= {MONO_SHARE}",
        }
    )

    # Densities are stored as float32: compared as written (0.01 as float32 is just below 0.01).
    density = np.array([float(f"{d:.6g}") for d in arrays["density"]])
    importance = arrays["importance"]
    stats = [density_stats(W1, W2, importance) for W1, W2 in zip(arrays["best_W1"], arrays["best_W2"])]
    motifs = motif_counts(arrays)
    best_loss = arrays["final_loss"][arrays["best_index"]]
    zero_loss = density * float(np.mean(importance)) / 3.0  # predicting 0: E[I x^2] = p mean(I) / 3
    per_density = []
    for d, s, loss, zero, found in zip(density, stats, best_loss, zero_loss, motifs):
        row = {"density": float(d), "loss_vs_predicting_zero": round(float(loss / zero), 4)}
        row.update({k: _rounded(v) for k, v in s.items()})
        row["motifs_per_seed"] = found
        per_density.append(row)

    label = {float(d): f"{d:g}" for d in density}
    dense = [j for j, d in enumerate(density) if d >= 0.3]
    checks.append(
        {
            "name": "densities >= 0.3: neurons monosemantic",
            "passed": bool(dense)
            and all(stats[j]["monosemantic_fraction"] >= cfg.mono_fraction for j in dense),
            "value": {label[density[j]]: round(stats[j]["monosemantic_fraction"], 3) for j in dense},
            "expected": f"monosemantic fraction of alive neurons >= {cfg.mono_fraction} (main share >= {MONO_SHARE})",
        }
    )
    order = np.argsort(-density)
    poly = np.array([stats[j]["polysemantic_fraction"] for j in order])
    rho = spearman(density[order], poly)
    checks.append(
        {
            "name": "the polysemantic fraction rises as density falls",
            "passed": bool(np.all(np.diff(poly) >= -RISE_TOL) and rho < 0),
            "value": {
                "polysemantic fraction": {label[density[j]]: round(float(p), 3) for j, p in zip(order, poly)},
                "spearman vs density": _rounded(rho),
            },
            "expected": f"no dip larger than {RISE_TOL} towards sparser densities, Spearman < 0",
        }
    )
    sparsest = int(np.argmin(density))
    checks.append(
        {
            "name": f"density {density[sparsest]:g}: nearly all neurons highly polysemantic",
            "passed": stats[sparsest]["highly_polysemantic_fraction"] >= HIGH_FRACTION,
            "value": round(stats[sparsest]["highly_polysemantic_fraction"], 3),
            "expected": f">= {HIGH_FRACTION} of alive neurons with main share < {HIGH_SHARE}",
        }
    )
    middle = [j for j, d in enumerate(density) if INTERMEDIATE[0] <= d <= INTERMEDIATE[1]]
    checks.append(
        {
            "name": "intermediate densities: the most important features keep the most monosemantic neurons",
            "passed": bool(middle) and all(stats[j]["importance_vs_best_share_spearman"] > 0 for j in middle),
            "value": {
                label[density[j]]: {
                    "spearman(importance, best share)": _rounded(
                        stats[j]["importance_vs_best_share_spearman"]
                    ),
                    "leading features with a monosemantic neuron": stats[j]["leading_features_monosemantic"],
                }
                for j in middle
            },
            "expected": "at each density in [0.01, 0.03]: Spearman > 0 over the features that are some alive "
            "neuron's main feature (best share: the main share of that feature's most monosemantic neuron); the "
            f"leading count (features 0, 1, ... each with a neuron of share >= {MONO_SHARE}) is reported",
        }
    )
    sparse_counts = {label[d]: sum(found) for d, found in zip(density, motifs) if d <= 0.1}
    checks.append(
        {
            "name": "asymmetric superposition motif found at some density <= 0.1",
            "passed": sum(sparse_counts.values()) > 0,
            "value": sparse_counts,
            "expected": ">= 1 motif (a, i, j) summed over seeds (find_motifs)",
        }
    )
    checks.append(
        {
            "name": "no asymmetric superposition motif at densities >= 0.3 (monosemantic neurons cannot host one)",
            "passed": bool(dense) and all(sum(motifs[j]) == 0 for j in dense),
            "value": {label[density[j]]: sum(motifs[j]) for j in dense},
            "expected": "0 over every seed",
        }
    )
    shown = showcase_motif(arrays)
    return {
        "experiment": "abs_value",
        "small": {
            "final_loss_per_seed": [float(f"{x:.3g}") for x in arrays["small_final_loss"]],
            "sides": side_counts.tolist(),
        },
        "per_density": per_density,
        "showcase_motif": None
        if shown is None
        else {"density": float(density[shown[0]]), **dataclasses.asdict(shown[1])},
        "checks": checks,
    }


# --- figures --------------------------------------------------------------------------------------------


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    return [
        plot_neurons(arrays, f"{out_dir}/abs_value.png"),
        plot_motif(arrays, f"{out_dir}/abs_value_motif.png"),
    ]


def plot_neurons(arrays: dict, path: str):
    density, importance = np.asarray(arrays["density"]), np.asarray(arrays["importance"])
    colors = plots.importance_colors(importance)
    k = len(density)
    fig = plt.figure(figsize=(max(8.0, 1.35 * k), 7.2))
    grid = fig.add_gridspec(2, k, height_ratios=[1.0, 2.6], hspace=0.35, wspace=0.15)
    top = grid[0, :].subgridspec(1, 3, width_ratios=[1.0, 1.0, 2.2], wspace=0.35)

    W1s, W2s = arrays["small_W1"], arrays["small_W2"]
    n_small = W1s.shape[1]
    order = neuron_order(W1s, W2s, np.ones(n_small))
    R1, R2 = rescale(W1s[order], W2s[:, order])
    rows = [f"h{k}" for k in order]
    feats = [f"x{i}" for i in range(n_small)]
    plots.weight_table(
        fig.add_subplot(top[0]), R1, rows, feats, title=f"n={n_small}, m={len(order)}: $W_1$ (rescaled)"
    )
    plots.weight_table(
        fig.add_subplot(top[1]), R2.T, rows, [f"y{i}" for i in range(n_small)], title="$W_2^T$"
    )

    stats = [density_stats(W1, W2, importance) for W1, W2 in zip(arrays["best_W1"], arrays["best_W2"])]
    ax = fig.add_subplot(top[2])
    plots.summary_lines(
        ax,
        density,
        {
            "monosemantic": np.array([s["monosemantic_fraction"] for s in stats]),
            "polysemantic": np.array([s["polysemantic_fraction"] for s in stats]),
            "highly polysemantic": np.array([s["highly_polysemantic_fraction"] for s in stats]),
        },
        "fraction of alive neurons",
        title=f"n={len(importance)}, m={arrays['best_W1'].shape[1]}: neuron classes (best of seeds)",
    )
    ax.set_ylim(-0.03, 1.03)
    twin = ax.twinx()
    twin.plot(
        density, [np.mean(c) for c in motif_counts(arrays)], color="0.4", ls="--", marker="s", ms=3, lw=1
    )
    twin.set_ylabel("asymmetric motifs per model (dashed)", fontsize=7)
    twin.tick_params(labelsize=6)

    for j in range(k):
        W1, W2 = arrays["best_W1"][j], arrays["best_W2"][j]
        order = neuron_order(W1, W2, importance)
        R1, _ = rescale(W1[order], W2[:, order])
        ax = fig.add_subplot(grid[1, j])
        plots.neuron_bars(ax, R1, colors, title=f"1-S = {density[j]:g}")
        ax.set_xlabel("input weight", fontsize=7)
        if j == 0:
            ax.set_ylabel("neurons (one bar each)", fontsize=7)
    fig.suptitle(
        "Absolute value in superposition: each row a neuron's input weights (largest |w| = 1), coloured by\n"
        "feature importance (yellow = most); neurons sorted by their main feature's importance",
        fontsize=9,
    )
    return plots.save(fig, path)


def plot_motif(arrays: dict, path: str):
    shown = showcase_motif(arrays)
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.4))
    if shown is None:
        for ax in axes:
            ax.axis("off")
        axes[0].text(0.0, 0.5, "no asymmetric superposition motif found", fontsize=9)
        return plots.save(fig, path)
    j, mo = shown
    W1, W2, b = arrays["best_W1"][j], arrays["best_W2"][j], arrays["best_b"][j]
    a, c = mo.neuron, max(mo.inhibitors, key=lambda c: -W2[mo.weak, c] * abs(W1[c, mo.strong]))
    feats = [mo.strong, mo.weak]
    # Scale a so its two input weights have geometric mean 1 (the paper's [2, -1/2]) and c so |W1[c, i]| = 1.
    alpha = np.array([np.sqrt(abs(W1[a, mo.strong] * W1[a, mo.weak])), abs(W1[c, mo.strong])])
    inputs = W1[np.ix_([a, c], feats)] / alpha[:, None]
    outputs = W2[np.ix_(feats, [a, c])] * alpha[None, :]
    rows = [f"h{a} (asymmetric)", f"h{c} (inhibitor)"]
    plots.weight_table(axes[0], inputs, rows, [f"x{i}" for i in feats], title="input weights $W_1$")
    plots.weight_table(axes[1], outputs.T, rows, [f"y{i}" for i in feats], title="output weights $W_2^T$")
    axes[1].set_yticks([])
    fig.suptitle(
        f"Asymmetric superposition at 1-S = {arrays['density'][j]:g}: input ratio {mo.input_ratio:.1f}, "
        f"output ratio {mo.output_ratio:.1f},\ngains ({mo.gains[0]:.2f}, {mo.gains[1]:.2f}), "
        f"leak cancelled {mo.cancelled:.0%}; "
        f"b = ({b[mo.strong]:.2f}, {b[mo.weak]:.2f})",
        fontsize=8,
    )
    fig.tight_layout()  # room for the row names and the two-line title inside the canvas
    return plots.save(fig, path)


EXPERIMENT = Experiment("abs_value", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
