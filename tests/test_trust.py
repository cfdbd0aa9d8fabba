"""Numbers you can trust: a diverged fit is never scored as good, best-of ranks on shared samples and reports
from fresh ones, values are never silently truncated, and the library's defaults train.

Each test here failed on the code before these guards existed (the docstrings say how).
"""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import superpose
from superpose import data, models, train
from superpose.config import ConfigError, TrainConfig, make_hyper, per_feature, per_instance
from superpose.study import Study
from superpose.sweep import Sweep, best_of, choose_devices, eval_batch_counts, pick_best, two_or_more

CFG = TrainConfig(5, 2, batch_size=64, n_steps=200)


# --- 1. divergence -------------------------------------------------------------------------------------


def test_a_fit_that_diverges_everywhere_is_an_error_not_a_good_loss():
    """Before: fit(lr=1e3) returned NaN weights with final_loss 0.032 (ReLU(NaN) became 0 in the compiled
    evaluation, scoring the broken model like "predict zero")."""
    with pytest.raises(ConfigError, match="every fit diverged"):
        superpose.fit(n_features=5, n_hidden=2, density=0.1, lr=1e3, n_steps=100, n_fits=2)


def test_a_diverged_instance_is_marked_and_reads_nan():
    """One instance at a learning rate that blows up, beside two that train: the mask names it, its losses
    (training log, ranking and reported) are NaN, and the others are untouched."""
    lrs = np.array([1e-3, 1e3, 1e-2], np.float32)
    hyper = make_hyper(3, 5, feature_prob=0.1, lr=per_instance(lrs))
    result = Sweep(models.ReluOutput(), data.Independent(), CFG, hyper, seeds=[0, 1, 2]).run()
    np.testing.assert_array_equal(result.diverged, [False, True, False])
    assert np.isnan(result.final_loss[1]) and np.isnan(result.select_loss[1])
    assert np.isnan(result.loss[1, -1])
    assert np.all(np.isfinite(result.final_loss[[0, 2]])) and np.all(np.isfinite(result.loss[[0, 2]]))


def test_the_training_log_and_evaluation_read_nan_for_nan_weights():
    """XLA may compute ReLU(NaN) = 0: a model with NaN weights must still log and evaluate as NaN."""
    task = train.Task(models.ReluOutput(), data.Independent(), CFG)
    hyper = make_hyper(1, 5, feature_prob=0.5).take(0)
    params = {"W": np.full((2, 5), np.nan, np.float32), "b": np.zeros(5, np.float32)}
    key = train.evaluation_key(0, train.REPORT)
    assert np.isnan(train.evaluate(task, hyper, key, params, 2, 2))
    state = train.init_state(task, hyper, train.instance_keys(0, 0))
    state = state._replace(params=params)
    _, log = train.train_chunk(task, hyper, train.instance_keys(0, 0), state, 0)
    assert np.all(np.isnan(log))


def test_best_of_never_picks_a_nan():
    """Before: np.argmin picked the NaN entry (loss [0.5, nan, 0.2] -> index 1)."""
    grid = superpose.Grid(seed=np.arange(3))
    best = best_of({"x": np.arange(3)}, np.array([0.5, np.nan, 0.2]), grid, axis="seed")
    assert int(best["best_index"]) == 2
    assert pick_best(np.array([[np.nan, np.inf]]), axis=1)[0] == -1
    with pytest.raises(ConfigError, match="every fit along 'seed' diverged"):
        best_of({"x": np.arange(3)}, np.full(3, np.nan), grid, axis="seed")


def test_study_best_skips_diverged_fits_and_marks_points_where_all_diverged():
    lrs = np.array([1e3, 1e-2])
    study = Study(
        "relu_output",
        axes={"lr": lrs, "seed": [0, 1]},
        config={"n_features": 5, "n_hidden": 2, "n_steps": 200, "batch_size": 64},
        fits="seed",
    )
    every = study.run()
    assert every.diverged[0].all() and not every.diverged[1].any()
    best = every.best()
    assert best.diverged[0] and np.isnan(best.final_loss[0])
    assert not best.diverged[1] and np.isfinite(best.final_loss[1])


