"""The sparse memorization model (Henighan et al. 2023): the ReLU-output model x' = ReLU(W^T W x + b) trained
full batch on a finite stored set of sparse unit-norm points, with its loss read from the set in coordinate
format and its dense part's gradient written out.

Owns: drawing the points and laying them out (`sample_points`, `to_coo`, `densify`, `padded_size`), the
blocked output energy with its hand-written gradient (`output_energy`, `block_size`), the models
(`SparseReluOutput`, and `DenseReluOutput`, the same loss on a dense batch, the baseline it is timed
against), `StoredSet` (the full-batch sampler reading each instance's set from hyper.extra) and the numpy
timing of the three forms (`step_seconds`). Does not: choose sets, sizes or buckets (the
experiment), or measure the results (superpose.analysis.memorization: per-point losses, hidden vectors).

Why coordinate format: an input has about n p active features of n, so a set is stored as its non-zero
entries (feature, point, value) [nnz] instead of a dense [n, T] array; the model gathers the nnz columns of W
it needs for h = W x (a sorted segment sum) and for the outputs of the active features. The reconstruction
is still dense over all n features (an inactive feature whose output is positive costs loss), so a step stays
O(n T m); its value and gradient run over blocks of points that stay in cache. At the published scale a dense
T=50,000 set is 2 GB per instance, the sparse one 6 MB.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from superpose.config import ConfigError
from superpose.models.autoencoders import ReluOutput

# --- the data: sparse unit-norm points in coordinate format ----------------------------------------------


def sample_points(rng: np.random.Generator, n_points: int, n_features: int, feature_prob: float) -> list:
    """n_points inputs, each feature active with probability feature_prob at Uniform[0, 1] magnitude, then
    rescaled to unit norm (a point with no active feature is drawn again). Returns one (indices, values) per
    point; `to_coo` lays them out for the model."""
    points = []
    while len(points) < n_points:
        active = rng.random((min(4096, n_points - len(points)), n_features)) < feature_prob
        for row in active:
            idx = np.flatnonzero(row)
            if idx.size:
                val = rng.random(idx.size)
                points.append((idx, val / np.linalg.norm(val)))
    return points


def to_coo(points: list, nnz: int | None = None, size: int | None = None):
    """Points -> (feature, point, value) [nnz] int32, int32, float32: every non-zero entry, points in order.
    Padding entries (up to nnz) have value 0 at feature 0 of the last point slot (size - 1): they add
    nothing to h = W x nor to the loss, and keep `point` sorted."""
    size = len(points) if size is None else size
    count = sum(i.size for i, _ in points)
    nnz = count if nnz is None else nnz
    feature = np.zeros(nnz, np.int32)
    point = np.full(nnz, size - 1, np.int32)
    value = np.zeros(nnz, np.float32)
    feature[:count] = np.concatenate([i for i, _ in points])
    point[:count] = np.repeat(np.arange(len(points)), [i.size for i, _ in points])
    value[:count] = np.concatenate([v for _, v in points])
    return feature, point, value


def densify(
    feature: np.ndarray, point: np.ndarray, value: np.ndarray, n_features: int, size: int
) -> np.ndarray:
    """Coordinate entries -> x [n_features, size] dense."""
    x = np.zeros((n_features, size), np.float32)
    np.add.at(x, (feature, point), value)
    return x


def padded_size(T: int, buckets: tuple[int, ...]) -> int:
    """The smallest bucket that holds a set of T points (T itself if none does): sets padded to the same
    size train in one compiled sweep, so buckets trade padded work against compiles."""
    return min([b for b in buckets if b >= T], default=T)


# --- the model and the full-batch sampler ---------------------------------------------------------------


def _output_energy_blocks(W, b, h, weight, block: int):
    """sum_t weight_t sum_i ReLU(W^T h + b)_it^2 and its gradients (W, b, h), a block of points at a time.

    Computed in the inputs' common dtype; each gradient is returned in its input's dtype. A set whose size
    is not a multiple of the block is padded with points of weight 0 (they add nothing, value or gradient).
    """
    m, T = h.shape
    dtype = jnp.result_type(W, b, h, weight)
    n_blocks = -(-T // block)
    pad = n_blocks * block - T
    h_pad = jnp.pad(h.astype(dtype), ((0, 0), (0, pad)))
    w_pad = jnp.pad(weight.astype(dtype), (0, pad))
    h_blocks = h_pad.reshape(m, n_blocks, block).transpose(1, 0, 2)  # [blocks, m, block]
    w_blocks = w_pad.reshape(n_blocks, block)
    W_, b_ = W.astype(dtype), b.astype(dtype)

    def one(carry, xs):
        value, grad_W, grad_b = carry
        h_k, w_k = xs
        out = jax.nn.relu(W_.T @ h_k + b_[:, None])  # [n, block]
        g = 2.0 * out * w_k[None, :]  # d value / d (W^T h + b)
        return (value + jnp.sum(out * g) / 2.0, grad_W + h_k @ g.T, grad_b + jnp.sum(g, axis=1)), W_ @ g

    zero = (jnp.zeros((), dtype), jnp.zeros_like(W_), jnp.zeros_like(b_))
    (value, grad_W, grad_b), grad_h = jax.lax.scan(one, zero, (h_blocks, w_blocks))
    grad_h = grad_h.transpose(1, 0, 2).reshape(m, n_blocks * block)[:, :T]
    return value, (grad_W.astype(W.dtype), grad_b.astype(b.dtype), grad_h.astype(h.dtype))


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _output_energy(W, b, h, weight, block: int):
    return _output_energy_blocks(W, b, h, weight, block)[0]


def output_energy(W, b, h, weight, block: int):
    """sum_t weight_t sum_i ReLU(W^T h_t + b)_i^2: W [m, n], b [n], h [m, T], weight [T]; any float dtype
    (computed in their common one); block >= 1 points (more than T: one block of T; a size it does not
    divide: padded with points of weight 0).

    Its value and gradient come from one pass over blocks of `block` points, so the [n, block] outputs and
    their gradient stay in cache; autodiff of the plain expression writes the whole [n, T] output and its
    mask to memory and reads them back, which measured about 2x slower per step (n=1,000, T=1,024-2,048,
    m=2, blocks of 64 on the 2-core CPU; 16, 32, 128 and 256 were slower than 64). weight gets no gradient.
    """
    if not isinstance(block, int | np.integer) or block < 1:
        raise ConfigError(f"output_energy: block must be a positive number of points, got {block!r}")
    return _output_energy(W, b, h, weight, min(int(block), h.shape[1]))


def _output_energy_fwd(W, b, h, weight, block):
    value, grads = _output_energy_blocks(W, b, h, weight, block)
    return value, (grads, weight)


def _output_energy_bwd(block, residuals, cotangent):
    (grad_W, grad_b, grad_h), weight = residuals
    return (
        (cotangent * grad_W).astype(grad_W.dtype),
        (cotangent * grad_b).astype(grad_b.dtype),
        (cotangent * grad_h).astype(grad_h.dtype),
        jnp.zeros_like(weight),
    )


_output_energy.defvjp(_output_energy_fwd, _output_energy_bwd)


def block_size(n_features: int, size: int) -> int:
    """Points per block of `output_energy`: the largest divisor of size up to 2^16 / n_features points (an
    [n, block] float32 block near 256 KB, which fits the L2 cache)."""
    target = max(8, 2**16 // n_features)
    return max(d for d in range(1, min(size, target) + 1) if size % d == 0)


@dataclasses.dataclass(frozen=True)
class SparseReluOutput(ReluOutput):
    """The ReLU-output model, x' = ReLU(W^T W x + b), whose loss reads a training set in coordinate format.

    batch = (feature, point, value [nnz], weight [T]); loss = sum_t weight_t sum_i (x_it - x'_it)^2 with
    weight 1/T on the set's points and 0 on padding. Per point, sum_i (x_i - x'_i)^2 = sum_i x'_i^2 +
    sum_active (x_i^2 - 2 x_i x'_i): a dense sum over features of the outputs (`output_energy`, blocks of
    `block` points; None: plain autodiff) plus a correction on the active entries, whose outputs are
    recomputed from the gathered columns. Measured against [k, T] padded index arrays (k the most active
    features of any point), the coordinate form ran the sparse part 8x faster (n=1,000, T=2,048).
    """

    block: int | None = None

    def default_sampler(self):
        return StoredSet()

    def loss(self, params, batch, hyper):
        feature, point, value, weight = batch
        W, b = params["W"], params["b"]
        W_active = W[:, feature]  # [m, nnz]
        h = jax.ops.segment_sum(
            (W_active * value[None, :]).T, point, weight.shape[0], indices_are_sorted=True
        ).T
        out_active = jax.nn.relu(jnp.sum(W_active * h[:, point], axis=0) + b[feature])  # [nnz]
        correction = jnp.sum(weight[point] * value * (value - 2.0 * out_active))
        if self.block is None:
            out = jax.nn.relu(W.T @ h + b[:, None])
            return jnp.sum(weight * jnp.sum(out**2, axis=0)) + correction
        return output_energy(W, b, h, weight, self.block) + correction


@dataclasses.dataclass(frozen=True)
class DenseReluOutput(ReluOutput):
    """The same loss on a dense batch (x [n, T], weight [T]): the baseline `measure_representation` times."""

    def loss(self, params, batch, hyper):
        x, weight = batch
        return jnp.sum(weight * jnp.sum((x - self.apply(params, x)) ** 2, axis=0))


@dataclasses.dataclass(frozen=True)
class StoredSet:
    """Full batch: every step sees the instance's whole stored training set (hyper.extra feature, point,
    value, weight)."""

    def draw(self, key, hyper, cfg):
        extra = hyper.extra
        return extra["feature"], extra["point"], extra["value"], extra["weight"]


def step_seconds(params: dict, variants: dict, n_steps: int = 20, rounds: int = 5) -> dict[str, float]:
    """Seconds per full-batch step (value and gradient, an SGD update) of each variant {name: (model,
    batch)} from the same params: each variant's best of `rounds` runs of n_steps compiled steps, the
    variants interleaved within every round so a change in the machine's load hits all of them."""
    import time

    runs = {name: _steps_fn(model, n_steps) for name, (model, _) in variants.items()}
    for name, (_, batch) in variants.items():
        jax.block_until_ready(runs[name](params, batch))  # compile
    best = dict.fromkeys(variants, np.inf)
    for _ in range(rounds):
        for name, (_, batch) in variants.items():
            t0 = time.perf_counter()
            jax.block_until_ready(runs[name](params, batch))
            best[name] = min(best[name], (time.perf_counter() - t0) / n_steps)
    return best


