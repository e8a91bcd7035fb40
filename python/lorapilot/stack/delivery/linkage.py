"""The check autoPatchelf will do in the Nix build, offline, on the wheels a lock installs.

Every DT_NEEDED of every ELF file must resolve to a file of the environment itself, a library the
Nix expression adds (nix/system-libs.json, which nix/cuda.nix reads too) or the host driver.
"""

from __future__ import annotations

import fnmatch
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lorapilot.kit.errors import ConfigError
from lorapilot.stack.delivery.elf import ELF_MAGIC, ElfError, read_dynamic

X86_64 = 62


@dataclass(frozen=True)
class SystemLibs:
    every_wheel: frozenset[str]  # what nix/cuda.nix adds to every wheel (manylinux2014 policy, zlib)
    host_driver: frozenset[str]
    by_package: dict[str, frozenset[str]]  # package -> sonames its added buildInputs ship
    remove: dict[str, tuple[str, ...]]  # package -> globs of files deleted before autoPatchelf

    @classmethod
    def load(cls, path: Path) -> SystemLibs:
        try:
            data = json.loads(path.read_text())
            provides = data.get("provides", {})
            by_package = {
                pkg: frozenset(s for attr in attrs for s in provides[attr])
                for pkg, attrs in data.get("packages", {}).items()
            }
            return cls(
                frozenset(data["every-wheel"]["sonames"]),
                frozenset(data["host-driver"]),
                by_package,
                {k: tuple(v) for k, v in data.get("remove", {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(path, f"not a system-libs file: {exc!r}") from None

    def removed(self, package: str, filename: str) -> bool:
        return any(fnmatch.fnmatchcase(filename, glob) for glob in self.remove.get(package, ()))


@dataclass(frozen=True)
class Unresolved:
    package: str
    file: str  # path inside the wheel
    library: str  # the DT_NEEDED nothing provides


@dataclass
class LinkageReport:
    elf_files: int = 0
    unresolved: list[Unresolved] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "package: file: why"

    @property
    def ok(self) -> bool:
        return not self.unresolved and not self.unreadable


@dataclass
class _Elf:
    package: str
    member: str
    soname: str | None
    needed: list[str]


INDEX_NAME = "elf-index.json"


def _index_wheel(wheel: Path, unreadable: list[str]) -> list[dict]:
    """Every ELF file of ``wheel``: member, soname, needed, machine (or the reason it is unreadable)."""
    entries = []
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.is_dir() or member.file_size < 64:
                continue
            with archive.open(member) as fh:
                if fh.read(4) != ELF_MAGIC:
                    continue
                try:
                    info = read_dynamic(fh)  # type: ignore[arg-type]  # a zip member reads like a binary file
                except ElfError as exc:
                    unreadable.append(f"{member.filename}: {exc}")
                    continue
            if info is not None:
                entries.append(
                    {"member": member.filename, "soname": info.soname, "needed": info.needed, "machine": info.machine}
                )
    return entries


def _wheel_index(wheel: Path, cache_index: bool, unreadable: list[str]) -> list[dict]:
    # Reading a 1 GB library's dynamic section inflates most of it: a wheel in the cache (one folder
    # per sha256) keeps its index beside it, so later runs read JSON instead.
    index = wheel.parent / INDEX_NAME
    if cache_index and index.exists():
        data = json.loads(index.read_text())
        if data.get("wheel") == wheel.name:
            unreadable += data["unreadable"]
            return data["elf"]
    problems: list[str] = []
    entries = _index_wheel(wheel, problems)
    unreadable += problems
    if cache_index:
        partial = index.with_suffix(".tmp")
        partial.write_text(json.dumps({"wheel": wheel.name, "elf": entries, "unreadable": problems}))
        partial.replace(index)
    return entries


def _elf_files(package: str, wheel: Path, system: SystemLibs, report: LinkageReport, cache_index: bool) -> list[_Elf]:
    unreadable: list[str] = []
    entries = _wheel_index(wheel, cache_index, unreadable)
    report.unreadable += [f"{package}: {line}" for line in unreadable]
    return [
        _Elf(package, e["member"], e["soname"], e["needed"])
        for e in entries
        if e["machine"] == X86_64 and not system.removed(package, PurePosixPath(e["member"]).name)
    ]


def check_linkage(wheels: dict[str, Path], system: SystemLibs, cache_index: bool = False) -> LinkageReport:
    """Check one environment: ``wheels`` maps each package name to its wheel file.

    ``cache_index``: keep each wheel's ELF index beside it (wheels in a cache folder of their own).
    """
    report = LinkageReport()
    elves = [
        elf
        for package, wheel in sorted(wheels.items())
        for elf in _elf_files(package, wheel, system, report, cache_index)
    ]
    report.elf_files = len(elves)
    provided = {PurePosixPath(e.member).name for e in elves} | {e.soname for e in elves if e.soname}
    for elf in elves:
        allowed = provided | system.every_wheel | system.host_driver | system.by_package.get(elf.package, frozenset())
        report.unresolved += [Unresolved(elf.package, elf.member, lib) for lib in elf.needed if lib not in allowed]
    return report
