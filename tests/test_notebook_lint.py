"""What learners read in a notebook's code: no test-tool comments, no long lines.

- nbval's markers are cell tags (``nbval-ignore-output`` in the cell's
  metadata ``tags``), never a ``# NBVAL_IGNORE_OUTPUT`` comment that every
  learner reads at the top of a cell (and that the static site and the slides
  show too). nbval 0.11 honours the tags, which is checked here on the
  installed nbval.
- Code lines are at most 88 characters (ruff's limit, the course's): longer
  ones are cut at 1280x720 with JupyterLab's file browser open, and on
  slides.

Over notebooks/, solutions/ and exercises/; there is no allow-list: every
problem fails the test. ``python -m tests.test_notebook_lint`` prints them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions", "exercises")
MAX_LINE = 88
# Every comment marker nbval 0.11 knows (nbval.plugin.comment_markers).
NBVAL_COMMENT = re.compile(
    r"^\s*#\s*(NBVAL_\w+|PYTEST_VALIDATE_IGNORE_OUTPUT)\b", re.MULTILINE)


def notebook_paths() -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((ROOT / folder).glob("*.ipynb"))]


def problems(path: Path) -> dict[str, str]:
    """``{"path cell-id | kind": detail}`` for one notebook."""
    nb = nbformat.read(path, as_version=4)
    found = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        where = f"{name} {cell.get('id', i)}"
        marker = NBVAL_COMMENT.search(cell.source)
        if marker:
            tag = marker.group(1).lower().replace("_", "-")
            found[f"{where} | nbval-comment"] = (
                f"cell {i}: `# {marker.group(1)}` comment; use the cell tag "
                f"{tag!r} (metadata.tags) instead")
        long = [(n, line) for n, line in enumerate(cell.source.splitlines(), 1)
                if len(line) > MAX_LINE]
        if long:
            found[f"{where} | line-too-long"] = (
                f"cell {i}: {len(long)} line(s) over {MAX_LINE} characters, "
                f"e.g. line {long[0][0]} ({len(long[0][1])}): "
                f"{long[0][1].strip()[:60]!r}")
    return found


def all_problems() -> dict[str, str]:
    found = {}
    for path in notebook_paths():
        found.update(problems(path))
    return found


def test_nbval_honours_the_ignore_output_tag():
    # The installed nbval reads the tag as it reads the comment: "do not
    # compare this cell's output".
    from nbval.plugin import find_comment_markers, find_metadata_tags

    tag = dict(find_metadata_tags({"tags": ["nbval-ignore-output"]}))
    comment = dict(find_comment_markers("# NBVAL_IGNORE_OUTPUT\nx = 1"))
    assert tag == comment == {"check": False}


def test_generated_exercises_keep_nbval_tags(tmp_path):
    # solutions/ -> exercises/ (nbgrader's preprocessors) keeps a cell's tags.
    from itutils.grading.generate import generate_notebook

    source = sorted((ROOT / "solutions").glob("*.ipynb"))
    if not source:
        pytest.skip("no solution notebook yet")
    nb = nbformat.read(source[0], as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code"
                and not c.metadata.get("nbgrader", {}).get("solution"))
    cell.metadata.setdefault("tags", []).append("nbval-ignore-output")
    path = tmp_path / source[0].name
    nbformat.write(nb, path)
    student = generate_notebook(path)
    match = [c for c in student.cells if c.get("id") == cell.get("id")]
    assert match and "nbval-ignore-output" in match[0].metadata.get("tags", [])


def test_lint_sees_comments_and_long_lines(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nexplorer"),
        nbformat.v4.new_code_cell("x = 1  " + "#" * 90),
        nbformat.v4.new_code_cell("ok = 1", metadata={"tags": ["nbval-ignore-output"]}),
    ])
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    found = problems(path)
    kinds = sorted(key.split(" | ")[1] for key in found)
    assert kinds == ["line-too-long", "nbval-comment"]
    assert any("'nbval-ignore-output'" in d for d in found.values())


def test_notebook_code_has_no_nbval_comments_or_long_lines():
    found = all_problems()
    assert not found, "fix these:\n" + "\n".join(
        f"  {k}: {v}" for k, v in sorted(found.items()))


if __name__ == "__main__":
    problems_now = all_problems()
    for key, detail in sorted(problems_now.items()):
        print(f"{key}: {detail}")
    print(f"{len(problems_now)} problems")
    sys.exit(1 if problems_now else 0)
