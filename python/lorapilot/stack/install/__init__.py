"""``lorapilot install NAME``: one component from its pins, without Nix.

The same pins Nix uses: the git rev (and submodule revs) in component.toml or
environment.toml, the environment in components/<name>/uv.lock, the npm
package-lock.json or version. What lands where is what ``lorapilot up`` looks
for when there is no Nix manifest:

- ``apps/<name>/src``: the pinned source checkout (submodules in place);
- ``apps/<name>/.venv``: ``uv sync --frozen`` of the component's lock; for npm
  components, ``bin/`` with their commands (an ``npm ci`` of the component's
  package-lock.json goes to ``apps/<name>/node_modules``).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lorapilot.kit.errors import LorapilotError, NotFoundError
from lorapilot.kit.fsutil import atomic_write_text
from lorapilot.kit.progress import Progress, no_progress
from lorapilot.stack.components.environments import load_environments
from lorapilot.stack.components.registry import default_components_dir
from lorapilot.stack.components.spec import Source
from lorapilot.stack.context import Context
from lorapilot.stack.install import native_trainer
from lorapilot.stack.install.git import checkout_pinned
from lorapilot.stack.install.local import LocalSource, install_local_source, parse_from
from lorapilot.stack.install.nodeengine import check_node_engine
from lorapilot.stack.install.nodes import place_pinned_nodes
from lorapilot.stack.install.tools import ToolError, require, run

PYPI = "PyPI (https://pypi.org)"
NPM_REGISTRY = "the npm registry"

# Sources that must be built after checkout before component.toml's command runs:
# AI Toolkit's UI (its `npm run build_and_start`, without the start).
BUILD_STEPS: dict[str, tuple[str, list[list[str]], str]] = {
    "ai-toolkit": (
        "ui",
        [
            ["npm", "ci", "--no-audit", "--no-fund"],
            ["npx", "prisma", "generate"],
            ["npx", "prisma", "db", "push", "--skip-generate"],
            ["npm", "run", "build"],
        ],
        ".next/BUILD_ID",
    ),
}
# Sources that look for their interpreter inside the tree: AI Toolkit's job worker
# runs <tree>/.venv/bin/python. The link points at apps/<name>/.venv.
VENV_LINKS = {"ai-toolkit": ".venv"}


@dataclass(frozen=True)
class InstallTarget:
    """What ``lorapilot install`` knows about one name."""

    name: str
    source: Source
    folder: Path  # components/<name>: pyproject.toml, uv.lock, package-lock.json

    @property
    def has_python_env(self) -> bool:
        return (self.folder / "pyproject.toml").is_file() and (self.folder / "uv.lock").is_file()


@dataclass
class InstallResult:
    name: str
    src: Path | None = None
    env: Path | None = None
    done: list[str] = field(default_factory=list)


def find_target(ctx: Context, name: str) -> InstallTarget:
    """The service or environment called ``name``."""
    components_dir = ctx.components_dir or default_components_dir()
    if name in ctx.registry:
        comp = ctx.registry.get(name)
        return InstallTarget(name, comp.spec.source, comp.spec_path.parent)
    environments = load_environments(components_dir)
    if name in environments:
        spec, path = environments[name]
        return InstallTarget(name, spec.source, path.parent)
    known = ", ".join(sorted([*ctx.registry.names(), *environments, native_trainer.NAME]))
    raise NotFoundError(f"unknown component {name!r}; installable: {known}")


def _steps(target: InstallTarget, source_only: bool = False) -> list[str]:
    steps = []
    if target.source.type == "git":
        steps.append("source")
        if target.name in BUILD_STEPS and not source_only:
            steps.append("build")
    if source_only:
        return steps
    if target.has_python_env:
        steps.append("python")
    if target.source.type == "npm":
        steps.append("npm")
    return steps


@dataclass(frozen=True)
class PreparedInstall:
    """A checked install: the target, its steps, and the tools found for them."""

    target: InstallTarget | None
    steps: list[str]
    tools: dict[str, str | None]
    local: list[LocalSource] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)  # a package install (native-trainer): run these
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or (self.target.name if self.target else "")

    def tool(self, name: str) -> str:
        """The path of tool ``name``, found by :func:`prepare_install` for the steps that need it."""
        path = self.tools.get(name)
        if path is None:
            raise LorapilotError(f"{self.label}: {name} was not looked for; prepare the install again")
        return path


def native_trainer_python(ctx: Context) -> Path:
    """The interpreter the native trainer runs in (what TrainPilot's runspec picks too)."""
    loc = ctx.manifest.location("lorapilot-train")
    return loc.env / "bin" / "python" if loc.env else ctx.manifest.lorapilot_python


def _prepare_native_trainer(ctx: Context) -> PreparedInstall:
    from lorapilot.kit.nvml import gpu_available

    if ctx.manifest.location("lorapilot-train").env:
        raise LorapilotError(
            "the native trainer's environment comes from Nix here (the manifest's lorapilot-train): "
            "there is nothing to install"
        )
    python = native_trainer_python(ctx)
    uv = require("uv", "install the native trainer's packages (torch, diffusers, peft) into " + str(python))
    commands = native_trainer.install_commands(uv, python, gpu_available())
    steps = (["torch (CPU build)"] if len(commands) > 1 else []) + ["the train extra"]
    return PreparedInstall(None, steps, {"uv": uv}, commands=commands, name=native_trainer.NAME)


def _run_commands(prepared: PreparedInstall, progress: Progress, cancel) -> InstallResult:
    result = InstallResult(prepared.label)
    total = len(prepared.commands)
    for index, argv in enumerate(prepared.commands):
        packages = [a for a in argv[5:] if not a.startswith("--") and "://" not in a]
        label = f"uv pip install {' '.join(packages[:3])}{' ...' if len(packages) > 3 else ''}"
        progress(index, total, label)
        index_url = argv[argv.index("--index-url") + 1] if "--index-url" in argv else None

        def on_line(line: str, i: int = index, lb: str = label) -> None:
            progress(i, total, f"{lb}: {line[:100]}")

        run(
            argv,
            doing=f"installing {', '.join(packages)} into {argv[4]}",
            on_line=on_line,
            cancel=cancel,
            network=index_url or PYPI,
        )
        result.done.append(
            f"installed {', '.join(packages)} into {argv[4]}" + (f" (from {index_url})" if index_url else "")
        )
    progress(total, total, "done")
    return result


def prepare_install(
    ctx: Context, name: str, from_paths: list[str] | tuple[str, ...] = (), source_only: bool = False
) -> PreparedInstall:
    """Check that ``name`` can be installed here, before anything is written.

    Fails at once for an unknown or built-in name, and for a missing git, uv or
    npm, with a message saying how to get the tool. ``from_paths`` (``--from``):
    local copies of the pinned source (see :mod:`lorapilot.stack.install.local`);
    ``source_only``: only the source, no environment or build.
    """
    if name in native_trainer.ALIASES:
        if from_paths:
            raise LorapilotError(f"{name}: --from installs git-pinned sources; the native trainer installs packages")
        return _prepare_native_trainer(ctx)
    target = find_target(ctx, name)
    if target.source.type == "builtin":
        raise LorapilotError(f"{name} is part of lorapilot itself: there is nothing to install")
    local = parse_from(from_paths)
    if local and target.source.type != "git":
        raise LorapilotError(f"{name}: --from installs git-pinned sources; {name}'s source is {target.source.type!r}")
    steps = _steps(target, source_only)
    if not steps:
        raise LorapilotError(f"{name}: its source is {target.source.type!r}, which `lorapilot install` cannot install")
    tools = {
        "git": require("git", f"check out {name}'s pinned source") if "source" in steps and not local else None,
        "uv": require("uv", f"create {name}'s Python environment from its uv.lock") if "python" in steps else None,
        "npm": require("npm", f"install {name}'s npm packages") if ("npm" in steps or "build" in steps) else None,
    }
    return PreparedInstall(target, steps, tools, local)


def install(
    ctx: Context,
    name: str,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
    prepared: PreparedInstall | None = None,
) -> InstallResult:
    """Install ``name`` into ``ctx``'s workspace from its pins.

    Re-running is cheap: a source already at its pin is kept, and ``uv sync``
    only changes what differs from the lock.
    """
    prepared = prepared or prepare_install(ctx, name)
    if prepared.commands:
        return _run_commands(prepared, progress, cancel)
    target, steps = prepared.target, prepared.steps
    if target is None:  # only a package install (handled above) has no target
        raise LorapilotError(f"{prepared.label}: nothing to install from pins")
    state = ctx.workspace.state_dir(name)
    state.mkdir(parents=True, exist_ok=True)
    result = InstallResult(name)
    total = len(steps)

    def reporter(index: int, label: str):
        def on_line(line: str) -> None:
            progress(index, total, f"{label}: {line[:100]}")

        progress(index, total, label)
        return on_line

    for index, step in enumerate(steps):
        if step == "source" and prepared.local:
            src = state / "src"
            reporter(index, f"installing {name}'s pinned source from {prepared.local[0].file}")
            changed, notes = install_local_source(name, target.source, prepared.local, src, cancel)
            result.src = src
            result.done.append(
                f"{'installed' if changed else 'kept'} {src} at {(target.source.rev or '')[:12]} "
                f"from {', '.join(str(item.file) for item in prepared.local)}"
            )
            result.done.extend(notes)
        elif step == "source":
            src = state / "src"
            pin = target.source.git_pin()
            on_line = reporter(index, f"fetching {pin.url} @ {pin.rev[:12]}")
            changed = checkout_pinned(prepared.tool("git"), target.source, src, on_line, cancel)
            result.src = src
            result.done.append(f"{'checked out' if changed else 'kept'} {src} at {pin.rev[:12]}")
            result.done += place_pinned_nodes(
                prepared.tool("git"), target.folder, src / "custom_nodes", on_line, cancel
            )
        elif step == "build":
            subdir, commands, built_marker = BUILD_STEPS[name]
            cwd = state / "src" / subdir
            if (cwd / built_marker).exists():
                result.done.append(f"kept the build in {cwd}")
                continue
            for command in commands:
                on_line = reporter(index, f"{' '.join(command[:3])} in {subdir}/")
                run(
                    command,
                    doing=f"building {name} ({' '.join(command)} in {cwd})",
                    cwd=cwd,
                    on_line=on_line,
                    cancel=cancel,
                    network=NPM_REGISTRY,
                )
            result.done.append(f"built {cwd}")
        elif step == "python":
            result.env = _uv_sync(prepared.tool("uv"), target, state / ".venv", reporter(index, "uv sync"), cancel)
            result.done.append(f"synced {result.env} with {target.folder / 'uv.lock'}")
            link = state / "src" / VENV_LINKS[name] if name in VENV_LINKS else None
            if link is not None and not link.exists() and not link.is_symlink():
                link.symlink_to(Path("..") / ".venv")
        elif step == "npm":
            result.env = _npm_install(target, state / ".venv", reporter(index, "npm install"), cancel)
            result.done.append(f"installed {target.source.package}@{target.source.version} into {result.env}")
    progress(total, total, "done")
    atomic_write_text(
        state / "install.json",
        json.dumps(
            {
                "name": name,
                "source": target.source.model_dump(exclude_none=True, exclude_defaults=True),
                "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "done": result.done,
            },
            indent=2,
        )
        + "\n",
    )
    return result


def _uv_sync(uv: str, target: InstallTarget, venv: Path, on_line, cancel) -> Path:
    """``uv sync --frozen`` of the component's lock into ``venv``."""
    argv = [uv, "sync", "--frozen", "--project", str(target.folder)]
    version_file = target.folder / ".python-version"
    version = version_file.read_text().strip() if version_file.is_file() else None
    if version:
        argv += ["--python", version]
    try:
        # From the component's folder, so version managers (pyenv) see its .python-version too.
        run(
            argv,
            doing=f"creating {venv} from {target.folder / 'uv.lock'}",
            cwd=target.folder,
            env={"UV_PROJECT_ENVIRONMENT": str(venv)},
            on_line=on_line,
            cancel=cancel,
            network=PYPI,
        )
    except ToolError as exc:
        if version and "python-build-standalone" in str(exc):
            raise ToolError(
                f"{target.name} needs Python {version}: none was found on this machine and uv could not download "
                f"one. Install python{version} (or run `uv python install {version}` where the network allows)."
            ) from exc
        raise
    return venv


def _npm_install(target: InstallTarget, venv: Path, on_line, cancel) -> Path:
    """npm packages for ``target``; their commands end up in ``venv/bin`` (``{bin}``).

    With a package-lock.json in the component's folder: ``npm ci`` of exactly that
    lock (what Nix builds too) in ``apps/<name>``, so ``apps/<name>/node_modules``
    holds it, and ``venv/bin`` links its commands. Without: the pinned version,
    installed globally into the ``venv`` prefix (``venv/bin``, ``venv/lib``).
    """
    source = target.source
    lock = target.folder / "package-lock.json"
    if not lock.is_file():
        on_line(f"checking {source.package}@{source.version}'s engines.node")
        problem = check_node_engine(source.package or "", source.version or "")
        if problem:
            raise ToolError(problem)
    venv.mkdir(parents=True, exist_ok=True)
    if lock.is_file():
        app_dir = venv.parent
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(target.folder / name, app_dir / name)
        run(
            ["npm", "ci", "--no-audit", "--no-fund", "--omit=dev"],
            doing=f"installing {target.name} from {lock}",
            cwd=app_dir,
            on_line=on_line,
            cancel=cancel,
            network=NPM_REGISTRY,
        )
        bin_dir = venv / "bin"
        bin_dir.mkdir(exist_ok=True)
        for command in sorted((app_dir / "node_modules" / ".bin").iterdir()):
            link = bin_dir / command.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(Path("..") / ".." / "node_modules" / ".bin" / command.name)
    else:
        run(
            [
                "npm",
                "install",
                "--global",
                "--prefix",
                str(venv),
                "--no-audit",
                "--no-fund",
                f"{source.package}@{source.version}",
            ],
            doing=f"installing {source.package}@{source.version}",
            on_line=on_line,
            cancel=cancel,
            network=NPM_REGISTRY,
        )
    return venv
