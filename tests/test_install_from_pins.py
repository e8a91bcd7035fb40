"""`lorapilot install NAME`: pinned source, submodules and locked environment, without Nix.

Upstreams are local: git repositories in a temporary folder (file:// URLs), a
hand-made wheel for a uv-locked environment, an npm registry on loopback. No
test reaches the network (uv runs with UV_OFFLINE).
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import tomli_w

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.kit.progress import Cancelled
from lorapilot.stack.component_paths import load_manifest
from lorapilot.stack.context import Context
from lorapilot.stack.install import install, prepare_install
from lorapilot.stack.install.tools import ToolError
from lorapilot.stack.workspace.layout import Workspace
from support.upstreams import NpmRegistry, SimpleIndex, git, make_repo, make_wheel
from support.workspaces import free_port

PY_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch, tmp_path):
    """uv from this test environment, never the network, a private uv cache."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


def _component(name: str, source: dict, **extra) -> dict:
    return {
        "name": name,
        "title": name.title(),
        "description": f"test component {name}",
        "category": "dev",
        "port": free_port(),
        "run": {"command": ["{python}", "main.py"], "cwd": "{src}"},
        "source": source,
        **extra,
    }


@pytest.fixture
def upstream(tmp_path):
    """Two upstream repos, a components folder pinning them, and a workspace context."""
    repos = tmp_path / "upstream"
    app_revs = make_repo(repos / "app", [{"main.py": "print('pinned')\n"}, {"main.py": "print('newer')\n"}])
    sub_revs = make_repo(repos / "sub", [{"lib.py": "VALUE = 'submodule'\n"}])
    components = tmp_path / "components"

    demo = components / "demo"
    demo.mkdir(parents=True)
    source = {
        "type": "git",
        "url": (repos / "app").as_uri(),
        "rev": app_revs[0],
        "submodules": {"vendor/sub": {"url": (repos / "sub").as_uri(), "rev": sub_revs[0]}},
    }
    (demo / "component.toml").write_text(tomli_w.dumps(_component("demo", source)))
    make_wheel(demo / "wheels", "tinydep", "1.0", "VALUE = 42\n")
    (demo / "pyproject.toml").write_text(
        '[project]\nname = "lorapilot-env-demo"\nversion = "0"\n'
        f'requires-python = "=={PY_VERSION}.*"\ndependencies = ["tinydep==1.0"]\n'
        "[tool.uv]\npackage = false\n"
        '[tool.uv.sources]\ntinydep = { path = "wheels/tinydep-1.0-py3-none-any.whl" }\n'
    )
    (demo / ".python-version").write_text(PY_VERSION + "\n")
    locked = subprocess.run(
        [str(Path(sys.executable).parent / "uv"), "lock", "--offline"], cwd=demo, capture_output=True, text=True
    )
    assert locked.returncode == 0, locked.stderr

    builtin = components / "controlpilot"
    builtin.mkdir()
    (builtin / "component.toml").write_text(
        tomli_w.dumps(
            _component("controlpilot", {"type": "builtin"}, run={"command": ["{lorapilot_python}", "-m", "lorapilot"]})
        )
    )

    trainer = components / "trainer"
    trainer.mkdir()
    (trainer / "environment.toml").write_text(
        tomli_w.dumps(
            {
                "name": "trainer",
                "title": "Trainer",
                "description": "a trainer environment",
                "kind": "trainer",
                "source": {"type": "git", "url": (repos / "sub").as_uri(), "rev": sub_revs[0]},
            }
        )
    )

    ctx = Context(workspace=Workspace(tmp_path / "ws"), manifest=load_manifest(None), components_dir=components)
    return {"ctx": ctx, "repos": repos, "components": components, "app_revs": app_revs, "sub_revs": sub_revs}


