"""X as the Python API takes it: an array or a DataFrame, turned into a DataFrame and checked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError


def as_frame(X, columns: list[str] | None = None, named: bool = True) -> pd.DataFrame:
    """X as a DataFrame: a DataFrame as it is; an array with ``columns`` (checked against its
    width, see ``check_width`` for ``named``), by default x0, x1, ... (a DataFrame without text
    names, too).  Columns of an object array that hold only numbers are numeric; sparse
    matrices, complex numbers and empty tables are refused."""
    if isinstance(X, pd.DataFrame):
        frame = named_columns(X)
    else:
        if type(X).__module__.startswith("scipy.sparse"):
            raise TypeError("X is a sparse matrix; LassoNet reads dense input: pass X.toarray() "
                            "or a DataFrame")
        values = np.asarray(X)
        if values.ndim != 2:
            raise ConfigError("X must be two-dimensional (rows x features)")
        if np.iscomplexobj(values):
            raise DataError("X holds complex numbers: LassoNet reads real ones")
        if columns is not None:
            check_width(values, len(columns), named)
        names = columns if columns is not None else [f"x{i}" for i in range(values.shape[1])]
        frame = pd.DataFrame(values, columns=names)
        if values.dtype == object:  # a number in an object array is a number, not a level
            frame = frame.infer_objects()
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError(f"X has {frame.shape[0]} row(s) and {frame.shape[1]} column(s): "
                        "LassoNet needs at least one of each")
    return frame


def named_columns(X: pd.DataFrame) -> pd.DataFrame:
    """A DataFrame whose column names are all text, as it is (each name once); one without
    text names (``pd.DataFrame(array)``: 0, 1, ...) with the positions' names x0, x1, ...
    as an array gets them (scikit-learn, too, takes only text names as names)."""
    complex_columns = [c for c, dtype in X.dtypes.items() if dtype.kind == "c"]
    if complex_columns:
        raise DataError(f"X's column {complex_columns[0]!r} holds complex numbers: LassoNet "
                        "reads real ones")
    text = [isinstance(c, str) for c in X.columns]
    if all(text):
        twice = sorted(set(X.columns[X.columns.duplicated()]))
        if twice:
            raise DataError(f"X names column(s) twice: {', '.join(twice[:5])}: give each "
                            "column its own name")
        return X
    if any(text):
        odd = next(c for c, is_text in zip(X.columns, text, strict=True) if not is_text)
        raise TypeError(f"X's column names mix text and other values ({odd!r}): name every "
                        "column with text, or none (X.columns = X.columns.astype(str))")
    return X.set_axis([f"x{i}" for i in range(X.shape[1])], axis=1)


def check_width(values: np.ndarray | pd.DataFrame, n_columns: int, named: bool = True) -> None:
    """DataError unless ``values`` has ``n_columns`` columns; ``named``: the selector was
    fitted on a DataFrame with text names, so a DataFrame it is given may have more (one
    fitted on an array reads a DataFrame by position, as an array)."""
    if values.ndim != 2 or values.shape[1] != n_columns:
        shape = "x".join(str(v) for v in values.shape)
        hint = ("a DataFrame may have more" if named else "fitted without column names, it "
                "reads a DataFrame by position too")
        raise DataError(f"X has shape {shape}; the selector was fitted on {n_columns} "
                        f"column(s): pass rows of those columns ({hint})")
