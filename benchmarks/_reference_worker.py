"""Run the reference LassoNet (PyPI ``lassonet``) on one prepared split and report as JSON.

This script is executed by the reference venv's interpreter (see ``setup_reference.sh``), never
imported by ``lassonet_cli``: it depends only on numpy, torch and ``lassonet``.

Usage::

    python _reference_worker.py SPLIT.npz RESULT.json --task classification --seed 0 \
        --threads 2 --ks 15 8 3

``SPLIT.npz`` holds ``X_train``, ``y_train``, ``X_test``, ``y_test``: features standardised with
training-set statistics (float32); targets as class codes 0..K-1 (classification) or
standardised numbers (regression).  Only the ``.path()`` call is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from importlib import metadata

import numpy as np
import torch


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the worker's command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    argparse.Namespace
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split", help="input .npz with X_train, y_train, X_test, y_test")
    parser.add_argument("result", help="output .json file")
    parser.add_argument("--task", choices=("classification", "regression"), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden", type=int, nargs="+", default=[100])
    parser.add_argument("--ks", type=int, nargs="+", required=True,
                        help="feature budgets for the path-model test scores")
    return parser.parse_args(argv)


def test_score(task: str, predictions: np.ndarray, y: np.ndarray) -> float:
    """Accuracy (classification) or R^2 (regression) of ``predictions`` against ``y``.

    Parameters
    ----------
    task : {'classification', 'regression'}
    predictions : (n,) or (n, 1) array
    y : (n,) array of class codes or (standardised) numbers

    Returns
    -------
    float
    """
    pred = np.asarray(predictions).reshape(len(y))
    if task == "classification":
        return float(np.mean(pred == y))
    residual = float(np.sum((y - pred) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - residual / total if total > 0 else float("nan")


def selected_counts(history: list) -> np.ndarray:
    """(P,) number of selected features at every history point."""
    return np.array([int(item.selected.sum()) for item in history])


def elimination_lambdas(history: list) -> np.ndarray:
    """(d,) lambda of the first point at which each feature is no longer selected.

    Derived from the ``selected`` masks; features still selected at the end get ``inf``.
    Only used when the estimator does not expose ``feature_importances_``.
    """
    masks = np.stack([item.selected.numpy().astype(bool) for item in history])
    result = np.full(masks.shape[1], np.inf)
    alive = masks[0].copy()
    for item, mask in zip(history[1:], masks[1:], strict=True):
        gone = alive & ~mask
        result[gone] = item.lambda_
        alive &= mask
    return result


def feature_ranking(estimator, history: list) -> tuple[list[int], str]:
    """Feature indices, most important (eliminated last) first.

    Ties in the elimination lambda are broken by the norm of the feature's skip weights at the
    last point where it was selected (larger first), then by column index.

    Parameters
    ----------
    estimator : a fitted reference estimator
    history : the list of HistoryItem returned by ``.path()``

    Returns
    -------
    ranking : list of int
    source : str
        ``'feature_importances_'`` or ``'selected masks'``.
    """
    importances = getattr(estimator, "feature_importances_", None)
    if importances is not None:
        lambdas = np.asarray(torch.as_tensor(importances).cpu().numpy(), dtype=np.float64)
        source = "feature_importances_"
    else:
        lambdas = elimination_lambdas(history)
        source = "selected masks"
    d = len(lambdas)
    last_norm = np.zeros(d)
    for item in history:
        if item.state_dict is None:
            continue
        norms = torch.linalg.vector_norm(item.state_dict["skip.weight"], dim=0).numpy()
        alive = item.selected.numpy().astype(bool)
        last_norm[alive] = norms[alive]
    order = sorted(range(d), key=lambda j: (-lambdas[j], -last_norm[j], j))
    return order, source


def point_for_budget(history: list, k: int) -> int | None:
    """Index of the history point with the most selected features <= ``k``.

    Ties go to the lowest validation loss, then to the later point.  None when no point
    qualifies.
    """
    counts = selected_counts(history)
    candidates = [i for i in range(len(history)) if counts[i] <= k]
    if not candidates:
        return None
    top = max(counts[i] for i in candidates)
    candidates = [i for i in candidates if counts[i] == top]
    return min(candidates, key=lambda i: (history[i].val_loss, -i))


def main(argv: list[str] | None = None) -> int:
    """Run the reference path on the split and write the JSON result.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (see ``parse_args``).

    Returns
    -------
    int
        Exit status.
    """
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from lassonet import LassoNetClassifier, LassoNetRegressor

    data = np.load(args.split)
    X_train, X_test = data["X_train"], data["X_test"]
    y_train, y_test = data["y_train"], data["y_test"]
    if args.task == "classification":
        y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
        cls = LassoNetClassifier
    else:
        y_train, y_test = y_train.astype(np.float32), y_test.astype(np.float64)
        cls = LassoNetRegressor
    estimator = cls(
        hidden_dims=tuple(args.hidden),
        random_state=args.seed,
        torch_seed=args.seed,
        device=torch.device("cpu"),
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        history = estimator.path(X_train, y_train, return_state_dicts=True)
        wall = time.perf_counter() - start

    ranking, ranking_source = feature_ranking(estimator, history)
    counts = selected_counts(history)
    path_scores, path_k = {}, {}
    for k in args.ks:
        index = point_for_budget(history, k)
        if index is None:
            path_scores[str(k)], path_k[str(k)] = None, None
            continue
        estimator.load(history[index].state_dict)
        path_scores[str(k)] = test_score(args.task, estimator.predict(X_test), y_test)
        path_k[str(k)] = int(counts[index])

    result = {
        "time_s": wall,
        "points": len(history),
        "k_sequence": [int(k) for k in counts],
        "epochs": int(sum(item.n_iters for item in history)),
        "nonfinite_points": sum(
            not (np.isfinite(item.loss) and np.isfinite(item.val_loss)) for item in history
        ),
        "lambda_start": float(getattr(estimator, "lambda_start_", float("nan"))),
        "ranking": [int(j) for j in ranking],
        "ranking_source": ranking_source,
        "path_scores": path_scores,
        "path_k": path_k,
        "warnings": sorted({str(w.message).replace("\n", " ") for w in caught}),
        "torch_version": torch.__version__,
        "lassonet_version": metadata.version("lassonet"),
        "threads": torch.get_num_threads(),
    }
    with open(args.result, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
