"""Feature samplers (paper section 2): pure functions of (key, per-instance feature_prob).

Owns: the random source (a fast counter hash or jax.random), magnitude laws, and the three sampler kinds:
independent sparse features, correlated sets and anticorrelated sets. A sampler is a frozen dataclass with
    sample(key, feature_prob [n], batch_size, rng) -> x [n_features, batch_size]
where feature_prob[i] is feature i's density (the probability that x_i != 0) for every sampler, and
optionally `check(feature_prob [instances, n])`, which Sweep calls on the host before training to reject
values the sampler cannot honour (ConfigError). Write your own the same way.
Batches are columns (one example per column), so models read h = W x as in the paper; on XLA:CPU this
feature-major layout also runs the toy models about twice as fast as batch-major (benchmarks/).
Does not: know about models or batching over instances.

Each sampler draws TWO independent 32-bit words per feature (or per set) and example: the gate word decides
"active?" by an integer comparison with round(p 2**32), so a density is exact to a multiple of 2**-32, and
the magnitude word alone sets the value, so magnitudes follow the same law at every density. (One 24-bit
uniform reused as u < p and u / p, as until 2026-12, left p 2**24 distinct magnitudes: 16 at p = 1e-6.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from superpose.config import ConfigError, lookup

# A density is drawn as the nearest multiple of 2**-32 (the gate word's resolution). Below 2**-26 (64 gate
# words) that can be more than 1% off (at 2e-10, 16%): each sampler's `check` refuses it, and Sweep calls it.
MIN_FEATURE_PROB = 2.0**-26
_ALL_ONES = 0xFFFFFFFF

# --- the random source --------------------------------------------------------------------------------


def _mix32(x: jax.Array, shifts=(16, 15, 16), multipliers=(0x7FEB352D, 0x846CA68B)) -> jax.Array:
    """A bijection on uint32 with near-ideal avalanche (xorshift-multiply-xorshift-multiply-xorshift). The
    default constants are Wellons' 'lowbias32'; _MIX_B is another low-bias set from his hash-prospector."""
    x = x ^ (x >> shifts[0])
    x = x * jnp.uint32(multipliers[0])
    x = x ^ (x >> shifts[1])
    x = x * jnp.uint32(multipliers[1])
    return x ^ (x >> shifts[2])


_MIX_B = {"shifts": (15, 15, 15), "multipliers": (0xD168AAAD, 0xAF723597)}


