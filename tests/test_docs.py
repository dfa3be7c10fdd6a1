"""Every command has help text and appears in the README (as sqlite-utils' test_docs does)."""

from __future__ import annotations

from pathlib import Path

import typer

from ui.cli.main import app

README = (Path(__file__).parents[1] / "README.md").read_text()


def _commands(group, prefix: str) -> list[tuple[str, object]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found.append((path, command))
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            found += _commands(command, path)
    return found


def test_every_command_has_help_and_is_in_the_readme():
    commands = _commands(typer.main.get_command(app), "pixseek")
    assert len(commands) >= 5
    for path, command in commands:
        assert (command.help or "").strip(), f"{path} has no help text"
        assert f"`{path}" in README, f"{path} is not in README.md"


def test_readme_test_command_is_what_ci_runs():
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "./tools/test.sh" in README and "tools/test.sh" in ci
