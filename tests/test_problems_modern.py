"""The models people train now: charlm-transformer (AdamW), digits-resnet, digits-finetune."""

import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lrwidgets import range_test
from lrwidgets.__main__ import main
from lrwidgets.problems import OWN_OPTIMIZER, get_problem
from lrwidgets.problems.finetune import pretrained
from lrwidgets.problems.transformer import CORPUS_MODULES, stdlib_text
from lrwidgets.studies.batched import batching_obstacle


@pytest.fixture(scope="module")
def charlm():
    return get_problem("charlm-transformer")


@pytest.fixture(scope="module")
def finetune():
    return get_problem("digits-finetune")


def test_charlm_text_vocabulary_and_windows(charlm):
    text = stdlib_text(CORPUS_MODULES)
    vocabulary = charlm.extras["vocabulary"]
    assert vocabulary == "".join(sorted(set(text)))
    assert len(vocabulary) >= 40
    assert charlm.extras["characters"] == len(text)
    (X, y), (Xv, _) = charlm.train_data, charlm.val_data
    assert X.shape == y.shape and X.shape[1] == 64 and Xv.shape[1] == 64
    assert torch.equal(y[:, :-1], X[:, 1:])  # y is X shifted by one character
    assert torch.equal(y[:-1, -1], X[1:, 0])  # windows follow each other in the text
    decoded = "".join(vocabulary[i] for i in X[0].tolist())
    assert decoded == text[:64]  # training starts at the start of the text ...
    val_start = "".join(vocabulary[i] for i in Xv[0].tolist())
    assert text.index(val_start) >= 64 * len(X)  # ... validation comes after it, by position
    assert 0.05 < len(Xv) / (len(X) + len(Xv)) < 0.15


def test_charlm_model_size_shapes_and_causality(charlm):
    model = charlm.make_model(0)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params >= 50_000 and n_params == charlm.extras["parameters"]
    assert len(model.blocks) == 2 and model.token.embedding_dim == 64
    assert any(isinstance(m, nn.LayerNorm) for m in model.modules())
    X = charlm.train_data[0][:3]
    logits = model(X)
    assert logits.shape == (3, 64, len(charlm.extras["vocabulary"]))
    changed = X.clone()
    changed[:, 40] = (changed[:, 40] + 1) % len(charlm.extras["vocabulary"])
    after = model(changed)
    assert torch.equal(after[:, :40], logits[:, :40])  # no position sees the future
    assert not torch.allclose(after[:, 40:], logits[:, 40:])
    loss = charlm.loss_fn(logits, charlm.train_data[1][:3])
    assert abs(loss.item() - np.log(len(charlm.extras["vocabulary"]))) < 0.5


def test_charlm_context_longer_than_the_model_is_a_value_error(charlm):
    with pytest.raises(ValueError, match="at most 64 characters"):
        charlm.make_model(0)(torch.zeros(1, 65, dtype=torch.int64))
    with pytest.raises(ValueError, match="multiple of heads"):
        get_problem("charlm-transformer", width=30, heads=4)
    with pytest.raises(ValueError, match="modules"):
        get_problem("charlm-transformer", modules=("sys",))  # built in C: no source


def test_charlm_optimizer_and_schedule(charlm):
    model = charlm.make_model(0)
    optimizer = charlm.make_optimizer(model)
    assert type(optimizer) is torch.optim.AdamW
    assert optimizer.param_groups[0]["weight_decay"] == 0.1
    assert {id(p) for p in optimizer.param_groups[0]["params"]} == {
        id(p) for p in model.parameters()
    }
    schedule = charlm.make_schedule(300, 1e-3)
    assert schedule.name == "warmup_cosine" and len(schedule) == 300
    assert int(schedule.lr.argmax()) == 30 and schedule.lr[0] == pytest.approx(1e-5)
    # one param group, a model torch.func batches: the batched grid can train it
    assert batching_obstacle(model, optimizer, charlm.train_data, 32, charlm.loss_fn) is None


