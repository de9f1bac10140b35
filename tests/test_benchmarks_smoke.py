"""The benchmark scripts run and report what they claim, at toy size, so that they cannot rot.

The benchmarks are imported from ``benchmarks/`` (the scripts put that folder on ``sys.path``
for their own imports too) and run through their ``main(argv)``.  Only ``sample_data/`` and
synthetic tables: no ``../shared`` data, no reference venv.  ``toy_regression``
(``sample_data/toy_regression.csv``) has y = 2*x3 - x3**2 + x1 + 0.5*x2 + 2*x4*x5 + noise:
only x1..x5 matter.
"""

import json
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import wide  # noqa: E402

RANKERS = ["anova_f", "l1_path", "random"]
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``wide.py --quick`` on the linear regression table, run twice on one cache folder."""
    folder = tmp_path_factory.mktemp("wide")
    argv = ["--quick", "--tables", "linear_r", "--rankers", *RANKERS, "--threads", "1",
            "--cache-dir", str(folder / "cache")]
    results = []
    for run in ("first", "second"):
        out = folder / f"{run}.json"
        assert wide.main([*argv, "--json-out", str(out)]) == 0
        results.append(json.loads(out.read_text(encoding="utf-8")))
    return results


def test_budgets_are_counts_and_shares_below_d_each_once():
    assert list(wide.budgets(300).items()) == [
        ("5", 5), ("10", 10), ("25", 25), ("10%", 30), ("50", 50), ("25%", 75), ("100", 100),
        ("50%", 150)]
    assert wide.budgets(100) == {"5": 5, "10": 10, "25": 25, "50": 50}  # 10% = 10, ...
    assert list(wide.budgets(8).items()) == [("10%", 1), ("25%", 2), ("50%", 4), ("5", 5)]


def test_synthetic_tables_are_drawn_from_the_seed_with_informative_columns_spread():
    for name in wide.SYNTHETIC_TABLES:
        a, b = wide.synthetic_table(name, 60, 500), wide.synthetic_table(name, 60, 500)
        pd.testing.assert_frame_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)
        assert a.informative == b.informative
        assert len(set(a.informative)) == wide.SYNTHETIC_TABLES[name][1] <= 10
        assert sorted(a.informative) != list(range(len(a.informative)))  # not the first ones
    other = wide.synthetic_table("linear_c", 60, 500, seed=1)
    assert other.informative != wide.synthetic_table("linear_c", 60, 500).informative


def test_redraw_ranks_and_counts_each_seed_on_its_own_draw(tmp_path):
    """With ``--redraw`` seed s ranks the table drawn with REDRAW_SEED + s, and its informative
    counts are that draw's."""
    out = tmp_path / "redraw.json"
    argv = ["--quick", "--redraw", "--tables", "linear_c", "--rankers", "anova_f",
            "--learners", "trees", "--threads", "1", "--no-cache", "--json-out", str(out)]
    assert wide.main(argv) == 0
    runs = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert [run["seed"] for run in runs] == SEEDS
    draws = [wide.synthetic_table("linear_c", 100, 100, seed=wide.REDRAW_SEED + s) for s in SEEDS]
    assert draws[0].informative != draws[1].informative
    for run, table in zip(runs, draws, strict=True):
        split = wide.cr.make_split(table.spec, table.X, table.y, run["seed"])
        order = wide._harness.rank_anova(split, run["seed"])
        assert run["top"] == [int(j) for j in order[:100]]
        assert run["hits10"] == len(set(table.informative) & set(run["top"][:10]))


def test_every_ranker_scores_every_k_with_every_learner(quick):
    first, _ = quick
    ks = first["tables"]["linear_r"]["ks"]
    assert list(ks.values()) == [5, 10, 25, 50]
    assert first["failures"] == []
    assert sorted((r["ranker"], r["seed"]) for r in first["runs"]) == sorted(
        (r, s) for r in RANKERS for s in SEEDS)
    for run in first["runs"]:
        assert set(run["scores"]) == set(wide.LEARNERS)
        for by_k in run["scores"].values():
            assert set(by_k) == set(ks)
            assert all(math.isfinite(v) for v in by_k.values())


def test_summary_is_the_mean_of_the_raw_scores_and_ranks_average_to_the_middle(quick):
    first, _ = quick
    stats = first["summary"]["tables"]["linear_r"]["rankers"]
    for ranker in RANKERS:
        runs = [r for r in first["runs"] if r["ranker"] == ranker]
        per_seed = [np.mean([v for by_k in r["scores"].values() for v in by_k.values()])
                    for r in runs]
        assert stats[ranker]["mean"] == pytest.approx(np.mean(per_seed), abs=1e-12)
        assert stats[ranker]["sd"] == pytest.approx(statistics.stdev(per_seed), abs=1e-12)
    # ranks 1..R in every seed x learner x k cell, so the rankers' mean ranks average (R+1)/2
    R = len(RANKERS)
    assert sum(s["mean_rank"] for s in stats.values()) == pytest.approx(R * (R + 1) / 2)
    assert all(1 <= s["mean_rank"] <= R for s in stats.values())
    assert first["summary"]["mean_rank"]["synthetic"]["anova_f"] == stats["anova_f"]["mean_rank"]


