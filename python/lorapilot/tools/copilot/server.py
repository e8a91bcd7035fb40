"""The sidecar's HTTP API (FastAPI), served on loopback only.

``GET /health``, ``GET /status``, ``POST /chat`` (JSON, or SSE with
``"stream": true`` or ``Accept: text/event-stream``), ``POST /chat/cancel``,
``GET /history``, ``GET /history/{id}``, ``GET /conversations``; deleting goes
to a trash with restore: ``DELETE /history/{id}``, ``DELETE /history`` (clear;
``?conversation_id=`` for one conversation), ``GET /trash``,
``POST /trash/restore``, ``DELETE /trash/{id}``, ``POST /trash/empty``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.netaddr import is_loopback
from lorapilot.tools.copilot import api_models as m
from lorapilot.tools.copilot.command import MAX_PATTERNS, MAX_PROMPT_CHARS, ChatOptions, PermissionRefused
from lorapilot.tools.copilot.guard import load_secret, refusal
from lorapilot.tools.copilot.service import ChatBusy, ChatService, CliMissing


class BindRefused(LorapilotError):
    """A non-loopback bind address without ``--force-bind``."""


def check_bind_host(host: str, force: bool = False) -> None:
    """Refuse to serve the sidecar beyond this machine unless ``force``d.

    The sidecar's only credential is the secret it shares with ControlPilot's
    proxy (:mod:`.guard`); ControlPilot is the door, and the sidecar stays on loopback.
    """
    if not is_loopback(host) and not force:
        raise BindRefused(
            f"refusing to bind the Copilot sidecar to {host!r}: it has no authentication of its own and must stay "
            "on loopback (127.0.0.1 or ::1); ControlPilot proxies it at /api/copilot. Pass --force-bind to override"
        )


class ChatRequest(BaseModel):
    """``POST /chat``."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    cwd: str | None = Field(default=None, description="working directory, relative to the workspace")
    allow_tools: list[str] = Field(
        default_factory=list,
        max_length=MAX_PATTERNS,
        description="--allow-tool patterns, e.g. 'write' or 'shell(git:*)'",
    )
    deny_tools: list[str] = Field(default_factory=list, max_length=MAX_PATTERNS)
    allow_all_tools: bool = False
    allow_all_paths: bool = False
    allow_all_urls: bool = False
    add_dirs: list[str] = Field(default_factory=list, max_length=20)
    model: str | None = None
    conversation_id: str | None = None
    timeout_s: float | None = None
    stream: bool = False

    def options(self) -> ChatOptions:
        return ChatOptions(**self.model_dump(exclude={"timeout_s", "stream"}))


class RestoreRequest(BaseModel):
    """``POST /trash/restore``: one entry or one batch (a delete or a clear)."""

    model_config = ConfigDict(extra="forbid")
    id: int | None = None
    batch: str | None = None


class EmptyTrashRequest(BaseModel):
    """``POST /trash/empty``: everything, or what was deleted more than ``older_than_days`` ago."""

    model_config = ConfigDict(extra="forbid")
    older_than_days: float | None = Field(default=None, ge=0)


def sse_event(kind: str, data: dict) -> bytes:
    """One Server-Sent Event with a JSON payload."""
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def _wants_stream(request: Request, body: ChatRequest) -> bool:
    return body.stream or "text/event-stream" in request.headers.get("accept", "")


class _GuardMiddleware:
    """Plain ASGI (no buffering, so SSE streams pass untouched): refuse what :func:`refusal` names."""

    def __init__(self, app, secret: str):
        self.app = app
        self.secret = secret

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            why = refusal(headers, scope["path"], self.secret)
            if why is not None:
                await JSONResponse({"detail": why}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_sidecar_app(service: ChatService) -> FastAPI:
    """The sidecar app over one :class:`ChatService`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.loop = asyncio.get_running_loop()
        yield
        await service.shutdown()

    app = FastAPI(
        title="LoRA Pilot Copilot sidecar", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.service = service
    app.state.loop = None
    secret = load_secret(service.workspace.secrets_file)

    app.add_middleware(_GuardMiddleware, secret=secret)

    @app.exception_handler(LorapilotError)
    async def _user_error(request: Request, exc: LorapilotError) -> JSONResponse:
        if isinstance(exc, ChatBusy):
            return JSONResponse(
                {"detail": str(exc), "running": exc.running}, status_code=429, headers={"Retry-After": "5"}
            )
        status = 400
        if isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, ConflictError):
            status = 409
        elif isinstance(exc, PermissionRefused):
            status = 403
        elif isinstance(exc, CliMissing):
            status = 503
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(OverflowError)
    async def _number_too_large(request: Request, exc: OverflowError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"a number in the request is out of range (at most {2**63 - 1})"}, status_code=400
        )

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/status")
    def status() -> m.SidecarStatus:
        return service.status()

    @app.post("/chat", response_model=m.ChatResult)
    async def chat(body: ChatRequest, request: Request):
        run = await service.start(body.options(), body.timeout_s)
        if not _wants_stream(request, body):
            return await run.wait()

        async def events() -> AsyncIterator[bytes]:
            async for kind, data in run.follow():
                yield sse_event(kind, data)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )

    @app.post("/chat/cancel")
    def cancel() -> m.ChatCancelled:
        running = service.cancel()
        return {"cancelled": running is not None, "running": running}

    @app.get("/history")
    def history(
        conversation_id: str | None = None, limit: int = Query(50, ge=1, le=500), before: int | None = None
    ) -> m.ChatEntries:
        entries = service.history.entries(conversation_id, limit, before)
        return {"entries": [e.to_dict() for e in entries]}

    @app.get("/history/{entry_id}")
    def history_entry(entry_id: int) -> m.ChatEntry:
        return service.history.get(entry_id).to_dict()

    @app.delete("/history/{entry_id}")
    def delete_entry(entry_id: int) -> m.HistoryDeleted:
        return service.history.delete(entry_id)

    @app.delete("/history")
    def clear_history(conversation_id: str | None = None) -> m.HistoryDeleted:
        return service.history.clear(conversation_id)

    @app.get("/trash")
    def trash(limit: int = Query(200, ge=1, le=1000)) -> m.ChatEntries:
        return {"entries": [e.to_dict() for e in service.history.trash(limit)]}

    @app.post("/trash/restore")
    def restore(body: RestoreRequest) -> m.ChatsRestored:
        return {"restored": service.history.restore(body.id, body.batch)}

    @app.delete("/trash/{entry_id}")
    def purge(entry_id: int) -> m.ChatsPurged:
        service.history.purge(entry_id)
        return {"purged": 1}

    @app.post("/trash/empty")
    def empty_trash(body: EmptyTrashRequest) -> m.ChatsPurged:
        older = None if body.older_than_days is None else body.older_than_days * 86400
        return {"purged": service.history.empty_trash(older)}

    @app.get("/conversations")
    def conversations(limit: int = Query(50, ge=1, le=500)) -> m.Conversations:
        return {"conversations": service.history.conversations(limit)}

    return app


def serve(service: ChatService, host: str, port: int) -> None:
    """Run the sidecar with uvicorn until SIGTERM/SIGINT.

    On the signal the running chat is cancelled first (its process group
    killed), so uvicorn's wait for open connections is short and the process
    manager never has to SIGKILL the sidecar with a Copilot run still alive.
    """
    import uvicorn

    app = create_sidecar_app(service)

    class SidecarServer(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            loop = app.state.loop
            if loop is not None:
                loop.call_soon_threadsafe(service.cancel)
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", access_log=False, timeout_graceful_shutdown=15, proxy_headers=False
    )
    SidecarServer(config).run()
