"""Lineage in ML Metadata (MLMD): runs exported into a SQLite MLMD store, and figures traced back from it.

Owns: the MLMD types superpose writes, exporting runs of the run store into an MLMD store
(`export_runs`), answering "where did this figure / these weights / this run come from?" from the MLMD
store alone (`show`), and the text form of that answer (`format_show`). Does not: run or train anything, lay
out run directories (store.py), or capture lineage (lineage.py and store.py write lineage.json; this module
only copies it). ml_metadata is an optional extra (`pip install 'superpose[lineage]'`), imported only inside
the functions that need it: importing this module is instant and never fails.

What goes into the store, per complete run (names are unique per type, so a run is found again by name):
    Execution superpose.Run "EXPERIMENT/RUN_ID"    status, git commit / dirty / diff hash, times, command,
                                                   backend, devices, packages, environment, sweeps;
                                                   config_json and lineage_json: config.json (enough to
                                                   rerun it) and lineage.json verbatim
    Artifact  superpose.Data      INPUT event      what the models were trained on: sampler (a config field
                                                   naming it, where there is one), densities, feature_prob
                                                   and importances (the distinct rows of those results.npz
                                                   arrays, as JSON), every density/sparsity/importance-like
                                                   array and config field
    Artifact  superpose.Weights   OUTPUT event     uri results.npz; sha256, size, array names and shapes
    Artifact  superpose.Summary   OUTPUT event     uri summary.json; sha256, checks passed / total, all passed
    Artifact  superpose.Figure    OUTPUT event     uri FIGURE.png (one per figure); file name, sha256, size
    Context   superpose.Experiment "EXPERIMENT"    every run of the experiment (associations) and its
                                                   artifacts (attributions)
Each run goes in with one `put_execution` call, one transaction: a store never holds half a run. URIs are
absolute paths. Exporting a run already in the store adds nothing. Runs without summary.json (running,
interrupted or failed) are skipped with a message, not exported: their files still change, and once resumed
and complete they export in full; a run whose files are missing or corrupt is skipped the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from superpose.config import ConfigError
from superpose.lab import store
from superpose.lab.overrides import one_line
from superpose.lab.store import Run, RunError

RUN = "superpose.Run"
DATA = "superpose.Data"
WEIGHTS = "superpose.Weights"
SUMMARY = "superpose.Summary"
FIGURE = "superpose.Figure"
EXPERIMENT = "superpose.Experiment"
ACTIVATIONS = "superpose.Activations"  # probes.npz: hidden activations and outputs on the probe set
FEATURE_IMPORTANCE = "superpose.FeatureImportance"  # measured importances of the kept models

# Every type's properties and their MLMD value types (S string, D double, I int, B boolean). A new property
# here is added to an existing store's type on the next export (can_add_fields).
_S, _D, _I, _B = "STRING", "DOUBLE", "INT", "BOOLEAN"
TYPES = {
    RUN: {
        "run_id": _S,
        "experiment": _S,
        "status": _S,
        "run_dir": _S,
        "git_commit": _S,
        "git_dirty": _B,
        "git_diff_sha256": _S,
        "started": _S,
        "ended": _S,
        "wall_s": _D,
        "train_s": _D,
        "compile_s": _D,
        "config_json": _S,
        "command": _S,
        "jax_backend": _S,
        "devices": _S,
        "packages": _S,
        "environment": _S,
        "sweeps": _S,
        "lineage_json": _S,
    },
    DATA: {
        "sampler": _S,
        "densities": _S,
        "feature_prob": _S,
        "importances": _S,
        "data_arrays": _S,
        "config_fields": _S,
    },
    WEIGHTS: {"sha256": _S, "size": _I, "arrays": _S},
    SUMMARY: {"sha256": _S, "checks_passed": _I, "checks_total": _I, "all_passed": _B},
    FIGURE: {"file": _S, "sha256": _S, "size": _I},
    EXPERIMENT: {"experiment": _S},
    ACTIVATIONS: {
        "sha256": _S,
        "size": _I,
        "arrays": _S,
        "steps": _S,
        "probe_set": _S,
        "neurons": _S,
        "accuracy": _S,  # a fact MLP's: top-1 accuracy on the keys per frame
    },
    FEATURE_IMPORTANCE: {
        "method": _S,
        "densities": _S,
        "importance": _S,
        "ablation": _S,
        "grad_input": _S,
        "represented": _S,
        "rho": _S,
        "check_passed": _B,
        "check": _S,
        # a fact MLP's (fact_probes.FactProbes): per fact, its name tokens' and neurons' shares of its margin
        "kind": _S,
        "steps": _S,
        "accuracy": _S,
        "weaker_name_share_median": _S,
        "both_names_push_true": _D,
        "largest_neuron_share_median": _D,
        "facts": _S,
    },
}
KINDS = {RUN: "execution", EXPERIMENT: "context"}  # the rest are artifact types
# String properties that hold JSON (decoded by `show`).
JSON_PROPERTIES = {
    "config_json",
    "command",
    "devices",
    "packages",
    "environment",
    "sweeps",
    "lineage_json",
    "sampler",
    "densities",
    "feature_prob",
    "importances",
    "data_arrays",
    "config_fields",
    "arrays",
    "steps",
    "neurons",
    "importance",
    "ablation",
    "grad_input",
    "represented",
    "rho",
    "check",
    "accuracy",
    "weaker_name_share_median",
    "facts",
}
# results.npz arrays and config fields that describe the training data.
_DATA_NAME = re.compile(r"densit|sparsit|importance|feature_prob")
_SAMPLER_NAME = re.compile(r"sampler|distribution|^data$")
# Execution.State for each Run.status (only complete runs are exported today).
_STATES = {"complete": "COMPLETE", "failed": "FAILED", "running": "RUNNING", "incomplete": "CANCELED"}


# --- the library, the store and the types --------------------------------------------------------------


def _mlmd():
    """(metadata_store module, metadata_store_pb2, errors), or ConfigError if ml_metadata is missing."""
    try:
        # ml_metadata/__init__ swallows a failed import with a message on stderr; the submodule import below
        # then fails for real. Keep that message off the terminal: ours says what to do.
        with contextlib.redirect_stderr(io.StringIO()):
            from ml_metadata import errors
            from ml_metadata.metadata_store import metadata_store
            from ml_metadata.proto import metadata_store_pb2
    except ImportError:
        raise ConfigError("ML Metadata is not installed: pip install 'superpose[lineage]'") from None
    return metadata_store, metadata_store_pb2, errors


def _message(e: BaseException) -> str:
    """MLMD's error text on one line, without the SQL it quotes."""
    text = re.sub(r" query: [A-Z]+ .*", "", one_line(e))
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def _errors(path) -> Iterator[None]:
    """MLMD's own errors (StatusError and subclasses) as one-line RunErrors naming the store."""
    _, _, errors = _mlmd()
    try:
        yield
    except errors.StatusError as e:
        raise RunError(f"ML Metadata store {path}: {_message(e)}") from None


