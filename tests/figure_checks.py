"""What a reader can check at a glance, checked on every figure the test suite saves.

`figure_problems(fig)` lists what is wrong with a matplotlib figure, one line each:
- an axis that shows a numeric scale (tick labels that are numbers) without saying what it measures: no axis
  label, and no neighbour on the same scale that has one (a panel in the same row with the same y limits and
  a y label to its left; the same column with the same x limits and an x label below). Axes that show no
  tick labels (image panels, feature-vector diagrams) are deliberately bare and pass; tick labels that are
  names ("x0", "S = 0.9") label themselves. A colour bar's scale needs a label like any other axis.
- text outside the canvas (its window extent leaves the figure): cut off by a plain savefig, or, with
  bbox_inches="tight", a margin as wide as the overhang on the opposite side.
- texts that overlap each other (a title over a panel's title, tick labels run together), and an axes'
  labels, tick labels or title drawn over another panel (a y label inside its left neighbour).
- a legend entry with no text, and artists given a label that no legend shows.

`install()` wraps `superpose.plots.core.save` (every experiment saves its figures through it, under several
names: superpose.plots.save, the figure modules' own `save`) so that each figure is checked just before it
is saved; tests/conftest.py installs it and fails a test whose figures have problems. Only this test helper
wraps anything: the library is unchanged.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from pathlib import Path

import matplotlib.text as mtext
import numpy as np

PROBLEMS: list[str] = []  # problems of the figures saved since the last clear(), "file: problem"
CHECKED: list[str] = []  # file names of every figure checked in this process
TOLERANCE_PX = 2.0  # antialiasing and rounding of text extents

_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?%?$|^[-+]?10\^\{?[-+]?\d+\}?$")


def _is_number(text: str) -> bool:
    """A tick label that reads as a number: '0.5', '−1', '1,000', '1e-3', '10^{-2}', '$\\mathdefault{10^{2}}$'."""
    clean = text.replace("\N{MINUS SIGN}", "-").replace("$", "").replace("\\mathdefault", "")
    clean = clean.replace("{", "").replace("}", "") if "^" not in clean else clean.replace("\\times", "")
    clean = re.sub(r"^\{(.*)\}$", r"\1", clean.strip())
    return bool(_NUMBER.match(clean.replace(" ", "")))


def _drawn_ticks(axis) -> list:
    """The ticks matplotlib draws (inside the view interval), major and minor."""
    return axis._update_ticks()  # noqa: SLF001 - the only public alternative re-implements it


def _tick_texts(axis) -> list[mtext.Text]:
    texts = []
    for tick in _drawn_ticks(axis):
        for label in (tick.label1, tick.label2):
            if label.get_visible() and label.get_text().strip():
                texts.append(label)
    return texts


def _axes_texts(ax) -> list[mtext.Text]:
    """Every visible, non-empty text an axes draws."""
    texts = [ax.title, ax._left_title, ax._right_title, *ax.texts]  # noqa: SLF001
    if ax.axison:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_visible():
                texts += [axis.label, *_tick_texts(axis)]
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        texts += [legend.get_title(), *legend.get_texts()]
    for child in ax.child_axes:
        texts += _axes_texts(child)
    return texts


def _figure_texts(fig) -> list[mtext.Text]:
    texts = list(fig.texts)
    for legend in fig.legends:
        if legend.get_visible():
            texts += [legend.get_title(), *legend.get_texts()]
    for ax in fig.axes:
        if ax.get_visible():
            texts += _axes_texts(ax)
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe(ax) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_ylabel() or ax.get_xlabel()
    return f"axes {_short(title)!r}" if title else f"axes at {np.round(ax.get_position().bounds, 2).tolist()}"


def _is_colorbar(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def _shares_labelled_scale(ax, axes: list, which: str) -> bool:
    """Another axes in the same row (which='y', to the left) or column (which='x', below) shows the same
    limits and has a label on that axis."""
    box = ax.get_position()
    for other in axes:
        if other is ax or not other.get_visible() or not other.axison or _is_colorbar(other):
            continue
        ob = other.get_position()
        if which == "y":
            overlap = min(box.y1, ob.y1) - max(box.y0, ob.y0)
            same_line = overlap > 0.5 * min(box.height, ob.height) and ob.x0 < box.x0
            same_scale = np.allclose(other.get_ylim(), ax.get_ylim()) and other.get_ylabel()
        else:
            overlap = min(box.x1, ob.x1) - max(box.x0, ob.x0)
            same_line = overlap > 0.5 * min(box.width, ob.width) and ob.y0 < box.y0
            same_scale = np.allclose(other.get_xlim(), ax.get_xlim()) and other.get_xlabel()
        if same_line and same_scale:
            return True
    return False


def _unlabelled_scales(fig) -> list[str]:
    problems = []
    axes = [a for a in fig.axes if a.get_visible() and a.axison]
    for ax in axes:
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not axis.get_visible():
                continue
            numbers = [t for t in _tick_texts(axis) if _is_number(t.get_text())]
            if not numbers or axis.label.get_text().strip():
                continue
            if not _is_colorbar(ax) and _shares_labelled_scale(ax, axes, which):
                continue
            what = "colour bar" if _is_colorbar(ax) else f"{which} axis of {_describe(ax)}"
            problems.append(f"{what} shows numbers without a label")
    return problems


def _texts_outside(fig, renderer) -> list[str]:
    width, height = fig.bbox.width, fig.bbox.height
    problems = []
    for text in _figure_texts(fig):
        box = text.get_window_extent(renderer)
        out = {
            "left": -box.x0,
            "right": box.x1 - width,
            "bottom": -box.y0,
            "top": box.y1 - height,
        }
        over = {side: px for side, px in out.items() if px > TOLERANCE_PX}
        if over:
            sides = ", ".join(f"{px:.0f} px past the {side}" for side, px in over.items())
            problems.append(f"text {_short(text.get_text())!r} outside the canvas ({sides})")
    return problems


def _overlapping_texts(fig, renderer) -> list[str]:
    texts = _figure_texts(fig)
    if len(texts) < 2:
        return []
    boxes = np.array([t.get_window_extent(renderer).extents for t in texts])  # [k, (x0, y0, x1, y1)]
    wide = np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    high = np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    hits = np.argwhere(np.triu((wide > TOLERANCE_PX) & (high > TOLERANCE_PX), k=1))
    problems = [
        f"texts overlap: {_short(texts[i].get_text(), 30)!r} and {_short(texts[j].get_text(), 30)!r}"
        for i, j in hits[:5]
    ]
    if len(hits) > 5:
        problems.append(f"... and {len(hits) - 5} more overlapping pairs of texts")
    return problems


def _labels_over_other_panels(fig, renderer) -> list[str]:
    axes = [a for a in fig.axes if a.get_visible() and a.axison and not _is_colorbar(a)]
    boxes = {id(a): a.get_window_extent(renderer) for a in axes}
    problems = []
    for owner in axes:
        own = boxes[id(owner)]
        texts = [owner.title, owner._left_title, owner._right_title]  # noqa: SLF001
        for axis in (owner.xaxis, owner.yaxis):
            if axis.get_visible():
                texts += [axis.label, *_tick_texts(axis)]
        for text in texts:
            if not (text.get_visible() and text.get_text().strip()):
                continue
            box = text.get_window_extent(renderer)
            for other in axes:
                ob = boxes[id(other)]
                if other is owner or np.allclose(ob.extents, own.extents):  # twins share one panel
                    continue
                wide = min(box.x1, ob.x1) - max(box.x0, ob.x0)
                high = min(box.y1, ob.y1) - max(box.y0, ob.y0)
                if wide > TOLERANCE_PX and high > TOLERANCE_PX:
                    problems.append(
                        f"{_short(text.get_text(), 30)!r} of {_describe(owner)} lies over {_describe(other)}"
                    )
                    break
    return problems


def _legend_problems(fig) -> list[str]:
    problems = []
    shown = set()
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    for legend in legends:
        if legend is None:
            continue
        for text in legend.get_texts():
            if not text.get_text().strip():
                problems.append("a legend entry has no text")
            shown.add(text.get_text())
    for ax in fig.axes:
        _, labels = ax.get_legend_handles_labels()
        missing = sorted({label for label in labels if label not in shown})
        if missing:
            names = ", ".join(repr(_short(m, 30)) for m in missing[:3])
            problems.append(f"{_describe(ax)}: labelled artists that no legend shows ({names})")
    return problems


def figure_problems(fig) -> list[str]:
    """Everything above that is wrong with fig, one line each (empty: it passes)."""
    fig.draw_without_rendering()  # lays out ticks, legends and tight/constrained layouts as savefig would
    renderer = fig.canvas.get_renderer()
    return (
        _unlabelled_scales(fig)
        + _texts_outside(fig, renderer)
        + _overlapping_texts(fig, renderer)
        + _labels_over_other_panels(fig, renderer)
        + _legend_problems(fig)
    )


def checked_save(save):
    """save(fig, path, ...) that first records the figure's problems in PROBLEMS (and its name in CHECKED)."""

    @functools.wraps(save)
    def wrapper(fig, path, *args, **kwargs):
        name = Path(path).name
        CHECKED.append(name)
        PROBLEMS.extend(f"{name}: {p}" for p in figure_problems(fig))
        return save(fig, path, *args, **kwargs)

    wrapper.checks_figures = True
    return wrapper


def install() -> None:
    """Wrap superpose.plots.core.save under every name the plots package binds it to (idempotent).

    Modules imported later (the experiments) bind the wrapped function through superpose.plots.
    """
    import superpose.plots as plots
    from superpose.plots import core

    original = getattr(core.save, "__wrapped__", core.save)
    wrapped = core.save if getattr(core.save, "checks_figures", False) else checked_save(original)
    modules = [plots, core]
    for info in pkgutil.iter_modules(plots.__path__):
        modules.append(importlib.import_module(f"superpose.plots.{info.name}"))
    for module in modules:
        if getattr(module, "save", None) is original:
            module.save = wrapped
