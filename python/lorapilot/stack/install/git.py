"""Check out one pinned commit (and pinned submodules) into a folder."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from lorapilot.kit.errors import ConflictError
from lorapilot.stack.components.spec import Source
from lorapilot.stack.install.tools import ToolError, run


def head_of(path: Path) -> str | None:
    """The commit checked out in ``path``, or None when it is not a git checkout."""
    if not (path / ".git").exists():
        return None
    result = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def fetch_commit(git: str, url: str, rev: str, dest: Path, on_line, cancel) -> None:
    """Make ``dest`` a checkout of ``rev`` from ``url`` (shallow when the server allows)."""
    dest.mkdir(parents=True, exist_ok=True)
    quiet = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    run([git, "init", "-q", str(dest)], doing=f"creating a git checkout in {dest}")
    run([git, "-C", str(dest), "remote", "add", "origin", url], doing=f"adding remote {url}")
    try:
        run(
            [git, "-C", str(dest), "fetch", "--progress", "--depth", "1", "origin", rev],
            doing=f"fetching {rev[:12]} from {url}",
            env=quiet,
            on_line=on_line,
            cancel=cancel,
            network=url,
        )
    except ToolError as exc:
        if "cannot reach" in str(exc):
            raise
        # Some servers refuse to serve a commit by hash: fetch everything instead.
        run(
            [git, "-C", str(dest), "fetch", "--progress", "origin"],
            doing=f"fetching {url}",
            env=quiet,
            on_line=on_line,
            cancel=cancel,
            network=url,
        )
    run(
        [git, "-C", str(dest), "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", rev],
        doing=f"checking out {rev} of {url} (is the pinned rev in that repository?)",
    )


def checkout_pinned(
    git: str,
    source: Source,
    target: Path,
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> bool:
    """Put ``source``'s pinned commit and submodules at ``target``; False when already there.

    The checkout is assembled in a temporary folder beside ``target`` and renamed
    into place, so a failed or cancelled install leaves no half-cloned tree. An
    existing ``target`` at another commit, or that is not a git checkout, is left
    alone: it may hold the user's work.
    """
    pin = source.git_pin()
    current = head_of(target)
    if current == pin.rev and all(head_of(target / path) == pin.rev for path, pin in source.submodules.items()):
        return False
    if target.exists():
        if current is None:
            raise ConflictError(f"{target} exists and is not a git checkout; move it away to install the pinned source")
        raise ConflictError(
            f"{target} is at {current[:12]}, not the pinned {pin.rev[:12]}; move it away (it may hold changes) "
            "to install the pinned source"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fetch_commit(git, pin.url, pin.rev, staging, on_line, cancel)
        for path, pin in source.submodules.items():
            sub = staging / path
            if sub.exists():
                shutil.rmtree(sub)  # an empty gitlink folder
            fetch_commit(git, pin.url, pin.rev, sub, on_line, cancel)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True
