"""The manual's commands work as written: every `hardforge` call in a code block of the README or
of docs/ parses with the real CLI (its command exists, and takes those options and arguments), and
every `make` target named exists. The README stays a landing page."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1", re.S | re.M)  # indented ones too (admonitions)
INLINE = re.compile(r"(?<!`)`((?:[\w./-]*/)?hardforge [^`]+)`(?!`)")
# an inline span written as a pattern, not a call: [optional] parts, a|b choices, PLACEHOLDERS, ...
PATTERN = re.compile(r"[\[\]|]|\.\.\.|\b[A-Z]{2,}\b")
SHELL_STOP = {"|", "||", "&&", ";", "&"}


def _calls_in(line: str) -> list[list[str]]:
    """Every hardforge or make call in one shell line (`make x && hardforge y` is two), as the
    program and its arguments; [] for a line that is not shell."""
    try:
        words = shlex.split(line.strip().removeprefix("$ "), comments=True)
    except ValueError:
        return []  # not shell (Python, TOML, output)
    calls, start = [], True
    for i, word in enumerate(words):
        if word in SHELL_STOP:
            start = True
            continue
        program = None
        if Path(word).name == "hardforge" or (word == "flows.cli" and i and words[i - 1] == "-m"):
            program = "hardforge"  # .venv/bin/hardforge, .venv-vllm/bin/hardforge, python -m flows.cli
        elif word == "make" and start:
            program = "make"
        start = start and "=" in word  # VAR=value words may precede the program
        if program:
            args = []
            for arg in words[i + 1 :]:
                if arg in SHELL_STOP or arg.startswith((">", "2>")):
                    break
                args.append(arg)
            calls.append([program, *args])
    return calls


def _calls(page: Path) -> list[tuple[str, list[str]]]:
    """(the line, its program and arguments) for each call in the page's code blocks, and in its
    inline code spans that are a call rather than a pattern (marked 'inline: ')."""
    text = page.read_text()
    blocks = [block for _, block in FENCE.findall(text)]
    lines = [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    spans = [" ".join(span.split()) for span in INLINE.findall(FENCE.sub("", text)) if not PATTERN.search(span)]
    found = [(line, call) for line in lines for call in _calls_in(line)]
    return found + [("inline: " + span, call) for span in spans for call in _calls_in(span)]


CALLS = [(page.relative_to(ROOT).as_posix(), line, args) for page in PAGES for line, args in _calls(page)]


def test_the_pages_have_calls_to_check():
    assert len([c for c in CALLS if c[2][0] == "hardforge"]) >= 15
    assert {"README.md", "docs/getting-started.md", "docs/nightly.md"} <= {c[0] for c in CALLS}


def _parse(args: list[str], resilient: bool = False) -> None:
    """Parse like the CLI does, without running anything: the group's options, then each
    sub-command's, down to the leaf (a missing argument, an unknown option or a bad value raises)."""
    import typer.main

    import flows.cli  # noqa: F401  (registers the commands)
    from flows.cli.app import app

    command = typer.main.get_command(app)
    ctx = command.make_context("hardforge", list(args), resilient_parsing=resilient)
    while hasattr(command, "resolve_command"):
        rest = (
            [*getattr(ctx, "_protected_args", []), *ctx.args]
            if hasattr(ctx, "_protected_args")
            else [*ctx.protected_args, *ctx.args]
        )
        assert rest, "a command group without a command"
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx, resilient_parsing=resilient)


@pytest.mark.parametrize(("page", "line", "args"), CALLS, ids=[f"{c[0]}:{' '.join(c[2])[:60]}" for c in CALLS])
def test_a_documented_call_parses(page, line, args):
    if args[0] == "make":
        targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
        assert set(args[1:]) <= targets, f"{page}: `{line}` names a make target that does not exist"
        return
    # a mention in prose without options (`hardforge query`) names a command: it must exist, its
    # arguments may be given in the sentence around it
    reference = line.startswith("inline: ") and not any(a.startswith("-") for a in args)
    try:
        _parse(args[1:], resilient=reference)
    except Exception as exc:  # click's usage errors
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        pytest.fail(f"{page}: `{line}` does not parse: {type(exc).__name__}: {message}")


def test_the_readme_is_a_landing_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).exists(), link


PATTERNS = [
    (page.relative_to(ROOT).as_posix(), " ".join(span.split()))
    for page in PAGES
    for span in INLINE.findall(FENCE.sub("", page.read_text()))
    if PATTERN.search(span)
]


def test_a_documented_pattern_names_real_options():
    """Inline patterns such as `hardforge estimate [--policy P] [--n 8]`: the command exists and
    has every option named."""
    import typer.main

    import flows.cli  # noqa: F401  (registers the commands)
    from flows.cli.app import app

    assert len(PATTERNS) >= 15
    for page, span in PATTERNS:
        command, words = typer.main.get_command(app), span.split()[1:]
        while hasattr(command, "commands") and words and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        assert not hasattr(command, "commands"), f"{page}: `{span}` names no command"
        options = {opt for param in command.params for opt in param.opts}
        named = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", span))
        assert named <= options, f"{page}: `{span}`: {sorted(named - options)} are not options of that command"


def test_the_configuration_reference_lists_every_key():
    """docs/configuration.md carries the reference generated from the models (readable as Markdown
    in the repo): every key of every section, with its environment variable and its default."""
    from schemas.config import HardforgeConfig
    from schemas.config_reference import config_reference_markdown

    text = config_reference_markdown()

    def keys(model, prefix=""):
        for name, field in model.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and hasattr(kind, "model_fields"):
                assert f"### `[{prefix}{name}]`" in text
                yield from keys(kind, f"{prefix}{name}.")
            else:
                yield prefix, name

    found = list(keys(HardforgeConfig))
    assert len(found) > 100
    for prefix, name in found:
        env = "HARDFORGE_" + "__".join([*prefix.rstrip(".").split("."), name] if prefix else [name]).upper()
        assert f"| `{name}` |" in text and f"`{env}`" in text, env
    assert "| `n` | `int` | `8` | `HARDFORGE_ROLLOUTS__N` |" in text
    from schemas.config_reference import with_reference

    page = (ROOT / "docs" / "configuration.md").read_text()
    assert with_reference(page) == page, "stale: run `python -m schemas.config_reference`"