def open_store(store_path, create: bool = False):
    """An MLMD MetadataStore on the SQLite file store_path: created if `create`, else it must exist and is
    opened read-only."""
    metadata_store, pb, _ = _mlmd()
    path = Path(store_path)
    if path.is_dir():
        raise RunError(f"lineage store {path} is a directory; give a file name, e.g. {path}/lineage.sqlite")
    if not create and not path.is_file():
        raise RunError(f"no lineage store at {path} (make one with: superpose lineage export --store {path})")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    mode = pb.SqliteMetadataSourceConfig
    config.sqlite.connection_mode = mode.READWRITE_OPENCREATE if create else mode.READONLY
    with _errors(path):
        try:
            return metadata_store.MetadataStore(config)
        except RuntimeError as e:  # the C++ layer reports a file that is not an MLMD store this way
            raise RunError(f"cannot open ML Metadata store {path}: {_message(e)}") from None


def _register_types(db) -> dict[str, int]:
    """Put superpose's types (idempotent: an existing type gains new properties, keeps old ones)."""
    _, pb, _ = _mlmd()
    protos = {"execution": pb.ExecutionType, "context": pb.ContextType, "artifact": pb.ArtifactType}
    ids = {}
    for name, properties in TYPES.items():
        kind = KINDS.get(name, "artifact")
        proto = protos[kind](name=name)
        for key, value_type in properties.items():
            proto.properties[key] = pb.PropertyType.Value(value_type)
        put = getattr(db, f"put_{kind}_type")
        ids[name] = put(proto, can_add_fields=True, can_omit_fields=True)
    return ids


