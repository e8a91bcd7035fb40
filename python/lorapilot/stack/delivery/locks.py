"""What a uv.lock installs on one machine: the packages (markers evaluated) and the wheel of each.

uv locks universally; this walks the lock from its root project the way `uv sync` would for
Linux, one Python and one CPU architecture, without resolving anything.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename

from lorapilot.kit.errors import ConfigError


@dataclass(frozen=True)
class LockedFile:
    url: str
    sha256: str | None
    size: int | None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1].split("#", 1)[0]


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    wheel: LockedFile | None  # None: built from an sdist (or not from the registry)
    sdist: LockedFile | None


def _file(entry: dict | None) -> LockedFile | None:
    if not entry or "url" not in entry:
        return None
    digest = entry.get("hash", "")
    return LockedFile(
        entry["url"], digest.split(":", 1)[1] if digest.startswith("sha256:") else None, entry.get("size")
    )


def _platform_tags(python: str, machine: str) -> list[Tag]:
    major, minor = (int(x) for x in python.split(".")[:2])
    platforms = [f"manylinux_2_{v}_{machine}" for v in range(40, 16, -1)]
    platforms += [f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}", f"linux_{machine}"]
    return [*cpython_tags((major, minor), platforms=platforms), *compatible_tags((major, minor), platforms=platforms)]


def pick_wheel(wheels: list[dict], python: str, machine: str) -> LockedFile | None:
    """The wheel pip/uv would choose for CPython ``python`` on Linux ``machine`` (best tag first)."""
    rank = {tag: i for i, tag in enumerate(_platform_tags(python, machine))}
    best, best_rank = None, len(rank)
    for entry in wheels:
        locked = _file(entry)
        if locked is None:
            continue
        try:
            _, _, _, tags = parse_wheel_filename(locked.filename)
        except ValueError:
            continue
        score = min((rank[t] for t in tags if t in rank), default=len(rank))
        if score < best_rank:
            best, best_rank = locked, score
    return best


def _marker_env(python: str, machine: str) -> dict[str, str]:
    return {
        "sys_platform": "linux",
        "platform_machine": machine,
        "platform_system": "Linux",
        "os_name": "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }


def read_lock(project: Path) -> dict:
    path = project / "uv.lock"
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path, f"cannot read the lock: {exc}") from None


def environment_packages(
    project: Path, python: str = "3.11", machine: str = "x86_64", extras: list[str] | None = None
) -> list[LockedPackage]:
    """Every registry package the environment of ``project`` installs, sorted by name.

    ``extras``: the root project's extras (default: every extra it declares).
    """
    lock = read_lock(project)
    by_name: dict[str, list[dict]] = {}
    for package in lock["package"]:
        by_name.setdefault(package["name"], []).append(package)
    roots = [p for p in lock["package"] if {"virtual", "editable"} & set(p.get("source", {}))]
    if not roots:
        raise ConfigError(project / "uv.lock", "no root project (virtual or editable source)")
    env = _marker_env(python, machine)
    root = roots[0]
    todo = [
        (root["name"], root["version"], extras if extras is not None else list(root.get("optional-dependencies", {})))
    ]
    expanded: set[tuple[str, str, tuple[str, ...]]] = set()
    found: list[LockedPackage] = []
    while todo:
        name, version, wanted = todo.pop()
        candidates = by_name.get(name, [])
        package = next(
            (p for p in candidates if version is None or p["version"] == version), candidates[0] if candidates else None
        )
        if package is None:
            continue
        key = (name, package["version"], tuple(sorted(wanted)))
        if key in expanded:
            continue  # cycles in the dependency graph end here
        expanded.add(key)
        deps = list(package.get("dependencies", []))
        for extra in wanted:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        if "registry" in package.get("source", {}):
            found.append(
                LockedPackage(
                    name,
                    package["version"],
                    pick_wheel(package.get("wheels", []), python, machine),
                    _file(package.get("sdist")),
                )
            )
        for dep in deps:
            if dep.get("marker") and not Marker(dep["marker"]).evaluate(env):
                continue
            todo.append((dep["name"], dep.get("version"), dep.get("extra", [])))
    unique = {p.name: p for p in found}
    return sorted(unique.values(), key=lambda p: p.name)
