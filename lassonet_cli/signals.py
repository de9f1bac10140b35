"""Ctrl-C, SIGTERM and SIGHUP while a command runs: all end it through the same clean-ups.

Ctrl-C raises ``KeyboardInterrupt`` and SIGTERM or SIGHUP ``Terminated`` in the main thread,
so the progress display gives the cursor back, temporary files go and workers end; ``cli``
turns them into exit statuses 130, 143 and 129.
"""

from __future__ import annotations

import contextlib
import signal
import sys


class Terminated(BaseException):
    """SIGTERM (or SIGHUP: the terminal closed), raised in the main thread like Ctrl-C's
    KeyboardInterrupt, so that the same clean-ups run: the progress display gives the cursor
    back, temporary files go, workers end.  ``signum``: the signal."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signum)
        self.signum = signum


# the signals that end a run as Terminated (SIGHUP where the system has it)
ENDING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


# see signals_held, committing and ending_with_the_process
_HOLD = {"depth": 0, "pending": None, "committed": False, "ending": False}


def _on_signal(signum, frame) -> None:
    """Ctrl-C raises KeyboardInterrupt and SIGTERM Terminated, unless held back (or the
    outputs are written)."""
    if _HOLD["committed"]:
        return
    if _HOLD["depth"]:
        _HOLD["pending"] = _HOLD["pending"] or signum
        return
    if signum in ENDING:
        signal.signal(signum, signal.SIG_DFL)  # a second one ends it at once
        raise Terminated(signum)
    raise KeyboardInterrupt


@contextlib.contextmanager
def signals_held():
    """Hold Ctrl-C and SIGTERM back until the block is done (rich's display, interrupted while
    it starts or stops, can neither be stopped nor give the cursor back), then act on them."""
    _HOLD["depth"] += 1
    try:
        yield
    finally:
        _HOLD["depth"] -= 1
    pending, _HOLD["pending"] = _HOLD["pending"], None
    if pending is not None and not _HOLD["depth"]:
        _on_signal(pending, None)


@contextlib.contextmanager
def committing():
    """Hold Ctrl-C and SIGTERM while a command writes its outputs, and once they are all
    written ignore them (one held back included) for the rest of the run: it ends with exit 0
    and every output in place, never with 130 and some of them."""
    _HOLD["depth"] += 1
    try:
        yield
    finally:
        _HOLD["depth"] -= 1
    _HOLD["pending"], _HOLD["committed"] = None, True


@contextlib.contextmanager
def interruptible():
    """Within the block, Ctrl-C and SIGTERM that come act at once even where they are held
    back: for a wait before anything is written, such as opening a FIFO, which waits for a
    reader.  Held back there, they left a run whose FIFO had no reader waiting for ever, to be
    ended only by SIGKILL.  One already held back stays held (a FIFO whose reader is there
    opens at once, and the outputs all land)."""
    depth, _HOLD["depth"] = _HOLD["depth"], 0
    try:
        yield
    finally:
        _HOLD["depth"] = depth


def ending_with_the_process() -> None:
    """For the console script, whose process ends with the command: once the outputs are
    written (``committing``), ``signals_handled`` leaves Ctrl-C and SIGTERM ignored rather
    than putting the old handlers back, so that none can turn the finished run into 130.
    Until ``signals_handled`` takes over, Ctrl-C ends the process as
    ``interrupted_while_loading`` says."""
    _HOLD["ending"] = True
    _set_sigint(_interrupted_while_loading)


def _interrupted_while_loading(signum, frame) -> None:
    """Ctrl-C before a command runs: exit 130 with the line an interrupted run gives."""
    try:
        if sys.stderr is not None:
            sys.stderr.write("error: interrupted\n")
            sys.stderr.flush()
    except OSError:
        pass
    raise SystemExit(130)


def _set_sigint(handler):
    """Put ``handler`` in place of Python's own Ctrl-C handler (not where the shell ignores
    Ctrl-C, nor outside the main thread); returns the handler it replaced, or None."""
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals are not ours to handle
        pass
    return None


@contextlib.contextmanager
def interrupted_while_loading():
    """While the block runs (the command line's modules loading: typer alone takes a tenth of
    a second, more on a cold start), Ctrl-C ends the process with exit 130 and the line an
    interrupted run gives, not a KeyboardInterrupt traceback.  (The interpreter's own start,
    before, is not ours.)"""
    previous = _set_sigint(_interrupted_while_loading)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def signals_handled():
    """Within the block, ``_on_signal`` handles Ctrl-C and SIGTERM (in the main thread; Ctrl-C
    only where Python's own handler is, not where the shell ignores it); after it, the
    handlers that were there are put back and a signal still held back is forgotten."""
    previous = {}
    for signum, usual in ((signal.SIGINT, (signal.default_int_handler,
                                           _interrupted_while_loading)),
                          *((ending, (signal.SIG_DFL,)) for ending in ENDING)):
        try:
            if signal.getsignal(signum) in usual:
                previous[signum] = signal.signal(signum, _on_signal)
        except ValueError:  # not the main thread: signals are not ours to handle
            break
    _HOLD["committed"] = False
    try:
        yield
    finally:
        done = _HOLD["committed"] and _HOLD["ending"]
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if done else handler)
        _HOLD["pending"], _HOLD["committed"] = None, False
