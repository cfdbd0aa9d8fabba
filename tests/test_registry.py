"""`superpose experiments` lists whole first sentences; a user's experiment file imports its neighbours."""

from __future__ import annotations

import sys
import textwrap

import pytest

from superpose.lab import registry


@pytest.mark.parametrize(
    "doc, first",
    [
        ("One line.\n\nMore.", "One line."),
        ("A sentence that goes on\nover two lines. Then another.", "A sentence that goes on over two lines."),
        (
            "Facts (e.g. the MLP) and Henighan et al. 2023: kept. Next.",
            "Facts (e.g. the MLP) and Henighan et al. 2023: kept.",
        ),
        ("Do they come back\nout of superposition?\n\nDetails.", "Do they come back out of superposition?"),
        ("No full stop at all\nin this paragraph\n\nOther.", "No full stop at all in this paragraph"),
        ("", ""),
    ],
)
def test_first_sentence(doc, first):
    assert registry.first_sentence(doc) == first


def test_every_listed_description_is_a_whole_sentence():
    found = registry.available()
    assert "intro" in found and "sweep" in found
    for name, line in found.items():
        assert line.endswith((".", "?", "!")) and "\n" not in line, (name, line)


def test_a_user_experiment_imports_the_modules_beside_it(tmp_path, monkeypatch):
    """`superpose plot/resume/analyze` load a run's own script the way `python script.py` runs it: with its
    folder on the import path, so `from my_model import ...` works from any working directory."""
    (tmp_path / "my_helper_for_registry_test.py").write_text("VALUE = 42\n")
    script = tmp_path / "my_registry_test_experiment.py"
    script.write_text(
        textwrap.dedent('''
        """A user's experiment."""
        from my_helper_for_registry_test import VALUE
        EXPERIMENT = None
    ''')
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir("/")
    module = registry.load_experiment_module("my_registry_test_experiment", str(script))
    assert module.VALUE == 42
    monkeypatch.delitem(sys.modules, "my_helper_for_registry_test")
    monkeypatch.delitem(sys.modules, f"superpose_user_experiments.{script.stem}")
