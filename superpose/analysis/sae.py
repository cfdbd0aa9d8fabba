"""Scoring sparse autoencoders against the true features (numpy only).

Owns: MMCS (mean max cosine similarity), the one-to-one matching of latents to true features (Hungarian, on
cosine), precision / recall / F1 and the Matthews correlation of each matched latent's firing with its
feature's, L0, dead and dense latents, explained variance, feature absorption, and angles to the nearest atom.
Does not: train or evaluate an SAE on samples (superpose.models.sae.evaluate gives the counts read here).

Conventions: dictionaries and true directions are columns, D [d, k] and F [d, n]. Firing statistics come as
counts over the same evaluation samples: fired [k] (latent j active), present [n] (feature i active), joint
[k, n] (both), and n_samples.
"""

from __future__ import annotations

import numpy as np


def unit(A) -> np.ndarray:
    """Columns scaled to unit norm (zero columns stay zero)."""
    A = np.asarray(A, np.float64)
    return A / np.maximum(np.linalg.norm(A, axis=0, keepdims=True), 1e-12)


def cosines(reference, candidates) -> np.ndarray:
    """[k, K] cosine of every column of reference [d, k] with every column of candidates [d, K]."""
    return unit(reference).T @ unit(candidates)


def best_cosines(reference, candidates) -> np.ndarray:
    """[k] for each column of reference [d, k] the largest cosine with any column of candidates [d, K]
    (0 when there are no candidates)."""
    reference = np.asarray(reference)
    if np.shape(candidates)[1] == 0:
        return np.zeros(reference.shape[1])
    return cosines(reference, candidates).max(axis=1)


def mmcs(reference, candidates) -> float:
    """Mean max cosine similarity: the mean over reference's columns of their best cosine among candidates'."""
    return float(best_cosines(reference, candidates).mean())


def recovery_angles(truth, dictionary) -> np.ndarray:
    """[k] degrees between each true direction (column of truth [d, k]) and its nearest atom."""
    return np.degrees(np.arccos(np.clip(best_cosines(truth, dictionary), -1.0, 1.0)))


# --- one-to-one matching and firing scores -----------------------------------------------------------------


def match(dictionary, truth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one matching of atoms (columns of dictionary [d, k]) to true features (columns of truth [d, n])
    that maximises the summed cosine (the Hungarian algorithm, scipy.optimize.linear_sum_assignment):
    min(k, n) pairs, no atom or feature used twice. Returns (latent index [m], feature index [m], cosine [m])."""
    from scipy.optimize import linear_sum_assignment

    C = cosines(dictionary, truth)
    rows, cols = linear_sum_assignment(C, maximize=True)
    return rows, cols, C[rows, cols]


def firing_scores(fired, present, joint, n_samples, latents, features) -> dict[str, np.ndarray]:
    """For each matched pair (latent j, feature i), the latent's firing read as a classifier of the feature's:
    precision = both / latent fired, recall = both / feature present, their F1, and the Matthews correlation
    of the two binary series. Counts over the same samples (module docstring); 0 where a rate is undefined
    (a latent that never fires, a feature never present)."""
    fired, present = np.asarray(fired, np.float64), np.asarray(present, np.float64)
    tp = np.asarray(joint, np.float64)[latents, features]
    fp, fn = fired[latents] - tp, present[features] - tp
    tn = n_samples - tp - fp - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        mcc = np.where(denom > 0, (tp * tn - fp * fn) / denom, 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "mcc": mcc}


def score(dictionary, truth, stats: dict, dense_rate: float = 0.5) -> dict[str, float]:
    """Every ground-truth measurement of one SAE: MMCS (truth against the dictionary), the matching's mean
    cosine, mean precision / recall / F1 / MCC over the matched pairs, L0, the fraction of dead latents (never
    fired on the evaluation samples) and dense ones (firing on more than `dense_rate` of them), and the
    explained variance 1 - FVU. stats: superpose.models.sae.evaluate's counts."""
    latents, features, cos = match(dictionary, truth)
    firing = firing_scores(
        stats["fired"], stats["present"], stats["joint"], stats["n_samples"], latents, features
    )
    rate = np.asarray(stats["fired"]) / stats["n_samples"]
    return {
        "mmcs": mmcs(truth, dictionary),
        "matched_cos": float(cos.mean()),
        **{k: float(v.mean()) for k, v in firing.items()},
        "l0": float(stats["l0"]),
        "dead": float(np.mean(rate == 0)),
        "dense": float(np.mean(rate > dense_rate)),
        "explained_variance": 1.0 - float(stats["fvu"]),
    }


def absorption(joint, present, parent: int, child: int, latent: int | None = None) -> float:
    """Feature absorption (Chanin et al. 2024): with the parent's latent (the latent that best detects the
    parent, by joint firing, unless given), the fraction of the child's occurrences on which that latent stays
    silent although the parent is present (the child's latent fires instead and 'absorbs' the parent).
    joint [k, n] and present [n] as in `score`; the child always co-occurs with its parent. 0: no absorption,
    1: the parent latent never fires when the child is present."""
    joint = np.asarray(joint, np.float64)
    if latent is None:
        latent = int(np.argmax(joint[:, parent]))
    n_child = float(np.asarray(present)[child])
    if n_child == 0:
        return float("nan")
    return float(1.0 - joint[latent, child] / n_child)


def read_at_l0(names, scores: dict, target: float) -> dict[str, dict]:
    """Scores of SAEs read at a target L0, as published comparisons are read off curves of L0.

    names [k]: each SAE's label (several SAEs of one label: a coefficient sweep); scores {score: [k]}, "l0"
    among them. Returns {label: {score: value, "bracketed": bool}}: a label with one SAE gives its own values;
    a sweep is interpolated linearly in log L0 at the target (non-finite values left out; then "l0" is the
    target by construction), or, when its L0s do not bracket the target, the SAE nearest in log L0 with
    "bracketed": False."""
    names = [str(n) for n in names]
    l0_all = np.asarray(scores["l0"], np.float64)
    out = {}
    for name in dict.fromkeys(names):
        idx = [i for i, n in enumerate(names) if n == name]
        if len(idx) == 1:
            out[name] = {k: float(np.asarray(v)[idx[0]]) for k, v in scores.items()} | {"bracketed": True}
            continue
        order = np.argsort(l0_all[idx])
        x = np.log(np.maximum(l0_all[idx][order], 1e-6))
        at = np.log(target)
        bracketed = bool(x[0] <= at <= x[-1])
        row = {}
        for k, v in scores.items():
            y = np.asarray(v, np.float64)[idx][order]
            if bracketed:
                ok = np.isfinite(y)
                row[k] = float(np.interp(at, x[ok], y[ok])) if ok.any() else np.nan
            else:
                row[k] = float(y[np.argmin(np.abs(x - at))])
        if bracketed:
            row["l0"] = float(target)
        out[name] = row | {"bracketed": bracketed}
    return out
