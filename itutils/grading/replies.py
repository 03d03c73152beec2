"""The strict schema of the harness's replies.

A reply must answer the request the grader sent (same nonce, same sequence
number, same kind) with exactly the fields of that kind; everything in it is
checked for type and size. Any other reply voids the run's automatic parts
(:mod:`itutils.grading.session`).
"""

from __future__ import annotations

from itutils.grading.plain import NotPlainData, from_plain

__all__ = ["REPLY_BOUNDS", "reply_problem", "error_problem"]

#: Shape limits of a reply (besides its size); the harness refuses a value
#: that would break them, so an honest submission never does.
REPLY_BOUNDS = {"max_depth": 64, "max_containers": 100_000, "max_int_digits": 20}

_ERROR_KEYS = {"type", "mro", "message", "where"}
_TEXT_LIMITS = {"type": 200, "message": 2000, "where": 4000}


def error_problem(error) -> str | None:
    if type(error) is not dict or set(error) != _ERROR_KEYS:
        return "an error report with the wrong fields"
    for key, limit in _TEXT_LIMITS.items():
        if type(error[key]) is not str or len(error[key]) > limit:
            return f"an error report whose {key} is not a short text"
    mro = error["mro"]
    if type(mro) is not list or len(mro) > 64:
        return "an error report with a malformed class list"
    if any(type(m) is not str or len(m) > 300 for m in mro):
        return "an error report with a malformed class list"
    return None


def reply_problem(reply, request: dict, traced: set) -> str | None:
    """Why ``reply`` is not an acceptable answer to ``request``, or None."""
    if type(reply) is not dict:
        return "a reply that is not a JSON object"
    if reply.get("nonce") != request["nonce"] or reply.get("seq") != request["seq"]:
        return (
            f"a reply that does not answer request {request['seq']} (a forged, "
            "repeated or out-of-order reply)"
        )
    op = request["op"]
    if reply.get("op") != op:
        return f"a reply of the wrong kind to request {request['seq']}"
    base = {"nonce", "seq", "op"}
    keys = set(reply) - base
    if op == "end" and "cpu" in keys:
        cpu = reply["cpu"]
        if type(cpu) not in (int, float) or not 0 <= cpu < 1e7:
            return "a malformed reply to the end request"
        keys = keys - {"cpu"}
    if op in ("setup", "end"):
        if keys != {"ok"} or reply["ok"] is not True:
            return f"a malformed reply to the {op} request"
        return None
    if "calls" not in keys:
        return f"a reply to request {request['seq']} without its list of calls"
    calls = reply["calls"]
    if type(calls) is not list or len(calls) > 100:
        return "a malformed list of calls"
    if any(type(c) is not str or c not in traced for c in calls):
        return "a list of calls naming something the grader did not ask to trace"
    if op == "cell":
        if keys != {"calls", "error"}:
            return f"a reply to cell request {request['seq']} with the wrong fields"
        if reply["error"] is not None:
            return error_problem(reply["error"])
        return None
    outcome = keys - {"calls"}
    if len(outcome) != 1 or not outcome <= {"value", "rejected", "raised"}:
        return f"a reply to check request {request['seq']} with the wrong fields"
    (kind,) = outcome
    if kind == "raised":
        return error_problem(reply["raised"])
    if kind == "rejected":
        if type(reply["rejected"]) is not str or len(reply["rejected"]) > 2000:
            return "a malformed refusal"
        return None
    try:
        from_plain(reply["value"])
    except (NotPlainData, RecursionError, OverflowError, ValueError, TypeError):
        return "a value that is not well-formed plain data"
    return None
