"""Independent runs (cross-validation folds, stability subsamples): here, in a pool of local
processes, or on a Dask distributed cluster, with the same results whichever runs them.

A batch of runs is a module-level function ``fn(shared, task)``, the data every run reads
(``shared``, sent once to each worker process, not once per run) and one small task per run.
Every run has torch's seed set by its own code and the same number of torch threads wherever
it runs (``threads``), so a result does not depend on which process computed it: ``--jobs 1``,
``--jobs 4`` and a cluster give byte-identical outputs.

- ``jobs=1``: the runs one after another in this process.
- ``jobs=N``: this process and a pool of N - 1 others (started with ``spawn``: torch's thread
  pools are not safe to fork; without the caller's main script, ``_no_main_script``); this one
  takes runs from the end of the list while the others start up and work from its
  beginning, and a worker gets runs only once it has started, so that short runs are not
  left waiting for it.  ``Runner.started`` starts the pool ahead, while the caller does
  the work the runs wait for (the path the folds follow).  A worker that dies (killed, out
  of memory) has its runs started again in a new pool; after ``ATTEMPTS`` deaths the batch
  fails with an error naming the runs.
- In a process that is itself a pool's worker (joblib, multiprocessing, Dask), which cannot
  start a pool of its own, the runs go one after another there, whatever ``jobs`` says.
- ``jobs=None`` (auto): the first run here; if the others would take long enough at its pace
  to be worth starting processes for (``AUTO_POOL_SECONDS``), they run in a pool of as many
  processes as there are cores, else here too.
- ``scheduler='tcp://host:port'``: the runs as tasks of an existing Dask distributed cluster
  (the ``dask`` extra), which re-runs the task of a worker that dies and retries a task that
  fails once.

Errors a user can fix (``LassoNetError``) raised in a run reach the caller as the same error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Sequence

from .defaults import MAX_THREADS
from .errors import ConfigError, LassoNetError, warn

ATTEMPTS = 3  # a local worker may die this many times on a batch before it fails
# auto: a pool is worth starting (a few seconds) when the runs left would take this long here
AUTO_POOL_SECONDS = 10.0
CONNECT_TIMEOUT = 5.0  # seconds to reach a Dask scheduler
PARENT_CHECK_SECONDS = 1.0  # how often a local worker checks that its parent is alive


class RunError(LassoNetError):
    """A run could not be completed: workers died, or the cluster could not be reached."""


def check_threads(threads: int) -> None:
    """ConfigError unless 1 <= ``threads`` <= ``MAX_THREADS`` (torch starts every thread)."""
    if not 1 <= threads <= MAX_THREADS:
        raise ConfigError(lambda s: f"{s('threads')} must be between 1 and {MAX_THREADS}, "
                                    f"got {threads}")


@dataclasses.dataclass(frozen=True)
class Runner:
    """Where a batch of runs goes: ``jobs`` local processes (None: auto, see the module) or a
    Dask scheduler's address; ``threads``: torch threads of each run."""

    jobs: int | None = None
    scheduler: str | None = None
    threads: int = 1

    def __post_init__(self):
        if self.jobs is not None and not (isinstance(self.jobs, int) and not isinstance(
                self.jobs, bool) and self.jobs >= 1):
            raise ConfigError(lambda s: (f"--jobs must be at least 1, got {self.jobs}" if s.cli
                                         else "n_jobs must be an integer of at least 1 (or "
                                         f"None: as the cores allow), got {self.jobs!r}"))
        if self.scheduler is not None and self.jobs is not None:  # (jobs went unread)
            raise ConfigError(lambda s: (
                "give --jobs (processes on this machine) or --scheduler (a Dask cluster), not "
                "both: the cluster's workers run the runs" if s.cli else "give n_jobs or "
                "scheduler, not both: with a scheduler the cluster's workers run the runs"))
        if self.scheduler is not None:  # its form; it is asked only when runs are sent
            if not isinstance(self.scheduler, str):
                raise ConfigError(lambda s: f"{s('scheduler')} must be the address of a Dask "
                                            "scheduler (tcp://host:port) or None, got "
                                            f"{self.scheduler!r}")
            _client_class()
            _scheduler_location(self.scheduler)
        check_threads(self.threads)

    def check(self) -> None:
        """Fail now (RunError) if the scheduler, where there is one, cannot be reached: before
        a command reads its data or trains, not after."""
        if self.scheduler is not None:  # the probe alone: a client is built once, by map
            _client_class()
            _check_scheduler(self.scheduler)

    @contextlib.contextmanager
    def started(self, shared, runs: int):
        """While the block runs, the local pool that ``map(fn, shared, ...)`` will send
        ``runs`` runs to starts up (where it would use one: ``jobs`` of 2 or more, no
        scheduler), so that its workers have started by the time the runs come (a
        cross-validation's folds, after the path on every training row).  A pool the block
        did not use is ended with it."""
        if (self.scheduler is not None or self.jobs is None or self.jobs <= 1 or runs <= 1
                or _in_a_worker_process()):
            yield self
            return
        payload = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
        _close_warm(shared)
        _WARM[id(shared)] = (shared, self.threads,
                             _Pool(payload, max(1, min(self.jobs - 1, runs - 1)), self.threads))
        try:
            yield self
        finally:
            _close_warm(shared)

    def map(self, fn: Callable, shared, tasks: Sequence, names: Sequence[str],
            on_done: Callable[[int, int], None] | None = None) -> list:
        """``[fn(shared, task) for task in tasks]``, the runs wherever this runner sends
        them; ``names`` name the runs in errors ('subsample 3'); ``on_done(done, total)``
        after each run (and once with 0 before the first)."""
        total = len(tasks)
        if total == 0:
            return []
        if self.scheduler is not None:  # the count starts once the scheduler answers
            return _on_dask(self.scheduler, fn, shared, tasks, names, self.threads,
                            lambda: _Progress(total, on_done))
        progress = _Progress(total, on_done)
        jobs = self.jobs
        if jobs != 1 and _in_a_worker_process():
            if jobs is not None:
                warn(f"n_jobs={jobs}: the runs go one after another in this process, itself a "
                     "worker of a pool (joblib, multiprocessing, Dask), which cannot start one "
                     "of its own")
            jobs = 1
        results = []
        if jobs is None:  # auto: time the first run here
            started = time.perf_counter()
            results.append(_here(fn, shared, tasks[0], self.threads))
            progress.one()
            took = time.perf_counter() - started
            cores = os.cpu_count() or 1
            worth = took * (total - 1) >= AUTO_POOL_SECONDS and cores > 1
            jobs = min(cores, total - 1) if worth else 1
        rest = range(len(results), total)
        if jobs <= 1 or len(rest) <= 1:
            for i in rest:
                results.append(_here(fn, shared, tasks[i], self.threads))
                progress.one()
            return results
        return results + _in_pool(fn, shared, [tasks[i] for i in rest],
                                  [names[i] for i in rest], jobs, self.threads, progress)


