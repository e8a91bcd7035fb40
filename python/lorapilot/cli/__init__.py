"""``lorapilot`` command line: a thin shell over the library.

Sub-commands are imported only when used, so ``lorapilot --help`` stays fast
and never imports torch or other heavy modules.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

import click

from lorapilot import __version__
from lorapilot.kit.errors import LorapilotError
from lorapilot.tools import TOOLS

# name -> "module:attribute". Add a line here to plug in a command or group.
COMMANDS: dict[str, str] = {
    "init": "lorapilot.cli.workspace_cmds:init_cmd",
    "secrets": "lorapilot.cli.workspace_cmds:secrets_group",
    "render": "lorapilot.cli.render_cmds:render_group",
    "up": "lorapilot.cli.service_cmds:up_cmd",
    "down": "lorapilot.cli.service_cmds:down_cmd",
    "status": "lorapilot.cli.service_cmds:status_cmd",
    "start": "lorapilot.cli.service_cmds:start_cmd",
    "stop": "lorapilot.cli.service_cmds:stop_cmd",
    "restart": "lorapilot.cli.service_cmds:restart_cmd",
    "logs": "lorapilot.cli.service_cmds:logs_cmd",
    "urls": "lorapilot.cli.service_cmds:urls_cmd",
    "trash": "lorapilot.cli.trash_cmds:trash_group",
    "components": "lorapilot.cli.render_cmds:components_cmd",
    "comfyui": "lorapilot.cli.comfyui_cmds:comfyui_group",
    "controlpilot": "lorapilot.controlpilot.cli:controlpilot_group",
    "install": "lorapilot.cli.install_cmds:install_cmd",
    "shutdown": "lorapilot.cli.shutdown_cmds:shutdown_group",
}


# Each tool's group comes from the TOOLS table, under its name and its old names.
for _tool in TOOLS:
    COMMANDS[_tool.name] = _tool.cli
    for _alias in _tool.cli_aliases:
        COMMANDS[_alias] = _tool.cli
ALIASES = {alias for each in TOOLS for alias in each.cli_aliases}


# name -> the command's one-line summary, so `lorapilot --help` lists every command without importing
# any (tests/test_cli_help_fast.py checks each against the command's own docstring); the tools' come
# from TOOLS, below.
SUMMARIES: dict[str, str] = {
    "comfyui": "ComfyUI's custom nodes: list, add or remove your own (apps/comfyui/custom_nodes/).",
    "components": "List the components, their ports and whether they are installed.",
    "controlpilot": "The ControlPilot dashboard (port 7878).",
    "down": "Stop every service and the process manager, and stop (and save) running training jobs.",
    "init": "Create or update the workspace (idempotent; never overwrites your files).",
    "install": "Install components from their pins, without Nix.",
    "logs": "Print a service's log.",
    "render": "Print the process-manager configuration rendered from the registry.",
    "restart": "Restart one service.",
    "secrets": "Show or set values in config/secrets.env (mode 0600).",
    "shutdown": "Stop this machine at a time, after N minutes idle, or once the queue is empty.",
    "start": "Start one service.",
    "status": "Show each service: state, readiness, restarts, uptime, memory.",
    "stop": "Stop one service.",
    "trash": "List, restore or empty the workspace trash (.trash/).",
    "up": "Initialise the workspace, render the configuration and start every service.",
    "urls": "Print the URL of every service.",
}
SUMMARIES.update({each.name: each.summary for each in TOOLS})


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if name not in ALIASES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            summary = SUMMARIES.get(name)
            if summary is None:  # a command added without a summary: import it to ask
                command = self.get_command(ctx, name)
                summary = command.get_short_help_str(200) if command is not None else ""
            rows.append((name, summary))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lorapilot")
@click.option(
    "-w",
    "--workspace",
    type=click.Path(file_okay=True, dir_okay=True),
    help="Workspace root for the command (also accepted after it).",
)
def cli(workspace: str | None) -> None:
    """LoRA Pilot: train, test and use diffusion LoRAs in one reproducible workspace."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user mistakes print one clear line, no traceback."""
    try:
        cli.main(args=argv, prog_name="lorapilot", standalone_mode=False)
    except LorapilotError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        # A file the system refused (read-only disk, permissions, disk full): one line.
        if exc.filename is None:
            raise
        click.echo(f"error: {_os_error_path(exc.filename)}: {exc.strerror}", err=True)
        sys.exit(1)


_ATOMIC_TEMP = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.tmp$")  # lorapilot.kit.fsutil's temporary beside a file


def _os_error_path(filename) -> str:
    """The file the user knows: ``config/secrets.env`` rather than its atomic-write temporary."""
    path = Path(os.fsdecode(filename))
    match = _ATOMIC_TEMP.match(path.name)
    return str(path.with_name(match["name"]) if match else path)