def hash_bit_pairs(key: jax.Array, shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """Two [*shape] uint32 words per element from a keyed counter hash: (gate, magnitude).

    The mixer applied twice to (counter, the key's two words) makes a shared state x; the words are two
    different last applications, mix(x + k0) and mix_B(x ^ k1) (other constants, so that no key, not even all
    zeros, makes them one function). Two mixer applications and both key words lie between them, so for one
    element over keys the pair takes about 2**64 values, not the 2**32 of anything computed from one word (which
    quantized the old u / p magnitudes). Four applications, not 2 x 3 for two separate hashes:
    benchmarks/RESULTS.md has the cost. The key (a typed threefry key) supplies 64 random bits; the counter is
    the element's flat index, so the words are a pure function of (key, position).
    """
    k = jax.random.key_data(key)
    # Constants break the all-zero fixed point (mix(0) = 0) of jax.random.key(0), whose words are (0, 0).
    k0, k1 = k[..., 0] ^ jnp.uint32(0x9E3779B9), k[..., 1] ^ jnp.uint32(0x7F4A7C15)
    size = 1
    for d in shape:
        size *= d
    counter = jax.lax.iota(jnp.uint32, size).reshape(shape)
    x = _mix32(_mix32(counter ^ k0) ^ k1)
    return _mix32(x + k0), _mix32(x ^ k1, **_MIX_B)


def hash_bits(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """[*shape] uint32: the gate words of `hash_bit_pairs` alone (three mixer applications; about 15x
    cheaper than threefry per value on a CPU)."""
    return hash_bit_pairs(key, shape)[0]


def bit_pairs(key: jax.Array, shape: tuple[int, ...], rng: str = "hash") -> tuple[jax.Array, jax.Array]:
    """Two independent [*shape] uint32 words per element, (gate, magnitude). rng: "hash" (the counter hash)
    or "threefry" (jax.random.bits, twice the words)."""
    if rng == "threefry":
        words = jax.random.bits(key, (2, *shape), jnp.uint32)
        return words[0], words[1]
    if rng != "hash":
        raise ValueError(f"unknown rng {rng!r}")
    return hash_bit_pairs(key, shape)


def unit_interval(bits: jax.Array) -> jax.Array:
    """uint32 [*] -> float32 [*]: the top 31 bits k as (k + 1/2) / 2**31, rounded to float32 and kept below 1,
    a Uniform(0, 1) value. Steps are 2**-31 near 0 (smallest value 2**-32) and 2**-24 near 1 (largest
    1 - 2**-24): a law with a tail reads it from small values, where float32 is fine."""
    k = jax.lax.bitcast_convert_type(bits >> 1, jnp.int32)  # a signed conversion: one instruction on x86
    v = k.astype(jnp.float32) * jnp.float32(2.0**-31) + jnp.float32(2.0**-32)
    return jnp.minimum(v, jnp.float32(1.0 - 2.0**-24))  # k near 2**31 rounds up to 1.0


def uniform(key: jax.Array, shape: tuple[int, ...], rng: str = "hash") -> jax.Array:
    """[*shape] float32 Uniform(0, 1) from one 32-bit word per value (unit_interval). rng: "hash" (fast
    counter hash) or "threefry" (jax.random.bits). `uniform(...) < p` is an activity test exact to 2**-32."""
    if rng == "threefry":
        return unit_interval(jax.random.bits(key, shape, jnp.uint32))
    if rng != "hash":
        raise ValueError(f"unknown rng {rng!r}")
    return unit_interval(hash_bits(key, shape))


def _saturating_add(a: jax.Array, b: jax.Array) -> jax.Array:
    total = a + b
    return jnp.where(total < a, jnp.uint32(_ALL_ONES), total)  # uint32 wrapped: the sum passed 2**32 - 1


def gate_thresholds(feature_prob: jax.Array) -> jax.Array:
    """feature_prob [..., k] -> uint32 [..., k]: G_i = min(L_0 + ... + L_i, 2**32) - 1 with the levels
    L_j = round(p_j 2**32) (at least 1). A gate word g is <= G_i with probability (G_i + 1) / 2**32, so
    member i of a set owns the gate words in (G_(i-1), G_i]; k = 1 is one feature's threshold.
    Integer arithmetic throughout: a float32 running sum of densities loses a small member after a large one."""
    levels = jnp.clip(jnp.round(feature_prob * jnp.float32(2.0**32)), 1.0, 2.0**32)
    # L - 1 as uint32 from two exact 16-bit halves: L = 2**32 (p = 1) wraps to 0 and then to 2**32 - 1. No
    # select on p = 1, which XLA would carry into the per-element comparison.
    high = jnp.floor(levels * jnp.float32(2.0**-16))
    low = levels - high * jnp.float32(2.0**16)
    minus_one = (high.astype(jnp.uint32) << 16) + low.astype(jnp.uint32) - jnp.uint32(1)
    if feature_prob.shape[-1] == 1:
        return minus_one
    # Members after the first add their level L_j (2**32 held as 2**32 - 1); past 2**32 - 1 the sum saturates.
    rest = jnp.where(levels[..., 1:] >= 2.0**32, jnp.uint32(_ALL_ONES), minus_one[..., 1:] + jnp.uint32(1))
    terms = jnp.concatenate([minus_one[..., :1], rest], axis=-1)
    return jax.lax.associative_scan(_saturating_add, terms, axis=terms.ndim - 1)


def _check_min_density(feature_prob: np.ndarray, what: str) -> None:
    smallest = float(np.min(feature_prob))
    if smallest < MIN_FEATURE_PROB:
        raise ConfigError(
            f"{what}: feature_prob {smallest:.3g} is below {MIN_FEATURE_PROB:.3g} (2**-26), the smallest "
            "density the samplers draw to within 1% (a density is a multiple of 2**-32)"
        )


# --- magnitude laws: map v ~ Uniform(0, 1) to a feature's value when it is active --------------------
# v resolves 2**-31 near 0 and only 2**-24 near 1, so an inverse-CDF law reads its tail from small v,
# F^-1(1 - v): the largest exponential is then 32 ln 2 = 22.2 and the largest power law (exponent 3) 65,535.


def uniform_magnitude(v: jax.Array) -> jax.Array:
    """Uniform[0, 1]: the paper's default."""
    return v


def signed_uniform_magnitude(v: jax.Array) -> jax.Array:
    """Uniform[-1, 1]: the absolute-value (computation) task's inputs."""
    return 2.0 * v - 1.0


def exponential_magnitude(v: jax.Array) -> jax.Array:
    """Exponential with mean 1 (inverse CDF of 1 - v)."""
    return -jnp.log(v)


def power_law_magnitude(v: jax.Array, exponent: float = 3.0) -> jax.Array:
    """Pareto-like heavy tail on [0, inf) with density proportional to (1 + x)^-exponent, rescaled to mean 1
    (inverse CDF of 1 - v)."""
    alpha = exponent - 1.0
    x = v ** (-1.0 / alpha) - 1.0
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
    """x_i = 0 with probability 1 - p_i, else magnitude(Uniform(0, 1)). Features independent."""

    magnitude: str | Callable = "uniform"

    def check(self, feature_prob: np.ndarray) -> None:
        """feature_prob [instances, n]: ConfigError for a density below MIN_FEATURE_PROB."""
        _check_min_density(feature_prob, "Independent")

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        """feature_prob [n] (each feature's density) -> x [n, batch_size]."""
        gate, mag = bit_pairs(key, (feature_prob.shape[-1], batch_size), rng)
        active = gate <= gate_thresholds(feature_prob[:, None])
        return jnp.where(active, _magnitude_fn(self.magnitude)(unit_interval(mag)), 0.0)


@dataclasses.dataclass(frozen=True)
class Correlated:
    """Features come in consecutive sets of `set_size`; one draw decides whether a whole set is active (all
    members non-zero together), and members of an active set are independent magnitudes. A member's density
    is its set's probability of being active, so feature_prob must be equal within each set (`check`).
    The set's gate is its first member's gate word; every member's magnitude word is its own."""

    set_size: int
    magnitude: str | Callable = "uniform"

    def check(self, feature_prob: np.ndarray) -> None:
        """feature_prob [instances, n]: ConfigError unless n is a multiple of set_size, densities are
        equal within every set and none is below MIN_FEATURE_PROB."""
        n = feature_prob.shape[-1]
        sets = np.asarray(feature_prob).reshape(-1, _n_sets(n, self.set_size), self.set_size)
        if np.any(sets.max(-1) != sets.min(-1)):
            raise ConfigError(
                f"Correlated sets need one density per set (all {self.set_size} members of a set are active "
                "together), but feature_prob differs within a set"
            )
        _check_min_density(feature_prob, "Correlated")

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        n = feature_prob.shape[-1]
        n_sets = _n_sets(n, self.set_size)
        gate, mag = bit_pairs(key, (n, batch_size), rng)
        set_gate = gate.reshape(n_sets, self.set_size, batch_size)[:, :1, :]  # [n_sets, 1, batch]
        threshold = gate_thresholds(feature_prob[:: self.set_size, None])[:, :, None]  # [n_sets, 1, 1]
        active = jnp.broadcast_to(set_gate <= threshold, (n_sets, self.set_size, batch_size))
        x = _magnitude_fn(self.magnitude)(unit_interval(mag))
        return jnp.where(active.reshape(n, batch_size), x, 0.0)


@dataclasses.dataclass(frozen=True)
class Anticorrelated:
    """Features come in consecutive sets of `set_size`; at most one member of a set is non-zero. Member i is
    the active one with probability feature_prob[i], its own density (as for every sampler), so a set is
    active with probability sum(feature_prob over the set), which must not exceed 1 (`check`). The paper's
    set, zero with probability S and else one uniformly chosen member, is feature_prob = (1 - S) / set_size.
    One gate word per set picks the member, which owns round(p_i 2**32) consecutive gate words
    (`gate_thresholds`); one magnitude word per set is the active member's value."""

    set_size: int
    magnitude: str | Callable = "uniform"

    def check(self, feature_prob: np.ndarray) -> None:
        """feature_prob [instances, n]: ConfigError unless n is a multiple of set_size, every set's
        densities sum to at most 1 and none is below MIN_FEATURE_PROB."""
        n = feature_prob.shape[-1]
        totals = np.asarray(feature_prob, np.float64).reshape(-1, _n_sets(n, self.set_size), self.set_size)
        worst = float(totals.sum(-1).max())
        if worst > 1.0 + 1e-6:
            raise ConfigError(
                f"Anticorrelated: the densities of a set sum to {worst:.3g} > 1 (at most one member is "
                f"active, so each member's density is at most 1/{self.set_size} when they are equal)"
            )
        _check_min_density(feature_prob, "Anticorrelated")

    def sample(self, key, feature_prob, batch_size: int, rng: str = "hash") -> jax.Array:
        n = feature_prob.shape[-1]
        n_sets = _n_sets(n, self.set_size)
        gate, mag = bit_pairs(key, (n_sets, batch_size), rng)
        upper = gate_thresholds(feature_prob.reshape(n_sets, self.set_size))[:, :, None]  # [n_sets, set, 1]
        below = gate[:, None, :] <= upper  # [n_sets, set_size, batch]: members i, i+1, ... own g
        below_previous = jnp.concatenate([jnp.zeros_like(below[:, :1]), below[:, :-1]], axis=1)
        hit = below & ~below_previous  # the first member whose upper threshold is >= g: at most one
        x = _magnitude_fn(self.magnitude)(unit_interval(mag))[:, None, :]  # [n_sets, 1, batch]
        return jnp.where(hit, x, 0.0).reshape(n, batch_size)


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
    usable = lambda x: callable(getattr(x, "sample", None)) or callable(getattr(x, "draw", None))  # noqa: E731
    return lookup(spec, SAMPLERS, "sampler", usable, "sample or draw")


def produces_signed(sampler) -> bool | None:
    """Whether the sampler's non-zero values take both signs: True/False for the built-in magnitude laws,
    None when it cannot be told (a magnitude function or a sampler of your own)."""
    magnitude = getattr(sampler, "magnitude", None)
    return SIGNED_MAGNITUDES.get(magnitude) if isinstance(magnitude, str) else None
