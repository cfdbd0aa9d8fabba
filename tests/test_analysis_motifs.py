"""superpose.analysis.motifs (paper E11): the neuron classes and the asymmetric-superposition detector on
hand-built weights, and their invariance under neuron permutation and the alpha, 1/alpha rescaling."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose.analysis import motifs

# --- hand-built weights -----------------------------------------------------------------------------------


def ideal_abs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact |x| network: W1 = [I; -I] [2n, n], W2 = [I, I] [n, 2n]."""
    eye = np.eye(n)
    return np.concatenate([eye, -eye]), np.concatenate([eye, eye], axis=1)


def motif_model(input_weights=(2.0, -0.5), output_weights=(0.5, 2.0), inhibit: float = -3.0):
    """Features 0 (i) and 1 (j) in asymmetric superposition on neuron 0, inhibitor neuron 1 (fires on x_0 > 0,
    writes `inhibit` onto y_1), the mirror neuron 2 for the opposite signs with its inhibitor 3, and
    monosemantic neurons 4, 5 for feature 2. W1 [6, 3], W2 [3, 6]."""
    W1, W2 = np.zeros((6, 3)), np.zeros((3, 6))
    (wi, wj), (vi, vj) = input_weights, output_weights
    W1[0, :2], W2[:2, 0] = (wi, wj), (vi, vj)
    W1[1, 0], W2[1, 1] = 1.0, inhibit
    W1[2, :2], W2[:2, 2] = (-wi, -wj), (vi, vj)
    W1[3, 0], W2[1, 3] = -1.0, inhibit
    W1[4, 2], W2[2, 4] = 1.0, 1.0
    W1[5, 2], W2[2, 5] = -1.0, 1.0
    return W1, W2


def test_classifier_separates_monosemantic_polysemantic_and_dead_neurons():
    W1 = np.array(
        [
            [3.0, 0.1, 0.0, 0.0],  # monosemantic (share 0.999)
            [0.0, -1.0, 0.2, 0.0],  # monosemantic, negative side (share 0.96)
            [1.0, 0.8, 0.0, 0.0],  # polysemantic (0.61), not highly
            [0.5, 0.5, -0.5, 0.5],  # highly polysemantic (0.25)
            [1.0, 0.0, 0.0, 0.0],  # dead: no output
        ]
    )
    W2 = np.ones((4, 5))
    W2[:, 4] = 0.0
    c = motifs.classify_neurons(W1, W2)
    assert c["alive"].tolist() == [True, True, True, True, False]
    assert c["main"][:3].tolist() == [0, 1, 0]
    assert c["monosemantic"].tolist() == [True, True, False, False, False]
    assert c["highly_polysemantic"].tolist() == [False, False, False, True, False]
    assert motifs.sides(W1, W2).tolist() == [[1, 0], [0, 1], [0, 0], [0, 0]]


def test_the_exact_abs_network_has_one_neuron_per_side():
    W1, W2 = ideal_abs(3)
    assert motifs.sides(W1, W2).tolist() == [[1, 1]] * 3
    assert motifs.find_motifs(W1, W2) == []
    R1, R2 = motifs.rescale(3.0 * W1, W2 / 3.0)
    np.testing.assert_allclose(R1, W1)
    np.testing.assert_allclose(R2, W2)


def test_detector_finds_the_hand_built_motif():
    W1, W2 = motif_model()
    found = motifs.find_motifs(W1, W2)
    assert [(m.neuron, m.strong, m.weak, m.inhibitors) for m in found] == [(0, 0, 1, (1,)), (2, 0, 1, (3,))]
    assert found[0].input_ratio == 4.0 and found[0].output_ratio == 4.0
    assert found[0].cancelled == 0.75  # 3 |1| / (2 |2|)


