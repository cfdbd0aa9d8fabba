"""`superpose report` (superpose/lab/report.py): the static site of the run store, its data, and the pages in
a real headless Chromium.

One tiny run store is made once per module: a real intro run (2 densities x 2 seeds, 200 steps, 10
snapshots), a real failed run (the same at lr 1e9: training diverges and the runner records the error), and
an incomplete run (a copy of the first without its summary, as a killed run leaves it). The browser tests
skip with one line where no Chromium, chromedriver or selenium is installed (.ci/run installs them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from superpose.config import ConfigError
from superpose.lab import main, registry, report, report_data, store

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--quick",
    "--quiet",
    "--set",
    "n_steps=200",
    "--set",
    "n_frames=10",
    "--set",
    "n_densities=2",
    "--set",
    "n_seeds=2",
]


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root: its sha256 and mtime, to prove the report changed nothing."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, store.Run]:
    root = tmp_path_factory.mktemp("report-runs")
    intro = registry.load_experiment("intro")
    assert main(intro, [*TINY, "--runs-dir", str(root)]) in (0, 1)  # 1: at 200 steps a check may fail
    (good,) = store.list_runs(root)
    from superpose.lab.animate import animate_run

    (gif,) = animate_run(good)  # the run page shows animations too (10 frames: about a second)
    assert gif.suffix == ".gif" and gif.parent == good.path
    assert main(intro, [*TINY, "--set", "lr=1e9", "--runs-dir", str(root)]) == 2  # diverges
    (failed,) = [r for r in store.list_runs(root) if r.id != good.id]
    killed = root / "intro" / (good.id[:-6] + "abcdef")  # a run killed before its summary was written
    shutil.copytree(good.path, killed)
    (killed / "summary.json").unlink()
    return {"root": root, "good": good, "failed": failed, "incomplete": store.Run.open(killed)}


@pytest.fixture(scope="module")
def site(runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    before = _snapshot(runs["root"])
    stats = report.build(store.list_runs(runs["root"]), out)
    assert stats["runs"] == 3 and stats["rebuilt"] == 3
    assert _snapshot(runs["root"]) == before, "the report modified a run"
    return out


# --- the site's files --------------------------------------------------------------------------------------


def test_site_has_every_page_and_shows_status(runs, site):
    good, failed, incomplete = runs["good"], runs["failed"], runs["incomplete"]
    index = (site / "index.html").read_text()
    for run, status in ((good, "complete"), (failed, "failed"), (incomplete, "incomplete")):
        row = re.search(rf'<tr class="status-{status}" data-run="intro/{run.id}">.*?</tr>', index)
        assert row, f"{run.id} not shown as {status}"
        assert f'data-status="{status}"' in row.group(0)
    checks = json.loads(good.file("summary.json").read_text())["checks"]
    assert f"{sum(c['passed'] for c in checks)}/{len(checks)} passed" in index and "quick" in index
    page = (site / "runs" / "intro" / failed.id / "index.html").read_text()
    assert 'data-status="failed"' in page and "diverged" in page  # the recorded error is on the page
    good_page = (site / "runs" / "intro" / good.id / "index.html").read_text()
    assert "density 0.05: all five features as a regular pentagon" in good_page
    assert (
        'src="figures/intro.png"' in good_page
        and (site / "runs" / "intro" / good.id / "figures" / "intro.png").is_file()
    )
    assert (site / "runs" / "intro" / good.id / "viewer.html").is_file()
    assert (site / "experiments" / "intro.html").is_file()
    assert f"../runs/intro/{good.id}/viewer.html" in (site / "viewer" / "intro.html").read_text()


def test_the_probe_heatmap_data_is_the_runs_activations(runs, site):
    good = runs["good"]
    run_dir = site / "runs" / "intro" / good.id
    assert (
        'href="probes.html"' in (run_dir / "index.html").read_text() and (run_dir / "probes.html").is_file()
    )
    text = (run_dir / "data" / "probes.js").read_text()
    data = json.loads(text[len("window.SUPERPOSE_PROBES = ") :].rstrip().rstrip(";"))
    probes = store.read_npz(good.file("probes.npz"))
    hidden = probes["probe_hidden"]  # [M, S, m, P]
    assert len(data["models"]) == hidden.shape[0] and data["m"] == hidden.shape[2]
    assert data["n_probes"] == hidden.shape[3] and data["n_onehot"] == probes["probe_inputs"].shape[1]
    keep = [list(probes["probe_steps"]).index(s) for s in data["steps"]]
    assert keep[0] == 0 and keep[-1] == hidden.shape[1] - 1
    for j, model in enumerate(data["models"]):
        q = np.frombuffer(base64.b64decode(model["hidden"]), "<i2").reshape(len(keep), -1)
        values = q * np.asarray(model["scale"])[:, None]
        want = hidden[j, keep].reshape(len(keep), -1)
        np.testing.assert_allclose(values, want, atol=np.abs(want).max() / 30000)
        np.testing.assert_allclose(model["ablation"], probes["ablation"][j], rtol=1e-4, atol=1e-9)


def test_the_probe_heatmap_thins_frames_to_its_budget():
    rng = np.random.default_rng(0)
    p = {
        "probe_hidden": rng.normal(size=(3, 50, 4, 9)).astype(np.float32),
        "probe_steps": np.arange(50) * 10,
        "probe_inputs": np.zeros((3, 5, 9), np.float32),
        "probe_density": np.array([1.0, 0.1, 0.01]),
        "ablation": rng.random((3, 5)),
        "importance": np.ones((3, 5)),
    }
    data = report_data.probes_data(p, budget=3 * 4 * 9 * 10)  # room for 10 frames
    assert len(data["steps"]) == 10 and data["steps"][0] == 0 and data["steps"][-1] == 490
    assert [m["label"] for m in data["models"]] == ["1-S = 1", "1-S = 0.1", "1-S = 0.01"]
    assert data["probe_names"][:2] == ["feature 0 alone", "feature 1 alone"] and data["n_onehot"] == 5


def test_rerun_writes_nothing_then_only_what_changed(runs, site, tmp_path):
    out = tmp_path / "site"
    shutil.copytree(site, out)
    again = report.build(store.list_runs(runs["root"]), out)
    assert again["rebuilt"] == 0 and again["written"] == 0
    # A changed run (here: a copy whose summary was rewritten) is read anew; the others are not.
    root = tmp_path / "runs"
    shutil.copytree(runs["root"], root)
    out2 = tmp_path / "site2"
    report.build(store.list_runs(root), out2)
    changed = store.Run.open(root / "intro" / runs["good"].id)
    summary = json.loads(changed.file("summary.json").read_text())
    for check in summary["checks"]:
        check["passed"] = not check["passed"]
    changed.file("summary.json").write_text(json.dumps(summary))
    stats = report.build(store.list_runs(root), out2)
    assert stats["rebuilt"] == 1 and stats["written"] >= 2  # its page, the index, the experiment page
    passed = sum(c["passed"] for c in summary["checks"])
    assert f"{passed}/{len(summary['checks'])} passed" in (out2 / "index.html").read_text()
    changed.file("intro.png").unlink()  # a figure deleted from the run leaves the site too
    report.build(store.list_runs(root), out2)
    assert not (out2 / "runs" / "intro" / changed.id / "figures" / "intro.png").exists()
    # A run no longer reported loses its pages.
    stats = report.build([changed], out2)
    assert stats["removed"] == 2 and not (out2 / "runs" / "intro" / runs["failed"].id).exists()


def test_a_corrupt_run_is_reported_not_fatal(runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(runs["good"].path, root / "intro" / runs["good"].id)
    run = store.Run.open(root / "intro" / runs["good"].id)
    data = run.file("results.npz").read_bytes()
    run.file("results.npz").write_bytes(data[: len(data) // 2])
    report.build([run], tmp_path / "site")
    page = (tmp_path / "site" / "runs" / "intro" / run.id / "index.html").read_text()
    assert "corrupt or truncated file" in page and 'data-status="corrupt"' in page


def test_out_is_checked(runs, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a superpose report"):
        report.build([runs["good"]], tmp_path / "mine")
    with pytest.raises(ConfigError, match="overlaps the run directory"):
        report.build([runs["good"]], runs["good"].path / "site")
    with pytest.raises(ConfigError, match="no ML Metadata store"):
        report.build([runs["good"]], tmp_path / "new", store_path=tmp_path / "missing.sqlite")
    assert not (tmp_path / "new").exists()


def test_cli_report(runs, tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [
        sys.executable,
        "-m",
        "superpose",
        "report",
        "--runs-dir",
        str(runs["root"]),
        "--out",
        str(tmp_path / "s"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "3 run(s), 3 read anew" in done.stdout
    bad = subprocess.run(
        [*cmd[:-1], str(runs["good"].path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert (
        bad.returncode == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    )


# --- the data -----------------------------------------------------------------------------------------------


def _unpack(b64: str, scales: list, shape: tuple) -> np.ndarray:
    q = np.frombuffer(base64.b64decode(b64), dtype="<i2").reshape(len(scales), -1).astype(np.float64)
    values = np.where(q == report_data.NONFINITE, np.nan, q * np.asarray(scales)[:, None])
    return values.reshape(shape)


def test_packed_snapshots_round_trip_with_nonfinite_marked():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 3, 4)) * np.geomspace(1e-3, 10, 5)[:, None, None]  # tiny early snapshots too
    W[2, 1, 3] = np.nan
    b64, scales = report_data._pack(W)
    back = _unpack(b64, scales, W.shape)
    assert np.isnan(back[2, 1, 3])
    ok = np.isfinite(W)
    peak = np.nanmax(np.abs(W).reshape(5, -1), axis=1)[:, None, None]
    assert np.all(
        np.abs(back - W)[ok] <= (peak / 32767 * 0.51 + 1e-12).repeat(12).reshape(W.shape)[ok] * 1.0001
    )


def test_viewer_plan_thins_snapshots_then_instances_within_budget():
    W = np.zeros((6, 300, 4, 50), np.float32)
    arrays = {"snapshot_W": W, "snapshot_b": np.zeros((6, 300, 50)), "snapshot_steps": np.arange(300)}
    plan = report_data.viewer_plan(arrays, budget=6 * 40 * 250)
    assert plan["instances"] == list(range(6)) and len(plan["snapshots"]) == 40
    assert plan["snapshots"][0] == 0 and plan["snapshots"][-1] == 299
    small = report_data.viewer_plan(arrays, budget=2 * report_data.MIN_SNAPSHOTS * 250)
    assert len(small["snapshots"]) == report_data.MIN_SNAPSHOTS and len(small["instances"]) == 2
    assert small["instances"] == [0, 5]  # spread over the grid, both ends kept
    assert report_data.viewer_plan({"W": W[:, 0]}) is None  # no snapshots: no viewer


def test_viewer_data_knows_coordinates_and_diverged_instances():
    n = 4
    arrays = {
        "snapshot_W": np.ones((n, 3, 2, 5), np.float32),
        "snapshot_steps": np.array([0, 10, 100]),
        "density": np.array([1.0, 1.0, 0.1, 0.1], np.float32),
        "seed": np.array([0, 1, 0, 1]),
        "final_loss": np.array([0.1, 0.2, 0.3, np.nan]),
        "diverged": np.array([False, False, False, True]),
        "name": np.array(["a", "b", "c", "d"]),  # arrays the report does not know are left alone
        "scalar": np.array(3.0),
        "loss": np.full((n, 50), 0.5),
        "log_steps": np.arange(50) * 2,
    }
    meta, data = report_data.viewer_data(arrays, report_data.viewer_plan(arrays))
    assert meta["coordinates"] == ["density", "seed"]
    assert [x["diverged"] for x in meta["instances"]] == [False, False, False, True]
    assert meta["instances"][2]["coords"] == {"density": 0.1, "seed": 0}
    assert len(data[0]["loss"]) == 50 and meta["log_steps"][-1] == 98
    # Without a stored mask, instances whose final weights are not finite count as diverged.
    arrays.pop("diverged")
    arrays["snapshot_W"][1, -1, 0, 0] = np.inf
    assert report_data.diverged_mask(arrays, n).tolist() == [False, True, False, False]


def test_loss_curves_find_prefixed_curves_and_bands():
    arrays = {
        "m2_loss": np.ones((3, 40)),
        "log_steps": np.arange(40),
        "best_loss": np.ones((6, 6)),  # one number per cell, not a curve
        "final_loss": np.ones((3, 1)),
        "and_loss": np.ones((200, 8)),
        "and_log_steps": np.arange(8) * 10,
    }
    curves = {c["name"]: c for c in report_data.loss_curves(arrays)}
    assert set(curves) == {"m2_loss", "and_loss"}
    assert len(curves["m2_loss"]["curves"]) == 3 and curves["and_loss"]["steps"][-1] == 70
    assert curves["and_loss"]["n_curves"] == 200 and len(curves["and_loss"]["bands"]) == 5


def test_report_shows_ml_metadata_lineage(runs, tmp_path):
    pytest.importorskip(
        "ml_metadata", reason="ML Metadata is not installed (pip install 'superpose[lineage]')"
    )
    from superpose.lab import mlmd

    db = tmp_path / "lineage.sqlite"
    mlmd.export_runs([runs["good"]], db)
    report.build([runs["good"], runs["failed"]], tmp_path / "site", store_path=db)
    page = (tmp_path / "site" / "runs" / "intro" / runs["good"].id / "index.html").read_text()
    digest = hashlib.sha256(runs["good"].file("results.npz").read_bytes()).hexdigest()
    assert f"intro/{runs['good'].id}" in page and digest in page and "matches the file" in page
    assert "superpose.Data" in page and "superpose.Weights" in page
    failed_page = (tmp_path / "site" / "runs" / "intro" / runs["failed"].id / "index.html").read_text()
    assert "superpose lineage export" in failed_page  # not in the store: says how to add it


# --- in a real browser ---------------------------------------------------------------------------------------


def _browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    binary = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip("no headless Chromium here (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,860",
    ):
        options.add_argument(arg)
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))


@pytest.fixture(scope="module")
def browser():
    driver = _browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    """Where screenshots go: $SUPERPOSE_TEST_ARTIFACTS if set (CI keeps them), else a pytest temp folder."""
    where = os.environ.get("SUPERPOSE_TEST_ARTIFACTS")
    path = Path(where) if where else tmp_path_factory.mktemp("report-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open(browser, path: Path):
    browser.get(path.resolve().as_uri())
    browser.execute_script("return document.readyState")
    return browser


def _console_errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _images_loaded(browser) -> list[str]:
    """The src of every <img> that did not load (naturalWidth 0), after waiting for them."""
    browser.execute_script("document.querySelectorAll('img').forEach(function (i) { i.loading = 'eager'; });")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script(
            "return Array.from(document.images).every(function (i) { return i.complete; })"
        )
    )
    return browser.execute_script(
        "return Array.from(document.images).filter(function (i) { return !(i.naturalWidth > 0); }).map(function (i) { return i.src; })"
    )


def _broken_links(browser) -> list[str]:
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(function (a) { return a.href; })"
    )
    broken = []
    for href in hrefs:
        assert href.startswith("file://"), f"a link leaves the site: {href}"
        from urllib.parse import unquote, urlparse

        if not Path(unquote(urlparse(href).path)).exists():
            broken.append(href)
    return broken


def test_pages_load_cleanly_in_chromium(runs, site, browser, artifacts):
    run_dir = site / "runs" / "intro" / runs["good"].id
    pages = [
        site / "index.html",
        run_dir / "index.html",
        site / "experiments" / "intro.html",
        site / "runs" / "intro" / runs["failed"].id / "index.html",
        run_dir / "viewer.html",
        run_dir / "probes.html",
    ]
    for page in pages:
        _open(browser, page)
        assert _images_loaded(browser) == [], page
        assert _broken_links(browser) == [], page
        assert _console_errors(browser) == [], page
        if page == site / "index.html":
            browser.save_screenshot(str(artifacts / "report-index.png"))
    _open(browser, run_dir / "index.html")
    assert browser.execute_script("return document.images.length") == 4  # intro.png, 2 probe figures, a GIF
    assert (
        browser.execute_script("return document.querySelectorAll('canvas.loss-chart[data-drawn]').length")
        >= 1
    )
    _open(browser, site / "index.html")
    status = browser.execute_script(
        f"return document.querySelector('tr[data-run=\"intro/{runs['failed'].id}\"] .badge').textContent"
    )
    assert status == "failed"


def test_viewer_slider_and_instance_choice(runs, site, browser, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _open(browser, site / "runs" / "intro" / runs["good"].id / "viewer.html")
    geometry = browser.find_element(By.ID, "geometry")
    WebDriverWait(browser, 10).until(lambda d: geometry.get_attribute("data-step"))
    last_step, picture = (
        geometry.get_attribute("data-step"),
        browser.execute_script("return arguments[0].toDataURL()", geometry),
    )
    slider = browser.find_element(By.ID, "step-slider")
    first = browser.execute_script("return window.SUPERPOSE_VIEWER_META.steps[0]")
    slider.send_keys(Keys.HOME)  # a keyboard move of the range input fires its input event
    assert geometry.get_attribute("data-step") == str(first) != last_step
    assert f"step {first:,} " in browser.find_element(By.ID, "step-label").text
    assert browser.execute_script("return arguments[0].toDataURL()", geometry) != picture
    slider.send_keys(Keys.RIGHT)
    moved = geometry.get_attribute("data-step")
    assert int(moved) > first
    # Choosing the sparser density by its coordinate loads that instance.
    density = Select(browser.find_element(By.ID, "pick-density"))
    density.select_by_index(0)
    chosen = int(geometry.get_attribute("data-instance"))
    density.select_by_index(1)
    WebDriverWait(browser, 10).until(lambda d: int(geometry.get_attribute("data-instance")) != chosen)
    assert geometry.get_attribute("data-step") == moved  # the step stays where the slider is
    slider.send_keys(Keys.END)
    browser.save_screenshot(str(artifacts / "report-viewer.png"))
    assert _console_errors(browser) == []


def test_probe_heatmap_slider_and_model_choice(runs, site, browser, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    _open(browser, site / "runs" / "intro" / runs["good"].id / "probes.html")
    heatmap = browser.find_element(By.ID, "heatmap")
    steps = browser.execute_script("return window.SUPERPOSE_PROBES.steps")
    assert heatmap.get_attribute("data-step") == str(steps[-1])  # opens at the final weights
    picture = browser.execute_script("return arguments[0].toDataURL()", heatmap)
    slider = browser.find_element(By.ID, "probe-slider")
    slider.send_keys(Keys.HOME)
    assert heatmap.get_attribute("data-step") == str(steps[0])
    assert f"step {steps[0]:,} " in browser.find_element(By.ID, "probe-label").text
    first = browser.execute_script("return arguments[0].toDataURL()", heatmap)
    assert first != picture  # the activations at step 0 are not the final ones
    model = Select(browser.find_element(By.ID, "probe-model"))
    assert len(model.options) == 2  # the two densities' kept models
    model.select_by_index(1)
    assert heatmap.get_attribute("data-model") == "1"
    assert browser.execute_script("return arguments[0].toDataURL()", heatmap) != first
    browser.save_screenshot(str(artifacts / "report-probes.png"))
    assert _console_errors(browser) == []
