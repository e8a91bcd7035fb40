"""The shared workspace: layout, secrets and the per-app config files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.fsutil import write_if_changed
from lorapilot.stack.settings import SETTINGS_TEMPLATE
from lorapilot.stack.workspace.appconfig import (
    wire_ai_toolkit,
    write_comfy_paths,
    write_invokeai_yaml,
    write_kohya_config,
)
from lorapilot.stack.workspace.layout import MODEL_FOLDERS, Workspace, check_usable, ensure_layout, resolve_root
from lorapilot.stack.workspace.secrets import ensure_secrets, read_secrets

__all__ = ["MODEL_FOLDERS", "InitReport", "Workspace", "init_workspace", "resolve_root"]


@dataclass
class InitReport:
    """What ``lorapilot init`` did, file by file."""

    root: Path
    created_dirs: list[Path] = field(default_factory=list)
    files: list[tuple[Path, str]] = field(default_factory=list)
    new_secrets: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created_dirs or self.new_secrets) or any(
            status in ("created", "updated") for _, status in self.files
        )


def preflight(ctx):
    """Check everything ``init`` reads before it writes anything; returns the registry.

    A workspace path that is a file or not writable, a malformed
    ``config/lorapilot.toml``, ``component.toml`` or ``secrets.env`` fails here,
    so a mistake leaves the disk exactly as it was.
    """
    check_usable(ctx.workspace.root)
    registry = ctx.registry  # loads and validates config/lorapilot.toml and every component.toml
    read_secrets(ctx.workspace.secrets_file)
    return registry


def init_workspace(ctx, tool_steps=None) -> InitReport:
    """Create or update the workspace of ``ctx`` (a :class:`lorapilot.stack.context.Context`).

    Idempotent: a second run changes nothing, and no user file is overwritten.
    ``tool_steps(ctx)``, passed by the shells (``lorapilot.tools.run_on_init``), adds each
    tool's own files; the stack never imports a tool.
    """
    ws: Workspace = ctx.workspace
    registry = preflight(ctx)
    settings = registry.settings
    report = InitReport(root=ws.root)
    report.created_dirs = ensure_layout(ws)
    report.new_secrets = ensure_secrets(ws.secrets_file)
    settings_existed = ws.settings_file.exists()
    if not settings_existed:
        write_if_changed(ws.settings_file, SETTINGS_TEMPLATE)
        report.files.append((ws.settings_file, "created"))

    report.files.append(write_comfy_paths(ws, settings.models.extra_roots))
    if "invokeai" in registry:
        invoke = registry.get("invokeai")
        report.files.append(write_invokeai_yaml(ws, settings.host, invoke.port))
    report.files.append(write_kohya_config(ws))
    if "ai-toolkit" in registry:
        src = ctx.manifest.location("ai-toolkit").src or ws.state_dir("ai-toolkit") / "src"
        report.files.append(wire_ai_toolkit(ws, src))
    if tool_steps is not None:
        report.files.extend(tool_steps(ctx))
    return report
