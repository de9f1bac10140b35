"""Independent runs (``runs.Runner``): here, in local processes, on a Dask cluster; the same
results wherever they run, worker deaths survived, errors carried back."""

from __future__ import annotations

import os
import time

import pytest
from runs_tasks import (
    always_dies,
    bad_input,
    crashes,
    dies_once,
    draw,
    draw_once_a_worker_has,
    draw_where,
    nested,
)

from lassonet_cli.errors import CLI, PYTHON, ConfigError, DataError
from lassonet_cli.runs import ATTEMPTS, RunError, Runner

TASKS = list(range(6))
NAMES = [f"run {i}" for i in TASKS]


@pytest.fixture(scope="module")
def cluster():
    """A Dask LocalCluster of two single-threaded worker processes."""
    import distributed  # the dev extra installs it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local:
        yield local


def one_worker_cluster():
    """A Dask LocalCluster of one worker process, beside the module's ``cluster`` (its HTTP
    server on a free port)."""
    import distributed

    return distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                    dashboard_address=":0")


def expected(seed: int = 0) -> list:
    """The draws as computed directly, each with one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [draw({"seed": seed}, t) for t in TASKS]
    finally:
        torch.set_num_threads(before)


def test_results_are_the_same_here_in_processes_and_on_dask(cluster, tmp_path):
    want = expected()
    assert len({value for value, _ in want}) == len(TASKS)  # the runs do differ
    shared = {"seed": 0}
    here = Runner(jobs=1).map(draw, shared, TASKS, NAMES)
    pool = Runner(jobs=2).map(draw_once_a_worker_has, {"seed": 0, "marker": str(tmp_path / "w")},
                              TASKS, NAMES)
    dask = Runner(scheduler=cluster.scheduler_address).map(draw, shared, TASKS, NAMES)
    assert any(worker for _, _, worker in pool) and not all(worker for _, _, worker in pool)
    pool = [(value, threads) for value, threads, _ in pool]
    assert here == want and pool == want and dask == want  # in task order, one thread each


def test_short_runs_do_not_wait_for_workers_still_starting():
    """Runs went to a worker as soon as the pool was made: where this process was done with
    its share before the worker had started (imported torch, read the data), it waited for
    it, and ``--jobs 2`` was slower than ``--jobs 1``.  A worker gets runs once it has
    started; short runs are all done here, and the worker still starting is ended."""
    import multiprocessing

    before = set(multiprocessing.active_children())  # (the module's Dask cluster, say)
    results = Runner(jobs=2).map(draw_where, {"seed": 0}, TASKS, NAMES)
    assert [(value, threads) for value, threads, _ in results] == expected()
    assert not any(worker for _, _, worker in results)
    assert set(multiprocessing.active_children()) == before


def test_a_pool_started_ahead_takes_the_runs():
    """``Runner.started``: the pool starts while the block does other work (the path the
    folds follow), and its workers take runs at once; a pool the block did not use ends with
    it."""
    import multiprocessing

    from lassonet_cli import runs

    before = set(multiprocessing.active_children())  # (the module's Dask cluster, say)
    shared = {"seed": 0}
    runner = Runner(jobs=2)
    with runner.started(shared, len(TASKS)):
        pool = runs._WARM[id(shared)][2]
        deadline = time.monotonic() + 120
        while not pool.ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        results = runner.map(draw_where, shared, TASKS, NAMES)
    assert [(value, threads) for value, threads, _ in results] == expected()
    assert [worker for _, _, worker in results][:2] == [True, True]
    assert set(multiprocessing.active_children()) == before
    with runner.started(shared, len(TASKS)):
        assert len(set(multiprocessing.active_children()) - before) == 1
    assert set(multiprocessing.active_children()) == before


def test_a_ctrl_c_while_workers_start_does_not_end_them():
    """Ctrl-C reaches the whole process group, workers still starting Python included: one
    that came before ``_start_worker`` ignored it ended the worker (a KeyboardInterrupt
    traceback on stderr under the command's 'error: interrupted'). The workers start with
    Ctrl-C held back, and this process decides."""
    import pickle
    import signal

    from lassonet_cli import runs

    pool = runs._Pool(pickle.dumps({"seed": 0}), 1, 1)
    try:
        (child,) = pool.children
        os.kill(child.pid, signal.SIGINT)  # (it has just been started: still starting)
        assert pool.probes[0].result(timeout=120) == child.pid
    finally:
        pool.close()


def test_a_hang_up_leaves_the_pool_to_this_process():
    """A hang-up (the terminal closed) reaches the whole process group: it ended the workers,
    and multiprocessing's resource tracker, which the clean-up then started again with a
    warning and KeyError tracebacks under 'error: hung up'.  Both start with it held back,
    and this process decides."""
    import subprocess
    import sys

    script = (
        "import os, pickle, signal, time\n"
        "from multiprocessing import resource_tracker\n"
        "from lassonet_cli import runs\n"
        "pool = runs._Pool(pickle.dumps({'seed': 0}), 1, 1)\n"
        "(child,) = pool.children\n"
        "os.kill(child.pid, signal.SIGHUP)  # (it has just been started: still starting)\n"
        "assert pool.probes[0].result(timeout=120) == child.pid\n"
        "os.kill(resource_tracker._resource_tracker._pid, signal.SIGHUP)\n"
        "time.sleep(0.5)\n"
        "pool.close()\n"
        "print('closed')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert (done.returncode, done.stdout, done.stderr) == (0, "closed\n", "")


def test_threads_per_run_are_set_wherever_it_runs(cluster):
    shared = {"seed": 0}
    for runner in (Runner(jobs=1, threads=2), Runner(jobs=2, threads=2),
                   Runner(scheduler=cluster.scheduler_address, threads=2)):
        assert {threads for _, threads in runner.map(draw, shared, TASKS, NAMES)} == {2}


def test_progress_counts_every_run():
    seen = []
    Runner(jobs=2).map(draw, {"seed": 0}, TASKS, NAMES, on_done=lambda d, n: seen.append((d, n)))
    assert seen == [(i, len(TASKS)) for i in range(len(TASKS) + 1)]


def test_a_local_worker_that_dies_has_its_run_started_again(tmp_path):
    marker = tmp_path / "died"
    shared = {"seed": 0, "marker": str(marker)}
    results = Runner(jobs=2).map(dies_once, shared, TASKS, NAMES)
    assert marker.exists()  # the worker did die
    assert results == expected()


def test_a_users_error_from_a_worker_keeps_its_class_and_finding():
    """What a worker sends back rebuilds the error: its class, both spellings and a too-few-
    rows error's finding (the stability command words its own remedy from it)."""
    from lassonet_cli.errors import CLI
    from lassonet_cli.runs import _outcome, _result
    from lassonet_cli.splits import TooFewRows

    def fails(shared, task):
        error = TooFewRows(lambda s: f"few rows: use {s('val_fraction')}")
        error.finding = "few rows"
        raise error

    with pytest.raises(TooFewRows) as raised:
        _result(_outcome(fails, None, 0, 1), "run 0")
    assert raised.value.finding == "few rows"
    assert raised.value.spelled(CLI) == "few rows: use --val-fraction"


def test_a_script_without_a_main_guard_is_not_run_again_in_the_workers(tmp_path):
    """spawn imports the parent's main script in each worker: a script without
    ``if __name__ == "__main__":`` ran again in every one (its side effects repeated), and
    failed there when it started its own pool ('a worker process died 3 times')."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "no_guard.py"
    script.write_text(
        "from runs_tasks import draw\n"
        "from lassonet_cli.runs import Runner\n"
        "print('body', flush=True)\n"
        "results = Runner(jobs=2).map(draw, {'seed': 0}, list(range(6)), "
        "[f'run {i}' for i in range(6)])\n"
        "print(repr(results))\n")
    tests = str(Path(__file__).resolve().parent)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": tests})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines.count("body") == 1, done.stdout
    assert eval(lines[-1]) == expected()


def test_a_dask_worker_that_dies_has_its_run_started_again(cluster, tmp_path):
    marker = tmp_path / "died"
    shared = {"seed": 0, "marker": str(marker)}
    results = Runner(scheduler=cluster.scheduler_address).map(dies_once, shared, TASKS, NAMES)
    assert marker.exists()
    assert results == expected()


def test_runs_whose_data_died_with_every_worker_are_sent_again(tmp_path):
    """On a one-worker cluster the worker's death loses the only copy of the scattered data,
    and the scheduler forgets the runs that needed it: they are sent again with the data (a
    two-worker cluster whose workers both died did this in CI), and the results are
    unchanged."""
    marker = tmp_path / "died"
    shared = {"seed": 0, "marker": str(marker)}
    with one_worker_cluster() as alone:
        results = Runner(scheduler=alone.scheduler_address).map(dies_once, shared, TASKS, NAMES)
    assert marker.exists()
    assert results == expected()


def test_dask_workers_that_keep_dying_fail_with_an_error_naming_the_run():
    """A run that kills every worker that takes it: one RunError naming it (after the
    scheduler's allowed failures, or as here, where each death loses the data, after
    ``ATTEMPTS`` sendings), not distributed's KilledWorker or FutureCancelledError."""
    with one_worker_cluster() as alone:
        with pytest.raises(RunError, match=r"Dask workers.* died .*while running run 0"):
            Runner(scheduler=alone.scheduler_address).map(always_dies, {}, TASKS[:1], NAMES[:1])


@pytest.mark.parametrize("pool", ["multiprocessing", "loky"])
def test_runs_asked_for_in_a_pools_worker_run_there(pool):
    """n_jobs=2 inside a worker of GridSearchCV(n_jobs=2) (joblib's loky) failed as 'a worker
    process died 3 times', after tracebacks 'cannot find context for loky'; inside
    multiprocessing's (daemonic) workers with 'daemonic processes are not allowed to have
    children'.  The runs go one after another in the worker, with the same results."""
    if pool == "loky":
        from joblib import Parallel, delayed

        got = Parallel(n_jobs=2)(delayed(nested)(jobs) for jobs in (2, None))
    else:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(2) as workers:
            got = workers.map(nested, [2, None])
    assert got == [expected(), expected()]


def test_workers_that_keep_dying_fail_with_an_error_naming_the_runs():
    with pytest.raises(RunError) as caught:
        Runner(jobs=2).map(always_dies, {}, list(range(30)), [f"run {i}" for i in range(30)])
    message = str(caught.value)
    assert f"died {ATTEMPTS} times" in message and "run 0" in message


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_users_error_in_a_run_reaches_the_caller_as_itself(jobs):
    with pytest.raises(DataError) as caught:
        Runner(jobs=jobs).map(bad_input, {}, TASKS[:3], NAMES[:3])
    assert str(caught.value) == "run 1 found bad data: see val_fraction"
    assert caught.value.spelled(CLI) == "run 1 found bad data: see --val-fraction"


def test_another_error_in_a_pool_names_the_run():
    with pytest.raises(RuntimeError, match=r"run [01] failed: ZeroDivisionError"):
        Runner(jobs=2).map(crashes, {}, TASKS[:2], NAMES[:2])


@pytest.mark.parametrize("address, why", [
    ("tcp://127.0.0.1:9", "nothing listens there (connection refused)"),
    ("tcp://no-such-host.invalid:8786", "the host name 'no-such-host.invalid' does not resolve"),
    ("tcp://127.0.0.1:99999", "port 99999 is not a port number"),
])
def test_an_unreachable_scheduler_fails_within_seconds_saying_why(address, why):
    """Each of these was 'Timed out trying to connect ... after 5 s'."""
    started = time.monotonic()
    with pytest.raises(RunError, match="cannot reach the Dask scheduler") as caught:
        Runner(scheduler=address).map(draw, {"seed": 0}, TASKS, NAMES)
    assert time.monotonic() - started < 10
    assert why in str(caught.value)


class _Server:
    """A TCP server on a free local port that is not a Dask scheduler: it answers every
    connection with an HTTP error (``http``) or holds it without a word (``silent``)."""

    def __init__(self, mode: str):
        import socket
        import threading

        self.socket = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.socket.getsockname()[1]}"
        self.mode, self.held = mode, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            if self.mode == "http":
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                connection.close()
            else:
                self.held.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


