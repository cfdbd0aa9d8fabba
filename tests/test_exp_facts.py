"""experiments/facts.py and superpose/facts.py (with superpose/models/facts.py, superpose/analysis/facts.py and
superpose/analysis/capacity.py behind it): the --quick mode end to end with its checks asserted, a wrong model
(the readout shuffled) failing the checks that read training, and the pieces each check rests on, on
hand-built inputs (so each can fail).

Quick-scale settings (the script's QUICK): two 32-class cells (d = m = 12 and 24) at 6 values of N, one seed,
2,000 steps; the linear memory at d = 16; no N-class cells and no width sweep (each sweep compiles once).
The checks are the full-scale ones.
"""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose import facts
from superpose.config import ConfigError, make_hyper
from superpose.lab import main, store
from superpose.lab.animate import AnimateOptions, animate_run
from superpose.lab.registry import load_experiment_module
from superpose.models import facts as fm

facts_exp = load_experiment_module("facts")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """(exit code, summary path, results) of one --quick run, shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp("facts")
    code = main(facts_exp.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("facts/*/summary.json")
    results = np.load(summary_path.parent / "results.npz")
    return code, summary_path, {k: results[k] for k in results.files}


def test_facts_quick_checks_pass(quick, tmp_path):
    code, summary_path, _ = quick
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert {c["name"].split(":")[0] for c in summary["checks"]} >= {"and32", "linear"}
    # capacities and constants carry a standard error over the 2 seeds; each seed's search ends in a bracket
    # (the first N that fails and the N tried before it) a few percent wide
    for res in summary["capacity"].values():
        assert res["constant_se"] is not None and len(res["constant_per_seed"]) == 2
        for row in res["cells"]:
            assert row["status"] == "ok" and row["capacity_se"] is not None
            for tried in row["tried"]:
                n, acc = np.array(tried).T
                first_fail = int(np.flatnonzero(acc < 0.99)[0])
                assert n[first_fail] / n[first_fail - 1] < 1.05
    names = {"facts.png", "facts_forming.png", "facts_importance.png", "facts_probes.png"}  # last two: probes
    assert {p.name for p in summary_path.parent.glob("*.png")} == names
    # `superpose animate RUN`: fact storage forming, from the stored snapshots alone
    (gif,) = animate_run(store.Run(summary_path.parent), tmp_path, AnimateOptions(fps=4))
    assert gif.name == "facts_forming.gif" and gif.stat().st_size > 0


def test_analysis_fails_for_models_whose_readout_is_shuffled(quick):
    """Every trained model's output weights scrambled (W_out's neurons, the linear memory's rows, permuted):
    nothing is stored, so every capacity is a bound at the bottom of its range and the capacity, constant and
    superposition checks fail; the hand-built model's two checks, which train nothing, still pass."""
    arrays = dict(quick[2])
    rng = np.random.default_rng(0)
    for key in [k for k in arrays if k.endswith(("_W_out", "_W")) and not k.startswith("snapshot_")]:
        W = arrays[key]
        arrays[key] = (
            W[..., rng.permutation(W.shape[-1])]
            if key.endswith("_W_out")
            else W[:, rng.permutation(W.shape[1])]
        )
    checks = facts_exp.analyze(facts_exp.EXPERIMENT.make_config(quick=True), arrays)["checks"]
    passed = {c["name"].split(":")[0]: c["passed"] for c in checks}
    assert passed == {
        "hand-built AND model exact with orthonormal tokens": True,
        "hand-built AND model loses accuracy to interference as d shrinks": True,
        "32 classes": False,
        "and32": False,
        "linear": False,
        "superposition at capacity": False,
    }, checks


# --- the hand-built AND model ----------------------------------------------------------------------------


@given(st.integers(16, 80), st.integers(2, 40), st.integers(3, 4), st.integers(0, 2**16))
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


def assert_no_name_decides_alone(table: dict, per_name: int) -> None:
    """Every (first, last) pair is a distinct fact; every first and every last name keys 2..per_name facts,
    not all with the same attribute (so neither name alone tells the answer), and every name row is used."""
    pairs = set(zip(table["fact_first"].tolist(), table["fact_last"].tolist()))
    assert len(pairs) == table["fact_attr"].size
    for key, names in (("fact_first", "first"), ("fact_last", "last")):
        counts = np.bincount(table[key], minlength=table[names].shape[0])
        assert counts.size == table[names].shape[0]  # no name row beyond the used ones
        assert counts.min() >= 2 and counts.max() <= per_name, (key, counts.min(), counts.max())
        for name in range(counts.size):
            assert np.unique(table["fact_attr"][table[key] == name]).size >= 2, (key, name)


