#!/usr/bin/env python3
"""Generate the ``lassonet`` man pages from the typer app.

Run from the project root (``make man`` does this)::

    python man/generate.py           # (re)write man/lassonet.1 and man/lassonet-<command>.1
    python man/generate.py --check   # exit 1, naming the pages that differ, when any is stale

Everything a page says about options and arguments comes from the app itself (typer's click
group: each command's ``.help`` and ``.params``). What the app cannot say (examples, exit
statuses, files) is hand-written in ``EXTRA`` below, per command; a command without an entry
gets generic text (and the ``Example:`` paragraph of its help, if it has one), so a new command
never breaks generation. The output is deterministic: no date, the version from
``lassonet_cli.__version__``, commands in the order the app lists them.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

MAN_DIR = Path(__file__).resolve().parent
ROOT = MAN_DIR.parent
PROG = "lassonet"
SECTION = "1"
MANUAL = "User Commands"

# --------------------------------------------------------------------------------------------
# Hand-written text. Keys are command paths below the program ("select", or "a b" for a nested
# command); "" is the overview page lassonet(1). Each entry may have:
#   description: extra DESCRIPTION paragraphs, after the help text
#   examples:    (what it does, command line(s)) pairs; command lines may span several lines
#   exit_status: {status: text} overriding the generic text of that status
#   files:       (name, text) pairs, rendered as a tagged list
#   environment: (variable, text) pairs
# Text may mention options as --name and code as `code`; both are set in bold.
# --------------------------------------------------------------------------------------------

_NO_HALF_FILES = (
    "Every output file is written to a temporary file beside its destination and renamed into "
    "place only when complete: after an error, Ctrl-C or SIGTERM no output file is left behind "
    "or clobbered. A symbolic link is followed (its target is replaced, the link stays); a "
    "FIFO or a character device (`/dev/null`, `/dev/stdout`) is written straight through once "
    "the output is complete, never replaced. Output paths are checked before any training."
)
_INPUT_TABLE = (
    "The input table: CSV, TSV (`.tsv`), gzip-compressed CSV (`.csv.gz`) or Parquet "
    "(`.parquet`), guessed from the file name unless --input-format is given; `-` reads "
    "standard input (CSV, gzipped CSV or Parquet, recognised by its first bytes)."
)
_NO_COLOR = (
    "NO_COLOR",
    "When set to a non-empty value, the progress display and messages on standard error use "
    "no colour.",
)

EXTRA: dict[str, dict[str, Any]] = {
    "": {
        "description": [
            "Only data is written to standard output; progress, notes and errors go to standard "
            "error, so outputs can be piped and redirected. The same data, options and --seed "
            "give byte-identical outputs on the same machine and thread count.",
            "Each command has its own manual page, and its own --help.",
        ],
        "examples": [
            (
                "Rank the columns of data.csv by their importance for predicting y:",
                "lassonet select data.csv --target y > ranking.csv",
            ),
            (
                "Also save the chosen model, look at it, and predict new rows with it, keeping "
                "their id column:",
                "lassonet select data.csv --target y --model-out model.safetensors > ranking.csv\n"
                "lassonet inspect model.safetensors\n"
                "lassonet predict model.safetensors new.csv --keep id > predictions.csv",
            ),
            ("Show every option of a command:", "lassonet select --help"),
            ("Install shell completion for the current shell:", "lassonet --install-completion"),
        ],
        "files": [
            ("*.csv, *.tsv, *.csv.gz, *.parquet", "Input tables; `-` reads CSV from standard "
             "input. Outputs are CSV, TSV, JSON, JSON lines, Parquet or an aligned text table."),
            ("*.safetensors", "Model files written by `lassonet select` --model-out "
             "(safetensors tensors with a JSON header), read by `lassonet predict` and "
             "`lassonet inspect`."),
        ],
        "environment": [_NO_COLOR],
    },
    "select": {
        "examples": [
            (
                "Rank the columns of data.csv by their importance for predicting y, and keep "
                "the path table (one row per lambda):",
                "lassonet select data.csv --target y --path-out path.csv > ranking.csv",
            ),
            (
                "Classification from a Parquet file, using only the pixel columns, never the "
                "id column, choosing the model with at most 20 features and saving it for "
                "predict:",
                "lassonet select train.parquet -t label --id id --features 'pixel_*' \\\n"
                "    --k 20 --model-out model.safetensors -o ranking.csv",
            ),
            (
                "Read CSV from standard input, print nothing but errors, and show the ranking "
                "as an aligned table:",
                "zcat data.csv.gz | lassonet select - -t y --quiet --format table",
            ),
            (
                "A linear model (no hidden layer) along a finer path, with another seed, on 4 "
                "threads:",
                "lassonet select data.csv -t y --backbone linear --path-multiplier 1.01 \\\n"
                "    --seed 1 --threads 4 > ranking.csv",
            ),
        ],
        "exit_status": {
            2: "Usage error or bad input: an unknown option or column, an unreadable or "
            "malformed table, a target with a single class, an invalid option value. One line "
            "starting with `error:` on standard error says what is wrong; no traceback unless "
            "--debug.",
        },
        "files": [
            ("DATA", _INPUT_TABLE),
            ("--path-out FILE", "The path table: one row per lambda, from the dense model to "
             "the empty one."),
            ("--model-out FILE", "The chosen model (safetensors tensors with a JSON header), "
             "for `lassonet predict` and `lassonet inspect`."),
            ("-o FILE", "The ranking (rank, feature, importance, selected); standard output "
             "without -o. " + _NO_HALF_FILES),
        ],
        "environment": [_NO_COLOR],
    },
    "path": {
        "examples": [
            (
                "Scores at 10, 25 and 50 features, as a table and as a plot:",
                "lassonet path data.parquet --target y --k-grid 10,25,50 -o acc.csv --plot acc.png",
            ),
            (
                "Fractions of the features, with more random feature sets per k, shown as an "
                "aligned table:",
                "lassonet path data.csv -t y --k-grid 0.01,0.1,0.5 --random-repeats 20 "
                "--format table",
            ),
            (
                "Images: test accuracy against the number of conv1 filters kept (refit on the "
                "top filters and on random ones):",
                "lassonet path coil20.parquet -t target --backbone conv:16,32 --image-shape "
                "1x32x32 --k-grid 1,2,4,8,16 --lambda-start 1 --plot filters.png",
            ),
        ],
        "exit_status": {
            2: "Usage error or bad input: an unknown option or column, an unreadable or "
            "malformed table, an invalid --k-grid (more than the features, or with a conv "
            "backbone conv1's filters), a target with a single class. One line "
            "starting with `error:` on standard error says what is wrong; no traceback unless "
            "--debug.",
        },
        "files": [
            ("DATA", _INPUT_TABLE),
            ("-o FILE", "The scores, one row per k; standard output without -o."),
            ("--plot FILE", "Score against k (log axis) as a `.png` or `.svg` image; the name "
             "must end in one of those, so a device such as `/dev/null` is refused. "
             + _NO_HALF_FILES),
        ],
        "environment": [_NO_COLOR],
    },
    "predict": {
        "examples": [
            (
                "Predict the rows of new.csv, with their id column first:",
                "lassonet predict model.safetensors new.csv --keep id > predictions.csv",
            ),
            (
                "Select on training rows, then predict held-out rows into a Parquet file:",
                "lassonet select train.csv -t y --model-out model.safetensors > ranking.csv\n"
                "lassonet predict model.safetensors test.csv -o predictions.parquet",
            ),
            (
                "Predictions as JSON lines on standard output:",
                "lassonet predict model.safetensors new.csv --format jsonl",
            ),
        ],
        "exit_status": {
            2: "Usage error or bad input: a missing or malformed model file, an input table "
            "without the model's columns, an unknown --keep column, an unreadable table. One "
            "line starting with `error:` on standard error says what is wrong; no traceback "
            "unless --debug.",
        },
        "files": [
            ("MODEL", "A model file written by `lassonet select` --model-out."),
            ("DATA", _INPUT_TABLE + " It needs the model's feature columns; other columns are "
             "ignored unless copied with --keep."),
            ("-o FILE", "The predictions; standard output without -o. " + _NO_HALF_FILES),
        ],
    },
    "inspect": {
        "examples": [
            ("Describe a model:", "lassonet inspect model.safetensors"),
            ("The whole header as JSON:", "lassonet inspect model.safetensors --json"),
            (
                "List the selected features, one a line, with jq(1):",
                "lassonet inspect model.safetensors --json | jq -r '.selected[]'",
            ),
        ],
        "exit_status": {
            2: "Bad input: a missing, unreadable or malformed model file. One line starting "
            "with `error:` on standard error says what is wrong; no traceback unless --debug.",
        },
        "files": [
            ("MODEL", "A model file written by `lassonet select` --model-out; it is only read."),
        ],
    },
}

GENERIC: dict[str, Any] = {
    "files": [
        ("", "Input and output files are named on the command line (see OPTIONS and "
         "ARGUMENTS); `-` as an input table reads standard input (CSV, gzipped CSV or Parquet, "
         "recognised by its first bytes). " + _NO_HALF_FILES),
    ],
}


def _exit_statuses() -> dict[int, str]:
    """The exit statuses of SPEC section 6, with the numbers the CLI itself uses."""
    try:
        from lassonet_cli import cli
    except Exception:  # noqa: BLE001 - the documented values still hold
        cli = None
    code = {
        name: getattr(cli, name, default)
        for name, default in (
            ("EXIT_OK", 0), ("EXIT_INTERNAL", 1), ("EXIT_USAGE", 2), ("EXIT_INTERRUPTED", 130),
            ("EXIT_TERMINATED", 143), ("EXIT_HUNG_UP", 129),
        )
    }
    return {
        code["EXIT_OK"]: "Success.",
        code["EXIT_INTERNAL"]: "Unexpected internal error (a bug): the message asks to rerun "
        "with --debug for the traceback and to report it.",
        code["EXIT_USAGE"]: "Usage error or bad input (an unknown option or column, an "
        "unreadable file, an invalid value, an output that cannot be written: a full disk or "
        "standard output, a file that cannot be replaced). One line starting with `error:` on "
        "standard error says what is wrong; no traceback unless --debug.",
        code["EXIT_INTERRUPTED"]: "Interrupted (Ctrl-C); no partial output file is left "
        "behind.",
        code["EXIT_TERMINATED"]: "Terminated (SIGTERM); no partial output file is left "
        "behind, and a terminal gets its cursor back.",
        code["EXIT_HUNG_UP"]: "Hung up (SIGHUP: its terminal closed); as for SIGTERM.",
    }


# --------------------------------------------------------------------------------------------
# Reading the app
# --------------------------------------------------------------------------------------------


@dataclass
class Option:
    flags: list[str]  # e.g. ["-t", "--target"], short ones first
    secondary: list[str]  # the off switches of --x/--no-x flags
    metavar: str | None  # e.g. "STR"; None for flags
    choices: list[str] | None
    default: str | None
    required: bool
    help: str
    envvar: list[str] = field(default_factory=list)


@dataclass
class Argument:
    name: str
    help: str
    required: bool
    variadic: bool


@dataclass
class Command:
    path: list[str]  # ["lassonet"] or ["lassonet", "select"]
    help: str
    short_help: str
    options: list[Option]
    arguments: list[Argument]
    subcommands: list[Command]
    deprecated: bool = False

    @property
    def key(self) -> str:
        return " ".join(self.path[1:])

    @property
    def page_name(self) -> str:
        return "-".join(self.path)

    @property
    def filename(self) -> str:
        return f"{self.page_name}.{SECTION}"


def _flag_order(flag: str) -> int:
    """Short options first, as --help shows them (stable otherwise)."""
    return len(flag) - len(flag.lstrip("-/"))


def _metavar(param: Any, ctx: Any, flags: list[str]) -> tuple[str | None, list[str] | None]:
    """Metavar and choices as ``--help`` shows them (from the help record), else a guess."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None, None
    text = None
    try:
        record = param.get_help_record(ctx)
        text = record[0] if record else None
    except Exception:  # noqa: BLE001 - fall back below
        text = None
    meta = ""
    if text:
        ends = [text.rfind(f) + len(f) for f in flags if f in text]
        meta = text[max(ends):].strip() if ends else ""
    if not meta:
        meta = getattr(param, "metavar", None) or "VALUE"
    if len(meta) > 2 and meta[0] + meta[-1] in ("<>", "{}", "[]"):
        meta = meta[1:-1]
    if "|" in meta:
        return None, [c for c in meta.split("|") if c]
    return (meta.upper() if meta.islower() else meta), None


