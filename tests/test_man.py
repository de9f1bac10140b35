"""The man pages in man/ match the app: regenerate them with `make man` when this fails."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAN_DIR = ROOT / "man"
HINT = "run `make man` (or `python man/generate.py`) and commit the pages"


def _load_generator():
    spec = importlib.util.spec_from_file_location("man_generate", MAN_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def root():
    return gen.read_app()


@pytest.fixture(scope="module")
def pages():
    return gen.generate()


def test_committed_pages_are_up_to_date(pages):
    stale = gen.differences(MAN_DIR, pages)
    assert not stale, f"man pages out of date: {', '.join(stale)}; {HINT}"


def test_every_command_has_a_page(root):
    commands = gen.walk(root)
    assert {c.key for c in commands} >= {"", "select", "predict", "inspect"}
    missing = [c.filename for c in commands if not (MAN_DIR / c.filename).exists()]
    assert not missing, f"no man page for: {', '.join(missing)}; {HINT}"


def test_every_option_and_argument_is_in_its_page(root):
    absent = []
    for cmd in gen.walk(root):
        path = MAN_DIR / cmd.filename
        if not path.exists():
            continue  # reported by test_every_command_has_a_page
        page = path.read_text(encoding="ascii")
        for opt in cmd.options:
            for flag in opt.flags + opt.secondary:
                if gen.bold(flag) not in page:
                    absent.append(f"{cmd.filename}: {flag}")
        for arg in cmd.arguments:
            if gen.italic(arg.name.upper()) not in page:
                absent.append(f"{cmd.filename}: argument {arg.name}")
        for sub in cmd.subcommands:
            if gen.bold(sub.path[-1]) not in page:
                absent.append(f"{cmd.filename}: command {sub.path[-1]}")
    assert not absent, f"not documented: {'; '.join(absent)}; {HINT}"


def test_every_command_has_help_and_every_option_a_description(root):
    undocumented = [f"{' '.join(c.path)}: no help text" for c in gen.walk(root) if not c.help]
    undocumented += [
        f"{' '.join(c.path)} {o.flags[0] if o.flags else o.secondary[0]}: no help text"
        for c in gen.walk(root) for o in c.options if not o.help
    ]
    assert not undocumented, "; ".join(undocumented)


def test_hand_written_text_names_only_existing_options(root):
    stale = gen.stale_mentions(root)
    assert not stale, (
        "man/generate.py EXTRA (examples, files, exit statuses) names options the app does not "
        f"have: {'; '.join(stale)}; update the text there, then {HINT}"
    )


_REQUESTS = {"TH", "SH", "SS", "PP", "TP", "IP", "RS", "RE", "nf", "fi", "br", "nh", '\\"'}


def test_pages_are_plain_roff(pages):
    for name, text in pages.items():
        assert text.isascii(), name
        assert text.endswith("\n") and "\n\n" not in text, name
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith((".", "'")):
                request = re.match(r"[.'](\S*)", line).group(1)
                assert request in _REQUESTS, f"{name}:{number}: unexpected request {line!r}"
            assert not re.search(r"(?<!\\)\\(?![-e&fB(IR\[\"])", line), f"{name}:{number}: {line}"
        th = next(line for line in text.splitlines() if line.startswith(".TH"))
        assert gen._version() in th


def test_generation_is_deterministic(pages):
    assert gen.generate() == pages


def test_escaping():
    assert gen.escape("a\\b-c") == "a\\eb\\-c"
    assert gen.text_line(".hidden") == "\\&.hidden"
    assert gen.text_line("'quoted") == "\\&'quoted"
    assert gen.inline("use --k-grid or `x-y`") == "use \\fB\\-\\-k\\-grid\\fR or \\fBx\\-y\\fR"
    assert gen.escape("\u2265") == "\\[u2265]"


def test_check_mode_names_the_differing_page(tmp_path, pages, capsys):
    gen.write(tmp_path, pages)
    assert gen.main(["--check", "--dir", str(tmp_path)]) == 0
    victim = tmp_path / "lassonet-select.1"
    victim.write_text(victim.read_text() + ".\\\" edited by hand\n")
    (tmp_path / "lassonet-gone.1").write_text(".TH X 1\n")
    assert gen.main(["--check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "lassonet-select.1" in err and "lassonet-gone.1" in err and "make man" in err
    assert "lassonet-predict.1" not in err
    gen.main(["--dir", str(tmp_path)])
    assert not (tmp_path / "lassonet-gone.1").exists()
    assert gen.differences(tmp_path, pages) == []
