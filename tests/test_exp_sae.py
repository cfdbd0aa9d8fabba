"""experiments/sae.py: the --quick mode end to end with its checks asserted, and the metrics and the
autoencoder the checks rest on (MMCS of the truth is 1, of a random dictionary low; masked latents; dead
latents counted; exact reconstruction by the true dictionary).

Quick scale (the script's QUICK): a 32-D source of 64 features (3 active on average, frequencies 0.97^i)
with dictionaries 0.5x to 4x, 1,500 steps; the pentagon toy from 3 fits of 4,000 steps and its SAEs for
2,000 steps; the full-scale checks unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose import testing
from superpose.config import TrainConfig, make_hyper
from superpose.lab import main

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"experiments.{name}", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


sae = load("sae")


def test_quick_checks_pass(tmp_path):
    code = main(sae.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("sae/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 4
    assert summary["published_source"]["sizes"] == [32, 64, 128, 256]
    assert {p.name for p in tmp_path.glob("sae/*/*.png")} == {"sae.png", "sae_pentagon.png"}


# --- metrics --------------------------------------------------------------------------------------------------


@given(st.integers(0, 2**31 - 1))
def test_mmcs_of_the_truth_is_one_whatever_the_order_and_scale(seed):
    rng = np.random.default_rng(seed)
    F = sae.unit(rng.normal(size=(16, 24)))
    perm = rng.permutation(24)
    scaled = F[:, perm] * rng.uniform(0.1, 10.0, size=24)
    assert abs(sae.mmcs(F, scaled) - 1.0) < 1e-12
    extra = np.concatenate([scaled, rng.normal(size=(16, 8))], axis=1)  # more atoms never lower it
    assert abs(sae.mmcs(F, extra) - 1.0) < 1e-12


def test_mmcs_of_a_random_dictionary_is_low():
    rng = np.random.default_rng(0)
    F = sae.unit(rng.normal(size=(256, 512)))
    assert sae.mmcs(F, rng.normal(size=(256, 512))) < 0.3
    half = np.concatenate([F[:, :256], rng.normal(size=(256, 256))], axis=1)  # half the features found
    assert 0.55 < sae.mmcs(F, half) < 0.65
    assert sae.mmcs(F, np.zeros((256, 0))) == 0.0  # no live atoms


@given(st.floats(-30.0, 30.0))
def test_recovery_angles_of_a_rotated_pentagon(degrees):
    P = testing.regular_polygon(5)
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    angles = sae.recovery_angles(P, rot @ P)
    np.testing.assert_allclose(angles, abs(degrees), atol=1e-4)


# --- the autoencoder ------------------------------------------------------------------------------------------


def true_sae(F: np.ndarray, size: int) -> dict:
    """An SAE whose dictionary is F [d, k]: codes = ReLU(F^T a) read one active feature exactly."""
    d, k = F.shape
    return {
        "V": jnp.asarray(F * 3.0, jnp.float32),  # any column scale: the decoder normalises
        "W_enc": jnp.asarray(F.T, jnp.float32),
        "b_enc": jnp.zeros(k, jnp.float32),
        "b_dec": jnp.zeros(d, jnp.float32),
    }


def test_the_true_dictionary_reconstructs_single_features_exactly():
    F = np.eye(8)[:, :5]
    model = sae.SparseAutoencoder(8)
    params = true_sae(F, 5)
    a = F * np.array([0.2, 0.5, 0.7, 1.0, 0.9])  # one feature per column
    np.testing.assert_allclose(model.apply(params, jnp.asarray(a, jnp.float32)), a, atol=1e-6)
    hyper = make_hyper(1, 5, extra={"l1": 0.0, "size": 5}).take(0)
    assert float(model.loss(params, jnp.asarray(a, jnp.float32), hyper)) < 1e-10
    masked = np.asarray(model.codes(params, jnp.asarray(a, jnp.float32), 3))
    assert (masked[3:] == 0).all() and (masked[:3] > 0).any()


def test_dead_latents_are_counted():
    d, n = 8, 6
    F = np.eye(d)[:, :n].astype(np.float32)
    params = true_sae(F, n)
    params["b_enc"] = params["b_enc"].at[2].set(-100.0)  # latent 2 can never fire
    model = sae.SparseAutoencoder(d)
    cfg = TrainConfig(n, n, batch_size=256, n_steps=1)
    hyper = make_hyper(1, n, feature_prob=0.3, extra={"l1": 0.0, "size": n, "directions": F[None]})
    batched = jax.tree.map(lambda a: a[None], params)
    fired, l0, fvu = sae.evaluate_codes(model, cfg, batched, hyper, jax.random.key(0), 4)
    fired = np.asarray(fired)[0]
    assert fired[2] == 0 and (np.delete(fired, 2) > 0).all()
    assert abs(float(l0[0]) - 0.3 * (n - 1)) < 0.3  # 5 live features at density 0.3
    assert 0.1 < float(fvu[0]) < 0.3  # feature 2's share of the variance is lost


def test_unexplained_variance_is_centred_on_the_data_mean():
    """An SAE that outputs the data's mean whatever the input (every latent dead, b_dec = E[a]) explains
    none of the variance: FVU 1, at any evaluation batch size. Centring each batch on its own mean shrinks
    the total variance by (B - 1) / B and read 4/3 at B = 4."""
    d, n = 6, 4
    F = np.eye(d)[:, :n].astype(np.float32)
    p = 0.5
    params = true_sae(F, n)
    params["b_enc"] = jnp.full(n, -100.0)  # no latent ever fires
    params["b_dec"] = jnp.asarray(F @ np.full(n, p * 0.5), jnp.float32)  # E[a]: magnitudes Uniform[0, 1]
    model = sae.SparseAutoencoder(d)
    hyper = make_hyper(1, n, feature_prob=p, extra={"l1": 0.0, "size": n, "directions": F[None]})
    batched = jax.tree.map(lambda a: a[None], params)
    for batch_size, n_batches in ((4, 1024), (64, 64)):
        cfg = TrainConfig(n, n, batch_size=batch_size, n_steps=1)
        _, _, fvu = sae.evaluate_codes(model, cfg, batched, hyper, jax.random.key(1), n_batches)
        assert abs(float(fvu[0]) - 1.0) < 0.01, (batch_size, float(fvu[0]))


def test_feature_probabilities_follow_the_published_law():
    p = sae.feature_probs(sae.Config())
    assert p.shape == (512,) and abs(p.sum() - 5.0) < 1e-3
    np.testing.assert_allclose(p[1:] / p[:-1], 0.99, rtol=1e-5)
