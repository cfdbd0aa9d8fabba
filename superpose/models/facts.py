"""The fact-lookup MLP (paper.md section 7): a model of facts in superposition over frozen random token
embeddings.

A fact maps a (first name, last name) pair to one of M attributes ("Michael Jordan" -> basketball). Every name
keys several facts, never all with one attribute, so no single token determines the answer: the MLP must
combine the two (an AND, or something that does its work). It reads x = e_first + e_last (an earlier attention
layer is assumed to have moved the first name onto the last one), computes h = ReLU(W_in x + b) with m neurons
and writes W_out h; the frozen attribute vectors read the answer, logit_a = e_a . W_out h, trained with
cross-entropy over the M attributes (the readout of the associative-memory literature: Nichani, Lee and
Bietti, ICLR 2025).

Shapes map onto TrainConfig as n_features = d (the embedding width) and n_hidden = m (the neurons); the
number of facts N is the batch (the whole table every step). Each instance's fact table and embeddings ride
in hyper.extra, padded to the sweep's largest table with masks, so a grid of (N, seed) trains in one call.

Owns: fact tables (numpy, seeded, nested in N; an exactly orthonormal one), the models (FactMLP,
LinearMemory) and the sampler handing them the whole table (FullTable). Does not: measure trained weights
(superpose.analysis.facts), search capacities (superpose.analysis.capacity), sweep (sweep.py) or draw
(plots/facts.py).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from superpose.config import ConfigError
from superpose.models.base import xavier_normal

PAD_LOGIT = -1e9  # logit of a padded attribute slot: exp() of it is exactly 0 in float32
# One instance's table in hyper.extra (stack_tables): tokens, facts and the masks of padding.
TABLE_KEYS = ("first", "last", "attr", "fact_first", "fact_last", "fact_attr", "attr_mask", "fact_mask")


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """[n, dim] independent uniformly random unit vectors."""
    v = rng.standard_normal((n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def min_facts(facts_per_name: int) -> int:
    """The smallest table fact_table builds: its seed, a cycle through 2r first and 2r last names."""
    return 4 * facts_per_name


def nested_sizes(n_max: int, facts_per_name: int) -> np.ndarray:
    """[k] every N up to n_max at which fact_table's table of N facts is the first N facts of every larger
    one (the sizes between a new name's first and second fact are not): at most 3 apart."""
    r, base = facts_per_name, min_facts(facts_per_name)
    n = np.arange(base, n_max + 1)
    return n[(n - base) % r <= r - 3]


class _Names:
    """The growing bipartite graph of facts: (first, last) pairs, the neighbours of every name and the open
    slots (a name of degree k < r is listed r - k times, so a uniform slot picks names by what they lack)."""

    def __init__(self, r: int):
        self.r = r
        self.pairs: list[tuple[int, int]] = []
        self.of_first: list[set] = []  # last names of each first name
        self.of_last: list[set] = []  # first names of each last name
        self.open_first: list[int] = []
        self.open_last: list[int] = []

    def new_first(self) -> int:
        self.of_first.append(set())
        return len(self.of_first) - 1

    def new_last(self) -> int:
        self.of_last.append(set())
        return len(self.of_last) - 1

    def add(self, f: int, g: int) -> None:
        self.pairs.append((f, g))
        self.of_first[f].add(g)
        self.of_last[g].add(f)

    def closes_square(self, f: int, g: int) -> bool:
        """True if (f, g) is a fact already or would close a 4-cycle f-g-f'-g' (four facts on two first and
        two last names, whose inputs are linearly dependent: x_fg + x_f'g' = x_fg' + x_f'g)."""
        if g in self.of_first[f]:
            return True
        return any(not self.of_first[f2].isdisjoint(self.of_first[f]) for f2 in self.of_last[g])

    def take(self, rng: np.random.Generator, accept) -> tuple[int, int]:
        """Remove and return an open (first, last) slot pair, uniform among those `accept` allows (random
        draws first; then every open pair in a random order)."""
        for _ in range(64):
            i, j = rng.integers(len(self.open_first)), rng.integers(len(self.open_last))
            if accept(self.open_first[i], self.open_last[j]):
                return self.open_first.pop(i), self.open_last.pop(j)
        for i in rng.permutation(len(self.open_first)):
            for j in rng.permutation(len(self.open_last)):
                if accept(self.open_first[i], self.open_last[j]):
                    return self.open_first.pop(i), self.open_last.pop(j)
        raise ConfigError(f"no open pair of names left for a new fact at {self.r} facts per name")


def _grow(rng: np.random.Generator, n_facts: int, r: int, n_attributes: int | None):
    """(fact_first, fact_last, fact_attr) [N] of a nested table and its name counts (see fact_table)."""
    g = _Names(r)
    attrs: list[int] = []

    def draw(*avoid: int) -> None:  # an attribute differing from `avoid` (None: one class per fact)
        if n_attributes is None:
            attrs.append(len(attrs))
            return
        while (a := int(rng.integers(n_attributes))) in avoid:
            pass
        attrs.append(a)

    k = 2 * r  # the seed: a cycle f0 g0 f1 g1 ... through k first and k last names, facts alternating
    for _ in range(k):
        g.new_first(), g.new_last()
    for i in range(k):
        for f in (i, (i + 1) % k):
            g.add(f, i)
            prev = attrs[-1:] if attrs else []
            draw(*prev, *(attrs[:1] if len(attrs) == 2 * k - 1 else []))
    g.open_first = [f for f in range(k) for _ in range(r - 2)]
    g.open_last = list(g.open_first)

    def old_pair() -> None:  # a fact on two names already there (each has two facts of two attributes)
        f, last = g.take(rng, lambda f, last: not g.closes_square(f, last))
        g.add(f, last)
        draw()

    while len(g.pairs) < n_facts:
        for _ in range(r - 3):
            if len(g.pairs) < n_facts:
                old_pair()
        if len(g.pairs) >= n_facts:
            break
        if n_facts - len(g.pairs) < 3:  # too few left for two new names: end on old ones (not nested)
            old_pair()
            continue
        # two new names, two facts each: (f, l), (f, l1), (f1, l); f1-l1 not a fact (no 4-cycle)
        f1, l1 = g.take(rng, lambda f, last: last not in g.of_first[f])
        f, last = g.new_first(), g.new_last()
        g.add(f, last)
        draw()
        g.add(f, l1)
        draw(attrs[-1])
        g.add(f1, last)
        draw(attrs[-2])
        g.open_first += [f] * (r - 2)
        g.open_last += [last] * (r - 2)
    pairs = np.array(g.pairs, np.int32)
    return pairs[:, 0], pairs[:, 1], np.array(attrs, np.int32), len(g.of_first), len(g.of_last)


def fact_table(
    rng: np.random.Generator,
    n_facts: int,
    dim: int,
    n_attributes: int | None,
    facts_per_name: int = 4,
    single_token: bool = False,
) -> dict[str, np.ndarray]:
    """One instance's tokens and facts: random but for the structure, and nested in N.

    Every first and every last name keys 2..r facts (r = facts_per_name; all but the newest names r), no
    two facts share both names, no four facts sit on two first and two last names, and a name's facts never
    all share one attribute: neither name alone tells the answer, the MLP must combine them. The table
    grows from a cycle through 2r first and 2r last names (min_facts(r) facts) by steps of r facts: r - 3
    facts on names already there with open slots, then two new names with two facts each. So the table of
    N facts is the first N facts of any larger table from the same rng for every N in nested_sizes (names,
    embeddings and attributes alike), and a capacity search compares one table at every N.
    n_attributes: the M attribute values, each fact's uniform but for the rule above; None: one attribute
    per fact (N classes). single_token: each fact is keyed by one token of its own (x = e_first, last names
    zero): the setting of the published linear-memory fit.
    Returns first [first names, dim], last [last names, dim], attr [M, dim], fact_first, fact_last,
    fact_attr [N] (int32).
    """
    if n_attributes is not None and n_attributes < 2:
        raise ConfigError(f"n_attributes={n_attributes}: at least 2 attributes, or every name decides alone")
    graph_rng, first_rng, last_rng, attr_rng = rng.spawn(4)  # streams apart, so tables of any N nest
    if single_token:
        fact_first, fact_last = np.arange(n_facts, dtype=np.int32), np.zeros(n_facts, np.int32)
        n_first, n_last = n_facts, 0
        fact_attr = (
            np.arange(n_facts, dtype=np.int32)
            if n_attributes is None
            else graph_rng.integers(0, n_attributes, n_facts).astype(np.int32)
        )
    else:
        if facts_per_name < 3:
            raise ConfigError(
                f"facts_per_name={facts_per_name}: at least 3 (a nested table grows by r facts)"
            )
        if n_facts < min_facts(facts_per_name):
            raise ConfigError(
                f"{n_facts} facts at {facts_per_name} per name: at least {min_facts(facts_per_name)} facts, "
                "so every name keys several"
            )
        fact_first, fact_last, fact_attr, n_first, n_last = _grow(
            graph_rng, n_facts, facts_per_name, n_attributes
        )
    first = unit_vectors(first_rng, n_first, dim)
    last = np.zeros_like(first) if single_token else unit_vectors(last_rng, n_last, dim)
    table = {
        "first": first,
        "last": last,
        "attr": unit_vectors(attr_rng, n_facts if n_attributes is None else n_attributes, dim),
        "fact_first": fact_first,
        "fact_last": fact_last,
        "fact_attr": fact_attr,
    }
    if not single_token:
        check_shared_names(table, facts_per_name)
    return table


def check_shared_names(table: dict, facts_per_name: int) -> None:
    """ConfigError unless no token decides alone: every (first, last) pair is one fact, every first and
    last name keys 2..facts_per_name facts, and no name's facts all share one attribute."""
    n = table["fact_attr"].size
    if len(set(zip(table["fact_first"].tolist(), table["fact_last"].tolist()))) != n:
        raise ConfigError("a (first, last) pair keys two facts")
    for key, names in (("fact_first", "first"), ("fact_last", "last")):
        ids, attrs = table[key], table["fact_attr"]
        counts = np.bincount(ids, minlength=table[names].shape[0])
        if counts.min() < 2 or counts.max() > facts_per_name:
            raise ConfigError(
                f"{names} names key {counts.min()}..{counts.max()} facts, not 2..{facts_per_name}"
            )
        pairs = np.unique(np.stack([ids, attrs]), axis=1)  # [2, distinct (name, attribute) pairs]
        same = np.bincount(pairs[0], minlength=counts.size) < 2  # every fact of the name: one attribute
        if same.any():
            raise ConfigError(
                f"{names} name {int(np.flatnonzero(same)[0])}: all its facts share one attribute"
            )


def stack_tables(tables: list[dict], pad_like: list[dict] = ()) -> dict[str, np.ndarray]:
    """Instance-first arrays of several tables, padded to the largest of them and of pad_like (tables whose
    sizes a later stack must share): names, attributes and facts, with attr_mask [I, M_max] and fact_mask
    [I, N_max] (1 real, 0 padding). Padded facts point at token 0."""

    def pad(a, n):
        return np.concatenate([a, np.zeros((n - a.shape[0], *a.shape[1:]), a.dtype)])

    every = [*tables, *pad_like]
    sizes = {k: max(t[k].shape[0] for t in every) for k in ("attr", "fact_attr")}
    sizes["first"] = max(max(t["first"].shape[0], t["last"].shape[0]) for t in every)
    out: dict[str, list] = {}
    for t in tables:
        n_facts, n_attr = t["fact_attr"].shape[0], t["attr"].shape[0]
        for k in ("first", "last"):
            out.setdefault(k, []).append(pad(t[k], sizes["first"]))
        out.setdefault("attr", []).append(pad(t["attr"], sizes["attr"]))
        for k in ("fact_first", "fact_last", "fact_attr"):
            out.setdefault(k, []).append(pad(t[k], sizes["fact_attr"]))
        out.setdefault("attr_mask", []).append((np.arange(sizes["attr"]) < n_attr).astype(np.float32))
        out.setdefault("fact_mask", []).append((np.arange(sizes["fact_attr"]) < n_facts).astype(np.float32))
    return {k: np.stack(v) for k, v in out.items()}


def instance_table(arrays: dict, i: int, prefix: str = "") -> dict[str, np.ndarray]:
    """Instance i's table from stacked arrays (prefix: the stored names' prefix), padding cut off."""
    get = {k: np.asarray(arrays[f"{prefix}{k}"][i]) for k in TABLE_KEYS}
    n_facts, n_attr = int(get["fact_mask"].sum()), int(get["attr_mask"].sum())
    return {
        "first": get["first"],
        "last": get["last"],
        "attr": get["attr"][:n_attr],
        **{k: get[k][:n_facts] for k in ("fact_first", "fact_last", "fact_attr")},
    }


def orthonormal_table(n_facts: int, n_attributes: int, facts_per_name: int, seed: int = 0) -> dict:
    """A fact table whose tokens (first names, last names, attributes) are distinct standard basis vectors
    of R^(2 names + M): exactly orthonormal, so the hand-built AND model should be exact."""
    rng = np.random.default_rng(seed)
    t = fact_table(rng, n_facts, 1, n_attributes, facts_per_name)
    k, j = t["first"].shape[0], t["last"].shape[0]
    eye = np.eye(k + j + n_attributes, dtype=np.float32)
    return {**t, "first": eye[:k], "last": eye[k : k + j], "attr": eye[k + j :]}


class FactBatch(NamedTuple):
    """The whole (padded) table as one batch: x [d, F] inputs, label [F] attribute ids, mask [F] 1 for a
    real fact."""

    x: jax.Array
    label: jax.Array
    mask: jax.Array


@dataclasses.dataclass(frozen=True)
class FullTable:
    """Sampler: every step sees the instance's whole fact table (full batch: memorisation, no noise)."""

    def draw(self, key, hyper, cfg) -> FactBatch:
        e = hyper.extra
        x = (e["first"][e["fact_first"]] + e["last"][e["fact_last"]]).T
        return FactBatch(x, e["fact_attr"], e["fact_mask"])


def readout_loss(out: jax.Array, batch: FactBatch, hyper) -> jax.Array:
    """Mean cross-entropy over real facts of logits e_a . out (out [d, F]) over the instance's attributes."""
    logits = hyper.extra["attr"] @ out  # [M, F]
    logits = jnp.where(hyper.extra["attr_mask"][:, None] > 0, logits, PAD_LOGIT)
    true = jnp.take_along_axis(logits, batch.label[None, :], axis=0)[0]
    ce = jax.nn.logsumexp(logits, axis=0) - true
    return jnp.sum(ce * batch.mask) / jnp.sum(batch.mask)


@dataclasses.dataclass(frozen=True)
class FactMLP:
    """h = ReLU(W_in x + b), out = W_out h: W_in [m, d], b [m], W_out [d, m] (2md + m parameters)."""

    def default_sampler(self):
        return FullTable()

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        """n_features = d (embedding width), n_hidden = m (neurons). Xavier-normal weights, zero bias."""
        k_in, k_out = jax.random.split(key)
        return {
            "W_in": xavier_normal(k_in, (n_hidden, n_features)),
            "b": jnp.zeros((n_hidden,), jnp.float32),
            "W_out": xavier_normal(k_out, (n_features, n_hidden)),
        }

    def apply(self, params, x):
        """x [d, batch] -> out [d, batch], the vector the attribute embeddings read."""
        return params["W_out"] @ jax.nn.relu(params["W_in"] @ x + params["b"][:, None])

    def loss(self, params, batch: FactBatch, hyper):
        return readout_loss(self.apply(params, batch.x), batch, hyper)


@dataclasses.dataclass(frozen=True)
class LinearMemory:
    """out = W x with W [d, d] (d^2 parameters): the linear associative memory of the published fits.
    n_hidden is not used (pass 1)."""

    def default_sampler(self):
        return FullTable()

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        return {"W": xavier_normal(key, (n_features, n_features))}

    def apply(self, params, x):
        return params["W"] @ x

    def loss(self, params, batch: FactBatch, hyper):
        return readout_loss(self.apply(params, batch.x), batch, hyper)