def _in_a_worker_process() -> bool:
    """Whether this process is a worker of a pool (joblib's loky, multiprocessing's, a Dask
    worker: started by multiprocessing, or daemonic): a pool started here fails there (a
    daemon may have no children, and a loky worker's children look for loky's start method).
    """
    import multiprocessing

    return (multiprocessing.current_process().daemon
            or multiprocessing.parent_process() is not None)


class _Progress:
    def __init__(self, total: int, on_done):
        self.total, self.done, self.on_done = total, 0, on_done
        if on_done is not None:
            on_done(0, total)

    def one(self) -> None:
        self.done += 1
        if self.on_done is not None:
            self.on_done(self.done, self.total)


# --- in this process ----------------------------------------------------------------------------

# one run at a time per process (torch's seed and threads are global); a run may start runs
# of its own here (the folds of one M of a grid), one after another in the same thread
_LOCK = threading.RLock()


def _here(fn, shared, task, threads: int):
    import torch

    with _LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return fn(shared, task)
        finally:
            torch.set_num_threads(before)


# --- outcomes that cross process boundaries ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Failed:
    """A run's error, picklable: a user's error keeps its class and both spellings."""

    kind: type | None  # a LassoNetError subclass, or None for any other error
    python: str
    cli: str
    finding: str | None = None  # splits.TooFewRows's, where it has one


