"""Almost-orthogonal packing: N unit vectors in d dimensions pushed apart by gradient descent (paper.md §7).

3Blue1Brown ("How might LLMs store facts", 2024) packs 10,000 vectors into 100 dimensions with Adam (lr 0.01,
250 full-batch steps) on a penalty on |cos| above 0.01 plus a norm penalty, and says the pairwise angles end
between 89 and 91 degrees. The Welch bound says some pair must have |cos| >= sqrt((N - d) / (d (N - 1))) =
0.0995 (an angle outside 84.3-95.7 degrees); in fact the mean of cos^2 over pairs is at least that squared,
so a typical pair sits there, not inside 89-91. Here: that penalty ("relu", as in the video's code) and a
smoother one ("lse": the log-sum-exp of alpha cos^2 over all pairs, a soft maximum of cos^2), each trained
by the same compiled AdamW loop as the toy models (one sweep per case; full-batch over the N x N Gram
matrix, computed in row blocks with a hand-written gradient so 10,000 x 10,000 never sits in memory whole).

Reported from the stored unit vectors: the angle histogram over all pairs (not a clipped range), the largest
|cos| and its angle, the share of pairs inside 89-91 degrees, the Welch bound and the random start; the best
largest |cos| against N for several d, and how many directions fit at a given tolerance. Tie-back: a small
uniform-superposition sweep of the paper's ReLU toy model, trained here, gives the features it represents
per dimension at each sparsity and the interference (cosines between represented features) it accepts.

`--set n_vectors=N --set dim=D` runs that one case (both penalties) instead of the full study.
"""

from __future__ import annotations

import dataclasses
import functools
import sys

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from superpose import metrics
from superpose.config import TrainConfig, make_hyper, per_instance
from superpose.data import Independent
from superpose.lab import Experiment, main
from superpose.lab.fields import between, count, positive, probability, seed, steps
from superpose.models import ReluOutput
from superpose.plots import packing as packing_plots
from superpose.plots import save
from superpose.sweep import Sweep
from superpose.theory import welch_bound
from superpose.train import instance_keys

PENALTIES = ("relu", "lse")
NEAR_ORTHOGONAL_DEG = 1.0  # the video's claim: every angle within 90 +- 1 degrees


@dataclasses.dataclass(frozen=True)
class Config:
    n_vectors: int | None = count(None)  # with dim: run only this case; None: the full study below
    dim: int | None = count(None)
    headline_vectors: int = count(10_000)  # the video's case
    headline_dim: int = count(100)
    curve_dims: tuple[int, ...] = count((10, 25, 50, 100))  # best largest |cos| against N for these d (() skips);
    # d = 10 sits beside the toy model's m = 10
    curve_ratios: tuple[int, ...] = count((2, 5, 10, 30, 100))  # N = ratio * d; (d, N) of the headline is reused
    n_steps: int = steps(250)  # the video's full-batch Adam steps (a multiple of 50: checkpoints every 50)
    lr: float = positive(0.01)  # the video's Adam learning rate
    threshold: float = positive(0.01)  # relu penalty: sum of (|G - I| - threshold)_+ (the video's code)
    # lse penalty: log sum exp(alpha cos^2) / alpha. Measured on 2,000 vectors in 20-D: alpha 50 left the
    # largest |cos| at 0.518, 200 at 0.505; 1,000 was worse (0.668: too sharp for Adam at lr 0.01).
    alpha: float = positive(200.0)
    # max |cos| for "how many directions fit"
    tolerances: tuple[float, ...] = between((0.2, 0.3, 0.4), 0.0, 1.0, low_open=True, high_open=True)
    # Tie-back: the ReLU toy model of uniform superposition, n features of equal importance in m dimensions.
    toy_features: int = count(100)
    toy_hidden: int = count(10)
    toy_densities: int = count(8)  # log-spaced from 1 to toy_density_min
    toy_density_min: float = probability(0.01)
    toy_steps: int = steps(3_000)
    toy_batch: int = count(1024)
    toy_lr: float = positive(3e-3)
    seed: int = seed(0)  # root seed

    def __post_init__(self) -> None:
        if (self.n_vectors is None) != (self.dim is None):
            raise ValueError("set both n_vectors and dim (one case) or neither (the full study)")
        for n, d in self.cases():
            if n < 2 or d < 1:
                raise ValueError(f"a case needs at least 2 vectors in at least 1 dimension, got N={n}, d={d}")
        if self.n_steps % 50:
            raise ValueError(f"n_steps must be a multiple of 50 (checkpoint spacing), got {self.n_steps}")

    def cases(self) -> list[tuple[int, int]]:
        """(N, d) of every case; the headline (or the one case) first."""
        if self.n_vectors is not None:
            return [(self.n_vectors, self.dim)]
        out = [(self.headline_vectors, self.headline_dim)]
        for d in self.curve_dims:
            out += [(r * d, d) for r in self.curve_ratios if (r * d, d) not in out and r * d >= 2]
        return out