# --- property values -----------------------------------------------------------------------------------


def _set_properties(node, type_name: str, values: dict) -> None:
    """Fill node.properties from values, cast to the declared types; None leaves a property unset.
    A string property given a non-string (list, dict, number) stores its JSON."""
    declared = TYPES[type_name]
    for key, value in values.items():
        if value is None:
            continue
        kind = declared[key]  # KeyError: a property missing from TYPES, a bug here
        slot = node.properties[key]
        if kind == _S:
            slot.string_value = (
                value if isinstance(value, str) else json.dumps(value, default=store._json_default)
            )
        elif kind == _D:
            slot.double_value = float(value)
        elif kind == _I:
            slot.int_value = int(value)
        else:
            slot.bool_value = bool(value)


def _prop(node, key: str):
    """One property's raw value (None if unset)."""
    if key not in node.properties:
        return None
    value = node.properties[key]
    which = value.WhichOneof("value")
    return getattr(value, which) if which else None


def _properties(node) -> dict:
    """A node's properties as plain Python values, JSON ones decoded."""
    out = {}
    for key in node.properties:
        v = _prop(node, key)
        if key in JSON_PROPERTIES and isinstance(v, str):
            with contextlib.suppress(ValueError):
                v = json.loads(v)
        out[key] = v
    return dict(sorted(out.items()))


def _plain(a: np.ndarray) -> list:
    """An array as nested lists; float32 values by their shortest repr (0.05, not 0.05000000074505806)."""
    if a.dtype.kind == "f" and a.size:
        # str of a numpy float scalar is its shortest round-trip repr at its own precision.
        return np.array([float(str(v)) for v in a.flat], dtype=object).reshape(a.shape).tolist()
    return a.tolist()


def _distinct(a: np.ndarray):
    """The distinct entries of an instance-first array along the instance axis, in order of appearance:
    [1.0, 0.05] for densities repeated over seeds, one row for an importance shared by every instance."""
    a = np.asarray(a)
    if a.ndim == 0 or a.shape[0] == 0:
        return _plain(a)
    try:
        _, first = np.unique(a.reshape(a.shape[0], -1), axis=0, return_index=True)
    except TypeError:  # dtypes np.unique cannot sort
        return _plain(a)
    return _plain(a[np.sort(first)])


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --- export --------------------------------------------------------------------------------------------


def _data_values(config: dict, arrays: dict[str, np.ndarray]) -> dict:
    fields = config.get("config") or {}
    sampler = {k: v for k, v in fields.items() if _SAMPLER_NAME.search(k)}
    data_arrays = {k: _distinct(v) for k, v in sorted(arrays.items()) if _DATA_NAME.search(k)}
    return {
        "sampler": sampler or None,  # experiments name their sampler in code today; set where a field does
        "densities": data_arrays.get("density"),
        "feature_prob": data_arrays.get("feature_prob"),
        "importances": data_arrays.get("importance"),
        "data_arrays": data_arrays,
        "config_fields": {k: v for k, v in fields.items() if _DATA_NAME.search(k)},
    }


