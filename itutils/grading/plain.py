"""Plain data: the only thing that crosses from a student's process to the grader.

A student's function may return anything, including an object whose ``==``
always says True. Before a value leaves the student's process it is turned
into JSON-able plain data (numbers, strings, lists, numeric arrays); any other
type is refused with a reason. The grader decodes the plain data with its own
code and compares it with its own code, so nothing the student defines ever
takes part in a comparison.

Encoding: ``None``, ``bool``, ``int``, ``str`` and finite ``float`` are
themselves; ``nan``/``inf`` become ``{"__float__": "nan"}``; lists and tuples
become lists; dicts become ``{"__dict__": [[key, value], ...]}``; numeric
numpy arrays and torch tensors become ``{"__array__": [...flat...],
"shape": [...], "dtype": "float64"}`` (numeric dtypes only) (``"tensor": true`` marks a
value that the student side should rebuild as a torch tensor).
"""

from __future__ import annotations

import math
import sys

import numpy as np

__all__ = ["NotPlainData", "to_plain", "from_plain", "MAX_ELEMENTS"]

#: Largest number of numbers one value may carry (arrays included).
MAX_ELEMENTS = 1_000_000
_MAX_DEPTH = 20
_MAX_STRING = 100_000

_DTYPES = {
    "float64",
    "float32",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint64",
    "uint32",
    "uint16",
    "uint8",
    "bool",
}
_NUMPY_SCALARS = {
    np.float64: float,
    np.float32: float,
    np.float16: float,
    np.int64: int,
    np.int32: int,
    np.int16: int,
    np.int8: int,
    np.uint64: int,
    np.uint32: int,
    np.uint16: int,
    np.uint8: int,
    np.bool_: bool,
}


class NotPlainData(TypeError):
    """A value that cannot be sent as plain data; the message says why."""


def _type_name(value) -> str:
    kind = type(value)
    module = getattr(kind, "__module__", "?")
    name = getattr(kind, "__qualname__", "?")
    return name if module == "builtins" else f"{module}.{name}"


