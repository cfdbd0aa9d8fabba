"""E4 and E5 (experiments/uniform.py): the --quick mode end to end with its checks asserted, and the
plateau and geometry analysis on hand-built weights (so each check can fail).

Quick-scale tolerances (the script's QUICK): n=100, m=10, 10 densities from 1 to 0.1, 2,000 steps; the
plateau needs 1 density (not 2) with |D* - 1/2| <= 0.05 (not 0.03), and D_i count as on a fraction within
0.05 (not 0.03).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from superpose import testing
from superpose.lab import main

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("experiments.uniform", ROOT / "experiments" / "uniform.py")
uniform = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = uniform
spec.loader.exec_module(uniform)


def test_uniform_quick_checks_pass(tmp_path):
    code = main(uniform.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("uniform/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 2  # plateau and geometries, for the one quick case (n=100)
    plateau = summary["n100"]["plateau_half"]
    assert plateau["points"] >= 1 and all(abs(d - 0.5) <= 0.05 for d in plateau["d_star"])
    assert {p.name for p in summary_path.parent.glob("*.png")} == {"uniform.png", "dimensionality.png"}


@given(st.lists(st.booleans(), max_size=30))
def test_longest_run_is_the_longest_block_of_trues(mask):
    start, stop = uniform.longest_run(np.asarray(mask, bool))
    assert all(mask[start:stop])
    longest = max((len(b) for b in "".join("1" if v else "0" for v in mask).split("0")), default=0)
    assert stop - start == longest


def _hand_built(m=6, n=24):
    """Weights at 5 densities: dedicated (D*=1), digons x3 (D*=1/2), then pentagons (D*=2/5)."""
    dedicated = np.zeros((m, n))
    dedicated[:, :m] = np.eye(m)
    digons = testing.antipodal_pairs(m)
    digons = np.concatenate([digons, np.zeros((m, n - 2 * m))], axis=1)
    pentagons = np.zeros((m, n))
    for k in range(m // 2):
        pentagons[2 * k : 2 * k + 2, 5 * k : 5 * k + 5] = testing.regular_polygon(5)
    Ws = np.stack([dedicated, digons, digons, digons, pentagons])
    density = np.array([1.0, 0.4, 0.3, 0.2, 0.1], np.float32)
    return {"n24_W": Ws, "n24_density": density, "n24_b": np.zeros((5, n))}


def test_uniform_analysis_finds_plateau_and_geometries():
    cfg = uniform.Config()
    summary = uniform.analyze(cfg, _hand_built())
    assert all(c["passed"] for c in summary["checks"]), summary["checks"]
    numbers = summary["n24"]
    assert numbers["plateau_half"]["points"] == 3
    assert numbers["plateau_half"]["inverse_density_range"] == [2.5, 5.0]
    counts = numbers["geometry_counts_where_d_star_ge_3/8"]
    assert counts == {"dedicated": 6, "digon": 36, "pentagon": 15}


def test_uniform_analysis_rejects_no_plateau():
    arrays = _hand_built()
    arrays["n24_W"] = arrays["n24_W"][[0, 4, 4, 4, 4]]  # straight from dedicated to pentagons
    summary = uniform.analyze(uniform.Config(), arrays)
    assert not summary["checks"][0]["passed"]