def _outcome(fn, shared, task, threads: int, other_errors: bool = True):
    """What a worker sends back: the result, or the run's error as ``_Failed`` (only a
    user's error unless ``other_errors``: Dask retries a task whose error it sees)."""
    from .errors import CLI, PYTHON

    try:
        return _here(fn, shared, task, threads)
    except LassoNetError as e:
        return _Failed(type(e), e.spelled(PYTHON), e.spelled(CLI), getattr(e, "finding", None))
    except Exception as e:  # noqa: BLE001 - reported in the caller's process
        if not other_errors:
            raise
        import traceback

        text = "".join(traceback.format_exception_only(type(e), e)).strip()
        return _Failed(None, text, text)


def _result(outcome, name: str):
    """The result of an outcome; a failure raised again here."""
    if not isinstance(outcome, _Failed):
        return outcome
    if outcome.kind is not None:
        messages = {False: outcome.python, True: outcome.cli}
        error = outcome.kind(lambda s: messages[s.cli])
        if outcome.finding is not None:
            error.finding = outcome.finding
        raise error
    raise RuntimeError(f"{name} failed: {outcome.python}")


# --- a pool of local processes ------------------------------------------------------------------

_WORKER: dict = {}


def _start_worker(payload: bytes, threads: int) -> None:
    # Ctrl-C and a hang-up reach the whole process group: the parent decides, and ends the
    # workers
    for signum in _HELD_WHILE_STARTING:
        signal.signal(signum, signal.SIG_IGN)
    threading.Thread(target=_end_with_parent, args=(os.getppid(),), daemon=True).start()
    import torch  # noqa: F401  (every run needs it: a started worker has imported it)

    _WORKER["shared"], _WORKER["threads"] = pickle.loads(payload), threads


def _end_with_parent(parent: int) -> None:
    """End this worker once its parent has gone (killed, or hung up on, before it could end
    its workers): an orphan would wait for work forever, holding its memory."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _in_worker(fn, task) -> tuple[int, object]:
    """(this worker's pid, the run's outcome)."""
    return os.getpid(), _outcome(fn, _WORKER["shared"], task, _WORKER["threads"])


@contextlib.contextmanager
def _no_main_script():
    """While pool processes start: ``__main__`` is a module of no file, so that ``spawn``
    does not import the caller's script in each of them.

    ``spawn`` runs the parent's main script again in every child (as ``__mp_main__``), for
    functions defined there; the runs here are this package's functions and need none of it.
    A user's script without an ``if __name__ == "__main__":`` guard ran again in each
    worker, repeating its side effects, and failed there when it started a pool of its own
    (the batch then failed as workers that died).  Process starts happen in ``submit``
    (ProcessPoolExecutor starts spawn children as work arrives), inside this block."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is None:
            del sys.modules["__main__"]
        else:
            sys.modules["__main__"] = main


# the signals a process started by a pool starts with blocked (``_group_signals_held``)
_HELD_WHILE_STARTING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGHUP")
                             if hasattr(signal, name))