@given(st.integers(0, 2**16), st.integers(0, 300), st.sampled_from([3, 4, 5]), st.sampled_from([2, 3, 32]))
def test_every_name_keys_several_facts_with_different_attributes(seed, extra, per_name, n_attributes):
    n_facts = 25 + extra  # at least facts.min_facts(per_name) (20 at 5 per name)
    table = facts.fact_table(np.random.default_rng(seed), n_facts, 8, n_attributes, per_name)
    assert table["fact_attr"].size == n_facts and table["fact_attr"].max() < n_attributes
    assert_no_name_decides_alone(table, per_name)


def test_n_classes_give_every_fact_its_own_attribute():
    table = facts.fact_table(np.random.default_rng(0), 101, 8, None, 4)
    np.testing.assert_array_equal(table["fact_attr"], np.arange(101))
    assert table["attr"].shape == (101, 8)
    assert_no_name_decides_alone(table, 4)


def test_the_tables_of_the_experiment_share_their_names():
    """The tables the experiment may train: the largest of every cell and seed of the full run (their
    prefixes at the candidate sizes are checked by fact_table itself, and nest)."""
    cfg = facts_exp.Config()
    for setting, d, m in facts_exp.cells(cfg):
        if setting != "linear":
            n = int(facts.candidates(setting, d, m, cfg.search_low, cfg.search_high, cfg.facts_per_name)[-1])
            for s in range(cfg.n_seeds):
                assert_no_name_decides_alone(facts_exp.cell_table(cfg, setting, d, m, s, n), 4)


def test_a_table_too_small_for_its_names_is_refused():
    with pytest.raises(ConfigError, match="facts"):
        facts.fact_table(np.random.default_rng(0), facts.min_facts(4) - 1, 8, 32, 4)
    with pytest.raises(ConfigError, match="facts_per_name"):
        facts.fact_table(np.random.default_rng(0), 100, 8, 32, 2)  # two per name cannot grow nested
    with pytest.raises(ConfigError, match="attributes"):
        facts.fact_table(np.random.default_rng(0), 100, 8, 1, 4)  # one attribute: every name decides


def prefix(table: dict, n: int, names: tuple[int, int], one_per_fact: bool) -> dict:
    """The first n facts of a table with its first names[0] first and names[1] last names (and, with one
    attribute per fact, its first n attributes)."""
    out = {k: table[k][:n] for k in ("fact_first", "fact_last", "fact_attr")}
    attr = table["attr"][:n] if one_per_fact else table["attr"]
    return {**out, "first": table["first"][: names[0]], "last": table["last"][: names[1]], "attr": attr}


def assert_nested(seed: int, sizes, n_attributes, per_name: int, n_max: int = 200) -> None:
    big = facts.fact_table(np.random.default_rng(seed), n_max, 8, n_attributes, per_name)
    for n in sizes:
        small = facts.fact_table(np.random.default_rng(seed), int(n), 8, n_attributes, per_name)
        names = (small["first"].shape[0], small["last"].shape[0])
        expected = prefix(big, int(n), names, n_attributes is None)
        for key in ("first", "last", "attr", "fact_first", "fact_last", "fact_attr"):
            np.testing.assert_array_equal(small[key], expected[key], err_msg=f"N={n}: {key}")


@given(st.integers(0, 2**16))
def test_tables_are_nested_in_the_number_of_facts(seed):
    """The table of N facts is the first N facts of the table of a larger N (the same names, embeddings and
    attributes), so the capacity search compares one table at every N and accuracy falls with N."""
    assert_nested(seed, (16, 17, 40, 41, 100, 101, 128), 32, 4)  # sizes a nested table of 4 per name has


