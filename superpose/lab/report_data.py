"""What `superpose report` puts into its pages as data: loss curves and the geometry viewer's snapshots.

Owns: finding loss curves and snapshots among a run's results.npz arrays (robust to arrays it does not know),
thinning them to a size budget, and packing weights compactly for the browser. Does not: write files or
HTML (report.py does), or draw (report_assets/*.js do).

Snapshots are sent as int16 with one scale per (instance, snapshot, parameter): value = q * scale, and
q = -32768 marks a non-finite value (NaN/inf: a diverged fit), which the viewer leaves undrawn. That keeps
4 significant digits of every snapshot, even the tiny early ones, at 2 bytes a value (base64: 2.7 bytes).

Budget: at most VIEWER_VALUES values per run. Snapshots are thinned first (evenly in index, keeping the
first and the last, so log-spaced schedules stay log-spaced), down to MIN_SNAPSHOTS; below that, instances
are thinned (evenly over the instance axis, which is the grid's order). The page says what was kept.
"""

from __future__ import annotations

import base64
import re

import numpy as np

VIEWER_VALUES = 3_000_000  # about 8 MB of base64 per run: the gallery's runs stay far below 50 MB in all
MIN_SNAPSHOTS = 24
LOSS_POINTS = 240  # per curve; the page draws log-log, so half log-spaced, half evenly spaced
MAX_CURVES = 64  # above this many instances a run page draws quantile bands instead of every curve
NONFINITE = -32768
_LOSS_NAME = re.compile(r"^(?:(?P<prefix>.*?)_)?loss(?:_curve)?$")
_NOT_A_CURVE = {"final", "best", "exact", "eval", "dropped", "toy", "test"}
_NOT_COORDINATES = {"final_loss", "loss", "log_steps", "snapshot_steps", "diverged"}


def instance_count(arrays: dict) -> int | None:
    """Instances of a run that kept snapshots (leading axis of snapshot_W), else of its `W`, else None."""
    for key in ("snapshot_W", "W"):
        if key in arrays and np.ndim(arrays[key]) >= 3:
            return int(arrays[key].shape[0])
    return None


def coordinates(arrays: dict, n: int) -> dict[str, np.ndarray]:
    """Per-instance coordinates: numeric 1-D arrays of length n with repeated values (density, seed, ...),
    in the order stored. Arrays whose values are all distinct are measurements, not grid coordinates, unless
    there is only one instance or they are integers (a seed per instance)."""
    out = {}
    for key, value in arrays.items():
        v = np.asarray(value)
        if key in _NOT_COORDINATES or key.endswith("final_loss") or v.ndim != 1 or len(v) != n:
            continue
        if v.dtype.kind not in "iuf" or (v.dtype.kind == "f" and not np.isfinite(v).all()):
            continue
        if n > 1 and v.dtype.kind == "f" and len(np.unique(v)) == n and n > 8:
            continue
        out[key] = v
    return out


def diverged_mask(arrays: dict, n: int) -> np.ndarray:
    """[n] bool: a stored `diverged` mask if there is one, else instances whose final weights are not finite."""
    mask = arrays.get("diverged")
    if mask is not None and np.shape(mask) == (n,):
        return np.asarray(mask, dtype=bool)
    for key in ("snapshot_W", "W"):
        if key in arrays and np.shape(arrays[key])[:1] == (n,):
            W = np.asarray(arrays[key], dtype=np.float64)
            last = W[:, -1] if key == "snapshot_W" else W
            return ~np.isfinite(last.reshape(n, -1)).all(axis=1)
    return np.zeros(n, dtype=bool)


def _thin(length: int, keep: int) -> np.ndarray:
    """Indices of `keep` of `length` items, evenly spaced, first and last included."""
    if keep >= length:
        return np.arange(length)
    return np.unique(np.round(np.linspace(0, length - 1, max(keep, 2))).astype(int))


