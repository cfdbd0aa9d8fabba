"""config.py: make_hyper says what it means (per instance or per feature, never a guess from a length),
TrainConfig derives its chunking from what was asked, and bad values are refused in one line."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import config
from superpose.config import ConfigError, TrainConfig, make_hyper, per_feature, per_instance

# Small counts, equal ones included: the coincidence N == n is where a guess goes silently wrong.
counts = st.integers(1, 6)


@given(n_instances=counts, n_features=counts, data=st.data())
def test_per_instance_and_per_feature_values_land_on_their_axis(n_instances, n_features, data):
    inst = np.asarray(data.draw(st.lists(st.floats(0.01, 1.0), min_size=n_instances, max_size=n_instances)))
    feat = np.asarray(data.draw(st.lists(st.floats(0.0, 2.0), min_size=n_features, max_size=n_features)))
    h = make_hyper(n_instances, n_features, feature_prob=per_instance(inst), importance=per_feature(feat))
    assert h.feature_prob.shape == h.importance.shape == (n_instances, n_features)
    np.testing.assert_allclose(h.feature_prob, np.repeat(inst[:, None], n_features, 1).astype(np.float32))
    np.testing.assert_allclose(h.importance, np.repeat(feat[None, :], n_instances, 0).astype(np.float32))
    swapped = make_hyper(
        n_instances,
        n_features,
        feature_prob=per_feature(np.clip(feat, 0.01, 1.0)),
        importance=per_instance(inst),
    )
    np.testing.assert_allclose(swapped.importance[:, 0], inst.astype(np.float32))


@given(n_instances=counts, n_features=counts, length=counts)
def test_a_bare_1d_value_is_refused_whatever_its_length(n_instances, n_features, length):
    values = np.linspace(0.1, 1.0, length)
    for field in ("feature_prob", "importance"):
        with pytest.raises(ConfigError, match="ambiguous: wrap it as per_instance"):
            make_hyper(n_instances, n_features, **{field: values})


@given(n_instances=counts, n_features=counts)
def test_wrong_lengths_and_2d_shapes_are_refused(n_instances, n_features):
    with pytest.raises(ConfigError, match="per_instance feature_prob has shape"):
        make_hyper(n_instances, n_features, feature_prob=per_instance(np.full(n_instances + 1, 0.5)))
    with pytest.raises(ConfigError, match="per_feature importance has shape"):
        make_hyper(n_instances, n_features, importance=per_feature(np.ones(n_features + 1)))
    with pytest.raises(ConfigError, match="does not fit"):
        make_hyper(n_instances, n_features, importance=np.ones((n_features + 1, n_instances)))
    with pytest.raises(ConfigError, match="not per feature"):
        make_hyper(n_instances, n_features, lr=per_feature(np.ones(n_features)))
    lr = make_hyper(
        n_instances, n_features, lr=np.linspace(1e-3, 1e-2, n_instances)
    ).lr  # lr: per instance only
    assert lr.shape == (n_instances,)


def test_intro_grid_with_as_many_densities_as_features():
    """The reported bug: 5 densities x 1 seed of a 5-feature model. Each instance gets its own density on
    every feature, not the 5 densities spread over the features."""
    from superpose.sweep import Grid

    grid = Grid(density=20.0 ** -np.linspace(0, 1, 5), seed=[0])
    h = make_hyper(grid.size, 5, feature_prob=per_instance(grid.coords["density"]))
    assert np.all(h.feature_prob == h.feature_prob[:, :1])  # constant within an instance
    np.testing.assert_allclose(h.feature_prob[:, 0], grid.coords["density"].astype(np.float32))


@pytest.mark.parametrize(
    "n_steps, chunk, window",
    [
        (10_000, 1000, 100),
        (2500, 500, 100),
        (4000, 1000, 100),
        (2550, 850, 85),
        (60, 60, 60),
        (3, 3, 3),
        (200_000, 1000, 100),
        (3_000_000, 3000, 100),
    ],
)
def test_chunking_is_derived_from_the_step_count(n_steps, chunk, window):
    cfg = TrainConfig(5, 2, n_steps=n_steps)
    assert (cfg.steps_per_chunk, cfg.steps_per_log) == (chunk, window)
    assert cfg.n_chunks * cfg.steps_per_chunk == n_steps and cfg.log_steps[-1] == n_steps
    assert cfg.replace(n_steps=2500).steps_per_chunk == 500  # derived again, never carried over


def test_chosen_chunking_is_kept_and_checked():
    cfg = TrainConfig(5, 2, n_steps=60, chunk_steps=20)
    assert (cfg.steps_per_chunk, cfg.steps_per_log) == (20, 20)
    assert TrainConfig(5, 2, n_steps=60, chunk_steps=20, log_every=10).steps_per_log == 10
    with pytest.raises(ConfigError, match="multiple of chunk_steps"):
        TrainConfig(5, 2, n_steps=50, chunk_steps=20)
    with pytest.raises(ConfigError, match="divisor near 1000, e.g. 2600"):
        TrainConfig(5, 2, n_steps=2551)  # a prime: only 1-step chunks


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"eval_batches": 0}, "eval_batches must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"n_steps": 2**31}, "n_steps must be below 2"),
        ({"chunk_steps": -5}, "chunk_steps must be a positive integer"),
        ({"batch_size": 10**10}, "exceeds the hash generator"),
        ({"snapshot_steps": (50,)}, "snapshot step 50"),
    ],
)
def test_bad_train_config_values_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(5, 2, **{"n_steps": 1000, **changes})


def test_config_error_is_a_value_error():
    assert issubclass(config.ConfigError, ValueError)
