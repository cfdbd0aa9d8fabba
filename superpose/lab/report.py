"""`superpose report`: the run store as a static site (index, run pages, experiment pages, geometry viewer).

Owns: reading runs for the report (through store.py's readers: a corrupt file becomes a message on the page,
never a crash), the site's layout, and updating it in place: a run's data files are rebuilt only when its
files changed (a fingerprint of their names, sizes and mtimes, kept in OUT/.superpose-report.json), and a
page is rewritten only when its bytes differ. Never writes inside a run directory. Does not: write HTML
(report_html.py) or choose what data goes to the browser (report_data.py).

Site layout (OUT/):
    index.html                      every run: experiment, start, quick/full, status, checks, commit, ...
    experiments/EXPERIMENT.html     its runs side by side, each check's value per run
    viewer/EXPERIMENT.html          a stable link to the newest complete run's viewer (for the README)
    runs/EXPERIMENT/RUN_ID/         index.html (the run), viewer.html, probes.html (when the run keeps
                                    probes.npz), figures/, config.json, lineage.json, summary.json (copies),
                                    data/ (loss curves, viewer-meta.js, instance-I.js, probes.js)
    assets/                         style.css, report.js, viewer.js, probes.js (hand-written canvas code, no
                                    library)
Pages work from file:// and from any static web server: data is embedded in the page or loaded with script
tags (file:// pages cannot fetch JSON). Links to results.npz point into the run store by relative path.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import shutil
from importlib import resources
from pathlib import Path

from superpose.config import ConfigError
from superpose.lab import report_data, report_html, store
from superpose.lab.report_html import RunView

REPORT_VERSION = 2  # bump when the data files' format changes: every run's data is rebuilt
MANIFEST = ".superpose-report.json"
ASSETS = ("style.css", "report.js", "viewer.js", "probes.js")
COPIED_JSON = ("config.json", "lineage.json", "summary.json")
_STAMP = re.compile(r'<span id="generated">[^<]*</span>')


def _write(path: Path, data: bytes | str) -> bool:
    """Write atomically unless the file already holds exactly these bytes; True if it was written."""
    data = data.encode() if isinstance(data, str) else data
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    store._atomic_write(path, lambda f: f.write(data))
    return True


def _fingerprint(run: store.Run) -> str:
    """Names, sizes and mtimes of the run's top-level files (not the lock, not temp files)."""
    items = []
    for p in sorted(run.path.iterdir()):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            items.append((p.name, st.st_size, st.st_mtime_ns))
    text = json.dumps([REPORT_VERSION, report_data.VIEWER_VALUES, items])
    return hashlib.sha256(text.encode()).hexdigest()


def _derive(run: store.Run, site_dir: Path) -> tuple[dict, list[str]]:
    """Read results.npz; write the run's data files; return (derived summary, error messages)."""
    data_dir = site_dir / "data"
    derived: dict = {}
    if not run.file("results.npz").is_file():
        return derived, []
    try:
        arrays = run.results()
    except store.RunError as err:
        return derived, [str(err)]
    derived["arrays"] = {k: list(v.shape) for k, v in arrays.items()}
    derived["loss_curves"] = report_data.loss_curves(arrays)
    plan = report_data.viewer_plan(arrays)
    if plan is not None:
        meta, per_instance = report_data.viewer_data(arrays, plan)
        meta.update(experiment=run.experiment, run=run.id)
        text = json.dumps(meta, separators=(",", ":"), allow_nan=False)
        _write(data_dir / "viewer-meta.js", f"window.SUPERPOSE_VIEWER_META = {text};\n")
        for i, entry in per_instance.items():
            text = json.dumps(entry, separators=(",", ":"), allow_nan=False)
            _write(data_dir / f"instance-{i}.js", f"window.SUPERPOSE_VIEWER_INSTANCE({i}, {text});\n")
        derived["viewer"] = {
            "n_instances": plan["n_instances"],
            "kept_instances": len(plan["instances"]),
            "n_snapshots": plan["n_snapshots"],
            "kept_snapshots": len(plan["snapshots"]),
            "m": plan["m"],
            "n": plan["n"],
            "files": ["viewer-meta.js"] + [f"instance-{i}.js" for i in plan["instances"]],
        }
    if run.file("probes.npz").is_file():  # Experiment(probes=...): the neuron x probe heatmap page
        try:
            probes = report_data.probes_data(store.read_npz(run.file("probes.npz")))
        except (store.RunError, KeyError, ValueError) as err:
            return derived, [f"probes.npz: {err}"]
        text = json.dumps(probes, separators=(",", ":"), allow_nan=False)
        _write(data_dir / "probes.js", f"window.SUPERPOSE_PROBES = {text};\n")
        derived["probes"] = {
            "kind": probes["kind"],
            "models": len(probes["models"]),
            "frames": len(probes["steps"]),
            "n_frames": probes["n_frames"],
            "m": probes["m"],
            "n_probes": probes["n_probes"],
            "files": ["probes.js"],
        }
    keep = set((derived.get("viewer") or {}).get("files", [])) | set(
        (derived.get("probes") or {}).get("files", [])
    )
    if data_dir.is_dir():
        for old in data_dir.iterdir():  # instance files of an earlier plan
            if old.name not in keep:
                old.unlink()
    return derived, []


