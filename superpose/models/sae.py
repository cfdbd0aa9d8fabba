"""Sparse autoencoders (SAEs) on activations with known ground-truth directions, under one protocol.

Owns: `SparseAutoencoder` (one instance of one architecture: ReLU + L1, TopK, BatchTopK, JumpReLU with its
straight-through threshold gradient, Matryoshka with nested prefixes), the activation sampler `Activations`
(a = F x with F the instance's true directions, x drawn like the toy models' features), and the optimizer
factory `UnitDecoder` (any base optimizer, then every decoder column put back on the unit sphere after each
step) and dead-latent resampling as an option of it. Does not: train or batch (train.py, sweep.py, Study),
score against the truth (superpose.analysis.sae).

Protocol (as every model, superpose.models): a batch of activations is a [d_input, batch] array (columns are
samples); params V [d_input, k] (decoder directions; the decoder is D = V / |V| column-wise, so the sparsity
penalty cannot be dodged by shrinking codes and growing atoms), W_enc [k, d_input], b_enc [k], b_dec
[d_input], log_theta [k] (JumpReLU's threshold; carried, unread, by the others). Per-instance values read from hyper.extra:
    l1    the sparsity coefficient: L1 of the codes for "relu", L0 (count of active latents) for
          "jumprelu", an extra L1 for the TopK family (0: none)
    size  how many of the k latents this instance uses (the rest are masked to zero: dictionaries of several
          sizes in one compiled sweep); absent: all k
The loss per sample is |a - a'|^2 + l1 * penalty, averaged over the batch (the penalty is not divided by
the dictionary size). Matryoshka (Bussmann et al. 2025; Nabeshima 2024) sums the reconstruction error of
every nested prefix of the dictionary (fractions `prefixes` of its size), so early latents must explain the
data alone and cannot be absorbed by later ones; it selects latents as BatchTopK does.

TopK keeps each sample's k largest pre-activations (Gao et al. 2024). BatchTopK keeps the k * batch largest
over the whole batch (Bussmann et al. 2024), so the number active varies per sample around k; at evaluation
we apply the same batch rule to the evaluation batch (the published version estimates a global threshold
instead; with batches of the training size the two agree up to the batch's own variation). JumpReLU
(Rajamanoharan et al. 2024): c = z H(z - theta) with theta = exp(log_theta) learned through the
straight-through estimator of the Heaviside step (a rectangle kernel of width `bandwidth`).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

ARCHITECTURES = ("relu", "topk", "batchtopk", "jumprelu", "matryoshka")


# --- JumpReLU's step with a straight-through threshold gradient -------------------------------------------


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def heaviside(z, theta, bandwidth):
    """H(z - theta) [k, batch] with d/dtheta = -K((z - theta) / eps) / eps (rectangle K) and d/dz = 0."""
    return (z > theta).astype(z.dtype)


@heaviside.defjvp
def _heaviside_jvp(bandwidth, primals, tangents):
    z, theta = primals
    _, dtheta = tangents
    kernel = (jnp.abs((z - theta) / bandwidth) < 0.5).astype(z.dtype) / bandwidth
    return heaviside(z, theta, bandwidth), -kernel * dtheta


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def jump_relu(z, theta, bandwidth):
    """z H(z - theta) with d/dz = H(z - theta) and the straight-through d/dtheta = -theta K((z-theta)/eps)/eps."""
    return z * (z > theta).astype(z.dtype)


@jump_relu.defjvp
def _jump_relu_jvp(bandwidth, primals, tangents):
    z, theta = primals
    dz, dtheta = tangents
    gate = (z > theta).astype(z.dtype)
    kernel = (jnp.abs((z - theta) / bandwidth) < 0.5).astype(z.dtype) / bandwidth
    return z * gate, dz * gate - theta * kernel * dtheta


# --- the model ---------------------------------------------------------------------------------------------


def _order_key(x) -> jax.Array:
    """float32 -> uint32 with the same order (a monotone bijection: negatives' bits inverted, positives' sign
    bit set; -0 sorts just below +0)."""
    u = jax.lax.bitcast_convert_type(x.astype(jnp.float32), jnp.uint32)
    return jnp.where(u >> 31 == 1, ~u, u | jnp.uint32(1 << 31))


def _from_order_key(key) -> jax.Array:
    u = jnp.where(key >> 31 == 1, key & jnp.uint32(0x7FFFFFFF), ~key)
    return jax.lax.bitcast_convert_type(u, jnp.float32)


def kth_largest(x, k, axis: int | None = None) -> jax.Array:
    """The k-th largest value of x (float32; over all of it, or along `axis`, that axis dropped), exactly as
    jax.lax.top_k(...)[0][..., k - 1] gives it, found by bisection on the order-preserving integer image of
    the floats: 32 counting passes over x instead of a sort. On a CPU top_k had cost TopK and BatchTopK SAEs
    as much as their matmuls; this is 6-15x faster (benchmarks/kth_largest.py, RESULTS.md). k counts from 1
    and must be at most the size."""
    size = x.size if axis is None else x.shape[axis]
    if not 1 <= k <= size:
        raise ValueError(f"kth_largest: k={k} outside 1..{size}")
    key = _order_key(x)
    shape = () if axis is None else tuple(1 if i == axis % x.ndim else n for i, n in enumerate(x.shape))
    lo, hi = jnp.zeros(shape, jnp.uint32), jnp.full(shape, 0xFFFFFFFF, jnp.uint32)

    def halve(_, bounds):  # invariant: at least k keys >= lo, fewer than k keys > hi
        lo, hi = bounds
        gap = hi - lo
        mid = lo + (gap >> 1) + (gap & 1)  # the upper middle, without overflowing uint32
        enough = jnp.sum(key >= mid, axis=axis, keepdims=axis is not None) >= k
        return jnp.where(enough, mid, lo), jnp.where(enough, hi, mid - 1)

    lo, _ = jax.lax.fori_loop(0, 32, halve, (lo, hi))
    value = _from_order_key(lo)
    return value if axis is None else jnp.squeeze(value, axis)


@dataclasses.dataclass(frozen=True)
class SparseAutoencoder:
    """One SAE on activations a [d_input, batch] with a dictionary of `n_hidden` atoms (TrainConfig's n_hidden;
    its n_features is the source's true feature count, which the SAE never sees). See the module docstring.

    arch: one of ARCHITECTURES; k: active latents per sample for topk / batchtopk / matryoshka; prefixes:
    Matryoshka's nested prefix sizes as fractions of the dictionary (the last is 1); bandwidth and theta0:
    JumpReLU's straight-through kernel width and initial threshold (scaled to codes of order 0.1-1, as toy
    magnitudes U[0, 1] give: the published 0.001 suits their normalised LLM activations and, under Adam, which
    moves log theta by about lr per step, leaves the threshold near zero for thousands of steps); tied_init: the encoder starts as the
    decoder's transpose (else an independent random unit matrix, scaled the same); tied: the encoder IS the
    decoder's transpose, W_enc = D^T, at every step (its own W_enc is carried, unread; reported to remove
    feature absorption, Chanin et al. 2024).
    """

    d_input: int
    arch: str = "relu"
    k: int = 0
    prefixes: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0)
    bandwidth: float = 0.05
    theta0: float = 0.1
    tied_init: bool = True
    tied: bool = False
    extras = ("l1", "size")

    def __post_init__(self) -> None:
        from superpose.config import ConfigError

        if self.arch not in ARCHITECTURES:
            raise ConfigError(f"unknown SAE architecture {self.arch!r}; known: {', '.join(ARCHITECTURES)}")
        if self.arch in ("topk", "batchtopk", "matryoshka") and self.k < 1:
            raise ConfigError(f"the {self.arch} SAE needs k >= 1 active latents, got k={self.k}")
        if self.d_input < 1:
            raise ConfigError(f"d_input must be >= 1, got {self.d_input}")

    def default_sampler(self):
        return Activations()

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        """Random unit decoder atoms; the encoder their transpose (tied_init) or independent; biases zero."""
        k_dec, k_enc = jax.random.split(key) if not self.tied_init else (key, None)
        V = jax.random.normal(k_dec, (self.d_input, n_hidden), jnp.float32)
        D = V / jnp.linalg.norm(V, axis=0, keepdims=True)
        if self.tied_init:
            W_enc = D.T
        else:
            U = jax.random.normal(k_enc, (n_hidden, self.d_input), jnp.float32)
            W_enc = U / jnp.linalg.norm(U, axis=1, keepdims=True)
        params = {
            "V": D,
            "W_enc": W_enc,
            "b_enc": jnp.zeros((n_hidden,), jnp.float32),
            "b_dec": jnp.zeros((self.d_input,), jnp.float32),
        }
        # Every architecture carries the threshold (only JumpReLU reads it) so grids over arch share one
        # parameter structure.
        params["log_theta"] = jnp.full((n_hidden,), jnp.log(self.theta0), jnp.float32)
        return params

    def dictionary(self, params) -> jax.Array:
        """[d_input, k] unit-norm decoder atoms D = V / |V|."""
        V = params["V"]
        return V / jnp.sqrt(jnp.sum(V**2, axis=0, keepdims=True) + 1e-12)

    def pre_activations(self, params, a) -> jax.Array:
        """a [d_input, batch] -> z [k, batch] = W_enc (a - b_dec) + b_enc (W_enc = D^T when tied)."""
        W_enc = self.dictionary(params).T if self.tied else params["W_enc"]
        return W_enc @ (a - params["b_dec"][:, None]) + params["b_enc"][:, None]

    def codes(self, params, a, size=None) -> jax.Array:
        """a [d_input, batch] -> c [k, batch] >= 0, latents >= size masked to zero."""
        z = self.pre_activations(params, a)
        live = None if size is None else (jnp.arange(z.shape[0]) < size)[:, None]
        if live is not None and self.arch != "relu":
            z = jnp.where(live, z, -jnp.inf)  # never among the top k
        if self.arch == "relu":
            c = jax.nn.relu(z)
        elif self.arch == "jumprelu":
            c = jump_relu(
                jnp.where(jnp.isfinite(z), z, 0.0), jnp.exp(params["log_theta"])[:, None], self.bandwidth
            )
        elif self.arch == "topk":
            kth = kth_largest(z, min(self.k, z.shape[0]), axis=0)  # [batch] each sample's k-th largest
            c = jax.nn.relu(jnp.where(z >= kth[None, :], z, 0.0))
        else:  # batchtopk, matryoshka: the k * batch largest over the whole batch
            kth = kth_largest(z, min(self.k * z.shape[1], z.size))
            c = jax.nn.relu(jnp.where(z >= kth, z, 0.0))
        if live is not None:
            c = c * live
        return c

    def decode(self, params, c) -> jax.Array:
        return self.dictionary(params) @ c + params["b_dec"][:, None]

    def apply(self, params, a, size=None) -> jax.Array:
        return self.decode(params, self.codes(params, a, size))

    def target(self, a):
        return a

    def penalty(self, params, a, c, size) -> jax.Array:
        """[batch] the sparsity term per sample that hyper.extra['l1'] multiplies."""
        if self.arch == "jumprelu":
            z = self.pre_activations(params, a)
            gate = heaviside(z, jnp.exp(params["log_theta"])[:, None], self.bandwidth)
            if size is not None:
                gate = gate * (jnp.arange(z.shape[0]) < size)[:, None]
            return jnp.sum(gate, axis=0)
        return jnp.sum(c, axis=0)

    def loss(self, params, a, hyper) -> jax.Array:
        size = hyper.extra.get("size")
        l1 = hyper.extra.get("l1", 0.0)
        c = self.codes(params, a, size)
        if self.arch == "matryoshka":
            k = c.shape[0]
            total = k if size is None else size
            latent = jnp.arange(k)[:, None]
            errs = []
            for frac in self.prefixes:
                m = jnp.maximum(jnp.round(frac * total), 1)
                err = a - self.decode(params, jnp.where(latent < m, c, 0.0))
                errs.append(jnp.sum(err**2, axis=0))
            recon = jnp.mean(jnp.stack(errs), axis=0)
        else:
            err = a - self.decode(params, c)
            recon = jnp.sum(err**2, axis=0)
        return jnp.mean(recon + l1 * self.penalty(params, a, c, size))


@dataclasses.dataclass(frozen=True)
class Activations:
    """a = F x: x drawn like the toy models' features (Independent, the instance's feature_prob), F the
    instance's ground-truth directions hyper.extra["directions"] [d, n]."""

    extras = ("directions",)

    def draw(self, key, hyper, cfg):
        from superpose.data import Independent

        x = Independent().sample(key, hyper.feature_prob, cfg.batch_size, cfg.rng)
        return hyper.extra["directions"] @ x


