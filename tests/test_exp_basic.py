"""E2 (experiments/basic.py) and E3 (experiments/across_sparsity.py): their --quick modes end to end, with
their checks asserted, and the analysis functions on hand-built weights (so each check can fail).

Quick-scale tolerances (stated in each script's QUICK): basic runs n=20, m=5 at S in {0, 0.9, 0.99}, best of
2 seeds, 3,000 steps, with the full-scale checks unchanged; across_sparsity runs n=40, m=8 at 10 densities
for 2,000 steps with the full-scale checks, except that the gradual onset needs 2 density steps (not 3) and dedicated features must outrank superposed
ones in 80% of pairs (not 90%).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import superpose
from superpose import testing
from superpose.lab import main

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"experiments.{name}", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


basic = load("basic")
across = load("across_sparsity")


def run_quick(module, tmp_path: Path) -> dict:
    code = main(module.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob(f"{module.EXPERIMENT.name}/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    return summary


# --- end to end -----------------------------------------------------------------------------------------


def test_basic_quick_checks_pass(tmp_path):
    summary = run_quick(basic, tmp_path)
    assert len(summary["checks"]) == 4  # one case (n=20) in quick mode
    per_s = summary["n20"]["per_sparsity"]
    assert [p["sparsity"] for p in per_s] == [0.0, 0.9, 0.99]
    assert list(tmp_path.glob("basic/*/basic.png"))


def test_across_sparsity_quick_checks_pass(tmp_path):
    summary = run_quick(across, tmp_path)
    assert len(summary["checks"]) == 5  # so that "every check passed" is not vacuous
    # the fifth: each density's kept model's measured importance ranks as I_i (probes.npz, every density)
    assert summary["checks"][-1]["name"].startswith("measured feature importance")
    assert [r["density"] for r in summary["feature_importance"]] == [
        round(float(d), 4)
        for d in across.densities(across.Config(**{**dataclasses.asdict(across.Config()), **across.QUICK}))
    ]
    from superpose.lab import probes, store

    (run_dir,) = tmp_path.glob("across_sparsity/*")
    p = probes.load(store.Run(run_dir))
    wrong = {**p, "importance": p["importance"][:, ::-1].copy()}  # told the reverse order: fails
    assert across.PROBES.summarize(p)["checks"][0]["passed"]
    assert not across.PROBES.summarize(wrong)["checks"][0]["passed"]
    assert summary["onset_density"] is not None and summary["onset_density"] < 1.0
    assert list(tmp_path.glob("across_sparsity/*/across_sparsity.png"))
    # Wrong models fed to the same analysis: the key checks fail.
    arrays = dict(superpose.load_run("latest", root=tmp_path).arrays)
    cfg = across.Config(**{**dataclasses.asdict(across.Config()), **across.QUICK})
    reversed_axis = {**arrays, "W": arrays["W"][::-1]}  # each density given another density's model
    failed = [c["name"] for c in across.analyze(cfg, reversed_axis)["checks"] if not c["passed"]]
    assert any(name.startswith("features represented grow with sparsity") for name in failed), failed
    flipped = {**arrays, "importance": arrays["importance"][::-1].copy()}  # the importance ranking reversed
    failed = [c["name"] for c in across.analyze(cfg, flipped)["checks"] if not c["passed"]]
    assert any(name.startswith("at every density the dedicated features outrank") for name in failed), failed
    untrained = {**arrays, "W": np.random.default_rng(0).normal(scale=0.05, size=arrays["W"].shape)}
    assert not any(c["passed"] for c in across.analyze(cfg, untrained)["checks"])


# --- analysis on hand-built weights ---------------------------------------------------------------------


def _basic_arrays(linear_W, relu_W, relu_b, sparsity):
    n = linear_W.shape[-1]
    return {
        "sparsity": np.asarray(sparsity),
        "n20_importance": 0.7 ** np.arange(n),
        "n20_linear_W": linear_W,
        "n20_linear_b": np.zeros_like(relu_b),
        "n20_relu_W": relu_W,
        "n20_relu_b": relu_b,
    }


def _top_m(m, n):
    W = np.zeros((m, n))
    W[:, :m] = np.eye(m)
    return W


def test_basic_analysis_accepts_the_paper_picture_and_rejects_a_wrong_one():
    m, n = 2, 6
    dense = _top_m(m, n)
    pairs = np.zeros((m, n))
    pairs[:, :4] = testing.antipodal_pairs(2)  # 4 features as 2 antipodal pairs
    hexagon = np.zeros((m, n))
    hexagon[:, :6] = testing.regular_polygon(6)
    relu = np.stack([dense, pairs, hexagon])
    bias = np.stack([np.zeros(n), np.zeros(n), np.full(n, -0.2)])
    good = basic.analyze(None, _basic_arrays(np.stack([dense] * 3), relu, bias, [0.0, 0.8, 0.95]))
    assert all(c["passed"] for c in good["checks"]), good["checks"]
    # A linear model that drops a top feature, a ReLU model that never superposes, positive biases.
    bad_linear = np.stack([dense, dense, _top_m(1, n).repeat(2, 0) * [[1], [0]]])
    bad = basic.analyze(None, _basic_arrays(bad_linear, np.stack([dense] * 3), -bias, [0.0, 0.8, 0.95]))
    assert not any(c["passed"] for c in bad["checks"])


@given(st.permutations(list(range(12))))
def test_across_sparsity_ordering_is_one_iff_dedicated_outrank_superposed(perm):
    importance = np.linspace(1.0, 0.1, 12)[np.asarray(perm)]
    rank = np.argsort(np.argsort(-importance))
    dedicated, superposed = rank < 4, (rank >= 4) & (rank < 9)
    assert across.ordering(dedicated, superposed, importance) == 1.0
    assert across.ordering(superposed, dedicated, importance) == 0.0
    assert across.ordering(dedicated, np.zeros(12, bool), importance) is None


def test_across_sparsity_classify_separates_orthogonal_from_superposed():
    W = np.zeros((3, 7))
    W[0, 0] = 1.0  # dedicated
    W[1:, 1:6] = testing.regular_polygon(5)  # superposed pentagon
    W[2, 6] = 0.1  # not represented
    dedicated, superposed = across.classify(W)
    assert dedicated.tolist() == [True] + [False] * 6
    assert superposed.tolist() == [False] + [True] * 5 + [False]
