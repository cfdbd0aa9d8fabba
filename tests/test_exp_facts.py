"""experiments/facts.py and superpose/facts.py: the --quick mode end to end with its checks asserted, and the
pieces each check rests on, on hand-built inputs (so each can fail).

Quick-scale settings (the script's QUICK): two 32-class cells (d = m = 12 and 24) at 6 values of N, one seed,
2,000 steps; the linear memory at d = 16; no N-class cells and no width sweep (each sweep compiles once).
The checks are the full-scale ones.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose import facts
from superpose.config import make_hyper
from superpose.lab import main, store
from superpose.lab.animate import AnimateOptions, animate_run

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("experiments.facts", ROOT / "experiments" / "facts.py")
facts_exp = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = facts_exp
spec.loader.exec_module(facts_exp)


def test_facts_quick_checks_pass(tmp_path):
    code = main(facts_exp.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("facts/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert {c["name"].split(":")[0] for c in summary["checks"]} >= {"and32", "linear"}
    assert {p.name for p in summary_path.parent.glob("*.png")} == {"facts.png", "facts_forming.png"}
    # `superpose animate RUN`: fact storage forming, from the stored snapshots alone
    (gif,) = animate_run(store.Run(summary_path.parent), tmp_path, AnimateOptions(fps=4))
    assert gif.name == "facts_forming.gif" and gif.stat().st_size > 0


# --- the hand-built AND model ----------------------------------------------------------------------------


@given(st.integers(16, 80), st.integers(2, 40), st.integers(2, 4), st.integers(0, 2**16))
def test_hand_built_and_model_is_exact_with_orthonormal_tokens(n_facts, n_attributes, per_name, seed):
    table = facts.orthonormal_table(n_facts, n_attributes, per_name, seed)
    params = facts.and_model(table)
    x, f, g = facts.inputs(table)
    np.testing.assert_array_equal(facts.mlp_hidden(params, x), np.eye(n_facts))  # fires on its own fact only
    # either name alone: silent
    assert facts.mlp_hidden(params, f).max() == 0 and facts.mlp_hidden(params, g).max() == 0
    assert facts.accuracy(params, table) == 1.0
    np.testing.assert_allclose(facts.margin_contributions(params, table).sum(axis=0), 1.0)
    C = facts.margin_contributions(params, table)
    assert facts.and_fraction(C, facts.and_scores(params, table)) == 1.0
    np.testing.assert_allclose(facts.participation(C), 1.0)


def test_hand_built_and_model_suffers_interference_in_few_dimensions():
    def acc(d):
        table = facts.fact_table(np.random.default_rng(d), 256, d, 32, 4)
        return facts.accuracy(facts.and_model(table), table)

    assert acc(1024) == 1.0
    assert acc(16) < 0.9


def test_names_are_shared_so_no_token_decides_alone():
    table = facts.fact_table(np.random.default_rng(0), 200, 8, 32, 4)
    pairs = set(zip(table["fact_first"].tolist(), table["fact_last"].tolist()))
    assert len(pairs) == 200  # every (first, last) pair is a distinct fact
    for key in ("fact_first", "fact_last"):
        names = table[key]
        shared = [n for n in np.unique(names) if (names == n).sum() > 1]
        assert shared  # names serve several facts ...
        answers = [np.unique(table["fact_attr"][names == n]).size for n in shared]
        assert np.mean(np.array(answers) > 1) > 0.9  # ... with different attributes


# --- analysis --------------------------------------------------------------------------------------------


@given(st.integers(0, 2**16))
def test_margin_contributions_sum_to_the_margin(seed):
    rng = np.random.default_rng(seed)
    table = facts.fact_table(rng, 40, 6, 5, 4)
    params = {"W_in": rng.normal(size=(7, 6)), "b": rng.normal(size=7), "W_out": rng.normal(size=(6, 7))}
    z = facts.logits(params, table)
    y = table["fact_attr"]
    true = z[y, np.arange(y.size)]
    z[y, np.arange(y.size)] = -np.inf
    np.testing.assert_allclose(
        facts.margin_contributions(params, table).sum(axis=0), true - z.max(axis=0), atol=1e-9
    )


@given(st.integers(1, 12), st.integers(0, 11))
def test_participation_counts_equal_contributors(k, silent_extra):
    C = np.zeros((k + silent_extra, 3))
    C[:k, 0] = 2.0  # k equal neurons
    C[0, 1] = 5.0  # one neuron
    C[:, 2] = -1.0  # nothing positive
    np.testing.assert_allclose(facts.participation(C), [k, 1, 0])
    main = facts.main_neurons(C)
    assert main[:, 0].sum() == -(-k // 2) and main[:, 1].sum() == 1 and main[:, 2].sum() == 0


def test_and_scores_tell_an_and_from_an_additive_neuron():
    table = facts.orthonormal_table(16, 4, 4)
    and_params = facts.and_model(table)
    additive = {**and_params, "b": np.full(16, 1.0)}  # always on: relu(w.x + 1) is linear in the names
    assert np.nanmin(facts.and_scores(and_params, table)[np.eye(16, dtype=bool)]) == 1.0
    assert np.nanmax(facts.and_scores(additive, table)) < 0


# --- capacity --------------------------------------------------------------------------------------------


def synthetic_accuracy(grid: np.ndarray, capacity: float, slope: float, clip: bool = True) -> np.ndarray:
    """Accuracy falling linearly in log N through 0.99 at `capacity` (clipped to [0, 1] unless clip=False)."""
    acc = 0.99 - slope * (np.log(grid) - np.log(capacity))
    return np.clip(acc, 0.0, 1.0) if clip else acc


@given(st.floats(0.5, 1.6), st.floats(0.3, 3.0), st.floats(0.5, 5.0), st.floats(0.0, 0.9))
def test_capacity_fit_recovers_a_known_exponent(exponent, constant, slope, offset):
    """Capacities N* = c x^k, each found from 8 accuracies around it, fit back to k (and to c within the
    grid's step: the accuracy just below N* is clipped at 1, so the interpolation lands between them)."""
    measure = np.array([128.0, 256.0, 512.0, 1024.0])
    truth = constant * measure**exponent
    step = 1.6 / 0.6
    caps = []
    for n_star in truth:
        grid = n_star * np.geomspace(0.6, 1.6, 8) * step ** (offset / 7)  # N* anywhere between grid points
        cap, status = facts.capacity(grid, synthetic_accuracy(grid, n_star, slope))
        assert status == "ok"
        assert n_star / step ** (1 / 7) <= cap <= n_star * step ** (1 / 7)
        exact, _ = facts.capacity(grid, synthetic_accuracy(grid, n_star, slope, clip=False))
        np.testing.assert_allclose(exact, n_star, rtol=1e-9)  # linear in log N: interpolation is exact
        caps.append(cap)
    k, c = facts.power_fit(measure, caps)
    assert abs(k - exponent) < 1e-6  # the same relative grid in every cell: the bias is a constant factor
    assert abs(np.log(c / constant)) <= np.log(step) / 7 + 1e-9


def test_capacity_flags_a_search_range_that_misses():
    grid = np.array([10.0, 20.0, 40.0])
    assert facts.capacity(grid, np.array([1.0, 1.0, 1.0])) == (40.0, "above")
    assert facts.capacity(grid, np.array([0.5, 0.2, 0.1])) == (10.0, "below")


def test_published_facts_inverts_the_published_fits():
    for setting in ("and32", "andN", "linear"):
        x = np.array([100.0, 1000.0, 5000.0])
        n = facts_exp.published_facts(setting, x)
        fit = facts_exp.PUBLISHED[setting]
        np.testing.assert_allclose(fit["constant"] * n * (np.log(n) if fit["log_n"] else 1.0), x, rtol=1e-9)


# --- training pieces -------------------------------------------------------------------------------------


def test_padding_leaves_the_loss_unchanged():
    """A table padded with facts and attribute slots (as in a sweep of mixed N) has the same loss."""
    rng = np.random.default_rng(0)
    small = facts.fact_table(rng, 24, 8, 6, 4)
    big = facts.fact_table(rng, 40, 8, 9, 4)
    extra = facts.stack_tables([small, big])
    model = facts.FactMLP()
    params = {"W_in": rng.normal(size=(5, 8)), "b": rng.normal(size=5), "W_out": rng.normal(size=(8, 5))}
    params = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
    hyper = make_hyper(2, 8, extra=extra).take(0)
    hyper = hyper._replace(extra={k: jnp.asarray(v) for k, v in hyper.extra.items()})
    loss = model.loss(params, facts.FullTable().draw(None, hyper, None), hyper)
    z = facts.logits({k: np.asarray(v) for k, v in params.items()}, small)
    y = small["fact_attr"]
    expected = np.mean(np.log(np.exp(z).sum(axis=0)) - z[y, np.arange(y.size)])
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