# --- optimizers: unit-norm decoder columns after every step; dead-latent resampling --------------------------


def unit_decoder(base: optax.GradientTransformation, resample_every: int = 0, scale: float = 0.2):
    """`base`, then every decoder column V put back on unit norm (the update becomes new - old). With
    resample_every > 0, a latent whose encoder bias got a zero gradient for that many steps in a row (it fired
    on no sample) is re-drawn: a fresh random unit atom, its encoder row that atom times `scale`, bias 0."""

    def init(params):
        k = params["b_enc"].shape[0]
        return base.init(params), jnp.zeros((k,), jnp.int32), jnp.zeros((), jnp.int32)

    def update(grads, state, params):
        base_state, idle, count = state
        updates, base_state = base.update(grads, base_state, params)
        new = optax.apply_updates(params, updates)
        V, W_enc, b_enc = new["V"], new["W_enc"], new["b_enc"]
        if resample_every > 0:
            idle = jnp.where(grads["b_enc"] != 0, 0, idle + 1)
            dead = idle >= resample_every
            key = jax.random.fold_in(jax.random.key(0), count)
            fresh = jax.random.normal(key, V.shape, V.dtype)
            fresh = fresh / jnp.linalg.norm(fresh, axis=0, keepdims=True)
            V = jnp.where(dead[None, :], fresh, V)
            W_enc = jnp.where(dead[:, None], scale * fresh.T, W_enc)
            b_enc = jnp.where(dead, 0.0, b_enc)
            idle = jnp.where(dead, 0, idle)
        V = V / jnp.sqrt(jnp.sum(V**2, axis=0, keepdims=True) + 1e-12)
        target = dict(new, V=V, W_enc=W_enc, b_enc=b_enc)
        return jax.tree.map(lambda t, p: t - p, target, params), (base_state, idle, count + 1)

    return optax.GradientTransformation(init, update)