def _describe_run(run: Run, type_ids: dict[str, int]):
    """(Execution, [(Artifact, Event)]) of a complete run, read from its files (RunError if one is bad)."""
    _, pb, _ = _mlmd()
    config, lineage, summary, arrays = run.config(), run.lineage(), run.summary(), run.results()
    name = f"{run.experiment}/{run.id}"
    env = lineage.get("environment") if isinstance(lineage.get("environment"), dict) else {}

    execution = pb.Execution(type_id=type_ids[RUN], name=name)
    execution.last_known_state = pb.Execution.State.Value(_STATES.get(run.status(), "UNKNOWN"))
    _set_properties(
        execution,
        RUN,
        {
            "run_id": run.id,
            "experiment": run.experiment,
            "status": run.status(),
            "run_dir": str(run.path.resolve()),
            "git_commit": lineage.get("git_commit"),
            "git_dirty": lineage.get("git_dirty"),
            "git_diff_sha256": lineage.get("git_diff_sha256"),
            "started": lineage.get("started"),
            "ended": lineage.get("ended"),
            "wall_s": lineage.get("wall_s"),
            "train_s": lineage.get("train_s"),
            "compile_s": lineage.get("compile_s"),
            "config_json": json.dumps(config, default=store._json_default),
            "command": lineage.get("command"),
            "jax_backend": env.get("jax_backend"),
            "devices": env.get("devices"),
            "packages": env.get("packages"),
            "environment": env or None,
            "sweeps": lineage.get("sweeps"),
            "lineage_json": json.dumps(lineage, default=store._json_default),
        },
    )

    def artifact(type_name: str, artifact_name: str, uri: Path | None, values: dict):
        a = pb.Artifact(type_id=type_ids[type_name], name=f"{name}/{artifact_name}", state=pb.Artifact.LIVE)
        if uri is not None:
            a.uri = str(uri.resolve())
        _set_properties(a, type_name, values)
        return a

    def event(kind: str, key: str):
        e = pb.Event(type=pb.Event.Type.Value(kind))
        e.path.steps.add().key = key
        return e

    results, summary_file = run.file("results.npz"), run.file("summary.json")
    checks = [c for c in summary.get("checks") or [] if isinstance(c, dict)]
    passed = sum(bool(c.get("passed")) for c in checks)
    pairs = [
        (artifact(DATA, "data", None, _data_values(config, arrays)), event("INPUT", "data")),
        (
            artifact(
                WEIGHTS,
                results.name,
                results,
                {
                    "sha256": _sha256(results),
                    "size": results.stat().st_size,
                    "arrays": {k: list(v.shape) for k, v in arrays.items()},
                },
            ),
            event("OUTPUT", "results"),
        ),
        (
            artifact(
                SUMMARY,
                summary_file.name,
                summary_file,
                {
                    "sha256": _sha256(summary_file),
                    "checks_passed": passed,
                    "checks_total": len(checks),
                    "all_passed": passed == len(checks),
                },
            ),
            event("OUTPUT", "summary"),
        ),
    ]
    for fig in run.figures():
        values = {"file": fig.name, "sha256": _sha256(fig), "size": fig.stat().st_size}
        pairs.append((artifact(FIGURE, fig.name, fig, values), event("OUTPUT", fig.name)))
    probes_file = run.file("probes.npz")
    if probes_file.exists():  # Experiment(probes=...): activations and measured importances
        activations, importance = _probe_values(probes_file, summary)
        pairs.append(
            (artifact(ACTIVATIONS, probes_file.name, probes_file, activations), event("OUTPUT", "probes"))
        )
        pairs.append(
            (
                artifact(FEATURE_IMPORTANCE, "feature_importance", None, importance),
                event("OUTPUT", "feature_importance"),
            )
        )
    return execution, pairs


