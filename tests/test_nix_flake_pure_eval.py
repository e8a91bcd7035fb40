"""The flake's pure outputs evaluate offline with the real flake.lock.

A locked input is fetched only when used, so these outputs (builtins only, no
nixpkgs) evaluate with no network. It also proves flake.lock matches flake.nix:
otherwise Nix would re-lock, and re-locking needs GitHub.
"""

import tomllib

import pytest

from support.nixflake import Flake, copy_tree, nix_available
from support.workspaces import REPO_ROOT

pytestmark = [
    pytest.mark.nix,
    pytest.mark.skipif(not nix_available(), reason="nix is not installed (CI installs nix-bin)"),
]


@pytest.fixture(scope="module")
def flake(tmp_path_factory):
    work = tmp_path_factory.mktemp("nix-pure")
    return Flake(copy_tree(work / "flake"), work)


def _specs():
    for path in sorted((REPO_ROOT / "components").glob("*/component.toml")):
        yield tomllib.loads(path.read_text())


def test_component_pins_agree_with_the_lock(flake):
    assert flake.eval_json("lib.pinProblems") == []


def test_ports_come_from_component_toml(flake):
    assert flake.eval_json("lib.ports") == {spec["name"]: spec["port"] for spec in _specs()}


def test_pins_name_the_flake_input_of_each_source(flake):
    pins = flake.eval_json("lib.pins")
    assert pins["comfyui"]["input"] == "comfyui"
    assert pins["kohya"]["submodules"]["sd-scripts"]["input"] == "kohya-sd-scripts"
    dp = pins["diffusion-pipe"]["submodules"]
    assert dp["submodules/HunyuanImage-2.1"]["input"] == "diffusion-pipe-hunyuanimage-2-1"
    assert dp["submodules/ComfyUI"]["rev"] == "0ba903bd5bab918477f9adb290f35fdb907dc703"


def test_every_python_environment_is_listed_with_its_interpreter(flake):
    envs = flake.eval_json("lib.pythonEnvs")
    expected = {p.parent.name for p in (REPO_ROOT / "components").glob("*/uv.lock")}
    assert set(envs) == expected
    for name, env in envs.items():
        assert env["python"] == (REPO_ROOT / "components" / name / ".python-version").read_text().strip()
    # Kohya's and AI Toolkit's locks are x86_64-only (no aarch64 wheels for triton, torchcodec).
    assert envs["kohya"]["systems"] == ["x86_64-linux"]
    assert envs["ai-toolkit"]["systems"] == ["x86_64-linux"]
    assert "aarch64-linux" in envs["comfyui"]["systems"]


def test_a_pin_mismatch_is_reported_by_file(tmp_path):
    work = tmp_path
    root = copy_tree(work / "flake")
    spec = root / "components" / "comfyui" / "component.toml"
    spec.write_text(spec.read_text().replace("a125cd84b054a57729b5eecab930ca9408719832", "0" * 40))
    problems = Flake(root, work).eval_json("lib.pinProblems")
    assert len(problems) == 1
    assert problems[0].startswith("components/comfyui/component.toml: rev 0000")
    assert "a125cd84b054a57729b5eecab930ca9408719832" in problems[0]


def test_custom_nodes_come_from_custom_nodes_toml(flake):
    """What Nix fetches (fetchFromGitHub by NAR hash) is what `lorapilot install` checks out."""
    from lorapilot.stack.components.custom_nodes import load_custom_nodes

    nodes = load_custom_nodes(REPO_ROOT / "components" / "comfyui" / "custom-nodes.toml")
    expected = [
        {
            "name": n.name,
            "owner": n.repository.split("/")[3],
            "repo": n.repository.split("/")[4],
            "rev": n.rev,
            "hash": n.hash,
        }
        for n in nodes
    ]
    assert flake.eval_json("lib.customNodes") == {"comfyui": expected}
    assert expected[0]["owner"] == "Comfy-Org" and expected[0]["repo"] == "ComfyUI-Manager"
