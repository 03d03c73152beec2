"""The check API of the exercise notebooks, and the comparisons behind it.

Hidden test cells in ``solutions/`` are written with four calls::

    check_close(entropy_bits([0.5, 0.5]), 1.0)               # numbers, arrays
    check_equal(best_label, 3)                                # exact plain data
    check_that(pxy, _zero_correlation_positive_mi)            # a property
    check_raises(ValueError, lambda: entropy_bits([-1, 2]))   # an error

Run in a kernel (nbval over solutions/, nbgrader's autograde) each call
raises ``AssertionError`` when the check fails. The course's grader never
runs these cells in the student's process: it reads them with ``ast``,
evaluates the first argument (the student's side) in the student's process,
receives it as plain data (:mod:`itutils.grading.plain`) and calls the same
``compare_*`` functions here in its own process. Both paths go through
:func:`to_plain` first, so a value that the grader would refuse is refused in
a kernel too.

Visible self-checks for learners use :func:`self_check`, which prints a line
and never raises, so an unanswered exercise runs top to bottom.
"""

from __future__ import annotations

import math

import numpy as np

from itutils.grading.plain import NotPlainData, from_plain, to_plain

__all__ = [
    "check_close",
    "check_equal",
    "check_that",
    "check_raises",
    "self_check",
    "compare_close",
    "compare_equal",
    "compare_that",
    "describe",
]


