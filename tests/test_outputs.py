"""Where outputs go: links, FIFOs, devices, /proc, full disks and files that cannot be replaced.

Every output option (-o, --path-out, --model-out, --plot) goes through ``io.atomic_output``: a
regular file is replaced atomically (through a symbolic link, whose target is replaced), a FIFO
or a character device is written straight through and never replaced, and whatever cannot be
written is refused with one ``error:`` line, before training where it can be known then.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clitools import assert_clean_error, invoke, write_long_named_table

from lassonet_cli import io as lio
from lassonet_cli.errors import DataError
from lassonet_cli.estimator import Selector
from lassonet_cli.io import atomic_output, check_writable, write_table

LASSONET = str(Path(sys.executable).parent / "lassonet")
FAST = ["--backbone", "linear", "--max-epochs", "3", "--patience", "1", "--path-multiplier",
        "2", "--threads", "1", "--cv", "0", "-q"]


def table() -> pd.DataFrame:
    return pd.DataFrame({"feature": ["a", "b"], "importance": [1.5, 0.25]})


def one_line(exc: pytest.ExceptionInfo) -> str:
    assert exc.type is DataError
    message = str(exc.value)
    assert message.strip() and "\n" not in message, repr(message)
    return message


def is_char_device(path) -> bool:
    return stat.S_ISCHR(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def never_replace_dev(monkeypatch):
    """A writer that would rename a file over /dev/null or /dev/full fails the test instead of
    destroying the device (as root, nothing else stops it)."""
    real = os.replace

    def guarded(src, dst, *args, **kwargs):
        assert not str(dst).startswith("/dev/"), f"would replace {dst}"
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", guarded)


@pytest.fixture
def null_device(tmp_path):
    """A character device of our own (like /dev/null: major 1, minor 3) in tmp_path."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    return node


def fifo_reader(path):
    """A FIFO at ``path`` with its read end open (not blocking): a writer need not wait, and
    what it writes (less than the pipe's 64 KiB) can be read back once it is done."""
    os.mkfifo(path)
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK)


def read_all(fd) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


# --- symbolic links: the target is replaced, the link stays ----------------------------------


def test_symlink_output_replaces_its_target_and_keeps_the_link(tmp_path):
    target, link = tmp_path / "real.csv", tmp_path / "link.csv"
    target.write_text("old\n")
    link.symlink_to("real.csv")
    write_table(table(), str(link))
    assert link.is_symlink() and os.readlink(link) == "real.csv"
    pd.testing.assert_frame_equal(pd.read_csv(target), table())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_dangling_symlink_output_creates_its_target(tmp_path):
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "sub" / "new.csv")
    write_table(table(), str(link))
    assert link.is_symlink()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sub" / "new.csv"), table())


def test_symlink_into_a_missing_directory_is_refused_before_writing(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "gone" / "new.csv")
    with pytest.raises(DataError) as e:
        check_writable(str(link))
    assert "does not exist" in one_line(e)
    assert link.is_symlink() and not (tmp_path / "gone").exists()


# --- FIFOs and character devices: written straight through, never replaced --------------------


def test_fifo_output_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    reader = fifo_reader(fifo)
    check_writable(str(fifo))  # does not open the FIFO, which would end the reader's input
    write_table(table(), str(fifo), "csv")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert read_all(reader) == b"feature,importance\na,1.5\nb,0.25\n"
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_character_device_output_is_written_through(null_device):
    write_table(table(), str(null_device))
    assert is_char_device(null_device)
    assert [p.name for p in null_device.parent.iterdir()] == ["null"]


def test_dev_null_stays_a_device(never_replace_dev):
    check_writable("/dev/null")
    write_table(table(), "/dev/null")
    with atomic_output("/dev/null") as handle:
        handle.write(b"model bytes")
    assert is_char_device("/dev/null")


def test_dev_full_is_no_space_left(never_replace_dev):
    if not os.path.exists("/dev/full"):
        pytest.skip("this system has no /dev/full")
    with pytest.raises(DataError) as e:
        write_table(table(), "/dev/full")
    assert one_line(e) == "no space left writing '/dev/full'"
    assert is_char_device("/dev/full")


