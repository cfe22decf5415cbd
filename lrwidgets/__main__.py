"""The command line: run a range test on a course problem, or print a schedule's PyTorch code.

    lrwidgets range-test --problem digits-mlp --mode exp --num-iter 100 --plot curve.png
    lrwidgets range-test --problem mnist-mlp --path data/ --num-iter 200
    lrwidgets range-test --problem charlm-transformer --plot curve.png   (with its own AdamW)
    lrwidgets schedule one-cycle --total-steps 1000 --max-lr 0.1 --pct-start 0.25
    lrwidgets schedule cyclic-exp_range --total-steps 1000 --max-lr 0.1 --gamma 0.998
    lrwidgets schedule fastai-one-cycle --total-steps 1000 --max-lr 0.1
    lrwidgets schedule warmup-cosine --total-steps 3000 --max-lr 1e-3 --warmup-share 0.1
    lrwidgets findings --notebook 05 --seeds 1000:1016 --json found.json
    lrwidgets course [DIR] [--no-browser] [-- JUPYTERLAB ARGUMENTS]
    lrwidgets dashboard [--port N] [--no-browser] [-- VOILA ARGUMENTS]

(``python -m lrwidgets ...`` is the same.) Every option's help shows its default. Bad input
is one line on stderr and exit status 2, checked before the run (``--plot``'s folder, format
and write access too, not after the whole test). It uses the same layers as the widgets:
``training`` for the test, ``core`` for the schedules.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .classroom import open_course, serve_dashboard
from .core import SWEEP_MODES, constant, cyclic, fastai_one_cycle, one_cycle
from .core.checks import check_int
from .core.defaults import (
    BETA,
    CYCLIC_BASE_LR,
    CYCLIC_GAMMA,
    CYCLIC_MOMENTA,
    DIVERGE_TH,
    END_LR,
    NUM_ITER,
    ONE_CYCLE_DIV_FACTOR,
    ONE_CYCLE_FINAL_DIV_FACTOR,
    ONE_CYCLE_MOMENTA,
    ONE_CYCLE_PCT_START,
    OPTIMIZER,
    PROBLEM,
    START_LR,
    SWEEP_MODE,
    WARMUP_SHARE,
)
from .core.schedules import ANNEAL_STRATEGIES, CYCLIC_MODES, quarter_cycle
from .core.warmup import warmup_share_cosine
from .findings import notebook_module, notebooks, parse_seeds, report
from .problems import LOCAL_PROBLEMS, OWN_OPTIMIZER, PROBLEMS, get_problem
from .training import OPTIMIZERS, range_test


def check_plot_path(path: str) -> None:
    """``--plot`` must name an image format matplotlib writes, a file (not a folder) that can be
    written, in a folder that exists."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise ValueError(
            f"--plot must end in an image format: {', '.join('.' + f for f in formats)}; "
            f"got {path!r}"
        )
    if not Path(path).parent.is_dir():
        raise ValueError(f"--plot: the folder {str(Path(path).parent)!r} does not exist")
    if Path(path).is_dir():
        raise ValueError(f"--plot must name a file, got the folder {path!r}")
    existed = Path(path).exists()
    try:
        open(path, "ab").close()  # can the file be written? (appends nothing)
    except OSError as error:
        raise ValueError(f"--plot: cannot write {path!r} ({error.strerror})") from None
    if not existed:
        Path(path).unlink()


