"""experiments/packing.py: the --quick mode end to end with its checks asserted, the hand-written gradients of
both penalties against autodiff, the pair statistics against brute force, and the Welch bound as a property.

Quick-scale settings (the script's QUICK): the headline case is 1,000 vectors in 20-D (both penalties), the
curve d = 10 at N = 30, 100, 300, 150 steps; the toy model n=40, m=5 at 4 densities for 1,000 steps. The
checks are the full-scale ones.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.config import ConfigError
from superpose.lab import main
from superpose.theory import welch_bound

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("experiments.packing", ROOT / "experiments" / "packing.py")
packing = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = packing
spec.loader.exec_module(packing)


def test_packing_quick_checks_pass(tmp_path):
    code = main(packing.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("packing/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    head = summary["headline"]
    assert set(head) >= {"random", "relu", "lse"} and head["welch_bound"] == pytest.approx(0.2215, abs=1e-4)
    results = np.load(summary_path.parent / "results.npz")
    V = results["lse_n1000_d20_vectors"]
    assert V.shape == (1000, 20)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0, rtol=1e-5)  # unit vectors are stored


def test_one_case_from_the_command_line(tmp_path):
    args = ["--quick", "--quiet", "--runs-dir", str(tmp_path), "--set", "n_vectors=60", "--set", "dim=6"]
    assert main(packing.EXPERIMENT, args) == 0
    (run,) = tmp_path.glob("packing/*/")
    results = np.load(run / "results.npz")
    assert {k for k in results.files if k.endswith("_vectors")} == {
        "relu_n60_d6_vectors",
        "lse_n60_d6_vectors",
        "random_n60_d6_vectors",
    }
    assert "toy_W" not in results.files  # one case: no tie-back sweep
    with pytest.raises(ConfigError, match="both"):
        packing.EXPERIMENT.make_config(overrides=["n_vectors=50"])


# --- the penalties' gradients ----------------------------------------------------------------------------


def relu_reference(V, threshold):
    G = V @ V.T
    eye = jnp.eye(V.shape[0])
    return jnp.sum(jax.nn.relu(jnp.abs(G - eye) - threshold)) + V.shape[0] * jnp.sum(
        (jnp.diagonal(G) - 1) ** 2
    )


def lse_reference(V, alpha):
    U = V / jnp.linalg.norm(V, axis=1, keepdims=True)
    C = U @ U.T
    n = V.shape[0]
    logits = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, alpha * C**2)
    return (jax.nn.logsumexp(logits) - jnp.log(n * (n - 1.0))) / alpha


@pytest.mark.parametrize("n", [13, 32])
def test_hand_written_gradients_match_autodiff(monkeypatch, n):
    """Rows in blocks of 8, so 13 rows leave a padded block and 32 several whole ones."""
    monkeypatch.setattr(packing, "ROW_BLOCK", 8)
    V = jax.random.normal(jax.random.key(n), (n, 4)) * 0.7
    loss, grad = packing.relu_penalty(V, 0.05)
    np.testing.assert_allclose(loss, relu_reference(V, 0.05), rtol=1e-5)
    np.testing.assert_allclose(grad, jax.grad(relu_reference)(V, 0.05), rtol=1e-4, atol=1e-4)
    loss, grad = packing.lse_penalty(V, 30.0)
    np.testing.assert_allclose(loss, lse_reference(V, 30.0), rtol=1e-5)
    np.testing.assert_allclose(grad, jax.grad(lse_reference)(V, 30.0), rtol=1e-4, atol=1e-6)
    # and through the model's loss, as the training loop differentiates it
    model = packing.Packing("lse", alpha=30.0)
    np.testing.assert_allclose(
        jax.grad(lambda v: model.loss({"V": v}, None, None))(V), jax.grad(lse_reference)(V, 30.0), atol=1e-6
    )


# --- pair statistics and the Welch bound -----------------------------------------------------------------


def test_pair_stats_agree_with_brute_force():
    U = np.random.default_rng(0).normal(size=(50, 6))
    stats = packing.pair_stats(U, block=16)
    Un = U / np.linalg.norm(U, axis=1, keepdims=True)
    c = (Un @ Un.T)[np.triu_indices(50, 1)]
    assert stats["max_abs_cos"] == pytest.approx(np.abs(c).max())
    i, j = stats["max_pair"]
    assert abs(Un[i] @ Un[j]) == pytest.approx(np.abs(c).max())
    assert stats["counts"].sum() == c.size
    assert stats["mean_cos2"] == pytest.approx(np.mean(c**2))
    assert stats["inside_1deg"] == pytest.approx(np.mean(np.abs(c) < np.sin(np.radians(1))))


@given(st.integers(2, 40))
def test_regular_simplex_meets_the_welch_bound(d):
    """d + 1 unit vectors in d dimensions with all cosines -1/d: the bound is tight there."""
    E = np.eye(d + 1) - 1.0 / (d + 1)  # centred basis vectors span a d-dimensional subspace
    basis = np.linalg.svd(E)[2][:d]
    stats = packing.pair_stats(E @ basis.T)
    assert stats["max_abs_cos"] == pytest.approx(float(welch_bound(d + 1, d)), abs=1e-6)  # float32 cosines


@given(st.integers(2, 60), st.integers(1, 12), st.integers(0, 2**16))
def test_the_welch_bound_is_never_beaten(n, d, seed):
    U = np.random.default_rng(seed).normal(size=(n, d))
    stats = packing.pair_stats(U)
    assert stats["max_abs_cos"] >= welch_bound(n, d) - 1e-6  # float32 cosines
    assert stats["mean_cos2"] >= welch_bound(n, d) ** 2 - 1e-6  # the mean of cos^2 too (frame potential)


def test_the_welch_bound_holds_after_optimisation():
    """Gradient descent on the smooth penalty gets close to the bound but never past it."""
    n, d = 24, 4
    model = packing.Packing("lse", alpha=200.0)
    V = model.init(jax.random.key(0), n, d)["V"]
    step = jax.jit(lambda v: v - 0.02 * jax.grad(lambda w: model.loss({"V": w}, None, None))(v))
    start = packing.pair_stats(np.asarray(V))["max_abs_cos"]
    for _ in range(300):
        V = step(V)
    stats = packing.pair_stats(np.asarray(V))
    assert welch_bound(n, d) - 1e-6 <= stats["max_abs_cos"] < start


def test_directions_at_interpolates_and_flags_misses():
    ns = np.array([10.0, 100.0, 1000.0])
    assert packing.directions_at(ns, np.array([0.1, 0.2, 0.3]), 0.25) == pytest.approx((10**2.5, "ok"))
    assert packing.directions_at(ns, np.array([0.1, 0.2, 0.3]), 0.5) == (1000.0, "above")
    assert packing.directions_at(ns, np.array([0.6, 0.7, 0.8]), 0.5) == (10.0, "below")
