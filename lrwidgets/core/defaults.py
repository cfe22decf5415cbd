"""Every default the package teaches, written once; each line says where it comes from.

``range_test``, ``RangeTestResult``, the command line and the widgets import these, so a
default changed here changes everywhere.
"""

# The course's first problem: scikit-learn's digits with a small MLP, whose range-test curve
# clearly falls, then blows up (notebook 01; the spirals' curve is flat over 100 steps).
PROBLEM = "digits-mlp"

# The range test: fastai's ``Learner.lr_find`` and its ``AvgSmoothLoss`` (Gugger's blog post).
START_LR = 1e-7  # fastai lr_find(start_lr=1e-7): first lr of the sweep
END_LR = 10.0  # fastai lr_find(end_lr=10): last lr of the sweep
NUM_ITER = 100  # fastai lr_find(num_it=100): steps, one lr each
SWEEP_MODE = "exp"  # fastai's geometric sweep (Smith 2015 swept linearly: "linear")
BETA = 0.98  # fastai AvgSmoothLoss(beta=0.98): EWMA of the loss, debiased
DIVERGE_TH = 4.0  # fastai lr_find(stop_div=True): stop at 4x the best smoothed loss
SKIP_END = 5  # fastai lr_find drops the last 5 points before its rules (skip_start: num_iter // 10)
OPTIMIZER = "sgd_momentum"  # the optimizer when none is given (lrwidgets.training.make_optimizer)
SGD_MOMENTUM = 0.9  # SGD's momentum in that optimizer, the common choice (fastai's SGD: 0.9)
BATCH_SIZE = 64  # fastai DataLoaders(bs=64): rows per batch when a problem sets none
METHOD = "valley"  # fastai lr_find(suggest_funcs=(valley,)): the suggestion rule shown first

# The schedules: PyTorch's scheduler defaults, so that to_code() is exact; fastai's for its own.
ONE_CYCLE_PCT_START = 0.3  # torch OneCycleLR(pct_start=0.3): share of the steps warming up
ONE_CYCLE_DIV_FACTOR = 25.0  # torch OneCycleLR(div_factor=25.0): first lr = max_lr / 25
ONE_CYCLE_FINAL_DIV_FACTOR = 1e4  # torch OneCycleLR(final_div_factor=1e4): last = first / 1e4
FASTAI_PCT_START = 0.25  # fastai fit_one_cycle(pct_start=0.25)
FASTAI_DIV = 25.0  # fastai fit_one_cycle(div=25.0): first lr = lr_max / 25
FASTAI_DIV_FINAL = 1e5  # fastai fit_one_cycle(div_final=1e5): last lr = lr_max / 1e5
CYCLIC_BASE_LR = 1e-3  # Smith 2017 (CLR paper, CIFAR-10): base_lr=0.001, max_lr=0.006
# torch CyclicLR(gamma=1.0) makes exp_range a plain triangle; the course's 0.999 lets it decay
CYCLIC_GAMMA = 0.999
LINEAR_LR_START_FACTOR = 1 / 3  # torch LinearLR(start_factor=1/3): warm-up's first lr factor
WARMUP_SHARE = 0.1  # a transformer's warm-up: the first tenth of the steps (core.warmup) ...
WARMUP_START_FACTOR = 0.01  # ... from a hundredth of the peak lr
# The momenta (base, max):
ONE_CYCLE_MOMENTA = (0.85, 0.95)  # torch OneCycleLR(base_momentum=0.85, max_momentum=0.95)
CYCLIC_MOMENTA = (0.8, 0.9)  # torch CyclicLR(base_momentum=0.8, max_momentum=0.9)
FASTAI_MOMS = (0.95, 0.85, 0.95)  # fastai fit_one_cycle(moms=...): start, middle, end momentum
