"""The harness: the trusted code that runs first in a submission's process.

Started by :mod:`itutils.grading.runner` inside the sandbox. It holds no job:
it waits on the request pipe, and for each request the grader sends (set up,
run this cell, evaluate this check's student side, end) it does that one
thing and writes one reply carrying the request's nonce and sequence number
on the reply pipe. The check expressions and their inputs therefore reach
this process only after every cell has run, one call at a time, and the
grader accepts exactly one well-formed reply per request it sent (see
:mod:`itutils.grading.runner` for what it does with anything else).

Printed output goes to stdout/stderr, which the grader reads on a separate
pipe, capped.

Before any student code runs, the harness also starts tracing the reference
implementations the grader names (see :class:`Tracer`): a call to one while a
cell or a check runs is reported with that step's reply.

Student code runs in this same process, so it can read the pipes, replace
this module's functions or answer requests itself. What it cannot do is see
a check before its cells have run, or make the grader accept anything but
one reply per request, in order; whatever it sends is still treated as its
answer and compared by the grader's own code.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import sys
import traceback
import types
import warnings

_MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)
_HOOK = "__itgrade_hook__"


class StepTimeout(BaseException):
    """A cell or a check ran longer than its share of the time."""


def _alarm(signum, frame):
    raise StepTimeout()


class _Capped:
    """A text stream that keeps at most ``limit`` characters, then drops.

    Only saves pipe traffic: the grader caps what it reads itself.
    """

    def __init__(self, stream, limit: int):
        self._stream, self._left, self.truncated = stream, limit, False

    def write(self, text):
        text = str(text)
        n = len(text)
        if self._left > 0:
            piece = text[: self._left]
            self._stream.write(piece)
            self._left -= len(piece)
            text = text[len(piece) :]
        if text and not self.truncated:
            self.truncated = True
            self._stream.write("\n[output truncated by the grader]\n")
        return n

    def flush(self):
        self._stream.flush()

    def isatty(self):
        return False


def _error(exc: BaseException) -> dict:
    """An exception as plain data (bounded)."""
    kind = type(exc)
    mro = [f"{k.__module__}.{k.__qualname__}"[:200] for k in kind.__mro__][:32]
    try:
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if f.filename.startswith(("<cell", "<check"))
        ]
        where = "".join(traceback.format_list(frames[-3:]))
    except Exception:  # a hostile traceback
        where = ""
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<message could not be shown>"
    return {
        "type": str(kind.__qualname__)[:200],
        "mro": mro,
        "message": message[:500],
        "where": where[:1500],
    }


def _display(*objs, **kwargs):
    for obj in objs:
        print(repr(obj))


def _trampoline(nfree: int, hook) -> types.CodeType:
    """Code of ``def _t(*args, **kwargs): return hook(args, kwargs)``.

    It declares ``nfree`` free variables (never read) so that it can replace
    the code of a function whose closure has that many cells.
    """
    names = [f"_f{i}" for i in range(nfree)]
    lines = ["def _outer():"]
    if names:
        lines.append("    " + " = ".join(names) + " = None")
    lines.append("    def _t(*args, **kwargs):")
    if names:
        lines.append("        if False: " + ", ".join(names))
    lines.append(f"        return {_HOOK!r}(args, kwargs)")
    lines.append("    return _t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "'str' object is not callable"
        code = compile("\n".join(lines), "<itgrade-trace>", "exec")
    outer = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
    consts = tuple(hook if c == _HOOK else c for c in inner.co_consts)
    return inner.replace(co_consts=consts)


def _traced(target, name: str, note):
    """A stand-in for a callable that is not a Python function (a ufunc...).

    What it wraps lives only in the closure of its class's methods (no
    instance ``__dict__``, no attribute that holds it), and ``note`` is the
    tracer's bound method taken now, so rebinding ``Tracer.note`` later
    changes nothing.
    """

    class Traced:
        __slots__ = ()

        def __call__(self, *args, **kwargs):
            note(name, sys._getframe(1))
            return target(*args, **kwargs)

        def __getattr__(self, attr):
            value = getattr(target, attr)
            # A bound method of the target (``np.add.reduce``) would hand its
            # receiver back through ``__self__``: wrap it in a plain function.
            if getattr(value, "__self__", None) is target:
                return functools.partial(_call, value)
            return value

        def __repr__(self):
            return repr(target)

    return Traced()


def _call(method, *args, **kwargs):
    return method(*args, **kwargs)


class Tracer:
    """Records calls of named reference implementations, step by step.

    A Python function is patched in place (its ``__code__`` becomes a
    trampoline that records the call and runs a copy of the original), so
    every reference to it, however obtained, is traced. Any other callable
    (a numpy ufunc, a builtin) is replaced by a recording stand-in in every
    loaded module that holds it. Names are resolved when their module has
    been imported (a finder at the front of ``sys.meta_path`` watches the
    modules on their path), never by importing anything.

    Calls made by the course library's own code (``library`` prefix) do not
    count: ``train_vae`` may use a helper the learner must not call.
    """

    def __init__(self, names: list, absent: list, library: str):
        self.pending = list(names)
        self.absent = set(absent)
        self.library = library
        self.watched = {
            ".".join(n.split(".")[:k])
            for n in names
            for k in range(1, n.count(".") + 1)
        }
        self.seen: list = []
        self._done: set = set()

    def _note(self, name: str, caller) -> None:
        # A call from the course library is its own business only when that
        # library function names the reference in its own code (``train_vae``
        # calling ``gaussian_kl``); a library function that merely calls what
        # it is handed (``self_check(..., f)``) launders nothing.
        if (
            caller is not None
            and caller.f_code.co_filename.startswith(self.library)
            and name.rsplit(".", 1)[-1] in caller.f_code.co_names
        ):
            return
        if name not in self.seen:
            self.seen.append(name)

    def take(self) -> list:
        seen, self.seen = self.seen, []
        return seen[:100]

    def install(self) -> None:
        if self.pending:
            sys.meta_path.insert(0, _Watch(self))
        if self.absent:
            sys.meta_path.append(_Absent(self))
        self.resolve()

    def resolve(self) -> None:
        """Patch every pending name whose module is loaded."""
        for name in list(self.pending):
            target = _lookup(name)
            if target is None:
                continue
            self.pending.remove(name)
            self._patch(target, name)

    def _patch(self, target, name: str) -> None:
        if isinstance(target, types.MethodType):
            target = target.__func__
        if type(target) is types.FunctionType:
            chain = [target]
            while type(getattr(chain[-1], "__wrapped__", None)) is types.FunctionType:
                if len(chain) > 8:
                    break
                chain.append(chain[-1].__wrapped__)
            for func in chain:
                if id(func) not in self._done:
                    self._done.add(id(func))
                    self._patch_function(func, name)
            return
        if callable(target):
            stand_in = _traced(target, name, self._note)
            for module in list(sys.modules.values()):
                space = getattr(module, "__dict__", None)
                if type(space) is not dict:
                    continue
                for key, value in list(space.items()):
                    if value is target:
                        space[key] = stand_in

    def _patch_function(self, func, name: str) -> None:
        original = types.FunctionType(
            func.__code__,
            func.__globals__,
            func.__name__,
            func.__defaults__,
            func.__closure__,
        )
        original.__kwdefaults__ = func.__kwdefaults__
        tracer = self

        note = tracer._note

        def hook(args, kwargs):
            note(name, sys._getframe(2))
            return original(*args, **kwargs)

        func.__code__ = _trampoline(len(func.__code__.co_freevars), hook)


def _lookup(dotted: str):
    """The object ``dotted`` names, from loaded modules only; else None."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        value = module
        for attr in parts[cut:]:
            space = getattr(value, "__dict__", None)
            if not isinstance(space, (dict, types.MappingProxyType)):
                return None
            if attr not in space:
                return None
            value = space[attr]
        return value
    return None


