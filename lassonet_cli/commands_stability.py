"""The ``stability`` command: stability selection over complementary pairs of half-samples
(``stability``), the subsample paths run here, in local processes or on a Dask cluster."""

from __future__ import annotations

import typer

from . import defaults
from .cli_input import figure_format, read_prepared, setup_torch, user_groups
from .cli_options import (
    Backbone,
    BatchSize,
    Categorical,
    Data,
    Debug,
    DecimalMark,
    Device,
    DeviceOpt,
    Dropout,
    Efv,
    Encoding,
    EventOpt,
    Exclude,
    Features,
    Format,
    GroupsFile,
    IdColumn,
    InputFormatOpt,
    Jobs,
    KGrid,
    LambdaStart,
    Lr,
    MaxEpochs,
    MaxLevels,
    Missing,
    MissingOpt,
    MOpt,
    NaValues,
    Optimizer,
    OptimizerOpt,
    Output,
    Pairs,
    PathMultiplier,
    Patience,
    PiThr,
    Progress,
    QOpt,
    Quiet,
    Relax,
    Scheduler,
    Seed,
    Sep,
    StabilityPlot,
    Target,
    Task,
    TaskOpt,
    Threads,
    TiesOpt,
    TimeOpt,
    ValFraction,
    parse_M,
    parse_options,
)
from .progress import Reporter
from .signals import committing

STABILITY_HELP = (
    "How often each feature is selected over many half-samples of the rows (stability "
    "selection).\n\n"
    "Splits the rows into two random halves PAIRS times (complementary pairs, Shah & "
    "Samworth 2013) and trains a whole path on each half. Writes one row per feature: "
    "feature, p_k<k> (the share of the paths with it among their top k, for each k of the "
    "grid), max_probability (that share at k = q) and stable (max_probability >= --pi-thr). "
    "stderr gives the bound on the expected number of false selections in the stable set.\n\n"
    "Example: lassonet stability data.csv --target y --pairs 50 --plot stability.png "
    "> stability.csv\n\n"
    "On a Dask cluster: lassonet stability data.csv --target y --scheduler tcp://host:8786"
)


def stability(
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
    pairs: Pairs = 50,
    pi_thr: PiThr = 0.6,
    q: QOpt = None,
    efv: Efv = None,
    k_grid: KGrid = None,
    plot: StabilityPlot = None,
    backbone: Backbone = "mlp:100",
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

    from .io import check_outputs, output_format, write_file, write_outputs, write_table
    from .runs import Runner
    from .stability import check_selects_columns, check_thresholds

    reporter = Reporter(quiet, progress)
    out_format = output_format(output, format.value if format else None)
    check_outputs({"the input": data, "the groups file": groups}, output, out_format,
                  {"--plot": plot})
    plot_format = figure_format(plot, "--plot")
    from .backbone_spec import BackboneSpec

    check_selects_columns(BackboneSpec.parse(backbone))
    if isinstance(parse_M(M), list):
        raise typer.BadParameter("stability trains one path per subsample: give one M (choose "
                                 "it with lassonet select --M 1,3,10,30)", param_hint="--M")
    check_thresholds(pi_thr, q, efv, pairs)
    runner = Runner(jobs, scheduler, threads or 1)
    runner.check()
    options = parse_options(
        task, backbone, M, dropout, lambda_start, path_multiplier, max_epochs, patience,
        optimizer, lr, batch_size, val_fraction, seed, device, missing, categorical, max_levels,
        relax=relax, ties=ties, survival=time is not None,
    )
    from .columns import resolve_task
    from .evaluate import parse_k_grid
    from .stability import stability_selection

    task_name = resolve_task(task.value, target, time, event)
    setup_torch(threads, seed)
    prepared = read_prepared(data, input_format, target, features, exclude, id_column,
                             task_name, threads, missing, categorical, max_levels, sep,
                             encoding, time, event, options, na_values=na_values,
                             decimal=decimal)
    user = user_groups(groups, prepared)
    options = options.with_table(prepared.task, prepared.categorical, user)
    # what k and q count: the units of the columns that are not set aside as constant
    units = options.ranked_units([c for c in prepared.X.columns if c not in prepared.constant])
    p, noun = units.n, units.noun + (f" left after setting aside {len(prepared.constant)} "
                                     "constant column(s)" if prepared.constant else "")
    grid = parse_k_grid(k_grid, p, noun) if k_grid is not None else None  # before training
    if q is not None and q > p:
        raise typer.BadParameter(f"{q} is more than the {p} {noun}", param_hint="--q")
    on_done = reporter.runs("subsample paths", prepared.notes)
    try:
        result = stability_selection(options, prepared.X, prepared.target, pairs, pi_thr, q,
                                     efv, grid, runner, on_done)
    finally:
        reporter.stop()
    reporter.note(result.summary())
    table = result.table(user)
    if plot:
        from .plot import stability_figure

        name = "stdin" if data == "-" else FilePath(data).name
        ks = result.plot_ks()
        figure = stability_figure(
            ks, result.probabilities(ks), result.columns, result.stable,
            result.q, pi_thr, f"{name}: stability paths ({2 * pairs} half-samples)",
            plot_format, units.noun,
        )
    with committing():
        write_outputs([(output, lambda: write_table(table, output, out_format))]
                      + ([(plot, lambda: write_file(plot, figure))] if plot else []))
