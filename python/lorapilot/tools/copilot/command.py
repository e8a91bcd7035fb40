"""Turn one chat request into the Copilot CLI's argv and environment.

Every flag used here is listed, with where it was verified, in the package
docstring (:mod:`lorapilot.tools.copilot`). The rules that keep a chat inside the
workspace live here too: the working directory and extra directories must
resolve inside it, and the allow-all permissions need the server's opt-in.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.kit.safepath import resolve_inside

# In precedence order (``copilot help environment``).
TOKEN_ENV_VARS = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")
# The secrets.env key ControlPilot's settings field writes.
TOKEN_SECRET_KEY = "COPILOT_GITHUB_TOKEN"

MAX_PATTERNS = 50
MAX_PROMPT_CHARS = 200_000
_KIND_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-/]{0,99}$")
# Read by the CLI as --allow-all-tools ("true" also trusts the folder's hooks, MCP servers
# and plugins; ``copilot help environment``): only the request's own flags may grant that.
ALLOW_ALL_ENV_VAR = "COPILOT_ALLOW_ALL"
# Patterns that grant as much as an allow-all flag: every shell command or every URL.
_UNBOUNDED_ARGS = {"", "*", ":*"}
# Commands that run whatever their arguments say (a shell, an interpreter, a wrapper that execs
# its arguments): ``shell(bash:*)`` or ``shell(python3 -c *)`` allows every command there is.
_ANY_COMMAND_RUNNERS = re.compile(
    r"^(?:(?:ba|da|k|z|c|tc|fi|a|mk|r|)sh|yash|busybox|toybox|env|exec|eval|command|builtin|xargs|nohup|nice|ionice|"
    r"timeout|stdbuf|setsid|sudo|su|doas|runuser|chroot|unshare|nsenter|flock|watch|script|parallel|"
    r"python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|irb|node|nodejs|deno|bun|npx|php[0-9.]*|lua[0-9.]*|"
    r"luajit|tclsh|wish|Rscript|julia|pwsh|powershell|awk|gawk|mawk|nawk|find|expect|ssh)$"
)


class PermissionRefused(LorapilotError):
    """The request asks for more than this sidecar permits."""


# Folders a chat may not work in, see or contain (the CLI's read tools need no permission
# inside its folders): config/ holds secrets.env with every token, apps/copilot/ the CLI's
# own state (COPILOT_HOME: its settings and sessions) and the chat history.
PROTECTED_DIRS = ("config", "apps/copilot")
# Where a chat runs when it names no folder: training runs, their logs and samples live there.
DEFAULT_CWD = "outputs"


@dataclass(frozen=True)
class Policy:
    """What the server operator allows chat requests to ask for, and where chats run by default.

    ``permit_allow_all`` also lets a chat work in a folder that holds a
    protected one (the workspace root): the operator accepted broad access.
    """

    permit_allow_all: bool = False
    default_cwd: str = DEFAULT_CWD


@dataclass
class ChatOptions:
    """One chat message, as validated from a request (paths still user-relative)."""

    prompt: str
    cwd: str | None = None
    allow_tools: list[str] = field(default_factory=list)
    deny_tools: list[str] = field(default_factory=list)
    allow_all_tools: bool = False
    allow_all_paths: bool = False
    allow_all_urls: bool = False
    add_dirs: list[str] = field(default_factory=list)
    model: str | None = None
    conversation_id: str | None = None


@dataclass(frozen=True)
class PreparedCommand:
    """What to run: argv (prompt not included: it goes on stdin), cwd and environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    conversation_id: str
    add_dirs: list[Path] = field(default_factory=list)


def split_pattern(pattern: str) -> tuple[str, str | None]:
    """``kind(argument)`` -> (kind, argument); a bare ``kind`` has no argument.

    Raises :class:`LorapilotError` naming the pattern when it is malformed.
    """
    text = pattern.strip()
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text) or len(text) > 1000:
        raise LorapilotError(f"tool pattern {pattern!r} must be non-empty printable text of at most 1000 characters")
    kind, paren, rest = text.partition("(")
    if not _KIND_RE.match(kind) or kind.startswith("-"):
        raise LorapilotError(
            f"tool pattern {pattern!r}: expected kind(argument) with a kind such as shell, write, url or an MCP server name"
        )
    if not paren:
        return kind, None
    if not rest.endswith(")"):
        raise LorapilotError(f"tool pattern {pattern!r}: missing the closing ')'")
    return kind, rest[:-1].strip()


