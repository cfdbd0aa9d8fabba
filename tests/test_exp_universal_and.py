"""Issue 20 §1 (experiments/universal_and.py): the --quick run with its checks asserted, the construction and
the naive circuit built by hand, the truth-table classes on hand-made neurons, and wrong models that fail the
key checks.

Quick scale (the script's QUICK): d = 8 and 32, 2,000 steps at batch 512, 10,000 evaluation samples; all six
checks are the full run's, with the same bars.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from superpose.analysis import compute as cc
from superpose.lab import cli, main
from superpose.lab.registry import load_experiment_module
from superpose.models import MODELS, UniversalAND
from superpose.models.compute import random_embedding

E = load_experiment_module("universal_and")


def test_quick_run_passes_its_checks(tmp_path: Path):
    code = main(E.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (run_dir,) = (tmp_path / "universal_and").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 6  # so that "every check passed" is not vacuous
    assert [r["d"] for r in summary["per_width"]] == [8, 32]
    assert (run_dir / "universal_and.png").exists()
    # issue 20 §4: the animation, through `superpose animate`, from the stored snapshots alone
    assert cli.main(["animate", str(run_dir), "--out", str(tmp_path / "anim"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "anim").iterdir()) == [
        "universal_and_classes_p0_1.gif",
        "universal_and_classes_p0_3.gif",
    ]


def naive_circuit(m: int, d: int) -> dict:
    """One neuron per AND for the first d pairs: ReLU(x_i + x_j - 1), read by a one-hot readout."""
    i, j = cc.pair_index(m)
    P = len(i)
    W_in, W_out = np.zeros((d, m)), np.zeros((P, d))
    W_in[np.arange(d), i[:d]] = 1.0
    W_in[np.arange(d), j[:d]] = 1.0
    W_out[np.arange(d), np.arange(d)] = 1.0
    return {"W_in": W_in, "b_in": -np.ones(d), "W_out": W_out, "b_out": np.zeros(P)}


def test_the_naive_circuit_scores_the_naive_formula():
    m, d, p = 12, 20, 0.2
    bits = cc.sample_bits(np.random.default_rng(0), 100_000, m, p)
    err = cc.and_errors(naive_circuit(m, d), bits)
    assert np.isclose(err["mse"], cc.naive_and_mse(d, m, p), rtol=0.05)
    assert np.allclose(cc.output_truth_tables(naive_circuit(m, d))[:d], [0, 0, 0, 1])


@settings(max_examples=20, deadline=None)
@given(m=st.integers(3, 14), d=st.integers(1, 60), c=st.floats(0.1, 1.0), seed=st.integers(0, 1000))
def test_the_construction_reads_every_wired_and_exactly_on_two_inputs(m, d, c, seed):
    params = cc.construction(m, d, c, np.random.default_rng(seed))
    tables = cc.output_truth_tables(params)
    wired = np.asarray(params["W_out"]).sum(1) > 0
    assert np.allclose(tables[wired], [0, 0, 0, 1]) and np.allclose(tables[~wired], 0)
    assert np.all(params["b_in"] == -1) and set(np.unique(params["W_in"])) <= {0.0, 1.0}


def test_the_model_matches_the_numpy_forward_pass_with_and_without_superposition():
    m, d = 9, 7
    rng = np.random.default_rng(2)
    bits = cc.sample_bits(rng, 50, m, 0.3)
    for embed_dim in (0, 5):
        model = UniversalAND(embed_dim=embed_dim)
        params = model.init(__import__("jax").random.key(0), m, d)
        params["b_in"] = jnp.asarray(rng.normal(size=d), jnp.float32)
        emb = random_embedding(embed_dim, m, 0) if embed_dim else None
        ours = np.asarray(model.apply(params, jnp.asarray(bits.T * 0.7, jnp.float32))).T  # any x > 0 is "on"
        np.testing.assert_allclose(
            ours, cc.and_outputs({k: np.asarray(v) for k, v in params.items()}, bits, emb), atol=1e-4
        )
        np.testing.assert_allclose(np.asarray(model.target(jnp.asarray(bits.T))).T, cc.and_targets(bits))
    assert MODELS["universal_and"] is UniversalAND


def test_truth_table_classes_on_hand_made_neurons():
    # neurons on inputs (0, 1): A (+, +, bias > 0), B (+, -), C (-, -), AND (1, 1, bias -1), single (1, 0, b -0.5),
    # silent (0, 0, bias -1)
    W = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    b = np.array([0.5, 0.5, 0.5, -1.0, -0.5, -1.0])
    classes = cc.truth_table_classes(cc.truth_tables(W, b))[:, 0]
    assert [cc.CLASSES[k] for k in classes] == ["A", "B", "C", "AND", "single", "silent"]
    # in context, a silent background keeps the tables as they are
    ctx = cc.context_truth_tables(W, b, np.zeros((4, 2)))
    np.testing.assert_allclose(ctx, cc.truth_tables(W, b))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), log_alpha=st.floats(-2, 2))
def test_classes_and_density_do_not_depend_on_neuron_order_or_positive_rescaling(seed, log_alpha):
    rng = np.random.default_rng(seed)
    m, d = 6, 5
    params = {
        "W_in": rng.normal(size=(d, m)),
        "b_in": rng.normal(size=d),
        "W_out": rng.normal(size=(15, d)),
        "b_out": np.zeros(15),
    }
    perm, a = rng.permutation(d), np.exp(log_alpha)
    moved = {
        "W_in": a * params["W_in"][perm],
        "b_in": a * params["b_in"][perm],
        "W_out": params["W_out"][:, perm] / a,
        "b_out": params["b_out"],
    }
    c0 = cc.truth_table_classes(cc.truth_tables(params["W_in"], params["b_in"]))
    c1 = cc.truth_table_classes(cc.truth_tables(moved["W_in"], moved["b_in"]))
    np.testing.assert_array_equal(c1, c0[perm])
    assert np.isclose(cc.contribution_density(moved), cc.contribution_density(params))
    bits = cc.sample_bits(rng, 200, m, 0.3)
    np.testing.assert_allclose(cc.and_outputs(moved, bits), cc.and_outputs(params, bits), atol=1e-9)


# --- the checks on wrong models ----------------------------------------------------------------------------


def arrays_for(cfg, circuits: dict) -> dict:
    """The arrays analyze() reads from {(study, density, d): params}, zero-padded to the widest d."""
    out = {}
    for study in ("main", "superposed"):
        keys = [k for k in circuits if k[0] == study]
        dmax = max(k[2] for k in keys)
        out[f"{study}_density"] = np.array([k[1] for k in keys])
        out[f"{study}_n_hidden"] = np.array([k[2] for k in keys])
        for name in E.PARAMS:
            parts = [np.asarray(circuits[k][name], np.float64) for k in keys]
            shape = np.max([p.shape for p in parts], axis=0)
            a = np.zeros((len(parts), *shape))
            for r, p in enumerate(parts):
                a[(r, *(slice(0, s) for s in p.shape))] = p
            out[f"{study}_{name}"] = a
        del dmax
    return out


def circuits_like(cfg, make) -> dict:
    w = E.widths(cfg)
    c = {("main", p, int(d)): make(int(d), "main") for p in (cfg.density, cfg.density_high) for d in w}
    c.update({("superposed", cfg.density, int(d)): make(int(d), "superposed") for d in w})
    return c


def test_wrong_models_fail_the_key_checks():
    cfg = E.EXPERIMENT.make_config(quick=True)
    m, P = cfg.n_inputs, E.n_pairs(cfg)
    # the naive circuit itself: it does not beat the naive circuit, and its error does not fall fast enough
    naive = E.analyze(
        cfg,
        arrays_for(
            cfg,
            circuits_like(cfg, lambda d, s: naive_circuit(m, d) if s == "main" else zero_circuit(cfg, d, s)),
        ),
    )
    passed = {c["name"].split(":")[1].strip(): c["passed"] for c in naive["checks"]}
    assert not naive["checks"][0]["passed"] and not naive["checks"][-1]["passed"], passed
    # an untrained readout (all zero): predicting 0 everywhere
    zero = E.analyze(cfg, arrays_for(cfg, circuits_like(cfg, lambda d, s: zero_circuit(cfg, d, s))))
    assert not zero["checks"][0]["passed"] and not zero["checks"][2]["passed"]
    assert P == m * (m - 1) // 2


def zero_circuit(cfg, d, study):
    width = cfg.embed_dim if study == "superposed" else cfg.n_inputs
    P = E.n_pairs(cfg)
    return {
        "W_in": np.zeros((d, width)),
        "b_in": np.zeros(d),
        "W_out": np.zeros((P, d)),
        "b_out": np.zeros(P),
    }
