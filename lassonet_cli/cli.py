"""The ``lassonet`` command line: parse options, call the core, write outputs.

This is the only module that turns errors into messages and exit statuses:
0 success, 2 usage error or bad input, 1 internal error, 130 interrupted.
Heavy libraries (torch, pandas) are imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from typer.core import TyperGroup

from . import __version__, defaults
from .cli_input import check_splits, read_input, read_prepared, setup_torch, user_groups
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
    Keep,
    KGrid,
    KOpt,
    LambdaStart,
    Lr,
    MaxEpochs,
    MaxLevels,
    Missing,
    MissingOpt,
    ModelOut,
    ModelPath,
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
    Seed,
    Sep,
    Target,
    Task,
    TaskOpt,
    TestFraction,
    Threads,
    Ties,
    TiesOpt,
    TimeOpt,
    ValFraction,
    parse_names,
    parse_options,
)
from .errors import CLI, LassoNetError
from .progress import Reporter
from .signals import Terminated, signals_handled

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 128 + 15  # what a shell reports for a process ended by SIGTERM


def _print_error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def _usage_message(e: typer.TyperException) -> str:
    """click's message for a bad option value, without the "Value error, " that typer's
    pydantic validation puts before the reason."""
    return e.format_message().replace(": Value error, ", ": ", 1)


def _run(main, args, debug: bool, **kwargs) -> int:
    """Run click's ``main`` and map every outcome to an exit status and at most one line."""
    try:
        result = main(args=args, standalone_mode=False, **kwargs)
        if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into this exit code
            _print_error("interrupted")
            return result
        # text written with print() is still buffered: a full disk shows here, not at exit
        from .io import write_stdout

        write_stdout(b"")
        return result if isinstance(result, int) else EXIT_OK
    except typer.Exit as e:
        return e.exit_code
    except typer.TyperException as e:  # click's usage errors, bad parameters, missing files
        ctx = getattr(e, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _print_error(f"{_usage_message(e)}{hint}")
        return EXIT_USAGE
    except LassoNetError as e:
        if debug:
            traceback.print_exc()
        _print_error(e.spelled(CLI))
        return EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        _print_error("interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        _print_error("terminated")
        return EXIT_TERMINATED
    except BrokenPipeError:
        # the reader (e.g. `head`) has gone: end quietly, without a second error at exit
        from .io import detach_stdout

        detach_stdout()
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        _print_error(
            f"internal error: {type(e).__name__}: {e} "
            "(rerun with --debug for the traceback, and please report it)"
        )
        return EXIT_INTERNAL


class _Group(TyperGroup):
    """Typer group whose ``main`` reports errors as one ``error: ...`` line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        # OpenMP threads that spin while they wait turn a CPU shared with other jobs into a
        # crawl (a 1024 x 100 matrix product: 0.24 ms alone, 16 ms beside one busy process);
        # waiting passively costs little alone.  Read when torch loads, so set before that.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        argv = list(sys.argv[1:] if args is None else args)
        with signals_handled():
            code = _run(
                super().main, argv, "--debug" in argv, prog_name=prog_name,
                complete_var=complete_var, **extra,
            )
        sys.exit(code)


app = typer.Typer(
    cls=_Group,
    name="lassonet",
    help="Nonlinear feature selection with LassoNet.\n\n"
    "Ranks the columns of a table by how long they stay in a LassoNet model along a path of "
    "increasing sparsity.\n\n"
    "Example: lassonet select data.csv --target y > ranking.csv",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        print(f"lassonet {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Nonlinear feature selection with LassoNet."""


def _choice_note(estimator, k: int | None) -> str:
    """One stderr line: which path point was chosen, why, and how it scored."""
    point, path, folds = estimator.chosen_point_, estimator.path_, estimator.cv_folds_
    among = f"among the points with the most features <= {k}, " if k is not None else ""
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


@app.command(
    help="Rank the feature columns of a table by LassoNet importance.\n\n"
    "Trains a dense model, then a path of increasing lambda until no feature is left; a "
    "feature's importance is the lambda at which it leaves. Writes the ranked features "
    "(rank, feature, importance, selected) to stdout or -o.\n\n"
    "Example: lassonet select data.csv --target y --path-out path.csv > ranking.csv\n\n"
    "Survival: lassonet select whas500.parquet --task cox --time time --event event\n\n"
    "Unsupervised: lassonet select digits.parquet --task reconstruction --exclude target --k 16",
    no_args_is_help=True,
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
    ties: TiesOpt = Ties.efron,
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
    from .io import check_writable, output_format, write_table

    reporter = Reporter(quiet, progress)
    out_format = output_format(output, format.value if format else None)
    path_format = output_format(path_out, None, override=None) if path_out else None
    check_writable(output, out_format)
    for destination in (path_out, model_out, filters_out):
        check_writable(destination)
    chosen_rule = rule.value if rule else ("1se" if cv else "best")
    options = parse_options(
        task, backbone, M, dropout, lambda_start, path_multiplier, max_epochs, patience,
        optimizer, lr, batch_size, val_fraction, seed, device, missing, categorical, max_levels,
        rule=chosen_rule, k=k, cv="auto" if cv is None else cv, relax=relax, ties=ties,
        image_shape=image_shape,
    )
    filters_format = _filters_format(filters_out, options)
    from .columns import resolve_task
    from .estimator import Selector

    task_name = resolve_task(task.value, target, time, event)
    setup_torch(threads, seed)
    prepared = read_prepared(data, input_format, target, features, exclude, id_column,
                             task_name, threads, missing, categorical, max_levels, sep,
                             encoding, time, event, options, na_values=na_values,
                             decimal=decimal)
    # (a conv backbone refuses groups)
    options = options.with_table(prepared.task, prepared.categorical,
                                 user_groups(groups, prepared))
    check_splits(prepared, [("--val-fraction", val_fraction)], seed)
    for message in prepared.notes:
        reporter.note(message)

    try:
        reporter.start(prepared.X.shape[1] - len(prepared.constant))
        estimator = Selector.of(options).fit(prepared.X, prepared.target, on_run=reporter.run)
    finally:
        reporter.stop()

    ranking = estimator.ranking_table()
    reporter.note(_choice_note(estimator, k))
    figure = None
    if filters_out:
        from .plot import filters_figure

        figure = filters_figure(estimator.filter_weights(), estimator.unit_support_,
                                list(estimator.units_.names), filters_format)
    if path_out:
        write_table(estimator.path_table(), path_out, path_format)
    if model_out:
        estimator.save(model_out)
    if figure is not None:
        from .io import atomic_output

        with atomic_output(filters_out) as handle:
            handle.write(figure)
    write_table(ranking, output, out_format)


def _filters_format(path: str | None, options) -> str | None:
    """'png' or 'svg' for --filters-out, checked before any work (conv backbone only)."""
    if path is None:
        return None
    from pathlib import Path as FilePath

    from .plot import PLOT_FORMATS, require_matplotlib

    if not options.selects_filters:
        raise typer.BadParameter("draws conv1's filters: it needs --backbone conv:C1,C2",
                                 param_hint="--filters-out")
    suffix = FilePath(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise typer.BadParameter("the figure file must end in .png or .svg",
                                 param_hint="--filters-out")
    require_matplotlib("--filters-out")
    return suffix[1:]


@app.command(
    "path",
    help="Accuracy against the number of features k, on held-out test rows.\n\n"
    "Trains the path on the training rows, then for each k of the grid reports: the top-k "
    "features, lassonet_score (the path model with at most k features; lassonet_k says how "
    "many it has), refit_score (the backbone retrained densely on exactly those k features) "
    "and random_score / random_score_sd (the same refit on --random-repeats random sets of k "
    "features).\n\n"
    "Example: lassonet path data.parquet --target y --k-grid 10,25,50 -o acc.csv "
    "--plot acc.png\n\n"
    "Survival (scores are C-indices): lassonet path hnscc.parquet --task cox --time time "
    "--event event --k-grid 5,10,20",
    no_args_is_help=True,
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
    ties: TiesOpt = Ties.efron,
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

    from .evaluate import accuracy_vs_k, parse_k_grid
    from .io import atomic_output, check_writable, output_format, write_table
    from .plot import PLOT_FORMATS, accuracy_vs_k_figure

    reporter = Reporter(quiet, progress)
    out_format = output_format(output, format.value if format else None)
    check_writable(output, out_format)
    check_writable(plot)
    plot_format = None
    if plot:
        plot_format = FilePath(plot).suffix.lower()
        if plot_format not in PLOT_FORMATS:
            raise typer.BadParameter("the plot file must end in .png or .svg", param_hint="--plot")
    from .backbones import BackboneSpec

    if BackboneSpec.parse(backbone).selects_filters:
        raise typer.BadParameter("lassonet path refits the top-k columns, and a conv backbone "
                                 "selects filters, not columns: use lassonet select",
                                 param_hint="--backbone")
    options = parse_options(
        task, backbone, M, dropout, lambda_start, path_multiplier, max_epochs, patience,
        optimizer, lr, batch_size, val_fraction, seed, device, missing, categorical, max_levels,
        rule=rule.value if rule else ("1se" if cv else "best"),
        # the table does not depend on the chosen point: no cross-validation unless asked for
        cv=cv or None, relax=relax, ties=ties,
    )
    from .columns import resolve_task
    from .estimator import Selector

    task_name = resolve_task(task.value, target, time, event)
    if random_repeats < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--random-repeats")
    if not 0 < test_fraction < 1:
        raise typer.BadParameter("must be between 0 and 1", param_hint="--test-fraction")
    setup_torch(threads, seed)
    prepared = read_prepared(data, input_format, target, features, exclude, id_column,
                             task_name, threads, missing, categorical, max_levels, sep,
                             encoding, time, event, constant="drop", na_values=na_values,
                             decimal=decimal)
    parse_k_grid(k_grid, prepared.X.shape[1])  # fail on a bad grid before training
    options = options.with_table(prepared.task, prepared.categorical,
                                 user_groups(groups, prepared))
    check_splits(prepared, [("--test-fraction", test_fraction),
                            ("--val-fraction", val_fraction)], seed)
    for message in prepared.notes:
        reporter.note(message)

    try:
        reporter.start(prepared.X.shape[1])
        table, selector = accuracy_vs_k(
            lambda: Selector.of(options), prepared.X, prepared.target, prepared.task, k_grid,
            test_fraction, random_repeats, seed, on_run=reporter.run, on_refit=reporter.refit,
        )
    finally:
        reporter.stop()
    reporter.note(_choice_note(selector, None))
    if plot:
        name = "stdin" if data == "-" else FilePath(data).name
        figure = accuracy_vs_k_figure(
            table, selector.task_.score_name, f"{name}: test score against k", plot_format[1:]
        )
        with atomic_output(plot) as handle:
            handle.write(figure)
    write_table(table, output, out_format)


@app.command(
    help="Predict new rows with a saved model.\n\n"
    "Writes one row per input row: the --keep columns, `prediction` (the class label as in the "
    "training data, the value, or for cox the risk score: log relative hazard, higher = "
    "earlier event), and for classification one `proba_<label>` column per class; a "
    "reconstruction model writes `<column>_hat` for every feature column instead. The input "
    "needs the model's columns; extra columns are ignored.\n\n"
    "Example: lassonet predict model.safetensors new.csv --keep id > predictions.csv",
    no_args_is_help=True,
)
def predict(
    model: ModelPath,
    data: Data,
    keep: Keep = None,
    input_format: InputFormatOpt = None,
    sep: Sep = None,
    encoding: Encoding = "utf-8",
    na_values: NaValues = None,
    decimal: DecimalMark = ".",
    threads: Threads = None,
    debug: Debug = False,
    output: Output = None,
    format: Format = None,
) -> None:
    import pandas as pd

    from .checks import check_features
    from .estimator import Selector
    from .io import check_writable, output_format, write_table

    out_format = output_format(output, format.value if format else None)
    check_writable(output, out_format)
    setup_torch(threads, 0)
    selector = Selector.load(model)
    df = read_input(data, input_format, sep, encoding, na_values, decimal)
    columns = list(selector.encoder_.columns)
    check_features(df, selector.encoder_)
    # a column named twice is kept once (as --features and --exclude take their lists)
    kept = parse_names(keep)
    absent = [c for c in kept if c not in df.columns]
    if absent:
        raise typer.BadParameter(f"no column(s) {', '.join(absent)} in the input",
                                 param_hint="--keep")
    result = df[kept].reset_index(drop=True) if kept else pd.DataFrame(index=range(len(df)))
    predictions = selector.predict_table(df[columns])
    clash = [c for c in predictions.columns if c in result.columns]
    if clash:
        raise typer.BadParameter(f"column(s) {', '.join(clash)} would be written twice",
                                 param_hint="--keep")
    result = pd.concat([result, predictions], axis=1)
    unseen = selector.encoder_.raw(df[columns])[1]
    if unseen:
        sys.stderr.write(f"note: {unseen} row(s) have a category level not seen in training "
                         "(encoded as none of the levels)\n")
    write_table(result, output, out_format)


@app.command(
    help="Describe a saved model: task, backbone, lambda, M, the selected features with their "
    "importances, the validation score and the version that wrote it.\n\n"
    "Example: lassonet inspect model.safetensors --json",
    no_args_is_help=True,
)
def inspect(
    model: ModelPath,
    json_output: Annotated[bool, typer.Option("--json", help="Print the header as JSON.")] = False,
    debug: Debug = False,
) -> None:
    import json
    import math

    from .modelfile import read_header

    # the header alone, checked against the tensors' shapes: no torch, no weights read
    header, shapes = read_header(model)
    n_parameters = sum(math.prod(shape) for shape in shapes.values())
    if json_output:
        sys.stdout.write(json.dumps(header, indent=1, sort_keys=True) + "\n")
        return
    point = header["point"]
    task = header["task"]
    lines = [
        f"model file      {model}",
        f"task            {task['name']}{_task_detail(task)}",
        f"backbone        {header['backbone']} (dropout {header['dropout']})",
        f"inputs          {header['n_inputs']} column(s), {header['n_outputs']} output(s)",
        f"lambda          {header['lambda']:.6g} (path point {point['index']})",
        f"M               {header['M']:g}",
        f"validation      {point['score_name']} {point['val_score']:.4f}{_cv_detail(point)}",
        f"parameters      {n_parameters}",
        f"written by      lassonet {header['package_version']} "
        f"(format {header['format_version']})",
    ]
    shape = header.get("image_shape")
    if shape:
        total = len(header["importances"])
        lines.insert(4, f"image shape     {'x'.join(str(v) for v in shape)} (channels x height "
                        "x width)")
        lines.append(f"filters alive   {len(header['selected'])} of {total} conv1 filter(s):")
    else:
        aside = header.get("set_aside") or {}
        if aside:
            lines.append(f"set aside       {len(aside)} constant column(s), ranked last with "
                         "importance 0")
        lines.append(f"selected        {len(header['selected'])} of {header['n_inputs']} "
                     "column(s):")
    importances = header["importances"]
    selected = set(header["selected"])
    for name in header["ranking"]:
        if name in selected:
            value = importances[name]
            lines.append(f"  {name:<30} {'inf' if value is None else format(value, '.6g')}")
    sys.stdout.write("\n".join(lines) + "\n")


def _cv_detail(point: dict) -> str:
    """' ± se (mean over K folds)' for a cross-validated score, else nothing."""
    folds = point.get("cv_folds")
    if not folds:
        return ""
    return f" ± {point['val_score_se']:.4f} (mean over {folds} folds)"


def _task_detail(task: dict) -> str:
    if task["name"] == "classification":
        return f" ({len(task['classes'])} classes)"
    if task["name"] == "cox":
        return f" ({task.get('ties', 'efron')} ties)"
    if task["name"] == "reconstruction":
        return f" ({len(task['columns'])} columns)"
    return ""


def main() -> None:
    """Console-script entry point."""
    app()
