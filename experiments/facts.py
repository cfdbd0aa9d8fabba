"""Facts in superposition: how many facts an MLP of width m stores in d dimensions, and how (paper.md §7).

"Michael Jordan plays basketball": tokens (first names, last names, attributes) are fixed random unit vectors
in d dimensions; a fact maps a (first, last) pair to one of M attributes, and every name serves up to 4 facts
(at least 2, never all with one attribute), so no name alone tells the answer: the MLP must combine them. It reads e_first + e_last, computes ReLU(W_in x + b)
with m neurons and writes W_out h, which the frozen attribute vectors read (cross-entropy over the M
attributes, as in the associative-memory literature); full-batch AdamW, every (N, seed) of a cell in one
compiled call (superpose/facts.py; TrainConfig's n_features = d, n_hidden = m, the batch = the N facts).

1. The hand-built AND model (one neuron per fact, input e_first + e_last, bias -1, output the attribute) is
   exact with orthonormal tokens; with random ones its accuracy falls as d shrinks (interference).
2. Capacity: for each cell (d, m) and seed the largest N stored at >= 99% top-1, searched on one nested
   table per seed (the table of N facts is the first N of every larger one, so accuracy falls with N): the
   two ends of a range around the published fit, then rounds of points inside the bracket, down to nested
   sizes a few facts apart. Reported as mean +- standard error over seeds, and fitted against m d (the
   constants likewise per seed). Published (Nichani, Lee, Bietti, ICLR 2025): m d = 1.2 N with 32 classes,
   m d = 0.35 N ln N with N classes (here one attribute per fact), d^2 = 1.3 N ln N for a linear d x d
   memory (single-token keys: a linear map cannot compute an AND). Facts and bits per parameter beside the
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
    # Each first and last name keys up to 4 facts (at least 2, not all one attribute): no token decides alone.
    facts_per_name: int = count(4, minimum=3)
    # Capacity cells of the 32-class MLP, (d, m) paired by position: m d from 144 to 1024.
    dims: tuple[int, ...] = count((12, 16, 16, 32, 24, 32))
    neurons: tuple[int, ...] = count((12, 16, 32, 16, 24, 32))
    # The N-class MLP (the readout costs N d per fact, so smaller cells) and the linear memory's d; () skips.
    classes_dims: tuple[int, ...] = count((12, 16, 16), empty_ok=True)
    classes_neurons: tuple[int, ...] = count((12, 16, 24), empty_ok=True)
    linear_dims: tuple[int, ...] = count((16, 24, 32), empty_ok=True)
    # The search per cell: N from search_low to search_high times the published N (measured capacities fell
    # at 0.9-1.2 times it); search_points N per seed a round (the ends and the middle first), then up to
    # search_rounds rounds inside each seed's bracket, each shrinking it 4x: 1.75x to 1.8% (nested sizes are
    # 1-3 facts apart), finer than the seeds' spread (about 2%). A round is a sweep of seeds x points models.
    search_low: float = positive(0.8)
    search_high: float = positive(1.4)
    search_points: int = count(3, minimum=2)
    search_rounds: int = count(2, minimum=0)
    n_seeds: int = count(3)  # nested fact tables, embeddings and inits; capacity: mean +- standard error
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
        if smallest < facts.min_facts(self.facts_per_name):
            raise ValueError(
                f"and_facts, handbuilt_facts and forming_facts must be at least "
                f"{facts.min_facts(self.facts_per_name)} at facts_per_name={self.facts_per_name}"
            )


QUICK = {  # 4 sweeps (each compiles once): two 32-class cells, one linear memory, the forming model
    "dims": (12, 24),
    "neurons": (12, 24),
    "classes_dims": (),
    "classes_neurons": (),
    "linear_dims": (16,),
    "search_low": 0.75,  # the 2,000-step capacities fell at 0.9-1.15 times the published N
    "search_high": 1.35,
    "n_seeds": 2,
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


def candidates(cfg: Config, setting: str, d: int, m: int) -> np.ndarray:
    """[k] the N a cell's search may try: nested table sizes (any N for single-token keys) from search_low
    to search_high times the published N."""
    center = float(published_facts(setting, measure(setting, d, m)))
    lo, hi = int(np.ceil(center * cfg.search_low)), int(np.floor(center * cfg.search_high))
    n = np.arange(1, hi + 1) if setting == "linear" else facts.nested_sizes(hi, cfg.facts_per_name)
    return n[n >= lo]


def sweep_name(setting: str, d: int, m: int) -> str:
    return f"{setting}_d{d}" if setting == "linear" else f"{setting}_d{d}_m{m}"


def cell_table(cfg: Config, setting: str, d: int, m: int, seed_: int, n_facts: int) -> dict:
    """A cell's table of n_facts facts for one seed, seeded by (root seed, setting, d, m, seed) but not N:
    nested, the same facts in every run."""
    rng = np.random.default_rng([cfg.seed, SETTING_KEYS[setting], d, m, seed_])
    n_attr = cfg.n_attributes if setting == "and32" else None  # None: N classes, one per fact
    return facts.fact_table(rng, n_facts, d, n_attr, cfg.facts_per_name, setting == "linear")


def run_tables(
    ctx,
    name: str,
    model,
    tables: list[dict],
    seeds: np.ndarray,
    d: int,
    m: int,
    cfg: Config,
    pad_like: list[dict] = (),
    **train_options,
) -> dict:
    """Train one model per table in one sweep; returns its params and tables under `name`_ prefixes."""
    extra = facts.stack_tables(tables, pad_like)
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


def search_cell(cfg: Config, ctx, setting: str, d: int, m: int) -> dict:
    """One cell's capacity search (facts.search_capacity), a sweep a round (`name`_r0, _r1, ...), every
    round padded to the largest table so they share one compiled step. Returns every model tried, rounds
    concatenated under `name`_ prefixes, with `name`_n_facts and `name`_seed [instances]."""
    name = sweep_name(setting, d, m)
    model = facts.LinearMemory() if setting == "linear" else facts.FactMLP()
    cands = candidates(cfg, setting, d, m)
    largest = [cell_table(cfg, setting, d, m, s, int(cands[-1])) for s in range(cfg.n_seeds)]
    width = cfg.n_seeds * max(cfg.search_points, 2)  # instances a round: the same shapes every round
    rounds: list[tuple[list, dict]] = []

    def evaluate(round_: int, requests: list) -> list[float]:
        padded = requests + [requests[-1]] * (width - len(requests))  # repeats, dropped below
        tables = [cell_table(cfg, setting, d, m, s, n) for s, n in padded]
        seeds = np.array([s for s, _ in padded])
        out = run_tables(ctx, f"{name}_r{round_}", model, tables, seeds, d, m, cfg, largest)
        rounds.append((requests, {k[len(f"{name}_r{round_}_") :]: v for k, v in out.items()}))
        return [facts.accuracy(*instance(out, f"{name}_r{round_}", i)) for i in range(len(requests))]

    facts.search_capacity(evaluate, cands, cfg.n_seeds, cfg.threshold, cfg.search_points, cfg.search_rounds)
    arrays = {f"{name}_log_steps": rounds[0][1]["log_steps"]}
    for key in rounds[0][1]:
        if key != "log_steps":
            arrays[f"{name}_{key}"] = np.concatenate([out[key][: len(req)] for req, out in rounds])
    arrays[f"{name}_seed"] = np.array([s for req, _ in rounds for s, _ in req])
    arrays[f"{name}_n_facts"] = np.array([n for req, _ in rounds for _, n in req])
    return arrays


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
        arrays.update(search_cell(cfg, ctx, setting, d, m))
    d, r = cfg.and_dim, cfg.facts_per_name
    tables = [
        facts.fact_table(np.random.default_rng([cfg.seed, 100, d, s]), cfg.and_facts, d, cfg.n_attributes, r)
        for s in range(cfg.and_seeds)
    ]
    for m in cfg.widths:
        arrays.update(
            run_tables(
                ctx, f"width_m{m}", facts.FactMLP(), tables, np.arange(cfg.and_seeds), cfg.and_dim, m, cfg
            )
        )
    d, m = cfg.forming_dim, cfg.forming_neurons
    rng = np.random.default_rng([cfg.seed, 200, d, m])
    tables = [facts.fact_table(rng, cfg.forming_facts, d, cfg.n_attributes, cfg.facts_per_name)]
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


def mean_se(values) -> tuple[float, float | None]:
    """(mean, standard error of the mean) over seeds; the error is None for one seed."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), (float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None)


