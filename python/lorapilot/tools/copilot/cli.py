"""``lorapilot copilot serve|status|ask|history|delete|clear|trash``: thin shells over the library."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import sys

import click

from lorapilot.stack.clickopts import FullHelpGroup, workspace_option


def _service(ctx, permit_allow_all: bool = False, cli: str | None = None):
    from lorapilot.tools.copilot.command import Policy
    from lorapilot.tools.copilot.service import ChatService

    settings = ctx.settings.copilot
    return ChatService(
        ctx.workspace,
        policy=Policy(permit_allow_all=permit_allow_all or settings.permit_allow_all, default_cwd=settings.default_cwd),
        cli=cli,
        manifest_env=ctx.manifest.location("copilot").env,
        default_timeout_s=settings.default_timeout_s,
        max_timeout_s=settings.max_timeout_s,
    )


@contextlib.contextmanager
def _history(ctx):
    from lorapilot.tools.copilot.chat_history import ChatHistory

    db = ChatHistory(ctx.workspace.state_dir("copilot") / "history.db")
    try:
        yield db
    finally:
        db.close()


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


@click.group("copilot", cls=FullHelpGroup)
def copilot_group() -> None:
    """The Copilot sidecar: GitHub Copilot CLI confined to the workspace (port 7879, loopback only)."""


@copilot_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address; must be loopback.")
@click.option("--port", type=int, help="Default: the copilot component's port (components/, config/lorapilot.toml).")
@click.option("--force-bind", is_flag=True, help="Bind a non-loopback address anyway (the sidecar has no auth).")
@click.option(
    "--permit-allow-all", is_flag=True, help="Let chats ask for --allow-all-tools/--allow-all-paths/--allow-all-urls."
)
@click.option(
    "--cli", "cli_path", metavar="PATH", help="The copilot executable (default: $LORAPILOT_COPILOT_CLI, then PATH)."
)
@workspace_option
def serve(ctx, host: str, port: int | None, force_bind: bool, permit_allow_all: bool, cli_path: str | None) -> None:
    """Serve the sidecar's HTTP API with uvicorn."""
    port = port or ctx.registry.get("copilot").port
    from lorapilot.kit.netaddr import is_loopback
    from lorapilot.tools.copilot.server import check_bind_host
    from lorapilot.tools.copilot.server import serve as serve_sidecar

    check_bind_host(host, force=force_bind)
    if not is_loopback(host):
        click.echo(f"warning: the Copilot sidecar listens on {host} without authentication (--force-bind)", err=True)
    serve_sidecar(_service(ctx, permit_allow_all, cli_path), host, port)


@copilot_group.command("status")
@workspace_option
def status(ctx) -> None:
    """Whether the CLI is installed (and its version) and whether a token is configured."""
    info = _service(ctx).status()
    cli = info["cli"]
    if cli["installed"]:
        click.echo(f"cli:    {cli['path']} (version {cli['version']})")
    else:
        click.echo(f"cli:    not available: {cli['error']}\n        install: {cli['install_hint']}")
    token = info["token"]
    click.echo(f"token:  {'configured from ' + token['source'] if token['configured'] else 'not configured'}")
    click.echo(f"cwd:    {info['cwd'] or info['cwd_error']}")


@copilot_group.command("ask")
@click.argument("prompt", required=False)
@click.option("--cwd", help="Working directory, relative to the workspace (default: [copilot] default_cwd, outputs).")
@click.option("--allow-tool", "allow_tools", multiple=True, metavar="PATTERN", help="e.g. write, 'shell(git:*)'.")
@click.option("--deny-tool", "deny_tools", multiple=True, metavar="PATTERN")
@click.option(
    "--add-dir", "add_dirs", multiple=True, metavar="DIR", help="Another workspace folder Copilot may read and write."
)
@click.option("--model")
@click.option("--conversation", "conversation_id", metavar="UUID", help="Continue this conversation.")
@click.option("--timeout", "timeout_s", type=float, help="Seconds before the run is killed.")
@workspace_option
def ask(ctx, prompt, cwd, allow_tools, deny_tools, add_dirs, model, conversation_id, timeout_s) -> None:
    """Ask Copilot once (PROMPT, or stdin); the answer streams to stdout and is kept in the history."""
    from lorapilot.tools.copilot.command import ChatOptions

    if prompt is None:
        prompt = sys.stdin.read()
    options = ChatOptions(
        prompt=prompt,
        cwd=cwd,
        allow_tools=list(allow_tools),
        deny_tools=list(deny_tools),
        add_dirs=list(add_dirs),
        model=model,
        conversation_id=conversation_id,
    )

    async def run() -> dict:
        service = _service(ctx)
        try:
            chat = await service.start(options, timeout_s)
            async for kind, data in chat.follow():
                if kind == "output":
                    stream = sys.stdout if data["stream"] == "stdout" else sys.stderr
                    stream.write(data["text"])
                    stream.flush()
            return await chat.wait()
        finally:
            await service.shutdown()

    result = asyncio.run(run())
    click.echo(f"[conversation {result['conversation_id']}, {result['status']}, {result['duration_s']:.1f}s]", err=True)
    if result["status"] != "ok":
        sys.exit(result["exit_code"] if result["exit_code"] not in (None, 0) else 1)