def test_detector_rejects_equal_weights_a_missing_or_weak_inhibitor_and_the_wrong_side():
    assert motifs.find_motifs(*motif_model(input_weights=(1.0, -1.0), output_weights=(1.0, 1.0))) == []
    assert (
        motifs.find_motifs(*motif_model(input_weights=(2.0, -0.5), output_weights=(1.0, 1.0))) == []
    )  # no reciprocity
    assert motifs.find_motifs(*motif_model(inhibit=0.0)) == []
    assert motifs.find_motifs(*motif_model(inhibit=-1.0)) == []  # cancels 1/4 of the leak, under MOTIF_CANCEL
    W1, W2 = motif_model()
    W1[1, 0] = -1.0  # inhibitor 1 now fires on x_0 < 0: the mirror neuron 2's side, not neuron 0's
    W1[3], W2[:, 3] = 0.0, 0.0
    assert [(m.neuron, m.inhibitors) for m in motifs.find_motifs(W1, W2)] == [(2, (1,))]


@given(
    perm=st.permutations(list(range(6))),
    log_alpha=st.lists(st.floats(-2.0, 2.0), min_size=6, max_size=6),
)
def test_results_do_not_depend_on_neuron_order_or_alpha_rescaling(perm, log_alpha):
    perm, alpha = np.asarray(perm), np.exp(np.asarray(log_alpha))
    W1, W2 = motif_model()
    W1[4, 0] = 0.2  # a slightly polysemantic neuron, so the classes are not all alike
    P1, P2 = (W1 * alpha[:, None])[perm], (W2 / alpha[None, :])[:, perm]
    before, after = motifs.classify_neurons(W1, W2), motifs.classify_neurons(P1, P2)
    for key in before:
        np.testing.assert_allclose(after[key], before[key][perm], rtol=1e-9)
    assert motifs.sides(P1, P2).tolist() == motifs.sides(W1, W2).tolist()

    def canonical(motifs, neuron_ids):
        return sorted(
            (
                int(neuron_ids[m.neuron]),
                m.strong,
                m.weak,
                tuple(sorted(int(neuron_ids[c]) for c in m.inhibitors)),
            )
            for m in motifs
        )

    moved = motifs.find_motifs(P1, P2)
    assert canonical(moved, perm) == canonical(motifs.find_motifs(W1, W2), np.arange(6))
    for m in moved:
        assert (
            np.isclose(m.input_ratio, 4.0)
            and np.isclose(m.output_ratio, 4.0)
            and np.isclose(m.cancelled, 0.75)
        )


def test_motif_weights_show_the_paper_example():
    W1, W2 = motif_model()
    (mo, _) = motifs.find_motifs(W1, W2)
    c, inputs, outputs = motifs.motif_weights(W1, W2, mo)
    assert c == 1
    np.testing.assert_allclose(inputs, [[2.0, -0.5], [1.0, 0.0]])  # geometric mean of |2|, |-1/2| is 1
    np.testing.assert_allclose(outputs, [[0.5, 0.0], [2.0, -3.0]])


@given(st.integers(0, 2**16))
def test_class_stats_count_every_alive_neuron_once(seed):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.normal(size=(8, 5)), np.abs(rng.normal(size=(5, 8)))
    W2[:, :2] = 0.0  # two dead neurons
    s = motifs.class_stats(W1, W2, 0.8 ** np.arange(5))
    assert s["alive"] == 6 and s["monosemantic"] + s["polysemantic"] == s["alive"]
    assert s["highly_polysemantic"] <= s["polysemantic"]
    assert 0 <= s["leading_features_monosemantic"] <= s["features_with_neurons"] <= 5


def test_class_stats_rank_importance_against_the_best_share():
    """Feature k's only neuron has main share falling with k: importance and share agree (rho 1, small p);
    with the importance order reversed they disagree."""
    n = 8
    W1 = np.eye(n) + np.arange(n)[:, None] * 0.08 * (1 - np.eye(n))
    W2 = np.eye(n)
    good = motifs.class_stats(W1, W2, 0.8 ** np.arange(n))
    assert good["importance_vs_best_share_spearman"] == 1.0 and good["importance_vs_best_share_p"] < 0.01
    bad = motifs.class_stats(W1, W2, 0.8 ** np.arange(n)[::-1])
    assert bad["importance_vs_best_share_spearman"] == -1.0 and bad["importance_vs_best_share_p"] > 0.5
