"""superpose/models/mlp.py: AbsMLP's two initialisations (the live output layer and the plain one that
live_outputs=False restores) draw the same W1 and the same W2 magnitudes from a key."""

from __future__ import annotations

import jax
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose.models import AbsMLP


@settings(max_examples=10)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(1, 1), (3, 6), (12, 5)]), st.floats(0.0, 1.0))
def test_live_and_plain_init_differ_only_in_the_output_layer(seed, shape, bias):
    n, m = shape
    live = AbsMLP(bias).init(jax.random.key(seed), n, m)
    plain = AbsMLP(bias, live_outputs=False).init(jax.random.key(seed), n, m)
    np.testing.assert_array_equal(live["W1"], plain["W1"])
    np.testing.assert_array_equal(live["W2"], np.abs(plain["W2"]))
    np.testing.assert_allclose(live["b"], np.float32(bias))
    assert (np.asarray(live["W2"]) >= 0).all() and not np.asarray(plain["b"]).any()


def test_the_plain_init_has_output_weights_of_both_signs():
    W2 = np.asarray(AbsMLP(live_outputs=False).init(jax.random.key(0), 20, 10)["W2"])
    assert (W2 > 0).any() and (W2 < 0).any()
