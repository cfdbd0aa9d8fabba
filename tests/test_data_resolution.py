"""Samplers at low density and in the tails: nothing quantized, densities exact, the unrepresentable refused.

Until 2026-12 one 24-bit uniform u served as gate (u < p) and magnitude (u / p): at p = 1e-6 only 16 distinct
magnitudes occurred, p = 1e-8 gave all-zero data without a word, and heavy-tailed laws were cut off where
u / p ran out of resolution. Each test here failed on that code.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import config, data, models, sweep
from superpose.config import ConfigError
from tests.test_data import RNGS, Z, ks_critical, ks_uniform, sample, within_binomial_band

SAMPLERS = [data.Independent(), data.Correlated(2), data.Anticorrelated(2)]
FLOOR = 2.0**-26  # data.MIN_FEATURE_PROB: 64 of the 2**32 gate words, a density within 1%

# --- one active value in a million: the hypothesis test -----------------------------------------

LOW_N, LOW_BATCH = 64, 1 << 16  # 4.2 million values per draw


@functools.partial(jax.jit, static_argnames=("rng", "n_draws", "keep"))
def low_density_draws(key, feature_prob, rng, n_draws, keep):
    """n_draws batches x [LOW_N, LOW_BATCH] of Independent(); per batch the number of non-zero values, the
    number of examples holding one, and those examples' features [keep, LOW_N] (the first `keep`)."""

    def one(_, i):
        x = data.Independent().sample(jax.random.fold_in(key, i), feature_prob, LOW_BATCH, rng)
        per_example = (x != 0).sum(axis=0)
        examples = jnp.nonzero(per_example, size=keep, fill_value=0)[0]
        return None, (per_example.sum(), (per_example > 0).sum(), x[:, examples].T)

    return jax.lax.scan(one, None, np.arange(n_draws))[1]


@pytest.mark.parametrize(
    "rng, p, n_draws, keep",
    # threefry costs ~10x more per word: at 1e-4 (1.2e7 draws) its test takes seconds, not tens
    [("hash", 1e-5, 29, 128), ("hash", 1e-6, 286, 32), ("threefry", 1e-4, 3, 1024)],
)
def test_low_density_magnitudes_are_uniform_and_distinct(rng, p, n_draws, keep):
    """At p = 1e-5 and 1e-6 about 1,200 active values of the uniform law (1.2e8 or 1.2e9 draws): they pass
    a Kolmogorov-Smirnov test against Uniform[0, 1], are (almost) all distinct (u / p gave 166 and 16
    values), and their fraction is p."""
    feature_prob = np.full(LOW_N, p, np.float32)
    count, holders, rows = jax.device_get(
        low_density_draws(jax.random.key(17), feature_prob, rng, n_draws, keep)
    )
    assert np.all(holders <= keep)  # no active value was left out below
    values = np.concatenate([r[:h][r[:h] != 0] for r, h in zip(rows, holders)])
    assert values.size == count.sum() >= 1000
    assert within_binomial_band(values.size, n_draws * LOW_N * LOW_BATCH, p)
    assert ks_uniform(values) < ks_critical(values.size)
    # Float32 values on a 2**-24 grid (near 1): a collision among 1,200 is a few-percent event, four are not.
    assert np.unique(values).size >= values.size - 3, np.unique(values).size


# --- densities: exact to 2**-32, refused below 2**-26 ------------------------------------------------------


def reference_thresholds(p: np.ndarray) -> np.ndarray:
    """int64 [..., k]: min(cumulative round(p 2**32), 2**32) - 1, the levels at least 1."""
    levels = np.maximum(np.round(np.asarray(p, np.float64) * 2.0**32), 1).astype(np.int64)
    return np.minimum(np.cumsum(levels, axis=-1), 2**32) - 1


@given(
    p=st.lists(
        st.floats(FLOOR, 1.0, width=32) | st.sampled_from([1.0, 1 - 2**-24, 1 / 3, 2**-26]),
        min_size=12,
        max_size=12,
    )
)
def test_gate_thresholds_are_exact(p):
    """Every density is round(p 2**32) gate words, summed exactly within a set (a float32 running sum would
    lose a small member after a large one), capped at 2**32."""
    p = np.asarray(p, np.float32)
    for shape in [(12, 1), (6, 2), (3, 4)]:  # single features (Independent) and sets
        got = np.asarray(data.gate_thresholds(p.reshape(shape))).astype(np.int64)
        np.testing.assert_array_equal(got, reference_thresholds(p.reshape(shape)))


def test_gate_thresholds_at_the_edges():
    g = np.asarray(data.gate_thresholds(np.float32([[1.0], [2**-26], [1e-6], [0.5]]))).astype(np.int64)
    assert g.ravel().tolist() == [2**32 - 1, 63, 4295 - 1, 2**31 - 1]  # p = 1: every word; 2**-26: 64 words
    # A set of three 1/3 (float32 rounds up): the levels overshoot 2**32 and are capped, not wrapped.
    third = np.asarray(data.gate_thresholds(np.full((1, 3), 1 / 3, np.float32))).astype(np.int64)
    assert third[0, -1] == 2**32 - 1 and np.all(np.diff(third[0]) > 0)


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: type(s).__name__)
def test_unrepresentable_density_is_refused(sampler):
    """p = 1e-8 (accepted until 2026-12, and never active) is refused in one line; 2**-26 is the floor."""
    data_ok = np.full((2, 8), FLOOR, np.float32)
    sampler.check(data_ok)
    too_low = data_ok.copy()
    too_low[1] = 1e-8
    with pytest.raises(ConfigError, match=r"feature_prob 1e-08 is below 1.49e-08 \(2\*\*-26\)") as err:
        sampler.check(too_low)
    assert "\n" not in str(err.value) and data.MIN_FEATURE_PROB == FLOOR


