"""ControlPilot's ``/api/copilot/*``: the sidecar behind ControlPilot's auth, plus the token setting.

Chats, history and cancel are forwarded to the sidecar on 127.0.0.1 (SSE
passes through as it arrives). ``/status`` combines the sidecar's answer with
what ControlPilot knows itself, so the drawer can say plainly which of
"sidecar not running", "CLI not installed" or "no token" is in the way.
The token lives in ``config/secrets.env`` (0600) and is never sent back.
"""

from __future__ import annotations

import re

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.apideps import get_ctx
from lorapilot.stack.context import Context
from lorapilot.stack.workspace.secrets import delete_secret, read_secrets, set_secret
from lorapilot.tools.copilot import api_models as m
from lorapilot.tools.copilot.command import TOKEN_SECRET_KEY
from lorapilot.tools.copilot.discovery import INSTALL_HINT
from lorapilot.tools.copilot.guard import secret_headers

COMPONENT = "copilot"
_TOKEN_RE = re.compile(r"^[\x21-\x7e]{8,4096}$")
_FORWARD_HEADERS = ("content-type", "accept")
_RETURN_HEADERS = ("retry-after", "cache-control")

router = APIRouter(prefix="/api/copilot", tags=["copilot"])
# The forwarded routes pass the sidecar's answer through as it is (no second validation here): their
# response_model (the sidecar's own, see api_models) documents it. A chat may stream instead:
_SSE = {200: {"content": {"text/event-stream": {}}, "description": "JSON, or Server-Sent Events when asked"}}


def sidecar_url(ctx: Context) -> str:
    """The sidecar's base URL: always loopback, on the component's configured port."""
    return f"http://127.0.0.1:{ctx.registry.get(COMPONENT).port}"


def _token_state(ctx: Context) -> dict:
    configured = bool(read_secrets(ctx.workspace.secrets_file).get(TOKEN_SECRET_KEY))
    return {"configured": configured, "source": f"secrets.env:{TOKEN_SECRET_KEY}" if configured else None}


def _why(ctx: Context, exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"nothing answers on {sidecar_url(ctx)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _not_running(ctx: Context, error: str) -> dict:
    return {
        "state": "sidecar_not_running",
        "message": f"The Copilot sidecar is not running ({error}). Start it with `lorapilot start copilot`.",
        "sidecar": {"url": sidecar_url(ctx), "running": False, "error": error},
    }


def describe(status: dict) -> tuple[str, str]:
    """(state, message) for a sidecar ``/status`` answer."""
    cli, token = status.get("cli") or {}, status.get("token") or {}
    if not cli.get("installed"):
        return (
            "cli_not_installed",
            f"The GitHub Copilot CLI is not installed ({cli.get('error')}). Install it: {INSTALL_HINT}.",
        )
    if not token.get("configured"):
        return "no_token", (
            'No GitHub token is configured. Add a fine-grained token with the "Copilot Requests" permission '
            "in the Copilot settings (stored in config/secrets.env as COPILOT_GITHUB_TOKEN)."
        )
    if status.get("busy"):
        return "busy", "Copilot is answering another message."
    return "ready", f"Copilot CLI {cli.get('version')} is ready."


@router.get("/status", response_model_exclude_unset=True)  # the sidecar's keys when it answers, no others
async def copilot_status(ctx: Context = Depends(get_ctx)) -> m.CopilotStatus:
    """The sidecar's status and one clear ``state`` for the drawer."""
    comp = ctx.registry.get(COMPONENT)
    if not comp.enabled:
        return {
            "state": "disabled",
            "message": "The copilot component is disabled in config/lorapilot.toml.",
            "sidecar": {"url": sidecar_url(ctx), "running": False},
            "token": _token_state(ctx),
        }
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30, connect=2)) as client:
            resp = await client.get(f"{sidecar_url(ctx)}/status", headers=secret_headers(ctx.workspace.secrets_file))
        resp.raise_for_status()
        status = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {**_not_running(ctx, _why(ctx, exc)), "token": _token_state(ctx)}
    state, message = describe(status)
    return {**status, "state": state, "message": message, "sidecar": {"url": sidecar_url(ctx), "running": True}}


