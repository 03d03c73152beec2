"""Exercises with hidden tests, and a grader that never trusts a submission.

- :mod:`~itutils.grading.checks`: the check API of the exercise notebooks
  (``check_close``, ``check_equal``, ``check_that``, ``check_raises``,
  ``self_check``) and the comparisons behind it;
- :mod:`~itutils.grading.plain`: plain data, the only thing that leaves a
  student's process;
- :mod:`~itutils.grading.spec`: reads the hidden tests of ``solutions/`` with
  ``ast``;
- :mod:`~itutils.grading.child` / :mod:`~itutils.grading.runner`: one
  submission in its own limited process;
- :mod:`~itutils.grading.score` / :mod:`~itutils.grading.batch`: points,
  grades.csv, feedback files and the summary, built from
  :mod:`~itutils.grading.discover` (who submitted what, in an untrusted
  folder), :mod:`~itutils.grading.safefs` (reads and writes that no link or
  FIFO redirects), :mod:`~itutils.grading.quoting` (CSV and Markdown safe
  from injection) and :mod:`~itutils.grading.report` (the text of each file);
- :mod:`~itutils.grading.shard`: ``--shard K/N`` and ``merge``, for grading
  on a cluster;
- :mod:`~itutils.grading.generate`: exercises/ from solutions/ with
  nbgrader's own preprocessors.

Command line: ``python -m itutils.grading grade SUBMISSIONS --out OUT``,
``python -m itutils.grading merge SHARD_DIR... --out OUT`` and
``python -m itutils.grading generate`` (``make grade`` / ``make exercises``).
"""

from itutils.grading.checks import (
    check_close,
    check_equal,
    check_raises,
    check_that,
    self_check,
)

__all__ = ["check_close", "check_equal", "check_raises", "check_that", "self_check"]
