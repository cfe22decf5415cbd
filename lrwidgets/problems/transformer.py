"""A character-level language model: a small decoder-only transformer (GPT) on Python's own
source code, the text every machine that runs this package already has.

The text: the source of a fixed list of standard-library modules (``CORPUS_MODULES``, read with
``inspect.getsource`` at run time, nothing downloaded), joined in that order. Its first
``1 - val_fraction`` is for training, the rest for validation: a split by position, so that the
validation text is code the model has never seen. Each split is cut into windows of
``context + 1`` characters, one every ``context`` characters: X = the first ``context``, y = the
same shifted by one, the character that follows each position. The vocabulary is every
character that occurs in the text (96: letters, digits, punctuation, space, newline).
The text is that of the Python running the code, so its exact length (and the curves) can
differ a little from one Python version to another.

The model (Radford et al. 2019, GPT-2; Karpathy's nanoGPT), for a window of T characters:

    x   = token_embedding[chars] + position_embedding[0..T-1]        (T, width)
    x   = x + attention(layer_norm(x))       \\  one block, ``layers`` times
    x   = x + mlp(layer_norm(x))             /  (pre-LayerNorm: the norm inside the branch)
    out = linear(layer_norm(x))                                      (T, vocabulary) logits

``attention`` is causal multi-head self-attention: with q, k, v = x W_q, x W_k, x W_v split into
``heads`` heads of size d = width / heads, each head computes softmax(q k^T / sqrt(d) + mask) v
where the mask is -inf above the diagonal, so position t sees positions 0..t only. ``mlp`` is
linear(width -> 4 width), GELU, linear(4 width -> width). The loss is the cross-entropy of each
next character (``PerCharacterCrossEntropy``): a model that knows nothing scores log(96) = 4.56
nats (a little more at the start, with random weights); the characters' frequencies alone get
3.11, the previous character 2.37. With the defaults (2 layers, width 64, 4 heads, context 64)
the model has about 117 thousand parameters. No dropout: every seed trains the same way on
every run, and the batched grid can train all seeds at once.

The optimizer that goes with it (``make_optimizer``) is AdamW with weight decay 0.1 and
betas (0.9, 0.95) (GPT-3's and nanoGPT's values), and the schedule (``make_schedule``) a linear
warm-up over the first tenth of the steps from a hundredth of the peak, then a cosine to zero
(``lrwidgets.core.warmup_share_cosine``). nanoGPT exempts biases, LayerNorms and embeddings
from the weight decay with a second param group; here one group holds all parameters, so that
the batched grid (one param group) can train it.
"""

from __future__ import annotations

import importlib
import inspect
import math
from functools import lru_cache, partial

import torch
from torch import nn
from torch.nn import functional as F

from ..core import warmup_share_cosine
from ..core.checks import check_int, check_open_unit
from .base import Problem, Tensors, by_seed

# Pure-Python modules of every CPython, whose source is plain ASCII.
CORPUS_MODULES = (
    "textwrap",
    "string",
    "bisect",
    "colorsys",
    "fnmatch",
    "glob",
    "copy",
    "abc",
    "numbers",
    "operator",
    "queue",
    "sched",
    "contextlib",
    "random",
)
ADAMW = dict(lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)  # the optimizer's own settings


@lru_cache(maxsize=4)
def stdlib_text(modules: tuple[str, ...] = CORPUS_MODULES) -> str:
    """The source code of ``modules`` (standard-library module names), joined in that order."""
    parts = []
    for name in modules:
        try:
            parts.append(inspect.getsource(importlib.import_module(name)))
        except (ImportError, OSError, TypeError) as error:
            raise ValueError(
                f"cannot read the source of the module {name!r} ({error}); modules must name "
                "standard-library modules written in Python, e.g. the default CORPUS_MODULES"
            ) from error
    return "\n".join(parts)


def windows(codes: torch.Tensor, context: int) -> Tensors:
    """X[i] = codes[i c : i c + c], y[i] = codes[i c + 1 : i c + c + 1] for c = ``context``."""
    n = (len(codes) - 1) // context
    X = codes[: n * context].view(n, context)
    y = codes[1 : n * context + 1].view(n, context)
    return X.clone(), y.clone()


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t attends to positions 0..t only."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // self.heads)  # (B, heads, T, T)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(B, T, C)
        return self.proj(out)


