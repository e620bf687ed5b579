"""Every command and subcommand of the CLI lists its options under ``--help``, and none
passes unknown arguments through unchecked."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from musicflamingo.cli import app

ROOT = typer.main.get_command(app)


def commands(group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path below ``group`` (typer ships its own click: duck-typed)."""
    out = [path]
    if hasattr(group, "commands"):
        for name, sub in group.commands.items():
            out += commands(sub, (*path, name))
    return out


def command_at(path: tuple[str, ...]):
    cmd = ROOT
    for name in path:
        cmd = cmd.commands[name]
    return cmd


ALL = commands(ROOT)


def test_the_tree_is_walked():
    assert {("analyze",), ("serve-llm",), ("skills", "build"), ("eval", "run")} <= set(ALL)


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(p) or "musicflamingo")
def test_help_lists_every_option(path):
    cmd = command_at(path)
    assert not cmd.context_settings.get("ignore_unknown_options")
    assert not cmd.context_settings.get("allow_extra_args")
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for param in cmd.params:
        if param.param_type_name == "option":
            assert param.opts[0] in result.output, f"{param.opts[0]} not in --help"


def test_serve_llm_help_names_its_options():
    result = CliRunner().invoke(app, ["serve-llm", "--help"], env={"COLUMNS": "200"})
    for option in ("--llm", "--host", "--port", "--api-key", "--max-pending", "--max-body-mb",
                   "--max-audio-seconds", "--max-tokens", "--threads"):  # fmt: skip
        assert option in result.output
    assert "MUSICFLAMINGO_API_KEY" in result.output
