"""Figures of facts stored in an MLP (experiments/facts.py): capacity against parameters, how facts share
neurons, AND-ness across widths, the hand-built AND model under interference, and fact storage forming.

Owns: drawing those from numpy arrays on a given `ax`, the forming animation's frames, and the two figures.
Does not: compute anything beyond what a picture needs (superpose.analysis.facts and the experiment do). Never jax.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt  # never picks a backend: entry points do
import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from superpose.plots.animation import save_animation
from superpose.plots.core import readable_log_ticks

SETTING_COLORS = {"and32": "C0", "andN": "C1", "linear": "C2"}


def display_order(shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(neuron order [m], fact order [N]) for a shares [m, N] heatmap: neurons by how many facts they lead
    (most first), facts grouped by their leading neuron in that order, largest share first."""
    S = np.asarray(shares, np.float64)
    lead = S.argmax(axis=0)
    neuron_order = np.argsort(-np.bincount(lead, minlength=S.shape[0]), kind="stable")
    rank = np.empty_like(neuron_order)
    rank[neuron_order] = np.arange(neuron_order.size)
    return neuron_order, np.lexsort((-S.max(axis=0), rank[lead]))


def capacity_axes(ax, series: Sequence[dict]) -> None:
    """Facts stored at the accuracy threshold against the parameter measure, log-log.

    Each series: label, color, x [cells] (m d, or d^2 for the linear memory), n [cells] measured capacity,
    n_se [cells] its standard error over seeds (error bars), censored [cells] bool (a bound, drawn hollow),
    and line_x, line_n: the published fit to draw dashed.
    """
    for s in series:
        c = s["color"]
        ok = ~np.asarray(s["censored"], bool)
        ax.plot(s["line_x"], s["line_n"], ls="--", lw=1, color=c)
        ax.errorbar(s["x"], s["n"], yerr=s["n_se"], fmt="none", ecolor=c, elinewidth=1, capsize=2, zorder=2)
        ax.scatter(np.asarray(s["x"])[ok], np.asarray(s["n"])[ok], color=c, s=22, zorder=3, label=s["label"])
        if (~ok).any():
            ax.scatter(np.asarray(s["x"])[~ok], np.asarray(s["n"])[~ok], facecolor="none", edgecolor=c, s=22)
    ax.set_xscale("log")
    ax.set_yscale("log")
    readable_log_ticks(ax.xaxis)
    readable_log_ticks(ax.yaxis)
    ax.set_xlabel("parameters measure: m d (MLP), d$^2$ (linear)", fontsize=8)
    ax.set_ylabel("facts stored at 99% top-1", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, frameon=False, loc="upper left")


