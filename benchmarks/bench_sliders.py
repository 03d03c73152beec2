"""Slider latency of every explorer: value change -> redrawn, rendered figure.

The explorers a learner meets: each chapter notebook runs top to bottom in a
fresh IPython kernel (nbclient, ``%matplotlib inline`` as the notebook sets
it), then a probe cell in the same kernel finds every live
:class:`~itutils.widgets._panel.Explorer` and drives it; explorer factories in
``itutils.widgets.*`` that no notebook shows and that need no arguments are
built with their defaults in a kernel of their own. Each control is moved
through 20 values spread over its range (sliders) or its options (dropdowns,
toggle buttons), one at a time; the time of each
``control.value = v`` is the whole synchronous update: ``compute``, ``draw``,
and rendering the PNG. Not included: sending the PNG (it is not even sent
here, see :func:`unsent_displays`) and the browser round trip: the browser
latency benchmark (bench_browser_latency.py) measures what a learner feels.

Targets (issue 7): median under 100 ms and 95th percentile under 250 ms for
every control.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

VALUES = 20
MEDIAN_TARGET_MS = 100.0
P95_TARGET_MS = 250.0


def discover() -> list[tuple[str, object]]:
    """(``module.function``, function) for every explorer factory."""
    import itutils.widgets as package
    from itutils.widgets._panel import Explorer

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            ret = inspect.signature(fn).return_annotation
            if ret is Explorer or ret == "Explorer" or name.endswith("_explorer"):
                found.append((f"{info.name}.{name}", fn))
    return found


def targets(control) -> list:
    """Up to VALUES values to move ``control`` through (none equal to its start)."""
    options = getattr(control, "options", None)
    if options is not None:  # SelectionSlider, Dropdown, ToggleButtons
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        values = [values[i % len(values)] for i in range(control.index + 1,
                                                         control.index + 1 + VALUES)]
    elif hasattr(control, "min") and hasattr(control, "max"):
        lo, hi = control.min, control.max
        step = getattr(control, "step", None) or (hi - lo) / 100
        grid = np.linspace(lo, hi, VALUES + 1)
        # Snap to the slider's step, as a user's drag would.
        grid = lo + np.round((grid - lo) / step) * step
        kind = int if isinstance(control.value, int) else float
        values = [kind(v) for v in grid]
        if "Log" in type(control).__name__:  # FloatLogSlider: min/max are exponents
            base = control.base
            values = [float(base ** v) for v in np.linspace(lo, hi, VALUES + 1)]
    else:
        return []
    # Setting the value a control already has triggers no update: drop every
    # value equal to the one before it (the first compared with the start).
    moves, previous = [], control.value
    for value in values:
        if value != previous:
            moves.append(value)
            previous = value
    return moves[:VALUES]


def title_of(explorer) -> str:
    """The explorer's title line (its first HTML child), else its compute name."""
    first = explorer.widget.children[0] if explorer.widget.children else None
    value = getattr(first, "value", None)
    if isinstance(value, str) and value.startswith("<b>"):
        return value.removeprefix("<b>").removesuffix("</b>")
    return getattr(explorer._compute, "__qualname__", type(explorer).__name__)


@contextmanager
def unsent_displays():
    """Format every figure as usual, but do not send it to the front end.

    The PNG is still rendered (the inline backend formats it before
    publishing), so the time includes it. Sending hundreds of 50 kB images
    in a burst overflows the IOPub high-water mark: ZMQ then drops messages,
    including the kernel's "idle", and nbclient waits forever.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        yield
        return
    pub = shell.display_pub
    saved = pub.publish, pub.clear_output
    pub.publish = lambda *args, **kwargs: None
    pub.clear_output = lambda *args, **kwargs: None
    try:
        yield
    finally:
        pub.publish, pub.clear_output = saved


@contextmanager
def unsent_figures(explorer):
    """Render every figure into the explorer's Image widget, but do not send it.

    The PNG is rendered and assigned as usual (so the time includes it); only
    the comm message carrying it is dropped, for the reason given in
    :func:`unsent_displays`.
    """
    image = getattr(explorer, "image", None)
    if image is None:
        yield
        return
    image.send_state = lambda *args, **kwargs: None
    try:
        yield
    finally:
        del image.send_state


def drive(name: str, explorer, build_ms: float = float("nan")) -> list[dict]:
    """Move every control of ``explorer`` through its values; one row each."""
    with unsent_displays(), unsent_figures(explorer):
        return _drive(name, explorer, build_ms)


def _drive(name: str, explorer, build_ms: float) -> list[dict]:
    rows = []
    for label, control in explorer.sliders.items():
        times = []
        for value in targets(control):
            before = explorer.updates
            t0 = time.perf_counter()
            control.value = value
            elapsed = time.perf_counter() - t0
            if explorer.updates > before:
                times.append(1000 * elapsed)
        rows.append({
            "explorer": name, "control": label, "kind": type(control).__name__,
            "n": len(times), "build_ms": build_ms,
            "median_ms": statistics.median(times) if times else float("nan"),
            "p95_ms": float(np.percentile(times, 95)) if times else float("nan"),
            "max_ms": max(times) if times else float("nan"),
        })
    return rows


def measure_live(source: str) -> list[dict]:
    """Run in a notebook's kernel after its last cell: drive every live Explorer."""
    import matplotlib.pyplot as plt

    from itutils.widgets._panel import live_explorers

    # Leave the kernel's garbage collection as the notebook left it: the
    # explorers are measured as a learner meets them.
    rows = []
    for explorer in live_explorers():
        rows += drive(f"{source}: {title_of(explorer)}", explorer)
        plt.close("all")
    return rows