def describe(value, limit: int = 300) -> str:
    """A short, deterministic description of a plain value for feedback.

    Examples
    --------
    >>> describe(np.array([0.5, 0.25]))
    'array([0.5 , 0.25])'
    >>> describe(None)
    'None'
    """
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=20, edgeitems=3):
            text = repr(value)
    elif isinstance(value, float):
        text = f"{value:.10g}"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _numeric(value):
    """``value`` as a float array, or None when it is not numeric."""
    if value is None or isinstance(value, (str, dict)):
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def compare_close(actual, expected, atol: float = 1e-6, rtol: float = 1e-6):
    """Return None if ``actual`` matches ``expected`` numerically, else why not.

    Shapes must agree exactly (a single number is shape ``()``); ``inf``
    matches ``inf`` of the same sign; ``nan`` matches nothing.

    Examples
    --------
    >>> compare_close(2.0, 2.0000001) is None
    True
    >>> compare_close(None, 1.0)
    'expected 1, got None (is the part answered?)'
    >>> print(compare_close([1.0, 2.0], [1.0, 2.5]))
    expected [1.0, 2.5], got [1.0, 2.0] (largest difference 0.5 at index (1,))
    """
    exp = np.asarray(expected, dtype=np.float64)
    if actual is None:
        return f"expected {describe(expected)}, got None (is the part answered?)"
    act = _numeric(actual)
    if act is None:
        return f"expected a number or numeric array, got {describe(actual)}"
    if act.shape != exp.shape:
        want = "a single number" if exp.shape == () else f"shape {exp.shape}"
        have = (
            "a single number" if act.shape == () else f"an array of shape {act.shape}"
        )
        return f"expected {want}, got {have}: {describe(actual)}"
    ok = np.isclose(act, exp, atol=atol, rtol=rtol)
    if bool(np.all(ok)):
        return None
    message = f"expected {describe(expected)}, got {describe(actual)}"
    if exp.shape != ():
        diff = np.where(ok, 0.0, np.abs(act - exp))
        diff = np.where(np.isnan(diff), np.inf, diff)
        where = np.unravel_index(int(np.argmax(diff)), exp.shape)
        message += (
            f" (largest difference {describe(float(diff[where]))} at index "
            f"{tuple(int(i) for i in where)})"
        )
    elif atol or rtol:
        message += f" (tolerance {atol:g} + {rtol:g} x |expected|)"
    return message


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if type(a) is not type(b) and not (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return False
    return a == b


def compare_equal(actual, expected):
    """Return None if the plain values are equal, else why not.

    Examples
    --------
    >>> compare_equal([1, 2], [1, 2]) is None
    True
    >>> compare_equal("yes", "no")
    "expected 'no', got 'yes'"
    """
    if _same(actual, expected):
        return None
    return f"expected {describe(expected)}, got {describe(actual)}"


def compare_that(actual, predicate, *args):
    """Run a reference ``predicate(actual, *args) -> None | str`` on plain data.

    Examples
    --------
    >>> def positive(x):
    ...     return None if x > 0 else f"expected a positive number, got {x}"
    >>> compare_that(-1, positive)
    'expected a positive number, got -1'
    """
    try:
        return predicate(actual, *args)
    except Exception as exc:  # a malformed answer, not a grader bug
        return f"could not check the answer {describe(actual)}: {exc}"


def _through_plain(value):
    """What the grader would see of ``value``; raises AssertionError if nothing."""
    try:
        return from_plain(to_plain(value))
    except NotPlainData as exc:
        raise AssertionError(str(exc)) from None


def _fail_if(message) -> None:
    if message is not None:
        raise AssertionError(message)


def check_close(actual, expected, atol: float = 1e-6, rtol: float = 1e-6) -> None:
    """Assert that ``actual`` is numerically close to ``expected``.

    Examples
    --------
    >>> check_close(0.1 + 0.2, 0.3)
    >>> check_close(1.0, 2.0)
    Traceback (most recent call last):
    ...
    AssertionError: expected 2, got 1 (tolerance 1e-06 + 1e-06 x |expected|)
    """
    _fail_if(compare_close(_through_plain(actual), expected, atol=atol, rtol=rtol))


def check_equal(actual, expected) -> None:
    """Assert that ``actual`` equals ``expected`` exactly, as plain data.

    Examples
    --------
    >>> check_equal((1, 2), [1, 2])
    """
    _fail_if(compare_equal(_through_plain(actual), _through_plain(expected)))


def check_that(actual, predicate, *args) -> None:
    """Assert that ``predicate(actual, *args)`` reports no problem.

    Examples
    --------
    >>> check_that(3, lambda x: None if x > 0 else "not positive")
    """
    _fail_if(compare_that(_through_plain(actual), predicate, *args))


def check_raises(exception: type, func) -> None:
    """Assert that calling ``func()`` raises ``exception``.

    Examples
    --------
    >>> check_raises(ZeroDivisionError, lambda: 1 / 0)
    """
    try:
        value = func()
    except exception:
        return
    except Exception as exc:
        raise AssertionError(
            f"expected {exception.__name__}, got {type(exc).__name__}: {exc}"
        ) from None
    raise AssertionError(
        f"expected {exception.__name__} to be raised, got the value {describe(value)}"
    )


def self_check(description: str, check) -> None:
    """Run one visible check for the learner: print the outcome, never raise.

    ``check`` is a function of no arguments that calls one of the
    ``check_*`` functions. Returns nothing, so that a notebook cell ending in
    a self-check shows only the printed line.

    Examples
    --------
    >>> self_check("one plus one", lambda: check_close(1 + 1, 2))
    [ok]       one plus one
    >>> def not_done():
    ...     raise NotImplementedError
    >>> self_check("my function", lambda: check_close(not_done(), 1.0))
    [not yet]  my function: not answered yet
    >>> def blank():
    ...     pass
    >>> self_check("first of a pair", lambda: check_close(blank()[0], 1.0))
    [not yet]  first of a pair: not answered yet (got None)
    """
    try:
        check()
    except NotImplementedError:
        print(f"[not yet]  {description}: not answered yet")
        return
    except AssertionError as exc:
        print(f"[not yet]  {description}: {exc}")
        return
    except TypeError as exc:
        # A blank answer (``pass``) returns None; a check that indexes or
        # unpacks it then fails here, which is "not answered", not a crash.
        if "'NoneType'" in str(exc):
            print(f"[not yet]  {description}: not answered yet (got None)")
        else:
            print(f"[error]    {description}: TypeError: {exc}")
        return
    except Exception as exc:
        print(f"[error]    {description}: {type(exc).__name__}: {exc}")
        return
    print(f"[ok]       {description}")