def is_unbounded(pattern: str) -> bool:
    """Whether an allow pattern grants every shell command or every URL.

    Besides a bare ``shell``/``url`` and ``*``, a URL pattern made of nothing
    but a scheme and wildcards (``https://*``, ``*.*``) counts as every URL, and
    a wildcard after a shell, an interpreter or a command that runs its
    arguments (``shell(bash:*)``, ``shell(python3:*)``, ``shell(env:*)``) counts
    as every command.
    """
    kind, arg = split_pattern(pattern)
    if kind not in ("shell", "url"):
        return False
    if arg is None or arg in _UNBOUNDED_ARGS:
        return True
    if kind == "url":
        host = re.sub(r"^[A-Za-z][A-Za-z0-9+.\-]*://", "", arg)
        return host.strip("*./") == ""
    if arg.strip("*: ") == "":
        return True
    command = re.split(r"[\s:]", arg.strip(), maxsplit=1)[0].rsplit("/", 1)[-1]
    return "*" in arg and bool(_ANY_COMMAND_RUNNERS.match(command))


def check_permissions(options: ChatOptions, policy: Policy) -> None:
    """Refuse allow-all requests (flags or equivalent patterns) without the server's opt-in."""
    for name, patterns in (("allow_tools", options.allow_tools), ("deny_tools", options.deny_tools)):
        if len(patterns) > MAX_PATTERNS:
            raise LorapilotError(f"{name}: at most {MAX_PATTERNS} patterns, got {len(patterns)}")
        for pattern in patterns:
            split_pattern(pattern)
    if policy.permit_allow_all:
        return
    asked = [
        flag
        for flag, on in (
            ("allow_all_tools", options.allow_all_tools),
            ("allow_all_paths", options.allow_all_paths),
            ("allow_all_urls", options.allow_all_urls),
        )
        if on
    ]
    asked += [f"allow_tools {p!r}" for p in options.allow_tools if is_unbounded(p)]
    if asked:
        raise PermissionRefused(
            f"refused: {', '.join(asked)} would let Copilot act outside the workspace; "
            "the sidecar must be started with --permit-allow-all (or [copilot] permit_allow_all = true) to allow it"
        )


def _check_model(model: str) -> str:
    if not _MODEL_RE.match(model):
        raise LorapilotError(f"model {model!r}: expected a model name such as 'gpt-5' or 'claude-sonnet-4.5'")
    return model


def _check_conversation_id(value: str | None) -> str:
    if value is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise LorapilotError(f"conversation_id {value!r} is not a UUID") from None


def resolve_dir(workspace: Path, user_path: str | None, field_name: str) -> Path:
    """A directory inside the workspace (default: the workspace itself)."""
    path = resolve_inside(workspace, user_path or ".")
    if not path.is_dir():
        raise LorapilotError(f"{field_name} {user_path!r} is not a directory inside the workspace")
    return path


def check_unprotected(workspace: Path, path: Path, user_path: str | None, field_name: str) -> None:
    """Refuse a folder that is, lies in, or holds one of :data:`PROTECTED_DIRS`."""
    root = Path(os.path.realpath(workspace))
    for rel in PROTECTED_DIRS:
        guarded = Path(os.path.realpath(root / rel))
        if path == guarded or guarded in path.parents or path in guarded.parents:
            shown = user_path if user_path not in (None, "") else "."
            raise LorapilotError(
                f"{field_name} {shown!r} would let Copilot read {rel}/ (tokens in config/secrets.env, or "
                "Copilot's own settings and history); choose a folder such as outputs, datasets or models "
                "(add_dirs for more than one), or start the sidecar with --permit-allow-all"
            )


def default_dir(workspace: Path, policy: Policy) -> Path:
    """The policy's default working folder, created when missing (it must lie inside the workspace)."""
    try:
        path = resolve_inside(workspace, policy.default_cwd)
        path.mkdir(parents=True, exist_ok=True)
    except (LorapilotError, OSError) as exc:
        raise LorapilotError(f"[copilot] default_cwd {policy.default_cwd!r} in config/lorapilot.toml: {exc}") from None
    return path


