"""Default path options, shared by ``pathconfig.PathConfig``, the estimator and the CLI.

Kept apart from ``path`` so that the CLI can show them in ``--help`` without importing torch.
The reasons for the values are in docs/method.md ("How the path is computed") and
``benchmarks/RESULTS.md``.
"""

M = 10.0
# A conv filter's constrained block has C2 x k x k weights (288 for conv:16,32): with M = 10
# the exit threshold ||g_theta|| + M ||g_gamma||_1 is so large that no filter leaves before
# the network is ruined (benchmarks/conv_coil20.py, RESULTS.md); 0.1 selects filters.
CONV_M = 0.1
PATH_MULTIPLIER = 1.05
# Beyond 1e6 the hierarchy constraint ||W_j||_inf <= M |theta_j| binds nothing a network
# reaches, and the path's lambdas, which grow with M, leave float32's range near 1e38.
MAX_M = 1e6
# Below 1.001 a path (and each cross-validation fold's tail) takes thousands of points to cover
# the lambdas of one decade; above 100 one step skips most of a path.
PATH_MULTIPLIER_RANGE = (1.001, 100.0)
# Epochs per path point.  A full-batch epoch is one optimiser step, so a small table gets
# MAX_EPOCHS steps per point; with minibatches one epoch is already n / batch_size steps
# (about 880 for a million rows), so a point gets MINIBATCH_EPOCHS.  benchmarks/RESULTS.md
# has the measurements behind both.
MAX_EPOCHS = 5
MINIBATCH_EPOCHS = 1
PATIENCE = 5  # equal to MAX_EPOCHS: a default full-batch point always trains its 5 epochs
# A full-batch point where units left trains up to this many rounds of MAX_EPOCHS more, until a
# round passes with no exit (exits.settle, exits.settle_rounds says where and why).  Measured on
# classification and regression only (benchmarks/RESULTS.md): Cox, reconstruction and a conv
# backbone's filters keep their paths until their own benchmarks decide (``settle_rounds``).
SETTLE_ROUNDS = 2
SETTLED_TASKS = ("classification", "regression", "auto")
# Most epochs of one relaxed fit (early stopping on the validation loss ends most far sooner).
RELAX_EPOCHS = 50
MINIBATCH_RELAX_EPOCHS = 1
# Epochs without a better validation loss before a relaxed fit stops.  Each relaxed fit starts
# from the previous point's relaxed model, already close to its best, so most fits stop on
# patience alone; 3 instead of 5 saved 17% of the digits path with the same path-model scores
# on the compare_reference tables, and 2 lost 0.014 on digits at 10% (measured for commit
# f4db513; benchmarks/RESULTS.md has the compare_reference run with 3).
RELAX_PATIENCE = 3
# A conv backbone's relaxed fits need longer: with patience 3 the one-filter model on COIL-20
# scored 0.950 on the test images against 0.986 with 5 (benchmarks/conv_coil20.py).
CONV_RELAX_PATIENCE = 5
RELAX = True
# Near the sparse end, exits at points within a window of each other (exits.exit_window) are
# ordered together by backward elimination (exits.ExitGroup); with a conv backbone only the
# filters leaving at one point are.  On COIL-20 (path step 1.1) filters 16 to 3 left within
# 2.4% of lambda, and the relaxed models chained through the regrouped exits ended in a
# one-filter model at test accuracy 0.943 against 0.986 (benchmarks/conv_coil20.py, RESULTS.md).
CONV_EXIT_WINDOW = 1.0
# Choosing a path point by one validation split needs enough validation rows: with the default
# 10% split, a table of fewer than 500 rows has fewer than 50, on which an accuracy near 0.5 has
# a standard error of sqrt(0.25 / 50) = 0.07 or more, larger than the differences between the
# points it chooses among.  Below this many rows `select` cross-validates the choice by default
# (every row is scored once), unless --cv says otherwise.
CV_BELOW_ROWS = 500
AUTO_CV_FOLDS = 5
# Fewest held-out rows per fold when the folds are automatic: a tiny table gets fewer folds,
# and none (one validation split) below 2 * CV_MIN_FOLD_ROWS rows.
CV_MIN_FOLD_ROWS = 5

# Largest --seed: numpy's generators take no negative seed and torch none beyond 2**64 - 1, and
# `lassonet path` seeds its refits with seed + 1 + r; 2**32 - 1 is scikit-learn's and numpy's
# legacy bound, far below both limits.
MAX_SEED = 2**32 - 1

# Most complementary pairs a stability selection may ask for, and most random sets per k a
# `lassonet path` may refit: a million, typed for a thousand, would draw every set (or
# half-sample) before the first path and run for months; 10,000 pairs are 20,000 paths,
# 200 times Shah & Samworth's B = 50.
MAX_PAIRS = 10_000
MAX_RANDOM_REPEATS = 1_000

# Most torch threads a run may ask for: torch takes an int32, and each thread is started (a
# million of them exhausts memory with a misleading error).
MAX_THREADS = 1024


def default_M(selects_filters: bool) -> float:
    """The hierarchy multiplier used when none is given."""
    return CONV_M if selects_filters else M


def settle_rounds(task: str, selects_filters: bool) -> int | None:
    """Settle rounds of the path (None: ``exits.settle_rounds`` decides by table shape)."""
    return None if task in SETTLED_TASKS and not selects_filters else 0


def exit_window(selects_filters: bool) -> float | None:
    """Factor of lambda within which exits are ordered together (None: by the table's shape
    and the task, ``exits.exit_window``)."""
    return CONV_EXIT_WINDOW if selects_filters else None


def relax_patience(selects_filters: bool) -> int:
    """Epochs without a better validation loss before a relaxed fit stops."""
    return CONV_RELAX_PATIENCE if selects_filters else RELAX_PATIENCE


def auto_cv_folds(n_rows: int) -> int | None:
    """Folds for choosing the path point on ``n_rows`` rows when none are given (None: one
    validation split)."""
    if n_rows >= CV_BELOW_ROWS:
        return None
    folds = min(AUTO_CV_FOLDS, n_rows // CV_MIN_FOLD_ROWS)
    return folds if folds >= 2 else None
