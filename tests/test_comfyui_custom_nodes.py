"""ComfyUI custom nodes: the pinned list, the requirement check against ComfyUI's uv.lock (a conflicting node is
refused, naming the package), and the workspace folders for a user's own nodes wired into ComfyUI's launch
(extra_model_paths.yaml's custom_nodes, PYTHONPATH to the overlay). A small node written here is placed in
the workspace folder and imported the way ComfyUI does, with its package from the overlay.

The real ComfyUI loading such a node: tests/upstream/test_comfyui_custom_node_upstream.py; the CLI that adds
one: tests/test_comfyui_nodes_cli.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lorapilot.kit.errors import ConfigError, ConflictError
from lorapilot.stack.components.custom_nodes import (
    check_requirements,
    ensure_fits,
    load_custom_nodes,
    locked_versions,
    overlay_dir,
    user_nodes_dir,
)
from support.workspaces import REPO_ROOT, make_workspace

COMFY = REPO_ROOT / "components" / "comfyui"


def test_the_pinned_list_starts_with_comfyui_manager():
    nodes = load_custom_nodes(COMFY / "custom-nodes.toml")
    assert nodes[0].name == "ComfyUI-Manager" and nodes[0].repository.endswith("/ComfyUI-Manager")
    assert len(nodes[0].rev) == 40 and nodes[0].hash.startswith("sha256-")


def test_every_pinned_node_records_requirements_the_lock_holds():
    """ComfyUI-Manager's requirements (recorded at its rev) are all in ComfyUI's uv.lock: none missing."""
    locked = locked_versions(COMFY / "uv.lock")
    for node in load_custom_nodes(COMFY / "custom-nodes.toml"):
        assert node.requirements is not None, f"{node.name}: record its requirements.txt"
        check = check_requirements(node.requirements, locked, node.name)
        assert check.conflicts == [] and check.missing == [], (node.name, check)


def test_a_bad_entry_is_named(tmp_path):
    bad = tmp_path / "custom-nodes.toml"
    bad.write_text(
        '[[node]]\nname = "x"\nrepository = "https://github.com/a/b"\nrev = "main"\n'
        'hash = "sha256-FV/JblUjWIN3oBRM+TR+OCNFNx22chw7XyHfGgtKFuE="\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"node\[0\]\.rev.*'main'"):
        load_custom_nodes(bad)


def test_requirements_against_the_comfyui_lock(tmp_path):
    locked = locked_versions(COMFY / "uv.lock")
    torch = locked["torch"]
    result = check_requirements(
        ["# comment", "torch>=2.0", "einops", "lp-not-locked>=3", "pywin32; sys_platform == 'win32'"], locked
    )
    assert (
        result.satisfied == ["torch>=2.0", "einops"]
        and result.missing == ["lp-not-locked>=3"]
        and result.conflicts == []
    )
    node = tmp_path / "ComfyUI-Old"
    node.mkdir()
    (node / "requirements.txt").write_text("numpy<1.20\nsafetensors\n", encoding="utf-8")
    with pytest.raises(ConflictError, match=r"ComfyUI-Old conflicts .*numpy<1.20 \(locked: numpy "):
        ensure_fits(node, locked)
    (node / "requirements.txt").write_text(f"torch=={torch}\n", encoding="utf-8")
    assert ensure_fits(node, locked).satisfied == [f"torch=={torch}"]
    (node / "requirements.txt").write_text("--extra-index-url https://x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="requirements.txt:1: option lines"):
        ensure_fits(node, locked)


def test_workspace_nodes_and_overlay_are_wired_into_the_launch(tmp_path):
    from lorapilot.stack.workspace import init_workspace

    ctx = make_workspace(tmp_path / "ws", enabled={"comfyui"})
    init_workspace(ctx)
    state = ctx.workspace.state_dir("comfyui")
    data = yaml.safe_load((state / "extra_model_paths.yaml").read_text())
    assert data["lorapilot"]["custom_nodes"] == str(user_nodes_dir(state)) and user_nodes_dir(state).is_dir()
    assert overlay_dir(state).is_dir()
    from lorapilot.stack.plan import resolve_component

    plan = resolve_component(
        ctx.workspace, ctx.registry.get("comfyui"), ctx.registry, ctx.manifest, gpu_available=False
    )
    assert plan.env["PYTHONPATH"] == str(overlay_dir(state))

    # A user's node in the workspace folder, its package in the overlay: imported as ComfyUI imports a node
    # (nodes.load_custom_node: spec_from_file_location of <node>/__init__.py), under the overlay PYTHONPATH.
    node = user_nodes_dir(state) / "lp_test_node"
    node.mkdir()
    (node / "__init__.py").write_text(
        "import lp_overlay_pkg\n"
        "class Shout:\n"
        "    CATEGORY = 'test'\n"
        "    RETURN_TYPES = ('STRING',)\n"
        "    FUNCTION = 'run'\n"
        "    @classmethod\n"
        "    def INPUT_TYPES(cls):\n"
        "        return {'required': {'text': ('STRING', {})}}\n"
        "    def run(self, text):\n"
        "        return (lp_overlay_pkg.shout(text),)\n"
        "NODE_CLASS_MAPPINGS = {'Shout': Shout}\n",
        encoding="utf-8",
    )
    (overlay_dir(state) / "lp_overlay_pkg.py").write_text(
        "def shout(t):\n    return t.upper() + '!'\n", encoding="utf-8"
    )
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('lp_test_node', {str(node / '__init__.py')!r})\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['lp_test_node'] = mod; spec.loader.exec_module(mod)\n"
        "print(mod.NODE_CLASS_MAPPINGS['Shout']().run('hi')[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": plan.env["PYTHONPATH"], "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "HI!", out.stderr


def _component_with_nodes(tmp_path, node_requirements: dict[str, str], recorded: dict[str, list[str]] | None = None):
    """A ComfyUI-like component (local git upstreams, a uv.lock with tinydep 1.0) pinning the given nodes."""
    import os

    import tomli_w

    from lorapilot.stack.component_paths import load_manifest
    from lorapilot.stack.context import Context
    from lorapilot.stack.workspace.layout import Workspace
    from support.upstreams import make_repo, make_wheel
    from support.workspaces import free_port

    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    repos = tmp_path / "upstream"
    app = make_repo(
        repos / "app", [{"main.py": "print('comfy')\n", "custom_nodes/example_node.py.example": "# upstream's\n"}]
    )
    comp = tmp_path / "components" / "comfyish"
    comp.mkdir(parents=True)
    (comp / "component.toml").write_text(
        tomli_w.dumps(
            {
                "name": "comfyish",
                "title": "Comfyish",
                "description": "test",
                "category": "inference",
                "port": free_port(),
                "run": {"command": ["{python}", "main.py"], "cwd": "{src}"},
                "source": {"type": "git", "url": (repos / "app").as_uri(), "rev": app[0]},
            }
        )
    )
    make_wheel(comp / "wheels", "tinydep", "1.0", "VALUE = 42\n")
    (comp / "pyproject.toml").write_text(
        f'[project]\nname = "env"\nversion = "0"\nrequires-python = "=={py}.*"\ndependencies = ["tinydep==1.0"]\n'
        '[tool.uv]\npackage = false\n[tool.uv.sources]\ntinydep = { path = "wheels/tinydep-1.0-py3-none-any.whl" }\n'
    )
    (comp / ".python-version").write_text(py + "\n")
    uv = str(Path(sys.executable).parent / "uv")
    locked = subprocess.run(
        [uv, "lock", "--offline"],
        cwd=comp,
        capture_output=True,
        text=True,
        env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache")},
    )
    assert locked.returncode == 0, locked.stderr
    entries = []
    for name, requirements in node_requirements.items():
        rev = make_repo(
            repos / name, [{"__init__.py": "NODE_CLASS_MAPPINGS = {}\n", "requirements.txt": requirements}]
        )[0]
        entries.append(
            {
                "name": name,
                "repository": (repos / name).as_uri(),
                "rev": rev,
                "hash": "sha256-FV/JblUjWIN3oBRM+TR+OCNFNx22chw7XyHfGgtKFuE=",
                **({"requirements": recorded[name]} if recorded and name in recorded else {}),
            }
        )
    (comp / "custom-nodes.toml").write_text(tomli_w.dumps({"node": entries}))
    return Context(workspace=Workspace(tmp_path / "ws"), manifest=load_manifest(None), components_dir=comp.parent)


@pytest.fixture
def offline_uv(monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


def test_install_places_the_pinned_nodes(tmp_path, offline_uv):
    from lorapilot.stack.install import install

    ctx = _component_with_nodes(tmp_path, {"GoodNode": "tinydep>=1.0\nextra-pkg\n"})
    result = install(ctx, "comfyish")
    node = result.src / "custom_nodes" / "GoodNode"
    assert (node / "__init__.py").is_file()
    assert any("placed custom node GoodNode" in d and "not in the lock: extra-pkg" in d for d in result.done)
    again = install(ctx, "comfyish")
    assert any(d.startswith("kept custom node GoodNode") for d in again.done)


def test_install_refuses_a_conflicting_node_naming_the_package(tmp_path, offline_uv):
    from lorapilot.stack.install import install

    ctx = _component_with_nodes(tmp_path, {"OldNode": "tinydep<1.0\n"})
    with pytest.raises(ConflictError, match=r"OldNode conflicts .*tinydep<1.0 \(locked: tinydep 1.0\)"):
        install(ctx, "comfyish")
    custom = ctx.workspace.state_dir("comfyish") / "src" / "custom_nodes"
    assert sorted(p.name for p in custom.iterdir()) == ["example_node.py.example"]  # nothing half-placed


def test_install_refuses_a_node_whose_requirements_differ_from_the_recorded_ones(tmp_path, offline_uv):
    from lorapilot.stack.install import install

    ctx = _component_with_nodes(tmp_path, {"MovedNode": "tinydep>=1.0\nnewer-dep\n"}, {"MovedNode": ["tinydep>=1.0"]})
    with pytest.raises(
        ConfigError, match=r"MovedNode: requirements = \['tinydep>=1.0'\] but .* says \['tinydep>=1.0', 'newer-dep'\]"
    ):
        install(ctx, "comfyish")
    custom = ctx.workspace.state_dir("comfyish") / "src" / "custom_nodes"
    assert sorted(p.name for p in custom.iterdir()) == ["example_node.py.example"]
