#!/usr/bin/env python3
"""Write flake.lock from local git snapshots, for machines that cannot reach GitHub.

Each GitHub input is locked the way `nix flake lock` would lock it: rev, narHash
(`nix hash path` of the unpacked `git archive REV`, which is what GitHub's
tarball unpacks to) and lastModified (the commit time). Snapshots are bare git
directories named <mirror>/<owner>+<repo>/repo.

A snapshot that lacks some blobs of the pinned tree (large files left out of it)
cannot give the narHash: such an input is written with its rev (and commit time
where the commit is there) but without narHash, and listed in
nix/unhashed-inputs.json with the reason. On a machine with network,
`nix flake update <input>...` fills those in without moving the rev (the revs
are in flake.nix's URLs).

Usage: python3 nix/lock-from-mirrors.py [--mirror /work/.mirror]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

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


def _git(mirror: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", f"--git-dir={mirror}", *args], capture_output=True, text=True)


def lock_github(mirror_root: Path, owner: str, repo: str, rev: str, gaps: dict) -> dict:
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
        archive = subprocess.run(
            f"git --git-dir={mirror} archive {rev} | tar -x -C {tmp}", shell=True, capture_output=True, text=True
        )
        if archive.returncode != 0 or "error" in archive.stderr:
            missing = re.findall(r"for '([^']+)'", archive.stderr)
            gaps[f"{owner}/{repo}"] = (
                "the snapshot lacks large files of the pinned tree ("
                + ", ".join(sorted(set(missing))[:4])
                + "), so its narHash cannot be computed here"
            )
            return locked
        digest = subprocess.run(
            ["nix", "--extra-experimental-features", "nix-command", "hash", "path", tmp],
            capture_output=True, text=True, check=True,
        )
        locked["narHash"] = digest.stdout.strip()
    return locked


def build_lock(mirror_root: Path) -> tuple[dict, dict]:
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
            "locked": lock_github(mirror_root, owner, repo, rev, gaps),
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
    args = parser.parse_args()
    lock, unhashed = build_lock(args.mirror)
    (ROOT / "flake.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    (ROOT / "nix" / "unhashed-inputs.json").write_text(json.dumps(unhashed, indent=2, sort_keys=True) + "\n")
    for name, reason in sorted(unhashed.items()):
        print(f"no narHash for {name}: {reason}")


if __name__ == "__main__":
    main()
