"""superpose.runtime: entry points ask for one CPU device per core, never overriding the user."""

from superpose.lab import runtime


def test_adds_one_device_per_core():
    env = {"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}
    changed = runtime.use_every_cpu_core(env)
    if runtime.cpu_core_count() > 1:
        assert changed
        assert env["XLA_FLAGS"].endswith(f"{runtime.FLAG}={runtime.cpu_core_count()}")
        assert env["XLA_FLAGS"].startswith("--xla_cpu_enable_fast_math=false ")
    else:
        assert not changed


def test_respects_a_users_device_count():
    env = {"XLA_FLAGS": f"{runtime.FLAG}=8"}
    assert not runtime.use_every_cpu_core(env)
    assert env["XLA_FLAGS"] == f"{runtime.FLAG}=8"


def test_explicit_count_and_opt_out():
    env = {"SUPERPOSE_CPU_DEVICES": "3"}
    assert runtime.use_every_cpu_core(env)
    assert env["XLA_FLAGS"] == f"{runtime.FLAG}=3"
    env = {"SUPERPOSE_CPU_DEVICES": "0"}
    assert not runtime.use_every_cpu_core(env)
    assert "XLA_FLAGS" not in env