def _default(param: Any, flags: list[str], secondary: list[str]) -> str | None:
    show = getattr(param, "show_default", None)
    if show is False:
        return None
    if isinstance(show, str) and show:
        return show
    value = getattr(param, "default", None)
    if value is None or callable(value):
        return None
    if getattr(param, "is_flag", False):
        if secondary:
            long_on = [f for f in flags if f.startswith("--")] or flags
            return long_on[-1] if value else secondary[-1]
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (list, tuple)):
        if not value:
            return None
        return ", ".join(str(v.value if isinstance(v, Enum) else v) for v in value)
    if isinstance(value, str) and value == "":
        return '""'
    return str(value)


def _envvars(param: Any) -> list[str]:
    envvar = getattr(param, "envvar", None)
    if not envvar or not getattr(param, "show_envvar", True):
        return []
    return [envvar] if isinstance(envvar, str) else [str(e) for e in envvar]


def _context(command: Any, name: str, parent: Any) -> Any:
    """A context like the one ``--help`` sees (it carries help_option_names and the like)."""
    try:
        return command.make_context(name, [], parent=parent, resilient_parsing=True)
    except Exception:  # noqa: BLE001 - a bare context is good enough for help records
        pass
    try:
        settings = dict(getattr(command, "context_settings", None) or {})
        return command.context_class(command, info_name=name, parent=parent, **settings)
    except Exception:  # noqa: BLE001
        return None