def token_from(secrets: dict[str, str], environ: dict[str, str]) -> tuple[str | None, str | None]:
    """(token, source): secrets.env's COPILOT_GITHUB_TOKEN first, then the CLI's variables."""
    if secrets.get(TOKEN_SECRET_KEY):
        return secrets[TOKEN_SECRET_KEY], f"secrets.env:{TOKEN_SECRET_KEY}"
    for name in TOKEN_ENV_VARS:
        if environ.get(name):
            return environ[name], f"env:{name}"
    return None, None


def build_env(base: dict[str, str], secrets: dict[str, str], copilot_home: Path) -> dict[str, str]:
    """The CLI's environment: ``base`` plus the token, its state folder, no colour, no updates.

    ``COPILOT_ALLOW_ALL`` is dropped whatever its value, so the service's own
    environment can never lift the permission checks behind the policy's back.
    """
    env = dict(base)
    env.pop(ALLOW_ALL_ENV_VAR, None)
    token, source = token_from(secrets, base)
    if token and source and source.startswith("secrets.env"):
        env[TOKEN_SECRET_KEY] = token
    env.setdefault("COPILOT_HOME", str(copilot_home))
    env["COPILOT_AUTO_UPDATE"] = "false"
    env["NO_COLOR"] = "1"
    return env


def prepare(
    cli: str,
    workspace: Path,
    options: ChatOptions,
    policy: Policy,
    env: dict[str, str],
) -> PreparedCommand:
    """Validate ``options`` against the workspace and policy and build the command.

    Raises :class:`LorapilotError` (bad field) or :class:`PermissionRefused`.
    """
    if not options.prompt or not options.prompt.strip():
        raise LorapilotError("prompt must not be empty")
    if len(options.prompt) > MAX_PROMPT_CHARS:
        raise LorapilotError(f"prompt is {len(options.prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
    check_permissions(options, policy)
    cwd = resolve_dir(workspace, options.cwd, "cwd") if options.cwd else default_dir(workspace, policy)
    add_dirs = [resolve_dir(workspace, d, "add_dirs entry") for d in options.add_dirs]
    if not policy.permit_allow_all:
        check_unprotected(workspace, cwd, options.cwd or policy.default_cwd, "cwd")
        for user_path, path in zip(options.add_dirs, add_dirs):
            check_unprotected(workspace, path, user_path, "add_dirs entry")
    conversation_id = _check_conversation_id(options.conversation_id)

    argv = [
        cli,
        "--no-color",
        "--no-auto-update",
        # Paths stay inside cwd and the add_dirs (all in the workspace): not the system temp dir.
        "--disallow-temp-dir",
        f"--secret-env-vars={','.join(TOKEN_ENV_VARS)}",
        f"--session-id={conversation_id}",
    ]
    if options.model:
        argv.append(f"--model={_check_model(options.model)}")
    argv += [f"--add-dir={d}" for d in add_dirs]
    # The '=' form keeps a variadic option from swallowing the next argument.
    argv += [f"--allow-tool={p.strip()}" for p in options.allow_tools]
    argv += [f"--deny-tool={p.strip()}" for p in options.deny_tools]
    for flag, on in (
        ("--allow-all-tools", options.allow_all_tools),
        ("--allow-all-paths", options.allow_all_paths),
        ("--allow-all-urls", options.allow_all_urls),
    ):
        if on:
            argv.append(flag)
    return PreparedCommand(argv=argv, cwd=cwd, env=env, conversation_id=conversation_id, add_dirs=add_dirs)


def inherited_env(secrets: dict[str, str]) -> dict[str, str]:
    """This process's environment, minus a token the launcher copied from secrets.env.

    secrets.env is read again for every chat, so a token changed or cleared in
    ControlPilot's settings takes effect without a restart.
    """
    env = dict(os.environ)
    if secrets.get(TOKEN_SECRET_KEY) and env.get(TOKEN_SECRET_KEY) == secrets[TOKEN_SECRET_KEY]:
        env.pop(TOKEN_SECRET_KEY)
    return env
