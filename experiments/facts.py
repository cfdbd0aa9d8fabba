"""Facts in superposition: how many facts an MLP of width m stores in d dimensions, and how (paper.md §7).

"Michael Jordan plays basketball": tokens (first names, last names, attributes) are fixed random unit vectors
in d dimensions; a fact maps a (first, last) pair to one of M attributes, and every name serves 4 facts with
different attributes, so the MLP must compute an AND. It reads e_first + e_last, computes ReLU(W_in x + b)
with m neurons and writes W_out h, which the frozen attribute vectors read (cross-entropy over the M
attributes, as in the associative-memory literature); full-batch AdamW, every (N, seed) of a cell in one
compiled call (superpose/facts.py; TrainConfig's n_features = d, n_hidden = m, the batch = the N facts).

1. The hand-built AND model (one neuron per fact, input e_first + e_last, bias -1, output the attribute) is
   exact with orthonormal tokens; with random ones its accuracy falls as d shrinks (interference).
2. Capacity: for each cell (d, m) the largest N stored at >= 99% top-1 (7 values of N around the published
   fit, interpolated; several seeds), fitted against m d. Published (Nichani, Lee, Bietti, ICLR 2025):
   m d = 1.2 N with 32 classes, m d = 0.35 N ln N with N classes, d^2 = 1.3 N ln N for a linear d x d memory
   (single-token keys: a linear map cannot compute an AND). Facts and bits per parameter beside the
   2 bits/parameter of Allen-Zhu and Li.
3. Inside the trained MLP: at capacity, facts per neuron, how many neurons carry each fact (their shares of
   its logit margin) and AND-ness (response to the full name against either name alone) as the width
   shrinks from one neuron per fact to capacity. `superpose animate` shows fact storage forming.
"""

from __future__ import annotations

import dataclasses
import sys

import matplotlib.pyplot as plt
import numpy as np

from superpose import facts
from superpose.config import TrainConfig, make_hyper, snapshot_schedule
from superpose.lab import Experiment, main
from superpose.lab.fields import count, fraction, positive, seed, steps
from superpose.plots import facts as facts_plots
from superpose.plots import save
from superpose.sweep import Sweep

# Published fits (paper.md §7): parameter measure = constant * N (ln N if log_n), and the model each is for.
PUBLISHED = {
    "and32": {"constant": 1.2, "log_n": False, "what": "m d = 1.2 N (32 classes)"},
    "andN": {"constant": 0.35, "log_n": True, "what": "m d = 0.35 N ln N (N classes)"},
    "linear": {"constant": 1.3, "log_n": True, "what": "d^2 = 1.3 N ln N (linear d x d memory, N classes)"},
}
BITS_PER_PARAMETER = 2.0  # Allen-Zhu and Li
SETTING_KEYS = {"and32": 1, "andN": 2, "linear": 3}  # seed the fact tables: the same facts in every run


