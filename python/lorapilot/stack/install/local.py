"""Install a git-pinned source from a local copy (``lorapilot install NAME --from PATH``).

For air-gapped machines and the upstream test tier: an archive of the pinned
tree (.tar.gz, .zip ...) or a folder holding it. What can be checked is checked
before anything lands: an archive's sha256 against the one recorded in the
component's ``[source.archive]`` (or a submodule's ``archive``), and the top
folder the tree sits under. The tree (with its submodules) is assembled in a
staging folder beside ``apps/<name>/src`` and renamed into place, so a failed,
refused or interrupted install leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from lorapilot.kit.archive import ArchiveLimits, UnsafeArchiveError
from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.progress import check_cancel
from lorapilot.kit.tararchive import extract_archive, is_tar_name, sha256_file
from lorapilot.stack.components.spec import ArchivePin, GitPin, Source
from lorapilot.stack.install.git import head_of

# Source trees: many small files, some very compressible (JSON, lock files).
SOURCE_LIMITS = ArchiveLimits(max_total_bytes=4 * 1024**3, max_member_bytes=1024**3, max_ratio=1000.0)
# Written into the installed tree: which local copy it came from, so a rerun keeps it.
MARKER = ".lorapilot-source.json"


class SourceMismatchError(LorapilotError):
    """A local copy that is not the pinned source (wrong hash, wrong top folder)."""


@dataclass(frozen=True)
class LocalSource:
    """One ``--from``: the main tree (``path`` is None) or the submodule at ``subpath``."""

    file: Path
    subpath: str | None = None


def parse_from(values: list[str] | tuple[str, ...]) -> list[LocalSource]:
    """``PATH`` for the main tree, ``SUBMODULE=PATH`` for a submodule (e.g. ``sd-scripts=...``)."""
    parsed = []
    for value in values:
        sub, sep, file = value.partition("=")
        if sep and not Path(value).exists():
            parsed.append(LocalSource(Path(file).expanduser(), sub.strip("/")))
        else:
            parsed.append(LocalSource(Path(value).expanduser()))
    return parsed


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(".zip") or is_tar_name(path)


def _verify_hash(name: str, what: str, file: Path, pin: ArchivePin | None, cancel) -> str:
    actual = sha256_file(file, cancel)
    if pin is None:
        raise SourceMismatchError(
            f"{file}: no sha256 is recorded for {what} of {name} (the 'archive' entry of its source in "
            f"components/{name}), so this archive cannot be checked; extract it and pass the folder instead"
        )
    if actual != pin.sha256:
        raise SourceMismatchError(
            f"{file}: sha256 {actual} does not match {pin.sha256}, the one recorded for {what} of {name}; "
            "this is not the pinned source"
        )
    return actual


def _tree_of_archive(name: str, what: str, file: Path, pin: GitPin | Source, into: Path, cancel) -> tuple[Path, str]:
    """Extract ``file`` under ``into`` and return the folder holding the tree, after checking the top folder."""
    digest = _verify_hash(name, what, file, pin.archive, cancel)
    extracted = into / "x"
    extract_archive(file, extracted, SOURCE_LIMITS, cancel=cancel)
    assert pin.archive is not None  # archives without a recorded pin are refused before this
    top = pin.archive.top
    tree = extracted / top
    found = sorted(p.name for p in extracted.iterdir())
    stray = [p for p in found if p != top.split("/")[0]]
    if not tree.is_dir() or stray:
        raise SourceMismatchError(
            f"{file}: expected the tree under '{top}/', found {', '.join(f'{n}/' for n in found) or 'nothing'} "
            f"at its top; this is not {what} of {name}"
        )
    return tree, digest


def _tree_of_folder(name: str, what: str, folder: Path, pin: GitPin | Source) -> Path:
    """A folder holding the tree: when it is a git checkout, it must be at the pinned commit."""
    head = head_of(folder)
    if head is not None and head != pin.rev:
        raise SourceMismatchError(
            f"{folder}: a git checkout at {head[:12]}, not {(pin.rev or '')[:12]}, the pinned commit of {what} of {name}"
        )
    if not any(folder.iterdir()):
        raise SourceMismatchError(f"{folder}: empty folder; expected {what} of {name}")
    _refuse_escaping_links(folder)
    return folder


def _refuse_escaping_links(folder: Path) -> None:
    """Links are copied as links (a checkout's own relative links stay valid); none may point out of the tree."""
    root = folder.resolve()
    for path in folder.rglob("*"):
        if path.is_symlink():
            target = (path.parent / path.readlink()).resolve()
            if target != root and root not in target.parents:
                raise UnsafeArchiveError(f"{path}: a link to {path.readlink()}, outside {folder}")


def _place(name: str, what: str, local: Path, pin: GitPin | Source, dest: Path, work: Path, cancel) -> dict:
    """Put ``what`` (from ``local``) at ``dest`` inside the staging tree; returns what was checked."""
    if not local.exists():
        raise NotFoundError(f"{local}: no such archive or folder (--from for {what} of {name})")
    if dest.exists():  # the folder a submodule leaves in its parent tree: only an empty one is replaced
        if any(dest.iterdir()):
            raise ConflictError(f"{what} of {name}: {dest} is not empty in the main tree; cannot place {local} there")
        dest.rmdir()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if local.is_dir():
        tree = _tree_of_folder(name, what, local, pin)
        # Symlinks are copied as links: a checkout's own relative links stay what they were.
        shutil.copytree(tree, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        return {"path": str(local), "kind": "folder", "verified": "git HEAD" if head_of(local) else "not verifiable"}
    if not _is_archive(local):
        raise LorapilotError(f"{local}: neither a folder nor an archive (.zip, .tar.gz, .tgz, .tar ...)")
    scratch = Path(tempfile.mkdtemp(prefix="extract-", dir=work))
    tree, digest = _tree_of_archive(name, what, local, pin, scratch, cancel)
    tree.rename(dest)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"path": str(local), "kind": "archive", "sha256": digest}


def installed_from(src: Path) -> dict | None:
    """The record of a tree installed with ``--from``, or None."""
    try:
        return json.loads((src / MARKER).read_text())
    except (OSError, ValueError):
        return None


def install_local_source(
    name: str,
    source: Source,
    locals_: list[LocalSource],
    target: Path,
    cancel: threading.Event | None = None,
) -> tuple[bool, list[str]]:
    """Put ``source``'s pinned tree at ``target`` from local copies; (changed, notes).

    Submodules without a ``--from`` are left as empty folders and named in the notes.
    """
    if source.type != "git":
        raise LorapilotError(f"{name}: --from installs git-pinned sources; {name}'s source is {source.type!r}")
    mains = [item for item in locals_ if item.subpath is None]
    if len(mains) != 1:
        raise LorapilotError(f"{name}: give exactly one --from PATH for the main tree (got {len(mains)})")
    subs = {item.subpath: item.file for item in locals_ if item.subpath is not None}
    unknown = sorted(set(subs) - set(source.submodules))
    if unknown:
        known = ", ".join(source.submodules) or "none"
        raise LorapilotError(
            f"{name}: no submodule {', '.join(unknown)} (--from SUBMODULE=PATH); its submodules: {known}"
        )

    previous = installed_from(target)
    if (
        previous is not None
        and previous.get("rev") == source.rev
        and previous.get("from", {}).get("main", {}).get("sha256") == _maybe_hash(mains[0].file, cancel)
    ):
        return False, [f"kept {target}: already installed from {mains[0].file}"]
    if head_of(target) == source.rev:
        return False, [f"kept {target}: a git checkout at the pinned {(source.rev or '')[:12]}"]
    if target.exists():
        raise ConflictError(
            f"{target} already exists; move it away (it may hold changes) to install from {mains[0].file}"
        )

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-from-", dir=target.parent))
    try:
        staged = work / "tree"
        record = {"main": _place(name, "the pinned source", mains[0].file, source, staged, work, cancel)}
        notes = []
        for subpath, pin in source.submodules.items():
            check_cancel(cancel)
            if subpath not in subs:
                notes.append(f"submodule {subpath} not installed: no --from {subpath}=PATH given")
                continue
            record[subpath] = _place(name, f"submodule {subpath}", subs[subpath], pin, staged / subpath, work, cancel)
        (staged / MARKER).write_text(json.dumps({"rev": source.rev, "from": record}, indent=2) + "\n")
        check_cancel(cancel)
        staged.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True, notes


def _maybe_hash(path: Path, cancel) -> str | None:
    return sha256_file(path, cancel) if path.is_file() else None
