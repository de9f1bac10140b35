"""``lassonet stability``: complementary half-samples, selection probabilities, the stable set
and its bound; the same bytes from --jobs 1, --jobs 2 and a Dask cluster; bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from clitools import assert_clean_error, invoke

from lassonet_cli.errors import ConfigError
from lassonet_cli.splits import half_samples
from lassonet_cli.stability import Stability, q_for

TOY = "sample_data/toy_regression.csv"
FAST = ["--max-epochs", "20", "--path-multiplier", "1.1"]


@pytest.fixture(scope="module")
def cluster():
    import distributed  # the dev extra installs it

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local:
        yield local


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory, cluster):
    """stability on the toy regression (4 pairs) with --jobs 1, --jobs 2 and on the cluster."""
    folder = tmp_path_factory.mktemp("stability")
    out = {}
    for name, extra in (("jobs1", ["--jobs", "1"]), ("jobs2", ["--jobs", "2"]),
                        ("dask", ["--scheduler", cluster.scheduler_address])):
        path = folder / f"{name}.csv"
        result = invoke("stability", TOY, "-t", "y", "--pairs", "4", *extra, "-o", path,
                        "--plot", folder / f"{name}.png")
        assert result.exit_code == 0, result.stderr
        out[name] = (path.read_bytes(), result.stderr, (folder / f"{name}.png").read_bytes())
    return out


def test_the_toy_regressions_stable_set_is_exactly_its_informative_columns(toy_runs):
    table = pd.read_csv(pd.io.common.BytesIO(toy_runs["jobs1"][0]))
    assert sorted(table.loc[table["stable"], "feature"]) == ["x1", "x2", "x3", "x4", "x5"]
    assert len(table) == 10 and set(table["feature"]) == {f"x{i}" for i in range(10)}
    # the probabilities are shares of 8 paths, nested in k, and all 1 at k = p
    columns = [c for c in table.columns if c.startswith("p_k")]
    probs = table[columns].to_numpy()
    assert np.allclose(probs * 8, np.round(probs * 8))
    assert (np.diff(probs, axis=1) >= 0).all() and (probs[:, -1] == 1).all()
    assert table["max_probability"].is_monotonic_decreasing


def test_the_output_is_the_same_whichever_runs_the_paths(toy_runs):
    csv, stderr, png = toy_runs["jobs1"]
    for other in ("jobs2", "dask"):
        assert toy_runs[other][0] == csv
        assert toy_runs[other][2] == png
    assert "stable set: 5 feature(s) in the top q = 5" in stderr
    assert "expected false selections <= 12.5" in stderr  # 5^2 / ((2 * 0.6 - 1) * 10)
    assert png.startswith(b"\x89PNG")


def test_select_cross_validation_is_the_same_in_processes_and_on_dask(tmp_path, cluster):
    outputs = []
    for extra in (["--jobs", "1"], ["--jobs", "2"], ["--scheduler", cluster.scheduler_address]):
        path = tmp_path / "path.csv"
        result = invoke("select", "tests/data/mice_protein_slice.csv", "-t", "class", "--id",
                        "MouseID", "--missing", "impute", "--cv", "3", "--max-epochs", "10",
                        "--path-multiplier", "1.3", *extra,
                        "--path-out", path)
        assert result.exit_code == 0, result.stderr
        outputs.append((result.stdout, path.read_bytes(), result.stderr))
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
    assert "cv accuracy" in outputs[0][2]


def test_half_samples_are_complementary_and_split_each_class_evenly():
    y = np.repeat([0, 1, 2], [11, 20, 7])
    first, second = half_samples(y, True, np.random.default_rng(3))
    assert np.intersect1d(first, second).size == 0
    assert np.array_equal(np.union1d(first, second), np.arange(len(y)))
    for c in range(3):
        assert abs((y[first] == c).sum() - (y[second] == c).sum()) <= 1
    again = half_samples(y, True, np.random.default_rng(3))
    assert all(np.array_equal(a, b) for a, b in zip(again, (first, second), strict=True))


def test_probabilities_stable_set_and_bound_by_hand():
    # 4 paths over 5 columns: places in each ranking (0 = first)
    positions = np.array([[0, 1, 2, 3, 4],
                          [1, 0, 3, 2, 4],
                          [0, 2, 1, 4, 3],
                          [0, 1, 4, 2, 3]])
    result = Stability(list("abcde"), positions, np.array([2, 2, 2, 2]), q=2, q_from="as given",
                       pi_thr=0.7, k_grid=[1, 2, 5], units=5)
    probs = result.probabilities([1, 2, 3])
    assert probs[:, 0].tolist() == [0.75, 0.25, 0, 0, 0]
    assert probs[:, 1].tolist() == [1.0, 0.75, 0.25, 0, 0]
    assert probs[:, 2].tolist() == [1.0, 1.0, 0.5, 0.5, 0]
    assert result.stable.tolist() == [True, True, False, False, False]
    assert result.error_bound == pytest.approx(4 / (0.4 * 5))
    table = result.table()
    assert table["feature"].tolist()[:2] == ["a", "b"]
    assert table.columns.tolist() == ["feature", "p_k1", "p_k2", "p_k5", "max_probability",
                                      "stable"]
    # with groups, an ungrouped column's group is its own name, as select writes it
    grouped = result.table({"a": "g", "b": "g"}).set_index("feature")["group"]
    assert grouped.to_dict() == {"a": "g", "b": "g", "c": "c", "d": "d", "e": "e"}


@pytest.mark.parametrize("ks", [[4], [0], [1.5], ["2"], 2, "2"])
def test_probabilities_take_counts_of_the_units_only(ks):
    # 2 units and a constant column set aside (place 2 = p): a k past p counted it as
    # selected in every path (1.0); a scalar or text k was numpy's IndexError or UFuncTypeError
    result = Stability(list("abc"), np.array([[0, 1, 2], [1, 0, 2]]), np.array([1, 1]), q=1,
                       q_from="as given", pi_thr=0.6, k_grid=[1, 2], units=2, aside=["c"])
    assert result.probabilities([2])[:, 0].tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(ConfigError, match=r"ks must list counts .* from 1 to 2"):
        result.probabilities(ks)


def test_table_refuses_groups_that_are_no_mapping():
    result = Stability(list("ab"), np.array([[0, 1], [1, 0]]), np.array([1, 1]), q=1,
                       q_from="as given", pi_thr=0.6, k_grid=[1, 2], units=2)
    with pytest.raises(ConfigError, match=r"groups must be a mapping \{column: group\}"):
        result.table(["a"])


@pytest.mark.parametrize("points", [-1, 0, 2.5, "60"])
def test_plot_ks_refuses_a_count_of_points_that_is_no_count(points):
    # -1 was numpy's 'Number of samples, -1, must be non-negative', 2.5 its TypeError
    result = Stability(list("ab"), np.array([[0, 1], [1, 0]]), np.array([1, 1]), q=1,
                       q_from="as given", pi_thr=0.6, k_grid=[1, 2], units=2)
    assert result.plot_ks(1).tolist() == [1, 2]
    with pytest.raises(ConfigError, match=r"points must be a whole number of at least 1"):
        result.plot_ks(points)


@pytest.mark.parametrize("paths, said", [(2, "(1 complementary pair);"),
                                         (4, "(2 complementary pairs);")])
def test_summary_counts_the_pairs_in_words(paths, said):
    result = Stability(list("ab"), np.tile([0, 1], (paths, 1)), np.ones(paths, dtype=int), q=1,
                       q_from="as given", pi_thr=0.6, k_grid=[1, 2], units=2)
    assert f"of {paths} half-sample paths {said}" in result.summary()


@pytest.mark.parametrize("pi_thr, said", [(0.6, "60%"), (0.501, "50.1%"), (0.999, "99.9%"),
                                          (1, "100%")])
def test_summary_gives_the_threshold_to_its_last_digit(pi_thr, said):
    # at 0.501 it said 'of at least 50%' of 4 paths, and a column in 2 of them was not stable
    result = Stability(list("ab"), np.array([[0, 1], [1, 0], [0, 1], [1, 0]]),
                       np.ones(4, dtype=int), q=1, q_from="as given", pi_thr=pi_thr,
                       k_grid=[1, 2], units=2)
    assert f"of at least {said} of 4 half-sample paths" in result.summary()


@pytest.mark.parametrize("efv, pi_thr, p", [(1, 0.6, 30), (2.5, 0.9, 1000), (0.1, 0.75, 7)])
def test_q_from_efv_is_the_largest_within_the_bound(efv, pi_thr, p):
    q = q_for(efv, pi_thr, p)
    def bound(q):
        return q * q / ((2 * pi_thr - 1) * p)
    assert q == 1 or bound(q) <= efv + 1e-12
    assert bound(q + 1) > efv


@pytest.mark.parametrize("efv, pi_thr", [(1e308, 1.0), (1e308, 0.6), (1e300, 0.9)])
def test_q_from_a_huge_efv_is_every_unit(efv, pi_thr):
    # the bound's room for q^2 overflowed to inf: 'OverflowError: cannot convert float
    # infinity to integer', an internal error after every subsample path had run
    assert q_for(efv, pi_thr, 10) == 10


def test_python_api_gives_the_commands_probabilities(toy_runs):
    from lassonet_cli import LassoNetSelector

    table = pd.read_csv(TOY)
    selector = LassoNetSelector(n_jobs=1)
    result = selector.stability(table.drop(columns="y"), table["y"], pairs=4)
    cli = pd.read_csv(pd.io.common.BytesIO(toy_runs["jobs1"][0])).set_index("feature")
    assert np.array_equal(selector.stability_scores_,
                          cli.loc[result.columns, "max_probability"].to_numpy())


@pytest.mark.parametrize("args, fragments", [
    (["--pi-thr", "0.5"], ["--pi-thr must be in (0.5, 1]"]),
    (["--q", "3", "--efv", "1"], ["give --q or --efv, not both"]),
    (["--q", "11"], ["--q", "11 is more than the 10 features"]),
    (["--pairs", "0"], ["--pairs must be between 1 and 10000"]),
    (["--pairs", "1000000000"], ["--pairs must be between 1 and 10000"]),
    (["--jobs", "0"], ["--jobs must be at least 1"]),
    (["--k-grid", "20"], ["--k-grid: 20 is more than the 10 features"]),
    (["--k-grid", "inf"], ["--k-grid", "'inf'"]),
    # an empty grid meant the default one, an empty item was skipped, 1_0 read as 10
    (["--k-grid", ""], ["--k-grid is empty"]),
    (["--k-grid", "1,,2"], ["--k-grid: an empty item in '1,,2'"]),
    (["--k-grid", "1_0"], ["--k-grid: '1_0' is not a number"]),
    (["--efv", "inf"], ["--efv must be a finite number > 0"]),
    (["--efv", "0.001"], ["--efv 0.001 is below 0.5", "(q = 1) of 10 at --pi-thr 0.6",
                          "ask for at least 0.5"]),
    (["--M", "1,3"], ["--M", "give one M"]),
    (["--plot", "out.pdf"], ["--plot", ".png or .svg"]),
    (["--backbone", "conv:4,8"], ["--backbone", "filters"]),
    (["--scheduler", "tcp://127.0.0.1:9"], ["cannot reach the Dask scheduler",
                                           "--scheduler"]),
])
def test_bad_options_get_one_line_and_exit_2(args, fragments, tmp_path):
    out = tmp_path / "out.csv"
    pairs = [] if "--pairs" in args else ["--pairs", "1"]  # (an option given twice is refused)
    result = invoke("stability", TOY, "-t", "y", *pairs, *args, "-o", out)
    assert_clean_error(result, *fragments)
    assert list(tmp_path.iterdir()) == []


def test_the_python_api_refuses_a_conv_backbone_as_the_command_does():
    """Each pixel feeds every filter: the Python API returned a per-pixel table of
    meaningless probabilities."""
    from lassonet_cli import LassoNetSelector
    from lassonet_cli.errors import CLI, ConfigError

    rng = np.random.default_rng(0)
    selector = LassoNetSelector(backbone="conv:2,2", image_shape="1x4x4", max_epochs=1,
                                n_jobs=1)
    with pytest.raises(ConfigError, match="conv backbone selects filters") as caught:
        selector.stability(rng.standard_normal((40, 16)), np.tile([0, 1], 20), pairs=1)
    assert "fit the selector" in str(caught.value)
    assert "--backbone" in caught.value.spelled(CLI)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_table_too_small_for_half_samples_says_so_of_the_table(tmp_path, jobs):
    """8 rows: a half-sample of 4 is too few for its validation split, and the message says
    it of the half-samples, not as if the table had 4 rows (here or from a worker)."""
    table = pd.read_csv(TOY).head(8)
    path = tmp_path / "eight.csv"
    table.to_csv(path, index=False)
    result = invoke("stability", path, "-t", "y", "--pairs", "1", "--jobs", jobs, "-q",
                    "-o", tmp_path / "out.csv")
    assert_clean_error(result, "each half-sample holds 4 of the 8 rows", "need at least 6 rows",
                       "a table of twice that")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("labels, fragments", [
    (["a", "b"] * 2, ["each half-sample holds 2 of the 4 rows, and 2 row(s) are too few for "
                      "--val-fraction 0.1: need at least 6 rows", "a table of twice that"]),
    ([f"c{i % 10}" for i in range(20)], ["each half-sample holds 10 of the 20 rows, and a "
                                         "half-sample has a different class in each of its "
                                         "rows"]),
])
def test_a_classification_table_too_small_for_half_samples_says_so_of_them(tmp_path, labels,
                                                                           fragments):
    """It was 'y has a different value in each of its 2 rows: ... is it an ID?', said of a
    half-sample as if it were the table."""
    path = tmp_path / "small.csv"
    n = len(labels)
    pd.DataFrame({"a": np.arange(n) % 7, "b": np.arange(n) % 3, "y": labels}).to_csv(
        path, index=False)
    result = invoke("stability", path, "-t", "y", "--pairs", "2", "--jobs", "1", "-q",
                    "-o", tmp_path / "out.csv")
    line = assert_clean_error(result, *fragments)
    assert "ID" not in line


def test_a_score_undefined_on_a_half_samples_validation_rows_names_this_commands_remedy(
        tmp_path):
    """12 rows: a half-sample's one validation row makes R^2 undefined; the remedy was the
    selection's ('... or cross-validate with --cv K'), an option stability does not have."""
    path = tmp_path / "twelve.csv"
    pd.read_csv(TOY).head(12).to_csv(path, index=False)
    result = invoke("stability", path, "-t", "y", "--pairs", "1", "--jobs", "1", "-q",
                    "-o", tmp_path / "out.csv", *FAST)
    assert_clean_error(result, "each half-sample holds 6 of the 12 rows",
                       "R^2 is undefined: hold out more with --val-fraction, or use a table "
                       "with more rows")
    assert "--cv" not in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_one_event_is_too_few_for_survival_stability(tmp_path):
    """A pair's two halves cannot both hold the one event: said before any path runs, not
    as 'the event column has no events' from the half without it."""
    table = pd.read_csv(TOY).drop(columns="y").head(100)
    table["time"] = np.arange(1, 101)
    table["event"] = 0
    table.loc[0, "event"] = 1
    path = tmp_path / "one_event.csv"
    table.to_csv(path, index=False)
    result = invoke("stability", path, "--time", "time", "--event", "event", "--pairs", "1",
                    "-q", "-o", tmp_path / "out.csv")
    # (since e24fbf3 every command says so of the table, before any split)
    assert_clean_error(result, "the --event column 'event' has 1 event", "at least 2")


