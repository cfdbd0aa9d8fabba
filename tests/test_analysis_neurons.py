"""superpose.analysis.neurons (paper E10's regime classifiers) on hand-built weights, so that each regime and
each of the privileged_basis checks built on them can fail. The builders here also serve
tests/test_exp_privileged_basis.py."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from superpose.analysis import neurons

M, N = 5, 10
PAIRS = list(itertools.combinations(range(M), 2))  # the 10 pairs of 5 neurons


# --- hand-built weights ---------------------------------------------------------------------------------


def dedicated(features, neurons=None, m=M, n=N) -> np.ndarray:
    """W [m, n] with feature features[k] alone on neuron neurons[k] (weight 1)."""
    W = np.zeros((m, n))
    for j, i in zip(range(m) if neurons is None else neurons, features):
        W[j, i] = 1.0
    return W


def binary_code() -> np.ndarray:
    """Top 3 dedicated; features 3-5 on neurons 3 and 4: 3 on both, 4 and 5 antipodal (as trained at 0.3)."""
    W = dedicated([0, 1, 2])
    W[3, 3:6] = [0.84, 0.82, -0.6]
    W[4, 3:6] = [0.83, -0.82, 0.78]
    return W


def pair_code(n_features: int = N, inhibit: float = -0.3) -> np.ndarray:
    """Feature i on the i-th pair of neurons (weight 0.7), inhibiting the others."""
    W = np.full((M, N), 0.0)
    for i, pair in enumerate(PAIRS[:n_features]):
        W[:, i] = inhibit
        W[list(pair), i] = 0.7
    return W


def five_in_three() -> np.ndarray:
    """Two dedicated; features 2-6 on neurons 2-4 (the best fit at 0.158, rounded)."""
    W = dedicated([0, 1])
    W[2, 2:7] = [-3.96, 0.13, 0.13, 0.73, 0.95]
    W[3, 2:7] = [0.59, 0.91, -0.89, 0.66, -0.3]
    W[4, 2:7] = [0.63, -0.87, 0.89, 0.7, -0.31]
    return W


def six_in_four() -> np.ndarray:
    """Feature 0 dedicated; features 1-6 on the 6 pairs of neurons 1-4."""
    W = dedicated([0])
    for i, pair in enumerate(itertools.combinations(range(1, 5), 2), start=1):
        W[list(pair), i] = 0.7
    return W


def test_identity_like_weights_are_all_monosemantic():
    W = dedicated(range(M))
    W[0, 7] = 0.2  # a small second weight: 4% of the neuron, below USE_SHARE
    assert neurons.neuron_kinds(W).tolist() == ["monosemantic"] * M
    desc = neurons.describe(W)
    assert desc["label"] == "5 dedicated" and desc["dedicated"] == [0, 1, 2, 3, 4]
    assert desc["neurons_per_feature"] == [1] * M + [0] * (N - M)


def test_two_equal_weights_make_a_neuron_polysemantic_and_negative_weights_do_not():
    W = dedicated(range(M))
    W[1, 6] = 1.0  # neuron 1 now fires for features 1 and 6 alike
    W[2, 7] = -3.0  # neuron 2 is inhibited by feature 7: it still fires for feature 2 only
    W[3] = -1.0  # neuron 3 never fires
    assert neurons.neuron_kinds(W).tolist() == [
        "monosemantic",
        "polysemantic",
        "monosemantic",
        "dead",
        "monosemantic",
    ]
    assert neurons.describe(W)["label"] == "3 dedicated + 2 in 1"


def test_binary_code_is_recognised_and_a_variant_is_not():
    desc = neurons.describe(binary_code())
    assert desc["label"] == "3 dedicated + 3 in 2"
    assert neurons.is_binary_code(desc) and neurons.is_binary_code(desc, strict=False)
    W = binary_code()
    W[4, 4] = 0.82  # feature 4 now on both shared neurons as well: no longer a binary code
    assert not neurons.is_binary_code(neurons.describe(W), strict=False)
    W = binary_code()
    W[2, 2], W[2, 6] = 0.7, 0.7  # the top 3 no longer all dedicated: only the relaxed check accepts it
    assert neurons.is_binary_code(neurons.describe(W), strict=False) and not neurons.is_binary_code(
        neurons.describe(W)
    )


def test_pair_code_is_recognised_and_a_shared_pair_is_not():
    desc = neurons.describe(pair_code())
    assert desc["label"] == "10 in 5, pairs" and neurons.is_pair_code(desc)
    assert desc["n_monosemantic"] == 0 and desc["n_polysemantic"] == M
    W = pair_code()
    W[:, 9] = W[:, 8]  # two features on one pair of neurons
    assert not neurons.is_pair_code(neurons.describe(W))
    assert neurons.describe(pair_code(8))["label"] == "8 in 5, pairs" and neurons.is_all_shared(
        neurons.describe(pair_code(8)), 8, 5
    )


def test_intermediate_regimes():
    five, six = neurons.describe(five_in_three()), neurons.describe(six_in_four())
    assert five["label"] == "2 dedicated + 5 in 3" and six["label"] == "1 dedicated + 6 in 4, pairs"
    assert (
        neurons.is_packed(five, 5, 3) and not neurons.is_packed(five, 6, 4) and neurons.is_packed(six, 6, 4)
    )
    assert neurons.is_packed(five, 0, 0, strict=False) and neurons.is_packed(six, 0, 0, strict=False)
    assert not neurons.is_packed(
        neurons.describe(binary_code()), 0, 0, strict=False
    )  # 3 in 2: only one more feature


def _share_margin(W: np.ndarray) -> float:
    """Distance of every excitatory share from the classifiers' thresholds (ties there may round either way)."""
    S = neurons.excitatory_shares(W)
    return float(min(np.abs(S - neurons.USE_SHARE).min(), np.abs(S.max(axis=1) - neurons.MONO_SHARE).min()))


@given(
    hnp.arrays(np.float64, (M, N), elements=st.floats(-1, 1)),
    st.permutations(list(range(M))),
    hnp.arrays(np.float64, (M,), elements=st.floats(0.25, 4.0)),
)
def test_classification_ignores_neuron_order_and_positive_rescaling(W, perm, scale):
    W[np.arange(M), W.argmax(axis=1)] = np.maximum(W.max(axis=1), 0.5)  # no neuron near the dead threshold
    assume(_share_margin(W) > 1e-9)
    perm = np.asarray(perm)
    moved = W[perm] * scale[:, None]
    assert neurons.neuron_kinds(moved).tolist() == neurons.neuron_kinds(W)[perm].tolist()
    before, after = neurons.describe(W), neurons.describe(moved)
    for key in ("label", "neurons_per_feature", "dedicated", "n_monosemantic", "n_polysemantic"):
        assert after[key] == before[key]
    back = np.argsort(perm)  # neuron j of W is neuron back[j] after the move
    assert [sorted(back[n].tolist()) for n in before["neurons_of_feature"]] == after["neurons_of_feature"]


@given(hnp.arrays(np.float64, (M, N), elements=st.floats(-1, 1)))
def test_groups_partition_the_used_features_and_neurons(W):
    groups = neurons.groups(W)
    used = neurons.uses(W)
    features = [i for g, _ in groups for i in g]
    assert sorted(features) == np.flatnonzero(used.any(axis=0)).tolist()
    for f, n in groups:  # a group's neurons are exactly those its features use
        assert n == np.flatnonzero(used[:, f].any(axis=1)).tolist()
    shares = neurons.excitatory_shares(W)
    assert np.all(shares >= 0) and np.allclose(shares.sum(axis=1)[shares.sum(axis=1) > 0], 1.0)
