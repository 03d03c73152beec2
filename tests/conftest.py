"""Shared test set-up: a non-interactive matplotlib backend, and the order
in which ``make test`` hands test files to its workers."""

import matplotlib

matplotlib.use("Agg")

# Files that take minutes, slowest first (measured by `make test
# --durations`). `make test` runs files on two workers (pytest-xdist
# --dist loadfile --no-loadscope-reorder), each taking the next file when it
# runs low: started first, the long files overlap each other and the many
# short ones fill the gaps; started last, one of them would run alone while
# the other core idles.
SLOWEST_FIRST = (
    "tests/test_wrong_answers.py",
    "tests/test_browser.py",
    "tests/test_figures.py",
    "tests/redteam/test_sandbox_isolation.py",
    "tests/test_nbgrader_compat.py",
    "tests/redteam/test_sandbox_references.py",
    "tests/redteam/",
    "notebooks/",
    "tests/test_slides.py",
    "tests/test_grading",
    "solutions/",
    "exercises/",
    "tests/test_exercises.py",
    "tests/test_nb_",
)


def _rank(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    for rank, prefix in enumerate(SLOWEST_FIRST):
        if path.startswith(prefix):
            return rank
    return len(SLOWEST_FIRST)


def pytest_collection_modifyitems(items):
    items.sort(key=_rank)  # stable: the order within each file is kept