def worker_pids(pid: int) -> set[int]:
    """The child processes of ``pid``."""
    import os

    children = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            children.update(int(c) for c in f.read().split())
    return children


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_stopping_a_pool_ends_its_workers_and_writes_nothing(tmp_path, signum):
    """Ctrl-C, SIGTERM, SIGHUP (the terminal closed) and SIGKILL of the main process: no
    output, and the workers end.  SIGHUP and SIGKILL (the out-of-memory killer's) left the
    workers waiting for work, orphaned, holding their memory."""
    import os
    import signal
    import subprocess
    import sys
    import time

    lassonet = os.path.join(os.path.dirname(sys.executable), "lassonet")
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [lassonet, "stability", TOY, "-t", "y", "--jobs", "2", "--pairs", "50", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        # (as a shell starts it: a test runner may ignore these, and nohup SIGHUP, which the
        # command then leaves ignored)
        preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL)
                            for s in (signal.SIGINT, signal.SIGHUP)],
    )
    started, workers = time.monotonic(), set()
    while len(workers) < 2 and time.monotonic() - started < 60:
        time.sleep(0.2)
        workers = worker_pids(proc.pid) - {proc.pid}
    time.sleep(3)  # the workers are running paths
    proc.send_signal(getattr(signal, signum))
    _, stderr = proc.communicate(timeout=60)
    assert len(workers) >= 2
    expected = {"SIGINT": (130, "error: interrupted"), "SIGTERM": (143, "error: terminated"),
                "SIGHUP": (129, "error: hung up")}
    if signum == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert (proc.returncode, stderr.decode().strip().splitlines()[-1]) == expected[signum]
    assert "Traceback" not in stderr.decode()
    assert list(tmp_path.iterdir()) == []

    def running(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ")[1][0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10  # (the resource tracker ends when it sees the pipe close)
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(running(pid) for pid in workers)  # gone, not left running


def test_a_group_is_one_unit_with_one_probability(tmp_path):
    """The columns of a user-given group enter and leave the paths together: they share every
    probability and the stable flag, q and the grid count units, and the bound's p is the
    number of units (a group's second column once had probability 0 while the first had 1)."""
    table = pd.read_csv(TOY).head(120)
    path, groups = tmp_path / "t.csv", tmp_path / "groups.csv"
    table.to_csv(path, index=False)
    pd.DataFrame({"feature": ["x1", "x2", "x3", "x6"], "group": ["a", "a", "b", "b"]}).to_csv(
        groups, index=False)
    out, paths = tmp_path / "out.csv", tmp_path / "paths.svg"
    result = invoke("stability", path, "-t", "y", "--pairs", "2", "--groups", groups,
                    "--q", "2", "-o", out, "--plot", paths, *FAST)
    assert result.exit_code == 0, result.stderr
    # the plot's k counts units too (its axis said 'top features')
    assert "<!-- k (top groups and features per subsample path) -->" in paths.read_text()
    stab = pd.read_csv(out).set_index("feature")
    for members in (["x1", "x2"], ["x3", "x6"]):
        rows = stab.loc[members].drop(columns="group")
        assert (rows.nunique() == 1).all(), rows
    # an ungrouped column's group is its own name, as in select's ranking (it was empty)
    assert stab.loc["x1", "group"] == "a" and stab.loc["x0", "group"] == "x0"
    # 10 columns in 8 units: with q = 2 units, the bound is 4 / (0.2 * 8)
    assert "expected false selections <= 2.5" in result.stderr
    assert "p = 8 groups and ungrouped features" in result.stderr
    # at k = 2 units every path has two units in, 2 to 4 columns: the shares sum to 2..4
    assert 2 <= stab["p_k2"].sum() <= 4


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_columns_constant_in_a_half_sample_are_named_as_such(tmp_path, jobs):
    """A column that varies in few rows may be constant in a half-sample: where every column
    was, the error said 'every feature column is constant', of a table whose columns vary."""
    table = pd.read_csv(TOY).head(100)[["y"]]
    first, _ = half_samples(table["y"].to_numpy(), False, np.random.default_rng([0, 3, 0]))
    table["split"] = 0.0
    table.loc[first, "split"] = 1.0  # constant in each half of the (one) pair
    path = tmp_path / "split.csv"
    table.to_csv(path, index=False)
    line = assert_clean_error(invoke("stability", path, "-t", "y", "--task", "regression",
                                     "--pairs", "1", "--jobs", jobs, *FAST),
                              "each half-sample holds 50 of the 100 rows, and in one of them "
                              "every feature column is constant")
    assert line.endswith("use a table with more rows")


def test_constant_columns_are_no_units_and_never_stable(tmp_path):
    """p counts the units a path can select: 40 constant columns once made the bound 8 times
    smaller, were counted by --q and --k-grid, and a constant column grouped with x0 took
    x0's probability 1 and was 'stable' (select ranks it last with importance 0)."""
    table = pd.read_csv(TOY).head(100)[["x1", "x2", "x3", "x4", "y"]]
    for i in range(40):
        table[f"c{i}"] = 1.0
    path, groups = tmp_path / "t.csv", tmp_path / "groups.csv"
    table.to_csv(path, index=False)
    pd.DataFrame({"feature": ["c0", "x1"], "group": ["g", "g"]}).to_csv(groups, index=False)
    out = tmp_path / "out.csv"
    result = invoke("stability", path, "-t", "y", "--pairs", "1", "--jobs", "1", "--q", "2",
                    "--groups", groups, "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert "p = 4, after setting aside 40 constant column(s)" in result.stderr
    stab = pd.read_csv(out).set_index("feature")
    assert stab.loc["x1", "max_probability"] == 1.0
    constant = stab.loc[[f"c{i}" for i in range(40)]]
    assert (constant.drop(columns="group") == 0).all().all()  # every p_k, stable False
    for option in ("--q", "--k-grid"):
        refused = invoke("stability", path, "-t", "y", "--pairs", "1", option, "5", "-o", out)
        assert_clean_error(refused, option, "5 is more than the 4 features left after setting "
                                            "aside 40 constant column(s)")


def test_unit_index_gives_a_group_one_unit():
    from lassonet_cli.stability import unit_index

    assert unit_index(["a", "b", "c", "d"], {"b": "g", "d": "g"}).tolist() == [0, 1, 2, 1]
    assert unit_index(["a", "b"], None).tolist() == [0, 1]
    assert unit_index(["a", "b", "c"], {"a": "g", "b": "g"}, ["a"]).tolist() == [-1, 0, 1]


@pytest.mark.parametrize("grid, ok", [
    (np.array([1, 2]), True), (pd.Series([2, 3]), True), ((1, 4), True), (range(1, 3), True),
    ([], False), ("12", False), ([0, 1], False), ([1.5], False),
])
def test_the_python_k_grid_takes_any_sequence_of_counts(grid, ok, monkeypatch):
    """A numpy array or Series once failed after every path had run ('truth value of an array
    is ambiguous'); an empty list meant the default grid.  Checked before any path runs."""
    from lassonet_cli import LassoNetSelector, stability
    from lassonet_cli.errors import ConfigError

    ran = []
    monkeypatch.setattr(stability, "_subsample_path",
                        lambda table, rows: ran.append(1) or (np.arange(10, dtype=np.int32), 2))
    table = pd.read_csv(TOY).head(60)
    selector = LassoNetSelector(n_jobs=1)
    if ok:
        result = selector.stability(table.drop(columns="y"), table["y"], pairs=1, k_grid=grid)
        assert set(int(k) for k in grid) <= set(result.k_grid)
    else:
        with pytest.raises(ConfigError, match="k_grid must list counts"):
            selector.stability(table.drop(columns="y"), table["y"], pairs=1, k_grid=grid)
        assert not ran


@pytest.mark.parametrize("columns, efv", [(5, 1), (1, 5)])
def test_an_efv_equal_to_the_least_bound_is_taken(columns, efv, monkeypatch):
    """At pi_thr 0.6 the least bound (q = 1) is 1 / (0.2 p), which rounds to 1.0000000000000002
    for 5 columns: --efv 1 was refused as 'below 1, ask for at least 1'."""
    from lassonet_cli import LassoNetSelector, stability

    monkeypatch.setattr(stability, "_subsample_path", lambda table, rows: (
        np.arange(columns, dtype=np.int32), 1))
    table = pd.read_csv(TOY).head(60)
    X = table.drop(columns="y").iloc[:, :columns]
    result = LassoNetSelector(n_jobs=1).stability(X, table["y"], pairs=1, efv=efv)
    assert result.q == 1 and result.error_bound == pytest.approx(efv)


@pytest.mark.parametrize("sizes, q, said", [((0, 0), 1, "models, 0, raised to 1)"),
                                            ((0, 1), 1, "models, 0.5, raised to 1)"),
                                            ((1, 2), 2, "models)")])
def test_q_from_subsamples_that_mostly_choose_no_column_is_said_to_be_raised(sizes, q, said,
                                                                              monkeypatch):
    """Paths on a target without signal often choose their empty model: q = 1 was said to be
    'the median size of the subsamples' chosen models', which was 0."""
    from lassonet_cli import LassoNetSelector, stability

    chosen = iter(sizes)
    monkeypatch.setattr(stability, "_subsample_path", lambda table, rows: (
        np.arange(10, dtype=np.int32), next(chosen)))
    table = pd.read_csv(TOY).head(60)
    result = LassoNetSelector(n_jobs=1).stability(table.drop(columns="y"), table["y"], pairs=1)
    assert result.q == q
    assert f"top q = {q} (the median size of the subsamples' chosen {said}" \
        in result.summary()


def test_the_python_table_shows_the_selectors_groups_as_the_command_does(monkeypatch):
    """docs/stability.md: result.table() is the command's table; with groups the command writes
    a group column, which the Python table lacked unless the groups were passed again."""
    from lassonet_cli import LassoNetSelector, stability

    table = pd.read_csv(TOY).head(60)
    X = table.drop(columns="y")
    monkeypatch.setattr(stability, "_subsample_path", lambda table, rows: (
        np.minimum(np.arange(X.shape[1]), X.shape[1] - 2).astype(np.int32), 1))
    groups = {X.columns[0]: "g", X.columns[1]: "g"}
    result = LassoNetSelector(n_jobs=1, groups=groups).stability(X, table["y"], pairs=1)
    written = result.table().set_index("feature")["group"]
    assert written.to_dict() == {c: groups.get(c, c) for c in X.columns}