def test_a_linear_ranker_finds_the_informative_columns_of_the_linear_table(quick):
    first, _ = quick
    stats = first["summary"]["tables"]["linear_r"]["rankers"]
    assert stats["anova_f"]["hits10"] >= 5  # of 10 informative columns, in 100
    assert stats["anova_f"]["hits10"] >= stats["random"]["hits10"] + 3
    assert stats["anova_f"]["mean"] > stats["random"]["mean"]


def test_a_second_run_takes_rankings_and_scores_from_the_cache(quick):
    first, second = quick
    assert all(r["cached"] for r in second["runs"])
    assert not any(r["cached"] for r in first["runs"])
    key = lambda r: (r["ranker"], r["seed"])  # noqa: E731
    for a, b in zip(sorted(first["runs"], key=key), sorted(second["runs"], key=key),
                    strict=True):
        assert a["scores"] == b["scores"]
        assert a["top"] == b["top"]
        assert a["fit_s"] == b["fit_s"]  # the time measured when the ranking was made


def test_a_wrong_entry_count_in_ours_ranking_is_reported():
    table = wide.synthetic_table("linear_c", 20, 30)
    summary = {"rankers": {}, "ours_minus_reference": None}
    good = {("linear_c", 0): {"entries": 30, "distinct_known": 30, "columns": 30}}
    bad = {("linear_c", 0): {"entries": 30, "distinct_known": 29, "columns": 30}}
    lines = wide.format_table(table, {"5": 5}, [0], summary, good, [])
    assert "ours' ranking_: 30 entries, one per column, in each of 1 seed(s)" in lines
    lines = wide.format_table(table, {"5": 5}, [0], summary, bad, [])
    assert any("WRONG ENTRY COUNT" in line and "29 distinct" in line for line in lines)


def test_lassonet_runs_order_the_columns_by_their_mean_place(monkeypatch):
    """``--lassonet-runs 3``: three fits with the seeds 7, 1007, 2007, and the columns by
    their mean place over the three rankings, ties by name."""
    a, b, c, d = "a", "b", "c", "d"
    X = pd.DataFrame(np.random.default_rng(0).standard_normal((20, 4)), columns=[a, b, c, d])
    table = wide.Table("four", "classification", X, np.arange(20) % 2, None)
    split = wide.cr.make_split(table.spec, table.X, table.y, 7)
    rankings = {7: [a, b, c, d], 1007: [b, a, d, c], 2007: [c, b, a, d]}
    seeds = []

    def ranking(split, seed, **options):
        seeds.append(seed)
        return rankings[seed]

    monkeypatch.setattr(wide._harness, "lassonet_ranking", ranking)
    entries = {}
    order, _ = wide.fit_lassonet(split, 7, {}, entries, runs=3)
    # mean places: a (0+1+2)/3 = 1, b (1+0+1)/3 = 2/3, c (2+3+0)/3 = 5/3, d (3+2+3)/3 = 8/3
    assert [split.columns[j] for j in order] == [b, a, c, d]
    assert seeds == [7, 1007, 2007]
    order, _ = wide.fit_lassonet(split, 7, {}, entries, runs=1)
    assert [split.columns[j] for j in order] == [a, b, c, d]


def test_settle_wide_settles_the_exits_only_in_its_second_run(monkeypatch, tmp_path, capsys):
    """``settle_wide.py`` runs wide.py for ours twice: at the defaults, where a wide table's
    exits are not settled, then with every point where units leave settled; the default
    rule is back afterwards."""
    import settle_wide

    from lassonet_cli import path as path_module
    from lassonet_cli.exits import SPLIT_BELOW

    # (the driver looks settle and settle_rounds up in its own namespace)
    default, real, calls = path_module.settle_rounds, path_module.settle, []

    def counted(*args, **kwargs):
        calls.append(path_module.settle_rounds is default)
        return real(*args, **kwargs)

    monkeypatch.setattr(path_module, "settle", counted)
    # (more columns than SPLIT_BELOW: the path settles only while more than that are in)
    argv = ["--quick", "--tables", "linear_r", "--seeds", "0", "--threads", "1",
            "--synthetic-d", str(SPLIT_BELOW + 100),
            "--cache-dir", str(tmp_path / "cache"), "--rounds", "3"]
    assert settle_wide.main(argv) == 0
    assert calls and not any(calls)  # settled in the second run only
    assert path_module.settle_rounds is default
    out = capsys.readouterr().out
    assert out.count("\nlassonet ") == 2 * 2  # ours' row in the table and in the summary, twice


def test_learners_trees_refits_with_extra_trees_only(tmp_path):
    """``--learners trees`` (filling the rankings' cache without the MLP refits): every run
    is scored by the trees alone."""
    out = tmp_path / "trees.json"
    argv = ["--quick", "--tables", "linear_r", "--seeds", "0", "--rankers", "anova_f", "random",
            "--learners", "trees", "--threads", "1", "--cache-dir", str(tmp_path / "cache"),
            "--json-out", str(out)]
    assert wide.main(argv) == 0
    runs = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert len(runs) == 2 and all(set(run["scores"]) == {"trees"} for run in runs)


