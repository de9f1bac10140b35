"""The ``lassonet`` command line: the typer app, its commands, and the one place that turns
errors into messages and exit statuses: 0 success, 2 usage error or bad input, 1 internal
error, 130 interrupted, 143 terminated (129: hung up).

The commands parse their options (declared in ``cli_options``), call the core and write
outputs: ``select`` and ``path`` are in ``commands_train``, ``predict`` and ``inspect`` in
``commands_model``. Heavy libraries (torch, pandas) are imported inside the commands so
``--help`` stays fast.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from typing import Annotated

from .signals import interrupted_while_loading

with interrupted_while_loading():  # (typer alone takes a tenth of a second, more when cold)
    import typer
    from typer.core import TyperCommand, TyperGroup

    from . import __version__
    from .commands_model import INSPECT_HELP, PREDICT_HELP, inspect, predict
    from .commands_stability import STABILITY_HELP, stability
    from .commands_train import PATH_HELP, SELECT_HELP, path_command, select
    from .errors import CLI, LassoNetError
    from .signals import ENDING, Terminated, ending_with_the_process, signals_handled

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 128 + 15  # what a shell reports for a process ended by SIGTERM
EXIT_HUNG_UP = 128 + 1  # by SIGHUP (its terminal closed)


def _print_error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def _usage_message(e: typer.TyperException) -> str:
    """click's message for a bad option value, without the "Value error, " that typer's
    pydantic validation puts before the reason."""
    return e.format_message().replace(": Value error, ", ": ", 1)


def _run(main, args, debug: bool, **kwargs) -> int:
    """Run click's ``main`` and map every outcome to an exit status and at most one line."""
    try:
        result = main(args=args, standalone_mode=False, **kwargs)
        if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into this exit code
            _print_error("interrupted")
            return result
        # text written with print() is still buffered: a full disk shows here, not at exit
        from .io import write_stdout

        write_stdout(b"")
        return result if isinstance(result, int) else EXIT_OK
    except typer.Exit as e:
        return e.exit_code
    except typer.TyperException as e:  # click's usage errors, bad parameters, missing files
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            # a command typed alone asks what it takes: its help, not an error line of it
            sys.stderr.write(ctx.get_help() + "\n")
            return EXIT_USAGE
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _print_error(f"{_usage_message(e)}{hint}")
        return EXIT_USAGE
    except LassoNetError as e:
        if debug:
            traceback.print_exc()
        _print_error(e.spelled(CLI))
        return EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        _print_error("interrupted")
        return EXIT_INTERRUPTED
    except Terminated as e:
        if e.signum == signal.SIGTERM:
            _print_error("terminated")
            return EXIT_TERMINATED
        _print_error("hung up")
        return EXIT_HUNG_UP
    except BrokenPipeError:
        # the reader (e.g. `head`) has gone: end quietly, without a second error at exit
        from .io import detach_stdout

        detach_stdout()
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            # our own writes name their file (``io``); this is click's help or version text
            from .io import write_failure

            _print_error(str(write_failure("stdout", e)))
            return EXIT_USAGE
        if _out_of_memory(e):
            _print_error(f"out of memory: the run needs more than this machine has; "
                         f"{_memory_remedy(args)}")
            return EXIT_USAGE
        _print_error(
            f"internal error: {type(e).__name__}: {e} "
            "(rerun with --debug for the traceback, and please report it)"
        )
        return EXIT_INTERNAL


def _memory_remedy(args: list[str]) -> str:
    """What a command that ran out of memory can change: a prediction only its input."""
    command = next((a for a in args if not a.startswith("-")), None)
    if command == "predict":
        return "predict fewer rows at a time (split the input)"
    return ("use smaller hidden layers (--backbone), minibatches (--batch-size) or fewer rows "
            "or columns")


def _out_of_memory(e: BaseException) -> bool:
    """Whether ``e`` is an allocation that failed (Python's, or torch's on the CPU or a GPU)."""
    return (isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError"
            or (isinstance(e, RuntimeError) and "can't allocate memory" in str(e)))


