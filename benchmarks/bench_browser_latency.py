"""Slider latency as a learner feels it: key press -> new figure painted.

Measured in the page, in real JupyterLab and headless Chromium (the browser
test's set-up, :mod:`tools.jupyterlab`): each chapter notebook is opened and
run (Run > Run All Cells); then every control of every explorer on the page
is moved ``MOVES`` times, one move at a time: a key press on the slider's
handle (ArrowRight, ArrowLeft once it reaches its end; ArrowDown/ArrowUp on
a dropdown; a click on the next toggle button). The time of a move runs from
the ``keydown`` (or ``pointerdown``) event, as the page sees it, to the
first frame painted after the explorer's figure ``<img>`` has received and
decoded the new picture (an animation frame, then a task after it, i.e.
after that frame's paint). The next move waits until the kernel is idle.
So it includes the widget's message to the kernel, ``compute``, drawing,
rendering the PNG, sending it back, decoding and painting it.

Before and after in one run: with ``BENCH_BASELINE=<git ref>`` (e.g.
``main``) the explorers of that commit (its ``itutils`` and ``notebooks``,
via ``git archive``, imported first through ``PYTHONPATH``) are measured too,
interleaved chapter by chapter with the current ones, so that both see the
same load on a shared machine. ``BENCH_CHAPTERS=01,05`` limits the chapters;
``BENCH_MOVES`` sets the number of moves per control (default 15).

The page is JupyterLab with a learner's settings (its default windowing,
which skips laying out cells out of view). The run starts with the
pipeline's floor (:data:`FLOOR_CELL`): a slider swapping ready-made pictures,
which shows how much of each time is not the explorer's.

Targets (issue 15): median < 100 ms and p95 < 200 ms for every control.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import jupyterlab as lab  # noqa: E402

MOVES = int(os.environ.get("BENCH_MOVES", "15"))
MEDIAN_TARGET_MS = 100.0
P95_TARGET_MS = 200.0
RUN_TIMEOUT_MS = 300_000
MOVE_TIMEOUT_MS = 15_000
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CONTROLS = ".widget-slider, .widget-dropdown, .widget-toggle-buttons"
# The notebook as a learner's JupyterLab shows it: its default windowing
# ("contentVisibility": the browser skips laying out and painting cells out
# of view), not the test suite's "none" (every cell laid out, which the
# browser tests need to read every prompt).
LEARNER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "contentVisibility",
        "autoStartDefaultKernel": True,
    },
}

# Arms the page for one move: the next keydown/pointerdown starts the clock;
# the first change of the explorer's figure, once decoded and painted, stops it.
ARM = """([panel, figure]) => {
  const img0 = panel.querySelector(figure);
  const old = img0 ? img0.getAttribute('src') : null;
  const probe = window.__probe = {t0: null, latency: null};
  const start = () => { if (probe.t0 === null) probe.t0 = performance.now(); };
  document.addEventListener('keydown', start, {capture: true});
  document.addEventListener('pointerdown', start, {capture: true});
  let seen = false;
  const observer = new MutationObserver(() => {
    const img = panel.querySelector(figure);
    if (seen || !img || img.getAttribute('src') === old) return;
    seen = true;
    observer.disconnect();
    document.removeEventListener('keydown', start, {capture: true});
    document.removeEventListener('pointerdown', start, {capture: true});
    img.decode().catch(() => null).then(() => requestAnimationFrame(
      () => setTimeout(() => {
        probe.latency = performance.now() - probe.t0;
        if (probe.done) probe.done();
      })));
  });
  observer.observe(panel, {subtree: true, childList: true, attributes: true,
                           attributeFilter: ['src']});
}"""

# Waits in the page for the move's time, without polling it (a poll every
# few ms would load the page's main thread it measures).
WAIT = """(timeout) => window.__probe.latency ?? new Promise((ok, fail) => {
  const timer = setTimeout(() => fail(new Error('no new figure')), timeout);
  window.__probe.done = () => { clearTimeout(timer); ok(window.__probe.latency); };
})"""

TITLE = """(panel) => {
  const b = panel.querySelector(':scope > .widget-html b');
  return b ? b.textContent.trim() : '';
}"""


def _slider_at_end(handle, forward: bool) -> bool:
    now = handle.get_attribute("aria-valuenow")
    end = handle.get_attribute("aria-valuemax" if forward else "aria-valuemin")
    try:
        return float(now) >= float(end) if forward else float(now) <= float(end)
    except (TypeError, ValueError):
        return False


def _mover(control):
    """A function making one move of ``control`` (keyboard or click)."""
    kind = control.get_attribute("class") or ""
    state = {"forward": True}
    if "widget-slider" in kind:
        handle = control.locator(".noUi-handle").first

        def move():
            if _slider_at_end(handle, state["forward"]):
                state["forward"] = not state["forward"]
            handle.press("ArrowRight" if state["forward"] else "ArrowLeft")
        return move
    if "widget-dropdown" in kind:
        select = control.locator("select").first

        def move():
            options = select.locator("option").count()
            index = select.evaluate("s => s.selectedIndex")
            if (index >= options - 1 and state["forward"]) or (
                    index <= 0 and not state["forward"]):
                state["forward"] = not state["forward"]
            select.press("ArrowDown" if state["forward"] else "ArrowUp")
        return move
    buttons = control.locator("button")

    def move():
        n = buttons.count()
        active = next(i for i in range(n)
                      if "mod-active" in (buttons.nth(i).get_attribute("class") or ""))
        buttons.nth((active + 1) % n).click()
    return move


def _label(control) -> str:
    label = control.locator(".widget-label").first
    text = (label.text_content() or "").strip() if label.count() else ""
    return text or (control.get_attribute("class") or "control").split()[-1]


def measure_page(page, chapter: str) -> list[dict]:
    """Every control of every explorer on the (run) page, MOVES moves each."""
    rows = []
    panels = lab.explorers(page)
    for i in range(panels.count()):
        panel = panels.nth(i)
        panel.scroll_into_view_if_needed()
        title = panel.evaluate(TITLE) or f"explorer {i + 1}"
        controls = panel.locator(CONTROLS)
        for j in range(controls.count()):
            control = controls.nth(j)
            move = _mover(control)
            times, lost = [], 0
            for _ in range(MOVES):
                page.evaluate(ARM, [panel.element_handle(), lab.FIGURE])
                move()
                try:
                    times.append(page.evaluate(WAIT, MOVE_TIMEOUT_MS))
                except Exception:  # noqa: BLE001 - the figure did not change
                    lost += 1
                lab.wait_kernel_idle(page, MOVE_TIMEOUT_MS)
                page.wait_for_timeout(150)  # let the page settle
            rows.append(_row(chapter, title, _label(control), times, lost))
    return rows


def _row(chapter, title, control, times, lost) -> dict:
    nan = float("nan")
    return {
        "chapter": chapter, "explorer": title, "control": control,
        "n": len(times), "lost": lost,
        "median_ms": statistics.median(times) if times else nan,
        "p95_ms": float(np.percentile(times, 95)) if times else nan,
        "max_ms": max(times) if times else nan,
    }


def baseline_tree(ref: str, into: Path) -> Path:
    """``itutils`` and ``notebooks`` of commit ``ref``, unpacked in ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", ref, "itutils", "notebooks"],
                             cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