def _probe_values(path: Path, summary: dict) -> tuple[dict, dict]:
    """(Activations properties, FeatureImportance properties) of a run's probes.npz. `neurons` answers what
    the neurons did while training from the store alone: per kept model, each neuron's activation on every
    one-hot probe (feature i alone at 1) at the first and the last frame, and the feature it responds to
    most at each frame."""
    p = store.read_npz(path)
    if "probe_kind" in p and str(p["probe_kind"]) == "facts":
        return _fact_probe_values(path, p, summary)
    n = p["probe_inputs"].shape[1]
    onehot = p["probe_hidden"][..., :n]  # [M, S, m, n]
    neurons = []
    for j, d in enumerate(p["probe_density"]):
        h = onehot[j]
        neurons.append(
            {
                "density": round(float(d), 4),
                "first": np.round(h[0], 3).tolist(),
                "final": np.round(h[-1], 3).tolist(),
                "top_feature_per_frame": np.argmax(h, axis=2).T.tolist() if h.shape[1] else [],
            }
        )
    steps = p["probe_steps"]
    activations = {
        "sha256": _sha256(path),
        "size": path.stat().st_size,
        "arrays": {k: list(v.shape) for k, v in p.items()},
        "steps": _plain(steps),
        "probe_set": f"{n} one-hot (each feature alone at 1) + {p['probe_inputs'].shape[2] - n} samples of "
        "the run's data, at every weight snapshot (computed from the stored weights)",
        "neurons": neurons,
    }
    checks = [
        c
        for c in summary.get("checks") or []
        if isinstance(c, dict) and str(c.get("name", "")).startswith("measured feature importance")
    ]
    rows = summary.get("feature_importance") or []
    importance = {
        "method": "ablation: increase of the importance-weighted loss when feature i is zeroed (target "
        "kept), on common samples; grad_input: x_i d/dx_i sum_j I_j y_j y'_j where x_i != 0",
        "densities": _plain(p["probe_density"]),
        "importance": np.round(p["importance"], 6).tolist(),
        "ablation": np.round(p["ablation"], 8).tolist(),
        "grad_input": np.round(p["grad_input"], 8).tolist(),
        "represented": [np.flatnonzero(r).tolist() for r in p["represented"]],
        "rho": [r.get("rho") for r in rows] if rows else None,
        "check_passed": bool(checks[0].get("passed")) if checks else None,
        "check": checks[0] if checks else None,
    }
    return activations, importance


def _fact_probe_values(path: Path, p: dict, summary: dict) -> tuple[dict, dict]:
    """_probe_values for a fact MLP's probes.npz (fact_probes.FactProbes): the neurons' responses to every
    fact key at the first and last frame and the fact each responds to most per frame; per fact, its name
    tokens' and largest neurons' shares of its margin (from the summary, which has them rounded)."""
    hidden = p["probe_hidden"][0]  # [S, m, N]
    activations = {
        "sha256": _sha256(path),
        "size": path.stat().st_size,
        "arrays": {k: list(v.shape) for k, v in p.items()},
        "steps": _plain(p["probe_steps"]),
        "probe_set": f"{hidden.shape[2]} fact keys (e_first + e_last of every fact), at every weight snapshot "
        "(computed from the stored weights)",
        "accuracy": np.round(p["probe_accuracy"][0], 4).tolist(),
        "neurons": [
            {
                "label": f"{hidden.shape[2]} facts",
                "first": np.round(hidden[0], 3).tolist(),
                "final": np.round(hidden[-1], 3).tolist(),
                "top_fact_per_frame": np.argmax(hidden, axis=2).T.tolist(),
            }
        ],
    }
    checks = [
        c
        for c in summary.get("checks") or []
        if isinstance(c, dict) and str(c.get("name", "")).startswith("measured token importance")
    ]
    importance = {
        "kind": "facts",
        **(summary.get("fact_importance") or {}),
        "check_passed": bool(checks[0].get("passed")) if checks else None,
        "check": checks[0] if checks else None,
    }
    return activations, importance


def export_runs(runs: list[Run], store_path) -> dict:
    """Export runs into the MLMD store at store_path (a SQLite file, created if missing).

    Returns what was added: counts of executions, artifacts, events and contexts, plus `added` (one entry
    per new run: name, artifacts, events), `existing` (runs already in the store: nothing is added for them)
    and `skipped` ((name, reason): incomplete runs, and runs whose files are missing or corrupt).
    """
    _, pb, errors = _mlmd()
    db = open_store(store_path, create=True)
    out = {"executions": 0, "artifacts": 0, "events": 0, "contexts": 0}
    added, existing, skipped, seen = [], [], [], set()
    with _errors(store_path):
        type_ids = _register_types(db)
        for run in runs:
            name = f"{run.experiment}/{run.id}"
            if name in seen:
                continue
            seen.add(name)
            if db.get_execution_by_type_and_name(RUN, name) is not None:
                existing.append(name)
                continue
            status = run.status()
            if status != "complete":
                skipped.append((name, f"not complete ({status}); export it once it is"))
                continue
            try:
                execution, pairs = _describe_run(run, type_ids)
            except RunError as e:
                skipped.append((name, one_line(e)))
                continue
            context = db.get_context_by_type_and_name(EXPERIMENT, run.experiment)
            new_context = context is None
            if new_context:
                context = pb.Context(type_id=type_ids[EXPERIMENT], name=run.experiment)
                _set_properties(context, EXPERIMENT, {"experiment": run.experiment})
            try:
                db.put_execution(
                    execution, pairs, [context], reuse_context_if_already_exist=True, force_reuse_context=True
                )
            except errors.AlreadyExistsError:  # another export put the same run in meanwhile
                existing.append(name)
                continue
            out["executions"] += 1
            out["artifacts"] += len(pairs)
            out["events"] += len(pairs)
            out["contexts"] += new_context
            added.append({"run": name, "artifacts": len(pairs), "events": len(pairs)})
    return {**out, "added": added, "existing": existing, "skipped": skipped, "store": str(store_path)}


