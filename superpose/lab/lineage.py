"""A run's lineage: which sessions ran it, with what code and environment, and how long compiling took.

Owns: config.json (`write_config`), the per-process sessions in lineage.json (`begin_session`,
`end_session`) and the compile timer that reads JAX's own compile events. Does not: lay out files
(store.py) or run anything (runner.py).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from superpose.lab import store

_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


class CompileTimer:
    """Sums the tracing, lowering and XLA-compile durations that JAX reports (jax.monitoring) while active.

    Process-wide: compiles in other threads during the window count too.
    """

    def __init__(self) -> None:
        self.seconds = 0.0

    def _listener(self, event: str, duration: float, **_) -> None:
        if event in _COMPILE_EVENTS:
            self.seconds += duration

    def __enter__(self):
        import jax

        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc) -> None:
        import jax

        jax.monitoring.unregister_event_duration_listener(self._listener)


def write_config(run: store.Run, exp, cfg, **options) -> None:
    """config.json: the experiment, its script, the run options (quick, overrides, devices, figures_dir)
    and the full resolved config."""
    store.write_json(
        run.file("config.json"),
        {"experiment": exp.name, "script": exp.script, **options, "config": dataclasses.asdict(cfg)},
    )


def begin_session(run: store.Run) -> dict:
    """Append this process's session to lineage.json (the first one also records code and environment)."""
    code = store.code_version()
    env = store.environment()
    session = {
        "started": store.now(),
        "command": sys.argv,
        "cwd": str(Path.cwd()),
        "host": env["host"],
        "devices": env["devices"],
        **code,
    }
    path = run.file("lineage.json")
    lineage = run.lineage() if path.exists() else {}
    sessions = lineage.get("sessions") if isinstance(lineage.get("sessions"), list) else []
    if not sessions:
        lineage.update(code, environment=env, command=sys.argv, started=session["started"])
    elif any(code[k] != lineage.get(k) for k in code):
        before, now = lineage.get("git_commit"), code["git_commit"]
        what = f"commit {before} -> {now}" if before != now else "uncommitted changes differ"
        print(
            f"warning: the code changed since the run began ({what}); resumed arrays are bitwise identical "
            "to an uninterrupted run's only for unchanged code",
            file=sys.stderr,
        )
    lineage.update(experiment=run.experiment, run_id=run.id, error=None, sessions=[*sessions, session])
    store.write_json(path, lineage)
    return lineage


def end_session(
    run: store.Run, t0: float, timer: CompileTimer, train_s, outcome: str, error: str | None = None
) -> None:
    """Close this process's session in lineage.json and update the run's totals (summed over sessions)."""
    lineage = run.lineage()
    sessions = lineage.get("sessions") or [{}]
    ended = store.now()
    sessions[-1].update(
        ended=ended,
        wall_s=round(time.perf_counter() - t0, 3),
        compile_s=round(timer.seconds, 3),
        train_s=train_s,
        outcome=outcome,
    )
    total = {k: round(sum(s.get(k) or 0.0 for s in sessions), 3) for k in ("wall_s", "compile_s", "train_s")}
    run.update_lineage(
        sessions=sessions, **total, error=error, **({"ended": ended} if outcome == "complete" else {})
    )

