"""Reference implementations a graded part must not use, and how they are found.

A part's function or value must be the learner's own work. Forbidden are:

- every name a part's hidden-test cell lists in ``_forbidden = (...)``
  (e.g. ``"scipy.stats.entropy"``), for that part;
- every ``itutils`` function the sheet's locked cells do not import, for
  every part of the sheet (``itutils.measures.entropy`` when the sheet asks
  for an entropy function).

Three layers find them (what each catches is in :func:`scan_cells` and in
the harness's :class:`~itutils.grading.child.Tracer`):

1. **Absence.** The sandbox holds only the ``itutils`` modules the locked
   cells import (:func:`library_modules`), with a stub ``itutils/__init__``
   that re-exports nothing: ``itutils.measures`` is not there to import,
   however the name is spelled or computed; the harness reports the attempt.
2. **Tracing.** Every other forbidden function is traced while the
   submission runs: a call during one of the part's checks, or during the
   cells that compute a value the part reads, is reported with that step.
3. **Static scan** of the learner's cells, here in the grader: imports,
   aliases, attribute paths, ``__import__``/``importlib.import_module`` and
   ``getattr`` with literal names, and literal strings naming a forbidden
   function. It also flags the tools that could reach into the harness and
   switch tracing off (frame and code-object access, ``gc`` referrers,
   ``ctypes``, dynamic ``exec``/``eval``/``compile``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from itutils.grading.parsing import parse

__all__ = [
    "References",
    "CellScan",
    "library_modules",
    "locked_imports",
    "references_for",
    "scan_cells",
    "HARNESS_MODULES",
]

#: Modules every sandbox needs: the check API and the harness.
HARNESS_MODULES = (
    "itutils",
    "itutils.grading",
    "itutils.grading.checks",
    "itutils.grading.plain",
    "itutils.grading.properties",
    "itutils.grading.child",
    "itutils.grading.protocol",
    "itutils.grading.untrusted",
)
# Never forbidden: the check API the sheets are written with.
_ALWAYS_ALLOWED = ("itutils.grading",)
# Modules of itutils that are not imported in the grader to list their
# functions (slow, or with side effects); absent from a sandbox unless a
# locked cell imports them, and then allowed whole.
_NOT_LISTED = ("itutils.widgets", "itutils.grading", "itutils.style", "itutils.plots")

#: Dotted names (and prefixes) that reach the harness or switch tracing off.
TAMPER_NAMES = (
    "sys._getframe",
    "sys.setprofile",
    "sys.settrace",
    "sys.modules",
    "sys.meta_path",
    "sys.path_hooks",
    "sys.addaudithook",
    "threading.setprofile",
    "threading.settrace",
    "inspect.currentframe",
    "inspect.stack",
    "inspect.trace",
    "inspect.getouterframes",
    "inspect.getinnerframes",
    "gc.get_referrers",
    "gc.get_referents",
    "gc.get_objects",
    "ctypes",
    "_ctypes",
    "cffi",
    "importlib._bootstrap",
    "importlib._bootstrap_external",
    "types.CodeType",
    "types.FunctionType",
    "marshal",
    # Raw file-descriptor I/O: the harness's request and reply pipes.
    "os.read",
    "os.write",
    "os.readv",
    "os.writev",
    "os.pread",
    "os.pwrite",
    "os.fdopen",
    "os.dup",
    "os.dup2",
    "os.sendfile",
    "os.splice",
    "socket.fromfd",
    # torch's private kernels: the code behind a forbidden function, reached
    # without the name the harness traces (torch._C._nn.cross_entropy_loss).
    "torch._C",
    "torch.ops",
    # The harness itself: its tracer, its pipes, its protocol (the check API
    # the sheets use, ``itutils.grading.self_check`` and friends, stays open).
    "itutils.grading.child",
    "itutils.grading.protocol",
    "itutils.grading.plain",
    "itutils.grading.untrusted",
    "__main__",
)
#: Paths that lead to the harness's pipes (``/proc/self/fd/4``...).
_TAMPER_PATHS = ("/proc/", "/dev/fd", "/dev/stdin")
#: Attribute names that give access to frames, code objects or closures.
TAMPER_ATTRS = frozenset(
    {
        "f_back",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_code",
        "tb_frame",
        "gi_frame",
        "cr_frame",
        "ag_frame",
        "__code__",
        "co_consts",
        "co_code",
        "__closure__",
        "cell_contents",
        "__globals__",
        "__subclasses__",
        "__builtins__",
        "_getframe",
        "get_referrers",
        "get_referents",
        # Attribute tables and bound receivers: where a stand-in or a patched
        # function keeps what it wraps (``vars(obj)[computed key]``).
        "__dict__",
        "vars",
        "__self__",
        "__getattribute__",
        "attrgetter",
        "getattr_static",
        "_itgrade",
    }
)
_ATTRIBUTE_BUILTINS = frozenset({"getattr", "setattr", "delattr"})
_DYNAMIC = frozenset({"exec", "eval", "compile", "__import__", "breakpoint"})


def _imports_of(tree, nested: bool):
    """Import statements of a module: top-level ones, and nested ones if asked."""
    if nested:
        kinds = (ast.Import, ast.ImportFrom)
        yield from (n for n in ast.walk(tree) if isinstance(n, kinds))
        return
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for name in ("body", "orelse", "finalbody", "handlers"):
                todo += getattr(node, name, [])
        elif isinstance(node, ast.ExceptHandler):
            todo += node.body


def _module_of_file(path: Path) -> set:
    """itutils modules a library file imports (absolute or relative).

    Imports inside functions count too, except in ``itutils.grading``, whose
    property checks import references lazily for the grader's own use.
    """
    found = set()
    try:
        tree = parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return found
    nested = "grading" not in path.relative_to(_root()).parts
    package = ".".join(path.with_suffix("").relative_to(_root().parent).parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0]
    else:
        package = package.rsplit(".", 1)[0]
    for node in _imports_of(tree, nested):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("itutils")}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            if module.startswith("itutils"):
                found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}
    return found


def _root() -> Path:
    import itutils

    return Path(itutils.__file__).parent


def module_file(name: str) -> Path | None:
    """The source file of itutils module ``name`` (package ``__init__`` or .py)."""
    parts = name.split(".")[1:]
    base = _root().joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def locked_imports(spec) -> tuple[set, set]:
    """(itutils modules imported whole, dotted names imported) by locked cells.

    ``import itutils.data`` allows all of ``itutils.data``; ``from
    itutils.vae import VAE`` allows ``itutils.vae.VAE`` (and needs the module).
    """
    modules, names = set(), set()
    for source in spec.locked.values():
        try:
            tree = parse(_strip_magics(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("itutils"):
                        modules.add(alias.name)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "itutils"
            ):
                for alias in node.names:
                    dotted = f"{node.module}.{alias.name}"
                    if module_file(dotted) is not None:
                        modules.add(dotted)
                    else:
                        names.add(dotted)
    return modules, names


def library_modules(spec) -> list:
    """Every itutils module the sandbox of this sheet holds (sorted).

    The harness and check API, what the locked cells import, and what those
    modules import in turn; the package ``itutils`` itself is a stub.
    """
    whole, names = locked_imports(spec)
    wanted = set(HARNESS_MODULES) | whole
    wanted |= {n.rsplit(".", 1)[0] for n in names}
    todo, done = sorted(wanted), set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        path = module_file(name)
        if path is None:
            continue
        done.add(name)
        parts = name.split(".")
        for k in range(1, len(parts)):  # parent packages
            todo.append(".".join(parts[:k]))
        if name != "itutils":  # the stub imports nothing
            todo += [m for m in _module_of_file(path) if module_file(m) is not None]
    return sorted(done)


def _all_modules() -> list:
    import itutils

    names = ["itutils"]
    for info in pkgutil.walk_packages(itutils.__path__, "itutils."):
        names.append(info.name)
    return names


@dataclass
class References:
    """The forbidden references of one sheet, and how to recognise them."""

    aliases: dict  # dotted alias -> canonical forbidden name
    absent: tuple  # itutils modules withheld from the sandbox
    traced: list  # canonical names the harness traces at run time
    part_names: dict  # part grade_id -> set of canonical names forbidden for it
    reexports: dict = field(default_factory=dict)  # itutils.X -> canonical
    # Attribute name -> canonical: a forbidden function's twins under that
    # name, a torch.Tensor method or torch.special function
    # (``t.logsumexp(1)`` for ``torch.logsumexp``), which tracing the one
    # function object does not see.
    twins: dict = field(default_factory=dict)

    def match(self, dotted: str) -> str | None:
        """The forbidden name ``dotted`` refers to, if any.

        Examples
        --------
        >>> refs = References({"scipy.stats.entropy": "scipy.stats.entropy"},
        ...                   ("itutils.measures",), [], {})
        >>> refs.match("scipy.stats.entropy.__wrapped__")
        'scipy.stats.entropy'
        >>> refs.match("itutils.measures.kl_divergence")
        'itutils.measures.kl_divergence'
        >>> refs.match("scipy.stats.norm") is None
        True
        """
        if dotted.startswith("itutils."):
            head = dotted.split(".")
            if len(head) >= 2 and f"itutils.{head[1]}" in self.reexports:
                canonical = self.reexports[f"itutils.{head[1]}"]
                dotted = ".".join([canonical, *head[2:]])
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in self.aliases:
                return self.aliases[prefix]
            if prefix in self.absent:
                return ".".join(parts[: cut + 1])
        return None

    def forbids(self, part: str, name: str) -> bool:
        """Whether ``name`` (a match or a traced call) is forbidden for ``part``."""
        if name in self.part_names.get(part, ()):
            return True
        return any(name == m or name.startswith(m + ".") for m in self.absent)


def _canonical_aliases(name: str, target) -> set:
    """Every ``module.attr`` path in loaded modules that holds ``target``."""
    top = name.split(".")[0]
    found = {name}
    for module_name, module in list(sys.modules.items()):
        if module is None or not (
            module_name == top or module_name.startswith(top + ".")
        ):
            continue
        space = getattr(module, "__dict__", None)
        if type(space) is not dict:
            continue
        for key, value in list(space.items()):
            if value is target:
                found.add(f"{module_name}.{key}")
    return found


def resolve_name(dotted: str):
    """The object ``dotted`` names, importing its module; None if there is none."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                value = getattr(value, attr)
        except AttributeError:
            return None
        return value
    return None


