"""Each notebook's kernel: peak memory, torch threads, and the heavy libraries it imported.

Run by hand: ``python benchmarks/notebook_memory.py [notebooks/01_range_test.ipynb ...]``.

Every notebook runs top to bottom in a fresh kernel (nbclient, as nbval does); then one more cell
in that same kernel prints its peak resident memory (``VmHWM`` in ``/proc/self/status``; elsewhere
``ru_maxrss``), its private memory at the end (``RssAnon``), ``torch.get_num_threads()`` and
which of torch, scikit-learn, scipy, matplotlib and ipywidgets it imported. A kernel that
JupyterLab keeps after its tab closes holds about its peak; what the peak has beyond the private
part is mostly torch's library pages, read from disk and shared by every kernel of a pod.
The budget for a Binder pod is ``--limit`` MB per kernel (default 300).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

PROBE = """\
import json as _json, resource as _resource, sys as _sys
try:
    with open("/proc/self/status") as _f:
        _kb = [l.split() for l in _f if l.rstrip().endswith("kB")]
    _status = {name.rstrip(":"): int(value) // 1024 for name, value, _ in _kb}
except OSError:
    _status = {"VmHWM": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss // 1024}
_threads = _sys.modules["torch"].get_num_threads() if "torch" in _sys.modules else None
_heavy = ["torch", "sklearn", "scipy", "matplotlib", "ipywidgets"]
print(_json.dumps({"peak_mb": _status["VmHWM"], "anon_mb": _status.get("RssAnon"),
                   "torch_threads": _threads,
                   "imported": [m for m in _heavy if m in _sys.modules]}))
"""


def measure(path: Path, timeout: int, save: Path | None = None) -> dict:
    """Run ``path`` in a fresh kernel and return what the probe cell printed, plus seconds;
    write the executed notebook (with its outputs) into the folder ``save`` when given."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return {**json.loads(text.strip().splitlines()[-1]), "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--limit", type=int, default=300, help="MB per kernel")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--save", type=Path, help="write the executed notebooks to this folder")
    args = parser.parse_args()
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    print(
        f"{'notebook':28s} {'peak MB':>8s} {'anon MB':>8s} {'threads':>8s} {'seconds':>8s}"
        "  imported"
    )
    over = []
    for path in paths:
        row = measure(path, args.timeout, args.save)
        print(
            f"{path.name:28s} {row['peak_mb']:8d} {row['anon_mb']!s:>8s} "
            f"{row['torch_threads']!s:>8s} {row['seconds']:8.1f}  {', '.join(row['imported'])}",
            flush=True,
        )
        if row["peak_mb"] > args.limit:
            over.append(path.name)
    print(f"over {args.limit} MB: {', '.join(over) or 'none'}")


if __name__ == "__main__":
    main()
