"""Encoding feature columns as model inputs, fitted on the training rows.

A numeric column is one input, a categorical column one input per level (one-hot), each
followed by a missing-indicator where gaps are imputed; every input is standardised with
training statistics.  ``fit_encoder`` learns an ``Encoder`` from the training rows,
``Encoder.transform`` applies it, at training and at predict time alike.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .read import row_chunks

# the fill of a categorical column's gaps at predict time where training had none: a level no
# table holds (a NUL first), so that the gap sets none of the one-hot inputs
GAP_LEVEL = "\x00gap"


@dataclass
class ColumnCode:
    """How one input column becomes model inputs.

    Attributes
    ----------
    name : the column
    kind : 'numeric' (one input) or 'categorical' (one-hot: one input per level)
    levels : the categorical levels seen in training, as text
    fill : value put into gaps (training median, or most frequent level); None: gaps are an error
    indicator : whether a 0/1 'missing' input follows, in the column's group
    """

    name: str
    kind: str
    levels: list[str] = field(default_factory=list)
    fill: float | str | None = None
    indicator: bool = False

    @property
    def input_names(self) -> list[str]:
        names = [self.name] if self.kind == "numeric" else [f"{self.name}={v}" for v in self.levels]
        return names + ([f"{self.name}:missing"] if self.indicator else [])

    def raw(self, series: pd.Series) -> np.ndarray:
        """(n, inputs) unstandardised inputs (a level training did not see: none of the
        levels; ``Encoder.unseen_levels`` counts them)."""
        if self.kind == "numeric":
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
            gaps = ~np.isfinite(values)
            if self.fill is not None:
                values = np.where(gaps, self.fill, values)
            columns = [values]
        else:
            gaps = series.isna().to_numpy()
            text = level_text(series)
            if self.fill is not None:
                text = np.where(gaps, str(self.fill), text)
            onehot = (text[:, None] == np.asarray(self.levels, dtype=object)[None, :])
            columns = list(onehot.T.astype(np.float64))
        if self.indicator:
            columns.append(gaps.astype(np.float64))
        return np.column_stack(columns)

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "levels": list(self.levels),
                "fill": self.fill, "indicator": self.indicator}


@dataclass
class Encoder:
    """Training-set preprocessing of the feature columns, applied the same way at predict time.

    Every input of the model is standardised with training statistics: numeric columns, the
    one-hot levels of categorical columns and the missing-indicators alike.

    Attributes
    ----------
    codes : one ColumnCode per input column, in model order
    mean, scale : (inputs,) standardisation statistics from the training rows
    """

    codes: list[ColumnCode]
    mean: np.ndarray
    scale: np.ndarray

    @property
    def columns(self) -> list[str]:
        """The input table's columns the model uses (one selectable unit each)."""
        return [c.name for c in self.codes]

    @property
    def input_names(self) -> list[str]:
        return [name for c in self.codes for name in c.input_names]

    @property
    def unit_of_input(self) -> list[int]:
        """For every model input, the index of the column it comes from."""
        return [j for j, c in enumerate(self.codes) for _ in c.input_names]

    @property
    def first_inputs(self) -> np.ndarray:
        """For every column, the index of its first model input."""
        return np.cumsum([0] + [len(c.input_names) for c in self.codes])[:-1]

    def inputs_of(self, units) -> np.ndarray:
        """Model-input indices of the given columns (by index)."""
        owner = np.asarray(self.unit_of_input)
        return np.flatnonzero(np.isin(owner, np.asarray(units, dtype=np.int64)))

    def raw(self, df: pd.DataFrame) -> np.ndarray:
        """(n, inputs) unstandardised matrix."""
        if all(c.kind == "numeric" and c.fill is None and not c.indicator for c in self.codes):
            # plain numeric tables (the common, and the wide, case): one conversion, no loop
            return df[self.columns].to_numpy(dtype=np.float64)
        return np.column_stack([code.raw(df[code.name]) for code in self.codes])

    def unseen_levels_text(self, df: pd.DataFrame) -> str | None:
        """One line for the rows of ``df`` with category levels that training did not see
        (encoded as none of the levels), naming each column and a few of its new levels; a
        column none of whose values training saw (upper case where training had lower, say)
        is singled out.  None where every level was seen."""
        rows, columns = self.unseen_levels(df)
        if not rows:
            return None
        shown = "; ".join(f"{name} ({', '.join(repr(v) for v in levels)}"
                          f"{', none of its values seen in training' if alien else ''})"
                          for name, (levels, alien) in columns.items())
        return (f"{rows} row(s) have a category level not seen in training, encoded as none "
                f"of the levels: {shown}")

    def unseen_levels(self, df: pd.DataFrame) -> tuple[int, dict[str, tuple[list[str], bool]]]:
        """Rows with a category level the training rows did not have, and per such column
        (a few of) its unseen levels and whether none of its values was seen in training."""
        rows = np.zeros(len(df), dtype=bool)
        columns = {}
        for code in self.codes:
            if code.kind == "numeric" or code.name not in df.columns:
                continue
            text, present = level_text(df[code.name]), ~df[code.name].isna().to_numpy()
            unseen = ~np.isin(text, code.levels) & present
            if unseen.any():
                rows |= unseen
                levels = list(dict.fromkeys(text[unseen]))
                columns[code.name] = (levels[:3], bool(unseen[present].all()))
        return int(rows.sum()), columns

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """(n, inputs) float32 matrix of standardised inputs (computed in row chunks, so a tall
        table needs no float64 copy of itself).

        A value beyond float32's range after standardising (1e300 in a column that was
        constant in the training rows, so not scaled) is clipped to the largest float32, not
        turned into inf.
        """
        out = np.empty((len(df), len(self.mean)), dtype=np.float32)
        largest = np.finfo(np.float32).max
        for rows in row_chunks(len(df), len(self.mean)):
            raw = self.raw(df.iloc[rows])
            with np.errstate(over="ignore"):  # beyond float64 is beyond float32: clipped
                z = (raw - self.mean) / self.scale
                # -1e308 - 1e308 overflows though its standardised value need not: scale first
                lost = np.isinf(z) & np.isfinite(raw)
                if lost.any():
                    z[lost] = (raw / self.scale - self.mean / self.scale)[lost]
            out[rows] = np.clip(z, -largest, largest, out=z)
        return out

    def placeholders(self, columns: list[str]) -> dict[str, float | str]:
        """{column: a value} that encodes without a gap or an unseen level (a numeric column's
        training mean, a categorical one's first level), for ``columns`` a model does not read
        and an input lacks."""
        wanted = set(columns)
        return {code.name: float(self.mean[start])
                if code.kind == "numeric" or not code.levels else code.levels[0]
                for code, start in zip(self.codes, self.first_inputs, strict=True)
                if code.name in wanted}

    def filling_gaps(self) -> Encoder:
        """This encoder with a fill for every column (``predict --missing impute``): a numeric
        column trained without gaps gets its training mean, a categorical one none of its
        levels (all its one-hot inputs 0, as an unseen level); columns with a fill keep it."""
        codes = []
        for code, start in zip(self.codes, self.first_inputs, strict=True):
            fill = code.fill
            if fill is None:
                fill = float(self.mean[start]) if code.kind == "numeric" else GAP_LEVEL
            codes.append(dataclasses.replace(code, fill=fill))
        return Encoder(codes, self.mean, self.scale)

    def to_dict(self) -> dict:
        return {
            "columns": self.columns,
            "codes": [c.to_dict() for c in self.codes],
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
        }

    @classmethod
    def from_dict(cls, spec: dict) -> Encoder:
        # (a file written before whole numbers written as floats were numbers has the levels
        # '1.0', '2.0': as ``level_text`` now reads such cells)
        def level(text):
            return (_number_level(text) or text) if isinstance(text, str) else text

        codes = [ColumnCode(name=c["name"], kind=c["kind"],
                            levels=[level(v) for v in c["levels"]],
                            fill=level(c["fill"]) if c["kind"] == "categorical" else c["fill"],
                            indicator=bool(c["indicator"]))
                 for c in spec["codes"]]
        encoder = cls(codes, np.asarray(spec["mean"], dtype=np.float64),
                      np.asarray(spec["scale"], dtype=np.float64))
        if len(encoder.mean) != len(encoder.input_names) or len(encoder.scale) != len(encoder.mean):
            raise ValueError("encoder statistics do not match its columns")
        return encoder


