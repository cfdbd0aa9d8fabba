"""On a machine with an accelerator (GPU or TPU): the library trains there, unchanged, and agrees with the CPU.

The rest of the suite runs on CPU devices (conftest.py). These tests start their own Python processes with the
machine's default backend; on a CPU-only machine they skip after one short probe.
"""

import functools
import json
import os
import subprocess
import sys

import pytest


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_PLATFORMS", "XLA_FLAGS")}
    env["SUPERPOSE_CPU_DEVICES"] = "0"
    return env


@functools.lru_cache(maxsize=1)
def _default_backend() -> str:
    probe = "import jax; print(jax.default_backend())"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=_env(), capture_output=True, text=True, timeout=300
    )
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "cpu"


FIT = """
import json, sys
import jax, numpy as np
import superpose
with jax.default_device(jax.devices(sys.argv[1])[0]):
    devices = jax.devices(sys.argv[1])
    grid = superpose.Grid(density=[1.0, 0.3, 0.05], seed=[0, 1])
    c = grid.coords
    hyper = superpose.make_hyper(grid.size, 5, feature_prob=superpose.per_instance(c["density"]),
                                 importance=superpose.per_feature(0.9 ** np.arange(5)))
    cfg = superpose.TrainConfig(5, 2, n_steps=2000, batch_size=1024)
    r = superpose.Sweep(superpose.ReluOutput(), superpose.Independent(), cfg, hyper, c["seed"], devices=devices).run()
print(json.dumps({"backend": devices[0].platform, "final_loss": r.final_loss.tolist(), "loss": r.loss[:, -1].tolist()}))
"""


def _fit_on(platform: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", FIT, platform], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif("not _default_backend() or _default_backend() == 'cpu'")
def test_a_sweep_on_the_accelerator_agrees_with_the_cpu():
    """The same grid on the accelerator and on the CPU: every instance's loss agrees to a few percent (the
    batches are the same bits; matmul precision and reduction order differ)."""
    import numpy as np

    accel, cpu = _fit_on(_default_backend()), _fit_on("cpu")
    assert accel["backend"] != "cpu"
    np.testing.assert_allclose(accel["final_loss"], cpu["final_loss"], rtol=0.05)
    np.testing.assert_allclose(accel["loss"], cpu["loss"], rtol=0.05)
