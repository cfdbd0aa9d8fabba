"""Facts in superposition as a study: fact tables trained as sweeps, and a memory's capacity searched on
nested tables, round by round. The pieces keep their former one-module names here: the fact-lookup MLP, its
tables and sampler (superpose.models.facts), its measurements (superpose.analysis.facts) and the capacity
search (superpose.analysis.capacity) are re-exported, so that `from superpose import facts` keeps working.

Owns: `table_sweep` (one model per table in one compiled sweep, through any run(name, sweep), e.g. an
experiment's ctx.sweep, so checkpoints and resume work), `search_cell` (one cell's capacity search, a sweep a
round), reading an instance back (`instance`) and a cell's capacities per seed (`cell_capacities`), and the
margin shares of snapshots (`snapshot_storage`). Does not: choose cells or check findings (experiments/facts.py).
"""

from __future__ import annotations

import numpy as np

from superpose.analysis.capacity import (  # noqa: F401
    _spread,
    capacity,
    facts_for,
    fit_law,
    power_fit,
    ratio_constant,
    refine,
    search_capacity,
)
from superpose.analysis.facts import (  # noqa: F401
    accuracy,
    and_fraction,
    and_model,
    and_model_exactness,
    and_scores,
    inputs,
    logits,
    main_neurons,
    margin_contributions,
    margin_shares,
    mlp_hidden,
    participation,
    relu,
    storage,
)
from superpose.analysis.stats import mean_se
from superpose.config import TrainConfig, make_hyper
from superpose.models.facts import (  # noqa: F401
    PAD_LOGIT,
    TABLE_KEYS,
    FactBatch,
    FactMLP,
    FullTable,
    LinearMemory,
    _grow,
    _Names,
    check_shared_names,
    fact_table,
    instance_table,
    min_facts,
    nested_sizes,
    orthonormal_table,
    readout_loss,
    stack_tables,
    unit_vectors,
)


def table_sweep(run, name: str, model, tables: list[dict], seeds, d: int, m: int, *, lr: float, n_steps: int,
                root_seed: int, pad_like: list[dict] = (), **train_options) -> dict:  # fmt: skip
    """Train one model per fact table in one full-batch sweep (TrainConfig d, m; AdamW at lr, no weight
    decay), run as run(name, Sweep). Returns its params, tables (stack_tables, padded like pad_like too),
    loss, log_steps and final_loss under `name`_ prefixes; snapshots, if any, unprefixed (the run-store
    layout `superpose animate` looks for)."""
    from superpose.sweep import Sweep

    extra = stack_tables(tables, pad_like)
    hyper = make_hyper(len(tables), d, lr=lr, weight_decay=0.0, extra=extra)
    batch = extra["fact_mask"].shape[1]
    train_cfg = TrainConfig(d, m, batch_size=batch, n_steps=n_steps, eval_batches=1, **train_options)
    result = run(name, Sweep(model, FullTable(), train_cfg, hyper, np.asarray(seeds), root_seed))
    out = {f"{name}_{k}": v for k, v in {**result.params, **extra}.items()}
    out.update({f"{name}_loss": result.loss, f"{name}_log_steps": result.log_steps})
    out[f"{name}_final_loss"] = result.final_loss
    if result.snapshot_steps.size:
        out.update({f"snapshot_{k}": v for k, v in result.snapshots.items()})
        out["snapshot_steps"] = result.snapshot_steps
    return out


def search_cell(run, name: str, model, make_table, candidates, *, n_seeds: int, threshold: float, points: int,
                rounds: int, d: int, m: int, **sweep_options) -> dict:  # fmt: skip
    """One cell's capacity search (search_capacity) on nested tables make_table(seed, n_facts): a
    table_sweep a round (`name`_r0, _r1, ...), every round padded to the largest table and to the same
    number of instances so that they share one compiled step. Returns every model tried, rounds concatenated
    under `name`_ prefixes, with `name`_n_facts and `name`_seed [instances]."""
    largest = [make_table(s, int(candidates[-1])) for s in range(n_seeds)]
    width = n_seeds * max(points, 2)
    done: list[tuple[list, dict]] = []

    def evaluate(round_: int, requests: list) -> list[float]:
        padded = requests + [requests[-1]] * (width - len(requests))  # repeats, dropped below
        tables = [make_table(s, n) for s, n in padded]
        seeds = [s for s, _ in padded]
        prefix = f"{name}_r{round_}"
        out = table_sweep(run, prefix, model, tables, seeds, d, m, pad_like=largest, **sweep_options)
        done.append((requests, {k[len(prefix) + 1 :]: v for k, v in out.items()}))
        return [accuracy(*instance(out, prefix, i)) for i in range(len(requests))]

    search_capacity(evaluate, np.asarray(candidates), n_seeds, threshold, points, rounds)
    arrays = {f"{name}_log_steps": done[0][1]["log_steps"]}
    for key in (k for k in done[0][1] if k != "log_steps"):
        arrays[f"{name}_{key}"] = np.concatenate([out[key][: len(req)] for req, out in done])
    arrays[f"{name}_seed"] = np.array([s for req, _ in done for s, _ in req])
    arrays[f"{name}_n_facts"] = np.array([n for req, _ in done for _, n in req])
    return arrays