def run_range_test(args: argparse.Namespace) -> None:
    if args.batch_size is not None:
        check_int("--batch-size", args.batch_size, minimum=1)
    if args.plot:
        check_plot_path(args.plot)
    if args.path is not None and args.problem not in LOCAL_PROBLEMS:
        raise ValueError(f"--path is for the problems {', '.join(LOCAL_PROBLEMS)}")
    options = {"path": args.path} if args.problem in LOCAL_PROBLEMS else {}
    problem = get_problem(args.problem, **options)
    model = problem.make_model(args.seed)
    result = range_test(
        model,
        problem.train_data,
        problem.loss_fn,
        problem.optimizer_for(model, args.optimizer),
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_iter=args.num_iter,
        mode=args.mode,
        endpoint=args.endpoint,
        beta=args.beta,
        diverge_th=args.diverge_th,
        batch_size=problem.batch_size if args.batch_size is None else args.batch_size,
        seed=args.seed,
        progress=False,
        accumulation_steps=args.accumulation_steps,
        clip_grad_norm=args.clip_grad_norm,
    )
    print(f"{args.problem}: {len(result.lrs)} steps, stop reason: {result.stop_reason or 'none'}")
    if problem.optimizer and args.optimizer in (None, OWN_OPTIMIZER):
        print(f"  optimizer: the problem's own, {problem.optimizer}")
    caveats = result.caveats()
    for method, lr in result.suggestions(warn=False).items():
        print(
            f"  {method:>8}: {lr:.3g}"
            + (f" (not firm: {caveats[method]})" if method in caveats else "")
        )
    why = result.unreliable()
    if why:
        print(f"  unreliable: {why}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = result.plot()
        ax.figure.savefig(args.plot, dpi=100)
        print(f"  curve saved to {args.plot}")


def run_schedule(args: argparse.Namespace) -> None:
    momenta = {
        name: value
        for name, value in (
            ("base_momentum", args.base_momentum),
            ("max_momentum", args.max_momentum),
        )
        if value is not None
    }
    if args.gamma is not None and args.policy != "cyclic-exp_range":
        raise ValueError(f"--gamma is for cyclic-exp_range only; {args.policy} has no gamma")
    if args.policy == "one-cycle":
        schedule = one_cycle(
            args.total_steps,
            args.max_lr,
            pct_start=args.pct_start,
            anneal_strategy=args.anneal_strategy,
            div_factor=args.div_factor,
            final_div_factor=args.final_div_factor,
            three_phase=args.three_phase,
            **momenta,
        )
    elif args.policy == "fastai-one-cycle":
        schedule = fastai_one_cycle(args.total_steps, args.max_lr)
    elif args.policy == "constant":
        schedule = constant(args.total_steps, args.max_lr)
    elif args.policy == "warmup-cosine":
        schedule = warmup_share_cosine(args.total_steps, args.max_lr, args.warmup_share)
    else:
        up = args.step_size_up
        schedule = cyclic(
            args.total_steps,
            args.base_lr,
            args.max_lr,
            step_size_up=quarter_cycle(args.total_steps) if up is None else up,
            step_size_down=args.step_size_down,
            mode=args.policy.removeprefix("cyclic-"),
            gamma=CYCLIC_GAMMA if args.gamma is None else args.gamma,
            **momenta,
        )
    print(schedule.to_code(), end="")


def run_findings(args: argparse.Namespace) -> int:
    """Recompute the course's findings on the seeds given and print (and write) the report.

    Exit status 0 even when a finding does not hold: it is a report, not a test."""
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    if args.notebook is not None:
        notebook_module(args.notebook)  # a bad notebook is refused before any training
    if args.json is not None:
        folder = Path(args.json).resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise ValueError(f"--json: cannot write to the folder {str(folder)!r}")
    found = report(args.notebook, seeds)
    print(found)
    if args.json is not None:
        Path(args.json).write_text(json.dumps(found.as_json(), indent=1, allow_nan=False))
        print(f"(written to {args.json})")
    return 0


def run_course(args: argparse.Namespace) -> int:
    return open_course(args.dir, open_browser=not args.no_browser, extra=args.extra)


def run_dashboard(args: argparse.Namespace) -> int:
    return serve_dashboard(args.port, open_browser=not args.no_browser, extra=args.extra)


def program_name() -> str:
    """``python -m lrwidgets`` when run so, ``lrwidgets`` as the installed command."""
    return "python -m lrwidgets" if Path(sys.argv[0]).name == "__main__.py" else "lrwidgets"


class ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Help that ends with each option's default; an option without a fixed default (None)
    says in its own help what happens instead."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.required:
            return action.help
        return super()._get_help_string(action)


def build_parser(prog: str = "lrwidgets") -> argparse.ArgumentParser:
    shown = ShowDefaults
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n")[0], formatter_class=shown
    )
    commands = parser.add_subparsers(dest="command", required=True)

    test = commands.add_parser(
        "range-test", help="run a range test on a course problem", formatter_class=shown
    )
    test.add_argument(
        "--problem", choices=PROBLEMS + LOCAL_PROBLEMS, default=PROBLEM, help="the problem"
    )
    test.add_argument(
        "--path", help="folder with MNIST-format files, for mnist-mlp and mnist-cnn (no download)"
    )
    test.add_argument(
        "--optimizer",
        choices=(OWN_OPTIMIZER, *OPTIMIZERS),
        default=None,
        help=f"optimizer; None: the problem's own ({OWN_OPTIMIZER!r}: AdamW for "
        f"charlm-transformer, two param groups for digits-finetune), else {OPTIMIZER}",
    )
    test.add_argument("--mode", choices=SWEEP_MODES, default=SWEEP_MODE, help="how the lr grows")
    test.add_argument("--start-lr", type=float, default=START_LR, help="first learning rate")
    test.add_argument("--end-lr", type=float, default=END_LR, help="last learning rate")
    test.add_argument("--num-iter", type=int, default=NUM_ITER, help="steps (one lr each)")
    test.add_argument(
        "--endpoint",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="end-lr is the last lr (torch-lr-finder's sweep); --no-endpoint: one short (fastai's)",
    )
    test.add_argument("--beta", type=float, default=BETA, help="EWMA smoothing of the loss")
    test.add_argument(
        "--diverge-th",
        type=float,
        default=DIVERGE_TH,
        help="stop when the smoothed loss passes this many times its best",
    )
    test.add_argument(
        "--batch-size", type=int, default=None, help="batch size (default: the problem's own)"
    )
    test.add_argument("--seed", type=int, default=0, help="model weights and batch order")
    test.add_argument(
        "--accumulation-steps",
        type=int,
        default=1,
        help="batches per optimizer step (gradient accumulation)",
    )
    test.add_argument(
        "--clip-grad-norm", type=float, default=None, help="clip the global gradient norm to this"
    )
    test.add_argument("--plot", help="save the curve to this image file (.png, .pdf, .svg, ...)")
    test.set_defaults(run=run_range_test)

    sched = commands.add_parser(
        "schedule", help="print PyTorch code for a schedule", formatter_class=shown
    )
    policies = ["one-cycle", "fastai-one-cycle", "constant", "warmup-cosine"]
    policies += ["cyclic-" + m for m in CYCLIC_MODES]
    sched.add_argument("policy", choices=policies, help="the schedule")
    sched.add_argument("--total-steps", type=int, required=True, help="optimizer steps")
    sched.add_argument("--max-lr", type=float, required=True, help="peak lr (constant: the lr)")
    sched.add_argument("--base-lr", type=float, default=CYCLIC_BASE_LR, help="cyclic: lowest lr")
    sched.add_argument(
        "--step-size-up",
        type=int,
        default=None,
        help="cyclic: steps from base_lr to max_lr (default: a quarter of --total-steps)",
    )
    sched.add_argument(
        "--step-size-down",
        type=int,
        default=None,
        help="cyclic: steps back (default: as many as up)",
    )
    sched.add_argument(
        "--gamma",
        type=float,
        default=None,
        help=f"cyclic-exp_range only: height x gamma per step (default: {CYCLIC_GAMMA})",
    )
    sched.add_argument(
        "--warmup-share", type=float, default=WARMUP_SHARE, help="warmup-cosine: share warming up"
    )
    sched.add_argument(
        "--pct-start", type=float, default=ONE_CYCLE_PCT_START, help="one-cycle: share warming up"
    )
    sched.add_argument(
        "--anneal-strategy", choices=ANNEAL_STRATEGIES, default="cos", help="one-cycle: curve"
    )
    sched.add_argument(
        "--div-factor",
        type=float,
        default=ONE_CYCLE_DIV_FACTOR,
        help="one-cycle: first lr = max_lr / this",
    )
    sched.add_argument(
        "--final-div-factor",
        type=float,
        default=ONE_CYCLE_FINAL_DIV_FACTOR,
        help="one-cycle: last lr = first / this",
    )
    sched.add_argument(
        "--three-phase", action="store_true", help="one-cycle: come back down before annealing"
    )
    sched.add_argument(
        "--base-momentum",
        type=float,
        default=None,
        help=f"lowest momentum (default: PyTorch's, {ONE_CYCLE_MOMENTA[0]} one-cycle, "
        f"{CYCLIC_MOMENTA[0]} cyclic)",
    )
    sched.add_argument(
        "--max-momentum",
        type=float,
        default=None,
        help=f"highest momentum (default: PyTorch's, {ONE_CYCLE_MOMENTA[1]} one-cycle, "
        f"{CYCLIC_MOMENTA[1]} cyclic)",
    )
    sched.set_defaults(run=run_schedule)

    found = commands.add_parser(
        "findings",
        help="recompute the course's findings on any seeds, with their intervals",
        formatter_class=shown,
    )
    found.add_argument(
        "--notebook",
        default=None,
        help=f"only this notebook's findings (one of {', '.join(notebooks())}; default: all)",
    )
    found.add_argument(
        "--seeds",
        default=None,
        metavar="A:B",
        help="the seeds A..B-1 (default: each notebook's own seeds)",
    )
    found.add_argument("--json", default=None, metavar="FILE", help="also write them as JSON")
    found.set_defaults(run=run_findings)

    course = commands.add_parser(
        "course",
        help="copy the notebooks to DIR and open JupyterLab",
        description="Copy the notebooks to DIR and open JupyterLab there (with --allow-root "
        "when run as root); arguments after -- go to JupyterLab, e.g. -- --port=9000",
        formatter_class=shown,
    )
    course.add_argument(
        "dir", nargs="?", default="lrwidgets-course", metavar="DIR", help="folder for the course"
    )
    course.add_argument("--no-browser", action="store_true", help="start JupyterLab only")
    course.set_defaults(run=run_course)

    dashboard = commands.add_parser(
        "dashboard",
        help="serve the code-free dashboard with Voila",
        description="Serve the code-free dashboard with Voila; a closed page's kernel is shut "
        "down within a minute; arguments after -- go to Voila",
        formatter_class=shown,
    )
    dashboard.add_argument("--port", type=int, default=8866, help="port to serve on")
    dashboard.add_argument("--no-browser", action="store_true", help="serve it only")
    dashboard.set_defaults(run=run_dashboard)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []  # JupyterLab's or Voila's
    args = build_parser(program_name()).parse_args(argv[: len(argv) - len(extra) - bool(extra)])
    if extra and args.command not in ("course", "dashboard"):
        print(f"error: arguments after -- go to course or dashboard, got {extra}", file=sys.stderr)
        return 2
    args.extra = extra
    try:
        code = args.run(args)
    except (ValueError, TypeError, FileNotFoundError) as error:  # bad input: one line
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
