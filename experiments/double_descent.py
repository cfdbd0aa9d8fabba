"""Memorization and double descent (Henighan et al. 2023): the ReLU-output model on finite training sets.

Setting: n features at density p (S = 1 - p), each input rescaled to unit norm; T training points sampled
once per (T, seed) and stored with the run; loss (1/T) sum_x sum_i (x_i - x'_i)^2 on the whole set every step
(full batch), AdamW with linear warmup to lr then cosine decay; a held-out test set of fresh points.
Published (n=10,000, S=0.999, m=2, 50,000 steps): small T -> the training points' hidden vectors form a
T-gon (data dimensionality m/T) and features do not; large T -> features form a pentagon-like polytope and
the model generalizes; the test loss peaks in between (about 1.0 for m=2, T ~ 700..5,000) and the peak moves
to larger T as m grows; weight decay 1.0 instead of 1e-2 removes it.

Full mode is the reduced replication's scale (n=1,000, S=0.99: still about 10 active features per point;
T = 3..2,000; m = 2 and 5; 10,000 steps, published 50,000, warmup the same 5%; one set per T, four per
T <= 10): about 5-6 minutes on the 2-core CPU at load 1-3. Here two points of a set share an active feature
about 1 time in 10 (published: 1 in 100), and such points cannot sit at separate corners; with fits that
also stop in local minima beyond T = 3m, the T-gon check reads 2m < T <= 3m (`gon_sizes`). The published
scale, where an accelerator is present: `--set n_features=10000 feature_prob=0.001 n_steps=50000 ...`.

The model, its sets in coordinate format and its blocked loss with a hand-written gradient, and the timing of
dense against sparse that the summary reports: superpose/models/memorization.py. One compiled sweep per (m,
bucket) (ctx.sweep: the instances are no Cartesian grid for a Study, and each carries its own stored set).
"""

from __future__ import annotations

import dataclasses
import sys

import jax
import numpy as np

from superpose.analysis import memorization as measure
from superpose.config import TrainConfig, make_hyper
from superpose.lab import Experiment, check, main
from superpose.lab.fields import count, nonnegative, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.models import memorization as mem
from superpose.plots import double_descent as dd_plots
from superpose.sweep import Sweep

WD_SHRINK = 0.1  # weight decay 1 "removes" the bump: at most a tenth of its height at weight decay 1e-2
PEAK_MIN = (
    0.1  # the test-loss peak stands >= 10% above the higher end (measured 80% quick; 1% at weight decay 1)
)
FEATURE_RATIO = 2.0  # largest T: feature D >= 2x data point D (measured 3.5x quick, 6x full, 1.25x untrained)
# Per-T means over seeds in the summary (key, decimals), and those the dimensionality check reads at the ends.
SUMMARY = [("train_loss", 4), ("test_loss", 4), ("max_data_dim", 3), ("max_feature_dim", 3)]
SUMMARY += [("features_norm_over_half", None)]
ENDS = ("max_feature_dim", "max_data_dim", "features_norm_over_half", "median_data_norm")
STEP_FORMS = ("dense", "sparse", "sparse_blocked")  # mem.representation_costs


@dataclasses.dataclass(frozen=True)
class Config:
    n_features: int = count(1_000)  # published 10,000; the reduced replication's 1,000 fits the CPU
    feature_prob: float = probability(0.01)  # S = 0.99 (published 0.999): ~10 active features either way
    n_hidden: tuple[int, ...] = count((2, 5))  # the first is the main m; the others show the peak moving
    set_sizes: tuple[int, ...] = count((3, 5, 6, 8, 10, 15, 30, 50, 100, 200, 500, 1000, 2000))  # T
    n_seeds: int = count(1)  # training sets (and inits) per T; losses are averaged over them
    small_seeds: int = count(4)  # per T <= 10 (cheap, in the smallest bucket): more sets for the T-gon check
    n_steps: int = steps(10_000)  # published 50,000: the CPU budget (see the module docstring)
    warmup_steps: int = count(500, minimum=0)  # published 2,500 of 50,000: the same 5%
    lr: float = positive(1e-3)
    weight_decay: float = nonnegative(1e-2)
    large_weight_decay: float = nonnegative(1.0)  # the comparison, run for the first m only
    n_test: int = count(2_000)  # held-out points, one set shared by every model
    # A set pads to the smallest bucket holding it; one compiled sweep per bucket and m (each compile costs
    # seconds, padding costs steps): these pad the default sizes by 17% in 5 compiles.
    buckets: tuple[int, ...] = count((16, 128, 512, 1024, 2048))
    seed: int = seed(0)  # root seed (training sets, test set, inits)