@pytest.mark.parametrize("mode", ["http", "silent"])
def test_a_server_that_is_not_a_scheduler_fails_within_seconds(mode):
    """A dashboard's HTTP port given for the scheduler's: one error, not a client that reads
    the HTTP reply as a message of exabytes or waits for a silent server for minutes."""
    server = _Server(mode)
    try:
        started = time.monotonic()
        with pytest.raises(RunError, match="cannot reach the Dask scheduler") as caught:
            Runner(scheduler=server.address).map(draw, {"seed": 0}, TASKS, NAMES)
        assert time.monotonic() - started < 10
    finally:
        server.close()
    assert ("not a Dask scheduler" if mode == "http" else "no answer within") in str(caught.value)


@pytest.mark.parametrize("address, why", [
    ("junk", "missing port number"),
    ("", "the address is empty"),
    ("http://localhost", "missing port number"),
    ("ucx://127.0.0.1:8786", "ucx:// is not supported"),
])
def test_a_malformed_scheduler_address_fails_at_once(address, why):
    started = time.monotonic()
    with pytest.raises(ConfigError, match=why):
        Runner(scheduler=address).map(draw, {"seed": 0}, TASKS, NAMES)
    assert time.monotonic() - started < 2


def test_checking_a_scheduler_probes_it_and_builds_no_client(monkeypatch):
    """A command checks the scheduler before reading its data; a client (a second connection,
    its own start-up) is built once, when the runs are sent."""
    import distributed

    from lassonet_cli import runs

    probed = []
    monkeypatch.setattr(runs, "_check_scheduler", probed.append)

    def no_client(*args, **kwargs):
        raise AssertionError("a client was built by the check")

    monkeypatch.setattr(distributed, "Client", no_client)
    Runner(scheduler="tcp://127.0.0.1:8786").check()
    assert probed == ["tcp://127.0.0.1:8786"]


def test_bad_runner_settings_are_refused():
    with pytest.raises(ConfigError, match="jobs must be"):
        Runner(jobs=0)
    for jobs in (0, "2", 1.5, True):  # (in Python it is n_jobs)
        with pytest.raises(ConfigError) as e:
            Runner(jobs=jobs)
        assert e.value.spelled(PYTHON).startswith("n_jobs must be an integer of at least 1")
    with pytest.raises(ConfigError, match="threads must be between 1 and 1024"):
        Runner(threads=0)
    with pytest.raises(ConfigError, match="threads must be between 1 and 1024"):
        Runner(threads=1025)
    # --jobs beside --scheduler went unread, without a word
    with pytest.raises(ConfigError) as e:
        Runner(jobs=2, scheduler="tcp://127.0.0.1:8786")
    assert e.value.spelled(CLI).startswith("give --jobs (processes on this machine) or "
                                           "--scheduler (a Dask cluster), not both")
    assert e.value.spelled(PYTHON).startswith("give n_jobs or scheduler, not both")
