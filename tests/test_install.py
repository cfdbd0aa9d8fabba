"""A user's path: `pip install .` (not editable) into a fresh virtual environment, then the `superpose` command
from a directory outside the checkout finds the paper's experiments and runs one.

The wheel is built from this checkout without network access (--no-build-isolation, --no-deps). The venv
sees the dependencies (jax, flax, ...) of the interpreter running the tests through a path entry, which does
not run that site's .pth hooks, so the editable install of the checkout stays invisible in the venv: the
superpose it imports is the installed wheel (asserted below).
"""

import json
import os
import site as site_module
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, env=None, timeout=600):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, (
        f"{cmd} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    )
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, venv bin dir, a working directory outside the checkout) with superpose installed."""
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        cwd=tmp,
    )
    (wheel,) = wheels.glob("superpose-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    python = bin_dir / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp
        ).stdout.strip()
    )
    # The test interpreter's packages, as plain path entries (no .pth hooks: the editable finder stays out).
    # Every site directory the test interpreter sees (a venv made with --system-site-packages keeps its
    # dependencies in the base interpreter's).
    dirs = dict.fromkeys([sysconfig.get_paths()["purelib"], *site_module.getsitepackages()])
    (site / "test_deps.pth").write_text("".join(f"{d}\n" for d in dirs))
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], cwd=tmp)
    work = tmp / "elsewhere"
    work.mkdir()
    return python, bin_dir, work


def _env(bin_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_installed_package_is_the_wheel(installed):
    python, bin_dir, work = installed
    where = _run(
        [
            str(python),
            "-c",
            "import superpose, superpose.experiments as e; print(superpose.__file__); print(e.__file__)",
        ],
        cwd=work,
        env=_env(bin_dir),
    )
    for line in where.stdout.split():
        assert str(ROOT) not in line and "site-packages" in line, where.stdout


def test_superpose_lists_and_runs_an_experiment_from_elsewhere(installed):
    python, bin_dir, work = installed
    env = _env(bin_dir)
    listed = _run([str(bin_dir / "superpose"), "experiments"], cwd=work, env=env).stdout
    assert "intro" in listed and "phase_n2m1" in listed, listed
    run = _run(
        [str(bin_dir / "superpose"), "run", "intro", "--quick", "--quiet", "--set", "n_steps=2000"],
        cwd=work,
        env=env,
    )
    assert "[PASS]" in run.stdout, run.stdout
    (summary,) = (work / "runs" / "intro").glob("*/summary.json")  # runs/ under the working directory
    assert all(check["passed"] for check in json.loads(summary.read_text())["checks"])
    assert (summary.parent / "intro.png").is_file()
    replot = _run(
        [str(bin_dir / "superpose"), "plot", "latest", "--out", str(work / "figs")], cwd=work, env=env
    )
    assert (work / "figs" / "intro.png").is_file(), replot.stdout