def _read(run: store.Run) -> tuple[dict | None, dict, dict | None, list[str]]:
    """(config, lineage, summary, errors), each file read with store's checks; a bad file is an error line."""
    errors = []

    def attempt(read, default):
        try:
            return read()
        except store.RunError as err:
            errors.append(str(err))
            return default

    config = attempt(run.config, None)
    lineage = attempt(run.lineage, {}) if run.file("lineage.json").exists() else {}
    summary = attempt(run.summary, None) if run.complete else None
    return config, lineage, summary, errors


def _figures(run: store.Run, summary: dict | None) -> list[Path]:
    """Figures and animations: the summary's order first, then any other *.png / *.gif."""
    files = {p.name: p for p in sorted(run.path.iterdir()) if p.is_file() and p.suffix in (".png", ".gif")}
    named = [n for n in (summary or {}).get("figures") or [] if isinstance(n, str) and n in files]
    return [files[n] for n in named] + [p for n, p in files.items() if n not in named]


def _mlmd_info(run: store.Run, store_path: Path) -> dict:
    from superpose.lab import mlmd

    try:
        info = mlmd.show(f"{run.experiment}/{run.id}", store_path)
    except (store.RunError, ConfigError) as err:
        return {"error": f"{err} (add it with: superpose lineage export {run.path} --store {store_path})"}
    for out in info.get("outputs") or []:  # does the file still hold what was exported?
        uri = Path(out.get("uri") or "")
        if uri.is_file():
            with open(uri, "rb") as f:
                out["sha256_now"] = hashlib.file_digest(f, "sha256").hexdigest()
    return info


def _view(
    run: store.Run, out: Path, cached: dict | None, store_path: Path | None
) -> tuple[RunView, dict, int]:
    """The run's page model, its manifest entry, and how many files were (re)written for it."""
    from superpose.lab.cli import rerun_command

    site_dir = out / "runs" / run.experiment / run.id
    site_dir.mkdir(parents=True, exist_ok=True)
    status = run.status()
    config, lineage, summary, errors = _read(run)
    if errors and status == "complete":
        status = "corrupt"
    fingerprint = _fingerprint(run)
    if cached and cached.get("fingerprint") == fingerprint and (site_dir / "index.html").is_file():
        derived, data_errors = cached["derived"], cached.get("errors", [])
    else:
        derived, data_errors = _derive(run, site_dir)
    errors += data_errors
    if data_errors and status == "complete":
        status = "corrupt"
    figures = _figures(run, summary)
    written = 0
    for fig in figures:
        written += _write(site_dir / "figures" / fig.name, fig.read_bytes())
    names = {f.name for f in figures}
    for old in (site_dir / "figures").glob("*") if (site_dir / "figures").is_dir() else []:
        if old.name not in names:  # a figure since deleted from the run
            old.unlink()
    raw = []
    for name in COPIED_JSON:
        src = run.file(name)
        if src.is_file():
            written += _write(site_dir / name, src.read_bytes())
            raw.append((f"{name} (copy)", name))
    for src in sorted(run.path.glob("*.npz")):
        raw.append(
            (
                f"{src.name} ({src.stat().st_size / 2**20:.1f} MiB, in the run store)",
                report_html.relative(src.resolve(), site_dir.resolve()),
            )
        )
    view = RunView(
        experiment=run.experiment,
        id=run.id,
        path=run.path.resolve(),
        status=status,
        config=config,
        lineage=lineage,
        summary=summary,
        figures=[f.name for f in figures],
        raw=raw,
        derived=derived,
        errors=errors,
        mlmd=_mlmd_info(run, store_path) if store_path is not None else None,
        rerun=rerun_command(config) if config else None,
    )
    entry = {"fingerprint": fingerprint, "derived": derived, "errors": data_errors}
    return view, entry, written