@dataclasses.dataclass(frozen=True)
class Config:
    n_attributes: int = count(32)  # M of the main setting, as in the published 32-class fit
    # Each first name keys 4 facts (last names as often), with different attributes: no token decides alone.
    facts_per_name: int = count(4)
    # Capacity cells of the 32-class MLP, (d, m) paired by position: m d from 144 to 1024.
    dims: tuple[int, ...] = count((12, 16, 16, 32, 24, 32))
    neurons: tuple[int, ...] = count((12, 16, 32, 16, 24, 32))
    # The N-class MLP (the readout costs N d per fact, so smaller cells) and the linear memory's d; () skips.
    classes_dims: tuple[int, ...] = count((12, 16, 16), empty_ok=True)
    classes_neurons: tuple[int, ...] = count((12, 16, 24), empty_ok=True)
    linear_dims: tuple[int, ...] = count((16, 24, 32), empty_ok=True)
    # N values per cell: search_low..search_high times the published N, geometric (steps of 13%). Measured
    # capacities fell at 1.0-1.2 times the published N in every cell.
    n_points: int = count(7)
    search_low: float = positive(0.7)
    search_high: float = positive(1.5)
    n_seeds: int = count(3)  # fact tables, embeddings and inits per N; the capacity is their geometric mean
    # Full-batch steps. Capacity still creeps up with training: d = m = 32 stored all 963 facts of a table in
    # 6,000 steps (2 seeds), about 6% more than the 906 it stores here: ours lean low, by that much.
    n_steps: int = steps(4_000)
    lr: float = positive(1e-2)  # measured: 1e-2 constant stores as much as 2e-2 with cosine decay
    threshold: float = fraction(0.99)  # "stored": top-1 accuracy at least this
    # AND-ness as the width shrinks from one neuron per fact (m = N) to about capacity, same facts throughout.
    and_dim: int = count(32)
    and_facts: int = count(256)
    widths: tuple[int, ...] = count((256, 128, 64, 32, 16, 10), empty_ok=True)
    and_seeds: int = count(2)
    # The hand-built AND model with random unit tokens in d dimensions (numpy, no training).
    handbuilt_facts: int = count(256)
    handbuilt_dims: tuple[int, ...] = count((16, 32, 64, 128, 256, 512, 1024))
    handbuilt_seeds: int = count(3)
    # One small model whose weights are kept as it learns (the animation).
    forming_dim: int = count(16)
    forming_neurons: int = count(8)
    forming_facts: int = count(72)  # 9 per neuron, all stored (80 ended at 98%: m = 8 stores under m d / 1.2)
    n_frames: int = count(60)
    seed: int = seed(0)  # root seed

    def __post_init__(self) -> None:
        if len(self.dims) != len(self.neurons) or len(self.classes_dims) != len(self.classes_neurons):
            raise ValueError("dims/neurons and classes_dims/classes_neurons must pair up (equal lengths)")
        if not self.dims:
            raise ValueError("dims: at least one capacity cell")
        if self.search_low >= self.search_high:
            raise ValueError("search_low must be below search_high")
        smallest = min(self.and_facts, self.handbuilt_facts, self.forming_facts)
        if smallest < self.facts_per_name**2:
            raise ValueError(f"fact counts must be at least facts_per_name^2 = {self.facts_per_name**2}")


QUICK = {  # 4 sweeps (each compiles once): two 32-class cells, one linear memory, the forming model
    "dims": (12, 24),
    "neurons": (12, 24),
    "classes_dims": (),
    "classes_neurons": (),
    "linear_dims": (16,),
    "n_points": 6,
    "search_low": 0.6,
    "n_seeds": 1,
    "n_steps": 2_000,
    "widths": (),
    "handbuilt_dims": (16, 64, 256, 1024),
    "handbuilt_seeds": 1,
    "forming_facts": 48,
    "n_frames": 20,
}


# --- what each sweep trains ----------------------------------------------------------------------------


def cells(cfg: Config) -> list[tuple[str, int, int]]:
    """(setting, d, m) of every capacity cell; m = 1 (unused) for the linear memory."""
    out = [("and32", d, m) for d, m in zip(cfg.dims, cfg.neurons)]
    out += [("andN", d, m) for d, m in zip(cfg.classes_dims, cfg.classes_neurons)]
    return out + [("linear", d, 1) for d in cfg.linear_dims]


def measure(setting: str, d: int, m: int) -> int:
    """The parameter measure the published fit uses: m d for the MLPs, d^2 for the linear memory."""
    return d * d if setting == "linear" else m * d


def published_facts(setting: str, x) -> np.ndarray:
    """N the published fit gives for parameter measure x: x / c, or N ln N = x / c solved by Newton."""
    fit = PUBLISHED[setting]
    target = np.asarray(x, np.float64) / fit["constant"]
    if not fit["log_n"]:
        return target
    n = np.maximum(target / np.log(np.maximum(target, 3.0)), 2.0)
    for _ in range(50):
        n = n - (n * np.log(n) - target) / (np.log(n) + 1.0)
    return n


def facts_grid(cfg: Config, setting: str, d: int, m: int) -> np.ndarray:
    """[n_points] the N values tried in a cell, geometric around the published prediction."""
    center = float(published_facts(setting, measure(setting, d, m)))
    grid = np.round(center * np.geomspace(cfg.search_low, cfg.search_high, cfg.n_points)).astype(np.int64)
    return np.unique(np.maximum(grid, cfg.facts_per_name**2))


def sweep_name(setting: str, d: int, m: int) -> str:
    return f"{setting}_d{d}" if setting == "linear" else f"{setting}_d{d}_m{m}"


