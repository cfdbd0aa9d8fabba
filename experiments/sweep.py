"""A generic sweep: any registered model and sampler over axes typed on one line (`superpose sweep`).

    superpose sweep --model relu_output --axis "density=logspace(0,-2,10)" --axis seed=0:4 --n-features 20

A Study (superpose.study) over the axes (grammar: superpose.lab.axes), stored like any experiment: config,
lineage, resumable sweeps, results.npz with every instance's coordinates, and weight snapshots (log-spaced,
`n_frames` of them) for `superpose animate`. There is no published claim to check: the summary reports, at
every grid point, the kept fit (lowest loss on shared samples over the seed axis), its loss on fresh samples,
D* = m / ||W||_F^2 and the features it represents (tied models), and how many fits diverged. Its one check,
when the seed axis holds several fits, can fail: every grid point kept a finite fit. Where an axis changes
the parameters' shapes (n_hidden, n_features), results.npz holds them zero-padded to the largest shape, and
each instance's own n_hidden and n_features coordinates say which block is real.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys

import numpy as np

from superpose import metrics
from superpose.config import snapshot_schedule
from superpose.lab import Experiment, main
from superpose.lab.axes import format_axes, parse_axes
from superpose.lab.fields import count, nonnegative, positive, seed, steps
from superpose.sweep import pick_best

MAX_PANELS = 40  # geometry panels in one figure; more grid points are thinned evenly
MAX_SERIES = 6  # D_i scatter figures (one per value of the axes other than density)


@dataclasses.dataclass(frozen=True)
class Config:
    model: str = "relu_output"  # a name in superpose.models.MODELS
    sampler: str = "default"  # a name in superpose.data.SAMPLERS; default: the model's own, else independent
    axes: str = "density=logspace(0,-2,10); seed=0:4"  # NAME=VALUES; NAME=VALUES (superpose.lab.axes)
    n_features: int = count(20)
    n_hidden: int = count(5)
    importance_ratio: float = positive(1.0)  # I_i = ratio**i, unless importance(_ratio) is an axis
    lr: float = positive(1e-3)
    weight_decay: float = nonnegative(0.01)
    optimizer: str = "adamw"  # a name in superpose.optim.OPTIMIZERS
    n_steps: int = steps(10_000)
    batch_size: int = count(1024)
    schedule: str = "constant"
    warmup_steps: int = count(0, minimum=0)
    log_every: int = count(10)  # the loss-log window; snapshots fall on its multiples
    chunk_steps: int | None = count(None)  # steps per compiled call (None: derived)
    eval_batches: int = count(8)
    eval_actives: int = count(200_000)
    max_eval_batches: int | None = count(None)
    rng: str = "hash"
    n_frames: int = count(50, minimum=0)  # weight snapshots per instance, log-spaced (0: none)
    seed: int = seed(0)  # root seed

    def __post_init__(self) -> None:
        study(self)  # every bad axis, name, value or model/sampler pair is refused here, before training


QUICK: dict = {}  # a sweep's size is what its axes say


def axes(cfg: Config) -> dict[str, np.ndarray]:
    """The study's axes in order: cfg.axes, then a one-value importance_ratio axis where the ratio is fixed
    (so it holds for any n_features)."""
    out = parse_axes(cfg.axes)
    if cfg.importance_ratio != 1.0 and not {"importance", "importance_ratio"} & set(out):
        out["importance_ratio"] = np.array([cfg.importance_ratio])
    return out


def study(cfg: Config):
    from superpose.study import CONFIG_FIELDS, Study

    grid = axes(cfg)
    fixed = {f: getattr(cfg, f) for f in CONFIG_FIELDS if hasattr(cfg, f) and f not in grid}
    if cfg.n_frames and not {"n_steps", "log_every"} & set(grid):
        fixed["snapshot_steps"] = snapshot_schedule(cfg.n_steps, cfg.n_frames, cfg.log_every)
    return Study(
        cfg.model,
        axes=grid,
        config=fixed,
        sampler=None if cfg.sampler == "default" else cfg.sampler,
        hyper={"lr": cfg.lr, "weight_decay": cfg.weight_decay},
        optimizer=cfg.optimizer,
        root_seed=cfg.seed,
    )


def train(cfg: Config, ctx) -> dict:
    spec = study(cfg)
    result = ctx.study("main", spec)
    arrays = result.to_arrays()  # params and snapshots only where every group has the same shapes
    for which, prefix in (("params", ""), ("snapshots", "snapshot_")):
        for name in getattr(result.groups[0].result, which):
            if f"{prefix}{name}" not in arrays:
                parts = [(g.index, getattr(g.result, which)[name]) for g in result.groups]
                arrays[f"{prefix}{name}"] = padded(parts)
    importance = [(index, spec.sweep(static, index).host_hyper.importance) for static, index in spec.groups()]
    arrays["importance"] = padded(importance)
    return arrays


def padded(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """[N, *largest shape]: each group's [n_group, ...] rows at its instances, zero beyond its own shape."""
    shape = np.max([p.shape[1:] for _, p in parts], axis=0)
    out = np.zeros((sum(len(i) for i, _ in parts), *shape), parts[0][1].dtype)
    for index, p in parts:
        out[(index, *(slice(0, s) for s in p.shape[1:]))] = p
    return out