def references_for(spec, view: list | None = None) -> References:
    """The forbidden references of ``spec`` (see the module docstring)."""
    import itutils

    view = library_modules(spec) if view is None else view
    whole, names = locked_imports(spec)
    allowed = set(names) | whole
    absent = tuple(
        m for m in _all_modules() if m not in view and not m.startswith(_ALWAYS_ALLOWED)
    )
    implicit = set()
    for module_name in view:
        if module_name == "itutils" or module_name.startswith(_NOT_LISTED):
            continue
        if module_name in whole:
            continue  # imported whole by a locked cell: all of it is allowed
        module = importlib.import_module(module_name)
        for key, value in vars(module).items():
            if (
                not key.startswith("_")
                and type(value) is types.FunctionType
                and value.__module__ == module_name
                and f"{module_name}.{key}" not in allowed
            ):
                implicit.add(f"{module_name}.{key}")
    aliases: dict = {}
    part_names: dict = {}
    for part in spec.parts:
        part_names[part.grade_id] = set(implicit) | set(part.forbidden)
    for name in sorted(implicit | {n for p in spec.parts for n in p.forbidden}):
        target = resolve_name(name)
        for alias in _canonical_aliases(name, target) if target is not None else {name}:
            aliases.setdefault(alias, name)
    reexports = {}
    for key in dir(itutils):
        value = getattr(itutils, key, None)
        module = getattr(value, "__module__", None)
        if (
            isinstance(value, (types.FunctionType, type))
            and isinstance(module, str)
            and module.startswith("itutils.")
        ):
            reexports[f"itutils.{key}"] = f"{module}.{key}"
    traced = sorted(implicit | {n for p in spec.parts for n in p.forbidden})
    twins = {}
    for name in sorted({n for p in spec.parts for n in p.forbidden}):
        twin = _torch_twin(name.rsplit(".", 1)[-1])
        if twin:
            twins.setdefault(twin, name)
    return References(aliases, absent, traced, part_names, reexports, twins)


