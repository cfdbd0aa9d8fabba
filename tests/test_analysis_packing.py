"""superpose/analysis/packing.py: the pair statistics against brute force, the Welch bound as a property of
any vectors (tight for the regular simplex), reading directions off a curve, and the interference a toy model
accepts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import testing
from superpose.analysis import packing
from superpose.theory import welch_bound


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


def test_directions_at_interpolates_and_flags_misses():
    ns = np.array([10.0, 100.0, 1000.0])
    assert packing.directions_at(ns, np.array([0.1, 0.2, 0.3]), 0.25) == pytest.approx((10**2.5, "ok"))
    assert packing.directions_at(ns, np.array([0.1, 0.2, 0.3]), 0.5) == (1000.0, "above")
    assert packing.directions_at(ns, np.array([0.6, 0.7, 0.8]), 0.5) == (10.0, "below")


def test_accepted_interference_of_a_pentagon():
    """Five unit features as a regular pentagon in 2-D: 2.5 features and represented features per dimension,
    largest cosine cos 72 deg, most negative cos 144 deg."""
    W = testing.regular_polygon(5)
    got = packing.accepted_interference(W)
    assert got["features_per_dim"] == pytest.approx(2.5) and got["represented_per_dim"] == 2.5
    assert got["max_positive_cos"] == pytest.approx(np.cos(np.radians(72)))
    assert got["most_negative_cos"] == pytest.approx(np.cos(np.radians(144)))
    assert got["max_abs_cos"] == pytest.approx(-np.cos(np.radians(144)))
    assert np.isnan(packing.accepted_interference(np.eye(2, 3) * [[1.0], [0.1]])["max_abs_cos"])
