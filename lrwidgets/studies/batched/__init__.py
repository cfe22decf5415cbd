"""A speed-up for the studies, not part of the algorithm: train one model at many learning
rates at once, as a batched ensemble of copies of it.

What it is: ``fit_ensemble`` gives the numbers of one ``lrwidgets.training.fit`` per learning rate
and seed (the same weights, batches, dropout masks and updates; ``tests/test_ensemble.py``
compares them) several times faster, because a grid of small runs becomes one run of big
tensors. ``lrwidgets.studies.grid.train_at_lrs`` uses it when it can (``batching_obstacle``
says when not: a DataLoader, an optimizer other than SGD/Adam/AdamW, several param groups,
gradient clipping or accumulation, a model torch.func cannot batch) and falls back to the loop.
Why here and not in ``training/``: it holds a second implementation of SGD and Adam
(``rules.py``); a learner reading how one model trains should meet ``torch.optim`` first.

- ``rules.py``: SGD's and Adam's updates for M members at once
- ``members.py``: the members' parameters stacked, their outputs, losses and gradients (vmap)
- ``fit.py``: ``fit_ensemble`` and ``batching_obstacle``

How it works:

Training the same initial weights on the same batches at L learning rates is one computation
with an extra dimension: each parameter and buffer is stacked into a tensor of shape
(M, *shape), row m holding member m. With S seeds (each its own initial weights and batch
order) there are M = S x L members, seed-major: member k * L + i has seed k and rate i.
One step of ``fit_ensemble`` does, for all members at once,

    loss_m   = loss_fn(model(x_k; params_m, buffers_m), y_k)  torch.func.vmap over functional_call
    grads    = d(sum_m loss_m) / d params                     row m is d loss_m / d params_m
    params_m = the optimizer's update with lr_m[t], mu_m[t]   (``SGDRule``, ``AdamRule``)

Members share no weights, so the gradient of the sum gives each member its own gradient and a
member that blows up to inf/NaN leaves the others alone. As ``fit`` does with one model, a
member stops after the first step whose loss is not finite (that step is still taken): its
parameters and buffers stay as that step left them, and it records no more validation.

Dropout draws one mask per step for all members of a seed (vmap's ``randomness="same"``): the
mask ``fit`` draws for each of them, because ``fit`` reseeds torch's random stream with the seed
for every run. Each seed needs its own stream, so a model that draws random numbers trains one
seed after another; a model that draws none trains all seeds together.
BatchNorm's running statistics are buffers, stacked like the parameters, one set per member.
"""

from .fit import EnsembleRun, batching_obstacle, fit_ensemble

__all__ = ["EnsembleRun", "batching_obstacle", "fit_ensemble"]