@functools.lru_cache(maxsize=8)
def _steps_fn(model, n_steps: int):
    """n_steps gradient-descent steps (value_and_grad + an SGD update) as one compiled scan."""

    @jax.jit
    def run(params, batch):
        def step(p, _):
            loss, grads = jax.value_and_grad(model.loss)(p, batch, None)
            return jax.tree.map(lambda a, g: a - 1e-3 * g, p, grads), loss

        return jax.lax.scan(step, params, None, length=n_steps)[1]

    return run


def stored_sets(sets: list[list], size: int) -> dict:
    """hyper.extra for StoredSet, one instance per set (each a list of points from `sample_points`): the
    entries in coordinate format, padded to `size` points and to a common nnz (a multiple of 64), and the
    weights [instances, size], 1/T on a set's T points and 0 on padding."""
    nnz = -(-max(sum(i.size for i, _ in points) for points in sets) // 64) * 64
    entries = [to_coo(points, nnz, size) for points in sets]
    weight = np.zeros((len(sets), size), np.float32)
    for a, points in enumerate(sets):
        weight[a, : len(points)] = 1.0 / len(points)
    names = ("feature", "point", "value")
    return {**{k: np.stack([e[i] for e in entries]) for i, k in enumerate(names)}, "weight": weight}


def pack_sets(sets: list[list]) -> dict[str, np.ndarray]:
    """Sets of points, one after another in coordinate format, for the run store: feature, point, value
    [total nnz] (points numbered within their set) and each set's start and nnz [sets]. `unpack_set` reads
    one back."""
    coo = [to_coo(points) for points in sets]
    out = {k: np.concatenate([c[i] for c in coo]) for i, k in enumerate(("feature", "point", "value"))}
    nnz = np.array([c[0].size for c in coo])
    return {**out, "start": np.cumsum(np.concatenate([[0], nnz]))[:-1], "nnz": nnz}


def unpack_set(packed: dict, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Set j of `pack_sets` (its keys, or the same keys under a common prefix removed): (feature, point,
    value) [nnz]."""
    part = slice(int(packed["start"][j]), int(packed["start"][j] + packed["nnz"][j]))
    return packed["feature"][part], packed["point"][part], packed["value"][part]


def representation_costs(points: list, n_features: int, size: int, params: dict) -> dict:
    """What the sparse form saves on one set (padded to `size` points), from the same params: seconds per
    full-batch step (step_seconds) of the dense input x [n, size] and the sparse one under plain autodiff
    and blocked (as trained), keyed "<form>_step_s", and the bytes of each form ("sparse_bytes",
    "dense_bytes")."""
    feature, point, value = to_coo(points, size=size)
    x = densify(feature, point, value, n_features, size)
    weight = np.zeros(size, np.float32)
    weight[: len(points)] = 1.0 / len(points)
    sparse = (feature, point, value, weight)
    variants = {
        "dense": (DenseReluOutput(), (x, weight)),
        "sparse": (SparseReluOutput(), sparse),
        "sparse_blocked": (SparseReluOutput(block=block_size(n_features, size)), sparse),
    }
    out = {f"{name}_step_s": t for name, t in step_seconds(params, variants).items()}
    return {**out, "sparse_bytes": feature.nbytes + point.nbytes + value.nbytes, "dense_bytes": x.nbytes}
