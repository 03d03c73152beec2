"""A throw-away JupyterLab server and the page actions the browser test needs.

Used by the browser tests and benchmarks/bench_browser_latency.py. The server
runs from an environment (``python -m jupyter lab``, this one by default) on a
free loopback port with a random
token, with its settings, workspaces and runtime files in a temporary folder
so that nothing of the user's JupyterLab set-up leaks in, and nothing the test
does (autosave, workspace state) leaks out.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

# Chromium flags for a headless, offline, container-friendly run: no sandbox
# (we run as root in CI), no GPU, and none of the background traffic
# (component updates, sync, field trials) that would try to reach the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JupyterLab settings for the test: no news or update checks (they would try
# the network and pop up toasts over the notebook); every cell in the DOM (no
# windowing, so the test sees every prompt and output); start the notebook's
# kernel without asking even if the kernel list is still loading.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """``jupyter lab`` serving ``root_dir`` on loopback with a random token.

    ``python`` is the interpreter of the environment to serve from (the
    learner's ``.venv`` for the lab a learner gets, this one by default);
    ``settings`` adds user settings (by settings file name) to
    :data:`LAB_SETTINGS`; ``env`` adds environment variables (the kernels
    inherit them).
    """

    def __init__(self, root_dir: Path, state_dir: Path, log_path: Path,
                 python: str | Path = sys.executable,
                 settings: dict | None = None, env: dict | None = None):
        self.root_dir = root_dir
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        user_settings = {**LAB_SETTINGS, **(settings or {})}
        settings = state_dir / "user-settings"
        for name, value in user_settings.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        command = [
            str(python), "-m", "jupyter", "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={root_dir}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        env = {**os.environ, **(env or {})}
        # Runtime files (connection files, server info) and the IPython
        # profile go to the temporary folder too.
        env["JUPYTER_RUNTIME_DIR"] = str(state_dir / "runtime")
        env["IPYTHONDIR"] = str(state_dir / "ipython")
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env,
            cwd=root_dir, start_new_session=True,
        )

    def url(self, path: str, **query: str) -> str:
        query = {**query, "token": self.token}
        args = "&".join(f"{k}={v}" if v else k for k, v in query.items())
        return f"{self.base_url}/{path.lstrip('/')}?{args}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            f"{self.base_url}/api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll /api/status until the server answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        raise TimeoutError(f"jupyter lab did not answer in {timeout} s:\n{self.log()}")

    def shutdown_sessions(self) -> None:
        """Stop every kernel the page started (frees memory between chapters)."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Ask the server to shut down (it stops its kernels); kill if it hangs."""
        try:
            self.api("shutdown", method="POST")
            self.process.wait(timeout=20)
        except (urllib.error.URLError, ConnectionError, subprocess.TimeoutExpired):
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
        self._log.close()


# --- page actions ------------------------------------------------------------

def open_notebook(page, server: LabServer, name: str, timeout_ms: int) -> None:
    """Open ``name`` in a fresh workspace and wait for its kernel to be idle."""
    url = server.url(f"lab/tree/{name}", reset="")
    cells = ".jp-NotebookPanel .jp-Notebook .jp-Cell"
    page.goto(url, timeout=timeout_ms)
    try:
        page.wait_for_selector(cells, timeout=timeout_ms // 3)
    except Exception:  # noqa: BLE001 - one reload, then the real timeout
        # Seen once on a machine loaded by parallel test runs: the first load
        # of the JupyterLab app stalled; a reload recovered it.
        page.reload(timeout=timeout_ms)
        page.wait_for_selector(cells, timeout=timeout_ms)
    idle = page.locator(IDLE)
    select_kernel = page.locator(".jp-Dialog", has_text="Select Kernel")
    deadline = time.monotonic() + timeout_ms / 1000
    while not idle.count():
        if select_kernel.count():
            # Asked only when the kernel list was not loaded yet: the notebook's
            # own kernelspec (python3) is preselected, accept it.
            select_kernel.locator(".jp-mod-accept").click()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel of {name} did not become idle")
        page.wait_for_timeout(250)
    # The page may show "idle" before its kernel is connected (seen: Run All
    # clicked then ran no cell at all). Wait until the server has this
    # notebook's kernel idle with the page's connection open, then for the
    # page again.
    while not _kernel_connected(server, name):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel of {name} is not connected to the page")
        page.wait_for_timeout(250)
    wait_kernel_idle(page, timeout_ms)


def _kernel_connected(server: LabServer, name: str) -> bool:
    """True when ``name`` has a kernel that is idle with a connection open."""
    for session in server.api("sessions"):
        if session.get("path", "").lstrip("/") == name.lstrip("/"):
            kernel = server.api(f"kernels/{session['kernel']['id']}")
            return (kernel.get("execution_state") == "idle"
                    and kernel.get("connections", 0) >= 1)
    return False


IDLE = (
    ".jp-NotebookPanel:not(.lm-mod-hidden) "
    ".jp-Notebook-ExecutionIndicator[data-status='idle']"
)


def wait_kernel_idle(page, timeout_ms: int) -> None:
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def menu(page, top: str, item: str) -> None:
    """Click ``top`` in the menu bar, then ``item`` in its menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    # JupyterLab writes "..." as one character, the ellipsis.
    label = (f"^{re.escape(item[:-3])}(\u2026|\\.\\.\\.)$" if item.endswith("...")
             else f"^{re.escape(item)}$")
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(label)).click()


def menu_labels(page) -> list[str]:
    """The labels of the menu bar (File, Edit, ...)."""
    return [t.strip() for t in
            page.locator(".lm-MenuBar-itemLabel").all_inner_texts()]


def save_notebook(page, timeout_ms: int) -> None:
    """Save the open notebook (Ctrl+S) and wait until it is no longer dirty."""
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").click(
        position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
        timeout=timeout_ms,
    )


def restart_kernel(page, timeout_ms: int) -> None:
    """Kernel > Restart Kernel..., accept the dialog, wait for the kernel."""
    menu(page, "Kernel", "Restart Kernel...")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_timeout(500)
    wait_kernel_idle(page, timeout_ms)


# What the page shows of each code cell's prompt: "[ ]:" not run, "[*]:"
# queued or running, "[7]:" run.
_PROMPTS = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim())"""

# How long the kernel may sit idle with cells still unrun before Run All
# counts as stalled. Between two cells of one Run All the kernel is idle for
# milliseconds; this only has to outlast a busy machine's slowest hand-over.
STALL_SECONDS = 30.0


class RunAllStalled(AssertionError):
    """Run All stopped before the last cell with no error in any output."""


def run_all_cells(page, timeout_ms: int) -> None:
    """Clear every output, Run > Run All Cells, wait until every cell has run.

    Clearing first matters: the committed notebook already shows execution
    numbers [1]..[n], exactly what a finished run shows. A cell that raises
    stops Run All: that fails at once with the cell's error. If Run All stops
    with no error shown (the kernel idle for :data:`STALL_SECONDS` while cells
    are unrun), the failure says where it stopped and what the page and the
    server showed, instead of waiting out ``timeout_ms``.
    """
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        f"() => ({_PROMPTS})().every(p => !/\\d/.test(p))", timeout=timeout_ms)
    menu(page, "Run", "Run All Cells")
    deadline = time.monotonic() + timeout_ms / 1000
    idle_since = None
    while True:
        prompts = page.evaluate(_PROMPTS)
        unrun = [i for i, p in enumerate(prompts) if not re.search(r"\[\s*\d+\s*\]", p)]
        idle = page.locator(IDLE).count() > 0
        if not unrun and idle:
            return
        stuck = idle and unrun and not any("*" in prompts[i] for i in unrun)
        if stuck and (errors := cell_errors(page)):
            # The cell that raised is the last that ran, just before the first
            # unrun one (cells are numbered from 1).
            raise AssertionError(
                f"Run All stopped at code cell {unrun[0]} of {len(prompts)} "
                "on an error:\n" + "\n---\n".join(errors))
        idle_since = (idle_since or time.monotonic()) if stuck else None
        now = time.monotonic()
        if (idle_since and now - idle_since > STALL_SECONDS) or now > deadline:
            raise RunAllStalled(_stall_report(page, prompts, unrun, idle))
        page.wait_for_timeout(250)


def _stall_report(page, prompts: list[str], unrun: list[int], idle: bool) -> str:
    """Where Run All stopped, and what the page showed then."""
    status = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                          ".jp-Notebook-ExecutionIndicator")
    dialogs = page.locator(".jp-Dialog").all_inner_texts()
    toasts = page.locator(".jp-toast-message, .Toastify__toast").all_inner_texts()
    first = unrun[0] if unrun else None
    source = ""
    if first is not None:
        cell = page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(first)
        source = cell.locator(".jp-InputArea-editor").inner_text()[:300]
    indicator = status.first.get_attribute("data-status") if status.count() else None
    return (
        f"Run All did not finish: {len(unrun)} of {len(prompts)} code cells unrun, "
        f"kernel {'idle' if idle else 'busy'} "
        f"(indicator: {indicator}); "
        f"prompts {prompts}; first unrun cell {first if first is None else first + 1}: "
        f"{source!r}; dialogs {dialogs}; notifications {toasts}"
    )


