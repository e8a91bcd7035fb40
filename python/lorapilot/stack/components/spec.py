"""The pydantic shape of ``components/<name>/component.toml``."""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from lorapilot.kit.models import FrozenModel

# Placeholders an argv template, cwd or env value may use; expanded per workspace.
PLACEHOLDERS = frozenset(
    {
        "port",  # the component's port after user overrides
        "host",  # the bind address (0.0.0.0, or 127.0.0.1 for loopback-only components)
        "name",  # the component's name
        "workspace",
        "models",
        "datasets",
        "outputs",
        "config",
        "logs",
        "apps",
        "cache",
        "generated",  # config/generated
        "state",  # apps/<name>: the component's private state folder
        "env",  # the component's environment (a venv or Nix env) root
        "src",  # the component's pinned source tree
        "python",  # {env}/bin/python
        "bin",  # {env}/bin
        "lorapilot_python",  # the interpreter that has the lorapilot package
    }
)

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_REV_RE = re.compile(r"^[0-9a-f]{40}$")


def template_fields(template: str) -> set[str]:
    """Return the placeholder names used in a ``{...}`` template string."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def check_placeholders(templates: dict[str, str]) -> None:
    """Raise ValueError naming the first field (``where`` -> template) with an unknown placeholder."""
    for where, template in templates.items():
        unknown = template_fields(template) - PLACEHOLDERS
        if unknown:
            raise ValueError(f"{where} uses unknown placeholder(s) {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}")


def check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(f"name must be lower-case letters, digits and '-', got {value!r}")
    return value


# A component or task name: it becomes a process name, a folder and a log file name.
Name = Annotated[str, AfterValidator(check_name)]


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class ArchivePin(FrozenModel):
    """A source archive of a pinned commit (``lorapilot install NAME --from``): its hash and top folder."""

    sha256: str
    top: str = Field(description="the folder the archive's tree sits under, e.g. 'comfyui' or 'a/b/c'")

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _SHA256_RE.match(value):
            raise ValueError(f"sha256 must be 64 lower-case hex digits, got {value!r}")
        return value

    @field_validator("top")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = value.split("/")
        if value.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"top must be a relative folder path without '..', got {value!r}")
        return value


class GitPin(FrozenModel):
    url: str
    rev: str
    archive: ArchivePin | None = None

    @field_validator("rev")
    @classmethod
    def _full_rev(cls, value: str) -> str:
        if not _REV_RE.match(value):
            raise ValueError(f"rev must be a full 40-character commit hash, got {value!r}")
        return value


class Source(FrozenModel):
    """Where a component's code comes from, pinned exactly."""

    type: Literal["git", "pypi", "npm", "nixpkgs", "builtin"]
    url: str | None = None
    rev: str | None = None
    package: str | None = None
    version: str | None = None
    attr: str | None = Field(default=None, description="nixpkgs attribute, when Nix provides it")
    submodules: dict[str, GitPin] = Field(default_factory=dict)
    archive: ArchivePin | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Source:
        if self.type == "git":
            if not self.url or not self.rev:
                raise ValueError("a git source needs both 'url' and 'rev'")
            GitPin(url=self.url, rev=self.rev)
        elif self.type in ("pypi", "npm"):
            if not self.package or not self.version:
                raise ValueError(f"a {self.type} source needs both 'package' and 'version'")
        elif self.type == "nixpkgs" and not self.attr:
            raise ValueError("a nixpkgs source needs 'attr'")
        return self

    def git_pin(self) -> GitPin:
        """The pinned git commit of a ``type = "git"`` source (validated: both url and rev are set)."""
        if self.type != "git" or not self.url or not self.rev:
            raise ValueError(f"not a git source: {self.type}")
        return GitPin(url=self.url, rev=self.rev)


class Run(FrozenModel):
    """How to launch the component."""

    command: list[str] = Field(min_length=1)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    # Environment variable -> key in config/secrets.env; injected at launch so
    # no secret is ever written into a rendered configuration.
    secret_env: dict[str, str] = Field(default_factory=dict)
    args_without_gpu: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_placeholders(self) -> Run:
        fields = {f"command[{i}]": arg for i, arg in enumerate(self.command)}
        if self.cwd:
            fields["cwd"] = self.cwd
        fields.update({f"env.{k}": v for k, v in self.env.items()})
        check_placeholders(fields)
        return self


class Probe(FrozenModel):
    """Readiness probe: an HTTP GET on the component's port, or a command."""

    http: str | None = None
    exec: list[str] | None = None
    status: int | None = None
    initial_delay_s: int = Field(default=2, ge=0)
    period_s: int = Field(default=5, ge=1)
    timeout_s: int = Field(default=3, ge=1)
    failure_threshold: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Probe:
        if (self.http is None) == (self.exec is None):
            raise ValueError("a probe needs exactly one of 'http' (a URL path) or 'exec' (an argv)")
        if self.http is not None and not self.http.startswith("/"):
            raise ValueError(f"probe.http must be a URL path starting with '/', got {self.http!r}")
        return self


class Shutdown(FrozenModel):
    signal: int = Field(default=15, ge=1, le=64)
    timeout_s: int = Field(default=20, ge=1)
    # Kill the whole process group: trainers and UIs spawn workers.
    kill_group: bool = True


class Restart(FrozenModel):
    policy: Literal["on_failure", "always", "no"] = "on_failure"
    backoff_s: int = Field(default=2, ge=1)
    max_restarts: int = Field(default=5, ge=0)


class PostStart(FrozenModel):
    """A one-shot task run each time the component is healthy (e.g. registering models).

    Rendered as its own process that depends on the component (process-compose
    ``process_healthy``; supervisord waits on the component's probe) and is not
    restarted. Its placeholders are the component's ({port} is its port).
    """

    name: Name
    description: str = ""
    command: list[str] = Field(min_length=1)

    @field_validator("command")
    @classmethod
    def _known_placeholders(cls, value: list[str]) -> list[str]:
        check_placeholders({f"command[{i}]": arg for i, arg in enumerate(value)})
        return value


class ComponentSpec(FrozenModel):
    """One component of LoRA Pilot, as declared in its component.toml."""

    name: Name
    title: str
    description: str
    category: Literal["core", "inference", "training", "dev"]
    port: int = Field(ge=1, le=65535)
    loopback_only: bool = False
    url_path: str = "/"
    gpu: bool = False
    autostart: bool = True
    depends_on: list[str] = Field(default_factory=list)
    run: Run
    probe: Probe | None = None
    shutdown: Shutdown = Shutdown()
    restart: Restart = Restart()
    post_start: list[PostStart] = Field(default_factory=list)
    source: Source

    @field_validator("url_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"url_path must start with '/', got {value!r}")
        return value
