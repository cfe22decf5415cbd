"""Loaders for public data sets that you already have on disk. Nothing is ever downloaded.

MNIST, Fashion-MNIST and KMNIST ship in the IDX format (torchvision keeps the same files
under ``<root>/<Name>/raw/``). An IDX file is a 4-byte magic number, then the size of each
dimension, then the values, all big-endian:

    magic = 0x00 0x00 <type code> <number of dimensions>
    dims  = one unsigned 32-bit integer per dimension
    data  = prod(dims) values of the type (0x08 = unsigned byte for images and labels)

Files may be gzip-compressed (``.gz``), as they are published.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from ..core.checks import check_choice, check_int

# IDX type code -> big-endian numpy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_SPLITS = ("train", "t10k")
GZIP_MAGIC = b"\x1f\x8b"
MNIST_CLASSES = 10  # MNIST, Fashion-MNIST and KMNIST


def read_idx(file: str | Path) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into a numpy array of its shape.

    The header is read first; then exactly the bytes its shape needs, and one more to see that
    nothing follows. A gzip file is decompressed as it is read, so one that inflates far beyond
    its header's shape is refused without ever holding more than the header promised.
    """
    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"no IDX file at {str(file)!r}")
    with open(file, "rb") as plain:
        compressed = plain.read(2) == GZIP_MAGIC
    with gzip.open(file, "rb") if compressed else open(file, "rb") as stream:
        magic = stream.read(4)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
            raise ValueError(
                f"{file.name} is not an IDX file: its magic number {magic.hex()!r} should be "
                f"00 00 <type code in {sorted(IDX_DTYPES)}> <number of dimensions>"
            )
        dtype, ndim = IDX_DTYPES[magic[2]], magic[3]
        dims = stream.read(4 * ndim)
        shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4", count=len(dims) // 4))
        needed = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        body = _read_at_most(stream, needed + 1)  # one byte more: anything after the data?
    if len(shape) != ndim or len(body) != needed:
        got = "more" if len(body) > needed else f"{4 + len(dims) + len(body)} bytes"
        raise ValueError(
            f"{file.name} is truncated or too long: shape {shape} needs "
            f"{4 + 4 * ndim + needed} bytes{' inflated' if compressed else ''}, the file has {got}"
        )
    data = np.frombuffer(bytes(body), dtype=dtype).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _read_at_most(stream: BinaryIO, limit: int, chunk: int = 1 << 20) -> bytearray:
    """Up to ``limit`` bytes of ``stream``, read a chunk at a time (never more than it holds)."""
    body = bytearray()
    while len(body) < limit:
        part = stream.read(min(chunk, limit - len(body)))
        if not part:
            break
        body += part
    return body


def find_idx_file(path: str | Path, stem: str) -> Path:
    """Find ``stem`` or ``stem.gz`` in ``path``, in ``path/raw`` or in ``path/*/raw``.

    The last two are torchvision's layouts (``root/MNIST/raw/``, ``root/FashionMNIST/raw/``).
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"path must be a folder holding IDX files, got {str(path)!r}")
    folders = [root, root / "raw", *sorted(root.glob("*/raw"))]
    for folder in folders:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(
        f"no {stem}[.gz] in {str(root)!r} (looked in the folder, raw/ and */raw/); "
        "lrwidgets never downloads data: put the MNIST-format files there first"
    )


def load_idx_images(
    path: str | Path, split: str = "train", classes: int = MNIST_CLASSES
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of one split of an MNIST-format data set in the folder ``path``.

    Reads ``{split}-images-idx3-ubyte`` and ``{split}-labels-idx1-ubyte`` (optionally ``.gz``),
    split "train" or "t10k". Returns X, float32 of shape (N, 1, H, W) scaled to [0, 1]
    (pixel / 255), and y, int64 of shape (N,). A label outside 0..classes-1 is refused (one
    damaged byte would otherwise make a 251-class problem).
    """
    check_choice("split", split, IDX_SPLITS)
    classes = check_int("classes", classes, minimum=2)
    images = read_idx(find_idx_file(path, f"{split}-images-idx3-ubyte"))
    labels = read_idx(find_idx_file(path, f"{split}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(
            f"expected images of shape (N, H, W) and labels of shape (N,), "
            f"got {images.shape} and {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels in {str(path)!r}")
    outside = np.flatnonzero((labels < 0) | (labels >= classes))
    if len(outside):
        raise ValueError(
            f"the labels in {str(path)!r} must be classes 0..{classes - 1} (MNIST, Fashion-MNIST "
            f"and KMNIST have {classes}), got {labels[outside[0]]} at index {outside[0]} "
            f"({len(outside)} label(s) outside): a damaged file? (classes= sets another count)"
        )
    X = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return X, y


DIGITS_CSV = "datasets/data/digits.csv.gz"  # inside the scikit-learn package


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 handwritten digits as ``(images, target)``: float64 (1797, 8, 8)
    and int64 (1797,), equal to ``sklearn.datasets.load_digits()``'s ``images`` and ``target``.

    Read straight from the CSV file that scikit-learn ships (one image per row: 64 pixels, then
    the label), without importing scikit-learn: that import (with scipy) costs a notebook
    kernel about 70 MB. Falls back to ``load_digits`` if the file is not where it used to be.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError("the digits problems need scikit-learn: pip install scikit-learn")
    for folder in spec.submodule_search_locations or []:
        csv = Path(folder) / DIGITS_CSV
        if csv.is_file():
            data = np.loadtxt(csv, delimiter=",")
            return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target.astype(np.int64)
