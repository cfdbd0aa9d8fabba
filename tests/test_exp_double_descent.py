"""experiments/double_descent.py: the --quick mode end to end with its checks asserted, and the wrong models the
checks are tested against: untrained models, and the models of the other weight decay. The model and its
sparse loss: tests/test_models_memorization.py; the measurements: tests/test_analysis_memorization.py.

Quick scale (the script's QUICK): n=200 features at density 0.03 (6 active; pairs of points share a feature
about as often as at full scale), m=2 only, T in {5, 6, 8, 30, 60, 100, 300}, the full 10,000 steps, with the
full-scale checks unchanged (the peak-moving check needs a second m, so quick mode has four).
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from superpose.lab import main
from superpose.lab.registry import load_experiment_module
from superpose.models import ReluOutput

dd = load_experiment_module("double_descent")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """(exit code, summary, results, run directory) of one --quick run, shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp("double_descent")
    code = main(dd.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("double_descent/*/summary.json")
    results = np.load(summary_path.parent / "results.npz")
    return code, json.loads(summary_path.read_text()), {k: results[k] for k in results.files}, tmp_path


def test_quick_checks_pass(quick):
    code, summary, _, tmp_path = quick
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 4  # one m in quick mode: no peak-moving check
    assert summary["per_m"]["2"]["T"] == [5, 6, 8, 30, 60, 100, 300]
    assert {p.name for p in tmp_path.glob("double_descent/*/*.png")} == {
        "double_descent.png",
        "double_descent_geometry.png",
    }


def passed(arrays: dict) -> list[bool]:
    return [c["passed"] for c in dd.analyze(dd.EXPERIMENT.make_config(quick=True), arrays)["checks"]]


def test_analysis_fails_for_untrained_models(quick):
    """Every model's weights replaced by its untrained init (Xavier-normal W, b = 0): no T-gons, no feature
    geometry at large T, no interior peak, so no bump for weight decay to remove."""
    arrays = dict(quick[2])
    n = arrays["m2_W"].shape[0]
    init = [ReluOutput().init(jax.random.key(i), 200, 2) for i in range(n)]
    arrays["m2_W"] = np.stack([np.asarray(p["W"]) for p in init])
    arrays["m2_b"] = np.stack([np.asarray(p["b"]) for p in init])
    assert passed(arrays) == [False, False, False, False]


def test_analysis_fails_when_the_weight_decays_are_swapped(quick):
    """The weight decay 1 models read as the 1e-2 ones and the other way round (the result of another weight
    decay): the interior peak and its removal both fail; the T-gon and dimensionality checks, which read the
    1e-2 models at small T where the two agree, need not."""
    arrays = dict(quick[2])
    wd = arrays["m2_wd"]
    arrays["m2_wd"] = np.where(np.isclose(wd, 1.0), 1e-2, 1.0)
    result = passed(arrays)
    assert result[2:] == [False, False], result
