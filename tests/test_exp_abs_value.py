"""E11 (experiments/abs_value.py): the --quick run end to end with its checks asserted, and the neuron
classifier and the asymmetric-superposition detector on hand-built weights.

Quick scale (stated in the script's QUICK): n=3, m=6 best of 2; n=40, m=16 at densities 1, 0.025, 0.0025,
best of 2 for 3,000 steps; 90% of alive neurons monosemantic at density 1 (full scale: 95%), every other
threshold as at full scale.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose.lab import main
from superpose.lab.registry import load_experiment_module

E = load_experiment_module("abs_value")


def test_quick_run_passes_its_checks(tmp_path: Path):
    code = main(E.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (run_dir,) = (tmp_path / "abs_value").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 7  # so that "every check passed" is not vacuous
    assert [row["density"] for row in summary["per_density"]] == [1.0, 0.025, 0.0025]
    assert (run_dir / "abs_value.png").exists() and (run_dir / "abs_value_motif.png").exists()


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
    c = E.classify_neurons(W1, W2)
    assert c["alive"].tolist() == [True, True, True, True, False]
    assert c["main"][:3].tolist() == [0, 1, 0]
    assert c["monosemantic"].tolist() == [True, True, False, False, False]
    assert c["highly_polysemantic"].tolist() == [False, False, False, True, False]
    assert E.sides(W1, W2).tolist() == [[1, 0], [0, 1], [0, 0], [0, 0]]


def test_the_exact_abs_network_has_one_neuron_per_side():
    W1, W2 = ideal_abs(3)
    assert E.sides(W1, W2).tolist() == [[1, 1]] * 3
    assert E.find_motifs(W1, W2) == []
    R1, R2 = E.rescale(3.0 * W1, W2 / 3.0)
    np.testing.assert_allclose(R1, W1)
    np.testing.assert_allclose(R2, W2)


def test_detector_finds_the_hand_built_motif():
    W1, W2 = motif_model()
    found = E.find_motifs(W1, W2)
    assert [(m.neuron, m.strong, m.weak, m.inhibitors) for m in found] == [(0, 0, 1, (1,)), (2, 0, 1, (3,))]
    assert found[0].input_ratio == 4.0 and found[0].output_ratio == 4.0
    assert found[0].cancelled == 0.75  # 3 |1| / (2 |2|)


def test_detector_rejects_equal_weights_a_missing_or_weak_inhibitor_and_the_wrong_side():
    assert E.find_motifs(*motif_model(input_weights=(1.0, -1.0), output_weights=(1.0, 1.0))) == []
    assert (
        E.find_motifs(*motif_model(input_weights=(2.0, -0.5), output_weights=(1.0, 1.0))) == []
    )  # no reciprocity
    assert E.find_motifs(*motif_model(inhibit=0.0)) == []
    assert E.find_motifs(*motif_model(inhibit=-1.0)) == []  # cancels 1/4 of the leak, under MOTIF_CANCEL
    W1, W2 = motif_model()
    W1[1, 0] = -1.0  # inhibitor 1 now fires on x_0 < 0: the mirror neuron 2's side, not neuron 0's
    W1[3], W2[:, 3] = 0.0, 0.0
    assert [(m.neuron, m.inhibitors) for m in E.find_motifs(W1, W2)] == [(2, (1,))]


@given(
    perm=st.permutations(list(range(6))),
    log_alpha=st.lists(st.floats(-2.0, 2.0), min_size=6, max_size=6),
)
def test_results_do_not_depend_on_neuron_order_or_alpha_rescaling(perm, log_alpha):
    perm, alpha = np.asarray(perm), np.exp(np.asarray(log_alpha))
    W1, W2 = motif_model()
    W1[4, 0] = 0.2  # a slightly polysemantic neuron, so the classes are not all alike
    P1, P2 = (W1 * alpha[:, None])[perm], (W2 / alpha[None, :])[:, perm]
    before, after = E.classify_neurons(W1, W2), E.classify_neurons(P1, P2)
    for key in before:
        np.testing.assert_allclose(after[key], before[key][perm], rtol=1e-9)
    assert E.sides(P1, P2).tolist() == E.sides(W1, W2).tolist()

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

    moved = E.find_motifs(P1, P2)
    assert canonical(moved, perm) == canonical(E.find_motifs(W1, W2), np.arange(6))
    for m in moved:
        assert (
            np.isclose(m.input_ratio, 4.0)
            and np.isclose(m.output_ratio, 4.0)
            and np.isclose(m.cancelled, 0.75)
        )


def test_spearman_handles_ties_and_sign():
    assert E.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert np.isclose(E.spearman([1, 2, 3, 4], [4, 3, 3, 1]), -E.spearman([1, 2, 3, 4], [1, 3, 3, 4]))
    assert np.isnan(E.spearman([1, 2, 3], [5, 5, 5]))


# --- the checks on hand-built models ------------------------------------------------------------------------


def sweep_arrays(models: list[tuple[np.ndarray, np.ndarray]], density, importance) -> dict:
    """The arrays analyze() reads, one seed per density."""
    W1 = np.stack([m[0] for m in models])
    W2 = np.stack([m[1] for m in models])
    small_W1, small_W2 = ideal_abs(3)
    k = len(density)
    return {
        "small_W1": small_W1,
        "small_W2": small_W2,
        "small_final_loss": np.zeros(1),
        "density": np.asarray(density, np.float32),
        "instance_density": np.asarray(density, np.float32),
        "importance": np.asarray(importance),
        "W1": W1,
        "W2": W2,
        "best_W1": W1,
        "best_W2": W2,
        "best_b": np.zeros((k, W1.shape[2])),
        "final_loss": np.full(k, 1e-5),
        "best_index": np.arange(k),
    }


def paper_like(rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """n=12, m=12 at densities 1, 0.3, 0.03, 0.001: monosemantic; monosemantic; the motif on features 0-2
    and neurons ever more polysemantic down the importance order; every neuron spread over every feature."""
    W1d, W2d = ideal_abs(6)
    dense = (np.pad(W1d, ((0, 0), (0, 6))), np.pad(W2d, ((0, 6), (0, 0))))
    W1m, W2m = np.zeros((12, 12)), np.zeros((12, 12))
    W1m[:6, :3], W2m[:3, :6] = motif_model()
    for k in range(6):  # neuron 6 + k: main feature 3 + k, share falling from 0.89 to 0.27 with k
        W1m[6 + k, 3 + k] = 1.0 if k % 2 else -1.0
        W1m[6 + k, 9:] = 0.2 + 0.15 * k
        W2m[3 + k, 6 + k], W2m[9:, 6 + k] = 1.0, 0.3
    signs = np.where(rng.random((12, 12)) < 0.5, -1.0, 1.0)
    W1s = signs * (1.0 + 0.1 * rng.random((12, 12)))  # main share about 1/12
    W2s = 0.1 + rng.random((12, 12))
    return [dense, dense, (W1m, W2m), (W1s, W2s)]


def test_analysis_accepts_the_paper_picture_and_rejects_a_model_that_never_superposes():
    rng = np.random.default_rng(0)
    density, importance = [1.0, 0.3, 0.03, 0.001], 0.8 ** np.arange(12)
    cfg = E.EXPERIMENT.make_config()
    good = E.analyze(cfg, sweep_arrays(paper_like(rng), density, importance))
    assert all(c["passed"] for c in good["checks"]), [c for c in good["checks"] if not c["passed"]]
    W1d, W2d = ideal_abs(6)
    flat = [(np.pad(W1d, ((0, 0), (0, 6))), np.pad(W2d, ((0, 6), (0, 0))))] * 4
    bad = E.analyze(cfg, sweep_arrays(flat, density, importance))
    passed = {c["name"].split(":")[0]: c["passed"] for c in bad["checks"]}
    assert [p for p in passed.values()] == [True, True, False, False, False, False, True], passed