def _torch_twin(attr: str) -> str | None:
    """``attr`` if torch has a Tensor method or ``torch.special`` function so
    named (the same operation under another object), else None."""
    try:
        import torch
    except ImportError:
        return None
    if hasattr(torch.Tensor, attr) or hasattr(torch.special, attr):
        return attr
    return None


def _strip_magics(source: str) -> str:
    from itutils.grading.child import _MAGIC

    return _MAGIC.sub(r"\1pass", source)


@dataclass
class CellScan:
    """What the static scan found in one cell."""

    names: list = field(default_factory=list)  # forbidden names it uses
    tampering: list = field(default_factory=list)  # harness-reaching tools
    unparsed: str = ""  # why it could not be analysed, if so


def _literal(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _Scanner:
    def __init__(self, refs: References):
        self.refs = refs
        self.bindings: dict = {}

    def dotted(self, node) -> str | None:
        attrs = []
        for _ in range(10_000):
            if isinstance(node, ast.Attribute):
                attrs.append(node.attr)
                node = node.value
            elif isinstance(node, ast.Name):
                base = self.bindings.get(node.id)
                break
            elif isinstance(node, ast.Call):
                base = self.call_result(node)
                break
            else:
                return None
        else:
            return None
        if base is None:
            return None
        return ".".join([base, *reversed(attrs)])

    def call_result(self, call: ast.Call) -> str | None:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else self.dotted(func)
        args = call.args
        if name in ("__import__", "builtins.__import__") and args:
            module = _literal(args[0])
            if module is None:
                return None
            fromlist = next(
                (kw.value for kw in call.keywords if kw.arg == "fromlist"),
                args[3] if len(args) > 3 else None,
            )
            has_fromlist = isinstance(fromlist, (ast.List, ast.Tuple)) and bool(
                fromlist.elts
            )
            return module if has_fromlist else module.split(".")[0]
        if name == "importlib.import_module" and args:
            return _literal(args[0])
        if name == "getattr" and len(args) >= 2:
            attr = _literal(args[1])
            base = self.dotted(args[0])
            if attr is not None and base is not None:
                return f"{base}.{attr}"
        return None

    def bind(self, tree) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.bindings[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.bindings[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        bound = alias.asname or alias.name
                        self.bindings[bound] = f"{node.module}.{alias.name}"
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                targets = (
                    node.targets if isinstance(node, ast.Assign) else [node.target]
                )
                value = node.value
                if value is None:
                    continue
                resolved = self.dotted(value)
                for target in targets:
                    if isinstance(target, ast.Name):
                        if resolved is not None:
                            self.bindings[target.id] = resolved

    def uses(self, tree) -> tuple[list, list]:
        names, tampering = set(), set()
        # ``getattr`` called with a literal name is plain attribute access;
        # passed around as a value (``reduce(getattr, names, obj)``, ``g =
        # getattr``) it computes names the scan cannot see.
        literal_calls = {
            id(node.func)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _ATTRIBUTE_BUILTINS
            and len(node.args) >= 2
            and _literal(node.args[1]) is not None
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Name)
                and node.id in _ATTRIBUTE_BUILTINS
                and id(node) not in literal_calls
            ):
                tampering.add(f"{node.id} (computed attribute names)")
            candidates = []
            if isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                candidates = [node.module] + [
                    f"{node.module}.{a.name}" for a in node.names
                ]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.startswith(_TAMPER_PATHS):
                    tampering.add(repr(node.value[:40]))
            elif isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
                candidates = [self.dotted(node)]
                if isinstance(node, ast.Attribute) and node.attr in TAMPER_ATTRS:
                    tampering.add(f".{node.attr}")
                if isinstance(node, ast.Attribute) and node.attr in self.refs.twins:
                    names.add(self.refs.twins[node.attr])
                if isinstance(node, ast.Name) and node.id in TAMPER_ATTRS:
                    tampering.add(node.id)
                if isinstance(node, ast.Call):
                    tampering |= self.dynamic(node)
            for dotted in candidates:
                if not dotted:
                    continue
                match = self.refs.match(dotted)
                if match:
                    names.add(match)
                if any(dotted == t or dotted.startswith(t + ".") for t in TAMPER_NAMES):
                    tampering.add(dotted)
        dotted = {t for t in tampering if not t.startswith(".")}
        tampering = {
            t
            for t in tampering
            if not (t.startswith(".") and any(d.endswith(t) for d in dotted))
        }
        return sorted(names, key=lambda n: (-len(n), n)), sorted(tampering)

    def dynamic(self, call: ast.Call) -> set:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else self.dotted(func)
        if (
            name in ("open", "io.open", "builtins.open", "os.open")
            and call.args
            and isinstance(call.args[0], ast.Constant)
            and type(call.args[0].value) is int
        ):
            return {"open(<file descriptor>)"}
        if name in _DYNAMIC:
            if name == "__import__" and call.args and _literal(call.args[0]):
                return set()
            return {f"{name}()"}
        if name == "importlib.import_module" and not (
            call.args and _literal(call.args[0])
        ):
            return {"importlib.import_module() with a computed name"}
        if name == "getattr" and len(call.args) >= 2 and not _literal(call.args[1]):
            # Any object: a computed attribute name is how a stand-in's or a
            # patched function's insides are reached without naming them.
            base = self.dotted(call.args[0]) or "<object>"
            return {f"getattr({base}, <computed name>)"}
        return set()


def scan_cells(cells: list, refs: References) -> list:
    """Scan code cells in order; one :class:`CellScan` per ``(source, student)``.

    ``cells`` lists ``(source, is_students)`` pairs in run order: locked
    cells are read for their imports (``np`` is numpy) but never reported.
    """
    scanner = _Scanner(refs)
    out = []
    for source, student in cells:
        scan = CellScan()
        try:
            tree = parse(_strip_magics(source))
        except (SyntaxError, ValueError) as exc:
            scan.unparsed = f"{type(exc).__name__}"
            out.append(scan)
            continue
        except (RecursionError, MemoryError) as exc:
            scan.unparsed = f"too deeply nested to analyse ({type(exc).__name__})"
            out.append(scan)
            continue
        try:
            scanner.bind(tree)
            if student:
                scan.names, scan.tampering = scanner.uses(tree)
        except RecursionError:
            scan.unparsed = "too deeply nested to analyse"
        out.append(scan)
    return out
