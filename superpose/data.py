"""Feature samplers (paper section 2): pure functions of (key, per-instance feature_prob).

Owns: the uniform source (a fast counter hash or jax.random), magnitude laws, and the three sampler kinds:
independent sparse features, correlated sets and anticorrelated sets. A sampler is a frozen dataclass
with `sample(key, feature_prob, batch_size, rng) -> x [n_features, batch_size]`; write your own the same way.
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
        raise ValueError(f"unknown magnitude law {magnitude!r}; known: {sorted(MAGNITUDES)}") from None


# --- samplers ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Independent:
    """x_i = 0 with probability 1 - p_i, else magnitude(Uniform[0,1)). Features independent."""

    magnitude: str | Callable = "uniform"

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        """feature_prob [n] -> x [n, batch_size]."""
        p = feature_prob[:, None]
        u = uniform(key, (feature_prob.shape[-1], batch_size), rng)
        return jnp.where(u < p, _magnitude_fn(self.magnitude)(u / p), 0.0)


@dataclasses.dataclass(frozen=True)
class Correlated:
    """Features come in consecutive sets of `set_size`; one draw decides whether a whole set is active,
    and members of an active set are independent magnitudes. Set j is active with probability
    feature_prob[j * set_size] (feature_prob should be constant within a set)."""

    set_size: int
    magnitude: str | Callable = "uniform"

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
    """Features come in consecutive sets of `set_size`; a set is all zero with probability 1 - p, else
    exactly one uniformly chosen member is active (so each member has density p / set_size). Set j uses
    p = feature_prob[j * set_size]. One uniform per set decides activity, member and magnitude."""

    set_size: int
    magnitude: str | Callable = "uniform"

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        n = feature_prob.shape[-1]
        n_sets = _n_sets(n, self.set_size)
        set_prob = feature_prob[:: self.set_size, None]
        u = uniform(key, (n_sets, batch_size), rng)
        scaled = (u / set_prob) * self.set_size  # in [0, set_size) when active
        member = jnp.floor(scaled)
        v = scaled - member  # Uniform[0, 1) given the member
        member = jnp.where(u < set_prob, member, -1.0)  # -1 marks an inactive set
        slot = jnp.arange(self.set_size, dtype=jnp.float32)[None, :, None]
        hit = member[:, None, :] == slot  # [n_sets, set_size, batch]
        x = jnp.where(hit, _magnitude_fn(self.magnitude)(v)[:, None, :], 0.0)
        return x.reshape(n, batch_size)


def _n_sets(n: int, set_size: int) -> int:
    if set_size <= 0 or n % set_size:
        raise ValueError(f"n_features ({n}) must be a positive multiple of set_size ({set_size})")
    return n // set_size
