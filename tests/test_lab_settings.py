"""The learner's JupyterLab defaults (tools/jupyterlab-settings/course.json).

Every setting names a plugin and a property that the installed JupyterLab
(or lab extension) knows, with a value its schema allows: JupyterLab ignores
a typo silently, and the explorers would lose their figures on reopening.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "tools" / "jupyterlab-settings" / "course.json"
COURSE = json.loads(SETTINGS.read_text())
SHARE = Path(sys.prefix) / "share" / "jupyter"


def _schema(plugin: str) -> Path | None:
    package, name = plugin.split(":")
    for path in (
        SHARE / "lab" / "schemas" / package / f"{name}.json",
        SHARE / "labextensions" / package / "schemas" / package / f"{name}.json",
    ):
        if path.exists():
            return path
    return None


def _allowed(schema: dict, value) -> bool:
    if "oneOf" in schema:
        return any(option.get("const") == value for option in schema["oneOf"])
    kinds = {"boolean": bool, "string": str, "number": (int, float), "integer": int}
    return isinstance(value, kinds.get(schema.get("type"), object))


@pytest.mark.parametrize("plugin", sorted(COURSE))
def test_every_setting_is_known_to_jupyterlab(plugin):
    if not (SHARE / "lab" / "schemas").exists():
        pytest.skip("JupyterLab is not installed in this environment")
    path = _schema(plugin)
    assert path is not None, f"no schema for {plugin}"
    properties = json.loads(path.read_text())["properties"]
    for key, value in COURSE[plugin].items():
        assert key in properties, f"{plugin} has no setting {key!r}"
        assert _allowed(properties[key], value), (plugin, key, value)


def test_explorers_keep_their_figures_and_no_news_prompt():
    assert COURSE["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    notes = COURSE["@jupyterlab/apputils-extension:notification"]
    assert notes["fetchNews"] == "false" and notes["checkForUpdates"] is False
