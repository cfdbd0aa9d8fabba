"""E13 (experiments/adversarial.py): the --quick mode end to end with its checks asserted, and the attacks on
hand-built weights, where the answer is known, so each number can fail.

Quick scale: n=20, m=5 at 6 densities from 1 to 0.05, 3,000 steps, 4,000 attack samples; the full-scale checks
unchanged (vulnerability 1 +- 0.25 when dense, a rise of more than 3x, Pearson r > 0.7 with ||W||_F^2/m).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import superpose
from superpose import testing
from superpose.lab import main

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"experiments.{name}", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


adv = load("adversarial")


def test_quick_mode_passes_its_checks(tmp_path):
    assert main(adv.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)]) == 0
    (summary_path,) = tmp_path.glob("adversarial/*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert len(summary["checks"]) == 3 and all(c["passed"] for c in summary["checks"])
    vuln = [row["vulnerability"] for row in summary["per_density"]]
    assert max(vuln) > 3 * vuln[0]
    # Wrong models fed to the same analysis: every density given the dense fit (no superposition anywhere)
    # fails "rises"; the axis reversed fails "as vulnerable as the baseline" at density 1.
    arrays = dict(superpose.load_run("latest", root=tmp_path).arrays)
    cfg = adv.EXPERIMENT.make_config(quick=True)
    dense = {**arrays, "best_W": np.repeat(arrays["best_W"][:1], len(arrays["best_W"]), 0)}
    dense["best_b"] = np.repeat(arrays["best_b"][:1], len(arrays["best_b"]), 0)
    failed = [c["name"] for c in adv.analyze(cfg, dense)["checks"] if not c["passed"]]
    assert "vulnerability rises as superposition forms" in failed, failed
    flipped = {**arrays, "best_W": arrays["best_W"][::-1], "best_b": arrays["best_b"][::-1]}
    failed = [c["name"] for c in adv.analyze(cfg, flipped)["checks"] if not c["passed"]]
    assert any(name.startswith("without superposition") for name in failed), failed


def dataset(n: int, density: float, size: int = 4000, seed: int = 0) -> np.ndarray:
    return adv.sample(np.random.default_rng(seed), density, n, size)


def test_the_baseline_against_itself_is_exactly_one():
    W0, b0 = adv.no_superposition(6, 3)
    X = dataset(6, 0.3)
    L, La = adv.analytic_attack(W0, b0, X, 0.05, np.ones(6))
    # Dedicated unit features: the best attack adds lambda to one represented feature's output (through the
    # ReLU, which a positive shift always passes): the damage is exactly lambda^2 per example.
    np.testing.assert_allclose(La - L, 0.05**2, rtol=1e-9)


def test_an_antipodal_pair_is_more_vulnerable_than_dedicated_features():
    # Two features share one dimension antipodally (superposition) vs the same two on their own dimensions.
    X = dataset(2, 0.1, size=20000)
    lam = 0.02
    pair = np.array([[1.0, -1.0]])
    L, La = adv.analytic_attack(pair, np.zeros(2), X, lam, np.ones(2))
    W0, b0 = np.eye(2), np.zeros(2)
    L0, La0 = adv.analytic_attack(W0, b0, X, lam, np.ones(2))
    # A shift along (W^T W)_0 = [1, -1]/sqrt(2) moves both outputs of the pair by sqrt(2) lambda.
    assert (La - L) > 1.5 * (La0 - L0)


def test_a_model_with_no_directions_cannot_be_attacked_analytically():
    X = dataset(4, 0.5)
    L, La = adv.analytic_attack(np.zeros((2, 4)), np.zeros(4), X, 0.1, np.ones(4))
    assert La == L


def test_the_gradient_attack_is_stuck_where_every_relu_is_off():
    # All-zero inputs and negative biases: every output ReLU is off, so the input gradient is zero.
    W = np.array([[1.0, -1.0, 0.0]])
    X = np.zeros((100, 3))
    L_grad, stuck = adv.gradient_attack(W, -0.5 * np.ones(3), X, 0.1, np.ones(3), n_steps=5)
    assert stuck == 1.0 and L_grad == 0.0
    # With active features it moves and does damage.
    X = dataset(3, 0.5)
    L = adv.example_loss(W, np.zeros(3), X, X, np.ones(3)).mean()
    L_grad, stuck = adv.gradient_attack(W, np.zeros(3), X, 0.1, np.ones(3), n_steps=5)
    assert stuck < 1.0 and L_grad > L


@settings(max_examples=20, deadline=None)
@given(W=testing.weight_matrices(), rotation_seed=st.integers(0, 2**16))
def test_attacks_depend_only_on_the_gram_matrix(W, rotation_seed):
    """Rotating the hidden space (W -> R W) leaves W^T W, hence the model and both attacks, unchanged."""
    W = W.astype(np.float64)
    m, n = W.shape
    R, _ = np.linalg.qr(np.random.default_rng(rotation_seed).normal(size=(m, m)))
    X = dataset(n, 0.4, size=500, seed=rotation_seed)
    b = -0.1 * np.ones(n)
    a = adv.analytic_attack(W, b, X, 0.05, np.ones(n))
    r = adv.analytic_attack(R @ W, b, X, 0.05, np.ones(n))
    np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-12)
    g = adv.gradient_attack(W, b, X, 0.05, np.ones(n), 3)
    gr = adv.gradient_attack(R @ W, b, X, 0.05, np.ones(n), 3)
    np.testing.assert_allclose(g, gr, rtol=1e-7, atol=1e-10)
