"""superpose.models.sae: every architecture under the one protocol, the straight-through threshold gradient,
the unit-decoder optimizer with its optional resampling, and the evaluation counts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose.config import ConfigError, make_hyper
from superpose.models.sae import (
    ARCHITECTURES,
    SparseAutoencoder,
    UnitDecoder,
    evaluate,
    heaviside,
    kth_largest,
    sae_study,
)


def true_sae(model: SparseAutoencoder, F: np.ndarray, threshold: float = 0.0) -> dict:
    """An SAE whose dictionary is F [d, k] (orthonormal columns): codes = F^T a read each feature exactly."""
    d, k = F.shape
    params = model.init(jax.random.key(0), k, k)
    return dict(
        params,
        V=jnp.asarray(F * 3.0, jnp.float32),  # any column scale: the decoder normalises
        W_enc=jnp.asarray(F.T, jnp.float32),
        log_theta=jnp.full(k, np.log(max(threshold, 1e-6)), jnp.float32),
    )


def hyper(l1=0.0, size=None):
    extra = {"l1": l1} if size is None else {"l1": l1, "size": size}
    return make_hyper(1, 5, extra=extra).take(0)


# Values with ties, both zeros, infinities and tiny/huge magnitudes: where a bisection on float bits could slip.
_values = st.sampled_from(
    [0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30, 3e38, -3e38, float("inf"), float("-inf"), 0.5]
)
_floats = st.one_of(_values, st.floats(-1e6, 1e6, width=32))


@settings(max_examples=60)
@given(st.integers(1, 6), st.integers(1, 7), st.data())
def test_kth_largest_is_exactly_top_k(rows, cols, data):
    x = np.array(data.draw(st.lists(_floats, min_size=rows * cols, max_size=rows * cols)), np.float32)
    x = jnp.asarray(x.reshape(rows, cols))
    k = data.draw(st.integers(1, x.size))
    assert float(kth_largest(x, k)) == float(jax.lax.top_k(x.reshape(-1), k)[0][-1])
    j = data.draw(st.integers(1, rows))
    np.testing.assert_array_equal(kth_largest(x, j, axis=0), jax.lax.top_k(x.T, j)[0][:, -1])
    with pytest.raises(ValueError, match="outside"):
        kth_largest(x, rows + 1, axis=0)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_the_true_dictionary_reconstructs_single_features_exactly(arch):
    F = np.eye(8)[:, :5]
    model = SparseAutoencoder(8, arch=arch, k=1)
    params = true_sae(model, F, threshold=0.05)
    a = jnp.asarray(F * np.array([0.2, 0.5, 0.7, 1.0, 0.9]), jnp.float32)  # one feature per column
    np.testing.assert_allclose(model.apply(params, a), a, atol=1e-6)
    if arch != "matryoshka":  # its short prefixes cannot hold the later features
        assert float(model.loss(params, a, hyper())) < 1e-10


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(ARCHITECTURES), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_masked_latents_never_fire(arch, size, seed):
    model = SparseAutoencoder(6, arch=arch, k=3, theta0=0.01)
    params = model.init(jax.random.key(seed), 4, 12)
    a = jax.random.uniform(jax.random.key(seed + 1), (6, 32))
    c = np.asarray(model.codes(params, a, size))
    assert (c[size:] == 0).all() and (c >= 0).all()


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_topk_keeps_at_most_k_per_sample_and_batchtopk_k_per_sample_on_average(k, seed):
    a = jax.random.normal(jax.random.key(seed), (8, 16))
    for arch in ("topk", "batchtopk"):
        model = SparseAutoencoder(8, arch=arch, k=k)
        c = np.asarray(model.codes(model.init(jax.random.key(seed), 4, 12), a))
        active = (c > 0).sum(axis=0)
        if arch == "topk":
            assert (active <= k).all()
        else:
            assert active.sum() <= k * a.shape[1]


def test_jumprelu_threshold_gets_the_straight_through_gradient():
    z = jnp.array([[0.09, 0.5, 0.2]])
    theta = jnp.array([[0.1]])
    g = jax.grad(lambda t: jnp.sum(heaviside(z, t, 0.05)))(theta)
    assert float(g[0, 0]) == pytest.approx(-1 / 0.05)  # only z = 0.09 lies within the kernel
    assert float(jax.grad(lambda zz: jnp.sum(heaviside(zz, theta, 0.05)))(z).sum()) == 0.0
    model = SparseAutoencoder(4, arch="jumprelu", theta0=0.1)
    params = model.init(jax.random.key(0), 4, 4)
    a = jnp.eye(4) * 0.45  # pre-activations near the threshold: the L0 term pushes log_theta up
    params = dict(params, W_enc=jnp.eye(4) * 0.25, V=jnp.eye(4))
    grad = jax.grad(model.loss)(params, a, hyper(l1=1.0))
    assert (np.asarray(grad["log_theta"]) < 0).all()


def test_unknown_architecture_and_missing_k_are_one_line_errors():
    with pytest.raises(ConfigError, match="unknown SAE architecture"):
        SparseAutoencoder(4, arch="gated")
    with pytest.raises(ConfigError, match="k >= 1"):
        SparseAutoencoder(4, arch="topk")


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(1e-3, 1.0))
def test_unit_decoder_keeps_every_column_on_the_sphere(seed, lr):
    model = SparseAutoencoder(6)
    params = model.init(jax.random.key(seed), 4, 10)
    h = make_hyper(1, 4, lr=lr, weight_decay=0.0).take(0)
    from superpose.config import TrainConfig

    opt = UnitDecoder()(h, TrainConfig(4, 10, n_steps=10, schedule="constant"))
    state = opt.init(params)
    a = jax.random.uniform(jax.random.key(seed + 1), (6, 16))
    for _ in range(3):
        grads = jax.grad(model.loss)(params, a, hyper(l1=0.1))
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(np.linalg.norm(params["V"], axis=0), 1.0, atol=1e-5)


def test_resampling_redraws_a_latent_that_never_fires():
    from superpose.config import TrainConfig

    model = SparseAutoencoder(6)
    params = model.init(jax.random.key(0), 4, 5)
    params = dict(params, b_enc=params["b_enc"].at[2].set(-100.0))  # latent 2 is dead
    h = make_hyper(1, 4, lr=1e-3, weight_decay=0.0).take(0)
    opt = UnitDecoder(resample_every=3)(h, TrainConfig(4, 5, n_steps=10, schedule="constant"))
    state = opt.init(params)
    a = jax.random.uniform(jax.random.key(1), (6, 16))
    for _ in range(3):
        updates, state = opt.update(jax.grad(model.loss)(params, a, hyper(l1=0.1)), state, params)
        params = optax.apply_updates(params, updates)
    assert float(params["b_enc"][2]) == 0.0  # re-drawn: bias reset, a fresh atom
    assert np.abs(np.asarray(params["b_enc"])[[0, 1, 3, 4]]).max() < 0.01  # the live ones only stepped


def test_evaluate_counts_dead_latents_and_centres_the_variance():
    d, n = 8, 6
    F = np.eye(d)[:, :n].astype(np.float32)
    model = SparseAutoencoder(d)
    params = true_sae(model, F)
    params["b_enc"] = params["b_enc"].at[2].set(-100.0)  # latent 2 can never fire
    stats = evaluate(model, F, np.full(n, 0.3, np.float32), params, n_samples=4096, batch=256)
    assert stats["fired"][2] == 0 and (np.delete(stats["fired"], 2) > 0).all()
    assert abs(stats["l0"] - 0.3 * (n - 1)) < 0.1
    assert 0.1 < stats["fvu"] < 0.3  # feature 2's share of the variance is lost
    np.testing.assert_allclose(np.diag(stats["joint"])[[0, 1, 3]], stats["present"][[0, 1, 3]])
    # every latent dead, b_dec = E[a]: nothing explained, FVU 1 (centring each batch on its own mean reads more)
    params = dict(params, b_enc=jnp.full(n, -100.0), b_dec=jnp.asarray(F @ np.full(n, 0.15), jnp.float32))
    for batch in (4, 64):
        stats = evaluate(model, F, np.full(n, 0.3, np.float32), params, n_samples=4096, batch=batch)
        assert abs(stats["fvu"] - 1.0) < 0.02, (batch, stats["fvu"])


def test_a_study_over_architectures_trains_each_in_its_own_sweep():
    F = np.eye(6)[:, :4].astype(np.float32)
    study = sae_study(
        F,
        np.full(4, 0.2, np.float32),
        [4],
        archs=["relu", "topk"],
        model=SparseAutoencoder(6, k=1),
        l1_by_arch={"relu": 0.1, "topk": 0.0},
        n_steps=20,
        batch_size=16,
    )
    assert len(study.groups()) == 2
    result = study.run()
    assert result.shape == (1, 2, 1) and np.isfinite(result.final_loss).all()


# --- structured synthetic activations -----------------------------------------------------------------------


def structured_draw(source, batch=20_000, seed=0):
    from superpose.config import Hyper
    from superpose.models.sae import Structured

    hyper = Hyper(source["probs"], np.ones_like(source["probs"]), 0.0, 0.0,
                  {k: jnp.asarray(v) for k, v in source["extra"].items()})  # fmt: skip
    return np.asarray(jax.jit(lambda k: Structured().features(k, hyper, batch))(jax.random.key(seed)))


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 3), st.floats(0.0, 0.9))
def test_structured_firing_keeps_its_densities_hierarchy_and_exclusion(seed, children, correlation):
    from superpose.models.sae import structured_source

    source = structured_source(
        8, 6, children, p_max=0.4, p_min=0.05, rank=2, correlation=correlation, seed=seed
    )
    x = structured_draw(source, seed=seed)
    on = x > 0
    np.testing.assert_allclose(on.mean(axis=1), source["probs"], atol=0.015)  # marginals as promised
    parent = source["extra"]["parent"]
    for i in np.flatnonzero(parent >= 0):
        assert not (on[i] & ~on[parent[i]]).any()  # a child never fires without its parent
    for p in range(6):
        kids = np.flatnonzero(parent == p)
        assert (on[kids].sum(axis=0) <= 1).all()  # siblings exclude each other


def test_structured_correlation_follows_the_loadings_and_magnitudes_their_noise():
    from superpose.models.sae import structured_source

    source = structured_source(8, 4, 0, p_max=0.3, p_min=0.3, rank=1, correlation=0.9, mag_std=0.3, seed=1)
    x = structured_draw(source, batch=40_000)
    L = source["extra"]["factors"][:, 0]
    c = np.corrcoef((x > 0).astype(float))
    for i, j in ((0, 1), (0, 2), (1, 3)):
        assert np.sign(c[i, j]) == np.sign(L[i] * L[j]) and abs(c[i, j]) > 0.1
    independent = structured_draw(structured_source(8, 4, 0, p_max=0.3, p_min=0.3, seed=1), batch=40_000)
    assert np.abs(np.corrcoef((independent > 0).astype(float))[np.triu_indices(4, 1)]).max() < 0.03
    m = x[x > 0]
    assert abs(m.mean() - 1.0) < 0.02 and abs(m.std() - 0.3) < 0.03


def test_evaluate_reads_a_structured_source():
    from superpose.models.sae import Structured, structured_source

    source = structured_source(8, 3, 1, p_max=0.3, p_min=0.1, seed=0)
    F = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))[0][:, :6].astype(np.float32)
    source["extra"]["directions"] = F
    model = SparseAutoencoder(8)
    stats = evaluate(model, F, source["probs"], true_sae(model, F), n_samples=8192, structured=Structured(),
                     extra=source["extra"])  # fmt: skip
    np.testing.assert_allclose(stats["present"] / stats["n_samples"], source["probs"], atol=0.02)
    parent = source["extra"]["parent"]
    for i in np.flatnonzero(parent >= 0):  # the true dictionary's latent i fires with feature i, and its
        assert stats["joint"][i, i] == stats["present"][i]  # parent's latent whenever the child does
        assert stats["joint"][parent[i], i] == stats["present"][i]
