"""E7 (experiments/correlated.py): the --quick run end to end with every check asserted, then wrong models
that must fail them (the set geometry itself is tested in tests/test_analysis_sets.py). Quick scale, the
script's QUICK: 4 set densities from 0.03 to 0.6, best of 16 fits of 4000 steps, each fit's loss measured on
1024 batches so that best-of selects the hexagon at 0.03; the checks themselves are the full-scale ones."""

import json
from pathlib import Path

from superpose.lab import store
from superpose.lab.registry import load_experiment_module

ROOT = Path(__file__).resolve().parent.parent


co = load_experiment_module("correlated")


def test_quick_run_checks(tmp_path):
    from superpose.lab import main

    code = main(co.EXPERIMENT, ["--quick", "--runs-dir", str(tmp_path), "--quiet"])
    (summary_path,) = tmp_path.glob("correlated/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    names = [c["name"] for c in summary["checks"]]
    for prefix in (
        "corr4: correlated pairs orthogonal",
        "anti4: anticorrelated pairs antipodal",
        "corr6: three correlated pairs side by side (hexagon-like)",
        "corr20: a local orthogonal basis per set",
        "corr6: sets collapse onto their principal component",
    ):
        assert sum(name.startswith(prefix) for name in names) == 1, (prefix, names)
    assert len(names) == 5
    collapsed = summary["collapsed_sets"]["corr6"]
    values = [collapsed[k] for k in sorted(collapsed, key=float)]
    assert values[0] == 0 and values[-1] == 3  # none collapsed at the sparsest, all three at the densest
    assert (summary_path.parent / "correlated.png").exists()
    assert (summary_path.parent / "correlated_collapse.png").exists()
    # Wrong models: each setup credited with another's result (the correlated pairs with the anticorrelated
    # fits and back), or with its own fits in reverse density order (the densest fit at the sparsest density).
    arrays = dict(store.read_npz(summary_path.parent / "results.npz"))
    swapped = dict(arrays, corr4_best_W=arrays["anti4_best_W"], anti4_best_W=arrays["corr4_best_W"])
    for name in ("corr6", "corr20"):
        swapped[f"{name}_best_W"] = arrays[f"{name}_best_W"][::-1]
    wrong = [c["passed"] for c in co.analyze(co.EXPERIMENT.make_config(quick=True), swapped)["checks"]]
    assert not any(wrong), wrong