def instance(arrays: dict, name: str, i: int) -> tuple[dict, dict]:
    """(params, table) of instance i of sweep `name` in a table_sweep's (or search_cell's) arrays."""
    names = ("W",) if f"{name}_W" in arrays else ("W_in", "b", "W_out")
    params = {k: np.asarray(arrays[f"{name}_{k}"][i]) for k in names}
    return params, instance_table(arrays, i, prefix=f"{name}_")


def cell_capacities(arrays: dict, name: str, n_seeds: int, threshold: float) -> tuple[list, np.ndarray, list]:
    """A searched cell's (tried: per seed [[N, accuracy], ...] in increasing N; capacity per seed [seeds];
    status per seed) from search_cell's arrays (capacity())."""
    n_facts, seeds = arrays[f"{name}_n_facts"], arrays[f"{name}_seed"]
    acc = np.array([accuracy(*instance(arrays, name, i)) for i in range(n_facts.size)])
    tried, caps, statuses = [], [], []
    for s in range(n_seeds):
        order = np.flatnonzero(seeds == s)[np.argsort(n_facts[seeds == s])]
        tried.append([[int(n_facts[i]), round(float(acc[i]), 4)] for i in order])
        c, status = capacity(n_facts[order], acc[order], threshold)
        caps.append(c)
        statuses.append(status)
    return tried, np.array(caps), statuses