@dataclasses.dataclass(frozen=True)
class UnitDecoder:
    """An optimizer factory (superpose.optim): `base` (a factory, default Adam), then the decoder's columns put
    back on the unit sphere after each step. resample_every > 0 also re-draws latents silent for that many
    steps (an option, not a default)."""

    base: object = None
    resample_every: int = 0
    resample_scale: float = 0.2

    def __call__(self, hyper, cfg) -> optax.GradientTransformation:
        from superpose.optim import Adam

        base = self.base if self.base is not None else Adam()
        return unit_decoder(base(hyper, cfg), self.resample_every, self.resample_scale)


# --- evaluation on fresh samples ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("model", "n_batches", "batch", "rng", "structured"))
def _evaluate(model, F, probs, params, size, key, n_batches: int, batch: int, rng: str, structured, extra):
    from superpose.config import Hyper
    from superpose.data import Independent

    k, n = params["W_enc"].shape[0], F.shape[1]

    def one(carry, i):
        fired, joint, present, err, total, square = carry
        if structured is None:
            x = Independent().sample(jax.random.fold_in(key, i), probs, batch, rng)
        else:
            x = structured.features(jax.random.fold_in(key, i), Hyper(probs, probs, 0.0, 0.0, extra), batch)
        a = F @ x
        if structured is not None and "bias" in extra:  # a Hierarchical source's fixed offset
            a = a + extra["bias"][:, None]
        c = model.codes(params, a, size)
        on, active = (c > 0).astype(jnp.float32), (x > 0).astype(jnp.float32)
        return (
            fired + jnp.sum(on, axis=1),
            joint + on @ active.T,
            present + jnp.sum(active, axis=1),
            err + jnp.sum((a - model.decode(params, c)) ** 2),
            total + jnp.sum(a, axis=1),
            square + jnp.sum(a**2),
        ), None

    zero = jnp.float32(0.0)
    start = (jnp.zeros(k), jnp.zeros((k, n)), jnp.zeros(n), zero, jnp.zeros(F.shape[0]), zero)
    out, _ = jax.lax.scan(one, start, jnp.arange(n_batches))
    return out


