#!/usr/bin/env python3
"""Write flake.lock from local git snapshots, for machines that cannot reach GitHub.

Each GitHub input is locked the way `nix flake lock` would lock it: rev, narHash
(`nix hash path` of the unpacked `git archive REV`, which is what GitHub's
tarball unpacks to) and lastModified (the commit time). Snapshots are bare git
directories named <mirror>/<owner>+<repo>/repo.

A snapshot may lack some blobs of the pinned tree (large files left out of it).
nix/recovered-blobs.json names, for some of them, a PyPI wheel that ships the very
same file: the wheel is downloaded, the file taken out and accepted only if its git
blob id equals the one the pinned tree names (so its bytes are exactly upstream's),
then `git archive` reads it from a temporary object directory beside the snapshot.
An input whose tree still lacks blobs cannot give the narHash: it is written with
its rev (and commit time where the commit is there) but without narHash, and listed
in nix/unhashed-inputs.json with the reason. On a machine with network,
`nix flake update <input>...` fills those in without moving the rev (the revs are
in flake.nix's URLs).

Usage: python3 nix/lock-from-mirrors.py [--mirror /work/.mirror] [--wheels DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECOVERED_BLOBS = ROOT / "nix" / "recovered-blobs.json"

# nixpkgs is too large to snapshot: its pin is taken from a published lock
# (uv2nix's flake.lock at the uv2nix rev below), so both agree on nixpkgs.
NIXPKGS = {
    "locked": {
        "lastModified": 1783224372,
        "narHash": "sha256-8i/87eeoqiGE4yOTjwSA3Eh/ziJRQEmd/unYU+K27sk=",
        "owner": "NixOS",
        "repo": "nixpkgs",
        "rev": "d407951447dcd00442e97087bf374aad70c04cea",
        "type": "github",
    },
    "original": {"owner": "NixOS", "ref": "nixos-unstable", "repo": "nixpkgs", "type": "github"},
}

# Build tooling inputs: (input name, owner, repo, rev, follows).
TOOLING = [
    ("pyproject-nix", "pyproject-nix", "pyproject.nix", "7af23cfe91064865ecf2e835da28b45b3c6f49fd",
     {"nixpkgs": ["nixpkgs"]}),
    ("uv2nix", "pyproject-nix", "uv2nix", "49dac8d206c42175b069b7c6050ba27060a21106",
     {"nixpkgs": ["nixpkgs"], "pyproject-nix": ["pyproject-nix"]}),
    ("pyproject-build-systems", "pyproject-nix", "build-system-pkgs", "90ffdeee1a4929b231913df067448cd9803d3e07",
     {"nixpkgs": ["nixpkgs"], "pyproject-nix": ["pyproject-nix"], "uv2nix": ["uv2nix"]}),
]

_GITHUB = re.compile(r"^https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$")


def slug(name: str) -> str:
    """Same rule as nix/pins.nix: lower-case, '_', '.' and ' ' become '-'."""
    return re.sub(r"[_. ]", "-", name.lower())


def component_pins() -> list[tuple[str, str, str]]:
    """(flake input name, url, rev) for every git source and submodule under components/."""
    pins = []
    for folder in sorted(p for p in (ROOT / "components").iterdir() if p.is_dir()):
        spec_file = next((folder / f for f in ("component.toml", "environment.toml") if (folder / f).exists()), None)
        if spec_file is None:
            continue
        source = tomllib.loads(spec_file.read_text())["source"]
        if source["type"] != "git":
            continue
        pins.append((folder.name, source["url"], source["rev"]))
        for path, sub in source.get("submodules", {}).items():
            pins.append((f"{folder.name}-{slug(Path(path).name)}", sub["url"], sub["rev"]))
    return pins


def _git(mirror: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", f"--git-dir={mirror}", *args], capture_output=True, text=True, env=env)


def missing_blobs(mirror: Path, rev: str) -> dict[str, str]:
    """{blob id: path} for every file of REV's tree whose blob the snapshot lacks."""
    listing = _git(mirror, "ls-tree", "-r", "-z", rev)
    paths: dict[str, str] = {}
    for entry in filter(None, listing.stdout.split("\0")):
        meta, path = entry.split("\t", 1)
        _mode, kind, blob = meta.split()
        if kind == "blob":
            paths.setdefault(blob, path)
    checked = subprocess.run(
        ["git", f"--git-dir={mirror}", "cat-file", "--batch-check"],
        input="\n".join(paths) + "\n", capture_output=True, text=True,
    )
    absent = [line.split()[0] for line in checked.stdout.splitlines() if line.endswith(" missing")]
    return {blob: paths[blob] for blob in absent}