# The pipeline's floor: a slider that swaps four ready-made pictures of an
# explorer (the binary entropy explorer's, drawn once when the cell runs), with
# the same readout and Image widgets, and no compute or drawing per move. What
# it measures is in every explorer's time, and no explorer can remove it.
FLOOR = "00_floor.ipynb"
FLOOR_CELL = """\
import ipywidgets as widgets
from itutils.widgets.entropy import binary_entropy_explorer

explorer = binary_entropy_explorer()
pictures = []
for p in (0.2, 0.4, 0.6, 0.8):
    explorer.sliders["p"].value = p
    pictures.append(explorer.png())
slider = widgets.IntSlider(value=0, min=0, max=100, description="n")
text = widgets.HTML("<code>0</code>")
image = widgets.Image(value=pictures[0], format="png")

def swap(change):
    text.value = f"<code>{change['new']}</code>"
    image.value = pictures[change["new"] % 4]

slider.observe(swap, "value")
widgets.VBox([widgets.HTML("<b>Floor: ready-made pictures, no compute</b>"),
              widgets.VBox([slider]), text, image])
"""


def write_floor_notebook(folder: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / FLOOR)


def run_chapter(page, server, name: str) -> list[dict]:
    lab.open_notebook(page, server, name, RUN_TIMEOUT_MS)
    lab.run_all_cells(page, RUN_TIMEOUT_MS)
    errors = lab.cell_errors(page)
    if errors:
        raise RuntimeError(f"{name}: errors in cell outputs:\n" + "\n".join(errors))
    rows = measure_page(page, Path(name).stem)
    server.shutdown_sessions()
    return rows