QUICK = {  # n=200 at density 0.03: 6 active, two points share a feature 1 time in 6 (full scale: 1 in 10)
    "n_features": 200,
    "feature_prob": 0.03,
    "n_hidden": (2,),
    "set_sizes": (5, 6, 8, 30, 60, 100, 300),
    "buckets": (16, 128, 300),
    "small_seeds": 3,
    "n_test": 1_000,
}


def seeds_of(cfg: Config, T: int) -> range:
    """The training sets of size T: n_seeds of them, or small_seeds if more and T <= 10."""
    return range(max(cfg.n_seeds, cfg.small_seeds) if T <= 10 else cfg.n_seeds)


def instances(cfg: Config) -> list[dict]:
    """Every model trained: (m, weight decay, T, seed), the large weight decay for the first m only."""
    out = []
    for j, m in enumerate(cfg.n_hidden):
        for wd in (cfg.weight_decay, cfg.large_weight_decay) if j == 0 else (cfg.weight_decay,):
            for T in cfg.set_sizes:
                out.extend({"m": m, "wd": wd, "T": T, "seed": s} for s in seeds_of(cfg, T))
    return out


def draw_sets(cfg: Config) -> tuple[dict[tuple[int, int], list], list]:
    """({(T, seed): T points}, the test points), each set from its own stream (independent of the others)."""

    def draw(key: tuple[int, int], size: int) -> list:
        return mem.sample_points(
            np.random.default_rng([cfg.seed, *key]), size, cfg.n_features, cfg.feature_prob
        )

    sets = {(T, s): draw((T, s), T) for T in cfg.set_sizes for s in seeds_of(cfg, T)}
    return sets, draw((0, 2**31), cfg.n_test)


def train(cfg: Config, ctx) -> dict:
    sets, test = draw_sets(cfg)
    order = sorted(sets)
    arrays = {f"train_{k}": v for k, v in mem.pack_sets([sets[key] for key in order]).items()}
    arrays.update(set_T=np.array([T for T, _ in order]), set_seed=np.array([s for _, s in order]))
    arrays["test_feature"], arrays["test_point"], arrays["test_value"] = mem.to_coo(test)
    # Full batch (the padded set) every step; the final loss is the (deterministic) full-batch training loss.
    options = {"n_steps": cfg.n_steps, "schedule": "warmup_cosine", "warmup_steps": cfg.warmup_steps}
    options["eval_batches"] = 1
    for m in cfg.n_hidden:
        mine = [r for r in instances(cfg) if r["m"] == m]
        parts = []  # (rows of `mine`, SweepResult) per bucket
        for size in sorted({mem.padded_size(r["T"], cfg.buckets) for r in mine}):
            rows = [j for j, r in enumerate(mine) if mem.padded_size(r["T"], cfg.buckets) == size]
            extra = mem.stored_sets([sets[mine[j]["T"], mine[j]["seed"]] for j in rows], size)
            decay = np.array([mine[j]["wd"] for j in rows], np.float32)
            hyper = make_hyper(len(rows), cfg.n_features, lr=cfg.lr, weight_decay=decay, extra=extra)
            seeds = np.array([mine[j]["seed"] for j in rows])
            model = mem.SparseReluOutput(block=mem.block_size(cfg.n_features, size))
            train_cfg = TrainConfig(cfg.n_features, m, **options, batch_size=size)
            # Devices as the core chooses them (one for one instance, so a large set is not padded to two).
            sweep = Sweep(model, mem.StoredSet(), train_cfg, hyper, seeds, cfg.seed)
            parts.append((rows, ctx.sweep(f"m{m}_T{size}", sweep)))
        back = np.argsort(np.concatenate([rows for rows, _ in parts]))  # bucket order -> instance order
        for key, get in (("W", "params"), ("b", "params"), ("final_loss", None), ("loss", None)):
            got = [getattr(res, get)[key] if get else getattr(res, key) for _, res in parts]
            arrays[f"m{m}_{key}"] = np.concatenate(got)[back]
        arrays["log_steps"] = parts[0][1].log_steps
        arrays.update({f"m{m}_{k}": np.array([r[k] for r in mine]) for k in ("T", "seed")})
        arrays[f"m{m}_wd"] = np.array([r["wd"] for r in mine], np.float64)
    return {**arrays, **measure_representation(cfg, sets)}


def measure_representation(cfg: Config, sets) -> dict:
    """mem.representation_costs on the largest training set of the first m, as bench_* arrays."""
    T = max(cfg.set_sizes)
    params = ReluOutput().init(jax.random.key(cfg.seed), cfg.n_features, cfg.n_hidden[0])
    costs = mem.representation_costs(sets[T, 0], cfg.n_features, mem.padded_size(T, cfg.buckets), params)
    return {"bench_T": np.int64(T), **{f"bench_{k}": np.asarray(v) for k, v in costs.items()}}


