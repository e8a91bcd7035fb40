"""``scripts/check-linkage``: the linkage check over the wheels of each locked environment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.delivery.environments import LockedEnvironment, locked_environments, select, stack_python
from lorapilot.stack.delivery.linkage import SystemLibs, check_linkage
from lorapilot.stack.delivery.locks import LockedPackage
from lorapilot.stack.delivery.wheelcache import cached_wheel

DEFAULT_CACHE = Path.home() / ".cache" / "lorapilot" / "wheels"


def fetch_wheels(packages: list[LockedPackage], cache: Path, label: str) -> dict[str, Path]:
    """Every package's wheel from the cache (downloading what is missing), with a progress bar."""
    wanted = [(p, p.wheel) for p in packages if p.wheel is not None]
    total = sum(wheel.size or 0 for _, wheel in wanted)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
    ) as progress:
        task = progress.add_task(f"{label}: wheels", total=total or None)
        wheels = {}
        for package, wheel in wanted:
            before = (cache / (wheel.sha256 or "unhashed") / wheel.filename).exists()
            wheels[package.name] = cached_wheel(wheel, cache, lambda n: progress.advance(task, n))
            if before:
                progress.advance(task, wheel.size or 0)
    return wheels


def check_one(env: LockedEnvironment, python: str, cache: Path, system: SystemLibs) -> bool:
    packages = env.packages(python)
    wheels = fetch_wheels(packages, cache, env.name)
    report = check_linkage(wheels, system, cache_index=True)
    sdists = sorted(p.name for p in packages if p.wheel is None)
    print(
        f"{env.name}: {len(wheels)} wheels, {report.elf_files} ELF files, "
        f"{len(report.unresolved)} unresolved"
        + (f"; built from sdists, not checked: {', '.join(sdists)}" if sdists else "")
    )
    by_library: dict[str, list[str]] = {}
    for item in report.unresolved:
        by_library.setdefault(item.library, []).append(f"{item.package}:{item.file}")
    for library, users in sorted(by_library.items()):
        print(
            f"  unresolved {library}  <- {', '.join(users[:3])}{f' (+{len(users) - 3} more)' if len(users) > 3 else ''}"
        )
    for line in report.unreadable:
        print(f"  unreadable {line}")
    return report.ok


def main(argv: list[str] | None = None, repo: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check-linkage", description=__doc__)
    parser.add_argument("environments", nargs="*", help="component names or lorapilot-train (default: all)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"wheel cache (default {DEFAULT_CACHE})")
    parser.add_argument("--system-libs", type=Path, help="default: nix/system-libs.json")
    args = parser.parse_args(argv)
    repo = repo or Path(__file__).resolve().parents[4]
    try:
        system = SystemLibs.load(args.system_libs or repo / "nix" / "system-libs.json")
        python = stack_python(repo)
        results = [
            check_one(env, python, args.cache, system) for env in select(locked_environments(repo), args.environments)
        ]
    except LorapilotError as exc:
        print(f"check-linkage: {exc}", file=sys.stderr)
        return 2
    return 0 if all(results) else 1
