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
