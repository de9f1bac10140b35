"""Notes and progress on stderr while a command runs (the ``on_run`` and ``on_refit`` callbacks
of the core)."""

from __future__ import annotations

import sys

from .signals import signals_held


class Reporter:
    """Notes and progress on stderr; silent under --quiet.

    The progress display is a rich bar where stderr is an interactive terminal, else (stderr
    to a file, ``TERM=dumb``, with ``--progress``) plain lines, at most one a second but one
    for every new stage.  Stages: the path on the training rows, each cross-validation fold,
    the rerun to the chosen point, the refits of ``lassonet path``.
    """

    LINE_INTERVAL = 1.0  # seconds between two plain progress lines of one stage

    def __init__(self, quiet: bool, progress: bool | None):
        self.quiet = quiet
        self.show_progress = (not quiet) and (
            progress if progress is not None else sys.stderr.isatty()
        )
        self._bar = None  # (rich Progress, its task) on a terminal
        self._started = None  # time.monotonic() at start; None: no display
        self._stage = None
        self._last_line = 0.0
        self._units = 0
        self._waiting: list[list[str]] = []  # opening's notes, until its first run prints them

    def note(self, message: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"{message}\n")
            sys.stderr.flush()

    def start(self, units: int) -> None:
        """Begin the display; ``units``: the features (or groups) a path run eliminates."""
        if not self.show_progress:
            return
        import time

        from rich.console import Console

        console = Console(stderr=True)
        if console.is_interactive:
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._bar = progress, progress.add_task("", total=units, status="")
            with signals_held():  # hides the cursor; stop() shows it again
                progress.start()
        self._started, self._units = time.monotonic(), units

    def _show(self, stage: str, done: int, total: int, status: str, last: bool = False) -> None:
        """Show a stage's progress; ``last``: its final state, a plain line even within the
        second."""
        import time

        now = time.monotonic()
        new_stage, self._stage = stage != self._stage, stage
        if self._bar is not None:
            progress, task = self._bar
            if new_stage:  # a new bar, with its own time estimate
                progress.reset(task, total=total, completed=done, description=stage,
                               status=status)
            else:
                progress.update(task, total=total, completed=done, status=status)
        elif new_stage or last or now - self._last_line >= self.LINE_INTERVAL:
            self._last_line = now
            sys.stderr.write(f"{stage}: {status} [{now - self._started:.0f} s]\n")
            sys.stderr.flush()

    def opening(self, notes: list[str], units: int):
        """``on_run`` for a command's training: the first run prints ``notes`` and starts the
        display over ``units`` units, so that a table whose rows cannot be split as asked (a
        check made before training starts) gets its error line alone, without the notes."""
        waiting = [list(notes)]
        self._waiting = waiting

        def on_run(stage: str):
            if waiting:
                for message in waiting.pop():
                    self.note(message)
                self.start(units)
            return self.run(stage)

        return on_run

    def note_in_turn(self, message: str) -> None:
        """A note that comes after ``opening``'s notes: with them where the first run has not
        started (``path``'s columns left out for its test rows came before 'task: ...'), else
        now."""
        if self._waiting:
            self._waiting[0].append(message)
        else:
            self.note(message)

    def run(self, stage: str):
        """``on_run`` of ``LassoNetSelector.fit``: the display of one path run's points."""
        if self._started is None:
            return None
        units, count = self._units, [0]
        self._show(stage, 0, units, "dense model")

        def on_point(point) -> None:
            self._show(stage, units - point.k, units,
                       f"point {count[0]}  lambda {point.lambda_:.3g}  k {point.k}  "
                       f"val {point.val_score:.3f}")
            count[0] += 1

        return on_point

    def runs(self, stage: str, notes: list[str] = ()):
        """``on_done(done, total)`` of a batch of independent runs (``runs.Runner``): the
        first call prints ``notes`` and starts the display, a count of the runs done."""
        waiting = [list(notes)]

        def on_done(done: int, total: int) -> None:
            if waiting:
                for message in waiting.pop():
                    self.note(message)
                if self._started is None:
                    self.start(total)
            if self._started is not None:
                self._show(stage, done, total, f"{done} of {total} done", last=done == total)

        return on_done

    def refit(self, done: int, total: int) -> None:
        """``on_refit`` of ``evaluate.accuracy_vs_k``."""
        if self._started is not None:
            self._show("refits", done, total, f"{done} of {total} models", last=done == total)

    def stop(self) -> None:
        if self._bar is not None:
            with signals_held():
                self._bar[0].stop()
        self._bar = self._started = self._stage = None