class _Group(TyperGroup):
    """Typer group whose ``main`` reports errors as one ``error: ...`` line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        # OpenMP threads that spin while they wait turn a CPU shared with other jobs into a
        # crawl (a 1024 x 100 matrix product: 0.24 ms alone, 16 ms beside one busy process);
        # waiting passively costs little alone.  Read when torch loads, so set before that.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if sys.stderr is None:  # started with stderr closed (`2>&-`): notes and errors go nowhere
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
        argv = list(sys.argv[1:] if args is None else args)
        stderr, sys.stderr = sys.stderr, _Stderr(sys.stderr)
        try:
            with signals_handled():
                code = _run(
                    super().main, argv, "--debug" in argv, prog_name=prog_name,
                    complete_var=complete_var, **extra,
                )
        finally:
            sys.stderr = stderr
        sys.exit(code)


class _Stderr:
    """stderr for notes, progress and errors: where it cannot be written (its reader gone, a
    full disk) what follows goes to /dev/null, and the run goes on and writes its outputs,
    rather than ending at its first note with exit 1 and nothing written."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError:
            self._lose()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            self._lose()

    def _lose(self) -> None:
        """Point the stream's file at /dev/null (what it still buffers goes there at exit)."""
        try:
            fileno = self._stream.fileno()
        except (OSError, ValueError):  # not a real file (a test's capture)
            self._stream = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the run
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Command(TyperCommand):
    """Typer command that refuses an option given twice: click keeps the last value, so
    ``-t a -t b`` would select for b alone and ``--features a --features b`` use b's list."""

    def parse_args(self, ctx, args):
        if not ctx.resilient_parsing and not set(ctx.help_option_names) & set(args):
            _refuse_repeated_options(self, ctx, args)
        return super().parse_args(ctx, args)


def _refuse_repeated_options(command: TyperCommand, ctx, args: list[str]) -> None:
    """BadParameter for the first option that takes a value and is given more than once
    (flags may repeat: saying one twice means the same)."""
    _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    seen = set()
    for param in order:
        if param.param_type_name != "option" or param.is_flag or param.multiple:
            continue
        if param.name in seen:
            lists = " (it takes a comma list)" if "comma list" in (param.help or "").lower() else ""
            raise typer.BadParameter(f"given more than once{lists}: give it once", ctx=ctx,
                                     param=param)
        seen.add(param.name)


app = typer.Typer(
    cls=_Group,
    name="lassonet",
    help="Nonlinear feature selection with LassoNet.\n\n"
    "Ranks the columns of a table by how long they stay in a LassoNet model along a path of "
    "increasing sparsity.\n\n"
    "Example: lassonet select data.csv --target y > ranking.csv",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        print(f"lassonet {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Nonlinear feature selection with LassoNet."""


# the commands, in the order --help lists them
app.command(help=SELECT_HELP, no_args_is_help=True, cls=_Command)(select)
app.command("path", help=PATH_HELP, no_args_is_help=True, cls=_Command)(path_command)
app.command(help=STABILITY_HELP, no_args_is_help=True, cls=_Command)(stability)
app.command(help=PREDICT_HELP, no_args_is_help=True, cls=_Command)(predict)
app.command(help=INSPECT_HELP, no_args_is_help=True, cls=_Command)(inspect)


def main() -> None:
    """Console-script entry point."""
    ending_with_the_process()
    try:
        app()
    except SystemExit as e:
        # done, outputs in place: a signal while the interpreter shuts down (torch takes a
        # while) would turn success into 130 or 143; after a failure or a first Ctrl-C, one
        # ends it at once, as a signal does, not with a KeyboardInterrupt traceback from
        # torch's clean-up
        done = e.code in (0, None)
        for signum in (signal.SIGINT, *ENDING):
            signal.signal(signum, signal.SIG_IGN if done else signal.SIG_DFL)
        raise