def tables_for(
    cfg: Config, key: tuple, n_facts: np.ndarray, n_seeds: int, d: int, setting: str
) -> list[dict]:
    """One fact table per (N, seed), seeded by (root seed, key, N, seed): the same facts in every run."""
    out = []
    for n in n_facts:
        for s in range(n_seeds):
            rng = np.random.default_rng([cfg.seed, *key, int(n), s])
            n_attr = cfg.n_attributes if setting == "and32" else int(n)
            out.append(facts.fact_table(rng, int(n), d, n_attr, cfg.facts_per_name, setting == "linear"))
    return out


def run_tables(
    ctx, name: str, model, tables: list[dict], seeds: np.ndarray, d: int, m: int, cfg: Config, **train_options
) -> dict:
    """Train one model per table in one sweep; returns its params and tables under `name`_ prefixes."""
    extra = facts.stack_tables(tables)
    hyper = make_hyper(len(tables), d, lr=cfg.lr, weight_decay=0.0, extra=extra)
    train_cfg = TrainConfig(
        d, m, batch_size=extra["fact_mask"].shape[1], n_steps=cfg.n_steps, eval_batches=1, **train_options
    )
    result = ctx.sweep(name, Sweep(model, facts.FullTable(), train_cfg, hyper, seeds, cfg.seed))
    out = {f"{name}_{k}": v for k, v in result.params.items()}
    out.update({f"{name}_{k}": v for k, v in extra.items()})
    out[f"{name}_loss"] = result.loss
    out[f"{name}_log_steps"] = result.log_steps
    out[f"{name}_final_loss"] = result.final_loss
    if result.snapshot_steps.size:  # unprefixed: the run-store layout `superpose animate` looks for
        out.update({f"snapshot_{k}": v for k, v in result.snapshots.items()})
        out["snapshot_steps"] = result.snapshot_steps
    return out


def handbuilt(cfg: Config) -> dict:
    """The hand-built AND model's accuracy [dims, seeds] with random unit tokens in each d (no training)."""
    acc = np.zeros((len(cfg.handbuilt_dims), cfg.handbuilt_seeds))
    for i, d in enumerate(cfg.handbuilt_dims):
        for s in range(cfg.handbuilt_seeds):
            rng = np.random.default_rng([cfg.seed, 20, d, s])
            table = facts.fact_table(rng, cfg.handbuilt_facts, d, cfg.n_attributes, cfg.facts_per_name)
            acc[i, s] = facts.accuracy(facts.and_model(table), table)
    return {"handbuilt_dims": np.asarray(cfg.handbuilt_dims), "handbuilt_acc": acc}


def train(cfg: Config, ctx) -> dict:
    arrays = handbuilt(cfg)
    for setting, d, m in cells(cfg):
        grid = facts_grid(cfg, setting, d, m)
        tables = tables_for(cfg, (SETTING_KEYS[setting], d, m), grid, cfg.n_seeds, d, setting)
        model = facts.LinearMemory() if setting == "linear" else facts.FactMLP()
        name = sweep_name(setting, d, m)
        seeds = np.tile(np.arange(cfg.n_seeds), grid.size)
        arrays.update(run_tables(ctx, name, model, tables, seeds, d, m, cfg))
        arrays[f"{name}_n_facts"] = np.repeat(grid, cfg.n_seeds)
    n = np.array([cfg.and_facts])
    tables = tables_for(cfg, (100, cfg.and_dim), n, cfg.and_seeds, cfg.and_dim, "and32")
    for m in cfg.widths:
        arrays.update(
            run_tables(
                ctx, f"width_m{m}", facts.FactMLP(), tables, np.arange(cfg.and_seeds), cfg.and_dim, m, cfg
            )
        )
    d, m = cfg.forming_dim, cfg.forming_neurons
    tables = tables_for(cfg, (200, d, m), np.array([cfg.forming_facts]), 1, d, "and32")
    snapshots = snapshot_schedule(cfg.n_steps, cfg.n_frames, 10)
    arrays.update(
        run_tables(
            ctx,
            "forming",
            facts.FactMLP(),
            tables,
            np.zeros(1, np.int64),
            d,
            m,
            cfg,
            log_every=10,
            snapshot_steps=snapshots,
        )
    )
    return arrays


# --- analysis ------------------------------------------------------------------------------------------