@contextlib.contextmanager
def _group_signals_held():
    """While pool processes start: Ctrl-C and SIGHUP blocked in this thread, so that they
    start with them blocked (a process inherits the signal mask of the thread that starts
    it): the workers until ``_start_worker`` ignores them, multiprocessing's resource
    tracker for good (it unblocks only SIGINT and SIGTERM, which it ignores).  Both reach
    the whole process group: a Ctrl-C that came while a worker was still starting Python
    ended that worker with a KeyboardInterrupt traceback on stderr, and a hang-up (the
    terminal closed) ended the tracker, which this process's clean-up started again with a
    warning and five KeyError tracebacks under 'error: hung up'.  This process gets a signal
    held back here when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # (Windows: no process groups to signal)
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set(_HELD_WHILE_STARTING))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _ready() -> int:
    """A probe: the pid of a worker that has started (``_Pool``)."""
    return os.getpid()


class _Pool:
    """``workers`` spawned processes, each holding the shared data (``payload``): a
    ProcessPoolExecutor, the processes it started, one probe task per process, and the pids
    of the workers known to have started (imported torch, read the data): those that ran a
    probe or a run.  Runs are sent two per started worker: a run sent to a worker still
    starting up waited for it, while this process, done with its own share, sat idle
    (``--jobs 2`` was slower than ``--jobs 1`` where the runs are short).  The first worker
    up may take every probe; the others become known by the runs they take."""

    def __init__(self, payload: bytes, workers: int, threads: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        before = set(multiprocessing.active_children())
        # the processes start here: multiprocessing's resource tracker as the executor is
        # made (where none runs yet; starting it unblocks Ctrl-C), the workers one per probe
        with _group_signals_held():
            self.executor = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(payload, threads))
        with _no_main_script(), _group_signals_held():
            self.probes = [self.executor.submit(_ready) for _ in range(workers)]
        self.children = set(multiprocessing.active_children()) - before
        self.started: set[int] = set()  # pids; added to by _in_pool as runs come back

    def ready(self) -> int:
        """How many workers are known to have started."""
        self.started.update(p.result() for p in self.probes
                            if p.done() and not p.cancelled() and p.exception() is None)
        return len(self.started)

    def close(self) -> None:
        """End the pool's processes now, whatever they are doing (idle, still starting up,
        or running after an error or Ctrl-C: every result wanted is in), and shut it down."""
        for child in self.children:
            if child.is_alive():
                child.terminate()
        self.executor.shutdown(wait=True, cancel_futures=True)


_WARM: dict[int, tuple[object, int, _Pool]] = {}  # id(shared) -> (shared, threads, a pool)


def _close_warm(shared) -> None:
    """End the pool ``Runner.started`` started for ``shared``, if no ``map`` took it."""
    left = _WARM.pop(id(shared), None)
    if left is not None:
        left[2].close()


def _in_pool(fn, shared, tasks, names, jobs: int, threads: int, progress: _Progress) -> list:
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    payload = None
    results: dict[int, object] = {}
    deaths = 0
    while len(results) < len(tasks):
        # the runs left, in order: the workers take them from the front; this process, one of
        # the jobs, from the back, while the workers start up and afterwards
        queue = deque(i for i in range(len(tasks)) if i not in results)
        workers = max(1, min(jobs - 1, len(queue) - 1))
        warm = _WARM.pop(id(shared), None)
        if warm is not None and warm[0] is shared and warm[1] == threads and deaths == 0:
            pool = warm[2]
        else:
            if warm is not None:
                warm[2].close()
            if payload is None:
                payload = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
            pool = _Pool(payload, workers, threads)
        running: dict = {}  # future -> run; two per worker, so that none waits for the next
        lock = threading.Lock()
        broken = False

        def feed(pool=pool, queue=queue, running=running, lock=lock) -> None:
            """Send runs to the workers that have started, up to two per worker."""
            with lock:
                while queue and len(running) < 2 * pool.ready():
                    try:
                        future = pool.executor.submit(_in_worker, fn, tasks[queue[0]])
                    except (BrokenProcessPool, RuntimeError):  # a worker died; shut down
                        return
                    running[future] = queue.popleft()
                    future.add_done_callback(refill)

        def refill(_, feed=feed) -> None:
            """A worker's run is done: send it more, even while this process is busy with a
            run of its own (from a thread: a future's callback must not submit)."""
            threading.Thread(target=feed, daemon=True).start()

        # the first runs go out as soon as a worker has started, even while this process is
        # busy with a run of its own
        for probe in pool.probes:
            probe.add_done_callback(refill)
        try:
            while True:
                feed()
                with lock:
                    done = {future for future in running if future.done()}
                    mine = queue.pop() if not done and queue and not broken else None
                    pending = set(running)
                if mine is not None:
                    results[mine] = _result(_outcome(fn, shared, tasks[mine], threads),
                                            names[mine])
                    progress.one()
                    continue
                if not pending:  # every run done, or (broken) the rest left for a new pool
                    break
                if not done:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    with lock:
                        i = running.pop(future)
                    try:
                        pid, outcome = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    pool.started.add(pid)
                    results[i] = _result(outcome, names[i])
                    progress.one()
                if broken and not running:
                    break
        except BaseException:  # Ctrl-C, SIGTERM, a run's error: end the workers now
            with lock:
                queue.clear()
            pool.close()
            raise
        with lock:
            queue.clear()  # (a probe's late callback sends nothing more)
        pool.close()  # (idle, or still starting: ending them costs no result)
        if broken:
            deaths += 1
            if deaths >= ATTEMPTS:
                lost = [names[i] for i in range(len(tasks)) if i not in results]
                what = (f"a worker process died {deaths} times (killed, or out of memory?) "
                        f"while running {', '.join(lost[:3])}"
                        f"{' ...' if len(lost) > 3 else ''}: try fewer ")
                raise RunError(lambda s, what=what: what + ("--jobs" if s.cli else "n_jobs"))
    return [results[i] for i in range(len(tasks))]


# --- a Dask distributed cluster -----------------------------------------------------------------


def _connect(address: str):
    """A distributed ``Client`` of the scheduler at ``address``; RunError within
    ``CONNECT_TIMEOUT`` seconds where there is none."""
    Client = _client_class()
    _check_scheduler(address)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _unreachable(address, why) from None


def _scheduler_location(address: str) -> tuple[str, int]:
    """(host, port) of a scheduler's address, tcp://host:port or host:port; ConfigError for
    any other form.  Asks nothing of the network."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    def malformed(why: str) -> ConfigError:
        return ConfigError(lambda s: f"{s('scheduler')} {address!r} is no Dask scheduler's "
                                     f"address: {why} (give tcp://host:port)")

    if not address.strip():
        raise malformed("the address is empty")
    try:
        scheme, location = parse_address(address)
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as e:
        raise malformed(str(e)) from None
    if scheme != "tcp":
        raise malformed(f"{scheme}:// is not supported")
    return host, port


def _unreachable(address: str, why: str) -> RunError:
    return RunError(lambda s: f"cannot reach the Dask scheduler {address!r} given by "
                              f"{s('scheduler')}: {why}")


def _client_class():
    """distributed's ``Client`` (ConfigError naming the extra where Dask is not installed),
    with distributed's logging quietened: an unreachable scheduler is one line of ours, not
    its retry warnings."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(lambda s: f"{s('scheduler')} needs Dask distributed: "
                                    "pip install 'lassonet-cli[dask]'") from None
    import logging

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    return Client


