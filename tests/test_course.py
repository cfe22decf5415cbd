"""The course after a pip install: the wheel ships the notebooks, ``python -m lrwidgets course``
copies them without ever replacing a learner's edited copy unasked, then opens JupyterLab."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from browser_helpers import free_port

from lrwidgets.__main__ import main
from lrwidgets.classroom import MANIFEST, copy_course, course_notebooks

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_a_checkout_finds_the_repositorys_notebooks():
    assert course_notebooks() == REPO / "notebooks"
    assert "00_dashboard.ipynb" in SHIPPED and "01_range_test.ipynb" in SHIPPED


def test_first_copy_then_up_to_date(tmp_path):
    assert copy_course(tmp_path / "c") == dict.fromkeys(SHIPPED, "copied")
    for name in SHIPPED:
        assert (tmp_path / "c" / name).read_bytes() == (REPO / "notebooks" / name).read_bytes()
    assert copy_course(tmp_path / "c") == dict.fromkeys(SHIPPED, "up to date")


def test_an_edited_copy_is_kept_unless_the_learner_says_yes(tmp_path):
    copy_course(tmp_path)
    edited = tmp_path / "01_range_test.ipynb"
    edited.write_text(edited.read_text().replace("range test", "my notes"))
    mine = edited.read_bytes()
    asked = []
    done = copy_course(tmp_path, ask=lambda name: asked.append(name) or False)
    assert asked == ["01_range_test.ipynb"] and done["01_range_test.ipynb"] == "kept"
    assert edited.read_bytes() == mine
    assert copy_course(tmp_path)["01_range_test.ipynb"] == "kept"  # default: never replace
    assert copy_course(tmp_path, ask=lambda name: True)["01_range_test.ipynb"] == "replaced"
    assert edited.read_bytes() == (REPO / "notebooks" / "01_range_test.ipynb").read_bytes()


def test_an_unedited_copy_of_an_older_version_is_updated_without_asking(tmp_path):
    source = tmp_path / "v1"
    source.mkdir()
    (source / "01_a.ipynb").write_text("version 1")
    copy_course(tmp_path / "c", source=source)
    (source / "01_a.ipynb").write_text("version 2")  # a newer lrwidgets
    done = copy_course(tmp_path / "c", ask=lambda name: pytest.fail("asked"), source=source)
    assert done == {"01_a.ipynb": "updated"}
    assert (tmp_path / "c" / "01_a.ipynb").read_text() == "version 2"
    assert (tmp_path / "c" / MANIFEST).is_file()


def test_the_cli_copies_and_says_how_to_open_jupyterlab_when_it_is_missing(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("lrwidgets.__main__.installed", lambda module: False)
    assert main(["course", str(tmp_path / "c"), "--no-browser"]) == 1
    out = capsys.readouterr().out
    assert "01_range_test.ipynb: copied" in out
    assert "pip install jupyterlab" in out and "-m jupyterlab" in out and "--no-browser" in out
    assert sorted(p.name for p in (tmp_path / "c").glob("*.ipynb")) == SHIPPED


def test_bad_port_is_one_readable_line(capsys):
    assert main(["dashboard", "--port", "70000", "--no-browser"]) == 2
    assert capsys.readouterr().err.startswith("error: port must be an integer in 1..65535")


def test_the_wheel_ships_the_notebooks_and_the_course_command_copies_them(tmp_path):
    """Build the wheel, install it (no dependencies: they are here already) into a folder of
    its own, and run ``python -m lrwidgets course DIR --no-browser`` from that install only:
    the notebooks arrive and JupyterLab starts on DIR."""
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "-w", str(tmp_path / "dist"), str(REPO)],
        check=True,
        text=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("lrwidgets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert (
        sorted(n.split("/")[-1] for n in names if n.startswith("lrwidgets/notebooks/")) == SHIPPED
    )

    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index"]
    subprocess.run([*install, "--target", str(site), str(wheel)], check=True, capture_output=True)
    config = tmp_path / "config"  # CI runs as root; a free port
    config.mkdir()
    server = {"ServerApp": {"allow_root": True, "port": free_port(), "token": "t"}}
    (config / "jupyter_server_config.json").write_text(json.dumps(server))
    env = {**os.environ, "PYTHONPATH": str(site), "JUPYTER_CONFIG_DIR": str(config)}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    course = tmp_path / "my course"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrwidgets", "course", str(course), "--no-browser"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "http://" in line:  # JupyterLab is serving
                break
        log = "".join(lines)
        assert f"from {site / 'lrwidgets' / 'notebooks'}" in log, log  # the wheel's copy
        assert sorted(p.name for p in course.glob("*.ipynb")) == SHIPPED, log
        assert "http://" in log and str(course) in log, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_the_dashboard_command_says_how_to_install_voila_when_it_is_missing(capsys, monkeypatch):
    monkeypatch.setattr("lrwidgets.__main__.installed", lambda module: False)
    assert main(["dashboard", "--port", "8999", "--no-browser"]) == 1
    out = capsys.readouterr().out
    assert "pip install voila" in out
    assert "-m voila" in out and "00_dashboard.ipynb" in out and "--port=8999" in out
