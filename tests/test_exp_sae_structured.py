"""experiments/sae_structured.py: SAEs on SynthSAEBench-style activations. The generator's structure (the
published scale's L0 and the hierarchy's rules), the --quick mode's run, and wrong SAEs fed to the analysis
failing the ranking checks."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from superpose.config import ConfigError, Hyper
from superpose.lab import main
from superpose.lab.registry import load_experiment_module
from superpose.models.sae import Hierarchical, synthbench_source

sae_structured = load_experiment_module("sae_structured")


def draw(src, roots, batch=8_192, seed=0):
    extra = {k: jnp.asarray(v) for k, v in src["extra"].items()}
    hyper = Hyper(jnp.asarray(src["probs"]), jnp.asarray(src["probs"]), 0.0, 0.0, extra)
    return np.asarray(
        jax.jit(lambda k: Hierarchical(roots=roots).features(k, hyper, batch))(jax.random.key(seed))
    )


def test_the_generator_keeps_its_hierarchy_exclusion_and_densities():
    src = synthbench_source(256, 16, roots=2)
    x = draw(src, 2)
    on, parent = x > 0, src["parent"]
    child = np.flatnonzero(parent >= 0)
    assert (
        len(child) == 2 * (4 + 16 + 64) and not (on[child] & ~on[parent[child]]).any()
    )  # never without parent
    for p in np.unique(parent[child]):
        assert on[parent == p].sum(axis=0).max() <= 1  # siblings exclude each other
    free = src["level"] < 0  # outside the trees: the Zipf densities themselves
    np.testing.assert_allclose(on[free].mean(axis=1).mean(), src["probs"][free].mean(), rtol=0.1)
    roots = src["level"] == 0
    np.testing.assert_allclose(on[roots].mean(axis=1), src["probs"][roots], atol=0.02)
    assert (x[on] > 0).all() and 3.0 < x[on].mean() < 7.0  # magnitudes around 4-5, children scaled


def test_a_tree_larger_than_the_features_is_one_line():
    with pytest.raises(ConfigError, match="need 170 features"):
        synthbench_source(100, 8, roots=2)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    code = main(sae_structured.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(runs)])
    (run,) = runs.glob("sae_structured/*/")
    return code, run


def test_quick_runs_every_architecture_at_the_target_l0(quick_run):
    code, run = quick_run
    summary = json.loads((run / "summary.json").read_text())
    assert (run / "sae_structured.png").exists()
    names = set(summary["at_target"])
    assert {"relu", "topk", "batchtopk", "jumprelu", "matryoshka", "batchtopk tied"} <= names
    assert summary["checks"][0]["passed"], summary["checks"][0]  # every SAE read at the target L0
    failed = [c["name"] for c in summary["checks"] if not c["passed"]]
    assert code == (1 if failed else 0)


def ranking(cfg, arrays) -> dict[str, bool]:
    """The two ranking checks' verdicts on arrays (their sae_param_* re-measured), the checks switched on."""
    cfg = dataclasses.replace(cfg, ranking_checks=True)
    arrays = dict(arrays)
    arrays.update(sae_structured.measure(cfg, arrays))
    checks = sae_structured.analyze(cfg, arrays)["checks"]
    best = next(c for c in checks if c["name"].startswith("Matryoshka has the best F1"))
    worst = next(c for c in checks if c["name"].startswith("ReLU + L1 has the worst"))
    return {"best": best["passed"], "worst": worst["passed"]}


def oracle(cfg, arrays, rng) -> dict:
    """The quick run's SAEs, but Matryoshka's atoms (and encoder rows) are the true directions of the densest
    features and every ReLU + L1 SAE's atoms random: an SAE set the ranking checks must accept."""
    arrays = dict(arrays)
    names = [str(n) for n in arrays["sae_name"]]
    F = sae_structured.source(cfg)["F"]  # [d, n], densest first
    V, W = arrays["sae_param_V"].copy(), arrays["sae_param_W_enc"].copy()
    for i, name in enumerate(names):
        if name == "matryoshka":
            V[i] = F[:, : V.shape[2]]
        elif name == "relu":
            R = rng.normal(size=V[i].shape)
            V[i] = R / np.linalg.norm(R, axis=0, keepdims=True)
        else:
            continue
        W[i] = V[i].T
        arrays["sae_param_b_enc"][i] = 0.0
    arrays["sae_param_V"], arrays["sae_param_W_enc"] = V, W
    return arrays


def test_quick_mode_drops_the_ranking_checks(quick_run):
    _, run = quick_run
    names = [c["name"] for c in json.loads((run / "summary.json").read_text())["checks"]]
    assert len(names) == 1 and names[0].startswith("every SAE is read at the target L0")


@pytest.mark.parametrize("how", ["shuffled", "untrained"])
def test_a_wrong_sae_fails_the_ranking_checks(quick_run, how):
    """The contrast: the oracle passes both ranking checks; wrong SAEs (the oracle's atoms with their
    dimensions shuffled, or every SAE untrained) fail at least one."""
    _, run = quick_run
    cfg = sae_structured.Config(**sae_structured.QUICK)
    rng = np.random.default_rng(0)
    good = oracle(cfg, dict(np.load(run / "results.npz")), rng)
    assert ranking(cfg, good) == {"best": True, "worst": True}
    arrays = dict(good)
    V = arrays["sae_param_V"]
    if how == "shuffled":  # decoder rows (dimensions) permuted: same norms and sparsity, wrong directions
        arrays["sae_param_V"] = V[:, rng.permutation(V.shape[1]), :]
        arrays["sae_param_W_enc"] = np.swapaxes(arrays["sae_param_V"], 1, 2)
    else:  # random atoms, the encoder their transpose: untrained SAEs
        R = rng.normal(size=V.shape)
        arrays["sae_param_V"] = R / np.linalg.norm(R, axis=1, keepdims=True)
        arrays["sae_param_W_enc"] = np.swapaxes(arrays["sae_param_V"], 1, 2)
    assert not all(ranking(cfg, arrays).values())