def snapshot_storage(arrays: dict, prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Margin shares [k, m, N], accuracy [k] and step [k] of the one instance whose weights were kept as it
    learned (snapshot_<param> [1, k, ...] beside snapshot_steps [k]; its table under `prefix`)."""
    table = instance_table(arrays, 0, prefix=prefix)
    steps = arrays["snapshot_steps"]
    shares, acc = [], []
    for k in range(steps.size):
        params = {p: arrays[f"snapshot_{p}"][0, k] for p in ("W_in", "b", "W_out")}
        shares.append(margin_shares(margin_contributions(params, table)))
        acc.append(accuracy(params, table))
    return np.stack(shares), np.array(acc), steps


# Published fits (paper.md §7): parameter measure = constant * N (ln N if log_n), and the model each is for.
PUBLISHED = {
    "and32": {"constant": 1.2, "log_n": False, "what": "m d = 1.2 N (32 classes)"},
    "andN": {"constant": 0.35, "log_n": True, "what": "m d = 0.35 N ln N (N classes)"},
    "linear": {"constant": 1.3, "log_n": True, "what": "d^2 = 1.3 N ln N (linear d x d memory, N classes)"},
}
BITS_PER_PARAMETER = 2.0  # Allen-Zhu and Li


def parameter_measure(setting: str, d: int, m: int) -> int:
    """The parameter measure the published fit uses: m d for the MLPs, d^2 for the linear memory."""
    return d * d if setting == "linear" else m * d


def published_facts(setting: str, x) -> np.ndarray:
    """N the published fit gives for parameter measure x."""
    return facts_for(x, PUBLISHED[setting]["constant"], PUBLISHED[setting]["log_n"])


def sweep_name(setting: str, d: int, m: int) -> str:
    return f"{setting}_d{d}" if setting == "linear" else f"{setting}_d{d}_m{m}"


def rounded(x, digits: int):
    return None if x is None else round(x, digits)


def capacity_table(arrays: dict, cells: list, n_seeds: int, threshold: float, n_attributes: int) -> dict:
    """Per setting (PUBLISHED) of the searched cells [(setting, d, m)]: every cell's tried N and accuracies
    per seed, capacity per seed and mean +- standard error, status ("ok", or a bound: "below"/"above"),
    parameters, facts and bits (log2 of the classes, n_attributes for "and32", else N) per parameter; the
    exponent and constant of the law fitted against the parameter measure (fit_law), per seed and as mean +-
    standard error, and whether every capacity lies inside its searched range (all_ok)."""
    out: dict = {}
    for setting, d, m in cells:
        tried, caps, statuses = cell_capacities(arrays, sweep_name(setting, d, m), n_seeds, threshold)
        params, statuses = d * d if setting == "linear" else 2 * m * d + m, sorted(set(statuses))
        cap, se = mean_se(caps)
        bits = cap * np.log2(n_attributes if setting == "and32" else cap) / params  # N classes: log2 N bits
        x = parameter_measure(setting, d, m)
        row = {"d": d, "m": m, "measure": x, "parameters": params, "tried": tried}
        row.update(
            capacity_per_seed=caps.round(1).tolist(), capacity=round(cap, 1), capacity_se=rounded(se, 1)
        )
        row.update(status="ok" if statuses == ["ok"] else "+".join(statuses))
        row.update(
            published=round(float(published_facts(setting, x)), 1), facts_per_parameter=round(cap / params, 3)
        )
        out.setdefault(setting, {"cells": []})["cells"].append(
            {**row, "bits_per_parameter": round(float(bits), 2)}
        )
    for setting, res in out.items():
        rows = res["cells"]
        by_seed = np.array([r["capacity_per_seed"] for r in rows]).T  # [seeds, cells]
        law = fit_law([r["measure"] for r in rows], by_seed, PUBLISHED[setting]["log_n"])
        res.update(exponent=round(law["exponent"], 3), exponent_se=rounded(law["exponent_se"], 3))
        res.update(constant=round(law["constant"], 3), constant_se=rounded(law["constant_se"], 3))
        res.update(constant_per_seed=np.round(law["constants"], 3).tolist())
        res.update(published_constant=PUBLISHED[setting]["constant"], published=PUBLISHED[setting]["what"])
        res.update(all_ok=all(r["status"] == "ok" for r in rows))
        for key, digits in (("facts_per_parameter", 3), ("bits_per_parameter", 2)):
            res[key] = round(float(np.mean([r[key] for r in rows])), digits)
    return out


def most_packed(arrays: dict, cells: list, threshold: float) -> dict:
    """Among the searched "and32" cells [(setting, d, m)], the model with the most facts per neuron that
    still stores >= threshold of them, and how (storage); {"found": False} if none does."""
    stored = [
        (n / m, name, i, d, m)
        for setting, d, m in cells
        if setting == "and32"
        for name in [sweep_name(setting, d, m)]
        for i, n in enumerate(arrays[f"{name}_n_facts"])
        if accuracy(*instance(arrays, name, i)) >= threshold
    ]
    if not stored:
        return {"found": False}
    _, name, i, d, m = max(stored, key=lambda t: t[0])  # the first of equals, as a strict > scan keeps
    return {
        "found": True,
        "name": name,
        "index": i,
        "d": d,
        "m": m,
        **storage(*instance(arrays, name, i)),
    }


def candidates(setting: str, d: int, m: int, low: float, high: float, facts_per_name: int) -> np.ndarray:
    """[k] the N a cell's search may try: nested table sizes (any N for the linear memory's single-token
    keys) from `low` to `high` times the published N."""
    center = float(published_facts(setting, parameter_measure(setting, d, m)))
    lo, hi = int(np.ceil(center * low)), int(np.floor(center * high))
    n = np.arange(1, hi + 1) if setting == "linear" else nested_sizes(hi, facts_per_name)
    return n[n >= lo]


def handbuilt_accuracy(
    dims, n_seeds: int, n_facts: int, n_attributes: int, facts_per_name: int, root_seed: int
):
    """[dims, seeds] the hand-built AND model's accuracy (and_model) with random unit tokens in each d, a
    table of n_facts per (d, seed) seeded by (root_seed, 20, d, seed). No training."""
    acc = np.zeros((len(dims), n_seeds))
    for i, d in enumerate(dims):
        for s in range(n_seeds):
            rng = np.random.default_rng([root_seed, 20, d, s])
            table = fact_table(rng, n_facts, d, n_attributes, facts_per_name)
            acc[i, s] = accuracy(and_model(table), table)
    return acc


def storage_summary(found: dict) -> dict:
    """most_packed's result in JSON-able numbers: where it is, its facts, accuracy, facts per neuron, the
    medians of neurons per fact (participation and main), facts served per neuron, AND fraction and score."""
    if not found["found"]:
        return {"found": False}
    out = {"found": True, "sweep": found["name"], "instance": found["index"]}
    out.update({k: found[k] for k in ("d", "m", "n_facts")}, accuracy=round(found["accuracy"], 4))
    out["facts_per_neuron"] = round(found["facts_per_neuron"], 2)
    out["neurons_per_fact_median"] = round(float(np.median(found["neurons_per_fact"])), 2)
    for key in ("main_neurons_per_fact", "facts_served_per_neuron"):
        out[f"{key}_median"] = float(np.median(found[key]))
    out["and_fraction"] = round(found["and_fraction"], 3)
    return {**out, "and_score_median": round(found["and_score_median"], 3) + 0.0}  # + 0.0: never -0.0


def width_rows(arrays: dict, widths, n_seeds: int, n_facts: int) -> list[dict]:
    """Per width m (sweeps width_m<m> of n_seeds tables of n_facts): facts per neuron, and per seed the
    accuracy, median neurons per fact, AND fraction and median AND score (storage)."""
    rows = []
    for m in widths:
        per_seed = [storage(*instance(arrays, f"width_m{m}", s)) for s in range(n_seeds)]
        row = {
            "m": m,
            "facts_per_neuron": n_facts / m,
            "accuracy": [round(r["accuracy"], 4) for r in per_seed],
        }
        row["neurons_per_fact_median"] = [round(float(np.median(r["neurons_per_fact"])), 2) for r in per_seed]
        row["and_fraction"] = [round(r["and_fraction"], 3) for r in per_seed]
        rows.append({**row, "and_score_median": [round(r["and_score_median"], 3) + 0.0 for r in per_seed]})
    return rows
