"""E11 (experiments/abs_value.py): the --quick run end to end with its checks asserted, and analyze() on
hand-built models: the paper's picture passes; a model that never superposes, untrained weights and a model
whose importance order is reversed fail the checks that should see them. The neuron classes and the motif
detector themselves: tests/test_analysis_motifs.py.

Quick scale (stated in the script's QUICK): n=3, m=6 best of 2; n=40, m=16 at densities 1, 0.025, 0.0025,
best of 2 for 3,000 steps; 90% of alive neurons monosemantic at density 1 (full scale: 95%), every other
threshold as at full scale.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np

from superpose.lab import main
from superpose.lab.registry import load_experiment_module
from superpose.models import AbsMLP

E = load_experiment_module("abs_value")


def test_quick_run_passes_its_checks(tmp_path: Path):
    code = main(E.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (run_dir,) = (tmp_path / "abs_value").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 8  # so that "every check passed" is not vacuous
    assert [row["density"] for row in summary["per_density"]] == [1.0, 0.025, 0.0025]
    # the eighth: measured importance of each density's kept model (probes.npz); a shuffled I_i fails it
    from superpose.lab import probes, store

    p = probes.load(store.Run(run_dir))
    m, n = E.QUICK.get("n_hidden", E.Config().n_hidden), E.QUICK.get("n_features", E.Config().n_features)
    assert p["probe_hidden"].shape == (3, 1, m, n + 32)  # neurons on each feature alone and 32 samples
    rng = np.random.default_rng(0)
    wrong = {**p, "importance": np.stack([rng.permutation(row) for row in p["importance"]])}
    assert E.PROBES.summarize(p)["checks"][0]["passed"]
    assert not E.PROBES.summarize(wrong)["checks"][0]["passed"]
    assert (run_dir / "abs_value.png").exists() and (run_dir / "abs_value_motif.png").exists()


# --- the checks on hand-built models ------------------------------------------------------------------------


def ideal_abs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact |x| network: W1 = [I; -I] [2n, n], W2 = [I, I] [n, 2n]."""
    eye = np.eye(n)
    return np.concatenate([eye, -eye]), np.concatenate([eye, eye], axis=1)


def motif_model():
    """The paper's motif on features 0 (i) and 1 (j) with its inhibitor, mirrored for the other signs, and
    monosemantic neurons 4, 5 for feature 2 (tests/test_analysis_motifs.py builds it too). W1 [6, 3]."""
    W1, W2 = np.zeros((6, 3)), np.zeros((3, 6))
    W1[0, :2], W2[:2, 0] = (2.0, -0.5), (0.5, 2.0)
    W1[1, 0], W2[1, 1] = 1.0, -3.0
    W1[2, :2], W2[:2, 2] = (-2.0, 0.5), (0.5, 2.0)
    W1[3, 0], W2[1, 3] = -1.0, -3.0
    W1[4, 2], W2[2, 4] = 1.0, 1.0
    W1[5, 2], W2[2, 5] = -1.0, 1.0
    return W1, W2


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
        "importance": np.asarray(importance),
        "W1": W1[:, None],
        "W2": W2[:, None],
        "best_W1": W1,
        "best_W2": W2,
        "best_b": np.zeros((k, W1.shape[2])),
        "best_final_loss": np.full(k, 1e-5),
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


def test_analysis_rejects_untrained_weights():
    """AbsMLP's initial weights at every density, and at n=3, m=6: no side neurons, no monosemantic layer,
    no motif: the small-model, dense, intermediate and motif checks fail."""
    density, importance = [1.0, 0.3, 0.03, 0.001], 0.8 ** np.arange(12)
    init = lambda k, n, m: {  # noqa: E731
        p: np.asarray(v, np.float64) for p, v in AbsMLP().init(jax.random.key(k), n, m).items()
    }
    models = [(p["W1"], p["W2"]) for p in (init(k, 12, 12) for k in range(4))]
    arrays = sweep_arrays(models, density, importance)
    small = init(9, 3, 6)
    arrays.update(small_W1=small["W1"], small_W2=small["W2"])
    passed = {
        c["name"].split(":")[0]: c["passed"] for c in E.analyze(E.EXPERIMENT.make_config(), arrays)["checks"]
    }
    assert not any(v for k, v in passed.items() if "dense" in k or "intermediate" in k or "found" in k), (
        passed
    )


def test_the_intermediate_check_fails_when_importance_order_is_reversed():
    """The paper-like model with the most important features' neurons swapped onto the least important (a
    feature permutation i -> n-1-i at every density): the intermediate-density rank check fails, the
    class counts, which do not see importance, still pass."""
    rng = np.random.default_rng(0)
    density, importance = [1.0, 0.3, 0.03, 0.001], 0.8 ** np.arange(12)
    flipped = [(W1[:, ::-1], W2[::-1]) for W1, W2 in paper_like(rng)]
    checks = E.analyze(E.EXPERIMENT.make_config(), sweep_arrays(flipped, density, importance))["checks"]
    passed = {c["name"].split(":")[0]: c["passed"] for c in checks}
    assert not passed["intermediate densities"], passed
    assert passed["the polysemantic fraction rises as density falls"]


def test_feature_sets_tell_represented_from_dropped():
    from superpose.analysis.motifs import feature_sets

    W1, W2 = ideal_abs(3)
    W1[:, 2] = 0.0  # feature 2 loses its neurons' input: no path carries it
    W1[2], W1[5] = 0.0, 0.0
    represented, dropped = feature_sets({"W1": W1, "W2": W2})
    assert represented.tolist() == [True, True, False] and dropped.tolist() == [False, False, True]
    # the motif: feature 1 is no neuron's main feature but the asymmetric neuron carries it: neither set
    represented, dropped = feature_sets(dict(zip(("W1", "W2"), motif_model())))
    assert represented.tolist() == [True, False, True] and not dropped.any()
