"""The estimator over the path driver: ``Selector`` fits, predicts, selects, saves and loads.

    >>> from lassonet_cli import LassoNetSelector
    >>> sel = LassoNetSelector(task="regression", seed=0).fit(X, y)
    >>> sel.ranking_[:5], sel.get_support()

``lassonet_cli.LassoNetSelector`` (``sklearn_api``) is the Python API: this ``Selector`` with
scikit-learn's estimator protocol (parameters, cloning, pipelines, ``set_output``, its input
checks) where scikit-learn is installed.  The command line uses ``Selector`` itself, so it never
imports scikit-learn.

Columns: a DataFrame is read by column name when the selector was fitted on a DataFrame
(``feature_names_in_``, extra columns ignored), anything else by position among the
``n_features_in_`` columns fitted on (``input_columns_`` names them: X's names, or x0, x1, ...).

Survival: ``LassoNetSelector(task="cox").fit(X, y)`` with y of shape (n, 2) holding (time, event)
per row (see ``targets.task_target`` for the accepted forms); ``predict`` gives risk scores.
Unsupervised: ``LassoNetSelector(task="reconstruction").fit(X)`` ranks the columns of X by how
well the others can be reconstructed from them; ``predict`` gives the (n, p) reconstruction.

Images: ``LassoNetSelector(backbone="conv:16,32", image_shape="1x32x32").fit(X, y)`` with the
columns of X the pixels in row-major order selects conv1's filters instead of columns: the
units are ``filter_00``, ``filter_01``, ...; ``ranking_`` and ``feature_importances_`` are then
per filter, ``unit_support_`` says which filters are alive, and ``get_support()`` is true for
every pixel (each one feeds every filter).

Columns that carry nothing (``checks.constant_columns``: one value, or a gap, in every row) are
set aside before training, and so are those constant in the training rows once the rows are
split (``prepare.CONSTANT_IN_TRAINING``): they stay in ``feature_names_in_``, rank last in
``ranking_`` (in table order) with importance 0, are never selected, and ``set_aside_`` names
them with the reason.  Image pixels are never set aside.

Choosing the path point: with ``cv='auto'`` (the default) a table of fewer than
``defaults.CV_BELOW_ROWS`` rows is cross-validated with ``defaults.auto_cv_folds`` folds, whose
validation split would be too small to choose by; ``cv_folds_`` says how many were used.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from . import defaults
from .checks import check_features, check_present
from .columns import MAX_LEVELS
from .encoding import Encoder, UnseenLevelWarning
from .errors import ConfigError, DataError, warn
from .evaluate import cross_validated_point
from .inputs import as_frame, check_width, named_columns
from .model import LassoNet
from .options import PARAMETERS, Options, is_int
from .path import PointStates, StateKeeper
from .pathresult import PathPoint, path_records
from .prepare import Table, column_results, prepare_table, set_up_path
from .runs import Runner
from .splits import check_scorable
from .targets import task_target

# cross-validation keeps the full path's model at each point in up to this many bytes, so that
# the chosen point's is at hand after the folds (where it is not, the path runs again up to it)
CV_STATES_BYTES = 512 * 2**20


class Selector:
    """LassoNet feature selection and prediction.

    Parameters
    ----------
    task : 'auto', 'regression', 'classification', 'cox' or 'reconstruction'
    backbone : 'mlp:H1,H2,...', 'linear' or 'conv:C1,C2[:kK]' (needs ``image_shape``)
    M : hierarchy multiplier; None (the default): 10, or 0.1 with a conv backbone; a list of
        values: a path for each, scored as ``cv`` says, and the M whose chosen point scores
        best is kept (``M_scores_``)
    dropout : dropout rate of the backbone's hidden layers
    lambda_start : float, 'auto' or None (None and 'auto': found from the data, see ``path``)
    path_multiplier, max_epochs, patience, optimizer, lr, batch_size : path options
    relax : deliver each path point's model trained without penalty on its own features
        (the relaxed model, see ``relax.Relaxer``); False keeps the penalised models
    val_fraction : share of the rows held out for early stopping and the validation score
    rule : 'best' (the point with the best validation score, or mean cross-validated score), or
        '1se' (the sparsest point within one standard error of the best; needs ``cv=K``)
    k : if given, choose the point with the most features <= k
    cv : how the point is scored: K (>= 2) folds of cross-validation; None or 0, the one
        validation split; 'auto' (the default), ``defaults.auto_cv_folds``: 5 folds when X has
        fewer than ``defaults.CV_BELOW_ROWS`` rows, else the validation split.  The ranking
        comes from the path on the training rows either way.
    seed : seeds initialisation, the validation split and minibatch order
    device : 'cpu', 'cuda', 'mps' or 'auto'
    ties : 'efron' or 'breslow', how the Cox partial likelihood treats tied event times
    image_shape : 'CxHxW' or (C, H, W), the images whose pixels (row-major) are the columns;
        required with a conv backbone, refused with the others
    n_jobs : local processes for the cross-validation folds, or with a grid of M for its
        paths, each with its folds (None: auto, see ``runs``; -1: every core, -2: all but
        one, as in scikit-learn); each run trains with one torch
        thread wherever it runs, so the result does not depend on it
    scheduler : the address of a Dask distributed scheduler ('tcp://host:8786') to run them
        on instead (the ``dask`` extra)
    """

    def __init__(
        self,
        task: str = "auto",
        backbone: str = "mlp:100",
        M: float | None = None,
        dropout: float = 0.0,
        lambda_start: float | None = None,
        path_multiplier: float = defaults.PATH_MULTIPLIER,
        max_epochs: int | None = None,
        patience: int = defaults.PATIENCE,
        optimizer: str = "sgd",
        lr: float | None = None,
        batch_size: int | None = None,
        relax: bool = defaults.RELAX,
        val_fraction: float = 0.1,
        rule: str = "best",
        k: int | None = None,
        cv: int | str | None = "auto",
        missing: str = "error",
        categorical: list[str] | None = None,
        groups: dict[str, str] | None = None,
        max_levels: int = MAX_LEVELS,
        seed: int = 0,
        device: str = "cpu",
        ties: str = "efron",
        image_shape: str | tuple[int, int, int] | None = None,
        n_jobs: int | None = None,
        scheduler: str | None = None,
    ):
        self.task = task
        self.backbone = backbone
        self.M = M
        self.dropout = dropout
        self.lambda_start = lambda_start
        self.path_multiplier = path_multiplier
        self.max_epochs = max_epochs
        self.patience = patience
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.relax = relax
        self.val_fraction = val_fraction
        self.rule = rule
        self.k = k
        self.cv = cv
        self.missing = missing
        self.categorical = categorical
        self.groups = groups
        self.max_levels = max_levels
        self.seed = seed
        self.device = device
        self.ties = ties
        self.image_shape = image_shape
        self.n_jobs = n_jobs
        self.scheduler = scheduler

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        """Raise unless fitted (``sklearn_api`` raises scikit-learn's NotFittedError)."""
        if not self.__sklearn_is_fitted__():
            raise ConfigError(f"this {type(self).__name__} is not fitted yet: call fit first")

    def _checked(self, X, reset: bool):
        """X as ``fit`` (``reset``) or a fitted selector's methods read it; ``sklearn_api``
        adds scikit-learn's checks of arrays here."""
        return X

    @classmethod
    def of(cls, options: Options, runner: Runner | None = None) -> Selector:
        """An unfitted selector with these (checked) options as its parameters, whose
        independent runs (cross-validation folds) go to ``runner`` (default: ``n_jobs`` and
        ``scheduler``)."""
        selector = cls(**options.params())
        selector._validated = (copy.deepcopy(selector._params()), options)
        selector._runner = runner
        return selector

    def _runs(self) -> Runner:
        """Where this selector's independent runs go: the runner ``of`` was given, else
        ``n_jobs`` and ``scheduler`` (checked: ConfigError)."""
        given = getattr(self, "_runner", None)
        if given is not None:
            return given
        jobs = self.n_jobs
        if jobs is not None and not (is_int(jobs) and jobs != 0):
            raise ConfigError("n_jobs must be a nonzero integer (-1: every core, -2: all but "
                              f"one) or None (as the cores allow), got {jobs!r}")
        if jobs is not None and jobs < 0:
            jobs = max(1, (os.cpu_count() or 1) + 1 + jobs)  # scikit-learn's: -1 all cores
        return Runner(None if jobs is None else int(jobs), self.scheduler)

    def _params(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in PARAMETERS}

    def validate(self) -> Options:
        """The parameters, checked (before any data are read); raises ConfigError.  Checked
        once: until a parameter changes, the same options are returned."""
        params = self._params()
        checked = getattr(self, "_validated", None)
        try:
            same = checked is not None and checked[0] == params
        except (TypeError, ValueError):  # an array among the parameters
            same = False
        if not same:
            checked = self._validated = (copy.deepcopy(params), Options.check(params))
        self._runs()  # n_jobs and scheduler, whether or not there are runs to send
        return checked[1]

    def fit(
        self,
        X,
        y=None,
        on_point: Callable[[PathPoint, LassoNet], None] | None = None,
        on_run: Callable[[str], Callable[[PathPoint], None] | None] | None = None,
        on_runs: Callable[[int, int], None] | None = None,
    ) -> Selector:
        """Train the path on (X, y) and keep the chosen model.

        Parameters
        ----------
        X : (n, d) numeric array or DataFrame
        y : (n,) targets (class labels of any type, or numbers); for task='cox' (n, 2) of
            (time, event), event 1 = observed and 0 = censored; None for task='reconstruction'
        on_point : optional callback, called after every point of the path on the training
            rows (the path ``path_`` holds)
        on_run : optional progress display, called as each run of the path starts with its
            name ('path'; with cross-validation, after the folds, 'chosen point': the
            path again up to the chosen point, where its model was not kept, see
            ``CV_STATES_BYTES``); the callback it returns, if any, is called
            after every point of that run (not with a grid of M, see ``_fit_M_grid``)
        on_runs : optional progress display of the cross-validation folds (which run apart,
            see ``runs``), called with (folds done, folds); with a grid of M, of the paths,
            one per M
        """
        options = self.validate()
        table = prepare_table(options, self._checked(X, reset=True), y)
        return self.fit_table(table, on_point, on_run, on_runs)

    def fit_table(self, table: Table, on_point=None, on_run=None, on_runs=None) -> Selector:
        """``fit`` on a table whose columns are checked already (``prepare.Table``: from
        ``prepare_table``, or from the command line's checks through ``checked_table``)."""
        if not isinstance(table, Table):
            raise TypeError(f"fit_table takes a prepare.Table, not {type(table).__name__}: "
                            "call fit(X, y)")
        options = self.validate()
        if options.M_grid is not None:
            return self._fit_M_grid(options, table, on_point, on_run, on_runs)
        setup = set_up_path(options, table)
        table = setup.table  # (its columns constant in the training rows set aside)

        def display(run: str) -> Callable[[PathPoint, LassoNet], None] | None:
            """A path callback that shows the points of ``run`` through ``on_run`` (None: no
            display)."""
            shown = on_run(run) if on_run is not None else None
            return None if shown is None else lambda point, net: shown(point)

        folds = options.cv_folds(len(table.target))
        if folds is None:  # the validation rows choose the point: their score must mean something
            check_scorable(setup.task, table.target, setup.rows[1], "validation",
                           lambda s: f"hold out more with {s('val_fraction')} or cross-validate "
                                     f"with {s('cv', 'K')}")
            keeper = StateKeeper(setup.units.names, options.rule, options.k)
            self.path_, model = setup.run_path(
                *setup.rows, _each(keeper, display("path"), on_point))
            self.cv_scores_ = None
        else:
            states = PointStates(CV_STATES_BYTES)
            runner = self._runs()
            with runner.started(setup.run_path, folds):  # the folds' workers start meanwhile
                self.path_, model = setup.run_path(
                    *setup.rows, _each(states, display("path"), on_point))
                self.cv_scores_, keeper = cross_validated_point(
                    self.path_, options, table.target, setup.task, setup.run_path, folds,
                    runner, setup.rows, on_runs, display, states)
        if keeper.state is None:
            raise ConfigError(f"no path point has at most {options.k} features")
        model.load_state_dict(keeper.state)
        model.eval()
        self.model_ = model
        self.options_ = options
        self.split_ = setup.rows
        self.encoder_: Encoder = setup.encoder
        self.task_ = setup.task
        self.chosen_ = keeper.index
        self.chosen_point_ = self.path_.points[keeper.index]
        self.units_ = setup.units
        self.cv_folds_ = folds
        self.M_scores_ = None  # (see _fit_M_grid)
        self.unit_support_ = self.chosen_point_.active
        self.input_columns_ = np.asarray(table.inputs, dtype=object)
        if table.named:
            self.feature_names_in_ = self.input_columns_
        elif hasattr(self, "feature_names_in_"):  # from an earlier fit on a DataFrame
            del self.feature_names_in_
        self.n_features_in_ = len(table.inputs)
        self.set_aside_ = table.aside
        self.ranking_, self.support_, self.feature_importances_ = column_results(
            self.path_, self.unit_support_, setup.units, setup.encoder, table)
        return self

    def _fit_M_grid(self, options: Options, table: Table, on_point, on_run, on_runs
                    ) -> Selector:
        """Fit one path per M of the grid, each scored as ``cv`` says, and keep the fit whose
        chosen point scores best (the first in the grid on a tie); ``M_scores_`` holds each
        M's (score, standard error or None).

        The fits are independent runs, sent where ``n_jobs`` and ``scheduler`` say, each with
        its folds in the process that runs it, so that the result does not depend on where
        they ran: ``on_runs`` counts the fits done, and ``on_run`` is not called.
        ``on_point`` (the points of every M's path, in grid order) keeps them here."""
        runner = self._runs()
        singles = [dataclasses.replace(options, M=M, M_grid=None) for M in options.M_grid]
        names = [f"M {M:g}" for M in options.M_grid]
        here = Runner(1, threads=runner.threads)  # a fit's folds, in the process that runs it
        if on_point is not None:  # a callback stays in this process
            runner = here
        fits = runner.map(_fit_at_M, (table, here, on_point), singles, names, on_runs)
        scores = [fit.chosen_point_.val_score for fit in fits]
        chosen = fits[int(np.argmax(scores))]
        for name, value in vars(chosen).items():
            if name.endswith("_") and not name.startswith("_"):
                setattr(self, name, value)
        if not hasattr(chosen, "feature_names_in_") and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.M_scores_ = {fit.options_.M: (fit.chosen_point_.val_score,
                                           fit.chosen_point_.val_score_se) for fit in fits}
        return self

    def save(self, path: str | os.PathLike, id_column: str | None = None) -> None:
        """Write the chosen model to a model file (``modelfile``); ``id_column``: the name
        of the training table's row identifier, which ``lassonet predict`` passes through."""
        from .io import check_model_name
        from .modelfile import save_model

        self._check_fitted()
        check_model_name(os.fspath(path))
        if id_column is not None and not (isinstance(id_column, str) and id_column
                                          and id_column not in self.input_columns_):
            raise ConfigError(
                "id_column must be the name of the table's row identifier, a column that is "
                f"not one of the model's inputs (predict passes it through), got {id_column!r}")
        save_model(os.fspath(path), self, id_column)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Selector:
        """A predictor from a model file (``modelfile.load_selector``); ``path_`` is None."""
        from .modelfile import load_selector

        return load_selector(cls, os.fspath(path))

    def filter_weights(self) -> np.ndarray:
        """conv1's weights (C1, C, k, k) of a fitted conv backbone, the filters selected."""
        self._check_fitted()
        if not self.options_.selects_filters:
            raise ConfigError("only a conv backbone has filters")
        return self.model_.backbone.conv1.weight.detach().cpu().numpy()

    def get_support(self, indices: bool = False) -> np.ndarray:
        """Mask (or indices) of the features used by the chosen model."""
        self._check_fitted()
        return np.flatnonzero(self.support_) if indices else self.support_

    def transform(self, X) -> np.ndarray | pd.DataFrame:
        """Keep the selected columns of X: a DataFrame by name if fitted on one, else by
        position among the ``n_features_in_`` columns fitted on."""
        self._check_fitted()
        X = self._checked(X, reset=False)
        mask = self.get_support()
        if isinstance(X, pd.DataFrame):
            if hasattr(self, "feature_names_in_"):
                kept = [c for c, keep in zip(self.feature_names_in_, mask, strict=True) if keep]
                check_present(X, kept)
                return X[kept]
            check_width(X, self.n_features_in_, named=False)
            return X.iloc[:, np.flatnonzero(mask)]
        values = np.asarray(X)
        check_width(values, self.n_features_in_, hasattr(self, "feature_names_in_"))
        return values[:, mask]

    def read_columns(self) -> list[str]:
        """The columns the chosen model reads (of the encoder's, in its order): those of the
        selected units; every one for a conv backbone, whose filters read every pixel.  A
        frame given to ``predict`` needs only these."""
        self._check_fitted()
        read = self.model_.read_inputs().cpu().numpy()
        owners = np.unique(np.asarray(self.encoder_.unit_of_input)[read])
        return [self.encoder_.columns[j] for j in owners]

    def _frame(self, X) -> pd.DataFrame:
        """X as a DataFrame of the columns fitted on: a DataFrame as it is when fitted on one
        (the encoder picks its columns by name), anything else by position.  A DataFrame may
        lack columns the chosen model does not read (``read_columns``): they are added with
        values that encode to numbers it multiplies by zero."""
        self._check_fitted()
        X = self._checked(X, reset=False)
        if isinstance(X, pd.DataFrame):
            X = named_columns(X)  # (no text names: x0, x1, ..., as fit and a model file name them)
            if hasattr(self, "feature_names_in_"):
                absent = [c for c in self.encoder_.columns if c not in X.columns]
                if absent:
                    check_present(X, self.read_columns())
                    X = X.assign(**self.encoder_.placeholders(absent))
                return X
            check_width(X, self.n_features_in_, named=False)
            return X.set_axis(list(self.input_columns_), axis=1)
        return as_frame(X, list(self.input_columns_), hasattr(self, "feature_names_in_"))

    def _outputs(self, frame: pd.DataFrame, encoder: Encoder | None = None) -> torch.Tensor:
        """(n, c) outputs of the chosen model for ``_frame``'s rows, encoded by ``encoder``
        (default: the fitted one)."""
        encoder = self.encoder_ if encoder is None else encoder
        if len(frame) == 0:
            raise DataError("the input has no rows: nothing to predict")
        check_features(frame, encoder)  # no gaps where the model has nothing to fill
        unseen = encoder.unseen_levels_text(frame)
        if unseen:  # (the command line notes it; scikit-learn's encoders can warn of it too)
            warn(unseen, UnseenLevelWarning)
        device = next(self.model_.parameters()).device
        features = torch.from_numpy(encoder.transform(frame)).to(device)
        with torch.no_grad():
            out = self.model_(features)
        # an input standardised beyond float32's range is clipped there (Encoder.transform):
        # the network saturates or overflows on it
        clipped = ((features.abs() >= torch.finfo(features.dtype).max)
                   & self.model_.read_inputs()).any(dim=1)
        rows = torch.nonzero(clipped | ~torch.isfinite(out).all(dim=1)).flatten().tolist()
        if rows:
            raise DataError(f"the model cannot predict {len(rows)} row(s) (first: row "
                            f"{rows[0] + 1}): their values lie too far beyond the training data")
        return out

    def predict(self, X) -> np.ndarray:
        """Predictions of the chosen model: (n,) labels (of the training labels' dtype) or
        values, (n,) risk scores (cox, higher = earlier event), or (n, p) reconstructed features
        (reconstruction)."""
        frame = self._frame(X)
        out = self._outputs(frame)
        with np.errstate(over="ignore", invalid="ignore"):
            values = self.task_.decode(out)
        _refuse_overflow({"prediction": values})
        return values

    def predict_table(self, X, impute: bool = False) -> pd.DataFrame:
        """The predict command's columns: ``prediction`` (label, value or risk score) and
        ``proba_<label>`` per class, or ``<column>_hat`` per feature for reconstruction.
        ``impute``: gaps in columns trained without gaps are filled too
        (``Encoder.filling_gaps``), not refused."""
        frame = self._frame(X)
        encoder = self.encoder_.filling_gaps() if impute else self.encoder_
        out = self._outputs(frame, encoder)
        with np.errstate(over="ignore", invalid="ignore"):
            columns = self.task_.prediction_columns(out)
        _refuse_overflow(columns)
        return pd.DataFrame(columns, index=range(len(next(iter(columns.values())))))

    @property
    def predict_proba(self) -> Callable[[object], np.ndarray]:
        """``predict_proba(X)``: (n, classes) class probabilities, columns in the order of
        ``classes_``.  Only a classifier has it (``hasattr`` is false for another task, fitted
        or asked for, as scikit-learn's meta-estimators expect)."""
        self._classifier_only("predict_proba")
        return self._predict_proba

    def _predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        return self.task_.proba(self._outputs(self._frame(X)))

    def _classifier_only(self, name: str) -> None:
        """AttributeError where this is (fitted as, or set to be) no classifier."""
        task = self.task_.name if hasattr(self, "task_") else self.task
        if task not in ("classification", "auto"):
            raise AttributeError(f"{name} is only defined for classification, not "
                                 f"task={task!r}")

    def score(self, X, y=None) -> float:
        """The chosen model's score on (X, y), the one the path chose by (``path_.score_name``):
        accuracy (classification; a label not seen in training counts as wrong), R^2
        (regression), Harrell's C-index (cox; y as ``fit`` takes it) or R^2 pooled over the
        reconstructed columns (reconstruction, which takes no y)."""
        frame = self._frame(X)
        name = self.task_.name
        if name == "reconstruction":
            if y is not None:
                raise ConfigError("task='reconstruction' scores the reconstruction of X: call "
                                  "score(X) without y")
            target = frame[list(self.task_.columns)].to_numpy(dtype=np.float64)
        else:
            _, frame, target = task_target(name, frame, y, self.categorical)
        if name == "classification":
            _check_label_kinds(target, self.task_.labels)
            return float(np.mean(self.predict(frame) == target))
        out = self._outputs(frame)
        return float(self.task_.score(out, self.task_.encode(target).to(out.device)))

    @property
    def classes_(self) -> np.ndarray:
        """The class labels, in the order of ``predict_proba``'s columns, as a numpy array of
        the training labels' dtype."""
        if not hasattr(self, "task_"):
            raise AttributeError("classes_ is set by fit")
        self._classifier_only("classes_")
        return self.task_.labels

    def path_table(self) -> pd.DataFrame:
        """The path table (SPEC 3.2), one row per path point; after a grid of M, the path of
        the M chosen, with that M in a first column ``M``."""
        self._check_fitted()
        if self.path_ is None:
            raise ConfigError("a selector loaded from a model file has no path (the file keeps "
                              "the chosen model only): fit it to get one")
        table = pd.DataFrame(path_records(self.path_))
        if getattr(self, "M_scores_", None) is not None:
            table.insert(0, "M", self.options_.M)
        return table

    def ranking_table(self) -> pd.DataFrame:
        """The ranked-features table (SPEC 3.1): rank, feature, importance, selected, and group
        where groups are used; one row per input column, the set-aside ones last.

        With a conv backbone the rows are conv1's filters (``filter_00``, ...), not columns.
        """
        if self.units_.of_column is None:
            order = [self.units_.names.index(name) for name in self.ranking_]
            return pd.DataFrame({
                "rank": np.arange(1, len(order) + 1),
                "feature": list(self.ranking_),
                "importance": self.feature_importances_[order],
                "selected": self.unit_support_[order],
            })
        position = {name: j for j, name in enumerate(self.input_columns_)}
        order = [position[name] for name in self.ranking_]
        extra = {}
        if self.groups:
            unit = dict(zip(self.encoder_.columns, self.units_.of_column, strict=True))
            extra["group"] = [
                self.units_.names[unit[name]] if name in unit
                else self.options_.groups.get(name, name)
                for name in self.ranking_
            ]
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(order) + 1),
                "feature": list(self.ranking_),
                "importance": self.feature_importances_[order],
                "selected": self.get_support()[order],
                **extra,
            }
        )