def rounded(x, digits: int):
    return None if x is None else round(x, digits)


def pm(value: float, se: float | None, digits: int = 3) -> str:
    """The string "value +- se" (the value alone without an error)."""
    return f"{value:.{digits}f}" + ("" if se is None else f" +- {se:.{digits}f}")


def capacity_results(cfg: Config, arrays: dict) -> dict:
    """Per setting: every cell's tried N and accuracies per seed, capacity per seed and mean +- standard error,
    status; the exponent and constant of the fit of capacity against the parameter measure, per seed and as
    mean +- standard error."""
    out: dict = {}
    for setting, d, m in cells(cfg):
        name = sweep_name(setting, d, m)
        n_facts, seeds = arrays[f"{name}_n_facts"], arrays[f"{name}_seed"]
        acc = np.array([facts.accuracy(*instance(arrays, name, i)) for i in range(n_facts.size)])
        tried, per_seed = [], []
        for s in range(cfg.n_seeds):
            order = np.flatnonzero(seeds == s)[np.argsort(n_facts[seeds == s])]
            tried.append([[int(n_facts[i]), round(float(acc[i]), 4)] for i in order])
            per_seed.append(facts.capacity(n_facts[order], acc[order], cfg.threshold))
        caps = np.array([c for c, _ in per_seed])
        statuses = sorted({st for _, st in per_seed})
        params = d * d if setting == "linear" else 2 * m * d + m
        n_attr = cfg.n_attributes if setting == "and32" else None
        cap, se = mean_se(caps)
        bits = cap * np.log2(n_attr if n_attr else cap) / params
        row = {
            "d": d,
            "m": m,
            "measure": measure(setting, d, m),
            "parameters": params,
            "tried": tried,
            "capacity_per_seed": caps.round(1).tolist(),
            "capacity": round(cap, 1),
            "capacity_se": rounded(se, 1),
            "status": "ok" if statuses == ["ok"] else "+".join(statuses),
            "published": round(float(published_facts(setting, measure(setting, d, m))), 1),
            "facts_per_parameter": round(cap / params, 3),
            "bits_per_parameter": round(float(bits), 2),
        }
        out.setdefault(setting, {"cells": []})["cells"].append(row)
    for setting, res in out.items():
        rows = res["cells"]
        x = np.array([r["measure"] for r in rows], np.float64)

        log_n = PUBLISHED[setting]["log_n"]

        def facts_measure(n, log_n=log_n):
            n = np.asarray(n, np.float64)
            return n * np.log(n) if log_n else n

        by_seed = np.array([r["capacity_per_seed"] for r in rows]).T  # [seeds, cells]
        constants = [facts.ratio_constant(x, facts_measure(n)) for n in by_seed]
        constant, constant_se = mean_se(constants)
        fit = np.unique(x).size > 1
        exponent, exponent_se = mean_se(
            [facts.power_fit(x, facts_measure(n))[0] for n in by_seed] if fit else [np.nan]
        )
        res.update(
            exponent=round(exponent, 3),
            exponent_se=rounded(exponent_se, 3),
            constant=round(constant, 3),
            constant_se=rounded(constant_se, 3),
            constant_per_seed=np.round(constants, 3).tolist(),
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
                "and_score_median": [round(r["and_score_median"], 3) + 0.0 for r in per_seed],
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
                "value": f"k = {pm(main_fit['exponent'], main_fit['exponent_se'])} over m d = "
                f"{[r['measure'] for r in main_fit['cells']]}"
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
                "value": f"{pm(c, res['constant_se'])} over seeds (capacities "
                f"{', '.join(pm(r['capacity'], r['capacity_se'], 1) for r in res['cells'])})",
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
            and_score_median=round(inner["and_score_median"], 3) + 0.0,  # + 0.0: never -0.0
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
                "label": f"{setting}: ours {pm(res['constant'], res['constant_se'])}, "
                f"published {res['published']}".replace("+-", "±"),
                "color": facts_plots.SETTING_COLORS[setting],
                "x": x,
                "n": [r["capacity"] for r in res["cells"]],
                "n_se": [r["capacity_se"] or 0.0 for r in res["cells"]],
                "censored": [r["status"] != "ok" for r in res["cells"]],
                "line_x": line_x,
                "line_n": published_facts(setting, line_x),
            }
        )
    facts_plots.capacity_axes(axes[0, 0], series)
    axes[0, 0].set_title("facts stored at 99% (dashed: published fits)", fontsize=9)
    curves = [
        (
            f"d={r['d']} m={r['m']}",
            [np.array([n for n, _ in t]) / r["published"] for t in r["tried"]],
            [np.array([a for _, a in t]) for t in r["tried"]],
        )
        for r in cap["and32"]["cells"]
    ]
    facts_plots.accuracy_curves(axes[0, 1], curves, cfg.threshold)
    axes[0, 1].set_title(
        f"32 classes: accuracy around m d / {PUBLISHED['and32']['constant']} (each N searched, per seed)",
        fontsize=9,
    )
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
