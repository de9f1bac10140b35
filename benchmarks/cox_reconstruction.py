"""The Cox and reconstruction tasks on real data: the figures quoted in docs/survival.md and
docs/unsupervised.md.

* **Cox on hnscc** (``../shared/data/hnscc.parquet``: 451 head-and-neck cancer patients, 107
  radiomics features, overall survival).  20% of the rows are held out (stratified on the event
  indicator, a numpy generator seeded by ``--seed``); ``LassoNetSelector(task="cox")`` is fitted
  on the rest with its defaults (mlp:100 backbone, Efron ties, 10% of the training rows for
  validation).  Printed: the C-index on the held-out rows of the chosen model (best validation
  C-index) and of the path model with at most ``--cox-k`` features, the top-ranked features and
  the head of the path table.
* **Reconstruction on digits** (``../shared/data/digits.parquet``: 1797 8x8 images, 64 pixels;
  the ``target`` column is left out).  Same split (not stratified); the model is
  ``LassoNetSelector(task="reconstruction", k=16)``: the path point with the most pixels <= 16.
  Printed: the 16 top-ranked pixels (as a list and on the 8x8 grid), and on the held-out rows
  the reconstruction R^2 (pooled over the 64 columns in standardised units, the task's score) of
  that path model and of the network refitted without penalty on exactly those 16 pixels
  (``evaluate.refit_score``).

Run from the project root::

    .venv/bin/python benchmarks/cox_reconstruction.py

``--cox-data FILE`` and ``--digits-data FILE`` (CSV or Parquet) replace the two tables: the
first with feature columns and ``time``, ``event``; the second with 8x8 pixel columns named
``<prefix>_<row>_<col>`` and optionally ``target``.  The smoke test runs the script on
``tests/data``'s whas500 and bars tables this way.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _run_header import print_run_header

from lassonet_cli import LassoNetSelector
from lassonet_cli.evaluate import refit_score
from lassonet_cli.path import StateKeeper
from lassonet_cli.splits import split_task_rows
from lassonet_cli.tasks import make_task

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def held_out(task, target: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return split_task_rows(task, target, 0.2, np.random.default_rng(seed), "test fraction")


def read_table(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def cox_hnscc(seed: int, k: int, path: Path = DATA / "hnscc.parquet") -> None:
    df = read_table(path)
    X, y = df.drop(columns=["time", "event"]), df[["time", "event"]].to_numpy(dtype=np.float64)
    train, test = held_out(make_task("cox"), y, seed)
    print(f"## Cox on {path.stem}: {len(df)} rows ({int(y[:, 1].sum())} events), {X.shape[1]} "
          f"features; {len(train)} training rows, {len(test)} held out")
    task = make_task("cox").fit(y[train])
    y_test = task.encode(y[test])
    keeper = StateKeeper(list(X.columns), "best", k)  # as --k: best of the most features <= k
    start = time.perf_counter()
    sel = LassoNetSelector(task="cox", seed=seed, cv=0)  # one validation split, as measured
    sel.fit(X.iloc[train], y[train], on_point=keeper)
    seconds = time.perf_counter() - start

    def c_index(model) -> float:
        features = torch.from_numpy(sel.encoder_.transform(X.iloc[test]))
        with torch.no_grad():
            return float(task.score(model(features), y_test))

    point = sel.chosen_point_
    print(f"fit: {seconds:.1f} s, {len(sel.path_.points)} path points")
    print(f"chosen model (best validation C-index): path point {sel.chosen_}, {point.k} "
          f"feature(s), validation C-index {point.val_score:.4f}, held-out C-index "
          f"{c_index(sel.model_):.4f}")
    model = copy.deepcopy(sel.model_)
    model.load_state_dict(keeper.state)
    model.eval()
    at_k = sel.path_.points[keeper.index]
    print(f"path model with at most {k} features (path point {keeper.index}, {at_k.k} "
          f"feature(s), validation C-index {at_k.val_score:.4f}): held-out C-index "
          f"{c_index(model):.4f}")
    print(f"top {k} features: {', '.join(sel.ranking_[:k])}")
    table = sel.path_table()
    columns = ["lambda", "k", "train_loss", "val_loss", "val_score", "epochs"]
    print("path table (first 8 rows, every 10th after):")
    shown = pd.concat([table.head(8), table.iloc[8::10]])
    print(shown[columns].to_string(float_format=lambda v: f"{v:.4f}"))


def reconstruction_digits(seed: int, k: int, path: Path = DATA / "digits.parquet") -> None:
    df = read_table(path).drop(columns=["target"], errors="ignore")
    values = df.to_numpy(dtype=np.float64)
    train, test = held_out(make_task("reconstruction", columns=list(df.columns)), values, seed)
    print(f"## Reconstruction on {path.stem}: {len(df)} images, {df.shape[1]} pixels; "
          f"{len(train)} training rows, {len(test)} held out")
    start = time.perf_counter()
    sel = LassoNetSelector(task="reconstruction", k=k, seed=seed, cv=0).fit(df.iloc[train])
    seconds = time.perf_counter() - start
    task, encoder = sel.task_, sel.encoder_
    point = sel.chosen_point_
    print(f"fit: {seconds:.1f} s, {len(sel.path_.points)} path points")
    top = list(sel.ranking_[:k])
    print(f"top {k} pixels: {', '.join(top)}")
    grid = [["." for _ in range(8)] for _ in range(8)]
    for name in top:
        row, col = (int(v) for v in name.split("_")[1:])
        grid[row][col] = "#"
    print("\n".join("    " + " ".join(line) for line in grid))
    kept = df[list(encoder.columns)]
    y_test = task.encode(kept.iloc[test].to_numpy(dtype=np.float64))
    features = torch.from_numpy(encoder.transform(kept.iloc[test]))
    with torch.no_grad():
        path_r2 = float(task.score(sel.model_(features), y_test))
    print(f"path model at k <= {k} (path point {sel.chosen_}, {point.k} pixels, validation "
          f"R^2 {point.val_score:.4f}): held-out R^2 {path_r2:.4f}")
    all_features = torch.from_numpy(encoder.transform(kept))
    fit_rows, val_rows = (train[i] for i in sel.split_)
    target = task.encode(kept.to_numpy(dtype=np.float64))
    selected = encoder.inputs_of([list(encoder.columns).index(n) for n in top])
    refit = refit_score(task, all_features[fit_rows], target[fit_rows], all_features[val_rows],
                        target[val_rows], all_features[test], y_test, selected,
                        sel.options_.backbone, sel.options_.path_config(), seed)
    print(f"the same network refitted on those {k} pixels: held-out R^2 {refit:.4f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cox-k", type=int, default=10)
    parser.add_argument("--digits-k", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=["cox", "reconstruction"])
    parser.add_argument("--cox-data", type=Path, default=DATA / "hnscc.parquet",
                        help="the Cox table: features, time, event (default: %(default)s)")
    parser.add_argument("--digits-data", type=Path, default=DATA / "digits.parquet",
                        help="the 8x8 images, columns <prefix>_<row>_<col> (default: "
                             "%(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_run_header()
    print()
    if args.only != "reconstruction":
        cox_hnscc(args.seed, args.cox_k, args.cox_data)
        print()
    if args.only != "cox":
        reconstruction_digits(args.seed, args.digits_k, args.digits_data)


if __name__ == "__main__":
    main()
