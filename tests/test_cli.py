"""`lassonet select` end to end: through typer's CliRunner and as a real subprocess."""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clitools import assert_clean_error, invoke, with_a_test_only_column, write_long_named_table

from lassonet_cli.modelfile import read_model

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "sample_data" / "toy_regression.csv"
BREAST = ROOT / "sample_data" / "breast_cancer.csv"
LASSONET = shutil.which("lassonet", path=str(Path(sys.executable).parent)) or "lassonet"







# --- the toy regression: only x1..x5 matter -------------------------------------------------


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """Rankings and path tables of the toy data for seeds 0, 1, 2 (seed 0 twice)."""
    out = tmp_path_factory.mktemp("toy")
    runs = {}
    for name, seed in [("s0", 0), ("s0_again", 0), ("s1", 1), ("s2", 2)]:
        ranking, path = out / f"{name}_rank.csv", out / f"{name}_path.csv"
        result = invoke("select", TOY, "--target", "y", "--seed", seed, "--threads", "2",
                        "-o", ranking, "--path-out", path)
        assert result.exit_code == 0, result.stderr
        runs[name] = (ranking, path, result)
    return runs


@pytest.mark.parametrize("name", ["s0", "s1", "s2"])
def test_toy_top_five_are_the_informative_features(toy_runs, name):
    ranking = pd.read_csv(toy_runs[name][0])
    assert set(ranking["feature"].head(5)) == {"x1", "x2", "x3", "x4", "x5"}


def test_ranking_lists_every_feature_once_in_rank_order(toy_runs):
    ranking = pd.read_csv(toy_runs["s0"][0])
    assert list(ranking.columns) == ["rank", "feature", "importance", "selected"]
    assert sorted(ranking["feature"]) == [f"x{i}" for i in range(10)]
    assert ranking["rank"].tolist() == list(range(1, 11))
    assert ranking["importance"].is_monotonic_decreasing
    assert ranking["selected"].dtype == bool


def test_path_table_is_nested_and_ends_at_zero(toy_runs):
    path = pd.read_csv(toy_runs["s0"][1], keep_default_na=False)
    assert list(path.columns) == [
        "lambda", "k", "train_loss", "val_loss", "val_score", "epochs", "relax_epochs",
        "eliminated",
    ]
    assert path["k"].iloc[0] == 10 and path["lambda"].iloc[0] == 0
    assert (path["k"].diff().dropna() <= 0).all()
    assert path["k"].iloc[-1] == 0
    assert path["lambda"].is_monotonic_increasing
    assert not path[["lambda", "train_loss", "val_loss", "val_score"]].isna().any().any()
    # the eliminations recover the selection at every point
    left = [name for cell in path["eliminated"] for name in cell.split(";") if name]
    assert sorted(left) == [f"x{i}" for i in range(10)]
    left_here = path["eliminated"].map(lambda cell: len([n for n in cell.split(";") if n]))
    assert (10 - left_here.cumsum() == path["k"]).all()


def test_importance_is_the_elimination_lambda_in_the_path_table(toy_runs):
    ranking = pd.read_csv(toy_runs["s0"][0])
    path = pd.read_csv(toy_runs["s0"][1], keep_default_na=False)
    exit_lambda = {name: lam for lam, cell in zip(path["lambda"], path["eliminated"], strict=True)
                   for name in cell.split(";") if name}
    for feature, importance in zip(ranking["feature"], ranking["importance"], strict=True):
        assert importance == pytest.approx(exit_lambda[feature], rel=1e-12)


def test_same_seed_gives_byte_identical_outputs(toy_runs):
    for index in (0, 1):
        assert toy_runs["s0"][index].read_bytes() == toy_runs["s0_again"][index].read_bytes()


def test_stderr_names_the_task_and_the_chosen_point(toy_runs):
    stderr = toy_runs["s0"][2].stderr
    assert "task: regression" in stderr
    assert "chose path point" in stderr


# --- classification with a text label ----------------------------------------------------


def test_text_labels_are_classification_and_k_limits_the_selection(tmp_path):
    out = tmp_path / "rank.csv"
    result = invoke("select", BREAST, "-t", "diagnosis", "--k", "5", "--max-epochs", "30",
                    "-o", out, "--path-out", tmp_path / "path.csv")
    assert result.exit_code == 0, result.stderr
    assert "task: classification" in result.stderr
    ranking = pd.read_csv(out)
    assert len(ranking) == 30
    assert 1 <= ranking["selected"].sum() <= 5
    # the selected features are the top of the ranking (the selections are nested)
    assert ranking["selected"].tolist() == sorted(ranking["selected"], reverse=True)
    path = pd.read_csv(tmp_path / "path.csv")
    assert path["val_score"].between(0, 1).all()
    assert path["val_score"].max() > 0.9