def curve_points(steps: np.ndarray, points: int = LOSS_POINTS) -> np.ndarray:
    """Indices into a log of `steps` that keep its shape on log and linear axes alike."""
    n = len(steps)
    if n <= points:
        return np.arange(n)
    logs = np.unique(np.round(np.geomspace(1, n, points // 2)).astype(int) - 1)
    return np.union1d(logs, _thin(n, points // 2))


def _finite_list(a: np.ndarray, digits: int = 5) -> list:
    """Floats to `digits` significant digits; NaN/inf become None (JSON null)."""
    a = np.asarray(a, dtype=np.float64)
    return [float(f"{v:.{digits}g}") if np.isfinite(v) else None for v in a.ravel()]


def loss_curves(arrays: dict) -> list[dict]:
    """Every loss curve array: name, steps (or log indices), and either curves [k, points] or, past
    MAX_CURVES, quantile bands. A curve array is `loss`, `*_loss` or `*_loss_curve` with a last axis of at
    least 2 logs (final/best/eval losses are single numbers per instance, not curves)."""
    out = []
    for key in sorted(arrays):
        match = _LOSS_NAME.match(key)
        v = np.asarray(arrays[key])
        if not match or v.ndim < 2 or v.shape[-1] < 2 or v.dtype.kind != "f":
            continue
        prefix = match.group("prefix") or ""
        if prefix.split("_")[-1] in _NOT_A_CURVE and not key.endswith("_curve"):
            continue
        steps = None
        for name in (f"{prefix}_log_steps" if prefix else None, "log_steps"):
            s = arrays.get(name) if name else None
            if s is not None and np.ndim(s) == 1 and len(s) == v.shape[-1]:
                steps = np.asarray(s)
                break
        curves = v.reshape(-1, v.shape[-1]).astype(np.float64)
        x = steps if steps is not None else np.arange(curves.shape[1])
        keep = curve_points(x)
        entry = {
            "name": key,
            "steps": x[keep].tolist(),
            "x_label": "step" if steps is not None else "log index",
        }
        if len(curves) <= MAX_CURVES:
            entry["curves"] = [_finite_list(c[keep]) for c in curves]
        else:
            with np.errstate(all="ignore"):
                finite = np.where(np.isfinite(curves), curves, np.nan)
                q = np.nanquantile(finite[:, keep], [0.0, 0.1, 0.5, 0.9, 1.0], axis=0)
            entry["bands"] = [_finite_list(row) for row in q]
            entry["n_curves"] = len(curves)
        out.append(entry)
    return out


def _pack(values: np.ndarray) -> tuple[str, list]:
    """values [k, ...] -> (base64 of little-endian int16 [k, ...], scales [k]); NONFINITE marks NaN/inf."""
    v = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    finite = np.isfinite(v)
    peak = np.where(finite, np.abs(v), 0.0).max(axis=1)
    scale = np.where(peak > 0, peak / 32767.0, 1.0)
    q = np.where(finite, np.round(np.where(finite, v, 0.0) / scale[:, None]), NONFINITE)
    data = q.astype("<i2").tobytes()
    return base64.b64encode(data).decode("ascii"), [float(f"{s:.7g}") for s in scale]


def viewer_plan(arrays: dict, budget: int = VIEWER_VALUES) -> dict | None:
    """Which instances and snapshots the viewer keeps, or None if the run kept no tied-model snapshots
    (snapshot_W [instances, k, m, n] beside snapshot_steps [k])."""
    W, steps = arrays.get("snapshot_W"), arrays.get("snapshot_steps")
    if W is None or steps is None or np.ndim(W) != 4 or np.shape(W)[1] != np.size(steps):
        return None
    n_inst, k, m, n = W.shape
    b = arrays.get("snapshot_b")
    per_snapshot = m * n + (n if b is not None and np.shape(b) == (n_inst, k, n) else 0)
    snaps = max(min(k, budget // max(per_snapshot * n_inst, 1)), min(k, MIN_SNAPSHOTS))
    inst = min(n_inst, max(1, budget // (per_snapshot * snaps)))
    return {
        "instances": _thin(n_inst, inst).tolist(),
        "snapshots": _thin(k, snaps).tolist(),
        "n_instances": n_inst,
        "n_snapshots": k,
        "m": m,
        "n": n,
        "has_b": per_snapshot > m * n,
    }


def _scalar(v):
    v = np.asarray(v).item()
    return float(f"{v:.6g}") if isinstance(v, float) else v


def viewer_data(arrays: dict, plan: dict) -> tuple[dict, dict[int, dict]]:
    """(meta, {instance: data}) for the viewer page: meta holds what every instance shares (steps, the
    coordinates of every kept instance, what was thinned), each instance's data its packed snapshots, its
    importance and its loss curve."""
    n_inst = plan["n_instances"]
    kept, snaps = plan["instances"], np.asarray(plan["snapshots"])
    coords = coordinates(arrays, n_inst)
    diverged = diverged_mask(arrays, n_inst)
    loss, log_steps = arrays.get("loss"), arrays.get("log_steps")
    has_loss = (
        loss is not None
        and log_steps is not None
        and np.ndim(loss) == 2
        and np.shape(loss)[0] == n_inst
        and np.shape(loss)[1] == np.size(log_steps)
    )
    points = curve_points(np.asarray(log_steps)) if has_loss else None
    importance = arrays.get("importance")
    imp_per_instance = importance is not None and np.shape(importance) == (n_inst, plan["n"])
    imp_shared = importance is not None and np.shape(importance) == (plan["n"],)
    meta = {
        "m": plan["m"],
        "n": plan["n"],
        "steps": np.asarray(arrays["snapshot_steps"])[snaps].tolist(),
        "n_snapshots": plan["n_snapshots"],
        "n_instances": n_inst,
        "coordinates": list(coords),
        "instances": [
            {
                "index": i,
                "coords": {k: _scalar(v[i]) for k, v in coords.items()},
                "diverged": bool(diverged[i]),
            }
            for i in kept
        ],
        "log_steps": np.asarray(log_steps)[points].tolist() if has_loss else None,
        "has_b": plan["has_b"],
    }
    data = {}
    for i in kept:
        W_b64, W_scale = _pack(np.asarray(arrays["snapshot_W"][i])[snaps])
        entry = {"W": W_b64, "W_scale": W_scale}
        if plan["has_b"]:
            entry["b"], entry["b_scale"] = _pack(np.asarray(arrays["snapshot_b"][i])[snaps])
        if imp_per_instance or imp_shared:
            entry["importance"] = _finite_list(importance[i] if imp_per_instance else importance)
        if has_loss:
            entry["loss"] = _finite_list(np.asarray(loss[i])[points])
        data[i] = entry
    return meta, data


PROBE_VALUES = 1_500_000  # the probe heatmap's budget: hidden activations kept, all kept models together


def probes_data(p: dict, budget: int = PROBE_VALUES) -> dict:
    """data/probes.js for the probe heatmap page, from a run's probes.npz arrays `p` (superpose.lab.probes or
    fact_probes): every kept model's hidden activations on the probe set [frames, m, probes], packed like the
    viewer's weights (int16, one scale per frame), frames thinned evenly (first and last kept) to the
    budget; with each model's label, the probes' labels and the measured importance per probe where there
    is one (feature models: the ablation of each one-hot feature)."""
    from superpose.lab.probes import is_facts, model_labels, one_hot_count

    hidden = np.asarray(p["probe_hidden"], np.float64)  # [M, S, m, P]
    n_models, n_frames, m, n_probes = hidden.shape
    keep = _thin(n_frames, max(2, min(n_frames, budget // max(n_models * m * n_probes, 1))))
    n = one_hot_count(p)
    facts = is_facts(p)
    labels = model_labels(p)
    models = []
    for j in range(n_models):
        packed, scale = _pack(hidden[j, keep])
        entry = {"label": labels[j], "hidden": packed, "scale": scale}
        if facts:
            entry["accuracy"] = _finite_list(np.asarray(p["probe_accuracy"][j])[keep], 4)
        elif "ablation" in p:
            entry["ablation"] = _finite_list(np.asarray(p["ablation"][j]), 6)
            entry["importance"] = _finite_list(np.asarray(p["importance"][j]), 6)
        models.append(entry)
    if facts:
        probe_names = [
            f"fact {i}: first {a}, last {b} -> attribute {y}"
            for i, (a, b, y) in enumerate(zip(p["fact_first"][0], p["fact_last"][0], p["fact_attr"][0]))
        ]
    else:
        probe_names = [f"feature {i} alone" for i in range(n)] + [f"sample {i}" for i in range(n_probes - n)]
    return {
        "kind": "facts" if facts else "features",
        "steps": np.asarray(p["probe_steps"])[keep].tolist(),
        "n_frames": n_frames,
        "m": m,
        "n_probes": n_probes,
        "n_onehot": n,
        "probe_names": probe_names,
        "models": models,
    }