@dataclasses.dataclass(frozen=True)
class NaNForSomeKeys(models.ReluOutput):
    """A model whose init is NaN for about half of all keys: fits that are diverged from the start."""

    def init(self, key, n_features, n_hidden):
        params = super().init(key, n_features, n_hidden)
        broken = jax.random.uniform(jax.random.fold_in(key, 7)) < 0.5
        return {**params, "W": jax.numpy.where(broken, jax.numpy.nan, params["W"])}


def test_fit_names_the_fits_that_diverged_and_keeps_a_finite_one():
    kwargs = dict(n_features=5, n_hidden=2, density=[1.0, 0.5], n_steps=100, batch_size=64, n_fits=4)
    every = Study(
        NaNForSomeKeys(),
        axes={"density": kwargs["density"], "seed": range(4)},
        config={k: kwargs[k] for k in ("n_features", "n_hidden", "n_steps", "batch_size")},
    ).run()
    broken = every.diverged
    assert broken.any() and not broken.all(axis=1).any(), "pick other seeds: the test needs a mix"
    first = np.argwhere(broken)[0]
    with pytest.warns(UserWarning, match=rf"{broken.sum()} of 8 fits diverged.*density 1 fit {first[1]}"):
        result = superpose.fit(model=NaNForSomeKeys(), **kwargs)
    np.testing.assert_array_equal(result.all_diverged, broken)
    assert np.all(np.isfinite(result.final_loss)) and not result.diverged.any()
    assert np.all(np.isfinite(result.W))


# --- 2. ranking on shared samples, reporting from fresh ones ------------------------------------------


def _identical_params_sweep(seeds, density=0.05):
    hyper = make_hyper(len(seeds), 5, feature_prob=density)
    sweep = Sweep(models.ReluOutput(), data.Independent(), CFG, hyper, seeds=seeds)
    state = sweep.init()
    same = jax.tree.map(lambda a: np.repeat(np.asarray(a)[:1], np.asarray(a).shape[0], axis=0), state.params)
    return sweep, sweep.put(state._replace(params=same)).params


def test_fits_of_one_grid_point_are_scored_on_the_same_samples():
    """Before: each fit's evaluation key came from its own seed, so identical weights scored differently and
    the minimum over fits favoured a lucky evaluation."""
    sweep, params = _identical_params_sweep(seeds=[0, 1, 2, 3])
    select = sweep.evaluate(params, train.SELECT)
    report = sweep.evaluate(params, train.REPORT)
    assert np.all(select == select[0]) and np.all(report == report[0])
    assert select[0] != report[0]  # two streams: the reported loss comes from samples that chose nothing


def test_an_instances_evaluation_does_not_depend_on_the_grid_around_it():
    """Adding a sparser grid point (which needs more evaluation batches) leaves every other loss unchanged."""
    cfg = CFG.replace(max_eval_batches=1000, eval_actives=10_000)
    small = make_hyper(1, 5, feature_prob=0.5)
    both = make_hyper(2, 5, feature_prob=per_instance([0.5, 0.01]))
    a = Sweep(models.ReluOutput(), data.Independent(), cfg, small, seeds=[7]).run()
    b = Sweep(models.ReluOutput(), data.Independent(), cfg, both, seeds=[7, 8]).run()
    assert b.eval_batches[1] > b.eval_batches[0] == a.eval_batches[0]
    assert a.final_loss[0] == b.final_loss[0] and a.select_loss[0] == b.select_loss[0]


@pytest.mark.parametrize("density", [1.0, 0.3, 0.1, 0.01, 1e-3])
def test_evaluation_sees_the_rarest_feature_and_its_interference_many_times(density):
    cfg = TrainConfig(5, 2, batch_size=128, n_steps=100_000)
    hyper = make_hyper(1, 5, feature_prob=density, importance=per_feature([1, 1, 1, 1, 0]))
    n = int(eval_batch_counts(hyper, cfg, data.Independent())[0])
    samples = n * cfg.batch_size
    # the four weighted features: each active `density` of the time, two or more of them together `pairs`
    pairs = 1 - (1 - density) ** 4 - 4 * density * (1 - density) ** 3
    events = min(samples * density, samples * pairs) if pairs > 0 else samples * density
    assert events >= cfg.eval_actives or n == cfg.eval_batch_cap
    assert cfg.eval_batches <= n <= cfg.eval_batch_cap
    # no more batches than the scarcer of the two events needs
    assert events < cfg.eval_actives + cfg.batch_size or n == cfg.eval_batches