class UnseenLevelWarning(UserWarning):
    """Rows with category levels training did not see (``Encoder.unseen_levels_text``)."""


def whole_numbers(values: np.ndarray) -> np.ndarray:
    """Which of ``values`` (floats) are finite whole numbers that int64 holds exactly: the
    integers a column held before a gap made it floats."""
    return np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2.0**62)


def level_text(series: pd.Series) -> np.ndarray:
    """Category levels as text; numbers the same whether read as int or float (1 and 1.0)."""
    categories = series.cat.categories if isinstance(series.dtype, pd.CategoricalDtype) else None
    if categories is not None and pd.api.types.is_numeric_dtype(categories) \
            and not pd.api.types.is_bool_dtype(categories):
        # a category column of numbers reads as its numbers do: 1.0 (an int column with a gap,
        # made a category) is '1', as the same column read from a file or without gaps
        codes = series.cat.codes.to_numpy()
        text = level_text(pd.Series(categories))
        return np.where(codes >= 0, text[np.maximum(codes, 0)], "")
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        integral = whole_numbers(values)
        out = np.full(len(values), "", dtype=object)
        out[integral] = values[integral].astype(np.int64).astype(str)
        out[finite & ~integral] = values[finite & ~integral].astype(str)
        return out
    text = np.asarray(series.astype(str).to_numpy(), dtype=object)
    # the same level as the number read as a number: numbers among text (a spreadsheet's
    # column of 1.0, 2.0 and 'unknown', in pandas) and whole numbers written as floats ('2.0',
    # as pandas writes a float column) are '1', '2'; decided once per distinct value
    codes, distinct = pd.factorize(series)
    renamed = {j: _number_level(value) for j, value in enumerate(distinct)}
    renamed = {j: level for j, level in renamed.items() if level is not None}
    if renamed:
        table = np.asarray([renamed.get(j) for j in range(len(distinct))], dtype=object)
        hit = codes >= 0
        hit[hit] = np.isin(codes[hit], list(renamed))
        text[hit] = table[codes[hit]]
    return text


