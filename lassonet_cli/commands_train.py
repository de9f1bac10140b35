"""The commands that train a path on a table: ``select`` (the ranking, the path table, the chosen
model) and ``path`` (test scores against the number of features k).

Heavy libraries (torch, pandas) and the core are imported inside the commands, so that
``--help`` stays fast.
"""

from __future__ import annotations

import typer

from . import defaults
from .cli_input import figure_format, read_prepared, setup_torch, user_groups
from .cli_options import (
    Backbone,
    BatchSize,
    Categorical,
    Cv,
    Data,
    Debug,
    DecimalMark,
    Device,
    DeviceOpt,
    Dropout,
    Encoding,
    EventOpt,
    Exclude,
    Features,
    FiltersOut,
    Format,
    GroupsFile,
    IdColumn,
    ImageShape,
    InputFormatOpt,
    Jobs,
    KGrid,
    KOpt,
    LambdaStart,
    Lr,
    MaxEpochs,
    MaxLevels,
    Missing,
    MissingOpt,
    ModelOut,
    MOpt,
    NaValues,
    Optimizer,
    OptimizerOpt,
    Output,
    PathMultiplier,
    PathOut,
    Patience,
    Plot,
    Progress,
    Quiet,
    RandomRepeats,
    Relax,
    RuleOpt,
    Scheduler,
    Seed,
    Sep,
    Target,
    Task,
    TaskOpt,
    TestFraction,
    Threads,
    TiesOpt,
    TimeOpt,
    ValFraction,
    parse_M,
    parse_options,
)
from .progress import Reporter
from .signals import committing

SELECT_HELP = (
    "Rank the feature columns of a table by LassoNet importance.\n\n"
    "Trains a dense model, then a path of increasing lambda until no feature is left; a "
    "feature's importance is the lambda at which it leaves. Writes the ranked features "
    "(rank, feature, importance, selected) to stdout or -o.\n\n"
    "Example: lassonet select data.csv --target y --path-out path.csv > ranking.csv\n\n"
    "Survival: lassonet select whas500.parquet --task cox --time time --event event\n\n"
    "Unsupervised: lassonet select digits.parquet --task reconstruction --exclude target --k 16"
)


