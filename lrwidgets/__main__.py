"""The command line: run a range test on a built-in problem, or print a schedule's PyTorch code.

    python -m lrwidgets range-test --problem spirals --mode exp --num-iter 100 --plot curve.png
    python -m lrwidgets schedule one-cycle --total-steps 1000 --max-lr 0.1
    python -m lrwidgets schedule fastai-one-cycle --total-steps 1000 --max-lr 0.1

It uses the same layers as the widgets: ``training`` for the test, ``core`` for the schedules.
"""

from __future__ import annotations

import argparse
import sys

from .core import SWEEP_MODES, constant, cyclic, fastai_one_cycle, one_cycle
from .problems import PROBLEMS, get_problem
from .training import OPTIMIZERS, make_optimizer, range_test


def run_range_test(args: argparse.Namespace) -> None:
    problem = get_problem(args.problem)
    model = problem.make_model(args.seed)
    result = range_test(
        model,
        problem.train_data,
        problem.loss_fn,
        make_optimizer(args.optimizer, model.parameters()),
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_iter=args.num_iter,
        mode=args.mode,
        beta=args.beta,
        diverge_th=args.diverge_th,
        batch_size=args.batch_size or problem.batch_size,
        seed=args.seed,
        progress=False,
        accumulation_steps=args.accumulation_steps,
        clip_grad_norm=args.clip_grad_norm,
    )
    print(f"{args.problem}: {len(result.lrs)} steps, stop reason: {result.stop_reason or 'none'}")
    for method, lr in result.suggestions().items():
        print(f"  {method:>8}: {lr:.3g}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = result.plot()
        ax.figure.savefig(args.plot, dpi=100)
        print(f"  curve saved to {args.plot}")


def run_schedule(args: argparse.Namespace) -> None:
    if args.policy == "one-cycle":
        schedule = one_cycle(args.total_steps, args.max_lr)
    elif args.policy == "fastai-one-cycle":
        schedule = fastai_one_cycle(args.total_steps, args.max_lr)
    elif args.policy == "constant":
        schedule = constant(args.total_steps, args.max_lr)
    else:
        mode = args.policy.removeprefix("cyclic-")
        schedule = cyclic(
            args.total_steps, args.base_lr, args.max_lr, step_size_up=args.step_size_up, mode=mode
        )
    print(schedule.to_code(), end="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lrwidgets", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    test = commands.add_parser("range-test", help="run a range test on a built-in problem")
    test.add_argument("--problem", choices=PROBLEMS, default="spirals")
    test.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd_momentum")
    test.add_argument("--mode", choices=SWEEP_MODES, default="exp")
    test.add_argument("--start-lr", type=float, default=1e-7)
    test.add_argument("--end-lr", type=float, default=10.0)
    test.add_argument("--num-iter", type=int, default=100)
    test.add_argument("--beta", type=float, default=0.98)
    test.add_argument("--diverge-th", type=float, default=4.0)
    test.add_argument("--batch-size", type=int, default=None)
    test.add_argument("--seed", type=int, default=0)
    test.add_argument("--accumulation-steps", type=int, default=1)
    test.add_argument("--clip-grad-norm", type=float, default=None)
    test.add_argument("--plot", help="save the curve to this image file")
    test.set_defaults(run=run_range_test)

    sched = commands.add_parser("schedule", help="print PyTorch code for a schedule")
    policies = ["one-cycle", "fastai-one-cycle", "constant"]
    policies += ["cyclic-" + m for m in ("triangular", "triangular2")]
    sched.add_argument("policy", choices=policies)
    sched.add_argument("--total-steps", type=int, required=True)
    sched.add_argument("--max-lr", type=float, required=True)
    sched.add_argument("--base-lr", type=float, default=1e-4)
    sched.add_argument("--step-size-up", type=int, default=2000)
    sched.set_defaults(run=run_schedule)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TypeError) as error:  # bad input: one readable line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
