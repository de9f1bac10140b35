"""Wide tables: how well each ranker's top-k columns do with few rows and many columns.

Feature selection is used most on tables with 50-200 rows and thousands of columns, where one
split is noise.  This script ranks the columns of such tables with every ranker over several
splits and refits two learners on each ranking's top k.

Tables (``--tables``, default all):

* real, from ``../shared/data`` (classification, target ``target``): ``prostate_ge``,
  ``tox171``, ``arcene``, ``glioma``, ``colon``, ``lymphoma``;
* synthetic, ``--synthetic-n`` rows x ``--synthetic-d`` standard normal columns (default
  150 x 2,000), drawn once from a fixed seed (with ``--redraw``, anew for every seed), with
  the informative columns at random positions:
  ``linear_c`` (class = sign of a linear function of 10 columns, weights 1.5 down to 0.5, plus
  noise), ``linear_r`` (the same kind of function plus noise as the target), ``xor_c``
  (class = sign of 2 sign(x1 x2) + x3 + x4 + x5 + noise: x1 and x2 matter only together, so no
  marginal test sees them) and ``product_r`` (y = x1 x2 + x3 x4 + x5 - x6 + noise).

Protocol, for every table and seed (``--seeds``, default 0-4):

* **Split.** ``compare_reference.make_split``: 70/30, stratified for classification, seeded by
  the seed; every ranker sees the training rows only.
* **Rankers** (``--rankers``, default all), each seeded by the seed: ``lassonet`` (ours,
  ``LassoNetSelector(backbone="mlp:100")`` at its defaults plus ``--lassonet-kwargs``, ranked
  by ``ranking_``), ``reference`` (PyPI ``lassonet`` 0.0.21 at its defaults, hidden layer of
  100, in its own venv through ``compare_reference.run_reference``), ``anova_f``,
  ``mutual_info``, ``random_forest`` and ``l1_path`` (``_harness.RANKERS``, as in
  ``compare_rankers.py``), and ``random`` (a seeded permutation).
* **Refit.** Each ranking's top k columns, k = 5, 10, 25, 50, 100 and 10%, 25%, 50% of the
  columns (only k < d, each k once), are refitted by two learners on the training rows and
  scored on the test rows (accuracy or R^2): ``mlp``, the common refit of
  ``compare_reference.Refitter`` (``mlp:100``, 10% of the training rows for early stopping),
  and ``trees``, extra trees (300 trees, ``random_state=seed``).
* **Time.** A ranker's fitting time: ours ``fit``, the reference's ``.path()`` (interpreter
  start and data exchange excluded), the others their call.

Per table it prints, per ranker: the mean score over k, learners and seeds, its spread (sd over
seeds of the per-seed mean), the mean over learners of the per-learner means, the mean rank
among the rankers (ranked per seed x learner x k, ties averaged, 1 = best), the median fitting
time and, for synthetic tables, the informative columns in the top 10 and top 50 (mean over
seeds); then ``ours - reference`` (mean over seeds, learners and k) and the number of entries in
ours' ``ranking_``.  The summary gives the mean rank per ranker over all, real and synthetic
tables (the mean of the tables' mean ranks) and per table ``ours - reference`` and the median
over seeds of the fitting-time ratio reference/ours.

Rankings of every ranker but ours, and the refit scores, are cached as JSON under
``benchmarks/out/wide_cache/`` (``--cache-dir``), keyed by the split's data and a digest of the
code that produced them (the ranker's source; for the ``mlp`` refit all of ``lassonet_cli``),
so a re-run refits only what changed; ``--no-cache`` recomputes everything.  Run from the
project root::

    .venv/bin/python benchmarks/wide.py                       # everything: 4-6 hours
    .venv/bin/python benchmarks/wide.py --tables colon --seeds 0 --rankers lassonet anova_f
    .venv/bin/python benchmarks/wide.py --quick               # toy synthetic tables, 5 min
    .venv/bin/python benchmarks/wide.py --rankers lassonet --lassonet-runs 5   # an ensemble

``--lassonet-runs N`` ranks by ours' mean place over N fits with different seeds (validation
rows and initial weights), an ensemble that ``select`` does not offer (``fit_lassonet``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness  # noqa: E402  (the rankers and the rank-refit loop)
import compare_reference as cr  # noqa: E402  (the split, the common refit, the reference)

HERE = Path(__file__).resolve().parent
CACHE_DIR = HERE / "out" / "wide_cache"
TARGET = "target"
REAL_TABLES = ("prostate_ge", "tox171", "arcene", "glioma", "colon", "lymphoma")
SYNTHETIC_TABLES = {  # name -> (task, informative columns)
    "linear_c": ("classification", 10),
    "linear_r": ("regression", 10),
    "xor_c": ("classification", 5),
    "product_r": ("regression", 6),
}
TABLE_SEED = 0  # the synthetic tables are drawn once; the seeds choose splits
REDRAW_SEED = 1000  # with --redraw, seed s draws its synthetic table with REDRAW_SEED + s
COUNTS = (5, 10, 25, 50, 100)
SHARES = (0.10, 0.25, 0.50)
TREES = 300
LEARNERS = ("mlp", "trees")
RANKERS = ("lassonet", "reference", "anova_f", "mutual_info", "random_forest", "l1_path",
           "random")
OURS, REFERENCE = "lassonet", "reference"
QUICK = {"n": 100, "d": 100, "seeds": [0, 1]}


@dataclass
class Table:
    """A table to rank: features, target, and for synthetic tables the informative columns."""

    name: str
    task: str
    X: pd.DataFrame
    y: np.ndarray
    informative: list[int] | None  # column indices; None for real tables

    @property
    def spec(self) -> cr.DatasetSpec:
        synthetic = self.informative is not None
        where = "(synthetic)" if synthetic else f"../shared/data/{self.name}.parquet"
        return cr.DatasetSpec(self.name, where, TARGET, self.task)


# --- tables ------------------------------------------------------------------------------------


def synthetic_table(name: str, n: int, d: int, seed: int = TABLE_SEED) -> Table:
    """Draw a synthetic wide table: standard normal columns, a few of them informative.

    The informative columns sit at positions drawn by the seed (not the first columns, so
    that no ranker gains from ties broken by column order).

    Parameters
    ----------
    name : a key of ``SYNTHETIC_TABLES``
    n, d : rows and columns
    seed : seeds the draw (with the table's name)

    Returns
    -------
    Table
        ``X``: (n, d) float32 columns ``x00000``...; ``informative``: their positions, in the
        order of the roles in the module docstring (x1, x2, ...)
    """
    task, m = SYNTHETIC_TABLES[name]
    rng = np.random.default_rng([seed, list(SYNTHETIC_TABLES).index(name)])
    X = rng.standard_normal((n, d)).astype(np.float32)
    informative = [int(j) for j in rng.permutation(d)[:m]]
    x = X[:, informative].astype(np.float64)
    noise = rng.standard_normal(n)
    if name in ("linear_c", "linear_r"):
        weights = rng.choice([-1.0, 1.0], m) * np.linspace(1.5, 0.5, m)
        signal = x @ weights
        target = signal + 0.5 * signal.std() * noise
        y = (target > 0).astype(np.int64) if task == "classification" else target
    elif name == "xor_c":
        signal = 2 * np.sign(x[:, 0] * x[:, 1]) + x[:, 2:5].sum(axis=1)
        y = (signal + 0.3 * noise > 0).astype(np.int64)
    else:  # product_r
        y = x[:, 0] * x[:, 1] + x[:, 2] * x[:, 3] + x[:, 4] - x[:, 5] + 0.3 * noise
    columns = [f"x{j:05d}" for j in range(d)]
    return Table(name, task, pd.DataFrame(X, columns=columns), y, informative)


def real_table_spec(name: str) -> cr.DatasetSpec:
    """Where one of ``REAL_TABLES`` lies, and its target."""
    return cr.DatasetSpec(name, f"../shared/data/{name}.parquet", TARGET, "classification")


def load_table(name: str, n: int, d: int) -> Table:
    """A real table from ``../shared/data`` or a synthetic one (``n`` x ``d``)."""
    if name in SYNTHETIC_TABLES:
        return synthetic_table(name, n, d)
    spec = real_table_spec(name)
    X, y = cr.load_dataset(spec)
    return Table(name, spec.task, X, y, None)


def budgets(d: int) -> dict[str, int]:
    """Budgets k < d: ``COUNTS`` and ``SHARES`` of d (half up, at least 1), each k once.

    Parameters
    ----------
    d : number of columns

    Returns
    -------
    dict
        label ('5', ..., '10%', ...) -> k, by increasing k
    """
    ks = {str(k): k for k in COUNTS}
    for share in SHARES:
        ks.setdefault(f"{share:.0%}", max(1, int(np.floor(share * d + 0.5))))
    unique: dict[int, str] = {}
    for label, k in ks.items():
        unique.setdefault(k, label)
    return {label: k for k, label in sorted(unique.items()) if k < d}


# --- rankers and learners beyond the harness's -------------------------------------------------


def rank_random(split: cr.Split, seed: int) -> np.ndarray:
    """A random ranking: a permutation of the columns seeded by ``seed``."""
    return np.random.default_rng([seed, 2]).permutation(split.d)


def fit_lassonet(split: cr.Split, seed: int, options: dict,
                 entries: dict[tuple[str, int], dict], runs: int = 1) -> tuple[np.ndarray, float]:
    """Ours: the ranking and fitting time; ``entries`` records what ``ranking_`` held.

    Parameters
    ----------
    split, seed : as for every ranker
    options : extra keyword arguments of ``LassoNetSelector``
    entries : filled at (table, seed) with the counts of entries, distinct entries and
        columns
    runs : ``--lassonet-runs``: with more than 1, the selector is fitted with the seeds
        ``seed``, ``seed + 1000``, ... (each its own validation rows and initial weights) and
        the columns are ordered by their mean place in the runs' rankings (ties by name), an
        ensemble that ``select`` does not offer; the time is that of all runs

    Returns
    -------
    order : (d,) column indices (columns missing from ``ranking_`` last)
    fit_s : seconds
    """
    start = time.perf_counter()
    names = _harness.lassonet_ranking(split, seed, **options)
    if runs > 1:
        place = {name: float(i) for i, name in enumerate(names)}
        for run in range(1, runs):
            for i, name in enumerate(_harness.lassonet_ranking(split, seed + 1000 * run,
                                                               **options)):
                place[name] = place.get(name, 0.0) + i
        names = sorted(place, key=lambda name: (place[name], name))
    fit_s = time.perf_counter() - start
    entries[(split.name, seed)] = {
        "entries": len(names),
        "distinct_known": len(set(names) & set(split.columns)),
        "columns": split.d,
    }
    return _harness.column_order(split, names), fit_s


def fit_reference(split: cr.Split, seed: int, ref_python: Path, threads: int,
                  workdir: Path) -> tuple[np.ndarray, float]:
    """The reference's ranking and the time of its ``.path()`` (``run_reference``)."""
    result = cr.run_reference(split, seed, {"10": min(10, split.d)}, ref_python, threads,
                              workdir)
    order = np.asarray(result["ranking"], dtype=np.int64)
    if sorted(order.tolist()) != list(range(split.d)):
        raise RuntimeError(f"the reference ranked {len(order)} entries for {split.d} columns")
    return order, float(result["time_s"])


class TreeRefitter:
    """Extra trees fitted on a column subset of the training rows, scored on the test rows.

    ``TREES`` trees, ``random_state=seed``, ``n_jobs=2``; the columns are taken as a set.
    """

    def __init__(self, split: cr.Split, seed: int):
        self.split = split
        self.seed = seed

    def score(self, features: list[int]) -> float:
        """Test accuracy or R^2 of extra trees on ``features`` (column indices)."""
        columns = np.sort(np.asarray(features, dtype=np.int64))
        classification = self.split.task == "classification"
        cls = ExtraTreesClassifier if classification else ExtraTreesRegressor
        model = cls(n_estimators=TREES, random_state=self.seed, n_jobs=2)
        model.fit(self.split.Z_train[:, columns], self.split.y_train)
        predictions = model.predict(self.split.Z_test[:, columns])
        return cr.test_score(self.split.task, predictions, self.split.y_test)


# --- the cache ---------------------------------------------------------------------------------


def digest(*parts: str | bytes) -> str:
    """Short sha1 of the parts, in order."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:12]


def source_digest(*objects: object) -> str:
    """Digest of the source code of functions, classes or modules (and scikit-learn's version)."""
    return digest(sklearn.__version__, *(inspect.getsource(o) for o in objects))


@cache
def package_digest() -> str:
    """Digest of every source file of ``lassonet_cli`` (what the ``mlp`` refit runs).

    Taken once, when ``main`` starts: the process runs the code it imported then, whatever is
    edited on disk during a long run.
    """
    package = cr.ROOT / "lassonet_cli"
    files = sorted(p for p in package.iterdir() if p.suffix in (".py", ".c", ".h"))
    return digest(torch.__version__, inspect.getsource(cr.Refitter),
                  *(p.name + p.read_text(encoding="utf-8") for p in files))


class SplitCache:
    """Cached rankings and refit scores of one table split, in one folder.

    ``<ranker>.json`` holds a ranking (order, fit_s, the code digest it was made with);
    ``scores.json`` maps ``learner:code digest:column-set digest`` to a test score.  The folder
    name carries the seed and a digest of the split's data, so a changed table or split never
    meets old results.  ``folder=None`` keeps nothing; ``read=False`` ignores what is there.
    """

    def __init__(self, folder: Path | None, read: bool = True):
        self.folder = folder
        self.read = read and folder is not None
        self._scores: dict[str, float] = {}
        self.hits: set[str] = set()
        if self.read and (folder / "scores.json").exists():
            self._scores = self._load(folder / "scores.json") or {}

    @classmethod
    def for_split(cls, root: Path | None, split: cr.Split, seed: int,
                  read: bool = True) -> SplitCache:
        """The cache of ``split`` under ``root`` (None: no cache)."""
        if root is None:
            return cls(None)
        data = digest(split.Z_train.tobytes(), split.y_train.tobytes(),
                      split.Z_test.tobytes(), split.y_test.tobytes(), "\0".join(split.columns))
        return cls(root / split.name / f"seed{seed}-{data}", read)

    @staticmethod
    def _load(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # a file cut short by an interrupted run: recompute
            return None

    def _write(self, name: str, payload: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        scratch = self.folder / f".{name}.tmp"
        scratch.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(scratch, self.folder / name)

    def ranking(self, ranker: str, code: str,
                fit: Callable[[cr.Split, int], tuple[np.ndarray, float]], split: cr.Split,
                seed: int) -> tuple[np.ndarray, float]:
        """The stored ranking made by ``code``, or ``fit(split, seed)``'s, then stored.

        Rankings served from the cache are added to ``hits``.

        Returns
        -------
        order : (d,) column indices
        fit_s : seconds, as measured when the ranking was computed
        """
        path = None if self.folder is None else self.folder / f"{ranker}.json"
        if self.read and path.exists():
            stored = self._load(path)
            if stored is not None and stored.get("code") == code:
                self.hits.add(ranker)
                return np.asarray(stored["order"], dtype=np.int64), stored["fit_s"]
        order, fit_s = fit(split, seed)
        if path is not None:
            self._write(path.name, {"code": code, "fit_s": fit_s,
                                    "order": [int(j) for j in order]})
        return order, fit_s

    def score(self, learner: str, code: str, features: list[int],
              compute: Callable[[list[int]], float]) -> float:
        """The stored score of ``learner`` (made by ``code``) on ``features``, or computed."""
        key = ":".join([learner, code, digest(np.sort(np.asarray(features, np.int64)).tobytes())])
        if key not in self._scores:
            self._scores[key] = float(compute(features))
            if self.folder is not None:
                self._write("scores.json", self._scores)
        return self._scores[key]


# --- one table ---------------------------------------------------------------------------------


def run_table(table: Table, seeds: list[int], rankers: list[str], args: argparse.Namespace,
              workdir: Path) -> tuple[list[dict], list[dict], dict]:
    """Rank the table's columns with every ranker for every seed; refit and score the top k.

    Parameters
    ----------
    table : Table
    seeds : splits and rankers' seeds
    rankers : names from ``RANKERS``
    args : the parsed command line (threads, reference python, cache, ours' options)
    workdir : folder for the reference's exchange files

    Returns
    -------
    runs : one dict per seed x ranker (scores, fit_s, cached, hits, top 100)
    failures : one dict per seed x ranker that raised
    entries : (table, seed) -> counts of ours' ``ranking_`` entries
    """
    ks = budgets(table.X.shape[1])
    entries: dict[tuple[str, int], dict] = {}
    fitters = {
        OURS: partial(fit_lassonet, options=args.lassonet_kwargs, entries=entries,
                      runs=args.lassonet_runs),
        REFERENCE: partial(fit_reference, ref_python=args.ref_python, threads=args.threads,
                           workdir=workdir),
        **{name: partial(_harness.timed, rank) for name, rank in _harness.RANKERS.items()
           if name != OURS},
        "random": partial(_harness.timed, rank_random),
    }
    # what a cached result depends on besides the split: the code (and settings) that made it
    codes = {name: source_digest(_harness) for name in _harness.RANKERS if name != OURS}
    codes["random"] = source_digest(rank_random)
    if REFERENCE in rankers:
        codes[REFERENCE] = digest(cr.WORKER.read_text(encoding="utf-8"),
                                  source_digest(fit_reference, cr.run_reference,
                                                cr.reference_targets),
                                  json.dumps(args.ref_versions))
    learner_codes = {
        "mlp": digest(package_digest(), cr.BACKBONE, str(cr.REFIT_VAL_FRACTION)),
        "trees": digest(source_digest(TreeRefitter), str(TREES)),
    }

    runs, failures = [], []
    drawn = table
    for seed in seeds:
        if args.redraw and table.informative is not None:
            drawn = synthetic_table(table.name, *table.X.shape, seed=REDRAW_SEED + seed)
        split = cr.make_split(drawn.spec, drawn.X, drawn.y, seed)
        store = SplitCache.for_split(args.cache_dir, split, seed, read=not args.no_cache)
        refitters = {name: refit for name, refit in (("mlp", cr.Refitter(split, seed).score),
                                                     ("trees", TreeRefitter(split, seed).score))
                     if name in args.learners}
        learners = {name: partial(store.score, name, learner_codes[name], compute=compute)
                    for name, compute in refitters.items()}
        for ranker in rankers:
            fit = fitters[ranker]
            if ranker != OURS:  # our code changes between runs: never cached
                fit = partial(store.ranking, ranker, codes[ranker], fit)
            try:
                [run] = _harness.run_rankers(split, seed, {ranker: fit}, ks, learners)
            except Exception as exc:  # keep going; the failure is reported with the table
                message = f"{type(exc).__name__}: {exc}"
                failures.append({"table": table.name, "seed": seed, "ranker": ranker,
                                 "error": message})
                print(f"  [{table.name} seed {seed}] {ranker}: FAILED {message}",
                      file=sys.stderr, flush=True)
                continue
            row = {"table": table.name, "seed": seed, "ranker": ranker, "fit_s": run.fit_s,
                   "cached": ranker in store.hits, "scores": run.scores,
                   "top": [int(j) for j in run.order[:100]]}
            if drawn.informative is not None:
                wanted = set(drawn.informative)
                row["hits10"] = len(wanted & {int(j) for j in run.order[:10]})
                row["hits50"] = len(wanted & {int(j) for j in run.order[:50]})
            runs.append(row)
    return runs, failures, entries


# --- statistics --------------------------------------------------------------------------------


def long_scores(runs: list[dict]) -> pd.DataFrame:
    """One row per table x seed x ranker x learner x k, with the rank among the rankers.

    Ranks are taken within each table x seed x learner x k among the rankers present, the
    best score ranked 1, ties given the mean of their ranks.
    """
    frame = pd.DataFrame([
        {"table": r["table"], "seed": r["seed"], "ranker": r["ranker"], "learner": learner,
         "k": label, "score": score}
        for r in runs for learner, by_k in r["scores"].items() for label, score in by_k.items()
    ])
    cell = ["table", "seed", "learner", "k"]
    frame["rank"] = frame.groupby(cell)["score"].rank(ascending=False, method="average")
    return frame


def summarise_table(name: str, runs: list[dict], rankers: list[str], synthetic: bool) -> dict:
    """A table's statistics per ranker, ``ours - reference`` and the time ratio.

    Parameters
    ----------
    name : the table
    runs : ``run_table``'s runs (of this table)
    rankers : in the order to report
    synthetic : whether informative-column hits are known

    Returns
    -------
    dict
        ``rankers``: ranker -> mean, sd (over seeds of the per-seed mean; None for one seed),
        by_learner (learner -> mean), mean_rank, fit_s (median over seeds), seeds, and for
        synthetic tables hits10, hits50 (means over seeds); ``ours_minus_reference`` (mean over
        seeds, learners and k of the paired differences) and
        ``time_ratio_reference_over_ours`` (median over seeds), None where a side is missing.
    """
    runs = [r for r in runs if r["table"] == name]
    frame = long_scores(runs) if runs else None
    stats: dict = {}
    for ranker in rankers:
        mine = [r for r in runs if r["ranker"] == ranker]
        if not mine:
            continue
        part = frame[frame["ranker"] == ranker]
        per_seed = part.groupby("seed")["score"].mean()
        entry = {
            "mean": float(part["score"].mean()),
            "sd": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else None,
            "by_learner": {k: float(v) for k, v in part.groupby("learner")["score"].mean().items()},
            "mean_rank": float(part["rank"].mean()),
            "fit_s": statistics.median(r["fit_s"] for r in mine),
            "seeds": len(mine),
            "cached": sum(r["cached"] for r in mine),
        }
        if synthetic:
            entry["hits10"] = statistics.fmean(r["hits10"] for r in mine)
            entry["hits50"] = statistics.fmean(r["hits50"] for r in mine)
        stats[ranker] = entry
    difference = ratio = None
    if frame is not None:
        wide = frame.pivot_table(index=["seed", "learner", "k"], columns="ranker",
                                 values="score")
        if OURS in wide and REFERENCE in wide:
            paired = (wide[OURS] - wide[REFERENCE]).dropna()
            difference = float(paired.mean()) if len(paired) else None
        times = {(r["ranker"], r["seed"]): r["fit_s"] for r in runs}
        ratios = [times[(REFERENCE, s)] / times[(OURS, s)] for (rk, s) in times
                  if rk == OURS and (REFERENCE, s) in times]
        ratio = statistics.median(ratios) if ratios else None
    return {"rankers": stats, "ours_minus_reference": difference,
            "time_ratio_reference_over_ours": ratio}


def mean_ranks(summaries: dict[str, dict], names: list[str], rankers: list[str]) -> dict:
    """Mean over the tables ``names`` of each ranker's mean rank (tables weigh the same)."""
    result = {}
    for ranker in rankers:
        values = [summaries[n]["rankers"][ranker]["mean_rank"] for n in names
                  if ranker in summaries[n]["rankers"]]
        result[ranker] = statistics.fmean(values) if values else None
    return result


# --- output ------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".3f", signed: bool = False) -> str:
    """A number for the tables; '-' when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return format(value, ("+" if signed else "") + spec)


def format_table(table: Table, ks: dict[str, int], seeds: list[int], summary: dict,
                 entries: dict, failures: list[dict]) -> list[str]:
    """The lines printed for one table."""
    score = "accuracy" if table.task == "classification" else "R^2"
    n, d = table.X.shape
    lines = ["", f"## {table.name} ({table.task}, n={n}, d={d}, {len(seeds)} seed(s); "
             f"k = {' '.join(map(str, ks.values()))})"]
    synthetic = table.informative is not None
    headers = ["ranker", "mean", "sd", *LEARNERS, "mean_rank", "fit_s"]
    if synthetic:
        m = len(table.informative)
        headers += [f"top10 (of {m})", f"top50 (of {m})"]
    rows = []
    for ranker, s in summary["rankers"].items():
        cells = [ranker + ("" if s["seeds"] == len(seeds) else f" ({s['seeds']} seeds)"),
                 fmt(s["mean"]), fmt(s["sd"]),
                 *(fmt(s["by_learner"].get(learner)) for learner in LEARNERS),
                 fmt(s["mean_rank"], ".2f"), fmt(s["fit_s"], ".2f")]
        if synthetic:
            cells += [fmt(s["hits10"], ".1f"), fmt(s["hits50"], ".1f")]
        rows.append(cells)
    if rows:
        lines += _harness.render_table(headers, rows)
    lines.append(f"(test {score}: mean over k, learners and seeds; sd over seeds of the "
                 "per-seed mean; mean_rank among the rankers, 1 = best; fit_s median over seeds)")
    lines.append(f"ours - reference: {fmt(summary['ours_minus_reference'], signed=True)} "
                 "(mean over seeds, learners and k)")
    cached = [f"{r} {s['cached']}/{s['seeds']}" for r, s in summary["rankers"].items()
              if s["cached"]]
    if cached:
        lines.append("rankings from the cache (fit_s as first measured): " + ", ".join(cached))
    if any(key[0] == table.name for key in entries):
        counts = {seed: e for (t, seed), e in entries.items() if t == table.name}
        bad = {seed: e for seed, e in counts.items()
               if not e["entries"] == e["distinct_known"] == e["columns"]}
        if bad:
            lines.append("ours' ranking_: WRONG ENTRY COUNT: " + "; ".join(
                f"seed {seed}: {e['entries']} entries, {e['distinct_known']} distinct columns, "
                f"of {e['columns']}" for seed, e in bad.items()))
        else:
            lines.append(f"ours' ranking_: {d} entries, one per column, in each of "
                         f"{len(counts)} seed(s)")
    for failure in failures:
        if failure["table"] == table.name:
            lines.append(f"FAILED: seed {failure['seed']} {failure['ranker']}: "
                         f"{failure['error'].splitlines()[0]}")
    return lines


def format_summary(summaries: dict[str, dict], tables: dict[str, Table],
                   rankers: list[str]) -> tuple[list[str], dict]:
    """The summary over all tables, as lines and as a dict."""
    real = [n for n in summaries if tables[n].informative is None]
    synthetic = [n for n in summaries if tables[n].informative is not None]
    ranks = {"all": mean_ranks(summaries, list(summaries), rankers),
             "real": mean_ranks(summaries, real, rankers),
             "synthetic": mean_ranks(summaries, synthetic, rankers)}
    lines = ["", f"## summary over {len(summaries)} table(s) ({len(real)} real, "
             f"{len(synthetic)} synthetic)", "", "mean rank (mean over tables of each table's "
             "mean rank; 1 = best)"]
    lines += _harness.render_table(
        ["ranker", "all", "real", "synthetic"],
        [[r, *(fmt(ranks[group][r], ".2f") for group in ("all", "real", "synthetic"))]
         for r in rankers])
    lines += ["", "per table: ours - reference (mean over seeds, learners and k); fitting-time "
              "ratio reference/ours (median over seeds)"]
    lines += _harness.render_table(
        ["table", "ours - reference", "time reference/ours"],
        [[n, fmt(s["ours_minus_reference"], signed=True),
          fmt(s["time_ratio_reference_over_ours"], ".2f") + "x"
          if s["time_ratio_reference_over_ours"] is not None else "-"]
         for n, s in summaries.items()])
    return lines, ranks


def header(args: argparse.Namespace, command: str, rankers: list[str]) -> tuple[list[str], dict]:
    """The header lines (date, cores, versions, commit, command, settings), and as a dict."""
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "nproc": cr.core_count(),
        "threads": args.threads,
        "loadavg_start": cr.load_average(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "lassonet_cli": cr.project_version(),
        "command": command,
        "seeds": args.seeds,
        "rankers": rankers,
        "lassonet_kwargs": args.lassonet_kwargs,
        "lassonet_runs": args.lassonet_runs,
        "synthetic": {"n": args.synthetic_n, "d": args.synthetic_d,
                      "table_seed": f"{REDRAW_SEED} + seed" if args.redraw else TABLE_SEED},
        "reference": args.ref_versions,
        "cache": None if args.cache_dir is None else str(args.cache_dir),
    }
    lines = [
        "# wide: each ranker's top-k columns on wide tables, refitted by an MLP and extra trees",
        f"# date: {meta['date']}",
        f"# host: {meta['host']}  nproc: {meta['nproc']}  torch threads: {args.threads}  "
        f"load average: {meta['loadavg_start']}",
        f"# python {meta['python']}, torch {meta['torch']}, scikit-learn {meta['sklearn']}",
        f"# lassonet_cli: {meta['lassonet_cli']}",
        f"# command: {command}",
        f"# seeds: {' '.join(map(str, args.seeds))}  rankers: {' '.join(rankers)}",
        f"# lassonet kwargs: {json.dumps(args.lassonet_kwargs)}  "
        f"backbone: {args.lassonet_kwargs.get('backbone', cr.BACKBONE)}"
        + (f"  ours: mean place over {args.lassonet_runs} runs" if args.lassonet_runs > 1
           else ""),
        f"# synthetic tables: n={args.synthetic_n}, d={args.synthetic_d}, "
        + (f"table seed {REDRAW_SEED} + seed (--redraw)" if args.redraw
           else f"table seed {TABLE_SEED}"),
        f"# split: {1 - cr.TEST_FRACTION:.0%}/{cr.TEST_FRACTION:.0%}; learners: "
        + ", ".join({"mlp": f"mlp (refit val {cr.REFIT_VAL_FRACTION:.0%} of train)",
                     "trees": f"trees ({TREES} extra trees)"}[name] for name in args.learners),
    ]
    if REFERENCE in args.rankers:
        lines.append("# reference: " + (
            f"{args.ref_python} (lassonet {args.ref_versions['lassonet']}, torch "
            f"{args.ref_versions['torch']})" if args.ref_versions else
            f"SKIPPED: {args.ref_problem}"))
    lines.append(f"# cache: {meta['cache'] or 'off'}"
                 + ("  (--no-cache: recomputed, then stored)" if args.no_cache else ""))
    return lines, meta


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see ``--help``); ``--quick`` fills the defaults it changes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    tables = [*REAL_TABLES, *SYNTHETIC_TABLES]
    parser.add_argument("--tables", nargs="+", choices=tables, default=None,
                        help="tables to run (default: all; --quick: the synthetic ones)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="splits and rankers' seeds (default: 0 1 2 3 4; --quick: 0 1)")
    parser.add_argument("--rankers", nargs="+", choices=RANKERS, default=None,
                        help="rankers (default: all; --quick: all but the reference)")
    parser.add_argument("--learners", nargs="+", choices=LEARNERS, default=list(LEARNERS),
                        help="learners that refit the top k (default: both; `--learners trees` "
                             "fills the rankings' cache without the MLP refits, which every "
                             "edit to lassonet_cli invalidates)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--synthetic-n", type=int, default=None,
                        help="rows of the synthetic tables (default 150; --quick 100)")
    parser.add_argument("--synthetic-d", type=int, default=None,
                        help="columns of the synthetic tables (default 2000; --quick 100)")
    parser.add_argument("--quick", action="store_true",
                        help="a toy run: the synthetic tables at 100 x 100, seeds 0 1, "
                             "no reference")
    parser.add_argument("--redraw", action="store_true",
                        help="draw each synthetic table anew for every seed (table seed "
                             f"{REDRAW_SEED} + seed) instead of once: the informative columns' "
                             "counts then average over tables as well as splits")
    parser.add_argument("--lassonet-kwargs", type=json.loads, default={}, metavar="JSON",
                        help="more keyword arguments for ours' LassoNetSelector, e.g. "
                             "'{\"path_multiplier\": 1.02}'")
    parser.add_argument("--lassonet-runs", type=int, default=1, metavar="N",
                        help="rank by ours' mean place over N fits with the seeds seed, "
                             "seed + 1000, ... (an ensemble `select` does not offer; "
                             "default 1: ours as it is)")
    parser.add_argument("--ref-python", type=Path, default=cr.DEFAULT_REF_PYTHON,
                        help="python of the reference venv (default: %(default)s)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR,
                        help="where rankings and scores are cached (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true",
                        help="recompute everything (the results are still stored)")
    parser.add_argument("--json-out", type=Path, default=None,
                        help="write every raw result and the summary to this JSON file")
    args = parser.parse_args(argv)
    if not isinstance(args.lassonet_kwargs, dict):
        parser.error("--lassonet-kwargs must be a JSON object")
    if args.lassonet_runs < 1:
        parser.error("--lassonet-runs must be at least 1")
    if args.tables is None:
        args.tables = list(SYNTHETIC_TABLES) if args.quick else tables
    if args.seeds is None:
        args.seeds = QUICK["seeds"] if args.quick else [0, 1, 2, 3, 4]
    if args.rankers is None:
        args.rankers = [r for r in RANKERS if not (args.quick and r == REFERENCE)]
    if args.synthetic_n is None:
        args.synthetic_n = QUICK["n"] if args.quick else 150
    if args.synthetic_d is None:
        args.synthetic_d = QUICK["d"] if args.quick else 2000
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the per-table tables and the summary.

    Parameters
    ----------
    argv : arguments (``sys.argv[1:]`` if None)

    Returns
    -------
    int
        0 when every ranker ran on every table and seed, 1 otherwise
    """
    args = parse_args(argv)
    package_digest()
    torch.set_num_threads(args.threads)
    args.ref_versions, args.ref_problem = None, None
    rankers = list(args.rankers)
    if REFERENCE in rankers:
        try:
            if not args.ref_python.exists():
                raise FileNotFoundError(f"{args.ref_python} does not exist (create it with "
                                        "benchmarks/setup_reference.sh, or use --ref-python)")
            args.ref_versions = cr.reference_versions(args.ref_python)
        except (OSError, RuntimeError) as exc:
            args.ref_problem = str(exc).splitlines()[0]
            rankers.remove(REFERENCE)
            print(f"note: the reference ranker is skipped: {args.ref_problem}", file=sys.stderr)
    command = shlex.join([sys.executable, *sys.argv] if argv is None
                         else [sys.executable, __file__, *argv])
    lines, meta = header(args, command, rankers)
    print("\n".join(lines), flush=True)

    all_runs, all_failures, info, summaries, tables = [], [], {}, {}, {}
    ours_entries: dict = {}
    with tempfile.TemporaryDirectory(prefix="lassonet-wide-") as workdir:
        for name in args.tables:
            start = time.perf_counter()
            table = load_table(name, args.synthetic_n, args.synthetic_d)
            tables[name] = table
            ks = budgets(table.X.shape[1])
            runs, failures, entries = run_table(table, args.seeds, rankers, args, Path(workdir))
            all_runs += runs
            all_failures += failures
            ours_entries.update(entries)
            summaries[name] = summarise_table(name, runs, rankers, table.informative is not None)
            info[name] = {"task": table.task, "n": table.X.shape[0], "d": table.X.shape[1],
                          "ks": ks, "informative": table.informative,
                          "seconds": time.perf_counter() - start}
            print("\n".join(format_table(table, ks, args.seeds, summaries[name], entries,
                                         failures)), flush=True)
    lines, ranks = format_summary(summaries, tables, rankers)
    print("\n".join(lines))
    meta["loadavg_end"] = cr.load_average()
    print(f"\nload average at the end: {meta['loadavg_end']}; "
          f"{sum(i['seconds'] for i in info.values()):.0f} s in all")
    if args.json_out is not None:
        payload = {
            "meta": meta, "tables": info, "runs": all_runs, "failures": all_failures,
            "ours_ranking_entries": [{"table": t, "seed": s, **e}
                                     for (t, s), e in ours_entries.items()],
            "summary": {"tables": summaries, "mean_rank": ranks},
        }
        args.json_out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"raw results: {args.json_out}")
    return 1 if all_failures else 0


if __name__ == "__main__":
    sys.exit(main())