def measure_factories(skip_titles: list[str]) -> list[dict]:
    """Explorers built with their defaults, unless a notebook already showed them."""
    import warnings

    import matplotlib.pyplot as plt

    rows = []
    for name, factory in discover():
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                explorer = factory()
        except TypeError:  # needs data that only a notebook builds
            continue
        if title_of(explorer) in set(skip_titles):
            continue
        rows += drive(f"{name}() (not in a notebook)", explorer,
                      1000 * (time.perf_counter() - start))
        plt.close("all")
    return rows


PROBE = """
import json, sys
sys.path.insert(0, {root!r})
from benchmarks.bench_sliders import {function}
print("ROWS=" + json.dumps({function}({argument!r})))
"""


def run_probe(cells: list, function: str, argument, folder: Path) -> list[dict]:
    """Run ``cells`` then the probe in a fresh kernel (nbclient); its rows.

    Bounded and retried once: on a loaded machine nbclient occasionally
    waits forever for a message from an idle kernel (jupyter_client #922).
    """
    import nbformat
    from nbclient import NotebookClient

    probe = PROBE.format(root=str(ROOT), function=function, argument=argument)
    for attempt in range(2):
        nb = nbformat.v4.new_notebook(cells=[*cells, nbformat.v4.new_code_cell(probe)])
        try:
            NotebookClient(nb, timeout=300, startup_timeout=60, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
            break
        except TimeoutError:
            if attempt:
                raise
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs
                   if o.get("name") == "stdout")
    return json.loads(text.split("ROWS=", 1)[1].strip().splitlines()[0])


def collect() -> list[dict]:
    import nbformat

    rows = []
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        rows += run_probe(nb.cells, "measure_live", path.stem, path.parent)
    seen = {r["explorer"].split(": ", 1)[1] for r in rows}
    setup = nbformat.v4.new_code_cell("%matplotlib inline")
    rows += run_probe([setup], "measure_factories", sorted(seen), ROOT)
    return rows


def main() -> str:
    rows = collect()
    lines = [
        "## Slider latency, Python side",
        "",
        "Every explorer as a notebook shows it (the chapter run top to bottom in "
        "a fresh kernel with `%matplotlib inline`, then each live explorer "
        "driven from a probe cell), plus explorer factories no notebook shows; "
        f"each control moved through {VALUES} values over its range. "
        "Time = `control.value = v` until the "
        "figure is recomputed, drawn and rendered to PNG (sending it and the "
        "browser are not included: see \"Slider latency in the browser\" for "
        "what a learner feels). Targets: median < "
        f"{MEDIAN_TARGET_MS:.0f} ms, p95 < {P95_TARGET_MS:.0f} ms. "
        "Reproduce: `make bench ONLY=sliders`.",
        "",
        "| explorer | control | moves | median (ms) | p95 (ms) | max (ms) "
        "| built in (ms) | target |",
        "|---|---|---:|---:|---:|---:|---:|:---:|",
    ]
    failing = 0
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['explorer']} | - | - | - | - | - | - "
                         f"| not measured: {r['error']} |")
            continue
        ok = r["median_ms"] < MEDIAN_TARGET_MS and r["p95_ms"] < P95_TARGET_MS
        first = "" if r["build_ms"] != r["build_ms"] else f"{r['build_ms']:.0f}"
        failing += not ok
        lines.append(
            f"| {r['explorer']} | {r['control']} ({r['kind']}) | {r['n']} "
            f"| {r['median_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} "
            f"| {first} | {'pass' if ok else '**FAIL**'} |"
        )
    lines += ["", f"{len(rows) - failing} of {len(rows)} controls meet both targets.",
              ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