# --- analysis -----------------------------------------------------------------------------------------------


def set_of(arrays: dict, T: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stored training set of size T and seed s: (feature, point, value) [nnz]."""
    j = int(np.flatnonzero((arrays["set_T"] == T) & (arrays["set_seed"] == s))[0])
    return mem.unpack_set({k[6:]: v for k, v in arrays.items() if k.startswith("train_")}, j)


def per_model(arrays: dict, m: int) -> list[dict]:
    """For each model with hidden size m: its T, seed, weight decay and model_measures."""
    test, out = (arrays["test_feature"], arrays["test_point"], arrays["test_value"]), []
    for j, (T, s) in enumerate(zip(arrays[f"m{m}_T"].tolist(), arrays[f"m{m}_seed"].tolist())):
        W, b = arrays[f"m{m}_W"][j], arrays[f"m{m}_b"][j]
        r = measure.model_measures(W, b, set_of(arrays, T, s), T, test, int(test[1].max()) + 1)
        out.append({"T": T, "seed": s, "wd": float(arrays[f"m{m}_wd"][j]), **r})
    return out


def curve(models: list[dict], wd: float, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(T [sizes], mean over seeds of model[key] [sizes]) for the models at weight decay wd."""
    mine = [r for r in models if np.isclose(r["wd"], wd)]
    Ts = sorted({r["T"] for r in mine})
    return np.array(Ts), np.array([np.mean([r[key] for r in mine if r["T"] == T]) for T in Ts])


def gon_sizes(cfg: Config, m: int) -> list[int]:
    """The small T the T-gon check reads: 2m < T <= 3m. Up to 2m points memorise with every pair at >= 90
    degrees at the T-gon's weight norm (|h_j| = |x_j| = 1, zero biases): one zero-loss arrangement among many.
    Beyond 3m (T = 8, 10 for m = 2) fits often stop in local minima in 10,000-20,000 steps, a point dropped
    (|h_j| near 0) or two merged where they share an active feature; the summary lists them."""
    return [T for T in sorted(set(cfg.set_sizes)) if 2 * m < T <= 3 * m]


def analyze(cfg: Config, arrays: dict) -> dict:
    m0, wd0, wd1 = cfg.n_hidden[0], cfg.weight_decay, cfg.large_weight_decay
    models = {m: per_model(arrays, m) for m in cfg.n_hidden}
    per_m = {}
    for m in cfg.n_hidden:
        T, test = curve(models[m], wd0, "test_loss")
        rows = {k: np.round(curve(models[m], wd0, k)[1], d or 99).tolist() for k, d in SUMMARY}
        per_m[str(m)] = {"T": T.tolist(), **rows, "peak": measure.interior_peak(T, test)}
    main_m, mine = per_m[str(m0)], [r for r in models[m0] if np.isclose(r["wd"], wd0)]
    T, peak = np.array(main_m["T"]), main_m["peak"]
    gon = {"checked": [], "other": []}  # (T, seed, error, pairs of points sharing a feature) of small sets
    for r in (r for r in mine if 2 * m0 < r["T"] <= 10):
        pairs = measure.shared_pairs(set_of(arrays, r["T"], r["seed"]))
        row = (r["T"], r["seed"], measure.polygon_error(r["data_dims"], m0), pairs)
        gon["checked" if r["T"] in gon_sizes(cfg, m0) else "other"].append(row)
    ends = {k: curve(models[m0], wd0, k)[1] for k in ENDS}
    lo, hi = ({"T": int(T[i]), **{k: float(ends[k][i]) for k in ENDS}} for i in (0, -1))
    T1, test1 = curve(models[m0], wd1, "test_loss")
    peak1 = measure.interior_peak(T1, test1)
    bump0, bump1 = max(peak["bump"], 0.0), max(peak1["bump"], 0.0)
    checks = [
        check(
            f"m={m0}, small T: the training points' hidden vectors form a regular T-gon",
            gon["checked"] and max(e for _, _, e, _ in gon["checked"]) < 0.05,
            "largest |D_j - m/T| per set (pairs sharing a feature): "
            + ", ".join(f"T={t}: {e:.3f} ({p})" for t, _, e, p in gon["checked"])
            + "; larger T, not checked: "
            + ", ".join(f"T={t}: {e:.3f} ({p})" for t, _, e, p in gon["other"]),
            f"< 0.05 for {2 * m0} < T <= {3 * m0} (paper: data dimensionality m/T)",
        ),
        check(
            f"m={m0}: features, not data points, carry the dimensionality at the largest T "
            "(data points at the smallest)",
            hi["max_feature_dim"] >= FEATURE_RATIO * hi["max_data_dim"]
            and lo["max_data_dim"] > lo["max_feature_dim"],
            f"T={hi['T']}: largest feature D {hi['max_feature_dim']:.2f} vs data point D "
            f"{hi['max_data_dim']:.2f} ({hi['features_norm_over_half']:.0f} features of norm > 0.5, median "
            f"|h_j| {hi['median_data_norm']:.2f}); T={lo['T']}: feature D {lo['max_feature_dim']:.2f} vs data "
            f"point D {lo['max_data_dim']:.2f}",
            f"largest T: feature D >= {FEATURE_RATIO:g}x data point D; smallest T: data point D > feature D "
            "(paper: a pentagon of features vs T-gons)",
        ),
        check(
            f"m={m0}: the test loss has an interior maximum in T",
            peak["interior"] and bump0 >= PEAK_MIN * (peak["loss"] - peak["bump"]),
            f"peak {peak['loss']:.3f} at T={peak['T']}, {peak['bump']:.3f} above the higher end "
            f"(T={int(T[0])}: {main_m['test_loss'][0]:.3f}, T={int(T[-1])}: {main_m['test_loss'][-1]:.3f})",
            f"an interior peak >= {PEAK_MIN:.0%} above the higher end (paper: about 1.0, T ~ 700..5,000)",
        ),
        check(
            f"m={m0}: weight decay {wd1:g} removes the bump",
            bump0 > 0 and bump1 <= WD_SHRINK * bump0,
            f"bump {bump0:.3f} at wd {wd0:g} -> {bump1:.3f} at wd {wd1:g}"
            + (f" ({100 * (1 - bump1 / bump0):.0f}% smaller)" if bump0 > 0 else ""),
            f"a bump at wd {wd0:g}, at most {WD_SHRINK:g} of it at wd {wd1:g} (paper: removed)",
        ),
    ]
    if len(cfg.n_hidden) > 1:
        peaks = [(m, per_m[str(m)]["peak"]["T"]) for m in cfg.n_hidden]
        rising = all(a[1] < b[1] for a, b in zip(peaks, peaks[1:]))
        value = ", ".join(f"m={m}: T={t}" for m, t in peaks)
        checks.append(
            check("the test-loss peak moves to larger T as m grows", rising, value, "increasing in m (paper)")
        )
    return {
        "experiment": "double_descent",
        "per_m": per_m,
        "large_weight_decay": {"wd": wd1, "test_loss": np.round(test1, 4).tolist(), "peak": peak1},
        "representation": {
            "T": int(arrays["bench_T"]),
            **{f"{k}_step_ms": round(1e3 * float(arrays[f"bench_{k}_step_s"]), 3) for k in STEP_FORMS},
            **{
                f"{k}_MiB_per_set": round(float(arrays[f"bench_{k}_bytes"]) / 2**20, 3)
                for k in ("sparse", "dense")
            },
        },
        "checks": checks,
    }


# --- figures --------------------------------------------------------------------------------------------------


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    m0, wd0, wd1 = cfg.n_hidden[0], cfg.weight_decay, cfg.large_weight_decay
    models = {m: per_model(arrays, m) for m in cfg.n_hidden}
    losses = [
        (f"m={m}, wd={wd:g}", *curve(models[m], wd, "train_loss"), curve(models[m], wd, "test_loss")[1])
        for m in cfg.n_hidden
        for wd in ((wd0, wd1) if m == m0 else (wd0,))
    ]
    dims = []
    for m in cfg.n_hidden:
        mine = [r for r in models[m] if np.isclose(r["wd"], wd0) and r["seed"] == 0]
        dims.append((m, *([r[k] for r in mine] for k in ("T", "feature_dims", "data_dims"))))
    title = f"n={cfg.n_features}, S={1 - cfg.feature_prob:g}, {cfg.n_steps:,} steps: "
    title += "test (solid), train (dashed)"
    paths = [dd_plots.curves_figure(f"{out_dir}/double_descent.png", losses, dims, title)]
    if m0 == 2:
        T_all = sorted(set(cfg.set_sizes))
        panels, first = [], (arrays["m2_seed"] == 0) & np.isclose(arrays["m2_wd"], wd0)
        for T in (T_all[1], T_all[len(T_all) // 2], T_all[-1]):
            W = arrays["m2_W"][int(np.flatnonzero(first & (arrays["m2_T"] == T))[0])]
            panels.append((T, measure.hidden_vectors(W, *set_of(arrays, int(T), 0), int(T)), W))
        paths.append(dd_plots.geometry_figure(f"{out_dir}/double_descent_geometry.png", panels))
    return paths


EXPERIMENT = Experiment("double_descent", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
