"""``lorapilot controlpilot serve``."""

from __future__ import annotations

import click

from lorapilot.cli.common import workspace_option


@click.group("controlpilot")
def controlpilot_group() -> None:
    """The ControlPilot dashboard (port 7878)."""


@controlpilot_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7878, show_default=True, type=int)
@workspace_option
def serve(ctx, host: str, port: int) -> None:
    """Serve ControlPilot with uvicorn."""
    import uvicorn

    from lorapilot.controlpilot.app import create_app

    app = create_app(ctx, bind_host=host)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