# --- the benchmarks on sample_data/toy_regression.csv ------------------------------------------

TOY = "toy_regression"
TOY_INFORMATIVE = {1, 2, 3, 4, 5}  # x1..x5


def _floats(line: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", line)]


def test_compare_reference_ours_alone_needs_no_reference_venv(tmp_path, capsys):
    """``compare_reference.py --tools ours``: one row per seed, a ranking of every column
    that puts x1..x5 first, finite scores at k <= the budget, and a summary that is the row."""
    import compare_reference

    out = tmp_path / "compare.json"
    argv = ["--datasets", TOY, "--seeds", "0", "--tools", "ours", "--threads", "1",
            "--ref-python", str(tmp_path / "no-such-python"), "--json-out", str(out)]
    assert compare_reference.main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["datasets"][TOY] == {"task": "regression", "n": 2000, "d": 10,
                                       "ks": {"50%": 5, "25%": 3, "10%": 1}}
    (row,) = result["results"]
    assert (row["dataset"], row["seed"], row["tool"]) == (TOY, 0, "ours")
    assert sorted(row["ranking"]) == list(range(10))
    assert set(row["ranking"][:5]) == TOY_INFORMATIVE
    assert row["points"] == len(row["k_sequence"]) > 1 and row["epochs"] > 0
    for label, k in row["ks"].items():
        assert row["path_k"][label] <= k
        assert -1 < row["path_scores"][label] <= 1 and -1 < row["refit_scores"][label] <= 1
    assert row["refit_scores"]["50%"] > 0.9  # the five columns that matter, refitted
    ours = result["summary"][TOY]["ours"]
    assert ours["runs"] == 1 and ours["mean_refit"] == row["refit_scores"]
    assert result["summary"][TOY]["reference"]["runs"] == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith(f"{TOY} ") for line in lines) == 1  # the one run's row


def test_compare_reference_with_the_reference_says_its_venv_is_missing(tmp_path, capsys):
    import compare_reference

    argv = ["--datasets", TOY, "--seeds", "0", "--ref-python", str(tmp_path / "nope")]
    assert compare_reference.main(argv) == 2
    assert "setup_reference.sh" in capsys.readouterr().err


def test_compare_rankers_scores_every_ranker_at_every_budget(capsys):
    """``compare_rankers.py --datasets toy_regression``: one row per ranker, a score per budget
    (10%, 25%, 50% of 10 columns: k = 1, 3, 5), the best of each column starred."""
    import compare_rankers

    rankers = ["lassonet", "anova_f", "l1_path"]
    argv = ["--datasets", TOY, "--seeds", "0", "--rankers", *rankers, "--threads", "1"]
    assert compare_rankers.main(argv) == 0
    out = capsys.readouterr().out
    assert "refit@10% (k=1)  refit@25% (k=3)  refit@50% (k=5)" in out
    rows = {line.split()[0]: line for line in out.splitlines()
            if line.split() and line.split()[0] in rankers}
    assert list(rows) == rankers
    scores = {r: _floats(line) for r, line in rows.items()}
    for values in scores.values():
        assert len(values) == 4  # three scores and fit_s
        assert all(-1 < v <= 1 for v in values[:3]) and values[3] >= 0
    for column in range(3):
        best = max(v[column] for v in scores.values())
        for ranker, line in rows.items():
            starred = line.split()[1 + column].endswith("*")
            assert starred == math.isclose(scores[ranker][column], best, abs_tol=1e-4)
    assert scores["lassonet"][2] > 0.9  # x1..x5 are its top five


def test_overhead_counts_steps_and_splits_the_wall_time_into_shares(capsys):
    """``overhead.py``: a row with the steps, the bare step and their ratio to the wall time,
    and the phases' shares of the wall time (each in [0, 1], the rest included)."""
    import overhead

    argv = ["--datasets", TOY, "--repeats", "1", "--threads", "1"]
    assert overhead.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith(f"{TOY} ")]
    assert len(rows) == 2  # the timing row and the shares row
    fields = rows[0].split()
    seed, wall, steps, bare_ms, ratio = (int(fields[1]), float(fields[2]), int(fields[3]),
                                         float(fields[4]), float(fields[5]))
    assert seed == 0 and steps > 100 and wall > 0 and bare_ms > 0
    assert ratio == pytest.approx(wall / (steps * bare_ms / 1e3), rel=0.05)
    shares = [float(v) for v in rows[1].split()[2:]]
    assert len(shares) == len(overhead.PhaseTimer.PHASES) + 1
    assert all(0 <= v <= 1 for v in shares[:-1]) and sum(shares) == pytest.approx(1, abs=0.03)
    assert any(line.startswith("median overhead: ") for line in lines)