def _each(*callbacks) -> Callable[[PathPoint, LassoNet], None]:
    """One path callback that calls each of ``callbacks`` (None: skipped) in turn."""
    called = [c for c in callbacks if c is not None]

    def each(point: PathPoint, net: LassoNet) -> None:
        for callback in called:
            callback(point, net)

    return each


def _label_kind(labels: np.ndarray) -> str:
    """'text' (every label a string), 'numbers' (numbers or booleans) or 'mixed'."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "biuf":
        return "numbers"
    if labels.dtype.kind in "US" or all(isinstance(v, str) for v in labels.ravel()):
        return "text"
    return "mixed"


def _check_label_kinds(y: np.ndarray, classes: np.ndarray) -> None:
    """DataError where ``y`` holds labels of another kind than the classes fit learned (text
    against numbers): no prediction could equal one, and the accuracy would be a silent 0."""
    given, learned = _label_kind(y), _label_kind(classes)
    if {given, learned} == {"text", "numbers"}:
        shown = ", ".join(repr(c) for c in np.asarray(classes)[:3].tolist())
        raise DataError(f"y holds {given} and the model's classes are {learned} ({shown}"
                        f"{', ...' if len(classes) > 3 else ''}): give y the labels fit was "
                        "given")


def _fit_at_M(shared: tuple, options: Options) -> Selector:
    """One M of a grid (``Selector._fit_M_grid``): a run for ``runs.Runner``."""
    table, here, on_point = shared
    return Selector.of(options, here).fit_table(table, on_point)


def _refuse_overflow(columns: dict[str, np.ndarray]) -> None:
    """DataError if a numeric prediction is not finite: the network's outputs are (checked in
    ``_outputs``), so the target's scale took them beyond float64 (a damaged model file)."""
    bad = np.zeros(len(next(iter(columns.values()))), dtype=bool)
    for values in columns.values():
        if values.dtype.kind == "f":
            bad |= ~np.isfinite(values.reshape(len(bad), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(f"the model cannot predict {len(rows)} row(s) (first: row {rows[0] + 1}): "
                        "its outputs in the target's units overflow (a damaged model file?)")
