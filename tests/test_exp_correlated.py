"""E7 (experiments/correlated.py): the geometry tests on hand-built weights, and the --quick run end to end
with every check asserted (quick scale, the script's QUICK: 4 set densities from 0.03 to 0.6, best of 16 fits
of 4000 steps, each fit's loss measured on 1024 batches so that best-of selects the hexagon at 0.03; the
checks themselves are the full-scale ones)."""

import json
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose.lab.registry import load_experiment_module

ROOT = Path(__file__).resolve().parent.parent


co = load_experiment_module("correlated")


def _ring(order_deg):
    t = np.radians(np.asarray(order_deg, float))
    return np.stack([np.cos(t), np.sin(t)])


@given(theta=st.floats(0, 360))
def test_side_by_side_hexagon(theta):
    # features 0..5 in sets {0,1},{2,3},{4,5}; pairs adjacent on a regular hexagon.
    good = _ring(theta + np.array([0, 60, 120, 180, 240, 300]))
    assert co.sets_side_by_side(good)[0]
    # partners opposite each other: not side by side.
    bad = _ring(theta + np.array([0, 180, 60, 240, 120, 300]))
    assert not co.sets_side_by_side(bad)[0]
    # one feature dropped.
    dropped = good.copy()
    dropped[:, 5] = 0
    assert not co.sets_side_by_side(dropped)[0]


@given(seed=st.integers(0, 1000))
def test_effective_dims_and_collapse(seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    assert abs(co.effective_dims(Q) - 10) < 1e-6
    parallel = np.outer(rng.normal(size=10), np.ones(10))
    assert abs(co.effective_dims(parallel) - 1) < 1e-6
    W = np.concatenate([Q, parallel], axis=1)  # set 0 orthogonal basis, set 1 collapsed
    assert co.collapsed_sets(W, 10).tolist() == [False, True]
    pairs = np.stack([[1, 0], [0, 1], [1, 0], [1, 0.01]]).T  # pair 0 orthogonal, pair 1 parallel
    assert co.collapsed_sets(pairs, 2).tolist() == [False, True]


def test_collapse_onsets():
    dens = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.4])
    onset = co.collapse_onsets(dens, np.array([0, 1, 0, 1, 2, 3]), 3)
    np.testing.assert_allclose(onset, [0.05 * 2, 0.2, 0.4])  # the 0 at 0.05 pushes onset 1 to 0.1
    assert np.isnan(co.collapse_onsets(dens, np.zeros(6, int), 1)[0])


def test_quick_run_checks(tmp_path):
    from superpose.lab import main

    code = main(co.EXPERIMENT, ["--quick", "--runs-dir", str(tmp_path), "--quiet"])
    (summary_path,) = tmp_path.glob("correlated/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    names = [c["name"] for c in summary["checks"]]
    for prefix in (
        "corr4: correlated pairs orthogonal",
        "anti4: anticorrelated pairs antipodal",
        "corr6: three correlated pairs side by side (hexagon-like)",
        "corr20: a local orthogonal basis per set",
        "corr6: sets collapse onto their principal component",
    ):
        assert sum(name.startswith(prefix) for name in names) == 1, (prefix, names)
    assert len(names) == 5
    collapsed = summary["collapsed_sets"]["corr6"]
    values = [collapsed[k] for k in sorted(collapsed, key=float)]
    assert values[0] == 0 and values[-1] == 3  # none collapsed at the sparsest, all three at the densest
    assert (summary_path.parent / "correlated.png").exists()
    assert (summary_path.parent / "correlated_collapse.png").exists()
