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
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
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
    shipped_notebooks = sorted(source.glob(NOTEBOOK_GLOB))
    for path in [manifest_path, *(dest / s.name for s in shipped_notebooks)]:
        refuse_links(path, dest)
    manifest = read_manifest(manifest_path)
    done = {}
    for shipped in shipped_notebooks:
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
            write_inside(target, shipped.read_bytes())
        if done[name] != "kept":
            manifest[name] = _digest(shipped)
    write_inside(manifest_path, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return done


def refuse_links(path: Path, dest: Path) -> None:
    """A file the course writes must be a plain file inside ``dest`` (or not there yet), never
    a symbolic link (dangling or not) that would send the write outside it, nor a folder."""
    if path.is_symlink():
        raise ValueError(
            f"{path} is a symbolic link (to {os.readlink(path)}): the course writes only plain "
            f"files inside {dest}; remove the link (or choose another folder) and run again"
        )
    if path.is_dir():
        raise ValueError(f"{path} is a folder; the course needs that name for a file")


def write_inside(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, refusing to follow a symbolic link planted meanwhile."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o644), "wb") as file:
        file.write(data)


def read_manifest(path: Path) -> dict[str, str]:
    """The hashes of what earlier copies put in the learner's folder ({} for none); a damaged
    file is a ValueError that says how to go on."""
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not (isinstance(manifest, dict) and all(isinstance(v, str) for v in manifest.values())):
            raise ValueError("it is not a JSON object of notebook name -> hash")
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is damaged ({error}); delete it and run again: the course then keeps "
            "every notebook you edited (it asks before replacing one) and writes it anew"
        ) from None
    return manifest


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    return importlib.util.find_spec(module) is not None


def as_root() -> bool:
    """Whether this process runs as root (common in Docker), where JupyterLab wants
    ``--allow-root`` to start."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_command(
    folder: str | Path, open_browser: bool = True, extra: Sequence[str] = ()
) -> list[str]:
    """The command that opens JupyterLab on ``folder`` (with ``--allow-root`` as root), then
    the ``extra`` JupyterLab arguments."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(folder)}"]
    command += ["--allow-root"] if as_root() else []
    return command + ([] if open_browser else ["--no-browser"]) + list(extra)


# Each dashboard page runs its own kernel (~380 MB: torch). A page closed without Voila hearing
# of it (a closed tab, a lost connection) leaves its kernel running; Voila's kernel culler
# shuts down a kernel once no page is connected to it and it has been idle this long:
DASHBOARD_CULLING = {
    "MappingKernelManager.cull_idle_timeout": 45,  # s idle (an open page is never culled)
    "MappingKernelManager.cull_interval": 10,  # s between checks
    "MappingKernelManager.cull_connected": False,  # only kernels whose page is gone
}


def dashboard_command(
    port: int = 8866, open_browser: bool = True, extra: Sequence[str] = ()
) -> list[str]:
    """The command that serves the dashboard notebook with Voila, no code shown, on ``port``,
    a closed page's kernel shut down within a minute (``DASHBOARD_CULLING``); then the
    ``extra`` Voila arguments."""
    notebook = course_notebooks() / DASHBOARD
    command = [sys.executable, "-m", "voila", str(notebook), f"--port={port}"]
    command += [f"--{name}={value}" for name, value in DASHBOARD_CULLING.items()]
    return command + ([] if open_browser else ["--no-browser"]) + list(extra)


def hand_over(command: list[str], module: str, package: str, message: str) -> int:
    """Run ``command`` in place of this process (POSIX), so Ctrl-C and signals reach it; when
    ``module`` is not installed, say how to install ``package`` and print the command instead."""
    if not installed(module):
        print(f"{module} is not installed: pip install {package}, then run")
        print("  " + subprocess.list2cmdline(command))
        return 1
    print(message, flush=True)
    if os.name == "posix":
        os.execv(command[0], command)
    return subprocess.call(command)


def ask_to_replace(name: str) -> bool:
    """Ask before replacing a notebook the learner edited; never without a person to answer."""
    if not sys.stdin.isatty():
        return False
    answer = input(f"{name} differs from the course's version (edited?). Replace it? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def open_course(folder: str | Path, *, open_browser: bool, extra: Sequence[str] = ()) -> int:
    """Copy the notebooks into ``folder``, then open JupyterLab there (or say how to):
    ``python -m lrwidgets course``."""
    source = course_notebooks()
    print(f"Copying the course from {source} to {folder}:")
    for name, what in copy_course(folder, ask=ask_to_replace, source=source).items():
        print(f"  {name}: {what}" + (" (your edited copy)" if what == "kept" else ""))
    command = lab_command(folder, open_browser=open_browser, extra=extra)
    message = f"The course is in {folder}; opening JupyterLab there."
    return hand_over(command, "jupyterlab", "jupyterlab", message)


def serve_dashboard(port: int, *, open_browser: bool, extra: Sequence[str] = ()) -> int:
    """Serve the code-free dashboard (notebooks/00_dashboard.ipynb) with Voila:
    ``python -m lrwidgets dashboard``."""
    if not 0 < port < 65536:
        raise ValueError(f"port must be an integer in 1..65535, got {port}")
    command = dashboard_command(port, open_browser=open_browser, extra=extra)
    message = f"Serving the dashboard on http://localhost:{port}/ (Ctrl-C stops it)"
    return hand_over(command, "voila", "voila (or lrwidgets[course])", message)