def _float(x: float):
    if math.isfinite(x):
        return x
    return {"__float__": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def _array(arr: np.ndarray, tensor: bool) -> dict:
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise NotPlainData(
            f"an array of dtype {arr.dtype} is not accepted; return numbers "
            "(a float, int or bool array)"
        )
    if arr.size > MAX_ELEMENTS:
        raise NotPlainData(f"an array of {arr.size} numbers is too large to grade")
    flat = arr.ravel()
    if arr.dtype.name not in _DTYPES:
        raise NotPlainData(f"an array of dtype {arr.dtype} is not accepted")
    if kind == "f":
        values = [_float(float(x)) for x in flat.astype(np.float64).tolist()]
    elif kind == "b":
        values = [bool(x) for x in flat.tolist()]
    else:
        values = [int(x) for x in flat.tolist()]
    out = {
        "__array__": values,
        "shape": [int(n) for n in arr.shape],
        "dtype": arr.dtype.name,
    }
    if tensor:
        out["tensor"] = True
    return out


def to_plain(value, _depth: int = 0):
    """Encode ``value`` as JSON-able plain data, or raise :class:`NotPlainData`.

    Only exact built-in types, exact numpy scalar and array types and exact
    torch tensors are accepted: subclasses could override ``==``, ``float``
    or ``tolist`` and so are refused.

    Examples
    --------
    >>> to_plain([1, 2.5, float("inf")])
    [1, 2.5, {'__float__': 'inf'}]
    >>> to_plain(np.array([[0.5, 0.5]]))
    {'__array__': [0.5, 0.5], 'shape': [1, 2], 'dtype': 'float64'}
    >>> class AlwaysEqual:
    ...     def __eq__(self, other):
    ...         return True
    >>> to_plain(AlwaysEqual())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    itutils.grading.plain.NotPlainData: an object of type ...AlwaysEqual is not ...
    """
    if _depth > _MAX_DEPTH:
        raise NotPlainData("the value is nested too deeply to grade")
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is int:
        if not -(2**63) <= value < 2**64:
            raise NotPlainData(
                "an integer outside the 64-bit range is too large to grade"
            )
        return value
    if kind is str:
        if len(value) > _MAX_STRING:
            raise NotPlainData(
                f"a string of {len(value)} characters is too long to grade"
            )
        return value
    if kind is float:
        return _float(value)
    if kind in _NUMPY_SCALARS:
        return to_plain(_NUMPY_SCALARS[kind](value.item()), _depth)
    if kind in (list, tuple):
        if len(value) > MAX_ELEMENTS:
            raise NotPlainData(f"a list of {len(value)} items is too large to grade")
        return [to_plain(v, _depth + 1) for v in value]
    if kind is dict:
        pairs = []
        for key, item in value.items():
            if type(key) not in (bool, int, float, str):
                raise NotPlainData(
                    f"a dict key of type {_type_name(key)} is not accepted; "
                    "use numbers or strings as keys"
                )
            pairs.append([to_plain(key, _depth + 1), to_plain(item, _depth + 1)])
        return {"__dict__": pairs}
    if kind is np.ndarray:
        return _array(value, tensor=False)
    torch = sys.modules.get("torch")
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        return _array(value.detach().cpu().numpy(), tensor=True)
    raise NotPlainData(
        f"an object of type {_type_name(value)} is not plain data; return a "
        "number, a string, a list or a numpy array"
    )


def _decode_float(tag):
    return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[tag]


def from_plain(data, tensors: bool = False, _depth: int = 0):
    """Decode plain data made by :func:`to_plain` (lists stay lists).

    Arrays come back as numpy arrays, or as torch tensors when ``tensors`` is
    True and they were tensors. Anything that is not valid plain data raises
    :class:`NotPlainData`, so the grader never trusts a malformed message.

    Examples
    --------
    >>> from_plain({"__dict__": [[0.5, {"__float__": "nan"}]]})
    {0.5: nan}
    >>> from_plain(to_plain(np.eye(2))).shape
    (2, 2)
    """
    if _depth > _MAX_DEPTH + 2:
        raise NotPlainData("the value is nested too deeply to grade")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [from_plain(v, tensors, _depth + 1) for v in data]
    if kind is dict:
        if set(data) == {"__float__"} and data["__float__"] in ("nan", "inf", "-inf"):
            return _decode_float(data["__float__"])
        if set(data) == {"__dict__"} and type(data["__dict__"]) is list:
            out = {}
            for pair in data["__dict__"]:
                if type(pair) is not list or len(pair) != 2:
                    raise NotPlainData("malformed dict in the returned data")
                key = from_plain(pair[0], tensors, _depth + 1)
                if type(key) not in (bool, int, float, str):
                    raise NotPlainData("malformed dict key in the returned data")
                out[key] = from_plain(pair[1], tensors, _depth + 1)
            return out
        if "__array__" in data:
            return _decode_array(data, tensors)
    raise NotPlainData(f"malformed plain data of type {kind.__name__}")


def _decode_array(data: dict, tensors: bool):
    values, shape, dtype = data.get("__array__"), data.get("shape"), data.get("dtype")
    if (
        type(values) is not list
        or type(shape) is not list
        or any(type(n) is not int or n < 0 for n in shape)
        or dtype not in _DTYPES
        or math.prod(shape) != len(values)
        or len(values) > MAX_ELEMENTS
    ):
        raise NotPlainData("malformed array in the returned data")
    numbers = [
        _decode_float(v["__float__"])
        if type(v) is dict and set(v) == {"__float__"}
        else v
        for v in values
    ]
    if any(type(v) not in (bool, int, float) for v in numbers):
        raise NotPlainData("malformed array in the returned data")
    arr = np.array(numbers, dtype=np.dtype(dtype)).reshape(shape)
    if tensors and data.get("tensor") is True:
        import torch

        return torch.from_numpy(arr)
    return arr
