"""Neurons of an untied ReLU MLP that computes on its inputs (paper section 8, E11: the absolute value).

Owns: the neuron classes of W1 [m, n], W2 [n, m] (alive, main feature and its share of the neuron's squared
input weight, monosemantic, highly polysemantic), the positive- and negative-side neurons a feature keeps,
the display rescaling and order, and the "asymmetric superposition" motif detector (`find_motifs`). Every
quantity is unchanged by rescaling a neuron's input weights by alpha > 0 and its output weights by 1/alpha
(ReLU(alpha w.x) = alpha ReLU(w.x)), and a permutation of the neurons permutes the results. Does not: train,
or classify the tied model's hidden-neuron regimes (superpose.analysis.neurons, E10).
"""

from __future__ import annotations

import dataclasses

import numpy as np

ALIVE_GAIN = 0.1  # alive: ||W1_k|| ||W2_:k|| >= 0.1 (a unit input moves some output by at least 0.1)
MONO_SHARE = 0.9  # monosemantic: the main feature carries >= 90% of the neuron's squared input weight
HIGH_SHARE = 0.5  # highly polysemantic: the main feature carries < 50% (the others together outweigh it)
MOTIF_RATIO = 2.0  # input and output weight ratios of the asymmetric neuron (the paper's example: 4)
MOTIF_GAIN = 0.2  # the asymmetric neuron carries at least 0.2 of each feature's readout
MOTIF_CANCEL = 0.5  # the inhibitor removes at least half of the leak


def input_shares(W1: np.ndarray) -> np.ndarray:
    """[m, n] share of each feature in each neuron's squared input weight, W1[k, i]^2 / sum_i W1[k, i]^2."""
    sq = np.asarray(W1, dtype=np.float64) ** 2
    return sq / np.maximum(sq.sum(axis=1, keepdims=True), 1e-30)


def neuron_gain(W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """[m] ||W1_k|| ||W2_:k||: how much a neuron can move the outputs."""
    W1, W2 = np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64)
    return np.linalg.norm(W1, axis=1) * np.linalg.norm(W2, axis=0)


def classify_neurons(W1: np.ndarray, W2: np.ndarray) -> dict[str, np.ndarray]:
    """Per neuron (W1 [m, n], W2 [n, m]): alive, main feature, its share, monosemantic, highly polysemantic
    (thresholds ALIVE_GAIN, MONO_SHARE, HIGH_SHARE). Dead neurons are neither monosemantic nor polysemantic."""
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
    """For display: each neuron scaled so its largest |input weight| is 1, its output weights by the inverse.
    Dead-zero neurons stay zero."""
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


def feature_sets(params: dict, path_min: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(represented [n], dropped [n]) bool of one untied model (params W1 [m, n], W2 [n, m]): represented, the
    main feature of some alive neuron; dropped, not represented and no path feature -> neuron -> its own
    output stronger than path_min (max_k |W1[k, i] W2[i, k]|). For measured importance's ranking check."""
    W1, W2 = np.asarray(params["W1"]), np.asarray(params["W2"])
    represented = np.zeros(W1.shape[1], bool)
    represented[list(best_feature_share(W1, W2))] = True
    path = np.abs(W1.T * W2).max(axis=1)
    return represented, (path < path_min) & ~represented


def leading_monosemantic(W1: np.ndarray, W2: np.ndarray) -> int:
    """How many of the most important features (0, 1, ... in order) each keep a monosemantic neuron."""
    best = best_feature_share(W1, W2)
    k = 0
    while best.get(k, 0.0) >= MONO_SHARE:
        k += 1
    return k


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
       into y_j, while x_j leaks only W2[i, a] |W1[a, j]| into y_i;
    4. inhibitor c != a fires on the same side of x_i (W1[c, i] W1[a, i] > 0), writes negatively onto j
       (W2[j, c] < 0) and cancels at least MOTIF_CANCEL of the leak: -W2[j, c] |W1[c, i]| >= MOTIF_CANCEL
       W2[j, a] |W1[a, i]|.
    Every quantity is a product W2 W1 through one neuron or a ratio of such (alpha-invariant). Sorted by
    (a, i, j).
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


def class_stats(W1: np.ndarray, W2: np.ndarray, importance: np.ndarray) -> dict:
    """One model's neuron classes in numbers (W1 [m, n], W2 [n, m], importance [n]): counts and fractions of
    the alive neurons, the best share per feature (best_feature_share), the leading monosemantic features,
    and the Spearman rho and one-sided p-value (rho > 0) of importance against best share over the features
    some alive neuron serves."""
    from superpose.analysis.stats import spearman_test

    c = classify_neurons(W1, W2)
    n_alive = int(c["alive"].sum())
    n_mono, n_high = int(c["monosemantic"].sum()), int(c["highly_polysemantic"].sum())
    best = best_feature_share(W1, W2)
    rho, p = spearman_test(np.asarray(importance)[np.asarray(list(best), dtype=int)], list(best.values()))
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
        "leading_features_monosemantic": leading_monosemantic(W1, W2),
        "importance_vs_best_share_spearman": rho,
        "importance_vs_best_share_p": p,
        "best_share_per_feature": {int(k): round(v, 3) for k, v in best.items()},
    }


def motif_weights(W1: np.ndarray, W2: np.ndarray, motif: Motif) -> tuple[int, np.ndarray, np.ndarray]:
    """For display: (c, inputs [2, 2], outputs [2, 2]) of a motif's asymmetric neuron a and its strongest
    inhibitor c (rows of inputs / columns of outputs: a, c; features: strong, weak). a is scaled so its two
    input weights have geometric mean 1 (the paper's [2, -1/2]) and c so |W1[c, strong]| = 1, the output
    weights by the inverse."""
    W1, W2 = np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64)
    a, i, j = motif.neuron, motif.strong, motif.weak
    c = max(motif.inhibitors, key=lambda c: -W2[j, c] * abs(W1[c, i]))
    alpha = np.array([np.sqrt(abs(W1[a, i] * W1[a, j])), abs(W1[c, i])])
    return c, W1[np.ix_([a, c], [i, j])] / alpha[:, None], W2[np.ix_([i, j], [a, c])] * alpha[None, :]
