"""Answers that come from a reference implementation (see test_sandbox_references).

The solutions are copied and sheet 01's hidden tests get ``_forbidden``
lists, so that the tests do not depend on what the sheets declare today:
``entropy_bits_tests`` forbids ``scipy.stats.entropy`` and
``scipy.special.entr``; ``die_and_coin_tests`` (graded by the values
``h_die``/``h_coin``) forbids ``scipy.stats.entropy``. Sheet 04 adds nothing:
``itutils.vae.gaussian_kl`` is forbidden because its locked cells import
only ``VAE``, ``elbo_terms`` and ``train_vae``.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import nbformat
from _sandbox_helpers import EXERCISES, SOLUTIONS, notebook

FORBIDDEN = {
    "entropy_bits_tests": '_forbidden = ("scipy.stats.entropy", "scipy.special.entr")',
    "die_and_coin_tests": '_forbidden = ("scipy.stats.entropy",)',
}


@functools.lru_cache(maxsize=1)
def solutions_copy() -> Path:
    """The solutions with ``_forbidden`` added (readable by any user)."""
    folder = Path(tempfile.mkdtemp(prefix="itgrade-refs-"))
    atexit.register(shutil.rmtree, folder, True)
    shutil.copytree(SOLUTIONS, folder / "solutions")
    path = folder / "solutions" / "01_entropy.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in FORBIDDEN:
            cell.source = cell.source.replace(
                "### BEGIN HIDDEN TESTS\n",
                f"### BEGIN HIDDEN TESTS\n{FORBIDDEN[gid]}\n",
            )
    nbformat.write(nb, path)
    for item in [folder, *folder.rglob("*")]:
        item.chmod(0o755 if item.is_dir() else 0o644)
    return folder / "solutions"


def _solution(sheet="01_entropy", **kw) -> bytes:
    return notebook(sheet, solutions_copy(), **kw)


OWN = """def entropy_bits(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("not a distribution")
    return float({body})
"""

# Its own code runs while grading, the reference in the learner's Jupyter.
FALLBACK = """
try:
    from itutils.measures import entropy as entropy_bits
except ImportError:
    def entropy_bits(p):
        p = np.asarray(p, dtype=float)
        if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
            raise ValueError("not a distribution")
        return float(-(p[p > 0] * np.log2(p[p > 0])).sum())
"""

CHEATS_01 = {
    # name: (changed cells, the part that must score 0, the name in the reason)
    "alias_itutils": (
        {"entropy_bits": "from itutils.measures import entropy as entropy_bits"},
        "entropy_bits_tests",
        "itutils.measures.entropy",
    ),
    "reexport_itutils": (
        {"entropy_bits": "import itutils\nentropy_bits = itutils.entropy"},
        "entropy_bits_tests",
        "itutils.measures.entropy",
    ),
    "fallback_itutils": (
        {"entropy_bits": FALLBACK},
        "entropy_bits_tests",
        "itutils.measures.entropy",
    ),
    "alias_scipy": (
        {
            "entropy_bits": "from scipy.stats import entropy as _H\n"
            + OWN.format(body="_H(p, base=2)")
        },
        "entropy_bits_tests",
        "scipy.stats.entropy",
    ),
    "dunder_import_scipy": (
        {
            "entropy_bits": OWN.format(
                body="__import__('scipy.stats').stats.entropy(p, base=2)"
            )
        },
        "entropy_bits_tests",
        "scipy.stats.entropy",
    ),
    "computed_name_scipy": (  # invisible to the static scan: traced when called
        {
            "entropy_bits": "import pkgutil\n"
            "_f = pkgutil.resolve_name('scipy.stats:' + 'entr' + 'opy')\n"
            + OWN.format(body="_f(p, base=2)")
        },
        "entropy_bits_tests",
        "scipy.stats.entropy",
    ),
    "hidden_ufunc": (  # a numpy ufunc, reached by a computed name
        {
            "entropy_bits": "import pkgutil\n"
            "_E = pkgutil.resolve_name('scipy.special:' + 'en' + 'tr')\n"
            + OWN.format(body="_E(p).sum() / np.log(2)")
        },
        "entropy_bits_tests",
        "scipy.special.entr",
    ),
    "launder_through_library": (  # the nearest Python frame is self_check's
        {
            "entropy_bits": "import pkgutil, functools, io, contextlib\n"
            "_E = pkgutil.resolve_name('scipy.special:' + 'en' + 'tr')\n"
            "def _lib_call(f, x):\n"
            "    box = []\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        self_check('', functools.partial(box.extend, map(f, [x])))\n"
            "    return box[0]\n"
            + OWN.format(body="_lib_call(_E, p).sum() / np.log(2)")
        },
        "entropy_bits_tests",
        "scipy.special.entr",
    ),
    "value_from_scipy": (
        {
            "die_and_coin": "import pkgutil\n"
            "_g = pkgutil.resolve_name('scipy.stats:' + 'entr' + 'opy')\n"
            "h_die = _g(np.full(6, 1 / 6), base=2)\n"
            "h_coin = _g([0.8, 0.2], base=2)\n"
        },
        "die_and_coin_tests",
        "scipy.stats.entropy",
    ),
}

# Reaching into the harness (found by a red team): the whole submission is
# not graded, whatever its answers.
TAMPER_01 = {
    "rebind_tracer": {
        "entropy_bits": "from itutils.grading import child as _c\n"
        "_c.Tracer.note = lambda *a, **k: None\n"
        "_c.Tracer._note = lambda *a, **k: None\n"
        "from scipy import stats as _s\n"
        "_ent = vars(_s)['entr' + 'opy']\n"
        + OWN.format(body="_ent(p, base=2)")
    },
    "unwrap_stand_in": {
        "entropy_bits": "import functools\nfrom scipy import special as _sp\n"
        "_e = functools.reduce(getattr, ['en' + 'tr'], _sp)\n"
        "_e = functools.reduce(getattr, ['__class__', '__call__', '__closure__'], _e)\n"
        + OWN.format(body="_e(p).sum() / np.log(2)")
    },
}

SELF_TEST = """
import scipy.stats
print("mine", entropy_bits([0.2, 0.8]))
print("scipy", scipy.stats.entropy([0.2, 0.8], base=2))
"""

RATE_OWN = """
def gaussian_kl_rate(mu, logvar):
    mu, logvar = np.asarray(mu, dtype=float), np.asarray(logvar, dtype=float)
    return {body}
"""
CHEATS_04 = {
    "vae_alias": (
        {
            "gaussian_kl_rate": "from itutils.vae import gaussian_kl as _kl\n"
            + RATE_OWN.format(
                body="_kl(torch.tensor(mu), torch.tensor(logvar)).numpy()"
            )
        },
        "rate_tests",
        "itutils.vae.gaussian_kl",
    ),
    "vae_computed": (
        {
            "gaussian_kl_rate": "import pkgutil\n"
            "_k = pkgutil.resolve_name('itutils.vae:' + 'gaussian' + '_kl')\n"
            + RATE_OWN.format(body="_k(torch.tensor(mu), torch.tensor(logvar)).numpy()")
        },
        "rate_tests",
        "itutils.vae.gaussian_kl",
    ),
}
HONEST_04 = {
    "vae_own": {
        "gaussian_kl_rate": RATE_OWN.format(
            body="0.5 * np.sum(mu ** 2 + np.exp(logvar) - logvar - 1.0, axis=1)"
        )
    },
}


def students() -> dict:
    """``ref_<name>`` -> (sheet, bytes)."""
    out = {}
    for name, (changes, _part, _ref) in CHEATS_01.items():
        out[f"ref_{name}"] = ("01_entropy", _solution(changes=changes))
    for name, changes in TAMPER_01.items():
        out[f"ref_{name}"] = ("01_entropy", _solution(changes=changes))
    out["ref_honest"] = ("01_entropy", _solution())
    out["ref_self_test_cell"] = ("01_entropy", _solution(extra=SELF_TEST))
    for name, (changes, _part, _ref) in CHEATS_04.items():
        out[f"ref_{name}"] = ("04_vae", notebook("04_vae", EXERCISES, changes=changes))
    for name, changes in HONEST_04.items():
        out[f"ref_{name}"] = ("04_vae", notebook("04_vae", EXERCISES, changes=changes))
    return out

