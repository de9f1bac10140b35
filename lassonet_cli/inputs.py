"""X as the Python API takes it: an array or a DataFrame, turned into a DataFrame and checked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError


def as_frame(X, columns: list[str] | None = None) -> pd.DataFrame:
    """X as a DataFrame: a DataFrame as it is; an array with ``columns`` (checked against its
    width), by default x0, x1, ...  Columns of an object array that hold only numbers are
    numeric; sparse matrices, complex numbers and empty tables are refused."""
    if isinstance(X, pd.DataFrame):
        frame = X
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
            check_width(values, len(columns))
        names = columns if columns is not None else [f"x{i}" for i in range(values.shape[1])]
        frame = pd.DataFrame(values, columns=names)
        if values.dtype == object:  # a number in an object array is a number, not a level
            frame = frame.infer_objects()
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError(f"X has {frame.shape[0]} row(s) and {frame.shape[1]} column(s): "
                        "LassoNet needs at least one of each")
    return frame


def check_width(values: np.ndarray | pd.DataFrame, n_columns: int) -> None:
    if values.ndim != 2 or values.shape[1] != n_columns:
        shape = "x".join(str(v) for v in values.shape)
        raise DataError(f"X has shape {shape}; the selector was fitted on {n_columns} "
                        "column(s): pass rows of those columns (a DataFrame may have more)")