def select(
    data: Data,
    target: Target = None,
    time: TimeOpt = None,
    event: EventOpt = None,
    features: Features = None,
    exclude: Exclude = None,
    id_column: IdColumn = None,
    task: TaskOpt = Task.auto,
    input_format: InputFormatOpt = None,
    sep: Sep = None,
    encoding: Encoding = "utf-8",
    na_values: NaValues = None,
    decimal: DecimalMark = ".",
    missing: MissingOpt = Missing.error,
    categorical: Categorical = None,
    max_levels: MaxLevels = 50,
    groups: GroupsFile = None,
    backbone: Backbone = "mlp:100",
    image_shape: ImageShape = None,
    ties: TiesOpt = None,
    M: MOpt = None,
    dropout: Dropout = 0.0,
    lambda_start: LambdaStart = "auto",
    path_multiplier: PathMultiplier = defaults.PATH_MULTIPLIER,
    max_epochs: MaxEpochs = None,
    patience: Patience = defaults.PATIENCE,
    optimizer: OptimizerOpt = Optimizer.sgd,
    lr: Lr = None,
    batch_size: BatchSize = None,
    relax: Relax = defaults.RELAX,
    val_fraction: ValFraction = 0.1,
    k: KOpt = None,
    rule: RuleOpt = None,
    cv: Cv = None,
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    seed: Seed = 0,
    device: DeviceOpt = Device.cpu,
    threads: Threads = None,
    quiet: Quiet = False,
    progress: Progress = None,
    debug: Debug = False,
    output: Output = None,
    format: Format = None,
    path_out: PathOut = None,
    model_out: ModelOut = None,
    filters_out: FiltersOut = None,
) -> None:
    from .io import (
        check_model_name,
        check_outputs,
        output_format,
        write_file,
        write_outputs,
        write_table,
    )

    reporter = Reporter(quiet, progress)
    out_format = output_format(output, format.value if format else None)
    path_format = output_format(path_out, None, override=None) if path_out else None
    check_outputs({"the input": data, "the groups file": groups}, output, out_format,
                  {"--path-out": path_out, "--model-out": model_out, "--filters-out": filters_out})
    check_model_name(model_out)
    chosen_rule = rule.value if rule else ("1se" if cv else "best")
    options = parse_options(
        task, backbone, M, dropout, lambda_start, path_multiplier, max_epochs, patience,
        optimizer, lr, batch_size, val_fraction, seed, device, missing, categorical, max_levels,
        rule=chosen_rule, k=k, cv="auto" if cv is None else cv, relax=relax, ties=ties,
        survival=time is not None, image_shape=image_shape,
    )
    filters_format = _filters_format(filters_out, options)
    from .runs import Runner

    runner = Runner(jobs, scheduler, threads or 1)
    runner.check()
    from .columns import resolve_task
    from .estimator import Selector
    from .prepare import CONSTANT_IN_TRAINING, checked_table

    task_name = resolve_task(task.value, target, time, event)
    setup_torch(threads, seed)
    prepared = read_prepared(data, input_format, target, features, exclude, id_column,
                             task_name, threads, missing, categorical, max_levels, sep,
                             encoding, time, event, options, na_values=na_values,
                             decimal=decimal)
    # (a conv backbone refuses groups)
    options = options.with_table(prepared.task, prepared.categorical,
                                 user_groups(groups, prepared))
    on_run = reporter.opening(prepared.notes, prepared.X.shape[1] - len(prepared.constant))
    # a grid of M runs its paths apart, counted as runs, each with its folds
    on_runs = (reporter.runs("paths, one per M", prepared.notes) if options.M_grid
               else reporter.runs("cv folds"))
    try:
        estimator = Selector.of(options, runner).fit_table(checked_table(prepared),
                                                           on_run=on_run, on_runs=on_runs)
    finally:
        reporter.stop()

    ranking = estimator.ranking_table()
    if estimator.M_scores_ is not None:
        reporter.note(M_note(estimator))
    late = [c for c, why in estimator.set_aside_.items() if why == CONSTANT_IN_TRAINING]
    if late:  # (those constant in the whole table are in the notes before training)
        reporter.note(f"set aside {len(late)} column(s) constant in the training rows (they "
                      "vary only among the validation rows), ranked last with importance 0: "
                      + ", ".join(late[:10]) + (" ..." if len(late) > 10 else ""))
    reporter.note(choice_note(estimator, k))
    figure = None
    if filters_out:
        from .plot import filters_figure

        figure = filters_figure(estimator.filter_weights(), estimator.unit_support_,
                                list(estimator.units_.names), filters_format)
    path_table = estimator.path_table() if path_out else None
    outputs = [(output, lambda: write_table(ranking, output, out_format))]
    if path_out:
        outputs.append((path_out, lambda: write_table(path_table, path_out, path_format)))
    if model_out:
        outputs.append((model_out, lambda: estimator.save(model_out, prepared.id_column)))
    if figure is not None:
        outputs.append((filters_out, lambda: write_file(filters_out, figure)))
    with committing():  # every output, or (an error) those written so far
        write_outputs(outputs)


def _filters_format(path: str | None, options) -> str | None:
    """'png' or 'svg' for --filters-out, checked before any work (conv backbone only)."""
    if path is None:
        return None
    if not options.selects_filters:
        raise typer.BadParameter("draws conv1's filters: it needs --backbone conv:C1,C2",
                                 param_hint="--filters-out")
    return figure_format(path, "--filters-out")