def test_prox_speed_times_both_implementations(capsys):
    """``prox_speed.py``: a row per implementation (compiled, torch) with calls, and the
    ratio to the compiled kernel."""
    import prox_speed
    from prox_kernel import needs_kernel

    needs_kernel()
    assert prox_speed.main(["--datasets", TOY, "--rounds", "1", "--threads", "1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(TOY)]
    rows = {line.split()[1]: line.split()[2:] for line in lines if "/compiled" not in line}
    assert list(rows) == ["compiled", "torch"]
    for wall, points, calls, prox_ms, share, replay_ms in rows.values():
        assert float(wall) > 0 and float(points) > 1 and float(calls) >= float(points)
        assert float(prox_ms) > 0 and 0 < float(share) < 1 and float(replay_ms) > 0
    ratios = [line for line in lines if "/compiled" in line]
    assert [line.split()[1] for line in ratios] == ["torch/compiled:"]
    assert all(len(re.findall(r"\d+\.\d+x", line)) == 2 for line in ratios)


def test_step_parts_times_every_part(capsys):
    """``step_parts.py``: one positive time per part, the parts its docstring lists.  With the
    compiled kernel, its default; on a machine without a C compiler (no kernel), torch's."""
    import step_parts
    from prox_kernel import c_compiler_present

    from lassonet_cli import prox

    kind = "compiled" if prox._compiled is not None or c_compiler_present() else "torch"
    argv = ["--dataset", TOY, "--rounds", "2", "--repeats", "5", "--threads", "1",
            "--prox", kind]
    assert step_parts.main(argv) == 0
    out = capsys.readouterr().out
    assert f"dataset: {TOY}, HIER-PROX {kind}, 2 rounds x 5 repeats" in out
    times = {m.group(1).strip(): float(m.group(2))
             for m in re.finditer(r"^(\S.*?)\s+(\d+\.\d+) ms", out, re.MULTILINE)}
    expected = ["step sgd kernel", "step adam kernel", "step sgd functional",
                "step adam functional", "step sgd foreach", "step adam foreach", "step + prox",
                "step + prox + validation",
                "validation", "step with validation rows", "prox in sequence", "prox replayed"]
    assert list(times) == expected
    assert all(0 < v < 1e3 for v in times.values())


def test_step_parts_with_a_share_of_the_columns_alive(capsys):
    """``step_parts.py --alive``: the header says so, every bare step is timed, and a bare
    step's forward reads the first half of the columns (at toy size no cheaper for sure).
    ``--prox torch`` switches the kernel off only for the run: left off, later tests in this
    process would run another HIER-PROX than the processes they compare with (it broke
    test_stability's byte-identical outputs under xdist)."""
    import step_parts
    import torch

    from lassonet_cli import prox

    kernel, threads = prox._compiled, torch.get_num_threads()
    argv = ["--dataset", TOY, "--rounds", "1", "--repeats", "3", "--threads", "1",
            "--prox", "torch", "--alive", "0.5"]
    assert step_parts.main(argv) == 0
    assert prox._compiled is kernel and torch.get_num_threads() == threads
    out = capsys.readouterr().out
    assert "bare steps on 0.5 of the columns" in out
    assert len(re.findall(r"^step (sgd|adam) .*\d+\.\d+ ms$", out, re.MULTILINE)) == 6

    parts = step_parts.build(TOY)
    model, d = parts[1], parts[2].shape[1]
    read = []
    forward = model.forward
    model.forward = lambda x, columns=None: read.append((x.shape[1], columns)) or forward(
        x, columns)
    step_parts.variants(*parts, alive=0.5)["step sgd kernel"]()
    [(width, columns)] = read
    assert width == d // 2 and columns.tolist() == list(range(d // 2))


def test_column_index_leaves_out_the_columns_of_each_share(capsys):
    """``column_index.py``: per share, d - int(share * d) columns out, their multiply-adds,
    and whether the path would restrict the step (at least MIN_SAVED_PRODUCTS saved)."""
    import column_index

    from lassonet_cli.model import MIN_SAVED_PRODUCTS

    shares = [0.9, 0.5, 0.2]
    argv = ["--datasets", TOY, "--shares", *map(str, shares), "--rounds", "1", "--repeats", "5",
            "--threads", "1"]
    assert column_index.main(argv) == 0
    out = capsys.readouterr().out
    n = re.search(rf"^{TOY}: (\d+) rows, 10 columns, step on all columns \d+\.\d+ ms", out,
                  re.MULTILINE)
    assert n is not None
    rows = re.findall(r"alive (\d\.\d\d): +(\d+) columns out, +(\d+\.\d+) M .*"
                      r"restricted step +([-+]\d+\.\d) us +\(the path restricts: (yes|no)\)",
                      out)
    assert [float(r[0]) for r in rows] == shares
    width = 1 + 100  # the output and the hidden layer of mlp:100, which each column feeds
    for share, columns_out, saved, _, restricts in rows:
        assert int(columns_out) == 10 - int(float(share) * 10)
        products = int(columns_out) * int(n.group(1)) * width
        assert float(saved) == pytest.approx(products / 1e6, abs=0.006)
        assert (restricts == "yes") == (products >= MIN_SAVED_PRODUCTS)


def test_cox_reconstruction_on_the_test_tables(tmp_path, capsys):
    """``cox_reconstruction.py --cox-data --digits-data``: on whas500 (500 rows, 14 features)
    and bars (120 8x8 images), C-indices and R^2 in range, the top k features, and the top
    pixels drawn on the grid."""
    import cox_reconstruction

    data = Path(__file__).resolve().parent / "data"
    bars = pd.read_csv(data / "bars_8x8.csv").drop(columns=["id", "shape"])
    bars.to_csv(tmp_path / "bars.csv", index=False)
    whas = pd.read_csv(data / "whas500.csv")
    cox_reconstruction.main(["--threads", "1", "--cox-k", "5", "--cox-data",
                             str(data / "whas500.csv"), "--digits-data",
                             str(tmp_path / "bars.csv")])
    out = capsys.readouterr().out
    events = int(whas["event"].sum())
    assert f"## Cox on whas500: 500 rows ({events} events), 14 features; 400 training rows, " \
           "100 held out" in out
    c_indices = [float(v) for v in re.findall(r"held-out C-index (\d\.\d+)", out)]
    assert len(c_indices) == 2 and all(0.6 < c <= 1 for c in c_indices)
    at_k = re.search(r"path model with at most 5 features \(path point \d+, (\d+) feature", out)
    assert at_k is not None and int(at_k.group(1)) <= 5
    top = re.search(r"^top 5 features: (.*)$", out, re.MULTILINE).group(1).split(", ")
    assert len(set(top)) == 5 and set(top) <= set(whas.columns) - {"time", "event"}
    assert re.search(r"^ +lambda +k +train_loss +val_loss +val_score +epochs$", out, re.MULTILINE)

    assert "## Reconstruction on bars: 120 images, 64 pixels; 96 training rows, 24 held out" in out
    pixels = re.search(r"^top 16 pixels: (.*)$", out, re.MULTILINE).group(1).split(", ")
    assert len(set(pixels)) == 16 and set(pixels) <= set(bars.columns)
    grid = [line.split() for line in out.splitlines() if re.fullmatch(r" {4}([.#] ){7}[.#]", line)]
    assert len(grid) == 8
    drawn = {f"px_{r}_{c}" for r, row in enumerate(grid) for c, v in enumerate(row) if v == "#"}
    assert drawn == set(pixels)
    k = re.search(r"path model at k <= 16 \(path point \d+, (\d+) pixels", out)
    assert k is not None and int(k.group(1)) <= 16
    r2 = [float(v) for v in re.findall(r"held-out R\^2 (-?\d\.\d+)", out)]
    assert len(r2) == 2 and all(0 < v <= 1 for v in r2)  # bars: pixels predict the others


def test_conv_coil20_on_the_bars_images(tmp_path, capsys):
    """``conv_coil20.py --data --image-shape``: on bars (120 8x8 images, two classes) with four
    filters, one table row per number of alive filters, accuracies in [0, 1], and the chosen
    point judged against the unconstrained network as the last lines say."""
    import conv_coil20

    bars = pd.read_csv(Path(__file__).resolve().parent / "data" / "bars_8x8.csv")
    bars.drop(columns=["id"]).rename(columns={"shape": "target"}).to_csv(
        tmp_path / "bars.csv", index=False)
    # (the script's start, lambda 1 for COIL-20, is above every exit on bars: refused)
    conv_coil20.main(["--data", str(tmp_path / "bars.csv"), "--image-shape", "1x8x8",
                      "--backbone", "conv:4,4", "--threads", "1", "--lambda-start", "0.1"])
    captured = capsys.readouterr()
    out = captured.out
    assert ("bars: 120 images, 64 pixels, 2 classes; 96 training rows (10% of them for "
            "validation), 24 test rows") in out
    fit = re.search(r"^fit: \d+ s, (\d+) path points, backbone conv:4,4:k3, M 0.1, "
                    r"4 conv1 filters$", out, re.MULTILINE)
    assert fit is not None
    assert int(fit.group(1)) == len(re.findall(r"^  point \d+: ", captured.err, re.MULTILINE))
    lines = out.splitlines()
    first = lines.index("last path point with each number of alive filters (relaxed models):")
    assert lines[first + 1].split() == ["point", "lambda", "alive_filters", "val_accuracy",
                                        "test_accuracy"]
    rows = [line.split() for line in lines[first + 2:] if re.match(r"^ +\d+ ", line)]
    alive = [int(r[2]) for r in rows]
    assert alive[0] == 4 and alive[-1] == 0 and alive == sorted(set(alive), reverse=True)
    assert all(0 <= float(v) <= 1 for r in rows for v in r[3:])
    chosen = re.search(r"point (\d+), lambda \S+, (\d) of 4 filters alive", out)
    assert chosen is not None and int(chosen.group(2)) in alive
    test = re.search(r"^test accuracy: chosen (\d\.\d+), unconstrained network \(lambda = 0\) "
                     r"(\d\.\d+), difference ([-+]\d\.\d+)$", out, re.MULTILINE)
    chosen_acc, dense_acc, diff = (float(v) for v in test.groups())
    assert dense_acc >= 0.9  # bars: horizontal against vertical
    assert diff == pytest.approx(dense_acc - chosen_acc, abs=2e-4)
    fewer = "yes" if int(chosen.group(2)) < 2 else "no"
    close = "yes" if diff <= 0.03 else "no"
    assert (f"target: fewer than half of the filters alive: {fewer} ({chosen.group(2)} < 2); "
            f"within 0.03 of the unconstrained network: {close}") in out


def _scale_report(out: str, case: str) -> dict:
    """One case's figures in ``scale.py``'s report."""
    section = out[out.index(f"== {case}"):]
    points = re.search(r"^path points (\d+), epochs (\d+) \(path (\d+), relaxed fits (\d+)\)$",
                       section, re.MULTILINE)
    wall = re.search(r"^wall time +(\d+\.\d) s", section, re.MULTILINE)
    peak = re.search(r"^peak resident memory +(\d+\.\d+) GiB", section, re.MULTILINE)
    hits = re.search(r"^informative features in the top 10: (\d+) of 10$", section, re.MULTILINE)
    return {"points": int(points.group(1)), "epochs": [int(v) for v in points.groups()[1:]],
            "wall": float(wall.group(1)), "peak": float(peak.group(1)),
            "hits": int(hits.group(1))}


def test_scale_tall_case_at_toy_size(capsys):
    """``scale.py --case tall --rows 1000``: ``lassonet select`` in a child process, its wall
    time, peak memory, epochs (path + relaxed fits) and the informative columns it finds."""
    import scale

    assert scale.main(["--case", "tall", "--rows", "1000", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "== tall: 1,000 rows x 100 features, minibatches ==" in out
    assert "--threads 1" in out and "== wide" not in out
    tall = _scale_report(out, "tall")
    total, path, relaxed = tall["epochs"]
    assert tall["points"] > 1 and total == path + relaxed > 0
    assert tall["wall"] > 0 and 0 < tall["peak"] < 8
    assert tall["hits"] >= 8  # 10 informative columns of 100 (10 of 10 when written)


def test_scale_wide_case_at_toy_size(capsys):
    """``scale.py --case wide --wide-features 200``: the same figures, and each of the other
    rankers' informative columns in its top 10."""
    import scale

    argv = ["--case", "wide", "--wide-features", "200", "--threads", "1", "--extra", "--cv 0"]
    assert scale.main(argv) == 0
    out = capsys.readouterr().out
    assert "== wide: 200 rows x 200 features ==" in out and "== tall" not in out
    wide = _scale_report(out, "wide")
    assert wide["points"] > 1 and wide["epochs"][0] == sum(wide["epochs"][1:])
    assert wide["hits"] >= 3  # of 10 in 200 columns (6 when written)
    others = dict(re.findall(r"^  (\w+) +(\d+) of 10$", out, re.MULTILINE))
    assert list(others) == ["anova_f", "mutual_info", "random_forest", "l1_path"]
    assert all(0 <= int(v) <= 10 for v in others.values()) and int(others["anova_f"]) >= 3


def test_wide_collapse_on_a_narrow_wide_table(capsys):
    """``wide_collapse.py --features 300 --min-exits 5``: every recorded fit lost more than 5
    columns, the informative ones among them sit at the same number of positions under both
    orders, and the final ranks are ten distinct columns' that the top-10 count agrees with."""
    import wide_collapse

    assert wide_collapse.main(["--features", "300", "--min-exits", "5", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^fit: \d+\.\d s, \d+ points$", out, re.MULTILINE)
    rows = re.findall(r"^ *(\d+\.\d{4}) +(\d+) +(\d+)  (\[[\d, ]*\]) +(\[[\d, ]*\]) *$", out,
                      re.MULTILINE)
    assert rows  # columns leave several at a time on this table too
    for _, alive, leaving, by_norm, by_threshold in rows:
        by_norm, by_threshold = json.loads(by_norm), json.loads(by_threshold)
        assert 5 < int(leaving) <= int(alive) <= 300
        assert len(by_norm) == len(by_threshold) <= min(10, int(leaving))
        assert all(0 <= p < int(leaving) for p in by_norm + by_threshold)
    ranks = json.loads(re.search(r"final ranks \(0 = first\): (\[.*\])$", out,
                                 re.MULTILINE).group(1))
    assert len(set(ranks)) == 10 and ranks == sorted(ranks) and all(0 <= r < 300 for r in ranks)
    top = sum(r < 10 for r in ranks)
    assert f"in the top 10: {top} of 10" in out and top >= 3


def test_wide_dense_fit_on_a_synthetic_table(capsys):
    """``wide_dense_fit.py --table linear_c --synthetic-d 200``: a row per column set with its
    count and medians, and ANOVA F's top 20 (F is monotone in |correlation| for two classes)
    at least as correlated with the target as any other top 20."""
    import wide_dense_fit

    argv = ["--table", "linear_c", "--synthetic-d", "200", "--threads", "1"]
    assert wide_dense_fit.main(argv) == 0
    out = capsys.readouterr().out
    n = int(re.search(r"^linear_c, seed 0: (\d+) training rows x 200 columns$", out,
                      re.MULTILINE).group(1))
    rows = {m.group(1).strip(): (int(m.group(2)), float(m.group(3)), float(m.group(4)))
            for m in re.finditer(r"^(\S.*?) +(\d+) +(\d\.\d\d) +(-?\d+\.\d)$", out,
                                 re.MULTILINE)}
    labels = [label.split(" (")[0] for label in rows]
    assert labels == ["all", "adam: dense model, 50 largest norms",
                      f"adam: first point with k <= {n}", "adam: ranking, top 20",
                      "sgd: dense model, 50 largest norms", f"sgd: first point with k <= {n}",
                      "sgd: ranking, top 20", "anova_f: top 20", "random_forest: top 20",
                      "l1_path: top 20"]
    counts = [count for count, _, _ in rows.values()]
    assert counts[0] == 200 and counts[1] == counts[4] == 50 and set(counts[7:]) == {20}
    assert all(0 <= corr <= 1 for _, corr, _ in rows.values())
    top20 = [corr for label, (count, corr, _) in rows.items() if "top 20" in label]
    assert rows["anova_f: top 20"][1] == max(top20) > rows["all"][1]


def test_stability_times_each_executor_and_counts_the_stable_set(tmp_path, capsys):
    """``stability.py``: the speed part runs stability (here; select --cv 5 too by default)
    with --jobs 1, --jobs 2 and on a Dask cluster it starts, and finds their outputs identical;
    the synthetic part splits the stable set into informative and noise columns.  (That
    select's cross-validation is the same on each executor: test_stability.)"""
    import stability

    toy = pd.read_csv(Path(__file__).resolve().parent.parent / "sample_data" /
                      f"{TOY}.csv").rename(columns={"y": "target"})
    table = tmp_path / "toy.parquet"
    toy.iloc[:300].to_parquet(table)
    assert stability.main(["--part", "speed", "--tables", str(table), "--pairs", "2",
                           "--commands", "stability",
                           "--options", "--max-epochs 5 --path-multiplier 1.5"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.startswith("toy ")]
    assert [" ".join(row[1:-4]) for row in rows] == [
        f"stability --pairs 2 {where}" for where in ("--jobs 1", "--jobs 2", "dask, 2 workers")]
    for *_, wall, peak, speed_up, same in rows:
        assert float(wall) > 0 and float(peak) > 0 and speed_up.endswith("x")
        assert same == "yes"
    # --repeats N: the median of N times, and every time
    row = stability.speed_row("t", "select --cv 5", "--jobs 2", [3.0, 9.0, 4.0], 2**21, 8.0,
                              True)
    assert row.split()[-7:] == ["4.0", "2", "2.00x", "yes", "(3.0", "9.0", "4.0)"]
    assert stability.main(["--part", "synthetic", "--rows", "80", "--columns", "30",
                           "--pairs", "2", "--jobs", "1"]) == 0
    (row,) = [line.split() for line in capsys.readouterr().out.splitlines()
              if line.split()[:1] == ["80"]]
    q, stable, informative, noise = (int(v) for v in row[1:5])
    assert 1 <= q <= 30 and stable == informative + noise and 0 <= informative <= 10
    probabilities = [float(v) for v in row[6:]]
    assert len(probabilities) == 10 and all(0 <= v <= 1 for v in probabilities)


# --- the shell scripts, run with this installation's lassonet -----------------------------------

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
LASSONET = Path(sys.executable).with_name("lassonet")


def _bash(script: str, *args: str, **env: str) -> str:
    done = subprocess.run(["bash", str(BENCHMARKS / script), *args], capture_output=True,
                          text=True, env={**os.environ, "LASSONET": str(LASSONET), **env},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_startup_prints_the_best_time_of_each_command():
    """``startup.sh 1``: one line per command, a time in seconds each."""
    lines = _bash("startup.sh", "1").splitlines()
    assert re.fullmatch(r"# \d{4}-\d\d-\d\d \d+ cores", lines[0])
    times = [re.fullmatch(r"lassonet (--help|select --help|path --help) +(\d+\.\d{3}) s", line)
             for line in lines[1:]]
    assert [m.group(1) for m in times] == ["--help", "select --help", "path --help"]
    assert all(0 < float(m.group(2)) < 60 for m in times)


def test_accuracy_vs_k_on_a_synthetic_table(tmp_path):
    """``DATA=... accuracy_vs_k.sh OUTDIR``: the CSV and the plot written, and a row per k of
    the grid with scores in [0, 1], the path model at most k features, and the gap the refit
    minus the random sets."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 110))
    table = pd.DataFrame(X.round(4), columns=[f"f{j}" for j in range(110)])
    table["target"] = (X[:, 0] + X[:, 1] - X[:, 2] > 0).astype(int)
    table.to_csv(tmp_path / "toy.csv", index=False)
    out = _bash("accuracy_vs_k.sh", str(tmp_path / "out"), "--threads", "1",
                "--random-repeats", "2", DATA=str(tmp_path / "toy.csv"))
    written = pd.read_csv(tmp_path / "out" / "isolet_accuracy_vs_k.csv")
    assert list(written["k"]) == [10, 25, 50, 100]
    assert (tmp_path / "out" / "isolet_accuracy_vs_k.png").stat().st_size > 0
    assert re.search(r"^# wall time: \d+ s$", out, re.MULTILINE)
    rows = [line.split() for line in out.splitlines() if re.match(r"^ +\d+ +\d\.\d{3} ", line)]
    assert [int(r[0]) for r in rows] == [10, 25, 50, 100]
    for k, path_score, path_k, refit, random, sd, gap in rows:
        assert int(path_k) <= int(k)
        assert all(0 <= float(v) <= 1 for v in (path_score, refit, random, sd))
        assert float(gap) == pytest.approx(float(refit) - float(random), abs=2e-3)
    assert float(rows[0][3]) > float(rows[0][4])  # the three informative columns in the top 10


def test_conv_path_coil20_on_the_bars_images(tmp_path):
    """``DATA=... SHAPE=... conv_path_coil20.sh OUTDIR``: the CSV and the plot written, a row
    per k of the filter grid naming k filters, the path model at most k filters, scores in
    [0, 1] and the gap the refit minus the random sets."""
    bars = pd.read_csv(Path(__file__).resolve().parent / "data" / "bars_8x8.csv")
    bars.drop(columns=["id"]).rename(columns={"shape": "target"}).to_csv(
        tmp_path / "bars.csv", index=False)
    out = _bash("conv_path_coil20.sh", str(tmp_path / "out"), "--seed", "1",
                REPEATS="2", LAMBDA_START="0.1",  # (1, COIL-20's, is above every exit on bars)
                DATA=str(tmp_path / "bars.csv"), SHAPE="1x8x8", BACKBONE="conv:4,3", GRID="1,2,4")
    written = pd.read_csv(tmp_path / "out" / "coil20_conv_path.csv")
    assert list(written["k"]) == [1, 2, 4]
    assert (tmp_path / "out" / "coil20_conv_path.png").stat().st_size > 0
    assert re.search(r"^# .*--backbone conv:4,3 --image-shape 1x8x8 --k-grid 1,2,4 "
                     r"--lambda-start 0\.1 .*--random-repeats 2 .*--seed 1$", out, re.MULTILINE)
    assert re.search(r"^# wall time: \d+ s$", out, re.MULTILINE)
    rows = [line.split() for line in out.splitlines() if re.match(r"^ +\d+ +\d\.\d{3} ", line)]
    assert [int(r[0]) for r in rows] == [1, 2, 4]
    for k, path_score, path_k, refit, random, sd, gap, filters in rows:
        assert int(path_k) <= int(k) and len(filters.split(";")) == int(k)
        assert all(re.fullmatch(r"filter_0[0-3]", f) for f in filters.split(";"))
        assert all(0 <= float(v) <= 1 for v in (path_score, refit, random, sd))
        assert float(gap) == pytest.approx(float(refit) - float(random), abs=2e-3)


def test_revisions_finds_a_revision_identical_to_itself(capsys):
    """The same revision twice: every output identical, exit 0, one timing row per command."""
    import revisions

    status = revisions.main(["HEAD", "HEAD", "--repeats", "1", "--threads", "1", "--only",
                             "toy"])
    out = capsys.readouterr().out
    assert status == 0
    row = next(line for line in out.splitlines() if line.startswith("toy "))
    assert row.split()[1] == "yes" and "outputs differ" not in out


def test_revisions_reports_outputs_that_differ(monkeypatch, capsys):
    """A command whose outputs differ between the revisions is named, and the exit is 1."""
    import revisions

    def fake_run(tree, args, out, threads):
        return 0.1, tree.name  # the digest differs with the revision's folder ("old"/"new")

    monkeypatch.setattr(revisions, "run", fake_run)
    status = revisions.main(["HEAD", "HEAD", "--repeats", "1", "--only", "toy",
                             "breast_cancer"])
    out = capsys.readouterr().out
    assert status == 1
    assert "outputs differ: toy, breast_cancer" in out


def test_prepare_time_reports_each_table_it_prepares(capsys):
    """``prepare_time.py`` on its tall synthetic table alone (no ../shared data), two runs."""
    import prepare_time

    assert prepare_time.main(["--tables", "--tall-rows", "2000", "--repeats", "2"]) == 0
    row = re.search(r"^tall 2k +2000 x 100 +(\S+) +(\S+) +(\S+) +\((\S+) (\S+)\)$",
                    capsys.readouterr().out, re.MULTILINE)
    assert row, "no row for the tall table"
    wall, cpu, peak, *walls = map(float, row.groups())
    assert wall == pytest.approx(statistics.median(walls), abs=0.006)  # (printed to 0.01)
    assert wall > 0 and cpu > 0 and 100 < peak < 4000
