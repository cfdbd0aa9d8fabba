"""Paper E12 (second half): six features in three dimensions, as two correlated triples, end as an octahedron.

The ReLU-output model, n = 6, m = 3, I = 1, trained on two correlated sets of three features (features 0-2
and 3-5; superpose.data.Correlated(3): members of a set are active together, each set with probability
`density`). Published: the model first learns a PCA-like linear solution, then passes through nonlinear
stages; the final attractor is an octahedron whose antipodal pairs join features of different sets; some
runs go directly through an antiprism-like configuration. Several seeds train in one grid; each keeps a few
hundred weight snapshots, from which every snapshot's geometry is classified.

Stage labels (superpose.analysis.sets.triples_stage, one snapshot; the comment above it defines them):
octahedron, antiprism (both sets orthogonal triads, one twisted against the other), PC1 (all six along one
direction), PCA (both sets collapsed onto different directions), init (all small), 1 set split, k pairs. PC1
and PCA are the "PCA-like" stages. A stage is a run of at least `min_stage_frames` snapshots with one label;
shorter flickers between stages are dropped, and two runs of one label around a flicker merge. The "0 pairs"
plateau, the longest before the octahedron, is the geometry that stays final at density 0.2: in each set two
members orthogonal and the third between them (cos ~0.65 with both).

Measured at the defaults (32 seeds): all end as the octahedron and all start PCA-like; 22 take the path
init -> PCA -> 1 set split -> 0 pairs -> 2 pairs -> antiprism -> octahedron (5 with PC1 before PCA), and 2
go from pairs straight to the octahedron: most pass through the antiprism-like configuration, a few directly.

Why W starts small (init_scale = 0.03 of the library's Xavier-normal std): from the library's init (column
norms ~0.8) the model skips the PCA-like stage; the later stages are the same. Measured on 32 seeds (first
learned stage PC1 or PCA): 0 of 32 from the full-size init, 3 of 32 from 0.2, 32 of 32 from 0.1 and from 0.03.
The paper's notebook initialises Xavier-normal on the whole [instances, n, m] tensor, whose std falls with the
instance count, so its models also start smaller than one-model Xavier.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose import Study, plots
from superpose.analysis import sets
from superpose.analysis.dynamics import stage_path as labelled_path
from superpose.config import snapshot_schedule
from superpose.data import Correlated
from superpose.lab import Experiment, main
from superpose.lab.fields import count, fraction, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.plots import stages as stage_plots
from superpose.plots.geometry import set_colors

N_FEATURES, N_HIDDEN, SET_SIZE = 6, 3, 3
STAGES = [sets.INIT, sets.PC1, sets.PCA, sets.SPLIT, *map(sets.pairs_label, range(4)), sets.ANTIPRISM]
COLORS = [
    "0.8",
    "tab:purple",
    "tab:blue",
    "tab:cyan",
    "tab:olive",
    "khaki",
    "tab:brown",
    "tab:pink",
    "tab:orange",
]
STAGE_COLORS = dict(zip(STAGES, COLORS)) | {sets.OCTAHEDRON: "tab:green"}


@dataclasses.dataclass(frozen=True)
class ScaledInitReluOutput(ReluOutput):
    """The ReLU-output model (x' = ReLU(W^T W x + b)) whose W starts at init_scale x Xavier-normal."""

    init_scale: float = 1.0

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        params = super().init(key, n_features, n_hidden)
        return {**params, "W": params["W"] * self.init_scale}


@dataclasses.dataclass(frozen=True)
class Config:
    density: float = probability(0.1)  # final octahedron: 32/32 seeds at 0.03-0.12, 15/32 at 0.15, 0 at 0.2
    init_scale: float = positive(0.03)  # W starts at 0.03 x Xavier: the PCA-like stage shows (module doc)
    n_seeds: int = count(32)  # fits in one grid; the lowest final loss is the run shown
    n_steps: int = steps(15_000)  # measured: the slowest of 64 seeds became the octahedron at ~10,500
    batch_size: int = count(1024)
    lr: float = positive(1e-3)  # 3e-3: the same stages 2.5x sooner; 3e-4: still antiprism at 15,000
    n_frames: int = count(300)  # snapshots per seed: the shortest stage (~450 steps) spans ~5
    frame_every: int = count(10)  # snapshots fall on multiples of this many steps (the loss-log window)
    dense_until: float = probability(0.1)  # log-spaced frames up to this fraction of n_steps, then even
    min_stage_frames: int = count(3)  # a stage lasts at least this many snapshots (shorter: a flicker)
    min_octahedron_fraction: float = fraction(0.75)  # of the seeds whose final weights must be the octahedron
    seed: int = seed(0)  # root seed

    def __post_init__(self) -> None:
        if self.n_steps % self.frame_every:
            raise ValueError(
                f"n_steps ({self.n_steps}) must be a multiple of frame_every ({self.frame_every})"
            )


# Quick: 4 seeds of 10,000 steps (these 4 become the octahedron by step ~6,000; of 64 seeds measured, one
# needed ~10,500) with 200 snapshots each; the checks and their thresholds are the full-scale ones.
QUICK = {"n_seeds": 4, "n_steps": 10_000, "n_frames": 200}
# The GIF shows the snapshots thinned evenly to this many frames: measured, 250 frames made 1.78 MB and 200
# make 1.45 MB (the README's limit is 2 MB).
GIF_FRAMES = 200


def train(cfg: Config, ctx) -> dict:
    snapshots = snapshot_schedule(cfg.n_steps, cfg.n_frames, cfg.frame_every, cfg.dense_until)
    study = Study(
        ScaledInitReluOutput(init_scale=cfg.init_scale),
        {"seed": np.arange(cfg.n_seeds)},
        config={"n_features": N_FEATURES, "n_hidden": N_HIDDEN, "batch_size": cfg.batch_size}
        | {"n_steps": cfg.n_steps, "log_every": cfg.frame_every, "snapshot_steps": snapshots},
        sampler=Correlated(SET_SIZE),
        hyper={"feature_prob": cfg.density, "importance": 1.0, "lr": cfg.lr},
        root_seed=cfg.seed,
    )
    return ctx.study("main", study).to_arrays()


def stage_path(W_frames: np.ndarray, steps: np.ndarray, min_frames: int) -> list[dict]:
    """W_frames [k, 3, 6] at steps [k] -> [{label, step (first frame's), frames (first, last)}, ...]: the runs of
    at least min_frames snapshots of one `classify` label, flickers dropped (superpose.analysis.dynamics)."""
    return labelled_path(sets.triples_stage, W_frames, steps, min_frames)


def describe(path: list[dict]) -> str:
    return " -> ".join(f"{s['label']} @{s['step']:,}" for s in path)


def stages_before_octahedron(path: list[dict]) -> list[str]:
    """Labels of the learned stages (init excluded) before the first octahedron stage."""
    labels = [s["label"] for s in path]
    end = labels.index(sets.OCTAHEDRON) if sets.OCTAHEDRON in labels else len(labels)
    return [label for label in labels[:end] if label != sets.INIT]


def first_learned(path: list[dict]) -> str | None:
    return next((s["label"] for s in path if s["label"] != sets.INIT), None)


def shown_instance(arrays: dict) -> int:
    """The run the figures and checks show: the lowest final loss."""
    return int(np.argmin(arrays["final_loss"]))


def analyze(cfg: Config, arrays: dict) -> dict:
    steps_k = arrays["snapshot_steps"]
    paths = [stage_path(Ws, steps_k, cfg.min_stage_frames) for Ws in arrays["snapshot_W"]]
    final_octa = [sets.is_octahedron(W) for W in arrays["W"]]
    i = shown_instance(arrays)
    W, path = arrays["W"][i], paths[i]
    report = sets.octahedron_report(W)
    before = stages_before_octahedron(path)
    n_seeds = len(final_octa)
    pca_first = [first_learned(p) in sets.PCA_LIKE for p in paths]
    via_antiprism = [sets.ANTIPRISM in stages_before_octahedron(p) for p in paths]
    twist = None
    antiprism = [s for s in path if s["label"] == sets.ANTIPRISM]
    if antiprism:
        first, last = antiprism[0]["frames"]
        axis_cos, deg = sets.triad_twist(arrays["snapshot_W"][i][(first + last) // 2])
        step = int(steps_k[(first + last) // 2])
        twist = {"step": step, "axis_cos": round(axis_cos, 3), "twist_deg": round(deg, 1)}
    pairs_text = ", ".join(f"({a},{b}) {c:.3f}" for (a, b), c in zip(report["pairs"], report["pair_cos"]))
    checks = [
        (
            f"seed {int(arrays['seed'][i])} (lowest loss): three antipodal pairs",
            bool(report["represented"] == N_FEATURES and len(report["pairs"]) == 3),
            f"{report['represented']} represented; pairs (features, cos): {pairs_text or 'none'}",
            f"6 represented, 3 mutual pairs with cos < {sets.ANTIPODAL_COS}",
        ),
        (
            "each antipodal pair joins a feature of each set",
            bool(len(report["pairs"]) == 3 and all(report["cross_set"])),
            f"{sum(report['cross_set'])} of {len(report['pairs'])} pairs cross the sets (set A = 0-2, B = 3-5)",
            "3 of 3",
        ),
        (
            "the three pair axes are mutually orthogonal",
            bool(len(report["pairs"]) == 3 and report["axes_cos"] < sets.AXES_COS),
            f"max |cos| between axes {report['axes_cos']:.3f}",
            f"< {sets.AXES_COS}",
        ),
        (
            "seeds whose final weights are the octahedron",
            bool(np.mean(final_octa) >= cfg.min_octahedron_fraction),
            f"{int(np.sum(final_octa))} of {n_seeds}",
            f">= {cfg.min_octahedron_fraction:.0%} of the seeds",
        ),
        (
            "the shown run passes through at least 2 geometries before the octahedron",
            bool(path and path[-1]["label"] == sets.OCTAHEDRON and len(before) >= 2),
            f"{len(before)} learned stages before it, {len({s['label'] for s in path})} distinct "
            f"labels (init included): {describe(path)}",
            "ends in the octahedron, >= 2 learned stages before it",
        ),
        (
            "the first geometry learned is PCA-like (sets collapsed onto principal directions)",
            bool(pca_first[i]),
            f"shown run: {first_learned(path)}; seeds starting PCA-like: {sum(pca_first)} of {n_seeds}",
            f"shown run: one of {list(sets.PCA_LIKE)}",
        ),
    ]
    checks = [dict(zip(("name", "passed", "value", "expected"), c), passed=bool(c[1])) for c in checks]
    return {
        "experiment": "octahedron",
        "shown_seed": int(arrays["seed"][i]),
        "shown_final_loss": float(arrays["final_loss"][i]),
        "shown_stages": [{"label": s["label"], "step": s["step"]} for s in path],
        "shown_antiprism_twist": twist,
        "seeds_final_octahedron": int(np.sum(final_octa)),
        "seeds_pca_first": int(np.sum(pca_first)),
        "seeds_via_antiprism": int(np.sum(via_antiprism)),
        "paths": {int(s): describe(p) for s, p in zip(arrays["seed"], paths)},
        "checks": checks,
    }


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    i = shown_instance(arrays)
    steps_k, log_steps = arrays["snapshot_steps"], arrays["log_steps"]
    paths = [stage_path(Ws, steps_k, cfg.min_stage_frames) for Ws in arrays["snapshot_W"]]
    path = paths[i]
    colors = set_colors(N_FEATURES, SET_SIZE)
    n_cols = max(len(path), 1)
    fig = plt.figure(figsize=(max(8.0, 1.3 * n_cols), 8.0))
    grid = fig.add_gridspec(3, n_cols, height_ratios=[1.4, 1.2, 1.2], hspace=0.4, top=0.93)
    ax = fig.add_subplot(grid[0, :])
    others = np.delete(arrays["loss"], i, axis=0)
    stages = [(s["label"], s["step"]) for s in path]
    stage_plots.stage_timeline(ax, log_steps, arrays["loss"][i], stages, STAGE_COLORS, others)
    ax.set(
        title=f"seed {int(arrays['seed'][i])} (lowest final loss; other seeds grey): its stages", xlabel=""
    )
    ax.title.set_fontsize(9)
    raster = fig.add_subplot(grid[1, :], sharex=ax)
    every = [[(s["label"], s["step"]) for s in p] for p in paths]
    stage_plots.stage_raster(raster, every, float(log_steps[-1]), STAGE_COLORS, first_step=log_steps[0])
    raster.set_yticks([])
    raster.set_ylabel(f"{len(paths)} seeds", fontsize=8)
    for j, stage in enumerate(path):
        mid = sum(stage["frames"]) // 2
        sub, title = fig.add_subplot(grid[2, j], projection="3d"), f"{stage['label']}\nstep {steps_k[mid]:,}"
        stage_plots.features_3d(sub, arrays["snapshot_W"][i][mid], colors, title=title)
    fig.suptitle(
        f"E12: 6 features in 3-D as two correlated triples (density {cfg.density}); below: seed "
        f"{int(arrays['seed'][i])} mid-stage (blue: set A, orange: set B)",
        fontsize=9,
    )
    out = [plots.save(fig, f"{out_dir}/octahedron_stages.png", dpi=80)]

    W = arrays["W"][i]
    fig = plt.figure(figsize=(6.0, 3.0))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    r = sets.octahedron_report(W)
    stage_plots.features_3d(
        ax3, W, colors, edges=sets.octahedron_edges(W), title=f"final W: pairs {r['pairs']}", azim=35, elev=25
    )
    ax2 = fig.add_subplot(1, 2, 2)
    plots.gram_heatmap(ax2, W, title="$W^TW$ (A = 0-2, B = 3-5)")
    fig.suptitle(f"the octahedron, seed {int(arrays['seed'][i])}: antipodal pairs join the sets", fontsize=9)
    out.append(plots.save(fig, f"{out_dir}/octahedron.png", dpi=90))
    return out


def animate(cfg: Config, arrays: dict, out_dir, options) -> list:
    """The octahedron forming: the shown run (or the chosen instances), rotating in 3-D beside its loss, on at
    most GIF_FRAMES of the snapshots."""
    from superpose.plots.animation import Panel, geometry_animation

    chosen = options.instances if options.instances is not None else (shown_instance(arrays),)
    colors = set_colors(N_FEATURES, SET_SIZE)
    k = arrays["snapshot_steps"].size
    keep = np.unique(np.linspace(0, k - 1, min(k, GIF_FRAMES)).round().astype(int))  # keeps the last frame
    W, loss, seeds = arrays["snapshot_W"], arrays["loss"], arrays["seed"]
    panels = [Panel(W[i][keep], title=f"seed {int(seeds[i])}", colors=colors, loss=loss[i]) for i in chosen]
    labels = None
    if len(chosen) == 1:  # one run: name the stage it is in on every frame (the debounced stages)
        stages = stage_path(arrays["snapshot_W"][chosen[0]], arrays["snapshot_steps"], cfg.min_stage_frames)
        labels = [next((s["label"] for s in reversed(stages) if s["frames"][0] <= f), "") for f in keep]
    path = geometry_animation(
        f"{out_dir}/octahedron_forming",
        panels,
        arrays["snapshot_steps"][keep],
        arrays["log_steps"],
        title="two correlated triples -> octahedron",
        frame_labels=labels,
        fps=options.fps,
        fmt=options.format,
        progress=options.progress,
    )
    return [path]


EXPERIMENT = Experiment(
    "octahedron", Config, train, analyze, plot, QUICK, description=__doc__, animate=animate
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
