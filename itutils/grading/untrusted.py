"""Parse JSON that a submission controls, within fixed bounds.

Everything a submission hands the grader (its notebook file, the replies its
process sends) is untrusted data. Python's :func:`json.loads` accepts
``NaN`` and ``Infinity``, integers of thousands of digits, duplicate keys and
arbitrarily deep nesting (which ends in ``RecursionError``), and turns a few
MB of ``[[],[],...]`` into hundreds of MB of lists. :func:`loads_bounded`
checks the size, the nesting depth and the number of containers first, on
the raw bytes, then parses with hooks that refuse non-finite numbers and
oversized integers, so a hostile document costs a bounded amount of memory
and time and ends in one :class:`UntrustedDataError` with a reason.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

__all__ = ["UntrustedDataError", "Bounds", "loads_bounded", "nesting_depth"]

# A JSON string, escapes included; linear time (the alternatives are disjoint).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_CLOSE = np.zeros(256, dtype=np.int8)
_CLOSE[[ord("]"), ord("}")]] = 1


class UntrustedDataError(ValueError):
    """Untrusted JSON broke one of the bounds; the message says which."""


class Bounds:
    """Limits for one kind of untrusted document.

    Parameters
    ----------
    max_bytes : int
        Largest document accepted.
    max_depth : int
        Deepest nesting of lists/objects.
    max_containers : int
        Most lists and objects in one document (each costs ~60 bytes or more
        once parsed, however short its text).
    max_int_digits : int
        Longest integer literal.
    """

    def __init__(
        self,
        max_bytes: int,
        max_depth: int = 64,
        max_containers: int = 200_000,
        max_int_digits: int = 20,
    ):
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.max_containers = max_containers
        self.max_int_digits = max_int_digits


def nesting_depth(data: bytes) -> tuple[int, int]:
    """(deepest nesting, number of containers) of a JSON text, strings skipped.

    Brackets inside strings do not count. Unbalanced text gives some answer;
    the parser rejects it afterwards.

    Examples
    --------
    >>> nesting_depth(b'{"a": [1, [2, "]]]"]]}')
    (3, 3)
    """
    stripped = _STRING.sub(b'""', data)
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = _OPEN[codes].astype(np.int32) - _CLOSE[codes]
    if steps.size == 0:
        return 0, 0
    depth = np.cumsum(steps, dtype=np.int64)
    return int(depth.max(initial=0)), int(_OPEN[codes].sum(dtype=np.int64))


def _refuse_constant(name: str):
    raise UntrustedDataError(f"the JSON holds the non-standard number {name}")


def loads_bounded(data: bytes, bounds: Bounds, what: str = "the data"):
    """Parse ``data`` (UTF-8 JSON) within ``bounds``, or raise UntrustedDataError.

    Examples
    --------
    >>> loads_bounded(b'{"x": [1, 2.5]}', Bounds(100))
    {'x': [1, 2.5]}
    >>> for bad in (b'[[[[1]]]]', b'[NaN]', b'[1e999]', b'[' + b'9' * 30 + b']'):
    ...     try:
    ...         loads_bounded(bad, Bounds(100, max_depth=3))
    ...     except UntrustedDataError as exc:
    ...         print(exc)
    the data is nested 4 deep, over the limit of 3
    the JSON holds the non-standard number NaN
    the data holds the out-of-range number 1e999
    the data holds an integer of 30 digits, over the limit of 20
    """
    if type(data) is not bytes:
        raise UntrustedDataError(f"{what} is not bytes")
    if len(data) > bounds.max_bytes:
        raise UntrustedDataError(
            f"{what} is {len(data)} bytes, over the limit of {bounds.max_bytes}"
        )
    depth, containers = nesting_depth(data)
    if depth > bounds.max_depth:
        raise UntrustedDataError(
            f"{what} is nested {depth} deep, over the limit of {bounds.max_depth}"
        )
    if containers > bounds.max_containers:
        raise UntrustedDataError(
            f"{what} holds {containers} lists/objects, over the limit of "
            f"{bounds.max_containers}"
        )

    def parse_int(text: str) -> int:
        if len(text.lstrip("-")) > bounds.max_int_digits:
            raise UntrustedDataError(
                f"{what} holds an integer of {len(text)} digits, over the limit "
                f"of {bounds.max_int_digits}"
            )
        return int(text)

    def parse_float(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise UntrustedDataError(f"{what} holds the out-of-range number {text}")
        return value

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UntrustedDataError(f"{what} is not UTF-8 text") from exc
    try:
        return json.loads(
            text,
            parse_int=parse_int,
            parse_float=parse_float,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        raise UntrustedDataError(
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        if isinstance(exc, UntrustedDataError):
            raise
        raise UntrustedDataError(
            f"{what} cannot be parsed ({type(exc).__name__})"
        ) from None