@given(st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_two_or_more_matches_enumeration(ps):
    p = np.asarray(ps)
    total = 0.0
    for active in itertools.product([0, 1], repeat=p.size):
        a = np.asarray(active, bool)
        if a.sum() >= 2:
            total += np.prod(np.where(a, p, 1 - p))
    assert abs(two_or_more(p[None])[0] - total) < 1e-9


def test_study_best_reports_the_kept_fits_fresh_loss():
    study = Study(
        "relu_output",
        axes={"density": [0.3, 0.05], "seed": range(3)},
        config={"n_features": 5, "n_hidden": 2, "n_steps": 300, "batch_size": 64},
    )
    every = study.run()
    best = every.best()
    for i in range(2):
        k = best.kept["seed"][i]
        assert every.select_loss[i, k] == np.nanmin(every.select_loss[i])
        assert best.final_loss[i] == every.final_loss[i, k]


# --- 4. no silent truncation ---------------------------------------------------------------------------


def test_integer_extras_beyond_int32_are_refused_and_others_kept_exactly():
    """Before: JAX cast 2**40 + 5 to 5 without a word."""
    with pytest.raises(ConfigError, match="outside int32"):
        make_hyper(1, 3, extra={"k": np.array([2**40 + 5])})
    hyper = make_hyper(2, 3, extra={"k": np.array([2**31 - 1, -(2**31)], np.int64)})
    assert hyper.extra["k"].dtype == np.int32 and hyper.extra["k"].tolist() == [2**31 - 1, -(2**31)]
    with pytest.raises(ConfigError, match="beyond float32"):
        make_hyper(1, 3, extra={"f": np.array([1e300])})


def test_grid_coordinates_stay_exact_and_select_tolerantly():
    """Before: coordinates were float32, so `density == 0.1` on stored values dropped the point."""
    grid = superpose.Grid(density=[0.165, 0.2], seed=[0])
    assert grid.coords["density"].dtype == np.float64 and 0.165 in grid.coords["density"]
    study = Study(
        "relu_output", axes={"density": np.float32([0.1, 0.2])}, config={"n_features": 3, "n_hidden": 2}
    )
    assert study.axes["density"].dtype == np.float64


def test_fit_accepts_names_and_instances_and_refuses_anything_else():
    fast = dict(n_features=3, n_hidden=2, n_steps=100, batch_size=64)
    for model, sampler in [("relu_output", "independent"), (models.ReluOutput(), data.Independent())]:
        assert superpose.fit(model=model, sampler=sampler, **fast).W.shape == (2, 3)
    bad = [
        (dict(model=models.ReluOutput), "not the class"),
        (dict(model=None), "model must be a name"),
        (dict(model="relu"), "unknown model 'relu'"),
        (dict(sampler=data.Independent), "not the class"),
        (dict(sampler="uniform"), "unknown sampler 'uniform'"),
        (dict(model="abs_mlp", sampler="independent"), "signed inputs"),
        (dict(density=0), "density .* got 0"),
        (dict(density=-0.1), "got -0.1"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ConfigError, match=message):
            superpose.fit(**{**fast, **kwargs})


def test_abs_mlp_gets_signed_inputs_by_default():
    """Before: fit(model="abs_mlp") kept the non-negative sampler, so its target |x| was just x."""
    study = Study("abs_mlp", axes={"density": [0.5]}, config={"n_features": 4, "n_hidden": 8})
    x = np.asarray(study.sampler.sample(jax.random.key(0), np.full(4, 0.5, np.float32), 256))
    assert (x < 0).any() and (x > 0).any()


def test_fit_warns_when_there_is_nothing_to_compress():
    with pytest.warns(UserWarning, match="nothing to compress"):
        superpose.fit(n_features=5, n_hidden=10, n_steps=100, batch_size=64)


def test_warmup_as_long_as_training_is_refused():
    """Before: double_descent --set n_steps=500 (= its warm-up) ended in an optax traceback."""
    with pytest.raises(ConfigError, match="warmup_steps .* below n_steps"):
        TrainConfig(5, 2, n_steps=500, schedule="warmup_cosine", warmup_steps=500)


def test_star_import_does_not_need_hypothesis():
    """Before: `from superpose import *` imported superpose.testing, which needs the test extra's hypothesis."""
    code = "import sys; sys.modules['hypothesis'] = None\nfrom superpose import *\nprint(Study.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "Study", out.stderr


# --- 6. devices ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FakeDevice:
    id: int
    process_index: int


@pytest.mark.parametrize("n_instances", [1, 2, 3, 5, 8])
def test_choose_devices_spreads_instances_and_gives_every_process_a_block(n_instances):
    devices = [FakeDevice(i, i // 2) for i in range(4)]  # two processes with two devices each
    chosen = choose_devices(n_instances, devices)
    assert len(chosen) == (4 if n_instances >= 4 else max(n_instances, 2))
    assert {d.process_index for d in chosen} == {0, 1}
    assert len(set(chosen)) == len(chosen)


def test_one_large_instance_is_not_copied_onto_every_device():
    """Before: a sweep of one instance was padded to all 4 devices (4 times the work)."""
    hyper = make_hyper(1, 5)
    assert len(Sweep(models.ReluOutput(), data.Independent(), CFG, hyper, seeds=[0]).devices) == 1
    hyper = make_hyper(6, 5)
    assert len(Sweep(models.ReluOutput(), data.Independent(), CFG, hyper, seeds=range(6)).devices) == 4


# --- 7. the library's defaults train -------------------------------------------------------------------


def test_abs_mlp_learns_when_sparse_with_its_default_init():
    """Before: AbsMLP's init (W2 Xavier-normal, b = 0) left sparse models stuck (dead output ReLUs): with room
    for one neuron per sign of every feature (m = 2n) it ended at 0.37 of the zero-prediction loss, against
    0.036 from the live-output init (measured, n=20, m=40, density 0.02, 3,000 steps, best of 2). The
    zero-prediction loss of |x| with x ~ Uniform[-1, 1] at density p is p/3 per feature."""
    density = 0.02
    result = superpose.fit(
        n_features=20,
        n_hidden=40,
        density=density,
        model="abs_mlp",
        n_steps=3000,
        batch_size=512,
        lr=3e-3,
        n_fits=2,
    )
    assert result.final_loss < 0.15 * density / 3, result.final_loss


@pytest.mark.parametrize(
    "experiment, override, fragment",
    [
        ("sae", "dict_ratios=", "dict_ratios must hold at least one value"),
        ("double_descent", "set_sizes=", "set_sizes must hold at least one value"),
        ("intro", "n_hidden=", "n_hidden"),
    ],
)
def test_empty_values_are_refused_in_one_line_before_training(experiment, override, fragment):
    """Before: `sae --set dict_ratios=` and the like trained, then ended in ValueError or IndexError."""
    from superpose.lab.registry import load_experiment

    with pytest.raises(ConfigError, match=fragment) as e:
        load_experiment(experiment).make_config(quick=True, overrides=[override])
    assert "\n" not in str(e.value)


# --- 5. messages that tell the truth -------------------------------------------------------------------


def test_ctrl_c_in_a_long_chunk_stops_at_once_and_says_nothing_was_saved(tmp_path):
    """Before: Ctrl-C before the first checkpoint printed "the last checkpoint is saved" (there was none) and
    the process took 13 s to stop (a blocking transfer held the signal until the chunk ended, then exit waited
    for XLA). The chunk here takes well over 10 s; the process must stop within a few seconds of SIGINT."""
    import os
    import shutil
    import signal
    import time

    exe = shutil.which("superpose")
    assert exe, "the superpose command is not on PATH"
    env = {**os.environ, "SUPERPOSE_CPU_DEVICES": "1"}
    args = ["run", "intro", "--quick", "--set", "batch_size=131072", "--set", "n_steps=2000"]
    args += ["--set", "n_frames=0", "--runs-dir", str(tmp_path), "--quiet"]
    proc = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().startswith("run ")
    time.sleep(6)  # compile, then inside the first 1,000-step chunk
    assert proc.poll() is None, proc.communicate()
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    stopped = time.perf_counter() - sent
    assert proc.returncode == 130, stderr
    assert "nothing was saved" in stderr and "superpose resume" in stderr, stderr
    assert "Traceback" not in stderr
    assert stopped < 3.0, f"took {stopped:.1f} s to stop"
