"""Figures of almost-orthogonal packing (experiments/packing.py): the angle histogram over all pairs, the
largest |cos| against N beside the Welch bound and random vectors, and the interference the toy models accept.

Owns: drawing those from numpy arrays on a given `ax`, and the three-panel figure. Does not: compute cosines
(superpose.analysis.packing). Never jax.
"""

from __future__ import annotations

import numpy as np

KIND_COLORS = {"random": "0.55", "relu": "C3", "lse": "C0"}


def angle_histogram(
    ax, bins: np.ndarray, counts: dict[str, np.ndarray], welch: float, near_deg: float = 1.0
) -> None:
    """Pair counts per angle bin (bins [k + 1] in degrees, counts {label: [k]}) on a log count axis so the
    tails show; the Welch band (some pair must lie outside it) shaded and the 90 +- near_deg band outlined."""
    centers = 0.5 * (bins[1:] + bins[:-1])
    for label, c in counts.items():
        kind = label.split()[0]
        ax.step(
            centers,
            np.maximum(np.asarray(c, np.float64), 0.8),
            where="mid",
            lw=1,
            color=KIND_COLORS.get(kind),
            label=label,
        )
    lo = float(np.degrees(np.arccos(welch)))
    ax.axvspan(lo, 180 - lo, color="C2", alpha=0.12, lw=0, label=f"Welch: {lo:.1f}-{180 - lo:.1f} deg")
    ax.axvline(90 - near_deg, color="k", lw=0.6, ls=":")
    ax.axvline(90 + near_deg, color="k", lw=0.6, ls=":", label=f"{90 - near_deg:g}-{90 + near_deg:g} deg")
    ax.set_yscale("log")
    ax.set_xlim(0, 180)
    ax.set_ylim(bottom=0.8)
    ax.set_xticks(range(0, 181, 30))
    ax.set_xlabel("angle between a pair (degrees)", fontsize=8)
    ax.set_ylabel("pairs per 1/4 degree", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, frameon=False, loc="upper left")


def max_cos_curves(ax, curves: dict) -> None:
    """Per d: {"n": [k], "best": [k], "random": [k], "welch": [k]} as the optimised largest |cos| (solid),
    random unit vectors (dashed) and the Welch bound (dotted) against N."""
    for j, (d, c) in enumerate(sorted(curves.items())):
        color = f"C{j}"
        ax.plot(c["n"], c["best"], marker="o", ms=3, color=color, label=f"d={d}: optimised")
        ax.plot(c["n"], c["random"], ls="--", lw=1, color=color, label=f"d={d}: random")
        ax.plot(c["n"], c["welch"], ls=":", lw=1, color=color, label=f"d={d}: Welch bound")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("number of vectors N", fontsize=8)
    ax.set_ylabel("largest |cos| over all pairs", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=5.5, frameon=False, ncol=3, loc="upper left")


def tie_back(
    ax,
    curves: dict,
    features_per_dim: np.ndarray,
    max_positive: np.ndarray,
    max_abs: np.ndarray,
    density: np.ndarray,
) -> None:
    """The packing curves against N / d (directions per dimension) beside the toy models' features per
    dimension and the largest positive and absolute cosines between their represented features."""
    for j, (d, c) in enumerate(sorted(curves.items())):
        ax.plot(
            np.asarray(c["n"]) / d, c["best"], marker="o", ms=2.5, lw=1, color=f"C{j}", label=f"packing d={d}"
        )
    ax.scatter(
        features_per_dim,
        max_abs,
        marker="s",
        facecolor="none",
        edgecolor="k",
        s=28,
        label="toy: largest |cos|",
    )
    ax.scatter(
        features_per_dim, max_positive, marker="^", color="C3", s=28, label="toy: largest positive cos"
    )
    for x, y, p in zip(features_per_dim, max_positive, density):
        ax.annotate(f"1-S={p:.2g}", (x, y), fontsize=5, xytext=(3, -8), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("directions (features) per dimension", fontsize=8)
    ax.set_ylabel("largest |cos| (interference)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, frameon=False, loc="lower right")


def packing_figure(
    path: str,
    bins: np.ndarray,
    head: dict,
    n: int,
    d: int,
    curves: dict,
    toy_rows: list[dict],
    toy_title: str,
    near_deg: float,
):
    """The experiment's figure, three panels: the headline case's angle histograms (head: {kind: pair
    statistics with counts [len(bins) - 1], max_abs_cos, welch}), the largest |cos| against N, and the
    tie-back to the toy models (toy_rows: features_per_dim, max_positive_cos, max_abs_cos, density per
    density; blank when empty). Returns the saved path."""
    import matplotlib.pyplot as plt

    from superpose.plots.core import save

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    counts = {f"{k} (max |cos| {s['max_abs_cos']:.3f})": s["counts"] for k, s in head.items()}
    angle_histogram(axes[0], bins, counts, welch=head["random"]["welch"], near_deg=near_deg)
    axes[0].set_title(f"{n:,} unit vectors in {d}-D: angles of all {n * (n - 1) // 2:,} pairs", fontsize=9)
    max_cos_curves(axes[1], curves)
    axes[1].set_title("largest |cos| against N", fontsize=9)
    if toy_rows:
        column = lambda key: np.array([r[key] for r in toy_rows])  # noqa: E731
        tie_back(
            axes[2],
            curves,
            column("features_per_dim"),
            column("max_positive_cos"),
            column("max_abs_cos"),
            column("density"),
        )
        axes[2].set_title(toy_title, fontsize=9)
    else:
        axes[2].set_axis_off()
    fig.tight_layout()
    return save(fig, path)