PATH_HELP = (
    "Accuracy against the number of features k, on held-out test rows.\n\n"
    "Trains the path on the training rows, then for each k of the grid reports: the top-k "
    "features, lassonet_score (the path model with at most k features; lassonet_k says how "
    "many it has), refit_score (the backbone retrained densely on exactly those k features) "
    "and random_score / random_score_sd (the same refit on --random-repeats random sets of k "
    "features: their mean and standard deviation, which needs two sets or more).\n\n"
    "With --backbone conv:C1,C2 k counts conv1's filters: the refit keeps only those filters "
    "of the dense model's conv1, as learnt, and trains the rest of the network anew.\n\n"
    "Example: lassonet path data.parquet --target y --k-grid 10,25,50 -o acc.csv "
    "--plot acc.png\n\n"
    "Survival (scores are C-indices): lassonet path hnscc.parquet --task cox --time time "
    "--event event --k-grid 5,10,20\n\n"
    "Images: lassonet path coil20.parquet --target target --backbone conv:16,32 "
    "--image-shape 1x32x32 --k-grid 1,2,4,8,16"
)


def path_command(
    data: Data,
    target: Target = None,
    time: TimeOpt = None,
    event: EventOpt = None,
    features: Features = None,
    exclude: Exclude = None,
    id_column: IdColumn = None,
    task: TaskOpt = Task.auto,
    input_format: InputFormatOpt = None,
    sep: Sep = None,
    encoding: Encoding = "utf-8",
    na_values: NaValues = None,
    decimal: DecimalMark = ".",
    missing: MissingOpt = Missing.error,
    categorical: Categorical = None,
    max_levels: MaxLevels = 50,
    groups: GroupsFile = None,
    k_grid: KGrid = None,
    test_fraction: TestFraction = 0.2,
    random_repeats: RandomRepeats = 5,
    plot: Plot = None,
    backbone: Backbone = "mlp:100",
    image_shape: ImageShape = None,
    ties: TiesOpt = None,
    M: MOpt = None,
    dropout: Dropout = 0.0,
    lambda_start: LambdaStart = "auto",
    path_multiplier: PathMultiplier = defaults.PATH_MULTIPLIER,
    max_epochs: MaxEpochs = None,
    patience: Patience = defaults.PATIENCE,
    optimizer: OptimizerOpt = Optimizer.sgd,
    lr: Lr = None,
    batch_size: BatchSize = None,
    relax: Relax = defaults.RELAX,
    val_fraction: ValFraction = 0.1,
    cv: Cv = None,
    rule: RuleOpt = None,
    jobs: Jobs = None,
    scheduler: Scheduler = None,
    seed: Seed = 0,
    device: DeviceOpt = Device.cpu,
    threads: Threads = None,
    quiet: Quiet = False,
    progress: Progress = None,
    debug: Debug = False,
    output: Output = None,
    format: Format = None,
) -> None:
    from pathlib import Path as FilePath

    from .evaluate import accuracy_vs_k, check_random_repeats, parse_k_grid
    from .io import check_outputs, output_format, write_file, write_outputs, write_table
    from .plot import accuracy_vs_k_figure

    reporter = Reporter(quiet, progress)
    out_format = output_format(output, format.value if format else None)
    check_outputs({"the input": data, "the groups file": groups}, output, out_format,
                  {"--plot": plot})
    plot_format = figure_format(plot, "--plot")
    if isinstance(parse_M(M), list):
        raise typer.BadParameter("lassonet path trains one path: give one M (choose it with "
                                 "lassonet select --M 1,3,10,30)", param_hint="--M")
    options = parse_options(
        task, backbone, M, dropout, lambda_start, path_multiplier, max_epochs, patience,
        optimizer, lr, batch_size, val_fraction, seed, device, missing, categorical, max_levels,
        rule=rule.value if rule else ("1se" if cv else "best"),
        # the table does not depend on the chosen point: no cross-validation unless asked for
        cv=cv or None, relax=relax, ties=ties, survival=time is not None,
        image_shape=image_shape,
    )
    from .columns import resolve_task
    from .estimator import Selector
    from .runs import Runner

    runner = Runner(jobs, scheduler, threads or 1)
    runner.check()
    task_name = resolve_task(task.value, target, time, event)
    check_random_repeats(random_repeats)
    if not 0 < test_fraction < 1:
        raise typer.BadParameter("must be between 0 and 1", param_hint="--test-fraction")
    setup_torch(threads, seed)
    prepared = read_prepared(data, input_format, target, features, exclude, id_column,
                             task_name, threads, missing, categorical, max_levels, sep,
                             encoding, time, event, options, constant="drop",
                             na_values=na_values, decimal=decimal)
    options = options.with_table(prepared.task, prepared.categorical,
                                 user_groups(groups, prepared))
    units = options.ranked_units(list(prepared.X.columns))  # what k counts
    flat = len(prepared.dropped)
    parse_k_grid(k_grid, units.n, units.noun + (  # fail on a bad grid before training
        f" left after dropping {flat} constant column(s)" if flat else ""))
    try:
        table, selector = accuracy_vs_k(
            lambda: Selector.of(options, runner), prepared.X, prepared.target, prepared.task,
            k_grid, test_fraction, random_repeats, seed,
            on_run=reporter.opening(prepared.notes, units.n),
            on_refit=reporter.refit, runner=runner, on_note=reporter.note_in_turn,
        )
    finally:
        reporter.stop()
    reporter.note(choice_note(selector, None))
    if plot:
        name = "stdin" if data == "-" else FilePath(data).name
        figure = accuracy_vs_k_figure(
            table, selector.task_.score_name, f"{name}: test score against k", plot_format,
            units.noun,
        )
    with committing():
        write_outputs([(output, lambda: write_table(table, output, out_format))]
                      + ([(plot, lambda: write_file(plot, figure))] if plot else []))


