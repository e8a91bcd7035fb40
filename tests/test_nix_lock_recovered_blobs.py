"""nix/lock-from-mirrors.py: a snapshot that lacks a large file still gets its narHash when a
wheel ships the very same bytes (checked by git blob id), and never when the bytes differ."""

import importlib.util
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from support.nixflake import nix_available
from support.workspaces import REPO_ROOT

pytestmark = [
    pytest.mark.nix,
    pytest.mark.skipif(not nix_available(), reason="nix is not installed (CI installs nix-bin)"),
]

_spec = importlib.util.spec_from_file_location("lock_from_mirrors", REPO_ROOT / "nix" / "lock-from-mirrors.py")
lock_from_mirrors = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_from_mirrors)

FILES = {"README.md": b"tiny upstream\n", "toolkit/keymaps/big.safetensors": os.urandom(200_000)}
BIG = "toolkit/keymaps/big.safetensors"


def _git(*args, cwd=None, env=None):
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def _snapshot_lacking_big_file(tmp_path: Path) -> tuple[Path, str, str]:
    """A bare <owner>+<repo>/repo whose pinned tree names BIG but whose objects lack it."""
    work = tmp_path / "work"
    work.mkdir()
    for rel, data in FILES.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "GIT_COMMITTER_DATE": "1700000000 +0000",
    }
    _git("init", "-q", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "pin", cwd=work, env=env)
    rev = _git("rev-parse", "HEAD", cwd=work)
    mirror = tmp_path / "mirror" / "upstream+kit" / "repo"
    _git("clone", "-q", "--bare", "--no-local", str(work), str(mirror))
    _git("--git-dir", str(mirror), "repack", "-q", "-a", "-d")
    # Rebuild the pack without the big blob, as the fetched snapshots are.
    big_blob = _git("rev-parse", f"{rev}:{BIG}", cwd=work)
    objects = _git("--git-dir", str(mirror), "rev-list", "--objects", "--all").splitlines()
    keep = "\n".join(line.split()[0] for line in objects if line.split()[0] != big_blob) + "\n"
    pack_dir = mirror / "objects" / "pack"
    for old in pack_dir.iterdir():
        old.unlink()
    subprocess.run(
        ["git", "--git-dir", str(work / ".git"), "pack-objects", "-q", str(pack_dir / "pack")],
        input=keep,
        text=True,
        capture_output=True,
        check=True,
    )
    assert lock_from_mirrors.missing_blobs(mirror, rev) == {big_blob: BIG}
    return tmp_path / "mirror", rev, big_blob


def _wheel(folder: Path, data: bytes) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "upstream_kit-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("upstream_kit/" + BIG, data)
    return folder


def _recipe(blob: str) -> dict:
    return {"upstream/kit": [{"path": BIG, "blob": blob, "pypi": "upstream-kit==1.0", "member": "upstream_kit/" + BIG}]}


def _nar_hash_of_full_tree(tmp_path: Path) -> str:
    tree = tmp_path / "expected"
    for rel, data in FILES.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    out = subprocess.run(
        ["nix", "--extra-experimental-features", "nix-command", "hash", "path", str(tree)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_a_wheel_with_the_same_bytes_fills_the_gap_and_gives_the_full_tree_hash(tmp_path):
    mirror_root, rev, blob = _snapshot_lacking_big_file(tmp_path)
    wheels = _wheel(tmp_path / "wheels", FILES[BIG])
    gaps: dict = {}
    locked = lock_from_mirrors.lock_github(mirror_root, "upstream", "kit", rev, gaps, _recipe(blob), wheels)
    assert gaps == {}
    assert locked["narHash"] == _nar_hash_of_full_tree(tmp_path)
    assert locked["lastModified"] == 1700000000
    # The snapshot itself is left as it was.
    assert lock_from_mirrors.missing_blobs(mirror_root / "upstream+kit" / "repo", rev) == {blob: BIG}


def test_without_a_recipe_the_input_stays_unhashed_naming_the_file(tmp_path):
    mirror_root, rev, _blob = _snapshot_lacking_big_file(tmp_path)
    gaps: dict = {}
    locked = lock_from_mirrors.lock_github(mirror_root, "upstream", "kit", rev, gaps, {}, tmp_path)
    assert "narHash" not in locked
    assert BIG in gaps["upstream/kit"]


def test_a_wheel_with_other_bytes_is_refused(tmp_path):
    mirror_root, rev, blob = _snapshot_lacking_big_file(tmp_path)
    wheels = _wheel(tmp_path / "wheels", FILES[BIG] + b"tampered")
    with pytest.raises(SystemExit, match=f"is not blob {blob}"):
        lock_from_mirrors.lock_github(mirror_root, "upstream", "kit", rev, {}, _recipe(blob), wheels)


def test_every_recipe_in_the_repository_is_well_formed():
    recipes = json.loads((REPO_ROOT / "nix" / "recovered-blobs.json").read_text())
    lock = json.loads((REPO_ROOT / "flake.lock").read_text())
    locked_repos = {f"{n['locked']['owner']}/{n['locked']['repo']}" for n in lock["nodes"].values() if "locked" in n}
    for repo, entries in recipes.items():
        assert repo in locked_repos, f"nix/recovered-blobs.json: {repo} is no flake input"
        for entry in entries:
            assert set(entry) == {"path", "blob", "pypi", "member"}, entry
            assert len(entry["blob"]) == 40 and "==" in entry["pypi"], entry


MIRROR = Path(os.environ.get("LORAPILOT_MIRROR", "/work/.mirror"))


@pytest.mark.skipif(
    not (MIRROR / "pyproject-nix+uv2nix" / "repo").is_dir()
    or not (MIRROR / "pyproject-nix+pyproject.nix" / "repo").is_dir(),
    reason="no local snapshots of uv2nix and pyproject.nix",
)
def test_the_method_reproduces_a_narhash_that_nix_itself_published():
    """uv2nix's own flake.lock (written by `nix flake lock`) pins pyproject.nix with a narHash:
    computing it from the snapshot the way lock-from-mirrors.py does gives the same hash."""
    uv2nix = next(
        n
        for n in json.loads((REPO_ROOT / "flake.lock").read_text())["nodes"].values()
        if n.get("locked", {}).get("repo") == "uv2nix"
    )["locked"]["rev"]
    published = json.loads(
        subprocess.run(
            ["git", f"--git-dir={MIRROR / 'pyproject-nix+uv2nix' / 'repo'}", "show", f"{uv2nix}:flake.lock"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["nodes"]["pyproject-nix"]["locked"]
    gaps: dict = {}
    ours = lock_from_mirrors.lock_github(MIRROR, "pyproject-nix", "pyproject.nix", published["rev"], gaps)
    assert gaps == {}
    assert ours["narHash"] == published["narHash"]
    assert ours["lastModified"] == published["lastModified"]