class _Watch:
    """A meta path finder that resolves traced names after watched imports."""

    def __init__(self, tracer: Tracer):
        self.tracer = tracer

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.tracer.watched:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader, self.tracer)
        return spec


class _Loader:
    def __init__(self, inner, tracer: Tracer):
        self.inner, self.tracer = inner, tracer

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        spec = getattr(module, "__spec__", None)
        try:
            self.inner.exec_module(module)
        finally:
            # Hand the module its real loader back, then patch.
            if spec is not None:
                spec.loader = self.inner
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self.inner
            self.tracer.resolve()

    def __getattr__(self, attr):
        return getattr(self.inner, attr)


class _Absent:
    """Last on ``sys.meta_path``: notes imports of withheld course modules."""

    def __init__(self, tracer: Tracer):
        self.tracer = tracer

    def find_spec(self, fullname, path, target=None):
        if fullname in self.tracer.absent:
            self.tracer._note(fullname, None)
        return None


def _flush() -> None:
    """Flush what the notebook printed; a replaced or broken stream is its loss."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:
            pass


def _close_other_fds(keep: set) -> None:
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def main(argv: list) -> None:
    """Serve the grader's requests until it says "end"."""
    from itutils.grading.protocol import encode, read_frame, write_frame
    from itutils.grading.untrusted import Bounds, UntrustedDataError, loads_bounded

    requests, replies = int(argv[0]), int(argv[1])
    _close_other_fds({requests, replies})
    setup = read_frame(requests, 1 << 26)
    limit = int(setup["reply_limit"])

    def reply(request: dict, **fields) -> None:
        message = {"nonce": request["nonce"], "seq": request["seq"]}
        message["op"] = request["op"]
        message.update(fields)
        try:
            frame = encode(message)
        except (TypeError, ValueError) as exc:
            message.pop("value", None)
            message["rejected"] = f"the value cannot be sent ({exc})"
            frame = encode(message)
        if "value" in message:
            # What the grader would refuse as malformed is refused here, as
            # this check's answer: an honest notebook never voids its run.
            try:
                loads_bounded(frame[4:], Bounds(limit, **setup["reply_bounds"]))
            except UntrustedDataError as exc:
                del message["value"]
                message["rejected"] = f"the value cannot be graded: {exc}"
                frame = encode(message)
        write_frame(replies, frame)

    tracer = Tracer(setup["forbidden"], setup["absent"], setup["library"])
    tracer.install()
    sys.stdout = _Capped(sys.stdout, int(setup["output_limit"]))
    sys.stderr = _Capped(sys.stderr, int(setup["output_limit"]))
    signal.signal(signal.SIGALRM, _alarm)
    step = float(setup["step_limit"])
    from itutils.grading.plain import NotPlainData, from_plain, to_plain

    reply(setup, ok=True)
    ns = {"__name__": "__main__", "display": _display, "get_ipython": lambda: None}
    modules: dict = {}
    while True:
        request = read_frame(requests, 1 << 26)
        op = request["op"]
        if op == "end":
            _flush()
            import resource

            used = [resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                    resource.RUSAGE_CHILDREN)]
            reply(request, ok=True, cpu=sum(u.ru_utime + u.ru_stime for u in used))
            # Skip atexit handlers and threads a notebook may have left behind.
            os._exit(0)
        tracer.resolve()
        tracer.take()
        if op == "cell":
            # IPython magics and shell escapes have no meaning here; keep lines.
            source = _MAGIC.sub(r"\1pass", request["source"])
            error = None
            try:
                code = compile(source, f"<cell {request['index']}>", "exec")
                signal.setitimer(signal.ITIMER_REAL, step)
                try:
                    exec(code, ns)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            except BaseException as exc:  # SystemExit and timeouts included
                error = _error(exc)
            _flush()
            reply(request, error=error, calls=tracer.take())
            continue
        # op == "probe": the student side of one check.
        env = dict(ns)
        result: dict
        try:
            for alias, module in request["modules"].items():
                if module not in modules:
                    modules[module] = __import__(module)
                env[alias] = modules[module]
            for name, data in request["shipped"].items():
                env[name] = from_plain(data, tensors=True)
            code = compile(request["expr"], f"<check {request['id']}>", "eval")
            signal.setitimer(signal.ITIMER_REAL, step)
            try:
                value = eval(code, env)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                result = {"value": to_plain(value)}
            except NotPlainData as exc:
                result = {"rejected": str(exc)[:2000]}
        except BaseException as exc:
            result = {"raised": _error(exc)}
        _flush()
        reply(request, calls=tracer.take(), **result)
