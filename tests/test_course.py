"""The course after a pip install: the wheel ships the notebooks, ``python -m lrwidgets course``
copies them without ever replacing a learner's edited copy unasked, then opens JupyterLab."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from browser_helpers import free_port

from lrwidgets.__main__ import main
from lrwidgets.classroom import MANIFEST, copy_course, course_notebooks, lab_command

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import hatch_build  # noqa: E402  (the build hook that strips the shipped notebooks)

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
    monkeypatch.setattr("lrwidgets.classroom.installed", lambda module: False)
    assert main(["course", str(tmp_path / "c"), "--no-browser"]) == 1
    out = capsys.readouterr().out
    assert "01_range_test.ipynb: copied" in out
    assert "pip install jupyterlab" in out and "-m jupyterlab" in out and "--no-browser" in out
    assert sorted(p.name for p in (tmp_path / "c").glob("*.ipynb")) == SHIPPED


def test_bad_port_is_one_readable_line(capsys):
    assert main(["dashboard", "--port", "70000", "--no-browser"]) == 2
    assert capsys.readouterr().err.startswith("error: port must be an integer in 1..65535")


def executed_checkout(folder: Path) -> Path:
    """What the build reads from this repository, copied to ``folder``, as it is after a
    learner ran notebook 01 in it: outputs, widget state, timings, and JupyterLab's
    ``.ipynb_checkpoints/``."""
    folder.mkdir()
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(REPO / name, folder / name)
    for name in ("lrwidgets", "notebooks"):
        ignored = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
        shutil.copytree(REPO / name, folder / name, ignore=ignored)
    ran = folder / "notebooks" / "01_range_test.ipynb"
    notebook = json.loads(ran.read_text())
    notebook["metadata"]["widgets"] = {"state": {"model": "x" * 100_000}}
    for count, cell in enumerate(c for c in notebook["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = count + 1
        cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["ran\n"]}]
        cell["metadata"]["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    ran.write_text(json.dumps(notebook, indent=1))
    (folder / "notebooks" / ".ipynb_checkpoints").mkdir()
    shutil.copy(ran, folder / "notebooks" / ".ipynb_checkpoints" / "01_range_test-checkpoint.ipynb")
    return folder


def test_the_committed_notebooks_carry_no_outputs():
    """What the wheel ships (hatch_build.py strips outputs) is what is committed: a notebook
    run and saved by mistake fails here, in CI."""
    for name in SHIPPED:
        notebook = json.loads((REPO / "notebooks" / name).read_text())
        assert hatch_build.stripped(notebook) == notebook, f"{name} holds outputs: clear them"


def test_the_wheel_ships_the_notebooks_clean_and_the_course_command_copies_them(tmp_path):
    """Build the wheel from a checkout where a notebook was run, install it (no dependencies:
    they are here already) into a folder of its own, and run ``python -m lrwidgets course DIR
    --no-browser -- --ServerApp.port=N`` from that install only: the notebooks arrive without
    outputs or checkpoints, and JupyterLab starts on DIR (as root too: CI runs as root, and no
    configuration allows it; the course command passes --allow-root)."""
    checkout = executed_checkout(tmp_path / "checkout")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "-w", str(tmp_path / "dist"), str(checkout)],
        check=True,
        text=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("lrwidgets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "checkpoint" in n]
    shipped = sorted(n for n in names if n.startswith("lrwidgets/notebooks/"))
    assert [n.split("/")[-1] for n in shipped] == SHIPPED
    for name in shipped:  # each equal to the committed one, which has no outputs
        notebook = json.loads(zipfile.ZipFile(wheel).read(name))
        assert notebook == json.loads((REPO / "notebooks" / name.split("/")[-1]).read_text())

    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index"]
    subprocess.run([*install, "--target", str(site), str(wheel)], check=True, capture_output=True)
    config = tmp_path / "config"
    config.mkdir()
    server = {"ServerApp": {"token": "t"}}
    (config / "jupyter_server_config.json").write_text(json.dumps(server))
    env = {**os.environ, "PYTHONPATH": str(site), "JUPYTER_CONFIG_DIR": str(config)}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    course, port = tmp_path / "my course", free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrwidgets", "course", str(course), "--no-browser"]
        + ["--", f"--ServerApp.port={port}"],
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
        assert f"http://localhost:{port}/" in log or f"127.0.0.1:{port}/" in log, log
        assert str(course) in log, log
        assert (course / "01_range_test.ipynb").read_bytes() == (
            site / "lrwidgets" / "notebooks" / "01_range_test.ipynb"
        ).read_bytes()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_the_dashboard_command_says_how_to_install_voila_when_it_is_missing(capsys, monkeypatch):
    monkeypatch.setattr("lrwidgets.classroom.installed", lambda module: False)
    assert main(["dashboard", "--port", "8999", "--no-browser"]) == 1
    out = capsys.readouterr().out
    assert "pip install voila" in out
    assert "-m voila" in out and "00_dashboard.ipynb" in out and "--port=8999" in out


@pytest.mark.parametrize("dangling", [False, True])
@pytest.mark.parametrize("name", ["01_range_test.ipynb", MANIFEST])
def test_a_symbolic_link_planted_in_the_folder_is_refused(tmp_path, name, dangling):
    dest, outside = tmp_path / "course", tmp_path / "outside.txt"
    dest.mkdir()
    if not dangling:
        outside.write_text("not yours")
    (dest / name).symlink_to(outside)
    with pytest.raises(ValueError, match=f"{name} is a symbolic link .*remove the link"):
        copy_course(dest)
    assert (outside.read_text() == "not yours") if not dangling else not outside.exists()
    assert sorted(p.name for p in dest.iterdir()) == [name]  # nothing else written


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"01_range_test.ipynb": 3}'])
def test_a_damaged_manifest_says_what_to_do(tmp_path, capsys, monkeypatch, content):
    monkeypatch.setattr("lrwidgets.classroom.installed", lambda module: False)  # never start it
    copy_course(tmp_path)
    (tmp_path / MANIFEST).write_text(content)
    assert main(["course", str(tmp_path), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / MANIFEST} is damaged (")
    assert "delete it and run again" in err
    (tmp_path / MANIFEST).unlink()
    assert set(copy_course(tmp_path).values()) == {"up to date"}


@pytest.mark.parametrize("uid", [0, 1000])
def test_jupyterlab_is_allowed_to_run_as_root(monkeypatch, uid):
    monkeypatch.setattr(os, "geteuid", lambda: uid, raising=False)
    assert ("--allow-root" in lab_command("c")) == (uid == 0)


def test_arguments_after_a_double_dash_go_to_jupyterlab(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("lrwidgets.classroom.installed", lambda module: False)
    argv = ["course", str(tmp_path), "--no-browser", "--", "--port=9123", "--ip=0.0.0.0"]
    assert main(argv) == 1
    assert capsys.readouterr().out.rstrip().endswith("--no-browser --port=9123 --ip=0.0.0.0")
    assert main(["schedule", "constant", "--total-steps", "3", "--max-lr", "1", "--", "x"]) == 2


def test_every_lesson_says_first_how_to_free_its_kernel():
    """On Binder a 2 GB pod fills at the 5th-6th open kernel: each lesson's first cell says to
    shut this notebook's kernel down before opening the next (the dashboard has no code)."""
    for name in SHIPPED:
        if name.startswith("00_"):
            continue
        notebook = json.loads((REPO / "notebooks" / name).read_text())
        first = "".join(notebook["cells"][0]["source"])
        assert "Shut Down Kernel" in first, f"{name}: the first cell must say how to free memory"
