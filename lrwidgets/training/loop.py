"""What ``range_test`` and ``fit`` share: argument checks, the defaults, one training step, and
the loss on held-out data.

Defaults:

- ``optimizer=None``: ``torch.optim.SGD(model.parameters(), lr, momentum=0.9)``
  (``make_optimizer("sgd_momentum", ...)``, made by ``run.optimizer_to_step``).
- ``loss_fn=None``: ``nn.CrossEntropyLoss()`` when the targets are integer class labels (an
  integer dtype, such as int64), otherwise ``nn.MSELoss()`` (regression, float targets).

A batch is an ``(inputs, targets)`` pair, and its loss is ``loss_fn(model(inputs), targets)``.
Any other batch (a dict, a triple, ...) works through ``step_fn(model, batch) -> loss tensor``.

Before training, the arguments and the first batch are checked against what can go wrong
there: a loss class passed for a loss object (``nn.MSELoss`` for ``nn.MSELoss()``), data given
as a list ``[X, y]`` (read as a list of two batches) instead of the tuple ``(X, y)``, floating
inputs of another dtype than the model's parameters, a loss that is not one number
(``reduction="none"``). Then the first batch is tried once, before any step
(``check_first_batch``): what fails there is re-raised, as the same kind of error, with what met
there: the call that failed, the batch's shapes, dtypes and devices, and the model's dtype and
device. The training step itself (``train_step``) is the plain loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.checks import check_bool, check_int
from ..core.warn import warn
from .state import untouched

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepFn = Callable[[nn.Module, Any], torch.Tensor]
Callback = Callable[[int, float, float], Any]  # (step, lr, loss) -> truthy to stop

STOPPED_BY_CALLBACK = "stopped by callback"


def check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters (none with requires_grad=True)")
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        raise ValueError(
            "model is on the meta device: its tensors have shapes but no values to train; "
            "build it on a real device, or give it values first "
            "(model.to_empty(device='cpu'), then initialise its weights)"
        )


def check_grad_mode() -> None:
    """Training needs gradients; inside ``torch.inference_mode()`` none can be had."""
    if torch.is_inference_mode_enabled():
        raise ValueError(
            "grad mode is off: this runs inside torch.inference_mode(), where no gradient can "
            "be computed (and which cannot be switched off from inside); call it outside the "
            "`with torch.inference_mode():` block (torch.no_grad() is fine: training turns "
            "gradients on for itself)"
        )


def check_optimizer(optimizer: object, model: nn.Module) -> None:
    """None, or a torch optimizer whose every parameter is one of ``model.parameters()``."""
    if optimizer is None:
        return
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}"
        )
    mine = {id(p) for p in model.parameters()}
    for i, group in enumerate(optimizer.param_groups):
        if any(id(p) not in mine for p in group["params"]):
            raise ValueError(
                f"optimizer param group {i} holds a tensor that is not one of model.parameters(); "
                "build the optimizer over this model, e.g. torch.optim.SGD(model.parameters(), lr)"
            )


def check_callable(name: str, value: object) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, got {type(value).__name__}")


def check_seed(seed: object) -> None:
    if seed is not None:
        check_int("seed", seed, minimum=0, maximum=2**64 - 1)  # what torch.manual_seed takes


def check_common(
    model: object,
    loss_fn: object,
    optimizer: object,
    seed: object,
    callback: object,
    step_fn: object,
    progress: object = True,
) -> None:
    """The checks ``range_test`` and ``fit`` both make before any work."""
    check_grad_mode()
    check_model(model)
    check_bool("progress", progress)
    if isinstance(loss_fn, type):
        raise TypeError(
            f"loss_fn must be a loss function or a loss object such as {loss_fn.__name__}(), "
            f"got the class {loss_fn.__name__} itself; add () to make one"
        )
    check_optimizer(optimizer, model)  # type: ignore[arg-type]
    check_callable("loss_fn", loss_fn)
    check_callable("callback", callback)
    check_callable("step_fn", step_fn)
    if loss_fn is not None and step_fn is not None:
        raise ValueError("pass loss_fn or step_fn, not both: step_fn computes the loss itself")
    check_seed(seed)


def is_class_labels(targets: torch.Tensor) -> bool:
    """Integer targets (int64, int32, ...) are class labels; float or bool targets are not."""
    return not (targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool)


def default_loss(targets: torch.Tensor) -> nn.Module:
    """CrossEntropyLoss for integer class labels, MSELoss for anything else."""
    return nn.CrossEntropyLoss() if is_class_labels(targets) else nn.MSELoss()


def is_pair(batch: object) -> bool:
    return isinstance(batch, (tuple, list)) and len(batch) == 2


def resolve_loss(loss_fn: LossFn | None, step_fn: StepFn | None, first_batch: Any) -> LossFn | None:
    """The loss function to use, judged from the first batch (None when step_fn computes it)."""
    if step_fn is not None:
        return None
    if isinstance(first_batch, (torch.Tensor, np.ndarray)):
        raise TypeError(
            "batches must be (inputs, targets) pairs, got a batch that is one array of shape "
            f"{tuple(first_batch.shape)}; for data in memory pass the tuple (X, y), not the "
            "list [X, y] (a list is read as a list of batches)"
        )
    if not is_pair(first_batch):
        raise TypeError(
            "batches must be (inputs, targets) pairs, got a batch of type "
            f"{type(first_batch).__name__}; for other batches pass step_fn(model, batch) -> loss"
        )
    return loss_fn if loss_fn is not None else default_loss(first_batch[1])


def check_first_batch(
    model: nn.Module,
    batch: Any,
    loss_fn: LossFn | None,
    step_fn: StepFn | None,
    amp: AbstractContextManager,
) -> None:
    """Check the first batch against the model before any step, and try it once.

    Floating inputs must have the dtype of the model's floating parameters (unless autocast
    casts them, or step_fn feeds the model itself). Then the first step's calls run once on
    ``batch``: the forward pass, the loss (one number) and its gradient, with torch's random
    state, the model's buffers and every ``.grad`` left as they were. A call that fails is
    re-raised with what met there (``explain_failure``); the training loop itself stays plain.
    """
    inputs = batch[0] if step_fn is None else None
    weights = [p.dtype for p in model.parameters() if p.is_floating_point()]
    floating = isinstance(inputs, torch.Tensor) and inputs.is_floating_point()
    if floating and weights and inputs.dtype != weights[0] and not isinstance(amp, torch.autocast):
        raise TypeError(
            f"the inputs are {inputs.dtype} but the model's parameters are {weights[0]}; "
            f"convert the data (X.to({weights[0]})) or the model "
            f"(model.to({inputs.dtype})) so that they match"
        )

    def attempt(call: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception as error:
            raise explain_failure(error, call, model, batch) from error

    with untouched(model):
        with amp:
            if step_fn is not None:
                call = "step_fn(model, batch)"
                loss = attempt(call, lambda: step_fn(model, batch))
            else:
                outputs = attempt("model(inputs)", lambda: model(batch[0]))
                call = "loss_fn(outputs, targets)"
                loss = attempt(call, lambda: loss_fn(outputs, batch[1]))  # type: ignore[misc]
        attempt(call, lambda: check_scalar_loss(loss))
        trainable = [p for p in model.parameters() if p.requires_grad]  # (step_fn may freeze some)
        attempt("loss.backward()", lambda: torch.autograd.grad(loss, trainable, allow_unused=True))


def batch_description(value: Any) -> str:
    """Shapes, dtypes and devices of the tensors in a batch, for an error message."""
    if isinstance(value, torch.Tensor):
        return f"{tuple(value.shape)} {value.dtype} on {value.device}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(batch_description(item) for item in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {batch_description(v)}" for k, v in value.items()) + "}"
    return type(value).__name__


def explain_failure(error: Exception, call: str, model: nn.Module, batch: Any) -> Exception:
    """``error`` again (the same type where it allows), its message followed by what met in
    the first step: the call that failed, the batch, the model's dtype and device."""
    param = next(model.parameters())
    message = (
        f"the first training step failed in {call}: {error} | batch: {batch_description(batch)}; "
        f"model parameters: {param.dtype} on {param.device}"
    )
    try:
        return type(error)(message)
    except Exception:
        return RuntimeError(message)