def M_note(estimator) -> str:
    """One stderr line: the M chosen from a grid, and each M's score."""
    how = (f"mean {estimator.cv_folds_}-fold" if estimator.cv_folds_ is not None
           else "validation")
    scores = ", ".join(f"M {M:g}: {score:.4f}" + (f" ± {se:.4f}" if se is not None else "")
                       for M, (score, se) in estimator.M_scores_.items())
    return (f"chose M = {estimator.options_.M:g}, whose chosen point has the best {how} "
            f"{estimator.path_.score_name} ({scores})")


def choice_note(estimator, k: int | None) -> str:
    """One stderr line: which path point was chosen, why, and how it scored."""
    point, path, folds = estimator.chosen_point_, estimator.path_, estimator.cv_folds_
    grouped = estimator.units_.of_column is not None and estimator.units_.n < len(
        estimator.units_.of_column)
    counted = "groups and features (a group counts once)" if grouped else "features"
    among = f"among the points with the most {counted} <= {k}, " if k is not None else ""
    if folds is None:
        why = f"{among}the best validation score"
        score = f"validation {path.score_name} {point.val_score:.4f}"
    else:
        if estimator.rule == "1se":
            why = (f"{among}the sparsest point whose mean {folds}-fold score is within "
                   "one standard error of the best")
        else:
            why = f"{among}the best mean {folds}-fold score"
        score = f"cv {path.score_name} {point.val_score:.4f} ± {point.val_score_se:.4f}"
        if estimator.cv == "auto":
            rows = sum(len(part) for part in estimator.split_)
            score += (f" ({folds} folds: the table has {rows} rows, fewer than "
                      f"{defaults.CV_BELOW_ROWS}; --cv 0 for one validation split)")
        else:
            score += f" ({folds} folds)"
    of_column = estimator.units_.of_column
    if of_column is None:
        units = f"{point.k} filter(s)"
    elif estimator.units_.n < len(of_column):  # user groups: k counts groups
        n = int(estimator.support_.sum())
        units = f"{point.k} group(s) ({n} feature{'' if n == 1 else 's'})"
    else:
        units = f"{point.k} feature(s)"
    return (f"chose path point {estimator.chosen_} of {len(path.points)} ({why}): "
            f"{units}, lambda {point.lambda_:.4g}, {score}")
