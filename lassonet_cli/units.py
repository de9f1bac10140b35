"""The units the path selects: columns, user-given groups of columns, or conv1's filters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .encoding import Encoder
from .errors import DataError
from .prox import GroupLayout


@dataclass(frozen=True)
class Units:
    """What the path selects: a column, a user-given group of columns, or a conv1 filter.

    Attributes
    ----------
    names : unit names (a group's name, the column's own name, or ``filter_00``, ...)
    of_column : for every column (encoder order), the index of its unit; None for filters,
        which every column feeds
    """

    names: list[str]
    of_column: list[int] | None

    @classmethod
    def filters(cls, n: int) -> Units:
        """conv1's ``n`` filters: ``filter_00``, ``filter_01``, ... (wider when n > 100)."""
        width = max(2, len(str(n - 1)))
        return cls([f"filter_{j:0{width}d}" for j in range(n)], None)

    @classmethod
    def of(cls, columns: list[str], groups: dict[str, str] | None) -> Units:
        groups = groups or {}
        names: list[str] = []
        index: dict[str, int] = {}
        of_column = []
        for column in columns:
            name = groups.get(column, column)
            if column not in groups and name in groups.values():
                raise DataError(f"group name {name!r} is also an ungrouped column: rename it")
            if name not in index:
                index[name] = len(names)
                names.append(name)
            of_column.append(index[name])
        return cls(names, of_column)

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def noun(self) -> str:
        """What the units are called in messages and figures: 'filters', 'groups and
        features' (user-given groups, each one unit) or 'features'."""
        if self.of_column is None:
            return "filters"
        return "groups and features" if self.n < len(self.of_column) else "features"

    def columns_of(self, picked) -> np.ndarray:
        """The columns (encoder order) of the units ``picked`` (indices into ``names``)."""
        return np.flatnonzero(np.isin(np.asarray(self.of_column), np.asarray(picked)))

    def model_units(self, encoder: Encoder, picked) -> np.ndarray:
        """The model's units behind the units ``picked`` (indices into ``names``): the model
        inputs of their columns (``Encoder.inputs_of``; a categorical column has several), or
        the filters themselves; what a model's ``refit_network`` reads."""
        if self.of_column is None:
            return np.asarray(picked, dtype=np.int64)
        return encoder.inputs_of(self.columns_of(picked))

    def layout(self, encoder: Encoder) -> GroupLayout | None:
        """The group layout over model inputs; None when every unit is a single input (or
        the units are filters)."""
        if self.of_column is None or len(encoder.input_names) == self.n:
            return None
        return GroupLayout.from_assignment(
            [self.of_column[j] for j in encoder.unit_of_input], self.names
        )