@router.get("/token")
def get_token(ctx: Context = Depends(get_ctx)) -> m.CopilotTokenState:
    """Whether a token is stored in secrets.env (never the token)."""
    return _token_state(ctx)


@router.put("/token")
def put_token(body: m.TokenBody, ctx: Context = Depends(get_ctx)) -> m.CopilotTokenState:
    """Store the token in ``config/secrets.env`` (mode 0600); the sidecar reads it for the next chat."""
    token = body.token.strip()
    if not _TOKEN_RE.match(token):
        raise LorapilotError("token: expected 8 to 4096 printable characters without spaces")
    ctx.workspace.config.mkdir(parents=True, exist_ok=True)
    set_secret(ctx.workspace.secrets_file, TOKEN_SECRET_KEY, token)
    return _token_state(ctx)


@router.delete("/token")
def delete_token(ctx: Context = Depends(get_ctx)) -> m.CopilotTokenState:
    """Remove the token from ``config/secrets.env``."""
    delete_secret(ctx.workspace.secrets_file, TOKEN_SECRET_KEY)
    return _token_state(ctx)


async def _forward(request: Request, ctx: Context, path: str) -> Response:
    """Send the request on to the sidecar; stream SSE back as it comes."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=3))
    headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARD_HEADERS}
    headers.update(secret_headers(ctx.workspace.secrets_file))
    upstream = client.build_request(
        request.method,
        f"{sidecar_url(ctx)}{path}",
        params=request.query_params,
        content=await request.body(),
        headers=headers,
    )
    try:
        resp = await client.send(upstream, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        body = _not_running(ctx, _why(ctx, exc))
        return JSONResponse({"detail": body["message"], **body}, status_code=503)
    out_headers = {k: v for k, v in resp.headers.items() if k.lower() in _RETURN_HEADERS}
    media_type = resp.headers.get("content-type", "application/json")
    if media_type.startswith("text/event-stream"):

        async def relay():
            try:
                async for chunk in resp.aiter_raw():
                    yield chunk
            finally:
                await resp.aclose()
                await client.aclose()

        return StreamingResponse(
            relay(),
            status_code=resp.status_code,
            media_type="text/event-stream",
            headers={**out_headers, "X-Accel-Buffering": "no"},
        )
    try:
        content = await resp.aread()
    finally:
        await resp.aclose()
        await client.aclose()
    return Response(content, status_code=resp.status_code, media_type=media_type, headers=out_headers)


@router.post("/chat", response_model=m.ChatResult, responses=_SSE)
async def chat(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    """Forwarded to the sidecar's ``POST /chat`` (JSON, or SSE when asked)."""
    return await _forward(request, ctx, "/chat")


@router.post("/chat/cancel", response_model=m.ChatCancelled)
async def cancel(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, "/chat/cancel")


@router.get("/history", response_model=m.ChatEntries)
async def history(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, "/history")


@router.get("/history/{entry_id}", response_model=m.ChatEntry)
async def history_entry(entry_id: int, request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, f"/history/{entry_id}")


@router.get("/conversations", response_model=m.Conversations)
async def conversations(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, "/conversations")


@router.delete("/history", response_model=m.HistoryDeleted)
async def clear_history(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    """Move the history (or ``?conversation_id=``'s) to the trash; the answer's ``batch`` undoes it."""
    return await _forward(request, ctx, "/history")


@router.delete("/history/{entry_id}", response_model=m.HistoryDeleted)
async def delete_entry(entry_id: int, request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    """Move one entry to the trash."""
    return await _forward(request, ctx, f"/history/{entry_id}")


@router.get("/trash", response_model=m.ChatEntries)
async def trash(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, "/trash")


@router.post("/trash/restore", response_model=m.ChatsRestored)
async def restore(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, "/trash/restore")


@router.delete("/trash/{entry_id}", response_model=m.ChatsPurged)
async def purge(entry_id: int, request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, f"/trash/{entry_id}")


@router.post("/trash/empty", response_model=m.ChatsPurged)
async def empty_trash(request: Request, ctx: Context = Depends(get_ctx)) -> Response:
    return await _forward(request, ctx, "/trash/empty")
