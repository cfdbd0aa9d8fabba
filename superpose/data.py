"""Feature samplers (paper section 2): pure functions of (key, per-instance feature_prob).

Owns: the uniform source (a fast counter hash or jax.random), magnitude laws, and the three sampler kinds:
independent sparse features, correlated sets and anticorrelated sets. A sampler is a frozen dataclass with
    sample(key, feature_prob [n], batch_size, rng) -> x [n_features, batch_size]
where feature_prob[i] is feature i's density (the probability that x_i != 0) for every sampler, and
optionally `check(feature_prob [instances, n])`, which Sweep calls on the host before training to reject
values the sampler cannot honour (ConfigError). Write your own the same way.
Batches are columns (one example per column), so models read h = W x as in the paper; on XLA:CPU this
feature-major layout also runs the toy models about twice as fast as batch-major (benchmarks/).
Does not: know about models or batching over instances.

Each sampler draws ONE uniform value per feature (or per set) and reuses it: given u < p, u / p is again
Uniform[0, 1), so the same value decides "active?" and the magnitude. Random numbers are most of the cost
of a toy-model step, so this halves a step's time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from superpose.config import ConfigError

# --- the uniform source -------------------------------------------------------------------------------


def _mix32(x: jax.Array) -> jax.Array:
    """A bijection on uint32 with near-ideal avalanche (Wellons' 'lowbias32' constants)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def hash_bits(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """[*shape] uint32 bits: a keyed counter hash, three mixing rounds of (counter, the key's two words).

    About 15x cheaper than threefry per value on a CPU. The key (a typed threefry key) supplies 64 random bits;
    the counter is the element's flat index, so the result is a pure function of (key, position).
    """
    k = jax.random.key_data(key)
    k0, k1 = k[..., 0], k[..., 1]
    size = 1
    for d in shape:
        size *= d
    counter = jax.lax.iota(jnp.uint32, size).reshape(shape)
    x = _mix32(counter ^ k0)
    x = _mix32(x ^ k1)
    return _mix32(x + k0)


def uniform(key: jax.Array, shape: tuple[int, ...], rng: str = "hash") -> jax.Array:
    """[*shape] float32 Uniform[0, 1). rng: "hash" (fast counter hash) or "threefry" (jax.random.uniform)."""
    if rng == "threefry":
        return jax.random.uniform(key, shape, dtype=jnp.float32)
    if rng != "hash":
        raise ValueError(f"unknown rng {rng!r}")
    return (hash_bits(key, shape) >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)


# --- magnitude laws: map v ~ Uniform[0, 1) to a feature's value when it is active --------------------


def uniform_magnitude(v: jax.Array) -> jax.Array:
    """Uniform[0, 1]: the paper's default."""
    return v


def signed_uniform_magnitude(v: jax.Array) -> jax.Array:
    """Uniform[-1, 1]: the absolute-value (computation) task's inputs."""
    return 2.0 * v - 1.0


def exponential_magnitude(v: jax.Array) -> jax.Array:
    """Exponential with mean 1 (inverse CDF)."""
    return -jnp.log1p(-v)


def power_law_magnitude(v: jax.Array, exponent: float = 3.0) -> jax.Array:
    """Pareto-like heavy tail on [0, inf) with density proportional to (1 + x)^-exponent, rescaled to mean 1."""
    alpha = exponent - 1.0
    x = (1.0 - v) ** (-1.0 / alpha) - 1.0
    return x * (alpha - 1.0)


MAGNITUDES: dict[str, Callable[[jax.Array], jax.Array]] = {
    "uniform": uniform_magnitude,
    "signed_uniform": signed_uniform_magnitude,
    "exponential": exponential_magnitude,
    "power_law": power_law_magnitude,
}


def _magnitude_fn(magnitude: str | Callable) -> Callable[[jax.Array], jax.Array]:
    if callable(magnitude):
        return magnitude
    try:
        return MAGNITUDES[magnitude]
    except KeyError:
        raise ConfigError(f"unknown magnitude law {magnitude!r}; known: {sorted(MAGNITUDES)}") from None


# --- samplers ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Independent:
    """x_i = 0 with probability 1 - p_i, else magnitude(Uniform[0,1)). Features independent."""

    magnitude: str | Callable = "uniform"

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        """feature_prob [n] (each feature's density) -> x [n, batch_size]."""
        p = feature_prob[:, None]
        u = uniform(key, (feature_prob.shape[-1], batch_size), rng)
        return jnp.where(u < p, _magnitude_fn(self.magnitude)(u / p), 0.0)