def collect(baseline: str | None = None) -> dict[str, list[dict]]:
    """Rows per variant ("current", and the baseline ref if given)."""
    from playwright.sync_api import sync_playwright

    wanted = os.environ.get("BENCH_CHAPTERS")
    tmp = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    variants = {"current": (ROOT / "notebooks", {})}
    if baseline:
        tree = baseline_tree(baseline, tmp / "baseline-src")
        variants[baseline] = (tree / "notebooks", {"PYTHONPATH": str(tree)})
    servers, rows = {}, {name: [] for name in variants}
    try:
        for name, (notebooks, env) in variants.items():
            root = tmp / f"root-{len(servers)}"
            shutil.copytree(notebooks, root,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            if name == "current":
                write_floor_notebook(root)
            servers[name] = lab.LabServer(root, tmp / f"state-{len(servers)}",
                                          tmp / f"lab-{len(servers)}.log", env=env,
                                          settings=LEARNER_SETTINGS)
        for server in servers.values():
            server.wait_ready()
        chapters = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
        if wanted:
            chapters = [c for c in chapters if c[:2] in wanted.split(",")]
        chapters.insert(0, FLOOR)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                        args=lab.CHROMIUM_ARGS)
            for chapter in chapters:
                for name, server in servers.items():
                    if not (server.root_dir / chapter).exists():
                        continue
                    context = browser.new_context(
                        viewport={"width": 1366, "height": 768})
                    page = context.new_page()
                    print(f"  {name}: {chapter}", flush=True)
                    rows[name] += run_chapter(page, server, chapter)
                    context.close()
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _ok(row) -> bool:
    return (row["lost"] == 0 and row["median_ms"] < MEDIAN_TARGET_MS
            and row["p95_ms"] < P95_TARGET_MS)


def table(rows: dict[str, list[dict]]) -> list[str]:
    floor = [r for r in rows["current"] if r["chapter"] == Path(FLOOR).stem]
    current = [r for r in rows["current"] if r["chapter"] != Path(FLOOR).stem]
    before = {(r["chapter"], r["explorer"], r["control"]): r
              for name, rs in rows.items() if name != "current" for r in rs}
    ref = next((name for name in rows if name != "current"), None)
    head = ("| chapter | explorer | control | moves | median (ms) | p95 (ms) "
            "| max (ms) |")
    rule = "|---|---|---|---:|---:|---:|---:|"
    if ref:
        head += f" {ref}: median | {ref}: p95 |"
        rule += "---:|---:|"
    lines = [head + " target |", rule + ":---:|"]
    for r in current:
        moves = f"{r['n']}" + (f" ({r['lost']} lost)" if r["lost"] else "")
        line = (f"| {r['chapter']} | {r['explorer']} | {r['control']} | {moves} "
                f"| {r['median_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} |")
        if ref:
            b = before.get((r["chapter"], r["explorer"], r["control"]))
            line += (f" {b['median_ms']:.0f} | {b['p95_ms']:.0f} |" if b
                     else " - | - |")
        lines.append(line + (" pass |" if _ok(r) else " **FAIL** |"))
    passing = sum(_ok(r) for r in current)
    lines += ["", f"{passing} of {len(current)} controls meet both targets."]
    for r in floor:
        lines += ["", (
            f"The pipeline's floor, in the same run: a slider that swaps four "
            f"ready-made pictures of the binary entropy explorer (same widgets, "
            f"no compute, no drawing) answers in {r['median_ms']:.0f} ms median, "
            f"{r['p95_ms']:.0f} ms p95 ({r['n']} moves). That much of every "
            "time above is the key press, the widget messages through the "
            "Jupyter server, decoding and painting.")]
    if ref:
        b_pass = sum(_ok(r) for r in rows[ref])
        lines.append(f"Before ({ref}): {b_pass} of {len(rows[ref])}.")
    return lines


def main() -> str:
    baseline = os.environ.get("BENCH_BASELINE")
    load_before = os.getloadavg()[0]
    rows = collect(baseline)
    load_after = os.getloadavg()[0]
    lines = [
        "## Slider latency in the browser",
        "",
        "Every control of every explorer in the chapter notebooks, in JupyterLab "
        "4.6 and headless Chromium at 1366x768, with a learner's JupyterLab "
        "settings (the default windowing), after Run All; "
        f"{MOVES} key presses per control, one at a time. Time = from the "
        "`keydown` event in the page to the first frame painted after the "
        "explorer's figure has changed and decoded: the kernel round trip, "
        "compute, drawing, PNG, transfer, decoding and paint. Targets: median < "
        f"{MEDIAN_TARGET_MS:.0f} ms, p95 < {P95_TARGET_MS:.0f} ms. Reproduce: "
        "`make bench ONLY=browser_latency` (`BENCH_BASELINE=main` adds the "
        "explorers of that commit, measured interleaved in the same run).",
        f"Load average (1 min) of the machine: {load_before:.1f} at the start, "
        f"{load_after:.1f} at the end; on a shared machine read the columns "
        "side by side, not against the targets.",
        "",
        *table(rows),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
