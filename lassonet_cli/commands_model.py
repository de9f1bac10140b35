"""The commands that use a saved model file: ``predict`` (new rows) and ``inspect`` (what the
model is).

Heavy libraries (torch, pandas) and the core are imported inside the commands, so that
``--help`` stays fast; ``inspect`` reads the file's header alone and never imports torch.
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated

import typer

from .cli_input import read_input, setup_torch
from .cli_options import (
    Data,
    Debug,
    DecimalMark,
    Encoding,
    Format,
    InputFormatOpt,
    Keep,
    Missing,
    ModelPath,
    NaValues,
    Output,
    PredictMissing,
    Quiet,
    Sep,
    Threads,
    parse_names,
)
from .signals import committing

PREDICT_HELP = (
    "Predict new rows with a saved model.\n\n"
    "Writes one row per input row: the training table's --id column (where the input has "
    "it) and the --keep columns, `prediction` (the class label as in the "
    "training data, the value, or for cox the risk score: log relative hazard, higher = "
    "earlier event), and for classification one `proba_<label>` column per class; a "
    "reconstruction model writes `<column>_hat` for every feature column instead. The input "
    "needs the columns the chosen model reads (those inspect lists as selected); other "
    "columns are ignored.\n\n"
    "Example: lassonet predict model.safetensors new.csv --keep id > predictions.csv"
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
    missing: PredictMissing = Missing.error,
    quiet: Quiet = False,
) -> None:
    import pandas as pd

    from .checks import check_present
    from .columns import find_columns
    from .encoding import UnseenLevelWarning
    from .estimator import Selector
    from .io import check_outputs, output_format, write_table

    out_format = output_format(output, format.value if format else None)
    check_outputs({"the model": model, "the input": data}, output, out_format)
    setup_torch(threads, 0)
    selector = Selector.load(model)
    id_column = selector.header_.get("id_column")

    def passed_through(names: list[str]) -> list[str]:
        """The --keep and id columns the model does not read: read as written (a number
        would write ID '007' as 7, and 9007199254740993 as ...992)."""
        wanted = find_columns(parse_names(keep), names) + [id_column]
        return [c for c in names if c in wanted and c not in selector.encoder_.columns]

    df = read_input(data, input_format, sep, encoding, na_values, decimal,
                    as_text=passed_through)
    columns = list(selector.encoder_.columns)
    impute = missing == Missing.impute
    check_present(df, selector.read_columns())  # (predict_table checks the values)
    columns = [c for c in columns if c in df.columns]  # (those the model does not read may lack)
    if keep is not None and not parse_names(keep):
        raise typer.BadParameter("names no column: name the input columns to copy to the "
                                 "output, or leave --keep out", param_hint="--keep")
    # a column named twice is kept once (as --features and --exclude take their lists)
    kept = find_columns(parse_names(keep), list(df.columns))
    absent = [c for c in kept if c not in df.columns]
    if absent:
        raise typer.BadParameter(f"no column(s) {', '.join(absent)} in the input",
                                 param_hint="--keep")
    with warnings.catch_warnings():  # (the Python API's warning: a note below says it)
        warnings.simplefilter("ignore", UnseenLevelWarning)
        predictions = selector.predict_table(df[columns], impute=impute)
    # the training table's --id column leads, where the input has it (unless an output column
    # has its name: then it is left out, with a note, as --keep could not bring it)
    if id_column in df.columns and id_column not in kept:
        if id_column in predictions.columns:
            if not quiet:
                sys.stderr.write(f"note: the id column {id_column!r} is not passed through: an "
                                 "output column has its name\n")
        else:
            kept.insert(0, id_column)
    result = df[kept].reset_index(drop=True) if kept else pd.DataFrame(index=range(len(df)))
    if df.attrs.get("format") != "parquet":  # (a Parquet float column is as written)
        result = _integers_with_gaps(_numbers_as_written(result))
    clash = [c for c in predictions.columns if c in result.columns]
    if clash:
        raise typer.BadParameter(f"column(s) {', '.join(clash)} would be written twice",
                                 param_hint="--keep")
    result = pd.concat([result, predictions], axis=1)
    unseen = selector.encoder_.unseen_levels_text(df[columns])
    if unseen and not quiet:
        sys.stderr.write(f"note: {unseen}\n")
    if impute and not quiet:
        filled = _gaps_without_fill(df, selector.encoder_)
        if filled:
            sys.stderr.write(
                f"note: filled {sum(filled.values())} gap(s) in {', '.join(filled)}, which the "
                "model was trained without gaps in (numbers: the training mean; categories: "
                "none of the levels)\n")
    with committing():
        write_table(result, output, out_format)


def _numbers_as_written(frame):
    """``frame`` with its text columns (the passed-through ones of a text table) as numbers
    where every cell is a number that is written back as it reads: IDs 100, 101 stay numbers
    (in JSON, say), '007', '1.50' or '2e3' stay text."""
    import pandas as pd

    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_string_dtype(column) or column.isna().all():
            continue
        cells = column.dropna()
        if not all(isinstance(cell, str) for cell in cells):
            continue
        numbers = pd.to_numeric(cells, errors="coerce")
        if numbers.isna().any():
            continue
        if numbers.dtype.kind == "i":
            written, typed = numbers.astype(str), numbers.astype("Int64")
        elif numbers.dtype.kind == "f":
            written, typed = numbers.map(lambda v: str(float(v))), numbers
        else:  # (beyond int64: text)
            continue
        if (written == cells).all():
            frame[name] = typed.reindex(column.index)
    return frame


def _integers_with_gaps(frame):
    """``frame`` with its float columns that hold integers and gaps as nullable integers: a
    text table's column of IDs 100, 101, '' reads as floats, and --keep wrote 100.0."""
    from .encoding import whole_numbers

    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind != "f" or not column.isna().any():
            continue
        if whole_numbers(column.dropna().to_numpy()).all():
            frame[name] = column.astype("Int64")
    return frame


def _gaps_without_fill(df, encoder) -> dict[str, int]:
    """{column: gaps} in the columns whose training had no gaps (``--missing impute``)."""
    from .checks import column_gaps

    counts = {c.name: column_gaps(df[c.name], c.kind) for c in encoder.codes
              if c.fill is None and c.name in df.columns}
    return {name: n for name, n in counts.items() if n}


INSPECT_HELP = (
    "Describe a saved model: task, backbone, lambda, M, the selected features with their "
    "importances, the validation score and the version that wrote it.\n\n"
    "Example: lassonet inspect model.safetensors --json"
)


def inspect(
    model: ModelPath,
    json_output: Annotated[bool, typer.Option("--json", help="Print the header as JSON.")] = False,
    debug: Debug = False,
) -> None:
    import json
    import math

    from .io import printable, write_stdout
    from .modelfile import check_weights, read_header

    # the header, checked against the tensors' shapes, and the weights read by numpy: no torch
    header, shapes = read_header(model)
    check_weights(model, header)
    n_parameters = sum(math.prod(shape) for shape in shapes.values())
    if json_output:
        write_stdout((json.dumps(header, indent=1, sort_keys=True) + "\n").encode())
        return
    point = header["point"]
    task = header["task"]
    lines = [
        f"model file      {printable(str(model))}",
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
            shown = printable(name)
            lines.append(f"  {shown:<30} {'inf' if value is None else format(value, '.6g')}")
    write_stdout(("\n".join(lines) + "\n").encode())


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
