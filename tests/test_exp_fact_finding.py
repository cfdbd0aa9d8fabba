"""experiments/fact_finding.py (issue 20 section 3): the --quick mode end to end with its checks asserted, the
wrong model (the hand-built AND model, one neuron per fact, as if trained) failing the AND-neuron check, and
the measurements on hand-built weights: an additive map has no excess and no break, the AND model's excess
sits on one neuron per fact.

Quick scale (the script's QUICK): widths 64 and 12 (4 and 21 facts per neuron), 2,000 steps; the checks are
the full-scale ones.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.analysis import facts as fa
from superpose.lab import main
from superpose.lab.registry import load_experiment_module
from superpose.models import facts as fm

E = load_experiment_module("fact_finding")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fact_finding")
    code = main(E.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("fact_finding/*/summary.json")
    results = np.load(summary_path.parent / "results.npz")
    return code, json.loads(summary_path.read_text()), {k: results[k] for k in results.files}


def test_quick_checks_pass(quick):
    code, summary, _ = quick
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 2 and [r["m"] for r in summary["widths"]] == [64, 12]
    for r in summary["widths"]:  # the numbers reported beside Fact Finding's
        assert all(0 <= b <= 1 for b in r["break"] + r["break_shuffled"])


def test_the_animation_shows_each_frames_and_shares_from_the_snapshots(quick, tmp_path):
    from superpose.lab.animate import AnimateOptions

    _, _, arrays = quick
    cfg = E.EXPERIMENT.make_config(quick=True)
    steps = arrays["snapshot_steps"]
    assert steps[-1] == cfg.n_steps and arrays["snapshot_W_in"].shape[:2] == (cfg.n_seeds, steps.size)
    # the last frame is the final model of the narrowest width
    np.testing.assert_array_equal(arrays["snapshot_W_in"][:, -1], arrays[f"m{cfg.widths[-1]}_W_in"])
    (path,) = E.animate(cfg, arrays, tmp_path, AnimateOptions(fps=4))
    assert str(path).endswith(".gif") and (tmp_path / "fact_finding_forming.gif").stat().st_size > 0


def test_the_and_model_as_trained_fails_the_and_neuron_check(quick):
    """Every trained model replaced by the hand-built AND model of its table (m = N neurons): most of each
    fact's excess sits on its own neuron, so the claim's check fails."""
    cfg = E.EXPERIMENT.make_config(quick=True)
    cfg = dataclasses.replace(cfg, widths=(cfg.n_facts,))
    arrays = {}
    for table in E.tables(cfg):
        for k, v in fa.and_model(table).items():
            arrays.setdefault(f"m{cfg.n_facts}_{k}", []).append(v.astype(np.float32))
        for k, v in fm.stack_tables([table]).items():
            arrays.setdefault(f"m{cfg.n_facts}_{k}", []).append(v[0])
    arrays = {k: np.stack(v) for k, v in arrays.items()}
    checks = E.analyze(cfg, arrays)["checks"]
    assert [c["passed"] for c in checks] == [True, False], checks


@given(st.integers(0, 2**16))
def test_an_additive_map_has_no_excess_and_no_break(seed):
    """A linear hidden layer (no ReLU reached: a large bias keeps every pre-activation positive) is additive
    in the two names: zero excess on every fact and nothing left by the additive fit."""
    rng = np.random.default_rng(seed)
    table = fm.fact_table(rng, 60, 8, 6, 4)
    params = {"W_in": rng.normal(size=(5, 8)), "b": np.full(5, 100.0), "W_out": rng.normal(size=(8, 5))}
    excess, parts = fa.nonlinear_excess(params, table)
    np.testing.assert_allclose(excess, 0.0, atol=1e-9)
    np.testing.assert_allclose(parts.sum(axis=0), excess, atol=1e-12)
    assert fa.additive_break(params, table) < 1e-12


def test_the_and_model_puts_each_fact_on_its_own_neuron():
    table = fm.orthonormal_table(64, 8, 4)
    excess, parts = fa.nonlinear_excess(fa.and_model(table), table)
    np.testing.assert_allclose(np.diag(parts), 1.0, atol=0.05)  # each fact's own neuron carries ~1
    assert np.nanmedian(fa.top_neuron_share(parts)) > 0.95 and np.all(excess > 0.9)
    shuffled = fa.shuffled(fa.and_model(table), np.random.default_rng(0))
    assert {k: v.shape for k, v in shuffled.items()} == {k: v.shape for k, v in fa.and_model(table).items()}
