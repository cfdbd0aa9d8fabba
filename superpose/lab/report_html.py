"""The HTML of `superpose report`'s pages: the index, a run page, an experiment page, a viewer page.

Owns: turning what report.py read from a run (a `RunView`) into static HTML, every value escaped. Does not:
read runs or write files (report.py does), or draw (report_assets/report.js and viewer.js do, from the
JSON embedded here or the data files report.py writes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from html import escape
from pathlib import Path

STATUS_TEXT = {
    "complete": "complete",
    "running": "running",
    "failed": "failed",
    "incomplete": "incomplete",
    "corrupt": "corrupt",
}


@dataclasses.dataclass
class RunView:
    """What the pages show of one run (everything already read; missing parts are None)."""

    experiment: str
    id: str
    path: Path  # the run directory
    status: str  # complete | running | failed | incomplete | corrupt
    config: dict | None
    lineage: dict
    summary: dict | None
    figures: list[str]  # file names, copied next to the run page under figures/
    raw: list[tuple[str, str]]  # (label, href relative to the run page)
    derived: dict  # from report_data: loss curves, viewer plan (cached by report.py)
    errors: list[str]
    mlmd: dict | None = None  # superpose.lab.mlmd.show's answer, or {"error": ...}
    rerun: str | None = None

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.id}"

    @property
    def checks(self) -> list[dict]:
        checks = (self.summary or {}).get("checks") or []
        return [c for c in checks if isinstance(c, dict)]

    @property
    def quick(self) -> bool | None:
        return None if self.config is None else bool(self.config.get("quick"))

    @property
    def has_viewer(self) -> bool:
        return bool(self.derived.get("viewer"))


def e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def text_of(value, limit: int | None = None) -> str:
    """A check value or config value as short text (JSON for lists and dicts)."""
    if isinstance(value, str):
        s = value
    elif isinstance(value, float):
        s = f"{value:.6g}"
    else:
        s = json.dumps(value, default=str)
    return s if limit is None or len(s) <= limit else s[: limit - 1] + "…"


def seconds(s) -> str:
    if not isinstance(s, (int, float)):
        return "–"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def short_time(text) -> str:
    return str(text).replace("T", " ").replace("+00:00", " UTC") if text else "–"


def commit_text(lineage: dict) -> str:
    commit = lineage.get("git_commit")
    if not commit:
        return "–"
    return commit[:10] + (" (dirty)" if lineage.get("git_dirty") else "")


def device_text(lineage: dict) -> str:
    env = lineage.get("environment") if isinstance(lineage.get("environment"), dict) else {}
    devices = env.get("devices") or []
    backend = env.get("jax_backend") or "–"
    return f"{backend} × {len(devices)}" if devices else backend


def processes_text(lineage: dict) -> str:
    env = lineage.get("environment") if isinstance(lineage.get("environment"), dict) else {}
    return str(env.get("processes", "–"))


def checks_cell(view: RunView) -> str:
    checks = view.checks
    if view.summary is None:
        return '<span class="muted">no summary</span>'
    passed = sum(bool(c.get("passed")) for c in checks)
    failed = [c.get("name", "?") for c in checks if not c.get("passed")]
    cls = "pass" if not failed else "fail"
    title = "failed: " + "; ".join(failed) if failed else "every check passed"
    return f'<span class="{cls}" title="{e(title)}">{passed}/{len(checks)} passed</span>'


def badge(status: str) -> str:
    return f'<span class="badge status-{e(status)}" data-status="{e(status)}">{e(STATUS_TEXT.get(status, status))}</span>'


def page(title: str, body: str, depth: int, scripts: tuple[str, ...] = (), crumbs: str = "") -> str:
    """A whole page; depth: how many folders below the site root it lives (for relative asset links)."""
    up = "../" * depth
    tags = "".join(f'<script src="{e(s)}"></script>' for s in scripts)
    nav = f'<nav><a href="{up}index.html">all runs</a>{crumbs}</nav>'
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no favicon request (a 404 on a web server)
        f'<title>{e(title)}</title><link rel="stylesheet" href="{up}assets/style.css"></head>'
        f"<body>{nav}<main>{body}</main>{tags}</body></html>\n"
    )


def json_script(element_id: str, obj) -> str:
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{e(element_id)}">{text}</script>'


def table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def kv_table(pairs: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


# --- the index ---------------------------------------------------------------------------------------------


def index_page(views: list[RunView], generated: str) -> str:
    rows = []
    for v in sorted(sorted(views, key=lambda v: v.id, reverse=True), key=lambda v: v.experiment):
        row_cls = f"status-{v.status}"
        quick = "–" if v.quick is None else ("quick" if v.quick else "full")
        viewer = f' · <a href="runs/{e(v.key)}/viewer.html">viewer</a>' if v.has_viewer else ""
        rows.append(
            f'<tr class="{row_cls}" data-run="{e(v.key)}">'
            f'<td><a href="experiments/{e(v.experiment)}.html">{e(v.experiment)}</a></td>'
            f'<td><a href="runs/{e(v.key)}/index.html">{e(v.id)}</a>{viewer}</td>'
            f"<td>{e(short_time(v.lineage.get('started')))}</td><td>{quick}</td><td>{badge(v.status)}</td>"
            f"<td>{checks_cell(v)}</td><td><code>{e(commit_text(v.lineage))}</code></td>"
            f"<td>{e(seconds(v.lineage.get('wall_s')))}</td><td>{e(device_text(v.lineage))}</td>"
            f"<td>{e(processes_text(v.lineage))}</td></tr>"
        )
    header = [
        "experiment",
        "run",
        "started",
        "mode",
        "status",
        "checks",
        "commit",
        "wall",
        "device",
        "processes",
    ]
    head = "".join(f"<th>{h}</th>" for h in header)
    counts = {s: sum(v.status == s for v in views) for s in STATUS_TEXT}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no runs"
    body = (
        f'<h1>superpose runs</h1><p class="muted">{len(views)} runs: {e(summary)}. Written <span id="generated">{e(generated)}</span> '
        "by <code>superpose report</code>; never modifies the runs.</p>"
        f'<table class="runs" id="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    return page("superpose runs", body, 0, scripts=("assets/report.js",))


# --- a run -------------------------------------------------------------------------------------------------


def _checks_table(view: RunView) -> str:
    if view.summary is None:
        return '<p class="muted">No summary.json: the run did not finish, so nothing was checked.</p>'
    if not view.checks:
        return '<p class="muted">This run records no checks.</p>'
    rows = [
        [
            e(c.get("name")),
            f"<code>{e(text_of(c.get('value')))}</code>",
            e(text_of(c.get("expected"))),
            '<span class="pass">pass</span>' if c.get("passed") else '<span class="fail">FAIL</span>',
        ]
        for c in view.checks
    ]
    return table(["claim checked", "measured", "the bar", "result"], rows, "checks")


def _lineage_section(view: RunView) -> str:
    lin = view.lineage
    env = lin.get("environment") if isinstance(lin.get("environment"), dict) else {}
    packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
    pairs = [
        (
            "commit",
            f"<code>{e(lin.get('git_commit') or '–')}</code>" + (" (dirty)" if lin.get("git_dirty") else ""),
        ),
        ("uncommitted diff sha256", f"<code>{e(lin.get('git_diff_sha256') or '–')}</code>"),
        ("started / ended", f"{e(short_time(lin.get('started')))} / {e(short_time(lin.get('ended')))}"),
        (
            "wall / train / compile",
            f"{e(seconds(lin.get('wall_s')))} / {e(seconds(lin.get('train_s')))} / {e(seconds(lin.get('compile_s')))}",
        ),
        (
            "backend and devices",
            e(f"{env.get('jax_backend', '–')}: {', '.join(env.get('devices') or []) or '–'}"),
        ),
        ("processes", e(env.get("processes", "–"))),
        (
            "python and platform",
            e(f"{env.get('python', '–')} on {env.get('platform', '–')} ({env.get('host', '–')})"),
        ),
        ("packages", e(packages or "–")),
        ("command", f"<code>{e(shlex.join(map(str, lin.get('command') or [])) or '–')}</code>"),
    ]
    if view.rerun:
        pairs.insert(0, ("rerun", f"<code>{e(view.rerun)}</code>"))
    if lin.get("error"):
        pairs.append(("error", f'<span class="fail">{e(lin["error"])}</span>'))
    out = kv_table(pairs)
    sessions = [s for s in lin.get("sessions") or [] if isinstance(s, dict)]
    if sessions:
        rows = []
        for s in sessions:
            cache = s.get("compile_cache") if isinstance(s.get("compile_cache"), dict) else {}
            cache_text = (
                f"{cache.get('hits', '–')} hits, {cache.get('misses', '–')} misses" if cache else "off"
            )
            rows.append(
                [
                    e(short_time(s.get("started"))),
                    e(s.get("outcome", "–")),
                    e(seconds(s.get("wall_s"))),
                    e(seconds(s.get("compile_s"))),
                    e(cache_text)
                    + (f'<br><span class="muted">{e(cache.get("dir"))}</span>' if cache.get("dir") else ""),
                    e(s.get("host", "–")),
                    f"<code>{e(str(s.get('git_commit') or '–')[:10])}</code>",
                ]
            )
        out += "<h3>Sessions (the first run and each resume)</h3>" + table(
            ["started", "outcome", "wall", "compile", "compile cache", "host", "commit"], rows
        )
    sweeps = {k: s for k, s in (lin.get("sweeps") or {}).items() if isinstance(s, dict)}
    if sweeps:
        rows = [
            [
                e(name),
                e(s.get("instances")),
                e(s.get("n_steps")),
                e(s.get("root_seed")),
                e(seconds(s.get("train_s"))),
                "done" if s.get("done") else '<span class="fail">unfinished</span>',
            ]
            for name, s in sweeps.items()
        ]
        out += "<h3>Sweeps</h3>" + table(["sweep", "instances", "steps", "root seed", "train", "state"], rows)
    return out


def _mlmd_section(view: RunView) -> str:
    info = view.mlmd
    if info is None:
        return ""
    head = '<h2 id="mlmd">ML Metadata</h2>'
    if "error" in info:
        return head + f'<p class="muted">{e(info["error"])}</p>'
    run = info.get("run") or {}
    out = (
        head
        + f"<p>Execution <code>{e(run.get('name'))}</code> (type superpose.Run, state {e(run.get('state'))}) in <code>{e(info.get('store'))}</code>.</p>"
    )
    data = info.get("data") or {}
    shown = {k: v for k, v in data.items() if k != "data_arrays" and v not in (None, {}, [])}
    out += "<h3>Input artifact: superpose.Data</h3>" + (
        kv_table([(k, f"<code>{e(text_of(v, 300))}</code>") for k, v in shown.items()])
        if shown
        else "<p>none recorded</p>"
    )
    rows = []
    for a in info.get("outputs") or []:
        props = a.get("properties") or {}
        digest = props.get("sha256")
        now = a.get("sha256_now")
        same = (
            ""
            if now is None
            else (
                ' <span class="pass">matches the file</span>'
                if now == digest
                else ' <span class="fail">file changed since export</span>'
            )
        )
        rows.append(
            [
                e(a.get("type")),
                f"<code>{e(Path(a.get('uri') or '-').name)}</code>",
                f"<code>{e(digest or '–')}</code>{same}",
            ]
        )
    out += "<h3>Output artifacts</h3>" + table(["type", "file", "sha256"], rows)
    return out


def run_page(view: RunView) -> str:
    crumbs = (
        f' › <a href="../../../experiments/{e(view.experiment)}.html">{e(view.experiment)}</a> › {e(view.id)}'
    )
    parts = [f"<h1>{e(view.experiment)} <small>{e(view.id)}</small> {badge(view.status)}</h1>"]
    if view.quick is not None:
        parts.append(
            f'<p class="muted">{"quick" if view.quick else "full"} run · commit <code>{e(commit_text(view.lineage))}</code> · {e(device_text(view.lineage))}</p>'
        )
    for message in view.errors:
        parts.append(f'<p class="fail">{e(message)}</p>')
    if view.status == "incomplete":
        parts.append(
            f'<p class="warn">Interrupted or killed before its summary was written: <code>superpose resume {e(view.path)}</code></p>'
        )
    parts.append("<h2>Checks</h2>" + _checks_table(view))
    viewer = view.derived.get("viewer")
    if viewer:
        parts.append(
            f'<h2>Geometry</h2><p><a class="button" href="viewer.html">open the geometry viewer</a> '
            f"{viewer['kept_instances']} of {viewer['n_instances']} instances, {viewer['kept_snapshots']} of "
            f"{viewer['n_snapshots']} snapshots ({viewer['m']} hidden dimensions, {viewer['n']} features)</p>"
        )
    heatmap = view.derived.get("probes")
    if heatmap:
        what = "fact keys" if heatmap["kind"] == "facts" else "probes (each feature alone, then data samples)"
        parts.append(
            f'<h2>Activations</h2><p><a class="button" href="probes.html">open the probe heatmap</a> '
            f"{heatmap['m']} neurons x {heatmap['n_probes']} {what}, {heatmap['models']} kept model(s), "
            f"{heatmap['frames']} of {heatmap['n_frames']} frames</p>"
        )
    if view.figures:
        figs = "".join(
            f'<figure><a href="figures/{e(f)}"><img src="figures/{e(f)}" alt="{e(f)}" loading="lazy"></a><figcaption>{e(f)}</figcaption></figure>'
            for f in view.figures
        )
        parts.append(f'<h2>Figures and animations</h2><div class="figures">{figs}</div>')
    curves = view.derived.get("loss_curves") or []
    if curves:
        canvases = "".join(
            f'<figure class="chart"><canvas class="loss-chart" data-curve="{i}" width="560" height="300"></canvas>'
            f"<figcaption>{e(c['name'])}: "
            + (
                f"{len(c['curves'])} curves, coloured from the first instance (dark) to the last (yellow)"
                if "curves" in c
                else f"{c['n_curves']} curves as min, 10%, median, 90%, max"
            )
            + "</figcaption></figure>"
            for i, c in enumerate(curves)
        )
        parts.append(
            f'<h2>Loss curves</h2><div class="figures">{canvases}</div>' + json_script("loss-data", curves)
        )
    if view.config is not None:
        cfg = view.config.get("config") or {}
        options = {k: v for k, v in view.config.items() if k != "config"}
        parts.append(
            "<h2>Config</h2>"
            + kv_table([(k, f"<code>{e(text_of(v))}</code>") for k, v in cfg.items()])
            + "<h3>Run options</h3>"
            + kv_table([(k, f"<code>{e(text_of(v))}</code>") for k, v in options.items()])
        )
    parts.append("<h2>Lineage</h2>" + _lineage_section(view))
    parts.append(_mlmd_section(view))
    links = "".join(f'<li><a href="{e(href)}">{e(label)}</a></li>' for label, href in view.raw)
    parts.append(
        f'<h2>Raw files</h2><ul class="raw">{links}</ul><p class="muted">run directory: <code>{e(view.path)}</code></p>'
    )
    return page(
        f"{view.experiment} {view.id}",
        "".join(parts),
        3,
        scripts=("../../../assets/report.js",),
        crumbs=crumbs,
    )


def viewer_page(view: RunView) -> str:
    crumbs = (
        f' › <a href="../../../experiments/{e(view.experiment)}.html">{e(view.experiment)}</a>'
        f' › <a href="index.html">{e(view.id)}</a> › viewer'
    )
    body = (
        f"<h1>{e(view.experiment)} <small>{e(view.id)}</small> geometry</h1>"
        '<div id="viewer" class="viewer"><div class="controls" id="controls">'
        '<span id="pickers"></span>'
        '<label>step <input type="range" id="step-slider" min="0" max="0" value="0"></label>'
        '<button type="button" id="play">play</button>'
        '<span id="step-label" class="step-label">loading…</span></div>'
        '<div id="notes" class="muted"></div>'
        '<div class="panels"><canvas id="geometry" width="560" height="560"></canvas>'
        '<canvas id="loss" width="520" height="260"></canvas></div>'
        '<p class="muted" id="help"></p></div>'
    )
    return page(
        f"{view.experiment} {view.id} viewer",
        body,
        3,
        scripts=("data/viewer-meta.js", "../../../assets/report.js", "../../../assets/viewer.js"),
        crumbs=crumbs,
    )


def probes_page(view: RunView) -> str:
    crumbs = (
        f' › <a href="../../../experiments/{e(view.experiment)}.html">{e(view.experiment)}</a>'
        f' › <a href="index.html">{e(view.id)}</a> › probes'
    )
    body = (
        f"<h1>{e(view.experiment)} <small>{e(view.id)}</small> neurons x probes</h1>"
        '<div id="probes" class="viewer"><div class="controls">'
        '<label>model <select id="probe-model"></select></label>'
        '<label>step <input type="range" id="probe-slider" min="0" max="0" value="0"></label>'
        '<button type="button" id="probe-play">play</button>'
        '<span id="probe-label" class="step-label">loading…</span></div>'
        '<div class="panels"><canvas id="heatmap" width="900" height="420"></canvas></div>'
        '<p class="muted" id="probe-hover">hover a cell: its neuron, probe and activation</p>'
        '<p class="muted" id="probe-help"></p></div>'
    )
    return page(
        f"{view.experiment} {view.id} probes",
        body,
        3,
        scripts=("data/probes.js", "../../../assets/probes.js"),
        crumbs=crumbs,
    )


# --- an experiment -----------------------------------------------------------------------------------------


def experiment_page(name: str, views: list[RunView]) -> str:
    views = sorted(views, key=lambda v: v.id)
    names: list[str] = []
    for v in views:
        for c in v.checks:
            if c.get("name") not in names:
                names.append(c.get("name"))
    head = ["check", "the bar (newest run)"] + [
        f'<a href="../runs/{e(v.key)}/index.html">{e(v.id)}</a><br>{badge(v.status)}<br>'
        f'<span class="muted">{"quick" if v.quick else "full" if v.quick is not None else ""} · '
        f"<code>{e(commit_text(v.lineage))}</code><br>{e(short_time(v.lineage.get('started')))}</span>"
        for v in views
    ]
    rows = []
    for check_name in names:
        found = [next((c for c in v.checks if c.get("name") == check_name), None) for v in views]
        bar = next((c.get("expected") for c in reversed(found) if c is not None), None)
        cells = [e(check_name), e(text_of(bar, 160))]
        for c in found:
            if c is None:
                cells.append('<span class="muted">–</span>')
            else:
                cls = "pass" if c.get("passed") else "fail"
                value = text_of(c.get("value"), 160)
                cells.append(f'<span class="{cls}" title="{e(text_of(c.get("expected")))}">{e(value)}</span>')
        rows.append(cells)
    body = f'<h1>{e(name)}</h1><p class="muted">{len(views)} runs, oldest first. Each cell: the measured value, green if the check passed (hover for the bar).</p>'
    body += (
        table(head, rows, "compare")
        if rows
        else '<p class="muted">No run of this experiment has checks yet.</p>'
    )
    return page(name, body, 1, crumbs=f" › {e(name)}")


def redirect_page(target: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={e(target)}">'
        f'<title>redirect</title></head><body><a href="{e(target)}">{e(target)}</a></body></html>\n'
    )


def relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()
