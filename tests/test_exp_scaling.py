"""experiments/scaling.py (issue 21, Liu, Liu & Gore 2025): its --quick mode end to end with every check
asserted, the measurements on hand-built weights, and wrong models that its key checks must reject."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.analysis import scaling as measure
from superpose.config import ConfigError
from superpose.lab import main, registry

scaling = registry.load_experiment_module("scaling")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    code = main(scaling.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(runs)])
    (run,) = runs.glob("scaling/*")
    summary = json.loads((run / "summary.json").read_text())
    arrays = dict(np.load(run / "results.npz"))
    return code, summary, arrays, run


def test_quick_checks_pass(quick):
    code, summary, _, run = quick
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    # all but the two strong exponent checks: quick mode reports them unchecked
    assert len(summary["checks"]) == 3
    assert {float(a) for a in summary["strong_exponents"]} == {0.0, 1.0}
    assert (run / "scaling_loss.png").exists() and (run / "scaling_phase.png").exists()


def _check(summary, start):
    (c,) = [c for c in summary["checks"] if c["name"].startswith(start)]
    return c["passed"]


ONE_OVER_M = "strong superposition (wd -1): loss ~ m^-1"
STEEP = "strong superposition (wd -1): loss steeper than 1/m"


def test_another_regimes_weights_fail_the_key_checks(quick):
    """Relabel the weak models as strong and back (each regime's losses and weights under the other's decay):
    the 1/m exponent, the overlap law and the regime separation must all fail."""
    _, _, arrays, _ = quick
    cfg = scaling.EXPERIMENT.make_config(True, ["check_strong_exponent=True"])
    wrong = dict(arrays)
    wrong["weight_decay"] = -np.asarray(arrays["weight_decay"])
    summary = scaling.analyze(cfg, wrong)
    assert not _check(summary, ONE_OVER_M)
    assert not _check(summary, "strong superposition (wd -1): mean squared")
    assert not _check(summary, "the represented fraction")


def test_shuffled_losses_fail_the_exponent_checks(quick):
    """The same models with their losses reversed over widths (the widest model given the narrowest's loss):
    no loss-exponent check may pass."""
    _, _, arrays, _ = quick
    cfg = scaling.EXPERIMENT.make_config(True, ["check_strong_exponent=True"])
    wrong = dict(arrays)
    loss = np.asarray(arrays["final_loss"]).copy()
    for a in np.unique(arrays["alpha"]):
        for d in np.unique(arrays["weight_decay"]):
            at = np.flatnonzero((arrays["alpha"] == a) & (arrays["weight_decay"] == d))
            at_sorted = at[np.argsort(arrays["n_hidden"][at])]
            loss[at_sorted] = loss[at_sorted[::-1]]
    wrong["final_loss"] = loss
    summary = scaling.analyze(cfg, wrong)
    assert not _check(summary, ONE_OVER_M)
    assert not _check(summary, STEEP)
    assert not _check(summary, "weak superposition")


def test_one_over_m_for_every_alpha_fails_the_steep_check(quick):
    """The misreading the issue began with: strong losses exactly c/m whatever alpha. The 1/m check passes
    and the check that alpha = 1 is steeper than 1/m (their Fig. 6e: ~m^-2) fails."""
    _, _, arrays, _ = quick
    cfg = scaling.EXPERIMENT.make_config(True, ["check_strong_exponent=True"])
    wrong = dict(arrays)
    loss = np.asarray(arrays["final_loss"], np.float64).copy()
    strong = np.asarray(arrays["weight_decay"]) < 0
    loss[strong] = 1e-2 / np.asarray(arrays["n_hidden"])[strong]
    wrong["final_loss"] = loss
    summary = scaling.analyze(cfg, wrong)
    assert _check(summary, ONE_OVER_M)
    assert not _check(summary, STEEP)


# --- measurements on hand-built weights -----------------------------------------------------------------


@given(m=st.integers(8, 40), seed=st.integers(0, 2**16))
def test_random_unit_vectors_overlap_as_one_over_m(m, seed):
    W = np.random.default_rng(seed).normal(size=(m, 600))
    overlap = measure.mean_squared_overlap(W)
    assert abs(overlap * m - 1) < 0.15  # E[cos^2] = 1/m for random directions


def test_orthogonal_and_dropped_features():
    W = np.zeros((4, 10))
    W[np.arange(4), np.arange(4)] = 1.0  # four dedicated features, six dropped
    assert measure.mean_squared_overlap(W) == 0.0
    assert measure.represented_fraction(W) == pytest.approx(0.4)
    assert np.isnan(measure.mean_squared_overlap(W[:, 3:]))  # one represented feature: no pair


@given(exponent=st.floats(0.1, 2.0), c=st.floats(0.01, 10.0))
def test_fit_recovers_an_exact_power_law(exponent, c):
    m = np.array([8, 11, 16, 23, 32])
    fit = measure.fit_power_law(m, c * m**-exponent)
    assert fit["exponent"] == pytest.approx(exponent, abs=1e-6) and fit["stderr"] < 1e-6


def test_dropped_tail_tends_to_alpha():
    from superpose.data import power_law_frequencies

    m = np.array([10, 20, 40])
    p = power_law_frequencies(100_000, 0.5)
    fit = measure.fit_power_law(m, [measure.dropped_feature_loss(p, k) for k in m])
    assert fit["exponent"] == pytest.approx(0.5, abs=0.02)


def test_bad_config_is_one_line():
    with pytest.raises(ConfigError, match="at least 3"):
        scaling.EXPERIMENT.make_config(False, ["widths=(8,16)"])
    with pytest.raises(ConfigError, match="below n_features"):
        scaling.EXPERIMENT.make_config(False, ["n_features=20", "widths=(8,16,32)"])
    with pytest.raises(ConfigError, match="separation_decay"):
        scaling.EXPERIMENT.make_config(False, ["separation_decay=0.5"])
    with pytest.raises(ConfigError, match="among alphas"):
        scaling.EXPERIMENT.make_config(False, ["steep_alpha=0.75"])


def test_published_setting_is_one_line_of_overrides():
    cfg = scaling.EXPERIMENT.make_config(False, [f"{k}={v}" for k, v in scaling.PUBLISHED.items()])
    assert (cfg.n_features, cfg.n_steps, cfg.batch_size, len(cfg.widths)) == (1000, 20_000, 2048, 6)
    assert len(cfg.alphas) * len(cfg.weight_decays) == 90
