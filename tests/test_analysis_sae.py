"""superpose.analysis.sae: MMCS, the one-to-one matching, firing scores (F1, MCC) and absorption, on
dictionaries and counts whose answers are known."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose import testing
from superpose.analysis import sae


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
    np.testing.assert_allclose(sae.recovery_angles(P, rot @ P), abs(degrees), atol=1e-4)


@given(st.integers(0, 2**31 - 1), st.integers(0, 6))
def test_matching_is_one_to_one_and_finds_a_permuted_truth(seed, n_extra):
    rng = np.random.default_rng(seed)
    F = sae.unit(rng.normal(size=(12, 10)))
    perm = rng.permutation(10 + n_extra)
    D = np.concatenate([F, rng.normal(size=(12, n_extra))], axis=1)[:, perm] * rng.uniform(
        0.5, 2, 10 + n_extra
    )
    latents, features, cos = sae.match(D, F)
    assert len(set(latents)) == len(latents) == 10 and len(set(features)) == 10
    np.testing.assert_allclose(cos, 1.0, atol=1e-9)
    np.testing.assert_array_equal(perm[latents], features)  # latent j holds column perm[j] of [F, noise]


def test_matching_never_gives_one_atom_two_features():
    """Two features near one atom: the best-cosine rule would give both to it; the matching gives one away."""
    F = sae.unit(np.array([[1.0, 1.0], [0.05, -0.05], [0.0, 0.0]]))
    D = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])  # atom 1 is orthogonal to both features
    latents, features, cos = sae.match(D, F)
    assert sorted(latents.tolist()) == [0, 1] and np.isclose(np.sort(cos), [0.0, F[0, 0]]).all()


def counts(latent_on: np.ndarray, feature_on: np.ndarray) -> tuple:
    """fired [k], present [n], joint [k, n], n_samples from boolean series [k, N] and [n, N]."""
    L, X = latent_on.astype(float), feature_on.astype(float)
    return L.sum(1), X.sum(1), L @ X.T, L.shape[1]


@settings(max_examples=50)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 0.5), st.floats(0.0, 0.5))
def test_mcc_and_f1_equal_their_definitions_on_binary_series(seed, p, flip):
    rng = np.random.default_rng(seed)
    x = rng.random((3, 400)) < p
    latent = x ^ (rng.random((3, 400)) < flip)  # a detector that errs on a fraction `flip`
    fired, present, joint, n = counts(latent, x)
    s = sae.firing_scores(fired, present, joint, n, np.arange(3), np.arange(3))
    for i in range(3):
        a, b = latent[i].astype(float), x[i].astype(float)
        if a.std() > 0 and b.std() > 0:
            assert abs(s["mcc"][i] - np.corrcoef(a, b)[0, 1]) < 1e-9  # MCC is Pearson's r on 0/1
        tp = float((a * b).sum())
        if tp > 0:
            assert abs(s["f1"][i] - 2 * tp / (a.sum() + b.sum())) < 1e-12
    perfect = sae.firing_scores(*counts(x, x), np.arange(3), np.arange(3))
    assert np.allclose(perfect["f1"][x.any(1)], 1) and np.allclose(perfect["mcc"][x.any(1) & ~x.all(1)], 1)


def test_a_silent_latent_scores_zero_not_nan():
    x = np.zeros((1, 100), bool)
    x[0, :10] = True
    s = sae.firing_scores(*counts(np.zeros((1, 100), bool), x), np.array([0]), np.array([0]))
    assert s["f1"][0] == 0 and s["mcc"][0] == 0 and s["precision"][0] == 0


def test_score_of_the_true_dictionary_with_perfect_firing():
    rng = np.random.default_rng(0)
    F = sae.unit(rng.normal(size=(8, 6)))
    x = rng.random((6, 500)) < 0.2
    fired, present, joint, n = counts(x, x)
    stats = {"fired": fired, "present": present, "joint": joint, "n_samples": n, "l0": 1.2, "fvu": 0.0}
    s = sae.score(F[:, ::-1], F, stats)
    assert s["mmcs"] > 1 - 1e-12 and s["matched_cos"] > 1 - 1e-12
    assert s["dead"] == 0 and s["explained_variance"] == 1.0
    assert (
        s["f1"] < 0.5
    )  # reversed atoms: the matching pairs atom j with feature 5 - j, firing stats don't follow


def test_absorption_counts_the_child_occurrences_the_parent_latent_misses():
    # parent 0 on in samples 0-99; child 1 on in 0-39 (always with the parent)
    parent = np.zeros(200, bool)
    parent[:100] = True
    child = np.zeros(200, bool)
    child[:40] = True
    parent_latent = parent.copy()
    parent_latent[:30] = False  # silent on 30 of the child's 40 samples: absorbed there
    child_latent = child.copy()
    _, present, joint, _ = counts(np.stack([parent_latent, child_latent]), np.stack([parent, child]))
    assert abs(sae.absorption(joint, present, parent=0, child=1) - 0.75) < 1e-12
    _, present, joint, _ = counts(np.stack([parent, child]), np.stack([parent, child]))
    assert sae.absorption(joint, present, parent=0, child=1) == 0.0