def check_scalar_loss(loss: object) -> None:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = f"shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else repr(loss)
        raise ValueError(
            f"the loss must be one number (a tensor with one element), got {got}; "
            "use a loss that averages over the batch (reduction='mean', the default)"
        )


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The same learning rate on every param group."""
    for group in optimizer.param_groups:
        group["lr"] = lr


AMP_MODES = (False, True, "bf16", "fp16")


def check_amp(amp: object) -> bool | str:
    """False, True (= "bf16"), "bf16" or "fp16"."""
    if not any(amp is mode or (isinstance(amp, str) and amp == mode) for mode in AMP_MODES):
        allowed = ", ".join(repr(mode) for mode in AMP_MODES)
        raise ValueError(f"amp must be one of {allowed}, got {amp!r}")
    return amp  # type: ignore[return-value]


def autocast(device: torch.device, amp: bool | str) -> AbstractContextManager:
    """Mixed precision on CUDA: ``amp=True`` or ``"bf16"`` is bfloat16 autocast, ``"fp16"``
    float16 autocast (with a GradScaler: see ``grad_scaler``). On other devices amp is ignored
    with a warning (half precision on a CPU is slower than float32 on most CPUs and changes no
    lesson)."""
    amp = check_amp(amp)
    if not amp:
        return nullcontext()
    if device.type != "cuda":
        warn(
            f"amp={amp!r} uses half-precision autocast on CUDA only; on {device.type} the run "
            "stays in float32"
        )
        return nullcontext()
    return torch.autocast("cuda", dtype=torch.float16 if amp == "fp16" else torch.bfloat16)


def grad_scaler(device: torch.device, amp: bool | str) -> torch.amp.GradScaler | None:
    """A fresh ``torch.amp.GradScaler`` for float16 on CUDA (float16 gradients underflow without
    one); None otherwise (bfloat16 has float32's range and needs none)."""
    if check_amp(amp) == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None


@dataclass
class StepOutcome:
    """One optimizer step: the mean loss of its batches (a tensor, computed before the step),
    and whether a GradScaler skipped the step because the gradients were not finite."""

    loss: torch.Tensor
    skipped: bool = False


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Sequence[Any],
    loss_fn: LossFn | None,
    step_fn: StepFn | None,
    amp: AbstractContextManager,
    *,
    clip_grad_norm: float | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> StepOutcome:
    """One optimizer step on ``k = len(batches)`` batches (gradient accumulation):

        grad  = sum_b grad(loss_b / k)      (the gradient of the mean loss; scaled by the
                                             GradScaler's scale when there is one)
        clip  the global norm of the gradients of model.parameters() to ``clip_grad_norm``
        step  optimizer.step(), or scaler.step(optimizer) + scaler.update()
        loss  = sum_b loss_b / k

    A ``DistributedDataParallel`` model all-reduces the gradients on the last batch only
    (``no_sync`` before). With a scaler, the step is skipped when the gradients hold an inf or
    a NaN: the scale then falls (``scaler.update`` halves it), which is how it is detected.
    (The first batch was tried before the loop: ``check_first_batch``.)
    """
    k = len(batches)
    optimizer.zero_grad()
    losses = []
    for i, batch in enumerate(batches):
        sync = model.no_sync() if i < k - 1 and hasattr(model, "no_sync") else nullcontext()
        with sync:
            with amp:
                if step_fn is not None:
                    loss = step_fn(model, batch)
                else:
                    inputs, targets = batch
                    loss = loss_fn(model(inputs), targets)  # type: ignore[misc]
            share = loss / k if k > 1 else loss
            (share if scaler is None else scaler.scale(share)).backward()
        losses.append(loss.detach())
    mean = losses[0] if k == 1 else torch.stack(losses).float().mean()
    if clip_grad_norm is not None:
        if scaler is not None:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    if scaler is None:
        optimizer.step()
        return StepOutcome(mean)
    scale = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    return StepOutcome(mean, skipped=scaler.get_scale() < scale)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: list,
    loss_fn: LossFn | None,
    step_fn: StepFn | None,
    amp: AbstractContextManager,
    accuracy: bool = False,
) -> tuple[float, float]:
    """Loss (and accuracy) on held-out batches, in eval mode and without gradients.

    loss = sum_b n_b * loss_b / sum_b n_b, with n_b the number of targets in batch b (every
    batch counts once with step_fn). accuracy = the share of argmax(outputs, dim=1) == targets;
    NaN unless asked for and the targets are integer class labels (NaN with step_fn too).
    The model is back in train mode afterwards.
    """
    model.eval()
    total_loss, count, correct = 0.0, 0, 0
    classify = accuracy and step_fn is None
    for batch in batches:
        with amp:
            if step_fn is not None:
                loss, n = step_fn(model, batch), 1
            else:
                inputs, targets = batch
                outputs = model(inputs)
                loss, n = loss_fn(outputs, targets), len(targets)  # type: ignore[misc]
        total_loss = total_loss + loss.float() * n
        count += n
        if classify:
            if not is_class_labels(targets) or outputs.ndim != 2:
                classify = False
            else:
                correct = correct + (outputs.argmax(dim=1) == targets).sum()
    model.train()
    loss_value = float(total_loss) / count
    return loss_value, (float(correct) / count if classify else math.nan)