@copilot_group.command("history")
@click.option("--conversation", "conversation_id", metavar="UUID", help="Only this conversation, in full.")
@click.option("--limit", default=20, show_default=True, type=int)
@workspace_option
def history(ctx, conversation_id: str | None, limit: int) -> None:
    """The latest chats (newest first), or one whole conversation."""
    with _history(ctx) as db:
        if conversation_id is None:
            for conv in db.conversations(limit):
                click.echo(
                    f"{conv['conversation_id']}  {_when(conv['last_at'])}  {conv['messages']:>3} msg  {conv['title']}"
                )
            return
        for entry in reversed(db.entries(conversation_id, limit)):
            when = datetime.datetime.fromtimestamp(entry.started_at).strftime("%Y-%m-%d %H:%M:%S")
            click.echo(f"--- #{entry.id} {when} in /{entry.cwd} [{entry.status}, exit {entry.exit_code}]")
            click.echo(f"> {entry.prompt.rstrip()}")
            click.echo(entry.answer.rstrip())


@copilot_group.command("delete")
@click.argument("entry_id", type=int)
@workspace_option
def delete(ctx, entry_id: int) -> None:
    """Move history entry ENTRY_ID (the #id `history --conversation` shows) to the Copilot trash."""
    with _history(ctx) as db:
        db.delete(entry_id)
    click.echo(f"moved #{entry_id} to the Copilot trash (undo: lorapilot copilot trash restore {entry_id})")


@copilot_group.command("clear")
@click.option("--conversation", "conversation_id", metavar="UUID", help="Only this conversation.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@workspace_option
def clear(ctx, conversation_id: str | None, yes: bool) -> None:
    """Move the whole history (or one conversation) to the Copilot trash, restorable as one batch."""
    if not yes:
        what = f"conversation {conversation_id}" if conversation_id else "the whole Copilot history"
        click.confirm(f"Move {what} to the trash?", abort=True)
    with _history(ctx) as db:
        result = db.clear(conversation_id)
    click.echo(f"moved {result['deleted']} entr{'y' if result['deleted'] == 1 else 'ies'} to the Copilot trash")
    if result["kept_running"]:
        click.echo(f"kept {result['kept_running']} running entr{'y' if result['kept_running'] == 1 else 'ies'}")
    if result["batch"]:
        click.echo(f"undo: lorapilot copilot trash restore --batch {result['batch']}")


@copilot_group.group("trash")
def trash_group() -> None:
    """Deleted Copilot history: list, restore, or delete for good."""


@trash_group.command("list")
@click.option("--limit", default=50, show_default=True, type=int)
@workspace_option
def trash_list(ctx, limit: int) -> None:
    """Trashed entries, most recently deleted first (with the batch a clear restores at once)."""
    with _history(ctx) as db:
        entries = db.trash(limit)
    if not entries:
        click.echo("the Copilot trash is empty")
    for e in entries:
        title = next(iter(e.prompt.strip().splitlines()), "")[:80]
        click.echo(f"#{e.id:<6} deleted {_when(e.deleted_at)}  batch {e.deleted_batch}  {title}")


@trash_group.command("restore")
@click.argument("entry_id", type=int, required=False)
@click.option("--batch", help="Restore every entry one delete or clear moved (its batch id).")
@workspace_option
def trash_restore(ctx, entry_id: int | None, batch: str | None) -> None:
    """Put entry ENTRY_ID (or a --batch) back in the history."""
    with _history(ctx) as db:
        restored = db.restore(entry_id, batch)
    click.echo(f"restored {restored} entr{'y' if restored == 1 else 'ies'}")


@trash_group.command("empty")
@click.option("--older-than", type=click.FloatRange(min=0), help="Only entries deleted more than this many days ago.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@workspace_option
def trash_empty(ctx, older_than: float | None, yes: bool) -> None:
    """Delete trashed entries for good (all, or those older than --older-than days)."""
    if not yes:
        what = (
            "every entry in the Copilot trash"
            if older_than is None
            else f"Copilot trash entries older than {older_than:g} days"
        )
        click.confirm(f"Delete {what} for good?", abort=True)
    with _history(ctx) as db:
        purged = db.empty_trash(None if older_than is None else older_than * 86400)
    click.echo(f"deleted {purged} entr{'y' if purged == 1 else 'ies'} for good")
