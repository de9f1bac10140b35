"""Compare ``lassonet_cli.LassoNetSelector`` with the reference LassoNet (PyPI ``lassonet``).

For every dataset and seed both tools get the same 70/30 train/test split and the same backbone
(one hidden layer of 100 units); each tool is otherwise at its defaults.  Ours runs in this
process; the reference runs in a subprocess of its own venv (``_reference_worker.py``), so that
the two installations never meet.  Measured per run:

* wall time of the path alone (our ``fit``; the reference's ``.path()``), interpreter start,
  imports and data preparation excluded;
* number of path points and total training epochs (ours: the path points, dense phase and
  relaxed fits; the start search is reported separately);
* path-model test score at k = 50%, 25%, 10% of the features: the path point with the most
  selected features <= k, evaluated on the test rows (accuracy or R^2);
* refit test score at the same k: the tool's top-k features refitted densely by one common
  procedure (``lassonet_cli.evaluate.refit_score``, same seed for both tools).

Run ``benchmarks/setup_reference.sh`` once to create the reference venv, then::

    .venv/bin/python benchmarks/compare_reference.py --datasets breast_cancer --seeds 0

``--tools ours`` runs our side alone and needs no reference venv; with ``--datasets
toy_regression --seeds 0`` (``sample_data/``, no ``../shared``) that is the smoke test's run.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lassonet_cli import LassoNetSelector
from lassonet_cli.backbones import BackboneSpec
from lassonet_cli.evaluate import refit_score
from lassonet_cli.splits import split_rows
from lassonet_cli.tasks import make_task

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "_reference_worker.py"
DEFAULT_REF_PYTHON = HERE / ".refvenv" / "bin" / "python"
BACKBONE = "mlp:100"
HIDDEN = (100,)
TEST_FRACTION = 0.3
REFIT_VAL_FRACTION = 0.1
BUDGETS = (("50%", 0.50), ("25%", 0.25), ("10%", 0.10))
TOOLS = ("ours", "reference")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a benchmark table lives and how to read it."""

    name: str
    path: str  # relative to the project root
    target: str
    task: str


DATASETS = {
    spec.name: spec
    for spec in (
        DatasetSpec("breast_cancer", "../shared/data/breast_cancer.parquet", "target",
                    "classification"),
        DatasetSpec("digits", "../shared/data/digits.parquet", "target", "classification"),
        DatasetSpec("diabetes", "../shared/data/diabetes.parquet", "target", "regression"),
        DatasetSpec("madelon", "../shared/data/madelon.parquet", "target", "classification"),
        DatasetSpec("toy_regression", "sample_data/toy_regression.csv", "y", "regression"),
    )
}


@dataclass
class Split:
    """One dataset split into training and test rows, in the forms both tools need.

    Attributes
    ----------
    name, task : dataset name and 'classification' or 'regression'
    columns : feature names
    train_raw, test_raw : DataFrames of raw features (what ours is given)
    y_train, y_test : raw targets
    Z_train, Z_test : (n, d) float32 features standardised with training statistics
    """

    name: str
    task: str
    columns: list[str]
    train_raw: pd.DataFrame
    test_raw: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    Z_train: np.ndarray
    Z_test: np.ndarray

    @property
    def d(self) -> int:
        return len(self.columns)


# --- data --------------------------------------------------------------------------------------


