"""E10 (experiments/privileged_basis.py): the --quick mode end to end with its checks asserted, and the neuron
and feature classifiers on hand-built weights (so each check can fail).

Quick-scale tolerances (stated in the script's QUICK): 5 densities (0.7, 0.3, 0.15, 0.063, 0.02), best of 8
fits of 5,000 steps; strict=False (binary code: features 3-5 as a group in 2 neurons without also asking the
top 3 dedicated; at 0.15 top features dedicated plus one shared group of >= 2 more features than neurons;
no complete pair code required) and 60% (not 80%) of the features on exactly 2 neurons at 0.02; the Spearman
trend of monosemantic neurons is left out (5 densities are too few to rank). Then wrong models fail the checks.
"""

from __future__ import annotations

import json

import numpy as np
from test_analysis_neurons import M, binary_code, dedicated, five_in_three, pair_code, six_in_four

from superpose.lab import main, store
from superpose.lab.registry import load_experiment_module

pb = load_experiment_module("privileged_basis")


# --- end to end -----------------------------------------------------------------------------------------


def test_quick_checks_pass(tmp_path):
    code = main(pb.EXPERIMENT, ["--quick", "--quiet", "--runs-dir", str(tmp_path)])
    (summary_path,) = tmp_path.glob("privileged_basis/*/summary.json")
    summary = json.loads(summary_path.read_text())
    failed = [c for c in summary["checks"] if not c["passed"]]
    assert code == 0 and not failed, failed
    assert len(summary["checks"]) == 7  # not vacuous; the 7th: measured importance (lab.probes)
    assert [c["name"] for c in summary["checks_left_out"]] == ["monosemantic neurons fall as sparsity rises"]
    assert summary["n_fits"] == 8
    assert [p["density"] for p in summary["per_density"]] == [0.7, 0.3, 0.15, 0.063, 0.02]
    assert list(tmp_path.glob("privileged_basis/*/privileged_basis.png"))
    # Wrong models: every density credited with the densest model, or with the sparsest one.
    cfg = pb.EXPERIMENT.make_config(quick=True)
    arrays = store.read_npz(summary_path.parent / "results.npz")
    for pick in (0, -1):
        wrong = dict(arrays, best_W=np.repeat(arrays["best_W"][pick : pick + 1 or None], 5, axis=0))
        passed = [c["passed"] for c in pb.analyze(cfg, wrong)["checks"]]
        assert sum(passed) <= 1 and not any(passed[1:4]), passed


def test_n_fits_auto_depends_on_the_backend_and_an_override_wins():
    assert pb.resolve_n_fits(pb.Config()) == pb.CPU_FITS  # conftest.py runs the CPU backend
    assert pb.resolve_n_fits(pb.EXPERIMENT.make_config(overrides=["n_fits=1000"])) == 1000
    assert pb.EXPERIMENT.make_config(overrides=["n_fits=none"]).n_fits is None


# --- the checks on hand-built pictures --------------------------------------------------------------------

DENSITIES = (0.7, 0.3, 0.15, 0.12, 0.063, 0.02)


def _arrays(Ws) -> dict:
    Ws = np.stack(Ws)
    return {
        "best_W": Ws,
        "best_density": np.asarray(DENSITIES, np.float32),
        "best_loss": np.zeros(len(Ws)),
        "W": Ws,
        "density": np.asarray(DENSITIES, np.float32),
        "final_loss": np.zeros(len(Ws)),
        "n_fits": np.int64(1),
    }


def test_the_paper_picture_passes_every_check_and_wrong_ones_fail():
    cfg = pb.Config(densities=DENSITIES, trend_min_densities=6)
    paper = [dedicated(range(M)), binary_code(), five_in_three(), six_in_four(), pair_code(8), pair_code()]
    good = pb.analyze(cfg, _arrays(paper))
    assert all(c["passed"] for c in good["checks"]), good["checks"]
    assert all(p["agrees"] for p in good["per_density"]) and good["paper_regimes_matched"].startswith("6/6")
    # Every model monosemantic: only the dense check holds.
    mono = pb.analyze(cfg, _arrays([dedicated(range(M))] * len(DENSITIES)))
    assert [c["passed"] for c in mono["checks"]] == [True] + [False] * 6
    # Every model a pair code: only the sparse check holds.
    pairs = pb.analyze(cfg, _arrays([pair_code()] * len(DENSITIES)))
    assert [c["passed"] for c in pairs["checks"]] == [False] * 4 + [True, False, False]
