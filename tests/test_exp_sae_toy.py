"""experiments/sae_toy.py: SAEs on a toy model's hidden activations. The --quick mode with its checks asserted,
wrong SAEs fed to its analysis failing the recovery check, and superpose.activations on stored arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from superpose.activations import toy_sources
from superpose.config import ConfigError
from superpose.lab import main
from superpose.lab.registry import load_experiment_module

sae_toy = load_experiment_module("sae_toy")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    code = main(sae_toy.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(runs)])
    (run,) = runs.glob("sae_toy/*/")
    return code, run


def test_quick_checks_pass(quick_run):
    code, run = quick_run
    summary = json.loads((run / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["per_density"]) == 4 and (run / "sae_toy.png").exists()


@pytest.mark.parametrize("how", ["shuffled", "untrained"])
def test_a_wrong_sae_fails_the_recovery_check(quick_run, how):
    _, run = quick_run
    arrays = dict(np.load(run / "results.npz"))
    rng = np.random.default_rng(0)
    D = arrays["sae_D"]
    if how == "shuffled":  # the decoder's rows (hidden dimensions) permuted: same sparsity, wrong directions
        arrays["sae_D"] = D[..., [1, 2, 0], :]
    else:
        R = rng.normal(size=D.shape)
        arrays["sae_D"] = R / np.linalg.norm(R, axis=-2, keepdims=True)
    summary = sae_toy.analyze(sae_toy.Config(**sae_toy.QUICK), arrays)
    assert not summary["checks"][1]["passed"]


def test_toy_sources_keep_the_best_fit_per_density_densest_first():
    W = np.zeros((4, 2, 3), np.float32)
    W[:, 0, 0] = 1.0
    W[3, 1, 1] = 1.0
    arrays = {
        "W": W,
        "density": np.array([0.1, 0.1, 1.0, 1.0]),
        "select_loss": np.array([2.0, 1.0, 5.0, 3.0]),
    }
    src = toy_sources(arrays)
    np.testing.assert_allclose(src["density"], [1.0, 0.1], rtol=1e-6)
    np.testing.assert_array_equal(src["W"][0], W[3])  # loss 3 beats 5 at density 1
    np.testing.assert_array_equal(src["represented"], [[True, True, False], [True, False, False]])
    assert src["probs"].shape == (2, 3)


def test_a_run_without_weights_or_a_missing_run_is_one_line():
    with pytest.raises(ConfigError, match="no weights W"):
        toy_sources({"final_loss": np.zeros(3)})
    with pytest.raises(ConfigError, match="neither a density"):
        toy_sources({"W": np.zeros((2, 2, 3))})
    with pytest.raises(ConfigError, match="run '/nonexistent': no results.npz"):
        sae_toy.Config(run="/nonexistent")


def test_superpose_sae_reads_a_stored_sweep(tmp_path, capsys):
    from superpose.lab import cli

    runs = str(tmp_path)
    sweep = ["sweep", "--axis", "density=1,0.03", "--n-features", "6", "--n-hidden", "2", "--steps", "1500"]
    assert cli.main([*sweep, "--frames", "2", "--quiet", "--runs-dir", runs]) == 0
    code = cli.main(["sae", "latest", "--quick", "--quiet", "--runs-dir", runs, "--set", "sae_steps=1000"])
    out = capsys.readouterr().out
    assert "at the sparsest density an SAE recovers" in out
    (run,) = tmp_path.glob("sae_toy/*/")
    summary = json.loads((run / "summary.json").read_text())
    assert [r["density"] for r in summary["per_density"]] == [1.0, 0.03]
    assert code in (
        0,
        1,
    )  # the checks' outcome on a 1,500-step toy is the experiment's business, not the CLI's
