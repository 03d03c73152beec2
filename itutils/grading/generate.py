"""Generate the student notebooks (exercises/) from the single source (solutions/).

The stripping is nbgrader's own: its preprocessors, in the order its
``generate_assignment`` applies them (minus the gradebook database), run
through nbconvert. Solutions become a stub, hidden tests disappear, outputs
are cleared, read-only cells are locked and checksums recorded, so the
generated notebooks also work with nbgrader's validate and autograde.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from traitlets.config import Config

__all__ = ["CODE_STUB", "nbgrader_config", "generate_notebook", "generate_all"]

#: What replaces a solution. A stub that raises (nbgrader's default) would
#: stop "Run All" at the first unanswered top-level cell; ``pass`` lets an
#: unanswered function return None and an unanswered value stay None, which
#: the visible self-checks then report as "not answered yet".
CODE_STUB = "pass  # YOUR CODE HERE: replace this line"


def nbgrader_config() -> Config:
    """The nbgrader settings the course uses (also for a real nbgrader course)."""
    c = Config()
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.enforce_metadata = True
    return c


def generate_notebook(source: Path) -> nbformat.NotebookNode:
    """The student version of one solution notebook."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    exporter = NotebookExporter(config=nbgrader_config())
    for pre in (
        LockCells,
        ClearSolutions,
        ClearOutput,
        CheckCellMetadata,
        ComputeChecksums,
        ClearHiddenTests,
        ClearMarkScheme,
        ComputeChecksums,
        CheckCellMetadata,
    ):
        exporter.register_preprocessor(pre(config=exporter.config), enabled=True)
    body, _ = exporter.from_filename(str(source))
    return nbformat.reads(body, as_version=4)


def generate_all(solutions: Path, exercises: Path) -> list:
    """Write ``exercises/<name>.ipynb`` for every solution; return the paths."""
    exercises = Path(exercises)
    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(Path(solutions).glob("*.ipynb")):
        target = exercises / source.name
        nbformat.write(generate_notebook(source), target)
        written.append(target)
    return written


if __name__ == "__main__":
    args = sys.argv[1:] or ["solutions", "exercises"]
    for path in generate_all(Path(args[0]), Path(args[1])):
        print(f"wrote {path}")
