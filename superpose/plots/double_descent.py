"""Figures of the double-descent experiment (experiments/double_descent.py): losses and dimensionalities
against the training-set size T, and 2-D hidden vectors. numpy in, matplotlib out; never jax.
"""

from __future__ import annotations

import numpy as np

from superpose.plots.core import square


def loss_vs_T(ax, T: np.ndarray, train_loss: np.ndarray, test_loss: np.ndarray, label: str) -> None:
    """Test loss (solid, with markers) and train loss (dashed, same colour) against T [sizes] on a log axis."""
    (line,) = ax.plot(T, test_loss, "o-", ms=3, label=label)
    ax.plot(T, train_loss, "--", color=line.get_color(), lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("training set size T")
    ax.set_ylabel("loss per point (zero model: 1)")
    ax.legend(fontsize=7)


def dimensionality_vs_T(ax, T, feature_dims, data_dims, m: int) -> None:
    """For each training-set size T[k]: the dimensionality of every feature (feature_dims[k], red) and of
    every training point's hidden vector (data_dims[k], blue) as dots, with the T-gon value m/T (dashed)."""
    for t, f, d in zip(T, feature_dims, data_dims):
        ax.scatter(np.full(len(f), t), f, s=6, color="tab:red", alpha=0.3, lw=0)
        ax.scatter(np.full(len(d), t) * 1.08, d, s=6, color="tab:blue", alpha=0.3, lw=0)
    grid = np.geomspace(min(T), max(T), 100)
    ax.plot(grid, np.minimum(1.0, m / grid), "k--", lw=0.8, label="m/T (T-gon)")
    ax.scatter([], [], color="tab:red", label="features")
    ax.scatter([], [], color="tab:blue", label="data points")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training set size T")
    ax.set_ylabel("dimensionality")
    ax.legend(fontsize=7)


def vectors_2d(ax, V: np.ndarray, title: str | None = None, color: str = "tab:blue") -> None:
    """Columns of V [2, k] as thin lines from the origin with a dot at the tip; axes scaled to the longest."""
    V = np.asarray(V, dtype=np.float64)
    for x, y in V.T:
        ax.plot([0, x], [0, y], color=color, lw=0.8, alpha=0.7)
    ax.scatter(V[0], V[1], color=color, s=6, zorder=3)
    square(ax, max(float(np.abs(V).max()) * 1.1, 1e-3), title)


def curves_figure(path: str, losses: list[tuple], dims: list[tuple], title: str):
    """The experiment's main figure: test (solid) and train (dashed) loss against T, one line per label
    (losses: [(label, T, train_loss, test_loss)]), and one panel per m of each data point's and feature's
    dimensionality (dims: [(m, T [k], feature_dims [k][n], data_dims [k][T])]). Returns the saved path."""
    import matplotlib.pyplot as plt

    from superpose.plots.core import save

    fig, axes = plt.subplots(1, 1 + len(dims), figsize=(4.6 * (1 + len(dims)), 3.6))
    for label, T, train, test in losses:
        loss_vs_T(axes[0], T, train, test, label=label)
    axes[0].set_title(title, fontsize=8)
    for ax, (m, T, feature_dims, data_dims) in zip(axes[1:], dims):
        dimensionality_vs_T(ax, T, feature_dims, data_dims, m)
        ax.set_title(f"m={m}: dimensionality of each data point and feature", fontsize=8)
    fig.tight_layout()  # keeps the x labels inside the canvas
    return save(fig, path)


def geometry_figure(path: str, panels: list[tuple]):
    """Columns of 2-D vectors, one per training-set size (panels: [(T, H [2, T] the training points' hidden
    vectors, W [2, n] the features)]): the points above, the features below. Returns the saved path."""
    import matplotlib.pyplot as plt

    from superpose.plots.core import save

    fig, axes = plt.subplots(2, len(panels), figsize=(2.5 * len(panels), 5.2), squeeze=False)
    for c, (T, H, W) in enumerate(panels):
        vectors_2d(axes[0, c], H, title=f"T={T}: training points h = Wx")
        vectors_2d(axes[1, c], W, title=f"T={T}: features W_i", color="tab:red")
    fig.suptitle(
        "memorising (small T) -> features (large T); each panel scaled to its longest vector", fontsize=9
    )
    return save(fig, path)