def _check_out(out: Path, runs: list[store.Run]) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ConfigError(
            f"--out {out} is a non-empty directory that is not a superpose report; choose another"
        )
    resolved = out.resolve()
    for run in runs:
        path = run.path.resolve()
        if resolved == path or path in resolved.parents or resolved in path.parents:
            raise ConfigError(
                f"--out {out} overlaps the run directory {run.path}; the report never writes into runs"
            )


def build(runs: list[store.Run], out, store_path=None) -> dict:
    """Write or update the site in `out` for `runs`; returns counts: runs, rebuilt (data re-derived),
    written (files whose bytes changed), removed (pages of runs no longer reported)."""
    out = Path(out)
    _check_out(out, runs)
    store_path = Path(store_path) if store_path is not None else None
    if store_path is not None and not store_path.is_file():
        raise ConfigError(
            f"no ML Metadata store at {store_path} (make one with: superpose lineage export --store {store_path})"
        )
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    except ValueError:
        manifest = {}
    old = manifest.get("runs", {}) if manifest.get("version") == REPORT_VERSION else {}
    views, entries, rebuilt, written = [], {}, 0, 0
    for run in runs:
        key = f"{run.experiment}/{run.id}"
        if key in entries:
            continue
        view, entry, n = _view(run, out, old.get(key), store_path)
        rebuilt += (old.get(key) or {}).get("fingerprint") != entry["fingerprint"]
        written += n
        views.append(view)
        entries[key] = entry
    for name in ASSETS:
        written += _write(
            out / "assets" / name,
            resources.files("superpose.lab").joinpath("report_assets", name).read_bytes(),
        )
    for view in views:
        site_dir = out / "runs" / view.experiment / view.id
        written += _write(site_dir / "index.html", report_html.run_page(view))
        viewer = site_dir / "viewer.html"
        if view.has_viewer:
            written += _write(viewer, report_html.viewer_page(view))
        elif viewer.exists():
            viewer.unlink()
        heatmap = site_dir / "probes.html"
        if view.derived.get("probes"):
            written += _write(heatmap, report_html.probes_page(view))
        elif heatmap.exists():
            heatmap.unlink()
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    index = report_html.index_page(views, generated)
    before = (out / "index.html").read_text() if (out / "index.html").is_file() else None
    if before is None or _STAMP.sub("", before) != _STAMP.sub("", index):  # the time alone is no change
        written += _write(out / "index.html", index)
    by_experiment: dict[str, list[RunView]] = {}
    for view in views:
        by_experiment.setdefault(view.experiment, []).append(view)
    for name, group in by_experiment.items():
        written += _write(out / "experiments" / f"{name}.html", report_html.experiment_page(name, group))
        with_viewer = [v for v in group if v.has_viewer and v.status == "complete"] or [
            v for v in group if v.has_viewer
        ]
        if with_viewer:
            newest = max(with_viewer, key=lambda v: v.id)
            written += _write(
                out / "viewer" / f"{name}.html",
                report_html.redirect_page(f"../runs/{newest.key}/viewer.html"),
            )
    removed = _remove_stale(out, set(entries), set(by_experiment), old)
    _write(manifest_path, json.dumps({"version": REPORT_VERSION, "runs": entries}, indent=1) + "\n")
    return {"runs": len(views), "rebuilt": rebuilt, "written": written, "removed": removed}


def _remove_stale(out: Path, keys: set[str], experiments: set[str], old: dict) -> int:
    """Delete the site's pages of runs reported before but not now (only what this report wrote)."""
    removed = 0
    for key in set(old) - keys:
        site_dir = out / "runs" / key
        if site_dir.is_dir():
            shutil.rmtree(site_dir)
            removed += 1
    for folder in ("experiments", "viewer"):
        for page in (out / folder).glob("*.html") if (out / folder).is_dir() else []:
            if page.stem not in experiments:
                page.unlink()
    return removed


def _count_files(out: Path) -> int:
    return sum(1 for p in out.rglob("*") if p.is_file()) if out.is_dir() else 0


def site_size(out) -> int:
    """Bytes of every file under out."""
    return sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
