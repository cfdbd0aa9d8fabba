"""The experiments the `superpose` command knows: the modules of the `superpose.experiments` package.

Owns: finding experiments by name (`load_experiment`), listing them with the first sentence of each description (`available`), without
importing them (so listing is instant). The package's source is the checkout's top-level experiments/ folder
(pyproject.toml maps it), so `python experiments/NAME.py` in a checkout and `superpose run NAME` after a
plain `pip install` run the same code. A run recorded with a script outside the package (your own experiment
file) is found through that script. Does not: run anything.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from pathlib import Path

from superpose.config import ConfigError
from superpose.lab import store

PACKAGE = "superpose.experiments"


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, whole, on one line: up to a '.', '?' or '!' that
    ends the paragraph or is followed by a capital letter (so "e.g. the" and "et al. 2023" do not end it)."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    match = re.match(r"(.+?[.?!])(?=\s+[A-Z]|$)", paragraph)
    return match.group(1) if match else paragraph


def _describe(path: Path) -> str | None:
    """The first sentence of the module docstring if the module defines EXPERIMENT (read, not imported)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError):
        return None
    defines = any(
        isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPERIMENT" for t in node.targets)
        for node in tree.body
    )
    if not defines:
        return None
    return first_sentence(ast.get_docstring(tree) or "")


def available() -> dict[str, str]:
    """name -> the first sentence of the description of every experiment in the package, sorted by name."""
    folder = _package_dir()
    if folder is None:
        return {}
    found = {}
    for path in sorted(folder.glob("*.py")):
        if store.NAME.match(path.stem) and not path.stem.startswith("_"):
            line = _describe(path)
            if line is not None:
                found[path.stem] = line
    return found


def load_experiment_module(name: str, script: str | None = None):
    """The module of experiment `name`: superpose.experiments.NAME, or `script` where a run recorded one
    outside the package (an experiment file of your own)."""
    if store.NAME.match(name) and name in available():
        return importlib.import_module(f"{PACKAGE}.{name}")
    if script and Path(script).is_file() and Path(script).stem == name:
        module_name = f"superpose_user_experiments.{name}"
        module = sys.modules.get(module_name)
        if module is None or Path(getattr(module, "__file__", "")).resolve() != Path(script).resolve():
            # As `python script.py` would: its folder first on the import path, so the models and helpers
            # beside it (from my_model import ...) import the same way under `superpose plot/resume/analyze`.
            folder = str(Path(script).resolve().parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            spec = importlib.util.spec_from_file_location(module_name, script)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module  # dataclasses resolve annotations through sys.modules
            spec.loader.exec_module(module)
        return module
    known = ", ".join(available()) or "none"
    raise ConfigError(f"unknown experiment {name!r} (available: {known}; `superpose experiments` lists them)")


def load_experiment(name: str, script: str | None = None):
    """The EXPERIMENT of experiment `name` (see load_experiment_module)."""
    from superpose.lab.experiment import Experiment

    module = load_experiment_module(name, script)
    exp = getattr(module, "EXPERIMENT", None)
    if not isinstance(exp, Experiment):
        raise ConfigError(f"{module.__file__} is not an experiment module (it defines no EXPERIMENT)")
    return exp


def experiment_of_run(run: store.Run):
    """(Experiment, validated config) a stored run was made with, from its config.json (no training)."""
    from superpose.lab import overrides

    config = run.config()
    exp = load_experiment(config["experiment"], config.get("script"))
    return exp, overrides.config_from_dict(exp.config_cls, config["config"], source=run.file("config.json"))
