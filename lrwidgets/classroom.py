"""The course after a pip install: find the notebooks, copy them for a learner, and the commands
that open JupyterLab on them or serve the dashboard with Voila.

A wheel ships the repository's ``notebooks/`` as ``lrwidgets/notebooks/`` (hatch's
force-include in ``pyproject.toml``); a source checkout or an editable install finds them in the
repository, next to the package. Imports nothing of the other layers, and no torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
DASHBOARD = "00_dashboard.ipynb"
MANIFEST = ".lrwidgets-course.json"  # in the learner's folder: name -> hash of what was copied


def course_notebooks() -> Path:
    """The folder holding the course's notebooks: inside the installed package (a wheel), else
    the repository's ``notebooks/`` (a source checkout or an editable install)."""
    for folder in (PACKAGE / "notebooks", PACKAGE.parent / "notebooks"):
        if any(folder.glob(NOTEBOOK_GLOB)):
            return folder
    raise FileNotFoundError(
        f"the course notebooks are neither in {PACKAGE / 'notebooks'} nor in "
        f"{PACKAGE.parent / 'notebooks'}: reinstall lrwidgets (pip install lrwidgets)"
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_course(
    dest: str | Path,
    ask: Callable[[str], bool] = lambda name: False,
    source: Path | None = None,
) -> dict[str, str]:
    """Copy the course notebooks into ``dest`` (created if needed); return name -> what happened.

    - ``"copied"``: it was not there;
    - ``"up to date"``: the learner's file equals the shipped one;
    - ``"updated"``: the learner's file is exactly what an earlier ``copy_course`` put there
      (the hash kept in ``dest/.lrwidgets-course.json``), so nobody edited it;
    - ``"replaced"`` / ``"kept"``: the learner edited it and ``ask(name)`` said yes / no. By
      default nothing edited is ever replaced.
    """
    source = course_notebooks() if source is None else Path(source)
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"dest must be a folder, got the file {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    done = {}
    for shipped in sorted(source.glob(NOTEBOOK_GLOB)):
        name, target = shipped.name, dest / shipped.name
        if not target.exists():
            done[name] = "copied"
        elif _digest(target) == _digest(shipped):
            done[name] = "up to date"
        elif manifest.get(name) == _digest(target):
            done[name] = "updated"
        else:
            done[name] = "replaced" if ask(name) else "kept"
        if done[name] in ("copied", "updated", "replaced"):
            shutil.copyfile(shipped, target)
        if done[name] != "kept":
            manifest[name] = _digest(shipped)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return done


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    return importlib.util.find_spec(module) is not None


def lab_command(folder: str | Path, open_browser: bool = True) -> list[str]:
    """The command that opens JupyterLab on ``folder``."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(folder)}"]
    return command + ([] if open_browser else ["--no-browser"])


def dashboard_command(port: int = 8866, open_browser: bool = True) -> list[str]:
    """The command that serves the dashboard notebook with Voila, no code shown, on ``port``."""
    notebook = course_notebooks() / DASHBOARD
    command = [sys.executable, "-m", "voila", str(notebook), f"--port={port}"]
    return command + ([] if open_browser else ["--no-browser"])
