"""Stability selection (Meinshausen & Bühlmann 2010) with complementary pairs of half-samples
(Shah & Samworth 2013): how often each column is among a path's top k, over many subsamples.

Each of ``pairs`` random splits of the rows into two halves (stratified by class, or by the
event for cox) gives two subsamples; on each, a whole path with the user's options ranks the
columns (its own validation split chooses its point; no cross-validation).  A column's
selection probability at k is the share of the 2 * ``pairs`` rankings that have it among their
top k.  With q columns selected per subsample, the stable set holds the columns whose
probability at q is at least ``pi_thr``; the expected number of columns in it that carry no
signal (false selections, V) is bounded by

    E[V] <= q^2 / ((2 pi_thr - 1) p)          (p columns)

(Meinshausen & Bühlmann 2010, Theorem 1, which holds for complementary pairs without their
exchangeability-free conditions: Shah & Samworth 2013, Theorem 1).  q is given, or found from
a bound the user asks for (``efv``), or by default the median size of the subsamples' chosen
models.

The subsample paths are independent runs (``runs.Runner``): the result is the same whichever
process or cluster computes them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import defaults
from .backbone_spec import BackboneSpec
from .checks import NothingToSelect, constant_columns, refuse_all_constant
from .columns import categorical_columns
from .errors import ConfigError, DataError
from .estimator import Selector
from .inputs import as_frame
from .options import Options, is_int, is_real
from .runs import Runner
from .splits import TooFewRows, check_split_size, half_samples
from .targets import task_target
from .tasks import make_task

DEFAULT_PAIRS = 50
DEFAULT_PI_THR = 0.6


@dataclasses.dataclass(frozen=True)
class _Table:
    """What every subsample path reads (sent once to each worker)."""

    options: Options
    frame: pd.DataFrame
    target: np.ndarray | None
    unit: np.ndarray  # (columns,) each column's unit (``unit_index``), -1: set aside


def unit_index(columns, groups, aside=()) -> np.ndarray:
    """(len(columns),) the index of each column's unit: the columns of a user-given group
    share one (a group enters and leaves the path as one), any other column has its own;
    -1 for the columns in ``aside`` (constant: no path can select them), which are no unit
    and no member of their group's."""
    keys = pd.Series(list(columns), dtype=object)
    if groups:
        keys = keys.map(lambda c: groups.get(c, c))
    keys[pd.Index(list(columns)).isin(list(aside))] = None
    return pd.factorize(keys)[0]


