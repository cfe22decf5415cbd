"""Local-path loaders, tested on tiny IDX files written here (nothing is downloaded)."""

import gzip
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import torch

from lrwidgets.problems import get_problem
from lrwidgets.problems.datasets import (
    find_idx_file,
    load_digits_arrays,
    load_idx_images,
    read_idx,
)


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX encoding: 00 00 <type> <ndim>, big-endian uint32 dims, big-endian values."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, images, labels, split="train", compress=False):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for stem, data in [("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)]:
        raw = idx_bytes(data)
        (folder / f"{split}-{stem}{suffix}").write_bytes(gzip.compress(raw) if compress else raw)


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 8, 8), dtype=np.uint8)
    labels = (np.arange(12) % 3).astype(np.uint8)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_images_roundtrip(tmp_path, tiny, compress):
    images, labels = tiny
    write_mnist(tmp_path, images, labels, compress=compress)
    X, y = load_idx_images(tmp_path)
    assert X.shape == (12, 1, 8, 8)
    assert X.dtype == torch.float32
    assert y.dtype == torch.int64
    assert np.allclose(X[:, 0].numpy() * 255, images)
    assert y.tolist() == labels.tolist()


def test_torchvision_layout_and_t10k_split(tmp_path, tiny):
    images, labels = tiny
    write_mnist(tmp_path / "FashionMNIST" / "raw", images[:5], labels[:5], split="t10k")
    X, y = load_idx_images(tmp_path, split="t10k")
    assert len(X) == len(y) == 5


@pytest.mark.parametrize(
    ("array", "code"),
    [
        (np.arange(6, dtype=np.int16).reshape(2, 3) - 3, 0x0B),
        (np.linspace(-1, 1, 8, dtype=np.float32), 0x0D),
        (np.arange(24, dtype=np.int32).reshape(2, 3, 4) * 1000, 0x0C),
    ],
)
def test_read_idx_other_types(tmp_path, array, code):
    file = tmp_path / "data.idx"
    file.write_bytes(idx_bytes(array, code))
    out = read_idx(file)
    assert out.shape == array.shape
    assert np.array_equal(out, array)


def test_bad_magic_number_is_named(tmp_path):
    file = tmp_path / "train-images-idx3-ubyte"
    file.write_bytes(b"\x12\x34\x08\x03" + bytes(20))
    with pytest.raises(ValueError, match="not an IDX file.*magic number"):
        read_idx(file)


def test_truncated_file_is_named(tmp_path, tiny):
    file = tmp_path / "x"
    file.write_bytes(idx_bytes(tiny[0])[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(file)


def test_missing_files_and_folders(tmp_path, tiny):
    with pytest.raises(FileNotFoundError, match="must be a folder"):
        load_idx_images(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        find_idx_file(tmp_path, "train-images-idx3-ubyte")
    with pytest.raises(ValueError, match="split must be one of 'train', 't10k'"):
        load_idx_images(tmp_path, split="test")


def test_image_and_label_counts_must_agree(tmp_path, tiny):
    images, labels = tiny
    write_mnist(tmp_path, images, labels[:-1])
    with pytest.raises(ValueError, match="12 images but 11 labels"):
        load_idx_images(tmp_path)


@pytest.mark.parametrize("name", ["mnist-mlp", "mnist-cnn"])
def test_mnist_problem_from_a_local_folder(tmp_path, name):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = (np.arange(40) % 10).astype(np.uint8)
    write_mnist(tmp_path / "MNIST" / "raw", images, labels, compress=True)
    p = get_problem(name, path=tmp_path, val_fraction=0.25)
    X, y = p.train_data
    assert len(X) == 30
    assert len(p.val_data[0]) == 10
    out = p.make_model(0)(X)
    assert out.shape == (30, 10)
    assert torch.isfinite(p.loss_fn(out, y))
    limited = get_problem(name, path=tmp_path, limit=20)
    assert len(limited.train_data[0]) + len(limited.val_data[0]) == 20


def test_digits_read_from_the_file_equal_sklearns_load_digits():
    """The direct read of scikit-learn's CSV gives exactly load_digits()'s images and labels."""
    from sklearn.datasets import load_digits

    images, target = load_digits_arrays()
    bunch = load_digits()
    assert images.dtype == bunch.images.dtype and images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(target, bunch.target)


def test_digits_problem_imports_no_sklearn():
    code = (
        "import sys; from lrwidgets.problems import get_problem; get_problem('digits-mlp'); "
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "[]", run.stderr


def test_a_gzip_file_that_inflates_beyond_its_shape_is_refused_without_inflating_it(tmp_path):
    """A header for 2x2x2 bytes, then 64 MB of zeros (64 KB compressed): the reader stops one
    byte past what the header promised, so it never holds the 64 MB."""
    file = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(file, "wb") as out:
        out.write(idx_bytes(np.zeros((2, 2, 2), dtype=np.uint8)))
        for _ in range(64):
            out.write(bytes(1 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="truncated or too long: shape \\(2, 2, 2\\)"):
            read_idx(file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"read_idx held {peak / 2**20:.0f} MB"


def test_a_label_outside_the_ten_classes_is_refused(tmp_path, tiny):
    images, labels = tiny
    labels = labels.copy()
    labels[7] = 250  # one damaged byte: a 251-class problem if it were read as it is
    write_mnist(tmp_path, images, labels)
    with pytest.raises(ValueError, match="classes 0..9 .*got 250 at index 7"):
        load_idx_images(tmp_path)
    assert load_idx_images(tmp_path, classes=251)[1][7] == 250
