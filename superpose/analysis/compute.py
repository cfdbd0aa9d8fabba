"""Measurements of computation with few neurons (issue 20): Universal-AND and compressed computation.

Owns: the hand-built Universal-AND construction of Hänni et al. (2024) (random 0/1 input weights, bias -1,
each AND read as the mean of the neurons wired to both its inputs), its forward pass and error in numpy, the
naive baselines (neurons spent on a subset of the ANDs; 50 of 100 ReLUs computed exactly), each neuron's
truth table on every pair of inputs and Newgas (2025)'s classes of them, how dense a circuit is, and the
residual MLP's response to one active feature. Does not: train (superpose.models.compute, superpose.study)
or draw. numpy in, numbers out; never imports jax.
"""

from __future__ import annotations

import numpy as np

# --- Universal-AND -------------------------------------------------------------------------------------

CLASSES = ("A", "B", "C", "AND", "single", "silent")  # see truth_table_classes


def pair_index(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of every pair i < j, row-major: the order of the models' outputs (models.compute.pairs)."""
    return np.triu_indices(m, k=1)


def and_targets(bits: np.ndarray) -> np.ndarray:
    """bits [batch, m] of 0/1 -> [batch, m(m-1)/2] the AND of every pair."""
    i, j = pair_index(bits.shape[1])
    return bits[:, i] * bits[:, j]


def sample_bits(rng: np.random.Generator, n: int, m: int, p: float) -> np.ndarray:
    """[n, m] float 0/1: each input on independently with probability p (the sampler's law)."""
    return (rng.random((n, m)) < p).astype(np.float64)


def construction(m: int, d: int, connect_prob: float, rng: np.random.Generator, embedding=None) -> dict:
    """Hänni et al.'s U-AND layer, set by hand: neuron k is wired to input i with probability connect_prob
    (weight 1, else 0) and has bias -1, so it fires (with value 1) when two of its inputs are on; output
    (i, j) is the mean of the neurons wired to both i and j (0 if none is). With `embedding` E [dim, m] the
    inputs arrive in superposition, a = E x, and each neuron reads its inputs back through E^T
    (W_in = C E^T). Returns the params of models.compute.UniversalAND (numpy, float64)."""
    C = (rng.random((d, m)) < connect_prob).astype(np.float64)
    i, j = pair_index(m)
    both = C[:, i] * C[:, j]  # [d, P]
    count = both.sum(0)
    W_out = np.where(count > 0, both / np.maximum(count, 1.0), 0.0).T  # [P, d]
    W_in = C if embedding is None else C @ np.asarray(embedding, np.float64).T
    return {"W_in": W_in, "b_in": -np.ones(d), "W_out": W_out, "b_out": np.zeros(len(i))}


def and_hidden(params: dict, bits: np.ndarray, embedding=None) -> np.ndarray:
    """[batch, d] the ReLU layer's activations on bits [batch, m]."""
    a = bits if embedding is None else bits @ np.asarray(embedding, np.float64).T
    return np.maximum(a @ np.asarray(params["W_in"], np.float64).T + np.asarray(params["b_in"]), 0.0)


def and_outputs(params: dict, bits: np.ndarray, embedding=None) -> np.ndarray:
    """[batch, P] the readout of every AND."""
    h = and_hidden(params, bits, embedding)
    return h @ np.asarray(params["W_out"], np.float64).T + np.asarray(params["b_out"])


def and_errors(params: dict, bits: np.ndarray, embedding=None) -> dict:
    """mse: mean squared error over outputs and samples; wrong: the share of outputs on the wrong side of
    1/2 (the AND read by a threshold)."""
    y, t = and_outputs(params, bits, embedding), and_targets(bits)
    return {"mse": float(np.mean((y - t) ** 2)), "wrong": float(np.mean((y > 0.5) != (t > 0.5)))}


def best_construction(m, d, bits, rng, probs, embedding=None) -> tuple[dict, float, dict]:
    """The construction at the connection probability in `probs` with the lowest MSE on `bits`:
    (params, connect_prob, errors). The one number chosen by measurement; every weight is set by hand."""
    best = None
    for c in probs:
        params = construction(m, d, float(c), rng, embedding)
        err = and_errors(params, bits, embedding)
        if best is None or err["mse"] < best[2]["mse"]:
            best = (params, float(c), err)
    return best


def naive_and_mse(d, m: int, p: float) -> np.ndarray:
    """MSE of the naive circuit: min(d, P) neurons each compute one AND exactly (ReLU(x_i + x_j - 1)), the
    other ANDs read 0, with inputs on independently with probability p (an AND is on with probability p^2)."""
    n_pairs = m * (m - 1) // 2
    return (1.0 - np.minimum(np.asarray(d, np.float64), n_pairs) / n_pairs) * p**2


def truth_tables(W_in, b_in, embedding=None) -> np.ndarray:
    """[d, P, 4] each neuron's activation on each pair's four inputs 00, 10, 01, 11 (x_i, x_j; every other
    input off)."""
    W = np.asarray(W_in, np.float64)
    if embedding is not None:
        W = W @ np.asarray(embedding, np.float64)  # the weight each neuron puts on each input
    b = np.asarray(b_in, np.float64)[:, None]
    i, j = pair_index(W.shape[1])
    wi, wj = W[:, i], W[:, j]
    pre = np.stack([np.broadcast_to(b, wi.shape), wi + b, wj + b, wi + wj + b], axis=-1)
    return np.maximum(pre, 0.0)


def truth_table_classes(tables: np.ndarray, tol: float = 0.05) -> np.ndarray:
    """[d, P] index into CLASSES of each (neuron, pair) truth table [d, P, 4] (00, 10, 01, 11).

    AND: highest on 11 and superadditive, its interaction f11 - f10 - f01 + f00 larger than the rises the
    two inputs give alone (the construction's neurons: silent unless both are on). Otherwise, after Newgas (2025), a table
    that fires on 00 (in context: lifted by the other inputs, or by a positive bias) is A when either input
    raises it, B when one raises and the other lowers it, C when neither raises it (A is additive, B and C
    switch off: the dense circuit's nonlinearity); one silent on 00 is single when it fires on one input
    alone, silent otherwise. "Fires" and "raises" mean by more than tol times that neuron's largest value
    over all its tables."""
    t = np.asarray(tables, np.float64)
    scale = np.maximum(t.max(axis=(1, 2), keepdims=True)[..., 0], 1e-12)  # [d, 1]
    eps = tol * scale
    f00, f10, f01, f11 = (t[..., k] for k in range(4))
    up_i, up_j = f10 > f00 + eps, f01 > f00 + eps
    fires0 = f00 > eps
    interaction = f11 - f10 - f01 + f00
    rises = np.maximum(f10 - f00, 0) + np.maximum(f01 - f00, 0)
    superadditive = (f11 > np.maximum(f10, f01) + eps) & (interaction > rises + eps)
    cls = np.full(f00.shape, CLASSES.index("silent"))
    cls[~fires0 & ((f10 > eps) | (f01 > eps))] = CLASSES.index("single")
    cls[fires0 & ~up_i & ~up_j] = CLASSES.index("C")
    cls[fires0 & (up_i ^ up_j)] = CLASSES.index("B")
    cls[fires0 & up_i & up_j] = CLASSES.index("A")
    cls[superadditive] = CLASSES.index("AND")
    return cls


def class_shares(classes: np.ndarray) -> dict:
    """{class: share of (neuron, pair) entries}."""
    c = np.asarray(classes).reshape(-1)
    return {name: float(np.mean(c == k)) if c.size else 0.0 for k, name in enumerate(CLASSES)}


def contribution_density(params: dict, tables=None, tol: float = 0.05) -> float:
    """Share of (neuron, output) pairs where the neuron contributes to that output: |W_out[p, k]| times the
    range of the neuron's truth table on the pair (its part that depends on the pair's two inputs; tables
    [d, P, 4] as given, e.g. context_truth_tables, else truth_tables of the params) exceeds tol times the
    largest contribution to output p. 1 is Newgas's "fully dense" circuit (every neuron contributes to every
    output); one neuron per AND gives about 1/P."""
    if tables is None:
        tables = truth_tables(params["W_in"], params["b_in"])
    tables = np.asarray(tables, np.float64)
    contrib = np.abs(np.asarray(params["W_out"], np.float64)).T * (tables.max(-1) - tables.min(-1))  # [d, P]
    top = contrib.max(0, keepdims=True)
    return float(np.mean(contrib > tol * np.maximum(top, 1e-12)))


def output_truth_tables(params: dict, embedding=None) -> np.ndarray:
    """[P, 4] each output's value on its own pair's four inputs (00, 10, 01, 11; every other input off):
    (0, 0, 0, 1) for a circuit that computes every AND on two-input inputs."""
    tables = truth_tables(params["W_in"], params["b_in"], embedding)  # [d, P, 4]
    W_out = np.asarray(params["W_out"], np.float64)  # [P, d]
    return np.einsum("pd,dpt->pt", W_out, tables) + np.asarray(params["b_out"], np.float64)[:, None]


# --- compressed computation ----------------------------------------------------------------------------


def naive_relu_loss(n: int, d: int, p: float) -> float:
    """Per-feature MSE of the naive circuit on ReLU(x_i) with x_i ~ U[-1, 1] on with probability p: d
    features computed exactly, the other n - d predicted as 0, each costing E[ReLU(x)^2] p = p/6."""
    return (n - min(d, n)) / n * p / 6.0


def mixing_noise_loss(mixing: np.ndarray, p: float, scale: float = 1.0) -> float:
    """Per-feature MSE of the residual's mixing alone, scale * M x, with x_i ~ U[-1, 1] on with
    probability p (E[x_i^2] = p/3): what the naive circuit adds on top of naive_relu_loss."""
    M = np.asarray(mixing, np.float64)
    return float(scale**2 * p / 3.0 * np.sum(M**2) / M.shape[0])


def relu_responses(W_in, b_in, W_out, xs: np.ndarray) -> np.ndarray:
    """[n, len(xs)] the MLP's output on feature i when x = xs e_i (one feature on), read at feature i: how
    well each of the n ReLUs is computed."""
    W_in, b, W_out = (np.asarray(a, np.float64) for a in (W_in, b_in, W_out))
    pre = W_in[None, :, :] * np.asarray(xs, np.float64)[:, None, None] + b[None, :, None]  # [x, d, n]
    h = np.maximum(pre, 0.0)
    return np.einsum("id,xdi->ix", W_out, h)


def relu_fidelity(W_in, b_in, W_out, xs=None) -> np.ndarray:
    """[n] for each feature, 1 - mean((response - ReLU(x))^2) / mean(ReLU(x)^2) over xs in [-1, 1] (1: its
    ReLU computed exactly on its own, 0: no better than 0, negative: worse)."""
    xs = np.linspace(-1.0, 1.0, 41) if xs is None else np.asarray(xs)
    r = relu_responses(W_in, b_in, W_out, xs)
    target = np.maximum(xs, 0.0)[None, :]
    return 1.0 - np.mean((r - target) ** 2, axis=1) / np.mean(target**2)


def context_truth_tables(W_in, b_in, background: np.ndarray, embedding=None) -> np.ndarray:
    """[d, P, 4] each neuron's mean activation with x_i, x_j set to 00, 10, 01, 11 and every other input as
    in the rows of background [n, m] (draws of the input law): the truth table a neuron shows in use, where
    other active inputs lift or lower it (Newgas's tables are of this kind)."""
    W = np.asarray(W_in, np.float64)
    if embedding is not None:
        W = W @ np.asarray(embedding, np.float64)
    bg = np.asarray(background, np.float64)
    i, j = pair_index(W.shape[1])
    base = bg @ W.T + np.asarray(b_in, np.float64)  # [n, d]
    rest = base[:, :, None] - bg[:, None, i] * W[None, :, i] - bg[:, None, j] * W[None, :, j]  # [n, d, P]
    wi, wj = W[:, i][None], W[:, j][None]
    return np.stack([np.maximum(rest + s, 0.0).mean(0) for s in (0.0, wi, wj, wi + wj)], axis=-1)


def and_scores(params: dict, bits: np.ndarray, background: np.ndarray, p: float, embedding=None) -> dict:
    """One Universal-AND circuit's numbers: mse relative to predicting 0 (mse / p^2, p^2 the chance an AND is
    on when inputs are on with probability p), wrong (and_errors), its (neuron, pair) class shares and its
    contribution density, both from truth tables in context."""
    err = and_errors(params, bits, embedding)
    tables = context_truth_tables(params["W_in"], params["b_in"], background, embedding)
    return {
        "mse": err["mse"] / p**2,
        "wrong": err["wrong"],
        "classes": class_shares(truth_table_classes(tables)),
        "density": contribution_density(params, tables),
    }


def mixing_subspace_share(W_in, mixing, k: int) -> float:
    """Share of ||W_in||_F^2 [d, n] in the span of the top-k eigenvectors of -M, M = mixing [n, n]: the
    residual model's MLP must fit ReLU(x) - s M x, so -M is the mixing in its labels (Bhagat et al.'s
    "labels ReLU(x) + M x" with their M = our -M). k/n for directions that ignore the mixing."""
    _, V = np.linalg.eigh(-np.asarray(mixing, np.float64))
    W = np.asarray(W_in, np.float64)
    return float(np.sum((W @ V[:, -k:]) ** 2) / max(np.sum(W**2), 1e-300))
