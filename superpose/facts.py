"""Facts in superposition (paper.md section 7): a fact-lookup MLP over frozen random token embeddings.

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

Owns: fact tables (numpy, seeded, nested in N), the models (FactMLP, LinearMemory), the sampler handing them
the whole table (FullTable), the hand-built AND model, and numpy analysis of weights: logits, accuracy, each
neuron's share of each fact's logit margin, AND-ness, the capacity search, capacity estimates and power-law
fits.
Does not: sweep over instances (sweep.py) or draw (plots/facts.py).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from superpose.config import ConfigError
from superpose.models import xavier_normal

PAD_LOGIT = -1e9  # logit of a padded attribute slot: exp() of it is exactly 0 in float32
# One instance's table in hyper.extra (stack_tables): tokens, facts and the masks of padding.
TABLE_KEYS = ("first", "last", "attr", "fact_first", "fact_last", "fact_attr", "attr_mask", "fact_mask")

# --- fact tables (numpy: one instance each) ------------------------------------------------------------


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


def inputs(table: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x [d, N] = e_first + e_last of every fact, and the first- and last-name parts alone [d, N] each."""
    f = table["first"][table["fact_first"]].T
    g = table["last"][table["fact_last"]].T
    return f + g, f, g


# --- training: the sampler and the models (jax, ONE instance) ------------------------------------------


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

    def init(self, key, n_features: int, n_hidden: int) -> dict:
        return {"W": xavier_normal(key, (n_features, n_features))}

    def apply(self, params, x):
        return params["W"] @ x

    def loss(self, params, batch: FactBatch, hyper):
        return readout_loss(self.apply(params, batch.x), batch, hyper)


# --- analysis (numpy, ONE instance) ---------------------------------------------------------------------


def relu(z):
    return np.maximum(z, 0.0)


def mlp_hidden(params: dict, x: np.ndarray) -> np.ndarray:
    """[m, batch] ReLU(W_in x + b)."""
    return relu(np.asarray(params["W_in"], np.float64) @ x + np.asarray(params["b"], np.float64)[:, None])


def logits(params: dict, table: dict) -> np.ndarray:
    """[M, N] attribute logits of every fact, for an MLP (W_in, b, W_out) or a linear memory (W)."""
    x, _, _ = inputs(table)
    x = x.astype(np.float64)
    if "W" in params:
        out = np.asarray(params["W"], np.float64) @ x
    else:
        out = np.asarray(params["W_out"], np.float64) @ mlp_hidden(params, x)
    return table["attr"].astype(np.float64) @ out


def accuracy(params: dict, table: dict) -> float:
    """Top-1 accuracy over the table's facts (a tie counts as wrong)."""
    z = logits(params, table)
    y = table["fact_attr"]
    true = z[y, np.arange(y.size)]
    z[y, np.arange(y.size)] = -np.inf
    return float(np.mean(true > z.max(axis=0)))


def and_model(table: dict, bias: float = -1.0) -> dict[str, np.ndarray]:
    """The hand-built AND model: neuron i per fact i, input weights e_first + e_last, bias -1, output weight
    the attribute vector. With orthonormal tokens it fires 1 for the full name and 0 for either name alone."""
    x, _, _ = inputs(table)
    return {
        "W_in": x.T.astype(np.float64),
        "b": np.full(x.shape[1], bias),
        "W_out": table["attr"][table["fact_attr"]].T.astype(np.float64),
    }


def orthonormal_table(n_facts: int, n_attributes: int, facts_per_name: int, seed: int = 0) -> dict:
    """A fact table whose tokens (first names, last names, attributes) are distinct standard basis vectors
    of R^(2 names + M): exactly orthonormal, so the hand-built AND model should be exact."""
    rng = np.random.default_rng(seed)
    t = fact_table(rng, n_facts, 1, n_attributes, facts_per_name)
    k, j = t["first"].shape[0], t["last"].shape[0]
    eye = np.eye(k + j + n_attributes, dtype=np.float32)
    return {**t, "first": eye[:k], "last": eye[k : k + j], "attr": eye[k + j :]}