def test_open_file_descriptor_is_written_through(tmp_path):
    """/dev/fd/N (what bash's >(cmd) names) is an open file, not a name to rename over: a file
    opened for appending keeps what it had."""
    log = tmp_path / "log.txt"
    log.write_text("before\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        write_table(table(), f"/dev/fd/{fd}", "csv")
    finally:
        os.close(fd)
    assert log.read_text() == "before\nfeature,importance\na,1.5\nb,0.25\n"
    assert [p.name for p in tmp_path.iterdir()] == ["log.txt"]


# --- what cannot be written is refused, before any work where that can be known ---------------


def test_proc_is_refused_before_writing():
    with pytest.raises(DataError) as e:
        check_writable("/proc/x.csv")
    assert "/proc/x.csv" in one_line(e)


def test_directory_that_takes_no_new_file_is_refused_before_writing(tmp_path, monkeypatch):
    """A read-only directory (root may write anywhere, so the refusal is simulated)."""
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(lio.tempfile, "mkstemp", refuse)
    with pytest.raises(DataError) as e:
        check_writable(str(tmp_path / "out.csv"))
    assert "Permission denied" in one_line(e)


def test_writability_check_leaves_no_file(tmp_path):
    check_writable(str(tmp_path / "out.csv"))
    check_writable(str(tmp_path / "out.parquet"), "parquet")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("failure", [errno.EPERM, errno.EACCES])
def test_file_that_cannot_be_replaced_is_one_line_and_stays(tmp_path, monkeypatch, failure):
    """An immutable file (chattr +i) or a directory that refuses the rename."""
    out = tmp_path / "out.csv"
    out.write_text("precious\n")

    def refuse(src, dst):
        raise PermissionError(failure, os.strerror(failure))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(DataError) as e:
        write_table(table(), str(out))
    assert one_line(e).startswith(f"cannot replace {str(out)!r}")
    assert out.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_disk_full_while_writing_a_file_leaves_nothing(tmp_path):
    out = tmp_path / "out.csv"
    with pytest.raises(DataError) as e:
        with atomic_output(str(out)) as handle:
            handle.write(b"half of it")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert one_line(e) == f"no space left writing {str(out)!r}"
    assert list(tmp_path.iterdir()) == []


def test_parquet_to_a_terminal_is_refused_by_the_check(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    with pytest.raises(DataError) as e:
        check_writable(None, "parquet")
    assert "terminal" in one_line(e)
    check_writable(None, "csv")


# --- through the command line ------------------------------------------------------------------


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((60, 3)), columns=["a", "b", "c"])
    df["y"] = 2 * df["a"] + np.sin(df["b"]) + 0.1 * rng.standard_normal(60)
    df.insert(0, "id", [f"r{i}" for i in range(60)])
    path = tmp_path_factory.mktemp("good") / "good.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if training starts: the outputs must be refused first."""
    def fit(*args, **kwargs):
        raise AssertionError("training started before the outputs were checked")

    monkeypatch.setattr(Selector, "fit", fit)


@pytest.mark.parametrize("option", ["-o", "--path-out", "--model-out"])
def test_special_outputs_of_select(good, tmp_path, never_replace_dev, option):
    """A link, a FIFO and /dev/null given to each output option of select."""
    name = {"-o": "ranking.csv", "--path-out": "path.csv", "--model-out": "model.st"}[option]
    (tmp_path / "real").mkdir()
    link = tmp_path / name
    link.symlink_to(tmp_path / "real" / name)
    fifo = tmp_path / "fifo"
    reader = fifo_reader(fifo)
    for destination in (link, fifo, "/dev/null"):
        result = invoke("select", good, "-t", "y", "--exclude", "id", *FAST, option,
                        destination, *(["-o", "/dev/null"] if option != "-o" else []))
        assert result.exit_code == 0, result.stderr
    written = (tmp_path / "real" / name).read_bytes()
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert is_char_device("/dev/null")
    assert read_all(reader) == written  # the same bytes through the FIFO
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["fifo", "real", name])