# --- show ----------------------------------------------------------------------------------------------


def _newest(executions: list) -> list:
    """Newest first: run ids start with their UTC start time."""
    return sorted(executions, key=lambda e: (_prop(e, "run_id") or "", e.id), reverse=True)


def _producers(db, artifacts: list) -> list:
    """The executions with an OUTPUT event on any of these artifacts."""
    _, pb, _ = _mlmd()
    if not artifacts:
        return []
    events = db.get_events_by_artifact_ids([a.id for a in artifacts])
    ids = sorted({e.execution_id for e in events if e.type == pb.Event.OUTPUT})
    return db.get_executions_by_id(ids) if ids else []


def _find(db, ref: str) -> tuple[list, dict]:
    """(matching executions, how they matched): by uri, run directory, file content, figure name, then run
    name/id the way `store.find_run` takes them."""
    path = Path(ref).expanduser()
    absolute = str(path.resolve())
    type_names = {t.id: t.name for t in db.get_artifact_types()}
    runs = db.get_executions_by_type(RUN)

    by_uri = db.get_artifacts_by_uri(absolute)
    if by_uri:
        types = sorted({type_names.get(a.type_id, "?") for a in by_uri})
        return _producers(db, by_uri), {"by": "uri", "type": ", ".join(types), "uri": absolute}
    in_dir = [e for e in runs if _prop(e, "run_dir") == absolute]
    if in_dir:
        return in_dir, {"by": "run directory", "uri": absolute}
    if path.is_file():  # e.g. figures/intro.png, a copy of a run's figure: the same bytes
        digest = _sha256(path)
        same = [
            a
            for name in (FIGURE, WEIGHTS, SUMMARY, ACTIVATIONS)
            for a in db.get_artifacts_by_type(name)
            if _prop(a, "sha256") == digest
        ]
        if same:
            return _producers(db, same), {
                "by": "sha256",
                "type": type_names[same[0].type_id],
                "sha256": digest,
            }
    if path.suffix == ".png":
        named = [a for a in db.get_artifacts_by_type(FIGURE) if _prop(a, "file") == path.name]
        if named:
            return _producers(db, named), {"by": "figure file name", "type": FIGURE, "file": path.name}

    if ref == "latest" or store.NAME.match(ref):
        pool = runs if ref == "latest" else [e for e in runs if _prop(e, "experiment") == ref]
        if pool:
            return _newest(pool)[:1], {"by": "newest run" if ref == "latest" else "experiment's newest run"}
    exact = [e for e in runs if e.name == ref or _prop(e, "run_id") == ref]
    matches = exact or [
        e for e in runs if e.name.startswith(ref) or (_prop(e, "run_id") or "").startswith(ref)
    ]
    if len(matches) > 1:
        names = ", ".join(e.name for e in _newest(matches)[:4])
        raise RunError(
            f"ambiguous run id {ref!r}: it matches {len(matches)} runs in the store ({names}, ...)"
        )
    return matches, {"by": "run id"}