def test_install_checks_out_the_pinned_rev_with_submodules_and_syncs_the_lock(upstream):
    ctx = upstream["ctx"]
    calls = []
    result = install(ctx, "demo", progress=lambda cur, total=None, msg="": calls.append((cur, total, msg)))

    src = ctx.workspace.state_dir("demo") / "src"
    assert result.src == src and result.env == ctx.workspace.state_dir("demo") / ".venv"
    # The pinned commit, not upstream's newest.
    assert git(src, "rev-parse", "HEAD") == upstream["app_revs"][0]
    assert (src / "main.py").read_text() == "print('pinned')\n"
    assert git(src / "vendor" / "sub", "rev-parse", "HEAD") == upstream["sub_revs"][0]
    # The locked environment, where `lorapilot up` looks without a manifest.
    out = subprocess.run(
        [str(result.env / "bin" / "python"), "-c", "import tinydep; print(tinydep.VALUE)"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "42", out.stderr
    plan = {p.name: p for p in ctx.plan(False)}["demo"]
    assert plan.installed and plan.cwd == src
    record = json.loads((ctx.workspace.state_dir("demo") / "install.json").read_text())
    assert record["source"]["rev"] == upstream["app_revs"][0]
    # Progress: each step announced, then done.
    assert any("fetching" in msg for _, _, msg in calls) and any("uv sync" in msg for _, _, msg in calls)
    assert calls[-1] == (2, 2, "done")


def test_a_second_install_keeps_the_checkout(upstream):
    ctx = upstream["ctx"]
    install(ctx, "demo")
    marker = ctx.workspace.state_dir("demo") / "src" / "user-notes.txt"
    marker.write_text("mine")
    again = install(ctx, "demo")
    assert again.done[0].startswith("kept ")
    assert marker.read_text() == "mine"


def test_a_checkout_at_another_rev_is_never_replaced(upstream):
    ctx = upstream["ctx"]
    install(ctx, "demo")
    src = ctx.workspace.state_dir("demo") / "src"
    git(src, "fetch", "-q", "origin", upstream["app_revs"][1])
    git(src, "checkout", "-q", upstream["app_revs"][1])
    with pytest.raises(ConflictError, match="not the pinned"):
        install(ctx, "demo")
    assert (src / "main.py").read_text() == "print('newer')\n"


def test_an_environment_that_is_not_a_service_installs_too(upstream):
    ctx = upstream["ctx"]
    result = install(ctx, "trainer")
    assert (result.src / "lib.py").read_text() == "VALUE = 'submodule'\n"
    assert result.env is None


def test_unknown_and_builtin_names_are_refused(upstream):
    ctx = upstream["ctx"]
    with pytest.raises(NotFoundError, match="installable: controlpilot, demo, native-trainer, trainer"):
        install(ctx, "nope")
    with pytest.raises(LorapilotError, match="part of lorapilot itself"):
        install(ctx, "controlpilot")


def test_missing_git_fails_before_anything_is_written(upstream, monkeypatch, tmp_path):
    ctx = upstream["ctx"]
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolError, match=r"git is not installed, and it is needed to check out demo's pinned source"):
        prepare_install(ctx, "demo")
    assert not ctx.workspace.state_dir("demo").exists()


def test_missing_uv_is_named(upstream, monkeypatch, tmp_path):
    ctx = upstream["ctx"]
    only_git = tmp_path / "only-git"
    only_git.mkdir()
    (only_git / "git").symlink_to(subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip())
    monkeypatch.setenv("PATH", str(only_git))
    monkeypatch.setattr(sys, "executable", str(only_git / "python"))  # an interpreter with no uv beside it
    with pytest.raises(ToolError, match=r"uv is not installed, and it is needed to create demo's Python environment"):
        install(ctx, "demo")


def test_an_unreachable_remote_says_so_and_leaves_no_partial_checkout(upstream):
    ctx = upstream["ctx"]
    spec_file = upstream["components"] / "demo" / "component.toml"
    port = free_port()  # nothing listens there
    spec_file.write_text(
        spec_file.read_text().replace((upstream["repos"] / "app").as_uri(), f"http://127.0.0.1:{port}/app.git")
    )
    ctx = Context(workspace=ctx.workspace, manifest=ctx.manifest, components_dir=upstream["components"])
    with pytest.raises(ToolError, match=rf"cannot reach http://127.0.0.1:{port}/app.git: this machine looks offline"):
        install(ctx, "demo")
    state = ctx.workspace.state_dir("demo")
    assert not (state / "src").exists()
    assert [p.name for p in state.iterdir()] == []


def test_an_unreachable_package_index_says_so(upstream, monkeypatch, tmp_path):
    """The lock names an index that is gone by install time, as PyPI is for a machine offline."""
    ctx = upstream["ctx"]
    demo = upstream["components"] / "demo"
    with SimpleIndex([demo / "wheels" / "tinydep-1.0-py3-none-any.whl"]) as index:
        (demo / "pyproject.toml").write_text(
            '[project]\nname = "lorapilot-env-demo"\nversion = "0"\n'
            f'requires-python = "=={PY_VERSION}.*"\ndependencies = ["tinydep==1.0"]\n'
            "[tool.uv]\npackage = false\n"
            f'[[tool.uv.index]]\nname = "local"\nurl = "{index.url}/simple"\ndefault = true\n'
        )
        monkeypatch.delenv("UV_OFFLINE")
        locked = subprocess.run(
            [str(Path(sys.executable).parent / "uv"), "lock"],
            cwd=demo,
            capture_output=True,
            text=True,
            env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "lock-cache")},
        )
        assert locked.returncode == 0, locked.stderr
        assert any(path.startswith("/files/tinydep") for path in index.requests)
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with pytest.raises(ToolError, match=r"creating .*\.venv from .*uv\.lock failed: cannot reach PyPI .*looks offline"):
        install(ctx, "demo")
    assert not list(ctx.workspace.state_dir("demo").rglob("tinydep.py"))


