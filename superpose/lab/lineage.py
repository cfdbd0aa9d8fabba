"""A run's lineage: which sessions ran it, with what code and environment, and how long compiling took.

Owns: config.json (`write_config`), the per-process sessions in lineage.json (`begin_session`,
`end_session`) and the compile timer that reads JAX's own compile events. Does not: lay out files
(store.py) or run anything (runner.py).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from pathlib import Path

from superpose.lab import store

# jax.monitoring event names (jax 0.10: jax/_src/dispatch.py, compiler.py). BACKEND wraps
# compiler.compile_or_get_cached, so on a persistent-cache hit it times the key hashing and the cache read.
_TRACE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration")
_BACKEND = "/jax/core/compile/backend_compile_duration"
_CACHE_REQUEST = "/jax/compilation_cache/compile_requests_use_cache"  # a compile that looked in the cache
_CACHE_HIT = "/jax/compilation_cache/cache_hits"  # ...and found its executable there
_CACHE_RETRIEVAL = "/jax/compilation_cache/cache_retrieval_time_sec"  # reading a hit back (hits only)


class CompileTimer:
    """Times what JAX reports (jax.monitoring) about getting executables while active.

    seconds: all of it (tracing + lowering + backend, the backend step being an XLA compile or a persistent
    cache load); trace_s: tracing + lowering; xla_compile_s: backend steps that compiled; retrieval_s: reading
    cache hits back; hits and misses: compiles that looked in the persistent cache and found, or did not find,
    their executable (both 0 with the cache off). Process-wide: compiles in other threads count too.
    """

    def __init__(self) -> None:
        self.seconds = self.trace_s = self.xla_compile_s = self.retrieval_s = 0.0
        self.requests = self.hits = 0
        self.cache_dir: str | None = None
        self._lock = threading.Lock()
        self._hit = threading.local()  # this thread saw a cache hit since its last backend step

    @property
    def misses(self) -> int:
        # JAX fires the request event whenever the cache is enabled (its default), directory set or not.
        return self.requests - self.hits if self.cache_dir else 0

    def _on_duration(self, event: str, duration: float, **_) -> None:
        with self._lock:
            if event in _TRACE_EVENTS:
                self.trace_s += duration
                self.seconds += duration
            elif event == _BACKEND:
                self.seconds += duration
                if not getattr(self._hit, "seen", False):
                    self.xla_compile_s += duration
                self._hit.seen = False
            elif event == _CACHE_RETRIEVAL:
                self.retrieval_s += duration

    def _on_event(self, event: str, **_) -> None:
        with self._lock:
            if event == _CACHE_REQUEST:
                self.requests += 1
            elif event == _CACHE_HIT:
                self.hits += 1
                self._hit.seen = True

    def cache_report(self) -> dict:
        """lineage.json's compile_cache entry of a session."""
        return {
            "dir": self.cache_dir,
            "hits": self.hits,
            "misses": self.misses,
            "retrieval_s": round(self.retrieval_s, 3),
        }

    def __enter__(self):
        import jax

        self.cache_dir = jax.config.values.get("jax_compilation_cache_dir")
        jax.monitoring.register_event_duration_secs_listener(self._on_duration)
        jax.monitoring.register_event_listener(self._on_event)
        return self

    def __exit__(self, *exc) -> None:
        import jax

        jax.monitoring.unregister_event_duration_listener(self._on_duration)
        jax.monitoring.unregister_event_listener(self._on_event)


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
        trace_s=round(timer.trace_s, 3),
        xla_compile_s=round(timer.xla_compile_s, 3),
        compile_cache=timer.cache_report(),
        train_s=train_s,
        outcome=outcome,
    )
    total = {k: round(sum(s.get(k) or 0.0 for s in sessions), 3) for k in ("wall_s", "compile_s", "train_s")}
    run.update_lineage(
        sessions=sessions, **total, error=error, **({"ended": ended} if outcome == "complete" else {})
    )