def test_charlm_range_test_with_its_adamw_falls_and_blows_up_fast(charlm):
    """The issue's bar: <= 0.8x its start, stopped early, <= 40 s on one thread. The time is
    this process's CPU time on one thread, so other processes on the machine do not count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = charlm.make_model(0)
        optimizer = charlm.make_optimizer(model)
        started, wall = time.process_time(), time.perf_counter()
        result = range_test(
            model, charlm.train_data, charlm.loss_fn, optimizer, batch_size=32, seed=0,
            progress=False,
        )  # fmt: skip
        cpu, wall = time.process_time() - started, time.perf_counter() - wall
    finally:
        torch.set_num_threads(threads)
    smoothed = result.smoothed()
    print(
        f"charlm range test: {cpu:.1f} s CPU on one thread ({wall:.1f} s wall), "
        f"{len(result.lrs)} steps, smoothed {smoothed[0]:.2f} -> {smoothed.min():.2f}"
    )
    assert result.stopped_early and result.stop_reason.startswith("diverged")
    assert smoothed.min() <= 0.8 * smoothed[0]
    assert cpu <= 40.0
    assert 1e-5 < result.suggestion("valley") < 1e-1


def test_resnet_has_batchnorm_and_skip_connections():
    from lrwidgets.problems.resnet import ResidualBlock

    problem = get_problem("digits-resnet")
    model = problem.make_model(0)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    blocks = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 2
    X = problem.train_data[0][:5]
    block = blocks[0].eval()
    with torch.no_grad():
        x = model[:3].eval()(X)
        for conv_or_bn in block.branch:  # a branch that gives zero leaves the input (ReLU'd)
            for p in conv_or_bn.parameters():
                p.zero_()
        assert torch.equal(block(x), torch.relu(x))
    assert model(X).shape == (5, 10)
    assert 10_000 < sum(p.numel() for p in model.parameters()) < 40_000


def test_finetune_pretrains_once_and_keeps_the_backbone(finetune):
    assert pretrained() is pretrained()  # cached for the session
    backbone, _, _, accuracy = pretrained()
    assert accuracy > 0.95 and finetune.extras["pretrain_accuracy"] == accuracy
    a, b = finetune.make_model(0), finetune.make_model(1)
    for key, value in backbone.items():
        assert torch.equal(a.backbone.state_dict()[key], value)
        assert torch.equal(b.backbone.state_dict()[key], value)
    assert not torch.equal(a.head.weight, b.head.weight)  # a new head, one per seed
    X, y = finetune.train_data
    assert set(y.tolist()) == set(range(5)) and a(X[:4]).shape == (4, 5)
    assert len(X) + len(finetune.val_data[0]) == 896  # the digits 5-9 of scikit-learn's 1797


def test_finetune_optimizer_has_the_backbone_at_a_tenth_of_the_head(finetune):
    model = finetune.make_model(0)
    optimizer = finetune.make_optimizer(model)
    head, backbone = optimizer.param_groups
    assert {id(p) for p in head["params"]} == {id(p) for p in model.head.parameters()}
    assert {id(p) for p in backbone["params"]} == {id(p) for p in model.backbone.parameters()}
    assert backbone["lr"] == pytest.approx(head["lr"] / 10)


def test_finetune_range_test_keeps_the_ratio(finetune):
    model = finetune.make_model(0)
    optimizer = finetune.make_optimizer(model)
    before = [group["lr"] for group in optimizer.param_groups]
    seen = []

    def record(step, lr, loss):
        seen.append((lr, *(group["lr"] for group in optimizer.param_groups)))

    result = range_test(
        model, finetune.train_data, finetune.loss_fn, optimizer, num_iter=40, seed=0,
        progress=False, callback=record,
    )  # fmt: skip
    assert result.group_ratios == pytest.approx((1.0, 0.1))
    lrs = np.array(seen)
    np.testing.assert_allclose(lrs[:, 1], lrs[:, 0])  # the head takes the swept lr
    np.testing.assert_allclose(lrs[:, 2], lrs[:, 0] / 10)  # the backbone a tenth of it
    assert [group["lr"] for group in optimizer.param_groups] == before  # put back
    fresh = finetune.make_optimizer(finetune.make_model(0))
    with warnings.catch_warnings():  # 40 steps: the curve may be called unreliable
        warnings.simplefilter("ignore")
        applied = result.apply(fresh, "minimum")
    assert applied == pytest.approx(fresh.param_groups[1]["lr"] * 10)


@pytest.mark.parametrize("name", ["charlm-transformer", "digits-finetune"])
def test_the_problems_own_optimizer_is_the_default_everywhere(name):
    problem = get_problem(name)
    model = problem.make_model(0)
    assert problem.default_optimizer() == OWN_OPTIMIZER
    assert type(problem.optimizer_for(model)) is type(problem.make_optimizer(model))
    assert type(problem.optimizer_for(model, "adam")) is torch.optim.Adam
    plain = get_problem("digits-mlp")
    assert type(plain.optimizer_for(plain.make_model(0))) is torch.optim.SGD
    with pytest.raises(ValueError, match="optimizer must be one of 'sgd'"):
        plain.optimizer_for(plain.make_model(0), OWN_OPTIMIZER)


def test_widgets_start_with_the_problems_own_optimizer():
    from lrwidgets.widgets import RangeTestWidget, TrainingWidget

    widget = RangeTestWidget(problem="charlm-transformer", num_iter=3)
    assert widget.optimizer_name.value == OWN_OPTIMIZER
    widget.run()
    assert len(widget.result.lrs) == 3
    assert "AdamW" in dict((v, k) for k, v in widget.optimizer_name.options)[OWN_OPTIMIZER]
    _, _, _, optimizer = widget._parts()
    assert type(optimizer) is torch.optim.AdamW
    widget.problem.value = "digits-mlp"  # no optimizer of its own: the package's default
    assert widget.optimizer_name.value == "sgd_momentum"
    assert OWN_OPTIMIZER not in [v for _, v in widget.optimizer_name.options]
    widget.optimizer_name.value = "adam"
    widget.problem.value = "digits-cnn"  # a choice still offered stays
    assert widget.optimizer_name.value == "adam"
    widget.problem.value = "digits-finetune"
    assert widget.optimizer_name.value == OWN_OPTIMIZER
    assert (
        RangeTestWidget(problem="digits-finetune", optimizer_name="adam").optimizer_name.value
        == "adam"
    )
    training = TrainingWidget(problem="digits-finetune", epochs=1)
    training._prepare()  # what Run does first
    _, optimizer = training._fresh()
    assert len(optimizer.param_groups) == 2
    training.problem.value = "charlm-transformer"
    assert training._task()[-1] == "loss"  # no accuracy per window: the loss is drawn
    training._prepare()
    assert type(training._fresh()[1]) is torch.optim.AdamW


def test_command_line_range_test_on_the_transformer_uses_its_adamw(tmp_path, capsys):
    plot = tmp_path / "curve.png"
    main(["range-test", "--problem", "charlm-transformer", "--num-iter", "5", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert "the problem's own, AdamW" in out and plot.stat().st_size > 0


def test_studies_train_a_problem_with_its_own_optimizer_by_default():
    from lrwidgets.studies import train_at_lrs
    from lrwidgets.studies.gap import seeded_range_tests
    from lrwidgets.training import make_optimizer

    problem = get_problem("digits-finetune")
    args = dict(lrs=[1e-3, 1e-2], epochs=1, seeds=(0,))
    own = train_at_lrs(problem, **args)
    explicit = train_at_lrs(problem, **args, optimizer_factory=problem.make_optimizer)
    sgd = train_at_lrs(
        problem, **args, optimizer_factory=lambda m: make_optimizer("sgd_momentum", m.parameters())
    )
    np.testing.assert_array_equal(own.val_loss, explicit.val_loss)
    assert not np.array_equal(own.val_loss, sgd.val_loss)
    (result,) = seeded_range_tests(problem, (0,), num_iter=20)
    assert result.group_ratios == pytest.approx((1.0, 0.1))


def test_warmup_cosine_policy_trains_the_transformer_batched():
    from lrwidgets.core import warmup_share_cosine
    from lrwidgets.studies import train_at_lrs
    from lrwidgets.studies.grid import plan

    assert np.array_equal(plan("warmup_cosine", 50, 0.01).lr, warmup_share_cosine(50, 0.01).lr)
    small = get_problem("charlm-transformer", width=16, heads=2, context=16, batch_size=64)
    small.train_data = tuple(t[:256] for t in small.train_data)  # 4 steps an epoch
    grid = train_at_lrs(small, [1e-3, 1e-2], epochs=2, seeds=(0,), policy="warmup_cosine",
                        batched=True)  # fmt: skip
    loop = train_at_lrs(small, [1e-3, 1e-2], epochs=2, seeds=(0,), policy="warmup_cosine",
                        batched=False)  # fmt: skip
    np.testing.assert_allclose(grid.val_loss, loop.val_loss, rtol=1e-4)
    assert np.all(grid.val_loss < grid.initial_loss)
