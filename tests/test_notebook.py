"""Notebooks work: the library leaves matplotlib's process-wide state alone, and examples/tour.ipynb runs.

Both run outside this process: the backend check in a fresh interpreter (this one has imported matplotlib
long ago), the notebook in a Jupyter kernel started from this interpreter, in a temp working directory so
nothing lands in the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "tour.ipynb"
INLINE = "module://matplotlib_inline.backend_inline"


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the test-only JAX/XLA settings of conftest.py (a notebook or a
    user's interpreter has none) and without MPLBACKEND, with this checkout first on the import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_")) and k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env | extra


def test_importing_plots_keeps_the_users_backend_and_rcparams():
    code = textwrap.dedent(
        """
        import json
        import matplotlib

        backend = matplotlib.get_backend()
        rc = {k: repr(v) for k, v in matplotlib.rcParams.items() if k != "backend"}
        import superpose.plots, superpose.plots.basic, superpose.plots.geometry
        import superpose.plots.phase, superpose.plots.uniform
        changed = sorted(k for k, v in matplotlib.rcParams.items() if k != "backend" and repr(v) != rc[k])
        print(json.dumps({"before": backend, "after": matplotlib.get_backend(), "changed": changed}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=_clean_env(MPLBACKEND=INLINE),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == INLINE, seen  # the check is only meaningful if the user's choice took effect
    assert seen["after"] == seen["before"], f"importing superpose.plots changed the backend: {seen}"
    assert seen["changed"] == [], f"importing superpose.plots changed rcParams: {seen['changed']}"


def test_tour_notebook_runs(tmp_path, monkeypatch):
    import nbclient  # the test extra: a missing one fails here rather than skipping the notebook silently
    import nbformat
    from ipykernel import kernelspec

    # A "python3" kernelspec for this very interpreter, first on JUPYTER_PATH: ipykernel's native spec is
    # found without it, but a user-level python3 spec for another interpreter would win over that one.
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    kernelspec.write_kernel_spec(spec_dir)
    argv = json.loads((spec_dir / "kernel.json").read_text())["argv"]
    assert argv[0] == sys.executable, argv
    jupyter_path = [str(tmp_path / "jupyter"), *filter(None, [os.environ.get("JUPYTER_PATH")])]
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(jupyter_path))
    workdir = tmp_path / "work"
    workdir.mkdir()

    nb = nbformat.read(TOUR, as_version=4)
    assert all(c.get("outputs", []) == [] for c in nb.cells), "commit examples/tour.ipynb without outputs"
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    start = time.perf_counter()
    client.execute(
        env=_clean_env()
    )  # raises CellExecutionError, with the cell and traceback, if a cell fails
    print(f"examples/tour.ipynb ran in {time.perf_counter() - start:.1f} s")
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 2, "the figures did not show inline"