def cell_errors(page) -> list[str]:
    """Text of every error shown in a cell output (tracebacks, widget errors)."""
    found = []
    stderr = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    )
    for i in range(stderr.count()):
        text = stderr.nth(i).inner_text()
        if "Traceback" in text or re.search(r"\w+Error\b", text):
            found.append(text[:2000])
    widget_errors = page.locator(".jp-OutputArea-output",
                                 has_text="Error displaying widget")
    for i in range(widget_errors.count()):
        found.append(widget_errors.nth(i).inner_text()[:500])
    return found


# An explorer is an output that is a widget box holding a control and a
# figure: an Image widget (itutils.widgets._panel today) or an <img> in an
# Output widget (explorers before the Image widget; the latency benchmark
# measures both).
EXPLORER = (".jp-OutputArea-output > .jupyter-widgets.widget-vbox"
            ":has(.widget-slider, .widget-dropdown, .widget-toggle-buttons)"
            ":has(img.widget-image, .widget-output img)")
FIGURE = "img.widget-image, .widget-output img"


def explorers(page):
    """The explorers on the page (see :data:`EXPLORER`)."""
    return page.locator(EXPLORER)


def figure_of(panel):
    """An explorer's figure, the ``<img>`` its PNG is shown in."""
    return panel.locator(FIGURE).first
