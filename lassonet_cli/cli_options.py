"""The command line's options, declared once: the choices (enums), the ``Annotated`` option
types that the commands share, and the parsers that turn flag values into the core's values.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from . import defaults


class Task(str, Enum):
    auto = "auto"
    regression = "regression"
    classification = "classification"
    cox = "cox"
    reconstruction = "reconstruction"


class Ties(str, Enum):
    efron = "efron"
    breslow = "breslow"


class Rule(str, Enum):
    best = "best"
    one_se = "1se"


class Optimizer(str, Enum):
    sgd = "sgd"
    adam = "adam"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class InputFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"


class OutputFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"
    parquet = "parquet"
    table = "table"


class Missing(str, Enum):
    error = "error"
    impute = "impute"


# --- options, declared once -----------------------------------------------------------------------
Data = Annotated[
    str, typer.Argument(metavar="DATA",
                        help="Input table: .csv, .tsv, .csv.gz, .parquet, or - for stdin "
                             "(CSV, gzipped CSV or Parquet, recognised by its first bytes).")
]
Target = Annotated[
    str | None,
    typer.Option("--target", "-t", help="Column to predict (required, except for --task cox, "
                 "which takes --time and --event, and --task reconstruction)."),
]
TimeOpt = Annotated[
    str | None,
    typer.Option("--time", help="Survival time column for --task cox (numbers >= 0), e.g. "
                 "--time time --event event. With --task auto, --time and --event mean cox."),
]
EventOpt = Annotated[
    str | None,
    typer.Option("--event", help="Event column for --task cox: 1 or true = event observed, 0 or "
                 "false = censored at that time."),
]
TiesOpt = Annotated[
    Ties | None,
    typer.Option("--ties", help="Tied event times in the Cox partial likelihood (--task cox "
                 "only): efron (more exact with many ties) or breslow [default: efron]. "
                 "Recorded in the model file.", show_default=False),
]
Features = Annotated[
    str | None,
    typer.Option(help="Comma list of feature columns (shell globs allowed, e.g. 'pixel_*'; "
                 "double-quote a name that holds a comma, as in CSV: '\"dose, mg\",age'). "
                 "Default: every column but the target and --id."),
]
Exclude = Annotated[
    str | None, typer.Option(help="Comma list of columns (or globs) never used as features.")
]
IdColumn = Annotated[
    str | None, typer.Option("--id", help="Row identifier column: never a feature.")
]
TaskOpt = Annotated[
    Task,
    typer.Option(help="auto: text targets, <= 20 distinct integers, or class codes 0..K-1 "
                 "are classification, else regression (the choice is printed on stderr); "
                 "--time/--event without --target mean cox. cox: survival with --time and "
                 "--event, score Harrell's C-index. reconstruction: no target, the network "
                 "reconstructs all (standardised, numeric) feature columns from the selected "
                 "ones, score R^2 pooled over columns."),
]
PredictMissing = Annotated[
    Missing,
    typer.Option("--missing", help="Gaps in the model's columns: error, or impute (a column "
                 "trained with gaps is always filled as in training; impute also fills the "
                 "others: numbers with their training mean, categories as none of the "
                 "levels)."),
]
MissingOpt = Annotated[
    Missing,
    typer.Option(help="Gaps in feature columns: error (name the columns) or impute (training "
                 "median, most frequent level for categories, plus a missing-indicator in the "
                 "column's group; infinite numbers count as gaps). Rows without a target are "
                 "always dropped, with a note."),
]
Categorical = Annotated[
    str | None,
    typer.Option(help="Comma list of columns to treat as categorical even if numeric. Text, "
                 "boolean and category columns always are: each is one-hot encoded and "
                 "selected or dropped as one group."),
]
GroupsFile = Annotated[
    str | None,
    typer.Option("--groups", help="CSV with columns feature,group: the features of a group "
                 "enter and leave the model together (the group norm of their weights is "
                 "penalised). The ranking keeps one row per feature, with its group."),
]
MaxLevels = Annotated[
    int, typer.Option(help="Most levels a categorical column may have.")
]
Sep = Annotated[
    str | None,
    typer.Option(help="Field separator of text input: ',', ';', 'tab' or '|'. Default: tab "
                 "for .tsv; for .csv the one of these that occurs most in the header line."),
]
Encoding = Annotated[str, typer.Option(help="Text encoding of the input (e.g. latin-1).")]
NaValues = Annotated[
    str | None,
    typer.Option("--na-values", help="Comma list of cell values that mean 'missing', besides "
                 "empty cells and NA, NaN, null, ... (e.g. --na-values '?,-999'). A numeric "
                 "column with a few other text cells is an error that names them."),
]
DecimalMark = Annotated[
    str,
    typer.Option("--decimal", help="Decimal mark of numbers in text input: '.' or ',' (then "
                 "the fields are usually separated by ';')."),
]
InputFormatOpt = Annotated[
    InputFormat | None,
    typer.Option("--input-format", help="Override the format guessed from the file name."),
]
Backbone = Annotated[
    str,
    typer.Option(help="Network beside the skip layer: 'mlp:H1,H2,...', 'linear', or (select "
                 "and path) 'conv:C1,C2[:kK]' for images: two conv layers with C1 and C2 channels "
                 "and odd kernel K (default 3), then pooling and a linear head; needs "
                 "--image-shape, and the units selected are conv1's filters (filter_00, ...)."),
]
ImageShape = Annotated[
    str | None,
    typer.Option("--image-shape", help="CxHxW: the feature columns are the pixels of C x H x W "
                 "images in row-major order (channel, row, column), e.g. 1x32x32. Required "
                 "with a conv backbone, which keeps constant pixels and standardises per "
                 "channel."),
]
FiltersOut = Annotated[
    str | None,
    typer.Option("--filters-out", help="Draw conv1's filters of the chosen model as a grid of "
                 "greyscale images (dead filters blank) to this .png or .svg file (conv "
                 "backbone; needs matplotlib)."),
]
MOpt = Annotated[
    str | None,
    typer.Option("--M", help=f"Hierarchy multiplier M (0 to {defaults.MAX_M:,.0f}) "
                 f"[default: {defaults.M:g}, "
                 f"{defaults.CONV_M:g} with a conv backbone]. Several, as 1,3,10,30: a path "
                 "for each, scored like the path points (cross-validated where --cv says), and "
                 "the M whose chosen point scores best is kept (select only).",
                 show_default=False),
]
Dropout = Annotated[float, typer.Option(help="Dropout rate of the hidden layers.")]
LambdaStart = Annotated[
    str,
    typer.Option(help="First lambda of the path, or 'auto' (just before the first feature "
                 "would leave, estimated from the dense model)."),
]
PathMultiplier = Annotated[
    float, typer.Option(help="Ratio of consecutive lambdas (1 + eps), from "
                        f"{defaults.PATH_MULTIPLIER_RANGE[0]:g} to "
                        f"{defaults.PATH_MULTIPLIER_RANGE[1]:g}.")
]
MaxEpochs = Annotated[
    int | None,
    typer.Option(help="Epochs per path point (at most). Default: 5 with full batches, 1 with "
                 "minibatches."),
]
Patience = Annotated[
    int,
    typer.Option(help="Stop a point early after this many epochs without 1% progress of the "
                 "validation objective (at the default, equal to --max-epochs, never)."),
]
Relax = Annotated[
    bool,
    typer.Option(help="Give every path point the model trained without penalty on its own "
                 "features (the relaxed model: its score is what those features can do); "
                 "--no-relax keeps the shrunken penalised models."),
]
OptimizerOpt = Annotated[Optimizer, typer.Option(help="Optimiser along the path.")]
Lr = Annotated[
    float | None,
    typer.Option(help="Learning rate along the path (default: 2/L from the loss curvature)."),
]
BatchSize = Annotated[
    int | None,
    typer.Option(help="Rows per minibatch. Default: full batch up to 16384 training rows, "
                 "else 1024."),
]
ValFraction = Annotated[
    float, typer.Option(help="Share of rows held out for early stopping and scores (stratified "
                        "for classes, and on the event for cox).")
]
Seed = Annotated[int, typer.Option(help="Random seed: same seed, same outputs.")]
DeviceOpt = Annotated[Device, typer.Option(help="Where to train.")]
Threads = Annotated[
    int | None,
    typer.Option(help="CPU threads for torch. Default: 1 for tables of up to 4 million cells "
                 "(more threads do not pay there and slow down parallel jobs), else torch's "
                 "choice. Outputs are reproducible for a given thread count."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors on stderr.")]
Progress = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress",
                 help="Show progress on stderr (default: when stderr is a terminal): a bar on "
                 "an interactive terminal, else (a file, a pipe, TERM=dumb) a plain line per "
                 "stage and at most one a second."),
]
Debug = Annotated[bool, typer.Option(help="Show the full traceback on errors.")]
Output = Annotated[
    str | None,
    typer.Option("--output", "-o", help="Write the table here instead of stdout: a file "
                 "(replaced when complete; through a symbolic link, the link's target), or a "
                 "FIFO or device such as /dev/stdout (written through)."),
]
Format = Annotated[
    OutputFormat | None,
    typer.Option("--format", help="Output format (default: from -o's extension: .csv, .tsv, "
                 ".json, .jsonl, .ndjson, .txt for table, each optionally + .gz, and "
                 ".parquet, .pq; csv for stdout and a name without an extension; another "
                 "extension is refused unless --format is given)."),
]
PathOut = Annotated[
    str | None,
    typer.Option(help="Also write the path table (one row per lambda) to this file, in the "
                 "format its extension names (as -o's)."),
]
ModelOut = Annotated[
    str | None,
    typer.Option(help="Also save the chosen model (safetensors + JSON header) for predict."),
]
KOpt = Annotated[
    int | None,
    typer.Option("--k", help="Choose the path point with the most features <= K (a --groups "
                             "group counts as one)."),
]
RuleOpt = Annotated[
    Rule | None,
    typer.Option(help="How to choose the path point: best validation score (the mean over "
                 "folds when cross-validated), or 1se (the sparsest point within one standard "
                 "error of the best mean cross-validated score; needs --cv). Default: 1se with "
                 "--cv, else best (also where a small table is cross-validated by default)."),
]
Cv = Annotated[
    int | None,
    typer.Option("--cv", help="Score the path points by cross-validation with this many folds "
                 "(stratified for classes, on the event for cox) on one common lambda grid: "
                 "val_score becomes the mean over folds and val_score_se its standard error; "
                 "the ranking still comes from the path on the training rows. 0: one "
                 "validation split. Default: select cross-validates a table of fewer than "
                 f"{defaults.CV_BELOW_ROWS} rows with {defaults.AUTO_CV_FOLDS} folds (its "
                 "validation split is too small to choose by); path uses one validation split.",
                 show_default=False),
]


# --- path's own options ---------------------------------------------------------------------------
KGrid = Annotated[
    str | None,
    typer.Option(help="Values of k: counts (1,2,5,10; 1.0 is one) or fractions of the "
                 "features strictly between 0 and 1 (0.01,0.1,0.5); a --groups group counts "
                 "as one. Default: 1, 2, 5, 10, 20, 50, ... up to all features."),
]
TestFraction = Annotated[
    float, typer.Option(help="Share of rows held out for the scores (stratified for classes, "
                        "and on the event for cox).")
]
RandomRepeats = Annotated[int, typer.Option(help="Random k-feature sets refitted per k.")]
Plot = Annotated[
    str | None, typer.Option(help="Draw score against k (log axis) to this .png or .svg file.")
]


Jobs = Annotated[
    int | None,
    typer.Option(help="Local processes for the independent runs (cross-validation folds, "
                 "stability subsamples, the paths of a grid of --M, each with its folds, the "
                 "refits of lassonet path). Default: the first run here, the others in as many "
                 "processes as there are cores when at its pace they would take 10 s or more. "
                 "Each run has --threads torch threads (default 1), wherever it runs, so "
                 "outputs do not depend on --jobs."),
]
Scheduler = Annotated[
    str | None,
    typer.Option(help="Send the independent runs to this Dask distributed scheduler "
                 "(tcp://HOST:PORT; pip install 'lassonet-cli[dask]'), e.g. one started by "
                 "dask-scheduler, with workers started by dask-worker --nthreads 1. The "
                 "outputs are the same as with --jobs."),
]

# --- the options of stability ---------------------------------------------------------------------
Pairs = Annotated[int, typer.Option(help="Complementary pairs of half-samples: 2 x PAIRS paths.")]
PiThr = Annotated[
    float, typer.Option("--pi-thr", help="A feature is stable when at least this share of "
                        "the subsample paths rank it in their top q (0.5 < PI_THR <= 1).")
]
QOpt = Annotated[
    int | None,
    typer.Option("--q", help="Features selected per subsample path (its top q). Default: the "
                 "median size of the subsamples' chosen models, or what --efv allows."),
]
Efv = Annotated[
    float | None,
    typer.Option(help="The expected number of false selections to allow: q is the largest "
                 "whose Meinshausen-Bühlmann bound q^2/((2 PI_THR - 1) p) is at most this."),
]
StabilityPlot = Annotated[
    str | None, typer.Option("--plot", help="Draw the stability paths (selection probability "
                             "against k, log axis) to this .png or .svg file.")
]

# --- the options of predict and inspect -----------------------------------------------------------
ModelPath = Annotated[str, typer.Argument(metavar="MODEL",
                                          help="A model file written by select --model-out.")]
Keep = Annotated[
    str | None,
    typer.Option(help="Comma list of input columns (e.g. IDs) copied to the output first."),
]


# --- flag values to the core's values -------------------------------------------------------------
def _parse_lambda_start(text: str) -> float | None:
    if text.strip().lower() == "auto":
        return None
    try:
        value = _number(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is neither 'auto' nor a number",
                                 param_hint="--lambda-start") from None
    return value


def _number(text: str) -> float:
    """A number as written (ValueError otherwise): float() reads '1_0' as 10, which no one
    means (--k-grid refuses it too)."""
    if "_" in text:
        raise ValueError(text)
    return float(text)


def parse_M(text: str | None) -> float | list[float] | None:
    """--M: one number, or a comma list of them (a grid)."""
    if text is None:
        return None
    values = []
    for part in (p.strip() for p in text.split(",")):
        try:
            values.append(_number(part))
        except ValueError:
            raise typer.BadParameter(f"{part!r} is not a number", param_hint="--M") from None
    return values[0] if len(values) == 1 else values


def parse_options(
    task: Task, backbone: str, M: str | None, dropout: float, lambda_start: str,
    path_multiplier: float, max_epochs: int | None, patience: int, optimizer: Optimizer,
    lr: float | None, batch_size: int | None, val_fraction: float, seed: int, device: Device,
    missing: Missing, categorical: str | None, max_levels: int, rule: str = "best",
    k: int | None = None, cv: int | str | None = None, relax: bool = True,
    ties: Ties | None = None, image_shape: str | None = None, survival: bool = False,
):
    """The checked ``options.Options`` of the flags (before any data are read); ``survival``:
    whether --time was given (then --task auto is cox)."""
    from .options import Options

    if ties is not None and not (task == Task.cox or (task == Task.auto and survival)):
        raise typer.BadParameter("applies to the cox task only (--task cox, or --time and "
                                 "--event)", param_hint="--ties")

    return Options.check(dict(
        task=task.value, backbone=backbone, M=parse_M(M), dropout=dropout,
        lambda_start=_parse_lambda_start(lambda_start), path_multiplier=path_multiplier,
        max_epochs=max_epochs, patience=patience, optimizer=optimizer.value, lr=lr,
        batch_size=batch_size, relax=relax, val_fraction=val_fraction, rule=rule, k=k, cv=cv,
        missing=missing.value, categorical=parse_names(categorical), groups=None,
        max_levels=max_levels, seed=seed, device=device.value, ties=(ties or Ties.efron).value,
        image_shape=image_shape,
    ))


def parse_separator(sep: str | None) -> str | None:
    if sep is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(sep.lower(), sep)
    if len(value) != 1:
        raise typer.BadParameter(f"{sep!r} is not a single character (or tab)", param_hint="--sep")
    if value.isalnum() or value in "\"'\r\n.+-":
        raise typer.BadParameter(f"{sep!r} cannot separate columns: letters, digits, quotes, "
                                 "signs and decimal points are parts of values (use , ; tab | or "
                                 "another mark)", param_hint="--sep")
    return value


def parse_names(text: str | None) -> list[str]:
    """The column names of a comma list (--categorical, --keep; CSV quoting, see
    ``columns.comma_list``), each once, in order."""
    from .columns import comma_list

    return list(dict.fromkeys(comma_list(text))) if text else []


def parse_values(text: str | None) -> list[str]:
    """The cell values of --na-values, each once, in order: split at commas as they are (a
    quote is a value like any other, e.g. --na-values '",?')."""
    values = (v.strip() for v in text.split(",")) if text else ()
    return list(dict.fromkeys(v for v in values if v))


def parse_decimal(mark: str) -> str:
    if mark not in (".", ","):
        raise typer.BadParameter(f"{mark!r} is not a decimal mark: use '.' or ','",
                                 param_hint="--decimal")
    return mark
