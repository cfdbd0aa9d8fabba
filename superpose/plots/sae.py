"""Figures of the sparse-autoencoder experiment (experiments/sae.py): metric heatmaps over (dictionary size,
L1) and learned atoms drawn over the true directions in 2-D. numpy in, matplotlib out; never jax.
"""

from __future__ import annotations

import numpy as np


def heatmap(
    ax,
    values: np.ndarray,
    sizes: np.ndarray,
    l1s: np.ndarray,
    title: str,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    fmt: str = "{:.2f}",
):
    """values [l1s, sizes] as cells (dictionary size across, L1 down), each labelled with its value; NaN blank."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:  # e.g. "with the next larger dictionary" when there is one size
        ax.set_title(title, fontsize=9)
        ax.text(0.5, 0.5, "nothing to compare", ha="center", va="center", fontsize=8, transform=ax.transAxes)
        ax.set_axis_off()
        return None
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(sizes)), [str(int(s)) for s in sizes], fontsize=7)
    ax.set_yticks(range(len(l1s)), [f"{v:g}" for v in l1s], fontsize=7)
    ax.set_xlabel("dictionary size", fontsize=8)
    ax.set_ylabel("L1 coefficient", fontsize=8)
    ax.set_title(title, fontsize=9)
    lo = np.nanmin(values) if vmin is None else vmin
    hi = np.nanmax(values) if vmax is None else vmax
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            dark = (v - lo) / max(hi - lo, 1e-12) < 0.5
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=6, color="w" if dark else "k")
    return im


def atoms_over_truth(ax, truth: np.ndarray, atoms: np.ndarray, title: str | None = None) -> None:
    """2-D: the true directions truth [2, k] as thick grey unit lines, the learned atoms [2, K] as thin red
    unit lines on top."""
    T = np.asarray(truth, np.float64)
    A = np.asarray(atoms, np.float64)
    T = T / np.maximum(np.linalg.norm(T, axis=0), 1e-12)
    A = A / np.maximum(np.linalg.norm(A, axis=0), 1e-12)
    for x, y in T.T:
        ax.plot([0, x], [0, y], color="0.6", lw=4, solid_capstyle="round")
    for x, y in A.T:
        ax.plot([0, x], [0, y], color="tab:red", lw=1.2)
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def outline_column(axes, col: int, n_rows: int) -> None:
    """Outline column `col` of every heatmap in axes that has it (black under white: visible on dark and light
    cells) and bold its tick label; a line through it would hide its numbers. A heatmap with fewer columns
    (the next-larger comparison has one fewer; an empty one none) is left as it is."""
    import matplotlib.pyplot as plt

    for ax in axes:
        if not ax.axison or col >= len(ax.get_xticklabels()):
            continue
        for color, width in (("k", 2.6), ("w", 1.0)):
            ax.add_patch(
                plt.Rectangle(
                    (col - 0.5, -0.5), 1, n_rows, fill=False, edgecolor=color, lw=width, clip_on=False
                )
            )
        ax.get_xticklabels()[col].set_fontweight("bold")


def architectures(ax, names, values: dict, title: str = "at the true feature count") -> None:
    """Grouped bars: for each architecture (names [a]) one bar per metric in values {metric: [a]}."""
    width = 0.8 / max(len(values), 1)
    x = np.arange(len(names))
    for i, (metric, v) in enumerate(values.items()):
        ax.bar(x + (i - (len(values) - 1) / 2) * width, v, width, label=metric)
    ax.set_xticks(x, list(names), fontsize=6, rotation=25)
    ax.set_ylim(0, 1.25)  # room above 1 for the legend: bars reach 1
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("score against the truth", fontsize=8)
    ax.legend(fontsize=7, loc="upper center", ncol=len(values), handlelength=1, columnspacing=0.8)
    ax.set_title(title, fontsize=9)


def against_published(ax, table: dict, published: dict, published_at: str, title: str) -> None:
    """Grouped bars per SAE label: F1 and MCC ours (table {label: {"f1", "mcc"}}) beside the published
    (published {label: (f1, mcc)}; hatched, absent labels empty)."""
    names = list(table)
    x = np.arange(len(names))
    for j, (key, label) in enumerate((("f1", "F1"), ("mcc", "MCC"))):
        ax.bar(x + (j - 1.5) * 0.2, [table[n][key] for n in names], 0.2, label=f"{label} (ours)")
        pub = [published.get(n, (np.nan, np.nan))[j] for n in names]
        ax.bar(
            x + (j + 0.5) * 0.2, pub, 0.2, label=f"{label} published ({published_at})", alpha=0.45, hatch="//"
        )
    ax.set_xticks(x, names, fontsize=7, rotation=20)
    ax.set_ylim(0, 1.3)  # room above 1 for the legend: bars reach 1
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("score against the truth", fontsize=8)
    ax.legend(fontsize=6, loc="upper center", ncol=2, handlelength=1.5, columnspacing=0.8)
    ax.set_title(title, fontsize=9)


def absorption_bars(ax, table: dict) -> None:
    """Per SAE label, how often the parent's latent is silent on a child's occurrences ("absorption") and on
    the parent alone ("alone_miss")."""
    names = list(table)
    x = np.arange(len(names))
    ax.bar(x - 0.2, [table[n]["absorption"] for n in names], 0.4, label="on a child's occurrences")
    ax.bar(x + 0.2, [table[n]["alone_miss"] for n in names], 0.4, label="on the parent alone")
    ax.set_xticks(x, names, fontsize=7, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("parent latent silent (fraction)", fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title("absorption: parent / child pairs of the top two levels", fontsize=9)


def score_against_l0(ax, names, l0, values, target: float, label: str) -> None:
    """One line per SAE label (a coefficient sweep; a lone SAE a square) of a score against L0 (log axis), the
    target L0 dashed."""
    names = [str(n) for n in names]
    for name in dict.fromkeys(names):
        idx = [i for i, n in enumerate(names) if n == name]
        ax.plot(np.asarray(l0)[idx], np.asarray(values)[idx], "o-" if len(idx) > 1 else "s", label=name)
    ax.axvline(target, color="0.5", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("L0", fontsize=8)
    ax.set_ylabel(label, fontsize=8)
    ax.legend(fontsize=6)
    ax.set_title(f"{label} against L0 (dashed: the target)", fontsize=9)
