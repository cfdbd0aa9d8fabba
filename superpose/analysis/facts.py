"""Measurements of a fact-lookup MLP (superpose.models.facts), numpy, ONE instance: its inputs, logits and
top-1 accuracy, the hand-built AND model, each neuron's contribution to and share of each fact's logit
margin, how many neurons carry a fact, and AND-ness (the response to the full name against either name
alone); Fact Finding's measures (Nanda et al. 2023): each fact's non-linear excess and its neurons' parts,
and how far the outputs over all name pairs are from additive, against shuffled weights. Does not: train,
build tables (superpose.models.facts) or search capacities (analysis.capacity).
"""

from __future__ import annotations

import numpy as np


def inputs(table: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x [d, N] = e_first + e_last of every fact, and the first- and last-name parts alone [d, N] each."""
    f = table["first"][table["fact_first"]].T
    g = table["last"][table["fact_last"]].T
    return f + g, f, g


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


def token_attribution(params: dict, table: dict) -> dict[str, np.ndarray]:
    """How much of each fact's logit margin each of its two name tokens carries: integrated gradients of the
    margin (true logit minus the runner-up's, the runner-up fixed at the full key) along the straight path
    from the empty input to the key e_first + e_last, split into its first- and last-name parts. Exact, not
    sampled: along the path neuron j's pre-activation t a_j + b_j is linear in t, so its active fraction
    phi_j of t in [0, 1] is closed-form, and ReLU(a_j + b_j) - ReLU(b_j) = a_j phi_j.

    Returns first [N], last [N] (the two parts; first + last = margin - baseline exactly), margin [N],
    baseline [N] (the margin of the bias-only response, ReLU(b)), share_first / share_last [N] (each part
    over their sum; NaN where the sum is 0)."""
    _, f, g = (a.astype(np.float64) for a in inputs(table))
    x = f + g  # in float64, so that the two parts add up exactly
    W_in, b = np.asarray(params["W_in"], np.float64), np.asarray(params["b"], np.float64)
    W_out, attr = np.asarray(params["W_out"], np.float64), table["attr"].astype(np.float64)
    z = attr @ (W_out @ mlp_hidden(params, x))
    y = table["fact_attr"]
    cols = np.arange(y.size)
    z_true = z[y, cols].copy()
    z[y, cols] = -np.inf
    runner_up = z.argmax(axis=0)
    readout = W_out.T @ (attr[y] - attr[runner_up]).T  # [m, N]: each neuron's weight on the margin
    a = W_in @ x  # [m, N] pre-activation change along the path
    bb = b[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = -bb / a  # where t a + b crosses zero
        phi = np.where(a > 0, np.clip(1.0 - cross, 0.0, 1.0), np.clip(cross, 0.0, 1.0))
    phi = np.where(a == 0, (bb > 0).astype(np.float64) * np.ones_like(a), phi)
    gate = phi * readout  # [m, N]: d margin / d (pre-activation), integrated over the path
    first = np.einsum("jn,jd,dn->n", gate, W_in, f)
    last = np.einsum("jn,jd,dn->n", gate, W_in, g)
    baseline = (relu(b)[:, None] * readout).sum(axis=0)
    total = first + last
    with np.errstate(divide="ignore", invalid="ignore"):
        share_first = np.where(total != 0, first / total, np.nan)
    return {
        "first": first,
        "last": last,
        "margin": z_true - z.max(axis=0),
        "baseline": baseline,
        "share_first": share_first,
        "share_last": 1.0 - share_first,
    }


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


def storage(params: dict, table: dict) -> dict:
    """How one trained MLP stores its facts: n_facts, accuracy, facts_per_neuron, neurons_per_fact [N]
    (participation), main_neurons_per_fact [N], facts_served_per_neuron [m], and_fraction, the median AND
    score of the main neurons, and the margin shares [m, N] (for figures)."""
    C = margin_contributions(params, table)
    main_mask = main_neurons(C)
    scores = and_scores(params, table)
    m, n = C.shape
    main_scores = scores[main_mask]
    return {
        "n_facts": int(n),
        "accuracy": accuracy(params, table),
        "facts_per_neuron": n / m,
        "neurons_per_fact": participation(C),
        "main_neurons_per_fact": main_mask.sum(axis=0),
        "facts_served_per_neuron": main_mask.sum(axis=1),
        "and_fraction": and_fraction(C, scores),
        "and_score_median": float(np.nanmedian(main_scores)) if main_scores.size else float("nan"),
        "shares": margin_shares(C),
    }


def and_model_exactness(table: dict) -> dict:
    """The hand-built AND model (and_model) on a table: accuracy, the range of its margins and of each
    neuron's response to its own fact, its largest response to another fact and to either name alone, and
    its AND fraction. With orthonormal tokens: 1, [1, 1], [1, 1], 0, 0, 1."""
    params = and_model(table)
    x, f, g = inputs(table)
    full = mlp_hidden(params, x)
    single = np.maximum(mlp_hidden(params, f), mlp_hidden(params, g))
    C = margin_contributions(params, table)
    margins = C.sum(axis=0)
    return {
        "dim": int(x.shape[0]),
        "accuracy": accuracy(params, table),
        "margin_range": [float(margins.min()), float(margins.max())],
        "own_response_range": [float(np.diag(full).min()), float(np.diag(full).max())],
        "other_facts_max_response": float((full - np.diag(np.diag(full))).max()),
        "single_name_max_response": float(single.max()),
        "and_fraction": and_fraction(C, and_scores(params, table)),
    }


def name_grid(params: dict, table: dict) -> tuple[np.ndarray, np.ndarray]:
    """(H [k, j, m] the hidden responses to every first name a with every last name b, e_a + e_b; out
    [k, j, d] the output vectors) of an MLP (W_in, b, W_out) over all k x j name pairs, facts or not."""
    first, last = np.asarray(table["first"], np.float64), np.asarray(table["last"], np.float64)
    W_in, b = np.asarray(params["W_in"], np.float64), np.asarray(params["b"], np.float64)
    H = relu((first @ W_in.T)[:, None, :] + (last @ W_in.T)[None, :, :] + b)
    return H, H @ np.asarray(params["W_out"], np.float64).T


def nonlinear_excess(params: dict, table: dict) -> tuple[np.ndarray, np.ndarray]:
    """Fact Finding's (Nanda et al. 2023) non-linear excess of each fact (A, B) -> y on the true attribute's
    logit, E(A and B) - E(not-A and B) - E(A and not-B) + E(not-A and not-B), each "not" averaged over the
    other names; zero for any model additive in the two names. Returns (excess [N], per-neuron parts [m, N]:
    the excess is their sum, since the readout is linear in the hidden layer)."""
    H, _ = name_grid(params, table)
    k, j, _ = H.shape
    A, B, y = table["fact_first"], table["fact_last"], table["fact_attr"]
    col, row, total = H.sum(axis=0), H.sum(axis=1), H.sum(axis=(0, 1))  # [j, m], [k, m], [m]
    not_a = (col[B] - H[A, B]) / (k - 1)  # mean over a' != A of H[a', B]
    not_b = (row[A] - H[A, B]) / (j - 1)
    neither = (total - col[B] - row[A] + H[A, B]) / ((k - 1) * (j - 1))
    delta = H[A, B] - not_a - not_b + neither  # [N, m]
    readout = np.asarray(table["attr"], np.float64)[y] @ np.asarray(params["W_out"], np.float64)  # [N, m]
    parts = (delta * readout).T
    return parts.sum(axis=0), parts


def top_neuron_share(parts: np.ndarray) -> np.ndarray:
    """[N] the largest single neuron's share of each fact's positive excess parts [m, N] (1: one AND
    neuron carries it; 1/k: k equal neurons); NaN where no part is positive."""
    pos = np.maximum(parts, 0.0)
    total = pos.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, pos.max(axis=0) / total, np.nan)


def additive_break(params: dict, table: dict) -> float:
    """How far an MLP's outputs over all name pairs are from additive structure: the share of their variance
    that the best fit out[a, b] = mu + alpha_a + beta_b leaves unexplained (two-way decomposition); 0 for
    any map additive in the names."""
    _, out = name_grid(params, table)
    mu = out.mean(axis=(0, 1))
    fit = out.mean(axis=1, keepdims=True) + out.mean(axis=0, keepdims=True) - mu
    return float(((out - fit) ** 2).sum() / max(((out - mu) ** 2).sum(), 1e-300))


def shuffled(params: dict, rng: np.random.Generator) -> dict:
    """The same MLP with each weight matrix's entries (and the biases) permuted at random: the same
    weight distribution, no learned structure (Fact Finding's baseline)."""
    return {k: rng.permutation(np.asarray(v).ravel()).reshape(np.shape(v)) for k, v in params.items()}