def test_special_outputs_of_path(good, tmp_path, never_replace_dev):
    """lassonet path: the plot through a link, the table into a FIFO."""
    (tmp_path / "real").mkdir()
    link = tmp_path / "plot.svg"
    link.symlink_to(tmp_path / "real" / "plot.svg")
    fifo = tmp_path / "fifo"
    reader = fifo_reader(fifo)
    result = invoke("path", good, "-t", "y", "--exclude", "id", *FAST, "--k-grid", "1,2",
                    "--random-repeats", "2", "--plot", link, "-o", fifo)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and (tmp_path / "real" / "plot.svg").read_bytes().startswith(b"<?xml")
    assert read_all(reader).startswith(b"k,features,")


def test_special_outputs_of_predict(good, tmp_path, never_replace_dev):
    model = tmp_path / "model.st"
    assert invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "--model-out", model,
                  "-o", "/dev/null").exit_code == 0
    link = tmp_path / "pred.csv"
    link.symlink_to("real.csv")
    result = invoke("predict", model, good, "--keep", "id", "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and len(pd.read_csv(tmp_path / "real.csv")) == 60
    assert invoke("predict", model, good, "-o", "/dev/null").exit_code == 0
    assert is_char_device("/dev/null")


@pytest.mark.parametrize("args, fragment", [
    (["-o", "/proc/x.csv"], "/proc/x.csv"),
    (["-o", "{tmp}/missing/out.csv"], "does not exist"),
    (["--path-out", "{tmp}/missing/path.csv"], "does not exist"),
    (["--model-out", "/proc/model.st"], "/proc/model.st"),
    (["-o", "{tmp}/out.xlsx"], "'.xlsx'"),
    (["--path-out", "{tmp}/path.xlsx"], "'.xlsx'"),
    (["-o", "{tmp}"], "is a directory"),
    (["-o", ""], "needs a file name"),
    (["--model-out", ""], "needs a file name"),
])
def test_unwritable_outputs_fail_before_training(good, tmp_path, no_training, args, fragment):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert_clean_error(invoke("select", good, "-t", "y", *args), fragment)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_plot_fails_before_training(good, tmp_path, monkeypatch):
    from lassonet_cli import evaluate

    def trained(*args, **kwargs):
        raise AssertionError("training started before the outputs were checked")

    monkeypatch.setattr(evaluate, "accuracy_vs_k", trained)
    assert_clean_error(invoke("path", good, "-t", "y", "--exclude", "id", "--plot",
                              "/proc/plot.png"), "/proc/plot.png")
    assert_clean_error(invoke("path", good, "-t", "y", "--exclude", "id", "-o",
                              tmp_path / "acc.xlsx"), "'.xlsx'")


def test_unknown_extension_is_refused_unless_the_format_is_given(good, tmp_path):
    out = tmp_path / "out.xlsx"
    line = assert_clean_error(invoke("select", good, "-t", "y", *FAST, "-o", out), "--format")
    assert ".csv" in line and ".parquet" in line
    assert not out.exists()
    result = invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "-o", out,
                    "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert pd.read_csv(out).columns[0] == "rank"


def test_unreplaceable_output_is_exit_2_and_stays(good, tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_text("precious\n")

    def refuse(src, dst):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "replace", refuse)
    assert_clean_error(invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "-o", out),
                       "cannot replace", "Operation not permitted")
    assert out.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_bad_format_is_one_plain_line(good):
    line = assert_clean_error(invoke("select", good, "-t", "y", "--format", "xyz"), "'xyz'",
                              "'csv'", "'parquet'")
    assert "Value error" not in line
    line = assert_clean_error(invoke("select", good, "-t", "y", "--task", "banana"), "'banana'")
    assert "Value error" not in line


