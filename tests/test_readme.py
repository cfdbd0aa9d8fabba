"""Every code block of README.md runs as written.

Convention (README.md): every ```python block runs, each in a fresh namespace, as a reader who copies it
would run it; a ```python block after `<!-- ci: file NAME -->` is a file of the reader's (a model, its test,
an experiment) and is written to NAME instead, for the blocks after it to import or run. A ```bash block runs
only after `<!-- ci: run -->` (the others install packages, train for minutes or need a GPU or several
processes). All of them run in README order, in one subprocess with the tests' CPU settings (4 CPU devices,
strict rank promotion, key-reuse checks), from one temporary directory, so runs/ lands there.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARK = re.compile(r"^<!--\s*ci:\s*(.*?)\s*-->$")
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # of the opening fence, 1-based
    mark: str  # "" | "run" | "file NAME"


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a markdown text, each with the `<!-- ci: ... -->` mark on the line before it
    (blank lines between them allowed)."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        mark = MARK.match(lines[j].strip()) if j >= 0 else None
        end = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("```"))
        out.append(
            Block(
                opening.group(1), "\n".join(lines[i + 1 : end]) + "\n", i + 1, mark.group(1) if mark else ""
            )
        )
        i = end + 1
    return out


def steps(text: str) -> list[dict]:
    """What the driver does, in order: exec a python block, write a file block, run a bash block."""
    out = []
    for b in blocks(text):
        where = f"README.md:{b.line}"
        if b.lang == "python":
            if b.mark.startswith("file "):
                out.append({"do": "file", "name": b.mark.split(None, 1)[1], "code": b.code, "where": where})
            else:
                assert b.mark == "", f"{where}: a python block runs, or is a file; got mark {b.mark!r}"
                out.append({"do": "python", "code": b.code, "where": where})
        elif b.mark:
            assert b.lang == "bash" and b.mark == "run", (
                f"{where}: only bash blocks take 'ci: run', got {b.mark!r}"
            )
            out.append({"do": "bash", "code": b.code, "where": where})
    return out


DRIVER = textwrap.dedent(
    """
    import json, os, subprocess, sys, time, traceback
    from pathlib import Path

    sys.path.insert(0, os.getcwd())  # as in an interactive Python in the reader's folder

    import jax
    from superpose.lab import runtime

    runtime.use_compilation_cache()  # as tests/conftest.py does
    jax.config.update("jax_numpy_rank_promotion", "raise")
    jax.config.update("jax_debug_key_reuse", True)
    for step in json.loads(Path(sys.argv[1]).read_text()):
        t0 = time.perf_counter()
        try:
            if step["do"] == "file":
                Path(step["name"]).write_text(step["code"])
            elif step["do"] == "python":
                exec(compile(step["code"], step["where"], "exec"), {"__name__": "__main__"})
            else:
                subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["code"]], check=True)
        except BaseException:
            traceback.print_exc()
            print(f"FAILED: the {step['do']} block at {step['where']}", flush=True)
            sys.exit(1)
        print(f"{step['where']} {step['do']}: {time.perf_counter() - t0:.1f} s", flush=True)
    """
)


def test_the_conventions_are_read_as_written():
    text = textwrap.dedent(
        """
        <!-- ci: file m.py -->
        ```python
        X = 1
        ```
        ```python
        from m import X
        ```

        <!-- ci: run -->

        ```bash
        echo hi
        ```
        ```bash
        pip install nothing
        ```
        ```
        a plain block
        ```
        """
    )
    assert [(s["do"], s.get("name")) for s in steps(text)] == [
        ("file", "m.py"),
        ("python", None),
        ("bash", None),
    ]


def test_the_extending_examples_are_short():
    """The README promises a model with its property test, and an experiment, each in under 40 lines."""
    files = {s["name"]: s["code"] for s in steps(README.read_text()) if s["do"] == "file"}
    assert set(files) == {"my_model.py", "test_my_model.py", "my_experiment.py"}
    assert len((files["my_model.py"] + files["test_my_model.py"]).splitlines()) < 40
    assert len(files["my_experiment.py"].splitlines()) < 40


def test_every_readme_block_runs(tmp_path):
    plan = steps(README.read_text())
    assert sum(s["do"] == "python" for s in plan) >= 4 and sum(s["do"] == "bash" for s in plan) >= 3
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "driver.py").write_text(DRIVER)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_", "SUPERPOSE_CPU"))}
    env |= {
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "MPLBACKEND": "Agg",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
    }
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "plan.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(out.stdout[-3000:])
    print(f"README.md ran in {time.perf_counter() - start:.1f} s")
    assert out.returncode == 0, (out.stdout + out.stderr)[-6000:]
    assert (work / "test_my_model.py").exists() and list(work.glob("runs/my_experiment/*/summary.json"))
    assert list(work.glob("runs/sweep/*/sweep_forming.gif"))