def _number_level(value) -> str | None:
    """The level of a number (1.0 -> '1') or of a whole number's text ('2.0' -> '2', '-0.00'
    -> '0') as ``level_text`` writes a numeric column's; None for other values."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
        return level_text(pd.Series([float(value)]))[0]
    if isinstance(value, str) and _WHOLE.fullmatch(value):
        digits = value.split(".")[0].lstrip("-").lstrip("0") or "0"
        return digits if digits == "0" or not value.startswith("-") else "-" + digits
    return None


_WHOLE = re.compile(r"-?\d+\.0+")


def fit_encoder(
    X: pd.DataFrame,
    categorical: list[str] | None = None,
    gappy: list[str] | None = None,
    rows: np.ndarray | None = None,
    channels: int | None = None,
) -> Encoder:
    """Codes and standardisation statistics from the training rows.

    ``categorical``: columns to one-hot encode (levels seen in these rows, sorted as text);
    ``gappy``: columns that get a fill value (median / most frequent level) and an indicator;
    ``rows``: the training rows of ``X`` (default all), read in chunks rather than copied;
    ``channels``: the columns are the pixels of images with this many channels (channel-major):
    one mean and scale per channel instead of per column, so that the pixels of one image keep
    their relative values (a near-constant border pixel is not blown up to unit variance).
    """
    categorical, gappy = set(categorical or []), set(gappy or [])
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    codes = []
    for name in X.columns:
        if name in categorical:
            series = X[name].iloc[rows]
            text = pd.Series(level_text(series.dropna()), dtype=object)
            levels = sorted(text.unique().tolist())
            fill = None
            if name in gappy:  # the most frequent level; ties go to the first in sorted order
                fill = text.value_counts().sort_index().idxmax() if len(text) else ""
            codes.append(ColumnCode(name, "categorical", levels, fill, name in gappy))
        else:
            fill = None
            if name in gappy:
                series = X[name].iloc[rows]
                values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
                finite = values[np.isfinite(values)]
                fill = _median(finite) if len(finite) else 0.0
            codes.append(ColumnCode(name, "numeric", [], fill, name in gappy))
    encoder = Encoder(codes, np.zeros(0), np.zeros(0))
    mean, std, constant = _column_moments(encoder, X, rows)
    scale = std.copy()
    scale[constant] = 1.0
    if channels is not None:
        # pooled over each channel's pixels (every column has the same rows); a channel whose
        # statistics reach 1e150 is pooled in units of its largest, so that squares of values
        # near 1e300 do not overflow (other channels: unit 1, the same arithmetic as ever)
        width = len(mean) // channels
        pixel_mean, pixel_std = mean.reshape(channels, width), std.reshape(channels, width)
        unit = np.maximum(np.abs(pixel_mean), pixel_std).max(axis=1, keepdims=True)
        unit[~(unit > 1e150)] = 1.0
        pixel_mean, pixel_std = pixel_mean / unit, pixel_std / unit
        channel_mean = pixel_mean.mean(axis=1)
        channel_var = (pixel_std**2 + pixel_mean**2).mean(axis=1) - channel_mean**2
        mean = np.repeat(channel_mean * unit[:, 0], width)
        scale = np.repeat(np.sqrt(np.maximum(channel_var, 0.0)) * unit[:, 0], width)
        scale[~(scale > 0)] = 1.0
    encoder.mean, encoder.scale = mean, scale
    return encoder


def _median(values: np.ndarray) -> float:
    """The median of finite ``values`` (at least one), as ``np.median`` gives it, but finite
    where two middle values near 1e308 would make their mean overflow: a/2 + b/2 rounds as
    (a + b)/2 does (halving is exact above the subnormals), and stays in range."""
    middle = (len(values) - 1) // 2
    ordered = np.partition(values, [middle, len(values) // 2])
    low, high = ordered[middle], ordered[len(values) // 2]
    return float(low) if len(values) % 2 else float(low / 2 + high / 2)


def _column_moments(encoder: Encoder, X: pd.DataFrame, rows: np.ndarray) -> tuple[
    np.ndarray, np.ndarray, np.ndarray
]:
    """Mean, standard deviation and constancy of every encoded input over ``rows``, in row
    chunks.

    Three passes (largest magnitude and range, mean, variance), each over chunks of the
    encoded rows; values are divided by the column's largest magnitude first so that values
    near 1e300 do not overflow.  A column is constant when its range is 0 (its std is 0 only up
    to rounding: 1e-17 for 0.1, 0.1, 0.1).
    """
    width = len(encoder.input_names)
    if not len(rows):
        return np.zeros(width), np.ones(width), np.zeros(width, dtype=bool)
    chunks = list(row_chunks(len(rows), width))

    def blocks():
        for part in chunks:
            yield encoder.raw(X.iloc[rows[part]])

    low, high = np.full(width, np.inf), np.full(width, -np.inf)
    for values in blocks():
        low, high = np.minimum(low, values.min(axis=0)), np.maximum(high, values.max(axis=0))
    magnitude = np.maximum(np.abs(low), np.abs(high))
    magnitude[~(magnitude > 0)] = 1.0
    total = np.zeros(width)
    for values in blocks():
        total += (values / magnitude).sum(axis=0)
    centre = total / len(rows)
    squares = np.zeros(width)
    for values in blocks():
        squares += ((values / magnitude - centre) ** 2).sum(axis=0)
    mean = centre * magnitude
    std = np.sqrt(squares / len(rows)) * magnitude
    return mean, std, high == low
