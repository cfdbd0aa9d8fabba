"""Measurements of memorization and double descent (Henighan et al. 2023): where a test-loss curve over the
training-set size T peaks and by how much, how far a set's hidden vectors are from a regular T-gon, and how
many pairs of a set's points share an active feature; one model's hidden vectors and per-point loss on a set in
coordinate format (feature, point, value [nnz], as superpose.models.memorization stores it), in float64, and
the measures an analysis reads of it. Does not: train or store sets (superpose.models.memorization); numpy only.
"""

from __future__ import annotations

import numpy as np

from superpose import metrics


def interior_peak(T: np.ndarray, loss: np.ndarray) -> dict:
    """Where the loss curve over T peaks, and its height above the larger of the two ends (the bump; 0 when
    the maximum is an end)."""
    i = int(np.argmax(loss))
    return {
        "T": int(T[i]),
        "loss": float(loss[i]),
        "interior": bool(0 < i < len(T) - 1),
        "bump": float(loss[i] - max(loss[0], loss[-1])),
    }


def polygon_error(data_dims: np.ndarray, m: int) -> float:
    """Largest |D_j - m/T| over a set's T points: 0 for a regular T-gon (m = 2)."""
    T = data_dims.size
    return float(np.abs(data_dims - min(1.0, m / T)).max())


def shared_pairs(entries) -> int:
    """How many pairs of a set's points have an active feature in common (feature, point, value [nnz])."""
    feature, point, _ = entries
    support = np.zeros((int(point.max()) + 1, int(feature.max()) + 1), bool)
    support[point, feature] = True
    overlap = support.astype(np.int64) @ support.T.astype(np.int64)
    return int(((overlap > 0).sum() - len(support)) // 2)


def hidden_vectors(W: np.ndarray, feature, point, value, size: int) -> np.ndarray:
    """[m, size] h = W x of each point (numpy, float64)."""
    W = np.asarray(W, np.float64)
    H = np.zeros((size, W.shape[0]))
    np.add.at(H, point, W[:, feature].T * value[:, None])
    return H.T


def set_loss(W: np.ndarray, b: np.ndarray, feature, point, value, size: int) -> np.ndarray:
    """[size] per-point loss sum_i (x_i - x'_i)^2 of one model (numpy, float64)."""
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    H = hidden_vectors(W, feature, point, value, size)
    out = np.maximum(W.T @ H + b[:, None], 0.0)
    out_active = np.maximum(np.sum(W[:, feature] * H[:, point], axis=0) + b[feature], 0.0)
    correction = np.zeros(size)
    np.add.at(correction, point, value * (value - 2.0 * out_active))
    return np.sum(out**2, axis=0) + correction


def model_measures(W: np.ndarray, b: np.ndarray, train: tuple, T: int, test: tuple, n_test: int) -> dict:
    """One model's (W [m, n], b [n]) train and test loss (mean per-point loss over its T training points and
    over the n_test test points, each a set in coordinate format), and the dimensionalities and norms of its
    features (columns of W) and of its training points (hidden vectors h = W x), with the largest of each
    dimensionality, the features of norm > 0.5 and the median |h_j|."""
    H = hidden_vectors(W, *train, T)
    out = {
        "train_loss": float(set_loss(W, b, *train, T).mean()),
        "test_loss": float(set_loss(W, b, *test, n_test).mean()),
        "data_dims": metrics.feature_dimensionality(H),
        "feature_dims": metrics.feature_dimensionality(W),
        "data_norms": np.linalg.norm(H, axis=0),
        "feature_norms": metrics.feature_norms(W),
    }
    out.update(max_data_dim=np.max(out["data_dims"]), max_feature_dim=np.max(out["feature_dims"]))
    out.update(features_norm_over_half=(out["feature_norms"] > 0.5).sum())
    return {**out, "median_data_norm": np.median(out["data_norms"])}