# --- the grid points and their kept fits, from the arrays alone ----------------------------------------


def points(cfg: Config, arrays: dict) -> list[dict]:
    """One entry per point of the non-seed axes: coords, the kept fit's instance (None: every fit diverged),
    and the instances of all its fits."""
    from superpose.lab.store import RunError

    grid = axes(cfg)
    shape = tuple(v.size for v in grid.values())
    mesh = dict(zip(grid, (m.reshape(-1) for m in np.meshgrid(*grid.values(), indexing="ij"))))
    for name, values in mesh.items():
        if name not in arrays:
            raise KeyError(name)
        if not np.array_equal(arrays[name], values):
            raise RunError(
                f"results.npz's {name} coordinates are not those of the config's axes {cfg.axes!r}"
            )
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    fits = "seed" if "seed" in grid else None
    if fits is None:
        flat = flat[..., None]
    else:
        flat = np.moveaxis(flat, list(grid).index(fits), -1)
    others = [k for k in grid if k != fits]
    out = []
    for pos in itertools.product(*(range(grid[k].size) for k in others)):
        instances = flat[pos]
        pick = int(pick_best(np.asarray(arrays["select_loss"])[instances], axis=0))  # as StudyResult.best()
        kept = int(instances[pick]) if pick >= 0 else None
        coords = {k: grid[k][i].item() for k, i in zip(others, pos)}
        out.append({"coords": coords, "kept": kept, "instances": instances})
    return out


def weights(cfg: Config, arrays: dict, i: int, name: str = "W") -> np.ndarray:
    """Instance i's W [m, n] (or snapshots [k, m, n] for name="snapshot_W"), cut to its own shape."""
    m = int(arrays["n_hidden"][i]) if "n_hidden" in arrays else cfg.n_hidden
    n = int(arrays["n_features"][i]) if "n_features" in arrays else cfg.n_features
    return arrays[name][i][..., :m, :n]


def label(coords: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in coords.items())