def _check_scheduler(address: str) -> None:
    """RunError unless ``address`` is tcp://host:port (or host:port) and a Dask scheduler
    answers there within ``CONNECT_TIMEOUT`` seconds, its reply included (a server that takes
    the connection and stays silent was waited for two seconds more).

    Asked before a ``Client`` is built: a client given a malformed address, or one of a server
    that speaks another protocol (a dashboard's HTTP port, say), fails with a traceback from its
    own clean-up, reads an HTTP reply as a message of exabytes, or waits for a silent server
    for minutes.  The probe runs in a thread of its own, so it works under a running event loop
    (a notebook) too.
    """
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    host, port = _scheduler_location(address)
    _check_listening(address, host, port)

    async def identity():
        comm = await connect(address, timeout=CONNECT_TIMEOUT)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def ask():
        import asyncio

        return asyncio.run(asyncio.wait_for(identity(), CONNECT_TIMEOUT))

    with ThreadPoolExecutor(1) as pool:
        try:
            reply = pool.submit(ask).result()
        except (OSError, TimeoutError) as e:
            why = str(e).splitlines()[0] if str(e) else f"no answer within {CONNECT_TIMEOUT:g} s"
            raise _unreachable(address, why) from None
        except Exception:  # noqa: BLE001  (anything a foreign protocol makes of our message)
            reply = None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise _unreachable(address, "what answers there is not a Dask scheduler (the "
                           "scheduler's port is 8786 unless it was started with another)")


