"""Execute notebooks in place, the way nbval will re-run them, and tidy them.

Usage: python -m tools.execute_notebook notebooks/01_entropy.ipynb [...]

Each notebook runs top to bottom in a fresh kernel from its own folder; the
stored outputs are what nbval later compares against. Widget state is
stripped from the metadata (nbval cannot compare it and it bloats diffs) and
the python3 kernelspec is set, so JupyterLab never stops on a kernel dialog.
Consecutive writes to one stream are stored as one output: where the kernel
cut them depends on timing, and a re-run should not change the file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

KERNELSPEC = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}


def coalesce_streams(outputs: list) -> list:
    """One output per run of consecutive writes to the same stream.

    >>> out = [nbformat.v4.new_output("stream", name="stdout", text="a\\n"),
    ...        nbformat.v4.new_output("stream", name="stdout", text="b\\n")]
    >>> [o.text for o in coalesce_streams(out)]
    ['a\\nb\\n']
    """
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.output_type == "stream" and previous is not None
                and previous.output_type == "stream"
                and previous.name == output.name):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def tidy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip widget state and set the kernelspec; keep outputs, each
    stream's consecutive writes as one."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata.setdefault("language_info", {"name": "python"})
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    return nb


def execute(path: Path, timeout: int = 600) -> float:
    """Run ``path`` in place; return the wall-clock seconds it took."""
    nb = nbformat.read(path, as_version=4)
    tidy(nb)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    tidy(nb)
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {execute(Path(name)):.1f} s")
