"""Every `lassonet ...` command shown in README.md and docs/ parses: its subcommand and options
exist and take the values given.  Parsed by the app's own parser, not run (the docs' examples
read tables that only exist on our machines, and some train for minutes)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from lassonet_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def shown_commands(text: str) -> list[str]:
    """The `lassonet` commands in a Markdown text's fenced blocks (in a block with `$ ` prompts,
    the prompted lines alone: the others are output), a line continued by a backslash joined to
    the next, each cut at a pipe or a redirection."""
    commands = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        lines = re.sub(r"\\\n\s*", " ", block).splitlines()
        prompted = [line[2:] for line in lines if line.startswith("$ ")]
        for line in prompted or lines:
            for part in line.split("|"):
                words = shlex.split(part.split(">")[0].split("#")[0])
                if words[:1] == ["lassonet"] and len(words) > 1:
                    commands.append(" ".join(words[1:]))
    return commands


CASES = [(path.relative_to(ROOT).as_posix(), command)
         for path in DOCS for command in shown_commands(path.read_text(encoding="utf-8"))]


def test_the_docs_show_every_command():
    shown = {command.split()[0] for _, command in CASES}
    assert shown >= {"select", "path", "stability", "predict", "inspect"}, shown


@pytest.mark.parametrize("doc, command", CASES, ids=[f"{d}: {c[:50]}" for d, c in CASES])
def test_a_command_in_the_docs_parses(doc, command):
    group = typer.main.get_command(app)
    name, *args = shlex.split(command)
    assert name in group.commands, f"{doc}: no command {name!r}"
    sub = group.commands[name]
    sub.make_context(name, list(args))  # raises on an unknown option or a bad value


def test_a_wrong_option_would_be_caught():
    """The parse above is strict: an option that does not exist fails it."""
    group = typer.main.get_command(app)
    with pytest.raises(Exception, match="no-such-option"):
        group.commands["select"].make_context("select", ["t.csv", "--no-such-option", "1"])
