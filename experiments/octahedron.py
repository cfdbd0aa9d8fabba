"""Paper E12 (second half): six features in three dimensions, as two correlated triples, end as an octahedron.

The ReLU-output model, n = 6, m = 3, I = 1, trained on two correlated sets of three features (features 0-2
and 3-5; superpose.data.Correlated(3): members of a set are active together, each set with probability
`density`). Published: the model first learns a PCA-like linear solution, then passes through nonlinear
stages; the final attractor is an octahedron whose antipodal pairs join features of different sets; some
runs go directly through an antiprism-like configuration. Several seeds train in one grid; each keeps a few
hundred weight snapshots, from which every snapshot's geometry is classified.

Stage labels (`classify`, one snapshot; the first that applies wins). Cosines are between feature directions;
a set is "collapsed" when every pair of its members has cos > 0.9 (it is carried by one direction, as a
principal component carries it), an "orthogonal triad" when every pair has |cos| < 0.2; a feature is
represented when ||W_i|| > 0.5; antipodal pairs are mutually most-opposite features with cos < -0.9.
  octahedron     all six represented, three antipodal pairs, each of one feature from each set, and the
                 three pair axes mutually orthogonal (|cos| < 0.1)
  antiprism      both sets orthogonal triads and all six represented, but not the octahedron: measured, the
                 triads' mean directions are then opposite (cos -> -1) and one triad is twisted about that
                 axis against the other (`triad_twist`), i.e. a triangular antiprism whose twist closes to
                 the octahedron's
  PC1            all six features along one direction (every cos > 0.9): the data's top principal component
  PCA            both sets collapsed, onto different directions: one direction per set
  init           every ||W_i|| < 0.5 (and not PC1 or PCA): the small random start, not yet collapsed
  1 set split    one set collapsed, the other spread out
  k pairs        none of the above (sets spread, neither collapsed nor orthogonal); k = 0..3 antipodal pairs
                 across the sets (3 pairs: an octahedron not yet square)
PC1 and PCA are the "PCA-like" stages. Pairs count as antipodal at cos < -0.9, so an antiprism twisted by
less than ~32 degrees (1/3 + 2/3 cos(twist) > 0.9) already counts as the octahedron. The "0 pairs" plateau,
the longest before the octahedron, is the geometry that stays final at density 0.2: in each set two members
orthogonal and the third between them (cos ~0.65 with both). A stage is a run of at least `min_stage_frames` snapshots with one
label; shorter flickers between stages are dropped, and two runs of one label around a flicker merge.

Measured at the defaults (32 seeds): all end as the octahedron and all start PCA-like; 22 take the path
init -> PCA -> 1 set split -> 0 pairs -> 2 pairs -> antiprism -> octahedron (5 with PC1 before PCA), and 2
skip the antiprism, going from pairs straight to the octahedron, so here most runs pass through the
antiprism-like configuration on their way to the octahedron and a few go directly.

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

from superpose import metrics, plots
from superpose.config import TrainConfig, make_hyper, snapshot_schedule
from superpose.data import Correlated
from superpose.lab import Experiment, main
from superpose.lab.fields import count, fraction, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.plots import stages as stage_plots
from superpose.plots.geometry import set_colors
from superpose.sweep import Grid, Sweep

N_FEATURES, N_HIDDEN, SET_SIZE = 6, 3, 3
REPRESENTED = 0.5  # ||W_i|| above this: the feature is represented
ANTIPODAL_COS = -0.9  # a pair with cos below this is antipodal
AXES_COS = 0.1  # octahedron: the three pair axes mutually |cos| below this
COLLAPSED_COS = 0.9  # a set whose members all have cos above this is carried by one direction
TRIAD_COS = 0.2  # a set whose members all have |cos| below this is an orthogonal triad

OCTAHEDRON, ANTIPRISM, PC1, PCA, SPLIT, INIT = "octahedron", "antiprism", "PC1", "PCA", "1 set split", "init"
PCA_LIKE = (PC1, PCA)


def pairs_label(k: int) -> str:
    return f"{k} pair{'' if k == 1 else 's'}"


STAGE_COLORS = {
    INIT: "0.8",
    PC1: "tab:purple",
    PCA: "tab:blue",
    SPLIT: "tab:cyan",
    pairs_label(0): "tab:olive",
    pairs_label(1): "khaki",
    pairs_label(2): "tab:brown",
    pairs_label(3): "tab:pink",
    ANTIPRISM: "tab:orange",
    OCTAHEDRON: "tab:green",
}


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
    grid = Grid(seed=np.arange(cfg.n_seeds))
    hyper = make_hyper(grid.size, N_FEATURES, feature_prob=cfg.density, importance=1.0, lr=cfg.lr)
    train_cfg = TrainConfig(
        N_FEATURES,
        N_HIDDEN,
        batch_size=cfg.batch_size,
        n_steps=cfg.n_steps,
        log_every=cfg.frame_every,
        snapshot_steps=snapshot_schedule(cfg.n_steps, cfg.n_frames, cfg.frame_every, cfg.dense_until),
    )
    model = ScaledInitReluOutput(init_scale=cfg.init_scale)
    result = ctx.sweep(
        "main", Sweep(model, Correlated(SET_SIZE), train_cfg, hyper, grid.coords["seed"], cfg.seed)
    )
    return {
        "W": result.params["W"],
        "b": result.params["b"],
        "loss": result.loss,
        "log_steps": result.log_steps,
        "final_loss": result.final_loss,
        "snapshot_W": result.snapshots["W"],
        "snapshot_b": result.snapshots["b"],
        "snapshot_steps": result.snapshot_steps,
        "seed": grid.coords["seed"],
    }


# --- geometry of one W [3, 6] --------------------------------------------------------------------------


def antipodal_partners(W: np.ndarray, cos_max: float = ANTIPODAL_COS) -> list[tuple[int, int]]:
    """Pairs (i < j) of features that are each other's most opposite feature, with cos < cos_max."""
    c = metrics.cosines(W)
    np.fill_diagonal(c, np.inf)
    partner = c.argmin(axis=1)
    return [(i, int(j)) for i, j in enumerate(partner) if i < j and partner[j] == i and c[i, j] < cos_max]


