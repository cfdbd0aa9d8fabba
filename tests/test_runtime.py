"""superpose.runtime: entry points ask for one CPU device per core and turn on JAX's persistent compilation
cache, never overriding the user."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


# --- the persistent compilation cache -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "off", "OFF", "", " "])
def test_cache_can_be_turned_off(value):
    env = {runtime.CACHE_ENV: value, "HOME": "/nonexistent"}
    assert runtime.compilation_cache_dir(env) is None
    assert runtime.use_compilation_cache(env) is None
    assert env == {runtime.CACHE_ENV: value, "HOME": "/nonexistent"}  # nothing set, nothing created


def test_cache_defaults_to_xdg_then_home(tmp_path):
    assert runtime.compilation_cache_dir({"XDG_CACHE_HOME": "/x/cache", "HOME": "/h"}) == Path(
        "/x/cache/superpose/jax"
    )
    assert runtime.compilation_cache_dir({"HOME": "/h"}) == Path("/h/.cache/superpose/jax")
    # The XDG spec ignores a relative XDG_CACHE_HOME.
    assert runtime.compilation_cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.cache/superpose/jax"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert runtime.use_compilation_cache(env) == tmp_path / "superpose" / "jax"
    assert (tmp_path / "superpose" / "jax").is_dir()
    assert env == {
        "XDG_CACHE_HOME": str(tmp_path),
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "superpose" / "jax"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
    }


def test_cache_moved_by_env_and_users_jax_settings_kept(tmp_path):
    env = {runtime.CACHE_ENV: str(tmp_path / "c"), "XDG_CACHE_HOME": "/x", "JAX_COMPILATION_CACHE_DIR": "/j"}
    assert runtime.use_compilation_cache(env) == tmp_path / "c"
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "c")
    # Without SUPERPOSE_COMPILATION_CACHE, a user's own JAX cache directory and thresholds win.
    env = {
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "j"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "2",
    }
    assert runtime.use_compilation_cache(env) == tmp_path / "j"
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "2"
    assert env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] == "-1"


def test_unusable_cache_dir_means_no_cache(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    env = {runtime.CACHE_ENV: str(tmp_path / "file" / "cache")}
    assert runtime.use_compilation_cache(env) is None
    assert env == {runtime.CACHE_ENV: str(tmp_path / "file" / "cache")}
    err = capsys.readouterr().err
    assert err.startswith("warning: no compilation cache:") and err.count("\n") == 1, err


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_", "SUPERPOSE_"))}
    return env | {"MPLBACKEND": "Agg", **extra}


# Run in a child so this process's jax config stays as conftest.py set it. `early` imports jax first, as
# experiments/NAME.py scripts do (they import the library before main() runs): then jax.config is updated.
PROBE = """
import json, sys
if sys.argv[1] == "early":
    import jax
from superpose.lab import runtime
runtime.use_every_cpu_core()
path = runtime.use_compilation_cache()
import jax
names = ["jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
         "jax_persistent_cache_min_entry_size_bytes"]
print(json.dumps({"path": str(path), "devices": jax.device_count(), **{n: jax.config.values[n] for n in names}}))
"""


@pytest.mark.parametrize("order", ["early", "late"])
def test_cache_reaches_jax_and_device_count_still_applies(tmp_path, order):
    env = _clean_env(SUPERPOSE_CPU_DEVICES="3", SUPERPOSE_COMPILATION_CACHE=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", PROBE, order], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "path": str(tmp_path),
        "devices": 3,
        "jax_compilation_cache_dir": str(tmp_path),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        "jax_persistent_cache_min_entry_size_bytes": -1,
    }


def _run_intro(tmp_path: Path, cache: Path, name: str) -> dict:
    runs = tmp_path / name
    cmd = [sys.executable, "-m", "superpose.lab.cli", "run", "intro", "--quick", "--quiet"]
    cmd += ["--set", "n_steps=500", "--set", "n_densities=2", "--set", "n_seeds=1", "--runs-dir", str(runs)]
    env = _clean_env(SUPERPOSE_COMPILATION_CACHE=str(cache))
    out = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode in (0, 1), out.stderr  # 1: a check failed, as it may at 500 steps
    (lineage,) = runs.glob("intro/*/lineage.json")
    (session,) = json.loads(lineage.read_text())["sessions"]
    assert session["outcome"] == "complete", session
    return session


def test_second_run_loads_its_executables_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    cold = _run_intro(tmp_path, cache, "cold")
    assert cold["compile_cache"]["dir"] == str(cache)
    assert cold["compile_cache"]["hits"] == 0 and cold["compile_cache"]["misses"] > 0
    assert cold["xla_compile_s"] > 0 and cold["compile_s"] >= cold["trace_s"] + cold["xla_compile_s"] - 0.01
    assert any(cache.iterdir())
    warm = _run_intro(tmp_path, cache, "warm")
    assert warm["compile_cache"]["hits"] > 0 and warm["compile_cache"]["misses"] == 0, warm
    assert warm["xla_compile_s"] == 0 and warm["compile_cache"]["retrieval_s"] > 0
    assert warm["compile_s"] >= warm["trace_s"] + warm["compile_cache"]["retrieval_s"] - 0.01


def test_compile_timer_splits_jax_events():
    """Driven with the events JAX fires (jax 0.10): per backend step, a cache request, maybe a hit and its
    retrieval time, then the backend duration, which on a hit covers the cache read."""
    from superpose.lab import lineage

    timer = lineage.CompileTimer()
    timer.cache_dir = "/some/dir"
    timer._on_duration("/jax/core/compile/jaxpr_trace_duration", 0.25)
    timer._on_duration("/jax/core/compile/jaxpr_to_mlir_module_duration", 0.25)
    timer._on_event("/jax/compilation_cache/compile_requests_use_cache")  # a miss: compiled
    timer._on_duration("/jax/core/compile/backend_compile_duration", 2.0)
    timer._on_event("/jax/compilation_cache/compile_requests_use_cache")  # a hit: loaded
    timer._on_event("/jax/compilation_cache/cache_hits")
    timer._on_duration("/jax/compilation_cache/compile_time_saved_sec", 1.5)
    timer._on_duration("/jax/compilation_cache/cache_retrieval_time_sec", 0.125)
    timer._on_duration("/jax/core/compile/backend_compile_duration", 0.25)
    assert (timer.seconds, timer.trace_s, timer.xla_compile_s) == (2.75, 0.5, 2.0)
    assert timer.cache_report() == {"dir": "/some/dir", "hits": 1, "misses": 1, "retrieval_s": 0.125}
    timer.cache_dir = None  # JAX counts requests even with no cache directory: no misses then
    assert timer.cache_report() == {"dir": None, "hits": 1, "misses": 0, "retrieval_s": 0.125}