def margin_contributions(params: dict, table: dict) -> np.ndarray:
    """[m, N] neuron j's part of fact i's logit margin (true logit minus the best other logit):
    C_ji = h_j(x_i) W_out[:, j] . (e_y - e_y'), y' the runner-up. Summed over j it is the margin (no
    output bias), so C_ji / margin_i is neuron j's share of fact i."""
    x, _, _ = inputs(table)
    h = mlp_hidden(params, x.astype(np.float64))
    attr = table["attr"].astype(np.float64)
    z = attr @ (np.asarray(params["W_out"], np.float64) @ h)
    y = table["fact_attr"]
    cols = np.arange(y.size)
    z[y, cols] = -np.inf
    runner_up = z.argmax(axis=0)
    direction = attr[y] - attr[runner_up]  # [N, d]
    return h * (np.asarray(params["W_out"], np.float64).T @ direction.T)


def margin_shares(C: np.ndarray) -> np.ndarray:
    """[m, N] each neuron's share of its fact's margin contributions C [m, N], C_ji / sum_j |C_ji|: in
    [-1, 1], and the C_ji / margin_i of a fact whose contributions are all positive (0 for a silent fact)."""
    total = np.abs(C).sum(axis=0, keepdims=True)
    return np.where(total > 0, C / np.maximum(total, 1e-300), 0.0)


def participation(C: np.ndarray) -> np.ndarray:
    """[N] effective number of neurons carrying each fact: (sum c+)^2 / sum (c+)^2 over the positive parts
    of its margin contributions C [m, N] (1: one neuron; k: k equal ones); 0 where none is positive."""
    pos = np.maximum(C, 0.0)
    s1, s2 = pos.sum(axis=0), (pos**2).sum(axis=0)
    return np.where(s2 > 0, s1**2 / np.maximum(s2, 1e-300), 0.0)


def main_neurons(C: np.ndarray, share: float = 0.5) -> np.ndarray:
    """[m, N] bool: for each fact, its fewest largest positive contributors that together reach `share` of
    its positive contributions (the neurons that carry it)."""
    pos = np.maximum(C, 0.0)
    order = np.argsort(-pos, axis=0)
    sorted_pos = np.take_along_axis(pos, order, axis=0)
    total = sorted_pos.sum(axis=0)
    before = np.cumsum(sorted_pos, axis=0) - sorted_pos  # what the larger ones already cover
    keep_sorted = (before < share * total) & (sorted_pos > 0)
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=0)
    return keep


