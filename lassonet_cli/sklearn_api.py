"""The Python API: ``LassoNetSelector``, the estimator (``estimator.Selector``) as a scikit-learn
estimator.

scikit-learn is an optional extra (SPEC 7, ``pip install 'lassonet-cli[sklearn]'``).  Where it is
installed (1.6 or newer), ``LassoNetSelector`` is a scikit-learn feature selector:
``get_params``/``set_params``, ``clone``, a repr, pipelines, ``get_feature_names_out``,
``set_output`` (``Pipeline.set_output(transform="pandas")``), ``inverse_transform``, and
scikit-learn's input checks of arrays (NaN and infinite values, sparse, complex, 1-D or empty
input, the number of columns), with ``NotFittedError`` before ``fit``; it passes
``sklearn.utils.estimator_checks.check_estimator`` (``tests/test_sklearn.py``).  Without
scikit-learn it is ``Selector`` under this name: fitting, predicting, selecting and saving work
the same.  Either way it has ``stability`` (``stability.StabilityMixin``).

Kept apart from ``estimator`` so that the command line, which uses ``Selector``, never imports
scikit-learn (about a second of start-up).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ConfigError
from .estimator import Selector
from .stability import StabilityMixin

try:
    from sklearn.base import BaseEstimator
    from sklearn.feature_selection import SelectorMixin
    from sklearn.utils.validation import check_array, check_is_fitted, validate_data
except ImportError:  # no scikit-learn, or one older than 1.6 (no validate_data)

    class LassoNetSelector(StabilityMixin, Selector):
        __doc__ = Selector.__doc__

else:

    class LassoNetSelector(StabilityMixin, SelectorMixin, BaseEstimator, Selector):
        __doc__ = Selector.__doc__

        def fit(self, X, y=None, on_point=None, on_run=None) -> LassoNetSelector:
            """Train the path on (X, y) and keep the chosen model (``Selector.fit``)."""
            if y is None and self.task != "reconstruction":  # in scikit-learn's words
                raise ConfigError(f"task={self.task!r} needs y: {type(self).__name__} requires "
                                  "y to be passed, but the target y is None (task="
                                  "'reconstruction' needs none)")
            return super().fit(X, y, on_point, on_run)

        def transform(self, X):
            """Keep the selected columns of X (``Selector.transform``)."""
            return Selector.transform(self, X)

        def _check_fitted(self) -> None:
            check_is_fitted(self)

        def _checked(self, X, reset: bool):
            """scikit-learn's checks of an array (a DataFrame is read by name, and checked by
            ``Selector``); with ``reset`` False also its number of columns."""
            if isinstance(X, pd.DataFrame):
                return X
            X = _na_as_nan(X)
            options = dict(dtype=None, ensure_all_finite=self.missing != "impute")
            if reset:  # two rows: the least a fit needs (the validation split takes the rest)
                return check_array(X, ensure_min_samples=2, **options)
            return validate_data(self, X, reset=False, **options)

        def _get_support_mask(self):
            check_is_fitted(self)
            return self.support_

        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            # gaps are filled with missing='impute'; text and category columns are one-hot
            # encoded (a DataFrame's, or an object array's)
            tags.input_tags.allow_nan = self.missing == "impute"
            tags.input_tags.string = tags.input_tags.categorical = True
            tags.target_tags.required = self.task != "reconstruction"
            return tags


def _na_as_nan(X):
    """An object array's (or nested list's) gaps (``pd.NA``, None, NaN) as NaN: scikit-learn's
    check of gaps compares each cell with itself, which ``pd.NA`` cannot answer (a TypeError).
    """
    if type(X).__module__.startswith("scipy.sparse") or isinstance(X, np.ndarray) and (
            X.dtype != object):
        return X
    values = np.asarray(X)
    if values.dtype != object:
        return X
    gaps = pd.isna(values)
    if not gaps.any():
        return X
    values = values.copy()
    values[gaps] = np.nan
    return values