def test_output_formats(tmp_path):
    small = tmp_path / "small.csv"
    pd.read_csv(TOY).head(300)[["x1", "x3", "x7", "y"]].to_csv(small, index=False)
    common = ["select", small, "-t", "y", "--max-epochs", "5", "--patience", "2", "--cv", "0",
              "-q"]
    as_json = invoke(*common, "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    assert pd.read_json(io.StringIO(as_json.stdout))["feature"].tolist()[0] in {"x1", "x3", "x7"}
    assert as_json.stderr == ""  # --quiet
    invoke(*common, "-o", tmp_path / "r.parquet")
    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 3
    tsv = invoke(*common, "--format", "tsv")
    assert tsv.stdout.splitlines()[0] == "rank\tfeature\timportance\tselected"


# --- bad input: one line, exit 2, no output file -----------------------------------------------


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    good = pd.DataFrame(rng.standard_normal((40, 3)), columns=["a", "b", "c"])
    good["target"] = rng.standard_normal(40)
    paths = {"good": tmp_path / "good.csv"}
    good.to_csv(paths["good"], index=False)
    one_class = good.assign(target="yes")
    paths["one_class"] = tmp_path / "one_class.csv"
    one_class.to_csv(paths["one_class"], index=False)
    paths["empty"] = tmp_path / "empty.csv"
    paths["empty"].write_text("a,b,c,target\n")
    gaps = good.copy()
    gaps.loc[[1, 5], "a"] = np.nan
    gaps.loc[3, "c"] = np.nan
    paths["gaps"] = tmp_path / "gaps.csv"
    gaps.to_csv(paths["gaps"], index=False)
    text = good.assign(b=["u", "v"] * 20)
    paths["text"] = tmp_path / "text.csv"
    text.to_csv(paths["text"], index=False)
    return paths


def test_missing_file(tmp_path):
    assert_clean_error(invoke("select", tmp_path / "nope.csv", "-t", "y"), "does not exist")


def test_empty_file_names_are_not_called_a_directory(tables):
    # (an unset shell variable: Path('') is the working directory, which is no reason to give)
    assert_clean_error(invoke("select", "", "-t", "y"), "input file name is empty")
    line = assert_clean_error(invoke("select", tables["good"], "-t", "target", "--groups", ""),
                              "groups file name is empty")
    assert "directory" not in line


def test_unknown_target_suggests_the_closest_column(tables):
    assert_clean_error(invoke("select", tables["good"], "-t", "targte"), "'targte'", "target")


def test_unknown_feature_and_excluded_columns(tables):
    assert_clean_error(invoke("select", tables["good"], "-t", "target", "--features", "a,zz"),
                       "'zz'")
    assert_clean_error(invoke("select", tables["good"], "-t", "target", "--exclude", "q*"),
                       "q*")


def test_single_class_target(tables):
    assert_clean_error(invoke("select", tables["one_class"], "-t", "target"), "constant")


def test_empty_table(tables):
    assert_clean_error(invoke("select", tables["empty"], "-t", "target"), "no rows")


def test_missing_values_name_columns_and_counts(tables):
    assert_clean_error(invoke("select", tables["gaps"], "-t", "target"),
                       "a (2 missing)", "c (1 missing)", "--missing impute")


def test_missing_values_are_imputed_on_request(tables):
    result = invoke("select", tables["gaps"], "-t", "target", "--missing", "impute",
                    "--max-epochs", "5", "--patience", "2", "--threads", "1", "--cv", "0")
    assert result.exit_code == 0, result.stderr
    assert "imputed gaps in 2 column(s)" in result.stderr
    ranking = pd.read_csv(io.StringIO(result.stdout))
    assert sorted(ranking["feature"]) == ["a", "b", "c"]  # no indicator rows
    assert not ranking.isna().any().any()


def test_text_feature_is_one_hot_encoded_as_one_column(tables):
    result = invoke("select", tables["text"], "-t", "target", "--max-epochs", "5",
                    "--patience", "2", "--threads", "1", "--cv", "0")
    assert result.exit_code == 0, result.stderr
    ranking = pd.read_csv(io.StringIO(result.stdout))
    assert sorted(ranking["feature"]) == ["a", "b", "c"]  # b once, not b=u / b=v


def test_rows_without_a_target_are_dropped_with_a_note(tables, tmp_path):
    df = pd.read_csv(tables["good"])
    df.loc[[0, 10, 20, 30], "target"] = np.nan
    data = tmp_path / "no_target.csv"
    df.to_csv(data, index=False)
    result = invoke("select", data, "-t", "target", "--max-epochs", "5", "--patience", "2",
                    "--threads", "1", "--cv", "0")
    assert result.exit_code == 0, result.stderr
    assert "dropped 4 row(s) whose target 'target' is missing" in result.stderr
    df["target"] = np.nan
    df.to_csv(data, index=False)
    assert_clean_error(invoke("select", data, "-t", "target"), "'target'", "empty")


def test_integer_class_labels_with_a_gap_stay_integers(tmp_path):
    """A CSV class column 0/1 with an empty cell reads as floats: the model's labels were
    1.0 and 0.0, and predict wrote 'prediction 1.0' under 'proba_0.0,proba_1.0'."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(60)
    lines = ["a,y"] + [f"{v},{int(v > 0)}" for v in a]
    lines[3] = f"{a[2]},"  # a row without its label
    data = tmp_path / "gap.csv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.safetensors"
    result = invoke("select", data, "-t", "y", "--max-epochs", "5", "--cv", "0", "-q",
                    "--model-out", model, "-o", tmp_path / "r.csv")
    assert result.exit_code == 0, result.stderr
    result = invoke("predict", model, data)
    assert result.exit_code == 0, result.stderr
    header, first = result.stdout.splitlines()[:2]
    assert header == "prediction,proba_0,proba_1"
    assert first.split(",")[0] in ("0", "1")


@pytest.mark.parametrize(
    "option, value, fragment",
    [("--backbone", "mlp:abc", "backbone"), ("--M", "-1", "--M"),
     ("--path-multiplier", "0.9", "--path-multiplier"), ("--lambda-start", "soon", "auto"),
     ("--val-fraction", "1.5", "--val-fraction"), ("--rule", "1se", "cross-validation"),
     ("--task", "ranking", "ranking"), ("--k", "0", "--k"), ("--format", "xml", "xml"),
     # issue 16, defects 6 and 7: seeds numpy and torch cannot take, and non-finite numbers
     ("--seed", "-1", "--seed"), ("--seed", "99999999999999999999", "--seed"),
     ("--path-multiplier", "inf", "--path-multiplier"),
     ("--path-multiplier", "nan", "--path-multiplier"),
     ("--lambda-start", "inf", "--lambda-start"), ("--lr", "inf", "--lr"),
     # Python's wording ('or None') and readings ('1_0' as 10) stay out of the command line
     ("--lr", "nan", "--lr must be a finite number, got nan"), ("--M", "1_0", "'1_0'"),
     ("--lambda-start", "1_0", "'1_0' is neither 'auto' nor a number"),
     # an M whose lambdas overflow float32 (inf importances); multipliers that take thousands
     # of points (a CV tail that hangs) or overflow the exit window; a start the path cannot
     # climb from within its points (every importance inf)
     ("--M", "1e40", "--M"), ("--path-multiplier", "1.000000001", "--path-multiplier"),
     ("--path-multiplier", "1e200", "--path-multiplier"),
     # (found once the dense model is trained: -q keeps the notes before it off stderr)
     ("--lambda-start", "1e-300", "below the first exit"),
     # and one above every exit: all left at the first point, with one importance, unordered
     ("--lambda-start", "1e308", "removes every feature at the path's first point"),
     ("--sep", "x", "'x' cannot separate columns"),
     ("--sep", "0", "'0' cannot separate columns"),
     ("--sep", ".", "'.' cannot separate columns"),
     # the same message for every bad thread count; options that do not apply, or conflict
     ("--threads", "0", "--threads must be between 1 and 1024, got 0"),
     ("--threads", "-1", "--threads must be between 1 and 1024, got -1"),
     ("--threads", "1000000", "--threads must be between 1 and 1024, got 1000000"),
     ("--threads", "2147483648", "--threads must be between 1 and 1024, got 2147483648"),
     ("--max-levels", "0", "--max-levels must be at least 1"),
     ("--ties", "breslow", "the cox task only"),
     ("--id", "target", "--target and --id name the same column 'target'")],
)
def test_bad_options(tables, option, value, fragment):
    assert_clean_error(invoke("select", tables["good"], "-t", "target", option, value, "-q"),
                       fragment)


def test_unknown_option_is_one_line():
    assert_clean_error(invoke("select", TOY, "-t", "y", "--colour", "red"), "--colour")


def test_failed_run_writes_no_file_and_keeps_an_existing_one(tables, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    fresh = out / "fresh.csv"
    assert_clean_error(invoke("select", tables["gaps"], "-t", "target", "-o", fresh))
    assert not fresh.exists()
    existing = out / "existing.csv"
    existing.write_text("keep me\n")
    assert_clean_error(invoke("select", tables["gaps"], "-t", "target", "-o", existing,
                              "--path-out", out / "p.csv"))
    assert existing.read_text() == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == ["existing.csv"]


def test_output_into_a_missing_directory_fails_before_training(tables, tmp_path):
    started = time.perf_counter()
    assert_clean_error(invoke("select", tables["good"], "-t", "target",
                              "-o", tmp_path / "no" / "such" / "dir.csv"), "does not exist")
    assert time.perf_counter() - started < 5


# --- as a real process, in pipes ----------------------------------------------------------


def test_stdin_pipe_into_head():
    """cat toy.csv | lassonet select - --target y | head -3"""
    pipeline = f"cat '{TOY}' | '{LASSONET}' select - --target y --max-epochs 30 | head -3"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "rank,feature,importance,selected"
    assert len(lines) == 3 and lines[1].startswith("1,")
    assert "Traceback" not in done.stderr and "error" not in done.stderr


def test_reader_closing_early_ends_quietly(tmp_path):
    """A ranking larger than the pipe buffer, read by `head -1`: no traceback, exit 0."""
    path = write_long_named_table(tmp_path)
    proc = subprocess.Popen(
        [LASSONET, "select", str(path), "-t", "y", "--backbone", "linear", "--max-epochs", "2",
         "--patience", "1", "--path-multiplier", "1.5", "--cv", "0", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    first = proc.stdout.readline()
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=300)
    assert first == b"rank,feature,importance,selected\n"
    assert proc.returncode == 0
    assert stderr == b""


def test_ctrl_c_exits_130_and_leaves_no_output(tmp_path):
    out = tmp_path / "ranking.csv"
    proc = subprocess.Popen(
        [LASSONET, "select", str(TOY), "-t", "y", "-o", str(out), "--path-out",
         str(tmp_path / "path.csv"), "--max-epochs", "100000", "--patience", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # a shell without job control starts background jobs with SIGINT ignored, and the
        # child would inherit that: give it the default disposition a terminal user has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(4)  # well into training (imports take about 2 s; each point 100000 epochs)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.decode().strip().splitlines()[-1] == "error: interrupted"
    assert b"Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_a_ctrl_c_while_a_failed_run_shuts_down_ends_it_without_a_traceback():
    """After an error or a first Ctrl-C, a Ctrl-C while the interpreter shuts down (torch's
    clean-up takes a while) printed a KeyboardInterrupt traceback under the error line; now
    it ends the process as the signal does (a shell reports 130)."""
    script = ("import atexit, os, signal, sys, time\n"
              "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(5)))\n"
              "from lassonet_cli.cli import main\n"
              f"sys.argv = ['lassonet', 'select', {str(TOY)!r}, '-t', 'nope']\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.stderr == "error: --target column 'nope' is not in the table\n"
    assert done.returncode == -signal.SIGINT


def test_help_is_plain_text_with_examples():
    for args in (["--help"], ["select", "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0
        assert "Example" in result.stdout
        assert not any(ch in result.stdout for ch in "╭─│╰")


def test_debug_shows_the_traceback(tables):
    result = invoke("select", tables["gaps"], "-t", "target", "--debug")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "error: missing values" in result.stderr


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("lassonet ")


# --- cross-validation and the accuracy-vs-k table ---------------------------------------------


@pytest.fixture(scope="module")
def signal_table(tmp_path_factory):
    """Classification where only a and b matter (a XOR-like rule needs both)."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.standard_normal((240, 6)), columns=list("abcdef"))
    df["label"] = np.where(df["a"] * df["b"] + 0.3 * df["a"] > 0, "yes", "no")
    path = tmp_path_factory.mktemp("signal") / "signal.csv"
    df.to_csv(path, index=False)
    return path


def test_cv_one_se_rule_is_no_larger_than_best(signal_table, tmp_path):
    selected = {}
    for rule in ("best", "1se"):
        out, path_out = tmp_path / f"{rule}.csv", tmp_path / f"{rule}_path.csv"
        result = invoke("select", signal_table, "-t", "label", "--cv", "3", "--rule", rule,
                        "--max-epochs", "20", "-o", out, "--path-out", path_out)
        assert result.exit_code == 0, result.stderr
        assert "3-fold" in result.stderr
        selected[rule] = pd.read_csv(out)["selected"].sum()
        path = pd.read_csv(path_out)
        assert "val_score_se" in path.columns
        assert (path["val_score_se"] >= 0).all() and path["val_score"].between(0, 1).all()
    assert "standard error" in result.stderr  # the 1se run explains its choice
    assert 1 <= selected["1se"] <= selected["best"]


def test_accuracy_vs_k_table_and_plot(signal_table, tmp_path):
    out, png = tmp_path / "acc.csv", tmp_path / "acc.png"
    result = invoke("path", signal_table, "-t", "label", "--k-grid", "1,2,6",
                    "--random-repeats", "3", "--max-epochs", "20", "-o", out, "--plot", png)
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["k", "features", "lassonet_score", "lassonet_k",
                                   "refit_score", "random_score", "random_score_sd"]
    assert table["k"].tolist() == [1, 2, 6]
    assert [len(f.split(";")) for f in table["features"]] == [1, 2, 6]
    assert set(table.loc[1, "features"].split(";")) == {"a", "b"}
    assert (table["lassonet_k"] <= table["k"]).all()
    assert not table.isna().any().any()
    # both informative columns beat a random pair
    assert table.loc[1, "refit_score"] > table.loc[1, "random_score"] + 0.05
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_path_refits_in_two_processes_give_the_same_table(signal_table, tmp_path):
    """The refits are independent runs: in a second process (--jobs 2) the table is the same
    to the byte as one after another (--jobs 1), and its refits are real (the top set of two
    beats random pairs)."""
    tables = []
    for jobs in (1, 2):
        out = tmp_path / f"acc{jobs}.csv"
        result = invoke("path", signal_table, "-t", "label", "--k-grid", "2,6",
                        "--random-repeats", "3", "--max-epochs", "20", "--jobs", str(jobs),
                        "-o", out)
        assert result.exit_code == 0, result.stderr
        tables.append(out.read_bytes())
    assert tables[0] == tables[1]
    table = pd.read_csv(io.BytesIO(tables[0]))
    assert table.loc[0, "refit_score"] > table.loc[0, "random_score"]


@pytest.mark.parametrize("args, fragment", [
    (["--k-grid", "0,2"], "k-grid"), (["--k-grid", "7"], "7"), (["--k-grid", "x"], "'x'"),
    (["--k-grid", "inf"], "'inf'"),
    (["--plot", "acc.pdf"], ".png or .svg"), (["--random-repeats", "0"], "--random-repeats"),
    (["--random-repeats", "1000000"], "--random-repeats must be between 1 and 1000"),
    (["--test-fraction", "1.2"], "--test-fraction"),
])
def test_path_command_bad_options(signal_table, args, fragment):
    assert_clean_error(invoke("path", signal_table, "-t", "label", *args), fragment)


@pytest.mark.parametrize("args, fragments", [
    (["-t", "label", "-t", "a"], ["'--target' / '-t'", "more than once"]),
    (["-t", "label", "--target=a"], ["'--target' / '-t'", "more than once"]),
    (["-t", "label", "--features", "a", "--features", "b"], ["'--features'", "comma list"]),
])
def test_an_option_given_twice_is_refused_not_overridden(signal_table, args, fragments):
    """click keeps an option's last value: `-t a -t b` would select for b alone."""
    assert_clean_error(invoke("select", signal_table, *args), *fragments)


def test_a_flag_given_twice_means_the_same_and_help_still_helps(signal_table):
    result = invoke("select", signal_table, "-t", "label", "-q", "-q", "--backbone", "linear",
                    "--max-epochs", "2", "--threads", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # quiet, once or twice
    result = invoke("select", signal_table, "-t", "label", "-t", "a", "--help")
    assert result.exit_code == 0 and "--target" in result.stdout


# --- few rows: the point is chosen by cross-validation; constant columns are ranked last --------


SMALL = ["--backbone", "mlp:8", "--max-epochs", "20", "--patience", "3", "--threads", "1"]


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    """60 rows: a and b decide the label; k (a number) and flat (a text) are constant."""
    rng = np.random.default_rng(2)
    df = pd.DataFrame(rng.standard_normal((60, 3)), columns=["a", "noise", "b"])
    df.insert(1, "k", 7)
    df["flat"] = "same"
    df.insert(0, "id", [f"r{i}" for i in range(60)])
    df["label"] = np.where(df["a"] - df["b"] > 0, "yes", "no")
    path = tmp_path_factory.mktemp("small") / "small.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def small_runs(small_table, tmp_path_factory):
    """select on the small table by default (cross-validated) and with --cv 0."""
    out = tmp_path_factory.mktemp("small_runs")
    runs = {}
    for name, extra in (("auto", []), ("split", ["--cv", "0"])):
        ranking, path = out / f"{name}_rank.csv", out / f"{name}_path.csv"
        result = invoke("select", small_table, "-t", "label", "--id", "id", *SMALL, *extra,
                        "-o", ranking, "--path-out", path)
        assert result.exit_code == 0, result.stderr
        runs[name] = (pd.read_csv(ranking), pd.read_csv(path, keep_default_na=False), result)
    return runs


def test_small_table_chooses_the_point_by_cross_validation(small_runs):
    _, path, result = small_runs["auto"]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("chose path point") and "(the best mean 5-fold score)" in line
    assert "cv accuracy " in line and " ± " in line
    assert line.endswith("(5 folds: the table has 60 rows, fewer than 500; --cv 0 for one "
                         "validation split)")
    assert (path["val_score_se"] >= 0).all() and path["val_score"].between(0, 1).all()


def test_cv_0_chooses_on_one_validation_split(small_runs):
    _, path, result = small_runs["split"]
    line = result.stderr.strip().splitlines()[-1]
    assert "(the best validation score)" in line and "validation accuracy" in line
    assert "±" not in line and "fold" not in line
    assert "val_score_se" not in path.columns


def test_cross_validation_leaves_the_ranking_as_it_was(small_runs):
    """The ranking comes from the path on the training rows; only the chosen point may move."""
    auto, split = small_runs["auto"][0], small_runs["split"][0]
    columns = ["rank", "feature", "importance"]
    pd.testing.assert_frame_equal(auto[columns], split[columns])


def test_constant_columns_are_ranked_last_with_importance_zero(small_runs):
    for ranking, _, result in small_runs.values():
        # one row per input feature column (the text column once), the constant ones last
        assert ranking["feature"].tolist()[3:] == ["k", "flat"]
        assert sorted(ranking["feature"][:3]) == ["a", "b", "noise"]
        assert ranking["rank"].tolist() == [1, 2, 3, 4, 5]
        assert ranking["importance"].tolist()[3:] == [0.0, 0.0]
        assert (ranking["importance"][:3] > 0).all()
        assert not ranking["selected"][3:].any() and ranking["selected"].any()
        assert ("set aside 2 constant column(s), ranked last with importance 0: k, flat"
                in result.stderr.splitlines())


def test_select_names_a_column_constant_in_the_training_rows(tmp_path):
    """One with values only in validation rows is set aside after the split, so it is named
    after training, apart from the table's constant columns named before."""
    from lassonet_cli import LassoNetSelector
    from lassonet_cli.prepare import prepare_table, set_up_path

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((80, 3)), columns=["a", "b", "c"])
    df["y"] = 2 * df["a"] + df["b"]
    selector = LassoNetSelector(cv=0, task="regression")
    held = set_up_path(selector.validate(), prepare_table(
        selector.validate(), df[["a", "b", "c"]], df["y"])).rows[1]
    df["e"] = np.nan
    df.loc[held[:3], "e"] = [100.0, 200.0, 300.0]
    data = tmp_path / "sparse.csv"
    df.to_csv(data, index=False)
    result = invoke("select", data, "-t", "y", "--missing", "impute", "--cv", "0",
                    "--backbone", "mlp:8", "--max-epochs", "5", "--threads", "1")
    assert result.exit_code == 0, result.stderr
    assert ("set aside 1 column(s) constant in the training rows (they vary only among the "
            "validation rows), ranked last with importance 0: e") in result.stderr.splitlines()
    ranking = pd.read_csv(io.StringIO(result.stdout))
    assert ranking["feature"].iloc[-1] == "e" and ranking["importance"].iloc[-1] == 0.0


def test_a_table_of_enough_rows_is_not_cross_validated(tmp_path):
    from lassonet_cli.defaults import CV_BELOW_ROWS

    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.standard_normal((CV_BELOW_ROWS, 2)), columns=["a", "b"])
    df["y"] = df["a"] + 0.1 * rng.standard_normal(CV_BELOW_ROWS)
    data = tmp_path / "enough.csv"
    df.to_csv(data, index=False)
    result = invoke("select", data, "-t", "y", "--backbone", "linear", "--max-epochs", "2",
                    "--path-multiplier", "2", "--threads", "1", "--path-out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.stderr
    assert "(the best validation score)" in result.stderr and "fold" not in result.stderr
    assert "val_score_se" not in pd.read_csv(tmp_path / "p.csv").columns


def test_path_command_leaves_constant_columns_out(small_table, tmp_path):
    """path evaluates usable columns: k counts them, and stderr says which were dropped."""
    result = invoke("path", small_table, "-t", "label", "--id", "id", *SMALL,
                    "--random-repeats", "1")
    assert result.exit_code == 0, result.stderr
    assert "dropped 2 constant column(s): k, flat" in result.stderr
    assert "fold" not in result.stderr  # no cross-validation unless --cv K
    table = pd.read_csv(io.StringIO(result.stdout))
    assert table["k"].tolist() == [1, 2, 3]
    assert set(table["features"].iloc[-1].split(";")) == {"a", "b", "noise"}
    # one random set per k has no spread: no column rather than a made-up 0
    assert "random_score" in table.columns and "random_score_sd" not in table.columns


def test_accuracy_vs_k_leaves_out_a_column_constant_in_the_training_rows(small_table):
    """The selector sets aside what is constant in the rows it is fitted on; the evaluation's
    candidates (top-k, random k-sets) are the columns it can use."""
    from lassonet_cli.estimator import Selector
    from lassonet_cli.evaluate import accuracy_vs_k
    from lassonet_cli.splits import split_task_rows
    from lassonet_cli.tasks import make_task

    df = pd.read_csv(small_table).drop(columns=["id", "k", "flat"])
    y = df.pop("label").to_numpy()
    _, test_rows = split_task_rows(make_task("classification"), y, 0.2,
                                   np.random.default_rng([0, 1]), "--test-fraction")
    df["rare"] = 0.0
    df.loc[test_rows[:2], "rare"] = 1.0  # varies only among the test rows
    table, selector = accuracy_vs_k(
        lambda: Selector(backbone="mlp:8", max_epochs=5, seed=0, cv=0),
        df, y, "classification", None, 0.2, 1, 0)
    assert table["k"].tolist() == [1, 2, 3]
    assert "rare" not in ";".join(table["features"])
    assert selector.set_aside_ == {}


def test_path_names_a_column_constant_in_the_training_rows(small_table, tmp_path):
    """Such a column is no candidate, so k counts one column fewer than the table has: a
    --k-grid of every column was 'more than the 3 features' of a table of 4 varying ones,
    and the default grid left the column out without a word."""
    data = with_a_test_only_column(pd.read_csv(small_table).drop(columns=["k", "flat"]),
                                   "classification", "label", tmp_path)
    assert_clean_error(invoke("path", data, "-t", "label", "--id", "id", *SMALL,
                              "--random-repeats", "1", "--k-grid", "4"),
                       "4 is more than the 3 features left after leaving out 1 column(s) "
                       "constant in the training rows (only test rows vary): rare")
    result = invoke("path", data, "-t", "label", "--id", "id", *SMALL, "--random-repeats", "1",
                    "--k-grid", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    note = "left out 1 column(s) constant in the training rows (only test rows vary): rare"
    assert note in lines
    # after the notes of the table's checks (it came before 'task: ...')
    assert lines.index(note) > next(i for i, line in enumerate(lines)
                                    if line.startswith("task: "))


@pytest.mark.parametrize("command, flag", [("select", "--val-fraction"),
                                           ("path", "--test-fraction")])
def test_rows_too_few_to_split_give_the_error_alone(tmp_path, command, flag):
    """A table that reads fine (its notes would say the task and the imputed gaps) but whose
    rows cannot be split as asked: one error line naming the flag, and none of the notes,
    which wait until training starts."""
    table = tmp_path / "five.csv"
    table.write_text("a,b,y\n1,,0.5\n2,3,1.5\n3,1,2.5\n4,4,3.5\n5,5,4.5\n")
    result = invoke(command, table, "-t", "y", "--missing", "impute", flag, "0.9")
    assert_clean_error(result, f"too few for {flag} 0.9")


def test_a_test_fraction_that_starves_the_training_rows_is_named(tmp_path):
    """The validation split of the few rows --test-fraction leaves was blamed on
    --val-fraction; the message now names the option that took the rows."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.standard_normal((29, 3)), columns=["a", "b", "y"])
    path = tmp_path / "small.csv"
    table.to_csv(path, index=False)
    line = assert_clean_error(invoke("path", path, "-t", "y", "--test-fraction", "0.9", "-q"),
                              "--test-fraction 0.9 leaves 3 of 29 rows to train on",
                              "lower --test-fraction")
    assert line.index("--test-fraction") < line.index("--val-fraction")


def test_a_test_fraction_that_leaves_a_validation_row_gives_one_remedy(tmp_path):
    """The selection's remedy and this command's were glued: '... hold out more with
    --val-fraction or cross-validate with --cv K: lower --test-fraction'."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.standard_normal((120, 3)), columns=["a", "b", "y"])
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    line = assert_clean_error(invoke("path", path, "-t", "y", "--test-fraction", "0.95", "-q"),
                              "--test-fraction 0.95 leaves 6 of 120 rows to train on, and the "
                              "1 validation row(s)", "R^2 is undefined: lower --test-fraction, "
                              "or hold out more with --val-fraction")
    assert line.count(": ") == 2 and "--cv" not in line


@pytest.mark.parametrize("args, remedy", [
    (["--val-fraction", "0.001"], "need at least 501 rows: raise --val-fraction"),
    (["--cv", "200"], "R^2 is undefined: use fewer folds (--cv K), or lower --test-fraction"),
])
def test_a_training_split_no_test_fraction_can_mend_gets_the_remedy_that_can(tmp_path, args,
                                                                           remedy):
    """'lower --test-fraction' was the remedy where the whole table is too few for the
    validation split, and 'hold out more with --val-fraction' where a cv fold's rows could
    not be scored (the folds do not hold out validation rows)."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.standard_normal((300, 3)), columns=["a", "b", "y"])
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    line = assert_clean_error(invoke("path", path, "-t", "y", *args, "-q"),
                              "--test-fraction 0.2 leaves 240 of 300 rows to train on", remedy)
    assert line.endswith(remedy)


def test_a_test_split_that_leaves_one_row_per_class_is_named(tmp_path):
    """Classes of 2 rows each give one row to the stratified test split: the training rows,
    a different class each, were refused as if the table's target were an ID ('y has a
    different value in each of its 30 rows ... is it an ID?')."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.standard_normal((60, 2)), columns=["a", "b"])
    table["y"] = [f"c{i % 30}" for i in range(60)]
    path = tmp_path / "pairs.csv"
    table.to_csv(path, index=False)
    line = assert_clean_error(invoke("path", path, "-t", "y", "-q"),
                              "--test-fraction 0.2 leaves 30 training row(s), a different "
                              "class in each", "a lower --test-fraction")
    assert "ID" not in line


SIX_ROWS = "a,b,y\n1,2,1.0\n2,1,2.5\n3,5,2.0\n4,3,4.1\n5,6,5.2\n6,4,5.9\n"
# five rows of one value: of three folds of two rows, at least two hold that value alone
MOSTLY_ONE = "a,b,y\n1,2,1.5\n2,1,1.5\n3,5,1.5\n4,3,1.5\n5,6,1.5\n6,4,2.5\n"


@pytest.mark.parametrize("command, args, table, fragments", [
    ("select", ["--cv", "0"], SIX_ROWS,
     ["the 1 validation row(s) hold a single target value", "--val-fraction"]),
    ("select", ["--cv", "3"], MOSTLY_ONE,
     ["cv fold", "held-out row(s) hold a single target value", "fewer folds (--cv K)"]),
    ("path", [], SIX_ROWS, ["the 1 test row(s) hold a single target value",
                            "raise --test-fraction"]),
])
def test_held_out_rows_on_which_r2_is_undefined_are_refused(tmp_path, command, args, table,
                                                            fragments):
    """One held-out row (or rows of one target value) gave R^2 0 at every path point, and
    the point was then chosen by that constant; now one line names the rows and the option."""
    path = tmp_path / "six.csv"
    path.write_text(table)
    assert_clean_error(invoke(command, path, "-t", "y", "-q", *args), *fragments)


def test_cox_validation_rows_without_an_event_are_refused(tmp_path):
    """One event in eight rows: the split kept it for training, and the validation rows' C-index
    was 0.5 at every point, choosing the empty model; refused (as 'validation row(s) hold no
    event' until one event was refused as too few for any split)."""
    table = tmp_path / "cox.csv"
    table.write_text("time,event,a,b\n1,1,1,2\n2,0,2,1\n3,0,3,5\n4,0,4,3\n5,0,5,6\n"
                     "6,0,6,4\n7,0,2,2\n8,0,1,1\n")
    assert_clean_error(invoke("select", table, "--task", "cox", "--time", "time", "--event",
                              "event", "-q"), "has 1 event: fitting a Cox path needs at least 2")


def test_names_with_spaces_around_them_are_found_and_suggested_quoted(tmp_path):
    """A header written 'a, b, y' names ' b' and ' y': -t y and --features b find them (one
    column fits each), and a suggestion shows its spaces."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    rows = [f"{x[0]:.4f}, {x[1]:.4f}, {2 * x[0] + 0.1 * x[2]:.4f}" for x in X]
    path = tmp_path / "spaced.csv"
    path.write_text("a, b, y\n" + "\n".join(rows) + "\n")
    result = invoke("select", path, "-t", "y", "--features", "b,a", "--cv", "0", "-q",
                    "--max-epochs", "5", "--threads", "1")
    assert result.exit_code == 0, result.stderr
    assert sorted(pd.read_csv(io.StringIO(result.stdout))["feature"]) == [" b", "a"]
    assert_clean_error(invoke("select", path, "-t", "y", "--features", "bb"),
                       "did you mean ' b'?")
    # --categorical and predict's --keep find them too
    table = pd.read_csv(path)
    table[" g"] = np.arange(len(table)) % 3
    table.to_csv(path, index=False)
    model = tmp_path / "m.st"
    result = invoke("select", path, "-t", "y", "--categorical", "g", "--cv", "0", "-q",
                    "--max-epochs", "5", "--threads", "1", "--model-out", model)
    assert result.exit_code == 0, result.stderr
    assert read_model(str(model))[0]["encoder"]["codes"][-1]["kind"] != "numeric"
    result = invoke("predict", model, path, "--keep", "g")
    assert result.exit_code == 0, result.stderr
    assert list(pd.read_csv(io.StringIO(result.stdout)).columns)[0] == " g"


def _table_with_ids(path, features: list[str], id_column: str, at: int):
    """60 rows: two normal features, y = 2 * the first + noise, and an id column at ``at``;
    written to ``path``.  Returns (path, the table)."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.standard_normal((60, 2)), columns=features)
    table["y"] = 2 * table[features[0]] + 0.1 * rng.standard_normal(60)
    table.insert(at, id_column, [f"r{i}" for i in range(60)])
    table.to_csv(path, index=False)
    return path, table


def test_a_name_holding_a_comma_is_addressed_in_double_quotes(tmp_path):
    """--features, --exclude and --keep split on commas; a quoted entry, as in CSV, keeps
    its comma (such a column could not be named at all)."""
    path, _ = _table_with_ids(tmp_path / "commas.csv", ["dose, mg", "age"], "id, site", 0)
    fast = ["--cv", "0", "-q", "--max-epochs", "5", "--threads", "1"]

    def features(*args):
        result = invoke("select", path, "-t", "y", *fast, *args)
        assert result.exit_code == 0, result.stderr
        return sorted(pd.read_csv(io.StringIO(result.stdout))["feature"])

    assert features("--features", '"dose, mg"') == ["dose, mg"]
    assert features("--exclude", '"id, site", "dose, mg"') == ["age"]
    model = tmp_path / "m.st"
    assert invoke("select", path, "-t", "y", *fast, "--exclude", '"id, site"', "--model-out",
                  model, "-o", tmp_path / "r.csv").exit_code == 0
    result = invoke("predict", model, path, "--keep", '"id, site"')
    assert result.exit_code == 0, result.stderr
    assert list(pd.read_csv(io.StringIO(result.stdout)).columns) == ["id, site", "prediction"]


def test_predict_passes_the_training_id_column_through(tmp_path):
    """SPEC 4: --id is passed through where rows are written.  The model file records it, and
    predict writes it first when the input has it (once, with --keep naming it too), and
    goes on without it when the input has none."""
    path, table = _table_with_ids(tmp_path / "ids.csv", ["a", "b"], "sample", 1)
    model = tmp_path / "m.st"
    assert invoke("select", path, "-t", "y", "--id", "sample", "--cv", "0", "-q",
                  "--max-epochs", "5", "--threads", "1", "--model-out", model).exit_code == 0

    def columns(data, *args):
        result = invoke("predict", model, data, *args)
        assert result.exit_code == 0, result.stderr
        return pd.read_csv(io.StringIO(result.stdout))

    out = columns(path)
    assert list(out.columns) == ["sample", "prediction"]
    assert out["sample"].tolist() == table["sample"].tolist()
    assert list(columns(path, "--keep", "y,sample").columns) == ["y", "sample", "prediction"]
    bare = tmp_path / "bare.csv"
    table.drop(columns="sample").to_csv(bare, index=False)
    assert list(columns(bare).columns) == ["prediction"]


def test_names_holding_the_cell_separator_split_back_from_the_path_tables(tmp_path):
    """`eliminated` and `features` join names with ';': a name holding ';', a quote or a line
    break is quoted, so that each cell splits back into exactly the table's names."""
    import csv

    rng = np.random.default_rng(0)
    names = ["dose;mg", 'say "hi"', "two\nlines", "plain"]
    table = pd.DataFrame(rng.standard_normal((60, 4)), columns=names)
    table["y"] = 2 * table["dose;mg"] - table["plain"] + 0.1 * rng.standard_normal(60)
    path = tmp_path / "odd.csv"
    table.to_csv(path, index=False)
    fast = ["--cv", "0", "-q", "--max-epochs", "5", "--threads", "1"]

    def split(cell):
        return next(csv.reader([cell], delimiter=";"), [])  # as docs/select.md says

    assert invoke("select", path, "-t", "y", *fast, "--path-out", tmp_path / "p.csv",
                  "-o", tmp_path / "r.csv").exit_code == 0
    cells = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)["eliminated"]
    assert sorted(n for cell in cells for n in split(cell)) == sorted(names)
    result = invoke("path", path, "-t", "y", *fast, "--k-grid", "2,4", "--random-repeats", "2")
    assert result.exit_code == 0, result.stderr
    tops = [split(cell) for cell in pd.read_csv(io.StringIO(result.stdout))["features"]]
    assert [len(t) for t in tops] == [2, 4] and sorted(tops[1]) == sorted(names)


def test_a_network_too_large_for_the_machine_is_refused_before_it_is_built():
    """Its weights alone would need more than the machine's memory: one line, exit 2, before any
    allocation (without the check this allocates terabytes and fails inside torch)."""
    result = invoke("select", TOY, "-t", "y", "-q", "--cv", "0",
                    "--backbone", "mlp:1000000000,1000")
    assert_clean_error(result, "--backbone mlp:1000000000,1000 on 10 inputs has",
                       "choose smaller hidden layers")


def test_running_out_of_memory_is_one_line_and_exit_2(monkeypatch):
    """An allocation that fails during training (torch's CPU allocator, as with a network whose
    activations do not fit) is the size of the run, not an internal error."""
    from lassonet_cli import path as path_module

    def allocate(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't "
                           "allocate memory: you tried to allocate 720000000000 bytes.")

    monkeypatch.setattr(path_module, "build_model", allocate)
    result = invoke("select", TOY, "-t", "y", "-q", "--cv", "0")
    assert_clean_error(result, "out of memory", "--backbone", "--batch-size")


def test_predict_out_of_memory_names_what_predict_can_change(monkeypatch, tmp_path):
    """predict has no --backbone or --batch-size: its remedy is a smaller input."""
    from lassonet_cli.estimator import Selector

    model = tmp_path / "m.st"
    assert invoke("select", TOY, "-t", "y", "-q", "--cv", "0", "--max-epochs", "5",
                  "--model-out", model, "-o", tmp_path / "r.csv").exit_code == 0

    def allocate(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(Selector, "predict_table", allocate)
    line = assert_clean_error(invoke("predict", model, TOY), "out of memory",
                              "fewer rows at a time")
    assert "--backbone" not in line


@pytest.mark.parametrize("command", [[], ["select"], ["path"], ["stability"], ["predict"],
                                     ["inspect"]])
def test_a_command_typed_alone_prints_its_help_not_an_error(command):
    """It printed the whole help as one 'error: Usage: ...' message, with '(see --help)'
    after it."""
    done = subprocess.run([str(Path(sys.executable).parent / "lassonet"), *command],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"Usage: lassonet {' '.join(command)}".rstrip() + " ")
    assert not any(line.startswith("error:") for line in lines)
    assert "--help" in done.stderr and "(see 'lassonet" not in done.stderr
    if command[:1] in (["select"], ["predict"]):
        assert "DATA" in lines[0]


def test_features_naming_the_target_say_so(tables):
    """--features naming the target column dropped it from the features without a word."""
    result = invoke("select", tables["good"], "-t", "target", "--features",
                    "target," + ",".join(pd.read_csv(tables["good"]).columns[:2]),
                    "--max-epochs", "3", "--cv", "0", "--threads", "1")
    assert result.exit_code == 0, result.stderr
    assert "--features names 'target', the --target column: it is not a feature" in result.stderr

