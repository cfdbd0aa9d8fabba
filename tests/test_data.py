"""Samplers and the uniform source: ranges, densities, set structure, determinism, statistical quality.

Statistical checks use bands of 5 standard errors (about 1 false alarm in 3.5 million per check), and the
data keys are fixed per hypothesis example, so a failure reproduces.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import data, testing
from superpose.config import ConfigError

N_FEATURES = 8
BATCH = 4096
RNGS = ("hash", "threefry")
Z = 5.0  # standard errors in every statistical band


def shifted(v):
    """A magnitude law that is never zero (1 + Uniform[0, 1)), so 'active' is exactly 'non-zero'."""
    return 1.0 + v


@functools.partial(jax.jit, static_argnames=("sampler", "rng", "batch_size"))
def draw(sampler, key, feature_prob, rng, batch_size=BATCH):
    """x [N_FEATURES, batch_size] from one sampler. One compile per (sampler, rng), whatever p is."""
    return sampler.sample(key, feature_prob, batch_size, rng)


def sample(sampler, seed, feature_prob, rng, batch_size=BATCH) -> np.ndarray:
    # A fresh key object per call: the key-reuse checker (conftest.py) would reject passing one twice.
    return np.asarray(
        draw(sampler, jax.random.key(seed), np.asarray(feature_prob, np.float32), rng, batch_size)
    )


def within_binomial_band(count, trials, p) -> bool:
    """|count / trials - p| within Z binomial standard errors (plus one count of slack)."""
    return abs(count / trials - p) <= Z * np.sqrt(p * (1 - p) / trials) + 1.0 / trials


# --- Independent ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize(
    "magnitude, low, high, mean",
    [
        ("uniform", 0.0, 1.0, 0.5),
        ("signed_uniform", -1.0, 1.0, 0.0),
        ("exponential", 0.0, np.inf, 1.0),
        ("power_law", 0.0, np.inf, None),  # variance is infinite at exponent 3: no mean check
    ],
)
def test_magnitudes_in_range(magnitude, low, high, mean, rng):
    x = sample(data.Independent(magnitude), 0, np.full(N_FEATURES, 0.5), rng)
    assert x.shape == (N_FEATURES, BATCH) and x.dtype == np.float32
    assert np.all(np.isfinite(x))
    active = x[x != 0]
    assert active.min() >= low and active.max() <= high
    if mean is not None:
        assert abs(active.mean() - mean) < Z * active.std() / np.sqrt(active.size)
    if magnitude == "power_law":
        assert np.median(active) < 1.0 < active.max()  # heavy right tail around a unit mean


@pytest.mark.parametrize("rng", RNGS)
@given(feature_prob=testing.feature_probs(N_FEATURES, min_prob=0.01), seed=st.integers(0, 2**31 - 1))
def test_nonzero_fraction_is_feature_prob(rng, feature_prob, seed):
    """Each feature is non-zero with probability p_i (p = 1 - S), whatever the p_i."""
    x = sample(data.Independent(shifted), seed, feature_prob, rng)
    counts = (x != 0).sum(axis=1)
    for count, p in zip(counts, feature_prob):
        assert within_binomial_band(count, BATCH, float(p)), (count / BATCH, p)


@pytest.mark.parametrize("rng", RNGS)
def test_active_uniform_magnitude_is_uniform(rng):
    """The magnitude word gives Uniform(0, 1) magnitudes (low densities: test_data_resolution.py)."""
    x = sample(data.Independent(), 1, np.full(N_FEATURES, 0.3), rng)
    assert ks_uniform(x[x != 0]) < ks_critical(np.count_nonzero(x))


# --- Correlated / Anticorrelated -----------------------------------------------------------------------


@pytest.mark.parametrize("rng", RNGS)
@given(p=st.floats(0.02, 1.0), seed=st.integers(0, 2**31 - 1))
def test_correlated_sets_are_all_or_none(rng, p, seed):
    set_size = 4
    x = sample(data.Correlated(set_size, shifted), seed, np.full(N_FEATURES, p), rng)
    active = (x != 0).reshape(N_FEATURES // set_size, set_size, BATCH)
    n_active = active.sum(axis=1)
    assert np.all((n_active == 0) | (n_active == set_size))
    sets_on = int((n_active > 0).sum())
    assert within_binomial_band(sets_on, n_active.size, p)


@pytest.mark.parametrize("rng", RNGS)
@given(p=st.floats(0.005, 0.25), seed=st.integers(0, 2**31 - 1))
def test_anticorrelated_sets_have_at_most_one_active(rng, p, seed):
    """feature_prob is each member's own density (as for every sampler); a set of 4 is active w.p. 4p."""
    set_size = 4
    x = sample(data.Anticorrelated(set_size, shifted), seed, np.full(N_FEATURES, p), rng)
    active = (x != 0).reshape(N_FEATURES // set_size, set_size, BATCH)
    assert np.all(active.sum(axis=1) <= 1)
    for member_count in active.sum(axis=2).reshape(-1):
        assert within_binomial_band(int(member_count), BATCH, p), (member_count / BATCH, p)


@pytest.mark.parametrize("rng", RNGS)
@given(
    probs=st.lists(st.floats(0.01, 0.3), min_size=N_FEATURES, max_size=N_FEATURES),
    seed=st.integers(0, 2**31 - 1),
)
def test_anticorrelated_members_keep_unequal_densities(rng, probs, seed):
    """Members of one set may have different densities: each is non-zero with its own probability."""
    p = np.asarray(probs, np.float32)
    set_size = 2  # pairs: any two densities <= 0.3 sum to at most 1
    x = sample(data.Anticorrelated(set_size), seed, p, rng)
    active = x != 0
    assert np.all(active.reshape(N_FEATURES // set_size, set_size, BATCH).sum(axis=1) <= 1)
    for i in range(N_FEATURES):
        assert within_binomial_band(int(active[i].sum()), BATCH, float(p[i])), (i, active[i].mean(), p[i])


def test_set_samplers_check_densities():
    """What a set sampler cannot honour is refused before training, in one line (ConfigError)."""
    fine = np.full((3, 8), 0.25, np.float32)
    data.Correlated(4).check(fine)
    data.Anticorrelated(4).check(fine)  # 4 x 0.25 = 1: every example has exactly one member active
    unequal = fine.copy()
    unequal[1, 5] = 0.3  # instance 1, set 1
    with pytest.raises(ConfigError, match="differs within a set"):
        data.Correlated(4).check(unequal)
    with pytest.raises(ConfigError, match=r"sum to 1.05 > 1"):
        data.Anticorrelated(4).check(unequal)
    with pytest.raises(ConfigError, match="multiple of set_size"):
        data.Anticorrelated(3).check(fine)


@pytest.mark.parametrize("rng", RNGS)
def test_anticorrelated_magnitudes_are_uniform(rng):
    x = sample(data.Anticorrelated(2), 2, np.full(N_FEATURES, 0.25), rng)
    active = x[x != 0]
    assert active.min() >= 0 and active.max() <= 1
    assert ks_uniform(active) < ks_critical(active.size)


def test_sets_must_divide_features():
    with pytest.raises(ValueError, match="multiple of set_size"):
        data.Correlated(3).sample(jax.random.key(0), np.full(N_FEATURES, 0.5, np.float32), 4)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown magnitude"):
        data.Independent("gaussian").sample(jax.random.key(0), np.full(N_FEATURES, 0.5, np.float32), 4)
    with pytest.raises(ValueError, match="unknown rng"):
        data.uniform(jax.random.key(0), (4,), "rbg")


# --- determinism ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rng", RNGS)
# Samplers other tests here compile already: no extra compiles.
@pytest.mark.parametrize("sampler", [data.Independent(), data.Correlated(4, shifted), data.Anticorrelated(2)])
def test_same_key_same_batch(sampler, rng):
    p = np.linspace(0.1, 1.0, N_FEATURES)
    a, b = sample(sampler, 7, p, rng), sample(sampler, 7, p, rng)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample(sampler, 8, p, rng))


def test_batch_is_a_function_of_key_and_position():
    """The hash is a counter hash: each value is a pure function of (key, flat index), so a reshape of
    the same request gives the same numbers and no state is carried between calls."""
    key = jax.random.key(3)
    a = np.asarray(data.uniform(key, (4, 16)))
    np.testing.assert_array_equal(a, np.asarray(data.uniform(jax.random.key(3), (4, 16))))
    np.testing.assert_array_equal(a.reshape(-1), np.asarray(data.uniform(key, (64,))))
    gate, mag = data.hash_bit_pairs(key, (4, 16))
    flat_gate, flat_mag = data.hash_bit_pairs(key, (64,))
    np.testing.assert_array_equal(np.asarray(gate).reshape(-1), np.asarray(flat_gate))
    np.testing.assert_array_equal(np.asarray(mag).reshape(-1), np.asarray(flat_mag))
    np.testing.assert_array_equal(np.asarray(gate), np.asarray(data.hash_bits(key, (4, 16))))


# --- the hash uniform: a statistical check ---------------------------------------------------------------


def ks_uniform(u: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic sup |F_n(x) - x| of a sample against Uniform[0, 1)."""
    u = np.sort(np.asarray(u, np.float64).reshape(-1))
    n = u.size
    return float(max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n)))


def ks_critical(n: int) -> float:
    """KS critical value at significance 1e-4 (asymptotic: sqrt(-log(alpha / 2) / 2) / sqrt(n))."""
    return np.sqrt(-np.log(1e-4 / 2) / 2) / np.sqrt(n)


def correlation_bound(n: int) -> float:
    return Z / np.sqrt(n)


def hash_unit(key, shape, word: int) -> np.ndarray:
    """[*shape] float64 in (0, 1) from the hash's gate (word 0) or magnitude (word 1) words."""
    return np.asarray(data.unit_interval(data.hash_bit_pairs(key, shape)[word]), np.float64)


@pytest.mark.parametrize("word", [0, 1], ids=["gate", "magnitude"])
@given(seed=st.integers(0, 2**31 - 1), step=st.integers(0, 2**20))
def test_hash_uniform_passes_ks_and_independence(word, seed, step):
    """Both words of the fast counter hash are Uniform(0, 1), and neither neighbours nor neighbouring keys
    correlate. Keys are derived as in training: fold_in(instance key, step)."""
    base = jax.random.key(seed)
    u = hash_unit(jax.random.fold_in(base, step), (64, 1024), word)
    assert u.min() > 0.0 and u.max() < 1.0
    assert ks_uniform(u) < ks_critical(u.size)
    c = u - 0.5
    bound = correlation_bound(c.size)
    assert abs(np.corrcoef(c[:, :-1].ravel(), c[:, 1:].ravel())[0, 1]) < bound  # along the batch
    assert abs(np.corrcoef(c[:-1].ravel(), c[1:].ravel())[0, 1]) < bound  # across features
    flat = c.ravel()
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < bound  # consecutive counters
    v = hash_unit(jax.random.fold_in(base, step + 1), (64, 1024), word)
    assert abs(np.corrcoef(flat, (v - 0.5).ravel())[0, 1]) < bound  # the next step's key
    other = hash_unit(jax.random.fold_in(base, step), (64, 1024), 1 - word)
    assert abs(np.corrcoef(flat, (other - 0.5).ravel())[0, 1]) < bound  # the element's other word


@pytest.mark.parametrize("word", [0, 1], ids=["gate", "magnitude"])
def test_hash_bits_are_balanced(word):
    """Each of the 32 output bits is set half the time (a weak mixer leaves low bits biased)."""
    bits = np.asarray(data.hash_bit_pairs(jax.random.key(11), (1 << 16,))[word])
    ones = (bits[:, None] >> np.arange(32, dtype=np.uint32)) & 1
    n = bits.size
    assert np.all(np.abs(ones.mean(axis=0) - 0.5) < Z * 0.5 / np.sqrt(n))
