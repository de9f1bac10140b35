"""Evaluating selections: the path model, a dense refit on the top-k features, random k-sets;
cross-validation of the path points.

``accuracy_vs_k`` is the evaluation of the LassoNet seed studies (SPEC 3.3): on held-out test
rows, for each k of a grid, the score of the path model with at most k features, of the backbone
retrained densely on exactly the top-k features, and of the same refit on random k-sets.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from . import defaults
from .backbones import BackboneSpec
from .checks import constant_columns
from .columns import join_names, without
from .errors import ConfigError, DataError
from .model import LassoNet
from .options import Options
from .path import PathRun, PointStates, StateKeeper
from .pathconfig import PathConfig
from .pathresult import Path, PathPoint, choose_point
from .runs import Runner
from .splits import TooFewRows, check_scorable, check_split_size, fold_rows, split_task_rows
from .targets import task_target
from .tasks import make_task
from .training import state_copy, train_dense

REFIT_LR = 1e-3
REFIT_PATIENCE = 50


def refit_score(
    task,
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    X_test: torch.Tensor,
    y_test: torch.Tensor,
    units: np.ndarray,
    backbone: BackboneSpec,
    config: PathConfig | None = None,
    seed: int = 0,
    dropout: float = 0.0,
    source: torch.nn.Module | None = None,
) -> float:
    """Test score of a network trained without penalty on the units ``units`` only.

    The network is the one ``source.refit_network(units, backbone, dropout)`` builds: for a
    ``LassoNet``, skip layer + backbone over the model inputs ``units``; for a
    ``ConvLassoNet``, a conv network whose conv1 holds only the filters ``units`` of
    ``source``, kept as they are there, with everything after conv1 trained anew.

    Parameters
    ----------
    task : a fitted task (``tasks``)
    X_train, X_val, X_test : (n, d) standardised features; y_* encoded targets
    units : (k,) indices of the model's units to keep (``units.Units.model_units``)
    backbone : the network to refit
    config : training options (batch size; defaults if None).  The refit is the yardstick of
        a selection, so it trains more carefully than the path's dense phase: Adam at
        ``REFIT_LR`` with early stopping after ``REFIT_PATIENCE`` epochs without progress.
    seed : seeds the initialisation and minibatch order
    source : the trained model whose units are refitted; None: ``units`` are input columns
        (``LassoNet.on_columns``)
    """
    config = dataclasses.replace(config or PathConfig(), dense_lr=REFIT_LR,
                                 dense_patience=REFIT_PATIENCE)
    torch.manual_seed(seed)
    if source is None:
        model, columns = LassoNet.on_columns(units, backbone, task.n_outputs, dropout)
    else:
        model, columns = source.refit_network(units, backbone, dropout)
    model = model.to(X_train.device)
    if columns is not None:
        index = torch.as_tensor(columns, device=X_train.device)
        X_train, X_val, X_test = (X[:, index] for X in (X_train, X_val, X_test))
    generator = torch.Generator().manual_seed(seed)
    train_dense(model, task, X_train, y_train, X_val, y_val, config, generator)
    model.eval()
    with torch.no_grad():
        return float(task.score(model(X_test), y_test))


def parse_k_grid(text: str | None, d: int, noun: str = "features") -> list[int]:
    """Counts (``1,2,5``) or fractions of d (``0.01,0.1,0.5``); default a 1-2-5 grid up to d.
    ``noun``: what d counts, for the error messages."""
    if text is None:
        grid, base = [], 1
        while base <= d:
            grid.extend(v for v in (base, 2 * base, 5 * base) if v <= d)
            base *= 10
        return sorted(set(grid + [d]))
    values = []
    if not text.strip(" ,"):
        raise ConfigError("--k-grid is empty")
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise ConfigError(f"--k-grid: an empty item in {text!r}")
        try:
            if "_" in part:  # (float() reads 1_0 as 10)
                raise ValueError
            value = float(part)
        except ValueError:
            raise ConfigError(f"--k-grid: {part!r} is not a number") from None
        if 0 < value < 1:
            values.append(max(1, int(round(value * d))))
        elif 1 <= value < math.inf and value == int(value):
            values.append(int(value))
        else:
            raise ConfigError(
                f"--k-grid: {part!r} is neither a count >= 1 nor a fraction in (0, 1)"
            )
    too_big = [v for v in values if v > d]
    if too_big:
        raise ConfigError(f"--k-grid: {too_big[0]} is more than the {d} {noun}")
    if not values:
        raise ConfigError("--k-grid is empty")
    return sorted(set(values))


def check_random_repeats(random_repeats: int) -> None:
    """ConfigError unless 1 <= ``random_repeats`` <= ``defaults.MAX_RANDOM_REPEATS``."""
    if not 1 <= random_repeats <= defaults.MAX_RANDOM_REPEATS:
        raise ConfigError(f"--random-repeats must be between 1 and "
                          f"{defaults.MAX_RANDOM_REPEATS}, got {random_repeats}")


def accuracy_vs_k(
    make_selector: Callable[[], object],
    frame: pd.DataFrame,
    target: np.ndarray | None,
    task_name: str,
    k_grid: str | None = None,
    test_fraction: float = 0.2,
    random_repeats: int = 5,
    seed: int = 0,
    on_point: Callable[[PathPoint, LassoNet], None] | None = None,
    on_run: Callable[[str], Callable[[PathPoint], None] | None] | None = None,
    on_refit: Callable[[int, int], None] | None = None,
    runner: Runner | None = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, object]:
    """The accuracy-vs-k table (SPEC 3.3) and the selector fitted on the training rows.

    k counts the units the path selects (``Options.ranked_units``): columns (those of a
    user-given group as one), or with a conv backbone conv1's filters.  A refit
    (``refit_score``) trains a network on a set of those units: a new network on their columns,
    or a conv network whose conv1 holds only the filters, as the path's dense model (its first
    point) learnt them, everything after conv1 new.  ``features`` lists the top k's columns
    (filters).

    Parameters
    ----------
    make_selector : returns an unfitted ``estimator.Selector`` with the user's options
    frame, target : all rows, ``target`` as ``Selector.fit`` takes it (None for
        reconstruction); ``test_fraction`` of them (stratified for classification, on the
        event for cox) are held out and used only for the scores in the table.  Columns
        constant in the training rows (``checks.constant_columns``) are left out: k counts the
        others (pixels are kept: they are no candidates, the filters are)
    k_grid : see ``parse_k_grid``
    random_repeats : random k-sets refitted per k (with one, the table has no
        ``random_score_sd`` column)
    on_point, on_run : as ``LassoNetSelector.fit`` takes them
    on_refit : optional progress display, called with (refits done, refits in all) before
        the first refit and after each
    on_note : optional, called with a line for stderr that names the columns left out as
        constant in the training rows, where there are any
    runner : where the refits run (``runs.Runner``; None: one after another here).  Each is
        seeded by its own seed (the top set by ``seed``, the r-th random set by
        ``seed + 1 + r``) and the random sets are drawn before any refit, so the table is the
        same wherever they run
    """
    check_random_repeats(random_repeats)
    rng = np.random.default_rng([seed, 1])
    selector = make_selector()
    options = selector.validate()
    task_name, frame, raw = task_target(task_name, frame, target, selector.categorical)
    unfitted = make_task(task_name, columns=list(frame.columns))
    train_rows, test_rows = split_task_rows(unfitted, raw, test_fraction, rng, "test_fraction")
    check_scorable(unfitted, raw, test_rows, "test", lambda s: f"raise {s('test_fraction')}")
    if task_name == "classification" and pd.Series(raw[train_rows]).value_counts().max() < 2:
        # (each class of 2 rows gives one to the test split: the training rows were then
        # refused as if the table's target were an ID)
        raise DataError(lambda s: (
            f"{s('test_fraction', str(test_fraction))} leaves {len(train_rows)} training "
            "row(s), a different class in each: classification needs a class with 2 rows to "
            f"train on (a class of 3 or more rows in the table, or a lower "
            f"{s('test_fraction')})"))
    # the columns the selector would set aside (constant in the training rows) are no candidates
    flat = [] if options.image_shape else constant_columns(frame, selector.categorical,
                                                           train_rows)
    shown = ", ".join(flat[:10]) + (" ..." if len(flat) > 10 else "")
    if flat and len(flat) == frame.shape[1]:  # (it was 'X has 80 row(s) and 0 column(s)')
        raise DataError(lambda s: (
            f"every feature column is constant in the training rows that "
            f"{s('test_fraction', str(test_fraction))} leaves (only test rows vary: {shown}): "
            f"there is nothing to select; lower {s('test_fraction')}, or try another "
            f"{s('seed')}"))
    if flat:
        frame = without(frame, flat)
        if task_name == "reconstruction":  # nor targets
            raw = frame.to_numpy(dtype=np.float64)
        if selector.groups:  # (a group's constant columns are no candidates either)
            selector.groups = {c: g for c, g in selector.groups.items() if c not in flat} or None
            options = selector.validate()
    units = options.ranked_units(list(frame.columns))
    d = units.n
    # (a column that varies only among the test rows: the table has more columns than k counts)
    left = f"{len(flat)} column(s) constant in the training rows (only test rows vary): {shown}"
    grid = parse_k_grid(k_grid, d, units.noun + (f" left after leaving out {left}" if flat else ""))
    if flat and on_note is not None:
        on_note(f"left out {left}")
    keepers = {k: StateKeeper(units.names, "best", k) for k in grid}
    dense: list[LassoNet] = []  # the path's first point: the units a refit reads

    def callback(point: PathPoint, model: LassoNet) -> None:
        if not dense:
            dense.append(copy.deepcopy(model))
        for keeper in keepers.values():
            keeper(point, model)
        if on_point is not None:
            on_point(point, model)

    fit_target = None if target is None else raw[train_rows]
    try:
        selector.fit(frame.iloc[train_rows], fit_target, on_point=callback, on_run=on_run)
    except TooFewRows as e:  # (the training rows' own split: name the option that shrank them)
        few = e

        def message(s) -> str:  # the finding, with the remedies that help here
            if few.finding is None:  # too few training rows to hold validation rows out
                said = few.spelled(s)
                # (no --test-fraction leaves more than every row but one to train on: 'lower
                # --test-fraction' was the remedy where none could help)
                remedy = (f"lower {s('test_fraction')}"
                          if _holds_out(len(raw) - 1, options.val_fraction)
                          else f"raise {s('val_fraction')}")
            elif few.which == "validation":
                said = few.finding
                remedy = (f"lower {s('test_fraction')}, or hold out more with "
                          f"{s('val_fraction')}")
            else:  # a cross-validation fold's ('hold out more' was no remedy there)
                said, remedy = few.finding, f"{few.remedy(s)}, or lower {s('test_fraction')}"
            return (f"{s('test_fraction', str(test_fraction))} leaves {len(train_rows)} of "
                    f"{len(raw)} rows to train on, and {said}: {remedy}")

        raise DataError(message) from None
    task, encoder, device = selector.task_, selector.encoder_, selector.options_.device
    features = torch.from_numpy(encoder.transform(frame))
    fit_rows, val_rows = (train_rows[i] for i in selector.split_)
    rows = (fit_rows, val_rows, test_rows)
    options = selector.options_
    data = _RefitData(task, tuple(features[r] for r in rows),
                      tuple(task.encode(raw[r]) for r in rows), options.backbone,
                      options.path_config(), options.dropout, dense[0], encoder, units, device)
    X_test, y_test = data.X[2].to(device), data.y[2].to(device)
    if units.of_column is None:
        order = pd.Index(units.names).get_indexer(selector.ranking_)
    else:  # the ranking lists columns, those of a group together: their units, in that order
        at = pd.Index(frame.columns).get_indexer(selector.ranking_)
        order = pd.unique(np.asarray(units.of_column)[at[at >= 0]])
    order = np.asarray(order)
    order = order[order >= 0].tolist()  # (-1: a column set aside, which the model does not read)
    # every k's random sets, then its top set: drawn before any refit, in the order of the
    # table, so that the draws do not depend on where the refits run
    refits: list[tuple[np.ndarray, int]] = []
    for k in grid:
        refits += [(rng.choice(d, size=k, replace=False), seed + 1 + r)
                   for r in range(random_repeats)]
        refits.append((np.asarray(order[:k]), seed))
    names = [f"refit on {len(picked)} {units.noun} (seed {s})" for picked, s in refits]
    scores = (runner or Runner(jobs=1)).map(_refit, data, refits, names, on_refit)
    model = copy.deepcopy(selector.model_)  # scores the path models; the selector keeps its own
    records = []
    for i, k in enumerate(grid):
        model.load_state_dict(keepers[k].state)
        model.eval()
        with torch.no_grad():
            path_score = float(task.score(model(X_test), y_test))
        first = i * (random_repeats + 1)
        random_scores = scores[first:first + random_repeats]
        top = refits[first + random_repeats][0]
        record = {
            "k": k,
            "features": join_names(
                units.names[j] for j in top) if units.of_column is None else join_names(
                frame.columns[c] for c in _in_order(units, top)),
            "lassonet_score": path_score,
            "lassonet_k": keepers[k].prefix.points[keepers[k].index].k,
            "refit_score": scores[first + random_repeats],
            "random_score": float(np.mean(random_scores)),
        }
        if random_repeats > 1:  # one random set has no spread to report
            record["random_score_sd"] = float(np.std(random_scores, ddof=1))
        records.append(record)
    return pd.DataFrame.from_records(records), selector


def _holds_out(n: int, fraction: float) -> bool:
    """Whether ``n`` rows are enough to hold ``fraction`` of them out (``check_split_size``)."""
    try:
        check_split_size(n, fraction, "val_fraction")
    except TooFewRows:
        return False
    return True


def _in_order(units, picked) -> list[int]:
    """The columns of the units ``picked``, unit by unit in that order (a group's columns in
    table order)."""
    owner = np.asarray(units.of_column)
    place = np.full(units.n, -1)
    place[np.asarray(picked, dtype=np.int64)] = np.arange(len(picked))
    columns = np.flatnonzero(place[owner] >= 0)
    return columns[np.argsort(place[owner[columns]], kind="stable")].tolist()


@dataclasses.dataclass(frozen=True)
class _RefitData:
    """What every refit of one accuracy-vs-k table reads (a runner sends it once to each
    worker): the task, the standardised features and encoded targets of the (fit, validation,
    test) rows on the CPU, the network to refit and how to train it, the path's dense model
    (whose units a refit reads), the encoder and units that map unit indices to model inputs,
    and the device."""

    task: object
    X: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    y: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    backbone: BackboneSpec
    config: PathConfig
    dropout: float
    source: LassoNet
    encoder: object
    units: object
    device: str


def _refit(data: _RefitData, refit: tuple[np.ndarray, int]) -> float:
    """The test score of one refit (``refit_score``) on the units ``picked``, seeded by
    ``seed`` (``runs`` calls this, perhaps in another process)."""
    picked, seed = refit
    (X_fit, X_val, X_test), (y_fit, y_val, y_test) = (
        tuple(t.to(data.device) for t in ts) for ts in (data.X, data.y))
    return refit_score(data.task, X_fit, y_fit, X_val, y_val, X_test, y_test,
                       data.units.model_units(data.encoder, picked), data.backbone,
                       data.config, seed, data.dropout, source=data.source)


# --- cross-validation of the path points -------------------------------------------------------

# How far past the full path's last lambda a fold's path may go to reach its own empty model
# (it ends as soon as no unit is left; one that has not by then gives its sparsest point's score
# to the sparser points of the full path).
_CV_TAIL_FACTOR = 100.0


def matched_scores(points: list[PathPoint], fold_points: list[PathPoint]) -> np.ndarray:
    """(len(points),) for every path point, the validation score of the fold point with the most
    units <= its k (nearest in lambda among those; the fold's sparsest if none has so few)."""
    ks = np.asarray([p.k for p in fold_points])
    lambdas = np.asarray([p.lambda_ for p in fold_points])
    values = np.asarray([p.val_score for p in fold_points], dtype=np.float64)
    out = np.empty(len(points))
    for i, point in enumerate(points):
        fits = ks <= point.k
        top = ks[fits].max() if fits.any() else ks.min()
        same = np.flatnonzero(ks == top)
        out[i] = values[same[np.argmin(np.abs(lambdas[same] - point.lambda_))]]
    return out


def _fold_points(run_path, fold: tuple[np.ndarray, np.ndarray, list[float]]) -> list[PathPoint]:
    """The points of one fold's path (``runs`` calls this, perhaps in another process)."""
    rows, held, lambdas = fold
    return run_path(rows, held, None, lambdas)[0].points


def cross_validated_point(path: Path, options: Options, target: np.ndarray, task,
                          run_path: PathRun, folds: int, runner: Runner, rows: tuple,
                          on_runs=None, display=None,
                          states: PointStates | None = None) -> tuple[tuple, StateKeeper]:
    """Cross-validate ``path`` (``cross_validate``), give each of its points the mean score
    and standard error over the folds and choose the point as ``options`` say.  Its model is
    the copy ``states`` kept while ``path`` ran (``PointStates``) or, where none was kept,
    that of the same (deterministic) path trained again on ``rows`` (training, validation) up
    to that point.

    Returns ((mean, standard error) per point, a ``StateKeeper`` holding the chosen point's
    model).  ``on_runs(done, folds)`` as folds finish; ``display('chosen point')``, called
    as the second run starts, may return a callback ``(point, model)`` for its points.
    """
    scores = cross_validate(path, options, target, task, run_path, folds, runner, on_runs)
    for point, mean, se in zip(path.points, *scores, strict=True):
        point.val_score, point.val_score_se = float(mean), float(se)
    keeper = StateKeeper(path.unit_names, options.rule, options.k)
    wanted = choose_point(path, options.rule, options.k)
    kept = states.get(wanted) if states is not None else None
    if kept is not None:
        keeper.index, keeper.state = wanted, kept
        return scores, keeper
    on_point = display("chosen point") if display is not None else None

    def keep_chosen(point: PathPoint, net: LassoNet) -> None:
        if on_point is not None:
            on_point(point, net)
        if len(keeper.prefix.points) == wanted:
            keeper.index, keeper.state = wanted, state_copy(net)
            raise _Reached
        keeper.prefix.points.append(point)

    try:
        run_path(*rows, keep_chosen)
    except _Reached:
        pass
    return scores, keeper


class _Reached(Exception):
    """Stops a path run once the wanted point has been copied."""


def cross_validate(path: Path, options: Options, target: np.ndarray, task, run_path: PathRun,
                   folds: int, runner: Runner, on_done=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard error) over ``folds`` folds of the held-out score at every point.

    Each fold trains a path on the other folds along the lambdas of the full path (one
    common grid), continued by the path multiplier until no unit is left (at most to
    ``_CV_TAIL_FACTOR`` times the last lambda), and scores the held-out fold.  A point of the
    full path with k units takes, in each fold, the score of the fold's point with the most
    units <= k, the nearest in lambda among those.  Matching by lambda alone misleads near
    the sparse end: a fold, trained on fewer rows, loses its units at other lambdas, and the
    full path's empty model took the score of a fold's one-unit model at the same lambda
    (and, as the sparser of two equal scores, was chosen).

    ``path``: the full path, trained on every row; ``run_path``: trains a path on some rows
    along given lambdas and scores its points on others.  The folds are independent runs,
    sent where ``runner`` sends them; ``on_done(done, folds)`` as they finish.
    """
    points = path.points
    lambdas = [p.lambda_ for p in points[1:]]
    if lambdas:
        steps = math.ceil(math.log(_CV_TAIL_FACTOR) / math.log(options.path_multiplier))
        lambdas += [lambdas[-1] * options.path_multiplier ** j for j in range(1, steps + 1)]
    strata = task.strata(target)
    held_out = fold_rows(target if strata is None else strata, folds, strata is not None,
                         options.seed)
    names = [f"cv fold {f + 1}/{folds}" for f in range(folds)]
    for name, held in zip(names, held_out, strict=True):
        check_scorable(task, target, held, f"{name}'s held-out",
                       lambda s: f"use fewer folds ({s('cv', 'K')})")
    every = np.arange(len(target))
    tasks = [(np.setdiff1d(every, held), held, lambdas) for held in held_out]
    fold_points = runner.map(_fold_points, run_path, tasks, names, on_done)
    scores = np.stack([matched_scores(points, fold) for fold in fold_points])
    mean = scores.mean(axis=0)
    se = scores.std(axis=0, ddof=1) / np.sqrt(folds)
    return mean, se
