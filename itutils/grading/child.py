"""The student's side of grading: run cells, evaluate probes, report plain data.

Started by :mod:`itutils.grading.runner` in a fresh interpreter, inside a
scratch folder, under resource limits. It reads a job (the submission's code
cells and the student-side expressions of the checks, never the expected
values), runs the cells one by one like a kernel would, evaluates every
expression in the student's namespace and writes one JSON line per event to
the grader's pipe. Everything it sends is treated by the grader as the
student's answer: the grader decodes and compares it with its own code.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import traceback

_MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


class StepTimeout(BaseException):
    """A cell or a check ran longer than its share of the time."""


def _alarm(signum, frame):
    raise StepTimeout()


class _Capped:
    """A text stream that keeps at most ``limit`` characters, then drops."""

    def __init__(self, stream, limit: int):
        self._stream, self._left, self.truncated = stream, limit, False

    def write(self, text):
        text = str(text)
        n = len(text)
        if self._left > 0:
            piece = text[: self._left]
            self._stream.write(piece)
            self._left -= len(piece)
            text = text[len(piece) :]
        if text and not self.truncated:
            self.truncated = True
            self._stream.write("\n[output truncated by the grader]\n")
        return n

    def flush(self):
        self._stream.flush()

    def isatty(self):
        return False


def _error(exc: BaseException, filename_prefix: str = "<cell") -> dict:
    kind = type(exc)
    mro = [f"{k.__module__}.{k.__qualname__}" for k in kind.__mro__]
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith(filename_prefix) or f.filename.startswith("<check")
    ]
    where = "".join(traceback.format_list(frames[-3:]))
    try:
        message = str(exc)
    except Exception:  # a hostile __str__
        message = "<message could not be shown>"
    return {
        "type": kind.__qualname__,
        "mro": mro,
        "message": message[:500],
        "where": where[:1500],
    }


def _display(*objs, **kwargs):
    for obj in objs:
        print(repr(obj))


_SKIP = {
    "antigravity",
    "this",
    "idlelib",
    "tkinter",
    "turtle",
    "turtledemo",
    "ensurepip",
    "venv",
    "lib2to3",
    "pydoc",
    "webbrowser",
    "readline",
    "curses",
    "dbm",
    "test",
}
_PACKAGES = (
    "importlib",
    "concurrent",
    "json",
    "collections",
    "urllib",
    "xml",
    "email",
    "logging",
    "multiprocessing",
    "unittest",
    "http",
    "encodings",
    "asyncio",
    "ctypes",
    "sqlite3",
    "wsgiref",
    "zoneinfo",
)


def preload(modules: list, stdlib: bool = False) -> None:
    """Import trusted modules before privileges are dropped.

    Used when the grader runs as root and switches the submission to the
    user 'nobody': if the interpreter lives where 'nobody' cannot read (a
    Python under /root), every standard-library module is loaded first
    (about 0.3 s), as are the modules the notebook imports.
    """
    import importlib
    import pkgutil

    names = list(modules)
    if stdlib:
        names = [
            n
            for n in sorted(sys.stdlib_module_names)
            if n not in _SKIP and not n.startswith(("_test", "_xx"))
        ] + names
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:  # an optional module missing on this system
            pass
    if stdlib:
        for package in _PACKAGES:
            module = sys.modules.get(package)
            for info in pkgutil.walk_packages(
                getattr(module, "__path__", []), package + "."
            ):
                # __main__ modules run programs when imported.
                if info.name.endswith("__main__") or ".test" in info.name:
                    continue
                try:
                    importlib.import_module(info.name)
                except BaseException:
                    pass


def main(argv: list) -> None:
    job_path, fd = argv[0], int(argv[1])
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    channel = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
    from itutils.grading.plain import NotPlainData, from_plain, to_plain

    def emit(event: dict) -> None:
        channel.write(json.dumps(event) + "\n")
        channel.flush()

    sys.stdout = _Capped(sys.stdout, job["output_limit"])
    sys.stderr = _Capped(sys.stderr, job["output_limit"])
    signal.signal(signal.SIGALRM, _alarm)
    step = float(job["step_limit"])
    ns = {"__name__": "__main__", "display": _display, "get_ipython": lambda: None}
    emit({"event": "start"})
    for cell in job["cells"]:
        emit({"event": "cell", "index": cell["index"], "grade_id": cell["grade_id"]})
        # IPython magics and shell escapes have no meaning here; keep line numbers.
        source = _MAGIC.sub(r"\1pass", cell["source"])
        try:
            code = compile(source, f"<cell {cell['index']}>", "exec")
            signal.setitimer(signal.ITIMER_REAL, step)
            try:
                exec(code, ns)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as exc:  # SystemExit and timeouts included
            emit(
                {
                    "event": "cell_error",
                    "index": cell["index"],
                    "grade_id": cell["grade_id"],
                    **_error(exc),
                }
            )
    modules, stalled = {}, set()
    for probe in job["probes"]:
        part = probe["id"].rsplit(":", 1)[0]
        if part in stalled:  # one timeout per part is enough to know
            emit(
                {
                    "event": "probe",
                    "id": probe["id"],
                    "raised": {
                        "type": "StepTimeout",
                        "mro": [],
                        "message": "skipped",
                        "where": "",
                    },
                }
            )
            continue
        emit({"event": "probe_start", "id": probe["id"]})
        env = dict(ns)
        try:
            for alias in probe["modules"]:
                if alias not in modules:
                    modules[alias] = __import__(job["trusted"][alias])
                env[alias] = modules[alias]
            for name, data in probe["shipped"].items():
                env[name] = from_plain(data, tensors=True)
            code = compile(probe["expr"], f"<check {probe['id']}>", "eval")
            signal.setitimer(signal.ITIMER_REAL, step)
            try:
                value = eval(code, env)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                result = {"value": to_plain(value)}
            except NotPlainData as exc:
                result = {"rejected": str(exc)}
        except BaseException as exc:
            result = {"raised": _error(exc, "<check")}
            if isinstance(exc, StepTimeout):
                stalled.add(part)
        emit({"event": "probe", "id": probe["id"], **result})
    emit({"event": "done"})
    sys.stdout.flush()
    # Skip atexit handlers and threads a notebook may have left behind.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
