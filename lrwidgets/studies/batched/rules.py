"""The optimizer updates of the batched ensemble, written functionally: one update for M
members at once, each with its own learning rate (and momentum), equal to what ``torch.optim``
does for one model (``tests/test_ensemble.py`` compares them).

This is a second implementation of SGD and Adam, kept here in the studies' speed-up and not in
``training/``: a learner reading how a model trains should meet ``torch.optim`` first.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ...core.defaults import SGD_MOMENTUM


def per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(M,) values in ``like``'s dtype, shaped to broadcast against the stacked (M, ...) ``like``.

    Schedules arrive in float64 (torch.optim computes its scalars in Python floats) and meet the
    parameters in their own dtype, as torch.optim's scalars do.
    """
    return values.to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


@dataclass(frozen=True)
class SGDRule:
    """``torch.optim.SGD``'s update, member m with its own lr and momentum mu at step t:

    g = -grad if maximize else grad;  g = g + weight_decay * p
    b = g at the first step, else b = mu * b + (1 - dampening) * g
    g = g + mu * b (nesterov) or g = b        (when mu != 0)
    p = p - lr * g
    """

    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    maximize: bool = False

    def step(self, params, grads, state: dict, lr: torch.Tensor, mu: torch.Tensor | None) -> None:
        for name, p, g in zip(params, params.values(), grads, strict=True):
            if g is None:
                continue
            g = -g if self.maximize else g
            if self.weight_decay != 0:
                g = g.add(p, alpha=self.weight_decay)
            if mu is not None or self.momentum != 0:
                m = self.momentum if mu is None else per_member(mu, p)
                buf = state.get(name)
                if buf is None:
                    buf = state[name] = g.clone()
                else:
                    buf.mul_(m).add_(g, alpha=1 - self.dampening)
                g = g.add(buf * m) if self.nesterov else buf
            p.addcmul_(g, per_member(lr, p), value=-1)


@dataclass(frozen=True)
class AdamRule:
    """``torch.optim.Adam``'s (and ``AdamW``'s) update at step t = 1, 2, ..., beta1 per member:

    g = -grad if maximize else grad
    p = p * (1 - lr * weight_decay) (decoupled, AdamW)  or  g = g + weight_decay * p (Adam)
    m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    maximize: bool = False

    def step(self, params, grads, state: dict, lr: torch.Tensor, mu: torch.Tensor | None) -> None:
        t = state["step"] = state.get("step", 0) + 1
        # the scalars torch computes in Python floats, here per member in float64
        beta1 = torch.full_like(lr, self.beta1, dtype=torch.float64) if mu is None else mu
        step_size = lr / (1 - beta1**t)
        bias2_sqrt = (1 - self.beta2**t) ** 0.5
        for name, p, g in zip(params, params.values(), grads, strict=True):
            if g is None:
                continue
            g = -g if self.maximize else g
            if self.weight_decay != 0:
                if self.decoupled_weight_decay:
                    p.mul_(1 - per_member(lr, p) * self.weight_decay)
                else:
                    g = g.add(p, alpha=self.weight_decay)
            m, v = state.get(name, (torch.zeros_like(p), torch.zeros_like(p)))
            state[name] = m, v
            m.lerp_(g, per_member(1 - beta1, p))
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = (v.sqrt() / bias2_sqrt).add_(self.eps)
            p.sub_(per_member(step_size, p) * (m / denom))


UpdateRule = SGDRule | AdamRule


def update_rule(optimizer: torch.optim.Optimizer | None, model: nn.Module) -> UpdateRule:
    """The functional update equal to ``optimizer``'s (None: SGD with momentum 0.9, fit's default).

    Raises ValueError saying why when there is none: another optimizer class, several param
    groups, a group that is not all of the model's trainable parameters, or amsgrad.
    """
    if optimizer is None:
        return SGDRule(momentum=SGD_MOMENTUM)
    kind = type(optimizer)
    if kind not in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW):
        raise ValueError(f"the batched grid knows SGD, Adam and AdamW, not {kind.__name__}")
    if len(optimizer.param_groups) != 1:
        raise ValueError(
            f"the optimizer has {len(optimizer.param_groups)} param groups; the batched grid "
            "needs one group holding all of the model's parameters"
        )
    group = optimizer.param_groups[0]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    if {id(p) for p in group["params"]} != trainable:
        raise ValueError(
            "the optimizer's param group is not exactly the model's trainable parameters"
        )
    if kind is torch.optim.SGD:
        return SGDRule(
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
    if group["amsgrad"]:
        raise ValueError("the batched grid has no amsgrad variant of Adam")
    return AdamRule(
        beta1=group["betas"][0],
        beta2=group["betas"][1],
        eps=group["eps"],
        weight_decay=group["weight_decay"],
        decoupled_weight_decay=group.get("decoupled_weight_decay", kind is torch.optim.AdamW),
        maximize=group["maximize"],
    )
