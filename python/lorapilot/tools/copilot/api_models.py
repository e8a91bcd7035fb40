"""Answers of the Copilot sidecar, which ControlPilot forwards at ``/api/copilot`` (pydantic at the edges).

The sidecar (:mod:`lorapilot.tools.copilot.server`) declares these as its response models; ControlPilot's
proxy (:mod:`lorapilot.tools.copilot.proxy`) passes the sidecar's bytes through unchanged and declares the
same models, so ``/openapi.json`` (and the web UI's generated types) describe what the browser gets.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lorapilot.stack.apimodels import ResponseModel


class TokenBody(BaseModel):
    """``PUT /api/copilot/token``."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(description="a GitHub token with the Copilot Requests permission")


class CopilotTokenState(ResponseModel):
    """Whether a token is configured and where it comes from; never the token."""

    configured: bool
    source: str | None = None


class SidecarState(ResponseModel):
    url: str
    running: bool
    error: str | None = None


class CopilotCliState(ResponseModel):
    installed: bool
    path: str | None = None
    version: str | None = None
    error: str | None = None
    install_hint: str | None = None


class ChatRunSummary(ResponseModel):
    id: int
    conversation_id: str
    cwd: str
    started_at: float


class CopilotStatus(ResponseModel):
    """One clear ``state`` for the drawer (ready, busy, no_token, cli_not_installed, sidecar_not_running,
    disabled) with a ``message`` saying what to do; the sidecar's own fields when it answers."""

    state: str
    message: str
    sidecar: SidecarState
    token: CopilotTokenState | None = None
    version: str | None = None
    workspace: str | None = None
    cwd: str | None = None
    default_cwd: str | None = None
    cwd_error: str | None = None
    cli: CopilotCliState | None = None
    busy: bool | None = None
    running: ChatRunSummary | None = None
    permit_allow_all: bool | None = None
    default_timeout_s: float | None = None
    max_timeout_s: float | None = None


class SidecarStatus(ResponseModel):
    """The sidecar's ``GET /status``: CLI, token (configured or not), the default cwd, busy."""

    version: str
    workspace: str
    cwd: str | None
    default_cwd: str | None = None
    cwd_error: str | None = None
    cli: CopilotCliState
    token: CopilotTokenState
    busy: bool
    running: ChatRunSummary | None = None
    permit_allow_all: bool
    default_timeout_s: float
    max_timeout_s: float


class ChatResult(ChatRunSummary):
    """The answer to one message (``POST /chat`` without streaming; the ``end`` event when streaming)."""

    stdout: str
    stderr: str
    exit_code: int | None = None
    duration_s: float | None = None
    status: str
    timed_out: bool
    truncated: bool


class ChatCancelled(ResponseModel):
    cancelled: bool
    running: ChatRunSummary | None = None


class ChatEntry(ResponseModel):
    """One message and its answer, as kept in the history (or its trash)."""

    id: int
    conversation_id: str
    prompt: str
    answer: str
    stderr: str
    exit_code: int | None = None
    status: str
    cwd: str
    model: str | None = None
    permissions: dict[str, Any]
    started_at: float
    duration_s: float | None = None
    deleted_at: float | None = None
    deleted_batch: str | None = None


class ChatEntries(ResponseModel):
    entries: list[ChatEntry]


class Conversation(ResponseModel):
    conversation_id: str
    messages: int
    started_at: float
    last_at: float
    title: str


class Conversations(ResponseModel):
    conversations: list[Conversation]


class HistoryDeleted(ResponseModel):
    """What went to the trash; ``batch`` restores it in one step."""

    batch: str | None = None
    deleted: int
    kept_running: int | None = None


class ChatsRestored(ResponseModel):
    restored: int


class ChatsPurged(ResponseModel):
    purged: int