def _check_listening(address: str, host: str, port: int) -> None:
    """RunError naming why nothing can be reached at ``host``:``port``: a port out of range,
    a host name that does not resolve, nothing listening (refused), no answer; distributed's
    own connect says 'timed out' after its timeout for each of these."""
    import socket

    if not 0 < port < 65536:
        raise _unreachable(address, f"port {port} is not a port number (1 to 65535)")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _unreachable(address, f"the host name {host!r} does not resolve") from None
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except ConnectionRefusedError:
        raise _unreachable(address, "nothing listens there (connection refused): is the "
                                    "scheduler running?") from None
    except TimeoutError:
        raise _unreachable(address, f"no answer within {CONNECT_TIMEOUT:g} s") from None
    except OSError as e:
        raise _unreachable(address, e.strerror or str(e)) from None


def _on_dask(address: str, fn, shared, tasks, names, threads: int, progress) -> list:
    """The runs as tasks of the cluster at ``address``, the shared data scattered to every
    worker.  Dask re-runs a task whose worker dies while another holds the data; where every
    worker holding it died (they share a machine that ran out of memory, say), the scheduler
    forgets the tasks that needed it: the data are scattered again and those runs sent again,
    up to ``ATTEMPTS`` times."""
    from distributed import KilledWorker, as_completed
    from distributed.client import FutureCancelledError

    client = _connect(address)
    progress = progress()
    results: dict[int, object] = {}
    futures = []
    try:
        for _ in range(ATTEMPTS):
            todo = [i for i in range(len(tasks)) if i not in results]
            [data] = client.scatter([shared], broadcast=True, hash=False)
            futures = client.map(_on_dask_worker, [tasks[i] for i in todo], fn=fn, shared=data,
                                 threads=threads, retries=1, pure=False)
            index = {future.key: i for future, i in zip(futures, todo, strict=True)}
            for future in as_completed(futures, loop=client.loop):
                i = index[future.key]
                try:
                    outcome = future.result()
                except FutureCancelledError:  # its data were lost with their workers
                    continue
                except KilledWorker:  # the scheduler's allowed-failures workers died on it
                    raise RunError(f"Dask workers died while running {names[i]} (killed, or "
                                   "out of memory?), as many times as the scheduler allows: "
                                   "give the workers more memory") from None
                results[i] = _result(outcome, names[i])
                progress.one()
            client.cancel(futures + [data])
            if len(results) == len(tasks):
                return [results[i] for i in range(len(tasks))]
        lost = [names[i] for i in range(len(tasks)) if i not in results]
        raise RunError(f"the Dask workers holding the data died {ATTEMPTS} times while running "
                       f"{', '.join(lost[:3])}{' ...' if len(lost) > 3 else ''}: give the "
                       "workers more memory, or use fewer per machine")
    finally:
        if futures:
            client.cancel(futures)
        client.close()


def _on_dask_worker(task, fn, shared, threads: int):
    with _tensors_on_the_heap():
        return _outcome(fn, shared, task, threads, other_errors=False)


# glibc's mallopt parameter, and its value for M_MMAP_THRESHOLD when set by an environment
_M_MMAP_THRESHOLD, _GLIBC_MMAP_DEFAULT = -3, 128 * 1024
_RUN_MMAP_THRESHOLD = 64 * 2**20


class _tensors_on_the_heap:
    """A Dask nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_`` set (distributed's
    ``nanny.pre-spawn-environ``), which fixes glibc's mmap threshold at 128 KiB: every tensor
    above it is then a fresh mmap, zeroed page by page, and a path runs 1.6x slower
    (benchmarks/stability.py).  During a run the threshold is raised so that such tensors reuse
    the heap, and set back afterwards; nothing happens where the C library is not glibc."""

    def __enter__(self):
        import ctypes

        try:
            self.mallopt = ctypes.CDLL("libc.so.6").mallopt
        except (OSError, AttributeError):
            self.mallopt = None
        if self.mallopt is not None:
            self.mallopt(_M_MMAP_THRESHOLD, _RUN_MMAP_THRESHOLD)

    def __exit__(self, *exc):
        if self.mallopt is not None:
            self.mallopt(_M_MMAP_THRESHOLD, _GLIBC_MMAP_DEFAULT)
