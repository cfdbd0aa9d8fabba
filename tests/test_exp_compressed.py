"""Issue 20 §2 (experiments/compressed.py): the --quick run with its checks asserted, the residual MLP against
its unfolded 1000-d form, the measurements on hand-built MLPs, and wrong models that fail the key checks.

Quick scale (the script's QUICK): mixing scales 0, 1, 2, 2,000 steps; the check that the advantage grows
over [0, 1] needs three scales there and is left out (two points make any order monotone).
"""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose.analysis import compute as cc
from superpose.config import make_hyper
from superpose.lab import cli, main
from superpose.lab.registry import load_experiment_module
from superpose.models import MODELS, ResidualMLP
from superpose.models.compute import random_embedding, residual_mixing

E = load_experiment_module("compressed")


def test_quick_run_passes_its_checks(tmp_path: Path):
    code = main(E.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (run_dir,) = (tmp_path / "compressed").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 4  # so that "every check passed" is not vacuous
    assert [r["mixing_scale"] for r in summary["per_scale"]] == [0.0, 1.0, 2.0]
    assert (run_dir / "compressed.png").exists()
    # issue 20 §4: the animation, through `superpose animate`, from the stored snapshots alone
    assert cli.main(["animate", str(run_dir), "--out", str(tmp_path / "anim"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "anim").iterdir()) == [
        "compressed_forming_s0.gif",
        "compressed_forming_s1.gif",
    ]


def test_folded_model_equals_the_1000d_residual_model():
    n, d, dim = 12, 5, 64
    rng = np.random.default_rng(0)
    model = ResidualMLP(d_embed=dim, embed_seed=3)
    Emb = random_embedding(dim, n, 3).astype(np.float64)
    W_in_big, W_out_big, b = rng.normal(size=(d, dim)), rng.normal(size=(dim, d)), rng.normal(size=d)
    x = rng.uniform(-1, 1, size=(n, 7)) * (rng.random((n, 7)) < 0.3)
    resid = Emb @ x
    big = Emb.T @ (resid + W_out_big @ np.maximum(W_in_big @ resid + b[:, None], 0.0))
    params = {
        "W_in": jnp.asarray(W_in_big @ Emb),
        "b_in": jnp.asarray(b),
        "W_out": jnp.asarray(Emb.T @ W_out_big),
    }
    np.testing.assert_allclose(np.asarray(model.apply(params, jnp.asarray(x, jnp.float32))), big, atol=1e-4)
    M = residual_mixing(n, dim, 3)
    assert np.allclose(np.diag(M), 0.0, atol=1e-6) and np.allclose(M, M.T)
    assert MODELS["residual_mlp"] is ResidualMLP


def test_the_loss_reads_the_mixing_scale():
    model, n = ResidualMLP(d_embed=50), 10
    params = {"W_in": jnp.zeros((4, n)), "b_in": jnp.zeros(4), "W_out": jnp.zeros((n, 4))}
    x = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, (n, 64)), jnp.float32)
    hyper = lambda s: make_hyper(1, n, extra={"mixing_scale": s}).take(0)  # noqa: E731
    clean = float(model.loss(params, x, hyper(0.0)))
    assert np.isclose(clean, float(jnp.mean(jax_relu(x) ** 2)), rtol=1e-5)
    assert float(model.loss(params, x, hyper(1.0))) > clean


def jax_relu(x):
    return jnp.maximum(x, 0.0)


