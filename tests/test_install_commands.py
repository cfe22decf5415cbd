"""The install commands agree: the README's, CI's and Binder's get the same pinned CPU build of
torch from PyTorch's CPU wheel index, given as an *extra* index (pip still uses the default one
for everything else, and goes on without it where it cannot be reached)."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"
TORCH_PIN = re.compile(r'"?torch==([0-9.]+)"?')


def torch_installs(text: str) -> list[str]:
    """Every line that installs torch."""
    return [line for line in text.splitlines() if "pip install" in line and "torch==" in line]


def test_readme_ci_and_binder_install_the_same_pinned_cpu_torch():
    files = {
        "README.md": (REPO / "README.md").read_text(),
        ".ci/run": (REPO / ".ci" / "run").read_text(),
        "binder/postBuild": (REPO / "binder" / "postBuild").read_text(),
    }
    pins = set()
    for name, text in files.items():
        lines = torch_installs(text)
        assert lines, f"{name} installs no pinned torch"
        for line in lines:
            assert CPU_INDEX in line, f"{name}: {line!r} lacks {CPU_INDEX!r}"
            assert "--index-url" not in line.replace("--extra-index-url", ""), line
            pins.update(TORCH_PIN.findall(line))
    assert len(pins) == 1, f"different torch pins: {pins}"


def test_binder_pins_python_and_never_lists_torch_in_requirements():
    assert (REPO / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    requirements = (REPO / "binder" / "requirements.txt").read_text()
    listed = {
        re.split(r"[<>=!~ ]", line)[0]
        for line in requirements.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert "torch" not in listed  # postBuild installs the CPU build
    pyproject = (REPO / "pyproject.toml").read_text()  # (no tomllib on Python 3.10)
    lists = re.findall(r"^(?:dependencies|course) = \[(.*?)\]", pyproject, re.M | re.S)
    needed = [dep for block in lists for dep in re.findall(r'"([^"]+)"', block)]
    names = {re.split(r"[<>=!~ \[]", dep)[0] for dep in needed} - {"torch"}
    assert {"numpy", "voila", "jupyterlab"} <= names
    assert names <= listed, f"binder/requirements.txt lacks {names - listed}"


def test_binder_culls_idle_kernels(tmp_path):
    """postBuild's last lines put binder/jupyter_server_config.json where Jupyter reads its
    config; the server then shuts down kernels idle for a few minutes, open tabs' too (a 2 GB
    pod holds five kernels of ~400 MB)."""
    post_build = (REPO / "binder" / "postBuild").read_text()
    culling = post_build[post_build.index("# Kernel culling") :]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    subprocess.run(["bash", "-euo", "pipefail", "-c", culling], cwd=REPO, env=env, check=True)
    shown = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "--show-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    settings = dict(re.findall(r"^\s+\.(cull_\w+) = (\S+)$", shown, re.M))
    assert 60 <= int(settings["cull_idle_timeout"]) <= 900, shown
    assert int(settings["cull_interval"]) <= 60 and settings["cull_connected"] == "True", shown