def show(ref: str, store_path) -> dict:
    """Where ref came from, answered from the MLMD store alone (the run directory may be gone).

    ref: a figure path (or a copy of a figure, matched by content, or just a figure's file name), a
    results.npz or summary.json path, a run directory, or a run as `store.find_run` takes it (run id or
    unique prefix, EXPERIMENT/RUN_ID, an experiment name for its newest run, "latest"). Several runs can
    match a figure's file name or content: the newest answers, and `other_runs` names the rest.

    Returns: ref, matched (how), run (name, ids, status, directory, times), config (config.json as
    exported), code (git commit, dirty, diff hash), environment, command, sweeps, lineage (lineage.json as
    exported), data (the input Data artifact's properties), outputs (type, uri, properties of each output
    artifact), other_runs.
    """
    db = open_store(store_path)
    with _errors(store_path):
        found, matched = _find(db, ref)
        if not found:
            raise RunError(
                f"nothing in lineage store {store_path} matches {ref!r} (no figure, results, run directory "
                "or run id of that name; add runs with: superpose lineage export)"
            )
        execution, *others = _newest(found)
        props = _properties(execution)
        events = db.get_events_by_execution_ids([execution.id])
        artifacts = {a.id: a for a in db.get_artifacts_by_id(sorted({e.artifact_id for e in events}))}
        type_names = {t.id: t.name for t in db.get_artifact_types()}
        _, pb, _ = _mlmd()
        data, outputs = None, []
        for e in sorted(events, key=lambda e: e.artifact_id):
            a = artifacts.get(e.artifact_id)
            if a is None:
                continue
            entry = {
                "type": type_names.get(a.type_id, "?"),
                "uri": a.uri or None,
                "properties": _properties(a),
            }
            if e.type == pb.Event.INPUT and entry["type"] == DATA:
                data = entry["properties"]
            elif e.type == pb.Event.OUTPUT:
                outputs.append(entry)
    config = props.pop("config_json", None)
    env = props.pop("environment", None) or {}
    return {
        "ref": ref,
        "store": str(store_path),
        "matched": matched,
        "run": {
            "name": execution.name,
            "run_id": props.get("run_id"),
            "experiment": props.get("experiment"),
            "status": props.get("status"),
            "state": pb.Execution.State.Name(execution.last_known_state),
            "run_dir": props.get("run_dir"),
            "started": props.get("started"),
            "ended": props.get("ended"),
            "wall_s": props.get("wall_s"),
            "train_s": props.get("train_s"),
            "compile_s": props.get("compile_s"),
        },
        "config": config if isinstance(config, dict) else {},
        "code": {k: props.get(k) for k in ("git_commit", "git_dirty", "git_diff_sha256")},
        "environment": {
            **env,
            "jax_backend": props.get("jax_backend", env.get("jax_backend")),
            "devices": props.get("devices", env.get("devices")),
            "packages": props.get("packages", env.get("packages")),
        },
        "command": props.get("command"),
        "sweeps": props.get("sweeps"),
        "lineage": props.get("lineage_json"),
        "data": data,
        "outputs": outputs,
        "other_runs": [e.name for e in others],
    }