QUICK = {
    "headline_vectors": 1_000,
    "headline_dim": 20,
    "curve_dims": (10,),
    "curve_ratios": (3, 10, 30),
    "n_steps": 150,
    "toy_features": 40,
    "toy_hidden": 5,
    "toy_densities": 4,
    "toy_density_min": 0.05,
    "toy_steps": 1_000,
    "toy_batch": 256,
}


# --- the penalties, with their gradient written out (one instance: V [N, d]) ----------------------------

ROW_BLOCK = 2048  # rows of the Gram matrix per block: 2048 x 10,000 float32 = 80 MB live at a time


def _blocks(V: jax.Array):
    """(padded V [B * k, d], row-validity [B * k], block size B, count k): rows padded to whole blocks."""
    n = V.shape[0]
    k = -(-n // ROW_BLOCK)
    size = -(-n // k)
    pad = size * k - n
    return jnp.concatenate([V, jnp.zeros((pad, V.shape[1]), V.dtype)]), jnp.arange(size * k) < n, size, k


def relu_penalty(V: jax.Array, threshold: float) -> tuple[jax.Array, jax.Array]:
    """(loss, dloss/dV [N, d]) of the video's code: sum_ij (|G - I|_ij - threshold)_+ + N sum_i (G_ii - 1)^2,
    G = V V^T. dL/dG = S (symmetric), so dL/dV = 2 S V, computed one block of rows at a time."""
    n = V.shape[0]
    Vp, valid, size, k = _blocks(V)

    def block(b):
        rows = jax.lax.dynamic_slice_in_dim(Vp, b * size, size)  # [B, d]
        row_ok = jax.lax.dynamic_slice_in_dim(valid, b * size, size)
        G = rows @ V.T  # [B, N]
        eye = (b * size + jnp.arange(size))[:, None] == jnp.arange(n)[None, :]
        diff = G - eye.astype(G.dtype)
        over = (jnp.abs(diff) > threshold) & row_ok[:, None]
        diag = jnp.sum(jnp.where(eye, G, 0.0), axis=1) - 1.0  # G_ii - 1 [B]
        diag = jnp.where(row_ok, diag, 0.0)
        loss = jnp.sum(jnp.where(over, jnp.abs(diff) - threshold, 0.0)) + n * jnp.sum(diag**2)
        S = jnp.where(over, jnp.sign(diff), 0.0)
        grad = 2.0 * (S @ V) + 4.0 * n * diag[:, None] * rows
        return loss, grad

    losses, grads = jax.lax.map(block, jnp.arange(k))
    return jnp.sum(losses), grads.reshape(-1, V.shape[1])[:n]


def lse_penalty(V: jax.Array, alpha: float) -> tuple[jax.Array, jax.Array]:
    """(loss, dloss/dV) of log mean_{i != j} exp(alpha cos_ij^2) / alpha: a soft maximum of cos^2 over pairs.

    cos = U U^T with U the normalised rows. dL/dcos_ij = 2 cos_ij p_ij, p the softmax over pairs; each block
    of rows keeps its own maximum (as flash attention does) and is rescaled once every block is known.
    dL/dv_i = (I - u_i u_i^T) dL/du_i / |v_i|.
    """
    n = V.shape[0]
    norms = jnp.linalg.norm(V, axis=1, keepdims=True)
    U = V / norms
    Up, valid, size, k = _blocks(U)

    def block(b):
        rows = jax.lax.dynamic_slice_in_dim(Up, b * size, size)
        row_ok = jax.lax.dynamic_slice_in_dim(valid, b * size, size)
        C = rows @ U.T  # [B, N]
        eye = (b * size + jnp.arange(size))[:, None] == jnp.arange(n)[None, :]
        pair = ~eye & row_ok[:, None]
        logit = jnp.where(pair, alpha * C**2, -jnp.inf)
        top = jnp.max(logit)
        E = jnp.where(pair, jnp.exp(logit - top), 0.0)
        return top, jnp.sum(E), 4.0 * ((C * E) @ U)  # dL/du rows, before the softmax's normaliser

    tops, sums, grads = jax.lax.map(block, jnp.arange(k))
    lse = jax.nn.logsumexp(tops, b=sums)
    scale = jnp.exp(tops - lse)  # [k]: each block's share of the normaliser
    dU = (grads * scale[:, None, None]).reshape(-1, V.shape[1])[:n]
    dV = (dU - jnp.sum(dU * U, axis=1, keepdims=True) * U) / norms
    return (lse - jnp.log(n * (n - 1.0))) / alpha, dV


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def penalty(V, model):
    return model.value_and_grad(V)[0]


def _penalty_fwd(V, model):
    loss, grad = model.value_and_grad(V)
    return loss, grad


def _penalty_bwd(model, grad, cotangent):
    return (cotangent * grad,)


penalty.defvjp(_penalty_fwd, _penalty_bwd)


@dataclasses.dataclass(frozen=True)
class Packing:
    """N vectors V [N, d] as a model: TrainConfig's n_features = N and n_hidden = d; the loss is the penalty.
    Starts from independent random unit vectors (the random baseline)."""

    kind: str = "relu"
    threshold: float = 0.01
    alpha: float = 200.0

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        V = jax.random.normal(key, (n_features, n_hidden), jnp.float32)
        return {"V": V / jnp.linalg.norm(V, axis=1, keepdims=True)}

    def apply(self, params, x):
        return params["V"]

    def value_and_grad(self, V):
        if self.kind == "relu":
            return relu_penalty(V, self.threshold)
        return lse_penalty(V, self.alpha)

    def loss(self, params, x, hyper):
        return penalty(params["V"], self)


@dataclasses.dataclass(frozen=True)
class NoData:
    """The penalty reads no data: every step is the same full-batch problem."""

    def draw(self, key, hyper, cfg):
        return jnp.zeros((), jnp.float32)


# --- training ------------------------------------------------------------------------------------------


def case_seed(n: int, d: int) -> int:
    """A case's instance seed, from its shape alone: its start is the same in any study that contains it."""
    return n * 1000 + d


def case_name(n: int, d: int, kind: str) -> str:
    return f"{kind}_n{n}_d{d}"


def train(cfg: Config, ctx) -> dict:
    arrays: dict = {"cases": np.array(cfg.cases(), np.int64)}
    for j, (n, d) in enumerate(cfg.cases()):
        kinds = PENALTIES if j == 0 else ("lse",)  # the curve needs only the best packing
        for kind in kinds:
            model = Packing(kind, cfg.threshold, cfg.alpha)
            train_cfg = TrainConfig(
                n, d, batch_size=1, n_steps=cfg.n_steps, log_every=10, chunk_steps=50, eval_batches=1
            )
            hyper = make_hyper(1, n, lr=cfg.lr, weight_decay=0.0)
            # One instance: on one device (a second would train a padded copy).
            sweep = Sweep(
                model, NoData(), train_cfg, hyper, [case_seed(n, d)], cfg.seed, devices=jax.devices()[:1]
            )
            name = case_name(n, d, kind)
            result = ctx.sweep(name, sweep)
            V = result.params["V"][0]
            arrays[f"{name}_vectors"] = V / np.linalg.norm(V, axis=1, keepdims=True)
            arrays[f"{name}_loss"] = result.loss[0]
        # The random unit vectors every penalty of this case started from.
        start = Packing().init(instance_keys(cfg.seed, case_seed(n, d)).init, n, d)["V"]
        arrays[f"random_n{n}_d{d}_vectors"] = np.asarray(start)
    if cfg.n_vectors is None:  # the full study: the tie-back to the toy models
        arrays.update(toy(cfg, ctx))
    return arrays


def toy(cfg: Config, ctx) -> dict:
    """The ReLU toy model of uniform superposition at toy_densities densities (one seed each)."""
    density = (cfg.toy_density_min ** np.linspace(0, 1, cfg.toy_densities)).astype(np.float32)
    n, m = cfg.toy_features, cfg.toy_hidden
    hyper = make_hyper(density.size, n, feature_prob=per_instance(density), lr=cfg.toy_lr)
    train_cfg = TrainConfig(n, m, batch_size=cfg.toy_batch, n_steps=cfg.toy_steps)
    result = ctx.sweep(
        "toy",
        Sweep(ReluOutput(), Independent(), train_cfg, hyper, np.zeros(density.size, np.int64), cfg.seed),
    )
    return {"toy_W": result.params["W"], "toy_b": result.params["b"], "toy_density": density}


# --- analysis ------------------------------------------------------------------------------------------

ANGLE_BINS = np.linspace(0.0, 180.0, 721)  # quarter-degree bins over every possible angle


def pair_stats(U: np.ndarray, block: int = 1000) -> dict:
    """Statistics of |cos| over all N (N - 1) / 2 pairs of the rows of U [N, d] (normalised here).

    Returns max_abs_cos and its pair (i, j), mean_cos2, inside_1deg (share of pairs within 90 +- 1 deg),
    above_welch (share with |cos| above the Welch bound), collapsed_pairs (|cos| > 0.99), quantiles of |cos|
    and the angle histogram counts [720] over ANGLE_BINS. Whole blocks of rows are counted (every pair twice,
    halved at the end) with the self-pairs set to cos 0 and taken back out: cheaper than masking a triangle.
    """
    U = np.asarray(U, np.float32)
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    n, d = U.shape
    welch = float(welch_bound(n, d))
    near = np.sin(np.radians(NEAR_ORTHOGONAL_DEG))  # |cos| below this: angle within 90 +- 1 deg
    n_bins, fine = ANGLE_BINS.size - 1, 4000  # |cos| in 1/4000 steps, for quantiles
    counts = np.zeros(n_bins, np.int64)
    abs_hist = np.zeros(fine + 1, np.int64)
    best, where = -1.0, (0, 1)
    sum_c2 = inside = above = collapsed = 0
    for start in range(0, n, block):
        C = U[start : start + block] @ U.T  # [b, N]
        rows = np.arange(C.shape[0])
        C[rows, start + rows] = 0.0  # self-pairs: cos 0 here, removed from the counts below
        a = np.abs(C)
        k = int(a.argmax())
        if a.flat[k] > best:
            best, where = float(a.flat[k]), (start + k // n, k % n)
        sum_c2 += float(np.einsum("ij,ij->", C, C, dtype=np.float64))
        inside += int(np.count_nonzero(a < near)) - rows.size
        above += int(np.count_nonzero(a > welch))
        collapsed += int(np.count_nonzero(a > 0.99))
        angle_bin = np.minimum(
            (np.degrees(np.arccos(np.clip(C, -1, 1))) * (n_bins / 180)).astype(np.int64), n_bins - 1
        )
        counts += np.bincount(angle_bin.ravel(), minlength=n_bins)
        counts[n_bins // 2] -= rows.size  # the self-pairs' cos 0 (90 degrees)
        abs_hist += np.bincount(np.minimum((a * fine).astype(np.int64), fine).ravel(), minlength=fine + 1)
        abs_hist[0] -= rows.size
    pairs = n * (n - 1) / 2
    counts //= 2
    cdf = np.cumsum(abs_hist // 2) / pairs
    quantiles = {q: float(np.searchsorted(cdf, q) / fine) for q in (0.5, 0.9, 0.99, 0.999, 0.9999)}
    return {
        "n": n,
        "d": d,
        "max_abs_cos": best,
        "max_pair": where,
        "angle_of_max_deg": float(np.degrees(np.arccos(min(best, 1.0)))),
        "mean_cos2": sum_c2 / 2 / pairs,
        "inside_1deg": inside / 2 / pairs,
        "above_welch": above / 2 / pairs,
        "collapsed_pairs": collapsed // 2,
        "quantiles": quantiles,
        "welch": welch,
        "counts": counts,
    }


def all_stats(cfg: Config, arrays: dict) -> dict:
    """{(n, d): {"random": stats, "relu": stats, "lse": stats}} for every case that was trained."""
    out = {}
    for n, d in arrays["cases"].tolist():
        row = {"random": pair_stats(arrays[f"random_n{n}_d{d}_vectors"])}
        for kind in PENALTIES:
            key = f"{case_name(n, d, kind)}_vectors"
            if key in arrays:
                row[kind] = pair_stats(arrays[key])
        out[(n, d)] = row
    return out


def directions_at(ns: np.ndarray, max_cos: np.ndarray, tolerance: float) -> tuple[float, str]:
    """The largest N whose max |cos| stays <= tolerance, interpolated in log N along a curve (N increasing).
    Returns (N, status): "ok", "above" (every N fits: the largest, a lower bound), "below" (none fits)."""
    ns, max_cos = np.asarray(ns, np.float64), np.asarray(max_cos, np.float64)
    over = np.flatnonzero(max_cos > tolerance)
    if over.size == 0:
        return float(ns[-1]), "above"
    j = int(over[0])
    if j == 0:
        return float(ns[0]), "below"
    t = (tolerance - max_cos[j - 1]) / (max_cos[j] - max_cos[j - 1])
    return float(np.exp(np.log(ns[j - 1]) + t * np.log(ns[j] / ns[j - 1]))), "ok"


def curves(cfg: Config, stats: dict) -> dict:
    """Per d of the study: N [k], best max |cos| [k], random max |cos| [k], Welch [k]."""
    out = {}
    for d in sorted({d for _, d in stats}):
        ns = sorted(n for n, dd in stats if dd == d)
        out[d] = {
            "n": np.array(ns),
            "best": np.array(
                [min(stats[(n, d)][k]["max_abs_cos"] for k in PENALTIES if k in stats[(n, d)]) for n in ns]
            ),
            "random": np.array([stats[(n, d)]["random"]["max_abs_cos"] for n in ns]),
            "welch": welch_bound(np.array(ns), d),
        }
    return out


def toy_numbers(arrays: dict, curve: dict) -> list[dict]:
    """Features per dimension (1 / D* = ||W||_F^2 / m) at each density, the cosines between the features the
    model represents (norm > 0.5): the most negative, the most positive and the largest |cos|; and the
    packing's best largest |cos| at the same directions per dimension in as many dimensions (interpolated
    in log N along the curve of d = m, where the study has one and the ratio lies on it)."""
    rows = []
    for W, p in zip(arrays["toy_W"], arrays["toy_density"]):
        m = W.shape[0]
        rep = metrics.represented(W)
        C = metrics.cosines(W)[np.ix_(rep, rep)]
        off = C[~np.eye(int(rep.sum()), dtype=bool)]
        per_dim = float(1.0 / metrics.dimensions_per_feature(W))
        packed = float("nan")
        if m in curve and curve[m]["n"][0] <= per_dim * m <= curve[m]["n"][-1]:
            packed = float(np.interp(np.log(per_dim * m), np.log(curve[m]["n"]), curve[m]["best"]))
        rows.append(
            {
                "density": float(p),
                "features_per_dim": per_dim,
                "represented_per_dim": float(rep.sum() / m),
                "max_positive_cos": float(off.max()) if off.size else float("nan"),
                "most_negative_cos": float(off.min()) if off.size else float("nan"),
                "max_abs_cos": float(np.abs(off).max()) if off.size else float("nan"),
                "packing_max_abs_cos_same_ratio": packed,
            }
        )
    return rows


def _brief(s: dict) -> dict:
    return {
        "max_abs_cos": round(s["max_abs_cos"], 4),
        "angle_of_max_deg": round(s["angle_of_max_deg"], 2),
        "inside_89_91_deg": round(s["inside_1deg"], 4),
        "rms_cos": round(float(np.sqrt(s["mean_cos2"])), 4),
        "above_welch": round(s["above_welch"], 4),
        "collapsed_pairs": s["collapsed_pairs"],
        "abs_cos_quantiles": {str(q): round(v, 4) for q, v in s["quantiles"].items()},
    }


def analyze(cfg: Config, arrays: dict) -> dict:
    stats = all_stats(cfg, arrays)
    (n0, d0) = tuple(arrays["cases"][0])
    head = stats[(n0, d0)]
    welch = head["random"]["welch"]
    welch_deg = float(np.degrees(np.arccos(welch)))
    eps = 1e-6  # float32 vectors: cosines carry about 1e-7 of rounding
    worst_gap = min(s["max_abs_cos"] - s["welch"] for row in stats.values() for s in row.values())
    checks = [
        {
            "name": "the Welch bound is never beaten (every case, every penalty, the random starts)",
            "passed": bool(worst_gap >= -eps),
            "value": f"smallest max|cos| - bound = {worst_gap:.4f} over {sum(len(r) for r in stats.values())} packings",
            "expected": ">= 0",
        },
        {
            "name": f"{n0} in {d0}-D: the smooth penalty packs better than the random start",
            "passed": bool(head["lse"]["max_abs_cos"] < 0.75 * head["random"]["max_abs_cos"]),
            "value": f"max |cos| {head['lse']['max_abs_cos']:.4f} against {head['random']['max_abs_cos']:.4f} at random",
            "expected": "below 0.75x the random start's",
        },
        {
            "name": f"{n0} in {d0}-D: the mean cos^2 sits at the Welch bound's square (no packing can avoid it)",
            "passed": bool(all(head[k]["mean_cos2"] >= welch**2 * (1 - 1e-4) for k in head)),
            "value": ", ".join(f"{k}: rms cos {np.sqrt(head[k]['mean_cos2']):.4f}" for k in head)
            + f"; bound {welch:.4f}",
            "expected": f"rms cos >= {welch:.4f} for every packing",
        },
    ]
    curve = curves(cfg, stats)
    multi = {d: c for d, c in curve.items() if c["n"].size > 1}
    if multi:
        rising = all(np.all(np.diff(c["best"]) > 0) for c in multi.values())
        better = all(np.all(c["best"] < c["random"]) for c in multi.values())
        checks.append(
            {
                "name": "best largest |cos| rises with N at every d, and stays below the random start's",
                "passed": bool(rising and better),
                "value": "; ".join(
                    f"d={d}: " + ", ".join(f"{n}: {b:.3f}" for n, b in zip(c["n"], c["best"]))
                    for d, c in multi.items()
                ),
                "expected": "increasing in N, below random at every N",
            }
        )
    fits = {
        str(t): {
            str(d): dict(zip(("n", "status"), directions_at(c["n"], c["best"], t))) for d, c in multi.items()
        }
        for t in cfg.tolerances
    }
    toy_rows = toy_numbers(arrays, curve) if "toy_W" in arrays else []
    if toy_rows:
        per_dim = [r["features_per_dim"] for r in toy_rows]
        checks.append(
            {
                "name": "toy model: sparser features, more of them per dimension",
                "passed": bool(per_dim[-1] > 1.5 * per_dim[0]),
                "value": ", ".join(f"p={r['density']:.3g}: {r['features_per_dim']:.2f}" for r in toy_rows),
                "expected": "features per dimension at the sparsest density > 1.5x the densest's",
            }
        )
    return {
        "experiment": "packing",
        "headline": {
            "n_vectors": int(n0),
            "dim": int(d0),
            "welch_bound": round(welch, 4),
            "welch_angle_range_deg": [round(welch_deg, 2), round(180 - welch_deg, 2)],
            "claim": "all angles between 89 and 91 degrees (3Blue1Brown)",
            **{k: _brief(v) for k, v in head.items()},
        },
        "curve": {
            str(d): {
                "n": c["n"].tolist(),
                "best_max_abs_cos": np.round(c["best"], 4).tolist(),
                "random_max_abs_cos": np.round(c["random"], 4).tolist(),
                "welch": np.round(c["welch"], 4).tolist(),
            }
            for d, c in curve.items()
        },
        "directions_within_tolerance": fits,
        "toy_model": [{k: None if np.isnan(v) else round(v, 4) for k, v in r.items()} for r in toy_rows],
        "checks": checks,
    }


# --- figures -------------------------------------------------------------------------------------------


def plot(cfg: Config, arrays: dict, out_dir) -> list:
    stats = all_stats(cfg, arrays)
    (n0, d0) = tuple(arrays["cases"][0])
    head = stats[(n0, d0)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    packing_plots.angle_histogram(
        axes[0],
        ANGLE_BINS,
        {f"{k} (max |cos| {s['max_abs_cos']:.3f})": s["counts"] for k, s in head.items()},
        welch=head["random"]["welch"],
        near_deg=NEAR_ORTHOGONAL_DEG,
    )
    axes[0].set_title(
        f"{n0:,} unit vectors in {d0}-D: angles of all {n0 * (n0 - 1) // 2:,} pairs", fontsize=9
    )
    curve = curves(cfg, stats)
    packing_plots.max_cos_curves(axes[1], curve)
    axes[1].set_title("largest |cos| against N", fontsize=9)
    toy_rows = toy_numbers(arrays, curve) if "toy_W" in arrays else []
    if toy_rows:
        packing_plots.tie_back(
            axes[2],
            curve,
            np.array([r["features_per_dim"] for r in toy_rows]),
            np.array([r["max_positive_cos"] for r in toy_rows]),
            np.array([r["max_abs_cos"] for r in toy_rows]),
            np.array([r["density"] for r in toy_rows]),
        )
        axes[2].set_title(
            f"interference accepted: packing vs the ReLU toy model (n={cfg.toy_features}, m={cfg.toy_hidden})",
            fontsize=9,
        )
    else:
        axes[2].set_axis_off()
    fig.tight_layout()
    return [save(fig, f"{out_dir}/packing.png")]


EXPERIMENT = Experiment("packing", Config, train, analyze, plot, QUICK, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