def instance(arrays: dict, name: str, i: int) -> tuple[dict, dict]:
    """(params, table) of instance i of sweep `name`."""
    names = ("W",) if f"{name}_W" in arrays else ("W_in", "b", "W_out")
    params = {k: np.asarray(arrays[f"{name}_{k}"][i]) for k in names}
    return params, facts.instance_table(arrays, i, prefix=f"{name}_")


def capacity_results(cfg: Config, arrays: dict) -> dict:
    """Per setting: every cell's accuracies [points, seeds], capacity (geometric mean over seeds), status,
    and the fit of capacity against the parameter measure."""
    out: dict = {}
    for setting, d, m in cells(cfg):
        name = sweep_name(setting, d, m)
        n_facts = arrays[f"{name}_n_facts"]
        acc = np.array([facts.accuracy(*instance(arrays, name, i)) for i in range(n_facts.size)])
        grid = n_facts.reshape(-1, cfg.n_seeds)[:, 0]
        acc = acc.reshape(grid.size, cfg.n_seeds)
        per_seed = [facts.capacity(grid, acc[:, s], cfg.threshold) for s in range(cfg.n_seeds)]
        caps = np.array([c for c, _ in per_seed])
        statuses = sorted({st for _, st in per_seed})
        params = d * d if setting == "linear" else 2 * m * d + m
        n_attr = cfg.n_attributes if setting == "and32" else None
        cap = float(np.exp(np.mean(np.log(caps))))
        bits = cap * np.log2(n_attr if n_attr else cap) / params
        row = {
            "d": d,
            "m": m,
            "measure": measure(setting, d, m),
            "parameters": params,
            "grid": grid.tolist(),
            "accuracy": acc.round(4).tolist(),
            "capacity_per_seed": caps.round(1).tolist(),
            "capacity": round(cap, 1),
            "status": "ok" if statuses == ["ok"] else "+".join(statuses),
            "published": round(float(published_facts(setting, measure(setting, d, m))), 1),
            "facts_per_parameter": round(cap / params, 3),
            "bits_per_parameter": round(float(bits), 2),
        }
        out.setdefault(setting, {"cells": []})["cells"].append(row)
    for setting, res in out.items():
        rows = res["cells"]
        x = np.array([r["measure"] for r in rows], np.float64)
        n = np.array([r["capacity"] for r in rows])
        facts_measure = n * np.log(n) if PUBLISHED[setting]["log_n"] else n
        exponent = facts.power_fit(x, facts_measure)[0] if np.unique(x).size > 1 else float("nan")
        res.update(
            exponent=round(exponent, 3),
            constant=round(facts.ratio_constant(x, facts_measure), 3),
            published_constant=PUBLISHED[setting]["constant"],
            published=PUBLISHED[setting]["what"],
            all_ok=all(r["status"] == "ok" for r in rows),
            facts_per_parameter=round(float(np.mean([r["facts_per_parameter"] for r in rows])), 3),
            bits_per_parameter=round(float(np.mean([r["bits_per_parameter"] for r in rows])), 2),
        )
    return out


def at_capacity(cfg: Config, arrays: dict) -> dict:
    """The 32-class model with the most facts per neuron that still stores >= threshold of them: margin
    shares [m, N], neurons per fact, facts per neuron, AND-ness."""
    best = None
    for setting, d, m in cells(cfg):
        if setting != "and32":
            continue
        name = sweep_name(setting, d, m)
        for i, n in enumerate(arrays[f"{name}_n_facts"]):
            params, table = instance(arrays, name, i)
            if facts.accuracy(params, table) >= cfg.threshold and (best is None or n / m > best[0]):
                best = (n / m, name, i, d, m)
    if best is None:
        return {"found": False}
    _, name, i, d, m = best
    params, table = instance(arrays, name, i)
    return {"found": True, "name": name, "index": i, "d": d, "m": m, **inside(params, table)}


def inside(params: dict, table: dict) -> dict:
    """How one trained MLP stores its facts (numbers for the summary and arrays for the figures)."""
    C = facts.margin_contributions(params, table)
    main_mask = facts.main_neurons(C)
    scores = facts.and_scores(params, table)
    m, n = C.shape
    main_scores = scores[main_mask]
    return {
        "n_facts": int(n),
        "accuracy": facts.accuracy(params, table),
        "facts_per_neuron": n / m,
        "neurons_per_fact": facts.participation(C),
        "main_neurons_per_fact": main_mask.sum(axis=0),
        "facts_served_per_neuron": main_mask.sum(axis=1),
        "and_fraction": facts.and_fraction(C, scores),
        "and_score_median": float(np.nanmedian(main_scores)) if main_scores.size else float("nan"),
        "shares": facts.margin_shares(C),
    }