def test_sweep_refuses_unrepresentable_density():
    """Sweep runs the sampler's check before anything is compiled or allocated."""
    cfg = config.TrainConfig(n_features=4, n_hidden=2, batch_size=8, n_steps=10, chunk_steps=10, log_every=10)
    hyper = config.make_hyper(3, 4, feature_prob=config.per_instance([0.1, 1e-8, 0.1]))
    with pytest.raises(ConfigError, match="below"):
        sweep.Sweep(models.ReluOutput(), data.Independent(), cfg, hyper, np.arange(3))


# --- magnitudes: the same law at every density, tails from 32 bits ------------------------------------------


def shifted(v):
    return 1.0 + v  # never zero, so 'active' is exactly 'non-zero'


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize(
    "sampler, dense_p",
    [
        (data.Independent(shifted), 1.0),
        (data.Correlated(2, shifted), 1.0),
        (data.Anticorrelated(2, shifted), 0.5),
    ],
    ids=["Independent", "Correlated", "Anticorrelated"],
)
@given(p=st.floats(1e-3, 0.5), seed=st.integers(0, 2**31 - 1))
def test_magnitude_does_not_depend_on_density(rng, sampler, dense_p, p, seed):
    """With the same key, lowering the density only switches values off: an active value is the one the
    dense draw has there (for anticorrelated sets: the value of the set's one active member). So every
    density sees the same magnitude law, tails included (u / p did not: its tail shrank with p)."""
    dense = sample(sampler, seed, np.full(8, dense_p), rng)
    sparse = sample(sampler, seed, np.full(8, p), rng)
    density = float(np.float32(p))
    if isinstance(sampler, data.Anticorrelated):  # one value per set (pairs), active with probability 2p
        dense, sparse, density = dense.reshape(4, 2, -1).sum(1), sparse.reshape(4, 2, -1).sum(1), 2 * density
    on = sparse != 0
    assert np.all(dense[on] != 0)  # active at p implies active at the larger dense_p
    np.testing.assert_array_equal(sparse[on], dense[on])
    if isinstance(sampler, data.Correlated):  # a set's members switch together: count each set once
        on = on.reshape(4, 2, -1)[:, 0]
    assert within_binomial_band(int(on.sum()), on.size, density)


def test_unit_interval_resolution():
    """v lies in (0, 1): steps of 2**-31 near 0 (cell midpoints of the top 31 bits), 2**-24 just below 1."""
    words = np.array([0, 1, 2, 2**22 - 1, 2**31, 2**32 - 257, 2**32 - 1], np.uint32)
    v = np.asarray(data.unit_interval(words), np.float64)
    assert v[:4].tolist() == [((w >> 1) + 0.5) * 2.0**-31 for w in [0, 1, 2, 2**22 - 1]]
    assert v[4] == 0.5  # 0.5 + 2**-32 rounds to 0.5 in float32
    assert v[-1] == v[-2] == 1 - 2.0**-24


def test_largest_magnitudes():
    """The tail laws read v near 0: the largest exponential is 32 ln 2 = 22.2 and the largest power law
    (exponent 3) 2**16 - 1 at every density. With u / p they were 16.6 and 4,095 at p = 1, 11.3 and 277 at
    p = 1e-3, 3.1 and 3.6 at p = 1e-6."""
    smallest = data.unit_interval(np.uint32(0))
    assert float(data.exponential_magnitude(smallest)) == pytest.approx(32 * np.log(2), rel=1e-6)
    assert float(data.power_law_magnitude(smallest)) == pytest.approx(2**16 - 1, rel=1e-5)
    largest = data.unit_interval(np.uint32(2**32 - 1))
    assert float(data.exponential_magnitude(largest)) == pytest.approx(2.0**-24, rel=1e-3)


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize(
    "law, survival",
    [("exponential", lambda x: np.exp(-x)), ("power_law", lambda x: (1 + x) ** -2.0)],  # exponent 3: alpha 2
)
def test_tail_laws_follow_their_distribution(rng, law, survival):
    """KS of the active values against the law's own CDF, 4096 x 8 x 0.5 draws."""
    x = sample(data.Independent(law), 3, np.full(8, 0.5), rng)
    active = x[x != 0].astype(np.float64)
    assert ks_uniform(survival(active)) < ks_critical(active.size)


# --- the two words: independent of each other -------------------------------------------------------------


@pytest.mark.parametrize("rng", RNGS)
@given(seed=st.integers(0, 2**31 - 1))
def test_gate_and_magnitude_words_are_independent(rng, seed):
    """A 16 x 16 contingency table of the two words' top 4 bits passes a chi-square test, and the magnitude
    words are uniform (KS) and balanced bit by bit."""
    gate, mag = (np.asarray(w) for w in data.bit_pairs(jax.random.key(seed), (64, 1024), rng))
    table = np.zeros((16, 16))
    np.add.at(table, (gate >> 28, mag >> 28), 1)
    expected = gate.size / 256
    chi2 = float(((table - expected) ** 2 / expected).sum())
    assert chi2 < 255 + Z * np.sqrt(2 * 255), chi2  # chi-square with 255 degrees of freedom, 5 sigma
    assert ks_uniform(np.asarray(data.unit_interval(mag), np.float64)) < ks_critical(mag.size)
    ones = (mag.reshape(-1, 1) >> np.arange(32, dtype=np.uint32)) & 1
    assert np.all(np.abs(ones.mean(axis=0) - 0.5) < Z * 0.5 / np.sqrt(mag.size))
