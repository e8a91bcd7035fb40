"""flake.lock is well-formed, and it pins exactly what components/*.toml pin."""

import json
import re
import tomllib

import pytest

from support.workspaces import REPO_ROOT

LOCK = json.loads((REPO_ROOT / "flake.lock").read_text())
NODES = LOCK["nodes"]
ROOT_INPUTS = NODES[LOCK["root"]]["inputs"]
# Inputs whose snapshot here lacked files, so no narHash could be computed: each with its reason.
UNHASHED = json.loads((REPO_ROOT / "nix" / "unhashed-inputs.json").read_text())
FLAKE_NIX = (REPO_ROOT / "flake.nix").read_text()


def _slug(name: str) -> str:
    return re.sub(r"[_. ]", "-", name.lower())


def _git_pins():
    """(where, flake input, url, rev) for every git source and submodule under components/."""
    for folder in sorted(p for p in (REPO_ROOT / "components").iterdir() if p.is_dir()):
        for spec_name in ("component.toml", "environment.toml"):
            spec_file = folder / spec_name
            if not spec_file.exists():
                continue
            source = tomllib.loads(spec_file.read_text())["source"]
            if source["type"] != "git":
                continue
            where = f"components/{folder.name}/{spec_name}"
            yield where, folder.name, source["url"], source["rev"]
            for path, sub in source.get("submodules", {}).items():
                yield (
                    f"{where} submodule {path}",
                    f"{folder.name}-{_slug(path.rsplit('/', 1)[-1])}",
                    sub["url"],
                    sub["rev"],
                )


GIT_PINS = list(_git_pins())


def test_lock_has_version_7_and_a_root():
    assert LOCK["version"] == 7
    assert LOCK["root"] in NODES
    assert set(ROOT_INPUTS) >= {"nixpkgs", "pyproject-nix", "uv2nix", "pyproject-build-systems"}


@pytest.mark.parametrize("name", sorted(n for n in NODES if n != LOCK["root"]))
def test_every_input_is_locked_with_rev_narhash_and_last_modified(name):
    node = NODES[name]
    locked, original = node["locked"], node["original"]
    assert locked["type"] == "github" and original["type"] == "github"
    assert re.fullmatch(r"[0-9a-f]{40}", locked["rev"]), f"{name}: rev {locked['rev']!r}"
    assert locked["owner"] == original["owner"] and locked["repo"] == original["repo"]
    if name in UNHASHED:
        # No narHash was computable here; the reason is written down, and nothing fake stands in.
        assert "narHash" not in locked
        assert UNHASHED[name].strip()
        return
    assert re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", locked["narHash"]), f"{name}: narHash {locked.get('narHash')!r}"
    assert isinstance(locked["lastModified"], int) and locked["lastModified"] > 1_500_000_000


def test_only_the_listed_inputs_lack_a_narhash():
    missing = {name for name, node in NODES.items() if name != LOCK["root"] and "narHash" not in node["locked"]}
    assert missing == set(UNHASHED)
    # The build tooling and nixpkgs are always fully hashed.
    assert not missing & {"nixpkgs", "pyproject-nix", "uv2nix", "pyproject-build-systems"}


def test_follows_point_at_our_nixpkgs_and_tooling():
    assert NODES["uv2nix"]["inputs"] == {"nixpkgs": ["nixpkgs"], "pyproject-nix": ["pyproject-nix"]}
    assert NODES["pyproject-build-systems"]["inputs"] == {
        "nixpkgs": ["nixpkgs"],
        "pyproject-nix": ["pyproject-nix"],
        "uv2nix": ["uv2nix"],
    }
    assert NODES["pyproject-nix"]["inputs"] == {"nixpkgs": ["nixpkgs"]}


@pytest.mark.parametrize("where,input_name,url,rev", GIT_PINS, ids=[p[1] for p in GIT_PINS])
def test_component_pin_equals_flake_lock(where, input_name, url, rev):
    assert input_name in ROOT_INPUTS, f"{where}: flake.lock has no input {input_name!r}"
    node = NODES[ROOT_INPUTS[input_name]]
    assert node.get("flake") is False, f"{input_name} must be a flake = false input"
    assert node["locked"]["rev"] == rev, f"{where}: rev {rev} but flake.lock has {node['locked']['rev']}"
    assert node["original"]["rev"] == rev
    owner, repo = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", url).groups()
    assert (node["locked"]["owner"], node["locked"]["repo"]) == (owner, repo)
    assert f"github:{owner}/{repo}/{rev}" in FLAKE_NIX, f"flake.nix does not pin {input_name} at {rev}"


def test_every_source_input_belongs_to_a_component():
    pinned = {p[1] for p in GIT_PINS}
    sources = {name for name, node in NODES.items() if node.get("flake") is False}
    assert sources == pinned


def test_component_sources_cover_the_issue_list():
    for name in (
        "comfyui",
        "kohya",
        "kohya-sd-scripts",
        "ai-toolkit",
        "diffusion-pipe",
        "diffusion-pipe-comfyui",
        "diffusion-pipe-hunyuanvideo",
    ):
        assert name in ROOT_INPUTS


def test_the_nix_page_names_exactly_the_inputs_still_without_a_narhash():
    readme = " ".join((REPO_ROOT / "docs" / "nix.md").read_text().split())
    command = re.search(r"`nix flake update ([a-z0-9 -]+)`", readme)
    assert command, "docs/nix.md: no `nix flake update <inputs>` for the unhashed inputs"
    assert set(command.group(1).split()) == set(UNHASHED)
