"""The figure checks (tests/figure_checks.py) catch what a reader would, and they run on every experiment's
figures.

They run through tests/conftest.py, which wraps superpose.plots' `save` so that every figure an experiment
saves during the suite (each experiment's --quick run in tests/test_exp_*.py) is checked and a test with
problems fails at teardown: no extra training here. These tests show each check can fail, and that the wrap
is in place under every name the experiments use.
"""

from __future__ import annotations

import re
from pathlib import Path

import figure_checks
import matplotlib.pyplot as plt
import numpy as np
import pytest
from figure_checks import figure_problems

from superpose.lab import registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fig():
    figure = plt.figure(figsize=(6, 3))
    yield figure
    plt.close(figure)


def _labelled_line(ax):
    ax.plot([1, 2, 3], [3, 1, 2], label="loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()


def test_a_tidy_figure_passes(fig):
    ax1, ax2, ax3 = fig.subplots(1, 3)
    _labelled_line(ax1)
    ax2.imshow(np.eye(3))
    ax2.set_xticks([])
    ax2.set_yticks([])  # an image panel without ticks is deliberately bare
    ax3.bar(["x0", "x1"], [1, 2])  # names as tick labels label themselves...
    ax3.set_ylabel("weight")  # ...numbers do not
    fig.tight_layout()
    assert figure_problems(fig) == []


def test_unlabelled_numbers_fail_unless_a_neighbour_on_the_same_scale_labels_them(fig):
    ax1, ax2 = fig.subplots(1, 2)
    _labelled_line(ax1)
    ax2.plot([1, 2, 3], [1, 2, 3])
    ax2.set_xlabel("step")
    ax2.set_ylim(ax1.get_ylim())
    fig.tight_layout()
    assert figure_problems(fig) == []  # ax2's y scale is ax1's, labelled on its left
    ax2.set_ylim(0, 10)  # now a scale of its own
    assert any("y axis" in p and "without a label" in p for p in figure_problems(fig))


def test_a_colour_bar_needs_a_label(fig):
    ax = fig.add_subplot()
    bar = fig.colorbar(ax.imshow(np.eye(3)), ax=ax)
    ax.set_xticks([])
    ax.set_yticks([])
    assert figure_problems(fig) == ["colour bar shows numbers without a label"]
    bar.set_label("W^T W")
    assert figure_problems(fig) == []


def test_text_outside_the_canvas_fails(fig):
    ax = fig.add_subplot()
    _labelled_line(ax)
    fig.text(0.9, 0.5, "a note that runs off the right edge")
    problems = figure_problems(fig)
    assert any("outside the canvas" in p and "past the right" in p for p in problems), problems


def test_overlapping_texts_and_labels_over_a_neighbour_fail(fig):
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"wspace": 0.02})
    _labelled_line(ax1)
    _labelled_line(ax2)  # its y label and ticks fall on ax1
    problems = figure_problems(fig)
    assert any("lies over axes" in p for p in problems), problems
    fig2 = plt.figure(figsize=(3, 2))
    try:
        ax = fig2.add_subplot()
        ax.set_xticks(np.arange(20), [f"{v:,}" for v in 1000 * np.arange(20)])  # run together
        ax.set_xlabel("step")
        assert any("texts overlap" in p for p in figure_problems(fig2))
    finally:
        plt.close(fig2)


def test_legends_must_name_what_is_drawn(fig):
    ax = fig.add_subplot()
    ax.plot([1, 2], [1, 2], label="relu")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    fig.tight_layout()
    assert any("no legend shows ('relu')" in p for p in figure_problems(fig))
    ax.legend(["relu"])
    assert figure_problems(fig) == []
    ax.legend([" "])
    assert any("legend entry has no text" in p for p in figure_problems(fig))


def test_every_save_the_experiments_use_is_checked(tmp_path):
    import superpose.plots as plots
    from superpose.plots import basic, computation, core, neurons

    for module in (plots, core, basic, computation, neurons):
        assert getattr(module.save, "checks_figures", False), module.__name__
    figure = plt.figure()
    figure.add_subplot().plot([1, 2], [1, 4])  # numbers on both axes, no labels
    before = len(figure_checks.CHECKED)
    basic.save(figure, tmp_path / "bad.png")
    assert (tmp_path / "bad.png").is_file() and len(figure_checks.CHECKED) == before + 1
    problems, figure_checks.PROBLEMS[:] = (
        list(figure_checks.PROBLEMS),
        [],
    )  # expected: not this test's failure
    assert sum("bad.png: " in p and "without a label" in p for p in problems) == 2


def test_every_experiment_has_a_quick_test_whose_figures_get_checked():
    """The checks see an experiment's figures only if some test runs it (tests/test_exp_*.py run each --quick
    mode; intro runs in test_cli, test_report and others)."""
    tests = [p for p in (ROOT / "tests").glob("test_*.py") if p.name != "test_figures.py"]
    text = "\n".join(p.read_text() for p in tests)
    names = set(re.findall(r"[a-z_0-9]+", text))
    missing = [name for name in registry.available() if name not in names and name != "reproduce_all"]
    assert not missing, f"no test mentions {missing}"