def test_keep_names_a_column_once(good, tmp_path):
    model, out = tmp_path / "model.st", tmp_path / "pred.csv"
    assert invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "--model-out", model,
                  "-o", "/dev/null").exit_code == 0
    result = invoke("predict", model, good, "--keep", "id,y,id", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert list(pd.read_csv(out).columns) == ["id", "y", "prediction"]


# --- as a real process: stdout full, a terminal ------------------------------------------------


def test_full_stdout_is_one_line_and_exit_2(good, tmp_path):
    """... and leaves none of the other outputs: the table on stdout, which cannot be taken
    back, is written first (the model and the path table were written, then stdout failed)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("this system has no /dev/full")
    model, path = tmp_path / "m.st", tmp_path / "path.csv"
    with open("/dev/full", "wb") as full:
        done = subprocess.run([LASSONET, "select", str(good), "-t", "y", "--exclude", "id",
                               *FAST, "--model-out", str(model), "--path-out", str(path)],
                              stdout=full, stderr=subprocess.PIPE, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode() == "error: no space left writing stdout\n"
    assert list(tmp_path.iterdir()) == []


def test_closed_stdin_and_stderr(good):
    """stdin closed (`<&-`) with '-' as the input was an internal error; stderr closed
    (`2>&-`) lost the run with exit 1 and no output; now one error line, and a run without its
    notes."""
    done = subprocess.run([LASSONET, "select", "-", "-t", "y", *FAST], capture_output=True,
                          timeout=300, preexec_fn=lambda: os.close(0))
    assert (done.returncode, done.stderr) == (2, b"error: cannot read stdin: it is closed\n")
    done = subprocess.run([LASSONET, "select", str(good), "-t", "y", "--exclude", "id",
                           "--max-epochs", "5", "--threads", "1", "--cv", "0"],
                          stdout=subprocess.PIPE, timeout=300, preexec_fn=lambda: os.close(2))
    assert done.returncode == 0
    assert done.stdout.decode().startswith("rank,feature,importance,selected\n")


def test_a_stderr_that_cannot_be_written_loses_the_notes_not_the_run(good, tmp_path):
    """stderr full (`2>/dev/full`) or a pipe whose reader has gone ended the run at its first
    note with exit 1 and no output; now the notes are lost and the outputs written."""
    out = tmp_path / "ranking.csv"
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([LASSONET, "select", str(good), "-t", "y", "--exclude", "id",
                               "--max-epochs", "5", "--threads", "1", "--cv", "0", "--progress",
                               "-o", str(out)], stderr=write, timeout=300)
    finally:
        os.close(write)
    assert done.returncode == 0
    assert out.read_text().startswith("rank,feature,importance,selected\n")
    if os.path.exists("/dev/full"):
        with open("/dev/full", "wb") as full:
            done = subprocess.run([LASSONET, "select", str(good), "-t", "nope"], stderr=full,
                                  timeout=300)
        assert done.returncode == 2


def test_a_column_parquet_cannot_store_is_one_line(tmp_path):
    from lassonet_cli.errors import DataError

    frame = pd.DataFrame({"m": [{"a": 1.0}, 2.5]})
    with pytest.raises(DataError, match="cannot write the table as parquet .*--format jsonl"):
        write_table(frame, str(tmp_path / "t.parquet"))
    assert list(tmp_path.iterdir()) == []


def test_a_closed_stdout_fails_before_training(good, tmp_path):
    """Known at start-up, it was found only when the ranking was written, after training and
    after the other outputs."""
    done = subprocess.run([LASSONET, "select", str(good), "-t", "y", "--exclude", "id", *FAST,
                           "--path-out", str(tmp_path / "path.csv")],
                          stderr=subprocess.PIPE, timeout=300, preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    # the notes (task, ...) come just before training: only the error line means it never began
    assert done.stderr.decode() == "error: cannot write stdout: it is closed\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("closed", [False, True])
def test_inspect_and_help_on_a_full_or_closed_stdout_are_one_line_and_exit_2(good, tmp_path,
                                                                           closed):
    """inspect wrote with sys.stdout.write and --help through click: a full stdout was an
    internal error (exit 1), a closed one an AttributeError.  (--help to a closed stdout
    writes nothing and fails nothing: click skips it.)"""
    if not closed and not os.path.exists("/dev/full"):
        pytest.skip("this system has no /dev/full")
    model = tmp_path / "m.st"
    assert invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "--model-out", model,
                  "-o", "/dev/null").exit_code == 0
    commands = [["inspect", str(model)], ["inspect", str(model), "--json"]]
    if not closed:
        commands.append(["--help"])
    for command in commands:
        if closed:
            done = subprocess.run([LASSONET, *command], stderr=subprocess.PIPE, timeout=60,
                                  preexec_fn=lambda: os.close(1))
        else:
            with open("/dev/full", "wb") as full:
                done = subprocess.run([LASSONET, *command], stdout=full,
                                      stderr=subprocess.PIPE, timeout=60)
        stderr = done.stderr.decode()
        assert done.returncode == 2, (command, stderr)
        assert len(stderr.splitlines()) == 1 and stderr.startswith("error: "), (command, stderr)


def test_reader_closing_early_on_an_open_stdout_ends_quietly(tmp_path):
    """`-o /dev/stdout | head -1` with a ranking larger than the pipe buffer: exit 0.  The
    test names stdout /proc/self/fd/1, which a writer that renames cannot destroy."""
    data = write_long_named_table(tmp_path)
    proc = subprocess.Popen([LASSONET, "select", str(data), "-t", "y", *FAST,
                             "-o", "/proc/self/fd/1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=300)
    assert first == b"rank,feature,importance,selected\n"
    assert (proc.returncode, stderr) == (0, b"")


def test_parquet_to_a_terminal_fails_before_training(good):
    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([LASSONET, "select", str(good), "-t", "y", "--format", "parquet"],
                              stdout=follower, stderr=subprocess.PIPE, timeout=300)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    # the notes (task, ...) come just before training: only the error line means it never began
    assert done.stderr.decode().splitlines() == [
        "error: refusing to write parquet to a terminal: use -o FILE.parquet"]


def test_closed_stdout_does_not_fail_a_run_that_writes_files(good, tmp_path):
    """Started with stdout closed (`>&-`), a run whose outputs all go to files succeeds: only
    writing stdout would fail."""
    out = tmp_path / "ranking.csv"
    done = subprocess.run([LASSONET, "select", str(good), "-t", "y", "--exclude", "id", *FAST,
                           "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=300, preexec_fn=lambda: os.close(1))
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(out)["feature"].tolist()


# --- an output that names an input or another output ------------------------------------------


@pytest.mark.parametrize("command, args, fragment", [
    ("select", ["-o", "{data}"], "-o names the same file as the input"),
    ("select", ["-o", "{link}"], "-o names the same file as the input"),  # through a link
    ("select", ["-o", "{hard}"], "-o names the same file as the input"),  # a hard link
    ("select", ["-o", "{tmp}/r.csv", "--path-out", "{tmp}/r.csv"],
     "--path-out names the same file as -o"),
    ("select", ["-o", "{tmp}/r.csv", "--model-out", "{tmp}/./r.csv"],
     "--model-out names the same file as -o"),
    ("path", ["-o", "{tmp}/a.svg", "--format", "csv", "--plot", "{tmp}/a.svg"],
     "--plot names the same file as -o"),
    ("stability", ["--pairs", "1", "-o", "{data}"], "-o names the same file as the input"),
    ("predict", ["-o", "{data}"], "-o names the same file as the input"),
    ("predict", ["-o", "{model}", "--format", "csv"], "-o names the same file as the model"),
])
def test_an_output_that_names_an_input_or_another_output_is_refused(good, tmp_path, command,
                                                                    args, fragment):
    """The later write would replace the input (read already) or the other output: data lost
    with exit 0.  Refused before any work, with every file as it was."""
    data = tmp_path / "data.csv"
    data.write_bytes(good.read_bytes())
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    model = tmp_path / "model.st"
    model.write_bytes(b"not read: the outputs are checked first")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    args = [a.format(data=data, link=tmp_path / "link.csv", hard=tmp_path / "hard.csv",
                     model=model, tmp=tmp_path) for a in args]
    inputs = [model, data] if command == "predict" else [data, "-t", "y", "--exclude", "id"]
    assert_clean_error(invoke(command, *inputs, *args), fragment)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_outputs_may_share_a_device(good):
    result = invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "-o", "/dev/null",
                    "--path-out", "/dev/null", "--model-out", "/dev/null")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("full", ["-o", "--model-out", "--path-out"])
def test_a_device_output_that_fails_leaves_the_files_untouched(good, tmp_path, full):
    """A device is written straight through, and was written after the files: -o /dev/full
    failed with the model and the path table already in place, and --model-out /dev/full
    after replacing an existing path table."""
    if not os.path.exists("/dev/full"):
        pytest.skip("this system has no /dev/full")
    files = {"-o": tmp_path / "ranking.csv", "--path-out": tmp_path / "path.csv",
             "--model-out": tmp_path / "model.st"}
    for path in files.values():
        path.write_text("before")
    args = [arg for flag, path in files.items()
            for arg in (flag, "/dev/full" if flag == full else path)]
    assert_clean_error(invoke("select", good, "-t", "y", "--exclude", "id", *FAST, *args),
                       "no space left writing '/dev/full'")
    assert all(path.read_text() == "before" for path in files.values())


def test_dash_for_an_optional_output(good, tmp_path):
    """--path-out - wrote the path table after the ranking on the same stdout (Parquet
    followed by CSV with --format parquet), and --model-out - a file named '-'.  The path table
    may take stdout when the ranking goes to a file."""
    assert_clean_error(invoke("select", good, "-t", "y", "--exclude", "id", *FAST,
                              "--path-out", "-"), "--path-out - and the main table (-o)")
    assert_clean_error(invoke("select", good, "-t", "y", "--exclude", "id", *FAST,
                              "--model-out", "-", "-o", tmp_path / "r.csv"),
                       "--model-out cannot be '-'")
    result = invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "--path-out", "-",
                    "-o", tmp_path / "r.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("lambda,k,") and (tmp_path / "r.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


# --- Ctrl-C once the outputs are being written ---------------------------------------------------


@pytest.mark.parametrize("signum, name", [("SIGINT", "model"), ("SIGTERM", "path table")])
def test_a_signal_while_the_outputs_are_written_lets_them_all_land_with_exit_0(
        good, tmp_path, monkeypatch, signum, name):
    """Ctrl-C right after the first outputs are in place ended the run with 130 and only some
    of them written; now the writes finish and the run reports success."""
    import signal

    sig = getattr(signal, signum)
    if name == "model":
        real = Selector.save

        def save_then_signal(self, path, *args):
            real(self, path, *args)
            signal.raise_signal(sig)

        monkeypatch.setattr(Selector, "save", save_then_signal)
    else:  # (the commands import write_table when they run)
        real = lio.write_table

        def write_then_signal(df, path, fmt=None):
            real(df, path, fmt)
            if str(path).endswith("path.csv"):
                signal.raise_signal(sig)

        monkeypatch.setattr(lio, "write_table", write_then_signal)
    outputs = {"-o": tmp_path / "r.csv", "--path-out": tmp_path / "path.csv",
               "--model-out": tmp_path / "m.st"}
    result = invoke("select", good, "-t", "y", "--exclude", "id", *FAST,
                    *[str(a) for pair in outputs.items() for a in pair])
    assert result.exit_code == 0, result.stderr
    assert all(p.exists() for p in outputs.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in outputs.values())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/wchan")
@pytest.mark.parametrize("signum, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_while_a_fifo_output_waits_for_its_reader_ends_the_run(good, tmp_path,
                                                                         signum, code):
    """A FIFO opens for writing once a reader opens it; that wait came while Ctrl-C and SIGTERM
    were held back for the writes, and a run whose --plot FIFO got no reader could be ended
    only by SIGKILL.  Nothing is written yet there: the run ends as interrupted."""
    import signal
    import time

    fifo, out = tmp_path / "plot.svg", tmp_path / "acc.csv"
    os.mkfifo(fifo)
    proc = subprocess.Popen([LASSONET, "path", str(good), "-t", "y", "--exclude", "id", *FAST,
                             "--k-grid", "1", "--random-repeats", "1", "--plot", str(fifo),
                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wchan, deadline = Path(f"/proc/{proc.pid}/wchan"), time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if wchan.read_text() == "wait_for_partner":  # (in open(), for a reader)
                break
            time.sleep(0.05)
        assert proc.poll() is None
        proc.send_signal(getattr(signal, signum))
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == code, err
    assert err.decode().endswith(("error: interrupted\n", "error: terminated\n"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.svg"]


def test_a_signal_held_back_before_a_fifo_output_with_its_reader_lets_it_land(good, tmp_path,
                                                                             monkeypatch):
    """The wait for a FIFO's reader lets Ctrl-C through; one that came before it, while the
    table went to stdout, stays held back where the reader is there: every output lands."""
    import signal

    real = lio.write_table

    def write_then_signal(df, path, fmt=None):
        real(df, path, fmt)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(lio, "write_table", write_then_signal)
    fifo = tmp_path / "plot.svg"
    reader = fifo_reader(fifo)
    result = invoke("path", good, "-t", "y", "--exclude", "id", *FAST, "--k-grid", "1",
                    "--random-repeats", "1", "--plot", fifo)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("k,features,")
    assert read_all(reader).startswith(b"<?xml")


def test_a_successful_run_ignores_signals_while_the_interpreter_shuts_down(monkeypatch):
    import signal

    from lassonet_cli import signals
    from lassonet_cli.cli import main

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(sys, "argv", ["lassonet", "--version"])
    # main() marks this process as ending with the command: undone after the test, or later
    # in-process runs would leave signals ignored, and subprocesses inherit that
    monkeypatch.setitem(signals._HOLD, "ending", False)
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
        assert exit_.value.code in (0, None)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def test_the_console_script_keeps_signals_ignored_once_the_outputs_are_written(good, tmp_path,
                                                                               monkeypatch):
    """Between the command's end and the process's exit a Ctrl-C found Python's own handler
    back, and a finished run ended with a traceback and 130."""
    import signal

    from lassonet_cli import signals

    monkeypatch.setitem(signals._HOLD, "ending", True)  # as main() sets it
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = invoke("select", good, "-t", "y", "--exclude", "id", *FAST, "-o",
                        tmp_path / "r.csv")
        assert result.exit_code == 0, result.stderr
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    # a run that fails before writing puts the handlers back
    result = invoke("select", good, "-t", "nope")
    assert result.exit_code == 2
    assert signal.getsignal(signal.SIGINT) is saved[signal.SIGINT]


# --- inputs that can be read once: pipes and FIFOs ----------------------------------------------

def _toy_head(tmp_path, rows: int = 80) -> Path:
    path = tmp_path / "toy.csv"
    pd.read_csv(Path(__file__).resolve().parent.parent / "sample_data" /
                "toy_regression.csv").head(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("stream", ["<(cat {csv})", "<(gzip -c {csv})", "<(cat {parquet})"])
def test_a_pipe_as_data_is_read_once_like_the_file(tmp_path, stream):
    """``select <(zcat t.csv.gz)``: bash names the pipe /dev/fd/63, which has no extension and
    can be read once; it was called empty (the table was opened to sniff it, then again)."""
    csv = _toy_head(tmp_path)
    parquet = tmp_path / "toy.parquet"
    pd.read_csv(csv).to_parquet(parquet)
    command = f"{LASSONET} select {{}} -t y {' '.join(FAST)}"
    from_file = subprocess.run(["bash", "-c", command.format(csv)], capture_output=True,
                               text=True, timeout=120)
    from_pipe = subprocess.run(
        ["bash", "-c", command.format(stream.format(csv=csv, parquet=parquet))],
        capture_output=True, text=True, timeout=120)
    assert from_file.returncode == 0, from_file.stderr
    assert (from_pipe.returncode, from_pipe.stderr) == (0, "")
    assert from_pipe.stdout == from_file.stdout and from_file.stdout.count("\n") == 11


def test_a_fifo_as_data_and_groups_is_read_once(tmp_path):
    """A named FIFO given as the table and one as --groups: each read once (the table's
    second open used to wait for a writer that had gone: a hang)."""
    csv = _toy_head(tmp_path)
    groups = tmp_path / "groups.csv"
    groups.write_text("feature,group\nx1,a\nx2,a\n")
    fifos = {name: tmp_path / f"{name}.fifo.csv" for name in ("data", "groups")}
    writers = []
    for name, source in (("data", csv), ("groups", groups)):
        os.mkfifo(fifos[name])
        writers.append(subprocess.Popen(["bash", "-c", f"cat {source} > {fifos[name]}"]))
    try:
        done = subprocess.run([LASSONET, "select", str(fifos["data"]), "-t", "y", *FAST,
                               "--groups", str(fifos["groups"])],
                              capture_output=True, text=True, timeout=120)
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()
    assert done.returncode == 0, done.stderr
    ranking = pd.read_csv(pd.io.common.StringIO(done.stdout))
    assert len(ranking) == 10 and set(ranking.loc[ranking["group"] == "a", "feature"]) == {
        "x1", "x2"}


def test_the_table_and_the_groups_both_from_stdin_is_refused(tmp_path):
    csv = _toy_head(tmp_path)
    result = invoke("select", "-", "-t", "y", "--groups", "-", *FAST, input=csv.read_text())
    assert_clean_error(result, "the input and the groups file both read stdin ('-')",
                       "give one of them as a file")


@pytest.mark.parametrize("flag, name", [("-o", "results/"), ("--path-out", "path.csv/"),
                                        ("--model-out", "model.safetensors/")])
def test_an_output_named_as_a_missing_directory_is_refused(tmp_path, monkeypatch, flag, name):
    """`-o results/` wrote a file named results."""
    csv = _toy_head(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = invoke("select", csv, "-t", "y", *FAST, flag, name)
    assert_clean_error(result, f"cannot write {name!r}: a name ending in '/' is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.csv"]


def test_a_character_device_needs_a_format_before_it_is_read(tmp_path):
    """/dev/zero never ends: a stream is read whole, so its format must be known first (a
    pipe defaults to CSV; a device does not)."""
    done = subprocess.run([LASSONET, "select", "/dev/zero", "-t", "y"], capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: cannot tell the format of '/dev/zero'")


@pytest.mark.parametrize("args", [["-o", "r.parquet.gz"], ["--path-out", "p.pq.gz"],
                                  ["--format", "parquet", "-o", "r.gz"]])
def test_gzipped_parquet_output_is_refused_before_training(good, tmp_path, no_training, args):
    """``-o r.parquet.gz`` wrote a gzipped Parquet file, which few tools read and ``lassonet``
    itself refuses as input ('a gzipped file, not a Parquet file'); refused before training,
    naming the file as it should be."""
    args = [str(tmp_path / a) if "." in a else a for a in args]
    result = invoke("select", good, "-t", "y", *args)
    name = args[-1][:-3]
    assert_clean_error(result, f"a Parquet file compresses its own columns and is not "
                               f"gzipped: name it '{name}'")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_output_extension_names_the_ones_that_take_gz(good, tmp_path, no_training):
    """The message (and --format's help) said every format may add .gz, Parquet too, which
    is refused (a Parquet file compresses its own columns)."""
    line = assert_clean_error(invoke("select", good, "-t", "y", "-o", tmp_path / "r.xlsx"),
                              "cannot tell the format")
    assert line.endswith("name it .csv, .tsv, .json, .jsonl, .ndjson, .txt (optionally + .gz) "
                         "or .parquet, .pq, or choose the format with --format")
