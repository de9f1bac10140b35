"""The input of a command: the table read with the text options, its columns chosen and
checked; torch's threads and seed."""

from __future__ import annotations

import typer

from .cli_options import Missing, parse_decimal, parse_names, parse_separator, parse_values
from .runs import check_threads

SMALL_TABLE_CELLS = 1 << 22  # --threads' default: one thread for tables up to this size


def read_input(data, input_format, sep: str | None, encoding: str, na_values: str | None,
               decimal: str, as_text=None):
    """The input table, read with the text options (``--sep``, ``--na-values``, ...);
    ``as_text`` as ``read.read_table`` takes it."""
    from .read import read_table

    return read_table(data, input_format.value if input_format else None,
                      parse_separator(sep), encoding, na_values=parse_values(na_values) or None,
                      decimal=parse_decimal(decimal), as_text=as_text)


def read_prepared(data, input_format, target, features, exclude, id_column, task: str,
                  threads: int | None, missing: Missing, categorical: str | None,
                  max_levels: int, sep: str | None, encoding: str,
                  time: str | None = None, event: str | None = None, options=None,
                  constant: str = "set_aside", na_values: str | None = None,
                  decimal: str = "."):
    """Read the table, resolve the columns, check them; set the threads.

    ``task``: as ``columns.resolve_task`` returned it.  The notes in ``prepared.notes`` are printed
    by the caller once every check has passed, so a failing run prints only its error line.
    ``options``: the selection's ``options.Options``; its ``check_columns`` (images for a conv
    backbone) runs here, and with an image shape constant columns are kept.  ``constant``:
    what ``checks.check_table`` does with constant columns otherwise.
    """
    from .checks import check_table
    from .columns import find_columns, select_columns

    df = read_input(data, input_format, sep, encoding, na_values, decimal)
    selection = select_columns(df, target, features, exclude, id_column, time, event)
    # (a name as --target finds it: ' b' for b in a header written 'a, b')
    forced = find_columns(parse_names(categorical), list(df.columns))
    images = options is not None and options.image_shape is not None
    prepared = check_table(df, selection, task, missing.value, forced, max_levels,
                          constant="keep" if images else constant)
    prepared.id_column = selection.id
    prepared.notes[:0] = [f"--features names {column!r}, the {option} column: it is not a "
                          "feature" for column, option in selection.not_features.items()]
    if options is not None:
        options.check_columns(list(prepared.X.columns), prepared.task, prepared.categorical,
                               prepared.gappy, len(prepared.X))
    if threads is None and prepared.X.size <= SMALL_TABLE_CELLS:
        import torch

        torch.set_num_threads(1)
    return prepared


def user_groups(path: str | None, prepared) -> dict[str, str] | None:
    """The --groups file (feature -> group) checked against the feature columns (those dropped
    as constant may be named, and are left out); None without."""
    if path is None:
        return None
    from .read import read_groups

    roles = {prepared.id_column: "--id"} if prepared.id_column is not None else {}
    if prepared.y is not None and prepared.y.ndim == 2:  # cox: (time, event)
        roles.update(zip(prepared.y.columns, ("--time", "--event"), strict=True))
    elif prepared.y is not None:
        roles[prepared.y.name] = "--target"
    groups = read_groups(path, [*prepared.X.columns, *prepared.dropped], roles)
    return {c: g for c, g in groups.items() if c not in prepared.dropped} or None


def setup_torch(threads: int | None, seed: int) -> None:
    """Give torch --threads (checked; None: torch's choice) and --seed."""
    import torch

    if threads is not None:
        check_threads(threads)
        torch.set_num_threads(threads)
    torch.manual_seed(seed)


def figure_format(path: str | None, option: str) -> str | None:
    """'png' or 'svg' for a figure file given by ``option`` (None: no figure), checked before
    any work, matplotlib included."""
    if path is None:
        return None
    from pathlib import Path as FilePath

    from .plot import PLOT_FORMATS, require_matplotlib

    suffix = FilePath(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise typer.BadParameter("the figure file must end in .png or .svg", param_hint=option)
    require_matplotlib(option)
    return suffix[1:]