def _short(value, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _format_probes(outputs: list) -> list[str]:
    """Lines for the measured importances and the neurons' story, when the run kept probes."""
    lines = []
    for out in outputs:
        props = out["properties"]
        if out["type"] == FEATURE_IMPORTANCE and props.get("kind") == "facts":
            from superpose.lab.fact_probes import format_importance

            passed = props.get("check_passed")
            verdict = "" if passed is None else (" (check passed)" if passed else " (check FAILED)")
            lines.append(f"fact importance{verdict}: which name tokens and neurons each fact relies on")
            lines += format_importance({"fact_importance": props}, where="the store").splitlines()[1:]
        elif out["type"] == FEATURE_IMPORTANCE:
            passed = props.get("check_passed")
            verdict = "" if passed is None else (" (check passed)" if passed else " (check FAILED)")
            lines.append(f"feature importance{verdict}: which input features the kept models rely on")
            lines.append("  measured ablation (loss increase when zeroed) [configured I_i]:")
            for d, abl, imp, rep in zip(
                props.get("densities") or [],
                props.get("ablation") or [],
                props.get("importance") or [],
                props.get("represented") or [],
            ):
                top = sorted(range(len(abl)), key=lambda i: -abl[i])
                pairs = " ".join(f"{i}:{abl[i]:.3g}[{imp[i]:.2g}]" for i in top)
                lines.append(f"    density {d:.3g}: by measured rank {pairs}; represented {rep}")
        elif out["type"] == ACTIVATIONS:
            steps = props.get("steps") or []
            span = f"steps {steps[0]}..{steps[-1]}, {len(steps)} frames" if steps else "no frames"
            lines.append(f"activations ({span}): {props.get('probe_set')}")
            if not props.get("accuracy"):  # a feature model's (a fact MLP's has its accuracy per frame)
                lines.append(
                    "  neuron -> the feature it responds to most (one-hot probes), first frame -> final:"
                )
            if props.get("accuracy"):
                acc = props["accuracy"]
                lines.append(
                    f"  facts stored (top-1 on the keys): {acc[0]:.0%} at the first frame -> {acc[-1]:.0%}"
                )
            for model in props.get("neurons") or []:
                if "top_fact_per_frame" in model:
                    said = [f"h{k}: {row[0]}->{row[-1]}" for k, row in enumerate(model["top_fact_per_frame"])]
                    lines.append("  neuron -> the fact key it responds to most, first frame -> final:")
                    lines.append(f"    {'; '.join(said)}")
                    continue
                tops = model.get("top_feature_per_frame") or []
                final = model.get("final") or []
                said = []
                for k, row in enumerate(tops):
                    peak = max(final[k]) if k < len(final) and final[k] else 0.0
                    said.append(f"h{k}: {row[0]}->{row[-1]} ({peak:.2f})")
                lines.append(f"    density {model.get('density'):.3g}: {'; '.join(said)}")
    return lines


def format_show(result: dict, rerun: str | None = None) -> str:
    """The text form of a `show` result (rerun: the command line that reruns the run, if known)."""
    run, code, env = result["run"], result["code"], result["environment"]
    matched = result["matched"]
    how = matched["by"] + (f" ({matched['type']})" if matched.get("type") else "")
    lines = [
        f"ref         {result['ref']}",
        f"matched     {how} in {result['store']}",
        f"produced by {run['name']} ({run['status'] or run['state']})",
        f"run dir     {run['run_dir'] or '-'}",
    ]
    if rerun:
        lines.append(f"rerun       {rerun}")
    dirty = " (dirty)" if code.get("git_dirty") else ""
    diff = f", diff sha256 {code['git_diff_sha256'][:12]}" if code.get("git_diff_sha256") else ""
    rows = [
        ("git", f"{code.get('git_commit') or '-'}{dirty}{diff}"),
        ("started", run.get("started") or "-"),
        ("ended", run.get("ended") or "-"),
        ("wall", f"{run['wall_s']:.1f}s" if isinstance(run.get("wall_s"), float) else "-"),
        ("backend", f"{env.get('jax_backend') or '-'}: {', '.join(env.get('devices') or []) or '-'}"),
        ("packages", ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v) or "-"),
        ("python", f"{env.get('python', '-')} on {env.get('platform', '-')}"),
        ("command", " ".join(map(str, result.get("command") or [])) or "-"),
    ]
    lines.append("lineage")
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    lines.append("config")
    lines += [f"  {k} = {v}" for k, v in (result["config"].get("config") or {}).items()] or ["  (none)"]
    lines.append(f"data (input {DATA})")
    data = {k: v for k, v in (result["data"] or {}).items() if k != "data_arrays"}
    lines += [f"  {k} = {_short(v)}" for k, v in data.items()] or ["  (none recorded)"]
    lines.append("outputs")
    for out in result["outputs"]:
        props = out["properties"]
        detail = (
            f"{props.get('checks_passed')}/{props.get('checks_total')} checks passed"
            if out["type"] == SUMMARY
            else "measured importances, below"
            if out["type"] == FEATURE_IMPORTANCE
            else f"sha256 {str(props.get('sha256', '-'))[:12]}"
        )
        lines.append(f"  {out['type'].ljust(len(WEIGHTS))}  {out['uri'] or '-'}  {detail}")
    lines += _format_probes(result["outputs"])
    if result["other_runs"]:
        lines.append(
            f"also produced by {len(result['other_runs'])} older run(s): {', '.join(result['other_runs'][:4])}"
        )
    return "\n".join(lines)