def _subsample_path(table: _Table, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """(positions: each column's unit's place in the subsample's ranking of the units, 0 =
    first, and p, after every unit, for a column set aside; the number of units in the
    subsample's chosen model)."""
    target = None if table.target is None else table.target[rows]
    selector = Selector.of(table.options).fit(table.frame.iloc[rows], target)
    place = pd.Index(selector.ranking_).get_indexer(table.frame.columns)
    used = table.unit >= 0
    p = table.unit.max() + 1
    first = np.full(p, len(place))
    np.minimum.at(first, table.unit[used], place[used])  # a unit's place: its first column's
    rank = np.empty(p + 1, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(p)
    rank[p] = p
    chosen = len(np.unique(table.unit[selector.support_ & used]))
    return rank[np.where(used, table.unit, p)].astype(np.int32), chosen


@dataclasses.dataclass
class Stability:
    """The result of ``stability_selection``.

    ``columns``: the input columns; ``positions`` (2 * pairs, columns): each subsample's
    ranking (0 = first) of the units, a column taking its unit's place (the columns of a
    user-given group are one unit); ``chosen_sizes`` (2 * pairs,): its chosen model's units;
    ``q``: the units selected per subsample; ``pi_thr``: the threshold; ``k_grid``: the ks of
    the table; ``units``: how many units (p in the bound); ``aside``: the columns set aside
    as constant, in no unit (their place is p: never selected, never stable); ``groups``: the
    options' groups (column -> group), which ``table`` shows.
    """

    columns: list[str]
    positions: np.ndarray
    chosen_sizes: np.ndarray
    q: int
    q_from: str
    pi_thr: float
    k_grid: list[int]
    units: int
    aside: list[str] = dataclasses.field(default_factory=list)
    groups: dict[str, str] | None = None

    def probabilities(self, ks) -> np.ndarray:
        """(p, len(ks)): each column's share of the subsample rankings with it in the top k,
        for counts ``ks`` from 1 to ``units`` (a column set aside is in no top k)."""
        counts = _counts(ks, self.units)
        if counts is None:
            raise ConfigError(f"ks must list counts of the {self.units} units (columns, or "
                              f"groups) from 1 to {self.units}, got {ks!r}")
        ks = np.asarray(counts, dtype=int)
        return (self.positions[:, :, None] < ks[None, None, :]).mean(axis=0)

    @property
    def max_probability(self) -> np.ndarray:
        """(p,) the largest selection probability over k <= q (the rankings are nested, so
        that at k = q)."""
        return self.probabilities([self.q])[:, 0]

    @property
    def stable(self) -> np.ndarray:
        return self.max_probability >= self.pi_thr

    @property
    def error_bound(self) -> float:
        """Meinshausen & Bühlmann's bound on the expected number of false selections."""
        return self.q ** 2 / ((2 * self.pi_thr - 1) * self.units)

    def table(self, groups: dict[str, str] | None = None) -> pd.DataFrame:
        """One row per column, most stable first (then by mean place in the rankings, then by
        name): feature, p_k<k> for each k of the grid, max_probability, stable[, group: the
        column's group in ``groups`` (default: the options' groups), else its own name]."""
        groups = self.groups if groups is None else groups
        if not isinstance(groups, (Mapping, type(None))):  # (a list was 'no attribute get')
            raise ConfigError(f"groups must be a mapping {{column: group}}, got {groups!r}")
        probs = self.probabilities(self.k_grid)
        top = self.max_probability
        mean_place = self.positions.mean(axis=0)
        names = np.asarray(self.columns, dtype=object)
        order = np.lexsort((names.astype(str), mean_place, -top))
        frame = pd.DataFrame({"feature": names[order]})
        for j, k in enumerate(self.k_grid):
            frame[f"p_k{k}"] = probs[order, j]
        frame["max_probability"] = top[order]
        frame["stable"] = self.stable[order]
        if groups:
            frame["group"] = [groups.get(c, c) for c in frame["feature"]]  # (as select)
        return frame

    def summary(self) -> str:
        """The stderr line: the stable set and the bound it comes with."""
        n, paths, p = int(self.stable.sum()), len(self.positions), self.units
        counted = (" groups and ungrouped features, each counted once"
                   if p < len(self.columns) - len(self.aside) else "")
        if self.aside:
            counted += f", after setting aside {len(self.aside)} constant column(s)"
        # (pi_thr to the digit: 0.501 as '50%' said that a share of 50% was stable)
        return (f"stable set: {n} feature(s) in the top q = {self.q} ({self.q_from}) of at "
                f"least {100 * self.pi_thr:.6g}% of {paths} half-sample paths ({paths // 2} "
                f"complementary pair{'s' if paths // 2 != 1 else ''}); expected false "
                f"selections <= {self.error_bound:.3g} "
                f"(Meinshausen & Bühlmann's bound q^2/((2 pi_thr - 1) p), p = {p}"
                f"{counted}, "
                "which holds for complementary pairs: Shah & Samworth 2013)")

    def plot_ks(self, points: int = 60) -> np.ndarray:
        """The grid and about ``points`` ks spaced evenly on a log scale from 1 to p."""
        if not (is_int(points) and points >= 1):
            raise ConfigError(f"points must be a whole number of at least 1, got {points!r}")
        p = self.units
        spread = np.unique(np.round(np.geomspace(1, p, points)).astype(int))
        return np.union1d(spread, self.k_grid)


def q_for(efv: float, pi_thr: float, p: int) -> int:
    """The largest q whose bound q^2 / ((2 pi_thr - 1) p) is at most ``efv`` (at least 1)."""
    room = min(efv * (2 * pi_thr - 1) * p, p * p)  # (q^2 at most; a huge efv made it inf)
    return max(1, int(math.floor(math.sqrt(room) + 1e-9)))


def check_thresholds(pi_thr: float, q: int | None, efv: float | None, pairs: int) -> None:
    for name, value, integer in (("pi_thr", pi_thr, False), ("q", q, True), ("efv", efv, False),
                                 ("pairs", pairs, True)):
        if value is None and name in ("q", "efv"):
            continue
        if not (is_int(value) if integer else is_real(value)):
            raise ConfigError(lambda s, name=name, value=value, integer=integer: (
                f"{s(name)} must be {'an integer' if integer else 'a number'}, got {value!r}"))
    if not 0.5 < pi_thr <= 1:
        raise ConfigError(lambda s: f"{s('pi_thr')} must be in (0.5, 1], got {pi_thr}")
    if q is not None and efv is not None:
        raise ConfigError(lambda s: f"give {s('q')} or {s('efv')}, not both: one decides the "
                                    "other")
    if q is not None and q < 1:
        raise ConfigError(lambda s: f"{s('q')} must be at least 1, got {q}")
    if efv is not None and not 0 < efv < math.inf:
        raise ConfigError(lambda s: f"{s('efv')} must be a finite number > 0, got {efv}")
    if not 1 <= pairs <= defaults.MAX_PAIRS:
        raise ConfigError(lambda s: f"{s('pairs')} must be between 1 and "
                                    f"{defaults.MAX_PAIRS}, got {pairs}")


def check_selects_columns(backbone: BackboneSpec) -> None:
    """ConfigError for a conv backbone: its path selects filters, which every pixel feeds,
    so no column is ever more often selected than another."""
    if backbone.selects_filters:
        raise ConfigError(lambda s: "stability counts how often columns are selected, and a "
                          f"conv {s('backbone')} selects filters: "
                          + ("use lassonet select" if s.cli else "fit the selector instead"))


def stability_selection(
    options: Options,
    frame: pd.DataFrame,
    target: np.ndarray | None,
    pairs: int = DEFAULT_PAIRS,
    pi_thr: float = DEFAULT_PI_THR,
    q: int | None = None,
    efv: float | None = None,
    k_grid: list[int] | None = None,
    runner: Runner | None = None,
    on_done=None,
) -> Stability:
    """Stability selection over ``pairs`` complementary pairs of half-samples of (frame,
    target) as ``Selector.fit`` takes them (see the module).

    options : the selection's options (``Options``); each subsample path keeps them but
        chooses its point on its own validation split (no cross-validation, the 'best' rule,
        no ``k``)
    q, efv : at most one: the columns selected per subsample, or the bound on the expected
        false selections that decides it; neither: the median chosen model size
    k_grid : the ks of the table (``evaluate.parse_k_grid``'s counts); q is added
    runner : where the paths run (default: ``Runner()``, auto)
    on_done : ``on_done(done, total)`` as paths finish
    """
    check_thresholds(pi_thr, q, efv, pairs)
    check_selects_columns(options.backbone)
    task_name, frame, raw = task_target(options.task, frame, target, list(options.categorical))
    # the columns every subsample path sets aside (constant in the table) are in no unit: p
    # counts the units a path can select, as ``lassonet path``'s k does
    aside = [] if options.image_shape else constant_columns(
        frame, categorical_columns(frame, options.categorical))
    refuse_all_constant(aside, frame.columns)
    unit = unit_index(frame.columns, options.groups, aside)
    p = int(unit.max()) + 1 if len(unit) else 0
    grouped = p < frame.shape[1] - len(aside)
    what = ("groups and ungrouped columns" if grouped else "columns") + (
        f" left after setting aside {len(aside)} constant column(s)" if aside else "")
    if k_grid is not None:
        given, k_grid = k_grid, _counts(k_grid, p)
        if not k_grid:
            raise ConfigError(lambda s: f"{s('k_grid')} must list counts of {what} from 1 to "
                                        f"{p}, got {given!r}")
    if q is not None and q > p:
        raise ConfigError(lambda s: f"{s('q')} {q} is more than the {p} {what}")
    # (rounding: 1 / ((2 * 0.6 - 1) * 5) is 1.0000000000000002, and --efv 1 was 'below 1')
    if efv is not None and efv < (least := 1 / ((2 * pi_thr - 1) * p)) and not math.isclose(
            efv, least):
        raise ConfigError(lambda s: f"{s('efv')} {efv:g} is below {least:.3g}, the bound with "
                                    f"one column selected per subsample (q = 1) of {p} at "
                                    f"{s('pi_thr')} {pi_thr:g}: ask for at least {least:.3g}")
    task = make_task(task_name, columns=list(frame.columns))
    strata = task.strata(raw)
    y = raw if strata is None else strata
    if task_name == "cox" and (events := int(np.sum(strata))) < 2:
        raise DataError(lambda s: f"stability selection needs at least 2 events, one for each "
                                  f"half-sample of a pair; the {s('event')} column has {events}")
    subsamples = []
    for b in range(pairs):
        subsamples.extend(half_samples(y, strata is not None,
                                       np.random.default_rng([options.seed, 3, b])))
    sub_options = dataclasses.replace(options, task=task_name, cv=None, rule="best", k=None)
    shared = _Table(sub_options, frame, None if task_name == "reconstruction" else raw, unit)
    names = [f"subsample {i + 1} (pair {i // 2 + 1}, half {i % 2 + 1})"
             for i in range(len(subsamples))]
    half_rows = min(len(rows) for rows in subsamples)
    half = f"each half-sample holds {half_rows} of the {len(y)} rows, and "
    try:
        # (before any path: a half-sample too small to split, or to hold classes, failed in
        # the checks of a table, as if it were the table)
        check_split_size(half_rows, options.val_fraction, "val_fraction")
        if task_name == "classification":
            _check_half_classes(raw, subsamples, half)
        outcomes = (runner or Runner()).map(_subsample_path, shared, subsamples, names, on_done)
    except TooFewRows as e:  # said of a half-sample: say it of the table
        cause = e
        if cause.finding is None:  # too few rows to split
            raise TooFewRows(lambda s: f"{half}{cause.spelled(s)} (stability selection: a "
                                       "table of twice that)") from None
        # a score undefined on the validation rows (no cross-validation here)
        raise TooFewRows(lambda s: f"{half}{cause.finding}: hold out more with "
                                   f"{s('val_fraction')}, or use a table with more rows "
                                   "(each half-sample path chooses its point on its own "
                                   "validation rows)") from None
    except NothingToSelect:  # in a half-sample: the table's columns do vary (checked above)
        raise DataError(f"{half}in one of them every feature column is constant (the columns "
                        "vary in too few rows to vary in each half): there is nothing to "
                        "select; use a table with more rows") from None
    positions = np.stack([place for place, _ in outcomes])
    sizes = np.asarray([size for _, size in outcomes])
    if q is not None:
        q_from = "as given"
    elif efv is not None:
        q = q_for(efv, pi_thr, p)
        q_from = f"the largest whose bound is at most {efv:g}"
    else:
        median = float(np.median(sizes))
        q = max(1, int(np.ceil(median)))
        q_from = "the median size of the subsamples' chosen models" + (
            f", {median:g}, raised to 1" if median < 1 else "")
    grid = sorted(set(_default_grid(p) if k_grid is None else k_grid) | {q})
    return Stability(list(frame.columns), positions, sizes, q, q_from, pi_thr, grid, p, aside,
                     dict(options.groups) if options.groups else None)


def _counts(given, p: int) -> list | None:
    """``given`` as a list, where it is a sequence (a list, an array, a Series) of whole
    numbers from 1 to ``p``; else None."""
    if not isinstance(given, (list, tuple, range, np.ndarray, pd.Series)):
        return None
    counts = list(given)
    return counts if all(is_int(k) and 1 <= k <= p for k in counts) else None


def _check_half_classes(labels: np.ndarray, subsamples: list[np.ndarray], half: str) -> None:
    """DataError unless some class has 2 rows in each half-sample (``subsamples``);
    ``half``: what a half-sample holds, said first."""
    for rows in subsamples:
        if pd.Series(labels[rows]).value_counts().max() < 2:
            raise DataError(f"{half}a half-sample has a different class in each of its rows: "
                            "classification needs classes of at least 2 rows in each "
                            "half-sample (a class of 4 rows in the table gives them)")


def _default_grid(p: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to p."""
    from .evaluate import parse_k_grid

    return parse_k_grid(None, p)


class StabilityMixin:
    """``stability``, the Python API's stability selection: a method of ``LassoNetSelector``
    (``sklearn_api``), over a ``Selector``'s parameters."""

    def stability(self, X, y=None, pairs: int = DEFAULT_PAIRS, pi_thr: float = DEFAULT_PI_THR,
                  q: int | None = None, efv: float | None = None,
                  k_grid: list[int] | None = None, on_done=None) -> Stability:
        """Stability selection with these parameters over ``pairs`` complementary pairs of
        half-samples of (X, y) (``stability_selection``); the subsample paths run where
        ``n_jobs`` and ``scheduler`` say.  Returns the ``Stability`` result and keeps it as
        ``stability_``; ``stability_scores_`` (one per column of X) is each column's selection
        probability at q (``max_probability``).  Does not fit the model."""
        options = self.validate()
        result = stability_selection(options, as_frame(X), y, pairs,
                                     pi_thr, q, efv, k_grid, self._runs(), on_done)
        self.stability_ = result
        self.stability_scores_ = result.max_probability
        return result