@given(st.integers(0, 2**16), st.sampled_from([(3, None), (4, None), (5, 7)]))
def test_nested_sizes_are_a_few_facts_apart(seed, setting):
    """nested_sizes lists every N at which the table is the prefix of all larger ones: at most 3 apart (so a
    search resolves N to about 1%); with one attribute per fact the attributes nest too."""
    per_name, n_attributes = setting
    sizes = facts.nested_sizes(200, per_name)
    assert sizes[0] == facts.min_facts(per_name) and sizes[-1] <= 200 and np.diff(sizes).max() <= 3
    assert_nested(seed, sizes[:: max(1, len(sizes) // 10)], n_attributes, per_name)


# --- probe activations and measured importance (superpose.lab.fact_probes) --------------------------------


def test_a_facts_run_keeps_probe_activations_and_measured_importances(quick):
    from superpose.analysis import facts as fa
    from superpose.lab import fact_probes, probes
    from superpose.models.facts import instance_table

    _, summary_path, arrays = quick
    run = store.Run(summary_path.parent)
    p = probes.load(run)
    table = instance_table(arrays, 0, prefix="forming_")
    n, m = table["fact_attr"].size, arrays["forming_W_in"].shape[1]
    frames = arrays["snapshot_steps"].size
    assert probes.is_facts(p) and p["probe_hidden"].shape == (1, frames, m, n)
    assert p["probe_output"].shape == (1, frames, table["attr"].shape[0], n)
    np.testing.assert_array_equal(p["probe_steps"], arrays["snapshot_steps"])
    for t in (0, frames // 2, frames - 1):  # post hoc is exact: the stored snapshot applied to every key
        params = {k: arrays[f"snapshot_{k}"][0, t] for k in ("W_in", "b", "W_out")}
        np.testing.assert_allclose(
            p["probe_hidden"][0, t], fa.mlp_hidden(params, fa.inputs(table)[0]), atol=1e-4
        )
        assert p["probe_accuracy"][0, t] == fa.accuracy(params, table)
    # the parts add up: name tokens to the margin less the bias-only margin, neurons to the margin
    parts, margin, base = p["token_parts"][0], p["margin"][0], p["baseline"][0]
    np.testing.assert_allclose(parts.sum(axis=1), margin - base, atol=1e-3 * np.abs(margin).max())
    np.testing.assert_allclose(
        p["neuron_contribution"][0].sum(axis=1), margin, atol=1e-3 * np.abs(margin).max()
    )
    summary = json.loads(summary_path.read_text())
    (check,) = [c for c in summary["checks"] if c["name"].startswith("measured token importance")]
    assert check["passed"], check
    rows = summary["fact_importance"]["facts"]
    assert len(rows) == n and all(len(r["neurons"]) == 3 for r in rows)
    assert abs(rows[0]["first_share"]) + abs(rows[0]["last_share"]) == pytest.approx(1, abs=2e-3)
    assert run.file("probes.npz").stat().st_size < 1_000_000
    text = fact_probes.format_importance(summary)
    assert "measured fact importance" in text and "fact 0 (first" in text
    (gif,) = probes.animate(run, summary_path.parent / "anim", fps=4)  # `superpose animate RUN --probes`
    assert gif.stat().st_size > 0


def test_a_model_that_reads_one_name_fails_the_token_check():
    from superpose.analysis import facts as fa
    from superpose.lab.fact_probes import FactProbes

    table = fm.orthonormal_table(48, 8, 4, seed=1)
    k = table["first"].shape[0]
    # one neuron per first name, reading it alone; each writes its name's most common attribute
    common = [np.bincount(table["fact_attr"][table["fact_first"] == a]).argmax() for a in range(k)]
    one_name = {"W_in": table["first"], "b": np.zeros(k), "W_out": table["attr"][common].T}
    both = fa.and_model(table)
    spec = FactProbes()
    for params, passes in ((both, True), (one_name, False)):
        t = fa.token_attribution(params, table)
        probes = {
            "token_parts": np.stack([t["first"], t["last"]])[None, None],
            "neuron_contribution": fa.margin_contributions(params, table)[None, None],
            "margin": t["margin"][None, None],
            "probe_steps": np.array([0]),
            "probe_accuracy": np.array([[fa.accuracy(params, table)]]),
            **{key: table[key][None] for key in ("fact_first", "fact_last", "fact_attr")},
        }
        (check,) = spec.summarize(probes)["checks"]
        assert check["passed"] == passes, check


@given(st.integers(0, 2**16))
def test_token_attribution_is_exact_integrated_gradients(seed):
    from superpose.analysis import facts as fa

    rng = np.random.default_rng(seed)
    table = facts.fact_table(rng, 30, 6, 5, 4)
    params = {"W_in": rng.normal(size=(7, 6)), "b": rng.normal(size=7), "W_out": rng.normal(size=(6, 7))}
    t = fa.token_attribution(params, table)
    scale = np.abs(t["margin"]).max() + np.abs(t["baseline"]).max()
    np.testing.assert_allclose(t["first"] + t["last"], t["margin"] - t["baseline"], atol=1e-9 * scale)
    # against a midpoint Riemann sum of the gradient along the path (fixed runner-up)
    x, f, g = fa.inputs(table)
    z = facts.logits(params, table)
    y = table["fact_attr"]
    z[y, np.arange(y.size)] = -np.inf
    direction = (table["attr"][y] - table["attr"][z.argmax(axis=0)]).T  # [d, N]
    readout = params["W_out"].T @ direction  # [m, N]
    steps = (np.arange(4000) + 0.5) / 4000
    active = np.mean([(s * (params["W_in"] @ x) + params["b"][:, None]) > 0 for s in steps], axis=0)
    grad = params["W_in"].T @ (active * readout)  # [d, N]
    np.testing.assert_allclose(t["first"], (grad * f).sum(axis=0), atol=2e-3 * scale)
    np.testing.assert_allclose(t["last"], (grad * g).sum(axis=0), atol=2e-3 * scale)


def test_lineage_show_says_which_names_and_neurons_each_fact_relies_on(quick, tmp_path):
    pytest.importorskip("ml_metadata")
    import shutil

    from superpose.lab import mlmd

    _, summary_path, _ = quick
    copy = tmp_path / "runs" / "facts" / summary_path.parent.name
    shutil.copytree(summary_path.parent, copy)
    db = tmp_path / "lineage.sqlite"
    mlmd.export_runs([store.Run(copy)], db)
    shutil.rmtree(copy)  # from the store alone
    text = mlmd.format_show(mlmd.show(copy.name, db))
    assert "fact importance (check passed)" in text and "fact 0 (first" in text
    assert "facts stored (top-1 on the keys)" in text and "neuron -> the fact key" in text


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
    np.testing.assert_allclose(facts.and_scores(additive, table), 0.0, atol=1e-12)


@given(st.floats(0.01, 5.0), st.integers(0, 2**16))
def test_an_additive_neuron_scores_zero_whatever_its_bias(bias, seed):
    """A neuron in its linear range, h = w.(e_first + e_last) + b with b > 0, is additive: the interaction
    h(full) - h(first) - h(last) + h(0) is 0 (without the h(0) = ReLU(b) term it read -b / h(full))."""
    rng = np.random.default_rng(seed)
    table = facts.fact_table(rng, 40, 6, 5, 4)
    W_in = rng.normal(scale=0.1, size=(7, 6))
    # every pre-activation positive on the full name, either name alone and the empty input
    b = np.full(7, bias + 3.0 * np.abs(W_in).sum(axis=1).max())
    params = {"W_in": W_in, "b": b, "W_out": np.eye(6, 7)}
    # atol: x = e_first + e_last is summed in float32
    np.testing.assert_allclose(facts.and_scores(params, table), 0.0, atol=1e-6)
    # the audit's case: orthonormal tokens, weights e_first + e_last, bias 0.5: (2.5 - 1.5 - 1.5 + 0.5) / 2.5
    ortho = facts.orthonormal_table(16, 4, 4)
    positive = {**facts.and_model(ortho), "b": np.full(16, 0.5)}
    np.testing.assert_allclose(facts.and_scores(positive, ortho)[np.eye(16, dtype=bool)], 0.0, atol=1e-12)


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


@given(st.floats(0.75, 1.35), st.floats(0.3, 30.0))
def test_the_capacity_search_finds_a_steep_threshold_to_a_percent(where, slope):
    """Accuracy 1 up to N*, then a drop to 0.99 and a fall of `slope` per unit of log N: a 7-point grid 13%
    apart reads it up to 13% low. The search (3 points from end to end, then rounds of 3 inside each seed's
    bracket, on nested sizes) finds N* within the gap of two nested sizes, about 1%."""
    n_star = where * 300
    candidates = facts.nested_sizes(450, 4)
    candidates = candidates[candidates >= 210]
    calls = []

    def evaluate(round_, requests):
        calls.append((round_, len(requests)))
        return [1.0 if n <= n_star else 0.99 - slope * np.log(n / n_star) for _, n in requests]

    tried = facts.search_capacity(evaluate, candidates, 2, 0.99, points=3, rounds=4)
    assert calls[0] == (0, 6) and all(k <= 6 for _, k in calls) and len(calls) <= 5
    for per_seed in tried:
        n = np.array(sorted(per_seed))
        assert set(n) <= set(candidates.tolist())
        cap, status = facts.capacity(n, np.array([per_seed[k] for k in n]))
        assert status == "ok" and abs(cap / n_star - 1) <= 3 / 210


def test_the_capacity_search_stops_at_the_ends_of_its_range():
    candidates = facts.nested_sizes(200, 4)[10:]
    for value, status in ((1.0, "above"), (0.5, "below")):
        tried = facts.search_capacity(lambda r, req, v=value: [v] * len(req), candidates, 1, 0.99, 3, 3)
        n = np.array(sorted(tried[0]))
        assert n.tolist() == [candidates[0], n[1], candidates[-1]]  # nothing to refine: no further round
        assert facts.capacity(n, np.array([tried[0][k] for k in n]))[1] == status


def test_capacity_flags_a_search_range_that_misses():
    grid = np.array([10.0, 20.0, 40.0])
    assert facts.capacity(grid, np.array([1.0, 1.0, 1.0])) == (40.0, "above")
    assert facts.capacity(grid, np.array([0.5, 0.2, 0.1])) == (10.0, "below")


def test_published_facts_inverts_the_published_fits():
    for setting in ("and32", "andN", "linear"):
        x = np.array([100.0, 1000.0, 5000.0])
        n = facts.published_facts(setting, x)
        fit = facts.PUBLISHED[setting]
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
