"""Process-wide test settings. This file runs before any test module imports jax.

- The CPU backend on every machine, a GPU one included: the forced host devices below are CPU devices, and
  on a GPU machine jax.devices() would list the GPU instead. The bitwise equalities the suite checks
  (chunked == one-shot, resumed == uninterrupted) are properties of one backend; tests/test_accelerator.py
  checks an accelerator, where there is one, in a subprocess of its own.
- 4 host CPU devices, so every Sweep (which shards over all devices by default) exercises sharding and
  padding of the instance axis. The flag must be set before the backend starts, hence first thing here.
- Strict rank promotion: silent broadcasting (importance [n] against a batch) raises instead.
- Key-reuse checking: using a jax.random key twice raises. The library works under it (the hash RNG reads a
  key's bits with key_data, which the checker does not count as a use, so reuse there goes unseen).
- JAX's persistent compilation cache, as the entry points use it (superpose.lab.runtime): per user, moved
  or turned off by SUPERPOSE_COMPILATION_CACHE. Compile counting in tests reads the in-memory jit caches,
  which a persistent-cache hit fills just the same, so the counts stay truthful.
- Hypothesis: no deadline (compile time would trip it) and few examples, since each example is cheap but
  the suite must stay fast; CI=true selects a slightly larger "ci" profile.
"""

import os

os.environ["JAX_PLATFORMS"] = "cpu"
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""), "--xla_force_host_platform_device_count=4"]
).strip()

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from superpose.lab import runtime  # noqa: E402

runtime.use_compilation_cache()

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_debug_key_reuse", True)

assert jax.default_backend() == "cpu" and jax.device_count() == 4, (
    f"expected 4 forced host CPU devices, got {jax.devices()}: was jax imported before conftest.py?"
)

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", max_examples=10, **_common)
settings.register_profile("ci", max_examples=25, derandomize=True, **_common)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


# Every figure an experiment saves through superpose.plots (the quick runs in tests/test_exp_*.py) is checked
# as a reader would look at it (tests/figure_checks.py: labelled scales, no text outside the canvas, legends
# that name what is drawn); a test whose figures have problems fails at teardown, naming them.
import figure_checks  # noqa: E402
import pytest  # noqa: E402

figure_checks.install()


@pytest.fixture(autouse=True)
def _figures_pass_checks():
    figure_checks.PROBLEMS.clear()
    yield
    problems, figure_checks.PROBLEMS[:] = list(figure_checks.PROBLEMS), []
    assert not problems, "figure problems:\n  " + "\n  ".join(problems)


def pytest_terminal_summary(terminalreporter):
    if figure_checks.CHECKED:
        names = sorted(set(figure_checks.CHECKED))
        listed = ", ".join(names)
        terminalreporter.write_line(f"figure checks: {len(names)} distinct figures checked ({listed})")