def analyze(cfg: Config, arrays: dict) -> dict:
    pts = points(cfg, arrays)
    tied = "W" in arrays
    rows = []
    for p in pts:
        i = p["kept"]
        row = {**p["coords"], "diverged_fits": int(np.asarray(arrays["diverged"])[p["instances"]].sum())}
        if i is not None:
            if "seed" in arrays:
                row["kept_seed"] = int(arrays["seed"][i])
            row["final_loss"] = float(arrays["final_loss"][i])
            if tied:
                W = weights(cfg, arrays, i)
                row.update(
                    d_star=round(metrics.dimensions_per_feature(W), 4),
                    represented=int(metrics.represented(W).sum()),
                    n_features=W.shape[1],
                    n_hidden=W.shape[0],
                )
        rows.append(row)
    summary = {
        "experiment": "sweep",
        "model": cfg.model,
        "sampler": cfg.sampler,
        "axes": format_axes(axes(cfg)),
        "instances": int(np.asarray(arrays["final_loss"]).size),
        "diverged": int(np.asarray(arrays["diverged"]).sum()),
        "points": rows,
        "checks": [],
    }
    if "seed" in arrays and len(pts[0]["instances"]) > 1:  # else a diverged fit stops the run instead
        empty = [label(p["coords"]) or "the only point" for p in pts if p["kept"] is None]
        value = f"every fit diverged at {'; '.join(empty)}" if empty else f"{len(pts)} of {len(pts)}"
        summary["checks"].append(
            {
                "name": "every grid point kept a finite fit",
                "passed": not empty,
                "value": value,
                "expected": "at least one finite fit per point (else lower lr)",
            }
        )
    return summary


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    from superpose.plots import save, uniform
    from superpose.plots import sweep as figures

    pts = [p for p in points(cfg, arrays) if p["kept"] is not None]
    kept = [p["kept"] for p in pts]
    paths = []
    where = f"{cfg.model}, best of {len(pts[0]['instances'])} fit(s) per point" if pts else cfg.model
    if pts:
        losses = np.asarray(arrays["loss"])[kept]
        fig = figures.loss_curves(arrays["log_steps"], losses, [label(p["coords"]) for p in pts], where)
        paths.append(save(fig, f"{out_dir}/sweep_loss.png"))
    if "W" not in arrays or not pts:
        return paths  # the geometry figures draw tied models' W
    shown = np.unique(np.linspace(0, len(pts) - 1, min(len(pts), MAX_PANELS)).round().astype(int))
    fig = figures.geometry_grid(
        [weights(cfg, arrays, kept[j]) for j in shown],
        [label(pts[j]["coords"]) for j in shown],
        [arrays["importance"][kept[j]][: weights(cfg, arrays, kept[j]).shape[1]] for j in shown],
        title=where + ("" if len(shown) == len(pts) else f"; {len(shown)} of {len(pts)} points"),
    )
    paths.append(save(fig, f"{out_dir}/sweep_geometry.png"))
    if "density" not in pts[0]["coords"]:
        return paths  # D* and D_i are drawn against density
    series: dict[str, list[dict]] = {}
    for p in pts:
        rest = {k: v for k, v in p["coords"].items() if k != "density"}
        series.setdefault(label(rest), []).append(p)
    curves = {
        name: np.array([metrics.dimensions_per_feature(weights(cfg, arrays, p["kept"])) for p in group])
        for name, group in series.items()
    }
    x = {name: 1 / np.array([p["coords"]["density"] for p in group]) for name, group in series.items()}
    if len({tuple(v) for v in x.values()}) == 1:
        fig = figures.dimensions_per_feature(next(iter(x.values())), curves, where)
        paths.append(save(fig, f"{out_dir}/sweep_dstar.png"))
    for k, (name, group) in enumerate(list(series.items())[:MAX_SERIES]):
        Ws = np.stack([weights(cfg, arrays, p["kept"]) for p in group])
        fig = uniform.feature_dimensionality(Ws, np.array([p["coords"]["density"] for p in group]))
        if name:
            fig.axes[0].set_title(f"{fig.axes[0].get_title()}\n{name}", fontsize=8)
        paths.append(save(fig, f"{out_dir}/sweep_dimensionality{f'_{k}' if k else ''}.png"))
    return paths


def animate(cfg: Config, arrays: dict, out_dir, options) -> list:
    """The kept fits at up to four points spread along the first axis (the others at their first value)."""
    from superpose.lab.store import RunError
    from superpose.plots.animation import Panel, geometry_animation

    if "snapshot_W" not in arrays:
        raise RunError(
            "this sweep's model is untied (no snapshot_W): choose instances with --instance/--where"
        )
    pts = [p for p in points(cfg, arrays) if p["kept"] is not None]
    first = list(pts[0]["coords"])[:1]
    line = [
        p for p in pts if all(p["coords"][k] == pts[0]["coords"][k] for k in p["coords"] if k not in first)
    ]
    picks = [line[j] for j in np.unique(np.linspace(0, len(line) - 1, min(4, len(line))).round().astype(int))]
    panels = []
    for p in picks:
        i = p["kept"]
        snaps = weights(cfg, arrays, i, "snapshot_W")
        imp = arrays["importance"][i][: snaps.shape[-1]]
        panels.append(Panel(snaps, title=label(p["coords"]), importance=imp, loss=arrays["loss"][i]))
    path = geometry_animation(
        f"{out_dir}/sweep_forming",
        panels,
        arrays["snapshot_steps"],
        arrays["log_steps"],
        title=cfg.model,
        fps=options.fps,
        fmt=options.format,
        progress=options.progress,
    )
    return [path]


EXPERIMENT = Experiment("sweep", Config, train, analyze, plot, QUICK, description=__doc__, animate=animate)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