def widths_results(cfg: Config, arrays: dict) -> list[dict]:
    rows = []
    for m in cfg.widths:
        per_seed = [inside(*instance(arrays, f"width_m{m}", s)) for s in range(cfg.and_seeds)]
        rows.append(
            {
                "m": m,
                "facts_per_neuron": cfg.and_facts / m,
                "accuracy": [round(r["accuracy"], 4) for r in per_seed],
                "neurons_per_fact_median": [
                    round(float(np.median(r["neurons_per_fact"])), 2) for r in per_seed
                ],
                "and_fraction": [round(r["and_fraction"], 3) for r in per_seed],
                "and_score_median": [round(r["and_score_median"], 3) for r in per_seed],
            }
        )
    return rows


def orthonormal_check(cfg: Config) -> dict:
    """The hand-built AND model on exactly orthonormal tokens: accuracy, margins, responses."""
    table = facts.orthonormal_table(cfg.handbuilt_facts, cfg.n_attributes, cfg.facts_per_name, cfg.seed)
    params = facts.and_model(table)
    x, f, g = facts.inputs(table)
    full = facts.mlp_hidden(params, x)
    single = np.maximum(facts.mlp_hidden(params, f), facts.mlp_hidden(params, g))
    margins = facts.margin_contributions(params, table).sum(axis=0)
    return {
        "dim": int(x.shape[0]),
        "accuracy": facts.accuracy(params, table),
        "margin_range": [float(margins.min()), float(margins.max())],
        "own_response_range": [float(np.diag(full).min()), float(np.diag(full).max())],
        "other_facts_max_response": float((full - np.diag(np.diag(full))).max()),
        "single_name_max_response": float(single.max()),
        "and_fraction": facts.and_fraction(
            facts.margin_contributions(params, table), facts.and_scores(params, table)
        ),
    }


