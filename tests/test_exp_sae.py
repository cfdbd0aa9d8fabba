"""experiments/sae.py: the --quick mode end to end with its checks asserted, and wrong SAEs fed to its
analysis (a decoder with its rows shuffled, an untrained one) failing the key checks.

Quick scale (the script's QUICK): a 32-D source of 64 features (3 active on average, frequencies 0.97^i)
with dictionaries 0.5x to 4x (2,000 steps of 128); every architecture at 64 latents; the pentagon toy from
3 fits of 4,000 steps and its SAEs; the full-scale checks unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from superpose.lab import main
from superpose.lab.registry import load_experiment_module

sae = load_experiment_module("sae")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    code = main(sae.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(runs)])
    (run,) = runs.glob("sae/*/")
    return code, run


def test_quick_checks_pass(quick_run):
    code, run = quick_run
    summary = json.loads((run / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 3
    assert summary["published_source"]["sizes"] == [32, 64, 128, 256]
    assert set(summary["architectures_at_true_count"]) == set(sae.ARCHS)
    assert {p.name for p in run.glob("*.png")} == {"sae.png", "sae_pentagon.png"}


def wrong(arrays: dict, how: str, rng) -> dict:
    """Every stored dictionary replaced: 'shuffled' permutes the rows (dimensions) of each decoder, so its
    atoms keep their norms and sparsity but point elsewhere; 'untrained' draws fresh random atoms."""
    out = dict(arrays)
    for key, D in arrays.items():
        if key.endswith("_D"):
            if how == "shuffled":
                out[key] = D[..., rng.permutation(D.shape[-2]), :]
            else:
                R = rng.normal(size=D.shape)
                out[key] = R / np.linalg.norm(R, axis=-2, keepdims=True)
    return out


@pytest.mark.parametrize("how", ["shuffled", "untrained"])
def test_a_wrong_sae_fails_the_key_checks(quick_run, how):
    _, run = quick_run
    arrays = dict(np.load(run / "results.npz"))
    cfg = sae.Config(**{**sae.QUICK})
    summary = sae.analyze(cfg, wrong(arrays, how, np.random.default_rng(0)))
    passed = {c["name"].split(":")[0]: c["passed"] for c in summary["checks"]}
    assert not passed["published setting"]
    assert not [c for c in summary["checks"] if c["name"].startswith("pentagon: an SAE")][0]["passed"]


def test_a_single_dictionary_size_plots(quick_run, tmp_path):
    """Before: `sae --set dict_ratios=1` trained, then its figure ended in IndexError (the panel comparing
    each dictionary with the next larger one had no column to outline)."""
    _, run = quick_run
    arrays = dict(np.load(run / "results.npz"))
    arrays["pub_sizes"] = np.array([64])
    cfg = sae.Config(**{**sae.QUICK, "dict_ratios": (1.0,)})
    assert sae.tables(arrays, "pub")["mmcs_larger"].shape == (3, 0)
    paths = sae.plot(cfg, arrays, tmp_path)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_feature_probabilities_follow_the_published_law():
    p = sae.feature_probs(sae.Config())
    assert p.shape == (512,) and abs(p.sum() - 5.0) < 1e-3
    np.testing.assert_allclose(p[1:] / p[:-1], 0.99, rtol=1e-5)


def test_an_unknown_architecture_is_refused_in_one_line():
    from superpose.config import ConfigError

    with pytest.raises(ConfigError, match="unknown SAE architecture"):
        sae.Config(archs="relu,gated")