def exact_mlp(n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The naive circuit: neuron k computes ReLU(x_k) for the first d features exactly."""
    W_in, W_out = np.zeros((d, n)), np.zeros((n, d))
    W_in[np.arange(d), np.arange(d)] = 1.0
    W_out[np.arange(d), np.arange(d)] = 1.0
    return W_in, np.zeros(d), W_out


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 30), frac=st.floats(0.0, 1.0), seed=st.integers(0, 10_000), log_alpha=st.floats(-2, 2)
)
def test_fidelity_of_the_naive_circuit_is_one_or_zero_whatever_the_order_and_scale(n, frac, seed, log_alpha):
    d = max(1, int(frac * n))
    W_in, b, W_out = exact_mlp(n, d)
    fid = cc.relu_fidelity(W_in, b, W_out)
    assert np.allclose(fid[:d], 1.0) and np.allclose(fid[d:], 0.0)
    perm, alpha = np.random.default_rng(seed).permutation(d), np.exp(log_alpha)
    moved = cc.relu_fidelity(alpha * W_in[perm], b[perm], W_out[:, perm] / alpha)
    np.testing.assert_allclose(moved, fid, atol=1e-9)


def test_naive_baseline_matches_a_monte_carlo_of_the_naive_circuit():
    n, d, p = 20, 8, 0.05
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200_000, n)) * (rng.random((200_000, n)) < p)
    W_in, b, W_out = exact_mlp(n, d)
    y = np.maximum(x @ W_in.T + b, 0.0) @ W_out.T
    mc = np.mean((np.maximum(x, 0.0) - y) ** 2)
    assert np.isclose(mc, cc.naive_relu_loss(n, d, p), rtol=0.05)
    M = residual_mixing(n, 100, 0)
    mc_noise = np.mean((x @ M.T) ** 2)
    assert np.isclose(mc_noise, cc.mixing_noise_loss(M, p), rtol=0.05)


# --- the checks on wrong models ----------------------------------------------------------------------------


def arrays_for(cfg, mlps, ratios) -> dict:
    """The arrays analyze() reads: one MLP (W_in, b_in, W_out) and one final loss / naive per scale."""
    naive = cc.naive_relu_loss(cfg.n_features, cfg.n_hidden, cfg.density)
    return {
        "mixing_scale": np.array([0.0, 1.0, 2.0]),
        "final_loss": np.asarray(ratios) * naive,
        "W_in": np.stack([m[0] for m in mlps]),
        "b_in": np.stack([m[1] for m in mlps]),
        "W_out": np.stack([m[2] for m in mlps]),
        "mixing": residual_mixing(cfg.n_features, cfg.d_embed, cfg.embed_seed),
    }


def spread_mlp(cfg, slope=0.6):
    """Every feature's ReLU at the given slope: each neuron serves two features."""
    n, d = cfg.n_features, cfg.n_hidden
    W_in, W_out = np.zeros((d, n)), np.zeros((n, d))
    for k in range(n):
        W_in[k % d, k], W_out[k, k % d] = 1.0, slope
    return W_in, np.zeros(d), W_out


def eigen_mlp(cfg):
    """Neurons along the top-d eigenvectors of the label mixing -M, each feature's ReLU exact from the neurons
    that read it with a positive weight (the picture Bhagat et al. describe: all ReLUs, the mixing's subspace)."""
    _, V = np.linalg.eigh(-residual_mixing(cfg.n_features, cfg.d_embed, cfg.embed_seed).astype(np.float64))
    W_in = V[:, -cfg.n_hidden :].T
    pos = np.maximum(W_in.T, 0.0)
    return W_in, np.zeros(cfg.n_hidden), pos / np.sum(pos**2, axis=1, keepdims=True)


def test_the_published_picture_passes_and_wrong_models_fail_the_key_checks():
    cfg = E.EXPERIMENT.make_config(quick=True)
    good = E.analyze(
        cfg, arrays_for(cfg, [exact_mlp(100, 50), eigen_mlp(cfg), eigen_mlp(cfg)], [1.01, 0.8, 1.0])
    )
    assert all(c["passed"] for c in good["checks"]), good["checks"]
    # The naive circuit at every scale: it pays the residual's noise on top of the baseline (1.4x at s = 1).
    naive = E.measure(cfg, arrays_for(cfg, [exact_mlp(100, 50)] * 3, [1, 1, 1]))["floor"]
    bad = E.analyze(cfg, arrays_for(cfg, [exact_mlp(100, 50)] * 3, naive))
    assert [c["passed"] for c in bad["checks"]] == [False, True, False, False], bad["checks"]
    # An untrained (zero) MLP: every ReLU missing, loss p/6 plus the noise.
    zero = (np.zeros((50, 100)), np.zeros(50), np.zeros((100, 50)))
    ratios = 2 * E.measure(cfg, arrays_for(cfg, [zero] * 3, [1, 1, 1]))["floor"]
    bad = E.analyze(cfg, arrays_for(cfg, [zero] * 3, ratios))
    assert not bad["checks"][0]["passed"] and not bad["checks"][2]["passed"]
    # A model that beats the baseline without mixing too (what computation in superposition would be), and
    # whose neurons ignore the mixing's subspace.
    bad = E.analyze(cfg, arrays_for(cfg, [spread_mlp(cfg)] * 3, [0.85, 0.8, 0.9]))
    assert [c["passed"] for c in bad["checks"]] == [True, False, True, False], bad["checks"]