def analyze(cfg: Config, arrays: dict) -> dict:
    ortho = orthonormal_check(cfg)
    hb_dims, hb_acc = arrays["handbuilt_dims"], arrays["handbuilt_acc"].mean(axis=1)
    cap = capacity_results(cfg, arrays)
    inner = at_capacity(cfg, arrays)
    widths = widths_results(cfg, arrays)
    exact = (
        ortho["accuracy"] == 1.0
        and max(abs(v - 1.0) for v in ortho["margin_range"]) < 1e-9
        and max(abs(v - 1.0) for v in ortho["own_response_range"]) < 1e-9
        and ortho["other_facts_max_response"] == 0.0
        and ortho["single_name_max_response"] == 0.0
    )
    checks = [
        {
            "name": "hand-built AND model exact with orthonormal tokens",
            "passed": bool(exact),
            "value": (
                f"d={ortho['dim']}: accuracy {ortho['accuracy']:.4f}, margins {ortho['margin_range']}, own neuron "
                f"{ortho['own_response_range']}, other facts max {ortho['other_facts_max_response']}, one name "
                f"alone max {ortho['single_name_max_response']}"
            ),
            "expected": "accuracy 1, every margin 1, each neuron 1 on its fact and 0 on other facts and single names",
        },
        {
            "name": "hand-built AND model loses accuracy to interference as d shrinks",
            "passed": bool(
                hb_acc[-1] >= cfg.threshold and hb_acc[0] < 0.9 and np.all(np.diff(hb_acc) > -0.02)
            ),
            "value": ", ".join(f"d={d}: {a:.3f}" for d, a in zip(hb_dims, hb_acc)),
            "expected": f">= {cfg.threshold} at the largest d, < 0.9 at the smallest, falling as d shrinks",
        },
    ]
    main_fit = cap["and32"]
    if np.isfinite(main_fit["exponent"]):
        checks.append(
            {
                "name": "32 classes: capacity linear in parameters (N ~ (m d)^k)",
                "passed": bool(main_fit["all_ok"] and 0.8 <= main_fit["exponent"] <= 1.2),
                "value": f"k = {main_fit['exponent']:.3f} over m d = {[r['measure'] for r in main_fit['cells']]}"
                + ("" if main_fit["all_ok"] else " (a capacity outside the searched N: a bound)"),
                "expected": "0.8 <= k <= 1.2, every capacity inside the searched range",
            }
        )
    for setting, res in cap.items():
        c, pub = res["constant"], res["published_constant"]
        checks.append(
            {
                "name": f"{setting}: constant within 2x of the published {res['published']}",
                "passed": bool(res["all_ok"] and pub / 2 <= c <= 2 * pub),
                "value": f"{c:.3f} (capacities {[r['capacity'] for r in res['cells']]})",
                "expected": f"{pub / 2:.3g} .. {2 * pub:.3g}",
            }
        )
    if inner["found"]:
        checks.append(
            {
                "name": "superposition at capacity: more facts than neurons",
                "passed": bool(inner["facts_per_neuron"] > 1 and inner["accuracy"] >= cfg.threshold),
                "value": (
                    f"{inner['n_facts']} facts on m={inner['m']} neurons (d={inner['d']}): {inner['facts_per_neuron']:.1f} "
                    f"per neuron at accuracy {inner['accuracy']:.4f}; median {np.median(inner['neurons_per_fact']):.1f} "
                    "neurons carry each fact"
                ),
                "expected": "facts per neuron > 1 with >= 99% stored",
            }
        )
    else:
        checks.append(
            {
                "name": "superposition at capacity: more facts than neurons",
                "passed": False,
                "value": "no 32-class model stored its facts",
                "expected": "facts per neuron > 1",
            }
        )
    summary_inner = {"found": inner["found"]}
    if inner["found"]:
        summary_inner.update(
            sweep=inner["name"],
            instance=inner["index"],
            d=inner["d"],
            m=inner["m"],
            n_facts=inner["n_facts"],
            accuracy=round(inner["accuracy"], 4),
            facts_per_neuron=round(inner["facts_per_neuron"], 2),
            neurons_per_fact_median=round(float(np.median(inner["neurons_per_fact"])), 2),
            main_neurons_per_fact_median=float(np.median(inner["main_neurons_per_fact"])),
            facts_served_per_neuron_median=float(np.median(inner["facts_served_per_neuron"])),
            and_fraction=round(inner["and_fraction"], 3),
            and_score_median=round(inner["and_score_median"], 3),
        )
    return {
        "experiment": "facts",
        "handbuilt": {
            "orthonormal": ortho,
            "random_tokens": {int(d): round(float(a), 4) for d, a in zip(hb_dims, hb_acc)},
        },
        "capacity": cap,
        "bits_per_parameter_published": BITS_PER_PARAMETER,
        "at_capacity": summary_inner,
        "and_across_widths": widths,
        "checks": checks,
    }


