"""experiments/packing.py: the --quick mode end to end with its checks asserted (and the Welch bound on every
packing it stores, a theorem kept as a sanity assertion rather than a finding), one case from the command
line, and analyze() on wrong models: untrained packings, a toy model that never superposes. The penalties'
gradients: tests/test_models_packing.py; the pair statistics and the bound: tests/test_analysis_packing.py.

Quick-scale settings (the script's QUICK): the headline case is 1,000 vectors in 20-D (both penalties), the
curve d = 10 at N = 30, 100, 300, 150 steps; the toy model n=40, m=5 at 4 densities for 1,000 steps. The
checks are the full-scale ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from superpose.analysis.packing import pair_stats
from superpose.config import ConfigError
from superpose.lab import main
from superpose.lab.registry import load_experiment_module

packing = load_experiment_module("packing")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """(exit code, summary, results) of one --quick run, shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp("packing")
    code = main(packing.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("packing/*/summary.json")
    results = np.load(summary_path.parent / "results.npz")
    return code, json.loads(summary_path.read_text()), {k: results[k] for k in results.files}


def test_packing_quick_checks_pass(quick):
    code, summary, results = quick
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 3  # so that "every check passed" is not vacuous
    head = summary["headline"]
    assert set(head) >= {"random", "relu", "lse"} and head["welch_bound"] == pytest.approx(0.2215, abs=1e-4)
    V = results["lse_n1000_d20_vectors"]
    assert V.shape == (1000, 20)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0, rtol=1e-5)  # unit vectors are stored
    # The Welch bound, a theorem about any vectors, as a sanity assertion on every stored packing (largest
    # |cos| and rms cos at least the bound; float32 cosines carry about 1e-7 of rounding).
    for key in (k for k in results if k.endswith("_vectors")):
        stats = pair_stats(results[key])
        assert stats["max_abs_cos"] >= stats["welch"] - 1e-6, key
        assert stats["mean_cos2"] >= stats["welch"] ** 2 * (1 - 1e-4), key


def test_analysis_fails_for_packings_that_never_trained(quick):
    """Every trained packing replaced by its random start: the smooth penalty no longer beats the random
    start, nor does the curve stay below it; the toy tie-back (trained weights kept) still passes."""
    arrays = dict(quick[2])
    for key in [k for k in arrays if k.endswith("_vectors") and not k.startswith("random_")]:
        arrays[key] = arrays["random_" + key.split("_", 1)[1]]
    checks = packing.analyze(packing.EXPERIMENT.make_config(quick=True), arrays)["checks"]
    assert [c["passed"] for c in checks] == [False, False, True], checks


def test_analysis_fails_for_a_toy_model_that_never_superposes(quick):
    """The densest toy model's weights at every density: no more features per dimension when sparse."""
    arrays = dict(quick[2])
    arrays["toy_W"] = np.repeat(arrays["toy_W"][:1], len(arrays["toy_W"]), axis=0)
    checks = packing.analyze(packing.EXPERIMENT.make_config(quick=True), arrays)["checks"]
    assert [c["passed"] for c in checks] == [True, True, False], checks


def test_one_case_from_the_command_line(tmp_path):
    args = ["--quick", "--quiet", "--runs-dir", str(tmp_path), "--set", "n_vectors=60", "--set", "dim=6"]
    assert main(packing.EXPERIMENT, args) == 0
    (run,) = tmp_path.glob("packing/*/")
    results = np.load(run / "results.npz")
    assert {k for k in results.files if k.endswith("_vectors")} == {
        "relu_n60_d6_vectors",
        "lse_n60_d6_vectors",
        "random_n60_d6_vectors",
    }
    assert "toy_W" not in results.files  # one case: no tie-back sweep
    with pytest.raises(ConfigError, match="both"):
        packing.EXPERIMENT.make_config(overrides=["n_vectors=50"])
