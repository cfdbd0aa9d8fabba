"""E6 (experiments/nonuniform.py): geometry classification, the dropped-feature loss, warm starts, and the
--quick run end to end with its checks (quick tolerances: crossing 1.5x-6x sparser, as few fits and steps
make it coarser than the full run's)."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from superpose.lab.registry import load_experiment_module
from superpose.warm import WarmStartSweep, digons, losses_on_sample, rotated_polygon

ROOT = Path(__file__).resolve().parent.parent


nu = load_experiment_module("nonuniform")


def _rot(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


@given(theta=st.floats(0, 2 * np.pi), scale=st.floats(0.8, 1.5))
def test_classify_rotated_geometries(theta, scale):
    rng = np.random.default_rng(0)
    pent = scale * _rot(theta) @ nu.START_W[nu.PENTAGON](5, rng)
    dig = scale * _rot(theta) @ nu.START_W[nu.DIGONS](5, rng)
    assert nu.classify(pent) == nu.PENTAGON
    assert nu.classify(dig) == nu.DIGONS
    squashed = pent.copy()
    squashed[:, 1] = squashed[:, 0]  # two features on top of each other: neither geometry
    assert nu.classify(squashed) == nu.OTHER


@given(p=st.floats(0.05, 0.5))
def test_dropped_feature_loss_is_its_variance(p):
    # W = 0, b = E[x] = p/2 on one feature: the loss is Var(x) = p/3 - p^2/4.
    (loss,) = losses_on_sample(
        nu.MODEL, np.zeros((1, 2, 1)), np.array([[p / 2]]), np.array([p], np.float32), 1 << 18, 1
    )
    assert loss == pytest.approx(p / 3 - p**2 / 4, rel=0.05)


def test_warm_starts_survive_device_placement():
    """`--devices K` and resume re-place a sweep with Sweep.on: the copy keeps its class and its W0."""
    import jax

    from superpose.config import TrainConfig, make_hyper
    from superpose.data import Independent
    from superpose.models import ReluOutput

    N = 3
    W0 = np.stack([rotated_polygon(5, np.random.default_rng(i)) for i in range(N)])
    cfg = TrainConfig(5, 2, batch_size=8, n_steps=10)
    sweep = WarmStartSweep(
        ReluOutput(), Independent(), cfg, make_hyper(N, 5, feature_prob=0.05), np.arange(N), W0=W0
    )
    for devices in (jax.devices()[:1], jax.devices()[:3], jax.devices()):
        placed = sweep.on(devices)
        assert type(placed) is WarmStartSweep and placed.devices == list(devices)
        np.testing.assert_allclose(np.asarray(placed.init().params["W"])[:N], W0)


def test_loss_crossing_interpolates():
    ratio = np.array([0.25, 0.5, 1.0, 2.0])
    pent = np.ones(4)
    dig = np.array([0.9, 1.1, 1.3, np.nan])  # crosses halfway between 0.25 and 0.5 in log ratio
    assert nu.loss_crossing(ratio, pent, dig) == pytest.approx(np.sqrt(0.125), rel=1e-6)
    assert np.isnan(nu.loss_crossing(ratio, pent, dig + 1))


def test_warm_start_replaces_W_only_where_given():
    from superpose.config import TrainConfig, make_hyper
    from superpose.data import Independent
    from superpose.models import ReluOutput

    N = 3  # with 4 test devices the instance axis is padded
    W0 = np.full((N, 2, 5), np.nan, np.float32)
    W0[1] = rotated_polygon(5, np.random.default_rng(0))
    cfg = TrainConfig(5, 2, batch_size=8, n_steps=10)
    sweep = WarmStartSweep(
        ReluOutput(), Independent(), cfg, make_hyper(N, 5, feature_prob=0.05), np.arange(N), W0=W0
    )
    W = np.asarray(sweep.init().params["W"])[:N]
    np.testing.assert_allclose(W[1], W0[1])
    assert not np.allclose(W[0], W0[1]) and np.all(np.isfinite(W))


def test_quick_run_checks(tmp_path):
    from superpose.lab import main

    code = main(nu.EXPERIMENT, ["--quick", "--runs-dir", str(tmp_path), "--quiet"])
    (summary_path,) = tmp_path.glob("nonuniform/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    names = [c["name"] for c in summary["checks"]]
    for prefix in (
        "loss curves of pentagon and two digons cross",
        "best fit snaps from pentagon to two digons",
        "denser feature 0 repels the others",
        "norm against bias",
    ):
        assert sum(name.startswith(prefix) for name in names) == 1, (prefix, names)
    assert 1.5 <= 1 / summary["loss_crossing_ratio"] <= 6.0
    assert np.isfinite(summary["snap_ratio"]) and summary["snap_ratio"] < 1
    assert summary["norm_vs_bias"]["squared_form_corr"] > 0.7
    assert (summary_path.parent / "nonuniform.png").exists()
    # A wrong model: the same fits credited to the mirrored densities (feature 0 denser where it was sparser).
    from superpose.lab import store

    arrays = dict(store.read_npz(summary_path.parent / "results.npz"))
    arrays["ratio"], arrays["dropped_loss"] = 1 / arrays["ratio"], arrays["dropped_loss"][::-1]
    wrong = {c["name"][:30]: c["passed"] for c in nu.analyze(nu.Config(), arrays)["checks"]}
    assert list(wrong.values())[:3] == [False, False, False], wrong  # crossing, snap and repulsion fail
    zeroed = dict(arrays, W=np.zeros_like(arrays["W"]))  # and zeroed weights fail every check (no crash)
    assert not any(c["passed"] for c in nu.analyze(nu.Config(), zeroed)["checks"])


@pytest.mark.parametrize("n_devices", [1, 3])
def test_warm_starts_survive_devices_option_and_resume(tmp_path, n_devices):
    """What `superpose run nonuniform --devices K` and `superpose resume` do: the run's Context places the
    script's WarmStartSweep on K devices. At a learning rate of 1e-9 the trained W must still be W0."""
    import jax

    from superpose.config import TrainConfig, make_hyper
    from superpose.data import Independent
    from superpose.lab import store
    from superpose.lab.experiment import Context
    from superpose.models import ReluOutput

    N = 3
    W0 = np.stack([digons(5, np.random.default_rng(i)) for i in range(N)])
    cfg = TrainConfig(5, 2, batch_size=8, n_steps=20, chunk_steps=10)
    hyper = make_hyper(N, 5, feature_prob=0.05, lr=1e-9)
    sweep = WarmStartSweep(ReluOutput(), Independent(), cfg, hyper, np.arange(N), W0=W0)
    run = store.Run.create("nonuniform", tmp_path)

    class StopAfterFirstChunk:
        def start(self, *args):
            pass

        def update(self, name, done, *args):
            if done == 1:
                raise KeyboardInterrupt

        def close(self):
            pass

    with pytest.raises(KeyboardInterrupt):  # killed after the first chunk's checkpoint
        Context(run, StopAfterFirstChunk(), devices=jax.devices()[:n_devices]).sweep("main", sweep)
    assert run.checkpoint_path("main").exists()
    resumed = Context(run, None, devices=jax.devices()[:n_devices]).sweep("main", sweep)
    np.testing.assert_allclose(resumed.params["W"], W0, atol=1e-5)
    fresh = store.Run.create("nonuniform", tmp_path)
    direct = Context(fresh, None, devices=jax.devices()[:n_devices]).sweep("main", sweep)
    np.testing.assert_allclose(direct.params["W"], W0, atol=1e-5)
