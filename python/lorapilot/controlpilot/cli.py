"""``lorapilot controlpilot serve``, ``... token ...`` and ``... sessions ...``."""

from __future__ import annotations

import time

import click

from lorapilot.stack.clickopts import FullHelpGroup, workspace_option


@click.group("controlpilot", cls=FullHelpGroup)
def controlpilot_group() -> None:
    """The ControlPilot dashboard (port 7878)."""


@controlpilot_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", type=int, help="Default: the controlpilot component's port (components/, config/lorapilot.toml)."
)
@workspace_option
def serve(ctx, host: str, port: int | None) -> None:
    """Serve ControlPilot with uvicorn (login required unless bound to loopback)."""
    import uvicorn

    port = port or ctx.registry.get("controlpilot").port

    from lorapilot.controlpilot.app import create_app
    from lorapilot.stack.workspace.secrets import ensure_secrets

    app = create_app(ctx, bind_host=host)
    auth = app.state.auth
    if auth.required and auth.password() is None:
        ctx.workspace.config.mkdir(parents=True, exist_ok=True)
        ensure_secrets(ctx.workspace.secrets_file)
        click.echo(
            "generated a ControlPilot password: `lorapilot secrets show CONTROLPILOT_PASSWORD` prints it", err=True
        )
    # Open event streams must not keep a stopping server alive.
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback peer as the
    # client; ControlPilot reads it itself, only from [controlpilot] trusted_proxies.
    uvicorn.run(
        app, host=host, port=port, log_level="info", access_log=False, timeout_graceful_shutdown=3, proxy_headers=False
    )


@controlpilot_group.group("token")
def token_group() -> None:
    """API tokens for scripts (`Authorization: Bearer <token>`)."""


@token_group.command("create")
@click.argument("name")
@workspace_option
def token_create(ctx, name: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    from lorapilot.controlpilot.tokens import TokenStore

    info, secret = TokenStore(ctx.workspace).create(name)
    click.echo(secret)
    click.echo(f"token {info.id} ({info.name}) created; it will not be shown again", err=True)


@token_group.command("list")
@workspace_option
def token_list(ctx) -> None:
    """List tokens (ids and names, never the tokens)."""
    from lorapilot.controlpilot.tokens import TokenStore

    tokens = TokenStore(ctx.workspace).list()
    if not tokens:
        click.echo("no API tokens")
    for t in tokens:
        click.echo(f"{t.id}  {time.strftime('%Y-%m-%d %H:%M', time.localtime(t.created_at))}  {t.name}")


@token_group.command("revoke")
@click.argument("token_id")
@workspace_option
def token_revoke(ctx, token_id: str) -> None:
    """Revoke a token by id (or by its name when unique)."""
    from lorapilot.controlpilot.tokens import TokenStore

    info = TokenStore(ctx.workspace).revoke(token_id)
    click.echo(f"revoked {info.id} ({info.name})")


@controlpilot_group.group("sessions")
def sessions_group() -> None:
    """Login sessions of the web UI: list them, or revoke one or all (in every server process)."""


def _session_store(ctx):
    from lorapilot.controlpilot.sessions import SESSIONS_DB, SessionStore

    return SessionStore(ctx.workspace.state_dir("controlpilot") / SESSIONS_DB)


@sessions_group.command("list")
@workspace_option
def sessions_list(ctx) -> None:
    """List open sessions (id, opened, last seen, expires, address, browser)."""
    from lorapilot.controlpilot.auth import login_password
    from lorapilot.stack.workspace.secrets import read_secrets

    listed = _session_store(ctx).list(login_password(read_secrets(ctx.workspace.secrets_file)))
    if not listed:
        click.echo("no open sessions")

    def when(t: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))

    for s in listed:
        stale = "  (opened with an older password: no longer works)" if s.current_password is False else ""
        click.echo(
            f"{s.id}  opened {when(s.created)}  seen {when(s.last_seen)}  expires {when(s.expires)}  "
            f"{s.address or '-'}  {s.user_agent or '-'}{stale}"
        )


@sessions_group.command("revoke")
@click.argument("session_id", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every open session.")
@workspace_option
def sessions_revoke(ctx, session_id: str | None, revoke_all: bool) -> None:
    """Revoke the session SESSION_ID (a unique prefix will do), or every session with --all."""
    if revoke_all == bool(session_id):
        raise click.UsageError("give either a SESSION_ID or --all")
    store = _session_store(ctx)
    if revoke_all:
        click.echo(f"revoked {store.revoke_all()} session(s)")
        return
    info = store.revoke(session_id)
    click.echo(f"revoked {info.id} ({info.address or '-'}, {info.user_agent or '-'})")