@dataclasses.dataclass(frozen=True)
class Correlated:
    """Features come in consecutive sets of `set_size`; one draw decides whether a whole set is active (all
    members non-zero together), and members of an active set are independent magnitudes. A member's density
    is its set's probability of being active, so feature_prob must be equal within each set (`check`)."""

    set_size: int
    magnitude: str | Callable = "uniform"

    def check(self, feature_prob: np.ndarray) -> None:
        """feature_prob [instances, n]: ConfigError unless n is a multiple of set_size and densities are
        equal within every set."""
        n = feature_prob.shape[-1]
        sets = np.asarray(feature_prob).reshape(-1, _n_sets(n, self.set_size), self.set_size)
        if np.any(sets.max(-1) != sets.min(-1)):
            raise ConfigError(
                f"Correlated sets need one density per set (all {self.set_size} members of a set are active "
                "together), but feature_prob differs within a set"
            )

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        n = feature_prob.shape[-1]
        n_sets = _n_sets(n, self.set_size)
        set_prob = feature_prob[:: self.set_size, None]
        k_gate, k_mag = jax.random.split(key)
        active = uniform(k_gate, (n_sets, batch_size), rng) < set_prob
        mag = _magnitude_fn(self.magnitude)(uniform(k_mag, (n, batch_size), rng))
        return jnp.where(jnp.repeat(active, self.set_size, axis=0, total_repeat_length=n), mag, 0.0)


@dataclasses.dataclass(frozen=True)
class Anticorrelated:
    """Features come in consecutive sets of `set_size`; at most one member of a set is non-zero. Member i is
    the active one with probability feature_prob[i], its own density (as for every sampler), so a set is
    active with probability sum(feature_prob over the set), which must not exceed 1 (`check`). The paper's
    set, zero with probability S and else one uniformly chosen member, is feature_prob = (1 - S) / set_size.
    One uniform per set decides activity, member and magnitude: member i owns the interval
    [c_(i-1), c_i) of cumulative densities, and (u - c_(i-1)) / p_i is again Uniform[0, 1)."""

    set_size: int
    magnitude: str | Callable = "uniform"

    def check(self, feature_prob: np.ndarray) -> None:
        """feature_prob [instances, n]: ConfigError unless n is a multiple of set_size and every set's
        densities sum to at most 1."""
        n = feature_prob.shape[-1]
        totals = np.asarray(feature_prob, np.float64).reshape(-1, _n_sets(n, self.set_size), self.set_size)
        worst = float(totals.sum(-1).max())
        if worst > 1.0 + 1e-6:
            raise ConfigError(
                f"Anticorrelated: the densities of a set sum to {worst:.3g} > 1 (at most one member is "
                f"active, so each member's density is at most 1/{self.set_size} when they are equal)"
            )

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        n = feature_prob.shape[-1]
        n_sets = _n_sets(n, self.set_size)
        p = feature_prob.reshape(n_sets, self.set_size, 1)
        upper = jnp.cumsum(p, axis=1)
        lower = upper - p
        u = uniform(key, (n_sets, batch_size), rng)[:, None, :]  # [n_sets, 1, batch]
        hit = (u >= lower) & (u < upper)  # [n_sets, set_size, batch]: at most one member per set
        v = jnp.clip((u - lower) / p, 0.0, 1.0 - 2.0**-24)  # Uniform[0, 1) on the member's interval
        x = jnp.where(hit, _magnitude_fn(self.magnitude)(v), 0.0)
        return x.reshape(n, batch_size)


def _n_sets(n: int, set_size: int) -> int:
    if set_size <= 0 or n % set_size:
        raise ConfigError(f"n_features ({n}) must be a positive multiple of set_size ({set_size})")
    return n // set_size


def draw(sampler, key, hyper, cfg) -> jax.Array:
    """ONE instance's training or evaluation batch: the sampler's own `draw(key, hyper, cfg)` if it defines
    one (e.g. a fixed training set read from hyper.extra), else sample(key, feature_prob, batch_size, rng)."""
    own = getattr(sampler, "draw", None)
    if own is not None:
        return own(key, hyper, cfg)
    return sampler.sample(key, hyper.feature_prob, cfg.batch_size, cfg.rng)


# --- names ---------------------------------------------------------------------------------------------

SAMPLERS = {
    "independent": Independent,
    "signed": lambda: Independent(magnitude="signed_uniform"),
}
SIGNED_MAGNITUDES = {"uniform": False, "exponential": False, "power_law": False, "signed_uniform": True}


def get_sampler(spec):
    """A sampler from its registered name (SAMPLERS) or a sampler instance (returned as it is); ConfigError
    for anything else (a class, None, an unknown name)."""
    if isinstance(spec, str):
        try:
            return SAMPLERS[spec]()
        except KeyError:
            raise ConfigError(f"unknown sampler {spec!r}; known: {', '.join(sorted(SAMPLERS))}") from None
    if isinstance(spec, type):
        raise ConfigError(
            f"sampler must be an instance such as {spec.__name__}(), not the class {spec.__name__}"
        )
    if not (callable(getattr(spec, "sample", None)) or callable(getattr(spec, "draw", None))):
        raise ConfigError(
            f"sampler must be a name ({', '.join(sorted(SAMPLERS))}) or an object with sample or draw, got {spec!r}"
        )
    return spec


def produces_signed(sampler) -> bool | None:
    """Whether the sampler's non-zero values take both signs: True/False for the built-in magnitude laws,
    None when it cannot be told (a magnitude function or a sampler of your own)."""
    magnitude = getattr(sampler, "magnitude", None)
    return SIGNED_MAGNITUDES.get(magnitude) if isinstance(magnitude, str) else None
