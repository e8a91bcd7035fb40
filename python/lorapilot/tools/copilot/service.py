"""One workspace's chat service: one run at a time, live events, history.

The HTTP server (:mod:`.server`) and the CLI (:mod:`.cli`) are thin shells
over :class:`ChatService`. A run is an asyncio task independent of the HTTP
request that started it: a closed browser tab neither kills the run nor
loses its answer, which lands in the history.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot import __version__
from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.safepath import relative_to_root
from lorapilot.stack.workspace.layout import Workspace
from lorapilot.stack.workspace.secrets import read_secrets
from lorapilot.tools.copilot.chat_history import ChatHistory
from lorapilot.tools.copilot.cli_process import RunResult, kill_marked, run_cli
from lorapilot.tools.copilot.command import ChatOptions, Policy, build_env, default_dir, inherited_env, prepare
from lorapilot.tools.copilot.discovery import INSTALL_HINT, CliInfo, cli_info, find_cli, token_status

COMPONENT = "copilot"
DEFAULT_TIMEOUT_S = 600.0
MAX_TIMEOUT_S = 3600.0


class ChatBusy(LorapilotError):
    """Another chat runs in this workspace (HTTP 429)."""

    def __init__(self, message: str, running: dict | None = None):
        super().__init__(message)
        self.running = running


class CliMissing(LorapilotError):
    """The Copilot CLI is not installed or does not run (HTTP 503)."""


@dataclass
class ChatRun:
    """A chat message being answered: its events so far and, at the end, its result."""

    id: int
    conversation_id: str
    cwd: str
    started_at: float
    events: list[tuple[str, dict]] = field(default_factory=list)
    result: dict | None = None
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def summary(self) -> dict:
        return {"id": self.id, "conversation_id": self.conversation_id, "cwd": self.cwd, "started_at": self.started_at}

    def emit(self, kind: str, data: dict) -> None:
        """Append an event and wake every follower (call from the event loop's thread)."""
        self.events.append((kind, data))
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()

    async def follow(self) -> AsyncIterator[tuple[str, dict]]:
        """Every event from the first, then live ones, until ``end``."""
        index = 0
        while True:
            while index < len(self.events):
                kind, data = self.events[index]
                index += 1
                yield kind, data
                if kind == "end":
                    return
            await self._wakeup.wait()

    async def wait(self) -> dict:
        """The final result (what ``end`` carries)."""
        if self.task is not None:
            await asyncio.shield(self.task)
        assert self.result is not None
        return self.result


class _WorkspaceLock:
    """An exclusive, non-blocking flock on ``apps/copilot/chat.lock``: one chat per workspace, across processes."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class ChatService:
    """Runs Copilot CLI chats for one workspace."""

    def __init__(
        self,
        workspace: Workspace,
        policy: Policy = Policy(),
        cli: str | None = None,
        manifest_env: Path | None = None,
        default_timeout_s: float = DEFAULT_TIMEOUT_S,
        max_timeout_s: float = MAX_TIMEOUT_S,
    ):
        self.workspace = workspace
        self.root = Path(os.path.realpath(workspace.root))
        self.policy = policy
        self._cli_explicit = cli
        self._manifest_env = manifest_env
        self.default_timeout_s = default_timeout_s
        self.max_timeout_s = max_timeout_s
        self.state_dir = workspace.state_dir(COMPONENT)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.history = ChatHistory(self.state_dir / "history.db")
        # Taken once: a token the launcher copied from secrets.env must not outlive its removal there.
        self._base_env = inherited_env(self._secrets())
        self._lock = _WorkspaceLock(self.state_dir / "chat.lock")
        self._run_file = self.state_dir / "running.json"
        self._info_cache: tuple[tuple, CliInfo] | None = None
        self.current: ChatRun | None = None
        self._recover()

    def _recover(self) -> None:
        """After a crash: kill what the last run left and mark its history row interrupted.

        Only while nobody holds the workspace lock: a running chat is never touched.
        """
        if not self._lock.acquire():
            return
        try:
            if self._run_file.exists():
                try:
                    marker = json.loads(self._run_file.read_text(encoding="utf-8"))["marker"]
                except (ValueError, KeyError, TypeError):
                    marker = None
                if marker:
                    kill_marked(marker)
                self._run_file.unlink(missing_ok=True)
            self.history.mark_interrupted()
        finally:
            self._lock.release()

    def _secrets(self) -> dict[str, str]:
        return read_secrets(self.workspace.secrets_file)

    def cli(self) -> CliInfo:
        """The CLI's path and version (``--version`` is run again only when the binary changes)."""
        path = find_cli(self._cli_explicit, self._manifest_env, self.state_dir)
        try:
            stat = os.stat(path) if path else None
            key = (path, stat.st_mtime_ns, stat.st_size) if stat else (None,)
        except OSError:
            key = (path,)
        if self._info_cache is None or self._info_cache[0] != key:
            self._info_cache = (key, cli_info(path))
        return self._info_cache[1]

    def status(self) -> dict:
        """What ``GET /status`` answers: CLI, token (configured or not), the default cwd, busy."""
        try:
            cwd, cwd_error = str(default_dir(self.root, self.policy)), None
        except LorapilotError as exc:  # a bad [copilot] default_cwd: say so, answer the rest
            cwd, cwd_error = None, str(exc)
        return {
            "version": __version__,
            "workspace": str(self.root),
            "cwd": cwd,
            "default_cwd": self.policy.default_cwd,
            "cwd_error": cwd_error,
            "cli": self.cli().to_dict(),
            "token": token_status(self._secrets(), self._base_env),
            "busy": self.current is not None,
            "running": self.current.summary() if self.current else None,
            "permit_allow_all": self.policy.permit_allow_all,
            "default_timeout_s": self.default_timeout_s,
            "max_timeout_s": self.max_timeout_s,
        }

    def _timeout(self, timeout_s: float | None) -> float:
        if timeout_s is None:
            return self.default_timeout_s
        if not 0 < timeout_s <= self.max_timeout_s:
            raise LorapilotError(f"timeout_s must be between 0 and {self.max_timeout_s:g} seconds, got {timeout_s:g}")
        return float(timeout_s)

    async def start(self, options: ChatOptions, timeout_s: float | None = None) -> ChatRun:
        """Validate and start a chat; raises :class:`ChatBusy` when one already runs."""
        timeout = self._timeout(timeout_s)
        info = await asyncio.to_thread(self.cli)  # may run `copilot --version`: keep the loop free
        if not info.installed:
            raise CliMissing(f"the GitHub Copilot CLI is not available ({info.error}); install it: {INSTALL_HINT}")
        env = build_env(self._base_env, self._secrets(), self.state_dir / "home")
        command = prepare(info.path, self.root, options, self.policy, env)
        if self.current is not None:
            raise ChatBusy(
                "a chat is already running in this workspace; wait for it or cancel it", self.current.summary()
            )
        if not self._lock.acquire():
            raise ChatBusy("a chat is already running in this workspace (another process holds apps/copilot/chat.lock)")
        try:
            cwd_rel = relative_to_root(self.root, command.cwd)
            permissions = {
                "allow_tools": options.allow_tools,
                "deny_tools": options.deny_tools,
                "allow_all_tools": options.allow_all_tools,
                "allow_all_paths": options.allow_all_paths,
                "allow_all_urls": options.allow_all_urls,
                "add_dirs": [relative_to_root(self.root, d) for d in command.add_dirs],
            }
            entry_id = self.history.start(command.conversation_id, options.prompt, cwd_rel, options.model, permissions)
            run = ChatRun(id=entry_id, conversation_id=command.conversation_id, cwd=cwd_rel, started_at=time.time())
            marker = uuid.uuid4().hex
            atomic_write_text(self._run_file, json.dumps({"marker": marker, "id": entry_id, "pid": os.getpid()}))
            self.current = run
            run.task = asyncio.create_task(self._run(run, command, options.prompt, timeout, marker))
        except BaseException:
            self.current = None
            self._run_file.unlink(missing_ok=True)
            self._lock.release()
            raise
        return run

    async def _run(self, run: ChatRun, command, prompt: str, timeout: float, marker: str) -> None:
        def on_output(stream: str, text: str) -> None:
            run.emit("output", {"stream": stream, "text": text})

        run.emit("start", {**run.summary(), "timeout_s": timeout})
        result: RunResult | None = None
        error: str | None = None
        try:
            result = await run_cli(
                command.argv, prompt, command.cwd, command.env, timeout, on_output, run.cancel, marker=marker
            )
        except OSError as exc:  # the CLI vanished between the check and the spawn
            error = f"could not start {command.argv[0]}: {exc}"
        finally:
            if result is None:
                result = RunResult(
                    stdout="",
                    stderr=error or "the run was interrupted",
                    exit_code=None,
                    duration_s=round(time.time() - run.started_at, 3),
                    status="error",
                )
            self.history.finish(
                run.id, result.stdout, result.stderr, result.exit_code, result.status, result.duration_s
            )
            run.result = {
                **run.summary(),
                "stdout": result.stdout,
                "stderr": result.stderr,
                "exit_code": result.exit_code,
                "duration_s": result.duration_s,
                "status": result.status,
                "timed_out": result.timed_out,
                "truncated": result.truncated,
            }
            self.current = None
            self._run_file.unlink(missing_ok=True)
            self._lock.release()
            run.emit("end", run.result)

    def cancel(self) -> dict | None:
        """Stop the running chat (its process group is killed); None when nothing runs."""
        run = self.current
        if run is None:
            return None
        run.cancel.set()
        return run.summary()

    async def shutdown(self) -> None:
        """Cancel a running chat and wait for it, then close the history."""
        run = self.current
        if run is not None and run.task is not None:
            run.cancel.set()
            await asyncio.gather(run.task, return_exceptions=True)
        self.history.close()