def load_dataset(spec: DatasetSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a benchmark table; return its feature columns and target.

    Parameters
    ----------
    spec : DatasetSpec

    Returns
    -------
    X : DataFrame of numeric features
    y : (n,) target
    """
    path = (ROOT / spec.path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"dataset {spec.name!r}: {path} does not exist")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    y = frame[spec.target].to_numpy()
    X = frame.drop(columns=[spec.target])
    X.columns = [str(c) for c in X.columns]
    return X, y


def make_split(spec: DatasetSpec, X: pd.DataFrame, y: np.ndarray, seed: int) -> Split:
    """The seed's 70/30 train/test split, with training-set standardisation.

    Parameters
    ----------
    spec : DatasetSpec
    X, y : the full table
    seed : seeds the split

    Returns
    -------
    Split
    """
    rng = np.random.default_rng([seed, 0])
    train, test = split_rows(y, TEST_FRACTION, spec.task == "classification", rng,
                             "test fraction")
    values = X.to_numpy(dtype=np.float64)
    mean = values[train].mean(axis=0)
    scale = values[train].std(axis=0)
    scale[~(scale > 0)] = 1.0  # constant columns stay at zero
    Z = ((values - mean) / scale).astype(np.float32)
    return Split(
        name=spec.name,
        task=spec.task,
        columns=list(X.columns),
        train_raw=X.iloc[train].reset_index(drop=True),
        test_raw=X.iloc[test].reset_index(drop=True),
        y_train=y[train],
        y_test=y[test],
        Z_train=Z[train],
        Z_test=Z[test],
    )


def budgets(d: int) -> dict[str, int]:
    """Feature budgets k for 50%, 25% and 10% of ``d`` (rounded half up, at least 1)."""
    return {label: max(1, int(math.floor(share * d + 0.5))) for label, share in BUDGETS}


def test_score(task: str, predictions: np.ndarray, y: np.ndarray) -> float:
    """Accuracy (classification) or R^2 (regression) of raw-unit predictions."""
    pred = np.asarray(predictions).reshape(len(y))
    if task == "classification":
        return float(np.mean(pred == y))
    y = np.asarray(y, dtype=np.float64)
    pred = pred.astype(np.float64)
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else float("nan")


# --- the two tools ---------------------------------------------------------------------------


class BudgetKeeper:
    """``on_point`` callback keeping, for each budget k, the model at the point ``k`` selects.

    The point for budget k is the one with the most features <= k, ties to the best validation
    score, then to the later point (the rule of ``lassonet_cli.pathresult.choose_point``).  Only the
    current best state per budget is copied, which gives the same choice as keeping every
    point's state.
    """

    def __init__(self, ks: dict[str, int]):
        self.ks = ks
        self.best: dict[str, tuple[int, float, int, dict]] = {}
        self.n_points = 0

    def __call__(self, point, model) -> None:
        index = self.n_points
        self.n_points += 1
        state = None
        for label, k in self.ks.items():
            if point.k > k:
                continue
            held = self.best.get(label)
            if held is None or (point.k, point.val_score) >= (held[0], held[1]):
                if state is None:
                    state = copy.deepcopy(model.state_dict())
                self.best[label] = (point.k, point.val_score, index, state)


def run_ours(split: Split, seed: int, ks: dict[str, int]) -> dict:
    """Fit ``LassoNetSelector`` on the training rows; time it and score the path models.

    Parameters
    ----------
    split : Split
    seed : the selector's seed
    ks : budgets, label -> k

    Returns
    -------
    dict
        time_s, points, k_sequence (features per point), epochs, search_epochs,
        nonfinite_points (points whose training or validation loss is not finite: the path
        diverged), lambda_start, ranking (indices, most important first), path_scores and
        path_k (label -> score and features of the chosen point).
    """
    keeper = BudgetKeeper(ks)
    selector = LassoNetSelector(task=split.task, backbone=BACKBONE, seed=seed, cv=0)
    start = time.perf_counter()
    selector.fit(split.train_raw, split.y_train, on_point=keeper)
    wall = time.perf_counter() - start

    path = selector.path_
    position = {name: j for j, name in enumerate(split.columns)}
    ranking = [position[name] for name in selector.ranking_]
    path_scores: dict[str, float | None] = {}
    path_k: dict[str, int | None] = {}
    for label in ks:
        if label not in keeper.best:
            path_scores[label], path_k[label] = None, None
            continue
        k, _, _, state = keeper.best[label]
        selector.model_.load_state_dict(state)
        selector.model_.eval()
        path_scores[label] = test_score(split.task, selector.predict(split.test_raw), split.y_test)
        path_k[label] = int(k)
    return {
        "time_s": wall,
        "points": len(path.points),
        "k_sequence": [int(p.k) for p in path.points],
        # every epoch trained: the path's points (dense phase included) and the relaxed fits
        "epochs": int(sum(p.epochs + p.relax_epochs for p in path.points)),
        "search_epochs": int(getattr(path, "search_epochs", 0)),
        "nonfinite_points": sum(
            not (math.isfinite(p.train_loss) and math.isfinite(p.val_loss)) for p in path.points
        ),
        "lambda_start": float(path.lambda_start),
        "ranking": ranking,
        "path_scores": path_scores,
        "path_k": path_k,
    }


def reference_targets(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Targets as the reference expects them.

    Class codes 0..K-1 (classes taken from the training rows) for classification; numbers
    standardised with the training mean and standard deviation for regression (R^2 is unchanged
    by this affine map).
    """
    if split.task == "classification":
        classes = np.unique(split.y_train)
        return np.searchsorted(classes, split.y_train), np.searchsorted(classes, split.y_test)
    y_train = split.y_train.astype(np.float64)
    mean, sd = y_train.mean(), y_train.std()
    return (y_train - mean) / sd, (split.y_test.astype(np.float64) - mean) / sd


def run_reference(
    split: Split, seed: int, ks: dict[str, int], ref_python: Path, threads: int, workdir: Path
) -> dict:
    """Run the reference on the split in its own interpreter (``_reference_worker.py``).

    Parameters
    ----------
    split : Split
    seed : ``random_state`` and ``torch_seed`` of the reference estimator
    ks : budgets, label -> k
    ref_python : the reference venv's python
    threads : torch threads in the worker
    workdir : folder for the exchange files

    Returns
    -------
    dict
        The worker's JSON with ``path_scores`` and ``path_k`` keyed by budget label.
    """
    y_train, y_test = reference_targets(split)
    data_file = workdir / f"{split.name}-{seed}.npz"
    result_file = workdir / f"{split.name}-{seed}.json"
    np.savez(data_file, X_train=split.Z_train, y_train=y_train, X_test=split.Z_test,
             y_test=y_test)
    command = [
        str(ref_python), str(WORKER), str(data_file), str(result_file),
        "--task", split.task, "--seed", str(seed), "--threads", str(threads),
        "--hidden", *map(str, HIDDEN), "--ks", *(str(k) for k in ks.values()),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"reference worker failed (exit {done.returncode}):\n{tail}")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    by_k = {str(k): label for label, k in ks.items()}
    result["path_scores"] = {by_k[k]: v for k, v in result["path_scores"].items()}
    result["path_k"] = {by_k[k]: v for k, v in result["path_k"].items()}
    return result


# --- the common refit --------------------------------------------------------------------------


class Refitter:
    """Refits the backbone on a feature subset, identically for both tools' rankings.

    The training rows are split once (per seed) into 90% for fitting and 10% for early
    stopping; the score is taken on the test rows.
    """

    def __init__(self, split: Split, seed: int):
        self.seed = seed
        self.task = make_task(split.task).fit(split.y_train)
        rng = np.random.default_rng([seed, 1])
        fit, val = split_rows(split.y_train, REFIT_VAL_FRACTION,
                              split.task == "classification", rng, "validation fraction")
        self.X_fit = torch.from_numpy(split.Z_train[fit])
        self.X_val = torch.from_numpy(split.Z_train[val])
        self.X_test = torch.from_numpy(split.Z_test)
        self.y_fit = self.task.encode(split.y_train[fit])
        self.y_val = self.task.encode(split.y_train[val])
        self.y_test = self.task.encode(split.y_test)
        self.backbone = BackboneSpec.parse(BACKBONE)
        self._cache: dict[tuple[int, ...], float] = {}

    def score(self, features: list[int]) -> float:
        """Test score of the refitted model on ``features`` (column indices)."""
        key = tuple(sorted(features))
        if key not in self._cache:
            self._cache[key] = refit_score(
                self.task, self.X_fit, self.y_fit, self.X_val, self.y_val, self.X_test,
                self.y_test, np.asarray(key), self.backbone, seed=self.seed,
            )
        return self._cache[key]


# --- reporting ---------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 3) -> str:
    """A score or time for the table; '-' when missing, 'nan' kept visible."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def mean(values: list) -> float | None:
    """Mean of the non-missing values, None when there are none."""
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


ROW_HEADER = (
    f"{'dataset':<15}{'seed':>5}  {'tool':<10}{'time_s':>8}{'points':>7}{'epochs':>8}"
    f"{'search':>7}  {'refit50':>8}{'refit25':>8}{'refit10':>8}  {'path50':>7}{'path25':>7}"
    f"{'path10':>7}"
)


def format_row(row: dict) -> str:
    """One line of the per-run table."""
    head = f"{row['dataset']:<15}{row['seed']:>5}  {row['tool']:<10}"
    if "error" in row:
        return head + f"ERROR: {row['error'].splitlines()[0]}"
    labels = [label for label, _ in BUDGETS]
    search = row.get("search_epochs")
    return (
        head
        + f"{row['time_s']:>8.2f}{row['points']:>7}{row['epochs']:>8}"
        + f"{('-' if search is None else search):>7}  "
        + "".join(f"{fmt(row['refit_scores'][lb]):>8}" for lb in labels)
        + "  "
        + "".join(f"{fmt(row['path_scores'][lb]):>7}" for lb in labels)
    )


def summarise(rows: list[dict], info: dict[str, dict]) -> tuple[list[str], dict]:
    """Per-dataset summary lines and the same numbers as a dict.

    Parameters
    ----------
    rows : per-run results (with 'dataset', 'seed', 'tool')
    info : dataset name -> {'task', 'n', 'd', 'ks'}

    Returns
    -------
    lines : list of str
    summary : dict, dataset -> tool -> statistic -> value
    """
    labels = [label for label, _ in BUDGETS]
    lines: list[str] = []
    summary: dict = {}
    for name, meta in info.items():
        ks = meta["ks"]
        lines.append("")
        lines.append(
            f"== {name}: {meta['task']}, n={meta['n']}, d={meta['d']}, "
            + ", ".join(f"k{lb.rstrip('%')}={ks[lb]}" for lb in labels)
            + " =="
        )
        lines.append(
            f"{'tool':<10}{'runs':>5}{'med_s':>9}{'points':>9}{'epochs':>10}{'search':>8}  "
            + "".join(f"{'refit' + lb.rstrip('%'):>8}" for lb in labels)
            + "  "
            + "".join(f"{'path' + lb.rstrip('%'):>8}" for lb in labels)
        )
        summary[name] = {}
        times: dict[str, dict[int, float]] = {}
        for tool in TOOLS:
            ok = [r for r in rows if r["dataset"] == name and r["tool"] == tool
                  and "error" not in r]
            times[tool] = {r["seed"]: r["time_s"] for r in ok}
            stats = {
                "runs": len(ok),
                "median_time_s": statistics.median(times[tool].values()) if ok else None,
                "mean_points": mean([r["points"] for r in ok]),
                "mean_epochs": mean([r["epochs"] for r in ok]),
                "mean_search_epochs": mean([r.get("search_epochs") for r in ok]),
                "mean_refit": {lb: mean([r["refit_scores"][lb] for r in ok]) for lb in labels},
                "mean_path": {lb: mean([r["path_scores"][lb] for r in ok]) for lb in labels},
            }
            summary[name][tool] = stats
            lines.append(
                f"{tool:<10}{stats['runs']:>5}{fmt(stats['median_time_s'], 2):>9}"
                f"{fmt(stats['mean_points'], 1):>9}{fmt(stats['mean_epochs'], 0):>10}"
                f"{fmt(stats['mean_search_epochs'], 0):>8}  "
                + "".join(f"{fmt(stats['mean_refit'][lb]):>8}" for lb in labels)
                + "  "
                + "".join(f"{fmt(stats['mean_path'][lb]):>8}" for lb in labels)
            )
        paired = sorted(set(times["ours"]) & set(times["reference"]))
        ratios = [times["reference"][s] / times["ours"][s] for s in paired]
        ratio = statistics.median(ratios) if ratios else None
        summary[name]["time_ratio_reference_over_ours"] = ratio
        lines.append(
            "time ratio reference/ours (median over seeds): "
            + ("-" if ratio is None else f"{ratio:.2f}x")
            + f"  [{', '.join(f'{r:.2f}' for r in ratios)}]"
        )
    return lines, summary


def reference_versions(ref_python: Path) -> dict:
    """torch and lassonet versions in the reference venv (also checks that it works)."""
    probe = (
        "import json, torch; from importlib import metadata as m; "
        "print(json.dumps({'torch': torch.__version__, 'lassonet': m.version('lassonet')}))"
    )
    done = subprocess.run([str(ref_python), "-c", probe], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{ref_python} cannot import torch and lassonet:\n{done.stderr.strip()}"
        )
    return json.loads(done.stdout)


def core_count() -> int:
    """Cores available to this process (what ``nproc`` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def project_version() -> str:
    """Commit of the project checkout, with a note and a digest when files are modified.

    The harness measures whatever ``lassonet_cli`` is on disk, so the header says which.
    """
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "lassonet_cli")
    if not changed:
        return commit
    digest = hashlib.sha1(git("diff", "HEAD", "--", "lassonet_cli").encode()).hexdigest()[:10]
    return f"{commit} + uncommitted changes to lassonet_cli (diff sha1 {digest})"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, to judge how noisy the timings are."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "-"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        description="Compare lassonet_cli with the reference lassonet package, side by side."
    )
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=None,
                        metavar="NAME",
                        help=f"datasets to run (default: all of {', '.join(DATASETS)})")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2, help="torch threads in both tools")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS),
                        help="run only these tools (default: both, alternating)")
    parser.add_argument("--ref-python", type=Path, default=DEFAULT_REF_PYTHON,
                        help="python of the reference venv (default: %(default)s)")
    parser.add_argument("--json-out", type=Path, default=None,
                        help="write every raw result and the summary to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the per-run table and the per-dataset summary.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 when every run succeeded, 1 otherwise.
    """
    args = parse_args(argv)
    ref_python = args.ref_python
    # ``--tools ours`` needs no reference venv (a run without it, e.g. the smoke test)
    if "reference" in args.tools and not ref_python.exists():
        print(
            f"error: the reference venv's python {ref_python} does not exist.\n"
            f"Create it with:  bash {HERE / 'setup_reference.sh'}\n"
            "or point --ref-python at a python that has lassonet==0.0.21 installed.",
            file=sys.stderr,
        )
        return 2
    ref_versions = (reference_versions(ref_python) if "reference" in args.tools
                    else {"torch": "-", "lassonet": "-"})
    torch.set_num_threads(args.threads)
    names = args.datasets or list(DATASETS)

    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": core_count(),
        "threads": args.threads,
        "host": platform.node(),
        "python": platform.python_version(),
        "lassonet_cli": project_version(),
        "torch_ours": torch.__version__,
        "torch_reference": ref_versions["torch"],
        "lassonet_reference": ref_versions["lassonet"],
        "command": command,
        "loadavg_start": load_average(),
    }
    print(f"date: {meta['date']}")
    print(f"nproc: {meta['nproc']}   torch threads: {args.threads}   "
          f"load average: {meta['loadavg_start']}")
    print(f"torch: ours {meta['torch_ours']}, reference {meta['torch_reference']} "
          f"(lassonet {meta['lassonet_reference']})")
    print(f"lassonet_cli: {meta['lassonet_cli']}")
    print(f"command: {command}")
    print()
    print(ROW_HEADER, flush=True)

    rows: list[dict] = []
    info: dict[str, dict] = {}
    labels = [label for label, _ in BUDGETS]
    with tempfile.TemporaryDirectory(prefix="lassonet-bench-") as tmp:
        for name in names:
            spec = DATASETS[name]
            X, y = load_dataset(spec)
            ks = budgets(X.shape[1])
            info[name] = {"task": spec.task, "n": len(X), "d": X.shape[1], "ks": ks}
            for seed in args.seeds:
                split = make_split(spec, X, y, seed)
                refitter = Refitter(split, seed)
                for tool in args.tools:
                    row = {"dataset": name, "seed": seed, "tool": tool, "ks": ks}
                    try:
                        if tool == "ours":
                            row.update(run_ours(split, seed, ks))
                        else:
                            row.update(run_reference(split, seed, ks, ref_python, args.threads,
                                                     Path(tmp)))
                        row["refit_scores"] = {
                            lb: refitter.score(row["ranking"][: ks[lb]]) for lb in labels
                        }
                    except Exception as exc:  # keep going; the row shows the failure
                        row["error"] = f"{type(exc).__name__}: {exc}"
                    rows.append(row)
                    print(format_row(row), flush=True)

    lines, summary = summarise(rows, info)
    print("\n".join(lines))
    meta["loadavg_end"] = load_average()
    print(f"\nload average at the end: {meta['loadavg_end']}")
    failures = [r for r in rows if "error" in r]
    bad = [
        f"{r['dataset']} seed {r['seed']} {r['tool']}"
        for r in rows
        if "error" not in r
        and any(v is None or not math.isfinite(v)
                for v in [*r["refit_scores"].values(), *r["path_scores"].values()])
    ]
    if bad:
        print("\nmissing or non-finite scores in: " + "; ".join(bad))
    diverged = [
        f"{r['dataset']} seed {r['seed']} {r['tool']} ({r['nonfinite_points']} points)"
        for r in rows
        if r.get("nonfinite_points")
    ]
    if diverged:
        print("\npath points with non-finite losses (diverged training): " + "; ".join(diverged))
    if args.json_out is not None:
        payload = {"meta": meta, "datasets": info, "results": rows, "summary": summary}
        args.json_out.write_text(json.dumps(payload, indent=1, default=str) + "\n",
                                 encoding="utf-8")
        print(f"\nraw results: {args.json_out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
