"""The command line runs a real range test and prints runnable schedule code."""

import numpy as np
import torch

from lrwidgets import fastai_one_cycle, one_cycle
from lrwidgets.__main__ import main


def test_range_test_prints_the_suggestions_and_saves_the_curve(capsys, tmp_path):
    image = tmp_path / "curve.png"
    code = main(["range-test", "--problem", "quadratic", "--num-iter", "40", "--plot", str(image)])
    out = capsys.readouterr().out
    assert code == 0
    assert "quadratic:" in out and "valley:" in out
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
