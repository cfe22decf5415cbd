"""Hatch build hook: the wheel ships the course notebooks clean.

A checkout where the notebooks were run holds their outputs (plots, progress bars, widget
state: 1.7 MB instead of 160 KB) and JupyterLab's ``.ipynb_checkpoints/``. The wheel takes
only ``notebooks/[0-9][0-9]_*.ipynb`` (what ``lrwidgets course`` copies), each stripped:

    code cell      outputs = [], execution_count = None, no "execution" timing metadata
    notebook       no saved widget state ("widgets" metadata)

written as nbformat writes (JSON, sorted keys, one-space indent), to ``lrwidgets/notebooks/``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"  # as lrwidgets/classroom.py
RUN_METADATA = ("execution", "ExecuteTime")  # cell timings JupyterLab and extensions record


def stripped(notebook: dict) -> dict:
    """``notebook`` (parsed JSON) without what running it added."""
    clean = json.loads(json.dumps(notebook))  # a deep copy
    clean.get("metadata", {}).pop("widgets", None)
    for cell in clean.get("cells", []):
        for key in RUN_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return clean


def write_stripped(source: Path, target: Path) -> None:
    notebook = json.loads(source.read_text(encoding="utf-8"))
    text = json.dumps(stripped(notebook), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    target.write_text(text, encoding="utf-8")


class CleanNotebooks(BuildHookInterface):
    """Add each course notebook, stripped, to the wheel as ``lrwidgets/notebooks/<name>``."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":  # editable: the checkout's
            return
        self.folder = Path(tempfile.mkdtemp(prefix="lrwidgets-notebooks-"))
        for source in sorted((Path(self.root) / "notebooks").glob(NOTEBOOK_GLOB)):
            write_stripped(source, self.folder / source.name)
            build_data["force_include"][str(self.folder / source.name)] = (
                f"lrwidgets/notebooks/{source.name}"
            )

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        if getattr(self, "folder", None) is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
