"""Grids and best-of-N selection (numpy only; training through Sweep is in test_train.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from superpose import config, data, models
from superpose.sweep import Grid, Sweep, best_of

axis_sizes = st.lists(st.integers(1, 4), min_size=1, max_size=3)


def make_grid(sizes) -> Grid:
    """Axes named a0, a1, ... with distinct float values (10 * axis + position)."""
    return Grid(**{f"a{k}": 10.0 * k + np.arange(size) for k, size in enumerate(sizes)})


@given(sizes=axis_sizes)
def test_grid_coords_unflatten_and_index_round_trip(sizes):
    grid = make_grid(sizes)
    assert grid.shape == tuple(sizes) and grid.size == int(np.prod(sizes))
    coords = grid.coords
    assert list(coords) == list(grid.axes)
    for name, values in coords.items():
        assert values.shape == (grid.size,)
        # unflatten puts every instance at its own grid point
        k = list(grid.axes).index(name)
        expected = np.broadcast_to(
            grid.axes[name].reshape([-1 if a == k else 1 for a in range(len(sizes))]), grid.shape
        )
        np.testing.assert_array_equal(grid.unflatten(values), expected)
    for flat in range(grid.size):
        point = np.unravel_index(flat, grid.shape)
        assert grid.index(**{name: int(i) for name, i in zip(grid.axes, point)}) == flat
        for name, i in zip(grid.axes, point):
            assert coords[name][flat] == grid.axes[name][i]


def test_grid_is_row_major():
    grid = Grid(density=[0.1, 0.2, 0.3], seed=[0, 1])
    np.testing.assert_array_equal(grid.coords["seed"], [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(grid.coords["density"], [0.1, 0.1, 0.2, 0.2, 0.3, 0.3])
    assert grid.index(density=2, seed=1) == 5
    assert grid.unflatten(np.arange(6 * 4).reshape(6, 4)).shape == (3, 2, 4)


def test_grid_rejects_bad_axes():
    with pytest.raises(ValueError, match="at least one axis"):
        Grid()
    with pytest.raises(ValueError, match="non-empty 1-D"):
        Grid(seed=[])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        Grid(seed=[[0, 1]])


@given(st.data())
def test_best_of_picks_the_argmin(draw):
    sizes = draw.draw(st.lists(st.integers(1, 4), min_size=2, max_size=3))
    grid = make_grid(sizes)
    names = list(grid.axes)
    axis = draw.draw(st.sampled_from(names))
    # distinct losses, so the argmin is unique
    loss = draw.draw(
        hnp.arrays(np.float64, grid.size, elements=st.floats(0, 1e3), unique=True, fill=st.nothing())
    )
    weights = np.arange(grid.size * 2.0).reshape(grid.size, 2)  # any per-instance array rides along
    out = best_of({"W": weights}, loss, grid, axis=axis)
    k = names.index(axis)
    other_shape = grid.shape[:k] + grid.shape[k + 1 :]
    assert out["best_index"].shape == other_shape and out["W"].shape == (*other_shape, 2)
    cube = grid.unflatten(loss)
    for point in np.ndindex(*other_shape):
        chosen = int(out["best_index"][point])
        along = [grid.index(**dict(zip(names, point[:k] + (i,) + point[k:]))) for i in range(grid.shape[k])]
        assert chosen in along
        assert loss[chosen] == np.moveaxis(cube, k, -1)[point].min()
        np.testing.assert_array_equal(out["W"][point], weights[chosen])


def test_best_of_unknown_axis():
    grid = Grid(seed=[0, 1])
    with pytest.raises(ValueError, match="no axis"):
        best_of({}, np.zeros(2), grid, axis="density")


def test_sweep_checks_hyper_shape():
    cfg = config.TrainConfig(n_features=5, n_hidden=2, n_steps=10, log_every=5, chunk_steps=10)
    hyper = config.make_hyper(3, 5)
    with pytest.raises(ValueError, match="expected"):
        Sweep(models.ReluOutput(), data.Independent(), cfg, hyper, seeds=np.arange(4))
    with pytest.raises(ValueError, match="feature_prob"):
        config.make_hyper(3, 5, feature_prob=0.0)


# --- values refused where they enter ------------------------------------------------------------------


def _small_sweep(**kwargs):
    cfg = config.TrainConfig(n_features=4, n_hidden=2, n_steps=10, batch_size=8)
    args = dict(hyper=config.make_hyper(3, 4), seeds=np.arange(3))
    args.update(kwargs)
    return Sweep(models.ReluOutput(), args.pop("sampler", data.Independent()), cfg, args.pop("hyper"), **args)


@pytest.mark.parametrize(
    "seeds, message",
    [
        (np.array([0, 1, 2**32]), r"seeds must lie in \[0, 2\*\*32\)"),
        (np.array([-1, 0, 1]), r"seeds must lie in \[0, 2\*\*32\)"),
        (np.array([0.5, 1.0, 2.0]), "seeds must be integers"),
    ],
)
def test_bad_seeds_are_refused(seeds, message):
    with pytest.raises(config.ConfigError, match=message):
        _small_sweep(seeds=seeds)


def test_seeds_above_2_31_are_distinct_instances():
    """Seeds are uint32: 2**31 + 7 is its own instance, not a wrapped int32."""
    s = _small_sweep(seeds=np.array([7, 2**31 + 7, 2**32 - 1], dtype=np.uint64))
    W = np.asarray(s.init().params["W"])[:3]
    assert len({w.tobytes() for w in W}) == 3
    np.testing.assert_array_equal(s.host_seeds, [7, 2**31 + 7, 2**32 - 1])


def test_root_seed_out_of_range_is_refused():
    with pytest.raises(config.ConfigError, match="root_seed"):
        _small_sweep(root_seed=2**32)


def test_the_sampler_checks_densities_before_training():
    unequal = config.make_hyper(3, 4, feature_prob=config.per_feature([0.1, 0.2, 0.3, 0.3]))
    with pytest.raises(config.ConfigError, match="differs within a set"):
        _small_sweep(hyper=unequal, sampler=data.Correlated(2))
    with pytest.raises(config.ConfigError, match="sum to"):
        _small_sweep(hyper=config.make_hyper(3, 4, feature_prob=0.6), sampler=data.Anticorrelated(2))


def test_a_sweep_too_big_for_memory_is_refused_before_allocating():
    """About 32 GB of batch per instance: refused in one line naming what it needs and what is there."""
    cfg = config.TrainConfig(n_features=1000, n_hidden=2, n_steps=10, batch_size=1_000_000)
    with pytest.raises(
        config.ConfigError, match=r"needs about .* GiB but .* is available; use fewer instances"
    ):
        Sweep(models.ReluOutput(), data.Independent(), cfg, config.make_hyper(2, 1000), np.arange(2))


def test_a_grid_too_big_for_memory_is_refused():
    with pytest.raises(config.ConfigError, match=r"a grid of 1,000,000,000,000 instances needs about"):
        Grid(a=np.arange(1_000_000), b=np.arange(1_000_000))