def pair_axes_cos(W: np.ndarray, pairs: list[tuple[int, int]]) -> float:
    """Largest |cos| between the axes W_i/|W_i| - W_j/|W_j| of the given pairs (nan for fewer than two)."""
    if len(pairs) < 2:
        return float("nan")
    U = W / np.maximum(metrics.feature_norms(W), metrics.EPS)
    axes = np.stack([U[:, i] - U[:, j] for i, j in pairs])
    axes /= np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), metrics.EPS)
    g = np.abs(axes @ axes.T)
    return float(g[np.triu_indices(len(pairs), 1)].max())


def octahedron_report(W: np.ndarray) -> dict:
    """What the octahedron checks read: represented count, antipodal pairs with their cosines, whether each
    pair joins the two sets, and the largest |cos| between pair axes."""
    W = np.asarray(W, dtype=np.float64)
    pairs = antipodal_partners(W)
    c = metrics.cosines(W)
    return {
        "represented": int(metrics.represented(W, REPRESENTED).sum()),
        "pairs": pairs,
        "pair_cos": [float(c[i, j]) for i, j in pairs],
        "cross_set": [i // SET_SIZE != j // SET_SIZE for i, j in pairs],
        "axes_cos": pair_axes_cos(W, pairs),
    }


def is_octahedron(W: np.ndarray) -> bool:
    r = octahedron_report(W)
    return (
        r["represented"] == N_FEATURES
        and len(r["pairs"]) == 3
        and all(r["cross_set"])
        and r["axes_cos"] < AXES_COS
    )


def in_set_cosines(W: np.ndarray) -> np.ndarray:
    """[n_sets, 3] cosines between the distinct members of each set."""
    c = metrics.cosines(W)
    iu = np.triu_indices(SET_SIZE, 1)
    return np.stack([c[s : s + SET_SIZE, s : s + SET_SIZE][iu] for s in range(0, W.shape[1], SET_SIZE)])


def classify(W: np.ndarray) -> str:
    """The stage label of one snapshot W [3, 6] (module docstring)."""
    W = np.asarray(W, dtype=np.float64)
    if is_octahedron(W):
        return OCTAHEDRON
    within = in_set_cosines(W)
    collapsed = within.min(axis=1) > COLLAPSED_COS
    triads = np.abs(within).max(axis=1) < TRIAD_COS
    norms = metrics.feature_norms(W)
    if triads.all() and (norms > REPRESENTED).all():
        return ANTIPRISM
    if metrics.cosines(W)[np.triu_indices(W.shape[1], 1)].min() > COLLAPSED_COS:
        return PC1
    if collapsed.all():
        return PCA
    if (norms < REPRESENTED).all():
        return INIT
    if collapsed.any():
        return SPLIT
    return pairs_label(sum(octahedron_report(W)["cross_set"]))


def triad_twist(W: np.ndarray) -> tuple[float, float]:
    """(cos between the two sets' mean directions, twist in degrees): the twist is the mean angle, about set
    A's mean direction, between each member of A and its nearest member of -B. An octahedron whose pairs
    join the sets: (-1, 0); a triangular antiprism: cos near -1 and a twist in (0, 60)."""
    U = np.asarray(W, np.float64) / np.maximum(metrics.feature_norms(W), metrics.EPS)
    a, b = U[:, :SET_SIZE], -U[:, SET_SIZE:]
    axis = a.sum(axis=1) / max(np.linalg.norm(a.sum(axis=1)), metrics.EPS)
    axis_cos = float(axis @ (-b.sum(axis=1)) / max(np.linalg.norm(b.sum(axis=1)), metrics.EPS))

    def flat(v):
        p = v - np.outer(axis, axis @ v)
        return p / np.maximum(np.linalg.norm(p, axis=0), metrics.EPS)

    angles = np.degrees(np.arccos(np.clip(flat(a).T @ flat(b), -1.0, 1.0)))
    return axis_cos, float(angles.min(axis=1).mean())


# --- stages of a trajectory ----------------------------------------------------------------------------


def debounce(labels: list[str], min_frames: int) -> list[tuple[str, int, int]]:
    """(label, first frame, last frame) of each run of at least min_frames equal labels, in order; shorter
    runs are dropped, and runs of one label that only a dropped flicker separates merge into one."""
    runs: list[list] = []
    for i, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = i
        else:
            runs.append([label, i, i])
    stable: list[list] = []
    for label, first, last in runs:
        if last - first + 1 < min_frames:
            continue
        if stable and stable[-1][0] == label:
            stable[-1][2] = last
        else:
            stable.append([label, first, last])
    return [(label, first, last) for label, first, last in stable]


def stage_path(W_frames: np.ndarray, steps: np.ndarray, min_frames: int) -> list[dict]:
    """W_frames [k, 3, 6] at steps [k] -> [{label, step (first frame's), frames (first, last)}, ...]."""
    labels = [classify(W) for W in W_frames]
    return [
        {"label": label, "step": int(steps[first]), "frames": (first, last)}
        for label, first, last in debounce(labels, min_frames)
    ]


def describe(path: list[dict]) -> str:
    return " -> ".join(f"{s['label']} @{s['step']:,}" for s in path)


def stages_before_octahedron(path: list[dict]) -> list[str]:
    """Labels of the learned stages (init excluded) before the first octahedron stage."""
    labels = [s["label"] for s in path]
    end = labels.index(OCTAHEDRON) if OCTAHEDRON in labels else len(labels)
    return [label for label in labels[:end] if label != INIT]


def first_learned(path: list[dict]) -> str | None:
    return next((s["label"] for s in path if s["label"] != INIT), None)


# --- analysis ------------------------------------------------------------------------------------------


def shown_instance(arrays: dict) -> int:
    """The run the figures and checks show: the lowest final loss."""
    return int(np.argmin(arrays["final_loss"]))


def analyze(cfg: Config, arrays: dict) -> dict:
    steps_k = arrays["snapshot_steps"]
    paths = [stage_path(Ws, steps_k, cfg.min_stage_frames) for Ws in arrays["snapshot_W"]]
    final_octa = [is_octahedron(W) for W in arrays["W"]]
    i = shown_instance(arrays)
    W, path = arrays["W"][i], paths[i]
    report = octahedron_report(W)
    before = stages_before_octahedron(path)
    n_seeds = len(final_octa)
    pca_first = [first_learned(p) in PCA_LIKE for p in paths]
    via_antiprism = [ANTIPRISM in stages_before_octahedron(p) for p in paths]
    twist = None
    antiprism = [s for s in path if s["label"] == ANTIPRISM]
    if antiprism:
        first, last = antiprism[0]["frames"]
        axis_cos, deg = triad_twist(arrays["snapshot_W"][i][(first + last) // 2])
        twist = {
            "step": int(steps_k[(first + last) // 2]),
            "axis_cos": round(axis_cos, 3),
            "twist_deg": round(deg, 1),
        }
    pairs_text = ", ".join(f"({a},{b}) {c:.3f}" for (a, b), c in zip(report["pairs"], report["pair_cos"]))
    checks = [
        {
            "name": f"seed {int(arrays['seed'][i])} (lowest loss): three antipodal pairs",
            "passed": bool(report["represented"] == N_FEATURES and len(report["pairs"]) == 3),
            "value": f"{report['represented']} represented; pairs (features, cos): {pairs_text or 'none'}",
            "expected": f"6 represented, 3 mutual pairs with cos < {ANTIPODAL_COS}",
        },
        {
            "name": "each antipodal pair joins a feature of each set",
            "passed": bool(len(report["pairs"]) == 3 and all(report["cross_set"])),
            "value": f"{sum(report['cross_set'])} of {len(report['pairs'])} pairs cross the sets (set A = 0-2, B = 3-5)",
            "expected": "3 of 3",
        },
        {
            "name": "the three pair axes are mutually orthogonal",
            "passed": bool(len(report["pairs"]) == 3 and report["axes_cos"] < AXES_COS),
            "value": f"max |cos| between axes {report['axes_cos']:.3f}",
            "expected": f"< {AXES_COS}",
        },
        {
            "name": "seeds whose final weights are the octahedron",
            "passed": bool(np.mean(final_octa) >= cfg.min_octahedron_fraction),
            "value": f"{int(np.sum(final_octa))} of {n_seeds}",
            "expected": f">= {cfg.min_octahedron_fraction:.0%} of the seeds",
        },
        {
            "name": "the shown run passes through at least 2 geometries before the octahedron",
            "passed": bool(path and path[-1]["label"] == OCTAHEDRON and len(before) >= 2),
            "value": f"{len(before)} learned stages before it, {len({s['label'] for s in path})} distinct "
            f"labels (init included): {describe(path)}",
            "expected": "ends in the octahedron, >= 2 learned stages before it",
        },
        {
            "name": "the first geometry learned is PCA-like (sets collapsed onto principal directions)",
            "passed": bool(pca_first[i]),
            "value": f"shown run: {first_learned(path)}; seeds starting PCA-like: {sum(pca_first)} of {n_seeds}",
            "expected": f"shown run: one of {list(PCA_LIKE)}",
        },
    ]
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


# --- figures -------------------------------------------------------------------------------------------


def octahedron_edges(W: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of features that are neither antipodal nor parallel (|cos| < 0.5): an octahedron's 12 edges."""
    c = metrics.cosines(W)
    n = W.shape[1]
    return [(i, j) for i in range(n) for j in range(i + 1, n) if abs(c[i, j]) < 0.5]


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
    stage_plots.stage_timeline(
        ax,
        log_steps,
        arrays["loss"][i],
        [(s["label"], s["step"]) for s in path],
        STAGE_COLORS,
        np.delete(arrays["loss"], i, axis=0),
    )
    ax.set_title(
        f"seed {int(arrays['seed'][i])} (lowest final loss; other seeds grey): its stages", fontsize=9
    )
    ax.set_xlabel("")
    raster = fig.add_subplot(grid[1, :], sharex=ax)
    stage_plots.stage_raster(
        raster,
        [[(s["label"], s["step"]) for s in p] for p in paths],
        float(log_steps[-1]),
        STAGE_COLORS,
        first_step=float(log_steps[0]),
    )
    raster.set_yticks([])
    raster.set_ylabel(f"{len(paths)} seeds", fontsize=8)
    for j, stage in enumerate(path):
        first, last = stage["frames"]
        mid = (first + last) // 2
        sub = fig.add_subplot(grid[2, j], projection="3d")
        stage_plots.features_3d(
            sub, arrays["snapshot_W"][i][mid], colors, title=f"{stage['label']}\nstep {steps_k[mid]:,}"
        )
    fig.suptitle(
        f"E12: 6 features in 3-D as two correlated triples (density {cfg.density}); below: seed "
        f"{int(arrays['seed'][i])} mid-stage (blue: set A, orange: set B)",
        fontsize=9,
    )
    out = [plots.save(fig, f"{out_dir}/octahedron_stages.png", dpi=80)]

    W = arrays["W"][i]
    fig = plt.figure(figsize=(6.0, 3.0))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    r = octahedron_report(W)
    stage_plots.features_3d(
        ax3, W, colors, edges=octahedron_edges(W), title=f"final W: pairs {r['pairs']}", azim=35, elev=25
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
    panels = [
        Panel(
            arrays["snapshot_W"][i][keep],
            title=f"seed {int(arrays['seed'][i])}",
            colors=colors,
            loss=arrays["loss"][i],
        )
        for i in chosen
    ]
    labels = None
    if len(chosen) == 1:  # one run: name the stage it is in on every frame (the debounced stages)
        stages = stage_path(arrays["snapshot_W"][chosen[0]], arrays["snapshot_steps"], cfg.min_stage_frames)
        now = [""] * k
        for s in stages:
            for f in range(s["frames"][0], k):
                now[f] = s["label"]
        labels = [now[f] for f in keep]
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