def git_blob_id(data: bytes) -> str:
    """The id git gives a file with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _wheel_for(requirement: str, wheels: Path) -> Path:
    """The wheel for REQUIREMENT (name==version) in WHEELS, downloaded from PyPI if absent."""
    name, version = requirement.split("==")
    stem = f"{re.sub(r'[-_.]+', '_', name)}-{version}-"
    found = sorted(wheels.glob(f"{stem}*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(wheels), requirement],
            check=True,
        )
        found = sorted(wheels.glob(f"{stem}*.whl"))
    if not found:
        raise SystemExit(f"nix/recovered-blobs.json: no wheel for {requirement} in {wheels}")
    return found[0]


def recover_blobs(missing: dict[str, str], recipes: list[dict], wheels: Path, objects: Path) -> dict[str, str]:
    """Write each missing blob a recipe can give into OBJECTS; return the blobs still missing.

    A recipe is {"path", "blob", "pypi": "name==version", "member"}: the wheel's MEMBER
    is accepted only when its git blob id is exactly BLOB.
    """
    still = dict(missing)
    for recipe in recipes:
        blob = recipe["blob"]
        if blob not in still:
            continue
        with zipfile.ZipFile(_wheel_for(recipe["pypi"], wheels)) as wheel:
            data = wheel.read(recipe["member"])
        if git_blob_id(data) != blob:
            raise SystemExit(
                f"nix/recovered-blobs.json: {recipe['pypi']} {recipe['member']} is not blob {blob} "
                f"({recipe['path']}); refusing to use it"
            )
        objects.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "hash-object", "-w", "--no-filters", "--stdin"],
            input=data, capture_output=True, check=True, env={**os.environ, "GIT_OBJECT_DIRECTORY": str(objects)},
        )
        del still[blob]
    return still


def _describe_missing(still: dict[str, str], recovered: int) -> str:
    files = ", ".join(sorted(still.values()))
    note = f"; {recovered} other file(s) recovered from PyPI (nix/recovered-blobs.json)" if recovered else ""
    return f"the snapshot lacks large files of the pinned tree ({files}){note}, so its narHash cannot be computed here"


def lock_github(mirror_root: Path, owner: str, repo: str, rev: str, gaps: dict,
                recipes: dict | None = None, wheels: Path | None = None) -> dict:
    """The `locked` attrs of one GitHub input, computed from its snapshot."""
    locked = {"owner": owner, "repo": repo, "rev": rev, "type": "github"}
    mirror = mirror_root / f"{owner}+{repo}" / "repo"
    if not mirror.is_dir():
        gaps[f"{owner}/{repo}"] = f"no snapshot of {owner}/{repo} could be fetched (over the size limit)"
        return locked
    shown = _git(mirror, "log", "-1", "--format=%ct", rev, "--")
    if shown.returncode != 0:
        gaps[f"{owner}/{repo}"] = f"commit {rev} is not in the snapshot"
        return locked
    locked["lastModified"] = int(shown.stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        tree, objects = Path(tmp) / "tree", Path(tmp) / "objects"
        tree.mkdir()
        missing = missing_blobs(mirror, rev)
        still = missing
        if missing:
            with tempfile.TemporaryDirectory() as scratch:
                still = recover_blobs(missing, (recipes or {}).get(f"{owner}/{repo}", []),
                                      wheels or Path(scratch), objects)
        if still:
            gaps[f"{owner}/{repo}"] = _describe_missing(still, len(missing) - len(still))
            return locked
        env = {**os.environ, "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects)}
        archive = subprocess.run(
            ["git", f"--git-dir={mirror}", "archive", "--format=tar", rev],
            capture_output=True, env=env, check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        digest = subprocess.run(
            ["nix", "--extra-experimental-features", "nix-command", "hash", "path", str(tree)],
            capture_output=True, text=True, check=True,
        )
        locked["narHash"] = digest.stdout.strip()
    return locked


def build_lock(mirror_root: Path, wheels: Path | None = None) -> tuple[dict, dict]:
    recipes = json.loads(RECOVERED_BLOBS.read_text()) if RECOVERED_BLOBS.exists() else {}
    nodes: dict = {"nixpkgs": NIXPKGS}
    root_inputs = {"nixpkgs": "nixpkgs"}
    gaps: dict = {}
    for name, owner, repo, rev, follows in TOOLING:
        nodes[name] = {
            "inputs": follows,
            "locked": lock_github(mirror_root, owner, repo, rev, gaps),
            "original": {"owner": owner, "repo": repo, "type": "github"},
        }
        root_inputs[name] = name
    for name, url, rev in component_pins():
        match = _GITHUB.match(url)
        if not match:
            raise SystemExit(f"{name}: only GitHub sources can be locked here, got {url}")
        owner, repo = match.groups()
        nodes[name] = {
            "flake": False,
            "locked": lock_github(mirror_root, owner, repo, rev, gaps, recipes, wheels),
            "original": {"owner": owner, "repo": repo, "rev": rev, "type": "github"},
        }
        root_inputs[name] = name
    nodes["root"] = {"inputs": root_inputs}
    unhashed = {
        name: gaps[f"{node['locked']['owner']}/{node['locked']['repo']}"]
        for name, node in nodes.items()
        if name != "root" and "narHash" not in node["locked"]
    }
    return {"nodes": nodes, "root": "root", "version": 7}, unhashed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--wheels", type=Path, help="folder of (or for) the wheels nix/recovered-blobs.json names")
    args = parser.parse_args()
    lock, unhashed = build_lock(args.mirror, args.wheels)
    (ROOT / "flake.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    (ROOT / "nix" / "unhashed-inputs.json").write_text(json.dumps(unhashed, indent=2, sort_keys=True) + "\n")
    for name, reason in sorted(unhashed.items()):
        print(f"no narHash for {name}: {reason}")


if __name__ == "__main__":
    main()