def _params(command: Any, ctx: Any) -> list[Any]:
    if ctx is not None:
        try:
            return list(command.get_params(ctx))  # includes the help option
        except Exception:  # noqa: BLE001
            pass
    return list(getattr(command, "params", []) or [])


def _is_option(param: Any) -> bool:
    opts = getattr(param, "opts", None) or []
    return any(o.startswith("-") for o in opts) or type(param).__name__.endswith("Option")


def _short_help(command: Any, help_text: str) -> str:
    short = getattr(command, "short_help", None)
    if not short:
        try:
            short = command.get_short_help_str(limit=1000)
        except Exception:  # noqa: BLE001
            short = ""
    if not short:
        paragraphs = _paragraphs(help_text)
        short = paragraphs[0][1] if paragraphs else ""
    return " ".join(short.split())


def read_command(command: Any, path: list[str], parent_ctx: Any = None) -> Command:
    ctx = _context(command, path[-1], parent_ctx)
    help_text = inspect.cleandoc(getattr(command, "help", None) or "")
    epilog = inspect.cleandoc(getattr(command, "epilog", None) or "")
    if epilog:
        help_text = f"{help_text}\n\n{epilog}" if help_text else epilog
    options: list[Option] = []
    arguments: list[Argument] = []
    for param in _params(command, ctx):
        if getattr(param, "hidden", False):
            continue
        if _is_option(param):
            flags = sorted(list(getattr(param, "opts", None) or []), key=_flag_order)
            secondary = sorted(list(getattr(param, "secondary_opts", None) or []),
                               key=_flag_order)
            metavar, choices = _metavar(param, ctx, flags + secondary)
            options.append(Option(
                flags=flags,
                secondary=secondary,
                metavar=metavar,
                choices=choices,
                default=_default(param, flags, secondary),
                required=bool(getattr(param, "required", False)),
                help=inspect.cleandoc(getattr(param, "help", None) or ""),
                envvar=_envvars(param),
            ))
        else:
            name = getattr(param, "name", None) or "ARG"
            arguments.append(Argument(
                name=name,
                help=inspect.cleandoc(getattr(param, "help", None) or ""),
                required=bool(getattr(param, "required", False)),
                variadic=getattr(param, "nargs", 1) == -1,
            ))
    subcommands: list[Command] = []
    commands = getattr(command, "commands", None)
    if commands is not None:
        try:
            names = list(command.list_commands(ctx)) if ctx is not None else list(commands)
        except Exception:  # noqa: BLE001
            names = list(commands)
        for name in names:
            sub = commands.get(name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            subcommands.append(read_command(sub, [*path, name], ctx))
    return Command(
        path=path,
        help=help_text,
        short_help=_short_help(command, help_text),
        options=options,
        arguments=arguments,
        subcommands=subcommands,
        deprecated=bool(getattr(command, "deprecated", False)),
    )


def read_app(app: Any = None) -> Command:
    """The app's command tree (the root group and its commands)."""
    import typer

    if app is None:
        from lassonet_cli.cli import app
    group = typer.main.get_command(app)
    return read_command(group, [PROG])


def walk(command: Command) -> list[Command]:
    found = [command]
    for sub in command.subcommands:
        found.extend(walk(sub))
    return found


# --------------------------------------------------------------------------------------------
# roff
# --------------------------------------------------------------------------------------------

_INLINE = re.compile(r"`([^`\n]+)`|(?<![\w\-])(--?[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)")


def escape(text: str) -> str:
    """Escape text for roff: backslashes, hyphens (as \\-, so options paste as ASCII), and
    anything beyond ASCII as a \\[uXXXX] glyph."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ch == "\t":
            out.append("    ")
        elif ord(ch) < 32:
            continue
        elif ord(ch) > 126:
            out.append(f"\\[u{ord(ch):04X}]")
        else:
            out.append(ch)
    return "".join(out)


def bold(text: str) -> str:
    return f"\\fB{escape(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{escape(text)}\\fR"


def inline(text: str) -> str:
    """Escape prose, setting `code` and --options in bold."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(escape(text[pos:m.start()]))
        out.append(bold(m.group(1) if m.group(1) is not None else m.group(2)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def text_line(line: str) -> str:
    """A line of text that roff cannot take for a request."""
    line = line.rstrip()
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def _quote(arg: str) -> str:
    return '"' + escape(arg).replace('"', "\\(dq") + '"'


def _paragraphs(text: str) -> list[tuple[str, str]]:
    """Click's help paragraphs: ("verbatim", text) after a \\b line, else ("fill", text)."""
    result = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if not lines:
            continue
        if lines[0].strip() == "\b":
            result.append(("verbatim", "\n".join(lines[1:])))
        else:
            result.append(("fill", " ".join(line.strip() for line in lines if line.strip())))
    return [p for p in result if p[1].strip()]


_EXAMPLE = re.compile(r"^Examples?:\s*(.*)$", re.S)


def split_examples(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Help paragraphs without the ``Example: ...`` ones, and the commands those show."""
    kept, examples = [], []
    for kind, para in _paragraphs(text):
        m = _EXAMPLE.match(para.strip())
        if m and m.group(1).strip():
            examples.append(m.group(1).strip())
        else:
            kept.append((kind, para))
    return kept, examples


class Request(str):
    """A roff request line (``.br``) in a list of body lines, as opposed to text."""


class Page:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def request(self, name: str, *args: str) -> None:
        self.lines.append(" ".join([f".{name}", *args]))

    def text(self, line: str) -> None:
        self.lines.append(text_line(line))

    def section(self, title: str) -> None:
        self.request("SH", _quote(title) if " " in title else escape(title))

    def paragraph(self, kind: str, para: str, first: bool = False) -> None:
        if not first:
            self.request("PP")
        if kind == "verbatim":
            self.verbatim(para)
        else:
            self.text(inline(para))

    def verbatim(self, block: str) -> None:
        self.request("nf")
        for line in block.splitlines():
            self.text(escape(line))
        self.request("fi")

    def tagged(self, tag: str, body: list[str]) -> None:
        self.request("TP")
        self.text(tag)
        for line in body:
            if isinstance(line, Request):
                self.lines.append(line)
            else:
                self.text(line)

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def option_tag(opt: Option) -> str:
    switches = ", ".join(bold(f) for f in opt.flags)
    if opt.secondary:
        switches += " / " + ", ".join(bold(f) for f in opt.secondary)
    if opt.choices:
        return switches + " {" + "|".join(bold(c) for c in opt.choices) + "}"
    if opt.metavar:
        return f"{switches} {italic(opt.metavar)}"
    return switches


def option_body(opt: Option) -> list[str]:
    body: list[str] = []
    for i, (kind, para) in enumerate(_paragraphs(opt.help)):
        if i:
            body.append(Request(".IP"))
        if kind == "verbatim":
            body.append(Request(".nf"))
            body.extend(escape(line) for line in para.splitlines())
            body.append(Request(".fi"))
        else:
            body.append(inline(para))
    notes = []
    if opt.required:
        notes.append("Required.")
    if opt.default is not None:
        notes.append(f"Default: {bold(opt.default)}")
    if opt.envvar:
        notes.append("Environment variable: " + ", ".join(bold(e) for e in opt.envvar))
    for note in notes:
        if body:
            body.append(Request(".br"))
        body.append(note)
    return body


def argument_label(arg: Argument) -> str:
    label = italic(arg.name.upper())
    if arg.variadic:
        label += " ..."
    return label


def synopsis(cmd: Command) -> str:
    parts = [bold(" ".join(cmd.path))]
    for opt in cmd.options:
        if opt.required:
            flag = opt.flags[0] if opt.flags else opt.secondary[0]
            meta = " " + italic(opt.metavar) if opt.metavar else ""
            if opt.choices:
                meta = " {" + "|".join(bold(c) for c in opt.choices) + "}"
            parts.append(bold(flag) + meta)
    if any(not o.required for o in cmd.options):
        parts.append("[" + italic("OPTIONS") + "]")
    if cmd.subcommands:
        parts.append(italic("COMMAND") + " [" + italic("ARGS") + "]...")
    for arg in cmd.arguments:
        label = argument_label(arg)
        parts.append(label if arg.required else f"[{label}]")
    return " ".join(parts)


def _name_summary(cmd: Command) -> str:
    summary = cmd.short_help.strip().rstrip(".")
    if len(summary) > 1 and summary[0].isupper() and summary[1].islower():
        summary = summary[0].lower() + summary[1:]
    return summary or "a lassonet command"


def _see_also(cmd: Command, root: Command) -> list[str]:
    names = []
    if cmd is not root:
        names.append(root.page_name)
    names.extend(c.page_name for c in walk(root)[1:] if c is not cmd)
    return names


def render_page(cmd: Command, root: Command, version: str) -> str:
    extra = EXTRA.get(cmd.key, {})
    page = Page()
    page.lines.append(
        '.\\" Generated by man/generate.py from the lassonet command line; do not edit.'
    )
    page.lines.append('.\\" Regenerate with: make man')
    page.request("TH", _quote(cmd.page_name.upper()), SECTION, '""', _quote(f"{PROG} {version}"),
                 _quote(MANUAL))
    page.request("nh")  # no hyphenation: option names must read (and paste) as they are

    page.section("NAME")
    page.text(f"{escape(cmd.page_name)} \\- {inline(_name_summary(cmd))}")

    page.section("SYNOPSIS")
    page.text(synopsis(cmd))

    page.section("DESCRIPTION")
    paragraphs, help_examples = split_examples(cmd.help)
    if cmd.deprecated:
        paragraphs.insert(0, ("fill", "This command is deprecated."))
    paragraphs += [("fill", p) for p in extra.get("description", [])]
    if not paragraphs:
        paragraphs = [("fill", cmd.short_help or "")]
    for i, (kind, para) in enumerate(paragraphs):
        page.paragraph(kind, para, first=i == 0)

    if cmd.subcommands:
        page.section("COMMANDS")
        for sub in cmd.subcommands:
            page.tagged(bold(sub.path[-1]), [
                inline(sub.short_help),
                Request(".br"),
                f"See {bold(sub.page_name)}({SECTION}).",
            ])

    if cmd.options:
        page.section("OPTIONS")
        for opt in cmd.options:
            page.tagged(option_tag(opt), option_body(opt))

    if cmd.arguments:
        page.section("ARGUMENTS")
        for arg in cmd.arguments:
            body = [inline(p) for _, p in _paragraphs(arg.help)]
            note = "Required." if arg.required else "Optional."
            page.tagged(argument_label(arg), [*body, Request(".br"), note] if body else [note])

    examples = list(extra.get("examples", []))
    shown = set()
    for _, block in examples:
        shown.add(_one_line(block))
        shown.update(_one_line(line) for line in block.splitlines())
    # the help text's own examples come first unless the hand-written ones already show them
    examples[:0] = [("", e) for e in help_examples if _one_line(e) not in shown]
    if not examples:
        examples = [("Show the options:", f"{' '.join(cmd.path)} --help")]
    page.section("EXAMPLES")
    for i, (what, command_line) in enumerate(examples):
        if i:
            page.request("PP")
        if what:
            page.text(inline(what))
        page.request("RS", "4")
        page.verbatim(command_line)
        page.request("RE")

    page.section("EXIT STATUS")
    statuses = _exit_statuses()
    statuses.update(extra.get("exit_status", {}))
    for status in sorted(statuses):
        page.tagged(bold(str(status)), [inline(statuses[status])])

    environment = extra.get("environment", [])
    if environment:
        page.section("ENVIRONMENT")
        for name, text in environment:
            page.tagged(bold(name), [inline(text)])

    files = extra.get("files") or GENERIC["files"]
    page.section("FILES")
    for i, (name, text) in enumerate(files):
        if name:
            page.tagged(_file_tag(name), [inline(text)])
        else:
            page.paragraph("fill", text, first=i == 0)

    see_also = _see_also(cmd, root)
    if see_also:
        page.section("SEE ALSO")
        page.text(", ".join(f"{bold(n)}({SECTION})" for n in see_also))
    return page.render()


def _one_line(command_line: str) -> str:
    return " ".join(command_line.replace("\\\n", " ").split())


def _file_tag(name: str) -> str:
    """``--path-out FILE`` -> bold option, italic placeholder; ``DATA`` -> italic."""
    parts = []
    for word in name.split(" "):
        if word.startswith("-"):
            parts.append(bold(word))
        elif word.isupper():
            parts.append(italic(word))
        else:
            parts.append(bold(word))
    return " ".join(parts)


def _version() -> str:
    try:
        from lassonet_cli import __version__
    except Exception:  # noqa: BLE001
        return "unknown"
    return str(__version__)


def generate(app: Any = None) -> dict[str, str]:
    """Every page: file name -> roff text."""
    root = read_app(app)
    version = _version()
    return {cmd.filename: render_page(cmd, root, version) for cmd in walk(root)}


def _is_ours(path: Path) -> bool:
    return path.name == f"{PROG}.{SECTION}" or (
        path.name.startswith(f"{PROG}-") and path.name.endswith(f".{SECTION}")
    )


def differences(man_dir: Path = MAN_DIR, pages: dict[str, str] | None = None) -> list[str]:
    """``name (why)`` for each page that differs from what would be generated."""
    pages = generate() if pages is None else pages
    found = []
    for name, text in pages.items():
        path = man_dir / name
        if not path.exists():
            found.append(f"{name} (missing)")
        elif path.read_bytes() != text.encode("ascii"):
            found.append(f"{name} (differs)")
    for path in sorted(man_dir.glob(f"*.{SECTION}")):
        if _is_ours(path) and path.name not in pages:
            found.append(f"{path.name} (no such command any more)")
    return found


def write(man_dir: Path = MAN_DIR, pages: dict[str, str] | None = None) -> list[str]:
    """Write the pages that changed, remove pages of commands that are gone; return the names."""
    pages = generate() if pages is None else pages
    man_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in pages.items():
        path = man_dir / name
        data = text.encode("ascii")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(name)
    for path in sorted(man_dir.glob(f"*.{SECTION}")):
        if _is_ours(path) and path.name not in pages:
            path.unlink()
            changed.append(f"{path.name} (removed)")
    return changed


# --------------------------------------------------------------------------------------------
# Consistency of the hand-written text with the app
# --------------------------------------------------------------------------------------------

_OPTION_WORD = re.compile(r"(?<![\w\-])(--?[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)")


_SHELL_SPLIT = re.compile(r"\|\|?|&&|;|\n|\$\(|`")


def _mentions(entry: dict[str, Any], keys: set[str]) -> list[tuple[str | None, str]]:
    """(command key, option) for each option named in an entry: in a ``lassonet ...`` command
    line the key is the command it runs; in prose it is None (any command's option will do)."""
    prose = list(entry.get("description", []))
    found: list[tuple[str | None, str]] = []
    for what, command_line in entry.get("examples", []):
        prose.append(what)
        for segment in _SHELL_SPLIT.split(command_line.replace("\\\n", " ")):
            words = segment.split()
            if not words or words[0] != PROG:
                continue  # another program (jq, zcat): its options are its own
            key = ""
            for word in words[1:]:
                if word.startswith("-") or (key and f"{key} {word}" not in keys):
                    break
                key = f"{key} {word}".strip()
                if key not in keys:
                    break
            found += [(key, m.group(1)) for m in _OPTION_WORD.finditer(segment)]
    prose += list(entry.get("exit_status", {}).values())
    for pairs in (entry.get("files", []), entry.get("environment", [])):
        for name, text in pairs:
            prose += [name, text]
    found += [(None, m.group(1)) for t in prose for m in _OPTION_WORD.finditer(t)]
    return found


def stale_mentions(root: Command | None = None) -> list[str]:
    """Options named in EXTRA that the app does not have (renamed or removed), as
    ``command: --option``; also commands run in examples that do not exist."""
    root = read_app() if root is None else root
    commands = {cmd.key: cmd for cmd in walk(root)}

    def flags(cmd: Command) -> set[str]:
        return {f for o in cmd.options for f in o.flags + o.secondary}

    everywhere = set().union(*(flags(c) for c in commands.values()))
    stale = []
    for key, entry in EXTRA.items():
        if key not in commands:
            continue  # text for a command that is gone is simply unused
        for runs, flag in _mentions(entry, set(commands)):
            if runs is None:
                ok = flag in everywhere
            elif runs not in commands:
                stale.append(f"{key or PROG}: example runs unknown command {PROG} {runs}")
                continue
            else:
                ok = flag in flags(commands[runs])
            if not ok:
                where = "" if runs is None else f" (in an example running {PROG} {runs})"
                stale.append(f"{key or PROG}: {flag}{where.replace(' )', ')')}")
    return sorted(set(stale))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the lassonet man pages in man/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a page differs from the generated one")
    parser.add_argument("--dir", type=Path, default=MAN_DIR, help="where the pages live")
    args = parser.parse_args(argv)
    pages = generate()
    for mention in stale_mentions():
        print(f"warning: man/generate.py EXTRA mentions an unknown option: {mention}",
              file=sys.stderr)
    if args.check:
        found = differences(args.dir, pages)
        if found:
            print("man pages out of date (run `make man`): " + ", ".join(found),
                  file=sys.stderr)
            return 1
        print(f"man pages up to date ({len(pages)} pages)")
        return 0
    changed = write(args.dir, pages)
    print(f"wrote {', '.join(changed)}" if changed else f"man pages up to date ({len(pages)} "
          "pages)")
    return 0


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