def test_cancel_stops_the_install(upstream):
    ctx = upstream["ctx"]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        install(ctx, "demo", cancel=cancel)
    assert not (ctx.workspace.state_dir("demo") / "src").exists()


def _npm_component(components: Path, name: str, package: str, with_lock: bool, registry_url: str) -> None:
    folder = components / name
    folder.mkdir()
    (folder / "component.toml").write_text(
        tomli_w.dumps(
            _component(
                name, {"type": "npm", "package": package, "version": "1.0.0"}, run={"command": [f"{{bin}}/{package}"]}
            )
        )
    )
    if with_lock:
        (folder / "package.json").write_text(
            json.dumps({"name": f"env-{name}", "version": "1.0.0", "private": True, "dependencies": {package: "1.0.0"}})
        )
        locked = subprocess.run(
            [
                "npm",
                "install",
                "--package-lock-only",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--registry",
                registry_url,
                "--omit-lockfile-registry-resolved=false",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        assert locked.returncode == 0, locked.stderr


@pytest.mark.parametrize("with_lock", [True, False], ids=["package-lock", "pinned-version"])
def test_npm_components_install_into_the_app_folder_with_their_commands(upstream, monkeypatch, tmp_path, with_lock):
    ctx = upstream["ctx"]
    script = "#!/usr/bin/env node\nconsole.log('demo-cli ran');\n"
    with NpmRegistry("demo-cli", "1.0.0", "demo-cli", script) as registry:
        monkeypatch.setenv("npm_config_registry", registry.url)
        monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
        _npm_component(upstream["components"], "cli", "demo-cli", with_lock, registry.url)
        ctx = Context(workspace=ctx.workspace, manifest=ctx.manifest, components_dir=upstream["components"])
        result = install(ctx, "cli")
        assert any(path.endswith(".tgz") for path in registry.requests)
    command = result.env / "bin" / "demo-cli"
    assert result.env == ctx.workspace.state_dir("cli") / ".venv"
    if with_lock:  # npm ci of the lock into apps/cli, where the Copilot sidecar also looks
        assert (ctx.workspace.state_dir("cli") / "node_modules" / ".bin" / "demo-cli").exists()
    out = subprocess.run([str(command)], capture_output=True, text=True)
    assert out.stdout.strip() == "demo-cli ran", out.stderr
    assert {p.name: p for p in ctx.plan(False)}["cli"].installed


def test_cli_installs_and_prints_what_it_did(upstream, tmp_path):
    env = {**os.environ, "LORAPILOT_COMPONENTS": str(upstream["components"])}
    ws = tmp_path / "cli-ws"
    ok = subprocess.run(
        [sys.executable, "-m", "lorapilot", "install", "demo", "--workspace", str(ws)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"checked out {ws / 'apps' / 'demo' / 'src'} at {upstream['app_revs'][0][:12]}" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "lorapilot", "install", "nope", "--workspace", str(ws)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 1
    assert (
        bad.stderr.strip()
        == "error: unknown component 'nope'; installable: controlpilot, demo, native-trainer, trainer"
    )