class Block(nn.Module):
    """x + attention(LN(x)), then x + MLP(LN(x)): a pre-LayerNorm transformer block."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attention = CausalSelfAttention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class CharTransformer(nn.Module):
    """A decoder-only transformer: (B, T) character codes in, (B, T, vocabulary) logits out.

    Weights start as in GPT-2 (normal with std 0.02, biases zero, LayerNorms at (1, 0)), except
    the output layer, which keeps PyTorch's default (uniform in +-1/sqrt(width), 4x larger):
    with GPT-2's 0.02 there, the logits cannot move far until the lr is large, and the range
    test's curve, smoothed, barely falls to 0.82 of its start before it blows up (0.73-0.78 so).
    """

    def __init__(self, vocabulary: int, context: int, width: int, layers: int, heads: int):
        super().__init__()
        self.context = context
        self.token = nn.Embedding(vocabulary, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.Sequential(*(Block(width, heads) for _ in range(layers)))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocabulary)
        for module in self.modules():
            if module is self.head:
                continue
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        length = chars.shape[-1]
        if length > self.context:
            raise ValueError(f"the model reads at most {self.context} characters, got {length}")
        x = self.token(chars) + self.position(torch.arange(length, device=chars.device))
        return self.head(self.ln(self.blocks(x)))


class PerCharacterCrossEntropy(nn.Module):
    """The mean over every position of every window of -log p(the next character):
    ``cross_entropy`` on (B, T, V) logits and (B, T) targets, flattened to (B T, V) and (B T)."""

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, -2), targets.flatten())


def adamw(model: nn.Module) -> torch.optim.AdamW:
    """The transformer's optimizer: AdamW over all parameters with ``ADAMW``'s settings."""
    return torch.optim.AdamW(model.parameters(), **ADAMW)


def charlm(
    *,
    modules: tuple[str, ...] = CORPUS_MODULES,
    context: int = 64,
    width: int = 64,
    layers: int = 2,
    heads: int = 4,
    val_fraction: float = 0.1,
    batch_size: int = 32,
) -> Problem:
    """``charlm-transformer``: next-character prediction on Python's standard-library source
    with a small GPT (see the module): 2 layers, width 64, 4 heads, context 64 by default,
    about 117 thousand parameters, trained with AdamW (``problem.make_optimizer``).

    With the default modules the text has about 167 thousand characters: about 2,350 windows of
    64 to train on (73 steps per epoch at batch size 32) and 260 to validate on.
    """
    modules = tuple(modules)
    context = check_int("context", context, minimum=1)
    width = check_int("width", width, minimum=1)
    layers = check_int("layers", layers, minimum=1)
    heads = check_int("heads", heads, minimum=1)
    if width % heads:
        raise ValueError(f"width must be a multiple of heads, got width={width}, heads={heads}")
    val_fraction = check_open_unit("val_fraction", val_fraction)
    batch_size = check_int("batch_size", batch_size, minimum=1)

    text = stdlib_text(modules)
    vocabulary = sorted(set(text))
    index = {char: i for i, char in enumerate(vocabulary)}
    codes = torch.tensor([index[char] for char in text], dtype=torch.int64)
    cut = round((1 - val_fraction) * len(codes))
    train, val = windows(codes[:cut], context), windows(codes[cut:], context)
    if len(train[0]) == 0 or len(val[0]) == 0:
        raise ValueError(
            f"{len(text)} characters leave no window of context={context} for training or "
            f"validation (val_fraction={val_fraction!r}); use more modules or a shorter context"
        )
    build = partial(CharTransformer, len(vocabulary), context, width, layers, heads)
    make_model = by_seed(build)
    n_params = sum(p.numel() for p in make_model(0).parameters())
    return Problem(
        name="charlm-transformer",
        description=(
            f"next character of Python's own source ({len(modules)} standard-library modules, "
            f"{len(text):,} characters, {len(vocabulary)} symbols); decoder-only transformer, "
            f"{layers} layers, width {width}, {heads} heads, context {context}, "
            f"{n_params:,} parameters; AdamW"
        ),
        make_model=make_model,
        train_data=train,
        val_data=val,
        loss_fn=PerCharacterCrossEntropy(),
        task="classification",
        batch_size=batch_size,
        extras={
            "vocabulary": "".join(vocabulary),
            "characters": len(text),
            "parameters": n_params,
            "modules": modules,
            "context": context,
        },
        make_optimizer=adamw,
        optimizer=f"AdamW(lr={ADAMW['lr']}, betas={ADAMW['betas']}, "
        f"weight_decay={ADAMW['weight_decay']})",
        make_schedule=warmup_share_cosine,
    )
