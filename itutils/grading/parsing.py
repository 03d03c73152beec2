"""Python's parser and compiler, one thread at a time.

The batch grader prepares submissions in worker threads. CPython 3.11 keeps
the depth counter of its AST conversion in interpreter-wide state, so two
threads calling :func:`ast.parse` (or compiling an AST) at once can fail with
``SystemError: AST constructor recursion depth mismatch`` on a perfectly
good notebook (CPython issue gh-106905). Every parse and AST compile of the
grader goes through here, under one lock.
"""

from __future__ import annotations

import ast
import threading

__all__ = ["parse", "compile_ast"]

_LOCK = threading.RLock()


def parse(source: str, mode: str = "exec") -> ast.AST:
    """:func:`ast.parse`, serialised across threads.

    >>> type(parse("x = 1")).__name__
    'Module'
    """
    with _LOCK:
        return ast.parse(source, mode=mode)


def compile_ast(tree: ast.AST, filename: str, mode: str):
    """:func:`compile` of an AST, serialised across threads.

    >>> eval(compile_ast(parse("1 + 1", mode="eval"), "<x>", "eval"))
    2
    """
    with _LOCK:
        return compile(tree, filename, mode)