# --- figures -------------------------------------------------------------------------------------------


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    cap = capacity_results(cfg, arrays)
    inner = at_capacity(cfg, arrays)
    widths = widths_results(cfg, arrays)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    series = []
    for setting, res in cap.items():
        x = np.array([r["measure"] for r in res["cells"]], np.float64)
        line_x = np.geomspace(x.min() / 1.5, x.max() * 1.5, 50)
        series.append(
            {
                "label": f"{setting}: ours {res['constant']:.2f}, published {res['published']}",
                "color": facts_plots.SETTING_COLORS[setting],
                "x": x,
                "n": [r["capacity"] for r in res["cells"]],
                "censored": [r["status"] != "ok" for r in res["cells"]],
                "line_x": line_x,
                "line_n": published_facts(setting, line_x),
            }
        )
    facts_plots.capacity_axes(axes[0, 0], series)
    axes[0, 0].set_title("facts stored at 99% (dashed: published fits)", fontsize=9)
    curves = [
        (f"d={r['d']} m={r['m']}", np.array(r["grid"]) / r["published"], np.array(r["accuracy"]).mean(axis=1))
        for r in cap["and32"]["cells"]
    ]
    facts_plots.accuracy_curves(axes[0, 1], curves, cfg.threshold)
    axes[0, 1].set_title(f"32 classes: accuracy around m d / {PUBLISHED['and32']['constant']}", fontsize=9)
    ortho = orthonormal_check(cfg)
    facts_plots.handbuilt_interference(
        axes[0, 2], arrays["handbuilt_dims"], arrays["handbuilt_acc"], ortho["dim"], ortho["accuracy"]
    )
    axes[0, 2].set_title(f"hand-built AND model, {cfg.handbuilt_facts} facts", fontsize=9)
    if inner["found"]:
        facts_plots.share_heatmap(
            axes[1, 0],
            inner["shares"],
            title=f"at capacity: {inner['n_facts']} facts, m={inner['m']}, d={inner['d']}: share of each margin",
        )
        facts_plots.count_histogram(
            axes[1, 1], inner["neurons_per_fact"], "neurons per fact (participation)", ylabel="facts"
        )
        axes[1, 1].set_title(
            f"median {np.median(inner['neurons_per_fact']):.1f} neurons per fact; "
            f"{inner['facts_per_neuron']:.0f} facts per neuron",
            fontsize=9,
        )
    if widths:
        facts_plots.and_across_widths(
            axes[1, 2],
            np.array([r["facts_per_neuron"] for r in widths]),
            np.array([r["and_fraction"] for r in widths]),
            np.array([r["and_score_median"] for r in widths]),
            np.array([r["neurons_per_fact_median"] for r in widths]),
        )
        axes[1, 2].set_title(f"AND-ness, {cfg.and_facts} facts in d={cfg.and_dim}", fontsize=9)
    else:
        axes[1, 2].set_axis_off()
    fig.suptitle("Facts in superposition: a fact-lookup MLP over random token embeddings", fontsize=11)
    fig.tight_layout()
    paths = [save(fig, f"{out_dir}/facts.png", dpi=90)]  # the noisy heatmap makes a large PNG at 110

    shares, acc, steps_ = forming_frames(arrays)
    picks = sorted({int(round(p)) for p in np.linspace(0, len(steps_) - 1, 5)})
    fig, axes = plt.subplots(1, len(picks) + 1, figsize=(2.3 * (len(picks) + 1), 2.5))
    facts_plots.forming_stages(axes[:-1], shares, steps_, acc, picks)
    axes[-1].plot(arrays["forming_log_steps"], arrays["forming_loss"][0], lw=1)
    axes[-1].set_xscale("log")
    axes[-1].set_yscale("log")
    axes[-1].set_xlabel("step", fontsize=7)
    axes[-1].set_ylabel("loss", fontsize=7)
    axes[-1].set_title("cross-entropy", fontsize=8)
    axes[-1].tick_params(labelsize=6)
    fig.suptitle(
        f"{cfg.forming_facts} facts forming on {cfg.forming_neurons} neurons (d={cfg.forming_dim}): "
        "each neuron's share of each fact's margin",
        fontsize=9,
    )
    fig.tight_layout()
    paths.append(save(fig, f"{out_dir}/facts_forming.png"))
    return paths


def forming_frames(arrays: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Margin shares [k, m, N], accuracy [k] and step [k] of the forming model's snapshots (the only
    snapshots kept: snapshot_<param> [1, k, ...] beside snapshot_steps [k])."""
    table = facts.instance_table(arrays, 0, prefix="forming_")
    steps_ = arrays["snapshot_steps"]
    shares, acc = [], []
    for k in range(steps_.size):
        params = {p: arrays[f"snapshot_{p}"][0, k] for p in ("W_in", "b", "W_out")}
        shares.append(facts.margin_shares(facts.margin_contributions(params, table)))
        acc.append(facts.accuracy(params, table))
    return np.stack(shares), np.array(acc), steps_


def animate(cfg: Config, arrays: dict, out_dir, options) -> list:
    """Fact storage forming: every neuron's share of every fact's margin, frame by frame."""
    shares, acc, steps_ = forming_frames(arrays)
    path = facts_plots.forming_animation(
        f"{out_dir}/facts_forming",
        shares,
        steps_,
        arrays["forming_log_steps"],
        arrays["forming_loss"][0],
        acc,
        title=f"{cfg.forming_facts} facts, {cfg.forming_neurons} neurons",
        fps=options.fps,
        fmt=options.format,
        progress=options.progress,
    )
    return [path]


EXPERIMENT = Experiment("facts", Config, train, analyze, plot, QUICK, description=__doc__, animate=animate)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
