"""Figures of loss-against-width scaling (experiments/scaling.py): loss and squared overlap against m on
log-log axes with their fitted power laws, and the phase map of the loss exponent over (alpha, weight decay).

Each function takes the `grid` dict of the experiment (flat per-model m, alpha, wd, loss, fraction, overlap;
the unique alphas and wds; fits keyed by (alpha, wd)) and returns a matplotlib figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from superpose.plots.core import readable_log_ticks


def _width_ticks(ax, ms) -> None:
    """The widths themselves as the x ticks of a log axis (no crowded minor labels)."""
    ax.set_xticks(ms, [str(int(m)) for m in ms])
    ax.xaxis.set_minor_formatter(NullFormatter())
    readable_log_ticks(ax.yaxis)


def _alpha_colors(alphas: np.ndarray):
    cmap = plt.get_cmap("viridis")
    return {float(a): cmap(0.1 + 0.8 * i / max(len(alphas) - 1, 1)) for i, a in enumerate(alphas)}


def loss_vs_width(g: dict):
    """One panel per weight decay: loss against m for every alpha with its fitted line (exponent +- error
    in the legend); a last panel: the mean squared overlap of represented features against m at the most
    negative decay, with 1/m."""
    wds, alphas = g["wds"], g["alphas"]
    colors = _alpha_colors(alphas)
    k = len(wds) + 1
    fig, axes = plt.subplots(1, k, figsize=(2.9 * k, 3.2), squeeze=False)
    axes = axes[0]
    ms = np.unique(g["m"])
    for ax, d in zip(axes, wds):
        for a in alphas:
            at = np.isclose(g["alpha"], a) & np.isclose(g["wd"], d)
            fit = g["fits"][(float(a), float(d))]["loss"]
            ax.loglog(g["m"][at], g["loss"][at], "o", ms=3.5, color=colors[float(a)])
            if np.isfinite(fit["exponent"]):
                ax.loglog(
                    ms,
                    fit["prefactor"] * ms ** -fit["exponent"],
                    "-",
                    lw=1,
                    color=colors[float(a)],
                    label=f"α={a:g}: {fit['exponent']:.2f}±{fit['stderr']:.2f}",
                )
        ax.set_title(f"weight decay {d:g}", fontsize=9)
        ax.set_xlabel("m")
        _width_ticks(ax, ms)
        ax.legend(fontsize=6, title="loss ~ m^-e", title_fontsize=6)
    axes[0].set_ylabel("loss")
    ax = axes[-1]
    strong = float(wds.min())
    for a in alphas:
        at = np.isclose(g["alpha"], a) & np.isclose(g["wd"], strong)
        fit = g["fits"][(float(a), strong)]["overlap"]
        ax.loglog(
            g["m"][at],
            g["overlap"][at],
            "o-",
            ms=3.5,
            lw=1,
            color=colors[float(a)],
            label=f"α={a:g}: e={fit['exponent']:.2f}",
        )
    ax.loglog(ms, 1.0 / ms, "k--", lw=1, label="1/m")
    ax.set_title(f"mean cos² of represented pairs\n(weight decay {strong:g})", fontsize=9)
    ax.set_xlabel("m")
    _width_ticks(ax, ms)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def phase_map(g: dict):
    """The fitted loss exponent over (alpha, weight decay), each cell annotated with exponent and error,
    beside the mean represented fraction over the same grid."""
    alphas, wds = g["alphas"], g["wds"]
    exp = np.array([[g["fits"][(float(a), float(d))]["loss"]["exponent"] for a in alphas] for d in wds])
    err = np.array([[g["fits"][(float(a), float(d))]["loss"]["stderr"] for a in alphas] for d in wds])
    frac = np.array([[g["fits"][(float(a), float(d))]["fraction"] for a in alphas] for d in wds])
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for ax, values, title, vmax, cmap, label in (
        (axes[0], exp, "loss exponent e (loss ~ m^-e)", 1.5, "magma", "e"),
        (axes[1], frac, "fraction of features with norm > 1/2", 1.0, "viridis", "fraction represented"),
    ):
        im = ax.imshow(values, origin="lower", aspect="auto", vmin=0.0, vmax=vmax, cmap=cmap)
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        ax.set_yticks(range(len(wds)), [f"{d:g}" for d in wds])
        ax.set_xlabel("α  (p_i ~ i^-(1+α))")
        ax.set_ylabel("weight decay")
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.85, label=label)
        for i in range(len(wds)):
            for j in range(len(alphas)):
                text = f"{values[i, j]:.2f}" + (f"\n±{err[i, j]:.2f}" if values is exp else "")
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if values[i, j] < 0.6 * vmax else "black",
                )
    fig.suptitle(
        "published: e ≈ 1 for every α in strong superposition (wd < 0), e ≈ α in weak (wd > 0)", fontsize=10
    )
    fig.tight_layout()
    return fig
