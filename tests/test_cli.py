"""The command line runs a real range test and prints runnable schedule code."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lrwidgets import constant, cyclic, fastai_one_cycle, one_cycle
from lrwidgets.__main__ import build_parser, main
from lrwidgets.core import warmup_share_cosine
from lrwidgets.core.defaults import CYCLIC_BASE_LR


def test_range_test_prints_the_suggestions_and_saves_the_curve(capsys, tmp_path):
    image = tmp_path / "curve.png"
    code = main(["range-test", "--problem", "quadratic", "--num-iter", "40", "--plot", str(image)])
    out = capsys.readouterr().out
    assert code == 0
    assert "quadratic:" in out and "valley:" in out and "steepest:" in out
    # 40 steps on the noisy bowl: the curve never falls clearly, and the output says so
    assert "unreliable: the smoothed loss never falls clearly below its start" in out
    assert image.stat().st_size > 1000


def test_schedule_code_reproduces_the_schedule(capsys):
    assert main(["schedule", "one-cycle", "--total-steps", "50", "--max-lr", "0.2"]) == 0
    code = capsys.readouterr().out
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    namespace = {"optimizer": optimizer}
    exec(code, namespace)
    lrs = []
    for _ in range(50):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        namespace["scheduler"].step()
    np.testing.assert_array_equal(lrs, one_cycle(50, 0.2).lr)


def test_bad_input_is_one_readable_line(capsys):
    code = main(["range-test", "--problem", "quadratic", "--start-lr", "1", "--end-lr", "0.1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: start_lr must be < end_lr")


def scheduled_lrs(code: str, steps: int) -> list[float]:
    """Run the printed code on a one-parameter optimizer and read the lr of every step."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    namespace = {"optimizer": optimizer}
    exec(code, namespace)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        namespace["scheduler"].step()
    return lrs


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (  # step_size_up defaults to a quarter of the steps, as in the widget: max_lr is reached
            ["cyclic-triangular", "--total-steps", "1000", "--max-lr", "0.1"],
            cyclic(1000, CYCLIC_BASE_LR, 0.1, step_size_up=250),
        ),
        (
            ["cyclic-exp_range", "--total-steps", "120", "--max-lr", "0.1", "--gamma", "0.99"]
            + ["--step-size-up", "10", "--step-size-down", "20"],
            cyclic(120, CYCLIC_BASE_LR, 0.1, 10, 20, mode="exp_range", gamma=0.99),
        ),
        (
            ["one-cycle", "--total-steps", "90", "--max-lr", "0.2", "--pct-start", "0.2"]
            + ["--anneal-strategy", "linear", "--div-factor", "10", "--final-div-factor", "100"]
            + ["--three-phase", "--base-momentum", "0.8", "--max-momentum", "0.9"],
            one_cycle(90, 0.2, 0.2, "linear", 10.0, 100.0, True, 0.8, 0.9),
        ),
        (["constant", "--total-steps", "30", "--max-lr", "0.05"], constant(30, 0.05)),
        (  # the transformer's schedule: linear warm-up over a share of the steps, then cosine
            ["warmup-cosine", "--total-steps", "120", "--max-lr", "0.001", "--warmup-share", "0.2"],
            warmup_share_cosine(120, 0.001, 0.2),
        ),
    ],
)
def test_every_schedule_knob_reaches_the_schedule(capsys, argv, expected):
    assert main(["schedule", *argv]) == 0
    code = capsys.readouterr().out
    np.testing.assert_array_equal(scheduled_lrs(code, len(expected)), expected.lr)
    if argv[0] == "cyclic-triangular":
        assert max(expected.lr) == 0.1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch-size", "0"], "error: --batch-size must be an integer >= 1, got 0"),
        (["--plot", "no/such/folder/x.png"], "error: --plot: the folder 'no/such/folder'"),
        (["--plot", "curve.xyz"], "error: --plot must end in an image format: "),
        (["--problem", "mnist-mlp"], "error: mnist-mlp needs path="),
        (["--path", "data"], "error: --path is for the problems mnist-mlp, mnist-cnn"),
        (["--plot", "{tmp}/a-folder.png"], "error: --plot must name a file, got the folder"),
        (["--problem", "mnist-mlp", "--path", "nowhere/"], "error: path must be a folder"),
        pytest.param(
            ["--plot", "/proc/curve.png"],
            "error: --plot: cannot write '/proc/curve.png'",
            marks=pytest.mark.skipif(not Path("/proc").is_dir(), reason="no /proc here"),
        ),
    ],
)
def test_range_test_options_are_checked_before_the_run(capsys, tmp_path, argv, message):
    (tmp_path / "a-folder.png").mkdir()
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(["range-test", "--problem", "quadratic", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message)
    assert captured.out == ""  # no test ran


def test_mnist_from_a_local_folder(capsys, tmp_path):
    from test_datasets import write_mnist

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    write_mnist(tmp_path, images, (np.arange(40) % 10).astype(np.uint8))
    argv = ["--problem", "mnist-mlp", "--path", str(tmp_path), "--num-iter", "10"]
    assert main(["range-test", *argv, "--batch-size", "8"]) == 0
    assert capsys.readouterr().out.startswith("mnist-mlp: 10 steps")


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [("/venv/bin/lrwidgets", "lrwidgets"), ("/src/lrwidgets/__main__.py", "python -m lrwidgets")],
)
def test_help_names_the_program_as_it_was_started_and_shows_defaults(
    capsys, monkeypatch, argv0, prog
):
    monkeypatch.setattr(sys, "argv", [argv0])
    with pytest.raises(SystemExit):
        main(["range-test", "--help"])
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {prog} range-test")
    assert "(default: 1e-07)" in out and "(default: the problem's own)" in out
    for command in build_parser()._subparsers._group_actions[0].choices.values():
        for action in command._actions:
            assert action.help, f"{command.prog} {action.option_strings} has no help"


def test_fastai_schedule_code_and_the_new_range_test_options(capsys):
    assert main(["schedule", "fastai-one-cycle", "--total-steps", "30", "--max-lr", "0.2"]) == 0
    namespace = {}
    exec(capsys.readouterr().out, namespace)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    lrs = []
    for step in range(30):
        namespace["set_fastai_one_cycle"](optimizer, step)
        lrs.append(optimizer.param_groups[0]["lr"])
    np.testing.assert_array_equal(lrs, fastai_one_cycle(30, 0.2).lr)
    args = ["range-test", "--problem", "quadratic", "--num-iter", "20"]
    assert main([*args, "--accumulation-steps", "2", "--clip-grad-norm", "1.0"]) == 0
    assert main([*args, "--accumulation-steps", "0"]) == 2
    assert "accumulation_steps must be an integer >= 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "policy", ["one-cycle", "fastai-one-cycle", "constant", "cyclic-triangular"]
)
def test_gamma_is_refused_where_the_schedule_has_none(capsys, policy):
    argv = ["schedule", policy, "--total-steps", "100", "--max-lr", "0.1", "--gamma", "0.9"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: --gamma is for cyclic-exp_range only; {policy} has no gamma\n"
    assert captured.out == ""