def evaluate(
    model,
    F,
    probs,
    params,
    *,
    n_samples: int = 16_384,
    batch: int = 1_024,
    size=None,
    seed: int = 3,
    rng: str = "hash",
    structured=None,
    extra=None,
) -> dict:
    """ONE SAE (unbatched params) on n_samples fresh activations a = F x (x drawn as Activations does, with
    densities probs [n]; the samples depend only on seed, so every SAE of a grid sees the same ones).
    Returns numpy counts for superpose.analysis.sae: fired [k] (samples where latent j is active), present [n]
    (feature i active), joint [k, n] (both), n_samples, l0 (mean active latents per sample) and fvu (squared
    error over the squared distance of every sample from the mean of all of them). structured: a Structured
    sampler whose features() draw x instead, with its per-instance values `extra` (structured_source's or
    synthbench_source's; a "bias" there is added to every activation)."""
    n_batches = max(1, -(-n_samples // batch))
    key = jax.random.fold_in(jax.random.key(seed), 3)
    fired, joint, present, err, total, square = _evaluate(
        model,
        jnp.asarray(F, jnp.float32),
        jnp.asarray(probs, jnp.float32),
        params,
        None if size is None else jnp.int32(size),
        key,
        n_batches,
        batch,
        rng,
        structured,
        None if extra is None else {k: jnp.asarray(v) for k, v in extra.items()},
    )
    m = n_batches * batch
    var = float(square) - float(jnp.sum(total**2)) / m
    return {
        "fired": np.asarray(fired),
        "present": np.asarray(present),
        "joint": np.asarray(joint),
        "n_samples": m,
        "l0": float(jnp.sum(fired)) / m,
        "fvu": float(err) / var,
    }


# --- a grid of SAEs on one source, as a Study -------------------------------------------------------------


def sae_study(
    F,
    probs,
    sizes,
    *,
    l1s=(0.0,),
    seeds=(0,),
    masked=False,
    model=None,
    archs=None,
    l1_by_arch=None,
    lr=1e-3,
    optimizer=None,
    root_seed=0,
    **config,
):
    """A superpose.Study of SAEs on activations a = F x (F [d, n] the true directions, probs [n] the features'
    densities). Axes: dictionary size x arch (if `archs`) x l1 (unless l1_by_arch) x seed.
    masked: every size is a masked set of latents of the largest (extra "size", one compiled sweep); else
    the size is n_hidden (one compiled sweep per size). archs: architecture names (a static field of the
    model: one compiled sweep each, behind the one Study); l1_by_arch {arch: coefficient}: each architecture's
    own sparsity coefficient instead of an l1 axis. config: TrainConfig fields (n_steps, batch_size,
    schedule, ...). optimizer: default UnitDecoder() (Adam, decoder columns renormalised after each step)."""

    from superpose.config import per_feature, per_instance
    from superpose.study import Study

    F = np.asarray(F, np.float32)
    sizes = np.asarray(sizes, np.int64)
    grid = {"size" if masked else "n_hidden": sizes}
    if F.ndim == 3:  # several sources [S, d, n] with densities probs [S, n]: a "source" axis
        grid["source"] = np.arange(F.shape[0])
    if archs is not None:
        grid["arch"] = np.asarray(archs)
    if l1_by_arch is None:
        grid["l1"] = np.asarray(l1s, np.float64)
    grid["seed"] = np.asarray(seeds)

    def hyper(coords, cfg):
        n = coords["seed"].size
        if l1_by_arch is None:
            l1 = coords["l1"]
        else:
            l1 = np.array([l1_by_arch[str(a)] for a in coords["arch"]], np.float64)
        if F.ndim == 3:
            directions, feature_prob = F[coords["source"]], np.asarray(probs, np.float32)[coords["source"]]
        else:
            directions, feature_prob = np.broadcast_to(F, (n, *F.shape)), per_feature(probs)
        extra = {"l1": per_instance(l1), "directions": directions}
        if masked:
            extra["size"] = per_instance(coords["size"].astype(np.int32))
        return {"feature_prob": feature_prob, "lr": lr, "weight_decay": 0.0, "extra": extra}

    config = {"n_features": F.shape[-1], **({"n_hidden": int(sizes.max())} if masked else {}), **config}
    return Study(
        model or SparseAutoencoder(F.shape[-2]),
        axes=grid,
        config=config,
        sampler=Activations(),
        hyper=hyper,
        optimizer=optimizer or UnitDecoder(),
        fits="seed" if len(seeds) > 1 else None,
        root_seed=root_seed,
    )


def score_result(study, result, F, probs, *, n_samples: int = 16_384, seed: int = 3) -> list[dict]:
    """Every SAE of a sae_study's result, evaluated on the same n_samples fresh activations and scored against
    F (superpose.analysis.sae.score), in the result's flat (row-major) order: [{score: float, ..., "fvu",
    "D": unit-norm dictionary [d, size], "fired": firing counts [size]}] (masked sizes: the instance's own
    latents only)."""

    from superpose.analysis import sae as analysis

    out: list = [None] * result.size
    size_of, source_of = result.coords().get("size"), result.coords().get("source")
    for group in result.groups:
        model = study._variant(study.model, "model", group.static)
        for row, index in enumerate(group.index):
            p = {k: jnp.asarray(v[row]) for k, v in group.result.params.items()}
            size = None if size_of is None else int(size_of.reshape(-1)[index])
            source = None if source_of is None else int(source_of.reshape(-1)[index])
            F_i, probs_i = (F, probs) if source is None else (F[source], probs[source])
            stats = evaluate(model, F_i, probs_i, p, n_samples=n_samples, size=size, seed=seed)
            D = np.asarray(model.dictionary(p))
            if size is not None:
                D, stats = D[:, :size], dict(stats, fired=stats["fired"][:size], joint=stats["joint"][:size])
            out[index] = {
                **analysis.score(D, F_i, stats),
                "fvu": stats["fvu"],
                "D": D,
                "fired": stats["fired"],
            }
    return out


def stack_scores(rows: list[dict], prefix: str, labels=None) -> dict:
    """score_result's rows as arrays: {f"{prefix}_{name}": [rows, ...]}; with labels [g] (the values of the
    result's first axis, e.g. dictionary sizes), the rows split into g equal consecutive runs, each stacked
    under f"{prefix}_k{label}_{name}"."""
    if labels is None:
        return {f"{prefix}_{k}": np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}
    n = len(rows) // len(labels)
    out = {}
    for j, label in enumerate(labels):
        out.update(stack_scores(rows[j * n : (j + 1) * n], f"{prefix}_k{label}"))
    return out


# --- structured synthetic activations (issue 22 §4, in the spirit of SynthSAEBench) -------------------------


@dataclasses.dataclass(frozen=True)
class Structured:
    """a = F x with structured firing: x_i = fire_i * m_i, magnitudes m_i = |1 + mag_std * N(0, 1)|.

    Roots fire through a Gaussian copula with low-rank correlation: z = L g + s e (g [r] and e [n] standard
    normal, s_i = sqrt(1 - |L_i|^2)), root i fires iff z_i < threshold_i (= Phi^-1(p_i), so its marginal
    density is p_i whatever L). A child fires only with its parent, and siblings exclude each other: one
    uniform u per parent and sample, child j fires iff its parent fires and lo_j <= u < hi_j (disjoint
    windows among siblings, hi_j - lo_j its probability given the parent). `depth` levels below the roots.
    Per instance in hyper.extra: directions [d, n], factors L [n, r], threshold [n], parent [n] (int, -1 for a
    root), lo [n], hi [n], mag_std []. Build them with `structured_source`.
    """

    depth: int = 1
    extras = ("directions", "factors", "threshold", "parent", "lo", "hi", "mag_std")

    def features(self, key, hyper, batch: int):
        """x [n, batch] (the true feature activations; a = directions @ x)."""
        e = hyper.extra
        L = e["factors"]
        n, r = L.shape
        k_g, k_e, k_u, k_m = jax.random.split(key, 4)
        scale = jnp.sqrt(jnp.clip(1.0 - jnp.sum(L**2, axis=1), 0.0))
        z = L @ jax.random.normal(k_g, (r, batch)) + scale[:, None] * jax.random.normal(k_e, (n, batch))
        fire = z < e["threshold"][:, None]
        parent = e["parent"]
        child = (parent >= 0)[:, None]
        u = jax.random.uniform(k_u, (n, batch))[jnp.maximum(parent, 0)]
        window = (u >= e["lo"][:, None]) & (u < e["hi"][:, None])
        for _ in range(self.depth):
            fire = jnp.where(child, fire[jnp.maximum(parent, 0)] & window, fire)
        magnitude = jnp.abs(1.0 + e["mag_std"] * jax.random.normal(k_m, (n, batch)))
        return fire * magnitude

    def draw(self, key, hyper, cfg):
        return hyper.extra["directions"] @ self.features(key, hyper, cfg.batch_size)


def structured_source(
    d: int,
    n_roots: int,
    children: int = 0,
    *,
    zipf: float = 0.5,
    p_max: float = 0.4,
    p_min: float = 5e-4,
    rank: int = 0,
    correlation: float = 0.0,
    mag_std: float = 0.0,
    seed: int = 0,
) -> dict:
    """The host-side description of a Structured source: n_roots root features with Zipf densities p_i =
    p_max (i + 1)^-zipf clipped to [p_min, p_max], each with `children` children (one level; every child's
    window is 1 / (children + 1) of its parent's occurrences, so the parent sometimes fires alone), random unit
    directions F [d, n], a rank-`rank` correlation of roots with loadings of norm `correlation` (< 1), and
    magnitude noise mag_std. Returns {"F": [d, n], "probs": [n] marginal densities, "extra": {...}} where
    extra holds Structured's per-instance values (add a leading instance axis for make_hyper)."""
    from scipy.special import ndtri

    rng = np.random.default_rng([seed, 22])
    n = n_roots * (1 + children)
    root_p = np.clip(p_max * (np.arange(n_roots) + 1.0) ** -zipf, p_min, p_max)
    parent = np.concatenate([np.full(n_roots, -1), np.repeat(np.arange(n_roots), children)])
    slot = np.concatenate([np.zeros(n_roots), np.tile(np.arange(children), n_roots)])
    width = 1.0 / (children + 1)
    lo, hi = np.where(parent >= 0, slot * width, 0.0), np.where(parent >= 0, (slot + 1) * width, 1.0)
    probs = np.where(parent >= 0, root_p[np.maximum(parent, 0)] * width, np.pad(root_p, (0, n - n_roots)))
    L = np.zeros((n, max(rank, 1)))
    if rank > 0:
        G = rng.normal(size=(n_roots, rank))
        L[:n_roots] = correlation * G / np.linalg.norm(G, axis=1, keepdims=True)
    F = rng.normal(size=(d, n))
    F /= np.linalg.norm(F, axis=0, keepdims=True)
    threshold = np.where(parent >= 0, np.inf, ndtri(np.pad(root_p, (0, n - n_roots))))
    threshold = np.minimum(threshold, 1e30)  # children ignore it; keep it finite
    extra = {"directions": F.astype(np.float32), "factors": L.astype(np.float32),
             "threshold": threshold.astype(np.float32), "parent": parent.astype(np.int32),
             "lo": lo.astype(np.float32), "hi": hi.astype(np.float32), "mag_std": np.float32(mag_std)}  # fmt: skip
    return {"F": F.astype(np.float32), "probs": probs.astype(np.float32), "extra": extra}


# --- SynthSAEBench's generator (Chanin & Garriga-Alonso 2026), issue 22 §4 ---------------------------------


@dataclasses.dataclass(frozen=True)
class Hierarchical:
    """SynthSAEBench-style activations a = F x + b (build the per-instance values with `synthbench_source`).

    The trees sit first in feature order, breadth-first: `roots` roots, then their children (`branching` per
    parent, consecutive), and so on `depth` levels down; the features past the trees are independent. What
    differs from Structured (the simpler source above) and follows SynthSAEBench instead: every feature, child
    or not, first fires through the Gaussian copula at its own threshold (z = L g + s e as in Structured, fire
    iff z_i < threshold_i); a child then survives only if its parent survives, and among siblings that fire
    together one, drawn uniformly, survives (mutual exclusion). Magnitudes: relu(mean_i + std_i N(0, 1)) with
    per-feature mean and std; with `scale_by_parent` a child's magnitude is multiplied by its parent's
    magnitude over the parent's mean (top-down). b is a fixed bias vector. Per instance in hyper.extra:
    directions [d, n], factors L [n, r], threshold [n], mean_mag [n], std_mag [n], bias [d].
    """

    roots: int = 16
    branching: int = 4
    depth: int = 3
    scale_by_parent: bool = True
    extras = ("directions", "factors", "threshold", "mean_mag", "std_mag", "bias")

    def levels(self) -> list[tuple[int, int]]:
        """[(start, size)] of each level of the trees in feature order, roots first."""
        out, start = [], 0
        for lv in range(self.depth + 1):
            size = self.roots * self.branching**lv
            out.append((start, size))
            start += size
        return out

    def features(self, key, hyper, batch: int, rng: str = "hash"):
        """x [n, batch] (the true feature activations; a = directions @ x + bias). rng: the random source of
        the [n, batch] draws (superpose.data: "hash", fast on a CPU, or "threefry").

        Cheap on a CPU, the same law: with the shared factors g drawn, feature i fires iff u_i < Phi((t_i -
        L_i g) / s_i) (u uniform), which is z_i < t_i exactly; the magnitude noise is an Irwin-Hall normal
        (the four bytes of one hashed word, standardised: bounded at +-3.5 sd), a tenth of Box-Muller's cost."""
        from jax.scipy.special import ndtr

        from superpose.data import bit_pairs, uniform, unit_interval

        e = hyper.extra
        L = e["factors"]
        n, r = L.shape
        k_g, k_n, k_w = jax.random.split(key, 3)
        gate, word = bit_pairs(k_n, (n, batch), rng)
        scale = jnp.sqrt(jnp.clip(1.0 - jnp.sum(L**2, axis=1), 1e-6))
        shared = L @ jax.random.normal(k_g, (r, batch))
        raw = unit_interval(gate) < ndtr((e["threshold"][:, None] - shared) / scale[:, None])
        total = sum(((word >> s) & jnp.uint32(255)).astype(jnp.int32) for s in (0, 8, 16, 24))
        noise = (total.astype(jnp.float32) - 510.0) * jnp.float32(1.0 / 147.80)  # sd of 4 bytes: 147.80
        magnitude = jax.nn.relu(e["mean_mag"][:, None] + e["std_mag"][:, None] * noise)
        levels = self.levels()
        end = levels[-1][0] + levels[-1][1]
        score = uniform(k_w, (end, batch), rng)
        (s0, m0) = levels[0]
        fire, x = [raw[s0 : s0 + m0]], [magnitude[s0 : s0 + m0]]
        b = self.branching
        for start, size in levels[1:]:
            on = raw[start : start + size].reshape(size // b, b, batch)
            # Mutual exclusion: of the siblings that fire, the one with the best score survives (siblings share
            # their parent, so it is also the winner among those the parent lets through).
            mine = jnp.where(on, score[start : start + size].reshape(size // b, b, batch), -1.0)
            won = on & (mine >= jnp.max(mine, axis=1, keepdims=True))
            fire.append((won & fire[-1][:, None, :]).reshape(size, batch))
            m = magnitude[start : start + size]
            if self.scale_by_parent:
                up = x[-1] / e["mean_mag"][start - size // b : start][:, None]
                m = (m.reshape(size // b, b, batch) * up[:, None, :]).reshape(size, batch)
            x.append(m)
        x = jnp.concatenate([*x, magnitude[end:]], axis=0)
        fire = jnp.concatenate([*fire, raw[end:]], axis=0)
        return x * fire

    def draw(self, key, hyper, cfg):
        x = self.features(key, hyper, cfg.batch_size, cfg.rng)
        return hyper.extra["directions"] @ x + hyper.extra["bias"][:, None]


def zipf_probs(n: int, exponent: float = 0.5, p_max: float = 0.4, p_min: float = 5e-4):
    """[n] SynthSAEBench's Zipf densities: r^-exponent (r = 1..n) rescaled linearly onto [p_min, p_max]
    (descending; not clipped as structured_source does)."""
    w = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    if n == 1:
        return np.array([p_max])
    return p_min + (p_max - p_min) * (w - w.min()) / (w.max() - w.min())


def synthbench_source(
    n: int,
    d: int,
    *,
    roots: int,
    branching: int = 4,
    depth: int = 3,
    exponent: float = 0.5,
    p_max: float = 0.4,
    p_min: float = 5e-4,
    rank: int = 25,
    correlation: float = 0.1,
    mean_mag: tuple[float, float] = (5.0, 4.0),
    std_mag: tuple[float, float] = (0.5, 0.5),
    bias: float = 0.5,
    compensate: bool = True,
    seed: int = 0,
) -> dict:
    """The host-side description of a Hierarchical source, as SynthSAEBench builds its 16k model (16,384
    features in 768 dimensions: roots=128, branching 4, depth 3, rank 25, correlation 0.1, magnitudes' means
    linear from 5 (the most frequent feature) to 4, their stds |N(0.5, 0.5)| per feature, bias norm 0.5):

    - densities p = zipf_probs(n, exponent, p_max, p_min), in feature order;
    - `roots` trees built breadth-first over the first features (roots 0..roots-1, then their children, ...),
      each parent with `branching` mutually exclusive children, `depth` levels below the roots; the features
      past the trees are independent;
    - compensate: a child's copula density is p_c / p_parent * (1 + sum of its siblings' p / p_parent)
      (capped at 1), so that after its parent's gate and the exclusion it fires about p_c of the time;
    - low-rank correlation: loadings L [n, rank] with entries N(0, correlation^2) (rows capped at norm 0.99);
    - random unit directions F [d, n] (SynthSAEBench then runs 100 steps of an orthogonality loss at lr 3e-4,
      which we skip: it moves the directions little), and a random bias b of norm `bias`.
    Returns {"F": [d, n], "probs": [n] target densities, "parent": [n], "level": [n] (0 for roots, -1
    outside the trees), "extra": Hierarchical's per-instance values}."""
    from scipy.special import ndtri

    from superpose.config import ConfigError

    tree = sum(roots * branching**lv for lv in range(depth + 1))
    if tree > n:
        raise ConfigError(
            f"{roots} trees of branching {branching} and depth {depth} need {tree} features, got {n}"
        )
    rng = np.random.default_rng([seed, 2026])
    p = zipf_probs(n, exponent, p_max, p_min)
    parent = np.full(n, -1, np.int64)
    level = np.full(n, -1, np.int64)
    level[:roots] = 0
    frontier, nxt = list(range(roots)), roots
    for lv in range(1, depth + 1):
        new = []
        for node in frontier:
            for _ in range(branching):
                parent[nxt], level[nxt] = node, lv
                new.append(nxt)
                nxt += 1
        frontier = new
    q = p.copy()
    if compensate:
        child = np.flatnonzero(parent >= 0)
        P = parent[child]
        siblings = np.bincount(P, weights=p[child], minlength=n)[P]  # the children's densities, per parent
        q[child] = p[child] / p[P] * (1.0 + (siblings - p[child]) / p[P])
        q = np.minimum(q, 1.0)
    L = rng.normal(0.0, correlation, size=(n, rank))
    norms = np.linalg.norm(L, axis=1, keepdims=True)
    L = L * np.minimum(1.0, 0.99 / np.maximum(norms, 1e-12))
    F = rng.normal(size=(d, n))
    F /= np.linalg.norm(F, axis=0, keepdims=True)
    b = rng.normal(size=d)
    b *= bias / np.linalg.norm(b)
    means = np.linspace(mean_mag[0], mean_mag[1], n)
    stds = np.abs(rng.normal(std_mag[0], std_mag[1], size=n))
    threshold = np.minimum(ndtri(np.clip(q, 1e-12, 1.0)), 1e30)
    extra = {"directions": F.astype(np.float32), "factors": L.astype(np.float32),
             "threshold": threshold.astype(np.float32), "parent": parent.astype(np.int32),
             "mean_mag": means.astype(np.float32), "std_mag": stds.astype(np.float32),
             "bias": b.astype(np.float32)}  # fmt: skip
    return {"F": extra["directions"], "probs": p.astype(np.float32), "parent": parent, "level": level,
            "extra": extra}  # fmt: skip


def parent_child_pairs(src: dict, levels=(0, 1)) -> np.ndarray:
    """[m, 2] (parent, child) pairs of a synthbench_source whose parent sits at one of `levels` (the densest:
    roots and their children)."""
    child = np.flatnonzero(src["parent"] >= 0)
    keep = np.isin(src["level"][src["parent"][child]], levels)
    return np.stack([src["parent"][child[keep]], child[keep]], axis=1)


def _finite_mean(values) -> float:
    """The mean of the finite values (NaN when there are none)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def score_hierarchical(sae, src: dict, p: dict, sampler, n_samples: int, *, seed: int = 1) -> dict:
    """Every score of one SAE (params p) against a synthbench_source on n_samples fresh activations drawn by
    `sampler` (its Hierarchical): SynthSAEBench's F1 (each latent's firing against its best-|cos| feature,
    mean over latents) and "mcc" (mean |cos| of latents matched one-to-one, Hungarian); ours (analysis.sae.score:
    one-to-one F1 and Matthews correlation, MMCS, L0, dead, explained variance); and absorption on the
    parent/child pairs of the two top levels: the parent's latent (matched one-to-one, |cos| >= 0.5) silent on
    a child's occurrences ("absorption") and on the parent's occurrences without a child ("alone_miss")."""
    from superpose.analysis import sae as score

    p = {k: jnp.asarray(v) for k, v in p.items()}
    stats = evaluate(sae, src["F"], src["probs"], p, n_samples=n_samples, seed=seed, structured=sampler,
                     extra=src["extra"])  # fmt: skip
    D = np.asarray(sae.dictionary(p))
    F = src["F"]
    ours = score.score(D, F, stats)
    C = np.abs(score.cosines(D, F))  # [k, n]
    best = C.argmax(axis=1)
    published_f1 = score.firing_scores(stats["fired"], stats["present"], stats["joint"], stats["n_samples"],
                                       np.arange(D.shape[1]), best)["f1"]  # fmt: skip
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(C, maximize=True)
    latent_of = np.full(F.shape[1], -1)
    latent_of[cols] = rows
    absorbed, alone = [], []
    joint, present = stats["joint"], stats["present"]
    parent_of = src["parent"]
    pairs = parent_child_pairs(src)
    for P, c in pairs:
        j = latent_of[P]
        if j < 0 or C[j, P] < 0.5:
            continue
        absorbed.append(score.absorption(joint, present, int(P), int(c), latent=int(j)))
        kids = np.flatnonzero(parent_of == P)
        n_alone = present[P] - present[kids].sum()
        fired_alone = joint[j, P] - joint[j, kids].sum()
        alone.append(1.0 - fired_alone / n_alone if n_alone > 0 else np.nan)
    return {
        "f1": float(published_f1.mean()),
        "mcc": float(C[rows, cols].mean()),
        "f1_matched": ours["f1"],
        "matthews": ours["mcc"],
        "mmcs": ours["mmcs"],
        "l0": ours["l0"],
        "dead": ours["dead"],
        "explained_variance": ours["explained_variance"],
        "absorption": _finite_mean(absorbed),
        "alone_miss": _finite_mean(alone),
        "parents_found": len(absorbed) / max(len(pairs), 1),
    }
