"""``lorapilot --help`` lists every command without importing any (so it stays fast), each listing
line is the command's whole first sentence, and ``-w DIR`` works before the sub-command too."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from lorapilot.cli import ALIASES, COMMANDS, SUMMARIES, cli
from lorapilot.stack.clickopts import FullHelpGroup, summary_of

HEAVY = ("pydantic", "lorapilot.stack", "lorapilot.tools.models", "lorapilot.controlpilot", "torch", "fastapi", "yaml")


def test_help_imports_no_command_module():
    probe = (
        "import sys; from lorapilot.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    modules = done.stderr.split()
    heavy = [m for m in modules if m.startswith(HEAVY)]
    assert heavy == [], heavy
    assert "trainpilot" in done.stdout and "Print the URL of every service." in done.stdout


def test_each_summary_is_the_commands_own_first_sentence():
    ctx = click.Context(cli)
    listed = [name for name in COMMANDS if name not in ALIASES]
    assert sorted(SUMMARIES) == sorted(listed)
    for name in listed:
        command = cli.get_command(ctx, name)
        assert SUMMARIES[name] == (command.short_help or summary_of(command.help)), name


def test_group_listings_are_never_cut_mid_sentence():
    ctx = click.Context(cli)
    for name in ("secrets", "mediapilot", "trainpilot", "models"):
        group = cli.get_command(ctx, name)
        assert isinstance(group, FullHelpGroup), name
        text = group.get_help(click.Context(group, info_name=name, parent=ctx))
        assert "..." not in text.split("Commands:")[1], text
    media = cli.get_command(ctx, "mediapilot").get_help(
        click.Context(cli.get_command(ctx, "mediapilot"), info_name="mediapilot")
    )
    assert "Keep the index fresh until interrupted" in " ".join(media.split())


def test_summary_keeps_abbreviations_and_stops_at_the_sentence():
    assert summary_of("Pull a model, e.g. hf:x/y. More words here.") == "Pull a model, e.g. hf:x/y."
    assert summary_of("One line\ncontinued.\n\nSecond paragraph.") == "One line continued."


def test_workspace_option_before_the_subcommand(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LORAPILOT_WORKSPACE"}
    before = subprocess.run(
        [sys.executable, "-m", "lorapilot", "-w", str(tmp_path / "ws"), "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert before.returncode == 0, before.stderr
    assert (tmp_path / "ws" / "config" / "lorapilot.toml").is_file()
    other = tmp_path / "other"
    after = subprocess.run(
        [sys.executable, "-m", "lorapilot", "-w", str(tmp_path / "ws"), "init", "-w", str(other)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert after.returncode == 0, after.stderr
    assert (other / "config" / "lorapilot.toml").is_file()  # the option after the sub-command wins
