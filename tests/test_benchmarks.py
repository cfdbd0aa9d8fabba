"""The benchmark workers still run against the current library (no timings asserted: benchmarks/ measures)."""

from __future__ import annotations

import math

from benchmarks import workers


def test_superpose_worker_runs_and_reports():
    out = workers.superpose_job(3, 5, 2, 32, chunk_steps=10, repeats=1)
    assert out["impl"] == "superpose" and out["steps_per_s"] > 0 and out["compile_s"] > 0
    assert math.isfinite(out["loss"])


def test_the_roofline_arithmetic():
    from benchmarks.gpu_session import roofline

    text = roofline(step_s=100e-6, device="NVIDIA H200", n_inst=1000, n=10, batch=1024)
    # 3 x 4 B x 10,240,000 values = 122.9 MB at 4.8 TB/s = 25.6 us; 100 us is 3.91x that.
    assert "122.9 MB" in text and "25.6 us/step" in text and "3.91x" in text


def test_the_kth_largest_benchmark_runs_and_checks_equality(capsys):
    from benchmarks import kth_largest

    assert kth_largest.main(["--latents", "16", "--batch", "8", "--k", "3", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("bisection") == 2 and "x)" in out
