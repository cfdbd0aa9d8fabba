"""Neurons of a privileged basis, read from the weights (paper E10: the ReLU-hidden model).

Owns: the regime classifiers of a hidden layer W [m, n] (m neurons, n features). A hidden ReLU fires only for
features with a positive input weight, so neurons are read through their excitatory weights P = max(W, 0):
feature i's share of neuron j is P_ji^2 / sum_k P_jk^2 (invariant under a positive rescaling of the neuron).
A neuron whose largest weight is below DEAD_WEIGHT never fires ("dead"); else it is monosemantic when one
feature's share is >= MONO_SHARE, otherwise polysemantic. Feature i uses neuron j when its share there is
>= USE_SHARE; the connected groups of that feature-neuron relation name the regime, e.g. "3 dedicated + 3 in
2" (negative weights inhibit but do not count as use). Then the paper's named regimes as predicates of a
`describe` dict: the binary code, k features packed in l neurons, the pair code, all shared.
Does not: train, plot, or know which density shows which regime (the experiment's table does).
"""

from __future__ import annotations

import numpy as np

DEAD_WEIGHT = 0.1  # a neuron whose largest input weight is below this never fires noticeably
MONO_SHARE = 0.9  # one feature carries >= 90% of a monosemantic neuron's excitatory squared weight
USE_SHARE = 0.1  # a feature with >= 10% of a neuron's excitatory squared weight uses that neuron


def excitatory_shares(W: np.ndarray) -> np.ndarray:
    """[m, n] feature i's share of neuron j's excitatory squared input weight, P_ji^2 / sum_k P_jk^2 with
    P = max(W, 0); rows of neurons without a positive weight are 0."""
    P2 = np.maximum(np.asarray(W, dtype=np.float64), 0.0) ** 2
    total = P2.sum(axis=1, keepdims=True)
    return np.divide(P2, total, out=np.zeros_like(P2), where=total > 0)


def neuron_kinds(W: np.ndarray) -> np.ndarray:
    """[m] "dead" (largest input weight < DEAD_WEIGHT), "monosemantic" (one feature >= MONO_SHARE of the
    excitatory squared weight) or "polysemantic"."""
    W = np.asarray(W, dtype=np.float64)
    mono = excitatory_shares(W).max(axis=1) >= MONO_SHARE
    return np.where(W.max(axis=1) < DEAD_WEIGHT, "dead", np.where(mono, "monosemantic", "polysemantic"))


def uses(W: np.ndarray) -> np.ndarray:
    """[m, n] bool: live neuron j is used by feature i (share >= USE_SHARE)."""
    alive = neuron_kinds(W) != "dead"
    return (excitatory_shares(W) >= USE_SHARE) & alive[:, None]


def groups(W: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """(features, neurons) of each connected group of the relation `uses` (features sharing a neuron are in
    one group), ordered by their first feature; unused features and neurons belong to none."""
    U = uses(W)
    group = np.arange(U.shape[1])  # each feature's group, named by its smallest feature
    for row in U:
        ids = np.unique(group[row])
        group[np.isin(group, ids)] = ids[0] if ids.size else 0
    used = U.any(axis=0)
    out = []
    for g in np.unique(group[used]):
        features = np.flatnonzero((group == g) & used)
        out.append((features.tolist(), np.flatnonzero(U[:, features].any(axis=1)).tolist()))
    return out


def describe(W: np.ndarray) -> dict:
    """The regime of one model W [m, n]: neuron kinds, the neurons of each feature, groups and a label such
    as "5 dedicated", "3 dedicated + 3 in 2" or "10 in 5, pairs". A feature is dedicated when its group is
    itself and one monosemantic neuron; ", pairs": every feature of the group on exactly 2 of its neurons."""
    kinds = neuron_kinds(W)
    used = uses(W)
    per_feature = used.sum(axis=0)
    dedicated, shared = [], []
    for features, neurons in groups(W):
        if len(features) == 1 and len(neurons) == 1 and kinds[neurons[0]] == "monosemantic":
            dedicated.append(features[0])
        else:
            shared.append({"features": features, "neurons": neurons})
    parts = [f"{len(dedicated)} dedicated"] if dedicated else []
    for g in shared:
        pairs = len(g["neurons"]) > 2 and all(per_feature[i] == 2 for i in g["features"])
        parts.append(f"{len(g['features'])} in {len(g['neurons'])}" + (", pairs" if pairs else ""))
    represented = per_feature > 0
    return {
        "label": " + ".join(parts) or "nothing represented",
        "n_monosemantic": int((kinds == "monosemantic").sum()),
        "n_polysemantic": int((kinds == "polysemantic").sum()),
        "n_dead": int((kinds == "dead").sum()),
        "neurons_per_feature": per_feature.tolist(),
        "neurons_of_feature": [np.flatnonzero(used[:, i]).tolist() for i in range(used.shape[1])],
        "n_represented": int(represented.sum()),
        "pairs_fraction": float((per_feature[represented] == 2).mean()) if represented.any() else 0.0,
        "dedicated": dedicated,
        "shared": shared,
    }


def is_binary_code(desc: dict, strict: bool = True) -> bool:
    """Features 3, 4, 5 as one group in 2 neurons, one of them on both and the others on one each (paper 8:
    the feature on both neurons orthogonal to the others, the other two antipodal); strict: also exactly
    the top 3 features dedicated and nothing else represented ("3 dedicated + 3 in 2")."""
    npf = desc["neurons_per_feature"]
    grouped = any(g["features"] == [3, 4, 5] and len(g["neurons"]) == 2 for g in desc["shared"])
    if not grouped or sorted(npf[3:6]) != [1, 1, 2]:
        return False
    return not strict or (desc["label"] == "3 dedicated + 3 in 2" and desc["dedicated"] == [0, 1, 2])


def is_packed(desc: dict, n_features: int, n_neurons: int, strict: bool = True) -> bool:
    """A group of n_features features in n_neurons neurons (the paper's ~0.15 and ~0.12 regimes); not
    strict: the top k >= 1 features dedicated and one shared group of at least 2 more features than neurons."""
    if strict:
        return any(
            len(g["features"]) == n_features and len(g["neurons"]) == n_neurons for g in desc["shared"]
        )
    k = len(desc["dedicated"])
    return (
        k >= 1
        and desc["dedicated"] == list(range(k))
        and len(desc["shared"]) == 1
        and len(desc["shared"][0]["features"]) >= len(desc["shared"][0]["neurons"]) + 2
    )


def is_pair_code(desc: dict) -> bool:
    """Every represented feature on exactly 2 neurons, no two on the same pair (at least 3 features)."""
    pairs = [tuple(n) for n in desc["neurons_of_feature"] if n]
    return len(pairs) >= 3 and all(len(p) == 2 for p in pairs) and len(set(pairs)) == len(pairs)


def is_all_shared(desc: dict, n_features: int, n_neurons: int) -> bool:
    """Nothing dedicated: one group of n_features features in n_neurons neurons (with or without pairs)."""
    sizes = [(len(g["features"]), len(g["neurons"])) for g in desc["shared"]]
    return not desc["dedicated"] and sizes == [(n_features, n_neurons)]