def accuracy_curves(ax, curves: Sequence[tuple[str, list, list]], threshold: float) -> None:
    """Top-1 accuracy against N / N_published for each cell, a line per seed through the N it tried:
    (label, ratios [seeds] of [k_s], accuracies [seeds] of [k_s])."""
    for j, (label, ratios, accs) in enumerate(curves):
        for s, (ratio, acc) in enumerate(zip(ratios, accs)):
            label_s = label if s == 0 else None
            ax.plot(ratio, acc, marker="o", ms=2, lw=0.8, color=f"C{j % 10}", alpha=0.8, label=label_s)
    ax.axhline(threshold, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xticks([0.6, 0.8, 1.0, 1.25, 1.6])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("N / N$_{published}$", fontsize=8)
    ax.set_ylabel("top-1 accuracy", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=5, frameon=False, ncol=2)


def share_heatmap(ax, shares: np.ndarray, title: str = "", max_facts: int = 400):
    """Neuron j's share of fact i's logit margin, shares [m, N] (C_ji / margin_i): neurons sorted by the
    facts they lead, facts by their leading neuron. At most max_facts facts are drawn (evenly chosen)."""
    S = np.asarray(shares, dtype=np.float64)
    if S.shape[1] > max_facts:
        S = S[:, np.linspace(0, S.shape[1] - 1, max_facts).round().astype(int)]
    neuron_order, fact_order = display_order(S)
    im = ax.imshow(
        S[neuron_order][:, fact_order], cmap="RdBu", vmin=-1, vmax=1, aspect="auto", interpolation="nearest"
    )
    ax.set_xlabel("fact (sorted by leading neuron)", fontsize=7)
    ax.set_ylabel("neuron", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)
    return im


def count_histogram(ax, values: np.ndarray, xlabel: str, color: str = "C0", ylabel: str = "count") -> None:
    """A histogram of integer-ish counts (neurons per fact, facts per neuron)."""
    values = np.asarray(values, dtype=np.float64)
    hi = max(1.0, float(np.ceil(values.max()))) if values.size else 1.0
    ax.hist(values, bins=np.linspace(0, hi, min(40, int(hi) + 1) + 1), color=color)
    ax.axvline(float(np.median(values)), color="k", lw=0.8, ls="--")
    ax.set_xlabel(xlabel, fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.tick_params(labelsize=6)


def and_across_widths(
    ax,
    facts_per_neuron: np.ndarray,
    and_fraction: np.ndarray,
    score: np.ndarray,
    neurons_per_fact: np.ndarray,
) -> None:
    """AND-ness as the width shrinks: x = facts per neuron (N / m, 1 = the hand-built regime); the fraction
    of facts stored by AND neurons, the median AND score of the main neurons and (right axis) the neurons
    each fact spreads over. Arrays [widths, seeds]; the hand-built model's values are drawn at x = 1."""
    x = np.asarray(facts_per_neuron, np.float64)
    for y, label, c in (
        (and_fraction, "facts stored by AND neurons", "C3"),
        (score, "median AND score", "C0"),
    ):
        y = np.asarray(y, np.float64)
        ax.plot(x, y.mean(axis=1), marker="o", ms=3, color=c, label=label)
    ax.scatter([1.0], [1.0], marker="*", s=80, color="k", zorder=4, label="hand-built AND model")
    ax.axhline(0, color="0.8", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("facts per neuron N / m", fontsize=8)
    ax.set_ylabel("fraction or score", fontsize=8)
    ax.set_ylim(-0.6, 1.1)
    ax.tick_params(labelsize=7)
    right = ax.twinx()
    right.plot(
        x,
        np.asarray(neurons_per_fact, np.float64).mean(axis=1),
        marker="s",
        ms=3,
        color="C2",
        label="neurons per fact (right)",
    )
    right.set_ylim(bottom=0)
    right.set_ylabel("neurons per fact", fontsize=8, color="C2")
    right.tick_params(labelsize=7, colors="C2")
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=6, frameon=False, loc="center right")


def handbuilt_interference(ax, dims: np.ndarray, acc: np.ndarray, ortho_dim: int, ortho_acc: float) -> None:
    """The hand-built AND model's accuracy [dims, seeds] with random unit embeddings in d dimensions, and
    with orthonormal ones (a star at their dimension)."""
    acc = np.asarray(acc, np.float64)
    ax.plot(dims, acc.mean(axis=1), marker="o", ms=3, label="random unit embeddings")
    ax.scatter([ortho_dim], [ortho_acc], marker="*", s=80, color="k", zorder=4, label="orthonormal")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("embedding width d", fontsize=8)
    ax.set_ylabel("top-1 accuracy", fontsize=8)
    ax.set_ylim(-0.02, 1.05)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, frameon=False, loc="lower right")


def forming_animation(
    path,
    shares: np.ndarray,
    steps: np.ndarray,
    log_steps: np.ndarray,
    loss: np.ndarray,
    acc: np.ndarray,
    title: str = "",
    *,
    fps: int = 12,
    fmt: str = "gif",
    progress=None,
):
    """Fact storage forming: per snapshot, each neuron's share of each fact's margin (shares [k, m, N], the
    final frame's order throughout), beside the loss with a moving marker and the accuracy [k]."""
    shares = np.asarray(shares, np.float64)
    neuron_order, fact_order = display_order(shares[-1])
    fig, (ax, lax) = plt.subplots(1, 2, figsize=(7.5, 2.8), gridspec_kw={"width_ratios": [2.2, 1]})
    im = ax.imshow(
        shares[0][neuron_order][:, fact_order],
        cmap="RdBu",
        vmin=-1,
        vmax=1,
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_xlabel("fact", fontsize=7)
    ax.set_ylabel("neuron", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    lax.plot(log_steps, loss, lw=1, color="C0")
    (mark,) = lax.plot([], [], "o", color="C3", ms=5)
    lax.set_xscale("log")
    lax.set_yscale("log")
    lax.set_xlabel("step", fontsize=7)
    lax.set_ylabel("cross-entropy", fontsize=7)
    lax.tick_params(labelsize=6)
    heading = fig.suptitle("", fontsize=9)

    def draw(frame: int) -> None:
        im.set_data(shares[frame][neuron_order][:, fact_order])
        at = int(np.clip(np.searchsorted(log_steps, steps[frame]), 0, len(log_steps) - 1))
        mark.set_data([log_steps[at]], [loss[at]])
        heading.set_text(f"{title}   step {int(steps[frame]):,}   accuracy {acc[frame]:.1%}")

    fig.tight_layout()
    return save_animation(fig, draw, len(steps), path, fps=fps, fmt=fmt, progress=progress)


def forming_stages(
    axes, shares: np.ndarray, steps: np.ndarray, acc: np.ndarray, picks: Sequence[int]
) -> None:
    """Static stages of the forming animation: shares [k, m, N] at snapshot indices `picks`, one per ax."""
    neuron_order, fact_order = display_order(shares[-1])
    for ax, k in zip(axes, picks):
        ax.imshow(
            np.asarray(shares[k])[neuron_order][:, fact_order],
            cmap="RdBu",
            vmin=-1,
            vmax=1,
            aspect="auto",
            interpolation="nearest",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"step {int(steps[k]):,}: {acc[k]:.0%}", fontsize=7)


def facts_figure(
    path: str, series, curves, threshold: float, handbuilt: tuple, inner: dict | None, widths, titles
):
    """The experiment's six panels: capacity against parameters (series, capacity_axes), accuracy around the
    published N (curves, accuracy_curves), the hand-built model under interference (handbuilt: dims, acc
    [dims, seeds], orthonormal dim, orthonormal accuracy), the margin shares and neurons per fact of the model
    at capacity (inner: shares, neurons_per_fact, n_facts, m, d, facts_per_neuron; None: blank) and AND-ness
    across widths (widths: rows with facts_per_neuron, and_fraction, and_score_median,
    neurons_per_fact_median; empty: blank). titles: the first three panels' titles, then the last one's."""
    from superpose.plots.core import save

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    capacity_axes(axes[0, 0], series)
    accuracy_curves(axes[0, 1], curves, threshold)
    handbuilt_interference(axes[0, 2], *handbuilt)
    for ax, title in zip((axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 2]), titles):
        ax.set_title(title, fontsize=9)
    if inner is not None:
        title = f"at capacity: {inner['n_facts']} facts, m={inner['m']}, d={inner['d']}: share of each margin"
        share_heatmap(axes[1, 0], inner["shares"], title=title)
        count_histogram(
            axes[1, 1], inner["neurons_per_fact"], "neurons per fact (participation)", ylabel="facts"
        )
        axes[1, 1].set_title(
            f"median {np.median(inner['neurons_per_fact']):.1f} neurons per fact; "
            f"{inner['facts_per_neuron']:.0f} facts per neuron",
            fontsize=9,
        )
    if widths:
        column = lambda key: np.array([r[key] for r in widths])  # noqa: E731
        and_across_widths(
            axes[1, 2],
            *(
                column(k)
                for k in ("facts_per_neuron", "and_fraction", "and_score_median", "neurons_per_fact_median")
            ),
        )
    else:
        axes[1, 2].set_axis_off()
    fig.suptitle("Facts in superposition: a fact-lookup MLP over random token embeddings", fontsize=11)
    fig.tight_layout()
    return save(fig, path, dpi=90)  # the noisy heatmap makes a large PNG at 110


def forming_figure(path: str, shares, steps, acc, log_steps, loss, title: str):
    """Five snapshots of the margin shares [k, m, N] as fact storage forms (forming_stages; accuracy acc [k]
    at step steps [k]) beside the cross-entropy loss [logs] against log_steps."""
    from superpose.plots.core import save

    picks = sorted({int(round(p)) for p in np.linspace(0, len(steps) - 1, 5)})
    fig, axes = plt.subplots(1, len(picks) + 1, figsize=(2.3 * (len(picks) + 1), 2.5))
    forming_stages(axes[:-1], shares, steps, acc, picks)
    axes[-1].plot(log_steps, loss, lw=1)
    axes[-1].set_xscale("log")
    axes[-1].set_yscale("log")
    axes[-1].set_xlabel("step", fontsize=7)
    axes[-1].set_ylabel("loss", fontsize=7)
    axes[-1].set_title("cross-entropy", fontsize=8)
    axes[-1].tick_params(labelsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, path)


def capacity_panels(table: dict, published_n) -> tuple[list[dict], list[tuple]]:
    """(series for capacity_axes, curves for accuracy_curves) from a capacity table (superpose.facts.
    capacity_table: per setting its cells with measure, capacity +- se, status, tried; its constant +- se
    and published law) and published_n(setting, measure) -> N, the published law's line."""
    series = []
    for setting, res in table.items():
        x = np.array([r["measure"] for r in res["cells"]], np.float64)
        se = "" if res["constant_se"] is None else f" ± {res['constant_se']:.3f}"
        line_x = np.geomspace(x.min() / 1.5, x.max() * 1.5, 50)
        series.append(
            {
                "label": f"{setting}: ours {res['constant']:.3f}{se}, published {res['published']}",
                "color": SETTING_COLORS[setting],
                "x": x,
                "n": [r["capacity"] for r in res["cells"]],
                "n_se": [r["capacity_se"] or 0.0 for r in res["cells"]],
                "censored": [r["status"] != "ok" for r in res["cells"]],
                "line_x": line_x,
                "line_n": published_n(setting, line_x),
            }
        )
    curves = [
        (
            f"d={r['d']} m={r['m']}",
            [np.array([n for n, _ in t]) / r["published"] for t in r["tried"]],
            [np.array([a for _, a in t]) for t in r["tried"]],
        )
        for r in table["and32"]["cells"]
    ]
    return series, curves