def and_scores(params: dict, table: dict) -> np.ndarray:
    """[m, N] superadditivity of neuron j on fact i: (h(full) - h(first) - h(last) + h(0)) / h(full), the
    interaction of the two names (h(0) = ReLU(b), the response to neither) as a share of the response to the
    full name. 1: a pure AND, like the hand-built neuron; 0: additive, as if it read each name separately
    (whatever its bias); below 0: subadditive. NaN where h(full) = 0."""
    x, f, g = (a.astype(np.float64) for a in inputs(table))
    full, first, last, none = (mlp_hidden(params, a) for a in (x, f, g, np.zeros_like(x)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(full > 0, (full - first - last + none) / full, np.nan)


def and_fraction(C: np.ndarray, scores: np.ndarray, threshold: float = 0.5, share: float = 0.5) -> float:
    """Fraction of facts whose main neurons behave as ANDs: over each fact's main neurons (main_neurons),
    the contribution-weighted share of those with AND score >= threshold is at least one half."""
    main = main_neurons(C, share)
    weight = np.where(main, np.maximum(C, 0.0), 0.0)
    is_and = np.nan_to_num(scores, nan=-np.inf) >= threshold
    total = weight.sum(axis=0)
    ok = total > 0
    frac = (weight * is_and).sum(axis=0)[ok] / total[ok]
    return float(np.mean(frac >= 0.5)) if ok.any() else float("nan")


# --- capacity ------------------------------------------------------------------------------------------


def capacity(n_facts: np.ndarray, acc: np.ndarray, threshold: float = 0.99) -> tuple[float, str]:
    """The largest N stored at >= threshold top-1 accuracy, from accuracies measured at increasing N.

    Interpolated in log N between the first N that fails and the N before it (after search_capacity, two
    candidates a few facts apart, so the interpolation hardly matters). Returns (N, status):
    "ok"; "below" (the smallest N already fails: N is that N, an upper bound); "above" (every N passes: the
    largest, a lower bound).
    """
    n_facts, acc = np.asarray(n_facts, np.float64), np.asarray(acc, np.float64)
    fails = np.flatnonzero(acc < threshold)
    if fails.size == 0:
        return float(n_facts[-1]), "above"
    j = int(fails[0])
    if j == 0:
        return float(n_facts[0]), "below"
    a0, a1 = acc[j - 1], acc[j]
    t = (a0 - threshold) / (a0 - a1)
    return float(np.exp(np.log(n_facts[j - 1]) + t * (np.log(n_facts[j]) - np.log(n_facts[j - 1])))), "ok"


def _spread(candidates: np.ndarray, k: int, lo: float, hi: float, ends: bool) -> list[int]:
    """Up to k distinct candidates nearest to k points geometric from lo to hi (ends: lo and hi among them;
    else strictly between)."""
    if candidates.size <= k:
        return [int(c) for c in candidates]
    targets = np.geomspace(lo, hi, k) if ends else np.geomspace(lo, hi, k + 2)[1:-1]
    nearest = np.abs(np.log(candidates)[None, :] - np.log(targets)[:, None]).argmin(axis=1)
    return [int(c) for c in np.unique(candidates[nearest])]


def refine(tried: dict[int, float], candidates: np.ndarray, threshold: float, points: int) -> list[int]:
    """Up to `points` untried candidates inside one seed's bracket: between the first N that fails (accuracy
    < threshold) and the largest N below it, spread geometrically. [] when the smallest N tried fails or the
    largest passes (the capacity lies outside the range: a bound) or the bracket holds no candidate."""
    n = np.array(sorted(tried))
    fails = np.flatnonzero(np.array([tried[k] for k in n]) < threshold)
    if fails.size == 0 or fails[0] == 0:
        return []
    lo, hi = n[fails[0] - 1], n[fails[0]]
    return _spread(candidates[(candidates > lo) & (candidates < hi)], points, lo, hi, ends=False)


def search_capacity(
    evaluate, candidates: np.ndarray, n_seeds: int, threshold: float, points: int, rounds: int
) -> list[dict[int, float]]:
    """Narrow down each seed's capacity on one nested table per seed (accuracy falls with N but for noise).

    Round 0 tries `points` candidates from the smallest to the largest, both included; each of up to
    `rounds` more tries `points` candidates inside every seed's bracket (refine), so a bracket shrinks by
    points + 1 a round, down to adjacent candidates. evaluate(round, [(seed, N), ...]) -> accuracies, in
    order: one call per round (one training sweep). Returns per seed {N: accuracy} of every N tried.
    """
    candidates = np.asarray(candidates)
    tried: list[dict[int, float]] = [{} for _ in range(n_seeds)]
    first = _spread(candidates, max(points, 2), candidates[0], candidates[-1], ends=True)
    requests = [(s, n) for s in range(n_seeds) for n in first]
    for round_ in range(rounds + 1):
        if not requests:
            break
        for (s, n), acc in zip(requests, evaluate(round_, requests), strict=True):
            tried[s][n] = float(acc)
        requests = [(s, n) for s in range(n_seeds) for n in refine(tried[s], candidates, threshold, points)]
    return tried


def power_fit(x, y) -> tuple[float, float]:
    """(exponent k, prefactor c) of the least-squares line log y = k log x + log c."""
    k, log_c = np.polyfit(np.log(np.asarray(x, np.float64)), np.log(np.asarray(y, np.float64)), 1)
    return float(k), float(np.exp(log_c))


def ratio_constant(params_measure, facts_measure) -> float:
    """Geometric-mean constant c of params_measure ~ c * facts_measure (e.g. m d ~ c N, or ~ c N ln N)."""
    return float(np.exp(np.mean(np.log(np.asarray(params_measure, np.float64) / np.asarray(facts_measure)))))
